"""Classic ELB realism: a load balancer owns ENIs, and they linger after it is deleted.

With ``side_effects`` on, CreateLoadBalancer (ours via the Kubernetes stand-in, or anyone's) puts
one ENI per subnet, described ``ELB <name>``, requester ``amazon-elb``, in the load balancer's
security groups, with a public IP when the scheme is internet-facing. DeleteLoadBalancer removes
the load balancer at once (as AWS does) but its ENIs stay in-use for ``elb_eni_linger`` before
AWS releases them. Until then they block DeleteSubnet, DeleteSecurityGroup and
DetachInternetGateway.
"""

from __future__ import annotations

from typing import Any

from moto.elb.models import ELBBackend, elb_backends
from moto.moto_api._internal import mock_random as random

from . import ec2 as ec2mod
from .world import WORLD


def backend(account_id: str, region: str) -> Any:
    return elb_backends[account_id][region]


def install() -> None:
    orig_create = ELBBackend.create_load_balancer
    orig_delete = ELBBackend.delete_load_balancer

    def create_load_balancer(self: ELBBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        lb = orig_create(self, name, *args, **kwargs)
        digits = "".join(random.choice("0123456789") for _ in range(10))
        prefix = "internal-" if lb.scheme == "internal" else ""
        lb.dns_name = f"{prefix}{name}-{digits}.{self.region_name}.elb.amazonaws.com"
        if WORLD.profile.side_effects:
            ec2 = ec2mod.backend(self.account_id, self.region_name)
            for subnet_id in lb.subnets:
                ec2mod.create_managed_eni(
                    ec2,
                    subnet_id,
                    f"ELB {name}",
                    owner=f"elb:{name}",
                    group_ids=lb.security_groups,
                    requester_id="amazon-elb",
                    public=lb.scheme != "internal",
                )
        return lb

    def delete_load_balancer(self: ELBBackend, load_balancer_name: str) -> None:
        existed = load_balancer_name in self.load_balancers
        orig_delete(self, load_balancer_name)
        if existed:
            owner = f"elb:{load_balancer_name}"
            enis = ec2mod.enis_owned_by(owner)
            ec2mod.linger_then_release(self.account_id, self.region_name, enis, "elb_eni_linger")

    ELBBackend.create_load_balancer = create_load_balancer
    ELBBackend.delete_load_balancer = delete_load_balancer
