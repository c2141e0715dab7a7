# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""InfluxDB line protocol, written exactly: escaping, value formatting and timestamps.

Pure functions, no I/O, no third-party imports. Every rule here is one of the line-protocol pitfalls
(docs/migration.md lists them with the measurements behind them):

* measurement: ``,`` and space are escaped; tag keys, tag values and field keys: ``,``, ``=`` and space.
  Other backslashes are literal and are never doubled (InfluxDB stores ``a\\\\b`` as two backslashes).
* Unwritable, reported instead of changed (``Unwritable`` says why): an empty tag value, a newline, a
  trailing backslash (it would escape the separator after it), a backslash right before ``,``, ``=``,
  space or ``"`` in a name, non-printable characters in names or tag values (InfluxDB 2 refuses them),
  names starting with ``_`` (reserved) and the key ``time``, a measurement starting with ``#``.
* string field values are quoted with ``"`` and ``\\`` escaped; over ``MAX_STRING_BYTES`` UTF-8 bytes
  they are refused by InfluxDB 2.
* integers carry ``i``; floats are Python's shortest round-trip repr (NaN and infinities have no line
  protocol form: ``format_float`` returns None); booleans are ``true``/``false``.
* timestamps are integer nanoseconds computed from the text, never through ``datetime`` (which holds
  only microseconds).
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_STRING_BYTES",
    "Unwritable",
    "escape_field_key",
    "escape_measurement",
    "escape_tag_key",
    "escape_tag_value",
    "format_boolean",
    "format_float",
    "format_integer",
    "format_string",
    "key_problem",
    "plain_float_text",
    "ns_to_rfc3339",
    "timestamp_ns",
]

#: InfluxDB 2 refuses string field values longer than this many bytes (tsdb.MaxFieldValueLength).
MAX_STRING_BYTES = 1_048_576
_INT64_MIN = -(2 ** 63)
_INT64_MAX = 2 ** 63 - 1

_BAD_BACKSLASH = re.compile(r'\\[,= "]')
_BAD_TAG_BACKSLASH = re.compile(r"\\[,= ]")


class Unwritable(ValueError):
    """A name or value that line protocol cannot carry unchanged (the message says why)."""


def key_problem(name: str, what: str = "key") -> str | None:
    """Why ``name`` cannot be written as a measurement, tag key or field key, or None if it can.

    The checks every name shares: empty, a newline, non-printable characters, a trailing backslash, a
    backslash right before ``,``, ``=``, space or ``"``, a leading ``_`` (reserved by InfluxDB 2) and the
    key ``time`` (InfluxDB drops or rejects it). Renaming (see timestream_migration) fixes the last two.
    """
    if not isinstance(name, str) or name == "":
        return f"{what} must be a non-empty string"
    if not name.isprintable() or "\ufffd" in name:
        return f"{what} {name!r} contains non-printable characters (InfluxDB 2 refuses them)"
    if name.endswith("\\"):
        return f"{what} {name!r} ends with a backslash, which would escape the separator after it"
    if _BAD_BACKSLASH.search(name):
        return f"{what} {name!r} has a backslash right before ',', '=', ' ' or '\"', which InfluxDB cannot read back"
    if name.startswith("_"):
        return f"{what} {name!r} starts with '_', reserved by InfluxDB"
    if name == "time" and what != "measurement":
        return f"{what} 'time' is dropped or rejected by InfluxDB"
    if what == "measurement" and name.startswith("#"):
        return f"measurement {name!r} starts with '#': the line would be a comment"
    return None


def escape_measurement(name: str) -> str:
    """The measurement as written in a line: ``,`` and space escaped. Raises ``Unwritable``."""
    problem = key_problem(name, "measurement")
    if problem:
        raise Unwritable(problem)
    return name.replace(",", "\\,").replace(" ", "\\ ")


def _escape_key(name: str) -> str:
    return name.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_tag_key(name: str) -> str:
    """A tag key as written: ``,``, ``=`` and space escaped. Raises ``Unwritable``."""
    problem = key_problem(name, "tag key")
    if problem:
        raise Unwritable(problem)
    return _escape_key(name)


def escape_field_key(name: str) -> str:
    """A field key as written: ``,``, ``=`` and space escaped. Raises ``Unwritable``."""
    problem = key_problem(name, "field key")
    if problem:
        raise Unwritable(problem)
    if name[0] == "\t":
        raise Unwritable(f"field key {name!r} starts with a tab, which InfluxDB skips as whitespace")
    return _escape_key(name)


