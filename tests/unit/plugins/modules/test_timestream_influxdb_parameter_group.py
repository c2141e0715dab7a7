"""timestream_influxdb_parameter_group: desired state and comparison (pure; no AWS)."""

from __future__ import annotations

import boto3
import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_parameter_group as mod

MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model


def test_desired_state_is_validated_and_in_api_form():
    request = mod.desired_state(
        MODEL,
        {
            "name": "ons-params",
            "description": "limits",
            "parameters": {"query_concurrency": 16, "http_read_timeout": {"duration_type": "seconds", "value": 30}},
        }
    )
    assert request == {
        "name": "ons-params",
        "description": "limits",
        "parameters": {
            "InfluxDBv2": {"queryConcurrency": 16, "httpReadTimeout": {"durationType": "seconds", "value": 30}}
        },
    }


@pytest.mark.parametrize(
    "params, message",
    [
        ({"name": "x"}, "name must have between 3 and 64 characters"),
        ({"name": "1abc"}, "name must be letters, digits and single hyphens"),
        ({"name": "ons", "description": "d" * 501}, "description must have between 0 and 500 characters"),
        ({"name": "ons", "parameters": {"session_length": 0}}, "parameters.session_length must be between 1 and 2880"),
        ({"name": "ons", "parameters": {"tracing_type": "zipkin"}}, "parameters.tracing_type must be one of"),
        ({"name": "ons", "parameters": {"nope": 1}}, "parameters has unknown key(s) nope"),
    ],
)
def test_bad_input(params, message):
    with pytest.raises(ValidationError) as err:
        mod.desired_state(MODEL, params)
    assert message in str(err.value)


def test_compare_group_reports_every_difference():
    current = {
        "id": "pg1",
        "name": "ons-params",
        "description": "limits",
        "parameters": {"InfluxDBv2": {"queryConcurrency": 8, "logLevel": "info"}},
    }
    same = mod.desired_state(MODEL, {"name": "ons-params", "parameters": {"query_concurrency": 8, "log_level": "info"}})
    assert mod.compare_group(current, same) == {}
    other = mod.desired_state(MODEL, {"name": "ons-params", "description": "new", "parameters": {"query_concurrency": 16}})
    assert mod.compare_group(current, other) == {
        "description": {"current": "limits", "desired": "new"},
        "parameters.log_level": {"current": "info", "desired": None},
        "parameters.query_concurrency": {"current": 8, "desired": 16},
    }
