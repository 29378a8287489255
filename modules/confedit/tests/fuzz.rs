//! A short, bounded run of every fuzz target (`make fuzz` runs them for as long as asked).

mod common;
mod fuzz_targets;

use common::Rng;
use fuzz_targets::{mutate, seeds_of, TARGETS};

const ROUNDS: usize = 1500;

fn run(name: &str) {
    let target = TARGETS.iter().find(|t| t.name == name).expect("target");
    let seeds = seeds_of(target);
    let mut rng = Rng::new(0x5eed ^ name.len() as u64);
    for round in 0..ROUNDS {
        let input = mutate(&mut rng, &seeds);
        let outcome = std::panic::catch_unwind(|| (target.run)(&input));
        assert!(
            outcome.is_ok(),
            "{name} panicked at round {round} on input {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn fuzz_envfile() {
    run("envfile");
}

#[test]
fn fuzz_inventory() {
    run("inventory");
}

#[test]
fn fuzz_yamlseq() {
    run("yamlseq");
}

#[test]
fn fuzz_initial_cluster() {
    run("initial_cluster");
}

#[test]
fn fuzz_url() {
    run("url");
}
