"""The execution environment the AWX jobs run in (ansible-builder 3, offline): `ansible-builder
create` turns execution-environment.yml into a build context whose collections are galaxy.yml's
dependencies (plus awx.awx), whose Python requirements are requirements.txt, with ansible-core and
ansible-runner pinned as in requirements-test.txt; and the collection's own
meta/execution-environment.yml declares its Python dependencies to ansible-builder's introspection
(what an EE that installs the collection picks up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers.ansible import REPO, ansible_env

BIN = Path(sys.executable).parent


def requirement_lines(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def test_ansible_builder_create(tmp_path: Path):
    context = tmp_path / "context"
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(REPO / "execution-environment.yml"),
                           "-c", str(context)], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    pins = {line.split("==")[0]: line for line in requirement_lines(REPO / "requirements-test.txt") if "==" in line}
    assert pins["ansible-core"] in containerfile and pins["ansible-runner"] in containerfile
    collections = {c["name"]: c.get("version") for c in
                   yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]}
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    for name, version in galaxy["dependencies"].items():
        assert collections[name] == version
    assert "awx.awx" in collections
    assert requirement_lines(context / "_build" / "requirements.txt") == requirement_lines(REPO / "requirements.txt")


def test_collection_declares_its_python_dependencies():
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert (REPO / meta["dependencies"]["python"]).is_file()
    proc = subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", str(REPO / "collections")],
                          env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])["python"]
    declared = requirement_lines(REPO / "requirements.txt")
    assert sorted(line.split("#")[0].strip() for line in found) == sorted(declared)
