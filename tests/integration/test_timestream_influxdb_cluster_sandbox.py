"""timestream_influxdb_cluster (+ _info) driven through ansible-playbook against the AWS sandbox.

The steps share one cluster, in file order (a step whose predecessor failed is skipped, naming it);
each step is one ansible-playbook run of a few tasks, followed by assertions on the sandbox's real
state (boto3) and on its request log: every task signs with an access key of its own, so its
requests can be picked out of the log."""

from __future__ import annotations

import uuid

import pytest

from sandbox.client import wait_for
from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

SERVICE = "timestream-influxdb"
MODULE = "ons.timestream_influxdb.timestream_influxdb_cluster"
INFO = "ons.timestream_influxdb.timestream_influxdb_cluster_info"
PASSWORD = "Zq7ClusterPasswordNeverShown42"
# Every request of a run that must change nothing: the lookups, the tags, the auth-parameters secret.
READS = {"ListDbClusters", "GetDbCluster", "ListTagsForResource", "GetSecretValue", "ListDbParameterGroups"}


class Steps:
    """What the steps share: the network, the names, the cluster, and a fresh access key per run."""

    def __init__(self, aws_sandbox, subnets, sg_id, suffix):
        self.sandbox = aws_sandbox
        self.ts = aws_sandbox.client(SERVICE)
        self.name, self.logs, self.suffix = f"cl-{suffix}", f"cl-logs-{suffix}", suffix
        self.subnets, self.sg_id = subnets, sg_id
        self.group_id = None
        self.out = None
        self.done = set()
        self.runs = 0
        self.params = {
            "name": self.name,
            "password": PASSWORD,
            "organization": "ons",
            "bucket": "telemetry",
            "db_instance_type": "db.influx.medium",
            "allocated_storage": 20,
            "deployment_type": "MULTI_NODE_READ_REPLICAS",
            "vpc_subnet_ids": subnets,
            "vpc_security_group_ids": [sg_id],
            "tags": {"Team": "ONS", "Env": "test"},
            "wait_timeout": 120,
        }

    def need(self, step):
        if step not in self.done:
            pytest.skip(f"needs the {step} step, which did not pass")

    def run(self, tmp_path, *tasks, **kwargs):
        """Run tasks ``(name, module, params[, keywords])`` in one playbook, each signed with an
        access key of its own. Returns (result, {task name: access key})."""
        self.runs += 1
        keys, plays = {}, []
        for index, (name, module, params, *keywords) in enumerate(tasks):
            keys[name] = f"AKIACL{self.suffix.upper()}{self.runs:02d}{index:02d}"
            conn = {"endpoint_url": self.sandbox.endpoint, "region": "us-east-1", "access_key": keys[name],
                    "secret_key": "testing"}
            plays.append({"name": name, module: dict(conn, **params), **(keywords[0] if keywords else {})})
        return run_playbook(tmp_path, tasks=plays, **kwargs), keys

    def operations(self, key, mutating=None):
        return [
            r["operation"]
            for r in self.sandbox.control.requests(access_key=key)
            if r["service"] in (SERVICE, "secretsmanager") and (mutating is None or r["mutating"] == mutating)
        ]

    def updated(self):
        """Every field UpdateDbCluster changes (deployment_configuration is for InfluxDB 3 only)."""
        return dict(
            self.params,
            db_instance_type="db.influx.large",
            port=8087,
            failover_mode="NO_FAILOVER",
            db_parameter_group_identifier=f"cl-pg-{self.suffix}",  # by name, resolved to its id
            log_delivery_configuration={"s3_configuration": {"bucket_name": self.logs, "enabled": True}},
            maintenance_schedule={"timezone": "Europe/London", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"},
            db_backup_configurations=[{"type": "DAILY", "retention_days": 7, "enabled": True}],
        )

    def live(self):
        return self.ts.get_db_cluster(dbClusterId=self.out["id"])

    def named(self):
        return [c for c in self.ts.list_db_clusters()["items"] if c["name"] == self.name]


@pytest.fixture(scope="module")
def steps(aws_sandbox):
    ec2 = aws_sandbox.client("ec2")
    suffix = uuid.uuid4().hex[:8]
    vpc_id = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.2.{i}.0/24", AvailabilityZone=f"us-east-1{az}")
               ["Subnet"]["SubnetId"] for i, az in enumerate("ab", start=1)]
    sg_id = ec2.create_security_group(GroupName=f"cl-{suffix}", Description="cluster", VpcId=vpc_id)["GroupId"]
    state = Steps(aws_sandbox, subnets, sg_id, suffix)
    aws_sandbox.client("s3").create_bucket(Bucket=state.logs)
    state.group_id = state.ts.create_db_parameter_group(name=f"cl-pg-{suffix}")["id"]
    try:
        yield state
    finally:
        for item in state.named():
            try:
                wait_for(lambda i=item: state.ts.get_db_cluster(dbClusterId=i["id"])["status"] != "CREATING", 60)
                state.ts.delete_db_cluster(dbClusterId=item["id"])
            except Exception:  # noqa: BLE001, S110 - best effort: already deleting or gone
                pass


