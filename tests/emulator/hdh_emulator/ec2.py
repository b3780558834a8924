"""EC2 realism: DependencyViolation refusals, NAT gateway lifecycle, managed and lingering ENIs.

moto lets a subnet, security group or VPC go while network interfaces still sit in it; AWS does
not. With a profile that has ``refusals`` on, these calls answer with EC2's own
``DependencyViolation`` error while anything that AWS would count still exists:

* DeleteSubnet: ENIs in the subnet (lingering ones included), instances, NAT gateways not yet
  ``deleted``.
* DeleteSecurityGroup: ENIs or instances using the group, rules of other groups referencing it.
* DeleteVpc: subnets (moto), an attached internet gateway, non-default security groups, extra
  route tables (moto), NAT gateways not yet ``deleted``, ENIs.
* DetachInternetGateway: mapped public addresses in the VPC (NAT gateways, ENIs with a public IP
  such as internet-facing load balancer ENIs, instances with a public IP).

*Managed* ENIs are those AWS services own (EKS control plane, EFS mount targets, NAT gateways,
load balancers). They report ``in-use`` and ``requesterManaged``, cannot be deleted by the user
(``InvalidNetworkInterface.InUse``), and when their owner goes they *linger* for the profile's
duration before AWS releases them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.utils import random_public_ip

from .world import WORLD


@dataclass
class ManagedEni:
    """Bookkeeping for an ENI that an AWS service owns."""

    eni_id: str
    account_id: str
    region: str
    owner: str  # e.g. "eks:cluster/eks-helio", "efs:fsmt-0123", "elb:a1b2c3", "nat:nat-0123"
    lingering: bool = False


MANAGED: dict[str, ManagedEni] = {}

# >0 while AWS itself (not a client) is changing things: no refusals apply then
_INTERNAL = [0]


class internal:
    """Context in which the emulated AWS acts on its own resources (e.g. terminating a node)."""

    def __enter__(self) -> None:
        _INTERNAL[0] += 1

    def __exit__(self, *exc: object) -> None:
        _INTERNAL[0] -= 1


def backend(account_id: str, region: str) -> Any:
    return ec2_backends[account_id][region]


def create_managed_eni(
    ec2: Any,
    subnet_id: str,
    description: str,
    owner: str,
    group_ids: Iterable[str] = (),
    interface_type: str = "interface",
    requester_id: str = "amazon-aws",
    public: bool = False,
    private_ip: str | None = None,
) -> Any:
    """An ENI in ``subnet_id`` that an AWS service owns (status in-use, requester-managed)."""
    eni = ec2.create_network_interface(
        ec2.get_subnet(subnet_id),
        private_ip or "",
        group_ids=list(group_ids) or None,
        description=description,
    )
    mark_managed(ec2, eni, owner, interface_type, requester_id)
    if public:
        eni.public_ip = random_public_ip()
    return eni


def mark_managed(
    ec2: Any, eni: Any, owner: str, interface_type: str = "interface", requester_id: str = "amazon-aws"
) -> None:
    eni.status = "in-use"
    eni.requester_managed = True
    eni.requester_id = requester_id
    eni.interface_type = interface_type
    MANAGED[eni.id] = ManagedEni(eni.id, ec2.account_id, ec2.region_name, owner)


def release_eni(account_id: str, region: str, eni_id: str) -> None:
    """AWS lets go of an ENI: it disappears."""
    MANAGED.pop(eni_id, None)
    ec2 = backend(account_id, region)
    eni = ec2.enis.pop(eni_id, None)
    if eni is None:
        return
    for addr in list(ec2.addresses):
        if getattr(addr, "eni", None) is eni:
            addr.eni = None
            addr.association_id = None
            addr.instance = None
    for ip in eni.private_ip_addresses:
        try:
            eni.subnet.del_subnet_ip(ip["PrivateIpAddress"])
        except Exception:
            pass


def linger_then_release(account_id: str, region: str, eni_ids: Iterable[str], duration_key: str) -> None:
    """The owner is gone; the ENIs stay (in-use) for the profile's linger time, then go."""
    for eni_id in list(eni_ids):
        if eni_id in MANAGED:
            MANAGED[eni_id].lingering = True
            # a later owner of the same name must not inherit these
            MANAGED[eni_id].owner += " (deleted)"
        WORLD.after(
            duration_key,
            f"release {eni_id}",
            lambda e=eni_id: release_eni(account_id, region, e),
        )


