//! Crash safety of the S3 journal, proven by killing: the emulator's crash switch SIGKILLs
//! `hdh apply` / `hdh destroy` with S3 state at every PutObject (the lock, each journal object,
//! each compaction of the state object), every DeleteObjects (removing the journal objects a
//! compaction contains) and every CopyObject (the backup before a whole write), once before
//! S3 acts and once after S3 acted but before hdh saw the answer. The same command run again (after `force-unlock` when the killed run held the lock,
//! as a user would) converges: nothing lost (every secret the killed run recorded keeps its
//! value), nothing duplicated (exactly the configured files), no lock and no journal object the
//! state object already contains left.

use std::collections::BTreeMap;
use std::fmt::Write;
mod support;

use std::path::Path;
use std::process::Stdio;

use hdh_engine::{StateStore, Value};
use hdh_state_s3::{S3Settings, S3Store};
use hdh_testcloud::{Emulator, KillAt, KillWhen, Profile};
use support::runner::{arm_and_continue, Hdh, Ran};

const REGION: &str = "us-east-1";
const BUCKET: &str = "killed-state";
const TOKENS: usize = 6;
const FILES: usize = 14;

/// Secrets and files in chains of seven, so a run makes several journal objects.
fn config(key: &str) -> String {
    let mut y = format!(
        "version: 1\nname: killed\nregion: {REGION}\nstate: {{ backend: s3, bucket: {BUCKET}, key: {key} }}\nresources:\n"
    );
    for t in 0..TOKENS {
        let _ = writeln!(
            y,
            "  t{t}:\n    type: random_secret\n    properties: {{ bytes: 8, encoding: hex }}"
        );
    }
    for f in 0..FILES {
        let prev = if f % 7 == 0 {
            String::new()
        } else {
            format!(" prev=${{f{}.sha256}}", f - 1)
        };
        let _ = writeln!(
            y,
            "  f{f}:\n    type: local_file\n    properties: {{ path: out/f{f}.txt, content: \"token=${{t{}.value}}{prev}\" }}",
            f % TOKENS
        );
    }
    y
}

struct Stack<'e> {
    emu: &'e Emulator,
    dir: tempfile::TempDir,
    key: String,
    rt: tokio::runtime::Runtime,
}

