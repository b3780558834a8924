//! The Kubernetes side: the stand-in helm and kubectl, and the classic ELB that a `proxy-public`
//! LoadBalancer Service gets (its security group, the node-group rule, its lingering ENIs).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use hdh_testcloud::{Emulator, Profile};

fn kubeconfig(dir: &Path, server: &str, cluster: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: arn:aws:eks:us-east-1:123456789012:cluster/{cluster}\n  cluster:\n    server: {server}\n    certificate-authority-data: AAAA\ncontexts:\n- name: ctx\n  context:\n    cluster: arn:aws:eks:us-east-1:123456789012:cluster/{cluster}\n    user: u\ncurrent-context: ctx\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token, --cluster-name, {cluster}]\n"
        ),
    )
    .unwrap();
    path
}

fn values(dir: &Path) -> PathBuf {
    let path = dir.join("values.yaml");
    std::fs::write(
        &path,
        "jupyterhub:\n  proxy:\n    secretToken: 0123456789abcdef\n    https:\n      enabled: true\n  hub:\n    config:\n      Authenticator:\n        admin_users: [admintest]\ndask-gateway:\n  gateway:\n    auth:\n      jupyterhub:\n        apiToken: fedcba9876543210\n",
    )
    .unwrap();
    path
}

async fn lb_names(aws: &Aws) -> Vec<String> {
    aws.elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancer_descriptions()
        .iter()
        .map(|d| d.load_balancer_name().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn helm_release_makes_a_load_balancer_that_goes_with_uninstall() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let cluster = active_cluster(&emu, &aws, "eks-helio", &net).await;
    let cluster_sg = cluster
        .resources_vpc_config()
        .unwrap()
        .cluster_security_group_id()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), cluster.endpoint().unwrap(), "eks-helio");
    let kc = kc.to_str().unwrap();
    let vals = values(dir.path());

    let install = emu
        .run_tool(
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
                vals.to_str().unwrap(),
                "--kubeconfig",
                kc,
            ],
        )
        .unwrap();
    assert!(install.success(), "{install:?}");
    assert!(
        install.stdout.contains("STATUS: deployed"),
        "{}",
        install.stdout
    );

    // the cloud provider has not made the load balancer yet
    let svc = emu
        .run_tool(
            "kubectl",
            &[
                "get",
                "svc",
                "proxy-public",
                "-n",
                "daskhub",
                "-o",
                "json",
                "--kubeconfig",
                kc,
            ],
        )
        .unwrap();
    assert!(svc.success(), "{svc:?}");
    let svc: serde_json::Value = serde_json::from_str(&svc.stdout).unwrap();
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert!(svc["status"]["loadBalancer"]["ingress"].is_null());
    assert!(lb_names(&aws).await.is_empty());

    emu.advance(30.0).unwrap();
    let svc = emu
        .run_tool(
            "kubectl",
            &[
                "get",
                "svc",
                "proxy-public",
                "-n",
                "daskhub",
                "-o",
                "json",
                "--kubeconfig",
                kc,
            ],
        )
        .unwrap();
    let svc: serde_json::Value = serde_json::from_str(&svc.stdout).unwrap();
    let hostname = svc["status"]["loadBalancer"]["ingress"][0]["hostname"]
        .as_str()
        .unwrap()
        .to_string();
    let jsonpath = emu
        .run_tool(
            "kubectl",
            &[
                "get",
                "svc",
                "proxy-public",
                "-n",
                "daskhub",
                "--kubeconfig",
                kc,
                "-o",
                "jsonpath={.status.loadBalancer.ingress[0].hostname}",
            ],
        )
        .unwrap();
    assert_eq!(jsonpath.stdout, hostname);
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    let lb = &lbs.load_balancer_descriptions()[0];
    assert_eq!(lb.dns_name(), Some(hostname.as_str()));
    assert_eq!(lb.vpc_id(), Some(net.vpc.as_str()));
    let lb_name = lb.load_balancer_name().unwrap().to_string();
    assert_eq!(lb_name.len(), 32);
    let elb_sg = security_group_named(&aws, &net.vpc, "k8s-elb-")
        .await
        .expect("k8s-elb- security group");
    assert_eq!(
        lb.security_groups(),
        [elb_sg.group_id().unwrap().to_string()]
    );
    // the node security group lets the load balancer in, by reference
    let node_sg = aws
        .ec2
        .describe_security_groups()
        .group_ids(&cluster_sg)
        .send()
        .await
        .unwrap();
    let refs: Vec<_> = node_sg.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|p| p.group_id())
        .collect();
    assert!(refs.contains(&elb_sg.group_id().unwrap()), "{refs:?}");
    let elb_enis = enis_described(&aws, &net.vpc, &format!("ELB {lb_name}")).await;
    assert_eq!(elb_enis.len(), 2, "one per AZ");
    // the load balancer's group cannot go while the node group references it
    let err = aws
        .ec2
        .delete_security_group()
        .group_id(elb_sg.group_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");

    let v = user_values(&emu, kc);
    assert_eq!(v["jupyterhub"]["proxy"]["secretToken"], "0123456789abcdef");
    let status = emu
        .run_tool(
            "helm",
            &[
                "status",
                "daskhub",
                "-n",
                "daskhub",
                "-o",
                "json",
                "--kubeconfig",
                kc,
            ],
        )
        .unwrap();
    let s: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(s["info"]["status"], "deployed");
    assert_eq!(s["chart"]["metadata"]["version"], "2022.8.2");

    let un = emu
        .run_tool(
            "helm",
            &["uninstall", "daskhub", "-n", "daskhub", "--kubeconfig", kc],
        )
        .unwrap();
    assert!(un.success(), "{un:?}");
    assert_eq!(un.stdout, "release \"daskhub\" uninstalled\n");
    assert!(
        lb_names(&aws).await.is_empty(),
        "the load balancer goes at once"
    );
    assert_eq!(
        enis_described(&aws, &net.vpc, "ELB ").await.len(),
        2,
        "its ENIs linger"
    );
    emu.advance(89.0).unwrap();
    assert_eq!(enis_described(&aws, &net.vpc, "ELB ").await.len(), 2);
    emu.advance(1.0).unwrap();
    assert!(enis_described(&aws, &net.vpc, "ELB ").await.is_empty());
    assert!(
        security_group_named(&aws, &net.vpc, "k8s-elb-")
            .await
            .is_none(),
        "Kubernetes deletes its group"
    );
    let gone = emu
        .run_tool(
            "kubectl",
            &[
                "get",
                "svc",
                "proxy-public",
                "-n",
                "daskhub",
                "-o",
                "json",
                "--kubeconfig",
                kc,
            ],
        )
        .unwrap();
    assert_eq!(gone.code, 1);
    assert_eq!(
        gone.stderr,
        "Error from server (NotFound): services \"proxy-public\" not found\n"
    );
    let again = emu
        .run_tool(
            "helm",
            &["uninstall", "daskhub", "-n", "daskhub", "--kubeconfig", kc],
        )
        .unwrap();
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("release: not found"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn helm_wait_returns_once_the_load_balancer_exists() {
    let emu = Emulator::builder()
        .profile(Profile::Realistic)
        .time_scale(0.001)
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    create_cluster(&aws, "eks-helio", &net).await;
    let cluster = hdh_testcloud::poll_until(DEADLINE, "cluster ACTIVE", || async {
        let c = describe_cluster(&aws, "eks-helio").await;
        (c.status == Some(aws_sdk_eks::types::ClusterStatus::Active)).then_some(c)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), cluster.endpoint().unwrap(), "eks-helio");
    let out = emu
        .run_tool(
            "helm",
            &[
                "upgrade",
                "--install",
                "daskhub",
                "dask/daskhub",
                "-n",
                "daskhub",
                "--create-namespace",
                "--wait",
                "--timeout",
                "10m0s",
                "--kubeconfig",
                kc.to_str().unwrap(),
            ],
        )
        .unwrap();
    assert!(out.success(), "{out:?}");
    assert_eq!(
        lb_names(&aws).await.len(),
        1,
        "--wait returned before the load balancer existed"
    );
    // leaving the cluster first leaks the load balancer and its group, as on AWS
    let del = aws
        .eks
        .delete_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap();
    assert!(del.cluster.is_some());
    hdh_testcloud::poll_until(DEADLINE, "cluster gone", || async {
        aws.eks
            .describe_cluster()
            .name("eks-helio")
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert_eq!(lb_names(&aws).await.len(), 1);
    assert!(security_group_named(&aws, &net.vpc, "k8s-elb-")
        .await
        .is_some());
}

#[tokio::test]
async fn tools_fail_like_the_real_ones_and_are_recorded() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let dir = tempfile::tempdir().unwrap();

    // unknown cluster
    let kc = kubeconfig(
        dir.path(),
        "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com",
        "ghost",
    );
    let kc = kc.to_str().unwrap().to_string();
    let helm = emu
        .run_tool(
            "helm",
            &["status", "daskhub", "-n", "daskhub", "--kubeconfig", &kc],
        )
        .unwrap();
    assert_eq!(helm.code, 1);
    assert!(helm.stderr.starts_with("Error: Kubernetes cluster unreachable: Get \"https://ABCDEF.gr7.us-east-1.eks.amazonaws.com/version\": dial tcp: lookup ABCDEF.gr7.us-east-1.eks.amazonaws.com"), "{}", helm.stderr);
    let kubectl = emu
        .run_tool(
            "kubectl",
            &["get", "svc", "-n", "daskhub", "--kubeconfig", &kc],
        )
        .unwrap();
    assert_eq!(kubectl.code, 1);
    assert!(
        kubectl
            .stderr
            .starts_with("Unable to connect to the server: dial tcp: lookup"),
        "{}",
        kubectl.stderr
    );

    // a cluster that is not ACTIVE yet (found by name) has no DNS name yet
    create_cluster(&aws, "eks-helio", &net).await;
    let kc2 = kubeconfig(dir.path(), "https://pending.example", "eks-helio");
    let out = emu
        .run_tool(
            "kubectl",
            &["version", "--kubeconfig", kc2.to_str().unwrap()],
        )
        .unwrap();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no such host"), "{}", out.stderr);

    // reachable once ACTIVE; unreachable again under the scenario flag
    emu.advance(720.0).unwrap();
    let endpoint = describe_cluster(&aws, "eks-helio").await.endpoint.unwrap();
    let kc3 = kubeconfig(dir.path(), &endpoint, "eks-helio");
    let kc3 = kc3.to_str().unwrap().to_string();
    let manifest = dir.path().join("pv.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: daskhub\n---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: efs-home\nspec:\n  capacity: {storage: 1Ti}\n  accessModes: [ReadWriteMany]\n  nfs: {server: fs-0123.efs.us-east-1.amazonaws.com, path: /}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: home, namespace: daskhub}\nspec: {accessModes: [ReadWriteMany], storageClassName: '', resources: {requests: {storage: 1Ti}}}\n",
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    let applied = emu
        .run_tool(
            "kubectl",
            &["apply", "--server-side", "-f", m, "--kubeconfig", &kc3],
        )
        .unwrap();
    assert!(applied.success(), "{applied:?}");
    assert_eq!(
        applied.stdout,
        "namespace/daskhub serverside-applied\npersistentvolume/efs-home serverside-applied\npersistentvolumeclaim/home serverside-applied\n"
    );
    let deleted = emu
        .run_tool(
            "kubectl",
            &[
                "delete",
                "-f",
                m,
                "--ignore-not-found",
                "--kubeconfig",
                &kc3,
            ],
        )
        .unwrap();
    assert!(deleted.success(), "{deleted:?}");
    let twice = emu
        .run_tool(
            "kubectl",
            &[
                "delete",
                "-f",
                m,
                "--ignore-not-found",
                "--kubeconfig",
                &kc3,
            ],
        )
        .unwrap();
    assert!(twice.success() && twice.stdout.is_empty(), "{twice:?}");
    let strict = emu
        .run_tool("kubectl", &["delete", "-f", m, "--kubeconfig", &kc3])
        .unwrap();
    assert_eq!(strict.code, 1);
    assert!(
        strict
            .stderr
            .contains("Error from server (NotFound): namespaces \"daskhub\" not found"),
        "{}",
        strict.stderr
    );
    let no_ns = emu
        .run_tool(
            "helm",
            &[
                "upgrade",
                "--install",
                "x",
                "dask/daskhub",
                "-n",
                "nowhere",
                "--kubeconfig",
                &kc3,
            ],
        )
        .unwrap();
    assert_eq!(no_ns.code, 1);
    assert_eq!(
        no_ns.stderr,
        "Error: create: failed to create: namespaces \"nowhere\" not found\n"
    );

    emu.scenario(serde_json::json!({"kube_unreachable": true}))
        .unwrap();
    let down = emu
        .run_tool("helm", &["list", "-A", "--kubeconfig", &kc3])
        .unwrap();
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("i/o timeout"), "{}", down.stderr);

    let log = emu.tool_log().unwrap();
    assert_eq!(log.len(), 9, "{log:#?}");
    assert_eq!(log[0]["tool"], "helm");
    assert_eq!(log[0]["argv"][0], "status");
    assert_eq!(log[0]["exit"], 1);
    assert_eq!(log[3]["argv"][0], "apply");
    assert_eq!(log[3]["cluster"], "eks-helio");
    assert_eq!(log[3]["exit"], 0);

    // without an emulator to talk to
    let lost = std::process::Command::new(hdh_testcloud::bin_dir().join("kubectl"))
        .args(["get", "nodes"])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("HDH_EMULATOR_URL")
        .output()
        .unwrap();
    assert_eq!(lost.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&lost.stderr).contains("AWS_ENDPOINT_URL is not set"));
}

/// `helm upgrade --install` of dask/daskhub with `values`, on a fresh ACTIVE cluster.
async fn install_daskhub(
    emu: &Emulator,
    dir: &Path,
    version: &str,
    values: &str,
) -> (hdh_testcloud::ToolOutput, String) {
    let aws = aws(emu).await;
    let net = network(&aws).await;
    let cluster = active_cluster(emu, &aws, "eks-helio", &net).await;
    let kc = kubeconfig(dir, cluster.endpoint().unwrap(), "eks-helio");
    let kc = kc.to_str().unwrap().to_string();
    let vals = dir.join("v.yaml");
    std::fs::write(&vals, values).unwrap();
    let out = emu
        .run_tool(
            "helm",
            &[
                "upgrade",
                "--install",
                "daskhub",
                "daskhub",
                "--repo",
                "https://helm.dask.org",
                "--version",
                version,
                "-n",
                "daskhub",
                "--create-namespace",
                "-f",
                vals.to_str().unwrap(),
                "--kubeconfig",
                &kc,
            ],
        )
        .unwrap();
    (out, kc)
}

const TOKENS: &str = "jupyterhub:\n  proxy:\n    secretToken: 0123456789abcdef\ndask-gateway:\n  gateway:\n    auth:\n      jupyterhub:\n        apiToken: fedcba9876543210\n";

#[tokio::test]
async fn the_real_chart_renders_every_release_and_refuses_what_helm_refuses() {
    let emu = paused_realistic();
    let dir = tempfile::tempdir().unwrap();
    // jupyterhub 3.2.1's strict values schema: an unknown key under `hub` fails the install
    let bad = "jupyterhub:\n  proxy:\n    secretToken: 0123456789abcdef\n  hub:\n    cofnig: {}\ndask-gateway:\n  gateway:\n    auth:\n      jupyterhub:\n        apiToken: fedcba9876543210\n";
    let (out, kc) = install_daskhub(&emu, dir.path(), "2024.1.1", bad).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("Error: INSTALLATION FAILED: values don't meet the specifications")
            && out
                .stderr
                .contains("Additional property cofnig is not allowed"),
        "{}",
        out.stderr
    );
    let none = emu
        .run_tool(
            "helm",
            &["status", "daskhub", "-n", "daskhub", "--kubeconfig", &kc],
        )
        .unwrap();
    assert_eq!(none.code, 1, "a refused install left a release: {none:?}");

    // dask-gateway 2022.6.1 refuses to render without its JupyterHub API token
    let no_token = "jupyterhub:\n  proxy:\n    secretToken: 0123456789abcdef\n";
    let out = helm_again(&emu, dir.path(), &kc, "2022.8.2", no_token);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("gateway.auth.jupyterhub.apiToken must be defined"),
        "{}",
        out.stderr
    );

    // a version with no chart tree is not made up
    let out = helm_again(&emu, dir.path(), &kc, "2023.1.0", TOKENS);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("chart \"daskhub\" version \"2023.1.0\" not found"),
        "{}",
        out.stderr
    );

    // a manifest the API server would refuse (unknown field, strict) is refused by kubectl
    let m = dir.path().join("cm.yaml");
    std::fs::write(
        &m,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\ndata: {a: b}\nspec: {}\n",
    )
    .unwrap();
    let out = emu
        .run_tool(
            "kubectl",
            &["apply", "-f", m.to_str().unwrap(), "--kubeconfig", &kc],
        )
        .unwrap();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("error validating") && out.stderr.contains("'spec' was unexpected"),
        "{}",
        out.stderr
    );
    let got = emu
        .run_tool(
            "kubectl",
            &[
                "get",
                "configmap",
                "x",
                "-n",
                "default",
                "--kubeconfig",
                &kc,
            ],
        )
        .unwrap();
    assert_eq!(got.code, 1, "a refused object was stored: {got:?}");

    // the same values install on every tree, and the release keeps what the chart rendered
    for version in ["2022.8.2", "2024.1.1", "2024.1.1-0.dev.git.67.he25bf51"] {
        let out = helm_again(&emu, dir.path(), &kc, version, TOKENS);
        assert!(out.success(), "{version}: {out:?}");
        let manifest = emu
            .run_tool(
                "helm",
                &[
                    "get",
                    "manifest",
                    "daskhub",
                    "-n",
                    "daskhub",
                    "--kubeconfig",
                    &kc,
                ],
            )
            .unwrap();
        assert!(
            manifest.stdout.contains("kind: Deployment") && manifest.stdout.contains("name: hub\n"),
            "{version}: {}",
            manifest.stdout
        );
    }
}

