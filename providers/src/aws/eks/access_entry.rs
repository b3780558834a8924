//! `aws_eks_access_entry`: lets one IAM role or user into a cluster whose authentication mode
//! includes the EKS API. Kubernetes groups and tags change in place; cluster and principal are
//! fixed. Its policies are `aws_eks_access_policy_association`s, deleted by EKS with the entry.
//!
//! The identity that created the cluster already has an entry (EKS makes it with
//! `bootstrapClusterCreatorAdminPermissions`); a create for that identity answered "in use" adopts
//! it, so the identity running hdh may be listed like anyone else.

use async_trait::async_trait;
use aws_sdk_eks::types::AccessEntry as SdkEntry;
use hdh_engine::provider::{CreateRequest, DeleteRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::kind::EksType;
use super::{btree, hash_map, named, split_id, sync_tags};
use crate::aws::describe::{self, deleted, done};
use crate::aws::errors::{eks as e, sts};
use crate::aws::token::client_token;
use crate::aws::{tags, Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct AccessEntry;

/// The IAM principal hdh runs as, as EKS names it in an entry (an assumed role as its role).
async fn caller_principal(aws: &Clients) -> Answer<String> {
    let call = aws.sts.get_caller_identity();
    let out = call.send().await.map_err(sts("GetCallerIdentity"))?;
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
impl EksType for AccessEntry {
    type Item = SdkEntry;
    const NOUN: &'static str = "access entry";
    const NAME: &'static str = "principal_arn";
    const FAILED: &'static [&'static str] = &[];

    async fn describe(&self, aws: &Clients, id: &str) -> Answer<Option<SdkEntry>> {
        let (cluster, principal) = split_id(id)?;
        let call = aws.eks.describe_access_entry().cluster_name(cluster);
        let call = call.principal_arn(principal).send();
        Ok(describe::found(call, e("DescribeAccessEntry"))
            .await?
            .and_then(|o| o.access_entry))
    }

    fn observe(&self, ctx: &OpContext, x: &SdkEntry, prior: &ValueMap) -> Observed {
        let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
        let principal = x.principal_arn().unwrap_or_default();
        let (id, mut a) = named(
            x.cluster_name().unwrap_or_default(),
            "principal_arn",
            principal,
        );
        a.insert(
            "kubernetes_groups".into(),
            props::str_list(x.kubernetes_groups()),
        );
        a.insert("tags".into(), tags::own_view(ctx, &btree(x.tags()), prior));
        a.insert("arn".into(), s(x.access_entry_arn()));
        a.insert("user_name".into(), s(x.username()));
        Observed { id, attributes: a }
    }

    /// The cluster creator's entry (EKS's, untagged) for the identity running hdh is adopted.
    async fn also_ours(&self, aws: &Clients, x: &SdkEntry, token: Option<&str>) -> Answer<bool> {
        let untagged = !btree(x.tags()).keys().any(|k| k.starts_with("hdh:"));
        Ok(token.is_none()
            && untagged
            && x.principal_arn() == Some(caller_principal(aws).await?.as_str()))
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let call = cx
            .aws
            .eks
            .create_access_entry()
            .cluster_name(props::required_string(p, "cluster_name")?)
            .principal_arn(props::required_string(p, "principal_arn")?)
            .set_kubernetes_groups(Some(props::string_list(p, "kubernetes_groups")?))
            .set_tags(Some(hash_map(&tags)))
            .client_request_token(client_token(&req.token));
        let out = call.send().await.map_err(e("CreateAccessEntry"))?;
        let entry = out
            .access_entry
            .ok_or_else(|| ProviderError::other("CreateAccessEntry: no entry in the answer"))?;
        Ok(EksType::observe(self, cx.op, &entry, p))
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let (cluster, principal) = split_id(&req.id)?;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("kubernetes_groups") {
            let call = cx.aws.eks.update_access_entry().cluster_name(cluster);
            let call = call.principal_arn(principal);
            let groups = props::string_list(p, "kubernetes_groups")?;
            let call = call.set_kubernetes_groups(Some(groups)).send();
            done(call, e("UpdateAccessEntry")).await?;
        }
        if changed("tags") {
            sync_tags(cx, &req.prior, tags::changes(cx.op, req)?).await?;
        }
        describe::one(self, cx, &req.id, p).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let (cluster, principal) = split_id(&req.id)?;
        let call = cx.aws.eks.delete_access_entry().cluster_name(cluster);
        deleted(call.principal_arn(principal).send(), e("DeleteAccessEntry")).await
    }
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
