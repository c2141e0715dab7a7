"""timestream_influxdb_instance (+ _info) driven through ansible-playbook against the AWS sandbox.

Each step is followed by an assertion on the sandbox's real state (boto3) and, where the step must
not change anything, on the sandbox's request log (no mutating Timestream for InfluxDB request)."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.ansible import run_playbook
from tests.helpers.timestream import delete_instances
from tests.helpers.timestream import instances_named

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

SERVICE = "timestream-influxdb"
MODULE = "ons.timestream_influxdb.timestream_influxdb_instance"
INFO = "ons.timestream_influxdb.timestream_influxdb_instance_info"
PGROUP = "ons.timestream_influxdb.timestream_influxdb_parameter_group"
PASSWORD = "Zq7PasswordNeverShown42"


def connection(aws_sandbox, access_key="testing"):
    return {
        "endpoint_url": aws_sandbox.endpoint,
        "region": "us-east-1",
        "access_key": access_key,
        "secret_key": "testing",
    }


def run(aws_sandbox, tmp_path, *tasks, access_key="testing", **kwargs):
    """Run tasks ``(name, module, params[, task keywords])`` with the sandbox connection merged in
    (signed with ``access_key``: a test's own key lets it pick its requests out of the shared log)."""
    conn = connection(aws_sandbox, access_key)
    plays = []
    for name, module, params, *keywords in tasks:
        plays.append({"name": name, module: dict(conn, **params), **(keywords[0] if keywords else {})})
    return run_playbook(tmp_path, tasks=plays, **kwargs)


def mutating(aws_sandbox, access_key=None):
    return [r["operation"] for r in aws_sandbox.control.mutating_requests(SERVICE, access_key=access_key)]


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:8]
    return {"instance": f"it-{suffix}", "pg1": f"pg-a-{suffix}", "pg2": f"pg-b-{suffix}", "logs": f"logs-{suffix}",
            "access_key": f"AKIAIT{suffix.upper()}"}


@pytest.fixture
def cleanup(aws_sandbox):
    """Delete what a test created, also when it fails."""
    created = []
    yield created
    delete_instances(aws_sandbox.client(SERVICE), created)


class Lifecycle:
    """What the lifecycle steps below share, in file order: the VPC, the names, the parameter
    groups and the instance. A step whose predecessor failed is skipped, naming it."""

    def __init__(self, aws_sandbox, vpc):
        self.sandbox = aws_sandbox
        self.vpc = vpc
        self.ts = aws_sandbox.client(SERVICE)
        suffix = uuid.uuid4().hex[:8]
        self.name, self.logs, self.akid = f"lc-{suffix}", f"logs-{suffix}", f"AKIALC{suffix.upper()}"
        self.pg_names = (f"pg-a-{suffix}", f"pg-b-{suffix}")
        self.pg_ids = ()
        self.out = None
        self.done = set()
        self.params = {
            "name": self.name,
            "username": "admin",
            "password": PASSWORD,
            "organization": "ons",
            "bucket": "telemetry",
            "db_instance_type": "db.influx.medium",
            "allocated_storage": 20,
            "vpc_subnet_ids": vpc.subnet_ids,
            "vpc_security_group_ids": [vpc.security_group_id],
            "db_parameter_group_identifier": self.pg_names[0],
            "port": 8086,  # the default, stated: GetDbInstance reports the configured port, as on AWS
            "tags": {"Team": "ONS", "Env": "test"},
            "wait_timeout": 120,
        }

    def need(self, step):
        if step not in self.done:
            pytest.skip(f"needs the {step} step, which did not pass")

    def updated(self):
        """Every updatable field changed."""
        return dict(
            self.params,
            db_instance_type="db.influx.large",
            deployment_type="WITH_MULTIAZ_STANDBY",
            db_storage_type="InfluxIOIncludedT2",
            allocated_storage=400,
            port=8087,
            db_parameter_group_identifier=self.pg_ids[1],
            log_delivery_configuration={"s3_configuration": {"bucket_name": self.logs, "enabled": True}},
            maintenance_schedule={"timezone": "Europe/London", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"},
            db_backup_configurations=[{"type": "DAILY", "retention_days": 7, "enabled": True}],
        )

    def live(self):
        return self.ts.get_db_instance(identifier=self.out["id"])


@pytest.fixture(scope="module")
def life(aws_sandbox, tmp_path_factory):
    ec2 = aws_sandbox.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"us-east-1{az}")
               ["Subnet"]["SubnetId"] for i, az in enumerate("ab", start=1)]
    sg_id = ec2.create_security_group(GroupName=f"lc-{uuid.uuid4().hex[:8]}", Description="lifecycle",
                                      VpcId=vpc_id)["GroupId"]
    vpc = type("Vpc", (), {"subnet_ids": subnets, "security_group_id": sg_id})
    state = Lifecycle(aws_sandbox, vpc)
    aws_sandbox.client("s3").create_bucket(Bucket=state.logs)
    groups = run(
        aws_sandbox, tmp_path_factory.mktemp("groups"),
        ("pg1", PGROUP, {"name": state.pg_names[0], "parameters": {"query_concurrency": 4}}),
        ("pg2", PGROUP, {"name": state.pg_names[1], "parameters": {"query_concurrency": 8}}),
    )
    assert groups.rc == 0, groups.stdout[-3000:]
    state.pg_ids = (groups.task("pg1")["parameter_group"]["id"], groups.task("pg2")["parameter_group"]["id"])
    try:
        yield state
    finally:
        delete_instances(state.ts, [state.name])
        for call, kwargs in [(ec2.delete_security_group, {"GroupId": sg_id})] + [
            (ec2.delete_subnet, {"SubnetId": s}) for s in subnets
        ] + [(ec2.delete_vpc, {"VpcId": vpc_id})]:
            try:
                call(**kwargs)
            except Exception:  # noqa: BLE001 - best effort
                pass


