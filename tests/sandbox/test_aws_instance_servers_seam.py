"""The seam to the per-instance InfluxDB servers (sandbox.instance_servers): which manager calls
the Timestream backend makes, when, and with what onboarding data; and a failed onboarding.

Runs a sandbox server in this process with a manager that records the calls and hands out
addresses, so the reported endpoint can be checked against what the manager returned."""

from __future__ import annotations

import threading
import uuid

import pytest

from sandbox.client import boto3_client, wait_for, wait_for_db_instance
from sandbox.instance_servers import InstanceAuth, get_manager, install_manager

pytestmark = pytest.mark.sandbox


class RecordingManager:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.fail_names: set[str] = set()
        self.fail_ports: set[int] = set()
        self._lock = threading.Lock()
        self._next_port = 41000

    def _address(self) -> tuple[str, int]:
        with self._lock:
            self._next_port += 1
            return "127.0.0.9", self._next_port

    def start(self, auth: InstanceAuth) -> tuple[str, int]:
        self.calls.append(("start", auth))
        if auth.name in self.fail_names:
            raise RuntimeError("onboarding failed")
        return self._address()

    def stop(self, instance_id: str) -> None:
        self.calls.append(("stop", instance_id))

    def rebind(self, instance_id: str, port: int) -> tuple[str, int]:
        self.calls.append(("rebind", instance_id, port))
        if port in self.fail_ports:
            raise OSError(98, "Address already in use")
        return "127.0.0.10", port

    def stop_all(self) -> None:
        self.calls.append(("stop_all",))

    def snapshot(self, instance_id: str, backup_id: str) -> None:
        self.calls.append(("snapshot", instance_id, backup_id))

    def restore(self, backup_id: str, auth: InstanceAuth) -> tuple[str, int]:
        self.calls.append(("restore", backup_id, auth))
        return self._address()

    def delete_snapshot(self, backup_id: str) -> None:
        self.calls.append(("delete_snapshot", backup_id))

    def of(self, kind: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == kind]


@pytest.fixture
def local_sandbox():
    from sandbox.aws.server import SandboxServer

    previous = get_manager()
    manager = RecordingManager()
    install_manager(manager)
    server = SandboxServer("127.0.0.1", 0, delay=0.1)
    server.start_in_thread()
    try:
        yield server, manager
    finally:
        server.shutdown()
        install_manager(previous)


def _vpc(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.7.{i}.0/24", AvailabilityZone=f"us-east-1{az}"
        )["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(
        GroupName=f"seam-{uuid.uuid4().hex[:6]}", Description="d", VpcId=vpc
    )["GroupId"]
    return subnets, sg


def test_manager_calls_through_the_lifecycle(local_sandbox):
    server, manager = local_sandbox
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _vpc(boto3_client(server.endpoint, "ec2"))
    name = f"seam-{uuid.uuid4().hex[:6]}"
    created = ts.create_db_instance(
        name=name,
        username="operator",
        password="Passw0rd99",
        organization="ons",
        bucket="metrics",
        port=9999,
        dbInstanceType="db.influx.medium",
        vpcSubnetIds=subnets,
        vpcSecurityGroupIds=[sg],
        allocatedStorage=20,
    )
    iid = created["id"]
    inst = wait_for_db_instance(ts, iid)
    (start,) = manager.of("start")
    assert start[1] == InstanceAuth(
        iid, name, "operator", "Passw0rd99", "ons", "metrics", 9999
    )
    assert (inst["endpoint"], inst["port"]) == ("127.0.0.9", 41001)

    # reboot and update do not start another server
    ts.reboot_db_instance(identifier=iid)
    wait_for_db_instance(ts, iid)
    assert len(manager.of("start")) == 1

    backup = ts.create_db_backup(name=f"bk-{uuid.uuid4().hex[:6]}", dbResourceId=iid)
    assert manager.of("snapshot") == [("snapshot", iid, backup["id"])]
    wait_for(
        lambda: ts.get_db_backup(identifier=backup["id"])["status"] == "COMPLETED",
        10,
        what="backup",
    )

    restored = ts.restore_from_db_backup(
        name=f"rs-{uuid.uuid4().hex[:6]}", dbBackupId=backup["id"]
    )
    rid = restored["restoredDbResourceId"]
    rinst = wait_for_db_instance(ts, rid)
    (restore,) = manager.of("restore")
    assert restore[1] == backup["id"]
    assert (
        restore[2].instance_id == rid
        and restore[2].password == "Passw0rd99"
        and restore[2].bucket == "metrics"
    )
    assert (rinst["endpoint"], rinst["port"]) == ("127.0.0.9", 41002)
    assert len(manager.of("start")) == 1  # a restore does not also start

    ts.delete_db_backup(identifier=backup["id"])
    wait_for(
        lambda: manager.of("delete_snapshot") == [("delete_snapshot", backup["id"])],
        10,
        what="delete_snapshot",
    )
    for i in (iid, rid):
        ts.delete_db_instance(identifier=i)
    for i in (iid, rid):
        wait_for_db_instance(ts, i, "DELETED", timeout=10)
    assert sorted(c[1] for c in manager.of("stop")) == sorted([iid, rid])


