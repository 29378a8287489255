//! /etc/sysconfig/iptables, the file iptables-services restores at boot, as iptables-save
//! writes it: `*table`, `:CHAIN POLICY [packets:bytes]` declarations, `-A CHAIN ...` rules,
//! `COMMIT`, comments. Only lines of the `*filter` table are added or removed; every other byte
//! stays. A file iptables-restore would reject (or that is not such a file at all) is refused,
//! since rewriting it would either make it worse or hide what is wrong with it.

use crate::rules::{jump_position, same_rule, split_rule, Request, State, BUILTIN_CHAINS};
use confedit::text::{body_of, decode, file_eol, split_lines};
use confedit::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Comment or blank.
    Other,
    Table(String),
    Chain(String),
    /// `-A CHAIN spec...`; `counters` when it starts with `[packets:bytes]` (iptables-save -c).
    Rule {
        chain: String,
        spec: Vec<String>,
        counters: bool,
    },
    /// Any other iptables command line (`-I`, `-N`, ...): iptables-restore takes them; kept as is.
    Command,
    Commit,
}

struct Line<'a> {
    text: &'a str,
    kind: Kind,
}

/// A parsed, valid saved file: its lines and where its `*filter` table is.
pub struct SavedFile<'a> {
    lines: Vec<Line<'a>>,
    /// Index of the `*filter` line and of its `COMMIT`.
    filter: (usize, usize),
    eol: &'static str,
}

