//! `aws_cognito_user`: an admin invited by email. Cognito makes and mails the temporary
//! password, so no password ever passes through hdh.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, DeliveryMediumType};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use crate::aws::describe::{self, done, Described};
use crate::aws::errors::cognito as e;
use crate::aws::{Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct User;

fn build_err(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::other(err.to_string())
}

/// The id of the user `p` names: `pool/username`.
fn id_of(p: &ValueMap) -> Answer<String> {
    let s = |k: &str| props::required_string(p, k);
    Ok(format!("{}/{}", s("user_pool_id")?, s("username")?))
}

/// A user is `pool/username` (pool ids hold no `/`).
fn split_id(id: &str) -> Answer<(&str, &str)> {
    id.split_once('/')
        .ok_or_else(|| ProviderError::invalid(format!("bad Cognito user id `{id}`")))
}

fn email_attrs(email: &str) -> Answer<Vec<AttributeType>> {
    Ok(vec![
        AttributeType::builder()
            .name("email")
            .value(email)
            .build()
            .map_err(build_err)?,
        AttributeType::builder()
            .name("email_verified")
            .value("true")
            .build()
            .map_err(build_err)?,
    ])
}

#[async_trait]
impl Described for User {
    /// The pool and what AdminGetUser says of the user in it.
    type Item = (String, AdminGetUserOutput);
    const NOUN: &'static str = "user";

    async fn describe(&self, cx: Cx<'_>, id: &str, _: &ValueMap) -> Answer<Option<Self::Item>> {
        let (pool, name) = split_id(id)?;
        let call = cx
            .aws
            .cognito
            .admin_get_user()
            .user_pool_id(pool)
            .username(name);
        let got = describe::found(call.send(), e("AdminGetUser")).await?;
        Ok(got.map(|u| (pool.to_string(), u)))
    }

    fn observe(&self, _cx: Cx<'_>, (pool, u): &Self::Item, _: &ValueMap) -> Observed {
        let email = u
            .user_attributes()
            .iter()
            .find(|a| a.name() == "email")
            .and_then(|a| a.value())
            .unwrap_or_default();
        let mut a = ValueMap::new();
        a.insert("user_pool_id".into(), Value::str(pool));
        a.insert("username".into(), Value::str(u.username()));
        a.insert("email".into(), Value::str(email));
        let status = u.user_status().map_or("", |s| s.as_str());
        a.insert("status".into(), Value::str(status));
        Observed {
            id: format!("{pool}/{}", u.username()),
            attributes: a,
        }
    }
}

#[async_trait]
impl Kind for User {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let id = id_of(p)?;
        let (pool, username) = split_id(&id)?;
        let email = props::required_string(p, "email")?;
        let call = cx
            .aws
            .cognito
            .admin_create_user()
            .user_pool_id(pool)
            .username(username)
            .set_user_attributes(Some(email_attrs(&email)?))
            .desired_delivery_mediums(DeliveryMediumType::Email);
        match done(call.send(), e("AdminCreateUser")).await {
            // The admin exists already (a retried create, or made by hand): adopt it.
            Ok(()) | Err(ProviderError::Conflict { .. }) => {}
            Err(err) => return Err(err),
        }
        describe::one(self, cx, &id, p).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let (pool, name) = split_id(&req.id)?;
        let email = props::required_string(&req.properties, "email")?;
        let call = cx
            .aws
            .cognito
            .admin_update_user_attributes()
            .user_pool_id(pool);
        let call = call
            .username(name)
            .set_user_attributes(Some(email_attrs(&email)?));
        done(call.send(), e("AdminUpdateUserAttributes")).await?;
        describe::one(self, cx, &req.id, &req.properties).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let (pool, name) = split_id(&req.id)?;
        let call = cx
            .aws
            .cognito
            .admin_delete_user()
            .user_pool_id(pool)
            .username(name);
        done(call.send(), e("AdminDeleteUser")).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        let id = id_of(p)?;
        describe::read(self, cx, &id, p).await
    }

    /// `UsernameExistsException` in a pool of this stack's: that user is adopted.
    async fn find_existing(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        Kind::find_created(self, cx, req).await
    }

    /// `hdh import`: named by its pool and username.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        let s = |k: &str| props::string(p, k);
        Ok(s("user_pool_id")?
            .zip(s("username")?)
            .map(|(a, b)| format!("{a}/{b}")))
    }
}
