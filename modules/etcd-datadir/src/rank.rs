//! The survivor decision: which member a cluster that lost quorum is re-formed from.
//!
//! `--force-new-cluster` (etcd 3.4 `restartAsStandaloneNode`) replays the member's WAL, drops
//! every entry past its own HardState commit, and makes it a cluster of one. Its backend keeps
//! whatever it had applied (`consistent_index`), which can be past a WAL commit not yet synced.
//! What the re-formed cluster keeps, on every member, is the WAL up to that commit. A backend's
//! `consistent_index` often runs past it (etcd does not sync a HardState whose only change is the
//! commit, and a killed member loses it): those entries were committed (etcd applies nothing
//! else) but, left so, they stay in the survivor's own bbolt file and reach no re-added member
//! (on the lab that lost acknowledged writes). `commit::sync_commit` records them as committed
//! before force-new-cluster, so what a member keeps is `max(commit, min(consistent_index, last
//! entry))` (`kept_index`); ties go to the higher `consistent_index`, and the member to
//! pick is the one where that is largest. Ties go to the longer log (last entry's term, then
//! index), then to the host name in byte order, so the choice never depends on input order.
//!
//! A running member's `endpoint status` is on the same scale: its `raftIndex` (the commit
//! index in etcd 3.4) and `raftAppliedIndex` stand for commit and `consistent_index`.
//!
//! Kept here, not in etcd-api: it is a pure function of facts read from files, and the module
//! that exposes it must not link the gRPC client.

use std::collections::BTreeMap;
use std::fmt;

use etcd_db::id_hex;
use serde::Serialize;
use serde_json::Value;

use crate::wal::LogId;

/// What one data dir says (the `etcd_data` inspection).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirFacts {
    pub member_id: Option<u64>,
    pub cluster_id: Option<u64>,
    pub commit: Option<u64>,
    pub consistent_index: Option<u64>,
    pub last_entry: Option<LogId>,
    pub is_learner: bool,
    /// Damage that stops etcd from starting on the dir.
    pub errors: Vec<String>,
}

/// What a running member answered to `endpoint status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusFacts {
    pub member_id: Option<u64>,
    pub cluster_id: Option<u64>,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub is_learner: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Facts {
    DataDir(DirFacts),
    Status(StatusFacts),
    /// Nothing usable: the inspection failed (unreadable, not a data dir, empty) or the member
    /// did not answer. The text says why.
    Unusable(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub host: String,
    pub facts: Facts,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The cluster the survivor must belong to; default: the id most candidates have.
    pub cluster_id: Option<u64>,
    /// The operator's choice, honoured if it is eligible (or `force`).
    pub survivor: Option<String>,
    /// Accept an excluded `survivor` (a learner, a foreign or damaged dir).
    pub force: bool,
}

/// One candidate in the result, eligible or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub host: String,
    /// 1 for the best; None when excluded.
    pub rank: Option<usize>,
    /// `data_dir` or `status`; None for an unusable candidate.
    pub source: Option<&'static str>,
    pub member_id: Option<String>,
    pub cluster_id: Option<String>,
    /// What a re-formed cluster from it keeps on every member once its applied entries are
    /// recorded committed: `max(commit, min(consistent_index, last entry))`.
    pub kept_index: Option<u64>,
    /// The WAL HardState commit (a status's raftIndex).
    pub commit: Option<u64>,
    /// The backend's consistent_index (a status's raftAppliedIndex).
    pub consistent_index: Option<u64>,
    pub last_entry: Option<LogId>,
    pub is_learner: bool,
    /// Entries behind the best eligible candidate.
    pub behind: Option<u64>,
    /// Why it cannot be the survivor.
    pub excluded: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Excluded {
    pub host: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ranking {
    pub survivor: String,
    pub survivor_member_id: Option<String>,
    /// The cluster id the candidates were held to.
    pub cluster_id: Option<String>,
    pub reason: String,
    /// Every candidate, eligible ones first in rank order, then the excluded in input order.
    pub ranking: Vec<Ranked>,
    pub excluded: Vec<Excluded>,
    /// Two or more eligible candidates keep the same index.
    pub tie: bool,
    /// How the tie at the top was broken: `last entry (term, index)` or `host name`.
    pub tie_break: Option<String>,
    /// Entries the survivor is behind the best eligible candidate (0 unless overridden).
    pub behind: Option<u64>,
    /// The survivor is the operator's `survivor`, not the best.
    pub overridden: bool,
    /// The survivor is excluded and was taken because of `force`.
    pub forced: bool,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RankError {
    NoCandidates,
    DuplicateHost(String),
    /// No cluster id is held by more than half the candidates that have one.
    NoClusterMajority(BTreeMap<String, Vec<String>>),
    /// Every candidate is excluded.
    NoEligible(Vec<Excluded>),
    UnknownSurvivor(String),
    SurvivorExcluded {
        host: String,
        reason: String,
    },
}

impl fmt::Display for RankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RankError::NoCandidates => write!(f, "no candidates"),
            RankError::DuplicateHost(h) => write!(f, "candidate {h} is listed twice"),
            RankError::NoClusterMajority(by) => {
                let parts: Vec<String> = by
                    .iter()
                    .map(|(id, hosts)| format!("{id}: {}", hosts.join(", ")))
                    .collect();
                write!(
                    f,
                    "no cluster id is held by a majority of the candidates ({}); set cluster_id",
                    parts.join("; ")
                )
            }
            RankError::NoEligible(ex) => {
                let parts: Vec<String> = ex
                    .iter()
                    .map(|e| format!("{}: {}", e.host, e.reason))
                    .collect();
                write!(f, "no candidate can be the survivor: {}", parts.join("; "))
            }
            RankError::UnknownSurvivor(h) => write!(f, "survivor {h} is not among the candidates"),
            RankError::SurvivorExcluded { host, reason } => write!(
                f,
                "survivor {host} is excluded ({reason}); set force to re-form from it anyway"
            ),
        }
    }
}

