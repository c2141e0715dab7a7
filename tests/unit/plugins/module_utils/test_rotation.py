"""Unit tests of the rotation's pure logic: due dates, the half-done rotation, the grace-period
records, the descriptions of old and new authorizations, the passwords, the option checks."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.ons.timestream_influxdb.plugins.module_utils import (
    rotation as R,
)
from ansible_collections.ons.timestream_influxdb.plugins.modules import (
    influx_secret_rotation as mod,
)

NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)


def days_ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


@pytest.mark.parametrize("last, period, force, due", [
    (None, 90, False, True),                 # never recorded: rotate
    (days_ago(10), 90, False, False),
    (days_ago(90), 90, False, True),         # exactly the period: due
    (days_ago(89.9), 90, False, False),
    (days_ago(1), 90, True, True),           # forced
    (days_ago(0), 0, False, True),           # a period of 0 rotates every run
])
def test_due(last, period, force, due):
    assert R.is_due(last, period, NOW, force) is due


def test_last_rotated_is_the_later_of_the_tag_and_the_current_version():
    tag = {R.LAST_ROTATED_TAG: R.iso(days_ago(100))}
    assert R.last_rotated(tag, days_ago(5)) == days_ago(5).replace(microsecond=0)
    assert R.last_rotated({R.LAST_ROTATED_TAG: R.iso(days_ago(1))}, days_ago(5)) == days_ago(1)
    assert R.last_rotated({R.LAST_ROTATED_TAG: "not a time"}, None) is None
    assert R.last_rotated({}, days_ago(3)) == days_ago(3)


def test_age_in_days():
    assert R.age_days(days_ago(1.5), NOW) == 1.5
    assert R.age_days(None, NOW) is None
    assert R.age_days(NOW + datetime.timedelta(hours=1), NOW) == 0.0


@pytest.mark.parametrize("stages, expected", [
    ({"a": ["AWSCURRENT"]}, None),
    ({"a": ["AWSCURRENT"], "b": ["AWSPENDING"]}, {"token": "b", "promoted": False}),
    ({"a": ["AWSPREVIOUS"], "b": ["AWSCURRENT", "AWSPENDING"]}, {"token": "b", "promoted": True}),
    ({"a": ["AWSPREVIOUS"], "b": ["AWSCURRENT"]}, None),
])
def test_pending_rotation_is_found_and_finished(stages, expected):
    assert R.pending_rotation(stages) == expected


def test_retired_records_round_trip_and_expire():
    entries = R.parse_retired("0a3cbb5dd526a000@100, 0a3cbb5dd526b000@200,garbage,x@y")
    assert entries == [("0a3cbb5dd526a000", 100), ("0a3cbb5dd526b000", 200)]
    assert R.parse_retired(R.format_retired(entries)) == entries
    expired, kept = R.split_expired(entries, 150)
    assert expired == [("0a3cbb5dd526a000", 100)] and kept == [("0a3cbb5dd526b000", 200)]
    assert R.split_expired(entries, 200)[0] == entries  # expiry reached: expired
    assert R.parse_retired(None) == [] and R.parse_retired("") == []


def test_retired_record_fits_a_tag_value_keeping_the_newest():
    entries = [(f"{i:016x}", 1_800_000_000 + i) for i in range(20)]
    value = R.format_retired(entries)
    assert len(value) <= 256
    assert value.endswith(f"{19:016x}@{1_800_000_019}")


def test_descriptions_of_new_and_old_authorizations():
    base = "ons-data-platform-dev lambda functions"
    pending = R.pending_description(base, "tok-1")
    retired = R.retired_description(base, "tok-1")
    assert R.base_description(pending) == base
    assert R.base_description(retired) == base
    assert R.base_description(base) == base
    assert R.is_unstaged_for(pending, base)
    assert not R.is_unstaged_for(retired, base) and not R.is_unstaged_for(base, base)
    # another token's rotation is not this one's orphan
    assert not R.is_unstaged_for(R.pending_description("other", "t"), base)


@pytest.mark.parametrize("length", [8, 32, 64])
def test_generated_password_follows_timestreams_rule(length):
    values = {R.generate_password(length) for _attempt in range(20)}
    assert len(values) == 20
    for value in values:
        assert len(value) == length and value.isalnum() and value.isascii()
        assert any(c.isdigit() for c in value) and any(c.islower() for c in value) and any(c.isupper() for c in value)


@pytest.mark.parametrize("length", [7, 65])
def test_password_length_out_of_range_is_refused(length):
    with pytest.raises(R.RotationError, match="password_length"):
        R.generate_password(length)


def test_secret_json_errors_never_quote_the_value():
    with pytest.raises(R.RotationError) as err:
        R.parse_secret_json("s3cr3t-not-json", "x/admin")
    assert "s3cr3t" not in str(err.value) and "x/admin" in str(err.value)
    with pytest.raises(R.RotationError):
        R.parse_secret_json('["a"]', "x/admin")


def params(**overrides):
    base = {"rotation_period_days": 90, "grace_period_seconds": 86400, "credential": "password",
            "password_length": 32, "ca_path": None}
    base.update(overrides)
    return base


@pytest.mark.parametrize("overrides, option", [
    ({"rotation_period_days": -1}, "rotation_period_days"),
    ({"grace_period_seconds": -5}, "grace_period_seconds"),
    ({"password_length": 4}, "password_length"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path"),
])
def test_options_are_checked_before_any_request(overrides, option):
    assert option in mod.validate(params(**overrides))


def test_valid_options_pass():
    assert mod.validate(params()) is None
    assert mod.validate(params(credential="token", password_length=4)) is None


def test_documented_options_match_the_argument_spec():
    import yaml
    documented = set(yaml.safe_load(mod.DOCUMENTATION)["options"])
    assert documented == set(mod.argument_spec())


class FakeSecrets:
    """Secrets Manager reads only: any other call fails the test (check mode must not write)."""

    class exceptions:  # noqa: N801 - boto3's shape
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, stages, tags, created):
        self.stages, self.tags, self.created = stages, tags, created

    def describe_secret(self, SecretId, aws_retry=None):  # noqa: N803 - boto3's names
        return {"Name": SecretId, "VersionIdsToStages": self.stages,
                "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()]}

    def list_secret_version_ids(self, SecretId, IncludeDeprecated, aws_retry=None):  # noqa: N803
        return {"Versions": [{"VersionId": v, "CreatedDate": self.created} for v in self.stages]}

    def __getattr__(self, name):
        raise AssertionError(f"check mode called {name}")


class FakeModule:
    def __init__(self, **params):
        self.params = {"secret_id": "p/dev/influxdb/lambda-token", "credential": "token", "url_scheme": "https",
                       "rotation_period_days": 90, "force": False, "grace_period_seconds": 86400,
                       "deactivate_old_token": False, "only_resume": False, "metric_namespace": "p/influxdb",
                       "metric_name": "CredentialAgeDays", "validate_certs": True, "ca_path": None, **params}
        self.check_mode = True
        self._diff = True
        self.no_log_values = set()

    def client(self, *args, **kwargs):
        raise AssertionError("check mode must not publish the metric")


INSTANCE = {"endpoint": "db.example", "port": 8086}


@pytest.mark.parametrize("created_days, force, stages, expected_steps", [
    (100, False, {"v1": ["AWSCURRENT"]}, list(R.STEPS)),                       # due
    (10, False, {"v1": ["AWSCURRENT"]}, []),                                   # not due
    (10, True, {"v1": ["AWSCURRENT"]}, list(R.STEPS)),                         # forced
    (10, False, {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, list(R.STEPS)),  # half done: finished
    (10, False, {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT", "AWSPENDING"]}, ["finishSecret"]),
])
def test_check_mode_predicts_and_changes_nothing(created_days, force, stages, expected_steps):
    created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=created_days)
    rotation = mod.Rotation(FakeModule(force=force), FakeSecrets(stages, {}, created), INSTANCE)
    result = rotation.run()
    assert result["steps"] == expected_steps
    assert result["changed"] is bool(expected_steps) and result["rotated"] is bool(expected_steps)
    assert result["resumed"] is ("AWSPENDING" in str(stages))
    assert result["diff"]["before"]["current_version"] == next(v for v, s in stages.items() if "AWSCURRENT" in s)


def test_check_mode_reports_expired_old_tokens():
    created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    tags = {R.RETIRED_TAG: "0a3cbb5dd526a000@1 0a3cbb5dd526b000@99999999999"}
    rotation = mod.Rotation(FakeModule(), FakeSecrets({"v1": ["AWSCURRENT"]}, tags, created), INSTANCE)
    result = rotation.run()
    assert result["deleted_authorization_ids"] == ["0a3cbb5dd526a000"]
    assert result["changed"] is True and result["rotated"] is False
    assert result["diff"]["after"]["retired_authorization_ids"] == ["0a3cbb5dd526b000"]