CHECK_DIFF = {"check_mode": True, "diff": True}


def test_check_mode_then_create_then_a_rerun_that_only_reads(steps, tmp_path):
    r, keys = steps.run(
        tmp_path,
        ("predict", MODULE, steps.params, CHECK_DIFF),
        ("create", MODULE, steps.params),
        ("again", MODULE, steps.params, {"diff": True}),
        verbosity=3,
    )
    assert r.rc == 0, r.stdout[-3000:]
    assert PASSWORD not in r.stdout and PASSWORD not in r.stderr

    predicted = r.task("predict")
    assert predicted["changed"] is True
    assert predicted["cluster"]["status"] == "CREATING" and predicted["cluster"]["id"] is None
    assert predicted["cluster"]["failover_mode"] == "AUTOMATIC" and "reader_endpoint" in predicted["cluster"]
    assert predicted["diff"]["before"] == {} and predicted["diff"]["after"]["db_instance_type"] == "db.influx.medium"
    assert "password" not in predicted["diff"]["after"]
    assert steps.operations(keys["predict"], mutating=True) == []

    created = r.task("create")
    out = steps.out = created["cluster"]
    assert created["changed"] is True and out["status"] == "AVAILABLE" and "password" not in out
    assert steps.operations(keys["create"], mutating=True) == ["CreateDbCluster"]
    live = steps.live()
    assert live["status"] == "AVAILABLE" and live["deploymentType"] == "MULTI_NODE_READ_REPLICAS"
    assert live["dbInstanceType"] == "db.influx.medium" and live["allocatedStorage"] == 20
    assert sorted(live["vpcSubnetIds"]) == sorted(steps.subnets)
    assert out["endpoint"] == live["endpoint"] and out["reader_endpoint"] == live["readerEndpoint"]
    assert out["tags"] == {"Team": "ONS", "Env": "test"}
    assert steps.ts.list_tags_for_resource(resourceArn=live["arn"])["tags"] == {"Team": "ONS", "Env": "test"}
    members = steps.ts.list_db_instances_for_cluster(dbClusterId=live["id"])["items"]
    assert sorted(m["instanceMode"] for m in members) == ["PRIMARY", "REPLICA"]

    again = r.task("again")
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"]
    operations = steps.operations(keys["again"])
    # the organization and bucket were compared through the auth-parameters secret, tags read once
    assert "GetSecretValue" in operations and operations.count("ListTagsForResource") == 1
    assert set(operations) <= READS, operations
    steps.done.add("create")


