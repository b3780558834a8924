//! Whose is it? Decides, for each thing in the way of a deletion, whether hdh may remove it,
//! should wait for AWS to release it, or must leave it alone. Pure functions over what the
//! inventory saw, so every rule is unit-tested without a cloud.
//!
//! The rule: hdh removes only what is inside this stack's VPC (tagged `hdh:stack=<stack>`) and
//! provably belongs to this stack — tagged `hdh:stack=<stack>`, or made by Kubernetes/EKS for a
//! cluster the VPC is tagged for (`kubernetes.io/cluster/<name>`). Everything else is named.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::aws::tags::{ADDRESS_TAG, STACK_TAG};

/// The tag prefix Kubernetes and EKS use to say which cluster something serves.
pub(crate) const CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";
/// The VPC CNI tags the interfaces it makes with its cluster and node.
const CNI_CLUSTER_TAG: &str = "cluster.k8s.amazonaws.com/name";
const CNI_NODE_TAG: &str = "node.k8s.amazonaws.com/instance_id";
const EKS_CLUSTER_TAG: &str = "aws:eks:cluster-name";
const K8S_SERVICE_TAG: &str = "kubernetes.io/service-name";

/// What the deletion may assume about where it runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub stack: String,
    pub vpc_id: String,
    /// The VPC carries this stack's `hdh:stack` tag.
    pub vpc_ours: bool,
    /// Clusters the VPC is tagged for (`kubernetes.io/cluster/<name>`).
    pub clusters: BTreeSet<String>,
}

impl Scope {
    pub fn new(stack: &str, vpc_id: &str, vpc_tags: Option<&BTreeMap<String, String>>) -> Self {
        let empty = BTreeMap::new();
        let tags = vpc_tags.unwrap_or(&empty);
        Scope {
            stack: stack.into(),
            vpc_id: vpc_id.into(),
            vpc_ours: tags.get(STACK_TAG).map(String::as_str) == Some(stack),
            clusters: tags
                .keys()
                .filter_map(|k| k.strip_prefix(CLUSTER_TAG_PREFIX))
                .map(str::to_string)
                .collect(),
        }
    }

    fn ours(&self, tags: &BTreeMap<String, String>) -> bool {
        self.vpc_ours && tags.get(STACK_TAG) == Some(&self.stack)
    }

    /// The stack cluster a Kubernetes/EKS-made thing is tagged for, if any.
    fn cluster_of(&self, tags: &BTreeMap<String, String>) -> Option<String> {
        if !self.vpc_ours {
            return None;
        }
        tags.keys()
            .filter_map(|k| k.strip_prefix(CLUSTER_TAG_PREFIX))
            .chain(tags.get(EKS_CLUSTER_TAG).map(String::as_str))
            .chain(tags.get(CNI_CLUSTER_TAG).map(String::as_str))
            .find(|c| self.clusters.contains(*c))
            .map(str::to_string)
    }
}

/// What hdh does about one thing in the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// This stack's: hdh removes it (the text says why it may).
    Remove(String),
    /// Going away by itself or by another of hdh's operations: hdh waits.
    Wait(String),
    /// Not attributable to this stack: hdh never touches it and names it.
    Foreign(String),
}

/// A network interface as the inventory saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Eni {
    pub id: String,
    pub status: String,
    pub description: String,
    pub requester: Option<String>,
    pub owner: Option<String>,
    pub instance_id: Option<String>,
    pub subnet_id: String,
    pub vpc_id: String,
    pub public_ip: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Eni {
    /// `eni-0abc (in-use, "ELB a1b2", requester amazon-elb, subnet subnet-1)`
    pub fn label(&self) -> String {
        let who = match (&self.requester, &self.owner, &self.instance_id) {
            (_, _, Some(i)) => format!(", attached to {i}"),
            (Some(r), _, None) => format!(", requester {r}"),
            (None, Some(o), None) => format!(", owner {o}"),
            _ => String::new(),
        };
        format!(
            "network interface {} ({}, \"{}\"{who}, subnet {})",
            self.id, self.status, self.description, self.subnet_id
        )
    }
}

