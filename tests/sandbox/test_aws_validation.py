"""Timestream for InfluxDB input validation in the sandbox: the botocore model's constraints and
the rules AWS applies beyond them. Requests go out with botocore's client-side validation off, so
the sandbox itself must reject them."""

from __future__ import annotations

import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.client import wait_for_db_instance

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def raw_ts(aws_sandbox):
    """A client that sends whatever it is given (no client-side parameter validation)."""
    return aws_sandbox.client(
        "timestream-influxdb", config=Config(parameter_validation=False)
    )


def _params(vpc, **overrides):
    params = {
        "name": f"v-{uuid.uuid4().hex[:10]}",
        "password": "Passw0rdPassw0rd",
        "dbInstanceType": "db.influx.medium",
        "vpcSubnetIds": vpc.subnet_ids,
        "vpcSecurityGroupIds": [vpc.security_group_id],
        "allocatedStorage": 20,
        "organization": "ons",
        "bucket": "metrics",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def _error(call):
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": "ab"}, "length greater than or equal to 3"),
        ({"name": "a" * 41}, "length less than or equal to 40"),
        ({"name": "1abc"}, "regular expression pattern"),
        ({"name": "abc--def"}, "regular expression pattern"),
        ({"name": "abc-"}, "regular expression pattern"),
        ({"name": "ab_c"}, "regular expression pattern"),
        ({"password": "short1"}, "length greater than or equal to 8"),
        ({"password": "a" * 65}, "length less than or equal to 64"),
        ({"password": "has-dash-123"}, "regular expression pattern"),
        ({"allocatedStorage": 19}, "value greater than or equal to 20"),
        ({"allocatedStorage": 20000}, "value less than or equal to"),
        ({"port": 1023}, "value greater than or equal to 1024"),
        ({"port": 65536}, "value less than or equal to 65535"),
        ({"dbInstanceType": "db.influx.huge"}, "enum value set"),
        ({"deploymentType": "MULTI_AZ"}, "enum value set"),
        ({"dbStorageType": "gp3"}, "enum value set"),
        ({"vpcSubnetIds": []}, "length greater than or equal to 1"),
        (
            {"vpcSecurityGroupIds": ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"]},
            "length less than or equal to 5",
        ),
        ({"vpcSubnetIds": ["not-a-subnet"]}, "regular expression pattern"),
        ({"password": None}, "Member must not be null"),
        ({"bucket": "_internal"}, "regular expression pattern"),
    ],
)
def test_model_constraints(raw_ts, aws_vpc, overrides, fragment):
    resp = _error(lambda: raw_ts.create_db_instance(**_params(aws_vpc, **overrides)))
    assert resp["Error"]["Code"] == "ValidationException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in resp["Error"]["Message"]


@pytest.mark.parametrize(
    "port", [2375, 2376, 7788, 7795, 7799, 8090, 51678, 51679, 51680]
)
def test_reserved_ports_rejected(raw_ts, aws_vpc, port):
    resp = _error(lambda: raw_ts.create_db_instance(**_params(aws_vpc, port=port)))
    assert resp["Error"]["Code"] == "ValidationException"
    assert "reserved" in resp["Error"]["Message"]


@pytest.mark.parametrize("storage_type", ["InfluxIOIncludedT2", "InfluxIOIncludedT3"])
def test_t2_t3_storage_needs_400_gib(raw_ts, aws_vpc, storage_type):
    resp = _error(
        lambda: raw_ts.create_db_instance(
            **_params(aws_vpc, dbStorageType=storage_type, allocatedStorage=399)
        )
    )
    assert resp["Error"]["Code"] == "ValidationException"
    created = raw_ts.create_db_instance(
        **_params(aws_vpc, dbStorageType=storage_type, allocatedStorage=400)
    )
    assert created["dbStorageType"] == storage_type
    wait_for_db_instance(raw_ts, created["id"])
    raw_ts.delete_db_instance(identifier=created["id"])


