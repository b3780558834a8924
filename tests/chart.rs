//! `examples/daskhub.yaml` installed with each of the real DaskHub chart trees (the seed's
//! 2022.8.2, the newest release 2024.1.1, and the unreleased head): the stand-in helm renders
//! every install with the real `helm template` of that tree and validates every rendered object
//! against the cluster's Kubernetes schemas, so a value the chart or the API server would refuse
//! fails the apply here. What the hub needs is then read from the rendered objects themselves.

mod support;

use support::hub::{setup, Hub};

const TIME_SCALE: f64 = 0.001;

async fn apply_with_chart(version: &str) -> (Hub, String) {
    let mut run = setup(TIME_SCALE);
    run.hosted_zone().await;
    run.edit(
        "chart_version: 2022.8.2",
        &format!("chart_version: \"{version}\""),
    );
    run.ok(&["apply", "-f", "daskhub.yaml", "--auto-approve"]);
    let manifest = run.tool("helm", &["get", "manifest", "daskhub", "-n", "daskhub"]);
    (run, manifest)
}

/// The rendered objects as (kind, name) pairs.
fn objects(manifest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for doc in manifest.split("\n---") {
        let kind = doc
            .lines()
            .find_map(|l| l.strip_prefix("kind: "))
            .map(str::trim);
        let name = doc
            .lines()
            .skip_while(|l| !l.starts_with("metadata:"))
            .find_map(|l| l.strip_prefix("  name: "))
            .map(str::trim);
        if let (Some(k), Some(n)) = (kind, name) {
            out.push((k.to_string(), n.trim_matches('"').to_string()));
        }
    }
    out
}

/// Whether the offline chart trees are here (else the stand-in said so loudly and rendered nothing).
fn trees_present() -> bool {
    let dir = std::env::var("HDH_DASKHUB_CHARTS").unwrap_or_else(|_| "/work/shared/charts".into());
    let here = std::path::Path::new(&dir).is_dir();
    if !here {
        eprintln!(
            "WARNING: no DaskHub chart trees in {dir} (HDH_DASKHUB_CHARTS): the example was NOT \
             checked against the real chart"
        );
    }
    here
}

fn check(version: &str, manifest: &str) {
    if !trees_present() {
        return;
    }
    let objs = objects(manifest);
    eprintln!("chart {version}: {} rendered objects", objs.len());
    for want in [
        ("Deployment", "hub"),
        ("Deployment", "proxy"),
        ("Service", "proxy-public"),
        ("Deployment", "api-daskhub-dask-gateway"),
        ("Deployment", "controller-daskhub-dask-gateway"),
    ] {
        assert!(
            objs.iter().any(|(k, n)| k == want.0 && n == want.1),
            "chart {version}: no {want:?} among {objs:?}"
        );
    }
    assert!(
        objs.len() >= 40,
        "chart {version}: only {} objects",
        objs.len()
    );
    // HTTPS ends at the load balancer: proxy-public names the ACM certificate and serves 443.
    let service = proxy_public(manifest);
    assert!(
        service.contains("service.beta.kubernetes.io/aws-load-balancer-ssl-cert: arn:aws:acm:")
            && service.contains("aws-load-balancer-ssl-ports: https")
            && service.contains("port: 443"),
        "chart {version}: proxy-public without the certificate:\n{service}"
    );
}

/// The rendered `proxy-public` Service.
fn proxy_public(manifest: &str) -> String {
    manifest
        .split("\n---")
        .find(|d| d.contains("kind: Service") && d.contains("name: proxy-public"))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_installs_with_the_seeds_chart_2022_8_2_and_its_iam_policies_pass_parliament() {
    let (run, manifest) = apply_with_chart("2022.8.2").await;
    check("2022.8.2", &manifest);
    every_policy_passes_parliament(&run).await;
}

/// IAM answers policy documents URL-encoded.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// parliament's findings for one policy document, as (issue, detail).
fn parliament(doc: &str) -> Vec<(String, String)> {
    let exe = hdh_testcloud::emulator_dir().join(".venv/bin/parliament");
    let out = std::process::Command::new(&exe)
        .args(["--string", doc, "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run tests/emulator/ci-setup.sh)", exe.display()));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                f["issue"].as_str().unwrap_or_default().to_string(),
                f["detail"].to_string(),
            )
        })
        .collect()
}

