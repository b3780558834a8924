//! The retries the SDK makes by itself (throttling, 5xx, timeouts: up to
//! [`super::client::MAX_ATTEMPTS`] attempts with backoff) are otherwise invisible; this
//! interceptor reports each one through the run's progress sink, so `hdh -v` shows what AWS
//! refused and that it is being retried, and counts them for the run's figures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_ec2::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use hdh_engine::{Progress, ProgressSink};

use super::client::MAX_ATTEMPTS;

/// Where retries go: the progress sink of the run that made the clients, and a count.
#[derive(Default)]
pub(crate) struct RetryLog {
    sink: Mutex<Option<ProgressSink>>,
    count: AtomicU64,
}

impl RetryLog {
    pub(crate) fn report_to(&self, sink: ProgressSink) {
        *self.sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(sink);
    }

    /// Attempts that failed in a way the SDK retries, since the clients were made.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn record(&self, line: &str) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let sink = self
            .sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(sink) = sink {
            sink(&Progress::said("aws", line));
        }
    }
}

/// The interceptor every AWS client carries.
#[derive(Clone)]
pub(crate) struct RetryReport(pub(crate) Arc<RetryLog>);

impl std::fmt::Debug for RetryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryReport")
    }
}

impl Intercept for RetryReport {
    fn name(&self) -> &'static str {
        "hdh-retry-report"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Err(err)) = context.output_or_error() else {
            return Ok(());
        };
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        if attempt >= MAX_ATTEMPTS {
            return Ok(());
        }
        let why = match context.response() {
            None if err.is_timeout_error() => "timed out".to_string(),
            None => "no answer".to_string(),
            Some(r) => {
                let status = r.status().as_u16();
                let code = error_code(r);
                if !(status == 429
                    || status >= 500
                    || code.as_deref().is_some_and(super::errors::throttling))
                {
                    return Ok(()); // not retried: the caller sees it at once
                }
                match code {
                    Some(c) => format!("{c} (HTTP {status})"),
                    None => format!("HTTP {status}"),
                }
            }
        };
        let op = cfg
            .load::<Metadata>()
            .map(|m| format!("{} {}", m.service(), m.name()))
            .unwrap_or_else(|| "a call".into());
        self.0.record(&format!(
            "{op}: {why}; retrying (attempt {} of {MAX_ATTEMPTS})",
            attempt + 1
        ));
        Ok(())
    }
}

/// AWS's error code, from the header JSON protocols send or the body's `<Code>`/`__type`.
fn error_code(r: &aws_smithy_runtime_api::http::Response) -> Option<String> {
    if let Some(t) = r.headers().get("x-amzn-ErrorType") {
        return Some(t.split(':').next().unwrap_or(t).to_string());
    }
    let body = std::str::from_utf8(r.body().bytes()?).ok()?;
    if let Some(start) = body.find("<Code>") {
        let rest = &body[start + 6..];
        return rest.find("</Code>").map(|end| rest[..end].to_string());
    }
    let key = body.find("\"__type\"").or_else(|| body.find("\"code\""))?;
    let rest = &body[key..];
    let rest = &rest[rest.find(':')? + 1..];
    let rest = &rest[rest.find('"')? + 1..];
    let code = &rest[..rest.find('"')?];
    Some(code.rsplit('#').next().unwrap_or(code).to_string())
}
