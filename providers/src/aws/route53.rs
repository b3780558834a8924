//! `aws_route53_record`: one DNS record in a hosted zone that already exists. The zone is
//! looked up by name (never created); writes are UPSERTs, so a create after a crash or over a
//! hand-made record converges; every change waits until Route 53 reports it INSYNC.
//!
//! The record's id is `<zone id>/<fqdn>/<type>`.

use async_trait::async_trait;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::errors::{absent_if_not_found, route53 as e};
use super::wait::{Poll, Wait};
use super::{Clients, Kind};
use crate::aws::import::unsearchable;
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Record;

fn build_err(err: impl std::fmt::Display) -> ProviderError {
    ProviderError::other(err.to_string())
}

/// `example.org` and `example.org.` are the same zone.
fn dotted(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// The record's full name: `name` inside `zone` unless it already ends with it.
pub(crate) fn fqdn(name: &str, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    let name = name.trim_end_matches('.');
    if name == zone || name.ends_with(&format!(".{zone}")) {
        name.to_string()
    } else {
        format!("{name}.{zone}")
    }
}

/// The id of the public hosted zone named `zone`: looked up, never created.
pub(crate) async fn zone_id(aws: &Clients, zone: &str) -> Answer<String> {
    let zones: Vec<_> = aws
        .route53
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(e("ListHostedZones"))?;
    let want = dotted(zone);
    zones
        .iter()
        .find(|z| z.name() == want && !z.config().is_some_and(|c| c.private_zone()))
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "no public hosted zone named `{zone}` in this account: hdh never creates the zone; \
                 create or delegate it first"
            ))
        })
}

struct Key {
    zone_id: String,
    fqdn: String,
    rtype: String,
}

fn parse_id(id: &str) -> Answer<Key> {
    let mut it = id.splitn(3, '/');
    match (it.next(), it.next(), it.next()) {
        (Some(z), Some(n), Some(t)) => Ok(Key {
            zone_id: z.into(),
            fqdn: n.into(),
            rtype: t.into(),
        }),
        _ => Err(ProviderError::invalid(format!("bad record id `{id}`"))),
    }
}

async fn find(aws: &Clients, k: &Key) -> Answer<Option<ResourceRecordSet>> {
    let out = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&k.zone_id)
        .start_record_name(&k.fqdn)
        .start_record_type(RrType::from(k.rtype.as_str()))
        .max_items(1)
        .send()
        .await
        .map_err(e("ListResourceRecordSets"));
    Ok(absent_if_not_found(out)?.and_then(|o| {
        o.resource_record_sets()
            .iter()
            .find(|r| r.name() == dotted(&k.fqdn) && r.r#type().as_str() == k.rtype)
            .cloned()
    }))
}

