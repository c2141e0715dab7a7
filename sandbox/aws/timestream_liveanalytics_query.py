"""timestream-query ``Query`` for the sandbox: Timestream's SQL executed for real by DuckDB over the
records of ``timestream_liveanalytics.py``, answered in Timestream's response shape, plus
``UNLOAD`` into the sandbox's S3 (moto, in-process).

The table model is Timestream's: one column per dimension (VARCHAR), ``measure_name``
(VARCHAR), ``time`` (TIMESTAMP, nanoseconds), then ``measure_value::<type>`` for single-measure
records and one column per attribute of multi-measure records.

The query text is tokenized and checked before DuckDB sees it; what the sandbox cannot answer the
way Timestream would is refused with a ValidationException, never answered differently:

* statements: ``SELECT``/``WITH`` queries and ``UNLOAD (SELECT ...) TO 's3://...' WITH (...)``;
* tables: ``"db"."table"`` / ``db.table`` naming an existing table;
* functions: those in ``FUNCTIONS`` (Timestream's ``ago``, ``bin``, ``now``,
  ``from_iso8601_timestamp`` (literal argument), ``from_milliseconds``, ``from_nanoseconds``,
  ``to_milliseconds``, ``to_nanoseconds``, plus ``count``/``sum``/``avg``/``min``/``max``, ...);
  duration literals (``1h``, ``15m``, ``10s``, ``100ms``, ``1d``, ``5us``, ``7ns``);
* Presto semantics DuckDB must be told about: integer division, NULLS LAST, no file access.
"""

from __future__ import annotations

import copy
import csv
import datetime as _dt
import hashlib
import io
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.aws.timestream_liveanalytics import (
    ApiError,
    LiveAnalyticsBackend,
    Table,
    now_ns,
)

MAX_ROWS_LIMIT = 1000
PAGE_BYTES = 1024 * 1024  # without MaxRows, a page holds up to 1 MB of rows
METERED_MINIMUM = 10 * 1024 * 1024
RESULT_TTL = 3600.0
QUERY_TIMEOUT = 60.0
RETRY_GRACE = 60.0
IDEMPOTENCY_WINDOW = 300.0  # an UNLOAD's ClientToken: the same call within 5 minutes, the same answer  # a finished query's last NextToken still answers a retry this long
DURATION_NS = {
    "ns": 1,
    "us": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}
KEYWORDS = frozenset(
    [
        "select",
        "distinct",
        "all",
        "from",
        "where",
        "and",
        "or",
        "not",
        "between",
        "in",
        "is",
        "null",
        "true",
        "false",
        "as",
        "group",
        "by",
        "order",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "having",
        "like",
        "escape",
        "case",
        "when",
        "then",
        "else",
        "end",
        "with",
        "join",
        "inner",
        "left",
        "right",
        "full",
        "outer",
        "cross",
        "on",
        "union",
        "intersect",
        "except",
        "timestamp",
        "interval",
        "cast",
        "double",
        "bigint",
        "varchar",
        "boolean",
        "integer",
        "date",
        "exists",
        "over",
        "partition",
        "rows",
        "range",
        "unbounded",
        "preceding",
        "following",
        "current",
        "row",
        "if",
    ]
)
# Keywords DuckDB knows and Presto/Timestream does not (or reads differently): refused.
FOREIGN_KEYWORDS = frozenset(
    [
        "qualify",
        "offset",  # not in Timestream's SELECT grammar
        "exclude",
        "replace",
        "pivot",
        "unpivot",
        "asof",
        "positional",
        "sample",
        "tablesample",
        "columns",
        "lambda",
        "glob",
        "ilike",
        "anti",
        "semi",
        "struct",
        "install",
        "load",
        "attach",
        "detach",
        "copy",
        "pragma",
        "set",
        "create",
        "insert",
        "delete",
        "update",
        "drop",
        "alter",
        "export",
        "import",
        "call",
        "describe",
        "summarize",
        "show",
        "use",
        "checkpoint",
        "vacuum",
        "explain",
        "reset",
        "returning",
        "using",
        "window",
        "materialized",
        "recursive",
    ]
)
# Functions the sandbox answers as Timestream does (name -> DuckDB name or macro).
FUNCTIONS = {
    "count": "count",
    "sum": "sum",
    "avg": "avg",
    "min": "min",
    "max": "max",
    "abs": "abs",
    "coalesce": "coalesce",
    "lower": "lower",
    "upper": "upper",
    "length": "length",
    "date_trunc": "date_trunc",
    "cast": "cast",
    "bin": "__ts_bin",
    "from_milliseconds": "__ts_from_ms",
    "from_nanoseconds": "__ts_from_ns",
    "to_milliseconds": "__ts_to_ms",
    "to_nanoseconds": "__ts_to_ns",
}
MACROS = (
    "CREATE MACRO __ts_bin(t, n) AS make_timestamp_ns(epoch_ns(t) - ((epoch_ns(t) % n) + n) % n)",
    "CREATE MACRO __ts_from_ms(x) AS make_timestamp_ns(CAST(x AS BIGINT) * 1000000)",
    "CREATE MACRO __ts_from_ns(x) AS make_timestamp_ns(CAST(x AS BIGINT))",
    "CREATE MACRO __ts_to_ms(t) AS CAST(floor(epoch_ns(t) / 1000000.0) AS BIGINT)",
    "CREATE MACRO __ts_to_ns(t) AS epoch_ns(t)",
)
TYPE_NAMES = {
    "VARCHAR": "VARCHAR",
    "BIGINT": "BIGINT",
    "HUGEINT": "BIGINT",
    "INTEGER": "INTEGER",
    "DOUBLE": "DOUBLE",
    "FLOAT": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMP",
    "DATE": "DATE",
}


