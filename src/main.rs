//! The `hdh` binary: parses the command line, runs one command, prints errors with their hints
//! and maps every outcome to an exit code. Only this crate prints.

mod cli;
mod commands;
mod errored;
mod exit;
mod render;
mod run_error;
mod saved_plan;
mod session;
mod style;

use clap::Parser;

use crate::cli::{Cli, Command, StateCommand};
use crate::exit::{Exit, UserError};
use crate::session::ConfigErrors;

async fn dispatch(cli: &Cli) -> anyhow::Result<Exit> {
    let file = cli.file.as_path();
    match &cli.command {
        Command::Validate => commands::validate::run(file),
        Command::Plan(args) => commands::plan::run(file, args).await,
        Command::Apply(args) => commands::apply::apply(file, args).await,
        Command::Destroy(args) => commands::apply::destroy(file, args).await,
        Command::Import(args) => commands::import::run(file, args).await,
        Command::Graph(args) => commands::graph::run(file, args).await,
        Command::Show(args) => commands::show::run(args),
        Command::Init(args) => commands::init::run(file, args),
        Command::Completions { shell } => commands::docs::completions(*shell),
        Command::Man { command } => commands::docs::man(command),
        Command::Schema => commands::docs::schema(),
        Command::Output(args) => commands::output::run(file, args.name.as_deref(), args.json).await,
        Command::State(StateCommand::List) => commands::state::list(file).await,
        Command::State(StateCommand::Show { address: None }) => {
            commands::state::overview(file).await
        }
        Command::State(StateCommand::Show {
            address: Some(address),
        }) => commands::state::show(file, address).await,
        Command::State(StateCommand::Rm { address, lock }) => {
            commands::state::rm(file, address, lock.lock_timeout).await
        }
        Command::State(StateCommand::Push {
            state_file: pushed,
            lock,
        }) => commands::state_move::push(file, pushed, lock.lock_timeout).await,
        Command::State(StateCommand::Migrate { from, lock }) => {
            commands::state_move::migrate(file, from, lock.lock_timeout).await
        }
        Command::ForceUnlock { id } => commands::state::force_unlock(file, id).await,
        Command::EksToken { cluster, region } => commands::eks_token::run(cluster, region).await,
    }
}

/// Prints an error the way users see every error: the cause, then a hint if there is one.
fn report(err: &anyhow::Error) -> Exit {
    if let Some(ConfigErrors(diags)) = err.downcast_ref::<ConfigErrors>() {
        // The first SHOWN: a file with a million mistakes must not print a million lines.
        const SHOWN: usize = 50;
        for d in diags.iter().take(SHOWN) {
            eprintln!("{d}");
        }
        let n = diags.total();
        if n > SHOWN {
            eprintln!("and {} more problems", n - SHOWN);
        }
        eprintln!(
            "{} in the config; nothing was changed.",
            if n == 1 {
                "1 error".to_string()
            } else {
                format!("{n} errors")
            }
        );
        return Exit::Error;
    }
    if let Some(e) = err.downcast_ref::<UserError>() {
        eprintln!("{} {}", style::red("error:"), e.message);
        if let Some(h) = &e.hint {
            eprintln!("  hint: {h}");
        }
        return e.exit;
    }
    eprintln!("{} {err}", style::red("error:"));
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    Exit::Error
}

fn main() {
    // Usage errors exit 1, not clap's 2: with --detailed-exitcode, 2 means "changes".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                Exit::Error as i32
            } else {
                Exit::Ok as i32
            });
        }
    };
    style::init(cli.no_color, cli.verbose);
    session::set_allow_lineage_change(cli.allow_lineage_change);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            std::process::exit(Exit::Error as i32);
        }
    };
    let code = match runtime.block_on(dispatch(&cli)) {
        Ok(code) => code,
        Err(err) => report(&err),
    };
    drop(runtime);
    std::process::exit(code as i32);
}
