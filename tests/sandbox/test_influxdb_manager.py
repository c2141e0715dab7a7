"""The instance-server manager behind the AWS sandbox, TLS, and the standalone server process."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from sandbox import instance_servers
from sandbox.influxdb import InfluxInstanceManager, install
from sandbox.influxdb.auth import ORG_TYPES
from sandbox.influxdb.manager import NoFreeAddressError
from tests.sandbox.influx_server import _Contract, running_influx

REPO = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000_000_000_000


def _free_port() -> int:
    """A port nothing listens on now (asked of the kernel, never a fixed number)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _auth(instance_id: str, name: str = "db1", port: int | None = None) -> instance_servers.InstanceAuth:
    return instance_servers.InstanceAuth(
        instance_id=instance_id,
        name=name,
        username="admin",
        password="Passw0rdPassw0rd",
        organization="ons",
        bucket="raw",
        port=port or _free_port(),
    )


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def _loopback_not_localhost(host: str) -> bool:
    ip = ipaddress.ip_address(host)
    return ip.is_loopback and ip != ipaddress.ip_address("127.0.0.1")


@pytest.fixture
def manager(tmp_path):
    m = InfluxInstanceManager(tmp_path / "state")
    drift: list[str] = []
    m.drift = drift
    yield m
    m.stop_all()
    assert drift == [], "responses drifted from the InfluxDB contract:\n" + "\n".join(
        drift
    )


def _watch(manager, instance_id):
    """Validate every response of a managed server against the contract."""
    srv = manager.server(instance_id)
    contract = _Contract.get()

    def observe(req, resp):
        problem = contract.check(req, resp, srv.url)
        if problem:
            manager.drift.append(problem)

    srv.observers.append(observe)


def _all_access_token(
    url: str, org: str, username: str, password: str, ca: str | None = None
) -> str:
    """What an operator does on Timestream: sign in with username/password, create a token."""
    kwargs = {"ssl_ca_cert": ca} if ca else {}
    with InfluxDBClient(
        url=url, username=username, password=password, org=org, **kwargs
    ) as client:
        org_id = client.organizations_api().find_organizations(org=org)[0].id
        perms = [
            {"action": a, "resource": {"type": t, "orgID": org_id}}
            for t in ORG_TYPES
            for a in ("read", "write")
        ]
        return (
            client.authorizations_api()
            .create_authorization(org_id=org_id, permissions=perms)
            .token
        )


def test_managed_instance_is_onboarded_and_token_is_not_handed_out(manager):
    auth = _auth("i-1")
    host, port = manager.start(auth)
    _watch(manager, "i-1")
    # an address of its own (as an AWS instance has its own host) and the configured port
    assert _loopback_not_localhost(host) and port == auth.port
    assert manager.address("i-1") == host
    assert manager.start(auth) == (host, port)  # reuse
    url = f"http://{host}:{port}"
    assert requests.get(url + "/api/v2/setup").json() == {"allowed": False}
    assert requests.get(url + "/api/v2/buckets").status_code == 401
    token = _all_access_token(url, "ons", "admin", "Passw0rdPassw0rd")
    with InfluxDBClient(url=url, token=token, org="ons") as client:
        assert "raw" in {b.name for b in client.buckets_api().find_buckets().buckets}
        client.write_api(write_options=SYNCHRONOUS).write("raw", "ons", f"m v=1 {T0}")
        tables = client.query_api().query(
            'from(bucket: "raw") |> range(start: 0) |> count()'
        )
        assert [r.get_value() for t in tables for r in t.records] == [1]
    with InfluxDBClient(
        url=url, username="admin", password="wrong", org="ons"
    ) as client:
        with pytest.raises(Exception) as exc:
            client.buckets_api().find_buckets()
        assert getattr(exc.value, "status", None) == 401


