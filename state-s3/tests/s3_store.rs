//! The S3 backend against the emulator (moto, which implements `If-None-Match`/`If-Match` on
//! PutObject and DeleteObject and SSE-KMS): lock exclusivity, force-unlock by id only, lost
//! races refused, lineage and serial checks, encryption and versioning. Each test has its own
//! emulator.

use std::sync::Arc;

use hdh_engine::{State, StateStore, StoreError};
use hdh_state::lock_info;
use hdh_state_s3::Versioning;
use hdh_state_s3::{S3Settings, S3Store};
use hdh_testcloud::{Emulator, Profile};

const REGION: &str = "us-east-1";
const BUCKET: &str = "team-state";
const KEY: &str = "stacks/demo.state.json";

struct Fixture {
    emu: Emulator,
    s3: aws_sdk_s3::Client,
}

async fn fixture() -> Fixture {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .expect("emulator starts");
    let s3 = emu.s3_client(REGION).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    Fixture { emu, s3 }
}

impl Fixture {
    async fn store(&self, kms_key_id: Option<&str>) -> S3Store {
        S3Store::with_config(
            S3Settings {
                bucket: BUCKET.into(),
                key: KEY.into(),
                region: REGION.into(),
                kms_key_id: kms_key_id.map(String::from),
            },
            self.emu.aws_config(REGION).await,
        )
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.s3.get_object().bucket(BUCKET).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.unwrap().to_vec()),
            Err(_) => None,
        }
    }
}

fn state(lineage: &str, serial: u64) -> State {
    State {
        lineage: lineage.into(),
        serial,
        ..State::default()
    }
}

#[tokio::test]
async fn of_eight_concurrent_lockers_exactly_one_wins_and_the_others_learn_who() {
    let f = fixture().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::new(f.store(None).await);
        tasks.push(tokio::spawn(async move {
            let info = lock_info(&format!("apply #{i}"));
            (info.clone(), store.lock(&info).await)
        }));
    }
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (info, Ok(())) => winners.push(info),
            (_, Err(StoreError::Locked { holder })) => holders.push(holder),
            (_, Err(e)) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one takes the lock");
    assert_eq!(holders.len(), 7);
    for h in &holders {
        assert_eq!(h, &winners[0], "every loser names the winner");
    }
    let stored: hdh_engine::LockInfo =
        serde_json::from_slice(&f.object(&format!("{KEY}.lock")).await.unwrap()).unwrap();
    assert_eq!(stored, winners[0]);
}

