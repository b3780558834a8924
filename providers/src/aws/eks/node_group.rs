//! `aws_eks_node_group`: a managed node group, on-demand or spot. Scaling, labels, taints,
//! version and tags change in place; the rest forces a new group. Unless
//! `cluster_autoscaler_tags` is false, the group is tagged for cluster-autoscaler discovery
//! (`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>`) and with
//! node-template label/taint tags so the autoscaler can scale it from zero; reads hide them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, Taint, TaintEffect,
    UpdateLabelsPayload, UpdateTaintsPayload,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::kind::{self, EksType};
use super::{btree, hash_map, named, split_id, sync_tags};
use crate::aws::describe::{self, done};
use crate::aws::errors::eks as e;
use crate::aws::tags::{self, TagChanges};
use crate::aws::token::client_token;
use crate::aws::wait;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) const TYPE: &str = "aws_eks_node_group";

pub(crate) struct NodeGroup;

const AUTOSCALER_PREFIX: &str = "k8s.io/cluster-autoscaler/";

#[derive(Debug, Clone, PartialEq)]
struct TaintSpec {
    key: String,
    value: Option<String>,
    /// EKS spelling: NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE.
    effect: String,
}

impl TaintSpec {
    fn parse(m: &ValueMap) -> Answer<TaintSpec> {
        let effect = props::required_string(m, "effect")?;
        let effect = match effect.as_str() {
            "NoSchedule" | "NO_SCHEDULE" => "NO_SCHEDULE",
            "NoExecute" | "NO_EXECUTE" => "NO_EXECUTE",
            "PreferNoSchedule" | "PREFER_NO_SCHEDULE" => "PREFER_NO_SCHEDULE",
            other => {
                return Err(ProviderError::invalid(format!(
                    "taint effect {other:?}: expected NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE"
                )))
            }
        };
        Ok(TaintSpec {
            key: props::required_string(m, "key")?,
            value: props::string(m, "value")?,
            effect: effect.into(),
        })
    }

    fn kube_effect(&self) -> &'static str {
        match self.effect.as_str() {
            "NO_EXECUTE" => "NoExecute",
            "PREFER_NO_SCHEDULE" => "PreferNoSchedule",
            _ => "NoSchedule",
        }
    }

    fn sdk(&self) -> Taint {
        Taint::builder()
            .key(&self.key)
            .set_value(self.value.clone())
            .effect(TaintEffect::from(self.effect.as_str()))
            .build()
    }

    fn value(&self) -> Value {
        let mut m = ValueMap::new();
        m.insert("key".into(), Value::str(&self.key));
        if let Some(v) = &self.value {
            m.insert("value".into(), Value::str(v));
        }
        m.insert("effect".into(), Value::str(&self.effect));
        Value::Map(m)
    }
}

fn taints(p: &ValueMap) -> Answer<Vec<TaintSpec>> {
    props::parsed_maps(p, "taints", TaintSpec::parse)
}

struct Scaling {
    min: i32,
    max: i32,
    desired: i32,
}

fn scaling(p: &ValueMap) -> Answer<Scaling> {
    let m = match props::get(p, "scaling_config") {
        Some(Value::Map(m)) => m,
        Some(v) => return Err(props::wrong_type("scaling_config", "a map", &v)),
        None => return Err(ProviderError::invalid("`scaling_config` is required")),
    };
    let n = |k: &str| -> Answer<Option<i32>> { Ok(props::int(&m, k)?.map(|v| v as i32)) };
    let min = n("min_size")?.unwrap_or(0);
    let max = n("max_size")?
        .ok_or_else(|| ProviderError::invalid("scaling_config: `max_size` is required"))?;
    let desired = n("desired_size")?.unwrap_or(min);
    if !(min <= desired && desired <= max) || max < 1 {
        return Err(ProviderError::invalid(format!(
            "scaling_config: need 0 <= min_size ({min}) <= desired_size ({desired}) <= max_size ({max}) and max_size >= 1"
        )));
    }
    Ok(Scaling { min, max, desired })
}

