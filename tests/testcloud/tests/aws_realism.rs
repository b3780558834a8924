//! The emulator's AWS realism, through the AWS SDK for Rust: refusals, lifecycles with their
//! in-between states, lingering ENIs, EKS add-ons. Most tests pause the emulator's AWS clock and
//! advance it by hand, so every in-between state is observed deterministically.

mod common;

use std::time::Instant;

use aws_sdk_ec2::types::{DomainType, IpPermission, UserIdGroupPair};
use aws_sdk_efs::types::LifeCycleState;
use aws_sdk_eks::types::{AddonStatus, ClusterStatus, NodegroupStatus};
use common::*;
use hdh_testcloud::{poll_until, Emulator, Profile};

// -- refusals -------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_subnet_is_refused_while_an_eni_or_instance_remains() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let subnet = &net.subnets[0];

    let eni = aws
        .ec2
        .create_network_interface()
        .subnet_id(subnet)
        .send()
        .await
        .unwrap()
        .network_interface
        .unwrap()
        .network_interface_id
        .unwrap();
    let err = aws
        .ec2
        .delete_subnet()
        .subnet_id(subnet)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    assert!(
        err.to_string().contains("DependencyViolation")
            || format!("{err:?}").contains("has dependencies")
    );
    aws.ec2
        .delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();

    let instance = aws
        .ec2
        .run_instances()
        .image_id("ami-12345678")
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet)
        .send()
        .await
        .unwrap()
        .instances
        .unwrap()[0]
        .instance_id
        .clone()
        .unwrap();
    let err = aws
        .ec2
        .delete_subnet()
        .subnet_id(subnet)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    aws.ec2
        .terminate_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();

    aws.ec2
        .delete_subnet()
        .subnet_id(subnet)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_security_group_is_refused_while_used_or_referenced() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let sg = |name: &'static str| {
        let aws = &aws;
        let vpc = net.vpc.clone();
        async move {
            aws.ec2
                .create_security_group()
                .group_name(name)
                .description(name)
                .vpc_id(vpc)
                .send()
                .await
                .unwrap()
                .group_id
                .unwrap()
        }
    };
    let target = sg("target").await;
    let other = sg("other").await;

    // used by an ENI
    let eni = aws
        .ec2
        .create_network_interface()
        .subnet_id(&net.subnets[0])
        .groups(&target)
        .send()
        .await
        .unwrap()
        .network_interface
        .unwrap()
        .network_interface_id
        .unwrap();
    let err = aws
        .ec2
        .delete_security_group()
        .group_id(&target)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    aws.ec2
        .delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();

    // referenced by another group's rule
    let rule = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(2049)
        .to_port(2049)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&target).build())
        .build();
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(&other)
        .ip_permissions(rule.clone())
        .send()
        .await
        .unwrap();
    let err = aws
        .ec2
        .delete_security_group()
        .group_id(&target)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    aws.ec2
        .revoke_security_group_ingress()
        .group_id(&other)
        .ip_permissions(rule)
        .send()
        .await
        .unwrap();

    aws.ec2
        .delete_security_group()
        .group_id(&target)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_vpc_and_detach_gateway_are_refused_while_dependencies_remain() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let igw = aws
        .ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway
        .unwrap()
        .internet_gateway_id
        .unwrap();
    aws.ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap();
    let alloc = aws
        .ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .unwrap()
        .allocation_id
        .unwrap();
    let nat = aws
        .ec2
        .create_nat_gateway()
        .subnet_id(&net.subnets[0])
        .allocation_id(&alloc)
        .send()
        .await
        .unwrap()
        .nat_gateway
        .unwrap()
        .nat_gateway_id
        .unwrap();

    // a NAT gateway maps a public address: the gateway cannot be detached
    let err = aws
        .ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    // ... nor its subnet deleted
    let err = aws
        .ec2
        .delete_subnet()
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");

    aws.ec2
        .delete_nat_gateway()
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    // still deleting: still refused
    let err = aws
        .ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    emu.advance(120.0).unwrap();
    aws.ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap();

    // subnets, an attached gateway or a non-default security group block the VPC
    for s in &net.subnets {
        aws.ec2.delete_subnet().subnet_id(s).send().await.unwrap();
    }
    aws.ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap();
    let err = aws
        .ec2
        .delete_vpc()
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    aws.ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap();
    let sg = aws
        .ec2
        .create_security_group()
        .group_name("leftover")
        .description("leftover")
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let err = aws
        .ec2
        .delete_vpc()
        .vpc_id(&net.vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    aws.ec2
        .delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap();
    aws.ec2.delete_vpc().vpc_id(&net.vpc).send().await.unwrap();
}

