//! How the errors of a run (the engine's [`RunError`]) read to the user: the message, and a hint
//! that says what was left unchanged and what to do.

use hdh_engine::plan::PlanError;
use hdh_engine::run::{LockError, RunError};

use crate::exit::{user_error, UserError};
use crate::session::store_error;

pub fn run_error(e: RunError) -> anyhow::Error {
    match e {
        RunError::Lock {
            source: LockError::Store { source },
        }
        | RunError::Store { source } => store_error(source),
        RunError::Lock { source } => user_error(source.to_string()),
        RunError::Settle { source } => {
            user_error(format!("could not settle an interrupted run: {source}"))
        }
        RunError::Refresh { errors } => user_error(
            errors
                .iter()
                .map(|e| format!("refresh failed: {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        RunError::Plan { source } => plan_error(source),
        RunError::Preflight { findings } => {
            let lines: Vec<String> = findings
                .iter()
                .map(|f| match &f.attribute {
                    Some(a) => format!("{}: {a}: {}", f.address, f.message),
                    None => format!("{}: {}", f.address, f.message),
                })
                .collect();
            UserError::new(format!(
                "the plan cannot be applied:\n  {}",
                lines.join("\n  ")
            ))
            .hint("nothing was changed; fix the config and plan again")
            .into()
        }
    }
}

/// A refusal of the planner, with what was left unchanged.
pub fn plan_error(e: PlanError) -> anyhow::Error {
    let hint = match &e {
        PlanError::Protected { .. } => Some(
            "set `lifecycle: { protect: false }` on it and apply that first, if you really mean it",
        ),
        PlanError::RetainedNeedsDecision { .. } => Some("nothing was deleted"),
        PlanError::UnknownTarget { .. } => Some("`hdh state list` shows the addresses in state"),
        PlanError::UnknownType { .. } => None,
        PlanError::UnknownReplace { .. } => {
            Some("`hdh plan` lists every address of the config; nothing was changed")
        }
        PlanError::ReplaceInDestroy => Some("nothing was changed"),
    };
    let mut err = UserError::new(e.to_string());
    err.hint = hint.map(String::from);
    err.into()
}
