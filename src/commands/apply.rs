//! `hdh apply` and `hdh destroy`: plan (or take a saved plan), confirm, run the executor with
//! live progress, and report everything that happened. Ctrl-C stops scheduling, lets in-flight
//! work finish, saves, and exits 130.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use std::time::{Duration, Instant};

use hdh_engine::apply::{ExecOptions, Executor, Report};
use hdh_engine::estimate::estimate;
use hdh_engine::plan::{Action, Mode, Plan};
use hdh_engine::run::Run;

use crate::cli::{ApplyArgs, DestroyArgs, PlanningArgs, RunArgs};
use crate::commands::plan::{destroy_mode, make_plan};
use crate::errored;
use crate::exit::{user_error, Exit, UserError};
use crate::render::{closing, plan_text, progress, run_json};
use crate::saved_plan::SavedPlan;
use crate::session::Session;
use crate::style;

pub async fn apply(file: &Path, args: &ApplyArgs) -> Result<Exit> {
    let saved = args.plan_file.as_deref().map(SavedPlan::read).transpose()?;
    let mode = saved.as_ref().map_or(Mode::Apply, |s| s.mode());
    let mut planning = args.planning.clone();
    if let Some(s) = &saved {
        planning.refresh = s.refresh;
        planning.targets = s.targets.clone();
        planning.replace = s.replace.clone();
    }
    run(file, mode, &planning, &args.run, saved).await
}

pub async fn destroy(file: &Path, args: &DestroyArgs) -> Result<Exit> {
    let mode = destroy_mode(args.keep_retained, args.delete_retained);
    run(file, mode, &args.planning, &args.run, None).await
}

async fn run(
    file: &Path,
    mode: Mode,
    planning: &PlanningArgs,
    run: &RunArgs,
    saved: Option<SavedPlan>,
) -> Result<Exit> {
    if run.json && saved.is_none() && !run.auto_approve {
        return Err(
            UserError::new("--json needs --auto-approve: a JSON stream has no prompt")
                .hint(format!(
                    "review `hdh plan -f {}` first, or apply a saved plan",
                    file.display()
                ))
                .into(),
        );
    }
    let mut session = Session::open(file)?;
    session.op_timeout = run.timeout;
    session.json = run.json;
    let operation = if matches!(mode, Mode::Apply) {
        "apply"
    } else {
        "destroy"
    };
    if let Some(path) = errored::leftovers(file, &session.config.name).first() {
        return Err(UserError::new(format!(
            "{} holds the state of a run whose write failed; applying now would not know what \
             that run did",
            path.display()
        ))
        .hint(format!(
            "upload it with `hdh state push -f {} {}` (or delete it if you know it is obsolete)",
            file.display(),
            path.display()
        ))
        .into());
    }
    let mut txn = session.begin(operation, planning.lock.lock_timeout).await?;
    let result = locked(&session, &mut txn, file, mode, planning, run, saved).await;
    // Every write was the executor's or `txn.save`'s; this releases the lock.
    txn.finish().await;
    result
}

