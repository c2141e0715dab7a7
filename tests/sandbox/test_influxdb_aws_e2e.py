"""End to end through the AWS sandbox: a Timestream for InfluxDB instance gets a real sandbox InfluxDB
server (sandbox.influxdb.install), onboarded with the instance's credentials; an operator reads them
from the instance's auth-parameters secret, signs in with username/password, creates a token and
uses it; a backup restored into a new instance brings the data back; deleting stops the server."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from sandbox import instance_servers
from sandbox.influxdb import install
from sandbox.influxdb.auth import ORG_TYPES

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def aws_with_influx(tmp_path):
    from sandbox.aws.server import SandboxServer

    previous = instance_servers.get_manager()
    manager = install(tmp_path / "state", tls=False)
    server = SandboxServer("127.0.0.1", 0, delay=0.1)
    server.start_in_thread()
    try:
        yield server, manager
    finally:
        server.shutdown()
        manager.stop_all()
        instance_servers.install_manager(previous)


def _network(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{az}")
               ["Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    sg = ec2.create_security_group(GroupName=f"e2e-{uuid.uuid4().hex[:6]}", Description="d", VpcId=vpc)["GroupId"]
    return subnets, sg


def _all_access_token(url: str, username: str, password: str, org: str) -> str:
    with InfluxDBClient(url=url, username=username, password=password, org=org, timeout=20_000) as client:
        org_id = client.organizations_api().find_organizations(org=org)[0].id
        perms = [{"action": a, "resource": {"type": t, "orgID": org_id}} for t in ORG_TYPES for a in ("read", "write")]
        return client.authorizations_api().create_authorization(org_id=org_id, permissions=perms).token


def test_timestream_instance_is_backed_by_a_real_server(aws_with_influx):
    from sandbox.client import boto3_client, wait_for, wait_for_db_instance

    server, manager = aws_with_influx
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    sm = boto3_client(server.endpoint, "secretsmanager")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    created = ts.create_db_instance(
        name=f"e2e-{uuid.uuid4().hex[:6]}", username="operator", password="Passw0rd99", organization="ons",
        bucket="metrics", dbInstanceType="db.influx.medium", vpcSubnetIds=subnets, vpcSecurityGroupIds=[sg],
        allocatedStorage=20)
    inst = wait_for_db_instance(ts, created["id"])
    url = f"http://{inst['endpoint']}:{inst['port']}"
    assert requests.get(url + "/health", timeout=10).json()["status"] == "pass"
    assert requests.get(url + "/api/v2/setup", timeout=10).json() == {"allowed": False}

    # what an operator does: credentials from the instance's secret, sign in, create a token
    secret = json.loads(sm.get_secret_value(SecretId=inst["influxAuthParametersSecretArn"])["SecretString"])
    assert (secret["username"], secret["organization"], secret["bucket"]) == ("operator", "ons", "metrics")
    token = _all_access_token(url, secret["username"], secret["password"], secret["organization"])
    with InfluxDBClient(url=url, token=token, org="ons") as client:
        client.write_api(write_options=SYNCHRONOUS).write("metrics", "ons", f"cpu v=1 {T0}")

    backup = ts.create_db_backup(name=f"bk-{uuid.uuid4().hex[:6]}", dbResourceId=created["id"])
    wait_for(lambda: ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED", 20, what="backup")
    with InfluxDBClient(url=url, token=token, org="ons") as client:
        client.write_api(write_options=SYNCHRONOUS).write("metrics", "ons", f"cpu v=2 {T0 + 1}")

    restored = ts.restore_from_db_backup(name=f"rs-{uuid.uuid4().hex[:6]}", dbBackupId=backup["id"])
    rinst = wait_for_db_instance(ts, restored["restoredDbResourceId"])
    rurl = f"http://{rinst['endpoint']}:{rinst['port']}"
    assert rurl != url
    # the backup's data and tokens, not what was written after it
    with InfluxDBClient(url=rurl, token=token, org="ons") as client:
        tables = client.query_api().query('from(bucket: "metrics") |> range(start: 0)')
        assert [r.get_value() for t in tables for r in t.records] == [1.0]

    ts.delete_db_instance(identifier=created["id"])
    wait_for_db_instance(ts, created["id"], status="DELETED")
    assert manager.server(created["id"]) is None
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/ping", timeout=5)
    assert requests.get(rurl + "/ping", timeout=5).status_code == 204
