//! One EC2 resource type as EC2 describes it (its Describe call, the filter naming its ids,
//! its noun, its states), so that reading, reading back after a change (waited for until
//! visible and ready), the tag sync of an update, finding an interrupted create, adopting what
//! a create was told "already exists" about and `hdh import`'s search are written once for
//! every EC2 type.
//!
//! Invariants:
//! - Reads select by filter, never by id list, so an id that vanished never fails the batch.
//! - What a create made is found by its `hdh:token` and `hdh:stack` tags only
//!   ([`made_by_filters`]), and observed with the create's properties as prior.
//! - A conflicting create adopts only what carries this stack's tags for its address.
//! - Nothing is handed back before it is ready: a NAT gateway found `pending` is waited for
//!   until `available`, so what routes through it is not made too early.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Tag};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, ValueMap};

use super::{filter, lifecycle, made_by_filters, prior_of, read_batched, sync_tags, tag_map};
use crate::aws::{import, join_all, tags, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

/// One resource as an EC2 Describe call lists it: its id and every tag it carries.
pub(crate) trait Ec2Item: Send + Sync {
    fn id(&self) -> &str;
    fn all_tags(&self) -> &[Tag];
}

/// Implements [`Ec2Item`] for SDK types by the accessor of their id.
macro_rules! ec2_items {
    ($($sdk:ty => $id:ident),* $(,)?) => {$(
        impl Ec2Item for $sdk {
            fn id(&self) -> &str {
                self.$id().unwrap_or_default()
            }
            fn all_tags(&self) -> &[Tag] {
                self.tags()
            }
        }
    )*};
}

ec2_items!(
    aws_sdk_ec2::types::Vpc => vpc_id,
    aws_sdk_ec2::types::Subnet => subnet_id,
    aws_sdk_ec2::types::InternetGateway => internet_gateway_id,
    aws_sdk_ec2::types::Address => allocation_id,
    aws_sdk_ec2::types::NatGateway => nat_gateway_id,
    aws_sdk_ec2::types::RouteTable => route_table_id,
    aws_sdk_ec2::types::SecurityGroup => group_id,
);

/// Every page of an EC2 Describe call, flattened: `all_pages!(call, field of a page, "Name")`.
macro_rules! all_pages {
    ($call:expr, $field:ident, $op:literal) => {
        $crate::aws::describe::every_page!($call, $crate::aws::errors::ec2($op)).map(
            |pages: Vec<_>| {
                pages
                    .into_iter()
                    .flat_map(|p| p.$field.unwrap_or_default())
                    .collect()
            },
        )
    };
}
pub(crate) use all_pages;

/// An EC2 type: how EC2 lists it, how one reads back, and its own create, in-place changes and
/// delete.
#[async_trait]
pub(crate) trait Ec2Type: Sized + Send + Sync + 'static {
    /// One resource as Describe lists it.
    type Item: Ec2Item;
    /// The Describe filter selecting by id, e.g. `subnet-id`.
    const ID_FILTER: &'static str;
    /// What messages call one, e.g. `subnet`.
    const NOUN: &'static str;
    /// The state in which one is ready for dependents, for a type with states ([`Ec2Type::state`]).
    const READY: &'static str = "";

    /// Every resource `filters` select, all pages.
    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<Self::Item>>;

    /// The attributes of `item` but its `tags`; `prior` gives the user's spelling of what EC2
    /// does not echo.
    fn attributes(&self, region: &str, item: &Self::Item, prior: Option<&ValueMap>) -> ValueMap;

    /// The state EC2 reports for `item` (a NAT gateway's `pending`, `available`…); `None`, the
    /// default, for a type without states: ready as soon as it is listed.
    fn state(&self, _item: &Self::Item) -> Option<String> {
        None
    }

    /// What a read adds to an observation that Describe does not say. Default: nothing.
    async fn complete(&self, _aws: &Clients, observed: Observed) -> Answer<Observed> {
        Ok(observed)
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed>;

    /// An update's changes other than tags, which [`Ec2`] syncs after them. Default: none (only
    /// tags change in place).
    async fn change(&self, _cx: Cx<'_>, _req: &UpdateRequest) -> Answer<()> {
        Ok(())
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()>;

    /// Where one stands in its parent, unique there: (Describe filter, property) pairs, e.g. a
    /// subnet's `vpc-id` from `vpc_id` and `cidr-block` from `cidr_block`. `hdh import`
    /// searches there (the default [`Ec2Type::candidates`]). Default: nowhere.
    const PLACE: &'static [(&'static str, &'static str)] = &[];
    /// Whether a create answered "already exists" adopts what this stack made in its
    /// [`Ec2Type::PLACE`] (a name or CIDR taken). Default: no, the conflict stands.
    const ADOPTS_IN_PLACE: bool = false;
    /// What import says when a property of the place is not known (a parent not matched).
    const UNMATCHED: &'static str = "its VPC was not matched";

    /// What matched an import candidate found in its place, for the user to judge.
    fn matched_by(&self, _item: &Self::Item) -> String {
        String::new()
    }

    /// Where a create answered "already exists" looks for what it collided with: its place,
    /// when it adopts there.
    fn taken(&self, p: &ValueMap) -> Answer<Option<Vec<Filter>>> {
        if !Self::ADOPTS_IN_PLACE {
            return Ok(None);
        }
        let each = Self::PLACE.iter();
        let filters = each.map(|(f, name)| Ok(filter(f, [props::required_string(p, name)?])));
        filters.collect::<Answer<Vec<_>>>().map(Some)
    }

    /// `hdh import`'s search: each candidate's id and what matched it. Default: what stands in
    /// its place; a type without one cannot be searched for.
    async fn candidates(
        &self,
        aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        if Self::PLACE.is_empty() {
            return Err(import::not_searchable(req));
        }
        let mut filters = Vec::new();
        for (f, name) in Self::PLACE {
            filters.push(filter(f, [known_value(req, name, Self::UNMATCHED)?]));
        }
        search(self, aws, filters, |i| self.matched_by(i)).await
    }
}

/// The resource `item` shows: its attributes, and of its tags its own ([`tags::own_view`]).
pub(crate) fn observe<T: Ec2Type>(
    t: &T,
    cx: Cx<'_>,
    item: &T::Item,
    prior: Option<&ValueMap>,
) -> Observed {
    let mut attributes = t.attributes(&cx.aws.region, item, prior);
    let all = tag_map(item.all_tags());
    let own = tags::own_view(cx.op, &all, prior.unwrap_or(&ValueMap::new()));
    attributes.insert("tags".into(), own);
    Observed {
        id: item.id().to_string(),
        attributes,
    }
}

/// Serves an [`Ec2Type`] as a [`Kind`].
pub(crate) struct Ec2<T>(pub T);

/// The one resource with `id`, as Describe lists it.
pub(crate) async fn one_item<T: Ec2Type>(t: &T, aws: &Clients, id: &str) -> Answer<T::Item> {
    t.describe(aws, by_id::<T>(id))
        .await?
        .pop()
        .ok_or_else(|| ProviderError::NotFound {
            message: format!("{} {id} not found", T::NOUN),
        })
}

/// The resource with `id` once EC2 lists it (a new one shows only after a moment) in its ready
/// state ([`Ec2Type::READY`]), observed with `prior`.
pub(crate) async fn settled<T: Ec2Type>(
    t: &T,
    cx: Cx<'_>,
    (address, verb): (&str, &str),
    id: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let to_be = if T::READY.is_empty() {
        "visible"
    } else {
        T::READY
    };
    let what = format!("{} {id} to be {to_be}", T::NOUN);
    let w = cx.wait(address, verb, what);
    let state = |i: &T::Item| t.state(i).unwrap_or_default();
    let item = lifecycle::until_ready(&w, T::READY, state, || async {
        Ok(t.describe(cx.aws, by_id::<T>(id)).await?.pop())
    })
    .await?;
    t.complete(cx.aws, observe(t, cx, &item, Some(prior))).await
}

/// Waits until the resource with `id` is no longer listed (or listed in a final state that
/// [`Ec2Type::describe`] leaves out).
pub(crate) async fn until_gone<T: Ec2Type>(
    t: &T,
    cx: Cx<'_>,
    address: &str,
    id: &str,
) -> Answer<()> {
    let what = format!("{} {id} to be deleted", T::NOUN);
    let w = cx.wait(address, "deleting", what);
    let state = |i: &T::Item| t.state(i).unwrap_or_default();
    lifecycle::until_gone(&w, None, state, || async {
        Ok(t.describe(cx.aws, by_id::<T>(id)).await?.pop())
    })
    .await
}

/// The values of `names` in an import's properties, or why it cannot search (`unknown`: a
/// parent it refers to was not matched).
pub(crate) fn known<const N: usize>(
    req: &ImportRequest,
    names: [&str; N],
    unknown: &str,
) -> Answer<[String; N]> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = known_value(req, name, unknown)?;
    }
    Ok(out)
}

