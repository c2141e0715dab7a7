"""Integration tests of the influx_* modules against the sandbox InfluxDB v2 server.

Each test runs the modules through ansible-playbook (tests/helpers/ansible.py) and, after every step,
checks the server's real state through influxdb-client with the operator token: check mode changes
nothing, create, idempotent rerun, update, delete, idempotent delete. Also: a token without the right
permission gets a clear error, username/password sign-in creates an all-access token, secrets never
appear in output at -vvv, and TLS works with the server's CA through ca_path (and fails without it).

The server is `python -m sandbox.influxdb serve --port 0` (one per module of tests, one more for TLS),
stopped by its PID at the end.

Failures in the middle of a multi-request change (setting a new user's password, deleting a replaced token,
creating a replacement DBRP mapping) are produced by `FaultProxy`, an HTTP proxy in a thread of the test
process (127.0.0.1, port 0) that forwards to the sandbox server and answers chosen requests with an InfluxDB
error instead; it is shut down when the test ends.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from influxdb_client import Authorization, InfluxDBClient, Permission, PermissionResource
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from influxdb_client.service.dbr_ps_service import DBRPsService

from tests.helpers.ansible import REPO, run_playbook

pytestmark = pytest.mark.slow

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-Pa55word-for-tests"
ORG = "ons"
SETUP_BUCKET = "default"
FQ = "ons.timestream_influxdb."


@dataclass
class InfluxServer:
    proc: subprocess.Popen[bytes]
    url: str
    token: str | None
    ca_path: str | None

    def client(self, **kwargs: Any) -> InfluxDBClient:
        if "username" not in kwargs and "token" not in kwargs:
            kwargs["token"] = self.token
        if self.ca_path:
            kwargs.setdefault("ssl_ca_cert", self.ca_path)
        return InfluxDBClient(url=self.url, org=ORG, timeout=10_000, **kwargs)

    def conn(self, **extra: Any) -> dict[str, Any]:
        """Connection options for a module task (token auth)."""
        params: dict[str, Any] = {"url": self.url, "token": self.token, "org": ORG}
        if self.ca_path:
            params["ca_path"] = self.ca_path
        params.update(extra)
        return params


def _start_server(data_dir: Path, tls: bool = False) -> InfluxServer:
    out = data_dir / "server.out"
    cmd = [sys.executable, "-m", "sandbox.influxdb", "serve", "--port", "0", "--data-dir", str(data_dir / "data"),
           "--setup", f"{ADMIN_USER}:{ADMIN_PASSWORD}:{ORG}:{SETUP_BUCKET}"]
    if tls:
        cmd.append("--tls")
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=stdout, stderr=subprocess.STDOUT)  # noqa: S603
    fields: dict[str, str] = {}
    deadline = time.monotonic() + 60
    wanted = {"READY", "TOKEN"} | ({"CA"} if tls else set())
    while time.monotonic() < deadline:
        for line in out.read_text(errors="replace").splitlines():
            key, _sep, value = line.partition(" ")
            if key in wanted:
                fields[key] = value.strip()
        if wanted <= set(fields):
            return InfluxServer(proc=proc, url=fields["READY"], token=fields["TOKEN"], ca_path=fields.get("CA"))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    _stop_server(proc)
    raise RuntimeError("sandbox InfluxDB server did not start: " + out.read_text(errors="replace")[-2000:])


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = _start_server(tmp_path_factory.mktemp("influx"))
    try:
        yield server
    finally:
        _stop_server(server.proc)


@pytest.fixture(scope="module")
def influx_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = _start_server(tmp_path_factory.mktemp("influx-tls"), tls=True)
    try:
        yield server
    finally:
        _stop_server(server.proc)


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and the path regex with an InfluxDB error."""

    method: str
    path: str
    times: int = 1
    status: int = 500
    body: dict[str, str] = field(default_factory=lambda: {"code": "internal error",
                                                          "message": "injected failure for the test"})
    hits: int = 0


class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, faults: list[Fault]) -> None:
        parts = urllib.parse.urlsplit(upstream)
        assert parts.scheme == "http", upstream
        self.upstream = (parts.hostname, parts.port)
        self.faults = faults
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            self.seen.append((method, path))
            for fault in self.faults:
                if fault.method == method and re.fullmatch(fault.path, path) and fault.hits < fault.times:
                    fault.hits += 1
                    return fault
        return None


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FaultProxy
    HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host",
                            "proxy-connection"})

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = self.server.fault_for(self.command, urllib.parse.urlsplit(self.path).path)
        if fault is not None:
            payload = json.dumps(fault.body).encode()
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("X-Platform-Error-Code", fault.body.get("code", ""))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self.HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in self.HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # BaseHTTPRequestHandler's signature
        pass


@contextmanager
def fault_proxy(influx: InfluxServer, *faults: Fault) -> Iterator[FaultProxy]:
    proxy = FaultProxy(influx.url, list(faults))
    thread = threading.Thread(target=proxy.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)


