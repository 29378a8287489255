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

#[cfg(test)]
mod tests {
    use super::*;

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
