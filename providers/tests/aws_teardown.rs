//! Deleting network resources when something else is in the way, through the `Provider` trait
//! against a private emulator (realistic profile: managed interfaces linger, EC2 refuses with
//! DependencyViolation). What Kubernetes and the VPC CNI left in this stack's VPC is removed and
//! reported; what cannot be attributed to the stack is never touched and is named.

mod aws_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_common::*;
use aws_sdk_ec2::types::{
    IpPermission, ResourceType as Ec2Type, Tag, TagSpecification, UserIdGroupPair,
};
use aws_sdk_elasticloadbalancing::types::{Listener, Tag as LbTag};
use hdh_engine::provider::DeleteRequest;
use hdh_engine::{Cleanup, OpContext, Provider, ProviderError, Value, ValueMap};
use hdh_testcloud::{Emulator, Profile};

const CLUSTER: &str = "eks-x";

fn tags(ty: Ec2Type, pairs: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(ty)
        .set_tags(Some(
            pairs
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

/// A VPC of this stack, tagged for its cluster, with one subnet.
async fn stack_vpc(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let cluster_tag = format!("kubernetes.io/cluster/{CLUSTER}");
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(tags(
            Ec2Type::Vpc,
            &[("hdh:stack", STACK), (&cluster_tag, "shared")],
        ))
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.9.1.0/24")
        .availability_zone("us-east-1a")
        .tag_specifications(tags(Ec2Type::Subnet, &[("hdh:stack", STACK)]))
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    (vpc, subnet)
}

async fn group(ec2: &aws_sdk_ec2::Client, vpc: &str, name: &str, t: &[(&str, &str)]) -> String {
    ec2.create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .tag_specifications(tags(Ec2Type::SecurityGroup, t))
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap()
}

fn req(address: &str, ty: &str, id: &str, vpc: Option<&str>) -> DeleteRequest {
    let mut prior = ValueMap::new();
    if let Some(v) = vpc {
        prior.insert("vpc_id".into(), Value::str(v));
    }
    DeleteRequest {
        address: address.into(),
        type_name: ty.into(),
        id: id.into(),
        prior,
        purge: false,
    }
}

fn recording_ctx(timeout: Duration) -> (OpContext, Arc<Mutex<Vec<Cleanup>>>) {
    let (mut ctx, _) = ctx();
    ctx.timeout = timeout;
    let seen: Arc<Mutex<Vec<Cleanup>>> = Arc::default();
    let s = seen.clone();
    ctx.cleanups = Arc::new(move |c| s.lock().unwrap().push(c.clone()));
    (ctx, seen)
}

async fn interfaces_in(ec2: &aws_sdk_ec2::Client, vpc: &str) -> Vec<(String, String)> {
    ec2.describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .network_interfaces()
        .iter()
        .map(|n| {
            (
                n.network_interface_id().unwrap().to_string(),
                n.description().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn interface(
    ec2: &aws_sdk_ec2::Client,
    subnet: &str,
    description: &str,
    t: &[(&str, &str)],
) -> String {
    ec2.create_network_interface()
        .subnet_id(subnet)
        .description(description)
        .tag_specifications(tags(Ec2Type::NetworkInterface, t))
        .send()
        .await
        .unwrap()
        .network_interface
        .unwrap()
        .network_interface_id
        .unwrap()
}

fn emulator() -> Emulator {
    aws_common::emulator(Profile::Realistic, 0.001, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_kubernetes_and_the_cni_left_is_removed_and_reported() {
    let emu = emulator();
    let aws = provider(&emu);
    let ec2 = ec2(&emu).await;
    let elb = aws_sdk_elasticloadbalancing::Client::new(&emu.aws_config(REGION).await);
    let (vpc, subnet) = stack_vpc(&ec2).await;
    let cluster_tag = format!("kubernetes.io/cluster/{CLUSTER}");

    // The stack's own node group, and what the in-tree cloud provider made for a
    // LoadBalancer Service of a cluster that is already gone: a group, a rule on the node
    // group that references it, and a classic ELB whose interfaces sit in the subnet.
    let nodes = ec2
        .create_security_group()
        .group_name("helio-nodes")
        .description("nodes")
        .vpc_id(&vpc)
        .tag_specifications(tags(Ec2Type::SecurityGroup, &[("hdh:stack", STACK)]))
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let k8s_sg = ec2
        .create_security_group()
        .group_name("k8s-elb-a1")
        .description("Security group for Kubernetes ELB a1 (daskhub/proxy-public)")
        .vpc_id(&vpc)
        .tag_specifications(tags(
            Ec2Type::SecurityGroup,
            &[
                (&cluster_tag, "owned"),
                ("kubernetes.io/service-name", "daskhub/proxy-public"),
            ],
        ))
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&nodes)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&k8s_sg).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.create_load_balancer()
        .load_balancer_name("a1")
        .listeners(
            Listener::builder()
                .protocol("TCP")
                .load_balancer_port(80)
                .instance_port(30080)
                .build()
                .unwrap(),
        )
        .subnets(&subnet)
        .security_groups(&k8s_sg)
        .tags(
            LbTag::builder()
                .key(&cluster_tag)
                .value("owned")
                .build()
                .unwrap(),
        )
        .tags(
            LbTag::builder()
                .key("kubernetes.io/service-name")
                .value("daskhub/proxy-public")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // A node died before the VPC CNI could clean up.
    let cni = interface(
        &ec2,
        &subnet,
        "aws-K8S-i-0dead",
        &[
            ("cluster.k8s.amazonaws.com/name", CLUSTER),
            ("node.k8s.amazonaws.com/instance_id", "i-0dead"),
        ],
    )
    .await;

    let (ctx, cleanups) = recording_ctx(Duration::from_secs(60));
    let sub = req("net.subnet", "aws_subnet", &subnet, Some(&vpc));
    let grp = req("net.nodes", "aws_security_group", &nodes, Some(&vpc));
    let (a, b) = tokio::join!(aws.delete(&ctx, &sub), aws.delete(&ctx, &grp));
    a.expect("the subnet is deleted once the way is clear");
    b.expect("the node group is deleted");
    aws.delete(&ctx, &req("net.vpc", "aws_vpc", &vpc, None))
        .await
        .expect("the VPC is deleted once the Kubernetes group is gone");

    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc).send().await;
    assert!(vpcs.is_err(), "the VPC is gone");
    assert!(interfaces_in(&ec2, &vpc).await.is_empty());
    assert!(elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancer_descriptions()
        .is_empty());
    let seen = cleanups.lock().unwrap().clone();
    let find = |kind: &str, id: &str| {
        seen.iter()
            .find(|c| c.kind == kind && c.id == id)
            .unwrap_or_else(|| panic!("no cleanup of {kind} {id} in {seen:#?}"))
            .clone()
    };
    let lb = find("load balancer", "a1");
    assert_eq!(lb.address, "net.subnet");
    assert!(
        lb.why
            .contains("Kubernetes for Service daskhub/proxy-public of cluster eks-x"),
        "{}",
        lb.why
    );
    let cni = find("network interface", &cni);
    assert!(cni.why.contains("VPC CNI of cluster eks-x"), "{}", cni.why);
    let group = find("security group", &k8s_sg);
    assert_eq!(group.address, "net.vpc");
    assert_eq!(
        seen.iter().filter(|c| c.kind == "load balancer").count(),
        1,
        "each removal is reported once: {seen:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_hdh_cannot_attribute_is_named_and_never_deleted() {
    let emu = emulator();
    let aws = provider(&emu);
    let ec2 = ec2(&emu).await;
    let (vpc, subnet) = stack_vpc(&ec2).await;
    let stranger = interface(&ec2, &subnet, "my database", &[]).await;
    let other_cluster = interface(
        &ec2,
        &subnet,
        "aws-K8S-i-0other",
        &[("cluster.k8s.amazonaws.com/name", "someone-elses")],
    )
    .await;

    let (ctx, cleanups) = recording_ctx(Duration::from_secs(3));
    let err = aws
        .delete(&ctx, &req("net.subnet", "aws_subnet", &subnet, Some(&vpc)))
        .await
        .expect_err("the subnet cannot go");
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Timeout { .. }), "{text}");
    for id in [&stranger, &other_cluster] {
        assert!(text.contains(id.as_str()), "{id} named in: {text}");
    }
    assert!(text.contains("NOT this stack's, left alone"), "{text}");
    assert!(text.contains("\"my database\""), "{text}");
    let left: Vec<String> = interfaces_in(&ec2, &vpc)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(
        left.contains(&stranger) && left.contains(&other_cluster),
        "{left:?}"
    );
    assert!(cleanups.lock().unwrap().is_empty());
    ec2.describe_subnets()
        .subnet_ids(&subnet)
        .send()
        .await
        .expect("the subnet is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_of_a_foreign_group_keeps_a_kubernetes_group_and_is_named() {
    let emu = emulator();
    let aws = provider(&emu);
    let ec2 = ec2(&emu).await;
    let (vpc, subnet) = stack_vpc(&ec2).await;
    let k8s_sg = group(
        &ec2,
        &vpc,
        "k8s-elb-b2",
        &[(&format!("kubernetes.io/cluster/{CLUSTER}"), "owned")],
    )
    .await;
    // Someone's bastion group, not the stack's, allows traffic from it.
    let bastion = group(&ec2, &vpc, "bastion", &[("team", "lab")]).await;
    ec2.authorize_security_group_ingress()
        .group_id(&bastion)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&k8s_sg).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();

    let (ctx, cleanups) = recording_ctx(Duration::from_secs(3));
    let err = aws
        .delete(&ctx, &req("net.vpc", "aws_vpc", &vpc, None))
        .await
        .expect_err("the VPC cannot go");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "rule on security group {bastion} (bastion) referencing {k8s_sg}: NOT this stack's"
        )),
        "{text}"
    );
    assert!(
        text.contains("security group bastion is not this stack's"),
        "{text}"
    );
    // The bastion's rule is intact; the Kubernetes group could not go.
    let groups = ec2
        .describe_security_groups()
        .group_ids(&bastion)
        .group_ids(&k8s_sg)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 2);
    let rules = groups
        .security_groups()
        .iter()
        .find(|g| g.group_id() == Some(bastion.as_str()))
        .unwrap()
        .ip_permissions()
        .len();
    assert_eq!(rules, 1, "the foreign rule is left alone");
    assert!(cleanups.lock().unwrap().is_empty());
}
