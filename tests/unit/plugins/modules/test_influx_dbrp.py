"""Unit tests of influx_dbrp's pure functions."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.modules import influx_dbrp as mod

RAW = {"id": "0a3cbb5dd526a000", "database": "telemetry", "retention_policy": "autogen", "default": True,
       "orgID": "bea7ea952287f70d", "bucketID": "4d4d9d5b61dee751"}


def params(**kw):
    base = {"database": "telemetry", "retention_policy": "autogen", "bucket": "telemetry", "default": None,
            "state": "present"}
    base.update(kw)
    return base


@pytest.mark.parametrize("kw,option", [({"database": ""}, "database"), ({"retention_policy": " "}, "retention_policy"),
                                       ({"bucket": None}, "bucket")])
def test_bad_input_names_the_option(kw, option):
    with pytest.raises(InfluxDBModuleError) as err:
        mod.validate_params(params(**kw))
    assert option in err.value.msg


def test_absent_does_not_need_a_bucket():
    mod.validate_params(params(bucket=None, state="absent"))


def test_unwrap_both_shapes():
    assert mod.unwrap({"content": RAW}) == RAW
    assert mod.unwrap(RAW) == RAW


def test_other_bucket_means_replace_default_changes_in_place():
    current = mod.normalize(RAW)
    assert mod.compare(current, mod.desired_state(params(), RAW["orgID"], RAW["bucketID"])) == (False, {})
    assert mod.compare(current, mod.desired_state(params(default=False), RAW["orgID"], RAW["bucketID"])) == (
        False, {"default": False})
    replace, _changes = mod.compare(current, mod.desired_state(params(), RAW["orgID"], "1111111111111111"))
    assert replace is True


def test_replacement_keeps_current_default_unless_told():
    current = mod.normalize(RAW)
    desired = mod.desired_state(params(), RAW["orgID"], "1111111111111111")
    assert mod.create_body(desired, current)["default"] is True
    assert mod.predict(current, desired, {}, True)["default"] is True
    assert "default" not in mod.create_body(desired, None)
