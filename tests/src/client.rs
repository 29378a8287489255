//! Talking to lab clusters through etcd-client over mutual TLS, the way the modules will.
//! Lab methods are synchronous (tests and the CLI are plain code), so each call runs on its own
//! current-thread tokio runtime.
//!
//! Every operation uses one endpoint at a time and falls through to the next on failure: the
//! balanced channel would otherwise keep routing some requests to a member the test just
//! killed, and "the cluster still serves" must not depend on luck.

use crate::error::{Context, Error, Result};
use etcd_client::{Client, ConnectOptions, GetOptions, OpenSslClientConfig, Txn, TxnOp};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// etcd's default `--max-txn-ops`: the most puts one transaction may carry.
const TXN_OPS: usize = 128;
/// Transactions in flight during [`put_keys`]; enough to keep etcd's batching busy.
const IN_FLIGHT: usize = 32;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Long enough for a healthy loopback cluster under a parallel test load, short enough that a
/// read without quorum fails quickly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Client TLS material (CA bundle, client certificate and key), as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate that signed the servers' certificates.
    pub ca: PathBuf,
    /// Client certificate (clientAuth).
    pub cert: PathBuf,
    /// Client private key.
    pub key: PathBuf,
}

/// A cluster member as reported by MemberList.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member id.
    pub id: u64,
    /// `ETCD_NAME`; empty while the member was added but has never started.
    pub name: String,
    /// Advertised peer URLs.
    pub peer_urls: Vec<String>,
    /// Advertised client URLs; empty while unstarted.
    pub client_urls: Vec<String>,
    /// Raft learner (not voting).
    pub is_learner: bool,
}

impl Member {
    /// Whether the member has ever started (etcd reports a name only then).
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }
}

/// The key [`put_keys`] writes for index `i`: zero-padded so keys sort like their numbers.
pub fn key_name(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:08}")
}

/// The value [`put_keys`] writes for index `i`.
pub fn value_for(i: usize) -> String {
    format!("value-{i}")
}

/// A linearizable read through `endpoint` alone: succeeds only if that member is up, trusts
/// our client certificate, and is part of a cluster with quorum.
pub fn probe(endpoint: &str, tls: &TlsFiles) -> Result<()> {
    run(async {
        let mut c = connect(endpoint, tls).await?;
        timed(c.get("health", None)).await.map(drop)
    })
    .with_context(|| format!("health probe of {endpoint}"))
}

/// Writes `count` keys (`key_name(prefix, i)` = `value_for(i)`) in 128-put transactions,
/// several in flight at once.
pub fn put_keys(endpoints: &[String], tls: &TlsFiles, prefix: &str, count: usize) -> Result<()> {
    on_first_endpoint(endpoints, tls, |client| {
        let prefix = prefix.to_string();
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            let mut start = 0;
            while start < count || !tasks.is_empty() {
                if start < count && tasks.len() < IN_FLIGHT {
                    let end = (start + TXN_OPS).min(count);
                    let ops: Vec<TxnOp> = (start..end)
                        .map(|i| TxnOp::put(key_name(&prefix, i), value_for(i), None))
                        .collect();
                    let mut kv = client.kv_client();
                    tasks.spawn(async move { timed(kv.txn(Txn::new().and_then(ops))).await });
                    start = end;
                    continue;
                }
                if let Some(done) = tasks.join_next().await {
                    done.context("put task panicked")??;
                }
            }
            Ok(())
        }
    })
    .with_context(|| format!("putting {count} keys under {prefix:?}"))
}

/// Number of keys under `prefix` (linearizable, count only).
pub fn count_keys(endpoints: &[String], tls: &TlsFiles, prefix: &str) -> Result<i64> {
    on_first_endpoint(endpoints, tls, |mut client| {
        let prefix = prefix.to_string();
        async move {
            let opts = GetOptions::new().with_prefix().with_count_only();
            let resp = timed(client.get(prefix, Some(opts))).await?;
            Ok(resp.count())
        }
    })
    .with_context(|| format!("counting keys under {prefix:?}"))
}

