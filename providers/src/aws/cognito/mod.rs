//! Cognito, the hub's login: `aws_cognito_user_pool` (`user_pool`), `aws_cognito_user_pool_domain`
//! (`domain`), `aws_cognito_user_pool_client` (`client`) and `aws_cognito_user` (`user`), and
//! the helpers they share.
//!
//! Cognito has no batch describe: refresh is one call per resource, run concurrently.

pub(crate) mod client;
pub(crate) mod domain;
pub(crate) mod user;
pub(crate) mod user_pool;

pub(crate) use client::Client;
pub(crate) use domain::Domain;
pub(crate) use user::User;
pub(crate) use user_pool::UserPool;

use hdh_engine::ProviderError;

fn gone(what: &str, id: &str) -> ProviderError {
    ProviderError::NotFound {
        message: format!("{what} {id} is gone"),
    }
}
