//! A run killed (SIGKILL) right after AWS acted on one of its creates, before hdh could record
//! the answer, is finished by running the same command again: `examples/daskhub.yaml` on the
//! realistic emulator, the kill made exact by a proxy that kills hdh when the emulator answers
//! the matching request (and never delivers that answer). Each test then checks what a user
//! would: the re-apply exits 0, `plan --detailed-exitcode` exits 0, and the emulator holds
//! exactly what an uninterrupted run makes (no second Elastic IP, no extra route table), also
//! after a destroy. A kill during the Helm release leaves no file holding a secret, and a helm
//! killed with hdh mid-install or mid-upgrade (its release left pending, which helm refuses to
//! upgrade) is freed by the re-run.

mod support;

use std::path::Path;

use aws_sdk_ec2::types::Filter;
use hdh_testcloud::{KillAt, KillWhen};
use support::hub::{setup, Hub};
use support::killer::Killer;
use support::runner::Ran;

const REGION: &str = "us-east-1";
const TIME_SCALE: f64 = 0.002;
const STACK: &str = "helio-demo";
const APPLY: [&str; 5] = [
    "apply",
    "-f",
    "daskhub.yaml",
    "--auto-approve",
    "--no-color",
];

/// What an uninterrupted apply of the example makes, per the emulator.
#[derive(Debug, PartialEq, Eq)]
struct Inventory {
    vpcs: usize,
    subnets: usize,
    route_tables: usize,
    addresses: usize,
    nat_gateways: usize,
    security_groups: usize,
    clusters: usize,
    node_groups: usize,
}

const ONE_STACK: Inventory = Inventory {
    vpcs: 1,
    subnets: 4,
    route_tables: 3,
    addresses: 1,
    nat_gateways: 1,
    security_groups: 1,
    clusters: 1,
    node_groups: 4,
};

fn stack_filter() -> Filter {
    Filter::builder()
        .name("tag:hdh:stack")
        .values(STACK)
        .build()
}

async fn inventory(run: &Hub) -> Inventory {
    let c = run.emu.aws_config(REGION).await;
    let ec2 = aws_sdk_ec2::Client::new(&c);
    let eks = aws_sdk_eks::Client::new(&c);
    let f = stack_filter;
    let vpcs = ec2.describe_vpcs().filters(f()).send().await.unwrap();
    let subnets = ec2.describe_subnets().filters(f()).send().await.unwrap();
    let rts = ec2
        .describe_route_tables()
        .filters(f())
        .send()
        .await
        .unwrap();
    let eips = ec2.describe_addresses().filters(f()).send().await.unwrap();
    let nats = ec2
        .describe_nat_gateways()
        .filter(f())
        .send()
        .await
        .unwrap();
    let sgs = ec2
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .unwrap();
    let clusters = eks.list_clusters().send().await.unwrap();
    let mut node_groups = 0;
    for name in clusters.clusters() {
        node_groups += eks
            .list_nodegroups()
            .cluster_name(name)
            .send()
            .await
            .unwrap()
            .nodegroups()
            .len();
    }
    Inventory {
        vpcs: vpcs.vpcs().len(),
        subnets: subnets.subnets().len(),
        route_tables: rts.route_tables().len(),
        addresses: eips.addresses().len(),
        nat_gateways: nats
            .nat_gateways()
            .iter()
            .filter(|n| n.state().is_some_and(|s| s.as_str() != "deleted"))
            .count(),
        security_groups: sgs.security_groups().len(),
        clusters: clusters.clusters().len(),
        node_groups,
    }
}

/// `hdh apply` through `killer`, armed to SIGKILL it once the emulator has answered the first
/// request containing `needle`; returns what it printed. Its TMPDIR is `<run>/tmp`.
fn apply_killed_at(run: &Hub, killer: &Killer, needle: &str) -> String {
    let tmp = run.tmpdir();
    let child = run
        .runner()
        .env("AWS_ENDPOINT_URL", killer.endpoint())
        .env("HDH_TIME_SCALE", TIME_SCALE.to_string())
        .env("TMPDIR", &tmp)
        .spawn(APPLY);
    killer.arm(needle, child.id());
    let out = Ran::from(child.wait_with_output().unwrap());
    let text = out.printed();
    assert_eq!(
        killer.fired().as_deref(),
        Some(needle),
        "the apply ended before AWS answered {needle:?}:\n{text}"
    );
    assert!(!out.status.success(), "killed, yet exit 0:\n{text}");
    text
}

