"""Unit tests of plugins/module_utils/timestream_influxdb.py.

The botocore service model is the reference: enumerations, patterns and ranges are read from it
here, so a model change that the code does not follow makes these tests fail."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts

MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model

VALID = {
    "name": "ons-metrics",
    "password": "Abcdef123",
    "db_instance_type": "db.influx.medium",
    "allocated_storage": 20,
    "vpc_subnet_ids": ["subnet-0a1b2c", "subnet-0d4e5f"],
    "vpc_security_group_ids": ["sg-0123abc"],
    "publicly_accessible": False,
}


def request(**changes):
    params = dict(VALID)
    params.update(changes)
    return ts.instance_request_from_params(MODEL, params)


def instance(**changes):
    """A GetDbInstance description matching VALID."""
    data = {
        "id": "abc123def4",
        "name": "ons-metrics",
        "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-instance/abc123def4",
        "status": "AVAILABLE",
        "endpoint": "abc123def4.example",
        "port": 8086,
        "networkType": "IPV4",
        "dbInstanceType": "db.influx.medium",
        "dbStorageType": "InfluxIOIncludedT1",
        "allocatedStorage": 20,
        "deploymentType": "SINGLE_AZ",
        "vpcSubnetIds": ["subnet-0d4e5f", "subnet-0a1b2c"],
        "publiclyAccessible": False,
        "vpcSecurityGroupIds": ["sg-0123abc"],
        "availabilityZone": "us-east-1a",
        "influxAuthParametersSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
    }
    data.update(changes)
    return data


# ---------------------------------------------------------------------------------------------
# The model is the authority
# ---------------------------------------------------------------------------------------------
def test_option_map_covers_every_create_member():
    members = set(MODEL.operation_model("CreateDbInstance").input_shape.members)
    assert set(ts.INSTANCE_OPTION_TO_API.values()) == members - {"tags"}


def test_updatable_fields_are_exactly_the_update_members():
    members = set(MODEL.operation_model("UpdateDbInstance").input_shape.members) - {"identifier"}
    assert {ts.INSTANCE_OPTION_TO_API[o] for o in ts.UPDATABLE_FIELDS} == members


def test_every_create_option_is_either_updatable_immutable_or_the_password():
    options = set(ts.INSTANCE_OPTION_TO_API)
    assert set(ts.UPDATABLE_FIELDS) | set(ts.IMMUTABLE_FIELDS) | {"password"} == options
    assert not set(ts.UPDATABLE_FIELDS) & set(ts.IMMUTABLE_FIELDS)


def test_instance_statuses_cover_the_model_exactly_once():
    classified = (
        ts.INSTANCE_STATUS_READY + ts.INSTANCE_STATUS_TRANSITIONAL + ts.INSTANCE_STATUS_FAILED + ts.INSTANCE_STATUS_GONE
    )
    assert sorted(classified) == sorted(MODEL.shape_for("Status").enum)


def test_backup_statuses_cover_the_model_exactly_once():
    classified = ts.BACKUP_STATUS_READY + ts.BACKUP_STATUS_TRANSITIONAL + ts.BACKUP_STATUS_FAILED + ts.BACKUP_STATUS_GONE
    assert sorted(classified) == sorted(MODEL.shape_for("DbBackupStatus").enum)


def test_exclusive_groups_name_update_members():
    members = set(MODEL.operation_model("UpdateDbInstance").input_shape.members)
    for group in ts.EXCLUSIVE_UPDATE_GROUPS:
        assert set(group) <= members


# ---------------------------------------------------------------------------------------------
# Validation (before any call)
# ---------------------------------------------------------------------------------------------
def test_valid_request_is_in_api_form():
    req = request(
        log_delivery_configuration={"s3_configuration": {"bucket_name": "ons-logs", "enabled": True}},
        maintenance_schedule={"timezone": "Europe/London", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"},
        db_backup_configurations=[{"type": "DAILY", "retention_days": 7, "enabled": True, "custom_schedule": None}],
    )
    assert req["dbInstanceType"] == "db.influx.medium"
    assert req["logDeliveryConfiguration"] == {"s3Configuration": {"bucketName": "ons-logs", "enabled": True}}
    assert req["maintenanceSchedule"] == {"timezone": "Europe/London", "preferredMaintenanceWindow": "Sun:02:00-Sun:04:00"}
    assert req["dbBackupConfigurations"] == [{"type": "DAILY", "retentionDays": 7, "enabled": True}]
    assert "port" not in req  # not given: AWS decides


@pytest.mark.parametrize(
    "changes, option",
    [
        ({"name": "9starts-with-digit"}, "name"),
        ({"name": "ab"}, "name"),
        ({"name": "a" * 41}, "name"),
        ({"name": "double--hyphen"}, "name"),
        ({"password": "short1"}, "password"),
        ({"password": "has-symbols-123"}, "password"),
        ({"password": "x" * 65}, "password"),
        ({"bucket": "_internal"}, "bucket"),
        ({"organization": ""}, "organization"),
        ({"allocated_storage": 19}, "allocated_storage"),
        ({"allocated_storage": 15361}, "allocated_storage"),
        ({"vpc_subnet_ids": []}, "vpc_subnet_ids"),
        ({"vpc_subnet_ids": [f"subnet-{i}" for i in range(7)]}, "vpc_subnet_ids"),
        ({"vpc_subnet_ids": ["sub-123"]}, "vpc_subnet_ids[0]"),
        ({"vpc_security_group_ids": ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"]}, "vpc_security_group_ids"),
        ({"vpc_security_group_ids": ["group-1"]}, "vpc_security_group_ids[0]"),
        ({"port": 1023}, "port"),
        ({"port": 65536}, "port"),
        ({"db_instance_type": "db.influx.huge"}, "db_instance_type"),
        ({"kms_key_id": "alias with space"}, "kms_key_id"),
        ({"maintenance_schedule": {"timezone": "Mars/Olympus Mons", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"}},
         "maintenance_schedule.timezone"),
        ({"maintenance_schedule": {"timezone": "UTC", "preferred_maintenance_window": "Sunday 2am"}},
         "maintenance_schedule.preferred_maintenance_window"),
        ({"log_delivery_configuration": {"s3_configuration": {"bucket_name": "Bad_Bucket", "enabled": True}}},
         "log_delivery_configuration.s3_configuration.bucket_name"),
        ({"db_backup_configurations": [{"type": "DAILY", "retention_days": 0, "enabled": True}]},
         "db_backup_configurations[0].retention_days"),
        ({"db_backup_configurations": [{"type": "CUSTOM_SCHEDULE", "retention_days": 7, "enabled": True,
                                        "custom_schedule": "every day"}]},
         "db_backup_configurations[0].custom_schedule"),
        ({"db_backup_configurations": []}, "db_backup_configurations"),
        ({"db_parameter_group_identifier": "no_underscores"}, "db_parameter_group_identifier"),
    ],
)
def test_bad_input_names_the_option(changes, option):
    with pytest.raises(ts.ValidationError) as err:
        request(**changes)
    assert str(err.value).startswith(option + " ") or f" {option} " in f" {err.value}"


def test_password_is_never_echoed():
    with pytest.raises(ts.ValidationError) as err:
        request(password="Secret-With-Dash-99")
    assert "Secret-With-Dash-99" not in str(err.value)
    assert "password" in str(err.value)


def test_ranges_come_from_the_model():
    storage = MODEL.shape_for("AllocatedStorage").metadata
    request(allocated_storage=storage["min"])
    request(allocated_storage=storage["max"])
    for bad in (storage["min"] - 1, storage["max"] + 1):
        with pytest.raises(ts.ValidationError, match="allocated_storage must be between"):
            request(allocated_storage=bad)


@pytest.mark.parametrize("port", [2375, 2376, 7788, 7790, 7799, 8090, 51678, 51679, 51680])
def test_reserved_ports_fail(port):
    with pytest.raises(ts.ValidationError, match=f"port {port} is reserved"):
        request(port=port)


@pytest.mark.parametrize("port", [1024, 2374, 2377, 7787, 7800, 8086, 8089, 8091, 51677, 51681, 65535])
def test_ports_next_to_reserved_ranges_pass(port):
    assert request(port=port)["port"] == port


@pytest.mark.parametrize("storage_type", ["InfluxIOIncludedT2", "InfluxIOIncludedT3"])
def test_large_storage_types_need_400_gib(storage_type):
    with pytest.raises(ts.ValidationError, match="allocated_storage 399 is too small"):
        request(db_storage_type=storage_type, allocated_storage=399)
    assert request(db_storage_type=storage_type, allocated_storage=400)["allocatedStorage"] == 400


def test_parameter_group_by_name_or_id_is_accepted():
    assert request(db_parameter_group_identifier="ons-params")["dbParameterGroupIdentifier"] == "ons-params"
    assert request(db_parameter_group_identifier="abc123")["dbParameterGroupIdentifier"] == "abc123"
    resolved = ts.instance_request_from_params(MODEL, dict(VALID, db_parameter_group_identifier="ons-params"), "pg0123")
    assert resolved["dbParameterGroupIdentifier"] == "pg0123"


def test_create_needs_the_required_members():
    params = dict(VALID)
    del params["password"], params["vpc_subnet_ids"]
    req = ts.instance_request_from_params(MODEL, params)
    # organization and bucket: optional in the model, required by AWS for InfluxDB v2
    assert ts.missing_create_options(MODEL, req) == ["password", "vpc_subnet_ids", "organization", "bucket"]


def test_parameter_values_are_coerced_and_checked_against_the_model():
    shape = MODEL.operation_model("CreateDbParameterGroup").input_shape.members["parameters"].members["InfluxDBv2"]
    out = ts.coerce_to_shape(
        {
            "query_concurrency": "16",
            "flux_log_enabled": "yes",
            "log_level": "info",
            "http_idle_timeout": {"duration_type": "minutes", "value": 3},
        },
        shape,
        "parameters",
    )
    assert out == {
        "queryConcurrency": 16,
        "fluxLogEnabled": True,
        "logLevel": "info",
        "httpIdleTimeout": {"durationType": "minutes", "value": 3},
    }
    limit = shape.members["queryConcurrency"].metadata["max"]
    with pytest.raises(ts.ValidationError, match=f"parameters.query_concurrency must be between 0 and {limit}"):
        ts.coerce_to_shape({"query_concurrency": limit + 1}, shape, "parameters")
    with pytest.raises(ts.ValidationError, match="parameters.log_level must be one of debug, info, error"):
        ts.coerce_to_shape({"log_level": "trace"}, shape, "parameters")
    with pytest.raises(ts.ValidationError, match="parameters has unknown key"):
        ts.coerce_to_shape({"query_concurency": 1}, shape, "parameters")
    with pytest.raises(ts.ValidationError, match="parameters.http_idle_timeout is missing required key"):
        ts.coerce_to_shape({"http_idle_timeout": {"value": 3}}, shape, "parameters")
    with pytest.raises(ts.ValidationError, match="duration_type must be one of"):
        ts.coerce_to_shape({"http_idle_timeout": {"duration_type": "weeks", "value": 3}}, shape, "parameters")
    with pytest.raises(ts.ValidationError, match="must be an integer"):
        ts.coerce_to_shape({"query_concurrency": True}, shape, "parameters")


# ---------------------------------------------------------------------------------------------
# Compare and plan
# ---------------------------------------------------------------------------------------------
def test_same_configuration_compares_equal_whatever_the_order():
    updates, immutable = ts.compare_instance(instance(), request())
    assert updates == {} and immutable == {}


def test_password_is_never_compared():
    updates, immutable = ts.compare_instance(instance(), request(password="Different999"))
    assert updates == {} and immutable == {}


def test_fields_aws_does_not_report_are_not_compared():
    updates, immutable = ts.compare_instance(instance(), request(username="other", organization="o", bucket="bkt"))
    assert updates == {} and immutable == {}


def test_updatable_differences_only():
    desired = request(
        db_instance_type="db.influx.large",
        port=8087,
        allocated_storage=20,  # unchanged: must not be sent (AWS rejects unchanged values)
        maintenance_schedule={"timezone": "UTC", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"},
    )
    updates, immutable = ts.compare_instance(instance(), desired)
    assert immutable == {}
    assert updates == {
        "dbInstanceType": "db.influx.large",
        "port": 8087,
        "maintenanceSchedule": {"timezone": "UTC", "preferredMaintenanceWindow": "Sun:02:00-Sun:04:00"},
    }


def test_backup_configurations_compare_without_order_or_output_only_fields():
    current = instance(
        dbBackupConfigurations=[
            {"type": "WEEKLY", "retentionDays": 30, "enabled": True, "nextAutomatedBackupTime": datetime.datetime(2026, 1, 1)},
            {"type": "DAILY", "retentionDays": 7, "enabled": True},
        ]
    )
    desired = request(
        db_backup_configurations=[
            {"type": "DAILY", "retention_days": 7, "enabled": True},
            {"type": "WEEKLY", "retention_days": 30, "enabled": True},
        ]
    )
    assert ts.compare_instance(current, desired) == ({}, {})


def test_immutable_differences_are_listed_with_both_values():
    desired = request(vpc_security_group_ids=["sg-0999"], publicly_accessible=True, network_type="DUAL")
    updates, immutable = ts.compare_instance(instance(), desired)
    assert updates == {}
    assert immutable == {
        "vpc_security_group_ids": {"current": ["sg-0123abc"], "desired": ["sg-0999"]},
        "publicly_accessible": {"current": False, "desired": True},
        "network_type": {"current": "IPV4", "desired": "DUAL"},
    }
    text = ts.describe_immutable(immutable)
    assert "network_type (current: 'IPV4', wanted: 'DUAL')" in text
    assert "vpc_security_group_ids (current: ['sg-0123abc'], wanted: ['sg-0999'])" in text


def test_kms_key_arn_and_id_compare_equal():
    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    current = instance(kmsKeyId=arn)
    assert ts.compare_instance(current, request(kms_key_id="1234abcd-12ab-34cd-56ef-1234567890ab")) == ({}, {})
    assert ts.compare_instance(current, request(kms_key_id=arn)) == ({}, {})
    _updates, immutable = ts.compare_instance(current, request(kms_key_id="ffff"))
    assert immutable["kms_key_id"] == {"current": arn, "desired": "ffff"}
    assert ts.is_kms_alias("alias/ons") and ts.is_kms_alias("arn:aws:kms:us-east-1:123456789012:alias/ons")
    assert not ts.is_kms_alias(arn)


def test_storage_can_only_grow():
    with pytest.raises(ts.ValidationError, match="allocated_storage can only grow: the instance has 100 GiB, 50 GiB"):
        ts.check_updates(instance(allocatedStorage=100), {"allocatedStorage": 50})
    ts.check_updates(instance(allocatedStorage=100), {"allocatedStorage": 200})


def test_storage_type_change_checks_the_current_size():
    with pytest.raises(ts.ValidationError, match="too small for db_storage_type InfluxIOIncludedT2"):
        ts.check_updates(instance(allocatedStorage=100), {"dbStorageType": "InfluxIOIncludedT2"})
    ts.check_updates(instance(allocatedStorage=100), {"dbStorageType": "InfluxIOIncludedT2", "allocatedStorage": 400})


def test_plan_puts_configuration_in_one_call():
    updates = {"port": 8087, "dbParameterGroupIdentifier": "pg1", "maintenanceSchedule": {"timezone": "UTC"}}
    assert ts.plan_updates(updates) == [updates]


def test_plan_separates_the_exclusive_workflows_in_order():
    updates = {
        "allocatedStorage": 400,
        "dbStorageType": "InfluxIOIncludedT2",
        "dbInstanceType": "db.influx.large",
        "deploymentType": "WITH_MULTIAZ_STANDBY",
        "port": 8087,
    }
    assert ts.plan_updates(updates) == [
        {"port": 8087},
        {"deploymentType": "WITH_MULTIAZ_STANDBY"},
        {"dbInstanceType": "db.influx.large"},
        {"dbStorageType": "InfluxIOIncludedT2", "allocatedStorage": 400},
    ]
    assert ts.plan_updates({}) == []
    assert ts.plan_updates({"allocatedStorage": 40}) == [{"allocatedStorage": 40}]


def test_tags_plan():
    assert ts.plan_tags({"a": "1"}, None, True) == ({}, [])
    assert ts.plan_tags({"a": "1", "b": "2", "aws:x": "y"}, {"a": "1", "c": 3}, True) == ({"c": "3"}, ["b"])
    assert ts.plan_tags({"a": "1", "b": "2"}, {"a": "9"}, False) == ({"a": "9"}, [])
    assert ts.predicted_tags({"a": "1", "b": "2"}, {"c": "3"}, ["b"]) == {"a": "1", "c": "3"}


def test_diff_never_contains_the_password():
    before, after = ts.diff_fields(instance(), request(port=8087))
    assert "password" not in before and "password" not in after
    assert before["port"] == 8086 and after["port"] == 8087
    assert before["vpc_subnet_ids"] == ["subnet-0d4e5f", "subnet-0a1b2c"]


def test_resource_to_ansible_keeps_tag_keys_and_the_engine_key():
    raw = instance(
        lastMaintenanceTime=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        logDeliveryConfiguration={"s3Configuration": {"bucketName": "b", "enabled": True}},
        ResponseMetadata={"HTTPStatusCode": 200},
        password="leak",
    )
    out = ts.resource_to_ansible(raw, {"Team": "ONS"})
    assert "response_metadata" not in out and "password" not in out
    assert out["last_maintenance_time"] == "2026-01-02T03:04:05+00:00"
    assert out["log_delivery_configuration"] == {"s3_configuration": {"bucket_name": "b", "enabled": True}}
    assert out["influx_auth_parameters_secret_arn"].startswith("arn:aws:secretsmanager")
    assert out["tags"] == {"Team": "ONS"}
    group = ts.resource_to_ansible({"id": "x", "parameters": {"InfluxDBv2": {"queryConcurrency": 4}}})
    assert group["parameters"] == {"InfluxDBv2": {"query_concurrency": 4}}


def test_match_parameter_group_prefers_ids():
    groups = [{"id": "abc", "name": "zzz"}, {"id": "zzz", "name": "other"}]
    assert ts.match_parameter_group(groups, "zzz")["id"] == "zzz"
    assert ts.match_parameter_group(groups, "other")["id"] == "zzz"
    assert ts.match_parameter_group(groups, "nope") is None


# ---------------------------------------------------------------------------------------------
# Waiters, driven by botocore's Stubber (real botocore waiter machinery, stubbed responses)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def stubbed():
    client = boto3.client(
        "timestream-influxdb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stubber:
        # The modules call through amazon.aws's retrying wrapper (aws_retry=True); so do the tests.
        yield RetryingBotoClientWrapper(client, ts.retry_decorator()), stubber
        stubber.assert_no_pending_responses()


def _get(status):
    return instance(status=status)


def test_waiter_follows_transitional_statuses_to_available(stubbed):
    client, stubber = stubbed
    stubber.add_response("get_db_instance", _get("CREATING"), {"identifier": "abc123def4"})
    stubber.add_client_error("get_db_instance", "ThrottlingException", http_status_code=400)
    for status in ("UPDATING_INSTANCE_TYPE", "MAINTENANCE", "AVAILABLE"):
        stubber.add_response("get_db_instance", _get(status), {"identifier": "abc123def4"})
    # The final GET after success returns the fresh description.
    stubber.add_response("get_db_instance", _get("AVAILABLE"), {"identifier": "abc123def4"})
    stubbed_client = RetryingBotoClientWrapper(client, ts.retry_decorator())
    result = ts.wait_for(stubbed_client, "db_instance_available", "abc123def4", timeout=10, delay=0)
    assert result["status"] == "AVAILABLE"


@pytest.mark.parametrize("status", ["FAILED", "REBOOT_FAILED", "RESTORE_FAILED", "DELETING"])
def test_waiter_fails_at_once_naming_the_status(stubbed, status):
    client, stubber = stubbed
    stubber.add_response("get_db_instance", _get("REBOOTING"))
    stubber.add_response("get_db_instance", _get(status))
    with pytest.raises(ts.TimestreamInfluxDBError) as err:
        ts.wait_for(client, "db_instance_available", "abc123def4", timeout=3600, delay=0)
    assert f"reached status {status}" in err.value.message


def test_waiter_retries_throttling(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("get_db_instance", "ThrottlingException", http_status_code=400)
    stubber.add_response("get_db_instance", _get("AVAILABLE"))
    stubber.add_response("get_db_instance", _get("AVAILABLE"))
    assert ts.wait_for(client, "db_instance_available", "abc123def4", timeout=10, delay=0)["status"] == "AVAILABLE"


def test_waiter_times_out_with_the_last_status(stubbed):
    client, stubber = stubbed
    for _attempt in range(3):
        stubber.add_response("get_db_instance", _get("CREATING"))
    with pytest.raises(ts.TimestreamInfluxDBError, match=r"Timed out after 3 seconds waiting for instance abc123def4 to be AVAILABLE \(last status CREATING\)"):
        ts.wait_for(client, "db_instance_available", "abc123def4", timeout=3, delay=0)


def test_deleted_waiter_succeeds_when_the_instance_is_gone(stubbed):
    client, stubber = stubbed
    stubber.add_response("get_db_instance", _get("DELETING"))
    stubber.add_client_error("get_db_instance", "ResourceNotFoundException", http_status_code=404)
    assert ts.wait_for(client, "db_instance_deleted", "abc123def4", timeout=10, delay=0) is None


def test_backup_waiter(stubbed):
    client, stubber = stubbed
    backup = {"id": "bk1", "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-backup/bk1"}
    stubber.add_response("get_db_backup", dict(backup, status="IN_PROGRESS"))
    stubber.add_response("get_db_backup", dict(backup, status="FAILED"))
    with pytest.raises(ts.TimestreamInfluxDBError, match="backup bk1 reached status FAILED"):
        ts.wait_for(client, "db_backup_completed", "bk1", timeout=10, delay=0)


def test_waiters_are_built_on_amazon_aws_base_waiter_factory():
    from ansible_collections.amazon.aws.plugins.module_utils import waiters as aws_waiters
    from ansible_collections.amazon.aws.plugins.module_utils.waiter import BaseWaiterFactory

    assert issubclass(ts.TimestreamInfluxDBWaiterFactory, BaseWaiterFactory)
    assert set(ts.TimestreamInfluxDBWaiterFactory()._model.waiter_names) == set(ts.WAITERS)
    # nothing is written into amazon.aws's module-global registry any more
    assert not [key for key in aws_waiters.waiters_by_name if key[0] == "TimestreamInfluxDB"]


# ---------------------------------------------------------------------------------------------
# Finding things
# ---------------------------------------------------------------------------------------------
def test_find_by_name_pages_through_list_db_instances(stubbed):
    client, stubber = stubbed
    summary = {k: instance()[k] for k in ("id", "name", "arn", "status")}
    stubber.add_response("list_db_instances", {"items": [dict(summary, id="other1", name="other")], "nextToken": "t1"})
    stubber.add_response("list_db_instances", {"items": [summary]}, {"nextToken": "t1"})
    stubber.add_response("get_db_instance", instance(), {"identifier": "abc123def4"})
    assert ts.find_db_instance(client, name="ons-metrics")["id"] == "abc123def4"


def test_find_by_name_returns_none_when_absent(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_db_instances", {"items": []})
    assert ts.find_db_instance(client, name="ons-metrics") is None


def test_errors_name_the_operation(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("update_db_instance", "ValidationException", "No changes", http_status_code=400)
    with pytest.raises(ts.TimestreamInfluxDBError, match=r"UpdateDbInstance"):
        ts.update_db_instance(client, "abc123def4", {"port": 8087})


# ---------------------------------------------------------------------------------------------
# Review findings
# ---------------------------------------------------------------------------------------------
def test_create_only_field_missing_from_the_description_is_unset():
    """An instance created without a KMS key has no kmsKeyId: asking for one is an immutable change."""
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    updates, immutable = ts.compare_instance(instance(), request(kms_key_id=key))
    assert updates == {}
    assert immutable == {"kms_key_id": {"current": None, "desired": key}}
    without_groups = {k: v for k, v in instance().items() if k != "vpcSecurityGroupIds"}
    assert "vpc_security_group_ids" in ts.compare_instance(without_groups, request())[1]


def test_only_the_auth_secret_fields_are_skipped_when_missing():
    # username, organization and bucket live in the auth secret, not in GetDbInstance
    assert ts.compare_instance(instance(), request(username="u1", organization="o", bucket="bkt")) == ({}, {})
    assert set(ts.AUTH_SECRET_FIELDS) < set(ts.IMMUTABLE_FIELDS)


def test_missing_fields_with_an_aws_default_compare_with_it():
    bare = {k: v for k, v in instance().items() if k not in ("publiclyAccessible", "networkType")}
    assert ts.compare_instance(bare, request(publicly_accessible=False, network_type="IPV4")) == ({}, {})
    immutable = ts.compare_instance(bare, request(publicly_accessible=True, network_type="DUAL"))[1]
    assert immutable == {
        "publicly_accessible": {"current": False, "desired": True},
        "network_type": {"current": "IPV4", "desired": "DUAL"},
    }
    # only members that are optional in GetDbInstance's output may be defaulted
    output = MODEL.operation_model("GetDbInstance").output_shape
    assert set(ts.IMMUTABLE_API_DEFAULTS) <= set(output.members) - set(output.required_members)


@pytest.mark.parametrize("status", ["FAILED", "REBOOT_FAILED", "RESTORE_FAILED"])
def test_deleted_waiter_polls_on_through_failed_statuses(stubbed, status):
    client, stubber = stubbed
    stubber.add_response("get_db_instance", _get(status))
    stubber.add_response("get_db_instance", _get("DELETING"))
    stubber.add_client_error("get_db_instance", "ResourceNotFoundException", http_status_code=404)
    assert ts.wait_for(client, "db_instance_deleted", "abc123def4", timeout=10, delay=0) is None


def test_backup_deleted_waiter_polls_on_through_failed(stubbed):
    client, stubber = stubbed
    backup = {"id": "bk1", "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-backup/bk1"}
    stubber.add_response("get_db_backup", dict(backup, status="FAILED"))
    stubber.add_client_error("get_db_backup", "ResourceNotFoundException", http_status_code=404)
    assert ts.wait_for(client, "db_backup_deleted", "bk1", timeout=10, delay=0) is None


def test_deleted_waiters_never_fail_on_a_status():
    """Every status of the model either ends a deletion wait successfully or is polled on."""
    for name, statuses in (("db_instance_deleted", "Status"), ("db_backup_deleted", "DbBackupStatus")):
        acceptors = ts.WAITERS[name].model["acceptors"]
        assert not [a for a in acceptors if a["state"] == "failure"]
        path_states = {a["expected"]: a["state"] for a in acceptors if a["matcher"] == "path"}
        assert set(path_states) == set(MODEL.shape_for(statuses).enum)


@pytest.mark.parametrize(
    "operation, value",
    [("GetDbInstance", "bad_id!"), ("GetDbInstance", "ab"), ("GetDbBackup", "x" * 65), ("GetDbBackup", "with space")],
)
def test_bad_ids_fail_naming_the_option(operation, value):
    with pytest.raises(ts.ValidationError) as err:
        ts.validate_identifier(MODEL, value, operation)
    assert str(err.value).startswith("id ")
    assert "identifier" not in str(err.value)


def test_good_and_missing_ids_pass():
    assert ts.validate_identifier(MODEL, "abc123def4", "GetDbInstance") == "abc123def4"
    assert ts.validate_identifier(MODEL, None, "GetDbBackup") is None


def test_delete_sends_retain_automated_backups_only_when_given(stubbed):
    client, stubber = stubbed
    stubber.add_response("delete_db_instance", _get("DELETING"), {"identifier": "abc123def4", "retainAutomatedBackups": True})
    stubber.add_response("delete_db_instance", _get("DELETING"), {"identifier": "abc123def4"})
    assert ts.delete_db_instance(client, "abc123def4", True)["status"] == "DELETING"
    assert ts.delete_db_instance(client, "abc123def4")["status"] == "DELETING"


def test_shared_argument_specs_match_the_model():
    """log_delivery_configuration and maintenance_schedule: every model member is an option and
    the model's required members are required options."""
    shape = MODEL.operation_model("CreateDbInstance").input_shape
    for spec, member in ((ts.log_delivery_configuration_spec(), "logDeliveryConfiguration"),
                         (ts.maintenance_schedule_spec(), "maintenanceSchedule")):
        _assert_spec_matches(spec, shape.members[member])
    assert ts.log_delivery_configuration_spec() is not ts.log_delivery_configuration_spec()  # fresh copies


def _assert_spec_matches(spec, shape):
    options = spec["options"]
    assert set(options) == {ts.camel_to_snake(m) for m in shape.members}
    for member, member_shape in shape.members.items():
        option = options[ts.camel_to_snake(member)]
        assert bool(option.get("required")) == (member in shape.required_members), member
        if member_shape.type_name == "structure":
            _assert_spec_matches(option, member_shape)
