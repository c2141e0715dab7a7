"""The collection as someone outside this repository gets it: `make build`'s artifact, installed with
ansible-galaxy into a collections path of its own, runs the platform's playbooks as collection
playbooks (`ansible-playbook ons.timestream_influxdb.site`) from a directory of its own, with an
inventory of its own pointing at the sandbox, roles and plugins resolved from the installed copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers.ansible import REPO, ansible_env
from tests.integration.conftest import RECAP, Environment

BIN = Path(sys.executable).parent
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """The tarball `make build` makes (the same command, into a temporary directory)."""
    out = tmp_path_factory.mktemp("build")
    proc = run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out)],
               cwd=REPO, env=ansible_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (tarball,) = out.glob("ons-timestream_influxdb-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def installed(artifact: Path, tmp_path_factory) -> dict[str, str]:
    """The artifact installed into a fresh collections path; the environment that uses only it (and the
    amazon.aws / community.aws of the ansible package), with no ansible.cfg and nothing of the checkout."""
    root = tmp_path_factory.mktemp("user")
    collections = root / "collections"
    env = {k: v for k, v in ansible_env().items() if not k.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}:{SITE_PACKAGES}",
        "ANSIBLE_HOME": str(root / ".ansible"),
        "ANSIBLE_REMOTE_TMP": str(root / ".ansible" / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "HOME": str(root),
    })
    proc = run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
                "-p", str(collections), str(artifact)], cwd=root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env


def test_the_artifact_has_no_empty_folder_and_nothing_of_the_sandbox(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    empty = [m.name for m in members if m.isdir() and not any(n.startswith(m.name + "/") for n in names)]
    assert empty == []
    for sandbox_only in ("sandbox", "tests", "extensions", "inventories", "outputs", "build", "collections",
                         "Makefile", "ansible.cfg", "site.yml", "scripts", "bench"):
        assert not any(n == sandbox_only or n.startswith(sandbox_only + "/") for n in names), sandbox_only
    for wanted in ("playbooks/site.yml", "playbooks/network.yml", "playbooks/database.yml",
                   "playbooks/credential_rotation.yml", "playbooks/validation.yml", "playbooks/outputs.yml",
                   "playbooks/teardown.yml", "playbooks/preflight.yml", "plugins/callback/plan.py",
                   "roles/vpc/tasks/main.yml", "roles/security/tasks/main.yml", "roles/database/tasks/main.yml",
                   "roles/secrets/tasks/main.yml", "roles/monitoring/tasks/main.yml"):
        assert wanted in names, wanted


def test_the_installed_plan_callback_is_documented(installed: dict[str, str], tmp_path: Path) -> None:
    proc = run([str(BIN / "ansible-doc"), "-t", "callback", "--json", "ons.timestream_influxdb.plan"],
               cwd=tmp_path, env=installed)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["ons.timestream_influxdb.plan"]["doc"]
    assert doc["short_description"] and set(doc["options"]) == {"max_value_length", "json_file"}


def test_the_installed_site_playbook_plans_a_fresh_environment_from_outside_the_checkout(
        installed: dict[str, str], aws_sandbox, tmp_path: Path) -> None:
    """`--check --diff` on an environment that does not exist: runs to the end, fails nothing, changes
    nothing (request log), and the plan summary lists what would be created, saying "would"."""
    # A user's own directory and inventory: a copy of inventories/local (its group_vars files, the
    # links resolved), pointing at this session's sandbox, for an environment nothing else uses.
    workdir = tmp_path / "work"
    shutil.copytree(REPO / "inventories" / "local", workdir / "inventory", symlinks=False)
    environment = Environment("itbuilt", 66)
    (workdir / "inventory" / "group_vars" / "all" / "zz_test.yml").write_text(json.dumps(environment.extra_vars()))
    env = {
        **installed, **aws_sandbox.env,
        "SANDBOX_PORT": aws_sandbox.endpoint.rsplit(":", 1)[1],
        "SANDBOX_STATE_DIR": str(tmp_path),
        "ANSIBLE_CALLBACKS_ENABLED": "ons.timestream_influxdb.plan",
        "ONS_PLAN_JSON_FILE": str(tmp_path / "plan.json"),
    }
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    proc = run([str(BIN / "ansible-playbook"), "ons.timestream_influxdb.site", "-i", "inventory", "--check", "--diff"],
               cwd=workdir, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    recap = {m["host"]: m.groupdict() for m in RECAP.finditer(proc.stdout)}
    assert recap["localhost"]["failed"] == "0"
    assert "TASK [ons.timestream_influxdb.vpc : " in proc.stdout
    assert "PLAN SUMMARY (ons.timestream_influxdb.plan)" in proc.stdout
    assert "Check mode: nothing below was changed; this is what the run would do." in proc.stdout
    assert "Plan: would add " in proc.stdout and "Applied:" not in proc.stdout
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["check_mode"] is True and plan["resources"] and all(r["check_mode"] for r in plan["resources"])
    names = {(r["type"], r["name"]) for r in plan["resources"]}
    assert ("amazon.aws.ec2_vpc_net", f"{environment.prefix}-vpc") in names
    assert aws_sandbox.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": [f"{environment.prefix}-vpc"]}])["Vpcs"] == []
    mine = [r for r in aws_sandbox.control.requests(environment.access_key) if r["seq"] > before]
    assert mine and [r for r in mine if r["mutating"]] == []
    assert not (REPO / "outputs" / "itbuilt.json").exists()
