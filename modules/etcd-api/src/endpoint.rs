//! Endpoint URLs as operators write them in inventories, checked before any connection so
//! that `10.0.0.1:2379` gets a message naming the fix instead of a gRPC error.

/// Checks `scheme://host:port`; returns the URL unchanged when it is well-formed.
pub fn validate_endpoint(url: &str) -> Result<&str, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "endpoint '{url}' has no scheme: write it as https://{url} (or http:// without TLS)"
        ));
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "endpoint '{url}': scheme must be http or https, not {scheme}"
        ));
    }
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err(format!("endpoint '{url}' must not have a path"));
    }
    // A bracketed IPv6 host contains colons of its own: the port follows the bracket.
    let split = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").filter(|(h, _)| !h.is_empty()),
        None => authority.rsplit_once(':'),
    };
    let Some((host, port)) = split else {
        return Err(format!(
            "endpoint '{url}' has no port (etcd clients use 2379)"
        ));
    };
    if host.is_empty() {
        return Err(format!("endpoint '{url}' has no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(url),
        _ => Err(format!(
            "endpoint '{url}': port '{port}' is not a number from 1 to 65535"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_with_host_and_port() {
        for ok in [
            "https://10.0.0.1:2379",
            "http://127.0.0.1:2379",
            "https://etcd1.example.com:2379/",
            "https://[::1]:2379",
        ] {
            assert_eq!(validate_endpoint(ok), Ok(ok));
        }
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(
            validate_endpoint("10.0.0.1:2379").unwrap_err(),
            "endpoint '10.0.0.1:2379' has no scheme: write it as https://10.0.0.1:2379 (or http:// without TLS)"
        );
        assert!(validate_endpoint("ftp://a:1")
            .unwrap_err()
            .contains("scheme must be http or https"));
        assert!(validate_endpoint("https://a")
            .unwrap_err()
            .contains("has no port"));
        assert!(validate_endpoint("https://a:99999")
            .unwrap_err()
            .contains("not a number from 1 to 65535"));
        assert!(validate_endpoint("https://:2379")
            .unwrap_err()
            .contains("has no host"));
        assert!(validate_endpoint("https://a:2379/v3")
            .unwrap_err()
            .contains("must not have a path"));
        assert!(validate_endpoint("https://[::1]")
            .unwrap_err()
            .contains("has no port"));
    }
}
