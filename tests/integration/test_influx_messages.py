"""What the influx_* modules say when the connection goes wrong, reproduced against the sandbox InfluxDB.

Each situation is the one a new user met (issue 14): https:// to a server that speaks plain HTTP, a token or
password InfluxDB does not accept, a server that accepts the connection and never answers, a failure that is
not about InfluxDB at all. The message is asserted word for word where it tells the user what to do, and so is
what the failure carries besides it: InfluxDB's answer (``response``) and the exception behind it (``error``),
never a secret, never a key that carries nothing (``status: null``).

Several situations run as tasks of one playbook (``ignore_errors``), which keeps the file to a few
ansible-playbook runs.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.ansible import REPO, ansible_env, run_playbook
from tests.integration.test_influx_modules import (  # noqa: F401
    ADMIN_USER,
    FQ,
    ORG,
    InfluxServer,
    failed_cleanly,
    influx,  # pylint: disable=unused-import  # the fixture, used by name
)

pytestmark = pytest.mark.slow


def run_tasks(tmp_path: Path, tasks: dict[str, tuple[str, dict[str, Any]]], verbosity: int = 0
              ) -> tuple[dict[str, dict[str, Any]], str]:
    """Run ``{task name: (module, params)}`` as one playbook; return each task's result and the whole output."""
    play = [{"name": name, FQ + module: params, "ignore_errors": True} for name, (module, params) in tasks.items()]
    result = run_playbook(tmp_path, tasks=play, verbosity=verbosity)
    try:
        return {name: result.task(name) for name in tasks}, result.stdout + result.stderr
    except KeyError:
        raise AssertionError(f"playbook did not run: rc={result.rc}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung server, a firewall that swallows replies)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_connection_failures_say_what_to_do(influx: InfluxServer, tmp_path: Path, silent_server: str) -> None:
    assert influx.url.startswith("http://")
    https_url = "https://" + influx.url[len("http://"):]
    bad_token = "not-a-token-InfluxDB-knows"
    tasks = {
        "https to plain http": ("influx_bucket", influx.conn(url=https_url, name="x")),
        "https to plain http, validate_certs false": ("influx_bucket", influx.conn(
            url=https_url, name="x", validate_certs=False)),
        "token not accepted": ("influx_bucket", influx.conn(token=bad_token, name="x")),
        "password not accepted": ("influx_bucket", {"url": influx.url, "username": ADMIN_USER,
                                                    "password": "not-the-Passw0rd", "org": ORG, "name": "x"}),
        "silent server": ("influx_bucket", influx.conn(url=silent_server, name="x", timeout=1)),
        "option refused before any request": ("influx_bucket", influx.conn(name="x", retention="30")),
    }
    results, output = run_tasks(tmp_path, tasks, verbosity=3)

    for name in ("https to plain http", "https to plain http, validate_certs false"):
        msg = failed_cleanly(results[name])
        assert msg.startswith(f"TLS failure talking to {https_url} while looking up organization 'ons': "
                              "the server does not speak TLS on that port"), msg
        assert f"Use a url that starts with http://, such as {influx.url};" in msg, msg
        assert "set validate_certs=false" not in msg, msg
        assert "status" not in results[name] and "response" not in results[name]

    res = results["token not accepted"]
    msg = failed_cleanly(res)
    assert msg.startswith("InfluxDB did not accept the credentials (HTTP 401) while looking up organization 'ons': "
                          "unauthorized access."), msg
    assert "check token (or username and password)" in msg and "needs" not in msg, msg
    # what InfluxDB said, as fail_json_aws attaches AWS's answer
    assert res["status"] == 401
    assert res["response"]["status"] == 401
    assert res["response"]["body"] == {"code": "unauthorized", "message": "unauthorized access"}
    assert res["response"]["headers"]["x-platform-error-code"] == "unauthorized"
    assert res["error"] == {"type": "influxdb_client.rest.ApiException", "message": "(401) Unauthorized"}

    msg = failed_cleanly(results["password not accepted"])
    assert msg.startswith(f"Sign-in as user '{ADMIN_USER}' failed (HTTP 401): InfluxDB did not accept the username "
                          "or password; check username and password"), msg

    res = results["silent server"]
    msg = failed_cleanly(res)
    assert msg.startswith(f"Timed out waiting for {silent_server} while looking up organization 'ons': no answer "
                          "within 1 s (option timeout, in seconds, is 1). Raise timeout if the server is slow"), msg
    assert "status" not in res and "response" not in res
    assert res["error"]["type"] == "urllib3.exceptions.ReadTimeoutError"

    res = results["option refused before any request"]
    assert "retention must be a duration" in failed_cleanly(res)
    assert not {"status", "response", "error"} & set(res), res  # no stray `status: null`

    for secret in (influx.token, bad_token, "not-the-Passw0rd"):
        assert secret not in output
    assert "influxdb-oss-session" not in output


def test_failure_output_shows_influxdbs_answer_to_a_person(influx: InfluxServer, tmp_path: Path) -> None:
    """With the default output (not the json callback), a failed task shows what InfluxDB answered."""
    play = [{"name": "p", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "step", FQ + "influx_bucket": influx.conn(name="x" * 3, token="wrong-token-value")}]}]
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook),
                           "-vvv"], cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    failed = proc.stdout[proc.stdout.index("FAILED! => "):]  # this checkout's ansible.cfg: results as YAML
    assert "InfluxDB did not accept the credentials (HTTP 401)" in failed
    assert re.search(r"response:\n\s+body:\n\s+code: unauthorized\n\s+message: unauthorized access\n", failed), failed
    assert "wrong-token-value" not in proc.stdout + proc.stderr
