//! The engine's behaviour, specified through a fake cloud that records every call: ordering,
//! updates, replacements, destroy, failures, parallelism, crash recovery, protect and retain.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hdh_engine::apply::{ExecOptions, Executor, OpKind, Report};
use hdh_engine::graph::{Desired, ResourceSpec};
use hdh_engine::plan::{Action, Mode, Plan, PlanError, Reason, RetainedPolicy};
use hdh_engine::provider::{OpContext, Providers};
use hdh_engine::run::{PlanRequest, Run, RunError};
use hdh_engine::state::State;
use hdh_engine::testkit::{lock_request, providers_with, thing, FakeProvider, MemoryStore};
use hdh_engine::value::Value;

struct World {
    fake: Arc<FakeProvider>,
    providers: Providers,
    store: Arc<MemoryStore>,
}

impl World {
    fn new() -> Self {
        let fake = Arc::new(FakeProvider::new());
        World {
            providers: providers_with(fake.clone()),
            fake,
            store: Arc::new(MemoryStore::new()),
        }
    }

    fn ctx() -> OpContext {
        OpContext::new("test", "us-east-1")
    }

    /// A run on the store, as every command begins one: the lock taken, state loaded.
    async fn begin(&self) -> Run {
        Run::begin(self.store.clone(), lock_request("test"))
            .await
            .unwrap()
    }

    /// Settles intents, refreshes and plans within `run`.
    async fn plan_in(
        &self,
        run: &mut Run,
        desired: &Desired,
        mode: Mode,
    ) -> Result<Plan, PlanError> {
        let ctx = Self::ctx();
        let planned = run
            .plan(&PlanRequest {
                desired,
                providers: &self.providers,
                ctx: &ctx,
                mode,
                targets: &[],
                replace: &[],
                refresh: true,
            })
            .await;
        match planned {
            Ok(planned) => Ok(planned.plan),
            Err(RunError::Plan { source }) => Err(source),
            Err(other) => panic!("the run failed before planning: {other}"),
        }
    }

    async fn plan(&self, desired: &Desired, mode: Mode) -> Result<Plan, PlanError> {
        let mut run = self.begin().await;
        let plan = self.plan_in(&mut run, desired, mode).await;
        run.finish().await;
        plan
    }

    async fn run(&self, desired: &Desired, mode: Mode, opts: ExecOptions) -> (Plan, Report) {
        let mut run = self.begin().await;
        let plan = self.plan_in(&mut run, desired, mode).await.unwrap();
        let exec = Executor {
            desired,
            providers: &self.providers,
            store: self.store.as_ref(),
            ctx: Self::ctx(),
        };
        let report = exec.run(&plan, &mut run.state, opts).await;
        run.finish().await;
        (plan, report)
    }

    async fn apply(&self, desired: &Desired) -> (Plan, Report) {
        self.run(desired, Mode::Apply, ExecOptions::default()).await
    }

    fn state(&self) -> State {
        self.store.current().unwrap_or_default()
    }
}

fn desired(resources: Vec<ResourceSpec>) -> Desired {
    Desired::new(
        "test",
        "us-east-1",
        BTreeMap::new(),
        resources,
        BTreeMap::new(),
    )
    .unwrap()
}

/// a ← b ← c (c references b, b references a), and d on its own.
fn chain() -> Vec<ResourceSpec> {
    vec![
        thing("a", &[("name", Value::str("a"))], &[]),
        thing("b", &[("name", Value::str("b"))], &["a"]),
        thing("c", &[("name", Value::str("c"))], &["b"]),
        thing("d", &[("name", Value::str("d"))], &[]),
    ]
}

