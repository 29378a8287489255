//! Files read by systemd's `EnvironmentFile=`: /etc/etcd/etcd.conf, /etc/sysconfig/flanneld.
//!
//! Parsing follows systemd's env-file state machine (blank lines, `#`/`;` comments, optional
//! whitespace, single and double quotes, backslash escapes and continuations) so that the values
//! we read are the values the service gets. The model is the file's logical lines, each with
//! its original text; an edit replaces, inserts or deletes whole logical lines and nothing else.
//!
//! Stricter than systemd on purpose: a line systemd would skip with a warning (no `=`, a bad
//! variable name) and a key set twice are errors, because an editor that guesses about them
//! could change what the service runs with.

use crate::error::{Error, Result};
use crate::text;

/// How a value is written on its line; kept on edit so the operator's style survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
}

#[derive(Debug, Clone)]
struct Setting {
    key: String,
    value: String,
    quote: Quote,
    /// Bytes of the line up to where the value starts (`KEY=`, spacing included).
    prefix_len: usize,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The logical line as written, terminator included; one or more physical lines.
    raw: String,
    /// 1-based first line in the parsed text; 0 for lines added since.
    line: usize,
    setting: Option<Setting>,
}

#[derive(Debug, Clone)]
pub struct EnvFile {
    entries: Vec<Entry>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r')
}

pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Accumulates one logical line while the state machine runs.
struct Pending {
    start: usize,
    line: usize,
    key: String,
    value: String,
    /// Length of `value` without trailing unquoted whitespace, which systemd drops.
    keep: usize,
    quote: Option<Quote>,
    prefix_len: usize,
    quote_line: usize,
}

impl EnvFile {
    pub fn parse(input: &str) -> Result<EnvFile> {
        text::check_text(input)?;
        let mut entries = Vec::new();
        let mut state = State::PreKey;
        let mut line = 1;
        let mut p = Pending::new(0, 1);
        for (i, c) in input.char_indices() {
            let next = i + c.len_utf8();
            match state {
                State::PreKey => {
                    if c == '\n' {
                        entries.push(p.trivia(input, next));
                    } else if c == '#' || c == ';' {
                        state = State::Comment;
                    } else if !is_ws(c) {
                        p.key.push(c);
                        state = State::Key;
                    }
                }
                State::Comment => {
                    // systemd versions disagree on whether a trailing backslash continues a
                    // comment; ending at the newline matches current systemd.
                    if c == '\n' {
                        entries.push(p.trivia(input, next));
                        state = State::PreKey;
                    }
                }
                State::Key => {
                    if c == '\n' {
                        return Err(Error::parse(
                            line,
                            format!(
                                "`{}` has no '=' (systemd would ignore this line)",
                                p.key.trim()
                            ),
                        ));
                    } else if c == '=' {
                        let key = p.key.trim_end();
                        if !is_valid_key(key) {
                            return Err(Error::parse(
                                line,
                                format!("`{key}` is not a valid variable name (systemd would ignore this line)"),
                            ));
                        }
                        p.key.truncate(key.len());
                        p.prefix_len = next - p.start;
                        state = State::PreValue;
                    } else {
                        p.key.push(c);
                    }
                }
                State::PreValue => {
                    if c == '\n' {
                        entries.push(p.setting(input, next));
                        state = State::PreKey;
                    } else if is_ws(c) {
                        if p.quote.is_none() {
                            p.prefix_len = next - p.start;
                        }
                    } else {
                        let quote = match c {
                            '\'' => Quote::Single,
                            '"' => Quote::Double,
                            _ => Quote::None,
                        };
                        p.quote.get_or_insert(quote);
                        state = match c {
                            '\'' => State::SingleQuote,
                            '"' => State::DoubleQuote,
                            '\\' => State::ValueEscape,
                            _ => {
                                p.push(c);
                                State::Value
                            }
                        };
                        if quote != Quote::None {
                            p.quote_line = line;
                        }
                    }
                }
                State::Value => {
                    if c == '\n' {
                        entries.push(p.setting(input, next));
                        state = State::PreKey;
                    } else if c == '\\' {
                        state = State::ValueEscape;
                    } else if is_ws(c) {
                        p.value.push(c);
                    } else {
                        p.push(c);
                    }
                }
                State::ValueEscape => {
                    // An escaped newline joins lines; any other escaped char is taken literally.
                    if c != '\n' {
                        p.push(c);
                    }
                    state = State::Value;
                }
                State::SingleQuote => {
                    if c == '\'' {
                        state = State::PreValue;
                    } else {
                        p.push(c);
                    }
                }
                State::DoubleQuote => {
                    if c == '"' {
                        state = State::PreValue;
                    } else if c == '\\' {
                        state = State::DoubleQuoteEscape;
                    } else {
                        p.push(c);
                    }
                }
                State::DoubleQuoteEscape => {
                    if matches!(c, '"' | '\\' | '`' | '$') {
                        p.push(c);
                    } else if c != '\n' {
                        p.push('\\');
                        p.push(c);
                    }
                    state = State::DoubleQuote;
                }
            }
            if c == '\n' {
                line += 1;
                if state == State::PreKey {
                    p = Pending::new(next, line);
                }
            }
        }
        let end = input.len();
        match state {
            State::PreKey | State::Comment => {
                if p.start < end {
                    entries.push(p.trivia(input, end));
                }
            }
            State::Key => {
                return Err(Error::parse(
                    line,
                    format!(
                        "`{}` has no '=' (systemd would ignore this line)",
                        p.key.trim()
                    ),
                ))
            }
            State::PreValue | State::Value | State::ValueEscape => {
                entries.push(p.setting(input, end))
            }
            State::SingleQuote => {
                return Err(Error::parse(p.quote_line, "unterminated single quote"))
            }
            State::DoubleQuote | State::DoubleQuoteEscape => {
                return Err(Error::parse(p.quote_line, "unterminated double quote"))
            }
        }
        let file = EnvFile { entries };
        file.check_duplicates()?;
        Ok(file)
    }

