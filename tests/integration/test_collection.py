"""The collection as users get it: the built artifact installs and documents every module, and
the inventories resolve to what the playbooks expect."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible import REPO, ansible_env

BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    proc = run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out)],
               cwd=REPO, env=ansible_env())
    assert proc.returncode == 0, proc.stderr
    (tarball,) = out.glob("ons-timestream_influxdb-*.tar.gz")
    return tarball


def test_artifact_holds_the_collection_and_nothing_else(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
    assert {"MANIFEST.json", "meta/runtime.yml", "README.md", "LICENSE"} <= names
    assert {f"plugins/modules/{m}.py" for m in MODULES} <= names
    for excluded in ("sandbox", "bench", "collections", ".venv", "scripts", "inventories", "Makefile"):
        assert not any(n == excluded or n.startswith(excluded + "/") for n in names), excluded


def test_installed_artifact_documents_every_module(artifact: Path, tmp_path: Path) -> None:
    target = tmp_path / "collections"
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": f"{target}:{BIN.parent}/lib/python3.11/site-packages"})
    proc = run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
                "-p", str(target), str(artifact)], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "ansible_collections/ons/timestream_influxdb/MANIFEST.json").is_file()
    proc = run([str(BIN / "ansible-doc"), "--list", "--json", "ons.timestream_influxdb"],
               cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    listed = {name.split(".")[-1] for name in json.loads(proc.stdout)}
    assert listed == set(MODULES)
    for module in MODULES:
        proc = run([str(BIN / "ansible-doc"), "--json", f"ons.timestream_influxdb.{module}"],
                   cwd=tmp_path, env=env)
        assert proc.returncode == 0, f"{module}: {proc.stderr}"
        doc = json.loads(proc.stdout)[f"ons.timestream_influxdb.{module}"]
        assert doc["doc"]["short_description"] and doc["examples"] and doc["return"] is not None, module


def inventory(name: str, extra_env: dict[str, str] | None = None) -> dict:
    proc = run([str(BIN / "ansible-inventory"), "-i", f"inventories/{name}", "--host", "localhost"],
               cwd=REPO, env=ansible_env(extra_env))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", ["local", "dev", "prod"])
def test_inventory_targets_the_controller_with_the_venv_python(name: str) -> None:
    host = inventory(name)
    assert host["ansible_connection"] == "local"
    assert host["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert host["project"] == "ons-data-platform"
    assert host["vpc_cidr"] == "10.0.0.0/16"
    assert host["vpc_public_subnet_cidrs"] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert host["vpc_private_subnet_cidrs"] == ["10.0.10.0/24", "10.0.20.0/24"]


def test_local_differs_from_dev_only_in_sandbox_settings() -> None:
    dev, local = inventory("dev"), inventory("local")
    differing = {k for k in dev.keys() | local.keys() if dev.get(k) != local.get(k)}
    assert differing == {"aws_region", "aws_endpoint_url", "aws_access_key", "aws_secret_key",
                         "database_admin_password", "database_url_scheme", "database_wait_delay"}
    assert dev["vpc_nat_gateway_mode"] == "single" and dev["database_instance_class"] == "db.influx.medium"


def test_prod_is_larger_and_redundant() -> None:
    prod = inventory("prod")
    assert prod["vpc_nat_gateway_mode"] == "per_az"
    assert prod["database_instance_class"] != "db.influx.medium"
    assert prod["database_deployment_type"] == "WITH_MULTIAZ_STANDBY"


def test_no_secret_is_committed_in_the_inventories() -> None:
    checked = 0
    for path in (REPO / "inventories").rglob("*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        for key, value in data.items():
            if any(word in key for word in ("password", "secret", "token")):
                checked += 1
                # Only templates (Vault variable, environment, generated file) or dummies for the sandbox.
                assert "{{" in str(value) or (path.parent.parent.parent.name == "local" and value == "testing"), (
                    f"{path}: {key}")
    assert checked >= 4


def test_site_playbook_resolves_from_the_checkout_for_dev() -> None:
    proc = run([str(BIN / "ansible-playbook"), "site.yml", "-i", "inventories/dev", "--syntax-check"],
               cwd=REPO, env=ansible_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_preflight_rejects_a_subnet_outside_the_vpc(aws_sandbox) -> None:
    before = max((r["seq"] for r in aws_sandbox.control.requests()), default=0)
    proc = run([str(BIN / "ansible-playbook"), "site.yml", "-i", "inventories/local",
                "-e", "vpc_cidr=10.1.0.0/16"],
               cwd=REPO, env=ansible_env({**aws_sandbox.env, "SANDBOX_PORT": aws_sandbox.endpoint.rsplit(":", 1)[1]}))
    assert proc.returncode != 0
    assert "inside vpc_cidr (10.1.0.0/16)" in proc.stdout
    # It stops at the first check: not one AWS request was made.
    assert [r for r in aws_sandbox.control.requests() if r["seq"] > before] == []
