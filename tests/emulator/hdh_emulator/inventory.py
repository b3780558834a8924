"""Everything that exists in the emulator, normalised so that two runs can be compared.

The crash harness compares the cloud after an interrupted-and-resumed run with the cloud after
an uninterrupted one. Ids are random per run, so an item is what a user would recognise: its
kind (``ec2:subnet``, ``eks:nodegroup``, ``helm:release``…), its name (the ``Name`` tag, the
resource's own name, or what it is attached to), its identifying tags (``hdh:*``, ``Name``,
``eks:*``, ``kubernetes.io/*`` keys; values normalised) and, where it tells duplicates apart, a
short detail (a CIDR, a state). Every AWS id or random token inside these strings becomes ``*``.

What AWS makes by itself in every account (default VPC and its parts, AWS managed policies and
KMS keys) is left out; gone things (terminated instances, deleted NAT gateways, keys pending deletion) too.
``take()`` answers ``{"items": [{"kind", "name", "tags", "detail", "count"}…]}``, sorted, where
``count`` > 1 means that many indistinguishable copies exist.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

_ID = re.compile(
    r"\b(vpc|subnet|sg|igw|nat|eni|rtb|rtbassoc|eipalloc|eipassoc|i|lt|vol|fs|fsmt|acl|ami|r)"
    r"-[0-9a-f]{8,17}\b"
)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_POOL = re.compile(r"\b([a-z]{2}-[a-z]+-\d)_[0-9A-Za-z]{6,}\b")
_HEX = re.compile(r"\b[0-9a-fA-F]{16,}\b")
_ELB = re.compile(r"\ba[0-9a-f]{31}(-\d+)?\b")
_CLUSTER_SG = re.compile(r"^(eks-cluster-sg-.+)-[a-z0-9]{10}$")
_OIDC = re.compile(r"/id/[A-Za-z0-9]+")

_TAG_KEYS = ("hdh:", "Name", "eks:", "kubernetes.io/", "k8s.io/", "aws:eks:")


def norm(s: Any) -> str:
    s = "" if s is None else str(s)
    s = _ID.sub(lambda m: m.group(1) + "-*", s)
    s = _UUID.sub("*", s)
    s = _POOL.sub(lambda m: m.group(1) + "_*", s)
    s = _ELB.sub("*", s)
    s = _HEX.sub("*", s)
    s = _CLUSTER_SG.sub(lambda m: m.group(1) + "-*", s)
    s = _OIDC.sub("/id/*", s)
    return s


def _tag_dict(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    out = {}
    for t in tags:
        if isinstance(t, dict):
            k = t.get("Key", t.get("key"))
            v = t.get("Value", t.get("value"))
            if k is not None:
                out[str(k)] = "" if v is None else str(v)
    return out


def _obj_tags(obj: Any) -> dict[str, str]:
    getter = getattr(obj, "get_tags", None)
    if callable(getter):
        try:
            return _tag_dict(getter())
        except Exception:
            pass
    return _tag_dict(getattr(obj, "tags", None))


def _shown_tags(tags: dict[str, str]) -> dict[str, str]:
    return {norm(k): norm(v) for k, v in sorted(tags.items()) if k.startswith(_TAG_KEYS)}


class _Items:
    def __init__(self) -> None:
        self.counter: Counter[tuple[str, str, str, str]] = Counter()
        self.errors: list[str] = []

    def add(self, kind: str, name: Any, tags: dict[str, str] | None = None, detail: Any = "") -> None:
        shown = _shown_tags(tags or {})
        tag_text = ",".join(f"{k}={v}" for k, v in shown.items())
        self.counter[(kind, norm(name), tag_text, norm(detail))] += 1

    def section(self, label: str, fn: Any) -> None:
        try:
            fn()
        except Exception as e:  # one broken walk must not hide the others; it is reported
            self.errors.append(f"{label}: {e!r}")


def _regions(service: str) -> Iterable[tuple[str, str, Any]]:
    from moto.backends import get_backend

    backends = get_backend(service)
    for account, per_region in list(backends.items()):
        for region, backend in list(per_region.items()):
            yield account, region, backend


def _ec2(items: _Items) -> None:
    for _, _, b in _regions("ec2"):
        default_vpcs = {v.id for v in b.vpcs.values() if getattr(v, "is_default", False)}
        names = {}
        for v in b.vpcs.values():
            if v.id in default_vpcs:
                continue
            t = _obj_tags(v)
            names[v.id] = t.get("Name", v.cidr_block)
            items.add("ec2:vpc", names[v.id], t, v.cidr_block)
        for per_az in b.subnets.values():
            for s in per_az.values():
                if s.vpc_id in default_vpcs:
                    continue
                t = _obj_tags(s)
                names[s.id] = t.get("Name", s.cidr_block)
                items.add("ec2:subnet", names[s.id], t, f"{s.cidr_block} {s.availability_zone}")
        for g in b.internet_gateways.values():
            vpc = getattr(getattr(g, "vpc", None), "id", None)
            if vpc in default_vpcs:
                continue
            items.add("ec2:internet-gateway", names.get(vpc, "detached"), _obj_tags(g))
        for n in b.nat_gateways.values():
            if getattr(n, "state", "") in ("deleted",):
                continue
            items.add("ec2:nat-gateway", names.get(n.subnet_id, n.subnet_id), _obj_tags(n))
        for a in b.addresses:
            t = _obj_tags(a)
            items.add("ec2:elastic-ip", t.get("Name", "eip"), t, a.domain)
        for r in b.route_tables.values():
            if r.vpc_id in default_vpcs:
                continue
            t = _obj_tags(r)
            main = r.main_association_id is not None
            subnets = sorted(names.get(s, s) for s in r._associations.values())
            routes = sorted(
                f"{rt.destination_cidr_block}->"
                + ("igw" if rt.gateway else "nat" if getattr(rt, "nat_gateway", None) else "local")
                for rt in r.routes
            )
            items.add(
                "ec2:route-table",
                t.get("Name", f"{names.get(r.vpc_id)} {'main' if main else ''}".strip()),
                t,
                f"{' '.join(routes)} | {' '.join(subnets)}",
            )
        for vpc_id, groups in b.groups.items():
            if vpc_id in default_vpcs:
                continue
            for g in groups.values():
                items.add("ec2:security-group", g.name, _obj_tags(g), names.get(vpc_id, vpc_id))
        for e in b.enis.values():
            vpc = getattr(getattr(e, "subnet", None), "vpc_id", None)
            if vpc in default_vpcs:
                continue
            items.add("ec2:network-interface", e.description or "", _obj_tags(e), e.status)
        for res in b.reservations.values():
            for i in res.instances:
                if i.state in ("terminated",):
                    continue
                items.add("ec2:instance", _obj_tags(i).get("eks:nodegroup-name", i.instance_type), _obj_tags(i), i.state)
        for lt in b.launch_templates.values():
            items.add("ec2:launch-template", lt.name, _obj_tags(lt))


def _eks(items: _Items) -> None:
    from . import addons

    for _, _, b in _regions("eks"):
        for c in b.clusters.values():
            items.add("eks:cluster", c.name, _tag_dict(c.tags), c.status)
            for ng in c.nodegroups.values():
                items.add("eks:nodegroup", f"{c.name}/{ng.nodegroup_name}", _tag_dict(ng.tags), ng.status)
            # access entries (hdh_emulator/access.py), with their policies and scopes
            for principal, e in getattr(c, "_hdh_access_entries", {}).items():
                policies = " ".join(
                    f"{arn.rsplit('/', 1)[-1]}:{a['accessScope']['type']}"
                    + (f"={','.join(a['accessScope']['namespaces'])}" if a["accessScope"]["namespaces"] else "")
                    for arn, a in sorted(e["_policies"].items())
                )
                items.add("eks:access-entry", f"{c.name}/{principal}", _tag_dict(e.get("tags")), policies)
    for (account, region, cluster), per in addons.ADDONS.items():
        for name, a in per.items():
            items.add("eks:addon", f"{cluster}/{name}", _tag_dict(a.get("tags")), a.get("status", ""))


def _iam(items: _Items) -> None:
    for _, _, b in _regions("iam"):
        for r in b.roles.values():
            pols = sorted(p.split("/")[-1] for p in getattr(r, "managed_policies", {}))
            items.add("iam:role", r.name, _obj_tags(r), " ".join(pols))
        for arn, p in b.managed_policies.items():
            if ":aws:policy/" in arn:
                continue
            items.add("iam:policy", p.name, _obj_tags(p))
        for p in b.open_id_providers.values():
            items.add("iam:oidc-provider", p.url, _obj_tags(p))
        for p in b.instance_profiles.values():
            items.add("iam:instance-profile", p.name, _obj_tags(p))
        break  # IAM is global: every region entry is the same backend


def _kms(items: _Items) -> None:
    for _, _, b in _regions("kms"):
        aliases: dict[str, list[str]] = {}
        for key in b.keys.values():
            for alias in getattr(b, "key_to_aliases", {}).get(key.id, []) or []:
                aliases.setdefault(key.id, []).append(alias)
        for key in b.keys.values():
            if key.key_state in ("PendingDeletion", "Deleted") or key.key_manager == "AWS":
                continue
            tags = _tag_dict(b.list_resource_tags(key.id).get("Tags", [])) if hasattr(b, "list_resource_tags") else {}
            items.add("kms:key", key.description, tags, " ".join(sorted(aliases.get(key.id, []))))


def _efs(items: _Items) -> None:
    for _, _, b in _regions("efs"):
        fs_names = {}
        for fs in b.file_systems_by_id.values():
            tags = _tag_dict(b.list_tags_for_resource(fs.file_system_id))
            fs_names[fs.file_system_id] = tags.get("Name", fs.creation_token)
            items.add("efs:file-system", fs_names[fs.file_system_id], tags, getattr(fs, "life_cycle_state", ""))
        ec2 = None
        for mt in b.mount_targets_by_id.values():
            if ec2 is None:
                from moto.ec2.models import ec2_backends

                ec2 = ec2_backends[b.account_id][b.region_name]
            subnet = mt.subnet_id
            for per_az in ec2.subnets.values():
                if subnet in per_az:
                    subnet = _obj_tags(per_az[subnet]).get("Name", subnet)
            items.add("efs:mount-target", f"{fs_names.get(mt.file_system_id)} in {subnet}", {})


def _s3(items: _Items) -> None:
    for _, _, b in _regions("s3"):
        for bucket in b.buckets.values():
            tags = {}
            try:
                tags = _tag_dict(b.tagger.list_tags_for_resource(bucket.arn).get("Tags", []))
            except Exception:
                pass
            items.add("s3:bucket", bucket.name, tags)
        break


def _cognito(items: _Items) -> None:
    for _, _, b in _regions("cognito-idp"):
        for pool in b.user_pools.values():
            pname = pool.extended_config.get("PoolName", pool.id) if hasattr(pool, "extended_config") else pool.id
            pname = getattr(pool, "name", pname)
            items.add("cognito:user-pool", pname, _tag_dict(getattr(pool, "tags", {})))
            for c in pool.clients.values():
                items.add("cognito:client", f"{pname}/{c.extended_config.get('ClientName', '')}", {})
            for u in pool.users.values():
                items.add("cognito:user", f"{pname}/{u.username}", {})
        for d in b.user_pool_domains.values():
            pool = b.user_pools.get(d.user_pool_id)
            items.add("cognito:domain", d.domain, {}, getattr(pool, "name", "?"))


def _route53(items: _Items) -> None:
    for _, _, b in _regions("route53"):
        for z in b.zones.values():
            items.add("route53:zone", z.name, {})
            for rr in z.rrsets:
                if rr.type in ("SOA", "NS"):
                    continue
                items.add("route53:record", f"{rr.name} {rr.type}", {}, " ".join(rr.records or []))
        break


def _claim_volumes(items: _Items) -> None:
    # only the volumes the EBS CSI driver made for claims; instances' root volumes come and go
    # with their instances
    for _, _, b in _regions("ec2"):
        for v in b.volumes.values():
            t = b.tags.get(v.id, {})
            if "kubernetes.io/created-for/pvc/name" in t:
                items.add("ec2:volume", t.get("kubernetes.io/created-for/pvc/namespace", "") + "/"
                          + t["kubernetes.io/created-for/pvc/name"], t, v.status)


def _acm(items: _Items) -> None:
    for _, _, b in _regions("acm"):
        for cert in b._certificates.values():
            items.add("acm:certificate", cert.common_name, _obj_tags(cert), cert.status)


def _elb(items: _Items) -> None:
    for _, _, b in _regions("elb"):
        for lb in b.load_balancers.values():
            tags = _tag_dict(getattr(lb, "tags", {}))
            items.add("elb:load-balancer", tags.get("kubernetes.io/service-name", lb.name), tags)


def _k8s(items: _Items) -> None:
    from . import k8s

    for state in k8s.KUBE.values():
        c = state.cluster_name
        for ns in state.namespaces:
            if ns not in k8s.DEFAULT_NAMESPACES:
                items.add("k8s:namespace", f"{c}/{ns}")
        for (kind, ns, name) in state.objects:
            items.add("k8s:object", f"{c}/{kind}/{ns}/{name}")
        for (ns, name), rel in state.releases.items():
            items.add("helm:release", f"{c}/{ns}/{name}", {}, rel.get("status", ""))


def take() -> dict[str, Any]:
    items = _Items()
    for label, fn in (
        ("ec2", _ec2),
        ("eks", _eks),
        ("iam", _iam),
        ("kms", _kms),
        ("efs", _efs),
        ("s3", _s3),
        ("cognito", _cognito),
        ("route53", _route53),
        ("acm", _acm),
        ("ec2:volume", _claim_volumes),
        ("elb", _elb),
        ("k8s", _k8s),
    ):
        items.section(label, lambda fn=fn: fn(items))
    out = [
        {"kind": k, "name": n, "tags": t, "detail": d, "count": c}
        for (k, n, t, d), c in sorted(items.counter.items())
    ]
    return {"items": out, "errors": items.errors}
