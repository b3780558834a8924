//! `hdh completions SHELL` and `hdh man`: generated from the clap definition in `cli.rs`, so a
//! flag added there is completed and documented without anyone remembering to. `hdh schema`:
//! the config's JSON Schema, generated from the tables and resource types validation uses.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionShell};
use crate::exit::{user_error, Exit};

pub fn completions(shell: CompletionShell) -> Result<Exit> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hdh", &mut out);
    std::io::stdout().write_all(&out)?;
    Ok(Exit::Ok)
}

/// The roff page of `hdh` or, with `command` (e.g. `state show`), of `hdh-state-show`; the
/// top page lists the commands as `hdh-plan(1)` and so on, as man pages of git-like tools do.
pub fn man(command: &[String]) -> Result<Exit> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut name = "hdh".to_string();
    for part in command {
        let Some(sub) = cmd.find_subcommand(part).cloned() else {
            return Err(user_error(format!(
                "hdh has no command `{} {part}`",
                name.replace('-', " ")
            )));
        };
        name = format!("{name}-{}", sub.get_name());
        cmd = sub;
    }
    let cmd = cmd.name(name.clone()).bin_name(name.replace('-', " "));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(Exit::Ok)
}

/// The JSON Schema of hdh.yaml (`hdh_schema::json_schema`), with every resource type hdh has.
pub fn schema() -> Result<Exit> {
    let providers = crate::session::providers_for(std::path::Path::new("."));
    let doc = hdh_schema::json_schema::generate(&providers);
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(Exit::Ok)
}
