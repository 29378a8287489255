//! iptables rules as text, the way `iptables -S` and iptables-save print them, and the plan of
//! `iptables` commands that opens (or closes) the ports. Pure: the live ruleset comes in as the
//! text of `iptables -S`, the plan goes out as argument lists, so all of it is unit-tested.

/// The filter table's built-in chains: always there, never declared with -N.
pub const BUILTIN_CHAINS: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];

/// Targets after which a packet goes no further: a jump placed after an unconditional one is
/// never reached.
const TERMINAL: [&str; 2] = ["REJECT", "DROP"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

/// What the task asks for: these ports of this protocol accepted in this chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub chain: String,
    pub protocol: String,
    pub ports: Vec<u16>,
    pub state: State,
}

impl Request {
    /// The rule openshift-ansible's os_firewall_manage_iptables writes, after `-A CHAIN`.
    pub fn port_rule(&self, port: u16) -> Vec<String> {
        let p = &self.protocol;
        words(&format!(
            "-p {p} -m state --state NEW -m {p} --dport {port} -j ACCEPT"
        ))
    }

    /// The jump from INPUT, after `-A INPUT`.
    pub fn jump_rule(&self) -> Vec<String> {
        vec!["-j".into(), self.chain.clone()]
    }

    /// `2379/tcp, 2380/tcp`, for messages.
    pub fn ports_text(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("{p}/{}", self.protocol))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// A rule line's words, split as iptables-restore splits them: on blanks, with double quotes
/// grouping (`--comment "a b"`) and `\"` a literal quote inside them.
pub fn split_rule(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unterminated double quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Whether two rule specs (the words after `-A CHAIN`) are the same rule. `-m conntrack
/// --ctstate` is how some tools write `-m state --state`; the kernel treats them alike, so a
/// port opened either way counts as open.
pub fn same_rule(a: &[String], b: &[String]) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(spec: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(spec.len());
    let mut i = 0;
    while i < spec.len() {
        let w = spec[i].as_str();
        if w == "-m" && spec.get(i + 1).map(String::as_str) == Some("conntrack") {
            out.extend(["-m", "state"]);
            i += 2;
            continue;
        }
        out.push(if w == "--ctstate" { "--state" } else { w });
        i += 1;
    }
    out
}

/// The target a rule jumps to (`-j X` or `-g X`), if any.
pub fn target(spec: &[String]) -> Option<&str> {
    spec.windows(2)
        .find(|w| w[0] == "-j" || w[0] == "-g" || w[0] == "--jump" || w[0] == "--goto")
        .map(|w| w[1].as_str())
}

/// A rule that drops or rejects everything it sees: only a target, no match.
pub fn is_unconditional_terminal(spec: &[String]) -> bool {
    match spec {
        [j, t, rest @ ..] if (j == "-j" || j == "--jump") && TERMINAL.contains(&t.as_str()) => {
            rest.is_empty() || (rest.len() == 2 && rest[0] == "--reject-with")
        }
        _ => false,
    }
}

/// Where the jump goes in a chain whose rules are `rules`, as openshift-ansible decides it:
/// before the last rule when that one REJECTs or DROPs (RHEL's default INPUT ends with a
/// REJECT), at the end otherwise. `Some(n)` is a 1-based `-I` position, `None` is `-A`.
pub fn jump_position(rules: &[&[String]]) -> Option<usize> {
    match rules.last() {
        Some(last) if matches!(target(last), Some(t) if TERMINAL.contains(&t)) => Some(rules.len()),
        _ => None,
    }
}

/// The filter table as `iptables -S` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Built-in chain and its policy, from `-P`.
    pub policies: Vec<(String, String)>,
    /// User-defined chains, from `-N`.
    pub chains: Vec<String>,
    /// Chain and rule spec, from `-A`, in order.
    pub rules: Vec<(String, Vec<String>)>,
}

impl Ruleset {
    pub fn parse(text: &str) -> Result<Ruleset, String> {
        let mut rs = Ruleset::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_rule(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            let bad = || format!("line {}: unexpected `{line}`", n + 1);
            match words.first().map(String::as_str) {
                Some("-P") if words.len() == 3 => {
                    rs.policies.push((words[1].clone(), words[2].clone()));
                }
                Some("-N") if words.len() == 2 => rs.chains.push(words[1].clone()),
                Some("-A") if words.len() >= 2 => {
                    rs.rules.push((words[1].clone(), words[2..].to_vec()));
                }
                _ => return Err(bad()),
            }
        }
        Ok(rs)
    }

    pub fn has_chain(&self, chain: &str) -> bool {
        BUILTIN_CHAINS.contains(&chain) || self.chains.iter().any(|c| c == chain)
    }

