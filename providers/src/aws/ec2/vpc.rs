//! `aws_vpc`: the stack's network. DNS support and hostnames are on by default (EKS needs
//! both); DescribeVpcs does not return them, so read (and the search after an interrupted
//! create, which may have stopped before setting them) asks DescribeVpcAttribute for each.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType as SdkType, Vpc as SdkVpc, VpcAttributeName,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ImportRequest, UpdateRequest};
use hdh_engine::{Observed, Value, ValueMap};

use super::blockers::{Deletion, Target};
use super::kind::{all_pages, known, observe, Ec2Item, Ec2Type};
use super::{answered, carried, create_tagged, done, filter, opt_str, put};
use crate::aws::errors::ec2 as e;
use crate::aws::import::named;
use crate::aws::wait;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct Vpc;

/// The inputs DescribeVpcs does not say.
const DNS: [&str; 2] = ["enable_dns_support", "enable_dns_hostnames"];

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

async fn set_dns(
    cx: Cx<'_>,
    address: &str,
    id: &str,
    props_: &ValueMap,
    only_changed: Option<&[String]>,
) -> Answer<()> {
    let w = cx.wait(address, "configuring", format!("VPC {id} to be visible"));
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
            let mut call = cx.aws.ec2.modify_vpc_attribute().vpc_id(id);
            call = if hostnames {
                call.enable_dns_hostnames(value.clone())
            } else {
                call.enable_dns_support(value.clone())
            };
            done(call.send(), e("ModifyVpcAttribute"))
        })
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Ec2Type for Vpc {
    type Item = SdkVpc;
    const ID_FILTER: &'static str = "vpc-id";
    const NOUN: &'static str = "VPC";

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkVpc>> {
        let call = aws.ec2.describe_vpcs().set_filters(Some(filters));
        all_pages!(call, vpcs, "DescribeVpcs")
    }

    fn attributes(&self, region: &str, v: &SdkVpc, prior: Option<&ValueMap>) -> ValueMap {
        let mut a = carried(prior, &DNS);
        opt_str(&mut a, "cidr_block", v.cidr_block());
        opt_str(&mut a, "owner_id", v.owner_id());
        let (owner, id) = (v.owner_id().unwrap_or_default(), v.id());
        put(
            &mut a,
            "arn",
            format!("arn:aws:ec2:{region}:{owner}:vpc/{id}"),
        );
        a
    }

    /// DescribeVpcs does not say the DNS settings; a create stopped before it set DNS
    /// hostnames shows so, and the plan sets them.
    async fn complete(&self, aws: &Clients, mut o: Observed) -> Answer<Observed> {
        read_dns(aws, &mut o).await?;
        Ok(o)
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let call = cx.aws.ec2.create_vpc();
        let call = call.cidr_block(props::required_string(p, "cidr_block")?);
        let out = create_tagged!(call, cx, req, SdkType::Vpc, "CreateVpc")?;
        let vpc = answered(out.vpc(), "CreateVpc", "no VPC")?;
        let id = vpc.vpc_id().unwrap_or_default().to_string();
        set_dns(cx, &req.address, &id, p, None).await?;
        let mut o = observe(self, cx, vpc, Some(p));
        o.attributes.extend(carried(Some(p), &DNS));
        Ok(o)
    }

    async fn change(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<()> {
        let (p, changed) = (&req.properties, Some(req.changed.as_slice()));
        set_dns(cx, &req.address, &req.id, p, changed).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        Deletion::new(cx, &req.address, req.id.clone(), Target::Vpc)
            .run(|| {
                done(
                    cx.aws.ec2.delete_vpc().vpc_id(&req.id).send(),
                    e("DeleteVpc"),
                )
            })
            .await
    }

    /// Other than default VPCs of the import's CIDR.
    async fn candidates(
        &self,
        aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let [cidr] = known(req, ["cidr_block"], "its CIDR block is not known")?;
        let mut found = self
            .describe(aws, vec![filter("cidr", [cidr.clone()])])
            .await?;
        found.retain(|v| v.is_default() != Some(true));
        Ok(found
            .iter()
            .map(|v| {
                (
                    v.id().to_string(),
                    format!("CIDR {cidr}{}", named(v.tags())),
                )
            })
            .collect())
    }
}
