//! The blueprint read from YAML: defaults, every resource and edge, and located errors.

use std::path::Path;

use hdh_engine::Providers;

use crate::test_types::TestTypes;

const HEAD: &str = "version: 1\nname: helio-prod\nregion: us-east-1\n";

fn types() -> Providers {
    let mut p = Providers::new();
    p.register(std::sync::Arc::new(TestTypes));
    p
}

fn load(body: &str) -> Result<crate::Config, Vec<String>> {
    crate::parse_str(
        &format!("{HEAD}{body}"),
        "hdh.yaml",
        Path::new("."),
        &types(),
    )
    .map_err(|d| {
        d.iter()
            .map(|d| {
                let s = d.to_string();
                s.strip_prefix("hdh.yaml:").unwrap_or(&s).to_string()
            })
            .collect()
    })
}

const MINIMAL: &str = "daskhub:\n  auth: { cognito: { admin: { username: admintest, email: admin@example.org } } }\n  dns: { hosted_zone: example.org }\n";

#[test]
fn the_defaults_expand_into_every_resource_with_readable_addresses() {
    let c = load(MINIMAL).unwrap();
    let addrs: Vec<&str> = c
        .desired
        .resources()
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    for a in [
        "daskhub.network.vpc",
        "daskhub.network.subnet.private[\"us-east-1a\"]",
        "daskhub.network.subnet.public[\"us-east-1b\"]",
        "daskhub.network.nat_gateway[\"us-east-1a\"]",
        "daskhub.keys.secrets",
        "daskhub.cluster.eks",
        "daskhub.cluster.node_group[\"ng-daskhub-services\"]",
        "daskhub.cluster.node_group[\"ng-burst-compute-spot\"]",
        "daskhub.cluster.node_group[\"ng-user-gpu-spot\"]",
        "daskhub.cluster.node_group[\"ng-user-compute-spot\"]",
        "daskhub.identity.oidc_provider",
        "daskhub.identity.autoscaler_role",
        "daskhub.storage.efs",
        "daskhub.storage.mount_target[\"us-east-1b\"]",
        "daskhub.storage.shared_bucket",
        "daskhub.auth.user_pool",
        "daskhub.auth.domain",
        "daskhub.auth.client",
        "daskhub.auth.admin",
        "daskhub.hub.proxy_token",
        "daskhub.hub.gateway_token",
        "daskhub.kubernetes.namespace",
        "daskhub.kubernetes.efs_volume",
        "daskhub.kubernetes.efs_claim",
        "daskhub.kubernetes.autoscaler",
        "daskhub.hub.release",
        "daskhub.dns.record",
    ] {
        assert!(addrs.contains(&a), "{a} missing from {addrs:#?}");
    }
    let deps = |a: &str| c.desired.get(a).unwrap().dependencies();
    // The dependency edges `stack.rs` declares.
    assert!(deps("daskhub.cluster.eks").contains("daskhub.keys.secrets"));
    // Only the edges AWS requires: the nodes need routes out, the control plane does not.
    assert!(!deps("daskhub.cluster.eks")
        .iter()
        .any(|d| d.starts_with("daskhub.network.route_table")));
    assert!(deps("daskhub.cluster.node_group[\"ng-user-gpu-spot\"]")
        .contains("daskhub.network.route_table.private[\"us-east-1a\"]"));
    assert!(
        deps("daskhub.cluster.node_group[\"ng-user-gpu-spot\"]").contains("daskhub.cluster.eks")
    );
    assert!(deps("daskhub.identity.oidc_provider").contains("daskhub.cluster.eks"));
    assert!(deps("daskhub.storage.mount_target[\"us-east-1a\"]").contains("daskhub.storage.efs"));
    assert!(deps("daskhub.kubernetes.efs_volume")
        .contains("daskhub.storage.mount_target[\"us-east-1b\"]"));
    let release = deps("daskhub.hub.release");
    for d in [
        "daskhub.cluster.node_group[\"ng-daskhub-services\"]",
        "daskhub.kubernetes.efs_claim",
        "daskhub.auth.client",
        "daskhub.auth.domain",
        "daskhub.hub.proxy_token",
        "daskhub.hub.gateway_token",
    ] {
        assert!(release.contains(d), "release depends on {d}");
    }
    assert!(deps("daskhub.dns.record").contains("daskhub.hub.release"));
    // Destroy (the reverse): Kubernetes objects go while the nodes still run.
    for spec in c.desired.resources() {
        if spec.type_name == "kubernetes_manifest" {
            for g in ["ng-daskhub-services", "ng-burst-compute-spot"] {
                let ng = format!("daskhub.cluster.node_group[\"{g}\"]");
                let a = &spec.address;
                assert!(deps(a).contains(ng.as_str()), "{a} after {ng}");
            }
        }
    }
    assert!(
        !deps("daskhub.auth.client").contains("daskhub.dns.record"),
        "the callback URL is known at plan time"
    );
    // Retained by default.
    for a in [
        "daskhub.storage.efs",
        "daskhub.storage.shared_bucket",
        "daskhub.keys.secrets",
        "daskhub.auth.user_pool",
    ] {
        assert!(c.desired.get(a).unwrap().lifecycle.retain, "{a} retained");
    }
    assert!(c.warnings.is_empty());
    assert!(c.desired.outputs.contains_key("hub_url"));
}