/// The same command again: exit 0, nothing left to do, and exactly one stack's worth.
async fn rerun_converges(run: &mut Hub) -> String {
    let out = run.ok(&["apply", "-f", "daskhub.yaml", "--auto-approve"]);
    assert!(out.contains("Apply complete"), "{out}");
    let plan = run.hdh(&["plan", "-f", "daskhub.yaml", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "a plan after the re-apply still has changes:\n{}",
        plan.stdout
    );
    assert_eq!(
        inventory(run).await,
        ONE_STACK,
        "after the re-apply:\n{out}"
    );
    out
}

async fn killed_at(needle: &str) -> (Hub, String) {
    let mut run = setup(TIME_SCALE);
    run.hosted_zone().await;
    let killer = Killer::start(run.emu.endpoint());
    apply_killed_at(&run, &killer, needle);
    let out = rerun_converges(&mut run).await;
    (run, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_elastic_ip_was_allocated_the_rerun_adopts_it_and_destroy_releases_it() {
    let (mut run, out) = killed_at("Action=AllocateAddress").await;
    assert!(out.contains("created by an interrupted run"), "{out}");
    let out = run.ok(&[
        "destroy",
        "-f",
        "daskhub.yaml",
        "--keep-retained",
        "--auto-approve",
    ]);
    assert!(out.contains("Destroy complete"), "{out}");
    let left = inventory(&run).await;
    assert_eq!(
        (left.addresses, left.vpcs),
        (0, 0),
        "after destroy: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_a_subnet_was_created_the_rerun_adopts_it() {
    killed_at("Action=CreateSubnet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_a_route_table_was_created_the_rerun_adopts_it() {
    killed_at("Action=CreateRouteTable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_the_cluster_is_creating_the_rerun_waits_for_it_then_makes_the_node_groups() {
    let (_run, out) = killed_at("POST /clusters HTTP").await;
    assert!(out.contains("adopted"), "{out}");
}

/// Every file under `dir` whose bytes contain `secret`.
fn files_holding(dir: &Path, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_holding(&p, secret));
        } else if std::fs::read(&p)
            .is_ok_and(|b| b.windows(secret.len()).any(|w| w == secret.as_bytes()))
        {
            found.push(p.display().to_string());
        }
    }
    found
}

/// The secrets in state (random tokens, the Cognito client secret), read as hdh reads it: the
/// state file with its journal replayed, since a killed run's latest changes are in the journal.
async fn secrets_in_state(run: &Hub) -> Vec<String> {
    use hdh_engine::StateStore;
    let store = hdh_state::LocalStore::new(run.dir.join(format!(".hdh/{STACK}.state.json")));
    let loaded = store
        .load()
        .await
        .unwrap()
        .expect("the killed run saved state");
    let state: serde_json::Value = serde_json::from_slice(&hdh_state::encode(&loaded)).unwrap();
    let mut out = Vec::new();
    for r in state["resources"].as_object().unwrap().values() {
        for key in ["value", "client_secret"] {
            if let Some(s) = r["attributes"][key].as_str() {
                if s.len() >= 16 {
                    out.push(s.to_string());
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_the_helm_release_no_secret_is_left_on_disk_and_the_rerun_sets_the_dns_record(
) {
    let mut run = setup(TIME_SCALE);
    run.hosted_zone().await;
    let killer = Killer::start(run.emu.endpoint());
    // The stand-in helm's install call (JSON to the emulator): hdh is killed while helm runs.
    apply_killed_at(&run, &killer, "\"op\": \"upgrade\"");
    let secrets = secrets_in_state(&run).await;
    assert!(
        secrets.len() >= 2,
        "the tokens and the client secret are in state"
    );
    for s in &secrets {
        let files = files_holding(&run.dir.join("tmp"), s);
        assert!(files.is_empty(), "a secret is left on disk in {files:?}");
    }
    let out = rerun_converges(&mut run).await;
    assert!(out.contains("daskhub.dns.record"), "{out}");
}

/// `hdh apply` killed by the emulator's crash switch together with the stand-in helm it runs,
/// right after helm's `upgrade` acted: as when the laptop closes while helm waits for the hub.
fn apply_killed_with_helm(run: &Hub) {
    let child = run
        .runner()
        .env("HDH_TIME_SCALE", TIME_SCALE.to_string())
        .env("TMPDIR", run.tmpdir())
        .spawn(APPLY);
    let kill = KillAt {
        at: 1,
        when: KillWhen::After,
        service: Some("helm".into()),
        operation: Some("upgrade".into()),
        any_of: Vec::new(),
    };
    run.emu.arm_crash(child.id(), &kill).unwrap();
    let out = child.wait_with_output().unwrap();
    let fired = run.emu.crash_status().unwrap()["fired"].clone();
    assert_eq!(fired["result"], "killed", "{fired}\n{out:?}");
    assert!(!out.status.success());
}

fn release_status(run: &Hub) -> String {
    let j: serde_json::Value = serde_json::from_str(&run.tool(
        "helm",
        &["status", "daskhub", "-n", "daskhub", "-o", "json"],
    ))
    .unwrap();
    j["info"]["status"].as_str().unwrap().to_string()
}

/// What hdh left in its TMPDIR (its per-call Kubernetes work directories).
fn work_dirs(run: &Hub) -> Vec<String> {
    std::fs::read_dir(run.tmpdir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hdh-k8s-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_killed_mid_install_or_mid_upgrade_leaves_a_pending_release_the_rerun_frees() {
    let mut run = setup(TIME_SCALE);
    run.hosted_zone().await;

    apply_killed_with_helm(&run);
    assert_eq!(release_status(&run), "pending-install");
    assert!(
        !work_dirs(&run).is_empty(),
        "the killed run left its work directory"
    );
    let out = rerun_converges(&mut run).await;
    assert!(
        out.contains("daskhub/daskhub revision 1")
            && out.contains("left pending-install by a helm that was stopped mid-way"),
        "the re-run says what it did:\n{out}"
    );
    assert_eq!(release_status(&run), "deployed");

    // An upgrade killed the same way: rolled back, then upgraded to what the config says.
    run.edit(
        "helio-daskhub-core:2023.11.30",
        "helio-daskhub-core:2024.05.01",
    );
    apply_killed_with_helm(&run);
    assert_eq!(release_status(&run), "pending-upgrade");
    let out = rerun_converges(&mut run).await;
    assert!(
        out.contains("left pending-upgrade by a helm that was stopped mid-way; rolled back"),
        "{out}"
    );
    assert_eq!(release_status(&run), "deployed");
    let values = run.helm_values().to_string();
    assert!(values.contains("helio-daskhub-core"), "{values}");
    assert!(values.contains("2024.05.01"), "{values}");
    assert_eq!(
        work_dirs(&run),
        Vec::<String>::new(),
        "the re-runs removed what the killed runs left in TMPDIR"
    );
}
