//! The human plan: one block per change in the familiar `+ ~ -/+ -` style, attribute
//! before → after, multi-line strings as unified diffs, and a summary line. A fresh plan and a
//! saved one (its redacted JSON document, `hdh show`) go through the same [`Shown`] form, so
//! they print alike.

use std::fmt::Write;
use std::time::Duration;

use hdh_engine::duration::about;

use serde_json::Value as Json;

use hdh_engine::estimate::Estimate;
use hdh_engine::plan::{Action, AttrChange, Change, Plan, Summary};
use hdh_engine::value::{Value, SENSITIVE_TEXT, UNKNOWN_TEXT};

use crate::render::{plan_json, value_paths};
use crate::style;

fn marker(action: Action) -> String {
    let s = action.symbol();
    match action {
        Action::Create | Action::Adopt => style::green(s),
        Action::Update => style::yellow(s),
        Action::Delete => style::red(s),
        Action::Replace { .. } => style::red(s),
        Action::Forget => style::cyan(s),
        Action::NoOp => s.to_string(),
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(v) => v.to_string(),
    }
}

fn attribute_lines(out: &mut String, attrs: &[AttrChange], creating: bool) {
    let width = attrs.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for a in attrs {
        let forces = if a.forces_replacement {
            style::red("  # forces replacement")
        } else {
            String::new()
        };
        if let Some(diff) = a.text_diff() {
            let _ = writeln!(out, "      {}:{forces}", a.name);
            if let (Some(Value::String(b)), Some(Value::String(after))) = (&a.before, &a.after) {
                for line in value_paths::changed(b, after).unwrap_or_default() {
                    let _ = writeln!(out, "        {line}");
                }
            }
            for line in diff.lines() {
                let painted = match line.chars().next() {
                    Some('+') => style::green(line),
                    Some('-') => style::red(line),
                    Some('@') => style::cyan(line),
                    _ => line.to_string(),
                };
                let _ = writeln!(out, "          {painted}");
            }
            continue;
        }
        if creating || a.before.is_none() {
            let _ = writeln!(out, "      {:width$} = {}{forces}", a.name, show(&a.after));
        } else {
            let _ = writeln!(
                out,
                "      {:width$} = {} → {}{forces}",
                a.name,
                show(&a.before),
                show(&a.after)
            );
        }
    }
}

/// One change as the text shows it.
pub struct Shown {
    pub action: Action,
    pub address: String,
    pub type_name: String,
    pub id: Option<String>,
    pub reason: String,
    pub attributes: Vec<AttrChange>,
}

impl Shown {
    fn of(c: &Change) -> Shown {
        Shown {
            action: c.action,
            address: c.address.clone(),
            type_name: c.type_name.clone(),
            id: c.id.clone(),
            reason: c.reason.to_string(),
            attributes: c.attributes.clone(),
        }
    }

    /// A change of the JSON document (`plan_json::document`); `None` if it is not one.
    fn from_json(c: &Json) -> Option<Shown> {
        let action = match (c["action"].as_str()?, c["replace_order"].as_str()) {
            ("create", _) => Action::Create,
            ("update", _) => Action::Update,
            ("replace", order) => Action::Replace {
                create_before_destroy: order == Some("create_before_destroy"),
            },
            ("delete", _) => Action::Delete,
            ("forget", _) => Action::Forget,
            ("adopt", _) => Action::Adopt,
            ("no-op", _) => Action::NoOp,
            _ => return None,
        };
        let empty = serde_json::Map::new();
        let before = c["before"].as_object().unwrap_or(&empty);
        let after = c["after"].as_object().unwrap_or(&empty);
        let forces: Vec<&str> = c["forces_replacement"]
            .as_array()
            .map_or(Vec::new(), |a| a.iter().filter_map(Json::as_str).collect());
        let attributes = merged_names(before, after)
            .into_iter()
            .map(|name| AttrChange {
                before: before.get(&name).map(displayed),
                after: after.get(&name).map(displayed),
                forces_replacement: forces.contains(&name.as_str()),
                name,
            })
            .collect();
        Some(Shown {
            action,
            address: c["address"].as_str()?.to_string(),
            type_name: c["type"].as_str()?.to_string(),
            id: c["id"].as_str().map(String::from),
            reason: c["reason"]["message"].as_str()?.to_string(),
            attributes,
        })
    }
}

/// The attribute names of both sides in the plan's order: `before` and `after` each keep it
/// (the document is written in attribute order), so a name only one side has goes right after
/// the name it follows on that side.
fn merged_names(
    before: &serde_json::Map<String, Json>,
    after: &serde_json::Map<String, Json>,
) -> Vec<String> {
    let mut names: Vec<String> = after.keys().cloned().collect();
    let mut at = 0;
    for name in before.keys() {
        match names.iter().position(|n| n == name) {
            Some(i) => at = i + 1,
            None => {
                names.insert(at, name.clone());
                at += 1;
            }
        }
    }
    names
}

/// A redacted JSON value back as the `Value` it was shown from: the redaction texts become
/// the marks they stand for, so they print unquoted, as in a fresh plan.
fn displayed(j: &Json) -> Value {
    match j {
        Json::String(s) if s == SENSITIVE_TEXT => Value::Null.sensitive(),
        Json::String(s) if s == UNKNOWN_TEXT => Value::Unknown,
        Json::Array(items) => Value::List(items.iter().map(displayed).collect()),
        Json::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), displayed(v))).collect()),
        other => Value::from(other),
    }
}

/// One change as a block of lines.
fn shown_block(c: &Shown) -> String {
    let mut out = String::new();
    let id =
        c.id.as_deref()
            .map(|i| format!(", id {i}"))
            .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {} {} {}",
        marker(c.action),
        style::bold(&c.address),
        style::dim(&format!("({}{id})", c.type_name))
    );
    let _ = writeln!(out, "      {}", style::dim(&format!("# {}", c.reason)));
    attribute_lines(&mut out, &c.attributes, c.action == Action::Create);
    out
}