def test_check_mode_predicts_the_creation_and_changes_nothing(life, tmp_path):
    life.sandbox.control.reset_requests()
    r = run(life.sandbox, tmp_path, ("create", MODULE, life.params), check=True, diff=True)
    assert r.rc == 0, r.stdout[-3000:]
    task = r.task("create")
    assert task["changed"] is True
    assert task["instance"]["name"] == life.name and task["instance"]["status"] == "CREATING"
    assert task["instance"]["id"] is None  # only AWS can tell; the key is there (issue 14)
    assert task["diff"]["after"]["db_instance_type"] == "db.influx.medium"
    assert mutating(life.sandbox) == []
    assert instances_named(life.ts, life.name) == []


def test_create_builds_what_was_asked_and_never_shows_the_password(life, tmp_path):
    r = run(life.sandbox, tmp_path, ("create", MODULE, life.params), verbosity=3)
    assert r.rc == 0, r.stdout[-3000:]
    assert PASSWORD not in r.stdout and PASSWORD not in r.stderr
    task = r.task("create")
    assert task["changed"] is True
    out = life.out = task["instance"]
    assert out["status"] == "AVAILABLE" and "password" not in out
    live = life.live()
    assert live["status"] == "AVAILABLE"
    assert live["dbInstanceType"] == "db.influx.medium" and live["allocatedStorage"] == 20
    assert sorted(live["vpcSubnetIds"]) == sorted(life.vpc.subnet_ids)
    assert live["dbParameterGroupIdentifier"] == life.pg_ids[0]  # the name was resolved to the id
    assert live["publiclyAccessible"] is False
    assert life.ts.list_tags_for_resource(resourceArn=live["arn"])["tags"] == {"Team": "ONS", "Env": "test"}
    for key in ("id", "arn", "endpoint", "port", "availability_zone", "influx_auth_parameters_secret_arn"):
        assert out[key], key
    assert out["tags"] == {"Team": "ONS", "Env": "test"}
    assert live["port"] == 8086 and out["port"] == 8086
    life.done.add("create")


def test_rerun_with_the_default_port_stated_only_reads(life, tmp_path):
    life.need("create")
    r = run(life.sandbox, tmp_path, ("again", MODULE, life.params), access_key=life.akid)
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("again")["changed"] is False
    assert [q["operation"] for q in life.sandbox.control.requests(access_key=life.akid)
            if q["service"] == SERVICE], "the run made no request at all"
    assert mutating(life.sandbox, life.akid) == []