def run(tmp_path: Path, module: str, params: dict[str, Any], check: bool = False, diff: bool = True,
        verbosity: int = 0, no_log: bool = False) -> dict[str, Any]:
    task: dict[str, Any] = {"name": "step", FQ + module: params, "ignore_errors": True}
    if no_log:
        task["no_log"] = True
    result = run_playbook(tmp_path, tasks=[task], check=check, diff=diff, verbosity=verbosity)
    try:
        return result.task("step")
    except KeyError:
        raise AssertionError(f"playbook did not run: rc={result.rc}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def ok(res: dict[str, Any]) -> dict[str, Any]:
    assert not res.get("failed"), res.get("msg")
    return res


def failed_cleanly(res: dict[str, Any]) -> str:
    """The task failed with a message, not a Python traceback."""
    assert res.get("failed"), res
    msg = res["msg"]
    assert "Traceback" not in msg and "Traceback" not in str(res.get("module_stderr", "")), res
    assert "MODULE FAILURE" not in msg, res
    return msg


# -- server state through influxdb-client ------------------------------------------------------

def org_id(influx: InfluxServer) -> str:
    with influx.client() as client:
        return client.organizations_api().find_organizations(org=ORG)[0].id


def get_bucket(influx: InfluxServer, name: str) -> Any:
    with influx.client() as client:
        return client.buckets_api().find_bucket_by_name(name)


def get_org(influx: InfluxServer, name: str) -> Any:
    with influx.client() as client:
        orgs = client.organizations_api().find_organizations()
    return next((o for o in orgs if o.name == name), None)


def get_user(influx: InfluxServer, name: str) -> Any:
    with influx.client() as client:
        try:
            users = client.users_api().find_users(name=name).users or []
        except ApiException as exc:
            if exc.status == 404:  # InfluxDB answers a lookup by a name it does not know with 404
                return None
            raise
    return next((u for u in users if u.name == name), None)


def get_auths(influx: InfluxServer, description: str) -> list[Any]:
    with influx.client() as client:
        auths = client.authorizations_api().find_authorizations(org_id=org_id(influx))
    return [a for a in auths if a.description == description]


def get_dbrps(influx: InfluxServer, database: str) -> list[dict[str, Any]]:
    with influx.client() as client:
        dbrps = DBRPsService(client.api_client).get_dbr_ps(org_id=org_id(influx), db=database).content or []
    return [d for d in dbrps if d.database == database and not d.virtual]


def can_sign_in(influx: InfluxServer, username: str, password: str) -> bool:
    try:
        with influx.client(username=username, password=password) as client:
            client.users_api().me()
        return True
    except ApiException as exc:
        assert exc.status in (401, 403), exc
        return False


# -- influx_bucket -------------------------------------------------------------------------------

def test_bucket_lifecycle(influx: InfluxServer, tmp_path: Path) -> None:
    params = influx.conn(name="telemetry", description="raw telemetry", retention="30d")

    res = run(tmp_path, "influx_bucket", params, check=True)
    assert ok(res)["changed"] is True
    assert res["bucket"]["id"] is None and res["bucket"]["retention_seconds"] == 30 * 86400
    assert get_bucket(influx, "telemetry") is None, "check mode created the bucket"

    res = run(tmp_path, "influx_bucket", params)
    assert ok(res)["changed"] is True
    assert res["diff"]["before"] == {} and res["diff"]["after"]["retention"] == "30d"  # as the task wrote it
    assert res["bucket"]["retention"] == "4w2d"
    bucket = get_bucket(influx, "telemetry")
    assert bucket is not None and bucket.id == res["bucket"]["id"]
    assert bucket.description == "raw telemetry"
    assert bucket.retention_rules[0].every_seconds == 30 * 86400
    updated_at = bucket.updated_at

    res = run(tmp_path, "influx_bucket", params)
    assert ok(res)["changed"] is False
    assert get_bucket(influx, "telemetry").updated_at == updated_at, "an idempotent run wrote to the bucket"

    update = dict(params, retention="1w", shard_group_duration="1d", description="")
    res = run(tmp_path, "influx_bucket", update, check=True)
    assert ok(res)["changed"] is True and res["bucket"]["retention"] == "1w"
    assert get_bucket(influx, "telemetry").retention_rules[0].every_seconds == 30 * 86400

    res = run(tmp_path, "influx_bucket", update)
    assert ok(res)["changed"] is True
    assert res["diff"]["before"]["retention"] == "4w2d" and res["diff"]["after"]["retention"] == "1w"
    assert res["diff"]["after"]["shard_group_duration"] == "1d"
    bucket = get_bucket(influx, "telemetry")
    assert bucket.retention_rules[0].every_seconds == 604800
    assert bucket.retention_rules[0].shard_group_duration_seconds == 86400
    assert not bucket.description

    res = run(tmp_path, "influx_bucket", dict(update))
    assert ok(res)["changed"] is False

    res = run(tmp_path, "influx_bucket", dict(params, retention="infinite"))
    assert ok(res)["changed"] is True
    assert get_bucket(influx, "telemetry").retention_rules[0].every_seconds == 0
    res = run(tmp_path, "influx_bucket", dict(params, retention="0"))
    assert ok(res)["changed"] is False

    absent = influx.conn(name="telemetry", state="absent")
    res = run(tmp_path, "influx_bucket", absent, check=True)
    assert ok(res)["changed"] is True
    assert get_bucket(influx, "telemetry") is not None, "check mode deleted the bucket"

    res = run(tmp_path, "influx_bucket", absent)
    assert ok(res)["changed"] is True and res["diff"]["after"] == {}
    assert get_bucket(influx, "telemetry") is None

    res = run(tmp_path, "influx_bucket", absent)
    assert ok(res)["changed"] is False


def test_bucket_found_by_name_beyond_the_first_page(influx: InfluxServer, tmp_path: Path) -> None:
    """More buckets than one page (100): the module must still find an existing one by name."""
    oid = org_id(influx)
    with influx.client() as client:
        api = client.buckets_api()
        for i in range(105):
            api.create_bucket(bucket_name=f"page-{i:03d}", org=oid)
    res = run(tmp_path, "influx_bucket", influx.conn(name="page-104"))
    assert ok(res)["changed"] is False
    assert res["bucket"]["id"] == get_bucket(influx, "page-104").id
    # the organization may be given by id as well as by name
    res = run(tmp_path, "influx_bucket", influx.conn(name="page-103", org=oid))
    assert ok(res)["changed"] is False and res["bucket"]["org_id"] == oid


def test_bucket_bad_input_fails_before_any_request(influx: InfluxServer, tmp_path: Path) -> None:
    # The url points at a closed port: if the module made a request, the error would be about the connection.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    res = run(tmp_path, "influx_bucket", influx.conn(url=closed_url, name="x", retention="30"))
    assert "retention" in failed_cleanly(res) and "Cannot reach" not in res["msg"]
    res = run(tmp_path, "influx_bucket", influx.conn(url=closed_url, name="_system"))
    assert "name" in failed_cleanly(res)

    res = run(tmp_path, "influx_bucket", influx.conn(url=closed_url, name="x"))
    assert "Cannot reach InfluxDB at " + closed_url in failed_cleanly(res)

    res = run(tmp_path, "influx_bucket", {"url": influx.url, "org": ORG, "name": "x"})
    assert "credentials" in failed_cleanly(res)

    res = run(tmp_path, "influx_bucket", influx.conn(token="not-a-valid-token", name="x"))
    msg = failed_cleanly(res)
    assert "401" in msg or "nauthorized" in msg


def test_missing_permission_gives_a_clear_error(influx: InfluxServer, tmp_path: Path) -> None:
    oid = org_id(influx)
    read_only = [{"action": "read", "resource": "orgs"}, {"action": "read", "resource": "buckets"}]
    res = run(tmp_path, "influx_auth", influx.conn(description="read only", permissions=read_only))
    token = ok(res)["token"]
    assert len(get_auths(influx, "read only")) == 1

    res = run(tmp_path, "influx_bucket", influx.conn(token=token, name="forbidden-bucket"))
    msg = failed_cleanly(res)
    assert "creating bucket 'forbidden-bucket'" in msg
    assert "write:orgs/%s/buckets" % oid in msg
    assert get_bucket(influx, "forbidden-bucket") is None

    # a token that cannot read users: the message names the permission InfluxDB asked for
    res = run(tmp_path, "influx_user", influx.conn(token=token, name="nobody"))
    msg = failed_cleanly(res)
    assert "users" in msg and ("401" in msg or "403" in msg or "denied" in msg.lower()), msg
    assert get_user(influx, "nobody") is None


def test_bucket_scoped_token_works_with_org_id(influx: InfluxServer, tmp_path: Path) -> None:
    """Least privilege: a token with bucket permissions only (no read:orgs) manages buckets given the org id."""
    oid = org_id(influx)
    buckets_only = [{"action": "read", "resource": "buckets"}, {"action": "write", "resource": "buckets"}]
    token = ok(run(tmp_path, "influx_auth", influx.conn(description="buckets only", permissions=buckets_only)))["token"]

    res = run(tmp_path, "influx_bucket", influx.conn(token=token, org=oid, name="scoped", retention="3d"))
    assert ok(res)["changed"] is True
    assert get_bucket(influx, "scoped").retention_rules[0].every_seconds == 3 * 86400
    res = run(tmp_path, "influx_bucket", influx.conn(token=token, org=oid, name="scoped", retention="3d"))
    assert ok(res)["changed"] is False

    res = run(tmp_path, "influx_bucket", influx.conn(token=token, org=ORG, name="scoped"))
    assert "read:orgs" in failed_cleanly(res)


# -- influx_org ----------------------------------------------------------------------------------

def test_org_lifecycle(influx: InfluxServer, tmp_path: Path) -> None:
    params = influx.conn(name="platform", description="ONS data platform")
    res = run(tmp_path, "influx_org", params, check=True)
    assert ok(res)["changed"] is True and get_org(influx, "platform") is None

    res = run(tmp_path, "influx_org", params)
    assert ok(res)["changed"] is True
    org = get_org(influx, "platform")
    assert org is not None and org.id == res["org"]["id"] and org.description == "ONS data platform"

    res = run(tmp_path, "influx_org", params)
    assert ok(res)["changed"] is False
    assert get_org(influx, "platform").updated_at == org.updated_at

    res = run(tmp_path, "influx_org", dict(params, description="renamed team"))
    assert ok(res)["changed"] is True
    assert res["diff"] == {"before": {"name": "platform", "description": "ONS data platform"},
                           "after": {"name": "platform", "description": "renamed team"}}
    assert get_org(influx, "platform").description == "renamed team"

    absent = influx.conn(name="platform", state="absent")
    res = run(tmp_path, "influx_org", absent, check=True)
    assert ok(res)["changed"] is True and get_org(influx, "platform") is not None
    res = run(tmp_path, "influx_org", absent)
    assert ok(res)["changed"] is True and get_org(influx, "platform") is None
    res = run(tmp_path, "influx_org", absent)
    assert ok(res)["changed"] is False


# -- influx_user ---------------------------------------------------------------------------------

def test_user_lifecycle(influx: InfluxServer, tmp_path: Path) -> None:
    first, second = "first-Pa55word", "second-Pa55word"
    params = influx.conn(name="ingest", user_password=first)
    res = run(tmp_path, "influx_user", params, check=True)
    assert ok(res)["changed"] is True and get_user(influx, "ingest") is None

    res = run(tmp_path, "influx_user", params)
    assert ok(res)["changed"] is True and res["password_changed"] is True
    user = get_user(influx, "ingest")
    assert user is not None and user.id == res["user"]["id"] and user.status == "active"
    assert can_sign_in(influx, "ingest", first)

    # on_create: a different password is not applied to an existing user
    res = run(tmp_path, "influx_user", dict(params, user_password=second))
    assert ok(res)["changed"] is False
    assert can_sign_in(influx, "ingest", first)

    # always: the same password is recognised (no change), a new one is set
    res = run(tmp_path, "influx_user", dict(params, update_password="always"))
    assert ok(res)["changed"] is False
    res = run(tmp_path, "influx_user", dict(params, user_password=second, update_password="always"), check=True)
    assert ok(res)["changed"] is True and res["password_changed"] is True
    assert can_sign_in(influx, "ingest", first)
    res = run(tmp_path, "influx_user", dict(params, user_password=second, update_password="always"))
    assert ok(res)["changed"] is True
    assert can_sign_in(influx, "ingest", second) and not can_sign_in(influx, "ingest", first)

    res = run(tmp_path, "influx_user", influx.conn(name="ingest", status="inactive"))
    assert ok(res)["changed"] is True
    assert res["diff"]["before"]["status"] == "active" and res["diff"]["after"]["status"] == "inactive"
    assert get_user(influx, "ingest").status == "inactive"
    res = run(tmp_path, "influx_user", influx.conn(name="ingest", status="inactive"))
    assert ok(res)["changed"] is False

    absent = influx.conn(name="ingest", state="absent")
    res = run(tmp_path, "influx_user", absent, check=True)
    assert ok(res)["changed"] is True and get_user(influx, "ingest") is not None
    res = run(tmp_path, "influx_user", absent)
    assert ok(res)["changed"] is True and get_user(influx, "ingest") is None
    res = run(tmp_path, "influx_user", absent)
    assert ok(res)["changed"] is False


# -- influx_auth ---------------------------------------------------------------------------------

def _write_point(influx: InfluxServer, token: str, bucket: str) -> None:
    with influx.client(token=token) as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket=bucket, org=ORG, record="m,host=a value=1i")


