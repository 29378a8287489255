//! A short, bounded run of every fuzz target (examples/fuzz.rs runs them for as long as asked).

mod fuzz_targets;

use fuzz_targets::{mutate, Rng, TARGETS};

const ROUNDS: usize = 3000;

fn run(name: &str) {
    let target = TARGETS.iter().find(|t| t.name == name).expect("target");
    let seeds = (target.seeds)();
    for s in &seeds {
        (target.run)(s);
    }
    let mut rng = Rng::new(0x5eed ^ name.len() as u64);
    for round in 0..ROUNDS {
        let input = mutate(&mut rng, &seeds);
        let outcome = std::panic::catch_unwind(|| (target.run)(&input));
        assert!(
            outcome.is_ok(),
            "{name} panicked at round {round} on input {input:?}"
        );
    }
}

#[test]
fn fuzz_wal() {
    run("wal");
}

#[test]
fn fuzz_snap() {
    run("snap");
}

#[test]
fn fuzz_v2() {
    run("v2");
}
