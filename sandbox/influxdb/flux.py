"""The Flux subset answered by the sandbox InfluxDB v2 server (``POST /api/v2/query``).

Pure: no HTTP, no SQLite, no import of the other sandbox.influxdb modules.  The server hands
:func:`execute` the query text, a store with ``scan(bucket_id, start_ns, stop_ns)``, a bucket
resolver and the current time, and renders the tables with :func:`to_annotated_csv`.

What is answered, with InfluxDB 2.7's semantics and wording
------------------------------------------------------------
Statements
    pipe-forward chains (``|>`` may start a line), ``//`` comments, ``name = <expression>``
    assignments that a later chain continues, several result chains (each ``yield``-ed chain is one
    result; a chain statement without ``yield`` is the implicit ``_result``).  ``import``,
    ``option``, ``package``, string interpolation, records, arithmetic and any function not listed
    below are refused with a :class:`FluxError` (code ``invalid``) - never silently ignored.
Sources
    ``from(bucket: "b")`` / ``from(bucketID: "...")``, which must be followed by
    ``range(start:, stop:)``.  Bounds may be durations relative to ``now()`` (``-1h``, ``-30d``,
    ``1h2m``, ``-1mo``, ``-1y``; months are added on the calendar and clamped to the month's last
    day as Flux does), RFC3339 times (``2024-01-02T03:04:05.123456789Z``, offsets, or a bare date
    ``2024-01-02``), integers (Unix seconds), or ``now()``; ``stop`` defaults to ``now()``; an
    empty range (start >= stop) is InfluxDB's "cannot query an empty range".
Parameters
    ``execute(..., extern=...)`` takes the request's ``extern`` file: influxdb-client sends
    ``query_api.query(q, params={"_start": timedelta(hours=-1)})`` as ``option _start = ...``
    statements, which become variables the query (and filter functions) can use.
Transformations
    ``filter(fn: (r) => ..., onEmpty: "drop"|"keep")`` over ``r._measurement``, ``r._field``,
    ``r._value``, ``r.<tag>``, ``r["tag"]``, ``r._time`` with ``== != < <= > >= =~ !~``,
    ``and``/``or``/``not``/``exists``, parentheses, string/int/float/bool/regex/time literals and
    negative numbers; ``count() sum() mean() min() max() first() last()`` (``column:`` too),
    ``group()``, ``group(columns: [...], mode: "by"|"except")``, ``keep(columns:)``,
    ``drop(columns:)``, ``limit(n:, offset:)``, ``sort(columns:, desc:)``, ``yield(name:)``.

Semantics (what makes the answers equal to InfluxDB's, not just plausible)
    * After ``from |> range`` every series (measurement + tag set + field) is one table, in the
      storage engine's series-key order, with columns ``_start, _stop, _time, _value`` followed by
      the tag columns (``_field`` and ``_measurement`` included) sorted bytewise; the group key is
      ``_start, _stop`` and the tag columns.
    * The logical planner's rewrites come first: ``filter(fn: (r) => true)`` disappears,
      consecutive filters merge, ``group |> group`` keeps the last group.
    * Filters right after ``range`` are pushed down to storage like InfluxDB's planner does
      (``PushDownFilterRule``): the pushable conjuncts (``r.tag`` / ``r._value`` compared with a
      literal) are evaluated with storage semantics (a missing tag equals ``""``, ``r.tag == ""``
      is not pushable), the rest with Flux semantics (a missing column is null, and a null
      comparison drops the row).
    * A bare aggregate right after the (filtered) read is a ``ReadWindowAggregate``: ``count``,
      ``sum``, ``mean`` tables have the columns ``_start, _stop, _value, <tags>``; selectors keep
      the row.  ``group()`` right after the read is a ``ReadGroup``: the group key always holds
      ``_start`` and ``_stop``, rows are the group's series one after another, mixed value types
      fail with ``schema collision: cannot group float and integer types together`` (except
      under ``count()``, whose storage counts are integers whatever the field types); ``count``,
      ``sum``, ``first``, ``last``, ``min``, ``max`` after it are storage group aggregates
      (``ReadGroupAggregate``: count/sum tables are ``_start, _stop, _value, <group columns>``;
      first/last pick the earliest/latest time across the group, min/max the extreme value).
    * Elsewhere the Flux transformations apply: aggregates output the group key columns then
      ``_value``; ``count`` is an integer counting null and non-null records (0 for an empty
      table), ``sum`` keeps the integer/unsigned/float type, ``mean`` is a float; selectors keep
      the row; ``sort`` puts nulls last ascending, first descending; ``limit`` and ``sort`` work
      per table; ``group`` regroups rows, orders the tables by group key
      and fails on ``schema collision detected: column "_value" is both of type int and float``;
      ``keep``/``drop`` change the columns and the group key (tables whose keys become equal merge).
Annotated CSV (:func:`to_annotated_csv`)
    byte for byte what InfluxDB's ``csv.ResultEncoder`` writes: ``#datatype``/``#group``/
    ``#default`` annotations, the ``,result,table,...`` header, RFC3339Nano times with trailing
    zeros trimmed, floats in Go's shortest ``'f'`` form, a blank line before a table whose schema
    differs, ``\\r\\n`` line endings (also inside quoted values, as Go's csv writer with UseCRLF
    does), and a ``\\r\\n`` after every result; an empty answer is a single ``\\r\\n``.

Known differences (documented, not silent): every chain must start with ``from |> range``;
``range`` only there; regular expressions run on Python's ``re`` (RE2's POSIX classes and
``\\z`` are translated; ``$`` also matches before a final newline); the order of tables after keep/drop merges and of several
yields follows the query text.
"""
from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

__all__ = ["FluxError", "Row", "SeriesStore", "Table", "execute", "to_annotated_csv"]


# --------------------------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------------------------

class Row(NamedTuple):
    """One point of one field, as the store yields it (same shape as storage.Row)."""
    measurement: str
    tags: dict[str, str]
    field: str
    kind: str  # float | integer | unsigned | string | boolean
    value: object
    time_ns: int


class SeriesStore(Protocol):
    def scan(self, bucket_id: str, start_ns: int, stop_ns: int) -> Iterable[Row]:
        """Rows of the bucket with start_ns <= time < stop_ns, in any order."""


