//! Planning a destroy: every recorded resource deleted (or, when retained, forgotten or
//! deleted as the retained policy says), in the order the executor will delete them.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Change, PlanError, Reason, RetainedPolicy};
use crate::state::State;

pub(super) fn plan_destroy(
    state: &State,
    policy: RetainedPolicy,
) -> Result<Vec<Change>, PlanError> {
    let mut changes = Vec::new();
    let mut undecided = Vec::new();
    let entry = Change::of_recorded;
    for (address, r) in &state.deposed {
        changes.push(entry(address, r, Action::Delete, Reason::Deposed));
    }
    for (address, r) in &state.resources {
        let change = if r.lifecycle.retain {
            match policy {
                RetainedPolicy::Refuse => {
                    undecided.push(format!("{address} ({})", r.id));
                    continue;
                }
                RetainedPolicy::Keep => entry(address, r, Action::Forget, Reason::Retain),
                RetainedPolicy::Delete => entry(address, r, Action::Delete, Reason::DeleteRetained),
            }
        } else {
            entry(address, r, Action::Delete, Reason::Destroying)
        };
        changes.push(change);
    }
    if !undecided.is_empty() {
        return Err(PlanError::RetainedNeedsDecision {
            addresses: undecided,
        });
    }
    if policy == RetainedPolicy::Delete {
        for (address, r) in &state.retained {
            changes.push(entry(
                address,
                &r.resource,
                Action::Delete,
                Reason::DeleteRetained,
            ));
        }
    }
    Ok(in_deletion_order(changes, state))
}

/// Orders a destroy plan as it will run: a resource before the ones it depends on (per the
/// dependencies state recorded), ties alphabetical. Only presentation; the executor schedules
/// from the same edges on its own.
fn in_deletion_order(changes: Vec<Change>, state: &State) -> Vec<Change> {
    let deps_of = |a: &str| -> &[String] {
        state
            .resources
            .get(a)
            .or_else(|| state.retained.get(a).map(|r| &r.resource))
            .map_or(&[], |r| r.dependencies.as_slice())
    };
    let present: BTreeSet<&str> = changes.iter().map(|c| c.address.as_str()).collect();
    // Dependents-still-to-list per address.
    let mut waiting: BTreeMap<&str, usize> = present.iter().map(|a| (*a, 0)).collect();
    for a in &present {
        for d in deps_of(a) {
            if let Some(n) = waiting.get_mut(d.as_str()) {
                *n += 1;
            }
        }
    }
    let mut ready: BTreeSet<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(a, _)| *a)
        .collect();
    let mut order: Vec<&str> = Vec::with_capacity(present.len());
    while let Some(a) = ready.pop_first() {
        order.push(a);
        for d in deps_of(a) {
            if let Some(n) = waiting.get_mut(d.as_str()) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(d.as_str());
                }
            }
        }
    }
    // Anything left (a recorded cycle) keeps its place at the end. A set, not `order.contains`:
    // that scan made destroy quadratic in the number of resources.
    let placed: BTreeSet<&str> = order.iter().copied().collect();
    let left: Vec<&str> = present
        .iter()
        .copied()
        .filter(|a| !placed.contains(a))
        .collect();
    order.extend(left);
    let rank: BTreeMap<String, usize> = order
        .iter()
        .enumerate()
        .map(|(i, a)| (a.to_string(), i))
        .collect();
    let mut changes = changes;
    changes.sort_by_key(|c| (rank[&c.address], c.reason == Reason::Deposed));
    changes
}