#[test]
fn a_hub_without_login_needs_allow_unauthenticated_and_warns() {
    let e = load("daskhub:\n  dns: { hosted_zone: example.org }\n").unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("the hub would have no login"), "{e:?}");
    let c = load("daskhub:\n  allow_unauthenticated: true\n  dns: { hosted_zone: example.org }\n")
        .unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert!(c.desired.get("daskhub.auth.client").is_none());
}

#[test]
fn unknown_keys_and_bad_values_are_located_with_suggestions() {
    let e = load(
        "daskhub:\n  netwrok: {}\n  dns: { hosted_zone: example.org, recrod: hub }\n  auth: { cognito: { admin: { username: a, email: nope } } }\n  cluster:\n    kubernetes_version: 1.30\n    node_groups:\n      - { name: x, instance_types: [m5.large], capacity: spotty, taints: [\"a=b\"] }\n",
    )
    .unwrap_err();
    let all = e.join("\n");
    assert!(
        all.contains("5:3: error: unknown key `netwrok` in `daskhub`"),
        "{all}"
    );
    assert!(all.contains("did you mean `network`?"), "{all}");
    assert!(
        all.contains("unknown key `recrod` in `daskhub.dns`"),
        "{all}"
    );
    assert!(
        all.contains("invalid `daskhub.auth.cognito.admin.email` `nope`: it has 0 `@` signs"),
        "{all}"
    );
    assert!(
        all.contains("9:25: error: `daskhub.cluster.kubernetes_version` must be a string"),
        "{all}"
    );
    assert!(all.contains("unknown capacity `spotty`"), "{all}");
    assert!(all.contains("invalid taint `a=b`"), "{all}");
}

#[test]
fn helm_values_carry_the_urls_and_keep_secrets_apart() {
    let c = load(MINIMAL).unwrap();
    let r = c.desired.get("daskhub.hub.release").unwrap();
    let text = format!("{:?}", r.properties["values"]);
    assert!(
        text.contains("https://daskhub.example.org/hub/oauth_callback"),
        "{text}"
    );
    assert!(
        text.contains("https://helio-prod.auth.us-east-1.amazoncognito.com/oauth2/authorize"),
        "{text}"
    );
    assert!(
        text.contains("daskhub.auth.client"),
        "the client id is a reference: {text}"
    );
    assert!(!text.contains("client_secret"), "{text}");
    assert!(!text.contains("proxy_token"), "{text}");
    let secret = format!("{:?}", r.properties["sensitive_values"]);
    assert!(
        secret.contains("client_secret")
            && secret.contains("proxy_token")
            && secret.contains("gateway_token"),
        "{secret}"
    );
}

/// The expression as text, references written as `${…}`.
fn text_of(e: &hdh_engine::Expr) -> String {
    use hdh_engine::{Expr, Part};
    match e {
        Expr::Literal(v) => v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        Expr::Ref(r) => r.to_string(),
        Expr::Interpolate(parts) => parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Ref(r) => r.to_string(),
            })
            .collect(),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_example_renders_these_helm_values() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/daskhub.yaml");
    let c = crate::load(&path, &types()).unwrap_or_else(|e| panic!("{e}"));
    let r = c.desired.get("daskhub.hub.release").unwrap();
    insta::assert_snapshot!("daskhub_values", text_of(&r.properties["values"]));
    insta::assert_debug_snapshot!(
        "daskhub_sensitive_values_shape",
        r.properties["sensitive_values"]
    );
}

