//! Crash consistency, proven by killing: `hdh apply` and `hdh destroy --keep-retained` of the
//! examples are SIGKILLed by the emulator's crash switch at a chosen call (before the call acts,
//! or after it acted and before hdh saw the answer), then run again. Each must exit 0, leave a
//! plan with nothing to do, and leave the emulator holding exactly what an uninterrupted run
//! leaves (no duplicate, no orphan, nothing missing).
//!
//! `scripts/crash-sweep` runs `full_sweep` (ignored here: it takes long) over every position.

mod support;

use std::time::Instant;

use hdh_testcloud::KillWhen;
use support::crash::{
    collapse, every_position, mutating_operations, reference, run_all, run_chain, table, Bench,
    Phase, Row, DASKHUB, EKS_CLUSTER,
};

/// AWS time runs 2,000 times faster; hdh's waits poll accordingly.
const TIME_SCALE: f64 = 0.0005;

/// CI's sample: for each example, apply and destroy are killed at the first call of every
/// operation that changes something (so every resource type's create and delete), once
/// before and once after the call acts. One run per mode is killed again and again (each
/// resumed run at the first such operation not yet killed at), then resumed to its end; the
/// DaskHub chains only kill at the operations the EKS example does not make. Two workers, each
/// with its own emulator. At least half of each chain's operations must really be killed at
/// (the others were finished by a run before it was killed).
#[test]
fn every_create_and_delete_call_survives_a_kill_before_and_after_it() {
    let eks = Bench::new(EKS_CLUSTER, TIME_SCALE);
    let eks_ref = reference(&eks);
    let hub = Bench::new(DASKHUB, TIME_SCALE);
    let hub_ref = reference(&hub);
    let mut report = Vec::new();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (bench, own, other) in [(&eks, &eks_ref, None), (&hub, &hub_ref, Some(&eks_ref))] {
            handles.push(s.spawn(move || {
                let mut lines = Vec::new();
                for phase in [Phase::Apply, Phase::Destroy] {
                    let mut ops = mutating_operations(own.calls(phase));
                    if let Some(other) = other {
                        let known = mutating_operations(other.calls(phase));
                        ops.retain(|op| !known.contains(op));
                    }
                    assert!(
                        !ops.is_empty(),
                        "{} {}: nothing to kill at",
                        bench.example.name,
                        phase.name()
                    );
                    for when in [KillWhen::Before, KillWhen::After] {
                        let chain = run_chain(bench, own, phase, when, &ops);
                        lines.push((bench.example.name, ops.len(), chain));
                    }
                }
                lines
            }));
        }
        for h in handles {
            report.extend(h.join().unwrap());
        }
    });
    let mut failures = Vec::new();
    for (example, ops, chain) in &report {
        eprintln!(
            "{example}: {ops} operations, killed at {} ({} not reached): {}",
            chain.fired.len(),
            chain.not_reached.len(),
            chain.outcome.line()
        );
        for f in &chain.fired {
            eprintln!("    killed at {f}");
        }
        if !chain.outcome.converged() {
            failures.push(format!("{example} {}", chain.outcome.line()));
        }
    }
    assert!(
        failures.is_empty(),
        "did not converge:\n{}",
        failures.join("\n")
    );
    // the sample is only worth something if most operations were really killed at
    for (example, ops, chain) in &report {
        assert!(
            chain.fired.len() * 2 >= *ops,
            "{example}: only {} of {ops} operations killed at; not reached: {:?}",
            chain.fired.len(),
            chain.not_reached
        );
    }
}

#[test]
#[ignore = "the full sweep takes long: run scripts/crash-sweep"]
fn full_sweep() {
    let examples =
        std::env::var("HDH_CRASH_EXAMPLES").unwrap_or_else(|_| "eks-cluster,daskhub".into());
    let phases = std::env::var("HDH_CRASH_PHASES").unwrap_or_else(|_| "apply,destroy".into());
    let workers: usize = std::env::var("HDH_CRASH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let limit: Option<usize> = std::env::var("HDH_CRASH_LIMIT")
        .ok()
        .and_then(|w| w.parse().ok());
    let mut rows = Vec::new();
    for example in [EKS_CLUSTER, DASKHUB] {
        if !examples.split(',').any(|e| e == example.name) {
            continue;
        }
        let bench = Bench::new(example, TIME_SCALE);
        let reference = reference(&bench);
        drop(bench);
        eprintln!(
            "{}: uninterrupted apply {} calls in {:.1}s, destroy {} calls in {:.1}s",
            example.name,
            reference.apply_calls.len(),
            reference.apply_secs,
            reference.destroy_calls.len(),
            reference.destroy_secs
        );
        for phase in [Phase::Apply, Phase::Destroy] {
            if !phases.split(',').any(|p| p == phase.name()) {
                continue;
            }
            let raw = reference.calls(phase).len();
            let collapsed = collapse(reference.calls(phase)).len();
            let mut jobs = every_position(&reference, phase);
            if let Some(n) = limit {
                jobs.truncate(n);
            }
            let t = Instant::now();
            let outcomes = run_all(example, TIME_SCALE, &reference, jobs, workers);
            rows.push(Row {
                example: example.name,
                phase,
                raw,
                collapsed,
                outcomes,
                secs: t.elapsed().as_secs_f64(),
            });
        }
    }
    println!("{}", table(&rows));
    for r in &rows {
        for o in r.outcomes.iter().filter(|o| !o.converged()) {
            println!("{} {}", r.example, o.line());
        }
    }
    let failed: usize = rows
        .iter()
        .map(|r| r.outcomes.iter().filter(|o| !o.converged()).count())
        .sum();
    assert_eq!(failed, 0, "positions that did not converge (listed above)");
}