def tag_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a tag value, or None (empty values are the caller's: they mean no tag)."""
    if not value.isprintable() or "\ufffd" in value:
        return f"tag value {value!r} contains non-printable characters (InfluxDB 2 refuses them)"
    if value.endswith("\\"):
        return f"tag value {value!r} ends with a backslash: no line protocol can carry it unchanged"
    if _BAD_TAG_BACKSLASH.search(value):
        return f"tag value {value!r} has a backslash right before ',', '=' or ' ', which InfluxDB cannot read back"
    return None


def escape_tag_value(value: str) -> str:
    """A tag value as written: ``,``, ``=`` and space escaped. Raises ``Unwritable`` (also for "")."""
    if not isinstance(value, str) or value == "":
        raise Unwritable("tag value must be a non-empty string (InfluxDB has no empty tag values)")
    problem = tag_value_problem(value)
    if problem:
        raise Unwritable(problem)
    return _escape_key(value)


def format_string(value: str, max_bytes: int = MAX_STRING_BYTES) -> str:
    """A string field value: quoted, ``\\`` and ``"`` escaped. Raises ``Unwritable`` when too long."""
    if len(value) * 4 > max_bytes and len(value.encode("utf-8")) > max_bytes:
        raise Unwritable(f"string value of {len(value.encode('utf-8'))} bytes is over the {max_bytes}-byte limit")
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    return f'"{value}"'


def format_float(value: float) -> str | None:
    """A float field value (shortest repr that reads back to the same double), None for NaN/Inf."""
    if not math.isfinite(value):
        return None
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def plain_float_text(text: str) -> bool:
    """True when ``text`` (already read by ``float()`` as a finite number) can go into a line unchanged.

    Plain ASCII decimal text - digits, an optional leading ``-``, ``.`` between digits, an exponent with
    ``e``/``E`` - is read by InfluxDB (Go's correctly rounded ParseFloat) as the same double as Python's
    ``float()``, so it needs no reformatting (Timestream renders doubles this way: ``1.5``, ``1.0E7``).
    Refused: underscores, whitespace, a leading ``+`` or ``.``, a trailing ``.``, non-ASCII digits.
    """
    return (text.isascii() and text[-1].isdigit() and "_" not in text
            and (text[0].isdigit() or (text[0] == "-" and text[1:2].isdigit())))


def format_integer(value: int) -> str:
    """A signed 64-bit integer field value (``<n>i``). Raises ``Unwritable`` out of range."""
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise Unwritable(f"integer {value} is outside the int64 range")
    return f"{value}i"


def format_boolean(value: bool) -> str:
    """A boolean field value."""
    return "true" if value else "false"


# ----------------------------------------------------------------------------------------------
# Time: text and integers only
# ----------------------------------------------------------------------------------------------
_DAY_NS: dict[str, int] = {}
_NS_PER_DAY = 86_400_000_000_000
_TS_RE = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?Z?$")


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a count of days since 1970-01-01 (the inverse of ``days_from_civil``)."""
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year + (month <= 2), month, day


def _day_ns(date_text: str) -> int:
    ns = _DAY_NS.get(date_text)
    if ns is None:
        m = re.match(r"^(-?\d{4,})-(\d{2})-(\d{2})$", date_text)
        if not m:
            raise ValueError(f"not a date: {date_text!r}")
        ns = days_from_civil(int(m.group(1)), int(m.group(2)), int(m.group(3))) * _NS_PER_DAY
        if len(_DAY_NS) < 100_000:
            _DAY_NS[date_text] = ns
    return ns


def timestamp_ns(text: str) -> int:
    """Integer nanoseconds since the epoch of a Timestream timestamp such as ``2024-01-02 03:04:05.123456789``.

    Also accepts ``T`` for the space, a trailing ``Z`` and 0-9 fraction digits. UTC (Timestream has no
    zones). The common 29-character form takes a fast path with a per-day cache.
    """
    if len(text) == 29 and text[10] in " T" and text[19] == ".":
        return (_day_ns(text[:10]) + (int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19]))
                * 1_000_000_000 + int(text[20:29]))
    m = _TS_RE.match(text)
    if not m:
        raise ValueError(f"not a Timestream timestamp: {text!r}")
    ns = days_from_civil(int(m.group(1)), int(m.group(2)), int(m.group(3))) * _NS_PER_DAY
    if m.group(4):
        ns += (int(m.group(4)) * 3600 + int(m.group(5)) * 60 + int(m.group(6))) * 1_000_000_000
        if m.group(7):
            ns += int(m.group(7).ljust(9, "0"))
    return ns


def ns_to_rfc3339(ns: int) -> str:
    """RFC3339 with nine fraction digits (``2024-01-02T03:04:05.123456789Z``), for Flux ranges."""
    days, rest = divmod(ns, _NS_PER_DAY)
    year, month, day = civil_from_days(days)
    secs, frac = divmod(rest, 1_000_000_000)
    return f"{year:04d}-{month:02d}-{day:02d}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{frac:09d}Z"


def ns_to_timestream(ns: int) -> str:
    """The timestamp literal Timestream's SQL reads (``2024-01-02 03:04:05.123456789``)."""
    return ns_to_rfc3339(ns)[:-1].replace("T", " ")
