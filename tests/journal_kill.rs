//! Crash safety of the state journal, proven by killing: hdh is made to SIGKILL itself in the
//! middle of a journal append (half a record on disk), of a compaction (the state file
//! written, the journal not yet reset) or before the whole write that ends the run (every
//! result journaled), at every such point of an apply and of a destroy; the
//! same command run again converges, with nothing lost (every secret the killed run recorded
//! keeps its value) and nothing duplicated (exactly the configured files exist).

use std::collections::BTreeMap;
use std::fmt::Write;
mod support;

use std::path::Path;

use hdh_engine::{StateStore, Value};
use hdh_state::LocalStore;
use support::runner::{Hdh, Ran};

const TOKENS: usize = 12;
const FILES: usize = 30;
const STATE: &str = ".hdh/killed.state.json";

/// Secrets and files in chains of five (each file carries a token and its predecessor's hash).
fn config() -> String {
    let mut y = String::from("version: 1\nname: killed\nregion: us-east-1\nresources:\n");
    for t in 0..TOKENS {
        let _ = writeln!(
            y,
            "  t{t}:\n    type: random_secret\n    properties: {{ bytes: 8, encoding: hex }}"
        );
    }
    for f in 0..FILES {
        let prev = if f % 5 == 0 {
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

fn hdh(dir: &Path, args: &[&str], kill_at: Option<&str>) -> Ran {
    let hdh = Hdh::plain()
        .dir(dir)
        .no_color()
        .env_remove("HDH_TEST_KILL_AT");
    match kill_at {
        Some(k) => hdh.env("HDH_TEST_KILL_AT", k),
        None => hdh,
    }
    .run(args)
}

/// The secret values state holds, by address, as every reader sees them (file + journal).
fn secrets(dir: &Path) -> BTreeMap<String, String> {
    let store = LocalStore::new(dir.join(STATE));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let Some(state) = rt
        .block_on(store.load())
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

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("out"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn expected_files() -> Vec<String> {
    let mut names: Vec<String> = (0..FILES).map(|f| format!("f{f}.txt")).collect();
    names.sort();
    names
}

/// Kills `args` at `kill_at`, runs it again, and checks convergence. Returns whether the kill
/// happened (a point past the last append lets the run finish).
fn killed_then_rerun(dir: &Path, args: &[&str], kill_at: &str) -> bool {
    let killed = hdh(dir, args, Some(kill_at));
    let was_killed = killed.status.code().is_none();
    if !was_killed {
        assert_eq!(
            killed.status.code(),
            Some(0),
            "{kill_at}: {}",
            killed.stderr
        );
    }
    let before = secrets(dir);
    let again = hdh(dir, args, None);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{kill_at}: rerun: {}",
        again.stderr
    );
    let plan = hdh(dir, &["plan", "--detailed-exitcode"], None);
    let destroying = args[0] == "destroy";
    if destroying {
        assert!(files(dir).is_empty(), "{kill_at}: files left after destroy");
    } else {
        assert_eq!(
            plan.status.code(),
            Some(0),
            "{kill_at}: plan after rerun: {}",
            plan.stderr
        );
        assert_eq!(
            files(dir),
            expected_files(),
            "{kill_at}: no file missing or extra"
        );
        let after = secrets(dir);
        assert_eq!(after.len(), TOKENS);
        for (address, value) in &before {
            assert_eq!(
                after.get(address),
                Some(value),
                "{kill_at}: {address} was recorded before the kill and must keep its value"
            );
        }
    }
    assert!(
        !dir.join(format!("{STATE}.journal")).exists(),
        "{kill_at}: a finished run leaves no journal"
    );
    assert!(
        !dir.join(format!("{STATE}.lock")).exists(),
        "{kill_at}: a finished run leaves no lock"
    );
    was_killed
}

fn stack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hdh.yaml"), config()).unwrap();
    dir
}

#[test]
fn apply_killed_in_any_journal_append_or_compaction_converges_when_run_again() {
    let apply = ["apply", "--auto-approve"];
    let mut kills = 0;
    for k in 1..=8 {
        let dir = stack();
        let killed = killed_then_rerun(dir.path(), &apply, &format!("journal-append:{k}"));
        assert!(killed || k > 2, "journal-append:{k} must be reached");
        kills += usize::from(killed);
    }
    for k in 1..=2 {
        let dir = stack();
        assert!(killed_then_rerun(
            dir.path(),
            &apply,
            &format!("compaction:{k}")
        ));
        kills += 1;
    }
    // Killed with every result journaled, before the whole write that ends the run: the run
    // again has nothing to do, and folds the journal it finds.
    let dir = stack();
    assert!(killed_then_rerun(dir.path(), &apply, "save:1"));
    kills += 1;
    assert!(kills >= 5, "{kills} kills");
}

#[test]
fn destroy_killed_in_any_journal_append_or_compaction_converges_when_run_again() {
    let destroy = ["destroy", "--auto-approve"];
    for point in [
        "journal-append:1",
        "journal-append:2",
        "journal-append:4",
        "compaction:1",
        "compaction:2",
        "save:1",
    ] {
        let dir = stack();
        let applied = hdh(dir.path(), &["apply", "--auto-approve"], None);
        assert_eq!(applied.status.code(), Some(0), "{}", applied.stderr);
        killed_then_rerun(dir.path(), &destroy, point);
    }
}