impl std::error::Error for RankError {}

/// What an eligible candidate is sorted by: kept index, WAL commit, consistent_index, last entry.
type SortKey = (u64, u64, u64, LogId);

/// The numbers a candidate is ranked by, from either source.
struct Numbers {
    source: &'static str,
    member_id: Option<u64>,
    cluster_id: Option<u64>,
    commit: Option<u64>,
    consistent_index: Option<u64>,
    last_entry: Option<LogId>,
    is_learner: bool,
}

impl Numbers {
    fn kept(&self) -> Option<u64> {
        if self.commit.is_none() && self.consistent_index.is_none() {
            return None;
        }
        // Applied entries count only while the log still holds them (a running member's
        // status has no log to look at, and applies only what it committed).
        let applied = match (self.consistent_index, self.last_entry) {
            (Some(ci), Some(last)) => ci.min(last.index),
            (Some(ci), None) if self.source == "status" => ci,
            _ => 0,
        };
        Some(self.commit.unwrap_or(0).max(applied))
    }
}

fn numbers(f: &Facts) -> Option<Numbers> {
    match f {
        Facts::DataDir(d) => Some(Numbers {
            source: "data_dir",
            member_id: d.member_id,
            cluster_id: d.cluster_id,
            commit: d.commit,
            consistent_index: d.consistent_index,
            last_entry: d.last_entry,
            is_learner: d.is_learner,
        }),
        Facts::Status(s) => Some(Numbers {
            source: "status",
            member_id: s.member_id,
            cluster_id: s.cluster_id,
            commit: Some(s.raft_index),
            consistent_index: Some(s.raft_applied_index),
            last_entry: None,
            is_learner: s.is_learner,
        }),
        Facts::Unusable(_) => None,
    }
}

