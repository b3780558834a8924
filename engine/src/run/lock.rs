//! A run's hold on its state store's lock: taken with backoff, released by a guard on every path.
//!
//! Invariant: a [`LockGuard`] that is not released explicitly releases its lock when dropped (an error,
//!   an early return, a panic), on a runtime of its own, so no path leaves a lock behind.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::state::{LockInfo, StateStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock, and it was not released within the wait allowed.
    #[error("state {location} is locked: {holder}")]
    Held { location: String, holder: LockInfo },
    #[error("{source}")]
    Store {
        #[source]
        source: StoreError,
    },
}

/// The first pause while waiting for a lock; the pause doubles up to the longest.
const LOCK_POLL_FIRST: Duration = Duration::from_millis(200);
const LOCK_POLL_MAX: Duration = Duration::from_secs(5);

/// Takes `store`'s lock as `info`. A held lock fails at once with `timeout` zero; otherwise
/// `waiting` is told once whom the run waits for, and the lock is tried again with backoff
/// (jittered, so waiters started together do not poll in step) until the deadline.
pub async fn lock_with_backoff(
    store: &dyn StateStore,
    info: &LockInfo,
    timeout: Duration,
    mut waiting: impl FnMut(&LockInfo),
) -> Result<(), LockError> {
    let deadline = Instant::now() + timeout;
    let mut pause = LOCK_POLL_FIRST;
    let mut told = false;
    loop {
        let holder = match store.lock(info).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Locked { holder }) => holder,
            Err(source) => return Err(LockError::Store { source }),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LockError::Held {
                location: store.location(),
                holder,
            });
        }
        if !told {
            waiting(&holder);
            told = true;
        }
        tokio::time::sleep(jitter(pause).min(left)).await;
        pause = (pause * 2).min(LOCK_POLL_MAX);
    }
}

/// `pause` plus up to a quarter more.
fn jitter(pause: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let quarter = pause.as_millis() as u64 / 4;
    pause + Duration::from_millis(u64::from(nanos) % quarter.max(1))
}

/// What to do when a lock cannot be released: told where, which lock and why (the CLI prints
/// how to remove it by hand).
pub type OnUnlockError = fn(location: &str, lock: &LockInfo, error: &str);

/// A held lock: released by [`LockGuard::release`], or when dropped.
pub struct LockGuard {
    store: Arc<dyn StateStore>,
    info: Option<LockInfo>,
    on_error: OnUnlockError,
}

impl LockGuard {
    /// Guards a lock already taken.
    pub fn new(store: Arc<dyn StateStore>, info: LockInfo, on_error: OnUnlockError) -> Self {
        LockGuard {
            store,
            info: Some(info),
            on_error,
        }
    }

    pub fn info(&self) -> &LockInfo {
        self.info.as_ref().expect("held until released")
    }

    /// Releases the lock now.
    pub async fn release(mut self) {
        if let Some(info) = self.info.take() {
            if let Err(e) = self.store.unlock(&info).await {
                (self.on_error)(&self.store.location(), &info, &e.to_string());
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(info) = self.info.take() else {
            return;
        };
        let store = self.store.clone();
        let held = info.clone();
        // The runtime that owns this guard may be the one unwinding: release on one of its own.
        let released = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let unlock = store.unlock(&held);
                let _ = tokio::time::timeout(Duration::from_secs(10), unlock).await;
            });
            Ok::<(), std::io::Error>(())
        })
        .join();
        if !matches!(released, Ok(Ok(()))) {
            let location = self.store.location();
            (self.on_error)(&location, &info, "the release did not run");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::MemoryStore;

    fn info(id: &str) -> LockInfo {
        crate::testkit::test_lock(id)
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_lock_is_waited_for_then_refused_naming_its_holder() {
        let store = MemoryStore::new();
        store.lock(&info("first")).await.unwrap();
        let mut told = Vec::new();
        let second = info("second");
        let result = lock_with_backoff(&store, &second, Duration::from_secs(3), |h| {
            told.push(h.id.clone())
        })
        .await;
        assert_eq!(told, ["first"], "told once");
        match result {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder.id, "first"),
            other => panic!("expected the lock to be refused, got {other:?}"),
        }
    }

    #[test]
    fn a_dropped_guard_releases_its_lock() {
        let store: Arc<MemoryStore> = Arc::new(MemoryStore::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(store.lock(&info("held"))).unwrap();
        let guard = LockGuard::new(store.clone(), info("held"), |_, _, e| {
            panic!("release failed: {e}")
        });
        drop(guard);
        rt.block_on(store.lock(&info("next"))).unwrap();
    }
}
