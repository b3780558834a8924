//! Recording: a finished call's result written into state with its intent cleared, what state
//! keeps of the config for unchanged resources, and the outputs. The writes to the store (each
//! with its serial bump) are `crate::run`'s.
//!
//! Invariant: only the executor's loop calls these, so state has one writer during a run.

use super::ops::{Op, Slot};
use super::prepare::{state_lookup, Outcome};
use super::{Executor, OpKind};
use crate::expr::Reference;
use crate::plan::{Action, Mode, Plan};
use crate::state::{Changes, IntentAction, ResourceState, State};
use crate::value::{mark_sensitive, overlay_keeping_marks, ValueMap};

/// What a finished call leaves, ready to record.
pub(super) enum Finished {
    Object { id: String, attributes: ValueMap },
    Deleted,
}

impl Executor<'_> {
    /// What a call's outcome leaves: for an object, what was sent overlaid with what the
    /// provider observed, marked as the type says.
    pub(super) fn finished(&self, op: &Op, outcome: Outcome) -> Finished {
        let Outcome::Observed {
            observed,
            properties,
        } = outcome
        else {
            return Finished::Deleted;
        };
        let ty = self
            .providers
            .resource_type(&op.type_name)
            .expect("planned types exist");
        let mut attributes = properties;
        overlay_keeping_marks(&mut attributes, observed.attributes);
        mark_sensitive(ty, &mut attributes);
        Finished::Object {
            id: observed.id,
            attributes,
        }
    }

    /// Records a finished call in state and clears its intent.
    pub(super) fn record(&self, op: &Op, finished: Finished, state: &mut State) {
        state
            .intents
            .retain(|x| !(x.address == op.address && intent_matches(x.action, op.kind)));
        let Finished::Object { id, attributes } = finished else {
            match op.slot {
                Slot::Current => state.resources.remove(&op.address),
                Slot::Deposed => state.deposed.remove(&op.address),
                Slot::Retained => state.retained.remove(&op.address).map(|r| r.resource),
            };
            return;
        };
        let spec = self.desired.get(&op.address);
        let entry = ResourceState {
            type_name: op.type_name.clone(),
            id,
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
    pub(super) fn sync_unchanged(&self, plan: &Plan, state: &mut State, changes: &mut Changes) {
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
    pub(super) fn finish(&self, plan: &Plan, state: &mut State) {
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
}

fn intent_matches(action: IntentAction, kind: OpKind) -> bool {
    matches!(
        (action, kind),
        (IntentAction::Create, OpKind::Create)
            | (IntentAction::Update, OpKind::Update | OpKind::Adopt)
            | (IntentAction::Delete, OpKind::Delete)
    )
}
