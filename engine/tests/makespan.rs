//! Apply is dependency-driven, not level by level: under tokio's paused clock, with a duration
//! per resource, the makespan equals the graph's critical path.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hdh_engine::apply::{ExecOptions, Executor};
use hdh_engine::graph::{Desired, ResourceSpec};
use hdh_engine::plan::{self, Drift, Mode, PlanInput};
use hdh_engine::provider::OpContext;
use hdh_engine::state::State;
use hdh_engine::testkit::{providers_with, thing, FakeProvider, MemoryStore};
use hdh_engine::value::Value;

/// A deterministic random DAG: each node depends on up to three earlier nodes.
fn random_graph(n: usize, seed: u64) -> (Vec<ResourceSpec>, Vec<Duration>) {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut specs = Vec::new();
    let mut durations = Vec::new();
    for i in 0..n {
        let mut refs = Vec::new();
        if i > 0 {
            for _ in 0..(next() % 4) {
                let j = (next() as usize) % i;
                let name = format!("n{j:03}");
                if !refs.contains(&name) {
                    refs.push(name);
                }
            }
        }
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        specs.push(thing(
            &format!("n{i:03}"),
            &[("name", Value::str(format!("n{i}")))],
            &refs,
        ));
        durations.push(Duration::from_secs(1 + next() % 120));
    }
    (specs, durations)
}

/// Longest path through the graph, weighting each node by its duration.
fn critical_path(d: &Desired, durations: &[Duration]) -> Duration {
    let mut finish = vec![Duration::ZERO; durations.len()];
    for i in d.topo_order() {
        let start = d
            .deps_of(i)
            .iter()
            .map(|&j| finish[j])
            .max()
            .unwrap_or_default();
        finish[i] = start + durations[i];
    }
    finish.into_iter().max().unwrap_or_default()
}

/// What running the graph one level at a time would take.
fn level_by_level(d: &Desired, durations: &[Duration]) -> Duration {
    let mut level = vec![0usize; durations.len()];
    for i in d.topo_order() {
        level[i] = d
            .deps_of(i)
            .iter()
            .map(|&j| level[j] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut longest: BTreeMap<usize, Duration> = BTreeMap::new();
    for (i, l) in level.iter().enumerate() {
        let e = longest.entry(*l).or_default();
        *e = (*e).max(durations[i]);
    }
    longest.values().sum()
}

async fn makespan(
    specs: Vec<ResourceSpec>,
    durations: &[Duration],
) -> (Duration, Duration, Duration) {
    let fake = Arc::new(FakeProvider::new());
    for (s, d) in specs.iter().zip(durations) {
        fake.set_duration(&s.address, *d);
    }
    let providers = providers_with(fake);
    let store = MemoryStore::new();
    let desired = Desired::new("t", "r", BTreeMap::new(), specs, BTreeMap::new()).unwrap();
    let mut state = State::new();
    let plan = plan::plan(&PlanInput {
        desired: &desired,
        state: &state,
        providers: &providers,
        mode: Mode::Apply,
        targets: &[],
        replace: &[],
        drift: &Drift::default(),
    })
    .unwrap();
    let exec = Executor {
        desired: &desired,
        providers: &providers,
        store: &store,
        ctx: OpContext::new("t", "r"),
    };
    let started = tokio::time::Instant::now();
    let report = exec
        .run(
            &plan,
            &mut state,
            ExecOptions {
                parallelism: desired.resources().len(),
                ..Default::default()
            },
        )
        .await;
    assert!(report.succeeded());
    (
        started.elapsed(),
        critical_path(&desired, durations),
        level_by_level(&desired, durations),
    )
}

#[tokio::test(start_paused = true)]
async fn makespan_equals_the_critical_path_where_levels_would_be_slower() {
    // Two chains: a(100s) → b(1s) and c(1s) → d(100s). Levels: 100 + 100; critical path: 101.
    let specs = vec![
        thing("a", &[], &[]),
        thing("b", &[], &["a"]),
        thing("c", &[], &[]),
        thing("d", &[], &["c"]),
    ];
    let durations = [100, 1, 1, 100].map(Duration::from_secs);
    let (took, critical, levels) = makespan(specs, &durations).await;
    assert_eq!(levels, Duration::from_secs(200));
    assert_eq!(critical, Duration::from_secs(101));
    assert!(
        took.as_secs_f64() <= critical.as_secs_f64() * 1.01,
        "{took:?} vs {critical:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn makespan_of_a_random_300_node_graph_is_within_one_percent_of_its_critical_path() {
    let (specs, durations) = random_graph(300, 7);
    let (took, critical, levels) = makespan(specs, &durations).await;
    let ratio = took.as_secs_f64() / critical.as_secs_f64();
    println!("makespan {took:?}, critical path {critical:?}, level by level {levels:?}, ratio {ratio:.4}");
    assert!(
        ratio <= 1.01,
        "makespan {took:?} vs critical path {critical:?}"
    );
    assert!(
        levels > took,
        "level-by-level ({levels:?}) would have been slower than {took:?}"
    );
}
