//! Turning one operation into a provider call: its request from the config evaluated against
//! state as it is now, and the intent recorded before the call starts.
//!
//! Invariant: an update sends exactly what the planner planned for that object, by the
//! planner's own rule (`plan::diff`), so apply never re-derives a diff of its own.

use super::ops::{Op, Slot};
use super::{Executor, OpError, OpKind};
use crate::expr::{eval_map, Reference};
use crate::graph::{Desired, ResourceSpec};
use crate::plan::diff::{changed_inputs, planned_after};
use crate::provider::{CreateRequest, DeleteRequest, OpContext, ProviderError, UpdateRequest};
use crate::resource_type::ResourceType;
use crate::state::{now_rfc3339, Intent, IntentAction, ResourceState, Retained, State};
use crate::value::{mark_sensitive, unmark_map, Value, ValueMap};

/// What an operation needs.
pub(super) enum Prepared {
    /// Done without a provider call (forget, an update that turned out to change nothing).
    Immediate,
    Call(Call),
}

pub(super) enum Request {
    Create(CreateRequest),
    Update(UpdateRequest),
    Delete(DeleteRequest),
}

/// A provider call ready to go, with what its intent records.
pub(super) struct Call {
    pub token: String,
    pub request: Request,
    pub slot: Slot,
    /// The properties with their sensitive marks, recorded in state after the call.
    pub marked: ValueMap,
}

/// The result a finished provider call sends back to the loop.
pub(super) enum Outcome {
    Observed {
        observed: crate::provider::Observed,
        properties: ValueMap,
    },
    Deleted,
}

impl Executor<'_> {
    pub(super) fn prepare(&self, op: &Op, state: &mut State) -> Result<Prepared, OpError> {
        match op.kind {
            OpKind::Forget => Ok(forget(op, state)),
            OpKind::Delete => Ok(delete(op, state)),
            OpKind::Create | OpKind::Update | OpKind::Adopt => self.create_or_update(op, state),
        }
    }

    fn create_or_update(&self, op: &Op, state: &mut State) -> Result<Prepared, OpError> {
        let spec = self
            .desired
            .get(&op.address)
            .ok_or_else(|| OpError::Internal {
                reason: format!("{} is not in the config", op.address),
            })?;
        let ty = self
            .providers
            .resource_type(&op.type_name)
            .ok_or_else(|| OpError::Internal {
                reason: format!("no provider serves {}", op.type_name),
            })?;
        let marked = configured(spec, ty, state)?;
        if op.kind == OpKind::Create {
            return Ok(Prepared::Call(create(op, marked)));
        }
        let prior = take_over(op, spec, state)?;
        Ok(update(op, ty, spec, prior, marked))
    }
}

/// Forget: the object leaves management and is recorded as retained; no call.
fn forget(op: &Op, state: &mut State) -> Prepared {
    if let Some(resource) = state.resources.remove(&op.address) {
        state.retained.insert(
            op.address.clone(),
            Retained {
                resource,
                retained_at: now_rfc3339(),
            },
        );
    }
    Prepared::Immediate
}

/// Delete the object in the operation's slot; nothing to do when state no longer has it.
fn delete(op: &Op, state: &State) -> Prepared {
    let entry = match op.slot {
        Slot::Current => state.resources.get(&op.address),
        Slot::Deposed => state.deposed.get(&op.address),
        Slot::Retained => state.retained.get(&op.address).map(|r| &r.resource),
    };
    let Some(entry) = entry else {
        return Prepared::Immediate;
    };
    Prepared::Call(Call {
        token: new_token(),
        request: Request::Delete(DeleteRequest {
            address: op.address.clone(),
            type_name: entry.type_name.clone(),
            id: entry.id.clone(),
            prior: unmark_map(&entry.attributes),
            purge: op.purge,
        }),
        slot: op.slot,
        marked: entry.attributes.clone(),
    })
}

/// The configured properties, evaluated against state now and marked as the type says;
/// refused while a reference is still unknown.
fn configured(spec: &ResourceSpec, ty: &ResourceType, state: &State) -> Result<ValueMap, OpError> {
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
    Ok(marked)
}

fn create(op: &Op, marked: ValueMap) -> Call {
    let token = new_token();
    Call {
        request: Request::Create(CreateRequest {
            address: op.address.clone(),
            type_name: op.type_name.clone(),
            properties: unmark_map(&marked),
            token: token.clone(),
        }),
        token,
        slot: Slot::Current,
        marked,
    }
}

/// The existing object an update or adoption acts on (an adopted one is moved from retained
/// back into management), with its dependencies and lifecycle following the config.
fn take_over<'s>(
    op: &Op,
    spec: &ResourceSpec,
    state: &'s mut State,
) -> Result<&'s mut ResourceState, OpError> {
    if op.kind == OpKind::Adopt {
        let Some(r) = state.retained.remove(&op.address) else {
            return Err(OpError::Internal {
                reason: format!("{} is no longer retained", op.address),
            });
        };
        state.resources.insert(op.address.clone(), r.resource);
    }
    let prior = state
        .resources
        .get_mut(&op.address)
        .ok_or_else(|| OpError::Internal {
            reason: format!("{} is not in state", op.address),
        })?;
    prior.dependencies = spec.dependencies().into_iter().collect();
    prior.lifecycle = spec.lifecycle.clone();
    Ok(prior)
}

/// Update (or adopt): the inputs the planner planned for this object, sent when any differs
/// from what the object really is.
fn update(
    op: &Op,
    ty: &ResourceType,
    spec: &ResourceSpec,
    prior: &ResourceState,
    configured: ValueMap,
) -> Prepared {
    let mut marked = planned_after(ty, &spec.lifecycle, configured, &prior.attributes);
    keep_ignored(spec, prior, &mut marked);
    let mut changed: Vec<String> = changed_inputs(ty, &marked, &prior.attributes)
        .into_iter()
        .map(|a| a.name.clone())
        .collect();
    if changed.is_empty() {
        return Prepared::Immediate;
    }
    changed.sort();
    Prepared::Call(Call {
        token: new_token(),
        request: Request::Update(UpdateRequest {
            address: op.address.clone(),
            type_name: op.type_name.clone(),
            id: prior.id.clone(),
            prior: unmark_map(&prior.attributes),
            properties: unmark_map(&marked),
            changed,
        }),
        slot: Slot::Current,
        marked,
    })
}

/// An ignored input the config does not set is carried as the object has it, so the update
/// request and the recorded result keep it.
fn keep_ignored(spec: &ResourceSpec, prior: &ResourceState, marked: &mut ValueMap) {
    for ignored in &spec.lifecycle.ignore_changes {
        if let Some(v) = prior.attributes.get(ignored) {
            marked.entry(ignored.clone()).or_insert_with(|| v.clone());
        }
    }
}

fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A reference answered from state as it is now.
pub(super) fn state_lookup(state: &State, r: &Reference) -> Value {
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

impl Call {
    pub(super) fn intent(&self, op: &Op, desired: &Desired) -> Intent {
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

    pub(super) async fn execute(
        self,
        provider: &dyn crate::provider::Provider,
        ctx: &OpContext,
    ) -> Result<Outcome, ProviderError> {
        let properties = self.marked;
        let observed = match self.request {
            Request::Create(req) => provider.create(ctx, &req).await,
            Request::Update(req) => provider.update(ctx, &req).await,
            Request::Delete(req) => {
                return match provider.delete(ctx, &req).await {
                    Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(Outcome::Deleted),
                    Err(e) => Err(e),
                };
            }
        };
        observed.map(|observed| Outcome::Observed {
            observed,
            properties,
        })
    }
}
