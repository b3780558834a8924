//! What a provider declares about each resource type it serves: its attributes, which are
//! required, optional or computed, which force a replacement and which are sensitive.
//!
//! Invariant: the planner decides update-vs-replace only from `force_new` here; a provider never
//! decides it at apply time.

use std::time::Duration;

use crate::value::Value;

/// The shape an attribute's value must have.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueType {
    String,
    Integer,
    Number,
    Bool,
    List(Box<ValueType>),
    Map(Box<ValueType>),
    /// Any JSON-like value (e.g. a Helm values tree, a policy document).
    Any,
}

impl ValueType {
    /// Describes the type for "expected …" messages.
    pub fn describe(&self) -> String {
        match self {
            ValueType::String => "a string".into(),
            ValueType::Integer => "an integer".into(),
            ValueType::Number => "a number".into(),
            ValueType::Bool => "a boolean".into(),
            ValueType::List(t) => format!("a list of {}", t.describe_plural()),
            ValueType::Map(t) => format!("a map of {}", t.describe_plural()),
            ValueType::Any => "any value".into(),
        }
    }

    fn describe_plural(&self) -> String {
        match self {
            ValueType::String => "strings".into(),
            ValueType::Integer => "integers".into(),
            ValueType::Number => "numbers".into(),
            ValueType::Bool => "booleans".into(),
            ValueType::Any => "values".into(),
            t => t.describe(),
        }
    }

    /// Checks a known value against the type; unknown and null values always pass (they are
    /// checked again at apply time by the provider). Returns the path and message of the first
    /// mismatch.
    pub fn check(&self, v: &Value) -> Result<(), (Vec<String>, String)> {
        let mismatch = |v: &Value| {
            Err((
                vec![],
                format!("expected {}, found {}", self.describe(), v.kind()),
            ))
        };
        match (self, v) {
            (_, Value::Unknown | Value::Null) | (ValueType::Any, _) => Ok(()),
            (t, Value::Sensitive(inner)) => t.check(inner),
            (ValueType::String, Value::String(_)) | (ValueType::Bool, Value::Bool(_)) => Ok(()),
            (ValueType::Number, Value::Number(_)) => Ok(()),
            (ValueType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
            (ValueType::List(t), Value::List(l)) => {
                for (i, item) in l.iter().enumerate() {
                    t.check(item).map_err(|(mut p, m)| {
                        p.insert(0, i.to_string());
                        (p, m)
                    })?;
                }
                Ok(())
            }
            (ValueType::Map(t), Value::Map(m)) => {
                for (k, item) in m {
                    t.check(item).map_err(|(mut p, msg)| {
                        p.insert(0, k.clone());
                        (p, msg)
                    })?;
                }
                Ok(())
            }
            (_, v) => mismatch(v),
        }
    }
}

/// For an input the system owns (in part) after create: from the configured value and the real
/// one, the value to plan and apply to the existing object (`None`: leave it out). E.g. a node
/// group's scaling keeps the real desired size, brought inside the configured bounds.
#[derive(Clone, Copy)]
pub struct AfterCreate(pub fn(&Value, Option<&Value>) -> Option<Value>);

impl std::fmt::Debug for AfterCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterCreate(..)")
    }
}

impl PartialEq for AfterCreate {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

/// For an input that moves one step at a time on an object that exists (EKS upgrades one
/// Kubernetes minor version at a time): from the configured value and the real one, the next
/// step, or `None` when the configured value is reachable at once. The planner and the executor
/// both take that step; the plan lists what remains ([`crate::plan::StepLeft`]) and apply plans
/// the next step once this one is done, so what depends on the attribute follows each step.
#[derive(Clone, Copy)]
pub struct StepToward(pub fn(&Value, &Value) -> Option<Value>);

impl std::fmt::Debug for StepToward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepToward(..)")
    }
}

impl PartialEq for StepToward {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

/// Whether the user sets an attribute, may set it, or only the provider does.
#[derive(Debug, Clone, PartialEq)]
pub enum Presence {
    Required,
    /// May be set; when absent the default is planned (or nothing, if there is none).
    Optional {
        default: Option<Value>,
    },
    /// Set by the provider; readable by references, never by the user.
    Computed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeSpec {
    pub name: String,
    pub ty: ValueType,
    pub presence: Presence,
    /// Changing it cannot be done in place: the resource is replaced.
    pub force_new: bool,
    /// Never shown; stored in state only.
    pub sensitive: bool,
    /// For computed attributes: the inputs whose in-place update changes this attribute too, so
    /// the plan shows it as unknown after such an update. Empty: stable across updates.
    pub changes_with: Vec<String>,
    /// For inputs the system owns (all or part of) once the object exists, e.g. a node group's
    /// desired size, which belongs to the cluster-autoscaler: refresh records the real value,
    /// and this says what of the config still applies. The planner and the executor both plan
    /// and send exactly that, so an apply never resets what the system owns.
    pub after_create: Option<AfterCreate>,
    /// For inputs that change one step at a time (see [`StepToward`]).
    pub step: Option<StepToward>,
    pub description: String,
}

impl AttributeSpec {
    pub fn required(name: &str, ty: ValueType) -> Self {
        Self::new(name, ty, Presence::Required)
    }

