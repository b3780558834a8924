//! `aws_iam_role`: trust policy, attached managed policies, inline policies. Refresh of roles
//! is one paged GetAccountAuthorizationDetails for every role at once.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::{iam_tags, tag_map};
use crate::aws::errors::{absent_if_not_found, gone_is_ok, iam as e, iam_attach};
use crate::aws::wait::{self, Wait};
use crate::aws::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

/// How long a role just created may stay invisible to IAM's other calls (AWS documents
/// eventual consistency of seconds); a NotFound past this is a real one.
const PROPAGATION: std::time::Duration = std::time::Duration::from_secs(120);

pub(crate) const ROLE: &str = "aws_iam_role";

pub(crate) struct Role;

/// A policy document property (a JSON string or a map) as the JSON text IAM takes.
fn document(v: &Value, name: &str) -> Answer<String> {
    match v.unmarked() {
        Value::String(s) => Ok(s),
        Value::Map(_) | Value::List(_) => Ok(v.to_state_json().0.to_string()),
        other => Err(props::wrong_type(
            name,
            "a policy document (map or JSON string)",
            &other,
        )),
    }
}

/// IAM returns documents URL-encoded.
fn decode(s: &str) -> String {
    if serde_json::from_str::<serde_json::Value>(s).is_ok() {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A document read back: as a map when the user wrote a map, else as text.
fn doc_value(text: &str) -> Value {
    let text = decode(text);
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(j) => Value::from(&j),
        Err(_) => Value::String(text),
    }
}

/// A role as IAM has it.
struct RoleFacts {
    name: String,
    arn: String,
    role_id: String,
    path: String,
    trust: Option<String>,
    managed: Vec<String>,
    inline: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
}

fn role_observed(ctx: &OpContext, f: RoleFacts, prior: &ValueMap) -> Observed {
    let mut a = ValueMap::new();
    a.insert("role_name".into(), Value::str(&f.name));
    a.insert("path".into(), Value::str(&f.path));
    if let Some(t) = &f.trust {
        a.insert("assume_role_policy_document".into(), doc_value(t));
    }
    if let Some(d) = prior.get("description") {
        a.insert("description".into(), d.unmarked());
    }
    a.insert("managed_policy_arns".into(), props::str_list(&f.managed));
    a.insert(
        "inline_policies".into(),
        Value::Map(
            f.inline
                .iter()
                .map(|(k, v)| (k.clone(), doc_value(v)))
                .collect(),
        ),
    );
    a.insert("tags".into(), tags::own_view(ctx, &f.tags, prior));
    a.insert("arn".into(), Value::str(&f.arn));
    a.insert("unique_id".into(), Value::str(&f.role_id));
    Observed {
        id: f.name,
        attributes: a,
    }
}

/// One role read with per-role calls (create, update, adoption).
async fn role_facts(aws: &Clients, name: &str) -> Answer<RoleFacts> {
    let r = aws
        .iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(e("GetRole"))?;
    let role = r
        .role()
        .ok_or_else(|| ProviderError::other("GetRole returned no role"))?;
    let attached: Vec<_> = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(e("ListAttachedRolePolicies"))?;
    let names: Vec<String> = aws
        .iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(e("ListRolePolicies"))?;
    let mut inline = BTreeMap::new();
    for n in names {
        let p = aws
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&n)
            .send()
            .await
            .map_err(e("GetRolePolicy"))?;
        inline.insert(n, p.policy_document().to_string());
    }
    Ok(RoleFacts {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        role_id: role.role_id().to_string(),
        path: role.path().to_string(),
        trust: role.assume_role_policy_document().map(String::from),
        managed: attached
            .iter()
            .filter_map(|p| p.policy_arn().map(String::from))
            .collect(),
        inline,
        tags: tag_map(role.tags()),
    })
}

fn inline_policies(p: &ValueMap) -> Answer<BTreeMap<String, String>> {
    match props::get(p, "inline_policies") {
        None => Ok(BTreeMap::new()),
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), document(v, &format!("inline_policies.{k}"))?)))
            .collect(),
        Some(v) => Err(props::wrong_type(
            "inline_policies",
            "a map of policy documents",
            &v,
        )),
    }
}

