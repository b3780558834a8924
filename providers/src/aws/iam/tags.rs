//! IAM's tags, for both IAM kinds: the SDK's `Tag` list as hdh's map and back, and the tag sync
//! of an update (TagRole/UntagRole for a role, TagOpenIDConnectProvider/UntagOpenIDConnectProvider
//! for an OIDC provider), written once.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use hdh_engine::provider::UpdateRequest;

use crate::aws::describe::done;
use crate::aws::errors::iam as e;
use crate::aws::{tags, Cx};
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
    tags::sync(
        tags::changes(cx.op, req)?,
        |set| async move {
            let set = Some(to_sdk(&set));
            match what {
                Tagged::Role(name) => {
                    let call = cx.aws.iam.tag_role().role_name(name).set_tags(set);
                    done(call.send(), e("TagRole")).await
                }
                Tagged::OidcProvider(arn) => {
                    let call = cx.aws.iam.tag_open_id_connect_provider();
                    let call = call.open_id_connect_provider_arn(arn).set_tags(set);
                    done(call.send(), e("TagOpenIDConnectProvider")).await
                }
            }
        },
        |keys| async move {
            let keys = Some(keys);
            match what {
                Tagged::Role(name) => {
                    let call = cx.aws.iam.untag_role().role_name(name).set_tag_keys(keys);
                    done(call.send(), e("UntagRole")).await
                }
                Tagged::OidcProvider(arn) => {
                    let call = cx.aws.iam.untag_open_id_connect_provider();
                    let call = call.open_id_connect_provider_arn(arn).set_tag_keys(keys);
                    done(call.send(), e("UntagOpenIDConnectProvider")).await
                }
            }
        },
    )
    .await
}
