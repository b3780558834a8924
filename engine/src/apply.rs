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

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::expr::{eval_map, Reference};
use crate::graph::Desired;
use crate::plan::{mark_sensitive, overlay_keeping_marks, Action, Mode, Plan, Reason};
use crate::provider::{
    CreateRequest, DeleteRequest, Observed, OpContext, ProviderError, Providers, UpdateRequest,
};
use crate::state::{
    now_rfc3339, Changes, Intent, IntentAction, ResourceState, Retained, State, StateStore,
    StoreError,
};
use crate::value::{Value, ValueMap};

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

/// Which object a delete removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Current,
    Deposed,
    Retained,
}

#[derive(Debug, Clone)]
struct Op {
    address: String,
    kind: OpKind,
    type_name: String,
    slot: Slot,
    /// A create-before-destroy create: the existing object becomes deposed when it finishes.
    deposes: bool,
    /// A delete of a retained resource under `--delete-retained`: its data goes too.
    purge: bool,
}

/// The operations of a plan with their ordering edges (`preds[i]` must finish before `i`).
struct OpGraph {
    ops: Vec<Op>,
    succs: Vec<Vec<usize>>,
    preds: Vec<usize>,
}

fn build_ops(plan: &Plan, desired: &Desired, state: &State) -> OpGraph {
    let mut ops = Vec::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let push = |ops: &mut Vec<Op>, address: &str, type_name: &str, kind, slot, deposes| {
        ops.push(Op {
            address: address.into(),
            kind,
            type_name: type_name.into(),
            slot,
            deposes,
            purge: false,
        });
        ops.len() - 1
    };
    for c in &plan.changes {
        let (a, t) = (c.address.as_str(), c.type_name.as_str());
        match c.action {
            Action::NoOp => {}
            Action::Create => {
                push(&mut ops, a, t, OpKind::Create, Slot::Current, false);
            }
            Action::Update => {
                push(&mut ops, a, t, OpKind::Update, Slot::Current, false);
            }
            Action::Adopt => {
                push(&mut ops, a, t, OpKind::Adopt, Slot::Retained, false);
            }
            Action::Forget => {
                push(&mut ops, a, t, OpKind::Forget, Slot::Current, false);
            }
            Action::Delete => {
                let slot = match c.reason {
                    Reason::Deposed => Slot::Deposed,
                    Reason::DeleteRetained if !state.resources.contains_key(a) => Slot::Retained,
                    _ => Slot::Current,
                };
                let d = push(&mut ops, a, t, OpKind::Delete, slot, false);
                ops[d].purge = c.reason == Reason::DeleteRetained;
            }
            Action::Replace {
                create_before_destroy: false,
            } => {
                let old_type = state.resources.get(a).map_or(t, |r| r.type_name.as_str());
                let d = push(&mut ops, a, old_type, OpKind::Delete, Slot::Current, false);
                let cr = push(&mut ops, a, t, OpKind::Create, Slot::Current, false);
                edges.push((d, cr));
            }
            Action::Replace {
                create_before_destroy: true,
            } => {
                let old_type = state.resources.get(a).map_or(t, |r| r.type_name.as_str());
                let cr = push(&mut ops, a, t, OpKind::Create, Slot::Current, true);
                let d = push(&mut ops, a, old_type, OpKind::Delete, Slot::Deposed, false);
                edges.push((cr, d));
            }
        }
    }

    let mut forward: BTreeMap<&str, usize> = BTreeMap::new();
    let mut deletes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        match op.kind {
            OpKind::Create | OpKind::Update | OpKind::Adopt => {
                forward.insert(op.address.as_str(), i);
            }
            OpKind::Delete | OpKind::Forget => {
                deletes.entry(op.address.as_str()).or_default().push(i)
            }
        }
    }
    let entry_of = |op: &Op| -> Option<&ResourceState> {
        match op.slot {
            Slot::Current => state.resources.get(&op.address),
            // A create-before-destroy's old object is still current when the plan is built.
            Slot::Deposed => state
                .deposed
                .get(&op.address)
                .or_else(|| state.resources.get(&op.address)),
            Slot::Retained => state.retained.get(&op.address).map(|r| &r.resource),
        }
    };
    // Who depends on what, per state: one pass, so edges cost O(edges), not O(ops × state).
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (other, r) in &state.resources {
        for d in &r.dependencies {
            dependents
                .entry(d.as_str())
                .or_default()
                .push(other.as_str());
        }
    }
    for (i, op) in ops.iter().enumerate() {
        match op.kind {
            OpKind::Create | OpKind::Update | OpKind::Adopt => {
                // After whatever it references is created or updated.
                if let Some(spec) = desired.get(&op.address) {
                    for d in spec.dependencies() {
                        if let Some(&j) = forward.get(d.as_str()) {
                            edges.push((j, i));
                        }
                    }
                }
            }
            OpKind::Delete | OpKind::Forget => {
                let Some(entry) = entry_of(op) else { continue };
                // Before the things it depended on are deleted.
                for d in &entry.dependencies {
                    for &j in deletes.get(d.as_str()).into_iter().flatten() {
                        if j != i {
                            edges.push((i, j));
                        }
                    }
                }
                // After dependents stop referring to it: a deposed object waits for everything
                // that references the new one; a deleted one for dependents that dropped it.
                for other in dependents.get(op.address.as_str()).into_iter().flatten() {
                    let Some(&j) = forward.get(other) else {
                        continue;
                    };
                    let still_refers = desired
                        .get(other)
                        .is_some_and(|s| s.dependencies().contains(&op.address));
                    if op.slot == Slot::Deposed || !still_refers {
                        edges.push((j, i));
                    }
                }
            }
        }
    }
    let mut succs = vec![Vec::new(); ops.len()];
    let mut preds = vec![0; ops.len()];
    edges.sort_unstable();
    edges.dedup();
    for (from, to) in edges {
        succs[from].push(to);
        preds[to] += 1;
    }
    OpGraph { ops, succs, preds }
}

