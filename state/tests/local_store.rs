//! The local backend: exclusive lock naming its holder, atomic replace with one backup, mode
//! 0600, and refusal (leaving the file byte-identical) of anything it cannot vouch for.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use hdh_engine::{LockInfo, ResourceState, State, StateStore, StoreError, Value};
use hdh_state::{encode, lock_info, LocalStore};

fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join(".hdh").join("demo.state.json")
}

fn with_resource(mut state: State, address: &str) -> State {
    let mut attributes = hdh_engine::ValueMap::new();
    attributes.insert("value".into(), Value::str("s3cr3t").sensitive());
    state.resources.insert(
        address.into(),
        ResourceState {
            type_name: "random_secret".into(),
            id: format!("id-{address}"),
            attributes,
            dependencies: vec![],
            lifecycle: Default::default(),
        },
    );
    state
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn load_of_a_missing_file_is_none_and_save_creates_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(state_path(&dir));
    assert_eq!(store.location(), state_path(&dir).display().to_string());
    assert!(store.load().await.unwrap().is_none());

    let mut state = with_resource(State::new(), "a");
    state.serial = 1;
    store.save(&state).await.unwrap();
    assert_eq!(mode_of(&state_path(&dir)), 0o600);
    assert_eq!(mode_of(&dir.path().join(".hdh")), 0o700);
    assert_eq!(std::fs::read(state_path(&dir)).unwrap(), encode(&state));
    assert!(!store.backup_path().exists());

    let fresh = LocalStore::new(state_path(&dir));
    assert_eq!(fresh.load().await.unwrap(), Some(state));
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path().join(".hdh"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["demo.state.json".to_string()]);
}

#[tokio::test]
async fn second_save_keeps_one_backup_of_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(state_path(&dir));
    let mut state = State::new();
    for (serial, address) in [(1, "a"), (2, "b"), (3, "c")] {
        state = with_resource(state, address);
        state.serial = serial;
        let before = std::fs::read(state_path(&dir)).ok();
        store.save(&state).await.unwrap();
        if let Some(before) = before {
            assert_eq!(std::fs::read(store.backup_path()).unwrap(), before);
            assert_eq!(mode_of(store.backup_path()), 0o600);
        }
    }
    let backup = hdh_state::decode(&std::fs::read(store.backup_path()).unwrap(), "b").unwrap();
    assert_eq!(backup.serial, 2);
    assert_eq!(mode_of(&state_path(&dir)), 0o600);
}

#[tokio::test]
async fn save_refuses_to_go_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(state_path(&dir));
    let mut state = with_resource(State::new(), "a");
    state.serial = 5;
    store.save(&state).await.unwrap();
    let bytes = std::fs::read(state_path(&dir)).unwrap();

    for serial in [5, 4] {
        state.serial = serial;
        let err = store.save(&state).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!(
                "serial 5 on disk is not older than serial {serial}"
            )),
            "{err}"
        );
        assert_eq!(std::fs::read(state_path(&dir)).unwrap(), bytes);
    }
    state.serial = 6;
    store.save(&state).await.unwrap();
}

#[tokio::test]
async fn save_refuses_when_someone_else_wrote_since_it_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let first = LocalStore::new(state_path(&dir));
    let mut state = State::new();
    state.serial = 1;
    first.save(&state).await.unwrap();

    let a = LocalStore::new(state_path(&dir));
    let b = LocalStore::new(state_path(&dir));
    let mut sa = a.load().await.unwrap().unwrap();
    let mut sb = b.load().await.unwrap().unwrap();
    sb.serial = 2;
    b.save(&sb).await.unwrap();
    let bytes = std::fs::read(state_path(&dir)).unwrap();

    // Same serial as b wrote: refused by the serial check; higher: by what `a` last read.
    sa.serial = 3;
    let err = a.save(&sa).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("serial 1 when last read or written, is now serial 2"),
        "{err}"
    );
    assert_eq!(std::fs::read(state_path(&dir)).unwrap(), bytes);

    // A store that read "no state" refuses to overwrite one that appeared since.
    let dir2 = tempfile::tempdir().unwrap();
    let c = LocalStore::new(state_path(&dir2));
    assert!(c.load().await.unwrap().is_none());
    let mut other = State::new();
    other.serial = 1;
    LocalStore::new(state_path(&dir2))
        .save(&other)
        .await
        .unwrap();
    other.serial = 2;
    let err = c.save(&other).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

/// Writes `content` as the state file, then checks that load and save refuse it with `expect`
/// in the message and that the file is byte-identical afterwards (and no backup was made).
async fn refused_and_untouched(content: &[u8], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    let store = LocalStore::new(path.clone());

    let err = store.load().await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains(expect), "{err}");

    let mut state = with_resource(State::new(), "a");
    state.serial = 1_000;
    let err = store.save(&state).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(expect) && message.contains("not overwritten"),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");

    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert!(!store.backup_path().exists());
}

#[tokio::test]
async fn unusable_files_are_refused_and_left_byte_identical() {
    refused_and_untouched(b"this is not json\n", "not valid JSON").await;
    refused_and_untouched(b"", "not valid JSON").await;
    refused_and_untouched(
        b"{\"format_version\": 2, \"lineage\": \"x\", \"serial\": 1}\n",
        "written by a newer hdh: format version 2, this hdh reads 1",
    )
    .await;

    let mut other = with_resource(State::new(), "z");
    other.serial = 3;
    let bytes = encode(&other);
    refused_and_untouched_by_lineage(&bytes, &other.lineage).await;
}

