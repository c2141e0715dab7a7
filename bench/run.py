"""`make bench`: every benchmark of the project in one report (never part of `make test`).

1. bench/site.py: site.yml twice on a fresh sandbox with a realistic create delay (stage times, AWS calls
   by operation, calls per managed resource against the API minimum, targets);
2. bench/timestream_migrate.py: the migration engine (converter against influxdb-client's Point, the
   UNLOAD-to-InfluxDB pipeline's rows/s and memory).

One after the other (each wants the machine to itself). Writes the combined results to bench/results.json
(git-ignored; the site benchmark's raw measurements to bench/site-raw.json, which `bench/site.py
--from-raw` reports on again), prints them as JSON, then one table with every figure beside its target.

    python bench/run.py [--create-delay 60] [--json bench/results.json] [--only site|migration]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def split_json_and_text(stdout: str) -> tuple[Any, str]:
    """A benchmark's stdout: its JSON document first, then its table."""
    text = stdout.lstrip()
    if not text.startswith("{"):
        raise ValueError(f"no JSON document at the start of the output:\n{stdout[:2000]}")
    document, end = json.JSONDecoder().raw_decode(text)
    return document, text[end:].strip("\n")


def knows_json(cmd: list[str]) -> bool:
    """Whether a benchmark takes --json PATH (its --help says so)."""
    proc = subprocess.run([*cmd, "--help"], cwd=REPO, capture_output=True, text=True, check=False)
    return "--json" in proc.stdout


def run_benchmark(cmd: list[str], json_path: Path) -> tuple[int, Any, str, float]:
    """Run one benchmark (its progress on stderr goes straight through); (rc, results, its table, seconds).
    Its results come from ``--json json_path``, or, for a benchmark that does not know --json yet, from
    the JSON document at the start of its stdout."""
    full = [*cmd, "--json", str(json_path)] if knows_json(cmd) else cmd
    print(f"$ {' '.join(full)}", file=sys.stderr, flush=True)
    start = time.monotonic()
    proc = subprocess.run(full, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    seconds = time.monotonic() - start
    try:
        document, table = split_json_and_text(proc.stdout)
    except ValueError as exc:
        return proc.returncode or 1, {"error": str(exc)}, proc.stdout[-4000:], seconds
    if json_path.exists():
        document = json.loads(json_path.read_text())
    return proc.returncode, document, table, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--create-delay", type=float, default=60.0,
                    help="seconds the sandbox takes to create a Timestream for InfluxDB instance (60)")
    ap.add_argument("--json", type=Path, default=BENCH / "results.json", help="where to write the combined results")
    ap.add_argument("--only", choices=("site", "migration"), help="run one benchmark only")
    args = ap.parse_args(argv)

    python = sys.executable
    results: dict[str, Any] = {}
    tables: list[tuple[str, str]] = []
    rc = 0
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if args.only in (None, "site"):
            code, doc, table, seconds = run_benchmark(
                [python, "bench/site.py", "--create-delay", f"{args.create_delay:g}", "--raw", str(BENCH / "site-raw.json")],
                Path(tmp) / "site.json")
            results["site"] = doc
            results["site_benchmark_seconds"] = round(seconds, 1)
            tables.append(("site.yml (bench/site.py)", table))
            rc = rc or code
        if args.only in (None, "migration"):
            code, doc, table, seconds = run_benchmark([python, "bench/timestream_migrate.py"], Path(tmp) / "migration.json")
            results["migration"] = doc
            results["migration_benchmark_seconds"] = round(seconds, 1)
            tables.append(("Migration engine (bench/timestream_migrate.py)", table))
            rc = rc or code
    results["cpus"] = os.cpu_count()
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.json.write_text(json.dumps(results, indent=2) + "\n")

    print(json.dumps(results, indent=2))
    print()
    summary = summary_lines(results)
    if summary:
        print("Targets")
        print("\n".join(summary))
        print()
    for title, table in tables:
        print(f"=== {title}")
        print(table)
        print()
    print(f"(results: {args.json}; machine: {results['cpus']} CPUs, load average {results['load_average'][0]:.2f}: "
          "a shared machine runs slower, so compare ratios measured in one run)")
    return rc


def summary_lines(results: dict[str, Any]) -> list[str]:
    """Every site figure that has a target, as one line each (the migration's are in its own table)."""
    lines = []
    for v in results.get("site", {}).get("targets", []):
        lines.append(f"  site.yml  {v['figure']:<48} {v['value']!s:>10}  {v['target']}  [{'PASS' if v['pass'] else 'MISS'}]")
    return lines


if __name__ == "__main__":
    sys.exit(main())
