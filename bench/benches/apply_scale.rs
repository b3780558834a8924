//! Apply and destroy of N fake resources in-process (the executor with the fake provider and
//! the real local state store in a temporary directory), N = 1,000, 3,000 and 10,000: what hdh
//! itself costs per resource, without the process start, the config file or real resources.
//! Prints wall time, CPU, bytes written, the final state size and how the time grows with N.
//! Run: `cargo bench -p hdh-bench --bench apply_scale` (`HDH_BENCH_N=1000,3000` to choose N).

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdh_bench::{mb, Usage};
use hdh_engine::apply::{ExecOptions, Executor};
use hdh_engine::plan::{self, Drift, Mode, PlanInput, RetainedPolicy};
use hdh_engine::testkit::{providers_with, FakeProvider};
use hdh_engine::{OpContext, State, StateStore};
use hdh_state::LocalStore;

/// N fakes in chains of ten, each referring to its predecessor.
fn config(n: usize) -> String {
    let mut y = String::from("version: 1\nname: bench\nregion: us-east-1\nresources:\n");
    for i in 0..n {
        let _ = writeln!(y, "  r{i:05}:\n    type: fake_thing\n    properties:");
        let _ = writeln!(y, "      name: \"thing-{i}\"\n      size: {}", i % 7);
        if i % 10 != 0 {
            let _ = writeln!(y, "      input: [\"${{r{:05}.arn}}\"]", i - 1);
        }
    }
    y
}

struct Figures {
    wall: Duration,
    usage: Usage,
    state_size: u64,
}

async fn run(
    n: usize,
    mode: Mode,
    dir: &Path,
    providers: &hdh_engine::Providers,
    config: &hdh_schema::Config,
) -> Figures {
    let store = LocalStore::new(dir.join("bench.state.json"));
    let before = Usage::now();
    let t = Instant::now();
    let mut state = store.load().await.unwrap().unwrap_or_else(State::new);
    let plan = plan::plan(&PlanInput {
        desired: &config.desired,
        state: &state,
        providers,
        mode,
        targets: &[],
        replace: &[],
        drift: &Drift::default(),
    })
    .unwrap();
    let executor = Executor {
        desired: &config.desired,
        providers,
        store: &store,
        ctx: OpContext::new("bench", "us-east-1"),
    };
    let report = executor
        .run(&plan, &mut state, ExecOptions::default())
        .await;
    assert!(report.succeeded(), "{:?}", report.failed.first());
    assert_eq!(report.completed.len(), n);
    let wall = t.elapsed();
    let usage = before.until(&Usage::now());
    let state_size = std::fs::metadata(dir.join("bench.state.json")).map_or(0, |m| m.len());
    Figures {
        wall,
        usage,
        state_size,
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("HDH_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 3_000, 10_000])
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("apply and destroy of N fake resources in-process (fake provider, local state store, parallelism 10):");
    println!(
        "  {:>6}  {:>8}  {:>9}  {:>8}  {:>12}  {:>10}  {:>8}",
        "N", "command", "wall", "CPU", "written", "state", "written/state"
    );
    let mut applies = Vec::new();
    for n in sizes() {
        let fake = Arc::new(FakeProvider::new());
        let providers = providers_with(fake.clone());
        let config =
            hdh_schema::parse_str(&config(n), "bench.yaml", Path::new("."), &providers).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, mode) in [
            ("apply", Mode::Apply),
            (
                "destroy",
                Mode::Destroy {
                    retained: RetainedPolicy::Refuse,
                },
            ),
        ] {
            let f = rt.block_on(run(n, mode, dir.path(), &providers, &config));
            let state = if name == "apply" {
                f.state_size
            } else {
                applies.last().map_or(0, |(_, _, s)| *s)
            };
            println!(
                "  {n:>6}  {name:>8}  {:>7.2} s  {:>6.2} s  {:>12}  {:>10}  {:>8.1}x",
                f.wall.as_secs_f64(),
                f.usage.cpu_self.as_secs_f64(),
                mb(f.usage.written),
                mb(state),
                f.usage.written as f64 / state.max(1) as f64
            );
            if name == "apply" {
                applies.push((n, f.wall, f.state_size));
            }
        }
        assert!(fake.objects().is_empty(), "destroy leaves nothing");
    }
    if let (Some(first), Some(last)) = (applies.first(), applies.last()) {
        if last.0 > first.0 {
            println!(
                "  apply time({}) / time({}) = {:.1} (N grew {:.0}x; goal ≤ 12 for 10k/1k)",
                last.0,
                first.0,
                last.1.as_secs_f64() / first.1.as_secs_f64(),
                last.0 as f64 / first.0 as f64
            );
        }
    }
}
