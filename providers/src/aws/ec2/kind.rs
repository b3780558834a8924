//! One EC2 resource type as EC2 describes it (its Describe call, the filter naming its ids,
//! its noun), so that reading, finding an interrupted create, adopting what a create was told
//! "already exists" about and `hdh import`'s search are written once for every EC2 type.
//!
//! Invariants:
//! - Reads select by filter, never by id list, so an id that vanished never fails the batch.
//! - What a create made is found by its `hdh:token` and `hdh:stack` tags only
//!   ([`made_by_filters`]), and observed with the create's properties as prior.
//! - A conflicting create adopts only what carries this stack's tags for its address.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Tag};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, OpContext, ProviderError, ResourceType, ValueMap};

use super::{filter, made_by_filters, prior_of, read_batched, tag_map};
use crate::aws::wait::{self, Wait};
use crate::aws::{import, join_all, tags, Clients, Kind};
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
        $call
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map(|pages: Vec<_>| {
                pages
                    .into_iter()
                    .flat_map(|p| p.$field.unwrap_or_default())
                    .collect()
            })
            .map_err($crate::aws::errors::ec2($op))
    };
}
pub(crate) use all_pages;

/// An EC2 type: how EC2 lists it, how one reads back, and its own create, update and delete.
#[async_trait]
pub(crate) trait Ec2Type: Sized + Send + Sync + 'static {
    fn schema(&self) -> ResourceType;

    /// One resource as Describe lists it.
    type Item: Ec2Item;
    /// The Describe filter selecting by id, e.g. `subnet-id`.
    const ID_FILTER: &'static str;
    /// What messages call one, e.g. `subnet`.
    const NOUN: &'static str;

    /// Every resource `filters` select, all pages.
    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<Self::Item>>;

    /// The attributes of `item` but its `tags`; `prior` gives the user's spelling of what EC2
    /// does not echo.
    fn attributes(&self, region: &str, item: &Self::Item, prior: Option<&ValueMap>) -> ValueMap;

    /// What a read adds to an observation that Describe does not say. Default: nothing.
    async fn complete(&self, _aws: &Clients, observed: Observed) -> Answer<Observed> {
        Ok(observed)
    }

    async fn create(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest)
        -> Answer<Observed>;

    async fn update(&self, aws: &Clients, ctx: &OpContext, req: &UpdateRequest)
        -> Answer<Observed>;

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()>;

    /// What an interrupted create made, found by its token, ready for dependents.
    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        match self
            .describe(aws, made_by_filters(ctx, &req.token))
            .await?
            .pop()
        {
            Some(item) => {
                let o = observe(self, aws, ctx, &item, Some(&req.properties));
                self.complete(aws, o).await.map(Some)
            }
            None => Ok(None),
        }
    }

    /// Where a create answered "already exists" looks for what it collided with (the filters
    /// of the place taken); `None`, the default, when a collision is never adopted.
    fn taken(&self, _properties: &ValueMap) -> Answer<Option<Vec<Filter>>> {
        Ok(None)
    }

    /// `hdh import`'s search: each candidate's id and what matched it. Default: this type
    /// cannot be searched for.
    async fn candidates(
        &self,
        _aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        Err(import::not_searchable(req))
    }
}

/// The resource `item` shows: its attributes, and of its tags its own ([`tags::own_view`]).
pub(crate) fn observe<T: Ec2Type>(
    t: &T,
    aws: &Clients,
    ctx: &OpContext,
    item: &T::Item,
    prior: Option<&ValueMap>,
) -> Observed {
    let mut attributes = t.attributes(&aws.region, item, prior);
    let all = tag_map(item.all_tags());
    let own = tags::own_view(ctx, &all, prior.unwrap_or(&ValueMap::new()));
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
    t.describe(aws, vec![filter(T::ID_FILTER, [id.to_string()])])
        .await?
        .pop()
        .ok_or_else(|| ProviderError::NotFound {
            message: format!("{} {id} not found", T::NOUN),
        })
}

/// The one resource with `id`, observed with `prior`.
pub(crate) async fn one<T: Ec2Type>(
    t: &T,
    aws: &Clients,
    ctx: &OpContext,
    id: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    Ok(observe(
        t,
        aws,
        ctx,
        &one_item(t, aws, id).await?,
        Some(prior),
    ))
}

/// [`one`], waited for while EC2 does not show a new resource yet (eventual consistency).
pub(crate) async fn once_visible<T: Ec2Type>(
    t: &T,
    aws: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
    id: &str,
) -> Answer<Observed> {
    let w = Wait {
        ctx,
        address: &req.address,
        verb: "creating",
        what: format!("{} {id} to be visible", T::NOUN),
        policy: aws.poll,
    };
    w.retrying(wait::not_yet_visible, || {
        one(t, aws, ctx, id, &req.properties)
    })
    .await
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
    fn schema(&self) -> ResourceType {
        self.0.schema()
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        read_batched(requests, |ids| async move {
            let items = self
                .0
                .describe(aws, vec![filter(T::ID_FILTER, ids)])
                .await?;
            let found = items.iter().map(|i| {
                let o = observe(&self.0, aws, ctx, i, prior_of(requests, i.id()));
                self.0.complete(aws, o)
            });
            join_all(found).await.into_iter().collect()
        })
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        self.0.create(aws, ctx, req).await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        self.0.update(aws, ctx, req).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        self.0.delete(aws, ctx, req).await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        self.0.find_created(aws, ctx, req).await
    }

    /// The resource in the place taken, if this stack made it for this address.
    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let Some(filters) = self.0.taken(&req.properties)? else {
            return Ok(None);
        };
        let items = self.0.describe(aws, filters).await?;
        Ok(items
            .iter()
            .find(|i| tags::made_for(&tag_map(i.all_tags()), ctx, &req.address, None))
            .map(|i| observe(&self.0, aws, ctx, i, Some(&req.properties))))
    }

    async fn candidates(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        self.0.candidates(aws, req).await
    }
}
