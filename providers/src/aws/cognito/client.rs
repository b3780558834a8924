//! `aws_cognito_user_pool_client`: code flow with a client secret, which is a sensitive
//! computed attribute.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    OAuthFlowType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use crate::aws::describe::{self, done, every_item, Described};
use crate::aws::errors::{absent_if_not_found, cognito as e};
use crate::aws::import::unsearchable;
use crate::aws::{Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Client;

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

/// The ids of the clients named `name` in `pool`.
async fn clients_named(aws: &Clients, pool: &str, name: &str) -> Answer<Vec<String>> {
    let call = aws.cognito.list_user_pool_clients().user_pool_id(pool);
    let clients: Vec<_> = every_item!(call.max_results(60), e("ListUserPoolClients"))?;
    Ok(clients
        .iter()
        .filter(|c| c.client_name() == Some(name))
        .filter_map(|c| c.client_id().map(String::from))
        .collect())
}

/// The settings a create and an update both send: the OAuth code flow, scopes, URLs and token
/// lifetimes of `p`.
macro_rules! client_settings {
    ($call:expr, $p:expr) => {{
        let p = $p;
        let [access, id, refresh] = validity(p)?;
        $call
            .set_access_token_validity(access)
            .set_id_token_validity(id)
            .set_refresh_token_validity(refresh)
            .set_token_validity_units(minutes_units(&[access, id, refresh]))
            .client_name(props::required_string(p, "name")?)
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_flows_user_pool_client(true)
            .set_allowed_o_auth_scopes(Some(props::string_list(p, "allowed_oauth_scopes")?))
            .set_callback_urls(Some(props::string_list(p, "callback_urls")?))
            .set_logout_urls(Some(props::string_list(p, "logout_urls")?))
            .supported_identity_providers("COGNITO")
    }};
}

#[async_trait]
impl Described for Client {
    type Item = UserPoolClientType;
    const NOUN: &'static str = "user pool client";

    /// The client `id` of the pool `prior` names.
    async fn describe(&self, cx: Cx<'_>, id: &str, prior: &ValueMap) -> Answer<Option<Self::Item>> {
        let pool = props::required_string(prior, "user_pool_id")?;
        let call = cx
            .aws
            .cognito
            .describe_user_pool_client()
            .user_pool_id(pool);
        let got = describe::found(call.client_id(id).send(), e("DescribeUserPoolClient")).await?;
        Ok(got.and_then(|o| o.user_pool_client))
    }

    fn observe(&self, _cx: Cx<'_>, c: &UserPoolClientType, prior: &ValueMap) -> Observed {
        let id = c.client_id().unwrap_or_default().to_string();
        let strs = |l: &[String]| props::str_list(l);
        let mut a = ValueMap::new();
        let pool = c.user_pool_id().unwrap_or_default();
        a.insert("user_pool_id".into(), Value::str(pool));
        a.insert(
            "name".into(),
            Value::str(c.client_name().unwrap_or_default()),
        );
        a.insert("callback_urls".into(), strs(c.callback_urls()));
        a.insert("logout_urls".into(), strs(c.logout_urls()));
        let scopes = strs(c.allowed_o_auth_scopes());
        a.insert("allowed_oauth_scopes".into(), scopes);
        let secret = c.client_secret();
        a.insert("generate_secret".into(), Value::Bool(secret.is_some()));
        a.insert("client_id".into(), Value::str(&id));
        a.insert(
            "client_secret".into(),
            secret.map_or(Value::Null, Value::str),
        );
        validity_observed(c, prior, &mut a);
        Observed { id, attributes: a }
    }
}

#[async_trait]
impl Kind for Client {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let call = cx.aws.cognito.create_user_pool_client();
        let call = client_settings!(call, p)
            .user_pool_id(props::required_string(p, "user_pool_id")?)
            .generate_secret(props::boolean(p, "generate_secret")?.unwrap_or(true));
        let out = call.send().await.map_err(e("CreateUserPoolClient"))?;
        let c = out
            .user_pool_client
            .ok_or_else(|| ProviderError::other("CreateUserPoolClient returned no client"))?;
        Ok(self.observe(cx, &c, p))
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let pool = props::required_string(p, "user_pool_id")?;
        let call = cx.aws.cognito.update_user_pool_client();
        let call = client_settings!(call, p)
            .user_pool_id(&pool)
            .client_id(&req.id);
        done(call.send(), e("UpdateUserPoolClient")).await?;
        describe::one(self, cx, &req.id, p).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let pool = props::required_string(&req.prior, "user_pool_id")?;
        let call = cx.aws.cognito.delete_user_pool_client().user_pool_id(pool);
        done(call.client_id(&req.id).send(), e("DeleteUserPoolClient")).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        let pool = props::required_string(p, "user_pool_id")?;
        let name = props::required_string(p, "name")?;
        let named = absent_if_not_found(clients_named(cx.aws, &pool, &name).await)?;
        for id in named.unwrap_or_default() {
            if let Some(o) = describe::read(self, cx, &id, p).await? {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// `hdh import`: the clients of its name in its pool.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        let p = &req.properties;
        let (Some(pool), Some(name)) =
            (props::string(p, "user_pool_id")?, props::string(p, "name")?)
        else {
            return Err(unsearchable(req, "its user pool was not matched"));
        };
        let ids = clients_named(cx.aws, &pool, &name).await?;
        let how = format!("name {name} in {pool}");
        Ok(ids.into_iter().map(|id| (id, how.clone())).collect())
    }
}
