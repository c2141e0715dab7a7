"""The real ``InstanceServerManager``: one sandbox InfluxDB v2 server per Timestream instance.

Each server runs as a thread of the calling process (the AWS sandbox) and keeps its SQLite data
under ``<state_dir>/instances/<instance id>``. It is onboarded as Timestream for InfluxDB does:
the instance's username, password, organization and bucket; the operator token is created but
never handed out: one signs in with the username and password (``/api/v2/signin``) and creates
tokens.

Addresses: on AWS every instance has its own endpoint host and listens on its configured port
(8086 by default), so several instances share a port number. Here each instance gets its own
loopback address (127.0.0.2, 127.0.0.3, ...: all of 127.0.0.0/8 is loopback on Linux; never a
non-loopback address, never 0.0.0.0) and its server listens on (that address, configured port):
GetDbInstance then reports the configured port, as AWS does. When (address, port) cannot be
bound (something else holds it, e.g. a process listening on 0.0.0.0:<port>, or another sandbox),
the next address is tried, up to ``max_bind_attempts`` addresses; then starting fails (the
instance becomes FAILED). An address is released when its instance is deleted and may be reused.
With TLS every address gets a certificate naming it (IP SAN), signed by the manager's CA.

Backups are consistent SQLite copies under ``<state_dir>/backups/<backup id>``.
"""

from __future__ import annotations

import errno
import ipaddress
import shutil
import sys
import threading
from pathlib import Path

from sandbox.instance_servers import InstanceAuth

from .server import InfluxServer
from .storage import DB_FILE
from .tls import TLSFiles, ensure_tls

FIRST_ADDRESS = "127.0.0.2"
MAX_BIND_ATTEMPTS = 64
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
# what "someone else holds this (address, port)" looks like; anything else is a real error
_TAKEN = {errno.EADDRINUSE, errno.EADDRNOTAVAIL}


class NoFreeAddressError(RuntimeError):
    """No loopback address could be bound with the wanted port."""


class ManagerClosedError(RuntimeError):
    """The manager was closed (sandbox shutdown): it starts no server any more."""


