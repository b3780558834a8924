//! The rules applied to generic resources' properties, keyed by resource type and attribute,
//! and the checks across resources that need no network: a subnet's block inside its VPC's
//! block, and no two subnets of one VPC overlapping. Only values known when the config is read
//! are checked (literals, `${name}`, `${region}`); values from references are the provider's
//! to check at apply time.

use std::collections::HashMap;

use hdh_engine::{Expr, ResourceSpec, Value};

use super::network::{self, Cidr};
use super::{names, report, values, versions, Rule};
use crate::diag::{Location, Problems};
use crate::interp::{self, Piece};
use crate::shape::get;
use crate::yaml::{KeyNode, Node};

/// How one property is checked.
#[derive(Clone, Copy)]
enum Check {
    Text(fn(&str) -> Rule),
    /// Each string of a list.
    EachText(fn(&str) -> Rule),
    Int(fn(i64) -> Rule),
    /// An availability zone of the stack's region.
    Zone,
    /// Kubernetes labels: keys and values.
    Labels,
    /// EKS taints: `[{key, value, effect}]`.
    Taints,
    /// EKS `{min_size, desired_size, max_size}`.
    Scaling,
    /// A Kubernetes object: its namespace and labels.
    Manifest,
}

fn vpc_cidr(s: &str) -> Rule {
    network::vpc_cidr(s).map(|_| ())
}

fn subnet_cidr(s: &str) -> Rule {
    network::subnet_cidr(s).map(|_| ())
}

fn cidr(s: &str) -> Rule {
    network::cidr(s).map(|_| ())
}

fn ttl(n: i64) -> Rule {
    values::in_range(n, 0, 2_147_483_647, "seconds")
}

// The local providers check these again when they run (providers/src/random_secret.rs,
// local_file.rs); here they stop `validate`.
fn secret_bytes(n: i64) -> Rule {
    values::in_range(n, 8, 1024, "bytes")
}

fn secret_encoding(s: &str) -> Rule {
    values::one_of(s, &["hex", "base64"])
}

/// The rule for `attribute` of `type_name`, if there is one.
fn check_for(type_name: &str, attribute: &str) -> Option<Check> {
    use Check::*;
    Some(match (type_name, attribute) {
        ("random_secret", "bytes") => Int(secret_bytes),
        ("random_secret", "encoding") => Text(secret_encoding),
        ("local_file", "path") => Text(values::file_path),
        ("local_file", "mode") => Text(values::file_mode),
        ("aws_vpc", "cidr_block") => Text(vpc_cidr),
        ("aws_subnet", "cidr_block") => Text(subnet_cidr),
        ("aws_subnet", "availability_zone") => Zone,
        ("aws_eks_cluster", "name") => Text(names::eks_cluster_name),
        ("aws_eks_cluster", "version") => Text(versions::eks_kubernetes_version),
        ("aws_eks_cluster", "public_access_cidrs") => EachText(cidr),
        ("aws_eks_node_group", "cluster_name") => Text(names::eks_cluster_name),
        ("aws_eks_node_group", "nodegroup_name") => Text(names::node_group_name),
        ("aws_eks_node_group", "instance_types") => EachText(values::instance_type),
        ("aws_eks_node_group", "disk_size") => Int(values::disk_size),
        ("aws_eks_node_group", "version") => Text(versions::eks_kubernetes_version),
        ("aws_eks_node_group", "labels") => Labels,
        ("aws_eks_node_group", "taints") => Taints,
        ("aws_eks_node_group", "scaling_config") => Scaling,
        ("aws_eks_addon", "cluster_name") => Text(names::eks_cluster_name),
        ("aws_s3_bucket", "bucket") => Text(names::s3_bucket),
        ("aws_route53_record", "zone_name") => Text(names::hosted_zone),
        ("aws_route53_record", "ttl") => Int(ttl),
        ("aws_cognito_user_pool_domain", "domain") => Text(names::cognito_domain_prefix),
        ("aws_cognito_user", "email") => Text(values::email),
        ("aws_iam_role", "role_name") => Text(names::iam_role_name),
        ("helm_release", "cluster_name") => Text(names::eks_cluster_name),
        ("kubernetes_manifest", "cluster_name") => Text(names::eks_cluster_name),
        ("kubernetes_manifest", "manifest") => Manifest,
        ("helm_release", "name") => Text(names::helm_release_name),
        ("helm_release", "namespace") => Text(names::k8s_namespace),
        ("helm_release", "version") => Text(versions::chart_version),
        _ => return None,
    })
}

/// The text of a string node when it is known now: a literal, with `${name}` and `${region}`
/// substituted. `None` for other kinds and for strings with references (or with `${…}`
/// mistakes, which are reported elsewhere).
pub(crate) fn known_text(node: &Node, name: &str, region: &str) -> Option<String> {
    let s = node.as_str()?;
    let pieces = interp::parse(s).ok()?;
    let mut out = String::new();
    for piece in &pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Name => out.push_str(name),
            Piece::Region => out.push_str(region),
            Piece::Ref { .. } => return None,
        }
    }
    Some(out)
}

