"""Fixtures of the whole-platform tests: site.yml run as a user runs it (ansible-playbook, this
checkout's ansible.cfg and inventories/local) against the session's sandbox.

* ``site_runner`` (session): runs site.yml / a stage playbook for one environment of the sandbox and
  returns a ``SiteRun`` (rc, stdout, the play recap, the plan callback's JSON, the AWS requests the run
  made). Each environment signs its AWS requests with an access key of its own, so the sandbox's
  request log tells its requests apart from everything else the session does.
* ``site_platform`` (session): the whole platform, built ONCE per session by site.yml on the
  environment ``itsite`` (its own name, VPC CIDR and access key, so it never meets what other tests
  build); tests reuse it rather than paying for another build. ``validation_platform`` is the same
  platform as test_validation*.py address it.

Under pytest-xdist (``make test``: ``-n 2 --dist loadgroup``, tests/conftest.py) every test module that uses the session
platform carries ``pytest.mark.xdist_group("platform")``: they all run on one worker (with its own
sandbox), in file order, and the ``destroys_platform`` tests (its teardown) run last.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.ansible import REPO, ansible_env

BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)", re.MULTILINE)
PROJECT = "ons-data-platform"


@dataclass
class Environment:
    """One environment of the platform in the shared sandbox: its name, network and access key."""

    name: str
    second_octet: int
    project: str = PROJECT

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.name}"

    @property
    def access_key(self) -> str:
        return f"AKIA{self.name.upper().replace('-', '')}"[:20].ljust(16, "X")

    def extra_vars(self) -> dict[str, Any]:
        net = f"10.{self.second_octet}"
        return {
            "environment_name": self.name,
            "aws_access_key": self.access_key,
            "vpc_cidr": f"{net}.0.0/16",
            "vpc_public_subnet_cidrs": [f"{net}.1.0/24", f"{net}.2.0/24"],
            "vpc_private_subnet_cidrs": [f"{net}.10.0/24", f"{net}.20.0/24"],
            # The sandbox makes an instance available in half a second: poll every second.
            "database_wait_delay": 1,
            "database_wait_timeout": 300,
            # The sandbox's InfluxDB servers speak plain HTTP.
            "database_url_scheme": "http",
        }


@dataclass
class SiteRun:
    cmd: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float
    plan: dict[str, Any]
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recap(self) -> dict[str, int]:
        found = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
                 for m in RECAP.finditer(self.stdout)}
        assert "localhost" in found, f"no play recap in:\n{self.output()}"
        return found["localhost"]

    @property
    def mutating(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["mutating"]]

    def resources(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.plan.get("resources", []) if type_ is None or r["type"] == type_]

    def output(self) -> str:
        return f"$ {' '.join(self.cmd)}\n--- stdout (tail)\n{self.stdout[-12000:]}\n--- stderr\n{self.stderr[-4000:]}"


class SiteRunner:
    """Runs the checkout's playbooks against the sandbox with inventories/local, per environment."""

    def __init__(self, sandbox: Any, workdir: Path) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.port = sandbox.endpoint.rsplit(":", 1)[1]
        (workdir / "state").mkdir(exist_ok=True)
        self._count = 0

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return ansible_env({
            **self.sandbox.env,
            "SANDBOX_PORT": self.port,
            # The admin password generated for the sandbox lives here, not in the checkout's .sandbox/.
            "SANDBOX_STATE_DIR": str(self.workdir / "state"),
            **(extra or {}),
        })

    def run(self, environment: Environment, playbook: str = "site.yml", *, check: bool = False,
            diff: bool = False, extra_vars: dict[str, Any] | None = None, args: list[str] | None = None,
            timeout: int = 900) -> SiteRun:
        cmd, plan_file = self._command(environment, playbook, check, diff, extra_vars, args)
        before = max((r["seq"] for r in self.sandbox.control.requests()), default=0)
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, env=self.env({"ONS_PLAN_JSON_FILE": str(plan_file)}),
                              capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.monotonic() - start
        requests = [r for r in self.sandbox.control.requests(environment.access_key) if r["seq"] > before]
        plan = json.loads(plan_file.read_text()) if plan_file.exists() else {}
        return SiteRun(cmd, proc.returncode, proc.stdout, proc.stderr, seconds, plan, requests)

    def start(self, environment: Environment, playbook: str = "site.yml", *, output: Path,
              extra_vars: dict[str, Any] | None = None, args: list[str] | None = None) -> subprocess.Popen:
        """Start the playbook without waiting, its stdout and stderr to ``output``, in a process group of
        its own: ``os.killpg(proc.pid, signal.SIGKILL)`` ends it with every worker, as a crash would."""
        cmd, plan_file = self._command(environment, playbook, False, False, extra_vars, args)
        with output.open("wb") as out:
            return subprocess.Popen(cmd, cwd=REPO, env=self.env({"ONS_PLAN_JSON_FILE": str(plan_file)}),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def _command(self, environment: Environment, playbook: str, check: bool, diff: bool,
                 extra_vars: dict[str, Any] | None, args: list[str] | None) -> tuple[list[str], Path]:
        self._count += 1
        plan_file = self.workdir / f"plan-{self._count}.json"
        vars_file = self.workdir / f"vars-{self._count}.json"
        vars_file.write_text(json.dumps({
            **environment.extra_vars(),
            "outputs_dir": str(self.workdir / "outputs"),
            **(extra_vars or {}),
        }))
        cmd = [str(BIN / "ansible-playbook"), playbook, "-i", "inventories/local", "-e", f"@{vars_file}"]
        return cmd + (["--check"] if check else []) + (["--diff"] if diff else []) + (args or []), plan_file


@pytest.fixture(scope="session")
def site_runner(aws_sandbox, tmp_path_factory: pytest.TempPathFactory) -> SiteRunner:
    return SiteRunner(aws_sandbox, tmp_path_factory.mktemp("site"))


@dataclass
class Platform:
    environment: Environment
    first_run: SiteRun
    outputs_dir: Path
    # platform_state() right after the build: the reference end state of an uninterrupted run without faults.
    state: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def site_platform(site_runner: SiteRunner) -> Iterator[Platform]:
    """The platform built once for the session (environment ``itsite``) by a plain ``site.yml --diff``."""
    from tests.helpers.platform_state import platform_state

    environment = Environment("itsite", 61)
    run = site_runner.run(environment, diff=True)
    assert run.rc == 0, run.output()
    yield Platform(environment, run, site_runner.workdir / "outputs", platform_state(site_runner.sandbox, environment))


@pytest.fixture(scope="session")
def validation_platform(site_platform: Platform, site_runner: SiteRunner) -> dict[str, Any]:
    """The session platform as test_validation.py and test_validation_lambda_connectivity.py run
    validation.yml against it (their ``run_local``): its working directory is the one whose admin
    password file the build used, its variables the build's. Tests that break something repair it
    before they end."""
    environment = site_platform.environment
    return {"workdir": site_runner.workdir / "state", "vars": environment.extra_vars(),
            "prefix": environment.prefix, "env": environment.name}
