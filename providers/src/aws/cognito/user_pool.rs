//! `aws_cognito_user_pool`: email required, no self sign-up.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, SchemaAttributeType, UserPoolType,
    VerifiedAttributeType,
};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use crate::aws::describe::{self, done, every_item, Described};
use crate::aws::errors::cognito as e;
use crate::aws::import::unsearchable;
use crate::aws::tag_maps::{btree, hash_map};
use crate::aws::tags::{self, sync_tags};
use crate::aws::{Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct UserPool;

/// The pool with `id`, as DescribeUserPool answers; `None` when there is none.
pub(crate) async fn describe_pool(aws: &Clients, id: &str) -> Answer<Option<UserPoolType>> {
    let call = aws.cognito.describe_user_pool().user_pool_id(id).send();
    Ok(describe::found(call, e("DescribeUserPool"))
        .await?
        .and_then(|o| o.user_pool))
}

/// The pool's issuer endpoint, as OpenID clients name it.
pub(crate) fn endpoint(region: &str, id: &str) -> Value {
    Value::str(format!("cognito-idp.{region}.amazonaws.com/{id}"))
}

/// The ids of the pools named `name` (pool names are not unique).
async fn pools_named(aws: &Clients, name: &str) -> Answer<Vec<String>> {
    let pools: Vec<_> = every_item!(
        aws.cognito.list_user_pools().max_results(60),
        e("ListUserPools")
    )?;
    Ok(pools
        .iter()
        .filter(|p| p.name() == Some(name))
        .filter_map(|p| p.id().map(String::from))
        .collect())
}

/// Self sign-up off unless `p` allows it.
fn admin_only(p: &ValueMap) -> Answer<AdminCreateUserConfigType> {
    let only = props::boolean(p, "admin_create_user_only")?.unwrap_or(true);
    Ok(AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(only)
        .build())
}

#[async_trait]
impl Described for UserPool {
    type Item = UserPoolType;
    const NOUN: &'static str = "user pool";

    async fn describe(&self, cx: Cx<'_>, id: &str, _: &ValueMap) -> Answer<Option<Self::Item>> {
        describe_pool(cx.aws, id).await
    }

    fn observe(&self, cx: Cx<'_>, u: &UserPoolType, prior: &ValueMap) -> Observed {
        let id = u.id().unwrap_or_default().to_string();
        let mut a = ValueMap::new();
        a.insert("name".into(), Value::str(u.name().unwrap_or_default()));
        let config = u.admin_create_user_config();
        let only = config.is_some_and(|c| c.allow_admin_create_user_only());
        a.insert("admin_create_user_only".into(), Value::Bool(only));
        let all = btree(u.user_pool_tags());
        a.insert("tags".into(), tags::own_view(cx.op, &all, prior));
        a.insert("arn".into(), Value::str(u.arn().unwrap_or_default()));
        a.insert("endpoint".into(), endpoint(&cx.aws.region, &id));
        Observed { id, attributes: a }
    }
}

#[async_trait]
impl Kind for UserPool {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let t = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let email = SchemaAttributeType::builder()
            .name("email")
            .attribute_data_type(AttributeDataType::String)
            .required(true)
            .mutable(true)
            .build();
        let out = cx
            .aws
            .cognito
            .create_user_pool()
            .pool_name(props::required_string(p, "name")?)
            .schema(email)
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .admin_create_user_config(admin_only(p)?)
            .set_user_pool_tags(Some(hash_map(&t)))
            .send()
            .await
            .map_err(e("CreateUserPool"))?;
        let u = out
            .user_pool
            .ok_or_else(|| ProviderError::other("CreateUserPool returned no pool"))?;
        Ok(self.observe(cx, &u, p))
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("admin_create_user_only") {
            let call = cx.aws.cognito.update_user_pool().user_pool_id(&req.id);
            let call = call.auto_verified_attributes(VerifiedAttributeType::Email);
            let call = call.admin_create_user_config(admin_only(p)?);
            done(call.send(), e("UpdateUserPool")).await?;
        }
        if changed("tags") {
            let arn = &props::string(&req.prior, "arn")?.unwrap_or_default();
            let changes = tags::changes(cx.op, req)?;
            sync_tags!(changes, cx.aws.cognito, resource_arn(arn), hash_map).await?;
        }
        describe::one(self, cx, &req.id, p).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let call = cx.aws.cognito.delete_user_pool().user_pool_id(&req.id);
        done(call.send(), e("DeleteUserPool")).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        for id in pools_named(cx.aws, &props::required_string(p, "name")?).await? {
            let Some(u) = describe_pool(cx.aws, &id).await? else {
                continue;
            };
            if tags::made_by(&btree(u.user_pool_tags()), cx.op, &req.address, &req.token) {
                return Ok(Some(self.observe(cx, &u, p)));
            }
        }
        Ok(None)
    }

    /// `hdh import`: the pools of its name.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        let Some(name) = props::string(&req.properties, "name")? else {
            return Err(unsearchable(req, "its name is not known"));
        };
        let ids = pools_named(cx.aws, &name).await?;
        Ok(ids
            .into_iter()
            .map(|id| (id, format!("name {name}")))
            .collect())
    }
}
