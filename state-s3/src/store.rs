//! The S3 state backend: the state is one object (`s3://bucket/key`, the same versioned JSON as
//! the local file), locked by a second object `<key>.lock`. Teams share a stack through it, so
//! every write is conditional and nothing is ever overwritten blind.
//!
//! Invariants:
//! - The lock is created with `If-None-Match: *`: of any number of concurrent takers exactly
//!   one succeeds; the others read it and learn who holds it. It is removed only by a caller
//!   presenting its id, with `If-Match` on the ETag that was read, so a lock that changed hands
//!   in between is never removed.
//! - The state is written with `If-Match` on the ETag this store last read or wrote (the first
//!   write with `If-None-Match: *`): a write that lost a race fails with
//!   [`StoreError::Conflict`] and the object stays as the winner wrote it.
//! - Lineage never changes and serial only goes up; a stored state of another lineage is
//!   never written over.
//! - Before each whole write the stored object is copied to `<key>.backup` (with its lineage
//!   and serial as object metadata): the history this stack last recorded. `load` refuses a
//!   state of another lineage than the backup's, a serial older than the backup's, or no state
//!   beside a backup, unless told to accept the change (`--allow-lineage-change`); the backup
//!   of a history accepted away is kept as `<key>.backup.<lineage>`.
//! - Every write (state and lock) asks for SSE-KMS, with the configured key or the AWS-managed
//!   one.
//! - Every S3 call has the SDK's retries and a deadline (connect, attempt and operation
//!   timeouts); the lock retries a vanished or contended lock a bounded number of times with
//!   backoff.
//! - Between whole writes, each group commit of a run is one journal object under
//!   `<key>.journal/` (see [`crate::journal`]), created with `If-None-Match: *` so a serial
//!   is never written twice; `load` returns the state object with its journal replayed, so
//!   every reader sees one state. The state object is rewritten whole (compacted) on the first
//!   write of a process, at most every [`COMPACT_EVERY`] during a run and by `save`; after each
//!   whole write the journal objects it contains are deleted. Only the lock holder writes or
//!   deletes journal objects.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, Delete, ObjectIdentifier, ServerSideEncryption};
use aws_sdk_s3::Client;
use hdh_engine::state::{rfc3339, Changes};
use hdh_engine::{LockInfo, State, StateStore, StoreError};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::error::{classify, Class, S3Error};
use crate::journal::{self, Listed, Problem};
use hdh_state::format;
use hdh_state::history::History;

/// The longest a run appends journal objects before the state object is rewritten whole.
pub const COMPACT_EVERY: Duration = Duration::from_secs(10);

/// How long the executor may wait for more of its running calls to finish before a write, so
/// one journal object carries the results of calls that finish together (see
/// [`StateStore::batch_window`]).
const BATCH_WINDOW: Duration = Duration::from_millis(30);

/// How often `load` reads again when the state object changed while its journal was read.
const LOAD_ATTEMPTS: u32 = 3;

/// Object metadata naming the lineage and serial of a stored state (kept by a copy).
const META_LINEAGE: &str = "hdh-lineage";
const META_SERIAL: &str = "hdh-serial";

/// The most keys one DeleteObjects call takes.
const DELETE_BATCH: usize = 1000;

/// How often `lock` tries when the lock vanished between failing to take it and reading it, or
/// S3 reported a concurrent conditional write.
const LOCK_ATTEMPTS: u32 = 5;
/// First pause between those tries; doubles each time.
const LOCK_RETRY_BASE: Duration = Duration::from_millis(50);

/// Deadlines of every S3 call the backend makes (on top of the SDK's standard retries).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(90);

/// Where the state lives in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub key: String,
    pub region: String,
    /// KMS key for SSE-KMS; `None` uses the AWS-managed key (`aws/s3`).
    pub kms_key_id: Option<String>,
}

/// Whether the bucket keeps old versions of the state object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    Enabled,
    Suspended,
    NeverEnabled,
}

impl std::fmt::Display for Versioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Versioning::Enabled => "enabled",
            Versioning::Suspended => "suspended",
            Versioning::NeverEnabled => "not enabled",
        })
    }
}

