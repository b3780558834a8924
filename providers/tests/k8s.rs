//! `kubernetes_manifest` and `helm_release` through the `Provider` trait, running the stand-in
//! `kubectl` and `helm` against a cluster in a private emulator; checked with the tools
//! themselves (the emulator's Kubernetes side), not through what the provider returned.

mod aws_common;

use aws_common::*;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, Provider, Value, ValueMap};
use hdh_providers::aws::PollPolicy;
use hdh_providers::{K8sProvider, K8sSettings};
use hdh_testcloud::{bin_dir, Profile};
use serde_json::json;

fn map(j: serde_json::Value) -> ValueMap {
    match Value::from(&j) {
        Value::Map(m) => m,
        _ => panic!("not an object"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_apply_and_helm_releases_install_upgrade_uninstall() {
    let emu = emulator(Profile::Instant, 0.001, None);
    // The stand-ins find the emulator through the environment.
    std::env::set_var("HDH_EMULATOR_URL", emu.endpoint());
    let ec2 = ec2(&emu).await;
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
    let eks = eks(&emu).await;
    eks.create_cluster()
        .name("eks-k8s")
        .role_arn("arn:aws:iam::123456789012:role/r")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .set_subnet_ids(Some(subnets))
                .build(),
        )
        .send()
        .await
        .unwrap();
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

    let p = K8sProvider::new(K8sSettings {
        hdh_exe: "hdh".into(),
        kubectl: bin_dir().join("kubectl"),
        helm: bin_dir().join("helm"),
        poll: PollPolicy::fast(),
    });
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
            "sensitive_values": {"jupyterhub": {"proxy": {"secretToken": "s3cr3t"}}},
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
