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
//! - Between whole writes, changes are appended to a journal beside the file
//!   (`<path>.journal`, see [`crate::journal`]); `load` returns the file with the journal
//!   replayed, so every reader sees one state. The file is rewritten whole (compacted) on the
//!   first write of a process, at most every [`COMPACT_EVERY`] during a run, and by `save`,
//!   which also removes the journal.
//! - The backup is the history this stack last recorded: `load` refuses a state of another
//!   lineage than the backup's, a serial older than the backup's, or a missing state file
//!   beside a backup, unless told to accept the change (`--allow-lineage-change`). A backup of
//!   a history accepted away is kept, renamed `<path>.backup.<lineage>`, never overwritten.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hdh_engine::state::rfc3339;
use hdh_engine::state::Changes;
use hdh_engine::{LockInfo, State, StateStore, StoreError};
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::format;
use crate::history::History;
use crate::journal::{self, JournalError, Writer};
use crate::kill_point::{self, Point};

/// The longest a run appends to the journal before the state file is rewritten whole.
pub const COMPACT_EVERY: Duration = Duration::from_secs(5);

/// File mode of the state, its backup and the lock: readable by the owner only.
const PRIVATE: u32 = 0o600;

/// How often `lock` retries when a lock vanished between failing to take it and reading it.
const LOCK_ATTEMPTS: usize = 3;

/// State kept in a local file.
pub struct LocalStore {
    path: PathBuf,
    lock_path: PathBuf,
    backup_path: PathBuf,
    journal_path: PathBuf,
    /// The journal this process appends to, and when the file was last written whole.
    writer: Mutex<Option<(Writer, Instant)>>,
    /// What this store last read or wrote, to notice a write by someone else in between.
    seen: Mutex<Seen>,
    /// A lock of a killed run on this host that `lock` removed, for the user to be told.
    replaced: Mutex<Option<LockInfo>>,
    /// Whether `load` may accept a break in the recorded history, and the one it accepted.
    history: History,
    /// `load` found a journal wholly contained in the state file (a run killed after its last
    /// whole write, before it removed the journal) and nothing was written since: `unlock`
    /// removes it, so a finished run leaves no journal.
    folded_journal: AtomicBool,
    /// `load` replayed journal records the state file lacks, and nothing was written since.
    unfolded_journal: AtomicBool,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Neither loaded nor saved yet: only the file's own lineage and serial are checked.
    Nothing,
    /// Loaded and there was no file.
    Absent,
    Present {
        lineage: String,
        /// With the journal replayed.
        serial: u64,
        /// Of the file itself.
        file_serial: u64,
    },
}

