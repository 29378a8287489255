//! Deciding a membership change before making it: which member a request means, whether the
//! change is needed, and whether it is safe. Pure, so every guard rail is unit-tested with
//! the arithmetic it states.

use crate::cluster::ClusterView;
use crate::member::{id_hex, MemberInfo};
use crate::quorum::quorum_size;
use crate::version::has_learners;
use std::collections::BTreeSet;

/// What kind of refusal a plan is: what a caller may branch on (wait, retry, report), never on
/// the message's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// No change can commit: too few healthy voting members.
    QuorumLost,
    /// The peer URL belongs to another started member.
    PeerUrlTaken,
    /// A learner asked for where some member runs etcd < 3.4.
    LearnersUnsupported,
    /// A member was added but never started, and already counts toward quorum.
    UnstartedMember,
    /// A learner is not promoted yet; etcd takes one at a time.
    LearnerPending,
    /// A voting add whose failed start would lose quorum.
    VotingAddRisksQuorum,
    /// Removing the last member.
    LastMember,
    /// A removal that would leave fewer healthy voting members than quorum.
    RemoveLosesQuorum,
    /// No member matches what was asked for.
    NoSuchMember,
    /// The learner to promote has not started (it may be starting now).
    LearnerNotStarted,
}

/// A refused membership change: its kind and the operator's message, which states the
/// arithmetic and what to do; the message is its Display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

impl Refusal {
    pub fn new(kind: RefusalKind, message: String) -> Refusal {
        Refusal { kind, message }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

/// The facts a plan depends on.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub members: Vec<MemberInfo>,
    /// Ids of members whose endpoint passed a linearizable read.
    pub healthy: BTreeSet<u64>,
    /// etcd versions the reachable members report.
    pub versions: Vec<String>,
}

impl From<&ClusterView> for Cluster {
    fn from(v: &ClusterView) -> Cluster {
        Cluster {
            members: v.members.clone(),
            healthy: v
                .endpoints
                .iter()
                .filter(|e| e.healthy)
                .filter_map(|e| e.id)
                .collect(),
            versions: v
                .endpoints
                .iter()
                .filter_map(|e| e.version.clone())
                .collect(),
        }
    }
}

impl Cluster {
    pub fn voting(&self) -> usize {
        self.members.iter().filter(|m| !m.is_learner).count()
    }
    pub fn healthy_voting(&self) -> usize {
        self.members
            .iter()
            .filter(|m| !m.is_learner && self.healthy.contains(&m.raw_id))
            .count()
    }
    pub fn has_quorum(&self) -> bool {
        self.voting() > 0 && self.healthy_voting() >= quorum_size(self.voting())
    }
    /// Learners exist from etcd 3.4 on; an older member would not understand one.
    pub fn supports_learners(&self) -> bool {
        !self.versions.is_empty() && self.versions.iter().all(|v| has_learners(v))
    }

    /// The distinct versions the reachable members report, for messages.
    pub fn version_list(&self) -> String {
        let v: BTreeSet<&str> = self.versions.iter().map(String::as_str).collect();
        if v.is_empty() {
            "no version (no member answered)".into()
        } else {
            v.into_iter().collect::<Vec<_>>().join(", ")
        }
    }