class FluxError(Exception):
    """A query InfluxDB would refuse. code: "invalid" (HTTP 400) or "not found" (HTTP 404)."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


# Flux column types (flux.ColType names) and their annotated-CSV datatypes.
T_BOOL, T_INT, T_UINT, T_FLOAT, T_STRING, T_TIME = "bool", "int", "uint", "float", "string", "time"
_TYPE_ORDER = {T_BOOL: 1, T_INT: 2, T_UINT: 3, T_FLOAT: 4, T_STRING: 5, T_TIME: 6}
_CSV_DATATYPE = {T_BOOL: "boolean", T_INT: "long", T_UINT: "unsignedLong", T_FLOAT: "double",
                 T_STRING: "string", T_TIME: "dateTime:RFC3339"}
_KIND_TYPE = {"float": T_FLOAT, "integer": T_INT, "unsigned": T_UINT, "string": T_STRING,
              "boolean": T_BOOL}
# storage cursor names, used in the storage engine's own error messages
_TYPE_CURSOR = {T_FLOAT: "float", T_INT: "integer", T_UINT: "unsigned", T_STRING: "string",
                T_BOOL: "boolean"}


@dataclass
class Table:
    """One Flux table: ordered typed columns, group key labels (in key order) with their values."""
    columns: list[tuple[str, str]]
    key: list[str]
    key_values: list[Any]
    rows: list[list[Any]] = field(default_factory=list)
    result: str = "_result"

    def index(self, label: str) -> int:
        for i, (name, _) in enumerate(self.columns):
            if name == label:
                return i
        return -1

    def col_type(self, label: str) -> str | None:
        i = self.index(label)
        return self.columns[i][1] if i >= 0 else None

    def records(self) -> list[dict[str, Any]]:
        """The rows as {label: value} (tests and debugging)."""
        labels = [c for c, _ in self.columns]
        return [dict(zip(labels, r)) for r in self.rows]

    def key_dict(self) -> dict[str, Any]:
        return dict(zip(self.key, self.key_values))


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

class Time(NamedTuple):
    ns: int


class Duration(NamedTuple):
    months: int
    nanos: int

    def negate(self) -> Duration:
        return Duration(-self.months, -self.nanos)


@dataclass(frozen=True)
class Regex:
    source: str
    pattern: re.Pattern


@dataclass(frozen=True)
class Function:
    params: tuple[str, ...]
    body: Any
    pos: tuple[int, int]


@dataclass(frozen=True)
class Stream:
    """A chain of operations, executed lazily when a result is produced."""
    ops: tuple


_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
       "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000,
       "w": 604_800_000_000_000}
_DURATION_PART = re.compile(r"(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)")
_DURATION_TOKEN = re.compile(r"(?:\d+(?:mo|ms|us|µs|ns|y|w|d|h|m|s))+")
_TIME_TOKEN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2}))?")
_EPOCH = _dt.datetime(1970, 1, 1)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _parse_duration(text: str) -> Duration:
    months = nanos = 0
    for mag, unit in _DURATION_PART.findall(text):
        n = int(mag)
        if unit == "y":
            months += 12 * n
        elif unit == "mo":
            months += n
        else:
            nanos += n * _NS[unit]
    return Duration(months, nanos)


def _time_from_match(m: re.Match) -> int:
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if m.group(4) is None:
        hh = mm = ss = 0
        frac, offset = "", "Z"
    else:
        hh, mm, ss = int(m.group(4)), int(m.group(5)), int(m.group(6))
        frac, offset = m.group(7) or "", m.group(8)
    try:
        secs = calendar.timegm((year, month, day, hh, mm, ss, 0, 0, 0))
        _dt.date(year, month, day)
    except ValueError:
        raise FluxError(f"invalid date time literal: {m.group(0)}") from None
    if hh > 23 or mm > 59 or ss > 60:
        raise FluxError(f"invalid date time literal: {m.group(0)}")
    if offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        secs -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return secs * 1_000_000_000 + int((frac + "000000000")[:9])


def _add_duration(ns: int, d: Duration) -> int:
    """Flux's Time.Add: months on the calendar (day clamped to the month's end), then nanoseconds."""
    if d.months:
        secs, rem = divmod(ns, 1_000_000_000)
        t = _EPOCH + _dt.timedelta(seconds=secs)
        total = t.year * 12 + (t.month - 1) + d.months
        year, month = divmod(total, 12)
        month += 1
        last = _DAYS_IN_MONTH[month - 1] + (1 if month == 2 and calendar.isleap(year) else 0)
        t = t.replace(year=year, month=month, day=min(t.day, last))
        delta = t - _EPOCH
        ns = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + rem
    return ns + d.nanos


def _format_time(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: fractional seconds with trailing zeros trimmed."""
    secs, frac = divmod(ns, 1_000_000_000)
    try:
        t = _time.gmtime(secs)
        text = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")
    except (OverflowError, OSError, ValueError):
        d = _EPOCH + _dt.timedelta(seconds=secs)
        text = (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
                f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def _format_float(v: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = format(Decimal(repr(v)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    return text


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return T_BOOL
    if isinstance(value, int):
        return T_INT
    if isinstance(value, float):
        return T_FLOAT
    if isinstance(value, str):
        return T_STRING
    if isinstance(value, Time):
        return T_TIME
    if isinstance(value, Duration):
        return "duration"
    if isinstance(value, Regex):
        return "regexp"
    if value is None:
        return "null"
    return type(value).__name__


# --------------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------------

class _Tok(NamedTuple):
    kind: str  # ident int float string duration time regex op eof
    value: Any
    pos: int
    end: int


_PUNCT = ("|>", "==", "!=", "<=", ">=", "=~", "!~", "=>", "<-", "(", ")", "[", "]", "{", "}",
          ",", ":", ".", "=", "<", ">", "+", "-", "*", "/", "%", "^", "?")
_OPERAND_END = {"ident", "int", "float", "string", "duration", "time", "regex"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+(\.\d+)?")


class _Source:
    def __init__(self, text: str):
        self.text = text
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def loc(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo] + 1

    def span(self, start: int, end: int) -> str:
        (l1, c1), (l2, c2) = self.loc(start), self.loc(max(start, end))
        return f"@{l1}:{c1}-{l2}:{c2}"


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z",
    "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f"}


def _re2_to_python(source: str) -> str:
    """RE2 (Go regexp) syntax that Python's re spells differently: POSIX classes, \\z."""
    def posix(m: re.Match) -> str:
        negated, name = m.group(1), m.group(2)
        if name not in _POSIX_CLASSES:
            raise FluxError(f"invalid character class range: [:{negated}{name}:]")
        if negated:
            raise FluxError(f"negated POSIX classes ([:^{name}:]) are not supported by the sandbox "
                            f"Flux engine")
        return _POSIX_CLASSES[name]
    source = re.sub(r"\[:(\^?)([a-z]+):\]", posix, source)
    return re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", source)


def _tokenize(src: _Source) -> list[_Tok]:
    text = src.text
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n\f\v":
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        start = i
        if c == '"':
            i += 1
            out = []
            while True:
                if i >= n:
                    raise FluxError(f"error {src.span(start, i)}: got unexpected EOF in string literal")
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\":
                    if i + 1 >= n:
                        raise FluxError(f"error {src.span(start, i)}: invalid string literal")
                    esc = text[i + 1]
                    mapped = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$"}.get(esc)
                    if mapped is None:
                        raise FluxError(f"error {src.span(i, i + 2)}: invalid escape sequence \\{esc}")
                    out.append(mapped)
                    i += 2
                    continue
                if ch == "$" and i + 1 < n and text[i + 1] == "{":
                    raise FluxError("string interpolation is not supported by the sandbox Flux engine")
                out.append(ch)
                i += 1
            toks.append(_Tok("string", "".join(out), start, i))
            continue
        if c == "/" and (not toks or toks[-1].kind not in _OPERAND_END
                         and toks[-1].value not in (")", "]", "}")):
            i += 1
            out = []
            while True:
                if i >= n or text[i] == "\n":
                    raise FluxError(f"error {src.span(start, i)}: got unexpected EOF in regex literal")
                ch = text[i]
                if ch == "/":
                    i += 1
                    break
                if ch == "\\" and i + 1 < n and text[i + 1] == "/":
                    out.append("/")
                    i += 2
                    continue
                out.append(ch)
                i += 1
            source = "".join(out)
            try:
                toks.append(_Tok("regex", Regex(source, re.compile(_re2_to_python(source))), start,
                                 i))
            except re.error as exc:
                raise FluxError(f"error {src.span(start, i)}: regex parse error: {exc}") from None
            continue
        if c.isdigit():
            m = _TIME_TOKEN.match(text, i)
            if m and (m.end() >= n or not (text[m.end()].isalnum() or text[m.end()] == "_")):
                toks.append(_Tok("time", Time(_time_from_match(m)), start, m.end()))
                i = m.end()
                continue
            m = _DURATION_TOKEN.match(text, i)
            if m and (m.end() >= n or not (text[m.end()].isalnum() or text[m.end()] == "_")):
                toks.append(_Tok("duration", _parse_duration(m.group(0)), start, m.end()))
                i = m.end()
                continue
            m = _NUMBER.match(text, i)
            i = m.end()
            if m.group(1):
                toks.append(_Tok("float", float(m.group(0)), start, i))
            else:
                value = int(m.group(0))
                if value > 2 ** 63 - 1:
                    raise FluxError(f"error {src.span(start, i)}: invalid integer literal "
                                    f"\"{m.group(0)}\": value out of range")
                toks.append(_Tok("int", value, start, i))
            continue
        if c.isalpha() or c == "_":
            m = _IDENT.match(text, i)
            i = m.end()
            toks.append(_Tok("ident", m.group(0), start, i))
            continue
        for p in _PUNCT:
            if text.startswith(p, i):
                toks.append(_Tok("op", p, start, i + len(p)))
                i += len(p)
                break
        else:
            raise FluxError(f"error {src.span(start, start + 1)}: invalid token {c!r}")
    toks.append(_Tok("eof", None, n, n))
    return toks


# --------------------------------------------------------------------------------------------
# Parser (AST as small tuples: (node kind, ..., position))
# --------------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str):
        self.src = _Source(text)
        self.toks = _tokenize(self.src)
        self.i = 0

    # helpers
    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def is_op(self, value: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok.kind == "op" and tok.value == value

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "ident" and tok.value == word

    def fail(self, tok: _Tok, message: str) -> FluxError:
        return FluxError(f"error {self.src.span(tok.pos, tok.end)}: {message}")

    def expect_op(self, value: str) -> _Tok:
        tok = self.next()
        if tok.kind != "op" or tok.value != value:
            shown = "EOF" if tok.kind == "eof" else (tok.value if tok.kind in ("op", "ident") else tok.kind)
            raise self.fail(tok, f"expected {value}, got {shown}")
        return tok

    # program
    def program(self) -> list:
        stmts = []
        while self.peek().kind != "eof":
            tok = self.peek()
            if tok.kind == "ident" and tok.value in ("import", "option", "package", "testcase",
                                                     "builtin", "return"):
                raise self.fail(tok, f"{tok.value} statements are not supported by the sandbox "
                                     f"Flux engine")
            if tok.kind == "ident" and self.is_op("=", 1):
                self.next()
                self.next()
                stmts.append(("assign", tok.value, self.expression(), tok.pos))
            else:
                stmts.append(("expr", self.expression(), tok.pos))
        return stmts

    # expressions, lowest precedence first
    def expression(self):
        # function literal: (a, b) => body
        if self.is_op("(") and self._looks_like_function():
            return self.function()
        return self.logical_or()

    def _looks_like_function(self) -> bool:
        k = 1
        if self.is_op(")", k):
            return self.is_op("=>", k + 1)
        while True:
            if self.peek(k).kind != "ident":
                return False
            k += 1
            if self.is_op("=", k):
                return True  # default parameter value
            if self.is_op(")", k):
                return self.is_op("=>", k + 1)
            if not self.is_op(",", k):
                return False
            k += 1

    def function(self):
        start = self.expect_op("(")
        params = []
        while not self.is_op(")"):
            tok = self.next()
            if tok.kind != "ident":
                raise self.fail(tok, "expected identifier in function parameters")
            if self.is_op("="):
                raise self.fail(tok, "function parameter defaults are not supported by the sandbox "
                                     "Flux engine")
            params.append(tok.value)
            if not self.is_op(")"):
                self.expect_op(",")
        self.expect_op(")")
        self.expect_op("=>")
        if self.is_op("{"):
            self.next()
            if not self.is_word("return"):
                raise self.fail(self.peek(), "function blocks other than `{ return <expression> }` "
                                             "are not supported by the sandbox Flux engine")
            self.next()
            body = self.expression()
            self.expect_op("}")
        else:
            body = self.expression()
        return ("func", tuple(params), body, start.pos)

    def logical_or(self):
        left = self.logical_and()
        while self.is_word("or"):
            tok = self.next()
            left = ("logical", "or", left, self.logical_and(), tok.pos)
        return left

    def logical_and(self):
        left = self.unary_logical()
        while self.is_word("and"):
            tok = self.next()
            left = ("logical", "and", left, self.unary_logical(), tok.pos)
        return left

    def unary_logical(self):
        if self.is_word("not"):
            tok = self.next()
            return ("unary", "not", self.unary_logical(), tok.pos)
        if self.is_word("exists"):
            tok = self.next()
            return ("unary", "exists", self.unary_logical(), tok.pos)
        return self.comparison()

    def comparison(self):
        left = self.additive()
        while self.peek().kind == "op" and self.peek().value in ("==", "!=", "<", "<=", ">", ">=",
                                                                 "=~", "!~"):
            tok = self.next()
            left = ("binary", tok.value, left, self.additive(), tok.pos)
        return left

    def additive(self):
        left = self.multiplicative()
        while self.peek().kind == "op" and self.peek().value in ("+", "-"):
            tok = self.next()
            raise self.fail(tok, f"arithmetic ({tok.value}) is not supported by the sandbox Flux "
                                 f"engine")
        return left

    def multiplicative(self):
        left = self.pipe()
        while self.peek().kind == "op" and self.peek().value in ("*", "/", "%", "^"):
            tok = self.next()
            raise self.fail(tok, f"arithmetic ({tok.value}) is not supported by the sandbox Flux "
                                 f"engine")
        return left

    def pipe(self):
        left = self.unary()
        while self.is_op("|>"):
            tok = self.next()
            right = self.postfix()
            if right[0] != "call":
                raise self.fail(tok, "pipe destination must be a function call")
            left = ("pipe", left, right, tok.pos)
        return left

    def unary(self):
        if self.is_op("-") or self.is_op("+"):
            tok = self.next()
            arg = self.unary()
            if tok.value == "+":
                return arg
            return ("neg", arg, tok.pos)
        return self.postfix()

    def postfix(self):
        expr = self.primary()
        while True:
            if self.is_op("."):
                self.next()
                tok = self.next()
                if tok.kind != "ident":
                    raise self.fail(tok, "expected property name after '.'")
                expr = ("member", expr, tok.value, tok.pos)
            elif self.is_op("["):
                tok = self.next()
                prop = self.next()
                if prop.kind != "string":
                    raise self.fail(prop, "only string literal indexes (r[\"column\"]) are supported "
                                          "by the sandbox Flux engine")
                self.expect_op("]")
                expr = ("member", expr, prop.value, tok.pos)
            elif self.is_op("("):
                tok = self.next()
                args = {}
                while not self.is_op(")"):
                    name = self.next()
                    if name.kind != "ident":
                        raise self.fail(name, "expected named argument (name: value)")
                    self.expect_op(":")
                    if name.value in args:
                        raise self.fail(name, f"duplicate argument {name.value}")
                    args[name.value] = self.expression()
                    if not self.is_op(")"):
                        self.expect_op(",")
                self.expect_op(")")
                expr = ("call", expr, args, tok.pos)
            else:
                return expr

    def primary(self):
        tok = self.next()
        if tok.kind == "ident":
            return ("ident", tok.value, tok.pos)
        if tok.kind in ("int", "float", "string", "duration", "time", "regex"):
            return ("lit", tok.kind, tok.value, tok.pos)
        if tok.kind == "op" and tok.value == "(":
            if self.is_op(")") or self._function_after_paren():
                self.i -= 1
                return self.function()
            expr = self.expression()
            self.expect_op(")")
            return expr
        if tok.kind == "op" and tok.value == "[":
            elems = []
            while not self.is_op("]"):
                elems.append(self.expression())
                if not self.is_op("]"):
                    self.expect_op(",")
            self.expect_op("]")
            return ("array", elems, tok.pos)
        if tok.kind == "op" and tok.value == "{":
            raise self.fail(tok, "record literals are not supported by the sandbox Flux engine")
        if tok.kind == "eof":
            raise self.fail(tok, "unexpected EOF")
        raise self.fail(tok, f"unexpected token {tok.value!r}")

    def _function_after_paren(self) -> bool:
        self.i -= 1
        try:
            return self._looks_like_function()
        finally:
            self.i += 1


# --------------------------------------------------------------------------------------------
# Interpreter: evaluates the program into named result streams
# --------------------------------------------------------------------------------------------

_SUPPORTED = {"from", "range", "filter", "count", "sum", "mean", "min", "max", "first", "last",
              "group", "keep", "drop", "limit", "sort", "yield", "now"}
_AGGREGATES = {"count", "sum", "mean"}
_SELECTORS = {"min", "max", "first", "last"}
# Flux builtins (universe and common packages) that the sandbox knows but does not implement:
# using them is refused explicitly instead of answering "undefined identifier".
_KNOWN_UNSUPPORTED = {
    "aggregateWindow", "window", "map", "pivot", "distinct", "unique", "median", "quantile",
    "mode", "spread", "stddev", "integral", "derivative", "difference", "increase", "cumulativeSum",
    "movingAverage", "timedMovingAverage", "exponentialMovingAverage", "fill", "duplicate",
    "rename", "set", "columns", "keys", "keyValues", "tail", "top", "bottom", "highestMax",
    "lowestMin", "highestAverage", "lowestAverage", "highestCurrent", "lowestCurrent", "elapsed",
    "timeShift", "truncateTimeColumn", "union", "join", "reduce", "stateCount",
    "stateDuration", "toString", "toInt", "toFloat", "toUInt", "toBool", "toTime", "string",
    "int", "float", "uint", "bool", "time", "duration", "bytes", "buckets", "to", "sample",
    "hourSelection", "histogram", "histogramQuantile", "chandeMomentumOscillator", "covariance",
    "cov", "pearsonr", "doubleEMA", "tripleEMA", "holtWinters", "kaufmansAMA", "kaufmansER",
    "relativeStrengthIndex", "tableFind", "getColumn", "getRecord", "findColumn", "findRecord",
    "length", "contains", "display", "die", "experimental", "schema", "v", "array", "csv",
    "dict", "strings", "regexp", "math", "date", "events", "influxdb", "sql", "http", "json",
    "runtime", "system", "testing", "universe", "fixedZone", "location", "linearBins",
    "logarithmicBins", "timeWeightedAvg", "sleep", "reset",
}


class _Interp:
    def __init__(self, parser: _Parser, resolve_bucket: Callable[[str], str | None], now_ns: int,
                 variables: dict[str, Any]):
        self.parser = parser
        self.src = parser.src
        self.resolve_bucket = resolve_bucket
        self.now_ns = now_ns
        self.scope: dict[str, Any] = {"true": True, "false": False}
        self.scope.update(variables)
        self.results: list[tuple[str, Stream]] = []

    def err(self, pos: int, message: str) -> FluxError:
        line, col = self.src.loc(pos)
        return FluxError(f"error @{line}:{col}: {message}")

    def call_err(self, name: str, pos: int, message: str) -> FluxError:
        line, col = self.src.loc(pos)
        return FluxError(f"error calling function \"{name}\" @{line}:{col}: {message}")

    def run(self, stmts: list) -> list[tuple[str, Stream]]:
        for stmt in stmts:
            if stmt[0] == "assign":
                _, name, expr, pos = stmt
                if name in self.scope and name not in ("true", "false") or name in _SUPPORTED:
                    raise self.err(pos, f"variable {name!r} redeclared")
                self.scope[name] = self.eval(expr, self.scope)
            else:
                value = self.eval(stmt[1], self.scope)
                if isinstance(value, Stream) and value.ops[-1][0] != "yield":
                    self.add_result("_result", value, stmt[2])
        names = [n for n, _ in self.results]
        if not self.results:
            raise FluxError("no streaming data")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise FluxError(f"multiple yields with the same name {dup!r}: give every result a "
                            f"distinct yield(name:)")
        return self.results

    def add_result(self, name: str, stream: Stream, pos: int) -> None:
        self.results.append((name, stream))

    # expression evaluation (outside of row functions)
    def eval(self, node, scope: dict[str, Any]):
        kind = node[0]
        if kind == "lit":
            return node[2]
        if kind == "ident":
            name = node[1]
            if name in scope:
                return scope[name]
            if name in _SUPPORTED:
                return ("builtin", name)
            if name in _KNOWN_UNSUPPORTED:
                raise self.err(node[2], f"{name} is not supported by the sandbox Flux engine")
            raise self.err(node[2], f"undefined identifier {name}")
        if kind == "neg":
            value = self.eval(node[1], scope)
            if isinstance(value, bool) or not isinstance(value, (int, float, Duration)):
                raise self.err(node[2], f"unsupported unary expression -{_type_of(value)}")
            return value.negate() if isinstance(value, Duration) else -value
        if kind == "array":
            return [self.eval(e, scope) for e in node[1]]
        if kind == "func":
            return Function(node[1], node[2], (node[3], 0))
        if kind == "member":
            obj = self.eval(node[1], scope)
            if isinstance(obj, dict):
                if node[2] not in obj:
                    raise self.err(node[3], f"record is missing label {node[2]}")
                return obj[node[2]]
            raise self.err(node[3], f"cannot access property {node[2]!r} of {_type_of(obj)}")
        if kind == "call":
            return self.call(node[1], {k: v for k, v in node[2].items()}, None, node[3], scope)
        if kind == "pipe":
            piped = self.eval(node[1], scope)
            call = node[2]
            return self.call(call[1], call[2], piped, call[3], scope)
        if kind in ("binary", "logical", "unary"):
            raise self.err(node[-1], "expressions outside of filter functions are not supported "
                                     "by the sandbox Flux engine")
        raise self.err(node[-1], f"unsupported expression {kind}")

    def call(self, callee_node, arg_nodes: dict, piped, pos: int, scope):
        callee = self.eval(callee_node, scope)
        if not (isinstance(callee, tuple) and callee and callee[0] == "builtin"):
            raise self.err(pos, f"cannot call {_type_of(callee)}: not a function")
        name = callee[1]
        args = {k: self.eval(v, scope) for k, v in arg_nodes.items()}
        if piped is not None:
            if "tables" in args:
                raise self.err(pos, f"function {name} already has a piped argument tables")
            args["tables"] = piped
        return getattr(self, f"fn_{name}")(args, pos)

    # argument helpers
    def _check(self, name: str, args: dict, pos: int, allowed: set[str], required=()) -> None:
        for key in args:
            if key not in allowed:
                raise self.call_err(name, pos, f"function does not take a "
                                    f"parameter \"{key}\"")
        for key in required:
            if key not in args:
                raise self.call_err(name, pos, f"missing required "
                                    f"argument {key}")

    def _tables(self, name: str, args: dict, pos: int) -> Stream:
        tables = args.get("tables")
        if tables is None:
            raise self.call_err(name, pos, "missing required argument "
                                "tables")
        if not isinstance(tables, Stream):
            raise self.call_err(name, pos, f"tables must be a stream of "
                                f"tables, got {_type_of(tables)}")
        return tables

    def _string(self, name: str, arg: str, value, pos: int) -> str:
        if not isinstance(value, str):
            raise self.call_err(name, pos, f"keyword argument \"{arg}\" "
                                f"should be of kind string, but got {_type_of(value)}")
        return value

    def _columns(self, name: str, value, pos: int) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.call_err(name, pos, "keyword argument \"columns\" "
                                "should be an array of strings")
        return value

    def _op(self, tables: Stream, op: tuple) -> Stream:
        return Stream(tables.ops + (op,))

    # builtins
    def fn_now(self, args, pos):
        self._check("now", args, pos, set())
        return Time(self.now_ns)

    def fn_from(self, args, pos):
        self._check("from", args, pos, {"bucket", "bucketID"})
        if ("bucket" in args) == ("bucketID" in args):
            raise self.call_err("from", pos, "must specify one of bucket or "
                                "bucketID")
        if "bucket" in args:
            name = self._string("from", "bucket", args["bucket"], pos)
            bucket_id = self.resolve_bucket(name)
            if bucket_id is None:
                raise FluxError(f"could not find bucket \"{name}\"", "not found")
            label = name
        else:
            bucket_id = self._string("from", "bucketID", args["bucketID"], pos)
            label = bucket_id
        return Stream((("from", {"bucket_id": bucket_id, "label": label}, pos),))

    def _bound(self, value, arg: str, pos: int) -> int:
        if isinstance(value, Time):
            return value.ns
        if isinstance(value, Duration):
            return _add_duration(self.now_ns, value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value * 1_000_000_000
        raise self.call_err("range", pos, f"keyword argument \"{arg}\" "
                            f"should be of kind time, duration or int, but got {_type_of(value)}")

    def fn_range(self, args, pos):
        self._check("range", args, pos, {"tables", "start", "stop"}, ("start",))
        tables = self._tables("range", args, pos)
        start = self._bound(args["start"], "start", pos)
        stop = self._bound(args.get("stop", Time(self.now_ns)), "stop", pos)
        if start >= stop:
            raise FluxError("error in building plan while starting program: cannot query an empty "
                            "range")
        return self._op(tables, ("range", {"start": start, "stop": stop}, pos))

    def fn_filter(self, args, pos):
        self._check("filter", args, pos, {"tables", "fn", "onEmpty"}, ("fn",))
        tables = self._tables("filter", args, pos)
        fn = args["fn"]
        if not isinstance(fn, Function) or len(fn.params) != 1:
            raise self.call_err("filter", pos, "fn must be a function with one "
                                "parameter (r) => ...")
        on_empty = args.get("onEmpty", "drop")
        if on_empty not in ("drop", "keep"):
            raise self.call_err("filter", pos, f"onEmpty must be \"drop\" or "
                                f"\"keep\", got {on_empty!r}")
        preds = [(fn.body, fn.params[0], dict(self.scope))]
        return self._op(tables, ("filter", {"preds": preds, "keep_empty": on_empty == "keep"}, pos))

    def _aggregate(self, name, args, pos):
        self._check(name, args, pos, {"tables", "column"})
        tables = self._tables(name, args, pos)
        column = self._string(name, "column", args.get("column", "_value"), pos)
        return self._op(tables, (name, {"column": column}, pos))

    def fn_count(self, args, pos):
        return self._aggregate("count", args, pos)

    def fn_sum(self, args, pos):
        return self._aggregate("sum", args, pos)

    def fn_mean(self, args, pos):
        return self._aggregate("mean", args, pos)

    def fn_min(self, args, pos):
        return self._aggregate("min", args, pos)

    def fn_max(self, args, pos):
        return self._aggregate("max", args, pos)

    def fn_first(self, args, pos):
        return self._aggregate("first", args, pos)

    def fn_last(self, args, pos):
        return self._aggregate("last", args, pos)

    def fn_group(self, args, pos):
        self._check("group", args, pos, {"tables", "columns", "mode"})
        tables = self._tables("group", args, pos)
        columns = self._columns("group", args.get("columns", []), pos)
        mode = self._string("group", "mode", args.get("mode", "by"), pos)
        if mode not in ("by", "except"):
            raise self.call_err("group", pos, "invalid group mode: must be \"by\" or \"except\"")
        return self._op(tables, ("group", {"columns": columns, "mode": mode}, pos))

    def fn_keep(self, args, pos):
        return self._keep_drop("keep", args, pos)

    def fn_drop(self, args, pos):
        return self._keep_drop("drop", args, pos)

    def _keep_drop(self, name, args, pos):
        if "fn" in args:
            raise self.err(pos, f"{name}(fn:) is not supported by the sandbox Flux engine; use "
                                f"{name}(columns:)")
        self._check(name, args, pos, {"tables", "columns"}, ("columns",))
        tables = self._tables(name, args, pos)
        return self._op(tables, (name, {"columns": self._columns(name, args["columns"], pos)}, pos))

    def fn_limit(self, args, pos):
        self._check("limit", args, pos, {"tables", "n", "offset"}, ("n",))
        tables = self._tables("limit", args, pos)
        n, offset = args["n"], args.get("offset", 0)
        for arg, value in (("n", n), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.call_err("limit", pos, f"keyword argument \"{arg}\" "
                                    f"should be of kind int, but got {_type_of(value)}")
        if n < 0 or offset < 0:
            raise self.call_err("limit", pos, "n and offset must be >= 0")
        return self._op(tables, ("limit", {"n": n, "offset": offset}, pos))

    def fn_sort(self, args, pos):
        self._check("sort", args, pos, {"tables", "columns", "desc"})
        tables = self._tables("sort", args, pos)
        columns = self._columns("sort", args.get("columns", ["_value"]), pos)
        desc = args.get("desc", False)
        if not isinstance(desc, bool):
            raise self.call_err("sort", pos, "keyword argument \"desc\" should "
                                "be of kind bool")
        return self._op(tables, ("sort", {"columns": columns, "desc": desc}, pos))

    def fn_yield(self, args, pos):
        self._check("yield", args, pos, {"tables", "name"})
        tables = self._tables("yield", args, pos)
        name = self._string("yield", "name", args.get("name", "_result"), pos)
        stream = self._op(tables, ("yield", {"name": name}, pos))
        self.add_result(name, tables, pos)
        return stream


# --------------------------------------------------------------------------------------------
# Row functions (filter predicates): Flux semantics and storage (pushed-down) semantics
# --------------------------------------------------------------------------------------------

_NUMERIC = (T_INT, T_UINT, T_FLOAT)


def _compare(op: str, left, right, fail: Callable[[str], FluxError]):
    """Flux comparison; None (null) on either side gives null."""
    if op in ("=~", "!~"):
        if not isinstance(right, Regex):
            raise fail(f"unsupported binary expression {_type_of(left)} {op} {_type_of(right)}")
        if left is None:
            return None
        if not isinstance(left, str):
            raise fail(f"unsupported binary expression {_type_of(left)} {op} regexp")
        found = right.pattern.search(left) is not None
        return found if op == "=~" else not found
    if left is None or right is None:
        return None
    lt, rt = _type_of(left), _type_of(right)
    if lt != rt and not (lt in _NUMERIC and rt in _NUMERIC):
        raise fail(f"unsupported binary expression {lt} {op} {rt}")
    if isinstance(left, Time):
        left, right = left.ns, right.ns
    if op in ("<", "<=", ">", ">=") and lt == T_BOOL:
        raise fail(f"unsupported binary expression {lt} {op} {rt}")
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def _eval_row(node, rec: dict[str, Any], param: str, scope: dict[str, Any],
              interp_err: Callable[[int, str], FluxError]):
    kind = node[0]
    if kind == "lit":
        return node[2]
    if kind == "member":
        obj = node[1]
        if obj[0] == "ident" and obj[1] == param:
            return rec.get(node[2])
        if obj[0] == "ident" and isinstance(scope.get(obj[1]), dict):
            record = scope[obj[1]]
            if node[2] not in record:
                raise interp_err(node[3], f"record is missing label {node[2]}")
            value = record[node[2]]
            if isinstance(value, (str, int, float, bool, Time, Regex)):
                return value
            raise interp_err(node[3], f"{obj[1]}.{node[2]} cannot be used in a filter function")
        raise interp_err(node[3], "only members of the row (r.column) are supported in filter "
                                  "functions by the sandbox Flux engine")
    if kind == "ident":
        if node[1] == param:
            raise interp_err(node[2], "a whole row cannot be used as a value")
        if node[1] in scope:
            value = scope[node[1]]
            if isinstance(value, (str, int, float, bool, Time, Regex)):
                return value
            raise interp_err(node[2], f"{node[1]} cannot be used in a filter function")
        raise interp_err(node[2], f"undefined identifier {node[1]}")
    if kind == "neg":
        value = _eval_row(node[1], rec, param, scope, interp_err)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise interp_err(node[2], f"unsupported unary expression -{_type_of(value)}")
        return -value
    if kind == "binary":
        left = _eval_row(node[2], rec, param, scope, interp_err)
        right = _eval_row(node[3], rec, param, scope, interp_err)
        return _compare(node[1], left, right, lambda m: interp_err(node[4], m))
    if kind == "logical":
        left = _eval_row(node[2], rec, param, scope, interp_err)
        _expect_bool(left, node[4], interp_err)
        if node[1] == "and" and left is False:
            return False
        if node[1] == "or" and left is True:
            return True
        right = _eval_row(node[3], rec, param, scope, interp_err)
        _expect_bool(right, node[4], interp_err)
        if node[1] == "and":
            if right is False:
                return False
            return None if left is None or right is None else True
        if right is True:
            return True
        return None if left is None or right is None else False
    if kind == "unary":
        if node[1] == "exists":
            return _eval_row(node[2], rec, param, scope, interp_err) is not None
        value = _eval_row(node[2], rec, param, scope, interp_err)
        _expect_bool(value, node[3], interp_err)
        return None if value is None else not value
    if kind == "call" and node[1][0] == "ident" and node[1][1] == "now" and not node[2]:
        return Time(scope.get("__now__", 0))
    raise interp_err(node[-1], f"unsupported expression in filter function ({kind}) for the "
                               f"sandbox Flux engine")


def _expect_bool(value, pos, interp_err):
    if value is not None and not isinstance(value, bool):
        raise interp_err(pos, f"logical operators need booleans, got {_type_of(value)}")


def _is_row_member(node, param: str) -> bool:
    return node[0] == "member" and node[1][0] == "ident" and node[1][1] == param


def _is_pushable(node, param: str) -> bool:
    """InfluxDB's isPushableExpr (query/stdlib/influxdata/influxdb/rules.go)."""
    kind = node[0]
    if kind == "logical":
        return _is_pushable(node[2], param) and _is_pushable(node[3], param)
    if kind == "unary":
        if node[1] == "exists":
            return _is_row_member(node[2], param) and node[2][2] != "_value"
        arg = node[2]  # not: only `not <unary pushable>`
        return arg[0] == "unary" and _is_pushable(arg, param)
    if kind == "binary":
        op, left, right = node[1], node[2], node[3]
        literal = right[0] == "lit" and right[1] in ("string", "int", "float", "regex")
        if not literal and not (right[0] == "ident" and right[1] in ("true", "false")):
            return False
        if not _is_row_member(left, param):
            return False
        is_field = left[2] == "_value"
        if op == "==" and not is_field and right[0] == "lit" and right[1] == "string" \
                and right[2] == "":
            return False
        if is_field:
            return op in ("==", "!=", "=~", "!~", "<", "<=", ">", ">=")
        return op in ("==", "!=", "=~", "!~")
    return False


def _split_conjuncts(node) -> list:
    if node[0] == "logical" and node[1] == "and":
        return _split_conjuncts(node[2]) + _split_conjuncts(node[3])
    return [node]


def _join_conjuncts(nodes: list):
    expr = nodes[0]
    for other in nodes[1:]:
        expr = ("logical", "and", expr, other, other[-1])
    return expr


def _storage_eval(node, tags: dict[str, str], value, param: str) -> bool:
    """Evaluates a pushable predicate the way the storage engine does (missing tag == "")."""
    kind = node[0]
    if kind == "logical":
        left = _storage_eval(node[2], tags, value, param)
        if node[1] == "and":
            return left and _storage_eval(node[3], tags, value, param)
        return left or _storage_eval(node[3], tags, value, param)
    if kind == "unary":
        if node[1] == "exists":
            return tags.get(node[2][2], "") != ""
        return not _storage_eval(node[2], tags, value, param)
    op, left, right = node[1], node[2], node[3]
    literal = right[2] if right[0] == "lit" else (right[1] == "true")
    if left[2] == "_value":
        actual = value
        if isinstance(literal, Regex):
            if not isinstance(actual, str):
                return False
            found = literal.pattern.search(actual) is not None
            return found if op == "=~" else not found
        if op in ("=~", "!~"):
            return False
        lt, rt = _type_of(actual), _type_of(literal)
        if lt != rt and not (lt in _NUMERIC and rt in _NUMERIC):
            return False
        if lt == T_BOOL and op not in ("==", "!="):
            return False
        return {"==": actual == literal, "!=": actual != literal, "<": actual < literal,
                "<=": actual <= literal, ">": actual > literal, ">=": actual >= literal}[op]
    actual = tags.get(left[2], "")
    if isinstance(literal, Regex):
        if op not in ("=~", "!~"):
            return False
        found = literal.pattern.search(actual) is not None
        return found if op == "=~" else not found
    if not isinstance(literal, str) or op not in ("==", "!="):
        return False
    return (actual == literal) if op == "==" else (actual != literal)


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------

def _logical_rewrites(ops: list) -> list:
    """Flux's logical planner rules that change what reaches storage.

    RemoveTrivialFilterRule (``filter(fn: (r) => true)`` disappears), MergeFiltersRule
    (consecutive filters become one, unless only the later one keeps empty tables) and
    MergeGroupRule (``group |> group`` keeps the last).
    """
    out: list = []
    for op in ops:
        if op[0] == "filter":
            preds = [p for p in op[1]["preds"]
                     if not (p[0][0] == "ident" and p[0][1] == "true" and p[2].get("true") is True)]
            if not preds:
                continue
            op = ("filter", dict(op[1], preds=preds), op[2])
            if out and out[-1][0] == "filter":
                prev = out[-1]
                if prev[1]["keep_empty"] == op[1]["keep_empty"] or prev[1]["keep_empty"]:
                    out[-1] = ("filter", dict(op[1], preds=prev[1]["preds"] + preds), op[2])
                    continue
        elif op[0] == "group" and out and out[-1][0] == "group":
            out[-1] = op
            continue
        out.append(op)
    return out


def _escape(text: str, chars: str) -> str:
    for ch in chars:
        text = text.replace(ch, "\\" + ch)
    return text


def _series_sort_key(measurement: str, tags: dict[str, str], field_key: str) -> bytes:
    """The storage engine's series key order (2.x keys carry \\x00=measurement and \\xff=field)."""
    pairs = [("\x00", measurement)] + sorted(tags.items()) + [("\xff", field_key)]
    pairs.sort(key=lambda kv: kv[0].encode("utf-8", "surrogatepass") if kv[0] not in ("\x00", "\xff")
               else (b"\x00" if kv[0] == "\x00" else b"\xff"))
    parts = []
    for k, v in pairs:
        kb = b"\x00" if k == "\x00" else b"\xff" if k == "\xff" else _escape(k, ",= ").encode()
        parts.append(kb + b"=" + _escape(v, ",= ").encode())
    return b",".join(parts)


def _byte_key(label: str) -> bytes:
    return label.encode("utf-8", "surrogatepass")


@dataclass
class _Series:
    measurement: str
    tags: dict[str, str]
    field: str
    type: str
    points: list[tuple[int, Any]]

    def tag_columns(self) -> list[tuple[str, str]]:
        """All tag columns (with _field and _measurement) sorted bytewise, as storage does."""
        cols = dict(self.tags)
        cols["_field"] = self.field
        cols["_measurement"] = self.measurement
        return sorted(cols.items(), key=lambda kv: _byte_key(kv[0]))


class _Executor:
    def __init__(self, store: SeriesStore, interp: _Interp):
        self.store = store
        self.interp = interp

    def err(self, pos: int, message: str) -> FluxError:
        return self.interp.err(pos, message)

    # ---- source ------------------------------------------------------------------------------
    def run(self, stream: Stream) -> list[Table]:
        ops = list(stream.ops)
        ops = [op for op in ops if op[0] != "yield"]
        ops = ops[:1] + _logical_rewrites(ops[1:])
        first = ops[0]
        if first[0] != "from":
            raise self.err(first[2], "the sandbox Flux engine needs from() at the start of every "
                                     "chain")
        if len(ops) < 2 or ops[1][0] != "range":
            label = first[1]["label"]
            raise FluxError("error in building plan while starting program: cannot submit "
                            f"unbounded read to \"{label}\"; try bounding 'from' with a call to "
                            "'range'")
        for op in ops[2:]:
            if op[0] in ("from", "range"):
                raise self.err(op[2], f"{op[0]}() is supported only as from() |> range() at the "
                                      f"start of a chain by the sandbox Flux engine")
        bucket_id = first[1]["bucket_id"]
        start, stop = ops[1][1]["start"], ops[1][1]["stop"]
        rest = ops[2:]
        pushed: list = []  # storage predicates: (expression, row parameter name)
        if rest and rest[0][0] == "filter" and not rest[0][1]["keep_empty"]:
            # PushDownFilterRule: the pushable conjuncts go to storage, the rest stays a filter
            remaining = []
            for body, param, scope in rest[0][1]["preds"]:
                conjuncts = _split_conjuncts(body)
                pushed += [(c, param) for c in conjuncts if _is_pushable(c, param)]
                no = [c for c in conjuncts if not _is_pushable(c, param)]
                if no:
                    remaining.append((_join_conjuncts(no), param, scope))
            if pushed:
                if remaining:
                    rest[0] = ("filter", dict(rest[0][1], preds=remaining), rest[0][2])
                else:
                    rest.pop(0)

        series = self.read(bucket_id, start, stop, pushed)
        tables: list[Table]
        if rest and rest[0][0] in _AGGREGATES | _SELECTORS and rest[0][1]["column"] == "_value":
            # ReadWindowAggregate (PushDownBareAggregateRule)
            op = rest.pop(0)
            tables = [self.window_aggregate(s, start, stop, op) for s in series]
        elif rest and rest[0][0] == "group" and rest[0][1]["mode"] == "by" \
                and not {"_time", "_value"} & set(rest[0][1]["columns"]):
            # ReadGroup (PushDownGroupRule), maybe with a group aggregate (PushDownGroupAggregateRule)
            op = rest.pop(0)
            agg = None
            if rest and rest[0][0] in ("count", "sum", "first", "last", "min", "max") \
                    and rest[0][1]["column"] == "_value":
                agg = rest.pop(0)
            tables = self.read_group(series, start, stop, op, agg)
        else:
            tables = [self.series_table(s, start, stop) for s in series]
        for op in rest:
            tables = getattr(self, f"op_{op[0]}")(tables, op)
        return tables

    def read(self, bucket_id: str, start: int, stop: int, pushed: list) -> list[_Series]:
        found: dict[tuple, _Series] = {}
        for row in self.store.scan(bucket_id, start, stop):
            if not start <= row.time_ns < stop:
                continue
            key = (row.measurement, tuple(sorted(row.tags.items())), row.field)
            s = found.get(key)
            if s is None:
                kind = _KIND_TYPE.get(row.kind)
                if kind is None:
                    raise FluxError(f"unknown field kind {row.kind!r} in storage")
                s = found[key] = _Series(row.measurement, dict(row.tags), row.field, kind, [])
            s.points.append((row.time_ns, row.value))
        out = []
        for s in found.values():
            by_time: dict[int, Any] = {}
            for t, v in s.points:
                by_time[t] = v  # same series and time: the later write wins
            points = sorted(by_time.items())
            if pushed:
                tags = dict(s.tags, _measurement=s.measurement, _field=s.field)
                points = [(t, v) for t, v in points
                          if all(_storage_eval(expr, tags, v, param) for expr, param in pushed)]
            if points:
                s.points = points
                out.append(s)
        out.sort(key=lambda s: _series_sort_key(s.measurement, s.tags, s.field))
        return out

    @staticmethod
    def series_table(s: _Series, start: int, stop: int) -> Table:
        tag_cols = s.tag_columns()
        columns = [("_start", T_TIME), ("_stop", T_TIME), ("_time", T_TIME), ("_value", s.type)]
        columns += [(k, T_STRING) for k, _ in tag_cols]
        key = ["_start", "_stop"] + [k for k, _ in tag_cols]
        key_values = [start, stop] + [v for _, v in tag_cols]
        tag_values = [v for _, v in tag_cols]
        rows = [[start, stop, t, v] + tag_values for t, v in s.points]
        return Table(columns, key, key_values, rows)

    def window_aggregate(self, s: _Series, start: int, stop: int, op: tuple) -> Table:
        name = op[0]
        table = self.series_table(s, start, stop)
        if name in _SELECTORS:
            if name in ("min", "max") and s.type not in _NUMERIC:
                raise FluxError(f"unsupported input type for {name} aggregate: "
                                f"{_TYPE_CURSOR[s.type]}")
            return self.op_selector(table, op, name)
        values = [v for _, v in s.points]
        if name == "count":
            vtype, value = T_INT, len(values)
        elif s.type not in _NUMERIC:
            raise FluxError(f"unsupported input type for {name} aggregate: {_TYPE_CURSOR[s.type]}")
        elif name == "sum":
            vtype, value = s.type, _sum(values, s.type)
        else:
            vtype, value = T_FLOAT, _mean(values)
        tag_cols = s.tag_columns()
        columns = [("_start", T_TIME), ("_stop", T_TIME), ("_value", vtype)]
        columns += [(k, T_STRING) for k, _ in tag_cols]
        return Table(columns, table.key, table.key_values,
                     [[start, stop, value] + [v for _, v in tag_cols]])

    def read_group(self, series: list[_Series], start: int, stop: int, op: tuple,
                   agg: tuple | None) -> list[Table]:
        columns = [c for c in op[1]["columns"] if c not in ("_start", "_stop")]
        groups: dict[tuple, list[_Series]] = {}
        for s in series:
            tags = dict(s.tags, _measurement=s.measurement, _field=s.field)
            groups.setdefault(tuple(tags.get(c, "") for c in columns), []).append(s)
        tables = []
        for values in sorted(groups, key=lambda vs: [_byte_key(v) for v in vs]):
            members = groups[values]
            key = ["_start", "_stop"] + columns
            key_values = [start, stop] + list(values)
            if agg is not None and agg[0] == "count":
                # ReadGroupAggregate(count): the storage counts are integers whatever the field
                # types, so mixed types do not collide; columns _start, _stop, _value, group keys
                total = sum(len(s.points) for s in members)
                tcols = [("_start", T_TIME), ("_stop", T_TIME), ("_value", T_INT)]
                tables.append(Table(tcols + [(c, T_STRING) for c in columns], key, key_values,
                                    [[start, stop, total] + list(values)]))
                continue
            vtype = members[0].type
            for other in members[1:]:
                if other.type != vtype:
                    raise FluxError(f"schema collision: cannot group {_TYPE_CURSOR[vtype]} and "
                                    f"{_TYPE_CURSOR[other.type]} types together")
            if agg is not None and agg[0] == "sum":
                if vtype not in _NUMERIC:
                    raise FluxError(f"unsupported input type for sum aggregate: "
                                    f"{_TYPE_CURSOR[vtype]}")
                total = _sum([v for s in members for _, v in s.points], vtype)
                tcols = [("_start", T_TIME), ("_stop", T_TIME), ("_value", vtype)]
                tables.append(Table(tcols + [(c, T_STRING) for c in columns], key, key_values,
                                    [[start, stop, total] + list(values)]))
                continue
            tag_keys: set[str] = set(columns)
            for s in members:
                tag_keys.update(k for k, _ in s.tag_columns())
            tag_list = sorted(tag_keys, key=_byte_key)
            tcols = [("_start", T_TIME), ("_stop", T_TIME), ("_time", T_TIME), ("_value", vtype)]
            tcols += [(k, T_STRING) for k in tag_list]
            rows = []
            for s in members:
                tags = dict(s.tags, _measurement=s.measurement, _field=s.field)
                tag_values = [tags.get(k) for k in tag_list]
                rows.extend([start, stop, t, v] + tag_values for t, v in s.points)
            if agg is not None and rows:
                # ReadGroupAggregate(first|last|min|max): one row for the whole group; first/last
                # by time across the group's series, min/max by value (ties: the earlier row)
                name = agg[0]
                if name in ("min", "max") and vtype not in _NUMERIC:
                    raise FluxError(f"unsupported input type for {name} aggregate: "
                                    f"{_TYPE_CURSOR[vtype]}")
                col = 2 if name in ("first", "last") else 3
                best = rows[0]
                for row in rows[1:]:
                    if (row[col] < best[col]) if name in ("first", "min") else (row[col] > best[col]):
                        best = row
                rows = [best]
            tables.append(Table(tcols, key, key_values, rows))
        return tables

    # ---- transformations ---------------------------------------------------------------------
    def op_filter(self, tables: list[Table], op: tuple) -> list[Table]:
        preds = [(body, param, dict(scope, __now__=self.interp.now_ns))
                 for body, param, scope in op[1]["preds"]]
        out = []
        for t in tables:
            labels = [c for c, _ in t.columns]
            times = [ctype == T_TIME for _, ctype in t.columns]
            rows = []
            for row in t.rows:
                rec = {k: (Time(v) if is_time and v is not None else v)
                       for k, v, is_time in zip(labels, row, times)}
                if all(_eval_row(body, rec, param, scope, self.err) is True
                       for body, param, scope in preds):
                    rows.append(row)
            if rows or op[1]["keep_empty"]:
                out.append(Table(t.columns, t.key, t.key_values, rows))
        return out

    def _value_index(self, t: Table, column: str, op: tuple) -> int:
        i = t.index(column)
        if i < 0:
            raise self.err(op[2], f"column \"{column}\" does not exist")
        return i

    def op_aggregate_table(self, t: Table, op: tuple) -> Table:
        name, column = op[0], op[1]["column"]
        i = self._value_index(t, column, op)
        ctype = t.columns[i][1]
        values = [row[i] for row in t.rows if row[i] is not None]
        if name == "count":  # counts null and non-null records; 0 for an empty table
            vtype, value = T_INT, len(t.rows)
        elif ctype not in _NUMERIC:
            raise self.err(op[2], f"unsupported aggregate column type {ctype}")
        elif name == "sum":
            vtype, value = ctype, (_sum(values, ctype) if values else None)
        else:
            vtype, value = T_FLOAT, (_mean(values) if values else None)
        columns = [(k, t.col_type(k) or T_STRING) for k in t.key if k != column]
        row = [t.key_values[j] for j, k in enumerate(t.key) if k != column]
        key = [k for k in t.key if k != column]
        key_values = [t.key_values[j] for j, k in enumerate(t.key) if k != column]
        return Table(columns + [(column, vtype)], key, key_values, [row + [value]])

    def _aggregate(self, tables, op):
        return [self.op_aggregate_table(t, op) for t in tables]

    op_count = op_sum = op_mean = _aggregate

    def op_selector(self, t: Table, op: tuple, name: str) -> Table:
        i = self._value_index(t, op[1]["column"], op)
        ctype = t.columns[i][1]
        candidates = [(n, row) for n, row in enumerate(t.rows) if row[i] is not None]
        chosen = None
        if candidates:
            if name == "first":
                chosen = candidates[0][1]
            elif name == "last":
                chosen = candidates[-1][1]
            else:
                if ctype not in _NUMERIC + (T_TIME,):
                    raise self.err(op[2], f"unsupported type {ctype} for {name}()")
                best = candidates[0][1]
                for _, row in candidates[1:]:
                    if (row[i] < best[i]) if name == "min" else (row[i] > best[i]):
                        best = row
                chosen = best
        return Table(t.columns, t.key, t.key_values, [list(chosen)] if chosen is not None else [])

    def _selector(self, tables, op):
        return [self.op_selector(t, op, op[0]) for t in tables]

    op_min = op_max = op_first = op_last = _selector

    def op_group(self, tables: list[Table], op: tuple) -> list[Table]:
        columns, mode = op[1]["columns"], op[1]["mode"]
        builders: dict[tuple, Table] = {}
        order: list[tuple] = []
        for t in tables:
            if mode == "by":
                on = set(columns)
            else:
                on = {c for c, _ in t.columns if c not in columns}
            key_idx = [j for j, (c, _) in enumerate(t.columns) if c in on]
            key_labels = [t.columns[j][0] for j in key_idx]
            for row in t.rows:
                key_values = [row[j] for j in key_idx]
                ident = (tuple(key_labels), tuple(t.columns[j][1] for j in key_idx),
                         tuple(key_values))
                b = builders.get(ident)
                if b is None:
                    b = builders[ident] = Table(list(t.columns), key_labels, key_values, [])
                    order.append(ident)
                colmap = []
                for c, ctype in t.columns:
                    existing = b.index(c)
                    if existing < 0:
                        b.columns.append((c, ctype))
                        for r in b.rows:
                            r.append(None)
                        existing = len(b.columns) - 1
                    elif b.columns[existing][1] != ctype:
                        raise self.err(op[2], f"schema collision detected: column \"{c}\" is both "
                                              f"of type {ctype} and {b.columns[existing][1]}")
                    colmap.append(existing)
                new = [None] * len(b.columns)
                for src, dst in enumerate(colmap):
                    new[dst] = row[src]
                b.rows.append(new)
        out = [builders[k] for k in order]
        out.sort(key=_GroupKeyOrder)
        return out

    def _keep_drop(self, tables: list[Table], op: tuple, keep: bool) -> list[Table]:
        wanted = set(op[1]["columns"])
        merged: dict[tuple, Table] = {}
        out: list[Table] = []
        for t in tables:
            idx = [j for j, (c, _) in enumerate(t.columns) if (c in wanted) == keep]
            columns = [t.columns[j] for j in idx]
            key = [k for k in t.key if (k in wanted) == keep]
            key_values = [v for k, v in zip(t.key, t.key_values) if (k in wanted) == keep]
            rows = [[row[j] for j in idx] for row in t.rows]
            ident = (tuple(key), tuple(t.col_type(k) for k in key), tuple(key_values))
            existing = merged.get(ident)
            if existing is None:
                merged[ident] = Table(columns, key, key_values, rows)
                out.append(merged[ident])
                continue
            for c, ctype in columns:  # tables whose keys became equal are merged
                j = existing.index(c)
                if j < 0:
                    existing.columns.append((c, ctype))
                    for r in existing.rows:
                        r.append(None)
                elif existing.columns[j][1] != ctype:
                    raise self.err(op[2], f"schema collision detected: column \"{c}\" is both of "
                                          f"type {ctype} and {existing.columns[j][1]}")
            for row in rows:
                new = [None] * len(existing.columns)
                for (c, _), v in zip(columns, row):
                    new[existing.index(c)] = v
                existing.rows.append(new)
        return out

    def op_keep(self, tables, op):
        return self._keep_drop(tables, op, True)

    def op_drop(self, tables, op):
        return self._keep_drop(tables, op, False)

    def op_limit(self, tables, op):
        n, offset = op[1]["n"], op[1]["offset"]
        return [Table(t.columns, t.key, t.key_values, t.rows[offset:offset + n]) for t in tables]

    def op_sort(self, tables, op):
        columns, desc = op[1]["columns"], op[1]["desc"]
        out = []
        for t in tables:
            idx = [t.index(c) for c in columns]

            def sort_key(row, idx=idx):
                # nulls sort last ascending and first descending (Flux docs, sort())
                return [(1, 0) if j < 0 or row[j] is None else (0, row[j]) for j in idx]
            try:
                rows = sorted(t.rows, key=sort_key, reverse=desc)
            except TypeError:
                raise self.err(op[2], "sort: columns of mixed types cannot be compared") from None
            out.append(Table(t.columns, t.key, t.key_values, rows))
        return out


def _sum(values: list, vtype: str):
    if vtype == T_FLOAT:
        total = 0.0
        for v in values:
            total += v
        return total
    total = sum(values)
    if vtype == T_INT:  # Go int64 arithmetic wraps around
        total = (total + 2 ** 63) % 2 ** 64 - 2 ** 63
    else:
        total %= 2 ** 64
    return total


def _mean(values: list) -> float | None:
    if not values:
        return None
    total = 0.0
    for v in values:
        total += float(v)
    return total / len(values)


class _GroupKeyOrder:
    """Flux's group key ordering: column by column on label, type, null-first value; then length."""

    def __init__(self, t: Table):
        self.labels = t.key
        self.types = [t.col_type(k) for k in t.key]
        self.values = t.key_values

    def __lt__(self, other: _GroupKeyOrder) -> bool:
        for a_label, a_type, a_val, b_label, b_type, b_val in zip(
                self.labels, self.types, self.values, other.labels, other.types, other.values):
            if a_label != b_label:
                return a_label < b_label
            if a_type != b_type:
                return _TYPE_ORDER.get(a_type, 0) < _TYPE_ORDER.get(b_type, 0)
            if a_val is None or b_val is None:
                if (a_val is None) != (b_val is None):
                    return a_val is None
                continue
            if a_val != b_val:
                return a_val < b_val
        return len(self.labels) < len(other.labels)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------

def _decode_extern(extern: dict | None) -> dict[str, Any]:
    """The variables of a query request's ``extern`` file.

    influxdb-client sends ``query_api.query(..., params={"_start": ...})`` as one
    ``option _start = <literal>`` statement per parameter; the query then uses ``_start``.
    """
    if not extern:
        return {}
    if not isinstance(extern, dict):
        raise FluxError("extern must be a Flux file (object)")
    variables: dict[str, Any] = {}
    for stmt in extern.get("body") or []:
        if not isinstance(stmt, dict) or stmt.get("type") not in ("OptionStatement",
                                                                  "VariableAssignment"):
            raise FluxError("extern: only option statements are supported by the sandbox Flux "
                            "engine")
        assignment = stmt.get("assignment") if stmt.get("type") == "OptionStatement" else stmt
        assignment = assignment or {}
        name = (assignment.get("id") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise FluxError("extern: only `option name = <literal>` is supported by the sandbox "
                            "Flux engine")
        variables[name] = _extern_value(assignment.get("init") or {})
    return variables


def _extern_value(node: dict):
    typ = node.get("type")
    if typ == "StringLiteral":
        return str(node.get("value", ""))
    if typ == "IntegerLiteral":
        return int(node.get("value"))
    if typ == "FloatLiteral":
        return float(node.get("value"))
    if typ == "BooleanLiteral":
        return bool(node.get("value"))
    if typ == "DateTimeLiteral":
        m = _TIME_TOKEN.fullmatch(str(node.get("value")))
        if not m:
            raise FluxError(f"extern: invalid date time literal {node.get('value')!r}")
        return Time(_time_from_match(m))
    if typ == "DurationLiteral":
        months = nanos = 0
        for part in node.get("values") or []:
            d = _parse_duration(f"{int(part['magnitude'])}{part['unit']}")
            months += d.months
            nanos += d.nanos
        return Duration(months, nanos)
    if typ == "UnaryExpression" and node.get("operator") == "-":
        value = _extern_value(node.get("argument") or {})
        return value.negate() if isinstance(value, Duration) else -value
    if typ == "ArrayExpression":
        return [_extern_value(e) for e in node.get("elements") or []]
    if typ == "ObjectExpression":
        record = {}
        for prop in node.get("properties") or []:
            key = prop.get("key") or {}
            record[key.get("name", key.get("value"))] = _extern_value(prop.get("value") or {})
        return record
    raise FluxError(f"extern: unsupported parameter value of type {typ}")


def execute(query: str, store: SeriesStore, resolve_bucket: Callable[[str], str | None],
            now_ns: int, *, extern: dict | None = None) -> list[Table]:
    """Runs a Flux query; returns the tables of all results in order (Table.result names them).

    ``extern`` is the optional ``extern`` member of the query request (influxdb-client sends the
    ``params=`` of ``query_api.query(...)`` there as ``option params = {...}``).
    """
    if not isinstance(query, str) or not query.strip():
        raise FluxError("error @1:1-1:1: no statements in query" if isinstance(query, str)
                        else "query must be a string")
    parser = _Parser(query)
    program = parser.program()
    interp = _Interp(parser, resolve_bucket, now_ns, _decode_extern(extern))
    results = interp.run(program)
    executor = _Executor(store, interp)
    out: list[Table] = []
    for name, stream in results:
        for table in executor.run(stream):
            table.result = name
            out.append(table)
    return out


_GO_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)}


def _csv_field(text: str, comma: str) -> str:
    """Go encoding/csv with UseCRLF: quote when needed, drop \\r and write \\n as \\r\\n inside."""
    if text == "":
        return ""
    if not ('"' in text or comma in text or "\n" in text or "\r" in text
            or text[0] in _GO_SPACE or text == "\\."):
        return text
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('""')
        elif ch == "\r":
            continue
        elif ch == "\n":
            out.append("\r\n")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode_value(value, ctype: str) -> str:
    if value is None:
        return ""
    if ctype == T_BOOL:
        return "true" if value else "false"
    if ctype in (T_INT, T_UINT):
        return str(int(value))
    if ctype == T_FLOAT:
        return _format_float(float(value))
    if ctype == T_TIME:
        return _format_time(value.ns if isinstance(value, Time) else int(value))
    return str(value)


def _encoder(ctype: str, comma: str):
    """A value -> CSV field function for a column type (None: time, encoded with a cache)."""
    if ctype == T_TIME:
        return None
    if ctype == T_STRING:
        return lambda v: _csv_field(v, comma)
    if ctype == T_FLOAT:
        return lambda v: _csv_field(_format_float(float(v)), comma)
    if ctype == T_BOOL:
        return lambda v: "true" if v else "false"
    return lambda v: _csv_field(str(int(v)), comma)


def _dialect(dialect: dict | None) -> tuple[list[str], bool, str]:
    if dialect is None:
        return ["datatype", "group", "default"], True, ","
    if not isinstance(dialect, dict):
        raise FluxError("dialect must be an object")
    annotations = dialect.get("annotations") or []
    if not isinstance(annotations, list):
        raise FluxError("dialect.annotations must be an array")
    for a in annotations:
        if a not in ("datatype", "group", "default"):
            raise FluxError(f"unknown annotation \"{a}\"")
    header = dialect.get("header", True)
    header = True if header is None else bool(header)
    delimiter = dialect.get("delimiter") or ","
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"\ufffd":
        raise FluxError("dialect.delimiter must be a single character other than \\r, \\n or \"")
    return list(annotations), header, delimiter


def to_annotated_csv(tables: list[Table], dialect: dict | None = None) -> str:
    """Annotated CSV as InfluxDB writes it for these tables (results in order of appearance).

    ``dialect=None`` is influxdb-client's dialect (annotations datatype, group, default; header;
    ","). A dict is the request's ``dialect`` with InfluxDB's defaults for what it leaves out (no
    annotations, header on, ","), so pass ``{}`` for a request without a dialect.
    """
    annotations, header, comma = _dialect(dialect)
    results: list[tuple[str, list[Table]]] = []
    for t in tables:
        if results and results[-1][0] == t.result:
            results[-1][1].append(t)
        else:
            results.append((t.result, [t]))
    if not results:
        return "\r\n"
    out: list[str] = []

    def write(fields: list[str]) -> None:
        out.append(comma.join(_csv_field(f, comma) for f in fields) + "\r\n")

    for name, result_tables in results:
        last_cols = None
        last_empty = False
        for table_id, t in enumerate(result_tables):
            cols = [(c, ctype) for c, ctype in t.columns]
            empty = not t.rows
            if last_empty or cols != last_cols or empty:
                if last_cols is not None:
                    out.append("\r\n")
                key = t.key_dict()
                for annotation in annotations:
                    if annotation == "datatype":
                        write(["#datatype", "string", "long"] + [_CSV_DATATYPE[ct] for _, ct in cols])
                    elif annotation == "group":
                        write(["#group", "false", "false"]
                              + ["true" if c in key else "false" for c, _ in cols])
                    else:
                        defaults = [_encode_value(key[c], ct) if empty and c in key else ""
                                    for c, ct in cols]
                        write(["#default", name, str(table_id) if empty else ""] + defaults)
                if header:
                    write(["", "result", "table"] + [c for c, _ in cols])
            prefix = comma.join(["", _csv_field("" if "default" in annotations else name, comma),
                                 str(table_id)])
            encoders = [_encoder(ct, comma) for _, ct in cols]
            cache: dict = {}  # _start/_stop and other repeated times
            for row in t.rows:
                fields = [prefix]
                for v, enc in zip(row, encoders):
                    if v is None:
                        fields.append("")
                    elif enc is None:
                        text = cache.get(v)
                        if text is None:
                            text = cache[v] = _csv_field(_format_time(v), comma)
                            if len(cache) > 4096:
                                cache.clear()
                        fields.append(text)
                    else:
                        fields.append(enc(v))
                out.append(comma.join(fields) + "\r\n")
            last_cols, last_empty = cols, empty
        out.append("\r\n")
    return "".join(out)
