//! Deciding what to do: the desired graph against (refreshed) state gives one change per
//! resource, each with an action, a reason and attribute-level before/after.
//!
//! Invariants:
//! - Planning never calls a provider and never mutates state; refresh and intent resolution
//!   happen before, the executor after.
//! - Update versus replace is decided here, from the resource type's `force_new` declarations.
//! - A plan that would delete or replace a protected resource, or destroy a retained one without
//!   a decision about retained data, is an error, not a plan.

use std::collections::{BTreeMap, BTreeSet};

use crate::expr::{eval_map, Reference};
use crate::graph::{Desired, Lifecycle, ResourceSpec};
use crate::provider::Providers;
use crate::resource_type::{Presence, ResourceType};
use crate::state::State;
use crate::value::{Value, ValueMap};

/// What a destroy does with resources marked `retain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetainedPolicy {
    /// Neither flag: refuse while retained resources are managed.
    Refuse,
    /// `--keep-retained`: forget them and record them as retained.
    Keep,
    /// `--delete-retained`: delete them too, including ones an earlier destroy kept.
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Mode {
    Apply,
    Destroy { retained: RetainedPolicy },
}

/// The closed set of things a plan can do to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete then create, or create then delete with `create_before_destroy`.
    Replace {
        create_before_destroy: bool,
    },
    Delete,
    /// Stop managing without deleting; recorded as retained.
    Forget,
    /// Take a retained resource back under management (possibly updating it).
    Adopt,
}

impl Action {
    /// The familiar one-column marker: `+`, `~`, `-/+`, `+/-`, `-`.
    pub fn symbol(&self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace {
                create_before_destroy: false,
            } => "-/+",
            Action::Replace {
                create_before_destroy: true,
            } => "+/-",
            Action::Delete => "-",
            Action::Forget => "=",
            Action::Adopt => "<=",
        }
    }

    /// Lower-case verb, also the JSON name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace { .. } => "replace",
            Action::Delete => "delete",
            Action::Forget => "forget",
            Action::Adopt => "adopt",
        }
    }
}

/// Why a change is planned; rendered as one line under the resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    UpToDate,
    /// Not in state: a new resource.
    New,
    /// State had it but refresh found it gone.
    DeletedOutside,
    /// Inputs in the config differ from state.
    InputsChanged {
        attributes: Vec<String>,
    },
    /// The real resource differs from the config, and the config did not change.
    Drifted {
        attributes: Vec<String>,
    },
    /// These attributes cannot change in place.
    ForceNew {
        attributes: Vec<String>,
    },
    TypeChanged {
        from: String,
        to: String,
    },
    /// In state but no longer in the config.
    NotInConfig,
    /// Destroy was asked for.
    Destroying,
    /// Retained: `--keep-retained`, or removed from the config while marked `retain`.
    Retain,
    /// Retained and `--delete-retained` was given.
    DeleteRetained,
    /// A retained resource from an earlier destroy, taken back.
    AdoptRetained,
    /// An old object left by an interrupted create-before-destroy replacement.
    Deposed,
    /// `--replace` asked for it (e.g. to rotate a token or recreate a node group).
    ReplaceRequested,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |a: &[String]| a.join(", ");
        match self {
            Reason::UpToDate => write!(f, "up to date"),
            Reason::New => write!(f, "not yet created"),
            Reason::DeletedOutside => write!(f, "deleted outside hdh; will be created again"),
            Reason::InputsChanged { attributes } => {
                write!(f, "config changed: {}", list(attributes))
            }
            Reason::Drifted { attributes } => {
                write!(f, "changed outside hdh: {}", list(attributes))
            }
            Reason::ForceNew { attributes } => {
                write!(f, "{} cannot change in place", list(attributes))
            }
            Reason::TypeChanged { from, to } => write!(f, "type changed from {from} to {to}"),
            Reason::NotInConfig => write!(f, "no longer in the config"),
            Reason::Destroying => write!(f, "destroy"),
            Reason::Retain => write!(f, "retained: kept in the cloud and recorded in state"),
            Reason::DeleteRetained => write!(f, "retained, and --delete-retained was given"),
            Reason::AdoptRetained => write!(f, "retained by an earlier destroy; adopted"),
            Reason::Deposed => write!(f, "replaced object still to delete"),
            Reason::ReplaceRequested => write!(f, "replacement asked for with --replace"),
        }
    }
}