#[tokio::test]
async fn delete_file_system_with_mount_targets_and_cluster_with_nodegroups_are_refused() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;

    let fs = aws
        .efs
        .create_file_system()
        .creation_token("home")
        .send()
        .await
        .unwrap()
        .file_system_id;
    emu.advance(10.0).unwrap();
    aws.efs
        .create_mount_target()
        .file_system_id(&fs)
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap();
    let err = aws
        .efs
        .delete_file_system()
        .file_system_id(&fs)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "FileSystemInUse");

    active_cluster(&emu, &aws, "eks-helio", &net).await;
    create_nodegroup(&aws, "eks-helio", "ng-core", &net, 1).await;
    let err = aws
        .eks
        .delete_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceInUseException");
    // a node group on its way out still blocks the cluster
    emu.advance(240.0).unwrap();
    aws.eks
        .delete_nodegroup()
        .cluster_name("eks-helio")
        .nodegroup_name("ng-core")
        .send()
        .await
        .unwrap();
    let err = aws
        .eks
        .delete_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceInUseException");
    emu.advance(300.0).unwrap();
    let c = aws
        .eks
        .delete_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(c.status, Some(ClusterStatus::Deleting));
}

// -- lifecycles -----------------------------------------------------------------------------------

#[tokio::test]
async fn cluster_and_nodegroup_lifecycles_report_their_in_between_states() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;

    let created = create_cluster(&aws, "eks-helio", &net).await;
    assert_eq!(created.status, Some(ClusterStatus::Creating));
    assert_eq!(created.endpoint, None, "no endpoint before ACTIVE");
    emu.advance(719.0).unwrap();
    assert_eq!(
        describe_cluster(&aws, "eks-helio").await.status,
        Some(ClusterStatus::Creating)
    );
    // node groups need an ACTIVE cluster
    let err = aws
        .eks
        .create_nodegroup()
        .cluster_name("eks-helio")
        .nodegroup_name("early")
        .node_role(NODE_ROLE)
        .set_subnets(Some(net.subnets.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequestException");
    emu.advance(1.0).unwrap();
    let active = describe_cluster(&aws, "eks-helio").await;
    assert_eq!(active.status, Some(ClusterStatus::Active));
    assert!(active.endpoint.unwrap().ends_with(".eks.amazonaws.com/"));

    create_nodegroup(&aws, "eks-helio", "ng-core", &net, 2).await;
    assert_eq!(
        nodegroup_status(&aws, "eks-helio", "ng-core").await,
        Some(NodegroupStatus::Creating)
    );
    emu.advance(239.0).unwrap();
    assert_eq!(
        nodegroup_status(&aws, "eks-helio", "ng-core").await,
        Some(NodegroupStatus::Creating)
    );
    emu.advance(1.0).unwrap();
    assert_eq!(
        nodegroup_status(&aws, "eks-helio", "ng-core").await,
        Some(NodegroupStatus::Active)
    );
    let running = aws
        .ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:eks:nodegroup-name")
                .values("ng-core")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| {
            i.state().and_then(|s| s.name())
                == Some(&aws_sdk_ec2::types::InstanceStateName::Running)
        })
        .count();
    assert_eq!(running, 2, "one instance per desired node");

    aws.eks
        .delete_nodegroup()
        .cluster_name("eks-helio")
        .nodegroup_name("ng-core")
        .send()
        .await
        .unwrap();
    assert_eq!(
        nodegroup_status(&aws, "eks-helio", "ng-core").await,
        Some(NodegroupStatus::Deleting)
    );
    emu.advance(299.0).unwrap();
    assert_eq!(
        nodegroup_status(&aws, "eks-helio", "ng-core").await,
        Some(NodegroupStatus::Deleting)
    );
    emu.advance(1.0).unwrap();
    assert_eq!(nodegroup_status(&aws, "eks-helio", "ng-core").await, None);

    aws.eks
        .delete_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe_cluster(&aws, "eks-helio").await.status,
        Some(ClusterStatus::Deleting)
    );
    let listed = aws
        .eks
        .list_clusters()
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap_or_default();
    assert_eq!(
        listed,
        vec!["eks-helio".to_string()],
        "a deleting cluster is still listed"
    );
    emu.advance(599.0).unwrap();
    assert_eq!(
        describe_cluster(&aws, "eks-helio").await.status,
        Some(ClusterStatus::Deleting)
    );
    emu.advance(1.0).unwrap();
    let err = aws
        .eks
        .describe_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn nat_gateway_and_efs_lifecycles_report_their_in_between_states() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let nat_state = |id: String| {
        let ec2 = aws.ec2.clone();
        async move {
            ec2.describe_nat_gateways()
                .nat_gateway_ids(id)
                .send()
                .await
                .unwrap()
                .nat_gateways
                .unwrap()[0]
                .state
                .clone()
                .unwrap()
                .as_str()
                .to_string()
        }
    };
    let alloc = aws
        .ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .unwrap()
        .allocation_id
        .unwrap();
    let nat = aws
        .ec2
        .create_nat_gateway()
        .subnet_id(&net.subnets[0])
        .allocation_id(alloc)
        .send()
        .await
        .unwrap()
        .nat_gateway
        .unwrap();
    assert_eq!(nat.state.unwrap().as_str(), "pending");
    let nat = nat.nat_gateway_id.unwrap();
    emu.advance(119.0).unwrap();
    assert_eq!(nat_state(nat.clone()).await, "pending");
    emu.advance(1.0).unwrap();
    assert_eq!(nat_state(nat.clone()).await, "available");
    aws.ec2
        .delete_nat_gateway()
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    assert_eq!(nat_state(nat.clone()).await, "deleting");
    emu.advance(120.0).unwrap();
    assert_eq!(nat_state(nat.clone()).await, "deleted");
    assert!(enis_described(&aws, &net.vpc, "Interface for NAT Gateway")
        .await
        .is_empty());

    // EFS: file system, then a mount target
    let fs = aws
        .efs
        .create_file_system()
        .creation_token("home")
        .send()
        .await
        .unwrap();
    assert_eq!(fs.life_cycle_state, LifeCycleState::Creating);
    let fs = fs.file_system_id;
    let err = aws
        .efs
        .create_mount_target()
        .file_system_id(&fs)
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "IncorrectFileSystemLifeCycleState");
    emu.advance(10.0).unwrap();
    let described = aws
        .efs
        .describe_file_systems()
        .file_system_id(&fs)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.file_systems.unwrap()[0].life_cycle_state,
        LifeCycleState::Available
    );

    let mt = aws
        .efs
        .create_mount_target()
        .file_system_id(&fs)
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap();
    assert_eq!(mt.life_cycle_state, LifeCycleState::Creating);
    let mt_state = || {
        let efs = aws.efs.clone();
        let fs = fs.clone();
        async move {
            efs.describe_mount_targets()
                .file_system_id(fs)
                .send()
                .await
                .unwrap()
                .mount_targets
                .unwrap_or_default()
                .first()
                .map(|m| m.life_cycle_state.clone())
        }
    };
    emu.advance(89.0).unwrap();
    assert_eq!(mt_state().await, Some(LifeCycleState::Creating));
    emu.advance(1.0).unwrap();
    assert_eq!(mt_state().await, Some(LifeCycleState::Available));
    aws.efs
        .delete_mount_target()
        .mount_target_id(&mt.mount_target_id)
        .send()
        .await
        .unwrap();
    assert_eq!(mt_state().await, Some(LifeCycleState::Deleting));
    emu.advance(60.0).unwrap();
    assert_eq!(mt_state().await, None);
    aws.efs
        .delete_file_system()
        .file_system_id(&fs)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn scaled_time_runs_on_its_own() {
    // 12 AWS minutes at 1/200: 3.6 s of wall time, observed by polling (no fixed sleep).
    let scale = 0.005;
    let emu = Emulator::builder()
        .profile(Profile::Realistic)
        .time_scale(scale)
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let t0 = Instant::now();
    let created = create_cluster(&aws, "scaled", &net).await;
    assert_eq!(created.status, Some(ClusterStatus::Creating));
    poll_until(DEADLINE, "cluster ACTIVE", || async {
        (describe_cluster(&aws, "scaled").await.status == Some(ClusterStatus::Active)).then_some(())
    })
    .await;
    let waited = t0.elapsed().as_secs_f64();
    assert!(
        waited >= 720.0 * scale * 0.95,
        "became ACTIVE after only {waited:.2}s"
    );
}

