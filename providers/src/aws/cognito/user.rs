//! `aws_cognito_user`: an admin invited by email. Cognito makes and mails the temporary
//! password, so no password ever passes through hdh.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, DeliveryMediumType};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::gone;
use crate::aws::errors::{absent_if_not_found, cognito as e};
use crate::aws::{Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct User;

fn build_err(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::other(err.to_string())
}

fn user_id(pool: &str, username: &str) -> String {
    format!("{pool}/{username}")
}

async fn get_user(aws: &Clients, pool: &str, username: &str) -> Found {
    let out = aws
        .cognito
        .admin_get_user()
        .user_pool_id(pool)
        .username(username)
        .send()
        .await
        .map_err(e("AdminGetUser"));
    Ok(absent_if_not_found(out)?.map(|u| {
        let email = u
            .user_attributes()
            .iter()
            .find(|a| a.name() == "email")
            .and_then(|a| a.value())
            .unwrap_or_default()
            .to_string();
        let mut a = ValueMap::new();
        a.insert("user_pool_id".into(), Value::str(pool));
        a.insert("username".into(), Value::str(u.username()));
        a.insert("email".into(), Value::str(email));
        a.insert(
            "status".into(),
            Value::str(u.user_status().map_or("", |s| s.as_str())),
        );
        Observed {
            id: user_id(pool, u.username()),
            attributes: a,
        }
    }))
}

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
impl Kind for User {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            "aws_cognito_user",
            "A user of a pool, invited by email (Cognito mails the temporary password).",
            vec![
                AttributeSpec::required("user_pool_id", ValueType::String).force_new(),
                AttributeSpec::required("username", ValueType::String).force_new(),
                AttributeSpec::required("email", ValueType::String),
                AttributeSpec::computed("status", ValueType::String)
                    .describe("e.g. FORCE_CHANGE_PASSWORD until the first login."),
            ],
        )
    }

    async fn read(&self, aws: &Clients, _ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        crate::aws::join_all(requests.iter().map(|r| async {
            let (pool, name) = split_id(&r.id)?;
            get_user(aws, pool, name).await
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let pool = props::required_string(p, "user_pool_id")?;
        let username = props::required_string(p, "username")?;
        let email = props::required_string(p, "email")?;
        match aws
            .cognito
            .admin_create_user()
            .user_pool_id(&pool)
            .username(&username)
            .set_user_attributes(Some(email_attrs(&email)?))
            .desired_delivery_mediums(DeliveryMediumType::Email)
            .send()
            .await
            .map_err(e("AdminCreateUser"))
        {
            // The admin exists already (a retried create, or made by hand): adopt it.
            Ok(_) | Err(ProviderError::Conflict { .. }) => {}
            Err(err) => return Err(err),
        }
        get_user(aws, &pool, &username)
            .await?
            .ok_or_else(|| gone("user", &username))
    }

    async fn update(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let (pool, name) = split_id(&req.id)?;
        let email = props::required_string(&req.properties, "email")?;
        aws.cognito
            .admin_update_user_attributes()
            .user_pool_id(pool)
            .username(name)
            .set_user_attributes(Some(email_attrs(&email)?))
            .send()
            .await
            .map_err(e("AdminUpdateUserAttributes"))?;
        get_user(aws, pool, name)
            .await?
            .ok_or_else(|| gone("user", name))
    }

    async fn delete(&self, aws: &Clients, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let (pool, name) = split_id(&req.id)?;
        aws.cognito
            .admin_delete_user()
            .user_pool_id(pool)
            .username(name)
            .send()
            .await
            .map(drop)
            .map_err(e("AdminDeleteUser"))
    }

    async fn find_created(&self, aws: &Clients, _ctx: &OpContext, req: &CreateRequest) -> Found {
        let pool = props::required_string(&req.properties, "user_pool_id")?;
        let username = props::required_string(&req.properties, "username")?;
        get_user(aws, &pool, &username).await
    }

    /// `UsernameExistsException` in a pool of this stack's: that user is adopted.
    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        self.find_created(aws, ctx, req).await
    }

    /// `hdh import`: named by its pool and username.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        let s = |k: &str| props::string(p, k);
        Ok(s("user_pool_id")?
            .zip(s("username")?)
            .map(|(a, b)| format!("{a}/{b}")))
    }
}
