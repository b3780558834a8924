//! `hdh import` of a DaskHub the HelioCloud seed's scripts built (made here with the AWS SDK
//! and the stand-in helm, never with hdh; `support/seed_hub.rs`): an ambiguous VPC refused
//! until its id is given, a wrong id refused, a dry run that writes nothing, the import itself
//! (what it matched, snapshotted with ids redacted), a second import that records nothing, the
//! plan after it (no replacement of anything that exists), and kills during an import leaving
//! state either untouched or complete.

mod support;

use std::path::Path;
use std::process::Stdio;

use hdh_testcloud::{KillAt, KillWhen};
use support::hub::{setup, Hub};
use support::runner::arm_and_continue;
use support::seed_hub;

/// import.rs's snapshots redact AWS ids, the pool, the OIDC issuer, the zone and the state
/// file instead of the usual redactions.
const REDACTIONS: &[(&str, &str)] = &[
    (
        r"\b(vpc|subnet|rtb|igw|nat|eipalloc|sg|fsmt|fs)-[0-9a-f]{8,17}\b",
        "$1-[id]",
    ),
    (
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[uuid]",
    ),
    (r"us-east-1_[A-Za-z0-9]+", "us-east-1_[pool]"),
    (
        r"oidc\.eks\.us-east-1\.amazonaws\.com/id/[0-9A-Za-z]+",
        "oidc.eks.us-east-1.amazonaws.com/id/[id]",
    ),
    (r"\b[A-Z0-9]{12,32}/daskhub", "[zone]/daskhub"),
    (r"into \S+\.json", "into [state]"),
];

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn state_path(run: &Hub) -> std::path::PathBuf {
    run.dir.join(".hdh/helio-demo.state.json")
}

/// The example with what this seed hub has: eksctl's role names, autohttps (the seed's TLS).
fn configure(run: &Hub) {
    run.edit(
        "    name: eks-helio\n",
        &format!(
            "    name: eks-helio\n    role_name: {}\n    node_role_name: {}\n",
            seed_hub::CLUSTER_ROLE,
            seed_hub::NODE_ROLE
        ),
    );
    run.edit(
        "dns: { hosted_zone: example.org, record: daskhub }",
        "dns: { hosted_zone: example.org, record: daskhub, tls: letsencrypt }",
    );
}

