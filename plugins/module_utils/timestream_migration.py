# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Migration of Timestream for LiveAnalytics tables into InfluxDB: the conversion, planned and exact.

This file holds the pure parts, each testable alone:

* ``MigrationSettings``: every option of a run (shared by the module, the playbook and the CLI).
* ``classify_columns`` / ``build_table_plan``: from a table's columns (Timestream's ``DESCRIBE``) and the
  settings to a ``TablePlan``: the measurement, which columns are tags (sorted) and which are fields, how
  single-measure records are named, and every rename (``rename_key``: the documented rule).
* ``RowConverter``: rows (lists of text or None, as the Query API and UNLOAD CSV give them) to lines of line
  protocol, with the escaped series key cached per series, and counters for everything skipped.
* ``plan_partitions`` / ``partition_owner``: time partitions per table, and which inventory host owns one.
* ``ProgressStore``: the resumable progress file (JSON, written atomically).
* ``Report``: the JSON report and its readable table.

The I/O (Timestream, S3, InfluxDB, files) and the run itself are in ``timestream_migration_io``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.lineprotocol import (
    MAX_STRING_BYTES,
    Unwritable,
    escape_field_key,
    escape_measurement,
    escape_tag_key,
    key_problem,
    ns_to_rfc3339,
    plain_float_text,
    tag_value_problem,
    timestamp_ns,
)

NS_PER_SECOND = 1_000_000_000
#: Field naming of single-measure records (``measure_name`` + ``measure_value::<type>``):
#: ``measure_name``: measurement = table, field key = the record's measure_name (the default);
#: ``measurement``: measurement = the record's measure_name, field key = ``value``.
SINGLE_MEASURE_MODES = ("measure_name", "measurement")
#: What the ``measure_name`` column of multi-measure records becomes: a tag (default) or nothing.
MULTI_MEASURE_NAME_MODES = ("tag", "drop")
SUPPORTED_TYPES = ("BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "VARCHAR", "TIMESTAMP")
MAX_EXAMPLES = 10


class MigrationError(Exception):
    """A failure with a message meant for the person running the migration."""


@dataclass
class MigrationSettings:
    """Everything a run needs; the module's options and the CLI's flags map onto these one to one."""

    database: str
    tables: list[str] = field(default_factory=list)  # empty: every table of the database
    time_from: int | None = None  # ns, inclusive
    time_to: int | None = None  # ns, exclusive
    partition_seconds: int = 86400
    source: str = "query"  # query | unload
    max_rows: int = 1000  # Query API page size (MaxRows, at most 1000)
    unload_s3_uri: str | None = None  # s3://bucket/prefix for UNLOAD
    unload_format: str = "CSV"  # CSV | PARQUET
    measurements: dict[str, str] = field(default_factory=dict)  # table -> measurement
    dimensions_to_fields: list[str] = field(default_factory=list)
    dimensions: dict[str, list[str]] = field(default_factory=dict)  # table -> dimension columns (no DESCRIBE)
    single_measure_mode: str = "measure_name"
    multi_measure_name: str = "tag"
    measure_name_tag: str = "measure_name"
    single_measure_field: str = "value"
    rename_prefix: str = "ts"
    renames: dict[str, str] = field(default_factory=dict)
    max_string_bytes: int = MAX_STRING_BYTES
    # target: InfluxDB or a file
    url: str | None = None
    token: str | None = None
    org: str | None = None
    bucket: str | None = None
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: int = 30
    output_file: str | None = None  # path, path.gz or "-"
    batch_size: int = 5000
    gzip_level: int = 1
    max_retries: int = 8
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    # running
    workers: int = 2
    host_index: int = 0
    host_count: int = 1
    progress_file: str | None = None
    report_file: str | None = None
    verify: bool = True
    sample_size: int = 5
    restart: bool = False

    def fingerprint(self) -> str:
        """What must not change between a killed run and its resumption (the conversion and the target)."""
        keep = {k: v for k, v in asdict(self).items() if k in _FINGERPRINT_KEYS}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]

    def validate(self) -> None:
        """Raise ``MigrationError`` naming the option, before any request."""
        if not self.database:
            raise MigrationError("database is required")
        if self.source not in ("query", "unload"):
            raise MigrationError(f"source must be query or unload, got {self.source!r}")
        if self.source == "unload" and not (self.unload_s3_uri or "").startswith("s3://"):
            raise MigrationError("source unload needs unload_s3_uri, an s3://bucket/prefix the results are written to")
        if self.unload_format.upper() not in ("CSV", "PARQUET"):
            raise MigrationError(f"unload_format must be CSV or PARQUET, got {self.unload_format!r}")
        if self.single_measure_mode not in SINGLE_MEASURE_MODES:
            raise MigrationError(f"single_measure_mode must be one of {', '.join(SINGLE_MEASURE_MODES)}")
        if self.multi_measure_name not in MULTI_MEASURE_NAME_MODES:
            raise MigrationError(f"multi_measure_name must be one of {', '.join(MULTI_MEASURE_NAME_MODES)}")
        if self.partition_seconds < 1:
            raise MigrationError("partition_seconds must be at least 1")
        if not 1 <= self.max_rows <= 1000:
            raise MigrationError("max_rows must be between 1 and 1000 (Timestream's MaxRows)")
        if self.time_from is not None and self.time_to is not None and self.time_from >= self.time_to:
            raise MigrationError("time_from must be before time_to")
        if not 1 <= self.batch_size <= 100000:
            raise MigrationError("batch_size must be between 1 and 100000 lines")
        if self.workers < 1:
            raise MigrationError("workers must be at least 1")
        if self.host_count < 1 or not 0 <= self.host_index < self.host_count:
            raise MigrationError(f"host_index must be in 0..host_count-1, got {self.host_index} of {self.host_count}")
        for what, name in (("rename_prefix", self.rename_prefix), ("measure_name_tag", self.measure_name_tag),
                           ("single_measure_field", self.single_measure_field)):
            if key_problem(name, what):
                raise MigrationError(key_problem(name, what))
        if self.output_file:
            if self.output_file == "-" and self.workers != 1:
                self.workers = 1
            return
        missing = [n for n in ("url", "token", "org", "bucket") if not getattr(self, n)]
        if missing:
            raise MigrationError(
                f"the InfluxDB target needs {', '.join(missing)} (or output_file for a line-protocol file)")
        if not self.url.startswith(("http://", "https://")):
            raise MigrationError(f"url must be an http:// or https:// URL, got {self.url!r}")


