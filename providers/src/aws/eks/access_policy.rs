//! `aws_eks_access_policy_association`: one EKS access policy (cluster-admin, admin, edit,
//! view…) granted to an access entry, cluster-wide or in some namespaces. The scope changes in
//! place (AssociateAccessPolicy again replaces it); another policy is another association.
//!
//! Refresh lists each entry's associations once (paginated) for all the associations of that
//! entry. An association has no tags and no token: it is named by (cluster, principal, policy),
//! and associating the same policy again is what a retried create does, so an interrupted
//! create is found by that name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eks::types::{AccessScope, AccessScopeType, AssociatedAccessPolicy};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use crate::aws::describe::{deleted, every_page};
use crate::aws::errors::{absent_if_not_found, eks as e};
use crate::aws::{join_all, Clients, CloneClass, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct AccessPolicy;

struct Id<'a> {
    cluster: &'a str,
    principal: &'a str,
    policy: &'a str,
}

/// `cluster#principal#policy` (none of them contains `#`).
fn split_id(id: &str) -> Answer<Id<'_>> {
    let mut it = id.splitn(3, '#');
    match (it.next(), it.next(), it.next()) {
        (Some(cluster), Some(principal), Some(policy)) => Ok(Id {
            cluster,
            principal,
            policy,
        }),
        _ => Err(ProviderError::invalid(format!(
            "access policy association id {id:?} is not cluster#principal_arn#policy_arn"
        ))),
    }
}

fn observe(cluster: &str, principal: &str, x: &AssociatedAccessPolicy) -> Observed {
    let policy = x.policy_arn().unwrap_or_default();
    let mut a = ValueMap::new();
    a.insert("cluster_name".into(), Value::str(cluster));
    a.insert("principal_arn".into(), Value::str(principal));
    a.insert("policy_arn".into(), Value::str(policy));
    let scope = x.access_scope();
    a.insert(
        "access_scope_type".into(),
        scope
            .and_then(|s| s.r#type())
            .map_or(Value::Null, |t| Value::str(t.as_str())),
    );
    a.insert(
        "namespaces".into(),
        props::str_list(scope.map(|s| s.namespaces()).unwrap_or_default()),
    );
    Observed {
        id: format!("{cluster}#{principal}#{policy}"),
        attributes: a,
    }
}

/// Every association of one entry; `None` when the entry (or its cluster) is gone.
async fn associations(
    aws: &Clients,
    cluster: &str,
    principal: &str,
) -> Answer<Option<Vec<AssociatedAccessPolicy>>> {
    let call = aws.eks.list_associated_access_policies();
    let call = call.cluster_name(cluster).principal_arn(principal);
    let pages: Result<Vec<_>, _> = every_page!(call, e("ListAssociatedAccessPolicies"));
    Ok(absent_if_not_found(pages)?.map(|pages| {
        pages
            .into_iter()
            .flat_map(|p| p.associated_access_policies.unwrap_or_default())
            .collect()
    }))
}

async fn find(aws: &Clients, cluster: &str, principal: &str, policy: &str) -> Found {
    Ok(associations(aws, cluster, principal)
        .await?
        .unwrap_or_default()
        .iter()
        .find(|x| x.policy_arn() == Some(policy))
        .map(|x| observe(cluster, principal, x)))
}

fn scope(p: &ValueMap) -> Answer<AccessScope> {
    let kind = props::string(p, "access_scope_type")?.unwrap_or_else(|| "cluster".into());
    let namespaces = props::string_list(p, "namespaces")?;
    match kind.as_str() {
        "cluster" if !namespaces.is_empty() => Err(ProviderError::invalid(
            "`namespaces` must be empty when `access_scope_type` is cluster",
        )),
        "namespace" if namespaces.is_empty() => Err(ProviderError::invalid(
            "`access_scope_type: namespace` needs at least one namespace in `namespaces`",
        )),
        "cluster" | "namespace" => Ok(AccessScope::builder()
            .r#type(AccessScopeType::from(kind.as_str()))
            .set_namespaces(Some(namespaces))
            .build()),
        other => Err(ProviderError::invalid(format!(
            "`access_scope_type` must be cluster or namespace, found {other:?}"
        ))),
    }
}

/// AssociateAccessPolicy: grants the policy, or replaces the scope of a granted one.
async fn associate(
    aws: &Clients,
    cluster: &str,
    principal: &str,
    policy: &str,
    p: &ValueMap,
) -> Answer<Observed> {
    let out = aws
        .eks
        .associate_access_policy()
        .cluster_name(cluster)
        .principal_arn(principal)
        .policy_arn(policy)
        .access_scope(scope(p)?)
        .send()
        .await
        .map_err(e("AssociateAccessPolicy"))?;
    let x = out.associated_access_policy.ok_or_else(|| {
        ProviderError::other("AssociateAccessPolicy: no association in the answer")
    })?;
    Ok(observe(cluster, principal, &x))
}

#[async_trait]
impl Kind for AccessPolicy {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        // One listing per entry, shared by that entry's associations.
        let mut entries: BTreeMap<(String, String), ()> = BTreeMap::new();
        let ids: Vec<_> = requests.iter().map(|r| split_id(&r.id)).collect();
        for id in ids.iter().flatten() {
            entries.insert((id.cluster.into(), id.principal.into()), ());
        }
        let keys: Vec<_> = entries.into_keys().collect();
        let listed = join_all(keys.iter().map(|(c, p)| associations(cx.aws, c, p))).await;
        let by_entry: BTreeMap<_, _> = keys.iter().zip(listed).collect();
        ids.into_iter()
            .map(|id| {
                let id = id?;
                let key = (id.cluster.to_string(), id.principal.to_string());
                match by_entry.get(&key) {
                    Some(Ok(list)) => Ok(list.as_ref().and_then(|l| {
                        l.iter()
                            .find(|x| x.policy_arn() == Some(id.policy))
                            .map(|x| observe(id.cluster, id.principal, x))
                    })),
                    Some(Err(err)) => Err(err.clone_class()),
                    None => Ok(None),
                }
            })
            .collect()
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let cluster = props::required_string(p, "cluster_name")?;
        let principal = props::required_string(p, "principal_arn")?;
        let policy = props::required_string(p, "policy_arn")?;
        associate(cx.aws, &cluster, &principal, &policy, p).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let id = split_id(&req.id)?;
        associate(cx.aws, id.cluster, id.principal, id.policy, &req.properties).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let id = split_id(&req.id)?;
        let call = cx
            .aws
            .eks
            .disassociate_access_policy()
            .cluster_name(id.cluster);
        let call = call.principal_arn(id.principal).policy_arn(id.policy);
        deleted(call.send(), e("DisassociateAccessPolicy")).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        let cluster = props::required_string(p, "cluster_name")?;
        let principal = props::required_string(p, "principal_arn")?;
        let policy = props::required_string(p, "policy_arn")?;
        find(cx.aws, &cluster, &principal, &policy).await
    }

    /// `hdh import`: named by its cluster, principal and policy.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        let s = |k: &str| props::string(p, k);
        let entry = s("cluster_name")?.zip(s("principal_arn")?);
        Ok(entry
            .zip(s("policy_arn")?)
            .map(|((c, p), a)| format!("{c}#{p}#{a}")))
    }
}
