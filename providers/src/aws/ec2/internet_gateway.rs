//! `aws_internet_gateway`: an internet gateway and its attachment to a VPC. Destroy detaches
//! first, waiting while AWS still maps public addresses in the VPC (a NAT gateway going away).

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, InternetGateway as SdkIgw, ResourceType as SdkType};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ImportRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, ValueMap, ValueType,
};
use std::time::Duration;

use super::blockers::{Deletion, Target};
use super::kind::{all_pages, once_visible, one, search, Ec2Item, Ec2Type};
use super::{filter, opt_str, put, sync_tags, tag_spec};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::import::unsearchable;
use crate::aws::wait::{self, Wait};
use crate::aws::{tags, Clients};
use crate::props;
use crate::Answer;

pub(crate) const TYPE: &str = "aws_internet_gateway";

pub(crate) struct InternetGateway;

#[async_trait]
impl Ec2Type for InternetGateway {
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

    type Item = SdkIgw;
    const ID_FILTER: &'static str = "internet-gateway-id";
    const NOUN: &'static str = "internet gateway";

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkIgw>> {
        let call = aws
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(filters));
        all_pages!(call, internet_gateways, "DescribeInternetGateways")
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
            .tag_specifications(tag_spec(SdkType::InternetGateway, &tags))
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
        once_visible(self, aws, ctx, req, &id).await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        sync_tags(aws, ctx, req).await?;
        one(self, aws, ctx, &req.id, &req.properties).await
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

    /// Gateways attached to the VPC the import matched.
    async fn candidates(
        &self,
        aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let Some(vpc) = props::string(&req.properties, "vpc_id")? else {
            return Err(unsearchable(req, "its VPC was not matched"));
        };
        let filters = vec![filter("attachment.vpc-id", [vpc.clone()])];
        search(self, aws, filters, |_| format!("attached to {vpc}")).await
    }
}
