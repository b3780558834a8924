//! `aws_kms_key`: a KMS key (EKS secrets encryption) with an optional alias. Deleting schedules
//! the key's deletion after `deletion_window_in_days`; a key pending deletion counts as gone.
//!
//! KMS has no batch describe: refresh is one paged ListAliases plus, per key and concurrently,
//! DescribeKey, GetKeyRotationStatus and ListResourceTags, so rotation turned off or a tag
//! changed in the console shows as drift. `deletion_window_in_days` is a destroy-time setting
//! KMS keeps nowhere while the key is in use: it stays as last applied.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::describe::{self, deleted, done, every_item};
use super::errors::{absent_if_not_found, kms as e};
use super::tags::{self, sync_tags};
use super::{Clients, Cx, Kind};
use crate::aws::import::unsearchable;
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Key;

/// Alias name → target key id.
async fn aliases(aws: &Clients) -> Answer<BTreeMap<String, String>> {
    let items: Vec<_> = every_item!(aws.kms.list_aliases(), e("ListAliases"))?;
    Ok(items
        .into_iter()
        .filter_map(|a| Some((a.alias_name?.to_string(), a.target_key_id?)))
        .collect())
}

/// The key as it is; `None` when gone or pending deletion.
async fn observe(
    cx: Cx<'_>,
    id: &str,
    aliases: &BTreeMap<String, String>,
    prior: &ValueMap,
) -> Found {
    let call = cx.aws.kms.describe_key().key_id(id).send();
    let Some(out) = describe::found(call, e("DescribeKey")).await? else {
        return Ok(None);
    };
    let Some(m) = out.key_metadata() else {
        return Ok(None);
    };
    if matches!(
        m.key_state(),
        Some(KeyState::PendingDeletion) | Some(KeyState::PendingReplicaDeletion)
    ) {
        return Ok(None);
    }
    let mut a = ValueMap::new();
    if let Some(v) = prior.get("deletion_window_in_days") {
        a.insert("deletion_window_in_days".into(), v.unmarked());
    }
    let symmetric = m.key_spec().is_none_or(|k| *k == KeySpec::SymmetricDefault);
    if symmetric {
        // Only symmetric keys rotate (KMS refuses to answer for the others).
        let call = cx.aws.kms.get_key_rotation_status().key_id(id).send();
        let Some(r) = describe::found(call, e("GetKeyRotationStatus")).await? else {
            return Ok(None);
        };
        a.insert(
            "enable_key_rotation".into(),
            Value::Bool(r.key_rotation_enabled()),
        );
    } else if let Some(v) = prior.get("enable_key_rotation") {
        a.insert("enable_key_rotation".into(), v.unmarked());
    }
    let Some(all) = key_tags(cx.aws, id).await? else {
        return Ok(None);
    };
    a.insert("tags".into(), tags::own_view(cx.op, &all, prior));
    a.insert(
        "description".into(),
        Value::str(m.description().unwrap_or_default()),
    );
    a.insert(
        "key_usage".into(),
        Value::str(m.key_usage().map_or("ENCRYPT_DECRYPT", |u| u.as_str())),
    );
    a.insert(
        "key_spec".into(),
        Value::str(m.key_spec().map_or("SYMMETRIC_DEFAULT", |u| u.as_str())),
    );
    let alias = aliases
        .iter()
        .find(|(_, k)| k.as_str() == m.key_id())
        .map(|(n, _)| n.clone());
    a.insert("alias".into(), alias.map_or(Value::Null, Value::String));
    a.insert("arn".into(), Value::str(m.arn().unwrap_or_default()));
    a.insert("key_id".into(), Value::str(m.key_id()));
    Ok(Some(Observed {
        id: m.key_id().to_string(),
        attributes: a,
    }))
}

async fn set_alias(
    aws: &Clients,
    key_id: &str,
    old: Option<String>,
    new: Option<String>,
) -> Answer<()> {
    if old == new {
        return Ok(());
    }
    if let Some(o) = old {
        delete_alias(aws, o).await?;
    }
    if let Some(n) = new {
        let call = aws.kms.create_alias().alias_name(n).target_key_id(key_id);
        done(call.send(), e("CreateAlias")).await?;
    }
    Ok(())
}

async fn delete_alias(aws: &Clients, alias: String) -> Answer<()> {
    let call = aws.kms.delete_alias().alias_name(alias).send();
    deleted(call, e("DeleteAlias")).await
}

async fn set_rotation(aws: &Clients, key_id: &str, on: bool) -> Answer<()> {
    if on {
        let call = aws.kms.enable_key_rotation().key_id(key_id).send();
        done(call, e("EnableKeyRotation")).await
    } else {
        let call = aws.kms.disable_key_rotation().key_id(key_id).send();
        done(call, e("DisableKeyRotation")).await
    }
}

/// hdh's tags as KMS takes them.
fn kms_tags(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect()
}