async fn refused_and_untouched_by_lineage(content: &[u8], lineage: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    let store = LocalStore::new(path.clone());
    let mut mine = State::new();
    mine.serial = 99;
    let err = store.save(&mine).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("another state history") && message.contains(lineage),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert!(!store.backup_path().exists());
}

#[tokio::test]
async fn lock_is_exclusive_and_names_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let a = LocalStore::new(state_path(&dir));
    let b = LocalStore::new(state_path(&dir));
    let mine = lock_info("apply");
    a.lock(&mine).await.unwrap();
    assert_eq!(mode_of(a.lock_path()), 0o600);

    let err = b.lock(&lock_info("destroy")).await.unwrap_err();
    let StoreError::Locked { holder } = &err else {
        panic!("expected Locked, got {err:?}")
    };
    assert_eq!(holder, &mine);
    let message = err.to_string();
    assert!(message.contains(&mine.holder), "{message}");
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert!(message.contains("`apply`"), "{message}");
    assert!(message.contains(&mine.id), "{message}");

    // Taking it again, even by the holder, fails: locks do not nest.
    assert!(matches!(
        a.lock(&mine).await,
        Err(StoreError::Locked { .. })
    ));

    // Unlock by someone else is refused; by the holder it works, and the lock is free again.
    let err = b.unlock(&lock_info("destroy")).await.unwrap_err();
    assert!(matches!(err, StoreError::LockMismatch { .. }), "{err:?}");
    a.unlock(&mine).await.unwrap();
    assert!(!a.lock_path().exists());
    let theirs = lock_info("destroy");
    b.lock(&theirs).await.unwrap();
    b.unlock(&theirs).await.unwrap();
    let err = b.unlock(&theirs).await.unwrap_err();
    assert!(err.to_string().contains("current lock: none"), "{err}");
}

#[tokio::test]
async fn the_lock_of_a_run_killed_on_this_host_is_replaced_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(state_path(&dir));
    // A run that was killed: its process is gone.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let mut killed = lock_info("destroy");
    killed.pid = dead_pid;
    store.lock(&killed).await.unwrap();

    let mine = lock_info("destroy");
    store.lock(&mine).await.expect("the stale lock is replaced");
    assert_eq!(store.replaced_stale_lock(), Some(killed.clone()));
    let on_disk: LockInfo =
        serde_json::from_slice(&std::fs::read(store.lock_path()).unwrap()).unwrap();
    assert_eq!(on_disk, mine);
    store.unlock(&mine).await.unwrap();

    // A live holder on this host, or any holder on another host, still locks.
    let other = LocalStore::new(state_path(&dir));
    let alive = lock_info("apply");
    other.lock(&alive).await.unwrap();
    assert!(matches!(
        store.lock(&lock_info("destroy")).await,
        Err(StoreError::Locked { .. })
    ));
    other.unlock(&alive).await.unwrap();
    let mut elsewhere = killed.clone();
    elsewhere.holder = "ci@another-machine".into();
    other.lock(&elsewhere).await.unwrap();
    let err = store.lock(&lock_info("destroy")).await.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
}

#[tokio::test]
async fn force_unlock_needs_the_right_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(state_path(&dir));
    let held = lock_info("apply");
    store.lock(&held).await.unwrap();

    let err = store.force_unlock("not-the-id").await.unwrap_err();
    let StoreError::LockMismatch { id, current } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(id, "not-the-id");
    assert!(current.contains(&held.id), "{current}");
    assert!(store.lock_path().exists());

    let other = LocalStore::new(state_path(&dir));
    other.force_unlock(&held.id).await.unwrap();
    assert!(!store.lock_path().exists());
    assert!(matches!(
        other.force_unlock(&held.id).await,
        Err(StoreError::LockMismatch { .. })
    ));
}

#[tokio::test]
async fn an_unreadable_lock_file_still_locks_and_can_be_forced_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(state_path(&dir));
    std::fs::create_dir_all(dir.path().join(".hdh")).unwrap();
    std::fs::write(store.lock_path(), b"{\"holder\": \"ann@box\", \"pid\": 4").unwrap();

    let err = store.lock(&lock_info("apply")).await.unwrap_err();
    let StoreError::Locked { holder } = err else {
        panic!("{err:?}")
    };
    assert!(holder.id.starts_with("unreadable-"), "{holder:?}");
    assert!(holder.holder.contains("unreadable"), "{holder:?}");
    assert!(holder.created.ends_with('Z'), "{holder:?}");

    // Fields that parse are reported even if the whole does not deserialize.
    std::fs::write(store.lock_path(), b"{\"holder\": \"ann@box\", \"pid\": 42}").unwrap();
    let Err(StoreError::Locked { holder: partial }) = store.lock(&lock_info("apply")).await else {
        panic!("expected Locked")
    };
    assert_eq!(partial.holder, "ann@box");
    assert_eq!(partial.pid, 42);

    store.force_unlock(&partial.id).await.unwrap();
    store.lock(&lock_info("apply")).await.unwrap();
}

#[test]
fn of_many_simultaneous_lockers_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let store = LocalStore::new(path);
                let info = LockInfo {
                    operation: format!("apply {i}"),
                    ..lock_info("apply")
                };
                barrier.wait();
                // Boxed: the error is large, and only its presence and holder matter here.
                rt.block_on(store.lock(&info)).map_err(Box::new)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter(|r| r.is_err()) {
        // Every loser names a complete, parseable lock: never a half-written one.
        let Err(e) = r else { unreachable!() };
        let StoreError::Locked { holder } = e.as_ref() else {
            panic!("{e:?}")
        };
        assert!(holder.operation.starts_with("apply "), "{holder:?}");
    }
}
