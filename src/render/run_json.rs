//! `hdh apply --json` / `hdh destroy --json`: the run as a stream of JSON objects, one per line
//! and event, for CI systems and dashboards. The format is versioned and documented in
//! docs/run-events.md with a JSON Schema in docs/run-events.schema.json. No event carries a
//! resource's attribute values; the outputs of the summary go through `Value`'s redacting form,
//! so no secret can reach the stream.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use hdh_engine::apply::{Event, EventSink, OpKind, Report};
use hdh_engine::estimate::Estimate;
use hdh_engine::plan::Plan;
use hdh_engine::provider::Cleanup;
use hdh_engine::state::now_rfc3339;
use hdh_engine::value::ValueMap;

use crate::render::closing::Item;
use crate::render::progress::Expected;

/// Bumped on any incompatible change to the events below; additions keep it.
pub const FORMAT_VERSION: &str = "1.0";

/// Prints one event: the common fields, then `fields`.
fn emit(event: &str, fields: Json) {
    // One println per event: stdout's lock keeps each line whole among concurrent operations.
    println!("{}", line(event, fields));
}

/// One event as the object a line holds.
fn line(event: &str, fields: Json) -> Json {
    let mut line = Map::new();
    line.insert("format_version".into(), json!(FORMAT_VERSION));
    line.insert("event".into(), json!(event));
    line.insert("time".into(), json!(now_rfc3339()));
    if let Json::Object(f) = fields {
        line.extend(f);
    }
    Json::Object(line)
}

fn seconds(d: Duration) -> Json {
    json!((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn typical_json(d: Option<Duration>) -> Json {
    d.map_or(Json::Null, |d| json!(d.as_secs()))
}

/// The first event: what the run is about to do.
pub fn plan(command: &str, stack: &str, plan: &Plan, estimate: &Estimate) {
    emit(
        "plan",
        json!({
            "command": command,
            "stack": stack,
            "summary": super::plan_json::SummaryJson::from(plan.summary()),
            "estimate_seconds": estimate.total.as_secs(),
        }),
    );
}

/// The executor's events as lines. `deleted_ids` are the ids of what the plan deletes, taken
/// before the run (state no longer knows them once deleted).
pub fn event_sink(expected: Expected, deleted_ids: Vec<Item>) -> EventSink {
    Arc::new(move |e: &Event| {
        if let Event::Finished { address, .. } | Event::Failed { address, .. } = e {
            expected.reports().forget(address);
        }
        let (event, fields) = executor_event(e, &expected, &deleted_ids);
        emit(event, fields);
    })
}

/// An executor event's name and fields.
fn executor_event(e: &Event, expected: &Expected, deleted_ids: &[Item]) -> (&'static str, Json) {
    let common = |address: &str, op: &OpKind| {
        json!({
            "address": address,
            "type": expected.type_of(address),
            "operation": op.name(),
        })
    };
    let with = |mut base: Json, extra: Json| {
        if let (Some(b), Json::Object(x)) = (base.as_object_mut(), extra) {
            b.extend(x);
        }
        base
    };
    match e {
        Event::Started { address, op } => (
            "started",
            with(
                common(address, op),
                json!({ "typical_seconds": typical_json(expected.typical(address, *op)) }),
            ),
        ),
        Event::StillRunning {
            address,
            op,
            elapsed,
        } => (
            "running",
            with(
                common(address, op),
                json!({
                    "elapsed_seconds": seconds(*elapsed),
                    "typical_seconds": typical_json(expected.typical(address, *op)),
                    "status": expected.reports().last(address),
                }),
            ),
        ),
        Event::Finished {
            address,
            op,
            id,
            elapsed,
        } => {
            let id = id.clone().or_else(|| {
                deleted_ids
                    .iter()
                    .find(|i| &i.address == address && *op == OpKind::Delete)
                    .map(|i| i.id.clone())
            });
            (
                "finished",
                with(
                    common(address, op),
                    json!({ "id": id, "duration_seconds": seconds(*elapsed) }),
                ),
            )
        }
        Event::Failed {
            address,
            op,
            error,
            class,
        } => (
            "failed",
            with(
                common(address, op),
                json!({ "error": { "class": class, "message": error } }),
            ),
        ),
        Event::Skipped {
            address,
            op,
            because,
        } => (
            "skipped",
            with(common(address, op), json!({ "because": because })),
        ),
    }
}

/// Something a provider removed that hdh had not created (a load balancer in the way…).
pub fn cleaned_up(c: &Cleanup) {
    emit(
        "cleaned_up",
        json!({ "address": c.address, "kind": c.kind, "id": c.id, "why": c.why }),
    );
}

/// A resource the run left in place and recorded as retained.
pub fn retained(item: &Item) {
    emit(
        "retained",
        json!({ "address": item.address, "type": item.type_name, "id": item.id }),
    );
}

/// The last event: how the run went, with counts and (apply) the redacted outputs.
pub fn summary(command: &str, report: &Report, duration: Duration, outputs: Option<&ValueMap>) {
    let count = |k: OpKind| {
        report
            .completed
            .iter()
            .filter(|(_, op, _)| *op == k)
            .count()
    };
    let outcome = if report.interrupted {
        "interrupted"
    } else if report.succeeded() {
        "complete"
    } else {
        "incomplete"
    };
    let mut fields = json!({
        "command": command,
        "outcome": outcome,
        "created": count(OpKind::Create),
        "updated": count(OpKind::Update),
        "deleted": count(OpKind::Delete),
        "retained": count(OpKind::Forget),
        "adopted": count(OpKind::Adopt),
        "failed": report.failed.len(),
        "skipped": report.skipped.len(),
        "not_started": report.not_started.len(),
        "duration_seconds": seconds(duration),
    });
    if let Some(outputs) = outputs {
        let shown: Map<String, Json> = outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_display_json()))
            .collect();
        fields["outputs"] = Json::Object(shown);
    }
    if let Some(e) = &report.store_error {
        fields["state_error"] = json!(e.to_string());
    }
    emit("summary", fields);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hdh_engine::apply::{Event, OpKind};
    use serde_json::Value as Json;

    use super::{executor_event, line};
    use crate::render::progress::{tests::daskhub_plan, Expected};

    #[test]
    fn a_slow_operation_streams_running_and_failed_events_the_schema_accepts() {
        let (_, providers, _, plan) = daskhub_plan();
        let expected = Expected::of(&plan, &providers);
        let schema: Json =
            serde_json::from_str(include_str!("../../docs/run-events.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let cluster = "daskhub.cluster.eks";
        let event = |e: Event| {
            let (name, fields) = executor_event(&e, &expected, &[]);
            let l = line(name, fields);
            let errors: Vec<String> = validator.iter_errors(&l).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{l}: {errors:?}");
            l
        };
        let running = event(Event::StillRunning {
            address: cluster.into(),
            op: OpKind::Create,
            elapsed: Duration::from_secs(190),
        });
        assert_eq!(running["event"], "running");
        assert_eq!(running["type"], "aws_eks_cluster");
        assert_eq!(running["elapsed_seconds"], 190.0);
        assert_eq!(running["typical_seconds"], 600);
        let failed = event(Event::Failed {
            address: cluster.into(),
            op: OpKind::Create,
            error: "CreateCluster: ResourceInUseException: cluster already exists".into(),
            class: "conflict",
        });
        assert_eq!(failed["event"], "failed");
        assert_eq!(failed["error"]["class"], "conflict");
    }
}
