# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Migration I/O and the run: Timestream sources, InfluxDB and file sinks, verification, workers.

* ``TimestreamSource``: tables (timestream-write ``ListTables``), columns (``DESCRIBE``), time bounds and
  counts, and the rows of a time window through the Query API (``MaxRows``/``NextToken`` pages) or through
  ``UNLOAD`` to S3 (result files found by the manifest, column types by the metadata file; CSV or Parquet,
  gzip or not), streamed so memory stays flat whatever the size.
* ``InfluxWriter``: ``POST /api/v2/write`` gzip-compressed batches; 429 and 5xx (and dropped connections)
  retried with exponential backoff and full jitter, ``Retry-After`` honoured; any other 4xx raises
  ``BatchRejected`` with the offending line, never retried.
* ``FileSink``: line protocol to a file (``.gz`` compressed) or stdout (``-``).
* ``InfluxVerifier``: Flux counts per measurement and time window (``group() |> count()``, which real
  InfluxDB answers from storage for any mix of field types) and exact comparison of sampled points.
* ``run_migration``: plan, resume, fan out partitions to worker processes, verify, report.
"""

from __future__ import annotations

import csv
import email.utils
import gzip
import io
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
import traceback
import zlib
from itertools import islice
from urllib.parse import urlencode
from typing import Any, Callable, Iterator, Sequence

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.lineprotocol import (
    ns_to_rfc3339,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration import (
    ConversionStats,
    MigrationError,
    MigrationSettings,
    Partition,
    ProgressStore,
    RowConverter,
    TablePlan,
    build_table_plan,
    classify_columns,
    finite_rate,
    new_report,
    partition_owner,
    plan_partitions,
    write_json_atomic,
)

try:
    import urllib3
    HAS_URLLIB3 = True
except ImportError:  # pragma: no cover - botocore depends on urllib3
    HAS_URLLIB3 = False

csv.field_size_limit(1 << 30)


# ----------------------------------------------------------------------------------------------
# Source
# ----------------------------------------------------------------------------------------------
def quote_ident(name: str) -> str:
    """A Timestream SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def page_rows(response: dict[str, Any]) -> tuple[list[tuple[str, str]], list[list[str | None]]]:
    """Columns ``(name, scalar type)`` and rows (text or None) of one Query API page."""
    columns = [(c.get("Name", ""), (c.get("Type") or {}).get("ScalarType") or "VARCHAR")
               for c in response.get("ColumnInfo", [])]
    rows = [[d.get("ScalarValue") for d in r["Data"]] for r in response.get("Rows", [])]
    return columns, rows


def time_window_sql(start: int, end: int) -> str:
    return f"time >= from_nanoseconds({start}) AND time < from_nanoseconds({end})"