/// Every policy document hdh wrote to IAM, read back from IAM, through parliament. Permission
/// policies must have no findings. Trust policies are not identity policies, which is all
/// parliament knows: it reports exactly two things about them that IAM requires or allows
/// (no `Resource` element — IAM refuses one in a trust policy; an EKS OIDC provider as the
/// federated principal — parliament knows only SAML and web identity providers), and nothing else.
async fn every_policy_passes_parliament(run: &Hub) {
    let config = run.emu.aws_config("us-east-1").await;
    let iam = aws_sdk_iam::Client::new(&config);
    let roles = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut checked = 0;
    for role in roles {
        let role = role.unwrap();
        let name = role.role_name().to_string();
        let trust = url_decode(role.assume_role_policy_document().unwrap_or_default());
        let findings = parliament(&trust);
        let unexpected: Vec<_> = findings
            .iter()
            .filter(|(issue, detail)| {
                !(issue == "MALFORMED" && detail.contains("neither Resource nor NotResource")
                    || issue == "UNKNOWN_FEDERATION_SOURCE"
                        && detail.contains(":oidc-provider/oidc.eks."))
            })
            .collect();
        eprintln!("parliament: role {name} trust policy: {findings:?}");
        assert!(
            unexpected.is_empty(),
            "role {name}'s trust policy: {unexpected:?}\n{trust}"
        );
        let inline = iam
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .unwrap();
        for policy in inline.policy_names() {
            let doc = iam
                .get_role_policy()
                .role_name(&name)
                .policy_name(policy)
                .send()
                .await
                .unwrap();
            let doc = url_decode(doc.policy_document());
            let findings = parliament(&doc);
            eprintln!("parliament: role {name} policy {policy}: {findings:?}");
            assert!(
                findings.is_empty(),
                "role {name}, policy {policy}: {findings:?}\n{doc}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the autoscaler's and the shared bucket's policies were checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_installs_with_the_newest_release_2024_1_1() {
    let (_run, manifest) = apply_with_chart("2024.1.1").await;
    check("2024.1.1", &manifest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_installs_with_the_current_chart() {
    let version = "2024.1.1-0.dev.git.67.he25bf51";
    let (_run, manifest) = apply_with_chart(version).await;
    check(version, &manifest);
}

/// `dns.tls: letsencrypt` is the chart's own autohttps, contact the admin's email: installed
/// with the seed's tree, then upgraded to the newest release and to the current tree, each
/// rendered and validated with the real chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letsencrypt_installs_autohttps_with_every_chart_tree() {
    let mut run = setup(TIME_SCALE);
    let config = run.emu.aws_config("us-east-1").await;
    run.hosted_zone().await;
    run.edit(
        "dns: { hosted_zone: example.org, record: daskhub }",
        "dns: { hosted_zone: example.org, record: daskhub, tls: letsencrypt }",
    );
    let mut previous = "chart_version: 2022.8.2".to_string();
    for version in ["2022.8.2", "2024.1.1", "2024.1.1-0.dev.git.67.he25bf51"] {
        let now = format!("chart_version: \"{version}\"");
        run.edit(&previous, &now);
        previous = now;
        let out = run.ok(&["apply", "-f", "daskhub.yaml", "--auto-approve"]);
        assert!(
            out.contains("hub_url = \"https://daskhub.example.org\""),
            "{out}"
        );
        let v = run.helm_values();
        let https = &v["jupyterhub"]["proxy"]["https"];
        assert_eq!(https["type"], "letsencrypt");
        assert_eq!(https["letsencrypt"]["contactEmail"], "admin@example.org");
        assert_eq!(https["hosts"][0], "daskhub.example.org");
        if !trees_present() {
            continue;
        }
        let manifest = run.tool("helm", &["get", "manifest", "daskhub", "-n", "daskhub"]);
        let objs = objects(&manifest);
        eprintln!(
            "chart {version} (letsencrypt): {} rendered objects",
            objs.len()
        );
        assert!(
            objs.iter()
                .any(|(k, n)| k == "Deployment" && n == "autohttps"),
            "chart {version}: no autohttps among {objs:?}"
        );
        assert!(
            !proxy_public(&manifest).contains("aws-load-balancer-ssl-cert"),
            "no ACM certificate with letsencrypt"
        );
    }
    let acm = aws_sdk_acm::Client::new(&config);
    assert!(
        acm.list_certificates()
            .send()
            .await
            .unwrap()
            .certificate_summary_list()
            .is_empty(),
        "no ACM certificate with letsencrypt"
    );
}
