//! IAM's tags, for both IAM kinds: the SDK's `Tag` list as hdh's map and back, and the tag sync
//! of an update (TagRole/UntagRole for a role, TagOpenIDConnectProvider/UntagOpenIDConnectProvider
//! for an OIDC provider), through the providers' one `sync_tags!`.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use hdh_engine::provider::UpdateRequest;

use crate::aws::errors::iam as e;
use crate::aws::tags::{self, sync_tags};
use crate::aws::Cx;
use crate::Answer;

/// What IAM tags: a role by its name, an OIDC provider by its ARN.
#[derive(Clone, Copy)]
pub(crate) enum Tagged<'a> {
    Role(&'a str),
    OidcProvider(&'a str),
}

/// hdh's tags as IAM takes them.
pub(crate) fn to_sdk(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// The tags IAM reports, as hdh keeps them.
pub(crate) fn of(t: &[Tag]) -> BTreeMap<String, String> {
    t.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Brings `what`'s tags to what `req` asks for.
pub(crate) async fn sync(cx: Cx<'_>, req: &UpdateRequest, what: Tagged<'_>) -> Answer<()> {
    let changes = tags::changes(cx.op, req)?;
    match what {
        Tagged::Role(name) => {
            sync_tags!(
                changes,
                cx.aws.iam,
                tag_role / untag_role("TagRole", "UntagRole"),
                role_name(name),
                to_sdk
            )
            .await
        }
        Tagged::OidcProvider(arn) => {
            sync_tags!(
                changes,
                cx.aws.iam,
                tag_open_id_connect_provider
                    / untag_open_id_connect_provider(
                        "TagOpenIDConnectProvider",
                        "UntagOpenIDConnectProvider"
                    ),
                open_id_connect_provider_arn(arn),
                to_sdk
            )
            .await
        }
    }
}
