"""End to end through the AWS sandbox: a Timestream for InfluxDB instance gets a real sandbox InfluxDB
server (sandbox.influxdb.install), onboarded with the instance's credentials; an operator reads them
from the instance's auth-parameters secret, signs in with username/password, creates a token and
uses it; a backup restored into a new instance brings the data back; deleting stops the server.

As on AWS (own endpoint host per instance, the configured port), every instance gets a loopback
address of its own (127.0.0.2, ...) and its server listens there on the configured port."""

from __future__ import annotations

import ipaddress
import json
import socket
import uuid

import pytest
import requests
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from sandbox import instance_servers
from sandbox.influxdb import install
from sandbox.influxdb.auth import ORG_TYPES

T0 = 1_700_000_000_000_000_000


def _sandbox_with_influx(tmp_path, tls: bool):
    from sandbox.aws.server import SandboxServer

    previous = instance_servers.get_manager()
    manager = install(tmp_path / "state", tls=tls)
    server = SandboxServer("127.0.0.1", 0, delay=0.1)
    server.start_in_thread()
    try:
        yield server, manager
    finally:
        server.shutdown()
        manager.stop_all()
        instance_servers.install_manager(previous)


@pytest.fixture
def aws_with_influx(tmp_path):
    yield from _sandbox_with_influx(tmp_path, tls=False)


@pytest.fixture
def aws_with_influx_tls(tmp_path):
    yield from _sandbox_with_influx(tmp_path, tls=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def _own_loopback(host: str) -> bool:
    ip = ipaddress.ip_address(host)
    return ip.is_loopback and ip != ipaddress.ip_address("127.0.0.1")


def _create(ts, subnets, sg, **params):
    params = {"name": f"e2e-{uuid.uuid4().hex[:6]}", "password": "Passw0rd99", "organization": "ons",
              "bucket": "metrics", "dbInstanceType": "db.influx.medium", "vpcSubnetIds": subnets,
              "vpcSecurityGroupIds": [sg], "allocatedStorage": 20, **params}
    return ts.create_db_instance(**params)["id"]


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


def test_default_port_instances_get_their_own_address(aws_with_influx):
    from sandbox.client import boto3_client, wait_for_db_instance

    server, _manager = aws_with_influx
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    tenants = {
        _create(ts, subnets, sg, username="alice", password="AlicePassw0rd", organization="org-a", bucket="bkt-a"):
            ("alice", "AlicePassw0rd", "org-a", "bkt-a"),
        _create(ts, subnets, sg, username="bob", password="BobPassw0rd99", organization="org-b", bucket="bkt-b"):
            ("bob", "BobPassw0rd99", "org-b", "bkt-b"),
    }
    instances = {iid: wait_for_db_instance(ts, iid) for iid in tenants}
    # the configured port (8086 by default), as AWS reports it; an endpoint host each
    assert {i["port"] for i in instances.values()} == {8086}
    endpoints = [i["endpoint"] for i in instances.values()]
    assert len(set(endpoints)) == 2 and all(_own_loopback(e) for e in endpoints)
    for iid, (user, password, org, bucket) in tenants.items():
        url = f"http://{instances[iid]['endpoint']}:8086"
        with InfluxDBClient(url=url, username=user, password=password, org=org, timeout=20_000) as client:
            assert [o.name for o in client.organizations_api().find_organizations()] == [org]
            names = {b.name for b in client.buckets_api().find_buckets().buckets}
            assert names == {bucket, "_monitoring", "_tasks"}
        # the other tenant's credentials do not open this server
        other = next(v for k, v in tenants.items() if k != iid)
        r = requests.post(url + "/api/v2/signin", auth=(other[0], other[1]), timeout=10)
        assert r.status_code == 401


def test_port_update_moves_the_server_with_its_data(aws_with_influx):
    from sandbox.client import boto3_client, wait_for_db_instance

    server, _manager = aws_with_influx
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    old_port = _free_port()
    iid = _create(ts, subnets, sg, port=old_port)
    inst = wait_for_db_instance(ts, iid)
    assert inst["port"] == old_port
    old_url = f"http://{inst['endpoint']}:{old_port}"
    token = _all_access_token(old_url, "admin", "Passw0rd99", "ons")
    with InfluxDBClient(url=old_url, token=token, org="ons") as client:
        client.write_api(write_options=SYNCHRONOUS).write("metrics", "ons", f"cpu v=3 {T0}")

    new_port = _free_port()
    ts.update_db_instance(identifier=iid, port=new_port)
    moved = wait_for_db_instance(ts, iid)
    assert moved["port"] == new_port and moved["endpoint"] == inst["endpoint"]
    assert _refused(inst["endpoint"], old_port)
    with InfluxDBClient(url=f"http://{moved['endpoint']}:{new_port}", token=token, org="ons") as client:
        tables = client.query_api().query('from(bucket: "metrics") |> range(start: 0)')
        assert [r.get_value() for t in tables for r in t.records] == [3.0]


def test_deleting_an_instance_frees_its_address(aws_with_influx):
    from sandbox.client import boto3_client, wait_for_db_instance

    server, manager = aws_with_influx
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    port = _free_port()
    first = wait_for_db_instance(ts, _create(ts, subnets, sg, port=port))
    assert manager.address(first["id"]) == first["endpoint"]
    ts.delete_db_instance(identifier=first["id"])
    wait_for_db_instance(ts, first["id"], status="DELETED")
    assert manager.address(first["id"]) is None
    assert _refused(first["endpoint"], port)
    # the address is free again: the next instance with that port gets it
    second = wait_for_db_instance(ts, _create(ts, subnets, sg, port=port))
    assert (second["endpoint"], second["port"]) == (first["endpoint"], port)
    assert requests.get(f"http://{second['endpoint']}:{port}/ping", timeout=10).status_code == 204


def test_tls_certificate_names_the_instance_address(aws_with_influx_tls):
    from sandbox.client import boto3_client, wait_for_db_instance

    server, manager = aws_with_influx_tls
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    inst = wait_for_db_instance(ts, _create(ts, subnets, sg))
    assert _own_loopback(inst["endpoint"]) and inst["port"] == 8086
    url = f"https://{inst['endpoint']}:{inst['port']}"
    ca = str(manager.ca_path)
    assert requests.get(url + "/health", verify=ca, timeout=10).json()["status"] == "pass"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url + "/health", timeout=10)  # not trusted without the CA
    with InfluxDBClient(url=url, username="admin", password="Passw0rd99", org="ons", ssl_ca_cert=ca) as client:
        assert "metrics" in {b.name for b in client.buckets_api().find_buckets().buckets}


