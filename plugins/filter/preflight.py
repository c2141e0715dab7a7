# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Checks of the platform's inputs, shared by playbooks/preflight.yml and the vpc role.

Every filter returns a list of messages (empty when all is well), one per rule that failed, each
naming the variable, the rule and the value (never the value of a secret), so a playbook asserts
``problems == []`` and prints ``problems | join('; ')``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible.errors import AnsibleFilterError

# AWS's VPC and subnet sizes (CreateVpc / CreateSubnet): from /16 to /28.
MIN_PREFIX = 16
MAX_PREFIX = 28
NAT_GATEWAY_MODES = ("single", "per_az")


def _network(value: Any, name: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    """``value`` as an IPv4 network of AWS's sizes, or None after appending what is wrong with it."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} must be an IPv4 network in CIDR notation such as 10.0.0.0/16, got {value!r}")
        return None
    text = value.strip()
    if "/" not in text:
        problems.append(f"{name} must be an IPv4 network in CIDR notation (address/prefix), got {text!r}: the /prefix is missing")
        return None
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        problems.append(f"{name} must be an IPv4 network in CIDR notation such as 10.0.0.0/16, got {text!r}")
        return None
    if str(net) != text:
        problems.append(f"{name} {text} has host bits set: the network is {net}")
        return None
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        problems.append(
            f"{name} {text} is a /{net.prefixlen}: AWS allows VPCs and subnets from /{MIN_PREFIX} to /{MAX_PREFIX}"
        )
        return None
    return net


def network_problems(
    vpc_cidr: Any,
    public_subnet_cidrs: Any,
    private_subnet_cidrs: Any,
    nat_gateway_mode: Any,
    zone_count: int = 2,
) -> list[str]:
    """What is wrong with the vpc role's inputs (``vpc_cidr``, ``vpc_public_subnet_cidrs``,
    ``vpc_private_subnet_cidrs``, ``vpc_nat_gateway_mode``), one message per failed rule.

    ``zone_count``: how many availability zones the subnets spread over (one subnet of each tier per
    zone)."""
    problems: list[str] = []
    vpc = _network(vpc_cidr, "vpc_cidr", problems)
    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for var, value in (("vpc_public_subnet_cidrs", public_subnet_cidrs), ("vpc_private_subnet_cidrs", private_subnet_cidrs)):
        if not isinstance(value, (list, tuple)):
            problems.append(f"{var} must be a list of {zone_count} IPv4 networks (one per availability zone), got {value!r}")
            continue
        if len(value) != zone_count:
            problems.append(
                f"{var} must hold {zone_count} networks, one per availability zone, got {len(value)}: {list(value)}"
            )
        for index, item in enumerate(value):
            name = f"{var}[{index}]"
            net = _network(item, name, problems)
            if net is None:
                continue
            if vpc is not None and not net.subnet_of(vpc):
                problems.append(f"{name} {net} is not inside vpc_cidr ({vpc})")
            subnets.append((name, net))
    for i, (name_a, net_a) in enumerate(subnets):
        for name_b, net_b in subnets[i + 1:]:
            if net_a.overlaps(net_b):
                what = "is the same network as" if net_a == net_b else "overlaps"
                problems.append(f"{name_b} {net_b} {what} {name_a} {net_a}: subnets must not overlap")
    if nat_gateway_mode not in NAT_GATEWAY_MODES:
        problems.append(f"vpc_nat_gateway_mode must be single or per_az, got {nat_gateway_mode!r}")
    return problems


def vpc_cidr_collisions(vpc_cidr: str, vpcs: list[dict[str, Any]], own_name: str) -> list[str]:
    """Which existing VPCs (``amazon.aws.ec2_vpc_net_info``'s ``vpcs``) have a CIDR block that overlaps
    ``vpc_cidr``, other than our own VPC (tagged ``Name=own_name``): one message per collision, naming
    both networks and the other VPC."""
    try:
        ours = ipaddress.IPv4Network(vpc_cidr)
    except ValueError as exc:
        raise AnsibleFilterError(f"vpc_cidr_collisions: vpc_cidr {vpc_cidr!r} is not an IPv4 network: {exc}") from exc
    problems = []
    for vpc in vpcs or []:
        tags = vpc.get("tags") or {}
        if tags.get("Name") == own_name:
            # Our own VPC: the role finds it by name and CIDR, so another CIDR would build a second one.
            if vpc.get("cidr_block") and ipaddress.IPv4Network(vpc["cidr_block"], strict=False) != ours:
                problems.append(
                    f"vpc_cidr {ours} differs from {vpc['cidr_block']} of this environment's VPC {vpc.get('id')} "
                    f"(Name={own_name}): a VPC's CIDR cannot change, so set vpc_cidr to {vpc['cidr_block']} "
                    f"or tear the network down first"
                )
            continue
        blocks = [
            assoc.get("cidr_block")
            for assoc in vpc.get("cidr_block_association_set") or []
            if (assoc.get("cidr_block_state") or {}).get("state", "associated") in ("associated", "associating")
        ] or [vpc.get("cidr_block")]
        for block in blocks:
            if not block:
                continue
            theirs = ipaddress.IPv4Network(block, strict=False)
            if ours.overlaps(theirs):
                label = f"{vpc.get('id') or vpc.get('vpc_id')}" + (f" (Name={tags['Name']})" if tags.get("Name") else "")
                problems.append(
                    f"vpc_cidr {ours} collides with {theirs} of the existing VPC {label} in this account and region; "
                    f"choose a vpc_cidr that does not overlap it (or remove that VPC)"
                )
    return problems


def _described_range(meta: dict[str, Any], unit: str) -> str:
    return f"{meta['min']}-{meta['max']} {unit}"


def database_problems(values: dict[str, Any], limits: dict[str, Any]) -> list[str]:
    """What is wrong with the database variables (``database_instance_name``, ``database_instance_class``,
    ``database_storage_type``, ``database_allocated_storage``, ``database_deployment_type``,
    ``database_port`` when given), against
    ``limits`` (lookup ``ons.timestream_influxdb.timestream_influxdb_limits``, read from botocore's
    model): one message per failed rule, with the value."""
    problems = []
    name = values.get("database_instance_name")
    rule = limits["instance_name"]
    if not isinstance(name, str) or not name:
        problems.append(f"database_instance_name must be set, got {name!r}")
    else:
        if not rule["min"] <= len(name) <= rule["max"]:
            problems.append(
                f"database_instance_name must be {_described_range(rule, 'characters')} long, "
                f"got {len(name)}: {name!r}"
            )
        if not re.fullmatch(rule["pattern"], name):
            problems.append(
                "database_instance_name must start with a letter and hold only letters, digits and single "
                f"hyphens (no hyphen at the end, no two in a row), got {name!r}"
            )
    for var, key in (
        ("database_instance_class", "instance_types"),
        ("database_storage_type", "storage_types"),
        ("database_deployment_type", "deployment_types"),
    ):
        if var not in values:
            continue
        value = values[var]
        if value is None:
            problems.append(f"{var} is not set; it must be one of {', '.join(limits[key])}")
        elif value not in limits[key]:
            problems.append(f"{var} must be one of {', '.join(limits[key])}, got {value!r}")
    storage = values.get("database_allocated_storage")
    rule = limits["allocated_storage"]
    try:
        gib = int(str(storage).strip())
    except ValueError:
        problems.append(f"database_allocated_storage must be a whole number of GiB ({_described_range(rule, 'GiB')}), got {storage!r}")
    else:
        if not rule["min"] <= gib <= rule["max"]:
            problems.append(f"database_allocated_storage must be {_described_range(rule, 'GiB')}, got {gib}")
        elif values.get("database_storage_type") in limits["large_storage_types"] and gib < limits["large_storage_min"]:
            problems.append(
                f"database_allocated_storage must be at least {limits['large_storage_min']} GiB with "
                f"database_storage_type {values['database_storage_type']}, got {gib}"
            )
    port = values.get("database_port")
    if port is not None:
        _port_problem(port, limits["port"], problems)
    return problems


def _port_problem(port: Any, rule: dict[str, Any], problems: list[str]) -> None:
    """database_port against the model's range and the ports the service reserves."""
    reserved = ", ".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in rule["reserved"])
    try:
        number = int(str(port).strip())
    except ValueError:
        problems.append(f"database_port must be a port number ({rule['min']}-{rule['max']}), got {port!r}")
        return
    if not rule["min"] <= number <= rule["max"]:
        problems.append(f"database_port must be {rule['min']}-{rule['max']}, except {reserved}, got {number}")
    elif any(lo <= number <= hi for lo, hi in rule["reserved"]):
        problems.append(f"database_port {number} is reserved by Timestream for InfluxDB (reserved: {reserved}); choose another port")