fn expected_cluster(cands: &[Candidate], opts: &Options) -> Result<Option<u64>, RankError> {
    if opts.cluster_id.is_some() {
        return Ok(opts.cluster_id);
    }
    let mut by: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for c in cands {
        if let Some(id) = numbers(&c.facts).and_then(|n| n.cluster_id) {
            by.entry(id).or_default().push(c.host.clone());
        }
    }
    let known: usize = by.values().map(Vec::len).sum();
    match by.iter().find(|(_, hosts)| hosts.len() * 2 > known) {
        Some((id, _)) => Ok(Some(*id)),
        None if known == 0 => Ok(None),
        None => Err(RankError::NoClusterMajority(
            by.into_iter().map(|(id, h)| (id_hex(id), h)).collect(),
        )),
    }
}

fn exclusion(c: &Candidate, n: Option<&Numbers>, cluster: Option<u64>) -> Option<String> {
    let n = match (&c.facts, n) {
        (Facts::Unusable(why), _) => return Some(why.clone()),
        (_, Some(n)) => n,
        (_, None) => return Some("no facts".into()),
    };
    if let Facts::DataDir(d) = &c.facts {
        if !d.errors.is_empty() {
            return Some(format!("damaged data dir: {}", d.errors.join("; ")));
        }
    }
    if n.kept().is_none_or(|k| k == 0) && n.last_entry.is_none() {
        return Some("empty: no commit index and no applied index".into());
    }
    if let (Some(want), Some(have)) = (cluster, n.cluster_id) {
        if want != have {
            return Some(format!(
                "belongs to cluster {}, not {}",
                id_hex(have),
                id_hex(want)
            ));
        }
    }
    if n.is_learner {
        return Some(
            "is a learner: it may lack committed entries and cannot be a cluster alone".into(),
        );
    }
    None
}

