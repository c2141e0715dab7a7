"""What the operator docs say about the built platform, checked against the platforms the session
already built (so these tests cost no build of their own in a full run):

* the README's diagram names only resources that ``site.yml`` creates, with the names it gives them;
* the runbook's IAM action list covers every AWS call ``site.yml`` made on an empty account;
* the runbook's backup-verification playbook runs as written: backup, restore, compare, clean up;
* the runbook's read-only ``aws`` commands run as written against the built platform.

It uses the session platform (``site_platform``: the first ``site.yml`` run and its request log;
``validation_platform``: the same platform as validation.yml addresses it), in the ``platform`` group,
before its teardown (tests/conftest.py). Run alone, it builds it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import botocore.session
import pytest
import yaml

from tests.helpers.ansible import REPO
from tests.integration.test_docs_commands import documented_block
from tests.integration.test_validation import run_local

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("platform")]  # on the session platform

# The sandbox logs the credential scope's service; IAM's prefix differs for CloudWatch.
IAM_PREFIX = {"monitoring": "cloudwatch"}
BOTOCORE_SERVICE = {"monitoring": "cloudwatch"}
# REST operations whose IAM action is named otherwise (S3's, Lambda's Invoke).
IAM_ACTION = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketAccelerateConfiguration"): "s3:GetAccelerateConfiguration",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "ListBucketInventoryConfigurations"): "s3:GetInventoryConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "s3:GetBucketNotification",
    ("s3", "GetBucketCors"): "s3:GetBucketCORS",
    ("s3", "DeleteBucketTagging"): "s3:PutBucketTagging",
    ("s3", "DeleteBucketOwnershipControls"): "s3:PutBucketOwnershipControls",
    ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}
# Calls AWS authorizes without any permission.
NO_PERMISSION = {("sts", "GetCallerIdentity")}


def iam_action(service: str, operation: str) -> str:
    return IAM_ACTION.get((service, operation), f"{IAM_PREFIX.get(service, service)}:{operation}")


def rest_candidates(service: str, request: str) -> set[str]:
    """The operations of ``service`` whose HTTP method and URI template match a REST entry of the
    request log ("GET /2015-03-31/functions/name"); the query string is not logged, so S3's
    sub-resources (?policy, ?tagging, ...) leave several candidates."""
    method, _sep, path = request.partition(" ")
    model = botocore.session.get_session().get_service_model(BOTOCORE_SERVICE.get(service, service))
    found = set()
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        template = http.get("requestUri", "/").split("?")[0]
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path.split("?")[0]) or (template == "/{Bucket}" and re.fullmatch("/[^/]+/?", path)):
            found.add(name)
    return found


def documented_actions() -> set[str]:
    policy = json.loads(documented_block("docs/runbook.md", "iam-actions"))
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_runbook_iam_actions_cover_every_call_site_makes(site_platform):
    documented = documented_actions()
    assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in documented), sorted(documented)
    missing = set()
    for request in site_platform.first_run.requests:
        service, operation = request["service"], request["operation"]
        if " " in operation:  # REST: the operation is one of the candidates
            candidates = rest_candidates(service, operation)
            assert candidates, f"no {service} operation matches {operation}"
            if not {iam_action(service, c) for c in candidates} & documented:
                missing.add(f"{service} {operation} (one of {sorted(candidates)})")
        elif (service, operation) not in NO_PERMISSION and iam_action(service, operation) not in documented:
            missing.add(iam_action(service, operation))
    assert not missing, f"docs/runbook.md's IAM actions lack: {sorted(missing)}"


def test_readme_diagram_names_what_site_builds(site_platform):
    """Each name in the diagram (dev in eu-west-2) is a resource the first site.yml run created, once
    mapped to the session's environment and the sandbox's region; ``-HASH``/``-ACCOUNT`` endings are
    prefixes. The prod-only NAT gateway is the one name left out (the session builds dev)."""
    diagram = documented_block("README.md", "platform-diagram")
    env, run = site_platform.environment, site_platform.first_run
    built = {r["name"] for r in run.resources()}
    outputs = json.loads((site_platform.outputs_dir / f"{env.name}.json").read_text())
    secrets = {outputs[k].split(":secret:")[1].rsplit("-", 1)[0]
               for k in ("admin_secret_arn", "operator_token_secret_arn", "lambda_token_secret_arn")}
    names = set(re.findall(r"ons-data-platform[-/]dev[A-Za-z0-9/_-]*", diagram))
    assert len(names) >= 25, sorted(names)
    problems = []
    for name in sorted(names):
        ours = name.replace("ons-data-platform-dev", env.prefix).replace(
            "ons-data-platform/dev/", f"{env.project}/{env.name}/").replace("eu-west-2", "us-east-1")
        if ours.endswith(("-HASH", "-ACCOUNT")):
            if not any(b.startswith(ours.rsplit("-", 1)[0] + "-") for b in built):
                problems.append(name)
        elif "/" in ours:
            if ours not in secrets:
                problems.append(name)
        elif ours not in built:
            problems.append(name)
    assert not problems, f"named in the diagram, not built by site.yml: {problems}\nbuilt: {sorted(built)}"
    assert "ons-data-platform-prod-nat-eu-west-2b" in diagram


def test_runbook_backup_verification_runs_as_written(aws_sandbox, validation_platform, tmp_path):
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS

    ts, sm = aws_sandbox.client("timestream-influxdb"), aws_sandbox.client("secretsmanager")
    prefix, env = validation_platform["prefix"], validation_platform["env"]
    operator = json.loads(sm.get_secret_value(SecretId=f"ons-data-platform/{env}/influxdb/operator-token")["SecretString"])
    # Data to verify (within the bucket's retention): points the restored instance must hold too.
    now = int(time.time())
    with InfluxDBClient(url=operator["url"], token=operator["token"], org=operator["org"]) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=operator["bucket"], record=[f"backup_verification,n={i} v={i}i {now - i}" for i in range(5)],
            write_precision="s")
    playbook = tmp_path / "verify.yml"
    playbook.write_text(documented_block("docs/runbook.md", "backup-verification") + "\n")
    assert yaml.safe_load(playbook.read_text())[0]["hosts"] == "aws_control"
    requests_before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    result = run_local(aws_sandbox, validation_platform["workdir"], playbook, validation_platform["vars"])
    assert result.rc == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert operator["token"] not in result.stdout + result.stderr
    operations = [r["operation"] for r in aws_sandbox.control.requests() if r["seq"] > requests_before
                  and r["service"] == "timestream-influxdb"]
    assert {"CreateDbBackup", "RestoreFromDbBackup", "DeleteDbInstance", "DeleteDbBackup"} <= set(operations)
    # It cleaned up: the restored instance is gone (or going) and the verification backup deleted.
    restored = [i for i in ts.list_db_instances()["items"] if i["name"] == f"{prefix}-restored"]
    assert all(i["status"] in ("DELETING", "DELETED") for i in restored), restored
    backups = [b for b in ts.list_db_backups()["items"] if b.get("name") == f"{prefix}-verify"]
    assert all(b.get("status") in ("DELETING", "DELETED") for b in backups), backups


def runbook_aws_blocks() -> list[str]:
    """The runbook's shell blocks made only of read-only ``aws`` commands (and ``cat``), with no
    placeholder: the ones an operator copies as they are."""
    runbook = (REPO / "docs/runbook.md").read_text()
    blocks = []
    for block in re.findall(r"```sh\n(.*?)\n```", runbook, re.S):
        commands = [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
        if "<" not in block and all(c.startswith(("aws ", "cat ")) for c in commands):
            blocks.append(block)
    return blocks


def test_runbook_aws_commands_run_as_written(aws_sandbox, validation_platform, tmp_path):
    """Each copyable ``aws`` block of the runbook, with the dev names mapped to the session's
    environment, runs against the built platform and prints something (the connectivity test
    function's report included)."""
    blocks = runbook_aws_blocks()
    assert len(blocks) >= 5, blocks
    env, prefix = validation_platform["env"], validation_platform["prefix"]
    shell_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    shell_env.update(AWS_ENDPOINT_URL=aws_sandbox.endpoint, AWS_DEFAULT_REGION=aws_sandbox.region,
                     AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                     PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    outputs = {}
    for block in blocks:
        ours = block.replace("ons-data-platform-dev", prefix).replace("ons-data-platform/dev/", f"ons-data-platform/{env}/")
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", ours], cwd=tmp_path, env=shell_env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0 and proc.stdout.strip(), f"{ours}\n{proc.stdout}\n{proc.stderr}"
        outputs[block.split()[2]] = proc.stdout
    ec2 = aws_sandbox.client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{prefix}-vpc"]}])["Vpcs"][0]["VpcId"]
    assert vpc_id in outputs["describe-vpcs"]
    report = json.loads((tmp_path / "response.json").read_text())
    assert report["ok"] is True and [s["step"] for s in report["steps"]] == ["read_secret", "health", "write", "query"]
    assert f"{prefix}-influxdb-cpu-utilization\t" in outputs["describe-alarms"]
    assert "AWSCURRENT" in outputs["list-secret-version-ids"]