class TimestreamSource:
    """Timestream for LiveAnalytics through boto3 (``timestream-query``, ``timestream-write``, ``s3``)."""

    def __init__(self, settings: MigrationSettings, clients: Callable[[str], Any]):
        self.settings = settings
        self._clients = clients
        self._cache: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._clients(name)
        return self._cache[name]

    def query(self, sql: str) -> Iterator[tuple[list[tuple[str, str]], list[list[str | None]]]]:
        """Pages of a query: MaxRows per page, following NextToken to the end."""
        kwargs: dict[str, Any] = {"QueryString": sql, "MaxRows": self.settings.max_rows}
        while True:
            response = self.client("timestream-query").query(**kwargs)
            yield page_rows(response)
            token = response.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token

    def scalar(self, sql: str) -> list[str | None]:
        for _cols, rows in self.query(sql):
            if rows:
                return rows[0]
        return []

    def list_tables(self) -> list[str]:
        client = self.client("timestream-write")
        names, kwargs = [], {"DatabaseName": self.settings.database}
        while True:
            response = client.list_tables(**kwargs)
            names += [t["TableName"] for t in response.get("Tables", [])]
            if not response.get("NextToken"):
                return sorted(names)
            kwargs["NextToken"] = response["NextToken"]

    def columns(self, table: str) -> list[tuple[str, str, str | None]]:
        """``(name, type, kind)`` from ``DESCRIBE``; kind None when DESCRIBE is not answered."""
        db = self.settings.database
        try:
            out = []
            for cols, rows in self.query(f"DESCRIBE {quote_ident(db)}.{quote_ident(table)}"):
                names = [c[0] for c in cols]
                for row in rows:
                    rec = dict(zip(names, row))
                    out.append((rec.get("Column"), rec.get("Type"), rec.get("Timestream attribute type")))
            if out:
                return out
        except Exception as exc:
            if "ValidationException" not in type(exc).__name__ and "Validation" not in str(exc):
                raise
        for cols, _rows in self.query(f"SELECT * FROM {quote_ident(db)}.{quote_ident(table)} LIMIT 1"):
            return [(n, t, None) for n, t in cols]
        return []

    def bounds(self, table: str) -> tuple[int, int, int] | None:
        """(first time ns, last time ns + 1, rows) of a table, None when empty."""
        from ansible_collections.ons.timestream_influxdb.plugins.module_utils.lineprotocol import (
            timestamp_ns,
        )
        row = self.scalar(f"SELECT min(time), max(time), count(*) FROM "
                          f"{quote_ident(self.settings.database)}.{quote_ident(table)}")
        if not row or row[0] is None or row[2] in (None, "0"):
            return None
        return timestamp_ns(row[0]), timestamp_ns(row[1]) + 1, int(row[2])

    def count(self, p: Partition) -> int:
        row = self.scalar(f"SELECT count(*) FROM {quote_ident(self.settings.database)}.{quote_ident(p.table)} "
                          f"WHERE {time_window_sql(p.start, p.end)}")
        return int(row[0]) if row and row[0] is not None else 0

    def select_sql(self, p: Partition) -> str:
        return (f"SELECT * FROM {quote_ident(self.settings.database)}.{quote_ident(p.table)} "
                f"WHERE {time_window_sql(p.start, p.end)}")

    def rows(self, p: Partition) -> Iterator[tuple[list[str], list[list[Any]]]]:
        """(column names, rows) chunks of a partition, by the configured source."""
        if self.settings.source == "unload":
            yield from self.unload_rows(p)
            return
        for cols, rows in self.query(self.select_sql(p)):
            yield [c[0] for c in cols], rows

    # -- UNLOAD ----------------------------------------------------------------------------------
    def unload(self, p: Partition) -> str:
        """Run UNLOAD for a partition; returns the manifest's s3:// URL."""
        prefix = self.settings.unload_s3_uri.rstrip("/")
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", p.table)
        fmt = self.settings.unload_format.upper()
        sql = (f"UNLOAD ({self.select_sql(p)}) TO '{prefix}/{safe}/{p.start}-{p.end}/' "
               f"WITH (format = '{fmt}', compression = 'GZIP'"
               + (", include_header = 'true'" if fmt == "CSV" else "") + ")")
        manifest = None
        for cols, rows in self.query(sql):
            names = [c[0] for c in cols]
            for row in rows:
                rec = dict(zip(names, row))
                manifest = rec.get("manifestFile") or next(
                    (v for v in row if isinstance(v, str) and v.startswith("s3://") and "manifest" in v), None)
        if not manifest:
            raise MigrationError(f"UNLOAD of {p.label()} answered no manifest file")
        return manifest

    def unload_rows(self, p: Partition) -> Iterator[tuple[list[str], list[list[Any]]]]:
        manifest_url = self.unload(p)
        yield from read_unload(manifest_url, self.open_url)

    def open_url(self, url: str) -> io.BufferedIOBase:
        """A readable binary stream of an s3:// object (streamed) or a local path / file:// URL."""
        if url.startswith("s3://"):
            bucket, key = url[5:].split("/", 1)
            return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return open(url[7:] if url.startswith("file://") else url, "rb")


def _read_json(opener: Callable[[str], Any], url: str) -> Any:
    stream = opener(url)
    try:
        return json.loads(stream.read())
    finally:
        stream.close()


def read_unload(manifest_url: str, opener: Callable[[str], Any], chunk_rows: int = 5000
                ) -> Iterator[tuple[list[str], list[list[Any]]]]:
    """Rows of an UNLOAD result: the manifest lists the files, the metadata file gives the columns.

    The metadata file is the manifest's sibling (``..._metadata.json``) or named by the manifest; CSV files
    (optionally with a header, gzip or not, ``\\`` as escape character) and Parquet files (needs pyarrow) are
    read in chunks of ``chunk_rows``; values stay text (CSV) or typed (Parquet) for ``RowConverter``.
    """
    manifest = _read_json(opener, manifest_url)
    files = [f["url"] for f in manifest.get("result_files", [])]
    fmt = (manifest.get("query_metadata", {}).get("result_format") or "CSV").upper()
    metadata_url = manifest.get("metadata_file") or re.sub(r"manifest(\.json)?$", r"metadata\1", manifest_url)
    if metadata_url == manifest_url:
        metadata_url = manifest_url.rsplit("/", 1)[0] + "/metadata.json"
    try:
        metadata = _read_json(opener, metadata_url)
        names = [c["Name"] for c in metadata.get("ColumnInfo", [])]
    except Exception:
        names = []
    for url in files:
        if fmt == "PARQUET" or url.endswith(".parquet"):
            yield from _parquet_chunks(opener, url, chunk_rows)
        else:
            yield from _csv_chunks(opener, url, names, chunk_rows)


