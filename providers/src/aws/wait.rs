//! Waiting for AWS: every asynchronous state (cluster ACTIVE, NAT available, a deletion
//! finished) and every "retry until AWS lets go" (DependencyViolation while ENIs linger) has an
//! explicit deadline (the operation's timeout) and a growing delay, and reports progress to the
//! engine ("still creating (4m10s): CREATING").

use std::future::Future;
use std::time::Duration;

use hdh_engine::{OpContext, ProviderError};
use tokio::time::Instant;

use super::client::PollPolicy;

/// One poll's answer.
pub(crate) enum Poll<T> {
    Ready(T),
    /// Not yet; the text is the current status, shown in progress reports.
    Pending(String),
}

/// What is being waited for, for whom.
pub(crate) struct Wait<'a> {
    pub ctx: &'a OpContext,
    pub address: &'a str,
    /// e.g. "creating", "deleting".
    pub verb: &'a str,
    /// e.g. "cluster eks-helio to be ACTIVE".
    pub what: String,
    pub policy: PollPolicy,
}

/// Errors a wait keeps polling through: throttling and server-side failures (HTTP 5xx, no
/// answer in time). Everything else (access denied, invalid parameters, an unknown API, an
/// unclassified code) ends the wait at once: polling again would get the same answer.
pub(crate) fn transient(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Throttled { .. } | ProviderError::Unavailable { .. }
    )
}

/// Reports at most this often (plus on every status change).
const REPORT_EVERY: Duration = Duration::from_secs(10);

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl Wait<'_> {
    /// Polls until `poll` is ready or the deadline passes. Transient errors are polled through
    /// (up to the deadline); other errors end the wait.
    pub async fn until<T, F, Fut>(&self, poll: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, ProviderError>>,
    {
        self.until_within(self.ctx.timeout, poll).await
    }

    /// [`Wait::until`] with a deadline of at most `limit` (shorter than the operation's).
    async fn until_within<T, F, Fut>(
        &self,
        limit: Duration,
        mut poll: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, ProviderError>>,
    {
        let started = Instant::now();
        let deadline = started + self.ctx.timeout.min(limit);
        let mut last_status = String::new();
        let mut last_report = started;
        loop {
            let status = match poll().await {
                Ok(Poll::Ready(v)) => return Ok(v),
                Ok(Poll::Pending(status)) => status,
                Err(e) if transient(&e) => format!("retrying after: {e}"),
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(ProviderError::Timeout {
                    what: format!("{} (last status: {status})", self.what),
                    waited: now - started,
                });
            }
            if status != last_status || now - last_report >= REPORT_EVERY {
                self.ctx.report(
                    self.address,
                    &format!("still {} ({}): {status}", self.verb, human(now - started)),
                );
                last_report = now;
                last_status = status;
            }
            let delay = self.policy.delay_after(now - started);
            tokio::time::sleep(delay.min(deadline - now)).await;
        }
    }

    /// Runs `op` until it succeeds, retrying while `retry_on` says the error is one to wait out
    /// (e.g. DependencyViolation while ENIs linger, NotFound just after a create).
    pub async fn retrying<T, F, Fut>(
        &self,
        retry_on: fn(&ProviderError) -> bool,
        op: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.retrying_for(self.ctx.timeout, retry_on, op).await
    }

    /// [`Wait::retrying`] for at most `limit`: for conditions AWS clears quickly when they are
    /// transient (a new role propagating), so a real error is not waited on for an hour.
    pub async fn retrying_for<T, F, Fut>(
        &self,
        limit: Duration,
        retry_on: fn(&ProviderError) -> bool,
        mut op: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.until_within(limit, || {
            let fut = op();
            async move {
                match fut.await {
                    Ok(v) => Ok(Poll::Ready(v)),
                    Err(e) if retry_on(&e) => Ok(Poll::Pending(e.to_string())),
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }
}

/// Retry predicate: AWS still holds a dependency (lingering ENIs, an attached gateway).
pub(crate) fn dependency(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::DependencyViolation { .. } | ProviderError::Conflict { .. }
    )
}

/// Retry predicate: read-after-create NotFound (eventual consistency).
pub(crate) fn not_yet_visible(e: &ProviderError) -> bool {
    matches!(e, ProviderError::NotFound { .. })
}