/// One attribute's planned before and after. Values keep their marks: renderers redact.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// This attribute's change is why the resource is replaced.
    pub forces_replacement: bool,
}

impl AttrChange {
    /// A unified diff when either side is a multi-line string and nothing is sensitive or
    /// unknown; otherwise `None` and the renderer shows before → after.
    pub fn text_diff(&self) -> Option<String> {
        let text = |v: &Option<Value>| match v {
            Some(Value::String(s)) => Some(s.clone()),
            None => Some(String::new()),
            _ => None,
        };
        let (before, after) = (text(&self.before)?, text(&self.after)?);
        if !before.contains('\n') && !after.contains('\n') {
            return None;
        }
        let diff = similar::TextDiff::from_lines(&before, &after);
        Some(diff.unified_diff().context_radius(3).to_string())
    }
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub address: String,
    pub type_name: String,
    pub action: Action,
    pub reason: Reason,
    /// The existing object's id, when there is one.
    pub id: Option<String>,
    pub attributes: Vec<AttrChange>,
    pub lifecycle: Lifecycle,
}

/// Counts by action, for the summary line and the JSON summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub forget: usize,
    pub adopt: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn total_changes(&self) -> usize {
        self.create + self.update + self.replace + self.delete + self.forget + self.adopt
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub mode: Mode,
    /// Every resource considered, in dependency order (creates/updates) then deletions.
    pub changes: Vec<Change>,
    /// For each change that does something: the fingerprint of the state entry it was planned
    /// against (`None`: not in state), so a saved plan can tell whether it went stale.
    pub fingerprints: BTreeMap<String, Option<String>>,
    pub lineage: String,
    pub serial: u64,
    /// `--target`: only these (and what they need) were planned.
    pub targets: Vec<String>,
    /// `--replace`: these were planned as replacements.
    pub replace: Vec<String>,
    pub warnings: Vec<String>,
    /// Inputs this plan moves only part of the way (see
    /// [`crate::resource_type::StepToward`]): apply plans the next step after this one.
    pub steps_left: Vec<StepLeft>,
}

/// An input that takes several steps: `steps[0]` is what this plan applies, the last is the
/// configured value.
#[derive(Debug, Clone, PartialEq)]
pub struct StepLeft {
    pub address: String,
    pub attribute: String,
    pub from: Value,
    pub steps: Vec<Value>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => s.unchanged += 1,
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace { .. } => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::Forget => s.forget += 1,
                Action::Adopt => s.adopt += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    pub fn change(&self, address: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.address == address)
    }
}

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
        Mode::Apply => plan_apply(input)?,
        Mode::Destroy { retained } => (plan_destroy(input.state, retained)?, Vec::new()),
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

/// The planned view of one resource, for references from resources after it.
struct Planned<'a> {
    id: Value,
    /// Borrowed from state when nothing changes (the common case on a large stack).
    attributes: std::borrow::Cow<'a, ValueMap>,
}

fn plan_apply(input: &PlanInput<'_>) -> Result<(Vec<Change>, Vec<StepLeft>), PlanError> {
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
        let (change, view) = plan_one(
            input,
            spec.address.as_str(),
            &spec.type_name,
            &spec.lifecycle,
            ty,
            after,
        );
        planned[i] = Some(view);
        changes.push(change);
    }
    for (address, r) in &state.resources {
        if desired.get(address).is_some() {
            continue;
        }
        let (action, reason) = if r.lifecycle.retain {
            (Action::Forget, Reason::Retain)
        } else {
            (Action::Delete, Reason::NotInConfig)
        };
        changes.push(Change {
            address: address.clone(),
            type_name: r.type_name.clone(),
            action,
            reason,
            id: Some(r.id.clone()),
            attributes: Vec::new(),
            lifecycle: r.lifecycle.clone(),
        });
    }
    Ok((changes, steps_left))
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

