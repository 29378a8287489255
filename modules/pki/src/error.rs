//! One error type whose message always says which file or value was involved and what was
//! being done, because an operator reads it in a failed Ansible task, far from the code.

use openssl::error::ErrorStack;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        Error(msg.into())
    }

    /// An OpenSSL failure during `what` ("signing the certificate"). OpenSSL's own text is
    /// kept: it is the only clue when the vendored library refuses something.
    pub fn openssl(what: impl fmt::Display, e: ErrorStack) -> Error {
        Error(format!("{what}: {}", describe(&e)))
    }
}

fn describe(e: &ErrorStack) -> String {
    let reasons: Vec<String> = e
        .errors()
        .iter()
        .map(|err| err.reason().unwrap_or("unknown OpenSSL error").to_string())
        .collect();
    if reasons.is_empty() {
        "unknown OpenSSL error".into()
    } else {
        reasons.join("; ")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