#[tokio::test]
async fn instant_profile_is_motos_own_behaviour() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    aws.ec2
        .create_network_interface()
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap();
    // moto forgives what AWS refuses
    aws.ec2
        .delete_subnet()
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap();
    create_cluster(&aws, "now", &net).await;
    assert_eq!(
        describe_cluster(&aws, "now").await.status,
        Some(ClusterStatus::Active)
    );
    assert!(
        enis_described(&aws, &net.vpc, "Amazon EKS")
            .await
            .is_empty(),
        "no side effects"
    );
}

// -- lingering ENIs -------------------------------------------------------------------------------

#[tokio::test]
async fn mount_target_eni_lingers_after_the_mount_target_is_gone() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let fs = aws
        .efs
        .create_file_system()
        .creation_token("home")
        .send()
        .await
        .unwrap()
        .file_system_id;
    emu.advance(10.0).unwrap();
    let mt = aws
        .efs
        .create_mount_target()
        .file_system_id(&fs)
        .subnet_id(&net.subnets[1])
        .send()
        .await
        .unwrap();
    let eni_id = mt.network_interface_id.clone().unwrap();
    let eni = &enis(&aws, &net.vpc).await[0];
    assert_eq!(eni.network_interface_id(), Some(eni_id.as_str()));
    assert_eq!(eni.status().map(|s| s.as_str()), Some("in-use"));
    assert_eq!(eni.requester_managed(), Some(true));
    assert!(eni
        .description()
        .unwrap()
        .starts_with("EFS mount target for"));

    emu.advance(90.0).unwrap();
    aws.efs
        .delete_mount_target()
        .mount_target_id(&mt.mount_target_id)
        .send()
        .await
        .unwrap();
    emu.advance(60.0).unwrap();
    let remaining = aws
        .efs
        .describe_mount_targets()
        .file_system_id(&fs)
        .send()
        .await
        .unwrap();
    assert!(
        remaining.mount_targets.unwrap_or_default().is_empty(),
        "mount target gone"
    );
    // ... but its ENI is not
    assert_eq!(enis(&aws, &net.vpc).await.len(), 1);
    let err = aws
        .ec2
        .delete_subnet()
        .subnet_id(&net.subnets[1])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    let err = aws
        .ec2
        .delete_network_interface()
        .network_interface_id(&eni_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidNetworkInterface.InUse");
    emu.advance(119.0).unwrap();
    assert_eq!(enis(&aws, &net.vpc).await.len(), 1);
    emu.advance(1.0).unwrap();
    assert!(enis(&aws, &net.vpc).await.is_empty());
    aws.ec2
        .delete_subnet()
        .subnet_id(&net.subnets[1])
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn eks_control_plane_enis_linger_after_the_cluster_is_deleted() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    create_cluster(&aws, "eks-helio", &net).await;
    assert!(
        enis_described(&aws, &net.vpc, "Amazon EKS")
            .await
            .is_empty(),
        "no ENIs before ACTIVE"
    );
    emu.advance(720.0).unwrap();
    let owned = enis_described(&aws, &net.vpc, "Amazon EKS eks-helio").await;
    assert_eq!(owned.len(), 2, "one per subnet");
    assert!(owned
        .iter()
        .all(|e| e.status().map(|s| s.as_str()) == Some("in-use")));
    let cluster_sg = describe_cluster(&aws, "eks-helio")
        .await
        .resources_vpc_config
        .unwrap()
        .cluster_security_group_id
        .unwrap();
    assert!(
        security_group_named(&aws, &net.vpc, "eks-cluster-sg-eks-helio-")
            .await
            .is_some()
    );

    aws.eks
        .delete_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap();
    emu.advance(600.0).unwrap();
    assert_eq!(
        code(
            &aws.eks
                .describe_cluster()
                .name("eks-helio")
                .send()
                .await
                .unwrap_err()
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        enis_described(&aws, &net.vpc, "Amazon EKS").await.len(),
        2,
        "ENIs linger"
    );
    let err = aws
        .ec2
        .delete_security_group()
        .group_id(&cluster_sg)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    emu.advance(120.0).unwrap();
    assert!(enis_described(&aws, &net.vpc, "Amazon EKS")
        .await
        .is_empty());
    assert!(
        security_group_named(&aws, &net.vpc, "eks-cluster-sg-")
            .await
            .is_none(),
        "EKS deletes its group"
    );
    for s in &net.subnets {
        aws.ec2.delete_subnet().subnet_id(s).send().await.unwrap();
    }
}

#[tokio::test]
async fn cni_enis_go_with_their_nodes_unless_the_scenario_leaks_them() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    active_cluster(&emu, &aws, "eks-helio", &net).await;
    for (ng, leak) in [("clean", 0), ("leaky", 1)] {
        emu.scenario(serde_json::json!({ "leak_cni_enis": leak }))
            .unwrap();
        create_nodegroup(&aws, "eks-helio", ng, &net, 2).await;
        emu.advance(240.0).unwrap();
        let cni = enis_described(&aws, &net.vpc, "aws-K8S-i-").await;
        assert_eq!(cni.len(), 2, "{ng}: one CNI ENI per node");
        assert!(cni
            .iter()
            .all(|e| e.status().map(|s| s.as_str()) == Some("in-use")));
        aws.eks
            .delete_nodegroup()
            .cluster_name("eks-helio")
            .nodegroup_name(ng)
            .send()
            .await
            .unwrap();
        emu.advance(300.0).unwrap();
        let left = enis_described(&aws, &net.vpc, "aws-K8S-i-").await;
        if leak == 0 {
            assert!(left.is_empty(), "clean node group leaves nothing: {left:?}");
        } else {
            assert_eq!(left.len(), 2, "one leaked ENI per node");
            for eni in left {
                assert_eq!(eni.status().map(|s| s.as_str()), Some("available"));
                assert!(eni.attachment().is_none());
                aws.ec2
                    .delete_network_interface()
                    .network_interface_id(eni.network_interface_id().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

// -- EKS add-ons ----------------------------------------------------------------------------------

#[tokio::test]
async fn eks_addon_api() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    create_cluster(&aws, "eks-helio", &net).await;
    let err = aws
        .eks
        .create_addon()
        .cluster_name("eks-helio")
        .addon_name("aws-ebs-csi-driver")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidRequestException",
        "cluster still CREATING"
    );
    emu.advance(720.0).unwrap();

    let versions = aws
        .eks
        .describe_addon_versions()
        .addon_name("aws-ebs-csi-driver")
        .kubernetes_version("1.31")
        .send()
        .await
        .unwrap();
    let default_version = versions.addons()[0]
        .addon_versions()
        .iter()
        .find(|v| v.compatibilities().iter().any(|c| c.default_version()))
        .and_then(|v| v.addon_version())
        .unwrap()
        .to_string();

    let addon = aws
        .eks
        .create_addon()
        .cluster_name("eks-helio")
        .addon_name("aws-ebs-csi-driver")
        .service_account_role_arn("arn:aws:iam::123456789012:role/ebs-csi")
        .send()
        .await
        .unwrap()
        .addon
        .unwrap();
    assert_eq!(addon.status, Some(AddonStatus::Creating));
    assert_eq!(
        addon.addon_version.as_deref(),
        Some(default_version.as_str())
    );
    let status = || {
        let eks = aws.eks.clone();
        async move {
            match eks
                .describe_addon()
                .cluster_name("eks-helio")
                .addon_name("aws-ebs-csi-driver")
                .send()
                .await
            {
                Ok(o) => o.addon.unwrap().status,
                Err(e) => {
                    assert_eq!(code(&e), "ResourceNotFoundException");
                    None
                }
            }
        }
    };
    emu.advance(60.0).unwrap();
    assert_eq!(status().await, Some(AddonStatus::Active));

    let dup = aws
        .eks
        .create_addon()
        .cluster_name("eks-helio")
        .addon_name("aws-ebs-csi-driver")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&dup), "ResourceInUseException");
    let unknown = aws
        .eks
        .create_addon()
        .cluster_name("eks-helio")
        .addon_name("no-such-addon")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "InvalidParameterException");
    let listed = aws
        .eks
        .list_addons()
        .cluster_name("eks-helio")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.addons(), ["aws-ebs-csi-driver".to_string()]);
    let missing_cluster = aws
        .eks
        .list_addons()
        .cluster_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing_cluster), "ResourceNotFoundException");

    let deleting = aws
        .eks
        .delete_addon()
        .cluster_name("eks-helio")
        .addon_name("aws-ebs-csi-driver")
        .send()
        .await
        .unwrap()
        .addon
        .unwrap();
    assert_eq!(deleting.status, Some(AddonStatus::Deleting));
    emu.advance(30.0).unwrap();
    assert_eq!(status().await, None);
    assert!(aws
        .eks
        .list_addons()
        .cluster_name("eks-helio")
        .send()
        .await
        .unwrap()
        .addons()
        .is_empty());
}

