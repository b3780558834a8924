//! Scheduling: the executor's loop. Each turn takes what is ready (up to `parallelism`),
//! makes the recorded results and the new intents durable in one write, starts the calls, and
//! waits for one to finish (taking the others that finish with it).
//!
//! Invariants: this loop is the only state writer during a run; an operation starts only after
//! its last predecessor finished and its intent was written; a failure skips exactly its
//! transitive successors; once cancelled, nothing new starts.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, Interval};

use super::check::{against_plan, planned_objects};
use super::ops::{build_ops, OpGraph};
use super::prepare::{Call, Outcome, Prepared};
use super::{Event, EventSink, ExecOptions, Executor, Failure, OpError, Report, HEARTBEAT};
use crate::plan::{Change, Mode, Plan};
use crate::provider::ProviderError;
use crate::state::{Changes, State};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// What a provider call task hands back: its operation, result and duration.
type Joined = Result<(usize, Result<Outcome, ProviderError>, Duration), JoinError>;

/// Where the run is: each operation's status and remaining predecessors, what is ready, what
/// changed since the last write, and the report so far.
struct Progress {
    graph: OpGraph,
    preds: Vec<usize>,
    status: Vec<Status>,
    started_at: Vec<Option<Instant>>,
    ready: VecDeque<usize>,
    running: usize,
    stopping: bool,
    /// What changed since the last write; every write makes exactly these durable.
    changes: Changes,
    report: Report,
    emit: EventSink,
}

/// Why the loop woke up.
enum Woken {
    Finished(Vec<Joined>),
    Cancelled,
    Heartbeat,
}

