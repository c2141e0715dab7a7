"""desired state -> plan for timestream_influxdb_instance (pure functions; no AWS)."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_instance as mod

PARAMS = {
    "name": "ons-metrics",
    "password": "Abcdef123",
    "db_instance_type": "db.influx.medium",
    "allocated_storage": 20,
    "vpc_subnet_ids": ["subnet-0a1b2c", "subnet-0d4e5f"],
    "vpc_security_group_ids": ["sg-0123abc"],
    "publicly_accessible": False,
}
CURRENT = {
    "id": "abc123def4",
    "name": "ons-metrics",
    "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-instance/abc123def4",
    "status": "AVAILABLE",
    "port": 8086,
    "networkType": "IPV4",
    "dbInstanceType": "db.influx.medium",
    "dbStorageType": "InfluxIOIncludedT1",
    "allocatedStorage": 20,
    "deploymentType": "SINGLE_AZ",
    "vpcSubnetIds": ["subnet-0a1b2c", "subnet-0d4e5f"],
    "publiclyAccessible": False,
    "vpcSecurityGroupIds": ["sg-0123abc"],
}


def desired(**changes):
    return mod.desired_state(dict(PARAMS, **changes))


def test_create_plan_carries_tags_and_hides_the_password():
    plan = mod.plan_present(None, desired(), {}, {"Team": "ONS"}, True)
    assert plan["action"] == "create"
    assert plan["create_request"]["password"] == "Abcdef123"
    assert plan["create_request"]["tags"] == {"Team": "ONS"}
    assert "password" not in plan["predicted"]
    assert plan["predicted"]["status"] == "CREATING"
    assert "password" not in plan["diff"]["after"]
    assert plan["diff"]["before"] == {}
    assert plan["diff"]["after"]["tags"] == {"Team": "ONS"}


def test_create_without_required_options_names_them():
    params = dict(PARAMS)
    del params["password"], params["db_instance_type"]
    with pytest.raises(ValidationError, match="creating an instance needs option\\(s\\): password, db_instance_type"):
        mod.plan_present(None, mod.desired_state(params), {}, None, True)


def test_no_change_plan():
    plan = mod.plan_present(dict(CURRENT), desired(), {"Team": "ONS"}, {"Team": "ONS"}, True)
    assert plan["action"] == "none"
    assert plan["update_calls"] == []
    assert plan["diff"]["before"] == plan["diff"]["after"]


def test_update_plan_sends_only_differences_and_predicts_the_result():
    plan = mod.plan_present(
        dict(CURRENT),
        desired(db_instance_type="db.influx.large", port=8087, allocated_storage=20),
        {"Team": "ONS", "Old": "x"},
        {"Team": "ONS", "New": "y"},
        True,
    )
    assert plan["action"] == "update"
    assert plan["update_calls"] == [{"port": 8087}, {"dbInstanceType": "db.influx.large"}]
    assert plan["tags_to_set"] == {"New": "y"} and plan["tags_to_unset"] == ["Old"]
    assert plan["predicted"]["dbInstanceType"] == "db.influx.large" and plan["predicted"]["port"] == 8087
    assert plan["predicted_tags"] == {"Team": "ONS", "New": "y"}
    assert plan["diff"]["before"]["db_instance_type"] == "db.influx.medium"
    assert plan["diff"]["after"]["db_instance_type"] == "db.influx.large"
    assert plan["diff"]["before"]["tags"] == {"Team": "ONS", "Old": "x"}


def test_tags_only_change_is_an_update_without_calls():
    plan = mod.plan_present(dict(CURRENT), desired(), {}, {"Team": "ONS"}, True)
    assert plan["action"] == "update" and plan["update_calls"] == []


def test_immutable_change_fails_with_current_and_wanted_values():
    with pytest.raises(ValidationError) as err:
        mod.plan_present(dict(CURRENT), desired(vpc_subnet_ids=["subnet-0ffff"], kms_key_id="key1"), {}, None, True)
    message = str(err.value)
    assert "vpc_subnet_ids (current: ['subnet-0a1b2c', 'subnet-0d4e5f'], wanted: ['subnet-0ffff'])" in message
    assert "never deletes a database" in message
    # kms_key_id is not reported by this description, so nothing can be said about it
    assert "kms_key_id" not in message


def test_storage_decrease_fails_before_any_call():
    with pytest.raises(ValidationError, match="allocated_storage can only grow"):
        mod.plan_present(dict(CURRENT, allocatedStorage=100), desired(allocated_storage=50), {}, None, True)


def test_auth_parameters_from_the_secret_are_compared_but_not_predicted():
    auth = {"username": "admin", "organization": "ons", "bucket": "telemetry"}
    same = mod.plan_present(dict(CURRENT), desired(username="admin", organization="ons"), {}, None, True, auth)
    assert same["action"] == "none"
    assert "organization" not in same["predicted"]
    with pytest.raises(ValidationError, match="organization \\(current: 'ons', wanted: 'other'\\)"):
        mod.plan_present(dict(CURRENT), desired(organization="other"), {}, None, True, auth)
