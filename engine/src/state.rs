//! What hdh knows about the real world between runs, and the trait a storage backend implements.
//! The on-disk format lives in the state crate; this is the in-memory model the engine works on.
//!
//! Invariants:
//! - An intent is written (and saved) before its provider call starts and cleared after the
//!   result is recorded, so every crash leaves either a recorded resource or an intent.
//! - Retained resources are never in `resources`; they are out of hdh's management until an
//!   apply of the same address adopts them.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::graph::Lifecycle;
use crate::value::{Value, ValueMap};

/// One resource hdh manages.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceState {
    pub type_name: String,
    pub id: String,
    /// Inputs and computed attributes as last observed; sensitive ones marked.
    pub attributes: ValueMap,
    /// Addresses it depended on when last applied (destroy order comes from these).
    pub dependencies: Vec<String>,
    pub lifecycle: Lifecycle,
}

impl ResourceState {
    /// A digest of the entry, to tell whether it changed since a plan was made.
    pub fn fingerprint(&self) -> String {
        let (attrs, paths) = Value::Map(self.attributes.clone()).to_state_json();
        let mut h = Sha256::new();
        h.update(self.type_name.as_bytes());
        h.update([0]);
        h.update(self.id.as_bytes());
        h.update([0]);
        h.update(attrs.to_string().as_bytes());
        h.update(format!("{paths:?}{:?}", self.dependencies).as_bytes());
        hex::encode(&h.finalize()[..12])
    }
}

/// What was about to happen when a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentAction {
    Create,
    Update,
    Delete,
}

/// A provider call in flight, recorded before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub address: String,
    pub type_name: String,
    pub action: IntentAction,
    /// The idempotency token passed to the provider.
    pub token: String,
    /// The properties sent (create/update), so the resource can be found again. For a delete:
    /// `id` (and `deposed: true` when the deleted object is a deposed one).
    pub properties: ValueMap,
    pub dependencies: Vec<String>,
    pub lifecycle: Lifecycle,
    pub started_at: String,
}

/// A resource destroy forgot on purpose, with its id, so a later apply can adopt it.
#[derive(Debug, Clone, PartialEq)]
pub struct Retained {
    pub resource: ResourceState,
    pub retained_at: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// Identifies one stack's state history; never changes once made.
    pub lineage: String,
    /// Increments on every write; never above [`MAX_SERIAL`].
    pub serial: u64,
    pub resources: BTreeMap<String, ResourceState>,
    pub intents: Vec<Intent>,
    pub retained: BTreeMap<String, Retained>,
    /// Old objects replaced with `create_before_destroy` whose deletion has not finished yet;
    /// the next plan deletes them.
    pub deposed: BTreeMap<String, ResourceState>,
    pub outputs: ValueMap,
}

/// The highest serial a state may have: the largest integer every JSON reader holds exactly.
/// At one increment per write it is never reached; a file claiming more was edited or damaged.
pub const MAX_SERIAL: u64 = (1 << 53) - 1;

impl State {
    /// Moves the serial one up before a write; refuses (never wraps, never panics) at the top.
    // The error goes straight to the store's caller, like every other `StoreError`; the rare
    // cold path makes its size no cost (see the state crate's note on `Locked`).
    #[allow(clippy::result_large_err)]
    pub fn bump_serial(&mut self, location: &str) -> Result<(), StoreError> {
        match self.serial.checked_add(1).filter(|s| *s <= MAX_SERIAL) {
            Some(next) => {
                self.serial = next;
                Ok(())
            }
            None => Err(StoreError::Invalid {
                location: location.to_string(),
                reason: format!(
                    "serial {} cannot go higher (the largest is {MAX_SERIAL})",
                    self.serial
                ),
            }),
        }
    }

    pub fn new() -> Self {
        State {
            lineage: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        }
    }

    /// Value of `attribute` of the resource at `address`, if state knows it.
    pub fn attribute(&self, address: &str, attribute: &str) -> Option<Value> {
        let r = self.resources.get(address)?;
        if attribute == "id" {
            return Some(Value::String(r.id.clone()));
        }
        r.attributes.get(attribute).cloned()
    }
}

