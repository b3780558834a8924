//! `aws_efs_file_system`. The create's idempotency token is the file system's `CreationToken`,
//! so a repeated create answers `FileSystemAlreadyExists` and `find_created` finds it by token.
//! Deleting a file system waits out `FileSystemInUse` while its mount targets go.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_efs::types::{BackupPolicy, FileSystemDescription, LifeCycleState, Status, Tag};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use crate::aws::describe::{self, all_failed, done, every_item};
use crate::aws::ec2::lifecycle::{self, delete_when_free};
use crate::aws::errors::{absent_if_not_found, efs as e};
use crate::aws::tags::{self, sync_tags};
use crate::aws::{join_all, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct FileSystem;

fn efs_tags(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// Every file system of the account (one paged call), by id.
async fn all_file_systems(aws: &Clients) -> Answer<BTreeMap<String, FileSystemDescription>> {
    let items: Vec<_> = every_item!(aws.efs.describe_file_systems(), e("DescribeFileSystems"))?;
    Ok(items
        .into_iter()
        .map(|f| (f.file_system_id().to_string(), f))
        .collect())
}

fn fs_observed(ctx: &OpContext, f: &FileSystemDescription, prior: &ValueMap) -> Observed {
    let mut a = ValueMap::new();
    // `backup` is read with its own call (`backup_on`) where it is refreshed.
    for carried in ["backup", "creation_token"] {
        if let Some(v) = prior.get(carried) {
            a.insert(carried.into(), v.unmarked());
        }
    }
    a.insert(
        "encrypted".into(),
        Value::Bool(f.encrypted().unwrap_or(false)),
    );
    a.insert(
        "kms_key_id".into(),
        match (prior.get("kms_key_id").map(Value::unmarked), f.kms_key_id()) {
            (Some(Value::Null) | None, _) => Value::Null,
            (_, k) => k.map_or(Value::Null, Value::str),
        },
    );
    a.insert(
        "performance_mode".into(),
        Value::str(f.performance_mode().as_str()),
    );
    a.insert(
        "throughput_mode".into(),
        Value::str(f.throughput_mode().map_or("bursting", |t| t.as_str())),
    );
    let all: BTreeMap<String, String> = f
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    a.insert("tags".into(), tags::own_view(ctx, &all, prior));
    a.insert(
        "arn".into(),
        Value::str(f.file_system_arn().unwrap_or_default()),
    );
    a.insert(
        "dns_name".into(),
        Value::str(format!(
            "{}.efs.{}.amazonaws.com",
            f.file_system_id(),
            region_of(f.file_system_arn())
        )),
    );
    Observed {
        id: f.file_system_id().to_string(),
        attributes: a,
    }
}

/// `arn:aws:elasticfilesystem:REGION:…` → REGION.
fn region_of(arn: Option<&str>) -> String {
    arn.and_then(|a| a.split(':').nth(3))
        .unwrap_or("us-east-1")
        .to_string()
}

/// The file system `id` once it is `available` (read after create: not visible at first).
async fn wait_fs_available(cx: Cx<'_>, address: &str, id: &str) -> Answer<FileSystemDescription> {
    let w = cx.wait(
        address,
        "creating",
        format!("file system {id} to be available"),
    );
    let state = |f: &FileSystemDescription| f.life_cycle_state().as_str().to_string();
    lifecycle::until_ready(&w, LifeCycleState::Available.as_str(), state, || async {
        let call = cx.aws.efs.describe_file_systems().file_system_id(id);
        let out = describe::found(call.send(), e("DescribeFileSystems")).await?;
        Ok(out.and_then(|o| o.file_systems().first().cloned()))
    })
    .await
}

/// `f` observed with `prior`, its backup setting read (DescribeBackupPolicy).
async fn with_backup(cx: Cx<'_>, f: &FileSystemDescription, prior: &ValueMap) -> Answer<Observed> {
    let mut o = fs_observed(cx.op, f, prior);
    let backup = backup_on(cx.aws, f.file_system_id()).await?;
    o.attributes.insert("backup".into(), Value::Bool(backup));
    Ok(o)
}

/// Whether AWS Backup's daily backups are on (DescribeBackupPolicy). A file system that never
/// had a policy answers PolicyNotFound: off, as AWS treats it. (The file system itself was just
/// listed; one deleted in between is found gone by the next read.)
async fn backup_on(aws: &Clients, id: &str) -> Answer<bool> {
    let got = absent_if_not_found(
        aws.efs
            .describe_backup_policy()
            .file_system_id(id)
            .send()
            .await
            .map_err(e("DescribeBackupPolicy")),
    )?;
    Ok(got
        .and_then(|o| o.backup_policy().map(|p| *p.status() == Status::Enabled))
        .unwrap_or(false))
}

async fn set_backup(aws: &Clients, id: &str, on: bool) -> Answer<()> {
    let policy = BackupPolicy::builder()
        .status(if on {
            Status::Enabled
        } else {
            Status::Disabled
        })
        .build()
        .map_err(|err| ProviderError::other(err.to_string()))?;
    aws.efs
        .put_backup_policy()
        .file_system_id(id)
        .backup_policy(policy)
        .send()
        .await
        .map(drop)
        .map_err(e("PutBackupPolicy"))
}

#[async_trait]
impl Kind for FileSystem {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        let all = match all_file_systems(cx.aws).await {
            Ok(all) => all,
            Err(err) => return all_failed(requests, &err),
        };
        let all = &all;
        join_all(requests.iter().map(|r| async move {
            match all.get(&r.id) {
                Some(f) => with_backup(cx, f, &r.prior).await.map(Some),
                None => Ok(None),
            }
        }))
        .await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let backup = props::boolean(p, "backup")?.unwrap_or(true);
        let created = cx
            .aws
            .efs
            .create_file_system()
            .creation_token(&req.token)
            .encrypted(props::boolean(p, "encrypted")?.unwrap_or(true))
            .set_kms_key_id(props::string(p, "kms_key_id")?)
            .performance_mode(
                props::string(p, "performance_mode")?
                    .unwrap_or_else(|| "generalPurpose".into())
                    .as_str()
                    .into(),
            )
            .throughput_mode(
                props::string(p, "throughput_mode")?
                    .unwrap_or_else(|| "bursting".into())
                    .as_str()
                    .into(),
            )
            .backup(backup)
            .set_tags(Some(efs_tags(&tags)))
            .send()
            .await
            .map_err(e("CreateFileSystem"));
        let id = match created {
            Ok(f) => f.file_system_id,
            // The same token was used before: that create went through.
            Err(ProviderError::Conflict { .. }) => match self.find_created(cx, req).await? {
                Some(o) => o.id,
                None => return Err(ProviderError::other("CreateFileSystem conflicted")),
            },
            Err(err) => return Err(err),
        };
        let f = wait_fs_available(cx, &req.address, &id).await?;
        let mut prior = p.clone();
        prior.insert("creation_token".into(), Value::str(&req.token));
        let mut o = fs_observed(cx.op, &f, &prior);
        o.attributes.insert("backup".into(), Value::Bool(backup));
        Ok(o)
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("backup") {
            set_backup(
                cx.aws,
                &req.id,
                props::boolean(p, "backup")?.unwrap_or(true),
            )
            .await?;
        }
        if changed("throughput_mode") {
            cx.aws
                .efs
                .update_file_system()
                .file_system_id(&req.id)
                .throughput_mode(
                    props::string(p, "throughput_mode")?
                        .unwrap_or_else(|| "bursting".into())
                        .as_str()
                        .into(),
                )
                .send()
                .await
                .map_err(e("UpdateFileSystem"))?;
        }
        if changed("tags") {
            let changes = tags::changes(cx.op, req)?;
            sync_tags!(changes, cx.aws.efs, resource_id(&req.id), efs_tags).await?;
        }
        let f = wait_fs_available(cx, &req.address, &req.id).await?;
        let mut prior = p.clone();
        if let Some(t) = req.prior.get("creation_token") {
            prior.insert("creation_token".into(), t.clone());
        }
        Ok(fs_observed(cx.op, &f, &prior))
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        // Mount targets being deleted still hold the file system: wait them out.
        let what = format!("file system {} to be free of mount targets", req.id);
        delete_when_free(cx, &req.address, what, || {
            let call = cx.aws.efs.delete_file_system().file_system_id(&req.id);
            done(call.send(), e("DeleteFileSystem"))
        })
        .await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let out = cx
            .aws
            .efs
            .describe_file_systems()
            .creation_token(&req.token)
            .send()
            .await
            .map_err(e("DescribeFileSystems"))?;
        let mut prior = req.properties.clone();
        prior.insert("creation_token".into(), Value::str(&req.token));
        let Some(f) = out.file_systems().first() else {
            return Ok(None);
        };
        // Adopted while still creating: available before its mount targets are made.
        let f = match f.life_cycle_state() {
            LifeCycleState::Available => f.clone(),
            _ => wait_fs_available(cx, &req.address, &f.file_system_id).await?,
        };
        with_backup(cx, &f, &prior).await.map(Some)
    }
}
