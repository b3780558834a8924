//! The command line as clap sees it: every command, flag and default of the CLI contract.

use std::path::PathBuf;
use std::time::Duration;

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

    /// Accept a state that is not the one this stack last recorded (another lineage, a
    /// lineage change, an older serial, a missing file beside its backup); says so when used.
    #[arg(long, global = true)]
    pub allow_lineage_change: bool,

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
    /// Record resources other tools made (a hub built with the HelioCloud seed's scripts) in
    /// state: match each resource of the file by name, parent and association (or the id given
    /// with --id), refuse what is not certain, write all matches at once or nothing.
    Import(ImportArgs),
    /// Print the dependency graph in Graphviz DOT (`hdh graph | dot -Tsvg > graph.svg`).
    Graph(GraphArgs),
    /// Render a plan saved by `hdh plan --out` as `hdh plan` shows it. Reads only the file:
    /// no config, no state, no credentials, no network.
    Show(ShowArgs),
    /// Print a shell completion script (e.g. `hdh completions bash > /etc/bash_completion.d/hdh`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Write a commented hdh.yaml for a DaskHub (the -f file), optionally filled in from the
    /// HelioCloud seed's app.config. Never replaces an existing file without --force.
    Init(InitArgs),
    /// Print a manual page in roff (e.g. `hdh man > hdh.1; man ./hdh.1`; `hdh man plan`).
    Man {
        /// A command (e.g. `plan`, `state show`) for its own page; none for hdh's.
        command: Vec<String>,
    },
    /// Print the JSON Schema (draft 2020-12) of hdh.yaml, for editors: generated from the
    /// definitions `hdh validate` uses (e.g. `hdh schema > hdh.schema.json`).
    Schema,
    /// Print the stack's outputs (sensitive ones as "(sensitive)").
    Output(OutputArgs),
    /// Inspect or edit the recorded state.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a stale lock, by the id its holder's message showed (only that lock).
    ForceUnlock {
        /// The lock id.
        id: String,
    },
    /// Print an EKS bearer token as a kubectl exec credential (the kubeconfigs hdh writes run
    /// this; like `aws eks get-token`, without the AWS CLI).
    EksToken {
        /// The EKS cluster's name.
        #[arg(long)]
        cluster: String,
        /// The cluster's region.
        #[arg(long)]
        region: String,
    },
}

/// The shells `hdh completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Colour each resource by what the plan does to it. Without FILE: plan now (reads state
    /// and, unless --refresh=false, the real resources); with FILE: a plan saved by
    /// `hdh plan --out`, offline.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pub plan: Option<String>,

    #[command(flatten)]
    pub planning: PlanningArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Read the variables of a HelioCloud app.config (EKS_NAME, NAMESPACE, ROUTE53_HOSTED_ZONE,
    /// ROUTE53_DASKHUB_PREFIX, DASKHUB_ADMIN_USER, ADMIN_USER_EMAIL, GENERIC_DOCKER_LOCATION…)
    /// and say which could not be used.
    #[arg(long, value_name = "APP_CONFIG")]
    pub from: Option<PathBuf>,

    /// The stack's name.
    #[arg(long, default_value = "helio")]
    pub name: String,

    /// The AWS region (default: app.config's AWS_REGION if it is a plain value, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,

    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The id of an existing resource for one address (repeatable), e.g.
    /// --id 'daskhub.network.vpc=vpc-0abc': for what a search finds twice or cannot find.
    #[arg(long = "id", value_name = "ADDRESS=ID")]
    pub ids: Vec<String>,

    /// Show what would be matched; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Record what was matched with certainty even if other resources were refused (they stay
    /// out of state: the next plan creates them unless a later import records them).
    #[arg(long)]
    pub partial: bool,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: PathBuf,

    /// Print the plan as JSON (docs/plan-json.md); same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
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

    /// Replace this resource even if nothing about it changed (repeatable): rotate a random
    /// token, recreate a node group. The plan shows it as a replacement asked for.
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LockArgs {
    /// Wait this long for a state lock someone else holds (e.g. 30s, 5m); 0 fails at once.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

/// A duration like `0`, `500ms`, `30s`, `5m`, `1h`, `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (e.g. 0, 500ms, 30s, 5m, 1h, 1m30s)");
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = &rest[unit..];
    }
    Ok(total)
}

/// How `hdh plan` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people at a terminal.
    Text,
    /// The documented JSON document (same as --json).
    Json,
    /// A summary for a pull-request comment, details collapsed.
    Markdown,
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

    /// Print the plan as JSON (format documented in docs/plan-json.md); same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

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

    /// Stream the run as JSON, one object per line per event (started, running, finished,
    /// failed, skipped, cleaned_up, retained, summary; docs/run-events.md) instead of the
    /// human output. Needs --auto-approve or a saved plan: there is no prompt on a stream.
    #[arg(long)]
    pub json: bool,

    /// The deadline for each wait inside one operation (a cluster becoming ACTIVE, network
    /// interfaces being released), e.g. 30m, 1h30m; when it passes, the operation fails saying
    /// what it was still waiting for.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = parse_duration)]
    pub timeout: Duration,
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
    /// Without ADDRESS: where state is, its lineage, serial and counts, and (S3) the bucket's
    /// versioning. With ADDRESS: one resource's recorded attributes (sensitive ones redacted).
    Show { address: Option<String> },
    /// Stop managing a resource without deleting it.
    Rm {
        address: String,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Upload a state file (an errored.<stack>.state.json left by a failed write) to the
    /// configured backend, if it has the same lineage and a newer serial than the stored one.
    Push {
        /// The state file to upload.
        #[arg(value_name = "FILE")]
        state_file: PathBuf,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Move state into the backend the config now names, from the old one (a local path or
    /// s3://BUCKET/KEY), keeping lineage and serial. The old state is left as it was.
    Migrate {
        /// Where the state is now: a local path or s3://BUCKET/KEY.
        #[arg(long, value_name = "PATH|s3://BUCKET/KEY")]
        from: String,
        #[command(flatten)]
        lock: LockArgs,
    },
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations() {
        let p = super::parse_duration;
        assert_eq!(p("0"), Ok(Duration::ZERO));
        assert_eq!(p("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(p("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(p("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(p("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(p("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["", "5", "m", "5x", "-1s", "1.5s", "s5"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
