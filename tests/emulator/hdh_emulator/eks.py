"""EKS realism: cluster and managed node group lifecycles and what they leave in the VPC.

* CreateCluster answers ``CREATING`` (no endpoint yet); after ``eks_cluster_create`` the cluster is
  ``ACTIVE``, gets its endpoint, and (with ``side_effects``) owns one ENI per subnet (at most 4),
  described ``Amazon EKS <cluster>``, in the cluster security group
  ``eks-cluster-sg-<cluster>-<id>`` that EKS creates in the VPC.
* DeleteCluster with node groups answers ``ResourceInUseException`` (moto's check, kept). Else the
  cluster is ``DELETING`` for ``eks_cluster_delete``, then gone; its ENIs linger for
  ``eks_cluster_eni_linger`` and then EKS deletes them and the cluster security group (unless some
  other group's rule still references it: then EKS leaves it behind, as it does on AWS).
* CreateNodegroup answers ``CREATING``; after ``eks_nodegroup_create`` it is ``ACTIVE`` and its
  nodes run: one EC2 instance per desired node (tagged ``eks:cluster-name``/``eks:nodegroup-name``)
  with a VPC CNI ENI ``aws-K8S-i-<instance>`` attached.
* Without an explicit version a cluster gets 1.31 and a node group its cluster's version.
* DeleteNodegroup: ``DELETING`` for ``eks_nodegroup_delete``, then the instances terminate and
  their CNI ENIs go, except ``leak_cni_enis`` per node (scenario flag), which stay ``available``.
"""

from __future__ import annotations

from typing import Any

from moto.eks.models import EKSBackend, eks_backends, validate_safe_to_delete
from moto.moto_api._internal import mock_random as random

from . import ec2 as ec2mod
from .world import WORLD

NODE_AMI = "ami-0eks0node0000000"
# what EKS picks when CreateCluster names no version (moto would say 1.19)
DEFAULT_VERSION = "1.31"


def backend(account_id: str, region: str) -> Any:
    return eks_backends[account_id][region]


def find_cluster(account_id: str, region: str, name: str) -> Any | None:
    return backend(account_id, region).clusters.get(name)


def all_clusters() -> list[tuple[str, str, Any]]:
    """(account, region, cluster) for every cluster in every loaded EKS backend."""
    out = []
    for account_id, per_account in eks_backends.items():
        for region, b in per_account.items():
            for cluster in b.clusters.values():
                out.append((account_id, region, cluster))
    return out


def node_security_groups(cluster: Any) -> list[str]:
    cfg = cluster.resources_vpc_config or {}
    groups = []
    if cfg.get("clusterSecurityGroupId"):
        groups.append(cfg["clusterSecurityGroupId"])
    groups += [g for g in cfg.get("securityGroupIds") or [] if g not in groups]
    return groups


# -- cluster -------------------------------------------------------------------------------------


def _make_cluster_sg(eks: EKSBackend, cluster: Any) -> None:
    cfg = cluster.resources_vpc_config
    subnets = cfg.get("subnetIds") or []
    if not subnets:
        return
    ec2 = ec2mod.backend(eks.account_id, eks.region_name)
    vpc_id = ec2.get_subnet(subnets[0]).vpc_id
    cfg["vpcId"] = vpc_id
    sg = ec2.create_security_group(
        name=f"eks-cluster-sg-{cluster.name}-{random.get_random_string(10, lower_case=True)}",
        description="EKS created security group applied to ENI that is attached to EKS Control "
        "Plane master nodes, as well as any managed workloads.",
        vpc_id=vpc_id,
        tags={"aws:eks:cluster-name": cluster.name, f"kubernetes.io/cluster/{cluster.name}": "owned"},
    )
    ec2.authorize_security_group_ingress(
        group_name_or_id=sg.id,
        ip_protocol="-1",
        from_port=None,
        to_port=None,
        ip_ranges=[],
        source_groups=[{"GroupId": sg.id, "UserId": eks.account_id}],
        vpc_id=vpc_id,
    )
    cfg["clusterSecurityGroupId"] = sg.id
    cluster._hdh_sg = sg.id


def _activate_cluster(eks: EKSBackend, cluster: Any) -> None:
    if cluster.status != "CREATING" or eks.clusters.get(cluster.name) is not cluster:
        return
    cluster.status = "ACTIVE"
    cluster.endpoint = cluster._hdh_endpoint
    if not WORLD.profile.side_effects:
        return
    ec2 = ec2mod.backend(eks.account_id, eks.region_name)
    groups = node_security_groups(cluster)
    seen = []
    for subnet_id in (cluster.resources_vpc_config.get("subnetIds") or [])[:4]:
        if subnet_id in seen:
            continue
        seen.append(subnet_id)
        ec2mod.create_managed_eni(
            ec2,
            subnet_id,
            f"Amazon EKS {cluster.name}",
            owner=f"eks:cluster/{cluster.name}",
            group_ids=groups,
            requester_id="amazon-eks",
        )