/// The value of `key` (linearizable), or None.
pub fn get(endpoints: &[String], tls: &TlsFiles, key: &str) -> Result<Option<Vec<u8>>> {
    on_first_endpoint(endpoints, tls, |mut client| {
        let key = key.to_string();
        async move {
            let resp = timed(client.get(key, None)).await?;
            Ok(resp.kvs().first().map(|kv| kv.value().to_vec()))
        }
    })
    .with_context(|| format!("getting {key:?}"))
}

/// The cluster's member list.
pub fn member_list(endpoints: &[String], tls: &TlsFiles) -> Result<Vec<Member>> {
    on_first_endpoint(endpoints, tls, |mut client| async move {
        let resp = timed(client.member_list()).await?;
        Ok(resp
            .members()
            .iter()
            .map(|m| Member {
                id: m.id(),
                name: m.name().to_string(),
                peer_urls: m.peer_urls().to_vec(),
                client_urls: m.client_urls().to_vec(),
                is_learner: m.is_learner(),
            })
            .collect())
    })
    .context("listing members")
}

/// Puts `value` under `key`.
pub fn put(endpoints: &[String], tls: &TlsFiles, key: &str, value: &[u8]) -> Result<()> {
    on_first_endpoint(endpoints, tls, |mut client| {
        let (key, value) = (key.to_string(), value.to_vec());
        async move { timed(client.put(key, value, None)).await.map(drop) }
    })
    .with_context(|| format!("putting {key:?}"))
}

/// Overwrites `key` with `value_bytes` of data again and again (each revision keeps its copy
/// until a compaction) until etcd refuses with "database space exceeded", the NOSPACE alarm;
/// returns how many puts it took. Fails after `max_puts` without the refusal.
pub fn fill_until_nospace(
    endpoints: &[String],
    tls: &TlsFiles,
    key: &str,
    value_bytes: usize,
    max_puts: usize,
) -> Result<usize> {
    on_first_endpoint(endpoints, tls, |mut client| {
        let key = key.to_string();
        async move {
            for i in 0..max_puts {
                // Different (printable) bytes each time, so nothing below etcd can share them.
                let value: Vec<u8> = (0..value_bytes)
                    .map(|b| b"abcdefghijklmnopqrstuvwxyz"[(b ^ i) % 26])
                    .collect();
                match timed(client.put(key.clone(), value, None)).await {
                    Ok(_) => {}
                    Err(e) if e.to_string().contains("database space exceeded") => return Ok(i),
                    Err(e) => return Err(e),
                }
            }
            Err(Error::msg(format!(
                "{max_puts} puts of {value_bytes} bytes and no NOSPACE"
            )))
        }
    })
    .with_context(|| format!("filling the quota through {key:?}"))
}

/// Runs `op` against each endpoint in turn until one succeeds; the error lists every failure.
fn on_first_endpoint<T, F, Fut>(endpoints: &[String], tls: &TlsFiles, op: F) -> Result<T>
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    if endpoints.is_empty() {
        return Err(Error::msg("no endpoints"));
    }
    run(async {
        let mut errors = Vec::new();
        for ep in endpoints {
            let attempt = async { op(connect(ep, tls).await?).await };
            match attempt.await {
                Ok(v) => return Ok(v),
                Err(e) => errors.push(format!("{ep}: {e}")),
            }
        }
        Err(Error::msg(errors.join("; ")))
    })
}

async fn connect(endpoint: &str, tls: &TlsFiles) -> Result<Client> {
    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let (ca, cert, key) = (read(&tls.ca)?, read(&tls.cert)?, read(&tls.key)?);
    let otls = OpenSslClientConfig::default()
        .ca_cert_pem(&ca)
        .client_cert_pem_and_key(&cert, &key);
    let opts = ConnectOptions::new()
        .with_openssl_tls(otls)
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
        // Without a leader, fail at once instead of waiting out the request timeout.
        .with_require_leader(true);
    timed(Client::connect([endpoint], Some(opts))).await
}

/// Bounds a request even where the transport's own timeout does not apply (TLS handshake,
/// a connection stuck on a stopped process).
async fn timed<T>(fut: impl Future<Output = Result<T, etcd_client::Error>>) -> Result<T> {
    match tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), fut).await {
        Ok(r) => r.map_err(Error::msg),
        Err(_) => Err(Error::msg(format!(
            "timed out after {:?}",
            REQUEST_TIMEOUT + Duration::from_secs(1)
        ))),
    }
}

fn run<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime")?
        .block_on(fut)
}
