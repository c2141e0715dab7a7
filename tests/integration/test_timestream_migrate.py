"""The migration end to end: records written through the sandbox's Timestream Write API, read back by
the engine through the Query API and UNLOAD (CSV and Parquet), written to the sandbox InfluxDB v2,
and checked there through influxdb-client against values computed from the records themselves.

Also: the CLI killed mid-run and resumed ends with exactly the source counts; verification catches
a batch a proxy silently dropped (the CLI exits non-zero with the reason); a 4xx batch is reported
with its line and source row; the line-protocol file is accepted by Debian's real InfluxDB 1.6.7 and
reads back the same values; the module through ansible-playbook (check mode plans, then migrates).
"""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration import (
    MigrationSettings,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration_io import (
    run_migration,
)

from sandbox.client import boto3_client
from tests.helpers.ansible import REPO, ansible_env
from tests.helpers.secrets import assert_no_secret, files_written_since
from tests.integration.timestream_migrate_fixtures import (
    DIMENSIONS,
    create_tables,
    multi_records,
    single_records,
)
from tests.sandbox.influx_server import running_influx

CLI = REPO / "scripts" / "timestream-migrate"
MULTI, SINGLE = 300, 200


@pytest.fixture(scope="module")
def source(aws_sandbox) -> dict[str, Any]:
    """One database with a multi-measure and a single-measure table, for every test of this file."""
    db, counts = create_tables(aws_sandbox.client("timestream-write"), MULTI, SINGLE)
    return {"db": db, "counts": counts, "sandbox": aws_sandbox}


@pytest.fixture
def influx(tmp_path) -> Iterator[Any]:
    with running_influx(tmp_path / "influx", validate=False) as running:
        yield running


def _clients(aws_sandbox):
    return lambda name: boto3_client(aws_sandbox.endpoint, name)


def _settings(src, influx, tmp_path, **kw) -> MigrationSettings:
    base = dict(database=src["db"], url=influx.url, token=influx.token, org=influx.org, bucket=influx.bucket,
                partition_seconds=3600, workers=2,
                progress_file=str(tmp_path / "progress.json"), report_file=str(tmp_path / "report.json"))
    base.update(kw)
    return MigrationSettings(**base)


# --- what InfluxDB must hold, computed from the records (not from the converter) ---------------------
def _time_ns(record: dict[str, Any]) -> int:
    unit = {"MILLISECONDS": 10**6, "MICROSECONDS": 10**3, "NANOSECONDS": 1, "SECONDS": 10**9}[record["TimeUnit"]]
    return int(record["Time"]) * unit


def _typed(type_: str, value: str) -> Any:
    return {"DOUBLE": float, "BIGINT": int, "BOOLEAN": lambda v: v == "true", "VARCHAR": str,
            "TIMESTAMP": lambda v: int(v) * 10**6}[type_](value)


def expected_points() -> dict[tuple, Any]:
    """(measurement, tags, time, field) -> value, exactly as the migration must store it."""
    out: dict[tuple, Any] = {}
    for rec in multi_records(MULTI):
        tags = tuple(sorted([(d["Name"], d["Value"]) for d in rec["Dimensions"]] + [("measure_name", "metrics")]))
        for m in rec["MeasureValues"]:
            key = "ts_id" if m["Name"] == "_id" else m["Name"]
            out[("metrics", tags, _time_ns(rec), key)] = _typed(m["Type"], m["Value"])
    for rec in single_records(SINGLE):
        tags = tuple((d["Name"], d["Value"]) for d in rec["Dimensions"])
        out[("readings", tags, _time_ns(rec), rec["MeasureName"])] = _typed(
            rec["MeasureValueType"], rec["MeasureValue"])
    return out


def stored_points(influx) -> dict[tuple, Any]:
    """Everything in the bucket, read with influxdb-client (typed by the annotated CSV)."""
    tables = influx.client().query_api().query(
        f'from(bucket: "{influx.bucket}") |> range(start: 1970-01-01T00:00:00Z, stop: 2100-01-01T00:00:00Z)')
    out: dict[tuple, Any] = {}
    for table in tables:
        for rec in table.records:
            values = rec.values
            tags = tuple(sorted((k, v) for k, v in values.items()
                                if not k.startswith("_") and k not in ("result", "table")))
            value = values["_value"]
            if isinstance(value, str):
                value = value.replace("\r\n", "\n")  # Go's CSV writer (UseCRLF) shows a newline as CRLF
            # influxdb-client reads _time into a datetime (microseconds): keys are compared at that precision
            when = rec.get_time()
            ts = (int(when.replace(microsecond=0).timestamp()) * 10**6 + when.microsecond) * 1000
            out[(values["_measurement"], tags, ts, values["_field"])] = value
    return out


def assert_same(stored: dict[tuple, Any], expected: dict[tuple, Any]) -> None:
    assert set(stored) == set(expected), (sorted(set(expected) - set(stored))[:5], sorted(set(stored) - set(expected))[:5])
    for key, value in expected.items():
        got = stored[key]
        assert type(got) is type(value) and got == value, (key, value, got)


def _expected_micro() -> dict[tuple, Any]:
    """influxdb-client reads _time to microseconds: compare keys at that precision."""
    return {(m, tags, ts // 1000 * 1000, f): v for (m, tags, ts, f), v in expected_points().items()}


# --- tests --------------------------------------------------------------------------------------------
def test_query_api_round_trip_every_type_and_escape(source, influx, tmp_path) -> None:
    report = run_migration(_settings(source, influx, tmp_path), _clients(source["sandbox"]))
    assert report["status"] == "ok", report["reason"]
    totals = report["totals"]
    assert totals["source_rows"] == totals["rows"] == MULTI + SINGLE
    assert totals["fields"] == len(expected_points())
    assert totals["nonfinite_skipped"] == totals["unwritable_rows"] == totals["rows_without_fields"] == 0
    assert report["renamed"] == {"metrics": {"_id": "ts_id"}}
    assert report["verification"]["partitions_verified"] == totals["partitions_done"] > 2
    assert report["verification"]["final"]["ok"]
    assert json.loads(Path(tmp_path / "report.json").read_text())["status"] == "ok"
    assert_same(stored_points(influx), _expected_micro())


@pytest.mark.parametrize("fmt", ["CSV", "PARQUET"])
def test_unload_csv_and_parquet(source, influx, tmp_path, fmt) -> None:
    s3 = source["sandbox"].client("s3")
    bucket = f"unload-{fmt.lower()}-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    report = run_migration(_settings(source, influx, tmp_path, source="unload", unload_s3_uri=f"s3://{bucket}/x",
                                     unload_format=fmt), _clients(source["sandbox"]))
    assert report["status"] == "ok", report["reason"]
    assert report["totals"]["rows"] == MULTI + SINGLE and report["totals"]["fields"] == len(expected_points())
    assert_same(stored_points(influx), _expected_micro())


def test_a_rejected_batch_is_reported_with_its_line_and_source_row(source, influx, tmp_path) -> None:
    # 'mem' already stored as a string in the range of the first partition: the integers conflict (HTTP 422)
    first = min(_time_ns(r) for r in multi_records(MULTI))
    import urllib.request
    req = urllib.request.Request(
        f"{influx.url}/api/v2/write?org={influx.org}&bucket={influx.bucket}&precision=ns",
        data=f'metrics mem="text" {first}'.encode(), headers={"Authorization": f"Token {influx.token}"})
    assert urllib.request.urlopen(req).status == 204
    report = run_migration(_settings(source, influx, tmp_path, tables=["metrics"], workers=1),
                           _clients(source["sandbox"]))
    assert report["status"] == "failed"
    err = next(e for e in report["errors"] if e["kind"] == "rejected")
    assert err["status"] in (400, 422) and "conflict" in err["message"]
    assert err["line"].startswith("metrics,") and "mem=" in err["line"]
    assert err["source_row"]["table"] == "metrics" and "mem" in err["source_row"]
    progress_file = Path(tmp_path / "progress.json")
    progress = json.loads(progress_file.read_text()) if progress_file.exists() else {"partitions": {}}
    assert err["partition"] not in progress["partitions"]  # not done: a rerun does it again


def _run_cli(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False, **kw)


def _cli_args(source, influx, tmp_path, url: str | None = None) -> list[str]:
    return ["--database", source["db"], "--partition-size", "1h", "--dimensions", "metrics=host,region",
            "--dimensions", "readings=sensor", "--url", url or influx.url, "--org", influx.org, "--bucket",
            influx.bucket, "--progress-file", str(tmp_path / "progress.json"), "--report-file",
            str(tmp_path / "report.json"), "--batch-size", "50", "--workers", "1"]


def _cli_env(source, influx) -> dict[str, str]:
    return {**source["sandbox"].subprocess_env(), "INFLUX_TOKEN": influx.token}


def _flux_count(influx) -> int:
    tables = influx.client().query_api().query(
        f'from(bucket: "{influx.bucket}") |> range(start: 1970-01-01T00:00:00Z, stop: 2100-01-01T00:00:00Z) '
        '|> group() |> count()')
    return sum(r.get_value() for t in tables for r in t.records)


def test_cli_killed_and_resumed_ends_with_exactly_the_source_counts(source, influx, tmp_path) -> None:
    writes = 0
    blocked = threading.Event()
    release = threading.Event()

    def hold_a_later_write(req, resp) -> None:
        nonlocal writes
        if req.path == "/api/v2/write":
            writes += 1
            if writes == 5:  # well after the first partition (2 batches of 50) is done
                blocked.set()
                release.wait(60)

    influx.server.observers.append(hold_a_later_write)
    env = _cli_env(source, influx)
    proc = subprocess.Popen([sys.executable, str(CLI), *_cli_args(source, influx, tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while not blocked.wait(0.2):
            assert proc.poll() is None, proc.communicate(timeout=5)
        progress = json.loads(Path(tmp_path / "progress.json").read_text())
        done_before = [p for p in progress["partitions"].values() if p["status"] == "done"]
        assert done_before
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    influx.server.observers.remove(hold_a_later_write)
    result = _run_cli(_cli_args(source, influx, tmp_path), env)
    assert result.returncode == 0, result.stderr
    report = json.loads(Path(tmp_path / "report.json").read_text())
    assert report["totals"]["partitions_skipped_done_before"] == len(done_before)
    assert report["totals"]["source_rows"] == MULTI + SINGLE
    assert _flux_count(influx) == len(expected_points())
    assert report["verification"]["final"]["ok"]


class _DroppingProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True


def test_verification_detects_a_dropped_batch_and_the_cli_fails(source, influx, tmp_path) -> None:
    target = influx.url.split("//", 1)[1]
    seen = {"writes": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/api/v2/write"):
                seen["writes"] += 1
                if seen["writes"] == 3:  # accepted, never stored
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            conn = http.client.HTTPConnection(target, timeout=30)
            conn.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = _forward

        def log_message(self, *args) -> None:
            pass

    proxy = _DroppingProxy(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        result = _run_cli(_cli_args(source, influx, tmp_path, url=url), _cli_env(source, influx))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert result.returncode == 1, result.stderr
    assert "FAILED" in result.stderr and "InfluxDB holds" in result.stderr
    report = json.loads(Path(tmp_path / "report.json").read_text())
    assert report["verification"]["partitions_mismatched"] == 1


@pytest.mark.influxd1
def test_line_protocol_file_accepted_by_influxdb_167(source, tmp_path) -> None:
    from tests.sandbox.influxd1 import Influxd1, InfluxdUnavailable

    out = tmp_path / "export.lp.gz"
    report = run_migration(MigrationSettings(database=source["db"], output_file=str(out), partition_seconds=3600,
                                             dimensions=DIMENSIONS, workers=2), _clients(source["sandbox"]))
    assert report["status"] == "ok", report["reason"]
    body = gzip.decompress(out.read_bytes())
    assert report["totals"]["lines"] == MULTI + SINGLE  # (string values may hold newlines, so not body lines)
    try:
        server = Influxd1().start()
    except InfluxdUnavailable as exc:
        pytest.skip(str(exc))
    try:
        server.query("CREATE DATABASE mig")
        status, message = server.write("mig", body)
        assert status == 204, message
        stored: dict[tuple, Any] = {}
        for measurement in ("metrics", "readings"):
            (result,) = server.query(f'SELECT * FROM "{measurement}"', db="mig")
            (series,) = result["series"]
            tag_names = {"metrics": {"host", "region", "measure_name"}, "readings": {"sensor"}}[measurement]
            for row in series["values"]:
                rec = dict(zip(series["columns"], row))
                tags = tuple(sorted((k, v) for k, v in rec.items() if k in tag_names and v is not None))
                for k, v in rec.items():
                    if k not in tag_names and k != "time" and v is not None:
                        stored[(measurement, tags, rec["time"], k)] = v
    finally:
        server.stop()
    expected = expected_points()
    assert set(stored) == set(expected)
    for key, value in expected.items():
        got = stored[key]
        # InfluxQL's JSON writes a float without a fraction as an integer (3.0 -> 3): compare as floats
        if isinstance(value, float):
            assert float(got) == value, key
        else:
            assert type(got) is type(value) and got == value, (key, value, got)


def test_module_through_ansible_playbook(source, influx, tmp_path) -> None:
    endpoint = source["sandbox"].endpoint
    extra = {
        "migration_database": source["db"], "migration_partition_size": "1h",
        "migration_influxdb": {"url": influx.url, "token": influx.token, "org": influx.org},
        "migration_bucket": influx.bucket, "migration_state_dir": str(tmp_path / "state"),
        "migration_poll_seconds": 1, "ansible_python_interpreter": sys.executable,
    }
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    env = ansible_env({**source["sandbox"].env, "SANDBOX_PORT": endpoint.rsplit(":", 1)[1].strip("/"),
                       "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})

    outputs: list[str] = []

    def play(*flags: str) -> dict[str, Any]:
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
                               "playbooks/migration.yml", "-e", f"@{vars_file}", *flags], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        outputs.extend((proc.stdout, proc.stderr))
        # The callback's document starts at a line of its own (at -vvv, Ansible's own lines come first).
        data = json.loads(proc.stdout[re.search(r"^\{$", proc.stdout, re.MULTILINE).start():])
        task = next(t for t in data["plays"][0]["tasks"] if t["task"]["name"].startswith("Migrate"))
        return next(iter(task["hosts"].values()))

    planned = play("--check")
    assert planned["report"]["status"] == "planned" and planned["changed"]
    assert planned["report"]["totals"]["partitions"] >= 6 and _flux_count(influx) == 0
    started = time.time()
    done = play("-vvv")
    assert done["report"]["status"] == "ok" and done["changed"]
    assert "ESTABLISH LOCAL CONNECTION" in outputs[-2]  # -vvv
    # No form of the InfluxDB token in the -vvv output or in any file the runs wrote (the migration's state
    # directory, .ansible/, outputs/); the vars file this test gave it and the server's own data are not searched.
    assert_no_secret([*outputs, *files_written_since(started, tmp_path / "state")], [influx.token])
    assert done["report"]["totals"]["rows"] == MULTI + SINGLE
    assert _flux_count(influx) == len(expected_points())
    again = play()  # everything done: resumes to nothing, changes nothing
    assert not again["changed"] and again["report"]["totals"]["partitions_skipped_done_before"] >= 6
