"""The database and secrets roles against the sandbox, for what molecule cannot express well.

One environment is built per module (network by boto3, then the roles through ansible-playbook):
its facts, that a second run changes nothing in AWS, that a stored token which stopped working
(deactivated, deleted) is replaced with its secret updated and its old authorization deleted,
that no secret value appears in a -vvv log, and that --check on an empty environment runs to the
end without a mutating call.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.client import wait_for_db_instance
from tests.helpers.ansible import PlaybookResult, run_playbook

PASSWORD = "Pytest" + uuid.uuid4().hex[:16]
PROJECT = "ons-data-platform"


@dataclass
class Environment:
    """An environment built by the roles: its variables and AWS clients."""

    name: str
    access_key: str
    extra_vars: dict[str, Any]
    sandbox: Any
    workdir: Path

    @property
    def prefix(self) -> str:
        return f"{PROJECT}/{self.name}/influxdb"

    def secret(self, kind: str) -> dict[str, Any]:
        value = self.sandbox.client("secretsmanager").get_secret_value(SecretId=f"{self.prefix}/{kind}")
        return json.loads(value["SecretString"])

    def versions(self, kind: str) -> int:
        return len(self.sandbox.client("secretsmanager").list_secret_version_ids(
            SecretId=f"{self.prefix}/{kind}")["Versions"])

    def run(self, entry_points: list[tuple[str, str]], **kwargs: Any) -> PlaybookResult:
        return run_playbook(self.workdir, tasks=role_tasks(entry_points), extra_vars=self.extra_vars,
                            module_defaults=AWS_DEFAULTS, **kwargs)

    def mutating(self, since: int) -> list[dict[str, Any]]:
        return [r for r in self.sandbox.control.requests(self.access_key) if r["mutating"] and r["seq"] > since]

    def last_seq(self) -> int:
        return max((r["seq"] for r in self.sandbox.control.requests()), default=0)


AWS_DEFAULTS = {
    "group/ons.timestream_influxdb.aws": {
        "region": "{{ aws_region }}",
        "endpoint_url": "{{ aws_endpoint_url }}",
        "access_key": "{{ aws_access_key }}",
        "secret_key": "{{ aws_secret_key }}",
    }
}
EVERYTHING = [("database", "main"), ("secrets", "main"), ("database", "wait"), ("database", "contents"),
              ("secrets", "tokens")]
TOKENS = [("secrets", "tokens")]


def role_tasks(entry_points: list[tuple[str, str]]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = [
        {"name": f"{role} {entry}", "ansible.builtin.include_role": {
            "name": f"ons.timestream_influxdb.{role}", "tasks_from": entry}}
        for role, entry in entry_points
    ]
    tasks.append({"name": "Facts", "ansible.builtin.debug": {"msg": {
        name: f"{{{{ {name} | default(None) }}}}" for name in (
            "database_instance_id", "database_instance_arn", "database_endpoint", "database_url",
            "database_auth_parameters_secret_arn", "database_log_bucket_name", "secrets_admin_secret_arn",
            "secrets_operator_token_secret_arn", "secrets_lambda_token_secret_arn")}}})
    return tasks


def environment_vars(sandbox: Any, name: str, access_key: str, **extra: Any) -> dict[str, Any]:
    return {
        "project": PROJECT,
        "environment_name": name,
        "aws_region": sandbox.region,
        "aws_endpoint_url": sandbox.endpoint,
        "aws_access_key": access_key,
        "aws_secret_key": "testing",
        "resource_tags": {"Project": PROJECT, "Environment": name, "ManagedBy": "ansible"},
        "database_instance_name": f"{PROJECT}-{name}",
        "database_admin_password": PASSWORD,
        "database_url_scheme": "http",
        "database_wait_timeout": 120,
        "database_wait_delay": 1,
        **extra,
    }


def http(url: str, token: str, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox's http URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def changed_tasks(result: PlaybookResult) -> list[str]:
    return [t["name"] for t in result.tasks() if t.get("changed")]


@pytest.fixture(scope="module")
def built(aws_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Environment, PlaybookResult]]:
    """The network by boto3, then every entry point of both roles once."""
    ec2 = aws_sandbox.client("ec2")
    name = f"pytest-roles-{uuid.uuid4().hex[:6]}"
    access_key = f"AKIAP2DB{uuid.uuid4().hex[:8].upper()}"
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{i}.0/24",
                                 AvailabilityZone=f"{aws_sandbox.region}{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    sg_id = ec2.create_security_group(GroupName=name, Description="pytest", VpcId=vpc_id)["GroupId"]
    key_arn = aws_sandbox.client("kms").create_key(Description=name)["KeyMetadata"]["Arn"]
    env = Environment(name, access_key, environment_vars(
        aws_sandbox, name, access_key, vpc_private_subnet_ids=subnets,
        security_database_security_group_id=sg_id, security_kms_key_arn=key_arn,
        database_parameters={}), aws_sandbox, tmp_path_factory.mktemp("roles"))
    try:
        result = env.run(EVERYTHING)
        assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
        yield env, result
    finally:
        sm = aws_sandbox.client("secretsmanager")
        for kind in ("admin", "operator-token", "lambda-token"):
            try:
                sm.delete_secret(SecretId=f"{env.prefix}/{kind}", ForceDeleteWithoutRecovery=True)
            except Exception:  # noqa: BLE001, S110 - best-effort cleanup
                pass
        tsi = aws_sandbox.client("timestream-influxdb")
        for item in tsi.list_db_instances()["items"]:
            if item["name"] == f"{PROJECT}-{name}":
                tsi.delete_db_instance(identifier=item["id"])
                wait_for_db_instance(tsi, item["id"], "DELETED", timeout=60)
        s3 = aws_sandbox.client("s3")
        for bucket in s3.list_buckets()["Buckets"]:
            if bucket["Name"].startswith(f"{PROJECT}-{name}-"):
                s3.delete_bucket(Bucket=bucket["Name"])
        for call, kwargs in ((ec2.delete_security_group, {"GroupId": sg_id}),
                             *((ec2.delete_subnet, {"SubnetId": s}) for s in subnets),
                             (ec2.delete_vpc, {"VpcId": vpc_id})):
            try:
                call(**kwargs)
            except Exception:  # noqa: BLE001, S110 - best-effort cleanup
                pass


def test_roles_expose_the_contract_facts(built: tuple[Environment, PlaybookResult]) -> None:
    env, result = built
    facts = result.task("Facts")["msg"]
    instance = env.sandbox.client("timestream-influxdb").get_db_instance(identifier=facts["database_instance_id"])
    assert facts["database_instance_arn"] == instance["arn"]
    assert facts["database_endpoint"] == instance["endpoint"]
    assert facts["database_url"] == f"http://{instance['endpoint']}:{instance['port']}"
    assert facts["database_auth_parameters_secret_arn"] == instance["influxAuthParametersSecretArn"]
    assert facts["database_log_bucket_name"] == instance["logDeliveryConfiguration"]["s3Configuration"]["bucketName"]
    assert instance["dbBackupConfigurations"] == [{"type": "DAILY", "retentionDays": 7, "enabled": True}]
    assert instance["kmsKeyId"] == env.extra_vars["security_kms_key_arn"]
    for kind, fact in (("admin", "secrets_admin_secret_arn"), ("operator-token", "secrets_operator_token_secret_arn"),
                       ("lambda-token", "secrets_lambda_token_secret_arn")):
        described = env.sandbox.client("secretsmanager").describe_secret(SecretId=f"{env.prefix}/{kind}")
        assert facts[fact] == described["ARN"]
        assert described["KmsKeyId"] == env.extra_vars["security_kms_key_arn"]
    assert env.secret("admin")["url"] == facts["database_url"]
    assert env.secret("admin")["password"] == PASSWORD


def test_a_second_run_changes_nothing(built: tuple[Environment, PlaybookResult]) -> None:
    env = built[0]
    since = env.last_seq()
    versions = {kind: env.versions(kind) for kind in ("admin", "operator-token", "lambda-token")}
    result = env.run(EVERYTHING)
    assert result.rc == 0, result.stdout[-4000:]
    assert changed_tasks(result) == []
    assert env.mutating(since) == []
    assert {kind: env.versions(kind) for kind in versions} == versions


def test_check_mode_on_the_built_environment_plans_nothing(built: tuple[Environment, PlaybookResult]) -> None:
    env = built[0]
    since = env.last_seq()
    result = env.run(EVERYTHING, check=True, diff=True)
    assert result.rc == 0, result.stdout[-4000:]
    assert changed_tasks(result) == []
    assert env.mutating(since) == []
    assert not [t["msg"] for t in result.tasks() if str(t.get("msg", "")).startswith("Would ")]


def test_tokens_that_stopped_working_are_replaced_and_no_secret_is_logged(
        built: tuple[Environment, PlaybookResult]) -> None:
    """The Lambda token deactivated and the operator's authorization deleted behind the role's back:
    one run (at -vvv) replaces both, updates their secrets, deletes the old authorizations, and
    logs none of the tokens or passwords it handled."""
    env, built_result = built
    old_lambda, old_operator = env.secret("lambda-token"), env.secret("operator-token")
    versions = {kind: env.versions(kind) for kind in ("operator-token", "lambda-token")}
    url = old_lambda["url"]
    assert http(f"{url}/api/v2/authorizations/{old_lambda['authorization_id']}", old_operator["token"], "PATCH",
                json.dumps({"status": "inactive"}).encode()) == 200
    assert http(f"{url}/api/v2/authorizations/{old_operator['authorization_id']}", old_operator["token"],
                "DELETE") == 204
    assert http(f"{url}/api/v2/buckets", old_lambda["token"]) == 401

    result = env.run(TOKENS, verbosity=3)
    assert result.rc == 0, result.stdout[-4000:]
    new_lambda, new_operator = env.secret("lambda-token"), env.secret("operator-token")
    for old, new, kind in ((old_lambda, new_lambda, "lambda-token"), (old_operator, new_operator, "operator-token")):
        assert new["token"] != old["token"]
        assert new["authorization_id"] != old["authorization_id"]
        assert env.versions(kind) == versions[kind] + 1
        assert {k: v for k, v in new.items() if k not in ("token", "authorization_id")} == \
            {k: v for k, v in old.items() if k not in ("token", "authorization_id")}
    assert http(f"{url}/api/v2/write?org={new_lambda['org']}&bucket={new_lambda['bucket']}", new_lambda["token"],
                "POST", b"pytest value=1i") == 204
    assert http(f"{url}/api/v2/me", new_operator["token"]) == 200
    # The deactivated authorization is gone, not merely left inactive.
    assert http(f"{url}/api/v2/authorizations/{old_lambda['authorization_id']}", new_operator["token"]) == 404
    assert "ons.timestream_influxdb.secrets : Token secret, KMS-encrypted, as the Lambda functions read it" \
        in changed_tasks(result)

    log = result.stdout + result.stderr
    auth = env.sandbox.client("secretsmanager").get_secret_value(
        SecretId=built_result.task("Facts")["msg"]["database_auth_parameters_secret_arn"])
    secrets = {"admin password": PASSWORD, "auth-parameters password": json.loads(auth["SecretString"])["password"],
               "old Lambda token": old_lambda["token"], "old operator token": old_operator["token"],
               "new Lambda token": new_lambda["token"], "new operator token": new_operator["token"]}
    assert [name for name, value in secrets.items() if value in log] == []


def test_a_failure_is_readable_without_secrets_and_the_next_run_recovers(
        built: tuple[Environment, PlaybookResult]) -> None:
    """Secrets Manager refuses to store a replacement token: the run fails naming the task and
    the cause, with no token in the log; the next run replaces the unstored token and stores it."""
    env = built[0]
    old, operator = env.secret("lambda-token"), env.secret("operator-token")
    assert http(f"{old['url']}/api/v2/authorizations/{old['authorization_id']}", operator["token"], "PATCH",
                json.dumps({"status": "inactive"}).encode()) == 200
    env.sandbox.control.set_faults([{"service": "secretsmanager", "operation": "UpdateSecret",
                                     "kind": "server_error", "access_key": env.access_key}])
    try:
        failed = env.run(TOKENS, verbosity=3)
    finally:
        env.sandbox.control.clear_faults()
    assert failed.rc != 0
    message = failed.task("ons.timestream_influxdb.secrets : Fail with the message of the failed task, secrets masked")[
        "msg"]
    assert message.startswith("Token secret, KMS-encrypted, as the Lambda functions read it failed: ")
    assert "Failed to update secret" in message and "UpdateSecret" in message
    assert env.secret("lambda-token") == old
    log = failed.stdout + failed.stderr
    assert old["token"] not in log and operator["token"] not in log and PASSWORD not in log

    recovered = env.run(TOKENS)
    assert recovered.rc == 0, recovered.stdout[-4000:]
    new = env.secret("lambda-token")
    assert new["token"] != old["token"]
    assert http(f"{new['url']}/api/v2/buckets?name={new['bucket']}", new["token"]) == 200
    listing = urllib.request.Request(f"{new['url']}/api/v2/authorizations",
                                     headers={"Authorization": f"Token {operator['token']}"})
    with urllib.request.urlopen(listing, timeout=10) as response:  # noqa: S310 - the sandbox's http URL
        descriptions = [a["description"] for a in json.loads(response.read())["authorizations"]]
    assert descriptions.count(f"{PROJECT}-{env.name} lambda functions") == 1


def test_check_mode_on_an_empty_environment_runs_to_the_end(aws_sandbox: Any, tmp_path: Path) -> None:
    name = f"pytest-plan-{uuid.uuid4().hex[:6]}"
    access_key = f"AKIAP2DB{uuid.uuid4().hex[:8].upper()}"
    env = Environment(name, access_key, environment_vars(aws_sandbox, name, access_key), aws_sandbox, tmp_path)
    since = env.last_seq()
    result = env.run(EVERYTHING, check=True, diff=True)
    assert result.rc == 0, result.stdout[-4000:]
    assert env.mutating(since) == []
    messages = " ".join(str(t.get("msg", "")) for t in result.tasks())
    assert f"Would create the Timestream for InfluxDB instance {PROJECT}-{name}" in messages
    assert "Would create the S3 bucket" in messages
    assert "Would create the operator and Lambda tokens" in messages
    assert "Would create the buckets telemetry" in messages