impl LocalStore {
    /// A store for the state file at `path`. Nothing is touched until it is used; the parent
    /// directory is created on the first lock or save.
    pub fn new(path: PathBuf) -> Self {
        LocalStore {
            lock_path: sibling(&path, ".lock"),
            backup_path: sibling(&path, ".backup"),
            journal_path: sibling(&path, ".journal"),
            writer: Mutex::new(None),
            path,
            seen: Mutex::new(Seen::Nothing),
            replaced: Mutex::new(None),
            history: History::default(),
            folded_journal: AtomicBool::new(false),
            unfolded_journal: AtomicBool::new(false),
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

    /// Where changes since the last whole write are appended (`<path>.journal`).
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    fn journal_error(&self, e: JournalError) -> StoreError {
        match e {
            JournalError::Io { source } => self.io_error(&self.journal_path, source),
            JournalError::Damaged { .. } => StoreError::Invalid {
                location: self.journal_path.display().to_string(),
                reason: format!("{e}; it was not changed"),
            },
        }
    }

    /// `state` (just read from the file) with the journal's records applied.
    fn replay(&self, state: &mut State, contents: journal::Contents) -> Result<(), StoreError> {
        let journal = self.journal_path.display();
        let header = &contents.header;
        if header.lineage != state.lineage {
            return self.history_break(
                format!("lineage {} in the state file", state.lineage),
                format!(
                    "lineage {}, the lineage of its journal {journal}",
                    header.lineage
                ),
                None,
            );
        }
        if header.base_serial > state.serial {
            return self.history_break(
                format!("serial {} of lineage {}", state.serial, state.lineage),
                format!(
                    "serial {} or later: its journal {journal} continues serial {}, so the \
                     state went backwards",
                    header.base_serial, header.base_serial
                ),
                None,
            );
        }
        let file_serial = state.serial;
        let damaged = |line: usize, reason: String| StoreError::Invalid {
            location: journal.to_string(),
            reason: format!("line {line}: {reason}; it was not changed"),
        };
        for (k, record) in contents.records.iter().enumerate() {
            // Line 1 is the header.
            let line = k + 2;
            let serial = format::record_serial(record).map_err(|r| damaged(line, r))?;
            if serial <= file_serial {
                // Already in the file: a compaction stopped before it reset the journal.
                continue;
            }
            if serial <= state.serial {
                return Err(damaged(
                    line,
                    format!("serial {serial} after serial {}", state.serial),
                ));
            }
            format::apply_record(state, record).map_err(|r| damaged(line, r))?;
        }
        Ok(())
    }

    /// Writes `state` whole: the file (the old one becomes the backup), after the checks.
    fn write_whole(&self, state: &State) -> Result<(), StoreError> {
        self.set_aside_old_backup()?;
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
            file_serial: state.serial,
        });
        if kill_point::reached(Point::Compaction) {
            kill_point::die();
        }
        Ok(())
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Option<(Writer, Instant)>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
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

    /// The lineage and serial the backup records, if it is there and readable.
    fn backup_history(&self) -> Result<Option<(String, u64)>, StoreError> {
        match fs::read(&self.backup_path) {
            Ok(b) => Ok(format::lineage_and_serial(&b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error(&self.backup_path, e)),
        }
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

    /// Checks the state just read (`None`: no file) against the history the backup records.
    fn check_history(&self, state: Option<&State>) -> Result<(), StoreError> {
        let Some(recorded) = self.backup_history()? else {
            return Ok(());
        };
        self.history.check_backup(
            self.location(),
            state,
            recorded,
            &self.backup_path.display().to_string(),
            "no state file",
        )
    }

    /// After an accepted break, the backup of the old history is moved aside (kept, and no
    /// longer consulted) before anything is written.
    fn set_aside_old_backup(&self) -> Result<(), StoreError> {
        let Some(lineage) = self.history.take_aside() else {
            return Ok(());
        };
        let aside = sibling(&self.path, &format!(".backup.{lineage}"));
        match fs::rename(&self.backup_path, &aside) {
            Ok(()) => {
                atomic::sync_dir(&atomic::dir_of(&aside)).map_err(|e| self.io_error(&aside, e))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error(&self.backup_path, e)),
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
            Seen::Present {
                lineage, serial, ..
            } if lineage == new.lineage && serial >= new.serial => Err(StoreError::Conflict {
                location,
                detail: format!(
                    "serial {serial} is recorded (journal included), not older than serial {} \
                     being saved",
                    new.serial
                ),
            }),
            Seen::Present {
                lineage,
                file_serial: serial,
                ..
            } if lineage != on_disk.lineage || serial != on_disk.serial => {
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
        if self.folded_journal.swap(false, Ordering::Relaxed) {
            journal::remove(&self.journal_path)
                .map_err(|e| self.io_error(&self.journal_path, e))?;
        }
        self.remove_lock(&info.id)
    }

    fn accept_history_change(&self) {
        self.history.allow();
    }

    fn accepted_history_change(&self) -> Option<String> {
        self.history.accepted()
    }

    fn unfolded_journal(&self) -> bool {
        self.unfolded_journal.load(Ordering::Relaxed)
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
        let journal = journal::read(&self.journal_path).map_err(|e| self.journal_error(e))?;
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(j) = &journal {
                    self.history_break(
                        "no state file".into(),
                        format!(
                            "lineage {} at serial {} or later (its journal {} continues it)",
                            j.header.lineage,
                            j.header.base_serial,
                            self.journal_path.display()
                        ),
                        None,
                    )?;
                }
                self.check_history(None)?;
                self.set_seen(Seen::Absent);
                return Ok(None);
            }
            Err(e) => return Err(self.io_error(&self.path, e)),
        };
        let mut state = format::decode(&bytes, &self.location())?;
        self.check_history(Some(&state))?;
        let file_serial = state.serial;
        if let Some(j) = journal {
            self.replay(&mut state, j)?;
            self.folded_journal
                .store(state.serial == file_serial, Ordering::Relaxed);
        }
        self.unfolded_journal
            .store(state.serial != file_serial, Ordering::Relaxed);
        self.set_seen(Seen::Present {
            lineage: state.lineage.clone(),
            serial: state.serial,
            file_serial,
        });
        Ok(Some(state))
    }

    async fn save(&self, state: &State) -> Result<(), StoreError> {
        if kill_point::reached(Point::Save) {
            kill_point::die();
        }
        self.folded_journal.store(false, Ordering::Relaxed);
        self.unfolded_journal.store(false, Ordering::Relaxed);
        self.write_whole(state)?;
        *self.writer() = None;
        journal::remove(&self.journal_path).map_err(|e| self.io_error(&self.journal_path, e))
    }

    async fn append(&self, state: &State, changes: &Changes) -> Result<(), StoreError> {
        self.folded_journal.store(false, Ordering::Relaxed);
        self.unfolded_journal.store(false, Ordering::Relaxed);
        let mut writer = self.writer();
        let appendable = matches!(&*writer, Some((_, at)) if at.elapsed() < COMPACT_EVERY);
        if !appendable {
            // Compaction: the whole state, then a fresh journal continuing it.
            *writer = None;
            self.write_whole(state)?;
            let fresh = Writer::start(&self.journal_path, &state.lineage, state.serial, PRIVATE)
                .map_err(|e| self.io_error(&self.journal_path, e))?;
            *writer = Some((fresh, Instant::now()));
            return Ok(());
        }
        let seen = self.seen();
        if let Seen::Present {
            lineage, serial, ..
        } = &seen
        {
            if *lineage != state.lineage || *serial >= state.serial {
                return Err(StoreError::Conflict {
                    location: self.location(),
                    detail: format!(
                        "serial {} of lineage {} does not continue serial {serial} of lineage \
                         {lineage}",
                        state.serial, state.lineage
                    ),
                });
            }
        }
        let record = format::encode_record(state, changes);
        if let Some((w, _)) = writer.as_mut() {
            w.append(&record)
                .map_err(|e| self.io_error(&self.journal_path, e))?;
        }
        if let Seen::Present {
            lineage,
            file_serial,
            ..
        } = seen
        {
            self.set_seen(Seen::Present {
                lineage,
                serial: state.serial,
                file_serial,
            });
        }
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
