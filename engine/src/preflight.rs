//! Plan-time checks by providers against the real system (e.g. an instance type not offered in
//! an availability zone): every resource a plan creates, replaces or updates, with its planned
//! inputs, goes to the provider that serves it, one call per provider.
//!
//! Invariant: preflight only reads; a finding fails the plan, it never changes it.

use std::sync::Arc;

use crate::plan::{Action, Plan};
use crate::provider::{Finding, OpContext, Provider, Providers};
use crate::state::State;
use crate::value::{unmark_map, ValueMap};

/// One provider with the `(address, type, planned inputs)` it is asked about.
type Batch = (Arc<dyn Provider>, Vec<(String, String, ValueMap)>);

/// The findings of every provider for `plan`, in plan order per provider.
pub async fn preflight(
    plan: &Plan,
    state: &State,
    providers: &Providers,
    ctx: &OpContext,
) -> Vec<Finding> {
    // Providers in order of first appearance, each with its resources.
    let mut batches: Vec<Batch> = Vec::new();
    for c in &plan.changes {
        let creating = matches!(c.action, Action::Create | Action::Replace { .. });
        if !creating && c.action != Action::Update {
            continue;
        }
        let (Some(provider), Some(ty)) = (
            providers.provider(&c.type_name),
            providers.resource_type(&c.type_name),
        ) else {
            continue;
        };
        let mut props: ValueMap = if creating {
            ValueMap::new()
        } else {
            state
                .resources
                .get(&c.address)
                .map(|r| r.attributes.clone())
                .unwrap_or_default()
        };
        for a in &c.attributes {
            if let Some(after) = &a.after {
                props.insert(a.name.clone(), after.clone());
            }
        }
        props.retain(|k, _| ty.attribute(k).is_some_and(|a| a.is_input()));
        // Providers get real values; unknown ones stay unknown (checked at apply time).
        let props = unmark_map(&props);
        let entry = (c.address.clone(), c.type_name.clone(), props);
        match batches.iter_mut().find(|(p, _)| Arc::ptr_eq(p, provider)) {
            Some((_, resources)) => resources.push(entry),
            None => batches.push((provider.clone(), vec![entry])),
        }
    }
    let mut findings = Vec::new();
    for (provider, resources) in batches {
        findings.extend(provider.preflight(ctx, &resources).await);
    }
    findings
}
