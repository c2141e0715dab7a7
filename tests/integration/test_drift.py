"""Drift, as Terraform users expect from ``plan``: five things of the built platform are changed
outside Ansible, through the AWS and InfluxDB APIs, as an operator does by hand (a tag, a security
group rule, a bucket's retention, an alarm's threshold, the instance type); ``site.yml --check
--diff`` then reports exactly those five, each with the drifted field's value before and after,
and nothing else, without a mutating call; a normal run puts all five back; a third run changes
nothing (this is also the platform's "a second run changes nothing" test).

The test uses the session's platform (``site_platform``) and leaves it as it found it: the normal
run restores the five, and if the test stops before that, ``undo`` restores them through the APIs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from influxdb_client import InfluxDBClient

from tests.helpers.platform_state import diff_states, platform_state
from tests.integration.conftest import Environment

pytestmark = pytest.mark.xdist_group("platform")

VPC = "amazon.aws.ec2_vpc_net"
SECURITY_GROUP = "amazon.aws.ec2_security_group"
ALARM = "amazon.aws.cloudwatch_metric_alarm"
BUCKET = "ons.timestream_influxdb.influx_bucket"
INSTANCE = "ons.timestream_influxdb.timestream_influxdb_instance"

# What the operator does by hand, and what the inventory declares.
TAG_KEY, TAG_DRIFTED, TAG_DECLARED = "ManagedBy", "console", "ansible"
OPEN_RULE = {"IpProtocol": "tcp", "FromPort": 8086, "ToPort": 8086,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "debugging, by hand"}]}
RETENTION_DRIFTED, RETENTION_DECLARED = 30 * 86400, 365 * 86400  # the inventory declares 365d
THRESHOLD_DRIFTED, THRESHOLD_DECLARED = 99.0, 90.0  # the CPU alarm; the role's default is 90 %
TYPE_DRIFTED, TYPE_DECLARED = "db.influx.large", "db.influx.medium"


@dataclass
class Platform:
    """The ids of what the test drifts, found through the APIs."""

    env: Environment
    vpc_id: str
    security_group_id: str
    lambda_security_group_id: str
    alarm_name: str
    instance_id: str
    influx_url: str
    influx_token: str
    influx_org: str
    bucket: str


def find(aws_sandbox: Any, env: Environment) -> Platform:
    ec2 = aws_sandbox.client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{env.prefix}-vpc"]}])["Vpcs"]
    groups = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]}
    (instance,) = [i for i in aws_sandbox.client("timestream-influxdb").list_db_instances()["items"]
                   if i["name"] == env.prefix]
    operator = json.loads(aws_sandbox.client("secretsmanager").get_secret_value(
        SecretId=f"{env.project}/{env.name}/influxdb/operator-token")["SecretString"])
    return Platform(env, vpc["VpcId"], groups[f"{env.prefix}-influxdb"], groups[f"{env.prefix}-lambda"],
                    f"{env.prefix}-influxdb-cpu-utilization", instance["id"],
                    operator["url"], operator["token"], operator["org"], operator["bucket"])


# -- the state of the five, read through the APIs ------------------------------------------------------

def vpc_tag(aws_sandbox: Any, p: Platform) -> str | None:
    (vpc,) = aws_sandbox.client("ec2").describe_vpcs(VpcIds=[p.vpc_id])["Vpcs"]
    return {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}.get(TAG_KEY)


def open_to_the_world(aws_sandbox: Any, p: Platform) -> bool:
    (group,) = aws_sandbox.client("ec2").describe_security_groups(GroupIds=[p.security_group_id])["SecurityGroups"]
    return any(r.get("CidrIp") == "0.0.0.0/0" for rule in group["IpPermissions"] for r in rule.get("IpRanges", []))


def alarm(aws_sandbox: Any, p: Platform) -> dict[str, Any]:
    (found,) = aws_sandbox.client("cloudwatch").describe_alarms(AlarmNames=[p.alarm_name])["MetricAlarms"]
    return found


def instance(aws_sandbox: Any, p: Platform) -> dict[str, Any]:
    return aws_sandbox.client("timestream-influxdb").get_db_instance(identifier=p.instance_id)


def wait_available(aws_sandbox: Any, p: Platform, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = instance(aws_sandbox, p)
        if found["status"] == "AVAILABLE" or time.monotonic() > deadline:
            assert found["status"] == "AVAILABLE", found["status"]
            return found
        time.sleep(0.5)


def retention(p: Platform) -> int:
    with InfluxDBClient(url=p.influx_url, token=p.influx_token, org=p.influx_org) as client:
        bucket = client.buckets_api().find_bucket_by_name(p.bucket)
        return bucket.retention_rules[0].every_seconds


def set_retention(p: Platform, seconds: int) -> None:
    with InfluxDBClient(url=p.influx_url, token=p.influx_token, org=p.influx_org) as client:
        api = client.buckets_api()
        bucket = api.find_bucket_by_name(p.bucket)
        bucket.retention_rules[0].every_seconds = seconds
        bucket.retention_rules[0].shard_group_duration_seconds = None
        api.update_bucket(bucket)


def set_threshold(aws_sandbox: Any, p: Platform, threshold: float) -> None:
    """PutMetricAlarm replaces the alarm: send back everything it has, with another threshold."""
    current = alarm(aws_sandbox, p)
    keys = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
            "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods", "ComparisonOperator",
            "TreatMissingData")
    aws_sandbox.client("cloudwatch").put_metric_alarm(**{k: current[k] for k in keys if k in current},
                                                      Threshold=threshold)


def set_instance_type(aws_sandbox: Any, p: Platform, instance_type: str) -> None:
    aws_sandbox.client("timestream-influxdb").update_db_instance(identifier=p.instance_id, dbInstanceType=instance_type)
    wait_available(aws_sandbox, p)


def set_tag(aws_sandbox: Any, p: Platform, value: str) -> None:
    aws_sandbox.client("ec2").create_tags(Resources=[p.vpc_id], Tags=[{"Key": TAG_KEY, "Value": value}])


def drift(aws_sandbox: Any, p: Platform) -> None:
    """The five changes an operator makes by hand."""
    set_tag(aws_sandbox, p, TAG_DRIFTED)
    aws_sandbox.client("ec2").authorize_security_group_ingress(GroupId=p.security_group_id, IpPermissions=[OPEN_RULE])
    set_retention(p, RETENTION_DRIFTED)
    set_threshold(aws_sandbox, p, THRESHOLD_DRIFTED)
    set_instance_type(aws_sandbox, p, TYPE_DRIFTED)


def undo(aws_sandbox: Any, p: Platform) -> None:
    """The five put back through the APIs, each only where it is still drifted."""
    if vpc_tag(aws_sandbox, p) != TAG_DECLARED:
        set_tag(aws_sandbox, p, TAG_DECLARED)
    if open_to_the_world(aws_sandbox, p):
        aws_sandbox.client("ec2").revoke_security_group_ingress(GroupId=p.security_group_id, IpPermissions=[
            {k: v for k, v in OPEN_RULE.items() if k != "IpRanges"} | {"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    if retention(p) != RETENTION_DECLARED:
        set_retention(p, RETENTION_DECLARED)
    if alarm(aws_sandbox, p)["Threshold"] != THRESHOLD_DECLARED:
        set_threshold(aws_sandbox, p, THRESHOLD_DECLARED)
    if wait_available(aws_sandbox, p)["dbInstanceType"] != TYPE_DECLARED:
        set_instance_type(aws_sandbox, p, TYPE_DECLARED)


def state(aws_sandbox: Any, p: Platform) -> dict[str, Any]:
    return {"tag": vpc_tag(aws_sandbox, p), "open to 0.0.0.0/0": open_to_the_world(aws_sandbox, p),
            "retention": retention(p), "threshold": alarm(aws_sandbox, p)["Threshold"],
            "instance type": instance(aws_sandbox, p)["dbInstanceType"]}


DECLARED = {"tag": TAG_DECLARED, "open to 0.0.0.0/0": False, "retention": RETENTION_DECLARED,
            "threshold": THRESHOLD_DECLARED, "instance type": TYPE_DECLARED}
DRIFTED = {"tag": TAG_DRIFTED, "open to 0.0.0.0/0": True, "retention": RETENTION_DRIFTED,
           "threshold": THRESHOLD_DRIFTED, "instance type": TYPE_DRIFTED}


@pytest.fixture
def drifted(site_platform, aws_sandbox) -> Iterator[Platform]:
    p = find(aws_sandbox, site_platform.environment)
    assert state(aws_sandbox, p) == DECLARED
    try:
        drift(aws_sandbox, p)
        assert state(aws_sandbox, p) == DRIFTED
        yield p
    finally:
        undo(aws_sandbox, p)


def fields(resource: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {f["name"]: (f["before"], f["after"]) for f in resource["fields"]}


def test_drift_is_planned_with_before_and_after_then_put_back_then_nothing_changes(drifted, site_platform, site_runner,
                                                                                   aws_sandbox):
    p = drifted
    env = p.env

    # 1. The plan: exactly the five, each with the drifted field, and no mutating call.
    plan = site_runner.run(env, check=True, diff=True)
    assert plan.rc == 0, plan.output()
    assert plan.recap["failed"] == 0, plan.output()
    assert plan.mutating == [], plan.mutating
    assert state(aws_sandbox, p) == DRIFTED
    resources = {(r["type"], r["name"]): r for r in plan.plan["resources"]}
    assert sorted(resources) == sorted([
        (VPC, f"{env.prefix}-vpc"), (SECURITY_GROUP, f"{env.prefix}-influxdb"), (BUCKET, p.bucket),
        (ALARM, p.alarm_name), (INSTANCE, env.prefix)]), json.dumps(plan.plan, indent=1)
    assert {r["action"] for r in resources.values()} == {"change"}
    assert all(r["check_mode"] and not r["hidden"] for r in resources.values())
    assert plan.plan["totals"] == {"add": 0, "change": 5, "destroy": 0, "unknown": 0}

    assert fields(resources[(VPC, f"{env.prefix}-vpc")]) == {f"tags.{TAG_KEY}": (TAG_DRIFTED, TAG_DECLARED)}
    assert fields(resources[(INSTANCE, env.prefix)]) == {"db_instance_type": (TYPE_DRIFTED, TYPE_DECLARED)}
    # InfluxDB's shortest spelling of a retention the task did not write (30 days), the task's own for 365d.
    assert fields(resources[(BUCKET, p.bucket)]) == {"retention": ("4w2d", "365d")}
    assert fields(resources[(ALARM, p.alarm_name)]) == {"threshold": (THRESHOLD_DRIFTED, THRESHOLD_DECLARED)}
    lambda_group = f"tcp 8086 from {p.lambda_security_group_id}"
    assert fields(resources[(SECURITY_GROUP, f"{env.prefix}-influxdb")]) == {
        "ingress": (sorted(["tcp 8086 from 0.0.0.0/0", lambda_group]), [lambda_group])}
    # The validation stage reports the open rule without failing the plan (the real run removes it).
    assert f"Open to the internet: {env.prefix}-influxdb ({p.security_group_id}) allows tcp port 8086-8086 from 0.0.0.0/0" \
        in " ".join(plan.stdout.split())
    # The summary as printed.
    assert "Plan: would add 0, change 5 and destroy 0 resource(s)." in plan.stdout
    assert f'~ {ALARM} "{p.alarm_name}" (would change)' in plan.stdout
    assert f'~ threshold: {THRESHOLD_DRIFTED} -> {THRESHOLD_DECLARED}' in plan.stdout

    # 2. A normal run puts the five back.
    apply = site_runner.run(env, diff=True)
    assert apply.rc == 0, apply.output()
    assert apply.recap["changed"] >= 5
    # The apply's summary: amazon.aws's VPC and alarm modules return no diff, so outside check mode the plan
    # callback cannot tell a change from a creation.
    applied = {(r["type"], r["name"]): r["action"] for r in apply.plan["resources"]}
    assert applied == {(VPC, f"{env.prefix}-vpc"): "unknown", (SECURITY_GROUP, f"{env.prefix}-influxdb"): "change",
                       (BUCKET, p.bucket): "change", (ALARM, p.alarm_name): "unknown", (INSTANCE, env.prefix): "change"}, \
        json.dumps(apply.plan, indent=1)
    wait_available(aws_sandbox, p)
    assert state(aws_sandbox, p) == DECLARED
    # ... and nothing else moved: everything the platform has is as its first build left it.
    now = platform_state(aws_sandbox, env)
    assert now == site_platform.state, "\n".join(diff_states(now, site_platform.state)[:40])

    # 3. Again: nothing changes, no mutating call.
    again = site_runner.run(env)
    assert again.rc == 0, again.output()
    assert again.recap["changed"] == 0, again.output()
    assert again.mutating == [], again.mutating
    assert again.requests, "the run made no AWS request at all: the request log does not see this environment"
    assert "No changes: the resources already matched the playbooks." in again.stdout
    assert state(aws_sandbox, p) == DECLARED
