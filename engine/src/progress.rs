//! What a provider reports from inside a long call, as data: which resource, what it is at,
//! and for a wait how long it has waited. Providers never format these into sentences for the
//! terminal; the CLI decides how they read (a `-v` line, the status in a heartbeat, a JSON
//! event).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One report from inside a provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The resource whose operation reports (`aws` for what the AWS SDK does on its own).
    pub address: String,
    /// What it is at: the status it waits on (`CREATING`), what is in its way, what it did.
    pub status: String,
    /// Set while waiting: what the wait is for and how long it has lasted.
    pub waited: Option<Waited>,
}

/// How long a wait has lasted so far, and what it waits as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waited {
    /// What the operation is doing while it waits: `creating`, `deleting`, `validating`…
    pub doing: String,
    pub time: Duration,
}

impl Progress {
    /// A report that is not a wait (an adoption, a cleanup, a retry).
    pub fn said(address: &str, status: &str) -> Progress {
        Progress {
            address: address.into(),
            status: status.into(),
            waited: None,
        }
    }
}

/// `still creating (4m10s): CREATING` for a wait, the status alone otherwise.
impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.waited {
            Some(w) => write!(
                f,
                "still {} ({}): {}",
                w.doing,
                crate::duration::clock(w.time),
                self.status
            ),
            None => f.write_str(&self.status),
        }
    }
}

/// Receives every [`Progress`] report of a run's provider calls.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;
