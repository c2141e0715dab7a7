"""Benchmarks of the migration engine (`make bench`; not part of the test run).

(a) conversion: the same generated rows (hundreds of series, mixed types, a few escapes) through the
    engine's RowConverter and through influxdb-client's ``Point(...).to_line_protocol()`` in one run; a
    sample of both outputs is parsed with the sandbox's port of InfluxDB's scanner and must be the same
    points. Target: the converter at least 5x faster.
(b) pipeline, from sandbox UNLOAD files to a local HTTP sink:
    setup (reported, not timed into the rate): the bench starts its own sandbox, creates a Timestream
    for LiveAnalytics database and tables through boto3 and writes the generated rows (multi-measure
    records, 100 per WriteRecords call, a few threads); then the engine's own ``TimestreamSource.unload``
    runs UNLOAD through the sandbox's Query API for every partition (gzipped CSV, manifest and metadata
    in Timestream's layout in the sandbox's S3). The UNLOAD time is reported on its own: on AWS it is
    Timestream's work, not the migration host's.
    timed: ``run_migration`` with 2 worker processes reads those files from the sandbox's S3 through the
    engine's reading path (``read_unload`` over boto3 ``get_object`` streams), converts, and writes
    gzip-compressed batches of 5,000 lines to a local HTTP sink that accepts and discards writes. The
    source is the real ``TimestreamSource`` but for ``unload()``, which answers the manifest already made
    for the partition. Run at two sizes (250,000 and 1,000,000 rows by default) to show that the peak RSS
    (the run's process plus its workers) does not grow with the data.
    Targets: at least 250,000 rows/s on 2 cores, peak RSS below 256 MB whatever the size.

    python bench/timestream_migrate.py [--rows 1000000] [--pipeline-rows 250000 1000000] [--workers 2]
                                       [--json PATH]

Prints the results as JSON (also written to PATH with --json), then as a table with the targets beside
them.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Self

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "collections")]

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.lineprotocol import (
    ns_to_timestream,
    timestamp_ns,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration import (
    MigrationSettings,
    RowConverter,
    build_table_plan,
    classify_columns,
    plan_partitions,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration_io import (
    TimestreamSource,
    run_migration,
)

COLUMNS = [("host", "VARCHAR", "DIMENSION"), ("region", "VARCHAR", "DIMENSION"), ("az", "VARCHAR", "DIMENSION"),
           ("measure_name", "VARCHAR", "MEASURE_NAME"), ("time", "TIMESTAMP", "TIMESTAMP"),
           ("cpu", "DOUBLE", "MULTI"), ("mem", "BIGINT", "MULTI"), ("ok", "BOOLEAN", "MULTI"),
           ("status", "VARCHAR", "MULTI")]
NAMES = [c[0] for c in COLUMNS]
HOSTS = [f"web {i}" if i % 50 == 0 else (f"db,{i}" if i % 77 == 0 else f"host-{i:03d}") for i in range(200)]
REGIONS = ["eu-west-2", "eu-west-1", "us-east-1", "zone=a"]
STATUSES = ["ok", "degraded", 'said "hi"', "back\\slash", "fine, thanks"]
START_NS = 1_717_200_000_000_000_000  # 2024-06-01
HOUR_NS = 3_600_000_000_000


def generate(count: int, seed: int = 7, start_ns: int = START_NS) -> list[list[str]]:
    """Rows as UNLOAD CSV / the Query API give them: text, '' for NULL. 200 hosts x 4 regions x 2 AZs."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        t = start_ns + (i // 400) * 1_000_000_000 + (i % 400) * 1_250_003
        rows.append([
            HOSTS[i % 200], REGIONS[(i // 200) % 4], f"az{(i // 800) % 2}", "metrics", ns_to_timestream(t),
            repr(rng.random() * 100) if i % 97 else "", str(rng.randrange(-2**40, 2**40)),
            "true" if i % 3 else "false", STATUSES[i % 5] if i % 11 else "",
        ])
    return rows


def _converter() -> RowConverter:
    cols = classify_columns(COLUMNS)
    return RowConverter(build_table_plan("metrics", cols, MigrationSettings(database="bench", output_file="-")),
                        NAMES)


def point_lines(rows: list[list[str]]) -> list[str]:
    """influxdb-client's Point, given the same typed values (time as integer ns: Point's datetime would lose ns)."""
    from influxdb_client import Point, WritePrecision

    out = []
    for r in rows:
        p = Point("metrics").tag("host", r[0]).tag("region", r[1]).tag("az", r[2]).tag("measure_name", r[3])
        if r[5]:
            p.field("cpu", float(r[5]))
        p.field("mem", int(r[6])).field("ok", r[7] == "true")
        if r[8]:
            p.field("status", r[8])
        p.time(timestamp_ns(r[4]), WritePrecision.NS)
        out.append(p.to_line_protocol())
    return out


def bench_conversion(count: int) -> dict:
    rows = generate(count)
    conv = _converter()
    out: list[str] = []
    theirs_lines: list[str] = []
    ours = theirs = 0.0
    # 1,000 rows at a time, one after the other, so both see the same load of a shared machine
    for i in range(0, len(rows), 1000):
        chunk = rows[i:i + 1000]
        t0 = time.perf_counter()
        conv.convert_many(chunk, out, [])
        t1 = time.perf_counter()
        theirs_lines += point_lines(chunk)
        ours, theirs = ours + (t1 - t0), theirs + (time.perf_counter() - t1)
    # same semantic output: a sample parsed by the port of InfluxDB's scanner
    from sandbox.influxdb.lineprotocol import parse

    sample = random.Random(1).sample(range(count), min(20000, count))
    differ = 0
    for i in sample:
        a, b = parse(out[i], now_ns=0).points, parse(theirs_lines[i], now_ns=0).points
        if a != b or not a:
            differ += 1
    return {"rows": count, "series": len({tuple(r[:4]) for r in rows}), "converter_seconds": round(ours, 3),
            "point_seconds": round(theirs, 3), "converter_rows_per_second": round(count / ours),
            "point_rows_per_second": round(count / theirs), "ratio": round(theirs / ours, 2),
            "sample_compared": len(sample), "sample_differ": differ}


# --- pipeline: the source, in the bench's own sandbox --------------------------------------------------
def records_of(rows: list[list[str]]) -> list[dict[str, Any]]:
    """The generated rows as Timestream multi-measure records (a NULL measure is left out of the record)."""
    out = []
    for r in rows:
        measures = [{"Name": "cpu", "Value": r[5], "Type": "DOUBLE"}] if r[5] else []
        measures += [{"Name": "mem", "Value": r[6], "Type": "BIGINT"},
                     {"Name": "ok", "Value": r[7], "Type": "BOOLEAN"}]
        if r[8]:
            measures.append({"Name": "status", "Value": r[8], "Type": "VARCHAR"})
        out.append({"Dimensions": [{"Name": "host", "Value": r[0]}, {"Name": "region", "Value": r[1]},
                                   {"Name": "az", "Value": r[2]}],
                    "MeasureName": r[3], "MeasureValueType": "MULTI", "MeasureValues": measures,
                    "Time": str(timestamp_ns(r[4])), "TimeUnit": "NANOSECONDS"})
    return out


def client(endpoint: str, service: str, **config: Any) -> Any:
    """A boto3 client for the sandbox."""
    from botocore.config import Config

    from sandbox.client import boto3_client

    return boto3_client(endpoint, service, config=Config(**config) if config else None)


class Sandbox:
    """The bench's own AWS sandbox (``python -m sandbox start``), stopped by its PID at the end."""

    def __init__(self, state_dir: str):
        self.state_dir = state_dir
        self.endpoint = ""
        self.pid = 0

    def __enter__(self) -> Self:
        out = subprocess.run([sys.executable, "-m", "sandbox", "start", "--port", "0", "--state-dir", self.state_dir,
                              "--no-influx"], cwd=REPO, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"the sandbox did not start: {out.stderr[-2000:]}")
        self.endpoint = out.stdout.strip().splitlines()[-1]
        self.pid = int(Path(self.state_dir, "aws.pid").read_text().strip())
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run([sys.executable, "-m", "sandbox", "stop", "--state-dir", self.state_dir], cwd=REPO,
                       capture_output=True, check=False)
        try:  # stop did not (or could not) stop it: by its PID
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return
        os.kill(self.pid, 15)

    def cpu_seconds(self) -> float:
        """CPU time the sandbox has used so far (it serves the S3 reads during the timed phase)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def partition_rows(table_rows: int, partitions: int, index: int) -> list[list[str]]:
    """The generated rows of one hourly partition (the first minutes of hour ``index``)."""
    per = table_rows // partitions + (1 if index < table_rows % partitions else 0)
    return generate(per, seed=index, start_ns=START_NS + index * HOUR_NS)


def load_table(endpoint: str, database: str, table: str, rows: int, partitions: int, threads: int = 3) -> int:
    """Write ``rows`` generated rows into ``database.table`` through WriteRecords, 100 records per call, from
    ``threads`` threads (the sandbox's write path and botocore's request building both take CPU); returns the
    records the sandbox reports as ingested."""
    write = client(endpoint, "timestream-write", parameter_validation=False, max_pool_connections=threads)
    write.create_table(DatabaseName=database, TableName=table,
                       RetentionProperties={"MemoryStoreRetentionPeriodInHours": 24,
                                            "MagneticStoreRetentionPeriodInDays": 73000},
                       MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True})

    def put(batch: list[dict[str, Any]]) -> int:
        resp = write.write_records(DatabaseName=database, TableName=table, Records=batch)
        return resp["RecordsIngested"]["Total"]

    ingested = 0
    with ThreadPoolExecutor(threads) as pool:
        for index in range(partitions):
            records = records_of(partition_rows(rows, partitions, index))
            ingested += sum(pool.map(put, [records[i:i + 100] for i in range(0, len(records), 100)]))
    if ingested != rows:
        raise SystemExit(f"the sandbox ingested {ingested} records of {rows} into {table}")
    return ingested


def settings_for(endpoint_bucket: str, database: str, table: str, partitions: int, url: str = "http://127.0.0.1:1",
                 workers: int = 2) -> MigrationSettings:
    return MigrationSettings(database=database, tables=[table], source="unload", unload_s3_uri=endpoint_bucket,
                             url=url, token="bench", org="bench", bucket="bench", time_from=START_NS,
                             time_to=START_NS + partitions * HOUR_NS, partition_seconds=3600, workers=workers,
                             verify=False)


def unload_table(endpoint: str, database: str, table: str, partitions: int, s3_uri: str) -> dict[str, str]:
    """UNLOAD every partition through the engine's own ``TimestreamSource.unload`` (the sandbox's Query API
    writes the gzipped CSV, manifest and metadata into its S3); returns partition id -> manifest URL."""
    settings = settings_for(s3_uri, database, table, partitions)
    source = TimestreamSource(settings, lambda name: client(endpoint, name))
    return {p.id: source.unload(p) for p in plan_partitions(table, settings.time_from, settings.time_to, 3600)}


def prepare_source(endpoint: str, sizes: list[int], partitions: int, threads: int = 3) -> dict[str, Any]:
    """A database with one table per size, written and unloaded; returns what the timed runs need."""
    database = f"bench_{uuid.uuid4().hex[:8]}"
    bucket = f"tsm-bench-{uuid.uuid4().hex[:8]}"
    client(endpoint, "timestream-write").create_database(DatabaseName=database)
    client(endpoint, "s3").create_bucket(Bucket=bucket)
    out: dict[str, Any] = {"database": database, "s3_uri": f"s3://{bucket}/unload", "tables": {}}
    for rows in sizes:
        table = f"metrics_{rows}"
        t0 = time.perf_counter()
        load_table(endpoint, database, table, rows, partitions, threads)
        t1 = time.perf_counter()
        manifests = unload_table(endpoint, database, table, partitions, out["s3_uri"])
        t2 = time.perf_counter()
        out["tables"][table] = {"rows": rows, "manifests": manifests, "write_seconds": round(t1 - t0, 3),
                                "write_records_per_second": round(rows / (t1 - t0)),
                                "unload_seconds": round(t2 - t1, 3)}
    return out


# --- pipeline: the sink and the timed run ----------------------------------------------------------------
def _sink(count_lines: bool) -> None:
    """A local InfluxDB stand-in that accepts and discards writes (runs in its own process); ``GET /stats``
    answers the requests and bytes received (and the lines, decompressed, when ``count_lines``)."""
    import zlib

    stats = {"requests": 0, "bytes": 0, "lines": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            remaining = int(self.headers.get("Content-Length") or 0)
            size, lines = remaining, 0
            inflate = zlib.decompressobj(wbits=31) if count_lines else None
            while remaining:
                block = self.rfile.read(min(remaining, 1 << 16))
                remaining -= len(block)
                if inflate is not None:
                    lines += inflate.decompress(block).count(b"\n")
            with lock:
                stats["requests"] += 1
                stats["bytes"] += size
                stats["lines"] += lines
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class PreUnloadedSource(TimestreamSource):
    """The real TimestreamSource, but each partition's UNLOAD is already done: ``unload()`` answers its
    manifest's s3:// URL (set on the class by the run's process before the workers fork)."""

    manifests: ClassVar[dict[str, str]] = {}

    def unload(self, p: Any) -> str:
        return self.manifests[p.id]


def _status_kb(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _pipeline_child(job_json: str) -> None:
    """The timed run (a child process of its own, so its memory is its own): prints a JSON summary."""
    job = json.loads(job_json)
    PreUnloadedSource.manifests = job["manifests"]
    endpoint = job["endpoint"]
    settings = settings_for(job["s3_uri"], job["database"], job["table"], job["partitions"], job["url"],
                            job["workers"])
    # the workers' resident memory, sampled (VmHWM is each process's own high-water mark)
    worker_hwm: dict[str, int] = {}
    done = threading.Event()

    def watch() -> None:
        me = os.getpid()
        while not done.wait(0.1):
            try:
                kids = Path(f"/proc/{me}/task/{me}/children").read_text().split()
            except OSError:
                continue
            for pid in kids:
                try:
                    worker_hwm[pid] = max(worker_hwm.get(pid, 0), _status_kb(pid, "VmHWM"))
                except OSError:
                    pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    report = run_migration(settings, lambda name: client(endpoint, name), source_factory=PreUnloadedSource)
    done.set()
    watcher.join()
    print(json.dumps({"status": report["status"], "reason": report["reason"], "rows": report["totals"]["rows"],
                      "lines": report["totals"]["lines"], "duration": report["duration_seconds"],
                      "bytes": report["totals"]["bytes"], "partitions_done": report["totals"]["partitions_done"],
                      # VmHWM: this process's own peak (ru_maxrss would carry the bench's own across exec)
                      "parent_rss_kb": _status_kb("self", "VmHWM"),
                      "worker_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                      "worker_hwm_kb": sorted(worker_hwm.values(), reverse=True)}))


def run_pipeline(sandbox: Sandbox | None, endpoint: str, source: dict[str, Any], table: str, workers: int,
                 count_lines: bool = False) -> dict[str, Any]:
    """One timed run over ``table``'s unloaded partitions, to a fresh sink; returns its figures."""
    info = source["tables"][table]
    partitions = len(info["manifests"])
    sink = subprocess.Popen([sys.executable, __file__, "--sink"] + (["--count-lines"] if count_lines else []),
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(sink.stdout.readline())
        job = {"endpoint": endpoint, "database": source["database"], "table": table, "s3_uri": source["s3_uri"],
               "manifests": info["manifests"], "partitions": partitions, "url": f"http://127.0.0.1:{port}",
               "workers": workers}
        sandbox_cpu = sandbox.cpu_seconds() if sandbox else None
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--pipeline-child", json.dumps(job)], capture_output=True,
                               text=True, check=False)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sandbox_cpu = round(sandbox.cpu_seconds() - sandbox_cpu, 3) if sandbox else None
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as resp:
            received = json.loads(resp.read())
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    if child.returncode != 0:
        raise SystemExit(f"pipeline run failed: {child.stderr[-3000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    if result["status"] != "ok":
        raise SystemExit(f"pipeline run failed: {result['reason']}")
    rows = result["rows"]
    worker_kb = max([result["worker_rss_kb"]] + result["worker_hwm_kb"])
    peak_mb = (result["parent_rss_kb"] + workers * worker_kb) / 1024
    out = {"rows": rows, "source_rows": info["rows"], "lines": result["lines"], "workers": workers,
           "partitions": partitions, "status": result["status"], "seconds": round(result["duration"], 3),
           "wall_seconds_with_startup": round(wall, 3), "rows_per_second": round(rows / result["duration"]),
           "gzip_bytes_sent": result["bytes"], "sink_requests": received["requests"],
           "sink_bytes": received["bytes"],
           # CPU time of the run and its workers (not the sink, not the sandbox serving S3)
           "cpu_seconds": round(cpu, 3), "rows_per_cpu_second": round(rows / cpu),
           "projected_rows_per_second_on_idle_cores": round(min(workers, os.cpu_count() or 1) * rows / cpu),
           "sandbox_cpu_seconds_serving_s3": sandbox_cpu,
           "peak_rss_mb_parent": round(result["parent_rss_kb"] / 1024, 1),
           "peak_rss_mb_per_worker": round(worker_kb / 1024, 1),
           "peak_rss_mb_workers_sampled": [round(kb / 1024, 1) for kb in result["worker_hwm_kb"]],
           "peak_rss_mb_total": round(peak_mb, 1),
           "write_seconds_setup": info["write_seconds"], "unload_seconds": info["unload_seconds"]}
    if count_lines:
        out["sink_lines"] = received["lines"]
    return out


def bench_pipeline(sizes: list[int], workers: int, partitions: int = 8, writer_threads: int = 3,
                   endpoint: str | None = None, count_lines: bool = False) -> dict[str, Any]:
    """Setup (own sandbox unless ``endpoint``), then one timed run per size."""
    with tempfile.TemporaryDirectory(prefix="tsm-bench-") as tmp:
        if endpoint is None:
            with Sandbox(str(Path(tmp) / "sandbox")) as sandbox:
                return _bench_pipeline(sandbox, sandbox.endpoint, sizes, workers, partitions, writer_threads,
                                       count_lines)
        return _bench_pipeline(None, endpoint, sizes, workers, partitions, writer_threads, count_lines)


def _bench_pipeline(sandbox: Sandbox | None, endpoint: str, sizes: list[int], workers: int, partitions: int,
                    writer_threads: int, count_lines: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    source = prepare_source(endpoint, sizes, partitions, writer_threads)
    setup = {"seconds": round(time.perf_counter() - t0, 3), "database": source["database"],
             "tables": {t: {k: v for k, v in info.items() if k != "manifests"} for t, info in source["tables"].items()}}
    runs = [run_pipeline(sandbox, endpoint, source, f"metrics_{rows}", workers, count_lines) for rows in sizes]
    return {"setup": setup, "runs": runs}


def table_of(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    conversion, runs = results["conversion"], results["pipeline_runs"]
    pipeline = results["pipeline"]
    rows = []
    if conversion:
        rows += [
            ("conversion: converter rows/s", f"{conversion['converter_rows_per_second']:,}", ""),
            ("conversion: Point rows/s", f"{conversion['point_rows_per_second']:,}", ""),
            ("conversion: ratio (converter / Point)", f"{conversion['ratio']}x", ">= 5x"),
            ("conversion: sampled points that differ",
             f"{conversion['sample_differ']} of {conversion['sample_compared']}", "0"),
        ]
    if pipeline:
        setup = results["pipeline_setup"]
        for info in setup["tables"].values():
            rows.append((f"setup: WriteRecords, {info['rows']:,} rows (records/s)",
                         f"{info['write_records_per_second']:,}", "(not timed)"))
            rows.append((f"setup: UNLOAD, {info['rows']:,} rows (s)", f"{info['unload_seconds']}",
                         "(Timestream's work)"))
        for run in runs:
            rows.append((f"pipeline: rows/s, {run['rows']:,} rows ({run['workers']} workers)",
                         f"{run['rows_per_second']:,}", ">= 250,000"))
        rows += [
            ("pipeline: rows per CPU-second", f"{pipeline['rows_per_cpu_second']:,}", ""),
            ("pipeline: projected rows/s on idle cores", f"{pipeline['projected_rows_per_second_on_idle_cores']:,}",
             ">= 250,000"),
        ]
        for run in runs:
            rows.append((f"pipeline: peak RSS, {run['rows']:,} rows (MB)", f"{run['peak_rss_mb_total']}", "< 256"))
    return rows


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        _sink("--count-lines" in sys.argv[2:])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--pipeline-child":
        _pipeline_child(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser(description="Benchmarks of the migration engine (make bench).")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the conversion benchmark (0: skip it)")
    ap.add_argument("--pipeline-rows", type=int, nargs="+", default=[250_000, 1_000_000],
                    help="table sizes of the pipeline runs (0: skip the pipeline)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=8, help="hourly partitions per table")
    ap.add_argument("--writer-threads", type=int, default=3, help="threads writing the source records (setup)")
    ap.add_argument("--endpoint", help="use this running sandbox instead of starting one")
    ap.add_argument("--json", metavar="PATH", help="also write the results JSON to PATH")
    args = ap.parse_args()
    sizes = [n for n in args.pipeline_rows if n > 0]
    # the pipeline first, while this process is small (the conversion benchmark holds its rows)
    pipeline = bench_pipeline(sizes, args.workers, args.partitions, args.writer_threads, args.endpoint) if sizes \
        else None
    conversion = bench_conversion(args.rows) if args.rows > 0 else None
    runs = pipeline["runs"] if pipeline else []
    results = {"conversion": conversion,
               # the largest run (its keys as before), then every run and the setup
               "pipeline": max(runs, key=lambda r: r["rows"]) if runs else None,
               "pipeline_runs": runs, "pipeline_setup": pipeline["setup"] if pipeline else None,
               "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print()
    print(f"{'measure':<52} {'result':>16}  target")
    for name, value, target in table_of(results):
        print(f"{name:<52} {value:>16}  {target}")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}: shared machines run slower)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
