//! Host ranges in INI inventories (`ose3-master[1:3].example.com`, `node[01:10]`, `db-[a:f]`,
//! `web[1:10:2]`), expanded exactly as ansible-core's `expand_hostname_range` does, and split
//! around one host so that a removal keeps every other host of the range on the line's pattern.
//!
//! Ansible's algorithm, which this mirrors step for step: replace the first `[` and the first
//! `]` with separators and split into head, range and tail (anything else is an error); the
//! range is `begin:end` or `begin:end:step`; an empty begin is 0; a begin with a leading zero
//! pads every value to its width (and then end must have the same width); single ASCII letters
//! make a letter range over `a..zA..Z`; each value joined with head and tail is expanded again
//! if it still holds a `[`, so several ranges in one name multiply out left to right.

/// Beyond this many hosts on one line a typo is likelier than intent, and expanding it would
/// only exhaust memory.
pub const MAX_HOSTS: usize = 100_000;

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Whether Ansible treats the pattern as a range (its `detect_range`).
pub fn is_range(pattern: &str) -> bool {
    pattern.contains('[')
}

/// The pattern's first range, with what comes before and after it.
struct First<'a> {
    head: &'a str,
    tail: &'a str,
    /// Each value of the range, formatted (zero-padded, or a letter).
    values: Vec<String>,
    /// The step as written when it is not 1, for writing sub-ranges.
    step: Option<usize>,
}

fn first_range(pattern: &str) -> Result<First<'_>, String> {
    let open = pattern.find('[').ok_or("not a host range")?;
    let close = pattern.find(']').ok_or_else(|| unbalanced(pattern))?;
    // Ansible turns the first `[` and the first `]` into `|` and splits on `|`: the order of
    // the two does not matter (`n]1:2[` is n1, n2), and any other `|` is an error.
    let (open, close) = (open.min(close), open.max(close));
    if pattern.contains('|') {
        return Err(unbalanced(pattern));
    }
    let (head, nrange, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "host range `[{nrange}]` in `{pattern}` must be begin:end or begin:end:step"
        ));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!(
            "host range `[{nrange}]` in `{pattern}` must specify an end value"
        ));
    }
    let step = match bounds.get(2) {
        None => 1,
        Some(s) => match number(s) {
            Some(n) if n > 0 => n as usize,
            _ => {
                return Err(format!(
                    "host range `[{nrange}]` in `{pattern}`: the step must be a positive number"
                ))
            }
        },
    };
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err(format!(
                "host range `[{nrange}]` in `{pattern}` must specify equal-length begin and end formats"
            ));
        }
        beg.len()
    } else {
        0
    };
    let values = match (letter(beg), letter(end)) {
        (Some(b), Some(e)) => {
            if b > e {
                return Err(format!(
                    "host range `[{nrange}]` in `{pattern}` must have begin <= end"
                ));
            }
            LETTERS[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let (Some(b), Some(e)) = (number(beg), number(end)) else {
                return Err(format!(
                    "host range `[{nrange}]` in `{pattern}`: begin and end must both be numbers \
                     or both single letters"
                ));
            };
            // Python's range() is empty when begin > end; so is Ansible's expansion.
            let count = if b > e { 0 } else { (e - b) / step as u64 + 1 };
            if count > MAX_HOSTS as u64 {
                return Err(too_many(pattern));
            }
            (0..count)
                .map(|i| format!("{:0width$}", b + i * step as u64))
                .collect()
        }
    };
    Ok(First {
        head,
        tail,
        values,
        step: (step != 1).then_some(step),
    })
}

fn unbalanced(pattern: &str) -> String {
    format!("host range in `{pattern}` must be written `[begin:end]`")
}

fn too_many(pattern: &str) -> String {
    format!("host range `{pattern}` expands to more than {MAX_HOSTS} hosts")
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn letter(s: &str) -> Option<usize> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => LETTERS.find(c),
        _ => None,
    }
}

/// Every host name the pattern stands for, in Ansible's order. A name without `[` is itself.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out)?;
    Ok(out)
}

fn expand_into(pattern: &str, out: &mut Vec<String>) -> Result<(), String> {
    if !is_range(pattern) {
        out.push(pattern.to_string());
        return Ok(());
    }
    let first = first_range(pattern)?;
    for v in &first.values {
        expand_into(&format!("{}{v}{}", first.head, first.tail), out)?;
        if out.len() > MAX_HOSTS {
            return Err(too_many(pattern));
        }
    }
    Ok(())
}

/// A part of a range after splitting it around a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A pattern (a sub-range, or a single name) for hosts that stay.
    Keep(String),
    /// Where the host was.
    Host,
}

/// The pattern split around `host`, in expansion order, or None when the pattern does not
/// hold it. The `Keep` pieces together expand to the same hosts in the same order as the
/// pattern without `host`: a run of values that does not lead to the host stays one
/// sub-range with the original step and padding.
pub fn split_around(pattern: &str, host: &str) -> Result<Option<Vec<Piece>>, String> {
    if !is_range(pattern) {
        return Ok((pattern == host).then(|| vec![Piece::Host]));
    }
    let first = first_range(pattern)?;
    let mut pieces = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let mut found = false;
    for v in &first.values {
        let sub = format!("{}{v}{}", first.head, first.tail);
        match split_around(&sub, host)? {
            None => run.push(v),
            Some(inner) => {
                found = true;
                flush(&first, &mut run, &mut pieces);
                pieces.extend(inner);
            }
        }
    }
    flush(&first, &mut run, &mut pieces);
    Ok(found.then_some(pieces))
}