    /// Refuses any change while quorum is lost: etcd would not commit it, and waiting for it
    /// would only hang the play.
    fn require_quorum(&self) -> Result<(), Refusal> {
        if self.has_quorum() {
            return Ok(());
        }
        Err(Refusal::new(
            RefusalKind::QuorumLost,
            format!(
                "quorum is lost ({} of {} voting members healthy, {} needed): membership cannot \
             change until quorum is restored (playbooks/restore-quorum.yml)",
                self.healthy_voting(),
                self.voting(),
                quorum_size(self.voting())
            ),
        ))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Already as asked.
    Unchanged(MemberInfo),
    Add {
        learner: bool,
    },
    /// Same member, other peer URLs (the `http://localhost:2380` a restore leaves).
    Update {
        member: MemberInfo,
        peer_urls: Vec<String>,
    },
    Promote(MemberInfo),
    Remove(MemberInfo),
    /// Nothing to remove.
    Absent,
}

/// What identifies the member a task means.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub name: Option<String>,
    pub peer_urls: Vec<String>,
    pub id: Option<u64>,
}

impl Selector {
    /// Peer URL first (an unstarted member has no name), then id, then name.
    pub fn find<'a>(&self, members: &'a [MemberInfo]) -> Option<&'a MemberInfo> {
        members
            .iter()
            .find(|m| m.peer_urls.iter().any(|u| self.peer_urls.contains(u)))
            .or_else(|| {
                self.id
                    .and_then(|id| members.iter().find(|m| m.raw_id == id))
            })
            .or_else(|| {
                let name = self.name.as_deref().filter(|n| !n.is_empty())?;
                members.iter().find(|m| m.name == name)
            })
    }

    pub fn describe(&self) -> String {
        match (&self.name, self.peer_urls.first(), self.id) {
            (Some(n), Some(u), _) => format!("{n} ({u})"),
            (Some(n), None, _) => n.clone(),
            (None, Some(u), _) => u.clone(),
            (None, None, Some(id)) => id_hex(id),
            (None, None, None) => "<no member named>".into(),
        }
    }
}

fn label(m: &MemberInfo) -> String {
    if m.name.is_empty() {
        format!("unstarted member {} ({})", m.id, m.peer_urls.join(","))
    } else {
        format!("{} ({})", m.name, m.id)
    }
}

pub fn plan_present(
    c: &Cluster,
    want: &Selector,
    learner: Option<bool>,
    force: bool,
) -> Result<Plan, Refusal> {
    let name = want.name.clone().unwrap_or_default();
    let by_url = c
        .members
        .iter()
        .find(|m| m.peer_urls.iter().any(|u| want.peer_urls.contains(u)));
    if let Some(m) = by_url {
        if m.started && !name.is_empty() && m.name != name {
            return Err(Refusal::new(
                RefusalKind::PeerUrlTaken,
                format!(
                    "peer URL {} is already registered to started member {}: remove that member \
                 first or use another peer URL",
                    want.peer_urls.join(","),
                    label(m)
                ),
            ));
        }
        if same_set(&m.peer_urls, &want.peer_urls) {
            return Ok(Plan::Unchanged(m.clone()));
        }
        c.require_quorum()?;
        return Ok(Plan::Update {
            member: m.clone(),
            peer_urls: want.peer_urls.clone(),
        });
    }
    if let Some(m) = c
        .members
        .iter()
        .find(|m| !name.is_empty() && m.name == name)
    {
        c.require_quorum()?;
        return Ok(Plan::Update {
            member: m.clone(),
            peer_urls: want.peer_urls.clone(),
        });
    }

    c.require_quorum()?;
    let learner = learner.unwrap_or_else(|| c.supports_learners());
    // Not even with force: an etcd < 3.4 ignores the learner flag it does not know and adds a
    // voting member, the very thing a learner add is meant to avoid.
    if learner && !c.supports_learners() {
        return Err(Refusal::new(
            RefusalKind::LearnersUnsupported,
            format!(
                "refusing to add {name} as a learner: learners need etcd >= 3.4 on every member, \
             and the members report {}; an older etcd would silently add a voting member \
             (learner: false adds a voting member deliberately)",
                c.version_list()
            ),
        ));
    }
    if !force {
        check_add(c, &name, learner)?;
    }
    Ok(Plan::Add { learner })
}