/// After create the desired size is the cluster-autoscaler's: the real one stands, brought inside
/// the configured bounds when they no longer hold it (the plan shows that as a change). Min and
/// max stay the config's.
pub(crate) fn scaling_after_create(configured: &Value, real: Option<&Value>) -> Option<Value> {
    let (Some(cfg), Some(real)) = (configured.as_map(), real.and_then(Value::as_map)) else {
        return Some(configured.clone());
    };
    let int = |m: &ValueMap, k: &str| m.get(k).and_then(|v| v.unmarked().as_i64());
    let Some(desired) = int(real, "desired_size") else {
        return Some(configured.clone());
    };
    let min = int(cfg, "min_size").unwrap_or(0);
    let max = int(cfg, "max_size").unwrap_or(desired).max(min);
    let mut m = cfg.clone();
    m.insert("desired_size".into(), Value::int(desired.clamp(min, max)));
    Some(Value::Map(m))
}

fn scaling_value(s: Option<&NodegroupScalingConfig>) -> Value {
    let mut m = ValueMap::new();
    if let Some(s) = s {
        m.insert(
            "min_size".into(),
            Value::int(i64::from(s.min_size().unwrap_or(0))),
        );
        m.insert(
            "max_size".into(),
            Value::int(i64::from(s.max_size().unwrap_or(0))),
        );
        m.insert(
            "desired_size".into(),
            Value::int(i64::from(s.desired_size().unwrap_or(0))),
        );
    }
    Value::Map(m)
}

/// The cluster-autoscaler tags for a group with these labels and taints.
fn autoscaler_tags(
    cluster: &str,
    labels: &BTreeMap<String, String>,
    taints: &[TaintSpec],
) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    t.insert(format!("{AUTOSCALER_PREFIX}enabled"), "true".to_string());
    t.insert(format!("{AUTOSCALER_PREFIX}{cluster}"), "owned".to_string());
    for (k, v) in labels {
        t.insert(
            format!("{AUTOSCALER_PREFIX}node-template/label/{k}"),
            v.clone(),
        );
    }
    for x in taints {
        t.insert(
            format!("{AUTOSCALER_PREFIX}node-template/taint/{}", x.key),
            format!(
                "{}:{}",
                x.value.clone().unwrap_or_default(),
                x.kube_effect()
            ),
        );
    }
    t
}

/// Every tag the group should carry.
fn all_tags(ctx: &OpContext, address: &str, p: &ValueMap) -> Answer<BTreeMap<String, String>> {
    let mut t = BTreeMap::new();
    if props::boolean(p, "cluster_autoscaler_tags")?.unwrap_or(true) {
        t.extend(autoscaler_tags(
            &props::required_string(p, "cluster_name")?,
            &props::string_map(p, "labels")?,
            &taints(p)?,
        ));
    }
    t.extend(tags::desired(ctx, address, p)?);
    Ok(t)
}

fn scaling_sdk(sc: Scaling) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(sc.min)
        .max_size(sc.max)
        .desired_size(sc.desired)
        .build()
}

