//! [`Run`]: the lock held from the first read to the last write, and every step between in the
//! one order that is safe.
//!
//! Invariants:
//! - Nothing is planned from a state that still holds intents: [`Run::plan`] settles them first,
//!   then refreshes (unless told not to), then plans, then preflights.
//! - Every write of state by a run goes through [`commit`] (one serial up per write), except
//!   [`Run::commit_copy`]: a state copied from elsewhere keeps its own lineage and serial.
//! - The lock is released on every path: by [`Run::commit`], [`Run::commit_copy`] or
//!   [`Run::finish`], and by the guard when a run is dropped (an error, a panic).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::graph::Desired;
use crate::plan::{self, Drift, Mode, Plan, PlanError, PlanInput};
use crate::preflight::preflight;
use crate::provider::{Finding, OpContext, Providers};
use crate::refresh::{refresh, RefreshError};
use crate::resolve::{resolve_intents, Resolution, ResolveError};
use crate::state::{LockInfo, State, StateStore, StoreError};

use super::commit::commit;
use super::lock::{lock_with_backoff, LockError, LockGuard, OnUnlockError};

/// How a run takes its lock.
pub struct LockRequest<'a> {
    /// Who takes it, for what (shown to anyone who finds it held).
    pub info: LockInfo,
    /// How long to wait for a lock another run holds (zero: fail at once).
    pub timeout: Duration,
    /// Told once, with the holder, when the run has to wait.
    pub waiting: Box<dyn FnMut(&LockInfo) + Send + 'a>,
    /// Told when the lock cannot be released (the caller says how to remove it by hand).
    pub on_unlock_error: OnUnlockError,
}

/// What a run is asked to plan.
pub struct PlanRequest<'a> {
    pub desired: &'a Desired,
    pub providers: &'a Providers,
    pub ctx: &'a OpContext,
    pub mode: Mode,
    pub targets: &'a [String],
    /// `--replace`: replace these even where nothing changed.
    pub replace: &'a [String],
    /// Read every resource before planning (`--refresh`, the default).
    pub refresh: bool,
}

/// A plan, with what the steps before it found.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    /// What settling an interrupted run's intents did.
    pub resolution: Resolution,
    /// What the refresh found changed outside hdh, or gone.
    pub drift: Drift,
    /// How long the refresh took, when there was one.
    pub refreshed_in: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{source}")]
    Lock {
        #[source]
        source: LockError,
    },
    #[error("{source}")]
    Store {
        #[source]
        source: StoreError,
    },
    #[error("could not settle an interrupted run: {source}")]
    Settle {
        #[source]
        source: ResolveError,
    },
    /// Every read that failed, not just the first.
    #[error("refresh failed: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refresh { errors: Vec<RefreshError> },
    #[error("{source}")]
    Plan {
        #[source]
        source: PlanError,
    },
    /// Providers found that the plan cannot succeed against the real system.
    #[error("the plan cannot be applied: {} finding(s)", findings.len())]
    Preflight { findings: Vec<Finding> },
}

/// A final write that failed: the run has ended (its lock released) and hands back the state it
/// could not write, so nothing it recorded is lost.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct Uncommitted {
    #[source]
    pub source: StoreError,
    pub state: Box<State>,
}

/// One run's hold on a state store: its lock, the state as loaded (and as changed since), and
/// whether anything found on the way in must be recorded even if nothing else changes.
pub struct Run {
    store: Arc<dyn StateStore>,
    guard: LockGuard,
    pub state: State,
    existed: bool,
    unrecorded: bool,
}

impl Run {
    /// Takes `store`'s lock (waiting with backoff as `lock` allows), then loads its state (a new
    /// one where none is stored). On error the lock is released.
    pub async fn begin(store: Arc<dyn StateStore>, lock: LockRequest<'_>) -> Result<Run, RunError> {
        let LockRequest {
            info,
            timeout,
            mut waiting,
            on_unlock_error,
        } = lock;
        lock_with_backoff(store.as_ref(), &info, timeout, |holder: &LockInfo| {
            waiting(holder)
        })
        .await
        .map_err(|source| RunError::Lock { source })?;
        let guard = LockGuard::new(store.clone(), info, on_unlock_error);
        let loaded = store
            .load()
            .await
            .map_err(|source| RunError::Store { source })?;
        let existed = loaded.is_some();
        let state = loaded.unwrap_or_else(State::new);
        // Settled intents, an accepted change of history (its backup then records the state
        // found as the known history) and a killed run's journal folded in are all real:
        // recorded even if the plan changes nothing.
        let unrecorded = !state.intents.is_empty()
            || store.accepted_history_change().is_some()
            || store.unfolded_journal();
        Ok(Run {
            store,
            guard,
            state,
            existed,
            unrecorded,
        })
    }

    pub fn store(&self) -> &dyn StateStore {
        self.store.as_ref()
    }

    /// The lock this run holds.
    pub fn lock_info(&self) -> &LockInfo {
        self.guard.info()
    }

    /// Whether a state was stored when the run began.
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// Whether the run found, on its way in, something state must record even if the plan
    /// changes nothing (see [`Run::begin`]).
    pub fn has_unrecorded(&self) -> bool {
        self.unrecorded
    }

    /// Settles what an interrupted run left, refreshes (unless `req.refresh` is off), plans,
    /// and has the providers check the plan against the real system. The state is changed in
    /// memory only; nothing is written.
    pub async fn plan(&mut self, req: &PlanRequest<'_>) -> Result<Planned, RunError> {
        let resolution = resolve_intents(&mut self.state, req.providers, req.ctx)
            .await
            .map_err(|source| RunError::Settle { source })?;
        let (drift, refreshed_in) = if req.refresh {
            let started = Instant::now();
            let drift = refresh(&mut self.state, req.providers, req.ctx)
                .await
                .map_err(|errors| RunError::Refresh { errors })?;
            (drift, Some(started.elapsed()))
        } else {
            (Drift::default(), None)
        };
        let plan = plan::plan(&PlanInput {
            desired: req.desired,
            state: &self.state,
            providers: req.providers,
            mode: req.mode,
            targets: req.targets,
            replace: req.replace,
            drift: &drift,
        })
        .map_err(|source| RunError::Plan { source })?;
        let findings = preflight(&plan, &self.state, req.providers, req.ctx).await;
        if !findings.is_empty() {
            return Err(RunError::Preflight { findings });
        }
        Ok(Planned {
            plan,
            resolution,
            drift,
            refreshed_in,
        })
    }

    /// Writes the state now (one serial up), keeping the lock for more work.
    pub async fn save(&mut self) -> Result<(), StoreError> {
        commit(self.store.as_ref(), &mut self.state).await?;
        self.unrecorded = false;
        Ok(())
    }

    /// Writes the state (one serial up) and ends the run, releasing the lock either way.
    pub async fn commit(mut self) -> Result<(), Uncommitted> {
        let written = commit(self.store.as_ref(), &mut self.state).await;
        self.guard.release().await;
        written.map_err(|source| Uncommitted {
            source,
            state: Box::new(self.state),
        })
    }

    /// Writes `copy`, a state from elsewhere (a pushed file, another backend), as it is, with
    /// its own lineage and serial, and ends the run, releasing the lock either way. The caller
    /// has checked that it continues the history this run loaded.
    pub async fn commit_copy(self, copy: &State) -> Result<(), StoreError> {
        let written = self.store.save(copy).await;
        self.guard.release().await;
        written
    }

    /// Ends the run without writing anything more, releasing the lock.
    pub async fn finish(self) {
        self.guard.release().await;
    }
}
