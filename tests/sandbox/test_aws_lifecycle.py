"""Timestream for InfluxDB instance lifecycle in the sandbox: every transition, by time."""

from __future__ import annotations

import json
import uuid

import pytest

from sandbox.client import wait_for, wait_for_db_instance

pytestmark = pytest.mark.sandbox


def _name(prefix: str = "db") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _create(ts, vpc, **overrides):
    params = {
        "name": _name(),
        "password": "Passw0rdPassw0rd",
        "dbInstanceType": "db.influx.medium",
        "vpcSubnetIds": vpc.subnet_ids,
        "vpcSecurityGroupIds": [vpc.security_group_id],
        "allocatedStorage": 20,
        "organization": "ons",
        "bucket": "metrics",
    }
    params.update(overrides)
    return ts.create_db_instance(**params)


def _seen_statuses(ts, identifier, until, timeout=30.0):
    """Poll until ``until`` status; return the distinct statuses seen, in order."""
    seen: list[str] = []

    def poll():
        status = ts.get_db_instance(identifier=identifier)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        return status == until

    wait_for(poll, timeout, interval=0.02, what=f"{identifier} -> {until}")
    return seen


def test_create_becomes_available_with_defaults_and_endpoint(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    created = _create(ts, aws_vpc)
    assert created["status"] == "CREATING"
    assert "endpoint" not in created
    got = ts.get_db_instance(identifier=created["id"])
    assert got["status"] == "CREATING" and "endpoint" not in got
    inst = wait_for_db_instance(ts, created["id"])
    assert inst["endpoint"] and isinstance(inst["port"], int)
    assert inst["dbStorageType"] == "InfluxIOIncludedT1"
    assert inst["deploymentType"] == "SINGLE_AZ"
    assert inst["networkType"] == "IPV4"
    assert inst["publiclyAccessible"] is False
    assert inst["availabilityZone"] == aws_vpc.availability_zones[0]
    assert "secondaryAvailabilityZone" not in inst
    assert (
        inst["arn"]
        == f"arn:aws:timestream-influxdb:us-east-1:123456789012:db-instance/{created['id']}"
    )
    ts.delete_db_instance(identifier=created["id"])


def test_auth_secret_holds_the_onboarding_parameters(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    created = _create(ts, aws_vpc, username="operator", password="Secret12345")
    arn = created["influxAuthParametersSecretArn"]
    sm = aws_sandbox.client("secretsmanager")
    secret = sm.describe_secret(SecretId=arn)
    assert secret["Name"] == f"READONLY-InfluxDB-auth-parameters-{created['id']}"
    value = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert value == {
        "username": "operator",
        "password": "Secret12345",
        "organization": "ons",
        "bucket": "metrics",
    }
    wait_for_db_instance(ts, created["id"])
    ts.delete_db_instance(identifier=created["id"])
    wait_for_db_instance(ts, created["id"], "DELETED")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=arn)


def test_multi_az_standby_uses_second_subnet_zone(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    created = _create(ts, aws_vpc, deploymentType="WITH_MULTIAZ_STANDBY")
    assert created["availabilityZone"] == aws_vpc.availability_zones[0]
    assert created["secondaryAvailabilityZone"] == aws_vpc.availability_zones[1]
    wait_for_db_instance(ts, created["id"])
    ts.delete_db_instance(identifier=created["id"])


@pytest.mark.parametrize(
    ("change", "transient"),
    [
        ({"dbInstanceType": "db.influx.large"}, "UPDATING_INSTANCE_TYPE"),
        ({"deploymentType": "WITH_MULTIAZ_STANDBY"}, "UPDATING_DEPLOYMENT_TYPE"),
        ({"allocatedStorage": 40}, "MODIFYING"),
        ({"port": 8087}, "UPDATING"),
    ],
)
def test_update_transitions(aws_sandbox, aws_vpc, change, transient):
    ts = aws_sandbox.client("timestream-influxdb")
    created = _create(ts, aws_vpc)
    wait_for_db_instance(ts, created["id"])
    updated = ts.update_db_instance(identifier=created["id"], **change)
    assert updated["status"] == transient
    for key, value in change.items():
        if key != "port":
            assert updated[key] == value
    seen = _seen_statuses(ts, created["id"], "AVAILABLE")
    assert seen[0] == transient and seen[-1] == "AVAILABLE"
    # while it changes, it refuses other changes; now it accepts them again
    ts.reboot_db_instance(identifier=created["id"])
    wait_for_db_instance(ts, created["id"])
    ts.delete_db_instance(identifier=created["id"])


def test_reboot_and_delete_transitions(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    created = _create(ts, aws_vpc)
    wait_for_db_instance(ts, created["id"])
    assert ts.reboot_db_instance(identifier=created["id"])["status"] == "REBOOTING"
    assert _seen_statuses(ts, created["id"], "AVAILABLE") == ["REBOOTING", "AVAILABLE"]
    assert ts.delete_db_instance(identifier=created["id"])["status"] == "DELETING"
    assert ts.get_db_instance(identifier=created["id"])["status"] == "DELETING"
    wait_for_db_instance(ts, created["id"], "DELETED")
    ids = [i["id"] for i in ts.list_db_instances()["items"]]
    assert created["id"] not in ids


def test_busy_instance_refuses_changes_with_conflict(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    created = _create(ts, aws_vpc)
    for call in (
        lambda: ts.update_db_instance(
            identifier=created["id"], dbInstanceType="db.influx.large"
        ),
        lambda: ts.reboot_db_instance(identifier=created["id"]),
        lambda: ts.delete_db_instance(identifier=created["id"]),
    ):
        with pytest.raises(ts.exceptions.ConflictException):
            call()
    wait_for_db_instance(ts, created["id"])
    ts.delete_db_instance(identifier=created["id"])
    with pytest.raises(ts.exceptions.ConflictException):
        ts.delete_db_instance(identifier=created["id"])
