//! State that cannot be confused or corrupted, through the binary: a state of another stack, a
//! lineage change, a serial going backwards or out of range, a state file missing beside its
//! backup, and damaged files are refused with a message saying what was found and what was
//! expected, leave every file as it was and never leave the lock behind; `--allow-lineage-change`
//! overrides and says so.

mod support;

use std::path::Path;

use support::runner::{Hdh, Ran};

const CONFIG: &str = r#"
version: 1
name: safe
region: us-east-1
resources:
  token:
    type: random_secret
    properties: { bytes: 8, encoding: hex }
  file:
    type: local_file
    properties: { path: out.txt, content: "token ${token.value}" }
"#;

const STATE: &str = ".hdh/safe.state.json";
const BACKUP: &str = ".hdh/safe.state.json.backup";
const LOCK: &str = ".hdh/safe.state.json.lock";

fn hdh(dir: &Path, args: &[&str]) -> Ran {
    Hdh::new().dir(dir).run(args)
}

/// A stack applied once (so it has a state and a backup); `content` varies the file.
fn applied(content: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG.replace("token ${token.value}", content);
    std::fs::write(dir.path().join("hdh.yaml"), config).unwrap();
    let run = hdh(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path().join(BACKUP).exists(), "an apply leaves a backup");
    dir
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

fn json(dir: &Path, file: &str) -> serde_json::Value {
    serde_json::from_slice(&read(dir, file)).unwrap()
}

fn write_json(dir: &Path, file: &str, v: &serde_json::Value) {
    std::fs::write(dir.join(file), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// Runs plan, apply and destroy against the damaged state in `dir`: each must be refused
/// (exit 1, no panic), leave state and backup byte-identical and the lock released. Returns
/// apply's error output, redacted for a snapshot.
fn refused_by_every_command(dir: &Path) -> String {
    let state = std::fs::read(dir.join(STATE)).ok();
    let backup = read(dir, BACKUP);
    let mut apply_err = String::new();
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["destroy", "--auto-approve"],
        &["state", "list"],
    ] {
        let run = hdh(dir, args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(std::fs::read(dir.join(STATE)).ok(), state, "{args:?}");
        assert_eq!(read(dir, BACKUP), backup, "{args:?}");
        assert!(!dir.join(LOCK).exists(), "{args:?} left the lock behind");
        if args[0] == "apply" {
            apply_err = redact(&run.stderr, dir);
        }
    }
    apply_err
}

fn redact(text: &str, dir: &Path) -> String {
    let uuid = regex_lite_uuid(text);
    uuid.replace(&dir.display().to_string(), "[dir]")
}

/// Replaces every UUID (lineages) with `[lineage]`.
fn regex_lite_uuid(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let candidate = text.get(i..i + 36).filter(|c| {
            c.bytes().enumerate().all(|(k, b)| match k {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
        });
        if candidate.is_some() {
            out.push_str("[lineage]");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    let _ = bytes;
    out
}

#[test]
fn the_state_of_another_stack_is_refused_and_the_flag_overrides_saying_so() {
    let ours = applied("ours");
    let theirs = applied("theirs");
    let d = ours.path();
    std::fs::copy(theirs.path().join(STATE), d.join(STATE)).unwrap();
    let message = refused_by_every_command(d);
    insta::assert_snapshot!("state_of_another_lineage", message);

    let old_lineage = json(d, BACKUP)["lineage"].as_str().unwrap().to_string();
    let run = hdh(d, &["apply", "--auto-approve", "--allow-lineage-change"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: --allow-lineage-change: accepting state"),
        "{}",
        run.stderr
    );
    // The old history's backup is kept aside, and the new history is now the known one.
    assert!(d.join(format!("{STATE}.backup.{old_lineage}")).exists());
    let again = hdh(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stderr.contains("allow-lineage-change"));
}

#[test]
fn a_lineage_changed_in_place_is_refused() {
    let dir = applied("x");
    let d = dir.path();
    let mut state = json(d, STATE);
    state["lineage"] = "00000000-0000-4000-8000-000000000000".into();
    write_json(d, STATE, &state);
    let message = refused_by_every_command(d);
    assert!(message.contains("found lineage"), "{message}");
}

#[test]
fn a_serial_going_backwards_is_refused() {
    let dir = applied("x");
    let d = dir.path();
    let backup_serial = json(d, BACKUP)["serial"].as_u64().unwrap();
    assert!(backup_serial >= 1, "backup serial {backup_serial}");
    let mut state = json(d, STATE);
    state["serial"] = (backup_serial - 1).into();
    write_json(d, STATE, &state);
    let message = refused_by_every_command(d);
    insta::assert_snapshot!("state_serial_backwards", message);
}

#[test]
fn a_missing_state_file_beside_its_backup_is_refused() {
    let dir = applied("x");
    let d = dir.path();
    std::fs::remove_file(d.join(STATE)).unwrap();
    let message = refused_by_every_command(d);
    insta::assert_snapshot!("state_missing_beside_backup", message);
}

#[test]
fn a_huge_serial_is_an_error_not_a_panic_and_the_lock_is_released() {
    let dir = applied("x");
    let d = dir.path();
    for serial in ["18446744073709551615", "9007199254740992", "1e400", "-1"] {
        let text = String::from_utf8(read(d, STATE)).unwrap();
        let start = text.find("\"serial\": ").unwrap() + "\"serial\": ".len();
        let end = start + text[start..].find(',').unwrap();
        let damaged = format!("{}{serial}{}", &text[..start], &text[end..]);
        std::fs::write(d.join(STATE), &damaged).unwrap();
        let message = refused_by_every_command(d);
        if serial == "18446744073709551615" {
            insta::assert_snapshot!("state_serial_out_of_range", message);
        }
        std::fs::write(d.join(STATE), text).unwrap();
    }
}

#[test]
fn damaged_state_files_never_panic_and_never_leave_the_lock() {
    let dir = applied("x");
    let d = dir.path();
    let good = read(d, STATE);
    // A sample of truncations and byte flips across the file (the state crate's own tests try
    // every position; this checks the binary's paths around them).
    let step = (good.len() / 12).max(1);
    for at in (1..good.len()).step_by(step) {
        for damaged in [good[..at].to_vec(), {
            let mut g = good.clone();
            g[at] ^= 0x5a;
            g
        }] {
            std::fs::write(d.join(STATE), &damaged).unwrap();
            for args in [&["plan"][..], &["apply", "--auto-approve"]] {
                let run = hdh(d, args);
                assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.stderr);
                assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
                assert!(!d.join(LOCK).exists(), "{args:?} left the lock behind");
            }
            std::fs::write(d.join(STATE), &good).unwrap();
            std::fs::copy(d.join(STATE), d.join(BACKUP)).unwrap();
        }
    }
}
