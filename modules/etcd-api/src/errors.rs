//! etcd-client's errors print the whole tonic status with its source debug dump; operators
//! need the code, the message and the innermost cause ("Connection refused (os error 111)").

use std::error::Error as _;

pub fn describe(e: &etcd_client::Error) -> String {
    let etcd_client::Error::GRpcStatus(status) = e else {
        return e.to_string();
    };
    let mut text = format!("{:?}: {}", status.code(), status.message());
    let mut innermost = None;
    let mut cause = status.source();
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    if let Some(root) = innermost.filter(|r| !status.message().contains(r.as_str())) {
        text.push_str(": ");
        text.push_str(&root);
    }
    text
}

/// The refusals etcd means as "not yet", which a caller waits out within its timeout rather
/// than reports. etcd tells its errors apart by gRPC code and a fixed message (its own client's
/// `rpctypes.Error` maps them the same way), the same text in 3.2, 3.3 and 3.4; matched whole,
/// never by a fragment of some other error's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `ErrGRPCUnhealthy`: a member change while the leader has not been connected to every
    /// voting member for the last 5 s (the strict reconfiguration check), as right after a
    /// peer (re)connects.
    UnhealthyCluster,
    /// `ErrGRPCLearnerNotReady` (3.4): a promotion before the learner has caught up.
    LearnerNotInSync,
}

impl Refusal {
    const ALL: [Refusal; 2] = [Refusal::UnhealthyCluster, Refusal::LearnerNotInSync];

    fn code(self) -> tonic::Code {
        match self {
            Refusal::UnhealthyCluster => tonic::Code::Unavailable,
            Refusal::LearnerNotInSync => tonic::Code::FailedPrecondition,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Refusal::UnhealthyCluster => "etcdserver: unhealthy cluster",
            Refusal::LearnerNotInSync => {
                "etcdserver: can only promote a learner member which is in sync with leader"
            }
        }
    }

    /// Which of these refusals `e` is, if any.
    pub fn of(e: &etcd_client::Error) -> Option<Refusal> {
        let etcd_client::Error::GRpcStatus(status) = e else {
            return None;
        };
        Refusal::ALL
            .into_iter()
            .find(|r| status.code() == r.code() && status.message() == r.message())
    }
}

/// A failed call: what to print, and whether etcd meant "not yet".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub text: String,
    pub refusal: Option<Refusal>,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&etcd_client::Error> for CallError {
    fn from(e: &etcd_client::Error) -> CallError {
        CallError {
            text: describe(e),
            refusal: Refusal::of(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: tonic::Code, msg: &str) -> etcd_client::Error {
        etcd_client::Error::GRpcStatus(tonic::Status::new(code, msg))
    }

    #[test]
    fn refusals_are_told_by_code_and_whole_message() {
        let e = status(tonic::Code::Unavailable, "etcdserver: unhealthy cluster");
        assert_eq!(Refusal::of(&e), Some(Refusal::UnhealthyCluster));
        let c = CallError::from(&e);
        assert_eq!(c.text, "Unavailable: etcdserver: unhealthy cluster");
        assert_eq!(c.refusal, Some(Refusal::UnhealthyCluster));
        let e = status(
            tonic::Code::FailedPrecondition,
            "etcdserver: can only promote a learner member which is in sync with leader",
        );
        assert_eq!(Refusal::of(&e), Some(Refusal::LearnerNotInSync));
        // The same words under another code, or inside another message, are something else.
        let e = status(tonic::Code::Unknown, "etcdserver: unhealthy cluster");
        assert_eq!(Refusal::of(&e), None);
        let e = status(
            tonic::Code::Unavailable,
            "etcdserver: unhealthy cluster; and also a peer URL exists",
        );
        assert_eq!(Refusal::of(&e), None);
        let e = status(
            tonic::Code::FailedPrecondition,
            "etcdserver: peerURL exists",
        );
        assert_eq!(Refusal::of(&e), None);
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
            assert_eq!(
                describe(&e),
                "Unavailable: tcp connect error: Connection refused (os error 111)"
            );
        });
    }
}
