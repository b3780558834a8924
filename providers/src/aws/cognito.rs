//! Cognito, the hub's login: `aws_cognito_user_pool` (email required, no self sign-up),
//! `aws_cognito_user_pool_domain` (the hosted UI at `<prefix>.auth.<region>.amazoncognito.com`),
//! `aws_cognito_user_pool_client` (code flow with a client secret, which is a sensitive computed
//! attribute) and `aws_cognito_user` (an admin invited by email: Cognito makes and mails the
//! temporary password, so no password ever passes through hdh).
//!
//! Cognito has no batch describe: refresh is one call per resource, run concurrently.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, AttributeType, DeliveryMediumType, OAuthFlowType,
    SchemaAttributeType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType, UserPoolType,
    VerifiedAttributeType,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::errors::{absent_if_not_found, cognito as e};
use super::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct UserPool;
pub(crate) struct Domain;
pub(crate) struct Client;
pub(crate) struct User;

fn strings() -> ValueType {
    ValueType::List(Box::new(ValueType::String))
}

fn build_err(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::other(err.to_string())
}

fn gone(what: &str, id: &str) -> ProviderError {
    ProviderError::NotFound {
        message: format!("{what} {id} is gone"),
    }
}

// ---- user pool ----

fn pool_observed(ctx: &OpContext, region: &str, u: &UserPoolType, prior: &ValueMap) -> Observed {
    let id = u.id().unwrap_or_default().to_string();
    let mut a = ValueMap::new();
    a.insert("name".into(), Value::str(u.name().unwrap_or_default()));
    a.insert(
        "admin_create_user_only".into(),
        Value::Bool(
            u.admin_create_user_config()
                .map(|c| c.allow_admin_create_user_only())
                .unwrap_or(false),
        ),
    );
    let all: BTreeMap<String, String> = u
        .user_pool_tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    a.insert("tags".into(), tags::own_view(ctx, &all, prior));
    a.insert("arn".into(), Value::str(u.arn().unwrap_or_default()));
    a.insert(
        "endpoint".into(),
        Value::str(format!("cognito-idp.{region}.amazonaws.com/{id}")),
    );
    Observed { id, attributes: a }
}

async fn describe_pool(aws: &Clients, id: &str) -> Answer<Option<UserPoolType>> {
    let out = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
        .map_err(e("DescribeUserPool"));
    Ok(absent_if_not_found(out)?.and_then(|o| o.user_pool))
}

