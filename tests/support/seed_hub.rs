//! A DaskHub built in the emulator the way the HelioCloud seed's scripts build it, with the
//! AWS SDK and the stand-in helm directly — never with hdh: the CDK stack's VPC (public and
//! private subnet per zone, one route table per subnet, a NAT gateway, tags `aws-cdk:subnet-name`,
//! `aws-cdk:subnet-type`, `Name` like `HelioCloud-DaskHub/VPC/PublicSubnet1`), its KMS key, EFS
//! with mount targets and security group, and shared bucket; the auth stack's Cognito pool;
//! eksctl's cluster `eks-helio` with its CloudFormation-named roles, the four node groups
//! (managed, as eksctl's `managedNodeGroups` makes them, spot for the user groups) tagged
//! `alpha.eksctl.io/*` and `eksctl.cluster.k8s.io/v1alpha1/cluster-name`, and the OIDC
//! provider; the DNS record; and `helm upgrade --install daskhub dask/daskhub`.
//!
//! Tags with AWS's reserved `aws:` prefix (`aws:cloudformation:stack-name`) are what
//! CloudFormation sets on AWS; callers cannot set them, so they are left out here.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use aws_sdk_eks::types::{
    CapacityTypes, EncryptionConfig, NodegroupScalingConfig, Provider, Taint, TaintEffect,
    VpcConfigRequest,
};

use super::hub::Hub;

/// The ids of what the seed made, for the assertions.
#[derive(Debug, Default)]
pub struct SeedHub {
    pub vpc: String,
    pub public_route_tables: Vec<String>,
    pub kms_key: String,
    pub efs: String,
    pub user_pool: String,
}

/// The seed's tokens (its dh-secrets.yaml); tests check hdh never prints them.
pub const PROXY_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const GATEWAY_TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

pub const CLUSTER_ROLE: &str = "eksctl-eks-helio-cluster-ServiceRole-1A2B3C4D5E6F";
pub const NODE_ROLE: &str = "eksctl-eks-helio-nodegroup-ng-d-NodeInstanceRole-7G8H9I0J";

/// name, instance type, spot, min, max, labels, taint (key, value; NoSchedule).
type NodeGroup<'a> = (
    &'a str,
    &'a str,
    bool,
    i32,
    i32,
    &'a [(&'a str, &'a str)],
    Option<(&'a str, &'a str)>,
);

