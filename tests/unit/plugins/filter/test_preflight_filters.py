"""The preflight's rules, one message per failed rule naming the variable, the rule and the value,
and the limits read from botocore's model (the module's source of truth)."""

from __future__ import annotations

import botocore.session
import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.ons.timestream_influxdb.plugins.filter.preflight import (
    database_problems,
    name_tag_map,
    network_problems,
    password_problem,
    region_problem,
    vpc_cidr_collisions,
)
from ansible_collections.ons.timestream_influxdb.plugins.lookup.aws_regions import partition_regions
from ansible_collections.ons.timestream_influxdb.plugins.lookup.role_argument_specs import role_argument_specs
from ansible_collections.ons.timestream_influxdb.plugins.lookup.timestream_influxdb_limits import instance_limits

PUBLIC = ["10.0.1.0/24", "10.0.2.0/24"]
PRIVATE = ["10.0.10.0/24", "10.0.20.0/24"]
LIMITS = instance_limits()
GOOD_DB = {
    "database_instance_name": "ons-data-platform-dev",
    "database_instance_class": "db.influx.medium",
    "database_storage_type": "InfluxIOIncludedT1",
    "database_allocated_storage": 20,
    "database_deployment_type": "SINGLE_AZ",
}


def test_the_seed_network_passes() -> None:
    assert network_problems("10.0.0.0/16", PUBLIC, PRIVATE, "single") == []
    assert network_problems("10.0.0.0/16", PUBLIC, PRIVATE, "per_az") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("10.0.0/16", PUBLIC, PRIVATE, "single"), "vpc_cidr must be an IPv4 network in CIDR notation such as 10.0.0.0/16, got '10.0.0/16'"),
        (("10.0.0.0", PUBLIC, PRIVATE, "single"), "vpc_cidr must be an IPv4 network in CIDR notation (address/prefix), got '10.0.0.0': the /prefix is missing"),
        (("10.0.0.1/16", PUBLIC, PRIVATE, "single"), "vpc_cidr 10.0.0.1/16 has host bits set: the network is 10.0.0.0/16"),
        (("10.0.0.0/8", PUBLIC, PRIVATE, "single"), "vpc_cidr 10.0.0.0/8 is a /8: AWS allows VPCs and subnets from /16 to /28"),
        (("10.1.0.0/16", ["10.1.1.0/24", "10.0.2.0/24"], ["10.1.10.0/24", "10.1.20.0/24"], "single"),
         "vpc_public_subnet_cidrs[1] 10.0.2.0/24 is not inside vpc_cidr (10.1.0.0/16)"),
        (("10.0.0.0/16", PUBLIC[:1], PRIVATE, "single"), "vpc_public_subnet_cidrs must hold 2 networks, one per availability zone, got 1: ['10.0.1.0/24']"),
        (("10.0.0.0/16", PUBLIC, PRIVATE + ["10.0.30.0/24"], "single"), "vpc_private_subnet_cidrs must hold 2 networks, one per availability zone, got 3"),
        (("10.0.0.0/16", PUBLIC, "10.0.10.0/24", "single"),
         "vpc_private_subnet_cidrs must be a list of 2 IPv4 networks (one per availability zone), got '10.0.10.0/24'"),
        (("10.0.0.0/16", PUBLIC, ["10.0.1.0/25", "10.0.20.0/24"], "single"),
         "vpc_private_subnet_cidrs[0] 10.0.1.0/25 overlaps vpc_public_subnet_cidrs[0] 10.0.1.0/24: subnets must not overlap"),
        (("10.0.0.0/16", PUBLIC, ["10.0.2.0/24", "10.0.20.0/24"], "single"),
         "vpc_private_subnet_cidrs[0] 10.0.2.0/24 is the same network as vpc_public_subnet_cidrs[1] 10.0.2.0/24"),
        (("10.0.0.0/16", PUBLIC, PRIVATE, "multi"), "vpc_nat_gateway_mode must be single or per_az, got 'multi'"),
        (("10.0.0.0/16", ["10.0.1.0/28", "10.0.2.0/30"], PRIVATE, "single"),
         "vpc_public_subnet_cidrs[1] 10.0.2.0/30 is a /30: AWS allows VPCs and subnets from /16 to /28"),
    ],
)
def test_each_network_rule_names_the_variable_and_the_value(args, message) -> None:
    problems = network_problems(*args)
    assert any(message in p for p in problems), problems
    assert len(problems) == 1, problems


