//! `hdh graph`: the dependency graph in Graphviz DOT (edges point from a dependency to what
//! needs it, the order apply follows). With `--plan`, each resource is filled with the colour
//! of what the plan does to it, resources the plan deletes that the config no longer has are
//! added (dashed), and a legend names the colours.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use hdh_engine::plan::{Action, Mode};

use crate::cli::GraphArgs;
use crate::commands::plan::make_plan;
use crate::exit::Exit;
use crate::saved_plan::SavedPlan;
use crate::session::{load_config, Session};

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What the plan does to one resource, as the graph shows it.
struct Planned {
    action: String,
    type_name: String,
}

/// Fill colour per action name (`Action::name`), in the legend's order.
const COLOURS: &[(&str, &str)] = &[
    ("create", "#b7e1b0"),
    ("update", "#fbe29f"),
    ("replace", "#f6b26b"),
    ("delete", "#ea9999"),
    ("forget", "#a4d4e8"),
    ("adopt", "#b4a7d6"),
    ("no-op", "#ffffff"),
];

fn colour(action: &str) -> &'static str {
    COLOURS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or("#ffffff", |(_, c)| c)
}

pub async fn run(file: &Path, args: &GraphArgs) -> Result<Exit> {
    let planned = match &args.plan {
        None => None,
        Some(path) if !path.is_empty() => Some(from_saved(Path::new(path))?),
        Some(_) => Some(plan_now(file, args).await?),
    };
    let (config, _) = load_config(file)?;
    print!("{}", dot(&config.name, &config.desired, planned.as_ref()));
    Ok(Exit::Ok)
}

fn from_saved(path: &Path) -> Result<BTreeMap<String, Planned>> {
    let saved = SavedPlan::read(path)?;
    let changes = saved.plan["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(changes
        .iter()
        .filter_map(|c| {
            Some((
                c["address"].as_str()?.to_string(),
                Planned {
                    action: c["action"].as_str()?.to_string(),
                    type_name: c["type"].as_str()?.to_string(),
                },
            ))
        })
        .collect())
}

async fn plan_now(file: &Path, args: &GraphArgs) -> Result<BTreeMap<String, Planned>> {
    let session = Session::open(file)?;
    let mut run = session
        .begin("graph", args.planning.lock.lock_timeout)
        .await?;
    let planned = make_plan(&session, &mut run, Mode::Apply, &args.planning).await;
    run.finish().await;
    Ok(planned?
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| {
            (
                c.address.clone(),
                Planned {
                    action: c.action.name().to_string(),
                    type_name: c.type_name.clone(),
                },
            )
        })
        .collect())
}

fn dot(
    name: &str,
    d: &hdh_engine::graph::Desired,
    planned: Option<&BTreeMap<String, Planned>>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(name));
    let _ = writeln!(
        out,
        "  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];"
    );
    let label = |address: &str, type_name: &str, action: Option<&str>| {
        let text = match action {
            Some(a) if a != "no-op" => format!("{address}\\n{type_name}\\n({a})"),
            _ => format!("{address}\\n{type_name}"),
        };
        quote(&text).replace("\\\\n", "\\n")
    };
    for r in d.resources() {
        match planned {
            None => {
                let _ = writeln!(
                    out,
                    "  {} [label={}];",
                    quote(&r.address),
                    label(&r.address, &r.type_name, None)
                );
            }
            Some(p) => {
                let action = p.get(&r.address).map_or("no-op", |p| p.action.as_str());
                let _ = writeln!(
                    out,
                    "  {} [label={}, style=filled, fillcolor=\"{}\"];",
                    quote(&r.address),
                    label(&r.address, &r.type_name, Some(action)),
                    colour(action)
                );
            }
        }
    }
    // What the plan deletes but the config no longer declares has no edges in the config.
    for (address, p) in planned.into_iter().flatten() {
        if d.resources().iter().all(|r| &r.address != address) {
            let _ = writeln!(
                out,
                "  {} [label={}, style=\"filled,dashed\", fillcolor=\"{}\"];",
                quote(address),
                label(address, &p.type_name, Some(p.action.as_str())),
                colour(&p.action)
            );
        }
    }
    for (i, r) in d.resources().iter().enumerate() {
        for &j in d.deps_of(i) {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quote(&d.resources()[j].address),
                quote(&r.address)
            );
        }
    }
    if planned.is_some() {
        out.push_str(
            "  subgraph cluster_legend {\n    label=\"plan\";\n    fontname=\"Helvetica\";\n",
        );
        for (action, c) in COLOURS {
            let _ = writeln!(
                out,
                "    {} [label={}, style=filled, fillcolor=\"{c}\"];",
                quote(&format!("legend: {action}")),
                quote(action)
            );
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}
