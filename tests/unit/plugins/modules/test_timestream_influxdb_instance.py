"""timestream_influxdb_instance: desired state -> plan (pure), and ensure_present/ensure_absent against
botocore's Stubber (no AWS)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_instance as mod

MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model

PARAMS = {
    "name": "ons-metrics",
    "password": "Abcdef123",
    "organization": "ons",
    "bucket": "telemetry",
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
    return mod.desired_state(MODEL, dict(PARAMS, **changes))


def test_create_plan_carries_tags_and_hides_the_password():
    plan = mod.plan_present(None, desired(), {}, {"Team": "ONS"}, True, model=MODEL)
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
    with pytest.raises(ValidationError, match="creating one would need option\\(s\\): password, db_instance_type"):
        mod.plan_present(None, mod.desired_state(MODEL, params), {}, None, True, model=MODEL)


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
    # The description has no kmsKeyId: the instance was created without one, so asking for one
    # is a change creation alone can make (review finding 1).
    assert "kms_key_id (current: None, wanted: 'key1')" in message


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


# ---------------------------------------------------------------------------------------------
# ensure_present / ensure_absent against botocore's Stubber (real client, stubbed responses):
# the review findings on waiting, deleting and check mode.
# ---------------------------------------------------------------------------------------------
MODULE_PARAMS = dict(
    {option: None for option in ts.INSTANCE_OPTION_TO_API},
    id=None,
    state="present",
    tags=None,
    purge_tags=True,
    wait=True,
    wait_timeout=60,
    retain_automated_backups=None,
)
TAGS_ARN = {"resourceArn": CURRENT["arn"]}
ID = {"identifier": CURRENT["id"]}


class FakeModule:
    """The part of AnsibleAWSModule the ensure_* functions use."""

    def __init__(self, check_mode=False, **params):
        self.params = dict(MODULE_PARAMS, **PARAMS)
        self.params.update(params)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def client(self, *_args, **_kwargs):
        raise AssertionError("no other AWS client is expected here")


@pytest.fixture
def stubbed():
    client = boto3.client("timestream-influxdb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, ts.retry_decorator()), stubber
        stubber.assert_no_pending_responses()


def test_wait_waits_when_nothing_changes(stubbed):
    """A rerun with wait=true of an instance a wait=false run left CREATING returns it AVAILABLE."""
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("get_db_instance", dict(CURRENT, status="CREATING"), ID)  # the waiter polls on
    stubber.add_response("get_db_instance", dict(CURRENT, status="AVAILABLE"), ID)
    stubber.add_response("get_db_instance", dict(CURRENT, status="AVAILABLE"), ID)  # the final description
    # the tags were read once, before the wait: not again
    module = FakeModule()
    # the first poll is at once and the next after a second: the stubbed CREATING answer costs one second
    result = mod.ensure_present(module, client, dict(CURRENT, status="CREATING"), desired())
    assert result["changed"] is False
    assert result["instance"]["status"] == "AVAILABLE"


def test_no_wait_returns_at_once(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)  # once
    result = mod.ensure_present(FakeModule(wait=False), client, dict(CURRENT, status="CREATING"), desired())
    assert result["changed"] is False and result["instance"]["status"] == "CREATING"


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_on_an_instance_being_deleted_is_no_change(stubbed, check_mode):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {"Team": "ONS"}}, TAGS_ARN)
    # no DeleteDbInstance: the Stubber fails on any call not queued here
    result = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", wait=False), client,
                               dict(CURRENT, status="DELETING"))
    assert result["changed"] is False
    assert result["instance"]["status"] == "DELETING"
    assert result["diff"] == {"before": {}, "after": {}}


def test_absent_on_an_instance_being_deleted_still_waits(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_client_error("get_db_instance", "ResourceNotFoundException", http_status_code=404, expected_params=ID)
    result = mod.ensure_absent(FakeModule(state="absent"), client, dict(CURRENT, status="DELETING"))
    assert result["changed"] is False and result["instance"] == {}


@pytest.mark.parametrize("retain", [True, False])
def test_deleting_a_failed_instance_waits_through_its_failed_status(stubbed, retain):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("list_db_backups", {"items": []}, {"dbResourceId": CURRENT["id"]})
    stubber.add_response(
        "delete_db_instance",
        dict(CURRENT, status="FAILED"),
        dict(ID, retainAutomatedBackups=retain),
    )
    stubber.add_response("get_db_instance", dict(CURRENT, status="FAILED"), ID)  # still FAILED: poll on
    stubber.add_client_error("get_db_instance", "ResourceNotFoundException", http_status_code=404, expected_params=ID)
    module = FakeModule(state="absent", retain_automated_backups=retain)
    result = mod.ensure_absent(module, client, dict(CURRENT, status="FAILED"))
    assert result["changed"] is True and result["instance"] == {}


def test_retain_automated_backups_is_not_sent_unless_given(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("list_db_backups", {"items": []}, {"dbResourceId": CURRENT["id"]})
    stubber.add_response("delete_db_instance", dict(CURRENT, status="DELETING"), ID)
    result = mod.ensure_absent(FakeModule(state="absent", wait=False), client, dict(CURRENT))
    assert result["changed"] is True and result["instance"]["status"] == "DELETING"


def test_check_mode_predicts_with_a_parameter_group_not_created_yet(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_db_parameter_groups", {"items": []})
    module = FakeModule(check_mode=True)
    assert mod.resolve_parameter_group(module, client, "ons-params-new") == "ons-params-new"
    assert len(module.warnings) == 1 and "ons-params-new" in module.warnings[0]


def test_outside_check_mode_a_missing_parameter_group_fails(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_db_parameter_groups", {"items": []})
    with pytest.raises(ValidationError, match="no DB parameter group has this name or id"):
        mod.resolve_parameter_group(FakeModule(), client, "ons-params-new")