#[async_trait]
impl Kind for UserPool {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            "aws_cognito_user_pool",
            "A Cognito user pool: email required, users created by admins only.",
            vec![
                AttributeSpec::required("name", ValueType::String).force_new(),
                AttributeSpec::optional(
                    "admin_create_user_only",
                    ValueType::Bool,
                    Some(Value::Bool(true)),
                )
                .describe("No self sign-up: only admins create users."),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("endpoint", ValueType::String),
            ],
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| async {
            Ok(describe_pool(aws, &r.id)
                .await?
                .map(|u| pool_observed(ctx, &aws.region, &u, &r.prior)))
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let t: HashMap<String, String> = tags::for_create(ctx, &req.address, &req.token, p)?
            .into_iter()
            .collect();
        let email = SchemaAttributeType::builder()
            .name("email")
            .attribute_data_type(AttributeDataType::String)
            .required(true)
            .mutable(true)
            .build();
        let out = aws
            .cognito
            .create_user_pool()
            .pool_name(props::required_string(p, "name")?)
            .schema(email)
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(
                        props::boolean(p, "admin_create_user_only")?.unwrap_or(true),
                    )
                    .build(),
            )
            .set_user_pool_tags(Some(t))
            .send()
            .await
            .map_err(e("CreateUserPool"))?;
        let u = out
            .user_pool
            .ok_or_else(|| ProviderError::other("CreateUserPool returned no pool"))?;
        Ok(pool_observed(ctx, &aws.region, &u, p))
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("admin_create_user_only") {
            aws.cognito
                .update_user_pool()
                .user_pool_id(&req.id)
                .auto_verified_attributes(VerifiedAttributeType::Email)
                .admin_create_user_config(
                    AdminCreateUserConfigType::builder()
                        .allow_admin_create_user_only(
                            props::boolean(p, "admin_create_user_only")?.unwrap_or(true),
                        )
                        .build(),
                )
                .send()
                .await
                .map_err(e("UpdateUserPool"))?;
        }
        if changed("tags") {
            let arn = &props::string(&req.prior, "arn")?.unwrap_or_default();
            tags::sync(
                tags::changes(ctx, req)?,
                |set| async move {
                    aws.cognito
                        .tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(set.into_iter().collect()))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("TagResource"))
                },
                |keys| async move {
                    aws.cognito
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("UntagResource"))
                },
            )
            .await?;
        }
        let u = describe_pool(aws, &req.id)
            .await?
            .ok_or_else(|| gone("user pool", &req.id))?;
        Ok(pool_observed(ctx, &aws.region, &u, p))
    }

    async fn delete(&self, aws: &Clients, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        aws.cognito
            .delete_user_pool()
            .user_pool_id(&req.id)
            .send()
            .await
            .map(drop)
            .map_err(e("DeleteUserPool"))
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let name = props::required_string(&req.properties, "name")?;
        let pools: Vec<_> = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(e("ListUserPools"))?;
        for pool in pools.iter().filter(|p| p.name() == Some(name.as_str())) {
            let Some(u) = describe_pool(aws, pool.id().unwrap_or_default()).await? else {
                continue;
            };
            let all: BTreeMap<String, String> = u
                .user_pool_tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            if tags::made_by(&all, ctx, &req.address, &req.token) {
                return Ok(Some(pool_observed(ctx, &aws.region, &u, &req.properties)));
            }
        }
        Ok(None)
    }
}