/// The summary line, e.g. `Plan: 2 to create, 1 to update, 0 to replace, 0 to delete.`
pub fn summary_line(s: &Summary, prefix: &str) -> String {
    let mut parts = vec![
        format!("{} to create", s.create),
        format!("{} to update", s.update),
        format!("{} to replace", s.replace),
        format!("{} to delete", s.delete),
    ];
    if s.forget > 0 {
        parts.push(format!("{} to retain", s.forget));
    }
    if s.adopt > 0 {
        parts.push(format!("{} to adopt", s.adopt));
    }
    format!("{prefix}: {}.", parts.join(", "))
}

/// The plan's closing estimate: the critical path's length and its slow steps, e.g.
/// `Estimated time: ~19m, along 9 operations one after another: create daskhub.cluster (~10m)
/// → create daskhub.node_group["core"] (~4m) → … (and 6 quick ones).`
pub fn estimate_line(e: &Estimate) -> String {
    if e.total < Duration::from_secs(60) {
        return "Estimated time: under a minute.".into();
    }
    let slow: Vec<String> = e
        .path
        .iter()
        .filter(|(_, _, d)| *d >= Duration::from_secs(60))
        .map(|(address, op, d)| format!("{} {address} ({})", op.name(), about(*d)))
        .collect();
    let quick = e.path.len() - slow.len();
    let chain = match (slow.is_empty(), quick) {
        (true, n) => format!("{n} quick operations"),
        (false, 0) => slow.join(" → "),
        (false, 1) => format!("{} and 1 quick one", slow.join(" → ")),
        (false, n) => format!("{} and {n} quick ones", slow.join(" → ")),
    };
    format!(
        "Estimated time: {}, the longest chain of operations that wait on each other: {chain}.",
        about(e.total)
    )
}

/// The whole plan as text, ending with its estimate when there is one.
pub fn render(plan: &Plan, estimate: Option<&Estimate>) -> String {
    let changes: Vec<Shown> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(Shown::of)
        .collect();
    let destroying = matches!(plan.mode, hdh_engine::plan::Mode::Destroy { .. });
    let steps = plan_json::steps_document(plan);
    render_shown(
        &plan.warnings,
        &steps_lines(&steps),
        destroying,
        &changes,
        &plan.summary(),
        estimate,
    )
}

/// A saved plan's JSON document as text, exactly as `render` printed the plan it was made from.
pub fn render_document(doc: &Json) -> Result<String, String> {
    let bad = |what: &str| format!("the plan document has no valid {what}");
    let changes = doc["changes"]
        .as_array()
        .ok_or_else(|| bad("changes"))?
        .iter()
        .map(|c| Shown::from_json(c).ok_or_else(|| bad("change")))
        .collect::<Result<Vec<_>, _>>()?;
    let warnings: Vec<String> = doc["warnings"].as_array().map_or(Vec::new(), |w| {
        w.iter()
            .filter_map(|w| w.as_str().map(String::from))
            .collect()
    });
    let count = |k: &str| doc["summary"][k].as_u64().unwrap_or(0) as usize;
    let summary = Summary {
        create: count("create"),
        update: count("update"),
        replace: count("replace"),
        delete: count("delete"),
        forget: count("forget"),
        adopt: count("adopt"),
        unchanged: count("unchanged"),
    };
    let destroying = doc["mode"] == "destroy";
    let estimate = plan_json::estimate_of(doc);
    Ok(render_shown(
        &warnings,
        &steps_lines(&doc["steps"]),
        destroying,
        &changes,
        &summary,
        estimate.as_ref(),
    ))
}

/// The plan's stepped inputs (its document's `steps`), a line each.
fn steps_lines(steps: &Json) -> Vec<String> {
    steps
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let values: Vec<Value> = s["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(displayed)
                .collect();
            let mut line = format!(
                "{}: {} {} → {} (this run's first step)",
                s["address"].as_str().unwrap_or_default(),
                s["attribute"].as_str().unwrap_or_default(),
                displayed(&s["from"]),
                values.first().map(Value::to_string).unwrap_or_default()
            );
            for v in values.iter().skip(1) {
                let _ = write!(line, " → {v}");
            }
            line
        })
        .collect()
}

fn render_shown(
    warnings: &[String],
    steps: &[String],
    destroying: bool,
    changes: &[Shown],
    s: &Summary,
    estimate: Option<&Estimate>,
) -> String {
    let mut out = String::new();
    for w in warnings {
        let _ = writeln!(out, "{} {w}", style::yellow("warning:"));
    }
    if !warnings.is_empty() {
        out.push('\n');
    }
    if !steps.is_empty() {
        let _ = writeln!(
            out,
            "In steps (one step at a time is all the cloud allows):\n{}\n  This plan is the \
             first step: it moves each of these one step and updates what follows them. `hdh \
             apply` plans and applies the next step after it, in the same run; a saved plan \
             applies this step only.\n",
            steps
                .iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    if changes.is_empty() {
        let what = if destroying {
            "No changes. Nothing to destroy."
        } else {
            "No changes. The real resources match the configuration."
        };
        let _ = writeln!(out, "{what}");
        return out;
    }
    let _ = writeln!(out, "hdh will perform these actions:\n");
    for c in changes {
        out.push_str(&shown_block(c));
        out.push('\n');
    }
    let _ = writeln!(out, "{}", style::bold(&summary_line(s, "Plan")));
    if let Some(e) = estimate {
        let _ = writeln!(out, "{}", estimate_line(e));
    }
    out
}
