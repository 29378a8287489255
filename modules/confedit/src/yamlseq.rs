//! Replace one sequence in a YAML file (e.g. `etcdClientInfo.urls` in an OpenShift
//! master-config.yaml) by rewriting only that sequence's lines, in the style the file uses.
//!
//! serde_yaml reads the document before and after; the text is located and rewritten by a small
//! indentation scanner. The scanner only has to be right about the lines it touches: the edit is
//! refused unless serde_yaml sees the new document as the old one with exactly that value
//! replaced, so a misread can only produce an error, never a damaged file.
//!
//! Not rewritten (refused with an error): sequences inside flow mappings, aliases, tagged
//! sequences. Comment lines *between* the old items are dropped with them; comments before the
//! first item and after the last stay.

use crate::error::{Error, Result};
use crate::text;
use serde_yaml::Value;

/// The scalars of the sequence at `path` (dot-separated mapping keys), as strings.
pub fn get_seq(text: &str, path: &str) -> Result<Vec<String>> {
    let doc = parse_doc(text)?;
    let items = lookup_seq(&doc, path)?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(Error::invalid(format!(
                "{path} item {} is {}, not a scalar",
                i + 1,
                kind_of(other)
            ))),
        })
        .collect()
}

/// Parse-and-discard check for [`crate::edit::apply_edit`]: valid YAML whose root is a mapping.
pub fn validate(text: &str) -> Result<()> {
    parse_doc(text).map(|_| ())
}

/// Return `text` with the sequence at `path` replaced by `items` (written as strings).
pub fn set_seq(text: &str, path: &str, items: &[String]) -> Result<String> {
    let before = parse_doc(text)?;
    lookup_seq(&before, path)?;
    let lines = text::split_lines(text);
    let starts: Vec<usize> = lines
        .iter()
        .scan(0, |at, l| {
            let s = *at;
            *at += l.len();
            Some(s)
        })
        .collect();
    let key_line = locate(&lines, path)?;
    let line = lines[key_line];
    let body = text::body_of(line);
    let colon = value_start(body).expect("locate returns key lines");
    let rest = &body[colon..];
    let rest_trim = rest.trim_start();
    let (range, replacement) = if rest_trim.starts_with('[') {
        let open = starts[key_line] + colon + (rest.len() - rest_trim.len());
        let close = flow_end(text, open)
            .ok_or_else(|| Error::invalid(format!("{path}: unterminated [ in flow sequence")))?;
        let inner = &text[open + 1..close];
        let style = Style::of(inner.trim_start());
        let sep = if inner.contains(',') && !inner.contains(", ") {
            ","
        } else {
            ", "
        };
        let written: Vec<String> = items.iter().map(|s| style.write(s, true)).collect();
        (open..close + 1, format!("[{}]", written.join(sep)))
    } else if rest_trim.is_empty() || rest_trim.starts_with('#') {
        block_replacement(&lines, &starts, key_line, colon, items, path)?
    } else {
        return Err(Error::invalid(format!(
            "{path} is written as `{}` (an alias, tag or other form this editor does not rewrite)",
            rest_trim
        )));
    };
    let mut after = String::with_capacity(text.len() + replacement.len());
    after.push_str(&text[..range.start]);
    after.push_str(&replacement);
    after.push_str(&text[range.end..]);

    let mut expected = before;
    *lookup_mut(&mut expected, path) =
        Value::Sequence(items.iter().map(|s| Value::String(s.clone())).collect());
    let got = parse_doc(&after).map_err(|e| {
        Error::invalid(format!(
            "rewriting {path} would produce invalid YAML ({e}); refusing"
        ))
    })?;
    if got != expected {
        return Err(Error::invalid(format!(
            "rewriting {path} would change more than {path}; refusing"
        )));
    }
    Ok(after)
}

