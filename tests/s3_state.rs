//! The `hdh` binary with its state in S3 (the emulator; each test has its own): concurrent
//! applies and the lock, a killed holder's lock, lock waits, failed writes and `state push`,
//! saved plans, exit codes, the JSON schema, Markdown, `state show` and `state migrate`.
//! Resources are local (random_secret, local_file), so only state touches AWS.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use hdh_testcloud::{poll_until, Emulator, Profile};
use support::proxy::Proxy;
use support::runner::{Hdh, Ran};

const REGION: &str = "us-east-1";
const BUCKET: &str = "team-state";
const KEY: &str = "stacks/team.state.json";
const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

/// One emulator with the state bucket, and a directory for the stack.
struct Cloud {
    emu: Emulator,
    s3: aws_sdk_s3::Client,
    dir: tempfile::TempDir,
    /// Where hdh sends AWS calls (the emulator, or a proxy in front of it).
    endpoint: String,
}

async fn cloud() -> Cloud {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts");
    let s3 = emu.s3_client(REGION).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    Cloud {
        endpoint: emu.endpoint().to_string(),
        emu,
        s3,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Cloud {
    fn d(&self) -> &Path {
        self.dir.path()
    }

    fn write_config(&self, config: &str) {
        std::fs::write(self.d().join("hdh.yaml"), config).unwrap();
    }

    /// hdh in the stack's directory, with nothing of the test's environment but PATH: only the
    /// endpoint and keys given here reach the SDK.
    fn runner(&self) -> Hdh {
        Hdh::new()
            .clear_env_keep_path()
            .dir(self.d())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", hdh_testcloud::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", hdh_testcloud::SECRET_ACCESS_KEY)
            .without_aws_config_files()
    }

    fn hdh(&self, args: &[&str]) -> Ran {
        self.runner().run(args)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.runner().spawn(args)
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.s3.get_object().bucket(BUCKET).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.unwrap().to_vec()),
            Err(_) => None,
        }
    }

    async fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&self.object(KEY).await.expect("state exists")).unwrap()
    }

    /// The serial state is at: the state object's, or the last journal object's beside it.
    async fn recorded_serial(&self) -> u64 {
        let object = match self.object(KEY).await {
            Some(b) => serde_json::from_slice::<serde_json::Value>(&b).unwrap()["serial"]
                .as_u64()
                .unwrap_or(0),
            None => 0,
        };
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(format!("{KEY}.journal/"))
            .send()
            .await
            .unwrap();
        let journal = listed
            .contents()
            .iter()
            .filter_map(|o| o.key()?.rsplit('/').next()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        object.max(journal)
    }

    async fn lock(&self) -> Option<serde_json::Value> {
        let bytes = self.object(&format!("{KEY}.lock")).await?;
        Some(serde_json::from_slice(&bytes).unwrap())
    }

    /// The secret values state holds, to check they appear nowhere else.
    async fn secrets(&self) -> Vec<String> {
        let state = self.state().await;
        let mut out = Vec::new();
        for (_, r) in state["resources"].as_object().unwrap() {
            if r["type"] == "random_secret" {
                out.push(r["attributes"]["value"].as_str().unwrap().to_string());
            }
        }
        assert!(!out.is_empty());
        out
    }
}

/// A stack with S3 state: a token and `files` local files in a chain (each file's content
/// names the previous one's hash), so an apply runs them one after another and saves state
/// twice per file.
fn chain(files: usize) -> String {
    let mut s = format!(
        "version: 1\nname: team\nregion: {REGION}\n\
         state: {{ backend: s3, bucket: {BUCKET}, key: {KEY}, kms_key_id: \"{KMS_KEY}\" }}\n\
         resources:\n  token:\n    type: random_secret\n    properties: {{ bytes: 16 }}\n"
    );
    for i in 0..files {
        let content = if i == 0 {
            "token ${token.value}".to_string()
        } else {
            format!("after ${{f{}.sha256}}", i - 1)
        };
        s.push_str(&format!(
            "  f{i}:\n    type: local_file\n    properties: {{ path: out/f{i}.txt, content: \"{content}\" }}\n"
        ));
    }
    s
}

