//! `aws_eks_addon`: an EKS add-on (e.g. `aws-ebs-csi-driver`). Version and service-account
//! role change in place; creation and deletion are waited for.

use async_trait::async_trait;
use aws_sdk_eks::types::{Addon as SdkAddon, AddonStatus, ResolveConflicts};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::{btree, hash_map, request_token, sync_tags};
use crate::aws::errors::{absent_if_not_found, eks as e, gone_is_ok};
use crate::aws::wait::{self, Poll, Wait};
use crate::aws::{join_all, tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_eks_addon";

pub(crate) struct Addon;

fn split_id(id: &str) -> Answer<(&str, &str)> {
    id.split_once(':')
        .ok_or_else(|| ProviderError::invalid(format!("add-on id {id:?} is not cluster:name")))
}

fn observe(ctx: &OpContext, x: &SdkAddon, prior: &ValueMap) -> Observed {
    let cluster = x.cluster_name().unwrap_or_default();
    let name = x.addon_name().unwrap_or_default();
    let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
    let mut a = ValueMap::new();
    a.insert("cluster_name".into(), Value::str(cluster));
    a.insert("addon_name".into(), Value::str(name));
    a.insert("addon_version".into(), s(x.addon_version()));
    if prior.contains_key("service_account_role_arn") || x.service_account_role_arn().is_some() {
        a.insert(
            "service_account_role_arn".into(),
            s(x.service_account_role_arn()),
        );
    }
    // Not an add-on property on AWS: the cluster version hdh last moved the add-on for.
    for kept in ["resolve_conflicts", "kubernetes_version"] {
        if let Some(v) = prior.get(kept) {
            a.insert(kept.into(), v.unmarked());
        }
    }
    a.insert("tags".into(), tags::own_view(ctx, &btree(x.tags()), prior));
    a.insert("arn".into(), s(x.addon_arn()));
    Observed {
        id: format!("{cluster}:{name}"),
        attributes: a,
    }
}

async fn describe(aws: &Clients, cluster: &str, name: &str) -> Answer<Option<SdkAddon>> {
    let out = absent_if_not_found(
        aws.eks
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map_err(e("DescribeAddon")),
    )?;
    Ok(out.and_then(|o| o.addon))
}

async fn wait_active(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    cluster: &str,
    name: &str,
    verb: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let w = Wait {
        ctx,
        address,
        verb,
        what: format!("add-on {name} to be ACTIVE"),
        policy: aws.poll,
    };
    w.until(|| async {
        Ok(match describe(aws, cluster, name).await? {
            Some(x) if x.status() == Some(&AddonStatus::Active) => {
                Poll::Ready(observe(ctx, &x, prior))
            }
            Some(x) if x.status() == Some(&AddonStatus::CreateFailed) => {
                return Err(ProviderError::other(format!(
                    "add-on {name} is CREATE_FAILED"
                )))
            }
            Some(x) => Poll::Pending(x.status().map_or("unknown", |s| s.as_str()).to_string()),
            None => Poll::Pending("not yet visible".into()),
        })
    })
    .await
}

async fn update_addon(
    aws: &Clients,
    cluster: &str,
    name: &str,
    version: Option<String>,
    p: &ValueMap,
) -> Answer<()> {
    aws.eks
        .update_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .set_addon_version(version)
        .set_service_account_role_arn(props::string(p, "service_account_role_arn")?)
        .set_resolve_conflicts(resolve(p)?)
        .send()
        .await
        .map(drop)
        .map_err(e("UpdateAddon"))
}

/// EKS's default version of add-on `name` for Kubernetes `k8s` (DescribeAddonVersions).
async fn default_version(aws: &Clients, name: &str, k8s: &str) -> Answer<String> {
    let mut pages = aws
        .eks
        .describe_addon_versions()
        .addon_name(name)
        .kubernetes_version(k8s)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(e("DescribeAddonVersions"))?;
        for version in page.addons().iter().flat_map(|a| a.addon_versions()) {
            let default = version
                .compatibilities()
                .iter()
                .any(|c| c.cluster_version() == Some(k8s) && c.default_version());
            if let (true, Some(v)) = (default, version.addon_version()) {
                return Ok(v.to_string());
            }
        }
    }
    Err(ProviderError::invalid(format!(
        "EKS names no default version of add-on {name} for Kubernetes {k8s}; set `addon_version`"
    )))
}

fn resolve(p: &ValueMap) -> Answer<Option<ResolveConflicts>> {
    Ok(props::string(p, "resolve_conflicts")?.map(|r| ResolveConflicts::from(r.as_str())))
}