def test_check_mode_predicts_the_update_of_every_updatable_field(life, tmp_path):
    life.need("create")
    life.sandbox.control.reset_requests()
    r = run(life.sandbox, tmp_path, ("update", MODULE, life.updated()), check=True, diff=True)
    assert r.rc == 0, r.stdout[-3000:]
    task = r.task("update")
    assert task["changed"] is True
    assert task["instance"]["db_instance_type"] == "db.influx.large"
    assert task["diff"]["before"]["port"] == 8086 and task["diff"]["after"]["port"] == 8087
    assert mutating(life.sandbox) == []
    assert life.live()["dbInstanceType"] == "db.influx.medium"


def test_update_sends_configuration_together_then_each_workflow_alone(life, tmp_path):
    life.need("create")
    life.sandbox.control.reset_requests()
    r = run(life.sandbox, tmp_path, ("update", MODULE, life.updated()))
    assert r.rc == 0, r.stdout[-3000:]
    task = r.task("update")
    assert task["changed"] is True
    assert task["update_calls"] == [
        {
            "port": 8087,
            "db_parameter_group_identifier": life.pg_ids[1],
            "log_delivery_configuration": {"s3_configuration": {"bucket_name": life.logs, "enabled": True}},
            "maintenance_schedule": {"timezone": "Europe/London", "preferred_maintenance_window": "Sun:02:00-Sun:04:00"},
            "db_backup_configurations": [{"type": "DAILY", "retention_days": 7, "enabled": True}],
        },
        {"deployment_type": "WITH_MULTIAZ_STANDBY"},
        {"db_instance_type": "db.influx.large"},
        {"db_storage_type": "InfluxIOIncludedT2", "allocated_storage": 400},
    ]
    assert mutating(life.sandbox) == ["UpdateDbInstance"] * 4
    live = life.live()
    assert live["status"] == "AVAILABLE"
    assert live["dbInstanceType"] == "db.influx.large"
    assert live["deploymentType"] == "WITH_MULTIAZ_STANDBY" and live["secondaryAvailabilityZone"]
    assert live["dbStorageType"] == "InfluxIOIncludedT2" and live["allocatedStorage"] == 400
    assert live["port"] == 8087  # the configured port, where the instance's server now listens
    assert live["dbParameterGroupIdentifier"] == life.pg_ids[1]
    assert live["logDeliveryConfiguration"] == {"s3Configuration": {"bucketName": life.logs, "enabled": True}}
    assert live["maintenanceSchedule"]["preferredMaintenanceWindow"] == "Sun:02:00-Sun:04:00"
    assert live["dbBackupConfigurations"][0]["retentionDays"] == 7
    assert task["instance"]["secondary_availability_zone"] == live["secondaryAvailabilityZone"]
    life.done.add("update")


def test_rerun_after_the_update_with_the_group_by_name_changes_nothing(life, tmp_path):
    life.need("update")
    r = run(life.sandbox, tmp_path, ("again", MODULE, dict(life.updated(), db_parameter_group_identifier=life.pg_names[1])),
            access_key=life.akid)
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("again")["changed"] is False
    assert mutating(life.sandbox, life.akid) == []


def test_immutable_changes_and_shrinking_fail_before_any_call(life, tmp_path):
    life.need("update")
    updated = life.updated()
    life.sandbox.control.reset_requests()
    r = run(
        life.sandbox, tmp_path,
        ("immutable", MODULE, dict(updated, publicly_accessible=True, vpc_subnet_ids=life.vpc.subnet_ids[:1],
                                   organization="other"),
         {"ignore_errors": True}),
        ("shrink", MODULE, {**{k: v for k, v in updated.items() if k != "db_storage_type"}, "allocated_storage": 300},
         {"ignore_errors": True}),
    )
    live = life.live()
    immutable = r.task("immutable")
    assert immutable["failed"] is True
    assert "publicly_accessible (current: False, wanted: True)" in immutable["msg"]
    # organization comes from the instance's auth-parameters secret (GetDbInstance does not report it)
    assert "organization (current: 'ons', wanted: 'other')" in immutable["msg"]
    assert f"vpc_subnet_ids (current: {live['vpcSubnetIds']!r}, wanted: {life.vpc.subnet_ids[:1]!r})" in immutable["msg"]
    shrink = r.task("shrink")
    assert shrink["failed"] is True and "allocated_storage can only grow" in shrink["msg"]
    assert mutating(life.sandbox) == []
    assert live["allocatedStorage"] == 400


