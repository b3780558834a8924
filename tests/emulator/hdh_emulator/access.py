"""EKS cluster access as AWS has it, which moto lacks: the cluster's ``accessConfig``
(authentication mode) and the access-entry API (Create/Describe/List/Update/DeleteAccessEntry,
Associate/DisassociateAccessPolicy, ListAssociatedAccessPolicies, ListAccessPolicies).

* CreateCluster keeps ``accessConfig`` (EKS's API default: ``CONFIG_MAP``, bootstrap ``true``) and
  DescribeCluster reports it; with ``bootstrapClusterCreatorAdminPermissions`` the caller (an
  assumed role as its role ARN) gets an access entry with ``AmazonEKSClusterAdminPolicy``,
  cluster-wide, as EKS makes it.
* UpdateClusterConfig with ``accessConfig`` moves the mode one step forward only
  (CONFIG_MAP -> API_AND_CONFIG_MAP -> API, else ``InvalidParameterException``); the cluster is
  ``UPDATING`` for ``eks_access_config_update`` and the update is recorded (DescribeUpdate).
* Access entries exist only while the mode includes the API (``InvalidRequestException``
  otherwise); one per principal (``ResourceInUseException``); the principal must be an existing
  IAM role or user (``InvalidParameterException``); policies must be EKS access policies and a
  ``namespace`` scope needs namespaces (``InvalidParameterException``). Entries live on the
  cluster object, so they vanish with it.
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
    "CreateAccessEntry",
    "DescribeAccessEntry",
    "ListAccessEntries",
    "UpdateAccessEntry",
    "DeleteAccessEntry",
    "AssociateAccessPolicy",
    "DisassociateAccessPolicy",
    "ListAssociatedAccessPolicies",
    "ListAccessPolicies",
}

MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
# what EKS offers (ListAccessPolicies), by name
POLICIES = (
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
)
POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
_PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(role|user)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")


def _err(code: str, status: int, message: str):
    body = {"message": message}
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], json.dumps(body).encode()


def _ok(payload: dict[str, Any]):
    return 200, [("Content-Type", "application/json")], json.dumps(payload).encode()


def _invalid(message: str):
    return _err("InvalidParameterException", 400, message)


def _config(cluster: Any) -> dict[str, Any]:
    cfg = getattr(cluster, "_hdh_access_config", None)
    if cfg is None:  # made before this module knew it: EKS's API default
        cfg = {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
        cluster._hdh_access_config = cfg
    return cfg


def _entries(cluster: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(cluster, "_hdh_access_entries"):
        cluster._hdh_access_entries = {}
    return cluster._hdh_access_entries


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def caller_principal(environ: dict[str, Any], account_id: str) -> str:
    """The IAM principal ARN of the caller as EKS records it (an assumed role as its role)."""
    from moto.sts.models import sts_backends

    from .app import _AKID_RE

    m = _AKID_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    key = m.group(1) if m else ""
    _, arn, acct = sts_backends[account_id]["global"].get_caller_identity(key, "us-east-1")
    assumed = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.*$", arn)
    if assumed:
        return f"arn:{assumed.group(1)}:iam::{assumed.group(2)}:role/{assumed.group(3)}"
    return re.sub(r"^arn:(aws[a-z-]*):sts::", r"arn:\1:iam::", arn)


def _principal_exists(account_id: str, kind: str, name: str) -> bool:
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["global"]
    try:
        (iam.get_role if kind == "role" else iam.get_user)(name)
        return True
    except Exception:
        return False


def _new_entry(cluster: Any, account_id: str, region: str, principal: str, p: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    tail = principal.split(":", 5)[-1]
    return {
        "clusterName": cluster.name,
        "principalArn": principal,
        "kubernetesGroups": list(p.get("kubernetesGroups") or []),
        "accessEntryArn": f"arn:aws:eks:{region}:{account_id}:access-entry/{cluster.name}/"
        f"{tail.split('/', 1)[0]}/{account_id}/{tail.rsplit('/', 1)[-1]}/{uuid.uuid4()}",
        "createdAt": now,
        "modifiedAt": now,
        "tags": dict(p.get("tags") or {}),
        "username": p.get("username") or _default_username(principal),
        "type": p.get("type") or "STANDARD",
        "_policies": {},
    }


def _default_username(principal: str) -> str:
    kind = principal.split(":", 5)[-1].split("/", 1)[0]
    return f"arn:aws:sts::{principal.split(':')[4]}:assumed-role/{principal.rsplit('/', 1)[-1]}/{{{{SessionName}}}}" if kind == "role" else principal


def _scope(p: dict[str, Any]):
    """(scope, None) or (None, error) for an AssociateAccessPolicy ``accessScope``."""
    scope = p.get("accessScope")
    if not isinstance(scope, dict) or scope.get("type") not in ("cluster", "namespace"):
        return None, _invalid("accessScope.type must be one of [cluster, namespace]")
    namespaces = list(scope.get("namespaces") or [])
    if scope["type"] == "namespace" and not namespaces:
        return None, _invalid("Namespaces must be specified when the access scope type is namespace")
    if scope["type"] == "cluster" and namespaces:
        return None, _invalid("Namespaces cannot be specified when the access scope type is cluster")
    return {"type": scope["type"], "namespaces": namespaces}, None


def _page(items: list[Any], p: dict[str, Any]) -> tuple[list[Any], str | None]:
    try:
        max_results = int(p.get("maxResults") or 100)
    except ValueError:
        max_results = 0
    if not 1 <= max_results <= 100:
        raise ValueError("maxResults must be between 1 and 100")
    start = 0
    if p.get("nextToken"):
        try:
            start = int(p["nextToken"])
        except ValueError:
            raise ValueError("The nextToken is invalid")
    page = items[start : start + max_results]
    nxt = str(start + max_results) if start + max_results < len(items) else None
    return page, nxt


def _paged(key: str, items: list[Any], p: dict[str, Any], extra: dict[str, Any] | None = None):
    try:
        page, nxt = _page(items, p)
    except ValueError as e:
        return _invalid(str(e))
    out = {**(extra or {}), key: page}
    if nxt:
        out["nextToken"] = nxt
    return _ok(out)


# -- the cluster's access configuration ----------------------------------------------------------


def check_create_cluster(req: AwsRequest):
    """An error for a CreateCluster whose accessConfig EKS would refuse, else None."""
    cfg = req.params.get("accessConfig") or {}
    mode = cfg.get("authenticationMode")
    if mode is not None and mode not in MODES:
        return _invalid(f"Unsupported authentication mode: {mode}")
    return None


def note_create_cluster(req: AwsRequest, environ: dict[str, Any], account_id: str) -> None:
    """Keep the new cluster's access config; make the creator's entry when asked."""
    name = req.params.get("name", "")
    cluster = eks.find_cluster(account_id, req.region, name)
    if cluster is None:
        return
    cfg = req.params.get("accessConfig") or {}
    bootstrap = cfg.get("bootstrapClusterCreatorAdminPermissions")
    cluster._hdh_access_config = {
        "authenticationMode": cfg.get("authenticationMode") or "CONFIG_MAP",
        "bootstrapClusterCreatorAdminPermissions": True if bootstrap is None else bool(bootstrap),
    }
    if cluster._hdh_access_config["bootstrapClusterCreatorAdminPermissions"]:
        principal = caller_principal(environ, account_id)
        entry = _new_entry(cluster, account_id, req.region, principal, {})
        entry["_policies"][POLICY_PREFIX + "AmazonEKSClusterAdminPolicy"] = {
            "policyArn": POLICY_PREFIX + "AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster", "namespaces": []},
            "associatedAt": entry["createdAt"],
            "modifiedAt": entry["createdAt"],
        }
        _entries(cluster)[principal] = entry


def add_access_config(req: AwsRequest, account_id: str, out: bytes) -> bytes:
    """Put ``accessConfig`` into a CreateCluster/DescribeCluster answer, as EKS reports it."""
    try:
        doc = json.loads(out)
    except ValueError:
        return out
    c = doc.get("cluster") if isinstance(doc, dict) else None
    if not isinstance(c, dict):
        return out
    cluster = eks.find_cluster(account_id, req.region, c.get("name", ""))
    if cluster is None:
        return out
    c["accessConfig"] = dict(_config(cluster))
    return json.dumps(doc).encode()


def update_access_config(req: AwsRequest, account_id: str):
    """UpdateClusterConfig with ``accessConfig``: one step forward, one update at a time."""
    from . import updates

    p = req.params
    name = p.get("name", "")
    cluster = eks.find_cluster(account_id, req.region, name)
    if cluster is None:
        return _err("ResourceNotFoundException", 404, f"No cluster found for name: {name}.")
    others = [k for k in ("resourcesVpcConfig", "logging", "kubernetesNetworkConfig", "upgradePolicy") if p.get(k)]
    if others:
        return _invalid("Only one type of update can be allowed.")
    target = (p.get("accessConfig") or {}).get("authenticationMode")
    if target not in MODES:
        return _invalid(f"Unsupported authentication mode: {target}")
    if cluster.status != "ACTIVE":
        return _err("ResourceInUseException", 409, f"Cluster {name} is currently {cluster.status}")
    cfg = _config(cluster)
    current = cfg["authenticationMode"]
    if target == current:
        return _invalid(f"Cluster already has authentication mode {current}")
    if MODES.index(target) != MODES.index(current) + 1:
        return _invalid(f"Unsupported authentication mode update from {current} to {target}")
    update = updates.record(
        account_id, req.region, name, "AccessConfigUpdate", [{"type": "AuthenticationMode", "value": target}]
    )
    cluster.status = "UPDATING"

    def done() -> None:
        cfg["authenticationMode"] = target
        if eks.find_cluster(account_id, req.region, name) is cluster and cluster.status == "UPDATING":
            cluster.status = "ACTIVE"
        update["status"] = "Successful"

    WORLD.after("eks_access_config_update", f"eks {name} access {target}", done)
    return _ok({"update": updates._public(update)})


# -- access entries --------------------------------------------------------------------------------


def handle(req: AwsRequest, account_id: str, environ: dict[str, Any]):
    """(status, headers, body) for an access-entry operation."""
    p = req.params
    if req.operation == "ListAccessPolicies":
        items = [{"name": n, "arn": POLICY_PREFIX + n} for n in POLICIES]
        return _paged("accessPolicies", items, p)
    name = p.get("name", "")
    cluster = eks.find_cluster(account_id, req.region, name)
    if cluster is None:
        return _err("ResourceNotFoundException", 404, f"No cluster found for name: {name}.")
    mode = _config(cluster)["authenticationMode"]
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        return _err(
            "InvalidRequestException",
            400,
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
        )
    entries = _entries(cluster)
    principal = p.get("principalArn", "")

    if req.operation == "ListAccessEntries":
        arns = sorted(entries)
        wanted = p.get("associatedPolicyArn")
        if wanted:
            arns = [a for a in arns if wanted in entries[a]["_policies"]]
        return _paged("accessEntries", arns, p)

    if req.operation == "CreateAccessEntry":
        m = _PRINCIPAL_RE.match(principal)
        if not m:
            return _invalid(f"The specified principalArn is invalid: {principal!r} is not an IAM role or user ARN")
        # the caller exists by definition (moto's default caller is no IAM user)
        caller = principal == caller_principal(environ, account_id)
        if not caller and not _principal_exists(m.group(1), m.group(2), m.group(3)):
            return _invalid(f"The specified principalArn could not be found: {principal}")
        if cluster.status not in ("ACTIVE", "UPDATING"):
            return _err("InvalidRequestException", 400, f"Cluster '{name}' is not in ACTIVE status")
        kind = p.get("type") or "STANDARD"
        if kind != "STANDARD":
            return _invalid(f"Unsupported access entry type for this emulator: {kind}")
        if principal in entries:
            return _err(
                "ResourceInUseException",
                409,
                f"The specified access entry resource is already in use on this cluster.",
            )
        entry = _new_entry(cluster, account_id, req.region, principal, p)
        entries[principal] = entry
        return _ok({"accessEntry": _public(entry)})

    entry = entries.get(principal)
    if entry is None:
        return _err(
            "ResourceNotFoundException",
            404,
            f"The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
        )
    if req.operation == "DescribeAccessEntry":
        return _ok({"accessEntry": _public(entry)})
    if req.operation == "UpdateAccessEntry":
        if "kubernetesGroups" in p:
            entry["kubernetesGroups"] = list(p.get("kubernetesGroups") or [])
        if p.get("username"):
            entry["username"] = p["username"]
        entry["modifiedAt"] = time.time()
        return _ok({"accessEntry": _public(entry)})
    if req.operation == "DeleteAccessEntry":
        del entries[principal]
        return _ok({})
    if req.operation == "ListAssociatedAccessPolicies":
        items = [entry["_policies"][k] for k in sorted(entry["_policies"])]
        return _paged("associatedAccessPolicies", items, p, {"clusterName": name, "principalArn": principal})
    policy = p.get("policyArn", "")
    if req.operation == "AssociateAccessPolicy":
        if not policy.startswith(POLICY_PREFIX) or policy[len(POLICY_PREFIX) :] not in POLICIES:
            return _invalid(f"The specified policyArn is invalid: {policy}")
        scope, error = _scope(p)
        if error:
            return error
        now = time.time()
        assoc = entry["_policies"].get(policy)
        if assoc is None:
            assoc = {"policyArn": policy, "associatedAt": now}
            entry["_policies"][policy] = assoc
        assoc["accessScope"] = scope
        assoc["modifiedAt"] = now
        return _ok({"clusterName": name, "principalArn": principal, "associatedAccessPolicy": assoc})
    if req.operation == "DisassociateAccessPolicy":
        if policy not in entry["_policies"]:
            return _err("ResourceNotFoundException", 404, f"The specified policy {policy} is not associated with this access entry.")
        del entry["_policies"][policy]
        return _ok({})
    return _err("InvalidRequestException", 400, f"unsupported access-entry operation {req.operation}")


# -- tags on access entries (moto tags clusters only) ------------------------------------------------


def _entry_by_arn(account_id: str, region: str, arn: str) -> dict[str, Any] | None:
    if ":access-entry/" not in arn:
        return None
    for acct, rgn, cluster in eks.all_clusters():
        if acct != account_id:
            continue
        for entry in _entries(cluster).values():
            if entry["accessEntryArn"] == arn:
                return entry
    return None


def is_entry_tagging(req: AwsRequest) -> bool:
    return req.operation in ("TagResource", "UntagResource", "ListTagsForResource") and ":access-entry/" in str(
        req.params.get("resourceArn", "")
    )


def handle_tags(req: AwsRequest, account_id: str, environ: dict[str, Any]):
    from urllib.parse import parse_qs

    arn = str(req.params.get("resourceArn", ""))
    entry = _entry_by_arn(account_id, req.region, arn)
    if entry is None:
        return _err("NotFoundException", 404, f"Resource was not found: {arn}")
    if req.operation == "TagResource":
        entry["tags"].update(req.params.get("tags") or {})
        return _ok({})
    if req.operation == "UntagResource":
        keys = parse_qs(environ.get("QUERY_STRING", "")).get("tagKeys", [])
        entry["tags"] = {k: v for k, v in entry["tags"].items() if k not in keys}
        return _ok({})
    return _ok({"tags": entry["tags"]})
