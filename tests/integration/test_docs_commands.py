"""The commands README.md and docs/operations.md show, run as written against the sandbox.

The blocks are read from the documents themselves (each follows an ``<!-- name -->`` marker), so a
change to the documented command is what gets tested: the README's "look at what was built" commands
(aws CLI with the region and $SANDBOX_PORT), the vault file's creation, and the operations runbook's
tasks that read an instance's auth-parameters secret (with the module, and with the lookup).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.client import wait_for_db_instance
from tests.helpers.ansible import REPO, ansible_env, run_playbook

pytestmark = pytest.mark.slow

VPC_NAME = "ons-data-platform-dev-vpc"
TOKEN_SECRET = "ons-data-platform/dev/influxdb/operator-token"
FQ_BUCKET = "ons.timestream_influxdb.influx_bucket"


def documented_block(document: str, marker: str) -> str:
    """The fenced code block that follows ``<!-- marker -->`` in ``document``."""
    text = (REPO / document).read_text()
    m = re.search(rf"<!-- {re.escape(marker)} -->\s*\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert m, f"no block marked {marker} in {document}"
    return m.group(1)


def run_in_terminal(argv: list[str], cwd: Path, env: dict[str, str], answers: dict[str, str],
                    timeout: float = 120) -> tuple[int, str]:
    """Run ``argv`` on a terminal of its own (ansible-vault create wants one for its prompts and the editor),
    answering each prompt of ``answers`` once; return the exit status and what it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: never returns
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    output = b""
    pending = dict(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            text = output.decode("utf-8", "replace")
            for prompt in list(pending):
                if text.rstrip().endswith(prompt + ":"):
                    os.write(fd, (pending.pop(prompt) + "\n").encode())
                    output += b"\n"
    finally:
        os.close(fd)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def _without_aws_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def test_readme_validation_commands_run_against_the_sandbox(aws_sandbox, aws_vpc):
    ec2, sm, ts = aws_sandbox.client("ec2"), aws_sandbox.client("secretsmanager"), aws_sandbox.client(
        "timestream-influxdb")
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": VPC_NAME}]}])["Vpc"]["VpcId"]
    name = f"docs-{uuid.uuid4().hex[:8]}"
    instance = ts.create_db_instance(
        name=name, password="DocsCommands123", organization="ons", bucket="telemetry",
        dbInstanceType="db.influx.medium", allocatedStorage=20,
        vpcSubnetIds=aws_vpc.subnet_ids, vpcSecurityGroupIds=[aws_vpc.security_group_id])
    created_secret = False
    try:
        try:
            stored = sm.get_secret_value(SecretId=TOKEN_SECRET)["SecretString"]
        except sm.exceptions.ResourceNotFoundException:
            stored = json.dumps({"token": "docs-test-token", "url": "http://127.0.0.2:8086", "org": "ons"})
            sm.create_secret(Name=TOKEN_SECRET, SecretString=stored)
            created_secret = True
        wait_for_db_instance(ts, instance["id"], "AVAILABLE")
        live = ts.get_db_instance(identifier=instance["id"])

        port = urllib.parse.urlsplit(aws_sandbox.endpoint).port
        assert urllib.parse.urlsplit(aws_sandbox.endpoint).hostname == "127.0.0.1"
        env = dict(_without_aws_env(), SANDBOX_PORT=str(port))  # the block sets the AWS_* variables itself
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", documented_block("README.md", "sandbox-validation")],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert f"{vpc_id}\t10.42.0.0/16" in lines, proc.stdout
        assert f"{name}\tAVAILABLE\t{live['endpoint']}\t{live['port']}" in lines, proc.stdout
        assert lines[-1] == stored
    finally:
        ts.delete_db_instance(identifier=instance["id"])
        ec2.delete_vpc(VpcId=vpc_id)
        if created_secret:
            sm.delete_secret(SecretId=TOKEN_SECRET, ForceDeleteWithoutRecovery=True)


def test_readme_region_advice_is_true(aws_sandbox):
    """Without a region the CLI stops, as the README says; inventories/local builds in us-east-1."""
    env = dict(_without_aws_env(), AWS_ENDPOINT_URL=aws_sandbox.endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=os.devnull)
    proc = subprocess.run([str(REPO / ".venv/bin/aws"), "ec2", "describe-vpcs"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode != 0 and "You must specify a region" in proc.stderr
    sandbox_vars = yaml.safe_load((REPO / "inventories/local/group_vars/all/sandbox.yml").read_text())
    assert sandbox_vars["aws_region"] == "us-east-1"
    assert "eu-west-2" in (REPO / "inventories/dev/group_vars/all/main.yml").read_text()


def test_vault_file_created_as_the_readme_says(tmp_path):
    readme = (REPO / "README.md").read_text()
    command = re.search(r"```sh\n\s*(ansible-vault create \S+)\n", readme).group(1)
    line = re.search(r"```yaml\n\s*(vault_database_admin_password: \S+)\n", readme).group(1)
    assert command == "ansible-vault create inventories/dev/group_vars/all/vault.yml"
    work = tmp_path / "checkout"
    shutil.copytree(REPO / "inventories", work / "inventories", symlinks=True)
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\nprintf '%s\\n' '{line}' > \"$1\"\n")
    editor.chmod(0o755)
    venv_bin = Path(sys.executable).parent
    env = ansible_env({"EDITOR": str(editor)})
    rc, output = run_in_terminal([str(venv_bin / "ansible-vault"), *command.split()[1:]], work, env,
                                 {"New Vault password": "vault-pw", "Confirm New Vault password": "vault-pw"})
    assert rc == 0, output
    vault_file = work / "inventories/dev/group_vars/all/vault.yml"
    assert vault_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    password_file = tmp_path / "pw"
    password_file.write_text("vault-pw\n")
    proc = subprocess.run([str(venv_bin / "ansible-inventory"), "-i", "inventories/dev", "--host", "localhost",
                           "--vault-password-file", str(password_file)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["vault_database_admin_password"] == line.split(": ", 1)[1]


def test_operations_auth_parameter_tasks_run_as_written(aws_sandbox, aws_vpc, tmp_path):
    ts = aws_sandbox.client("timestream-influxdb")
    name = f"ops-{uuid.uuid4().hex[:8]}"
    instance = ts.create_db_instance(
        name=name, password="OpsRunbook12345", organization="ons", bucket="telemetry",
        dbInstanceType="db.influx.medium", allocatedStorage=20, vpcSubnetIds=aws_vpc.subnet_ids,
        vpcSecurityGroupIds=[aws_vpc.security_group_id])
    try:
        wait_for_db_instance(ts, instance["id"], "AVAILABLE")
        tasks: list[dict[str, Any]] = []
        for marker in ("auth-parameters-tasks", "auth-parameters-lookup"):
            tasks += yaml.safe_load(documented_block("docs/operations.md", marker))
        tasks.append({"name": "the module and the lookup read the same", "ansible.builtin.assert": {"that": [
            "auth_parameters == auth.auth_parameters", "auth_parameters.password == 'OpsRunbook12345'",
            "operator_token.token is defined"]}})
        inventory_vars = {"aws_region": aws_sandbox.region, "aws_endpoint_url": aws_sandbox.endpoint,
                          "aws_access_key": "testing", "aws_secret_key": "testing",
                          "database_instance_name": name, "database_url_scheme": "http"}
        defaults = {"group/ons.timestream_influxdb.aws": {
            "region": "{{ aws_region }}", "endpoint_url": "{{ aws_endpoint_url | default(omit, true) }}",
            "access_key": "{{ aws_access_key | default(omit) }}", "secret_key": "{{ aws_secret_key | default(omit) }}"}}
        r = run_playbook(tmp_path, tasks=tasks, extra_vars=inventory_vars, module_defaults=defaults)
        assert r.rc == 0, r.stdout[-3000:] + r.stderr[-2000:]
        assert "OpsRunbook12345" not in r.stdout + r.stderr
        assert r.task("the module and the lookup read the same").get("failed") is not True
    finally:
        ts.delete_db_instance(identifier=instance["id"])


def test_influx_auth_examples_show_both_ways():
    from ansible_collections.ons.timestream_influxdb.plugins.modules import influx_auth

    examples = yaml.safe_load(influx_auth.EXAMPLES)
    modules = [next(k for k in task if "." in k) for task in examples]
    assert modules[:3] == ["ons.timestream_influxdb.timestream_influxdb_auth_parameters_info",
                           "ons.timestream_influxdb.influx_auth", "ansible.builtin.set_fact"]
    assert all(examples[i].get("no_log") is True for i in range(3))
    assert "| from_json" in examples[2]["ansible.builtin.set_fact"]["auth_parameters"]


def test_sandbox_tls_as_the_readme_says(tmp_path, monkeypatch):
    """SANDBOX_INFLUXDB_TLS=1 makes the instances' InfluxDB speak HTTPS, verified with <state>/influxdb/tls/ca.pem;
    http:// then fails and https:// with that CA works, as the README says."""
    from tests.conftest import _start_sandbox, _stop_process

    readme = (REPO / "README.md").read_text()
    assert "SANDBOX_INFLUXDB_TLS=1" in readme and "ca_path: .sandbox/influxdb/tls/ca.pem" in readme
    monkeypatch.setenv("SANDBOX_INFLUXDB_TLS", "1")
    state = tmp_path / "state"
    state.mkdir()
    proc, endpoint, _log = _start_sandbox(state)
    try:
        from sandbox.client import boto3_client

        ec2, ts = boto3_client(endpoint, "ec2"), boto3_client(endpoint, "timestream-influxdb")
        vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        sg = ec2.create_security_group(GroupName="tls", Description="tls", VpcId=vpc_id)["GroupId"]
        instance = ts.create_db_instance(
            name="tls-docs", password="TlsDocs12345", organization="ons", bucket="telemetry",
            dbInstanceType="db.influx.medium", allocatedStorage=20, vpcSubnetIds=[subnet["SubnetId"]],
            vpcSecurityGroupIds=[sg])
        live = wait_for_db_instance(ts, instance["id"], "AVAILABLE")
        ca_path = state / "influxdb" / "tls" / "ca.pem"
        assert ca_path.is_file()
        host = f"{live['endpoint']}:{live['port']}"
        sign_in = {"username": "admin", "password": "TlsDocs12345", "org": "ons", "name": "over-tls"}
        tasks = [
            {"name": "https", FQ_BUCKET: dict(sign_in, url=f"https://{host}", ca_path=str(ca_path))},
            {"name": "http", FQ_BUCKET: dict(sign_in, url=f"http://{host}"), "ignore_errors": True},
        ]
        r = run_playbook(tmp_path, tasks=tasks)
        assert r.task("https").get("failed") is not True and r.task("https")["changed"] is True, r.stdout[-3000:]
        assert r.task("http")["failed"] is True
    finally:
        _stop_process(proc)


# --- What the docs name exists: make targets, files, variables, outputs, alarms, causes -----------------
# Cheap, static checks (no sandbox): a renamed target, file or variable makes the docs fail here.

OWN_DOCS = ["README.md", "docs/architecture.md", "docs/operations.md", "docs/runbook.md", "docs/costs.md"]
ALL_DOCS = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]
PATH_ROOTS = ("roles/", "playbooks/", "inventories/", "plugins/", "docs/", "scripts/", "tests/", "sandbox/",
              "bench/", "changelogs/", "extensions/", "meta/", "collections/")
ROOT_FILES = {"site.yml", "ansible.cfg", "Makefile", "galaxy.yml", "requirements.txt", "requirements-test.txt",
              "execution-environment.yml", "pytest.ini"}
# Files the docs tell the reader to create (the vault file: test_vault_file_created_as_the_readme_says).
CREATED_BY_THE_READER = {"inventories/dev/group_vars/all/vault.yml"}
VARIABLE = re.compile(r"(?<![a-z0-9_])(?:vpc|security|database|secrets|monitoring|rotation|lambda_test|teardown|awx|migration)_[a-z0-9_]+")


def code_of(document: str) -> list[str]:
    """The inline code spans and fenced blocks of ``document``."""
    text = (REPO / document).read_text()
    blocks = re.findall(r"```[a-z]*\n(.*?)\n```", text, re.S)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```[a-z]*\n.*?\n```", "", text, flags=re.S))
    return blocks + inline


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-zA-Z][\w-]*):", (REPO / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("document", ALL_DOCS)
def test_every_make_target_the_docs_name_exists(document):
    named = {m for code in code_of(document) for m in re.findall(r"(?:^|[\s;(&|])make ([a-z][\w-]*)", code)}
    assert named - make_targets() == set(), f"{document} names make targets the Makefile lacks"


@pytest.mark.parametrize("document", OWN_DOCS)
def test_every_file_the_docs_name_exists(document):
    text = (REPO / document).read_text()
    missing = []
    for code in code_of(document):
        for token in code.split():
            token = token.strip(",;:()'\"").rstrip(".")
            if any(c in token for c in "<>*{}$") or "..." in token:
                continue
            if token.startswith(PATH_ROOTS) or token in ROOT_FILES:
                if not (REPO / token).exists() and token not in CREATED_BY_THE_READER:
                    missing.append(token)
    for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not link.startswith(("http://", "https://")) and not ((REPO / document).parent / link).exists():
            missing.append(link)
    assert not missing, f"{document} names files that do not exist: {missing}"


@pytest.mark.parametrize("document", ["docs/runbook.md", "docs/costs.md", "README.md"])
def test_every_variable_the_docs_name_exists(document):
    sources = [*REPO.glob("inventories/*/group_vars/all/*.yml"), *REPO.glob("roles/*/defaults/main.yml"),
               *REPO.glob("roles/*/vars/main.yml"), *REPO.glob("roles/*/meta/argument_specs.yml"),
               *REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("playbooks/*.yml")]
    known = set(re.findall(r"\b[a-z][a-z0-9_]*\b", "\n".join(p.read_text() for p in sources)))
    named = {m for code in code_of(document) for m in VARIABLE.findall(code)
             if not m.endswith("_") and not re.search(rf"{m}\.(py|yml|json)", code)}
    assert named, f"{document} names no variable"
    assert named - known == set(), f"{document} names variables no inventory, role or playbook has"


def test_readme_outputs_table_lists_every_output():
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- outputs-keys -->", 1)[1].strip().split("\n\n", 1)[0]
    documented = {k for line in table.splitlines()[2:] for k in re.findall(r"`([a-z_]+)`", line.split("|")[1])}
    outputs = (REPO / "playbooks/outputs.yml").read_text()
    assembled = outputs.split("platform_outputs: >-", 1)[1].split("vars:", 1)[0]
    produced = set(re.findall(r"'([a-z_]+)':", assembled))
    assert len(produced) >= 19
    assert documented == produced


def test_runbook_names_every_alarm_and_every_connectivity_cause():
    runbook = (REPO / "docs/runbook.md").read_text()
    alarm_vars = (REPO / "roles/monitoring/vars/main.yml").read_text()
    alarms = re.findall(r'name: "\{\{ monitoring_name_prefix \}\}-([a-z-]+)"', alarm_vars)
    assert len(alarms) == 4
    assert all(f"`{a}`" in runbook for a in alarms), alarms
    assert all(f"`credential-age-{s}`" in runbook or f"`-{s}`" in runbook for s in ("admin", "operator-token", "lambda-token"))
    handler = (REPO / "roles/lambda_test/files/influxdb_test.py").read_text()
    causes = ast_literal(handler, "CAUSES")
    for cause in causes.values():
        assert f"`{cause.split(':')[0]}" in runbook, cause


def ast_literal(source: str, name: str) -> Any:
    import ast

    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} in the source")