    pub fn chain_rules<'a>(&'a self, chain: &'a str) -> impl Iterator<Item = &'a [String]> + 'a {
        self.rules
            .iter()
            .filter(move |(c, _)| c == chain)
            .map(|(_, r)| r.as_slice())
    }

    pub fn policy(&self, chain: &str) -> Option<&str> {
        self.policies
            .iter()
            .find(|(c, _)| c == chain)
            .map(|(_, p)| p.as_str())
    }

    /// INPUT accepts everything: no rule in it and policy ACCEPT. Nothing filters what comes
    /// in, so there is nothing to open.
    pub fn input_filters_nothing(&self) -> bool {
        self.chain_rules("INPUT").next().is_none()
            && self.policy("INPUT").unwrap_or("ACCEPT") == "ACCEPT"
    }
}

/// The `iptables` arguments (after the binary) that bring the live ruleset to the request, and
/// what they do in words; empty when nothing is to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LivePlan {
    pub commands: Vec<Vec<String>>,
    pub created_chain: bool,
    pub added_jump: bool,
    pub added: Vec<u16>,
    pub removed: Vec<u16>,
    pub warnings: Vec<String>,
}

/// `-w`: wait for the xtables lock instead of failing when kube-proxy or docker holds it.
fn cmd(parts: &[&str], spec: &[String]) -> Vec<String> {
    let mut v: Vec<String> = std::iter::once("-w")
        .chain(parts.iter().copied())
        .map(str::to_string)
        .collect();
    v.extend(spec.iter().cloned());
    v
}

