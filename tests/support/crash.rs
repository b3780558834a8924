//! The crash harness: `hdh apply`/`destroy` killed with SIGKILL at a chosen call (by the
//! emulator's crash switch, before the call acts or after it acted but before hdh saw the
//! answer), then run again; the run converges when the re-run exits 0, a plan shows nothing to
//! do, and the emulator's normalised inventory equals the one an uninterrupted run left.
//!
//! A `Bench` is one private emulator and one scratch directory (the example, the local state);
//! `fresh()` resets both between positions. hdh is started through `sh` stopped (SIGSTOP)
//! so that the switch is armed with its pid before it makes its first call; the same process
//! then execs hdh, so the pid the switch kills is hdh's and calls are counted from its first.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use hdh_testcloud::{Emulator, InventoryItem, KillAt, KillWhen, Profile};

use super::runner::{arm_and_continue, Hdh, Ran};

/// An example config the harness runs.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Short name for tables.
    pub name: &'static str,
    /// File under `examples/`.
    pub file: &'static str,
    /// A Route 53 hosted zone that must exist beforehand (hdh looks it up, never creates it).
    pub zone: Option<&'static str>,
}

pub const DASKHUB: Example = Example {
    name: "daskhub",
    file: "daskhub.yaml",
    zone: Some("example.org"),
};

pub const EKS_CLUSTER: Example = Example {
    name: "eks-cluster",
    file: "eks-cluster.yaml",
    zone: None,
};

/// Which command is interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// `hdh apply --auto-approve` on a fresh cloud.
    Apply,
    /// `hdh destroy --keep-retained --auto-approve` of an applied stack.
    Destroy,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Apply => "apply",
            Phase::Destroy => "destroy",
        }
    }

    fn args(self, file: &str) -> Vec<String> {
        let mut args = vec![self.name().to_string(), "-f".into(), file.into()];
        if self == Phase::Destroy {
            args.push("--keep-retained".into());
        }
        args.extend(["--auto-approve".into(), "--no-color".into()]);
        args
    }
}

/// One private emulator and scratch directory.
pub struct Bench {
    pub emu: Emulator,
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub example: Example,
    pub time_scale: f64,
    runtime: tokio::runtime::Runtime,
}

impl Bench {
    pub fn new(example: Example, time_scale: f64) -> Bench {
        let emu = Emulator::builder()
            .profile(Profile::Realistic)
            .time_scale(time_scale)
            .start()
            .expect("emulator");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let bench = Bench {
            emu,
            _tmp: tmp,
            dir,
            example,
            time_scale,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        };
        bench.fresh();
        bench
    }

    fn config(&self) -> PathBuf {
        self.dir.join(self.example.file)
    }

    /// An empty cloud (plus the hosted zone) and no state: as before the first apply.
    pub fn fresh(&self) {
        self.emu.reset().expect("reset");
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(self.example.file);
        std::fs::copy(example, self.config()).unwrap();
        if let Some(zone) = self.example.zone {
            self.runtime.block_on(async {
                let config = self.emu.aws_config("us-east-1").await;
                aws_sdk_route53::Client::new(&config)
                    .create_hosted_zone()
                    .name(zone)
                    .caller_reference("crash-harness")
                    .send()
                    .await
                    .expect("hosted zone");
            });
        }
    }

    /// hdh (or the build `HDH_BIN` names: a release, or a copy kept while this tree is
    /// rebuilt) in the bench's directory against its emulator.
    fn runner(&self) -> Hdh {
        let hdh = Hdh::plain()
            .dir(&self.dir)
            .envs(self.emu.env())
            .env("HDH_TIME_SCALE", self.time_scale.to_string());
        match std::env::var("HDH_BIN") {
            Ok(bin) => hdh.program(bin),
            Err(_) => hdh,
        }
    }

