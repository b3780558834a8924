//! Plan-time checks against the region: every node group's instance types must be offered in
//! every availability zone of its subnets (one paged DescribeInstanceTypeOfferings for all
//! types), a cluster's version may only move one minor step, and its authentication mode only
//! forward.
//!
//! A node group's subnets are often created by the same apply and not known yet; then the AZs
//! of the subnets planned in the same stack stand in for them.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::LocationType;
use hdh_engine::provider::Finding;
use hdh_engine::{Value, ValueMap};

use super::{check_version_step, cluster, node_group};
use crate::aws::describe::every_item;
use crate::aws::ec2::{filter, subnet};
use crate::aws::errors::ec2 as e;
use crate::aws::Clients;
use crate::props;

fn known_strings(p: &ValueMap, name: &str) -> Option<Vec<String>> {
    let v = props::get(p, name)?;
    if v.contains_unknown() {
        return None;
    }
    props::string_list(p, name).ok()
}

fn finding(address: &str, attribute: &str, message: String) -> Finding {
    Finding {
        address: address.into(),
        attribute: Some(attribute.into()),
        message,
    }
}

/// Each item's two fields `both` names, for the items that have both.
fn pairs<T, C: FromIterator<(String, String)>>(
    items: &[T],
    both: impl Fn(&T) -> Option<(&str, &str)>,
) -> C {
    items
        .iter()
        .filter_map(|i| both(i).map(|(a, b)| (a.to_string(), b.to_string())))
        .collect()
}

/// (type, AZ) pairs offered among `types`.
async fn offerings(
    aws: &Clients,
    types: &BTreeSet<String>,
) -> Result<BTreeSet<(String, String)>, String> {
    let call = aws.ec2.describe_instance_type_offerings();
    let call = call.location_type(LocationType::AvailabilityZone);
    let call = call.filters(filter("instance-type", types.iter().cloned()));
    let offered: Vec<_> = every_item!(call, |err| e("DescribeInstanceTypeOfferings")(err)
        .to_string())?;
    Ok(pairs(&offered, |o| {
        Some((o.instance_type()?.as_str(), o.location()?))
    }))
}

/// Subnet id → AZ for known subnet ids.
async fn subnet_azs(
    aws: &Clients,
    ids: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, String> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let call = aws.ec2.describe_subnets();
    let call = call.filters(filter("subnet-id", ids.iter().cloned()));
    let subnets: Vec<_> = every_item!(call, |err| e("DescribeSubnets")(err).to_string())?;
    Ok(pairs(&subnets, |s| {
        Some((s.subnet_id()?, s.availability_zone()?))
    }))
}

pub(crate) async fn node_group_instance_types(
    aws: &Clients,
    resources: &[(String, String, ValueMap)],
) -> Vec<Finding> {
    let groups: Vec<_> = resources
        .iter()
        .filter(|r| r.1 == node_group::TYPE)
        .collect();
    if groups.is_empty() {
        return Vec::new();
    }
    let planned_azs: BTreeSet<String> = resources
        .iter()
        .filter(|r| r.1 == subnet::TYPE)
        .filter_map(|r| match props::get(&r.2, "availability_zone") {
            Some(Value::String(az)) => Some(az),
            _ => None,
        })
        .collect();
    let mut types = BTreeSet::new();
    let mut subnet_ids = BTreeSet::new();
    for (_, _, p) in &groups {
        types.extend(known_strings(p, "instance_types").unwrap_or_default());
        subnet_ids.extend(known_strings(p, "subnets").unwrap_or_default());
    }
    if types.is_empty() {
        return Vec::new();
    }
    let (offered, azs) = match (
        offerings(aws, &types).await,
        subnet_azs(aws, &subnet_ids).await,
    ) {
        (Ok(o), Ok(a)) => (o, a),
        (Err(m), _) | (_, Err(m)) => {
            return groups
                .iter()
                .map(|(address, _, _)| {
                    finding(
                        address,
                        "instance_types",
                        format!("could not check instance type offerings: {m}"),
                    )
                })
                .collect()
        }
    };
    let mut findings = Vec::new();
    for (address, _, p) in groups {
        let Some(types) = known_strings(p, "instance_types") else {
            continue;
        };
        let zones: BTreeSet<String> = match known_strings(p, "subnets") {
            Some(ids) => ids.iter().filter_map(|id| azs.get(id).cloned()).collect(),
            None => planned_azs.clone(),
        };
        for t in &types {
            let missing: Vec<&String> = zones
                .iter()
                .filter(|z| !offered.contains(&(t.clone(), (*z).clone())))
                .collect();
            if !missing.is_empty() {
                let zs: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                findings.push(finding(
                    address,
                    "instance_types",
                    format!(
                        "instance type {t} is not offered in availability zone {} of this node group's subnets",
                        zs.join(", ")
                    ),
                ));
            }
        }
    }
    findings
}

/// Changes of an existing cluster that EKS refuses, found before anything is applied: a version
/// that skips a minor release (or goes back), an authentication mode that goes back (API →
/// API_AND_CONFIG_MAP, say). Each cluster is described once.
pub(crate) async fn cluster_changes(
    aws: &Clients,
    resources: &[(String, String, ValueMap)],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (address, _, p) in resources.iter().filter(|r| r.1 == cluster::TYPE) {
        let wanted = |name| {
            props::string(p, name)
                .ok()
                .flatten()
                .filter(|v| !v.is_empty())
        };
        let Some(name) = wanted("name") else { continue };
        let (version, mode) = (wanted("version"), wanted("authentication_mode"));
        if version.is_none() && mode.is_none() {
            continue;
        }
        let Ok(out) = aws.eks.describe_cluster().name(&name).send().await else {
            continue;
        };
        let Some(c) = out.cluster() else { continue };
        if let (Some(from), Some(to)) = (c.version(), &version) {
            if let Err(err) = check_version_step(from, to) {
                findings.push(finding(address, "version", err.to_string()));
            }
        }
        if let Some(to) = &mode {
            let from = c
                .access_config()
                .and_then(|a| a.authentication_mode())
                .map_or("CONFIG_MAP", |m| m.as_str());
            if let Err(err) = cluster::auth_mode_steps(from, to) {
                findings.push(finding(address, "authentication_mode", err.to_string()));
            }
        }
    }
    findings
}
