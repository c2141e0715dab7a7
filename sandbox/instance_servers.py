"""The seam between the sandbox's Timestream for InfluxDB instances and the InfluxDB v2 servers
that back them.

The AWS sandbox calls ``get_manager().start(...)`` when an instance becomes AVAILABLE for the first
time (after CREATING, or after a restore) and ``get_manager().stop(instance_id)`` when it is
deleted. CreateDbBackup calls ``snapshot``, RestoreFromDbBackup calls ``restore`` (instead of ``start``) and
DeleteDbBackup calls ``delete_snapshot``; an UpdateDbInstance that changes the port calls ``rebind``. ``start`` returns the (host, port) that GetDbInstance reports as the instance's endpoint
and port. ``install_manager`` replaces the manager (sandbox.influxdb installs the real one).

A DB cluster is started like an instance (its id in ``InstanceAuth.instance_id``, its configured
port): its one server answers at both the cluster's ``endpoint`` and its ``readerEndpoint``, so
what is written through the writer is read through the reader (see docs/architecture.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class InstanceAuth:
    """What Timestream for InfluxDB onboards a new instance with."""

    instance_id: str
    name: str
    username: str
    password: str
    organization: str
    bucket: str
    port: int


class InstanceServerManager(Protocol):
    def start(self, auth: InstanceAuth) -> tuple[str, int]:
        """Start (or reuse) the server for this instance; return (host, port)."""

    def stop(self, instance_id: str) -> None:
        """Stop the instance's server and forget its data. Unknown ids are ignored."""

    def stop_all(self) -> None:
        """Stop every server (sandbox shutdown)."""

    def rebind(self, instance_id: str, port: int) -> tuple[str, int]:
        """Move the instance's server to another port, keeping its data (UpdateDbInstance port)."""

    def snapshot(self, instance_id: str, backup_id: str) -> None:
        """Keep a copy of the instance's data under backup_id (CreateDbBackup)."""

    def restore(self, backup_id: str, auth: InstanceAuth) -> tuple[str, int]:
        """Start a server for a new instance from backup_id's data (RestoreFromDbBackup)."""

    def delete_snapshot(self, backup_id: str) -> None:
        """Forget a backup's data (DeleteDbBackup). Unknown ids are ignored."""


class NullManager:
    """No InfluxDB behind the instances: the endpoint is reported but nothing listens on it."""

    def start(self, auth: InstanceAuth) -> tuple[str, int]:
        return ("127.0.0.1", auth.port)

    def stop(self, instance_id: str) -> None:
        return None

    def stop_all(self) -> None:
        return None

    def rebind(self, instance_id: str, port: int) -> tuple[str, int]:
        return ("127.0.0.1", port)

    def snapshot(self, instance_id: str, backup_id: str) -> None:
        return None

    def restore(self, backup_id: str, auth: InstanceAuth) -> tuple[str, int]:
        return self.start(auth)

    def delete_snapshot(self, backup_id: str) -> None:
        return None


_lock = threading.Lock()
_manager: InstanceServerManager = NullManager()


def install_manager(manager: InstanceServerManager) -> None:
    global _manager
    with _lock:
        _manager = manager


def get_manager() -> InstanceServerManager:
    with _lock:
        return _manager
