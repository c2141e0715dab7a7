"""Timestream for InfluxDB parameter groups, backups and restore, clusters, tags and pagination
in the sandbox (boto3 and the AWS CLI as clients)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.client import wait_for, wait_for_db_instance

pytestmark = pytest.mark.sandbox


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _instance(ts, vpc, **overrides):
    params = {
        "name": _name("db"),
        "password": "Passw0rdPassw0rd",
        "dbInstanceType": "db.influx.medium",
        "vpcSubnetIds": vpc.subnet_ids,
        "vpcSecurityGroupIds": [vpc.security_group_id],
        "allocatedStorage": 20,
        "organization": "ons",
        "bucket": "metrics",
    }
    params.update(overrides)
    created = ts.create_db_instance(**params)
    return wait_for_db_instance(ts, created["id"])


def _aws_cli(aws_sandbox, *args):
    aws = Path(sys.executable).parent / "aws"
    proc = subprocess.run(
        [str(aws), "--endpoint-url", aws_sandbox.endpoint, "--output", "json", *args],
        env=aws_sandbox.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc


# ---------------------------------------------------------------- parameter groups
def test_parameter_group_create_get_list(aws_sandbox):
    ts = aws_sandbox.client("timestream-influxdb")
    params = {
        "InfluxDBv2": {
            "fluxLogEnabled": True,
            "logLevel": "debug",
            "queryConcurrency": 16,
            "httpIdleTimeout": {"durationType": "minutes", "value": 3},
            "storageCacheMaxMemorySize": 1073741824,
        }
    }
    name = _name("pg")
    created = ts.create_db_parameter_group(
        name=name, description="tuned", parameters=params, tags={"team": "ons"}
    )
    assert created["name"] == name and created["parameters"] == params
    got = ts.get_db_parameter_group(identifier=created["id"])
    assert got["parameters"] == params and got["description"] == "tuned"
    assert ts.list_tags_for_resource(resourceArn=created["arn"])["tags"] == {
        "team": "ons"
    }
    listed = [
        g for g in ts.list_db_parameter_groups()["items"] if g["id"] == created["id"]
    ]
    assert listed == [
        {
            "id": created["id"],
            "name": name,
            "arn": created["arn"],
            "description": "tuned",
        }
    ]
    with pytest.raises(ts.exceptions.ConflictException):
        ts.create_db_parameter_group(name=name)
    # no update or delete operation exists, as on AWS
    assert not hasattr(ts, "delete_db_parameter_group") and not hasattr(
        ts, "update_db_parameter_group"
    )


@pytest.mark.parametrize(
    "parameters",
    [
        {"InfluxDBv2": {"queryConcurrency": 257}},
        {"InfluxDBv2": {"logLevel": "trace"}},
        {"InfluxDBv2": {"httpIdleTimeout": {"durationType": "weeks", "value": 1}}},
        {"InfluxDBv2": {"httpIdleTimeout": {"durationType": "hours"}}},
        {"InfluxDBv2": {"sessionLength": 0}},
        {"InfluxDBv2": {"noTasks": "yes"}},
        {},
        {"InfluxDBv2": {}, "InfluxDBv3Core": {}},
    ],
)
def test_parameter_group_validation(aws_sandbox, parameters):
    raw = aws_sandbox.client(
        "timestream-influxdb", config=Config(parameter_validation=False)
    )
    with pytest.raises(ClientError) as info:
        raw.create_db_parameter_group(name=_name("pg"), parameters=parameters)
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_instance_uses_parameter_group(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.create_db_instance(
            name=_name("db"),
            password="Passw0rd1",
            dbInstanceType="db.influx.medium",
            vpcSubnetIds=aws_vpc.subnet_ids,
            vpcSecurityGroupIds=[aws_vpc.security_group_id],
            allocatedStorage=20,
            dbParameterGroupIdentifier="nosuchgroup1",
            organization="ons",
            bucket="metrics",
        )
    pg = ts.create_db_parameter_group(
        name=_name("pg"), parameters={"InfluxDBv2": {"logLevel": "error"}}
    )
    inst = _instance(ts, aws_vpc)
    updated = ts.update_db_instance(
        identifier=inst["id"], dbParameterGroupIdentifier=pg["id"]
    )
    assert (
        updated["status"] == "UPDATING"
        and updated["dbParameterGroupIdentifier"] == pg["id"]
    )
    wait_for_db_instance(ts, inst["id"])
    ts.delete_db_instance(identifier=inst["id"])


# ---------------------------------------------------------------- pagination
def test_pagination_on_every_list_call(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    groups = {ts.create_db_parameter_group(name=_name("pp"))["id"] for _ in range(5)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"maxResults": 2, **({"nextToken": token} if token else {})}
        page = ts.list_db_parameter_groups(**kwargs)
        assert len(page["items"]) <= 2
        seen += [g["id"] for g in page["items"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert groups <= set(seen) and len(seen) == len(set(seen)) and pages >= 3
    # boto3 paginators work for instances, backups and clusters too
    created = [_instance(ts, aws_vpc)["id"] for _ in range(3)]
    for op in (
        "list_db_instances",
        "list_db_backups",
        "list_db_clusters",
        "list_db_parameter_groups",
    ):
        items = [
            i
            for page in ts.get_paginator(op).paginate(PaginationConfig={"PageSize": 1})
            for i in page["items"]
        ]
        if op == "list_db_instances":
            assert set(created) <= {i["id"] for i in items}
    with pytest.raises(ts.exceptions.ValidationException):
        ts.list_db_instances(nextToken="garbage")
    for iid in created:
        ts.delete_db_instance(identifier=iid)


# ---------------------------------------------------------------- tags
def test_tags_on_instances(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    inst = _instance(ts, aws_vpc, tags={"env": "dev", "owner": "ons"})
    arn = inst["arn"]
    assert ts.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "env": "dev",
        "owner": "ons",
    }
    ts.tag_resource(resourceArn=arn, tags={"env": "prod", "cost": "42"})
    ts.untag_resource(resourceArn=arn, tagKeys=["owner"])
    assert ts.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "env": "prod",
        "cost": "42",
    }
    with pytest.raises(ts.exceptions.ServiceQuotaExceededException):
        ts.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(199)})
    missing = arn.rsplit("/", 1)[0] + "/nosuchinstance"
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.list_tags_for_resource(resourceArn=missing)
    ts.delete_db_instance(identifier=inst["id"])


# ---------------------------------------------------------------- backups and restore
def test_backup_and_restore_new_resource(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    src = _instance(ts, aws_vpc, dbInstanceType="db.influx.large", allocatedStorage=50)
    backup = ts.create_db_backup(
        name=_name("bk"), dbResourceId=src["id"], retentionDays=7, tags={"k": "v"}
    )
    assert backup["status"] == "IN_PROGRESS" and backup["dbResourceId"] == src["id"]
    assert backup["type"] == "ON_DEMAND" and backup["expiresAfter"]
    with pytest.raises(ts.exceptions.ConflictException):
        ts.restore_from_db_backup(name=_name("rs"), dbBackupId=backup["id"])
    with pytest.raises(ts.exceptions.ConflictException):
        ts.delete_db_backup(identifier=backup["id"])
    wait_for(
        lambda: ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED",
        30,
        what="backup",
    )
    assert [b["id"] for b in ts.list_db_backups(dbResourceId=src["id"])["items"]] == [
        backup["id"]
    ]
    assert ts.list_tags_for_resource(resourceArn=backup["arn"])["tags"] == {"k": "v"}

    name = _name("rs")
    restored = ts.restore_from_db_backup(
        name=name, dbBackupId=backup["id"], tags={"restored": "yes"}
    )
    assert (
        restored["restoreStatus"] == "RESTORING"
        and restored["resourceType"] == "DB_INSTANCE"
    )
    assert (
        ts.get_db_instance(identifier=restored["restoredDbResourceId"])["status"]
        == "RESTORING"
    )
    inst = wait_for_db_instance(ts, restored["restoredDbResourceId"])
    assert (
        inst["name"] == name
        and inst["dbInstanceType"] == "db.influx.large"
        and inst["allocatedStorage"] == 50
    )
    assert inst["endpoint"]
    sm = aws_sandbox.client("secretsmanager")
    auth = json.loads(
        sm.get_secret_value(SecretId=inst["influxAuthParametersSecretArn"])[
            "SecretString"
        ]
    )
    assert auth == {
        "username": "admin",
        "password": "Passw0rdPassw0rd",
        "organization": "ons",
        "bucket": "metrics",
    }
    with pytest.raises(ts.exceptions.ConflictException):
        ts.restore_from_db_backup(name=name, dbBackupId=backup["id"])

    assert ts.delete_db_backup(identifier=backup["id"])["status"] == "DELETING"
    wait_for(
        lambda: backup["id"] not in [b["id"] for b in ts.list_db_backups()["items"]],
        30,
        what="backup gone",
    )
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.get_db_backup(identifier=backup["id"])
    for iid in (src["id"], inst["id"]):
        ts.delete_db_instance(identifier=iid)


def test_restore_replace_existing(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    src = _instance(ts, aws_vpc)
    backup = ts.create_db_backup(name=_name("bk"), dbResourceId=src["id"])
    wait_for(
        lambda: ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED",
        30,
        what="backup",
    )
    out = ts.restore_from_db_backup(
        name=src["name"], dbBackupId=backup["id"], restoreMode="REPLACE_EXISTING"
    )
    assert out["restoredDbResourceId"] == src["id"]
    assert ts.get_db_instance(identifier=src["id"])["status"] == "RESTORING"
    wait_for_db_instance(ts, src["id"])
    ts.delete_db_instance(identifier=src["id"])


def test_backup_of_busy_or_missing_resource(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.create_db_backup(name=_name("bk"), dbResourceId="nosuchinstance")
    created = ts.create_db_instance(
        name=_name("db"),
        password="Passw0rd1",
        dbInstanceType="db.influx.medium",
        vpcSubnetIds=aws_vpc.subnet_ids,
        vpcSecurityGroupIds=[aws_vpc.security_group_id],
        allocatedStorage=20,
        organization="ons",
        bucket="metrics",
    )
    with pytest.raises(ts.exceptions.ConflictException):
        ts.create_db_backup(name=_name("bk"), dbResourceId=created["id"])
    wait_for_db_instance(ts, created["id"])
    ts.delete_db_instance(identifier=created["id"])


# ---------------------------------------------------------------- clusters
def test_cluster_lifecycle(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    name = _name("cl")
    created = ts.create_db_cluster(
        name=name,
        password="Passw0rd1",
        dbInstanceType="db.influx.medium",
        allocatedStorage=20,
        vpcSubnetIds=aws_vpc.subnet_ids,
        vpcSecurityGroupIds=[aws_vpc.security_group_id],
        deploymentType="MULTI_NODE_READ_REPLICAS",
        tags={"t": "1"},
        organization="ons",
        bucket="metrics",
    )
    cid = created["dbClusterId"]
    assert created["dbClusterStatus"] == "CREATING"
    with pytest.raises(ts.exceptions.ConflictException):
        ts.create_db_cluster(
            name=name,
            password="Passw0rd1",
            dbInstanceType="db.influx.medium",
            allocatedStorage=20,
            organization="ons",
            bucket="metrics",
            vpcSubnetIds=aws_vpc.subnet_ids,
            vpcSecurityGroupIds=[aws_vpc.security_group_id],
        )
    cluster = wait_for(
        lambda: (
            (c := ts.get_db_cluster(dbClusterId=cid))["status"] == "AVAILABLE" and c
        ),
        30,
        what="cluster available",
    )
    assert (
        cluster["engineType"] == "INFLUXDB_V2"
        and cluster["endpoint"]
        and cluster["readerEndpoint"]
    )
    members = ts.list_db_instances_for_cluster(dbClusterId=cid)["items"]
    # cluster members are listed with their cluster, not among the standalone instances
    standalone = {i["id"] for i in ts.list_db_instances()["items"]}
    assert not standalone & {m["id"] for m in members}
    assert sorted(m["instanceMode"] for m in members) == ["PRIMARY", "REPLICA"]
    assert all(m["status"] == "AVAILABLE" for m in members)
    page = ts.list_db_instances_for_cluster(dbClusterId=cid, maxResults=1)
    assert len(page["items"]) == 1 and page["nextToken"]
    assert cid in [c["id"] for c in ts.list_db_clusters()["items"]]
    assert ts.list_tags_for_resource(resourceArn=cluster["arn"])["tags"] == {"t": "1"}
    # members belong to the cluster: not changed one by one
    with pytest.raises(ts.exceptions.ValidationException):
        ts.delete_db_instance(identifier=members[0]["id"])

    with pytest.raises(ts.exceptions.ValidationException):
        ts.update_db_cluster(dbClusterId=cid, dbInstanceType="db.influx.medium")
    assert (
        ts.update_db_cluster(dbClusterId=cid, dbInstanceType="db.influx.large")[
            "dbClusterStatus"
        ]
        == "UPDATING_INSTANCE_TYPE"
    )
    with pytest.raises(ts.exceptions.ConflictException):
        ts.reboot_db_cluster(dbClusterId=cid)
    wait_for(
        lambda: ts.get_db_cluster(dbClusterId=cid)["status"] == "AVAILABLE",
        30,
        what="cluster updated",
    )
    assert {
        m["dbInstanceType"]
        for m in ts.list_db_instances_for_cluster(dbClusterId=cid)["items"]
    } == {"db.influx.large"}
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.reboot_db_cluster(dbClusterId=cid, instanceIds=["nosuchmember"])
    assert (
        ts.reboot_db_cluster(dbClusterId=cid, instanceIds=[members[1]["id"]])[
            "dbClusterStatus"
        ]
        == "REBOOTING"
    )
    wait_for(
        lambda: ts.get_db_cluster(dbClusterId=cid)["status"] == "AVAILABLE",
        30,
        what="cluster rebooted",
    )

    backup = ts.create_db_backup(name=_name("cb"), dbResourceId=cid)
    wait_for(
        lambda: ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED",
        30,
        what="backup",
    )
    restored = ts.restore_from_db_backup(name=_name("cr"), dbBackupId=backup["id"])
    assert restored["resourceType"] == "DB_CLUSTER"
    rid = restored["restoredDbResourceId"]
    wait_for(
        lambda: ts.get_db_cluster(dbClusterId=rid)["status"] == "AVAILABLE",
        30,
        what="restored cluster",
    )

    for c in (cid, rid):
        assert ts.delete_db_cluster(dbClusterId=c)["dbClusterStatus"] == "DELETING"
    for c in (cid, rid):
        wait_for(
            lambda c=c: c not in [x["id"] for x in ts.list_db_clusters()["items"]],
            30,
            what="cluster gone",
        )
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.get_db_instance(identifier=members[0]["id"])


def test_v2_cluster_requires_instance_settings(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    with pytest.raises(ts.exceptions.ValidationException):
        ts.create_db_cluster(
            name=_name("cl"),
            vpcSubnetIds=aws_vpc.subnet_ids,
            vpcSecurityGroupIds=[aws_vpc.security_group_id],
        )


# ---------------------------------------------------------------- AWS CLI
def test_aws_cli_drives_the_backend(aws_sandbox, aws_vpc):
    name = _name("cli")
    proc = _aws_cli(
        aws_sandbox,
        "timestream-influxdb",
        "create-db-instance",
        "--name",
        name,
        "--password",
        "Passw0rd1",
        "--db-instance-type",
        "db.influx.medium",
        "--allocated-storage",
        "20",
        "--organization",
        "ons",
        "--bucket",
        "metrics",
        "--vpc-subnet-ids",
        *aws_vpc.subnet_ids,
        "--vpc-security-group-ids",
        aws_vpc.security_group_id,
    )
    assert proc.returncode == 0, proc.stderr
    iid = json.loads(proc.stdout)["id"]
    ts = aws_sandbox.client("timestream-influxdb")
    wait_for_db_instance(ts, iid)
    proc = _aws_cli(
        aws_sandbox, "timestream-influxdb", "get-db-instance", "--identifier", iid
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["status"] == "AVAILABLE"
    proc = _aws_cli(
        aws_sandbox,
        "timestream-influxdb",
        "update-db-instance",
        "--identifier",
        iid,
        "--db-instance-type",
        "db.influx.medium",
    )
    assert proc.returncode != 0 and "ValidationException" in proc.stderr
    proc = _aws_cli(
        aws_sandbox, "timestream-influxdb", "delete-db-instance", "--identifier", iid
    )
    assert proc.returncode == 0, proc.stderr
    wait_for_db_instance(ts, iid, "DELETED")


def test_regions_are_separate(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    inst = _instance(ts, aws_vpc)
    other = aws_sandbox.client("timestream-influxdb", region="eu-west-1")
    assert inst["id"] not in [i["id"] for i in other.list_db_instances()["items"]]
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_db_instance(identifier=inst["id"])
    # the us-east-1 subnets do not exist in eu-west-1
    with pytest.raises(other.exceptions.ValidationException):
        other.create_db_instance(
            name=_name("db"),
            password="Passw0rd1",
            dbInstanceType="db.influx.medium",
            vpcSubnetIds=aws_vpc.subnet_ids,
            vpcSecurityGroupIds=[aws_vpc.security_group_id],
            allocatedStorage=20,
            organization="ons",
            bucket="metrics",
        )
    ts.delete_db_instance(identifier=inst["id"])
