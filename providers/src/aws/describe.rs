//! Reading one resource the way every service without a batch read is read: one Describe (or
//! Get) call, its error classified once by the service's mapper (`errors`), "not found" as
//! `None`, the answer mapped to attributes; and the same for the calls around it (a delete whose
//! resource is gone succeeded, a paginated list read through its paginator). EC2 has its own
//! batched form (`ec2::kind`); everything else describes through here.
//!
//! Invariants:
//! - A resource the service does not know, or one going away ([`Described::gone`]), reads as
//!   `None`, never as an error: refresh then plans it as gone.
//! - Reads of several resources run concurrently and keep the requests' order.

use std::future::Future;

use async_trait::async_trait;
use hdh_engine::provider::ReadRequest;
use hdh_engine::{Observed, ProviderError, ValueMap};

use super::errors::{absent_if_not_found, gone_is_ok};
use super::{join_all, Cx};
use crate::{Answer, Found};

/// Every item of a paginated list call, its error classified:
/// `every_item!(aws.kms.list_keys(), e("ListKeys"))`.
macro_rules! every_item {
    ($call:expr, $classify:expr) => {
        $call
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err($classify)
    };
}
pub(crate) use every_item;

/// Every page of a paginated call whose pages are not items, its error classified:
/// `every_page!(aws.ec2.describe_instances(), e("DescribeInstances"))`.
macro_rules! every_page {
    ($call:expr, $classify:expr) => {
        $call
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err($classify)
    };
}
pub(crate) use every_page;

/// One call's answer, its error classified by `classify`; `None` when the service says there
/// is no such thing.
pub(crate) async fn found<T, E>(
    sent: impl Future<Output = Result<T, E>>,
    classify: impl FnOnce(E) -> ProviderError,
) -> Answer<Option<T>> {
    absent_if_not_found(sent.await.map_err(classify))
}

/// One call whose answer says nothing hdh keeps, its error classified by `classify`.
pub(crate) async fn done<T, E>(
    sent: impl Future<Output = Result<T, E>>,
    classify: impl FnOnce(E) -> ProviderError,
) -> Answer<()> {
    sent.await.map(drop).map_err(classify)
}

/// A delete call: deleting what is already gone is success.
pub(crate) async fn deleted<T, E>(
    sent: impl Future<Output = Result<T, E>>,
    classify: impl FnOnce(E) -> ProviderError,
) -> Answer<()> {
    gone_is_ok(done(sent, classify).await)
}

/// A resource type read one at a time: how the service describes one, and what of it hdh
/// reports.
#[async_trait]
pub(crate) trait Described: Send + Sync {
    /// What the Describe call answers for one resource.
    type Item: Send + Sync;

    /// What messages call one, e.g. `user pool`.
    const NOUN: &'static str;

    /// The resource with `id` in whatever state it is (`prior`, the properties it was made
    /// with, names its parents where the id does not); `None` when there is none.
    async fn describe(&self, cx: Cx<'_>, id: &str, prior: &ValueMap) -> Answer<Option<Self::Item>>;

    /// Whether `item` is going away (deleting, pending deletion), so reads count it as gone.
    /// Default: never.
    fn gone(&self, _item: &Self::Item) -> bool {
        false
    }

    /// Its id and attributes; `prior` gives the user's spelling of what the service does not
    /// echo.
    fn observe(&self, cx: Cx<'_>, item: &Self::Item, prior: &ValueMap) -> Observed;

    /// What a read adds that Describe does not say (tags, settings read by other calls);
    /// `None` when one of those calls finds the resource gone. Default: nothing.
    async fn complete(&self, _cx: Cx<'_>, o: Observed, _prior: &ValueMap) -> Found {
        Ok(Some(o))
    }
}

/// The resource with `id`, observed with `prior`; `None` when it is gone.
pub(crate) async fn read<T: Described>(t: &T, cx: Cx<'_>, id: &str, prior: &ValueMap) -> Found {
    match t.describe(cx, id, prior).await? {
        Some(item) if !t.gone(&item) => {
            let o = t.observe(cx, &item, prior);
            t.complete(cx, o, prior).await
        }
        _ => Ok(None),
    }
}

/// Every request's resource, read concurrently.
pub(crate) async fn read_all<T: Described>(
    t: &T,
    cx: Cx<'_>,
    requests: &[ReadRequest],
) -> Vec<Found> {
    join_all(requests.iter().map(|r| read(t, cx, &r.id, &r.prior))).await
}

/// The answer to every request of a batch whose listing failed: the same error for each.
pub(crate) fn all_failed(requests: &[ReadRequest], err: &ProviderError) -> Vec<Found> {
    let m = err.to_string();
    requests
        .iter()
        .map(|_| Err(ProviderError::other(m.clone())))
        .collect()
}

/// The resource with `id`, which must exist (read back after a change).
pub(crate) async fn one<T: Described>(
    t: &T,
    cx: Cx<'_>,
    id: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    read(t, cx, id, prior)
        .await?
        .ok_or_else(|| ProviderError::NotFound {
            message: format!("{} {id} is gone", T::NOUN),
        })
}