impl<'a> SavedFile<'a> {
    pub fn parse(text: &'a str) -> Result<SavedFile<'a>> {
        let mut lines = Vec::new();
        let mut open: Option<(usize, String, Vec<String>)> = None;
        let mut filter: Option<(usize, usize)> = None;
        let mut filter_start: Option<usize> = None;
        for (i, raw) in split_lines(text).into_iter().enumerate() {
            let n = i + 1;
            let body = body_of(raw).trim();
            let kind = if body.is_empty() || body.starts_with('#') {
                Kind::Other
            } else if let Some(name) = body.strip_prefix('*') {
                if let Some((at, t, _)) = &open {
                    return Err(Error::parse(
                        n,
                        format!("*{name} starts before *{t} (line {at}) has its COMMIT"),
                    ));
                }
                if !name.chars().all(|c| c.is_ascii_lowercase()) || name.is_empty() {
                    return Err(Error::parse(n, format!("`{body}` is not a table name")));
                }
                if name == "filter" {
                    if filter_start.is_some() || filter.is_some() {
                        return Err(Error::parse(n, "a second *filter table"));
                    }
                    filter_start = Some(i);
                }
                open = Some((n, name.to_string(), Vec::new()));
                Kind::Table(name.to_string())
            } else {
                let Some((_, table, declared)) = open.as_mut() else {
                    return Err(Error::parse(
                        n,
                        format!("`{body}` is outside a table (no *filter, *nat, ... before it)"),
                    ));
                };
                if body == "COMMIT" {
                    if table == "filter" {
                        filter = Some((filter_start.unwrap_or(0), i));
                    }
                    open = None;
                    Kind::Commit
                } else if let Some(decl) = body.strip_prefix(':') {
                    let words: Vec<&str> = decl.split_whitespace().collect();
                    let counters_ok = words.get(2).is_none_or(|c| is_counters(c));
                    if !(2..=3).contains(&words.len()) || !counters_ok {
                        return Err(Error::parse(
                            n,
                            format!("`{body}` is not a chain line (:NAME POLICY [packets:bytes])"),
                        ));
                    }
                    declared.push(words[0].to_string());
                    Kind::Chain(words[0].to_string())
                } else {
                    let (counters, rest) = match body.split_once(' ') {
                        Some((c, rest)) if is_counters(c) => (true, rest.trim_start()),
                        _ => (false, body),
                    };
                    let words = split_rule(rest).map_err(|e| Error::parse(n, e))?;
                    match words.first().map(String::as_str) {
                        Some("-A" | "--append") if words.len() >= 3 => {
                            let chain = words[1].clone();
                            let builtin_here =
                                table != "filter" || BUILTIN_CHAINS.contains(&chain.as_str());
                            if !builtin_here && !declared.contains(&chain) {
                                return Err(Error::parse(n, format!("rule for chain {chain}, which has no :{chain} line above it")));
                            }
                            Kind::Rule {
                                chain,
                                spec: words[2..].to_vec(),
                                counters,
                            }
                        }
                        Some(w) if w.starts_with('-') && w.len() > 1 => Kind::Command,
                        _ => {
                            return Err(Error::parse(
                                n,
                                format!("`{body}` is not an iptables-save line"),
                            ))
                        }
                    }
                }
            };
            lines.push(Line { text: raw, kind });
        }
        if let Some((at, t, _)) = open {
            return Err(Error::parse(at, format!("*{t} has no COMMIT")));
        }
        let filter = filter
            .ok_or_else(|| Error::invalid("no *filter table: not a saved iptables ruleset"))?;
        Ok(SavedFile {
            lines,
            filter,
            eol: file_eol(text),
        })
    }

    /// Indices of the filter table's lines, `*filter` and COMMIT excluded.
    fn body(&self) -> std::ops::Range<usize> {
        self.filter.0 + 1..self.filter.1
    }

    fn rules_of<'s>(&'s self, chain: &'s str) -> impl Iterator<Item = (usize, &'s [String])> + 's {
        self.body().filter_map(move |i| match &self.lines[i].kind {
            Kind::Rule { chain: c, spec, .. } if c == chain => Some((i, spec.as_slice())),
            _ => None,
        })
    }

    fn declares(&self, chain: &str) -> bool {
        BUILTIN_CHAINS.contains(&chain)
            || self
                .body()
                .any(|i| self.lines[i].kind == Kind::Chain(chain.to_string()))
    }

    /// The file with the request applied; the same text when nothing needs changing.
    pub fn edit(&self, req: &Request) -> String {
        // (before line index, text): inserted in the order pushed when they share a place.
        let mut inserts: Vec<(usize, String)> = Vec::new();
        let mut dropped: Vec<usize> = Vec::new();
        let body = self.body();
        let chain = req.chain.as_str();
        let counters = body
            .clone()
            .any(|i| matches!(self.lines[i].kind, Kind::Rule { counters: true, .. }));
        let rule_line = |on: &str, spec: &[String]| {
            let prefix = if counters { "[0:0] " } else { "" };
            format!("{prefix}-A {on} {}", spec.join(" "))
        };
        match req.state {
            State::Present => {
                if !self.declares(chain) {
                    let after = body
                        .clone()
                        .rfind(|&i| matches!(self.lines[i].kind, Kind::Chain(_)))
                        .unwrap_or(self.filter.0);
                    inserts.push((after + 1, format!(":{chain} - [0:0]")));
                }
                let jump = req.jump_rule();
                let input: Vec<(usize, &[String])> = self.rules_of("INPUT").collect();
                if !input.iter().any(|(_, r)| same_rule(r, &jump)) {
                    let specs: Vec<&[String]> = input.iter().map(|(_, r)| *r).collect();
                    let at = match (jump_position(&specs), input.last()) {
                        (Some(n), _) => input[n - 1].0,
                        (None, Some((last, _))) => last + 1,
                        // No INPUT rule yet: INPUT's rules come first in iptables-save's order.
                        (None, None) => body
                            .clone()
                            .find(|&i| {
                                matches!(self.lines[i].kind, Kind::Rule { .. } | Kind::Command)
                            })
                            .unwrap_or(self.filter.1),
                    };
                    inserts.push((at, rule_line("INPUT", &jump)));
                }
                let existing: Vec<(usize, &[String])> = self.rules_of(chain).collect();
                let at = existing.last().map_or(self.filter.1, |(i, _)| i + 1);
                for &port in &req.ports {
                    let rule = req.port_rule(port);
                    if !existing.iter().any(|(_, r)| same_rule(r, &rule)) {
                        inserts.push((at, rule_line(chain, &rule)));
                    }
                }
            }
            State::Absent => {
                for &port in &req.ports {
                    let rule = req.port_rule(port);
                    dropped.extend(
                        self.rules_of(chain)
                            .filter(|(_, r)| same_rule(r, &rule))
                            .map(|(i, _)| i),
                    );
                }
            }
        }
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            for (_, text) in inserts.iter().filter(|(at, _)| *at == i) {
                out.push_str(text);
                out.push_str(self.eol);
            }
            if !dropped.contains(&i) {
                out.push_str(line.text);
            }
        }
        out
    }
}

