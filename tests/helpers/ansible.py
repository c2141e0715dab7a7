"""Run playbooks the way a user does (ansible-playbook, this checkout's ansible.cfg) and return
per-task results parsed from the ansible.posix.json callback.

    result = run_playbook(tmp_path, tasks=[{"name": "x", "ons.timestream_influxdb.foo": {...}}],
                          extra_vars={...}, check=True, diff=True)
    result.rc, result.task("x")["changed"], result.stdout
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    data: dict[str, Any] = field(default_factory=dict)

    def tasks(self) -> list[dict[str, Any]]:
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                host_results = task.get("hosts", {})
                res = next(iter(host_results.values()), {})
                out.append({"name": task["task"]["name"], **res})
        return out

    def task(self, name: str) -> dict[str, Any]:
        matches = [t for t in self.tasks() if t["name"] == name]
        if not matches:
            raise KeyError(f"no task named {name!r}; tasks: {[t['name'] for t in self.tasks()]}")
        return matches[-1]


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-* commands run from this checkout."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_HOME", str(REPO / ".ansible"))
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / "collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    if extra:
        env.update(extra)
    return env


def run_playbook(
    workdir: Path,
    tasks: list[dict[str, Any]] | None = None,
    playbook: Path | None = None,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    env: dict[str, str] | None = None,
    module_defaults: dict[str, Any] | None = None,
    timeout: int = 900,
) -> PlaybookResult:
    """Run either an inline list of tasks (on localhost) or an existing playbook file."""
    if playbook is None:
        play: dict[str, Any] = {
            "name": "test",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable},
            "tasks": tasks or [],
        }
        if module_defaults:
            play["module_defaults"] = module_defaults
        playbook = Path(workdir) / "playbook.yml"
        playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", "localhost,",
        str(playbook),
    ]
    if extra_vars:
        vars_file = Path(workdir) / "extra_vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd += ["-e", f"@{vars_file}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    run_env = ansible_env(env)
    run_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    run_env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    proc = subprocess.run(
        cmd, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    data: dict[str, Any] = {}
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):]) if "{" in proc.stdout else {}
    except ValueError:
        data = {}
    return PlaybookResult(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, data=data)