@pytest.mark.parametrize("missing", ["organization", "bucket"])
def test_onboarding_parameters_required(raw_ts, aws_vpc, missing):
    resp = _error(
        lambda: raw_ts.create_db_instance(**_params(aws_vpc, **{missing: None}))
    )
    assert (
        resp["Error"]["Code"] == "ValidationException"
        and missing in resp["Error"]["Message"]
    )


def test_unknown_subnet_and_security_group(raw_ts, aws_vpc):
    resp = _error(
        lambda: raw_ts.create_db_instance(
            **_params(aws_vpc, vpcSubnetIds=["subnet-0123456789abcdef0"])
        )
    )
    assert resp["Error"]["Code"] == "ValidationException"
    assert "subnet-0123456789abcdef0" in resp["Error"]["Message"]
    resp = _error(
        lambda: raw_ts.create_db_instance(
            **_params(aws_vpc, vpcSecurityGroupIds=["sg-0123456789abcdef0"])
        )
    )
    assert resp["Error"]["Code"] == "ValidationException"
    assert "sg-0123456789abcdef0" in resp["Error"]["Message"]


def test_subnets_and_groups_must_share_one_vpc(aws_sandbox, raw_ts, aws_vpc):
    ec2 = aws_sandbox.client("ec2")
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    other_subnet = ec2.create_subnet(
        VpcId=other_vpc, CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1c"
    )
    other_subnet = other_subnet["Subnet"]["SubnetId"]
    other_sg = ec2.create_security_group(
        GroupName=f"o-{uuid.uuid4().hex[:6]}", Description="o", VpcId=other_vpc
    )
    try:
        resp = _error(
            lambda: raw_ts.create_db_instance(
                **_params(aws_vpc, vpcSubnetIds=[aws_vpc.subnet_ids[0], other_subnet])
            )
        )
        assert (
            resp["Error"]["Code"] == "ValidationException"
            and "same VPC" in resp["Error"]["Message"]
        )
        resp = _error(
            lambda: raw_ts.create_db_instance(
                **_params(aws_vpc, vpcSecurityGroupIds=[other_sg["GroupId"]])
            )
        )
        assert (
            resp["Error"]["Code"] == "ValidationException"
            and other_vpc in resp["Error"]["Message"]
        )
    finally:
        ec2.delete_security_group(GroupId=other_sg["GroupId"])
        ec2.delete_subnet(SubnetId=other_subnet)
        ec2.delete_vpc(VpcId=other_vpc)


def test_multi_az_needs_two_zones(raw_ts, aws_vpc):
    resp = _error(
        lambda: raw_ts.create_db_instance(
            **_params(
                aws_vpc,
                vpcSubnetIds=aws_vpc.subnet_ids[:1],
                deploymentType="WITH_MULTIAZ_STANDBY",
            )
        )
    )
    assert resp["Error"]["Code"] == "ValidationException"


def test_duplicate_name_conflict(raw_ts, aws_vpc):
    params = _params(aws_vpc)
    created = raw_ts.create_db_instance(**params)
    resp = _error(lambda: raw_ts.create_db_instance(**params))
    assert resp["Error"]["Code"] == "ConflictException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 409
    wait_for_db_instance(raw_ts, created["id"])
    raw_ts.delete_db_instance(identifier=created["id"])


def test_unknown_instance_not_found(raw_ts):
    resp = _error(lambda: raw_ts.get_db_instance(identifier="doesnotexist1"))
    assert resp["Error"]["Code"] == "ResourceNotFoundException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 404
    for call in (raw_ts.delete_db_instance, raw_ts.reboot_db_instance):
        assert (
            _error(lambda call=call: call(identifier="doesnotexist1"))["Error"]["Code"]
            == "ResourceNotFoundException"
        )


