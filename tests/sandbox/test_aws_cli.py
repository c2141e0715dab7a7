"""``python -m sandbox start|status|stop|serve`` as the Makefile and scripts/test.sh use them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sandbox.client import SandboxControl, boto3_client, wait_for

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def _sandbox(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_start_status_stop(tmp_path):
    state = tmp_path / "state"
    common = ["--state-dir", str(state)]
    try:
        assert _sandbox("status", *common).returncode == 1
        started = _sandbox(
            "start", "--port", "0", "--delay", "0", "--no-influx", *common
        )
        assert started.returncode == 0, started.stderr
        endpoint = started.stdout.strip().splitlines()[-1]
        assert endpoint.startswith("http://127.0.0.1:")
        pid = int((state / "aws.pid").read_text())
        assert SandboxControl(endpoint).health()["pid"] == pid

        status = _sandbox("status", *common)
        assert status.returncode == 0 and status.stdout.strip() == endpoint

        # it works as AWS
        assert "Vpcs" in boto3_client(endpoint, "ec2").describe_vpcs()

        # a second start finds it running and starts nothing
        again = _sandbox("start", "--port", "0", "--no-influx", *common)
        assert again.returncode == 0 and again.stdout.strip() == endpoint
        assert int((state / "aws.pid").read_text()) == pid

        stopped = _sandbox("stop", *common)
        assert stopped.returncode == 0
        wait_for(lambda: not _alive(pid), 20, what="sandbox process to exit")
        assert not (state / "aws.pid").exists()
        assert _sandbox("status", *common).returncode == 1
        assert "sandbox stopped" in (state / "aws.log").read_text()
        # stopping again is fine
        assert _sandbox("stop", *common).returncode == 0
    finally:
        _sandbox("stop", *common)


def test_start_replaces_a_stale_pidfile(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (state / "aws.pid").write_text(f"{dead.pid}\n")
    (state / "aws.json").write_text(
        json.dumps({"pid": dead.pid, "endpoint": "http://127.0.0.1:1"})
    )
    common = ["--state-dir", str(state)]
    try:
        assert _sandbox("status", *common).returncode == 1
        started = _sandbox("start", "--port", "0", "--no-influx", *common)
        assert started.returncode == 0, started.stderr
        assert int((state / "aws.pid").read_text()) != dead.pid
        assert _sandbox("status", *common).returncode == 0
    finally:
        assert _sandbox("stop", *common).returncode == 0


def test_serve_prints_ready_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--no-influx",
            "--state-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:")
        endpoint = line.split()[1]
        with urllib.request.urlopen(endpoint + "/_sandbox/health", timeout=10) as resp:
            assert json.loads(resp.read())["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "sandbox stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_start_fails_with_log_tail_when_the_port_is_taken(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        failed = _sandbox(
            "start", "--port", str(port), "--no-influx", "--state-dir", str(tmp_path)
        )
    assert failed.returncode == 1
    assert "log tail" in failed.stderr and "Address already in use" in failed.stderr
    assert not (tmp_path / "aws.pid").exists()


def test_stop_never_signals_an_unrelated_process(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "aws.pid").write_text(f"{bystander.pid}\n")
        result = _sandbox("stop", "--state-dir", str(tmp_path))
        assert result.returncode == 0
        assert "not this sandbox" in result.stderr
        assert bystander.poll() is None
        assert not (tmp_path / "aws.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()
