//! EKS: `aws_eks_cluster`, `aws_eks_node_group`, `aws_eks_addon`, `aws_eks_access_entry`,
//! `aws_eks_access_policy_association`, and the plan-time checks (instance types offered in the
//! node groups' AZs, one minor version step at a time, authentication modes only forward).
//!
//! EKS has no batch describe: refresh makes one Describe call per resource, run concurrently.
//! Creates pass the engine's token as `clientRequestToken`; names are unique per cluster, so
//! an interrupted create is found by name and its `hdh:token` tag.

pub(crate) mod access_entry;
pub(crate) mod access_policy;
pub(crate) mod addon;
pub(crate) mod cluster;
pub(crate) mod kind;
pub(crate) mod node_group;
pub(crate) mod preflight;

use hdh_engine::{ProviderError, Value, ValueMap};

use super::errors::eks as e;
pub(crate) use super::tag_maps::{btree, hash_map};
use super::tags::{sync_tags, TagChanges};
use super::Cx;
use crate::props;
use crate::Answer;

/// A `cluster:name` id (names are unique per cluster; cluster names hold no `:`) as its parts.
pub(crate) fn split_id(id: &str) -> Answer<(&str, &str)> {
    id.split_once(':')
        .ok_or_else(|| ProviderError::invalid(format!("EKS id {id:?} is not cluster:name")))
}

/// The `cluster:name` id of the resource whose name is the property `key`, once both are known.
pub(crate) fn natural_id(p: &ValueMap, key: &str) -> Answer<Option<String>> {
    let s = |k: &str| props::string(p, k);
    Ok(s("cluster_name")?
        .zip(s(key)?)
        .map(|(cluster, name)| format!("{cluster}:{name}")))
}

/// The id and the first attributes of a resource in a cluster: `cluster_name` and its name
/// under `key`.
pub(crate) fn named(cluster: &str, key: &str, name: &str) -> (String, ValueMap) {
    let mut a = ValueMap::new();
    a.insert("cluster_name".into(), Value::str(cluster));
    a.insert(key.into(), Value::str(name));
    (format!("{cluster}:{name}"), a)
}

/// TagResource / UntagResource of `ch` on the EKS ARN `prior` recorded.
pub(crate) async fn sync_tags(cx: Cx<'_>, prior: &ValueMap, ch: TagChanges) -> Answer<()> {
    let arn = &props::required_string(prior, "arn")?;
    sync_tags!(ch, cx.aws.eks, resource_arn(arn), hash_map).await
}

/// "1.31" → (1, 31).
pub(crate) fn minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The next control-plane version on the way from `real` to `configured` when EKS cannot get
/// there at once (more than one minor version up); `None` otherwise. The plan then upgrades in
/// steps: each one the control plane, then what follows its version (node groups, add-ons).
pub(crate) fn next_minor(configured: &Value, real: &Value) -> Option<Value> {
    let (Value::String(configured), Value::String(real)) = (configured.unmarked(), real.unmarked())
    else {
        return None;
    };
    let ((a, b), (c, d)) = (minor(&real)?, minor(&configured)?);
    (a == c && d > b + 1).then(|| Value::String(format!("{a}.{}", b + 1)))
}

/// Refuses a control-plane version change EKS would refuse: anything but one minor step up.
pub(crate) fn check_version_step(from: &str, to: &str) -> Answer<()> {
    match (minor(from), minor(to)) {
        (Some((a, b)), Some((c, d))) if a == c && d == b + 1 => Ok(()),
        (Some((a, b)), Some((c, d))) if a == c && d == b => Ok(()),
        (Some(_), Some((c, d))) if (c, d) < minor(from).unwrap_or_default() => Err(ProviderError::invalid(format!(
            "`version` cannot go down from {from} to {to}: EKS does not downgrade a control plane"
        ))),
        (Some((a, b)), Some(_)) => Err(ProviderError::invalid(format!(
            "`version` {from} → {to} skips minor versions: EKS upgrades one minor version at a time; \
             apply {a}.{} first",
            b + 1
        ))),
        _ => Err(ProviderError::invalid(format!(
            "`version` must look like \"1.31\", found {to:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_more_than_one_minor_ahead_is_reached_in_steps() {
        let v = |s: &str| Value::str(s);
        assert_eq!(next_minor(&v("1.31"), &v("1.29")), Some(v("1.30")));
        assert_eq!(next_minor(&v("1.31"), &v("1.30")), None);
        assert_eq!(next_minor(&v("1.31"), &v("1.31")), None);
        assert_eq!(
            next_minor(&v("1.29"), &v("1.31")),
            None,
            "a downgrade is refused, not stepped"
        );
    }

    #[test]
    fn versions_move_one_minor_step() {
        assert!(check_version_step("1.30", "1.31").is_ok());
        assert!(check_version_step("1.31", "1.31").is_ok());
        let e = check_version_step("1.29", "1.31").unwrap_err().to_string();
        assert!(
            e.contains("one minor version at a time") && e.contains("1.30"),
            "{e}"
        );
        assert!(check_version_step("1.31", "1.30").is_err());
    }
}
