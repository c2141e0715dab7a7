"""cloudwatch_dashboard through ansible-playbook against the AWS sandbox, checked through boto3 and
the sandbox's request log: check mode, create, idempotence, update, diff, delete."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

MODULE = "ons.timestream_influxdb.cloudwatch_dashboard"


def widget(metric: str, stat: str = "Average") -> dict:
    return {
        "type": "metric",
        "x": 0,
        "y": 0,
        "width": 12,
        "height": 6,
        "properties": {
            "title": metric,
            "region": "us-east-1",
            "stat": stat,
            "period": 300,
            "metrics": [["AWS/TimestreamInfluxDB", metric, "DbInstanceName", "ons-test"]],
        },
    }


def task(aws_sandbox, name, params, **extra):
    conn = {"endpoint_url": aws_sandbox.endpoint, "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
    return {"name": name, MODULE: dict(conn, **params), **extra}


def operations(aws_sandbox, mutating_only=True):
    """CloudWatch operations in the request log (CloudWatch's signing name is "monitoring")."""
    return [
        r["operation"]
        for r in aws_sandbox.control.requests()
        if r["service"] == "monitoring" and (r["mutating"] or not mutating_only)
    ]


def live_body(cloudwatch, name):
    return json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])


def test_dashboard_lifecycle(aws_sandbox, tmp_path):
    cloudwatch = aws_sandbox.client("cloudwatch")
    name = f"dash-{uuid.uuid4().hex[:8]}"
    body = {"widgets": [widget("CPUUtilization")]}

    # check mode: predicted, nothing written
    aws_sandbox.control.reset_requests()
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "create", {"name": name, "body": body})], check=True, diff=True)
    assert r.rc == 0, r.stdout[-3000:]
    created = r.task("create")
    assert created["changed"] is True
    assert created["dashboard"] == {"name": name, "arn": None, "body": body}
    assert created["diff"] == {"before": {}, "after": {"name": name, "body": body}}
    assert operations(aws_sandbox) == []
    assert name not in [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]

    # create, body given as a JSON string
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "create", {"name": name, "body": json.dumps(body)})])
    assert r.rc == 0, r.stdout[-3000:]
    created = r.task("create")
    assert created["changed"] is True
    assert "diff" not in created  # diff only with --diff
    assert created["dashboard"]["arn"] == cloudwatch.get_dashboard(DashboardName=name)["DashboardArn"]
    assert live_body(cloudwatch, name) == body

    # idempotent: same body as a dict with the keys in another order -> no PutDashboard
    aws_sandbox.control.reset_requests()
    reordered = json.loads(json.dumps(body, sort_keys=True))
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "again", {"name": name, "body": reordered})], diff=True)
    assert r.rc == 0, r.stdout[-3000:]
    again = r.task("again")
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]
    assert operations(aws_sandbox) == []
    assert "GetDashboard" in operations(aws_sandbox, mutating_only=False)

    # update in check mode (diff shows both bodies), then for real
    new_body = {"widgets": [widget("CPUUtilization", "Maximum"), widget("DiskUtilization")]}
    aws_sandbox.control.reset_requests()
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "update", {"name": name, "body": new_body})], check=True, diff=True)
    update = r.task("update")
    assert update["changed"] is True
    assert update["diff"]["before"]["body"] == body and update["diff"]["after"]["body"] == new_body
    assert operations(aws_sandbox) == []
    assert live_body(cloudwatch, name) == body
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "update", {"name": name, "body": new_body})], diff=True)
    assert r.rc == 0 and r.task("update")["changed"] is True
    assert operations(aws_sandbox) == ["PutDashboard"]
    assert live_body(cloudwatch, name) == new_body

    # bad input fails before any request, naming the option
    aws_sandbox.control.reset_requests()
    r = run_playbook(
        tmp_path,
        tasks=[
            task(aws_sandbox, "bad json", {"name": name, "body": "{\"widgets\": ["}, ignore_errors=True),
            task(aws_sandbox, "no widgets", {"name": name, "body": {"start": "-PT6H"}}, ignore_errors=True),
        ],
    )
    assert "body is not valid JSON" in r.task("bad json")["msg"]
    assert "'widgets' list" in r.task("no widgets")["msg"]
    assert aws_sandbox.control.requests() == []
    assert live_body(cloudwatch, name) == new_body

    # delete: check mode, real, then again (nothing to do)
    aws_sandbox.control.reset_requests()
    r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "delete", {"name": name, "state": "absent"})], check=True, diff=True)
    assert r.task("delete")["changed"] is True
    assert r.task("delete")["diff"] == {"before": {"name": name, "body": new_body}, "after": {}}
    assert operations(aws_sandbox) == []
    r = run_playbook(
        tmp_path,
        tasks=[
            task(aws_sandbox, "delete", {"name": name, "state": "absent"}),
            task(aws_sandbox, "delete again", {"name": name, "state": "absent"}),
        ],
    )
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("delete")["changed"] is True and r.task("delete again")["changed"] is False
    assert operations(aws_sandbox) == ["DeleteDashboards"]
    assert name not in [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