/// The result a finished provider call sends back to the loop.
enum Outcome {
    Observed {
        observed: Observed,
        properties: ValueMap,
    },
    Deleted,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Everything the executor works with.
pub struct Executor<'a> {
    pub desired: &'a Desired,
    pub providers: &'a Providers,
    pub store: &'a dyn StateStore,
    pub ctx: OpContext,
}

impl Executor<'_> {
    /// Runs `plan` against `state`, saving after every step.
    pub async fn run(&self, plan: &Plan, state: &mut State, mut opts: ExecOptions) -> Report {
        let graph = build_ops(plan, self.desired, state);
        let n = graph.ops.len();
        let mut preds = graph.preds.clone();
        let mut status = vec![Status::Waiting; n];
        let mut ready: VecDeque<usize> = (0..n).filter(|&i| preds[i] == 0).collect();
        let mut report = Report::default();
        let mut running = 0usize;
        let mut stopping = false;
        let mut tasks: JoinSet<(usize, Result<Outcome, ProviderError>, Duration)> = JoinSet::new();
        let parallelism = opts.parallelism.max(1);
        let emit = opts.events.clone();
        let mut started_at: Vec<Option<Instant>> = vec![None; n];
        let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        // What changed since the last write; every write makes exactly these durable.
        let mut changes = Changes::default();
        if plan.mode == Mode::Apply {
            self.sync_unchanged(plan, state, &mut changes);
        }

        loop {
            // Take what is ready, up to the limit; operations done without a call finish here
            // and may make more ready.
            let mut batch = Vec::new();
            while !stopping && running + batch.len() < parallelism {
                let Some(i) = ready.pop_front() else { break };
                let op = &graph.ops[i];
                changes.touch(&op.address);
                match self.prepare(op, state) {
                    Ok(Prepared::Immediate) => {
                        status[i] = Status::Done;
                        emit(&Event::Finished {
                            address: op.address.clone(),
                            op: op.kind,
                            id: state.resources.get(&op.address).map(|r| r.id.clone()),
                            elapsed: Duration::ZERO,
                        });
                        report
                            .completed
                            .push((op.address.clone(), op.kind, Duration::ZERO));
                        release(i, &graph, &mut preds, &status, &mut ready);
                    }
                    Ok(Prepared::Call(call)) => batch.push((i, call)),
                    Err(error) => {
                        fail(i, error, &graph, &mut status, &mut report, &emit);
                    }
                }
            }
            for (i, call) in &batch {
                state
                    .intents
                    .push(call.intent(&graph.ops[*i], self.desired));
            }
            // One write (group commit) makes the results recorded since the last write and the
            // intents of the batch durable together: every result before anything that depends
            // on it starts, every intent before its call starts.
            if !changes.is_empty() && report.store_error.is_none() {
                match persist(self.store, state, &changes).await {
                    Ok(()) => changes = Changes::default(),
                    Err(e) => {
                        for (i, call) in batch.drain(..) {
                            state.intents.retain(|x| x.token != call.token);
                            report
                                .not_started
                                .push((graph.ops[i].address.clone(), graph.ops[i].kind));
                        }
                        report.store_error = Some(e);
                        stopping = true;
                    }
                }
            }
            for (i, call) in batch {
                let op = &graph.ops[i];
                status[i] = Status::Running;
                started_at[i] = Some(Instant::now());
                running += 1;
                emit(&Event::Started {
                    address: op.address.clone(),
                    op: op.kind,
                });
                let provider = self
                    .providers
                    .provider(&op.type_name)
                    .expect("planned types exist")
                    .clone();
                let ctx = self.ctx.clone();
                tasks.spawn(async move {
                    let started = Instant::now();
                    let result = call.execute(provider.as_ref(), &ctx).await;
                    (i, result, started.elapsed())
                });
            }
            // Nothing runs: everything ready was taken (and nothing more can become ready),
            // or the run is stopping.
            if running == 0 {
                break;
            }

            // Wait for a call to finish (or for Ctrl-C).
            let first = tokio::select! {
                joined = tasks.join_next() => joined,
                _ = cancelled(&mut opts.cancel), if !stopping => {
                    stopping = true;
                    report.interrupted = true;
                    continue;
                }
                _ = heartbeat.tick() => {
                    for (i, s) in status.iter().enumerate() {
                        if let (Status::Running, Some(t)) = (s, started_at[i]) {
                            let op = &graph.ops[i];
                            emit(&Event::StillRunning { address: op.address.clone(), op: op.kind, elapsed: t.elapsed() });
                        }
                    }
                    continue;
                }
            };
            let mut finished = vec![first.expect("running > 0")];
            // Group commit: what finished meanwhile goes into the same write; a store whose
            // writes are round trips lets the others still running finish for a moment too.
            let window = self.store.batch_window();
            let until = Instant::now() + window;
            loop {
                while let Some(more) = tasks.try_join_next() {
                    finished.push(more);
                }
                if window.is_zero() || finished.len() >= running {
                    break;
                }
                match tokio::time::timeout_at(until, tasks.join_next()).await {
                    Ok(Some(more)) => finished.push(more),
                    _ => break,
                }
            }
            for joined in finished {
                let (i, result, elapsed) = match joined {
                    Ok(r) => r,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                running -= 1;
                let op = &graph.ops[i];
                match result {
                    Ok(outcome) => {
                        changes.touch(&op.address);
                        self.record(op, outcome, state);
                        status[i] = Status::Done;
                        report
                            .completed
                            .push((op.address.clone(), op.kind, elapsed));
                        emit(&Event::Finished {
                            address: op.address.clone(),
                            op: op.kind,
                            id: state.resources.get(&op.address).map(|r| r.id.clone()),
                            elapsed,
                        });
                        release(i, &graph, &mut preds, &status, &mut ready);
                    }
                    Err(source) => {
                        fail(
                            i,
                            OpError::Provider { source },
                            &graph,
                            &mut status,
                            &mut report,
                            &emit,
                        );
                    }
                }
            }
        }

        for (i, s) in status.iter().enumerate() {
            if *s == Status::Waiting {
                report
                    .not_started
                    .push((graph.ops[i].address.clone(), graph.ops[i].kind));
            }
        }
        if report.store_error.is_none() && !report.interrupted && report.not_started.is_empty() {
            // Every op was accounted for; if some never became ready the op graph had a cycle.
            debug_assert!(status.iter().all(|s| *s != Status::Running));
        }
        self.finish(plan, state);
        // The run ends with the whole state written (the journal folded in).
        if report.store_error.is_none() {
            if let Err(e) = save(self.store, state).await {
                report.store_error = Some(e);
            }
        }
        report
    }

    /// For a plan with no changes: brings what state records about the config (lifecycle,
    /// dependencies, outputs) up to date. Returns whether anything changed; the caller saves.
    pub fn record_config(&self, plan: &Plan, state: &mut State) -> bool {
        let before = state.clone();
        if plan.mode == Mode::Apply {
            self.sync_unchanged(plan, state, &mut Changes::default());
        }
        self.finish(plan, state);
        *state != before
    }

    /// Dependencies and lifecycle of unchanged resources follow the config (destroy order and
    /// `protect` come from state).
    fn sync_unchanged(&self, plan: &Plan, state: &mut State, changes: &mut Changes) {
        for c in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
            if let (Some(spec), Some(entry)) = (
                self.desired.get(&c.address),
                state.resources.get_mut(&c.address),
            ) {
                let dependencies: Vec<String> = spec.dependencies().into_iter().collect();
                if entry.dependencies != dependencies || entry.lifecycle != spec.lifecycle {
                    entry.dependencies = dependencies;
                    entry.lifecycle = spec.lifecycle.clone();
                    changes.touch(&c.address);
                }
            }
        }
    }

    /// Outputs follow the resources: evaluated after apply, cleared when nothing is left.
    fn finish(&self, plan: &Plan, state: &mut State) {
        if let Mode::Destroy { .. } = plan.mode {
            if state.resources.is_empty() {
                state.outputs.clear();
            }
            return;
        }
        let lookup = |r: &Reference| state_lookup(state, r);
        let mut outputs = ValueMap::new();
        for (name, expr) in &self.desired.outputs {
            let v = expr.eval(&lookup);
            if !v.contains_unknown() {
                outputs.insert(name.clone(), v);
            }
        }
        state.outputs = outputs;
    }

    fn prepare(&self, op: &Op, state: &mut State) -> Result<Prepared, OpError> {
        match op.kind {
            OpKind::Forget => {
                if let Some(resource) = state.resources.remove(&op.address) {
                    state.retained.insert(
                        op.address.clone(),
                        Retained {
                            resource,
                            retained_at: now_rfc3339(),
                        },
                    );
                }
                Ok(Prepared::Immediate)
            }
            OpKind::Delete => {
                let entry = match op.slot {
                    Slot::Current => state.resources.get(&op.address),
                    Slot::Deposed => state.deposed.get(&op.address),
                    Slot::Retained => state.retained.get(&op.address).map(|r| &r.resource),
                };
                let Some(entry) = entry else {
                    return Ok(Prepared::Immediate);
                };
                Ok(Prepared::Call(Call {
                    token: uuid::Uuid::new_v4().to_string(),
                    request: Request::Delete(DeleteRequest {
                        address: op.address.clone(),
                        type_name: entry.type_name.clone(),
                        id: entry.id.clone(),
                        prior: unmark(&entry.attributes),
                        purge: op.purge,
                    }),
                    slot: op.slot,
                    marked: entry.attributes.clone(),
                }))
            }
            OpKind::Create | OpKind::Update | OpKind::Adopt => {
                let spec = self
                    .desired
                    .get(&op.address)
                    .ok_or_else(|| OpError::Internal {
                        reason: format!("{} is not in the config", op.address),
                    })?;
                let ty = self.providers.resource_type(&op.type_name).ok_or_else(|| {
                    OpError::Internal {
                        reason: format!("no provider serves {}", op.type_name),
                    }
                })?;
                let lookup = |r: &Reference| state_lookup(state, r);
                let mut marked = eval_map(&spec.properties, &lookup);
                if let Some((k, _)) = marked.iter().find(|(_, v)| v.contains_unknown()) {
                    let reference = spec.properties[k]
                        .references()
                        .into_iter()
                        .find(|r| state_lookup(state, r).contains_unknown())
                        .map_or_else(|| k.clone(), |r| r.to_string());
                    return Err(OpError::Unresolved { reference });
                }
                mark_sensitive(ty, &mut marked);
                if op.kind == OpKind::Create {
                    return Ok(Prepared::Call(
                        Call {
                            token: uuid::Uuid::new_v4().to_string(),
                            request: Request::Create(CreateRequest {
                                address: op.address.clone(),
                                type_name: op.type_name.clone(),
                                properties: unmark(&marked),
                                token: String::new(),
                            }),
                            slot: Slot::Current,
                            marked,
                        }
                        .with_token(),
                    ));
                }
                // Update or adopt: compare with what the object really is.
                let prior = if op.kind == OpKind::Adopt {
                    let Some(r) = state.retained.remove(&op.address) else {
                        return Err(OpError::Internal {
                            reason: format!("{} is no longer retained", op.address),
                        });
                    };
                    state.resources.insert(op.address.clone(), r.resource);
                    state.resources.get_mut(&op.address).expect("just inserted")
                } else {
                    state
                        .resources
                        .get_mut(&op.address)
                        .ok_or_else(|| OpError::Internal {
                            reason: format!("{} is not in state", op.address),
                        })?
                };
                prior.dependencies = spec.dependencies().into_iter().collect();
                prior.lifecycle = spec.lifecycle.clone();
                for ignored in &spec.lifecycle.ignore_changes {
                    match prior.attributes.get(ignored) {
                        Some(v) => {
                            marked.insert(ignored.clone(), v.clone());
                        }
                        None => {
                            marked.remove(ignored);
                        }
                    }
                }
                // Exactly what the planner planned for what the system owns, and for inputs
                // that move one step at a time.
                for a in ty
                    .inputs()
                    .filter(|a| a.after_create.is_some() || a.step.is_some())
                {
                    let Some(configured) = marked.get(&a.name).cloned() else {
                        continue;
                    };
                    let real = prior.attributes.get(&a.name);
                    match ty.planned_input(&[], &a.name, &configured, real) {
                        Some(v) => marked.insert(a.name.clone(), v),
                        None => marked.remove(&a.name),
                    };
                }
                let changed: Vec<String> = marked
                    .iter()
                    .filter(|(k, v)| {
                        prior.attributes.get(*k).map(Value::unmarked) != Some(v.unmarked())
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                if changed.is_empty() {
                    return Ok(Prepared::Immediate);
                }
                Ok(Prepared::Call(Call {
                    token: uuid::Uuid::new_v4().to_string(),
                    request: Request::Update(UpdateRequest {
                        address: op.address.clone(),
                        type_name: op.type_name.clone(),
                        id: prior.id.clone(),
                        prior: unmark(&prior.attributes),
                        properties: unmark(&marked),
                        changed,
                    }),
                    slot: Slot::Current,
                    marked,
                }))
            }
        }
    }

    /// Records a finished call in state and clears its intent.
    fn record(&self, op: &Op, outcome: Outcome, state: &mut State) {
        state
            .intents
            .retain(|x| !(x.address == op.address && intent_matches(x.action, op.kind)));
        match outcome {
            Outcome::Deleted => {
                match op.slot {
                    Slot::Current => state.resources.remove(&op.address),
                    Slot::Deposed => state.deposed.remove(&op.address),
                    Slot::Retained => state.retained.remove(&op.address).map(|r| r.resource),
                };
            }
            Outcome::Observed {
                observed,
                properties,
            } => {
                let ty = self
                    .providers
                    .resource_type(&op.type_name)
                    .expect("planned types exist");
                let mut attributes = properties;
                overlay_keeping_marks(&mut attributes, observed.attributes);
                mark_sensitive(ty, &mut attributes);
                let spec = self.desired.get(&op.address);
                let entry = ResourceState {
                    type_name: op.type_name.clone(),
                    id: observed.id,
                    attributes,
                    dependencies: spec
                        .map(|s| s.dependencies().into_iter().collect())
                        .unwrap_or_default(),
                    lifecycle: spec.map(|s| s.lifecycle.clone()).unwrap_or_default(),
                };
                if let Some(old) = state.resources.insert(op.address.clone(), entry) {
                    if op.deposes {
                        state.deposed.insert(op.address.clone(), old);
                    }
                }
            }
        }
    }
}

fn intent_matches(action: IntentAction, kind: OpKind) -> bool {
    matches!(
        (action, kind),
        (IntentAction::Create, OpKind::Create)
            | (IntentAction::Update, OpKind::Update | OpKind::Adopt)
            | (IntentAction::Delete, OpKind::Delete)
    )
}

/// A reference answered from state as it is now.
fn state_lookup(state: &State, r: &Reference) -> Value {
    match state.resources.get(&r.address) {
        None => Value::Unknown,
        Some(e) if r.attribute == "id" => Value::String(e.id.clone()),
        Some(e) => e
            .attributes
            .get(&r.attribute)
            .cloned()
            .unwrap_or(Value::Null),
    }
}

fn unmark(m: &ValueMap) -> ValueMap {
    m.iter().map(|(k, v)| (k.clone(), v.unmarked())).collect()
}

enum Prepared {
    /// Done without a provider call (forget, an update that turned out to change nothing).
    Immediate,
    Call(Call),
}

enum Request {
    Create(CreateRequest),
    Update(UpdateRequest),
    Delete(DeleteRequest),
}

/// A provider call ready to go, with what its intent records.
struct Call {
    token: String,
    request: Request,
    slot: Slot,
    /// The properties with their sensitive marks, recorded in state after the call.
    marked: ValueMap,
}

impl Call {
    fn with_token(mut self) -> Self {
        if let Request::Create(c) = &mut self.request {
            c.token = self.token.clone();
        }
        self
    }

    fn intent(&self, op: &Op, desired: &Desired) -> Intent {
        let spec = desired.get(&op.address);
        let (action, properties) = match &self.request {
            Request::Create(_) => (IntentAction::Create, self.marked.clone()),
            Request::Update(_) => (IntentAction::Update, self.marked.clone()),
            Request::Delete(d) => {
                let mut p = ValueMap::new();
                p.insert("id".into(), Value::String(d.id.clone()));
                if self.slot == Slot::Deposed {
                    p.insert("deposed".into(), Value::Bool(true));
                }
                (IntentAction::Delete, p)
            }
        };
        Intent {
            address: op.address.clone(),
            type_name: op.type_name.clone(),
            action,
            token: self.token.clone(),
            properties,
            dependencies: spec
                .map(|s| s.dependencies().into_iter().collect())
                .unwrap_or_default(),
            lifecycle: spec.map(|s| s.lifecycle.clone()).unwrap_or_default(),
            started_at: now_rfc3339(),
        }
    }

    async fn execute(
        self,
        provider: &dyn crate::provider::Provider,
        ctx: &OpContext,
    ) -> Result<Outcome, ProviderError> {
        match self.request {
            Request::Create(req) => {
                provider
                    .create(ctx, &req)
                    .await
                    .map(|observed| Outcome::Observed {
                        observed,
                        properties: self.marked,
                    })
            }
            Request::Update(req) => {
                provider
                    .update(ctx, &req)
                    .await
                    .map(|observed| Outcome::Observed {
                        observed,
                        properties: self.marked,
                    })
            }
            Request::Delete(req) => match provider.delete(ctx, &req).await {
                Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(Outcome::Deleted),
                Err(e) => Err(e),
            },
        }
    }
}

/// Marks successors of a finished op ready once their last predecessor is done.
fn release(
    i: usize,
    graph: &OpGraph,
    preds: &mut [usize],
    status: &[Status],
    ready: &mut VecDeque<usize>,
) {
    for &s in &graph.succs[i] {
        preds[s] -= 1;
        if preds[s] == 0 && status[s] == Status::Waiting {
            ready.push_back(s);
        }
    }
}

/// Records a failure and skips everything that waits on it, transitively.
fn fail(
    i: usize,
    error: OpError,
    graph: &OpGraph,
    status: &mut [Status],
    report: &mut Report,
    emit: &EventSink,
) {
    let op = &graph.ops[i];
    status[i] = Status::Failed;
    emit(&Event::Failed {
        address: op.address.clone(),
        op: op.kind,
        error: error.to_string(),
        class: error.class(),
    });
    report.failed.push(Failure {
        address: op.address.clone(),
        op: op.kind,
        error,
    });
    let mut stack = graph.succs[i].clone();
    while let Some(s) = stack.pop() {
        if status[s] != Status::Waiting {
            continue;
        }
        status[s] = Status::Skipped;
        let so = &graph.ops[s];
        emit(&Event::Skipped {
            address: so.address.clone(),
            op: so.kind,
            because: op.address.clone(),
        });
        report
            .skipped
            .push((so.address.clone(), so.kind, op.address.clone()));
        stack.extend(graph.succs[s].iter().copied());
    }
}

async fn cancelled(cancel: &mut Option<watch::Receiver<bool>>) {
    match cancel {
        Some(rx) => {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
        None => std::future::pending().await,
    }
}

/// One serial up, then the changes appended (or the whole state written, as the store does).
async fn persist(
    store: &dyn StateStore,
    state: &mut State,
    changes: &Changes,
) -> Result<(), StoreError> {
    state.bump_serial(&store.location())?;
    store.append(state, changes).await
}

/// One serial up, then the whole state written.
async fn save(store: &dyn StateStore, state: &mut State) -> Result<(), StoreError> {
    state.bump_serial(&store.location())?;
    store.save(state).await
}

/// Ops of a plan in a form tests and the CLI can inspect: (address, op, predecessors).
pub fn operations(
    plan: &Plan,
    desired: &Desired,
    state: &State,
) -> Vec<(String, OpKind, Vec<String>)> {
    let g = build_ops(plan, desired, state);
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
