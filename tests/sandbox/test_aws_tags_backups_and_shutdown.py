"""Fidelity of the sandbox's Timestream for InfluxDB backend in tags, backups and shutdown:

1. tag operations answer only for resources of the caller's own account and region;
2. tag keys with the reserved ``aws:`` prefix are refused everywhere tags are taken;
3. (throttling's HTTP status: see test_aws_requestlog_faults.py);
4. an instance cannot be deleted while a backup of it is IN_PROGRESS, and a restore from a backup
   whose data is gone fails instead of starting an empty server;
5. once the sandbox closes, a bring-up still under way cannot leave a server listening.

Items 1 and 2 use the session's sandbox. Items 4 and 5 run a sandbox in this process with the real
InfluxDB instance-server manager and without the lifecycle scheduler: the test carries out the
due transitions itself (``tick``), so the interleavings are exact, with no timing involved.
"""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
from botocore.exceptions import ClientError
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from sandbox import instance_servers
from sandbox.aws.timestream_influxdb import RESERVED_PORTS
from sandbox.client import boto3_client
from sandbox.influxdb import InfluxInstanceManager
from sandbox.influxdb.manager import ManagerClosedError
from sandbox.influxdb.storage import DB_FILE

pytestmark = pytest.mark.sandbox

T0 = 1_700_000_000_000_000_000
PASSWORD = "Passw0rdPassw0rd"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def _instance_params(subnets, sg, **overrides):
    params = {
        "name": _name("db"),
        "password": PASSWORD,
        "dbInstanceType": "db.influx.medium",
        "vpcSubnetIds": subnets,
        "vpcSecurityGroupIds": [sg],
        "allocatedStorage": 20,
        "organization": "ons",
        "bucket": "metrics",
    }
    params.update(overrides)
    return params


def _error(info) -> dict:
    return info.value.response["Error"] | {
        "status": info.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "reason": info.value.response.get("reason"),
    }


# ---------------------------------------------------------------- 1. tags are regional
def test_tag_operations_only_see_the_callers_account_and_region(aws_sandbox, aws_vpc):
    ts = aws_sandbox.client("timestream-influxdb")
    created = ts.create_db_instance(
        **_instance_params(
            aws_vpc.subnet_ids, aws_vpc.security_group_id, tags={"env": "dev"}
        )
    )
    arn = created["arn"]
    assert ":us-east-1:" in arn
    try:
        eu = aws_sandbox.client("timestream-influxdb", region="eu-west-1")
        # a client of its own (the fixture's plain clients are shared by the session)
        other_account = boto3_client(aws_sandbox.endpoint, "timestream-influxdb")

        def as_other_account(request, **_):
            request.headers["X-Moto-Account-Id"] = "111122223333"

        other_account.meta.events.register(
            "before-sign.timestream-influxdb.*", as_other_account
        )
        for client in (eu, other_account):
            calls = [
                lambda c=client: c.tag_resource(resourceArn=arn, tags={"env": "prod"}),
                lambda c=client: c.untag_resource(resourceArn=arn, tagKeys=["env"]),
                lambda c=client: c.list_tags_for_resource(resourceArn=arn),
            ]
            for call in calls:
                with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
                    call()
                assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
                assert info.value.response["resourceId"] == arn
        # as GetDbInstance does
        with pytest.raises(eu.exceptions.ResourceNotFoundException):
            eu.get_db_instance(identifier=created["id"])
        # nothing changed; the owner's own endpoint still answers
        assert ts.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev"}
        ts.tag_resource(resourceArn=arn, tags={"env": "prod"})
        assert ts.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    finally:
        from sandbox.client import wait_for_db_instance

        wait_for_db_instance(ts, created["id"])
        ts.delete_db_instance(identifier=created["id"])