def test_runbook_rotation_schedule_warning_is_true():
    """The default AWX schedule is the one the runbook quotes, and its warning is true: with a quarterly
    schedule a credential rotated on 1 January just after 03:00 is not due on 1 April at 03:00 (90 days
    later, outside leap years), but the next day (the daily default) it is."""
    import datetime

    from ansible_collections.ons.timestream_influxdb.plugins.module_utils import rotation

    runbook = (REPO / "docs/runbook.md").read_text()
    awx = yaml.safe_load((REPO / "playbooks/awx.yml").read_text())[0]["vars"]
    assert f"`{awx['awx_rotation_rrule']}`" in runbook
    defaults = yaml.safe_load((REPO / "roles/rotation/defaults/main.yml").read_text())
    assert defaults["rotation_period_days"] == 90 and "(90)" in runbook
    utc = datetime.timezone.utc
    rotated = datetime.datetime(2027, 1, 1, 3, 1, tzinfo=utc)
    assert not rotation.is_due(rotated, 90, datetime.datetime(2027, 4, 1, 3, 0, 30, tzinfo=utc))
    assert rotation.is_due(rotated, 90, datetime.datetime(2027, 7, 1, 3, 0, 30, tzinfo=utc))
    assert rotation.is_due(rotated, 90, datetime.datetime(2027, 4, 2, 3, 0, 30, tzinfo=utc))  # a daily schedule


