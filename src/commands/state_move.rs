//! `hdh state push FILE` and `hdh state migrate --from OLD`: moving a whole state into the
//! configured backend, with the checks that keep it from going backwards or mixing histories
//! (same lineage, newer serial, both ends locked).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use hdh_engine::state::State;

use crate::exit::{user_error, Exit, UserError};
use crate::session::{begin_run, store_error, Backend, Session};

/// Uploads a state file to the configured backend: refused unless the stored state is absent
/// or has the same lineage and an older serial.
pub async fn push(file: &Path, pushed_path: &Path, lock_timeout: Duration) -> Result<Exit> {
    let session = Session::open(file)?;
    let shown = pushed_path.display().to_string();
    let bytes = std::fs::read(pushed_path)
        .map_err(|e| user_error(format!("could not read {shown}: {e}")))?;
    let pushed = hdh_state::decode(&bytes, &shown).map_err(store_error)?;
    let location = session.store.location();

    let run = session.begin("state push", lock_timeout).await?;
    let stored = run.existed().then(|| run.state.clone());
    if let Some(stored) = &stored {
        if stored == &pushed {
            println!(
                "{location} already holds exactly this state (serial {}); nothing to push.",
                stored.serial
            );
            run.finish().await;
            return Ok(Exit::Ok);
        }
        if let Err(e) = check_newer(&pushed, &shown, stored, &location) {
            run.finish().await;
            return Err(e);
        }
    }
    run.commit_copy(&pushed).await.map_err(store_error)?;
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
    // Both ends locked: the destination first, as every run of this config does.
    let dst_run = session.begin("state migrate", lock_timeout).await?;
    let src_run = match begin_run(source, "state migrate", lock_timeout).await {
        Ok(run) => run,
        Err(e) => {
            dst_run.finish().await;
            return Err(e);
        }
    };
    let checked = if !src_run.existed() {
        Err(user_error(format!("there is no state at {src} to migrate")))
    } else if dst_run.existed() && dst_run.state == src_run.state {
        println!(
            "{dst} already holds exactly this state (serial {}); nothing to migrate.",
            src_run.state.serial
        );
        Ok(false)
    } else if dst_run.existed() {
        check_newer(&src_run.state, &src, &dst_run.state, &dst).map(|()| true)
    } else {
        Ok(true)
    };
    let state = src_run.state.clone();
    src_run.finish().await;
    match checked {
        Ok(true) => {}
        other => {
            dst_run.finish().await;
            return other.map(|_| Exit::Ok);
        }
    }
    dst_run.commit_copy(&state).await.map_err(store_error)?;
    println!(
        "Migrated the state (lineage {}, serial {}) from {src} to {dst}.\n\
         {src} was left as it was; delete it once `hdh plan` shows no changes.",
        state.lineage, state.serial
    );
    Ok(Exit::Ok)
}
