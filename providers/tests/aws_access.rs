//! Cluster access through the `Provider` trait against a private emulator (the real AWS SDK):
//! a cluster made with the EKS API on (API_AND_CONFIG_MAP) and its creator's entry; access
//! entries and policy associations created, read, changed in place (scope, namespaces, groups,
//! tags), deleted (a second delete, or one after the cluster took them away, is success); an
//! interrupted create found again; the creator's own entry adopted; a CONFIG_MAP cluster moved
//! forward and a move back refused at plan time.

mod aws_common;

use aws_common::*;
use hdh_engine::provider::CreateRequest;
use hdh_engine::{Observed, OpContext, Provider, Value};
use hdh_testcloud::{Emulator, Profile};
use serde_json::json;

const ENTRY: &str = "aws_eks_access_entry";
const POLICY: &str = "aws_eks_access_policy_association";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
/// Who the emulator says is calling (moto's default identity), as EKS names it in an entry.
const CALLER: &str = "arn:aws:iam::123456789012:user/moto";

fn request(address: &str, ty: &str, props: serde_json::Value) -> CreateRequest {
    CreateRequest {
        address: address.into(),
        type_name: ty.into(),
        properties: map(props),
        token: uuid::Uuid::new_v4().to_string(),
    }
}

/// A VPC, two subnets, the cluster role and a cluster `name` made by the provider.
async fn cluster(t: &T<'_>, name: &str) -> Observed {
    let vpc = t
        .create("vpc", "aws_vpc", json!({"cidr_block": "10.9.0.0/16"}))
        .await;
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = t
            .create(
                &format!("subnet{i}"),
                "aws_subnet",
                json!({"vpc_id": vpc.id, "cidr_block": format!("10.9.{i}.0/24"), "availability_zone": az}),
            )
            .await;
        subnets.push(s.id);
    }
    let role = iam_role(t, &format!("{name}-cluster")).await;
    t.create(
        "cluster",
        "aws_eks_cluster",
        json!({"name": name, "role_arn": role, "subnet_ids": subnets, "version": "1.31"}),
    )
    .await
}

async fn iam_role(t: &T<'_>, name: &str) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role = t
        .create(
            &format!("role.{name}"),
            "aws_iam_role",
            json!({"role_name": name, "assume_role_policy_document": trust}),
        )
        .await;
    s(&role, "arn")
}

/// (policy ARN, scope type, namespaces) of every association of `principal`, as EKS lists them.
async fn associations(
    emu: &Emulator,
    cluster: &str,
    principal: &str,
) -> Vec<(String, String, Vec<String>)> {
    let eks = eks(emu).await;
    let out = eks
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .unwrap();
    out.associated_access_policies()
        .iter()
        .map(|a| {
            let scope = a.access_scope().unwrap();
            (
                a.policy_arn().unwrap().to_string(),
                scope.r#type().unwrap().as_str().to_string(),
                scope.namespaces().to_vec(),
            )
        })
        .collect()
}

