"""moto's EC2 corrected where it differs from AWS: NAT gateway tags have resource type
``natgateway`` (moto said ``nat-gateway``), so amazon.aws ec2_vpc_nat_gateway is idempotent."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.sandbox


@pytest.fixture
def nat_subnet(aws_sandbox, aws_vpc):
    ec2 = aws_sandbox.client("ec2")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=aws_vpc.vpc_id)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    yield aws_vpc.subnet_ids[0], eip
    for gw in ec2.describe_nat_gateways(
        Filters=[{"Name": "subnet-id", "Values": [aws_vpc.subnet_ids[0]]}]
    )["NatGateways"]:
        ec2.delete_nat_gateway(NatGatewayId=gw["NatGatewayId"])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=aws_vpc.vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    try:
        ec2.release_address(AllocationId=eip)
    except Exception:  # noqa: BLE001, S110 - moto may still associate it with the deleted gateway
        pass


def test_nat_gateway_tags_have_aws_resource_type(aws_sandbox, nat_subnet):
    subnet, eip = nat_subnet
    ec2 = aws_sandbox.client("ec2")
    nat = ec2.create_nat_gateway(
        SubnetId=subnet,
        AllocationId=eip,
        TagSpecifications=[
            {"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "nat-a"}]}
        ],
    )["NatGateway"]["NatGatewayId"]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [nat]}])["Tags"]
    assert tags == [
        {
            "ResourceId": nat,
            "ResourceType": "natgateway",
            "Key": "Name",
            "Value": "nat-a",
        }
    ]
    by_type = ec2.describe_tags(
        Filters=[
            {"Name": "resource-type", "Values": ["natgateway"]},
            {"Name": "resource-id", "Values": [nat]},
        ]
    )["Tags"]
    assert [t["Key"] for t in by_type] == ["Name"]
    described = ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]
    assert described["Tags"] == [{"Key": "Name", "Value": "nat-a"}]


def test_nat_gateways_are_filtered_by_their_tags(aws_sandbox, nat_subnet):
    subnet, eip = nat_subnet
    ec2 = aws_sandbox.client("ec2")
    env = f"env-{uuid.uuid4().hex[:8]}"
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip, TagSpecifications=[
        {"ResourceType": "natgateway", "Tags": [{"Key": "Environment", "Value": env}]}])["NatGateway"]["NatGatewayId"]

    def found(*filters):
        return [n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filter=list(filters))["NatGateways"]]

    assert found({"Name": "tag:Environment", "Values": [env]}) == [nat]
    assert found({"Name": "tag:Environment", "Values": ["another"]}) == []
    assert nat in found({"Name": "tag-key", "Values": ["Environment"]})
    assert found({"Name": "tag-value", "Values": [env]}) == [nat]
    assert found({"Name": "tag:Environment", "Values": [env]}, {"Name": "subnet-id", "Values": ["subnet-0"]}) == []


@pytest.mark.slow
def test_ec2_vpc_nat_gateway_with_tags_is_idempotent(aws_sandbox, nat_subnet, tmp_path):
    subnet, eip = nat_subnet
    tag_value = f"nat-{uuid.uuid4().hex[:6]}"
    task = {
        "name": "nat",
        "amazon.aws.ec2_vpc_nat_gateway": {
            "subnet_id": subnet,
            "allocation_id": eip,
            "if_exist_do_not_create": True,
            "wait": False,
            "tags": {"Name": tag_value, "env": "test"},
        },
    }
    # our own access key id (same account): the log then shows only this test's requests
    key = "AKIA" + uuid.uuid4().hex[:16].upper()
    env = {**aws_sandbox.env, "AWS_ACCESS_KEY_ID": key}
    first = run_playbook(tmp_path, tasks=[task], env=env)
    assert first.rc == 0, first.stdout + first.stderr
    assert first.task("nat")["changed"] is True
    boundary = max(r["seq"] for r in aws_sandbox.control.requests(access_key=key))
    second = run_playbook(tmp_path, tasks=[task], env=env)
    assert second.rc == 0, second.stdout + second.stderr
    assert second.task("nat")["changed"] is False
    assert second.task("nat")["tags"] == {"Name": tag_value, "env": "test"}
    log = aws_sandbox.control.requests(access_key=key)
    assert "CreateNatGateway" in [r["operation"] for r in log if r["seq"] <= boundary]
    second_run = [r for r in log if r["seq"] > boundary]
    assert second_run and all(r["service"] == "ec2" for r in second_run)
    assert [r["operation"] for r in second_run if r["mutating"]] == []