# ---------------------------------------------------------------- 2. reserved aws: tag keys
@pytest.mark.parametrize(
    "key", ["aws:owner", "AWS:Owner", "Aws:cloudformation:stack-name"]
)
def test_reserved_tag_keys_are_refused_by_tag_and_untag(aws_sandbox, key):
    ts = aws_sandbox.client("timestream-influxdb")
    group = ts.create_db_parameter_group(name=_name("pg"), tags={"team": "ons"})
    arn = group["arn"]
    with pytest.raises(ts.exceptions.ValidationException) as info:
        ts.tag_resource(resourceArn=arn, tags={"env": "dev", key: "x"})
    err = _error(info)
    assert err["status"] == 400 and err["reason"] == "FIELD_VALIDATION_FAILED"
    assert key in err["Message"]
    with pytest.raises(ts.exceptions.ValidationException) as info:
        ts.untag_resource(resourceArn=arn, tagKeys=["team", key])
    assert key in _error(info)["Message"]
    # neither call changed anything (all or nothing)
    assert ts.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ons"}
    # a key that merely starts with "aws" is the caller's own
    ts.tag_resource(resourceArn=arn, tags={"aws-cost-centre": "42"})
    assert ts.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "team": "ons",
        "aws-cost-centre": "42",
    }


def test_reserved_tag_keys_are_refused_on_create_backup_and_restore(
    aws_sandbox, aws_vpc
):
    ts = aws_sandbox.client("timestream-influxdb")
    bad = {"env": "dev", "aws:createdBy": "me"}
    instance_name, group_name = _name("db"), _name("pg")
    cluster_name, restore_name = _name("cl"), _name("rs")
    calls = {
        "CreateDbInstance": lambda: ts.create_db_instance(
            **_instance_params(
                aws_vpc.subnet_ids,
                aws_vpc.security_group_id,
                name=instance_name,
                tags=bad,
            )
        ),
        "CreateDbParameterGroup": lambda: ts.create_db_parameter_group(
            name=group_name, tags=bad
        ),
        "CreateDbCluster": lambda: ts.create_db_cluster(
            name=cluster_name,
            password=PASSWORD,
            organization="ons",
            bucket="metrics",
            dbInstanceType="db.influx.medium",
            allocatedStorage=20,
            vpcSubnetIds=aws_vpc.subnet_ids,
            vpcSecurityGroupIds=[aws_vpc.security_group_id],
            tags=bad,
        ),
        # the tags are checked before the (here missing) resource or backup is looked up
        "CreateDbBackup": lambda: ts.create_db_backup(
            name=_name("bk"), dbResourceId="nosuchinstance", tags=bad
        ),
        "RestoreFromDbBackup": lambda: ts.restore_from_db_backup(
            name=restore_name, dbBackupId="nosuchbackup", tags=bad
        ),
    }
    for operation, call in calls.items():
        with pytest.raises(ClientError) as info:
            call()
        err = _error(info)
        assert (err["Code"], err["reason"], err["status"]) == (
            "ValidationException",
            "FIELD_VALIDATION_FAILED",
            400,
        ), operation
        assert "aws:createdBy" in err["Message"], operation
    # nothing was created
    assert instance_name not in [i["name"] for i in ts.list_db_instances()["items"]]
    assert group_name not in [g["name"] for g in ts.list_db_parameter_groups()["items"]]
    assert cluster_name not in [c["name"] for c in ts.list_db_clusters()["items"]]


