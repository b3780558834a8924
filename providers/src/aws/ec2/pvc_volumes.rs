//! `aws_ebs_pvc_volumes`: the EBS volumes the EBS CSI driver made for one cluster's
//! PersistentVolumeClaims (the hub's database among them). hdh does not make them — Kubernetes
//! does, when a claim is bound — but they hold users' data and outlive the cluster (their
//! StorageClass keeps them: `reclaimPolicy: Retain`), so the stack tracks them as one resource
//! that is retained like the file system: `destroy --keep-retained` lists and keeps them,
//! `destroy --delete-retained` deletes them.
//!
//! Invariants:
//! - A volume is this cluster's only if its tags say so: `hdh:cluster` = the cluster (which the
//!   StorageClass asks the driver for with `tagSpecification_1: hdh:cluster=<cluster>`; the
//!   driver's own `kubernetes.io/cluster/<id>` tag needs its `--k8s-tag-cluster-id` flag, which the
//!   EKS add-on does not set), and the driver's `ebs.csi.aws.com/cluster` = `true` and
//!   `kubernetes.io/created-for/pvc/name` (every volume it provisions for a claim). Nothing else
//!   is listed or touched.
//! - Creating makes nothing in AWS (the id is `pvc-volumes/<cluster>`); reading lists the volumes
//!   (DescribeVolumes through the paginator, by those tags).
//! - Volumes are deleted only for a purge (`--delete-retained`); any other delete of volumes that
//!   still exist is refused, naming them. A volume still attached (`in-use`) is waited for with
//!   the operation's deadline and backoff; one already gone is deleted. Each deletion is reported
//!   (`OpContext::cleaned_up`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Volume, VolumeState};
use hdh_engine::provider::{DeleteRequest, ReadRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::super::data::Lookup;
use super::super::errors::ec2 as e;
use super::super::wait::Poll;
use super::super::{Clients, Cx};
use super::{done, filter, tag_map};
use crate::aws::describe::every_item;
use crate::props;
use crate::{Answer, Found};

/// The tag the EBS CSI driver puts on every volume it provisions for a claim.
pub(crate) const PVC_NAME_TAG: &str = "kubernetes.io/created-for/pvc/name";
pub(crate) const PVC_NAMESPACE_TAG: &str = "kubernetes.io/created-for/pvc/namespace";
/// The tag the driver puts on everything it makes.
const DRIVER_TAG: &str = "ebs.csi.aws.com/cluster";
/// The tag a StorageClass asks the driver to add, naming the cluster (see the invariants).
pub(crate) const CLUSTER_TAG: &str = "hdh:cluster";

pub(crate) struct PvcVolumes;

fn id_of(cluster: &str) -> String {
    format!("pvc-volumes/{cluster}")
}

fn cluster_of(id: &str) -> Answer<String> {
    id.strip_prefix("pvc-volumes/")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::invalid(format!("bad PVC volumes id `{id}`")))
}

/// The cluster's claim volumes that are not being deleted, by the driver's tags.
async fn list(aws: &Clients, cluster: &str) -> Answer<Vec<Volume>> {
    let call = aws
        .ec2
        .describe_volumes()
        .filters(filter(&format!("tag:{CLUSTER_TAG}"), [cluster.to_string()]))
        .filters(filter(&format!("tag:{DRIVER_TAG}"), ["true".to_string()]))
        .filters(filter("tag-key", [PVC_NAME_TAG.to_string()]));
    let volumes: Vec<Volume> = every_item!(call, e("DescribeVolumes"))?;
    Ok(volumes
        .into_iter()
        .filter(|v| {
            !matches!(
                v.state(),
                Some(VolumeState::Deleting) | Some(VolumeState::Deleted)
            )
        })
        .collect())
}

/// `namespace/claim` of a volume, from the driver's tags.
fn claim(v: &Volume) -> String {
    let t: BTreeMap<String, String> = tag_map(v.tags());
    format!(
        "{}/{}",
        t.get(PVC_NAMESPACE_TAG).map_or("?", String::as_str),
        t.get(PVC_NAME_TAG).map_or("?", String::as_str)
    )
}

fn observed(cluster: &str, volumes: &[Volume]) -> Observed {
    let mut a = ValueMap::new();
    a.insert("cluster_name".into(), Value::str(cluster));
    a.insert(
        "volume_ids".into(),
        props::str_list(volumes.iter().map(|v| v.volume_id().unwrap_or_default())),
    );
    a.insert("claims".into(), props::str_list(volumes.iter().map(claim)));
    Observed {
        id: id_of(cluster),
        attributes: a,
    }
}

#[async_trait]
impl Lookup for PvcVolumes {
    async fn look(&self, aws: &Clients, p: &ValueMap) -> Answer<Observed> {
        let cluster = props::required_string(p, "cluster_name")?;
        Ok(observed(&cluster, &list(aws, &cluster).await?))
    }

    /// By the cluster its id names.
    async fn read(&self, aws: &Clients, requests: &[ReadRequest]) -> Vec<Found> {
        crate::aws::join_all(requests.iter().map(|r| async {
            let cluster = cluster_of(&r.id)?;
            Ok(Some(observed(&cluster, &list(aws, &cluster).await?)))
        }))
        .await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let cluster = cluster_of(&req.id)?;
        let volumes = list(cx.aws, &cluster).await?;
        if volumes.is_empty() {
            return Ok(());
        }
        if !req.purge {
            let names: Vec<String> = volumes
                .iter()
                .map(|v| format!("{} ({})", v.volume_id().unwrap_or_default(), claim(v)))
                .collect();
            return Err(ProviderError::Conflict {
                message: format!(
                    "the claims of cluster {cluster} still have EBS volumes holding data: {}; \
                     `hdh destroy --delete-retained` deletes them, --keep-retained keeps them",
                    names.join(", ")
                ),
            });
        }
        for v in volumes {
            let id = v.volume_id().unwrap_or_default().to_string();
            let what = claim(&v);
            let waiting = format!("EBS volume {id} ({what}) to be detached and deleted");
            cx.wait(&req.address, "deleting", waiting)
                .until(|| async {
                    match done(
                        cx.aws.ec2.delete_volume().volume_id(&id).send(),
                        e("DeleteVolume"),
                    )
                    .await
                    {
                        Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(Poll::Ready(())),
                        // VolumeInUse: still attached to a node that is going away.
                        Err(ProviderError::Conflict { message })
                        | Err(ProviderError::DependencyViolation { message }) => {
                            Ok(Poll::Pending(message))
                        }
                        Err(err) => Err(err),
                    }
                })
                .await?;
            cx.op.cleaned_up(
                &req.address,
                "EBS volume",
                &id,
                &format!("made by the EBS CSI driver for claim {what}"),
            );
        }
        Ok(())
    }

    /// `hdh import`: named by its cluster.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        Ok(props::string(p, "cluster_name")?.map(|c| format!("pvc-volumes/{c}")))
    }
}