def test_collisions_name_both_networks_and_skip_our_own_vpc() -> None:
    vpcs = [
        {"id": "vpc-ours", "cidr_block": "10.0.0.0/16", "tags": {"Name": "p-dev-vpc"},
         "cidr_block_association_set": [{"cidr_block": "10.0.0.0/16", "cidr_block_state": {"state": "associated"}}]},
        {"id": "vpc-other", "cidr_block": "10.0.128.0/17", "tags": {"Name": "legacy"}},
        {"id": "vpc-far", "cidr_block": "172.31.0.0/16", "tags": {}},
        {"id": "vpc-second-block", "cidr_block": "192.168.0.0/16", "tags": {},
         "cidr_block_association_set": [
             {"cidr_block": "192.168.0.0/16", "cidr_block_state": {"state": "associated"}},
             {"cidr_block": "10.0.5.0/24", "cidr_block_state": {"state": "associated"}},
             {"cidr_block": "10.0.6.0/24", "cidr_block_state": {"state": "disassociated"}}]},
    ]
    assert vpc_cidr_collisions("10.0.0.0/16", vpcs, "p-dev-vpc") == [
        "vpc_cidr 10.0.0.0/16 collides with 10.0.128.0/17 of the existing VPC vpc-other (Name=legacy) in this account "
        "and region; choose a vpc_cidr that does not overlap it (or remove that VPC)",
        "vpc_cidr 10.0.0.0/16 collides with 10.0.5.0/24 of the existing VPC vpc-second-block in this account "
        "and region; choose a vpc_cidr that does not overlap it (or remove that VPC)",
    ]


def test_our_own_vpc_with_another_cidr_is_refused() -> None:
    vpcs = [{"id": "vpc-ours", "cidr_block": "10.9.0.0/16", "tags": {"Name": "p-dev-vpc"}}]
    (problem,) = vpc_cidr_collisions("10.0.0.0/16", vpcs, "p-dev-vpc")
    assert problem.startswith("vpc_cidr 10.0.0.0/16 differs from 10.9.0.0/16 of this environment's VPC vpc-ours")


def test_limits_are_botocores() -> None:
    shape = botocore.session.Session().get_service_model("timestream-influxdb").operation_model("CreateDbInstance").input_shape
    assert LIMITS["allocated_storage"] == {"min": shape.members["allocatedStorage"].metadata["min"],
                                           "max": shape.members["allocatedStorage"].metadata["max"]}
    assert LIMITS["instance_types"] == shape.members["dbInstanceType"].enum
    assert LIMITS["storage_types"] == shape.members["dbStorageType"].enum
    assert LIMITS["password"]["pattern"] == shape.members["password"].metadata["pattern"]


def test_the_seed_database_passes() -> None:
    assert database_problems(GOOD_DB, LIMITS) == []
    assert database_problems({**GOOD_DB, "database_port": 8086}, LIMITS) == []
    assert database_problems({**GOOD_DB, "database_port": None}, LIMITS) == []  # unset: the role's default
    prod = {**GOOD_DB, "database_instance_class": "db.influx.xlarge", "database_storage_type": "InfluxIOIncludedT2",
            "database_allocated_storage": "400", "database_deployment_type": "WITH_MULTIAZ_STANDBY"}
    assert database_problems(prod, LIMITS) == []