/// Pitfalls 1 and 5 of the field notes (docs/procedures.md): one pending member at a time, and
/// never a voting add whose failed start would cost quorum.
fn check_add(c: &Cluster, name: &str, learner: bool) -> Result<(), Refusal> {
    if let Some(p) = c.members.iter().find(|m| !m.started) {
        return Err(Refusal::new(
            RefusalKind::UnstartedMember,
            format!(
                "refusing to add {name}: {} was added but never started, and it already counts \
             toward quorum; start it or remove it first (force: true overrides)",
                label(p)
            ),
        ));
    }
    if let Some(l) = c.members.iter().find(|m| m.is_learner) {
        return Err(Refusal::new(
            RefusalKind::LearnerPending,
            format!(
                "refusing to add {name}: learner {} is not promoted yet; etcd takes one learner \
             at a time, so promote or remove it first (force: true overrides)",
                label(l)
            ),
        ));
    }
    if !learner && !c.supports_learners() {
        return check_voting_add_without_learners(c, name);
    }
    if !learner {
        let after = c.voting() + 1;
        let healthy = c.healthy_voting();
        let needed = quorum_size(after);
        if healthy < needed {
            return Err(Refusal::new(
                RefusalKind::VotingAddRisksQuorum,
                format!(
                    "refusing to add {name} as a voting member: the cluster would have {after} \
                 voting members needing {needed} for quorum, and {healthy} are healthy now, so \
                 if {name} fails to start the cluster loses quorum; add it as a learner \
                 (learner: true) or pass force: true"
                ),
            ));
        }
    }
    Ok(())
}