def _csv_chunks(opener: Callable[[str], Any], url: str, names: list[str], chunk_rows: int
                ) -> Iterator[tuple[list[str], list[list[Any]]]]:
    raw = opener(url)
    try:
        head = raw.read(2)
        stream: Any = _Prepend(head, raw)
        if head == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=stream)
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        reader = csv.reader(text, escapechar="\\", strict=False)
        columns = names
        first = next(reader, None)
        if first is None:
            return
        chunk: list[list[Any]] = []
        if not columns or first == columns:
            columns = columns or first
        else:
            chunk.append(first)
        chunk += islice(reader, chunk_rows - len(chunk))
        while chunk:
            yield columns, chunk
            chunk = list(islice(reader, chunk_rows))
    finally:
        raw.close()


def _parquet_chunks(opener: Callable[[str], Any], url: str, chunk_rows: int
                    ) -> Iterator[tuple[list[str], list[list[Any]]]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MigrationError("reading Parquet UNLOAD files needs pyarrow; install it, or use unload_format CSV")
    # Parquet needs random access: the object is spooled to a temporary file (memory stays flat)
    with tempfile.TemporaryFile(prefix="tsm-") as spool:
        stream = opener(url)
        try:
            for block in iter(lambda: stream.read(1 << 20), b""):
                spool.write(block)
        finally:
            stream.close()
        spool.seek(0)
        pf = pq.ParquetFile(spool)
        for batch in pf.iter_batches(batch_size=chunk_rows):
            columns = []
            for col in batch.columns:
                if pa.types.is_timestamp(col.type):
                    col = col.cast(pa.timestamp("ns")).cast(pa.int64())
                columns.append(col.to_pylist())
            yield list(batch.schema.names), [list(r) for r in zip(*columns)]


class _Prepend(io.RawIOBase):
    """A stream with a few already-read bytes put back in front."""

    def __init__(self, head: bytes, rest: Any):
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(b))
        b[:len(data)] = data
        return len(data)


# ----------------------------------------------------------------------------------------------
# Sinks
# ----------------------------------------------------------------------------------------------
class BatchRejected(Exception):
    """InfluxDB refused a batch with a 4xx other than 429 (not retried)."""

    def __init__(self, status: int, message: str, line_index: int | None):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.line_index = status, message, line_index


