"""The Kubernetes side of each emulated EKS cluster, driven by the stand-in helm and kubectl.

State per cluster (kept here so it survives between tool invocations, cleared by reset, dropped
when the cluster is deleted): namespaces, applied objects, Helm releases. A Service of type
LoadBalancer, whether applied with kubectl or rendered by a release (``proxy-public`` of the
daskhub/jupyterhub charts unless ``proxy.service.type`` says otherwise), gets what the in-tree AWS
cloud provider makes, after ``k8s_load_balancer_provision``:

* a security group ``k8s-elb-<lb>`` in the cluster VPC (ingress on the service ports from
  anywhere), and an ingress rule on the node security group(s) that references it;
* a classic ELB ``<lb>`` (32 characters, like Kubernetes names them) in one subnet per AZ, tagged
  ``kubernetes.io/cluster/<cluster>=owned``; its ENIs come from the ELB module;
* the ELB's DNS name in the Service's ``status.loadBalancer.ingress[0].hostname``.

Deleting the Service (uninstall, kubectl delete, namespace deletion) deletes the ELB at once,
revokes the node-group rule and deletes the security group once the ELB's ENIs are released.
If the cluster goes first, all of it stays behind in the VPC, as it does on AWS.

The tools parse their own flags and send the contents of the files they name; this module parses
YAML (kubeconfig, values, manifests) with the PyYAML that moto's virtualenv carries.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from typing import Any

import yaml

from . import acm, charts, eks, elb
from . import ec2 as ec2mod
from .world import WORLD

CLUSTER_SCOPED = {
    "Namespace",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "Node",
}
ALIASES = {
    "svc": "Service",
    "service": "Service",
    "services": "Service",
    "ns": "Namespace",
    "namespace": "Namespace",
    "namespaces": "Namespace",
    "no": "Node",
    "node": "Node",
    "nodes": "Node",
    "pv": "PersistentVolume",
    "persistentvolume": "PersistentVolume",
    "persistentvolumes": "PersistentVolume",
    "pvc": "PersistentVolumeClaim",
    "persistentvolumeclaim": "PersistentVolumeClaim",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "deploy": "Deployment",
    "deployment": "Deployment",
    "deployments": "Deployment",
    "sa": "ServiceAccount",
    "serviceaccount": "ServiceAccount",
    "serviceaccounts": "ServiceAccount",
    "cm": "ConfigMap",
    "configmap": "ConfigMap",
    "configmaps": "ConfigMap",
    "secret": "Secret",
    "secrets": "Secret",
    "sc": "StorageClass",
    "storageclass": "StorageClass",
    "storageclasses": "StorageClass",
}
PLURAL = {
    "Service": "services",
    "Namespace": "namespaces",
    "Node": "nodes",
    "PersistentVolume": "persistentvolumes",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Deployment": "deployments.apps",
    "ServiceAccount": "serviceaccounts",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "StorageClass": "storageclasses.storage.k8s.io",
}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class ToolError(Exception):
    """A failure the real tool would print to stderr before exiting 1."""


class KubeState:
    """Kubernetes objects and Helm releases of one cluster."""

    def __init__(self, account_id: str, region: str, cluster_name: str):
        self.account_id = account_id
        self.region = region
        self.cluster_name = cluster_name
        self.namespaces: set[str] = set(DEFAULT_NAMESPACES)
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.releases: dict[tuple[str, str], dict[str, Any]] = {}
        self.lbs: dict[tuple[str, str], dict[str, Any]] = {}  # (ns, svc) -> load balancer state
        # (ns, claim) -> the EBS volume the CSI driver made for it: {"id", "reclaim"}
        self.volumes: dict[tuple[str, str], dict[str, Any]] = {}


# cluster ARN -> state
KUBE: dict[str, KubeState] = {}
TOOL_LOG: list[dict[str, Any]] = []


def _reset() -> None:
    KUBE.clear()
    TOOL_LOG.clear()


WORLD.on_reset(_reset)


def forget_cluster(cluster: Any) -> None:
    """The cluster is gone; whatever its cloud provider made in AWS stays behind."""
    KUBE.pop(cluster.arn, None)


# -- resolving the cluster ---------------------------------------------------------------------------


def _exec_cluster_name(user: dict[str, Any]) -> str | None:
    ex = (user or {}).get("exec") or {}
    args = [str(a) for a in ex.get("args") or []]
    for flag in ("--cluster-name", "--cluster-id", "-i"):
        if flag in args and args.index(flag) + 1 < len(args):
            return args[args.index(flag) + 1]
    return None


def resolve(kubeconfig: str | None, context: str | None, tool: str) -> tuple[Any, KubeState]:
    """The ACTIVE cluster a kubeconfig points at, or a ToolError worded like the real tool's."""
    server = None
    names: list[str] = []
    if kubeconfig:
        try:
            cfg = yaml.safe_load(kubeconfig) or {}
        except yaml.YAMLError as e:
            raise ToolError(f"error: error loading config file: {e}")
        ctx_name = context or cfg.get("current-context")
        ctx = next((c.get("context") or {} for c in cfg.get("contexts") or [] if c.get("name") == ctx_name), None)
        if ctx is None and context:
            raise ToolError(f'error: context "{context}" does not exist')
        ctx = ctx or {}
        cl = next((c for c in cfg.get("clusters") or [] if c.get("name") == ctx.get("cluster")), None)
        if cl is None and cfg.get("clusters"):
            cl = cfg["clusters"][0]
        if cl:
            server = (cl.get("cluster") or {}).get("server")
            names.append(str(cl.get("name", "")))
        user = next((u.get("user") or {} for u in cfg.get("users") or [] if u.get("name") == ctx.get("user")), {})
        exec_name = _exec_cluster_name(user)
        if exec_name:
            names.append(exec_name)
    if not server and not names:
        if tool == "helm":
            raise ToolError(
                'Error: Kubernetes cluster unreachable: Get "http://localhost:8080/version": '
                "dial tcp 127.0.0.1:8080: connect: connection refused"
            )
        raise ToolError(
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?"
        )
    host = (server or "").split("://", 1)[-1].split("/", 1)[0]
    candidates = eks.all_clusters()
    match = None
    if server:
        for account_id, region, c in candidates:
            ep = (getattr(c, "_hdh_endpoint", None) or c.endpoint or "").rstrip("/")
            if ep and ep == server.rstrip("/"):
                match = (account_id, region, c)
    if match is None:
        for account_id, region, c in candidates:
            if any(n and (n == c.name or n == c.arn) for n in names):
                match = (account_id, region, c)
    if match is None or match[2].status == "CREATING":
        shown = host or (names[0] if names else "unknown")
        _unreachable(tool, server or f"https://{shown}", f"dial tcp: lookup {shown} on 127.0.0.53:53: no such host")
    account_id, region, cluster = match
    if cluster.status != "ACTIVE" or WORLD.scenario.get("kube_unreachable"):
        _unreachable(tool, server or f"https://{host}", f"dial tcp 10.0.{len(cluster.name) % 250}.17:443: i/o timeout")
    state = KUBE.get(cluster.arn)
    if state is None:
        state = KUBE[cluster.arn] = KubeState(account_id, region, cluster.name)
    return cluster, state


