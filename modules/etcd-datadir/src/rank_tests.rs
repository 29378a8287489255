//! The survivor decision, on hand-written facts.

use serde_json::json;

use crate::rank::*;
use crate::wal::LogId;

const CLUSTER: u64 = 0xcdf8_1819_4e3a_8c32;

fn dir(host: &str, commit: u64, ci: u64, last: (u64, u64)) -> Candidate {
    Candidate {
        host: host.into(),
        facts: Facts::DataDir(DirFacts {
            member_id: Some(host.bytes().map(u64::from).sum()),
            cluster_id: Some(CLUSTER),
            commit: Some(commit),
            consistent_index: Some(ci),
            last_entry: Some(LogId {
                term: last.0,
                index: last.1,
            }),
            is_learner: false,
            errors: vec![],
        }),
    }
}

fn with(mut c: Candidate, f: impl FnOnce(&mut DirFacts)) -> Candidate {
    if let Facts::DataDir(d) = &mut c.facts {
        f(d);
    }
    c
}

fn best(cands: &[Candidate]) -> Ranking {
    rank(cands, &Options::default()).unwrap()
}

fn ranks(r: &Ranking) -> Vec<(&str, Option<usize>)> {
    r.ranking
        .iter()
        .map(|x| (x.host.as_str(), x.rank))
        .collect()
}

#[test]
fn stale_member_anywhere_in_the_list_is_not_chosen() {
    let a = dir("a", 100, 100, (3, 100));
    let b = dir("b", 120, 118, (3, 121));
    let c = dir("c", 120, 120, (3, 120));
    // a is stale; placed first, middle and last, the survivor is the same.
    for order in [
        vec![a.clone(), b.clone(), c.clone()],
        vec![b.clone(), a.clone(), c.clone()],
        vec![b.clone(), c.clone(), a.clone()],
    ] {
        let r = best(&order);
        assert_eq!(r.survivor, "c", "{:?}", r.reason);
        assert_eq!(ranks(&r), [("c", Some(1)), ("b", Some(2)), ("a", Some(3))]);
        let a_row = r.ranking.iter().find(|x| x.host == "a").unwrap();
        assert_eq!(a_row.behind, Some(20));
        assert!(r.tie, "b and c both keep 120");
        assert_eq!(
            r.tie_break.as_deref(),
            Some("consistent_index (the backend applied more)")
        );
        assert_eq!(r.behind, Some(0));
        assert!(!r.overridden);
    }
}

#[test]
fn the_first_host_is_not_favoured_when_all_are_down() {
    // What the old rule (first host when every applied index is -1) got wrong.
    let r = best(&[
        dir("m1", 10, 10, (2, 10)),
        dir("m2", 12, 11, (2, 12)),
        dir("m3", 11, 11, (2, 11)),
    ]);
    assert_eq!(r.survivor, "m2");
    assert!(!r.tie);
    assert!(
        r.reason
            .starts_with("m2 keeps the most committed entries: index 12"),
        "{}",
        r.reason
    );
}

/// A backend applied past its WAL commit (a follower killed before etcd flushed its HardState):
/// those entries were committed and are recorded so before force-new-cluster, so they count,
/// as far as the log holds them, and the plan says they will be recorded.
#[test]
fn applied_entries_past_the_wal_commit_count_as_far_as_the_log_holds_them() {
    let r = best(&[dir("a", 50, 50, (2, 50)), dir("b", 48, 53, (2, 53))]);
    assert_eq!(r.survivor, "b");
    assert_eq!(r.ranking[0].kept_index, Some(53));
    assert!(
        r.warnings.iter().any(|w| w.contains("commit_synced")),
        "{:?}",
        r.warnings
    );
    // Applied past the end of its own log (a log cut short): only the log counts.
    let r = best(&[dir("a", 50, 50, (2, 50)), dir("b", 48, 60, (2, 49))]);
    assert_eq!(r.survivor, "a");
}

/// Equal WAL commits: the member whose backend applied more is taken, and the tie said so.
#[test]
fn equal_commits_go_to_the_backend_that_applied_more() {
    let r = best(&[dir("etcd2", 16, 13, (2, 16)), dir("etcd3", 16, 16, (2, 16))]);
    assert_eq!(r.survivor, "etcd3");
    assert!(r.tie);
    assert!(
        r.reason
            .contains("a tie at index 16 between etcd3, etcd2, broken by consistent_index"),
        "{}",
        r.reason
    );
    assert_eq!(
        r.tie_break.as_deref(),
        Some("consistent_index (the backend applied more)")
    );
}

#[test]
fn full_tie_is_broken_by_host_name_whatever_the_order() {
    let x = dir("m2", 9, 9, (2, 9));
    let y = dir("m1", 9, 9, (2, 9));
    for order in [vec![x.clone(), y.clone()], vec![y.clone(), x.clone()]] {
        let r = best(&order);
        assert_eq!(r.survivor, "m1");
        assert!(r.tie);
        assert!(r.tie_break.unwrap().starts_with("host name"));
        assert!(
            r.reason
                .contains("a tie at index 9 between m1, m2, broken by host name"),
            "{}",
            r.reason
        );
    }
    // A higher term wins over a longer index at the same commit.
    let r = best(&[dir("a", 9, 9, (2, 12)), dir("b", 9, 9, (3, 10))]);
    assert_eq!(r.survivor, "b");
}