#[async_trait]
impl Kind for Addon {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "An EKS add-on, e.g. aws-ebs-csi-driver.",
            vec![
                AttributeSpec::required("cluster_name", ValueType::String).force_new(),
                AttributeSpec::required("addon_name", ValueType::String).force_new(),
                AttributeSpec::optional("addon_version", ValueType::String, None).describe(
                    "Pinned add-on version; unset, the add-on follows `kubernetes_version`.",
                ),
                AttributeSpec::optional("kubernetes_version", ValueType::String, None).describe(
                    "The cluster's Kubernetes version (a reference to the cluster's `version`). \
                     Without `addon_version`, a change moves the add-on to EKS's default version \
                     for the new cluster version, as an upgrade needs.",
                ),
                AttributeSpec::optional("service_account_role_arn", ValueType::String, None),
                AttributeSpec::optional(
                    "resolve_conflicts",
                    ValueType::String,
                    Some(Value::str("OVERWRITE")),
                )
                .describe("NONE, OVERWRITE or PRESERVE (used on create and update)."),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
            ],
        )
        .typically(
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(60)),
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        join_all(requests.iter().map(|r| async move {
            let (cluster, name) = split_id(&r.id)?;
            Ok(describe(aws, cluster, name)
                .await?
                .filter(|x| x.status() != Some(&AddonStatus::Deleting))
                .map(|x| observe(ctx, &x, &r.prior)))
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let cluster = props::required_string(p, "cluster_name")?;
        let name = props::required_string(p, "addon_name")?;
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "creating",
            what: format!("cluster {cluster} to accept add-on {name}"),
            policy: aws.poll,
        };
        w.retrying(wait::dependency, || async {
            aws.eks
                .create_addon()
                .cluster_name(&cluster)
                .addon_name(&name)
                .set_addon_version(props::string(p, "addon_version")?)
                .set_service_account_role_arn(props::string(p, "service_account_role_arn")?)
                .set_resolve_conflicts(resolve(p)?)
                .set_tags(Some(hash_map(&tags)))
                .client_request_token(request_token(&req.token))
                .send()
                .await
                .map(drop)
                .map_err(e("CreateAddon"))
        })
        .await?;
        wait_active(aws, ctx, &req.address, &cluster, &name, "creating", p).await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let (cluster, name) = split_id(&req.id)?;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        let pinned = props::string(p, "addon_version")?;
        let follow = pinned.is_none() && changed("kubernetes_version");
        if changed("addon_version") || changed("service_account_role_arn") || follow {
            let version = match (pinned, props::string(p, "kubernetes_version")?) {
                (Some(v), _) => Some(v),
                (None, Some(k8s)) if follow => Some(default_version(aws, name, &k8s).await?),
                (None, _) => None,
            };
            let running = props::string(&req.prior, "addon_version")?;
            let only_follow = !changed("addon_version") && !changed("service_account_role_arn");
            // When the new cluster version's default is the version it runs, nothing moves.
            let moves = !(only_follow && version.is_some() && version == running);
            if moves {
                update_addon(aws, cluster, name, version, p).await?;
            }
        }
        if changed("tags") {
            let arn = props::required_string(&req.prior, "arn")?;
            sync_tags(aws, &arn, tags::changes(ctx, req)?).await?;
        }
        wait_active(aws, ctx, &req.address, cluster, name, "updating", p).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let (cluster, name) = split_id(&req.id)?;
        gone_is_ok(
            aws.eks
                .delete_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteAddon")),
        )?;
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("add-on {name} to be deleted"),
            policy: aws.poll,
        };
        w.until(|| async {
            Ok(match describe(aws, cluster, name).await? {
                None => Poll::Ready(()),
                Some(x) => Poll::Pending(x.status().map_or("unknown", |s| s.as_str()).to_string()),
            })
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        lookup(aws, ctx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        lookup(aws, ctx, req, None).await
    }

    /// `hdh import`: named by its cluster and name.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        let s = |k: &str| props::string(p, k);
        Ok(s("cluster_name")?
            .zip(s("addon_name")?)
            .map(|(a, b)| format!("{a}:{b}")))
    }
}

/// The add-on `req` names if this stack made it for this address (by the create with
/// `token`, if given), once ACTIVE.
async fn lookup(aws: &Clients, ctx: &OpContext, req: &CreateRequest, token: Option<&str>) -> Found {
    let cluster = props::required_string(&req.properties, "cluster_name")?;
    let name = props::required_string(&req.properties, "addon_name")?;
    let Some(x) = absent_if_not_found(describe(aws, &cluster, &name).await)?.flatten() else {
        return Ok(None);
    };
    if !tags::made_for(&btree(x.tags()), ctx, &req.address, token) {
        return Ok(None);
    }
    // Adopted while still CREATING: ACTIVE before anything that depends on it starts.
    wait_active(
        aws,
        ctx,
        &req.address,
        &cluster,
        &name,
        "creating",
        &req.properties,
    )
    .await
    .map(Some)
}
