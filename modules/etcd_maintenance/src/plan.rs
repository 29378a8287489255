//! The decisions of a maintenance run, pure so they are unit-tested: which member is
//! defragmented next (followers first, the leader last), whether a member has anything to
//! reclaim, and whether NOSPACE may be disarmed.

use serde::Serialize;

/// One member as its own status reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemberSize {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub is_leader: bool,
    /// Bytes the backend file holds (what the quota is checked against).
    pub db_size: i64,
    /// Bytes in use; None on etcd < 3.4, which does not report it.
    pub db_size_in_use: Option<i64>,
    /// The member's quota: what it reports (etcd >= 3.6), else the `quota_backend_bytes` given.
    pub quota: i64,
    #[serde(skip)]
    pub raw_id: u64,
}

impl MemberSize {
    /// Bytes a defragmentation would give back, when the member says.
    pub fn reclaimable(&self) -> Option<i64> {
        self.db_size_in_use.map(|u| (self.db_size - u).max(0))
    }
}

/// Whether the members' db_size_in_use may still count pages that are free, and why. etcd
/// recounts a member's free pages only when a write opens its next backend transaction, and
/// bbolt hands a transaction's freed pages back only at the one after: right after a
/// compaction the figure still holds what it deleted, and under NOSPACE (no writes get in)
/// it stays so until the defragmentation itself. The lab saw every member report its
/// pre-compaction figure, and a plan that trusted it skipped the leader.
pub fn in_use_may_lag(after_compaction: bool, nospace_active: bool) -> Option<&'static str> {
    match (after_compaction, nospace_active) {
        (true, _) => Some("a compaction has just run"),
        (false, true) => Some("NOSPACE is active"),
        (false, false) => None,
    }
}

/// Whether defragmenting `m` is worth blocking it for: it has at least `min_reclaim` free
/// bytes, or it cannot say (etcd < 3.4, or its figure may lag: [`in_use_may_lag`]), or it is
/// over its quota (NOSPACE needs every member below it, and only a defragmentation shrinks
/// the file).
pub fn needs_defrag(m: &MemberSize, min_reclaim: i64, in_use_lags: bool) -> bool {
    if in_use_lags {
        return true;
    }
    match m.reclaimable() {
        None => true,
        Some(free) => free > 0 && (free >= min_reclaim || too_full(m)),
    }
}

/// The next member to defragment among `remaining` (ids, in the order first planned): the
/// first one that does not lead now, else the leader. Asked again before each member, since
/// leadership can move during the run.
pub fn next_member(remaining: &[u64], leader: Option<u64>) -> Option<u64> {
    remaining
        .iter()
        .copied()
        .find(|id| Some(*id) != leader)
        .or_else(|| remaining.first().copied())
}

/// The order a run would take now: followers by name, the leader last.
pub fn order(members: &[MemberSize]) -> Vec<&MemberSize> {
    let mut out: Vec<&MemberSize> = members.iter().collect();
    out.sort_by(|a, b| a.is_leader.cmp(&b.is_leader).then(a.name.cmp(&b.name)));
    out
}

/// An active alarm: the member that raised it and its type (`NOSPACE`, `CORRUPT`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActiveAlarm {
    pub member_id: String,
    pub alarm: String,
    #[serde(skip)]
    pub raw_member_id: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum NoSpace {
    /// No NOSPACE alarm is active.
    Nothing,
    /// Every member is below its quota: these NOSPACE alarms may go.
    Disarm(Vec<ActiveAlarm>),
    /// NOSPACE stays; why, naming the members.
    Keep(String),
}

/// Disarming needs every member this far below its quota, in percent: etcd refuses a write
/// that would take the db past the quota, so a member just under it (the lab saw 3.8 MiB of
/// 4 MiB after filling) raises NOSPACE again within a few writes.
pub const DISARM_BELOW_PERCENT: i64 = 90;

/// Whether a member's db is too near its quota for NOSPACE to be disarmed.
pub fn too_full(m: &MemberSize) -> bool {
    m.db_size * 100 >= m.quota * DISARM_BELOW_PERCENT
}