fn observed(k: &Key, r: &ResourceRecordSet, prior: &ValueMap) -> Observed {
    let mut a = ValueMap::new();
    for carried in ["zone_name", "name"] {
        if let Some(v) = prior.get(carried) {
            a.insert(carried.into(), v.unmarked());
        }
    }
    a.insert("type".into(), Value::str(r.r#type().as_str()));
    a.insert("ttl".into(), Value::int(r.ttl().unwrap_or(300)));
    a.insert(
        "records".into(),
        props::str_list(r.resource_records().iter().map(|v| v.value())),
    );
    a.insert("zone_id".into(), Value::str(&k.zone_id));
    a.insert("fqdn".into(), Value::str(&k.fqdn));
    Observed {
        id: format!("{}/{}/{}", k.zone_id, k.fqdn, k.rtype),
        attributes: a,
    }
}

fn record_set(k: &Key, ttl: i64, records: &[String]) -> Answer<ResourceRecordSet> {
    ResourceRecordSet::builder()
        .name(&k.fqdn)
        .r#type(RrType::from(k.rtype.as_str()))
        .ttl(ttl)
        .set_resource_records(Some(
            records
                .iter()
                .map(|v| {
                    ResourceRecord::builder()
                        .value(v)
                        .build()
                        .map_err(build_err)
                })
                .collect::<Result<_, _>>()?,
        ))
        .build()
        .map_err(build_err)
}

/// Submits one change and waits until it is INSYNC.
async fn change(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    k: &Key,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Answer<()> {
    let batch = ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(build_err)?,
        )
        .comment(format!("hdh {} {address}", ctx.stack))
        .build()
        .map_err(build_err)?;
    let out = aws
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(&k.zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(e("ChangeResourceRecordSets"))?;
    let Some(info) = out.change_info() else {
        return Ok(());
    };
    if info.status() == &ChangeStatus::Insync {
        return Ok(());
    }
    let id = info.id().to_string();
    Wait {
        ctx,
        address,
        verb: "changing",
        what: format!("DNS change {id} for {} to be INSYNC", k.fqdn),
        policy: aws.poll,
    }
    .until(|| async {
        let out = aws
            .route53
            .get_change()
            .id(&id)
            .send()
            .await
            .map_err(e("GetChange"))?;
        match out.change_info().map(|c| c.status().clone()) {
            Some(ChangeStatus::Insync) | None => Ok(Poll::Ready(())),
            Some(s) => Ok(Poll::Pending(s.as_str().into())),
        }
    })
    .await
}

async fn upsert(aws: &Clients, ctx: &OpContext, address: &str, p: &ValueMap) -> Answer<Observed> {
    let zone = props::required_string(p, "zone_name")?;
    let k = Key {
        zone_id: zone_id(aws, &zone).await?,
        fqdn: fqdn(&props::required_string(p, "name")?, &zone),
        rtype: props::string(p, "type")?.unwrap_or_else(|| "CNAME".into()),
    };
    let ttl = props::int(p, "ttl")?.unwrap_or(300);
    let records = props::string_list(p, "records")?;
    if records.is_empty() {
        return Err(ProviderError::invalid(
            "`records` must name at least one value",
        ));
    }
    let set = record_set(&k, ttl, &records)?;
    change(aws, ctx, address, &k, ChangeAction::Upsert, set.clone()).await?;
    Ok(observed(&k, &set, p))
}

#[async_trait]
impl Kind for Record {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            "aws_route53_record",
            "A DNS record in an existing public hosted zone (looked up by name, never created).",
            vec![
                AttributeSpec::required("zone_name", ValueType::String)
                    .force_new()
                    .describe("The hosted zone, e.g. example.org."),
                AttributeSpec::required("name", ValueType::String)
                    .force_new()
                    .describe("The record, e.g. daskhub (inside the zone)."),
                AttributeSpec::optional("type", ValueType::String, Some(Value::str("CNAME")))
                    .force_new(),
                AttributeSpec::optional("ttl", ValueType::Integer, Some(Value::int(300))),
                AttributeSpec::required("records", ValueType::List(Box::new(ValueType::String))),
                AttributeSpec::computed("zone_id", ValueType::String),
                AttributeSpec::computed("fqdn", ValueType::String),
            ],
        )
        // typical durations (INSYNC)
        .typically(
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(60)),
        )
    }

    async fn read(&self, aws: &Clients, _ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| async {
            let k = parse_id(&r.id)?;
            Ok(find(aws, &k).await?.map(|set| observed(&k, &set, &r.prior)))
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        upsert(aws, ctx, &req.address, &req.properties).await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        upsert(aws, ctx, &req.address, &req.properties).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let k = parse_id(&req.id)?;
        // DELETE must name the record exactly as it is: read it first; gone is success.
        let Some(set) = find(aws, &k).await? else {
            return Ok(());
        };
        change(aws, ctx, &req.address, &k, ChangeAction::Delete, set).await
    }

    async fn find_created(&self, aws: &Clients, _ctx: &OpContext, req: &CreateRequest) -> Found {
        let p = &req.properties;
        let zone = props::required_string(p, "zone_name")?;
        let k = Key {
            zone_id: zone_id(aws, &zone).await?,
            fqdn: fqdn(&props::required_string(p, "name")?, &zone),
            rtype: props::string(p, "type")?.unwrap_or_else(|| "CNAME".into()),
        };
        Ok(find(aws, &k).await?.map(|set| observed(&k, &set, p)))
    }

    /// `hdh import`: the record of its name and type in its zone.
    async fn candidates(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let p = &req.properties;
        let (Some(zone), Some(name)) = (props::string(p, "zone_name")?, props::string(p, "name")?)
        else {
            return Err(unsearchable(req, "its name is not known"));
        };
        let zone_id = zone_id(aws, &zone).await?;
        let fqdn = fqdn(&name, &zone);
        let rtype = props::string(p, "type")?.unwrap_or_else(|| "CNAME".into());
        let id = format!("{zone_id}/{fqdn}/{rtype}");
        Ok(vec![(id, format!("{rtype} record {fqdn}"))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_completed_inside_the_zone() {
        assert_eq!(fqdn("daskhub", "example.org"), "daskhub.example.org");
        assert_eq!(
            fqdn("daskhub.example.org.", "example.org."),
            "daskhub.example.org"
        );
        assert_eq!(dotted("example.org"), "example.org.");
    }
}
