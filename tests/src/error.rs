//! One error type for the lab: a message chain, because every failure here ends in a test
//! failure or a CLI message that a person reads, never in code that matches on a variant.

use std::fmt;

/// A lab failure with its context ("starting etcd2: reading /x/etc/etcd/etcd.conf: No such file").
#[derive(Debug)]
pub struct Error {
    msg: String,
}

/// The lab's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message and no underlying cause.
    pub fn msg(msg: impl fmt::Display) -> Self {
        Error {
            msg: msg.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// Prefixes an error with what was being attempted.
pub trait Context<T> {
    /// Adds `ctx` in front of the error.
    fn context(self, ctx: impl fmt::Display) -> Result<T>;
    /// Like [`Context::context`], building the message only on failure.
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, ctx: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::msg(format!("{ctx}: {e}")))
    }
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::msg(format!("{}: {e}", f())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, ctx: impl fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error::msg(ctx))
    }
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::msg(f()))
    }
}
