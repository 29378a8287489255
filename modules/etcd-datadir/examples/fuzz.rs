//! Mutation fuzzing of the data-dir parsers (WAL, .snap, v2 requests and store); keeps any
//! input that makes one panic, so it can be replayed and turned into a test.
//!
//!   cargo run --profile fuzz -p etcd-datadir --example fuzz -- [wal|snap|v2|all] [SECONDS] [SEED]

#[path = "../tests/fuzz_targets/mod.rs"]
mod fuzz_targets;

use fuzz_targets::{mutate, Rng, TARGETS};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let targets: Vec<_> = TARGETS
        .iter()
        .filter(|t| which == "all" || t.name == which)
        .collect();
    if targets.is_empty() {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        eprintln!("no target {which}; targets: all, {}", names.join(", "));
        std::process::exit(2);
    }
    std::panic::set_hook(Box::new(|_| {}));
    let per_target = Duration::from_secs(seconds) / targets.len() as u32;
    let mut failed = false;
    for target in targets {
        let seeds = (target.seeds)();
        let mut rng = Rng::new(seed ^ target.name.len() as u64);
        let deadline = Instant::now() + per_target;
        let mut runs = 0u64;
        while Instant::now() < deadline {
            let input = mutate(&mut rng, &seeds);
            runs += 1;
            if let Err(panic) = std::panic::catch_unwind(|| (target.run)(&input)) {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let file = format!("fuzz-crash-{}-{seed}-{runs}", target.name);
                let _ = std::fs::write(&file, &input);
                eprintln!(
                    "{}: PANIC after {runs} runs: {why}; input saved to {file}",
                    target.name
                );
                failed = true;
                break;
            }
        }
        println!(
            "{}: {runs} inputs in {per_target:?}, seed {seed}",
            target.name
        );
    }
    std::process::exit(i32::from(failed));
}
