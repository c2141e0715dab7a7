"""playbooks/validation.yml against the session platform (``site_platform``: built once by site.yml with
the local inventory, tests/integration/conftest.py): it passes on the platform as
built, changing nothing in AWS; it fails naming the cause when one thing is broken (a rule open to
0.0.0.0/0 on the database security group; the Lambda role allowed another environment's secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.helpers.ansible import REPO, PlaybookResult, ansible_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("platform")]  # on the session platform


def run_local(
    aws_sandbox, workdir: Path, playbook: Path, extra_vars: dict[str, Any], check: bool = False
) -> PlaybookResult:
    """ansible-playbook with the local inventory (as `make run` does), pointed at the test's sandbox."""
    vars_file = workdir / f"vars-{uuid.uuid4().hex[:6]}.json"
    vars_file.write_text(json.dumps({"ansible_python_interpreter": sys.executable, **extra_vars}))
    env = ansible_env(
        {
            "SANDBOX_PORT": str(urlparse(aws_sandbox.endpoint).port),
            "SANDBOX_STATE_DIR": str(workdir),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        }
    )
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", str(REPO / "inventories" / "local"),
        str(playbook),
        "-e", f"@{vars_file}",
    ] + (["--check", "--diff"] if check else [])
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False)
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):]) if "{" in proc.stdout else {}
    except ValueError:
        data = {}
    return PlaybookResult(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, data=data)


def failure(result: PlaybookResult) -> dict[str, Any]:
    failed = [t for t in result.tasks() if t.get("failed")]
    assert failed, f"no task failed; rc={result.rc}\n{result.stdout[-3000:]}"
    return failed[-1]


@pytest.fixture
def platform(validation_platform):
    """The platform, built once per session (tests/integration/conftest.py)."""
    return validation_platform


def validate(aws_sandbox, platform, check: bool = False) -> PlaybookResult:
    return run_local(aws_sandbox, platform["workdir"], REPO / "playbooks" / "validation.yml", platform["vars"], check)


def test_check_mode_before_anything_is_built_stops_with_a_message(aws_sandbox, tmp_path):
    """site.yml --check on an empty account reaches validation: it says why it stops, and fails nothing."""
    result = run_local(
        aws_sandbox, tmp_path, REPO / "playbooks" / "validation.yml", {"environment_name": "never-built"}, check=True
    )
    assert result.rc == 0, result.stdout[-3000:]
    assert "no VPC is tagged Name=ons-data-platform-never-built-vpc yet" in result.task("Say validation waits for the platform")["msg"]


def test_check_mode_on_the_built_platform_validates_without_writing(aws_sandbox, platform):
    aws_sandbox.control.reset_requests()
    result = validate(aws_sandbox, platform, check=True)
    assert result.rc == 0, result.stdout[-5000:]
    assert "test point not written (check mode)" in result.task("The platform is valid")["msg"]
    assert [(r["service"], r["operation"]) for r in aws_sandbox.control.requests() if r["mutating"]] == []


def test_validation_passes_on_the_built_platform_and_changes_nothing(aws_sandbox, platform):
    aws_sandbox.control.reset_requests()
    result = validate(aws_sandbox, platform)
    assert result.rc == 0, result.stdout[-5000:]
    summary = result.task("The platform is valid")["msg"]
    assert f"instance {platform['prefix']} AVAILABLE" in summary
    assert "test point written and read back with the Lambda token" in summary
    assert [(r["service"], r["operation"]) for r in aws_sandbox.control.requests() if r["mutating"]] == []
    # the IAM simulator is tried; the sandbox (moto) cannot answer it, so the documents are read
    access = result.task("Ask IAM what the Lambda role may read in Secrets Manager (simulation, else its policy documents)")
    assert access["method"] in ("simulation", "policy_documents")
    decisions = {r["resource"].rsplit(":", 1)[-1]: r["decision"] for r in access["evaluation_results"]}
    assert decisions[f"ons-data-platform/{platform['env']}/influxdb/lambda-token-AbCdEf"] == "allowed"
    assert decisions[f"ons-data-platform/{platform['env']}-other/influxdb/admin-AbCdEf"] != "allowed"
    assert "Token" not in result.stdout  # no token (nor its header) in the output


def test_validation_fails_naming_a_rule_open_to_the_internet(aws_sandbox, platform):
    ec2 = aws_sandbox.client("ec2")
    name = f"{platform['prefix']}-influxdb"
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]
    rule = {"IpProtocol": "tcp", "FromPort": 8086, "ToPort": 8086, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[rule])
    try:
        result = validate(aws_sandbox, platform)
    finally:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[rule])
    assert result.rc != 0
    failed = failure(result)
    assert failed["name"] == "Nothing is open to the internet (0.0.0.0/0, ::/0) on either security group"
    assert f"{name} ({group['GroupId']}) allows tcp port 8086-8086 from 0.0.0.0/0" in failed["msg"]


def test_validation_fails_naming_a_secret_the_lambda_role_should_not_read(aws_sandbox, platform):
    iam = aws_sandbox.client("iam")
    role = f"{platform['prefix']}-influxdb-lambda"
    other = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:ons-data-platform/{platform['env']}-other/*"
    iam.put_role_policy(
        RoleName=role,
        PolicyName="too-broad",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": other}]}
        ),
    )
    try:
        result = validate(aws_sandbox, platform)
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="too-broad")
    assert result.rc != 0
    failed = failure(result)
    assert failed["name"] == "The Lambda role reads exactly the platform's secrets"
    assert f"ons-data-platform/{platform['env']}-other/influxdb/admin-AbCdEf is allowed (expected denied)" in failed["msg"]
    assert os.path.basename(role) in failed["msg"]