def test_update_rules(raw_ts, aws_vpc):
    created = raw_ts.create_db_instance(**_params(aws_vpc, allocatedStorage=40))
    iid = created["id"]
    wait_for_db_instance(raw_ts, iid)
    # nothing to change, or only values it already has: rejected
    for change in (
        {},
        {"dbInstanceType": "db.influx.medium"},
        {"allocatedStorage": 40},
        {"port": 8086},
    ):
        resp = _error(
            lambda change=change: raw_ts.update_db_instance(identifier=iid, **change)
        )
        assert resp["Error"]["Code"] == "ValidationException", change
    # storage cannot shrink
    resp = _error(
        lambda: raw_ts.update_db_instance(identifier=iid, allocatedStorage=30)
    )
    assert (
        resp["Error"]["Code"] == "ValidationException"
        and "decreased" in resp["Error"]["Message"]
    )
    # reserved port, T3 under 400
    assert (
        _error(lambda: raw_ts.update_db_instance(identifier=iid, port=8090))["Error"][
            "Code"
        ]
        == "ValidationException"
    )
    resp = _error(
        lambda: raw_ts.update_db_instance(
            identifier=iid, dbStorageType="InfluxIOIncludedT3"
        )
    )
    assert resp["Error"]["Code"] == "ValidationException"
    # unknown parameter group
    resp = _error(
        lambda: raw_ts.update_db_instance(
            identifier=iid, dbParameterGroupIdentifier="nosuchgroup1"
        )
    )
    assert resp["Error"]["Code"] == "ResourceNotFoundException"
    # nothing above changed the instance
    inst = raw_ts.get_db_instance(identifier=iid)
    assert inst["status"] == "AVAILABLE" and inst["allocatedStorage"] == 40
    assert inst["dbStorageType"] == "InfluxIOIncludedT1"
    raw_ts.delete_db_instance(identifier=iid)


def test_log_delivery_bucket_must_exist(aws_sandbox, raw_ts, aws_vpc):
    log = {
        "s3Configuration": {
            "bucketName": f"logs-{uuid.uuid4().hex[:8]}",
            "enabled": True,
        }
    }
    resp = _error(
        lambda: raw_ts.create_db_instance(
            **_params(aws_vpc, logDeliveryConfiguration=log)
        )
    )
    assert resp["Error"]["Code"] == "ValidationException"
    aws_sandbox.client("s3").create_bucket(Bucket=log["s3Configuration"]["bucketName"])
    created = raw_ts.create_db_instance(
        **_params(aws_vpc, logDeliveryConfiguration=log)
    )
    assert created["logDeliveryConfiguration"] == log
    wait_for_db_instance(raw_ts, created["id"])
    raw_ts.delete_db_instance(identifier=created["id"])


def test_invalid_json_and_unknown_operation(aws_sandbox):
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    for target, body in (
        ("CreateDbInstance", b"{not json"),
        ("NoSuchOperation", b"{}"),
    ):
        req = AWSRequest(
            method="POST",
            url=aws_sandbox.endpoint + "/",
            data=body,
            headers={
                "X-Amz-Target": f"AmazonTimestreamInfluxDB.{target}",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        SigV4Auth(
            Credentials("testing", "testing"), "timestream-influxdb", "us-east-1"
        ).add_auth(req)
        http = urllib.request.Request(
            req.url, data=body, headers=dict(req.headers.items()), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(http, timeout=10)
        assert info.value.code == 400
        payload = info.value.read()
        assert (
            b"SerializationException"
            if target == "CreateDbInstance"
            else b"UnknownOperationException"
        ) in payload


def test_storage_type_changes_once_per_six_hours(raw_ts, aws_vpc):
    created = raw_ts.create_db_instance(**_params(aws_vpc, allocatedStorage=400))
    iid = created["id"]
    wait_for_db_instance(raw_ts, iid)
    updated = raw_ts.update_db_instance(
        identifier=iid, dbStorageType="InfluxIOIncludedT2"
    )
    assert (
        updated["status"] == "MODIFYING"
        and updated["dbStorageType"] == "InfluxIOIncludedT2"
    )
    wait_for_db_instance(raw_ts, iid)
    resp = _error(
        lambda: raw_ts.update_db_instance(
            identifier=iid, dbStorageType="InfluxIOIncludedT3"
        )
    )
    assert (
        resp["Error"]["Code"] == "ValidationException"
        and "6 hours" in resp["Error"]["Message"]
    )
    assert (
        raw_ts.get_db_instance(identifier=iid)["dbStorageType"] == "InfluxIOIncludedT2"
    )
    raw_ts.delete_db_instance(identifier=iid)
