//! `kubernetes_manifest` and `helm_release` through the `Provider` trait, running the stand-in
//! `kubectl` and `helm` against a cluster in a private emulator; checked with the tools
//! themselves (the emulator's Kubernetes side), not through what the provider returned.

mod aws_common;

use aws_common::*;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, Provider, Value};
use hdh_providers::aws::{AwsSettings, PollPolicy};
use hdh_providers::{K8sProvider, K8sSettings};
use hdh_testcloud::{bin_dir, Profile};
use serde_json::json;

/// The stand-in tools find their emulator through the process environment, so the tests that
/// run them take turns (each still has its own emulator).
static TOOLS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The provider, running the stand-ins and asking `emu`'s EKS about clusters.
fn k8s_provider(emu: &hdh_testcloud::Emulator) -> K8sProvider {
    K8sProvider::new(K8sSettings {
        hdh_exe: "hdh".into(),
        kubectl: bin_dir().join("kubectl"),
        helm: bin_dir().join("helm"),
        poll: PollPolicy::fast(),
        aws: AwsSettings {
            endpoint_url: Some(emu.endpoint().to_string()),
            static_credentials: Some(("testing".into(), "testing".into())),
            region: Some(REGION.into()),
            poll: PollPolicy::fast(),
        },
    })
}