def retry_delay(attempt: int, base: float, cap: float, retry_after: str | None, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): Retry-After when given, else full jitter backoff."""
    if retry_after:
        try:
            return min(max(0.0, float(retry_after)), cap * 10)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(retry_after) if retry_after else None
            if parsed is not None:
                return min(max(0.0, parsed.timestamp() - time.time()), cap * 10)
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


def find_offending_line(message: str, lines: Sequence[str]) -> int | None:
    """Index of the line an InfluxDB write error is about (``unable to parse '<line>'`` or a field conflict)."""
    for i, line in enumerate(lines):
        if f"'{line}'" in message:
            return i
    m = re.search(r'input field "([^"]*)" on measurement "([^"]*)"', message)
    if m:
        fkey, meas = m.group(1), m.group(2)
        esc_meas = meas.replace(",", "\\,").replace(" ", "\\ ")
        esc_key = fkey.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ") + "="
        for i, line in enumerate(lines):
            if line.startswith(esc_meas) and (f" {esc_key}" in line or f",{esc_key}" in line):
                return i
    return None


class InfluxWriter:
    """Batches to ``POST /api/v2/write`` (precision ns), gzip-compressed."""

    def __init__(self, settings: MigrationSettings, sleep: Callable[[float], None] = time.sleep):
        if not HAS_URLLIB3:
            raise MigrationError("urllib3 is required to write to InfluxDB")
        self.settings = settings
        kwargs: dict[str, Any] = {"timeout": urllib3.Timeout(connect=10, read=settings.timeout), "retries": False,
                                  "maxsize": 2}
        if settings.url.startswith("https://"):
            kwargs["cert_reqs"] = "CERT_REQUIRED" if settings.validate_certs else "CERT_NONE"
            if settings.ca_path:
                kwargs["ca_certs"] = settings.ca_path
            if not settings.validate_certs:
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.http = urllib3.PoolManager(**kwargs)
        self.write_url = (settings.url.rstrip("/") + "/api/v2/write?"
                          + urlencode({"org": settings.org, "bucket": settings.bucket, "precision": "ns"}))
        self.headers = {"Authorization": f"Token {settings.token}", "Content-Type": "text/plain; charset=utf-8",
                        "Accept": "application/json"}
        if settings.gzip_level:
            self.headers["Content-Encoding"] = "gzip"
        self.sleep = sleep
        self.rng = random.Random()
        self.retries = 0
        self.bytes = 0

    def write(self, lines: Sequence[str]) -> None:
        body = ("\n".join(lines) + "\n").encode("utf-8")
        if self.settings.gzip_level:
            body = gzip.compress(body, compresslevel=self.settings.gzip_level)
        self.bytes += len(body)
        attempt = 0
        while True:
            retry_after = None
            try:
                resp = self.http.request("POST", self.write_url, body=body, headers=self.headers)
                status = resp.status
                text = resp.data.decode("utf-8", "replace")
                retry_after = resp.headers.get("Retry-After")
            except urllib3.exceptions.HTTPError as exc:
                status, text = 0, f"connection failed: {exc}"
            if 200 <= status < 300:
                return
            if status and status != 429 and status < 500:
                try:
                    message = json.loads(text).get("message") or text
                except ValueError:
                    message = text
                raise BatchRejected(status, message.strip()[:2000], find_offending_line(message, lines))
            if attempt >= self.settings.max_retries:
                raise MigrationError(f"writing to {self.settings.url} failed after {attempt + 1} attempts: "
                                     f"HTTP {status or 'no answer'}: {text.strip()[:300]}")
            self.sleep(retry_delay(attempt, self.settings.retry_base_seconds, self.settings.retry_max_seconds,
                                   retry_after, self.rng))
            attempt += 1
            self.retries += 1

    def close(self) -> None:
        self.http.clear()


class FileSink:
    """Line protocol to a file (gzip when the name ends in .gz) or to stdout (``-``)."""

    def __init__(self, path: str, append: bool = False):
        self.path = path
        self.bytes = 0
        self.retries = 0
        if path == "-":
            self.fh: Any = sys.stdout
        elif path.endswith(".gz"):
            self.fh = gzip.open(path, "at" if append else "wt", encoding="utf-8", compresslevel=6, newline="\n")
        else:
            self.fh = open(path, "a" if append else "w", encoding="utf-8", newline="\n")

    def write(self, lines: Sequence[str]) -> None:
        text = "\n".join(lines) + "\n"
        self.bytes += len(text)
        self.fh.write(text)

    def close(self) -> None:
        if self.fh is sys.stdout:
            self.fh.flush()
        else:
            self.fh.close()


# ----------------------------------------------------------------------------------------------
# Verification
# ----------------------------------------------------------------------------------------------
def flux_string(value: str) -> str:
    """A Flux string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def parse_annotated_csv(text: str) -> list[dict[str, Any]]:
    """Records of an annotated CSV Flux answer, values typed by the ``#datatype`` annotation."""
    records: list[dict[str, Any]] = []
    types: list[str] = []
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row or all(c == "" for c in row):
            header = None
            continue
        if row[0] == "#datatype":
            types, header = row, None
            continue
        if row[0].startswith("#"):
            continue
        if header is None:
            header = row
            continue
        rec: dict[str, Any] = {}
        for name, kind, value in zip(header, types or [""] * len(row), row):
            if not name:
                continue
            if kind == "long" or kind == "unsignedLong":
                rec[name] = int(value) if value != "" else None
            elif kind == "double":
                rec[name] = float(value) if value != "" else None
            elif kind == "boolean":
                rec[name] = value == "true" if value != "" else None
            else:
                # Go's CSV writer (UseCRLF) writes a newline inside a value as CRLF and drops CRs
                rec[name] = value.replace("\r\n", "\n")
            rec.setdefault("_types", {})[name] = kind
        records.append(rec)
    return records


_FLUX_KIND = {"long": "integer", "double": "float", "boolean": "boolean", "string": "string",
              "unsignedLong": "unsigned"}


