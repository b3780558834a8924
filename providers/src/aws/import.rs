//! `hdh import` for AWS types: finding the resource an address stands for among what other
//! tools made (the HelioCloud CDK stacks, eksctl, the console), by the identity each type has
//! in AWS — a name, a parent plus a key, an association — never by hdh's own tags.
//!
//! Invariants:
//! - A finder returns every resource that fits, never a guess among them: the engine refuses
//!   more than one. `matched_by` says what fitted, for the user to judge.
//! - Candidates are read with the type's own `read` (the request's properties as prior), so
//!   what import records is exactly what a refresh would see.
//! - A type without a search here answers `Unsupported`, naming the `--id` to give.

use hdh_engine::provider::{Candidate, ImportRequest, ReadRequest};
use hdh_engine::{OpContext, ProviderError, Value, ValueMap};

use super::ec2::filter;
use super::errors::{cognito as ecog, ec2 as e, efs as eefs, iam as eiam, kms as ekms};
use super::{Clients, Kind};
use crate::props;
use crate::Answer;

/// The id a resource of these properties must have, for types named by their properties.
fn natural_id(type_name: &str, p: &ValueMap) -> Answer<Option<String>> {
    let s = |k: &str| props::string(p, k);
    Ok(match type_name {
        "aws_eks_cluster" => s("name")?,
        "aws_eks_node_group" => s("cluster_name")?
            .zip(s("nodegroup_name")?)
            .map(|(c, n)| format!("{c}:{n}")),
        "aws_eks_addon" => s("cluster_name")?
            .zip(s("addon_name")?)
            .map(|(c, n)| format!("{c}:{n}")),
        "aws_eks_access_entry" => s("cluster_name")?
            .zip(s("principal_arn")?)
            .map(|(c, p)| format!("{c}:{p}")),
        "aws_eks_access_policy_association" => s("cluster_name")?
            .zip(s("principal_arn")?)
            .zip(s("policy_arn")?)
            .map(|((c, p), a)| format!("{c}#{p}#{a}")),
        "aws_s3_bucket" => s("bucket")?,
        "aws_ebs_pvc_volumes" => s("cluster_name")?.map(|c| format!("pvc-volumes/{c}")),
        "aws_iam_role" => s("role_name")?,
        "aws_cognito_user_pool_domain" => s("domain")?,
        "aws_cognito_user" => s("user_pool_id")?
            .zip(s("username")?)
            .map(|(p, u)| format!("{p}/{u}")),
        _ => None,
    })
}

