//! What an apply and a destroy of 1,000 resources with S3 state cost in S3 requests and bytes
//! sent (through a counting proxy in front of the emulator): state writes are grouped, so the
//! PUTs per run stay at or under operations / 10 plus a constant. Prints the figures, with the
//! run's wall time. `HDH_S3_BENCH_N=1000,3000,10000` measures other sizes (issue 16's table).

mod support;

use std::collections::BTreeMap;
use std::fmt::Write;

use hdh_testcloud::{Emulator, Profile};
use support::proxy::Proxy;
use support::runner::Hdh;

const REGION: &str = "us-east-1";
const BUCKET: &str = "scale-state";
/// The sizes measured: `HDH_S3_BENCH_N` (comma-separated), else 1,000.
fn sizes() -> Vec<usize> {
    std::env::var("HDH_S3_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000])
}

fn config(n: usize) -> String {
    let mut y = format!(
        "version: 1\nname: scale\nregion: {REGION}\nstate: {{ backend: s3, bucket: {BUCKET}, key: scale.state.json }}\nresources:\n"
    );
    for i in 0..n / 2 {
        let _ = writeln!(
            y,
            "  s{i}:\n    type: random_secret\n    properties: {{ bytes: 16, encoding: hex }}"
        );
        let prev = if i % 10 == 0 {
            String::new()
        } else {
            format!(" prev=${{f{}.sha256}}", i - 1)
        };
        let _ = writeln!(
            y,
            "  f{i}:\n    type: local_file\n    properties: {{ path: \"out/f{i}.txt\", content: \"s=${{s{i}.value}}{prev}\" }}"
        );
    }
    y
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_state_writes_per_run_stay_under_a_tenth_of_the_operations() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts");
    emu.s3_client(REGION)
        .await
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let proxy = Proxy::start(emu.endpoint());
    for n in sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hdh.yaml"), config(n)).unwrap();
        println!("S3 requests of hdh with {n} local resources and S3 state:");
        for command in ["apply", "destroy"] {
            let seq = emu.request_log().unwrap().last().map_or(0, |r| r.seq);
            let bytes = proxy.bytes_sent();
            let started = std::time::Instant::now();
            let out = Hdh::plain()
                .dir(dir.path())
                .no_color()
                .env("AWS_ENDPOINT_URL", proxy.endpoint())
                .env("AWS_ACCESS_KEY_ID", hdh_testcloud::ACCESS_KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", hdh_testcloud::SECRET_ACCESS_KEY)
                .without_aws_config_files()
                .run([command, "--auto-approve"]);
            let wall = started.elapsed();
            assert!(out.status.success(), "{command}: {}", out.stderr);
            let log = emu.request_log_since(seq).unwrap();
            let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
            for r in log.iter().filter(|r| r.service == "s3") {
                *by_op.entry(r.operation.clone()).or_default() += 1;
            }
            let puts = by_op.get("PutObject").copied().unwrap_or(0);
            let sent = proxy.bytes_sent() - bytes;
            println!(
                "  {command}: {:.2} s, {} S3 requests {by_op:?}, {:.1} MB sent",
                wall.as_secs_f64(),
                by_op.values().sum::<usize>(),
                sent as f64 / 1e6
            );
            // Two lock writes, the first and last whole-state writes, and a few partial
            // batches.
            assert!(
                puts <= n / 10 + 10,
                "{command}: {puts} PUTs for {n} operations"
            );
        }
    }
}

/// The DaskHub example (52 resources, realistic AWS timing scaled down) with its state in S3:
/// what apply and `destroy --keep-retained` cost in state requests. Every result is journaled
/// before the run goes on, so a run writes at most one object per result (plus the locks and
/// the whole writes that start and end it) — never the whole state per change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daskhub_example_with_s3_state_writes_at_most_one_object_per_result() {
    const STATE_BUCKET: &str = "hub-state";
    let run = support::hub::setup(0.002);
    let config = run.emu.aws_config(REGION).await;
    aws_sdk_s3::Client::new(&config)
        .create_bucket()
        .bucket(STATE_BUCKET)
        .send()
        .await
        .unwrap();
    aws_sdk_route53::Client::new(&config)
        .create_hosted_zone()
        .name("example.org")
        .caller_reference("s3-requests")
        .send()
        .await
        .unwrap();
    run.edit(
        "region: us-east-1\n",
        &format!(
            "region: us-east-1\nstate: {{ backend: s3, bucket: {STATE_BUCKET}, key: hub.state.json }}\n"
        ),
    );
    // The state's objects: the lock, the state, its backup and journal objects. The hub's own
    // bucket is created and configured with bucket calls, never object writes.
    let state_calls = [
        "PutObject",
        "GetObject",
        "HeadObject",
        "ListObjectsV2",
        "DeleteObject",
        "DeleteObjects",
        "CopyObject",
    ];
    println!("S3 state requests of the DaskHub example:");
    for (args, operations) in [
        (
            &[
                "apply",
                "-f",
                "daskhub.yaml",
                "--auto-approve",
                "--no-color",
            ][..],
            52,
        ),
        (
            &[
                "destroy",
                "-f",
                "daskhub.yaml",
                "--auto-approve",
                "--keep-retained",
                "--no-color",
            ][..],
            52,
        ),
    ] {
        let seq = run.emu.request_log().unwrap().last().map_or(0, |r| r.seq);
        let out = run
            .runner()
            .env("HDH_TIME_SCALE", run.time_scale.to_string())
            .env("TMPDIR", run.tmpdir())
            .run(args);
        assert!(out.status.success(), "{}: {}", args[0], out.printed());
        let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
        for r in run.emu.request_log_since(seq).unwrap() {
            if r.service == "s3" && state_calls.contains(&r.operation.as_str()) {
                *by_op.entry(r.operation.clone()).or_default() += 1;
            }
        }
        let puts = by_op.get("PutObject").copied().unwrap_or(0);
        println!(
            "  {}: {} state requests {by_op:?}",
            args[0],
            by_op.values().sum::<usize>()
        );
        assert!(
            puts <= operations + 6,
            "{}: {puts} PUTs for {operations} operations",
            args[0]
        );
    }
}
