//! `aws_nat_gateway`: a NAT gateway in a public subnet. Creation passes the engine's token as
//! EC2's `ClientToken`; the gateway is ready once `available` (`Ec2Type::READY`, which
//! `kind::settled` waits for after a create, an update or recovery); deletion waits for
//! `deleted`, since the subnet, address and internet gateway stay busy until then.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ConnectivityType, Filter, NatGateway as SdkNat, NatGatewayState, ResourceType as SdkType,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest};
use hdh_engine::{Observed, ValueMap};

use super::kind::{all_pages, settled, until_gone, Ec2Item, Ec2Type};
use super::{answered, create_tagged, done, opt_str, put};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::import::named;
use crate::aws::token::client_token;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct NatGateway;

fn state(n: &SdkNat) -> NatGatewayState {
    n.state().cloned().unwrap_or(NatGatewayState::Pending)
}

#[async_trait]
impl Ec2Type for NatGateway {
    type Item = SdkNat;
    const ID_FILTER: &'static str = "nat-gateway-id";
    const NOUN: &'static str = "NAT gateway";
    const READY: &'static str = "available";
    /// Import looks for the live gateways ([`NatGateway::describe`]) in its subnet.
    const PLACE: &'static [(&'static str, &'static str)] = &[("subnet-id", "subnet_id")];
    const UNMATCHED: &'static str = "its subnet was not matched";

    /// Gateways that exist (not `deleted`/`failed`).
    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkNat>> {
        let call = aws.ec2.describe_nat_gateways().set_filter(Some(filters));
        let mut found: Vec<SdkNat> = all_pages!(call, nat_gateways, "DescribeNatGateways")?;
        found.retain(|n| !matches!(state(n), NatGatewayState::Deleted | NatGatewayState::Failed));
        Ok(found)
    }

    fn state(&self, n: &SdkNat) -> Option<String> {
        Some(state(n).as_str().to_string())
    }

    fn matched_by(&self, n: &SdkNat) -> String {
        format!(
            "in {}{}",
            n.subnet_id().unwrap_or_default(),
            named(n.tags())
        )
    }

    fn attributes(&self, region: &str, n: &SdkNat, _prior: Option<&ValueMap>) -> ValueMap {
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
        let connectivity = n.connectivity_type().map_or("public", |c| c.as_str());
        put(&mut a, "connectivity_type", connectivity);
        opt_str(&mut a, "vpc_id", n.vpc_id());
        put(
            &mut a,
            "arn",
            format!("arn:aws:ec2:{region}::natgateway/{}", n.id()),
        );
        a
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let connectivity =
            props::string(p, "connectivity_type")?.unwrap_or_else(|| "public".into());
        let call = cx.aws.ec2.create_nat_gateway();
        let call = call
            .subnet_id(props::required_string(p, "subnet_id")?)
            .set_allocation_id(props::string(p, "allocation_id")?)
            .connectivity_type(ConnectivityType::from(connectivity.as_str()))
            .client_token(client_token(&req.token));
        let out = create_tagged!(call, cx, req, SdkType::Natgateway, "CreateNatGateway")?;
        let gateway = out.nat_gateway().and_then(|n| n.nat_gateway_id());
        let id = answered(gateway, "CreateNatGateway", "no id")?.to_string();
        settled(self, cx, (&req.address, "creating"), &id, p).await
    }

    /// Waits until it is deleted: its subnet, address and internet gateway stay busy until then.
    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let call = cx.aws.ec2.delete_nat_gateway().nat_gateway_id(&req.id);
        gone_is_ok(done(call.send(), e("DeleteNatGateway")).await)?;
        until_gone(self, cx, &req.address, &req.id).await
    }
}
