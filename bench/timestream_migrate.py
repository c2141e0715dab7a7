"""Benchmarks of the migration engine (`make bench`; not part of the test run).

(a) conversion: the same generated rows (hundreds of series, mixed types, a few escapes) through the
    engine's RowConverter and through influxdb-client's ``Point(...).to_line_protocol()`` in one run; a
    sample of both outputs is parsed with the sandbox's port of InfluxDB's scanner and must be the same
    points. Target: the converter at least 5x faster.
(b) pipeline: UNLOAD result files (manifest, metadata, gzipped CSV, in Timestream's layout) read,
    converted and written gzip-compressed in 5,000-line batches by worker processes to a local HTTP
    sink that accepts and discards writes. Targets: at least 250,000 rows/s on 2 cores, peak RSS below
    256 MB (parent and every worker together, whatever the size).

    python bench/timestream_migrate.py [--rows 1000000] [--pipeline-rows 1000000] [--workers 2]

Prints the results as JSON, then as a table with the targets beside them.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import http.server
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


# --- pipeline ---------------------------------------------------------------------------------------
def write_unload_layout(root: Path, total: int, files: int) -> list[str]:
    """One UNLOAD result per partition: results/<id>_<n>.csv.gz, <id>_manifest.json, <id>_metadata.json."""
    manifests = []
    per = total // files
    for f in range(files):
        qid = f"AEDQ{f:04d}"
        results = root / f"p{f}" / "results"
        results.mkdir(parents=True)
        data = results / f"{qid}_0_abc.csv.gz"
        buf = io.StringIO()
        writer = csv.writer(buf, escapechar="\\", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerows(generate(per, seed=f, start_ns=START_NS + f * 3_600_000_000_000))
        data.write_bytes(gzip.compress(buf.getvalue().encode(), compresslevel=1))
        manifest = root / f"p{f}" / f"{qid}_abc_manifest.json"
        manifest.write_text(json.dumps({
            "result_files": [{"url": str(data), "file_metadata": {"content_length_in_bytes": data.stat().st_size,
                                                                  "row_count": per}}],
            "query_metadata": {"total_row_count": per, "result_format": "CSV",
                               "result_version": "Amazon Timestream version 1.0.0"},
            "author": {"name": "Amazon Timestream", "manifest_file_version": "1.0"}}))
        (root / f"p{f}" / f"{qid}_abc_metadata.json").write_text(json.dumps({
            "ColumnInfo": [{"Name": n, "Type": {"ScalarType": t}} for n, t, _k in COLUMNS],
            "Author": {"Name": "Amazon Timestream", "MetadataFileVersion": "1.0"}}))
        manifests.append(str(manifest))
    return manifests


def _sink() -> None:
    """A local InfluxDB stand-in that accepts and discards writes (runs in its own process)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                remaining -= len(self.rfile.read(min(remaining, 1 << 16)))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _pipeline_child(manifests_json: str, url: str, workers: int) -> None:
    """Runs the engine over the files (as a child process, so its peak RSS is its own)."""
    from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration_io import (
        TimestreamSource,
        run_migration,
    )

    manifests = json.loads(manifests_json)
    hour = 3_600_000_000_000

    class FilesSource(TimestreamSource):
        """UNLOAD already done: each partition's manifest is a local file."""

        def list_tables(self):
            return ["metrics"]

        def columns(self, table):
            return COLUMNS

        def unload(self, p):
            return manifests[(p.start - START_NS) // hour]

    settings = MigrationSettings(database="bench", tables=["metrics"], source="unload", unload_s3_uri="s3://x/y",
                                 url=url, token="t", org="o", bucket="b", time_from=START_NS,
                                 time_to=START_NS + len(manifests) * hour, partition_seconds=3600, workers=workers,
                                 verify=False)
    report = run_migration(settings, lambda name: None, source_factory=FilesSource)
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"status": report["status"], "reason": report["reason"], "rows": report["totals"]["rows"],
                      "duration": report["duration_seconds"], "bytes": report["totals"]["bytes"],
                      "parent_rss_kb": self_rss, "worker_rss_kb": child_rss}))


def bench_pipeline(count: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="tsm-bench-") as tmp:
        files = max(workers * 4, 8)
        # written by a child process: this one stays small, so the run's own peak RSS is measured
        manifests = json.loads(subprocess.run([sys.executable, __file__, "--write-files", tmp, str(count), str(files)],
                                              capture_output=True, text=True, check=True).stdout)
        sink = subprocess.Popen([sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, text=True)
        try:
            port = int(sink.stdout.readline())
            t0 = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            child = subprocess.run([sys.executable, __file__, "--pipeline-child", json.dumps(manifests),
                                    f"http://127.0.0.1:{port}", str(workers)], capture_output=True, text=True,
                                   check=False)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        finally:
            sink.terminate()
            sink.wait(timeout=10)
        if child.returncode != 0:
            raise SystemExit(f"pipeline run failed: {child.stderr[-3000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    peak_mb = (result["parent_rss_kb"] + workers * result["worker_rss_kb"]) / 1024
    return {"rows": rows, "workers": workers, "files": files, "status": result["status"],
            "seconds": round(result["duration"], 3), "wall_seconds_with_startup": round(wall, 3),
            "rows_per_second": round(rows / result["duration"]), "gzip_bytes_sent": result["bytes"],
            # CPU time of the run and its workers (not the sink): what the rate would be on idle cores
            "cpu_seconds": round(cpu, 3), "rows_per_cpu_second": round(rows / cpu),
            "projected_rows_per_second_on_idle_cores": round(min(workers, os.cpu_count() or 1) * rows / cpu),
            "peak_rss_mb_parent": round(result["parent_rss_kb"] / 1024, 1),
            "peak_rss_mb_per_worker": round(result["worker_rss_kb"] / 1024, 1),
            "peak_rss_mb_total": round(peak_mb, 1)}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        _sink()
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--write-files":
        print(json.dumps(write_unload_layout(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--pipeline-child":
        _pipeline_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pipeline-rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    # the pipeline first: a child process keeps its parent's peak RSS across exec (ru_maxrss), so it is
    # started before this process holds the conversion benchmark's rows
    pipeline = bench_pipeline(args.pipeline_rows, args.workers)
    conversion = bench_conversion(args.rows)
    results = {"conversion": conversion, "pipeline": pipeline, "cpus": os.cpu_count(),
               "load_average": os.getloadavg()}
    print(json.dumps(results, indent=2))
    table = [
        ("conversion: converter rows/s", f"{conversion['converter_rows_per_second']:,}", ""),
        ("conversion: Point rows/s", f"{conversion['point_rows_per_second']:,}", ""),
        ("conversion: ratio (converter / Point)", f"{conversion['ratio']}x", ">= 5x"),
        ("conversion: sampled points that differ", f"{conversion['sample_differ']} of {conversion['sample_compared']}",
         "0"),
        (f"pipeline: rows/s ({pipeline['workers']} workers)", f"{pipeline['rows_per_second']:,}", ">= 250,000"),
        ("pipeline: rows per CPU-second", f"{pipeline['rows_per_cpu_second']:,}", ""),
        ("pipeline: projected rows/s on idle cores", f"{pipeline['projected_rows_per_second_on_idle_cores']:,}",
         ">= 250,000"),
        ("pipeline: peak RSS, parent + workers (MB)", f"{pipeline['peak_rss_mb_total']}", "< 256"),
    ]
    print()
    print(f"{'measure':<44} {'result':>16}  target")
    for name, value, target in table:
        print(f"{name:<44} {value:>16}  {target}")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}: shared machines run slower)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
