//! The CLI as users meet it: output, errors and exit codes, pinned by insta snapshots with ids,
//! hashes and timings redacted. Every test works in its own temporary directory.

mod support;

use std::path::Path;
use std::process::Command;

use support::runner::{Hdh, Ran};

const LOCAL_EXAMPLE: &str = include_str!("../examples/local.yaml");

/// JSON documents' timings, redacted in their snapshots.
const SECONDS: (&str, &str) = (
    r#""(duration|elapsed)_seconds":[0-9.e-]+"#,
    "\"${1}_seconds\":[secs]",
);

fn hdh(dir: &Path, args: &[&str]) -> Ran {
    Hdh::new().dir(dir).run(args)
}

/// A directory holding `hdh.yaml` with `config`.
fn stack(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hdh.yaml"), config).unwrap();
    dir
}

/// The secret values state holds, to check they appear nowhere else.
fn secrets_in_state(dir: &Path) -> Vec<String> {
    let path = dir.join(".hdh/local-demo.state.json");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for (_, r) in state["resources"].as_object().unwrap() {
        if r["type"] == "random_secret" {
            out.push(r["attributes"]["value"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(out.len(), 2);
    out
}

#[test]
fn plan_of_the_local_example() {
    let dir = stack(LOCAL_EXAMPLE);
    let run = hdh(dir.path(), &["plan"]);
    assert_eq!(run.code, 0);
    snap!("plan_local_example", run.text());
    assert!(
        !dir.path().join(".hdh/local-demo.state.json").exists(),
        "plan writes no state"
    );
}

#[test]
fn json_plan_of_the_local_example() {
    let dir = stack(LOCAL_EXAMPLE);
    let run = hdh(dir.path(), &["plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["summary"]["create"], 3);
    snap!("plan_local_example_json", run.stdout);
}

#[test]
fn apply_writes_the_file_then_plan_is_empty_and_no_secret_is_ever_printed() {
    let dir = stack(LOCAL_EXAMPLE);
    let d = dir.path();
    let plan_out = hdh(d, &["plan", "--out", "saved.plan"]);
    let json = hdh(d, &["plan", "--json"]);
    // One at a time, so the progress lines come in a stable order for the snapshot.
    let apply = hdh(d, &["apply", "--auto-approve", "--parallelism", "1"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    snap!("apply_local_example", apply.text());

    let secrets = secrets_in_state(d);
    let file = std::fs::read_to_string(d.join("out/local-demo-hub-settings.yaml")).unwrap();
    for s in &secrets {
        assert!(file.contains(s.as_str()), "the file carries the tokens");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("out/local-demo-hub-settings.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let again = hdh(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.text());
    assert!(again.stdout.contains("No changes."));

    let mut seen = vec![plan_out.text(), json.text(), apply.text(), again.text()];
    seen.push(hdh(d, &["plan", "--json", "--out", "second.plan"]).text());
    seen.push(hdh(d, &["output"]).text());
    seen.push(hdh(d, &["output", "--json"]).text());
    seen.push(hdh(d, &["state", "show", "proxy_token"]).text());
    seen.push(hdh(d, &["state", "show", "hub_settings"]).text());
    seen.push(hdh(d, &["state", "list"]).text());
    seen.push(std::fs::read_to_string(d.join("saved.plan")).unwrap());
    seen.push(std::fs::read_to_string(d.join("second.plan")).unwrap());
    // Drift in the file: the plan shows a change of a sensitive attribute, redacted.
    std::fs::write(
        d.join("out/local-demo-hub-settings.yaml"),
        format!("{file}# edited\n"),
    )
    .unwrap();
    let drift = hdh(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2);
    assert!(drift.stdout.contains("changed outside hdh: content"));
    seen.push(drift.text());
    seen.push(hdh(d, &["apply", "--auto-approve"]).text());
    seen.push(hdh(d, &["destroy", "--auto-approve"]).text());
    for text in &seen {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret leaked into:\n{text}");
        }
    }
}

/// Values files edited by hand: one plain, one carrying a token.
const DRIFT_STACK: &str = r#"version: 1
name: drift-demo
region: us-east-1
resources:
  token:
    type: random_secret
    properties: { bytes: 16, encoding: hex }
  values:
    type: local_file
    properties:
      path: out/values.yaml
      content: |
        jupyterhub:
          cull:
            enabled: true
            timeout: 3600
            every: 300
          hub:
            image: "core:1"
  secrets:
    type: local_file
    properties:
      path: out/secrets.yaml
      content: |
        proxy:
          secretToken: ${token.value}
"#;

#[test]
fn a_drift_only_plan_says_changed_outside_hdh_names_the_key_path_and_exits_2() {
    let dir = stack(DRIFT_STACK);
    let d = dir.path();
    let apply = hdh(d, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    let token = std::fs::read_to_string(d.join("out/secrets.yaml")).unwrap();
    let token = token.trim().rsplit(' ').next().unwrap().to_string();
    assert_eq!(token.len(), 32);
    let values = std::fs::read_to_string(d.join("out/values.yaml")).unwrap();
    std::fs::write(
        d.join("out/values.yaml"),
        values.replace("timeout: 3600", "timeout: 7777"),
    )
    .unwrap();
    std::fs::write(
        d.join("out/secrets.yaml"),
        "proxy:\n  secretToken: 0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    let plan = hdh(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    snap!("plan_drift_only", plan.text());
    let json = hdh(d, &["plan", "--json", "--detailed-exitcode"]);
    assert_eq!(json.code, 2, "{}", json.text());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    snap!(
        "plan_drift_only_json",
        serde_json::to_string_pretty(&doc["changes"]).unwrap()
    );
    for text in [plan.text(), json.text()] {
        assert!(!text.contains(&token), "the token leaked:\n{text}");
        assert!(
            !text.contains("0123456789abcdef"),
            "the hand-set token leaked:\n{text}"
        );
    }
    let apply = hdh(d, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert_eq!(
        std::fs::read_to_string(d.join("out/values.yaml")).unwrap(),
        values
    );
    let again = hdh(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.text());
}

#[test]
fn the_daskhub_example_validates_offline_and_a_node_group_hdh_cannot_size_is_located() {
    let example = include_str!("../examples/daskhub.yaml");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("daskhub.yaml"), example).unwrap();
    // Any AWS call would go to a closed port and fail: validate makes none.
    let offline = |args: &[&str]| {
        Hdh::plain()
            .dir(dir.path())
            .no_color()
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .run(args)
    };
    let ok = offline(&["validate", "-f", "daskhub.yaml"]);
    assert_eq!(ok.code, 0, "{}", ok.text());
    let mut all = format!("$ hdh validate -f daskhub.yaml\n{}\n", ok.text());
    std::fs::write(
        dir.path().join("daskhub.yaml"),
        example.replace("instance_types: [m5.8xlarge]", "instance_types: [x9.mega]"),
    )
    .unwrap();
    let bad = offline(&["validate", "-f", "daskhub.yaml"]);
    assert_eq!(bad.code, 1, "{}", bad.text());
    all.push_str(&format!(
        "$ hdh validate -f daskhub.yaml (burst group on x9.mega)\n{}",
        bad.text()
    ));
    assert!(!dir.path().join(".hdh").exists(), "no state written");
    snap!("validate_daskhub_example", all);
}

#[test]
fn detailed_exitcode_and_fail_on() {
    let dir = stack(LOCAL_EXAMPLE);
    let d = dir.path();
    assert_eq!(hdh(d, &["plan", "--detailed-exitcode"]).code, 2);
    assert_eq!(
        hdh(d, &["plan", "--fail-on", "destroy"]).code,
        0,
        "creates are not destroys"
    );
    let any = hdh(d, &["plan", "--fail-on", "any"]);
    assert_eq!(any.code, 3);
    assert!(any.stderr.contains("create proxy_token"), "{}", any.stderr);
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);

    // Changing the path forces a replacement; removing a token is a delete.
    let changed = LOCAL_EXAMPLE.replace("out/${name}-hub-settings.yaml", "out/settings.yaml");
    std::fs::write(d.join("hdh.yaml"), changed).unwrap();
    let replace = hdh(d, &["plan", "--fail-on", "replace"]);
    assert_eq!(replace.code, 3, "{}", replace.text());
    snap!("fail_on_replace", replace.text());
    let plan = hdh(d, &["plan"]);
    snap!("plan_replace", plan.text());
    let destroy = hdh(d, &["plan", "--destroy", "--fail-on", "destroy"]);
    assert_eq!(destroy.code, 3);
    assert!(destroy.stderr.contains("delete hub_settings"));
    assert_eq!(
        hdh(d, &["plan", "--detailed-exitcode", "--refresh=false"]).code,
        2
    );
}

#[test]
fn apply_needs_a_terminal_or_auto_approve() {
    let dir = stack(LOCAL_EXAMPLE);
    let run = hdh(dir.path(), &["apply"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert!(!dir.path().join("out").exists(), "nothing was created");
}

const TWO_FILES: &str = r#"
version: 1
name: files
region: eu-west-1
resources:
  a:
    type: local_file
    properties: { path: a.txt, content: "one" }
  b:
    type: local_file
    properties: { path: b.txt, content: "two" }
"#;

#[test]
fn a_saved_plan_is_refused_when_what_it_touches_changed_and_accepted_otherwise() {
    let dir = stack(TWO_FILES);
    let d = dir.path();
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);
    std::fs::write(d.join("hdh.yaml"), TWO_FILES.replace("\"one\"", "\"uno\"")).unwrap();
    assert_eq!(hdh(d, &["plan", "--out", "p1"]).code, 0);
    assert_eq!(hdh(d, &["plan", "--out", "p2"]).code, 0);

    // Someone edits a.txt (what p1 touches): stale.
    std::fs::write(d.join("a.txt"), "edited by hand").unwrap();
    let stale = hdh(d, &["apply", "p1"]);
    assert_eq!(stale.code, 1);
    snap!("stale_plan", stale.text());
    assert_eq!(
        std::fs::read_to_string(d.join("a.txt")).unwrap(),
        "edited by hand"
    );

    // Only b.txt drifts: p2 still applies, and leaves b for the next plan.
    std::fs::write(d.join("a.txt"), "one").unwrap();
    std::fs::write(d.join("b.txt"), "drifted").unwrap();
    let ok = hdh(d, &["apply", "p2"]);
    assert_eq!(ok.code, 0, "{}", ok.text());
    assert_eq!(std::fs::read_to_string(d.join("a.txt")).unwrap(), "uno");
    assert_eq!(std::fs::read_to_string(d.join("b.txt")).unwrap(), "drifted");

    // A changed config makes every saved plan stale.
    assert_eq!(hdh(d, &["plan", "--out", "p3"]).code, 0);
    std::fs::write(d.join("hdh.yaml"), TWO_FILES.replace("\"two\"", "\"dos\"")).unwrap();
    let changed = hdh(d, &["apply", "p3"]);
    assert_eq!(changed.code, 1);
    assert!(
        changed.stderr.contains("the config file changed"),
        "{}",
        changed.stderr
    );
}

#[test]
fn a_held_lock_names_its_holder_and_only_its_id_removes_it() {
    let dir = stack(TWO_FILES);
    let d = dir.path();
    std::fs::create_dir_all(d.join(".hdh")).unwrap();
    let lock = serde_json::json!({
        "id": "4be1c2a8-0000-4000-8000-000000000001", "holder": "alice@ci-runner-7", "pid": 4242,
        "operation": "apply", "created": "2020-01-01T00:00:00Z", "version": "0.1.0"
    });
    std::fs::write(d.join(".hdh/files.state.json.lock"), lock.to_string()).unwrap();
    let locked = hdh(d, &["apply", "--auto-approve"]);
    assert_eq!(locked.code, 1);
    snap!("locked", locked.text());
    assert!(!d.join("a.txt").exists());
    assert_eq!(hdh(d, &["force-unlock", "not-the-id"]).code, 1);
    assert_eq!(
        hdh(d, &["force-unlock", "4be1c2a8-0000-4000-8000-000000000001"]).code,
        0
    );
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);
    assert!(
        !d.join(".hdh/files.state.json.lock").exists(),
        "apply releases its lock"
    );
}

#[test]
fn unreadable_state_is_refused_and_left_byte_identical() {
    let dir = stack(TWO_FILES);
    let d = dir.path();
    std::fs::create_dir_all(d.join(".hdh")).unwrap();
    let garbage = b"{\"format_version\": 1, \"lineage\": ";
    std::fs::write(d.join(".hdh/files.state.json"), garbage).unwrap();
    let run = hdh(d, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("files.state.json"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(d.join(".hdh/files.state.json")).unwrap(),
        garbage
    );
    assert!(!d.join("a.txt").exists());
}

const RETAINED: &str = r#"
version: 1
name: keep
region: us-east-1
resources:
  data:
    type: local_file
    properties: { path: data.txt, content: "user data" }
    lifecycle: { retain: true }
  scratch:
    type: local_file
    properties: { path: scratch.txt, content: "scratch" }
  guarded:
    type: random_secret
    lifecycle: { protect: true }
"#;

#[test]
fn retained_and_protected_resources_in_destroy() {
    let dir = stack(RETAINED);
    let d = dir.path();
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);
    let protected = hdh(d, &["destroy", "--auto-approve", "--keep-retained"]);
    assert_eq!(protected.code, 1);
    snap!("destroy_protected", protected.text());

    std::fs::write(
        d.join("hdh.yaml"),
        RETAINED.replace("protect: true", "protect: false"),
    )
    .unwrap();
    assert_eq!(
        hdh(d, &["apply", "--auto-approve"]).code,
        0,
        "lifecycle-only change is recorded"
    );
    let refused = hdh(d, &["destroy", "--auto-approve"]);
    assert_eq!(refused.code, 1);
    snap!("destroy_retained_refused", refused.text());
    assert!(d.join("scratch.txt").exists(), "refusal deletes nothing");

    let kept = hdh(
        d,
        &[
            "destroy",
            "--auto-approve",
            "--keep-retained",
            "--parallelism",
            "1",
        ],
    );
    assert_eq!(kept.code, 0, "{}", kept.text());
    snap!("destroy_keep_retained", kept.text());
    assert!(d.join("data.txt").exists() && !d.join("scratch.txt").exists());

    let readopt = hdh(d, &["apply", "--auto-approve"]);
    assert_eq!(readopt.code, 0);
    assert!(readopt.stdout.contains("<= data"), "{}", readopt.stdout);
    let gone = hdh(d, &["destroy", "--auto-approve", "--delete-retained"]);
    assert_eq!(gone.code, 0);
    assert!(!d.join("data.txt").exists());
}

#[test]
fn graph_is_graphviz_dot() {
    let dir = stack(LOCAL_EXAMPLE);
    let run = hdh(dir.path(), &["graph"]);
    assert_eq!(run.code, 0);
    snap!("graph_local_example", run.stdout);
}

#[test]
fn usage_errors_exit_nonzero_without_a_panic() {
    let dir = stack(LOCAL_EXAMPLE);
    let missing = hdh(dir.path(), &["plan", "-f", "nope.yaml"]);
    assert_eq!(missing.code, 1);
    snap!("missing_config", missing.text());
    let conflicting = hdh(
        dir.path(),
        &["destroy", "--keep-retained", "--delete-retained"],
    );
    assert_eq!(conflicting.code, 1, "usage errors are not 'changes' (2)");
    assert!(conflicting.stderr.contains("cannot be used with"));
    let timeout = hdh(dir.path(), &["destroy", "--timeout", "soon"]);
    assert_eq!(timeout.code, 1, "{}", timeout.text());
    snap!("timeout_not_a_duration", timeout.text());
    let apply_timeout = hdh(dir.path(), &["apply", "--timeout", "10"]);
    assert_eq!(apply_timeout.code, 1, "a number without a unit is refused");
    assert!(
        apply_timeout.stderr.contains("--timeout"),
        "{}",
        apply_timeout.stderr
    );
    let help = hdh(dir.path(), &["destroy", "--help"]);
    assert!(
        help.stdout.contains("--timeout <DURATION>") && help.stdout.contains("[default: 60m]"),
        "{}",
        help.stdout
    );
    let target = hdh(dir.path(), &["plan", "--target", "nothing_here"]);
    assert_eq!(target.code, 1);
    assert!(
        target.stderr.contains("--target nothing_here"),
        "{}",
        target.stderr
    );
}

/// hdh with no environment at all: no AWS settings, no HOME, no PATH.
fn hdh_bare(dir: &Path, args: &[&str]) -> Ran {
    Hdh::plain().clear_env().no_color().dir(dir).run(args)
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for shell in ["bash", "zsh", "fish"] {
        let run = hdh_bare(d, &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.text());
        for word in ["detailed-exitcode", "keep-retained", "completions", "show"] {
            assert!(run.stdout.contains(word), "{shell} completes {word}");
        }
    }
    // bash loads the script and completes `hdh pl` to `plan`.
    let script = d.join("hdh.bash");
    std::fs::write(&script, hdh_bare(d, &["completions", "bash"]).stdout).unwrap();
    let completed = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(hdh pl); COMP_CWORD=1; COMP_LINE='hdh pl'; COMP_POINT=6; \
             _hdh hdh pl hdh; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&completed.stdout).trim(),
        "plan",
        "{}",
        String::from_utf8_lossy(&completed.stderr)
    );
    snap!(
        "completions_fish",
        hdh_bare(d, &["completions", "fish"]).stdout
    );

    let man = hdh_bare(d, &["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.starts_with(".ie"), "roff: {}", &man.stdout[..40]);
    snap!("man_page", man.stdout);
    let plan_page = hdh_bare(d, &["man", "plan"]);
    assert!(
        plan_page.stdout.contains("detailed\\-exitcode"),
        "{}",
        plan_page.stdout
    );
    snap!(
        "man_page_state_show",
        hdh_bare(d, &["man", "state", "show"]).stdout
    );
    let unknown = hdh_bare(d, &["man", "nothing"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no command `hdh nothing`"),
        "{}",
        unknown.stderr
    );
    let bad_shell = hdh_bare(d, &["completions", "tcsh"]);
    assert_eq!(bad_shell.code, 1, "{}", bad_shell.text());
}

/// `plan`'s stdout without the closing "Saved the plan…" lines, and `show`'s without its
/// "Saved plan for…" lines: what both print of the plan itself.
fn plan_part(stdout: &str) -> &str {
    stdout.rfind("\nSaved ").map_or(stdout, |at| &stdout[..at])
}

#[test]
fn show_renders_a_saved_plan_as_plan_did_without_credentials() {
    let dir = stack(LOCAL_EXAMPLE);
    let d = dir.path();
    let plan = hdh(d, &["plan", "--out", "create.plan"]);
    assert_eq!(plan.code, 0, "{}", plan.text());
    let show = hdh_bare(d, &["show", "create.plan"]);
    assert_eq!(show.code, 0, "{}", show.text());
    assert_eq!(plan_part(&show.stdout), plan_part(&plan.stdout));
    snap!("show_create_plan", show.text());

    // A replacement and a removal: before → after, forces replacement, deletes, in plan order.
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);
    let changed = LOCAL_EXAMPLE
        .replace("out/${name}-hub-settings.yaml", "out/settings.yaml")
        .replace("mode: \"0600\"", "mode: \"0640\"");
    std::fs::write(d.join("hdh.yaml"), changed).unwrap();
    let plan = hdh(d, &["plan", "--out", "replace.plan"]);
    assert_eq!(plan.code, 0, "{}", plan.text());
    // The config is gone too: show reads only the plan file.
    std::fs::remove_file(d.join("hdh.yaml")).unwrap();
    let show = hdh_bare(d, &["show", "replace.plan"]);
    assert_eq!(show.code, 0, "{}", show.text());
    assert_eq!(plan_part(&show.stdout), plan_part(&plan.stdout));
    snap!("show_replace_plan", show.text());

    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("replace.plan")).unwrap()).unwrap();
    let json = hdh_bare(d, &["show", "--json", "replace.plan"]);
    let shown: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(shown, saved["plan"], "--json is the plan document");
    let markdown = hdh_bare(d, &["show", "--format", "markdown", "replace.plan"]);
    assert_eq!(markdown.code, 0);
    snap!("show_replace_plan_markdown", markdown.stdout);
    // The tokens state holds (and the settings file carries) are in no rendering of the plan.
    let secrets = secrets_in_state(d);
    assert_eq!(secrets.len(), 2);
    for text in [&show.stdout, &json.stdout, &markdown.stdout] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret leaked into:\n{text}");
        }
    }

    std::fs::write(d.join("not.plan"), "{}").unwrap();
    let bad = hdh_bare(d, &["show", "not.plan"]);
    assert_eq!(bad.code, 1);
    snap!("show_not_a_plan", bad.text());
}

#[test]
fn graph_plan_colours_resources_by_action() {
    let dir = stack(LOCAL_EXAMPLE);
    let d = dir.path();
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);
    let changed = LOCAL_EXAMPLE
        .replace("out/${name}-hub-settings.yaml", "out/settings.yaml")
        .replace("  gateway_token:\n    type: random_secret\n    properties: { bytes: 32, encoding: hex }\n", "")
        .replace("${gateway_token.value}", "none");
    assert_ne!(changed, LOCAL_EXAMPLE);
    std::fs::write(d.join("hdh.yaml"), &changed).unwrap();
    let now = hdh(d, &["graph", "--plan"]);
    assert_eq!(now.code, 0, "{}", now.text());
    assert!(now.stdout.contains("\"hub_settings\" [label=\"hub_settings\\nlocal_file\\n(replace)\", style=filled, fillcolor=\"#f6b26b\"]"), "{}", now.stdout);
    assert!(now.stdout.contains("\"gateway_token\" [label=\"gateway_token\\nrandom_secret\\n(delete)\", style=\"filled,dashed\""), "{}", now.stdout);
    snap!("graph_plan", now.stdout);
    assert_eq!(hdh(d, &["plan", "--out", "saved.plan"]).code, 0);
    let saved = hdh(d, &["graph", "--plan", "saved.plan"]);
    assert_eq!(saved.stdout, now.stdout, "a saved plan colours the same");
    assert!(
        !hdh(d, &["graph"]).stdout.contains("fillcolor"),
        "plain graph unchanged"
    );
}

#[test]
fn apply_and_destroy_json_stream_one_documented_event_per_line_and_no_secret() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/run-events.schema.json")).unwrap();
    jsonschema::meta::validate(&schema).expect("the events schema is itself valid");
    let dir = stack(LOCAL_EXAMPLE);
    let d = dir.path();
    let refused = hdh(d, &["apply", "--json"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stdout.is_empty(),
        "no half stream: {}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("--json needs --auto-approve"),
        "{}",
        refused.stderr
    );

    let apply = hdh(
        d,
        &["apply", "--json", "--auto-approve", "--parallelism", "1"],
    );
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert!(apply.stderr.is_empty(), "{}", apply.stderr);
    let mut events = Vec::new();
    for line in apply.stdout.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        let errors = support::json_schema::violations(&schema, &event);
        assert!(errors.is_empty(), "{line}: {errors:?}");
        events.push(event);
    }
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["plan", "started", "finished", "started", "finished", "started", "finished", "summary"]
    );
    let last = events.last().unwrap();
    assert_eq!(last["outcome"], "complete");
    assert_eq!(last["created"], 3);
    assert_eq!(
        last["outputs"]["settings_file"],
        "out/local-demo-hub-settings.yaml"
    );
    snap!("apply_json_local_example", apply.stdout, [SECONDS]);
    // The same human run is unchanged by the JSON one existing (no stray lines).
    assert!(!apply.stdout.contains("Apply complete"));

    let secrets = secrets_in_state(d);
    std::fs::write(
        d.join("hdh.yaml"),
        LOCAL_EXAMPLE.replace("bytes: 32", "bytes: 16"),
    )
    .unwrap();
    let update = hdh(
        d,
        &["apply", "--json", "--auto-approve", "--parallelism", "1"],
    );
    let destroy = hdh(
        d,
        &["destroy", "--json", "--auto-approve", "--parallelism", "1"],
    );
    assert_eq!(destroy.code, 0, "{}", destroy.text());
    for line in destroy.stdout.lines().chain(update.stdout.lines()) {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors = support::json_schema::violations(&schema, &event);
        assert!(errors.is_empty(), "{line}: {errors:?}");
    }
    snap!("destroy_json_local_example", destroy.stdout, [SECONDS]);
    let finished_delete = destroy
        .stdout
        .lines()
        .find(|l| l.contains("\"finished\"") && l.contains("\"hub_settings\""))
        .unwrap();
    assert!(
        finished_delete.contains("\"id\":\"./out/local-demo-hub-settings.yaml\""),
        "a delete names the id it had: {finished_delete}"
    );
    for text in [&apply.stdout, &update.stdout, &destroy.stdout] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret leaked into:\n{text}");
        }
    }
}

#[test]
fn the_json_plan_with_its_estimate_matches_its_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/plan.schema.json")).unwrap();
    let dir = stack(LOCAL_EXAMPLE);
    let run = hdh(dir.path(), &["plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        support::json_schema::violations(&schema, &doc),
        Vec::<String>::new()
    );
    assert_eq!(
        doc["estimate"]["critical_path"].as_array().unwrap().len(),
        2
    );
}

/// An app.config as the HelioCloud seed's scripts `source` it.
const APP_CONFIG: &str = r#"# HelioCloud DaskHub configuration
NAMESPACE=daskhub
KUBERNETES_NAMESPACE=tapufini
EKS_NAME=eks-alola
DASKHUB_ADMIN_USER=ketchap1
ADMIN_USER_EMAIL="ash.ketchum@example.org"
ROUTE53_HOSTED_ZONE=ludicolo.org
ROUTE53_DASKHUB_PREFIX=daskhub-tapubulu
GENERIC_DOCKER_LOCATION=public.ecr.aws/a/tapukoko-notebook
GENERIC_DOCKER_VERSION=151
ML_DOCKER_LOCATION=public.ecr.aws/b/tapulele-ml-notebook
ML_DOCKER_VERSION=252
AWS_REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)
"#;

