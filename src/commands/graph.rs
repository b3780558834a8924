//! `hdh graph`: the dependency graph in Graphviz DOT (edges point from a dependency to what
//! needs it, the order apply follows).

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use crate::exit::Exit;
use crate::session::load_config;

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn run(file: &Path) -> Result<Exit> {
    let (config, _) = load_config(file)?;
    let d = &config.desired;
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&config.name));
    let _ = writeln!(
        out,
        "  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];"
    );
    for r in d.resources() {
        let _ = writeln!(
            out,
            "  {} [label={}];",
            quote(&r.address),
            quote(&format!("{}\\n{}", r.address, r.type_name)).replace("\\\\n", "\\n")
        );
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
    out.push_str("}\n");
    print!("{out}");
    Ok(Exit::Ok)
}
