//! Where moto alone would tell hdh something AWS never says: filter values with AWS's wildcard
//! rules, AWS managed policies present (and a missing one refused), an operation the emulator
//! lacks answered as AWS answers an unknown action, and the crash switch that kills a process
//! at a chosen call.

mod common;

use std::process::{Child, Command};

use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use common::*;
use hdh_testcloud::{Emulator, KillAt, KillWhen, Profile};

fn instant() -> Emulator {
    Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts")
}

fn tagged(kind: ResourceType, address: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("hdh:address").value(address).build())
        .build()
}

fn by_address(value: &str) -> Filter {
    Filter::builder()
        .name("tag:hdh:address")
        .values(value)
        .build()
}

#[tokio::test]
async fn tag_filters_treat_only_star_and_question_mark_as_wildcards() {
    let emu = instant();
    let ec2 = aws(&emu).await.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(tagged(ResourceType::Vpc, "daskhub.network.vpc"))
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let a = r#"daskhub.network.subnet.private["us-east-1a"]"#;
    let b = r#"daskhub.network.subnet.private["us-east-1b"]"#;
    for (i, address) in [a, b].iter().enumerate() {
        ec2.create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.20.{i}.0/24"))
            .tag_specifications(tagged(ResourceType::Subnet, address))
            .send()
            .await
            .unwrap();
        ec2.create_route_table()
            .vpc_id(&vpc)
            .tag_specifications(tagged(ResourceType::RouteTable, address))
            .send()
            .await
            .unwrap();
    }
    let subnets = |value: &'static str| {
        let ec2 = ec2.clone();
        async move {
            let out = ec2
                .describe_subnets()
                .filters(by_address(value))
                .send()
                .await
                .unwrap();
            let mut found: Vec<String> = out
                .subnets()
                .iter()
                .flat_map(|s| s.tags())
                .filter(|t| t.key() == Some("hdh:address"))
                .map(|t| t.value().unwrap().to_string())
                .collect();
            found.sort();
            found
        }
    };
    // brackets and quotes are literal: the exact value finds exactly its subnet
    assert_eq!(
        subnets(r#"daskhub.network.subnet.private["us-east-1a"]"#).await,
        [a]
    );
    assert_eq!(
        subnets(r#"daskhub.network.subnet.private["us-east-1b"]"#).await,
        [b]
    );
    // a shell character class is no pattern on AWS
    assert!(subnets(r#"daskhub.network.subnet.private[a"]"#)
        .await
        .is_empty());
    assert!(subnets("daskhub.network.subnet.private[!x]*")
        .await
        .is_empty());
    // * and ? are wildcards
    assert_eq!(subnets("daskhub.network.subnet.private[*").await, [a, b]);
    assert_eq!(
        subnets(r#"daskhub.network.subnet.private["us-east-1?"]"#).await,
        [a, b]
    );
    // a backslash makes them literal
    assert!(subnets(r"daskhub.network.subnet.private[\*")
        .await
        .is_empty());
    assert!(subnets(r#"daskhub.network.subnet.private["us-east-1\?"]"#)
        .await
        .is_empty());

    // route tables (moto's generic filter) and DescribeTags (a value filter) agree
    let tables = ec2
        .describe_route_tables()
        .filters(by_address(a))
        .send()
        .await
        .unwrap();
    assert_eq!(tables.route_tables().len(), 1);
    let tags = ec2
        .describe_tags()
        .filters(Filter::builder().name("value").values(b).build())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 2, "the subnet and the route table of b");
}

#[tokio::test]
async fn aws_managed_policies_exist_and_a_missing_one_is_no_such_entity() {
    let emu = instant();
    let iam = aws_sdk_iam::Client::new(&emu.aws_config(REGION).await);
    iam.create_role()
        .role_name("nodes")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    let policies = [
        "AmazonEKSClusterPolicy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonSSMManagedInstanceCore",
        "service-role/AmazonEBSCSIDriverPolicy",
        "service-role/AmazonEFSCSIDriverPolicy",
        "AmazonEKSVPCResourceController",
    ];
    for p in policies {
        iam.attach_role_policy()
            .role_name("nodes")
            .policy_arn(format!("arn:aws:iam::aws:policy/{p}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name("nodes")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), policies.len());
    let err = iam
        .attach_role_policy()
        .role_name("nodes")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEKSClusterPolicyTypo")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
    let err = iam
        .attach_role_policy()
        .role_name("nodes")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEFSCSIDriverPolicy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "NoSuchEntity",
        "the EFS CSI policy lives under service-role/, as on AWS"
    );
}

#[tokio::test]
async fn an_operation_the_emulator_lacks_is_an_unknown_action_in_the_services_protocol() {
    let emu = instant();
    let config = emu.aws_config(REGION).await;
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&config)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let err = ec2.describe_ipam_pools().send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidAction");
    assert_eq!(
        aws_sdk_ec2::error::ProvideErrorMetadata::message(&err),
        Some("The action DescribeIpamPools is not valid for this web service.")
    );
    let eks = aws_sdk_eks::Client::new(&config);
    let err = eks
        .list_insights()
        .cluster_name("eks-helio")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "UnknownOperationException");
    let iam = aws_sdk_iam::Client::new(&config);
    let err = iam
        .list_service_specific_credentials()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidAction");
    let efs = aws_sdk_efs::Client::new(&config);
    let err = efs
        .describe_replication_configurations()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "UnknownOperationException");
    // each was answered once (permanent: no retries) and logged with its code
    let outcomes: Vec<(String, String)> = emu
        .request_log()
        .unwrap()
        .into_iter()
        .map(|r| (r.operation, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("DescribeIpamPools", "InvalidAction"),
            ("ListInsights", "UnknownOperationException"),
            ("ListServiceSpecificCredentials", "InvalidAction"),
            (
                "DescribeReplicationConfigurations",
                "UnknownOperationException"
            ),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

/// A process for the switch to kill (the test itself must survive).
fn victim() -> Child {
    Command::new("sleep").arg("600").spawn().unwrap()
}

fn killed_by_sigkill(child: &mut Child) -> bool {
    use std::os::unix::process::ExitStatusExt;
    child.wait().unwrap().signal() == Some(libc::SIGKILL)
}

#[tokio::test]
async fn the_crash_switch_kills_before_or_after_the_chosen_call_acts() {
    let emu = instant();
    let config = emu.aws_config(REGION).await;
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&config)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let vpcs = |ec2: aws_sdk_ec2::Client| async move {
        ec2.describe_vpcs()
            .filters(Filter::builder().name("cidr").values("10.9.0.0/16").build())
            .send()
            .await
            .unwrap()
            .vpcs()
            .len()
    };

    // before: the 2nd CreateVpc from now kills the victim and creates nothing
    let mut v = victim();
    let armed = emu
        .arm_crash(
            v.id(),
            &KillAt {
                at: 2,
                when: KillWhen::Before,
                service: None,
                operation: Some("CreateVpc".into()),
                any_of: Vec::new(),
            },
        )
        .unwrap();
    assert_eq!(armed["armed"]["when"], "before");
    ec2.create_vpc()
        .cidr_block("10.8.0.0/16")
        .send()
        .await
        .unwrap();
    assert!(v.try_wait().unwrap().is_none(), "killed too early");
    ec2.describe_vpcs().send().await.unwrap();
    ec2.create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .expect_err("nobody is meant to read this answer");
    assert!(killed_by_sigkill(&mut v));
    assert_eq!(vpcs(ec2.clone()).await, 0, "the call did nothing");

    // after: the next CreateVpc acts, then the victim dies
    let mut v = victim();
    emu.arm_crash(
        v.id(),
        &KillAt {
            at: 1,
            when: KillWhen::After,
            service: Some("ec2".into()),
            operation: None,
            any_of: Vec::new(),
        },
    )
    .unwrap();
    ec2.create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    assert!(killed_by_sigkill(&mut v));
    assert_eq!(vpcs(ec2.clone()).await, 1, "the call acted");

    // the log says where: counted calls are numbered, the killed ones marked
    let log: Vec<(Option<u64>, String, Option<String>)> = emu
        .request_log()
        .unwrap()
        .into_iter()
        .map(|r| (r.call, r.operation, r.killed))
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        log,
        [
            (Some(1), s("CreateVpc"), None),
            (Some(2), s("DescribeVpcs"), None),
            (Some(3), s("CreateVpc"), Some(s("before"))),
            (Some(4), s("DescribeVpcs"), None),
            (Some(5), s("CreateVpc"), Some(s("after"))),
            (Some(6), s("DescribeVpcs"), None),
        ]
    );
    let status = emu.crash_status().unwrap();
    assert_eq!(status["fired"]["call"], 5);
    assert_eq!(status["fired"]["result"], "killed");
    assert!(status["armed"].is_null(), "the switch fires once");

    // stand-in tool runs are counted calls too
    let mut v = victim();
    emu.arm_crash(
        v.id(),
        &KillAt {
            at: 1,
            when: KillWhen::Before,
            service: Some("helm".into()),
            operation: None,
            any_of: Vec::new(),
        },
    )
    .unwrap();
    emu.run_tool("helm", &["repo", "add", "dask", "https://helm.dask.org"])
        .unwrap();
    assert!(killed_by_sigkill(&mut v));
    let tools = emu.tool_log().unwrap();
    assert_eq!(tools.last().unwrap()["call"], 7);
    assert_eq!(tools.last().unwrap()["killed"], "before");

    // any_of: only calls of the listed operations count, whichever comes first
    let mut v = victim();
    emu.arm_crash(
        v.id(),
        &KillAt {
            at: 1,
            when: KillWhen::Before,
            service: None,
            operation: None,
            any_of: vec![
                ("ec2".into(), "CreateSubnet".into()),
                ("ec2".into(), "CreateVpc".into()),
            ],
        },
    )
    .unwrap();
    ec2.describe_vpcs().send().await.unwrap();
    ec2.create_internet_gateway().send().await.unwrap();
    assert!(
        v.try_wait().unwrap().is_none(),
        "killed at an unlisted call"
    );
    let _ = ec2.create_vpc().cidr_block("10.7.0.0/16").send().await;
    assert!(killed_by_sigkill(&mut v), "killed at a listed call");
    assert_eq!(
        emu.crash_status().unwrap()["fired"]["operation"],
        "CreateVpc"
    );

    // bad arming is refused, located
    let bad = emu.arm_crash(
        0,
        &KillAt {
            at: 1,
            when: KillWhen::After,
            service: None,
            operation: None,
            any_of: Vec::new(),
        },
    );
    assert!(
        bad.unwrap_err().to_string().contains("pid must be"),
        "pid 0 refused"
    );
}

#[tokio::test]
async fn the_inventory_names_what_exists_without_ids() {
    let emu = instant();
    let ec2 = aws(&emu).await.ec2;
    for _ in 0..2 {
        ec2.create_vpc()
            .cidr_block("10.20.0.0/16")
            .tag_specifications(tagged(ResourceType::Vpc, "vpc"))
            .send()
            .await
            .unwrap();
    }
    let items = emu.inventory().unwrap();
    let vpcs: Vec<_> = items.iter().filter(|i| i.kind == "ec2:vpc").collect();
    assert_eq!(vpcs.len(), 1, "{items:?}");
    assert_eq!(vpcs[0].count, 2, "two indistinguishable copies");
    assert_eq!(vpcs[0].tags, "hdh:address=vpc");
    let groups: Vec<_> = items
        .iter()
        .filter(|i| i.kind == "ec2:security-group")
        .collect();
    assert_eq!(groups.len(), 1, "the two default groups are one item");
    assert!(
        !items
            .iter()
            .any(|i| i.name.contains("vpc-") && !i.name.contains('*')),
        "no raw ids: {items:?}"
    );
}