/// A classic load balancer in the VPC.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lb {
    pub name: String,
    pub subnets: Vec<String>,
    pub groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// A security group in the VPC, with the groups its rules reference.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    pub id: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub references: BTreeSet<String>,
}

/// An EC2 instance an interface is attached to (a node, usually).
#[derive(Debug, Clone, Default)]
pub(crate) struct Instance {
    pub state: String,
    pub tags: BTreeMap<String, String>,
}

fn service_of(tags: &BTreeMap<String, String>) -> String {
    tags.get(K8S_SERVICE_TAG)
        .map(|s| format!(" for Service {s}"))
        .unwrap_or_default()
}

pub(crate) fn eni(
    scope: &Scope,
    e: &Eni,
    lbs: &[Lb],
    instances: &HashMap<String, Instance>,
) -> Verdict {
    if e.vpc_id != scope.vpc_id {
        return Verdict::Foreign(format!("in another VPC ({})", e.vpc_id));
    }
    let d = e.description.as_str();
    let eks_cluster = d.strip_prefix("Amazon EKS ").map(str::to_string);
    let ours_cluster = |c: &str| scope.vpc_ours && scope.clusters.contains(c);
    if e.status == "available" {
        if scope.ours(&e.tags) {
            let address = e.tags.get(ADDRESS_TAG).cloned().unwrap_or_default();
            return Verdict::Remove(format!(
                "made by hdh for this stack ({address}) and left available"
            ));
        }
        if let Some(c) = e.tags.get(CNI_CLUSTER_TAG).filter(|c| ours_cluster(c)) {
            let node = e
                .tags
                .get(CNI_NODE_TAG)
                .map(|n| format!(" after node {n} went"))
                .unwrap_or_default();
            return Verdict::Remove(format!(
                "left available by the VPC CNI of cluster {c}{node}"
            ));
        }
        if let Some(node) = d.strip_prefix("aws-K8S-") {
            if let Some(c) = instances.get(node).and_then(|i| scope.cluster_of(&i.tags)) {
                return Verdict::Remove(format!(
                    "left available by the VPC CNI of cluster {c} after node {node} went"
                ));
            }
        }
        if let Some(c) = eks_cluster.as_deref().filter(|c| ours_cluster(c)) {
            return Verdict::Remove(format!(
                "EKS control-plane interface of cluster {c}, left available"
            ));
        }
        return Verdict::Foreign(
            "available, but nothing ties it to this stack (no hdh:stack tag, no cluster of this \
             stack's VPC)"
                .into(),
        );
    }
    if let Some(lb) = d.strip_prefix("ELB ") {
        return Verdict::Wait(if lbs.iter().any(|l| l.name == lb) {
            format!("belongs to load balancer {lb}")
        } else {
            format!("belonged to load balancer {lb}, which is gone; AWS releases it shortly")
        });
    }
    if d.starts_with("EFS mount target for ") {
        return Verdict::Wait(
            "belongs to an EFS mount target; AWS releases it after the mount target is deleted"
                .into(),
        );
    }
    if d.starts_with("Interface for NAT Gateway ") {
        return Verdict::Wait(
            "belongs to a NAT gateway; released when the gateway is deleted".into(),
        );
    }
    if let Some(c) = eks_cluster {
        return if ours_cluster(&c) {
            Verdict::Wait(format!(
                "EKS control-plane interface of cluster {c}; EKS releases it after the cluster \
                 is deleted"
            ))
        } else {
            Verdict::Foreign(format!(
                "EKS control-plane interface of cluster {c}, which is not this stack's"
            ))
        };
    }
    if let Some(i) = &e.instance_id {
        let inst = instances.get(i);
        let state = inst.map_or("unknown", |i| i.state.as_str());
        if let Some(c) = inst.and_then(|x| scope.cluster_of(&x.tags)) {
            return Verdict::Wait(format!("on node {i} of cluster {c} ({state})"));
        }
        if inst.is_some_and(|x| scope.ours(&x.tags)) {
            return Verdict::Wait(format!("on this stack's instance {i} ({state})"));
        }
        return Verdict::Foreign(format!(
            "attached to instance {i} ({state}), which is not this stack's"
        ));
    }
    if scope.ours(&e.tags) {
        return Verdict::Wait("this stack's interface, still in use".into());
    }
    let who = e
        .requester
        .clone()
        .or_else(|| e.owner.clone())
        .unwrap_or_else(|| "someone".into());
    Verdict::Foreign(format!(
        "in use by {who}, which hdh cannot attribute to this stack"
    ))
}

