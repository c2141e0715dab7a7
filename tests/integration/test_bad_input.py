"""Bad input, refused cleanly: one table of wrong inputs across the roles and the modules (issue 13).

Every case fails before any mutating call, with a message that names the option or the cause, and
without a traceback ("Traceback", "MODULE FAILURE", an exception's class dumped into the message).

* ``role`` cases are inventory values, met where a user first meets them: ``playbooks/preflight.yml``,
  the first play of ``site.yml``. They run as ONE ansible-playbook run whose inventory holds one host
  per case (the local inventory's ``aws_control`` group plus the case's variables as host variables,
  the way an inventory sets them); each host signs its AWS requests with an access key of its own, so
  the sandbox's request log proves, case by case, that nothing was changed.
* ``module`` cases are module options, one task each (``ignore_errors``) of ONE playbook, read back
  through the ansible.posix.json callback. The AWS ones sign with an access key per case (the request
  log again); the InfluxDB ones run against the InfluxDB server of one sandbox instance created for
  the module (whose organizations, buckets, users, authorizations and DBRP mappings must be the same
  after the run), a closed port, or a local TLS server whose certificate no default trust store knows
  (which must not have received a single HTTP request).
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.client import wait_for_db_instance
from sandbox.influxdb.tls import ensure_tls
from tests.helpers.ansible import REPO, ansible_env

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
FQ = "ons.timestream_influxdb."
PASSWORD = "BadInput2026abc"
ORG = "ons"
BUCKET = "telemetry"
STORAGE_GIB = 40
# What must never reach the user instead of a message.
NOT_CLEAN = ("Traceback", "MODULE FAILURE", "object at 0x", "<class ", "Connection(host=", "SSLError", "_ssl.c", "botocore.exceptions", "urllib3.exceptions",
             "influxdb_client.rest")


@dataclass(frozen=True)
class Case:
    id: str
    where: str                      # "role": inventory variables through the preflight; "module": a task
    wrong: dict[str, Any]           # role: the variables; module: {"module": name, **options}
    words: tuple[str, ...]          # all of them are in the message
    evidence: str = "aws"           # module cases: "aws" (request log), "influx" (server state), "tls", "closed"


def role(case_id: str, words: tuple[str, ...], **variables: Any) -> Case:
    return Case(case_id, "role", variables, words)


def module(case_id: str, module_name: str, words: tuple[str, ...], evidence: str = "aws", **options: Any) -> Case:
    return Case(case_id, "module", {"module": module_name, **options}, words, evidence)


# Options shared by the instance cases that only need validation to fail (the network ids are never used).
NEW_INSTANCE = {"username": "admin", "organization": ORG, "bucket": BUCKET, "db_instance_type": "db.influx.medium",
                "vpc_subnet_ids": ["subnet-0badinput000001"], "vpc_security_group_ids": ["sg-0badinput0000001"],
                "allocated_storage": 20, "password": PASSWORD, "wait": False}
INFLUX = {"url": "{{ influx_url }}", "username": "admin", "password": PASSWORD, "org": ORG}

CASES = [
    # -- role inputs, through playbooks/preflight.yml ------------------------------------------------
    role("vpc-cidr-not-a-network", ("vpc_cidr", "10.0.0.0/33"), vpc_cidr="10.0.0.0/33"),
    role("vpc-subnets-overlap", ("vpc_private_subnet_cidrs[0]", "vpc_public_subnet_cidrs[0]", "must not overlap"),
         vpc_private_subnet_cidrs=["10.0.1.0/25", "10.0.20.0/24"]),
    role("vpc-nat-gateway-wait-not-a-number", ("vpc_nat_gateway_wait_timeout", "int"),
         vpc_nat_gateway_wait_timeout="ten minutes"),
    role("region-typo", ("aws_region", "eu-west2", "eu-west-2"), aws_region="eu-west2"),
    role("database-storage-below-20", ("database_allocated_storage", "20-", "got 10"), database_allocated_storage=10),
    role("database-password-with-symbols", ("database_admin_password", "not a letter or digit"),
         database_admin_password="Pass-word!2026"),
    role("database-password-too-short", ("database_admin_password", "too short"), database_admin_password="abc123"),
    role("database-unknown-instance-class", ("database_instance_class", "db.t3.medium"),
         database_instance_class="db.t3.medium"),
    role("database-unknown-storage-type", ("database_storage_type", "gp3"), database_storage_type="gp3"),
    role("database-reserved-port", ("database_port", "2375", "reserved"), database_port=2375),
    role("database-backup-frequency-unknown", ("database_backup_frequency", "FORTNIGHTLY"),
         database_backup_frequency="FORTNIGHTLY"),
    role("security-bool-not-a-bool", ("security_kms_allow_cloudwatch_alarms", "maybe"),
         security_kms_allow_cloudwatch_alarms="maybe"),
    role("secrets-token-permission-unknown-action", ("secrets_lambda_token_permissions", "action", "delete"),
         secrets_lambda_token_permissions=[{"action": "delete", "resource": "buckets"}]),
    role("monitoring-log-retention-not-allowed", ("monitoring_log_retention_days", "45"),
         monitoring_log_retention_days=45),
    role("rotation-url-scheme-unknown", ("rotation_url_scheme", "ftp"), rotation_url_scheme="ftp"),
    role("rotation-period-not-a-number", ("rotation_period_days", "float", "not a number"), rotation_period_days="quarterly"),
    role("lambda-test-runtime-unknown", ("lambda_test_runtime", "python2.7"), lambda_test_runtime="python2.7"),
    # -- module options -----------------------------------------------------------------------------
    module("instance-storage-below-20", "timestream_influxdb_instance", ("allocated_storage", "10"),
           **{**NEW_INSTANCE, "name": "badinput-small", "allocated_storage": 10}),
    module("instance-storage-shrinks", "timestream_influxdb_instance",
           ("allocated_storage can only grow", f"{STORAGE_GIB} GiB"),
           name="{{ instance_name }}", allocated_storage=20, wait=False),
    module("instance-password-with-symbols", "timestream_influxdb_instance", ("password",),
           **{**NEW_INSTANCE, "name": "badinput-symbols", "password": "Pass-word!2026"}),
    module("instance-password-too-short", "timestream_influxdb_instance", ("password", "8"),
           **{**NEW_INSTANCE, "name": "badinput-short", "password": "abc123"}),
    module("instance-unknown-class", "timestream_influxdb_instance", ("db_instance_type", "db.t3.micro"),
           **{**NEW_INSTANCE, "name": "badinput-class", "db_instance_type": "db.t3.micro"}),
    module("instance-unknown-storage-type", "timestream_influxdb_instance", ("db_storage_type", "gp3"),
           **{**NEW_INSTANCE, "name": "badinput-storage", "db_storage_type": "gp3"}),
    module("instance-reserved-port", "timestream_influxdb_instance", ("port", "7788", "reserved"),
           **{**NEW_INSTANCE, "name": "badinput-port", "port": 7788}),
    module("parameter-group-unknown-parameter", "timestream_influxdb_parameter_group", ("log_levle",),
           name="badinput-params", parameters={"log_levle": "debug"}),
    module("backup-restore-time-not-a-time", "timestream_influxdb_backup", ("restore_to_time", "yesterday"),
           state="restored", name="badinput-backup", restore_name="badinput-restored", restore_to_time="yesterday"),
    module("cluster-storage-below-20", "timestream_influxdb_cluster", ("allocated_storage", "10"),
           **{**NEW_INSTANCE, "name": "badinput-cluster", "allocated_storage": 10,
              "deployment_type": "MULTI_NODE_READ_REPLICAS"}),
    module("dashboard-body-not-json", "cloudwatch_dashboard", ("body",),
           name="badinput-dashboard", body="{not json"),
    module("migrate-partition-size-unparsable", "timestream_migrate", ("partition_size", "fortnight"),
           database="badinput", partition_size="fortnight", output_file="{{ workdir }}/migrate.lp"),
    module("secret-rotation-password-too-short", "influx_secret_rotation", ("password_length",),
           secret_id="badinput/admin", credential="password", instance_name="{{ instance_name }}",
           password_length=4),
    module("bucket-name-with-quote", "influx_bucket", ("name", '"'), evidence="influx", **INFLUX,
           name='tele"metry'),
    module("bucket-name-starts-with-underscore", "influx_bucket", ("name", "_"), evidence="influx", **INFLUX,
           name="_audit"),
    module("bucket-retention-does-not-parse", "influx_bucket", ("retention", "forever-ish"), evidence="influx",
           **INFLUX, name="badinput", retention="forever-ish"),
    module("auth-missing-token", "influx_auth", ("credentials", "token"), evidence="influx",
           url="{{ influx_url }}", org=ORG, description="badinput", all_access=True),
    module("org-wrong-token", "influx_org", ("did not accept the credentials", "401", "token"), evidence="influx",
           url="{{ influx_url }}", token="not-a-token-of-this-server", name="badinput"),
    module("user-unreachable-endpoint", "influx_user", ("Cannot reach InfluxDB", "{{ closed_url }}", "Connection refused"),
           evidence="closed", url="{{ closed_url }}", token="any-token", name="badinput"),
    module("dbrp-tls-certificate-not-trusted", "influx_dbrp", ("TLS failure", "certificate", "ca_path"),
           evidence="tls", url="{{ tls_url }}", token="any-token", org=ORG, database="badinput", bucket=BUCKET,
           retention_policy="autogen", validate_certs=True),
    module("org-url-with-api-path", "influx_org", ("url", "/api/v2"), evidence="influx",
           url="{{ influx_url }}/api/v2", token="any-token", name="badinput"),
]
assert len({c.id for c in CASES}) == len(CASES)
ROLE_CASES = [c for c in CASES if c.where == "role"]
CONTROL, CONTROL_KEY = "control-good-inventory", "AKIABADINPUTCONTROL0"
MODULE_CASES = [c for c in CASES if c.where == "module"]


def access_key(case: Case) -> str:
    """The access key a case signs its AWS requests with (20 characters, unique per case)."""
    return f"AKIABAD{CASES.index(case):03d}{uuid.uuid5(uuid.NAMESPACE_DNS, case.id).hex[:10].upper()}"


def failed_task(results: list[dict[str, Any]]) -> dict[str, Any]:
    (failed,) = [r for r in results if r.get("failed") and not r.get("ignore_errors")]
    return failed


def assert_clean(result: dict[str, Any], case: Case, output: str, values: dict[str, str]) -> None:
    """``result`` is a failure whose message holds the case's words and no traceback or exception dump."""
    assert result.get("failed"), result
    msg = str(result.get("msg", ""))
    for word in case.words:
        word = word.replace("{{ closed_url }}", values.get("closed_url", ""))
        assert word in msg, f"{word!r} not in {msg!r}"
    for marker in NOT_CLEAN:
        assert marker not in msg, msg
    # ansible-core 2.19 keeps a module's traceback out of the result unless asked (DISPLAY_TRACEBACK).
    assert "module_stderr" not in result and "Traceback" not in str(result.get("exception", "")), result
    assert "MODULE FAILURE" not in output and "Traceback" not in output


