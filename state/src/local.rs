//! The local state backend: one JSON file (default `.hdh/<stack>.state.json` beside the config),
//! a lock file beside it, and one backup of the previous version.
//!
//! Invariants:
//! - The lock is `<path>.lock`, made complete before it becomes visible (written to a temporary
//!   file, then hard-linked into place, which fails if a lock exists), so a reader never sees a
//!   half-written lock. Only a caller presenting the lock's id removes it.
//! - The state file is only ever replaced whole (see [`crate::atomic`]) and is mode 0600: it
//!   holds secrets in the clear.
//! - A file this hdh cannot vouch for (does not parse, unknown format version, another lineage)
//!   is never written over: `save` refuses and the file stays byte-identical.
//! - `save` never goes backwards: the serial on disk must be older than the one being written,
//!   and the file must still be what this store last read or wrote.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use hdh_engine::state::rfc3339;
use hdh_engine::{LockInfo, State, StateStore, StoreError};
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::format;

/// File mode of the state, its backup and the lock: readable by the owner only.
const PRIVATE: u32 = 0o600;

/// How often `lock` retries when a lock vanished between failing to take it and reading it.
const LOCK_ATTEMPTS: usize = 3;

/// State kept in a local file.
pub struct LocalStore {
    path: PathBuf,
    lock_path: PathBuf,
    backup_path: PathBuf,
    /// What this store last read or wrote, to notice a write by someone else in between.
    seen: Mutex<Seen>,
    /// A lock of a killed run on this host that `lock` removed, for the user to be told.
    replaced: Mutex<Option<LockInfo>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Neither loaded nor saved yet: only the file's own lineage and serial are checked.
    Nothing,
    /// Loaded and there was no file.
    Absent,
    Present {
        lineage: String,
        serial: u64,
    },
}

