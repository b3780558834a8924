//! `aws_s3_bucket`: the shared bucket, always encrypted (SSE-S3, or SSE-KMS with a key),
//! optionally versioned, with every public access blocked by default.
//!
//! S3 has no batch read: refresh is one HeadBucket plus the versioning, encryption and
//! public-access-block reads per bucket, run concurrently. Bucket names are global, so an
//! interrupted create is found by name and the `hdh:` tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::describe::{self, done};
use super::errors::s3 as e;
use super::wait::{self};
use super::{tags, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Bucket;

fn build_err(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::other(err.to_string())
}

async fn bucket_tags(aws: &Clients, name: &str) -> Answer<BTreeMap<String, String>> {
    let call = aws.s3.get_bucket_tagging().bucket(name).send();
    Ok(describe::found(call, e("GetBucketTagging"))
        .await?
        .map(|o| {
            o.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

/// Whether the bucket exists (HeadBucket; not found is `false`).
async fn exists(aws: &Clients, name: &str) -> Answer<bool> {
    let call = aws.s3.head_bucket().bucket(name).send();
    Ok(describe::found(call, e("HeadBucket")).await?.is_some())
}

/// The bucket as it is; `None` when it does not exist.
async fn observe(cx: Cx<'_>, name: &str, prior: &ValueMap) -> Found {
    if !exists(cx.aws, name).await? {
        return Ok(None);
    }
    let call = cx.aws.s3.get_bucket_versioning().bucket(name).send();
    let versioning = call.await.map_err(e("GetBucketVersioning"))?;
    let call = cx.aws.s3.get_bucket_encryption().bucket(name).send();
    let enc = describe::found(call, e("GetBucketEncryption")).await?;
    let rule = enc.as_ref().and_then(|o| {
        o.server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .cloned()
    });
    let call = cx.aws.s3.get_public_access_block().bucket(name).send();
    let pab = describe::found(call, e("GetPublicAccessBlock")).await?;
    let blocked = pab
        .as_ref()
        .and_then(|o| o.public_access_block_configuration())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    let mut a = ValueMap::new();
    a.insert("bucket".into(), Value::str(name));
    a.insert(
        "versioning".into(),
        Value::Bool(versioning.status() == Some(&BucketVersioningStatus::Enabled)),
    );
    a.insert(
        "kms_key_id".into(),
        match &rule {
            Some(r) if r.sse_algorithm() == &ServerSideEncryption::AwsKms => {
                // Reported in the user's spelling when it is the same key.
                match (props::string(prior, "kms_key_id")?, r.kms_master_key_id()) {
                    (Some(p), _) => Value::String(p),
                    (None, Some(k)) => Value::str(k),
                    (None, None) => Value::Null,
                }
            }
            _ => Value::Null,
        },
    );
    a.insert("encrypted".into(), Value::Bool(rule.is_some()));
    a.insert("block_public_access".into(), Value::Bool(blocked));
    let all = bucket_tags(cx.aws, name).await?;
    a.insert("tags".into(), tags::own_view(cx.op, &all, prior));
    a.insert("arn".into(), Value::str(format!("arn:aws:s3:::{name}")));
    a.insert(
        "regional_domain_name".into(),
        Value::str(format!("{name}.s3.{}.amazonaws.com", cx.aws.region)),
    );
    Ok(Some(Observed {
        id: name.to_string(),
        attributes: a,
    }))
}

async fn put_encryption(aws: &Clients, name: &str, kms: Option<String>) -> Answer<()> {
    let by_default = match kms {
        Some(k) => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(k),
        None => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
    }
    .build()
    .map_err(build_err)?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        )
        .build()
        .map_err(build_err)?;
    let call = aws.s3.put_bucket_encryption().bucket(name);
    let call = call.server_side_encryption_configuration(config);
    done(call.send(), e("PutBucketEncryption")).await
}

async fn put_versioning(aws: &Clients, name: &str, on: bool) -> Answer<()> {
    let status = if on {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    let config = VersioningConfiguration::builder().status(status).build();
    let call = aws.s3.put_bucket_versioning().bucket(name);
    done(
        call.versioning_configuration(config).send(),
        e("PutBucketVersioning"),
    )
    .await
}

async fn put_public_access_block(aws: &Clients, name: &str, on: bool) -> Answer<()> {
    if !on {
        let call = aws.s3.delete_public_access_block().bucket(name).send();
        return describe::deleted(call, e("DeletePublicAccessBlock")).await;
    }
    let config = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .block_public_policy(true)
        .ignore_public_acls(true)
        .restrict_public_buckets(true)
        .build();
    let call = aws.s3.put_public_access_block().bucket(name);
    let call = call.public_access_block_configuration(config);
    done(call.send(), e("PutPublicAccessBlock")).await
}

async fn put_tags(aws: &Clients, name: &str, t: &BTreeMap<String, String>) -> Answer<()> {
    let set = t
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(build_err)?;
    let call = aws.s3.put_bucket_tagging().bucket(name).tagging(tagging);
    done(call.send(), e("PutBucketTagging")).await
}

/// Whether a bucket name can be created, or taken as this stack's.
enum Claim {
    /// No such bucket (in any account this one can see).
    Free,
    /// It exists and this stack made it for this address: tagged so, or empty and untagged (a
    /// run stopped between CreateBucket and tagging it; an empty bucket holds nothing to lose).
    Ours,
    /// It exists and is someone else's: the message says why it is not taken.
    Refused(String),
}

async fn claim(cx: Cx<'_>, address: &str, name: &str) -> Answer<Claim> {
    if !exists(cx.aws, name).await? {
        return Ok(Claim::Free);
    }
    let all = bucket_tags(cx.aws, name).await?;
    if tags::made_for(&all, cx.op, address, None) {
        return Ok(Claim::Ours);
    }
    if let Some(other) = all.get(tags::ADDRESS_TAG) {
        let stack = all.get(tags::STACK_TAG).map(String::as_str).unwrap_or("?");
        return Ok(Claim::Refused(format!(
            "bucket {name} already exists and belongs to {other} of stack {stack}; choose \
             another name"
        )));
    }
    if !all.is_empty() {
        return Ok(Claim::Refused(format!(
            "bucket {name} already exists in this account and was not made by hdh; choose \
             another name"
        )));
    }
    let call = cx
        .aws
        .s3
        .list_object_versions()
        .bucket(name)
        .max_keys(1)
        .send();
    let objects = call.await.map_err(e("ListObjectVersions"))?;
    if !objects.versions().is_empty() || !objects.delete_markers().is_empty() {
        return Ok(Claim::Refused(format!(
            "bucket {name} already exists in this account, holds objects and was not made by \
             hdh; choose another name"
        )));
    }
    Ok(Claim::Ours)
}

#[async_trait]
impl Kind for Bucket {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| observe(cx, &r.id, &r.prior))).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let name = props::required_string(p, "bucket")?;
        let mut create = cx.aws.s3.create_bucket().bucket(&name);
        if cx.aws.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(cx.aws.region.as_str()))
                    .build(),
            );
        }
        // S3 answers a second CreateBucket of a bucket this account owns with 200 OK in
        // us-east-1 (and BucketAlreadyOwnedByYou elsewhere), so the create alone cannot tell a
        // bucket of the user's from one an interrupted run made: look first.
        let exists = match claim(cx, &req.address, &name).await? {
            Claim::Free => match create.send().await.map_err(e("CreateBucket")) {
                Ok(_) => false,
                // made between the look and the create: judged like one found by the look
                Err(ProviderError::Conflict { message }) => {
                    match claim(cx, &req.address, &name).await? {
                        Claim::Ours => true,
                        Claim::Free | Claim::Refused(_) => {
                            return Err(ProviderError::Conflict { message })
                        }
                    }
                }
                Err(err) => return Err(err),
            },
            Claim::Ours => true,
            Claim::Refused(message) => return Err(ProviderError::Conflict { message }),
        };
        if exists {
            cx.op.report(
                &req.address,
                &format!("adopting bucket {name}, made by this stack before"),
            );
        }
        put_tags(
            cx.aws,
            &name,
            &tags::for_create(cx.op, &req.address, &req.token, p)?,
        )
        .await?;
        put_encryption(cx.aws, &name, props::string(p, "kms_key_id")?).await?;
        if props::boolean(p, "versioning")?.unwrap_or(true) {
            put_versioning(cx.aws, &name, true).await?;
        }
        put_public_access_block(
            cx.aws,
            &name,
            props::boolean(p, "block_public_access")?.unwrap_or(true),
        )
        .await?;
        // What was just set is what the bucket is.
        let mut a = p.clone();
        a.insert("encrypted".into(), Value::Bool(true));
        a.entry("kms_key_id".into()).or_insert(Value::Null);
        a.insert("arn".into(), Value::str(format!("arn:aws:s3:::{name}")));
        a.insert(
            "regional_domain_name".into(),
            Value::str(format!("{name}.s3.{}.amazonaws.com", cx.aws.region)),
        );
        Ok(Observed {
            id: name,
            attributes: a,
        })
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        let on = |k: &str| -> Answer<bool> { Ok(props::boolean(p, k)?.unwrap_or(true)) };
        if changed("kms_key_id") {
            put_encryption(cx.aws, &req.id, props::string(p, "kms_key_id")?).await?;
        }
        if changed("versioning") {
            put_versioning(cx.aws, &req.id, on("versioning")?).await?;
        }
        if changed("block_public_access") {
            put_public_access_block(cx.aws, &req.id, on("block_public_access")?).await?;
        }
        if changed("tags") {
            let mut all = bucket_tags(cx.aws, &req.id).await?;
            let ch = tags::changes(cx.op, req)?;
            for k in &ch.remove {
                all.remove(k);
            }
            all.extend(ch.set);
            put_tags(cx.aws, &req.id, &all).await?;
        }
        observe(cx, &req.id, p)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("bucket {} is gone", req.id),
            })
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        // `--delete-retained`: the user asked for the data to go too.
        if req.purge {
            super::s3_empty::empty(cx, &req.address, &req.id).await?;
        }
        // Otherwise a bucket with objects is refused (BucketNotEmpty) until the deadline: hdh
        // never empties a bucket of user data by itself.
        cx.wait(
            &req.address,
            "deleting",
            format!(
                "bucket {} to be empty: it still holds objects, and hdh deletes them only when \
                 told to (`hdh destroy --delete-retained` deletes the bucket's objects too)",
                req.id
            ),
        )
        .retrying(wait::dependency, || {
            done(
                cx.aws.s3.delete_bucket().bucket(&req.id).send(),
                e("DeleteBucket"),
            )
        })
        .await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let name = props::required_string(&req.properties, "bucket")?;
        let t = bucket_tags(cx.aws, &name).await?;
        if !tags::made_for(&t, cx.op, &req.address, None) {
            return Ok(None);
        }
        observe(cx, &name, &req.properties).await
    }

    /// `hdh import`: named by its name.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "bucket")
    }
}
