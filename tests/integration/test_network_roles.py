"""The network stage (roles vpc and security, playbooks/network.yml) against the sandbox: a plan in
check mode on an empty account runs to the end and sends no mutating request; a vpc_cidr that
collides with an existing VPC fails before any change, naming both. (Converge, idempotence and the
resources' shape are the molecule scenarios vpc and security.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.ansible import REPO, ansible_env

BIN = Path(sys.executable).parent


def network_playbook(aws_sandbox, tmp_path: Path, access_key: str, extra_vars: dict, *flags: str) -> tuple[subprocess.CompletedProcess, list]:
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"aws_access_key": access_key, **extra_vars}))
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "playbooks/network.yml", "-i", "inventories/local", "-e", f"@{vars_file}", *flags],
        cwd=REPO,
        env=ansible_env({**aws_sandbox.env, "SANDBOX_PORT": aws_sandbox.endpoint.rsplit(":", 1)[1]}),
        capture_output=True, text=True, check=False, timeout=900,
    )
    return proc, [r for r in aws_sandbox.control.requests(access_key=access_key) if r["seq"] > before]


def network_vars(environment: str, second_octet: int) -> dict:
    net = f"10.{second_octet}"
    return {
        "environment_name": environment,
        "vpc_cidr": f"{net}.0.0/16",
        "vpc_public_subnet_cidrs": [f"{net}.1.0/24", f"{net}.2.0/24"],
        "vpc_private_subnet_cidrs": [f"{net}.10.0/24", f"{net}.20.0/24"],
        "vpc_nat_gateway_mode": "per_az",
    }


def test_check_mode_on_an_empty_account_runs_to_the_end_and_changes_nothing(aws_sandbox, tmp_path) -> None:
    proc, requests = network_playbook(aws_sandbox, tmp_path, "AKIANETWORKCHECK01", network_vars("pytest-plan", 72),
                                      "--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "Would create the VPC ons-data-platform-pytest-plan-vpc (10.72.0.0/16)" in out
    assert "public subnets 10.72.1.0/24, 10.72.2.0/24" in out
    assert "NAT gateway(s) with their Elastic IPs (per_az)" in out
    assert "Would create the security groups ons-data-platform-pytest-plan-lambda and ons-data-platform-pytest-plan-influxdb" in out
    assert "Would create the KMS key alias/ons-data-platform-pytest-plan-influxdb" in out
    assert "failed=0" in proc.stdout
    assert requests, "the plan read nothing"
    assert [r for r in requests if r["mutating"]] == []
    ec2 = aws_sandbox.client("ec2")
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["ons-data-platform-pytest-plan-vpc"]}])["Vpcs"] == []


def test_a_vpc_cidr_colliding_with_an_existing_vpc_fails_before_any_change(aws_sandbox, tmp_path) -> None:
    ec2 = aws_sandbox.client("ec2")
    other_id = ec2.create_vpc(
        CidrBlock="10.73.128.0/17",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "someone-elses"}]}],
    )["Vpc"]["VpcId"]
    try:
        proc, requests = network_playbook(aws_sandbox, tmp_path, "AKIANETWORKCOLLIDE", network_vars("pytest-collide", 73))
    finally:
        ec2.delete_vpc(VpcId=other_id)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert (f"vpc_cidr 10.73.0.0/16 collides with 10.73.128.0/17 of the existing VPC {other_id} (Name=someone-elses)"
            in out)
    assert [r for r in requests if r["mutating"]] == []
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["ons-data-platform-pytest-collide-vpc"]}])["Vpcs"] == []


def test_elastic_ip_tags_carry_aws_resource_type(aws_sandbox) -> None:
    """The sandbox reports an Elastic IP's tags with AWS's resource type (elastic-ip), the filter
    amazon.aws ec2_eip reads them by; the vpc role's idempotence depends on it."""
    ec2 = aws_sandbox.client("ec2")
    allocation = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "eip-a"}]}]
    )["AllocationId"]
    try:
        tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["elastic-ip"]},
                                          {"Name": "resource-id", "Values": [allocation]}])["Tags"]
        assert tags == [{"ResourceId": allocation, "ResourceType": "elastic-ip", "Key": "Name", "Value": "eip-a"}]
    finally:
        ec2.release_address(AllocationId=allocation)


def test_kms_key_deletion_and_its_cancellation_take_the_key_arn(aws_sandbox) -> None:
    """AWS takes a key id or ARN in ScheduleKeyDeletion / CancelKeyDeletion / EnableKey /
    DisableKey; amazon.aws kms_key passes the ARN (the security role's teardown and re-creation)."""
    kms = aws_sandbox.client("kms")
    arn = kms.create_key(Description="arn test")["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=arn)
    kms.enable_key(KeyId=arn)
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
