"""EKS version updates and the update records, which moto lacks: UpdateClusterVersion,
UpdateNodegroupVersion, DescribeUpdate, ListUpdates.

* UpdateClusterVersion goes one minor version at a time (else ``InvalidParameterException``),
  needs an ``ACTIVE`` cluster (``ResourceInUseException`` while another update runs) and managed
  node groups on the control plane's version (``InvalidRequestException``: update them first).
  The cluster is ``UPDATING`` for ``eks_cluster_update``, then ``ACTIVE`` on the new version.
* UpdateNodegroupVersion moves a node group to the cluster's version (or an older one, never a
  newer one); ``UPDATING`` for ``eks_nodegroup_update``.
* Every update (including moto's UpdateClusterConfig / UpdateNodegroupConfig and UpdateAddon) can
  be read back with DescribeUpdate and ListUpdates: ``InProgress`` until done, then ``Successful``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from . import eks
from .protocol import AwsRequest
from .world import WORLD

OPERATIONS = {"UpdateClusterVersion", "UpdateNodegroupVersion", "DescribeUpdate", "ListUpdates"}
RECORDED = {"UpdateClusterConfig", "UpdateNodegroupConfig"}

# (account, region, cluster) -> [update dict with private "_nodegroup" / "_addon" keys]
UPDATES: dict[tuple[str, str, str], list[dict[str, Any]]] = {}


def _reset() -> None:
    UPDATES.clear()


WORLD.on_reset(_reset)


def _public(update: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in update.items() if not k.startswith("_")}


def _err(code: str, status: int, message: str):
    body = {"message": message}
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], json.dumps(body).encode()


def _ok(payload: dict[str, Any]):
    return 200, [("Content-Type", "application/json")], json.dumps(payload).encode()


def record(
    account_id: str,
    region: str,
    cluster: str,
    kind: str,
    params: list[dict[str, str]],
    nodegroup: str | None = None,
    addon: str | None = None,
    status: str = "InProgress",
) -> dict[str, Any]:
    update = {
        "id": str(uuid.uuid4()),
        "status": status,
        "type": kind,
        "params": params,
        "createdAt": time.time(),
        "errors": [],
        "_nodegroup": nodegroup,
        "_addon": addon,
    }
    UPDATES.setdefault((account_id, region, cluster), []).append(update)
    return update


def note_moto_update(req: AwsRequest, account_id: str, body: bytes) -> None:
    """Remember the update object moto returned for UpdateClusterConfig/UpdateNodegroupConfig."""
    try:
        update = json.loads(body).get("update")
    except (ValueError, AttributeError):
        return
    if not isinstance(update, dict) or "id" not in update:
        return
    update = dict(update, _nodegroup=req.params.get("nodegroupName"), _addon=None)
    UPDATES.setdefault((account_id, req.region, req.params.get("name", "")), []).append(update)


def _minor(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def _finish(update: dict[str, Any], obj: Any, **changes: Any) -> None:
    for k, v in changes.items():
        setattr(obj, k, v)
    obj.status = "ACTIVE"
    update["status"] = "Successful"


def handle(req: AwsRequest, account_id: str):
    p = req.params
    name = p.get("name", "")
    cluster = eks.find_cluster(account_id, req.region, name)
    if cluster is None:
        return _err("ResourceNotFoundException", 404, f"No cluster found for name: {name}.")
    updates = UPDATES.setdefault((account_id, req.region, name), [])

    if req.operation == "ListUpdates":
        ng, addon = p.get("nodegroupName"), p.get("addonName")
        ids = [u["id"] for u in updates if u.get("_nodegroup") == ng and u.get("_addon") == addon]
        return _ok({"updateIds": ids})

    if req.operation == "DescribeUpdate":
        for u in updates:
            if u["id"] == p.get("updateId"):
                return _ok({"update": _public(u)})
        return _err("ResourceNotFoundException", 404, f"No update found for ID: {p.get('updateId')}")

    if req.operation == "UpdateClusterVersion":
        target = str(p.get("version") or "")
        if cluster.status != "ACTIVE":
            return _err("ResourceInUseException", 409, f"Cluster {name} is currently {cluster.status}")
        current = cluster.version
        if target == current:
            return _err("InvalidParameterException", 400, f"Cluster is already at the desired configuration with version: {current}")
        cur, tgt = _minor(current), _minor(target)
        if tgt[0] != cur[0] or tgt[1] != cur[1] + 1:
            return _err(
                "InvalidParameterException",
                400,
                f"Unsupported Kubernetes minor version update from {current} to {target}",
            )
        lagging = [ng.nodegroup_name for ng in cluster.nodegroups.values() if _minor(ng.version) != cur]
        if lagging:
            return _err(
                "InvalidRequestException",
                400,
                f"Nodegroups {', '.join(sorted(lagging))} must be on version {current} before the "
                f"control plane is updated to {target}",
            )
        update = record(
            account_id,
            req.region,
            name,
            "VersionUpdate",
            [{"type": "Version", "value": target}, {"type": "PlatformVersion", "value": "eks.1"}],
        )
        cluster.status = "UPDATING"
        WORLD.after(
            "eks_cluster_update",
            f"eks {name} version {target}",
            lambda: _finish(update, cluster, version=target, platformVersion="eks.1"),
        )
        return _ok({"update": _public(update)})

    if req.operation == "UpdateNodegroupVersion":
        ng_name = p.get("nodegroupName", "")
        ng = cluster.nodegroups.get(ng_name)
        if ng is None:
            return _err("ResourceNotFoundException", 404, f"No node group found for name: {ng_name}.")
        if ng.status != "ACTIVE":
            return _err("ResourceInUseException", 409, f"Nodegroup {ng_name} is currently {ng.status}")
        target = str(p.get("version") or cluster.version)
        if _minor(target) > _minor(cluster.version):
            return _err(
                "InvalidParameterException",
                400,
                f"Requested Kubernetes version {target} is newer than the cluster's version {cluster.version}",
            )
        if _minor(target) < _minor(ng.version):
            return _err("InvalidParameterException", 400, f"Cannot downgrade nodegroup {ng_name} from {ng.version} to {target}")
        release = p.get("releaseVersion") or f"{target}.0-20241024"
        update = record(
            account_id,
            req.region,
            name,
            "VersionUpdate",
            [{"type": "Version", "value": target}, {"type": "ReleaseVersion", "value": release}],
            nodegroup=ng_name,
        )
        ng.status = "UPDATING"
        WORLD.after(
            "eks_nodegroup_update",
            f"nodegroup {ng_name} version {target}",
            lambda: _finish(update, ng, version=target, release_version=release),
        )
        return _ok({"update": _public(update)})
    return _err("InvalidRequestException", 400, f"unsupported operation {req.operation}")