#[test]
fn generic_resources_and_outputs_reference_blueprint_addresses() {
    let c = load(&format!(
        "{MINIMAL}outputs:\n  subnet: '${{daskhub.network.subnet.private[\"us-east-1a\"].id}}'\n  fs: ${{daskhub.storage.efs.dns_name}}\n"
    ))
    .unwrap();
    assert!(c.desired.outputs.contains_key("subnet"));
    let e = load(&format!(
        "{MINIMAL}outputs:\n  x: '${{daskhub.network.subnet.private[\"us-east-9z\"].id}}'\n"
    ))
    .unwrap_err();
    assert!(e[0].contains("which is not a declared resource"), "{e:?}");
}

#[test]
fn https_by_default_is_an_acm_certificate_validated_through_the_zone() {
    let c = load(MINIMAL).unwrap();
    let deps = |a: &str| c.desired.get(a).unwrap().dependencies();
    let cert = c.desired.get("daskhub.dns.certificate").unwrap();
    assert_eq!(cert.type_name, "aws_acm_certificate");
    assert!(format!("{:?}", cert.properties["domain_name"]).contains("daskhub.example.org"));
    assert!(deps("daskhub.dns.certificate_record").contains("daskhub.dns.certificate"));
    assert!(deps("daskhub.dns.certificate_validation").contains("daskhub.dns.certificate_record"));
    assert!(deps("daskhub.hub.release").contains("daskhub.dns.certificate_validation"));
    let values = format!(
        "{:?}",
        c.desired.get("daskhub.hub.release").unwrap().properties["values"]
    );
    assert!(values.contains("type: \\\"offload\\\""), "{values}");
    assert!(values.contains("aws-load-balancer-ssl-cert"), "{values}");
}

#[test]
fn letsencrypt_is_the_charts_autohttps_with_the_admins_email() {
    let c = load(&MINIMAL.replace(
        "dns: { hosted_zone: example.org }",
        "dns: { hosted_zone: example.org, tls: letsencrypt }",
    ))
    .unwrap();
    assert!(c.desired.get("daskhub.dns.certificate").is_none());
    let values = format!(
        "{:?}",
        c.desired.get("daskhub.hub.release").unwrap().properties["values"]
    );
    for want in ["letsencrypt", "admin@example.org", "daskhub.example.org"] {
        assert!(values.contains(want), "{want}: {values}");
    }
    assert!(c.warnings.is_empty());
}

#[test]
fn plain_http_needs_allow_plain_http_and_no_login_then_warns_and_every_url_is_http() {
    let e = load(&MINIMAL.replace(
        "dns: { hosted_zone: example.org }",
        "dns: { hosted_zone: example.org, tls: none }",
    ))
    .unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("6:41:"), "located at the value: {e:?}");
    assert!(
        e[0].contains("plain HTTP") && e[0].contains("allow_plain_http"),
        "{e:?}"
    );
    let e = load(&MINIMAL.replace(
        "dns: { hosted_zone: example.org }",
        "dns: { hosted_zone: example.org, tls: none, allow_plain_http: true }",
    ))
    .unwrap_err();
    assert!(e[0].contains("Cognito accepts only https://"), "{e:?}");
    let c = load(
        "daskhub:\n  allow_unauthenticated: true\n  dns: { hosted_zone: example.org, tls: none, allow_plain_http: true }\n",
    )
    .unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("plain HTTP")),
        "{:?}",
        c.warnings
    );
    assert!(c.desired.get("daskhub.dns.certificate").is_none());
    assert!(format!("{:?}", c.desired.outputs["hub_url"]).contains("http://"));
    assert!(!format!("{:?}", c.desired.outputs["hub_url"]).contains("https://"));
    let values = format!(
        "{:?}",
        c.desired.get("daskhub.hub.release").unwrap().properties["values"]
    );
    assert!(!values.contains("https:"), "{values}");
    let e = load(&MINIMAL.replace(
        "dns: { hosted_zone: example.org }",
        "dns: { hosted_zone: example.org, tls: tcp }",
    ))
    .unwrap_err();
    assert!(
        e[0].contains("unknown `daskhub.dns.tls` value `tcp`"),
        "{e:?}"
    );
}