def test_auth_lifecycle(influx: InfluxServer, tmp_path: Path) -> None:
    ok(run(tmp_path, "influx_bucket", influx.conn(name="lambda-data")))
    oid = org_id(influx)
    bucket_id = get_bucket(influx, "lambda-data").id
    write_only = [{"action": "write", "resource": "buckets", "name": "lambda-data"}]
    params = influx.conn(description="lambda ingest", permissions=write_only)

    res = run(tmp_path, "influx_auth", params, check=True)
    assert ok(res)["changed"] is True and "token" not in res
    assert get_auths(influx, "lambda ingest") == []

    res = run(tmp_path, "influx_auth", params)
    assert ok(res)["changed"] is True and res["replaced"] is False
    token = res["token"]
    auths = get_auths(influx, "lambda ingest")
    assert [a.id for a in auths] == [res["authorization"]["id"]]
    perms = [(p.action, p.resource.type, p.resource.id, p.resource.org_id) for p in auths[0].permissions]
    assert perms == [("write", "buckets", bucket_id, oid)]
    _write_point(influx, token, "lambda-data")  # the returned token really works
    first_id = auths[0].id

    res = run(tmp_path, "influx_auth", params)
    assert ok(res)["changed"] is False and "token" not in res
    assert [a.id for a in get_auths(influx, "lambda ingest")] == [first_id]

    # permission change: a new authorization replaces the old one, whose token stops working
    read_write = write_only + [{"action": "read", "resource": "buckets", "id": bucket_id}]
    res = run(tmp_path, "influx_auth", dict(params, permissions=read_write), check=True)
    assert ok(res)["changed"] is True and res["replaced"] is True
    assert [a.id for a in get_auths(influx, "lambda ingest")] == [first_id]

    res = run(tmp_path, "influx_auth", dict(params, permissions=read_write))
    assert ok(res)["changed"] is True and res["replaced"] is True and res["replaced_id"] == first_id
    new_token = res["token"]
    auths = get_auths(influx, "lambda ingest")
    assert len(auths) == 1 and auths[0].id != first_id
    assert {(p.action, p.resource.id) for p in auths[0].permissions} == {("write", bucket_id), ("read", bucket_id)}
    with pytest.raises(ApiException) as err:
        _write_point(influx, token, "lambda-data")
    assert err.value.status == 401
    _write_point(influx, new_token, "lambda-data")

    # order of permissions does not matter
    res = run(tmp_path, "influx_auth", dict(params, permissions=list(reversed(read_write))))
    assert ok(res)["changed"] is False

    res = run(tmp_path, "influx_auth", dict(params, permissions=read_write, status="inactive"))
    assert ok(res)["changed"] is True and res["replaced"] is False and "token" not in res
    assert get_auths(influx, "lambda ingest")[0].status == "inactive"

    absent = influx.conn(description="lambda ingest", state="absent")
    res = run(tmp_path, "influx_auth", absent, check=True)
    assert ok(res)["changed"] is True and len(get_auths(influx, "lambda ingest")) == 1
    res = run(tmp_path, "influx_auth", absent)
    assert ok(res)["changed"] is True and get_auths(influx, "lambda ingest") == []
    res = run(tmp_path, "influx_auth", absent)
    assert ok(res)["changed"] is False


