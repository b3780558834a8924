//! Plan of a synthetic 10,000-resource config with the fake provider and no refresh: parsing
//! and validating the YAML, compiling the graph, and planning against an empty state and
//! against a state that already matches. Prints times and the process's peak memory.
//! Run: `cargo bench -p hdh-bench` (target: ≤ 0.3 s and ≤ 150 MB).

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hdh_engine::plan::{self, Drift, Mode, PlanInput};
use hdh_engine::state::{ResourceState, State};
use hdh_engine::testkit::{providers_with, FakeProvider};
use hdh_engine::value::Value;

const N: usize = 10_000;
/// Each phase runs this many times; the best and the median are reported (the machine is shared).
const RUNS: usize = 5;

/// Runs `f` RUNS times; returns (best, median) and the last result.
fn timed<T>(mut f: impl FnMut() -> T) -> (std::time::Duration, std::time::Duration, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], times[RUNS / 2], last.expect("RUNS > 0"))
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Ten thousand fakes: each refers to up to two earlier ones, forming long chains and fans.
fn config() -> String {
    let mut y = String::from(
        "version: 1\nname: bench\nregion: us-east-1\ntags: { Project: bench }\nresources:\n",
    );
    for i in 0..N {
        let _ = writeln!(y, "  r{i:05}:\n    type: fake_thing\n    properties:");
        let _ = writeln!(
            y,
            "      name: \"thing-{i}-${{name}}\"\n      size: {}",
            i % 7
        );
        if i > 0 {
            let a = i - 1;
            let b = (i * 7919) % i;
            let _ = writeln!(
                y,
                "      input: [\"${{r{a:05}.arn}}\", \"prefix-${{r{b:05}.out}}\"]"
            );
        }
    }
    y
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn plan_of<'a>(
    config: &'a hdh_schema::Config,
    state: &'a State,
    providers: &'a hdh_engine::Providers,
) -> plan::Plan {
    plan::plan(&PlanInput {
        desired: &config.desired,
        state,
        providers,
        mode: Mode::Apply,
        targets: &[],
        replace: &[],
        drift: &Drift::default(),
    })
    .unwrap()
}

/// A state in which everything exists as configured (what the fake would have made).
fn matching_state(config: &hdh_schema::Config) -> State {
    let mut state = State::new();
    for r in config.desired.resources() {
        let mut attributes = std::collections::BTreeMap::new();
        let lookup = |rf: &hdh_engine::Reference| -> Value {
            let e: Option<&ResourceState> = state.resources.get(&rf.address);
            e.and_then(|e| e.attributes.get(&rf.attribute).cloned())
                .unwrap_or(Value::Unknown)
        };
        for (k, e) in &r.properties {
            attributes.insert(k.clone(), e.eval(&lookup));
        }
        let size = attributes.get("size").and_then(Value::as_i64).unwrap_or(0);
        attributes.insert("arn".into(), Value::str(format!("arn:fake:{}", r.address)));
        attributes.insert("out".into(), Value::str(format!("{}-{size}", r.address)));
        attributes.insert("secret".into(), Value::str("s").sensitive());
        state.resources.insert(
            r.address.clone(),
            ResourceState {
                type_name: r.type_name.clone(),
                id: format!("fake-{}", r.address),
                attributes,
                dependencies: r.dependencies().into_iter().collect(),
                lifecycle: r.lifecycle.clone(),
            },
        );
    }
    state
}

fn main() {
    let providers = providers_with(Arc::new(FakeProvider::new()));
    let text = config();
    let parse = || {
        hdh_schema::parse_str(&text, "bench.yaml", Path::new("."), &providers)
            .expect("valid config")
    };
    let bytes = hdh_state::encode(&matching_state(&parse()));

    // One pass as `hdh plan` does it, for peak memory: config, state file, plan.
    {
        let config = parse();
        let state = hdh_state::decode(&bytes, "bench").expect("round trip");
        let plan = plan_of(&config, &state, &providers);
        assert!(!plan.has_changes(), "a matching state plans no changes");
    }
    let peak = peak_rss_mb();

    let (load_best, load_median, config) = timed(parse);
    assert_eq!(config.desired.resources().len(), N);
    let empty = State::new();
    let (create_best, create_median, fresh) = timed(|| plan_of(&config, &empty, &providers));
    assert_eq!(fresh.summary().create, N);
    drop(fresh);
    let (decode_best, decode_median, state) =
        timed(|| hdh_state::decode(&bytes, "bench").expect("round trip"));
    let (noop_best, noop_median, steady) = timed(|| plan_of(&config, &state, &providers));
    assert!(!steady.has_changes());

    println!("plan of {N} resources (fake provider, no refresh), release build, best / median of {RUNS}:");
    println!(
        "  parse + validate + compile config:            {:>6.1} / {:>6.1} ms",
        ms(load_best),
        ms(load_median)
    );
    println!(
        "  plan against empty state ({N} creates):     {:>6.1} / {:>6.1} ms",
        ms(create_best),
        ms(create_median)
    );
    println!(
        "  decode the state file ({:.1} MB):              {:>6.1} / {:>6.1} ms",
        bytes.len() as f64 / 1e6,
        ms(decode_best),
        ms(decode_median)
    );
    println!(
        "  plan against matching state (no changes):    {:>6.1} / {:>6.1} ms",
        ms(noop_best),
        ms(noop_median)
    );
    let worst = |l, c, d, n| ms(l) + ms(c).max(ms(d) + ms(n));
    println!(
        "  hdh plan's work, config + state + plan:      {:>6.1} / {:>6.1} ms (target ≤ 300 ms)",
        worst(load_best, create_best, decode_best, noop_best),
        worst(load_median, create_median, decode_median, noop_median)
    );
    println!(
        "  peak memory of one such plan (VmHWM, whole process): {peak:.1} MB (target ≤ 150 MB)"
    );
}
