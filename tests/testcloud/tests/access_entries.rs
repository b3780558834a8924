//! The EKS access-entry API as AWS has it (moto has none): the authentication mode kept and
//! moved only forward, the creator's entry, and every refusal hdh relies on: no entries in
//! CONFIG_MAP mode, one entry per principal, only existing IAM roles and users, only EKS access
//! policies, a namespace scope needs namespaces, unknown cluster or entry not found; entries
//! listed page by page and gone with their cluster.

mod common;

use aws_sdk_eks::types::{
    AccessScope, AccessScopeType, AuthenticationMode, CreateAccessConfigRequest,
    UpdateAccessConfigRequest, VpcConfigRequest,
};
use common::*;
use hdh_testcloud::{Emulator, Profile};

const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const CLUSTER_ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const CALLER: &str = "arn:aws:iam::123456789012:user/moto";

async fn cluster(aws: &Aws, name: &str, mode: Option<&str>, bootstrap: bool) {
    let net = network(aws).await;
    aws.eks
        .create_cluster()
        .name(name)
        .role_arn(ROLE)
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .set_subnet_ids(Some(net.subnets.clone()))
                .build(),
        )
        .set_access_config(mode.map(|m| {
            CreateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::from(m))
                .bootstrap_cluster_creator_admin_permissions(bootstrap)
                .build()
        }))
        .send()
        .await
        .unwrap();
}

async fn role(emu: &Emulator, name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&emu.aws_config(REGION).await);
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string()
}

fn scope(kind: &str, namespaces: &[&str]) -> AccessScope {
    AccessScope::builder()
        .r#type(AccessScopeType::from(kind))
        .set_namespaces(Some(namespaces.iter().map(|s| s.to_string()).collect()))
        .build()
}