def run_json(cmd: list[str], env: dict[str, str], workdir: Path) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                                          "ANSIBLE_CALLBACK_RESULT_FORMAT": "json", **env}),
                          capture_output=True, text=True, check=False, timeout=600)
    (workdir / "stdout.json").write_text(proc.stdout)
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise AssertionError(f"no JSON from {cmd}: rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc, data


# -- role inputs -------------------------------------------------------------------------------------

@dataclass
class Batch:
    results: dict[str, list[dict[str, Any]]]         # case id -> its task results, in order
    requests: dict[str, list[dict[str, Any]]]        # case id -> its AWS requests
    output: str
    values: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def role_batch(aws_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """playbooks/preflight.yml once, one inventory host per role case (its variables as host variables)."""
    workdir = tmp_path_factory.mktemp("bad-role-input")
    hosts = {case.id: {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                       "aws_access_key": access_key(case), **case.wrong} for case in ROLE_CASES}
    # The control: the same inventory without a wrong value passes (and its AWS reads reach the request log
    # under its own key), so each case fails for its value and an empty list of mutating calls means something.
    hosts[CONTROL] = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                      "aws_access_key": CONTROL_KEY, "environment_name": "badinput", "vpc_cidr": "10.65.0.0/16",
                      "vpc_public_subnet_cidrs": ["10.65.1.0/24", "10.65.2.0/24"],
                      "vpc_private_subnet_cidrs": ["10.65.10.0/24", "10.65.20.0/24"]}
    inventory = workdir / "cases.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"aws_control": {"hosts": hosts}}}}))
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    proc, data = run_json(
        [str(BIN / "ansible-playbook"), "playbooks/preflight.yml", "-i", "inventories/local", "-i", str(inventory),
         "--limit", "all:!localhost", "--forks", str(len(hosts))],
        {**aws_sandbox.env, "SANDBOX_PORT": aws_sandbox.endpoint.rsplit(":", 1)[1], "INFLUXDB_ADMIN_PASSWORD": PASSWORD},
        workdir)
    requests = [r for r in aws_sandbox.control.requests() if r["seq"] > before]
    return Batch(
        results={host: [task["hosts"][host] for play in data["plays"] for task in play["tasks"] if host in task["hosts"]]
                 for host in hosts},
        requests={host: [r for r in requests if r.get("access_key") == hosts[host]["aws_access_key"]] for host in hosts},
        output=proc.stdout + proc.stderr)


def test_the_same_inventory_without_a_wrong_value_passes_and_only_reads(role_batch: Batch) -> None:
    results = role_batch.results[CONTROL]
    assert results and not [r for r in results if r.get("failed")], role_batch.output[-3000:]
    assert role_batch.requests[CONTROL] and not [r for r in role_batch.requests[CONTROL] if r["mutating"]]


@pytest.mark.parametrize("case", ROLE_CASES, ids=[c.id for c in ROLE_CASES])
def test_role_input_is_refused_by_the_preflight(role_batch: Batch, case: Case) -> None:
    results = role_batch.results[case.id]
    assert results, f"{case.id} did not run:\n{role_batch.output[-3000:]}"
    assert_clean(failed_task(results), case, role_batch.output, role_batch.values)
    assert [r for r in role_batch.requests[case.id] if r["mutating"]] == []
    if case.id.startswith("database-password"):
        assert case.wrong["database_admin_password"] not in role_batch.output


# -- module options ----------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    do_POST = do_PATCH = do_DELETE = do_GET


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[http.server.ThreadingHTTPServer]:
    """An HTTPS server on 127.0.0.1 with a certificate signed by a CA of its own (not in any trust store)."""
    files = ensure_tls(tmp_path_factory.mktemp("bad-input-tls"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = 0  # type: ignore[attr-defined]
    server.socket = files.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="bad-input-tls", daemon=True)
    thread.start()
    # It does serve HTTPS to a client that trusts its CA: the modules' failure is about the certificate.
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    with urllib.request.urlopen(f"https://127.0.0.1:{server.server_address[1]}/", context=context, timeout=10) as resp:
        assert resp.status == 200
    server.requests = 0  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def influx_state(url: str) -> dict[str, Any]:
    """What the bad InfluxDB cases could have changed, read as the admin user."""
    basic = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    signin = urllib.request.Request(f"{url}/api/v2/signin", method="POST", headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(signin, timeout=10) as resp:
        cookie = resp.headers["Set-Cookie"].split(";", 1)[0]

    def get(path: str, key: str) -> list[dict[str, Any]]:
        req = urllib.request.Request(f"{url}/api/v2/{path}", headers={"Cookie": cookie})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return sorted(json.load(resp)[key], key=lambda item: item["id"])

    orgs = get("orgs", "orgs")
    org_id = next(o["id"] for o in orgs if o["name"] == ORG)
    return {"orgs": orgs, "buckets": get(f"buckets?orgID={org_id}&limit=100", "buckets"), "users": get("users", "users"),
            "authorizations": get("authorizations", "authorizations"), "dbrps": get(f"dbrps?orgID={org_id}", "content")}


@dataclass
class ModuleBatch(Batch):
    influx_before: dict[str, Any] = field(default_factory=dict)
    influx_after: dict[str, Any] = field(default_factory=dict)
    tls_requests: int = 0


@pytest.fixture(scope="module")
def module_batch(aws_sandbox: Any, tls_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleBatch]:
    """One playbook, one task per module case; around it, one sandbox instance (40 GiB) whose InfluxDB
    server the InfluxDB cases talk to."""
    workdir = tmp_path_factory.mktemp("bad-module-input")
    ec2, ts = aws_sandbox.client("ec2"), aws_sandbox.client("timestream-influxdb")
    vpc_id = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.64.10.0/24",
                                  AvailabilityZone=f"{aws_sandbox.region}a")["Subnet"]["SubnetId"]
    sg_id = ec2.create_security_group(GroupName=f"badinput-{uuid.uuid4().hex[:8]}", Description="bad input test",
                                      VpcId=vpc_id)["GroupId"]
    name = f"badinput-{uuid.uuid4().hex[:8]}"
    instance = ts.create_db_instance(
        name=name, password=PASSWORD, username="admin", organization=ORG, bucket=BUCKET,
        dbInstanceType="db.influx.medium", vpcSubnetIds=[subnet_id], vpcSecurityGroupIds=[sg_id],
        allocatedStorage=STORAGE_GIB)
    try:
        ready = wait_for_db_instance(ts, instance["id"], "AVAILABLE", timeout=120)
        influx_url = f"http://{ready['endpoint']}:{ready.get('port', 8086)}"
        values = {"instance_name": name, "influx_url": influx_url, "closed_url": f"http://127.0.0.1:{closed_port()}",
                  "tls_url": f"https://127.0.0.1:{tls_server.server_address[1]}", "workdir": str(workdir)}
        # One inventory host per case, each including a file with its one task, under the free strategy: the
        # cases run side by side, and each result is found by its host (the case) and its module.
        (workdir / "cases").mkdir()
        for case in MODULE_CASES:
            options = {k: v for k, v in case.wrong.items() if k != "module"}
            task: dict[str, Any] = {"name": case.id, FQ + case.wrong["module"]: options, "ignore_errors": True}
            if case.evidence == "aws":
                task["module_defaults"] = {f"group/{FQ}aws": {
                    "region": aws_sandbox.region, "endpoint_url": aws_sandbox.endpoint,
                    "access_key": access_key(case), "secret_key": "testing"}}
            (workdir / "cases" / f"{case.id}.yml").write_text(yaml.safe_dump([task], sort_keys=False))
        playbook = workdir / "bad_module_input.yml"
        playbook.write_text(yaml.safe_dump([{
            "name": "Bad module input", "hosts": "all", "connection": "local", "gather_facts": False,
            "strategy": "free",
            "tasks": [{"name": "The case", "ansible.builtin.include_tasks": "cases/{{ inventory_hostname }}.yml"}],
        }], sort_keys=False))
        inventory = workdir / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {case.id: None for case in MODULE_CASES}}}))
        (workdir / "values.json").write_text(json.dumps({**values, "ansible_python_interpreter": sys.executable}))
        influx_before = influx_state(influx_url)
        before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
        env = {k: v for k, v in aws_sandbox.env.items() if not k.startswith("AWS_ACCESS_KEY")}
        proc, data = run_json([str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "--forks", "6",
                               "-e", f"@{workdir / 'values.json'}"], {**env, "INFLUX_TOKEN": ""}, workdir)
        requests = [r for r in aws_sandbox.control.requests() if r["seq"] > before]
        every = [(host, result) for play in data["plays"] for task in play["tasks"] for host, result in task["hosts"].items()]
        yield ModuleBatch(
            results={case.id: [r for host, r in every if host == case.id and r.get("action") == FQ + case.wrong["module"]]
                     for case in MODULE_CASES},
            requests={case.id: [r for r in requests if r.get("access_key") == access_key(case)] for case in MODULE_CASES},
            output=proc.stdout + proc.stderr, values=values, influx_before=influx_before,
            influx_after=influx_state(influx_url), tls_requests=tls_server.requests)  # type: ignore[attr-defined]
    finally:
        for call, kwargs in ((ts.delete_db_instance, {"identifier": instance["id"]}),
                             (wait_for_db_instance, {"client": ts, "identifier": instance["id"], "status": "DELETED"}),
                             (ec2.delete_security_group, {"GroupId": sg_id}), (ec2.delete_subnet, {"SubnetId": subnet_id}),
                             (ec2.delete_vpc, {"VpcId": vpc_id})):
            try:
                call(**kwargs)
            except Exception:  # noqa: BLE001, S110 - best effort
                pass