def new_query_id() -> str:
    return "AEDQC" + uuid.uuid4().hex.upper()[:30]


def query_error(message: str) -> ApiError:
    return ApiError("ValidationException", message)


# ---------------------------------------------------------------------------- tokens
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<str>'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<dur>\d+(?:ns|us|ms|s|m|h|d)\b)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>::|<>|!=|<=|>=|\|\||[-+*/%(),.;=<>\[\]])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Tok:
    kind: str  # str | qid | dur | num | id | op
    text: str

    @property
    def ident(self) -> str | None:
        """The identifier this token names (unquoted), or None."""
        if self.kind == "id":
            return self.text
        if self.kind == "qid":
            return self.text[1:-1].replace('""', '"')
        return None

    @property
    def string(self) -> str:
        return self.text[1:-1].replace("''", "'")


def tokenize(sql: str) -> list[Tok]:
    tokens: list[Tok] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise query_error(f"line 1:{pos + 1}: unexpected character '{sql[pos]}'")
        pos = m.end()
        if m.lastgroup != "ws":
            tokens.append(Tok(m.lastgroup or "", m.group()))
    return tokens


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ns_literal(ns: int) -> str:
    return f"make_timestamp_ns({ns}::BIGINT)"


def render_time(ns: int) -> str:
    """Nanoseconds since the epoch as Timestream renders a TIMESTAMP: '2024-01-01 00:00:00.000000000'."""
    secs, rem = divmod(ns, 10**9)
    day = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=secs)
    return f"{day:%Y-%m-%d %H:%M:%S}.{rem:09d}"


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_iso8601(text: str) -> int:
    """An ISO 8601 timestamp as nanoseconds since the epoch, exactly (no float, no datetime rounding)."""
    m = _ISO.fullmatch(text.strip())
    if m is None:
        raise query_error(f'Invalid format: "{text}"')
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        base = _dt.datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)
        )
    except ValueError:
        raise query_error(f'Invalid format: "{text}"') from None
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    seconds = (base - _dt.datetime(1970, 1, 1)).days * 86400 + (
        base - _dt.datetime(1970, 1, 1)
    ).seconds
    return (seconds - offset) * 10**9 + int((frac or "").ljust(9, "0"))


def _duration_ns(text: str) -> int:
    m = re.fullmatch(r"(\d+)(ns|us|ms|s|m|h|d)", text)
    assert m is not None
    return int(m.group(1)) * DURATION_NS[m.group(2)]


