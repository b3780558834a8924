//! `hdh apply` and `hdh destroy` as a user runs them, whole-process, on a config of N local
//! resources whose own cost is near zero (half `random_secret`, half `local_file` each carrying
//! one secret and, in chains of ten, the previous file's hash), N = 1,000, 3,000 and 10,000.
//! Prints wall time, CPU, bytes written (all writes of the process: state, journal, files,
//! terminal output) against the final state size, and how apply time grows with N.
//! Run: `cargo build --release && cargo bench -p hdh-bench --bench apply_process`; the binary
//! measured is `HDH_BIN` or the `hdh` built beside this bench. `HDH_BENCH_N=1000,3000` chooses N.
//! Goals (issue 16): 10,000 applied in ≤ 5 s, time(10k)/time(1k) ≤ 12, written ≤ 20 × state.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use hdh_bench::{mb, Usage};

fn config(n: usize) -> String {
    let mut y = String::from("version: 1\nname: scale\nregion: us-east-1\nresources:\n");
    let half = n / 2;
    for i in 0..half {
        let _ = writeln!(
            y,
            "  s{i}:\n    type: random_secret\n    properties: {{ bytes: 16, encoding: hex }}"
        );
    }
    for i in 0..n - half {
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

fn hdh_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HDH_BIN") {
        return PathBuf::from(p);
    }
    // This bench runs from <target>/release/deps/; the binary is <target>/release/hdh.
    let exe = std::env::current_exe().expect("own path");
    let beside = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("hdh"))
        .unwrap_or_default();
    assert!(
        beside.exists(),
        "no hdh binary at {}: run `cargo build --release` first or set HDH_BIN",
        beside.display()
    );
    beside
}

fn sizes() -> Vec<usize> {
    std::env::var("HDH_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 3_000, 10_000])
}

fn main() {
    let hdh = hdh_binary();
    println!(
        "whole-process `hdh apply` / `hdh destroy` of N local resources ({}):",
        hdh.display()
    );
    println!(
        "  {:>6}  {:>8}  {:>9}  {:>8}  {:>12}  {:>10}  {:>8}",
        "N", "command", "wall", "CPU", "written", "state", "written/state"
    );
    let mut applies: Vec<(usize, f64)> = Vec::new();
    for n in sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hdh.yaml"), config(n)).unwrap();
        let mut state_size = 0;
        for command in ["apply", "destroy"] {
            let before = Usage::now();
            let t = Instant::now();
            let status = Command::new(&hdh)
                .args([command, "--auto-approve"])
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .expect("hdh runs");
            let wall = t.elapsed().as_secs_f64();
            let usage = before.until(&Usage::now());
            assert!(status.success(), "hdh {command} failed: {status}");
            if command == "apply" {
                state_size = std::fs::metadata(dir.path().join(".hdh/scale.state.json"))
                    .map_or(0, |m| m.len());
                applies.push((n, wall));
            }
            println!(
                "  {n:>6}  {command:>8}  {wall:>7.2} s  {:>6.2} s  {:>12}  {:>10}  {:>8.1}x",
                usage.cpu_children.as_secs_f64(),
                mb(usage.written),
                mb(state_size),
                usage.written as f64 / state_size.max(1) as f64
            );
        }
    }
    if let (Some(first), Some(last)) = (applies.first(), applies.last()) {
        if last.0 > first.0 {
            println!(
                "  apply time({}) / time({}) = {:.1} (goal ≤ 12 for 10k/1k)",
                last.0,
                first.0,
                last.1 / first.1
            );
        }
    }
}
