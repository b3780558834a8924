//! Waiting, for every provider: each asynchronous state (cluster ACTIVE, NAT available, a
//! deletion finished, a Helm release deployed) and each "retry until the service lets go"
//! (DependencyViolation while ENIs linger) has an explicit deadline (the operation's timeout)
//! and a delay that grows with the time waited, and reports its progress to the engine as
//! [`hdh_engine::Progress`] (what it waits as, for how long, the status now). Also the small
//! `join_all` the batched reads run their calls with.

use std::future::Future;
use std::time::Duration;

use hdh_engine::{OpContext, ProviderError};
use tokio::time::Instant;

/// How a waiter paces its polls: the delay grows with the time already waited (a fixed
/// fraction of it, so a wait overshoots the real transition by at most that fraction), never
/// below `initial` nor above `max`.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub fraction: f64,
}

impl Default for PollPolicy {
    /// 2 s at first, at most 20 s, 1% of the time waited: a wait ends at most ~1% after the
    /// real transition (the apply makespan goal is 1.02 × the critical path), at the price of
    /// ~100 cheap Describe calls over a 12-minute cluster creation.
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(20),
            fraction: 0.01,
        }
    }
}

impl PollPolicy {
    /// For emulators with scaled time: polls every few milliseconds, overshoot at most 1%.
    pub fn fast() -> Self {
        PollPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(100),
            fraction: 0.01,
        }
    }

    /// The default policy with every delay multiplied by `scale` (for an emulator whose time
    /// runs `1/scale` times faster than AWS's), never below 10 ms / 100 ms.
    pub fn scaled(scale: f64) -> Self {
        let d = PollPolicy::default();
        PollPolicy {
            initial: d.initial.mul_f64(scale).max(Duration::from_millis(10)),
            max: d.max.mul_f64(scale).max(Duration::from_millis(100)),
            fraction: d.fraction,
        }
    }

    /// [`PollPolicy::default`], or [`PollPolicy::scaled`] by `HDH_TIME_SCALE` when that is set
    /// to a number in (0, 1] (the demo and tests run a time-scaled emulator).
    pub fn from_env() -> Self {
        std::env::var("HDH_TIME_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0 && *s <= 1.0)
            .map_or_else(PollPolicy::default, PollPolicy::scaled)
    }

    fn delay_after(&self, waited: Duration) -> Duration {
        waited
            .mul_f64(self.fraction)
            .clamp(self.initial, self.max.max(self.initial))
    }
}

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
                self.ctx
                    .report_wait(self.address, self.verb, &status, now - started);
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

/// Runs reads concurrently and keeps their order.
pub(crate) async fn join_all<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    let futs: Vec<_> = futs.map(Box::pin).collect();
    let mut out = Vec::with_capacity(futs.len());
    // A tiny join_all: poll every future until all are done.
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = futs.into_iter().map(Some).collect();
    let mut results: Vec<Option<T>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(
        results
            .into_iter()
            .map(|r| r.expect("every future finished")),
    );
    out
}
