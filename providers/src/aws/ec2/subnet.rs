//! `aws_subnet`: one subnet in one availability zone. Only public-IP mapping and tags change in
//! place.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType as SdkType, Subnet as SdkSubnet,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ImportRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::blockers::{Deletion, Target};
use super::kind::{all_pages, observe, one, search, Ec2Type};
use super::{filter, opt_str, put, sync_tags, tag_spec};
use crate::aws::errors::ec2 as e;
use crate::aws::import::{named, unsearchable};
use crate::aws::wait::{self, Wait};
use crate::aws::{tags, Clients};
use crate::props;
use crate::Answer;

pub(crate) const TYPE: &str = "aws_subnet";

pub(crate) struct Subnet;

async fn set_public_ip(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    id: &str,
    on: bool,
) -> Answer<()> {
    let w = Wait {
        ctx,
        address,
        verb: "configuring",
        what: format!("subnet {id} to be visible"),
        policy: aws.poll,
    };
    w.retrying(wait::not_yet_visible, || async {
        aws.ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map(drop)
            .map_err(e("ModifySubnetAttribute"))
    })
    .await
}

#[async_trait]
impl Ec2Type for Subnet {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "A subnet of a VPC in one availability zone.",
            vec![
                AttributeSpec::required("vpc_id", ValueType::String).force_new(),
                AttributeSpec::required("cidr_block", ValueType::String).force_new(),
                AttributeSpec::required("availability_zone", ValueType::String).force_new(),
                AttributeSpec::optional(
                    "map_public_ip_on_launch",
                    ValueType::Bool,
                    Some(Value::Bool(false)),
                ),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("availability_zone_id", ValueType::String),
            ],
        )
        // typical durations (delete waits for lingering interfaces)
        .typically(None, None, Some(Duration::from_secs(60)))
    }

    type Item = SdkSubnet;
    const ID_FILTER: &'static str = "subnet-id";
    const NOUN: &'static str = "subnet";

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkSubnet>> {
        let call = aws.ec2.describe_subnets().set_filters(Some(filters));
        all_pages!(call, subnets, "DescribeSubnets")
    }

    fn attributes(&self, _region: &str, s: &SdkSubnet, _prior: Option<&ValueMap>) -> ValueMap {
        let mut a = ValueMap::new();
        opt_str(&mut a, "vpc_id", s.vpc_id());
        opt_str(&mut a, "cidr_block", s.cidr_block());
        opt_str(&mut a, "availability_zone", s.availability_zone());
        opt_str(&mut a, "availability_zone_id", s.availability_zone_id());
        let public = s.map_public_ip_on_launch().unwrap_or(false);
        put(&mut a, "map_public_ip_on_launch", public);
        opt_str(&mut a, "arn", s.subnet_arn());
        a
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
            .create_subnet()
            .vpc_id(props::required_string(p, "vpc_id")?)
            .cidr_block(props::required_string(p, "cidr_block")?)
            .availability_zone(props::required_string(p, "availability_zone")?)
            .tag_specifications(tag_spec(SdkType::Subnet, &tags))
            .send()
            .await
            .map_err(e("CreateSubnet"))?;
        let s = out
            .subnet()
            .ok_or_else(|| ProviderError::other("CreateSubnet returned no subnet"))?;
        let id = s.subnet_id().unwrap_or_default().to_string();
        if props::boolean(p, "map_public_ip_on_launch")? == Some(true) {
            set_public_ip(aws, ctx, &req.address, &id, true).await?;
        }
        let mut o = observe(self, aws, ctx, s, Some(p));
        put(
            &mut o.attributes,
            "map_public_ip_on_launch",
            props::boolean(p, "map_public_ip_on_launch")?.unwrap_or(false),
        );
        Ok(o)
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        if req.changed.iter().any(|c| c == "map_public_ip_on_launch") {
            let on = props::boolean(&req.properties, "map_public_ip_on_launch")?.unwrap_or(false);
            set_public_ip(aws, ctx, &req.address, &req.id, on).await?;
        }
        if req.changed.iter().any(|c| c == "tags") {
            sync_tags(aws, ctx, req).await?;
        }
        one(self, aws, ctx, &req.id, &req.properties).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        Deletion {
            aws,
            ctx,
            address: &req.address,
            vpc_id: props::required_string(&req.prior, "vpc_id")?,
            target: Target::Subnet(req.id.clone()),
            what: format!("subnet {} to have no dependencies", req.id),
        }
        .run(|| async {
            aws.ec2
                .delete_subnet()
                .subnet_id(&req.id)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteSubnet"))
        })
        .await
    }

    /// `InvalidSubnet.Conflict`: a subnet with this CIDR is in the VPC.
    fn taken(&self, p: &ValueMap) -> Answer<Option<Vec<Filter>>> {
        Ok(Some(vec![
            filter("vpc-id", [props::required_string(p, "vpc_id")?]),
            filter("cidr-block", [props::required_string(p, "cidr_block")?]),
        ]))
    }

    /// The subnet of the import's CIDR in the VPC it matched.
    async fn candidates(
        &self,
        aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let p = &req.properties;
        let (Some(vpc), Some(cidr)) =
            (props::string(p, "vpc_id")?, props::string(p, "cidr_block")?)
        else {
            return Err(unsearchable(req, "its VPC was not matched"));
        };
        let filters = vec![
            filter("vpc-id", [vpc.clone()]),
            filter("cidr-block", [cidr.clone()]),
        ];
        search(self, aws, filters, |s| {
            format!("CIDR {cidr} in {vpc}{}", named(s.tags()))
        })
        .await
    }
}