fn strings(o: &Observed, k: &str) -> Vec<String> {
    match o.attributes.get(k) {
        Some(Value::List(l)) => l.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        other => panic!("{k}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_and_policies_are_created_read_changed_in_place_and_deleted() {
    let emu = emulator(Profile::Instant, 1.0, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let c = cluster(&t, "eks-helio").await;
    assert_eq!(s(&c, "authentication_mode"), "API_AND_CONFIG_MAP");
    let eks = eks(&emu).await;
    let described = eks
        .describe_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap();
    let access = described.cluster().unwrap().access_config().unwrap();
    assert_eq!(
        access.bootstrap_cluster_creator_admin_permissions(),
        Some(true)
    );
    // The identity that ran the create keeps cluster-admin through its own entry.
    assert_eq!(
        associations(&emu, "eks-helio", CALLER).await,
        vec![(
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy".to_string(),
            "cluster".to_string(),
            vec![]
        )]
    );

    let plan_role = iam_role(&t, "hdh-ci-plan").await;
    let entry = t
        .create(
            "daskhub.cluster.access_entry[\"role/hdh-ci-plan\"]",
            ENTRY,
            json!({"cluster_name": "eks-helio", "principal_arn": plan_role, "tags": {"team": "ci"}}),
        )
        .await;
    assert_eq!(entry.id, format!("eks-helio:{plan_role}"));
    let read = t.read(ENTRY, &entry).await.expect("the entry reads back");
    assert_eq!(read.attributes, entry.attributes);
    assert!(s(&read, "arn").contains(":access-entry/eks-helio/role/"));
    let described = eks
        .describe_access_entry()
        .cluster_name("eks-helio")
        .principal_arn(&plan_role)
        .send()
        .await
        .unwrap();
    let tags = described.access_entry().unwrap().tags().unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("ci"));
    assert_eq!(tags.get("hdh:stack").map(String::as_str), Some(STACK));

    let changed = t
        .update(
            "e",
            ENTRY,
            &entry,
            json!({"kubernetes_groups": ["readers"], "tags": {"team": "platform"}}),
        )
        .await;
    assert_eq!(strings(&changed, "kubernetes_groups"), vec!["readers"]);
    assert_eq!(changed.id, entry.id, "changed in place");
    let again = t.read(ENTRY, &changed).await.unwrap();
    assert_eq!(again.attributes["tags"], changed.attributes["tags"]);

    let view = t
        .create(
            "daskhub.cluster.access_policy[\"role/hdh-ci-plan AmazonEKSViewPolicy\"]",
            POLICY,
            json!({"cluster_name": "eks-helio", "principal_arn": plan_role, "policy_arn": VIEW,
                   "access_scope_type": "namespace", "namespaces": ["daskhub"]}),
        )
        .await;
    assert_eq!(
        t.read(POLICY, &view).await.unwrap().attributes,
        view.attributes
    );
    assert_eq!(
        associations(&emu, "eks-helio", &plan_role).await,
        vec![(
            VIEW.to_string(),
            "namespace".to_string(),
            vec!["daskhub".to_string()]
        )]
    );
    // Namespaces and scope change in place: the same association, no gap without access.
    let wider = t
        .update(
            "p",
            POLICY,
            &view,
            json!({"namespaces": ["daskhub", "scratch"]}),
        )
        .await;
    assert_eq!(wider.id, view.id);
    assert_eq!(
        associations(&emu, "eks-helio", &plan_role).await[0].2,
        vec!["daskhub", "scratch"]
    );
    let everywhere = t
        .update(
            "p",
            POLICY,
            &wider,
            json!({"access_scope_type": "cluster", "namespaces": []}),
        )
        .await;
    assert_eq!(
        associations(&emu, "eks-helio", &plan_role).await,
        vec![(VIEW.to_string(), "cluster".to_string(), vec![])]
    );
    // A namespace scope without namespaces is refused before any call.
    let bad = map(
        json!({"cluster_name": "eks-helio", "principal_arn": plan_role, "policy_arn": VIEW,
                         "access_scope_type": "namespace", "namespaces": []}),
    );
    let err = aws
        .create(
            &ctx,
            &CreateRequest {
                properties: bad,
                ..request("p2", POLICY, json!({}))
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("needs at least one namespace"),
        "{err}"
    );

    // Delete (twice: NotFound is success), association first, as destroy orders them.
    t.delete(POLICY, &everywhere).await;
    assert!(associations(&emu, "eks-helio", &plan_role).await.is_empty());
    t.delete(ENTRY, &changed).await;
    let left = eks
        .list_access_entries()
        .cluster_name("eks-helio")
        .send()
        .await
        .unwrap();
    assert_eq!(
        left.access_entries(),
        [CALLER.to_string()],
        "only the creator's entry is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_create_is_found_and_the_creators_entry_adopted() {
    let emu = emulator(Profile::Instant, 1.0, None);
    let aws = provider(&emu);
    let (ctx, progress) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    cluster(&t, "eks-helio").await;
    let apply_role = iam_role(&t, "hdh-ci-apply").await;

    // The create happened, its answer was lost: the token finds it; another token does not.
    let req = request(
        "daskhub.cluster.access_entry[\"role/hdh-ci-apply\"]",
        ENTRY,
        json!({"cluster_name": "eks-helio", "principal_arn": apply_role}),
    );
    let made = aws.create(&ctx, &req).await.unwrap();
    let found = aws
        .find_created(&ctx, &req)
        .await
        .unwrap()
        .expect("found by its token");
    assert_eq!(found.id, made.id);
    let other = CreateRequest {
        token: "another-run".into(),
        ..req.clone()
    };
    assert!(aws.find_created(&ctx, &other).await.unwrap().is_none());
    // A second create of the same entry is "in use", and adopted: this stack made it here.
    let again = aws.create(&ctx, &other).await.unwrap();
    assert_eq!(again.id, made.id);

    let assoc = request(
        "daskhub.cluster.access_policy[\"role/hdh-ci-apply AmazonEKSAdminPolicy\"]",
        POLICY,
        json!({"cluster_name": "eks-helio", "principal_arn": apply_role,
               "policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"}),
    );
    assert!(
        aws.find_created(&ctx, &assoc).await.unwrap().is_none(),
        "nothing yet"
    );
    aws.create(&ctx, &assoc).await.unwrap();
    let found = aws
        .find_created(&ctx, &assoc)
        .await
        .unwrap()
        .expect("found by its name");
    assert_eq!(found.attributes["access_scope_type"], Value::str("cluster"));

    // The identity running hdh already has EKS's entry from the cluster's creation: listing it
    // adopts that entry instead of failing.
    let mine = aws
        .create(
            &ctx,
            &request(
                "daskhub.cluster.access_entry[\"user/moto\"]",
                ENTRY,
                json!({"cluster_name": "eks-helio", "principal_arn": CALLER}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(mine.id, format!("eks-helio:{CALLER}"));
    assert!(
        progress
            .lock()
            .unwrap()
            .iter()
            .any(|(_, m)| m.contains("adopting")),
        "the adoption is reported"
    );
    // Someone else's entry (untagged, not the caller) is not taken over.
    let eks = eks(&emu).await;
    let theirs = iam_role(&t, "someone-else").await;
    eks.create_access_entry()
        .cluster_name("eks-helio")
        .principal_arn(&theirs)
        .send()
        .await
        .unwrap();
    let err = aws
        .create(
            &ctx,
            &request(
                "x",
                ENTRY,
                json!({"cluster_name": "eks-helio", "principal_arn": theirs}),
            ),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ResourceInUseException"), "{err}");

    // Deleting the cluster takes its entries with it; deleting them afterwards is success.
    eks.delete_cluster().name("eks-helio").send().await.unwrap();
    let gone = aws
        .read(&ctx, ENTRY, &[read_of(&made)])
        .await
        .pop()
        .unwrap()
        .unwrap();
    assert!(gone.is_none(), "no entry without its cluster");
    t.delete(ENTRY, &made).await;
    t.delete(POLICY, &found).await;
}

fn read_of(o: &Observed) -> hdh_engine::provider::ReadRequest {
    hdh_engine::provider::ReadRequest {
        address: "x".into(),
        id: o.id.clone(),
        prior: o.attributes.clone(),
    }
}

async fn mode_of(emu: &Emulator, name: &str) -> String {
    let eks = eks(emu).await;
    let out = eks.describe_cluster().name(name).send().await.unwrap();
    let c = out.cluster().unwrap();
    c.access_config()
        .and_then(|a| a.authentication_mode())
        .unwrap()
        .as_str()
        .to_string()
}

async fn preflight_mode(
    aws: &dyn Provider,
    ctx: &OpContext,
    name: &str,
    mode: &str,
) -> Vec<String> {
    let props: hdh_engine::ValueMap = [
        ("name".to_string(), Value::str(name)),
        ("authentication_mode".into(), Value::str(mode)),
    ]
    .into();
    aws.preflight(ctx, &[("cluster".into(), "aws_eks_cluster".into(), props)])
        .await
        .into_iter()
        .map(|f| f.message)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_map_cluster_moves_forward_and_a_move_back_is_refused_at_plan_time() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    // Made before hdh knew access entries: EKS's API default, CONFIG_MAP.
    let c = cluster(&t, "old").await;
    let eks = eks(&emu).await;
    eks.create_cluster()
        .name("legacy")
        .role_arn(s(&c, "role_arn"))
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .set_subnet_ids(Some(strings(&c, "subnet_ids")))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(mode_of(&emu, "legacy").await, "CONFIG_MAP");
    let err = eks
        .list_access_entries()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_eks::error::ProvideErrorMetadata::code(&err),
        Some("InvalidRequestException"),
        "no access entries in CONFIG_MAP mode"
    );
    let mut legacy = c.clone();
    legacy.id = "legacy".into();
    legacy
        .attributes
        .insert("name".into(), Value::str("legacy"));
    let read = t
        .read("aws_eks_cluster", &legacy)
        .await
        .expect("the cluster reads");
    assert_eq!(
        s(&read, "authentication_mode"),
        "CONFIG_MAP",
        "the mode is refreshed"
    );

    assert!(
        preflight_mode(aws.as_ref(), &ctx, "legacy", "API_AND_CONFIG_MAP")
            .await
            .is_empty()
    );
    // Straight to API: two updates, one step each, as EKS allows.
    let moved = t
        .update(
            "cluster",
            "aws_eks_cluster",
            &read,
            json!({"authentication_mode": "API"}),
        )
        .await;
    assert_eq!(s(&moved, "authentication_mode"), "API");
    assert_eq!(mode_of(&emu, "legacy").await, "API");
    let updates = eks.list_updates().name("legacy").send().await.unwrap();
    assert_eq!(
        updates.update_ids().len(),
        2,
        "CONFIG_MAP → API_AND_CONFIG_MAP → API"
    );

    let refused = preflight_mode(aws.as_ref(), &ctx, "legacy", "API_AND_CONFIG_MAP").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("cannot go back from API to API_AND_CONFIG_MAP"),
        "{}",
        refused[0]
    );
}