def test_auth_duplicate_descriptions_are_refused(influx: InfluxServer, tmp_path: Path) -> None:
    oid = org_id(influx)
    with influx.client() as client:
        api = client.authorizations_api()
        for _copy in range(2):
            api.create_authorization(authorization=Authorization(
                org_id=oid, description="twin",
                permissions=[Permission(action="read", resource=PermissionResource(type="buckets", org_id=oid))]))
    res = run(tmp_path, "influx_auth", influx.conn(description="twin", state="absent"))
    assert "unique" in failed_cleanly(res)
    assert len(get_auths(influx, "twin")) == 2


def test_signin_with_username_password_creates_all_access_token(influx: InfluxServer, tmp_path: Path) -> None:
    params = {"url": influx.url, "username": ADMIN_USER, "password": ADMIN_PASSWORD, "org": ORG,
              "description": "bootstrap all-access", "all_access": True}
    res = run(tmp_path, "influx_auth", params)
    assert ok(res)["changed"] is True
    token = res["token"]
    auths = get_auths(influx, "bootstrap all-access")
    assert len(auths) == 1
    granted = {(p.action, p.resource.type) for p in auths[0].permissions}
    assert {("read", "buckets"), ("write", "buckets"), ("write", "authorizations"), ("read", "orgs")} <= granted
    # the new token can manage the organization: create a bucket with it through the module
    res = run(tmp_path, "influx_bucket", influx.conn(token=token, name="made-with-new-token"))
    assert ok(res)["changed"] is True and get_bucket(influx, "made-with-new-token") is not None

    res = run(tmp_path, "influx_auth", params)
    assert ok(res)["changed"] is False and "token" not in res

    res = run(tmp_path, "influx_auth", dict(params, password="wrong-password-1"))
    assert "Sign-in as user 'admin' failed" in failed_cleanly(res)