def test_tags_are_added_then_purged(life, tmp_path):
    life.need("update")
    arn = life.out["arn"]
    r = run(life.sandbox, tmp_path, ("tags", MODULE, dict(life.updated(), tags={"Owner": "data"}, purge_tags=False)))
    assert r.rc == 0 and r.task("tags")["changed"] is True
    assert life.ts.list_tags_for_resource(resourceArn=arn)["tags"] == {"Team": "ONS", "Env": "test", "Owner": "data"}
    life.sandbox.control.reset_requests()
    r = run(life.sandbox, tmp_path, ("purge", MODULE, dict(life.updated(), tags={"Owner": "data"})), diff=True)
    assert r.rc == 0 and r.task("purge")["changed"] is True
    assert r.task("purge")["diff"]["after"]["tags"] == {"Owner": "data"}
    assert r.task("purge")["instance"]["tags"] == {"Owner": "data"}
    assert life.ts.list_tags_for_resource(resourceArn=arn)["tags"] == {"Owner": "data"}
    assert sorted(mutating(life.sandbox)) == ["UntagResource"]
    life.done.add("tags")


def test_info_finds_the_instance_with_its_tags(life, tmp_path):
    life.need("tags")
    r = run(life.sandbox, tmp_path, ("one", INFO, {"name": life.name}), ("all", INFO, {}))
    assert r.rc == 0
    assert [i["id"] for i in r.task("one")["instances"]] == [life.out["id"]]
    assert r.task("one")["instances"][0]["tags"] == {"Owner": "data"}
    assert life.out["id"] in [i["id"] for i in r.task("all")["instances"]]


def test_reboot_by_id_survives_throttled_status_polls(life, tmp_path):
    life.need("create")
    control = life.sandbox.control
    control.reset_requests()
    control.set_faults([{"service": SERVICE, "operation": "GetDbInstance", "kind": "throttle", "count": 2}])
    try:
        r = run(life.sandbox, tmp_path, ("reboot", MODULE, {"id": life.out["id"], "state": "rebooted", "wait_timeout": 120}))
    finally:
        control.clear_faults()
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("reboot")["changed"] is True
    assert r.task("reboot")["instance"]["status"] == "AVAILABLE"
    assert mutating(life.sandbox) == ["RebootDbInstance"]


def test_delete_then_delete_again_changes_nothing(life, tmp_path):
    life.need("create")
    r = run(life.sandbox, tmp_path, ("delete", MODULE, {"name": life.name, "state": "absent", "wait_timeout": 120}),
            diff=True)
    assert r.rc == 0, r.stdout[-3000:]
    assert r.task("delete")["changed"] is True
    assert r.task("delete")["diff"]["before"]["id"] == life.out["id"]
    assert instances_named(life.ts, life.name) == []
    life.sandbox.control.reset_requests()
    r = run(life.sandbox, tmp_path, ("delete", MODULE, {"name": life.name, "state": "absent"}))
    assert r.rc == 0 and r.task("delete")["changed"] is False
    assert "diff" not in r.task("delete")  # diff only with --diff
    assert mutating(life.sandbox) == []


def test_wait_false_returns_right_after_the_call(aws_sandbox, aws_vpc, tmp_path, names, cleanup):
    ts = aws_sandbox.client(SERVICE)
    name = names["instance"]
    cleanup.append(name)
    params = {
        "name": name,
        "password": PASSWORD,
        "organization": "ons",
        "bucket": "telemetry",
        "db_instance_type": "db.influx.medium",
        "allocated_storage": 20,
        "vpc_subnet_ids": aws_vpc.subnet_ids,
        "vpc_security_group_ids": [aws_vpc.security_group_id],
        "wait": False,
    }
    aws_sandbox.control.set_delay(5)  # long enough that CREATING is observable after the module returns
    try:
        r = run(aws_sandbox, tmp_path, ("create", MODULE, params))
        assert r.rc == 0, r.stdout[-3000:]
        assert r.task("create")["instance"]["status"] == "CREATING"
        assert ts.get_db_instance(identifier=r.task("create")["instance"]["id"])["status"] == "CREATING"
    finally:
        aws_sandbox.control.set_delay(0.5)


