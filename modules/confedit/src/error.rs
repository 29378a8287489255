//! One error type for every editor, so a module's edit closure can use `?` on any of them and
//! the message an operator sees always names the line or the path involved.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// Text that cannot be parsed; `line` is 1-based.
    Parse { line: usize, message: String },
    /// An env file sets the same key on two lines: an editor cannot know which one to change.
    Duplicate {
        key: String,
        first: usize,
        second: usize,
    },
    /// A value or document that parses but is not what the edit needs.
    Invalid(String),
    /// A filesystem step failed; `action` reads like "reading" or "renaming temp file over".
    Io {
        action: String,
        path: PathBuf,
        source: io::Error,
    },
    /// Any other error, attributed to the file it happened in.
    InFile { path: PathBuf, source: Box<Error> },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn parse(line: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            line,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    pub fn io(action: impl Into<String>, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            action: action.into(),
            path: path.into(),
            source,
        }
    }

    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            // Io errors already name their path.
            e @ Error::Io { .. } => e,
            e => Error::InFile {
                path: path.into(),
                source: Box::new(e),
            },
        }
    }

    /// The 1-based line the error points at, if it points at one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Parse { line, .. } => Some(*line),
            Error::Duplicate { second, .. } => Some(*second),
            Error::InFile { source, .. } => source.line(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { line, message } => write!(f, "line {line}: {message}"),
            Error::Duplicate { key, first, second } => {
                write!(f, "{key} set twice: lines {first} and {second}")
            }
            Error::Invalid(message) => f.write_str(message),
            Error::Io {
                action,
                path,
                source,
            } => write!(f, "{action} {}: {source}", path.display()),
            Error::InFile { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::InFile { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