/// A VPC with two subnets and an EKS cluster `name` in them; the EKS client.
async fn cluster_in_a_new_vpc(emu: &hdh_testcloud::Emulator, name: &str) -> aws_sdk_eks::Client {
    let ec2 = ec2(emu).await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = vec![];
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("10.9.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let eks = eks(emu).await;
    eks.create_cluster()
        .name(name)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .set_subnet_ids(Some(subnets))
                .build(),
        )
        .send()
        .await
        .unwrap();
    eks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_apply_and_helm_releases_install_upgrade_uninstall() {
    let emu = emulator(Profile::Instant, 0.001, None);
    // The stand-ins find the emulator through the environment.
    let _turn = TOOLS.lock().await;
    std::env::set_var("HDH_EMULATOR_URL", emu.endpoint());
    let eks = cluster_in_a_new_vpc(&emu, "eks-k8s").await;
    let c = eks.describe_cluster().name("eks-k8s").send().await.unwrap();
    let c = c.cluster().unwrap();
    let cluster = json!({
        "cluster_name": "eks-k8s",
        "cluster_endpoint": c.endpoint().unwrap(),
        "cluster_ca": c.certificate_authority().and_then(|a| a.data()).unwrap_or("Q0E="),
    });
    let with = |extra: serde_json::Value| {
        let mut m = map(cluster.clone());
        m.extend(map(extra));
        m
    };

    let p = k8s_provider(&emu);
    let (ctx, _) = ctx();

    // A namespace, server-side applied.
    let ns = CreateRequest {
        address: "ns".into(),
        type_name: "kubernetes_manifest".into(),
        properties: with(
            json!({"manifest": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "daskhub"}}}),
        ),
        token: "t1".into(),
    };
    let ns_o = p.create(&ctx, &ns).await.unwrap();
    assert_eq!(ns_o.id, "Namespace//daskhub");
    let read = |o: &Observed| ReadRequest {
        address: "x".into(),
        id: o.id.clone(),
        prior: o.attributes.clone(),
    };
    assert!(p.read(&ctx, "kubernetes_manifest", &[read(&ns_o)]).await[0]
        .as_ref()
        .unwrap()
        .is_some());
    let calls = emu.tool_log().unwrap();
    let applied = calls.iter().any(|c| {
        let argv = c["argv"].to_string();
        argv.contains("apply") && argv.contains("--server-side")
    });
    assert!(applied, "kubectl apply --server-side was run: {calls:?}");

    // The DaskHub chart: proxy-public gets a load balancer.
    let rel = CreateRequest {
        address: "hub".into(),
        type_name: "helm_release".into(),
        properties: with(json!({
            "name": "daskhub", "chart": "dask/daskhub", "repository": "https://helm.dask.org",
            "version": "2022.8.2", "namespace": "daskhub",
            "values": "jupyterhub:\n  singleuser:\n    image:\n      name: img\n      tag: \"1\"\n",
            // dask-gateway 2022.6.1 refuses to render without its JupyterHub API token.
            "sensitive_values": {"jupyterhub": {"proxy": {"secretToken": "s3cr3t"}},
                                 "dask-gateway": {"gateway": {"auth": {"jupyterhub": {"apiToken": "s3cr3t"}}}}},
            "timeout_seconds": 120, "load_balancer_service": "proxy-public",
        })),
        token: "t2".into(),
    };
    let hub = p.create(&ctx, &rel).await.unwrap();
    assert_eq!(hub.id, "daskhub/daskhub");
    assert_eq!(hub.attributes["revision"], Value::int(1));
    let host = hub.attributes["load_balancer_hostname"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(host.contains("elb.amazonaws.com"), "{host}");
    // No secret in any argument the tools saw.
    for c in emu.tool_log().unwrap() {
        assert!(
            !c["argv"].to_string().contains("s3cr3t"),
            "secret in argv: {c}"
        );
    }

    // Upgrade in place: a new chart version is revision 2 of the same release.
    let mut props = hub.attributes.clone();
    props.insert("version".into(), Value::str("2024.1.1"));
    let up = p
        .update(
            &ctx,
            &UpdateRequest {
                address: "hub".into(),
                type_name: "helm_release".into(),
                id: hub.id.clone(),
                prior: hub.attributes.clone(),
                properties: props,
                changed: vec!["version".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(up.attributes["revision"], Value::int(2));
    let r = p
        .read(&ctx, "helm_release", &[read(&up)])
        .await
        .pop()
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(r.attributes["version"], Value::str("2024.1.1"));
    assert_eq!(r.attributes["revision"], Value::int(2));

    // Uninstall, then the manifest; both twice (gone is success).
    for (ty, o) in [("helm_release", &up), ("kubernetes_manifest", &ns_o)] {
        let d = DeleteRequest {
            address: "x".into(),
            type_name: ty.into(),
            id: o.id.clone(),
            prior: o.attributes.clone(),
            purge: false,
        };
        p.delete(&ctx, &d).await.unwrap();
        p.delete(&ctx, &d).await.unwrap();
        assert!(
            p.read(&ctx, ty, &[read(o)]).await[0]
                .as_ref()
                .unwrap()
                .is_none(),
            "{ty} gone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_on_a_cluster_deleted_behind_hdhs_back_are_gone_with_it() {
    // Realistic profile with AWS time paused: the cluster is ACTIVE, then DELETING, then gone
    // exactly when the test moves the clock.
    let emu = emulator(Profile::Realistic, 1.0, None);
    let _turn = TOOLS.lock().await;
    std::env::set_var("HDH_EMULATOR_URL", emu.endpoint());
    emu.pause_clock().unwrap();
    let eks = cluster_in_a_new_vpc(&emu, "eks-gone").await;
    emu.advance(3600.0).unwrap();
    let c = eks
        .describe_cluster()
        .name("eks-gone")
        .send()
        .await
        .unwrap();
    let c = c.cluster().unwrap();
    assert_eq!(c.status().map(|s| s.as_str()), Some("ACTIVE"));
    let cluster = map(json!({
        "cluster_name": "eks-gone",
        "cluster_endpoint": c.endpoint().unwrap(),
        "cluster_ca": c.certificate_authority().and_then(|a| a.data()).unwrap_or("Q0E="),
    }));
    let with = |extra: serde_json::Value| {
        let mut m = cluster.clone();
        m.extend(map(extra));
        m
    };
    let p = k8s_provider(&emu);
    let (mut ctx, progress) = ctx();
    ctx.timeout = std::time::Duration::from_secs(20);

    let ns = p
        .create(
            &ctx,
            &CreateRequest {
                address: "ns".into(),
                type_name: "kubernetes_manifest".into(),
                properties: with(json!({"manifest": {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "apps"}}})),
                token: "t1".into(),
            },
        )
        .await
        .unwrap();
    let rel = p
        .create(
            &ctx,
            &CreateRequest {
                address: "hub".into(),
                type_name: "helm_release".into(),
                properties: with(json!({"name": "hello", "chart": "example/hello",
                    "namespace": "apps", "timeout_seconds": 60})),
                token: "t2".into(),
            },
        )
        .await
        .unwrap();
    let objects = [("kubernetes_manifest", &ns), ("helm_release", &rel)];
    let read = |ty: &'static str, o: &Observed| {
        let p = &p;
        let ctx = &ctx;
        let req = ReadRequest {
            address: "x".into(),
            id: o.id.clone(),
            prior: o.attributes.clone(),
        };
        async move { p.read(ctx, ty, &[req]).await.pop().unwrap() }
    };
    let delete_req = |ty: &str, o: &Observed| DeleteRequest {
        address: format!("{ty}.x"),
        type_name: ty.into(),
        id: o.id.clone(),
        prior: o.attributes.clone(),
        purge: false,
    };
    for (ty, o) in objects {
        assert!(read(ty, o).await.unwrap().is_some(), "{ty} installed");
    }

    // A cluster that exists but does not answer is waited for until the deadline.
    emu.scenario(json!({"kube_unreachable": true})).unwrap();
    let mut short = ctx.clone();
    short.timeout = std::time::Duration::from_millis(500);
    for (ty, o) in objects {
        let err = p.delete(&short, &delete_req(ty, o)).await.unwrap_err();
        assert!(
            matches!(err, hdh_engine::ProviderError::Timeout { .. }),
            "{ty}: {err}"
        );
        assert!(read(ty, o).await.is_err(), "{ty}: unreachable is no answer");
    }
    emu.scenario(json!({"kube_unreachable": false})).unwrap();

    // Deleted behind hdh's back: DELETING (the clock is paused), then gone.
    eks.delete_cluster().name("eks-gone").send().await.unwrap();
    let status = eks
        .describe_cluster()
        .name("eks-gone")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status
            .cluster()
            .and_then(|c| c.status())
            .map(|s| s.as_str()),
        Some("DELETING")
    );
    for round in ["DELETING", "gone"] {
        if round == "gone" {
            emu.advance(3600.0).unwrap();
            assert!(eks
                .describe_cluster()
                .name("eks-gone")
                .send()
                .await
                .is_err());
        }
        for (ty, o) in objects {
            assert!(
                read(ty, o).await.unwrap().is_none(),
                "{ty} read on a {round} cluster"
            );
            let started = std::time::Instant::now();
            p.delete(&ctx, &delete_req(ty, o))
                .await
                .unwrap_or_else(|e| panic!("{ty} delete on a {round} cluster: {e}"));
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{ty} on a {round} cluster: not a wait until the deadline"
            );
        }
    }
    let said = progress.lock().unwrap().clone();
    for ty in ["kubernetes_manifest", "helm_release"] {
        assert!(
            said.iter().any(|(a, m)| a == &format!("{ty}.x")
                && m == "cluster eks-gone is gone; its Kubernetes objects went with it"),
            "{ty}: {said:?}"
        );
    }
}

/// Runs a stand-in tool by hand (an admin's `kubectl`/`helm`) against cluster `cluster`.
fn by_hand(emu: &hdh_testcloud::Emulator, cluster: &str, tool: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster: {{ server: https://unknown }}\ncontexts:\n- name: c\n  context: {{ cluster: {cluster}, user: u }}\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let kcs = kc.display().to_string();
    let mut all = args.to_vec();
    all.extend(["--kubeconfig", &kcs]);
    let out = emu.run_tool(tool, &all).unwrap();
    assert!(out.success(), "{tool} {args:?}: {}", out.stderr);
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edit_of_a_managed_field_is_drift_and_a_server_side_field_is_not() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let _turn = TOOLS.lock().await;
    std::env::set_var("HDH_EMULATOR_URL", emu.endpoint());
    let eks = cluster_in_a_new_vpc(&emu, "eks-drift").await;
    let c = eks
        .describe_cluster()
        .name("eks-drift")
        .send()
        .await
        .unwrap();
    let c = c.cluster().unwrap();
    let with = |manifest: serde_json::Value| {
        map(json!({
            "cluster_name": "eks-drift",
            "cluster_endpoint": c.endpoint().unwrap(),
            "cluster_ca": c.certificate_authority().and_then(|a| a.data()).unwrap_or("Q0E="),
            "manifest": manifest,
        }))
    };
    let p = k8s_provider(&emu);
    let (ctx, _) = ctx();
    let create = |address: &str, manifest: serde_json::Value| CreateRequest {
        address: address.into(),
        type_name: "kubernetes_manifest".into(),
        properties: with(manifest),
        token: address.into(),
    };
    p.create(
        &ctx,
        &create(
            "ns",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hub"}}),
        ),
    )
    .await
    .unwrap();
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "hub", "labels": {"app": "hub"}},
        "data": {"cull_timeout": "3600", "image": "core:1"}});
    let cm = p
        .create(&ctx, &create("cm", applied.clone()))
        .await
        .unwrap();
    let read = || async {
        p.read(
            &ctx,
            "kubernetes_manifest",
            &[ReadRequest {
                address: "cm".into(),
                id: cm.id.clone(),
                prior: cm.attributes.clone(),
            }],
        )
        .await
        .pop()
        .unwrap()
        .unwrap()
        .unwrap()
        .attributes["manifest"]
            .to_display_json()
    };
    // What the server adds (uid, creationTimestamp) is not drift.
    assert_eq!(read().await, applied);

    // Another controller labels and annotates the object: not a field hdh manages.
    by_hand(
        &emu,
        "eks-drift",
        "kubectl",
        &[
            "patch",
            "configmap",
            "settings",
            "-n",
            "hub",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"x"},"annotations":{"seen-by":"controller"}}}"#,
        ],
    );
    assert_eq!(read().await, applied, "a server-side field is not drift");

    // A `kubectl edit` of a field hdh wrote is.
    by_hand(
        &emu,
        "eks-drift",
        "kubectl",
        &[
            "patch",
            "configmap",
            "settings",
            "-n",
            "hub",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"cull_timeout":"7777"}}"#,
        ],
    );
    let mut edited = applied.clone();
    edited["data"]["cull_timeout"] = json!("7777");
    assert_eq!(read().await, edited);
    // So is a label hdh wrote, removed.
    by_hand(
        &emu,
        "eks-drift",
        "kubectl",
        &[
            "patch",
            "configmap",
            "settings",
            "-n",
            "hub",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"labels":{"app":null}}}"#,
        ],
    );
    edited["metadata"]["labels"] = json!({});
    assert_eq!(read().await, edited);

    // Applying again puts the configured fields back.
    p.update(
        &ctx,
        &UpdateRequest {
            address: "cm".into(),
            type_name: "kubernetes_manifest".into(),
            id: cm.id.clone(),
            prior: cm.attributes.clone(),
            properties: cm.attributes.clone(),
            changed: vec!["manifest".into()],
        },
    )
    .await
    .unwrap();
    let live: serde_json::Value = serde_json::from_str(&by_hand(
        &emu,
        "eks-drift",
        "kubectl",
        &["get", "configmap", "settings", "-n", "hub", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(live["data"]["cull_timeout"], "3600");
    assert_eq!(live["metadata"]["labels"]["app"], "hub");
    assert_eq!(read().await, applied);
}
