//! IAM: `aws_iam_role` (`role`) and `aws_iam_openid_connect_provider` (`oidc_provider`), and
//! the tag conversions both use. IAM is global; its names are unique in the account, so an
//! interrupted create is found by name and token tag.

pub(crate) mod oidc_provider;
pub(crate) mod role;

pub(crate) use oidc_provider::OidcProvider;
pub(crate) use role::Role;

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;

fn iam_tags(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn tag_map(t: &[Tag]) -> BTreeMap<String, String> {
    t.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}
