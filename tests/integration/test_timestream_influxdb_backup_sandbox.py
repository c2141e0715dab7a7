"""timestream_influxdb_backup (+ _info): on-demand backup, restore into a new instance, delete."""

from __future__ import annotations

import uuid

import pytest

from sandbox.client import wait_for_db_instance
from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

SERVICE = "timestream-influxdb"
INSTANCE = "ons.timestream_influxdb.timestream_influxdb_instance"
BACKUP = "ons.timestream_influxdb.timestream_influxdb_backup"
INFO = "ons.timestream_influxdb.timestream_influxdb_backup_info"


def task(aws_sandbox, name, module, params, **extra):
    conn = {"endpoint_url": aws_sandbox.endpoint, "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
    return {"name": name, module: dict(conn, **params), **extra}


def mutating(aws_sandbox):
    return [r["operation"] for r in aws_sandbox.control.mutating_requests(SERVICE)]


def test_backup_and_restore(aws_sandbox, aws_vpc, tmp_path):
    ts = aws_sandbox.client(SERVICE)
    suffix = uuid.uuid4().hex[:8]
    source, restored, backup_name = f"src-{suffix}", f"rst-{suffix}", f"bk-{suffix}"
    try:
        # the source instance, not waited for: the backup module waits until it can be backed up
        r = run_playbook(
            tmp_path,
            tasks=[
                task(aws_sandbox, "source", INSTANCE, {
                    "name": source,
                    "password": "Backup12345",
                    "organization": "ons",
                    "bucket": "telemetry",
                    "db_instance_type": "db.influx.medium",
                    "allocated_storage": 20,
                    "vpc_subnet_ids": aws_vpc.subnet_ids,
                    "vpc_security_group_ids": [aws_vpc.security_group_id],
                    "wait": False,
                }),
            ],
        )
        assert r.rc == 0, r.stdout[-3000:]
        source_id = r.task("source")["instance"]["id"]
        backup_params = {"name": backup_name, "instance": source, "retention_days": 30, "tags": {"Purpose": "test"},
                         "wait_timeout": 120}

        # check mode: nothing taken
        aws_sandbox.control.reset_requests()
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "backup", BACKUP, backup_params)], check=True)
        assert r.rc == 0, r.stdout[-3000:]
        assert r.task("backup")["changed"] is True
        assert mutating(aws_sandbox) == []
        assert ts.list_db_backups(dbResourceId=source_id)["items"] == []

        # take the backup
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "backup", BACKUP, backup_params)])
        assert r.rc == 0, r.stdout[-3000:]
        backup = r.task("backup")["backup"]
        assert backup["status"] == "COMPLETED" and backup["type"] == "ON_DEMAND"
        live = ts.get_db_backup(identifier=backup["id"])
        assert live["status"] == "COMPLETED" and live["dbResourceId"] == source_id and live["name"] == backup_name
        assert live["expiresAfter"]
        assert ts.list_tags_for_resource(resourceArn=live["arn"])["tags"] == {"Purpose": "test"}

        # idempotent
        aws_sandbox.control.reset_requests()
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "again", BACKUP, backup_params)])
        assert r.rc == 0 and r.task("again")["changed"] is False
        assert mutating(aws_sandbox) == []

        # info
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "info", INFO, {"instance": source})])
        assert [b["id"] for b in r.task("info")["backups"]] == [backup["id"]]
        assert r.task("info")["backups"][0]["tags"] == {"Purpose": "test"}

        # restore into a new instance, waiting like the instance module
        restore = {"name": backup_name, "instance": source, "state": "restored", "restore_name": restored,
                   "tags": {"Restored": "yes"}, "wait_timeout": 120}
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "restore", BACKUP, restore)])
        assert r.rc == 0, r.stdout[-3000:]
        instance = r.task("restore")["instance"]
        assert r.task("restore")["changed"] is True
        assert instance["name"] == restored and instance["status"] == "AVAILABLE"
        live_instance = ts.get_db_instance(identifier=instance["id"])
        assert live_instance["status"] == "AVAILABLE" and live_instance["endpoint"]
        assert ts.list_tags_for_resource(resourceArn=live_instance["arn"])["tags"] == {"Restored": "yes"}

        # restoring again does nothing
        aws_sandbox.control.reset_requests()
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "restore", BACKUP, restore)])
        assert r.rc == 0 and r.task("restore")["changed"] is False
        assert mutating(aws_sandbox) == []

        # delete the backup, then again
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "delete", BACKUP, {"name": backup_name, "instance": source,
                                                                               "state": "absent", "wait_timeout": 120})])
        assert r.rc == 0, r.stdout[-3000:]
        assert r.task("delete")["changed"] is True
        assert ts.list_db_backups(dbResourceId=source_id)["items"] == []
        aws_sandbox.control.reset_requests()
        r = run_playbook(tmp_path, tasks=[task(aws_sandbox, "delete", BACKUP, {"name": backup_name, "state": "absent"})])
        assert r.rc == 0 and r.task("delete")["changed"] is False
        assert mutating(aws_sandbox) == []

        # bad input fails before any request
        r = run_playbook(tmp_path, tasks=[
            task(aws_sandbox, "bad", BACKUP, {"name": backup_name, "instance": source, "retention_days": 0},
                 ignore_errors=True),
        ])
        assert "retention_days must be between 1 and 3650" in r.task("bad")["msg"]
        assert mutating(aws_sandbox) == []
    finally:
        for name in (source, restored):
            for item in ts.list_db_instances()["items"]:
                if item["name"] == name:
                    try:
                        wait_for_db_instance(ts, item["id"], "AVAILABLE", timeout=60)
                        ts.delete_db_instance(identifier=item["id"])
                    except Exception:  # noqa: BLE001 - best effort
                        pass