# ---------------------------------------------------------------------------- translation
class Translation:
    """A Timestream SELECT as DuckDB SQL, with the tables it reads."""

    def __init__(
        self, tokens: list[Tok], tables: dict[tuple[str, str], Table], now: int
    ) -> None:
        self.tables = tables
        self.now = now
        self.used: dict[tuple[str, str], str] = {}
        self.sql = self._translate(tokens)

    def _view(self, key: tuple[str, str]) -> str:
        if key not in self.used:
            self.used[key] = f"__ts_table_{len(self.used)}"
        return self.used[key]

    def _translate(self, toks: list[Tok]) -> str:
        if (
            not toks
            or (toks[0].ident or "").lower() not in ("select", "with")
            or toks[0].kind != "id"
        ):
            raise query_error("Only SELECT queries (and UNLOAD) are supported.")
        out: list[str] = []
        # the function of each open parenthesis ("" for a plain one)
        calls: list[str] = []
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            nxt = toks[i + 1] if i + 1 < n else None
            low = t.text.lower()
            if t.kind == "op" and t.text == ";":
                if i != n - 1:
                    raise query_error("Only one statement per query is supported.")
                i += 1
                continue
            prev = toks[i - 1] if i > 0 else None
            if (
                t.kind == "id"
                and prev is not None
                and prev.text == "."
                and nxt is not None
                and nxt.text == "("
            ):
                raise query_error(f"line 1: mismatched input '(' after '{t.text}'.")
            if low == "by" and nxt is not None and nxt.text.lower() == "all":
                raise query_error(
                    "line 1: GROUP BY ALL / ORDER BY ALL are not supported."
                )
            if t.text == "%" and i >= 2 and toks[i - 2].text.lower() == "limit":
                raise query_error("line 1: LIMIT takes a row count.")
            if t.kind == "op" and t.text in ("[", "]"):
                raise query_error("Arrays are not supported by the sandbox.")
            # "db"."table" / db.table naming a table
            if (
                t.ident is not None
                and nxt is not None
                and nxt.text == "."
                and i + 2 < n
                and toks[i + 2].ident is not None
                and (t.ident, toks[i + 2].ident) in self.tables
            ):
                table_name = toks[i + 2].ident or ""
                out.append(self._view((t.ident, table_name)))
                after = toks[i + 3] if i + 3 < n else None
                aliased = after is not None and (
                    after.kind == "qid"
                    or (after.kind == "id" and after.text.lower() not in KEYWORDS)
                    or after.text.lower() == "as"
                )
                if not aliased:  # the table's own name qualifies its columns (Presto)
                    out.append(f"AS {_quote(table_name)}")
                i += 3
                continue
            # a table reference that names no table
            if (
                t.kind == "id"
                and low in ("from", "join")
                and nxt is not None
                and nxt.ident is not None
                and i + 3 < n
                and toks[i + 2].text == "."
                and toks[i + 3].ident is not None
                and (nxt.ident, toks[i + 3].ident) not in self.tables
            ):
                raise query_error(
                    f"line 1: Table '{nxt.ident}.{toks[i + 3].ident}' does not exist"
                )
            # measure_value::<type>
            if (
                t.kind == "id"
                and low == "measure_value"
                and nxt is not None
                and nxt.text == "::"
            ):
                if i + 2 >= n or toks[i + 2].kind != "id":
                    raise query_error("measure_value:: must be followed by a type.")
                out.append(_quote(f"measure_value::{toks[i + 2].text.lower()}"))
                i += 3
                continue
            if t.kind == "op" and t.text == "::":
                raise query_error(
                    "The '::' cast is not supported; use CAST(x AS type)."
                )
            if t.kind == "dur":
                ns = _duration_ns(t.text)
                if calls and calls[-1] == "bin":
                    out.append(f"{ns}::BIGINT")
                elif ns % 1000 == 0:
                    out.append(f"INTERVAL ({ns // 1000}) MICROSECOND")
                else:
                    raise query_error(
                        f"The duration {t.text} is not supported here by the sandbox."
                    )
                i += 1
                continue
            if t.kind == "id":
                if low in FOREIGN_KEYWORDS:
                    raise query_error(f"line 1: mismatched input '{t.text}'.")
                is_call = nxt is not None and nxt.text == "("
                if low == "ago" and is_call:
                    if (
                        i + 3 >= n
                        or toks[i + 2].kind != "dur"
                        or toks[i + 3].text != ")"
                    ):
                        raise query_error(
                            "ago() takes one duration literal, such as ago(1h)."
                        )
                    out.append(_ns_literal(self.now - _duration_ns(toks[i + 2].text)))
                    i += 4
                    continue
                if low == "now" and is_call:
                    if i + 2 >= n or toks[i + 2].text != ")":
                        raise query_error("now() takes no argument.")
                    out.append(_ns_literal(self.now))
                    i += 3
                    continue
                if low == "current_timestamp" and not is_call:
                    out.append(_ns_literal(self.now))
                    i += 1
                    continue
                if low == "from_iso8601_timestamp" and is_call:
                    if (
                        i + 3 >= n
                        or toks[i + 2].kind != "str"
                        or toks[i + 3].text != ")"
                    ):
                        raise query_error(
                            "The sandbox supports from_iso8601_timestamp() with a string literal only."
                        )
                    out.append(_ns_literal(parse_iso8601(toks[i + 2].string)))
                    i += 4
                    continue
                if low == "timestamp" and nxt is not None and nxt.kind == "str":
                    out.append(_ns_literal(parse_iso8601(nxt.string)))
                    i += 2
                    continue
                if low == "timestamp":
                    out.append("TIMESTAMP_NS")
                    i += 1
                    continue
                if is_call and low not in KEYWORDS:
                    if low not in FUNCTIONS:
                        raise query_error(f"Function {t.text} not registered")
                    out.append(FUNCTIONS[low])
                    out.append("(")
                    calls.append(low)
                    i += 2
                    continue
                out.append(t.text)
                i += 1
                continue
            if t.kind == "op" and t.text == "(":
                calls.append("")
            elif t.kind == "op" and t.text == ")":
                if not calls:
                    raise query_error("line 1: mismatched input ')'.")
                calls.pop()
            out.append(t.text)
            i += 1
        return " ".join(out)


