"""Credential rotation that never locks anyone out, against the sandbox.

ONE instance (custom port 9186) is built by boto3 for this module (no network stage, no full site);
its tokens are bootstrapped by playbooks/credential_rotation.yml itself. Then, in file order:

* the playbook is due-based: right after the bootstrap nothing is due, a second run changes nothing;
* ``--check -e rotation_force=true`` reports what would rotate and sends no mutating request;
* a token rotation and an admin-password rotation are interrupted at every point (after
  createSecret, between the InfluxDB change and the secret update, after setSecret and testSecret,
  after the promotion inside finishSecret) through the module's test hook (ONS_ROTATION_STOP_AFTER);
  after each interruption AWSCURRENT or AWSPENDING authenticates against the instance's InfluxDB;
  the playbook run again finishes both rotations: the new credentials work, the old token works
  during its grace period, and once its recorded expiry has passed (the tag is set to a past time,
  no sleeping) the next run deletes it;
* at -vvv, no secret value (plain, base64 or URL-encoded) appears in the output.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.client import wait_for_db_instance
from tests.helpers.ansible import REPO, run_playbook
from tests.helpers.secrets import assert_no_secret, files_written_since
from tests.integration.conftest import PROJECT, Environment, SiteRun, SiteRunner

PASSWORD = "Rotation" + uuid.uuid4().hex[:16]
PORT = 9186
ENV = Environment("itrot", 63)
PREFIX = f"{PROJECT}/{ENV.name}/influxdb"
INSTANCE = f"{PROJECT}-{ENV.name}"
EXTRA = {
    "database_admin_password": PASSWORD,
    # No network stage here: no KMS key (the secrets use the default key).
    "security_kms_key_arn": "",
    "rotation_grace_period_seconds": 3600,
}


@dataclass
class Built:
    runner: SiteRunner
    sandbox: Any
    url: str
    auth_secret_arn: str
    workdir: Path
    first: SiteRun | None = None

    def run(self, *, extra: dict[str, Any] | None = None, **kwargs: Any) -> SiteRun:
        return self.runner.run(ENV, "playbooks/credential_rotation.yml", extra_vars={**EXTRA, **(extra or {})}, **kwargs)

    def secret(self, name: str, stage: str = "AWSCURRENT") -> dict[str, Any] | None:
        sm = self.sandbox.client("secretsmanager")
        try:
            return json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/{name}", VersionStage=stage)["SecretString"])
        except sm.exceptions.ResourceNotFoundException:
            return None

    def stages(self, name: str) -> dict[str, list[str]]:
        return self.sandbox.client("secretsmanager").describe_secret(SecretId=f"{PREFIX}/{name}")["VersionIdsToStages"]

    def tags(self, name: str) -> dict[str, str]:
        tags = self.sandbox.client("secretsmanager").describe_secret(SecretId=f"{PREFIX}/{name}").get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def module(self, tasks: list[dict[str, Any]], **kwargs: Any):
        """Inline tasks of influx_secret_rotation (each may carry its own `environment`)."""
        return run_playbook(self.workdir, tasks=tasks, extra_vars={
            "aws_region": self.sandbox.region, "aws_endpoint_url": self.sandbox.endpoint,
            "aws_access_key": ENV.access_key, "aws_secret_key": "testing"},
            module_defaults={"group/ons.timestream_influxdb.aws": {
                "region": "{{ aws_region }}", "endpoint_url": "{{ aws_endpoint_url }}",
                "access_key": "{{ aws_access_key }}", "secret_key": "{{ aws_secret_key }}"}}, **kwargs)

    def token_works(self, token: str) -> bool:
        """A read the token is allowed (its bucket); a 401 is the only "does not authenticate"."""
        req = urllib.request.Request(f"{self.url}/api/v2/buckets?name=telemetry",
                                     headers={"Authorization": f"Token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return any(b["name"] == "telemetry" for b in json.load(resp)["buckets"])
        except urllib.error.HTTPError as exc:
            assert exc.code == 401, exc.code
            return False

    def password_works(self, username: str, password: str) -> bool:
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        req = urllib.request.Request(f"{self.url}/api/v2/signin", method="POST",
                                     headers={"Authorization": f"Basic {basic}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status == 204
        except urllib.error.HTTPError as exc:
            assert exc.code in (401, 403), exc.code
            return False

    def authorizations(self, token: str) -> list[dict[str, Any]]:
        req = urllib.request.Request(f"{self.url}/api/v2/authorizations", headers={"Authorization": f"Token {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)["authorizations"]


def rotation_task(name: str, target: str, stop: str | None = None, **options: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": name,
        "ons.timestream_influxdb.influx_secret_rotation": {
            "secret_id": f"{PREFIX}/{target}",
            "credential": "password" if target == "admin" else "token",
            "instance_name": INSTANCE,
            "admin_secret_id": f"{PREFIX}/admin",
            "url_scheme": "http",
            **options,
        },
        "ignore_errors": True,
    }
    if stop:
        task["environment"] = {"ONS_ROTATION_STOP_AFTER": stop}
    return task


@pytest.fixture(scope="module")
def built(site_runner: SiteRunner, aws_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    ec2 = aws_sandbox.client("ec2")
    ts = aws_sandbox.client("timestream-influxdb")
    vpc_id = ec2.create_vpc(CidrBlock="10.63.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.63.10.0/24", AvailabilityZone=f"{aws_sandbox.region}a")
    sg_id = ec2.create_security_group(GroupName=f"rotation-{uuid.uuid4().hex[:8]}", Description="rotation test",
                                      VpcId=vpc_id)["GroupId"]
    instance = ts.create_db_instance(
        name=INSTANCE, password=PASSWORD, username="admin", organization="ons", bucket="telemetry",
        dbInstanceType="db.influx.medium", vpcSubnetIds=[subnet["Subnet"]["SubnetId"]], vpcSecurityGroupIds=[sg_id],
        allocatedStorage=20, port=PORT)
    try:
        ready = wait_for_db_instance(ts, instance["id"], "AVAILABLE", timeout=120)
        built = Built(site_runner, aws_sandbox, f"http://{ready['endpoint']}:{ready['port']}",
                      ready["influxAuthParametersSecretArn"], tmp_path_factory.mktemp("rotation"))
        built.first = built.run()
        yield built
    finally:
        try:
            ts.delete_db_instance(identifier=instance["id"])
        except Exception:  # noqa: BLE001, S110 - best effort
            pass


def test_bootstrap_then_nothing_is_due(built: Built) -> None:
    first = built.first
    assert first.rc == 0, first.output()
    assert "not due" in first.stdout
    for target in ("operator-token", "lambda-token"):
        value = built.secret(target)
        assert value and value["port"] == PORT and built.token_works(value["token"])
    second = built.run()
    assert second.rc == 0, second.output()
    assert second.recap["changed"] == 0, second.output()
    # Only the credential-age metric is published (every run, not a change).
    assert [r for r in second.mutating if r["operation"] != "PutMetricData"] == [], second.mutating


def test_check_mode_reports_and_changes_nothing(built: Built) -> None:
    before = {t: built.stages(t) for t in ("operator-token", "lambda-token", "admin")}
    run = built.run(check=True, extra={"rotation_force": True})
    assert run.rc == 0, run.output()
    for target in ("operator-token", "lambda-token", "admin"):
        assert f"{PREFIX}/{target}: would rotate" in run.stdout, run.output()
    assert run.mutating == [], run.mutating
    assert {t: built.stages(t) for t in before} == before


def assert_token_invariant(built: Built, target: str) -> None:
    current, pending = built.secret(target), built.secret(target, "AWSPENDING")
    assert built.token_works(current["token"]) or (pending and built.token_works(pending["token"])), \
        f"locked out: neither AWSCURRENT nor AWSPENDING of {target} authenticates"


def assert_password_invariant(built: Built) -> None:
    current, pending = built.secret("admin"), built.secret("admin", "AWSPENDING")
    assert built.password_works(current["username"], current["password"]) or (
        pending and built.password_works(pending["username"], pending["password"])), \
        "locked out: neither AWSCURRENT nor AWSPENDING admin password signs in"


def test_interrupted_at_every_step_never_locks_out_and_completes(built: Built) -> None:
    old_token = built.secret("lambda-token")
    old_password = built.secret("admin")["password"]
    operator = built.secret("operator-token")["token"]
    # (token point, password point) per run; the first two start rotations (force), then each run resumes.
    plan = [("influxChange", "createSecret"), ("createSecret", "setSecret"), ("setSecret", "testSecret"),
            ("testSecret", "promote"), ("promote", None)]
    for index, (token_stop, password_stop) in enumerate(plan):
        force = index < 2 and token_stop in ("influxChange", "createSecret")
        tasks = [rotation_task(f"token {token_stop}", "lambda-token", token_stop, force=force)]
        if password_stop:
            tasks.append(rotation_task(f"password {password_stop}", "admin", password_stop, force=index == 0))
        result = built.module(tasks)
        assert result.rc == 0, result.stdout[-3000:]
        token_result = result.task(f"token {token_stop}")
        assert token_result.get("stopped_after") == token_stop, token_result
        assert_token_invariant(built, "lambda-token")
        if password_stop:
            assert result.task(f"password {password_stop}").get("stopped_after") == password_stop
            assert_password_invariant(built)
        if token_stop == "influxChange":
            # The new authorization exists in InfluxDB but was never stored: the old token still rules.
            assert "AWSPENDING" not in json.dumps(built.stages("lambda-token"))
            assert built.secret("lambda-token") == old_token
        # The old token works at every point (it is only retired after the promotion).
        assert built.token_works(old_token["token"])

    # The scheduled job runs again: it finishes both rotations (resume before the bootstrap).
    run = built.run()
    assert run.rc == 0, run.output()
    new_token = built.secret("lambda-token")
    admin = built.secret("admin")
    assert new_token["authorization_id"] != old_token["authorization_id"]
    assert new_token["token"] != old_token["token"]
    assert built.token_works(new_token["token"])
    assert admin["password"] != old_password and built.password_works("admin", admin["password"])
    assert not built.password_works("admin", old_password)
    assert len(admin["password"]) == 32 and admin["password"].isalnum()
    auth_params = json.loads(built.sandbox.client("secretsmanager").get_secret_value(
        SecretId=built.auth_secret_arn)["SecretString"])
    assert auth_params["password"] == admin["password"]
    for target in ("lambda-token", "admin"):
        stages = built.stages(target)
        assert not any("AWSPENDING" in s for s in stages.values()), stages
        assert "RotationLastRotated" in built.tags(target)
    assert built.secret("lambda-token", "AWSPREVIOUS") == old_token
    # The old token is in its grace period: still works, renamed, recorded for deletion.
    assert built.token_works(old_token["token"])
    tags = built.tags("lambda-token")
    assert tags["RotationRetiredTokens"].startswith(old_token["authorization_id"] + "@")
    descriptions = {a["id"]: a["description"] for a in built.authorizations(operator)}
    assert descriptions[new_token["authorization_id"]] == f"{PROJECT}-{ENV.name} lambda functions"
    assert "retired by rotation" in descriptions[old_token["authorization_id"]]
    # No orphan of the interrupted rotation is left.
    assert not [d for d in descriptions.values() if "(rotation " in d], descriptions
    # The same permissions as the old one.

    # The grace period ends: set the recorded expiry in the past (no sleeping); the next run deletes it.
    built.sandbox.client("secretsmanager").tag_resource(
        SecretId=f"{PREFIX}/lambda-token",
        Tags=[{"Key": "RotationRetiredTokens", "Value": f"{old_token['authorization_id']}@0"}])
    run = built.run()
    assert run.rc == 0, run.output()
    assert not built.token_works(old_token["token"])
    assert built.token_works(new_token["token"])
    assert "RotationRetiredTokens" not in built.tags("lambda-token")
    # Not due again: the run after changes nothing.
    again = built.run()
    assert again.rc == 0 and again.recap["changed"] == 0, again.output()


def test_no_secret_in_verbose_output(built: Built) -> None:
    before = {t: built.secret(t) for t in ("operator-token", "lambda-token", "admin")}
    started = time.time()
    run = built.run(extra={"rotation_force": True}, args=["-vvv"])
    assert run.rc == 0, run.output()
    after = {t: built.secret(t) for t in before}
    values = {PASSWORD}
    for value in list(before.values()) + list(after.values()):
        values.update(v for k, v in value.items() if k in ("token", "password"))
    assert after["admin"]["password"] != before["admin"]["password"]
    # The output (plain, base64 also inside a Basic header, URL-encoded) and every file the run wrote: its
    # plan JSON, what it left under .ansible/ and outputs/; not the vars files this test gave it (they hold PASSWORD).
    written = [p for p in files_written_since(started, built.runner.workdir) if not p.name.startswith("vars-")]
    assert any(p.name.startswith("plan-") for p in written), written
    assert_no_secret([run.stdout, run.stderr, *written], values)


def test_ansible_runner_job_rotates(built: Built, tmp_path: Path) -> None:
    """The AWX job as AWX runs it: ansible-runner, a private data directory, the AWS credentials
    injected as environment variables (AWX's Amazon Web Services credential type), not in the inventory."""
    import ansible_runner

    before = built.secret("operator-token")
    private_data_dir = tmp_path / "runner"
    private_data_dir.mkdir()
    env = built.runner.env({"AWS_ACCESS_KEY_ID": ENV.access_key, "AWS_SECRET_ACCESS_KEY": "testing"})
    result = ansible_runner.run(
        private_data_dir=str(private_data_dir), project_dir=str(REPO), playbook="playbooks/credential_rotation.yml",
        inventory=str(REPO / "inventories" / "local"),
        extravars={**ENV.extra_vars(), **EXTRA, "aws_access_key": "", "aws_secret_key": "",
                   "rotation_force": True, "rotation_targets": ["operator-token"]},
        envvars={k: v for k, v in env.items() if not k.startswith("AWS_") or k in (
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION")},
        quiet=True, timeout=900)
    output = result.stdout.read()
    assert result.status == "successful" and result.rc == 0, output[-4000:]
    after = built.secret("operator-token")
    assert after["authorization_id"] != before["authorization_id"]
    assert built.token_works(after["token"]) and built.token_works(before["token"])  # grace period
    assert before["token"] not in output and after["token"] not in output
    # The requests were signed with the injected key.
    assert any(r["operation"] == "UpdateSecretVersionStage" for r in built.sandbox.control.requests(ENV.access_key))
