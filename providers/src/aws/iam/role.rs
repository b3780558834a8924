//! `aws_iam_role`: trust policy, attached managed policies, inline policies. Refresh of roles
//! is one paged GetAccountAuthorizationDetails for every role at once.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::tags::{self as iam_tags, Tagged};
use crate::aws::describe::{self, deleted, done, every_item, every_page};
use crate::aws::errors::{absent_if_not_found, iam as e, iam_attach};
use crate::aws::wait::{self};
use crate::aws::{tags, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

/// How long a role just created may stay invisible to IAM's other calls (AWS documents
/// eventual consistency of seconds); a NotFound past this is a real one.
const PROPAGATION: std::time::Duration = std::time::Duration::from_secs(120);

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
    policies: Policies,
    tags: BTreeMap<String, String>,
}

/// A role's policies: the managed ones attached (by ARN, in IAM's or the config's order) and
/// the inline ones (name → document).
#[derive(Default)]
struct Policies {
    managed: Vec<String>,
    inline: BTreeMap<String, String>,
}

impl Policies {
    /// The policies properties `p` ask for.
    fn asked(p: &ValueMap) -> Answer<Policies> {
        Ok(Policies {
            managed: props::string_list(p, "managed_policy_arns")?,
            inline: inline_policies(p)?,
        })
    }
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
    a.insert(
        "managed_policy_arns".into(),
        props::str_list(&f.policies.managed),
    );
    a.insert(
        "inline_policies".into(),
        Value::Map(
            f.policies
                .inline
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
    let r = aws.iam.get_role().role_name(name).send().await;
    let r = r.map_err(e("GetRole"))?;
    let role = r
        .role()
        .ok_or_else(|| ProviderError::other("GetRole returned no role"))?;
    let attached = aws.iam.list_attached_role_policies().role_name(name);
    let attached: Vec<_> = every_item!(attached, e("ListAttachedRolePolicies"))?;
    let names: Vec<String> = every_item!(
        aws.iam.list_role_policies().role_name(name),
        e("ListRolePolicies")
    )?;
    let mut inline = BTreeMap::new();
    for n in names {
        let call = aws.iam.get_role_policy().role_name(name).policy_name(&n);
        let p = call.send().await.map_err(e("GetRolePolicy"))?;
        inline.insert(n, p.policy_document().to_string());
    }
    Ok(RoleFacts {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        role_id: role.role_id().to_string(),
        path: role.path().to_string(),
        trust: role.assume_role_policy_document().map(String::from),
        policies: Policies {
            managed: attached
                .iter()
                .filter_map(|p| p.policy_arn().map(String::from))
                .collect(),
            inline,
        },
        tags: iam_tags::of(role.tags()),
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

/// Attaches/detaches managed policies and puts/deletes inline ones to go from `have` to `want`.
async fn converge_policies(
    cx: Cx<'_>,
    address: &str,
    name: &str,
    have: Policies,
    want: Policies,
) -> Answer<()> {
    let w = cx.wait(address, "configuring", format!("role {name} policies"));
    let set = |l: &Vec<String>| l.iter().cloned().collect::<BTreeSet<String>>();
    let (have_managed, want_managed) = (set(&have.managed), set(&want.managed));
    for arn in want_managed.difference(&have_managed) {
        // NotFound here is the new role propagating (a missing policy is InvalidInput).
        w.retrying_for(PROPAGATION, wait::not_yet_visible, || async {
            let call = cx
                .aws
                .iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn);
            done(call.send(), iam_attach("AttachRolePolicy")).await
        })
        .await?;
    }
    for arn in have_managed.difference(&want_managed) {
        let call = cx
            .aws
            .iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn);
        deleted(call.send(), e("DetachRolePolicy")).await?;
    }
    for (pn, doc) in &want.inline {
        if have.inline.get(pn) == Some(doc) {
            continue;
        }
        w.retrying(wait::not_yet_visible, || async {
            let call = cx.aws.iam.put_role_policy().role_name(name).policy_name(pn);
            done(call.policy_document(doc).send(), e("PutRolePolicy")).await
        })
        .await?;
    }
    for pn in have.inline.keys().filter(|k| !want.inline.contains_key(*k)) {
        let call = cx
            .aws
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(pn);
        deleted(call.send(), e("DeleteRolePolicy")).await?;
    }
    Ok(())
}

#[async_trait]
impl Kind for Role {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        use aws_sdk_iam::types::EntityType;
        let call = cx.aws.iam.get_account_authorization_details();
        let call = call.filter(EntityType::Role);
        let pages: Result<Vec<_>, _> = every_page!(call, e("GetAccountAuthorizationDetails"));
        let pages = match pages {
            Ok(p) => p,
            Err(err) => {
                return describe::all_failed(requests, &err);
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
                    policies: Policies {
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
                    },
                    tags: iam_tags::of(d.tags()),
                },
            );
        }
        let found: Vec<Option<Observed>> = requests
            .iter()
            .map(|r| {
                by_name
                    .remove(&r.id)
                    .map(|f| role_observed(cx.op, f, &r.prior))
            })
            .collect();
        // The batched listing has no descriptions: a role whose config sets one is asked for it
        // (GetRole), so a description changed in the console is drift.
        crate::aws::join_all(found.into_iter().zip(requests).map(|(o, r)| async move {
            let Some(mut o) = o else { return Ok(None) };
            if props::string(&r.prior, "description")?.is_none() {
                return Ok(Some(o));
            }
            let call = cx.aws.iam.get_role().role_name(&o.id).send();
            let Some(got) = describe::found(call, e("GetRole")).await? else {
                return Ok(None);
            };
            let d = got.role().and_then(|role| role.description());
            o.attributes
                .insert("description".into(), d.map_or(Value::Null, Value::str));
            Ok(Some(o))
        }))
        .await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let name = props::required_string(p, "role_name")?;
        let trust = document(
            &props::get(p, "assume_role_policy_document").unwrap_or_default(),
            "assume_role_policy_document",
        )?;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let want = Policies::asked(p)?;
        let out = cx
            .aws
            .iam
            .create_role()
            .role_name(&name)
            .path(props::string(p, "path")?.unwrap_or_else(|| "/".into()))
            .assume_role_policy_document(trust)
            .set_description(props::string(p, "description")?)
            .set_tags(Some(iam_tags::to_sdk(&tags)))
            .send()
            .await
            .map_err(e("CreateRole"))?;
        let have = Policies::default();
        converge_policies(cx, &req.address, &name, have, want).await?;
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

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let name = &req.id;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("assume_role_policy_document") {
            let trust = document(
                &props::get(p, "assume_role_policy_document").unwrap_or_default(),
                "assume_role_policy_document",
            )?;
            let call = cx.aws.iam.update_assume_role_policy().role_name(name);
            done(
                call.policy_document(trust).send(),
                e("UpdateAssumeRolePolicy"),
            )
            .await?;
        }
        if changed("description") {
            let text = props::string(p, "description")?.unwrap_or_default();
            let call = cx.aws.iam.update_role().role_name(name).description(text);
            done(call.send(), e("UpdateRole")).await?;
        }
        let (have, want) = (Policies::asked(&req.prior)?, Policies::asked(p)?);
        converge_policies(cx, &req.address, name, have, want).await?;
        if changed("tags") {
            iam_tags::sync(cx, req, Tagged::Role(name)).await?;
        }
        Ok(role_observed(cx.op, role_facts(cx.aws, name).await?, p))
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let name = &req.id;
        let Some(facts) = absent_if_not_found(role_facts(cx.aws, name).await)? else {
            return Ok(());
        };
        let none = Policies::default();
        converge_policies(cx, &req.address, name, facts.policies, none).await?;
        let w = cx.wait(&req.address, "deleting", format!("role {name} to be free"));
        w.retrying(wait::dependency, || {
            deleted(
                cx.aws.iam.delete_role().role_name(name).send(),
                e("DeleteRole"),
            )
        })
        .await
    }
    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        find_role(cx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        find_role(cx, req, None).await
    }

    /// `hdh import`: named by its name.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "role_name")
    }
}

/// The role `req` names if this stack made it for this address (by the create with `token`,
/// if given).
async fn find_role(cx: Cx<'_>, req: &CreateRequest, token: Option<&str>) -> Found {
    let name = props::required_string(&req.properties, "role_name")?;
    let Some(f) = absent_if_not_found(role_facts(cx.aws, &name).await)? else {
        return Ok(None);
    };
    if !tags::made_for(&f.tags, cx.op, &req.address, token) {
        return Ok(None);
    }
    Ok(Some(role_observed(cx.op, f, &req.properties)))
}