def _finish_cluster_delete(eks: EKSBackend, cluster: Any) -> None:
    if eks.clusters.get(cluster.name) is not cluster:
        return
    eks.clusters.pop(cluster.name)
    eks.cluster_count -= 1
    from . import addons

    addons.forget_cluster(eks.account_id, eks.region_name, cluster.name)
    from . import k8s

    k8s.forget_cluster(cluster)
    owner = f"eks:cluster/{cluster.name}"
    enis = ec2mod.enis_owned_by(owner)
    ec2mod.linger_then_release(eks.account_id, eks.region_name, enis, "eks_cluster_eni_linger")
    sg_id = getattr(cluster, "_hdh_sg", None)
    if sg_id:
        WORLD.after(
            "eks_cluster_eni_linger",
            f"eks {cluster.name} security group",
            lambda: _delete_cluster_sg(eks.account_id, eks.region_name, sg_id),
        )


def _delete_cluster_sg(account_id: str, region: str, sg_id: str) -> None:
    ec2 = ec2mod.backend(account_id, region)
    if ec2.get_security_group_from_id(sg_id) is None:
        return
    try:
        ec2mod._check_security_group(ec2, sg_id)
    except Exception:
        return  # still referenced: EKS gives up and leaves it, as on AWS
    ec2.delete_security_group(group_id=sg_id)


# -- node groups -----------------------------------------------------------------------------------


def _launch_nodes(eks: EKSBackend, cluster: Any, ng: Any) -> None:
    ec2 = ec2mod.backend(eks.account_id, eks.region_name)
    desired = int((ng.scaling_config or {}).get("desiredSize", 0) or 0)
    subnets = list(ng.subnets or [])
    if not subnets:
        return
    groups = [g for g in node_security_groups(cluster) if ec2.get_security_group_from_id(g)]
    ng._hdh_instances = []
    for n in range(desired):
        subnet_id = subnets[n % len(subnets)]
        reservation = ec2.run_instances(
            NODE_AMI,
            1,
            None,
            [],
            tags={
                "instance": {
                    "Name": f"{cluster.name}-{ng.nodegroup_name}-Node",
                    "eks:cluster-name": cluster.name,
                    "eks:nodegroup-name": ng.nodegroup_name,
                    f"kubernetes.io/cluster/{cluster.name}": "owned",
                }
            },
            instance_type=(ng.instance_types or ["t3.medium"])[0],
            is_instance_type_default=False,
            subnet_id=subnet_id,
            security_group_ids=groups,
            region_name=eks.region_name,
        )
        instance = reservation.instances[0]
        ng._hdh_instances.append(instance.id)
        cni = ec2.create_network_interface(
            ec2.get_subnet(subnet_id),
            "",
            group_ids=groups or None,
            description=f"aws-K8S-{instance.id}",
            tags={"node.k8s.amazonaws.com/instance_id": instance.id, "cluster.k8s.amazonaws.com/name": cluster.name},
        )
        cni.delete_on_termination = True
        instance.attach_eni(cni, 1)


def _activate_nodegroup(eks: EKSBackend, cluster: Any, ng: Any) -> None:
    if ng.status != "CREATING" or cluster.nodegroups.get(ng.nodegroup_name) is not ng:
        return
    ng.status = "ACTIVE"
    if WORLD.profile.side_effects:
        _launch_nodes(eks, cluster, ng)


def _finish_nodegroup_delete(eks: EKSBackend, cluster: Any, ng: Any) -> None:
    if cluster.nodegroups.get(ng.nodegroup_name) is not ng:
        return
    cluster.nodegroups.pop(ng.nodegroup_name)
    cluster.nodegroup_count -= 1
    instance_ids = getattr(ng, "_hdh_instances", [])
    if not instance_ids:
        return
    ec2 = ec2mod.backend(eks.account_id, eks.region_name)
    leak = int(WORLD.scenario.get("leak_cni_enis") or 0)
    for instance in ec2.get_multi_instances_by_id(instance_ids):
        cnis = [nic for idx, nic in list(instance.nics.items()) if idx != 0]
        for nic in cnis[:leak]:
            instance.detach_eni(nic)  # the node died before the CNI could clean up
        instance.terminate()


