"""Unit tests of influx_org's pure functions."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.modules import influx_org as mod

RAW = {"id": "bea7ea952287f70d", "name": "platform", "description": "ONS", "status": "active"}


def test_empty_name_is_refused():
    with pytest.raises(InfluxDBModuleError) as err:
        mod.validate_params({"name": ""})
    assert "name" in err.value.msg


def test_description_unset_is_not_managed():
    assert mod.compare(mod.normalize(RAW), mod.desired_state({"name": "platform", "description": None})) == {}


def test_description_change_and_removal():
    current = mod.normalize(RAW)
    assert mod.compare(current, mod.desired_state({"name": "platform", "description": "new"})) == {
        "description": "new"}
    assert mod.compare(current, mod.desired_state({"name": "platform", "description": ""})) == {"description": ""}
    assert mod.compare(mod.normalize(dict(RAW, description=None)),
                       mod.desired_state({"name": "platform", "description": ""})) == {}


def test_predict_and_bodies():
    desired = mod.desired_state({"name": "platform", "description": None})
    assert mod.create_body(desired) == {"name": "platform"}
    assert mod.predict({}, desired, {})["id"] is None
    after = mod.predict(mod.normalize(RAW), desired, {"description": "x"})
    assert after["id"] == RAW["id"] and after["description"] == "x"
    assert mod.diff_view(after) == {"name": "platform", "description": "x"}
