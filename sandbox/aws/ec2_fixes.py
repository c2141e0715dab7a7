"""Corrections to moto's EC2 where it differs from AWS.

NAT gateway tags: moto maps the ``nat-`` id prefix to the resource type ``nat-gateway`` (its
``EC2_PREFIX_TO_RESOURCE`` table, used by DescribeTags for both the ``resource-type`` filter and
the reported ``ResourceType``). AWS says ``natgateway``, and amazon.aws ec2_vpc_nat_gateway reads
tags with ``describe_tags(Filters=[resource-type=natgateway, ...])``: under moto it found none and
re-applied the tags on every run (changed every run).

Elastic IP tags, the same way: moto says ``vpc-elastic-ip`` for the ``eipalloc-`` prefix, AWS says
``elastic-ip`` (the resource type amazon.aws ec2_eip filters its tags by).

DescribeNatGateways filters: moto applies nat-gateway-id, vpc-id, subnet-id and state and silently
ignores the rest, so ``tag:<key>``, ``tag-key`` and ``tag-value`` returned every NAT gateway of the
account. AWS filters by them; so does the sandbox.
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.ec2 import utils as ec2_utils
    from moto.ec2.models import tags as ec2_tags

    nat_prefix = ec2_utils.EC2_RESOURCE_TO_PREFIX["nat-gateway"]
    eip_prefix = ec2_utils.EC2_RESOURCE_TO_PREFIX["vpc-elastic-ip"]
    # The same dict object is imported by moto.ec2.models.tags; patch it in place (and both names
    # in case a future moto copies it).
    for table in {
        id(t): t
        for t in (ec2_utils.EC2_PREFIX_TO_RESOURCE, ec2_tags.EC2_PREFIX_TO_RESOURCE)
    }.values():
        table[nat_prefix] = "natgateway"
        table[eip_prefix] = "elastic-ip"
    _filter_nat_gateways_by_tags()
    _applied = True


def _filter_nat_gateways_by_tags() -> None:
    from moto.ec2.models.nat_gateways import NatGatewayBackend
    from moto.ec2.utils import tag_filter_matches

    describe = NatGatewayBackend.describe_nat_gateways

    def describe_nat_gateways(self, filters, nat_gateway_ids):  # type: ignore[no-untyped-def]
        found = describe(self, filters, nat_gateway_ids)
        for name, values in (filters or {}).items():
            if name.startswith("tag:") or name in ("tag-key", "tag-value"):
                found = [nat for nat in found if tag_filter_matches(nat, name, values)]
        return found

    NatGatewayBackend.describe_nat_gateways = describe_nat_gateways
