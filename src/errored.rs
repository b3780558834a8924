//! Failed state writes never lose work: when saving fails mid-run (network, permissions, a
//! lost race), the run's state goes to a local `errored.<stack>.state.json` beside the config
//! (mode 0600: it holds secrets) and the user is told how to upload it with `hdh state push`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hdh_engine::state::{State, StoreError};

use crate::exit::UserError;
use crate::session::{base_dir, Session};

/// How many numbered names are tried when earlier errored files are still there.
const MAX_NAMES: u32 = 100;

/// The file name for `stack`'s errored state: `errored.<stack>.state.json`, or
/// `errored.<stack>.<n>.state.json` when that one exists.
fn name(stack: &str, n: u32) -> String {
    if n == 0 {
        format!("errored.{stack}.state.json")
    } else {
        format!("errored.{stack}.{n}.state.json")
    }
}

/// Errored state files of `stack` beside `config_file`, to warn before a run that they
/// have not been pushed.
pub fn leftovers(config_file: &Path, stack: &str) -> Vec<PathBuf> {
    let dir = base_dir(config_file);
    (0..MAX_NAMES)
        .map(|n| dir.join(name(stack, n)))
        .take_while(|p| p.exists())
        .collect()
}

/// Writes `state` to a new errored file; never replaces an existing one (it may hold work
/// not pushed yet).
fn write(config_file: &Path, stack: &str, state: &State) -> std::io::Result<PathBuf> {
    let dir = base_dir(config_file);
    let bytes = hdh_state::encode(state);
    let mut last = None;
    for n in 0..MAX_NAMES {
        let path = dir.join(name(stack, n));
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match opened {
            Ok(mut f) => {
                f.write_all(&bytes)?;
                f.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
}

/// The error for a run whose final write failed, after writing its state to an errored file.
pub fn uncommitted(
    session: &Session,
    config_file: &Path,
    failed: hdh_engine::run::Uncommitted,
) -> anyhow::Error {
    save_failed(session, config_file, &failed.state, failed.source)
}

/// The error for a failed save of `state`, after writing it to an errored file.
pub fn save_failed(
    session: &Session,
    config_file: &Path,
    state: &State,
    e: StoreError,
) -> anyhow::Error {
    let location = session.store.location();
    let stack = &session.config.name;
    let state = &hdh_engine::run::rescued(state);
    let message = format!("could not save state to {location}: {e}");
    match write(config_file, stack, state) {
        Ok(path) => {
            let shown = path.display();
            UserError::new(format!(
                "{message}\nThe state of this run (lineage {}, serial {}) was written to {shown} \
                 (mode 0600: it holds secrets).",
                state.lineage, state.serial
            ))
            .hint(format!(
                "fix the cause, then upload it with `hdh state push -f {} {shown}` (it checks \
                 lineage and serial first). Until then do not run apply or destroy: the stored \
                 state does not know what this run did.",
                config_file.display()
            ))
            .into()
        }
        Err(io) => UserError::new(format!(
            "{message}\nWriting the state of this run to {} failed too ({io}); what this run \
             created is recorded nowhere.",
            base_dir(config_file).join(name(stack, 0)).display()
        ))
        .hint(
            "what this run created is not in state: fix that directory, then check the cloud \
             before the next apply",
        )
        .into(),
    }
}
