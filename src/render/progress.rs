//! Live apply/destroy output: one line when an operation starts, when a long one reports
//! progress, and when it ends; then the summary of what happened and every error.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdh_engine::apply::{Event, EventSink, OpKind, Report};
use hdh_engine::duration::{about, clock, precise};
use hdh_engine::estimate::typical;
use hdh_engine::plan::Plan;
use hdh_engine::provider::{Cleanup, CleanupSink, Providers};
use hdh_engine::{Progress, ProgressSink};

use crate::style;

/// The last status each running operation's provider reported (what it waits for, what is in
/// its way), so heartbeats and `running` events say it even without `-v`. One per run: the
/// progress sink writes it, the event sinks read it and forget an operation once it ends.
#[derive(Clone, Default)]
pub struct Reports(Arc<Mutex<BTreeMap<String, String>>>);

impl Reports {
    fn remember(&self, p: &Progress) {
        self.map().insert(p.address.clone(), p.status.clone());
    }

    pub fn last(&self, address: &str) -> Option<String> {
        self.map().get(address).cloned()
    }

    pub fn forget(&self, address: &str) {
        self.map().remove(address);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What progress lines know of each planned resource: its type, through the providers'
/// declarations how long its operations typically take, and what its provider last reported.
#[derive(Clone)]
pub struct Expected {
    types: BTreeMap<String, String>,
    providers: Providers,
    reports: Reports,
}

impl Expected {
    pub fn of(plan: &Plan, providers: &Providers) -> Expected {
        Expected {
            types: plan
                .changes
                .iter()
                .map(|c| (c.address.clone(), c.type_name.clone()))
                .collect(),
            providers: providers.clone(),
            reports: Reports::default(),
        }
    }

    /// The same, with the statuses the run's providers report.
    pub fn with_reports(self, reports: Reports) -> Expected {
        Expected { reports, ..self }
    }

    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    pub fn type_of(&self, address: &str) -> &str {
        self.types.get(address).map_or("", String::as_str)
    }

    pub fn typical(&self, address: &str, op: OpKind) -> Option<Duration> {
        typical(&self.providers, self.type_of(address), op)
    }
}

/// `3m10s of ~10m` while within the typical duration, `12m5s, usually ~10m` past it,
/// `40s elapsed` when none is declared.
pub fn elapsed_text(elapsed: Duration, typical: Option<Duration>) -> String {
    match typical {
        Some(t) if elapsed <= t => format!("{} of {}", clock(elapsed), about(t)),
        Some(t) => format!("{}, usually {}", clock(elapsed), about(t)),
        None => format!("{} elapsed", clock(elapsed)),
    }
}

/// The sink the executor reports to; lines go to stdout as they happen.
pub fn event_sink(expected: Expected) -> EventSink {
    Arc::new(move |e: &Event| {
        let line = event_line(e, &expected);
        if let Event::Finished { address, .. } | Event::Failed { address, .. } = e {
            expected.reports.forget(address);
        }
        println!("{line}");
    })
}

/// One executor event as the line a person sees.
pub fn event_line(e: &Event, expected: &Expected) -> String {
    match e {
        Event::Started { address, op } => {
            format!("{}: {}…", style::bold(address), op.progressive())
        }
        Event::Finished {
            address,
            op,
            id,
            elapsed,
        } => {
            let id = match (op, id) {
                (OpKind::Delete, _) | (_, None) => String::new(),
                (_, Some(id)) => format!(" (id {id})"),
            };
            format!(
                "{}: {}{id} {}",
                style::bold(address),
                style::green(op.past()),
                style::dim(&format!("[{}]", precise(*elapsed)))
            )
        }
        Event::Failed {
            address, op, error, ..
        } => {
            format!(
                "{}: {} {}: {error}",
                style::bold(address),
                style::red("failed to"),
                op.name()
            )
        }
        Event::StillRunning {
            address,
            op,
            elapsed,
        } => format!(
            "{}: still {} ({}){}",
            style::bold(address),
            op.progressive(),
            elapsed_text(*elapsed, expected.typical(address, *op)),
            expected
                .reports
                .last(address)
                .map_or(String::new(), |r| format!(": {r}"))
        ),
        Event::Skipped {
            address,
            op,
            because,
        } => {
            format!(
                "{}: {} {} (waits on {because}, which failed)",
                style::bold(address),
                style::yellow("skipped"),
                op.name()
            )
        }
    }
}

/// Progress reports from inside long provider calls (the wait state a cluster is in), kept in
/// `reports` for the heartbeats ("still creating (4m10s of ~10m): <the last status>"), which
/// show regardless; each report is a line of its own with `-v` unless `quiet` (JSON output,
/// where `running` events carry them).
pub fn progress_sink(quiet: bool, reports: Reports) -> ProgressSink {
    Arc::new(move |p: &Progress| {
        reports.remember(p);
        if style::verbose() && !quiet {
            println!("{}: {p}", style::dim(&p.address))
        }
    })
}

/// Cleanups (things a provider removed that hdh had not created) as they happen: one line
/// each on stdout (a JSON event with `json`), and into `seen` for the closing report.
pub fn cleanup_sink(seen: Arc<Mutex<Vec<Cleanup>>>, json: bool) -> CleanupSink {
    Arc::new(move |c: &Cleanup| {
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        // Two deletions blocked by the same thing may both remove it; it is one cleanup.
        if seen.iter().any(|s| s.kind == c.kind && s.id == c.id) {
            return;
        }
        seen.push(c.clone());
        if json {
            crate::render::run_json::cleaned_up(c);
            return;
        }
        println!(
            "{}: {} {} {} ({})",
            style::bold(&c.address),
            style::yellow("cleaned up"),
            c.kind,
            c.id,
            c.why
        );
    })
}

/// The closing lines of a run.
pub fn summary(report: &Report, destroying: bool) -> String {
    let mut out = String::new();
    let count = |k: OpKind| {
        report
            .completed
            .iter()
            .filter(|(_, op, _)| *op == k)
            .count()
    };
    let what = if destroying { "Destroy" } else { "Apply" };
    let mut parts = vec![
        format!("{} created", count(OpKind::Create)),
        format!("{} updated", count(OpKind::Update)),
        format!("{} deleted", count(OpKind::Delete)),
    ];
    if count(OpKind::Forget) > 0 {
        parts.push(format!("{} retained", count(OpKind::Forget)));
    }
    if count(OpKind::Adopt) > 0 {
        parts.push(format!("{} adopted", count(OpKind::Adopt)));
    }
    if report.succeeded() {
        let _ = writeln!(
            out,
            "\n{}",
            style::green(&format!("{what} complete: {}.", parts.join(", ")))
        );
        return out;
    }
    let _ = writeln!(out);
    for f in &report.failed {
        let _ = writeln!(
            out,
            "{} {}: {} failed: {}",
            style::red("error:"),
            f.address,
            f.op.name(),
            f.error
        );
    }
    for (address, op, because) in &report.skipped {
        let _ = writeln!(
            out,
            "{} {address}: {} skipped because {because} failed",
            style::yellow("skipped:"),
            op.name()
        );
    }
    if report.interrupted {
        let _ = writeln!(
            out,
            "{} interrupted: {} operation(s) not started; in-flight work finished and was recorded",
            style::yellow("stopped:"),
            report.not_started.len()
        );
    }
    if let Some(e) = &report.store_error {
        let _ = writeln!(out, "{} could not save state: {e}", style::red("error:"));
    }
    let _ = writeln!(
        out,
        "{}",
        style::red(&format!(
            "{what} incomplete: {}; {} failed, {} skipped.",
            parts.join(", "),
            report.failed.len(),
            report.skipped.len()
        ))
    );
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::time::Duration;

    use hdh_engine::apply::{Event, OpKind};
    use hdh_engine::estimate::estimate;
    use hdh_engine::plan::{self, Drift, Mode, PlanInput};
    use hdh_engine::state::State;

    use super::{event_line, Expected};
    use crate::render::plan_text::estimate_line;

    /// The DaskHub example planned against empty state (offline: no refresh, no preflight).
    pub(crate) fn daskhub_plan() -> (
        hdh_schema::Config,
        hdh_engine::Providers,
        State,
        hdh_engine::plan::Plan,
    ) {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/daskhub.yaml");
        let (config, providers) = crate::session::load_config(&file).unwrap();
        let state = State::new();
        let plan = plan::plan(&PlanInput {
            desired: &config.desired,
            state: &state,
            providers: &providers,
            mode: Mode::Apply,
            targets: &[],
            replace: &[],
            drift: &Drift::default(),
        })
        .unwrap();
        (config, providers, state, plan)
    }

    #[test]
    fn heartbeats_of_slow_operations_say_how_long_they_usually_take() {
        let (_, providers, _, plan) = daskhub_plan();
        let expected = Expected::of(&plan, &providers);
        let address_of = |t: &str| {
            plan.changes
                .iter()
                .find(|c| c.type_name == t)
                .map(|c| c.address.clone())
                .unwrap()
        };
        let beat = |address: &str, secs: u64| {
            event_line(
                &Event::StillRunning {
                    address: address.to_string(),
                    op: OpKind::Create,
                    elapsed: Duration::from_secs(secs),
                },
                &expected,
            )
        };
        let cluster = address_of("aws_eks_cluster");
        assert_eq!(
            beat(&cluster, 190),
            format!("{cluster}: still creating (3m10s of ~10m)")
        );
        assert_eq!(
            beat(&cluster, 725),
            format!("{cluster}: still creating (12m5s, usually ~10m)")
        );
        let nat = address_of("aws_nat_gateway");
        assert_eq!(
            beat(&nat, 70),
            format!("{nat}: still creating (1m10s of ~2m)")
        );
        let mount = address_of("aws_efs_mount_target");
        assert_eq!(
            beat(&mount, 30),
            format!("{mount}: still creating (30s of ~1m30s)")
        );
        let vpc = address_of("aws_vpc");
        assert_eq!(
            beat(&vpc, 40),
            format!("{vpc}: still creating (40s elapsed)")
        );
    }

    #[test]
    fn the_daskhub_plan_ends_with_its_critical_path() {
        let (config, providers, state, plan) = daskhub_plan();
        let e = estimate(&plan, &config.desired, &state, &providers);
        insta::assert_snapshot!("daskhub_estimate", estimate_line(&e));
        let mut destroyed = state.clone();
        for c in &plan.changes {
            let spec = config.desired.get(&c.address).unwrap();
            destroyed.resources.insert(
                c.address.clone(),
                hdh_engine::state::ResourceState {
                    type_name: c.type_name.clone(),
                    id: "x".into(),
                    attributes: Default::default(),
                    dependencies: spec.dependencies().into_iter().collect(),
                    lifecycle: spec.lifecycle.clone(),
                },
            );
        }
        let destroy = plan::plan(&PlanInput {
            desired: &config.desired,
            state: &destroyed,
            providers: &providers,
            mode: Mode::Destroy {
                retained: plan::RetainedPolicy::Keep,
            },
            targets: &[],
            replace: &[],
            drift: &Drift::default(),
        })
        .unwrap();
        let e = estimate(&destroy, &config.desired, &destroyed, &providers);
        insta::assert_snapshot!("daskhub_destroy_estimate", estimate_line(&e));
    }
}