    /// Sends `cmd`'s stdout and stderr, interleaved, to a new file; returns its path.
    fn print_to_file(&self, cmd: &mut Command) -> PathBuf {
        let out = self.dir.join(format!("run-{}.out", std::process::id()));
        let file = File::create(&out).unwrap();
        cmd.stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        out
    }

    /// The run's end: `stdout` holds all it printed (both streams went to `out`).
    fn finish(&self, status: ExitStatus, out: &Path) -> Ran {
        let printed = std::fs::read(out).unwrap_or_default();
        let _ = std::fs::remove_file(out);
        Ran::new(status, &printed, b"")
    }

    /// Run hdh to its end.
    pub fn hdh(&self, args: &[String]) -> Ran {
        let mut cmd = self.runner().command(args);
        let out = self.print_to_file(&mut cmd);
        let status = cmd.status().expect("hdh runs");
        self.finish(status, &out)
    }

    /// Run hdh with the crash switch armed on it. Returns the run and the call the switch
    /// fired on (`None`: hdh finished before reaching it).
    pub fn hdh_killed(&self, args: &[String], kill: &KillAt) -> (Ran, Option<String>) {
        let mut cmd = self.runner().command_stopped(args);
        let out = self.print_to_file(&mut cmd);
        let mut child = cmd.spawn().expect("sh runs");
        arm_and_continue(&child, &self.emu, kill);
        let status = child.wait().unwrap();
        let ran = self.finish(status, &out);
        let switch = self.emu.crash_status().expect("crash status");
        let fired = switch["fired"].as_object().map(|call| {
            format!(
                "#{} {} {} ({})",
                call["call"],
                call["service"].as_str().unwrap_or("?"),
                call["operation"].as_str().unwrap_or("?"),
                call["result"].as_str().unwrap_or("?")
            )
        });
        (ran, fired)
    }

    pub fn phase_args(&self, phase: Phase) -> Vec<String> {
        phase.args(self.example.file)
    }

    pub fn plan_args(&self) -> Vec<String> {
        [
            "plan",
            "-f",
            self.example.file,
            "--detailed-exitcode",
            "--no-color",
        ]
        .map(String::from)
        .to_vec()
    }

    /// Counted calls since the last reset.
    pub fn calls(&self) -> u64 {
        self.emu.crash_status().expect("crash status")["calls"]
            .as_u64()
            .unwrap_or(0)
    }
}

/// One counted call of an uninterrupted run, numbered from 1 within its command.
#[derive(Debug, Clone)]
pub struct Call {
    pub n: u64,
    pub service: String,
    pub operation: String,
    /// Same request (AWS: path, query and body; tools: argv without temporary paths).
    pub digest: String,
    /// A read (Describe/Get/List/Head, helm status/get/list, kubectl get).
    pub read: bool,
}

impl Call {
    pub fn label(&self) -> String {
        format!("{} {}", self.service, self.operation)
    }
}

/// What an uninterrupted apply and destroy did and left.
pub struct Reference {
    pub apply_calls: Vec<Call>,
    pub destroy_calls: Vec<Call>,
    pub applied: Vec<InventoryItem>,
    pub destroyed: Vec<InventoryItem>,
    pub apply_secs: f64,
    pub destroy_secs: f64,
}

impl Reference {
    pub fn calls(&self, phase: Phase) -> &[Call] {
        match phase {
            Phase::Apply => &self.apply_calls,
            Phase::Destroy => &self.destroy_calls,
        }
    }

    pub fn expected(&self, phase: Phase) -> &[InventoryItem] {
        match phase {
            Phase::Apply => &self.applied,
            Phase::Destroy => &self.destroyed,
        }
    }
}

fn is_read(service: &str, operation: &str) -> bool {
    match service {
        "helm" => {
            matches!(operation, "status" | "get" | "values" | "list" | "noop")
                || operation.starts_with("get")
                || operation.starts_with("repo")
        }
        "kubectl" => operation == "get" || operation == "version",
        _ => ["Describe", "Get", "List", "Head"]
            .iter()
            .any(|p| operation.starts_with(p)),
    }
}