#[test]
fn init_writes_a_config_that_validates_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let init = hdh_bare(d, &["init"]);
    assert_eq!(init.code, 0, "{}", init.text());
    let written = std::fs::read_to_string(d.join("hdh.yaml")).unwrap();
    snap!("init_output", init.text());
    snap!("init_hdh_yaml", written);
    let validate = hdh_bare(d, &["validate"]);
    assert_eq!(validate.code, 0, "{}\n{written}", validate.text());

    std::fs::write(d.join("hdh.yaml"), "mine\n").unwrap();
    let again = hdh_bare(d, &["init"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("hdh.yaml already exists"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("hdh.yaml")).unwrap(),
        "mine\n"
    );
    let forced = hdh_bare(d, &["init", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.text());
    assert_eq!(
        std::fs::read_to_string(d.join("hdh.yaml")).unwrap(),
        written
    );
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn init_from_the_seed_app_config_fills_in_its_values_and_names_what_it_could_not_map() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("app.config"), APP_CONFIG).unwrap();
    let init = hdh_bare(
        d,
        &[
            "init",
            "--from",
            "app.config",
            "--name",
            "alola",
            "-f",
            "alola.yaml",
        ],
    );
    assert_eq!(init.code, 0, "{}", init.text());
    snap!("init_from_app_config_output", init.text());
    let written = std::fs::read_to_string(d.join("alola.yaml")).unwrap();
    snap!("init_from_app_config_yaml", written);
    for value in [
        "name: eks-alola",
        "namespace: tapufini",
        "hosted_zone: ludicolo.org",
        "record: daskhub-tapubulu",
        "username: ketchap1",
        "email: ash.ketchum@example.org",
        "image: \"public.ecr.aws/a/tapukoko-notebook:151\"",
        "admin_users: [ketchap1]",
    ] {
        assert!(written.contains(value), "{value} in:\n{written}");
    }
    for unmapped in [
        "ML_DOCKER_LOCATION",
        "AWS_REGION: computed by a shell command",
    ] {
        assert!(
            init.stdout.contains(unmapped),
            "{unmapped}: {}",
            init.stdout
        );
    }
    let validate = hdh_bare(d, &["validate", "-f", "alola.yaml"]);
    assert_eq!(validate.code, 0, "{}\n{written}", validate.text());
    // What init writes is what an editor with `hdh schema` accepts too.
    let doc = yaml_as_json(&d.join("alola.yaml")).unwrap();
    assert_eq!(
        support::json_schema::violations(&config_schema(), &doc),
        Vec::<String>::new()
    );

    // A value hdh refuses is reported, and nothing is written.
    std::fs::write(
        d.join("bad.config"),
        APP_CONFIG.replace("EKS_NAME=eks-alola", "EKS_NAME=eks.alola"),
    )
    .unwrap();
    let bad = hdh_bare(d, &["init", "--from", "bad.config", "-f", "bad.yaml"]);
    assert_eq!(bad.code, 1, "{}", bad.text());
    assert!(bad.stderr.contains("eks.alola"), "{}", bad.stderr);
    assert!(!d.join("bad.yaml").exists());
}