#[test]
fn supplied_tokens_are_read_from_where_the_admin_keeps_them_and_others_are_generated() {
    let c = load(&format!(
        "{MINIMAL}  hub:\n    secrets:\n      proxy_token: {{ from_env: HUB_PROXY_TOKEN }}\n"
    ))
    .unwrap();
    let proxy = c.desired.get("daskhub.hub.proxy_token").unwrap();
    assert_eq!(proxy.type_name, "given_secret");
    assert_eq!(text_of(&proxy.properties["from_env"]), "HUB_PROXY_TOKEN");
    let gateway = c.desired.get("daskhub.hub.gateway_token").unwrap();
    assert_eq!(gateway.type_name, "random_secret");

    let e = load(&format!(
        "{MINIMAL}  hub:\n    secrets:\n      proxy_token: {{ from_env: A, from_file: t }}\n      gateway_token: {{ from_env: 9LIVES }}\n      proxy_tokn: {{}}\n"
    ))
    .unwrap_err();
    let all = e.join("\n");
    assert!(
        all.contains("9:20: error: `daskhub.hub.secrets.proxy_token` needs exactly one of `from_env` and `from_file`"),
        "{all}"
    );
    assert!(
        all.contains(
            "invalid `daskhub.hub.secrets.gateway_token.from_env` `9LIVES`: it starts with a digit"
        ),
        "{all}"
    );
    assert!(all.contains("did you mean `proxy_token`?"), "{all}");
}

#[test]
fn the_hub_database_gets_a_retained_gp3_class_and_its_volumes_are_kept_with_the_homes() {
    let c = load(MINIMAL).unwrap();
    let class = c
        .desired
        .get("daskhub.kubernetes.hub_db_storage_class")
        .unwrap();
    let m = format!("{:?}", class.properties["manifest"]);
    for want in ["ebs.csi.aws.com", "gp3", "Retain", "gp3-retained"] {
        assert!(m.contains(want), "{want}: {m}");
    }
    let deps = |a: &str| c.desired.get(a).unwrap().dependencies();
    assert!(
        deps("daskhub.kubernetes.hub_db_storage_class").contains("daskhub.cluster.addon.ebs_csi")
    );
    assert!(deps("daskhub.hub.release").contains("daskhub.kubernetes.hub_db_storage_class"));
    let values = format!(
        "{:?}",
        c.desired.get("daskhub.hub.release").unwrap().properties["values"]
    );
    assert!(
        values.contains("storageClassName: \\\"gp3-retained\\\""),
        "{values}"
    );
    let volumes = c.desired.get("daskhub.storage.claim_volumes").unwrap();
    assert_eq!(volumes.type_name, "aws_ebs_pvc_volumes");
    assert!(volumes.lifecycle.retain, "kept like the home directories");
    // Destroy deals with them after the cluster, when no node holds them.
    assert!(deps("daskhub.cluster.eks").contains("daskhub.storage.claim_volumes"));
    let c = load(&MINIMAL.replace("dns:", "storage: { efs: { retain: false } }\n  dns:")).unwrap();
    assert!(
        !c.desired
            .get("daskhub.storage.claim_volumes")
            .unwrap()
            .lifecycle
            .retain
    );
}

#[test]
fn cluster_access_becomes_one_entry_per_principal_and_one_association_per_policy() {
    let c = load(&format!(
        "{MINIMAL}  cluster:\n    access:\n      - {{ principal_arn: \"arn:aws:iam::123456789012:role/hdh-ci-plan\", policy: view }}\n      - {{ principal_arn: \"arn:aws:iam::123456789012:role/hdh-ci-plan\", policy: edit, namespaces: [daskhub] }}\n      - {{ principal_arn: \"arn:aws:iam::123456789012:user/alice\", policy: cluster-admin }}\n"
    ))
    .unwrap();
    let cluster = c.desired.get("daskhub.cluster.eks").unwrap();
    assert_eq!(
        text_of(&cluster.properties["authentication_mode"]),
        "API_AND_CONFIG_MAP"
    );
    let entries: Vec<&str> = c
        .desired
        .resources()
        .iter()
        .filter(|r| r.type_name == "aws_eks_access_entry")
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(
        entries,
        [
            "daskhub.cluster.access_entry[\"role/hdh-ci-plan\"]",
            "daskhub.cluster.access_entry[\"user/alice\"]"
        ]
    );
    let edit = c
        .desired
        .get("daskhub.cluster.access_policy[\"role/hdh-ci-plan AmazonEKSEditPolicy\"]")
        .unwrap();
    assert_eq!(
        text_of(&edit.properties["policy_arn"]),
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
    );
    assert_eq!(text_of(&edit.properties["access_scope_type"]), "namespace");
    // The association follows its entry (a reference), so destroy removes it first.
    assert_eq!(
        edit.properties["principal_arn"],
        hdh_engine::Expr::Ref(hdh_engine::Reference {
            address: "daskhub.cluster.access_entry[\"role/hdh-ci-plan\"]".into(),
            attribute: "principal_arn".into()
        })
    );
    let admin = c
        .desired
        .get("daskhub.cluster.access_policy[\"user/alice AmazonEKSClusterAdminPolicy\"]")
        .unwrap();
    assert_eq!(text_of(&admin.properties["access_scope_type"]), "cluster");
}

