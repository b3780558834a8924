//! Planning an apply (the normal mode): each configured resource, in dependency order,
//! against what state records of it, so references see what the resources they name will be.

use std::borrow::Cow;

use super::diff::{changed_inputs, planned_after};
use super::{Action, AttrChange, Change, PlanError, PlanInput, Reason, StepLeft};
use crate::expr::{eval_map, Reference};
use crate::graph::{Desired, Lifecycle, ResourceSpec};
use crate::resource_type::{Presence, ResourceType};
use crate::state::{ResourceState, State};
use crate::value::{mark_sensitive, Value, ValueMap};

/// The planned view of one resource, for references from resources after it.
struct Planned<'a> {
    id: Value,
    /// Borrowed from state when nothing changes (the common case on a large stack).
    attributes: Cow<'a, ValueMap>,
}

pub(super) fn plan_apply(input: &PlanInput<'_>) -> Result<(Vec<Change>, Vec<StepLeft>), PlanError> {
    let desired = input.desired;
    let state = input.state;
    let resources = desired.resources();
    let mut planned: Vec<Option<Planned>> = (0..resources.len()).map(|_| None).collect();
    let mut changes = Vec::with_capacity(resources.len() + state.deposed.len());
    let mut steps_left = Vec::new();
    // Deposed objects go first: they are deleted before anything else is planned around them.
    for (address, r) in &state.deposed {
        changes.push(Change {
            address: address.clone(),
            type_name: r.type_name.clone(),
            action: Action::Delete,
            reason: Reason::Deposed,
            id: Some(r.id.clone()),
            attributes: Vec::new(),
            lifecycle: r.lifecycle.clone(),
        });
    }
    for i in desired.topo_order() {
        let spec = &resources[i];
        let ty = input
            .providers
            .resource_type(&spec.type_name)
            .ok_or_else(|| PlanError::UnknownType {
                address: spec.address.clone(),
                type_name: spec.type_name.clone(),
            })?;
        let lookup = |r: &Reference| -> Value {
            let Some(j) = desired.index_of(&r.address) else {
                return Value::Null;
            };
            match &planned[j] {
                Some(p) if r.attribute == "id" => p.id.clone(),
                Some(p) => p
                    .attributes
                    .get(&r.attribute)
                    .cloned()
                    .unwrap_or(Value::Null),
                // Topological order guarantees dependencies are planned first.
                None => Value::Unknown,
            }
        };
        let mut after = eval_map(&spec.properties, &lookup);
        mark_sensitive(ty, &mut after);
        steps_left.extend(steps_of(ty, spec, &after, state));
        let target = Target {
            address: spec.address.as_str(),
            type_name: &spec.type_name,
            lifecycle: &spec.lifecycle,
            ty,
        };
        let (change, view) = plan_one(input, &target, after);
        planned[i] = Some(view);
        changes.push(change);
    }
    changes.extend(no_longer_configured(desired, state));
    Ok((changes, steps_left))
}

/// What state has that the config no longer names: deleted, or forgotten when retained.
fn no_longer_configured<'s>(
    desired: &'s Desired,
    state: &'s State,
) -> impl Iterator<Item = Change> + 's {
    state
        .resources
        .iter()
        .filter(|(address, _)| desired.get(address).is_none())
        .map(|(address, r)| {
            let (action, reason) = if r.lifecycle.retain {
                (Action::Forget, Reason::Retain)
            } else {
                (Action::Delete, Reason::NotInConfig)
            };
            Change::of_recorded(address, r, action, reason)
        })
}

/// The inputs of an existing object that reach their configured value only in steps.
fn steps_of(
    ty: &ResourceType,
    spec: &ResourceSpec,
    after: &ValueMap,
    state: &State,
) -> Vec<StepLeft> {
    let Some(prior) = state.resources.get(&spec.address) else {
        return Vec::new();
    };
    ty.attributes
        .iter()
        .filter(|a| a.step.is_some() && !spec.lifecycle.ignore_changes.contains(&a.name))
        .filter_map(|a| {
            let configured = after.get(&a.name).filter(|v| !v.contains_unknown())?;
            let real = prior.attributes.get(&a.name)?;
            let steps = ty.steps(&a.name, configured, real);
            (!steps.is_empty()).then(|| StepLeft {
                address: spec.address.clone(),
                attribute: a.name.clone(),
                from: real.clone(),
                steps,
            })
        })
        .collect()
}

