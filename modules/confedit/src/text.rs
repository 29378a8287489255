//! Shared text plumbing: refusing binary input and splitting into lines that keep their endings.

use crate::error::{Error, Result};

/// Decode file bytes as text. Config files are UTF-8 text; anything else (a truncated write, a
/// binary dropped in the wrong place) is refused rather than edited.
pub fn decode(bytes: &[u8]) -> Result<&str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            check_text(text)?;
            Ok(text)
        }
        Err(e) => {
            let at = e.valid_up_to();
            Err(Error::parse(
                line_of(&bytes[..at]),
                "invalid UTF-8: this is not a text file",
            ))
        }
    }
}

/// Refuse NUL bytes: no config format here can carry them, and they mark binary garbage.
pub fn check_text(text: &str) -> Result<()> {
    match text.bytes().position(|b| b == 0) {
        Some(at) => Err(Error::parse(
            line_of(&text.as_bytes()[..at]),
            "NUL byte: this is not a text file",
        )),
        None => Ok(()),
    }
}

fn line_of(prefix: &[u8]) -> usize {
    prefix.iter().filter(|&&b| b == b'\n').count() + 1
}

/// Split into lines, each keeping its terminator, so that concatenating them gives the input.
pub fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The terminator a line ends with: "\r\n", "\n" or "" (last line without newline).
pub fn eol_of(line: &str) -> &str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// The line without its terminator.
pub fn body_of(line: &str) -> &str {
    &line[..line.len() - eol_of(line).len()]
}

/// The terminator new lines should get: whatever the file already uses, "\n" by default.
pub fn file_eol(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}