impl Executor<'_> {
    /// Runs `plan` against `state`, saving after every step.
    pub async fn run(&self, plan: &Plan, state: &mut State, mut opts: ExecOptions) -> Report {
        let mut p = Progress::new(build_ops(plan, self.desired, state), &opts);
        let planned = planned_objects(plan);
        let parallelism = opts.parallelism.max(1);
        let mut tasks = JoinSet::new();
        let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if plan.mode == Mode::Apply {
            self.sync_unchanged(plan, state, &mut p.changes);
        }
        loop {
            let batch = self.take_ready(&mut p, state, parallelism);
            let batch = self.commit(&mut p, state, batch).await;
            self.start(&mut p, batch, &mut tasks);
            // Nothing runs: everything ready was taken (and nothing more can become ready),
            // or the run is stopping.
            if p.running == 0 {
                break;
            }
            match self
                .wait(&mut p, &mut tasks, &mut opts.cancel, &mut heartbeat)
                .await
            {
                Woken::Finished(finished) => {
                    for joined in finished {
                        self.settle(&mut p, state, &planned, joined);
                    }
                }
                Woken::Cancelled => {
                    p.stopping = true;
                    p.report.interrupted = true;
                }
                Woken::Heartbeat => p.still_running(),
            }
        }
        self.close(plan, state, p).await
    }

    /// Takes ready operations up to the limit; operations done without a call finish here and
    /// may make more ready. Returns the calls to start.
    fn take_ready(
        &self,
        p: &mut Progress,
        state: &mut State,
        parallelism: usize,
    ) -> Vec<(usize, Call)> {
        let mut batch = Vec::new();
        while !p.stopping && p.running + batch.len() < parallelism {
            let Some(i) = p.ready.pop_front() else { break };
            let op = &p.graph.ops[i];
            p.changes.touch(&op.address);
            match self.prepare(op, state) {
                Ok(Prepared::Immediate) => {
                    let id = state.resources.get(&op.address).map(|r| r.id.clone());
                    p.done(i, id, Duration::ZERO);
                }
                Ok(Prepared::Call(call)) => batch.push((i, call)),
                Err(error) => p.fail(i, error),
            }
        }
        batch
    }

    /// One write (group commit) makes the results recorded since the last write and the
    /// intents of the batch durable together: every result before anything that depends on it
    /// starts, every intent before its call starts. A failed write starts nothing more.
    async fn commit(
        &self,
        p: &mut Progress,
        state: &mut State,
        mut batch: Vec<(usize, Call)>,
    ) -> Vec<(usize, Call)> {
        for (i, call) in &batch {
            state
                .intents
                .push(call.intent(&p.graph.ops[*i], self.desired));
        }
        if p.changes.is_empty() || p.report.store_error.is_some() {
            return batch;
        }
        match crate::run::commit_changes(self.store, state, &p.changes).await {
            Ok(()) => p.changes = Changes::default(),
            Err(e) => {
                for (i, call) in batch.drain(..) {
                    state.intents.retain(|x| x.token != call.token);
                    let op = &p.graph.ops[i];
                    p.report.not_started.push((op.address.clone(), op.kind));
                }
                p.report.store_error = Some(e);
                p.stopping = true;
            }
        }
        batch
    }

    /// Starts each call as a task.
    fn start(
        &self,
        p: &mut Progress,
        batch: Vec<(usize, Call)>,
        tasks: &mut JoinSet<(usize, Result<Outcome, ProviderError>, Duration)>,
    ) {
        for (i, call) in batch {
            let op = &p.graph.ops[i];
            p.status[i] = Status::Running;
            p.started_at[i] = Some(Instant::now());
            p.running += 1;
            (p.emit)(&Event::Started {
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
    }

    /// Waits for a call to finish (or for Ctrl-C, or the heartbeat). What finishes meanwhile
    /// goes into the same write; a store whose writes are round trips lets the others still
    /// running finish for a moment too.
    async fn wait(
        &self,
        p: &mut Progress,
        tasks: &mut JoinSet<(usize, Result<Outcome, ProviderError>, Duration)>,
        cancel: &mut Option<watch::Receiver<bool>>,
        heartbeat: &mut Interval,
    ) -> Woken {
        let first = tokio::select! {
            joined = tasks.join_next() => joined.expect("running > 0"),
            _ = cancelled(cancel), if !p.stopping => return Woken::Cancelled,
            _ = heartbeat.tick() => return Woken::Heartbeat,
        };
        let mut finished = vec![first];
        let window = self.store.batch_window();
        let until = Instant::now() + window;
        loop {
            while let Some(more) = tasks.try_join_next() {
                finished.push(more);
            }
            if window.is_zero() || finished.len() >= p.running {
                break;
            }
            match tokio::time::timeout_at(until, tasks.join_next()).await {
                Ok(Some(more)) => finished.push(more),
                _ => break,
            }
        }
        Woken::Finished(finished)
    }

    /// A finished call: its result checked against the plan and recorded, or its failure.
    fn settle(
        &self,
        p: &mut Progress,
        state: &mut State,
        planned: &BTreeMap<&str, &Change>,
        joined: Joined,
    ) {
        let (i, result, elapsed) = match joined {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        p.running -= 1;
        let op = &p.graph.ops[i];
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(source) => return p.fail(i, OpError::Provider { source }),
        };
        let finished = self.finished(op, outcome);
        if let Err(error) = against_plan(planned.get(op.address.as_str()).copied(), &finished) {
            return p.fail(i, error);
        }
        p.changes.touch(&op.address);
        self.record(op, finished, state);
        let id = state.resources.get(&op.address).map(|r| r.id.clone());
        p.done(i, id, elapsed);
    }

    /// The end of a run: what never started is reported, the outputs follow the resources,
    /// and the whole state is written (the journal folded in).
    async fn close(&self, plan: &Plan, state: &mut State, mut p: Progress) -> Report {
        for (i, s) in p.status.iter().enumerate() {
            if *s == Status::Waiting {
                let op = &p.graph.ops[i];
                p.report.not_started.push((op.address.clone(), op.kind));
            }
        }
        let report = &mut p.report;
        if report.store_error.is_none() && !report.interrupted && report.not_started.is_empty() {
            // Every op was accounted for; if some never became ready the op graph had a cycle.
            debug_assert!(p.status.iter().all(|s| *s != Status::Running));
        }
        self.finish(plan, state);
        if report.store_error.is_none() {
            if let Err(e) = crate::run::commit(self.store, state).await {
                report.store_error = Some(e);
            }
        }
        p.report
    }
}

impl Progress {
    fn new(graph: OpGraph, opts: &ExecOptions) -> Self {
        let n = graph.ops.len();
        let preds = graph.preds.clone();
        let ready = (0..n).filter(|&i| preds[i] == 0).collect();
        Progress {
            graph,
            preds,
            status: vec![Status::Waiting; n],
            started_at: vec![None; n],
            ready,
            running: 0,
            stopping: false,
            changes: Changes::default(),
            report: Report::default(),
            emit: opts.events.clone(),
        }
    }

    /// Marks an operation done and its successors ready once their last predecessor is done.
    fn done(&mut self, i: usize, id: Option<String>, elapsed: Duration) {
        let op = &self.graph.ops[i];
        self.status[i] = Status::Done;
        self.report
            .completed
            .push((op.address.clone(), op.kind, elapsed));
        (self.emit)(&Event::Finished {
            address: op.address.clone(),
            op: op.kind,
            id,
            elapsed,
        });
        for &s in &self.graph.succs[i] {
            self.preds[s] -= 1;
            if self.preds[s] == 0 && self.status[s] == Status::Waiting {
                self.ready.push_back(s);
            }
        }
    }

    /// Records a failure and skips everything that waits on it, transitively.
    fn fail(&mut self, i: usize, error: OpError) {
        let op = &self.graph.ops[i];
        self.status[i] = Status::Failed;
        (self.emit)(&Event::Failed {
            address: op.address.clone(),
            op: op.kind,
            error: error.to_string(),
            class: error.class(),
        });
        self.report.failed.push(Failure {
            address: op.address.clone(),
            op: op.kind,
            error,
        });
        let mut stack = self.graph.succs[i].clone();
        while let Some(s) = stack.pop() {
            if self.status[s] != Status::Waiting {
                continue;
            }
            self.status[s] = Status::Skipped;
            let so = &self.graph.ops[s];
            (self.emit)(&Event::Skipped {
                address: so.address.clone(),
                op: so.kind,
                because: op.address.clone(),
            });
            self.report
                .skipped
                .push((so.address.clone(), so.kind, op.address.clone()));
            stack.extend(self.graph.succs[s].iter().copied());
        }
    }

    /// Reports every running operation as still running.
    fn still_running(&self) {
        for (i, s) in self.status.iter().enumerate() {
            if let (Status::Running, Some(t)) = (s, self.started_at[i]) {
                let op = &self.graph.ops[i];
                (self.emit)(&Event::StillRunning {
                    address: op.address.clone(),
                    op: op.kind,
                    elapsed: t.elapsed(),
                });
            }
        }
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