#[tokio::test]
async fn entries_need_the_eks_api_and_the_mode_moves_only_forward() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    cluster(&aws, "legacy", None, true).await;
    let c = describe_cluster(&aws, "legacy").await;
    let cfg = c.access_config().unwrap();
    assert_eq!(
        cfg.authentication_mode().unwrap().as_str(),
        "CONFIG_MAP",
        "the API's default"
    );
    let err = aws
        .eks
        .list_access_entries()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequestException");
    let plan = role(&emu, "plan").await;
    let err = aws
        .eks
        .create_access_entry()
        .cluster_name("legacy")
        .principal_arn(&plan)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequestException");

    let update = |mode: &'static str| {
        aws.eks
            .update_cluster_config()
            .name("legacy")
            .access_config(
                UpdateAccessConfigRequest::builder()
                    .authentication_mode(AuthenticationMode::from(mode))
                    .build(),
            )
    };
    let err = update("API").send().await.unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterException",
        "one step at a time"
    );
    let u = update("API_AND_CONFIG_MAP").send().await.unwrap();
    assert_eq!(
        u.update().unwrap().r#type().unwrap().as_str(),
        "AccessConfigUpdate"
    );
    assert_eq!(
        describe_cluster(&aws, "legacy")
            .await
            .access_config()
            .unwrap()
            .authentication_mode()
            .unwrap()
            .as_str(),
        "API_AND_CONFIG_MAP"
    );
    let err = update("CONFIG_MAP").send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "never back");
    let err = update("API_AND_CONFIG_MAP").send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "already there");
    // Now entries work; the creator (bootstrap) has one.
    let listed = aws
        .eks
        .list_access_entries()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.access_entries(), [CALLER.to_string()]);

    let err = aws
        .eks
        .list_access_entries()
        .cluster_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn entries_and_associations_refuse_what_aws_refuses() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    cluster(&aws, "c", Some("API_AND_CONFIG_MAP"), false).await;
    let listed = aws
        .eks
        .list_access_entries()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    assert!(
        listed.access_entries().is_empty(),
        "no bootstrap: no creator entry"
    );
    let plan = role(&emu, "plan").await;
    let create = |principal: &str| {
        aws.eks
            .create_access_entry()
            .cluster_name("c")
            .principal_arn(principal)
    };
    create(&plan).send().await.unwrap();
    assert_eq!(
        code(&create(&plan).send().await.unwrap_err()),
        "ResourceInUseException"
    );
    for bad in [
        "arn:aws:iam::123456789012:group/admins",
        "arn:aws:sts::123456789012:assumed-role/plan/session",
        "plan",
        "arn:aws:iam::123456789012:role/does-not-exist",
    ] {
        let err = create(bad).send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidParameterException", "{bad}");
    }
    let associate = |policy: &str, s: AccessScope| {
        aws.eks
            .associate_access_policy()
            .cluster_name("c")
            .principal_arn(&plan)
            .policy_arn(policy)
            .access_scope(s)
    };
    let err = associate(
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSMadeUpPolicy",
        scope("cluster", &[]),
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "unknown policy");
    let err = associate(VIEW, scope("namespace", &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterException",
        "namespace scope without namespaces"
    );
    let err = associate(VIEW, scope("cluster", &["daskhub"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterException",
        "cluster scope with namespaces"
    );
    associate(VIEW, scope("namespace", &["daskhub"]))
        .send()
        .await
        .unwrap();
    // Associating again replaces the scope.
    associate(VIEW, scope("cluster", &[])).send().await.unwrap();
    let listed = aws
        .eks
        .list_associated_access_policies()
        .cluster_name("c")
        .principal_arn(&plan)
        .send()
        .await
        .unwrap();
    let only = &listed.associated_access_policies()[0];
    assert_eq!(listed.associated_access_policies().len(), 1);
    assert_eq!(
        only.access_scope().unwrap().r#type().unwrap().as_str(),
        "cluster"
    );

    let err = aws
        .eks
        .describe_access_entry()
        .cluster_name("c")
        .principal_arn("arn:aws:iam::123456789012:role/other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = aws
        .eks
        .disassociate_access_policy()
        .cluster_name("c")
        .principal_arn(&plan)
        .policy_arn(CLUSTER_ADMIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException", "not associated");
    // Deleting the entry deletes its associations; deleting it again is NotFound.
    aws.eks
        .delete_access_entry()
        .cluster_name("c")
        .principal_arn(&plan)
        .send()
        .await
        .unwrap();
    let err = aws
        .eks
        .delete_access_entry()
        .cluster_name("c")
        .principal_arn(&plan)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn entries_are_listed_page_by_page_and_go_with_their_cluster() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    cluster(&aws, "c", Some("API"), true).await;
    let mut made = vec![CALLER.to_string()];
    for i in 0..5 {
        let arn = role(&emu, &format!("r{i}")).await;
        aws.eks
            .create_access_entry()
            .cluster_name("c")
            .principal_arn(&arn)
            .send()
            .await
            .unwrap();
        made.push(arn);
    }
    let pages: Vec<_> = aws
        .eks
        .list_access_entries()
        .cluster_name("c")
        .max_results(2)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3, "6 entries, 2 a page");
    let mut listed: Vec<String> = pages
        .iter()
        .flat_map(|p| p.access_entries().to_vec())
        .collect();
    listed.sort();
    made.sort();
    assert_eq!(listed, made);
    let creator = aws
        .eks
        .list_associated_access_policies()
        .cluster_name("c")
        .principal_arn(CALLER)
        .send()
        .await
        .unwrap();
    assert_eq!(
        creator.associated_access_policies()[0].policy_arn(),
        Some(CLUSTER_ADMIN)
    );
    // The inventory (what crash tests compare) lists every entry with its policies.
    let entries: Vec<_> = emu
        .inventory()
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == "eks:access-entry")
        .collect();
    assert_eq!(entries.len(), 6, "{entries:?}");
    assert!(
        entries
            .iter()
            .any(|i| i.name.ends_with("user/moto")
                && i.detail == "AmazonEKSClusterAdminPolicy:cluster"),
        "{entries:?}"
    );

    aws.eks.delete_cluster().name("c").send().await.unwrap();
    cluster(&aws, "c", Some("API"), false).await;
    let listed = aws
        .eks
        .list_access_entries()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    assert!(
        listed.access_entries().is_empty(),
        "a new cluster of the same name starts empty"
    );
}
