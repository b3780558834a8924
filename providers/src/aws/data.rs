//! Read-only lookups modelled as resource types that create nothing ([`Lookup`], served as a
//! `Kind` by [`Looked`]; `ec2::pvc_volumes` is one too): `aws_availability_zones` (the
//! region's zones) and `aws_caller_identity` (the account). "Create" looks the data up and
//! records it; refresh looks again; delete forgets. Instance-type offerings are checked by
//! the provider's preflight instead (see `eks::preflight`), where a missing type fails the plan.

use async_trait::async_trait;
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::ec2::filter;
use super::errors::{ec2 as e, sts};
use super::{join_all, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct AvailabilityZones;
pub(crate) struct CallerIdentity;

async fn zones(aws: &Clients, p: &ValueMap) -> Answer<Observed> {
    let state = props::string(p, "state")?.unwrap_or_else(|| "available".into());
    let out = aws
        .ec2
        .describe_availability_zones()
        .filters(filter("state", [state.clone()]))
        .send()
        .await
        .map_err(e("DescribeAvailabilityZones"))?;
    let zs = out.availability_zones();
    let mut a = ValueMap::new();
    a.insert("state".into(), Value::str(&state));
    a.insert(
        "names".into(),
        props::str_list(zs.iter().filter_map(|z| z.zone_name())),
    );
    a.insert(
        "zone_ids".into(),
        props::str_list(zs.iter().filter_map(|z| z.zone_id())),
    );
    Ok(Observed {
        id: aws.region.clone(),
        attributes: a,
    })
}

async fn identity(aws: &Clients) -> Answer<Observed> {
    let out = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(sts("GetCallerIdentity"))?;
    let mut a = ValueMap::new();
    let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
    a.insert("account_id".into(), s(out.account()));
    a.insert("arn".into(), s(out.arn()));
    a.insert("user_id".into(), s(out.user_id()));
    Ok(Observed {
        id: out.account().unwrap_or_default().to_string(),
        attributes: a,
    })
}

/// A type whose create makes nothing in AWS: it looks up what is there, for its properties.
/// Create, update and the search after an interrupted create look it up; refresh looks again;
/// delete forgets it unless the type says otherwise.
#[async_trait]
pub(crate) trait Lookup: Send + Sync {
    /// What there is for properties `p`.
    async fn look(&self, aws: &Clients, p: &ValueMap) -> Answer<Observed>;

    /// Refresh: each request looked up again with what state holds.
    async fn read(&self, aws: &Clients, requests: &[ReadRequest]) -> Vec<Found> {
        join_all(
            requests
                .iter()
                .map(|r| async { self.look(aws, &r.prior).await.map(Some) }),
        )
        .await
    }

    /// Default: forgotten; nothing in AWS is hdh's to remove.
    async fn delete(&self, _cx: Cx<'_>, _req: &DeleteRequest) -> Answer<()> {
        Ok(())
    }

    /// `hdh import`: the id its properties name, if they do. Default: none.
    fn natural_id(&self, _p: &ValueMap) -> Answer<Option<String>> {
        Ok(None)
    }
}

/// Serves a [`Lookup`] as a [`Kind`].
pub(crate) struct Looked<T>(pub T);

#[async_trait]
impl<T: Lookup> Kind for Looked<T> {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        self.0.read(cx.aws, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        self.0.look(cx.aws, &req.properties).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        self.0.look(cx.aws, &req.properties).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        self.0.delete(cx, req).await
    }

    /// The create made nothing: what there is, is what it would have recorded.
    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        self.0.look(cx.aws, &req.properties).await.map(Some)
    }

    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        self.0.natural_id(p)
    }

    /// Without a name, made at apply time from nothing outside hdh: nothing to adopt.
    async fn candidates(&self, _cx: Cx<'_>, _req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl Lookup for AvailabilityZones {
    async fn look(&self, aws: &Clients, p: &ValueMap) -> Answer<Observed> {
        zones(aws, p).await
    }
}

#[async_trait]
impl Lookup for CallerIdentity {
    async fn look(&self, aws: &Clients, _p: &ValueMap) -> Answer<Observed> {
        identity(aws).await
    }

    /// One identity for every request.
    async fn read(&self, aws: &Clients, requests: &[ReadRequest]) -> Vec<Found> {
        if requests.is_empty() {
            return Vec::new();
        }
        let r = identity(aws).await;
        requests
            .iter()
            .map(|_| match &r {
                Ok(o) => Ok(Some(o.clone())),
                Err(err) => Err(ProviderError::other(err.to_string())),
            })
            .collect()
    }
}