fn parse_doc(text: &str) -> Result<Value> {
    text::check_text(text)?;
    let doc: Value = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(loc) => Error::parse(
            duplicate_key_line(text, &e.to_string(), loc.line(), loc.column())
                .unwrap_or(loc.line()),
            format!("invalid YAML: {e}"),
        ),
        None => Error::invalid(format!("invalid YAML: {e}")),
    })?;
    if !doc.is_mapping() {
        return Err(Error::invalid(format!(
            "the document is {}, not a mapping",
            kind_of(&doc)
        )));
    }
    Ok(doc)
}

/// serde_yaml places a duplicate-key error at the start of the mapping (line and column); the
/// operator needs the line of the second occurrence: the second line of that mapping, at its
/// indentation, with that key.
fn duplicate_key_line(text: &str, msg: &str, line: usize, column: usize) -> Option<usize> {
    let key = msg
        .split_once("duplicate entry with key \"")?
        .1
        .split('"')
        .next()?;
    let ind = column.saturating_sub(1);
    let lines = text::split_lines(text);
    let mapping = (line.saturating_sub(1)..lines.len())
        .filter(|&i| !is_trivia(lines[i]))
        .take_while(|&i| indent(lines[i]) >= ind);
    mapping
        .filter(|&i| indent(lines[i]) == ind && key_of(text::body_of(lines[i])) == Some(key))
        .nth(1)
        .map(|i| i + 1)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn lookup_seq<'a>(doc: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    let mut cur = doc;
    let mut walked = String::new();
    for part in path.split('.') {
        let map = cur.as_mapping().ok_or_else(|| {
            Error::invalid(format!("{walked} is {}, not a mapping", kind_of(cur)))
        })?;
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
        cur = map
            .get(part)
            .ok_or_else(|| Error::invalid(format!("{walked} is missing")))?;
    }
    cur.as_sequence()
        .ok_or_else(|| Error::invalid(format!("{path} is {}, not a list", kind_of(cur))))
}

fn lookup_mut<'a>(doc: &'a mut Value, path: &str) -> &'a mut Value {
    path.split('.').fold(doc, |cur, part| {
        cur.get_mut(part).expect("path checked by lookup_seq")
    })
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Lines that carry no structure: blank, comment, document markers and directives.
fn is_trivia(line: &str) -> bool {
    let t = text::body_of(line).trim();
    t.is_empty() || t.starts_with('#') || t == "---" || t == "..." || line.starts_with('%')
}

/// If the line is `key:` (plain, "double" or 'single' quoted key), the offset just past the colon.
fn value_start(body: &str) -> Option<usize> {
    let ind = indent(body);
    let s = &body[ind..];
    let key_len = match s.chars().next()? {
        q @ ('"' | '\'') => s[1..].find(q)? + 2,
        '-' | '#' | '[' | '{' => return None,
        _ => s.find(':')?,
    };
    let after = s[key_len..].trim_start_matches(' ');
    let after = after.strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some(body.len() - after.len())
}

fn key_of(body: &str) -> Option<&str> {
    let ind = indent(body);
    let end = value_start(body)? - 1;
    let k = body[ind..end].trim_end();
    Some(k.trim_matches(|c| c == '"' || c == '\''))
}

/// Find the line holding the last key of `path`, walking block mappings by indentation.
fn locate(lines: &[&str], path: &str) -> Result<usize> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut scope = 0..lines.len();
    let mut parent_indent: Option<usize> = None;
    for (depth, part) in parts.iter().enumerate() {
        let first = scope.clone().find(|&i| !is_trivia(lines[i]));
        let child_indent = first.map(|i| indent(lines[i]));
        let found = child_indent.and_then(|ci| {
            if parent_indent.is_some_and(|p| ci <= p) {
                return None;
            }
            scope.clone().find(|&i| {
                !is_trivia(lines[i])
                    && indent(lines[i]) == ci
                    && key_of(text::body_of(lines[i])) == Some(part)
            })
        });
        let walked = parts[..=depth].join(".");
        let Some(i) = found else {
            return Err(Error::invalid(format!(
                "cannot find the line of {walked} (flow-style mappings are not rewritten)"
            )));
        };
        if depth + 1 == parts.len() {
            return Ok(i);
        }
        let ind = indent(lines[i]);
        let end = (i + 1..lines.len())
            .find(|&j| !is_trivia(lines[j]) && indent(lines[j]) <= ind)
            .unwrap_or(lines.len());
        scope = i + 1..end;
        parent_indent = Some(ind);
    }
    unreachable!("paths have at least one part")
}