/// Without learners the new member votes from the moment it is added, before its etcd has
/// started or caught up: the quorum grows at once while the healthy count does not. That is
/// only safe when every existing voting member is started and healthy; a dead one is removed
/// first, so its vote stops counting.
fn check_voting_add_without_learners(c: &Cluster, name: &str) -> Result<(), Refusal> {
    let missing: Vec<String> = c
        .members
        .iter()
        .filter(|m| !m.is_learner)
        .filter(|m| !m.started || !c.healthy.contains(&m.raw_id))
        .map(|m| {
            let why = if m.started {
                "unhealthy"
            } else {
                "never started"
            };
            format!("{} {why}", label(m))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let voting = c.voting();
    let after = voting + 1;
    let healthy = c.healthy_voting();
    let needed = quorum_size(after);
    let consequence = if healthy < needed {
        format!("so the cluster has no quorum until {name} has started and caught up, and none at all if it fails to start")
    } else {
        format!(
            "so it tolerates {} more failure(s), {name} failing to start included, where {after} \
             healthy members would tolerate {}",
            healthy - needed,
            after - needed
        )
    };
    Err(Refusal::new(
        RefusalKind::VotingAddRisksQuorum,
        format!(
            "refusing to add {name} as a voting member: etcd {} has no learners, so {name} votes \
         from the moment it is added; the cluster would have {after} voting members needing \
         {needed} for quorum with {healthy} of them healthy ({}), {consequence}; remove dead \
         members first (state: absent) or start them, then add (force: true overrides)",
            c.version_list(),
            missing.join(", ")
        ),
    ))
}

pub fn plan_absent(c: &Cluster, want: &Selector, force: bool) -> Result<Plan, Refusal> {
    let Some(m) = want.find(&c.members) else {
        return Ok(Plan::Absent);
    };
    c.require_quorum()?;
    if !force {
        if c.members.len() == 1 {
            return Err(Refusal::new(
                RefusalKind::LastMember,
                format!(
                    "refusing to remove {}: it is the last member, and removing it destroys the \
                 cluster (force: true overrides)",
                    label(m)
                ),
            ));
        }
        if !m.is_learner {
            let remaining = c.voting() - 1;
            let healthy = c.healthy_voting() - usize::from(c.healthy.contains(&m.raw_id));
            let needed = quorum_size(remaining);
            if healthy < needed {
                return Err(Refusal::new(
                    RefusalKind::RemoveLosesQuorum,
                    format!(
                        "refusing to remove {}: {remaining} voting members would remain, needing \
                     {needed} for quorum, and only {healthy} of them are healthy \
                     (force: true overrides)",
                        label(m)
                    ),
                ));
            }
        }
    }
    Ok(Plan::Remove(m.clone()))
}

pub fn plan_promote(c: &Cluster, want: &Selector) -> Result<Plan, Refusal> {
    let Some(m) = want.find(&c.members) else {
        return Err(Refusal::new(
            RefusalKind::NoSuchMember,
            format!(
                "no member {} to promote: add it as a learner first (state: present)",
                want.describe()
            ),
        ));
    };
    if !m.is_learner {
        return Ok(Plan::Unchanged(m.clone()));
    }
    if !m.started {
        return Err(Refusal::new(
            RefusalKind::LearnerNotStarted,
            format!(
                "learner {} has not started: start etcd on it before promoting",
                label(m)
            ),
        ));
    }
    c.require_quorum()?;
    Ok(Plan::Promote(m.clone()))
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

/// `ETCD_INITIAL_CLUSTER` as `etcdctl member add` prints it: every member's name=peerURL,
/// the member being added under the name it will start with.
pub fn initial_cluster(members: &[MemberInfo], new_id: u64, new_name: &str) -> String {
    let mut entries = Vec::new();
    for m in members {
        let name = if m.raw_id == new_id {
            new_name
        } else {
            &m.name
        };
        for u in &m.peer_urls {
            entries.push(format!("{name}={u}"));
        }
    }
    entries.join(",")
}

/// What the plan will do, in the words check mode reports.
pub fn describe(plan: &Plan, c: &Cluster, want: &Selector) -> String {
    match plan {
        Plan::Unchanged(m) => format!("member {} is already as requested", label(m)),
        Plan::Absent => format!("member {} is not in the cluster", want.describe()),
        Plan::Add { learner: true } => format!(
            "add learner {}; voting members stay {} (quorum {}) until it is promoted",
            want.describe(),
            c.voting(),
            quorum_size(c.voting())
        ),
        Plan::Add { learner: false } if !c.supports_learners() => format!(
            "add voting member {}; quorum after the add: {} of {}; etcd {} has no learners, so \
             the learner and promote steps are skipped",
            want.describe(),
            quorum_size(c.voting() + 1),
            c.voting() + 1,
            c.version_list()
        ),
        Plan::Add { learner: false } => format!(
            "add voting member {}; quorum after start: {} of {}",
            want.describe(),
            quorum_size(c.voting() + 1),
            c.voting() + 1
        ),
        Plan::Update { member, peer_urls } => format!(
            "update peer URLs of {} from {} to {}",
            label(member),
            member.peer_urls.join(","),
            peer_urls.join(",")
        ),
        Plan::Promote(m) => format!(
            "promote learner {}; quorum after: {} of {}",
            label(m),
            quorum_size(c.voting() + 1),
            c.voting() + 1
        ),
        Plan::Remove(m) => {
            let remaining = c.voting() - usize::from(!m.is_learner);
            format!(
                "remove {}; quorum after: {} of {}",
                label(m),
                quorum_size(remaining),
                remaining
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, learner: bool, started: bool) -> MemberInfo {
        MemberInfo {
            id: id_hex(id),
            name: if started { name.into() } else { String::new() },
            peer_urls: vec![format!("https://{name}:2380")],
            client_urls: vec![],
            is_learner: learner,
            started,
            raw_id: id,
        }
    }

    fn cluster(members: Vec<MemberInfo>, healthy: &[u64]) -> Cluster {
        Cluster {
            members,
            healthy: healthy.iter().copied().collect(),
            versions: vec!["3.4.23".into()],
        }
    }

    fn three(healthy: &[u64]) -> Cluster {
        cluster(
            vec![
                member(1, "e1", false, true),
                member(2, "e2", false, true),
                member(3, "e3", false, true),
            ],
            healthy,
        )
    }

    fn want(name: &str) -> Selector {
        Selector {
            name: Some(name.into()),
            peer_urls: vec![format!("https://{name}:2380")],
            id: None,
        }
    }

    #[test]
    fn add_defaults_to_learner_on_3_4_and_voting_on_older() {
        assert_eq!(
            plan_present(&three(&[1, 2, 3]), &want("e4"), None, false),
            Ok(Plan::Add { learner: true })
        );
        let mut old = three(&[1, 2, 3]);
        old.versions = vec!["3.3.11".into(), "3.4.23".into()];
        assert_eq!(
            plan_present(&old, &want("e4"), None, false),
            Ok(Plan::Add { learner: false })
        );
    }

    #[test]
    fn present_is_idempotent_and_corrects_peer_urls_by_name() {
        let c = three(&[1, 2, 3]);
        assert!(matches!(
            plan_present(&c, &want("e2"), None, false),
            Ok(Plan::Unchanged(m)) if m.raw_id == 2
        ));
        let mut localhost = c.clone();
        localhost.members[0].peer_urls = vec!["http://localhost:2380".into()];
        assert!(matches!(
            plan_present(&localhost, &want("e1"), None, false),
            Ok(Plan::Update { member, peer_urls }) if member.raw_id == 1 && peer_urls == vec!["https://e1:2380".to_string()]
        ));
    }

    #[test]
    fn an_unstarted_member_is_matched_by_peer_url() {
        let mut c = three(&[1, 2, 3]);
        c.members.push(member(4, "e4", true, false));
        assert!(matches!(
            plan_present(&c, &want("e4"), None, false),
            Ok(Plan::Unchanged(m)) if m.raw_id == 4
        ));
    }

    #[test]
    fn peer_url_of_another_started_member_is_refused_even_with_force() {
        let mut w = want("e9");
        w.peer_urls = vec!["https://e2:2380".into()];
        let err = plan_present(&three(&[1, 2, 3]), &w, None, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already registered to started member e2"),
            "{err}"
        );
    }

    #[test]
    fn one_pending_member_at_a_time() {
        let mut c = three(&[1, 2, 3]);
        c.members.push(member(4, "e4", true, false));
        let err = plan_present(&c, &want("e5"), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("was added but never started"), "{err}");
        c.members[3] = member(4, "e4", true, true);
        let err = plan_present(&c, &want("e5"), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("learner e4 (4) is not promoted yet"), "{err}");
        assert_eq!(
            plan_present(&c, &want("e5"), None, true),
            Ok(Plan::Add { learner: true })
        );
    }

    #[test]
    fn voting_add_that_a_failed_start_would_turn_into_quorum_loss() {
        let one = cluster(vec![member(1, "e1", false, true)], &[1]);
        let err = plan_present(&one, &want("e2"), Some(false), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 voting members needing 2 for quorum, and 1 are healthy now"),
            "{err}"
        );
        let err = plan_present(&three(&[1, 2]), &want("e4"), Some(false), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("4 voting members needing 3 for quorum, and 2 are healthy now"),
            "{err}"
        );
        assert_eq!(
            plan_present(&three(&[1, 2, 3]), &want("e4"), Some(false), false),
            Ok(Plan::Add { learner: false })
        );
    }

    fn old(healthy: &[u64]) -> Cluster {
        let mut c = three(healthy);
        c.versions = vec!["3.3.11".into(); 3];
        c
    }

    #[test]
    fn before_3_4_a_voting_add_needs_every_member_healthy() {
        assert_eq!(
            plan_present(&old(&[1, 2, 3]), &want("e4"), None, false),
            Ok(Plan::Add { learner: false })
        );
        let err = plan_present(&old(&[1, 2]), &want("e4"), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("etcd 3.3.11 has no learners"), "{err}");
        assert!(
            err.contains(
                "4 voting members needing 3 for quorum with 2 of them healthy (e3 (3) unhealthy)"
            ),
            "{err}"
        );
        assert!(err.contains("no quorum until e4 has started"), "{err}");
        assert!(err.contains("remove dead members first"), "{err}");
        // Five members, one dead: the arithmetic alone would allow it, but with no margin.
        let mut five = cluster(
            (1..=5)
                .map(|i| member(i, &format!("e{i}"), false, true))
                .collect(),
            &[1, 2, 3, 4],
        );
        five.versions = vec!["3.3.11".into()];
        let err = plan_present(&five, &want("e6"), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("6 voting members needing 4 for quorum with 4 of them healthy"),
            "{err}"
        );
        assert!(err.contains("tolerates 0 more failure(s)"), "{err}");
        assert_eq!(
            plan_present(&five, &want("e6"), None, true),
            Ok(Plan::Add { learner: false })
        );
        // An added-but-unstarted member is named as such.
        let mut pending = old(&[1, 2, 3]);
        pending.members.push(member(4, "e4", false, false));
        let err = plan_present(&pending, &want("e5"), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("was added but never started"), "{err}");
    }

    #[test]
    fn a_learner_is_refused_where_any_member_is_older_than_3_4() {
        for versions in [vec!["3.3.11"], vec!["3.2.32"], vec!["3.3.11", "3.4.23"]] {
            let mut c = three(&[1, 2, 3]);
            c.versions = versions.iter().map(|v| v.to_string()).collect();
            let err = plan_present(&c, &want("e4"), Some(true), true)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("learners need etcd >= 3.4 on every member"),
                "{err}"
            );
            assert!(err.contains(versions[0]), "{err}");
        }
        let mixed = Cluster {
            versions: vec!["3.4.23".into(), "3.3.11".into()],
            ..three(&[1, 2, 3])
        };
        assert_eq!(mixed.version_list(), "3.3.11, 3.4.23");
        let plan = plan_present(&mixed, &want("e4"), None, false).unwrap();
        assert_eq!(plan, Plan::Add { learner: false });
        let what = describe(&plan, &mixed, &want("e4"));
        assert!(
            what.contains("the learner and promote steps are skipped"),
            "{what}"
        );
    }

    #[test]
    fn removal_guard_rails_state_their_arithmetic() {
        // e3 is dead: removing it leaves 2 voting, both healthy.
        assert!(matches!(
            plan_absent(&three(&[1, 2]), &want("e3"), false),
            Ok(Plan::Remove(m)) if m.raw_id == 3
        ));
        // Removing healthy e2 while e3 is dead leaves e1 alone healthy of 2.
        let err = plan_absent(&three(&[1, 2]), &want("e2"), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 voting members would remain, needing 2 for quorum, and only 1 of them are healthy"),
            "{err}"
        );
        assert!(plan_absent(&three(&[1, 2]), &want("e2"), true).is_ok());
        let one = cluster(vec![member(1, "e1", false, true)], &[1]);
        assert!(plan_absent(&one, &want("e1"), false)
            .unwrap_err()
            .to_string()
            .contains("it is the last member"));
        assert_eq!(
            plan_absent(&three(&[1, 2, 3]), &want("e7"), false),
            Ok(Plan::Absent)
        );
    }

    #[test]
    fn quorum_loss_blocks_every_change_even_with_force() {
        let lost = three(&[1]);
        for result in [
            plan_present(&lost, &want("e4"), None, true),
            plan_absent(&lost, &want("e3"), true),
        ] {
            let err = result.unwrap_err().to_string();
            assert!(
                err.starts_with("quorum is lost (1 of 3 voting members healthy, 2 needed)"),
                "{err}"
            );
        }
        // Already as asked needs no quorum.
        assert!(matches!(
            plan_present(&lost, &want("e2"), None, false),
            Ok(Plan::Unchanged(_))
        ));
    }

    #[test]
    fn promote_needs_a_started_learner() {
        let mut c = three(&[1, 2, 3]);
        assert!(matches!(
            plan_promote(&c, &want("e1")),
            Ok(Plan::Unchanged(_))
        ));
        assert!(plan_promote(&c, &want("e9"))
            .unwrap_err()
            .to_string()
            .contains("no member e9"));
        c.members.push(member(4, "e4", true, false));
        assert_eq!(
            plan_promote(&c, &want("e4")).unwrap_err().kind,
            RefusalKind::LearnerNotStarted
        );
        assert!(plan_promote(&c, &want("e4"))
            .unwrap_err()
            .to_string()
            .contains("has not started"));
        c.members[3] = member(4, "e4", true, true);
        assert!(matches!(plan_promote(&c, &want("e4")), Ok(Plan::Promote(m)) if m.raw_id == 4));
    }

    #[test]
    fn initial_cluster_lists_every_peer_url_with_the_new_name() {
        let mut members = three(&[1]).members;
        members.push(member(9, "x", true, false));
        assert_eq!(
            initial_cluster(&members, 9, "e4"),
            "e1=https://e1:2380,e2=https://e2:2380,e3=https://e3:2380,e4=https://x:2380"
        );
    }
}
