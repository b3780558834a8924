//! IAM: `aws_iam_role` (`role`) and `aws_iam_openid_connect_provider` (`oidc_provider`), and
//! the tags both carry (`tags`). IAM is global; its names are unique in the account, so an
//! interrupted create is found by name and token tag.

pub(crate) mod oidc_provider;
pub(crate) mod role;
pub(crate) mod tags;

pub(crate) use oidc_provider::OidcProvider;
pub(crate) use role::Role;