/// Object ETags and `state show`'s serial, redacted in the snapshots that show them.
const ETAG: (&str, &str) = (r#""[0-9a-f]{32}""#, "[etag]");
const SERIAL: (&str, &str) = (r"Serial: +\d+", "Serial:     [serial]");

#[tokio::test]
async fn eight_concurrent_applies_one_proceeds_the_others_name_the_holder() {
    let c = cloud().await;
    // A state to start from, so lineage can be checked.
    c.write_config(&chain(0));
    assert_eq!(c.hdh(&["apply", "--auto-approve"]).code, 0);
    let before = c.state().await;

    // What one uncontended apply of the chain adds to the serial, on another key.
    let base = cloud().await;
    base.write_config(&chain(0));
    assert_eq!(base.hdh(&["apply", "--auto-approve"]).code, 0);
    let base_before = base.state().await["serial"].as_u64().unwrap();
    base.write_config(&chain(40));
    assert_eq!(base.hdh(&["apply", "--auto-approve"]).code, 0);
    let expected = base.state().await["serial"].as_u64().unwrap() - base_before;
    drop(base);

    c.write_config(&chain(40));
    let started = Instant::now();
    let children: Vec<Child> = (0..8)
        .map(|_| c.spawn(&["apply", "--auto-approve"]))
        .collect();
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let runs: Vec<Ran> = children
        .into_iter()
        .map(|ch| ch.wait_with_output().unwrap().into())
        .collect();
    let elapsed = started.elapsed();

    let winners: Vec<usize> = (0..8).filter(|&i| runs[i].code == 0).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one proceeds:\n{}",
        runs.iter().map(Ran::text).collect::<Vec<_>>().join("\n")
    );
    let w = winners[0];
    assert!(
        runs[w].stdout.contains("Apply complete"),
        "{}",
        runs[w].text()
    );
    let holder = format!("(pid {})", pids[w]);
    for (i, r) in runs.iter().enumerate().filter(|(i, _)| *i != w) {
        assert_eq!(r.code, 1, "{}", r.text());
        assert!(r.stderr.contains("is locked"), "{}", r.stderr);
        assert!(r.stderr.contains("held by tester@"), "{}", r.stderr);
        assert!(
            r.stderr.contains(&holder),
            "run {i} names the winner: {}",
            r.stderr
        );
        assert!(r.stderr.contains("for `apply`"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "a loser plans nothing: {}", r.stdout);
    }
    let after = c.state().await;
    assert_eq!(after["lineage"], before["lineage"], "lineage unchanged");
    assert_eq!(
        after["serial"].as_u64().unwrap() - before["serial"].as_u64().unwrap(),
        expected,
        "the serial went up by one apply's worth"
    );
    assert_eq!(after["resources"].as_object().unwrap().len(), 41);
    assert!(c.lock().await.is_none(), "the winner released the lock");
    eprintln!(
        "8 concurrent applies: 1 proceeded (serial +{expected}), 7 refused; all done in {elapsed:?}"
    );
}

#[tokio::test]
async fn a_killed_holders_lock_is_reported_with_its_age_and_removed_only_by_its_id() {
    let c = cloud().await;
    c.write_config(&chain(60));
    let mut child = c.spawn(&["apply", "--auto-approve"]);
    // Kill it mid-apply: once it holds the lock and has written state.
    poll_until(
        Duration::from_secs(60),
        "the apply to be under way",
        || async { (c.recorded_serial().await >= 4).then_some(()) },
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "killed, not finished: {status:?}");
    let lock = c.lock().await.expect("the lock is left behind");
    let id = lock["id"].as_str().unwrap().to_string();
    assert_eq!(lock["pid"], child.id());

    let locked = c.hdh(&["plan"]);
    assert_eq!(locked.code, 1);
    assert!(locked.stderr.contains(" ago)"), "{}", locked.stderr);
    assert!(
        locked.stderr.contains(&format!("hdh force-unlock {id}")),
        "{}",
        locked.stderr
    );
    snap!("s3_killed_holder_lock", locked.text());

    let wrong = c.hdh(&["force-unlock", "not-the-id"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains(&id),
        "names the real lock: {}",
        wrong.stderr
    );
    assert!(c.lock().await.is_some(), "a wrong id removes nothing");
    let right = c.hdh(&["force-unlock", &id]);
    assert_eq!(right.code, 0, "{}", right.text());
    assert!(c.lock().await.is_none());

    // The next apply settles what the killed one left and finishes the job.
    let resumed = c.hdh(&["apply", "--auto-approve"]);
    assert_eq!(resumed.code, 0, "{}", resumed.text());
    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 0);
}

#[tokio::test]
async fn lock_timeout_waits_with_one_message_then_fails_or_proceeds() {
    let c = cloud().await;
    c.write_config(&chain(1));
    let held = serde_json::json!({
        "id": "4be1c2a8-0000-4000-8000-000000000001", "holder": "alice@ci-runner-7",
        "pid": 4242, "operation": "apply", "created": "2020-01-01T00:00:00Z", "version": "0.1.0"
    });
    let put_lock = || async {
        c.s3.put_object()
            .bucket(BUCKET)
            .key(format!("{KEY}.lock"))
            .body(held.to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
    };
    put_lock().await;

    // Fail fast by default.
    let t = Instant::now();
    let fast = c.hdh(&["plan"]);
    assert_eq!(fast.code, 1);
    assert!(
        fast.stderr.contains("alice@ci-runner-7 (pid 4242)"),
        "{}",
        fast.stderr
    );
    let fast_time = t.elapsed();

    // Wait up to 2s, then fail; the waiting line is printed once.
    let t = Instant::now();
    let waited = c.hdh(&["plan", "--lock-timeout", "2s"]);
    let wait_time = t.elapsed();
    assert_eq!(waited.code, 1);
    assert!(wait_time >= Duration::from_secs(2), "{wait_time:?}");
    assert_eq!(waited.stderr.matches("waiting up to 2s").count(), 1);
    snap!("s3_lock_timeout", waited.text());

    // Released while waiting: the run proceeds.
    let mut child = c.spawn(&["apply", "--auto-approve", "--lock-timeout", "1m"]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("waiting up to 1m0s"), "{first}");
    let released = Instant::now();
    c.s3.delete_object()
        .bucket(BUCKET)
        .key(format!("{KEY}.lock"))
        .send()
        .await
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    eprintln!(
        "lock: fail-fast refusal in {fast_time:?}; --lock-timeout 2s gave up after {wait_time:?}; \
         a waiter finished its apply {:?} after the lock was released",
        released.elapsed()
    );
}

#[tokio::test]
async fn a_failed_write_leaves_an_errored_file_that_state_push_uploads() {
    let mut c = cloud().await;
    let proxy = Proxy::start(c.emu.endpoint());
    c.endpoint = proxy.endpoint();
    c.write_config(&chain(60));
    let mut child = c.spawn(&["apply", "--auto-approve"]);
    poll_until(
        Duration::from_secs(60),
        "the apply to be under way",
        || async { (c.recorded_serial().await >= 4).then_some(()) },
    )
    .await;
    proxy.cut();
    let run: Ran = {
        child.stdin.take();
        let out = child.wait_with_output().unwrap();
        out.into()
    };
    assert_eq!(run.code, 1, "{}", run.text());
    let errored = c.d().join("errored.team.state.json");
    assert!(
        run.stderr.contains("errored.team.state.json"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hdh state push"), "{}", run.stderr);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&errored).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&errored).unwrap()).unwrap();
    let stored = c.state().await;
    assert_eq!(kept["lineage"], stored["lineage"]);
    assert!(
        kept["serial"].as_u64() > stored["serial"].as_u64(),
        "errored serial {} vs stored {}: {}",
        kept["serial"],
        stored["serial"],
        run.text()
    );
    let kept_resources = kept["resources"].as_object().unwrap().len();
    assert!(
        kept_resources >= stored["resources"].as_object().unwrap().len(),
        "the errored file knows at least what S3 does"
    );

    proxy.repair();
    // The killed connection left the lock; push names it, force-unlock removes it.
    let warned = c.hdh(&["plan"]);
    assert!(
        warned.stderr.contains("is locked"),
        "the lock of the failed run is still there: {}",
        warned.text()
    );
    let id = c.lock().await.unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(c.hdh(&["force-unlock", &id]).code, 0);
    let warned = c.hdh(&["apply", "--auto-approve", "--refresh=false"]);
    assert_eq!(warned.code, 1, "{}", warned.text());
    assert!(warned.stderr.contains("state push"), "{}", warned.stderr);

    let pushed = c.hdh(&["state", "push", "errored.team.state.json"]);
    assert_eq!(pushed.code, 0, "{}", pushed.text());
    let now = c.state().await;
    assert_eq!(now["serial"], kept["serial"]);
    assert_eq!(now["resources"].as_object().unwrap().len(), kept_resources);
    let again = c.hdh(&["state", "push", "errored.team.state.json"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("nothing to push"), "{}", again.text());

    // An older serial or another lineage is refused.
    let mut older = kept.clone();
    older["serial"] = (kept["serial"].as_u64().unwrap() - 1).into();
    std::fs::write(c.d().join("older.json"), older.to_string()).unwrap();
    let refused = c.hdh(&["state", "push", "older.json"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("not newer"), "{}", refused.stderr);
    let mut other = kept.clone();
    other["lineage"] = "another-history".into();
    other["serial"] = 999.into();
    std::fs::write(c.d().join("other.json"), other.to_string()).unwrap();
    let refused = c.hdh(&["state", "push", "other.json"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("another state history"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        c.state().await["serial"],
        kept["serial"],
        "nothing was written"
    );

    std::fs::remove_file(&errored).unwrap();
    let done = c.hdh(&["apply", "--auto-approve"]);
    assert_eq!(done.code, 0, "{}", done.text());
    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 0);
}

const TWO_FILES: &str = r#"
version: 1
name: files
region: us-east-1
state: { backend: s3, bucket: team-state, key: stacks/files.state.json }
resources:
  a:
    type: local_file
    properties: { path: a.txt, content: "one" }
  b:
    type: local_file
    properties: { path: b.txt, content: "two" }
"#;

#[tokio::test]
async fn saved_plans_on_s3_refuse_stale_entries_and_accept_unrelated_changes() {
    let c = cloud().await;
    let d = c.d();
    c.write_config(TWO_FILES);
    assert_eq!(c.hdh(&["apply", "--auto-approve"]).code, 0);
    c.write_config(&TWO_FILES.replace("\"one\"", "\"uno\""));
    assert_eq!(c.hdh(&["plan", "--out", "p1"]).code, 0);
    assert_eq!(c.hdh(&["plan", "--out", "p2"]).code, 0);

    std::fs::write(d.join("a.txt"), "edited by hand").unwrap();
    let stale = c.hdh(&["apply", "p1"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("the plan is stale: a changed"),
        "{}",
        stale.stderr
    );
    assert_eq!(
        std::fs::read_to_string(d.join("a.txt")).unwrap(),
        "edited by hand"
    );

    std::fs::write(d.join("a.txt"), "one").unwrap();
    std::fs::write(d.join("b.txt"), "drifted").unwrap();
    let ok = c.hdh(&["apply", "p2"]);
    assert_eq!(ok.code, 0, "{}", ok.text());
    assert_eq!(std::fs::read_to_string(d.join("a.txt")).unwrap(), "uno");
    assert_eq!(std::fs::read_to_string(d.join("b.txt")).unwrap(), "drifted");
}

#[tokio::test]
async fn exit_codes_schema_markdown_kms_and_no_secret_anywhere() {
    let c = cloud().await;
    let d = c.d();
    let config = chain(1);
    c.write_config(&config);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/plan.schema.json")).unwrap();

    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 2);
    let json = c.hdh(&["plan", "--json", "--out", "create.plan"]);
    assert_eq!(json.code, 0, "{}", json.text());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        support::json_schema::violations(&schema, &doc),
        Vec::<String>::new()
    );
    let md_create = c.hdh(&["plan", "--format", "markdown"]);
    assert_eq!(md_create.code, 0);
    snap!("s3_plan_markdown_create", md_create.stdout.clone());

    let apply = c.hdh(&["apply", "create.plan"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(c.hdh(&["plan", "--fail-on", "any"]).code, 0);

    // The state object is KMS-encrypted with the configured key.
    let head =
        c.s3.head_object()
            .bucket(BUCKET)
            .key(KEY)
            .send()
            .await
            .unwrap();
    assert_eq!(head.server_side_encryption().unwrap().as_str(), "aws:kms");
    assert_eq!(head.ssekms_key_id(), Some(KMS_KEY));

    // A path change replaces f0: 2 with --detailed-exitcode, 3 with --fail-on replace/destroy.
    c.write_config(&config.replace("out/f0.txt", "out/moved.txt"));
    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 2);
    let replace = c.hdh(&["plan", "--fail-on", "replace", "--out", "replace.plan"]);
    assert_eq!(replace.code, 3);
    assert!(replace.stderr.contains("replace f0"), "{}", replace.stderr);
    assert_eq!(c.hdh(&["plan", "--fail-on", "destroy"]).code, 3);
    let json = c.hdh(&["plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        support::json_schema::violations(&schema, &doc),
        Vec::<String>::new()
    );
    let md = c.hdh(&["plan", "--format", "markdown"]);
    assert_eq!(md.code, 0);
    assert!(
        md.stdout.contains("**Destructive changes:**"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("<details>"), "{}", md.stdout);
    snap!("s3_plan_markdown_replace", md.stdout.clone());
    let destroy_md = c.hdh(&["plan", "--destroy", "--format", "markdown"]);
    assert_eq!(destroy_md.code, 0);

    // 1 on errors: a broken config, and --json with --format.
    std::fs::write(d.join("broken.yaml"), "version: 1\nname: Bad Name\n").unwrap();
    assert_eq!(c.hdh(&["plan", "-f", "broken.yaml"]).code, 1);
    assert_eq!(c.hdh(&["plan", "--json", "--format", "markdown"]).code, 1);

    let secrets = c.secrets().await;
    let files = [
        ("JSON", json.stdout),
        ("Markdown", md.stdout),
        ("Markdown (create)", md_create.stdout),
        ("Markdown (destroy)", destroy_md.stdout),
        (
            "plan file",
            std::fs::read_to_string(d.join("replace.plan")).unwrap(),
        ),
        (
            "plan file (create)",
            std::fs::read_to_string(d.join("create.plan")).unwrap(),
        ),
        ("state show", c.hdh(&["state", "show"]).stdout),
        (
            "state show token",
            c.hdh(&["state", "show", "token"]).stdout,
        ),
    ];
    for (what, text) in &files {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret in the {what}");
        }
    }
}

#[tokio::test]
async fn state_show_reports_where_what_and_versioning() {
    let c = cloud().await;
    c.write_config(&chain(2));
    let empty = c.hdh(&["state", "show"]);
    assert_eq!(empty.code, 0, "{}", empty.text());
    assert!(
        empty.stdout.contains("No state stored yet"),
        "{}",
        empty.stdout
    );
    assert_eq!(c.hdh(&["apply", "--auto-approve"]).code, 0);
    let off = c.hdh(&["state", "show"]);
    assert_eq!(off.code, 0, "{}", off.text());
    snap!("s3_state_show_versioning_off", off.text(), [ETAG, SERIAL]);

    c.s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let on = c.hdh(&["state", "show"]);
    assert!(
        on.stdout
            .contains("Versioning: enabled on bucket team-state"),
        "{}",
        on.stdout
    );
    assert!(!on.stdout.contains("recommended"), "{}", on.stdout);
    // With an address, as before.
    let one = c.hdh(&["state", "show", "f1"]);
    assert_eq!(one.code, 0);
    assert!(one.stdout.starts_with("f1 (local_file)"), "{}", one.stdout);
}

#[tokio::test]
async fn migrate_moves_state_to_s3_and_back_keeping_lineage_and_serial() {
    let c = cloud().await;
    let local = chain(2).replace(
        &format!(
            "state: {{ backend: s3, bucket: {BUCKET}, key: {KEY}, kms_key_id: \"{KMS_KEY}\" }}\n"
        ),
        "",
    );
    c.write_config(&local);
    assert_eq!(c.hdh(&["apply", "--auto-approve"]).code, 0);
    let local_path = c.d().join(".hdh/team.state.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&local_path).unwrap()).unwrap();

    // Local → S3.
    c.write_config(&chain(2));
    let to_s3 = c.hdh(&["state", "migrate", "--from", ".hdh/team.state.json"]);
    assert_eq!(to_s3.code, 0, "{}", to_s3.text());
    snap!("s3_migrate_to_s3", to_s3.text());
    let in_s3 = c.state().await;
    assert_eq!(in_s3["lineage"], original["lineage"]);
    assert_eq!(in_s3["serial"], original["serial"]);
    assert_eq!(in_s3["resources"], original["resources"]);
    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 0);
    // Again: nothing to do.
    let again = c.hdh(&["state", "migrate", "--from", ".hdh/team.state.json"]);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("nothing to migrate"),
        "{}",
        again.stdout
    );

    // Work continues in S3 (serial goes up), then S3 → local over the old local file.
    c.write_config(&chain(3));
    assert_eq!(c.hdh(&["apply", "--auto-approve"]).code, 0);
    let moved_on = c.state().await;
    c.write_config(&chain(3).replace(
        &format!(
            "state: {{ backend: s3, bucket: {BUCKET}, key: {KEY}, kms_key_id: \"{KMS_KEY}\" }}\n"
        ),
        "",
    ));
    let back = c.hdh(&[
        "state",
        "migrate",
        "--from",
        &format!("s3://{BUCKET}/{KEY}"),
    ]);
    assert_eq!(back.code, 0, "{}", back.text());
    let local_now: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&local_path).unwrap()).unwrap();
    assert_eq!(local_now["lineage"], moved_on["lineage"]);
    assert_eq!(local_now["serial"], moved_on["serial"]);
    assert_eq!(c.hdh(&["plan", "--detailed-exitcode"]).code, 0);

    // A destination with another history is refused and left as it was.
    let other = c.d().join("other.state.json");
    let mut doc = local_now.clone();
    doc["lineage"] = "another-history".into();
    std::fs::write(&other, doc.to_string()).unwrap();
    c.write_config(&chain(3));
    let refused = c.hdh(&["state", "migrate", "--from", "other.state.json"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("another state history"),
        "{}",
        refused.stderr
    );
    assert_eq!(c.state().await, moved_on, "S3 state untouched");
}