fn actions(plan: &Plan) -> BTreeMap<String, Action> {
    plan.changes
        .iter()
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

fn call_index(fake: &FakeProvider, op: &str, address: &str) -> usize {
    let calls = fake.calls();
    calls
        .iter()
        .position(|c| c.op == op && c.address == address)
        .unwrap_or_else(|| panic!("no {op} of {address} in {calls:?}"))
}

#[tokio::test(start_paused = true)]
async fn creates_follow_dependencies_and_a_second_plan_is_empty() {
    let w = World::new();
    for a in ["a", "b", "c", "d"] {
        w.fake.set_duration(a, Duration::from_secs(1));
    }
    let d = desired(chain());
    let (plan, report) = w.apply(&d).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(plan.summary().create, 4);
    let calls = w.fake.calls();
    let end = |a: &str| calls.iter().find(|c| c.address == a).unwrap().end;
    let start = |a: &str| calls.iter().find(|c| c.address == a).unwrap().start;
    assert!(
        start("b") >= end("a") && start("c") >= end("b"),
        "{calls:?}"
    );
    assert_eq!(start("d"), start("a"), "independent work starts at once");

    let state = w.state();
    assert_eq!(state.resources.len(), 4);
    assert!(state.intents.is_empty());
    assert_eq!(state.resources["c"].dependencies, vec!["b".to_string()]);
    assert!(state.resources["a"].attributes["secret"].is_sensitive());

    let again = w.plan(&d, Mode::Apply).await.unwrap();
    assert!(!again.has_changes(), "{:?}", actions(&again));
}

#[tokio::test]
async fn a_changed_input_is_updated_in_place() {
    let w = World::new();
    w.apply(&desired(chain())).await;
    let mut specs = chain();
    specs[1] = thing(
        "b",
        &[("name", Value::str("b")), ("size", Value::int(5))],
        &["a"],
    );
    let d = desired(specs);
    let plan = w.plan(&d, Mode::Apply).await.unwrap();
    let b = plan.change("b").unwrap();
    assert_eq!(b.action, Action::Update);
    assert_eq!(
        b.reason,
        Reason::InputsChanged {
            attributes: vec!["size".into()]
        }
    );
    let out = b.attributes.iter().find(|a| a.name == "out").unwrap();
    assert_eq!(
        out.after,
        Some(Value::Unknown),
        "out changes with size: known after apply"
    );
    assert_eq!(
        actions(&plan)
            .values()
            .filter(|a| **a != Action::NoOp)
            .count(),
        1
    );

    let (_, report) = w.apply(&d).await;
    assert!(report.succeeded());
    assert_eq!(w.fake.calls_of("update"), vec!["b"]);
    assert_eq!(w.fake.calls_of("create").len(), 4, "nothing re-created");
    assert_eq!(
        w.state().resources["b"].attributes["out"],
        Value::str("b-5")
    );
}

#[tokio::test]
async fn a_result_that_contradicts_the_plan_is_refused_by_name_and_settled_next_run() {
    let w = World::new();
    let d = desired(chain());
    w.fake.contradict("b", "size", Value::int(9));
    let (_, report) = w.apply(&d).await;
    assert!(!report.succeeded());
    let failure = report.failed.iter().find(|f| f.address == "b").unwrap();
    assert!(
        failure.error.to_string().contains("size"),
        "{}",
        failure.error
    );
    assert_eq!(failure.error.class(), "inconsistent");
    assert!(report
        .skipped
        .iter()
        .any(|(address, _, because)| address == "c" && because == "b"));
    let state = w.state();
    assert!(
        !state.resources.contains_key("b"),
        "the result is not recorded"
    );
    assert!(
        state.intents.iter().any(|i| i.address == "b"),
        "its intent stays for the next run to settle"
    );

    // The next run adopts what was made (not a second one) and puts it back as configured.
    w.fake.clear_faults();
    let (_, report) = w.apply(&d).await;
    assert!(report.succeeded(), "{report:?}");
    let creates_of_b = w
        .fake
        .calls_of("create")
        .iter()
        .filter(|a| *a == "b")
        .count();
    assert_eq!(creates_of_b, 1);
    assert_eq!(w.fake.property("b", "size"), Some(Value::int(1)));
    assert!(w.state().intents.is_empty());
}

#[tokio::test]
async fn a_force_new_change_replaces_delete_first_and_dependents_follow() {
    let w = World::new();
    w.apply(&desired(chain())).await;
    let old_a = w.state().resources["a"].id.clone();
    let mut specs = chain();
    specs[0] = thing("a", &[("name", Value::str("a2"))], &[]);
    let d = desired(specs);
    let plan = w.plan(&d, Mode::Apply).await.unwrap();
    let a = plan.change("a").unwrap();
    assert_eq!(
        a.action,
        Action::Replace {
            create_before_destroy: false
        }
    );
    assert_eq!(
        a.reason,
        Reason::ForceNew {
            attributes: vec!["name".into()]
        }
    );
    assert_eq!(
        plan.change("b").unwrap().action,
        Action::Update,
        "b's input refers to a's arn"
    );

    let (_, report) = w.apply(&d).await;
    assert!(report.succeeded(), "{report:?}");
    let del_a = call_index(&w.fake, "delete", "a");
    let creates: Vec<usize> = w
        .fake
        .calls()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.op == "create" && c.address == "a")
        .map(|(i, _)| i)
        .collect();
    assert!(
        del_a < creates[1],
        "old a deleted before the new one is created"
    );
    assert!(creates[1] < call_index(&w.fake, "update", "b"));
    assert_ne!(w.state().resources["a"].id, old_a);
    assert_eq!(w.fake.objects().get("a"), Some(&1));
}