pub fn plan_live(rs: &Ruleset, req: &Request) -> LivePlan {
    let mut plan = LivePlan::default();
    let chain = req.chain.as_str();
    match req.state {
        State::Present => {
            if !rs.has_chain(chain) {
                plan.commands.push(cmd(&["-N", chain], &[]));
                plan.created_chain = true;
            }
            let jump = req.jump_rule();
            let input: Vec<&[String]> = rs.chain_rules("INPUT").collect();
            match input.iter().position(|r| same_rule(r, &jump)) {
                Some(at) => {
                    if let Some(blocker) = input[..at]
                        .iter()
                        .position(|r| is_unconditional_terminal(r))
                    {
                        plan.warnings.push(format!(
                            "the jump to {chain} is rule {} of INPUT, after rule {} (`{}`), which \
                             rejects everything: the ports are not reachable until the jump is moved before it",
                            at + 1,
                            blocker + 1,
                            input[blocker].join(" ")
                        ));
                    }
                }
                None => {
                    let c = match jump_position(&input) {
                        Some(n) => cmd(&["-I", "INPUT", &n.to_string()], &jump),
                        None => cmd(&["-A", "INPUT"], &jump),
                    };
                    plan.commands.push(c);
                    plan.added_jump = true;
                }
            }
            let existing: Vec<&[String]> = rs.chain_rules(chain).collect();
            for &port in &req.ports {
                let rule = req.port_rule(port);
                if !existing.iter().any(|r| same_rule(r, &rule)) {
                    plan.commands.push(cmd(&["-A", chain], &rule));
                    plan.added.push(port);
                }
            }
        }
        State::Absent => {
            for &port in &req.ports {
                let rule = req.port_rule(port);
                // Each copy, by its own words: -D with the words it was listed with deletes it.
                for r in rs.chain_rules(chain).filter(|r| same_rule(r, &rule)) {
                    plan.commands.push(cmd(&["-D", chain], r));
                    if !plan.removed.contains(&port) {
                        plan.removed.push(port);
                    }
                }
            }
        }
    }
    plan
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

    fn joined(plan: &LivePlan) -> Vec<String> {
        plan.commands.iter().map(|c| c.join(" ")).collect()
    }

    const RHEL7: &str = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n\
        -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p icmp -j ACCEPT\n\
        -A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT\n\
        -A INPUT -j REJECT --reject-with icmp-host-prohibited\n\
        -A FORWARD -j REJECT --reject-with icmp-host-prohibited\n";

    #[test]
    fn split_rule_groups_quotes() {
        assert_eq!(
            split_rule(r#"-A INPUT -m comment --comment "kube \"x\" y" -j KUBE"#).unwrap(),
            [
                "-A",
                "INPUT",
                "-m",
                "comment",
                "--comment",
                "kube \"x\" y",
                "-j",
                "KUBE"
            ]
        );
        assert_eq!(split_rule(r#"--comment """#).unwrap(), ["--comment", ""]);
        assert!(split_rule(r#"-m comment --comment "open"#).is_err());
    }

    #[test]
    fn on_rhel7_defaults_the_jump_goes_before_the_reject() {
        let rs = Ruleset::parse(RHEL7).unwrap();
        let plan = plan_live(&rs, &req(State::Present));
        assert_eq!(
            joined(&plan),
            [
                "-w -N OS_FIREWALL_ALLOW",
                "-w -I INPUT 5 -j OS_FIREWALL_ALLOW",
                "-w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT",
                "-w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT",
            ]
        );
        assert!(plan.created_chain && plan.added_jump);
        assert_eq!(plan.added, [2379, 2380]);
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn an_empty_input_gets_the_jump_appended() {
        let rs = Ruleset::parse("-P INPUT DROP\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n").unwrap();
        assert!(!rs.input_filters_nothing(), "policy DROP filters");
        let plan = plan_live(&rs, &req(State::Present));
        assert_eq!(joined(&plan)[1], "-w -A INPUT -j OS_FIREWALL_ALLOW");
        let open =
            Ruleset::parse("-P INPUT ACCEPT\n-P FORWARD DROP\n-A FORWARD -j DOCKER\n-N DOCKER\n")
                .unwrap();
        assert!(open.input_filters_nothing());
    }

    #[test]
    fn only_what_is_missing_is_planned() {
        let text = format!(
            "{RHEL7}-N OS_FIREWALL_ALLOW\n-A INPUT -j OS_FIREWALL_ALLOW\n\
             -A OS_FIREWALL_ALLOW -p tcp -m conntrack --ctstate NEW -m tcp --dport 2379 -j ACCEPT\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 10250 -j ACCEPT\n"
        );
        let rs = Ruleset::parse(&text).unwrap();
        let plan = plan_live(&rs, &req(State::Present));
        assert_eq!(
            joined(&plan),
            ["-w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT"]
        );
        assert!(!plan.created_chain && !plan.added_jump);
        // The jump sits after the REJECT here (appended at the end of a RHEL INPUT): said, not moved.
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        assert!(
            plan.warnings[0].contains("rule 6 of INPUT, after rule 5"),
            "{}",
            plan.warnings[0]
        );

        let text = format!("{text}-A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\n");
        assert_eq!(
            plan_live(&Ruleset::parse(&text).unwrap(), &req(State::Present)),
            LivePlan {
                warnings: plan.warnings.clone(),
                ..LivePlan::default()
            }
        );
    }

    #[test]
    fn absent_deletes_each_copy_by_its_own_words_and_keeps_the_chain() {
        let text = "-P INPUT ACCEPT\n-N OS_FIREWALL_ALLOW\n-A INPUT -j OS_FIREWALL_ALLOW\n\
             -A OS_FIREWALL_ALLOW -p tcp -m conntrack --ctstate NEW -m tcp --dport 2379 -j ACCEPT\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n\
             -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 443 -j ACCEPT\n\
             -A INPUT -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\n";
        let plan = plan_live(&Ruleset::parse(text).unwrap(), &req(State::Absent));
        assert_eq!(
            joined(&plan),
            [
                "-w -D OS_FIREWALL_ALLOW -p tcp -m conntrack --ctstate NEW -m tcp --dport 2379 -j ACCEPT",
                "-w -D OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT",
            ]
        );
        assert_eq!(plan.removed, [2379]);
        let none = plan_live(
            &Ruleset::parse("-P INPUT ACCEPT\n").unwrap(),
            &req(State::Absent),
        );
        assert!(none.commands.is_empty());
    }

    #[test]
    fn udp_and_other_chains() {
        let r = Request {
            chain: "ETCD".into(),
            protocol: "udp".into(),
            ports: vec![53],
            state: State::Present,
        };
        assert_eq!(
            r.port_rule(53).join(" "),
            "-p udp -m state --state NEW -m udp --dport 53 -j ACCEPT"
        );
        assert_eq!(r.ports_text(), "53/udp");
    }

    #[test]
    fn unexpected_listing_is_an_error_with_its_line() {
        assert_eq!(
            Ruleset::parse("-P INPUT ACCEPT\nChain INPUT (policy ACCEPT)\n").unwrap_err(),
            "line 2: unexpected `Chain INPUT (policy ACCEPT)`"
        );
    }

    #[test]
    fn terminal_rules() {
        let w = |s: &str| words(s);
        assert!(is_unconditional_terminal(&w(
            "-j REJECT --reject-with icmp-host-prohibited"
        )));
        assert!(is_unconditional_terminal(&w("-j DROP")));
        assert!(!is_unconditional_terminal(&w("-p tcp -j DROP")));
        assert!(!is_unconditional_terminal(&w("-j DROP -s 10.0.0.1")));
        assert!(!is_unconditional_terminal(&w("-j ACCEPT")));
        assert_eq!(
            jump_position(&[&w("-j ACCEPT"), &w("-p icmp -j DROP")]),
            Some(2)
        );
        assert_eq!(jump_position(&[&w("-j ACCEPT")]), None);
        assert_eq!(jump_position(&[]), None);
    }
}