# ---------------------------------------------------------------- in-process harness (4, 5)
class _Harness:
    """A sandbox server in this process, its lifecycle scheduler not running: ``tick()`` carries
    out what is due (the delay is 0, so everything scheduled is due at once)."""

    def __init__(self, manager: InfluxInstanceManager) -> None:
        from sandbox.aws.server import SandboxServer

        self.manager = manager
        self.server = SandboxServer("127.0.0.1", 0, delay=0)
        self.backend = self.server.app.timestream
        self._thread = threading.Thread(
            target=self.server.server.serve_forever, daemon=True
        )
        self._thread.start()
        self.ts = boto3_client(self.server.endpoint, "timestream-influxdb")
        ec2 = boto3_client(self.server.endpoint, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=f"us-east-1{az}"
            )["Subnet"]["SubnetId"]
            for i, az in ((1, "a"), (2, "b"))
        ]
        self.sg = ec2.create_security_group(
            GroupName=_name("sg"), Description="d", VpcId=vpc
        )["GroupId"]

    def tick(self) -> None:
        self.backend.tick()

    def status(self, iid: str) -> str:
        return self.ts.get_db_instance(identifier=iid)["status"]

    def create_instance(self) -> str:
        created = self.ts.create_db_instance(
            **_instance_params(self.subnets, self.sg, port=_free_port())
        )
        return created["id"]

    def close(self) -> None:
        self.server.shutdown()  # stops serving, then SandboxServer.close
        self._thread.join(timeout=30)


@pytest.fixture
def harness_factory(tmp_path):
    previous = instance_servers.get_manager()
    made: list[_Harness] = []

    def make(manager_class=InfluxInstanceManager) -> _Harness:
        manager = manager_class(tmp_path / "state")
        instance_servers.install_manager(manager)
        h = _Harness(manager)
        made.append(h)
        return h

    try:
        yield make
    finally:
        for h in made:
            if not h.server._closed:
                h.close()
            h.manager.stop_all()  # whatever a failed test left running
        instance_servers.install_manager(previous)


def _write_point(url: str, value: float, ts_ns: int) -> None:
    with InfluxDBClient(
        url=url, username="admin", password=PASSWORD, org="ons", timeout=20_000
    ) as c:
        c.write_api(write_options=SYNCHRONOUS).write(
            "metrics", "ons", f"cpu v={value} {ts_ns}"
        )


def _values(url: str) -> list[float]:
    with InfluxDBClient(
        url=url, username="admin", password=PASSWORD, org="ons", timeout=20_000
    ) as c:
        tables = c.query_api().query('from(bucket: "metrics") |> range(start: 0)')
        return [r.get_value() for t in tables for r in t.records]


# ---------------------------------------------------------------- 4. backup / delete race
def test_delete_waits_for_an_in_progress_backup(harness_factory):
    h = harness_factory()
    iid = h.create_instance()
    h.tick()
    inst = h.ts.get_db_instance(identifier=iid)
    assert inst["status"] == "AVAILABLE"
    _write_point(f"http://{inst['endpoint']}:{inst['port']}", 1.0, T0)

    backup = h.ts.create_db_backup(name=_name("bk"), dbResourceId=iid)
    assert backup["status"] == "IN_PROGRESS"
    with pytest.raises(h.ts.exceptions.ConflictException) as info:
        h.ts.delete_db_instance(identifier=iid)
    assert info.value.response["resourceId"] == iid
    assert backup["name"] in info.value.response["Error"]["Message"]
    assert h.status(iid) == "AVAILABLE"  # untouched, still serving
    assert h.manager.server(iid) is not None

    h.tick()  # the backup completes, with the instance's data in it
    assert h.ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED"
    assert (h.manager.backup_dir(backup["id"]) / DB_FILE).is_file()
    h.ts.delete_db_instance(identifier=iid)
    h.tick()
    with pytest.raises(h.ts.exceptions.ResourceNotFoundException):
        h.ts.get_db_instance(identifier=iid)
    assert h.manager.server(iid) is None

    # the backup outlives its instance and brings the data back
    restored = h.ts.restore_from_db_backup(name=_name("rs"), dbBackupId=backup["id"])
    rid = restored["restoredDbResourceId"]
    h.tick()
    rinst = h.ts.get_db_instance(identifier=rid)
    assert rinst["status"] == "AVAILABLE"
    assert _values(f"http://{rinst['endpoint']}:{rinst['port']}") == [1.0]


