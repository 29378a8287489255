//! Polling with a deadline: the lab waits for conditions (a port answers, a pid is gone), never
//! for a fixed time.

use std::time::{Duration, Instant};

/// Calls `done` every `every` until it returns true or `timeout` passes; returns its last
/// answer. `done` is always called at least once, and once more at the deadline.
pub fn until(timeout: Duration, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(every.min(deadline - now));
    }
}
