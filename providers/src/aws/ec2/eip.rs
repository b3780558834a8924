//! `aws_eip`: an Elastic IP for the NAT gateway. DescribeAddresses is not paged; one call per
//! batch of ids (by filter, so a released address does not fail the batch).

use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, Filter, ResourceType as SdkType};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ImportRequest};
use hdh_engine::{Observed, ValueMap};

use super::kind::{Ec2Item, Ec2Type};
use super::lifecycle::delete_when_free;
use super::nat_gateway::NatGateway;
use super::{create_tagged, done, filter, opt_str, put};
use crate::aws::errors::ec2 as e;
use crate::aws::{tags, Clients, Cx};
use crate::props::str_map;
use crate::Answer;

pub(crate) struct Eip;

fn arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}::elastic-ip/{id}")
}

#[async_trait]
impl Ec2Type for Eip {
    type Item = Address;
    const ID_FILTER: &'static str = "allocation-id";
    const NOUN: &'static str = "address";

    /// DescribeAddresses is not paged.
    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<Address>> {
        let call = aws.ec2.describe_addresses().set_filters(Some(filters));
        let out = call.send().await.map_err(e("DescribeAddresses"))?;
        Ok(out.addresses.unwrap_or_default())
    }

    fn attributes(&self, region: &str, ad: &Address, _prior: Option<&ValueMap>) -> ValueMap {
        let mut a = ValueMap::new();
        put(&mut a, "domain", ad.domain().map_or("vpc", |d| d.as_str()));
        opt_str(&mut a, "public_ip", ad.public_ip());
        opt_str(&mut a, "allocation_id", ad.allocation_id());
        put(&mut a, "arn", arn(region, ad.id()));
        a
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let call = cx.aws.ec2.allocate_address().domain(DomainType::Vpc);
        let out = create_tagged!(call, cx, req, SdkType::ElasticIp, "AllocateAddress")?;
        let id = out.allocation_id().unwrap_or_default().to_string();
        let mut a = ValueMap::new();
        put(&mut a, "domain", "vpc");
        opt_str(&mut a, "public_ip", out.public_ip());
        put(&mut a, "allocation_id", id.clone());
        put(&mut a, "tags", str_map(tags::user_tags(&req.properties)?));
        put(&mut a, "arn", arn(&cx.aws.region, &id));
        Ok(Observed { id, attributes: a })
    }

    /// Released, waiting while it is still associated (its NAT gateway going away).
    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let what = format!("address {} to be released", req.id);
        delete_when_free(cx, &req.address, what, || {
            let call = cx.aws.ec2.release_address().allocation_id(&req.id);
            done(call.send(), e("ReleaseAddress"))
        })
        .await
    }

    /// An Elastic IP has no parent: the ones NAT gateways use are the candidates.
    async fn candidates(
        &self,
        aws: &Clients,
        _req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let live = filter("state", ["pending".into(), "available".into()]);
        let gateways = NatGateway.describe(aws, vec![live]).await?;
        Ok(gateways
            .iter()
            .flat_map(|g| {
                let nat = g.id();
                g.nat_gateway_addresses()
                    .iter()
                    .filter_map(|a| a.allocation_id())
                    .map(move |id| (id.to_string(), format!("address of NAT gateway {nat}")))
            })
            .collect())
    }
}