#[test]
fn a_failed_operation_streams_its_class_and_what_it_skipped() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/run-events.schema.json")).unwrap();
    // `out` is a file, so the settings file cannot be written under it; `copy` waits on it.
    let config = LOCAL_EXAMPLE.replace(
        "outputs:",
        "  copy:\n    type: local_file\n    properties: { path: copy.txt, content: \"${hub_settings.sha256}\" }\n\noutputs:",
    );
    let dir = stack(&config);
    let d = dir.path();
    std::fs::write(d.join("out"), "in the way\n").unwrap();
    let run = hdh(
        d,
        &["apply", "--json", "--auto-approve", "--parallelism", "1"],
    );
    assert_eq!(run.code, 1, "{}", run.text());
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    for e in &events {
        let errors = support::json_schema::violations(&schema, e);
        assert!(errors.is_empty(), "{e}: {errors:?}");
    }
    let failed = events.iter().find(|e| e["event"] == "failed").unwrap();
    assert_eq!(failed["address"], "hub_settings");
    assert!(failed["error"]["class"].is_string(), "{failed}");
    let skipped = events.iter().find(|e| e["event"] == "skipped").unwrap();
    assert_eq!(skipped["address"], "copy");
    assert_eq!(skipped["because"], "hub_settings");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["outcome"], "incomplete");
    assert_eq!(
        (summary["failed"].clone(), summary["skipped"].clone()),
        (1.into(), 1.into())
    );
    assert!(summary.get("outputs").is_none(), "{summary}");
    snap!("apply_json_failed", run.stdout, [SECONDS]);
}

