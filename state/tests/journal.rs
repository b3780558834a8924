//! The local backend's journal: what is appended is what every later load sees, a torn last
//! record is ignored, a damaged earlier one refused, a compaction interrupted before the
//! journal was reset is harmless, and a journal of another history is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use hdh_engine::state::{Changes, Intent, IntentAction};
use hdh_engine::{ResourceState, State, StateStore, StoreError, Value};
use hdh_state::LocalStore;

fn path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("j.state.json")
}

fn resource(id: &str) -> ResourceState {
    let mut attributes = hdh_engine::ValueMap::new();
    attributes.insert(
        "value".into(),
        Value::str(format!("secret-{id}")).sensitive(),
    );
    ResourceState {
        type_name: "fake_thing".into(),
        id: id.into(),
        attributes,
        dependencies: vec!["other".into()],
        lifecycle: Default::default(),
    }
}

fn intent(address: &str) -> Intent {
    Intent {
        address: address.into(),
        type_name: "fake_thing".into(),
        action: IntentAction::Create,
        token: format!("token-{address}"),
        properties: Default::default(),
        dependencies: vec![],
        lifecycle: Default::default(),
        started_at: "2026-11-30T00:00:00Z".into(),
    }
}

async fn loaded(dir: &tempfile::TempDir) -> Result<Option<State>, StoreError> {
    LocalStore::new(path(dir)).load().await
}

/// Appends one step: `f` changes `state` and names what it changed.
async fn step(store: &LocalStore, state: &mut State, f: impl FnOnce(&mut State, &mut Changes)) {
    let mut changes = Changes::default();
    f(state, &mut changes);
    state.bump_serial("t").unwrap();
    store.append(state, &changes).await.unwrap();
}

/// A store with a whole state written and four records in its journal; returns the states
/// after each step.
async fn journaled(dir: &tempfile::TempDir) -> (LocalStore, Vec<State>) {
    let store = LocalStore::new(path(dir));
    let mut state = State::new();
    let mut states = Vec::new();
    // The first write of a process is whole.
    step(&store, &mut state, |s, c| {
        s.resources.insert("a".into(), resource("a1"));
        c.touch("a");
    })
    .await;
    states.push(state.clone());
    step(&store, &mut state, |s, c| {
        s.intents.push(intent("b"));
        s.intents.push(intent("c"));
        c.touch("b");
        c.touch("c");
    })
    .await;
    states.push(state.clone());
    step(&store, &mut state, |s, c| {
        s.intents.retain(|i| i.address != "b");
        s.resources.insert("b".into(), resource("b1"));
        s.deposed.insert("a".into(), resource("a0"));
        c.touch("b");
        c.touch("a");
    })
    .await;
    states.push(state.clone());
    step(&store, &mut state, |s, c| {
        s.resources.remove("a");
        s.deposed.remove("a");
        s.outputs.insert("o".into(), Value::str("x").sensitive());
        c.touch("a");
        c.outputs = true;
    })
    .await;
    states.push(state.clone());
    (store, states)
}

#[tokio::test]
async fn every_load_sees_the_state_file_with_the_journal_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, states) = journaled(&dir).await;
    let journal = store.journal_path();
    assert!(journal.exists(), "appends went to the journal");
    assert_eq!(
        std::fs::metadata(journal).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let file = hdh_state::decode(&std::fs::read(path(&dir)).unwrap(), "t").unwrap();
    assert_eq!(file, states[0], "the file was written whole only once");
    assert_eq!(loaded(&dir).await.unwrap().as_ref(), states.last());

    // The run's end writes the whole state and removes the journal.
    store.save(states.last().unwrap()).await.unwrap_err(); // same serial: refused
    let mut last = states.last().unwrap().clone();
    last.bump_serial("t").unwrap();
    store.save(&last).await.unwrap();
    assert!(!journal.exists());
    assert_eq!(loaded(&dir).await.unwrap(), Some(last));
}

#[tokio::test]
async fn a_torn_last_record_is_ignored_and_a_damaged_earlier_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, states) = journaled(&dir).await;
    let journal = store.journal_path().to_path_buf();
    let full = std::fs::read(&journal).unwrap();
    for cut in [1, 2, 10, 40] {
        std::fs::write(&journal, &full[..full.len() - cut]).unwrap();
        assert_eq!(
            loaded(&dir).await.unwrap().as_ref(),
            Some(&states[2]),
            "a torn last record ({cut} bytes missing) is as if never written"
        );
    }
    // A flipped byte in the second line (the first record) is damage, not a torn tail.
    let mut damaged = full.clone();
    let second = full.iter().position(|b| *b == b'\n').unwrap() + 30;
    damaged[second] ^= 0x01;
    std::fs::write(&journal, &damaged).unwrap();
    let err = loaded(&dir).await.unwrap_err().to_string();
    assert!(err.contains("line 2 is damaged"), "{err}");
    assert_eq!(std::fs::read(&journal).unwrap(), damaged, "left as it was");
}

#[tokio::test]
async fn a_compaction_stopped_before_the_journal_was_reset_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let (store, states) = journaled(&dir).await;
    let old_journal = std::fs::read(store.journal_path()).unwrap();
    let mut last = states.last().unwrap().clone();
    last.bump_serial("t").unwrap();
    store.save(&last).await.unwrap();
    // As if killed after the state file was replaced and before the journal went.
    std::fs::write(store.journal_path(), old_journal).unwrap();
    assert_eq!(loaded(&dir).await.unwrap(), Some(last));
}

#[tokio::test]
async fn a_journal_of_another_history_is_refused_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = journaled(&dir).await;
    let journal = std::fs::read(store.journal_path()).unwrap();
    // Another stack's state file beside this journal.
    let other = tempfile::tempdir().unwrap();
    let (_, other_states) = journaled(&other).await;
    std::fs::copy(path(&other), path(&dir)).unwrap();
    std::fs::write(store.journal_path(), &journal).unwrap();
    let err = loaded(&dir).await.unwrap_err();
    assert!(matches!(err, StoreError::History { .. }), "{err}");
    assert!(
        err.to_string().contains("the lineage of its journal"),
        "{err}"
    );

    let accepting = LocalStore::new(path(&dir));
    accepting.accept_history_change();
    assert_eq!(
        accepting.load().await.unwrap().as_ref(),
        Some(&other_states[0])
    );
    assert!(accepting.accepted_history_change().is_some());
}

#[tokio::test]
async fn a_journal_without_its_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _) = journaled(&dir).await;
    std::fs::remove_file(path(&dir)).unwrap();
    let err = loaded(&dir).await.unwrap_err().to_string();
    assert!(err.contains("found no state file"), "{err}");
}
