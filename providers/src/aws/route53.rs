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
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::describe::{self, every_item};
use super::errors::route53 as e;
use super::wait::Poll;
use super::{Clients, Cx, Kind};
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
    let zones: Vec<_> = every_item!(aws.route53.list_hosted_zones(), e("ListHostedZones"))?;
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

impl Key {
    /// The record of `p`'s type named `name` in the zone `zone` (looked up).
    async fn of(aws: &Clients, zone: &str, name: &str, p: &ValueMap) -> Answer<Key> {
        Ok(Key {
            zone_id: zone_id(aws, zone).await?,
            fqdn: fqdn(name, zone),
            rtype: props::string(p, "type")?.unwrap_or_else(|| "CNAME".into()),
        })
    }

    /// The record `p` names.
    async fn named(aws: &Clients, p: &ValueMap) -> Answer<Key> {
        let zone = props::required_string(p, "zone_name")?;
        Key::of(aws, &zone, &props::required_string(p, "name")?, p).await
    }

    fn id(&self) -> String {
        format!("{}/{}/{}", self.zone_id, self.fqdn, self.rtype)
    }
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
    let call = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&k.zone_id);
    let call = call.start_record_name(&k.fqdn).max_items(1);
    let call = call
        .start_record_type(RrType::from(k.rtype.as_str()))
        .send();
    Ok(describe::found(call, e("ListResourceRecordSets"))
        .await?
        .and_then(|o| {
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
        id: k.id(),
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
    cx: Cx<'_>,
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
        .comment(format!("hdh {} {address}", cx.op.stack))
        .build()
        .map_err(build_err)?;
    let out = cx
        .aws
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
    cx.wait(
        address,
        "changing",
        format!("DNS change {id} for {} to be INSYNC", k.fqdn),
    )
    .until(|| async {
        let out = cx
            .aws
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

async fn upsert(cx: Cx<'_>, address: &str, p: &ValueMap) -> Answer<Observed> {
    let k = Key::named(cx.aws, p).await?;
    let ttl = props::int(p, "ttl")?.unwrap_or(300);
    let records = props::string_list(p, "records")?;
    if records.is_empty() {
        return Err(ProviderError::invalid(
            "`records` must name at least one value",
        ));
    }
    let set = record_set(&k, ttl, &records)?;
    change(cx, address, &k, ChangeAction::Upsert, set.clone()).await?;
    Ok(observed(&k, &set, p))
}

#[async_trait]
impl Kind for Record {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| async {
            let k = parse_id(&r.id)?;
            Ok(find(cx.aws, &k)
                .await?
                .map(|set| observed(&k, &set, &r.prior)))
        }))
        .await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        upsert(cx, &req.address, &req.properties).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        upsert(cx, &req.address, &req.properties).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let k = parse_id(&req.id)?;
        // DELETE must name the record exactly as it is: read it first; gone is success.
        let Some(set) = find(cx.aws, &k).await? else {
            return Ok(());
        };
        change(cx, &req.address, &k, ChangeAction::Delete, set).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let p = &req.properties;
        let k = Key::named(cx.aws, p).await?;
        Ok(find(cx.aws, &k).await?.map(|set| observed(&k, &set, p)))
    }

    /// `hdh import`: the record of its name and type in its zone.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        let p = &req.properties;
        let (Some(zone), Some(name)) = (props::string(p, "zone_name")?, props::string(p, "name")?)
        else {
            return Err(unsearchable(req, "its name is not known"));
        };
        let k = Key::of(cx.aws, &zone, &name, p).await?;
        Ok(vec![(k.id(), format!("{} record {}", k.rtype, k.fqdn))])
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
