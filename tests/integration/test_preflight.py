"""playbooks/preflight.yml as a user meets it: each bad variable fails with its own message naming
the variable, the rule and the value (never the password), before any request reaches AWS (the
sandbox's request log, by this test's own access key)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.ansible import REPO, ansible_env

BIN = Path(sys.executable).parent
ACCESS_KEY = "AKIAPREFLIGHTTEST01"
GOOD_PASSWORD = "Preflight2026abc"


def preflight(aws_sandbox, tmp_path: Path, extra_vars: dict, env: dict | None = None) -> tuple[subprocess.CompletedProcess, list]:
    """Run the preflight on the local inventory with ``extra_vars``; return the process and the AWS
    requests it made."""
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"aws_access_key": ACCESS_KEY, **extra_vars}))
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    run_env = ansible_env({
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        **aws_sandbox.env,
        "SANDBOX_PORT": aws_sandbox.endpoint.rsplit(":", 1)[1],
        "INFLUXDB_ADMIN_PASSWORD": GOOD_PASSWORD,
        **(env or {}),
    })
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "playbooks/preflight.yml", "-i", "inventories/local", "-e", f"@{vars_file}"],
        cwd=REPO, env=run_env, capture_output=True, text=True, check=False, timeout=300,
    )
    requests = [r for r in aws_sandbox.control.requests(access_key=ACCESS_KEY) if r["seq"] > before]
    return proc, requests


def task_results(proc: subprocess.CompletedProcess) -> list[dict]:
    """(task name, result) of every task, from the ansible.posix.json callback's output."""
    data = json.loads(proc.stdout[proc.stdout.index("{"):])
    return [
        {"name": task["task"]["name"], **task["hosts"].get("localhost", {})}
        for play in data["plays"]
        for task in play["tasks"]
    ]


def failure_message(proc: subprocess.CompletedProcess) -> str:
    """The message of the task that failed (exactly one)."""
    assert proc.returncode != 0, proc.stdout
    (failed,) = [t for t in task_results(proc) if t.get("failed")]
    return failed["msg"]


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"aws_region": "eu-west2"}, "aws_region 'eu-west2' is not a region of any AWS partition (it has no endpoint). Did you mean eu-west-2"),
        ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr must be an IPv4 network in CIDR notation such as 10.0.0.0/16, got '10.0.0.0/33'"),
        ({"vpc_public_subnet_cidrs": ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]},
         "vpc_public_subnet_cidrs must hold 2 networks, one per availability zone, got 3"),
        ({"vpc_private_subnet_cidrs": ["10.0.10.0/24", "10.0.2.0/24"]},
         "vpc_private_subnet_cidrs[1] 10.0.2.0/24 is the same network as vpc_public_subnet_cidrs[1] 10.0.2.0/24: subnets must not overlap"),
        ({"vpc_private_subnet_cidrs": ["10.0.10.0/24", "10.9.20.0/24"]},
         "vpc_private_subnet_cidrs[1] 10.9.20.0/24 is not inside vpc_cidr (10.0.0.0/16)"),
        ({"vpc_nat_gateway_mode": "multi"}, "vpc_nat_gateway_mode must be single or per_az, got 'multi'"),
        ({"database_instance_name": "ons_dev"}, "database_instance_name must start with a letter and hold only letters, digits and single hyphens"),
        ({"database_instance_class": "db.t3.medium"}, "database_instance_class must be one of db.influx.medium, db.influx.large"),
        ({"database_allocated_storage": 16384}, "database_allocated_storage must be 20-15360 GiB, got 16384"),
        ({"database_storage_type": "InfluxIOIncludedT2"},
         "database_allocated_storage must be at least 400 GiB with database_storage_type InfluxIOIncludedT2, got 20"),
    ],
    ids=["region", "cidr", "subnet-count", "subnet-overlap", "subnet-outside", "nat-mode", "instance-name",
         "instance-class", "storage-max-from-botocore", "storage-t2-min"],
)
def test_each_bad_variable_fails_before_any_request_naming_it(aws_sandbox, tmp_path, extra_vars, message) -> None:
    proc, requests = preflight(aws_sandbox, tmp_path, extra_vars)
    assert message in failure_message(proc)
    assert requests == []


@pytest.mark.parametrize(
    ("password", "verdict"),
    [
        ("", "database_admin_password is not set."),
        ("short12", "database_admin_password is too short: 8 to 64 characters are needed, it has 7."),
        ("a1" * 33, "database_admin_password is too long: 8 to 64 characters are allowed, it has 66."),
        ("Passw0rd!2026", "database_admin_password contains a character that is not a letter or digit"),
    ],
    ids=["unset", "too-short", "too-long", "not-alphanumeric"],
)
def test_admin_password_says_which_rule_failed_and_never_shows_it(aws_sandbox, tmp_path, password, verdict) -> None:
    proc, requests = preflight(aws_sandbox, tmp_path, {"database_admin_password": password})
    message = failure_message(proc)
    assert verdict in message
    assert "ansible-vault create inventories/<env>/group_vars/all/vault.yml" in message
    if password:
        assert password not in proc.stdout + proc.stderr
    # The reason is never censored: the failing task is not no_log.
    assert "has been hidden" not in message and "censored" not in message
    assert requests == []


def test_a_good_inventory_passes_and_only_reads(aws_sandbox, tmp_path) -> None:
    proc, requests = preflight(aws_sandbox, tmp_path, {"environment_name": "pytest-preflight",
                                                       "vpc_cidr": "10.70.0.0/16",
                                                       "vpc_public_subnet_cidrs": ["10.70.1.0/24", "10.70.2.0/24"],
                                                       "vpc_private_subnet_cidrs": ["10.70.10.0/24", "10.70.20.0/24"]})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ons-data-platform (pytest-preflight) in account" in task_results(proc)[-1]["msg"]
    assert GOOD_PASSWORD not in proc.stdout
    assert requests and [r for r in requests if r["mutating"]] == []


def test_a_vpc_cidr_that_collides_with_another_vpc_fails_naming_both(aws_sandbox, tmp_path) -> None:
    ec2 = aws_sandbox.client("ec2")
    other = ec2.create_vpc(CidrBlock="10.71.0.0/16",
                           TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "legacy-platform"}]}])
    other_id = other["Vpc"]["VpcId"]
    try:
        proc, requests = preflight(aws_sandbox, tmp_path, {"environment_name": "pytest-collide",
                                                           "vpc_cidr": "10.71.0.0/16",
                                                           "vpc_public_subnet_cidrs": ["10.71.1.0/24", "10.71.2.0/24"],
                                                           "vpc_private_subnet_cidrs": ["10.71.10.0/24", "10.71.20.0/24"]})
    finally:
        ec2.delete_vpc(VpcId=other_id)
    assert (f"vpc_cidr 10.71.0.0/16 collides with 10.71.0.0/16 of the existing VPC {other_id} (Name=legacy-platform)"
            in failure_message(proc))
    assert [r for r in requests if r["mutating"]] == []