// -- EKS version updates --------------------------------------------------------------------------

#[tokio::test]
async fn eks_version_update_goes_control_plane_first_one_minor_at_a_time() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    aws.eks
        .create_cluster()
        .name("eks-helio")
        .version("1.29")
        .role_arn(ROLE)
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .set_subnet_ids(Some(net.subnets.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    emu.advance(720.0).unwrap();
    create_nodegroup(&aws, "eks-helio", "ng-core", &net, 1).await;
    emu.advance(240.0).unwrap();
    let ng_version = || {
        let eks = aws.eks.clone();
        async move {
            let ng = eks
                .describe_nodegroup()
                .cluster_name("eks-helio")
                .nodegroup_name("ng-core")
                .send()
                .await
                .unwrap()
                .nodegroup
                .unwrap();
            (ng.version.unwrap(), ng.status.unwrap())
        }
    };
    assert_eq!(
        ng_version().await.0,
        "1.29",
        "a node group starts on its cluster's version"
    );

    let skip = aws
        .eks
        .update_cluster_version()
        .name("eks-helio")
        .version("1.31")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&skip), "InvalidParameterException");
    let update = aws
        .eks
        .update_cluster_version()
        .name("eks-helio")
        .version("1.30")
        .send()
        .await
        .unwrap()
        .update
        .unwrap();
    assert_eq!(
        update.status,
        Some(aws_sdk_eks::types::UpdateStatus::InProgress)
    );
    assert_eq!(
        describe_cluster(&aws, "eks-helio").await.status,
        Some(ClusterStatus::Updating)
    );
    let busy = aws
        .eks
        .update_cluster_version()
        .name("eks-helio")
        .version("1.31")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&busy), "ResourceInUseException");
    emu.advance(480.0).unwrap();
    let c = describe_cluster(&aws, "eks-helio").await;
    assert_eq!(
        (c.status, c.version.as_deref()),
        (Some(ClusterStatus::Active), Some("1.30"))
    );
    let done = aws
        .eks
        .describe_update()
        .name("eks-helio")
        .update_id(update.id.unwrap())
        .send()
        .await
        .unwrap()
        .update
        .unwrap();
    assert_eq!(
        done.status,
        Some(aws_sdk_eks::types::UpdateStatus::Successful)
    );

    // the node group lags: the control plane may not move on
    let lagging = aws
        .eks
        .update_cluster_version()
        .name("eks-helio")
        .version("1.31")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&lagging), "InvalidRequestException");
    let too_new = aws
        .eks
        .update_nodegroup_version()
        .cluster_name("eks-helio")
        .nodegroup_name("ng-core")
        .version("1.31")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&too_new), "InvalidParameterException");
    aws.eks
        .update_nodegroup_version()
        .cluster_name("eks-helio")
        .nodegroup_name("ng-core")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ng_version().await,
        ("1.29".to_string(), NodegroupStatus::Updating)
    );
    emu.advance(600.0).unwrap();
    assert_eq!(
        ng_version().await,
        ("1.30".to_string(), NodegroupStatus::Active)
    );
    let ids = aws
        .eks
        .list_updates()
        .name("eks-helio")
        .nodegroup_name("ng-core")
        .send()
        .await
        .unwrap();
    assert_eq!(ids.update_ids().len(), 1);
    aws.eks
        .update_cluster_version()
        .name("eks-helio")
        .version("1.31")
        .send()
        .await
        .unwrap();
}