/// How the state object is encrypted, as HeadObject reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub etag: String,
    pub size: i64,
    /// `aws:kms`, `AES256`, …
    pub server_side_encryption: Option<String>,
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Neither loaded nor saved yet: `save` reads the object and checks against it.
    Nothing,
    /// Loaded and there was no object.
    Absent,
    Present {
        lineage: String,
        serial: u64,
        etag: String,
    },
}

/// The precondition of a write.
enum Condition {
    /// `If-None-Match: *`: only if there is no object.
    Absent,
    /// `If-Match: <etag>`: only if the object is still this one.
    Matches(String),
}

/// State kept in an S3 object, locked by a sibling object.
pub struct S3Store {
    settings: S3Settings,
    lock_key: String,
    /// A configuration given by the caller (tests); otherwise the standard chain is loaded on
    /// first use, so building a store touches no network.
    config: Option<SdkConfig>,
    client: OnceCell<Client>,
    seen: Mutex<Seen>,
    /// `<key>.journal/`.
    journal_prefix: String,
    /// When this process last wrote the state object whole; `None`: the next append compacts.
    compacted_at: Mutex<Option<Instant>>,
    /// The serial of the state object this process last wrote whole: what its journal
    /// objects continue.
    base_serial: AtomicU64,
    /// Journal objects `load` found already contained in the state object (a compaction
    /// stopped before deleting them); `unlock` deletes them if no write did.
    stale: Mutex<Vec<String>>,
    /// `load` replayed journal objects the state object lacks, and nothing was written since.
    unfolded_journal: AtomicBool,
    /// `<key>.backup`.
    backup_key: String,
    /// Whether `load` may accept a break in the recorded history, and the one it accepted.
    history: History,
}

/// What one read of the state object and its journal found.
enum Loaded {
    State(Option<State>),
    /// The state object changed while its journal was read: read again.
    Raced,
}

/// An S3 client for `config`: path-style addressing when an endpoint override is set
/// (`AWS_ENDPOINT_URL`, an emulator), and hdh's deadlines.
pub fn client_for(config: &SdkConfig) -> Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .build();
    Client::from_conf(s3)
}

impl S3Store {
    /// A store that loads AWS settings from the standard chain (environment, profile, SSO,
    /// instance role) on first use, in `settings.region`.
    pub fn new(settings: S3Settings) -> Self {
        Self::build(settings, None)
    }

    /// A store using `config` as given (its region, credentials and endpoint).
    pub fn with_config(settings: S3Settings, config: SdkConfig) -> Self {
        Self::build(settings, Some(config))
    }

    /// A store that talks to S3 through `client` as given (its interceptors, endpoint and
    /// deadlines are the caller's).
    pub fn with_client(settings: S3Settings, client: Client) -> Self {
        let store = Self::build(settings, None);
        // A new cell: setting it cannot fail.
        let _ = store.client.set(client);
        store
    }

