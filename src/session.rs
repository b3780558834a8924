//! What every command starts from: the config (validated), the providers that serve its types,
//! the state store it names, and the lock/load/settle steps before planning.

use std::path::{Path, PathBuf};

use anyhow::Result;
use hdh_engine::plan::Drift;
use hdh_engine::provider::{OpContext, Providers};
use hdh_engine::refresh::refresh;
use hdh_engine::resolve::{resolve_intents, Resolution};
use hdh_engine::state::{LockInfo, State, StateStore, StoreError};
use hdh_schema::{Config, Diagnostics, StateConfig};

use crate::exit::{user_error, UserError};
use crate::render::progress;

/// The config had errors; `main` prints each with its location.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigErrors(pub Diagnostics);

pub struct Session {
    pub config: Config,
    pub providers: Providers,
    pub store: Box<dyn StateStore>,
}

/// Every provider hdh has, for a config in `base_dir`.
pub fn providers_for(base_dir: &Path) -> Providers {
    let mut p = Providers::new();
    hdh_providers::register_local(&mut p, base_dir.to_path_buf());
    p
}

fn base_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Loads and validates the config; no state, no network.
pub fn load_config(file: &Path) -> Result<(Config, Providers)> {
    let providers = providers_for(&base_dir(file));
    let config = hdh_schema::load(file, &providers).map_err(ConfigErrors)?;
    Ok((config, providers))
}

impl Session {
    pub fn open(file: &Path) -> Result<Session> {
        let (config, providers) = load_config(file)?;
        if config.daskhub.is_some() {
            return Err(UserError::new(format!(
                "{}: the `daskhub:` blueprint is not expanded by this version of hdh",
                file.display()
            ))
            .hint("use `resources:` for now")
            .into());
        }
        let store: Box<dyn StateStore> = match &config.state {
            StateConfig::Local { path } => Box::new(hdh_state::LocalStore::new(path.clone())),
            StateConfig::S3 { bucket, key, .. } => {
                return Err(UserError::new(format!(
                    "state backend s3 (s3://{bucket}/{key}) is not available in this version of hdh"
                ))
                .hint("use `state: { backend: local }` (the default)")
                .into())
            }
        };
        Ok(Session {
            config,
            providers,
            store,
        })
    }

    pub fn ctx(&self) -> OpContext {
        let mut ctx = OpContext::new(&self.config.name, &self.config.region);
        ctx.tags = self.config.tags.clone();
        ctx.progress = progress::progress_sink();
        ctx
    }

    /// Takes the state lock for `operation`, or fails naming its holder.
    pub async fn lock(&self, operation: &str) -> Result<LockInfo> {
        let info = hdh_state::lock_info(operation);
        match self.store.lock(&info).await {
            Ok(()) => Ok(info),
            Err(StoreError::Locked { holder }) => Err(UserError::new(format!(
                "state {} is locked: {holder}",
                self.store.location()
            ))
            .hint(format!(
                "wait for that run to finish; if it is gone, `hdh force-unlock {}` removes the lock",
                holder.id
            ))
            .into()),
            Err(e) => Err(store_error(e)),
        }
    }

    pub async fn unlock(&self, info: &LockInfo) {
        if let Err(e) = self.store.unlock(info).await {
            eprintln!("warning: could not release the state lock {}: {e}", info.id);
        }
    }

    pub async fn load_state(&self) -> Result<State> {
        Ok(self
            .store
            .load()
            .await
            .map_err(store_error)?
            .unwrap_or_else(State::new))
    }

    /// Settles pending intents of an interrupted run, then refreshes (unless told not to).
    pub async fn prepare(
        &self,
        state: &mut State,
        refresh_first: bool,
    ) -> Result<(Resolution, Drift)> {
        let ctx = self.ctx();
        let resolution = resolve_intents(state, &self.providers, &ctx)
            .await
            .map_err(|e| user_error(format!("could not settle an interrupted run: {e}")))?;
        let drift = if refresh_first {
            refresh(state, &self.providers, &ctx)
                .await
                .map_err(|errors| {
                    user_error(
                        errors
                            .iter()
                            .map(|e| format!("refresh failed: {e}"))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )
                })?
        } else {
            Drift::default()
        };
        Ok((resolution, drift))
    }
}

/// A state store failure as the user sees it.
pub fn store_error(e: StoreError) -> anyhow::Error {
    let hint = match &e {
        StoreError::Invalid { .. } => {
            Some("the file was left as it is; restore it from its .backup or fix it by hand")
        }
        StoreError::Conflict { .. } => Some("someone else wrote the state; run the command again"),
        _ => None,
    };
    let mut err = UserError::new(e.to_string());
    err.hint = hint.map(String::from);
    err.into()
}

/// Tells the user what settling an interrupted run did.
pub fn report_resolution(r: &Resolution) {
    for (address, id) in &r.adopted {
        eprintln!("note: {address}: adopted {id}, created by an interrupted run");
    }
    for address in &r.not_created {
        eprintln!(
            "note: {address}: an interrupted run had not created it; it will be planned again"
        );
    }
    for address in &r.settled {
        eprintln!("note: {address}: re-read after an interrupted run");
    }
}