#[async_trait]
impl EksType for NodeGroup {
    type Item = Nodegroup;
    const NOUN: &'static str = "node group";
    const NAME: &'static str = "nodegroup_name";
    const FAILED: &'static [&'static str] = &["CREATE_FAILED", "DEGRADED"];

    async fn describe(&self, aws: &Clients, id: &str) -> Answer<Option<Nodegroup>> {
        let (cluster, name) = split_id(id)?;
        let call = aws.eks.describe_nodegroup().cluster_name(cluster);
        let out = describe::found(call.nodegroup_name(name).send(), e("DescribeNodegroup")).await?;
        Ok(out.and_then(|o| o.nodegroup))
    }

    /// The health issues EKS names.
    fn why(&self, n: &Nodegroup) -> String {
        let issues: Vec<&str> = n
            .health()
            .map(|h| h.issues().iter().filter_map(|i| i.message()).collect())
            .unwrap_or_default();
        format!(": {}", issues.join("; "))
    }

    fn observe(&self, ctx: &OpContext, n: &Nodegroup, prior: &ValueMap) -> Observed {
        let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
        let name = n.nodegroup_name().unwrap_or_default();
        let (id, mut a) = named(n.cluster_name().unwrap_or_default(), "nodegroup_name", name);
        a.insert("node_role".into(), s(n.node_role()));
        a.insert("subnets".into(), props::str_list(n.subnets()));
        a.insert("instance_types".into(), props::str_list(n.instance_types()));
        a.insert(
            "capacity_type".into(),
            Value::str(n.capacity_type().map_or("ON_DEMAND", |c| c.as_str())),
        );
        if prior.contains_key("ami_type") {
            a.insert("ami_type".into(), s(n.ami_type().map(|x| x.as_str())));
        }
        if prior.contains_key("disk_size") {
            a.insert(
                "disk_size".into(),
                n.disk_size()
                    .map_or(Value::Null, |d| Value::int(i64::from(d))),
            );
        }
        a.insert("scaling_config".into(), scaling_value(n.scaling_config()));
        a.insert("labels".into(), props::str_map(btree(n.labels())));
        let observed_taints: Vec<TaintSpec> = n
            .taints()
            .iter()
            .map(|t| TaintSpec {
                key: t.key().unwrap_or_default().into(),
                value: t.value().map(String::from),
                effect: t.effect().map_or("NO_SCHEDULE", |e| e.as_str()).into(),
            })
            .collect();
        // The user's spelling (NoSchedule) when it means the same set.
        let taint_value = match taints(prior) {
            Ok(p)
                if p.len() == observed_taints.len()
                    && p.iter().all(|x| observed_taints.contains(x))
                    && prior.contains_key("taints") =>
            {
                prior["taints"].unmarked()
            }
            _ => Value::List(observed_taints.iter().map(TaintSpec::value).collect()),
        };
        a.insert("taints".into(), taint_value);
        a.insert("version".into(), s(n.version()));
        a.insert(
            "cluster_autoscaler_tags".into(),
            prior
                .get("cluster_autoscaler_tags")
                .map_or(Value::Bool(true), Value::unmarked),
        );
        let mut all = btree(n.tags());
        let own = props::string_map(prior, "tags").unwrap_or_default();
        all.retain(|k, _| !k.starts_with(AUTOSCALER_PREFIX) || own.contains_key(k));
        a.insert("tags".into(), tags::own_view(ctx, &all, prior));
        a.insert("arn".into(), s(n.nodegroup_arn()));
        let asgs: Vec<&str> = n
            .resources()
            .map(|r| {
                r.auto_scaling_groups()
                    .iter()
                    .filter_map(|g| g.name())
                    .collect()
            })
            .unwrap_or_default();
        a.insert("autoscaling_groups".into(), props::str_list(asgs));
        Observed { id, attributes: a }
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let cluster = props::required_string(p, "cluster_name")?;
        let name = props::required_string(p, "nodegroup_name")?;
        let mut tags = all_tags(cx.op, &req.address, p)?;
        tags.insert(tags::TOKEN_TAG.into(), req.token.clone());
        let labels = props::string_map(p, "labels")?;
        let call = cx
            .aws
            .eks
            .create_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&name)
            .node_role(props::required_string(p, "node_role")?)
            .set_subnets(Some(props::string_list(p, "subnets")?))
            .set_instance_types(Some(props::string_list(p, "instance_types")?))
            .capacity_type(CapacityTypes::from(
                props::string(p, "capacity_type")?
                    .unwrap_or_else(|| "ON_DEMAND".into())
                    .as_str(),
            ))
            .set_ami_type(props::string(p, "ami_type")?.map(|a| AmiTypes::from(a.as_str())))
            .set_disk_size(props::int(p, "disk_size")?.map(|d| d as i32))
            .scaling_config(scaling_sdk(scaling(p)?))
            .set_labels((!labels.is_empty()).then(|| hash_map(&labels)))
            .set_taints(Some(taints(p)?.iter().map(TaintSpec::sdk).collect()))
            .set_version(props::string(p, "version")?)
            .set_tags(Some(hash_map(&tags)))
            .client_request_token(client_token(&req.token));
        done(call.send(), e("CreateNodegroup")).await?;
        kind::created(self, cx, req).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let (cluster, name) = split_id(&req.id)?;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        if changed("scaling_config") || changed("labels") || changed("taints") {
            let mut call = cx
                .aws
                .eks
                .update_nodegroup_config()
                .cluster_name(cluster)
                .nodegroup_name(name);
            if changed("scaling_config") {
                call = call.scaling_config(scaling_sdk(scaling(p)?));
            }
            if changed("labels") {
                call = call.labels(labels_change(&req.prior, p)?);
            }
            if changed("taints") {
                call = call.taints(taints_change(&req.prior, p)?);
            }
            let call = call.client_request_token(client_token(&uuid::Uuid::new_v4().to_string()));
            let send = || done(call.clone().send(), e("UpdateNodegroupConfig"));
            kind::change(self, cx, req, send).await?;
        }
        if let Some(v) = props::string(p, "version")?.filter(|_| changed("version")) {
            let call = cx.aws.eks.update_nodegroup_version().cluster_name(cluster);
            let call = call.nodegroup_name(name).version(v);
            let send = || done(call.clone().send(), e("UpdateNodegroupVersion"));
            kind::change(self, cx, req, send).await?;
        }
        if changed("tags")
            || changed("labels")
            || changed("taints")
            || changed("cluster_autoscaler_tags")
        {
            let set = all_tags(cx.op, &req.address, p)?;
            let old = all_tags(cx.op, &req.address, &req.prior)?;
            if old != set {
                let remove = old.into_keys().filter(|k| !set.contains_key(k)).collect();
                sync_tags(cx, &req.prior, TagChanges { set, remove }).await?;
            }
        }
        kind::updated(self, cx, req).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let (cluster, name) = split_id(&req.id)?;
        let call = cx.aws.eks.delete_nodegroup().cluster_name(cluster);
        let call = call.nodegroup_name(name);
        let once = || done(call.clone().send(), e("DeleteNodegroup"));
        kind::delete(self, cx, req, wait::dependency, once).await
    }
}

