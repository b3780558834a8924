//! `hdh state push FILE` and `hdh state migrate --from OLD`: moving a whole state into the
//! configured backend, with the checks that keep it from going backwards or mixing histories
//! (same lineage, newer serial, both ends locked).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use hdh_engine::run::LockGuard;
use hdh_engine::state::State;

use crate::exit::{user_error, Exit, UserError};
use crate::session::{lock_store, store_error, warn_unlock_failed, Backend, Session};

/// Uploads a state file to the configured backend: refused unless the stored state is absent
/// or has the same lineage and an older serial.
pub async fn push(file: &Path, pushed_path: &Path, lock_timeout: Duration) -> Result<Exit> {
    let session = Session::open(file)?;
    let shown = pushed_path.display().to_string();
    let bytes = std::fs::read(pushed_path)
        .map_err(|e| user_error(format!("could not read {shown}: {e}")))?;
    let pushed = hdh_state::decode(&bytes, &shown).map_err(store_error)?;
    let location = session.store.location();

    let lock = session.lock("state push", lock_timeout).await?;
    let result = async {
        let stored = session.store.load().await.map_err(store_error)?;
        if let Some(stored) = &stored {
            if stored == &pushed {
                println!(
                    "{location} already holds exactly this state (serial {}); nothing to push.",
                    stored.serial
                );
                return Ok(Exit::Ok);
            }
            check_newer(&pushed, &shown, stored, &location)?;
        }
        session.store.save(&pushed).await.map_err(store_error)?;
        println!(
            "Pushed {shown} (lineage {}, serial {}) to {location}{}. You can delete {shown} now.",
            pushed.lineage,
            pushed.serial,
            stored.map_or(" (there was no state)".to_string(), |s| format!(
                ", replacing serial {}",
                s.serial
            )),
        );
        Ok(Exit::Ok)
    }
    .await;
    session.unlock(&lock).await;
    result
}

/// Refuses `incoming` (from `from`) over `stored` (at `to`) unless it continues the same
/// history with a newer serial.
fn check_newer(incoming: &State, from: &str, stored: &State, to: &str) -> Result<()> {
    if incoming.lineage != stored.lineage {
        return Err(UserError::new(format!(
            "refusing: {from} is lineage {}, but {to} holds another state history (lineage {}); \
             nothing was written",
            incoming.lineage, stored.lineage
        ))
        .hint("check that the config points at the right state; hdh never mixes two histories")
        .into());
    }
    if incoming.serial <= stored.serial {
        return Err(UserError::new(format!(
            "refusing: {from} is serial {}, not newer than serial {} at {to}; nothing was written",
            incoming.serial, stored.serial
        ))
        .hint("someone wrote the state since; compare the two and keep the newer one")
        .into());
    }
    Ok(())
}

/// Copies the state at `from` into the backend the config names, keeping lineage and serial.
pub async fn migrate(file: &Path, from: &str, lock_timeout: Duration) -> Result<Exit> {
    let session = Session::open(file)?;
    let source = Backend::parse(from, &session.config.region)?.store();
    let (src, dst) = (source.location(), session.store.location());
    if src == dst {
        return Err(UserError::new(format!(
            "the state is already at {dst}: --from names where it is now, the config where it goes"
        ))
        .hint("change `state:` in the config to the new backend first")
        .into());
    }
    let dst_lock = session.lock("state migrate", lock_timeout).await?;
    let result = async {
        let src_lock = lock_store(source.as_ref(), "state migrate", lock_timeout).await?;
        let src_lock = LockGuard::new(source.clone(), src_lock, warn_unlock_failed);
        let copied = async {
            let state = source
                .load()
                .await
                .map_err(store_error)?
                .ok_or_else(|| user_error(format!("there is no state at {src} to migrate")))?;
            match session.store.load().await.map_err(store_error)? {
                Some(existing) if existing == state => {
                    println!(
                        "{dst} already holds exactly this state (serial {}); nothing to migrate.",
                        state.serial
                    );
                    return Ok(Exit::Ok);
                }
                Some(existing) => check_newer(&state, &src, &existing, &dst)?,
                None => {}
            }
            session.store.save(&state).await.map_err(store_error)?;
            println!(
                "Migrated the state (lineage {}, serial {}) from {src} to {dst}.\n\
                 {src} was left as it was; delete it once `hdh plan` shows no changes.",
                state.lineage, state.serial
            );
            Ok(Exit::Ok)
        }
        .await;
        src_lock.release().await;
        copied
    }
    .await;
    session.unlock(&dst_lock).await;
    result
}
