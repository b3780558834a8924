//! A run of hdh against one state, as a transaction: [`Run::begin`] takes the lock and loads the
//! state, [`Run::plan`] settles what an interrupted run left, refreshes, plans and preflights,
//! and [`Run::commit`] writes and unlocks. The order of these steps lives here, not in the
//! commands that use them: a command parses, prompts and renders.

mod commit;
mod lock;
mod transaction;

pub use commit::{commit, commit_changes, rescued};
pub use lock::{lock_with_backoff, LockError, LockGuard, OnUnlockError};
pub use transaction::{LockRequest, PlanRequest, Planned, Run, RunError, Uncommitted};