fn tags(ty: ResourceType, kv: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(ty)
        .set_tags(Some(
            kv.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

fn eksctl_tags(extra: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    let mut t: std::collections::HashMap<String, String> = [
        ("alpha.eksctl.io/cluster-name", "eks-helio"),
        ("eksctl.cluster.k8s.io/v1alpha1/cluster-name", "eks-helio"),
        ("alpha.eksctl.io/eksctl-version", "0.150.0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    t.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    t
}

/// The CDK stack's VPC alone (also used as the decoy of the ambiguity test).
pub async fn cdk_vpc(ec2: &aws_sdk_ec2::Client, stack: &str) -> String {
    let name = format!("{stack}/VPC");
    ec2.create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(tags(ResourceType::Vpc, &[("Name", &name)]))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string()
}

/// Builds the seed's hub in `target`'s emulator (its helm values file in `target`'s directory).
pub async fn build(target: &Hub) -> SeedHub {
    let conf = target.emu.aws_config("us-east-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let eks = aws_sdk_eks::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);
    let kms = aws_sdk_kms::Client::new(&conf);
    let efs = aws_sdk_efs::Client::new(&conf);
    let s3 = target.emu.s3_client("us-east-1").await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    let route53 = aws_sdk_route53::Client::new(&conf);
    let mut hub = SeedHub::default();

    // ---- HelioCloud-DaskHub (CDK): network ----
    let vpc = cdk_vpc(&ec2, "HelioCloud-DaskHub").await;
    hub.vpc = vpc.clone();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let igw = ec2
        .create_internet_gateway()
        .tag_specifications(tags(
            ResourceType::InternetGateway,
            &[("Name", "HelioCloud-DaskHub/VPC")],
        ))
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .vpc_id(&vpc)
        .internet_gateway_id(&igw)
        .send()
        .await
        .unwrap();
    // The CDK layout the blueprint follows: /20 public blocks from the bottom, private ones
    // from the middle; one route table per subnet.
    let azs = ["us-east-1a", "us-east-1b"];
    let mut public = Vec::new();
    let mut private = Vec::new();
    for (i, az) in azs.iter().enumerate() {
        for (kind, cidr, list) in [
            ("Public", format!("10.20.{}.0/20", 16 * i), &mut public),
            (
                "Private",
                format!("10.20.{}.0/20", 128 + 16 * i),
                &mut private,
            ),
        ] {
            let name = format!("HelioCloud-DaskHub/VPC/{kind}Subnet{}", i + 1);
            let mut kv = vec![
                ("Name", name.as_str()),
                ("aws-cdk:subnet-name", kind),
                ("aws-cdk:subnet-type", kind),
            ];
            if kind == "Public" {
                kv.push(("kubernetes.io/role/elb", "1"));
            }
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(&cidr)
                .availability_zone(*az)
                .tag_specifications(tags(ResourceType::Subnet, &kv))
                .send()
                .await
                .unwrap()
                .subnet()
                .unwrap()
                .subnet_id()
                .unwrap()
                .to_string();
            list.push(subnet);
        }
    }
    let eip = ec2
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .tag_specifications(tags(
            ResourceType::ElasticIp,
            &[("Name", "HelioCloud-DaskHub/VPC/PublicSubnet1")],
        ))
        .send()
        .await
        .unwrap()
        .allocation_id()
        .unwrap()
        .to_string();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&public[0])
        .allocation_id(&eip)
        .tag_specifications(tags(
            ResourceType::Natgateway,
            &[("Name", "HelioCloud-DaskHub/VPC/PublicSubnet1")],
        ))
        .send()
        .await
        .unwrap()
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();
    for (i, subnet) in public.iter().chain(&private).enumerate() {
        let is_public = i < public.len();
        let kind = if is_public { "Public" } else { "Private" };
        let rt = ec2
            .create_route_table()
            .vpc_id(&vpc)
            .tag_specifications(tags(
                ResourceType::RouteTable,
                &[(
                    "Name",
                    &format!("HelioCloud-DaskHub/VPC/{kind}Subnet{}", i % 2 + 1),
                )],
            ))
            .send()
            .await
            .unwrap()
            .route_table()
            .unwrap()
            .route_table_id()
            .unwrap()
            .to_string();
        let route = ec2
            .create_route()
            .route_table_id(&rt)
            .destination_cidr_block("0.0.0.0/0");
        let route = if is_public {
            route.gateway_id(&igw)
        } else {
            route.nat_gateway_id(&nat)
        };
        route.send().await.unwrap();
        ec2.associate_route_table()
            .route_table_id(&rt)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
        if is_public {
            hub.public_route_tables.push(rt);
        }
    }

    // ---- HelioCloud-DaskHub (CDK): key, file system, bucket ----
    hub.kms_key = kms
        .create_key()
        .description("HelioCloud-DaskHub EKS secrets")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let key_arn = format!("arn:aws:kms:us-east-1:123456789012:key/{}", hub.kms_key);
    hub.efs = efs
        .create_file_system()
        .creation_token("HelioCloudDaskHubEFS")
        .encrypted(true)
        .tags(
            aws_sdk_efs::types::Tag::builder()
                .key("Name")
                .value("HelioCloud-DaskHub/EFS")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .file_system_id
        .to_string();
    let efs_sg = ec2
        .create_security_group()
        .group_name("HelioCloud-DaskHub-EFSSecurityGroup-1K2L3M")
        .description("HelioCloud-DaskHub/EFS/EfsSecurityGroup")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    hdh_testcloud::poll_until(Duration::from_secs(60), "EFS available", || async {
        let d = efs
            .describe_file_systems()
            .file_system_id(&hub.efs)
            .send()
            .await
            .ok()?;
        let state = d.file_systems().first()?.life_cycle_state().clone();
        (state == aws_sdk_efs::types::LifeCycleState::Available).then_some(())
    })
    .await;
    for subnet in &private {
        efs.create_mount_target()
            .file_system_id(&hub.efs)
            .subnet_id(subnet)
            .security_groups(&efs_sg)
            .send()
            .await
            .unwrap();
    }
    s3.create_bucket()
        .bucket("helio-demo-shared")
        .send()
        .await
        .unwrap();

    // ---- HelioCloud-Auth (CDK): the user pool and its hosted domain ----
    hub.user_pool = cognito
        .create_user_pool()
        .pool_name("HelioCloudUserPool-a1b2c3")
        .send()
        .await
        .unwrap()
        .user_pool()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    cognito
        .create_user_pool_domain()
        .domain("heliocloud-auth-a1b2c3")
        .user_pool_id(&hub.user_pool)
        .send()
        .await
        .unwrap();

    // ---- eksctl create cluster -f cluster-config.yaml ----
    let trust = |svc: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{svc}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    let iam_tags = |stack: &str| {
        [
            ("alpha.eksctl.io/cluster-name", "eks-helio"),
            ("eksctl.cluster.k8s.io/v1alpha1/cluster-name", "eks-helio"),
            ("Name", stack),
        ]
        .iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>()
    };
    let mut role_arns = BTreeMap::new();
    for (name, svc, policies, stack) in [
        (
            CLUSTER_ROLE,
            "eks.amazonaws.com",
            vec!["AmazonEKSClusterPolicy"],
            "eksctl-eks-helio-cluster/ServiceRole",
        ),
        (
            NODE_ROLE,
            "ec2.amazonaws.com",
            vec![
                "AmazonEKSWorkerNodePolicy",
                "AmazonEKS_CNI_Policy",
                "AmazonEC2ContainerRegistryReadOnly",
                "AmazonSSMManagedInstanceCore",
            ],
            "eksctl-eks-helio-nodegroup-ng-daskhub-services/NodeInstanceRole",
        ),
    ] {
        let arn = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust(svc))
            .set_tags(Some(iam_tags(stack)))
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_string();
        for p in policies {
            iam.attach_role_policy()
                .role_name(name)
                .policy_arn(format!("arn:aws:iam::aws:policy/{p}"))
                .send()
                .await
                .unwrap();
        }
        role_arns.insert(name, arn);
    }
    #[allow(deprecated)] // as EKS still documents it, and hdh sends it too
    eks.create_cluster()
        .name("eks-helio")
        .version("1.31")
        .role_arn(&role_arns[CLUSTER_ROLE])
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .set_subnet_ids(Some(public.iter().chain(&private).cloned().collect()))
                .endpoint_public_access(true)
                .endpoint_private_access(true)
                .public_access_cidrs("0.0.0.0/0")
                .build(),
        )
        .encryption_config(
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(Provider::builder().key_arn(&key_arn).build())
                .build(),
        )
        .set_tags(Some(eksctl_tags(&[])))
        .send()
        .await
        .unwrap();
    hdh_testcloud::poll_until(Duration::from_secs(120), "cluster ACTIVE", || async {
        let c = eks.describe_cluster().name("eks-helio").send().await.ok()?;
        (c.cluster()?.status()? == &aws_sdk_eks::types::ClusterStatus::Active).then_some(())
    })
    .await;
    let issuer = eks
        .describe_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap()
        .cluster()
        .and_then(|c| c.identity())
        .and_then(|i| i.oidc())
        .and_then(|o| o.issuer())
        .unwrap()
        .to_string();
    iam.create_open_id_connect_provider()
        .url(&issuer)
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap();
    // The seed's `eksctl get nodegroup` table, as managed node groups.
    let groups: [NodeGroup; 4] = [
        (
            "ng-daskhub-services",
            "t3a.medium",
            false,
            1,
            1,
            &[("hub.jupyter.org/node-purpose", "core")],
            None,
        ),
        (
            "ng-user-compute-spot",
            "m5.xlarge",
            true,
            0,
            15,
            &[("hub.jupyter.org/node-purpose", "user")],
            Some(("hub.jupyter.org/dedicated", "user")),
        ),
        (
            "ng-user-gpu-spot",
            "g4dn.xlarge",
            true,
            0,
            5,
            &[
                ("hub.jupyter.org/node-purpose", "user"),
                ("nvidia.com/gpu", "true"),
            ],
            Some(("nvidia.com/gpu", "true")),
        ),
        (
            "ng-burst-compute-spot",
            "m5.8xlarge",
            true,
            0,
            10,
            &[("heliocloud.org/dask-worker-profile", "default")],
            Some(("heliocloud.org/dask-worker-profile", "default")),
        ),
    ];
    for (name, itype, spot, min, max, labels, taint) in groups {
        let mut call = eks
            .create_nodegroup()
            .cluster_name("eks-helio")
            .nodegroup_name(name)
            .node_role(&role_arns[NODE_ROLE])
            .set_subnets(Some(private.clone()))
            .instance_types(itype)
            .capacity_type(if spot {
                CapacityTypes::Spot
            } else {
                CapacityTypes::OnDemand
            })
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(min)
                    .max_size(max)
                    .desired_size(min)
                    .build(),
            )
            .set_labels(Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
            .set_tags(Some(eksctl_tags(&[
                ("alpha.eksctl.io/nodegroup-name", name),
                ("alpha.eksctl.io/nodegroup-type", "managed"),
            ])));
        if let Some((k, v)) = taint {
            call = call.taints(
                Taint::builder()
                    .key(k)
                    .value(v)
                    .effect(TaintEffect::NoSchedule)
                    .build(),
            );
        }
        if itype.starts_with("g4") {
            call = call.ami_type(aws_sdk_eks::types::AmiTypes::Al2X8664Gpu);
        }
        call.send().await.unwrap();
    }

    // ---- 02-deploy-daskhub.sh: the release and its DNS name ----
    let values = target.dir.join("dh-config.yaml");
    std::fs::write(
        &values,
        // dh-secrets.yaml: the seed's two random tokens.
        format!(
            "jupyterhub:\n  proxy:\n    secretToken: {PROXY_TOKEN}\n  hub:\n    services:\n      \
             dask-gateway:\n        apiToken: {GATEWAY_TOKEN}\ndask-gateway:\n  gateway:\n    \
             auth:\n      jupyterhub:\n        apiToken: {GATEWAY_TOKEN}\n"
        ),
    )
    .unwrap();
    target.tool(
        "helm",
        &[
            "upgrade",
            "--install",
            "daskhub",
            "dask/daskhub",
            "--namespace",
            "daskhub",
            "--create-namespace",
            "--version",
            "2022.8.2",
            "-f",
            &values.display().to_string(),
        ],
    );
    let zone = route53
        .create_hosted_zone()
        .name("example.org")
        .caller_reference("seed")
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .to_string();
    let elb = hdh_testcloud::poll_until(Duration::from_secs(60), "proxy-public ELB", || async {
        let out = target
            .emu
            .run_tool(
                "kubectl",
                &[
                    "get",
                    "svc",
                    "proxy-public",
                    "-n",
                    "daskhub",
                    "-o",
                    "jsonpath={.status.loadBalancer.ingress[0].hostname}",
                    "--kubeconfig",
                    &target.dir.join("test-kubeconfig").display().to_string(),
                ],
            )
            .ok()?;
        let host = out.stdout.trim().to_string();
        (!host.is_empty()).then_some(host)
    })
    .await;
    route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Upsert)
                        .resource_record_set(
                            aws_sdk_route53::types::ResourceRecordSet::builder()
                                .name("daskhub.example.org")
                                .r#type(aws_sdk_route53::types::RrType::Cname)
                                .ttl(300)
                                .resource_records(
                                    aws_sdk_route53::types::ResourceRecord::builder()
                                        .value(elb)
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    hub
}
