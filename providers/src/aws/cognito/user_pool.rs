//! `aws_cognito_user_pool`: email required, no self sign-up.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, SchemaAttributeType, UserPoolType,
    VerifiedAttributeType,
};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::gone;
use crate::aws::errors::{absent_if_not_found, cognito as e};
use crate::aws::import::unsearchable;
use crate::aws::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct UserPool;

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
        crate::aws::join_all(requests.iter().map(|r| async {
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

    /// `hdh import`: the pools of its name.
    async fn candidates(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let Some(name) = props::string(&req.properties, "name")? else {
            return Err(unsearchable(req, "its name is not known"));
        };
        let pages: Vec<_> = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(e("ListUserPools"))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.user_pools())
            .filter(|p| p.name() == Some(name.as_str()))
            .filter_map(|p| p.id())
            .map(|id| (id.to_string(), format!("name {name}")))
            .collect())
    }
}
