//! A run as a transaction ([`hdh_engine::run::Run`]): the lock held from begin to end and
//! released on every path, a serial one up per write, and what an interrupted run left settled
//! and recorded before anything is planned.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hdh_engine::apply::{ExecOptions, Executor};
use hdh_engine::graph::Desired;
use hdh_engine::plan::{Action, Mode};
use hdh_engine::provider::{OpContext, Providers};
use hdh_engine::run::{LockError, PlanRequest, Run, RunError};
use hdh_engine::testkit::{lock_request, providers_with, thing, FakeProvider, MemoryStore};
use hdh_engine::value::Value;

fn two_things() -> Desired {
    Desired::new(
        "test",
        "us-east-1",
        BTreeMap::new(),
        vec![
            thing("a", &[("name", Value::str("a"))], &[]),
            thing("b", &[("name", Value::str("b"))], &["a"]),
        ],
        BTreeMap::new(),
    )
    .unwrap()
}

fn request<'a>(
    desired: &'a Desired,
    providers: &'a Providers,
    ctx: &'a OpContext,
) -> PlanRequest<'a> {
    PlanRequest {
        desired,
        providers,
        ctx,
        mode: Mode::Apply,
        targets: &[],
        replace: &[],
        refresh: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_holds_the_lock_until_it_commits_one_serial_up() {
    let store = Arc::new(MemoryStore::new());
    let first = Run::begin(store.clone(), lock_request("first"))
        .await
        .unwrap();
    assert!(!first.existed(), "nothing was stored yet");

    match Run::begin(store.clone(), lock_request("second")).await {
        Err(RunError::Lock {
            source: LockError::Held { holder, .. },
        }) => assert_eq!(holder.id, "first"),
        Ok(_) => panic!("a second run began while the first held the lock"),
        Err(other) => panic!("expected the lock to be refused, got {other}"),
    }

    first.commit().await.unwrap();
    assert_eq!(store.current().unwrap().serial, 1);
    let second = Run::begin(store.clone(), lock_request("second"))
        .await
        .unwrap();
    assert!(second.existed());
    second.commit().await.unwrap();
    assert_eq!(store.current().unwrap().serial, 2, "one up per commit");
    assert_eq!(store.saves(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ends_without_writing_or_is_dropped_releases_its_lock() {
    let store = Arc::new(MemoryStore::new());
    Run::begin(store.clone(), lock_request("finished"))
        .await
        .unwrap()
        .finish()
        .await;
    // An error path: the run is dropped where it stands.
    let dropped = Run::begin(store.clone(), lock_request("dropped"))
        .await
        .unwrap();
    drop(dropped);
    let next = Run::begin(store.clone(), lock_request("next"))
        .await
        .unwrap();
    next.finish().await;
    assert_eq!(store.saves(), 0, "nothing was written");
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_create_is_settled_and_recorded_before_the_next_plan() {
    let fake = Arc::new(FakeProvider::new());
    let providers = providers_with(fake.clone());
    let store = Arc::new(MemoryStore::new());
    let ctx = OpContext::new("test", "us-east-1");
    let desired = two_things();

    // A run killed while b's create is in flight: only its state (with the intent) remains.
    fake.hang_after_create("b");
    let mut killed = Run::begin(store.clone(), lock_request("killed"))
        .await
        .unwrap();
    let planned = killed
        .plan(&request(&desired, &providers, &ctx))
        .await
        .unwrap();
    let executor = Executor {
        desired: &desired,
        providers: &providers,
        store: store.as_ref(),
        ctx: ctx.clone(),
    };
    let apply = executor.run(&planned.plan, &mut killed.state, ExecOptions::default());
    assert!(
        tokio::time::timeout(Duration::from_secs(60), apply)
            .await
            .is_err(),
        "b's create hangs"
    );
    drop(killed);
    assert_eq!(
        store.current().unwrap().intents.len(),
        1,
        "b's create is pending"
    );
    fake.clear_faults();

    let mut next = Run::begin(store.clone(), lock_request("next"))
        .await
        .unwrap();
    assert!(next.has_unrecorded(), "an intent to settle");
    let planned = next
        .plan(&request(&desired, &providers, &ctx))
        .await
        .unwrap();
    assert_eq!(
        planned.resolution.adopted.len(),
        1,
        "{:?}",
        planned.resolution
    );
    assert!(next.state.intents.is_empty());
    assert!(
        planned
            .plan
            .changes
            .iter()
            .all(|c| c.action == Action::NoOp),
        "b adopted, not planned again: {:?}",
        planned.plan.changes
    );
    let serial = store.current().unwrap().serial;
    next.save().await.unwrap();
    assert!(!next.has_unrecorded());
    next.finish().await;
    let recorded = store.current().unwrap();
    assert_eq!(recorded.serial, serial + 1);
    assert!(recorded.intents.is_empty() && recorded.resources.contains_key("b"));
    assert_eq!(
        fake.calls_of("create").iter().filter(|a| *a == "b").count(),
        1
    );
}