_FINGERPRINT_KEYS = (
    "database", "partition_seconds", "measurements", "dimensions_to_fields", "dimensions", "single_measure_mode",
    "multi_measure_name", "measure_name_tag", "single_measure_field", "rename_prefix", "renames", "url", "org",
    "bucket", "output_file", "host_count",
)


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------
def rename_key(name: str, prefix: str, taken: Iterable[str] = ()) -> str:
    """The documented rename rule for a name InfluxDB rejects or drops.

    A name starting with ``_`` gets ``prefix`` in front (``_id`` -> ``ts_id``); the key ``time`` and a
    measurement starting with ``#`` get ``prefix`` and ``_`` (``time`` -> ``ts_time``). If the result is
    already a name of the same table, the rule applies again (``ts_ts_id``) until the name is free.
    """
    taken = set(taken)
    new = name
    while True:
        new = f"{prefix}{new}" if new.startswith("_") else f"{prefix}_{new}"
        if new not in taken:
            return new


def _needs_rename(name: str, what: str) -> bool:
    return name.startswith("_") or (name == "time" and what != "measurement") or (
        what == "measurement" and name.startswith("#"))


# ----------------------------------------------------------------------------------------------
# Columns and the table plan
# ----------------------------------------------------------------------------------------------
@dataclass
class Column:
    name: str
    type: str  # Timestream scalar type
    kind: str  # DIMENSION | MEASURE_NAME | MEASURE_VALUE | MULTI | TIMESTAMP


def classify_columns(columns: Sequence[tuple[str, str, str | None]], dimensions: Sequence[str] | None = None
                     ) -> list[Column]:
    """Columns with their Timestream attribute kind.

    ``columns`` are ``(name, type, kind)``, ``kind`` as ``DESCRIBE`` gives it (``DIMENSION``, ``MEASURE_NAME``,
    ``MEASURE_VALUE``, ``MULTI``, ``TIMESTAMP``) or None when unknown. Unknown kinds are inferred: ``time``,
    ``measure_name`` and ``measure_value::<type>`` by name; the others are dimensions when listed in
    ``dimensions`` (or, when that is not given, when they are VARCHAR) and multi-measure attributes otherwise.
    """
    out = []
    for name, type_, kind in columns:
        type_ = (type_ or "VARCHAR").upper()
        if kind:
            kind = kind.upper()
        elif name == "time":
            kind = "TIMESTAMP"
        elif name == "measure_name":
            kind = "MEASURE_NAME"
        elif name.startswith("measure_value::"):
            kind = "MEASURE_VALUE"
        elif dimensions is not None:
            kind = "DIMENSION" if name in dimensions else "MULTI"
        else:
            kind = "DIMENSION" if type_ == "VARCHAR" else "MULTI"
        out.append(Column(name, type_, kind))
    return out


@dataclass
class TablePlan:
    table: str
    measurement: str  # unescaped (after mapping and rename)
    tags: list[tuple[str, str]]  # (column, tag key) sorted by tag key
    fields: list[tuple[str, str, str]]  # (column, field key, type): multi-measure attributes, dims-to-fields
    measure_values: list[tuple[str, str]]  # (column, type) of single-measure records
    measure_name_column: str | None
    measure_name_as_tag: bool  # multi-measure records: measure_name becomes tag ``measure_name_tag``
    measure_name_tag: str
    single_measure_mode: str
    single_measure_field: str
    renamed: dict[str, str]
    conversions: dict[str, str]  # column -> note (e.g. a type migrated as string)
    rename_prefix: str
    renames: dict[str, str]

    @property
    def record_kind(self) -> str:
        if self.measure_values and self.fields:
            return "mixed"
        return "single-measure" if self.measure_values else "multi-measure"

    def summary(self) -> dict[str, Any]:
        return {
            "measurement": self.measurement if self.single_measure_mode != "measurement" or not self.measure_values
            else "<measure_name>",
            "records": self.record_kind,
            "tags": [k for _c, k in self.tags],
            "fields": [k for _c, k, _t in self.fields],
            "single_measure_field": ("<measure_name>" if self.single_measure_mode == "measure_name"
                                     else self.single_measure_field) if self.measure_values else None,
            "renamed": self.renamed,
            "conversions": self.conversions,
        }