BAD_INPUTS = [
    ({"name": "1-starts-with-digit"}, "name must be letters, digits and single hyphens, starting with a letter"),
    ({"password": "short1"}, "password must have between 8 and 64 characters"),
    ({"password": "has-symbols-1234"}, "password must be letters and digits only"),
    ({"allocated_storage": 10}, "allocated_storage must be between 20 and 15360"),
    ({"db_storage_type": "InfluxIOIncludedT3", "allocated_storage": 100}, "allocated_storage 100 is too small"),
    ({"port": 8090}, "port 8090 is reserved"),
    ({"port": 7790}, "port 7790 is reserved"),
    ({"port": 80}, "port must be between 1024 and 65535"),
    ({"vpc_subnet_ids": ["not-a-subnet"]}, "vpc_subnet_ids[0] must be subnet- followed by lower-case letters and digits"),
    ({"vpc_security_group_ids": ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"]}, "vpc_security_group_ids must have"),
    ({"maintenance_schedule": {"timezone": "UTC", "preferred_maintenance_window": "Sunday"}},
     "maintenance_schedule.preferred_maintenance_window must be a weekly window"),
    ({"log_delivery_configuration": {"s3_configuration": {"bucket_name": "UPPER", "enabled": True}}},
     "log_delivery_configuration.s3_configuration.bucket_name must be an S3 bucket name"),
    ({"db_backup_configurations": [{"type": "DAILY", "retention_days": 999, "enabled": True}]},
     "db_backup_configurations[0].retention_days must be between 1 and 365"),
    ({"db_instance_type": "db.influx.tiny"}, "db_instance_type must be one of db.influx.medium"),
]


def test_bad_input_fails_before_any_request(aws_sandbox, aws_vpc, tmp_path, names):
    base = {
        "name": names["instance"],
        "password": PASSWORD,
        "db_instance_type": "db.influx.medium",
        "allocated_storage": 20,
        "vpc_subnet_ids": aws_vpc.subnet_ids,
        "vpc_security_group_ids": [aws_vpc.security_group_id],
    }
    tasks = [(f"bad{i}", MODULE, dict(base, **changes), {"ignore_errors": True}) for i, (changes, _message) in enumerate(BAD_INPUTS)]
    aws_sandbox.control.reset_requests()
    r = run(aws_sandbox, tmp_path, *tasks, verbosity=3)
    for i, (_changes, message) in enumerate(BAD_INPUTS):
        task = r.task(f"bad{i}")
        assert task["failed"] is True, (i, task)
        assert message in task["msg"], (message, task["msg"])
    # not one request at all, let alone a mutating one
    assert [q for q in aws_sandbox.control.requests() if q["service"] == SERVICE] == []
    assert PASSWORD not in r.stdout and PASSWORD not in r.stderr


def test_kms_key_by_id_arn_or_alias_is_the_same_key(aws_sandbox, aws_vpc, tmp_path, names, cleanup):
    kms = aws_sandbox.client("kms")
    key = kms.create_key(Description="influxdb")["KeyMetadata"]
    alias = f"alias/{names['instance']}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    name = names["instance"]
    cleanup.append(name)
    params = {
        "name": name,
        "password": PASSWORD,
        "organization": "ons",
        "bucket": "telemetry",
        "db_instance_type": "db.influx.medium",
        "allocated_storage": 20,
        "vpc_subnet_ids": aws_vpc.subnet_ids,
        "vpc_security_group_ids": [aws_vpc.security_group_id],
        "kms_key_id": key["Arn"],
        "wait_timeout": 120,
    }
    r = run(aws_sandbox, tmp_path, ("create", MODULE, params))
    assert r.rc == 0, r.stdout[-3000:]
    assert aws_sandbox.client(SERVICE).get_db_instance(identifier=r.task("create")["instance"]["id"])["kmsKeyId"] == key["Arn"]
    aws_sandbox.control.reset_requests()
    r = run(
        aws_sandbox, tmp_path,
        ("by id", MODULE, dict(params, kms_key_id=key["KeyId"])),
        ("by alias", MODULE, dict(params, kms_key_id=alias)),
        ("other key", MODULE, dict(params, kms_key_id=kms.create_key()["KeyMetadata"]["KeyId"]), {"ignore_errors": True}),
    )
    assert r.task("by id")["changed"] is False
    assert r.task("by alias")["changed"] is False
    assert r.task("other key")["failed"] is True and "kms_key_id (current: " in r.task("other key")["msg"]
    assert mutating(aws_sandbox) == []
