"""timestream_influxdb_backup: validation before any call (pure; no AWS)."""

from __future__ import annotations

import boto3
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_backup as mod

MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model

BASE = {
    "state": "present",
    "name": "before-migration",
    "id": None,
    "instance": "ons-metrics",
    "retention_days": 30,
    "tags": None,
}


def params(**changes):
    out = {option: None for option in mod.RESTORE_OPTIONS}
    out.update(BASE)
    out.update(changes)
    return out


def test_valid_backup_and_restore():
    mod.validate_params(MODEL, params())
    request = mod.restore_request(MODEL, params(state="restored", restore_name="ons-restored", port=8087), "bk0123")
    assert request == {"name": "ons-restored", "port": 8087, "dbBackupId": "bk0123", "restoreMode": "NEW_RESOURCE"}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"retention_days": 0}, "retention_days must be between 1 and 3650"),
        ({"retention_days": 3651}, "retention_days must be between 1 and 3650"),
        ({"name": "bad_name"}, "name must be letters, digits and single hyphens"),
        ({"state": "restored", "restore_name": "ok-name", "port": 8090}, "port 8090 is reserved"),
        ({"state": "restored", "restore_name": "ok-name", "vpc_subnet_ids": ["nope"]}, "vpc_subnet_ids[0] must be subnet- followed by"),
        ({"state": "restored", "restore_name": "-bad"}, "restore_name must be letters, digits and single hyphens"),
    ],
)
def test_bad_input_fails_naming_the_option(changes, message):
    with pytest.raises(ValidationError) as err:
        mod.validate_params(MODEL, params(**changes))
    assert message in str(err.value)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"name": "b", "state": "present"}, "state is present but all of the following are missing: instance"),
        ({"name": "b", "state": "restored"}, "state is restored but all of the following are missing: restore_name"),
    ],
)
def test_options_a_state_needs_are_required_by_the_argument_spec(params, message):
    result = ArgumentSpecValidator(mod.argument_spec(), required_if=mod.REQUIRED_IF).validate(params)
    assert message in result.error_messages


@pytest.mark.parametrize("state", ["present", "absent", "restored"])
def test_a_bad_id_fails_naming_id(state):
    with pytest.raises(ValidationError) as err:
        mod.validate_params(MODEL, params(state=state, id="not_an-id!", restore_name="ok-name"))
    assert str(err.value).startswith("id must be letters and digits only")


class CheckModeModule:
    def __init__(self, check_mode, **changes):
        self.params = dict(params(**changes), purge_tags=True, wait=True, wait_timeout=60)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


class NoCalls:
    """A client that only has its service model: any AWS call fails the test."""

    meta = type("Meta", (), {"service_model": MODEL})

    def __getattr__(self, name):
        raise AssertionError(f"unexpected AWS call {name}")


def test_check_mode_predicts_a_backup_of_an_instance_not_created_yet():
    module = CheckModeModule(True, tags={"Purpose": "test"})
    result = mod.ensure_present(module, NoCalls(), None, None)
    assert result["changed"] is True
    assert result["backup"]["name"] == "before-migration" and result["backup"]["status"] == "IN_PROGRESS"
    assert result["backup"]["tags"] == {"Purpose": "test"}
    assert len(module.warnings) == 1 and "'ons-metrics'" in module.warnings[0]


def test_outside_check_mode_a_missing_instance_fails():
    with pytest.raises(ValidationError, match="instance 'ons-metrics': no Timestream for InfluxDB instance"):
        mod.ensure_present(CheckModeModule(False), NoCalls(), None, None)


BACKUP = {
    "id": "bk0123",
    "name": "before-migration",
    "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-backup/bk0123",
    "dbResourceId": "abc123def4",
    "type": "ON_DEMAND",
}


@pytest.fixture
def stubbed():
    import boto3
    from botocore.stub import Stubber

    from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts

    client = boto3.client("timestream-influxdb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, ts.retry_decorator()), stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_on_a_backup_being_deleted_is_no_change(stubbed, check_mode):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, {"resourceArn": BACKUP["arn"]})
    module = CheckModeModule(check_mode, state="absent")
    module.params["wait"] = False
    result = mod.ensure_absent(module, client, dict(BACKUP, status="DELETING"))
    assert result["changed"] is False and result["backup"]["status"] == "DELETING"


def test_absent_on_a_backup_being_deleted_waits(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, {"resourceArn": BACKUP["arn"]})
    stubber.add_client_error("get_db_backup", "ResourceNotFoundException", http_status_code=404,
                             expected_params={"identifier": "bk0123"})
    result = mod.ensure_absent(CheckModeModule(False, state="absent"), client, dict(BACKUP, status="DELETING"))
    assert result["changed"] is False and result["backup"] == {}


def test_absent_finds_a_backup_being_deleted(stubbed):
    client, stubber = stubbed
    summary = {k: BACKUP[k] for k in ("id", "name", "arn", "dbResourceId")}
    stubber.add_response("list_db_backups", {"items": [dict(summary, status="DELETING")]})
    stubber.add_response("get_db_backup", dict(BACKUP, status="DELETING"), {"identifier": "bk0123"})
    stubber.add_response("list_db_backups", {"items": [dict(summary, status="DELETING")]})
    found = mod.find_db_backup(client, name="before-migration", include_deleting=True)
    assert found["status"] == "DELETING"
    assert mod.find_db_backup(client, name="before-migration") is None