pub(crate) fn load_balancer(scope: &Scope, lb: &Lb) -> Verdict {
    match scope.cluster_of(&lb.tags) {
        Some(c) => Verdict::Remove(format!(
            "made by Kubernetes{} of cluster {c}",
            service_of(&lb.tags)
        )),
        None if scope.ours(&lb.tags) => Verdict::Remove("made by hdh for this stack".into()),
        None => Verdict::Foreign("not tagged for this stack or its cluster".into()),
    }
}

/// A non-default security group still in the VPC when the VPC is being deleted, or one whose
/// rules reference a group being deleted.
pub(crate) fn group(scope: &Scope, g: &Group) -> Verdict {
    if let Some(c) = scope.cluster_of(&g.tags) {
        let by = if g.tags.contains_key(EKS_CLUSTER_TAG) {
            "EKS".to_string()
        } else {
            format!("Kubernetes{}", service_of(&g.tags))
        };
        return Verdict::Remove(format!("made by {by} for cluster {c}, left behind"));
    }
    if scope.ours(&g.tags) {
        return Verdict::Wait(format!(
            "this stack's security group {}; hdh deletes it in its own step",
            g.tags.get(ADDRESS_TAG).cloned().unwrap_or_default()
        ));
    }
    Verdict::Foreign(format!("security group {} is not this stack's", g.name))
}

/// A group whose rules reference `target`: hdh may take the rule out of a group that is this
/// stack's or its cluster's (Kubernetes adds such rules to the node groups).
pub(crate) fn reference(scope: &Scope, holder: &Group, target: &str) -> Verdict {
    if scope.cluster_of(&holder.tags).is_some() || scope.ours(&holder.tags) {
        Verdict::Remove(format!(
            "rule on {} ({}) allowing traffic from {target}, which is being deleted",
            holder.id, holder.name
        ))
    } else {
        Verdict::Foreign(format!(
            "a rule on {} ({}), which is not this stack's, references {target}",
            holder.id, holder.name
        ))
    }
}

