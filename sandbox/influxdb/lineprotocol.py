"""InfluxDB line protocol: a strict parser and serializer, faithful to InfluxDB's own.

The scanner is a byte-for-byte port of InfluxDB's Go parser (``models/points.go``, shared by 1.x
and the 2.x OSS server), quirks included, and is proven against Debian's real ``influxd`` 1.6.7
by ``tests/sandbox/test_lineprotocol_differential.py``.  On top of the parse, the checks InfluxDB
makes when it stores points (``tsdb`` shard validation) are applied too, so a caller gets one
verdict per line (``ParseResult.errors``, each a ``LineError`` with a ``status``):

* 400, parse errors: ``unable to parse '<line>': <reason>`` in InfluxDB's exact words (``missing
  fields``, ``invalid number``, ``invalid boolean``, ``invalid float``, ``bad timestamp``,
  ``duplicate tags``, ``invalid tag format``, ``unbalanced quotes``, ``point is invalid``,
  ``time outside range ...``, ``unable to parse integer ...: strconv.ParseInt: ... value out of
  range``...).  One bad line never stops the others.
* 422, dropped when stored (InfluxDB's "partial write" class; the message is the reason, without
  the "partial write:" prefix): a tag key ``time``; a point whose only field is ``time`` (a
  ``time`` field next to others is silently dropped, as InfluxDB does); the same field twice in
  one line with two types; measurement/tag keys/tag values that are not valid printable UTF-8
  (InfluxDB 2 ``ValidKeyTokens``); string values over 1 MiB (``MAX_STRING_LENGTH``).
* 422, sandbox strictness (real InfluxDB would store something broken or reserved): names
  starting with ``_`` (measurement, tag key, field key); a field key that is not valid UTF-8, or
  empty (``m \t=1``: the tab is skipped as whitespace, 1.6.7 stores a field named ""); a
  measurement whose text has a backslash right before ``,``, ``=``, space or ``"`` escaped or not
  (measured: 1.6.7 answers 204 but the point can never be read back).

``dialect="v1.6"`` judges exactly as Debian's InfluxDB 1.6.7 (no ``u`` integers: ``invalid
number``; any bytes in keys; no string limit; ``_`` names allowed; status 500 where 1.6.7 fails
the request on invalid UTF-8 in a measurement or field key; status 204 for the lines 1.6.7
acknowledges but cannot read back).  The differential test uses it with no exceptions; the
default dialect (InfluxDB 2) differs from it only in the ways listed above.  Invalid UTF-8
inside string field values becomes U+FFFD (what any JSON/CSV read of real InfluxDB shows).

Field types across lines and writes are the server's business (it knows the stored types):
``field_types(points, known)`` finds conflicts within a batch and against stored types, per
point.  Measured: InfluxDB 1.6.7 rejects the whole write of a shard on one conflict ("field type
conflict", nothing of that shard stored); InfluxDB 2 drops the conflicting points (partial write).

``format_point`` writes a ``Point`` so that ``parse`` (and InfluxDB) read back exactly that point,
or raises ``UnwritableValue``; ``escape_*`` are the per-token helpers (they refuse what cannot be
written: trailing backslash, newline, empty tag value, ``#``-leading measurement, ...).

This module imports nothing from the rest of the package on purpose.
"""

from __future__ import annotations

import math
import re
import time as _time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_STRING_LENGTH",
    "MAX_TIME_NS",
    "MIN_TIME_NS",
    "PRECISION_NS",
    "FieldKind",
    "FieldTypeCheck",
    "FieldTypeConflict",
    "LineError",
    "ParseResult",
    "Point",
    "UnwritableValue",
    "escape_key",
    "escape_measurement",
    "escape_string_field",
    "escape_tag_key",
    "escape_tag_value",
    "field_types",
    "format_point",
    "parse",
]

FieldKind = Literal["float", "integer", "unsigned", "string", "boolean"]

#: Nanoseconds per unit, by precision name (v2 names first; v1 ``/write`` names accepted too).
PRECISION_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "n": 1,
    "u": 1_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

MAX_KEY_LENGTH = (
    65535  # models.MaxKeyLength: series key (escaped measurement + tags) limit
)
MAX_STRING_LENGTH = (
    1_048_576  # tsdb.MaxFieldValueLength in InfluxDB 2.x (bytes, unescaped)
)
MIN_TIME_NS = -(2**63) + 2  # models.MinNanoTime
MAX_TIME_NS = 2**63 - 2  # models.MaxNanoTime
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
_TIME_RANGE_ERR = f"time outside range {MIN_TIME_NS} - {MAX_TIME_NS}"


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: tuple[tuple[str, str], ...]  # sorted by key
    fields: tuple[
        tuple[str, FieldKind, object], ...
    ]  # (key, kind, value), line order, last duplicate wins
    time_ns: int