MAX = LIMITS["allocated_storage"]["max"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"database_instance_name": "ab"}, "database_instance_name must be 3-40 characters long, got 2: 'ab'"),
        ({"database_instance_name": "ons_dev"},
         "database_instance_name must start with a letter and hold only letters, digits and single hyphens"
         " (no hyphen at the end, no two in a row), got 'ons_dev'"),
        ({"database_instance_name": None}, "database_instance_name must be set, got None"),
        ({"database_instance_class": "db.influx.tiny"}, "database_instance_class must be one of db.influx.medium, "),
        ({"database_instance_class": None}, "database_instance_class is not set; it must be one of db.influx.medium"),
        ({"database_storage_type": "gp3"}, "database_storage_type must be one of InfluxIOIncludedT1, InfluxIOIncludedT2, InfluxIOIncludedT3, got 'gp3'"),
        ({"database_deployment_type": "MULTI_AZ"}, "database_deployment_type must be one of SINGLE_AZ, WITH_MULTIAZ_STANDBY, got 'MULTI_AZ'"),
        ({"database_allocated_storage": 16384}, f"database_allocated_storage must be 20-{MAX} GiB, got 16384"),
        ({"database_allocated_storage": 10}, f"database_allocated_storage must be 20-{MAX} GiB, got 10"),
        ({"database_allocated_storage": "lots"}, f"database_allocated_storage must be a whole number of GiB (20-{MAX} GiB), got 'lots'"),
        ({"database_storage_type": "InfluxIOIncludedT3", "database_allocated_storage": 100},
         "database_allocated_storage must be at least 400 GiB with database_storage_type InfluxIOIncludedT3, got 100"),
        ({"database_port": 2375}, "database_port 2375 is reserved by Timestream for InfluxDB (reserved: 2375-2376, 7788-7799, 8090, 51678-51680)"),
        ({"database_port": "8090"}, "database_port 8090 is reserved by Timestream for InfluxDB"),
        ({"database_port": 80}, "database_port must be 1024-65535, except 2375-2376, 7788-7799, 8090, 51678-51680, got 80"),
        ({"database_port": "http"}, "database_port must be a port number (1024-65535), got 'http'"),
    ],
)
def test_each_database_rule_names_the_variable_and_the_value(change, message) -> None:
    problems = database_problems({**GOOD_DB, **change}, LIMITS)
    assert len(problems) == 1 and problems[0].startswith(message), problems


@pytest.mark.parametrize(
    ("password", "verdict"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("abc123", "is too short: 8 to 64 characters are needed, it has 6"),
        ("a" * 65, "is too long: 8 to 64 characters are allowed, it has 65"),
        ("abcdefgh!123", "contains a character that is not a letter or digit (only A-Z, a-z and 0-9 are allowed)"),
        ("abcdefgh 123", "contains a character that is not a letter or digit (only A-Z, a-z and 0-9 are allowed)"),
        ("abcdefgh123", ""),
    ],
)
def test_password_verdict_names_the_rule_never_the_value(password, verdict) -> None:
    result = password_problem(password, LIMITS)
    assert result == verdict
    if password:
        assert password not in result


def test_region_names_come_from_botocore_partitions() -> None:
    regions = partition_regions()
    assert {"us-east-1", "eu-west-2", "cn-north-1", "us-gov-west-1"} <= set(regions)
    assert not [r for r in regions if r.endswith("-global")]
    assert partition_regions(["aws-cn"]) == ["cn-north-1", "cn-northwest-1"]
    with pytest.raises(ValueError, match="unknown partition"):
        partition_regions(["aws-moon"])
    assert region_problem("eu-west-2", regions) == ""
    message = region_problem("eu-west2", regions)
    assert message.startswith("aws_region 'eu-west2' is not a region of any AWS partition (it has no endpoint). Did you mean eu-west-2")


def test_name_tag_map_reads_dict_and_list_tags() -> None:
    resources = [
        {"id": "a", "tags": {"Name": "x"}},
        {"id": "b", "tags": [{"Key": "Name", "Value": "y"}]},
        {"id": "c", "tags": {}},
    ]
    assert name_tag_map(resources, "id") == {"x": "a", "y": "b"}


def test_role_argument_specs_merge_every_role_without_defaults() -> None:
    spec = role_argument_specs()
    assert spec["vpc_nat_gateway_mode"] == {"type": "str", "choices": ["single", "per_az"]}
    assert spec["database_wait_delay"]["type"] == "int"  # from an entry point other than main
    assert spec["secrets_lambda_token_permissions"]["options"]["action"]["choices"] == ["read", "write"]
    assert not [name for name, option in spec.items() if "default" in option or "required" in option]


def test_role_argument_specs_refuse_an_option_two_roles_spell_differently(tmp_path) -> None:
    for role, kind in (("one", "int"), ("two", "str")):
        (tmp_path / role / "meta").mkdir(parents=True)
        (tmp_path / role / "meta" / "argument_specs.yml").write_text(
            f"argument_specs:\n  main:\n    options:\n      shared_port: {{type: {kind}}}\n")
    with pytest.raises(AnsibleLookupError, match="option shared_port differs between one:main and two:main"):
        role_argument_specs(roles_dir=tmp_path)