/// Attaches/detaches managed policies and puts/deletes inline ones to match `p`.
async fn converge_policies(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    name: &str,
    prior: &ValueMap,
    p: &ValueMap,
) -> Answer<()> {
    let w = Wait {
        ctx,
        address,
        verb: "configuring",
        what: format!("role {name} policies"),
        policy: aws.poll,
    };
    let have: BTreeSet<String> = props::string_list(prior, "managed_policy_arns")?
        .into_iter()
        .collect();
    let want: BTreeSet<String> = props::string_list(p, "managed_policy_arns")?
        .into_iter()
        .collect();
    for arn in want.difference(&have) {
        // NotFound here is the new role propagating (a missing policy is InvalidInput).
        w.retrying_for(PROPAGATION, wait::not_yet_visible, || async {
            aws.iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(iam_attach("AttachRolePolicy"))
        })
        .await?;
    }
    for arn in have.difference(&want) {
        gone_is_ok(
            aws.iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(e("DetachRolePolicy")),
        )?;
    }
    let have_inline = inline_policies(prior)?;
    let want_inline = inline_policies(p)?;
    for (pn, doc) in &want_inline {
        if have_inline.get(pn) == Some(doc) {
            continue;
        }
        w.retrying(wait::not_yet_visible, || async {
            aws.iam
                .put_role_policy()
                .role_name(name)
                .policy_name(pn)
                .policy_document(doc)
                .send()
                .await
                .map(drop)
                .map_err(e("PutRolePolicy"))
        })
        .await?;
    }
    for pn in have_inline.keys().filter(|k| !want_inline.contains_key(*k)) {
        gone_is_ok(
            aws.iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(pn)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteRolePolicy")),
        )?;
    }
    Ok(())
}