/// The candidates for `req` (no id given).
pub(crate) async fn find(
    kind: &dyn Kind,
    aws: &Clients,
    ctx: &OpContext,
    req: &ImportRequest,
) -> Answer<Vec<Candidate>> {
    let p = &req.properties;
    if let Some(id) = natural_id(&req.type_name, p)? {
        let how = format!("name {id}");
        return read_ids(kind, aws, ctx, req, vec![(id, how)]).await;
    }
    let str_of = |k: &str| props::string(p, k);
    let ids: Vec<(String, String)> = match req.type_name.as_str() {
        "aws_vpc" => {
            let Some(cidr) = str_of("cidr_block")? else {
                return Err(unsearchable(req, "its CIDR block is not known"));
            };
            let out: Vec<_> = aws
                .ec2
                .describe_vpcs()
                .filters(filter("cidr", [cidr.clone()]))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeVpcs"))?;
            out.iter()
                .flat_map(|o| o.vpcs())
                .filter(|v| v.is_default() != Some(true))
                .map(|v| {
                    let id = v.vpc_id().unwrap_or_default().to_string();
                    (id, format!("CIDR {cidr}{}", named(v.tags())))
                })
                .collect()
        }
        "aws_subnet" => {
            let (Some(vpc), Some(cidr)) = (str_of("vpc_id")?, str_of("cidr_block")?) else {
                return Err(unsearchable(req, "its VPC was not matched"));
            };
            let out: Vec<_> = aws
                .ec2
                .describe_subnets()
                .filters(filter("vpc-id", [vpc.clone()]))
                .filters(filter("cidr-block", [cidr.clone()]))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeSubnets"))?;
            out.iter()
                .flat_map(|o| o.subnets())
                .map(|s| {
                    let id = s.subnet_id().unwrap_or_default().to_string();
                    (id, format!("CIDR {cidr} in {vpc}{}", named(s.tags())))
                })
                .collect()
        }
        "aws_internet_gateway" => {
            let Some(vpc) = str_of("vpc_id")? else {
                return Err(unsearchable(req, "its VPC was not matched"));
            };
            let out: Vec<_> = aws
                .ec2
                .describe_internet_gateways()
                .filters(filter("attachment.vpc-id", [vpc.clone()]))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeInternetGateways"))?;
            out.iter()
                .flat_map(|o| o.internet_gateways())
                .map(|g| {
                    let id = g.internet_gateway_id().unwrap_or_default().to_string();
                    (id, format!("attached to {vpc}"))
                })
                .collect()
        }
        "aws_nat_gateway" => {
            let Some(subnet) = str_of("subnet_id")? else {
                return Err(unsearchable(req, "its subnet was not matched"));
            };
            let out: Vec<_> = aws
                .ec2
                .describe_nat_gateways()
                .filter(filter("subnet-id", [subnet.clone()]))
                .filter(filter("state", ["pending".into(), "available".into()]))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeNatGateways"))?;
            out.iter()
                .flat_map(|o| o.nat_gateways())
                .map(|g| {
                    let id = g.nat_gateway_id().unwrap_or_default().to_string();
                    (id, format!("in {subnet}{}", named(g.tags())))
                })
                .collect()
        }
        "aws_eip" => {
            // An Elastic IP has no parent: the ones NAT gateways use are the candidates.
            let out: Vec<_> = aws
                .ec2
                .describe_nat_gateways()
                .filter(filter("state", ["pending".into(), "available".into()]))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeNatGateways"))?;
            out.iter()
                .flat_map(|o| o.nat_gateways())
                .flat_map(|g| {
                    let nat = g.nat_gateway_id().unwrap_or_default().to_string();
                    g.nat_gateway_addresses()
                        .iter()
                        .filter_map(|a| a.allocation_id())
                        .map(move |id| (id.to_string(), format!("address of NAT gateway {nat}")))
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        "aws_route_table" => {
            let Some(vpc) = str_of("vpc_id")? else {
                return Err(unsearchable(req, "its VPC was not matched"));
            };
            let subnets: Vec<String> = match p.get("subnet_ids") {
                Some(Value::List(l)) => l
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            };
            if subnets.is_empty() {
                return Err(unsearchable(req, "none of its subnets was matched"));
            }
            let out: Vec<_> = aws
                .ec2
                .describe_route_tables()
                .filters(filter("vpc-id", [vpc.clone()]))
                .filters(filter("association.subnet-id", subnets.clone()))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeRouteTables"))?;
            out.iter()
                .flat_map(|o| o.route_tables())
                .map(|t| {
                    let id = t.route_table_id().unwrap_or_default().to_string();
                    let used: Vec<&str> = t
                        .associations()
                        .iter()
                        .filter_map(|a| a.subnet_id())
                        .filter(|s| subnets.iter().any(|x| x == s))
                        .collect();
                    (
                        id,
                        format!("associated with {}{}", used.join(", "), named(t.tags())),
                    )
                })
                .collect()
        }
        "aws_security_group" => {
            let (Some(vpc), Some(name)) = (str_of("vpc_id")?, str_of("group_name")?) else {
                return Err(unsearchable(req, "its VPC was not matched"));
            };
            let out: Vec<_> = aws
                .ec2
                .describe_security_groups()
                .filters(filter("vpc-id", [vpc.clone()]))
                .filters(filter("group-name", [name.clone()]))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(e("DescribeSecurityGroups"))?;
            out.iter()
                .flat_map(|o| o.security_groups())
                .map(|g| {
                    let id = g.group_id().unwrap_or_default().to_string();
                    (id, format!("group name {name} in {vpc}"))
                })
                .collect()
        }
        "aws_route53_record" => {
            let (Some(zone), Some(name)) = (str_of("zone_name")?, str_of("name")?) else {
                return Err(unsearchable(req, "its name is not known"));
            };
            let zone_id = super::route53::zone_id(aws, &zone).await?;
            let fqdn = super::route53::fqdn(&name, &zone);
            let rtype = str_of("type")?.unwrap_or_else(|| "CNAME".into());
            let id = format!("{zone_id}/{fqdn}/{rtype}");
            vec![(id, format!("{rtype} record {fqdn}"))]
        }
        "aws_kms_key" => {
            let Some(alias) = str_of("alias")? else {
                return Err(unsearchable(req, "it has no alias to look for"));
            };
            let name = if alias.starts_with("alias/") {
                alias.clone()
            } else {
                format!("alias/{alias}")
            };
            match aws.kms.describe_key().key_id(&name).send().await {
                Ok(out) => out
                    .key_metadata()
                    .map(|m| (m.key_id().to_string(), format!("alias {name}")))
                    .into_iter()
                    .collect(),
                Err(err) => match ekms("DescribeKey")(err) {
                    ProviderError::NotFound { .. } => Vec::new(),
                    other => return Err(other),
                },
            }
        }
        "aws_iam_openid_connect_provider" => {
            let Some(url) = str_of("url")? else {
                return Err(unsearchable(req, "its cluster was not matched"));
            };
            let host = url.trim_start_matches("https://").to_string();
            let out = aws
                .iam
                .list_open_id_connect_providers()
                .send()
                .await
                .map_err(eiam("ListOpenIDConnectProviders"))?;
            out.open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn())
                .filter(|arn| arn.ends_with(&format!(":oidc-provider/{host}")))
                .map(|arn| (arn.to_string(), format!("issuer {host}")))
                .collect()
        }
        "aws_efs_mount_target" => {
            let (Some(fs), Some(subnet)) = (str_of("file_system_id")?, str_of("subnet_id")?) else {
                return Err(unsearchable(
                    req,
                    "its file system or subnet was not matched",
                ));
            };
            let out = aws
                .efs
                .describe_mount_targets()
                .file_system_id(&fs)
                .send()
                .await
                .map_err(eefs("DescribeMountTargets"))?;
            out.mount_targets()
                .iter()
                .filter(|m| m.subnet_id() == subnet)
                .map(|m| {
                    let id = m.mount_target_id().to_string();
                    (id, format!("of {fs} in {subnet}"))
                })
                .collect()
        }
        "aws_cognito_user_pool" => {
            let Some(name) = str_of("name")? else {
                return Err(unsearchable(req, "its name is not known"));
            };
            let pages: Vec<_> = aws
                .cognito
                .list_user_pools()
                .max_results(60)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(ecog("ListUserPools"))?;
            pages
                .iter()
                .flat_map(|p| p.user_pools())
                .filter(|p| p.name() == Some(name.as_str()))
                .filter_map(|p| p.id())
                .map(|id| (id.to_string(), format!("name {name}")))
                .collect()
        }
        "aws_cognito_user_pool_client" => {
            let (Some(pool), Some(name)) = (str_of("user_pool_id")?, str_of("name")?) else {
                return Err(unsearchable(req, "its user pool was not matched"));
            };
            let pages: Vec<_> = aws
                .cognito
                .list_user_pool_clients()
                .user_pool_id(&pool)
                .max_results(60)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(ecog("ListUserPoolClients"))?;
            pages
                .iter()
                .flat_map(|p| p.user_pool_clients())
                .filter(|c| c.client_name() == Some(name.as_str()))
                .filter_map(|c| c.client_id())
                .map(|id| (id.to_string(), format!("name {name} in {pool}")))
                .collect()
        }
        // Made at apply time from nothing outside hdh (a wait, a lookup): nothing to adopt.
        "aws_acm_certificate_validation" | "aws_availability_zones" | "aws_caller_identity" => {
            Vec::new()
        }
        _ => {
            return Err(ProviderError::Unsupported {
                message: format!(
                    "{} cannot be searched for yet; give its id (--id '{}=ID')",
                    req.type_name, req.address
                ),
            })
        }
    };
    read_ids(kind, aws, ctx, req, ids).await
}

/// A type's search needs a value that is not known (a reference to what was not matched).
fn unsearchable(req: &ImportRequest, why: &str) -> ProviderError {
    ProviderError::Unsupported {
        message: format!(
            "cannot search for {}: {why}; give its id (--id '{}=ID')",
            req.type_name, req.address
        ),
    }
}

/// ` (Name X)` when the resource has a Name tag.
fn named(tags: &[aws_sdk_ec2::types::Tag]) -> String {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .map(|n| format!(" (Name {n})"))
        .unwrap_or_default()
}

/// Reads each id with the type's own read; those that exist are the candidates.
pub(crate) async fn read_ids(
    kind: &dyn Kind,
    aws: &Clients,
    ctx: &OpContext,
    req: &ImportRequest,
    ids: Vec<(String, String)>,
) -> Answer<Vec<Candidate>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let requests: Vec<ReadRequest> = ids
        .iter()
        .map(|(id, _)| ReadRequest {
            address: req.address.clone(),
            id: id.clone(),
            prior: req.properties.clone(),
        })
        .collect();
    let mut out = Vec::new();
    for (r, (_, how)) in kind.read(aws, ctx, &requests).await.into_iter().zip(ids) {
        match r {
            Ok(Some(observed)) => out.push(Candidate {
                observed,
                matched_by: how,
            }),
            Ok(None) | Err(ProviderError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