@dataclass(frozen=True)
class LineError:
    line_no: int  # 1-based physical line where the logical line starts
    line: str
    message: str  # InfluxDB wording
    #: 400: parse error; 422: dropped when stored (InfluxDB's "partial write" class).  Only with
    #: dialect="v1.6": 500 (1.6.7 fails the request) and 204 (1.6.7 acknowledges, data unreadable).
    status: int = 400


@dataclass
class ParseResult:
    points: list[Point]
    errors: list[LineError]
    #: for each point, the 1-based line number it came from (same order as ``points``)
    line_numbers: list[int] = field(default_factory=list)


class UnwritableValue(ValueError):
    """A value that no line-protocol text can carry (InfluxDB would store something else)."""


class _Err(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --------------------------------------------------------------------------------------------
# Scanner: a port of models/points.go.  All functions work on bytes and byte offsets.
# --------------------------------------------------------------------------------------------
_BS = 0x5C  # backslash
_SP = 0x20
_COMMA = 0x2C
_EQ = 0x3D
_QUOTE = 0x22
_NL = 0x0A


def _skip_ws(buf: bytes, i: int) -> int:
    n = len(buf)
    while i < n and buf[i] in (0x20, 0x09, 0x00):
        i += 1
    return i


def _scan_line(buf: bytes, i: int) -> int:
    """End offset of the logical line starting at i (newlines inside quoted strings kept)."""
    n = len(buf)
    nl = buf.find(b"\n", i)
    end = n if nl < 0 else nl
    if buf.find(b"\\", i, end) < 0 and buf.find(b'"', i, end) < 0:
        return end  # no escape and no quote before the newline: the scan below would stop there
    quoted = False
    fields = False
    equals = commas = 0
    while i < n:
        c = buf[i]
        if c == _BS:
            i += 2
            continue
        if c == _SP:
            fields = True
        if fields:
            if not quoted and c == _EQ:
                i += 1
                equals += 1
                continue
            if not quoted and c == _COMMA:
                i += 1
                commas += 1
                continue
            if c == _QUOTE and equals > commas:
                i += 1
                quoted = not quoted
                continue
        if c == _NL and not quoted:
            break
        i += 1
    return min(i, n)


def _scan_measurement(buf: bytes, i: int) -> tuple[str, int]:
    n = len(buf)
    if i >= n or buf[i] == _COMMA:
        raise _Err("missing measurement")
    while True:
        i += 1
        if i >= n:
            raise _Err("missing fields")
        if buf[i - 1] == _BS:
            continue
        if buf[i] == _COMMA:
            return "tags", i + 1
        if buf[i] == _SP:
            return "fields", i


def _scan_tags_key(buf: bytes, i: int) -> int:
    n = len(buf)
    if i >= n or buf[i] in (_SP, _COMMA, _EQ):
        raise _Err("missing tag key")
    while True:
        i += 1
        if i >= n or (buf[i] in (_SP, _COMMA) and buf[i - 1] != _BS):
            raise _Err("missing tag value")
        if buf[i] == _EQ and buf[i - 1] != _BS:
            return i + 1


def _scan_tags_value(buf: bytes, i: int) -> tuple[str, int]:
    n = len(buf)
    if i >= n or buf[i] in (_COMMA, _SP):
        raise _Err("missing tag value")
    while True:
        i += 1
        if i >= n:
            raise _Err("missing fields")
        c = buf[i]
        if c == _EQ and buf[i - 1] != _BS:
            raise _Err("invalid tag format")
        if c == _COMMA and buf[i - 1] != _BS:
            return "tags", i + 1
        if c == _SP and buf[i - 1] != _BS:
            return "fields", i


def _scan_to(buf: bytes, i: int, stop: int) -> int:
    n = len(buf)
    while i < n:
        if buf[i] == stop and (i == 0 or buf[i - 1] != _BS):
            break
        i += 1
    return i


def _scan_key(buf: bytes, i: int) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Scan measurement[,tags]; returns (end, raw measurement, [(raw key, raw value)] in line order)."""
    start = _skip_ws(buf, i)
    state, i = _scan_measurement(buf, start)
    tag_spans: list[tuple[int, int, int]] = []  # (key start, '=' offset, value end)
    if state == "tags":
        while True:
            kstart = i
            i = _scan_tags_key(buf, i)
            eq = i - 1
            state, i = _scan_tags_value(buf, i)
            vend = i - 1 if state == "tags" else i
            tag_spans.append((kstart, eq, vend))
            if state == "fields":
                break
        measurement = buf[start : tag_spans[0][0] - 1]
    else:
        measurement = buf[start:i]
    tags = [(buf[k:e], buf[e + 1 : v]) for k, e, v in tag_spans]
    # duplicate tag keys (compared escaped, as InfluxDB does)
    keys = [k for k, _ in tags]
    if len(set(keys)) != len(keys):
        raise _Err("duplicate tags")
    return i, measurement, tags


def _is_numeric(c: int) -> bool:
    return 0x30 <= c <= 0x39 or c == 0x2E


_GO_FLOAT = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_GO_INT = re.compile(rb"[+-]?\d+\Z")


def _go_parse_float(b: bytes) -> float:
    if not _GO_FLOAT.match(b):
        raise ValueError("invalid syntax")
    v = float(b)
    if math.isinf(v):
        raise ValueError("value out of range")
    return v


def _go_parse_int(b: bytes, bits_min: int, bits_max: int, fn: str) -> int:
    s = b.decode("latin-1")
    if not _GO_INT.match(b) or (fn == "ParseUint" and s[:1] in "+-"):
        raise ValueError(f'strconv.{fn}: parsing "{s}": invalid syntax')
    v = int(s)
    if v < bits_min or v > bits_max:
        raise ValueError(f'strconv.{fn}: parsing "{s}": value out of range')
    return v


def _scan_number(buf: bytes, i: int, uint_ok: bool = True) -> int:
    n = len(buf)
    start = i
    is_int = is_unsigned = False
    if i < n and buf[i] == 0x2D:
        i += 1
        if i == n:
            raise _Err("invalid number")
    decimal = scientific = False
    while i < n:
        c = buf[i]
        if c == _COMMA or c == _SP:
            break
        if c == 0x69 and i > start and not (is_int or is_unsigned):  # 'i'
            is_int = True
            i += 1
            continue
        if c == 0x75 and i > start and not (is_int or is_unsigned):  # 'u'
            is_unsigned = True
            i += 1
            continue
        if c == 0x2E:
            if decimal:
                raise _Err("invalid number")
            decimal = True
        if i > start and c in (0x65, 0x45):  # e E
            scientific = True
            i += 1
            continue
        if c in (0x2B, 0x2D) and buf[i - 1] in (0x65, 0x45):
            i += 1
            continue
        if i + 2 < n and c in (0x4E, 0x6E):  # N n
            raise _Err("invalid number")
        if not _is_numeric(c):
            raise _Err("invalid number")
        i += 1
    if (is_int or is_unsigned) and (decimal or scientific):
        raise _Err("invalid number")
    digits = i - start
    if is_int:
        digits -= 1
    if decimal:
        digits -= 1
    if buf[start] == 0x2D:
        digits -= 1
    if digits == 0:
        raise _Err("invalid number")
    if is_int:
        if buf[i - 1] != 0x69:
            raise _Err("invalid number")
        num = buf[start : i - 1]
        if len(num) >= 19:
            try:
                _go_parse_int(num, _INT64_MIN, _INT64_MAX, "ParseInt")
            except ValueError as exc:
                raise _Err(
                    f"unable to parse integer {num.decode('latin-1')}: {exc}"
                ) from None
    elif is_unsigned:
        if not uint_ok or buf[i - 1] != 0x75 or buf[start] == 0x2D:
            raise _Err("invalid number")
        num = buf[start : i - 1]
        if len(num) >= 20:
            try:
                _go_parse_int(num, 0, _UINT64_MAX, "ParseUint")
            except ValueError as exc:
                raise _Err(
                    f"unable to parse unsigned {num.decode('latin-1')}: {exc}"
                ) from None
    else:
        if scientific or i - start >= 25:
            try:
                _go_parse_float(buf[start:i])
            except ValueError:
                raise _Err("invalid float") from None
    return i


def _scan_boolean(buf: bytes, i: int) -> int:
    n = len(buf)
    start = i
    if i < n and buf[i] not in (0x74, 0x66, 0x54, 0x46):  # t f T F
        raise _Err("invalid boolean")
    i += 1
    while i < n and buf[i] not in (_COMMA, _SP):
        i += 1
    length = i - start
    if length == 1:
        return i
    word = buf[start:i]
    if word not in (b"true", b"True", b"TRUE", b"false", b"False", b"FALSE"):
        raise _Err("invalid boolean")
    return i


def _scan_fields(buf: bytes, i: int, uint_ok: bool = True) -> tuple[int, bytes]:
    n = len(buf)
    start = i = _skip_ws(buf, i)
    quoted = False
    equals = commas = 0
    while i < n:
        c = buf[i]
        if c == _BS and i + 1 < n:
            i += 2
            continue
        if c == _QUOTE and equals > commas:
            quoted = not quoted
            i += 1
            continue
        if c == _EQ and not quoted:
            equals += 1
            if buf[i - 1] == _SP and buf[i - 2] != _BS:
                raise _Err("missing field key")
            if buf[i - 1] == _COMMA and buf[i - 2] != _BS:
                raise _Err("missing field key")
            if i + 1 >= n:
                raise _Err("missing field value")
            nxt = buf[i + 1]
            if nxt in (_COMMA, _SP):
                raise _Err("missing field value")
            if _is_numeric(nxt) or nxt in (0x2D, 0x4E, 0x6E):
                i = _scan_number(buf, i + 1, uint_ok)
                continue
            if nxt != _QUOTE:
                i = _scan_boolean(buf, i + 1)
                continue
        if c == _COMMA and not quoted:
            commas += 1
        if c == _SP and not quoted:
            break
        i += 1
    if quoted:
        raise _Err("unbalanced quotes")
    if equals == 0 or commas != equals - 1:
        raise _Err("invalid field format")
    return i, buf[start:i]


def _scan_field_value(buf: bytes, i: int) -> int:
    n = len(buf)
    quoted = False
    while i < n:
        c = buf[i]
        if c == _BS and i + 1 < n and buf[i + 1] in (_QUOTE, _BS):
            i += 2
            continue
        if c == _QUOTE:
            i += 1
            quoted = not quoted
            continue
        if c == _COMMA and not quoted:
            break
        i += 1
    return i


def _walk_fields(buf: bytes) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    while buf:
        i = _scan_to(buf, 0, _EQ)
        if i > len(buf) - 2:
            raise _Err(f"invalid value: field-key={_text(buf[:i])}")
        key = buf[:i]
        buf = buf[i + 1 :]
        j = _scan_field_value(buf, 0)
        out.append((key, buf[:j]))
        buf = buf[j + 1 :]
    return out


def _scan_time(buf: bytes, i: int) -> tuple[int, bytes]:
    n = len(buf)
    start = i = _skip_ws(buf, i)
    while i < n:
        c = buf[i]
        if c in (_NL, _SP):
            break
        if i == start and c == 0x2D:
            i += 1
            continue
        if c < 0x30 or c > 0x39:
            raise _Err("bad timestamp")
        i += 1
    return i, buf[start:i]


# --------------------------------------------------------------------------------------------
# Unescaping (pkg/escape.Unescape for names and field keys, unescapeTag for tags)
# --------------------------------------------------------------------------------------------
_BROKEN_NAME = re.compile(rb'\\\\[,= "]')
_UNESCAPE_NAME = re.compile(rb'\\([,"= ])')
_UNESCAPE_TAG = re.compile(rb"\\([,= ])")
_UNESCAPE_STR = re.compile(rb'\\([\\"])')


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _key_token(b: bytes) -> str | None:
    """Decode a measurement/tag token; None if it is not valid printable UTF-8 (ValidKeyToken)."""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not s.isprintable() or "\ufffd" in s:
        return None
    return s


def _field_value(kind: str, raw: bytes) -> object:
    if kind == "string":
        return _UNESCAPE_STR.sub(rb"\1", raw[1:-1]).decode("utf-8", "replace")
    if kind == "integer":
        return int(raw)
    if kind == "unsigned":
        return int(raw)
    if kind == "float":
        return float(raw)
    return raw[:1] in (b"t", b"T")


def _field_kind(raw: bytes) -> tuple[str, bytes]:
    c = raw[:1]
    if c == b'"':
        return "string", raw
    if c and c in b"0123456789-.nNiIu":
        if raw.endswith(b"i"):
            return "integer", raw[:-1]
        if raw.endswith(b"u"):
            return "unsigned", raw[:-1]
        return "float", raw
    return "boolean", raw


def _parse_point(
    block: bytes, precision_ns: int, default_ns: int, v2: bool = True
) -> Point:
    pos, raw_name, raw_tags = _scan_key(block, 0)
    key_len = pos - _skip_ws(block, 0)
    sorted_raw_tags = sorted(raw_tags)
    if key_len == 0:
        raise _Err("missing measurement")
    if key_len > MAX_KEY_LENGTH:
        raise _Err(f"max key length exceeded: {key_len} > {MAX_KEY_LENGTH}")
    pos, raw_fields = _scan_fields(block, pos, uint_ok=v2)
    if not raw_fields:
        raise _Err("missing fields")
    pairs = _walk_fields(raw_fields)
    for k, _v in pairs:
        if key_len + 4 + len(k) > MAX_KEY_LENGTH:
            raise _Err(
                f"max key length exceeded: {key_len + 4 + len(k)} > {MAX_KEY_LENGTH}"
            )
    pos, ts = _scan_time(block, pos)
    if not ts:
        time_ns = default_ns - default_ns % precision_ns
    else:
        try:
            t = _go_parse_int(ts, _INT64_MIN, _INT64_MAX, "ParseInt")
        except ValueError as exc:
            raise _Err(str(exc)) from None
        time_ns = t * precision_ns
        if not (_INT64_MIN <= time_ns <= _INT64_MAX) or not (
            MIN_TIME_NS <= time_ns <= MAX_TIME_NS
        ):
            raise _Err(_TIME_RANGE_ERR)
        for c in block[pos:]:
            if c != _SP:
                raise _Err("point is invalid")

    # ---- the point as InfluxDB stores it, with the checks InfluxDB 2.x makes when storing ----
    token = _key_token if v2 else _text
    name_b = _UNESCAPE_NAME.sub(rb"\1", raw_name)
    measurement = token(name_b)
    tags: list[tuple[str, str]] = []
    bad_token = measurement is None
    for rk, rv in raw_tags:
        k = token(_UNESCAPE_TAG.sub(rb"\1", rk))
        v = token(_UNESCAPE_TAG.sub(rb"\1", rv))
        if k is None or v is None:
            bad_token = True
        else:
            tags.append((k, v))
    if bad_token:
        raw_key = raw_name + b"".join(b"," + k + b"=" + v for k, v in sorted_raw_tags)
        raise _Err(f'key contains invalid unicode: "{_text(raw_key)}"', 422)
    assert measurement is not None
    tags.sort(key=lambda kv: kv[0].encode("utf-8"))
    for k, _v in tags:
        if k == "time":
            raise _Err(
                f'invalid tag key: input tag "time" on measurement "{measurement}" is invalid',
                422,
            )
    fields: dict[str, tuple[str, object]] = {}
    bad_field_key = False
    for rk, rv in pairs:
        key_b = _UNESCAPE_NAME.sub(rb"\1", rk)
        bad_field_key = bad_field_key or not _is_utf8(key_b)
        key = key_b.decode("utf-8", "replace")
        kind, num = _field_kind(rv)
        if kind == "string":
            value = _field_value(kind, rv)
            if v2 and len(value.encode("utf-8")) > MAX_STRING_LENGTH:  # type: ignore[union-attr]
                size = len(value.encode("utf-8"))  # type: ignore[union-attr]
                raise _Err(
                    f'input field "{key}" on measurement "{measurement}" is too long, '
                    f"{size} > {MAX_STRING_LENGTH}",
                    422,
                )
        else:
            value = _field_value(kind, num)
        if key == "time":
            continue  # InfluxDB drops a field named "time"
        if key in fields and fields[key][0] != kind:
            raise _Err(
                f'field type conflict: input field "{key}" on measurement "{measurement}" is type '
                f"{kind}, already exists as type {fields[key][0]}",
                422,
            )
        fields[key] = (kind, value)
    if v2 and "" in fields:
        # a first field key made of tabs/NULs only: InfluxDB strips them as leading whitespace
        # and 1.6.7 stores a field with an empty name (read back as "val0"); refused here
        raise _Err(f'empty field key on measurement "{measurement}"', 422)
    if not fields:
        raise _Err(
            f'invalid field name: input field "time" on measurement "{measurement}" is invalid',
            422,
        )
    if not v2 and not _is_utf8(raw_name):
        raise _Err(
            'proto: field "tsdb.MeasurementFields.Name" contains invalid UTF-8', 500
        )
    if bad_field_key:
        if not v2:
            raise _Err('proto: field "tsdb.Field.Name" contains invalid UTF-8', 500)
        raise _Err(
            f'field key contains invalid unicode on measurement "{measurement}"', 422
        )
    if _BROKEN_NAME.search(raw_name):
        # measured on 1.6.7: answered 204, but the point can never be read back (the index and the
        # series key disagree about the name); refuse it instead of losing it silently
        msg = (
            f'measurement "{_text(raw_name)}": a backslash before an escaped or special character '
            '(, = space ") is stored unreadably by InfluxDB'
        )
        raise _Err(msg, 422 if v2 else 204)
    # sandbox strictness: names reserved by InfluxDB 2.x
    for what, name in (
        [("measurement", measurement)]
        + [("tag key", k) for k, _ in tags]
        + [("field key", k) for k in fields]
    ):
        if v2 and name.startswith("_"):
            raise _Err(
                f'invalid {what} "{name}" on measurement "{measurement}": names starting with "_" are reserved',
                422,
            )
    return Point(
        measurement=measurement,
        tags=tuple(tags),
        fields=tuple((k, kind, v) for k, (kind, v) in fields.items()),  # type: ignore[misc]
        time_ns=time_ns,
    )


def _precision_ns(precision: str) -> int:
    try:
        return PRECISION_NS[precision]
    except KeyError:
        raise ValueError(
            f"invalid precision {precision!r}: expected one of ns, us, ms, s"
        ) from None


def parse(
    body: bytes | str,
    precision: str = "ns",
    now_ns: int | None = None,
    *,
    dialect: Literal["v2", "v1.6"] = "v2",
) -> ParseResult:
    """Parse a write body. Every line is judged on its own; see the module docstring.

    ``dialect="v1.6"`` judges lines as Debian's InfluxDB 1.6.7 does (no ``u`` integers, any
    bytes in keys, no string length limit, ``_`` names allowed): the differential test uses it
    to prove the scanner against the real server with no exceptions.
    """
    if dialect not in ("v2", "v1.6"):
        raise ValueError(f"unknown dialect {dialect!r}")
    v2 = dialect == "v2"
    mult = _precision_ns(precision)
    buf = (
        body.encode("utf-8", "surrogateescape")
        if isinstance(body, str)
        else bytes(body)
    )
    default_ns = _time.time_ns() if now_ns is None else now_ns
    result = ParseResult(points=[], errors=[])
    pos = 0
    line_no = 1
    n = len(buf)
    while pos < n:
        end = _scan_line(buf, pos)
        block = buf[pos:end]
        this_line = line_no
        line_no += block.count(b"\n") + (1 if end < n else 0)
        pos = end + 1
        if not block:
            continue
        start = _skip_ws(block, 0)
        if start >= len(block) or block[start] == 0x23:  # blank or '#' comment
            continue
        if block.endswith(b"\n"):
            block = block[:-1]
        line = block[start:]
        try:
            point = _parse_point(line, mult, default_ns, v2)
        except _Err as err:
            text = _text(line)
            msg = (
                f"unable to parse '{text}': {err.message}"
                if err.status == 400
                else err.message
            )
            result.errors.append(LineError(this_line, text, msg, err.status))
        else:
            result.points.append(point)
            result.line_numbers.append(this_line)
    return result


# --------------------------------------------------------------------------------------------
# Field types within a batch / against stored types
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldTypeConflict:
    index: int  # index of the point in the list given to field_types
    measurement: str
    field: str
    kind: FieldKind
    existing: FieldKind
    message: str  # 'field type conflict: input field "f" on measurement "m" is type string, already exists as type integer'


@dataclass
class FieldTypeCheck:
    accepted: list[Point]  # the points without conflicts, in order
    conflicts: list[FieldTypeConflict]
    types: dict[
        tuple[str, str], FieldKind
    ]  # (measurement, field) -> kind, known + accepted


def field_types(
    points: Iterable[Point], known: Mapping[tuple[str, str], FieldKind] | None = None
) -> FieldTypeCheck:
    """Check field types in order: the first type seen (stored ones first, ``known``) wins.

    A point with a field whose type differs from the established one is a conflict and adds
    nothing (InfluxDB 2.x drops the point; 1.6.7 would reject the whole batch).
    """
    types: dict[tuple[str, str], FieldKind] = dict(known or {})
    accepted: list[Point] = []
    conflicts: list[FieldTypeConflict] = []
    for index, p in enumerate(points):
        clash = None
        for key, kind, _value in p.fields:
            existing = types.get((p.measurement, key))
            if existing is not None and existing != kind:
                clash = FieldTypeConflict(
                    index,
                    p.measurement,
                    key,
                    kind,
                    existing,
                    f'field type conflict: input field "{key}" on measurement "{p.measurement}" is type '
                    f"{kind}, already exists as type {existing}",
                )
                break
        if clash is not None:
            conflicts.append(clash)
            continue
        for key, kind, _value in p.fields:
            types[(p.measurement, key)] = kind
        accepted.append(p)
    return FieldTypeCheck(accepted, conflicts, types)


# --------------------------------------------------------------------------------------------
# Serializer
# --------------------------------------------------------------------------------------------
def _check_text(s: object, what: str) -> str:
    if not isinstance(s, str):
        raise UnwritableValue(f"{what} must be a string, got {type(s).__name__}")
    if s == "":
        raise UnwritableValue(f"{what} must not be empty")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise UnwritableValue(f"{what} {s!r} is not valid Unicode text") from None
    if "\n" in s:
        raise UnwritableValue(f"{what} {s!r} contains a newline")
    if s.endswith("\\"):
        raise UnwritableValue(
            f"{what} {s!r} ends with a backslash: InfluxDB reads it as escaping the separator after it"
        )
    if s.startswith("_"):
        raise UnwritableValue(f"{what} {s!r} starts with '_', reserved by InfluxDB 2")
    return s


def _check_key_token(s: str, what: str) -> None:
    if not s.isprintable() or "\ufffd" in s:
        raise UnwritableValue(
            f"{what} {s!r} contains non-printable characters (InfluxDB 2 rejects them)"
        )


def escape_measurement(s: str) -> str:
    """Escape a measurement name: commas and spaces; other backslashes are literal.

    Refused (``UnwritableValue``): empty, newline, non-printable, a leading ``_`` (reserved) or
    ``#`` (the line would be a comment), a trailing backslash (it would escape the separator), and
    a backslash right before ``,``, ``=``, space or ``"`` (measured on 1.6.7: acknowledged but
    stored unreadably).
    """
    _check_text(s, "measurement")
    _check_key_token(s, "measurement")
    if s.startswith("#"):
        raise UnwritableValue(
            f"measurement {s!r} starts with '#': the line would be a comment"
        )
    if re.search(r'\\[,= "]', s):
        raise UnwritableValue(
            f"measurement {s!r}: a backslash before ',', '=', ' ' or '\"' is stored unreadably by InfluxDB"
        )
    return s.replace(",", "\\,").replace(" ", "\\ ")


def escape_key(s: str) -> str:
    """Escape a tag key or field key: commas, '=' and spaces; other backslashes are literal.

    Valid for both kinds of key, so a backslash right before ``,``, ``=``, space or ``"`` is
    refused (field keys and tag keys unescape those differently); ``format_point`` writes the
    few such keys that one kind can carry.
    """
    _check_text(s, "key")
    if s == "time":
        raise UnwritableValue("key 'time' is dropped or rejected by InfluxDB")
    if re.search(r'\\[,= "]', s):
        raise UnwritableValue(
            f"key {s!r}: a backslash before ',', '=', ' ' or '\"' cannot be written"
        )
    if "\t" in s or not s.isprintable():
        _check_key_token(s, "key")
    return s.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_field_key(s: str) -> str:
    _check_text(s, "field key")
    if s[0] in "\t\x00":
        # InfluxDB skips tabs and NULs before the first field as whitespace
        raise UnwritableValue(f"field key {s!r} starts with a tab or NUL")
    if s == "time":
        raise UnwritableValue("field key 'time' is dropped by InfluxDB")
    out = []
    for i, c in enumerate(s):
        if c in ",= ":
            out.append("\\" + c)
        elif c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in ",= ":
                # InfluxDB's field scanners disagree about such a backslash (pairs vs. single)
                raise UnwritableValue(
                    f"field key {s!r}: a backslash before {nxt!r} cannot be written"
                )
            out.append("\\\\" if nxt == '"' else "\\")
        else:
            out.append(c)
    return "".join(out)


def _escape_tag_token(s: str, what: str) -> str:
    if not isinstance(s, str) or s == "":
        raise UnwritableValue(
            f"{what} must be a non-empty string (InfluxDB has no empty tag values)"
        )
    if s.endswith("\\"):
        raise UnwritableValue(
            f"{what} {s!r} ends with a backslash: InfluxDB reads it as escaping the separator after it"
        )
    if "\n" in s:
        raise UnwritableValue(f"{what} {s!r} contains a newline")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise UnwritableValue(f"{what} {s!r} is not valid Unicode text") from None
    _check_key_token(s, what)
    return s.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_tag_key(s: str) -> str:
    if isinstance(s, str) and s.startswith("_"):
        raise UnwritableValue(f"tag key {s!r} starts with '_', reserved by InfluxDB 2")
    if s == "time":
        raise UnwritableValue("tag key 'time' is rejected by InfluxDB")
    return _escape_tag_token(s, "tag key")


def escape_tag_value(s: str) -> str:
    """Escape a tag value (commas, '=' and spaces; backslashes are literal, a trailing one is unwritable)."""
    return _escape_tag_token(s, "tag value")


def escape_string_field(s: str) -> str:
    """Quote a string field value: backslash and double quote are escaped."""
    if not isinstance(s, str):
        raise UnwritableValue(
            f"string field value must be a string, got {type(s).__name__}"
        )
    try:
        size = len(s.encode("utf-8"))
    except UnicodeEncodeError:
        raise UnwritableValue(
            f"string value {s[:40]!r} is not valid Unicode text"
        ) from None
    if size > MAX_STRING_LENGTH:
        raise UnwritableValue(
            f"string value is {size} bytes, over InfluxDB's {MAX_STRING_LENGTH}"
        )
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _format_value(kind: str, value: object) -> str:
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UnwritableValue(f"float field value {value!r} is not a number")
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            raise UnwritableValue(
                f"float field value {value!r}: NaN and Inf are not valid in InfluxDB"
            )
        return repr(v)
    if kind == "integer":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not _INT64_MIN <= value <= _INT64_MAX
        ):
            raise UnwritableValue(f"integer field value {value!r} is not an int64")
        return f"{value}i"
    if kind == "unsigned":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= _UINT64_MAX
        ):
            raise UnwritableValue(f"unsigned field value {value!r} is not a uint64")
        return f"{value}u"
    if kind == "boolean":
        if not isinstance(value, bool):
            raise UnwritableValue(f"boolean field value {value!r} is not a bool")
        return "true" if value else "false"
    if kind == "string":
        return escape_string_field(value)  # type: ignore[arg-type]
    raise UnwritableValue(f"unknown field kind {kind!r}")


def format_point(p: Point, precision: str = "ns") -> str:
    """One line of line protocol (no trailing newline) that InfluxDB parses back into ``p``."""
    mult = _precision_ns(precision)
    if not p.fields:
        raise UnwritableValue("a point needs at least one field")
    key = escape_measurement(p.measurement)
    seen_tags = set()
    for k, v in sorted(
        p.tags, key=lambda kv: kv[0].encode("utf-8") if isinstance(kv[0], str) else b""
    ):
        if k in seen_tags:
            raise UnwritableValue(f"duplicate tag key {k!r}")
        seen_tags.add(k)
        key += "," + escape_tag_key(k) + "=" + escape_tag_value(v)
    key_len = len(key.encode("utf-8"))
    if key_len > MAX_KEY_LENGTH:
        raise UnwritableValue(f"series key is {key_len} bytes, over {MAX_KEY_LENGTH}")
    parts = []
    seen_fields = set()
    for k, kind, value in p.fields:
        if k in seen_fields:
            raise UnwritableValue(f"duplicate field key {k!r}")
        seen_fields.add(k)
        ek = _escape_field_key(k)
        if key_len + 4 + len(ek.encode("utf-8")) > MAX_KEY_LENGTH:
            raise UnwritableValue(
                f"series key with field {k!r} is over {MAX_KEY_LENGTH} bytes"
            )
        parts.append(ek + "=" + _format_value(kind, value))
    t = p.time_ns
    if (
        isinstance(t, bool)
        or not isinstance(t, int)
        or not MIN_TIME_NS <= t <= MAX_TIME_NS
    ):
        raise UnwritableValue(
            f"time {t!r} is outside InfluxDB's range {MIN_TIME_NS}..{MAX_TIME_NS}"
        )
    if t % mult:
        raise UnwritableValue(f"time {t} ns is not a whole number of {precision}")
    line = f"{key} {','.join(parts)} {t // mult}"
    if any(kind == "string" and "\n" in value for _k, kind, value in p.fields):  # type: ignore[operator]
        # newlines inside strings depend on InfluxDB's quote tracking across the whole line: verify
        back = parse(line, precision, now_ns=0)
        if back.errors or back.points != [
            Point(
                p.measurement,
                tuple(sorted(p.tags, key=lambda kv: kv[0].encode())),
                p.fields,
                t,
            )
        ]:
            raise UnwritableValue(
                "a string with a newline cannot be written in this point"
            )
    return line