/// `hdh import` killed by the emulator's crash switch at the `at`-th call of `service`.
fn import_killed(run: &Hub, args: &[String], at: u64, service: &str) -> String {
    let mut child = run
        .runner()
        .env("HDH_TIME_SCALE", run.time_scale.to_string())
        .command_stopped(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kill = KillAt {
        at,
        when: KillWhen::Before,
        service: Some(service.into()),
        operation: None,
        any_of: Vec::new(),
    };
    arm_and_continue(&child, &run.emu, &kill);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "import was killed");
    run.emu.crash_status().unwrap()["fired"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_built_hub_is_imported_and_plans_only_real_differences() {
    let mut run = setup(0.002);
    configure(&run);
    let hub = seed_hub::build(&run).await;
    let conf = run.emu.aws_config("us-east-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    // Another HelioCloud instance's VPC with the same CIDR: the search finds two.
    let decoy = seed_hub::cdk_vpc(&ec2, "HelioCloud-Other").await;

    let refused = run.hdh(&["import", "-f", "daskhub.yaml"]);
    let out = refused.printed();
    assert_eq!(refused.status.code(), Some(1), "{out}");
    assert!(
        out.contains("daskhub.network.vpc: 2 candidates, refused"),
        "{out}"
    );
    assert!(out.contains(&hub.vpc) && out.contains(&decoy), "{out}");
    assert!(out.contains("nothing was written to state"), "{out}");
    assert!(!state_path(&run).exists(), "a refused import wrote state");
    // The cluster's key comes from a key import did not find: keeping the cluster as it is
    // cannot be promised (apply would make a key and a new cluster), so it is refused.
    assert!(
        out.contains("encryption_key_arn is ") && out.contains("import did not match"),
        "{out}"
    );
    support::snap::settings(REDACTIONS)
        .bind(|| insta::assert_snapshot!("import_ambiguous_vpc", out));

    // The ids a search cannot settle: the VPC (two), the public route table (the CDK made one
    // per public subnet), and what has no name the config knows (the CDK's key and file
    // system). The auth stack's pool is named otherwise than the config's: a new pool is made
    // (`auth.cognito.user_pool_id` is the way to keep it).
    let ids = |vpc: &str| -> Vec<String> {
        let mut a: Vec<String> = ["import", "-f", "daskhub.yaml"].map(String::from).to_vec();
        for (address, id) in [
            ("daskhub.network.vpc", vpc),
            (
                "daskhub.network.route_table.public",
                &hub.public_route_tables[0],
            ),
            ("daskhub.keys.secrets", &hub.kms_key),
            ("daskhub.storage.efs", &hub.efs),
        ] {
            a.push("--id".into());
            a.push(format!("{address}={id}"));
        }
        a
    };

    // A wrong id: one that does not exist, and one whose CIDR is not the config's.
    let missing = run.hdh(&args(&ids("vpc-0123456789abcdef0")));
    let out = missing.printed();
    assert_eq!(missing.status.code(), Some(1), "{out}");
    assert!(
        out.contains("daskhub.network.vpc: no aws_vpc with id vpc-0123456789abcdef0, refused"),
        "{out}"
    );
    let other = ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let wrong = run.hdh(&args(&ids(&other)));
    let out = wrong.printed();
    assert_eq!(wrong.status.code(), Some(1), "{out}");
    assert!(
        out.contains(r#"cidr_block is "10.99.0.0/16" there, the config says "10.20.0.0/16""#),
        "{out}"
    );
    assert!(!state_path(&run).exists(), "a refused import wrote state");

    // Killed in the middle of its searches: state untouched.
    let fired = import_killed(&run, &ids(&hub.vpc), 3, "eks");
    assert!(
        !state_path(&run).exists(),
        "killed at {fired}: state written"
    );

    let mut with_dry = ids(&hub.vpc);
    with_dry.push("--dry-run".into());
    let dry = run.hdh(&args(&with_dry));
    let dry_out = dry.printed();
    assert_eq!(dry.status.code(), Some(0), "{dry_out}");
    assert!(
        dry_out.contains("Dry run: nothing was written"),
        "{dry_out}"
    );
    assert!(!state_path(&run).exists(), "a dry run wrote state");

    let import = run.hdh(&args(&ids(&hub.vpc)));
    let out = import.printed();
    assert_eq!(import.status.code(), Some(0), "{out}");
    println!("{out}");
    support::snap::settings(REDACTIONS)
        .bind(|| insta::assert_snapshot!("import_seed_hub", out.clone()));
    let state = std::fs::read(state_path(&run)).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&state).unwrap();
    let recorded = doc["resources"].as_object().unwrap();
    assert_eq!(recorded["daskhub.network.vpc"]["id"], hub.vpc.as_str());
    assert_eq!(recorded["daskhub.cluster.eks"]["id"], "eks-helio");

    // A second import finds everything in state and writes nothing.
    let again = run.hdh(&args(&ids(&hub.vpc)));
    let again_out = again.printed();
    assert_eq!(again.status.code(), Some(0), "{again_out}");
    assert!(again_out.contains("Nothing new to import."), "{again_out}");
    assert!(again_out.contains(" 0 matched,"), "{again_out}");
    assert_eq!(
        std::fs::read(state_path(&run)).unwrap(),
        state,
        "state changed"
    );

    // The plan after import: nothing that exists is replaced or deleted.
    let plan = run.hdh(&["plan", "-f", "daskhub.yaml", "--fail-on", "destroy"]);
    let plan_out = plan.printed();
    println!("{plan_out}");
    assert_eq!(plan.status.code(), Some(0), "{plan_out}");
    assert!(!plan_out.contains("-/+"), "{plan_out}");
    assert!(plan_out.contains("Plan: "), "{plan_out}");
    secrets_absent(&run, &run.printed);
}

/// The seed's proxy token (in the release's values) never reaches hdh's output.
fn secrets_absent(_run: &Hub, printed: &str) {
    for secret in [seed_hub::PROXY_TOKEN, seed_hub::GATEWAY_TOKEN] {
        assert!(!printed.contains(secret), "a secret was printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_after_its_write_left_complete_state() {
    let mut run = setup(0.002);
    configure(&run);
    let hub = seed_hub::build(&run).await;
    let mut args: Vec<String> = ["import", "-f", "daskhub.yaml", "--partial"]
        .map(String::from)
        .to_vec();
    for (address, id) in [
        (
            "daskhub.network.route_table.public",
            &hub.public_route_tables[0],
        ),
        ("daskhub.keys.secrets", &hub.kms_key),
    ] {
        args.push("--id".into());
        args.push(format!("{address}={id}"));
    }
    // HDH_TEST_KILL_AT=compaction:1: SIGKILL right after the state file was replaced.
    let status = run
        .runner()
        .env("HDH_TEST_KILL_AT", "compaction:1")
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let killed_state = std::fs::read(state_path(&run)).unwrap();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let again = run.hdh(&argv);
    let out = again.printed();
    assert_eq!(again.status.code(), Some(0), "{out}");
    assert!(out.contains("Nothing new to import."), "{out}");
    assert!(out.contains("daskhub.network.vpc ("), "{out}");
    assert_eq!(
        std::fs::read(state_path(&run)).unwrap(),
        killed_state,
        "the killed import's state was not complete"
    );
    let _ = Path::new("");
}
