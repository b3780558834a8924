//! The command line as clap sees it: every command, flag and default of the CLI contract.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hdh",
    version,
    about = "Plan, apply and tear down a HelioCloud DaskHub from one YAML file",
    propagate_version = true
)]
pub struct Cli {
    /// The desired-state file.
    #[arg(short = 'f', long = "file", global = true, default_value = "hdh.yaml")]
    pub file: PathBuf,

    /// No ANSI colours (also when NO_COLOR is set or output is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// More detail: progress of long operations, timings.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the file: syntax, types, references, cycles. No state, no network.
    Validate,
    /// Show what apply would change; touches nothing.
    Plan(PlanArgs),
    /// Make the real world match the file (or carry out a saved plan).
    Apply(ApplyArgs),
    /// Delete everything the stack manages; retained resources need --keep-retained or
    /// --delete-retained.
    Destroy(DestroyArgs),
    /// Print the dependency graph in Graphviz DOT.
    Graph,
    /// Print the stack's outputs (sensitive ones as "(sensitive)").
    Output(OutputArgs),
    /// Inspect or edit the recorded state.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a stale lock, by the id its holder's message showed.
    ForceUnlock {
        /// The lock id.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 3 if the plan deletes or forgets anything (replacements included).
    Destroy,
    /// Exit 3 if the plan replaces anything.
    Replace,
    /// Exit 3 if the plan changes anything.
    Any,
}

#[derive(Debug, Clone, Args)]
pub struct PlanningArgs {
    /// Read real resources before planning (--refresh=false uses state as recorded).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true)]
    pub refresh: bool,

    /// Plan only this resource and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub planning: PlanningArgs,

    /// Plan a destroy instead of an apply.
    #[arg(long)]
    pub destroy: bool,

    /// With --destroy: keep retained resources.
    #[arg(long, requires = "destroy", conflicts_with = "delete_retained")]
    pub keep_retained: bool,

    /// With --destroy: delete retained resources too.
    #[arg(long, requires = "destroy")]
    pub delete_retained: bool,

    /// Write the plan to FILE for `hdh apply FILE` (no secret is written).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print the plan as JSON (format documented in docs/plan-json.md).
    #[arg(long)]
    pub json: bool,

    /// Exit 0 with no changes, 2 with changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Exit 3 when the plan would do this, naming the changes.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `hdh plan --out`; refused if state changed since where it matters.
    pub plan_file: Option<PathBuf>,

    #[command(flatten)]
    pub planning: PlanningArgs,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub planning: PlanningArgs,

    #[command(flatten)]
    pub run: RunArgs,

    /// Keep retained resources (EFS, buckets, keys, user pools) and record them in state.
    #[arg(long, conflicts_with = "delete_retained")]
    pub keep_retained: bool,

    /// Delete retained resources too. Their data is lost.
    #[arg(long)]
    pub delete_retained: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// At most this many operations at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// One output only.
    pub name: Option<String>,

    /// As JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List managed and retained resources.
    List,
    /// Show one resource's recorded attributes (sensitive ones redacted).
    Show { address: String },
    /// Stop managing a resource without deleting it.
    Rm { address: String },
}
