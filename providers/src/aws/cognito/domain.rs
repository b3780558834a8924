//! `aws_cognito_user_pool_domain`: the hosted UI at `<prefix>.auth.<region>.amazoncognito.com`.

use async_trait::async_trait;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use crate::aws::errors::{absent_if_not_found, cognito as e};
use crate::aws::{Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Domain;

async fn describe_domain(aws: &Clients, domain: &str) -> Answer<Option<(String, String)>> {
    let out = aws
        .cognito
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .map_err(e("DescribeUserPoolDomain"));
    Ok(absent_if_not_found(out)?
        .and_then(|o| o.domain_description)
        .and_then(|d| Some((d.domain?, d.user_pool_id?)))
        .filter(|(d, pool)| !d.is_empty() && !pool.is_empty()))
}

fn domain_observed(region: &str, domain: &str, pool: &str) -> Observed {
    let mut a = ValueMap::new();
    a.insert("domain".into(), Value::str(domain));
    a.insert("user_pool_id".into(), Value::str(pool));
    a.insert(
        "fqdn".into(),
        Value::str(format!("{domain}.auth.{region}.amazoncognito.com")),
    );
    Observed {
        id: domain.to_string(),
        attributes: a,
    }
}

#[async_trait]
impl Kind for Domain {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            "aws_cognito_user_pool_domain",
            "The hosted login domain of a user pool: <domain>.auth.<region>.amazoncognito.com.",
            vec![
                AttributeSpec::required("domain", ValueType::String)
                    .force_new()
                    .describe("The prefix: lowercase letters, digits and hyphens."),
                AttributeSpec::required("user_pool_id", ValueType::String).force_new(),
                AttributeSpec::computed("fqdn", ValueType::String),
            ],
        )
    }

    async fn read(&self, aws: &Clients, _ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        crate::aws::join_all(requests.iter().map(|r| async {
            Ok(describe_domain(aws, &r.id)
                .await?
                .map(|(d, pool)| domain_observed(&aws.region, &d, &pool)))
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let domain = props::required_string(&req.properties, "domain")?;
        let pool = props::required_string(&req.properties, "user_pool_id")?;
        aws.cognito
            .create_user_pool_domain()
            .domain(&domain)
            .user_pool_id(&pool)
            .send()
            .await
            .map_err(e("CreateUserPoolDomain"))?;
        Ok(domain_observed(&aws.region, &domain, &pool))
    }

    async fn update(
        &self,
        _aws: &Clients,
        _ctx: &OpContext,
        _req: &UpdateRequest,
    ) -> Answer<Observed> {
        Err(ProviderError::Unsupported {
            message: "every attribute of a user pool domain forces a replacement".into(),
        })
    }

    async fn delete(&self, aws: &Clients, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let pool = props::required_string(&req.prior, "user_pool_id")?;
        let r = aws
            .cognito
            .delete_user_pool_domain()
            .domain(&req.id)
            .user_pool_id(pool)
            .send()
            .await
            .map(drop)
            .map_err(e("DeleteUserPoolDomain"));
        match r {
            // Cognito answers InvalidParameter for a domain that no longer exists.
            Err(ProviderError::InvalidInput { .. })
                if describe_domain(aws, &req.id).await?.is_none() =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn find_created(&self, aws: &Clients, _ctx: &OpContext, req: &CreateRequest) -> Found {
        let domain = props::required_string(&req.properties, "domain")?;
        let pool = props::required_string(&req.properties, "user_pool_id")?;
        Ok(describe_domain(aws, &domain)
            .await?
            .filter(|(_, p)| *p == pool)
            .map(|(d, p)| domain_observed(&aws.region, &d, &p)))
    }

    /// The domain is already this pool's (the pool is the stack's): adopted.
    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        self.find_created(aws, ctx, req).await
    }

    /// `hdh import`: named by its prefix.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "domain")
    }
}