#[async_trait]
impl Kind for Role {
    fn schema(&self) -> ResourceType {
        let doc = ValueType::Any;
        ResourceType::new(
            ROLE,
            "An IAM role with its trust policy, attached managed policies and inline policies.",
            vec![
                AttributeSpec::required("role_name", ValueType::String).force_new(),
                AttributeSpec::required("assume_role_policy_document", doc.clone())
                    .describe("Trust policy: a map or a JSON string."),
                AttributeSpec::optional("path", ValueType::String, Some(Value::str("/")))
                    .force_new(),
                AttributeSpec::optional("description", ValueType::String, None),
                AttributeSpec::optional(
                    "managed_policy_arns",
                    ValueType::List(Box::new(ValueType::String)),
                    Some(Value::List(vec![])),
                ),
                AttributeSpec::optional(
                    "inline_policies",
                    ValueType::Map(Box::new(doc)),
                    Some(Value::Map(ValueMap::new())),
                )
                .describe("Inline policies by name."),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("unique_id", ValueType::String),
            ],
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        use aws_sdk_iam::types::EntityType;
        let pages: Result<Vec<_>, _> = aws
            .iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(e("GetAccountAuthorizationDetails"));
        let pages = match pages {
            Ok(p) => p,
            Err(err) => {
                let m = err.to_string();
                return requests
                    .iter()
                    .map(|_| Err(ProviderError::other(m.clone())))
                    .collect();
            }
        };
        let mut by_name: BTreeMap<String, RoleFacts> = BTreeMap::new();
        for d in pages.iter().flat_map(|p| p.role_detail_list()) {
            let Some(name) = d.role_name() else { continue };
            by_name.insert(
                name.to_string(),
                RoleFacts {
                    name: name.to_string(),
                    arn: d.arn().unwrap_or_default().to_string(),
                    role_id: d.role_id().unwrap_or_default().to_string(),
                    path: d.path().unwrap_or("/").to_string(),
                    trust: d.assume_role_policy_document().map(String::from),
                    managed: d
                        .attached_managed_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(String::from))
                        .collect(),
                    inline: d
                        .role_policy_list()
                        .iter()
                        .filter_map(|p| {
                            Some((
                                p.policy_name()?.to_string(),
                                p.policy_document()?.to_string(),
                            ))
                        })
                        .collect(),
                    tags: tag_map(d.tags()),
                },
            );
        }
        let found: Vec<Option<Observed>> = requests
            .iter()
            .map(|r| {
                by_name
                    .remove(&r.id)
                    .map(|f| role_observed(ctx, f, &r.prior))
            })
            .collect();
        // The batched listing has no descriptions: a role whose config sets one is asked for it
        // (GetRole), so a description changed in the console is drift.
        crate::aws::join_all(found.into_iter().zip(requests).map(|(o, r)| async move {
            let Some(mut o) = o else { return Ok(None) };
            if props::string(&r.prior, "description")?.is_none() {
                return Ok(Some(o));
            }
            let Some(got) = absent_if_not_found(
                aws.iam
                    .get_role()
                    .role_name(&o.id)
                    .send()
                    .await
                    .map_err(e("GetRole")),
            )?
            else {
                return Ok(None);
            };
            let d = got.role().and_then(|role| role.description());
            o.attributes
                .insert("description".into(), d.map_or(Value::Null, Value::str));
            Ok(Some(o))
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
        let name = props::required_string(p, "role_name")?;
        let trust = document(
            &props::get(p, "assume_role_policy_document").unwrap_or_default(),
            "assume_role_policy_document",
        )?;
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        inline_policies(p)?;
        let out = aws
            .iam
            .create_role()
            .role_name(&name)
            .path(props::string(p, "path")?.unwrap_or_else(|| "/".into()))
            .assume_role_policy_document(trust)
            .set_description(props::string(p, "description")?)
            .set_tags(Some(iam_tags(&tags)))
            .send()
            .await
            .map_err(e("CreateRole"))?;
        converge_policies(aws, ctx, &req.address, &name, &ValueMap::new(), p).await?;
        // What was just set is what the role is: no re-read on the critical path.
        let role = out
            .role()
            .ok_or_else(|| ProviderError::other("CreateRole returned no role"))?;
        let mut o = Observed {
            id: name.clone(),
            attributes: p.clone(),
        };
        o.attributes.insert("arn".into(), Value::str(role.arn()));
        o.attributes
            .insert("unique_id".into(), Value::str(role.role_id()));
        o.attributes.insert("path".into(), Value::str(role.path()));
        o.attributes
            .entry("tags".into())
            .or_insert_with(|| Value::Map(ValueMap::new()));
        Ok(o)
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let name = &req.id;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("assume_role_policy_document") {
            let trust = document(
                &props::get(p, "assume_role_policy_document").unwrap_or_default(),
                "assume_role_policy_document",
            )?;
            aws.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(trust)
                .send()
                .await
                .map_err(e("UpdateAssumeRolePolicy"))?;
        }
        if changed("description") {
            aws.iam
                .update_role()
                .role_name(name)
                .description(props::string(p, "description")?.unwrap_or_default())
                .send()
                .await
                .map_err(e("UpdateRole"))?;
        }
        converge_policies(aws, ctx, &req.address, name, &req.prior, p).await?;
        if changed("tags") {
            tags::sync(
                tags::changes(ctx, req)?,
                |set| async move {
                    aws.iam
                        .tag_role()
                        .role_name(name)
                        .set_tags(Some(iam_tags(&set)))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("TagRole"))
                },
                |keys| async move {
                    aws.iam
                        .untag_role()
                        .role_name(name)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("UntagRole"))
                },
            )
            .await?;
        }
        Ok(role_observed(ctx, role_facts(aws, name).await?, p))
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let name = &req.id;
        let Some(facts) = absent_if_not_found(role_facts(aws, name).await)? else {
            return Ok(());
        };
        for arn in &facts.managed {
            gone_is_ok(
                aws.iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("DetachRolePolicy")),
            )?;
        }
        for pn in facts.inline.keys() {
            gone_is_ok(
                aws.iam
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(pn)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("DeleteRolePolicy")),
            )?;
        }
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("role {name} to be free"),
            policy: aws.poll,
        };
        w.retrying(wait::dependency, || async {
            gone_is_ok(
                aws.iam
                    .delete_role()
                    .role_name(name)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("DeleteRole")),
            )
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        find_role(aws, ctx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        find_role(aws, ctx, req, None).await
    }

    /// `hdh import`: named by its name.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "role_name")
    }
}

/// The role `req` names if this stack made it for this address (by the create with `token`,
/// if given).
async fn find_role(
    aws: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
    token: Option<&str>,
) -> Found {
    let name = props::required_string(&req.properties, "role_name")?;
    let Some(f) = absent_if_not_found(role_facts(aws, &name).await)? else {
        return Ok(None);
    };
    if !tags::made_for(&f.tags, ctx, &req.address, token) {
        return Ok(None);
    }
    Ok(Some(role_observed(ctx, f, &req.properties)))
}

// -- OIDC provider ---------------------------------------------------------------------------