def test_every_updatable_field_in_one_call_predicted_applied_then_unchanged(steps, tmp_path):
    steps.need("create")
    wanted = steps.updated()
    immutable = dict(wanted, allocated_storage=40, vpc_subnet_ids=steps.subnets[:1], organization="other")
    r, keys = steps.run(
        tmp_path,
        ("predict", MODULE, wanted, CHECK_DIFF),
        ("update", MODULE, wanted),
        ("again", MODULE, wanted),
        ("immutable", MODULE, immutable, {"ignore_errors": True}),
    )
    assert r.rc == 0, r.stdout[-3000:]
    predicted = r.task("predict")
    assert predicted["changed"] is True and predicted["cluster"]["db_instance_type"] == "db.influx.large"
    assert predicted["diff"]["before"]["failover_mode"] == "AUTOMATIC"
    assert predicted["diff"]["after"]["failover_mode"] == "NO_FAILOVER"
    assert steps.operations(keys["predict"], mutating=True) == []

    update = r.task("update")
    assert update["changed"] is True  # so check mode had changed nothing
    assert update["update_calls"] == [{
        "db_instance_type": "db.influx.large",
        "port": 8087,
        "failover_mode": "NO_FAILOVER",
        "db_parameter_group_identifier": steps.group_id,
        "log_delivery_configuration": {"s3_configuration": {"bucket_name": steps.logs, "enabled": True}},
        "maintenance_schedule": {"timezone": "Europe/London", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"},
        "db_backup_configurations": [{"type": "DAILY", "retention_days": 7, "enabled": True}],
    }]
    assert predicted["update_calls"] == update["update_calls"]
    assert steps.operations(keys["update"], mutating=True) == ["UpdateDbCluster"]
    live = steps.live()
    assert live["status"] == "AVAILABLE" and update["cluster"]["status"] == "AVAILABLE"
    assert live["dbInstanceType"] == "db.influx.large" and live["port"] == 8087 and live["failoverMode"] == "NO_FAILOVER"
    assert live["dbParameterGroupIdentifier"] == steps.group_id
    assert live["logDeliveryConfiguration"] == {"s3Configuration": {"bucketName": steps.logs, "enabled": True}}
    assert live["maintenanceSchedule"]["preferredMaintenanceWindow"] == "Sun:02:00-Sun:04:00"
    assert live["dbBackupConfigurations"][0]["retentionDays"] == 7
    members = steps.ts.list_db_instances_for_cluster(dbClusterId=live["id"])["items"]
    assert {m["dbInstanceType"] for m in members} == {"db.influx.large"}

    assert r.task("again")["changed"] is False
    assert set(steps.operations(keys["again"])) <= READS

    refused = r.task("immutable")
    assert refused["failed"] is True
    assert "allocated_storage (current: 20, wanted: 40)" in refused["msg"]
    assert "organization (current: 'ons', wanted: 'other')" in refused["msg"]
    assert f"vpc_subnet_ids (current: {live['vpcSubnetIds']!r}, wanted: {steps.subnets[:1]!r})" in refused["msg"]
    assert steps.operations(keys["immutable"], mutating=True) == []
    steps.done.add("update")


def test_tags_are_added_then_purged_and_info_reports_them(steps, tmp_path):
    steps.need("update")
    arn = steps.out["arn"]
    r, keys = steps.run(
        tmp_path,
        ("add", MODULE, dict(steps.updated(), tags={"Owner": "data"}, purge_tags=False)),
        ("purge", MODULE, dict(steps.updated(), tags={"Owner": "data"})),
        ("info", INFO, {"name": steps.name}),
        diff=True,
    )
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("add")["cluster"]["tags"] == {"Team": "ONS", "Env": "test", "Owner": "data"}
    assert steps.operations(keys["add"], mutating=True) == ["TagResource"]
    assert r.task("purge")["diff"]["after"]["tags"] == {"Owner": "data"}
    assert steps.operations(keys["purge"], mutating=True) == ["UntagResource"]
    assert steps.ts.list_tags_for_resource(resourceArn=arn)["tags"] == {"Owner": "data"}
    clusters = r.task("info")["clusters"]
    assert [c["id"] for c in clusters] == [steps.out["id"]] and clusters[0]["tags"] == {"Owner": "data"}
    assert sorted(i["instance_mode"] for i in clusters[0]["instances"]) == ["PRIMARY", "REPLICA"]
    assert r.task("info")["changed"] is False and "diff" not in r.task("info")


def test_reboot_one_instance_then_delete_without_waiting_then_absent_again(steps, tmp_path):
    steps.need("create")
    reader = next(m["id"] for m in steps.ts.list_db_instances_for_cluster(dbClusterId=steps.out["id"])["items"]
                  if m["instanceMode"] == "REPLICA")
    r, keys = steps.run(
        tmp_path,
        ("reboot", MODULE, {"id": steps.out["id"], "state": "rebooted", "reboot_instance_ids": [reader]}),
        ("delete", MODULE, {"name": steps.name, "state": "absent", "wait": False}, {"diff": True}),
        ("again", MODULE, {"name": steps.name, "state": "absent"}),
    )
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("reboot")["changed"] is True and r.task("reboot")["cluster"]["status"] == "AVAILABLE"
    assert steps.operations(keys["reboot"], mutating=True) == ["RebootDbCluster"]

    delete = r.task("delete")
    assert delete["changed"] is True and delete["cluster"]["status"] == "DELETING"
    assert delete["diff"]["before"]["id"] == steps.out["id"] and delete["diff"]["after"] == {}
    assert steps.operations(keys["delete"], mutating=True) == ["DeleteDbCluster"]

    again = r.task("again")
    assert again["changed"] is False and again["cluster"] == {}  # it waited until the cluster was gone
    assert "diff" not in again  # diff only with --diff
    assert steps.operations(keys["again"], mutating=True) == []
    assert steps.named() == []


# Each message is checked in the unit tests; through a playbook, one of each kind (a pattern whose
# value is secret, a rule beyond the model, an enumeration of the model, an id), at -vvv.
BAD_INPUTS = [
    ({"password": "has-symbols-1234"}, "password must be letters and digits only"),
    ({"port": 8090}, "port 8090 is reserved"),
    ({"failover_mode": "SOMETIMES"}, "failover_mode must be one of AUTOMATIC, NO_FAILOVER"),
    ({"state": "rebooted", "reboot_instance_ids": ["a!"]}, "reboot_instance_ids[0] must have between 3 and 64"),
]


def test_bad_input_fails_before_any_request(steps, tmp_path):
    base = dict(steps.params, name=f"bad-{steps.suffix}")
    tasks = [(f"bad{i}", MODULE, dict(base, **changes), {"ignore_errors": True}) for i, (changes, _) in enumerate(BAD_INPUTS)]
    r, keys = steps.run(tmp_path, *tasks, verbosity=3)
    for i, (_changes, message) in enumerate(BAD_INPUTS):
        task = r.task(f"bad{i}")
        assert task["failed"] is True, (i, task)
        assert message in task["msg"], (message, task["msg"])
    for key in keys.values():
        assert steps.sandbox.control.requests(access_key=key) == []  # not one request
    assert PASSWORD not in r.stdout and PASSWORD not in r.stderr
