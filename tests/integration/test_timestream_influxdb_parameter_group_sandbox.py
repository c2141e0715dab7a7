"""timestream_influxdb_parameter_group (+ _info) through ansible-playbook against the AWS sandbox."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

SERVICE = "timestream-influxdb"
MODULE = "ons.timestream_influxdb.timestream_influxdb_parameter_group"
INFO = "ons.timestream_influxdb.timestream_influxdb_parameter_group_info"


def task(aws_sandbox, name, module, params, **extra):
    conn = {"endpoint_url": aws_sandbox.endpoint, "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
    return {"name": name, module: dict(conn, **params), **extra}


def mutating(aws_sandbox):
    return [r["operation"] for r in aws_sandbox.control.mutating_requests(SERVICE)]


def test_parameter_group(aws_sandbox, tmp_path):
    ts = aws_sandbox.client(SERVICE)
    name = f"pg-{uuid.uuid4().hex[:8]}"
    params = {
        "name": name,
        "description": "ONS limits",
        "parameters": {
            "query_concurrency": 16,
            "log_level": "info",
            "flux_log_enabled": False,
            "http_idle_timeout": {"duration_type": "minutes", "value": 3},
        },
        "tags": {"Team": "ONS"},
    }

    # check mode creates nothing
    aws_sandbox.control.reset_requests()
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "create", MODULE, params)], check=True, diff=True)
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("create")["changed"] is True
    assert r.task("create")["parameter_group"]["parameters"]["InfluxDBv2"]["query_concurrency"] == 16
    assert mutating(aws_sandbox) == []
    assert name not in [g["name"] for g in ts.list_db_parameter_groups()["items"]]

    # create
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "create", MODULE, params)])
    assert r.rc == 0, r.stdout[-3000:]
    group = r.task("create")["parameter_group"]
    live = ts.get_db_parameter_group(identifier=group["id"])
    assert live["name"] == name and live["description"] == "ONS limits"
    assert live["parameters"] == {
        "InfluxDBv2": {
            "queryConcurrency": 16,
            "logLevel": "info",
            "fluxLogEnabled": False,
            "httpIdleTimeout": {"durationType": "minutes", "value": 3},
        }
    }
    assert ts.list_tags_for_resource(resourceArn=live["arn"])["tags"] == {"Team": "ONS"}

    # idempotent
    aws_sandbox.control.reset_requests()
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "again", MODULE, params)])
    assert r.rc == 0 and r.task("again")["changed"] is False
    assert mutating(aws_sandbox) == []

    # tags can change; parameters cannot; neither can the group be deleted
    aws_sandbox.control.reset_requests()
    r = run_playbook(
        tmp_path,
        tasks=[
            task(aws_sandbox, "tags", MODULE, dict(params, tags={"Team": "ONS", "Env": "test"})),
            task(aws_sandbox, "different", MODULE, dict(params, parameters={"query_concurrency": 32}), ignore_errors=True),
            task(aws_sandbox, "absent", MODULE, {"name": name, "state": "absent"}, ignore_errors=True),
        ],
    )
    assert r.task("tags")["changed"] is True
    assert ts.list_tags_for_resource(resourceArn=live["arn"])["tags"] == {"Team": "ONS", "Env": "test"}
    different = r.task("different")
    assert different["failed"] is True
    assert "parameters.query_concurrency (current: 16, wanted: 32)" in different["msg"]
    assert "cannot update a parameter group" in different["msg"] and f"{name}-v2" in different["msg"]
    absent = r.task("absent")
    assert absent["failed"] is True and "cannot be deleted" in absent["msg"]
    assert mutating(aws_sandbox) == ["TagResource"]
    assert ts.get_db_parameter_group(identifier=group["id"])["parameters"]["InfluxDBv2"]["queryConcurrency"] == 16

    # absent for a group that does not exist is fine; bad parameters fail before any request
    aws_sandbox.control.reset_requests()
    r = run_playbook(
        tmp_path,
        tasks=[
            task(aws_sandbox, "gone", MODULE, {"name": f"{name}-never", "state": "absent"}),
            task(aws_sandbox, "bad", MODULE, {"name": f"{name}-bad", "parameters": {"session_length": 0}}, ignore_errors=True),
            task(aws_sandbox, "unknown", MODULE, {"name": f"{name}-bad", "parameters": {"query_concurency": 1}},
                 ignore_errors=True),
        ],
    )
    assert r.task("gone")["changed"] is False
    assert "parameters.session_length must be between 1 and 2880" in r.task("bad")["msg"]
    assert "parameters has unknown key(s) query_concurency" in r.task("unknown")["msg"]
    assert mutating(aws_sandbox) == []

    # info, by name and in the full list
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "one", INFO, {"name": name}), task(aws_sandbox, "all", INFO, {})])
    assert r.rc == 0
    one = r.task("one")["parameter_groups"]
    assert [g["id"] for g in one] == [group["id"]]
    assert one[0]["parameters"]["InfluxDBv2"]["http_idle_timeout"] == {"duration_type": "minutes", "value": 3}
    assert one[0]["tags"] == {"Team": "ONS", "Env": "test"}
    assert group["id"] in [g["id"] for g in r.task("all")["parameter_groups"]]


def test_connection_through_the_action_group(aws_sandbox, tmp_path):
    """`module_defaults: {group/ons.timestream_influxdb.aws: ...}` reaches every module of ours."""
    name = f"pg-{uuid.uuid4().hex[:8]}"
    defaults = {
        "group/ons.timestream_influxdb.aws": {
            "endpoint_url": aws_sandbox.endpoint,
            "region": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
        }
    }
    r = run_playbook(
        tmp_path,
        tasks=[
            {"name": "create", MODULE: {"name": name, "parameters": {"log_level": "error"}}},
            {"name": "groups", INFO: {"name": name}},
            {"name": "instances", "ons.timestream_influxdb.timestream_influxdb_instance_info": {}},
            {"name": "backups", "ons.timestream_influxdb.timestream_influxdb_backup_info": {}},
        ],
        module_defaults=defaults,
    )
    assert r.rc == 0, r.stdout[-3000:]
    group_id = r.task("create")["parameter_group"]["id"]
    assert [g["id"] for g in r.task("groups")["parameter_groups"]] == [group_id]
    assert aws_sandbox.client(SERVICE).get_db_parameter_group(identifier=group_id)["parameters"] == {
        "InfluxDBv2": {"logLevel": "error"}
    }
    assert isinstance(r.task("instances")["instances"], list)
    assert isinstance(r.task("backups")["backups"], list)
