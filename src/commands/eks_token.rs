//! `hdh eks-token --cluster NAME --region R`: the exec credential of the kubeconfigs hdh writes.
//! Prints one `ExecCredential` JSON document (the token inside is a credential: nothing else
//! is printed, and it is never logged).

use std::time::SystemTime;

use hdh_providers::aws::eks_token;

use crate::exit::{Exit, UserError};

pub async fn run(cluster: &str, region: &str) -> anyhow::Result<Exit> {
    let token = eks_token::token(region, cluster).await.map_err(|e| {
        UserError::new(e.to_string())
            .hint("set AWS credentials (env, profile, SSO or instance role)")
    })?;
    println!("{}", eks_token::exec_credential(&token, SystemTime::now()));
    Ok(Exit::Ok)
}
