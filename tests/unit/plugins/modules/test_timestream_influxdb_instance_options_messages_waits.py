"""timestream_influxdb_instance: options the task does not state are never compared, messages say
patterns in words and name a missing instance with its region, check mode predicts every documented
key, a deletion waits for running backups, an unchanged run reads its tags once, and waits poll at
once then back off. Each of these failed before its fix (issues 9 and 14)."""

from __future__ import annotations

import boto3
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_instance as mod

MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model

# An instance whose create-only and in-place options all differ from AWS's defaults.
CURRENT = {
    "id": "abc123def4",
    "name": "ons-metrics",
    "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-instance/abc123def4",
    "status": "AVAILABLE",
    "endpoint": "abc123def4.example",
    "port": 9086,
    "networkType": "DUAL",
    "dbInstanceType": "db.influx.large",
    "dbStorageType": "InfluxIOIncludedT2",
    "allocatedStorage": 400,
    "deploymentType": "WITH_MULTIAZ_STANDBY",
    "vpcSubnetIds": ["subnet-0a1b2c", "subnet-0d4e5f"],
    "publiclyAccessible": True,
    "vpcSecurityGroupIds": ["sg-0123abc"],
    "influxAuthParametersSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
}
TAGS_ARN = {"resourceArn": CURRENT["arn"]}
ID = {"identifier": CURRENT["id"]}


def validated(**params):
    """Module params as AnsibleModule sees them: every option, with the argument spec's defaults."""
    result = ArgumentSpecValidator(mod.argument_spec()).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_no_create_option_has_a_default():
    # Every option with a default is one the module may compare only when the task states it; the
    # audit: none of the CreateDbInstance options may carry one.
    defaults = {k for k, v in mod.argument_spec().items() if v.get("default") is not None}
    assert not defaults & set(ts.INSTANCE_OPTION_TO_API), defaults & set(ts.INSTANCE_OPTION_TO_API)


@pytest.mark.parametrize(
    "member", ["publiclyAccessible", "networkType", "deploymentType", "port", "dbStorageType", "dbInstanceType"]
)
def test_an_option_the_task_does_not_state_is_not_compared(member):
    """The module's own "grow the storage" example on an instance whose ``member`` is not AWS's default."""
    params = validated(name="ons-metrics", allocated_storage=500)
    plan = mod.plan_present(dict(CURRENT), mod.desired_state(MODEL, params), {}, None, True)
    assert plan["update_calls"] == [{"allocatedStorage": 500}]
    assert member not in plan["update_calls"][0]
    assert ts.API_TO_INSTANCE_OPTION[member] not in plan["diff"]["after"]


def test_publicly_accessible_is_still_false_when_creating_without_it():
    params = validated(
        name="ons-metrics", password="Abcdef123", db_instance_type="db.influx.medium", allocated_storage=20,
        vpc_subnet_ids=["subnet-0a1b2c"], vpc_security_group_ids=["sg-0123abc"], organization="ons", bucket="telemetry",
    )
    plan = mod.plan_present(None, mod.desired_state(MODEL, params), {}, None, True, model=MODEL)
    # AWS's default (false) applies; the predicted instance says so.
    assert plan["predicted"]["publiclyAccessible"] is False


# ------------------------------------------------------------------------------------------------
# Patterns in words (issue 14)
# ------------------------------------------------------------------------------------------------
def test_password_pattern_is_said_in_words():
    params = validated(name="ons-metrics", password="Abcdef123!")
    with pytest.raises(ValidationError) as err:
        mod.desired_state(MODEL, params)
    assert str(err.value) == "password must be letters and digits only"
    assert "[a-zA-Z0-9]" not in str(err.value)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"name": "1-metrics"}, "name must be letters, digits and single hyphens, starting with a letter "
                                "and not ending with a hyphen (got '1-metrics')"),
        ({"name": "ons-metrics", "vpc_subnet_ids": ["vpc-1"]},
         "vpc_subnet_ids[0] must be subnet- followed by lower-case letters and digits (got 'vpc-1')"),
        ({"name": "ons-metrics", "maintenance_schedule": {"timezone": "UTC", "preferred_maintenance_window": "Sun 2am"}},
         "maintenance_schedule.preferred_maintenance_window must be a weekly window ddd:HH:MM-ddd:HH:MM "
         "such as Sun:02:00-Sun:04:00 (got 'Sun 2am')"),
    ],
)
def test_other_patterns_are_said_in_words(params, message):
    with pytest.raises(ValidationError) as err:
        mod.desired_state(MODEL, validated(**params))
    assert str(err.value) == message