impl LocalStore {
    /// A store for the state file at `path`. Nothing is touched until it is used; the parent
    /// directory is created on the first lock or save.
    pub fn new(path: PathBuf) -> Self {
        LocalStore {
            lock_path: sibling(&path, ".lock"),
            backup_path: sibling(&path, ".backup"),
            path,
            seen: Mutex::new(Seen::Nothing),
            replaced: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the lock file lives (`<path>.lock`).
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Where the previous version is kept (`<path>.backup`).
    pub fn backup_path(&self) -> &Path {
        &self.backup_path
    }

    fn io_error(&self, path: &Path, e: io::Error) -> StoreError {
        StoreError::Io {
            location: path.display().to_string(),
            source: Box::new(e),
        }
    }

    fn set_seen(&self, seen: Seen) {
        // A poisoned lock only means another thread panicked mid-update of a plain value.
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = seen;
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Tries once to create the lock file. `Ok(false)` when a lock already exists.
    fn try_create_lock(&self, info: &LockInfo) -> Result<bool, StoreError> {
        let err = |e| self.io_error(&self.lock_path, e);
        atomic::ensure_parent(&self.lock_path).map_err(err)?;
        let mut bytes = serde_json::to_vec_pretty(info).unwrap_or_default();
        bytes.push(b'\n');

        let tmp = atomic::temp_path(&self.lock_path);
        atomic::write_new(&tmp, &bytes, PRIVATE).map_err(err)?;
        let linked = fs::hard_link(&tmp, &self.lock_path);
        let _ = fs::remove_file(&tmp);
        let created = match linked {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            // A filesystem without hard links: exclusive create, then write. A reader racing
            // the write sees an unreadable lock, which still counts as held.
            Err(_) => match atomic::write_new(&self.lock_path, &bytes, PRIVATE) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(err(e)),
            },
        };
        if created {
            atomic::sync_dir(&atomic::dir_of(&self.lock_path)).map_err(err)?;
        }
        Ok(created)
    }

    /// The lock currently held, if any. A lock file that cannot be parsed is still a lock: it
    /// is described with what can be read from it, and given an id derived from its content
    /// (`unreadable-…`) so `force_unlock` can remove it.
    fn current_lock(&self) -> Result<Option<LockInfo>, StoreError> {
        let bytes = match fs::read(&self.lock_path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error(&self.lock_path, e)),
        };
        let parse_error = match serde_json::from_slice::<LockInfo>(&bytes) {
            Ok(info) => return Ok(Some(info)),
            Err(e) => e,
        };
        let partial: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = |field: &str| {
            partial
                .get(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let created = text("created").or_else(|| {
            let modified = fs::metadata(&self.lock_path)
                .and_then(|m| m.modified())
                .ok()?;
            let secs = modified
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            Some(rfc3339(secs))
        });
        Ok(Some(LockInfo {
            id: text("id").unwrap_or_else(|| unreadable_lock_id(&bytes)),
            holder: text("holder").unwrap_or_else(|| {
                format!(
                    "an unknown holder (lock file {} is unreadable: {parse_error})",
                    self.lock_path.display()
                )
            }),
            pid: partial
                .get("pid")
                .and_then(|v| v.as_u64())
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            operation: text("operation").unwrap_or_else(|| "unknown".into()),
            created: created.unwrap_or_else(|| "an unknown time".into()),
            version: text("version").unwrap_or_else(|| "unknown".into()),
        }))
    }

    /// Removes the lock if its id is `id`.
    ///
    /// Between reading the lock and removing it another process could release it and take a
    /// new one; that needs a lock released and retaken within microseconds by a second hdh
    /// while this one force-unlocks, and is accepted.
    fn remove_lock(&self, id: &str) -> Result<(), StoreError> {
        match self.current_lock()? {
            None => Err(StoreError::LockMismatch {
                id: id.into(),
                current: "none".into(),
            }),
            Some(current) if current.id == id => {
                match fs::remove_file(&self.lock_path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(self.io_error(&self.lock_path, e)),
                }
                atomic::sync_dir(&atomic::dir_of(&self.lock_path))
                    .map_err(|e| self.io_error(&self.lock_path, e))
            }
            Some(current) => Err(StoreError::LockMismatch {
                id: id.into(),
                current: current.to_string(),
            }),
        }
    }

    /// Checks that `new` may replace the file whose bytes are `old`.
    fn check_replace(&self, old: &[u8], new: &State) -> Result<(), StoreError> {
        let location = self.location();
        let on_disk = format::decode(old, &location).map_err(|e| match e {
            StoreError::Invalid { location, reason } => StoreError::Invalid {
                location,
                reason: format!("{reason}; it was not overwritten"),
            },
            e => e,
        })?;
        if on_disk.lineage != new.lineage {
            return Err(StoreError::Invalid {
                location,
                reason: format!(
                    "it belongs to another state history (lineage {} on disk, {} in this run); \
                     it was not overwritten",
                    on_disk.lineage, new.lineage
                ),
            });
        }
        if on_disk.serial >= new.serial {
            return Err(StoreError::Conflict {
                location,
                detail: format!(
                    "serial {} on disk is not older than serial {} being saved",
                    on_disk.serial, new.serial
                ),
            });
        }
        match self.seen() {
            Seen::Present { lineage, serial }
                if lineage != on_disk.lineage || serial != on_disk.serial =>
            {
                Err(StoreError::Conflict {
                    location,
                    detail: format!(
                        "it was serial {serial} when last read or written, is now serial {}",
                        on_disk.serial
                    ),
                })
            }
            Seen::Absent => Err(StoreError::Conflict {
                location,
                detail: format!(
                    "there was no state when read, now serial {}",
                    on_disk.serial
                ),
            }),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl StateStore for LocalStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), StoreError> {
        for _ in 0..LOCK_ATTEMPTS {
            if self.try_create_lock(info)? {
                return Ok(());
            }
            if let Some(holder) = self.current_lock()? {
                // A run killed on this machine cannot release its lock; its pid says so.
                if crate::lock_info::holder_gone_from_this_host(&holder)
                    && self.remove_lock(&holder.id).is_ok()
                {
                    *self.replaced.lock().unwrap_or_else(|p| p.into_inner()) = Some(holder);
                    continue;
                }
                return Err(StoreError::Locked { holder });
            }
            // Released between the two steps: try again.
        }
        Err(StoreError::Conflict {
            location: self.lock_path.display().to_string(),
            detail: "the lock kept changing hands; try again".into(),
        })
    }

    async fn unlock(&self, info: &LockInfo) -> Result<(), StoreError> {
        self.remove_lock(&info.id)
    }

    fn replaced_stale_lock(&self) -> Option<LockInfo> {
        self.replaced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StoreError> {
        self.remove_lock(id)
    }

    async fn load(&self) -> Result<Option<State>, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.set_seen(Seen::Absent);
                return Ok(None);
            }
            Err(e) => return Err(self.io_error(&self.path, e)),
        };
        let state = format::decode(&bytes, &self.location())?;
        self.set_seen(Seen::Present {
            lineage: state.lineage.clone(),
            serial: state.serial,
        });
        Ok(Some(state))
    }

    async fn save(&self, state: &State) -> Result<(), StoreError> {
        let old = match fs::read(&self.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.io_error(&self.path, e)),
        };
        match &old {
            Some(old) => {
                self.check_replace(old, state)?;
                // The previous version, exactly as it was, becomes the backup.
                atomic::replace(&self.backup_path, old, PRIVATE)
                    .map_err(|e| self.io_error(&self.backup_path, e))?;
            }
            None => atomic::ensure_parent(&self.path).map_err(|e| self.io_error(&self.path, e))?,
        }
        atomic::replace(&self.path, &format::encode(state), PRIVATE)
            .map_err(|e| self.io_error(&self.path, e))?;
        self.set_seen(Seen::Present {
            lineage: state.lineage.clone(),
            serial: state.serial,
        });
        Ok(())
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// The id given to a lock file that cannot be parsed: stable for the same content.
fn unreadable_lock_id(bytes: &[u8]) -> String {
    format!("unreadable-{}", hex::encode(&Sha256::digest(bytes)[..6]))
}