# -- influx_dbrp ---------------------------------------------------------------------------------

def test_dbrp_lifecycle(influx: InfluxServer, tmp_path: Path) -> None:
    ok(run(tmp_path, "influx_bucket", influx.conn(name="legacy-a")))
    ok(run(tmp_path, "influx_bucket", influx.conn(name="legacy-b")))
    bucket_a, bucket_b = get_bucket(influx, "legacy-a").id, get_bucket(influx, "legacy-b").id
    params = influx.conn(database="legacydb", retention_policy="autogen", bucket="legacy-a", default=True)

    res = run(tmp_path, "influx_dbrp", params, check=True)
    assert ok(res)["changed"] is True and get_dbrps(influx, "legacydb") == []

    res = run(tmp_path, "influx_dbrp", params)
    assert ok(res)["changed"] is True
    dbrps = get_dbrps(influx, "legacydb")
    assert len(dbrps) == 1 and dbrps[0].bucket_id == bucket_a and dbrps[0].default is True
    assert dbrps[0].retention_policy == "autogen"

    res = run(tmp_path, "influx_dbrp", params)
    assert ok(res)["changed"] is False
    assert [d.id for d in get_dbrps(influx, "legacydb")] == [dbrps[0].id]

    res = run(tmp_path, "influx_dbrp", dict(params, default=False))
    assert ok(res)["changed"] is True and res["replaced"] is False
    assert get_dbrps(influx, "legacydb")[0].default is False

    res = run(tmp_path, "influx_dbrp", dict(params, default=False, bucket="legacy-b"), check=True)
    assert ok(res)["changed"] is True and res["replaced"] is True
    assert get_dbrps(influx, "legacydb")[0].bucket_id == bucket_a
    res = run(tmp_path, "influx_dbrp", dict(params, default=False, bucket=bucket_b))
    assert ok(res)["changed"] is True and res["replaced"] is True
    dbrps = get_dbrps(influx, "legacydb")
    assert len(dbrps) == 1 and dbrps[0].bucket_id == bucket_b

    absent = influx.conn(database="legacydb", retention_policy="autogen", state="absent")
    res = run(tmp_path, "influx_dbrp", absent, check=True)
    assert ok(res)["changed"] is True and len(get_dbrps(influx, "legacydb")) == 1
    res = run(tmp_path, "influx_dbrp", absent)
    assert ok(res)["changed"] is True and get_dbrps(influx, "legacydb") == []
    res = run(tmp_path, "influx_dbrp", absent)
    assert ok(res)["changed"] is False


