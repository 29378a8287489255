//! Raft's arithmetic, in one place, so every guard rail and verdict agrees.

/// Votes needed for a cluster of `voting` members.
pub fn quorum_size(voting: usize) -> usize {
    voting / 2 + 1
}

/// Members that may fail without losing quorum.
pub fn fault_tolerance(voting: usize) -> usize {
    voting.saturating_sub(quorum_size(voting))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_and_tolerance() {
        let table = [
            (1, 1, 0),
            (2, 2, 0),
            (3, 2, 1),
            (4, 3, 1),
            (5, 3, 2),
            (7, 4, 3),
        ];
        for (n, q, t) in table {
            assert_eq!(quorum_size(n), q, "quorum of {n}");
            assert_eq!(fault_tolerance(n), t, "tolerance of {n}");
        }
    }
}