fn known_value(req: &ImportRequest, name: &str, unknown: &str) -> Answer<String> {
    props::string(&req.properties, name)?.ok_or_else(|| import::unsearchable(req, unknown))
}

fn by_id<T: Ec2Type>(id: &str) -> Vec<Filter> {
    vec![filter(T::ID_FILTER, [id.to_string()])]
}

/// `hdh import`'s candidates among what `filters` select, each with what matched it.
pub(crate) async fn search<T: Ec2Type>(
    t: &T,
    aws: &Clients,
    filters: Vec<Filter>,
    matched_by: impl Fn(&T::Item) -> String,
) -> Answer<Vec<(String, String)>> {
    let items = t.describe(aws, filters).await?;
    Ok(items
        .iter()
        .map(|i| (i.id().to_string(), matched_by(i)))
        .collect())
}

#[async_trait]
impl<T: Ec2Type> Kind for Ec2<T> {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        read_batched(requests, |ids| async move {
            let items = self
                .0
                .describe(cx.aws, vec![filter(T::ID_FILTER, ids)])
                .await?;
            let found = items.iter().map(|i| {
                let o = observe(&self.0, cx, i, prior_of(requests, i.id()));
                self.0.complete(cx.aws, o)
            });
            join_all(found).await.into_iter().collect()
        })
        .await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        self.0.create(cx, req).await
    }

    /// The type's own changes, then the tags, then the resource as it is once ready again.
    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        self.0.change(cx, req).await?;
        if req.changed.iter().any(|c| c == "tags") {
            sync_tags(cx, req).await?;
        }
        let at = (req.address.as_str(), "updating");
        settled(&self.0, cx, at, &req.id, &req.properties).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        self.0.delete(cx, req).await
    }

    /// What the create with this token made, waited for until ready (adopted while still
    /// creating, it is ready before what depends on it starts).
    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let t = &self.0;
        let Some(item) = t
            .describe(cx.aws, made_by_filters(cx.op, &req.token))
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let p = &req.properties;
        let o = match t.state(&item) {
            Some(s) if s != T::READY => {
                let at = (req.address.as_str(), "creating");
                settled(t, cx, at, item.id(), p).await?
            }
            _ => t.complete(cx.aws, observe(t, cx, &item, Some(p))).await?,
        };
        Ok(Some(o))
    }

    /// The resource in the place taken, if this stack made it for this address.
    async fn find_existing(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let Some(filters) = self.0.taken(&req.properties)? else {
            return Ok(None);
        };
        let items = self.0.describe(cx.aws, filters).await?;
        Ok(items
            .iter()
            .find(|i| tags::made_for(&tag_map(i.all_tags()), cx.op, &req.address, None))
            .map(|i| observe(&self.0, cx, i, Some(&req.properties))))
    }

    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        self.0.candidates(cx.aws, req).await
    }
}
