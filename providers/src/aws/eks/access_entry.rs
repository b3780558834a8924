//! `aws_eks_access_entry`: lets one IAM role or user into a cluster whose authentication mode
//! includes the EKS API. Kubernetes groups and tags change in place; cluster and principal are
//! fixed. Its policies are `aws_eks_access_policy_association`s, deleted by EKS with the entry.
//!
//! The identity that created the cluster already has an entry (EKS makes it with
//! `bootstrapClusterCreatorAdminPermissions`); a create for that identity answered "in use" adopts
//! it, so the identity running hdh may be listed like anyone else.

use async_trait::async_trait;
use aws_sdk_eks::types::AccessEntry as SdkEntry;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::{btree, hash_map, request_token, sync_tags};
use crate::aws::errors::{absent_if_not_found, eks as e, gone_is_ok, sts};
use crate::aws::{join_all, tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_eks_access_entry";

pub(crate) struct AccessEntry;

/// `cluster:principal` (cluster names have no `:`).
pub(crate) fn split_id(id: &str) -> Answer<(&str, &str)> {
    id.split_once(':').ok_or_else(|| {
        ProviderError::invalid(format!(
            "access entry id {id:?} is not cluster:principal_arn"
        ))
    })
}

fn observe(ctx: &OpContext, x: &SdkEntry, prior: &ValueMap) -> Observed {
    let cluster = x.cluster_name().unwrap_or_default();
    let principal = x.principal_arn().unwrap_or_default();
    let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
    let mut a = ValueMap::new();
    a.insert("cluster_name".into(), Value::str(cluster));
    a.insert("principal_arn".into(), Value::str(principal));
    a.insert(
        "kubernetes_groups".into(),
        props::str_list(x.kubernetes_groups()),
    );
    a.insert("tags".into(), tags::own_view(ctx, &btree(x.tags()), prior));
    a.insert("arn".into(), s(x.access_entry_arn()));
    a.insert("user_name".into(), s(x.username()));
    Observed {
        id: format!("{cluster}:{principal}"),
        attributes: a,
    }
}

pub(crate) async fn describe(
    aws: &Clients,
    cluster: &str,
    principal: &str,
) -> Answer<Option<SdkEntry>> {
    let out = absent_if_not_found(
        aws.eks
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map_err(e("DescribeAccessEntry")),
    )?;
    Ok(out.and_then(|o| o.access_entry))
}

/// The IAM principal hdh runs as, as EKS names it in an entry (an assumed role as its role).
async fn caller_principal(aws: &Clients) -> Answer<String> {
    let out = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(sts("GetCallerIdentity"))?;
    Ok(principal_of(out.arn().unwrap_or_default()))
}

/// `arn:aws:sts::1:assumed-role/R/session` → `arn:aws:iam::1:role/R`; an IAM user's ARN as it is.
pub(crate) fn principal_of(caller_arn: &str) -> String {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if let [arn, partition, "sts", _, account, rest] = parts.as_slice() {
        if let Some(role) = rest.strip_prefix("assumed-role/") {
            let role = role.split('/').next().unwrap_or_default();
            return format!("{arn}:{partition}:iam::{account}:role/{role}");
        }
        return format!("{arn}:{partition}:iam::{account}:{rest}");
    }
    caller_arn.to_string()
}

#[async_trait]
impl Kind for AccessEntry {
    fn schema(&self) -> ResourceType {
        let strings = || ValueType::List(Box::new(ValueType::String));
        ResourceType::new(
            TYPE,
            "An EKS access entry: an IAM role or user allowed into the cluster.",
            vec![
                AttributeSpec::required("cluster_name", ValueType::String).force_new(),
                AttributeSpec::required("principal_arn", ValueType::String)
                    .force_new()
                    .describe("The IAM role or user ARN (arn:aws:iam::<account>:role/<name>)."),
                AttributeSpec::optional("kubernetes_groups", strings(), Some(Value::List(vec![])))
                    .describe(
                        "Kubernetes groups the principal is in (for your own RBAC bindings).",
                    ),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("user_name", ValueType::String),
            ],
        )
        .typically(
            Some(Duration::from_secs(2)),
            Some(Duration::from_secs(2)),
            Some(Duration::from_secs(2)),
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        join_all(requests.iter().map(|r| async move {
            let (cluster, principal) = split_id(&r.id)?;
            Ok(describe(aws, cluster, principal)
                .await?
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
        let principal = props::required_string(p, "principal_arn")?;
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        let out = aws
            .eks
            .create_access_entry()
            .cluster_name(&cluster)
            .principal_arn(&principal)
            .set_kubernetes_groups(Some(props::string_list(p, "kubernetes_groups")?))
            .set_tags(Some(hash_map(&tags)))
            .client_request_token(request_token(&req.token))
            .send()
            .await
            .map_err(e("CreateAccessEntry"))?;
        let entry = out
            .access_entry
            .ok_or_else(|| ProviderError::other("CreateAccessEntry: no entry in the answer"))?;
        Ok(observe(ctx, &entry, p))
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let (cluster, principal) = split_id(&req.id)?;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("kubernetes_groups") {
            aws.eks
                .update_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal)
                .set_kubernetes_groups(Some(props::string_list(p, "kubernetes_groups")?))
                .send()
                .await
                .map_err(e("UpdateAccessEntry"))?;
        }
        if changed("tags") {
            let arn = props::required_string(&req.prior, "arn")?;
            sync_tags(aws, &arn, tags::changes(ctx, req)?).await?;
        }
        describe(aws, cluster, principal)
            .await?
            .map(|x| observe(ctx, &x, p))
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("access entry {principal} in cluster {cluster} is gone"),
            })
    }

    async fn delete(&self, aws: &Clients, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let (cluster, principal) = split_id(&req.id)?;
        gone_is_ok(
            aws.eks
                .delete_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteAccessEntry")),
        )
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let Some(x) = existing(aws, req).await? else {
            return Ok(None);
        };
        Ok(
            tags::made_for(&btree(x.tags()), ctx, &req.address, Some(&req.token))
                .then(|| observe(ctx, &x, &req.properties)),
        )
    }

    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let Some(x) = existing(aws, req).await? else {
            return Ok(None);
        };
        let tags = btree(x.tags());
        let ours = tags::made_for(&tags, ctx, &req.address, None);
        // The cluster creator's entry (EKS's, untagged) for the identity running hdh.
        let creators = !tags.keys().any(|k| k.starts_with("hdh:"))
            && x.principal_arn() == Some(caller_principal(aws).await?.as_str());
        Ok((ours || creators).then(|| observe(ctx, &x, &req.properties)))
    }

    /// `hdh import`: named by its cluster and principal.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        let s = |k: &str| props::string(p, k);
        Ok(s("cluster_name")?
            .zip(s("principal_arn")?)
            .map(|(a, b)| format!("{a}:{b}")))
    }
}

/// The entry `req` names, if there is one.
async fn existing(aws: &Clients, req: &CreateRequest) -> Answer<Option<SdkEntry>> {
    let cluster = props::required_string(&req.properties, "cluster_name")?;
    let principal = props::required_string(&req.properties, "principal_arn")?;
    absent_if_not_found(describe(aws, &cluster, &principal).await).map(Option::flatten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_role_is_named_by_its_role() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/hdh-apply/GitHubActions"),
            "arn:aws:iam::123456789012:role/hdh-apply"
        );
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/alice"),
            "arn:aws:iam::123456789012:user/alice"
        );
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:user/moto"),
            "arn:aws:iam::123456789012:user/moto"
        );
    }
}
