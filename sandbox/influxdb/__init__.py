"""The sandbox InfluxDB v2 server (stand-in for the InfluxDB behind Timestream for InfluxDB).

- ``InfluxServer``: one server (``server.py``), state in SQLite (``storage.py``).
- ``install(state_dir)``: installs ``InfluxInstanceManager`` as the AWS sandbox's instance server
  manager (``sandbox/instance_servers.py``), so each sandbox Timestream instance gets a real
  server. TLS for the managed servers: ``install(state_dir, tls=True)`` or the environment
  variable ``SANDBOX_INFLUXDB_TLS=1``; the CA is then at ``<state_dir>/influxdb/tls/ca.pem``.
  Tokens: hashed by default (shown only when created, InfluxDB 2.8+); ``plain_tokens=True`` or
  ``SANDBOX_INFLUXDB_PLAIN_TOKENS=1`` gives InfluxDB 2.7's behaviour (reads return the token).
"""

from __future__ import annotations

import os
from pathlib import Path

from sandbox.instance_servers import install_manager

from .manager import InfluxInstanceManager
from .server import InfluxServer

__all__ = ["InfluxInstanceManager", "InfluxServer", "install"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def install(state_dir: Path, tls: bool | None = None, plain_tokens: bool | None = None) -> InfluxInstanceManager:
    if tls is None:
        tls = _env_flag("SANDBOX_INFLUXDB_TLS")
    if plain_tokens is None:
        plain_tokens = _env_flag("SANDBOX_INFLUXDB_PLAIN_TOKENS")
    manager = InfluxInstanceManager(Path(state_dir) / "influxdb", tls=tls, plain_tokens=plain_tokens)
    install_manager(manager)
    return manager