def _group_vars(inventory: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted((REPO / "inventories" / inventory / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def test_readme_says_what_differs_between_the_inventories():
    """The README's dev/prod table is exactly what differs (besides environment_name), with the values
    of the inventories; and the local inventory changes exactly the variables the README lists."""
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- dev-prod -->", 1)[1].strip().split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = (cells[1], cells[2])
    dev, prod = _group_vars("dev"), _group_vars("prod")
    differing = {k for k in dev.keys() | prod.keys() if dev.get(k) != prod.get(k)} - {"environment_name"}
    assert set(rows) == differing
    assert all(rows[k] == (str(dev[k]), str(prod[k])) for k in rows), rows
    local = yaml.safe_load((REPO / "inventories/local/group_vars/all/sandbox.yml").read_text())
    paragraph = readme.split("- `inventories/local` is `inventories/dev` against the sandbox", 1)[1].split("\n\n", 1)[0]
    assert set(local) == set(re.findall(r"`([a-z_]+)`(?: is|/)", paragraph)) | {"aws_secret_key"}
    for name in ("main.yml", "network.yml", "database.yml", "migration.yml"):
        assert (REPO / "inventories/local/group_vars/all" / name).is_symlink() and name in paragraph


def test_runbook_daily_rotation_schedule_command_sets_the_rrule(tmp_path):
    """The runbook's command for a daily schedule, rendered (awx_render_only) instead of sent to AWX:
    its quoting gives the schedule the whole rrule."""
    runbook = (REPO / "docs/runbook.md").read_text()
    command = next(b for b in re.findall(r"```sh\n(.*?)\n```", runbook, re.S) if "playbooks/awx.yml" in b)
    rendered = tmp_path / "awx.json"
    argv = ["bash", "-euo", "pipefail", "-c",
            command.replace("\\\n", " ") + f" -e awx_render_only=true -e awx_render_file={rendered}"]
    env = ansible_env({"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert '"rrule": "DTSTART:20260101T030000Z RRULE:FREQ=DAILY;INTERVAL=1"' in rendered.read_text()
