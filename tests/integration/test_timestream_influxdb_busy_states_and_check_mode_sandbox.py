"""The timestream_influxdb modules on busy resources (being created, being deleted, being backed
up), on bad ids and on a fresh environment in check mode, run through ansible-playbook against the
AWS sandbox. Every step is checked against the sandbox's real state
(boto3) and its request log; each test signs its requests with an access key of its own, so the
log shows only what the modules under test asked for.

1. A create-only option missing from GetDbInstance (kms_key_id) is an immutable change.
2. wait=true waits also when nothing has to change.
3. state=absent on an instance (or backup) already being deleted reports no change (check mode
   too), and waits with wait=true.
5. An invalid id fails before any request, naming ``id``.
6. Check mode on a fresh environment predicts instead of failing.
8. retain_automated_backups is accepted and sent with the deletion.
9. An unchanged run reads each thing once; options the task does not state are not compared;
   state=absent waits for a running backup before deleting.
(4, the deletion waiters polling on through failed statuses, needs a FAILED instance: it is
covered with botocore's Stubber in the unit tests.)
"""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.ansible import run_playbook
from tests.helpers.timestream import delete_instances

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

SERVICE = "timestream-influxdb"
PREFIX = "ons.timestream_influxdb."
INSTANCE = PREFIX + "timestream_influxdb_instance"
INSTANCE_INFO = PREFIX + "timestream_influxdb_instance_info"
PGROUP = PREFIX + "timestream_influxdb_parameter_group"
BACKUP = PREFIX + "timestream_influxdb_backup"
BACKUP_INFO = PREFIX + "timestream_influxdb_backup_info"
KMS_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
# Seconds each sandbox lifecycle transition takes during the wait/delete test: long enough that the
# instance is still CREATING (DELETING) when the next run starts, so that the runs under test meet
# the busy state they are about; the assertions are on states, never on durations.
SLOW_TRANSITION = 8.0


class Runner:
    """Runs tasks ``(name, module, params[, task keywords])`` with the sandbox connection and this
    test's own access key merged in."""

    def __init__(self, aws_sandbox, tmp_path):
        self.sandbox = aws_sandbox
        self.tmp_path = tmp_path
        self.access_key = "AKIAREVIEW" + uuid.uuid4().hex[:10].upper()

    def __call__(self, *tasks, **kwargs):
        conn = {
            "endpoint_url": self.sandbox.endpoint,
            "region": "us-east-1",
            "access_key": self.access_key,
            "secret_key": "testing",
        }
        plays = [
            {"name": name, module: dict(conn, **params), **(keywords[0] if keywords else {})}
            for name, module, params, *keywords in tasks
        ]
        return run_playbook(self.tmp_path, tasks=plays, **kwargs)

    def requests(self):
        return [r["operation"] for r in self.sandbox.control.requests(access_key=self.access_key)]

    def mutating(self):
        return [r["operation"] for r in self.sandbox.control.mutating_requests(SERVICE, access_key=self.access_key)]


@pytest.fixture
def run(aws_sandbox, tmp_path):
    return Runner(aws_sandbox, tmp_path)


@pytest.fixture
def suffix():
    return uuid.uuid4().hex[:8]


@pytest.fixture
def cleanup(aws_sandbox):
    """Names of instances to delete at the end, also when the test fails."""
    names = []
    yield names
    delete_instances(aws_sandbox.client(SERVICE), names)


@pytest.fixture
def slow_transitions(aws_sandbox):
    control = aws_sandbox.control
    before = control.config()["delay"]
    control.set_delay(SLOW_TRANSITION)
    try:
        yield
    finally:
        control.set_delay(before)


def instance_params(aws_vpc, name, **extra):
    return dict(
        {
            "name": name,
            "password": "Review12345",
            "organization": "ons",
            "bucket": "telemetry",
            "db_instance_type": "db.influx.medium",
            "allocated_storage": 20,
            "vpc_subnet_ids": aws_vpc.subnet_ids,
            "vpc_security_group_ids": [aws_vpc.security_group_id],
            "tags": {"Review": "yes"},
            "wait_timeout": 120,
        },
        **extra,
    )