def build_table_plan(table: str, columns: Sequence[Column], settings: MigrationSettings) -> TablePlan:
    """Decide measurement, tags and fields of a table; rename what InfluxDB would reject. Raises MigrationError."""
    names = {c.name for c in columns}
    renamed: dict[str, str] = {}
    conversions: dict[str, str] = {}

    def final(name: str, what: str) -> str:
        new = settings.renames.get(name, name)
        if _needs_rename(new, what):
            new = rename_key(new, settings.rename_prefix, names)
        if new != name:
            renamed[name] = new
        problem = key_problem(new, what)
        if problem:
            raise MigrationError(f"table {table!r}: {problem}; rename it with the renames option")
        return new

    measurement = final(settings.measurements.get(table, table), "measurement")
    tags: list[tuple[str, str]] = []
    fields: list[tuple[str, str, str]] = []
    measure_values: list[tuple[str, str]] = []
    measure_name_column = None
    has_time = False
    for col in columns:
        if col.kind == "TIMESTAMP" and col.name == "time":
            has_time = True
        elif col.kind == "MEASURE_NAME":
            measure_name_column = col.name
        elif col.kind == "MEASURE_VALUE":
            mtype = col.type if col.type in SUPPORTED_TYPES else "VARCHAR"
            measure_values.append((col.name, mtype))
        elif col.kind == "DIMENSION" and col.name not in settings.dimensions_to_fields:
            tags.append((col.name, final(col.name, "tag key")))
        else:
            ftype = col.type
            if col.kind == "DIMENSION":
                ftype = "VARCHAR"
            if ftype not in SUPPORTED_TYPES:
                conversions[col.name] = f"{ftype} migrated as its text (string field)"
                ftype = "VARCHAR"
            fields.append((col.name, final(col.name, "field key"), ftype))
    if not has_time:
        raise MigrationError(f"table {table!r} has no time column")
    if not measure_values and not fields:
        raise MigrationError(f"table {table!r} has no measure columns")
    as_tag = bool(fields) and measure_name_column is not None and settings.multi_measure_name == "tag"
    tag_keys = [k for _c, k in tags]
    if as_tag and settings.measure_name_tag in tag_keys:
        raise MigrationError(f"table {table!r}: a dimension is already called {settings.measure_name_tag!r}; "
                             "choose another measure_name_tag")
    if len(set(tag_keys)) != len(tag_keys) or len({k for _c, k, _t in fields}) != len(fields):
        raise MigrationError(f"table {table!r}: two columns map to the same key after renaming: {renamed}")
    tags.sort(key=lambda ck: ck[1].encode("utf-8"))
    return TablePlan(table, measurement, tags, fields, measure_values, measure_name_column, as_tag,
                     settings.measure_name_tag, settings.single_measure_mode, settings.single_measure_field,
                     renamed, conversions, settings.rename_prefix, dict(settings.renames))


# ----------------------------------------------------------------------------------------------
# Conversion
# ----------------------------------------------------------------------------------------------
class _Unwritable(Exception):
    pass


_BOOL = {"true": "true", "false": "false", True: "true", False: "false"}


@dataclass
class ConversionStats:
    rows: int = 0
    lines: int = 0
    fields: int = 0
    nonfinite_skipped: int = 0
    overlong_skipped: int = 0
    rows_without_fields: int = 0
    unwritable_rows: int = 0
    examples: dict[str, list] = field(default_factory=dict)

    def example(self, kind: str, item: Any) -> None:
        items = self.examples.setdefault(kind, [])
        if len(items) < MAX_EXAMPLES:
            items.append(item)