/// Ranks the candidates and chooses the survivor.
pub fn rank(cands: &[Candidate], opts: &Options) -> Result<Ranking, RankError> {
    if cands.is_empty() {
        return Err(RankError::NoCandidates);
    }
    for (i, c) in cands.iter().enumerate() {
        if cands[..i].iter().any(|o| o.host == c.host) {
            return Err(RankError::DuplicateHost(c.host.clone()));
        }
    }
    let cluster = expected_cluster(cands, opts)?;
    let mut warnings = Vec::new();
    let mut rows: Vec<(Ranked, Option<SortKey>)> = Vec::new();
    for c in cands {
        let n = numbers(&c.facts);
        let excluded = exclusion(c, n.as_ref(), cluster);
        if let (Some(n), None, Some(_)) = (&n, &excluded, cluster) {
            if n.cluster_id.is_none() {
                warnings.push(format!(
                    "{}: no cluster id to check (a status without one)",
                    c.host
                ));
            }
        }
        let key = match (&n, &excluded) {
            (Some(n), None) => Some((
                n.kept().unwrap_or(0),
                n.commit.unwrap_or(0),
                n.consistent_index.unwrap_or(0),
                n.last_entry.unwrap_or_default(),
            )),
            _ => None,
        };
        rows.push((
            Ranked {
                host: c.host.clone(),
                rank: None,
                source: n.as_ref().map(|n| n.source),
                member_id: n.as_ref().and_then(|n| n.member_id).map(id_hex),
                cluster_id: n.as_ref().and_then(|n| n.cluster_id).map(id_hex),
                kept_index: n.as_ref().and_then(Numbers::kept),
                commit: n.as_ref().and_then(|n| n.commit),
                consistent_index: n.as_ref().and_then(|n| n.consistent_index),
                last_entry: n.as_ref().and_then(|n| n.last_entry),
                is_learner: n.as_ref().is_some_and(|n| n.is_learner),
                behind: None,
                excluded,
            },
            key,
        ));
    }
    // Best first: most kept, then the WAL that already records it (no commit record to add),
    // then the most applied, then the longer log by (term, index), then host name.
    let mut eligible: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].1.is_some()).collect();
    eligible.sort_by(|&a, &b| {
        let (ka, kb) = (rows[a].1.unwrap_or_default(), rows[b].1.unwrap_or_default());
        kb.0.cmp(&ka.0)
            .then(kb.1.cmp(&ka.1))
            .then(kb.2.cmp(&ka.2))
            .then((kb.3.term, kb.3.index).cmp(&(ka.3.term, ka.3.index)))
            .then(rows[a].0.host.cmp(&rows[b].0.host))
    });
    let best_kept = eligible.first().and_then(|&i| rows[i].1).map(|k| k.0);
    for (pos, &i) in eligible.iter().enumerate() {
        rows[i].0.rank = Some(pos + 1);
    }
    for (r, _) in rows.iter_mut() {
        if let (Some(best), Some(k)) = (best_kept, r.kept_index) {
            r.behind = Some(best.saturating_sub(k));
        }
    }
    let tied: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| rows[i].1.map(|k| k.0) == best_kept)
        .collect();
    let tie = tied.len() > 1;
    let tie_break = tie.then(|| {
        let keys: Vec<(u64, u64, LogId)> = tied
            .iter()
            .filter_map(|&i| rows[i].1.map(|k| (k.1, k.2, k.3)))
            .collect();
        let top = keys.first().copied().unwrap_or_default();
        let rest = || keys.iter().skip(1);
        let log = |l: LogId| (l.term, l.index);
        if rest().all(|k| k.0 != top.0) {
            "WAL commit (the log already records it committed)".to_string()
        } else if rest().all(|k| (k.0, k.1) != (top.0, top.1)) {
            "consistent_index (the backend applied more)".to_string()
        } else if rest().all(|k| (k.0, k.1) != (top.0, top.1) || log(k.2) != log(top.2)) {
            "last entry (term, index)".to_string()
        } else {
            "host name (byte order), the logs being equal".to_string()
        }
    });
    let excluded: Vec<Excluded> = rows
        .iter()
        .filter_map(|(r, _)| {
            r.excluded.clone().map(|reason| Excluded {
                host: r.host.clone(),
                reason,
            })
        })
        .collect();

    let best = eligible.first().copied();
    let (chosen, overridden, forced) = match &opts.survivor {
        Some(h) => {
            let i = rows
                .iter()
                .position(|(r, _)| &r.host == h)
                .ok_or_else(|| RankError::UnknownSurvivor(h.clone()))?;
            match (&rows[i].0.excluded, opts.force) {
                (Some(reason), false) => {
                    return Err(RankError::SurvivorExcluded {
                        host: h.clone(),
                        reason: reason.clone(),
                    })
                }
                (Some(_), true) => (i, true, true),
                (None, _) => (i, Some(i) != best, false),
            }
        }
        None => match best {
            Some(i) => (i, false, false),
            None => return Err(RankError::NoEligible(excluded)),
        },
    };
    let survivor = rows[chosen].0.clone();
    let behind = survivor.behind;
    let mut reason = explain(
        &rows,
        &eligible,
        chosen,
        best,
        opts.survivor.is_some(),
        forced,
    );
    // The plan says a tie was one, and what decided it, so the choice can be checked by hand.
    if let (Some(how), Some(kept)) = (&tie_break, best_kept) {
        let hosts: Vec<&str> = tied.iter().map(|&i| rows[i].0.host.as_str()).collect();
        reason.push_str(&format!(
            "; a tie at index {kept} between {}, broken by {how}",
            hosts.join(", ")
        ));
    }
    if forced {
        warnings.push(format!(
            "{} is excluded ({}) and was chosen only because force is set",
            survivor.host,
            survivor.excluded.clone().unwrap_or_default()
        ));
    }
    if let (Some(commit), Some(applied), Some("data_dir")) =
        (survivor.commit, survivor.consistent_index, survivor.source)
    {
        if applied > commit {
            warnings.push(format!(
                "{}'s WAL says commit {commit} but its backend applied {applied}: the {} entries \
                 between were committed and are recorded so (etcd_data state=commit_synced) \
                 before force-new-cluster, or the re-formed cluster would lose them",
                survivor.host,
                applied - commit
            ));
        }
    }
    let mut ranking: Vec<Ranked> = eligible.iter().map(|&i| rows[i].0.clone()).collect();
    ranking.extend(
        rows.iter()
            .filter(|(_, k)| k.is_none())
            .map(|(r, _)| r.clone()),
    );
    Ok(Ranking {
        survivor: survivor.host.clone(),
        survivor_member_id: survivor.member_id.clone(),
        cluster_id: cluster.map(id_hex),
        reason,
        ranking,
        excluded,
        tie,
        tie_break,
        behind,
        overridden,
        forced,
        warnings,
    })
}