def test_wait_immutable_kms_key_and_deleting(aws_sandbox, aws_vpc, run, suffix, cleanup, slow_transitions):
    ts = aws_sandbox.client(SERVICE)
    name = f"rv-{suffix}"
    cleanup.append(name)
    params = instance_params(aws_vpc, name)

    r = run(("create", INSTANCE, dict(params, wait=False)))
    assert r.rc == 0, r.stdout[-3000:]
    created = r.task("create")
    assert created["changed"] is True and created["instance"]["status"] == "CREATING"
    instance_id = created["instance"]["id"]

    # finding 2: the rerun has nothing to change but must still wait for AVAILABLE
    r = run(("rerun", INSTANCE, dict(params, wait=True)))
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("rerun")["changed"] is False
    assert r.task("rerun")["instance"]["status"] == "AVAILABLE"
    assert ts.get_db_instance(identifier=instance_id)["status"] == "AVAILABLE"
    assert run.mutating() == ["CreateDbInstance"]  # the create above, nothing since

    # finding 1: the instance has no KMS key (GetDbInstance reports none); asking for one cannot
    # be done in place: it fails, naming both values, and changes nothing
    assert "kmsKeyId" not in ts.get_db_instance(identifier=instance_id)
    r = run(("kms", INSTANCE, dict(params, kms_key_id=KMS_KEY), {"ignore_errors": True}), check=False)
    kms = r.task("kms")
    assert kms.get("failed") is True, kms
    assert f"kms_key_id (current: None, wanted: '{KMS_KEY}')" in kms["msg"]
    assert run.mutating() == ["CreateDbInstance"]
    r = run(("kms", INSTANCE, dict(params, kms_key_id=KMS_KEY), {"ignore_errors": True}), check=True)
    assert r.task("kms").get("failed") is True and "kms_key_id (current: None" in r.task("kms")["msg"]

    # finding 3, for backups too: a backup being deleted is no change, and wait=true waits for it
    backup = {"name": f"rvb-{suffix}", "instance": name, "wait_timeout": 120}
    r = run(
        ("backup", BACKUP, dict(backup, retention_days=7)),
        ("delete backup", BACKUP, dict(backup, state="absent", wait=False)),
        ("again", BACKUP, dict(backup, state="absent", wait=False)),
        ("again in check mode", BACKUP, dict(backup, state="absent", wait=False), {"check_mode": True}),
        ("again and wait", BACKUP, dict(backup, state="absent", wait=True)),
    )
    assert r.rc == 0, r.stdout[-3000:]
    backup_id = r.task("backup")["backup"]["id"]
    assert r.task("backup")["backup"]["status"] == "COMPLETED"
    assert r.task("delete backup")["changed"] is True
    for task in ("again", "again in check mode"):
        assert r.task(task)["changed"] is False, task
        assert r.task(task)["backup"]["status"] == "DELETING", task
    assert r.task("again and wait")["changed"] is False and r.task("again and wait")["backup"] == {}
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.get_db_backup(identifier=backup_id)
    assert run.mutating() == ["CreateDbInstance", "CreateDbBackup", "DeleteDbBackup"]

    # findings 3 and 8: delete without waiting (keeping the automated backups), then the same
    # again while the instance is DELETING: no change, in check mode too; with wait, it waits
    absent = {"name": name, "state": "absent", "wait_timeout": 120}
    r = run(
        ("delete", INSTANCE, dict(absent, wait=False, retain_automated_backups=True)),
        ("again", INSTANCE, dict(absent, wait=False)),
        ("again in check mode", INSTANCE, dict(absent, wait=False), {"check_mode": True}),
        ("again and wait", INSTANCE, dict(absent, wait=True)),
        diff=True,
    )
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("delete")["changed"] is True and r.task("delete")["instance"]["status"] == "DELETING"
    for task in ("again", "again in check mode"):
        assert r.task(task)["changed"] is False, task
        assert r.task(task)["instance"]["status"] == "DELETING", task
    assert r.task("again and wait")["changed"] is False
    assert r.task("again and wait")["instance"] == {}
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.get_db_instance(identifier=instance_id)
    assert run.mutating() == ["CreateDbInstance", "CreateDbBackup", "DeleteDbBackup", "DeleteDbInstance"]


def test_invalid_id_fails_before_any_request_naming_id(run):
    bad = "not_an-id!"
    r = run(
        ("instance", INSTANCE, {"id": bad}, {"ignore_errors": True}),
        ("instance absent", INSTANCE, {"id": bad, "state": "absent"}, {"ignore_errors": True}),
        ("instance info", INSTANCE_INFO, {"id": bad}, {"ignore_errors": True}),
        ("backup", BACKUP, {"id": bad, "state": "absent"}, {"ignore_errors": True}),
        ("backup info", BACKUP_INFO, {"id": bad}, {"ignore_errors": True}),
    )
    for task in ("instance", "instance absent", "instance info", "backup", "backup info"):
        result = r.task(task)
        assert result.get("failed") is True, (task, result)
        assert result["msg"].startswith("id must be letters and digits only"), (task, result["msg"])
        assert "identifier" not in result["msg"], task
    assert run.requests() == []  # no AWS request at all, not even a read