/// The resource being planned: its address, type and lifecycle as the config gives them.
struct Target<'t> {
    address: &'t str,
    type_name: &'t str,
    lifecycle: &'t Lifecycle,
    ty: &'t ResourceType,
}

impl Target<'_> {
    fn change(
        &self,
        action: Action,
        reason: Reason,
        id: Option<&str>,
        attributes: Vec<AttrChange>,
    ) -> Change {
        Change {
            address: self.address.into(),
            type_name: self.type_name.into(),
            action,
            reason,
            id: id.map(String::from),
            attributes,
            lifecycle: self.lifecycle.clone(),
        }
    }

    fn computed(&self) -> impl Iterator<Item = &crate::resource_type::AttributeSpec> {
        self.ty
            .attributes
            .iter()
            .filter(|a| matches!(a.presence, Presence::Computed))
    }

    /// Unknown until the provider answers, and sensitive when the type says so.
    fn unknown(sensitive: bool) -> Value {
        if sensitive {
            Value::Unknown.sensitive()
        } else {
            Value::Unknown
        }
    }

    /// What references see of a new object: its inputs, every computed attribute unknown.
    fn fresh_view<'a>(&self, after: &ValueMap) -> Planned<'a> {
        let mut attributes = after.clone();
        for a in self.computed() {
            attributes.insert(a.name.clone(), Value::Unknown);
        }
        Planned {
            id: Value::Unknown,
            attributes: Cow::Owned(attributes),
        }
    }

    /// The attribute changes of a new object: every input set, every computed one unknown.
    fn creation(&self, after: &ValueMap) -> Vec<AttrChange> {
        let inputs = after.iter().map(|(k, v)| AttrChange {
            name: k.clone(),
            before: None,
            after: Some(v.clone()),
            forces_replacement: false,
        });
        let computed = self.computed().map(|a| AttrChange {
            name: a.name.clone(),
            before: None,
            after: Some(Self::unknown(a.sensitive)),
            forces_replacement: false,
        });
        inputs.chain(computed).collect()
    }

    /// A new object: created, and seen by references as unknown until then.
    fn create<'a>(&self, reason: Reason, after: &ValueMap) -> (Change, Planned<'a>) {
        let change = self.change(Action::Create, reason, None, self.creation(after));
        (change, self.fresh_view(after))
    }

    /// A replacement, new object first or old object first as the lifecycle says.
    fn replace_action(&self) -> Action {
        Action::Replace {
            create_before_destroy: self.lifecycle.create_before_destroy,
        }
    }
}

/// How the inputs of an existing object change: each differing input's before and after, and
/// which of them cannot change in place.
struct Diff {
    attributes: Vec<AttrChange>,
    changed: Vec<String>,
    forcing: Vec<String>,
}

fn diff(ty: &ResourceType, after: &ValueMap, prior: &ResourceState) -> Diff {
    let mut d = Diff {
        attributes: Vec::new(),
        changed: Vec::new(),
        forcing: Vec::new(),
    };
    for a in changed_inputs(ty, after, &prior.attributes) {
        d.changed.push(a.name.clone());
        if a.force_new {
            d.forcing.push(a.name.clone());
        }
        d.attributes.push(AttrChange {
            name: a.name.clone(),
            before: prior.attributes.get(&a.name).cloned(),
            after: after.get(&a.name).cloned(),
            forces_replacement: a.force_new,
        });
    }
    d
}

/// Plans one configured resource: create, adopt, keep, replace or update.
fn plan_one<'a>(
    input: &PlanInput<'a>,
    target: &Target<'_>,
    after: ValueMap,
) -> (Change, Planned<'a>) {
    let state = input.state;
    let address = target.address;
    let current = state.resources.get(address);
    let retained = current
        .is_none()
        .then(|| state.retained.get(address))
        .flatten();
    let Some(prior) = current.or(retained.map(|r| &r.resource)) else {
        let reason = if input.drift.vanished.contains(address) {
            Reason::DeletedOutside
        } else {
            Reason::New
        };
        return target.create(reason, &after);
    };
    if prior.type_name != target.type_name {
        return type_changed(target, prior, &after);
    }
    let after = planned_after(target.ty, target.lifecycle, after, &prior.attributes);
    let diff = diff(target.ty, &after, prior);
    if retained.is_some() {
        return adopt(target, prior, &after, diff);
    }
    let requested = input.replace.iter().any(|r| r == address);
    if diff.changed.is_empty() && !requested {
        // References see exactly what state has: no copy.
        let view = Planned {
            id: Value::String(prior.id.clone()),
            attributes: Cow::Borrowed(&prior.attributes),
        };
        let change = target.change(Action::NoOp, Reason::UpToDate, Some(&prior.id), Vec::new());
        return (change, view);
    }
    if !diff.forcing.is_empty() || requested {
        return replace(target, prior, &after, diff);
    }
    update(
        target,
        prior,
        &after,
        diff,
        input.drift.changed.get(address),
    )
}