    /// Parse and discard: the check [`crate::edit::apply_edit`] runs on text before writing it.
    pub fn validate(input: &str) -> Result<()> {
        EnvFile::parse(input).map(|_| ())
    }

    fn check_duplicates(&self) -> Result<()> {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for e in &self.entries {
            if let Some(s) = &e.setting {
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == s.key) {
                    return Err(Error::Duplicate {
                        key: s.key.clone(),
                        first: *first,
                        second: e.line,
                    });
                }
                seen.push((&s.key, e.line));
            }
        }
        Ok(())
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.setting.as_ref().is_some_and(|s| s.key == key))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key)
            .and_then(|i| self.entries[i].setting.as_ref())
            .map(|s| s.value.as_str())
    }

    /// The effective settings in file order (keys are unique: duplicates fail to parse).
    pub fn settings(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .filter_map(|e| e.setting.as_ref())
            .map(|s| (s.key.clone(), s.value.clone()))
            .collect()
    }

    /// The 1-based line the key is set on, as parsed (None for a key added since parsing), so
    /// that checks on values can point the operator at the line.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.find(key)
            .map(|i| self.entries[i].line)
            .filter(|&l| l > 0)
    }

    /// How the key's value is written, if the key is set.
    pub fn quote_of(&self, key: &str) -> Option<Quote> {
        self.find(key)
            .and_then(|i| self.entries[i].setting.as_ref())
            .map(|s| s.quote)
    }

    /// Set `key` to `value`; returns whether the text changed. An existing line keeps its
    /// spacing and quote style; a new line goes after the key's commented default if there is
    /// one (`#ETCD_NAME="default"`), else at the end.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        if !is_valid_key(key) {
            return Err(Error::invalid(format!(
                "`{key}` is not a valid variable name"
            )));
        }
        if value.contains('\0') {
            return Err(Error::invalid(format!(
                "value for {key} contains a NUL byte"
            )));
        }
        if let Some(i) = self.find(key) {
            let entry = &mut self.entries[i];
            let s = entry.setting.as_mut().expect("found a setting");
            if s.value == value {
                return Ok(false);
            }
            let eol = text::eol_of(&entry.raw).to_string();
            let mut raw = entry.raw[..s.prefix_len].to_string();
            raw.push_str(&encode(value, s.quote));
            raw.push_str(&eol);
            s.value = value.to_string();
            entry.raw = raw;
            return Ok(true);
        }
        let eol = text::file_eol(&self.render()).to_string();
        let (at, quote) = match self.commented_default(key) {
            Some((i, quote)) => {
                if text::eol_of(&self.entries[i].raw).is_empty() {
                    self.entries[i].raw.push_str(&eol);
                }
                (i + 1, quote)
            }
            None => {
                if let Some(last) = self.entries.last_mut() {
                    if text::eol_of(&last.raw).is_empty() {
                        last.raw.push_str(&eol);
                    }
                }
                (self.entries.len(), Quote::None)
            }
        };
        let prefix = format!("{key}=");
        let raw = format!("{prefix}{}{eol}", encode(value, quote));
        self.entries.insert(
            at,
            Entry {
                raw,
                line: 0,
                setting: Some(Setting {
                    key: key.to_string(),
                    value: value.to_string(),
                    quote,
                    prefix_len: prefix.len(),
                }),
            },
        );
        Ok(true)
    }

    /// Delete the key's line; its commented default, if any, stays. Returns whether it was set.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.find(key) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn render(&self) -> String {
        self.entries.iter().map(|e| e.raw.as_str()).collect()
    }

    /// The first comment line that looks like `#KEY=...` and the quote style its value uses.
    fn commented_default(&self, key: &str) -> Option<(usize, Quote)> {
        self.entries.iter().enumerate().find_map(|(i, e)| {
            if e.setting.is_some() {
                return None;
            }
            let body = e.raw.trim_start();
            let body = body.strip_prefix(['#', ';'])?.trim_start();
            let rest = body.strip_prefix(key)?.trim_start();
            let value = rest.strip_prefix('=')?.trim_start();
            let quote = match value.chars().next() {
                Some('"') => Quote::Double,
                Some('\'') => Quote::Single,
                _ => Quote::None,
            };
            Some((i, quote))
        })
    }
}

