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
    values = {R.generate_password(length) for _ in range(20)}
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