/// A config file as the JSON its YAML stands for, read by hdh's own YAML reader (YAML 1.2:
/// `yes` is a string, as `validate` reads it).
fn yaml_as_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let (root, problems) = hdh_schema::yaml::parse(&text);
    if !problems.is_empty() {
        return None;
    }
    Some(root?.value().ok()?.to_display_json())
}

/// `hdh schema`, parsed, checked against the draft 2020-12 meta-schema.
fn config_schema() -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let run = hdh_bare(dir.path(), &["schema"]);
    assert_eq!(run.code, 0, "{}", run.text());
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    jsonschema::meta::validate(&schema).expect("the config schema is a valid JSON Schema");
    schema
}

fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_config_schema_accepts_every_example_and_valid_fixture() {
    let schema = config_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut checked = 0;
    for file in yaml_files("examples")
        .into_iter()
        .chain(yaml_files("tests/fixtures/valid"))
    {
        let validate = hdh(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["validate", "-f", file.to_str().unwrap()],
        );
        assert_eq!(validate.code, 0, "{}: {}", file.display(), validate.text());
        let doc = yaml_as_json(&file).unwrap();
        let errors = support::json_schema::violations(&schema, &doc);
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
        checked += 1;
    }
    assert_eq!(
        checked, 5,
        "examples/*.yaml and tests/fixtures/valid/*.yaml"
    );
    // What an editor shows: the daskhub keys with their defaults and descriptions, and a
    // resource type's properties as its provider declares them.
    let daskhub = &schema["properties"]["daskhub"]["properties"];
    snap!(
        "schema_daskhub_network",
        serde_json::to_string_pretty(&daskhub["network"]).unwrap()
    );
    let random_secret = schema["properties"]["resources"]["additionalProperties"]["allOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["if"]["properties"]["type"]["const"] == "random_secret")
        .unwrap();
    snap!(
        "schema_random_secret",
        serde_json::to_string_pretty(random_secret).unwrap()
    );
    assert_eq!(
        daskhub["hub"]["properties"]["chart_version"]["default"],
        "2022.8.2"
    );
    assert_eq!(
        daskhub["cluster"]["properties"]["node_groups"]["items"]["required"],
        serde_json::json!(["name", "instance_types"])
    );
}

/// Malformed configs whose mistake is a shape a schema can state: an unknown key, a wrong
/// type, a missing required key, a value outside a fixed set.
const SHAPE_MISTAKES: &[&str] = &[
    "04-unknown-top-level-key",
    "05-missing-name",
    "06-unsupported-version",
    "07-wrong-type",
    "08-unknown-resource-type",
    "09-unknown-property",
    "10-missing-required-property",
    "11-computed-attribute-set",
    "17-bad-lifecycle-key",
    "21-bad-state-backend",
    "22-missing-version",
    "23-bad-resource-name",
    "25-s3-state-missing-bucket",
    "26-list-for-string",
    "29-yes-is-not-a-boolean",
    "32-missing-type",
    "dh-names-label-value-list",
    "dh-names-node-group-without-name",
    "dh-names-zone-missing",
    "dh-net-cidr-is-a-list",
    "dh-net-nat-gateways-negative",
    "dh-net-nat-gateways-string",
    "dh-net-unknown-key-cidr-block",
    "dh-section-admin-users-not-a-list",
    "dh-section-allow-unauthenticated-yes",
    "dh-section-efs-retain-string",
    "dh-section-node-group-unknown-key",
    "dh-section-not-a-map",
    "dh-section-section-is-a-list",
    "dh-section-unknown-section",
    "dh-section-values-not-a-map",
    "dh-values-admin-without-email",
    "dh-values-capacity-unknown",
    "dh-values-disk-size-with-unit",
    "dh-values-instance-types-not-a-list",
    "dh-values-min-negative",
    "dh-versions-chart-number",
    "dh-versions-k8s-unquoted-number",
    "lifecycle-retain-string",
    "ref-depends-on-not-a-list",
    "tags-not-a-map",
    "types-bool-for-string",
    "types-float-for-integer",
    "types-properties-is-a-list",
    "types-resource-is-a-string",
    "types-string-for-integer",
    "version-string",
];

#[test]
fn the_config_schema_rejects_what_validate_rejects_for_its_shape() {
    let schema = config_schema();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let mut first_errors = String::new();
    for name in SHAPE_MISTAKES {
        let file = dir.join(format!("{name}.yaml"));
        let validate = hdh(&dir, &["validate", "-f", file.to_str().unwrap()]);
        assert_eq!(validate.code, 1, "{name}: validate accepts it");
        let doc = yaml_as_json(&file).unwrap_or_else(|| panic!("{name} reads as YAML"));
        let errors = support::json_schema::violations(&schema, &doc);
        assert!(!errors.is_empty(), "{name}: the schema accepts it");
        let _ = writeln_first(&mut first_errors, name, &errors[0]);
    }
    snap!("schema_rejections", first_errors);
}

fn writeln_first(out: &mut String, name: &str, error: &str) -> std::fmt::Result {
    use std::fmt::Write;
    // The validator's messages quote whole values; the first line and 160 characters say enough.
    let short: String = error
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(160)
        .collect();
    writeln!(out, "{name}: {short}")
}

#[test]
fn replace_rotates_a_token_and_what_uses_it_follows_also_from_a_saved_plan() {
    let dir = stack(LOCAL_EXAMPLE);
    let d = dir.path();
    assert_eq!(hdh(d, &["apply", "--auto-approve"]).code, 0);
    let token = |name: &str| {
        let path = d.join(".hdh/local-demo.state.json");
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        state["resources"][name]["attributes"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = [token("proxy_token"), token("gateway_token")];

    let plan = hdh(
        d,
        &["plan", "--replace", "proxy_token", "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 2, "{}", plan.text());
    snap!("plan_replace_token", plan.text());

    // Saved, the plan keeps the request; applied, the token is new and the file carries it.
    assert_eq!(
        hdh(
            d,
            &["plan", "--replace", "proxy_token", "--out", "rotate.plan"]
        )
        .code,
        0
    );
    let apply = hdh(d, &["apply", "rotate.plan"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    let after = [token("proxy_token"), token("gateway_token")];
    assert_ne!(before[0], after[0], "the proxy token is new");
    assert_eq!(before[1], after[1], "the gateway token is kept");
    let file = std::fs::read_to_string(d.join("out/local-demo-hub-settings.yaml")).unwrap();
    assert!(file.contains(after[0].as_str()) && !file.contains(before[0].as_str()));
    assert_eq!(hdh(d, &["plan", "--detailed-exitcode"]).code, 0);
    for text in [plan.text(), apply.text()] {
        for s in before.iter().chain(&after) {
            assert!(!text.contains(s.as_str()), "a secret leaked into:\n{text}");
        }
    }

    // Asking for what the config does not have changes nothing; destroy has no use for it.
    let typo = hdh(d, &["plan", "--replace", "proxy_tokn"]);
    assert_eq!(typo.code, 1);
    assert!(
        typo.stderr
            .contains("--replace proxy_tokn: no such resource in the config"),
        "{}",
        typo.stderr
    );
    let destroy = hdh(
        d,
        &["destroy", "--replace", "proxy_token", "--auto-approve"],
    );
    assert_eq!(destroy.code, 1, "{}", destroy.text());
    assert_eq!([token("proxy_token"), token("gateway_token")], after);
}

const GIVEN: &str = r#"version: 1
name: given-demo
region: us-east-1
resources:
  token:
    type: given_secret
    properties: { from_env: HDH_TEST_HUB_TOKEN }
  settings:
    type: local_file
    properties: { path: out/settings.txt, mode: "0600", content: "token: ${token.value}\n" }
"#;

#[test]
fn a_supplied_token_is_read_each_run_and_a_rotation_updates_what_uses_it() {
    let dir = stack(GIVEN);
    let d = dir.path();
    let with = |token: Option<&str>, args: &[&str]| {
        let hdh = Hdh::plain()
            .dir(d)
            .no_color()
            .env_remove("HDH_TEST_HUB_TOKEN");
        let hdh = match token {
            Some(t) => hdh.env("HDH_TEST_HUB_TOKEN", t),
            None => hdh,
        };
        let ran = hdh.run(args);
        (ran.code, ran.printed())
    };
    let (first, second) = ("s3cr3t-first-7a1c", "s3cr3t-second-93bd");

    // Without the variable nothing can be made, and the message names it.
    let (code, out) = with(None, &["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("environment variable HDH_TEST_HUB_TOKEN is not set"),
        "{out}"
    );
    assert!(!d.join("out/settings.txt").exists());

    let (code, applied) = with(Some(first), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{applied}");
    let file = || std::fs::read_to_string(d.join("out/settings.txt")).unwrap();
    assert_eq!(file(), format!("token: {first}\n"));
    // Same token, or none at hand (a plan-only CI role): nothing to do.
    assert_eq!(with(Some(first), &["plan", "--detailed-exitcode"]).0, 0);
    assert_eq!(with(None, &["plan", "--detailed-exitcode"]).0, 0);
    // Rotated: the file that uses it is updated, and neither value is ever shown.
    let (code, plan) = with(Some(second), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("~ settings (local_file"), "{plan}");
    let (code, rotated) = with(Some(second), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{rotated}");
    assert_eq!(file(), format!("token: {second}\n"));
    for text in [&applied, &plan, &rotated] {
        assert!(
            !text.contains(first) && !text.contains(second),
            "a secret leaked into:\n{text}"
        );
    }
}
