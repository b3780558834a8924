//! State in S3 that cannot be confused, through the binary against the emulator (the S3 twin of
//! `state_safety.rs`): another stack's state put at this stack's key, a lineage changed in
//! place, a serial going backwards and a state object missing beside its backup are refused
//! with a message saying what was found and what was expected, leave the state object and its
//! backup byte-identical and never leave the lock behind; `--allow-lineage-change` overrides,
//! says so, and keeps the old history's backup as `<key>.backup.<lineage>`.

mod support;

use std::path::Path;

use hdh_testcloud::{Emulator, Profile};
use support::runner::{Hdh, Ran};

const REGION: &str = "us-east-1";
const BUCKET: &str = "safe-state";

fn config(key: &str, content: &str) -> String {
    format!(
        r#"
version: 1
name: safe
region: {REGION}
state: {{ backend: s3, bucket: {BUCKET}, key: {key} }}
resources:
  token:
    type: random_secret
    properties: {{ bytes: 8, encoding: hex }}
  file:
    type: local_file
    properties: {{ path: out.txt, content: "{content} ${{token.value}}" }}
"#
    )
}

struct Cloud {
    emu: Emulator,
    s3: aws_sdk_s3::Client,
}

impl Cloud {
    async fn start() -> Cloud {
        let emu = Emulator::builder()
            .profile(Profile::Instant)
            .start()
            .expect("emulator starts");
        let s3 = emu.s3_client(REGION).await;
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        Cloud { emu, s3 }
    }

    fn hdh(&self, dir: &Path, args: &[&str]) -> Ran {
        Hdh::plain()
            .dir(dir)
            .envs(self.emu.env())
            .no_color()
            .without_aws_config_files()
            .run(args)
    }

    /// A stack with state at `key`, applied once (so it has a state object and a backup).
    async fn applied(&self, key: &str, content: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hdh.yaml"), config(key, content)).unwrap();
        let run = self.hdh(dir.path(), &["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            self.object(&format!("{key}.backup")).await.is_some(),
            "an apply leaves a backup"
        );
        dir
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.s3.get_object().bucket(BUCKET).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.unwrap().to_vec()),
            Err(_) => None,
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    async fn json(&self, key: &str) -> serde_json::Value {
        serde_json::from_slice(&self.object(key).await.unwrap()).unwrap()
    }

    /// Runs plan, apply, destroy and `state list` against the state at `key`: each must be
    /// refused (exit 1, no panic), leave state and backup byte-identical and the lock released.
    /// Returns apply's error output.
    async fn refused_by_every_command(&self, dir: &Path, key: &str) -> String {
        let state = self.object(key).await;
        let backup = self.object(&format!("{key}.backup")).await;
        let mut apply_err = String::new();
        for args in [
            &["plan"][..],
            &["apply", "--auto-approve"],
            &["destroy", "--auto-approve"],
            &["state", "list"],
        ] {
            let run = self.hdh(dir, args);
            assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            assert_eq!(self.object(key).await, state, "{args:?}");
            assert_eq!(
                self.object(&format!("{key}.backup")).await,
                backup,
                "{args:?}"
            );
            assert!(
                self.object(&format!("{key}.lock")).await.is_none(),
                "{args:?} left the lock behind"
            );
            if args[0] == "apply" {
                apply_err = run.stderr;
            }
        }
        apply_err
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_of_another_stack_is_refused_and_the_flag_overrides_saying_so() {
    let c = Cloud::start().await;
    let ours = c.applied("ours.json", "ours").await;
    c.applied("theirs.json", "theirs").await;
    let theirs = c.object("theirs.json").await.unwrap();
    c.put("ours.json", theirs).await;
    let message = c.refused_by_every_command(ours.path(), "ours.json").await;
    assert!(
        message.contains("is not the one this stack last recorded: found lineage"),
        "{message}"
    );
    assert!(
        message.contains("the lineage of its backup s3://safe-state/ours.json.backup"),
        "{message}"
    );

    let old_lineage = c.json("ours.json.backup").await["lineage"]
        .as_str()
        .unwrap()
        .to_string();
    let run = c.hdh(
        ours.path(),
        &["apply", "--auto-approve", "--allow-lineage-change"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: --allow-lineage-change: accepting state"),
        "{}",
        run.stderr
    );
    // The old history's backup is kept aside, and the new history is now the known one.
    let kept = c.json(&format!("ours.json.backup.{old_lineage}")).await;
    assert_eq!(kept["lineage"], old_lineage.as_str());
    let again = c.hdh(ours.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stderr.contains("allow-lineage-change"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lineage_changed_in_place_or_a_serial_going_backwards_is_refused() {
    let c = Cloud::start().await;
    let dir = c.applied("s.json", "x").await;
    let good = c.json("s.json").await;

    let mut changed = good.clone();
    changed["lineage"] = "00000000-0000-4000-8000-000000000000".into();
    c.put("s.json", serde_json::to_vec_pretty(&changed).unwrap())
        .await;
    let message = c.refused_by_every_command(dir.path(), "s.json").await;
    assert!(message.contains("found lineage 00000000-"), "{message}");

    let backup_serial = c.json("s.json.backup").await["serial"].as_u64().unwrap();
    let mut behind = good.clone();
    behind["serial"] = (backup_serial - 1).into();
    c.put("s.json", serde_json::to_vec_pretty(&behind).unwrap())
        .await;
    let message = c.refused_by_every_command(dir.path(), "s.json").await;
    assert!(
        message.contains(&format!("found serial {} of lineage", backup_serial - 1))
            && message.contains("so the state went backwards"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_state_object_beside_its_backup_is_refused() {
    let c = Cloud::start().await;
    let dir = c.applied("m.json", "x").await;
    c.s3.delete_object()
        .bucket(BUCKET)
        .key("m.json")
        .send()
        .await
        .unwrap();
    let message = c.refused_by_every_command(dir.path(), "m.json").await;
    assert!(message.contains("found no state object"), "{message}");
    assert!(
        message.contains("its backup s3://safe-state/m.json.backup"),
        "{message}"
    );
}
