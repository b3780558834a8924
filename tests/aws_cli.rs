//! `examples/eks-cluster.yaml` through the `hdh` binary against a private emulator (realistic
//! profile, scaled time): apply, an empty second plan (exit 0 with --detailed-exitcode), console
//! changes (VPC DNS, key rotation, tags) planned as drift (exit 2) and put back by apply, an
//! in-place node group change (exit 2), destroy, and nothing of the stack left in the emulator.

mod support;

use std::path::Path;

use hdh_testcloud::Emulator;
use support::runner::{Hdh, Ran};

fn hdh(emu: &Emulator, dir: &Path, args: &[&str]) -> Ran {
    Hdh::plain()
        .dir(dir)
        .envs(emu.env())
        .env("AWS_REGION", "us-east-1")
        .no_color()
        .run(args)
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
    // The key carries a tag of its own, so a console change of it is a change of the config's.
    let example = example.replace(
        "alias: \"alias/${name}-eks-secrets\" }",
        "alias: \"alias/${name}-eks-secrets\", tags: { Team: hub } }",
    );
    assert!(example.contains("Team: hub"));
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

    // Console changes: VPC DNS hostnames off, key rotation off, a tag changed, a tag added.
    let ec2 = aws_sdk_ec2::Client::new(&emu.aws_config("us-east-1").await);
    let kms = aws_sdk_kms::Client::new(&emu.aws_config("us-east-1").await);
    let vpc_id = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values("hdh:stack")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let key_id = kms
        .list_aliases()
        .send()
        .await
        .unwrap()
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some("alias/helio-eks-eks-secrets"))
        .and_then(|a| a.target_key_id())
        .expect("the secrets key's alias")
        .to_string();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.create_tags()
        .resources(&vpc_id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Name")
                .value("renamed-in-console")
                .build(),
        )
        .send()
        .await
        .unwrap();
    kms.disable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(&key_id)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Team")
                .tag_value("console")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let drift = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    for shown in [
        "changed outside hdh: enable_dns_hostnames, tags",
        "enable_dns_hostnames = false → true",
        "changed outside hdh: enable_key_rotation, tags",
        "enable_key_rotation = false → true",
        "\"renamed-in-console\"",
        "tags                = {Team: \"console\"} → {Team: \"hub\"}",
        "Plan: 0 to create, 2 to update, 0 to replace, 0 to delete.",
    ] {
        assert!(drift.stdout.contains(shown), "{shown}:\n{}", drift.stdout);
    }
    let fix = hdh(&emu, d, &["apply", "--auto-approve"]);
    assert_eq!(fix.code, 0, "{}\n{}", fix.stdout, fix.stderr);
    let again = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let hostnames = ec2
        .describe_vpc_attribute()
        .vpc_id(&vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|v| v.value()),
        Some(true)
    );
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    let key_tags = kms
        .list_resource_tags()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert!(
        key_tags
            .tags()
            .iter()
            .any(|t| t.tag_key() == "Team" && t.tag_value() == "hub"),
        "the configured tag is back: {:?}",
        key_tags.tags()
    );
    let vpc_tags = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert!(vpc_tags.vpcs()[0]
        .tags()
        .iter()
        .any(|t| t.key() == Some("Name") && t.value() == Some("helio-eks-vpc")));

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

const UPGRADING: &str = r#"version: 1
name: upgrading
region: us-east-1
resources:
  vpc: { type: aws_vpc, properties: { cidr_block: 10.30.0.0/16 } }
  a: { type: aws_subnet, properties: { vpc_id: "${vpc.id}", cidr_block: 10.30.0.0/20, availability_zone: us-east-1a } }
  b: { type: aws_subnet, properties: { vpc_id: "${vpc.id}", cidr_block: 10.30.16.0/20, availability_zone: us-east-1b } }
  role:
    type: aws_iam_role
    properties:
      role_name: upgrading-eks
      assume_role_policy_document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { Service: [eks.amazonaws.com, ec2.amazonaws.com] }, Action: "sts:AssumeRole" }] }
  cluster:
    type: aws_eks_cluster
    properties: { name: upgrading, role_arn: "${role.arn}", version: "1.29", subnet_ids: ["${a.id}", "${b.id}"] }
  ng:
    type: aws_eks_node_group
    properties:
      cluster_name: ${cluster.name}
      nodegroup_name: ng
      node_role: ${role.arn}
      subnets: ["${a.id}", "${b.id}"]
      instance_types: [t3a.medium]
      version: ${cluster.version}
      scaling_config: { min_size: 1, max_size: 2, desired_size: 1 }
  ebs:
    type: aws_eks_addon
    properties: { cluster_name: "${cluster.name}", addon_name: aws-ebs-csi-driver, kubernetes_version: "${cluster.version}" }
"#;

/// An upgrade two minor versions ahead, which EKS refuses in one call: the plan says it goes in
/// steps and shows the first; apply runs each step (control plane, then the node group and the
/// add-on that follow its version) and ends on the configured version. The emulator refuses a
/// control-plane upgrade while a node group lags, so the order is proven by the apply passing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubernetes_version_two_minors_ahead_is_upgraded_in_steps() {
    let emu = Emulator::builder()
        .time_scale(0.002)
        .start()
        .expect("emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("hdh.yaml"), UPGRADING).unwrap();
    let first = hdh(&emu, d, &["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let eks = aws_sdk_eks::Client::new(&emu.aws_config("us-east-1").await);
    let addon_version = || async {
        eks.describe_addon()
            .cluster_name("upgrading")
            .addon_name("aws-ebs-csi-driver")
            .send()
            .await
            .unwrap()
            .addon()
            .unwrap()
            .addon_version()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        addon_version().await,
        "v1.34.0-eksbuild.1",
        "EKS's default for 1.29"
    );

    std::fs::write(
        d.join("hdh.yaml"),
        UPGRADING.replace("\"1.29\"", "\"1.31\""),
    )
    .unwrap();
    let plan = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("cluster: version \"1.29\" → \"1.30\" (this run's first step) → \"1.31\""),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("version = \"1.29\" → \"1.30\""),
        "{}",
        plan.stdout
    );
    let json = hdh(&emu, d, &["plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        doc["steps"],
        serde_json::json!([{"address": "cluster", "attribute": "version", "from": "1.29",
                            "steps": ["1.30", "1.31"]}])
    );

    let upgrade = hdh(&emu, d, &["apply", "--auto-approve"]);
    assert_eq!(upgrade.code, 0, "{}\n{}", upgrade.stdout, upgrade.stderr);
    assert!(upgrade.stdout.contains("Next step:"), "{}", upgrade.stdout);
    let cluster = eks
        .describe_cluster()
        .name("upgrading")
        .send()
        .await
        .unwrap();
    assert_eq!(cluster.cluster().unwrap().version(), Some("1.31"));
    let ng = eks
        .describe_nodegroup()
        .cluster_name("upgrading")
        .nodegroup_name("ng")
        .send()
        .await
        .unwrap();
    assert_eq!(ng.nodegroup().unwrap().version(), Some("1.31"));
    assert_eq!(
        addon_version().await,
        "v1.35.0-eksbuild.1",
        "EKS's default for 1.31"
    );

    let after = hdh(&emu, d, &["plan", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    let gone = hdh(&emu, d, &["destroy", "--auto-approve"]);
    assert_eq!(gone.code, 0, "{}\n{}", gone.stdout, gone.stderr);
}
