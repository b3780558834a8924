//! Doing what a plan says: one operation per provider call, scheduled the moment its last
//! predecessor finishes, at most `parallelism` at once, with this loop as the only state writer.
//!
//! Invariants:
//! - Before a provider call starts, its intent is durable in the store; its result is durable
//!   before anything that depends on it starts. Both go out as [`Changes`] appended to the
//!   store (one write per batch of starts, carrying the results recorded since the last write);
//!   the run ends with the whole state written. A failed call keeps its intent, so the next run
//!   settles what really happened.
//! - A failure skips everything that (transitively) waits on it and nothing else.
//! - Once cancelled, nothing new starts; in-flight calls finish and are recorded.
//! - Create/update edges follow the desired graph; delete edges are the reverse of the
//!   dependencies state recorded, so destroy needs no config.
//! - What is applied is what the plan showed: an update's inputs and changed attributes come
//!   from the planner's own rule (`plan::diff`), and a result that contradicts a known planned
//!   value is refused, not recorded (`check`).
//!
//! `ops` builds the operations and their ordering edges, `schedule` runs them, `prepare` turns
//! one into a provider call, `record` writes results and outputs into state.

mod check;
mod ops;
mod prepare;
mod record;
mod schedule;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::graph::Desired;
use crate::plan::Plan;
use crate::provider::{OpContext, ProviderError, Providers};
use crate::state::{State, StateStore, StoreError};

/// The kind of step an operation performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Create,
    Update,
    Delete,
    Forget,
    Adopt,
}

impl OpKind {
    /// "create", the name in machine-readable output.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
            OpKind::Forget => "forget",
            OpKind::Adopt => "adopt",
        }
    }

    /// The inverse of [`OpKind::name`].
    pub fn from_name(name: &str) -> Option<OpKind> {
        [
            OpKind::Create,
            OpKind::Update,
            OpKind::Delete,
            OpKind::Forget,
            OpKind::Adopt,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// "creating", for progress lines.
    pub fn progressive(&self) -> &'static str {
        match self {
            OpKind::Create => "creating",
            OpKind::Update => "updating",
            OpKind::Delete => "deleting",
            OpKind::Forget => "forgetting",
            OpKind::Adopt => "adopting",
        }
    }

    /// "created", for completion lines.
    pub fn past(&self) -> &'static str {
        match self {
            OpKind::Create => "created",
            OpKind::Update => "updated",
            OpKind::Delete => "deleted",
            OpKind::Forget => "retained",
            OpKind::Adopt => "adopted",
        }
    }
}

/// What the executor reports as it goes; the CLI renders these.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        address: String,
        op: OpKind,
    },
    Finished {
        address: String,
        op: OpKind,
        id: Option<String>,
        elapsed: Duration,
    },
    Failed {
        address: String,
        op: OpKind,
        error: String,
        /// The failure's class (`OpError::class`), for machine-readable output.
        class: &'static str,
    },
    Skipped {
        address: String,
        op: OpKind,
        because: String,
    },
    /// Every [`HEARTBEAT`] while an operation runs, so long waits are visibly alive.
    StillRunning {
        address: String,
        op: OpKind,
        elapsed: Duration,
    },
}

/// How often a running operation is reported as still running.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

pub struct ExecOptions {
    pub parallelism: usize,
    /// Becomes `true` on Ctrl-C: stop scheduling, finish in-flight work, save.
    pub cancel: Option<watch::Receiver<bool>>,
    pub events: EventSink,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            parallelism: 10,
            cancel: None,
            events: Arc::new(|_| {}),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{source}")]
    Provider {
        #[source]
        source: ProviderError,
    },
    #[error("{reference} is still unknown after its resource was applied")]
    Unresolved { reference: String },
    /// The provider's answer contradicts what the plan showed; the result is not recorded.
    #[error("the provider returned a value for {attribute} other than the planned one; the result was not recorded (the next run settles what really happened)")]
    Inconsistent { attribute: String },
    #[error("{reason}")]
    Internal { reason: String },
}

impl OpError {
    /// A stable snake_case name of what kind of failure this is: a provider error's class
    /// (`ProviderError::class`), `unresolved` or `internal`.
    pub fn class(&self) -> &'static str {
        match self {
            OpError::Provider { source } => source.class(),
            OpError::Unresolved { .. } => "unresolved",
            OpError::Inconsistent { .. } => "inconsistent",
            OpError::Internal { .. } => "internal",
        }
    }
}

/// One failed operation.
#[derive(Debug)]
pub struct Failure {
    pub address: String,
    pub op: OpKind,
    pub error: OpError,
}

/// How a run went: every finished, failed, skipped and unstarted operation.
#[derive(Debug, Default)]
pub struct Report {
    pub completed: Vec<(String, OpKind, Duration)>,
    pub failed: Vec<Failure>,
    /// (address, op, the failed address it waited on)
    pub skipped: Vec<(String, OpKind, String)>,
    /// Operations never started because the run was interrupted.
    pub not_started: Vec<(String, OpKind)>,
    pub interrupted: bool,
    /// A state write failed; the run stopped scheduling at that point.
    pub store_error: Option<StoreError>,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && !self.interrupted
            && self.store_error.is_none()
    }
}

/// Everything the executor works with.
pub struct Executor<'a> {
    pub desired: &'a Desired,
    pub providers: &'a Providers,
    pub store: &'a dyn StateStore,
    pub ctx: OpContext,
}

/// Ops of a plan in a form tests and the CLI can inspect: (address, op, predecessors).
pub fn operations(
    plan: &Plan,
    desired: &Desired,
    state: &State,
) -> Vec<(String, OpKind, Vec<String>)> {
    let g = ops::build_ops(plan, desired, state);
    let mut preds: Vec<Vec<String>> = vec![Vec::new(); g.ops.len()];
    for (i, s) in g.succs.iter().enumerate() {
        for &j in s {
            preds[j].push(format!("{} {:?}", g.ops[i].address, g.ops[i].kind));
        }
    }
    g.ops
        .into_iter()
        .zip(preds)
        .map(|(o, p)| (o.address, o.kind, p))
        .collect()
}