/// Writes `observed` over `base`, keeping the sensitive mark of every value `base` had marked:
/// providers return unmarked data, and a value interpolated from a secret stays secret.
pub fn overlay_keeping_marks(base: &mut ValueMap, observed: ValueMap) {
    for (k, v) in observed {
        let keep = base.get(&k).is_some_and(Value::contains_sensitive);
        base.insert(k, if keep { v.sensitive() } else { v });
    }
}

/// Marks the attributes the type declares sensitive.
pub fn mark_sensitive(ty: &ResourceType, attrs: &mut ValueMap) {
    for a in ty.attributes.iter().filter(|a| a.sensitive) {
        if let Some(v) = attrs.get_mut(&a.name) {
            *v = std::mem::take(v).sensitive();
        }
    }
}

fn plan_one<'a>(
    input: &PlanInput<'a>,
    address: &str,
    type_name: &str,
    lifecycle: &Lifecycle,
    ty: &ResourceType,
    after: ValueMap,
) -> (Change, Planned<'a>) {
    let state = input.state;
    let change = |action, reason, id: Option<&str>, attributes| Change {
        address: address.into(),
        type_name: type_name.into(),
        action,
        reason,
        id: id.map(String::from),
        attributes,
        lifecycle: lifecycle.clone(),
    };
    let fresh_view = |after: &ValueMap| {
        let mut attributes = after.clone();
        for a in ty
            .attributes
            .iter()
            .filter(|a| matches!(a.presence, Presence::Computed))
        {
            attributes.insert(a.name.clone(), Value::Unknown);
        }
        Planned {
            id: Value::Unknown,
            attributes: std::borrow::Cow::Owned(attributes),
        }
    };
    let creation = |after: &ValueMap| -> Vec<AttrChange> {
        let mut attrs: Vec<AttrChange> = after
            .iter()
            .map(|(k, v)| AttrChange {
                name: k.clone(),
                before: None,
                after: Some(v.clone()),
                forces_replacement: false,
            })
            .collect();
        for a in ty
            .attributes
            .iter()
            .filter(|a| matches!(a.presence, Presence::Computed))
        {
            let v = if a.sensitive {
                Value::Unknown.sensitive()
            } else {
                Value::Unknown
            };
            attrs.push(AttrChange {
                name: a.name.clone(),
                before: None,
                after: Some(v),
                forces_replacement: false,
            });
        }
        attrs
    };

    let prior = state.resources.get(address);
    let adopting = prior
        .is_none()
        .then(|| state.retained.get(address))
        .flatten();
    let Some(prior) = prior.or(adopting.map(|r| &r.resource)) else {
        let reason = if input.drift.vanished.contains(address) {
            Reason::DeletedOutside
        } else {
            Reason::New
        };
        let attrs = creation(&after);
        let view = fresh_view(&after);
        return (change(Action::Create, reason, None, attrs), view);
    };
    if prior.type_name != type_name {
        let attrs = creation(&after);
        let view = fresh_view(&after);
        let reason = Reason::TypeChanged {
            from: prior.type_name.clone(),
            to: type_name.into(),
        };
        let action = Action::Replace {
            create_before_destroy: lifecycle.create_before_destroy,
        };
        return (change(action, reason, Some(&prior.id), attrs), view);
    }

    // What the config asks of the existing object: what the system owns stays as it really is.
    let after: ValueMap = after
        .into_iter()
        .filter_map(|(k, v)| {
            let real = prior.attributes.get(&k);
            ty.planned_input(&lifecycle.ignore_changes, &k, &v, real)
                .map(|v| (k, v))
        })
        .collect();

    // Diff the inputs the config sets.
    let mut diffs = Vec::new();
    let mut changed = Vec::new();
    let mut forcing = Vec::new();
    for a in ty.inputs() {
        let Some(new) = after.get(&a.name) else {
            continue;
        };
        let old = prior.attributes.get(&a.name);
        let same = !new.contains_unknown() && old.map(Value::unmarked) == Some(new.unmarked());
        if same {
            continue;
        }
        changed.push(a.name.clone());
        if a.force_new {
            forcing.push(a.name.clone());
        }
        diffs.push(AttrChange {
            name: a.name.clone(),
            before: old.cloned(),
            after: Some(new.clone()),
            forces_replacement: a.force_new,
        });
    }

    if let Some(retained) = adopting {
        if !forcing.is_empty() {
            // The retained object cannot become what the config asks for: make a new one and
            // leave the retained one alone.
            let attrs = creation(&after);
            let view = fresh_view(&after);
            let _ = retained;
            return (change(Action::Create, Reason::New, None, attrs), view);
        }
    }

    if changed.is_empty() && adopting.is_none() && !input.replace.iter().any(|r| r == address) {
        // References see exactly what state has: no copy.
        let view = Planned {
            id: Value::String(prior.id.clone()),
            attributes: std::borrow::Cow::Borrowed(&prior.attributes),
        };
        return (
            change(Action::NoOp, Reason::UpToDate, Some(&prior.id), Vec::new()),
            view,
        );
    }

    // What references see: prior attributes overlaid with the planned inputs.
    let mut view_attrs = prior.attributes.clone();
    for (k, v) in &after {
        view_attrs.insert(k.clone(), v.clone());
    }

    if let Some(_retained) = adopting {
        for a in ty.attributes.iter().filter(|a| !a.changes_with.is_empty()) {
            if a.changes_with.iter().any(|c| changed.contains(c)) {
                view_attrs.insert(a.name.clone(), Value::Unknown);
            }
        }
        let view = Planned {
            id: Value::String(prior.id.clone()),
            attributes: std::borrow::Cow::Owned(view_attrs),
        };
        return (
            change(Action::Adopt, Reason::AdoptRetained, Some(&prior.id), diffs),
            view,
        );
    }

    let requested = input.replace.iter().any(|r| r == address);
    if !forcing.is_empty() || requested {
        let mut attrs = diffs;
        for a in ty
            .attributes
            .iter()
            .filter(|a| matches!(a.presence, Presence::Computed))
        {
            let v = if a.sensitive {
                Value::Unknown.sensitive()
            } else {
                Value::Unknown
            };
            attrs.push(AttrChange {
                name: a.name.clone(),
                before: prior.attributes.get(&a.name).cloned(),
                after: Some(v),
                forces_replacement: false,
            });
        }
        let view = fresh_view(&after);
        let action = Action::Replace {
            create_before_destroy: lifecycle.create_before_destroy,
        };
        let reason = if forcing.is_empty() {
            Reason::ReplaceRequested
        } else {
            Reason::ForceNew {
                attributes: forcing,
            }
        };
        return (change(action, reason, Some(&prior.id), attrs), view);
    }

    let mut attrs = diffs;
    for a in ty.attributes.iter().filter(|a| !a.changes_with.is_empty()) {
        if a.changes_with.iter().any(|c| changed.contains(c)) {
            view_attrs.insert(a.name.clone(), Value::Unknown);
            attrs.push(AttrChange {
                name: a.name.clone(),
                before: prior.attributes.get(&a.name).cloned(),
                after: Some(Value::Unknown),
                forces_replacement: false,
            });
        }
    }
    let drifted = input.drift.changed.get(address);
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
        attributes: std::borrow::Cow::Owned(view_attrs),
    };
    (change(Action::Update, reason, Some(&prior.id), attrs), view)
}

fn plan_destroy(state: &State, policy: RetainedPolicy) -> Result<Vec<Change>, PlanError> {
    let mut changes = Vec::new();
    let mut undecided = Vec::new();
    let entry = |address: &str, r: &crate::state::ResourceState, action, reason| Change {
        address: address.into(),
        type_name: r.type_name.clone(),
        action,
        reason,
        id: Some(r.id.clone()),
        attributes: Vec::new(),
        lifecycle: r.lifecycle.clone(),
    };
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
