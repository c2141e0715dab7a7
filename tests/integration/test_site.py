"""The whole platform end to end, as a user runs it: site.yml against the sandbox with the local
inventory (that a further run changes nothing is proven by test_drift.py's third run), its plan (--check --diff) on a fresh and on a built
environment (nothing fails, nothing changes), the plan summary, the outputs, and the teardown
(nothing left). One platform is built per session (``site_platform``) and torn down by the last
test of this file; the fresh-environment plan never builds anything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.ansible import REPO, ansible_env
from tests.helpers.platform_state import resources_of as _resources_of
from tests.integration.conftest import Environment

BIN = Path(sys.executable).parent
INSTANCE_TYPE = "ons.timestream_influxdb.timestream_influxdb_instance"

# Every test that uses the session platform runs on one pytest-xdist worker, in file order.
pytestmark = pytest.mark.xdist_group("platform")


def test_site_builds_the_platform_and_the_plan_summary_says_what_it_added(site_platform, aws_sandbox):
    run, env = site_platform.first_run, site_platform.environment
    assert run.recap["failed"] == 0 and run.recap["changed"] > 0
    # The plan callback's summary of a normal run: what it did, never "would".
    assert "PLAN SUMMARY (ons.timestream_influxdb.plan)" in run.stdout
    assert "Applied: added " in run.stdout and "Plan: would" not in run.stdout
    assert run.plan["check_mode"] is False
    instance = run.resources(INSTANCE_TYPE)
    assert [(r["name"], r["action"], r["check_mode"]) for r in instance] == [(env.prefix, "add", False)]
    fields = {f["name"]: f["after"] for f in instance[0]["fields"]}
    assert fields["allocated_storage"] == 20 and fields["name"] == env.prefix
    assert any(r["type"] == "amazon.aws.ec2_vpc_net" and r["name"] == f"{env.prefix}-vpc" for r in run.resources())
    # No secret in the summary: the admin password and the tokens are not printed.
    password = _admin_password(aws_sandbox, env)
    assert password not in run.stdout and password not in json.dumps(run.plan)

    # What was built, read through the AWS APIs.
    ec2 = aws_sandbox.client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{env.prefix}-vpc"]}])["Vpcs"]
    influx = aws_sandbox.client("timestream-influxdb")
    (summary,) = [i for i in influx.list_db_instances()["items"] if i["name"] == env.prefix]
    db = influx.get_db_instance(identifier=summary["id"])
    assert db["status"] == "AVAILABLE"
    private = {s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "tag:Tier", "Values": ["private"]}])["Subnets"]}
    assert set(db["vpcSubnetIds"]) == private and len(private) == 2
    secrets = {s["Name"] for s in aws_sandbox.client("secretsmanager").list_secrets(
        Filters=[{"Key": "name", "Values": [f"{env.project}/{env.name}/influxdb/"]}])["SecretList"]}
    assert {f"{env.project}/{env.name}/influxdb/{n}" for n in ("admin", "operator-token", "lambda-token")} <= secrets

    # The outputs, printed and written to outputs/<env>.json.
    outputs = json.loads((site_platform.outputs_dir / f"{env.name}.json").read_text())
    assert outputs["vpc_id"] == vpc["VpcId"]
    assert outputs["influxdb_endpoint"] == f"{db['endpoint']}:{db['port']}"
    assert outputs["private_subnet_ids"] and set(outputs["private_subnet_ids"]) == private
    assert outputs["influxdb_lambda_role_arn"].startswith("arn:aws:iam::")
    assert outputs["kms_key_arn"].startswith("arn:aws:kms:")
    assert outputs["admin_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert outputs["lambda_token_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert outputs["dashboard_name"]
    assert '"influxdb_endpoint"' in run.stdout


def _admin_password(aws_sandbox, env: Environment) -> str:
    """The admin password the sandbox instance was created with (its auth-parameters secret)."""
    influx = aws_sandbox.client("timestream-influxdb")
    (summary,) = [i for i in influx.list_db_instances()["items"] if i["name"] == env.prefix]
    arn = influx.get_db_instance(identifier=summary["id"])["influxAuthParametersSecretArn"]
    return json.loads(aws_sandbox.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])["password"]


def test_plan_on_the_built_platform_fails_nothing_and_changes_nothing(site_platform, site_runner):
    run = site_runner.run(site_platform.environment, check=True, diff=True)
    assert run.rc == 0, run.output()
    assert run.recap["failed"] == 0 and run.recap["changed"] == 0, run.output()
    assert run.mutating == []
    assert run.plan == {"check_mode": True, "resources": [],
                        "totals": {"add": 0, "change": 0, "destroy": 0, "unknown": 0}}
    assert "No changes: the resources already match the playbooks (check mode; nothing was changed)." in run.stdout


def test_one_stage_runs_alone_by_its_tag(site_platform, site_runner):
    run = site_runner.run(site_platform.environment, args=["--tags", "outputs"])
    assert run.rc == 0, run.output()
    assert run.recap["changed"] == 0 and run.mutating == []
    assert "TASK [Describe the instance" in run.stdout
    assert "Start the instance (no wait)" not in run.stdout  # no other stage ran
    assert "Preflight checks" in run.stdout  # the preflight always runs


def test_teardown_refuses_without_the_environment_name(site_platform, site_runner):
    run = site_runner.run(site_platform.environment, "playbooks/teardown.yml", extra_vars={"confirm_teardown": "prod"})
    assert run.rc != 0
    assert f"run it with -e confirm_teardown={site_platform.environment.name}" in run.stdout
    assert run.requests == []


# Last (after every other test of the session: tests/integration/conftest.py): they remove the session's
# platform, first keeping the data, then nothing.
@pytest.mark.destroys_platform
def test_teardown_keeps_only_the_final_backup_and_its_key(site_platform, site_runner, aws_sandbox):
    env = site_platform.environment
    run = site_runner.run(env, "playbooks/teardown.yml", diff=True, extra_vars={"confirm_teardown": env.name})
    assert run.rc == 0, run.output()
    assert f'  - {INSTANCE_TYPE} "{env.prefix}" (destroyed)' in run.stdout
    assert f'  + ons.timestream_influxdb.timestream_influxdb_backup "{env.prefix}-final" (added)' in run.stdout
    left = _resources_of(aws_sandbox, env)
    assert set(left) == {"backups"}, left
    assert [(b["name"], b["status"]) for b in left["backups"]] == [(f"{env.prefix}-final", "COMPLETED")]
    kms = aws_sandbox.client("kms")
    (alias,) = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == f"alias/{env.prefix}-influxdb"]
    assert kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.destroys_platform
def test_teardown_without_final_backup_leaves_nothing_of_the_environment(site_platform, site_runner, aws_sandbox):
    env = site_platform.environment
    run = site_runner.run(env, "playbooks/teardown.yml",
                          extra_vars={"confirm_teardown": env.name, "teardown_keep_final_backup": False})
    assert run.rc == 0, run.output()
    assert f'  - ons.timestream_influxdb.timestream_influxdb_backup "{env.prefix}-final" (destroyed)' in run.stdout
    left = _resources_of(aws_sandbox, env)
    assert left == {}, left
    # A KMS key cannot be deleted at once on AWS: it is scheduled.
    kms = aws_sandbox.client("kms")
    (alias,) = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == f"alias/{env.prefix}-influxdb"]
    assert kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"


# -- the workflow around it (no platform needed) ------------------------------------------------------

def test_make_help_lists_every_target_with_one_line():
    targets = re.findall(r"^([a-z][a-z_-]*):(?!=)", (REPO / "Makefile").read_text(), re.MULTILINE)
    proc = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("  make ")]
    listed = [line.split()[1] for line in lines]
    assert sorted(listed) == sorted(set(targets)) and len(listed) == len(targets)
    for target in ("run", "test", "plan", "apply", "output", "destroy", "build"):
        assert target in listed
    assert all(len(line.split(None, 2)) == 3 for line in lines), lines  # each with a description
    assert "SHELL" not in proc.stdout


def test_plain_ansible_playbook_writes_nothing_to_the_home_directory(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    target = tmp_path / "written.txt"
    playbook = tmp_path / "touch.yml"
    playbook.write_text(
        "- hosts: aws_control\n  gather_facts: false\n  tasks:\n"
        f"    - ansible.builtin.copy:\n        content: x\n        dest: {target}\n        mode: '0600'\n"
        "    - ansible.builtin.stat:\n        path: /\n"
    )
    # As the README instructs: from the repository root, no ANSIBLE_* variable set, HOME somewhere new.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/dev", str(playbook)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert target.read_text() == "x"
    assert list(home.rglob("*")) == []


def test_make_destroy_without_confirmation_changes_nothing(aws_sandbox):
    env = ansible_env({**aws_sandbox.env, "SANDBOX_PORT": aws_sandbox.endpoint.rsplit(":", 1)[1]})
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    # ENV_DEPS= : the session's sandbox is already running (make would otherwise start its own).
    proc = subprocess.run(["make", "--no-print-directory", "destroy", "ENV=local", "ENV_DEPS=", f"BIN={BIN}"],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "run it with -e confirm_teardown=dev" in proc.stdout
    assert [r for r in aws_sandbox.control.requests() if r["seq"] > before and r["mutating"]] == []