fn known_int(node: &Node) -> Option<i64> {
    match node.value() {
        Ok(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
}

/// What the rules need besides the properties.
pub(crate) struct Stack<'a> {
    pub name: &'a str,
    pub region: &'a str,
}

/// Checks the properties of resource `resource` of type `type_name` as written.
pub(crate) fn check_properties(
    p: &mut Problems,
    resource: &str,
    type_name: &str,
    props: &[(KeyNode, Node)],
    stack: &Stack<'_>,
) {
    let text = |n: &Node| known_text(n, stack.name, stack.region);
    for (k, v) in props {
        let Some(check) = check_for(type_name, &k.text) else {
            continue;
        };
        let what = format!("resources.{resource}.properties.{}", k.text);
        match check {
            Check::Text(rule) => {
                if let Some(s) = text(v) {
                    if let Err(e) = rule(&s) {
                        report(p, v.mark, &what, &s, e);
                    }
                }
            }
            Check::EachText(rule) => {
                for (i, item) in v.as_seq().unwrap_or(&[]).iter().enumerate() {
                    if let Some(s) = text(item) {
                        if let Err(e) = rule(&s) {
                            report(p, item.mark, &format!("{what}[{i}]"), &s, e);
                        }
                    }
                }
            }
            Check::Int(rule) => {
                if let Some(n) = known_int(v) {
                    if let Err(e) = rule(n) {
                        report(p, v.mark, &what, &n.to_string(), e);
                    }
                }
            }
            Check::Zone => {
                if let Some(s) = text(v) {
                    if let Err(e) = network::availability_zone(&s, stack.region) {
                        report(p, v.mark, &what, &s, e);
                    }
                }
            }
            Check::Labels => labels(p, v, &what, stack),
            Check::Taints => {
                for (i, t) in v.as_seq().unwrap_or(&[]).iter().enumerate() {
                    let Some(m) = t.as_map() else { continue };
                    let at = format!("{what}[{i}]");
                    if let Some(kn) = get(m, "key") {
                        if let Some(s) = text(kn) {
                            if let Err(e) = names::k8s_label_key(&s) {
                                report(p, kn.mark, &format!("{at}.key"), &s, e);
                            }
                        }
                    }
                    if let Some(vn) = get(m, "value") {
                        if let Some(s) = text(vn) {
                            if let Err(e) = names::k8s_label_value(&s) {
                                report(p, vn.mark, &format!("{at}.value"), &s, e);
                            }
                        }
                    }
                    if let Some(en) = get(m, "effect") {
                        if let Some(s) = text(en) {
                            if let Err(e) = taint_effect(&s) {
                                report(p, en.mark, &format!("{at}.effect"), &s, e);
                            }
                        }
                    }
                }
            }
            Check::Manifest => {
                let Some(meta) = v.get("metadata") else {
                    continue;
                };
                if let Some(ns) = meta.get("namespace") {
                    if let Some(s) = text(ns) {
                        if let Err(e) = names::k8s_namespace(&s) {
                            report(p, ns.mark, &format!("{what}.metadata.namespace"), &s, e);
                        }
                    }
                }
                if let Some(l) = meta.get("labels") {
                    labels(p, l, &format!("{what}.metadata.labels"), stack);
                }
            }
            Check::Scaling => {
                let Some(m) = v.as_map() else { continue };
                let n = |key: &str| get(m, key).and_then(known_int);
                if let (Some(min), Some(max)) = (n("min_size"), n("max_size")) {
                    let desired = n("desired_size").unwrap_or(min);
                    if let Err(e) = values::scaling(min, desired, max) {
                        p.error_hint(v.mark, format!("invalid `{what}`: {e}"), e.hint);
                    }
                }
            }
        }
    }
    if type_name == "aws_route53_record" {
        if let (Some(zn), Some(nn)) = (get(props, "zone_name"), get(props, "name")) {
            if let (Some(zone), Some(name)) = (text(zn), text(nn)) {
                if names::hosted_zone(&zone).is_ok() {
                    if let Err(e) = names::record_fqdn_in_zone(&name, &zone) {
                        let what = format!("resources.{resource}.properties.name");
                        report(p, nn.mark, &what, &name, e);
                    }
                }
            }
        }
    }
}

/// Kubernetes labels: every key and value, each at its own place.
pub(crate) fn labels(p: &mut Problems, node: &Node, what: &str, stack: &Stack<'_>) {
    for (k, v) in node.as_map().unwrap_or(&[]) {
        if let Err(e) = names::k8s_label_key(&k.text) {
            report(p, k.mark, &format!("{what} key"), &k.text, e);
        }
        let value = known_text(v, stack.name, stack.region).or_else(|| match v.value() {
            Ok(Value::Number(n)) => Some(n.to_string()),
            Ok(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        });
        if let Some(s) = value {
            if let Err(e) = names::k8s_label_value(&s) {
                report(p, v.mark, &format!("{what}.{}", k.text), &s, e);
            }
        }
    }
}

/// An EKS taint effect as the API spells it.
fn taint_effect(s: &str) -> Rule {
    match s {
        "NO_SCHEDULE" | "NO_EXECUTE" | "PREFER_NO_SCHEDULE" => Ok(()),
        _ => Err(super::Violation::new(
            "it is not a taint effect",
            "`NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`",
        )),
    }
}

/// A subnet as the cross-resource check sees it.
struct Subnet {
    vpc: String,
    block: Cidr,
    /// Its address.
    name: String,
    /// Where its block is written; `None` for the blueprint's own subnets.
    at: Option<Location>,
}

/// The address a whole-value `${X.id}` names.
fn id_reference(s: &str) -> Option<String> {
    match interp::parse(s).ok()?.as_slice() {
        [Piece::Ref { reference, .. }] if reference.attribute == "id" => {
            Some(reference.address.clone())
        }
        _ => None,
    }
}

fn literal(spec: &ResourceSpec, attribute: &str) -> Option<String> {
    match spec.properties.get(attribute) {
        Some(Expr::Literal(Value::String(s))) => Some(s.clone()),
        _ => None,
    }
}

/// Every `aws_subnet` whose VPC is known (an `aws_vpc` of `resources:` or the blueprint's, by
/// `${X.id}`) must lie inside that VPC's block, and subnets of one VPC must not overlap.
/// `blueprint` holds the blueprint's resource specs (their blocks are laid out by hdh).
pub(crate) fn check_subnets(
    p: &mut Problems,
    resources: &[(KeyNode, Node)],
    blueprint: &[ResourceSpec],
    stack: &Stack<'_>,
) {
    let mut vpcs: HashMap<String, Cidr> = HashMap::new();
    let mut subnets: Vec<Subnet> = Vec::new();
    for spec in blueprint {
        let block = literal(spec, "cidr_block").and_then(|s| network::cidr(&s).ok());
        match (spec.type_name.as_str(), block) {
            ("aws_vpc", Some(b)) => {
                vpcs.insert(spec.address.clone(), b);
            }
            ("aws_subnet", Some(b)) => {
                if let Some(Expr::Ref(r)) = spec.properties.get("vpc_id") {
                    subnets.push(Subnet {
                        vpc: r.address.clone(),
                        block: b,
                        name: spec.address.clone(),
                        at: None,
                    });
                }
            }
            _ => {}
        }
    }
    let typed = |v: &Node, t: &str| v.get("type").and_then(Node::as_str) == Some(t);
    let block = |v: &Node| -> Option<(Cidr, Location)> {
        let n = v.get("properties")?.get("cidr_block")?;
        let s = known_text(n, stack.name, stack.region)?;
        network::cidr(&s).ok().map(|c| (c, n.mark))
    };
    for (k, v) in resources {
        if typed(v, "aws_vpc") {
            if let Some((c, _)) = block(v) {
                vpcs.insert(k.text.clone(), c);
            }
        }
    }
    for (k, v) in resources {
        if !typed(v, "aws_subnet") {
            continue;
        }
        let Some((c, at)) = block(v) else { continue };
        let vpc = v
            .get("properties")
            .and_then(|props| props.get("vpc_id"))
            .and_then(Node::as_str)
            .and_then(id_reference);
        let Some(vpc) = vpc else { continue };
        if let Some(vpc_block) = vpcs.get(&vpc) {
            if let Err(e) = network::within(c, *vpc_block) {
                let what = format!("resources.{}.properties.cidr_block", k.text);
                report(p, at, &what, &c.to_string(), e);
                continue;
            }
        }
        subnets.push(Subnet {
            vpc,
            block: c,
            name: k.text.clone(),
            at: Some(at),
        });
    }
    // Sorted by VPC and start address, a block overlaps an earlier one exactly when it starts
    // before the furthest end seen so far in its VPC: one pass, no pairwise comparison.
    subnets.sort_by(|a, b| (&a.vpc, a.block.addr).cmp(&(&b.vpc, b.block.addr)));
    let mut furthest: Option<(usize, u64)> = None;
    for i in 0..subnets.len() {
        let s = &subnets[i];
        let end = s.block.addr as u64 + (1u64 << (32 - s.block.bits as u32));
        match furthest {
            Some((j, reach)) if subnets[j].vpc == s.vpc && (s.block.addr as u64) < reach => {
                let (first, second) = (&subnets[j], s);
                // Report at a block the user wrote (the later one, or the earlier if only it is).
                let (here, other) = if second.at.is_some() {
                    (second, first)
                } else {
                    (first, second)
                };
                if let Some(at) = here.at {
                    let label = format!("`{}`", other.name);
                    if let Err(e) = network::disjoint(here.block, other.block, &label) {
                        let what = format!("resources.{}.properties.cidr_block", here.name);
                        report(p, at, &what, &here.block.to_string(), e);
                    }
                }
                if end > reach {
                    furthest = Some((i, end));
                }
            }
            Some((j, reach)) if subnets[j].vpc == s.vpc && end <= reach => {}
            _ => furthest = Some((i, end)),
        }
    }
}