    fn build(settings: S3Settings, config: Option<SdkConfig>) -> Self {
        S3Store {
            lock_key: format!("{}.lock", settings.key),
            journal_prefix: journal::prefix(&settings.key),
            backup_key: format!("{}.backup", settings.key),
            config,
            client: OnceCell::new(),
            seen: Mutex::new(Seen::Nothing),
            settings,
            compacted_at: Mutex::new(None),
            base_serial: AtomicU64::new(0),
            stale: Mutex::new(Vec::new()),
            unfolded_journal: AtomicBool::new(false),
            history: History::default(),
        }
    }

    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    /// `s3://bucket/<key>.lock`.
    pub fn lock_uri(&self) -> String {
        format!("s3://{}/{}", self.settings.bucket, self.lock_key)
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                match &self.config {
                    Some(c) => client_for(c),
                    None => {
                        let c = aws_config::defaults(aws_config::BehaviorVersion::latest())
                            .region(aws_config::Region::new(self.settings.region.clone()))
                            .load()
                            .await;
                        client_for(&c)
                    }
                }
            })
            .await
    }

    fn set_seen(&self, seen: Seen) {
        // A poisoned lock only means another thread panicked mid-update of a plain value.
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = seen;
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn io(&self, e: S3Error) -> StoreError {
        StoreError::Io {
            location: e.target.clone(),
            source: Box::new(e),
        }
    }

    /// Reads an object: `None` when it does not exist, else its bytes, ETag and modification
    /// time (seconds since the epoch).
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String, Option<u64>)>, S3Error> {
        let target = format!("s3://{}/{key}", self.settings.bucket);
        let out = match self
            .client()
            .await
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = classify(e, "GetObject", &target);
                return if e.class == Class::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let modified = out
            .last_modified()
            .and_then(|t| u64::try_from(t.secs()).ok());
        let bytes = out.body.collect().await.map_err(|e| S3Error {
            class: Class::Network,
            operation: "GetObject",
            target,
            message: format!("reading the body: {e}"),
        })?;
        Ok(Some((bytes.to_vec(), etag, modified)))
    }

    /// Writes an object under `condition`, encrypted with KMS; returns the new ETag.
    async fn put(&self, key: &str, body: Vec<u8>, condition: Condition) -> Result<String, S3Error> {
        self.put_with(key, body, condition, None).await
    }

    /// [`S3Store::put`], with the lineage and serial of a state as object metadata.
    async fn put_with(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: Condition,
        history: Option<(&str, u64)>,
    ) -> Result<String, S3Error> {
        let target = format!("s3://{}/{key}", self.settings.bucket);
        let mut req = self
            .client()
            .await
            .put_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .body(ByteStream::from(body));
        if let Some(k) = &self.settings.kms_key_id {
            req = req.ssekms_key_id(k);
        }
        if let Some((lineage, serial)) = history {
            req = req
                .metadata(META_LINEAGE, lineage)
                .metadata(META_SERIAL, serial.to_string());
        }
        req = match condition {
            Condition::Absent => req.if_none_match("*"),
            Condition::Matches(etag) => req.if_match(etag),
        };
        let out = req
            .send()
            .await
            .map_err(|e| classify(e, "PutObject", &target))?;
        match out.e_tag() {
            Some(etag) => Ok(etag.to_string()),
            None => Ok(self.head(key).await?.map(|i| i.etag).unwrap_or_default()),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, S3Error> {
        let target = format!("s3://{}/{key}", self.settings.bucket);
        match self
            .client()
            .await
            .head_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                etag: out.e_tag().unwrap_or_default().to_string(),
                size: out.content_length().unwrap_or(0),
                server_side_encryption: out.server_side_encryption().map(|s| s.as_str().into()),
                kms_key_id: out.ssekms_key_id().map(String::from),
            })),
            Err(e) => {
                let e = classify(e, "HeadObject", &target);
                if e.class == Class::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The state object's ETag, size and encryption; `None` when there is no state yet.
    pub async fn object_info(&self) -> Result<Option<ObjectInfo>, StoreError> {
        self.head(&self.settings.key).await.map_err(|e| self.io(e))
    }

    /// Whether the bucket keeps old versions (`GetBucketVersioning`).
    pub async fn versioning(&self) -> Result<Versioning, StoreError> {
        let out = self
            .client()
            .await
            .get_bucket_versioning()
            .bucket(&self.settings.bucket)
            .send()
            .await
            .map_err(|e| {
                self.io(classify(
                    e,
                    "GetBucketVersioning",
                    &format!("s3://{}", self.settings.bucket),
                ))
            })?;
        Ok(match out.status() {
            Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
            Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
            _ => Versioning::NeverEnabled,
        })
    }

    /// The lock currently held and its ETag, if any. A lock object that cannot be parsed is
    /// still a lock, described with what can be read from it and given an id derived from its
    /// content (`unreadable-…`) so `force_unlock` can remove it.
    pub async fn current_lock(&self) -> Result<Option<(LockInfo, String)>, StoreError> {
        let Some((bytes, etag, modified)) =
            self.get(&self.lock_key).await.map_err(|e| self.io(e))?
        else {
            return Ok(None);
        };
        let parse_error = match serde_json::from_slice::<LockInfo>(&bytes) {
            Ok(info) => return Ok(Some((info, etag))),
            Err(e) => e,
        };
        let partial: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = |field: &str| {
            partial
                .get(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let info = LockInfo {
            id: text("id").unwrap_or_else(|| {
                format!("unreadable-{}", hex::encode(&Sha256::digest(&bytes)[..6]))
            }),
            holder: text("holder").unwrap_or_else(|| {
                format!(
                    "an unknown holder (lock object {} is unreadable: {parse_error})",
                    self.lock_uri()
                )
            }),
            pid: partial
                .get("pid")
                .and_then(|v| v.as_u64())
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            operation: text("operation").unwrap_or_else(|| "unknown".into()),
            created: text("created")
                .or_else(|| modified.map(rfc3339))
                .unwrap_or_else(|| "an unknown time".into()),
            version: text("version").unwrap_or_else(|| "unknown".into()),
        };
        Ok(Some((info, etag)))
    }

    /// Removes the lock if its id is `id`, with `If-Match` on the ETag read, so a lock that
    /// changed hands in between stays.
    async fn remove_lock(&self, id: &str) -> Result<(), StoreError> {
        let (current, etag) = match self.current_lock().await? {
            None => {
                return Err(StoreError::LockMismatch {
                    id: id.into(),
                    current: "none".into(),
                })
            }
            Some((current, _)) if current.id != id => {
                return Err(StoreError::LockMismatch {
                    id: id.into(),
                    current: current.to_string(),
                })
            }
            Some(found) => found,
        };
        let target = self.lock_uri();
        let deleted = self
            .client()
            .await
            .delete_object()
            .bucket(&self.settings.bucket)
            .key(&self.lock_key)
            .if_match(etag)
            .send()
            .await;
        match deleted.map_err(|e| classify(e, "DeleteObject", &target)) {
            Ok(_) => Ok(()),
            Err(e) if e.class == Class::NotFound => Ok(()),
            Err(e) if e.class == Class::PreconditionFailed => {
                let now = self.current_lock().await?;
                Err(StoreError::LockMismatch {
                    id: current.id,
                    current: now.map_or("none".into(), |(l, _)| l.to_string()),
                })
            }
            Err(e) => Err(self.io(e)),
        }
    }

    /// Reads and decodes the stored state with its ETag.
    async fn fetch(&self) -> Result<Option<(State, String)>, StoreError> {
        match self.get(&self.settings.key).await.map_err(|e| self.io(e))? {
            None => Ok(None),
            Some((bytes, etag, _)) => Ok(Some((format::decode(&bytes, &self.location())?, etag))),
        }
    }

    /// Every journal object under `<key>.journal/`, sorted by lineage and serial (one
    /// ListObjectsV2 per 1,000 objects). Anything else under the prefix is refused.
    async fn list_journal(&self) -> Result<Vec<Listed>, StoreError> {
        let target = format!("s3://{}/{}", self.settings.bucket, self.journal_prefix);
        let mut pages = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.settings.bucket)
            .prefix(&self.journal_prefix)
            .into_paginator()
            .send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.io(classify(e, "ListObjectsV2", &target)))?;
            for object in page.contents() {
                let key = object.key().unwrap_or_default();
                let Some(l) = journal::parse_key(&self.journal_prefix, key) else {
                    return Err(StoreError::Invalid {
                        location: target,
                        reason: format!(
                            "s3://{}/{key} is not a journal object hdh wrote; nothing was changed",
                            self.settings.bucket
                        ),
                    });
                };
                listed.push(l);
            }
        }
        listed.sort();
        Ok(listed)
    }

    /// Deletes `keys` (DeleteObjects, up to 1,000 a call); a key already gone is no error.
    async fn delete_keys(&self, keys: &[String]) -> Result<(), StoreError> {
        let target = format!("s3://{}/{}", self.settings.bucket, self.journal_prefix);
        for chunk in keys.chunks(DELETE_BATCH) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .and_then(|objects| {
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                })
                .map_err(|e| StoreError::Io {
                    location: target.clone(),
                    source: Box::new(e),
                })?;
            let out = self
                .client()
                .await
                .delete_objects()
                .bucket(&self.settings.bucket)
                .delete(objects)
                .send()
                .await
                .map_err(|e| self.io(classify(e, "DeleteObjects", &target)))?;
            if let Some(e) = out.errors().iter().find(|e| e.code() != Some("NoSuchKey")) {
                return Err(self.io(S3Error {
                    class: crate::error::class_of(None, e.code().unwrap_or_default()),
                    operation: "DeleteObjects",
                    target: format!(
                        "s3://{}/{}",
                        self.settings.bucket,
                        e.key().unwrap_or_default()
                    ),
                    message: format!(
                        "{}: {}",
                        e.code().unwrap_or_default(),
                        e.message().unwrap_or_default()
                    ),
                }));
            }
        }
        Ok(())
    }

    /// After a whole write of `state`: every journal object it contains goes (those of its
    /// lineage up to its serial, and those of a history `load` was told to leave behind).
    async fn clear_journal(&self, state: &State) -> Result<(), StoreError> {
        let covered: Vec<String> = self
            .list_journal()
            .await?
            .into_iter()
            .filter(|l| l.lineage != state.lineage || l.serial <= state.serial)
            .map(|l| l.key)
            .collect();
        self.stale.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.delete_keys(&covered).await
    }

    /// A break in the recorded history: refused, or accepted and remembered when allowed.
    fn history_break(
        &self,
        found: String,
        expected: String,
        backup_lineage: Option<&str>,
    ) -> Result<(), StoreError> {
        self.history
            .broken(self.location(), found, expected, backup_lineage)
    }

    /// The lineage and serial the backup records, if there is one (HeadObject; a backup
    /// without hdh's metadata is read whole).
    async fn backup_history(&self) -> Result<Option<(String, u64)>, StoreError> {
        let target = format!("s3://{}/{}", self.settings.bucket, self.backup_key);
        let head = self
            .client()
            .await
            .head_object()
            .bucket(&self.settings.bucket)
            .key(&self.backup_key)
            .send()
            .await;
        let meta = match head.map_err(|e| classify(e, "HeadObject", &target)) {
            Ok(out) => out.metadata().cloned().unwrap_or_default(),
            Err(e) if e.class == Class::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let serial = meta.get(META_SERIAL).and_then(|s| s.parse::<u64>().ok());
        if let (Some(lineage), Some(serial)) = (meta.get(META_LINEAGE), serial) {
            return Ok(Some((lineage.clone(), serial)));
        }
        Ok(self
            .get(&self.backup_key)
            .await
            .map_err(|e| self.io(e))?
            .and_then(|(bytes, _, _)| format::lineage_and_serial(&bytes)))
    }

    /// Checks the state object just read (`None`: there is none) against the history its
    /// backup records.
    async fn check_history(&self, state: Option<&State>) -> Result<(), StoreError> {
        let Some(recorded) = self.backup_history().await? else {
            return Ok(());
        };
        self.history.check_backup(
            self.location(),
            state,
            recorded,
            &format!("s3://{}/{}", self.settings.bucket, self.backup_key),
            "no state object",
        )
    }

    /// Copies `from` to `to` inside the bucket (server side, SSE-KMS like every write).
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let target = format!("s3://{}/{to}", self.settings.bucket);
        let mut req = self
            .client()
            .await
            .copy_object()
            .bucket(&self.settings.bucket)
            .key(to)
            .copy_source(format!("{}/{}", self.settings.bucket, url_path(from)))
            .server_side_encryption(ServerSideEncryption::AwsKms);
        if let Some(k) = &self.settings.kms_key_id {
            req = req.ssekms_key_id(k);
        }
        req.send()
            .await
            .map(drop)
            .map_err(|e| self.io(classify(e, "CopyObject", &target)))
    }

    /// Before a whole write: an accepted break sets the old history's backup aside (kept as
    /// `<key>.backup.<lineage>`, no longer consulted), then the object about to be replaced
    /// becomes the backup.
    async fn back_up(&self, replacing: bool) -> Result<(), StoreError> {
        if let Some(lineage) = self.history.take_aside() {
            let kept = format!("{}.{lineage}", self.backup_key);
            match self.copy(&self.backup_key, &kept).await {
                Ok(()) => {}
                Err(StoreError::Io { source, .. })
                    if source
                        .downcast_ref::<S3Error>()
                        .is_some_and(|e| e.class == Class::NotFound) => {}
                Err(e) => return Err(e),
            }
            self.delete_keys(std::slice::from_ref(&self.backup_key))
                .await?;
        }
        if replacing {
            self.copy(&self.settings.key, &self.backup_key).await?;
        }
        Ok(())
    }

    /// Reads the state object and its journal once, and replays the journal onto it.
    async fn load_once(&self) -> Result<Loaded, StoreError> {
        let fetched = self.fetch().await?;
        let journal = self.list_journal().await?;
        let prefix = format!("s3://{}/{}", self.settings.bucket, self.journal_prefix);
        let Some((mut state, etag)) = fetched else {
            if let Some(first) = journal.first() {
                self.history_break(
                    "no state object".into(),
                    format!(
                        "lineage {} at serial {} or later (its journal {prefix} continues it)",
                        first.lineage,
                        first.serial.saturating_sub(1)
                    ),
                    None,
                )?;
            }
            self.check_history(None).await?;
            self.set_seen(Seen::Absent);
            return Ok(Loaded::State(None));
        };
        self.check_history(Some(&state)).await?;
        if let Some(other) = journal.iter().find(|l| l.lineage != state.lineage) {
            self.history_break(
                format!("lineage {} in the state object", state.lineage),
                format!(
                    "lineage {}, the lineage of its journal {prefix}",
                    other.lineage
                ),
                None,
            )?;
        }
        let mut objects = Vec::new();
        for listed in journal.into_iter().filter(|l| l.lineage == state.lineage) {
            if listed.serial <= state.serial {
                // Already in the state object; its body is not needed.
                objects.push((listed, Vec::new()));
                continue;
            }
            match self.get(&listed.key).await.map_err(|e| self.io(e))? {
                Some((body, _, _)) => objects.push((listed, body)),
                // Deleted since it was listed: a compaction ran meanwhile.
                None => return Ok(Loaded::Raced),
            }
        }
        if !objects
            .iter()
            .any(|(listed, _)| listed.serial > state.serial)
        {
            // A compaction between reading the state object and listing its journal deletes
            // journal objects the state read does not contain, and the listing cannot show it:
            // only the state object's ETag tells that this read is older than the journal was.
            let now = self
                .head(&self.settings.key)
                .await
                .map_err(|e| self.io(e))?;
            if now.map(|i| i.etag).as_ref() != Some(&etag) {
                return Ok(Loaded::Raced);
            }
        }
        let object_serial = state.serial;
        let stale = match journal::replay(&mut state, &objects) {
            Ok(stale) => stale,
            Err(problem) => {
                // A compaction between reading the state and listing its journal looks like a
                // state that went backwards; the state object's ETag tells them apart.
                let now = self
                    .head(&self.settings.key)
                    .await
                    .map_err(|e| self.io(e))?;
                if now.map(|i| i.etag).as_ref() != Some(&etag) {
                    return Ok(Loaded::Raced);
                }
                let location = |key: &str| format!("s3://{}/{key}", self.settings.bucket);
                match problem {
                    Problem::Behind { key, base_serial } => self.history_break(
                        format!("serial {} of lineage {}", state.serial, state.lineage),
                        format!(
                            "serial {base_serial} or later: its journal object {} continues \
                             serial {base_serial}, so the state went backwards",
                            location(&key)
                        ),
                        None,
                    )?,
                    Problem::Gap { key, expected } => {
                        return Err(StoreError::Invalid {
                            location: location(&key),
                            reason: format!(
                                "the journal object of serial {expected} is missing before it; \
                                 nothing was changed"
                            ),
                        })
                    }
                    Problem::Damaged { key, reason } => {
                        return Err(StoreError::Invalid {
                            location: location(&key),
                            reason: format!(
                                "{reason}; only a damaged last journal object is ignored; \
                                 nothing was changed"
                            ),
                        })
                    }
                }
                // Accepted: the state object as it is, without the journal of the later one.
                Vec::new()
            }
        };
        *self.stale.lock().unwrap_or_else(|p| p.into_inner()) = stale;
        self.unfolded_journal
            .store(state.serial != object_serial, Ordering::Relaxed);
        if let Seen::Present { lineage, .. } = self.seen() {
            if lineage != state.lineage {
                return Err(StoreError::Invalid {
                    location: self.location(),
                    reason: format!(
                        "it now belongs to another state history (lineage {}, was {lineage})",
                        state.lineage
                    ),
                });
            }
        }
        self.set_seen(Seen::Present {
            lineage: state.lineage.clone(),
            serial: state.serial,
            etag,
        });
        Ok(Loaded::State(Some(state)))
    }

    /// Writes `state` whole as the state object, conditional on what this store last saw.
    async fn write_whole(&self, state: &State) -> Result<(), StoreError> {
        let condition = self.condition_for(state).await?;
        let expected = match &condition {
            Condition::Absent => "no state".to_string(),
            Condition::Matches(etag) => format!("ETag {etag}"),
        };
        self.back_up(matches!(condition, Condition::Matches(_)))
            .await?;
        let bytes = format::encode(state);
        let saved = |etag| {
            self.set_seen(Seen::Present {
                lineage: state.lineage.clone(),
                serial: state.serial,
                etag,
            })
        };
        let history = Some((state.lineage.as_str(), state.serial));
        match self
            .put_with(&self.settings.key, bytes.clone(), condition, history)
            .await
        {
            Ok(etag) => {
                saved(etag);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.class,
                    Class::PreconditionFailed | Class::ConditionalConflict
                ) =>
            {
                // An attempt whose answer was lost may have landed, and the SDK's retry then
                // met its own write: exactly these bytes there means the save succeeded.
                if let Ok(Some((there, etag, _))) = self.get(&self.settings.key).await {
                    if there == bytes {
                        saved(etag);
                        return Ok(());
                    }
                }
                let now = match self.fetch().await {
                    Ok(Some((s, _))) => format!("now serial {} (lineage {})", s.serial, s.lineage),
                    Ok(None) => "now deleted".into(),
                    Err(_) => "now unreadable".into(),
                };
                Err(StoreError::Conflict {
                    location: self.location(),
                    detail: format!(
                        "expected {expected}, {now}; this write of serial {} was refused and \
                         nothing was overwritten",
                        state.serial
                    ),
                })
            }
            Err(e) => Err(self.io(e)),
        }
    }

    /// A whole write, then the journal objects it contains deleted.
    async fn compact(&self, state: &State) -> Result<(), StoreError> {
        self.unfolded_journal.store(false, Ordering::Relaxed);
        self.write_whole(state).await?;
        self.base_serial.store(state.serial, Ordering::Relaxed);
        *self.compacted_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.clear_journal(state).await
    }

    /// The precondition for writing `state`: what this store last saw must still be there,
    /// with the same lineage and an older serial.
    async fn condition_for(&self, state: &State) -> Result<Condition, StoreError> {
        let location = self.location();
        let (lineage, serial, etag) = match self.seen() {
            Seen::Absent => return Ok(Condition::Absent),
            Seen::Present {
                lineage,
                serial,
                etag,
            } => (lineage, serial, etag),
            Seen::Nothing => match self.fetch().await? {
                None => return Ok(Condition::Absent),
                Some((stored, etag)) => (stored.lineage, stored.serial, etag),
            },
        };
        if lineage != state.lineage {
            return Err(StoreError::Invalid {
                location,
                reason: format!(
                    "it belongs to another state history (lineage {lineage} stored, {} in this \
                     run); it was not overwritten",
                    state.lineage
                ),
            });
        }
        if serial >= state.serial {
            return Err(StoreError::Conflict {
                location,
                detail: format!(
                    "serial {serial} stored is not older than serial {} being saved",
                    state.serial
                ),
            });
        }
        Ok(Condition::Matches(etag))
    }
}

