//! Helpers shared by the emulator's own tests.
#![allow(dead_code)]

use std::time::Duration;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use hdh_testcloud::{Emulator, Profile};

pub const REGION: &str = "us-east-1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/eks-cluster";
pub const NODE_ROLE: &str = "arn:aws:iam::123456789012:role/eks-nodes";

/// Generous deadline for anything that waits on the emulator (a loaded 2-core machine).
pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub efs: aws_sdk_efs::Client,
    pub elb: aws_sdk_elasticloadbalancing::Client,
}

pub async fn aws(emu: &Emulator) -> Aws {
    let config = emu.aws_config(REGION).await;
    Aws {
        ec2: aws_sdk_ec2::Client::new(&config),
        eks: aws_sdk_eks::Client::new(&config),
        efs: aws_sdk_efs::Client::new(&config),
        elb: aws_sdk_elasticloadbalancing::Client::new(&config),
    }
}

/// A realistic emulator whose AWS clock stands still until the test advances it.
pub fn paused_realistic() -> Emulator {
    let emu = Emulator::builder()
        .profile(Profile::Realistic)
        .time_scale(1.0)
        .start()
        .expect("emulator starts");
    emu.pause_clock().expect("pause clock");
    emu
}

/// The AWS error code of an SDK error.
pub fn code(err: &impl ProvideErrorMetadata) -> String {
    err.code().unwrap_or("<no code>").to_string()
}

pub struct Net {
    pub vpc: String,
    pub subnets: Vec<String>,
}

pub async fn network(aws: &Aws) -> Net {
    let vpc = aws
        .ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let mut subnets = vec![];
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = aws
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.20.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap()
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        subnets.push(s);
    }
    Net { vpc, subnets }
}

pub async fn create_cluster(aws: &Aws, name: &str, net: &Net) -> aws_sdk_eks::types::Cluster {
    aws.eks
        .create_cluster()
        .name(name)
        .role_arn(ROLE)
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .set_subnet_ids(Some(net.subnets.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap()
}

pub async fn describe_cluster(aws: &Aws, name: &str) -> aws_sdk_eks::types::Cluster {
    aws.eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap()
}

/// Create a cluster and advance AWS time until it is ACTIVE.
pub async fn active_cluster(
    emu: &Emulator,
    aws: &Aws,
    name: &str,
    net: &Net,
) -> aws_sdk_eks::types::Cluster {
    create_cluster(aws, name, net).await;
    emu.advance(720.0).unwrap();
    let c = describe_cluster(aws, name).await;
    assert_eq!(c.status, Some(aws_sdk_eks::types::ClusterStatus::Active));
    c
}

pub async fn create_nodegroup(aws: &Aws, cluster: &str, name: &str, net: &Net, desired: i32) {
    aws.eks
        .create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .node_role(NODE_ROLE)
        .set_subnets(Some(net.subnets.clone()))
        .instance_types("t3a.medium")
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder()
                .min_size(0)
                .max_size(3)
                .desired_size(desired)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn nodegroup_status(
    aws: &Aws,
    cluster: &str,
    name: &str,
) -> Option<aws_sdk_eks::types::NodegroupStatus> {
    match aws
        .eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        Ok(out) => out.nodegroup.unwrap().status,
        Err(e) => {
            assert_eq!(code(&e), "ResourceNotFoundException");
            None
        }
    }
}

pub async fn enis(aws: &Aws, vpc: &str) -> Vec<aws_sdk_ec2::types::NetworkInterface> {
    aws.ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .unwrap()
        .network_interfaces
        .unwrap_or_default()
}

pub async fn enis_described(
    aws: &Aws,
    vpc: &str,
    prefix: &str,
) -> Vec<aws_sdk_ec2::types::NetworkInterface> {
    enis(aws, vpc)
        .await
        .into_iter()
        .filter(|e| e.description().unwrap_or_default().starts_with(prefix))
        .collect()
}

pub async fn security_group_named(
    aws: &Aws,
    vpc: &str,
    prefix: &str,
) -> Option<aws_sdk_ec2::types::SecurityGroup> {
    aws.ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap_or_default()
        .into_iter()
        .find(|g| g.group_name().unwrap_or_default().starts_with(prefix))
}
