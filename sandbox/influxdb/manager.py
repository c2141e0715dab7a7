"""The real ``InstanceServerManager``: one sandbox InfluxDB v2 server per Timestream instance.

Each server runs as a thread of the calling process (the AWS sandbox), listens on 127.0.0.1 on a
free port (the instance's configured port, 8086 by default, cannot be shared by several
instances), and keeps its SQLite data under ``<state_dir>/instances/<instance id>``. It is
onboarded as Timestream for InfluxDB does: the instance's username, password, organization and
bucket; the operator token is created but never handed out: one signs in with the username and
password (``/api/v2/signin``) and creates tokens.

Backups are consistent SQLite copies under ``<state_dir>/backups/<backup id>``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from sandbox.instance_servers import InstanceAuth

from .server import InfluxServer
from .storage import DB_FILE
from .tls import TLSFiles, ensure_tls


class InfluxInstanceManager:
    def __init__(self, state_dir: Path, tls: bool = False, plain_tokens: bool = False):
        self.state_dir = Path(state_dir)
        self.plain_tokens = plain_tokens
        self.tls: TLSFiles | None = ensure_tls(self.state_dir / "tls") if tls else None
        self._servers: dict[str, InfluxServer] = {}
        self._lock = threading.RLock()

    @property
    def ca_path(self) -> Path | None:
        return self.tls.ca_cert if self.tls else None

    def data_dir(self, instance_id: str) -> Path:
        return self.state_dir / "instances" / instance_id

    def backup_dir(self, backup_id: str) -> Path:
        return self.state_dir / "backups" / backup_id

    def server(self, instance_id: str) -> InfluxServer | None:
        with self._lock:
            return self._servers.get(instance_id)

    def url(self, instance_id: str) -> str | None:
        srv = self.server(instance_id)
        return srv.url if srv else None

    def _launch(self, instance_id: str, auth: InstanceAuth | None) -> tuple[str, int]:
        srv = InfluxServer(self.data_dir(instance_id),
                           ssl_context=self.tls.server_context() if self.tls else None,
                           plain_tokens=self.plain_tokens)
        try:
            if auth is not None and not srv.store.is_setup():
                srv.setup(auth.username, auth.password, auth.organization, auth.bucket)
            host, port = srv.start()
        except BaseException:
            srv.stop()
            raise
        self._servers[instance_id] = srv
        return host, port

    def start(self, auth: InstanceAuth) -> tuple[str, int]:
        with self._lock:
            srv = self._servers.get(auth.instance_id)
            if srv is not None:
                return srv.host, srv.port
            return self._launch(auth.instance_id, auth)

    def stop(self, instance_id: str) -> None:
        with self._lock:
            srv = self._servers.pop(instance_id, None)
            if srv is not None:
                srv.stop()
            shutil.rmtree(self.data_dir(instance_id), ignore_errors=True)

    def stop_all(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        for srv in servers:
            srv.stop()

    def snapshot(self, instance_id: str, backup_id: str) -> None:
        with self._lock:
            target = self.backup_dir(backup_id)
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            srv = self._servers.get(instance_id)
            if srv is not None:
                srv.store.backup_to(target / DB_FILE)
                return
            source = self.data_dir(instance_id) / DB_FILE
            if source.exists():
                # a stopped server: its data file is closed and checkpointed
                shutil.copy2(source, target / DB_FILE)

    def restore(self, backup_id: str, auth: InstanceAuth) -> tuple[str, int]:
        with self._lock:
            running = self._servers.pop(auth.instance_id, None)
            if running is not None:  # restoring over a live instance replaces its data
                running.stop()
            source = self.backup_dir(backup_id) / DB_FILE
            data_dir = self.data_dir(auth.instance_id)
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            if source.exists():
                shutil.copy2(source, data_dir / DB_FILE)
                # the backup's users, orgs, buckets, tokens and points come back as they were
                return self._launch(auth.instance_id, None)
            return self._launch(auth.instance_id, auth)

    def delete_snapshot(self, backup_id: str) -> None:
        with self._lock:
            shutil.rmtree(self.backup_dir(backup_id), ignore_errors=True)