#[tokio::test]
async fn create_before_destroy_creates_first_and_deletes_the_old_one_last() {
    let w = World::new();
    let mut specs = chain();
    specs[0].lifecycle.create_before_destroy = true;
    w.apply(&desired(specs.clone())).await;
    specs[0] = thing("a", &[("name", Value::str("a2"))], &[]);
    specs[0].lifecycle.create_before_destroy = true;
    let d = desired(specs);
    let plan = w.plan(&d, Mode::Apply).await.unwrap();
    assert_eq!(
        plan.change("a").unwrap().action,
        Action::Replace {
            create_before_destroy: true
        }
    );

    let (_, report) = w.apply(&d).await;
    assert!(report.succeeded(), "{report:?}");
    let calls = w.fake.calls();
    let new_a = calls
        .iter()
        .rposition(|c| c.op == "create" && c.address == "a")
        .unwrap();
    let upd_b = call_index(&w.fake, "update", "b");
    let del_a = call_index(&w.fake, "delete", "a");
    assert!(new_a < upd_b && upd_b < del_a, "{calls:?}");
    let state = w.state();
    assert!(state.deposed.is_empty());
    assert_eq!(w.fake.objects().get("a"), Some(&1));
}

#[tokio::test]
async fn destroy_deletes_in_reverse_dependency_order() {
    let w = World::new();
    let d = desired(chain());
    w.apply(&d).await;
    let (plan, report) = w
        .run(
            &d,
            Mode::Destroy {
                retained: RetainedPolicy::Refuse,
            },
            ExecOptions::default(),
        )
        .await;
    assert!(report.succeeded());
    assert_eq!(plan.summary().delete, 4);
    let listed: Vec<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        listed,
        vec!["c", "b", "a", "d"],
        "the plan lists deletions in the order they run"
    );
    let c = call_index(&w.fake, "delete", "c");
    let b = call_index(&w.fake, "delete", "b");
    let a = call_index(&w.fake, "delete", "a");
    assert!(c < b && b < a);
    assert!(w.fake.objects().is_empty());
    assert!(w.state().resources.is_empty());
}

#[tokio::test]
async fn a_failure_stops_its_dependents_and_lets_independent_work_finish() {
    let w = World::new();
    w.fake.fail("b", "create");
    let d = desired(chain());
    let (_, report) = w.apply(&d).await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].address, "b");
    assert!(report.failed[0]
        .error
        .to_string()
        .contains("injected create failure"));
    assert_eq!(
        report.skipped,
        vec![("c".to_string(), OpKind::Create, "b".to_string())]
    );
    let state = w.state();
    assert!(state.resources.contains_key("a") && state.resources.contains_key("d"));
    assert!(!state.resources.contains_key("c"));
    assert!(!w.fake.calls_of("create").contains(&"c".to_string()));

    // The next run settles the failed create's intent and finishes the job.
    w.fake.clear_faults();
    let (plan, report) = w.apply(&d).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(plan.summary().create, 2);
    assert!(w.state().intents.is_empty());
}

