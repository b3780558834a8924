//! Emptying a bucket before it is deleted, which S3 requires: every object version and delete
//! marker (versioned buckets), then any plain object left (unversioned ones), in DeleteObjects
//! batches of at most 1000 keys. Only a `--delete-retained` delete (`purge`) calls this; hdh
//! never empties a bucket of user data by itself.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use hdh_engine::ProviderError;

use super::errors::s3 as e;
use super::{Clients, Cx};
use crate::Answer;

/// DeleteObjects takes at most this many keys.
const BATCH: usize = 1000;

fn build_err(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::other(err.to_string())
}

/// Deletes every object version, delete marker and object in `bucket`; reports how many.
pub(crate) async fn empty(cx: Cx<'_>, address: &str, bucket: &str) -> Answer<usize> {
    let mut ids = Vec::new();
    // The SDK has no paginator for ListObjectVersions: follow its two markers by hand.
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = cx
            .aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(e("ListObjectVersions"))?;
        for v in page.versions() {
            if let Some(key) = v.key() {
                ids.push(identifier(key, v.version_id())?);
            }
        }
        for m in page.delete_markers() {
            if let Some(key) = m.key() {
                ids.push(identifier(key, m.version_id())?);
            }
        }
        if page.is_truncated() != Some(true) || page.next_key_marker().is_none() {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    let mut deleted = delete_all(cx.aws, bucket, std::mem::take(&mut ids)).await?;
    // An unversioned bucket (or objects written meanwhile) may still hold plain objects.
    let mut objects = cx
        .aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send();
    while let Some(page) = objects.next().await {
        let page = page.map_err(e("ListObjectsV2"))?;
        for o in page.contents() {
            if let Some(key) = o.key() {
                ids.push(identifier(key, None)?);
            }
        }
    }
    deleted += delete_all(cx.aws, bucket, ids).await?;
    if deleted > 0 {
        cx.op.report(
            address,
            &format!("deleted {deleted} object versions and delete markers from bucket {bucket}"),
        );
    }
    Ok(deleted)
}

fn identifier(key: &str, version: Option<&str>) -> Answer<ObjectIdentifier> {
    ObjectIdentifier::builder()
        .key(key)
        .set_version_id(version.filter(|v| *v != "null").map(str::to_string))
        .build()
        .map_err(build_err)
}

/// DeleteObjects in batches; a key S3 could not delete fails the whole call, naming it.
async fn delete_all(aws: &Clients, bucket: &str, ids: Vec<ObjectIdentifier>) -> Answer<usize> {
    let mut deleted = 0;
    for batch in ids.chunks(BATCH) {
        let out = aws
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(batch.to_vec()))
                    .quiet(true)
                    .build()
                    .map_err(build_err)?,
            )
            .send()
            .await
            .map_err(e("DeleteObjects"))?;
        if let Some(err) = out.errors().first() {
            return Err(ProviderError::other(format!(
                "DeleteObjects: bucket {bucket}: {} of {} keys not deleted, e.g. {} ({}): {}",
                out.errors().len(),
                batch.len(),
                err.key().unwrap_or("?"),
                err.code().unwrap_or("?"),
                err.message().unwrap_or("(no message)")
            )));
        }
        deleted += batch.len();
    }
    Ok(deleted)
}
