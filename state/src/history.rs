//! The history check both backends share: the state just read must continue the history this
//! stack last recorded (its backup's lineage and serial), or the break is refused — unless
//! `--allow-lineage-change` told the store to accept it, which is then remembered (for the
//! user to be told) with the lineage of the backup to set aside before the next write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use hdh_engine::{State, StoreError};

/// What one store allows and accepted.
#[derive(Default)]
pub struct History {
    allow: AtomicBool,
    /// The break accepted, and the lineage of the backup that recorded the old history.
    accepted: Mutex<Option<(String, Option<String>)>>,
}

impl History {
    /// From now on a break is accepted and remembered.
    pub fn allow(&self) {
        self.allow.store(true, Ordering::Relaxed);
    }

    /// The accepted break, as "found …, expected …".
    pub fn accepted(&self) -> Option<String> {
        self.lock().as_ref().map(|(m, _)| m.clone())
    }

    /// The lineage of a backup to set aside before the next write; once.
    pub fn take_aside(&self) -> Option<String> {
        self.lock().as_mut().and_then(|(_, lineage)| lineage.take())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, Option<String>)>> {
        // A poisoned lock only means another thread panicked mid-update of a plain value.
        self.accepted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A break in the recorded history of the state at `location`: refused, or accepted and
    /// remembered when allowed (with the backup to set aside, if one recorded the old history).
    pub fn broken(
        &self,
        location: String,
        found: String,
        expected: String,
        backup_lineage: Option<&str>,
    ) -> Result<(), StoreError> {
        if !self.allow.load(Ordering::Relaxed) {
            return Err(StoreError::History {
                location,
                found,
                expected,
            });
        }
        let mut accepted = self.lock();
        // A backup to set aside, once named, stays named.
        let aside = backup_lineage
            .map(str::to_string)
            .or_else(|| accepted.take().and_then(|(_, l)| l));
        *accepted = Some((format!("found {found}, expected {expected}"), aside));
        Ok(())
    }

    /// Checks the state just read (`None`: there is none, said as `missing`) against the
    /// lineage and serial its backup (named `backup`) records.
    pub fn check_backup(
        &self,
        location: String,
        state: Option<&State>,
        (lineage, serial): (String, u64),
        backup: &str,
        missing: &str,
    ) -> Result<(), StoreError> {
        let (found, expected) = match state {
            None => (
                missing.to_string(),
                format!("lineage {lineage} at serial {serial} or later (its backup {backup} is serial {serial})"),
            ),
            Some(s) if s.lineage != lineage => (
                format!("lineage {} (serial {})", s.lineage, s.serial),
                format!("lineage {lineage}, the lineage of its backup {backup}"),
            ),
            Some(s) if s.serial < serial => (
                format!("serial {} of lineage {lineage}", s.serial),
                format!(
                    "serial {serial} or later: its backup {backup} is serial {serial}, so the \
                     state went backwards"
                ),
            ),
            Some(_) => return Ok(()),
        };
        self.broken(location, found, expected, Some(&lineage))
    }
}