class TimeText:
    """Integer-nanosecond text of Timestream timestamps, cached per second (many rows share a second)."""

    def __init__(self, max_cached: int = 200_000):
        self.seconds: dict[str, str] = {}
        self.max_cached = max_cached

    def __call__(self, value: Any) -> str:
        if isinstance(value, int):
            return str(value)
        if len(value) == 29:
            secs = self.seconds.get(value[:19])
            if secs is not None and value[20:].isdigit():
                return secs + value[20:]
        ns = timestamp_ns(value)
        if len(value) == 29 and value[19] == "." and ns >= 1_000_000_000:
            if len(self.seconds) >= self.max_cached:
                self.seconds.clear()
            self.seconds[value[:19]] = str(ns // 1_000_000_000)
        return str(ns)


class RowConverter:
    """Rows of one table (in the order of ``column_names``) to lines of line protocol.

    Values are text or None (Query API ``ScalarValue``/``NullValue``, UNLOAD CSV; ``typed=False``) or Python
    values (Parquet; ``typed=True``); ``None`` and ``""`` are NULL. ``convert_many(rows, out, out_rows)``
    appends one line per row that has a field left (and the row to ``out_rows``) and counts everything else
    in ``stats`` with examples. The loop is generated for the table's columns (no per-field dispatch) and
    the escaped series key of each distinct (measurement, tag values) is computed once and cached.
    """

    def __init__(self, plan: TablePlan, column_names: Sequence[str], max_string_bytes: int = MAX_STRING_BYTES,
                 typed: bool = False, max_cached_series: int = 1_000_000):
        index = {name: i for i, name in enumerate(column_names)}
        missing = [c for c in ([c for c, _k in plan.tags] + [c for c, _k, _t in plan.fields]
                               + [c for c, _t in plan.measure_values] + ["time"]) if c not in index]
        if missing:
            raise MigrationError(f"table {plan.table!r}: the result has no column {missing}")
        self.plan = plan
        self.column_names = list(column_names)
        self.stats = ConversionStats()
        self.measurements: set[str] = set()
        self.max_string_bytes = max_string_bytes
        self._max_cached = max_cached_series
        self._tag_keys = [escape_tag_key(k) for _c, k in plan.tags]
        self._tag_names = [k for _c, k in plan.tags]
        self._escaped_measurement = escape_measurement(plan.measurement)
        self._mn_tag = escape_tag_key(plan.measure_name_tag) if plan.measure_name_as_tag else None
        self._series: dict[Any, str] = {}
        self._field_keys: dict[str, str] = {}
        self.time_text = TimeText()
        self.convert_many = self._generate(index, typed)

    # -- slow paths, called by the generated loop --------------------------------------------------
    def _series_miss(self, kind: int, measure_name: Any, values: Sequence[Any]) -> str:
        """The escaped series key for a cache miss. ``kind``: 0 table measurement, 1 with the measure_name
        tag (multi-measure), 2 measurement = measure_name (single-measure, ``measurement`` mode)."""
        if kind == 2:
            measurement = self._rename(measure_name, "measurement")
            try:
                head = escape_measurement(measurement)
            except Unwritable as exc:
                raise _Unwritable(str(exc)) from None
        else:
            measurement, head = self.plan.measurement, self._escaped_measurement
        tags = []
        for key, name, value in zip(self._tag_keys, self._tag_names, values):
            if value is None or value == "":
                continue
            value = value if isinstance(value, str) else str(value)
            problem = tag_value_problem(value)
            if problem:
                raise _Unwritable(problem)
            tags.append((name, key, value))
        if kind == 1 and measure_name:
            problem = tag_value_problem(measure_name)
            if problem:
                raise _Unwritable(problem)
            tags.append((self.plan.measure_name_tag, self._mn_tag, measure_name))
            tags.sort(key=lambda t: t[0].encode("utf-8"))
        prefix = ",".join([head] + [f"{key}={_escape_tag(value)}" for _n, key, value in tags])
        self.measurements.add(measurement)
        if len(self._series) >= self._max_cached:
            self._series.clear()
        self._series[(kind, measure_name, *values) if kind else tuple(values)] = prefix
        return prefix

    def _rename(self, name: str, what: str) -> str:
        new = self.plan.renames.get(name, name)
        if _needs_rename(new, what):
            new = rename_key(new, self.plan.rename_prefix)
        if new != name:
            self.plan.renamed.setdefault(name, new)
        return new

    def _field_key_miss(self, measure_name: Any) -> str:
        if measure_name is None or measure_name == "":
            raise _Unwritable("single-measure record without measure_name")
        try:
            key = escape_field_key(self._rename(measure_name, "field key")) + "="
        except Unwritable as exc:
            raise _Unwritable(str(exc)) from None
        self._field_keys[measure_name] = key
        return key

    def _nonfinite(self, row: Sequence[Any], column: str) -> None:
        self.stats.nonfinite_skipped += 1
        self.stats.example("nonfinite_skipped", self.describe_row(row, f"{column} is not finite"))

    def _overlong(self, row: Sequence[Any], column: str) -> None:
        self.stats.overlong_skipped += 1
        size = len(row[self.column_names.index(column)].encode("utf-8"))
        self.stats.example("overlong_skipped", self.describe_row(
            row, f"{column}: string of {size} bytes, over the {self.max_string_bytes}-byte limit"))

    def _no_fields(self, row: Sequence[Any]) -> None:
        self.stats.rows_without_fields += 1
        self.stats.example("rows_without_fields", self.describe_row(row, "no measure value left to write"))

    def _unwritable(self, row: Sequence[Any], reason: str) -> None:
        self.stats.unwritable_rows += 1
        self.stats.example("unwritable_rows", self.describe_row(row, reason))

    def describe_row(self, row: Sequence[Any], reason: str | None = None) -> dict[str, Any]:
        """A source row as a dict (for examples and error reports), long values cut."""
        out: dict[str, Any] = {"table": self.plan.table}
        for name, value in zip(self.column_names, row):
            if value is None or value == "":
                continue
            text = value if isinstance(value, str) else str(value)
            out[name] = text if len(text) <= 200 else text[:200] + f"... ({len(text)} characters)"
        if reason:
            out["reason"] = reason
        return out

    # -- the generated loop --------------------------------------------------------------------------
    def _value_code(self, type_: str, var: str, key: str, column: str, indent: str) -> list[str]:
        """Source lines appending ``key`` + the formatted value of ``var`` to ``parts``."""
        if type_ in ("BIGINT", "INTEGER"):
            return [f"{indent}parts.append({key} + str(int({var})) + 'i')"]
        if type_ == "DOUBLE":
            return [f"{indent}f = float({var})",
                    f"{indent}if f - f != 0.0: _nonfinite(row, {column!r})",
                    f"{indent}elif {var}.__class__ is str and _plain({var}): parts.append({key} + {var})",
                    f"{indent}else: parts.append({key} + repr(f))"]
        if type_ == "BOOLEAN":
            return [f"{indent}parts.append({key} + _BOOL[{var}])"]
        if type_ == "TIMESTAMP":
            return [f"{indent}parts.append({key} + _time_text({var}) + 'i')"]
        return [f"{indent}if not isinstance({var}, str): {var} = str({var})",
                f"{indent}if len({var}) > _MAXQ and len({var}.encode('utf-8')) > _MAXB: _overlong(row, {column!r})",
                f"{indent}else:",
                f"{indent}    if '\\\\' in {var}: {var} = {var}.replace('\\\\', '\\\\\\\\')",
                f"{indent}    if '\"' in {var}: {var} = {var}.replace('\"', '\\\\\"')",
                f"{indent}    parts.append({key} + '\"' + {var} + '\"')"]

    @staticmethod
    def _fast_code(fields: Sequence[tuple[str, str, str]]) -> list[str]:
        """Source lines setting ``fs`` to the field set when every field is present and ordinary, else None."""
        lines = ["            fs = None",
                 "            if " + " and ".join(f"w{i}" for i in range(len(fields))) + ":",
                 "                ok = True"]
        pieces = []
        for i, (_col, _key, type_) in enumerate(fields):
            w, x = f"w{i}", f"x{i}"
            if type_ in ("BIGINT", "INTEGER"):
                lines.append(f"                {x} = int({w})")
                pieces.append(f"{{_K{i}}}{{{x}}}i")
            elif type_ == "DOUBLE":
                lines += [f"                {x} = float({w})",
                          f"                if {x} - {x} != 0.0: ok = False",
                          f"                {x} = {w} if _plain({w}) else repr({x})"]
                pieces.append(f"{{_K{i}}}{{{x}}}")
            elif type_ == "BOOLEAN":
                lines.append(f"                {x} = _BOOL[{w}]")
                pieces.append(f"{{_K{i}}}{{{x}}}")
            elif type_ == "TIMESTAMP":
                lines.append(f"                {x} = _time_text({w})")
                pieces.append(f"{{_K{i}}}{{{x}}}i")
            else:
                lines += [f"                {x} = {w}",
                          f"                if len({x}) > _MAXQ: ok = False",
                          f"                if '\\\\' in {x}: {x} = {x}.replace('\\\\', '\\\\\\\\')",
                          f"                if '\"' in {x}: {x} = {x}.replace('\"', '\\\\\"')"]
                pieces.append(f'{{_K{i}}}"{{{x}}}"')
        lines += ["                if ok:",
                  "                    fs = f'" + ",".join(pieces).replace("'", "\\'") + "'"]
        return lines

    def _generate(self, index: dict[str, int], typed: bool) -> Callable[[Sequence, list, list], int]:
        plan = self.plan
        present = "{v} is not None and {v} != ''" if typed else "{v}"
        ns: dict[str, Any] = {
            "_BOOL": _BOOL, "_plain": plain_float_text, "_time_text": self.time_text, "_secs": self.time_text.seconds,
            "_nonfinite": self._nonfinite, "_overlong": self._overlong, "_no_fields": self._no_fields,
            "_unwritable": self._unwritable, "_series": self._series, "_series_miss": self._series_miss,
            "_fkeys": self._field_keys, "_fkey_miss": self._field_key_miss, "_Unwritable": _Unwritable,
            "Unwritable": Unwritable, "_MAXQ": self.max_string_bytes // 4, "_MAXB": self.max_string_bytes,
            "_VALUE_KEY": escape_field_key(plan.single_measure_field) + "=",
        }
        tag_vals = "".join(f"row[{index[c]}], " for c, _k in plan.tags)
        mn = index.get(plan.measure_name_column) if plan.measure_name_column else None
        body = ["def convert_many(rows, out, out_rows):",
                "    n_fields = 0",
                "    for row in rows:",
                "        try:"]
        fast = not typed and not plan.measure_values and len(plan.fields) > 1
        if not fast:
            body.append("            parts = []")
        if mn is not None:
            body.append(f"            mn = row[{mn}]")
        single_vars = []
        for i, (col, type_) in enumerate(plan.measure_values):
            var = f"v{i}"
            single_vars.append(var)
            body.append(f"            {var} = row[{index[col]}]")
            body.append(f"            if {present.format(v=var)}:")
            if plan.single_measure_mode == "measure_name":
                body += ["                fk = _fkeys.get(mn)",
                         "                if fk is None: fk = _fkey_miss(mn)"]
                key = "fk"
            else:
                key = "_VALUE_KEY"
            body += self._value_code(type_, var, key, col, "                ")
        generic = []
        for i, (col, fkey, type_) in enumerate(plan.fields):
            var, kname = f"w{i}", f"_K{i}"
            ns[kname] = escape_field_key(fkey) + "="
            body.append(f"            {var} = row[{index[col]}]")
            generic.append(f"            if {present.format(v=var)}:")
            generic += self._value_code(type_, var, kname, col, "                ")
        if fast:
            # every field present and ordinary (the common row): one f-string, no list, no join
            body += self._fast_code(plan.fields)
            body += ["            if fs is None:",
                     "                parts = []"]
            body += ["    " + line for line in generic]
            body += ["                if not parts:",
                     "                    _no_fields(row)",
                     "                    continue",
                     "                fs = ','.join(parts)",
                     "                nf = len(parts)",
                     "            else:",
                     f"                nf = {len(plan.fields)}"]
        else:
            body += generic
            body += ["            if not parts:",
                     "                _no_fields(row)",
                     "                continue",
                     "            fs = ','.join(parts)",
                     "            nf = len(parts)"]
        body.append(f"            t = row[{index['time']}]")
        if typed:
            body.append("            ts = _time_text(t)")
        else:
            body += ["            st = _secs.get(t[:19]) if len(t) == 29 else None",
                     "            if st is not None and (fr := t[20:]).isdigit(): ts = st + fr",
                     "            else: ts = _time_text(t)"]
        # the series key: kind 0 (table measurement), 1 (+ measure_name tag), 2 (measurement = measure_name)
        single_test = " or ".join(present.format(v=v) for v in single_vars) or "False"
        multi_kind = 1 if plan.measure_name_as_tag else 0
        single_kind = 2 if plan.single_measure_mode == "measurement" else 0

        def lookup(kind: int, indent: str) -> list[str]:
            key = f"({kind}, mn, {tag_vals})" if kind else f"({tag_vals})"
            return [f"{indent}key = {key}",
                    f"{indent}prefix = _series.get(key)",
                    f"{indent}if prefix is None: prefix = _series_miss({kind}, {'mn' if kind else 'None'}, "
                    f"key[2:] if {kind} else key)"]
        if plan.measure_values and plan.fields and multi_kind != single_kind:
            body.append(f"            if {single_test}:")
            body += lookup(single_kind, "                ")
            body.append("            else:")
            body += lookup(multi_kind, "                ")
        else:
            body += lookup(single_kind if plan.measure_values else multi_kind, "            ")
        body += ["            out.append(prefix + ' ' + fs + ' ' + ts)",
                 "            out_rows.append(row)",
                 "            n_fields += nf",
                 "        except _Unwritable as exc:",
                 "            _unwritable(row, str(exc))",
                 "        except (ValueError, TypeError, KeyError, IndexError, Unwritable) as exc:",
                 "            _unwritable(row, f'bad value: {type(exc).__name__}: {exc}')",
                 "    return n_fields"]
        source = "\n".join(body) + "\n"
        self.source = source
        exec(compile(source, f"<converter {plan.table}>", "exec"), ns)
        generated = ns["convert_many"]

        def convert_many(rows: Sequence[Sequence[Any]], out: list[str], out_rows: list) -> int:
            before = len(out)
            n_fields = generated(rows, out, out_rows)
            stats = self.stats
            stats.rows += len(rows)
            stats.lines += len(out) - before
            stats.fields += n_fields
            return n_fields
        return convert_many

    def convert(self, row: Sequence[Any]) -> str | None:
        """One row (the line, or None when nothing is written)."""
        out: list[str] = []
        self.convert_many([row], out, [])
        return out[0] if out else None

    def decode(self, row: Sequence[Any]) -> dict[str, Any] | None:
        """The point a row becomes, as plain data (measurement, tags, fields with kinds, time): for sampling.
        Not counted in ``stats``."""
        saved, self.stats = self.stats, ConversionStats()
        try:
            out: list[str] = []
            self.convert_many([row], out, [])
        finally:
            self.stats = saved
        return parse_line(out[0]) if out else None


def _escape_tag(value: str) -> str:
    return value.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


# ----------------------------------------------------------------------------------------------
# A minimal reader of the lines written above (for sampled verification; not a general parser)
# ----------------------------------------------------------------------------------------------
def _split_unescaped(text: str, sep: str) -> list[str]:
    out, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in ", =":
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _unescape(text: str) -> str:
    return text.replace("\\,", ",").replace("\\=", "=").replace("\\ ", " ")


def parse_line(line: str) -> dict[str, Any]:
    """Read back a line written by ``RowConverter`` into {measurement, tags, fields: {k: (kind, value)}, time}."""
    # the series key ends at the first unescaped space
    i = 0
    while True:
        j = line.index(" ", i)
        if line[j - 1] != "\\":
            break
        i = j + 1
    key, rest = line[:j], line[j + 1:]
    time_at = rest.rindex(" ")
    fields_text, ts = rest[:time_at], int(rest[time_at + 1:])
    parts = _split_unescaped(key, ",")
    measurement = _unescape(parts[0])
    tags = {}
    for part in parts[1:]:
        k, v = _split_unescaped(part, "=")
        tags[_unescape(k)] = _unescape(v)
    fields: dict[str, tuple[str, Any]] = {}
    i = 0
    while i < len(fields_text):
        j = i
        while not (fields_text[j] == "=" and fields_text[j - 1] != "\\"):
            j += 1
        fkey = _unescape(fields_text[i:j])
        j += 1
        if fields_text[j] == '"':
            k = j + 1
            buf = []
            while fields_text[k] != '"':
                if fields_text[k] == "\\" and fields_text[k + 1] in '\\"':
                    buf.append(fields_text[k + 1])
                    k += 2
                else:
                    buf.append(fields_text[k])
                    k += 1
            fields[fkey] = ("string", "".join(buf))
            i = k + 2
        else:
            k = fields_text.find(",", j)
            k = len(fields_text) if k < 0 else k
            raw = fields_text[j:k]
            if raw.endswith("i"):
                fields[fkey] = ("integer", int(raw[:-1]))
            elif raw in ("true", "false"):
                fields[fkey] = ("boolean", raw == "true")
            else:
                fields[fkey] = ("float", float(raw))
            i = k + 1
    return {"measurement": measurement, "tags": tags, "fields": fields, "time": ts}


# ----------------------------------------------------------------------------------------------
# Partitions
# ----------------------------------------------------------------------------------------------
@dataclass
class Partition:
    table: str
    start: int  # ns inclusive
    end: int  # ns exclusive

    @property
    def id(self) -> str:
        return f"{self.table}/{self.start}-{self.end}"

    def label(self) -> str:
        return f"{self.table} {ns_to_rfc3339(self.start)[:19]}..{ns_to_rfc3339(self.end)[:19]}"


def plan_partitions(table: str, start: int, end: int, partition_seconds: int) -> list[Partition]:
    """Windows of ``partition_seconds`` aligned to the epoch, covering [start, end), clipped to it."""
    step = partition_seconds * NS_PER_SECOND
    out = []
    t = start - start % step
    while t < end:
        out.append(Partition(table, max(t, start), min(t + step, end)))
        t += step
    return out


def partition_owner(partition_id: str, host_count: int) -> int:
    """Which inventory host (0-based) migrates a partition: crc32 of its id modulo the host count.

    Stable across processes and machines (Python's ``hash`` is not), so every host computes the same
    assignment and no partition is done twice or left out.
    """
    return zlib.crc32(partition_id.encode("utf-8")) % host_count


# ----------------------------------------------------------------------------------------------
# Progress
# ----------------------------------------------------------------------------------------------
def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file in the same directory and ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class ProgressStore:
    """The partitions done so far, keyed by partition id, in a JSON file (None: kept in memory only)."""

    VERSION = 1

    def __init__(self, path: str | None, fingerprint: str, restart: bool = False):
        self.path = path
        self.fingerprint = fingerprint
        self.data: dict[str, Any] = {"version": self.VERSION, "fingerprint": fingerprint, "partitions": {}}
        if path and os.path.exists(path) and not restart:
            with open(path, encoding="utf-8") as fh:
                loaded = json.load(fh)
            if loaded.get("fingerprint") != fingerprint:
                raise MigrationError(
                    f"progress file {path} belongs to a run with other settings (mapping, target or partition size); "
                    "use another progress file, or restart to start over")
            self.data = loaded

    def done(self, partition_id: str) -> dict[str, Any] | None:
        entry = self.data["partitions"].get(partition_id)
        return entry if entry and entry.get("status") == "done" else None

    def record(self, partition_id: str, entry: dict[str, Any]) -> None:
        self.data["partitions"][partition_id] = entry
        self.save()

    def save(self) -> None:
        if self.path:
            write_json_atomic(self.path, self.data)


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def new_report(settings: MigrationSettings, mode: str) -> dict[str, Any]:
    return {
        "status": "running",
        "reason": None,
        "mode": mode,
        "database": settings.database,
        "target": settings.output_file or f"{settings.url} org={settings.org} bucket={settings.bucket}",
        "host": {"index": settings.host_index, "count": settings.host_count},
        "started": time.time(),
        "finished": None,
        "duration_seconds": 0.0,
        "rows_per_second": 0.0,
        "totals": {"partitions": 0, "partitions_done": 0, "partitions_skipped_done_before": 0,
                   "partitions_failed": 0, "partitions_other_hosts": 0, "source_rows": 0, "rows": 0, "lines": 0,
                   "fields": 0, "bytes": 0, "nonfinite_skipped": 0, "overlong_skipped": 0,
                   "rows_without_fields": 0, "unwritable_rows": 0, "retries": 0},
        "tables": {},
        "renamed": {},
        "partitions": [],
        "examples": {},
        "errors": [],
        "verification": {"partitions_verified": 0, "partitions_mismatched": 0, "samples_compared": 0,
                         "samples_mismatched": 0, "final": None},
    }


def report_table(report: dict[str, Any]) -> str:
    """The report as a readable text table."""
    t = report["totals"]
    v = report["verification"]
    lines = [
        f"Migration {report['status'].upper()}" + (f": {report['reason']}" if report.get("reason") else ""),
        f"  database {report['database']} -> {report['target']}",
        f"  {report['duration_seconds']:.1f} s, {report['rows_per_second']:,.0f} rows/s",
        "",
        f"  {'table':<28} {'partitions':>10} {'source rows':>12} {'rows':>12} {'fields':>12} {'verified':>9}",
    ]
    for name, tab in sorted(report["tables"].items()):
        lines.append(f"  {name:<28} {tab['partitions']:>10} {tab['source_rows']:>12,} {tab['rows']:>12,} "
                     f"{tab['fields']:>12,} {tab['verified']:>9}")
    lines += [
        "",
        f"  partitions: {t['partitions_done']} done, {t['partitions_skipped_done_before']} done before, "
        f"{t['partitions_failed']} failed, {t['partitions_other_hosts']} for other hosts",
        f"  skipped: {t['nonfinite_skipped']} NaN/Infinity values, {t['overlong_skipped']} over-long strings, "
        f"{t['rows_without_fields']} rows without fields, {t['unwritable_rows']} unwritable rows",
        f"  verification: {v['partitions_verified']} partitions verified, {v['partitions_mismatched']} mismatched, "
        f"{v['samples_compared']} samples compared, {v['samples_mismatched']} differ",
    ]
    for table, renames in sorted(report["renamed"].items()):
        for old, new in sorted(renames.items()):
            lines.append(f"  renamed in {table}: {old!r} -> {new!r}")
    for err in report["errors"][:10]:
        lines.append(f"  error: {err.get('partition', '')} {err.get('message', '')}")
    return "\n".join(lines)


def finite_rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 and not math.isinf(count) else 0.0


# ----------------------------------------------------------------------------------------------
# Options (the module's and the CLI's) to settings
# ----------------------------------------------------------------------------------------------
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_partition_size(value: Any) -> int:
    """``1d``, ``6h``, ``30m``, ``1w`` or a number of seconds, as seconds. Raises MigrationError."""
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    if len(text) >= 2 and text[:-1].isdigit() and text[-1] in _DURATION_SECONDS:
        return int(text[:-1]) * _DURATION_SECONDS[text[-1]]
    raise MigrationError(f"partition_size must be a duration such as 1d, 6h, 30m or a number of seconds, got {value!r}")


def parse_time_option(value: Any, option: str) -> int | None:
    """``--from``/``--to``: integer nanoseconds, or a date/time such as ``2024-01-02`` or
    ``2024-01-02T03:04:05.123456789Z`` (UTC), as integer nanoseconds."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return timestamp_ns(text)
    except ValueError:
        raise MigrationError(f"{option} must be a UTC date/time such as 2024-01-02 or 2024-01-02T03:04:05Z, "
                             f"or integer nanoseconds; got {value!r}") from None


def settings_from_params(params: dict[str, Any]) -> MigrationSettings:
    """MigrationSettings from the module's parameters (the CLI builds the same dict)."""
    def get(name: str, default: Any = None) -> Any:
        value = params.get(name)
        return default if value is None else value

    return MigrationSettings(
        database=get("database", ""),
        tables=list(get("tables", [])),
        time_from=parse_time_option(params.get("time_from"), "time_from"),
        time_to=parse_time_option(params.get("time_to"), "time_to"),
        partition_seconds=parse_partition_size(get("partition_size", "1d")),
        source=get("source", "query"),
        max_rows=int(get("max_rows", 1000)),
        unload_s3_uri=params.get("unload_s3_uri"),
        unload_format=get("unload_format", "CSV").upper(),
        measurements=dict(get("measurements", {})),
        dimensions_to_fields=list(get("dimensions_to_fields", [])),
        dimensions={k: list(v) for k, v in get("dimensions", {}).items()},
        single_measure_mode=get("single_measure_mode", "measure_name"),
        multi_measure_name=get("multi_measure_name", "tag"),
        measure_name_tag=get("measure_name_tag", "measure_name"),
        single_measure_field=get("single_measure_field", "value"),
        rename_prefix=get("rename_prefix", "ts"),
        renames=dict(get("renames", {})),
        max_string_bytes=int(get("max_string_bytes", MAX_STRING_BYTES)),
        url=params.get("url"),
        token=params.get("token"),
        org=params.get("org"),
        bucket=params.get("bucket"),
        validate_certs=bool(get("validate_certs", True)),
        ca_path=params.get("ca_path"),
        timeout=int(get("timeout", 30)),
        output_file=params.get("output_file"),
        batch_size=int(get("batch_size", 5000)),
        gzip_level=int(get("gzip_level", 1)),
        max_retries=int(get("max_retries", 8)),
        workers=int(get("workers", 2)),
        host_index=int(get("host_index", 0)),
        host_count=int(get("host_count", 1)),
        progress_file=params.get("progress_file"),
        report_file=params.get("report_file"),
        verify=bool(get("verify", True)),
        sample_size=int(get("sample_size", 5)),
        restart=bool(get("restart", False)),
    )