def test_check_mode_on_a_fresh_environment_predicts(aws_sandbox, aws_vpc, run, suffix):
    """A play that creates a parameter group, an instance using it, a backup of that instance and a
    restore of the backup: in check mode nothing exists yet, and every task predicts a change."""
    ts = aws_sandbox.client(SERVICE)
    group, name, backup, restored = f"rvpg-{suffix}", f"rvi-{suffix}", f"rvb-{suffix}", f"rvr-{suffix}"
    r = run(
        ("group", PGROUP, {"name": group, "parameters": {"query_concurrency": 4}}),
        ("instance", INSTANCE, instance_params(aws_vpc, name, db_parameter_group_identifier=group)),
        ("backup", BACKUP, {"name": backup, "instance": name, "retention_days": 7}),
        ("restore", BACKUP, {"name": backup, "instance": name, "state": "restored", "restore_name": restored}),
        check=True,
        diff=True,
    )
    assert r.rc == 0, r.stdout[-3000:]
    for task in ("group", "instance", "backup", "restore"):
        assert r.task(task)["changed"] is True, (task, r.task(task))
    instance = r.task("instance")
    assert instance["instance"]["status"] == "CREATING"
    assert instance["instance"]["db_parameter_group_identifier"] == group
    assert any(group in w for w in instance.get("warnings", [])), instance.get("warnings")
    assert r.task("backup")["backup"]["name"] == backup
    assert r.task("backup")["backup"]["status"] == "IN_PROGRESS"
    assert any(name in w for w in r.task("backup").get("warnings", []))
    assert r.task("restore")["instance"]["name"] == restored
    assert any(backup in w for w in r.task("restore").get("warnings", []))
    # nothing was created
    assert run.mutating() == []
    names = {i["name"] for i in ts.list_db_instances()["items"]}
    assert name not in names and restored not in names
    assert group not in {g["name"] for g in ts.list_db_parameter_groups()["items"]}


def test_an_unchanged_run_reads_each_thing_once(aws_vpc, run, suffix, cleanup):
    name = f"rd-{suffix}"
    cleanup.append(name)
    r = run(("create", INSTANCE, instance_params(aws_vpc, name)))
    assert r.rc == 0, r.stdout[-3000:]
    seen = len(run.requests())
    r = run(("again", INSTANCE, instance_params(aws_vpc, name)))
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("again")["changed"] is False
    # organization and bucket are compared through the auth-parameters secret (GetDbInstance does
    # not report them); the tags are read once
    assert run.requests()[seen:] == ["ListDbInstances", "GetDbInstance", "ListTagsForResource", "GetSecretValue"]


def test_a_public_instance_grows_with_only_name_and_storage(aws_sandbox, aws_vpc, run, suffix, cleanup):
    """The module's "grow the storage" example on an instance whose create-only and in-place options
    are not AWS's defaults: only the storage changes, nothing the task does not state is compared."""
    ts = aws_sandbox.client(SERVICE)
    name = f"pub-{suffix}"
    cleanup.append(name)
    not_defaults = {"publicly_accessible": True, "network_type": "DUAL", "deployment_type": "WITH_MULTIAZ_STANDBY",
                    "port": 9086, "db_storage_type": "InfluxIOIncludedT2", "allocated_storage": 400}
    r = run(("create", INSTANCE, instance_params(aws_vpc, name, **not_defaults)))
    assert r.rc == 0, r.stdout[-3000:]
    instance_id = r.task("create")["instance"]["id"]

    grow = {"name": name, "allocated_storage": 500, "wait_timeout": 120}
    r = run(("grow in check mode", INSTANCE, grow, {"check_mode": True}), ("grow", INSTANCE, grow), ("again", INSTANCE, grow))
    assert r.rc == 0, r.stdout[-3000:]
    for task in ("grow in check mode", "grow"):
        assert r.task(task)["changed"] is True, task
        assert r.task(task)["update_calls"] == [{"allocated_storage": 500}], task
    assert r.task("again")["changed"] is False
    live = ts.get_db_instance(identifier=instance_id)
    assert live["allocatedStorage"] == 500 and live["publiclyAccessible"] is True and live["port"] == 9086
    assert run.mutating() == ["CreateDbInstance", "UpdateDbInstance"]


def test_absent_waits_for_a_running_backup_before_deleting(aws_sandbox, aws_vpc, run, suffix, cleanup):
    ts = aws_sandbox.client(SERVICE)
    name = f"bk-{suffix}"
    cleanup.append(name)
    r = run(("create", INSTANCE, instance_params(aws_vpc, name)))
    assert r.rc == 0, r.stdout[-3000:]
    instance_id = r.task("create")["instance"]["id"]

    control = aws_sandbox.control
    before = control.config()["delay"]
    control.set_delay(SLOW_TRANSITION)  # the backup is still IN_PROGRESS when the deletion starts
    try:
        r = run(("backup", BACKUP, {"name": f"{name}-b", "instance": name, "retention_days": 1, "wait": False}))
        assert r.rc == 0, r.stdout[-3000:]
        backup_id = r.task("backup")["backup"]["id"]
        assert ts.get_db_backup(identifier=backup_id)["status"] == "IN_PROGRESS"
        seen = len(run.requests())
        r = run(("delete", INSTANCE, {"name": name, "state": "absent", "wait": False, "wait_timeout": 120}))
    finally:
        control.set_delay(before)
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("delete")["changed"] is True
    operations = run.requests()[seen:]
    # the running backup was polled until it completed, and only then was the instance deleted
    assert operations.index("ListDbBackups") < operations.index("GetDbBackup") < operations.index("DeleteDbInstance")
    assert run.mutating() == ["CreateDbInstance", "CreateDbBackup", "DeleteDbInstance"]
    assert ts.get_db_backup(identifier=backup_id)["status"] == "COMPLETED"
    assert ts.get_db_instance(identifier=instance_id)["status"] in ("DELETING", "DELETED")
