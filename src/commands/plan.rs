//! `hdh plan`: settle, refresh, plan, show; optionally save the plan and gate CI with exit
//! codes. Touches nothing in the cloud and never writes state.

use std::path::Path;

use anyhow::Result;
use hdh_engine::estimate::estimate;
use hdh_engine::plan::{Action, Drift, Mode, Plan, RetainedPolicy};
use hdh_engine::run::{PlanRequest, Run};
use hdh_engine::state::State;

use crate::cli::{FailOn, PlanArgs, PlanFormat, PlanningArgs};
use crate::exit::Exit;
use crate::render::{plan_json, plan_markdown, plan_text};
use crate::run_error::run_error;
use crate::saved_plan::SavedPlan;
use crate::session::{report_resolution, Session};

/// Plans within `run` (which settles, refreshes, plans and preflights), reports what settling
/// found, and heads the plan with the config's own warnings (e.g. a hub without login).
pub async fn make_plan(
    session: &Session,
    run: &mut Run,
    mode: Mode,
    planning: &PlanningArgs,
) -> Result<Plan> {
    let ctx = session.ctx();
    let planned = run
        .plan(&PlanRequest {
            desired: &session.config.desired,
            providers: &session.providers,
            ctx: &ctx,
            mode,
            targets: &planning.targets,
            replace: &planning.replace,
            refresh: planning.refresh,
        })
        .await
        .map_err(run_error)?;
    report_resolution(&planned.resolution);
    if let (Some(took), true) = (planned.refreshed_in, crate::style::verbose()) {
        report_refresh(&run.state, &planned.drift, took);
    }
    let mut plan = planned.plan;
    plan.warnings
        .extend(session.config.warnings.iter().cloned());
    Ok(plan)
}

/// `-v`: how much the refresh read, how long it took, and what it found.
fn report_refresh(state: &State, drift: &Drift, took: std::time::Duration) {
    let types: std::collections::BTreeSet<&str> = state
        .resources
        .values()
        .map(|r| r.type_name.as_str())
        .collect();
    eprintln!(
        "refreshed {} resources of {} types in {:.2}s ({} changed outside hdh, {} gone)",
        state.resources.len() + drift.vanished.len(),
        types.len(),
        took.as_secs_f64(),
        drift.changed.len(),
        drift.vanished.len()
    );
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
    // A plan writes nothing: its run only holds the lock while it reads.
    let mut run = session
        .begin("plan", args.planning.lock.lock_timeout)
        .await?;
    let planned = async {
        let plan = make_plan(&session, &mut run, mode, &args.planning).await?;
        let estimate = estimate(
            &plan,
            &session.config.desired,
            &run.state,
            &session.providers,
        );
        anyhow::Ok((plan, estimate))
    }
    .await;
    run.finish().await;
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