fn numbers_text(r: &Ranked) -> String {
    let mut parts = Vec::new();
    if let Some(c) = r.commit {
        parts.push(match r.source {
            Some("status") => format!("raft index {c}"),
            _ => format!("WAL commit {c}"),
        });
    }
    if let Some(c) = r.consistent_index {
        parts.push(match r.source {
            Some("status") => format!("applied {c}"),
            _ => format!("consistent_index {c}"),
        });
    }
    if let Some(l) = r.last_entry {
        parts.push(format!("last entry {}/{}", l.term, l.index));
    }
    parts.join(", ")
}

fn explain(
    rows: &[(Ranked, Option<SortKey>)],
    eligible: &[usize],
    chosen: usize,
    best: Option<usize>,
    asked: bool,
    forced: bool,
) -> String {
    let c = &rows[chosen].0;
    let kept = c
        .kept_index
        .map_or_else(|| "an unknown index".to_string(), |k| format!("index {k}"));
    let mut s = if asked {
        let how = if forced {
            "forced by the operator"
        } else {
            "chosen by the operator"
        };
        match (best.map(|b| &rows[b].0), c.behind) {
            (Some(b), Some(n)) if n > 0 => format!(
                "{} is {how}: it keeps {kept} ({}), {n} entries behind {} at {}; re-forming from it loses them",
                c.host,
                numbers_text(c),
                b.host,
                b.kept_index.unwrap_or(0)
            ),
            _ => format!("{} is {how}: it keeps {kept} ({}), as much as any candidate", c.host, numbers_text(c)),
        }
    } else {
        format!(
            "{} keeps the most committed entries: {kept} ({})",
            c.host,
            numbers_text(c)
        )
    };
    let others: Vec<String> = eligible
        .iter()
        .filter(|&&i| i != chosen)
        .map(|&i| {
            let r = &rows[i].0;
            format!(
                "{} {} ({} behind)",
                r.host,
                r.kept_index.unwrap_or(0),
                r.behind.unwrap_or(0)
            )
        })
        .collect();
    if !others.is_empty() {
        s.push_str(&format!("; others: {}", others.join(", ")));
    }
    let n_ex = rows.iter().filter(|(r, _)| r.excluded.is_some()).count();
    if n_ex > 0 {
        s.push_str(&format!("; {n_ex} excluded"));
    }
    s
}

// ---- candidates from the module's JSON ----

/// An id as given: a hex string as etcd prints it, or a number (etcdctl's JSON).
fn id_of(v: Option<&Value>) -> Result<Option<u64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => u64::from_str_radix(s.trim_start_matches("0x"), 16)
            .map(Some)
            .map_err(|_| format!("id {s:?} is not hex")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("id {n} is not a 64-bit unsigned number")),
        Some(other) => Err(format!("id {other} is neither a hex string nor a number")),
    }
}

fn u64_of(v: Option<&Value>, what: &str) -> Result<Option<u64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{what} {n} is not a non-negative integer")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{what} {s:?} is not an integer")),
        Some(other) => Err(format!("{what} {other} is not an integer")),
    }
}

fn bool_of(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        _ => false,
    }
}

fn failed(v: &Value) -> Option<String> {
    // `failed_when: false` turns a failed inspection's `failed` off but keeps its `error_kind`.
    let refused = v.get("error_kind").is_some_and(|k| !k.is_null());
    if bool_of(v.get("failed")) || bool_of(v.get("unreachable")) || refused {
        let msg = v.get("msg").and_then(Value::as_str).unwrap_or("no message");
        return Some(format!("inspection failed: {msg}"));
    }
    None
}