/// The counted calls with numbers in `(from, to]`, renumbered from 1.
fn calls_between(bench: &Bench, from: u64, to: u64) -> Vec<Call> {
    let mut calls = BTreeMap::new();
    for r in bench.emu.request_log().expect("request log") {
        if let Some(n) = r.call.filter(|n| *n > from && *n <= to) {
            let read = is_read(&r.service, &r.operation);
            calls.insert(
                n,
                Call {
                    n: n - from,
                    service: r.service,
                    operation: r.operation,
                    digest: r.digest,
                    read,
                },
            );
        }
    }
    for t in bench.emu.tool_log().expect("tool log") {
        let Some(n) = t["call"].as_u64().filter(|n| *n > from && *n <= to) else {
            continue;
        };
        let service = t["tool"].as_str().unwrap_or("?").to_string();
        let operation = t["op"].as_str().unwrap_or("?").to_string();
        let argv: Vec<String> = t["argv"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| {
                        let s = v.as_str().unwrap_or("");
                        if s.starts_with('/') {
                            "<path>".to_string()
                        } else {
                            s.to_string()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let read = is_read(&service, &operation);
        calls.insert(
            n,
            Call {
                n: n - from,
                service,
                operation,
                digest: argv.join(" "),
                read,
            },
        );
    }
    assert_eq!(
        calls.len() as u64,
        to - from,
        "every counted call is in the request or tool log"
    );
    calls.into_values().collect()
}

/// The uninterrupted apply, then the uninterrupted destroy (`--keep-retained`).
pub fn reference(bench: &Bench) -> Reference {
    bench.fresh();
    // `fresh` itself made calls (the hosted zone): positions count from hdh's first call
    let before_apply = bench.calls();
    let t = Instant::now();
    let apply = bench.hdh(&bench.phase_args(Phase::Apply));
    assert!(
        apply.status.success(),
        "uninterrupted apply failed:\n{}",
        apply.tail(30)
    );
    let apply_secs = t.elapsed().as_secs_f64();
    let after_apply = bench.calls();
    let apply_calls = calls_between(bench, before_apply, after_apply);
    let plan = bench.hdh(&bench.plan_args());
    assert_eq!(
        plan.status.code(),
        Some(0),
        "plan after an uninterrupted apply:\n{}",
        plan.tail(30)
    );
    let applied = bench.emu.inventory().expect("inventory");
    let before_destroy = bench.calls();
    let t = Instant::now();
    let destroy = bench.hdh(&bench.phase_args(Phase::Destroy));
    assert!(
        destroy.status.success(),
        "uninterrupted destroy failed:\n{}",
        destroy.tail(30)
    );
    let destroy_secs = t.elapsed().as_secs_f64();
    let destroy_calls = calls_between(bench, before_destroy, bench.calls());
    let destroyed = bench.emu.inventory().expect("inventory");
    Reference {
        apply_calls,
        destroy_calls,
        applied,
        destroyed,
        apply_secs,
        destroy_secs,
    }
}

/// The positions worth killing at: every call, except that a read identical (same service,
/// operation and request) to one already made since the last non-read call is collapsed into
/// that earlier position (the repeated polls of a wait).
pub fn collapse(calls: &[Call]) -> Vec<&Call> {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for c in calls {
        if !c.read {
            seen.clear();
            kept.push(c);
        } else if seen.insert((c.service.clone(), c.operation.clone(), c.digest.clone())) {
            kept.push(c);
        }
    }
    kept
}

/// How the cloud after a resumed run differs from the uninterrupted one.
#[derive(Debug, Default, Clone)]
pub struct Diff {
    /// More copies of something the uninterrupted run also made.
    pub duplicates: Vec<String>,
    /// Things the uninterrupted run did not leave at all.
    pub orphans: Vec<String>,
    /// Things the uninterrupted run left that are missing.
    pub missing: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.duplicates.is_empty() && self.orphans.is_empty() && self.missing.is_empty()
    }
}

fn item_label(i: &InventoryItem) -> String {
    let mut s = format!("{} {}", i.kind, i.name);
    if !i.detail.is_empty() {
        s.push_str(&format!(" [{}]", i.detail));
    }
    if !i.tags.is_empty() {
        s.push_str(&format!(" {{{}}}", i.tags));
    }
    s
}

pub fn diff(expected: &[InventoryItem], actual: &[InventoryItem]) -> Diff {
    type Key = (String, String, String, String);
    let key = |i: &InventoryItem| -> Key {
        (
            i.kind.clone(),
            i.name.clone(),
            i.tags.clone(),
            i.detail.clone(),
        )
    };
    let exp: BTreeMap<Key, (u32, &InventoryItem)> =
        expected.iter().map(|i| (key(i), (i.count, i))).collect();
    let act: BTreeMap<Key, (u32, &InventoryItem)> =
        actual.iter().map(|i| (key(i), (i.count, i))).collect();
    let mut d = Diff::default();
    for (k, (n, item)) in &act {
        match exp.get(k) {
            Some((m, _)) if n > m => {
                d.duplicates
                    .push(format!("{} x{} (expected {m})", item_label(item), n))
            }
            None => d.orphans.push(format!("{} x{n}", item_label(item))),
            _ => {}
        }
    }
    for (k, (m, item)) in &exp {
        let n = act.get(k).map(|(n, _)| *n).unwrap_or(0);
        if n < *m {
            d.missing
                .push(format!("{} x{n} (expected {m})", item_label(item)));
        }
    }
    d
}

/// One killed-and-resumed run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub phase: Phase,
    pub kill: KillAt,
    /// The call the switch fired on, as the emulator saw it (`None`: never reached).
    pub fired: Option<String>,
    /// Why it did not converge, if it did not.
    pub failure: Option<String>,
    pub diff: Diff,
    pub secs: f64,
}

impl Outcome {
    pub fn converged(&self) -> bool {
        self.failure.is_none() && self.diff.is_empty()
    }

    pub fn line(&self) -> String {
        let at = match (&self.kill.service, &self.kill.operation) {
            (_, Some(op)) => format!("{op}#{}", self.kill.at),
            (Some(s), None) => format!("{s}#{}", self.kill.at),
            (None, None) => format!("#{}", self.kill.at),
        };
        let mut s = format!(
            "{} {at} {}: killed at {} -> {} ({:.1}s)",
            self.phase.name(),
            self.kill.when.as_str(),
            self.fired.as_deref().unwrap_or("(not reached)"),
            if self.converged() {
                "converged"
            } else {
                "NOT converged"
            },
            self.secs
        );
        if let Some(f) = &self.failure {
            s.push_str(&format!("\n    {}", f.replace('\n', "\n    ")));
        }
        for (what, list) in [
            ("duplicate", &self.diff.duplicates),
            ("orphan", &self.diff.orphans),
            ("missing", &self.diff.missing),
        ] {
            for i in list {
                s.push_str(&format!("\n    {what}: {i}"));
            }
        }
        s
    }
}

/// Kill `phase` at `kill`, run it again, check convergence against `reference`.
pub fn run_position(bench: &Bench, reference: &Reference, phase: Phase, kill: KillAt) -> Outcome {
    let t = Instant::now();
    bench.fresh();
    let mut failure = None;
    if phase == Phase::Destroy {
        let apply = bench.hdh(&bench.phase_args(Phase::Apply));
        if !apply.status.success() {
            failure = Some(format!(
                "the apply before the destroy failed:\n{}",
                apply.tail(15)
            ));
        }
    }
    let mut fired = None;
    if failure.is_none() {
        let (killed, f) = bench.hdh_killed(&bench.phase_args(phase), &kill);
        fired = f;
        if fired.is_none() && !killed.status.success() {
            failure = Some(format!(
                "the run to be killed failed on its own ({}):\n{}",
                killed.status,
                killed.tail(15)
            ));
        }
    }
    let mut outcome = finish_position(bench, reference, phase, failure);
    outcome.kill = kill;
    outcome.fired = fired;
    outcome.secs = t.elapsed().as_secs_f64();
    outcome
}

/// Run `jobs` on `workers` benches (each its own emulator), printing each outcome as it ends.
pub fn run_all(
    example: Example,
    time_scale: f64,
    reference: &Reference,
    jobs: Vec<(Phase, KillAt)>,
    workers: usize,
) -> Vec<Outcome> {
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    let total = queue.lock().unwrap().len();
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                let bench = Bench::new(example, time_scale);
                loop {
                    let Some((phase, kill)) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let outcome = run_position(&bench, reference, phase, kill);
                    let mut r = results.lock().unwrap();
                    r.push(outcome.clone());
                    eprintln!(
                        "[{} {}/{}] {}",
                        example.name,
                        r.len(),
                        total,
                        outcome.line()
                    );
                }
            });
        }
    });
    results.into_inner().unwrap()
}

