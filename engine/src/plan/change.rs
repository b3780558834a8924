//! What a plan is made of: the mode, one change per resource with its action and reason, and
//! attribute-level before/after. Renderers, the saved plan and the executor read these.

use std::collections::BTreeMap;

use crate::graph::Lifecycle;
use crate::state::ResourceState;
use crate::value::Value;

/// What a destroy does with resources marked `retain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainedPolicy {
    /// Neither flag: refuse while retained resources are managed.
    Refuse,
    /// `--keep-retained`: forget them and record them as retained.
    Keep,
    /// `--delete-retained`: delete them too, including ones an earlier destroy kept.
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Destroy { retained: RetainedPolicy },
}

/// The closed set of things a plan can do to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl Reason {
    /// The stable snake_case name of the reason, as documents (the plan JSON) carry it.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::UpToDate => "up_to_date",
            Reason::New => "new",
            Reason::DeletedOutside => "deleted_outside",
            Reason::InputsChanged { .. } => "inputs_changed",
            Reason::Drifted { .. } => "drifted",
            Reason::ForceNew { .. } => "force_new",
            Reason::TypeChanged { .. } => "type_changed",
            Reason::NotInConfig => "not_in_config",
            Reason::Destroying => "destroying",
            Reason::Retain => "retain",
            Reason::DeleteRetained => "delete_retained",
            Reason::AdoptRetained => "adopt_retained",
            Reason::Deposed => "deposed",
            Reason::ReplaceRequested => "replace_requested",
        }
    }
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

impl Change {
    /// Deleting or forgetting what state records at `address`: nothing of it is configured, so
    /// no attribute changes.
    pub(crate) fn of_recorded(
        address: &str,
        recorded: &ResourceState,
        action: Action,
        reason: Reason,
    ) -> Change {
        Change {
            address: address.into(),
            type_name: recorded.type_name.clone(),
            action,
            reason,
            id: Some(recorded.id.clone()),
            attributes: Vec::new(),
            lifecycle: recorded.lifecycle.clone(),
        }
    }
}

/// Counts by action, for the summary line and the JSON summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
