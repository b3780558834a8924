//! The machine-readable plan (`hdh plan --json`): versioned, documented in docs/plan-json.md
//! with a JSON Schema in docs/plan.schema.json. Values are redacted exactly as on the terminal.
//!
//! The document is written from this module's own structs and names (`SummaryJson`,
//! `Reason::kind`), never by serialising the engine's types: renaming an engine variant or field
//! cannot change format 1.x, and a new `Reason` fails to compile until `Reason::kind` names it.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use hdh_engine::apply::OpKind;
use hdh_engine::estimate::Estimate;
use hdh_engine::plan::{Action, Mode, Plan, Summary};

/// Bumped on any incompatible change to the document below.
pub const FORMAT_VERSION: &str = "1.1";

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    hdh_version: &'static str,
    stack: &'a str,
    mode: &'static str,
    summary: SummaryJson,
    changes: Vec<ChangeJson>,
    warnings: &'a [String],
    /// Inputs this plan moves only part of the way; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepJson>,
}

#[derive(Serialize)]
struct StepJson {
    address: String,
    attribute: String,
    from: Json,
    /// The first is what this plan applies; the last is the configured value.
    steps: Vec<Json>,
}

/// The counts by action, in the document's order (also the `--json` events' summary).
#[derive(Serialize)]
pub(crate) struct SummaryJson {
    create: usize,
    update: usize,
    replace: usize,
    delete: usize,
    forget: usize,
    adopt: usize,
    unchanged: usize,
}

impl From<Summary> for SummaryJson {
    fn from(s: Summary) -> Self {
        SummaryJson {
            create: s.create,
            update: s.update,
            replace: s.replace,
            delete: s.delete,
            forget: s.forget,
            adopt: s.adopt,
            unchanged: s.unchanged,
        }
    }
}

#[derive(Serialize)]
struct ReasonJson {
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
struct ChangeJson {
    address: String,
    #[serde(rename = "type")]
    type_name: String,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_order: Option<&'static str>,
    reason: ReasonJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    before: Map<String, Json>,
    after: Map<String, Json>,
    after_unknown: Vec<String>,
    sensitive: Vec<String>,
    forces_replacement: Vec<String>,
}

/// The plan document as a JSON value.
pub fn document(plan: &Plan, stack: &str) -> Json {
    let changes = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| {
            let mut before = Map::new();
            let mut after = Map::new();
            let mut after_unknown = Vec::new();
            let mut sensitive = Vec::new();
            let mut forces = Vec::new();
            for a in &c.attributes {
                if let Some(v) = &a.before {
                    before.insert(a.name.clone(), v.to_display_json());
                }
                if let Some(v) = &a.after {
                    if v.contains_unknown() {
                        after_unknown.push(a.name.clone());
                    }
                    after.insert(a.name.clone(), v.to_display_json());
                }
                let secret = |v: &Option<hdh_engine::Value>| {
                    v.as_ref().is_some_and(|v| v.contains_sensitive())
                };
                if secret(&a.before) || secret(&a.after) {
                    sensitive.push(a.name.clone());
                }
                if a.forces_replacement {
                    forces.push(a.name.clone());
                }
            }
            ChangeJson {
                address: c.address.clone(),
                type_name: c.type_name.clone(),
                action: c.action.name(),
                replace_order: match c.action {
                    Action::Replace {
                        create_before_destroy: true,
                    } => Some("create_before_destroy"),
                    Action::Replace {
                        create_before_destroy: false,
                    } => Some("destroy_before_create"),
                    _ => None,
                },
                reason: ReasonJson {
                    kind: c.reason.kind(),
                    message: c.reason.to_string(),
                },
                id: c.id.clone(),
                before,
                after,
                after_unknown,
                sensitive,
                forces_replacement: forces,
            }
        })
        .collect();
    let doc = Document {
        format_version: FORMAT_VERSION,
        hdh_version: env!("CARGO_PKG_VERSION"),
        stack,
        mode: match plan.mode {
            Mode::Apply => "apply",
            Mode::Destroy { .. } => "destroy",
        },
        summary: plan.summary().into(),
        changes,
        warnings: &plan.warnings,
        steps: steps(plan),
    };
    serde_json::to_value(doc).expect("plan documents always serialize")
}

fn steps(plan: &Plan) -> Vec<StepJson> {
    plan.steps_left
        .iter()
        .map(|s| StepJson {
            address: s.address.clone(),
            attribute: s.attribute.clone(),
            from: s.from.to_display_json(),
            steps: s.steps.iter().map(|v| v.to_display_json()).collect(),
        })
        .collect()
}

/// The document's `steps` alone (an empty array when there are none).
pub fn steps_document(plan: &Plan) -> Json {
    serde_json::to_value(steps(plan)).expect("steps always serialize")
}

/// Adds the run's estimate (`estimate`: its seconds and the operations of its critical path)
/// to a plan document, so a saved plan shows it too.
pub fn with_estimate(mut doc: Json, e: &Estimate) -> Json {
    let path: Vec<Json> = e
        .path
        .iter()
        .map(|(address, op, d)| {
            serde_json::json!({
                "address": address,
                "operation": op.name(),
                "typical_seconds": d.as_secs(),
            })
        })
        .collect();
    if let Some(m) = doc.as_object_mut() {
        m.insert(
            "estimate".into(),
            serde_json::json!({ "seconds": e.total.as_secs(), "critical_path": path }),
        );
    }
    doc
}

/// The estimate of a plan document, if it has one.
pub fn estimate_of(doc: &Json) -> Option<Estimate> {
    let e = &doc["estimate"];
    let path = e["critical_path"]
        .as_array()?
        .iter()
        .map(|step| {
            Some((
                step["address"].as_str()?.to_string(),
                OpKind::from_name(step["operation"].as_str()?)?,
                std::time::Duration::from_secs(step["typical_seconds"].as_u64()?),
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Estimate {
        total: std::time::Duration::from_secs(e["seconds"].as_u64()?),
        path,
    })
}
