//! The bad-input corpus: every file of `tests/fixtures/malformed/` (one mistake per file, named
//! after it) and a few huge or deeply nested inputs generated here, through `hdh validate` and
//! `hdh plan` (the binary) against one private emulator. Each must exit 1 with a located error
//! (`file:line:col: error: …`) whose first line is pinned by a snapshot, print nothing on
//! stdout, write nothing (no state, no lock: the directory holds only the config afterwards)
//! and make no AWS call (the emulator's request log stays empty). Files run on a few threads.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use hdh_testcloud::{Emulator, Profile};
use support::runner::{Hdh, Ran};

const THREADS: usize = 3;

fn hdh(emu: &Emulator, dir: &Path, args: &[&str]) -> Ran {
    Hdh::new().dir(dir).envs(emu.env()).run(args)
}

/// Inputs too big or too odd to commit, made here: (file name, bytes).
fn generated() -> Vec<(String, Vec<u8>)> {
    let head = "version: 1\nname: demo\nregion: us-east-1\n";
    let mut out = Vec::new();
    let deep_flow = format!("{head}tags: {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
    out.push(("gen-deep-flow-nesting.yaml", deep_flow.into_bytes()));
    let mut deep_block = format!("{head}daskhub:\n");
    for depth in 1..=300 {
        deep_block.push_str(&format!("{}k{depth}:\n", "  ".repeat(depth)));
    }
    out.push(("gen-deep-block-nesting.yaml", deep_block.into_bytes()));
    let mut keys = head.to_string();
    for i in 0..100_000 {
        keys.push_str(&format!("unknown_{i}: {i}\n"));
    }
    out.push(("gen-100000-unknown-keys.yaml", keys.into_bytes()));
    let long_name = format!(
        "version: 1\nname: {}\nregion: us-east-1\n",
        "a".repeat(1 << 20)
    );
    out.push(("gen-one-megabyte-stack-name.yaml", long_name.into_bytes()));
    let mut many = format!("{head}resources:\n");
    for i in 0..5_000 {
        many.push_str(&format!(
            "  r{i}:\n    type: random_secret\n    properties: {{ bytes: 32 }}\n"
        ));
    }
    many.push_str("  r5000:\n    type: random_secret\n    properties: { bytes: \"32\" }\n");
    out.push(("gen-5001-resources-last-one-wrong.yaml", many.into_bytes()));
    out.push((
        "gen-nul-bytes.yaml",
        format!("{head}tags: {{ a: \"x\0y\" }}\n").into_bytes(),
    ));
    out.push((
        "gen-ten-thousand-aliases.yaml",
        format!(
            "{head}tags: &t {{ a: b }}\nx: [{}]\n",
            vec!["*t"; 10_000].join(", ")
        )
        .into_bytes(),
    ));
    out.into_iter().map(|(n, b)| (n.to_string(), b)).collect()
}

/// `s` with control characters other than newlines shown as `\u{…}`, for a snapshot file.
fn escaped(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => "\n".to_string(),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// What one file gave.
struct Outcome {
    name: String,
    first_line: String,
    stderr: String,
    /// The file as committed, control characters escaped (generated inputs: none).
    text: Option<String>,
}

/// Runs `validate` and `plan` on the config `name` holding `bytes` in its own directory and
/// checks everything but the snapshots; returns what to snapshot.
fn run_one(emu: &Emulator, name: &str, bytes: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    let mut first_lines = Vec::new();
    let mut validate_stderr = String::new();
    for command in ["validate", "plan"] {
        let run = hdh(emu, dir.path(), &[command, "-f", name]);
        let what = format!("hdh {command} -f {name}");
        assert_eq!(run.code, 1, "{what}: exit 1\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "{what}: nothing on stdout");
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        let first = run.stderr.lines().next().unwrap_or_default().to_string();
        let located = first
            .strip_prefix(&format!("{name}:"))
            .and_then(|rest| rest.split_once(": error: "))
            .map(|(at, _)| {
                at.split(':')
                    .map(|n| n.parse::<usize>())
                    .collect::<Vec<_>>()
            });
        assert!(
            matches!(located.as_deref(), Some([Ok(l), Ok(c)]) if *l > 0 && *c > 0),
            "{what}: the first error names file:line:col: {first}"
        );
        assert!(
            !run.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{what}: no control character reaches the terminal: {:?}",
            run.stderr
        );
        assert!(
            run.stderr.lines().count() <= 2 * 50 + 3,
            "{what}: at most 50 problems are printed"
        );
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, [name], "{what}: nothing written (no state, no lock)");
        first_lines.push(first);
        if command == "validate" {
            validate_stderr = run.stderr;
        }
    }
    assert_eq!(
        first_lines[0], first_lines[1],
        "{name}: plan stops at the same first error as validate"
    );
    Outcome {
        name: name.to_string(),
        first_line: first_lines.remove(0),
        stderr: validate_stderr,
        text: None,
    }
}

#[test]
fn every_malformed_config_is_a_located_error_with_no_aws_call_and_nothing_written() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 150,
        "at least 150 committed malformed configs"
    );
    let mut inputs: Vec<(String, Vec<u8>, bool)> = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read(p).unwrap(), true)
        })
        .collect();
    inputs.extend(generated().into_iter().map(|(n, b)| (n, b, false)));

    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((name, bytes, committed)) = inputs.get(i) else {
                    break;
                };
                let mut o = run_one(&emu, name, bytes);
                if *committed {
                    o.text = Some(escaped(&String::from_utf8_lossy(bytes)));
                }
                outcomes.lock().unwrap().push(o);
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(outcomes.len(), inputs.len());

    let calls = emu.request_log().expect("request log");
    assert!(
        calls.is_empty(),
        "no AWS call for a malformed config, found: {:?}",
        calls
            .iter()
            .map(|c| format!("{} {}", c.service, c.operation))
            .collect::<Vec<_>>()
    );

    // One line per input: the first error, as `validate` and `plan` both print it.
    let first_lines: String = outcomes
        .iter()
        .map(|o| format!("{}\n", o.first_line))
        .collect();
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("malformed_first_errors", first_lines);
    });
    // And per input, everything `validate` says (hints included), after the file itself.
    for o in &outcomes {
        let stem = o.name.trim_end_matches(".yaml");
        let shown = match &o.text {
            Some(t) => format!("{}\n---\n{}", t.trim_end(), o.stderr),
            None => o.stderr.clone(),
        };
        insta::with_settings!({
            prepend_module_to_snapshot => false,
            snapshot_path => "snapshots/malformed",
        }, {
            insta::assert_snapshot!(stem, shown);
        });
    }

    // The log above is empty because nothing called AWS, not because calls go unseen: a valid
    // config with S3 state does call (the bucket does not exist, so plan fails).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hdh.yaml"),
        "version: 1\nname: demo\nregion: us-east-1\nstate: { backend: s3, bucket: no-such-bucket, key: k.json }\n",
    )
    .unwrap();
    let run = hdh(&emu, dir.path(), &["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        emu.request_log().unwrap().iter().any(|c| c.service == "s3"),
        "the request log records hdh's calls"
    );
}

/// A file with 900,000 unknown keys: the report is the first 50 problems and a count, not
/// hundreds of megabytes.
#[test]
fn nine_hundred_thousand_unknown_keys_print_a_bounded_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("version: 1\nname: demo\nregion: us-east-1\n");
    for i in 0..900_000 {
        text.push_str(&format!("k{i}: 1\n"));
    }
    std::fs::write(dir.path().join("hdh.yaml"), text).unwrap();
    let out = Hdh::plain().dir(dir.path()).no_color().run(["validate"]);
    let stderr = &out.stderr;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.len() < 20_000,
        "a bounded report, found {} bytes",
        stderr.len()
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "hdh.yaml:4:1: error: unknown key `k0` at the top level"
    );
    assert!(
        lines.contains(&"and 899950 more problems"),
        "{}",
        &lines[lines.len().saturating_sub(3)..].join("\n")
    );
    assert_eq!(
        lines.last(),
        Some(&"900000 errors in the config; nothing was changed.")
    );
}
