//! `aws_eks_addon`: an EKS add-on (e.g. `aws-ebs-csi-driver`). Version and service-account
//! role change in place; creation and deletion are waited for.

use async_trait::async_trait;
use aws_sdk_eks::types::{Addon as SdkAddon, ResolveConflicts};
use hdh_engine::provider::{CreateRequest, DeleteRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::kind::{self, EksType};
use super::{btree, hash_map, named, split_id, sync_tags};
use crate::aws::describe::{self, done};
use crate::aws::errors::eks as e;
use crate::aws::token::client_token;
use crate::aws::wait::{self};
use crate::aws::{tags, Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct Addon;

async fn update_addon(
    aws: &Clients,
    id: &str,
    version: Option<String>,
    p: &ValueMap,
) -> Answer<()> {
    let (cluster, name) = split_id(id)?;
    let call = aws
        .eks
        .update_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .set_addon_version(version)
        .set_service_account_role_arn(props::string(p, "service_account_role_arn")?)
        .set_resolve_conflicts(resolve(p)?);
    done(call.send(), e("UpdateAddon")).await
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
impl EksType for Addon {
    type Item = SdkAddon;
    const NOUN: &'static str = "add-on";
    const NAME: &'static str = "addon_name";
    const FAILED: &'static [&'static str] = &["CREATE_FAILED"];

    async fn describe(&self, aws: &Clients, id: &str) -> Answer<Option<SdkAddon>> {
        let (cluster, name) = split_id(id)?;
        let call = aws
            .eks
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name);
        let out = describe::found(call.send(), e("DescribeAddon")).await?;
        Ok(out.and_then(|o| o.addon))
    }

    fn observe(&self, ctx: &OpContext, x: &SdkAddon, prior: &ValueMap) -> Observed {
        let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
        let name = x.addon_name().unwrap_or_default();
        let (id, mut a) = named(x.cluster_name().unwrap_or_default(), "addon_name", name);
        a.insert("addon_version".into(), s(x.addon_version()));
        if prior.contains_key("service_account_role_arn") || x.service_account_role_arn().is_some()
        {
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
        Observed { id, attributes: a }
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let cluster = props::required_string(p, "cluster_name")?;
        let name = props::required_string(p, "addon_name")?;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let w = cx.wait(
            &req.address,
            "creating",
            format!("cluster {cluster} to accept add-on {name}"),
        );
        w.retrying(wait::dependency, || async {
            let call = cx
                .aws
                .eks
                .create_addon()
                .cluster_name(&cluster)
                .addon_name(&name)
                .set_addon_version(props::string(p, "addon_version")?)
                .set_service_account_role_arn(props::string(p, "service_account_role_arn")?)
                .set_resolve_conflicts(resolve(p)?)
                .set_tags(Some(hash_map(&tags)))
                .client_request_token(client_token(&req.token));
            done(call.send(), e("CreateAddon")).await
        })
        .await?;
        kind::created(self, cx, req).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let (_, name) = split_id(&req.id)?;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        let pinned = props::string(p, "addon_version")?;
        let follow = pinned.is_none() && changed("kubernetes_version");
        if changed("addon_version") || changed("service_account_role_arn") || follow {
            let version = match (pinned, props::string(p, "kubernetes_version")?) {
                (Some(v), _) => Some(v),
                (None, Some(k8s)) if follow => Some(default_version(cx.aws, name, &k8s).await?),
                (None, _) => None,
            };
            let running = props::string(&req.prior, "addon_version")?;
            let only_follow = !changed("addon_version") && !changed("service_account_role_arn");
            // When the new cluster version's default is the version it runs, nothing moves.
            let moves = !(only_follow && version.is_some() && version == running);
            if moves {
                update_addon(cx.aws, &req.id, version, p).await?;
            }
        }
        if changed("tags") {
            sync_tags(cx, &req.prior, tags::changes(cx.op, req)?).await?;
        }
        kind::updated(self, cx, req).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let (cluster, name) = split_id(&req.id)?;
        let call = cx
            .aws
            .eks
            .delete_addon()
            .cluster_name(cluster)
            .addon_name(name);
        let once = || done(call.clone().send(), e("DeleteAddon"));
        kind::delete(self, cx, req, |_| false, once).await
    }
}
