"""The benchmark's pipeline (bench/timestream_migrate.py, run by `make bench`) end to end at a tiny size:
records written through the sandbox's Timestream Write API, UNLOADed by the engine into the sandbox's
S3, read back through boto3 by the engine's workers and posted to the bench's HTTP sink, which counts
the lines it receives. Counts only: speed is `make bench`'s business, never a test's."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.helpers.ansible import REPO

ROWS, PARTITIONS = 12_000, 2  # 6,000 rows a partition: one full 5,000-line batch and one of 1,000


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_timestream_migrate", REPO / "bench" / "timestream_migrate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_pipeline_delivers_every_source_row_to_the_sink(aws_sandbox) -> None:
    bench = _bench()
    result = bench.bench_pipeline([ROWS], workers=2, partitions=PARTITIONS, writer_threads=2,
                                  endpoint=aws_sandbox.endpoint, count_lines=True)
    setup = result["setup"]["tables"][f"metrics_{ROWS}"]
    assert setup["rows"] == ROWS
    [run] = result["runs"]
    assert run["status"] == "ok"
    assert run["partitions"] == PARTITIONS
    # rows in (written to Timestream, unloaded, read back) = lines converted = lines the sink received
    assert run["source_rows"] == run["rows"] == run["lines"] == run["sink_lines"] == ROWS
    assert run["sink_requests"] == 2 * PARTITIONS
    assert run["sink_bytes"] == run["gzip_bytes_sent"] > 0
    assert run["peak_rss_mb_total"] > 0 and run["cpu_seconds"] > 0
