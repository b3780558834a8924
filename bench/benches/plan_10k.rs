//! Plan of a synthetic 10,000-resource config with the fake provider and no refresh: parsing
//! and validating the YAML, compiling the graph, and planning against an empty state and
//! against a state that already matches. Prints times and the process's peak memory.
//! Run: `cargo bench --bench plan_10k` (target: ≤ 0.3 s and ≤ 150 MB).

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hdh_engine::plan::{self, Drift, Mode, PlanInput};
use hdh_engine::state::{ResourceState, State};
use hdh_engine::testkit::{providers_with, FakeProvider};
use hdh_engine::value::Value;

const N: usize = 10_000;

/// Ten thousand fakes: each refers to up to two earlier ones, forming long chains and fans.
fn config() -> String {
    let mut y = String::from("version: 1\nname: bench\nregion: us-east-1\ntags: { Project: bench }\nresources:\n");
    for i in 0..N {
        let _ = writeln!(y, "  r{i:05}:\n    type: fake_thing\n    properties:");
        let _ = writeln!(y, "      name: \"thing-{i}-${{name}}\"\n      size: {}", i % 7);
        if i > 0 {
            let a = i - 1;
            let b = (i * 7919) % i;
            let _ = writeln!(y, "      input: [\"${{r{a:05}.arn}}\", \"prefix-${{r{b:05}.out}}\"]");
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

fn main() {
    let providers = providers_with(Arc::new(FakeProvider::new()));
    let text = config();

    let t = Instant::now();
    let config = hdh_schema::parse_str(&text, "bench.yaml", Path::new("."), &providers).expect("valid config");
    let load = t.elapsed();
    assert_eq!(config.desired.resources().len(), N);

    let empty = State::new();
    let t = Instant::now();
    let fresh = plan::plan(&PlanInput {
        desired: &config.desired,
        state: &empty,
        providers: &providers,
        mode: Mode::Apply,
        targets: &[],
        drift: &Drift::default(),
    })
    .unwrap();
    let plan_create = t.elapsed();
    assert_eq!(fresh.summary().create, N);

    // A state in which everything exists as configured (what the fake would have made).
    let mut state = State::new();
    for r in config.desired.resources() {
        let mut attributes = std::collections::BTreeMap::new();
        let lookup = |rf: &hdh_engine::Reference| -> Value {
            let e: Option<&ResourceState> = state.resources.get(&rf.address);
            e.and_then(|e| e.attributes.get(&rf.attribute).cloned()).unwrap_or(Value::Unknown)
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
    let bytes = hdh_state::encode(&state);
    let t = Instant::now();
    let state = hdh_state::decode(&bytes, "bench").expect("round trip");
    let decode = t.elapsed();

    let t = Instant::now();
    let steady = plan::plan(&PlanInput {
        desired: &config.desired,
        state: &state,
        providers: &providers,
        mode: Mode::Apply,
        targets: &[],
        drift: &Drift::default(),
    })
    .unwrap();
    let plan_noop = t.elapsed();
    assert!(!steady.has_changes(), "a matching state plans no changes");

    println!("plan of {N} resources (fake provider, no refresh), release build:");
    println!("  parse + validate + compile config: {:>7.1} ms", load.as_secs_f64() * 1e3);
    println!("  plan against empty state ({N} creates): {:>7.1} ms", plan_create.as_secs_f64() * 1e3);
    println!("  plan against matching state (no changes): {:>7.1} ms", plan_noop.as_secs_f64() * 1e3);
    println!("  decode the {N}-resource state file ({:.1} MB): {:>7.1} ms", bytes.len() as f64 / 1e6, decode.as_secs_f64() * 1e3);
    println!(
        "  load + plan, worst case: {:>7.1} ms (target ≤ 300 ms)",
        (load + (plan_create).max(decode + plan_noop)).as_secs_f64() * 1e3
    );
    println!("  peak memory (VmHWM, whole process incl. the {N}-entry state): {:.1} MB (target ≤ 150 MB)", peak_rss_mb());
}