def test_every_pattern_of_the_model_has_words():
    patterns = {
        MODEL.shape_for(name).metadata["pattern"]
        for name in MODEL.shape_names
        if MODEL.shape_for(name).metadata.get("pattern")
    }
    assert not [p for p in patterns if p not in ts.PATTERN_WORDS]


def test_a_bad_id_is_said_in_words():
    with pytest.raises(ValidationError, match=r"^id must be letters and digits only \(got 'not_an-id!'\)$"):
        ts.validate_identifier(MODEL, "not_an-id!", "GetDbInstance")


# ------------------------------------------------------------------------------------------------
# A missing instance is named before what creating one needs (issue 14)
# ------------------------------------------------------------------------------------------------
def test_a_missing_instance_is_named_with_its_region_first():
    params = validated(name="ons-metrics", allocated_storage=200)
    with pytest.raises(ValidationError) as err:
        mod.plan_present(None, mod.desired_state(MODEL, params), {}, None, True, region="eu-west-2", model=MODEL)
    assert str(err.value) == (
        "no Timestream for InfluxDB instance named ons-metrics exists in region eu-west-2; "
        "creating one would need option(s): password, db_instance_type, vpc_subnet_ids, vpc_security_group_ids, "
        "organization, bucket"
    )


def test_creating_without_organization_or_bucket_fails_before_any_call():
    """The model marks them optional, but an InfluxDB v2 instance cannot be onboarded without them
    (AWS answers ValidationException; Terraform requires both)."""
    params = validated(
        name="ons-metrics", password="Abcdef123", db_instance_type="db.influx.medium", allocated_storage=20,
        vpc_subnet_ids=["subnet-0a1b2c"], vpc_security_group_ids=["sg-0123abc"], organization="ons",
    )
    with pytest.raises(ValidationError, match=r"creating one would need option\(s\): bucket$"):
        mod.plan_present(None, mod.desired_state(MODEL, params), {}, None, True, model=MODEL)


# ------------------------------------------------------------------------------------------------
# Check mode predicts every documented RETURN key (issue 14)
# ------------------------------------------------------------------------------------------------
def documented_instance_keys():
    return set(yaml.safe_load(mod.RETURN)["instance"]["contains"])


def test_check_mode_create_predicts_every_documented_key():
    params = validated(
        name="ons-metrics", password="Abcdef123", db_instance_type="db.influx.medium", allocated_storage=20,
        vpc_subnet_ids=["subnet-0a1b2c"], vpc_security_group_ids=["sg-0123abc"], organization="ons", bucket="telemetry",
    )
    module = FakeModule(check_mode=True, params=params)
    result = mod.ensure_present(module, NoCalls(), None, mod.desired_state(MODEL, params))
    assert set(mod.INSTANCE_RESULT_MEMBERS) == {
        key for key in MODEL.shape_for("GetDbInstanceOutput").members if ts.camel_to_snake(key) in documented_instance_keys()
    }
    instance = result["instance"]
    assert set(instance) >= documented_instance_keys()
    assert instance["id"] is None and instance["arn"] is None and instance["endpoint"] is None
    assert instance["name"] == "ons-metrics" and instance["status"] == "CREATING"


