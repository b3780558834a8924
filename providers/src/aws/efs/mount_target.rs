//! `aws_efs_mount_target`. Mount targets have no tags: one exists per (file system, subnet),
//! which is how an interrupted create is found. Deleting one waits until it is gone and then
//! until its ENI, which lingers after it, is released too, so the subnet and security groups
//! deleted next do not meet it.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ec2::types::NetworkInterface;
use aws_sdk_efs::types::{LifeCycleState, MountTargetDescription};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use crate::aws::describe::{self, all_failed, done, every_item};
use crate::aws::ec2::lifecycle;
use crate::aws::errors::{absent_if_not_found, ec2, efs as e, gone_is_ok};
use crate::aws::import::unsearchable;
use crate::aws::{Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct MountTarget;

fn mt_observed(m: &MountTargetDescription, prior: &ValueMap) -> Observed {
    let mut a = ValueMap::new();
    a.insert("file_system_id".into(), Value::str(m.file_system_id()));
    a.insert("subnet_id".into(), Value::str(m.subnet_id()));
    a.insert(
        "security_groups".into(),
        prior
            .get("security_groups")
            .map(Value::unmarked)
            .unwrap_or(Value::List(vec![])),
    );
    a.insert(
        "ip_address".into(),
        Value::str(m.ip_address().unwrap_or_default()),
    );
    a.insert(
        "network_interface_id".into(),
        Value::str(m.network_interface_id().unwrap_or_default()),
    );
    a.insert(
        "availability_zone".into(),
        Value::str(m.availability_zone_name().unwrap_or_default()),
    );
    Observed {
        id: m.mount_target_id().to_string(),
        attributes: a,
    }
}

/// The mount targets of one file system (every page); NotFound → none.
async fn mount_targets_of(aws: &Clients, fs: &str) -> Answer<Vec<MountTargetDescription>> {
    let call = aws.efs.describe_mount_targets().file_system_id(fs);
    let items = every_item!(call, e("DescribeMountTargets"));
    Ok(absent_if_not_found(items)?.unwrap_or_default())
}

/// The mount target of file system `fs` in `subnet` (at most one exists), not one going away.
async fn mount_target_in(aws: &Clients, fs: &str, subnet: &str) -> Answer<Option<String>> {
    Ok(mount_targets_of(aws, fs)
        .await?
        .into_iter()
        .find(|m| {
            m.subnet_id() == subnet
                && !matches!(
                    m.life_cycle_state(),
                    LifeCycleState::Deleting | LifeCycleState::Deleted
                )
        })
        .map(|m| m.mount_target_id))
}

/// The mount target `id`, `None` when gone.
async fn one_mount_target(aws: &Clients, id: &str) -> Answer<Option<MountTargetDescription>> {
    let call = aws.efs.describe_mount_targets().mount_target_id(id);
    let out = describe::found(call.send(), e("DescribeMountTargets")).await?;
    Ok(out.and_then(|o| o.mount_targets().first().cloned()))
}

/// Waits until the mount target's network interface is gone: EFS releases it some time after
/// the mount target itself, and the subnet and security groups deleted next are refused
/// (DependencyViolation) while it is there.
async fn wait_eni_released(cx: Cx<'_>, address: &str, mount_target: &str, eni: &str) -> Answer<()> {
    let of = format!("network interface {eni} of mount target {mount_target}");
    let w = cx.wait(address, "deleting", format!("{of} to be released"));
    let state = |n: &NetworkInterface| {
        let status = n.status().map_or("unknown status", |s| s.as_str());
        format!("{of} is still there ({status})")
    };
    lifecycle::until_gone(&w, None, state, || async {
        let sent = cx
            .aws
            .ec2
            .describe_network_interfaces()
            .network_interface_ids(eni)
            .send();
        let out = absent_if_not_found(sent.await.map_err(ec2("DescribeNetworkInterfaces")))?;
        Ok(out.and_then(|o| o.network_interfaces().first().cloned()))
    })
    .await
}

fn mt_state(m: &MountTargetDescription) -> String {
    m.life_cycle_state().as_str().to_string()
}

/// The mount target `id` once it is `available`.
async fn wait_mt_available(cx: Cx<'_>, address: &str, id: &str) -> Answer<MountTargetDescription> {
    let what = format!("mount target {id} to be available");
    let w = cx.wait(address, "creating", what);
    let available = LifeCycleState::Available.as_str();
    lifecycle::until_ready(&w, available, mt_state, || one_mount_target(cx.aws, id)).await
}

#[async_trait]
impl Kind for MountTarget {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        // One paged read per file system, not one per mount target.
        let filesystems: BTreeSet<String> = requests
            .iter()
            .filter_map(|r| props::string(&r.prior, "file_system_id").ok().flatten())
            .collect();
        let mut by_id = BTreeMap::new();
        for fs in &filesystems {
            match mount_targets_of(cx.aws, fs).await {
                Ok(mts) => by_id.extend(mts.into_iter().map(|m| (m.mount_target_id.clone(), m))),
                Err(err) => return all_failed(requests, &err),
            }
        }
        requests
            .iter()
            .map(|r| Ok(by_id.get(&r.id).map(|m| mt_observed(m, &r.prior))))
            .collect()
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let fs = props::required_string(p, "file_system_id")?;
        let subnet = props::required_string(p, "subnet_id")?;
        let groups = props::string_list(p, "security_groups")?;
        // A file system still creating refuses mount targets for a moment.
        let what = format!("file system {fs} to accept a mount target");
        let created = cx
            .wait(&req.address, "creating", what)
            .retrying(
                |err| {
                    matches!(
                        err,
                        ProviderError::Conflict { .. } | ProviderError::NotFound { .. }
                    )
                },
                || async {
                    let made = cx
                        .aws
                        .efs
                        .create_mount_target()
                        .file_system_id(&fs)
                        .subnet_id(&subnet)
                        .set_security_groups((!groups.is_empty()).then(|| groups.clone()))
                        .send()
                        .await
                        .map_err(e("CreateMountTarget"));
                    match made {
                        Ok(m) => Ok(m.mount_target_id),
                        // `MountTargetConflict`: this file system (the stack's) already has its
                        // mount target in this subnet (an earlier run's): adopted. Otherwise the
                        // file system is still creating, and the conflict is waited out.
                        Err(err @ ProviderError::Conflict { .. }) => {
                            match mount_target_in(cx.aws, &fs, &subnet).await? {
                                Some(id) => Ok(id),
                                None => Err(err),
                            }
                        }
                        Err(err) => Err(err),
                    }
                },
            )
            .await?;
        let m = wait_mt_available(cx, &req.address, &created).await?;
        Ok(mt_observed(&m, p))
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let groups = props::string_list(&req.properties, "security_groups")?;
        let call = cx.aws.efs.modify_mount_target_security_groups();
        let call = call
            .mount_target_id(&req.id)
            .set_security_groups(Some(groups));
        done(call.send(), e("ModifyMountTargetSecurityGroups")).await?;
        let m = wait_mt_available(cx, &req.address, &req.id).await?;
        Ok(mt_observed(&m, &req.properties))
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        // The ENI to wait for: as recorded, else as the mount target still says.
        let mut eni = props::string(&req.prior, "network_interface_id")?.filter(|s| !s.is_empty());
        if eni.is_none() {
            eni = one_mount_target(cx.aws, &req.id)
                .await?
                .and_then(|m| m.network_interface_id().map(str::to_string));
        }
        let call = cx.aws.efs.delete_mount_target().mount_target_id(&req.id);
        gone_is_ok(done(call.send(), e("DeleteMountTarget")).await)?;
        let what = format!("mount target {} to be deleted", req.id);
        let w = cx.wait(&req.address, "deleting", what);
        let deleted = Some(LifeCycleState::Deleted.as_str());
        lifecycle::until_gone(&w, deleted, mt_state, || one_mount_target(cx.aws, &req.id)).await?;
        match eni {
            Some(eni) => wait_eni_released(cx, &req.address, &req.id, &eni).await,
            None => Ok(()),
        }
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        let fs = props::required_string(&req.properties, "file_system_id")?;
        let subnet = props::required_string(&req.properties, "subnet_id")?;
        let Some(id) = mount_target_in(cx.aws, &fs, &subnet).await? else {
            return Ok(None);
        };
        // Adopted while still creating: available before the volume on it is made.
        let m = wait_mt_available(cx, &req.address, &id).await?;
        Ok(Some(mt_observed(&m, &req.properties)))
    }

    /// `hdh import`: the mount target of its file system in its subnet.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        let p = &req.properties;
        let (Some(fs), Some(subnet)) = (
            props::string(p, "file_system_id")?,
            props::string(p, "subnet_id")?,
        ) else {
            return Err(unsearchable(
                req,
                "its file system or subnet was not matched",
            ));
        };
        Ok(mount_targets_of(cx.aws, &fs)
            .await?
            .iter()
            .filter(|m| m.subnet_id() == subnet)
            .map(|m| {
                (
                    m.mount_target_id().to_string(),
                    format!("of {fs} in {subnet}"),
                )
            })
            .collect())
    }
}
