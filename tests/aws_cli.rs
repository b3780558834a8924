//! `examples/eks-cluster.yaml` through the `hdh` binary against a private emulator (realistic
//! profile, scaled time): apply, an empty second plan (exit 0 with --detailed-exitcode), an
//! in-place node group change (exit 2), destroy, and nothing of the stack left in the emulator.

use std::path::Path;
use std::process::Command;

use hdh_testcloud::Emulator;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hdh(emu: &Emulator, dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hdh"))
        .args(args)
        .current_dir(dir)
        .envs(emu.env())
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("hdh runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eks_example_applies_plans_clean_updates_in_place_and_destroys() {
    let emu = Emulator::builder()
        .time_scale(0.002)
        .start()
        .expect("emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/eks-cluster.yaml"
    ))
    .unwrap();
    std::fs::write(d.join("hdh.yaml"), &example).unwrap();

    let apply = hdh(&emu, d, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("Apply complete"), "{}", apply.stdout);

    let again = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.code, 0,
        "second plan must be empty:\n{}\n{}",
        again.stdout, again.stderr
    );

    let scaled = example.replace(
        "min_size: 2, max_size: 3, desired_size: 2",
        "min_size: 2, max_size: 5, desired_size: 2",
    );
    assert_ne!(
        scaled, example,
        "the example's services node group scaling changed"
    );
    std::fs::write(d.join("hdh.yaml"), &scaled).unwrap();
    let plan = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("~ ng_services"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{}",
        plan.stdout
    );
    let update = hdh(&emu, d, &["apply", "--auto-approve"]);
    assert_eq!(update.code, 0, "{}\n{}", update.stdout, update.stderr);

    let destroy = hdh(&emu, d, &["destroy", "--auto-approve", "--keep-retained"]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);

    // The emulator's own listing, not hdh's state: nothing of the stack's network is left.
    let ec2 = aws_sdk_ec2::Client::new(&emu.aws_config("us-east-1").await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values("hdh:stack")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty(), "VPCs left: {:?}", vpcs.vpcs());
    let eks = aws_sdk_eks::Client::new(&emu.aws_config("us-east-1").await);
    let clusters = eks.list_clusters().send().await.unwrap();
    assert!(
        clusters.clusters().is_empty(),
        "clusters left: {:?}",
        clusters.clusters()
    );
}
