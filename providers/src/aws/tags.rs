//! The tags hdh puts on what it creates: the stack's tags, the resource's own `tags`, and the
//! `hdh:stack`/`hdh:address`/`hdh:token` tags that let an interrupted create be found again.
//! Reads show only the resource's own tags, so hdh's bookkeeping never looks like drift.

use std::collections::BTreeMap;

use std::future::Future;

use hdh_engine::provider::UpdateRequest;
use hdh_engine::{OpContext, Value, ValueMap};

use crate::props;
use crate::Answer;

/// Tag holding the idempotency token of the create that made the resource.
pub(crate) const TOKEN_TAG: &str = "hdh:token";
pub(crate) const ADDRESS_TAG: &str = "hdh:address";
pub(crate) const STACK_TAG: &str = "hdh:stack";

/// The `tags` property (string → string), empty when unset.
pub(crate) fn user_tags(properties: &ValueMap) -> Answer<BTreeMap<String, String>> {
    props::string_map(properties, "tags")
}

/// Everything a resource should carry: stack tags, `hdh:` tags, then its own tags.
pub(crate) fn desired(
    ctx: &OpContext,
    address: &str,
    properties: &ValueMap,
) -> Answer<BTreeMap<String, String>> {
    let mut t = ctx.tags_for(address);
    t.extend(user_tags(properties)?);
    Ok(t)
}

/// [`desired`] plus the create's token.
pub(crate) fn for_create(
    ctx: &OpContext,
    address: &str,
    token: &str,
    properties: &ValueMap,
) -> Answer<BTreeMap<String, String>> {
    let mut t = desired(ctx, address, properties)?;
    t.insert(TOKEN_TAG.into(), token.into());
    Ok(t)
}

/// The resource's own tags out of all it carries: without `hdh:` tags and without stack tags
/// (unless the resource sets that key itself, as `prior` shows).
pub(crate) fn own_view(ctx: &OpContext, all: &BTreeMap<String, String>, prior: &ValueMap) -> Value {
    let prior_own = user_tags(prior).unwrap_or_default();
    Value::Map(
        all.iter()
            .filter(|(k, _)| !k.starts_with("hdh:"))
            .filter(|(k, v)| prior_own.contains_key(*k) || ctx.tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect(),
    )
}

/// What an update must set and remove to go from the `prior` own tags to the new ones.
pub(crate) struct TagChanges {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

pub(crate) fn changes(ctx: &OpContext, req: &UpdateRequest) -> Answer<TagChanges> {
    let set = desired(ctx, &req.address, &req.properties)?;
    let remove = user_tags(&req.prior)?
        .into_keys()
        .filter(|k| !set.contains_key(k))
        .collect();
    Ok(TagChanges { set, remove })
}

/// Applies `ch` the way every AWS service takes tag changes: one call setting all the tags
/// (hdh's own too, so a lost one comes back), then one removing the keys that went, only when
/// some did (services refuse an empty removal).
pub(crate) async fn sync<S, R>(
    ch: TagChanges,
    set: impl FnOnce(BTreeMap<String, String>) -> S,
    remove: impl FnOnce(Vec<String>) -> R,
) -> Answer<()>
where
    S: Future<Output = Answer<()>>,
    R: Future<Output = Answer<()>>,
{
    set(ch.set).await?;
    if !ch.remove.is_empty() {
        remove(ch.remove).await?;
    }
    Ok(())
}

/// [`sync`] through a service's pair of tag calls, for the services whose calls take the same
/// shape (their SDK clients share no trait): a set call taking `set_tags(list)` and an unset
/// call taking `set_tag_keys(keys)`, both addressed by one setter (`$target($id)`).
/// `$tag_list` builds the service's tag list; the calling module's `e` classifies the errors,
/// as it does for every other call of that service.
///
/// EKS, Cognito, EFS and KMS name the pair TagResource/UntagResource:
/// `sync_tags!(changes, cx.aws.kms, key_id(&id), kms_tags)`. IAM names it per kind:
/// `sync_tags!(changes, cx.aws.iam, tag_role / untag_role ("TagRole", "UntagRole"),
/// role_name(name), iam_tags)`.
macro_rules! sync_tags {
    ($changes:expr, $client:expr, $target:ident($id:expr), $tag_list:expr) => {
        $crate::aws::tags::sync_tags!(
            $changes,
            $client,
            tag_resource / untag_resource("TagResource", "UntagResource"),
            $target($id),
            $tag_list
        )
    };
    ($changes:expr, $client:expr, $tag:ident / $untag:ident($tag_op:literal, $untag_op:literal), $target:ident($id:expr), $tag_list:expr) => {
        $crate::aws::tags::sync(
            $changes,
            |set| {
                let call = $client.$tag().$target($id);
                $crate::aws::describe::done(call.set_tags(Some($tag_list(&set))).send(), e($tag_op))
            },
            |keys| {
                let call = $client.$untag().$target($id);
                $crate::aws::describe::done(call.set_tag_keys(Some(keys)).send(), e($untag_op))
            },
        )
    };
}
pub(crate) use sync_tags;

/// Whether a resource's tags say it was made by this create (token) of this address.
pub(crate) fn made_by(
    all: &BTreeMap<String, String>,
    ctx: &OpContext,
    address: &str,
    token: &str,
) -> bool {
    made_for(all, ctx, address, Some(token))
}

/// Whether a resource's tags say this stack made it for this address: by the create with
/// `token` when one is given (finding an interrupted create), by any create of this stack's
/// when not (adopting what a create answered "already exists" about).
pub(crate) fn made_for(
    all: &BTreeMap<String, String>,
    ctx: &OpContext,
    address: &str,
    token: Option<&str>,
) -> bool {
    all.get(ADDRESS_TAG).map(String::as_str) == Some(address)
        && all.get(STACK_TAG) == Some(&ctx.stack)
        && token.is_none_or(|t| all.get(TOKEN_TAG).map(String::as_str) == Some(t))
}