def test_restore_from_a_backup_without_data_fails(harness_factory):
    h = harness_factory()
    iid = h.create_instance()
    h.tick()
    backup = h.ts.create_db_backup(name=_name("bk"), dbResourceId=iid)
    h.tick()
    assert h.ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED"
    (h.manager.backup_dir(backup["id"]) / DB_FILE).unlink()  # the backup's data is lost

    restored = h.ts.restore_from_db_backup(name=_name("rs"), dbBackupId=backup["id"])
    rid = restored["restoredDbResourceId"]
    h.tick()
    # no empty server in the backup's place: the restore failed and nothing serves the instance
    assert h.status(rid) == "RESTORE_FAILED"
    assert h.manager.server(rid) is None and h.manager.address(rid) is None
    assert "endpoint" not in h.ts.get_db_instance(identifier=rid)

    # restoring over the source fails the same way and leaves its server and data alone
    h.ts.restore_from_db_backup(
        name="ignored", dbBackupId=backup["id"], restoreMode="REPLACE_EXISTING"
    )
    h.tick()
    assert h.status(iid) == "RESTORE_FAILED"
    assert h.manager.server(iid) is not None
    # a failed restore can be deleted
    for i in (rid, iid):
        h.ts.delete_db_instance(identifier=i)
    h.tick()
    assert h.manager.server(iid) is None


# ---------------------------------------------------------------- 5. shutdown is final
class _GatedManager(InfluxInstanceManager):
    """Holds a bring-up between the scheduler's call and the real start, as a slow one would."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entered = threading.Event()
        self.go = threading.Event()

    def start(self, auth):
        self.entered.set()
        assert self.go.wait(60), "the test never let the bring-up go on"
        return super().start(auth)


def test_a_bring_up_after_close_starts_no_server(harness_factory):
    h = harness_factory(_GatedManager)
    iid = h.create_instance()
    bring_up = threading.Thread(target=h.tick, daemon=True)
    bring_up.start()  # the transition to AVAILABLE is under way...
    assert h.manager.entered.wait(60)
    h.close()  # ...when the sandbox shuts down (stop_all has run when this returns)
    h.manager.go.set()
    bring_up.join(timeout=60)
    assert not bring_up.is_alive()
    # the late bring-up was refused: nothing listens for the instance, which failed
    assert h.manager.server(iid) is None and h.manager.address(iid) is None
    assert not h.manager.data_dir(iid).exists()
    (inst,) = [i for i in h.backend.instances_snapshot() if i["id"] == iid]
    assert inst["status"] == "FAILED" and "endpoint" not in inst


def test_a_closed_manager_starts_nothing(tmp_path):
    m = InfluxInstanceManager(tmp_path / "state")
    auth = instance_servers.InstanceAuth(
        "i-1", "db1", "admin", PASSWORD, "ons", "metrics", _free_port()
    )
    try:
        host, port = m.start(auth)
        m.snapshot("i-1", "b-1")
        m.close()
        assert m.closed and m.server("i-1") is None
        with socket.socket() as probe:
            assert probe.connect_ex((host, port)) != 0
        with pytest.raises(ManagerClosedError):
            m.start(auth)
        with pytest.raises(ManagerClosedError):
            m.restore(
                "b-1",
                instance_servers.InstanceAuth(
                    "i-2", "db2", "admin", PASSWORD, "ons", "metrics", _free_port()
                ),
            )
        with pytest.raises(ManagerClosedError):
            m.rebind("i-1", _free_port())
        assert m.server("i-1") is None and m.server("i-2") is None
        m.close()  # idempotent
    finally:
        m.stop_all()


# ---------------------------------------------------------------- 3. throttling is HTTP 429
def test_backend_throttling_error_is_http_429():
    """The backend's own ThrottlingException has the status of the service's model (smithy
    httpError 429); injected throttling is checked in test_aws_requestlog_faults.py."""
    from sandbox.aws.timestream_influxdb import ApiError

    err = ApiError("ThrottlingException", "Rate exceeded")
    assert (err.status, err.body()["__type"]) == (429, "ThrottlingException")