/// Facts from an `etcd_data` (state `inspected`) result.
pub fn dir_facts(v: &Value) -> Result<Facts, String> {
    if let Some(why) = failed(v) {
        return Ok(Facts::Unusable(why));
    }
    if !v.is_object() || v.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(Facts::Unusable("no facts given".into()));
    }
    let last_entry = match v.get("last_entry") {
        Some(Value::Object(e)) => Some(LogId {
            index: u64_of(e.get("index"), "last_entry.index")?.unwrap_or(0),
            term: u64_of(e.get("term"), "last_entry.term")?.unwrap_or(0),
        }),
        _ => None,
    };
    let errors = match v.get("errors") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Facts::DataDir(DirFacts {
        member_id: id_of(v.get("member_id"))?,
        cluster_id: id_of(v.get("cluster_id"))?,
        commit: u64_of(
            v.get("hardstate").and_then(|h| h.get("commit")),
            "hardstate.commit",
        )?,
        consistent_index: u64_of(v.get("consistent_index"), "consistent_index")?,
        last_entry,
        is_learner: bool_of(v.get("is_learner")),
        errors,
    }))
}

/// Facts from a running member's status: `etcd_health`'s per-endpoint report
/// (`raft_index`, ...), or an element of `etcdctl endpoint status -w json` (`Status.raftIndex`).
pub fn status_facts(v: &Value) -> Result<Facts, String> {
    if let Some(why) = failed(v) {
        return Ok(Facts::Unusable(why));
    }
    let s = v.get("Status").unwrap_or(v);
    let pick = |a: &str, b: &str| s.get(a).or_else(|| s.get(b));
    let header = s.get("header");
    let Some(raft_index) = u64_of(pick("raft_index", "raftIndex"), "raft_index")? else {
        let err = s
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no raft_index");
        return Ok(Facts::Unusable(format!("no status: {err}")));
    };
    Ok(Facts::Status(StatusFacts {
        member_id: id_of(
            pick("member_id", "memberId").or(header.and_then(|h| h.get("member_id"))),
        )?,
        cluster_id: id_of(
            pick("cluster_id", "clusterId").or(header.and_then(|h| h.get("cluster_id"))),
        )?,
        raft_index,
        raft_applied_index: u64_of(
            pick("raft_applied_index", "raftAppliedIndex"),
            "raft_applied_index",
        )?
        .unwrap_or(0),
        is_learner: bool_of(pick("is_learner", "isLearner")),
    }))
}

/// One candidate's facts: `data` (an inspection) and/or `status` (a running member); with
/// both, the one that keeps more counts. A value with neither key is taken as an inspection.
fn facts_of(host: &str, v: &Value) -> Result<Facts, String> {
    let ctx = |e: String| format!("candidate {host}: {e}");
    let data = v.get("data").map(dir_facts).transpose().map_err(ctx)?;
    let status = v.get("status").map(status_facts).transpose().map_err(ctx)?;
    Ok(match (data, status) {
        (None, None) => dir_facts(v).map_err(ctx)?,
        (Some(f), None) | (None, Some(f)) => f,
        (Some(d), Some(s)) => {
            let kept = |f: &Facts| numbers(f).and_then(|n| n.kept());
            match (&d, &s) {
                (Facts::Unusable(_), _) => s,
                (_, Facts::Unusable(_)) => d,
                _ if kept(&s) > kept(&d) => s,
                _ => d,
            }
        }
    })
}

/// Candidates from the module option: a list of `{host, data?, status?}`, or a dict of host to
/// `{data?, status?}` or to a registered `etcd_data` result.
pub fn candidates_from_value(v: &Value) -> Result<Vec<Candidate>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let host = item
                    .get("host")
                    .and_then(Value::as_str)
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| format!("candidates[{i}] has no host"))?;
                Ok(Candidate {
                    host: host.to_string(),
                    facts: facts_of(host, item)?,
                })
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(host, item)| {
                Ok(Candidate {
                    host: host.clone(),
                    facts: facts_of(host, item)?,
                })
            })
            .collect(),
        other => Err(format!(
            "candidates must be a list of {{host, data|status}} or a dict of host to facts, not {other}"
        )),
    }
}
