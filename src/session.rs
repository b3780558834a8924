//! What every command starts from: the config (validated), the providers that serve its types,
//! the state store it names, and how a run on that store begins (the engine's [`Run`] owns the
//! steps; this says what the user sees of them).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use hdh_engine::duration::clock;
use hdh_engine::provider::{Cleanup, OpContext, Providers};
use hdh_engine::resolve::Resolution;
use hdh_engine::run::{LockError, LockRequest, Run, RunError};
use hdh_engine::state::{LockInfo, State, StateStore, StoreError};
use hdh_schema::{Config, Diagnostics, StateConfig};
use hdh_state::LocalStore;
use hdh_state_s3::{S3Settings, S3Store};

use crate::exit::{user_error, UserError};
use crate::render::progress;

/// The config had errors; `main` prints each with its location.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigErrors(pub Diagnostics);

pub struct Session {
    pub config: Config,
    pub providers: Providers,
    pub store: Arc<dyn StateStore>,
    /// The same store, by kind, for what only one backend can tell (bucket versioning).
    pub backend: Backend,
    /// The deadline of each wait inside one provider operation (`--timeout`).
    pub op_timeout: Duration,
    /// `--json`: progress and cleanups are JSON events, provider reports are not printed.
    pub json: bool,
    /// What providers removed that hdh had not created, in the order it happened; the closing
    /// report lists them.
    pub cleanups: Arc<Mutex<Vec<Cleanup>>>,
    /// What each running operation's provider last reported, for heartbeats.
    pub reports: progress::Reports,
}

/// `--allow-lineage-change`: every store opened accepts a break in the recorded history.
static ALLOW_LINEAGE_CHANGE: AtomicBool = AtomicBool::new(false);

pub fn set_allow_lineage_change(allow: bool) {
    ALLOW_LINEAGE_CHANGE.store(allow, Ordering::Relaxed);
}

/// `--timeout`'s default: the longest wait inside one operation.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(3600);

/// A state store by kind.
#[derive(Clone)]
pub enum Backend {
    Local(Arc<LocalStore>),
    S3(Arc<S3Store>),
}

impl Backend {
    /// The store `state` names; `region` is the stack's, used when S3 state names none.
    pub fn open(state: &StateConfig, region: &str) -> Backend {
        match state {
            StateConfig::Local { path } => Backend::Local(Arc::new(LocalStore::new(path.clone()))),
            StateConfig::S3 {
                bucket,
                key,
                region: state_region,
                kms_key_id,
            } => Backend::S3(Arc::new(S3Store::new(S3Settings {
                bucket: bucket.clone(),
                key: key.clone(),
                region: state_region.clone().unwrap_or_else(|| region.to_string()),
                kms_key_id: kms_key_id.clone(),
            }))),
        }
    }

    /// A store named on the command line: `s3://bucket/key` or a local path.
    pub fn parse(source: &str, region: &str) -> Result<Backend> {
        match source.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() || key.is_empty() {
                    return Err(user_error(format!(
                        "`{source}` is not an S3 state location: expected s3://BUCKET/KEY"
                    )));
                }
                Ok(Backend::open(
                    &StateConfig::S3 {
                        bucket: bucket.into(),
                        key: key.into(),
                        region: None,
                        kms_key_id: None,
                    },
                    region,
                ))
            }
            None => Ok(Backend::open(
                &StateConfig::Local {
                    path: PathBuf::from(source),
                },
                region,
            )),
        }
    }

    pub fn store(&self) -> Arc<dyn StateStore> {
        let store: Arc<dyn StateStore> = match self {
            Backend::Local(s) => s.clone(),
            Backend::S3(s) => s.clone(),
        };
        if ALLOW_LINEAGE_CHANGE.load(Ordering::Relaxed) {
            store.accept_history_change();
        }
        store
    }
}

/// Every provider hdh has, for a config in `base_dir`.
pub fn providers_for(base_dir: &Path) -> Providers {
    let mut p = Providers::new();
    hdh_providers::register_local(&mut p, base_dir.to_path_buf());
    hdh_providers::register_aws(&mut p);
    hdh_providers::register_k8s(&mut p);
    p
}