/// Subnets, gateways and route tables left in a VPC being deleted.
pub(crate) fn network_part(scope: &Scope, kind: &str, tags: &BTreeMap<String, String>) -> Verdict {
    if scope.ours(tags) {
        Verdict::Wait(format!(
            "this stack's {kind} ({}); hdh deletes it in its own step",
            tags.get(ADDRESS_TAG).cloned().unwrap_or_default()
        ))
    } else {
        Verdict::Foreign(format!("{kind} that is not this stack's"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn group_of(id: &str, name: &str, pairs: &[(&str, &str)]) -> Group {
        Group {
            id: id.into(),
            name: name.into(),
            tags: tags(pairs),
            ..Group::default()
        }
    }

    fn scope() -> Scope {
        Scope::new(
            "helio",
            "vpc-1",
            Some(&tags(&[
                ("hdh:stack", "helio"),
                ("kubernetes.io/cluster/eks-helio", "shared"),
            ])),
        )
    }

    fn eni(status: &str, description: &str, t: &[(&str, &str)]) -> Eni {
        Eni {
            id: "eni-1".into(),
            status: status.into(),
            description: description.into(),
            subnet_id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            tags: tags(t),
            ..Eni::default()
        }
    }

    fn removes(v: &Verdict) -> bool {
        matches!(v, Verdict::Remove(_))
    }

    fn foreign(v: &Verdict) -> bool {
        matches!(v, Verdict::Foreign(_))
    }

    #[test]
    fn the_scope_comes_from_the_vpc_tags() {
        let s = scope();
        assert!(s.vpc_ours);
        assert_eq!(s.clusters, BTreeSet::from(["eks-helio".to_string()]));
        let other = Scope::new("other", "vpc-1", Some(&tags(&[("hdh:stack", "helio")])));
        assert!(!other.vpc_ours);
        assert!(!Scope::new("helio", "vpc-1", None).vpc_ours);
    }

    #[test]
    fn leaked_cni_interfaces_of_the_stack_cluster_are_removed() {
        let none = HashMap::new();
        let v = super::eni(
            &scope(),
            &eni(
                "available",
                "aws-K8S-i-0abc",
                &[
                    ("cluster.k8s.amazonaws.com/name", "eks-helio"),
                    ("node.k8s.amazonaws.com/instance_id", "i-0abc"),
                ],
            ),
            &[],
            &none,
        );
        assert_eq!(
            v,
            Verdict::Remove(
                "left available by the VPC CNI of cluster eks-helio after node i-0abc went".into()
            )
        );
        // Another cluster's CNI interface is not ours.
        let v = super::eni(
            &scope(),
            &eni(
                "available",
                "aws-K8S-i-0abc",
                &[("cluster.k8s.amazonaws.com/name", "someone-else")],
            ),
            &[],
            &none,
        );
        assert!(foreign(&v), "{v:?}");
    }

    #[test]
    fn untagged_available_interfaces_are_never_removed() {
        let v = super::eni(
            &scope(),
            &eni("available", "my database", &[]),
            &[],
            &HashMap::new(),
        );
        assert!(foreign(&v), "{v:?}");
        // Tagged for this stack, but the VPC is not this stack's: not removed either.
        let s = Scope::new("helio", "vpc-1", Some(&tags(&[("hdh:stack", "x")])));
        let v = super::eni(
            &s,
            &eni("available", "x", &[("hdh:stack", "helio")]),
            &[],
            &HashMap::new(),
        );
        assert!(foreign(&v), "{v:?}");
    }

    #[test]
    fn in_use_managed_interfaces_are_waited_for_or_named() {
        let none = HashMap::new();
        let lbs = vec![Lb {
            name: "a1".into(),
            ..Lb::default()
        }];
        let s = scope();
        for (d, wait) in [
            ("ELB a1", true),
            ("ELB gone", true),
            ("EFS mount target for fs-1 (fsmt-1)", true),
            ("Interface for NAT Gateway nat-1", true),
            ("Amazon EKS eks-helio", true),
            ("Amazon EKS other", false),
            ("something else", false),
        ] {
            let v = super::eni(&s, &eni("in-use", d, &[]), &lbs, &none);
            assert_eq!(matches!(v, Verdict::Wait(_)), wait, "{d}: {v:?}");
            assert!(!removes(&v), "{d}");
        }
    }

    #[test]
    fn kubernetes_load_balancers_and_groups_of_the_cluster_are_removed() {
        let s = scope();
        let lb = Lb {
            name: "a1".into(),
            tags: tags(&[
                ("kubernetes.io/cluster/eks-helio", "owned"),
                ("kubernetes.io/service-name", "daskhub/proxy-public"),
            ]),
            ..Lb::default()
        };
        assert_eq!(
            load_balancer(&s, &lb),
            Verdict::Remove(
                "made by Kubernetes for Service daskhub/proxy-public of cluster eks-helio".into()
            )
        );
        let stranger = Lb {
            name: "b".into(),
            tags: tags(&[("kubernetes.io/cluster/other", "owned")]),
            ..Lb::default()
        };
        assert!(foreign(&load_balancer(&s, &stranger)));
        let g = group_of(
            "sg-k8s",
            "k8s-elb-a1",
            &[("kubernetes.io/cluster/eks-helio", "owned")],
        );
        assert!(removes(&group(&s, &g)));
        let mine = group_of("sg-2", "helio-nodes", &[("hdh:stack", "helio")]);
        assert!(matches!(group(&s, &mine), Verdict::Wait(_)));
        assert!(removes(&reference(&s, &mine, "sg-k8s")));
        let theirs = group_of("sg-3", "bastion", &[]);
        assert!(foreign(&group(&s, &theirs)));
        assert!(foreign(&reference(&s, &theirs, "sg-k8s")));
    }
}
