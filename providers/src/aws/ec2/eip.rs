//! `aws_eip`: an Elastic IP for the NAT gateway. DescribeAddresses is not paged; one call per
//! batch of ids (by filter, so a released address does not fail the batch).

use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, Filter, ResourceType as Ec2Type};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::{
    filter, made_by_filters, opt_str, prior_of, put, read_batched, sync_tags, tag_map, tag_spec,
};
use crate::aws::errors::ec2 as e;
use crate::aws::{tags, Clients, Kind};
use crate::{Answer, Found};

pub(crate) const TYPE: &str = "aws_eip";

pub(crate) struct Eip;

fn observe(aws: &Clients, ctx: &OpContext, ad: &Address, prior: Option<&ValueMap>) -> Observed {
    let empty = ValueMap::new();
    let id = ad.allocation_id().unwrap_or_default().to_string();
    let mut a = ValueMap::new();
    put(&mut a, "domain", ad.domain().map_or("vpc", |d| d.as_str()));
    opt_str(&mut a, "public_ip", ad.public_ip());
    opt_str(&mut a, "allocation_id", ad.allocation_id());
    put(
        &mut a,
        "tags",
        tags::own_view(ctx, &tag_map(ad.tags()), prior.unwrap_or(&empty)),
    );
    put(
        &mut a,
        "arn",
        format!("arn:aws:ec2:{}::elastic-ip/{id}", aws.region),
    );
    Observed { id, attributes: a }
}

async fn describe(
    aws: &Clients,
    ctx: &OpContext,
    filters: Vec<Filter>,
    requests: &[ReadRequest],
) -> Answer<Vec<Observed>> {
    let out = aws
        .ec2
        .describe_addresses()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(e("DescribeAddresses"))?;
    Ok(out
        .addresses()
        .iter()
        .map(|ad| {
            observe(
                aws,
                ctx,
                ad,
                prior_of(requests, ad.allocation_id().unwrap_or_default()),
            )
        })
        .collect())
}

async fn one(aws: &Clients, ctx: &OpContext, id: &str, prior: &ValueMap) -> Answer<Observed> {
    let req = ReadRequest {
        address: String::new(),
        id: id.to_string(),
        prior: prior.clone(),
    };
    describe(
        aws,
        ctx,
        vec![filter("allocation-id", [id.to_string()])],
        std::slice::from_ref(&req),
    )
    .await?
    .pop()
    .ok_or_else(|| ProviderError::NotFound {
        message: format!("address {id} not found"),
    })
}

#[async_trait]
impl Kind for Eip {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            TYPE,
            "An Elastic IP address.",
            vec![
                AttributeSpec::optional("domain", ValueType::String, Some(Value::str("vpc")))
                    .force_new(),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("public_ip", ValueType::String),
                AttributeSpec::computed("allocation_id", ValueType::String),
                AttributeSpec::computed("arn", ValueType::String),
            ],
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        read_batched(requests, |ids| {
            describe(aws, ctx, vec![filter("allocation-id", ids)], requests)
        })
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let tags = tags::for_create(ctx, &req.address, &req.token, &req.properties)?;
        let out = aws
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(Ec2Type::ElasticIp, &tags))
            .send()
            .await
            .map_err(e("AllocateAddress"))?;
        let id = out.allocation_id().unwrap_or_default().to_string();
        let mut a = ValueMap::new();
        put(&mut a, "domain", "vpc");
        opt_str(&mut a, "public_ip", out.public_ip());
        put(&mut a, "allocation_id", id.clone());
        put(
            &mut a,
            "tags",
            Value::Map(
                tags::user_tags(&req.properties)?
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ),
        );
        put(
            &mut a,
            "arn",
            format!("arn:aws:ec2:{}::elastic-ip/{id}", aws.region),
        );
        Ok(Observed { id, attributes: a })
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        sync_tags(aws, ctx, req).await?;
        one(aws, ctx, &req.id, &req.properties).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let w = crate::aws::wait::Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("address {} to be released", req.id),
            policy: aws.poll,
        };
        // Still associated while the NAT gateway finishes going away.
        w.retrying(crate::aws::wait::dependency, || async {
            crate::aws::errors::gone_is_ok(
                aws.ec2
                    .release_address()
                    .allocation_id(&req.id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("ReleaseAddress")),
            )
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        Ok(describe(aws, ctx, made_by_filters(ctx, &req.token), &[])
            .await?
            .pop())
    }
}
