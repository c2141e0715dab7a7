"""Shared pytest fixtures.

* ``aws_sandbox`` (session): the AWS sandbox. Uses the running one named by $SANDBOX_ENDPOINT
  (``make test`` starts one), else starts ``python -m sandbox serve --port 0 --delay 0.5`` for the
  session and stops it by PID at the end. Under pytest-xdist (``make test`` runs pytest with
  ``-n 2 --dist loadgroup``) every worker starts a sandbox of its own, whatever $SANDBOX_ENDPOINT says:
  tests clear the request log, inject faults and change the create delay, which must never reach
  what another worker is running at the same time. Gives ``.endpoint``, ``.control`` (SandboxControl),
  ``.client(service)`` (boto3) and ``.env`` (AWS_* variables for subprocesses: ansible, aws CLI).
* ``aws_vpc`` (function): a fresh VPC with two subnets in two AZs and a security group.

The repository root is put on sys.path here so that ``import sandbox`` and ``import tests.helpers``
work whatever directory pytest is started from.
"""

from __future__ import annotations

import os
import pathlib
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings

# In CI the property tests are derandomized (the same examples every run, so a red CI is
# reproducible and never a coin toss) and keep no example database in the checkout.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sandbox.client import REGION, SandboxControl, boto3_client, sandbox_env

SANDBOX_START_TIMEOUT = 60.0


@dataclass
class AwsSandbox:
    endpoint: str
    control: SandboxControl
    env: dict[str, str]
    region: str = REGION
    pid: int | None = None
    log_path: pathlib.Path | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for the sandbox (cached per service when called without options)."""
        if kwargs:
            return boto3_client(self.endpoint, service, **kwargs)
        if service not in self._clients:
            self._clients[service] = boto3_client(self.endpoint, service)
        return self._clients[service]

    def subprocess_env(self) -> dict[str, str]:
        """os.environ plus the sandbox's AWS_* variables."""
        return {**os.environ, **self.env}


def _start_sandbox(
    state_dir: pathlib.Path,
) -> tuple[subprocess.Popen[bytes], str, pathlib.Path]:
    log_path = state_dir / "aws.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--delay",
        "0.5",
        "--state-dir",
        str(state_dir),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=str(REPO),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + SANDBOX_START_TIMEOUT
    buffer = b""
    while time.monotonic() < deadline:
        ready = select.select([proc.stdout], [], [], 0.2)[0]
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.decode("utf-8", "replace").splitlines():
                if line.startswith("READY "):
                    return proc, line.split(" ", 1)[1].strip(), log_path
        if proc.poll() is not None:
            break
    _stop_process(proc)
    raise RuntimeError(
        f"the AWS sandbox did not start; stdout={buffer!r}; log:\n{log_path.read_text(errors='replace')[-4000:]}"
    )


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="session")
def aws_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsSandbox]:
    endpoint = None if os.environ.get("PYTEST_XDIST_WORKER") else os.environ.get("SANDBOX_ENDPOINT")
    if endpoint:
        control = SandboxControl(endpoint)
        control.health()
        yield AwsSandbox(endpoint=endpoint, control=control, env=sandbox_env(endpoint))
        return
    state_dir = tmp_path_factory.mktemp("aws-sandbox")
    proc, endpoint, log_path = _start_sandbox(state_dir)
    # Commands the tests start inherit this process's environment: point them at this sandbox, not at
    # the one `make test` started for the other gates.
    saved = {k: os.environ.get(k) for k in ("SANDBOX_ENDPOINT", "SANDBOX_PORT", "SANDBOX_STATE_DIR")}
    os.environ.update(SANDBOX_ENDPOINT=endpoint, SANDBOX_PORT=endpoint.rsplit(":", 1)[1],
                      SANDBOX_STATE_DIR=str(state_dir))
    try:
        yield AwsSandbox(
            endpoint=endpoint,
            control=SandboxControl(endpoint),
            env=sandbox_env(endpoint),
            pid=proc.pid,
            log_path=log_path,
        )
    finally:
        _stop_process(proc)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class AwsVpc:
    vpc_id: str
    subnet_ids: list[str]
    availability_zones: list[str]
    security_group_id: str
    cidr_block: str


@pytest.fixture
def aws_vpc(aws_sandbox: AwsSandbox) -> Iterator[AwsVpc]:
    """A fresh VPC with two subnets in two AZs (us-east-1a, us-east-1b) and a security group."""
    ec2 = aws_sandbox.client("ec2")
    cidr = "10.0.0.0/16"
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    zones = [f"{REGION}a", f"{REGION}b"]
    subnet_ids = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az
        )["Subnet"]["SubnetId"]
        for i, az in enumerate(zones, start=1)
    ]
    sg_id = ec2.create_security_group(
        GroupName=f"test-{uuid.uuid4().hex[:8]}",
        Description="test security group",
        VpcId=vpc_id,
    )["GroupId"]
    try:
        yield AwsVpc(vpc_id, subnet_ids, zones, sg_id, cidr)
    finally:
        for call, kwargs in (
            [(ec2.delete_security_group, {"GroupId": sg_id})]
            + [(ec2.delete_subnet, {"SubnetId": s}) for s in subnet_ids]
            + [(ec2.delete_vpc, {"VpcId": vpc_id})]
        ):
            try:
                call(**kwargs)
            except Exception:  # noqa: BLE001, S110 - best-effort cleanup; a test may have deleted it already
                pass


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox: tests of the local AWS sandbox itself")


def _xdist_group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    return (marker.args[0] if marker.args else marker.kwargs.get("name")) if marker else None


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the marks to name the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How ``make test`` shares the tests between its pytest-xdist workers (``--dist loadgroup
    --no-loadscope-reorder``): a test module without an ``xdist_group`` mark is a group of its own, so its
    module-scoped fixtures (an instance, a batch run) are built on one worker only; the ``platform`` group
    (every test of the session platform, tests/integration/conftest.py) comes first, the longest work
    handed out first, and in it the ``destroys_platform`` tests, its teardown, after every other test.
    Otherwise the order of the files. Without xdist the marks change nothing."""
    for item in items:
        if _xdist_group(item) is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    items.sort(key=lambda item: (_xdist_group(item) != "platform",
                                 item.get_closest_marker("destroys_platform") is not None))
