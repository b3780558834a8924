//! `aws_internet_gateway`: an internet gateway and its attachment to a VPC. Destroy detaches
//! first, waiting while AWS still maps public addresses in the VPC (a NAT gateway going away).

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, InternetGateway as SdkIgw, ResourceType as SdkType};
use hdh_engine::provider::{CreateRequest, DeleteRequest};
use hdh_engine::{Observed, ValueMap};

use super::blockers::{Deletion, Target};
use super::kind::{all_pages, settled, Ec2Item, Ec2Type};
use super::lifecycle::delete_when_free;
use super::{answered, create_tagged, done, opt_str, put};
use crate::aws::errors::ec2 as e;
use crate::aws::wait;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct InternetGateway;

#[async_trait]
impl Ec2Type for InternetGateway {
    type Item = SdkIgw;
    const ID_FILTER: &'static str = "internet-gateway-id";
    const NOUN: &'static str = "internet gateway";
    /// Import looks for the gateway attached to its VPC.
    const PLACE: &'static [(&'static str, &'static str)] = &[("attachment.vpc-id", "vpc_id")];

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkIgw>> {
        let call = aws
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(filters));
        all_pages!(call, internet_gateways, "DescribeInternetGateways")
    }

    fn matched_by(&self, g: &SdkIgw) -> String {
        let vpc = g.attachments().iter().find_map(|at| at.vpc_id());
        format!("attached to {}", vpc.unwrap_or_default())
    }

    fn attributes(&self, region: &str, g: &SdkIgw, _prior: Option<&ValueMap>) -> ValueMap {
        let mut a = ValueMap::new();
        let vpc = g.attachments().iter().find_map(|at| at.vpc_id());
        opt_str(&mut a, "vpc_id", vpc);
        let (owner, id) = (g.owner_id().unwrap_or_default(), g.id());
        let arn = format!("arn:aws:ec2:{region}:{owner}:internet-gateway/{id}");
        put(&mut a, "arn", arn);
        a
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let vpc_id = props::required_string(p, "vpc_id")?;
        let call = cx.aws.ec2.create_internet_gateway();
        let out = create_tagged!(
            call,
            cx,
            req,
            SdkType::InternetGateway,
            "CreateInternetGateway"
        )?;
        let gateway = out.internet_gateway().and_then(|g| g.internet_gateway_id());
        let id = answered(gateway, "CreateInternetGateway", "no id")?.to_string();
        let what = format!("internet gateway {id} to attach");
        cx.wait(&req.address, "creating", what)
            .retrying(wait::not_yet_visible, || {
                let call = cx
                    .aws
                    .ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&id);
                done(call.vpc_id(&vpc_id).send(), e("AttachInternetGateway"))
            })
            .await?;
        settled(self, cx, (&req.address, "creating"), &id, p).await
    }

    /// Detached first (waiting while public addresses are still mapped in the VPC), then deleted.
    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        if let Some(vpc_id) = props::string(&req.prior, "vpc_id")? {
            let target = Target::PublicAddresses(req.id.clone());
            Deletion::new(cx, &req.address, vpc_id.clone(), target)
                .run(|| {
                    let call = cx
                        .aws
                        .ec2
                        .detach_internet_gateway()
                        .internet_gateway_id(&req.id);
                    done(call.vpc_id(&vpc_id).send(), e("DetachInternetGateway"))
                })
                .await?;
        }
        let what = format!("internet gateway {} to detach", req.id);
        delete_when_free(cx, &req.address, what, || {
            let call = cx
                .aws
                .ec2
                .delete_internet_gateway()
                .internet_gateway_id(&req.id);
            done(call.send(), e("DeleteInternetGateway"))
        })
        .await
    }
}