#[async_trait]
impl StateStore for S3Store {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.settings.bucket, self.settings.key)
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), StoreError> {
        let mut body = serde_json::to_vec_pretty(info).unwrap_or_default();
        body.push(b'\n');
        let mut pause = LOCK_RETRY_BASE;
        for _ in 0..LOCK_ATTEMPTS {
            match self
                .put(&self.lock_key, body.clone(), Condition::Absent)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.class == Class::PreconditionFailed => {
                    if let Some((holder, _)) = self.current_lock().await? {
                        return Err(StoreError::Locked { holder });
                    }
                    // Released between the two steps: try again.
                }
                Err(e) if e.class == Class::ConditionalConflict => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => return Err(self.io(e)),
            }
        }
        Err(StoreError::Conflict {
            location: self.lock_uri(),
            detail: "the lock kept changing hands; try again".into(),
        })
    }

    async fn unlock(&self, info: &LockInfo) -> Result<(), StoreError> {
        // What a killed compaction left: contained in the state object, so no reader needs it.
        let stale = std::mem::take(&mut *self.stale.lock().unwrap_or_else(|p| p.into_inner()));
        self.delete_keys(&stale).await?;
        self.remove_lock(&info.id).await
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StoreError> {
        self.remove_lock(id).await
    }

    fn accept_history_change(&self) {
        self.history.allow();
    }

    fn unfolded_journal(&self) -> bool {
        self.unfolded_journal.load(Ordering::Relaxed)
    }

    fn accepted_history_change(&self) -> Option<String> {
        self.history.accepted()
    }

    fn batch_window(&self) -> Duration {
        BATCH_WINDOW
    }

    async fn load(&self) -> Result<Option<State>, StoreError> {
        for _ in 0..LOAD_ATTEMPTS {
            if let Loaded::State(state) = self.load_once().await? {
                return Ok(state);
            }
        }
        Err(StoreError::Conflict {
            location: self.location(),
            detail: "it kept changing while it and its journal were read; try again".into(),
        })
    }

    async fn save(&self, state: &State) -> Result<(), StoreError> {
        self.compact(state).await
    }

    async fn append(&self, state: &State, changes: &Changes) -> Result<(), StoreError> {
        self.unfolded_journal.store(false, Ordering::Relaxed);
        let compacted_at = *self.compacted_at.lock().unwrap_or_else(|p| p.into_inner());
        let (lineage, serial, etag) = match (compacted_at, self.seen()) {
            (
                Some(at),
                Seen::Present {
                    lineage,
                    serial,
                    etag,
                },
            ) if at.elapsed() < COMPACT_EVERY => (lineage, serial, etag),
            _ => return self.compact(state).await,
        };
        if lineage != state.lineage || serial >= state.serial {
            return Err(StoreError::Conflict {
                location: self.location(),
                detail: format!(
                    "serial {} of lineage {} does not continue serial {serial} of lineage \
                     {lineage}",
                    state.serial, state.lineage
                ),
            });
        }
        let key = journal::object_key(&self.journal_prefix, &state.lineage, state.serial);
        // The serial of the state object this journal continues.
        let base = self.base_serial.load(Ordering::Relaxed);
        let body = journal::encode(state, changes, base);
        match self.put(&key, body.clone(), Condition::Absent).await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.class,
                    Class::PreconditionFailed | Class::ConditionalConflict
                ) =>
            {
                // As for the state: a retry that met its own landed write succeeded.
                let there = self.get(&key).await.ok().flatten();
                if there.map(|(b, _, _)| b) != Some(body) {
                    return Err(StoreError::Conflict {
                        location: format!("s3://{}/{key}", self.settings.bucket),
                        detail: format!(
                            "someone else wrote serial {} of this state; nothing was \
                             overwritten",
                            state.serial
                        ),
                    });
                }
            }
            Err(e) => return Err(self.io(e)),
        }
        self.set_seen(Seen::Present {
            lineage,
            serial: state.serial,
            etag,
        });
        Ok(())
    }
}

/// `key` percent-encoded for `x-amz-copy-source` (`/` kept: it separates the key's parts).
fn url_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