def test_cluster_port_update_moves_its_server(aws_with_influx):
    from sandbox.client import boto3_client, wait_for

    server, manager = aws_with_influx
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _network(boto3_client(server.endpoint, "ec2"))
    old_port = _free_port()
    cid = ts.create_db_cluster(
        name=f"cl-{uuid.uuid4().hex[:6]}", password="Passw0rd99", organization="ons", bucket="metrics",
        dbInstanceType="db.influx.medium", allocatedStorage=20, vpcSubnetIds=subnets, vpcSecurityGroupIds=[sg],
        deploymentType="MULTI_NODE_READ_REPLICAS", port=old_port)["dbClusterId"]

    def available():
        c = ts.get_db_cluster(dbClusterId=cid)
        return c if c["status"] == "AVAILABLE" else None

    cluster = wait_for(available, 20, what="cluster AVAILABLE")
    assert cluster["port"] == old_port and _own_loopback(cluster["endpoint"])
    new_port = _free_port()
    assert ts.update_db_cluster(dbClusterId=cid, port=new_port)["dbClusterStatus"] == "UPDATING"
    moved = wait_for(available, 20, what="cluster AVAILABLE again")
    assert (moved["endpoint"], moved["port"]) == (cluster["endpoint"], new_port)
    assert manager.address(cid) == moved["endpoint"]
    assert _refused(cluster["endpoint"], old_port)
    members = ts.list_db_instances_for_cluster(dbClusterId=cid)["items"]
    assert members and {m["port"] for m in members} == {new_port}
    url = f"http://{moved['endpoint']}:{new_port}"
    assert requests.get(url + "/health", timeout=10).json()["status"] == "pass"
