"""The seed's Lambda connectivity test against the sandbox, on the session platform (``site_platform``,
built once by site.yml, the function included: roles/lambda_test); its invocation
reports every step passed; each cause the seed's troubleshooting lists, broken in turn, makes
validation fail with the matching diagnosis, and the function passes again once it is repaired."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.helpers.ansible import REPO
from tests.integration.test_validation import failure, run_local

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("platform")]  # on the session platform

PROJECT = "ons-data-platform"


@pytest.fixture
def platform(validation_platform) -> dict[str, Any]:
    """The platform validation runs against, built once per session (tests/integration/conftest.py)."""
    prefix = validation_platform["prefix"]
    return {**validation_platform, "function": f"{prefix}-influxdb-test",
            "secrets": f"{PROJECT}/{validation_platform['env']}/influxdb"}


def invoke(aws_sandbox, platform) -> dict[str, Any]:
    answer = aws_sandbox.client("lambda").invoke(FunctionName=platform["function"], Payload=b"{}")
    assert "FunctionError" not in answer, answer
    return json.loads(answer["Payload"].read())


def validate_fails(aws_sandbox, platform) -> dict[str, Any]:
    result = run_local(aws_sandbox, platform["workdir"], REPO / "playbooks" / "validation.yml", platform["vars"])
    assert result.rc != 0
    failed = failure(result)
    assert failed["name"] == "The connectivity test passed every step", failed
    return failed


def test_the_function_runs_in_the_private_subnets_and_passes_every_step(aws_sandbox, platform):
    config = aws_sandbox.client("lambda").get_function(FunctionName=platform["function"])["Configuration"]
    ec2 = aws_sandbox.client("ec2")
    private = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [f"{platform['prefix']}-private-*"]}])
    assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(s["SubnetId"] for s in private["Subnets"])
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{platform['prefix']}-lambda"]}])
    assert config["VpcConfig"]["SecurityGroupIds"] == [group["SecurityGroups"][0]["GroupId"]]
    assert config["Role"].endswith(f":role/{platform['prefix']}-influxdb-lambda")

    report = invoke(aws_sandbox, platform)
    assert report["ok"] is True and report["failed_step"] is None, report
    assert [(s["step"], s["ok"]) for s in report["steps"]] == [
        ("read_secret", True), ("health", True), ("write", True), ("query", True)]
    assert all(isinstance(s["latency_ms"], float) for s in report["steps"])
    assert "token" not in json.dumps(report).lower().replace("lambda-token", "")
    events = aws_sandbox.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{platform['function']}")["events"]
    assert any('"ok": true' in e["message"] for e in events)


def test_deploying_again_changes_nothing(aws_sandbox, platform):
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    result = run_local(aws_sandbox, platform["workdir"], REPO / "playbooks" / "lambda_test.yml", platform["vars"])
    assert result.rc == 0, result.stdout[-3000:]
    assert [t["name"] for t in result.tasks() if t.get("changed")] == []
    mutating = [r for r in aws_sandbox.control.requests() if r["seq"] > before and r["mutating"]]
    assert [(r["service"], r["operation"]) for r in mutating] == []
    check = run_local(aws_sandbox, platform["workdir"], REPO / "playbooks" / "lambda_test.yml", platform["vars"], check=True)
    assert check.rc == 0 and [t["name"] for t in check.tasks() if t.get("changed")] == [], check.stdout[-3000:]


def test_check_mode_before_the_network_exists_says_what_it_would_deploy(aws_sandbox, tmp_path):
    result = run_local(aws_sandbox, tmp_path, REPO / "playbooks" / "lambda_test.yml", {"environment_name": "never-built"},
                       check=True)
    assert result.rc == 0, result.stdout[-3000:]
    message = result.task("ons.timestream_influxdb.lambda_test : Check mode - the network or the role does not exist yet")["msg"]
    assert "Would deploy the function ons-data-platform-never-built-influxdb-test" in message


@contextmanager
def broken(undo) -> Iterator[None]:
    try:
        yield
    finally:
        undo()


def test_without_the_ingress_rule_the_connection_times_out_and_validation_names_the_security_group(aws_sandbox, platform):
    ec2 = aws_sandbox.client("ec2")
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [
        f"{platform['prefix']}-lambda", f"{platform['prefix']}-influxdb"]}])["SecurityGroups"]}
    database = groups[f"{platform['prefix']}-influxdb"]
    rule = database["IpPermissions"][0]
    rule = {k: rule[k] for k in ("IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs")}
    ec2.revoke_security_group_ingress(GroupId=database["GroupId"], IpPermissions=[rule])
    with broken(lambda: ec2.authorize_security_group_ingress(GroupId=database["GroupId"], IpPermissions=[rule])):
        failed = validate_fails(aws_sandbox, platform)
        assert "step health failed" in failed["msg"]
        assert "Likely cause: timeout" in failed["msg"] and "security group" in failed["msg"]
    assert invoke(aws_sandbox, platform)["ok"] is True


def test_without_the_secret_permission_validation_names_the_iam_policy(aws_sandbox, platform):
    iam = aws_sandbox.client("iam")
    role = f"{platform['prefix']}-influxdb-lambda"
    original = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
    document = original if isinstance(original, dict) else json.loads(original)
    reduced = {**document, "Statement": [s for s in document["Statement"] if s.get("Sid") != "ReadThePlatformSecrets"]}
    assert len(reduced["Statement"]) == len(document["Statement"]) - 1
    iam.put_role_policy(RoleName=role, PolicyName=role, PolicyDocument=json.dumps(reduced))
    with broken(lambda: iam.put_role_policy(RoleName=role, PolicyName=role, PolicyDocument=json.dumps(document))):
        failed = validate_fails(aws_sandbox, platform)
        assert "step read_secret failed" in failed["msg"]
        assert "AccessDeniedException" in failed["msg"] and "Likely cause: IAM policy" in failed["msg"]
    assert invoke(aws_sandbox, platform)["ok"] is True


def test_with_the_token_deactivated_validation_names_the_token(aws_sandbox, platform):
    secrets = aws_sandbox.client("secretsmanager")
    lambda_token = json.loads(secrets.get_secret_value(SecretId=f"{platform['secrets']}/lambda-token")["SecretString"])
    operator = json.loads(secrets.get_secret_value(SecretId=f"{platform['secrets']}/operator-token")["SecretString"])

    def set_status(status: str) -> None:
        request = urllib.request.Request(
            f"{lambda_token['url']}/api/v2/authorizations/{lambda_token['authorization_id']}",
            data=json.dumps({"status": status}).encode(), method="PATCH",
            headers={"Authorization": f"Token {operator['token']}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    set_status("inactive")
    with broken(lambda: set_status("active")):
        failed = validate_fails(aws_sandbox, platform)
        # InfluxDB refuses an inactive token (401 or 403 by version); the seed maps both to one cause
        assert "step write failed" in failed["msg"] and ("HTTP 401" in failed["msg"] or "HTTP 403" in failed["msg"])
        assert "Likely cause: token or permissions" in failed["msg"]
    assert invoke(aws_sandbox, platform)["ok"] is True
