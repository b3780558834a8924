//! `aws_vpc`: the stack's network. DNS support and hostnames are on by default (EKS needs
//! both); DescribeVpcs does not return them, so read (and the search after an interrupted
//! create, which may have stopped before setting them) asks DescribeVpcAttribute for each.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, ResourceType as Ec2Type, Vpc as SdkVpc, VpcAttributeName,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::blockers::{Deletion, Target};
use super::{
    carried, filter, made_by_filters, opt_str, prior_of, put, read_batched, sync_tags, tag_map,
    tag_spec,
};
use crate::aws::errors::ec2 as e;
use crate::aws::wait::{self, Wait};
use crate::aws::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_vpc";

pub(crate) struct Vpc;

fn observe(aws: &Clients, ctx: &OpContext, v: &SdkVpc, prior: Option<&ValueMap>) -> Observed {
    let id = v.vpc_id().unwrap_or_default().to_string();
    let empty = ValueMap::new();
    let mut a = carried(prior, &["enable_dns_support", "enable_dns_hostnames"]);
    opt_str(&mut a, "cidr_block", v.cidr_block());
    put(
        &mut a,
        "tags",
        tags::own_view(ctx, &tag_map(v.tags()), prior.unwrap_or(&empty)),
    );
    opt_str(&mut a, "owner_id", v.owner_id());
    put(
        &mut a,
        "arn",
        format!(
            "arn:aws:ec2:{}:{}:vpc/{id}",
            aws.region,
            v.owner_id().unwrap_or_default()
        ),
    );
    Observed { id, attributes: a }
}

async fn describe(
    aws: &Clients,
    ctx: &OpContext,
    filters: Vec<aws_sdk_ec2::types::Filter>,
    requests: &[ReadRequest],
) -> Answer<Vec<Observed>> {
    let pages: Vec<_> = aws
        .ec2
        .describe_vpcs()
        .set_filters(Some(filters))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(e("DescribeVpcs"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.vpcs())
        .map(|v| {
            observe(
                aws,
                ctx,
                v,
                prior_of(requests, v.vpc_id().unwrap_or_default()),
            )
        })
        .collect())
}

/// The VPC's DNS settings as EC2 has them (DescribeVpcAttribute, one attribute per call).
async fn read_dns(aws: &Clients, o: &mut Observed) -> Answer<()> {
    for (name, attribute) in [
        ("enable_dns_support", VpcAttributeName::EnableDnsSupport),
        ("enable_dns_hostnames", VpcAttributeName::EnableDnsHostnames),
    ] {
        let out = aws
            .ec2
            .describe_vpc_attribute()
            .vpc_id(&o.id)
            .attribute(attribute.clone())
            .send()
            .await
            .map_err(e("DescribeVpcAttribute"))?;
        let value = match attribute {
            VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
            _ => out.enable_dns_hostnames(),
        };
        if let Some(on) = value.and_then(AttributeBooleanValue::value) {
            o.attributes.insert(name.into(), Value::Bool(on));
        }
    }
    Ok(())
}

/// `describe`, then each VPC's DNS settings (the VPCs concurrently).
async fn describe_with_dns(
    aws: &Clients,
    ctx: &OpContext,
    filters: Vec<aws_sdk_ec2::types::Filter>,
    requests: &[ReadRequest],
) -> Answer<Vec<Observed>> {
    let found = describe(aws, ctx, filters, requests).await?;
    crate::aws::join_all(
        found
            .into_iter()
            .map(|mut o| async move { read_dns(aws, &mut o).await.map(|()| o) }),
    )
    .await
    .into_iter()
    .collect()
}

async fn set_dns(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    id: &str,
    props_: &ValueMap,
    only_changed: Option<&[String]>,
) -> Answer<()> {
    let w = Wait {
        ctx,
        address,
        verb: "configuring",
        what: format!("VPC {id} to be visible"),
        policy: aws.poll,
    };
    for (name, hostnames) in [
        ("enable_dns_support", false),
        ("enable_dns_hostnames", true),
    ] {
        if only_changed.is_some_and(|c| !c.iter().any(|x| x == name)) {
            continue;
        }
        let Some(on) = props::boolean(props_, name)? else {
            continue;
        };
        // A new VPC already has DNS support on and DNS hostnames off.
        if only_changed.is_none() && on != hostnames {
            continue;
        }
        let value = AttributeBooleanValue::builder().value(on).build();
        w.retrying(wait::not_yet_visible, || {
            let mut call = aws.ec2.modify_vpc_attribute().vpc_id(id);
            call = if hostnames {
                call.enable_dns_hostnames(value.clone())
            } else {
                call.enable_dns_support(value.clone())
            };
            async move { call.send().await.map(drop).map_err(e("ModifyVpcAttribute")) }
        })
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Kind for Vpc {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "A VPC.",
            vec![
                AttributeSpec::required("cidr_block", ValueType::String)
                    .force_new()
                    .describe("IPv4 range, e.g. 10.0.0.0/16."),
                AttributeSpec::optional(
                    "enable_dns_support",
                    ValueType::Bool,
                    Some(Value::Bool(true)),
                ),
                AttributeSpec::optional(
                    "enable_dns_hostnames",
                    ValueType::Bool,
                    Some(Value::Bool(true)),
                ),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("owner_id", ValueType::String),
            ],
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        read_batched(requests, |ids| {
            describe_with_dns(aws, ctx, vec![filter("vpc-id", ids)], requests)
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
        let out = aws
            .ec2
            .create_vpc()
            .cidr_block(props::required_string(p, "cidr_block")?)
            .tag_specifications(tag_spec(Ec2Type::Vpc, &tags))
            .send()
            .await
            .map_err(e("CreateVpc"))?;
        let vpc = out
            .vpc()
            .ok_or_else(|| ProviderError::other("CreateVpc returned no VPC"))?;
        let id = vpc.vpc_id().unwrap_or_default().to_string();
        set_dns(aws, ctx, &req.address, &id, p, None).await?;
        let mut o = observe(aws, ctx, vpc, Some(p));
        o.attributes.extend(carried(
            Some(p),
            &["enable_dns_support", "enable_dns_hostnames"],
        ));
        Ok(o)
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        set_dns(
            aws,
            ctx,
            &req.address,
            &req.id,
            &req.properties,
            Some(&req.changed),
        )
        .await?;
        if req.changed.iter().any(|c| c == "tags") {
            sync_tags(aws, ctx, req).await?;
        }
        let found = describe(aws, ctx, vec![filter("vpc-id", [req.id.clone()])], &[]).await?;
        let mut o = found
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("VPC {} not found", req.id),
            })?;
        o.attributes.extend(carried(
            Some(&req.properties),
            &["enable_dns_support", "enable_dns_hostnames", "tags"],
        ));
        Ok(o)
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        Deletion {
            aws,
            ctx,
            address: &req.address,
            vpc_id: req.id.clone(),
            target: Target::Vpc,
            what: format!("VPC {} to have no dependencies", req.id),
        }
        .run(|| async {
            aws.ec2
                .delete_vpc()
                .vpc_id(&req.id)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteVpc"))
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let mut found = describe(aws, ctx, made_by_filters(ctx, &req.token), &[]).await?;
        let Some(mut o) = found.pop() else {
            return Ok(None);
        };
        o.attributes
            .extend(carried(Some(&req.properties), &["tags"]));
        // A create stopped before it set DNS hostnames: the plan sets them.
        read_dns(aws, &mut o).await?;
        Ok(Some(o))
    }
}