def running_nodes(cluster: Any, account_id: str, region: str) -> list[tuple[Any, Any]]:
    """(node group, instance) for every running node of an ACTIVE node group."""
    out = []
    ec2 = ec2mod.backend(account_id, region)
    for ng in cluster.nodegroups.values():
        ids = getattr(ng, "_hdh_instances", [])
        if ng.status != "ACTIVE" or not ids:
            continue
        for instance in ec2.get_multi_instances_by_id(ids):
            if instance.state == "running":
                out.append((ng, instance))
    return out


# -- installation ------------------------------------------------------------------------------------


def install() -> None:
    orig_create_cluster = EKSBackend.create_cluster
    orig_create_nodegroup = EKSBackend.create_nodegroup

    def create_cluster(self: EKSBackend, *args: Any, **kwargs: Any) -> Any:
        cluster = orig_create_cluster(self, *args, **kwargs)
        if not kwargs.get("version"):
            cluster.version = DEFAULT_VERSION
        cluster.resources_vpc_config = dict(cluster.resources_vpc_config or {})
        cluster._hdh_endpoint = cluster.endpoint
        if WORLD.profile.side_effects:
            _make_cluster_sg(self, cluster)
        cluster.status = "CREATING"
        if WORLD.duration("eks_cluster_create") > 0:
            cluster.endpoint = None
        WORLD.after(
            "eks_cluster_create",
            f"eks {cluster.name} active",
            lambda: _activate_cluster(self, cluster),
        )
        return cluster

    def delete_cluster(self: EKSBackend, name: str) -> Any:
        cluster = self.clusters.get(name)
        if cluster is None or cluster.status == "DELETING":
            return self.describe_cluster(name)  # NotFound, or already on its way
        validate_safe_to_delete(cluster)
        cluster.status = "DELETING"
        WORLD.after(
            "eks_cluster_delete",
            f"eks {name} deleted",
            lambda: _finish_cluster_delete(self, cluster),
        )
        return cluster

    def create_nodegroup(self: EKSBackend, *args: Any, **kwargs: Any) -> Any:
        ng = orig_create_nodegroup(self, *args, **kwargs)
        cluster = self.clusters[ng.cluster_name]
        if not kwargs.get("version"):  # node groups start on the control plane's version
            ng.version = cluster.version
        if not kwargs.get("release_version"):
            ng.release_version = f"{ng.version}.0-20241024"
        ng.status = "CREATING"
        WORLD.after(
            "eks_nodegroup_create",
            f"nodegroup {ng.nodegroup_name} active",
            lambda: _activate_nodegroup(self, cluster, ng),
        )
        return ng

    def delete_nodegroup(self: EKSBackend, cluster_name: str, nodegroup_name: str) -> Any:
        ng = self.describe_nodegroup(cluster_name, nodegroup_name)  # NotFound as moto says it
        if ng.status == "DELETING":
            return ng
        cluster = self.clusters[cluster_name]
        ng.status = "DELETING"
        WORLD.after(
            "eks_nodegroup_delete",
            f"nodegroup {nodegroup_name} deleted",
            lambda: _finish_nodegroup_delete(self, cluster, ng),
        )
        return ng

    orig_tag = EKSBackend.tag_resource
    orig_untag = EKSBackend.untag_resource

    def _nodegroup_by_arn(self: EKSBackend, arn: str) -> Any | None:
        for cluster in self.clusters.values():
            for ng in cluster.nodegroups.values():
                if ng.arn == arn:
                    return ng
        return None

    def tag_resource(self: EKSBackend, resource_arn: str, tags: dict[str, str]) -> None:
        ng = _nodegroup_by_arn(self, resource_arn)
        if ng is None:
            return orig_tag(self, resource_arn, tags)  # moto tags clusters only
        ng.tags = {**(ng.tags or {}), **tags}
        return None

    def untag_resource(self: EKSBackend, resource_arn: str, tag_keys: Any) -> None:
        ng = _nodegroup_by_arn(self, resource_arn)
        if ng is None:
            return orig_untag(self, resource_arn, tag_keys)
        keys = tag_keys if isinstance(tag_keys, list) else [tag_keys]
        ng.tags = {k: v for k, v in (ng.tags or {}).items() if k not in keys}
        return None

    EKSBackend.tag_resource = tag_resource
    EKSBackend.untag_resource = untag_resource
    EKSBackend.create_cluster = create_cluster
    EKSBackend.delete_cluster = delete_cluster
    EKSBackend.create_nodegroup = create_nodegroup
    EKSBackend.delete_nodegroup = delete_nodegroup