/// The labels to add or change and to remove, from `prior`'s to `p`'s.
fn labels_change(prior: &ValueMap, p: &ValueMap) -> Answer<UpdateLabelsPayload> {
    let old = props::string_map(prior, "labels")?;
    let new = props::string_map(p, "labels")?;
    let remove: Vec<String> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let add: BTreeMap<String, String> = new
        .into_iter()
        .filter(|(k, v)| old.get(k) != Some(v))
        .collect();
    Ok(UpdateLabelsPayload::builder()
        .set_add_or_update_labels((!add.is_empty()).then(|| hash_map(&add)))
        .set_remove_labels((!remove.is_empty()).then_some(remove))
        .build())
}

/// The taints to add or change and to remove, from `prior`'s to `p`'s.
fn taints_change(prior: &ValueMap, p: &ValueMap) -> Answer<UpdateTaintsPayload> {
    let old = taints(prior)?;
    let new = taints(p)?;
    let remove: Vec<Taint> = old
        .iter()
        .filter(|t| !new.iter().any(|n| n.key == t.key && n.effect == t.effect))
        .map(TaintSpec::sdk)
        .collect();
    let add: Vec<Taint> = new
        .iter()
        .filter(|t| !old.contains(t))
        .map(TaintSpec::sdk)
        .collect();
    Ok(UpdateTaintsPayload::builder()
        .set_add_or_update_taints((!add.is_empty()).then_some(add))
        .set_remove_taints((!remove.is_empty()).then_some(remove))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(min: i64, max: i64, desired: i64) -> Value {
        let mut m = ValueMap::new();
        m.insert("min_size".into(), Value::int(min));
        m.insert("max_size".into(), Value::int(max));
        m.insert("desired_size".into(), Value::int(desired));
        Value::Map(m)
    }

    #[test]
    fn the_autoscalers_desired_size_stands_inside_the_configured_bounds() {
        // Scaled out to 7: the config's 0 does not reset it.
        assert_eq!(
            scaling_after_create(&sc(0, 15, 0), Some(&sc(0, 15, 7))),
            Some(sc(0, 15, 7))
        );
        // A new max below it brings it down to the max; a new min above it, up.
        assert_eq!(
            scaling_after_create(&sc(0, 5, 0), Some(&sc(0, 15, 7))),
            Some(sc(0, 5, 5))
        );
        assert_eq!(
            scaling_after_create(&sc(9, 15, 0), Some(&sc(0, 15, 7))),
            Some(sc(9, 15, 9))
        );
        // Nothing real yet: the config's.
        assert_eq!(scaling_after_create(&sc(1, 2, 1), None), Some(sc(1, 2, 1)));
    }
}
