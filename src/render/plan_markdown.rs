//! The plan as Markdown for a pull-request comment (`hdh plan --format markdown`): a headline
//! with counts, a table of changes, destructive ones called out, and a collapsed `<details>`
//! per change. Rendered from the redacted JSON document, so it can hold no secret the JSON
//! plan does not (and that holds none).

use std::fmt::Write;

use serde_json::{Map, Value as Json};

/// Longest value shown in a details table; longer ones are cut with "…".
const MAX_VALUE_CHARS: usize = 160;

/// Markdown for the plan document `doc` (see `plan_json::document`).
pub fn render(doc: &Json) -> String {
    let mut out = String::new();
    let stack = doc["stack"].as_str().unwrap_or("?");
    let destroy_mode = doc["mode"] == "destroy";
    let changes: &[Json] = doc["changes"].as_array().map_or(&[], Vec::as_slice);
    let command = if destroy_mode {
        "hdh plan --destroy"
    } else {
        "hdh plan"
    };
    let _ = writeln!(
        out,
        "### {command} for <code>{}</code>: {}\n",
        html(stack),
        headline(&doc["summary"])
    );
    if changes.is_empty() {
        out.push_str("No changes: the real resources match the config.\n\n");
        footer(&mut out, doc);
        return out;
    }

    let destructive: Vec<String> = changes
        .iter()
        .filter(|c| matches!(c["action"].as_str(), Some("replace" | "delete")))
        .map(|c| {
            format!(
                "{} <code>{}</code> ({})",
                verb(c),
                html(text(&c["address"])),
                html(text(&c["type"]))
            )
        })
        .collect();
    if !destructive.is_empty() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **Destructive changes:** this plan would {}.\n",
            destructive.join(", ")
        );
    }
    for w in doc["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "> [!NOTE]\n> {}\n", html(text(w)));
    }

    out.push_str("| | address | type | action | reason |\n|---|---|---|---|---|\n");
    for c in changes {
        let _ = writeln!(
            out,
            "| {} | <code>{}</code> | {} | {} | {} |",
            symbol(c),
            html(text(&c["address"])),
            html(text(&c["type"])),
            action(c),
            html(text(&c["reason"]["message"]))
        );
    }
    out.push('\n');

    for c in changes {
        details(&mut out, c);
    }
    footer(&mut out, doc);
    out
}

fn headline(summary: &Json) -> String {
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    let mut parts = vec![
        format!("{} to create", n("create")),
        format!("{} to update", n("update")),
        format!("{} to replace", n("replace")),
        format!("{} to delete", n("delete")),
    ];
    if n("forget") > 0 {
        parts.push(format!("{} to retain", n("forget")));
    }
    if n("adopt") > 0 {
        parts.push(format!("{} to adopt", n("adopt")));
    }
    if parts.iter().all(|p| p.starts_with("0 ")) {
        return "no changes".into();
    }
    parts.join(", ")
}

fn footer(out: &mut String, doc: &Json) {
    let _ = writeln!(
        out,
        "<sub>hdh {} · plan format {} · sensitive values are shown as (sensitive)</sub>",
        html(text(&doc["hdh_version"])),
        html(text(&doc["format_version"]))
    );
}

/// One collapsed section: reason, id, and the attributes before and after.
fn details(out: &mut String, c: &Json) {
    let _ = writeln!(
        out,
        "<details><summary>{} <code>{}</code> ({}): {}</summary>\n",
        symbol(c),
        html(text(&c["address"])),
        html(text(&c["type"])),
        action(c)
    );
    let _ = write!(out, "Reason: {}.", html(text(&c["reason"]["message"])));
    if let Some(id) = c["id"].as_str() {
        let _ = write!(out, " Id: <code>{}</code>.", html(id));
    }
    out.push('\n');
    let empty = Map::new();
    let before = c["before"].as_object().unwrap_or(&empty);
    let after = c["after"].as_object().unwrap_or(&empty);
    let forces: Vec<&str> = c["forces_replacement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    if !names.is_empty() {
        out.push_str("\n| attribute | before | after |\n|---|---|---|\n");
        for name in names {
            let cell = |v: Option<&Json>| v.map_or(String::new(), value);
            let note = if forces.contains(&name.as_str()) {
                " **forces replacement**"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| <code>{}</code> | {} | {}{note} |",
                html(name),
                cell(before.get(name)),
                cell(after.get(name))
            );
        }
    }
    out.push_str("\n</details>\n\n");
}

/// A value as compact JSON in `<code>`, cut when long; `(sensitive)` and
/// `(known after apply)` shown as words.
fn value(v: &Json) -> String {
    if let Some(s) = v.as_str() {
        if s == "(sensitive)" || s == "(known after apply)" {
            return format!("<i>{s}</i>");
        }
    }
    let mut s = v.to_string();
    if s.chars().count() > MAX_VALUE_CHARS {
        s = s.chars().take(MAX_VALUE_CHARS).collect::<String>() + "…";
    }
    format!("<code>{}</code>", html(&s))
}

fn action(c: &Json) -> String {
    match (c["action"].as_str(), c["replace_order"].as_str()) {
        (Some("replace"), Some("create_before_destroy")) => {
            "<b>replace</b> (create before destroy)".into()
        }
        (Some("replace"), _) => "<b>replace</b>".into(),
        (Some("delete"), _) => "<b>delete</b>".into(),
        (Some("forget"), _) => "retain (stop managing, keep it)".into(),
        (Some(a), _) => a.into(),
        (None, _) => "?".into(),
    }
}

fn verb(c: &Json) -> &'static str {
    match c["action"].as_str() {
        Some("replace") => "replace",
        _ => "delete",
    }
}

fn symbol(c: &Json) -> &'static str {
    match (c["action"].as_str(), c["replace_order"].as_str()) {
        (Some("create"), _) => "+",
        (Some("update"), _) => "~",
        (Some("replace"), Some("create_before_destroy")) => "+/-",
        (Some("replace"), _) => "-/+",
        (Some("delete"), _) => "-",
        (Some("forget"), _) => "=",
        (Some("adopt"), _) => "&lt;=",
        _ => "?",
    }
}

fn text(v: &Json) -> &str {
    v.as_str().unwrap_or("")
}

/// Escapes for HTML inside a Markdown table cell (a `|` would end the cell).
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn values_are_escaped_for_table_cells_and_cut_when_long() {
        assert_eq!(
            super::value(&json!("a|b<c>")),
            "<code>\"a&#124;b&lt;c&gt;\"</code>"
        );
        assert_eq!(super::value(&json!("(sensitive)")), "<i>(sensitive)</i>");
        let long = super::value(&json!("x".repeat(500)));
        assert!(long.ends_with("…</code>") && long.len() < 200, "{long}");
    }

    #[test]
    fn no_changes_says_so() {
        let doc = json!({
            "format_version": "1.0", "hdh_version": "0.1.0", "stack": "s", "mode": "apply",
            "summary": {"create": 0, "update": 0, "replace": 0, "delete": 0, "forget": 0,
                        "adopt": 0, "unchanged": 3},
            "changes": [], "warnings": []
        });
        let md = super::render(&doc);
        assert!(
            md.starts_with("### hdh plan for <code>s</code>: no changes"),
            "{md}"
        );
    }
}