impl Pending {
    fn new(start: usize, line: usize) -> Pending {
        Pending {
            start,
            line,
            key: String::new(),
            value: String::new(),
            keep: 0,
            quote: None,
            prefix_len: 0,
            quote_line: line,
        }
    }

    fn push(&mut self, c: char) {
        self.value.push(c);
        self.keep = self.value.len();
    }

    fn trivia(&self, input: &str, end: usize) -> Entry {
        Entry {
            raw: input[self.start..end].to_string(),
            line: self.line,
            setting: None,
        }
    }

    fn setting(&mut self, input: &str, end: usize) -> Entry {
        self.value.truncate(self.keep);
        Entry {
            raw: input[self.start..end].to_string(),
            line: self.line,
            setting: Some(Setting {
                key: std::mem::take(&mut self.key),
                value: std::mem::take(&mut self.value),
                quote: self.quote.unwrap_or(Quote::None),
                prefix_len: self.prefix_len,
            }),
        }
    }
}

/// Characters that need no quoting for systemd nor for a shell that sources the same file.
fn is_plain(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:,@%+=".contains(c))
}

/// Write `value` in the given style, falling back to double quotes when the style cannot hold it.
pub fn encode(value: &str, quote: Quote) -> String {
    match quote {
        Quote::None if is_plain(value) => value.to_string(),
        Quote::Single if !value.contains('\'') => format!("'{value}'"),
        _ => {
            let mut out = String::with_capacity(value.len() + 2);
            out.push('"');
            for c in value.chars() {
                if matches!(c, '"' | '\\' | '`' | '$') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Vec<(String, String)> {
        EnvFile::parse(text).unwrap().settings()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn systemd_rules() {
        assert_eq!(settings("A=1\n"), vec![kv("A", "1")]);
        assert_eq!(settings("  A = 1  \n"), vec![kv("A", "1")]);
        assert_eq!(settings("A=\"x y\"\n"), vec![kv("A", "x y")]);
        assert_eq!(settings("A='x \\ y'\n"), vec![kv("A", "x \\ y")]);
        assert_eq!(
            settings("A=\"a\\\"b\\\\c\\$d\\n\"\n"),
            vec![kv("A", "a\"b\\c$d\\n")]
        );
        assert_eq!(settings("A=one\\\n two\n"), vec![kv("A", "one two")]);
        assert_eq!(settings("A=\"one\ntwo\"\n"), vec![kv("A", "one\ntwo")]);
        assert_eq!(settings("A=\"x\"y\n"), vec![kv("A", "xy")]);
        assert_eq!(settings("A=a\\ \n"), vec![kv("A", "a ")]);
        assert_eq!(settings("A=\n"), vec![kv("A", "")]);
        assert_eq!(
            settings("A=x # not a comment\n"),
            vec![kv("A", "x # not a comment")]
        );
        assert_eq!(settings("# c\n; c\n\nA=1"), vec![kv("A", "1")]);
        assert_eq!(
            settings("A=1\r\nB=\"2\"\r\n"),
            vec![kv("A", "1"), kv("B", "2")]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = EnvFile::parse("A=1\n\nB=\"open\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: unterminated double quote");
        let e = EnvFile::parse("A='x").unwrap_err();
        assert_eq!(e.to_string(), "line 1: unterminated single quote");
        let e = EnvFile::parse("A=1\nnonsense\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        let e = EnvFile::parse("export A=1\n").unwrap_err();
        assert!(e.to_string().contains("not a valid variable name"), "{e}");
        let e = EnvFile::parse("A=1\nB=2\nA=3\n").unwrap_err();
        assert_eq!(e.to_string(), "A set twice: lines 1 and 3");
        let e = EnvFile::parse("A=1\0\n").unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
    }

    #[test]
    fn line_of_counts_physical_lines() {
        let mut f = EnvFile::parse("# c\nA=\"x\ny\"\nB=1\\\n 2\nC=3\n").unwrap();
        assert_eq!(f.line_of("A"), Some(2));
        assert_eq!(f.line_of("B"), Some(4));
        assert_eq!(f.line_of("C"), Some(6));
        f.set("D", "4").unwrap();
        assert_eq!(f.line_of("D"), None);
        assert_eq!(f.line_of("Z"), None);
    }

    #[test]
    fn encode_round_trips() {
        for v in [
            "",
            "plain",
            "a b",
            "a\"b",
            "$HOME",
            "back\\slash",
            "it's",
            "x\ny",
            "`cmd`",
        ] {
            for q in [Quote::None, Quote::Single, Quote::Double] {
                let text = format!("K={}\n", encode(v, q));
                assert_eq!(settings(&text), vec![kv("K", v)], "{text:?}");
            }
        }
    }
}