/// A recorded object of another type: replaced by a new one of the configured type.
fn type_changed<'a>(
    target: &Target<'_>,
    prior: &ResourceState,
    after: &ValueMap,
) -> (Change, Planned<'a>) {
    let reason = Reason::TypeChanged {
        from: prior.type_name.clone(),
        to: target.type_name.into(),
    };
    let attrs = target.creation(after);
    let change = target.change(target.replace_action(), reason, Some(&prior.id), attrs);
    (change, target.fresh_view(after))
}

/// What references see of an object changed in place: its prior attributes overlaid with the
/// planned inputs, and unknown where an input it changes with changed.
fn updated_view(
    target: &Target<'_>,
    prior: &ResourceState,
    after: &ValueMap,
    changed: &[String],
) -> ValueMap {
    let mut view = prior.attributes.clone();
    for (k, v) in after {
        view.insert(k.clone(), v.clone());
    }
    for a in recomputed(target.ty, changed) {
        view.insert(a.name.clone(), Value::Unknown);
    }
    view
}

/// The computed attributes an in-place update of `changed` inputs recomputes.
fn recomputed<'t>(
    ty: &'t ResourceType,
    changed: &'t [String],
) -> impl Iterator<Item = &'t crate::resource_type::AttributeSpec> {
    ty.attributes
        .iter()
        .filter(|a| a.changes_with.iter().any(|c| changed.contains(c)))
}

/// A retained object taken back: adopted and updated in place, or, when it cannot become what
/// the config asks for, left alone while a new one is made.
fn adopt<'a>(
    target: &Target<'_>,
    prior: &ResourceState,
    after: &ValueMap,
    diff: Diff,
) -> (Change, Planned<'a>) {
    if !diff.forcing.is_empty() {
        return target.create(Reason::New, after);
    }
    let view = Planned {
        id: Value::String(prior.id.clone()),
        attributes: Cow::Owned(updated_view(target, prior, after, &diff.changed)),
    };
    let change = target.change(
        Action::Adopt,
        Reason::AdoptRetained,
        Some(&prior.id),
        diff.attributes,
    );
    (change, view)
}

/// An object replaced because an input cannot change in place or `--replace` asked for it.
fn replace<'a>(
    target: &Target<'_>,
    prior: &ResourceState,
    after: &ValueMap,
    diff: Diff,
) -> (Change, Planned<'a>) {
    let mut attrs = diff.attributes;
    attrs.extend(target.computed().map(|a| AttrChange {
        name: a.name.clone(),
        before: prior.attributes.get(&a.name).cloned(),
        after: Some(Target::unknown(a.sensitive)),
        forces_replacement: false,
    }));
    let reason = if diff.forcing.is_empty() {
        Reason::ReplaceRequested
    } else {
        Reason::ForceNew {
            attributes: diff.forcing,
        }
    };
    let change = target.change(target.replace_action(), reason, Some(&prior.id), attrs);
    (change, target.fresh_view(after))
}

/// An object updated in place; drift when every changed input is one refresh found changed.
fn update<'a>(
    target: &Target<'_>,
    prior: &ResourceState,
    after: &ValueMap,
    diff: Diff,
    drifted: Option<&Vec<String>>,
) -> (Change, Planned<'a>) {
    let view = updated_view(target, prior, after, &diff.changed);
    let mut attrs = diff.attributes;
    attrs.extend(recomputed(target.ty, &diff.changed).map(|a| AttrChange {
        name: a.name.clone(),
        before: prior.attributes.get(&a.name).cloned(),
        after: Some(Value::Unknown),
        forces_replacement: false,
    }));
    let changed = diff.changed;
    let reason = match drifted {
        Some(d) if changed.iter().all(|c| d.contains(c)) => Reason::Drifted {
            attributes: changed,
        },
        _ => Reason::InputsChanged {
            attributes: changed,
        },
    };
    let view = Planned {
        id: Value::String(prior.id.clone()),
        attributes: Cow::Owned(view),
    };
    let change = target.change(Action::Update, reason, Some(&prior.id), attrs);
    (change, view)
}
