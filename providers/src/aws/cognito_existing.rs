//! `aws_cognito_existing_user_pool`: a user pool the site already runs (its auth stack's), read
//! as data. "Create" checks it exists and records it; refresh reads it again; delete only
//! forgets it: hdh never changes or deletes a pool it did not make. The domain, app client and
//! users hdh makes in it are ordinary resources of their own types.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::UserPoolType;
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::cognito::user_pool::{describe_pool, endpoint};
use super::describe::{self, Described};
use super::{Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct ExistingUserPool;

#[async_trait]
impl Described for ExistingUserPool {
    type Item = UserPoolType;
    const NOUN: &'static str = "user pool";

    async fn describe(&self, cx: Cx<'_>, id: &str, _: &ValueMap) -> Answer<Option<Self::Item>> {
        describe_pool(cx.aws, id).await
    }

    /// What the pool is called and where it answers; nothing of it is hdh's to change.
    fn observe(&self, cx: Cx<'_>, u: &UserPoolType, _: &ValueMap) -> Observed {
        let id = u.id().unwrap_or_default();
        let mut a = ValueMap::new();
        a.insert("user_pool_id".into(), Value::str(id));
        a.insert("name".into(), Value::str(u.name().unwrap_or_default()));
        a.insert("arn".into(), Value::str(u.arn().unwrap_or_default()));
        a.insert("endpoint".into(), endpoint(&cx.aws.region, id));
        Observed {
            id: id.to_string(),
            attributes: a,
        }
    }
}

#[async_trait]
impl Kind for ExistingUserPool {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let id = props::required_string(p, "user_pool_id")?;
        describe::read(self, cx, &id, p).await?.ok_or_else(|| {
            ProviderError::invalid(format!(
                "user pool {id} does not exist in {} (auth.cognito.user_pool_id names a pool the \
                 site already runs; leave it out and hdh makes one)",
                cx.aws.region
            ))
        })
    }

    async fn update(&self, _cx: Cx<'_>, _req: &UpdateRequest) -> Answer<Observed> {
        Err(ProviderError::Unsupported {
            message: "an existing user pool is read, never changed".into(),
        })
    }

    /// Forgets the pool; it stays as it is.
    async fn delete(&self, _cx: Cx<'_>, _req: &DeleteRequest) -> Answer<()> {
        Ok(())
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        describe::read(self, cx, &props::required_string(p, "user_pool_id")?, p).await
    }
}