pub fn base_dir(file: &Path) -> PathBuf {
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
        let backend = Backend::open(&config.state, &config.region);
        Ok(Session {
            config,
            providers,
            store: backend.store(),
            backend,
            op_timeout: DEFAULT_OP_TIMEOUT,
            json: false,
            cleanups: Arc::default(),
            reports: progress::Reports::default(),
        })
    }

    /// The context every provider call of this run gets: stack, region, tags, the wait
    /// deadline, progress, and cleanups (printed as they happen and collected for the report).
    pub fn ctx(&self) -> OpContext {
        let mut ctx = OpContext::new(&self.config.name, &self.config.region);
        ctx.tags = self.config.tags.clone();
        ctx.timeout = self.op_timeout;
        ctx.progress = progress::progress_sink(self.json, self.reports.clone());
        ctx.cleanups = progress::cleanup_sink(self.cleanups.clone(), self.json);
        ctx
    }

    /// Everything cleaned up so far.
    pub fn cleaned_up(&self) -> Vec<Cleanup> {
        self.cleanups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Begins a run of `operation` on the config's state: its lock (waiting up to `timeout`
    /// for a held one), its state loaded.
    pub async fn begin(&self, operation: &str, timeout: Duration) -> Result<Run> {
        begin_run(self.store.clone(), operation, timeout).await
    }

    /// The state as stored, for commands that only read it (no lock: a run may be writing).
    pub async fn load_state(&self) -> Result<State> {
        let state = self.store.load().await.map_err(store_error)?;
        warn_history_change(self.store.as_ref());
        Ok(state.unwrap_or_else(State::new))
    }
}

/// Begins a run of `operation` on `store` (the engine waits with backoff up to `timeout` for a
/// held lock): says once whom it waits for, names the holder when it gives up, and says what it
/// found on the way in (a stale lock replaced, a change of history accepted).
pub async fn begin_run(
    store: Arc<dyn StateStore>,
    operation: &str,
    timeout: Duration,
) -> Result<Run> {
    let location = store.location();
    let request = LockRequest {
        info: hdh_state::lock_info(operation),
        timeout,
        waiting: Box::new(move |holder: &LockInfo| {
            eprintln!(
                "State {location} is locked: {}; waiting up to {} for it…",
                describe_lock(holder),
                clock(timeout)
            );
        }),
        on_unlock_error: warn_unlock_failed,
    };
    let run = match Run::begin(store.clone(), request).await {
        Ok(run) => run,
        Err(RunError::Lock {
            source: LockError::Held { location, holder },
        }) => {
            let waited = if timeout.is_zero() {
                String::new()
            } else {
                format!(" (waited {})", clock(timeout))
            };
            return Err(UserError::new(format!(
                "state {location} is locked: {}{waited}",
                describe_lock(&holder)
            ))
            .hint(format!(
                "wait for that run to finish (or pass --lock-timeout 5m); if it is gone, \
                 `hdh force-unlock {}` removes the lock",
                holder.id
            ))
            .into());
        }
        Err(e) => return Err(crate::run_error::run_error(e)),
    };
    if let Some(old) = store.replaced_stale_lock() {
        eprintln!(
            "Removed a stale lock: {} (that process no longer runs on this host; \
             its run was interrupted, and this one settles what it left)",
            describe_lock(&old)
        );
    }
    warn_history_change(store.as_ref());
    Ok(run)
}

/// Says that the store accepted a state that is not the one this stack last recorded
/// (`--allow-lineage-change`).
fn warn_history_change(store: &dyn StateStore) {
    if let Some(accepted) = store.accepted_history_change() {
        eprintln!(
            "warning: --allow-lineage-change: accepting state {} although it is not the one \
             this stack last recorded ({accepted})",
            store.location()
        );
    }
}

/// The warning for a lock that could not be released, with how to remove it by hand.
pub fn warn_unlock_failed(location: &str, info: &LockInfo, error: &str) {
    eprintln!(
        "warning: could not release the state lock {}: {error}\n  hint: once {location} is \
         reachable, `hdh force-unlock {}` removes it",
        info.id, info.id
    );
}

/// "lock ID held by alice@host (pid 42) for `apply` since 2026-…Z (3m12s ago)".
pub fn describe_lock(holder: &LockInfo) -> String {
    match hdh_state::lock_age(holder) {
        Some(age) => format!("{holder} ({} ago)", clock(age)),
        None => holder.to_string(),
    }
}

/// A state store failure as the user sees it.
pub fn store_error(e: StoreError) -> anyhow::Error {
    let hint = match &e {
        StoreError::Invalid { .. } => {
            Some("the file was left as it is; restore it from its .backup or fix it by hand")
        }
        StoreError::Conflict { .. } => Some("someone else wrote the state; run the command again"),
        StoreError::History { .. } => Some(
            "nothing was changed. If this state really is the one to use (restored or replaced \
             on purpose), run again with --allow-lineage-change",
        ),
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