/// Replace a block sequence under `key_line`, keeping its item indentation and dash spacing.
fn block_replacement(
    lines: &[&str],
    starts: &[usize],
    key_line: usize,
    colon: usize,
    items: &[String],
    path: &str,
) -> Result<(std::ops::Range<usize>, String)> {
    let key_indent = indent(lines[key_line]);
    let is_item = |l: &str, ind: usize| {
        let t = &text::body_of(l)[ind.min(text::body_of(l).len())..];
        indent(l) == ind && (t == "-" || t.starts_with("- "))
    };
    let first = (key_line + 1..lines.len())
        .find(|&i| !is_trivia(lines[i]))
        .filter(|&i| indent(lines[i]) >= key_indent && is_item(lines[i], indent(lines[i])))
        .ok_or_else(|| Error::invalid(format!("cannot find the items of {path}")))?;
    let item_indent = indent(lines[first]);
    let mut last = first;
    for (i, l) in lines.iter().enumerate().skip(first + 1) {
        if is_trivia(l) {
            continue;
        }
        if indent(l) > item_indent || is_item(l, item_indent) {
            last = i;
        } else {
            break;
        }
    }
    let first_body = &text::body_of(lines[first])[item_indent..];
    let after_dash = &first_body[1..];
    let gap = &after_dash[..after_dash.len() - after_dash.trim_start_matches(' ').len()];
    let gap = if gap.is_empty() { " " } else { gap };
    let style = Style::of(after_dash.trim_start());
    let eol = match text::eol_of(lines[key_line]) {
        "" => "\n",
        e => e,
    };
    let end = starts[last] + lines[last].len();
    if items.is_empty() {
        // `key:` followed by nothing is null, so an empty list becomes `key: []` on the key line.
        // Comment lines between the key and its old items stay.
        let at = starts[key_line] + colon;
        let key_tail = text::body_of(&lines[key_line][colon..]);
        let between: String = lines[key_line + 1..first].concat();
        let mut out = format!(" []{key_tail}");
        if between.is_empty() {
            out.push_str(text::eol_of(lines[last]));
        } else {
            out.push_str(text::eol_of(lines[key_line]));
            out.push_str(&between);
        }
        return Ok((at..end, out));
    }
    let pad = " ".repeat(item_indent);
    let mut out = String::new();
    for (n, item) in items.iter().enumerate() {
        out.push_str(&pad);
        out.push('-');
        out.push_str(gap);
        out.push_str(&style.write(item, false));
        // The last item keeps whatever ending the old last line had (none at end of file).
        if n + 1 < items.len() {
            out.push_str(eol);
        } else {
            out.push_str(text::eol_of(lines[last]));
        }
    }
    Ok((starts[first]..end, out))
}