# -- failures in the middle of a change, wrong url ---------------------------------------------------

def test_wrong_url_is_an_error_not_absence(influx: InfluxServer, tmp_path: Path) -> None:
    """A url with a path (e.g. ending in /api/v2) must never make an existing resource read as absent."""
    ok(run(tmp_path, "influx_bucket", influx.conn(name="behind-wrong-url")))
    bucket_id = get_bucket(influx, "behind-wrong-url").id

    # the common mistake is refused before any request, naming url
    for url in (influx.url + "/api/v2", influx.url + "/api/v2/"):
        msg = failed_cleanly(run(tmp_path, "influx_bucket", influx.conn(url=url, name="behind-wrong-url",
                                                                        state="absent")))
        assert "url" in msg and "/api/v2" in msg, msg
    # any other path the server does not have: the 404 "path not found" is an error naming url, not "absent"
    wrong = influx.url + "/influxdb"
    msg = failed_cleanly(run(tmp_path, "influx_bucket", influx.conn(url=wrong, name="behind-wrong-url",
                                                                    state="absent")))
    assert wrong in msg and "check url" in msg, msg
    assert "Organization" not in msg  # not the misleading "Organization 'ons' not found"
    msg = failed_cleanly(run(tmp_path, "influx_bucket", influx.conn(url=wrong, name="behind-wrong-url",
                                                                    org=org_id(influx), state="absent")))
    assert "check url" in msg, msg
    assert get_bucket(influx, "behind-wrong-url").id == bucket_id

    # check mode must not predict a create either; the same for the modules without an org
    msg = failed_cleanly(run(tmp_path, "influx_bucket", influx.conn(url=wrong, name="behind-wrong-url"), check=True))
    assert "check url" in msg, msg
    for module, params in (("influx_org", {"name": ORG, "state": "absent"}),
                           ("influx_user", {"name": ADMIN_USER, "state": "absent"}),
                           ("influx_auth", {"description": "x", "state": "absent"}),
                           ("influx_dbrp", {"database": "x", "state": "absent"})):
        msg = failed_cleanly(run(tmp_path, module, influx.conn(url=wrong, **params)))
        assert "check url" in msg, (module, msg)
    assert get_org(influx, ORG) is not None and get_user(influx, ADMIN_USER) is not None


def test_user_too_long_password_fails_before_any_request(influx: InfluxServer, tmp_path: Path) -> None:
    res = run(tmp_path, "influx_user", influx.conn(name="long-password", user_password="L0ng-" * 15))
    msg = failed_cleanly(res)
    assert "user_password" in msg and "72" in msg, msg
    assert get_user(influx, "long-password") is None


def test_user_is_deleted_again_when_its_password_cannot_be_set(influx: InfluxServer, tmp_path: Path) -> None:
    password = "half-made-Pa55word"
    params = influx.conn(name="half-made", user_password=password)
    with fault_proxy(influx, Fault("POST", r"/api/v2/users/[0-9a-f]{16}/password")) as proxy:
        res = run(tmp_path, "influx_user", dict(params, url=proxy.url))
    assert ("POST", "/api/v2/users") in proxy.seen  # the user really was created before the failure
    msg = failed_cleanly(res)
    assert "injected failure" in msg and "deleted again" in msg, msg
    assert password not in str(res)
    assert get_user(influx, "half-made") is None

    # the rerun creates the user with its password (before the fix it reported ok, leaving no password)
    res = run(tmp_path, "influx_user", params)
    assert ok(res)["changed"] is True and res["password_changed"] is True
    assert can_sign_in(influx, "half-made", password)


