//! `aws_internet_gateway`: an internet gateway and its attachment to a VPC. Destroy detaches
//! first, waiting while AWS still maps public addresses in the VPC (a NAT gateway going away).

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, InternetGateway as SdkIgw, ResourceType as Ec2Type};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, ValueMap, ValueType,
};
use std::time::Duration;

use super::blockers::{Deletion, Target};
use super::{
    filter, made_by_filters, opt_str, prior_of, put, read_batched, sync_tags, tag_map, tag_spec,
};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::wait::{self, Wait};
use crate::aws::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_internet_gateway";

pub(crate) struct InternetGateway;

fn observe(aws: &Clients, ctx: &OpContext, g: &SdkIgw, prior: Option<&ValueMap>) -> Observed {
    let empty = ValueMap::new();
    let id = g.internet_gateway_id().unwrap_or_default().to_string();
    let mut a = ValueMap::new();
    let vpc = g.attachments().iter().find_map(|at| at.vpc_id());
    opt_str(&mut a, "vpc_id", vpc);
    put(
        &mut a,
        "tags",
        tags::own_view(ctx, &tag_map(g.tags()), prior.unwrap_or(&empty)),
    );
    put(
        &mut a,
        "arn",
        format!(
            "arn:aws:ec2:{}:{}:internet-gateway/{id}",
            aws.region,
            g.owner_id().unwrap_or_default()
        ),
    );
    Observed { id, attributes: a }
}

async fn describe(
    aws: &Clients,
    ctx: &OpContext,
    filters: Vec<Filter>,
    requests: &[ReadRequest],
) -> Answer<Vec<Observed>> {
    let pages: Vec<_> = aws
        .ec2
        .describe_internet_gateways()
        .set_filters(Some(filters))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(e("DescribeInternetGateways"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.internet_gateways())
        .map(|g| {
            observe(
                aws,
                ctx,
                g,
                prior_of(requests, g.internet_gateway_id().unwrap_or_default()),
            )
        })
        .collect())
}

async fn one(aws: &Clients, ctx: &OpContext, id: &str, prior: &ValueMap) -> Answer<Observed> {
    let req = ReadRequest {
        address: String::new(),
        id: id.to_string(),
        prior: prior.clone(),
    };
    describe(
        aws,
        ctx,
        vec![filter("internet-gateway-id", [id.to_string()])],
        std::slice::from_ref(&req),
    )
    .await?
    .pop()
    .ok_or_else(|| ProviderError::NotFound {
        message: format!("internet gateway {id} not found"),
    })
}

#[async_trait]
impl Kind for InternetGateway {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "An internet gateway attached to a VPC.",
            vec![
                AttributeSpec::required("vpc_id", ValueType::String)
                    .force_new()
                    .describe("The VPC it is attached to."),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
            ],
        )
        // typical durations (detach waits for public addresses)
        .typically(None, None, Some(Duration::from_secs(60)))
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        read_batched(requests, |ids| {
            describe(aws, ctx, vec![filter("internet-gateway-id", ids)], requests)
        })
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let vpc_id = props::required_string(p, "vpc_id")?;
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        let out = aws
            .ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(Ec2Type::InternetGateway, &tags))
            .send()
            .await
            .map_err(e("CreateInternetGateway"))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| ProviderError::other("CreateInternetGateway returned no id"))?
            .to_string();
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "creating",
            what: format!("internet gateway {id} to attach"),
            policy: aws.poll,
        };
        w.retrying(wait::not_yet_visible, || async {
            aws.ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(&vpc_id)
                .send()
                .await
                .map(drop)
                .map_err(e("AttachInternetGateway"))
        })
        .await?;
        // Read-after-create may not see it yet (eventual consistency).
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "creating",
            what: format!("internet gateway {id} to be visible"),
            policy: aws.poll,
        };
        w.retrying(wait::not_yet_visible, || one(aws, ctx, &id, p))
            .await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        sync_tags(aws, ctx, req).await?;
        one(aws, ctx, &req.id, &req.properties).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("internet gateway {} to detach", req.id),
            policy: aws.poll,
        };
        if let Some(vpc_id) = props::string(&req.prior, "vpc_id")? {
            Deletion {
                aws,
                ctx,
                address: &req.address,
                vpc_id: vpc_id.clone(),
                target: Target::PublicAddresses,
                what: format!(
                    "internet gateway {} to detach (no public addresses mapped in {vpc_id})",
                    req.id
                ),
            }
            .run(|| async {
                aws.ec2
                    .detach_internet_gateway()
                    .internet_gateway_id(&req.id)
                    .vpc_id(&vpc_id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("DetachInternetGateway"))
            })
            .await?;
        }
        w.retrying(wait::dependency, || async {
            gone_is_ok(
                aws.ec2
                    .delete_internet_gateway()
                    .internet_gateway_id(&req.id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("DeleteInternetGateway")),
            )
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        Ok(describe(aws, ctx, made_by_filters(ctx, &req.token), &[])
            .await?
            .pop())
    }
}
