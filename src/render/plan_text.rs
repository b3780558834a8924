//! The human plan: one block per change in the familiar `+ ~ -/+ -` style, attribute
//! before → after, multi-line strings as unified diffs, and a summary line.

use std::fmt::Write;

use hdh_engine::plan::{Action, AttrChange, Change, Mode, Plan, Summary};
use hdh_engine::value::Value;

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

/// One change as a block of lines.
pub fn change_block(c: &Change) -> String {
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

/// The whole plan as text.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    for w in &plan.warnings {
        let _ = writeln!(out, "{} {w}", style::yellow("warning:"));
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    if !plan.has_changes() {
        let what = match plan.mode {
            Mode::Apply => "No changes. The real resources match the configuration.",
            Mode::Destroy { .. } => "No changes. Nothing to destroy.",
        };
        let _ = writeln!(out, "{what}");
        return out;
    }
    let _ = writeln!(out, "hdh will perform these actions:\n");
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        out.push_str(&change_block(c));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        style::bold(&summary_line(&plan.summary(), "Plan"))
    );
    out
}
