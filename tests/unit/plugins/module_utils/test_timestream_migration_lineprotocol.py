"""Unit and property tests of plugins/module_utils/lineprotocol.py (GUIDE section 7's pitfalls).

The oracle is the sandbox's port of InfluxDB's own line-protocol scanner (proven against Debian's
InfluxDB 1.6.7 by tests/sandbox/test_lineprotocol_differential.py): whatever the writer accepts must
parse back to exactly the same names, values and types; whatever it refuses must be unwritable.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import pytest
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.lineprotocol import (
    MAX_STRING_BYTES,
    Unwritable,
    civil_from_days,
    days_from_civil,
    escape_field_key,
    escape_measurement,
    escape_tag_key,
    escape_tag_value,
    format_boolean,
    format_float,
    format_integer,
    format_string,
    key_problem,
    ns_to_rfc3339,
    ns_to_timestream,
    plain_float_text,
    timestamp_ns,
)
from hypothesis import given
from hypothesis import strategies as st

from sandbox.influxdb.lineprotocol import parse

NOW = 1_700_000_000_000_000_000


def parsed(line: str):
    result = parse(line, now_ns=NOW)
    assert result.errors == [], result.errors
    assert len(result.points) == 1
    return result.points[0]


def test_measurement_escapes_comma_and_space_only() -> None:
    assert escape_measurement("disk usage,x=y") == r"disk\ usage\,x=y"
    assert parsed(escape_measurement("disk usage,x=y") + " f=1 0").measurement == "disk usage,x=y"


def test_keys_and_tag_values_escape_comma_equals_space() -> None:
    line = f"m,{escape_tag_key('a b')}={escape_tag_value('c,d=e')} {escape_field_key('f =,g')}=1i 0"
    p = parsed(line)
    assert p.tags == (("a b", "c,d=e"),)
    assert p.fields == (("f =,g", "integer", 1),)


def test_inner_backslashes_are_literal_not_doubled() -> None:
    assert escape_tag_value("a\\b") == "a\\b"
    assert parsed(f"m,h={escape_tag_value('a' + chr(92) + 'b')} f=1 0").tags == (("h", "a\\b"),)


@pytest.mark.parametrize("value", ["x\\", "a\nb", "", "tab\there", "\ufffd", "a\\,b", "a\\ b"])
def test_unwritable_tag_values_are_refused(value: str) -> None:
    with pytest.raises(Unwritable):
        escape_tag_value(value)


@pytest.mark.parametrize("name", ["_x", "time", "", "a\nb", "x\\", "a\\=b", "a\\\"b"])
def test_unwritable_keys_are_refused(name: str) -> None:
    with pytest.raises(Unwritable):
        escape_field_key(name)
    assert key_problem(name, "field key")


def test_measurement_refusals() -> None:
    for name in ("#comment", "_internal", "m\\"):
        with pytest.raises(Unwritable):
            escape_measurement(name)
    assert escape_measurement("time") == "time"  # only keys may not be 'time'


def test_string_values_quote_and_escape() -> None:
    text = 'say "hi" \\ back\\slash, a=b'
    p = parsed(f"m s={format_string(text)} 0")
    assert p.fields == (("s", "string", text),)


def test_overlong_strings_are_refused() -> None:
    assert format_string("x" * MAX_STRING_BYTES) == '"' + "x" * MAX_STRING_BYTES + '"'
    with pytest.raises(Unwritable, match="over the"):
        format_string("é" * (MAX_STRING_BYTES // 2 + 1))


def test_numbers_and_booleans() -> None:
    assert format_integer(2**63 - 1) == "9223372036854775807i"
    with pytest.raises(Unwritable):
        format_integer(2**63)
    assert format_float(1.0) == "1"
    assert format_float(float("nan")) is None
    assert format_float(float("inf")) is None and format_float(float("-inf")) is None
    assert format_boolean(True) == "true" and format_boolean(False) == "false"
    p = parsed(f"m a={format_integer(-(2**63))},b={format_float(1e-300)},c={format_boolean(False)} 0")
    assert p.fields == (("a", "integer", -(2**63)), ("b", "float", 1e-300), ("c", "boolean", False))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_exactly(value: float) -> None:
    p = parsed(f"m f={format_float(value)} 0")
    assert p.fields[0][1] == "float"
    assert p.fields[0][2] == value and math.copysign(1, p.fields[0][2]) == math.copysign(1, value)


@given(st.text(st.sampled_from(list("0123456789.-+eE_ \u0663")), min_size=1, max_size=12)
       | st.floats(allow_nan=False, allow_infinity=False).map(repr))
def test_plain_float_text_passes_through_only_what_influxdb_reads_the_same(text: str) -> None:
    try:
        value = float(text)
    except ValueError:
        return
    if math.isfinite(value) and plain_float_text(text):
        p = parsed(f"m f={text} 0")
        assert p.fields[0][1] == "float" and p.fields[0][2] == value


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_round_trip_exactly(value: int) -> None:
    assert parsed(f"m f={format_integer(value)} 0").fields == (("f", "integer", value),)


# the characters that matter (separators, quotes, backslashes, '_', '#', unicode) and some others
HOSTILE = st.sampled_from(list('ab ,="\\_#é✓\t\n')) | st.characters(codec="utf-8")
names = st.text(HOSTILE, min_size=1, max_size=10)


@given(name=names, text=st.text(HOSTILE, max_size=40))
def test_accepted_measurements_and_strings_read_back_unchanged(name: str, text: str) -> None:
    try:
        line = f"{escape_measurement(name)} f={format_string(text)} 1"
    except Unwritable:
        return
    p = parsed(line)
    assert (p.measurement, p.fields, p.time_ns) == (name, (("f", "string", text),), 1)


@given(key=names, value=names)
def test_accepted_tags_read_back_unchanged(key: str, value: str) -> None:
    try:
        line = f"m,{escape_tag_key(key)}={escape_tag_value(value)} f=1i 1"
    except Unwritable:
        return
    assert parsed(line).tags == ((key, value),)


@given(key=names)
def test_accepted_field_keys_read_back_unchanged(key: str) -> None:
    try:
        line = f"m {escape_field_key(key)}=true 1"
    except Unwritable:
        return
    assert parsed(line).fields == ((key, "boolean", True),)


@given(st.text(min_size=1, max_size=8))
def test_refusals_name_a_reason_that_holds(value: str) -> None:
    """A refused tag value really is one InfluxDB cannot carry: a trailing backslash, a backslash before a
    separator, a non-printable character or a newline."""
    try:
        escape_tag_value(value)
    except Unwritable:
        assert (value.endswith("\\") or re.search(r"\\[,= ]", value) or not value.isprintable()
                or "\ufffd" in value)


# --- time ---------------------------------------------------------------------------------------
def test_timestamp_ns_keeps_nanoseconds() -> None:
    assert timestamp_ns("2024-01-02 03:04:05.123456789") == 1704164645123456789
    assert timestamp_ns("1970-01-01 00:00:00.000000001") == 1
    assert timestamp_ns("1969-12-31 23:59:59.999999999") == -1
    assert timestamp_ns("2024-01-02T03:04:05.5Z") == 1704164645500000000
    assert timestamp_ns("2024-01-02") == 1704153600000000000
    with pytest.raises(ValueError):
        timestamp_ns("yesterday")


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)), st.integers(0, 999))
def test_timestamp_text_round_trips(dt: datetime, extra_ns: int) -> None:
    exact = int(dt.replace(tzinfo=timezone.utc).timestamp()) * 10**9 + dt.microsecond * 1000 + extra_ns
    text = ns_to_timestream(exact)
    assert timestamp_ns(text) == exact
    assert timestamp_ns(ns_to_rfc3339(exact)) == exact


@given(st.integers(-1_000_000, 3_000_000))
def test_civil_days_inverse(days: int) -> None:
    assert days_from_civil(*civil_from_days(days)) == days
