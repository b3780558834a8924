//! `hdh output`: the stack's outputs as recorded by the last apply; sensitive ones redacted.

use std::path::Path;

use anyhow::Result;

use crate::exit::{user_error, Exit};
use crate::session::Session;

pub async fn run(file: &Path, name: Option<&str>, json: bool) -> Result<Exit> {
    let session = Session::open(file)?;
    let state = session.load_state().await?;
    if let Some(name) = name {
        let v = state.outputs.get(name).ok_or_else(|| {
            user_error(format!(
                "no output named {name}; the last apply recorded: {}",
                names(&state)
            ))
        })?;
        if json {
            println!("{}", v.to_display_json());
        } else {
            match v {
                hdh_engine::Value::String(s) => println!("{s}"),
                v => println!("{v}"),
            }
        }
        return Ok(Exit::Ok);
    }
    if json {
        let doc: serde_json::Map<String, serde_json::Value> = state
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_display_json()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else if state.outputs.is_empty() {
        println!("No outputs recorded. (Declare them under `outputs:` and apply.)");
    } else {
        let width = state.outputs.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in &state.outputs {
            println!("{k:width$} = {v}");
        }
    }
    Ok(Exit::Ok)
}

fn names(state: &hdh_engine::State) -> String {
    if state.outputs.is_empty() {
        "none".into()
    } else {
        state.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}
