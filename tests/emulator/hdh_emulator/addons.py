"""The EKS add-on API, which moto lacks: Create/Describe/Delete/List/UpdateAddon and
DescribeAddonVersions.

Add-ons go ``CREATING`` -> ``ACTIVE`` (``eks_addon_create``), ``UPDATING`` -> ``ACTIVE`` (same
duration) and ``DELETING`` -> gone (``eks_addon_delete``). They need an ``ACTIVE`` cluster, vanish
with their cluster, and only the well-known AWS add-on names are accepted.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from . import eks
from .protocol import AwsRequest
from .world import WORLD

OPERATIONS = {
    "CreateAddon",
    "DescribeAddon",
    "DeleteAddon",
    "ListAddons",
    "UpdateAddon",
    "DescribeAddonVersions",
}

# Kubernetes versions EKS offers.
K8S = [f"1.{m}" for m in range(28, 35)]


def _span(lo: str, hi: str) -> list[str]:
    return [k for k in K8S if _minor(lo) <= _minor(k) <= _minor(hi)]


def _minor(v: str) -> tuple[int, int]:
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


# add-on -> [(version, cluster versions it supports, cluster versions it is the default for)],
# newest first. As on AWS, which versions an add-on may run and which one is the default depend on
# the cluster's version (kube-proxy follows it exactly), so an upgrade has to move add-ons too.
VERSIONS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "vpc-cni": [
        ("v1.18.5-eksbuild.1", K8S, K8S[2:]),
        ("v1.18.3-eksbuild.3", K8S, K8S[:2]),
    ],
    "coredns": [
        ("v1.11.3-eksbuild.1", _span("1.29", "1.34"), _span("1.30", "1.34")),
        ("v1.11.1-eksbuild.8", _span("1.28", "1.31"), _span("1.28", "1.29")),
    ],
    "kube-proxy": [(f"v{k}.0-eksbuild.1", [k], [k]) for k in reversed(K8S)],
    "aws-ebs-csi-driver": [
        ("v1.37.0-eksbuild.1", _span("1.28", "1.34"), _span("1.32", "1.34")),
        ("v1.35.0-eksbuild.1", _span("1.28", "1.32"), _span("1.30", "1.31")),
        ("v1.34.0-eksbuild.1", _span("1.28", "1.31"), _span("1.28", "1.29")),
    ],
    "aws-efs-csi-driver": [
        ("v2.0.7-eksbuild.1", K8S, _span("1.30", "1.34")),
        ("v2.0.6-eksbuild.1", K8S, _span("1.28", "1.29")),
    ],
    "eks-pod-identity-agent": [("v1.3.2-eksbuild.2", K8S, K8S)],
    "snapshot-controller": [("v8.0.0-eksbuild.1", K8S, K8S)],
    "aws-mountpoint-s3-csi-driver": [("v1.8.0-eksbuild.1", K8S, K8S)],
    "amazon-cloudwatch-observability": [("v2.1.2-eksbuild.1", K8S, K8S)],
}


def _default(name: str, k8s: str) -> str | None:
    return next((v for v, _, default in VERSIONS[name] if k8s in default), None)


def _supports(name: str, version: str, k8s: str) -> bool:
    return any(v == version and k8s in ok for v, ok, _ in VERSIONS[name])


_VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")

# (account, region, cluster) -> {addon name: addon dict}
ADDONS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}


def forget_cluster(account_id: str, region: str, cluster: str) -> None:
    ADDONS.pop((account_id, region, cluster), None)


def _err(code: str, status: int, message: str, **extra: Any):
    body = {"message": message, **{k: v for k, v in extra.items() if v is not None}}
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], json.dumps(body).encode()


def _ok(payload: dict[str, Any]):
    return 200, [("Content-Type", "application/json")], json.dumps(payload).encode()


def _cluster_or_error(account_id: str, region: str, name: str):
    cluster = eks.find_cluster(account_id, region, name)
    if cluster is None:
        return None, _err(
            "ResourceNotFoundException", 404, f"No cluster found for name: {name}.", clusterName=name
        )
    return cluster, None


def _finish(addons: dict[str, dict[str, Any]], name: str, addon: dict[str, Any], status: str) -> None:
    if addons.get(name) is addon and addon["status"] in ("CREATING", "UPDATING"):
        addon["status"] = status
        addon["modifiedAt"] = time.time()


def _gone(addons: dict[str, dict[str, Any]], name: str, addon: dict[str, Any]) -> None:
    if addons.get(name) is addon:
        del addons[name]


def handle(req: AwsRequest, account_id: str):
    """(status, headers, body) for an add-on operation."""
    p = req.params
    region = req.region
    if req.operation == "DescribeAddonVersions":
        return _describe_versions(p)
    cluster_name = p.get("name", "")
    cluster, error = _cluster_or_error(account_id, region, cluster_name)
    if error:
        return error
    addons = ADDONS.setdefault((account_id, region, cluster_name), {})
    name = p.get("addonName", "")

    if req.operation == "ListAddons":
        names = sorted(addons)
        max_results = int(p.get("maxResults") or 100)
        start = names.index(p["nextToken"]) if p.get("nextToken") in names else 0
        page = names[start : start + max_results]
        nxt = names[start + max_results] if start + max_results < len(names) else None
        out: dict[str, Any] = {"addons": page}
        if nxt:
            out["nextToken"] = nxt
        return _ok(out)

    if req.operation == "CreateAddon":
        if name not in VERSIONS:
            return _err(
                "InvalidParameterException",
                400,
                f"Addon {name} specified is not supported in {cluster.version} kubernetes version",
                clusterName=cluster_name,
                addonName=name,
            )
        if cluster.status != "ACTIVE":
            return _err(
                "InvalidRequestException",
                400,
                f"Cluster '{cluster_name}' is not in ACTIVE status",
                clusterName=cluster_name,
                addonName=name,
            )
        if name in addons:
            return _err(
                "ResourceInUseException", 409, "Addon already exists.", clusterName=cluster_name, addonName=name
            )
        version = p.get("addonVersion") or _default(name, cluster.version) or ""
        if not _VERSION_RE.match(version) or not _supports(name, version, cluster.version):
            return _err(
                "InvalidParameterException",
                400,
                f"Addon version specified is not supported: {version}",
                clusterName=cluster_name,
                addonName=name,
            )
        now = time.time()
        addon = {
            "addonName": name,
            "clusterName": cluster_name,
            "status": "CREATING",
            "addonVersion": version,
            "health": {"issues": []},
            "addonArn": f"arn:aws:eks:{region}:{account_id}:addon/{cluster_name}/{name}/{uuid.uuid4()}",
            "createdAt": now,
            "modifiedAt": now,
            "tags": p.get("tags") or {},
        }
        if p.get("serviceAccountRoleArn"):
            addon["serviceAccountRoleArn"] = p["serviceAccountRoleArn"]
        if p.get("configurationValues"):
            addon["configurationValues"] = p["configurationValues"]
        addons[name] = addon
        WORLD.after("eks_addon_create", f"addon {name} active", lambda: _finish(addons, name, addon, "ACTIVE"))
        return _ok({"addon": addon})

    addon = addons.get(name)
    if addon is None:
        return _err(
            "ResourceNotFoundException",
            404,
            f"No addon: {name} found in cluster: {cluster_name}",
            clusterName=cluster_name,
            addonName=name,
        )
    if req.operation == "DescribeAddon":
        return _ok({"addon": addon})
    if req.operation == "DeleteAddon":
        if addon["status"] != "DELETING":
            addon["status"] = "DELETING"
            addon["modifiedAt"] = time.time()
            WORLD.after("eks_addon_delete", f"addon {name} deleted", lambda: _gone(addons, name, addon))
        return _ok({"addon": addon})
    if req.operation == "UpdateAddon":
        if addon["status"] not in ("ACTIVE", "DEGRADED"):
            return _err(
                "ResourceInUseException",
                409,
                f"Addon {name} is currently {addon['status']}",
                clusterName=cluster_name,
                addonName=name,
            )
        wanted = p.get("addonVersion")
        if wanted and not _supports(name, wanted, cluster.version):
            return _err(
                "InvalidParameterException",
                400,
                f"Addon version specified is not supported: {wanted} on Kubernetes {cluster.version}",
                clusterName=cluster_name,
                addonName=name,
            )
        params = []
        for key, kind in (
            ("addonVersion", "AddonVersion"),
            ("serviceAccountRoleArn", "ServiceAccountRoleArn"),
            ("configurationValues", "ConfigurationValues"),
        ):
            if p.get(key):
                addon[key] = p[key]
                params.append({"type": kind, "value": p[key]})
        if p.get("resolveConflicts"):
            params.append({"type": "ResolveConflicts", "value": p["resolveConflicts"]})
        addon["status"] = "UPDATING"
        addon["modifiedAt"] = time.time()
        from . import updates

        upd = updates.record(account_id, region, cluster_name, "AddonUpdate", params, addon=name)

        def done() -> None:
            _finish(addons, name, addon, "ACTIVE")
            upd["status"] = "Successful"

        WORLD.after("eks_addon_create", f"addon {name} updated", done)
        return _ok({"update": updates._public(upd)})
    return _err("InvalidRequestException", 400, f"unsupported add-on operation {req.operation}")


def _describe_versions(p: dict[str, Any]):
    wanted = p.get("addonName")
    k8s_version = p.get("kubernetesVersion")
    out = []
    for name, versions in sorted(VERSIONS.items()):
        if wanted and wanted != name:
            continue
        offered = [
            {
                "addonVersion": v,
                "architecture": ["amd64", "arm64"],
                "compatibilities": [
                    {"clusterVersion": k, "platformVersions": ["*"], "defaultVersion": k in default}
                    for k in ok
                    if k_version_matches(k, k8s_version)
                ],
                "requiresConfiguration": False,
            }
            for v, ok, default in versions
            if k8s_version is None or k8s_version in ok
        ]
        if offered:
            out.append(
                {
                    "addonName": name,
                    "type": "storage" if "csi" in name else "networking",
                    "owner": "aws",
                    "publisher": "eks",
                    "addonVersions": offered,
                }
            )
    return _ok({"addons": out})


def k_version_matches(k: str, wanted: str | None) -> bool:
    return wanted is None or k == wanted


WORLD.on_reset(ADDONS.clear)