#[test]
fn bad_cluster_access_is_located_and_nothing_is_built() {
    let e = load(&format!(
        "{MINIMAL}  cluster:\n    authentication_mode: CONFIG_MAP\n    access:\n      - {{ principal_arn: \"arn:aws:iam::123456789012:group/admins\", policy: view }}\n      - {{ principal_arn: \"arn:aws:iam::123456789012:role/a\", policy: viewer }}\n      - {{ principal_arn: \"arn:aws:iam::123456789012:role/a\", policy: cluster-admin, namespaces: [daskhub] }}\n      - {{ principal_arn: \"arn:aws:iam::123456789012:role/b\", policy: edit }}\n      - {{ principal_arn: \"arn:aws:iam::123456789012:role/b\", policy: edit, namespaces: [x] }}\n      - {{ policy: view }}\n"
    ))
    .unwrap_err();
    let all = e.join("\n");
    for want in [
        "8:26: error: unknown `daskhub.cluster.authentication_mode` `CONFIG_MAP`",
        "10:26: error: invalid `daskhub.cluster.access[0].principal_arn` `arn:aws:iam::123456789012:group/admins`: it names a `group`",
        "11:70: error: unknown policy `viewer` in `daskhub.cluster.access[1]`",
        "12:97: error: `daskhub.cluster.access[2]`: `cluster-admin` is for the whole cluster and takes no `namespaces`",
        "14:9: error: `daskhub.cluster.access[4]` repeats `arn:aws:iam::123456789012:role/b` with the same policy",
        "15:9: error: `daskhub.cluster.access[5]` needs a `principal_arn`",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
}

#[test]
fn an_existing_user_pool_is_read_never_made_and_users_and_lifetimes_reach_the_client() {
    let c = load(
        "daskhub:\n  dns: { hosted_zone: example.org }\n  auth:\n    cognito:\n      user_pool_id: us-east-1_AbCdEfGhI\n      admin: { username: admintest, email: admin@example.org }\n      users:\n        - { username: alice, email: alice@example.org }\n      access_token_validity: 30m\n      refresh_token_validity: 7d\n",
    )
    .unwrap();
    let pool = c.desired.get("daskhub.auth.user_pool").unwrap();
    assert_eq!(pool.type_name, "aws_cognito_existing_user_pool");
    assert!(!pool.lifecycle.retain, "nothing of hdh's to retain");
    assert!(c
        .desired
        .resources()
        .iter()
        .all(|r| r.type_name != "aws_cognito_user_pool"));
    let alice = c.desired.get("daskhub.auth.user[\"alice\"]").unwrap();
    assert_eq!(text_of(&alice.properties["email"]), "alice@example.org");
    let client = c.desired.get("daskhub.auth.client").unwrap();
    assert_eq!(
        client.properties["access_token_validity_minutes"],
        hdh_engine::Expr::Literal(hdh_engine::Value::int(30))
    );
    assert_eq!(
        client.properties["refresh_token_validity_minutes"],
        hdh_engine::Expr::Literal(hdh_engine::Value::int(7 * 24 * 60))
    );
    assert!(!client.properties.contains_key("id_token_validity_minutes"));
}

#[test]
fn bad_cognito_settings_are_located() {
    let e = load(
        "daskhub:\n  dns: { hosted_zone: example.org }\n  auth:\n    cognito:\n      user_pool_id: eu-west-1_AbCdEfGhI\n      admin: { username: admintest, email: admin@example.org }\n      users:\n        - { username: admintest, email: x@example.org }\n      access_token_validity: 2d\n      refresh_token_validity: 30\n      id_token_validity: 4m\n",
    )
    .unwrap_err();
    let all = e.join("\n");
    for want in [
        "8:21: error: `daskhub.auth.cognito.user_pool_id` `eu-west-1_AbCdEfGhI` is a pool of eu-west-1",
        "11:23: error: user `admintest` is listed twice",
        "12:30: error: invalid `daskhub.auth.cognito.access_token_validity` `2d`: it is outside Cognito's bounds, 5m to 1d",
        "13:31: error: `daskhub.auth.cognito.refresh_token_validity`: expected a string",
        "14:26: error: invalid `daskhub.auth.cognito.id_token_validity` `4m`: it is outside Cognito's bounds",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
}