/// Offset of the `]` closing the flow sequence opened at `open`, skipping quoted scalars.
fn flow_end(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = text[open..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            '"' => loop {
                match chars.next()? {
                    (_, '\\') => {
                        chars.next()?;
                    }
                    (_, '"') => break,
                    _ => {}
                }
            },
            '\'' => loop {
                match chars.next()? {
                    (_, '\'') if chars.peek().map(|&(_, c)| c) == Some('\'') => {
                        chars.next();
                    }
                    (_, '\'') => break,
                    _ => {}
                }
            },
            '#' => {
                // A comment inside a multi-line flow sequence runs to the end of its line.
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

#[derive(Clone, Copy)]
enum Style {
    Plain,
    Single,
    Double,
}

impl Style {
    /// The quoting of the first existing item, which new items copy.
    fn of(first_item: &str) -> Style {
        match first_item.chars().next() {
            Some('"') => Style::Double,
            Some('\'') => Style::Single,
            _ => Style::Plain,
        }
    }

    fn write(self, item: &str, in_flow: bool) -> String {
        let printable = !item.chars().any(char::is_control);
        match self {
            Style::Plain if is_plain_safe(item, in_flow) => item.to_string(),
            Style::Single if printable => format!("'{}'", item.replace('\'', "''")),
            // A JSON string is a valid YAML double-quoted scalar.
            _ => serde_json::to_string(item).expect("strings serialize"),
        }
    }
}

/// A plain scalar that YAML reads back as this same string (not a number, bool, null...).
fn is_plain_safe(item: &str, in_flow: bool) -> bool {
    let chars_ok = item
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/:@%+=~-()?*&!|\\".contains(c));
    let flow_ok = !in_flow || !item.contains([',', '[', ']', '{', '}']);
    chars_ok
        && flow_ok
        && !item.is_empty()
        && !item.contains(": ")
        && matches!(serde_yaml::from_str::<Value>(item), Ok(Value::String(s)) if s == item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_safety() {
        assert!(is_plain_safe("https://10.0.0.1:2379", true));
        assert!(!is_plain_safe("123", false));
        assert!(!is_plain_safe("true", false));
        assert!(!is_plain_safe("~", false));
        assert!(!is_plain_safe("a,b", true));
        assert!(!is_plain_safe("", false));
    }

    #[test]
    fn duplicate_keys_point_at_the_second_one() {
        let e = validate("a: 1\nb:\n  k: 1\n  c: 2\n  k: 3\nd: 4\n").unwrap_err();
        assert_eq!(e.line(), Some(5), "{e}");
        let e = validate("kind: A\nx:\n  kind: B\nkind: C\n").unwrap_err();
        assert_eq!(e.line(), Some(4), "{e}");
    }

    #[test]
    fn styles() {
        let t = "a:\n  b:\n  - x\n  - y\n  c: 1\n";
        assert_eq!(
            set_seq(t, "a.b", &v(&["z"])).unwrap(),
            "a:\n  b:\n  - z\n  c: 1\n"
        );
        assert_eq!(set_seq(t, "a.b", &[]).unwrap(), "a:\n  b: []\n  c: 1\n");
        let t = "a: ['x', 'y'] # c\n";
        assert_eq!(
            set_seq(t, "a", &v(&["it's", "1"])).unwrap(),
            "a: ['it''s', '1'] # c\n"
        );
        let t = "a: []\n";
        assert_eq!(set_seq(t, "a", &v(&["1", "q"])).unwrap(), "a: [\"1\", q]\n");
        let t = "a:\n    -   \"x\"\nb: 2";
        assert_eq!(
            set_seq(t, "a", &v(&["p", "q"])).unwrap(),
            "a:\n    -   \"p\"\n    -   \"q\"\nb: 2"
        );
        let t = "a:\n- x";
        assert_eq!(set_seq(t, "a", &v(&["y"])).unwrap(), "a:\n- y");
        assert_eq!(set_seq(t, "a", &[]).unwrap(), "a: []");
        let t = "a: # k\n# before\n- x\n# between\n- y\n# after\nb: 1\n";
        assert_eq!(
            set_seq(t, "a", &v(&["z"])).unwrap(),
            "a: # k\n# before\n- z\n# after\nb: 1\n"
        );
        assert_eq!(
            set_seq(t, "a", &[]).unwrap(),
            "a: [] # k\n# before\n# after\nb: 1\n"
        );
    }
}