/// A position for each kept call of `phase`, in both modes.
pub fn every_position(reference: &Reference, phase: Phase) -> Vec<(Phase, KillAt)> {
    let mut jobs = Vec::new();
    for c in collapse(reference.calls(phase)) {
        for when in [KillWhen::Before, KillWhen::After] {
            jobs.push((
                phase,
                KillAt {
                    at: c.n,
                    when,
                    service: None,
                    operation: None,
                    any_of: Vec::new(),
                },
            ));
        }
    }
    jobs
}

/// One row of the sweep's table.
pub struct Row {
    pub example: &'static str,
    pub phase: Phase,
    pub raw: usize,
    pub collapsed: usize,
    pub outcomes: Vec<Outcome>,
    pub secs: f64,
}

pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "example      phase    calls raw  collapsed  runs  converged  not reached  duplicates  orphans  missing  time\n",
    );
    for r in rows {
        let count = |f: fn(&Diff) -> usize| r.outcomes.iter().map(|o| f(&o.diff)).sum::<usize>();
        s.push_str(&format!(
            "{:<12} {:<8} {:>9}  {:>9}  {:>4}  {:>9}  {:>11}  {:>10}  {:>7}  {:>7}  {:.0}s\n",
            r.example,
            r.phase.name(),
            r.raw,
            r.collapsed,
            r.outcomes.len(),
            r.outcomes.iter().filter(|o| o.converged()).count(),
            r.outcomes.iter().filter(|o| o.fired.is_none()).count(),
            count(|d| d.duplicates.len()),
            count(|d| d.orphans.len()),
            count(|d| d.missing.len()),
            r.secs
        ));
    }
    s
}

