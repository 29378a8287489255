//! What talking to etcd can fail with, as values a caller branches on: etcd's gRPC code and
//! message (with the innermost cause, "Connection refused (os error 111)", instead of tonic's
//! debug dump), a call that got no answer in time, or a client-side error. The text an
//! operator reads is their Display, the same words as before these were typed.

use std::error::Error as _;
use std::fmt;
use tonic::Code;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtcdError {
    /// etcd (or the transport on its behalf) answered with a gRPC status.
    Status {
        code: Code,
        message: String,
        /// The innermost cause, when the message does not already say it.
        cause: Option<String>,
    },
    /// No answer within the module's timeout.
    Timeout { secs: u64 },
    /// What etcd-client reports before any call (a bad URL, a transport it could not build).
    Client(String),
}

/// The refusals etcd names (its `rpctypes` errors) that callers act on: each is matched here,
/// once, from the code and message etcd sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtcdRefusal {
    /// "etcdserver: unhealthy cluster": the leader has not been connected to every voting
    /// member for 5 s (a member add or promote is refused meanwhile).
    UnhealthyCluster,
    /// "can only promote a learner member which is in sync with leader".
    LearnerNotInSync,
    /// Authentication is on and the user may not do this; the member answered, through raft.
    PermissionDenied,
    /// "mvcc: required revision has been compacted": a read at, or a compaction to, a revision
    /// at or below the store's compaction point.
    Compacted,
    /// "leader changed", "no leader", "request timed out, possibly due to previous leader
    /// failure": an election is under way. Asked again a moment later, a cluster with quorum
    /// answers; taken as the verdict, a leader's death reads as quorum lost.
    Electing,
}

impl EtcdError {
    pub fn from_client(e: &etcd_client::Error) -> EtcdError {
        let etcd_client::Error::GRpcStatus(status) = e else {
            return EtcdError::Client(e.to_string());
        };
        let mut innermost = None;
        let mut cause = status.source();
        while let Some(c) = cause {
            innermost = Some(c.to_string());
            cause = c.source();
        }
        EtcdError::Status {
            code: status.code(),
            message: status.message().to_string(),
            cause: innermost.filter(|r| !status.message().contains(r.as_str())),
        }
    }

    /// etcd's gRPC code, when it answered with one.
    pub fn code(&self) -> Option<Code> {
        match self {
            EtcdError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Which named refusal this is, if any. etcd tells its errors apart by gRPC code and a fixed
    /// message (its own client's `rpctypes.Error` maps them the same way), the same text in 3.2,
    /// 3.3 and 3.4: matched whole, never by a fragment of some other error's text.
    pub fn refusal(&self) -> Option<EtcdRefusal> {
        let EtcdError::Status { code, message, .. } = self else {
            return None;
        };
        match (*code, message.as_str()) {
            (Code::PermissionDenied, _) | (_, "etcdserver: permission denied") => {
                Some(EtcdRefusal::PermissionDenied)
            }
            (Code::Unavailable, "etcdserver: unhealthy cluster") => {
                Some(EtcdRefusal::UnhealthyCluster)
            }
            (
                Code::FailedPrecondition,
                "etcdserver: can only promote a learner member which is in sync with leader",
            ) => Some(EtcdRefusal::LearnerNotInSync),
            (Code::OutOfRange, "etcdserver: mvcc: required revision has been compacted") => {
                Some(EtcdRefusal::Compacted)
            }
            (
                Code::Unavailable,
                "etcdserver: leader changed"
                | "etcdserver: no leader"
                | "etcdserver: request timed out, possibly due to previous leader failure",
            ) => Some(EtcdRefusal::Electing),
            _ => None,
        }
    }
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtcdError::Status {
                code,
                message,
                cause,
            } => {
                write!(f, "{code:?}: {message}")?;
                if let Some(root) = cause {
                    write!(f, ": {root}")?;
                }
                Ok(())
            }
            EtcdError::Timeout { secs } => write!(f, "no answer within {secs}s"),
            EtcdError::Client(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for EtcdError {}

impl From<EtcdError> for String {
    fn from(e: EtcdError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_words_under_another_code_or_inside_another_message_are_something_else() {
        for other in [
            status(Code::Unknown, "etcdserver: unhealthy cluster"),
            status(
                Code::Unavailable,
                "etcdserver: unhealthy cluster; and also a peer URL exists",
            ),
            status(Code::FailedPrecondition, "etcdserver: peerURL exists"),
            status(Code::FailedPrecondition, "learner in sync? maybe"),
        ] {
            assert_eq!(other.refusal(), None, "{other}");
        }
    }

    #[test]
    fn refused_connection_reads_plainly() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Port 1 on a loopback address nothing listens on: refused at once.
            let mut c = etcd_client::Client::connect(["http://127.0.250.254:1"], None)
                .await
                .unwrap();
            let e = c.status().await.unwrap_err();
            let e = EtcdError::from_client(&e);
            assert_eq!(
                e.to_string(),
                "Unavailable: tcp connect error: Connection refused (os error 111)"
            );
            assert_eq!(e.code(), Some(Code::Unavailable));
            assert_eq!(e.refusal(), None);
        });
    }

    fn status(code: Code, message: &str) -> EtcdError {
        EtcdError::Status {
            code,
            message: message.into(),
            cause: None,
        }
    }

    #[test]
    fn etcds_named_refusals_are_recognised_from_code_and_message() {
        let unhealthy = status(Code::Unavailable, "etcdserver: unhealthy cluster");
        assert_eq!(unhealthy.refusal(), Some(EtcdRefusal::UnhealthyCluster));
        assert_eq!(
            unhealthy.to_string(),
            "Unavailable: etcdserver: unhealthy cluster"
        );
        let not_ready = status(
            Code::FailedPrecondition,
            "etcdserver: can only promote a learner member which is in sync with leader",
        );
        assert_eq!(not_ready.refusal(), Some(EtcdRefusal::LearnerNotInSync));
        for denied in [
            status(Code::PermissionDenied, "etcdserver: permission denied"),
            status(Code::Unknown, "etcdserver: permission denied"),
        ] {
            assert_eq!(denied.refusal(), Some(EtcdRefusal::PermissionDenied));
        }
        assert_eq!(status(Code::Unavailable, "leader changed").refusal(), None);
        for electing in [
            "etcdserver: leader changed",
            "etcdserver: no leader",
            "etcdserver: request timed out, possibly due to previous leader failure",
        ] {
            assert_eq!(
                status(Code::Unavailable, electing).refusal(),
                Some(EtcdRefusal::Electing)
            );
            assert_eq!(status(Code::Unknown, electing).refusal(), None);
        }
        // A read that timed out inside etcd is what no quorum looks like: no retry.
        assert_eq!(
            status(Code::Unavailable, "etcdserver: request timed out").refusal(),
            None
        );
        assert_eq!(
            EtcdError::Timeout { secs: 5 }.to_string(),
            "no answer within 5s"
        );
        assert_eq!(EtcdError::Timeout { secs: 5 }.refusal(), None);
    }
}