#[tokio::test]
async fn only_the_lock_id_removes_a_lock() {
    let f = fixture().await;
    let store = f.store(None).await;
    let info = lock_info("apply");
    store.lock(&info).await.unwrap();
    match store.force_unlock("someone-else").await {
        Err(StoreError::LockMismatch { id, current }) => {
            assert_eq!(id, "someone-else");
            assert!(current.contains(&info.id), "{current}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(f.object(&format!("{KEY}.lock")).await.is_some());
    store.force_unlock(&info.id).await.unwrap();
    assert!(f.object(&format!("{KEY}.lock")).await.is_none());
    assert!(matches!(
        store.force_unlock(&info.id).await,
        Err(StoreError::LockMismatch { .. })
    ));
    // Released, it can be taken again, and unlock releases it.
    let again = lock_info("plan");
    store.lock(&again).await.unwrap();
    store.unlock(&again).await.unwrap();
    assert!(f.object(&format!("{KEY}.lock")).await.is_none());
}

#[tokio::test]
async fn an_unreadable_lock_is_still_a_lock_and_removable_by_its_derived_id() {
    let f = fixture().await;
    f.s3.put_object()
        .bucket(BUCKET)
        .key(format!("{KEY}.lock"))
        .body(b"{\"holder\": \"bob@laptop\", ".to_vec().into())
        .send()
        .await
        .unwrap();
    let store = f.store(None).await;
    let holder = match store.lock(&lock_info("apply")).await {
        Err(StoreError::Locked { holder }) => holder,
        other => panic!("expected locked, got {other:?}"),
    };
    assert!(holder.id.starts_with("unreadable-"), "{holder:?}");
    assert!(holder.holder.contains("unreadable"), "{holder:?}");
    assert!(holder.created.ends_with('Z'), "time from LastModified");
    store.force_unlock(&holder.id).await.unwrap();
    store.lock(&lock_info("apply")).await.unwrap();
}

#[tokio::test]
async fn a_write_that_lost_a_race_is_refused_and_overwrites_nothing() {
    let f = fixture().await;
    // Both find no state; the first write wins, the second is refused (If-None-Match).
    let (a, b) = (f.store(None).await, f.store(None).await);
    assert!(a.load().await.unwrap().is_none());
    assert!(b.load().await.unwrap().is_none());
    a.save(&state("L", 1)).await.unwrap();
    let mut other = state("L", 1);
    other
        .outputs
        .insert("who".into(), hdh_engine::Value::String("b".into()));
    match b.save(&other).await {
        Err(StoreError::Conflict { detail, .. }) => {
            assert!(detail.contains("now serial 1"), "{detail}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Exactly the bytes already there (a retried write whose first answer was lost): saved.
    let c = f.store(None).await;
    assert!(c.load().await.unwrap().is_some());
    let d = f.store(None).await;
    d.load().await.unwrap();
    c.save(&state("L", 2)).await.unwrap();
    d.save(&state("L", 2)).await.unwrap();
    f.store(None).await.save(&state("L", 1)).await.unwrap_err();

    // Both load serial 2; A saves 3; B's save of 3 (If-Match on the old ETag) is refused.
    let (a, b) = (f.store(None).await, f.store(None).await);
    assert_eq!(a.load().await.unwrap().unwrap().serial, 2);
    assert_eq!(b.load().await.unwrap().unwrap().serial, 2);
    let mut by_a = state("L", 3);
    by_a.outputs
        .insert("who".into(), hdh_engine::Value::String("a".into()));
    a.save(&by_a).await.unwrap();
    let before = f.object(KEY).await.unwrap();
    let mut by_b = state("L", 3);
    by_b.outputs
        .insert("who".into(), hdh_engine::Value::String("b".into()));
    assert!(matches!(
        b.save(&by_b).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(f.object(KEY).await.unwrap(), before, "A's write stands");
    // A keeps going on its own ETag.
    a.save(&state("L", 4)).await.unwrap();
    let fresh = f.store(None).await;
    assert_eq!(fresh.load().await.unwrap().unwrap(), state("L", 4));
}

#[tokio::test]
async fn another_lineage_or_an_older_serial_is_refused_and_left_byte_identical() {
    let f = fixture().await;
    f.store(None).await.save(&state("L", 5)).await.unwrap();
    let stored = f.object(KEY).await.unwrap();

    // A store that never loaded checks the object it finds.
    match f.store(None).await.save(&state("OTHER", 9)).await {
        Err(StoreError::Invalid { reason, .. }) => {
            assert!(reason.contains("another state history"), "{reason}")
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    assert!(matches!(
        f.store(None).await.save(&state("L", 5)).await,
        Err(StoreError::Conflict { .. })
    ));
    // A store that loaded checks against what it read.
    let loaded = f.store(None).await;
    loaded.load().await.unwrap();
    assert!(matches!(
        loaded.save(&state("L", 4)).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        loaded.save(&state("OTHER", 6)).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(f.object(KEY).await.unwrap(), stored, "left byte-identical");

    // Garbage in the object is refused, not treated as "no state".
    f.s3.put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(b"not json".to_vec().into())
        .send()
        .await
        .unwrap();
    assert!(matches!(
        f.store(None).await.load().await,
        Err(StoreError::Invalid { .. })
    ));
}

#[tokio::test]
async fn state_and_lock_are_kms_encrypted_with_the_given_or_the_managed_key() {
    let f = fixture().await;
    let key_arn = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    let store = f.store(Some(key_arn)).await;
    let info = lock_info("apply");
    store.lock(&info).await.unwrap();
    store.save(&state("L", 1)).await.unwrap();
    for key in [KEY.to_string(), format!("{KEY}.lock")] {
        let head =
            f.s3.head_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .unwrap();
        assert_eq!(head.server_side_encryption().unwrap().as_str(), "aws:kms");
        assert_eq!(head.ssekms_key_id(), Some(key_arn), "{key}");
    }
    let shown = store.object_info().await.unwrap().unwrap();
    assert_eq!(shown.server_side_encryption.as_deref(), Some("aws:kms"));
    store.unlock(&info).await.unwrap();

    let managed = S3Store::with_config(
        S3Settings {
            bucket: BUCKET.into(),
            key: "other.json".into(),
            region: REGION.into(),
            kms_key_id: None,
        },
        f.emu.aws_config(REGION).await,
    );
    managed.save(&state("M", 1)).await.unwrap();
    let head =
        f.s3.head_object()
            .bucket(BUCKET)
            .key("other.json")
            .send()
            .await
            .unwrap();
    assert_eq!(head.server_side_encryption().unwrap().as_str(), "aws:kms");
}

#[tokio::test]
async fn versioning_is_reported() {
    let f = fixture().await;
    let store = f.store(None).await;
    assert_eq!(store.versioning().await.unwrap(), Versioning::NeverEnabled);
    f.s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(store.versioning().await.unwrap(), Versioning::Enabled);
}

#[tokio::test]
async fn a_missing_bucket_is_an_error_not_an_empty_state() {
    let f = fixture().await;
    let store = S3Store::with_config(
        S3Settings {
            bucket: "no-such-bucket".into(),
            key: KEY.into(),
            region: REGION.into(),
            kms_key_id: None,
        },
        f.emu.aws_config(REGION).await,
    );
    match store.load().await {
        Err(StoreError::Io { location, source }) => {
            assert!(location.starts_with("s3://no-such-bucket/"), "{location}");
            assert!(
                source.to_string().contains("bucket does not exist"),
                "{source}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The keys under the state's journal prefix.
async fn journal_keys(f: &Fixture) -> Vec<String> {
    let out =
        f.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(format!("{KEY}.journal/"))
            .send()
            .await
            .unwrap();
    out.contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect()
}

/// `state` one serial on with `address` holding a resource with id `id`.
fn next(state: &State, address: &str, id: &str) -> (State, hdh_engine::state::Changes) {
    let mut s = state.clone();
    s.serial += 1;
    s.resources.insert(
        address.into(),
        hdh_engine::ResourceState {
            type_name: "random_secret".into(),
            id: id.into(),
            attributes: Default::default(),
            dependencies: vec![],
            lifecycle: Default::default(),
        },
    );
    let mut c = hdh_engine::state::Changes::default();
    c.touch(address);
    (s, c)
}

#[tokio::test]
async fn appends_are_journal_objects_every_reader_sees_and_a_whole_write_removes() {
    let f = fixture().await;
    let store = f.store(None).await;
    assert!(store.load().await.unwrap().is_none());
    // The first write of a process is whole; the next ones are one object each.
    let (s1, c1) = next(&state("lin", 0), "a", "1");
    store.append(&s1, &c1).await.unwrap();
    let (s2, c2) = next(&s1, "b", "2");
    store.append(&s2, &c2).await.unwrap();
    let (s3, c3) = next(&s2, "c", "3");
    store.append(&s3, &c3).await.unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&f.object(KEY).await.unwrap()).unwrap();
    assert_eq!(stored["serial"], 1, "the state object was written once");
    assert_eq!(
        journal_keys(&f).await,
        vec![
            format!("{KEY}.journal/lin/00000000000000000002"),
            format!("{KEY}.journal/lin/00000000000000000003"),
        ]
    );
    // Another reader sees state and journal as one.
    let other = f.store(None).await;
    assert_eq!(other.load().await.unwrap(), Some(s3.clone()));

    // A writer that read the same state cannot write the serial the journal already holds.
    let mut rival = s2.clone();
    rival.resources.clear();
    let rival_store = f.store(None).await;
    rival_store.load().await.unwrap();
    let (r3, rc3) = next(&rival, "z", "9");
    let err = rival_store.append(&r3, &rc3).await;
    assert!(matches!(err, Err(StoreError::Conflict { .. })), "{err:?}");

    // The whole write at the end contains the journal: its objects go.
    let (s4, _) = next(&s3, "d", "4");
    store.save(&s4).await.unwrap();
    assert!(journal_keys(&f).await.is_empty());
    assert_eq!(f.store(None).await.load().await.unwrap(), Some(s4));
}

#[tokio::test]
async fn a_damaged_last_journal_object_is_ignored_and_one_before_it_refused() {
    let f = fixture().await;
    let store = f.store(None).await;
    store.load().await.unwrap();
    let (s1, c1) = next(&state("lin", 0), "a", "1");
    store.append(&s1, &c1).await.unwrap();
    let (s2, c2) = next(&s1, "b", "2");
    store.append(&s2, &c2).await.unwrap();
    let (s3, c3) = next(&s2, "c", "3");
    store.append(&s3, &c3).await.unwrap();
    let last = format!("{KEY}.journal/lin/00000000000000000003");
    let mut body = f.object(&last).await.unwrap();
    let n = body.len();
    body[n - 3] ^= 1;
    f.s3.put_object()
        .bucket(BUCKET)
        .key(&last)
        .body(body.clone().into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        f.store(None).await.load().await.unwrap(),
        Some(s2.clone()),
        "the damaged last batch never counted"
    );
    // A run that goes on from there compacts first, so the damaged object is replaced.
    let reader = f.store(None).await;
    let loaded = reader.load().await.unwrap().unwrap();
    let (t3, tc3) = next(&loaded, "c", "other");
    reader.append(&t3, &tc3).await.unwrap();
    assert!(journal_keys(&f).await.is_empty());
    assert_eq!(f.store(None).await.load().await.unwrap(), Some(t3.clone()));

    // Damage before another object is refused, naming the object.
    let (t4, tc4) = next(&t3, "d", "4");
    reader.append(&t4, &tc4).await.unwrap();
    let (t5, tc5) = next(&t4, "e", "5");
    reader.append(&t5, &tc5).await.unwrap();
    let first = format!("{KEY}.journal/lin/00000000000000000004");
    f.s3.put_object()
        .bucket(BUCKET)
        .key(&first)
        .body(body.into())
        .send()
        .await
        .unwrap();
    let err = f.store(None).await.load().await.unwrap_err().to_string();
    assert!(err.contains(&first), "{err}");
    assert!(err.contains("only a damaged last journal object"), "{err}");
}

type RequestContext<'a> =
    aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef<'a>;
/// Which request a test acts before.
type Matches = for<'a, 'b> fn(&'a RequestContext<'b>) -> bool;

/// Runs `compact` once, inside the reader's request, just before the first request `matches`.
struct CompactBefore {
    matches: Matches,
    compact: Arc<dyn Fn() + Send + Sync>,
    fired: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for CompactBefore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompactBefore")
    }
}

impl aws_sdk_s3::config::Intercept for CompactBefore {
    fn name(&self) -> &'static str {
        "CompactBefore"
    }

    fn read_before_execution(
        &self,
        context: &RequestContext<'_>,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        use std::sync::atomic::Ordering;
        if (self.matches)(context) && !self.fired.swap(true, Ordering::SeqCst) {
            (self.compact)();
        }
        Ok(())
    }
}

fn lists_the_journal(context: &RequestContext<'_>) -> bool {
    context
        .input()
        .downcast_ref::<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Input>()
        .is_some_and(|i| i.prefix().is_some_and(|p| p.ends_with(".journal/")))
}

fn reads_a_journal_object(context: &RequestContext<'_>) -> bool {
    context
        .input()
        .downcast_ref::<aws_sdk_s3::operation::get_object::GetObjectInput>()
        .is_some_and(|i| i.key().is_some_and(|k| k.contains(".journal/")))
}

/// A reader without the lock (`hdh plan`) whose reads straddle another process's compaction
/// still sees every committed change: the compaction deletes the journal objects the state
/// object it read lacks, and the read is retried instead of returning that older state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_racing_a_compaction_sees_every_committed_change() {
    for (window, matches) in [
        (
            "between the state object and the journal listing",
            lists_the_journal as Matches,
        ),
        (
            "between the journal listing and a journal object",
            reads_a_journal_object,
        ),
    ] {
        let f = fixture().await;
        let writer = Arc::new(f.store(None).await);
        writer.load().await.unwrap();
        let (s1, c1) = next(&state("lin", 0), "a", "1");
        writer.append(&s1, &c1).await.unwrap();
        let (s2, c2) = next(&s1, "b", "2");
        writer.append(&s2, &c2).await.unwrap();
        let (s3, c3) = next(&s2, "c", "3");
        writer.append(&s3, &c3).await.unwrap();
        let (s4, _) = next(&s3, "d", "4");

        let compact = {
            let (writer, s4) = (writer.clone(), s4.clone());
            Arc::new(move || {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current()
                        .block_on(writer.save(&s4))
                        .unwrap()
                })
            })
        };
        let interceptor = CompactBefore {
            matches,
            compact,
            fired: Default::default(),
        };
        let config = f.emu.aws_config(REGION).await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .interceptor(interceptor)
                .build(),
        );
        let reader = S3Store::with_client(
            S3Settings {
                bucket: BUCKET.into(),
                key: KEY.into(),
                region: REGION.into(),
                kms_key_id: None,
            },
            client,
        );
        assert_eq!(
            reader.load().await.unwrap(),
            Some(s4.clone()),
            "a compaction {window}"
        );
        assert!(
            journal_keys(&f).await.is_empty(),
            "the compaction ran ({window})"
        );
    }
}