fn flush(first: &First, run: &mut Vec<&str>, pieces: &mut Vec<Piece>) {
    let (head, tail) = (first.head, first.tail);
    match run.as_slice() {
        [] => {}
        [one] => pieces.push(Piece::Keep(format!("{head}{one}{tail}"))),
        [beg, .., end] => {
            let step = first.step.map(|s| format!(":{s}")).unwrap_or_default();
            pieces.push(Piece::Keep(format!("{head}[{beg}:{end}{step}]{tail}")));
        }
    }
    run.clear();
}

/// A host token split into its pattern and a `:port` suffix, for range patterns only, as
/// Ansible's `parse_address(allow_ranges=True)` does for `name[1:3]:2222`. A bracketed IPv6
/// address (`[fd00::1]`, `[fd00::1]:22`) is no range and comes back as None.
pub fn pattern_and_port(token: &str) -> Option<(&str, &str)> {
    if !is_range(token) {
        return None;
    }
    if let Some(inner) = token.strip_prefix('[') {
        let inside = inner.split(']').next().unwrap_or("");
        if inside.matches(':').count() > 2 || inside.contains("::") {
            return None;
        }
    }
    if let Some((before, port)) = token.rsplit_once(':') {
        if before.ends_with(']') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            return Some((before, &token[before.len()..]));
        }
    }
    Some((token, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        expand(p).unwrap()
    }

    #[test]
    fn expands_like_ansible() {
        assert_eq!(
            names("ose3-master[1:3].example.com"),
            [
                "ose3-master1.example.com",
                "ose3-master2.example.com",
                "ose3-master3.example.com"
            ]
        );
        assert_eq!(names("n[08:11]"), ["n08", "n09", "n10", "n11"]);
        assert_eq!(names("n[:2]"), ["n0", "n1", "n2"]);
        assert_eq!(names("w[1:10:4]"), ["w1", "w5", "w9"]);
        assert_eq!(names("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(names("x[y:B]"), ["xy", "xz", "xA", "xB"]);
        assert_eq!(names("h[1:2]-[a:b]"), ["h1-a", "h1-b", "h2-a", "h2-b"]);
        assert!(names("n[3:1]").is_empty());
        assert_eq!(names("n]1:2["), ["n1", "n2"]);
        for (bad, why) in [
            ("n[1:2", "`[begin:end]`"),
            ("n|[1:2]", "`[begin:end]`"),
            ("n[1]", "begin:end"),
            ("n[1:]", "end value"),
            ("n[01:100]", "equal-length"),
            ("n[c:a]", "begin <= end"),
            ("n[1:c]", "both be numbers"),
            ("n[1:3:0]", "positive"),
            ("n[1:999999]", "more than"),
        ] {
            let e = expand(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn splits_around_a_host() {
        use Piece::*;
        let k = |s: &str| Keep(s.to_string());
        assert_eq!(
            split_around("m[1:3].x", "m2.x").unwrap().unwrap(),
            [k("m1.x"), Host, k("m3.x")]
        );
        assert_eq!(
            split_around("n[01:10]", "n03").unwrap().unwrap(),
            [k("n[01:02]"), Host, k("n[04:10]")]
        );
        assert_eq!(
            split_around("w[1:10:2]", "w1").unwrap().unwrap(),
            [Host, k("w[3:9:2]")]
        );
        assert_eq!(
            split_around("h[1:3]-[a:c]", "h2-b").unwrap().unwrap(),
            [k("h1-[a:c]"), k("h2-a"), Host, k("h2-c"), k("h3-[a:c]")]
        );
        assert_eq!(split_around("m[1:3].x", "m4.x").unwrap(), None);
        assert_eq!(split_around("m[1:3:2].x", "m2.x").unwrap(), None);
        // Every split expands back to the range without the host, in order.
        for (pattern, host) in [("n[01:20:3]", "n10"), ("q[a:Z]", "qz"), ("r[9:11]", "r10")] {
            let mut want = names(pattern);
            want.retain(|h| h != host);
            let got: Vec<String> = split_around(pattern, host)
                .unwrap()
                .unwrap()
                .into_iter()
                .filter_map(|p| match p {
                    Keep(p) => Some(names(&p)),
                    Host => None,
                })
                .flatten()
                .collect();
            assert_eq!(got, want, "{pattern} - {host}");
        }
    }

    #[test]
    fn ports_and_ipv6() {
        assert_eq!(pattern_and_port("m[1:3]:2222"), Some(("m[1:3]", ":2222")));
        assert_eq!(pattern_and_port("m[1:3]"), Some(("m[1:3]", "")));
        assert_eq!(pattern_and_port("[fd00::1]:22"), None);
        assert_eq!(pattern_and_port("m1"), None);
    }
}