# ---------------------------------------------------------------------------- results
def render_double(value: float) -> str:
    """A DOUBLE as Timestream renders it (Java's Double.toString: plain between 10^-3 and 10^7,
    else d.dddE<n>; the shortest digits that read back as the same double)."""
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{len(text) + int(exponent) - 1}"


class Result:
    """A query's answer: ColumnInfo and the rows, kept as an Arrow table (TIMESTAMP columns as
    int64 nanoseconds) and turned into Python values only for the slice that is asked for."""

    def __init__(
        self,
        columns: list[dict[str, Any]],
        rows: list[list[Any]] | None = None,
        arrow: Any = None,
    ) -> None:
        self.columns = columns
        self.scanned = 0  # bytes of the tables read (QueryStatus)
        self.query_id: str | None = (
            None  # set when the statement named its files after it (UNLOAD)
        )
        self._rows = rows
        self.arrow = arrow

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else self.arrow.num_rows

    def slice_rows(self, start: int = 0, stop: int | None = None) -> list[list[Any]]:
        """Python values of rows ``start`` to ``stop`` (TIMESTAMP as int nanoseconds)."""
        stop = len(self) if stop is None else min(stop, len(self))
        if self._rows is not None:
            return self._rows[start:stop]
        part = self.arrow.slice(start, max(0, stop - start))
        values = [column.to_pylist() for column in part.columns]
        return [list(r) for r in zip(*values, strict=True)] if values else []

    @property
    def rows(self) -> list[list[Any]]:
        return self.slice_rows()

    def rendered(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        kinds = [c["Type"].get("ScalarType", "") for c in self.columns]
        return [
            {"Data": [_datum(kind, v) for kind, v in zip(kinds, row, strict=True)]}
            for row in self.slice_rows(start, stop)
        ]


def render_scalar(kind: str, value: Any) -> str:
    if kind == "TIMESTAMP":
        return render_time(value)
    if kind == "DOUBLE":
        return render_double(float(value))
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "DATE":
        return str(value)
    if kind in ("BIGINT", "INTEGER"):
        return str(int(value))
    return str(value)


def _datum(kind: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):  # an array/row value, already in the response shape
        return value
    if value is None:
        return {"NullValue": True}
    return {"ScalarValue": render_scalar(kind, value)}


def _arrow_table(table: Table) -> Any:
    """The Timestream table model of ``table`` as an Arrow table."""
    import pyarrow as pa

    records = list(table.records.values())
    records.sort(key=lambda r: r.time_ns)
    columns: dict[str, Any] = {}
    for dim in table.dimension_order:
        columns[dim] = pa.array([r.dimensions.get(dim) for r in records], pa.string())
    columns["measure_name"] = pa.array([r.measure_name for r in records], pa.string())
    columns["time"] = pa.array([r.time_ns for r in records], pa.timestamp("ns"))
    arrow_types = {
        "DOUBLE": pa.float64(),
        "BIGINT": pa.int64(),
        "VARCHAR": pa.string(),
        "BOOLEAN": pa.bool_(),
        "TIMESTAMP": pa.timestamp("ns"),
    }
    for column, kind in table.column_types.items():
        values = []
        for r in records:
            v = r.values.get(column)
            values.append(None if v is None else v[1])
        columns[column] = pa.array(values, arrow_types[kind])
    return pa.table(columns)


class QueryEngine:
    """Query and CancelQuery over a LiveAnalyticsBackend's records."""

    def __init__(self, backend: LiveAnalyticsBackend) -> None:
        self.backend = backend
        self.lock = threading.Lock()
        # (account, region, ClientToken) -> ((query, MaxRows), when, first answer)
        self.idempotent: dict[
            tuple[str, str, str], tuple[Any, float, dict[str, Any]]
        ] = {}
        self.pending: dict[
            str, tuple[dict[str, Any], int]
        ] = {}  # NextToken -> (state, offset)

    # ------------------------------------------------------------------ API
    def query(self, account: str, region: str, p: dict[str, Any]) -> dict[str, Any]:
        query_string = p["QueryString"]
        max_rows = p.get("MaxRows")
        if max_rows is not None and not 1 <= max_rows <= MAX_ROWS_LIMIT:
            raise query_error(f"MaxRows must be between 1 and {MAX_ROWS_LIMIT}.")
        if p.get("NextToken"):
            with self.lock:
                self._expire()
                entry = self.pending.get(p["NextToken"])
                if entry is not None:
                    # pages before this one are done with; this token stays valid for a retry
                    state, offset = entry
                    for token, (other, other_offset) in list(self.pending.items()):
                        if other is state and other_offset < offset:
                            del self.pending[token]
            if entry is None or state["account"] != (account, region):
                raise query_error("The NextToken is invalid or has expired.")
            if state["query"] != query_string:
                raise query_error(
                    "The NextToken does not belong to this query: the QueryString must be the one "
                    "the first page was asked for."
                )
        else:
            token = p.get("ClientToken")
            key = (account, region, token)
            request = (query_string, max_rows)
            if token:
                with self.lock:
                    now = time.monotonic()
                    for k, (_, at, _) in list(self.idempotent.items()):
                        if at < now - IDEMPOTENCY_WINDOW:
                            del self.idempotent[k]
                    seen = self.idempotent.get(key)
                if seen is not None:
                    if seen[0] != request:
                        raise query_error(
                            "The ClientToken was used within the last 5 minutes with other parameters."
                        )
                    return copy.deepcopy(
                        seen[2]
                    )  # the same call again: the same answer
            result = self.execute(account, region, query_string)
            state = {
                "query": query_string,
                "account": (account, region),
                "query_id": result.query_id or new_query_id(),
                "result": result,
                "created": time.monotonic(),
                "done": None,  # when the last page was served
            }
            offset = 0
            answer = self._page(state, offset, max_rows)
            # Remembered for UNLOAD, the one statement with effects (its files); a SELECT
            # answered again is the same answer, and keeping every first page would cost memory.
            if token and result.query_id is not None:
                with self.lock:
                    self.idempotent[key] = (
                        request,
                        time.monotonic(),
                        copy.deepcopy(answer),
                    )
            return answer
        return self._page(state, offset, max_rows)

    def cancel_query(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            for token, (state, _) in list(self.pending.items()):
                if state["query_id"] == p["QueryId"] and state["account"] == (
                    account,
                    region,
                ):
                    del self.pending[token]
        return {"CancellationMessage": "Query has been cancelled successfully."}

    # ------------------------------------------------------------------ paging
    def _expire(self) -> None:
        """Forget results an hour old, and finished ones (last page served) after a minute."""
        now = time.monotonic()
        for token, (state, _) in list(self.pending.items()):
            done = state["done"]
            if state["created"] < now - RESULT_TTL or (
                done is not None and done < now - RETRY_GRACE
            ):
                del self.pending[token]

    def _page(
        self, state: dict[str, Any], start: int, max_rows: int | None
    ) -> dict[str, Any]:
        result: Result = state["result"]
        if max_rows is not None:
            rows = result.rendered(start, start + max_rows)
        else:  # up to 1 MB of rows, at least one
            rows, size = [], 0
            while start + len(rows) < len(result):
                chunk = result.rendered(start + len(rows), start + len(rows) + 1000)
                for row in chunk:
                    size += len(json.dumps(row))
                    if size > PAGE_BYTES and rows:
                        break
                    rows.append(row)
                else:
                    continue
                break
        end = start + len(rows)
        answer: dict[str, Any] = {
            "QueryId": state["query_id"],
            "Rows": rows,
            "ColumnInfo": result.columns,
            "QueryStatus": {
                "ProgressPercentage": 100.0,
                "CumulativeBytesScanned": result.scanned,
                # Timestream meters at least 10 MB per query that reads data
                "CumulativeBytesMetered": max(result.scanned, METERED_MINIMUM)
                if result.scanned
                else 0,
            },
        }
        if end < len(result):
            token = uuid.uuid4().hex + uuid.uuid4().hex
            with self.lock:
                self.pending[token] = (state, end)
            answer["NextToken"] = token
        else:
            state["done"] = time.monotonic()
        return answer

    # ------------------------------------------------------------------ execution
    def execute(self, account: str, region: str, query_string: str) -> Result:
        tokens = tokenize(query_string)
        if tokens and tokens[0].kind == "id" and tokens[0].text.lower() == "unload":
            from sandbox.aws.timestream_liveanalytics_unload import unload

            return unload(self, account, region, tokens)
        if (
            tokens
            and tokens[0].kind == "id"
            and tokens[0].text.lower() in ("describe", "show")
        ):
            return self.metadata(account, region, tokens)
        return self.select(account, region, tokens)

    def metadata(self, account: str, region: str, tokens: list[Tok]) -> Result:
        """DESCRIBE db.table, SHOW MEASURES FROM db.table, SHOW TABLES [FROM db], SHOW DATABASES,
        each with an optional LIKE 'pattern'."""
        words = [t.text.lower() if t.kind == "id" else t.text for t in tokens]
        if words and words[-1] == ";":
            tokens, words = tokens[:-1], words[:-1]
        pattern = None
        if len(words) >= 2 and words[-2] == "like" and tokens[-1].kind == "str":
            pattern = _like(tokens[-1].string)
            tokens, words = tokens[:-2], words[:-2]
        tables = self.backend.tables_of(account, region)

        def table_at(i: int) -> Table:
            if len(tokens) != i + 3 or words[i + 1] != "." or tokens[i].ident is None:
                raise query_error("Expected a table name: database.table.")
            key = (tokens[i].ident or "", tokens[i + 2].ident or "")
            if key not in tables:
                raise query_error(f"line 1: Table '{key[0]}.{key[1]}' does not exist")
            return tables[key]

        def varchar(*names: str) -> list[dict[str, Any]]:
            return [{"Name": n, "Type": {"ScalarType": "VARCHAR"}} for n in names]

        def keep(name: str) -> bool:
            return pattern is None or pattern.fullmatch(name) is not None

        if words[0] == "describe":
            table = table_at(1)
            with self.backend.lock:
                rows = [[d, "varchar", "DIMENSION"] for d in table.dimension_order]
                rows += [
                    ["measure_name", "varchar", "MEASURE_NAME"],
                    ["time", "timestamp", "TIMESTAMP"],
                ]
                for column, kind in table.column_types.items():
                    role = (
                        "MEASURE_VALUE"
                        if column.startswith("measure_value::")
                        else "MULTI"
                    )
                    rows.append([column, kind.lower(), role])
            return Result(
                varchar("Column", "Type", "Timestream attribute type"), rows=rows
            )
        if words[:3] == ["show", "measures", "from"]:
            table = table_at(3)
            with self.backend.lock:
                table.expire(now_ns())
                dims: dict[str, set[str]] = {}
                for record in table.records.values():
                    dims.setdefault(record.measure_name, set()).update(
                        record.dimensions
                    )
                rows = []
                for name in sorted(dims):
                    if not keep(name):
                        continue
                    listed = [
                        {
                            "RowValue": {
                                "Data": [{"ScalarValue": d}, {"ScalarValue": "varchar"}]
                            }
                        }
                        for d in table.dimension_order
                        if d in dims[name]
                    ]
                    rows.append(
                        [
                            name,
                            table.measure_types[name].lower(),
                            {"ArrayValue": listed},
                        ]
                    )
            columns = varchar("measure_name", "data_type")
            columns.append(
                {
                    "Name": "dimensions",
                    "Type": {
                        "ArrayColumnInfo": {
                            "Type": {
                                "RowColumnInfo": varchar("dimension_name", "data_type")
                            }
                        }
                    },
                }
            )
            return Result(columns, rows=rows)
        if words[:2] == ["show", "tables"]:
            if len(words) == 2:
                names = sorted({t for _, t in tables})
            elif (
                len(words) == 4
                and words[2] in ("from", "in")
                and tokens[3].ident is not None
            ):
                database = tokens[3].ident
                if database not in {d for d, _ in tables} and not any(
                    database in dbs
                    for (a, r), dbs in self.backend.databases.items()
                    if (a, r) == (account, region)
                ):
                    raise query_error(f"line 1: Database '{database}' does not exist")
                names = sorted(t for d, t in tables if d == database)
            else:
                raise query_error(
                    "Expected SHOW TABLES [FROM database] [LIKE 'pattern']."
                )
            return Result(varchar("Table"), rows=[[n] for n in names if keep(n)])
        if words == ["show", "databases"]:
            with self.backend.lock:
                names = sorted(
                    db
                    for (acct, reg), dbs in self.backend.databases.items()
                    if (acct, reg) == (account, region)
                    for db in dbs
                )
            return Result(varchar("Database"), rows=[[n] for n in names if keep(n)])
        raise query_error(
            f"line 1: mismatched input '{tokens[0].text} {tokens[1].text if len(tokens) > 1 else ''}'."
        )

    def _arrow_for(self, table: Table) -> Any:
        with self.backend.lock:
            table.expire(now_ns())
            cached = table.arrow_cache
            if cached is not None and cached[0] == table.generation:
                return cached[1]
            arrow = _arrow_table(table)
            table.arrow_cache = (table.generation, arrow)
            return arrow

    def select(self, account: str, region: str, tokens: list[Tok]) -> Result:
        import duckdb

        tables = self.backend.tables_of(account, region)
        translation = Translation(tokens, tables, now_ns())
        con = duckdb.connect()
        try:
            con.execute("SET enable_external_access = false")
            con.execute("SET integer_division = true")
            con.execute("SET default_null_order = 'nulls_last'")
            if _has_icu(con):
                con.execute("SET TimeZone = 'UTC'")
            for macro in MACROS:
                con.execute(macro)
            scanned = 0
            for key, view in translation.used.items():
                arrow_table = self._arrow_for(tables[key])
                scanned += arrow_table.nbytes
                con.register(view, arrow_table)
            try:
                relation = con.sql(translation.sql)
            except duckdb.Error as e:
                raise query_error(_clean(str(e))) from None
            if relation is None:
                raise query_error("The query returned no result set.")
            names = list(relation.columns)
            kinds = []
            for duck_type in relation.types:
                text = str(duck_type).upper()
                base = "DOUBLE" if text.startswith("DECIMAL") else TYPE_NAMES.get(text)
                if base is None:
                    raise query_error(
                        f"The sandbox does not return values of type {text}; cast them to a scalar type."
                    )
                kinds.append(base)
            # Timestream stops a query after 60 seconds; so does the sandbox (never a stuck server)
            timer = threading.Timer(QUERY_TIMEOUT, con.interrupt)
            timer.start()
            try:
                arrow = relation.arrow()
                if hasattr(arrow, "read_all"):
                    arrow = arrow.read_all()
            except duckdb.InterruptException:
                raise ApiError(
                    "QueryExecutionException",
                    f"The query did not finish within {QUERY_TIMEOUT:.0f} seconds.",
                ) from None
            except duckdb.Error as e:
                raise query_error(_clean(str(e))) from None
            finally:
                timer.cancel()
        finally:
            con.close()
        import pyarrow as pa

        columns_data = []
        for index, kind in enumerate(kinds):
            column = arrow.column(index)
            try:
                if kind == "TIMESTAMP":
                    column = column.cast(pa.timestamp("ns")).cast(pa.int64())
                elif kind == "DOUBLE" and column.type != pa.float64():
                    column = column.cast(pa.float64())
                elif kind == "BIGINT" and column.type != pa.int64():
                    column = column.cast(pa.int64())
            except pa.ArrowInvalid as e:
                raise query_error(f"Value out of range for {kind}: {e}") from None
            columns_data.append(column)
        # Presto names an unaliased expression _col<position>; DuckDB names it by its text.
        known = {t.ident for t in tokens if t.ident is not None}
        for key in translation.used:
            known.update(tables[key].dimension_order)
            known.update(tables[key].column_types)
            known.update(("measure_name", "time"))
        names = [
            name if name in known else f"_col{index}"
            for index, name in enumerate(names)
        ]
        info = [
            {"Name": name, "Type": {"ScalarType": kind}}
            for name, kind in zip(names, kinds, strict=True)
        ]
        result = Result(
            info,
            arrow=pa.table(columns_data, names=[f"c{i}" for i in range(len(info))]),
        )
        result.scanned = scanned
        return result


def _like(pattern: str) -> re.Pattern[str]:
    """A SQL LIKE pattern (% and _) as a regular expression."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _has_icu(con: Any) -> bool:
    try:
        con.execute("SELECT current_setting('TimeZone')")
        return True
    except Exception:  # noqa: BLE001 - ICU not bundled
        return False


def _clean(message: str) -> str:
    """DuckDB's message without the names of the sandbox's internals."""
    message = re.sub(r"__ts_table_\d+", "table", message)
    return re.sub(r"__ts_(\w+)", r"\1", message).split("\n")[0]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def render_column(kind: str, values: list[Any]) -> list[str]:
    """A column's values as the Query API renders them, NULL as ''."""
    if kind == "TIMESTAMP":
        return ["" if v is None else render_time(v) for v in values]
    if kind == "DOUBLE":
        return ["" if v is None else render_double(v) for v in values]
    if kind == "BOOLEAN":
        return ["" if v is None else "true" if v else "false" for v in values]
    return ["" if v is None else str(v) for v in values]


def csv_bytes(
    names: list[str],
    kinds: list[str],
    arrow: Any,
    header: bool,
    delimiter: str,
    escape: str,
) -> bytes:
    """An Arrow table (TIMESTAMP as int64 ns) as UNLOAD writes CSV: values rendered as Query
    renders them, NULL as an empty field, quoted when needed, ``escape`` before special characters."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        escapechar=escape,
        quoting=csv.QUOTE_MINIMAL,
        lineterminator="\n",
    )
    if header:
        writer.writerow(names)
    columns = [
        render_column(kind, column.to_pylist())
        for kind, column in zip(kinds, arrow.columns, strict=True)
    ]
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue().encode()