fn is_counters(w: &str) -> bool {
    w.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.split_once(':'))
        .is_some_and(|(p, b)| {
            !p.is_empty()
                && !b.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        })
}

/// Validation for confedit: the text is a saved ruleset this module can edit.
pub fn validate(text: &str) -> Result<()> {
    SavedFile::parse(text).map(|_| ())
}

/// Read bytes as text (UTF-8, no NUL), parse and edit: the new text, or why the file is refused.
pub fn edit_bytes(bytes: &[u8], req: &Request) -> Result<(String, String)> {
    let text = decode(bytes)?;
    let parsed = SavedFile::parse(text)?;
    let after = parsed.edit(req);
    validate(&after)?;
    Ok((text.to_string(), after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(state: State) -> Request {
        Request {
            chain: "OS_FIREWALL_ALLOW".into(),
            protocol: "tcp".into(),
            ports: vec![2379, 2380],
            state,
        }
    }

    fn edit(text: &str, state: State) -> String {
        SavedFile::parse(text).unwrap().edit(&req(state))
    }

    const RHEL7: &str = include_str!("../tests/fixtures/iptables-rhel7");
    const OPENSHIFT: &str = include_str!("../tests/fixtures/iptables-openshift");
    const R2379: &str =
        "-A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n";
    const R2380: &str =
        "-A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\n";

    /// Replace exactly one occurrence, so a golden expectation cannot silently miss.
    fn once(text: &str, from: &str, to: &str) -> String {
        assert_eq!(text.matches(from).count(), 1, "expected one {from:?}");
        text.replacen(from, to, 1)
    }

    #[test]
    fn golden_rhel7_default_gets_chain_jump_before_the_reject_and_rules_before_commit() {
        let after = edit(RHEL7, State::Present);
        let want = once(
            RHEL7,
            ":OUTPUT ACCEPT [0:0]\n",
            ":OUTPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n",
        );
        let want = once(
            &want,
            "-A INPUT -j REJECT",
            "-A INPUT -j OS_FIREWALL_ALLOW\n-A INPUT -j REJECT",
        );
        let want = once(&want, "COMMIT\n", &format!("{R2379}{R2380}COMMIT\n"));
        assert_eq!(after, want);
        assert_eq!(
            edit(&after, State::Present),
            after,
            "second edit changes nothing"
        );
        // absent takes the port rules out again; chain and jump stay (other ports may use them).
        let closed = edit(&after, State::Absent);
        assert_eq!(closed, once(&after, &format!("{R2379}{R2380}"), ""));
        assert_eq!(edit(RHEL7, State::Absent), RHEL7);
    }

    #[test]
    fn golden_openshift_node_gets_two_rules_after_its_other_ports_and_nothing_else() {
        let after = edit(OPENSHIFT, State::Present);
        let last =
            "-A OS_FIREWALL_ALLOW -p udp -m state --state NEW -m udp --dport 8053 -j ACCEPT\n";
        assert_eq!(
            after,
            once(OPENSHIFT, last, &format!("{last}{R2379}{R2380}"))
        );
        assert_eq!(edit(&after, State::Present), after);
        assert_eq!(
            edit(&after, State::Absent),
            OPENSHIFT,
            "absent gives back the file byte for byte"
        );
    }

    #[test]
    fn empty_filter_table_gets_chain_jump_and_rules_before_commit() {
        let text =
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        assert_eq!(
            edit(text, State::Present),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             :OS_FIREWALL_ALLOW - [0:0]\n-A INPUT -j OS_FIREWALL_ALLOW\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\nCOMMIT\n"
        );
    }

    #[test]
    fn jump_without_input_rules_goes_before_the_other_chains_rules() {
        let text =
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n";
        assert_eq!(
            edit(text, State::Present),
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n\
             -A INPUT -j OS_FIREWALL_ALLOW\n-A FORWARD -j ACCEPT\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\nCOMMIT\n"
        );
    }

    #[test]
    fn counters_crlf_and_a_last_line_without_newline_are_kept() {
        let text = "*filter\r\n:INPUT ACCEPT [5:300]\r\n[5:300] -A INPUT -i lo -j ACCEPT\r\nCOMMIT";
        assert_eq!(
            edit(text, State::Present),
            "*filter\r\n:INPUT ACCEPT [5:300]\r\n:OS_FIREWALL_ALLOW - [0:0]\r\n\
             [5:300] -A INPUT -i lo -j ACCEPT\r\n[0:0] -A INPUT -j OS_FIREWALL_ALLOW\r\n\
             [0:0] -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\r\n\
             [0:0] -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\r\nCOMMIT"
        );
    }

    #[test]
    fn only_the_filter_table_is_touched() {
        let text = "*nat\n:INPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n-A INPUT -j OS_FIREWALL_ALLOW\n\
                    -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\nCOMMIT\n\
                    *filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
        let after = edit(text, State::Present);
        assert_eq!(
            after,
            text.replace(
                "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
                "*filter\n:INPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n-A INPUT -j OS_FIREWALL_ALLOW\n\
                 -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n\
                 -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\nCOMMIT\n"
            )
        );
        assert_eq!(edit(&after, State::Present), after, "idempotent");
        assert_eq!(
            edit(text, State::Absent),
            text,
            "the nat rule is not ours to remove"
        );
    }

    #[test]
    fn absent_removes_only_the_port_rules() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n-A INPUT -j OS_FIREWALL_ALLOW\n\
                    -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n\
                    -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 443 -j ACCEPT\n\
                    -A OS_FIREWALL_ALLOW -p tcp -m conntrack --ctstate NEW -m tcp --dport 2380 -j ACCEPT\nCOMMIT\n";
        assert_eq!(
            edit(text, State::Absent),
            "*filter\n:INPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n-A INPUT -j OS_FIREWALL_ALLOW\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 443 -j ACCEPT\nCOMMIT\n"
        );
        assert_eq!(
            edit(text, State::Present),
            text,
            "already open (conntrack spelling counts)"
        );
    }

    #[test]
    fn malformed_files_are_refused_with_the_line() {
        let cases = [
            ("", "no *filter table: not a saved iptables ruleset"),
            (
                "# only a comment\n",
                "no *filter table: not a saved iptables ruleset",
            ),
            (
                "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n",
                "no *filter table: not a saved iptables ruleset",
            ),
            (
                "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n",
                "line 1: *filter has no COMMIT",
            ),
            (
                "-A INPUT -j ACCEPT\n*filter\nCOMMIT\n",
                "line 1: `-A INPUT -j ACCEPT` is outside a table (no *filter, *nat, ... before it)",
            ),
            (
                "*filter\n*nat\nCOMMIT\n",
                "line 2: *nat starts before *filter (line 1) has its COMMIT",
            ),
            (
                "*filter\nhello world\nCOMMIT\n",
                "line 2: `hello world` is not an iptables-save line",
            ),
            (
                "*filter\n:INPUT\nCOMMIT\n",
                "line 2: `:INPUT` is not a chain line (:NAME POLICY [packets:bytes])",
            ),
            (
                "*filter\n:INPUT ACCEPT [x]\nCOMMIT\n",
                "line 2: `:INPUT ACCEPT [x]` is not a chain line (:NAME POLICY [packets:bytes])",
            ),
            (
                "*filter\n-A X -j ACCEPT\nCOMMIT\n",
                "line 2: rule for chain X, which has no :X line above it",
            ),
            (
                "*filter\n-A INPUT -m comment --comment \"x -j ACCEPT\nCOMMIT\n",
                "line 2: unterminated double quote",
            ),
            (
                "*filter\nCOMMIT\n*filter\nCOMMIT\n",
                "line 3: a second *filter table",
            ),
            ("*Filter\nCOMMIT\n", "line 1: `*Filter` is not a table name"),
        ];
        for (text, want) in cases {
            let got = SavedFile::parse(text).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), Some(want), "{text:?}");
        }
        let garbage = b"*filter\n\x7fELF\x02\x01\x00\xff\nCOMMIT\n";
        assert_eq!(
            edit_bytes(garbage, &req(State::Present))
                .unwrap_err()
                .to_string(),
            "line 2: invalid UTF-8: this is not a text file"
        );
    }
}
