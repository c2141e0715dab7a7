"""Unit tests of influx_bucket's pure functions: option checks, desired state, compare, request bodies."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.modules import influx_bucket as mod

RAW = {
    "id": "37407e232b3911d8", "orgID": "bea7ea952287f70d", "type": "user", "name": "telemetry",
    "description": "raw", "retentionRules": [{"type": "expire", "everySeconds": 2592000,
                                              "shardGroupDurationSeconds": 86400}],
    "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
}


def params(**kw):
    base = {"name": "telemetry", "description": None, "retention": None, "shard_group_duration": None,
            "state": "present", "org": "ons"}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "kw,option",
    [
        ({"name": "_monitoring"}, "name"),
        ({"name": " "}, "name"),
        ({"retention": "30"}, "retention"),
        ({"retention": "30m"}, "retention"),
        ({"shard_group_duration": "10m"}, "shard_group_duration"),
        ({"shard_group_duration": "0"}, "shard_group_duration"),
        ({"retention": "1d", "shard_group_duration": "1w"}, "shard_group_duration"),
    ],
)
def test_bad_input_fails_naming_the_option(kw, option):
    with pytest.raises(InfluxDBModuleError) as err:
        mod.validate_params(params(**kw))
    assert option in err.value.msg


def test_validate_returns_seconds():
    assert mod.validate_params(params(retention="1h30m", shard_group_duration="1h")) == (5400, 3600)
    assert mod.validate_params(params(retention="infinite", shard_group_duration="1w")) == (0, 604800)
    assert mod.validate_params(params()) == (None, None)


def test_normalize_reads_retention_rules():
    bucket = mod.normalize(RAW)
    assert bucket["retention_seconds"] == 2592000
    assert bucket["retention"] == "4w2d"
    assert bucket["shard_group_duration_seconds"] == 86400
    assert bucket["org_id"] == "bea7ea952287f70d"


def test_normalize_no_rules_is_infinite():
    bucket = mod.normalize(dict(RAW, retentionRules=[], description=None))
    assert bucket["retention_seconds"] == 0 and bucket["retention"] == "infinite"
    assert bucket["description"] == ""


def test_unset_options_are_not_managed():
    current = mod.normalize(RAW)
    desired = mod.desired_state(params(), "bea7ea952287f70d", None, None)
    assert mod.compare(current, desired) == {}


def test_compare_finds_each_difference():
    current = mod.normalize(RAW)
    desired = mod.desired_state(params(description=""), "bea7ea952287f70d", 0, 3600)
    assert mod.compare(current, desired) == {"description": "", "retention_seconds": 0,
                                             "shard_group_duration_seconds": 3600}


def test_same_values_compare_equal():
    current = mod.normalize(RAW)
    desired = mod.desired_state(params(description="raw"), "bea7ea952287f70d", 2592000, 86400)
    assert mod.compare(current, desired) == {}


def test_create_body_only_sends_what_was_asked():
    desired = mod.desired_state(params(), "o1", None, None)
    assert mod.create_body(desired) == {"orgID": "o1", "name": "telemetry"}
    desired = mod.desired_state(params(description="d"), "o1", 0, 3600)
    assert mod.create_body(desired) == {
        "orgID": "o1", "name": "telemetry", "description": "d",
        "retentionRules": [{"type": "expire", "everySeconds": 0, "shardGroupDurationSeconds": 3600}]}


def test_patch_body_keeps_current_retention_when_only_shard_changes():
    current = mod.normalize(RAW)
    body = mod.patch_body(current, {"shard_group_duration_seconds": 3600})
    assert body == {"retentionRules": [{"type": "expire", "everySeconds": 2592000,
                                        "shardGroupDurationSeconds": 3600}]}


def test_patch_body_retention_only_lets_server_choose_shard():
    body = mod.patch_body(mod.normalize(RAW), {"retention_seconds": 604800})
    assert body == {"retentionRules": [{"type": "expire", "everySeconds": 604800}]}


def test_predict_new_and_updated():
    desired = mod.desired_state(params(description="d"), "o1", 3600, None)
    new = mod.predict({}, desired, {})
    assert new["id"] is None and new["retention"] == "1h" and new["description"] == "d"
    updated = mod.predict(mod.normalize(RAW), desired, {"retention_seconds": 3600})
    assert updated["id"] == RAW["id"] and updated["retention"] == "1h" and updated["description"] == "raw"


def test_argument_spec_matches_documentation():
    import yaml
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert set(doc["options"]) == set(mod.argument_spec())