class InfluxVerifier:
    """Counts and sampled points read back with Flux (``POST /api/v2/query``)."""

    def __init__(self, settings: MigrationSettings, http: Any = None):
        self.settings = settings
        timeout = urllib3.Timeout(connect=10, read=settings.timeout)
        self.http = http or urllib3.PoolManager(retries=False, timeout=timeout)
        self.url = settings.url.rstrip("/") + "/api/v2/query?" + urlencode({"org": settings.org})
        self.headers = {"Authorization": f"Token {settings.token}", "Content-Type": "application/json",
                        "Accept": "application/csv"}

    def flux(self, query: str) -> list[dict[str, Any]]:
        body = json.dumps({"query": query, "type": "flux",
                           "dialect": {"annotations": ["datatype", "group", "default"], "header": True}})
        for attempt in range(self.settings.max_retries + 1):
            resp = self.http.request("POST", self.url, body=body.encode(), headers=self.headers)
            if resp.status == 200:
                return parse_annotated_csv(resp.data.decode("utf-8"))
            if resp.status != 429 and resp.status < 500:
                raise MigrationError(f"Flux query failed (HTTP {resp.status}): {resp.data[:300]!r}; query: {query}")
            time.sleep(retry_delay(attempt, 0.5, 10, resp.headers.get("Retry-After"), random.Random()))
        raise MigrationError(f"Flux query failed after retries: {query}")

    def _head(self, measurements: Sequence[str], start: int, end: int) -> str:
        cond = " or ".join(f"r._measurement == {flux_string(m)}" for m in sorted(measurements))
        return (f"from(bucket: {flux_string(self.settings.bucket)}) |> range(start: {ns_to_rfc3339(start)}, "
                f"stop: {ns_to_rfc3339(end)}) |> filter(fn: (r) => {cond})")

    def count(self, measurements: Sequence[str], start: int, end: int) -> int:
        """Field values stored for these measurements in [start, end)."""
        if not measurements:
            return 0
        records = self.flux(self._head(measurements, start, end) + ' |> group() |> count() |> yield(name: "n")')
        return sum(int(r.get("_value") or 0) for r in records)

    def compare_point(self, point: dict[str, Any]) -> str | None:
        """None when every field of ``point`` is stored with the same type and value; else the difference."""
        cond = [f"r._measurement == {flux_string(point['measurement'])}"]
        cond += [f"r[{flux_string(k)}] == {flux_string(v)}" for k, v in sorted(point["tags"].items())]
        q = (f"from(bucket: {flux_string(self.settings.bucket)}) |> range(start: {ns_to_rfc3339(point['time'])}, "
             f"stop: {ns_to_rfc3339(point['time'] + 1)}) |> filter(fn: (r) => {' and '.join(cond)})")
        stored: dict[str, tuple[str, Any]] = {}
        for rec in self.flux(q):
            tags = {k: v for k, v in rec.items() if not k.startswith("_") and k not in ("result", "table")
                    and v not in ("", None)}
            if tags != point["tags"]:
                continue
            stored[rec["_field"]] = (_FLUX_KIND.get(rec["_types"].get("_value"), "?"), rec["_value"])
        for key, (kind, value) in point["fields"].items():
            got = stored.get(key)
            if got is None:
                return f"field {key!r} of {point['measurement']} {point['tags']} at {point['time']} is missing"
            if kind == "string":
                value = value.replace("\r", "")  # a CR is stored, but Flux's CSV answer cannot show it
            if got[0] != kind or got[1] != value or type(got[1]) is not type(value):
                return (f"field {key!r} of {point['measurement']} {point['tags']} at {point['time']}: "
                        f"wrote {kind} {value!r}, read {got[0]} {got[1]!r}")
        return None


# ----------------------------------------------------------------------------------------------
# One partition
# ----------------------------------------------------------------------------------------------
def _sample_indices(total: int, k: int, seed: str) -> set[int]:
    if total <= 0 or k <= 0:
        return set()
    rng = random.Random(zlib.crc32(seed.encode()))
    return set(rng.sample(range(total), min(k, total)))


