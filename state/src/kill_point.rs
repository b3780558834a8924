//! Crash points for tests that prove crash safety by killing: `HDH_TEST_KILL_AT=POINT:N` makes
//! the N-th arrival at POINT kill this process with SIGKILL (`journal-append`: after half of
//! the N-th journal line is on disk; `compaction`: after the N-th compaction wrote the state
//! file and before it reset the journal; `save`: before the N-th `save`, the whole write that
//! ends a run, starts, with every result journaled). Unset, it costs one atomic load per arrival.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    JournalAppend,
    Compaction,
    Save,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::JournalAppend => "journal-append",
            Point::Compaction => "compaction",
            Point::Save => "save",
        }
    }
}

/// The point and count asked for, read once.
fn target() -> Option<(&'static str, u64)> {
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let v = std::env::var("HDH_TEST_KILL_AT").ok()?;
            let (name, n) = v.split_once(':')?;
            Some((name.to_string(), n.parse().ok()?))
        })
        .as_ref()
        .map(|(name, n)| (name.as_str(), *n))
}

/// Counts an arrival at `point`; true when this is the one to die at.
pub(crate) fn reached(point: Point) -> bool {
    static ARRIVALS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let Some((name, n)) = target() else {
        return false;
    };
    if name != point.name() {
        return false;
    }
    ARRIVALS[point as usize].fetch_add(1, Ordering::Relaxed) + 1 == n
}

/// SIGKILL to this process: no destructor, no flush, no lock release.
pub(crate) fn die() -> ! {
    // SAFETY: kill(2) with our own pid has no memory effects.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}
