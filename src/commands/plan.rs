//! `hdh plan`: settle, refresh, plan, show; optionally save the plan and gate CI with exit
//! codes. Touches nothing in the cloud and never writes state.

use std::path::Path;

use anyhow::Result;
use hdh_engine::estimate::estimate;
use hdh_engine::plan::{self, Action, Mode, Plan, PlanError, PlanInput, RetainedPolicy};
use hdh_engine::preflight::preflight;
use hdh_engine::state::State;

use crate::cli::{FailOn, PlanArgs, PlanFormat, PlanningArgs};
use crate::exit::{Exit, UserError};
use crate::render::{plan_json, plan_markdown, plan_text};
use crate::saved_plan::SavedPlan;
use crate::session::{report_resolution, Session};

/// Settles intents and refreshes `state` in memory, then plans.
pub async fn make_plan(
    session: &Session,
    state: &mut State,
    mode: Mode,
    planning: &PlanningArgs,
) -> Result<Plan> {
    let (resolution, drift) = session.prepare(state, planning.refresh).await?;
    report_resolution(&resolution);
    let mut plan = plan::plan(&PlanInput {
        desired: &session.config.desired,
        state,
        providers: &session.providers,
        mode,
        targets: &planning.targets,
        replace: &planning.replace,
        drift: &drift,
    })
    .map_err(plan_error)?;
    // The config's own warnings (e.g. a hub without login) head every plan.
    plan.warnings
        .extend(session.config.warnings.iter().cloned());
    // Provider checks against the real system (instance types per AZ, version steps), so a
    // plan that cannot succeed fails here, not halfway through an apply.
    let findings = preflight(&plan, state, &session.providers, &session.ctx()).await;
    if !findings.is_empty() {
        let lines: Vec<String> = findings
            .iter()
            .map(|f| match &f.attribute {
                Some(a) => format!("{}: {a}: {}", f.address, f.message),
                None => format!("{}: {}", f.address, f.message),
            })
            .collect();
        return Err(UserError::new(format!(
            "the plan cannot be applied:\n  {}",
            lines.join("\n  ")
        ))
        .hint("nothing was changed; fix the config and plan again")
        .into());
    }
    Ok(plan)
}

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

pub fn destroy_mode(keep: bool, delete: bool) -> Mode {
    let retained = match (keep, delete) {
        (true, _) => RetainedPolicy::Keep,
        (_, true) => RetainedPolicy::Delete,
        _ => RetainedPolicy::Refuse,
    };
    Mode::Destroy { retained }
}

pub async fn run(file: &Path, args: &PlanArgs) -> Result<Exit> {
    let session = Session::open(file)?;
    let mode = if args.destroy {
        destroy_mode(args.keep_retained, args.delete_retained)
    } else {
        Mode::Apply
    };
    for path in crate::errored::leftovers(file, &session.config.name) {
        eprintln!(
            "warning: {} holds the state of a run whose write failed; this plan does not \
             include it until `hdh state push` uploads it",
            path.display()
        );
    }
    let lock = session
        .lock("plan", args.planning.lock.lock_timeout)
        .await?;
    let planned = async {
        let mut state = session.load_state().await?;
        let plan = make_plan(&session, &mut state, mode, &args.planning).await?;
        let estimate = estimate(&plan, &session.config.desired, &state, &session.providers);
        anyhow::Ok((plan, estimate))
    }
    .await;
    session.unlock(&lock).await;
    let (plan, estimate) = planned?;

    let doc = plan_json::with_estimate(plan_json::document(&plan, &session.config.name), &estimate);
    let format = if args.json {
        PlanFormat::Json
    } else {
        args.format
    };
    match format {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        PlanFormat::Markdown => print!("{}", plan_markdown::render(&doc)),
        PlanFormat::Text => print!("{}", plan_text::render(&plan, Some(&estimate))),
    }
    if let Some(out) = &args.out {
        SavedPlan::new(
            &plan,
            &session.config.name,
            &session.config.config_hash,
            args.planning.refresh,
            doc,
        )
        .write(out)?;
        if format == PlanFormat::Text {
            println!(
                "\nSaved the plan to {}. Apply exactly it with: hdh apply -f {} {}",
                out.display(),
                file.display(),
                out.display()
            );
        }
    }
    if let Some(rule) = args.fail_on {
        let forbidden = forbidden_changes(&plan, rule);
        if !forbidden.is_empty() {
            eprintln!(
                "error: --fail-on {}: the plan would {}",
                match rule {
                    FailOn::Destroy => "destroy",
                    FailOn::Replace => "replace",
                    FailOn::Any => "any",
                },
                forbidden.join(", ")
            );
            return Ok(Exit::Forbidden);
        }
    }
    if args.detailed_exitcode && plan.has_changes() {
        return Ok(Exit::Changes);
    }
    Ok(Exit::Ok)
}

/// The changes `--fail-on` forbids, as "delete x", "replace y".
fn forbidden_changes(plan: &Plan, rule: FailOn) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| match (rule, c.action) {
            (_, Action::NoOp) => false,
            (FailOn::Any, _) => true,
            (FailOn::Replace, a) => matches!(a, Action::Replace { .. }),
            (FailOn::Destroy, a) => {
                matches!(a, Action::Replace { .. } | Action::Delete | Action::Forget)
            }
        })
        .map(|c| format!("{} {}", c.action.name(), c.address))
        .collect()
}
