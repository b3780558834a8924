//! Waiting on a resource that passes through states (an EC2 NAT gateway, an EFS file system or
//! mount target, a network interface being released): until it is ready for dependents, or
//! until it is gone; and deleting one that something else still holds for a while. Each poll
//! looks the resource up (or tries the delete) once; the deadline and backoff are [`Wait`]'s.
//!
//! Invariant: while waiting for ready, finding nothing is "not yet visible" (a create EC2 and
//! EFS show only after a moment), never success and never an error.

use std::future::Future;

use crate::aws::errors::gone_is_ok;
use crate::aws::wait::{dependency, Poll, Wait};
use crate::aws::Cx;
use crate::Answer;

/// Polls `look` until what it finds is in state `ready` (as `state` names it).
pub(crate) async fn until_ready<T, F, Fut>(
    w: &Wait<'_>,
    ready: &str,
    state: impl Fn(&T) -> String,
    look: F,
) -> Answer<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Answer<Option<T>>>,
{
    watch(w, look, |found| match found {
        Some(x) if state(&x) == ready => Poll::Ready(x),
        Some(x) => Poll::Pending(state(&x)),
        None => Poll::Pending("not yet visible".into()),
    })
    .await
}

/// Polls `look` until it finds nothing, or what it finds is in state `gone` (a state some
/// services keep listing for a while).
pub(crate) async fn until_gone<T, F, Fut>(
    w: &Wait<'_>,
    gone: Option<&str>,
    state: impl Fn(&T) -> String,
    look: F,
) -> Answer<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Answer<Option<T>>>,
{
    watch(w, look, |found| match found.map(|x| state(&x)) {
        Some(now) if gone != Some(now.as_str()) => Poll::Pending(now),
        _ => Poll::Ready(()),
    })
    .await
}

/// Polls `look`, each time deciding from what it found.
async fn watch<T, R, F, Fut>(
    w: &Wait<'_>,
    mut look: F,
    decide: impl Fn(Option<T>) -> Poll<R>,
) -> Answer<R>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Answer<Option<T>>>,
{
    w.until(|| {
        let found = look();
        let decide = &decide;
        async move { Ok(decide(found.await?)) }
    })
    .await
}

/// Deletes with `call`, retried while the service says something still holds the resource (a
/// gateway still attached, an address still associated, mount targets still going); already
/// gone is success.
pub(crate) async fn delete_when_free<F, Fut>(
    cx: Cx<'_>,
    address: &str,
    what: String,
    mut call: F,
) -> Answer<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Answer<()>>,
{
    cx.wait(address, "deleting", what)
        .retrying(dependency, || {
            let sent = call();
            async move { gone_is_ok(sent.await) }
        })
        .await
}
