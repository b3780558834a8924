//! `aws_nat_gateway`: a NAT gateway in a public subnet. Creation passes the engine's token as
//! EC2's `ClientToken` and waits for `available`; deletion waits for `deleted`, since the
//! subnet, address and internet gateway stay busy until then.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ConnectivityType, Filter, NatGateway as SdkNat, NatGatewayState, ResourceType as Ec2Type,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::{
    filter, made_by_filters, opt_str, prior_of, put, read_batched, sync_tags, tag_map, tag_spec,
};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::wait::{Poll, Wait};
use crate::aws::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_nat_gateway";

pub(crate) struct NatGateway;

/// An EC2 client token: at most 64 ASCII characters.
pub(crate) fn client_token(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}

fn observe(aws: &Clients, ctx: &OpContext, n: &SdkNat, prior: Option<&ValueMap>) -> Observed {
    let empty = ValueMap::new();
    let id = n.nat_gateway_id().unwrap_or_default().to_string();
    let mut a = ValueMap::new();
    opt_str(&mut a, "subnet_id", n.subnet_id());
    let first = n.nat_gateway_addresses().first();
    opt_str(
        &mut a,
        "allocation_id",
        first.and_then(|x| x.allocation_id()),
    );
    opt_str(&mut a, "public_ip", first.and_then(|x| x.public_ip()));
    opt_str(&mut a, "private_ip", first.and_then(|x| x.private_ip()));
    put(
        &mut a,
        "connectivity_type",
        n.connectivity_type().map_or("public", |c| c.as_str()),
    );
    opt_str(&mut a, "vpc_id", n.vpc_id());
    put(
        &mut a,
        "tags",
        tags::own_view(ctx, &tag_map(n.tags()), prior.unwrap_or(&empty)),
    );
    put(
        &mut a,
        "arn",
        format!("arn:aws:ec2:{}::natgateway/{id}", aws.region),
    );
    Observed { id, attributes: a }
}

/// Gateways that exist (not `deleted`/`failed`), with their state.
async fn describe(
    aws: &Clients,
    ctx: &OpContext,
    filters: Vec<Filter>,
    requests: &[ReadRequest],
) -> Answer<Vec<(Observed, NatGatewayState)>> {
    let pages: Vec<_> = aws
        .ec2
        .describe_nat_gateways()
        .set_filter(Some(filters))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(e("DescribeNatGateways"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.nat_gateways())
        .filter_map(|n| {
            let state = n.state().cloned().unwrap_or(NatGatewayState::Pending);
            if matches!(state, NatGatewayState::Deleted | NatGatewayState::Failed) {
                return None;
            }
            Some((
                observe(
                    aws,
                    ctx,
                    n,
                    prior_of(requests, n.nat_gateway_id().unwrap_or_default()),
                ),
                state,
            ))
        })
        .collect())
}

async fn wait_available(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    id: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let req = ReadRequest {
        address: String::new(),
        id: id.to_string(),
        prior: prior.clone(),
    };
    let w = Wait {
        ctx,
        address,
        verb: "creating",
        what: format!("NAT gateway {id} to be available"),
        policy: aws.poll,
    };
    w.until(|| async {
        let found = describe(
            aws,
            ctx,
            vec![filter("nat-gateway-id", [id.to_string()])],
            std::slice::from_ref(&req),
        )
        .await?;
        Ok(match found.into_iter().next() {
            Some((o, NatGatewayState::Available)) => Poll::Ready(o),
            Some((_, s)) => Poll::Pending(s.as_str().to_string()),
            // Just created: not visible yet (eventual consistency).
            None => Poll::Pending("not yet visible".into()),
        })
    })
    .await
}

#[async_trait]
impl Kind for NatGateway {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "A NAT gateway.",
            vec![
                AttributeSpec::required("subnet_id", ValueType::String).force_new(),
                AttributeSpec::optional("allocation_id", ValueType::String, None).force_new(),
                AttributeSpec::optional(
                    "connectivity_type",
                    ValueType::String,
                    Some(Value::str("public")),
                )
                .force_new(),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("public_ip", ValueType::String),
                AttributeSpec::computed("private_ip", ValueType::String),
                AttributeSpec::computed("vpc_id", ValueType::String),
                AttributeSpec::computed("arn", ValueType::String),
            ],
        )
        // typical durations (available ~2m; deleted ~1m)
        .typically(
            Some(Duration::from_secs(120)),
            None,
            Some(Duration::from_secs(60)),
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        read_batched(requests, |ids| async move {
            Ok(
                describe(aws, ctx, vec![filter("nat-gateway-id", ids)], requests)
                    .await?
                    .into_iter()
                    .map(|(o, _)| o)
                    .collect(),
            )
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
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        let connectivity =
            props::string(p, "connectivity_type")?.unwrap_or_else(|| "public".into());
        let out = aws
            .ec2
            .create_nat_gateway()
            .subnet_id(props::required_string(p, "subnet_id")?)
            .set_allocation_id(props::string(p, "allocation_id")?)
            .connectivity_type(ConnectivityType::from(connectivity.as_str()))
            .client_token(client_token(&req.token))
            .tag_specifications(tag_spec(Ec2Type::Natgateway, &tags))
            .send()
            .await
            .map_err(e("CreateNatGateway"))?;
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .ok_or_else(|| ProviderError::other("CreateNatGateway returned no id"))?
            .to_string();
        wait_available(aws, ctx, &req.address, &id, p).await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        sync_tags(aws, ctx, req).await?;
        wait_available(aws, ctx, &req.address, &req.id, &req.properties).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        gone_is_ok(
            aws.ec2
                .delete_nat_gateway()
                .nat_gateway_id(&req.id)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteNatGateway")),
        )?;
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("NAT gateway {} to be deleted", req.id),
            policy: aws.poll,
        };
        w.until(|| async {
            let found = describe(
                aws,
                ctx,
                vec![filter("nat-gateway-id", [req.id.clone()])],
                &[],
            )
            .await?;
            Ok(match found.into_iter().next() {
                None => Poll::Ready(()),
                Some((_, s)) => Poll::Pending(s.as_str().to_string()),
            })
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let found = describe(aws, ctx, made_by_filters(ctx, &req.token), &[]).await?;
        match found.into_iter().next() {
            None => Ok(None),
            Some((o, NatGatewayState::Available)) => Ok(Some(o)),
            // Adopted while pending: available before the routes through it are made.
            Some((o, _)) => wait_available(aws, ctx, &req.address, &o.id, &req.properties)
                .await
                .map(Some),
        }
    }
}