def test_auth_replace_rolls_back_when_the_old_one_cannot_be_deleted(influx: InfluxServer, tmp_path: Path) -> None:
    read_only = [{"action": "read", "resource": "buckets"}]
    params = influx.conn(description="rollback probe", permissions=read_only)
    res = run(tmp_path, "influx_auth", params)
    old_id, old_token = ok(res)["authorization"]["id"], res["token"]

    read_write = read_only + [{"action": "write", "resource": "buckets"}]
    with fault_proxy(influx, Fault("DELETE", rf"/api/v2/authorizations/{old_id}")) as proxy:
        res = run(tmp_path, "influx_auth", dict(params, permissions=read_write, url=proxy.url))
    assert ("POST", "/api/v2/authorizations") in proxy.seen
    msg = failed_cleanly(res)
    assert "injected failure" in msg and "Rolled back" in msg and old_id in msg, msg
    assert "token" not in res
    auths = get_auths(influx, "rollback probe")
    assert [a.id for a in auths] == [old_id], "the new authorization was left behind"
    with influx.client(token=old_token) as client:
        assert client.buckets_api().find_buckets().buckets  # the old token still works

    # the next run is not blocked by two authorizations with the description: it replaces the old one
    res = run(tmp_path, "influx_auth", dict(params, permissions=read_write))
    assert ok(res)["changed"] is True and res["replaced"] is True and res["replaced_id"] == old_id
    auths = get_auths(influx, "rollback probe")
    assert [a.id for a in auths] == [res["authorization"]["id"]]
    assert {(p.action, p.resource.type) for p in auths[0].permissions} == {("read", "buckets"), ("write", "buckets")}


def test_dbrp_replace_recreates_the_old_mapping_when_create_fails(influx: InfluxServer, tmp_path: Path) -> None:
    ok(run(tmp_path, "influx_bucket", influx.conn(name="mapped-a")))
    ok(run(tmp_path, "influx_bucket", influx.conn(name="mapped-b")))
    bucket_a, bucket_b = get_bucket(influx, "mapped-a").id, get_bucket(influx, "mapped-b").id
    params = influx.conn(database="mappeddb", retention_policy="autogen", bucket="mapped-a", default=True)
    ok(run(tmp_path, "influx_dbrp", params))
    old_id = get_dbrps(influx, "mappeddb")[0].id

    with fault_proxy(influx, Fault("POST", r"/api/v2/dbrps")) as proxy:
        res = run(tmp_path, "influx_dbrp", dict(params, bucket="mapped-b", url=proxy.url))
    assert ("DELETE", f"/api/v2/dbrps/{old_id}") in proxy.seen
    msg = failed_cleanly(res)
    assert "injected failure" in msg and "recreated" in msg, msg
    dbrps = get_dbrps(influx, "mappeddb")
    assert len(dbrps) == 1, "InfluxQL clients lost the mapping"
    assert dbrps[0].bucket_id == bucket_a and dbrps[0].default is True and dbrps[0].retention_policy == "autogen"

    res = run(tmp_path, "influx_dbrp", dict(params, bucket="mapped-b"))
    assert ok(res)["changed"] is True and res["replaced"] is True
    dbrps = get_dbrps(influx, "mappeddb")
    assert len(dbrps) == 1 and dbrps[0].bucket_id == bucket_b and dbrps[0].default is True


def test_failed_rollbacks_say_what_is_left_to_do(influx: InfluxServer, tmp_path: Path) -> None:
    """When the clean-up after a failure fails too, the message says what state was left behind."""
    # influx_user: setting the password and deleting the new user both fail
    params = influx.conn(name="stuck-user", user_password="stuck-Pa55word")
    with fault_proxy(influx, Fault("POST", r"/api/v2/users/[0-9a-f]{16}/password"),
                     Fault("DELETE", r"/api/v2/users/[0-9a-f]{16}")) as proxy:
        msg = failed_cleanly(run(tmp_path, "influx_user", dict(params, url=proxy.url)))
    user = get_user(influx, "stuck-user")
    assert user is not None and user.id in msg and "failed too" in msg, msg
    assert "stuck-Pa55word" not in msg

    # influx_auth: deleting the old and (rolling back) the new authorization both fail
    params = influx.conn(description="stuck token", permissions=[{"action": "read", "resource": "buckets"}])
    old_id = ok(run(tmp_path, "influx_auth", params))["authorization"]["id"]
    with fault_proxy(influx, Fault("DELETE", r"/api/v2/authorizations/[0-9a-f]{16}", times=2)) as proxy:
        res = run(tmp_path, "influx_auth", dict(params, url=proxy.url,
                                                permissions=[{"action": "write", "resource": "buckets"}]))
    msg = failed_cleanly(res)
    new_ids = [a.id for a in get_auths(influx, "stuck token") if a.id != old_id]
    assert len(new_ids) == 1 and new_ids[0] in msg and "failed too" in msg, msg
    assert "token" not in res

    # influx_dbrp: creating the replacement and recreating the old mapping both fail
    ok(run(tmp_path, "influx_bucket", influx.conn(name="stuck-a")))
    ok(run(tmp_path, "influx_bucket", influx.conn(name="stuck-b")))
    params = influx.conn(database="stuckdb", bucket="stuck-a")
    ok(run(tmp_path, "influx_dbrp", params))
    with fault_proxy(influx, Fault("POST", r"/api/v2/dbrps", times=2)) as proxy:
        msg = failed_cleanly(run(tmp_path, "influx_dbrp", dict(params, bucket="stuck-b", url=proxy.url)))
    assert "failed too" in msg and "no mapping" in msg, msg
    assert get_dbrps(influx, "stuckdb") == []
    res = run(tmp_path, "influx_dbrp", dict(params, bucket="stuck-b"))  # a rerun creates it
    assert ok(res)["changed"] is True and get_dbrps(influx, "stuckdb")[0].bucket_id == get_bucket(influx, "stuck-b").id