class InfluxInstanceManager:
    def __init__(self, state_dir: Path, tls: bool = False, plain_tokens: bool = False,
                 first_address: str = FIRST_ADDRESS, max_bind_attempts: int = MAX_BIND_ATTEMPTS):
        self.state_dir = Path(state_dir)
        self.plain_tokens = plain_tokens
        self.tls: TLSFiles | None = ensure_tls(self.state_dir / "tls") if tls else None
        first = ipaddress.IPv4Address(first_address)
        if first not in _LOOPBACK or first == _LOOPBACK.broadcast_address:
            raise ValueError(f"{first_address} is not a loopback address")
        if max_bind_attempts < 1:
            raise ValueError("max_bind_attempts must be at least 1")
        self.first_address = first
        self.max_bind_attempts = max_bind_attempts
        self._servers: dict[str, InfluxServer] = {}
        self._addresses: dict[str, str] = {}  # instance id -> its loopback address
        self._lock = threading.RLock()
        self._closed = False  # set by close(): no server starts afterwards

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

    def address(self, instance_id: str) -> str | None:
        """The loopback address the instance holds (None once deleted)."""
        with self._lock:
            return self._addresses.get(instance_id)

    # -- addresses ------------------------------------------------------------------------
    def _candidates(self, instance_id: str, prefer: str | None):
        """Addresses to try, lowest first, skipping those other instances hold."""
        held = {a for i, a in self._addresses.items() if i != instance_id}
        if prefer is not None and prefer not in held:
            yield prefer
        addr = self.first_address
        while addr < _LOOPBACK.broadcast_address:
            text = str(addr)
            if text not in held and text != prefer:
                yield text
            addr += 1

    def _listen(self, srv: InfluxServer, instance_id: str, port: int, prefer: str | None = None) -> None:
        """Bind ``srv`` to (an address of its own, port); records the address."""
        tried: list[str] = []
        for address in self._candidates(instance_id, prefer):
            if len(tried) >= self.max_bind_attempts:
                break
            tried.append(address)
            srv.host = address
            srv.requested_port = port
            if self.tls is not None:
                srv.ssl_context = self.tls.for_address(address).server_context()
            try:
                srv.bind()
            except OSError as exc:
                if exc.errno in _TAKEN:
                    continue
                raise
            self._addresses[instance_id] = address
            return
        raise NoFreeAddressError(
            f"port {port} is taken on every address tried ({tried[0]} to {tried[-1]}, {len(tried)} addresses)"
            if tried else f"no loopback address left for port {port}")

    def _new_server(self, instance_id: str) -> InfluxServer:
        return InfluxServer(self.data_dir(instance_id), plain_tokens=self.plain_tokens)

    def _launch(self, instance_id: str, port: int, auth: InstanceAuth | None,
                prefer: str | None = None) -> tuple[str, int]:
        srv = self._new_server(instance_id)
        try:
            if auth is not None and not srv.store.is_setup():
                srv.setup(auth.username, auth.password, auth.organization, auth.bucket)
            self._listen(srv, instance_id, port, prefer)
            host, port = srv.start()
        except BaseException:
            srv.stop()
            self._addresses.pop(instance_id, None)
            raise
        self._servers[instance_id] = srv
        return host, port

    def _check_open(self, instance_id: str) -> None:
        """Call with the lock held: once closed, no server starts (stop_all stays final)."""
        if self._closed:
            raise ManagerClosedError(f"instance {instance_id}: the instance-server manager is closed")

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    def close(self) -> None:
        """Sandbox shutdown: refuse to start servers from now on, then stop every server. A
        bring-up or restore still running elsewhere (the lifecycle scheduler) then fails instead
        of leaving a server listening after the shutdown. Idempotent."""
        with self._lock:
            self._closed = True
        self.stop_all()

    # -- the InstanceServerManager protocol ------------------------------------------------
    def start(self, auth: InstanceAuth) -> tuple[str, int]:
        with self._lock:
            self._check_open(auth.instance_id)
            srv = self._servers.get(auth.instance_id)
            if srv is not None:
                return srv.host, srv.port
            return self._launch(auth.instance_id, auth.port, auth)

    def rebind(self, instance_id: str, port: int) -> tuple[str, int]:
        """Restart the instance's server on (its address, port) with its data. If that cannot be
        bound, another address is taken (as for a new instance); if none can, the server is put
        back where it was (when possible) and the error is raised."""
        with self._lock:
            self._check_open(instance_id)
            srv = self._servers.get(instance_id)
            if srv is None:
                raise KeyError(f"no server for instance {instance_id}")
            if srv.port == port:
                return srv.host, srv.port
            address, old_port, observers = srv.host, srv.port, srv.observers
            del self._servers[instance_id]
            srv.stop()
            try:
                host, new_port = self._launch(instance_id, port, None, prefer=address)
            except BaseException:
                try:
                    self._launch(instance_id, old_port, None, prefer=address)
                    self._servers[instance_id].observers = observers
                except Exception as back:  # noqa: BLE001 - the original error is the one raised
                    print(f"instance {instance_id}: server not restored on {address}:{old_port}: {back}",
                          file=sys.stderr)
                raise
            self._servers[instance_id].observers = observers
            return host, new_port

    def stop(self, instance_id: str) -> None:
        with self._lock:
            srv = self._servers.pop(instance_id, None)
            if srv is not None:
                srv.stop()
            self._addresses.pop(instance_id, None)
            shutil.rmtree(self.data_dir(instance_id), ignore_errors=True)

    def stop_all(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            self._addresses.clear()
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
            self._check_open(auth.instance_id)
            running = self._servers.pop(auth.instance_id, None)
            if running is not None:  # restoring over a live instance replaces its data
                running.stop()
            prefer = self._addresses.get(auth.instance_id)
            source = self.backup_dir(backup_id) / DB_FILE
            data_dir = self.data_dir(auth.instance_id)
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            if source.exists():
                shutil.copy2(source, data_dir / DB_FILE)
                # the backup's users, orgs, buckets, tokens and points come back as they were
                return self._launch(auth.instance_id, auth.port, None, prefer)
            return self._launch(auth.instance_id, auth.port, auth, prefer)

    def delete_snapshot(self, backup_id: str) -> None:
        with self._lock:
            shutil.rmtree(self.backup_dir(backup_id), ignore_errors=True)
