//! Running `kubectl` and `helm`: arguments, optional stdin, a deadline per attempt, and the
//! failure classes the provider decides on (not found, cluster unreachable, a release with an
//! operation pending (conflict), other). Stderr is
//! kept short in messages; stdout is returned whole.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hdh_engine::{OpContext, ProviderError};
use tokio::io::AsyncWriteExt;

use crate::poll::{Poll, PollPolicy, Wait};
use crate::Answer;

/// The longest a single tool invocation may run (helm --wait has its own, shorter, timeout).
const ATTEMPT_LIMIT: Duration = Duration::from_secs(1800);

/// Whether the tool's stderr says the object or release does not exist.
pub(crate) fn says_not_found(stderr: &str) -> bool {
    stderr.contains("(NotFound)")
        || stderr.contains("release: not found")
        || stderr.contains(" not found")
}

/// Whether the tool could not reach the cluster (DNS not there yet, endpoint not serving).
fn says_unreachable(stderr: &str) -> bool {
    stderr.contains("cluster unreachable")
        || stderr.contains("Unable to connect to the server")
        || stderr.contains("i/o timeout")
        || stderr.contains("no such host")
        || stderr.contains("connection refused")
}

/// Whether helm refused because the release has an operation pending: another helm is at work
/// on it, or one was stopped mid-way and left it pending (see `helm::unstick`).
fn says_pending(stderr: &str) -> bool {
    stderr.contains("another operation (install/upgrade/rollback) is in progress")
}

/// One invocation of a tool: the executable, its arguments and what its stdin is fed.
#[derive(Clone, Copy)]
pub(crate) struct Invocation<'a> {
    pub exe: &'a Path,
    pub args: &'a [String],
    pub stdin: Option<&'a str>,
}

impl<'a> Invocation<'a> {
    /// `exe args…` with nothing on stdin.
    pub(crate) fn new(exe: &'a Path, args: &'a [String]) -> Self {
        Invocation {
            exe,
            args,
            stdin: None,
        }
    }

    pub(crate) fn stdin(self, text: Option<&'a str>) -> Self {
        Invocation {
            stdin: text,
            ..self
        }
    }
}

/// Runs the invocation once; returns stdout, or the classified failure.
pub(crate) async fn run_once(call: Invocation<'_>) -> Answer<String> {
    let Invocation { exe, args, stdin } = call;
    let name = exe.display().to_string();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        ProviderError::other(format!(
            "cannot run `{name}`: {e} (is it installed and on PATH?)"
        ))
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| ProviderError::other(format!("writing to `{name}`: {e}")))?;
        drop(pipe);
    }
    let out = tokio::time::timeout(ATTEMPT_LIMIT, child.wait_with_output())
        .await
        .map_err(|_| ProviderError::Timeout {
            what: format!("`{name} {}`", args.first().cloned().unwrap_or_default()),
            waited: ATTEMPT_LIMIT,
        })?
        .map_err(|e| ProviderError::other(format!("`{name}`: {e}")))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first: String = stderr
        .trim()
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join(" / ");
    let verb = args.first().cloned().unwrap_or_default();
    let message = format!(
        "`{} {verb}` failed: {first}",
        exe.file_name()
            .map_or(name.clone(), |f| f.to_string_lossy().into_owned())
    );
    Err(if says_not_found(&stderr) {
        ProviderError::NotFound { message }
    } else if says_pending(&stderr) {
        ProviderError::Conflict { message }
    } else if says_unreachable(&stderr) {
        // Transient for waits: polled through until the deadline.
        ProviderError::Throttled { message }
    } else {
        ProviderError::Other { message }
    })
}

/// Runs the tool, waiting out an unreachable cluster until the operation's deadline.
pub(crate) async fn run(
    ctx: &OpContext,
    address: &str,
    poll: PollPolicy,
    call: Invocation<'_>,
) -> Answer<String> {
    let never_gone = || async { Ok(None) };
    match run_unless_gone(ctx, address, poll, call, never_gone).await? {
        Ran::Done(out) => Ok(out),
        Ran::ClusterGone(cluster) => {
            Err(ProviderError::other(format!("cluster {cluster} is gone")))
        }
    }
}

/// What [`run_unless_gone`] ended with.
pub(crate) enum Ran {
    /// The tool succeeded; its stdout.
    Done(String),
    /// The cluster is gone (this one), so the tool will never get an answer.
    ClusterGone(String),
}

/// Like [`run`], but on every unreachable answer asks `gone` whether the cluster still exists
/// (a cluster deleted behind hdh's back never answers); stops when it does not.
pub(crate) async fn run_unless_gone<F, Fut>(
    ctx: &OpContext,
    address: &str,
    poll: PollPolicy,
    call: Invocation<'_>,
    gone: F,
) -> Answer<Ran>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer<Option<String>>>,
{
    Wait {
        ctx,
        address,
        verb: "waiting",
        what: "the cluster to answer".into(),
        policy: poll,
    }
    .until(|| async {
        match run_once(call).await {
            Ok(out) => Ok(Poll::Ready(Ran::Done(out))),
            Err(ProviderError::Throttled { message }) => match gone().await? {
                Some(cluster) => Ok(Poll::Ready(Ran::ClusterGone(cluster))),
                None => Ok(Poll::Pending(message)),
            },
            Err(e) => Err(e),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_classified() {
        assert!(says_not_found("Error: release: not found"));
        assert!(says_not_found(
            "Error from server (NotFound): services \"proxy-public\" not found"
        ));
        assert!(says_unreachable("Error: Kubernetes cluster unreachable: Get \"https://X/version\": dial tcp: lookup X: no such host"));
        assert!(!says_unreachable(
            "Error: UPGRADE FAILED: context deadline exceeded"
        ));
    }
}
