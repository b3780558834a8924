//! `aws_cognito_existing_user_pool`: a user pool the site already runs (its auth stack's), read
//! as data. "Create" checks it exists and records it; refresh reads it again; delete only
//! forgets it: hdh never changes or deletes a pool it did not make. The domain, app client and
//! users hdh makes in it are ordinary resources of their own types.

use async_trait::async_trait;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::errors::{absent_if_not_found, cognito as e};
use super::{Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_cognito_existing_user_pool";

pub(crate) struct ExistingUserPool;

async fn observe(aws: &Clients, id: &str) -> Found {
    let out = absent_if_not_found(
        aws.cognito
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .map_err(e("DescribeUserPool")),
    )?;
    let Some(u) = out.and_then(|o| o.user_pool) else {
        return Ok(None);
    };
    let mut a = ValueMap::new();
    a.insert("user_pool_id".into(), Value::str(id));
    a.insert("name".into(), Value::str(u.name().unwrap_or_default()));
    a.insert("arn".into(), Value::str(u.arn().unwrap_or_default()));
    a.insert(
        "endpoint".into(),
        Value::str(format!("cognito-idp.{}.amazonaws.com/{id}", aws.region)),
    );
    Ok(Some(Observed {
        id: id.to_string(),
        attributes: a,
    }))
}

#[async_trait]
impl Kind for ExistingUserPool {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "Read-only: a Cognito user pool that already exists; never changed or deleted.",
            vec![
                AttributeSpec::required("user_pool_id", ValueType::String)
                    .force_new()
                    .describe("The pool's id, e.g. us-east-1_AbCdEfGhI."),
                AttributeSpec::computed("name", ValueType::String),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("endpoint", ValueType::String),
            ],
        )
    }

    async fn read(&self, aws: &Clients, _ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| observe(aws, &r.id))).await
    }

    async fn create(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let id = props::required_string(&req.properties, "user_pool_id")?;
        observe(aws, &id).await?.ok_or_else(|| {
            ProviderError::invalid(format!(
                "user pool {id} does not exist in {} (auth.cognito.user_pool_id names a pool the \
                 site already runs; leave it out and hdh makes one)",
                aws.region
            ))
        })
    }

    async fn update(
        &self,
        _aws: &Clients,
        _ctx: &OpContext,
        _req: &UpdateRequest,
    ) -> Answer<Observed> {
        Err(ProviderError::Unsupported {
            message: "an existing user pool is read, never changed".into(),
        })
    }

    /// Forgets the pool; it stays as it is.
    async fn delete(&self, _aws: &Clients, _ctx: &OpContext, _req: &DeleteRequest) -> Answer<()> {
        Ok(())
    }

    async fn find_created(&self, aws: &Clients, _ctx: &OpContext, req: &CreateRequest) -> Found {
        let id = props::required_string(&req.properties, "user_pool_id")?;
        observe(aws, &id).await
    }
}
