//! `hdh show PLANFILE`: a saved plan rendered as `hdh plan` rendered it (text, JSON,
//! Markdown). It reads only the file — no config, state, credentials or network — so a
//! reviewer or a CI job without AWS access can read what `hdh apply PLANFILE` would do.

use anyhow::Result;

use crate::cli::{PlanFormat, ShowArgs};
use crate::exit::{user_error, Exit};
use crate::render::{plan_markdown, plan_text};
use crate::saved_plan::SavedPlan;

pub fn run(args: &ShowArgs) -> Result<Exit> {
    let saved = SavedPlan::read(&args.plan_file)?;
    let format = if args.json {
        PlanFormat::Json
    } else {
        args.format
    };
    match format {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&saved.plan)?),
        PlanFormat::Markdown => print!("{}", plan_markdown::render(&saved.plan)),
        PlanFormat::Text => {
            let text = plan_text::render_document(&saved.plan)
                .map_err(|e| user_error(format!("{}: {e}", args.plan_file.display())))?;
            print!("{text}");
            println!(
                "\nSaved plan for stack {} (made by hdh {}); apply it with: hdh apply {}",
                saved.stack,
                saved.hdh_version,
                args.plan_file.display()
            );
        }
    }
    Ok(Exit::Ok)
}