def password_problem(password: Any, limits: dict[str, Any]) -> str:
    """Which rule the admin password breaks ('' when none), in words and without the value:
    'is not set', 'is too short: ...', 'is too long: ...', 'contains a character that is not a
    letter or digit'."""
    rule = limits["password"]
    if password is None or not isinstance(password, str) or password == "":
        return "is not set"
    if len(password) < rule["min"]:
        return f"is too short: {rule['min']} to {rule['max']} characters are needed, it has {len(password)}"
    if len(password) > rule["max"]:
        return f"is too long: {rule['min']} to {rule['max']} characters are allowed, it has {len(password)}"
    if not re.fullmatch(rule["pattern"], password):
        return "contains a character that is not a letter or digit (only A-Z, a-z and 0-9 are allowed)"
    return ""


def region_problem(region: Any, regions: list[str]) -> str:
    """'' when ``region`` is one of ``regions`` (lookup ``ons.timestream_influxdb.aws_regions``), else
    a message naming aws_region, the value and the closest region names."""
    if isinstance(region, str) and region in regions:
        return ""
    import difflib

    close = difflib.get_close_matches(str(region), regions, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    listed = ", ".join(r for r in regions if not r.startswith(("us-iso", "eu-isoe")))
    return (
        f"aws_region {region!r} is not a region of any AWS partition (it has no endpoint).{hint} "
        f"The regions botocore knows: {listed}."
    )


def name_tag_map(resources: list[dict[str, Any]], id_key: str) -> dict[str, Any]:
    """{Name tag: resource[id_key]} of ``resources`` (an amazon.aws ``*_info`` list, tags as a dict
    or as boto3's [{key, value}] list); resources without a Name tag are left out."""
    result = {}
    for resource in resources or []:
        tags = resource.get("tags") or {}
        if isinstance(tags, list):
            tags = {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in tags}
        if tags.get("Name"):
            result[tags["Name"]] = resource.get(id_key)
    return result


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "network_problems": network_problems,
            "vpc_cidr_collisions": vpc_cidr_collisions,
            "database_problems": database_problems,
            "password_problem": password_problem,
            "region_problem": region_problem,
            "name_tag_map": name_tag_map,
        }