def test_snapshot_restore_and_stop(manager):
    host, port = manager.start(_auth("i-1"))
    _watch(manager, "i-1")
    url = f"http://{host}:{port}"
    token = _all_access_token(url, "ons", "admin", "Passw0rdPassw0rd")
    with InfluxDBClient(url=url, token=token, org="ons") as client:
        client.write_api(write_options=SYNCHRONOUS).write("raw", "ons", f"m v=1 {T0}")
        manager.snapshot("i-1", "b-1")
        client.write_api(write_options=SYNCHRONOUS).write(
            "raw", "ons", f"m v=2 {T0 + 1}"
        )

    auth2 = _auth("i-2", "db2", port=port)  # the same port number: another address
    host2, port2 = manager.restore("b-1", auth2)
    _watch(manager, "i-2")
    assert port2 == port and host2 != host and _loopback_not_localhost(host2)
    url2 = f"http://{host2}:{port2}"
    # the backup's users, tokens and data came back; the later write did not
    with InfluxDBClient(url=url2, token=token, org="ons") as client:
        tables = client.query_api().query('from(bucket: "raw") |> range(start: 0)')
        assert [r.get_value() for t in tables for r in t.records] == [1.0]
    assert _all_access_token(url2, "ons", "admin", "Passw0rdPassw0rd")

    data_dir = manager.data_dir("i-1")
    assert data_dir.exists()
    manager.stop("i-1")
    assert not data_dir.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/ping", timeout=5)
    assert manager.address("i-1") is None
    manager.stop("i-unknown")  # ignored
    manager.delete_snapshot("b-1")
    assert not manager.backup_dir("b-1").exists()
    manager.delete_snapshot("b-unknown")
    # i-2 still serves
    assert requests.get(url2 + "/ping").status_code == 204
    manager.stop_all()
    with pytest.raises(requests.ConnectionError):
        requests.get(url2 + "/ping", timeout=5)


def test_install_replaces_the_null_manager(tmp_path):
    previous = instance_servers.get_manager()
    try:
        m = install(tmp_path, tls=False)
        assert instance_servers.get_manager() is m
        host, port = instance_servers.get_manager().start(_auth("i-9"))
        assert requests.get(f"http://{host}:{port}/health").json()["status"] == "pass"
        assert (tmp_path / "influxdb" / "instances" / "i-9").is_dir()
        m.stop_all()
    finally:
        instance_servers.install_manager(previous)


def test_managed_servers_with_tls(tmp_path):
    m = InfluxInstanceManager(tmp_path / "state", tls=True)
    try:
        host, port = m.start(_auth("i-t"))
        assert _loopback_not_localhost(host)
        url = f"https://{host}:{port}"
        ca = str(m.ca_path)
        # the certificate names the instance's address: verification with the CA succeeds
        assert requests.get(url + "/health", verify=ca).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "/health")
        token = _all_access_token(url, "ons", "admin", "Passw0rdPassw0rd", ca=ca)
        assert token
        # after a move to another port too
        new_port = _free_port()
        assert m.rebind("i-t", new_port) == (host, new_port)
        url = f"https://{host}:{new_port}"
        with InfluxDBClient(url=url, token=token, org="ons", ssl_ca_cert=ca) as client:
            assert "raw" in {b.name for b in client.buckets_api().find_buckets().buckets}
    finally:
        m.stop_all()


def test_tls_server_with_generated_ca(tmp_path):
    with running_influx(tmp_path, tls=True) as influx:
        assert influx.url.startswith("https://127.0.0.1:")
        client = influx.client()  # verifies with the generated CA
        assert client.ping() is True
        assert influx.bucket in {
            b.name for b in client.buckets_api().find_buckets().buckets
        }
        client.write_api(write_options=SYNCHRONOUS).write(
            influx.bucket, influx.org, f"m v=1 {T0}"
        )
        # https://localhost works too (the certificate names both)
        assert (
            requests.get(
                influx.url.replace("127.0.0.1", "localhost") + "/health",
                verify=influx.ca_path,
            ).status_code
            == 200
        )
        # without the CA the certificate is refused
        with InfluxDBClient(
            url=influx.url, token=influx.token, org=influx.org
        ) as no_ca, pytest.raises(Exception) as exc:
            no_ca.buckets_api().find_buckets()
        assert "CERTIFICATE_VERIFY_FAILED" in str(exc.value)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(influx.url + "/health")
        # and verification can be switched off, as validate_certs: false does
        insecure = influx.client(verify_ssl=False)
        assert insecure.ping() is True