def migrate_partition(p: Partition, plan: TablePlan, source: TimestreamSource, sink: Any,
                      verifier: InfluxVerifier | None, settings: MigrationSettings,
                      on_rows: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Read, convert, write and verify one partition; returns its progress/report entry (never raises for
    data problems: a rejected batch or a mismatch is the entry's ``status``/``error``)."""
    started = time.time()
    entry: dict[str, Any] = {"id": p.id, "table": p.table, "start": p.start, "end": p.end,
                             "from": ns_to_rfc3339(p.start), "to": ns_to_rfc3339(p.end), "status": "running"}
    source_rows = source.count(p) if verifier is not None or settings.verify else None
    sample_at = _sample_indices(source_rows or 0, settings.sample_size if verifier else 0, p.id)
    samples: list[dict[str, Any]] = []
    converter: RowConverter | None = None
    columns_seen: tuple | None = None
    batch: list[str] = []
    batch_rows: list[Any] = []
    row_no = 0
    size = settings.batch_size
    error = None
    try:
        for columns, rows in source.rows(p):
            if not rows:
                continue
            # Parquet gives typed values (time as integer ns), CSV and the Query API text
            typed = "time" in columns and not isinstance(rows[0][columns.index("time")], str)
            if converter is None or (columns, typed) != columns_seen:
                stats = converter.stats if converter else None
                measurements = converter.measurements if converter else set()
                converter = RowConverter(plan, columns, settings.max_string_bytes, typed=typed)
                if stats:
                    converter.stats, converter.measurements = stats, measurements
                columns_seen = (columns, typed)
            convert = converter.convert
            for row in rows:
                if row_no in sample_at:
                    point = converter.decode(row)
                    if point:
                        samples.append(point)
                row_no += 1
                line = convert(row)
                if line is not None:
                    batch.append(line)
                    batch_rows.append(row)
                    if len(batch) >= size:
                        sink.write(batch)
                        if on_rows:
                            on_rows(len(batch))
                        batch, batch_rows = [], []
        if batch:
            sink.write(batch)
            if on_rows:
                on_rows(len(batch))
    except BatchRejected as exc:
        line = batch[exc.line_index] if exc.line_index is not None else None
        row = converter.describe_row(batch_rows[exc.line_index]) if exc.line_index is not None else None
        error = {"partition": p.id, "kind": "rejected", "status": exc.status, "message": exc.message,
                 "line": line, "source_row": row}
    stats = converter.stats if converter else ConversionStats()
    entry.update(rows=stats.rows, lines=stats.lines, fields=stats.fields, source_rows=source_rows,
                 measurements=sorted(converter.measurements) if converter else [],
                 stats={k: v for k, v in stats.__dict__.items() if k not in ("rows", "lines", "fields")},
                 renamed=dict(plan.renamed))
    if error:
        entry.update(status="failed", error=error)
    elif source_rows is not None and source_rows != stats.rows:
        entry.update(status="failed", error={
            "partition": p.id, "kind": "source_count",
            "message": f"read {stats.rows} rows, the source counts {source_rows}"})
    elif verifier is not None:
        stored = verifier.count(entry["measurements"], p.start, p.end)
        entry["influx_fields"] = stored
        mismatches = [m for m in (verifier.compare_point(s) for s in samples) if m]
        entry["samples_compared"] = len(samples)
        entry["samples_mismatched"] = len(mismatches)
        if stored != stats.fields:
            entry.update(status="failed", error={
                "partition": p.id, "kind": "verification",
                "message": f"InfluxDB holds {stored} field values for {p.label()}, {stats.fields} were written "
                           f"({stats.rows} source rows)"})
        elif mismatches:
            entry.update(status="failed", error={"partition": p.id, "kind": "sample", "message": mismatches[0]})
        else:
            entry["status"] = "done"
            entry["verified"] = True
    else:
        entry["status"] = "done"
        entry["verified"] = False
    entry["duration_seconds"] = round(time.time() - started, 3)
    return entry


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(settings: MigrationSettings, plans: dict[str, TablePlan], clients: Callable[[str], Any],
                 counter: Any, source_factory: Callable[..., TimestreamSource]) -> None:
    _WORKER.clear()
    _WORKER.update(settings=settings, plans=plans, clients=clients, counter=counter, source_factory=source_factory)


def _worker_sink(settings: MigrationSettings, p: Partition) -> tuple[Any, str | None]:
    if settings.output_file and settings.output_file != "-":
        part = f"{settings.output_file}.parts/{re.sub(r'[^A-Za-z0-9_.-]', '_', p.id)}"
        part += ".gz" if settings.output_file.endswith(".gz") else ""
        os.makedirs(os.path.dirname(part), exist_ok=True)
        return FileSink(part), part
    if settings.output_file == "-":
        return FileSink("-"), None
    return InfluxWriter(settings), None


def _worker_run(p: Partition) -> dict[str, Any]:
    settings: MigrationSettings = _WORKER["settings"]
    counter = _WORKER.get("counter")

    def on_rows(n: int) -> None:
        if counter is not None:
            with counter.get_lock():
                counter.value += n

    sink, part = None, None
    try:
        source = _WORKER.get("source") or _WORKER["source_factory"](settings, _WORKER["clients"])
        _WORKER["source"] = source
        sink, part = _worker_sink(settings, p)
        verifier = InfluxVerifier(settings) if settings.verify and not settings.output_file else None
        entry = migrate_partition(p, _WORKER["plans"][p.table], source, sink, verifier, settings, on_rows)
        entry["bytes"] = sink.bytes
        entry["retries"] = sink.retries
        sink.close()
        sink = None
        entry["part_file"] = part
        entry["worker"] = os.getpid()
        return entry
    except Exception as exc:
        return {"id": p.id, "table": p.table, "start": p.start, "end": p.end, "status": "failed",
                "error": {"partition": p.id, "kind": "exception", "message": f"{type(exc).__name__}: {exc}",
                          "traceback": traceback.format_exc()[-2000:]}}
    finally:
        if sink is not None:
            sink.close()


def _append_part(output_file: str, part: str) -> None:
    with open(part, "rb") as src, open(output_file, "ab") as dst:
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            dst.write(chunk)
    os.unlink(part)


def plan_migration(settings: MigrationSettings, source: TimestreamSource
                   ) -> tuple[dict[str, TablePlan], list[Partition], dict]:
    """Table plans and this host's partitions; raises MigrationError for what cannot be migrated."""
    tables = settings.tables or source.list_tables()
    if not tables:
        raise MigrationError(f"database {settings.database!r} has no tables")
    plans: dict[str, TablePlan] = {}
    partitions: list[Partition] = []
    info: dict[str, Any] = {}
    for table in tables:
        columns = source.columns(table)
        if not columns:
            info[table] = {"rows": 0, "partitions": 0, "note": "empty table"}
            continue
        cols = classify_columns(columns, settings.dimensions.get(table))
        plans[table] = build_table_plan(table, cols, settings)
        start, end = settings.time_from, settings.time_to
        if start is None or end is None:
            bounds = source.bounds(table)
            if bounds is None:
                info[table] = {"rows": 0, "partitions": 0, "note": "empty table"}
                continue
            start = bounds[0] if start is None else start
            end = bounds[1] if end is None else end
        parts = plan_partitions(table, start, end, settings.partition_seconds)
        info[table] = {"partitions": len(parts), "plan": plans[table].summary()}
        partitions += parts
    return plans, partitions, info


def run_migration(settings: MigrationSettings, clients: Callable[[str], Any], check_mode: bool = False,
                  on_progress: Callable[[dict[str, Any]], None] | None = None,
                  source_factory: Callable[..., TimestreamSource] = TimestreamSource) -> dict[str, Any]:
    """The whole run; returns the report (``status`` ok / failed / planned). Raises MigrationError before
    any write for settings or tables that cannot be migrated. ``clients(name)`` makes boto3 clients (in each
    worker process); ``source_factory(settings, clients)`` the source (a subclass reads elsewhere)."""
    settings.validate()
    report = new_report(settings, "plan" if check_mode else "migrate")
    progress = ProgressStore(settings.progress_file, settings.fingerprint(), settings.restart)
    source = source_factory(settings, clients)
    plans, partitions, info = plan_migration(settings, source)
    for table, tinfo in info.items():
        report["tables"][table] = {"partitions": 0, "source_rows": 0, "rows": 0, "fields": 0, "verified": "-",
                                   **tinfo}
    mine, done_before = [], []
    for p in partitions:
        if partition_owner(p.id, settings.host_count) != settings.host_index:
            report["totals"]["partitions_other_hosts"] += 1
            continue
        (done_before if progress.done(p.id) else mine).append(p)
    report["totals"]["partitions"] = len(mine) + len(done_before)
    report["pending"] = [p.id for p in mine]
    for p in done_before:
        _account(report, progress.done(p.id), before=True)

    def save_report() -> None:
        now = time.time()
        report["duration_seconds"] = round(now - report["started"], 3)
        report["rows_per_second"] = round(finite_rate(report["totals"]["rows"], report["duration_seconds"]), 1)
        if settings.report_file:
            write_json_atomic(settings.report_file, report)
        if on_progress:
            on_progress(report)

    if check_mode:
        report["status"] = "planned"
        report["finished"] = time.time()
        save_report()
        return report
    if settings.output_file and settings.output_file not in ("-",) and not progress.data["partitions"]:
        open(settings.output_file, "wb").close()  # a fresh run starts a fresh file

    import multiprocessing
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    counter = (ctx or multiprocessing).Value("q", 0)
    report["rows_in_flight"] = 0
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(1.0):
            report["rows_in_flight"] = counter.value
            save_report()

    tick = threading.Thread(target=ticker, daemon=True)
    tick.start()
    try:
        results: Iterator[dict[str, Any]]
        if settings.workers > 1 and ctx is not None and len(mine) > 1:
            from concurrent.futures import ProcessPoolExecutor, as_completed
            pool = ProcessPoolExecutor(max_workers=settings.workers, mp_context=ctx, initializer=_worker_init,
                                       initargs=(settings, plans, clients, counter, source_factory))
            futures = [pool.submit(_worker_run, p) for p in mine]
            results = (f.result() for f in as_completed(futures))
        else:
            pool = None
            _worker_init(settings, plans, clients, counter, source_factory)
            results = (_worker_run(p) for p in mine)
        try:
            for entry in results:
                part = entry.pop("part_file", None)
                if part and entry["status"] == "done":
                    _append_part(settings.output_file, part)
                if entry["status"] == "done":
                    progress.record(entry["id"], entry)
                _account(report, entry)
                report["pending"].remove(entry["id"])
                save_report()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        stop.set()
        tick.join()
    if settings.output_file and settings.output_file != "-":
        try:
            os.rmdir(f"{settings.output_file}.parts")
        except OSError:
            pass
    if settings.verify and not settings.output_file and report["totals"]["partitions_failed"] == 0:
        _final_verification(settings, report, progress, mine + done_before)
    t = report["totals"]
    if t["partitions_failed"]:
        first = report["errors"][0]
        report["status"] = "failed"
        report["reason"] = f"{t['partitions_failed']} partition(s) failed; first: {first['partition']}: {first['message']}"
    elif report["verification"]["final"] and not report["verification"]["final"]["ok"]:
        report["status"] = "failed"
        report["reason"] = report["verification"]["final"]["message"]
    else:
        report["status"] = "ok"
    report["finished"] = time.time()
    report.pop("rows_in_flight", None)
    save_report()
    return report


def _final_verification(settings: MigrationSettings, report: dict[str, Any], progress: ProgressStore,
                        partitions: list[Partition]) -> None:
    """Recount every partition of this host at the end (catches data lost or overwritten since)."""
    verifier = InfluxVerifier(settings)
    bad = []
    for p in partitions:
        entry = progress.done(p.id) or {}
        stored = verifier.count(entry.get("measurements", []), p.start, p.end)
        if stored != entry.get("fields", 0):
            bad.append(f"{p.label()}: InfluxDB holds {stored} field values, {entry.get('fields', 0)} were written")
    report["verification"]["final"] = {
        "ok": not bad, "partitions_checked": len(partitions),
        "message": f"final recount differs for {len(bad)} partition(s): {bad[0]}" if bad else "all partitions match",
        "mismatches": bad[:20],
    }


def _account(report: dict[str, Any], entry: dict[str, Any], before: bool = False) -> None:
    t = report["totals"]
    table = report["tables"].setdefault(entry["table"], {"partitions": 0, "source_rows": 0, "rows": 0, "fields": 0,
                                                         "verified": "-"})
    if entry["status"] == "done":
        t["partitions_skipped_done_before" if before else "partitions_done"] += 1
        v = report["verification"]
        if entry.get("verified"):
            v["partitions_verified"] += 1
        v["samples_compared"] += entry.get("samples_compared", 0)
        table["verified"] = "yes" if entry.get("verified") and table["verified"] in ("-", "yes") else (
            table["verified"] if table["verified"] != "-" else "no")
    else:
        t["partitions_failed"] += 1
        report["errors"].append(entry.get("error") or {"partition": entry["id"], "message": "failed"})
        if (entry.get("error") or {}).get("kind") in ("verification", "sample"):
            report["verification"]["partitions_mismatched"] += 1
            report["verification"]["samples_mismatched"] += entry.get("samples_mismatched", 0)
        table["verified"] = "FAILED"
    for key in ("rows", "lines", "fields", "bytes", "retries"):
        if not before:  # the totals of this run; the tables and examples include earlier runs' partitions
            t[key] += entry.get(key) or 0
    t["source_rows"] += entry.get("source_rows") or 0
    for key in ("source_rows", "rows", "fields"):
        table[key] += entry.get(key) or 0
    for key, value in (entry.get("stats") or {}).items():
        if key == "examples":
            for kind, items in value.items():
                bucket = report["examples"].setdefault(kind, [])
                bucket.extend(items[:10 - len(bucket)])
        elif key in t:
            t[key] += value
    if entry.get("renamed"):
        report["renamed"].setdefault(entry["table"], {}).update(entry["renamed"])
    report["partitions"].append({k: entry.get(k) for k in (
        "id", "status", "source_rows", "rows", "lines", "fields", "influx_fields", "samples_compared",
        "duration_seconds", "verified")} | ({"done_before": True} if before else {}))