/// Every tag of the key; `None` when the key is gone.
async fn key_tags(aws: &Clients, id: &str) -> Answer<Option<BTreeMap<String, String>>> {
    let pages = aws.kms.list_resource_tags().key_id(id).into_paginator();
    let pages = describe::found(pages.send().try_collect(), e("ListResourceTags")).await?;
    Ok(pages.map(|pages: Vec<_>| {
        pages
            .iter()
            .flat_map(|p| p.tags())
            .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
            .collect()
    }))
}

async fn one(cx: Cx<'_>, id: &str, p: &ValueMap) -> Answer<Observed> {
    let al = aliases(cx.aws).await?;
    observe(cx, id, &al, p)
        .await?
        .ok_or_else(|| ProviderError::NotFound {
            message: format!("KMS key {id} not found"),
        })
}

fn alias_of(p: &ValueMap) -> Answer<Option<String>> {
    let a = props::string(p, "alias")?;
    if let Some(a) = &a {
        if !a.starts_with("alias/") || a.starts_with("alias/aws/") {
            return Err(ProviderError::invalid(format!(
                "`alias` must start with \"alias/\" (and not \"alias/aws/\"), found {a:?}"
            )));
        }
    }
    Ok(a)
}

#[async_trait]
impl Kind for Key {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        let al = match aliases(cx.aws).await {
            Ok(a) => a,
            Err(err) => return describe::all_failed(requests, &err),
        };
        let reads = requests.iter().map(|r| observe(cx, &r.id, &al, &r.prior));
        super::join_all(reads).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let alias = alias_of(p)?;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let out = cx
            .aws
            .kms
            .create_key()
            .description(props::string(p, "description")?.unwrap_or_default())
            .key_usage(KeyUsageType::from(
                props::string(p, "key_usage")?
                    .unwrap_or_else(|| "ENCRYPT_DECRYPT".into())
                    .as_str(),
            ))
            .key_spec(KeySpec::from(
                props::string(p, "key_spec")?
                    .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into())
                    .as_str(),
            ))
            .set_tags(Some(kms_tags(&tags)))
            .send()
            .await
            .map_err(e("CreateKey"))?;
        let id = out
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .ok_or_else(|| ProviderError::other("CreateKey returned no key"))?;
        if props::boolean(p, "enable_key_rotation")?.unwrap_or(true) {
            set_rotation(cx.aws, &id, true).await?;
        }
        set_alias(cx.aws, &id, None, alias).await?;
        // What was just set is what the key is: no re-read on the critical path.
        let m = out
            .key_metadata()
            .ok_or_else(|| ProviderError::other("CreateKey returned no key"))?;
        let mut a = p.clone();
        a.insert("arn".into(), Value::str(m.arn().unwrap_or_default()));
        a.insert("key_id".into(), Value::str(m.key_id()));
        a.entry("alias".into()).or_insert(Value::Null);
        Ok(Observed { id, attributes: a })
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("description") {
            let text = props::string(p, "description")?.unwrap_or_default();
            let call = cx.aws.kms.update_key_description().key_id(&req.id);
            done(call.description(text).send(), e("UpdateKeyDescription")).await?;
        }
        if changed("enable_key_rotation") {
            let on = props::boolean(p, "enable_key_rotation")?.unwrap_or(true);
            set_rotation(cx.aws, &req.id, on).await?;
        }
        if changed("alias") {
            let old = props::string(&req.prior, "alias")?;
            set_alias(cx.aws, &req.id, old, alias_of(p)?).await?;
        }
        if changed("tags") {
            let changes = tags::changes(cx.op, req)?;
            sync_tags!(changes, cx.aws.kms, key_id(&req.id), kms_tags).await?;
        }
        one(cx, &req.id, p).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        if let Some(a) = props::string(&req.prior, "alias")? {
            delete_alias(cx.aws, a).await?;
        }
        let days = props::int(&req.prior, "deletion_window_in_days")?
            .unwrap_or(30)
            .clamp(7, 30) as i32;
        match cx
            .aws
            .kms
            .schedule_key_deletion()
            .key_id(&req.id)
            .pending_window_in_days(days)
            .send()
            .await
            .map_err(e("ScheduleKeyDeletion"))
        {
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            // Already pending deletion.
            Err(ProviderError::Conflict { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let keys: Vec<_> = every_item!(cx.aws.kms.list_keys(), e("ListKeys"))?;
        for k in keys {
            let Some(id) = k.key_id() else { continue };
            let Some(t) = key_tags(cx.aws, id).await? else {
                continue;
            };
            if tags::made_by(&t, cx.op, &req.address, &req.token) {
                return absent_if_not_found(one(cx, id, &req.properties).await);
            }
        }
        Ok(None)
    }

    /// `hdh import`: the key its alias names.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        let Some(alias) = props::string(&req.properties, "alias")? else {
            return Err(unsearchable(req, "it has no alias to look for"));
        };
        let name = if alias.starts_with("alias/") {
            alias.clone()
        } else {
            format!("alias/{alias}")
        };
        let call = cx.aws.kms.describe_key().key_id(&name).send();
        let found = describe::found(call, e("DescribeKey")).await?;
        Ok(found
            .as_ref()
            .and_then(|out| out.key_metadata())
            .map(|m| (m.key_id().to_string(), format!("alias {name}")))
            .into_iter()
            .collect())
    }
}