    pub fn optional(name: &str, ty: ValueType, default: Option<Value>) -> Self {
        Self::new(name, ty, Presence::Optional { default })
    }

    pub fn computed(name: &str, ty: ValueType) -> Self {
        Self::new(name, ty, Presence::Computed)
    }

    fn new(name: &str, ty: ValueType, presence: Presence) -> Self {
        AttributeSpec {
            name: name.into(),
            ty,
            presence,
            force_new: false,
            sensitive: false,
            changes_with: Vec::new(),
            after_create: None,
            step: None,
            description: String::new(),
        }
    }

    /// Declares an input that only the create uses: afterwards its real value stands.
    pub fn owned_after_create(self) -> Self {
        self.after_create(|_, real| real.cloned())
    }

    /// Declares what of this input applies to an object that exists (see [`AfterCreate`]).
    pub fn after_create(mut self, f: fn(&Value, Option<&Value>) -> Option<Value>) -> Self {
        self.after_create = Some(AfterCreate(f));
        self
    }

    /// Declares an input that moves one step at a time (see [`StepToward`]).
    pub fn stepped(mut self, f: fn(&Value, &Value) -> Option<Value>) -> Self {
        self.step = Some(StepToward(f));
        self
    }

    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Declares the inputs whose in-place update recomputes this (computed) attribute.
    pub fn changes_with(mut self, inputs: &[&str]) -> Self {
        self.changes_with = inputs.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.into();
        self
    }

    /// True for attributes the user sets (required or optional).
    pub fn is_input(&self) -> bool {
        !matches!(self.presence, Presence::Computed)
    }
}

/// How long AWS typically takes for an operation on this type, where it is long enough that
/// a person waiting wants to know (`still creating (3m10s of ~10m)`, the plan's estimate).
/// `None`: quick, or not known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Typical {
    pub create: Option<Duration>,
    pub update: Option<Duration>,
    pub delete: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// e.g. `aws_vpc`, `random_secret`.
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeSpec>,
    pub typical: Typical,
}

impl ResourceType {
    pub fn new(name: &str, description: &str, attributes: Vec<AttributeSpec>) -> Self {
        ResourceType {
            name: name.into(),
            description: description.into(),
            attributes,
            typical: Typical::default(),
        }
    }

    /// Declares the typical durations of the slow operations (minutes, as AWS documents
    /// or as they are usually seen); `None` leaves one undeclared.
    pub fn typically(
        mut self,
        create: Option<Duration>,
        update: Option<Duration>,
        delete: Option<Duration>,
    ) -> Self {
        self.typical = Typical {
            create,
            update,
            delete,
        };
        self
    }

    pub fn attribute(&self, name: &str) -> Option<&AttributeSpec> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Every attribute a reference may read: inputs, computed attributes and `id`.
    pub fn readable(&self, name: &str) -> bool {
        name == "id" || self.attribute(name).is_some()
    }

    pub fn inputs(&self) -> impl Iterator<Item = &AttributeSpec> {
        self.attributes.iter().filter(|a| a.is_input())
    }

    /// For an object that exists, the value of input `name` to plan and apply, from the
    /// configured one and the `real` one (state, refreshed): the real one when the lifecycle's
    /// `ignore_changes` names it, what the type's [`AfterCreate`] makes of them when the system
    /// owns part of it, else the configured one. `None`: leave it out.
    pub fn planned_input(
        &self,
        lifecycle_ignores: &[String],
        name: &str,
        configured: &Value,
        real: Option<&Value>,
    ) -> Option<Value> {
        if lifecycle_ignores.iter().any(|i| i == name) {
            return real.cloned();
        }
        let attribute = self.attribute(name);
        let planned = match attribute.and_then(|a| a.after_create) {
            Some(AfterCreate(f)) => f(configured, real)?,
            None => configured.clone(),
        };
        Some(match (attribute.and_then(|a| a.step), real) {
            (Some(StepToward(f)), Some(real)) => f(&planned, real).unwrap_or(planned),
            _ => planned,
        })
    }

    /// The steps an existing object's input `name` takes from `real` to `configured`, the
    /// first being what this plan applies; empty when it gets there at once.
    pub fn steps(&self, name: &str, configured: &Value, real: &Value) -> Vec<Value> {
        let Some(StepToward(f)) = self.attribute(name).and_then(|a| a.step) else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        let mut at = real.clone();
        // A step function that never reaches the configured value must not hang a plan.
        while let Some(next) = f(configured, &at).filter(|n| n != configured && n != &at) {
            if steps.len() >= 64 {
                break;
            }
            steps.push(next.clone());
            at = next;
        }
        if !steps.is_empty() {
            steps.push(configured.clone());
        }
        steps
    }
}
