//! Ansible INI inventories (OpenShift's `[OSEv3:children]`, `[masters]`, `[etcd]`,
//! `[new_etcd]`, `[nodes]` ...), parsed by the rules of Ansible's INI inventory plugin: lines
//! are stripped, `#` and `;` start comment lines, host lines are split like a shell with
//! trailing comments, `[group:vars]` lines are `key=value`, `[group:children]` lines are group
//! names. Each line keeps its original text; edits add or delete whole host lines, and split a
//! host range (`ose3-master[1:3].example.com`) around the one host an edit is about.

use crate::error::{Error, Result};
use crate::hostrange::{self, Piece};
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Hosts,
    Vars,
    Children,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Blank, comment, or a `:vars` / `:children` line: kept as is, never edited.
    Other,
    Header {
        group: String,
        kind: SectionKind,
    },
    Host {
        /// The first token as written: a host name, or a range pattern.
        name: String,
        tokens: Vec<String>,
        /// Byte length of the host definition without its trailing comment and whitespace.
        def_len: usize,
        /// Byte span of the first token in the line.
        name_span: (usize, usize),
        /// The host names the line stands for: `name` itself, or a range's expansion.
        hosts: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Line {
    raw: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    lines: Vec<Line>,
}

/// Hosts before any header are Ansible's implicit "ungrouped" group.
const UNGROUPED: &str = "ungrouped";

impl Inventory {
    pub fn parse(input: &str) -> Result<Inventory> {
        text::check_text(input)?;
        let mut lines = Vec::new();
        let mut section = SectionKind::Hosts;
        for (i, raw) in text::split_lines(input).into_iter().enumerate() {
            let n = i + 1;
            let body = text::body_of(raw).trim();
            let kind = if body.is_empty() || body.starts_with(['#', ';']) {
                Kind::Other
            } else if body.starts_with('[') {
                let (group, kind) = parse_header(body).map_err(|m| Error::parse(n, m))?;
                section = kind;
                Kind::Header { group, kind }
            } else {
                match section {
                    SectionKind::Hosts => {
                        host_kind(text::body_of(raw)).map_err(|m| Error::parse(n, m))?
                    }
                    SectionKind::Vars => {
                        if !body.contains('=') {
                            return Err(Error::parse(
                                n,
                                format!("expected key=value, got `{body}`"),
                            ));
                        }
                        Kind::Other
                    }
                    SectionKind::Children => {
                        let name = body.split('#').next().unwrap_or("").trim_end();
                        if !is_group_name(name) {
                            return Err(Error::parse(n, format!("invalid group name `{body}`")));
                        }
                        Kind::Other
                    }
                }
            };
            lines.push(Line {
                raw: raw.to_string(),
                kind,
            });
        }
        Ok(Inventory { lines })
    }

    pub fn validate(input: &str) -> Result<()> {
        Inventory::parse(input).map(|_| ())
    }

    /// Each line's host-section group, if it is in one.
    fn groups(&self) -> Vec<Option<&str>> {
        let mut current = Some(UNGROUPED);
        self.lines
            .iter()
            .map(|l| {
                if let Kind::Header { group, kind } = &l.kind {
                    current = (*kind == SectionKind::Hosts).then_some(group.as_str());
                }
                current
            })
            .collect()
    }

    fn host_lines(&self, group: &str) -> Vec<usize> {
        let groups = self.groups();
        (0..self.lines.len())
            .filter(|&i| {
                groups[i] == Some(group) && matches!(self.lines[i].kind, Kind::Host { .. })
            })
            .collect()
    }

    fn name_of(&self, i: usize) -> &str {
        match &self.lines[i].kind {
            Kind::Host { name, .. } => name,
            _ => "",
        }
    }

    /// Whether line `i` stands for `host`, by name or as one of its range's hosts.
    fn holds(&self, i: usize, host: &str) -> bool {
        matches!(&self.lines[i].kind, Kind::Host { hosts, .. } if hosts.iter().any(|h| h == host))
    }

    fn is_range_line(&self, i: usize) -> bool {
        matches!(&self.lines[i].kind, Kind::Host { name, hosts, .. } if hosts.len() != 1 || hosts[0] != *name)
    }

    /// The hosts listed directly in `group`'s sections, in file order, ranges expanded as
    /// Ansible expands them (children not expanded).
    pub fn hosts(&self, group: &str) -> Vec<String> {
        self.host_lines(group)
            .into_iter()
            .flat_map(|i| match &self.lines[i].kind {
                Kind::Host { hosts, .. } => hosts.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// The group names that have a `[group]` hosts section.
    pub fn groups_with_hosts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in &self.lines {
            if let Kind::Header {
                group,
                kind: SectionKind::Hosts,
            } = &l.kind
            {
                if !out.contains(group) {
                    out.push(group.clone());
                }
            }
        }
        out
    }

    /// Add a host to `group`. `spec` is a bare name or a full host line (`name key=value ...`).
    /// A bare name already listed in another group is added with that line's variables, since
    /// OpenShift playbooks read e.g. `etcd_ip` from whichever group the host is in. A full line
    /// replaces a different line for the same host in the group. A host that a range line of the
    /// group already holds is left alone, unless a full line gives it other variables: then the
    /// range is split around it and the host gets that line in its place. Returns whether the
    /// text changed.
    pub fn add_host(&mut self, group: &str, spec: &str) -> Result<bool> {
        if !is_group_name(group) {
            return Err(Error::invalid(format!("invalid group name `{group}`")));
        }
        let def =
            parse_host(spec.trim()).map_err(|m| Error::invalid(format!("host `{spec}`: {m}")))?;
        let (name, tokens) = (def.name, def.tokens);
        let bare = tokens.len() == 1;
        let in_group = self.host_lines(group);
        if let Some(&i) = in_group.iter().find(|&&i| self.name_of(i) == name) {
            let Kind::Host { tokens: old, .. } = &self.lines[i].kind else {
                unreachable!("host_lines returns host lines")
            };
            if bare || *old == tokens {
                return Ok(false);
            }
            let eol = text::eol_of(&self.lines[i].raw).to_string();
            self.lines[i] = host_line(spec.trim(), &eol)?;
            return Ok(true);
        }
        if let Some(&i) = in_group
            .iter()
            .find(|&&i| self.is_range_line(i) && self.holds(i, &name))
        {
            let Kind::Host { tokens: old, .. } = &self.lines[i].kind else {
                unreachable!("host_lines returns host lines")
            };
            if bare || old[1..] == tokens[1..] {
                return Ok(false);
            }
            let eol = text::eol_of(&self.lines[i].raw).to_string();
            let own = host_line(spec.trim(), &eol)?;
            let pieces = self.split_line(i, &name, Some(own))?;
            self.lines.splice(i..=i, pieces);
            return Ok(true);
        }
        if bare && hostrange::is_range(&name) {
            let held = |h: &String| in_group.iter().any(|&i| self.holds(i, h));
            let wanted =
                host_kind(&name).map_err(|m| Error::invalid(format!("host `{spec}`: {m}")))?;
            if let Kind::Host { hosts, .. } = wanted {
                if !hosts.is_empty() && hosts.iter().all(held) {
                    return Ok(false);
                }
            }
        }
        let def = if bare {
            self.definition_of(&name).unwrap_or(name)
        } else {
            spec.trim().to_string()
        };
        let eol = text::file_eol(&self.render()).to_string();
        let at = self.insertion_point(group, &eol);
        if at == self.lines.len() {
            self.terminate_last_line(&eol);
        }
        self.lines.insert(at, host_line(&def, &eol)?);
        Ok(true)
    }

    /// The first host line for `name` in any group, without its trailing comment; from a range
    /// line, the name with the range's variables.
    fn definition_of(&self, name: &str) -> Option<String> {
        (0..self.lines.len()).find_map(|i| {
            let l = &self.lines[i];
            match &l.kind {
                Kind::Host {
                    name: n, def_len, ..
                } if n == name => Some(l.raw[..*def_len].trim_start().to_string()),
                Kind::Host {
                    def_len, name_span, ..
                } if self.is_range_line(i) && self.holds(i, name) => {
                    Some(format!("{name}{}", &l.raw[name_span.1..*def_len]))
                }
                _ => None,
            }
        })
    }

    /// Line `i`'s range split around `host`: one line per remaining piece, each keeping the
    /// line's indentation, port and variables (its trailing comment stays on the first), and
    /// `own` where the host was (the first place, if the range holds it more than once).
    fn split_line(&self, i: usize, host: &str, mut own: Option<Line>) -> Result<Vec<Line>> {
        let l = &self.lines[i];
        let Kind::Host {
            name,
            def_len,
            name_span,
            ..
        } = &l.kind
        else {
            return Ok(vec![l.clone()]);
        };
        let (pattern, port) = hostrange::pattern_and_port(name).unwrap_or((name, ""));
        let pieces = hostrange::split_around(pattern, host)
            .map_err(Error::invalid)?
            .unwrap_or_default();
        let eol = text::eol_of(&l.raw);
        let (indent, vars, rest) = (
            &l.raw[..name_span.0],
            &l.raw[name_span.1..*def_len],
            &text::body_of(&l.raw)[*def_len..],
        );
        let mut out = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Host => out.extend(own.take()),
                Piece::Keep(p) => {
                    let comment = if out.is_empty() { rest } else { "" };
                    let raw = format!("{indent}{p}{port}{vars}{comment}{eol}");
                    let kind = host_kind(text::body_of(&raw)).map_err(Error::invalid)?;
                    out.push(Line { raw, kind });
                }
            }
        }
        Ok(out)
    }

    /// Where a new host line for `group` goes: after the last host line of the group's last
    /// section (so blank lines and comments introducing the next section stay with it), or
    /// in a new section appended to the file.
    fn insertion_point(&mut self, group: &str, eol: &str) -> usize {
        let header = (0..self.lines.len()).rev().find(|&i| {
            matches!(&self.lines[i].kind,
                Kind::Header { group: g, kind: SectionKind::Hosts } if g == group)
        });
        if let Some(h) = header {
            let groups = self.groups();
            let last_host = (h + 1..self.lines.len())
                .take_while(|&i| {
                    groups[i] == Some(group) && !matches!(self.lines[i].kind, Kind::Header { .. })
                })
                .filter(|&i| matches!(self.lines[i].kind, Kind::Host { .. }))
                .last();
            return last_host.unwrap_or(h) + 1;
        }
        self.terminate_last_line(eol);
        let ends_blank = self
            .lines
            .last()
            .is_none_or(|l| text::body_of(&l.raw).trim().is_empty());
        if !ends_blank {
            self.lines.push(Line {
                raw: eol.to_string(),
                kind: Kind::Other,
            });
        }
        self.lines.push(Line {
            raw: format!("[{group}]{eol}"),
            kind: Kind::Header {
                group: group.to_string(),
                kind: SectionKind::Hosts,
            },
        });
        self.lines.len()
    }

    /// Remove `host` from every `[group]` section: its own lines go, and a range that holds it
    /// is split around it. Returns whether it was there.
    pub fn remove_host(&mut self, group: &str, host: &str) -> bool {
        let held: Vec<usize> = self
            .host_lines(group)
            .into_iter()
            .filter(|&i| self.name_of(i) == host || self.holds(i, host))
            .collect();
        let doomed: Vec<usize> = held
            .iter()
            .copied()
            .filter(|&i| self.name_of(i) == host)
            .collect();
        self.carry_vars_over(host, &held);
        for &i in held.iter().rev() {
            if doomed.contains(&i) {
                self.lines.remove(i);
                continue;
            }
            // Pieces are sub-ranges of a pattern that already parsed, so splitting cannot
            // fail; if it somehow did, the line stays rather than losing its other hosts.
            if let Ok(pieces) = self.split_line(i, host, None) {
                self.lines.splice(i..=i, pieces);
            }
        }
        !held.is_empty()
    }

    /// In an INI inventory a host's variables apply wherever the host is listed, but they sit on
    /// one of its lines. When that line goes and the host stays in other groups only as a bare
    /// name, its first remaining line takes the definition over, so the host keeps its variables.
    /// (A range line's variables stay on its pieces, and a bare range line elsewhere cannot take
    /// one host's variables without giving them to the whole range, so neither carries over.)
    fn carry_vars_over(&mut self, host: &str, doomed: &[usize]) {
        let has_vars = |k: &Kind| matches!(k, Kind::Host { tokens, .. } if tokens.len() > 1);
        let Some(&from) = doomed
            .iter()
            .find(|&&i| has_vars(&self.lines[i].kind) && self.name_of(i) == host)
        else {
            return;
        };
        let others: Vec<usize> = (0..self.lines.len())
            .filter(|i| !doomed.contains(i) && self.holds(*i, host))
            .collect();
        if others.is_empty()
            || others.iter().any(|&i| has_vars(&self.lines[i].kind))
            || self.is_range_line(others[0])
        {
            return;
        }
        let (
            Kind::Host { def_len, .. },
            Kind::Host {
                def_len: to_len, ..
            },
        ) = (
            self.lines[from].kind.clone(),
            self.lines[others[0]].kind.clone(),
        )
        else {
            return;
        };
        let def = self.lines[from].raw[..def_len].to_string();
        let to = &mut self.lines[others[0]];
        let raw = format!("{def}{}", &to.raw[to_len..]);
        if let Ok(kind) = host_kind(text::body_of(&raw)) {
            to.raw = raw;
            to.kind = kind;
        }
    }

    pub fn render(&self) -> String {
        self.lines.iter().map(|l| l.raw.as_str()).collect()
    }

    fn terminate_last_line(&mut self, eol: &str) {
        if let Some(last) = self.lines.last_mut() {
            if text::eol_of(&last.raw).is_empty() {
                last.raw.push_str(eol);
            }
        }
    }
}

fn host_line(def: &str, eol: &str) -> Result<Line> {
    let kind = host_kind(def).map_err(|m| Error::invalid(format!("host `{def}`: {m}")))?;
    Ok(Line {
        raw: format!("{def}{eol}"),
        kind,
    })
}

/// A host line's definition (the line without its ending) as a `Kind::Host`, its range expanded.
fn host_kind(def: &str) -> std::result::Result<Kind, String> {
    let HostDef {
        name,
        tokens,
        def_len,
        name_span,
    } = parse_host(def)?;
    let hosts = match hostrange::pattern_and_port(&name) {
        Some((pattern, _port)) => hostrange::expand(pattern)?,
        None => vec![name.clone()],
    };
    Ok(Kind::Host {
        name,
        tokens,
        def_len,
        name_span,
        hosts,
    })
}

fn is_group_name(s: &str) -> bool {
    !s.is_empty() && !s.contains([':', ']']) && !s.chars().any(char::is_whitespace)
}

/// `[name]`, `[name:vars]` or `[name:children]`, optionally followed by a comment.
fn parse_header(body: &str) -> std::result::Result<(String, SectionKind), String> {
    let bad = || format!("invalid section header `{body}`");
    let inner_end = body.find(']').ok_or_else(bad)?;
    let after = body[inner_end + 1..].trim_start();
    if !after.is_empty() && !after.starts_with('#') {
        return Err(bad());
    }
    let inner = &body[1..inner_end];
    let (group, suffix) = match inner.split_once(':') {
        Some((g, s)) => (g, Some(s)),
        None => (inner, None),
    };
    if !is_group_name(group) {
        return Err(bad());
    }
    let kind = match suffix {
        None => SectionKind::Hosts,
        Some("vars") => SectionKind::Vars,
        Some("children") => SectionKind::Children,
        Some(other) => return Err(format!("section [{inner}] has unknown type `{other}`")),
    };
    Ok((group.to_string(), kind))
}

#[derive(Debug)]
struct HostDef {
    name: String,
    tokens: Vec<String>,
    def_len: usize,
    name_span: (usize, usize),
}

/// Split a host line like Python's `shlex.split(line, comments=True)`, as Ansible does, and
/// check that every token after the host name is `key=value`.
fn parse_host(def: &str) -> std::result::Result<HostDef, String> {
    let mut tokens = Vec::new();
    let mut cur: Option<String> = None;
    let mut end = 0;
    let mut name_span = (0, 0);
    let mut chars = def.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(t) = cur.take() {
                    if tokens.is_empty() {
                        name_span.1 = end;
                    }
                    tokens.push(t);
                }
                continue;
            }
            _ if cur.is_none() && tokens.is_empty() => {
                name_span.0 = at;
            }
            _ => {}
        }
        match c {
            '#' if cur.is_none() => break,
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, c)) => cur.get_or_insert_with(String::new).push(c),
                    None => return Err("unterminated single quote".into()),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) if c == '"' || c == '\\' => {
                            cur.get_or_insert_with(String::new).push(c)
                        }
                        Some((_, c)) => {
                            let t = cur.get_or_insert_with(String::new);
                            t.push('\\');
                            t.push(c);
                        }
                        None => return Err("unterminated double quote".into()),
                    },
                    Some((_, c)) => cur.get_or_insert_with(String::new).push(c),
                    None => return Err("unterminated double quote".into()),
                }
            },
            '\\' => match chars.next() {
                Some((_, c)) => cur.get_or_insert_with(String::new).push(c),
                None => return Err("backslash at end of line".into()),
            },
            c => cur.get_or_insert_with(String::new).push(c),
        }
        // Quotes may leave `cur` as None for an empty '' token; make it exist.
        cur.get_or_insert_with(String::new);
        end = chars.peek().map_or(def.len(), |&(j, _)| j);
    }
    if let Some(t) = cur.take() {
        if tokens.is_empty() {
            name_span.1 = end;
        }
        tokens.push(t);
    }
    let Some(name) = tokens.first().cloned() else {
        return Err("empty host definition".into());
    };
    if name.contains('=') {
        return Err(format!("`{name}` is not a host name"));
    }
    if let Some(bad) = tokens[1..].iter().find(|t| !t.contains('=')) {
        return Err(format!("expected key=value host variable, got `{bad}`"));
    }
    Ok(HostDef {
        name,
        tokens,
        def_len: end,
        name_span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lines_split_like_shlex() {
        let HostDef {
            name,
            tokens,
            def_len: end,
            name_span,
        } = parse_host("m0.example.com a=1 b='x y' c=\"q\\\"r\"  # comment").unwrap();
        assert_eq!(name_span, (0, "m0.example.com".len()));
        assert_eq!(name, "m0.example.com");
        assert_eq!(tokens, ["m0.example.com", "a=1", "b=x y", "c=q\"r"]);
        assert_eq!(end, "m0.example.com a=1 b='x y' c=\"q\\\"r\"".len());
        assert!(parse_host("h a='open")
            .unwrap_err()
            .contains("unterminated single quote"));
        assert!(parse_host("h novalue").unwrap_err().contains("key=value"));
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("[OSEv3:children]").unwrap(),
            ("OSEv3".into(), SectionKind::Children)
        );
        assert_eq!(
            parse_header("[etcd] # x").unwrap(),
            ("etcd".into(), SectionKind::Hosts)
        );
        assert!(parse_header("[etcd").is_err());
        assert!(parse_header("[etcd:bogus]")
            .unwrap_err()
            .contains("unknown type"));
    }

    #[test]
    fn removing_the_line_with_the_variables_keeps_them_on_the_host() {
        let text = "[masters]\nm3  # stays a master\n\n[etcd]\nm1 a=1\nm3 ip=10.0.0.3 x='y z'\n\n[nodes]\nm3\n";
        let mut inv = Inventory::parse(text).unwrap();
        assert!(inv.remove_host("etcd", "m3"));
        assert_eq!(
            inv.render(),
            "[masters]\nm3 ip=10.0.0.3 x='y z'  # stays a master\n\n[etcd]\nm1 a=1\n\n[nodes]\nm3\n"
        );
        // A host listed nowhere else simply goes, variables and all.
        let mut inv = Inventory::parse("[etcd]\nm1 a=1\nm9 b=2\n").unwrap();
        inv.remove_host("etcd", "m9");
        assert_eq!(inv.render(), "[etcd]\nm1 a=1\n");
    }
}
