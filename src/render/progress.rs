//! Live apply/destroy output: one line when an operation starts, when a long one reports
//! progress, and when it ends; then the summary of what happened and every error.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdh_engine::apply::{Event, EventSink, OpKind, Report};
use hdh_engine::provider::{Cleanup, CleanupSink};

use crate::style;

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// `4m10s`, `12s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The sink the executor reports to; lines go to stdout as they happen.
pub fn event_sink() -> EventSink {
    Arc::new(|e: &Event| {
        let line = match e {
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
                    style::dim(&format!("[{}]", secs(*elapsed)))
                )
            }
            Event::Failed { address, op, error } => {
                format!(
                    "{}: {} {}: {error}",
                    style::bold(address),
                    style::red("failed to"),
                    verb(*op)
                )
            }
            Event::StillRunning {
                address,
                op,
                elapsed,
            } => format!(
                "{}: still {} ({} elapsed){}",
                style::bold(address),
                op.progressive(),
                clock(*elapsed),
                last_report(address).map_or(String::new(), |r| format!(": {r}"))
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
                    verb(*op)
                )
            }
        };
        if let Event::Finished { address, .. } | Event::Failed { address, .. } = e {
            forget_report(address);
        }
        println!("{line}");
    })
}

/// The last thing each running operation's provider reported (what it waits for, what is in
/// its way), so the heartbeat says it even without `-v`.
static LAST_REPORT: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

fn remember_report(address: &str, message: &str) {
    // A wait reports "still deleting (4m10s): <status>"; the heartbeat has its own prefix.
    let status = message
        .strip_prefix("still ")
        .and_then(|m| m.split_once("): "))
        .map_or(message, |(_, status)| status);
    LAST_REPORT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(address.to_string(), status.to_string());
}

fn last_report(address: &str) -> Option<String> {
    LAST_REPORT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(address)
        .cloned()
}

fn forget_report(address: &str) {
    LAST_REPORT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(address);
}

static VERBOSE: AtomicU8 = AtomicU8::new(0);

/// `-v` count: 1 shows what providers report from inside long calls and refresh figures.
pub fn set_verbosity(v: u8) {
    VERBOSE.store(v, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed) > 0
}

/// Progress reports from inside long provider calls (the wait state a cluster is in); shown
/// with `-v`. Heartbeats ("still creating (4m10s elapsed): <the last report>") show regardless.
pub fn progress_sink() -> hdh_engine::provider::ProgressSink {
    Arc::new(|address: &str, message: &str| {
        remember_report(address, message);
        if verbose() {
            println!("{}: {message}", style::dim(address))
        }
    })
}

/// Cleanups (things a provider removed that hdh had not created) as they happen: one line
/// each on stdout, and into `seen` for the closing report.
pub fn cleanup_sink(seen: Arc<Mutex<Vec<Cleanup>>>) -> CleanupSink {
    Arc::new(move |c: &Cleanup| {
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        // Two deletions blocked by the same thing may both remove it; it is one cleanup.
        if seen.iter().any(|s| s.kind == c.kind && s.id == c.id) {
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
        seen.push(c.clone());
    })
}

fn verb(op: OpKind) -> &'static str {
    match op {
        OpKind::Create => "create",
        OpKind::Update => "update",
        OpKind::Delete => "delete",
        OpKind::Forget => "forget",
        OpKind::Adopt => "adopt",
    }
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
            verb(f.op),
            f.error
        );
    }
    for (address, op, because) in &report.skipped {
        let _ = writeln!(
            out,
            "{} {address}: {} skipped because {because} failed",
            style::yellow("skipped:"),
            verb(*op)
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