@pytest.mark.parametrize("case", MODULE_CASES, ids=[c.id for c in MODULE_CASES])
def test_module_option_is_refused_before_any_change(module_batch: ModuleBatch, case: Case) -> None:
    results = module_batch.results[case.id]
    assert results, f"{case.id} did not run:\n{module_batch.output[-3000:]}"
    assert_clean(results[0], case, module_batch.output, module_batch.values)
    if case.evidence == "aws":
        assert [r for r in module_batch.requests[case.id] if r["mutating"]] == []
        if case.id == "instance-storage-shrinks":
            # found the instance first: the request log does see this case's key
            assert [r["operation"] for r in module_batch.requests[case.id]], module_batch.requests
    elif case.evidence == "influx":
        assert module_batch.influx_after == module_batch.influx_before
    elif case.evidence == "tls":
        assert module_batch.tls_requests == 0
    for value in ("Pass-word!2026", "not-a-token-of-this-server", "any-token"):
        assert value not in module_batch.output


def test_the_table_covers_every_role_and_the_modules() -> None:
    """At least 25 cases; every role of the collection and at least ten modules have one."""
    roles = {p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file()}
    covered = {name for name in roles for c in ROLE_CASES if any(k.startswith(f"{name}_") for k in c.wrong)}
    assert len(CASES) >= 25 and covered == roles, sorted(roles - covered)
    assert len({c.wrong["module"] for c in MODULE_CASES}) >= 10