# -- action group -----------------------------------------------------------------------------------

def test_action_group_module_defaults(influx: InfluxServer, tmp_path: Path) -> None:
    """`module_defaults: {group/ons.timestream_influxdb.influxdb: ...}` gives every influx_* module its connection;
    the connection password (sign-in) never becomes the password of a user influx_user creates."""
    tasks = [
        {"name": "bucket", FQ + "influx_bucket": {"name": "from-group", "retention": "2d"}},
        {"name": "user", FQ + "influx_user": {"name": "from-group-user"}},
    ]
    defaults = {"group/ons.timestream_influxdb.influxdb": {
        "url": influx.url, "username": ADMIN_USER, "password": ADMIN_PASSWORD, "org": ORG}}
    result = run_playbook(tmp_path, tasks=tasks, module_defaults=defaults)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.task("bucket")["changed"] is True and result.task("user")["changed"] is True
    assert get_bucket(influx, "from-group").retention_rules[0].every_seconds == 2 * 86400
    assert get_user(influx, "from-group-user") is not None
    assert not can_sign_in(influx, "from-group-user", ADMIN_PASSWORD)


def test_connection_from_environment(influx: InfluxServer, tmp_path: Path) -> None:
    """INFLUX_HOST, INFLUX_TOKEN and INFLUX_ORG stand in for url, token and org."""
    env = {"INFLUX_HOST": influx.url, "INFLUX_TOKEN": influx.token or "", "INFLUX_ORG": ORG}
    tasks = [{"name": "bucket", FQ + "influx_bucket": {"name": "from-env"}}]
    result = run_playbook(tmp_path, tasks=tasks, env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.task("bucket")["changed"] is True
    assert get_bucket(influx, "from-env") is not None


# -- secrets and TLS -------------------------------------------------------------------------------

def test_secrets_never_in_output_even_at_vvv(influx: InfluxServer, tmp_path: Path) -> None:
    user_password = "very-secret-User-pw"
    tasks = [
        {"name": "user", FQ + "influx_user": influx.conn(
            name="secretive", user_password=user_password, update_password="always")},
        {"name": "bucket via sign-in", FQ + "influx_bucket": {
            "url": influx.url, "username": ADMIN_USER, "password": ADMIN_PASSWORD, "org": ORG, "name": "signed-in"}},
        {"name": "token", FQ + "influx_auth": influx.conn(description="secret holder", all_access=True),
         "no_log": True, "register": "created"},
        {"name": "user again", FQ + "influx_user": influx.conn(
            name="secretive", user_password=user_password, update_password="always")},
    ]
    for verbosity in (0, 3):
        result = run_playbook(tmp_path, tasks=tasks, diff=True, verbosity=verbosity)
        assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
        output = result.stdout + result.stderr
        for secret in (influx.token, ADMIN_PASSWORD, user_password):
            assert secret not in output
        assert "censored" in result.stdout  # the token-creating task registered with no_log
    created = get_auths(influx, "secret holder")
    assert len(created) == 1  # the second pass matched the first authorization
    assert get_bucket(influx, "signed-in") is not None


def test_tls_with_ca_path_and_failure_without(influx_tls: InfluxServer, tmp_path: Path) -> None:
    assert influx_tls.url.startswith("https://")
    res = run(tmp_path, "influx_bucket", influx_tls.conn(name="over-tls", retention="1d"))
    assert ok(res)["changed"] is True
    assert get_bucket(influx_tls, "over-tls").retention_rules[0].every_seconds == 86400

    no_ca = influx_tls.conn(name="over-tls")
    no_ca.pop("ca_path")
    res = run(tmp_path, "influx_bucket", no_ca)
    msg = failed_cleanly(res)
    assert "TLS" in msg and "ca_path" in msg

    res = run(tmp_path, "influx_bucket", dict(no_ca, validate_certs=False))
    assert ok(res)["changed"] is False
