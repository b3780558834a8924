//! `aws_cognito_user_pool_domain`: the hosted UI at `<prefix>.auth.<region>.amazoncognito.com`.

use async_trait::async_trait;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use crate::aws::describe::{self, done, Described};
use crate::aws::errors::cognito as e;
use crate::aws::{Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Domain;

#[async_trait]
impl Described for Domain {
    /// The domain and the pool it belongs to.
    type Item = (String, String);
    const NOUN: &'static str = "user pool domain";

    async fn describe(&self, cx: Cx<'_>, domain: &str, _: &ValueMap) -> Answer<Option<Self::Item>> {
        let call = cx
            .aws
            .cognito
            .describe_user_pool_domain()
            .domain(domain)
            .send();
        Ok(describe::found(call, e("DescribeUserPoolDomain"))
            .await?
            .and_then(|o| o.domain_description)
            .and_then(|d| Some((d.domain?, d.user_pool_id?)))
            // Cognito describes a domain that does not exist as an empty description.
            .filter(|(d, pool)| !d.is_empty() && !pool.is_empty()))
    }

    fn observe(&self, cx: Cx<'_>, (domain, pool): &(String, String), _: &ValueMap) -> Observed {
        let mut a = ValueMap::new();
        a.insert("domain".into(), Value::str(domain));
        a.insert("user_pool_id".into(), Value::str(pool));
        let fqdn = format!("{domain}.auth.{}.amazoncognito.com", cx.aws.region);
        a.insert("fqdn".into(), Value::str(fqdn));
        Observed {
            id: domain.to_string(),
            attributes: a,
        }
    }
}

#[async_trait]
impl Kind for Domain {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let domain = props::required_string(&req.properties, "domain")?;
        let pool = props::required_string(&req.properties, "user_pool_id")?;
        let call = cx.aws.cognito.create_user_pool_domain().domain(&domain);
        done(call.user_pool_id(&pool).send(), e("CreateUserPoolDomain")).await?;
        Ok(self.observe(cx, &(domain, pool), &req.properties))
    }

    async fn update(&self, _cx: Cx<'_>, _req: &UpdateRequest) -> Answer<Observed> {
        Err(ProviderError::Unsupported {
            message: "every attribute of a user pool domain forces a replacement".into(),
        })
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let pool = props::required_string(&req.prior, "user_pool_id")?;
        let call = cx.aws.cognito.delete_user_pool_domain().domain(&req.id);
        match done(call.user_pool_id(pool).send(), e("DeleteUserPoolDomain")).await {
            // Cognito answers InvalidParameter for a domain that no longer exists.
            Err(ProviderError::InvalidInput { .. })
                if self.describe(cx, &req.id, &req.prior).await?.is_none() =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        let domain = props::required_string(p, "domain")?;
        let pool = props::required_string(p, "user_pool_id")?;
        Ok(describe::read(self, cx, &domain, p).await?.filter(|o| {
            o.attributes.get("user_pool_id").and_then(Value::as_str) == Some(pool.as_str())
        }))
    }

    /// The domain is already this pool's (the pool is the stack's): adopted.
    async fn find_existing(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        Kind::find_created(self, cx, req).await
    }

    /// `hdh import`: named by its prefix.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "domain")
    }
}