impl<'e> Stack<'e> {
    fn new(emu: &'e Emulator, n: usize) -> Stack<'e> {
        let dir = tempfile::tempdir().unwrap();
        let key = format!("k{n}.state.json");
        std::fs::write(dir.path().join("hdh.yaml"), config(&key)).unwrap();
        Stack {
            emu,
            dir,
            key,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn d(&self) -> &Path {
        self.dir.path()
    }

    /// Runs hdh; with `kill`, armed with the crash switch from its first call.
    fn hdh(&self, args: &[&str], kill: Option<&KillAt>) -> Ran {
        let hdh = Hdh::plain()
            .dir(self.d())
            .envs(self.emu.env())
            .no_color()
            .without_aws_config_files();
        let mut cmd = match kill {
            Some(_) => hdh.command_stopped(args),
            None => hdh.command(args),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hdh runs");
        if let Some(kill) = kill {
            arm_and_continue(&child, self.emu, kill);
        }
        child.wait_with_output().unwrap().into()
    }

    fn store(&self) -> S3Store {
        let config = self.rt.block_on(self.emu.aws_config(REGION));
        S3Store::with_config(
            S3Settings {
                bucket: BUCKET.into(),
                key: self.key.clone(),
                region: REGION.into(),
                kms_key_id: None,
            },
            config,
        )
    }

    /// The secret values state holds, as every reader sees them (object + journal).
    fn secrets(&self) -> BTreeMap<String, String> {
        let Some(state) = self
            .rt
            .block_on(self.store().load())
            .expect("a killed run's state loads")
        else {
            return BTreeMap::new();
        };
        state
            .resources
            .iter()
            .filter_map(
                |(a, r)| match r.attributes.get("value").map(Value::unmarked) {
                    Some(Value::String(s)) => Some((a.clone(), s)),
                    _ => None,
                },
            )
            .collect()
    }

    /// The lock object's id, if a lock is held.
    fn lock_id(&self) -> Option<String> {
        let lock = self
            .rt
            .block_on(self.store().current_lock())
            .expect("lock readable")?;
        Some(lock.0.id)
    }

    /// Keys under `<key>.journal/`.
    fn journal(&self) -> Vec<String> {
        let s3 = self.rt.block_on(self.emu.s3_client(REGION));
        let out = self
            .rt
            .block_on(
                s3.list_objects_v2()
                    .bucket(BUCKET)
                    .prefix(format!("{}.journal/", self.key))
                    .send(),
            )
            .unwrap();
        out.contents()
            .iter()
            .map(|o| o.key().unwrap().to_string())
            .collect()
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.d().join("out"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

fn expected_files() -> Vec<String> {
    let mut names: Vec<String> = (0..FILES).map(|f| format!("f{f}.txt")).collect();
    names.sort();
    names
}

fn at(operation: &str, n: u64, when: KillWhen) -> KillAt {
    KillAt {
        at: n,
        when,
        service: Some("s3".into()),
        operation: Some(operation.into()),
        any_of: vec![],
    }
}

/// How many of each S3 operation an uninterrupted `args` makes on a fresh stack.
fn counts(emu: &Emulator, stack: &Stack, args: &[&str]) -> BTreeMap<String, u64> {
    let seq = emu.request_log().unwrap().last().map_or(0, |r| r.seq);
    let run = stack.hdh(args, None);
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    let mut by_op = BTreeMap::new();
    for r in emu.request_log_since(seq).unwrap() {
        if r.service == "s3" {
            *by_op.entry(r.operation).or_default() += 1;
        }
    }
    by_op
}

/// Kills `args` at `kill`, runs it again, and checks convergence. Returns whether it was killed.
fn killed_then_rerun(stack: &Stack, args: &[&str], kill: &KillAt) -> bool {
    let label = format!(
        "{} #{} {:?}",
        kill.operation.as_deref().unwrap_or("?"),
        kill.at,
        kill.when
    );
    let killed = stack.hdh(args, Some(kill));
    let was_killed = killed.status.code().is_none();
    if !was_killed {
        assert_eq!(killed.status.code(), Some(0), "{label}: {}", killed.stderr);
    }
    let before = stack.secrets();
    if let Some(id) = stack.lock_id() {
        assert!(was_killed, "{label}: a finished run leaves no lock");
        let unlocked = stack.hdh(&["force-unlock", &id], None);
        assert_eq!(
            unlocked.status.code(),
            Some(0),
            "{label}: {}",
            unlocked.stderr
        );
    }
    let again = stack.hdh(args, None);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{label}: rerun: {}",
        again.stderr
    );
    let plan = stack.hdh(&["plan", "--detailed-exitcode"], None);
    if args[0] == "destroy" {
        assert!(
            stack.files().is_empty(),
            "{label}: files left after destroy"
        );
        assert!(
            stack.secrets().is_empty(),
            "{label}: state left after destroy"
        );
    } else {
        assert_eq!(
            plan.status.code(),
            Some(0),
            "{label}: plan: {}",
            plan.stderr
        );
        assert_eq!(stack.files(), expected_files(), "{label}: files");
        let after = stack.secrets();
        assert_eq!(after.len(), TOKENS, "{label}");
        for (address, value) in &before {
            assert_eq!(
                after.get(address),
                Some(value),
                "{label}: {address} was recorded before the kill and must keep its value"
            );
        }
    }
    // A finished run leaves no journal: one killed after its last journal object and before
    // its final whole write is re-run with nothing to do, and folds the journal it finds.
    let left = stack.journal();
    assert!(left.is_empty(), "{label}: journal objects left: {left:?}");
    assert!(stack.lock_id().is_none(), "{label}: lock left");
    was_killed
}

fn emulator() -> Emulator {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        emu.s3_client(REGION)
            .await
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    });
    emu
}

const APPLY: [&str; 2] = ["apply", "--auto-approve"];
const DESTROY: [&str; 2] = ["destroy", "--auto-approve"];

/// Every PutObject, DeleteObjects and CopyObject (the backup) of `args`, before and after S3
/// acts.
fn every_write(emu: &Emulator, args: &[&str], prepare: impl Fn(&Stack)) -> usize {
    let probe = Stack::new(emu, 0);
    prepare(&probe);
    let by_op = counts(emu, &probe, args);
    let mut n = 1;
    let mut kills = 0;
    for (operation, count) in [
        ("PutObject", by_op.get("PutObject").copied().unwrap_or(0)),
        (
            "DeleteObjects",
            by_op.get("DeleteObjects").copied().unwrap_or(0),
        ),
        ("CopyObject", by_op.get("CopyObject").copied().unwrap_or(0)),
    ] {
        assert!(count > 0, "{args:?} makes {operation} calls: {by_op:?}");
        for k in 1..=count {
            for when in [KillWhen::Before, KillWhen::After] {
                let stack = Stack::new(emu, n);
                n += 1;
                prepare(&stack);
                kills += usize::from(killed_then_rerun(&stack, args, &at(operation, k, when)));
            }
        }
    }
    eprintln!(
        "{args:?}: {} positions (every S3 write of {by_op:?}, before and after), {kills} killed \
         (the rest finished first), all converged",
        n - 1
    );
    kills
}

#[test]
fn apply_killed_at_any_s3_state_write_converges_when_run_again() {
    let emu = emulator();
    let kills = every_write(&emu, &APPLY, |_| {});
    assert!(kills >= 8, "{kills} kills");
}

#[test]
fn destroy_killed_at_any_s3_state_write_converges_when_run_again() {
    let emu = emulator();
    let kills = every_write(&emu, &DESTROY, |s| {
        let applied = s.hdh(&APPLY, None);
        assert_eq!(applied.status.code(), Some(0), "{}", applied.stderr);
    });
    assert!(kills >= 8, "{kills} kills");
}
