"""The platform on the day something goes wrong: site.yml planned on an empty environment, killed at
three points and resumed, torn down, and rebuilt while AWS throttles and fails requests, at -vvv,
with no secret in anything the run printed or wrote.

ONE environment of its own (``itrel``, 10.74.0.0/16, its own access key), and the tests of this file
run IN ORDER, each on what the previous one left (module-scoped state; ``--dist loadgroup`` keeps
them on one worker, in file order, beside the session platform's group on the other):

1. ``site.yml --check --diff`` on the empty environment: no failed task, no mutating AWS request,
   nothing created.
2. Crash and resume: site.yml killed (SIGKILL to its process group) during the network stage, while
   the instance is creating, and during the secrets stage; a rerun completes, with no duplicate
   (one VPC, the configured NAT gateways, one instance, one secret and one InfluxDB authorization
   per purpose); its end state is kept.
3. Teardown (no final backup): nothing of the environment is left.
4. Rebuild, uninterrupted, with 10% throttling and 1% server errors on every AWS service and at
   -vvv: no failed task, injected faults answered, and the same end state as the resumed build of 2
   (``platform_state``, tests/helpers/platform_state.py: everything the environment has, ids and
   generated values left out). One comparison answers both questions: the build without faults (2)
   is the reference of the one under faults, and the uninterrupted build (4) the reference of the
   resumed one. No secret value (plain, base64 or URL-encoded) in the output, the plan callback's
   output and JSON, or any file the run wrote.

test_site.py checks what an uninterrupted build without faults builds (``site_platform``), and
test_drift.py that, after drift is put back, the session platform has the state of its first build.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.platform_state import diff_states, platform_state, resources_of
from tests.helpers.secrets import assert_no_secret, files_written_since
from tests.integration.conftest import Environment, SiteRun, SiteRunner

pytestmark = pytest.mark.xdist_group("reliability")

ENV = Environment("itrel", 74)
SECRETS = {"admin", "operator-token", "lambda-token"}
# The whole run is bounded so a hung playbook fails the test instead of the suite (not a timing assertion).
RUN_LIMIT = 900
# The state the resumed build of test 2 ended in: the reference of the rebuild under faults (test 4).
RESUMED: dict[str, Any] = {}


def _killed_at(runner: SiteRunner, sandbox: Any, label: str, reached: Callable[[list[dict[str, Any]]], bool]) -> dict:
    """Start site.yml, watch this environment's AWS requests and SIGKILL the run's process group as
    soon as ``reached(requests so far)``; returns what the kill interrupted."""
    since = max((r["seq"] for r in sandbox.control.requests(ENV.access_key)), default=0)
    output = runner.workdir / f"killed-{label.replace(' ', '-')}.log"
    proc = runner.start(ENV, output=output)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + RUN_LIMIT
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            seen += sandbox.control.requests(ENV.access_key, since=seen[-1]["seq"] if seen else since)
            if reached(seen):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"label": label, "requests": len(seen), "last": seen[-1]["operation"]}
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    pytest.fail(f"site.yml ended (rc {proc.returncode}) before the kill point '{label}':\n"
                f"{output.read_text(errors='replace')[-6000:]}")


def _operations(requests: list[dict[str, Any]]) -> list[str]:
    return [r["operation"] for r in requests if r.get("status", 200) < 300]


def _secret(sandbox: Any, name: str) -> dict[str, Any] | None:
    sm = sandbox.client("secretsmanager")
    try:
        return json.loads(sm.get_secret_value(SecretId=f"{ENV.project}/{ENV.name}/influxdb/{name}")["SecretString"])
    except sm.exceptions.ResourceNotFoundException:
        return None


def _instance(sandbox: Any) -> dict[str, Any] | None:
    influx = sandbox.client("timestream-influxdb")
    found = [i for i in influx.list_db_instances()["items"] if i["name"] == ENV.prefix]
    return influx.get_db_instance(identifier=found[0]["id"]) if found else None


def _assert_built(run: SiteRun) -> None:
    assert run.rc == 0, run.output()
    assert run.recap["failed"] == 0, run.output()


def _count_duplicates(sandbox: Any, state: dict[str, Any]) -> dict[str, Any]:
    """What there is ONE of per environment (or one per AZ), counted without relying on the tags a
    crash might have kept from being written."""
    ec2 = sandbox.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": [f"10.{ENV.second_octet}.0.0/16"]}])["Vpcs"]
    nats = [n for n in ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs]}])[
        "NatGateways"] if n["State"] not in ("deleted", "deleting", "failed")]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs]}])["Subnets"]
    influx = sandbox.client("timestream-influxdb")
    secrets = sandbox.client("secretsmanager").list_secrets(
        IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": [f"{ENV.project}/{ENV.name}/"]}])["SecretList"]
    return {
        "vpcs": len(vpcs),
        "subnets": len(subnets),
        "nat_gateways": len(nats),
        "instances": len([i for i in influx.list_db_instances()["items"] if i["name"] == ENV.prefix]),
        "secrets": sorted(s["Name"].rsplit("/", 1)[1] for s in secrets),
        "authorizations": Counter(a["description"] for a in state["influxdb"]["authorizations"]),
    }


def test_plan_on_an_empty_environment_makes_no_mutating_call_and_creates_nothing(site_runner, aws_sandbox):
    assert resources_of(aws_sandbox, ENV) == {}, "the environment is not empty before the plan"
    run = site_runner.run(ENV, check=True, diff=True)
    assert run.rc == 0, run.output()
    assert run.recap["failed"] == 0, run.output()
    assert run.requests, "the plan made no AWS request: the request log does not see this environment"
    assert run.mutating == [], [r["operation"] for r in run.mutating]
    assert run.plan["check_mode"] is True and run.plan["totals"]["add"] > 0, run.plan.get("totals")
    assert resources_of(aws_sandbox, ENV) == {}
    assert _instance(aws_sandbox) is None


def test_site_killed_at_three_points_resumes_without_duplicates(site_runner, aws_sandbox):
    """Depends on the previous test (the environment is still empty)."""
    kills = []

    # 1. During the network stage: the VPC and its subnets exist, the security groups are being created.
    kills.append(_killed_at(site_runner, aws_sandbox, "network stage",
                            lambda seen: "CreateSecurityGroup" in _operations(seen)))
    assert _instance(aws_sandbox) is None

    # 2. While the instance is creating: right after CreateDbInstance was answered (site.yml starts it in
    #    the network stage, before the gateways, route tables and endpoints: those are left to the rerun).
    kills.append(_killed_at(site_runner, aws_sandbox, "instance creating",
                            lambda seen: "CreateDbInstance" in _operations(seen)))
    instance = _instance(aws_sandbox)
    assert instance is not None
    kills[-1]["instance_status"] = instance["status"]

    # 3. During the secrets stage: the operator token is stored, the Lambda token not yet.
    def operator_token_stored(seen: list[dict[str, Any]]) -> bool:
        return "CreateSecret" in _operations(seen[-5:]) and _secret(aws_sandbox, "operator-token") is not None

    kills.append(_killed_at(site_runner, aws_sandbox, "secrets stage", operator_token_stored))
    print("killed at:", kills)

    run = site_runner.run(ENV)
    _assert_built(run)
    state = platform_state(aws_sandbox, ENV)
    counts = _count_duplicates(aws_sandbox, state)
    assert counts["vpcs"] == 1 and counts["subnets"] == 4, counts
    assert counts["nat_gateways"] == 1, counts  # inventories/local: vpc_nat_gateway_mode single
    assert counts["instances"] == 1, counts
    assert set(counts["secrets"]) == SECRETS and len(counts["secrets"]) == len(SECRETS), counts
    # One authorization per purpose (a duplicate made by a resumed run would be a second of its description;
    # one too many of another kind shows in test 4's comparison with an uninterrupted build).
    assert len(counts["authorizations"]) >= 2 and all(n == 1 for n in counts["authorizations"].values()), counts
    RESUMED.update(state)


def test_teardown_returns_the_environment_to_empty(site_runner, aws_sandbox):
    """Depends on the previous test (the environment is built)."""
    run = site_runner.run(ENV, "playbooks/teardown.yml",
                          extra_vars={"confirm_teardown": ENV.name, "teardown_keep_final_backup": False})
    assert run.rc == 0, run.output()
    assert resources_of(aws_sandbox, ENV) == {}
    assert _instance(aws_sandbox) is None


def test_rebuild_under_faults_at_vvv_ends_in_the_same_state_and_leaks_no_secret(site_runner, aws_sandbox):
    """Depends on the previous test (the environment was torn down): every AWS request of this
    environment is throttled 10% of the time and answered with a server error 1% of the time."""
    started = time.time()
    aws_sandbox.control.set_faults(access_key=ENV.access_key, rules=[
        {"service": "*", "kind": "throttle", "rate": 0.10},
        # Drawn only for the requests the first rule did not throttle: 1% of all.
        {"service": "*", "kind": "server_error", "rate": 0.01 / 0.9, "status": 503},
    ])
    try:
        run = site_runner.run(ENV, args=["-vvv"])
    finally:
        aws_sandbox.control.clear_faults(access_key=ENV.access_key)
    _assert_built(run)
    faults = Counter(r["fault"] for r in run.requests if r.get("fault"))
    print(f"{len(run.requests)} AWS requests, injected faults answered: {dict(faults)}")
    assert faults["throttle"] > 0 and sum(faults.values()) >= len(run.requests) // 20, faults
    assert RESUMED, "test 2 (crash and resume) did not record the state of its build"
    state = platform_state(aws_sandbox, ENV)
    assert state == RESUMED, "\n".join(diff_states(state, RESUMED)[:40])

    admin = _secret(aws_sandbox, "admin")
    instance = _instance(aws_sandbox)
    auth = json.loads(aws_sandbox.client("secretsmanager").get_secret_value(
        SecretId=instance["influxAuthParametersSecretArn"])["SecretString"])
    secrets = [admin["password"], auth["password"], _secret(aws_sandbox, "operator-token")["token"],
               _secret(aws_sandbox, "lambda-token")["token"]]
    vars_file = Path(run.cmd[run.cmd.index("-e") + 1].lstrip("@"))
    plan_file = vars_file.with_name(vars_file.name.replace("vars-", "plan-"))
    assert json.loads(plan_file.read_text())["totals"]["add"] > 0
    # The run's workdir: outputs/<env>.json, every plan JSON, vars file and log; in its state directory, all but
    # the sandbox's password store, the file the local inventory keeps the generated password in (0600).
    workdir = site_runner.workdir
    store = workdir / "state" / "influxdb-admin-password"
    assert store.stat().st_mode & 0o077 == 0
    # Everything in the workdir (also the outputs and logs of earlier runs), and what this run wrote under .ansible/ and outputs/.
    files = [p for p in files_written_since(0, workdir) if p != store and (p.stat().st_mtime >= started or workdir in p.parents)]
    assert (workdir / "outputs" / f"{ENV.name}.json") in files and plan_file in files
    assert "PLAN SUMMARY" in run.stdout and "ESTABLISH LOCAL CONNECTION" in run.stdout  # the callback, and -vvv
    assert_no_secret([run.stdout, run.stderr, *files], secrets)
