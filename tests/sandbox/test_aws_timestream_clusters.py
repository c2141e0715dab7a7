"""Timestream for InfluxDB clusters in the sandbox, through boto3: the lifecycle AWS gives a
read-replica cluster (CREATING -> AVAILABLE, UPDATING, REBOOTING, DELETING -> gone, by time), the
InfluxDB server behind its writer and reader endpoints (onboarded with the cluster's credentials,
stopped on delete), and the rules AWS applies beyond the API model."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
import requests
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from sandbox.client import boto3_client, wait_for
from tests.sandbox.test_influxdb_aws_e2e import _network, _sandbox_with_influx

pytestmark = pytest.mark.sandbox

PASSWORD = "Passw0rd99"


@pytest.fixture
def aws_with_influx(tmp_path):
    yield from _sandbox_with_influx(tmp_path, tls=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster_params(subnets, sg, **overrides):
    params = {
        "name": f"cl-{uuid.uuid4().hex[:8]}",
        "password": PASSWORD,
        "organization": "ons",
        "bucket": "metrics",
        "dbInstanceType": "db.influx.medium",
        "allocatedStorage": 20,
        "vpcSubnetIds": subnets,
        "vpcSecurityGroupIds": [sg],
        "deploymentType": "MULTI_NODE_READ_REPLICAS",
    }
    params.update(overrides)
    return params


def _statuses_until(ts, cid, until, timeout=20.0):
    """The distinct statuses of the cluster and of its instances seen until ``until``."""
    seen: list[tuple[str, tuple[str, ...]]] = []

    def poll():
        status = ts.get_db_cluster(dbClusterId=cid)["status"]
        members = tuple(m["status"] for m in ts.list_db_instances_for_cluster(dbClusterId=cid)["items"])
        if not seen or seen[-1] != (status, members):
            seen.append((status, members))
        return status == until

    wait_for(poll, timeout, interval=0.02, what=f"cluster {cid} -> {until}")
    return seen


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_cluster_lifecycle_and_its_influxdb_server(aws_with_influx):
    server, manager = aws_with_influx
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    port = _free_port()
    created = ts.create_db_cluster(**_cluster_params(subnets, sg, port=port, tags={"team": "ons"}))
    cid = created["dbClusterId"]
    assert created["dbClusterStatus"] == "CREATING"
    creating = ts.get_db_cluster(dbClusterId=cid)
    assert creating["status"] == "CREATING" and "endpoint" not in creating and "readerEndpoint" not in creating

    seen = _statuses_until(ts, cid, "AVAILABLE")
    assert seen[0] == ("CREATING", ("CREATING", "CREATING"))
    assert seen[-1] == ("AVAILABLE", ("AVAILABLE", "AVAILABLE"))
    cluster = ts.get_db_cluster(dbClusterId=cid)
    assert cluster["engineType"] == "INFLUXDB_V2" and cluster["failoverMode"] == "AUTOMATIC"
    assert cluster["port"] == port
    members = ts.list_db_instances_for_cluster(dbClusterId=cid)["items"]
    assert sorted(m["instanceMode"] for m in members) == ["PRIMARY", "REPLICA"]

    # The writer's and the reader's endpoint reach the cluster's InfluxDB, onboarded with its
    # credentials: what is written through the writer is read through the reader.
    writer = f"http://{cluster['endpoint']}:{cluster['port']}"
    reader = f"http://{cluster['readerEndpoint']}:{cluster['port']}"
    for url in (writer, reader):
        assert requests.get(url + "/health", timeout=10).json()["status"] == "pass"
    with InfluxDBClient(url=writer, username="admin", password=PASSWORD, org="ons", timeout=20_000) as client:
        client.write_api(write_options=SYNCHRONOUS).write("metrics", record="cpu,host=a usage=1.5 1700000000000000000")
    with InfluxDBClient(url=reader, username="admin", password=PASSWORD, org="ons", timeout=20_000) as client:
        tables = client.query_api().query('from(bucket:"metrics") |> range(start: 0)')
        assert [r.get_value() for t in tables for r in t.records] == [1.5]

    # UpdateDbCluster: UPDATING for the cluster and every instance, then AVAILABLE.
    assert ts.update_db_cluster(dbClusterId=cid, failoverMode="NO_FAILOVER")["dbClusterStatus"] == "UPDATING"
    seen = _statuses_until(ts, cid, "AVAILABLE")
    assert seen[0] == ("UPDATING", ("UPDATING", "UPDATING"))
    assert ts.get_db_cluster(dbClusterId=cid)["failoverMode"] == "NO_FAILOVER"

    # RebootDbCluster of the whole cluster.
    assert ts.reboot_db_cluster(dbClusterId=cid)["dbClusterStatus"] == "REBOOTING"
    assert _statuses_until(ts, cid, "AVAILABLE")[0] == ("REBOOTING", ("REBOOTING", "REBOOTING"))

    # DeleteDbCluster: DELETING, then the cluster, its instances, its secret and its server are gone.
    secret_arn = cluster["influxAuthParametersSecretArn"]
    assert ts.delete_db_cluster(dbClusterId=cid)["dbClusterStatus"] == "DELETING"
    assert ts.get_db_cluster(dbClusterId=cid)["status"] == "DELETING"

    def gone():
        try:
            ts.get_db_cluster(dbClusterId=cid)
        except ts.exceptions.ResourceNotFoundException:
            return True
        return False

    wait_for(gone, 20, what="cluster deleted")
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.list_db_instances_for_cluster(dbClusterId=cid)
    assert manager.server(cid) is None
    assert _refused(cluster["endpoint"], cluster["port"])
    sm = boto3_client(server.endpoint, "secretsmanager")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId=secret_arn)


@pytest.fixture
def one_az_network(aws_sandbox):
    """Two subnets, both in us-east-1a, and a security group; deleted afterwards."""
    ec2 = aws_sandbox.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        for i in (1, 2)
    ]
    sg = ec2.create_security_group(GroupName=f"one-az-{uuid.uuid4().hex[:6]}", Description="d", VpcId=vpc)["GroupId"]
    yield subnets, sg
    ec2.delete_security_group(GroupId=sg)
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"port": 8090}, "Port 8090 is reserved"),
        ({"name": "_cluster"}, "must start with a letter"),
        ({"dbStorageType": "InfluxIOIncludedT2", "allocatedStorage": 100}, "below the minimum of 400 GiB"),
        ({"password": None, "allocatedStorage": None}, "requires password, allocatedStorage"),
        ({"organization": None}, "organization is required"),
        (
            {"deploymentConfiguration": {"InfluxDBv3Enterprise": {"nodeGroups": [
                {"instanceModes": ["INGEST", "QUERY"], "instanceType": "db.influx.large", "count": 2}]}}},
            "MULTI_NODE_READ_REPLICAS is an InfluxDB v2 deployment",
        ),
    ],
)
def test_create_refuses_what_aws_refuses(aws_sandbox, aws_vpc, overrides, words):
    ts = aws_sandbox.client("timestream-influxdb")
    params = {k: v for k, v in _cluster_params(aws_vpc.subnet_ids, aws_vpc.security_group_id, **overrides).items()
              if v is not None}
    with pytest.raises(ts.exceptions.ValidationException, match=words):
        ts.create_db_cluster(**params)
    assert params["name"] not in [c["name"] for c in ts.list_db_clusters()["items"]]


def test_a_read_replica_cluster_needs_two_availability_zones(aws_sandbox, one_az_network):
    ts = aws_sandbox.client("timestream-influxdb")
    subnets, sg = one_az_network
    with pytest.raises(ts.exceptions.ValidationException, match="different Availability Zones"):
        ts.create_db_cluster(**_cluster_params(subnets, sg))


def test_busy_clusters_refuse_changes_and_v2_refuses_a_v3_deployment(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    cid = ts.create_db_cluster(**_cluster_params(aws_vpc.subnet_ids, aws_vpc.security_group_id))["dbClusterId"]
    # while CREATING, no update, reboot or delete
    for call in (
        lambda: ts.update_db_cluster(dbClusterId=cid, failoverMode="NO_FAILOVER"),
        lambda: ts.reboot_db_cluster(dbClusterId=cid),
        lambda: ts.delete_db_cluster(dbClusterId=cid),
    ):
        with pytest.raises(ts.exceptions.ConflictException):
            call()
    wait_for(lambda: ts.get_db_cluster(dbClusterId=cid)["status"] == "AVAILABLE", 20, what="cluster available")
    with pytest.raises(ts.exceptions.ValidationException, match="already has the requested value"):
        ts.update_db_cluster(dbClusterId=cid, failoverMode="AUTOMATIC")
    with pytest.raises(ts.exceptions.ValidationException, match="InfluxDB 3 Enterprise clusters only"):
        ts.update_db_cluster(dbClusterId=cid, deploymentConfiguration={"InfluxDBv3Enterprise": {"nodeGroups": [
            {"instanceModes": ["INGEST"], "instanceType": "db.influx.large", "count": 1}]}})
    # the auth-parameters secret holds the onboarding parameters
    secret = aws_sandbox.client("secretsmanager").get_secret_value(
        SecretId=ts.get_db_cluster(dbClusterId=cid)["influxAuthParametersSecretArn"])
    assert json.loads(secret["SecretString"]) == {
        "username": "admin", "password": PASSWORD, "organization": "ons", "bucket": "metrics"}
    ts.delete_db_cluster(dbClusterId=cid)
