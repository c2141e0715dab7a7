"""Debian's real InfluxDB 1.6.7 (``influxd``) as a test oracle for the line-protocol parser.

``ensure_influxd()`` returns the path of ``/usr/bin/influxd``, installing Debian's ``influxdb``
package first when it is missing and we run as root (``apt-get update`` then
``apt-get install -y --no-install-recommends influxdb``).  While installing, a temporary
``/usr/sbin/policy-rc.d`` that exits 101 keeps the package's postinst from starting a system-wide
``influxd`` (which would listen on ``:8086``/``:8088`` on every address); an existing policy file
is left untouched.  When not root and not installed, ``InfluxdUnavailable`` says why, and the
tests skip with that reason.

``Influxd1`` runs one private server: every listener on 127.0.0.1 on a port obtained by binding
port 0, data/meta/wal in a temporary directory, reporting and self-monitoring disabled.  It waits
for ``/ping`` and is stopped by its PID (``stop()``, also from ``__exit__``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Self

INFLUXD = "/usr/bin/influxd"
_POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


class InfluxdUnavailable(RuntimeError):
    """influxd is not installed and cannot be installed here (the message is the skip reason)."""


def ensure_influxd() -> str:
    """Return the influxd path, installing Debian's package when missing and we are root."""
    if os.path.exists(INFLUXD):
        return INFLUXD
    if os.geteuid() != 0:
        raise InfluxdUnavailable(
            f"{INFLUXD} is not installed and we are not root, so Debian's 'influxdb' package "
            "cannot be installed (run as root, or: apt-get install influxdb)"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    placed_policy = False
    if not _POLICY_RC_D.exists():
        # Keep the postinst from starting a system-wide daemon on public addresses.
        _POLICY_RC_D.write_text(
            "#!/bin/sh\n# temporary, written by tests/sandbox/influxd1.py\nexit 101\n"
        )
        _POLICY_RC_D.chmod(0o755)
        placed_policy = True
    try:
        for cmd in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", "influxdb"],
        ):
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=600, check=False
            )
            if proc.returncode != 0:
                raise InfluxdUnavailable(
                    f"{' '.join(cmd)} failed (rc={proc.returncode}): {proc.stderr.strip()[-500:]}"
                )
    finally:
        if placed_policy:
            _POLICY_RC_D.unlink()
    if not os.path.exists(INFLUXD):
        raise InfluxdUnavailable(
            f"package 'influxdb' installed but {INFLUXD} is missing"
        )
    return INFLUXD


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  index-version = "inmem"
  query-log-enabled = false
  wal-fsync-delay = "0s"
  max-series-per-database = 0
  max-values-per-tag = 0

[coordinator]
  write-timeout = "10s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false
  https-enabled = false
  max-body-size = 0
  unix-socket-enabled = false

[logging]
  level = "error"
  suppress-logo = true

[ifql]
  enabled = false

[continuous_queries]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""


class Influxd1:
    """One private influxd 1.6.7 on 127.0.0.1; use as a context manager."""

    def __init__(self, binary: str | None = None, start_timeout: float = 30.0) -> None:
        self.binary = binary or ensure_influxd()
        self.start_timeout = start_timeout
        self.root: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.http_port = 0
        self.rpc_port = 0
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        last_error = ""
        for _attempt in range(
            3
        ):  # a port taken between probe and bind: try fresh ports
            self.root = tempfile.mkdtemp(prefix="influxd1-")
            self.http_port, self.rpc_port = _free_port(), _free_port()
            conf = Path(self.root, "influxdb.conf")
            conf.write_text(
                _CONFIG.format(
                    root=self.root, http_port=self.http_port, rpc_port=self.rpc_port
                )
            )
            with open(Path(self.root, "influxd.log"), "wb") as log:
                self.proc = subprocess.Popen(
                    [self.binary, "-config", str(conf)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            self.url = f"http://127.0.0.1:{self.http_port}"
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(self.url + "/ping", timeout=2) as resp:
                        if resp.status == 204:
                            return self
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.05)
            last_error = Path(self.root, "influxd.log").read_text(errors="replace")[
                -2000:
            ]
            self.stop()
        raise RuntimeError(f"influxd did not answer /ping: {last_error}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP --------------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, params: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "text/plain; charset=utf-8")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def write(self, db: str, body: bytes, precision: str = "n") -> tuple[int, str]:
        """POST /write; returns (status, error message or '')."""
        status, raw = self._request(
            "POST", "/write", {"db": db, "precision": precision}, body
        )
        message = ""
        if raw:
            try:
                message = json.loads(raw).get("error", "")
            except ValueError:
                message = raw.decode("utf-8", "replace")
        return status, message

    def query(self, q: str, db: str | None = None) -> list[dict[str, Any]]:
        """POST /query with epoch=ns; returns the ``results`` list (raises on HTTP errors)."""
        params = {"q": q, "epoch": "ns"}
        if db is not None:
            params["db"] = db
        status, raw = self._request("POST", "/query", params, b"")
        if status != 200:
            raise RuntimeError(f"query {q!r} failed: HTTP {status}: {raw[:500]!r}")
        return json.loads(raw)["results"]