def test_failed_onboarding_fails_the_instance(local_sandbox):
    server, manager = local_sandbox
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _vpc(boto3_client(server.endpoint, "ec2"))
    name = f"bad-{uuid.uuid4().hex[:6]}"
    manager.fail_names.add(name)
    created = ts.create_db_instance(
        name=name,
        password="Passw0rd99",
        organization="ons",
        bucket="metrics",
        dbInstanceType="db.influx.medium",
        vpcSubnetIds=subnets,
        vpcSecurityGroupIds=[sg],
        allocatedStorage=20,
    )
    failed = wait_for_db_instance(ts, created["id"], "FAILED", timeout=10)
    assert "endpoint" not in failed
    # a FAILED instance can be deleted, and nothing listens for it, so nothing is stopped
    ts.delete_db_instance(identifier=created["id"])
    wait_for_db_instance(ts, created["id"], "DELETED", timeout=10)
    assert manager.of("stop") == []


def test_shutdown_stops_all_servers(local_sandbox):
    server, manager = local_sandbox
    server.shutdown()
    assert manager.of("stop_all") == [("stop_all",)]


def test_transitions_happen_without_polling(local_sandbox):
    """Nobody asks about the instance after creating it, yet it becomes AVAILABLE (its server is
    started) and then, after a reboot, AVAILABLE again: the scheduler moves it on by time."""
    server, manager = local_sandbox
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _vpc(boto3_client(server.endpoint, "ec2"))
    server.app.log.reset()
    created = ts.create_db_instance(
        name=f"idle-{uuid.uuid4().hex[:6]}",
        password="Passw0rd99",
        organization="ons",
        bucket="metrics",
        dbInstanceType="db.influx.medium",
        vpcSubnetIds=subnets,
        vpcSecurityGroupIds=[sg],
        allocatedStorage=20,
    )
    wait_for(lambda: manager.of("start"), 10, what="the instance server to be started")
    wait_for(
        lambda: server.app.timestream.instances_snapshot()[0]["status"] == "AVAILABLE",
        10,
        what="AVAILABLE",
    )
    assert [e["operation"] for e in server.app.log.entries()] == ["CreateDbInstance"]
    assert ts.get_db_instance(identifier=created["id"])["status"] == "AVAILABLE"


def test_port_update_moves_the_server_when_available_again(local_sandbox):
    server, manager = local_sandbox
    ts = boto3_client(server.endpoint, "timestream-influxdb")
    subnets, sg = _vpc(boto3_client(server.endpoint, "ec2"))
    created = ts.create_db_instance(
        name=f"mv-{uuid.uuid4().hex[:6]}",
        password="Passw0rd99",
        organization="ons",
        bucket="metrics",
        dbInstanceType="db.influx.medium",
        vpcSubnetIds=subnets,
        vpcSecurityGroupIds=[sg],
        allocatedStorage=20,
    )
    iid = created["id"]
    before = wait_for_db_instance(ts, iid)
    (start,) = manager.of("start")
    assert start[1].port == 8086  # the default configured port goes to the manager

    # an update that does not touch the port does not move the server
    ts.update_db_instance(identifier=iid, maintenanceSchedule={
        "timezone": "UTC", "preferredMaintenanceWindow": "Sun:02:00-Sun:04:00"})
    wait_for_db_instance(ts, iid)
    assert manager.of("rebind") == []

    ts.update_db_instance(identifier=iid, port=8087)
    after = wait_for_db_instance(ts, iid)
    assert manager.of("rebind") == [("rebind", iid, 8087)]
    assert (after["endpoint"], after["port"]) == ("127.0.0.10", 8087)
    assert before["endpoint"] != after["endpoint"]
    # the configured port is now 8087: asking for it again is a no-op AWS rejects
    with pytest.raises(ts.exceptions.ValidationException):
        ts.update_db_instance(identifier=iid, port=8087)
    assert len(manager.of("start")) == 1

    # a server that cannot move fails the instance, as a failed update does on AWS
    manager.fail_ports.add(8088)
    ts.update_db_instance(identifier=iid, port=8088)
    failed = wait_for_db_instance(ts, iid, "FAILED", timeout=10)
    assert manager.of("rebind")[-1] == ("rebind", iid, 8088)
    assert failed["port"] == 8087  # it never listened on 8088
    ts.delete_db_instance(identifier=iid)
    wait_for_db_instance(ts, iid, "DELETED", timeout=10)
    assert manager.of("stop") == [("stop", iid)]
