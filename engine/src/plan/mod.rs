//! Deciding what to do: the desired graph against (refreshed) state gives one change per
//! resource, each with an action, a reason and attribute-level before/after.
//!
//! Invariants:
//! - Planning never calls a provider and never mutates state; refresh and intent resolution
//!   happen before, the executor after.
//! - Update versus replace is decided here, from the resource type's `force_new` declarations.
//! - A plan that would delete or replace a protected resource, or destroy a retained one without
//!   a decision about retained data, is an error, not a plan.

//!
//! One module per mode: `normal` (apply: the config against state), `destroy`; `diff` holds the
//! one rule for what of an existing object changes, which the executor shares.

mod change;
mod destroy;
pub(crate) mod diff;
mod normal;

use std::collections::{BTreeMap, BTreeSet};

pub use change::{
    Action, AttrChange, Change, Mode, Plan, Reason, RetainedPolicy, StepLeft, Summary,
};

use crate::graph::Desired;
use crate::provider::Providers;
use crate::state::State;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("{} protected: {}", if changes.len() == 1 { "a change would remove a resource that is" } else { "changes would remove resources that are" }, changes.iter().map(|(a, what)| format!("{a} ({what})")).collect::<Vec<_>>().join(", "))]
    Protected { changes: Vec<(String, String)> },
    #[error("destroy would remove retained resources ({}); say what to do with them: --keep-retained keeps them, --delete-retained deletes them and their data", addresses.join(", "))]
    RetainedNeedsDecision { addresses: Vec<String> },
    #[error("--target {address}: no such resource in the config or state")]
    UnknownTarget { address: String },
    #[error("--replace {address}: no such resource in the config")]
    UnknownReplace { address: String },
    #[error("--replace is for plan and apply; destroy deletes everything anyway")]
    ReplaceInDestroy,
    #[error("{address}: resource type {type_name} is not served by any provider")]
    UnknownType { address: String, type_name: String },
}

/// What refresh learned, so the plan can tell drift from config changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// Address → input attributes whose real value differs from what state recorded.
    pub changed: BTreeMap<String, Vec<String>>,
    /// Addresses state had that no longer exist.
    pub vanished: BTreeSet<String>,
}

pub struct PlanInput<'a> {
    pub desired: &'a Desired,
    /// State after intent resolution and (optional) refresh.
    pub state: &'a State,
    pub providers: &'a Providers,
    pub mode: Mode,
    pub targets: &'a [String],
    /// `--replace`: replace these even where nothing changed.
    pub replace: &'a [String],
    pub drift: &'a Drift,
}

/// Plans the changes that take `state` to `desired` (or, in destroy mode, to nothing).
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let mut warnings = Vec::new();
    for address in input.replace {
        if !matches!(input.mode, Mode::Apply) {
            return Err(PlanError::ReplaceInDestroy);
        }
        if input.desired.get(address).is_none() {
            return Err(PlanError::UnknownReplace {
                address: address.clone(),
            });
        }
        if !input.state.resources.contains_key(address) {
            warnings.push(format!(
                "--replace {address}: it does not exist yet, so it is created, not replaced"
            ));
        }
    }
    let (mut changes, steps_left) = match input.mode {
        Mode::Apply => normal::plan_apply(input)?,
        Mode::Destroy { retained } => (destroy::plan_destroy(input.state, retained)?, Vec::new()),
    };
    if !input.targets.is_empty() {
        let keep = target_closure(input)?;
        changes.retain(|c| keep.contains(&c.address));
        warnings.push(format!(
            "plan limited to --target {}; other changes may be pending",
            input.targets.join(", ")
        ));
    }
    check_protected(&changes)?;
    for (address, r) in &input.state.retained {
        if input.mode == Mode::Apply && !changes.iter().any(|c| &c.address == address) {
            warnings.push(format!(
                "{address} ({}) is retained from an earlier destroy but no longer in the config; \
                 it stays in the cloud (hdh destroy --delete-retained removes it)",
                r.resource.id
            ));
        }
    }
    let fingerprints = changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.clone(), fingerprint_of(input.state, c)))
        .collect();
    Ok(Plan {
        mode: input.mode,
        changes,
        fingerprints,
        lineage: input.state.lineage.clone(),
        serial: input.state.serial,
        targets: input.targets.to_vec(),
        replace: input.replace.to_vec(),
        warnings,
        steps_left,
    })
}

/// The fingerprint of the state entry a change was planned against.
pub fn fingerprint_of(state: &State, change: &Change) -> Option<String> {
    if change.reason == Reason::Deposed {
        return state.deposed.get(&change.address).map(|r| r.fingerprint());
    }
    state
        .resources
        .get(&change.address)
        .or_else(|| state.retained.get(&change.address).map(|r| &r.resource))
        .map(|r| r.fingerprint())
}
fn check_protected(changes: &[Change]) -> Result<(), PlanError> {
    let blocked: Vec<(String, String)> = changes
        .iter()
        .filter(|c| c.lifecycle.protect && c.reason != Reason::Deposed)
        .filter_map(|c| match c.action {
            Action::Delete => Some((c.address.clone(), "delete".to_string())),
            Action::Replace { .. } => Some((c.address.clone(), format!("replace: {}", c.reason))),
            _ => None,
        })
        .collect();
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Protected { changes: blocked })
    }
}

/// Targets plus what they need (apply) or what needs them (destroy).
fn target_closure(input: &PlanInput<'_>) -> Result<BTreeSet<String>, PlanError> {
    let mut keep = BTreeSet::new();
    let mut stack: Vec<String> = Vec::new();
    for t in input.targets {
        let known = input.desired.get(t).is_some()
            || input.state.resources.contains_key(t)
            || input.state.retained.contains_key(t);
        if !known {
            return Err(PlanError::UnknownTarget { address: t.clone() });
        }
        stack.push(t.clone());
    }
    while let Some(a) = stack.pop() {
        if !keep.insert(a.clone()) {
            continue;
        }
        match input.mode {
            Mode::Apply => {
                if let Some(spec) = input.desired.get(&a) {
                    stack.extend(spec.dependencies());
                }
            }
            Mode::Destroy { .. } => {
                for (other, r) in &input.state.resources {
                    if r.dependencies.contains(&a) {
                        stack.push(other.clone());
                    }
                }
            }
        }
    }
    Ok(keep)
}