/// Who holds a lock and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockInfo {
    pub id: String,
    /// user@host
    pub holder: String,
    pub pid: u32,
    pub operation: String,
    /// RFC 3339.
    pub created: String,
    pub version: String,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lock {} held by {} (pid {}) for `{}` since {}",
            self.id, self.holder, self.pid, self.operation, self.created
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state is locked: {holder}")]
    Locked { holder: LockInfo },
    #[error("no lock with id {id} (current lock: {current})")]
    LockMismatch { id: String, current: String },
    #[error("state at {location} was changed by someone else since it was read ({detail})")]
    Conflict { location: String, detail: String },
    #[error("state at {location} is unusable: {reason}")]
    Invalid { location: String, reason: String },
    /// The stored state is not the continuation of the history this stack last knew (another
    /// lineage, a lineage change, a serial that went backwards, a missing file).
    #[error("state at {location} is not the one this stack last recorded: found {found}, expected {expected}")]
    History {
        location: String,
        found: String,
        expected: String,
    },
    #[error("could not access state at {location}: {source}")]
    Io {
        location: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A place state is stored, with an exclusive lock.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Where, for messages ("./.hdh/demo.state.json", "s3://bucket/key").
    fn location(&self) -> String;

    /// Takes the exclusive lock or fails naming its holder.
    async fn lock(&self, info: &LockInfo) -> Result<(), StoreError>;

    /// The lock the last `lock` call replaced because its holder provably no longer runs
    /// (a killed run on this host), for the user to be told; `None` for stores that never do.
    fn replaced_stale_lock(&self) -> Option<LockInfo> {
        None
    }

    async fn unlock(&self, info: &LockInfo) -> Result<(), StoreError>;

    /// From now on `load` accepts a state that is not the continuation of the history this
    /// stack last recorded (`--allow-lineage-change`), and remembers what it accepted.
    fn accept_history_change(&self) {}

    /// What `load` accepted under [`StateStore::accept_history_change`], for the user to be
    /// told; `None` when the history was continuous.
    fn accepted_history_change(&self) -> Option<String> {
        None
    }

    /// Whether the last `load` replayed journal records its state file or object does not
    /// contain (a run killed after its last result was journaled): a run holding the lock
    /// folds them with a whole write even when it changes nothing else, so a journal does not
    /// outlive the run after the one that wrote it.
    fn unfolded_journal(&self) -> bool {
        false
    }

    /// Removes a lock by its id, whoever holds it.
    async fn force_unlock(&self, id: &str) -> Result<(), StoreError>;

    /// `Ok(None)` when no state exists yet.
    async fn load(&self) -> Result<Option<State>, StoreError>;

    /// Writes atomically. The store checks lineage and serial against what it last loaded or
    /// saved and refuses to go backwards.
    async fn save(&self, state: &State) -> Result<(), StoreError>;

    /// How long the executor may wait, after a call finished, for more of the calls running
    /// with it before it writes, so one write carries their results together. Zero (the
    /// default) writes at once; a store whose writes are round trips (S3) waits a little, which
    /// delays the dependents of the first result by at most this.
    fn batch_window(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Makes `state` durable when only `changes` differ from the last write (load or save), as
    /// cheaply as the store can: a store with a journal appends the changed entries; the
    /// default writes everything. When it returns, a later `load` sees `state`.
    async fn append(&self, state: &State, changes: &Changes) -> Result<(), StoreError> {
        let _ = changes;
        self.save(state).await
    }
}

/// What changed in a state since its previous write, by address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Addresses whose resource, deposed object, retained entry or intents changed.
    pub addresses: BTreeSet<String>,
    /// Whether the outputs changed.
    pub outputs: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && !self.outputs
    }

    pub fn touch(&mut self, address: &str) {
        if !self.addresses.contains(address) {
            self.addresses.insert(address.to_string());
        }
    }
}

/// Current time as RFC 3339 UTC, without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_608_000), "2026-11-25T12:00:00Z");
    }
}