# ------------------------------------------------------------------------------------------------
# Against botocore's Stubber: deletion after running backups, one tag read, short polls with backoff
# ------------------------------------------------------------------------------------------------
class FakeModule:
    def __init__(self, check_mode=False, params=None, **changes):
        self.params = validated(name="ons-metrics") if params is None else dict(params)
        self.params.update(changes)
        self.check_mode = check_mode
        self.warnings = []
        self.region = "us-east-1"

    def warn(self, message):
        self.warnings.append(message)

    def client(self, *_args, **_kwargs):
        raise AssertionError("no other AWS client is expected here")


class NoCalls:
    """A client that only has its service model: any AWS call fails the test."""

    meta = type("Meta", (), {"service_model": MODEL})

    def __getattr__(self, name):
        raise AssertionError(f"unexpected AWS call {name}")


@pytest.fixture
def stubbed():
    client = boto3.client("timestream-influxdb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, ts.retry_decorator()), stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sleeps(monkeypatch):
    """The pauses between polls, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr("botocore.waiter.time.sleep", recorded.append)
    monkeypatch.setattr(ts.time, "sleep", recorded.append)
    return recorded


def backup(status, number=1):
    return {
        "id": f"bk{number}abc",
        "arn": f"arn:aws:timestream-influxdb:us-east-1:123456789012:db-backup/bk{number}abc",
        "name": f"backup-{number}",
        "dbResourceId": CURRENT["id"],
        "status": status,
    }


def test_absent_waits_for_running_backups_before_deleting(stubbed, sleeps):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("list_db_backups", {"items": [backup("IN_PROGRESS"), backup("COMPLETED", 2)]},
                         {"dbResourceId": CURRENT["id"]})
    stubber.add_response("get_db_backup", backup("IN_PROGRESS"), {"identifier": "bk1abc"})
    stubber.add_response("get_db_backup", backup("COMPLETED"), {"identifier": "bk1abc"})
    stubber.add_response("delete_db_instance", dict(CURRENT, status="DELETING"), ID)
    result = mod.ensure_absent(FakeModule(state="absent", wait=False), client, dict(CURRENT))
    assert result["changed"] is True and result["instance"]["status"] == "DELETING"


def test_absent_without_running_backups_deletes_at_once(stubbed, sleeps):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("list_db_backups", {"items": [backup("COMPLETED")]}, {"dbResourceId": CURRENT["id"]})
    stubber.add_response("delete_db_instance", dict(CURRENT, status="DELETING"), ID)
    result = mod.ensure_absent(FakeModule(state="absent", wait=False), client, dict(CURRENT))
    assert result["changed"] is True
    assert sleeps == []


def test_an_unchanged_instance_reads_its_tags_once(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {"Team": "ONS"}}, TAGS_ARN)
    # nothing else: a second ListTagsForResource would fail the Stubber
    module = FakeModule(tags={"Team": "ONS"})
    result = mod.ensure_present(module, client, dict(CURRENT), mod.desired_state(MODEL, module.params))
    assert result["changed"] is False
    assert result["instance"]["tags"] == {"Team": "ONS"}


def test_waits_poll_at_once_then_back_off_whatever_the_timeout(stubbed, sleeps):
    """With the default hour, an instance ready at the fourth poll is seen after 3 short pauses, not 30 s."""
    client, stubber = stubbed
    for status in ("CREATING", "CREATING", "CREATING", "AVAILABLE"):
        stubber.add_response("get_db_instance", dict(CURRENT, status=status), ID)
    stubber.add_response("get_db_instance", dict(CURRENT, status="AVAILABLE"), ID)  # the final description
    ts.wait_for(client, "db_instance_available", CURRENT["id"], timeout=3600)
    assert len(sleeps) == 3
    assert all(pause <= 2 for pause in sleeps), sleeps


def test_poll_pauses_grow_and_cover_the_timeout():
    pauses = ts.poll_pauses(3600)
    assert pauses[0] == 1
    assert pauses == sorted(pauses)  # backoff: never shorter than the one before
    assert max(pauses) == ts.MAX_POLL_PAUSE
    assert sum(pauses) >= 3600 and sum(pauses[:-1]) < 3600
    assert ts.poll_pauses(3) == [1, 1, 1]
