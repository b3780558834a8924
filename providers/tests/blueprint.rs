//! The `daskhub:` blueprint against the real resource types: every resource it builds, in every
//! shape of the section, has a type some provider registers and passes the property and type
//! checks a user-written resource gets (schema's `compile::check_built`), with no network.

use std::path::Path;

use hdh_engine::Providers;

fn real_types() -> Providers {
    let mut p = Providers::new();
    hdh_providers::register_local(&mut p, ".".into());
    hdh_providers::register_aws(&mut p);
    hdh_providers::register_k8s(&mut p);
    p
}

const HEAD: &str = "version: 1\nname: helio-prod\nregion: us-east-1\n";

fn check(name: &str, text: &str) -> usize {
    let types = real_types();
    let c = hdh_schema::parse_str(text, name, Path::new("."), &types)
        .unwrap_or_else(|d| panic!("{name}:\n{d}"));
    let mut n = 0;
    for r in c.desired.resources() {
        assert!(
            types.resource_type(&r.type_name).is_some(),
            "{name}: {} has type {}, which no provider registers",
            r.address,
            r.type_name
        );
        n += 1;
    }
    n
}

#[test]
fn every_shape_of_the_section_builds_resources_the_real_types_accept() {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/daskhub.yaml"),
    )
    .unwrap();
    let n = check("examples/daskhub.yaml", &example);
    assert!(n > 40, "{n}");

    let auth = "  auth: { cognito: { admin: { username: a, email: a@example.org } } }\n  dns: { hosted_zone: example.org }\n";
    let variants = [
        ("defaults.yaml", format!("{HEAD}daskhub:\n{auth}")),
        (
            "no-bucket.yaml",
            format!("{HEAD}daskhub:\n{auth}  storage: {{ shared_bucket: {{ enabled: false }} }}\n"),
        ),
        (
            "profiles.yaml",
            format!(
                "{HEAD}daskhub:\n{auth}  hub: {{ profiles: [ {{ display_name: Small, kubespawner_override: {{ cpu_limit: 1 }} }} ] }}\n"
            ),
        ),
        (
            "no-login.yaml",
            format!("{HEAD}daskhub:\n  allow_unauthenticated: true\n  dns: {{ hosted_zone: example.org }}\n"),
        ),
        (
            "no-gpu.yaml",
            format!(
                "{HEAD}daskhub:\n{auth}  cluster:\n    node_groups:\n      - {{ name: core, instance_types: [t3a.medium], labels: {{ hub.jupyter.org/node-purpose: core }} }}\n      - {{ name: users, instance_types: [m5.2xlarge], labels: {{ hub.jupyter.org/node-purpose: user }} }}\n"
            ),
        ),
    ];
    for (name, text) in variants {
        check(name, &text);
    }
}