/// The operations that change something, in the order an uninterrupted run first made them.
pub fn mutating_operations(calls: &[Call]) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    calls
        .iter()
        .filter(|c| !c.read)
        .map(|c| (c.service.clone(), c.operation.clone()))
        .filter(|k| seen.insert(k.clone()))
        .collect()
}

/// One run of `phase` killed again and again, each time at the first call of an operation in
/// `ops` not yet killed at (whichever of them the resumed run reaches first), until a resumed run
/// makes none of them; then it is run to its end and must converge like `run_position`. The
/// kills accumulate in one cloud, so each resumed run starts from what all the earlier kills
/// left. Operations a round finished without being killed at (in flight when a run was killed)
/// get another round on a fresh cloud, while rounds still kill at something new. `fired` lists
/// the calls killed at; operations never killed at are `not_reached`.
pub struct Chain {
    pub outcome: Outcome,
    pub fired: Vec<String>,
    pub not_reached: Vec<String>,
}

pub fn run_chain(
    bench: &Bench,
    reference: &Reference,
    phase: Phase,
    when: KillWhen,
    ops: &[(String, String)],
) -> Chain {
    let t = Instant::now();
    let mut fired = Vec::new();
    let mut left: Vec<(String, String)> = ops.to_vec();
    let mut outcome;
    // Rounds on a fresh cloud: calls already in flight when a run is killed still act, so a
    // round can finish operations it never killed at; the next round tries those again.
    loop {
        let before = fired.len();
        let failure = chain_round(bench, phase, when, &mut left, &mut fired);
        outcome = finish_position(bench, reference, phase, failure);
        if !outcome.converged() || left.is_empty() || fired.len() == before {
            break;
        }
    }
    let not_reached = left.iter().map(|(s, o)| format!("{s} {o}")).collect();
    outcome.kill = KillAt {
        at: 1,
        when,
        service: None,
        operation: Some(format!("{} operations", ops.len())),
        any_of: Vec::new(),
    };
    outcome.fired = fired.last().cloned();
    outcome.secs = t.elapsed().as_secs_f64();
    Chain {
        outcome,
        fired,
        not_reached,
    }
}