def enis_owned_by(owner: str) -> list[str]:
    return [m.eni_id for m in MANAGED.values() if m.owner == owner]


# -- refusals ------------------------------------------------------------------------------------


def _live_instances(ec2: Any) -> list[Any]:
    return [
        i
        for r in ec2.reservations.values()
        for i in r.instances
        if i.state not in ("terminated",)
    ]


def _eni_groups(eni: Any) -> set[str]:
    groups = {g.id for g in eni._group_set if g is not None}
    if eni.instance is not None:
        groups |= {g.id for g in eni.instance.security_groups if g is not None}
    return groups


def _violation(message: str) -> DependencyViolationError:
    return DependencyViolationError(message)


def _check_subnet(ec2: Any, subnet_id: str) -> None:
    if any(eni.subnet.id == subnet_id for eni in ec2.enis.values()):
        raise _violation(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    if any(i.subnet_id == subnet_id for i in _live_instances(ec2)):
        raise _violation(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    if any(n.subnet_id == subnet_id and n.state != "deleted" for n in ec2.nat_gateways.values()):
        raise _violation(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")


def _check_security_group(ec2: Any, group_id: str) -> None:
    message = f"resource {group_id} has a dependent object"
    for eni in ec2.enis.values():
        if group_id in _eni_groups(eni):
            raise _violation(message)
    for inst in _live_instances(ec2):
        if any(g is not None and g.id == group_id for g in inst.security_groups):
            raise _violation(message)
    for groups in ec2.groups.values():
        for other in groups.values():
            if other.id == group_id:
                continue
            for rule in list(other.ingress_rules) + list(other.egress_rules):
                if (rule.source_group or {}).get("GroupId") == group_id:
                    raise _violation(message)


def _check_vpc(ec2: Any, vpc_id: str) -> None:
    message = f"The vpc '{vpc_id}' has dependencies and cannot be deleted."
    for igw in ec2.internet_gateways.values():
        if igw.vpc is not None and igw.vpc.id == vpc_id:
            raise _violation(message)
    for sg in ec2.groups.get(vpc_id, {}).values():
        if sg.name != "default":
            raise _violation(message)
    if any(n.vpc_id == vpc_id and n.state != "deleted" for n in ec2.nat_gateways.values()):
        raise _violation(message)
    if any(eni.subnet.vpc_id == vpc_id for eni in ec2.enis.values()):
        raise _violation(message)


def _check_detach(ec2: Any, igw_id: str, vpc_id: str) -> None:
    message = (
        f"Network {vpc_id} has some mapped public address(es). "
        "Please unmap those public address(es) before detaching the gateway."
    )
    if any(
        n.vpc_id == vpc_id and n.state != "deleted" and n.connectivity_type != "private"
        for n in ec2.nat_gateways.values()
    ):
        raise _violation(message)
    for eni in ec2.enis.values():
        if eni.subnet.vpc_id == vpc_id and eni.public_ip:
            raise _violation(message)
    for inst in _live_instances(ec2):
        if inst.vpc_id == vpc_id and getattr(inst, "public_ip", None):
            raise _violation(message)


def _group_id(ec2: Any, name: str | None, group_id: str | None) -> str | None:
    if group_id:
        return group_id
    group = ec2.get_security_group_by_name_or_id(name) if name else None
    return group.id if group else None


# -- NAT gateways ------------------------------------------------------------------------------


class NatGatewayNotFound(EC2ClientError):
    def __init__(self, nat_id: str):
        super().__init__("NatGatewayNotFound", f"The Nat Gateway {nat_id} was not found")


def _finish_nat_delete(ec2: Any, nat: Any) -> None:
    nat.state = "deleted"
    eni = getattr(nat, "_eni", None)
    if eni is not None:
        release_eni(ec2.account_id, ec2.region_name, eni.id)


# -- installation --------------------------------------------------------------------------------


def install() -> None:
    orig_delete_subnet = EC2Backend.delete_subnet
    orig_delete_sg = EC2Backend.delete_security_group
    orig_delete_vpc = EC2Backend.delete_vpc
    orig_detach = EC2Backend.detach_internet_gateway
    orig_create_nat = EC2Backend.create_nat_gateway
    orig_delete_eni = EC2Backend.delete_network_interface

    def delete_subnet(self: Any, subnet_id: str) -> Any:
        if WORLD.profile.refusals:
            self.get_subnet(subnet_id)  # NotFound first, as AWS
            _check_subnet(self, subnet_id)
        return orig_delete_subnet(self, subnet_id)

    def delete_security_group(self: Any, name: str | None = None, group_id: str | None = None) -> Any:
        if WORLD.profile.refusals:
            gid = _group_id(self, name, group_id)
            if gid:
                _check_security_group(self, gid)
        return orig_delete_sg(self, name=name, group_id=group_id)

    def delete_vpc(self: Any, vpc_id: str) -> Any:
        if WORLD.profile.refusals and vpc_id in self.vpcs:
            _check_vpc(self, vpc_id)
        return orig_delete_vpc(self, vpc_id)

    def detach_internet_gateway(self: Any, internet_gateway_id: str, vpc_id: str) -> Any:
        if WORLD.profile.refusals:
            igw = self.get_internet_gateway(internet_gateway_id)
            if igw.vpc is not None and igw.vpc.id == vpc_id:
                _check_detach(self, internet_gateway_id, vpc_id)
        return orig_detach(self, internet_gateway_id, vpc_id)

    def create_nat_gateway(self: Any, *args: Any, **kwargs: Any) -> Any:
        nat = orig_create_nat(self, *args, **kwargs)
        mark_managed(self, nat._eni, f"nat:{nat.id}", "nat_gateway", "amazon-aws")
        nat._eni.description = f"Interface for NAT Gateway {nat.id}"
        if WORLD.duration("nat_gateway_create") > 0:
            nat.state = "pending"

            def available(n: Any = nat) -> None:
                if n.state == "pending":
                    n.state = "available"

            WORLD.after("nat_gateway_create", f"nat {nat.id} available", available)
        return nat

    def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
        nat = self.nat_gateways.get(nat_gateway_id)
        if nat is None:
            raise NatGatewayNotFound(nat_gateway_id)
        if nat.state in ("deleting", "deleted"):
            return nat
        nat.state = "deleting"
        WORLD.after(
            "nat_gateway_delete",
            f"nat {nat.id} deleted",
            lambda e=self, n=nat: _finish_nat_delete(e, n),
        )
        return nat

    def delete_network_interface(self: Any, eni_id: str) -> Any:
        if WORLD.profile.refusals and not _INTERNAL[0] and eni_id in self.enis:
            eni = self.enis[eni_id]
            if eni_id in MANAGED or eni.instance is not None:
                raise EC2ClientError(
                    "InvalidNetworkInterface.InUse",
                    f"The network interface '{eni_id}' is currently in use.",
                )
        MANAGED.pop(eni_id, None)
        return orig_delete_eni(self, eni_id)

    EC2Backend.delete_subnet = delete_subnet
    EC2Backend.delete_security_group = delete_security_group
    EC2Backend.delete_vpc = delete_vpc
    EC2Backend.detach_internet_gateway = detach_internet_gateway
    EC2Backend.create_nat_gateway = create_nat_gateway
    EC2Backend.delete_nat_gateway = delete_nat_gateway
    EC2Backend.delete_network_interface = delete_network_interface

    orig_filter = NetworkInterface.get_filter_value

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        extra = {
            "status": lambda: self.status,
            "requester-managed": lambda: str(bool(self.requester_managed)).lower(),
            "requester-id": lambda: self.requester_id,
            "interface-type": lambda: self.interface_type,
            "owner-id": lambda: self.owner_id,
            "attachment.status": lambda: "attached" if self.instance else None,
            "association.public-ip": lambda: self.public_ip,
        }
        if filter_name in extra:
            return extra[filter_name]()
        return orig_filter(self, filter_name, method_name)

    NetworkInterface.get_filter_value = get_filter_value

    from moto.ec2.models.instances import Instance

    orig_terminate = Instance.terminate

    def terminate(self: Any) -> Any:
        if WORLD.profile.refusals:
            # AWS deletes the primary ENI it created at launch (DeleteOnTermination=true)
            primary = self.nics.get(0)
            if primary is not None and primary.description == "Primary network interface":
                primary.delete_on_termination = True
        with internal():
            return orig_terminate(self)

    Instance.terminate = terminate

    WORLD.on_reset(MANAGED.clear)
