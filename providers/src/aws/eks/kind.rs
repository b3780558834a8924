//! What the EKS types with a status share (cluster, node group, add-on, access entry): an
//! [`EksType`] says how EKS describes one and which statuses are final; from that, reading,
//! waiting until ACTIVE or deleted, the search after an interrupted create and the adoption
//! of a conflicting create are written once, and every `EksType` is a `Kind` read by its
//! Describe.
//!
//! Invariants:
//! - A resource DELETING reads as gone; one in a failed status ends a wait at once, naming it.
//! - What a create made is found by its id (names are unique per cluster) and its `hdh:` tags
//!   (or what [`EksType::also_ours`] accepts), and handed back only once ACTIVE, so nothing that
//!   depends on it starts early.

use std::collections::BTreeMap;

use async_trait::async_trait;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, ValueMap};

use crate::aws::describe::{self, Described};
use crate::aws::errors::gone_is_ok;
use crate::aws::tag_maps::btree;
use crate::aws::wait::{self, Poll};
use crate::aws::{tags, Clients, Cx, Kind};
use crate::{Answer, Found};

/// The status EKS reports while a resource is going away.
const DELETING: &str = "DELETING";

/// What EKS answers for one resource, as far as waiting and adopting need: its status and tags.
pub(crate) trait EksItem: Send + Sync {
    /// Its status as EKS spells it (`ACTIVE`, `CREATING`, `DELETING`…).
    fn state(&self) -> Option<&str>;
    /// Every tag it carries.
    fn all_tags(&self) -> BTreeMap<String, String>;
}

/// Implements [`EksItem`] for SDK types that report a status.
macro_rules! eks_items {
    ($($sdk:ty),* $(,)?) => {$(
        impl EksItem for $sdk {
            fn state(&self) -> Option<&str> {
                self.status().map(|s| s.as_str())
            }
            fn all_tags(&self) -> BTreeMap<String, String> {
                btree(self.tags())
            }
        }
    )*};
}

eks_items!(
    aws_sdk_eks::types::Cluster,
    aws_sdk_eks::types::Nodegroup,
    aws_sdk_eks::types::Addon,
);

/// An access entry has no status: it is usable once it exists.
impl EksItem for aws_sdk_eks::types::AccessEntry {
    fn state(&self) -> Option<&str> {
        Some("ACTIVE")
    }
    fn all_tags(&self) -> BTreeMap<String, String> {
        btree(self.tags())
    }
}

/// An EKS resource type: how EKS describes one, and its own calls (its declaration is in
/// `types/aws.yaml`).
#[async_trait]
pub(crate) trait EksType: Send + Sync + 'static {
    /// What EKS describes one as.
    type Item: EksItem;
    /// What messages call one, e.g. `node group`.
    const NOUN: &'static str;
    /// The statuses in which a wait for ACTIVE gives up at once.
    const FAILED: &'static [&'static str];
    /// The property naming one in its cluster, e.g. `nodegroup_name`.
    const NAME: &'static str;

    /// The resource with `id`, in whatever status; `None` when EKS has none.
    async fn describe(&self, aws: &Clients, id: &str) -> Answer<Option<Self::Item>>;

    /// What EKS says went wrong, appended to a failed status. Default: nothing.
    fn why(&self, _item: &Self::Item) -> String {
        String::new()
    }

    /// Its id and attributes; `prior` gives the user's spelling of what EKS does not echo.
    fn observe(&self, ctx: &OpContext, item: &Self::Item, prior: &ValueMap) -> Observed;

    /// The id a resource of these properties has: `cluster:name` (names are unique per
    /// cluster), once both are known.
    fn natural_id(&self, properties: &ValueMap) -> Answer<Option<String>> {
        super::natural_id(properties, Self::NAME)
    }

    /// Whether a resource without this address's `hdh:` tags is still the one this create
    /// (`token`) made, or one to adopt (`token` `None`). Default: no.
    async fn also_ours(
        &self,
        _aws: &Clients,
        _item: &Self::Item,
        _token: Option<&str>,
    ) -> Answer<bool> {
        Ok(false)
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed>;

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed>;

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()>;
}

#[async_trait]
impl<T: EksType> Described for T {
    type Item = <T as EksType>::Item;
    const NOUN: &'static str = <T as EksType>::NOUN;

    async fn describe(
        &self,
        cx: Cx<'_>,
        id: &str,
        _prior: &ValueMap,
    ) -> Answer<Option<Self::Item>> {
        EksType::describe(self, cx.aws, id).await
    }

    fn gone(&self, item: &<T as EksType>::Item) -> bool {
        item.state() == Some(DELETING)
    }

    fn observe(&self, cx: Cx<'_>, item: &<T as EksType>::Item, prior: &ValueMap) -> Observed {
        EksType::observe(self, cx.op, item, prior)
    }
}

/// The name messages use: the part of a `cluster:name` id after the cluster.
fn short(id: &str) -> &str {
    id.split_once(':').map_or(id, |(_, name)| name)
}