// ---- domain ----

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
        super::join_all(requests.iter().map(|r| async {
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
}

// ---- app client ----

/// The token lifetimes an app client may set, in minutes (`*_minutes` attributes), with
/// Cognito's bounds: access and ID tokens 5 minutes to 1 day, refresh tokens 60 minutes to
/// 10 years.
pub(crate) const TOKEN_VALIDITY: [(&str, i64, i64); 3] = [
    ("access_token_validity_minutes", 5, 24 * 60),
    ("id_token_validity_minutes", 5, 24 * 60),
    ("refresh_token_validity_minutes", 60, 3650 * 24 * 60),
];

/// Minutes from Cognito's value and unit (its defaults: hours for access/ID, days for refresh).
fn minutes(value: i32, unit: Option<&TimeUnitsType>, default: TimeUnitsType) -> i64 {
    let v = i64::from(value);
    match unit.unwrap_or(&default) {
        TimeUnitsType::Seconds => v / 60,
        TimeUnitsType::Minutes => v,
        TimeUnitsType::Hours => v * 60,
        TimeUnitsType::Days => v * 24 * 60,
        _ => v,
    }
}

fn validity_observed(c: &UserPoolClientType, prior: &ValueMap, a: &mut ValueMap) {
    let units = c.token_validity_units();
    let read = [
        (
            TOKEN_VALIDITY[0].0,
            c.access_token_validity().map(|v| {
                minutes(
                    v,
                    units.and_then(|u| u.access_token()),
                    TimeUnitsType::Hours,
                )
            }),
        ),
        (
            TOKEN_VALIDITY[1].0,
            c.id_token_validity()
                .map(|v| minutes(v, units.and_then(|u| u.id_token()), TimeUnitsType::Hours)),
        ),
        (
            TOKEN_VALIDITY[2].0,
            Some(minutes(
                c.refresh_token_validity(),
                units.and_then(|u| u.refresh_token()),
                TimeUnitsType::Days,
            )),
        ),
    ];
    for (name, v) in read {
        // Reported when set, or when the config sets it (Cognito's defaults otherwise).
        if let Some(v) = v.filter(|v| *v > 0) {
            a.insert(name.into(), Value::int(v));
        } else if prior.contains_key(name) {
            a.insert(name.into(), Value::Null);
        }
    }
}

/// The lifetimes the config sets, in minutes, checked against Cognito's bounds.
fn validity(p: &ValueMap) -> Answer<[Option<i32>; 3]> {
    let mut out = [None; 3];
    for (i, (name, lo, hi)) in TOKEN_VALIDITY.iter().enumerate() {
        if let Some(v) = props::int(p, name)? {
            if v < *lo || v > *hi {
                return Err(ProviderError::invalid(format!(
                    "`{name}` {v} is outside Cognito's bounds, {lo} to {hi} minutes"
                )));
            }
            out[i] = Some(v as i32);
        }
    }
    Ok(out)
}

/// Minutes for every lifetime, sent only with a lifetime (an unset one keeps Cognito's default
/// in Cognito's default unit).
fn minutes_units(set: &[Option<i32>; 3]) -> Option<TokenValidityUnitsType> {
    let unit = |v: Option<i32>| v.map(|_| TimeUnitsType::Minutes);
    set.iter().any(Option::is_some).then(|| {
        TokenValidityUnitsType::builder()
            .set_access_token(unit(set[0]))
            .set_id_token(unit(set[1]))
            .set_refresh_token(unit(set[2]))
            .build()
    })
}

fn client_observed(c: &UserPoolClientType, prior: &ValueMap) -> Observed {
    let id = c.client_id().unwrap_or_default().to_string();
    let strs = |l: &[String]| crate::props::str_list(l);
    let mut a = ValueMap::new();
    a.insert(
        "user_pool_id".into(),
        Value::str(c.user_pool_id().unwrap_or_default()),
    );
    a.insert(
        "name".into(),
        Value::str(c.client_name().unwrap_or_default()),
    );
    a.insert("callback_urls".into(), strs(c.callback_urls()));
    a.insert("logout_urls".into(), strs(c.logout_urls()));
    a.insert(
        "allowed_oauth_scopes".into(),
        strs(c.allowed_o_auth_scopes()),
    );
    a.insert(
        "generate_secret".into(),
        Value::Bool(c.client_secret().is_some()),
    );
    a.insert("client_id".into(), Value::str(&id));
    a.insert(
        "client_secret".into(),
        c.client_secret().map_or(Value::Null, Value::str),
    );
    validity_observed(c, prior, &mut a);
    Observed { id, attributes: a }
}

async fn describe_client(
    aws: &Clients,
    pool: &str,
    id: &str,
) -> Answer<Option<UserPoolClientType>> {
    let out = aws
        .cognito
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send()
        .await
        .map_err(e("DescribeUserPoolClient"));
    Ok(absent_if_not_found(out)?.and_then(|o| o.user_pool_client))
}

#[async_trait]
impl Kind for Client {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            "aws_cognito_user_pool_client",
            "An app client of a user pool: OAuth code flow, with a client secret.",
            vec![
                AttributeSpec::required("user_pool_id", ValueType::String).force_new(),
                AttributeSpec::required("name", ValueType::String),
                AttributeSpec::required("callback_urls", strings())
                    .describe("e.g. https://daskhub.example.org/hub/oauth_callback"),
                AttributeSpec::optional("logout_urls", strings(), Some(Value::List(vec![]))),
                AttributeSpec::optional(
                    "allowed_oauth_scopes",
                    strings(),
                    Some(crate::props::str_list([
                        "openid", "email", "profile", "phone",
                    ])),
                ),
                AttributeSpec::optional(
                    "generate_secret",
                    ValueType::Bool,
                    Some(Value::Bool(true)),
                )
                .force_new(),
                AttributeSpec::optional(TOKEN_VALIDITY[0].0, ValueType::Integer, None)
                    .describe("Access token lifetime, 5 to 1440 minutes. Default: Cognito's (1 hour)."),
                AttributeSpec::optional(TOKEN_VALIDITY[1].0, ValueType::Integer, None)
                    .describe("ID token lifetime, 5 to 1440 minutes. Default: Cognito's (1 hour)."),
                AttributeSpec::optional(TOKEN_VALIDITY[2].0, ValueType::Integer, None).describe(
                    "Refresh token lifetime, 60 minutes to 10 years (5256000). Default: Cognito's (30 days).",
                ),
                AttributeSpec::computed("client_id", ValueType::String),
                AttributeSpec::computed("client_secret", ValueType::String).sensitive(),
            ],
        )
    }

    async fn read(&self, aws: &Clients, _ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| async {
            let pool = props::required_string(&r.prior, "user_pool_id")?;
            Ok(describe_client(aws, &pool, &r.id)
                .await?
                .map(|c| client_observed(&c, &r.prior)))
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
        let [access, id, refresh] = validity(p)?;
        let out = aws
            .cognito
            .create_user_pool_client()
            .set_access_token_validity(access)
            .set_id_token_validity(id)
            .set_refresh_token_validity(refresh)
            .set_token_validity_units(minutes_units(&[access, id, refresh]))
            .user_pool_id(props::required_string(p, "user_pool_id")?)
            .client_name(props::required_string(p, "name")?)
            .generate_secret(props::boolean(p, "generate_secret")?.unwrap_or(true))
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_flows_user_pool_client(true)
            .set_allowed_o_auth_scopes(Some(props::string_list(p, "allowed_oauth_scopes")?))
            .set_callback_urls(Some(props::string_list(p, "callback_urls")?))
            .set_logout_urls(Some(props::string_list(p, "logout_urls")?))
            .supported_identity_providers("COGNITO")
            .send()
            .await
            .map_err(e("CreateUserPoolClient"))?;
        let c = out
            .user_pool_client
            .ok_or_else(|| ProviderError::other("CreateUserPoolClient returned no client"))?;
        Ok(client_observed(&c, p))
    }

    async fn update(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let pool = props::required_string(p, "user_pool_id")?;
        let [access, id, refresh] = validity(p)?;
        aws.cognito
            .update_user_pool_client()
            .user_pool_id(&pool)
            .set_access_token_validity(access)
            .set_id_token_validity(id)
            .set_refresh_token_validity(refresh)
            .set_token_validity_units(minutes_units(&[access, id, refresh]))
            .client_id(&req.id)
            .client_name(props::required_string(p, "name")?)
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_flows_user_pool_client(true)
            .set_allowed_o_auth_scopes(Some(props::string_list(p, "allowed_oauth_scopes")?))
            .set_callback_urls(Some(props::string_list(p, "callback_urls")?))
            .set_logout_urls(Some(props::string_list(p, "logout_urls")?))
            .supported_identity_providers("COGNITO")
            .send()
            .await
            .map_err(e("UpdateUserPoolClient"))?;
        let c = describe_client(aws, &pool, &req.id)
            .await?
            .ok_or_else(|| gone("user pool client", &req.id))?;
        Ok(client_observed(&c, p))
    }

    async fn delete(&self, aws: &Clients, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let pool = props::required_string(&req.prior, "user_pool_id")?;
        aws.cognito
            .delete_user_pool_client()
            .user_pool_id(pool)
            .client_id(&req.id)
            .send()
            .await
            .map(drop)
            .map_err(e("DeleteUserPoolClient"))
    }

    async fn find_created(&self, aws: &Clients, _ctx: &OpContext, req: &CreateRequest) -> Found {
        let pool = props::required_string(&req.properties, "user_pool_id")?;
        let name = props::required_string(&req.properties, "name")?;
        let clients: Vec<_> = match absent_if_not_found(
            aws.cognito
                .list_user_pool_clients()
                .user_pool_id(&pool)
                .max_results(60)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(e("ListUserPoolClients")),
        )? {
            Some(c) => c,
            None => return Ok(None),
        };
        for c in clients
            .iter()
            .filter(|c| c.client_name() == Some(name.as_str()))
        {
            if let Some(full) =
                describe_client(aws, &pool, c.client_id().unwrap_or_default()).await?
            {
                return Ok(Some(client_observed(&full, &req.properties)));
            }
        }
        Ok(None)
    }
}

// ---- user ----

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
        super::join_all(requests.iter().map(|r| async {
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
}