def _unreachable(tool: str, server: str, why: str) -> None:
    if tool == "helm":
        raise ToolError(f'Error: Kubernetes cluster unreachable: Get "{server.rstrip("/")}/version": {why}')
    raise ToolError(f"Unable to connect to the server: {why}")


# -- objects --------------------------------------------------------------------------------------------


def _group(obj: dict[str, Any]) -> str:
    api = str(obj.get("apiVersion", "v1"))
    return api.split("/", 1)[0] if "/" in api else ""


def _resource_name(obj: dict[str, Any]) -> str:
    group = _group(obj)
    kind = str(obj.get("kind", "")).lower()
    return f"{kind}.{group}" if group else kind


def _key(obj: dict[str, Any], default_ns: str) -> tuple[str, str, str]:
    kind = obj.get("kind", "")
    md = obj.get("metadata") or {}
    ns = "" if kind in CLUSTER_SCOPED else (md.get("namespace") or default_ns)
    return kind, ns, md.get("name", "")


def _load_docs(texts: list[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for source, text in texts:
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.YAMLError as e:
            raise ToolError(f'error: error parsing {source}: {e}')
        for doc in docs:
            if not doc:
                continue
            if not isinstance(doc, dict) or "kind" not in doc:
                raise ToolError(f"error: error validating \"{source}\": object has no kind")
            if doc["kind"] == "List":
                out += [(source, item) for item in doc.get("items") or []]
            else:
                out.append((source, doc))
    return out


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(state: KubeState, key: tuple[str, str, str], obj: dict[str, Any]) -> str:
    """Store an object; returns created/configured/unchanged."""
    kind, ns, name = key
    obj = copy.deepcopy(obj)
    md = obj.setdefault("metadata", {})
    md["name"] = name
    if ns:
        md["namespace"] = ns
    old = state.objects.get(key)
    if old is not None:
        md.setdefault("uid", old["metadata"].get("uid"))
        md.setdefault("creationTimestamp", old["metadata"].get("creationTimestamp"))
        if "status" in old:
            obj["status"] = old["status"]
    else:
        md.setdefault("uid", str(uuid.uuid4()))
        md.setdefault("creationTimestamp", _now_iso())
    verdict = "created" if old is None else ("unchanged" if _spec(old) == _spec(obj) else "configured")
    state.objects[key] = obj
    if kind == "Namespace":
        state.namespaces.add(name)
    if kind == "Service":
        _sync_service(state, ns, name)
    if kind == "PersistentVolumeClaim" and (ns, name) not in state.volumes:
        _provision_volume(state, ns, name, obj)
    return verdict


def _spec(obj: dict[str, Any]) -> Any:
    return {k: v for k, v in obj.items() if k not in ("status",)}


def _delete(state: KubeState, key: tuple[str, str, str]) -> None:
    kind, ns, name = key
    state.objects.pop(key, None)
    if kind == "Service":
        _sync_service(state, ns, name)
    if kind == "PersistentVolumeClaim":
        _release_volume(state, ns, name)
    if kind == "Namespace":
        state.namespaces.discard(name)
        for other in [k for k in state.objects if k[1] == name]:
            _delete(state, other)
        for rel in [k for k in state.releases if k[0] == name]:
            state.releases.pop(rel, None)


# -- volumes of claims (the EBS CSI driver) ------------------------------------------------------------

EBS_CSI = "ebs.csi.aws.com"


def _gib(quantity: Any) -> int:
    """A Kubernetes storage quantity (``1Gi``, ``10G``, ``500Mi``) in whole GiB, at least 1."""
    text = str(quantity or "1Gi").strip()
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for suffix, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return max(1, -(-int(float(text[: -len(suffix)]) * factor) // 2**30))
    return max(1, -(-int(float(text)) // 2**30))


def _provision_volume(state: KubeState, ns: str, name: str, pvc: dict[str, Any]) -> None:
    """What the EBS CSI driver does for a claim of one of its StorageClasses: an EBS volume in a
    zone of the cluster, tagged as the driver tags it. A claim of another class (or none: the
    cluster's default class) is not provisioned here."""
    sc_name = (pvc.get("spec") or {}).get("storageClassName")
    sc = state.objects.get(("StorageClass", "", sc_name)) if sc_name else None
    if sc is None or sc.get("provisioner") != EBS_CSI:
        return
    cluster = eks.find_cluster(state.account_id, state.region, state.cluster_name)
    if cluster is None:
        return
    ec2 = ec2mod.backend(state.account_id, state.region)
    subnets = sorted((cluster.resources_vpc_config or {}).get("subnetIds") or [])
    if not subnets:
        return
    params = sc.get("parameters") or {}
    volume = ec2.create_volume(
        size=_gib((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")),
        zone_name=ec2.get_subnet(subnets[0]).availability_zone,
        encrypted=str(params.get("encrypted", "false")).lower() == "true",
        volume_type=params.get("type", "gp3"),
    )
    if volume.encrypted:
        _aws_managed_ebs_key(state)
    pv = f"pvc-{uuid.uuid4()}"
    # The driver's tags as the EKS add-on runs it (no --k8s-tag-cluster-id, so no
    # kubernetes.io/cluster/<id> or KubernetesCluster tag), plus what the class asks for with
    # tagSpecification_N ("key=value", driver >= 1.6).
    tags = {
        "CSIVolumeName": pv,
        "ebs.csi.aws.com/cluster": "true",
        "kubernetes.io/created-for/pvc/name": name,
        "kubernetes.io/created-for/pvc/namespace": ns,
        "kubernetes.io/created-for/pv/name": pv,
    }
    for key, spec in sorted(params.items()):
        if key.lower().startswith("tagspecification") and "=" in str(spec):
            k, v = str(spec).split("=", 1)
            tags[k.strip()] = v.strip()
    ec2.create_tags([volume.id], tags)
    state.volumes[(ns, name)] = {"id": volume.id, "reclaim": sc.get("reclaimPolicy") or "Delete"}


def _aws_managed_ebs_key(state: KubeState) -> None:
    """moto makes the default EBS key (`alias/aws/ebs`) as a customer key; on AWS it is an AWS
    managed key (KeyManager AWS), which users neither own nor delete."""
    from moto.kms import kms_backends

    kms = kms_backends[state.account_id][state.region]
    try:
        kms.describe_key("alias/aws/ebs").key_manager = "AWS"
    except Exception:
        pass


def _release_volume(state: KubeState, ns: str, name: str) -> None:
    """The claim is gone: its volume goes too unless its class retains it."""
    record = state.volumes.pop((ns, name), None)
    if record is None or record["reclaim"] == "Retain":
        return
    ec2 = ec2mod.backend(state.account_id, state.region)
    if record["id"] in ec2.volumes:
        ec2.delete_volume(record["id"])


# -- load balancers -------------------------------------------------------------------------------------


def _sync_service(state: KubeState, ns: str, name: str) -> None:
    svc = state.objects.get(("Service", ns, name))
    wants = svc is not None and (svc.get("spec") or {}).get("type") == "LoadBalancer"
    has = (ns, name) in state.lbs
    if wants and not has:
        _provision_lb(state, ns, name, svc)
    elif has and not wants:
        _deprovision_lb(state, ns, name)


def _lb_subnets(ec2: Any, cluster: Any, internal: bool) -> list[str]:
    cfg = cluster.resources_vpc_config or {}
    cluster_subnets = list(cfg.get("subnetIds") or [])
    vpc_id = cfg.get("vpcId") or (ec2.get_subnet(cluster_subnets[0]).vpc_id if cluster_subnets else None)
    role_tag = "kubernetes.io/role/internal-elb" if internal else "kubernetes.io/role/elb"
    tagged = (
        [s for s in ec2.describe_subnets(filters={"vpc-id": [vpc_id]}) if role_tag in ec2.tags.get(s.id, {})]
        if vpc_id
        else []
    )
    chosen = tagged or [ec2.get_subnet(s) for s in cluster_subnets]
    per_az: dict[str, str] = {}
    for s in sorted(chosen, key=lambda s: s.id):
        per_az.setdefault(s.availability_zone, s.id)
    return list(per_az.values())


def _provision_lb(state: KubeState, ns: str, name: str, svc: dict[str, Any]) -> None:
    lb_name = "a" + uuid.uuid4().hex[:31]
    record = {"name": lb_name, "sg": None, "hostname": None, "cancelled": False}
    state.lbs[(ns, name)] = record
    WORLD.after(
        "k8s_load_balancer_provision",
        f"k8s load balancer {ns}/{name}",
        lambda: _create_lb(state, ns, name, record),
    )


def _create_lb(state: KubeState, ns: str, name: str, record: dict[str, Any]) -> None:
    if record["cancelled"] or KUBE.get(_arn(state)) is not state:
        return
    cluster = eks.find_cluster(state.account_id, state.region, state.cluster_name)
    if cluster is None:
        return
    svc = state.objects.get(("Service", ns, name)) or {}
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    internal = str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-internal", "")).lower() in (
        "true",
        "0.0.0.0/0",
    )
    ports = [p for p in (svc.get("spec") or {}).get("ports") or [] if p.get("port")] or [{"port": 80}]
    cert_arn = annotations.get("service.beta.kubernetes.io/aws-load-balancer-ssl-cert")
    if cert_arn:
        cert = acm.certificate(state.account_id, state.region, cert_arn)
        if cert is None or cert.status != "ISSUED":
            # ELB refuses a certificate that does not exist or is not issued
            # (CertificateNotFound); the service controller retries with backoff.
            WORLD.after(
                max(WORLD.duration("k8s_load_balancer_provision"), 10.0),
                f"k8s load balancer {ns}/{name} (retry: certificate not issued)",
                lambda: _create_lb(state, ns, name, record),
            )
            return
    ssl_ports = {
        x.strip()
        for x in str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-ssl-ports", "*")).split(",")
    }
    ec2 = ec2mod.backend(state.account_id, state.region)
    subnets = _lb_subnets(ec2, cluster, internal)
    if not subnets:
        return  # Kubernetes would report an event: could not find any suitable subnets
    vpc_id = ec2.get_subnet(subnets[0]).vpc_id
    cluster_tag = f"kubernetes.io/cluster/{cluster.name}"
    sg = ec2.create_security_group(
        name=f"k8s-elb-{record['name']}",
        description=f"Security group for Kubernetes ELB {record['name']} ({ns}/{name})",
        vpc_id=vpc_id,
        tags={cluster_tag: "owned", "kubernetes.io/service-name": f"{ns}/{name}"},
    )
    record["sg"] = sg.id
    for p in ports:
        ec2.authorize_security_group_ingress(
            group_name_or_id=sg.id,
            ip_protocol="tcp",
            from_port=str(p["port"]),
            to_port=str(p["port"]),
            ip_ranges=[{"CidrIp": "0.0.0.0/0"}],
            vpc_id=vpc_id,
        )
    record["node_sgs"] = []
    for node_sg in eks.node_security_groups(cluster):
        if ec2.get_security_group_from_id(node_sg) is None:
            continue
        ec2.authorize_security_group_ingress(
            group_name_or_id=node_sg,
            ip_protocol="-1",
            from_port=None,
            to_port=None,
            ip_ranges=[],
            source_groups=[{"GroupId": sg.id, "UserId": state.account_id}],
            vpc_id=vpc_id,
        )
        record["node_sgs"].append(node_sg)
    def listener(p: dict[str, Any]) -> dict[str, Any]:
        secure = bool(cert_arn) and ("*" in ssl_ports or str(p.get("name")) in ssl_ports or str(p["port"]) in ssl_ports)
        out: dict[str, Any] = {
            "Protocol": "SSL" if secure else "TCP",
            "LoadBalancerPort": int(p["port"]),
            "InstanceProtocol": "TCP",
            "InstancePort": int(p.get("nodePort") or 30000 + int(p["port"]) % 2768),
        }
        if secure:
            out["SSLCertificateId"] = cert_arn
        return out

    listeners = [listener(p) for p in ports]
    elbb = elb.backend(state.account_id, state.region)
    lb = elbb.create_load_balancer(
        name=record["name"],
        zones=[],
        ports=listeners,
        scheme="internal" if internal else "internet-facing",
        subnets=subnets,
        security_groups=[sg.id],
    )
    lb.tags = {cluster_tag: "owned", "kubernetes.io/service-name": f"{ns}/{name}"}
    record["hostname"] = lb.dns_name
    obj = state.objects.get(("Service", ns, name))
    if obj is not None:
        obj["status"] = {"loadBalancer": {"ingress": [{"hostname": lb.dns_name}]}}


def _arn(state: KubeState) -> str:
    for arn, s in KUBE.items():
        if s is state:
            return arn
    return ""


def _deprovision_lb(state: KubeState, ns: str, name: str) -> None:
    record = state.lbs.pop((ns, name))
    record["cancelled"] = True
    if not record.get("hostname"):
        return
    elbb = elb.backend(state.account_id, state.region)
    elbb.delete_load_balancer(record["name"])
    ec2 = ec2mod.backend(state.account_id, state.region)
    for node_sg in record.get("node_sgs", []):
        group = ec2.get_security_group_from_id(node_sg)
        if group is None:
            continue
        group.ingress_rules = [
            r for r in group.ingress_rules if (r.source_group or {}).get("GroupId") != record["sg"]
        ]
    _delete_lb_sg_later(state.account_id, state.region, record["sg"], attempts=10)


def _delete_lb_sg_later(account_id: str, region: str, sg_id: str, attempts: int) -> None:
    def attempt() -> None:
        ec2 = ec2mod.backend(account_id, region)
        if ec2.get_security_group_from_id(sg_id) is None:
            return
        try:
            ec2mod._check_security_group(ec2, sg_id)
        except Exception:
            if attempts > 1:  # the cloud provider retries while ENIs drain
                _delete_lb_sg_later(account_id, region, sg_id, attempts - 1)
            return
        ec2.delete_security_group(group_id=sg_id)

    WORLD.after(
        WORLD.duration("elb_eni_linger") if attempts == 10 else 30,
        f"k8s delete {sg_id}",
        attempt,
    )


# -- helm ----------------------------------------------------------------------------------------------


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(a.get(k), v) if k in a else v
        return out
    return b


def _set_value(values: dict[str, Any], assignment: str) -> None:
    key, _, raw = assignment.partition("=")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    node = values
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _dig(values: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(values, dict):
            return None
        values = values.get(p)
    return values


def _release_services(chart: str, values: dict[str, Any], ns: str, release: str) -> list[dict[str, Any]]:
    """The objects of a release that act on the cloud: ``proxy-public`` (its load balancer) and
    the hub database's claim ``hub-db-dir`` (its volume)."""
    base = chart.rstrip("/").split("/")[-1]
    is_hub = "daskhub" in base or "jupyterhub" in base
    objs = _proxy_public(base, values, ns, release)
    hub = _dig(values, "jupyterhub", "hub") if "daskhub" in base else _dig(values, "hub")
    if is_hub and (_dig(hub, "db", "type") or "sqlite-pvc") == "sqlite-pvc":
        pvc = _dig(hub, "db", "pvc") or {}
        spec: dict[str, Any] = {
            "accessModes": pvc.get("accessModes") or ["ReadWriteOnce"],
            "resources": {"requests": {"storage": pvc.get("storage") or "1Gi"}},
        }
        if pvc.get("storageClassName"):
            spec["storageClassName"] = pvc["storageClassName"]
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {
                    "name": "hub-db-dir",
                    "namespace": ns,
                    "labels": {"app.kubernetes.io/managed-by": "Helm", "component": "hub"},
                    "annotations": {
                        **(pvc.get("annotations") or {}),
                        "meta.helm.sh/release-name": release,
                        "meta.helm.sh/release-namespace": ns,
                    },
                },
                "spec": spec,
            }
        )
    return objs


def _check_ownership(state: KubeState, chart: str, values: dict[str, Any], ns: str, release: str) -> None:
    """An install meets objects that already exist (kept by `helm.sh/resource-policy: keep`):
    helm (3.2+) adopts those whose ownership metadata names this release, refuses the rest."""
    for obj in _release_services(chart, values, ns, release):
        key = _key(obj, ns)
        old = state.objects.get(key)
        if old is None:
            continue
        ann = (old.get("metadata") or {}).get("annotations") or {}
        if ann.get("meta.helm.sh/release-name") != release or ann.get("meta.helm.sh/release-namespace") != ns:
            raise ToolError(
                f"Error: INSTALLATION FAILED: rendered manifests contain a resource that already exists. "
                f'Unable to continue with install: {key[0]} "{key[2]}" in namespace "{key[1]}" exists and '
                f"cannot be imported into the current release: invalid ownership metadata"
            )


def _proxy_public(base: str, values: dict[str, Any], ns: str, release: str) -> list[dict[str, Any]]:
    proxy = _dig(values, "jupyterhub", "proxy") if "daskhub" in base else _dig(values, "proxy")
    default_type = "LoadBalancer" if ("daskhub" in base or "jupyterhub" in base) else None
    svc_type = _dig(proxy, "service", "type") or default_type
    if not svc_type:
        return []
    annotations = _dig(proxy, "service", "annotations") or {}
    labels = {"app.kubernetes.io/managed-by": "Helm", "component": "proxy-public"}
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]
    if _dig(proxy, "https", "enabled"):
        ports.append({"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"})
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "proxy-public",
                "namespace": ns,
                "labels": labels,
                "annotations": {
                    **annotations,
                    "meta.helm.sh/release-name": release,
                    "meta.helm.sh/release-namespace": ns,
                },
            },
            "spec": {"type": svc_type, "ports": ports, "selector": {"component": "proxy"}},
        }
    ]


def _helm_time(t: float) -> str:
    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(t))


def _release_summary(rel: dict[str, Any]) -> str:
    return (
        f"NAME: {rel['name']}\nLAST DEPLOYED: {_helm_time(rel['last_deployed'])}\n"
        f"NAMESPACE: {rel['namespace']}\nSTATUS: {rel['status']}\nREVISION: {rel['revision']}\n"
        "TEST SUITE: None\n"
    )


def _release_json(rel: dict[str, Any]) -> dict[str, Any]:
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat()  # noqa: E731
    base = rel["chart"].rstrip("/").split("/")[-1]
    return {
        "name": rel["name"],
        "info": {
            "first_deployed": iso(rel["first_deployed"]),
            "last_deployed": iso(rel["last_deployed"]),
            "deleted": "",
            "description": rel["description"],
            "status": rel["status"],
        },
        "chart": {"metadata": {"name": base, "version": rel["version"] or "0.0.0"}},
        "config": rel["values"],
        "version": rel["revision"],
        "namespace": rel["namespace"],
    }


def helm(state: KubeState, req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    ns = req.get("namespace") or "default"
    name = req.get("name", "")
    rel = state.releases.get((ns, name))
    if op == "upgrade":
        values: dict[str, Any] = {}
        for source, text in req.get("values") or []:
            try:
                doc = yaml.safe_load(text) or {}
            except yaml.YAMLError as e:
                raise ToolError(f"Error: failed to parse {source}: {e}")
            if not isinstance(doc, dict):
                raise ToolError(f"Error: failed to parse {source}: not a map")
            values = _merge(values, doc)
        for assignment in req.get("set") or []:
            _set_value(values, assignment)
        if rel is not None and not req.get("reset_values"):
            # as helm's upgrade: --reuse-values merges what is given over the release's user
            # values; with neither flag, an upgrade given no values at all keeps them
            given = bool(req.get("values") or req.get("set"))
            if req.get("reuse_values"):
                values = _merge(copy.deepcopy(rel["values"]), values)
            elif not given:
                values = copy.deepcopy(rel["values"])
        if rel is not None and req.get("fresh_install"):
            raise ToolError("Error: INSTALLATION FAILED: cannot re-use a name that is still in use")
        if rel is not None and rel["status"].startswith("pending-"):
            raise ToolError(f"Error: UPGRADE FAILED: {PENDING}")
        new_release = rel is None
        if rel is None and not req.get("install"):
            raise ToolError(f'Error: UPGRADE FAILED: "{name}" has no deployed releases')
        manifest, warning = _render(req, name, ns, values, new_release)
        if rel is None:
            _check_ownership(state, req.get("chart", ""), values, ns, name)
        if rel is None:
            if ns not in state.namespaces:
                if not req.get("create_namespace"):
                    raise ToolError(f'Error: create: failed to create: namespaces "{ns}" not found')
                _put(state, ("Namespace", "", ns), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            out = f'Release "{name}" does not exist. Installing it now.\n'
            rel = {
                "name": name,
                "namespace": ns,
                "revision": 0,
                "first_deployed": time.time(),
                "objects": [],
                "history": [],
            }
            state.releases[(ns, name)] = rel
        else:
            out = f'Release "{name}" has been upgraded. Happy Helming!\n'
        status = "pending-install" if new_release else "pending-upgrade"
        _new_revision(state, rel, req.get("chart", ""), req.get("version") or "", values, manifest, status)
        return {"exit": 0, "stdout": out, "stderr": warning, "new_release": new_release, "pending": rel["revision"]}
    if op == "complete":
        # the end of one install/upgrade/rollback: deployed, or failed when --wait timed out
        if rel is None or rel["revision"] != req.get("revision") or not rel["status"].startswith("pending-"):
            raise ToolError("Error: release: not found")
        if req.get("ok"):
            rel["status"] = "deployed"
            rel["description"] = rel["done_description"]
        else:
            rel["status"] = "failed"
            rel["description"] = f'Release "{name}" failed: context deadline exceeded'
        rel["last_deployed"] = time.time()
        return {"exit": 0, "stdout": _release_summary(rel), "stderr": ""}
    if rel is None:
        if op == "uninstall":
            raise ToolError(f"Error: uninstall: Release not loaded: {name}: release: not found")
        raise ToolError("Error: release: not found")
    if op == "uninstall":
        for key in rel["objects"]:
            # `helm.sh/resource-policy: keep`: helm leaves the object (and what it holds) behind
            obj = state.objects.get(tuple(key)) or {}
            if ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/resource-policy") == "keep":
                continue
            _delete(state, tuple(key))
        del state.releases[(ns, name)]
        return {"exit": 0, "stdout": f'release "{name}" uninstalled\n', "stderr": ""}
    if op == "ready":
        return {"exit": 0, "ready": release_ready(state, rel), "stdout": "", "stderr": ""}
    if op == "rollback":
        if rel["status"] in ("pending-rollback",):
            raise ToolError(f"Error: {PENDING}")
        earlier = [h for h in rel["history"] if h["status"] in ("deployed", "superseded")]
        to = req.get("to") or (earlier[-1]["revision"] if earlier else 0)
        target = next((h for h in rel["history"] if h["revision"] == to), None)
        if target is None:
            raise ToolError(f"Error: release has no {to} version")
        _new_revision(state, rel, target["chart"], target["version"], target["values"], target["manifest"],
                      "pending-rollback", description=f"Rollback to {to}")
        return {"exit": 0, "stdout": "Rollback was a success! Happy Helming!\n", "stderr": "", "pending": rel["revision"]}
    if op == "history":
        rows = [*rel["history"], rel]
        if req.get("output") == "json":
            items = [
                {"revision": r["revision"], "updated": _helm_time(r["last_deployed"]), "status": r["status"],
                 "chart": _chart_label(r), "app_version": "", "description": r["description"]}
                for r in rows
            ]
            return {"exit": 0, "stdout": json.dumps(items) + "\n", "stderr": ""}
        lines = ["REVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\tDESCRIPTION"]
        lines += [
            f"{r['revision']}\t{_helm_time(r['last_deployed'])}\t{r['status']}\t{_chart_label(r)}\t\t{r['description']}"
            for r in rows
        ]
        return {"exit": 0, "stdout": "\n".join(lines) + "\n", "stderr": ""}
    if op == "status":
        if req.get("output") == "json":
            return {"exit": 0, "stdout": json.dumps(_release_json(rel)) + "\n", "stderr": ""}
        return {"exit": 0, "stdout": _release_summary(rel), "stderr": ""}
    if op == "get_manifest":
        return {"exit": 0, "stdout": rel.get("manifest", ""), "stderr": ""}
    if op == "get_values":
        fmt = req.get("output") or "yaml"
        vals = rel["values"]
        if fmt == "json":
            return {"exit": 0, "stdout": json.dumps(vals) + "\n", "stderr": ""}
        return {"exit": 0, "stdout": "USER-SUPPLIED VALUES:\n" + (yaml.safe_dump(vals) if vals else "null\n"), "stderr": ""}
    raise ToolError(f"Error: unknown command {op!r}")


PENDING = "another operation (install/upgrade/rollback) is in progress"


def _new_revision(
    state: KubeState,
    rel: dict[str, Any],
    chart: str,
    version: str,
    values: dict[str, Any],
    manifest: str,
    status: str,
    description: str | None = None,
) -> None:
    """Records the next revision as ``status`` (a pending one) and creates or deletes the objects
    it holds; what was the current revision goes to the history as superseded."""
    if rel["revision"] > 0:
        old = {k: rel[k] for k in ("revision", "status", "chart", "version", "values", "manifest",
                                   "description", "last_deployed")}
        if old["status"] == "deployed" or old["status"].startswith("pending-"):
            old["status"] = "superseded"
        rel["history"].append(old)
    wanted = _release_services(chart, values, rel["namespace"], rel["name"])
    wanted_keys = [_key(o, rel["namespace"]) for o in wanted]
    for old_key in rel["objects"]:
        if tuple(old_key) not in wanted_keys:
            _delete(state, tuple(old_key))
    for obj, key in zip(wanted, wanted_keys):
        _put(state, key, obj)
    rel.update(
        chart=chart,
        version=version,
        values=values,
        status=status,
        description={"pending-install": "Initial install underway", "pending-upgrade": "Preparing upgrade"}.get(
            status, description or ""
        ),
        done_description={"pending-install": "Install complete", "pending-upgrade": "Upgrade complete"}.get(
            status, description or ""
        ),
        last_deployed=time.time(),
        revision=rel["revision"] + 1,
        manifest=manifest,
        objects=[list(k) for k in wanted_keys],
    )


def _render(req: dict[str, Any], name: str, ns: str, values: dict[str, Any], new_release: bool) -> tuple[str, str]:
    """Renders the release with the real chart and validates what it renders (charts.py):
    (manifest, warning for stderr); a refusal fails the call before anything is recorded."""
    verb = "INSTALLATION FAILED" if new_release else "UPGRADE FAILED"
    kube_version = req.get("kube_version") or "1.31"
    try:
        objects, manifest, warning = charts.render(
            req.get("chart", ""), req.get("version"), name, ns, values, kube_version
        )
    except charts.Refused as e:
        raise ToolError(f"Error: {verb}: {e}")
    for obj in objects or []:
        why = charts.problems(obj, kube_version)
        if why:
            raise ToolError(
                f"Error: {verb}: unable to build kubernetes objects from release manifest: "
                f'error validating "{charts.name_of(obj)}": error validating data: {why}'
            )
    return manifest, warning


def helm_list(state: KubeState, req: dict[str, Any]) -> dict[str, Any]:
    rels = [
        r
        for (ns, _), r in sorted(state.releases.items())
        if req.get("all_namespaces") or ns == (req.get("namespace") or "default")
        # as helm: only deployed and failed releases unless --all
        if req.get("all") or r["status"] in ("deployed", "failed")
    ]
    if req.get("output") == "json":
        items = [
            {
                "name": r["name"],
                "namespace": r["namespace"],
                "revision": str(r["revision"]),
                "updated": _helm_time(r["last_deployed"]),
                "status": r["status"],
                "chart": _chart_label(r),
                "app_version": "",
            }
            for r in rels
        ]
        return {"exit": 0, "stdout": json.dumps(items) + "\n", "stderr": ""}
    lines = ["NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION"]
    for r in rels:
        lines.append(
            f"{r['name']}\t{r['namespace']}\t{r['revision']}\t{_helm_time(r['last_deployed'])}\t"
            f"{r['status']}\t{_chart_label(r)}\t"
        )
    return {"exit": 0, "stdout": "\n".join(lines) + "\n", "stderr": ""}


def _chart_label(rel: dict[str, Any]) -> str:
    base = rel["chart"].rstrip("/").split("/")[-1]
    return f"{base}-{rel['version']}" if rel["version"] else base


def release_ready(state: KubeState, rel: dict[str, Any]) -> bool:
    for key in rel["objects"]:
        kind, ns, name = key
        if kind == "Service" and (ns, name) in state.lbs and not state.lbs[(ns, name)].get("hostname"):
            return False
    return True


# -- kubectl -------------------------------------------------------------------------------------------


def kubectl(state: KubeState, cluster: Any, req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    default_ns = req.get("namespace") or "default"
    if op == "apply":
        docs = _load_docs(req.get("files") or [])
        for source, obj in docs:
            why = charts.problems(obj, cluster.version)
            if why:
                raise ToolError(
                    f'error: error validating "{source}": error validating data: {why}; '
                    "if you choose to ignore these errors, turn validation off with --validate=false"
                )
        lines = []
        for _, obj in docs:
            key = _key(obj, default_ns)
            if key[1] and key[1] not in state.namespaces:
                raise ToolError(f'Error from server (NotFound): namespaces "{key[1]}" not found')
            verdict = _put(state, key, obj)
            word = "serverside-applied" if req.get("server_side") else verdict
            lines.append(f"{_resource_name(obj)}/{key[2]} {word}")
        return {"exit": 0, "stdout": "".join(line + "\n" for line in lines), "stderr": ""}
    if op == "delete":
        keys: list[tuple[tuple[str, str, str], str]] = []
        if req.get("files"):
            for _, obj in _load_docs(req["files"]):
                keys.append((_key(obj, default_ns), _resource_name(obj)))
        else:
            kind = ALIASES.get(req.get("kind", "").lower(), req.get("kind", ""))
            for name in req.get("names") or []:
                key = (kind, "" if kind in CLUSTER_SCOPED else default_ns, name)
                keys.append((key, kind.lower()))
        out, err = [], []
        existed = {key for key, _ in keys if key in state.objects}
        for key, rname in keys:
            if key in existed:
                _delete(state, key)  # objects of a deleted namespace go with it, as on Kubernetes
                out.append(f'{rname} "{key[2]}" deleted')
            elif not req.get("ignore_not_found"):
                err.append(f'Error from server (NotFound): {PLURAL.get(key[0], key[0].lower() + "s")} "{key[2]}" not found')
        return {
            "exit": 1 if err else 0,
            "stdout": "".join(line + "\n" for line in out),
            "stderr": "".join(line + "\n" for line in err),
        }
    if op == "get":
        return _get(state, cluster, req, default_ns)
    if op == "patch":
        return _patch(state, cluster, req, default_ns)
    if op == "version":
        out = {
            "clientVersion": {"major": "1", "minor": "31", "gitVersion": "v1.31.0-hdh-standin"},
            "serverVersion": {"major": "1", "minor": cluster.version.split(".")[-1], "gitVersion": f"v{cluster.version}.0-eks"},
        }
        return {"exit": 0, "stdout": json.dumps(out, indent=2) + "\n", "stderr": ""}
    raise ToolError(f'error: unknown command "{op}" for "kubectl" (hdh stand-in)')


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _patch(state: KubeState, cluster: Any, req: dict[str, Any], default_ns: str) -> dict[str, Any]:
    """``kubectl patch --type merge``: a change made by hand (``kubectl edit``) or by another
    controller. The result is validated as the API server validates it, and name, namespace and
    kind cannot change."""
    kind = ALIASES.get(req["kind"].lower(), req["kind"])
    key = (kind, "" if kind in CLUSTER_SCOPED else default_ns, req["name"])
    old = state.objects.get(key)
    if old is None:
        plural = PLURAL.get(kind, kind.lower() + "s")
        return {"exit": 1, "stdout": "", "stderr": f'Error from server (NotFound): {plural} "{req["name"]}" not found\n'}
    try:
        patch = json.loads(req["patch"])
    except json.JSONDecodeError as e:
        raise ToolError(f"error: unable to parse \"{req['patch']}\": {e}")
    new = _merge_patch(old, patch)
    if _key(new, default_ns) != key or new.get("apiVersion") != old.get("apiVersion"):
        raise ToolError(f'The {kind} "{req["name"]}" is invalid: metadata: Invalid value: the name, namespace, kind and apiVersion cannot change')
    probe = {k: v for k, v in new.items() if k != "status"}
    probe["metadata"] = {k: v for k, v in (new.get("metadata") or {}).items() if k not in ("uid", "creationTimestamp")}
    why = charts.problems(probe, cluster.version)
    if why:
        raise ToolError(f'The {kind} "{req["name"]}" is invalid: {why}')
    verdict = _put(state, key, new)
    word = "patched" if verdict != "unchanged" else "patched (no change)"
    return {"exit": 0, "stdout": f"{_resource_name(new)}/{req['name']} {word}\n", "stderr": ""}


def _nodes(state: KubeState, cluster: Any) -> list[dict[str, Any]]:
    out = []
    for ng, inst in eks.running_nodes(cluster, state.account_id, state.region):
        az = inst.availability_zone
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": inst.private_dns_name,
                    "labels": {
                        **(ng.labels or {}),
                        "eks.amazonaws.com/nodegroup": ng.nodegroup_name,
                        "eks.amazonaws.com/capacityType": ng.capacity_type,
                        "node.kubernetes.io/instance-type": inst.instance_type,
                        "topology.kubernetes.io/zone": az,
                    },
                },
                "spec": {
                    "providerID": f"aws:///{az}/{inst.id}",
                    "taints": [
                        {"key": t.get("key"), "value": t.get("value"), "effect": _taint_effect(t.get("effect"))}
                        for t in ng.taints or []
                    ],
                },
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
    return out


def _taint_effect(effect: str | None) -> str:
    return {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}.get(
        effect or "", effect or ""
    )


def _get(state: KubeState, cluster: Any, req: dict[str, Any], default_ns: str) -> dict[str, Any]:
    kind = ALIASES.get(req.get("kind", "").lower(), req.get("kind", ""))
    names = req.get("names") or []
    if kind == "Node":
        items = _nodes(state, cluster)
    elif kind == "Namespace":
        items = [
            state.objects.get(("Namespace", "", n))
            or {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
            for n in sorted(state.namespaces)
        ]
    else:
        items = [
            o
            for (k, ns, _), o in sorted(state.objects.items())
            if k == kind and (req.get("all_namespaces") or ns == ("" if kind in CLUSTER_SCOPED else default_ns))
        ]
    if names:
        by_name = {o["metadata"]["name"]: o for o in items}
        missing = [n for n in names if n not in by_name]
        if missing:
            plural = PLURAL.get(kind, kind.lower() + "s")
            return {
                "exit": 1,
                "stdout": "",
                "stderr": "".join(f'Error from server (NotFound): {plural} "{n}" not found\n' for n in missing),
            }
        items = [by_name[n] for n in names]
    fmt = req.get("output") or ""
    if fmt == "json":
        payload = items[0] if len(names) == 1 else {"apiVersion": "v1", "kind": "List", "items": items}
        return {"exit": 0, "stdout": json.dumps(payload, indent=4) + "\n", "stderr": ""}
    if fmt == "yaml":
        payload = items[0] if len(names) == 1 else {"apiVersion": "v1", "kind": "List", "items": items}
        return {"exit": 0, "stdout": yaml.safe_dump(payload), "stderr": ""}
    if fmt.startswith("jsonpath="):
        payload = items[0] if len(names) == 1 else {"apiVersion": "v1", "kind": "List", "items": items}
        return {"exit": 0, "stdout": _jsonpath(fmt[len("jsonpath="):], payload), "stderr": ""}
    if fmt == "name":
        return {
            "exit": 0,
            "stdout": "".join(f"{kind.lower()}/{o['metadata']['name']}\n" for o in items),
            "stderr": "",
        }
    if not items:
        where = "" if kind in CLUSTER_SCOPED else f" in {default_ns} namespace"
        return {"exit": 0, "stdout": "", "stderr": f"No resources found{where}.\n"}
    lines = ["NAME\tTYPE\tEXTERNAL-IP" if kind == "Service" else "NAME\tSTATUS"]
    for o in items:
        if kind == "Service":
            ingress = (((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}])[0]
            ext = ingress.get("hostname") or ("<pending>" if o["spec"].get("type") == "LoadBalancer" else "<none>")
            lines.append(f"{o['metadata']['name']}\t{o['spec'].get('type', 'ClusterIP')}\t{ext}")
        else:
            lines.append(f"{o['metadata']['name']}\t{'Ready' if kind == 'Node' else 'Active'}")
    return {"exit": 0, "stdout": "\n".join(lines) + "\n", "stderr": ""}


def _jsonpath(template: str, obj: Any) -> str:
    """kubectl's -o jsonpath for the common subset: {.a.b[0].c}, {.items[*].metadata.name}."""
    import re

    def evaluate(expr: str) -> str:
        nodes = [obj]
        for part in re.findall(r"\.([^.\[]+)|\[(\*|\d+)\]", expr.strip()):
            key, index = part
            nxt = []
            for n in nodes:
                if key:
                    if isinstance(n, dict) and key in n:
                        nxt.append(n[key])
                elif isinstance(n, list):
                    nxt += n if index == "*" else ([n[int(index)]] if int(index) < len(n) else [])
            nodes = nxt
        return " ".join(v if isinstance(v, str) else json.dumps(v) for v in nodes)

    return re.sub(r"\{([^}]*)\}", lambda m: evaluate(m.group(1)), template.strip("'\""))


# -- entry point used by the control API -----------------------------------------------------------------


def execute(req: dict[str, Any]) -> dict[str, Any]:
    """Run one stand-in tool invocation; always returns exit/stdout/stderr.

    Each invocation (not the ``ready`` polls of ``--wait`` nor the ``complete`` that ends it) is a
    counted call of the crash switch, which may kill the tool and its caller before or after the
    invocation acts."""
    from .crash import SWITCH

    tool = req.get("tool", "kubectl")
    entry: dict[str, Any] = {
        "seq": len(TOOL_LOG) + 1,
        "time": _now_iso(),
        "tool": tool,
        "argv": req.get("argv") or [],
        "op": req.get("op"),
        "cluster": None,
        "call": None,
        "killed": None,
    }
    tool_pid = req.get("tool_pid")
    if req.get("op") not in ("ready", "complete"):
        TOOL_LOG.append(entry)
        entry["call"], entry["killed"] = SWITCH.count(tool, str(req.get("op")))
        if entry["killed"] == "before":
            SWITCH.kill(also=tool_pid)
            entry["exit"] = 1
            return {"exit": 1, "stdout": "", "stderr": "hdh emulator: the caller was killed before this ran\n"}
    try:
        return _execute(req, tool, entry)
    finally:
        if entry["killed"] == "after":
            SWITCH.kill(also=tool_pid)


def _execute(req: dict[str, Any], tool: str, entry: dict[str, Any]) -> dict[str, Any]:
    if req.get("op") == "noop":  # recorded, needs no cluster (helm repo add, ...)
        entry["exit"] = 0
        return {"exit": 0, "stdout": "", "stderr": ""}
    try:
        cluster, state = resolve(req.get("kubeconfig"), req.get("context"), tool)
        entry["cluster"] = cluster.name
        if tool == "helm":
            req = {**req, "kube_version": cluster.version}
            result = helm_list(state, req) if req["op"] == "list" else helm(state, req)
        else:
            result = kubectl(state, cluster, req)
    except ToolError as e:
        result = {"exit": 1, "stdout": "", "stderr": str(e) + "\n"}
    entry["exit"] = result["exit"]
    return result