#[tokio::test(start_paused = true)]
async fn parallelism_is_never_exceeded() {
    let w = World::new();
    let specs: Vec<ResourceSpec> = (0..30)
        .map(|i| {
            thing(
                &format!("r{i:02}"),
                &[("name", Value::str(format!("r{i}")))],
                &[],
            )
        })
        .collect();
    for s in &specs {
        w.fake.set_duration(&s.address, Duration::from_secs(1));
    }
    let started = tokio::time::Instant::now();
    let (_, report) = w
        .run(
            &desired(specs),
            Mode::Apply,
            ExecOptions {
                parallelism: 4,
                ..Default::default()
            },
        )
        .await;
    assert!(report.succeeded());
    assert_eq!(w.fake.max_in_flight(), 4);
    assert_eq!(
        started.elapsed().as_secs(),
        8,
        "30 one-second creates, 4 at a time"
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_create_is_adopted_not_repeated() {
    let w = World::new();
    w.fake.hang_after_create("b");
    let d = desired(chain());
    // The run "crashes" while b's create is in flight: the process is gone, only state remains.
    let crashed = tokio::time::timeout(Duration::from_secs(60), w.apply(&d)).await;
    assert!(crashed.is_err(), "the run should still be waiting on b");
    let state = w.state();
    assert!(!state.resources.contains_key("b"));
    assert_eq!(
        state.intents.len(),
        1,
        "the create of b is recorded as pending"
    );
    assert_eq!(w.fake.objects().get("b"), Some(&1), "but the cloud has it");

    w.fake.clear_faults();
    let (plan, report) = w.apply(&d).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(
        plan.change("b").unwrap().action,
        Action::NoOp,
        "adopted, not planned again"
    );
    assert_eq!(
        w.fake
            .calls_of("create")
            .iter()
            .filter(|a| *a == "b")
            .count(),
        1
    );
    assert_eq!(w.fake.objects().get("b"), Some(&1), "no duplicate");
    let state = w.state();
    assert!(state.intents.is_empty());
    assert_eq!(state.resources["b"].dependencies, vec!["a".to_string()]);
}

#[tokio::test]
async fn protect_blocks_deletion_and_replacement() {
    let w = World::new();
    let mut specs = chain();
    specs[0].lifecycle.protect = true;
    let d = desired(specs.clone());
    w.apply(&d).await;

    specs[0]
        .properties
        .insert("name".into(), Value::str("renamed").into());
    let err = w.plan(&desired(specs), Mode::Apply).await.unwrap_err();
    assert!(
        matches!(&err, PlanError::Protected { changes } if changes[0].0 == "a"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a (replace: name cannot change in place)"),
        "{err}"
    );

    let err = w
        .plan(
            &d,
            Mode::Destroy {
                retained: RetainedPolicy::Refuse,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a (delete)"), "{err}");
    assert_eq!(w.fake.calls_of("delete").len(), 0);
}

#[tokio::test]
async fn retain_forgets_on_destroy_and_a_later_apply_adopts() {
    let w = World::new();
    let mut specs = chain();
    specs[3].lifecycle.retain = true;
    let d = desired(specs);
    w.apply(&d).await;
    let d_id = w.state().resources["d"].id.clone();

    let err = w
        .plan(
            &d,
            Mode::Destroy {
                retained: RetainedPolicy::Refuse,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PlanError::RetainedNeedsDecision {
            addresses: vec![format!("d ({d_id})")]
        }
    );

    let (plan, report) = w
        .run(
            &d,
            Mode::Destroy {
                retained: RetainedPolicy::Keep,
            },
            ExecOptions::default(),
        )
        .await;
    assert!(report.succeeded());
    assert_eq!(plan.change("d").unwrap().action, Action::Forget);
    assert_eq!(w.fake.objects().get("d"), Some(&1), "still in the cloud");
    assert!(!w.fake.calls_of("delete").contains(&"d".to_string()));
    let state = w.state();
    assert!(state.resources.is_empty());
    assert_eq!(state.retained["d"].resource.id, d_id);

    let (plan, report) = w.apply(&d).await;
    assert!(report.succeeded());
    assert_eq!(plan.change("d").unwrap().action, Action::Adopt);
    assert_eq!(
        w.state().resources["d"].id,
        d_id,
        "same object back under management"
    );
    assert_eq!(
        w.fake
            .calls_of("create")
            .iter()
            .filter(|a| *a == "d")
            .count(),
        1
    );

    let (_, report) = w
        .run(
            &d,
            Mode::Destroy {
                retained: RetainedPolicy::Delete,
            },
            ExecOptions::default(),
        )
        .await;
    assert!(report.succeeded());
    assert!(w.fake.objects().is_empty());
    assert!(w.state().retained.is_empty());
}

#[tokio::test]
async fn drift_and_outside_deletion_show_in_the_plan() {
    let w = World::new();
    let d = desired(chain());
    w.apply(&d).await;
    w.fake.drift("d", "size", Value::int(9));
    w.fake.vanish("c");
    let plan = w.plan(&d, Mode::Apply).await.unwrap();
    let dd = plan.change("d").unwrap();
    assert_eq!(dd.action, Action::Update);
    assert_eq!(
        dd.reason,
        Reason::Drifted {
            attributes: vec!["size".into()]
        }
    );
    assert_eq!(dd.attributes[0].before, Some(Value::int(9)));
    let c = plan.change("c").unwrap();
    assert_eq!(
        (c.action, &c.reason),
        (Action::Create, &Reason::DeletedOutside)
    );
}

#[tokio::test]
async fn removing_a_resource_from_the_config_deletes_it_after_its_former_dependents_let_go() {
    let w = World::new();
    w.apply(&desired(chain())).await;
    // c no longer references b, and b is gone from the config.
    let specs = vec![
        thing("a", &[("name", Value::str("a"))], &[]),
        thing("c", &[("name", Value::str("c"))], &["a"]),
        thing("d", &[("name", Value::str("d"))], &[]),
    ];
    let (plan, report) = w.apply(&desired(specs)).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(plan.change("b").unwrap().reason, Reason::NotInConfig);
    assert!(call_index(&w.fake, "update", "c") < call_index(&w.fake, "delete", "b"));
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_scheduling_waits_for_in_flight_work_and_saves() {
    let w = World::new();
    for a in ["a", "b", "c", "d"] {
        w.fake.set_duration(a, Duration::from_secs(10));
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let d = desired(chain());
    let run = w.run(
        &d,
        Mode::Apply,
        ExecOptions {
            cancel: Some(rx),
            ..Default::default()
        },
    );
    let interrupt = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(true).unwrap();
    };
    let ((_, report), ()) = tokio::join!(run, interrupt);
    assert!(report.interrupted);
    let done: Vec<&str> = report
        .completed
        .iter()
        .map(|(a, _, _)| a.as_str())
        .collect();
    assert_eq!(done, vec!["a", "d"], "in-flight work finished");
    assert_eq!(report.not_started.len(), 2, "b and c never started");
    let state = w.state();
    assert_eq!(state.resources.len(), 2);
    assert!(state.intents.is_empty());
}

#[tokio::test(start_paused = true)]
async fn long_operations_are_reported_as_still_running() {
    use hdh_engine::apply::Event;
    let w = World::new();
    w.fake.set_duration("a", Duration::from_secs(25));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let opts = ExecOptions {
        events: Arc::new(move |e: &Event| {
            if let Event::StillRunning {
                address, elapsed, ..
            } = e
            {
                sink.lock()
                    .unwrap()
                    .push((address.clone(), elapsed.as_secs()));
            }
        }),
        ..Default::default()
    };
    let (_, report) = w
        .run(&desired(vec![thing("a", &[], &[])]), Mode::Apply, opts)
        .await;
    assert!(report.succeeded());
    assert_eq!(
        *seen.lock().unwrap(),
        vec![("a".to_string(), 10), ("a".to_string(), 20)]
    );
}

#[tokio::test]
async fn an_input_the_system_owns_after_create_is_made_as_configured_then_never_reset() {
    let w = World::new();
    let with = |replicas: i64, size: i64| {
        desired(vec![thing(
            "n",
            &[
                ("name", Value::str("n")),
                ("replicas", Value::int(replicas)),
                ("size", Value::int(size)),
            ],
            &[],
        )])
    };
    w.apply(&with(2, 1)).await;
    assert_eq!(w.fake.property("n", "replicas"), Some(Value::int(2)));
    // The autoscaler (say) scales out: not a change, whatever the config says.
    w.fake.drift("n", "replicas", Value::int(7));
    let plan = w.plan(&with(2, 1), Mode::Apply).await.unwrap();
    assert_eq!(plan.change("n").unwrap().action, Action::NoOp);
    assert_eq!(plan.summary().total_changes(), 0);
    // Another change updates in place and leaves the system's value alone, in the plan and in
    // the call.
    let (plan, report) = w.apply(&with(3, 5)).await;
    assert!(report.succeeded(), "{report:?}");
    let n = plan.change("n").unwrap();
    assert_eq!(n.action, Action::Update);
    let names: Vec<&str> = n.attributes.iter().map(|a| a.name.as_str()).collect();
    assert!(!names.contains(&"replicas"), "{names:?}");
    assert_eq!(w.fake.property("n", "replicas"), Some(Value::int(7)));
    assert_eq!(w.fake.property("n", "size"), Some(Value::int(5)));
    assert_eq!(
        w.state().resources["n"].attributes.get("replicas"),
        Some(&Value::int(7))
    );
}
