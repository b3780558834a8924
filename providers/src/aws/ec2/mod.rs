//! EC2 network resources, each type an [`kind::Ec2Type`] served by [`Ec2`]. Shared here: tag
//! specifications, id filters, batched reads (one Describe per page of up to [`IDS_PER_CALL`]
//! ids, by filter so a vanished id never fails the batch), tag sync on update, and the filters
//! that find an interrupted create by its `hdh:` tags.

pub(crate) mod blockers;
pub(crate) mod eip;
pub(crate) mod internet_gateway;
pub(crate) mod kind;
pub(crate) mod lifecycle;
pub(crate) mod nat_gateway;
pub(crate) mod pvc_volumes;
pub(crate) mod route_table;
pub(crate) mod security_group;
pub(crate) mod subnet;
pub(crate) mod vpc;

pub(crate) use kind::Ec2;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use aws_sdk_ec2::types::{Filter, ResourceType as Ec2Type, Tag, TagSpecification};
use hdh_engine::provider::{CreateRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::describe::{all_failed, done};
use super::errors::ec2 as e;
use super::tags;
use super::Cx;
use crate::{Answer, Found};

/// EC2 accepts up to 200 values per filter.
pub(crate) const IDS_PER_CALL: usize = 200;

pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

/// The tags a create of `ty` for `req` sets in the same call (so nothing it makes is ever
/// untagged): the stack's, its own, and the `hdh:` tags with the create's token.
pub(crate) fn create_tags(
    ctx: &OpContext,
    req: &CreateRequest,
    ty: Ec2Type,
) -> Answer<TagSpecification> {
    let tags = tags::for_create(ctx, &req.address, &req.token, &req.properties)?;
    Ok(TagSpecification::builder()
        .resource_type(ty)
        .set_tags(Some(tag_list(&tags)))
        .build())
}

/// Sends an EC2 create call (`$call`, with the type's own inputs set), tagging what it makes
/// in the same call with this create's `hdh:` tags (how an interrupted create is found again
/// and what adoption checks), and answers the call's output, its error classified:
/// `create_tagged!(call, cx, req, ResourceType::Subnet, "CreateSubnet")`.
macro_rules! create_tagged {
    ($call:expr, $cx:expr, $req:expr, $tagged:expr, $op:literal) => {
        $call
            .tag_specifications($crate::aws::ec2::create_tags($cx.op, $req, $tagged)?)
            .send()
            .await
            .map_err($crate::aws::errors::ec2($op))
    };
}
pub(crate) use create_tagged;

/// What a create call answered for what it made (`what`, e.g. "no id"), or an error naming
/// the call (`op`) when it answered nothing.
pub(crate) fn answered<T>(found: Option<T>, op: &str, what: &str) -> Answer<T> {
    found.ok_or_else(|| ProviderError::other(format!("{op} returned {what}")))
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The filters that find what one create made: its `hdh:token` tag (a UUID, unique per create
/// attempt and set atomically by the create's TagSpecifications) and the stack's tag.
///
/// Never a filter on `hdh:address`: addresses hold `[`, `]` and `"`, and a filter value is a
/// pattern (`*` and `?` are wildcards on AWS, and other implementations treat more characters
/// specially), so recovery searches only by values made of letters, digits and hyphens.
pub(crate) fn made_by_filters(ctx: &OpContext, token: &str) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{}", tags::TOKEN_TAG), [token.to_string()]),
        filter(&format!("tag:{}", tags::STACK_TAG), [ctx.stack.clone()]),
    ]
}

/// Brings one resource's tags to what `req` asks for (CreateTags, then DeleteTags if keys went).
pub(crate) async fn sync_tags(cx: Cx<'_>, req: &UpdateRequest) -> Answer<()> {
    let id = &req.id;
    tags::sync(
        tags::changes(cx.op, req)?,
        |set| {
            let call = cx.aws.ec2.create_tags().resources(id);
            done(call.set_tags(Some(tag_list(&set))).send(), e("CreateTags"))
        },
        |keys| {
            let keys = keys.iter().map(|k| Tag::builder().key(k).build());
            let call = cx.aws.ec2.delete_tags().resources(id);
            done(call.set_tags(Some(keys.collect())).send(), e("DeleteTags"))
        },
    )
    .await
}

/// A batched read: `describe` gets the observed resources of a chunk of ids (one paged call);
/// each request gets its resource or `None`.
pub(crate) async fn read_batched<F, Fut>(requests: &[ReadRequest], describe: F) -> Vec<Found>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Answer<Vec<Observed>>>,
{
    let ids: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
    let mut found: HashMap<String, Observed> = HashMap::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        match describe(chunk.to_vec()).await {
            Ok(items) => found.extend(items.into_iter().map(|o| (o.id.clone(), o))),
            Err(err) => return all_failed(requests, &err),
        }
    }
    requests.iter().map(|r| Ok(found.remove(&r.id))).collect()
}

/// Prior of the request whose id is `id` (reads need the user's spelling of some inputs).
pub(crate) fn prior_of<'a>(requests: &'a [ReadRequest], id: &str) -> Option<&'a ValueMap> {
    requests.iter().find(|r| r.id == id).map(|r| &r.prior)
}

/// An attribute map starting from the inputs EC2 does not describe (kept as last known).
pub(crate) fn carried(prior: Option<&ValueMap>, names: &[&str]) -> ValueMap {
    let mut a = ValueMap::new();
    if let Some(p) = prior {
        for n in names {
            if let Some(v) = p.get(*n) {
                a.insert((*n).to_string(), v.unmarked());
            }
        }
    }
    a
}

pub(crate) fn put(a: &mut ValueMap, k: &str, v: impl Into<Value>) {
    a.insert(k.to_string(), v.into());
}

pub(crate) fn opt_str(a: &mut ValueMap, k: &str, v: Option<&str>) {
    a.insert(k.to_string(), v.map_or(Value::Null, Value::str));
}
