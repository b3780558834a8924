//! `aws_nat_gateway`: a NAT gateway in a public subnet. Creation passes the engine's token as
//! EC2's `ClientToken` and waits for `available`; deletion waits for `deleted`, since the
//! subnet, address and internet gateway stay busy until then.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ConnectivityType, Filter, NatGateway as SdkNat, NatGatewayState, ResourceType as SdkType,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ImportRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::kind::{all_pages, observe, search, Ec2Item, Ec2Type};
use super::{filter, made_by_filters, opt_str, put, sync_tags, tag_spec};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::import::{named, unsearchable};
use crate::aws::wait::{Poll, Wait};
use crate::aws::{tags, Clients};
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

async fn wait_available(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    id: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let w = Wait {
        ctx,
        address,
        verb: "creating",
        what: format!("NAT gateway {id} to be available"),
        policy: aws.poll,
    };
    w.until(|| async {
        let found = NatGateway.describe(aws, vec![filter("nat-gateway-id", [id.to_string()])]);
        Ok(match found.await?.first() {
            Some(n) if state(n) == NatGatewayState::Available => {
                Poll::Ready(observe(&NatGateway, aws, ctx, n, Some(prior)))
            }
            Some(n) => Poll::Pending(state(n).as_str().to_string()),
            // Just created: not visible yet (eventual consistency).
            None => Poll::Pending("not yet visible".into()),
        })
    })
    .await
}

fn state(n: &SdkNat) -> NatGatewayState {
    n.state().cloned().unwrap_or(NatGatewayState::Pending)
}

#[async_trait]
impl Ec2Type for NatGateway {
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

    type Item = SdkNat;
    const ID_FILTER: &'static str = "nat-gateway-id";
    const NOUN: &'static str = "NAT gateway";

    /// Gateways that exist (not `deleted`/`failed`).
    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkNat>> {
        let call = aws.ec2.describe_nat_gateways().set_filter(Some(filters));
        let mut found: Vec<SdkNat> = all_pages!(call, nat_gateways, "DescribeNatGateways")?;
        found.retain(|n| !matches!(state(n), NatGatewayState::Deleted | NatGatewayState::Failed));
        Ok(found)
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
            .tag_specifications(tag_spec(SdkType::Natgateway, &tags))
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
            let found = self.describe(aws, vec![filter("nat-gateway-id", [req.id.clone()])]);
            Ok(match found.await?.first() {
                None => Poll::Ready(()),
                Some(n) => Poll::Pending(state(n).as_str().to_string()),
            })
        })
        .await
    }

    /// Adopted while pending: available before the routes through it are made.
    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        let found = self.describe(aws, made_by_filters(ctx, &req.token)).await?;
        let p = &req.properties;
        match found.first() {
            None => Ok(None),
            Some(n) if state(n) == NatGatewayState::Available => {
                Ok(Some(observe(self, aws, ctx, n, Some(p))))
            }
            Some(n) => wait_available(aws, ctx, &req.address, n.id(), p)
                .await
                .map(Some),
        }
    }

    /// The live gateways in the subnet the import matched.
    async fn candidates(
        &self,
        aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let Some(subnet) = props::string(&req.properties, "subnet_id")? else {
            return Err(unsearchable(req, "its subnet was not matched"));
        };
        let filters = vec![
            filter("subnet-id", [subnet.clone()]),
            filter("state", ["pending".into(), "available".into()]),
        ];
        search(self, aws, filters, |g| {
            format!("in {subnet}{}", named(g.tags()))
        })
        .await
    }
}