/// NOSPACE is disarmed only when every member of the cluster is below
/// [`DISARM_BELOW_PERCENT`] of its quota: a member above it raises the alarm again at the
/// next writes, and a member whose size is unknown may be above it. Other alarms (CORRUPT) are never disarmed here: they need an
/// operator to look at the data.
pub fn disarm_decision(alarms: &[ActiveAlarm], members: &[MemberSize], voting: usize) -> NoSpace {
    let nospace: Vec<ActiveAlarm> = alarms
        .iter()
        .filter(|a| a.alarm == "NOSPACE")
        .cloned()
        .collect();
    if nospace.is_empty() {
        return NoSpace::Nothing;
    }
    let over: Vec<String> = members
        .iter()
        .filter(|m| too_full(m))
        .map(|m| {
            format!(
                "{} holds {} of its {} quota",
                m.name,
                etcd_api::bytes::human(m.db_size),
                etcd_api::bytes::human(m.quota)
            )
        })
        .collect();
    if !over.is_empty() {
        return NoSpace::Keep(format!(
            "NOSPACE kept (it is disarmed only below {DISARM_BELOW_PERCENT}% of the quota): {}; compact (etcd_defrag_compact=true) or delete data and defragment \
             again, or raise ETCD_QUOTA_BACKEND_BYTES",
            over.join(", ")
        ));
    }
    if members.len() < voting {
        return NoSpace::Keep(format!(
            "NOSPACE kept: only {} of {voting} members reported their db size, and one that did \
             not may be over its quota",
            members.len()
        ));
    }
    NoSpace::Disarm(nospace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: i64 = 1024 * 1024;

    fn m(id: u64, name: &str, leader: bool, size: i64, in_use: Option<i64>) -> MemberSize {
        MemberSize {
            id: format!("{id:x}"),
            name: name.into(),
            endpoint: format!("https://{name}:2379"),
            is_leader: leader,
            db_size: size,
            db_size_in_use: in_use,
            quota: 8 * MIB,
            raw_id: id,
        }
    }

    fn nospace(id: u64) -> ActiveAlarm {
        ActiveAlarm {
            member_id: format!("{id:x}"),
            alarm: "NOSPACE".into(),
            raw_member_id: id,
        }
    }

    #[test]
    fn followers_first_leader_last() {
        let ms = [
            m(1, "etcd1", true, MIB, None),
            m(3, "etcd3", false, MIB, None),
            m(2, "etcd2", false, MIB, None),
        ];
        let names: Vec<&str> = order(&ms).iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["etcd2", "etcd3", "etcd1"]);
    }

    #[test]
    fn next_member_skips_whoever_leads_now() {
        assert_eq!(next_member(&[1, 2, 3], Some(1)), Some(2));
        assert_eq!(next_member(&[2, 3], Some(3)), Some(2));
        // Leadership moved to a member already done: the rest are followers, in order.
        assert_eq!(next_member(&[2, 3], Some(1)), Some(2));
        // Only the leader is left: it goes last.
        assert_eq!(next_member(&[1], Some(1)), Some(1));
        // No leader known: the planned order.
        assert_eq!(next_member(&[3, 1], None), Some(3));
        assert_eq!(next_member(&[], Some(1)), None);
    }

    #[test]
    fn defragment_only_what_is_worth_it() {
        // Nothing free: a second run changes nothing.
        assert!(!needs_defrag(
            &m(1, "a", false, 2 * MIB, Some(2 * MIB)),
            MIB,
            false
        ));
        // Less than the threshold free, and below quota: left alone.
        assert!(!needs_defrag(
            &m(1, "a", false, 2 * MIB, Some(2 * MIB - 4096)),
            MIB,
            false
        ));
        // Enough free.
        assert!(needs_defrag(
            &m(1, "a", false, 6 * MIB, Some(MIB)),
            MIB,
            false
        ));
        // Over quota: any free byte counts, NOSPACE needs it below.
        assert!(needs_defrag(
            &m(1, "a", false, 8 * MIB, Some(8 * MIB - 4096)),
            MIB,
            false
        ));
        // etcd < 3.4 does not say: defragment.
        assert!(needs_defrag(&m(1, "a", false, MIB, None), MIB, false));
    }

    #[test]
    fn a_lagging_figure_is_not_planned_with() {
        // The lab's case: compacted under NOSPACE, every member still reporting its
        // pre-compaction figure (no free page counted yet).
        let full = m(1, "a", true, 4 * MIB, Some(4 * MIB));
        assert!(!needs_defrag(&full, MIB, false));
        for (compacted, nospace) in [(true, false), (false, true), (true, true)] {
            let lags = in_use_may_lag(compacted, nospace);
            assert!(lags.is_some(), "{compacted} {nospace}");
            assert!(needs_defrag(&full, MIB, lags.is_some()));
        }
        // Writable and not just compacted: the figure is current, a second run is a no-op.
        assert_eq!(in_use_may_lag(false, false), None);
    }

    #[test]
    fn nospace_is_disarmed_only_when_every_member_is_below_quota() {
        let below = [
            m(1, "etcd1", true, MIB, Some(MIB)),
            m(2, "etcd2", false, 2 * MIB, Some(MIB)),
            m(3, "etcd3", false, MIB, Some(MIB)),
        ];
        assert_eq!(disarm_decision(&[], &below, 3), NoSpace::Nothing);
        assert_eq!(
            disarm_decision(&[nospace(2)], &below, 3),
            NoSpace::Disarm(vec![nospace(2)])
        );

        let mut one_over = below.clone();
        one_over[2].db_size = 8 * MIB;
        let NoSpace::Keep(why) = disarm_decision(&[nospace(2)], &one_over, 3) else {
            panic!("disarmed with etcd3 at its quota");
        };
        assert!(
            why.contains("etcd3 holds 8.0 MiB of its 8.0 MiB quota"),
            "{why}"
        );

        // Just under the quota is not enough: the next writes would raise it again.
        let mut nearly = below.clone();
        nearly[0].db_size = 7 * MIB + MIB / 2;
        assert!(matches!(
            disarm_decision(&[nospace(2)], &nearly, 3),
            NoSpace::Keep(_)
        ));
        nearly[0].db_size = 7 * MIB;
        assert!(matches!(
            disarm_decision(&[nospace(2)], &nearly, 3),
            NoSpace::Disarm(_)
        ));

        // A member that did not report may be over its quota.
        let NoSpace::Keep(why) = disarm_decision(&[nospace(2)], &below[..2], 3) else {
            panic!("disarmed without etcd3's size");
        };
        assert!(why.contains("only 2 of 3"), "{why}");
    }

    #[test]
    fn corrupt_is_never_disarmed() {
        let corrupt = ActiveAlarm {
            alarm: "CORRUPT".into(),
            ..nospace(1)
        };
        let ms = [m(1, "etcd1", true, MIB, Some(MIB))];
        assert_eq!(
            disarm_decision(std::slice::from_ref(&corrupt), &ms, 1),
            NoSpace::Nothing
        );
        assert_eq!(
            disarm_decision(&[corrupt, nospace(1)], &ms, 1),
            NoSpace::Disarm(vec![nospace(1)])
        );
    }
}