fn helm_again(
    emu: &Emulator,
    dir: &Path,
    kc: &str,
    version: &str,
    values: &str,
) -> hdh_testcloud::ToolOutput {
    let vals = dir.join("v.yaml");
    std::fs::write(&vals, values).unwrap();
    emu.run_tool(
        "helm",
        &[
            "upgrade",
            "--install",
            "daskhub",
            "dask/daskhub",
            "--version",
            version,
            "-n",
            "daskhub",
            "--create-namespace",
            "-f",
            vals.to_str().unwrap(),
            "--kubeconfig",
            kc,
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn without_chart_trees_helm_says_loudly_that_nothing_was_rendered() {
    let missing = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .profile(Profile::Realistic)
        .time_scale(0.001)
        .charts_dir(missing.path().join("none"))
        .start()
        .unwrap();
    emu.pause_clock().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = install_daskhub(&emu, dir.path(), "2022.8.2", TOKENS).await;
    assert!(out.success(), "{out:?}");
    assert!(
        out.stderr.contains("no DaskHub chart trees in")
            && out.stderr.contains("NOT rendered with the real chart"),
        "{}",
        out.stderr
    );
}

/// `helm get values -o json` of the daskhub release.
fn user_values(emu: &Emulator, kc: &str) -> serde_json::Value {
    let out = emu
        .run_tool(
            "helm",
            &[
                "get",
                "values",
                "daskhub",
                "-n",
                "daskhub",
                "-o",
                "json",
                "--kubeconfig",
                kc,
            ],
        )
        .unwrap();
    assert!(out.success(), "{out:?}");
    serde_json::from_str(&out.stdout).unwrap()
}

#[tokio::test]
async fn upgrades_keep_or_merge_user_values_as_helm_does() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    let cluster = active_cluster(&emu, &aws, "eks-helio", &net).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), cluster.endpoint().unwrap(), "eks-helio");
    let kc = kc.to_str().unwrap();
    let vals = values(dir.path());
    let upgrade = |extra: &[&str]| {
        let mut args = vec![
            "upgrade",
            "--install",
            "daskhub",
            "dask/daskhub",
            "-n",
            "daskhub",
            "--create-namespace",
            "--version",
            "2022.8.2",
            "--kubeconfig",
            kc,
        ];
        args.extend_from_slice(extra);
        let out = emu.run_tool("helm", &args).unwrap();
        assert!(out.success(), "{out:?}");
    };
    upgrade(&["-f", vals.to_str().unwrap()]);
    let first = user_values(&emu, kc);
    assert_eq!(
        first["jupyterhub"]["proxy"]["secretToken"],
        "0123456789abcdef"
    );

    // --reuse-values: the new value merged into the previous user values.
    upgrade(&["--reuse-values", "--set", "jupyterhub.cull.timeout=7777"]);
    let merged = user_values(&emu, kc);
    assert_eq!(merged["jupyterhub"]["cull"]["timeout"], 7777);
    assert_eq!(
        merged["jupyterhub"]["proxy"]["secretToken"],
        "0123456789abcdef"
    );
    assert_eq!(
        merged["dask-gateway"]["gateway"]["auth"]["jupyterhub"]["apiToken"],
        "fedcba9876543210"
    );
    // No values at all: the release keeps its own.
    upgrade(&[]);
    assert_eq!(user_values(&emu, kc), merged);
    // Values without --reuse-values: only what is given (the cull timeout is gone).
    upgrade(&["-f", vals.to_str().unwrap()]);
    assert_eq!(user_values(&emu, kc), first);
}