def _start_standalone(data_dir: Path, *extra: str):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.influxdb",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = {}
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("READY "), first + proc.stderr.read()
        lines["READY"] = first.split(" ", 1)[1]
        expected = 1 if "--tls" in extra else 0
        for _ in range(expected):
            key, _, value = proc.stdout.readline().strip().partition(" ")
            lines[key] = value
        return proc, lines
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _stop(proc) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_standalone_process(tmp_path):
    data_dir = tmp_path / "standalone"
    proc, lines = _start_standalone(
        data_dir,
        "--setup",
        "admin:password123:ons:raw",
        "--tls",
        "--token",
        "operator-token-for-test",
    )
    try:
        url, ca = lines["READY"], lines["CA"]
        assert url.startswith("https://127.0.0.1:")
        with InfluxDBClient(
            url=url, token="operator-token-for-test", org="ons", ssl_ca_cert=ca
        ) as client:
            client.write_api(write_options=SYNCHRONOUS).write(
                "raw", "ons", f"m v=7 {T0}"
            )
    finally:
        assert _stop(proc) == 0
    # restarted on the same data dir: setup is kept, data too
    proc, lines = _start_standalone(data_dir, "--setup", "admin:password123:ons:raw")
    try:
        url = lines["READY"]
        assert url.startswith("http://")
        with InfluxDBClient(
            url=url, token="operator-token-for-test", org="ons"
        ) as client:
            tables = client.query_api().query('from(bucket: "raw") |> range(start: 0)')
            assert [r.get_value() for t in tables for r in t.records] == [7.0]
    finally:
        assert _stop(proc) == 0


def test_each_instance_gets_its_own_address_with_the_configured_port(manager):
    port = _free_port()
    hosts = []
    for i in range(3):
        host, got = manager.start(_auth(f"i-{i}", f"db{i}", port=port))
        _watch(manager, f"i-{i}")
        assert got == port and _loopback_not_localhost(host)
        hosts.append(host)
    assert len(set(hosts)) == 3
    for host in hosts:
        assert requests.get(f"http://{host}:{port}/health", timeout=10).json()["status"] == "pass"
    # deleting an instance frees its address; the next instance may take it again
    manager.stop("i-1")
    assert _refused(hosts[1], port)
    host, _ = manager.start(_auth("i-3", "db3", port=port))
    assert host == hosts[1]


def test_a_taken_address_is_skipped(tmp_path):
    port = _free_port()
    m = InfluxInstanceManager(tmp_path / "state", first_address="127.0.0.2")
    with socket.socket() as holder:
        # something else listens on (127.0.0.2, port): the instance goes to the next address
        holder.bind(("127.0.0.2", port))
        holder.listen()
        try:
            host, got = m.start(_auth("i-1", port=port))
            assert (host, got) == ("127.0.0.3", port)
            assert requests.get(f"http://{host}:{port}/health", timeout=10).status_code == 200
        finally:
            m.stop_all()


def test_bounded_attempts_then_failure(tmp_path):
    port = _free_port()
    m = InfluxInstanceManager(tmp_path / "state", first_address="127.0.0.2", max_bind_attempts=2)
    holders = []
    try:
        for address in ("127.0.0.2", "127.0.0.3"):
            s = socket.socket()
            holders.append(s)
            s.bind((address, port))
            s.listen()
        with pytest.raises(NoFreeAddressError) as exc:
            m.start(_auth("i-1", port=port))
        assert "127.0.0.2 to 127.0.0.3, 2 addresses" in str(exc.value)
        assert m.server("i-1") is None and m.address("i-1") is None
        # 127.0.0.4 was never tried: nothing listens there
        assert _refused("127.0.0.4", port)
    finally:
        for s in holders:
            s.close()
        m.stop_all()


def test_rebind_moves_the_server_and_keeps_its_data(manager):
    auth = _auth("i-1")
    host, port = manager.start(auth)
    _watch(manager, "i-1")
    url = f"http://{host}:{port}"
    token = _all_access_token(url, "ons", "admin", "Passw0rdPassw0rd")
    with InfluxDBClient(url=url, token=token, org="ons") as client:
        client.write_api(write_options=SYNCHRONOUS).write("raw", "ons", f"m v=7 {T0}")
    new_port = _free_port()
    assert manager.rebind("i-1", new_port) == (host, new_port)
    assert manager.rebind("i-1", new_port) == (host, new_port)  # already there: nothing to do
    assert _refused(host, port)
    with InfluxDBClient(url=f"http://{host}:{new_port}", token=token, org="ons") as client:
        tables = client.query_api().query('from(bucket: "raw") |> range(start: 0)')
        assert [r.get_value() for t in tables for r in t.records] == [7.0]
    with pytest.raises(KeyError):
        manager.rebind("i-unknown", new_port)


def test_rebind_to_a_taken_port_takes_another_address(manager):
    host, _ = manager.start(_auth("i-1"))
    new_port = _free_port()
    with socket.socket() as holder:
        holder.bind((host, new_port))
        holder.listen()
        host2, got = manager.rebind("i-1", new_port)
    assert got == new_port and host2 != host and _loopback_not_localhost(host2)
    assert manager.address("i-1") == host2
    assert requests.get(f"http://{host2}:{new_port}/ping", timeout=10).status_code == 204