/// One round of a chain on a fresh cloud: killed again and again at the operations still in
/// `left` until a resumed run reaches none of them. Returns why it failed, if it did.
fn chain_round(
    bench: &Bench,
    phase: Phase,
    when: KillWhen,
    left: &mut Vec<(String, String)>,
    fired: &mut Vec<String>,
) -> Option<String> {
    bench.fresh();
    if phase == Phase::Destroy {
        let apply = bench.hdh(&bench.phase_args(Phase::Apply));
        if !apply.status.success() {
            return Some(format!(
                "the apply before the destroy failed:\n{}",
                apply.tail(15)
            ));
        }
    }
    while !left.is_empty() {
        let kill = KillAt {
            at: 1,
            when,
            service: None,
            operation: None,
            any_of: left.clone(),
        };
        let (ran, f) = bench.hdh_killed(&bench.phase_args(phase), &kill);
        let st = bench.emu.crash_status().expect("crash status");
        match (f, st["fired"].as_object()) {
            (Some(f), Some(call)) => {
                let hit = (
                    call["service"].as_str().unwrap_or("?").to_string(),
                    call["operation"].as_str().unwrap_or("?").to_string(),
                );
                left.retain(|op| *op != hit);
                fired.push(f);
            }
            _ if ran.status.success() => return None,
            _ => {
                return Some(format!(
                    "{} (resumed, to be killed at one of {} operations) exited {}:\n{}",
                    phase.name(),
                    left.len(),
                    ran.status,
                    ran.tail(15)
                ))
            }
        }
    }
    None
}

/// Run `phase` to its end, then (apply) a plan, then compare the inventory.
fn finish_position(
    bench: &Bench,
    reference: &Reference,
    phase: Phase,
    mut failure: Option<String>,
) -> Outcome {
    if failure.is_none() {
        let again = bench.hdh(&bench.phase_args(phase));
        if !again.status.success() {
            failure = Some(format!(
                "{} again exited {}:\n{}",
                phase.name(),
                again.status,
                again.tail(15)
            ));
        }
    }
    if failure.is_none() && phase == Phase::Apply {
        let plan = bench.hdh(&bench.plan_args());
        if plan.status.code() != Some(0) {
            failure = Some(format!(
                "plan --detailed-exitcode exited {}:\n{}",
                plan.status,
                plan.tail(25)
            ));
        }
    }
    let diff = match bench.emu.inventory() {
        Ok(actual) => diff(reference.expected(phase), &actual),
        Err(e) => {
            failure.get_or_insert(format!("inventory: {e}"));
            Diff::default()
        }
    };
    Outcome {
        phase,
        kill: KillAt {
            at: 0,
            when: KillWhen::Before,
            service: None,
            operation: None,
            any_of: Vec::new(),
        },
        fired: None,
        failure,
        diff,
        secs: 0.0,
    }
}
