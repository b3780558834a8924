//! `aws_subnet`: one subnet in one availability zone. Only public-IP mapping and tags change in
//! place.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType as SdkType, Subnet as SdkSubnet,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, UpdateRequest};
use hdh_engine::{Observed, ValueMap};

use super::blockers::{Deletion, Target};
use super::kind::{all_pages, observe, Ec2Type};
use super::{answered, create_tagged, done, opt_str, put};
use crate::aws::errors::ec2 as e;
use crate::aws::import::named;
use crate::aws::wait;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) const TYPE: &str = "aws_subnet";

pub(crate) struct Subnet;

async fn set_public_ip(cx: Cx<'_>, address: &str, id: &str, on: bool) -> Answer<()> {
    let what = format!("subnet {id} to be visible");
    let public = AttributeBooleanValue::builder().value(on).build();
    cx.wait(address, "configuring", what)
        .retrying(wait::not_yet_visible, || {
            let call = cx.aws.ec2.modify_subnet_attribute().subnet_id(id);
            let call = call.map_public_ip_on_launch(public.clone());
            done(call.send(), e("ModifySubnetAttribute"))
        })
        .await
}

#[async_trait]
impl Ec2Type for Subnet {
    type Item = SdkSubnet;
    const ID_FILTER: &'static str = "subnet-id";
    const NOUN: &'static str = "subnet";
    /// A CIDR is unique in its VPC: `InvalidSubnet.Conflict` when it is taken.
    const PLACE: &'static [(&'static str, &'static str)] =
        &[("vpc-id", "vpc_id"), ("cidr-block", "cidr_block")];
    const ADOPTS_IN_PLACE: bool = true;

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkSubnet>> {
        let call = aws.ec2.describe_subnets().set_filters(Some(filters));
        all_pages!(call, subnets, "DescribeSubnets")
    }

    fn matched_by(&self, s: &SdkSubnet) -> String {
        let (cidr, vpc) = (
            s.cidr_block().unwrap_or_default(),
            s.vpc_id().unwrap_or_default(),
        );
        format!("CIDR {cidr} in {vpc}{}", named(s.tags()))
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

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let s = |k: &str| props::required_string(p, k);
        let call = cx.aws.ec2.create_subnet().vpc_id(s("vpc_id")?);
        let call = call.cidr_block(s("cidr_block")?);
        let call = call.availability_zone(s("availability_zone")?);
        let out = create_tagged!(call, cx, req, SdkType::Subnet, "CreateSubnet")?;
        let s = answered(out.subnet(), "CreateSubnet", "no subnet")?;
        let id = s.subnet_id().unwrap_or_default().to_string();
        if props::boolean(p, "map_public_ip_on_launch")? == Some(true) {
            set_public_ip(cx, &req.address, &id, true).await?;
        }
        let mut o = observe(self, cx, s, Some(p));
        put(
            &mut o.attributes,
            "map_public_ip_on_launch",
            props::boolean(p, "map_public_ip_on_launch")?.unwrap_or(false),
        );
        Ok(o)
    }

    async fn change(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<()> {
        if !req.changed.iter().any(|c| c == "map_public_ip_on_launch") {
            return Ok(());
        }
        let on = props::boolean(&req.properties, "map_public_ip_on_launch")?.unwrap_or(false);
        set_public_ip(cx, &req.address, &req.id, on).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let vpc = props::required_string(&req.prior, "vpc_id")?;
        Deletion::new(cx, &req.address, vpc, Target::Subnet(req.id.clone()))
            .run(|| {
                done(
                    cx.aws.ec2.delete_subnet().subnet_id(&req.id).send(),
                    e("DeleteSubnet"),
                )
            })
            .await
    }
}