/// The run with its lock held: plan, confirm, apply step by step.
async fn locked(
    session: &Session,
    txn: &mut Run,
    file: &Path,
    mode: Mode,
    planning: &PlanningArgs,
    run: &RunArgs,
    saved: Option<SavedPlan>,
) -> Result<Exit> {
    let mut plan = make_plan(session, txn, mode, planning).await?;
    // What the run found on its way in (settled intents, an accepted history change, a killed
    // run's journal) is recorded even if nothing else happens.
    if txn.has_unrecorded() {
        if let Err(e) = txn.save().await {
            return Err(errored::save_failed(session, file, &txn.state, e));
        }
    }
    if let Some(saved) = &saved {
        saved.check_inputs(
            &session.config.name,
            &session.config.config_hash,
            &txn.state,
        )?;
        saved.restrict(&mut plan)?;
    }
    let estimate = estimate(
        &plan,
        &session.config.desired,
        &txn.state,
        &session.providers,
    );
    let destroying = matches!(mode, Mode::Destroy { .. });
    let command = if destroying { "destroy" } else { "apply" };
    if run.json {
        run_json::plan(command, &session.config.name, &plan, &estimate);
    } else {
        print!("{}", plan_text::render(&plan, Some(&estimate)));
    }
    let executor = Executor {
        desired: &session.config.desired,
        providers: &session.providers,
        store: session.store.as_ref(),
        ctx: session.ctx(),
    };
    if !plan.has_changes() {
        if executor.record_config(&plan, &mut txn.state) {
            if let Err(e) = txn.save().await {
                return Err(errored::save_failed(session, file, &txn.state, e));
            }
            if !run.json {
                println!("Recorded lifecycle, dependency and output changes in state.");
            }
        }
        if run.json {
            let outputs = (!destroying).then_some(&txn.state.outputs);
            run_json::summary(command, &Report::default(), Duration::ZERO, outputs);
        }
        return Ok(Exit::Ok);
    }
    if saved.is_none() && !run.auto_approve {
        confirm(&plan, file)?;
    }
    if !run.json {
        println!();
    }

    // `--replace` asks for one replacement, made by the first step.
    let next_planning = PlanningArgs {
        replace: Vec::new(),
        ..planning.clone()
    };
    loop {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nInterrupted: no new operations will start; waiting for the ones in flight, then saving state…");
                let _ = tx.send(true);
            }
        });
        // Ids are taken now: once deleted, state no longer knows them.
        let to_delete = closing::to_delete(&plan, &txn.state);
        let expected =
            progress::Expected::of(&plan, &session.providers).with_reports(session.reports.clone());
        let opts = ExecOptions {
            parallelism: run.parallelism as usize,
            cancel: Some(rx),
            events: if run.json {
                run_json::event_sink(expected, to_delete.clone())
            } else {
                progress::event_sink(expected)
            },
        };
        let started = Instant::now();
        let report = executor.run(&plan, &mut txn.state, opts).await;
        watcher.abort();

        let retained = closing::retained(&plan, &txn.state);
        if run.json {
            for item in &retained {
                run_json::retained(item);
            }
            let outputs = (!destroying && report.succeeded()).then_some(&txn.state.outputs);
            run_json::summary(command, &report, started.elapsed(), outputs);
        } else {
            print!("{}", progress::summary(&report, destroying));
            print!(
                "{}",
                closing::render(
                    &closing::deleted(to_delete, &report),
                    &retained,
                    &session.cleaned_up(),
                )
            );
            let last = plan.steps_left.is_empty() || saved.is_some();
            if !destroying && report.succeeded() && last && !txn.state.outputs.is_empty() {
                println!("\nOutputs:");
                let width = txn.state.outputs.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in &txn.state.outputs {
                    println!("  {k:width$} = {v}");
                }
            }
        }
        if let Some(e) = report.store_error {
            return Err(errored::save_failed(session, file, &txn.state, e));
        }
        if report.interrupted {
            return Ok(Exit::Interrupted);
        }
        if !report.succeeded() {
            return Ok(Exit::Error);
        }
        if plan.steps_left.is_empty() {
            return Ok(Exit::Ok);
        }
        if saved.is_some() {
            if !run.json {
                println!(
                    "\nThis saved plan was the first of several steps; `hdh plan` again plans the next."
                );
            }
            return Ok(Exit::Ok);
        }
        // The next step, planned against what this one did.
        plan = make_plan(session, txn, mode, &next_planning).await?;
        let next = hdh_engine::estimate::estimate(
            &plan,
            &session.config.desired,
            &txn.state,
            &session.providers,
        );
        if run.json {
            run_json::plan(command, &session.config.name, &plan, &next);
        } else {
            println!("\nNext step:\n");
            print!("{}", plan_text::render(&plan, Some(&next)));
            println!();
        }
        if !plan.has_changes() {
            return Ok(Exit::Ok);
        }
    }
}

/// Asks on a terminal; refuses without one.
fn confirm(plan: &Plan, file: &Path) -> Result<()> {
    let deleting_retained = plan.changes.iter().any(|c| {
        c.action == Action::Delete && c.reason == hdh_engine::plan::Reason::DeleteRetained
    });
    if !std::io::stdin().is_terminal() {
        return Err(UserError::new(
            "this would change real resources, and there is no terminal to confirm on",
        )
        .hint(format!(
            "review `hdh plan -f {}`, then run again with --auto-approve",
            file.display()
        ))
        .into());
    }
    if deleting_retained {
        println!(
            "{}",
            style::red(
                "This deletes retained resources and the data in them. It cannot be undone."
            )
        );
    }
    print!("Do you want to perform these actions? Only 'yes' is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(user_error("cancelled; nothing was changed"));
    }
    Ok(())
}