#[test]
fn learners_are_never_chosen() {
    let l = with(dir("l", 500, 500, (3, 500)), |d| d.is_learner = true);
    let r = best(&[l.clone(), dir("v", 400, 400, (3, 400))]);
    assert_eq!(r.survivor, "v");
    assert_eq!(r.excluded.len(), 1);
    assert!(r.excluded[0].reason.contains("learner"));
    assert_eq!(r.ranking.last().unwrap().rank, None);
    // A running learner too.
    let s = Candidate {
        host: "s".into(),
        facts: Facts::Status(StatusFacts {
            raft_index: 900,
            raft_applied_index: 900,
            is_learner: true,
            ..Default::default()
        }),
    };
    assert_eq!(best(&[s, dir("v", 400, 400, (3, 400))]).survivor, "v");
}

#[test]
fn foreign_cluster_unreadable_and_empty_are_excluded_with_reasons() {
    let foreign = with(dir("f", 999, 999, (9, 999)), |d| d.cluster_id = Some(1));
    let damaged = with(dir("d", 999, 999, (9, 999)), |d| {
        d.errors = vec!["WAL x at byte 8: CRC mismatch".into()]
    });
    let unreadable = Candidate {
        host: "u".into(),
        facts: Facts::Unusable("inspection failed: cannot read /var/lib/etcd".into()),
    };
    let empty = with(dir("e", 0, 0, (0, 0)), |d| {
        d.commit = None;
        d.consistent_index = None;
        d.last_entry = None;
    });
    let r = best(&[
        foreign,
        damaged,
        unreadable,
        empty,
        dir("ok", 10, 10, (2, 10)),
        dir("ok2", 9, 9, (2, 9)),
    ]);
    assert_eq!(r.survivor, "ok");
    let why: Vec<(&str, &str)> = r
        .excluded
        .iter()
        .map(|e| (e.host.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(why.len(), 4, "{why:?}");
    assert!(
        why[0]
            .1
            .contains("belongs to cluster 1, not cdf818194e3a8c32"),
        "{why:?}"
    );
    assert!(why[1].1.contains("CRC mismatch"));
    assert!(why[2].1.contains("cannot read"));
    assert!(why[3].1.starts_with("empty"));
    assert_eq!(r.cluster_id.as_deref(), Some("cdf818194e3a8c32"));
    assert!(r.reason.contains("4 excluded"), "{}", r.reason);
}

#[test]
fn cluster_id_is_the_majority_or_the_given_one() {
    let other = |h| with(dir(h, 50, 50, (2, 50)), |d| d.cluster_id = Some(7));
    // Two of three agree on CLUSTER: the third, though ahead, is foreign.
    let r = best(&[
        other("x"),
        dir("a", 10, 10, (2, 10)),
        dir("b", 11, 11, (2, 11)),
    ]);
    assert_eq!(r.survivor, "b");
    // One against one: no majority, so the caller must say.
    let err = rank(
        &[other("x"), dir("a", 10, 10, (2, 10))],
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, RankError::NoClusterMajority(_)), "{err}");
    let r = rank(
        &[other("x"), dir("a", 10, 10, (2, 10))],
        &Options {
            cluster_id: Some(7),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.survivor, "x");
}

#[test]
fn override_is_honoured_and_says_how_far_behind() {
    let cands = [dir("a", 100, 100, (3, 100)), dir("b", 130, 130, (3, 130))];
    let r = rank(
        &cands,
        &Options {
            survivor: Some("a".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.survivor, "a");
    assert!(r.overridden && !r.forced);
    assert_eq!(r.behind, Some(30));
    assert!(r.reason.contains("30 entries behind b"), "{}", r.reason);
    // Naming the best one is no override.
    let r = rank(
        &cands,
        &Options {
            survivor: Some("b".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!r.overridden);
    assert_eq!(r.behind, Some(0));
    assert!(matches!(
        rank(
            &cands,
            &Options {
                survivor: Some("zz".into()),
                ..Default::default()
            }
        ),
        Err(RankError::UnknownSurvivor(_))
    ));
}

#[test]
fn override_to_an_excluded_member_needs_force() {
    let l = with(dir("l", 140, 140, (3, 140)), |d| d.is_learner = true);
    let cands = [l, dir("b", 130, 130, (3, 130))];
    let ask = |force| Options {
        survivor: Some("l".into()),
        force,
        ..Default::default()
    };
    let err = rank(&cands, &ask(false)).unwrap_err();
    assert!(
        matches!(&err, RankError::SurvivorExcluded { host, .. } if host == "l"),
        "{err}"
    );
    assert!(err.to_string().contains("learner"));
    let r = rank(&cands, &ask(true)).unwrap();
    assert_eq!(r.survivor, "l");
    assert!(r.forced && r.overridden);
    assert_eq!(r.behind, Some(0), "ahead of the best eligible one");
    assert!(r.warnings.iter().any(|w| w.contains("force")));
}

#[test]
fn nothing_eligible_or_nothing_at_all() {
    let u = Candidate {
        host: "u".into(),
        facts: Facts::Unusable("no facts given".into()),
    };
    assert!(matches!(best_err(&[u]), RankError::NoEligible(_)));
    assert!(matches!(best_err(&[]), RankError::NoCandidates));
    assert!(matches!(
        best_err(&[dir("a", 1, 1, (1, 1)), dir("a", 2, 2, (1, 2))]),
        RankError::DuplicateHost(_)
    ));
}

fn best_err(c: &[Candidate]) -> RankError {
    rank(c, &Options::default()).unwrap_err()
}

#[test]
fn running_status_is_on_the_same_scale() {
    let running = Candidate {
        host: "r".into(),
        facts: Facts::Status(StatusFacts {
            member_id: Some(5),
            cluster_id: Some(CLUSTER),
            raft_index: 200,
            raft_applied_index: 199,
            is_learner: false,
        }),
    };
    let r = best(&[dir("d", 150, 150, (3, 150)), running.clone()]);
    assert_eq!(r.survivor, "r");
    assert_eq!(r.ranking[0].source, Some("status"));
    assert!(r.reason.contains("raft index 200"), "{}", r.reason);
    let r = best(&[dir("d", 250, 250, (3, 250)), running]);
    assert_eq!(r.survivor, "d");
}

#[test]
fn candidates_from_module_json() {
    let inspected = json!({
        "changed": false, "member_id": "8e9e05c52164694d", "cluster_id": "cdf818194e3a8c32",
        "hardstate": {"term": 2, "vote": 1, "commit": 49}, "last_entry": {"index": 49, "term": 2},
        "consistent_index": 49, "is_learner": false, "errors": []
    });
    let list = json!([
        {"host": "m1", "data": inspected},
        {"host": "m2", "status": {"member_id": "1", "raft_index": 60, "raft_applied_index": 60, "is_learner": false}},
        {"host": "m3", "data": {"failed": true, "msg": "/var/lib/etcd does not exist"}},
        {"host": "m4", "status": {"endpoint": "https://m4:2379", "error": "connection refused", "raft_index": null}},
        {"host": "m5", "status": {"Endpoint": "x", "Status": {"header": {"cluster_id": 14841639068965178418u64, "member_id": 10276657743932975437u64}, "raftIndex": 70, "raftAppliedIndex": 70, "isLearner": false}}}
    ]);
    let c = candidates_from_value(&list).unwrap();
    assert_eq!(c.len(), 5);
    match &c[0].facts {
        Facts::DataDir(d) => {
            assert_eq!(d.member_id, Some(0x8e9e05c52164694d));
            assert_eq!(d.commit, Some(49));
        }
        f => panic!("{f:?}"),
    }
    assert!(matches!(&c[2].facts, Facts::Unusable(w) if w.contains("does not exist")));
    assert!(matches!(&c[3].facts, Facts::Unusable(w) if w.contains("connection refused")));
    match &c[4].facts {
        Facts::Status(s) => {
            assert_eq!(s.member_id, Some(10276657743932975437));
            assert_eq!(s.cluster_id, Some(14841639068965178418));
            assert_eq!(s.raft_index, 70);
        }
        f => panic!("{f:?}"),
    }
    let r = rank(&c, &Options::default()).unwrap();
    assert_eq!(r.survivor, "m5");
    // A dict of host to registered result.
    let dict = json!({
        "a": inspected,
        "b": {"failed": true, "msg": "boom"},
        // Registered with failed_when: false: failed is off, error_kind stays.
        "c": {"failed": false, "error_kind": "empty", "msg": "/var/lib/etcd is empty"},
        "d": {"unreachable": true, "msg": "ssh: connection refused"},
        "e": {}
    });
    let c = candidates_from_value(&dict).unwrap();
    assert!(matches!(c[0].facts, Facts::DataDir(_)));
    for (i, want) in [(1, "boom"), (2, "is empty"), (3, "ssh"), (4, "no facts")] {
        assert!(
            matches!(&c[i].facts, Facts::Unusable(w) if w.contains(want)),
            "{:?}",
            c[i]
        );
    }
    assert!(candidates_from_value(&json!([{"data": {}}])).is_err());
    assert!(candidates_from_value(&json!("x")).is_err());
    assert!(candidates_from_value(&json!([{"host": "a", "data": {"member_id": "zz"}}])).is_err());
}

/// The lab's case: both keep 16 once applied entries are recorded, one WAL already says so: it
/// is taken, so nothing needs writing.
#[test]
fn equal_keeps_go_to_the_wal_that_already_records_the_commit() {
    let r = best(&[dir("etcd2", 12, 16, (2, 16)), dir("etcd3", 16, 16, (2, 16))]);
    assert_eq!(r.survivor, "etcd3");
    assert!(r.tie);
    assert_eq!(
        r.tie_break.as_deref(),
        Some("WAL commit (the log already records it committed)")
    );
}