fn status_text(item: &impl EksItem) -> String {
    item.state().unwrap_or("unknown").to_string()
}

/// Waits until the resource with `id` is ACTIVE and observes it (after a create or an update).
pub(crate) async fn wait_active<T: EksType>(
    t: &T,
    cx: Cx<'_>,
    address: &str,
    verb: &str,
    id: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let name = short(id);
    let w = cx.wait(
        address,
        verb,
        format!("{} {name} to be ACTIVE", <T as EksType>::NOUN),
    );
    w.until(|| async {
        let Some(x) = EksType::describe(t, cx.aws, id).await? else {
            return Ok(Poll::Pending("not yet visible".into()));
        };
        match x.state() {
            Some("ACTIVE") => Ok(Poll::Ready(EksType::observe(t, cx.op, &x, prior))),
            Some(s) if <T as EksType>::FAILED.contains(&s) => Err(ProviderError::other(format!(
                "{} {name} is {s}{}",
                <T as EksType>::NOUN,
                t.why(&x)
            ))),
            _ => Ok(Poll::Pending(status_text(&x))),
        }
    })
    .await
}

/// The id of the resource `req` names.
fn id_of<T: EksType>(t: &T, req: &CreateRequest) -> Answer<String> {
    EksType::natural_id(t, &req.properties)?.ok_or_else(|| {
        let noun = <T as EksType>::NOUN;
        ProviderError::invalid(format!("{noun} of {} has no name", req.address))
    })
}

/// After the create call: the resource `req` names, once ACTIVE.
pub(crate) async fn created<T: EksType>(
    t: &T,
    cx: Cx<'_>,
    req: &CreateRequest,
) -> Answer<Observed> {
    let id = id_of(t, req)?;
    wait_active(t, cx, &req.address, "creating", &id, &req.properties).await
}

/// After the update calls: the resource, once ACTIVE again.
pub(crate) async fn updated<T: EksType>(
    t: &T,
    cx: Cx<'_>,
    req: &UpdateRequest,
) -> Answer<Observed> {
    wait_active(t, cx, &req.address, "updating", &req.id, &req.properties).await
}

/// A change EKS may refuse while another is in progress (ResourceInUse), retried until it is
/// accepted, then waited for until ACTIVE again.
pub(crate) async fn change<T, F, Fut>(t: &T, cx: Cx<'_>, req: &UpdateRequest, call: F) -> Answer<()>
where
    T: EksType,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer<()>>,
{
    let noun = <T as EksType>::NOUN;
    let what = format!("{noun} {} to accept an update", short(&req.id));
    let w = cx.wait(&req.address, "updating", what);
    w.retrying(wait::dependency, call).await?;
    updated(t, cx, req).await.map(drop)
}

/// Deletes with `call` (retried while `retry_on` says EKS still holds on), then waits until
/// EKS no longer lists the resource. Gone already is success.
pub(crate) async fn delete<T, F, Fut>(
    t: &T,
    cx: Cx<'_>,
    req: &DeleteRequest,
    retry_on: fn(&ProviderError) -> bool,
    call: F,
) -> Answer<()>
where
    T: EksType,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer<()>>,
{
    let noun = <T as EksType>::NOUN;
    let w = cx.wait(
        &req.address,
        "deleting",
        format!("{noun} {} to be deleted", short(&req.id)),
    );
    w.retrying(retry_on, || async { gone_is_ok(call().await) })
        .await?;
    w.until(|| async {
        Ok(match EksType::describe(t, cx.aws, &req.id).await? {
            None => Poll::Ready(()),
            Some(x) => Poll::Pending(status_text(&x)),
        })
    })
    .await
}

/// The resource `req` names if this stack made it for this address (by the create with
/// `token`, if given), once ACTIVE.
async fn lookup<T: EksType>(t: &T, cx: Cx<'_>, req: &CreateRequest, token: Option<&str>) -> Found {
    let id = id_of(t, req)?;
    let Some(x) = EksType::describe(t, cx.aws, &id).await? else {
        return Ok(None);
    };
    let ours = tags::made_for(&x.all_tags(), cx.op, &req.address, token)
        || t.also_ours(cx.aws, &x, token).await?;
    match x.state() {
        _ if !ours => Ok(None),
        Some(DELETING) => Ok(None),
        Some("ACTIVE") => Ok(Some(EksType::observe(t, cx.op, &x, &req.properties))),
        // Adopted while still CREATING: ACTIVE before anything that depends on it starts.
        _ => wait_active(t, cx, &req.address, "creating", &id, &req.properties)
            .await
            .map(Some),
    }
}

#[async_trait]
impl<T: EksType> Kind for T {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        EksType::create(self, cx, req).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        EksType::update(self, cx, req).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        EksType::delete(self, cx, req).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        lookup(self, cx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        lookup(self, cx, req, None).await
    }

    /// `hdh import`: named by its cluster and name.
    fn natural_id(&self, properties: &ValueMap) -> Answer<Option<String>> {
        EksType::natural_id(self, properties)
    }
}
