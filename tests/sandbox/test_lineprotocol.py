"""Unit and property tests of sandbox/influxdb/lineprotocol.py.

One test (or a few) per line-protocol pitfall of GUIDE.md section 7; the facts asserted here were
measured on Debian's InfluxDB 1.6.7 (see test_lineprotocol_differential.py, which proves the
scanner against it over a few thousand hostile lines).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sandbox.influxdb.lineprotocol import (
    MAX_STRING_LENGTH,
    MAX_TIME_NS,
    MIN_TIME_NS,
    LineError,
    Point,
    UnwritableValue,
    escape_key,
    escape_measurement,
    escape_string_field,
    escape_tag_key,
    escape_tag_value,
    field_types,
    format_point,
    parse,
)

NOW = 1_700_000_000_123_456_789


def one(line: str | bytes, **kw) -> Point:
    result = parse(line, now_ns=NOW, **kw)
    assert result.errors == [], result.errors
    assert len(result.points) == 1, result.points
    return result.points[0]


def error(line: str | bytes, **kw) -> LineError:
    result = parse(line, now_ns=NOW, **kw)
    assert result.points == [], result.points
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --- basic shape ------------------------------------------------------------------------------
def test_full_line() -> None:
    p = one(
        'weather,location=us-midwest,season=summer temperature=82,humidity=71i,ok=true,note="hi" 1465839830100400200'
    )
    assert p == Point(
        "weather",
        (("location", "us-midwest"), ("season", "summer")),
        (
            ("temperature", "float", 82.0),
            ("humidity", "integer", 71),
            ("ok", "boolean", True),
            ("note", "string", "hi"),
        ),
        1465839830100400200,
    )


def test_tags_are_sorted_by_key() -> None:
    assert one("m,b=1,a=2,c=3 f=1 0").tags == (("a", "2"), ("b", "1"), ("c", "3"))


# --- escaping (GUIDE 7: measurement , and space; keys and tag values , = and space) ----------
def test_measurement_escapes_comma_and_space() -> None:
    assert one(r"disk\ usage\,x f=1 0").measurement == "disk usage,x"
    assert escape_measurement("disk usage,x") == r"disk\ usage\,x"
    assert escape_measurement("a=b") == "a=b"  # '=' needs no escape in a measurement


def test_tag_keys_values_and_field_keys_escape_comma_equals_space() -> None:
    p = one(r"m,a\ b\=c\,d=e\ f\=g\,h k\ e\=y\,=1 0")
    assert p.tags == (("a b=c,d", "e f=g,h"),)
    assert p.fields == (("k e=y,", "float", 1.0),)
    assert escape_key("a b=c,d") == r"a\ b\=c\,d"
    assert escape_tag_value("e f=g,h") == r"e\ f\=g\,h"


def test_string_field_quotes_and_backslashes() -> None:
    assert escape_string_field('say "hi" \\ bye') == r'"say \"hi\" \\ bye"'
    assert one(r'm s="say \"hi\" \\ bye" 0').fields == (
        ("s", "string", 'say "hi" \\ bye'),
    )
    # any other backslash in a string is literal
    assert one(r'm s="a\nb\tc" 0').fields == (("s", "string", r"a\nb\tc"),)
    # commas, spaces and '=' inside quotes are data
    assert one('m s="a, b=c d" 0').fields == (("s", "string", "a, b=c d"),)


def test_tag_key_escaping_allows_what_only_tags_can_carry() -> None:
    # a backslash before an escaped character is fine in a tag key (not in a field key)
    assert escape_tag_key("a\\ b") == "a\\\\ b"
    assert one("m,a\\\\ b=v f=1 0").tags == (("a\\ b", "v"),)
    with pytest.raises(UnwritableValue):
        escape_key("a\\ b")
    for bad in ("time", "_x", "", "k\\"):
        with pytest.raises(UnwritableValue):
            escape_tag_key(bad)


def test_backslashes_are_literal_in_names_and_tags() -> None:
    # measured: host=a\\b is stored with two backslashes
    assert one(r"m,host=a\\b f=1 0").tags == (("host", r"a\\b"),)
    assert one(r"back\slash f=1 0").measurement == r"back\slash"
    assert escape_tag_value(r"a\\b") == r"a\\b"  # not doubled


def test_tag_value_ending_in_backslash_cannot_be_written() -> None:
    # written once, the backslash escapes the separator after it ...
    assert (
        error(r"m,host=x\ f=1").message
        == r"unable to parse 'm,host=x\ f=1': invalid tag format"
    )
    # ... and doubled, too (the scanner looks at one byte back only)
    assert "invalid tag format" in error(r"m,host=x\\ f=1").message
    assert "invalid tag format" in error(r"m,host=x\\,k=v f=1").message
    with pytest.raises(UnwritableValue, match="backslash"):
        escape_tag_value("x\\")
    for bad in ("m\\", "k\\"):
        with pytest.raises(UnwritableValue):
            escape_measurement(bad)
        with pytest.raises(UnwritableValue):
            escape_key(bad)


def test_measurement_backslash_before_special_is_unwritable() -> None:
    # measured on 1.6.7: acknowledged (204) but never readable; we refuse it
    e = error(r"a\\ b f=1 0")
    assert e.status == 422 and "stored unreadably" in e.message
    with pytest.raises(UnwritableValue):
        escape_measurement("a\\ b")
    with pytest.raises(UnwritableValue):
        escape_measurement('a\\"b')


def test_quote_and_equals_in_measurement_and_field_key_unescape() -> None:
    # InfluxDB unescapes \" and \= in measurements and field keys (pkg/escape), not in tags
    assert one(r"m\"x\=y f\"k=1 0").measurement == 'm"x=y'
    assert one(r"m f\"k=1 0").fields[0][0] == 'f"k'
    assert one(r"m,t=a\"b f=1 0").tags == (("t", r"a\"b"),)


def test_newline_in_names_is_unwritable() -> None:
    for fn in (escape_measurement, escape_key, escape_tag_value):
        with pytest.raises(UnwritableValue, match="newline|printable"):
            fn("a\nb")


def test_measurement_starting_with_hash_is_a_comment() -> None:
    assert parse("#m f=1").points == [] and parse("#m f=1").errors == []
    with pytest.raises(UnwritableValue, match="comment"):
        escape_measurement("#m")


# --- types (GUIDE 7: i, u, booleans unquoted, NaN/Inf) -------------------------------------
def test_integer_needs_i_or_becomes_float() -> None:
    assert one("m f=1 0").fields == (("f", "float", 1.0),)
    assert one("m f=1i 0").fields == (("f", "integer", 1),)
    assert one("m f=-0i 0").fields == (("f", "integer", 0),)


def test_unsigned_u_is_v2_only() -> None:
    assert one("m f=18446744073709551615u 0").fields == (("f", "unsigned", 2**64 - 1),)
    assert (
        error("m f=1u", dialect="v1.6").message
        == "unable to parse 'm f=1u': invalid number"
    )
    assert error("m f=-1u").message.endswith("invalid number")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "9223372036854775808i",
            'unable to parse integer 9223372036854775808: strconv.ParseInt: parsing "9223372036854775808": value out of range',
        ),
        (
            "-9223372036854775809i",
            'unable to parse integer -9223372036854775809: strconv.ParseInt: parsing "-9223372036854775809": value out of range',
        ),
        (
            "18446744073709551616u",
            'unable to parse unsigned 18446744073709551616: strconv.ParseUint: parsing "18446744073709551616": value out of range',
        ),
        ("1.5i", "invalid number"),
        ("1e5i", "invalid number"),
        ("1i2", "invalid number"),
        ("-i", "invalid number"),
    ],
)
def test_integer_overflow_and_malformed(value: str, message: str) -> None:
    assert error(f"m f={value}").message == f"unable to parse 'm f={value}': {message}"


def test_integer_bounds_accepted() -> None:
    assert one("m a=9223372036854775807i,b=-9223372036854775808i 0").fields == (
        ("a", "integer", 2**63 - 1),
        ("b", "integer", -(2**63)),
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5e3", 1500.0),
        ("1E5", 1e5),
        ("1e+5", 1e5),
        ("1e-5", 1e-5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1.e5", 1e5),
        ("-0", -0.0),
        ("1e-400", 0.0),
        ("4.9e-324", 5e-324),
        ("1.7976931348623157e308", 1.7976931348623157e308),
    ],
)
def test_float_forms(text: str, value: float) -> None:
    assert one(f"m f={text} 0").fields == (("f", "float", value),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "invalid number"),
        ("nan", "invalid number"),
        ("-Inf", "invalid number"),
        ("Inf", "invalid boolean"),
        ("1e400", "invalid float"),
        ("1e", "invalid float"),
        (".", "invalid number"),
        ("1.2.3", "invalid number"),
        ("+1", "invalid boolean"),
        ("0x10", "invalid number"),
    ],
)
def test_nan_inf_and_bad_floats_rejected(text: str, message: str) -> None:
    assert error(f"m f={text}").message == f"unable to parse 'm f={text}': {message}"


def test_format_refuses_nan_and_inf() -> None:
    for v in (math.nan, math.inf, -math.inf):
        with pytest.raises(UnwritableValue, match="NaN and Inf"):
            format_point(Point("m", (), (("f", "float", v),), 0))


@pytest.mark.parametrize(
    "text", ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"]
)
def test_boolean_spellings(text: str) -> None:
    assert one(f"m b={text} 0").fields == (("b", "boolean", text[0] in "tT"),)


@pytest.mark.parametrize("text", ["tRUE", "yes", "tru", "falsey", "TrUe"])
def test_bad_booleans(text: str) -> None:
    assert error(f"m b={text}").message.endswith("invalid boolean")


def test_quoted_boolean_is_a_string() -> None:
    assert one('m b="true" 0').fields == (("b", "string", "true"),)


def test_garbage_after_closing_quote_is_kept_like_influxdb() -> None:
    # measured quirk of InfluxDB's scanner: m f="abc"def stores the string abc"de
    assert one('m f="abc"def 0').fields == (("f", "string", 'abc"de'),)


# --- reserved names (GUIDE 7: keys starting with _, field named time) -------------------------
@pytest.mark.parametrize(
    "line", ["_m f=1", "m,_t=x f=1", "m _f=1", "m,_field=x f=1", "m,_measurement=x f=1"]
)
def test_underscore_names_rejected(line: str) -> None:
    e = error(line)
    assert e.status == 422 and 'starting with "_" are reserved' in e.message
    # 1.6.7 accepts them (documented difference)
    assert parse(line, now_ns=0, dialect="v1.6").errors == []


def test_underscore_names_unwritable() -> None:
    for fn in (escape_measurement, escape_key):
        with pytest.raises(UnwritableValue, match="_"):
            fn("_x")
    with pytest.raises(UnwritableValue):
        format_point(Point("m", (("_t", "v"),), (("f", "float", 1.0),), 0))


def test_time_field_dropped_or_rejected_time_tag_rejected() -> None:
    assert one("m time=1,g=2 0").fields == (("g", "float", 2.0),)
    e = error("m time=1")
    assert (e.status, e.message) == (
        422,
        'invalid field name: input field "time" on measurement "m" is invalid',
    )
    e = error("m,time=x f=1")
    assert (e.status, e.message) == (
        422,
        'invalid tag key: input tag "time" on measurement "m" is invalid',
    )
    with pytest.raises(UnwritableValue):
        escape_key("time")


# --- tags -------------------------------------------------------------------------------------
def test_empty_tag_values_and_keys() -> None:
    assert (
        error("m,host= f=1").message
        == "unable to parse 'm,host= f=1': missing tag value"
    )
    assert error("m,=x f=1").message.endswith("missing tag key")
    assert error("m, f=1").message.endswith("missing tag key")
    assert error("m,t f=1").message.endswith("missing tag value")
    with pytest.raises(UnwritableValue, match="empty"):
        escape_tag_value("")


def test_duplicate_tags_rejected_sorted_or_not() -> None:
    assert error("m,a=1,a=2 f=1").message.endswith("duplicate tags")
    assert error("m,b=1,a=2,b=3 f=1").message.endswith("duplicate tags")


def test_non_printable_or_invalid_utf8_keys_rejected_in_v2() -> None:
    for line in (b"m\x01 f=1", b"m\tx f=1", b"m,t=\xff f=1"):
        e = error(line)
        assert e.status == 422 and e.message.startswith("key contains invalid unicode")
        # 1.6.7 stores them (documented difference)
        assert parse(line, now_ns=0, dialect="v1.6").errors == []
    # invalid UTF-8 inside a string value reads back as U+FFFD
    assert one(b'm s="a\xffb" 0').fields == (("s", "string", "a\ufffdb"),)


def test_unicode_everywhere() -> None:
    p = one('température,ville=Zürich 日本="🚀" 0')
    assert p == Point(
        "température", (("ville", "Zürich"),), (("日本", "string", "🚀"),), 0
    )


# --- fields -----------------------------------------------------------------------------------
def test_duplicate_fields_last_wins_and_same_line_type_conflict() -> None:
    assert one("m f=1i,g=1,f=2i 0").fields == (("f", "integer", 2), ("g", "float", 1.0))
    e = error('m f=1i,f="a"')
    assert e.status == 422 and e.message.startswith(
        'field type conflict: input field "f"'
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("m", "missing fields"),
        ("m ", "invalid field format"),
        (",m f=1", "missing measurement"),
        ("m =1", "missing field key"),
        ("m f=", "missing field value"),
        ("m f=1,", "invalid field format"),
        ("m f=1,,g=2", "invalid field format"),
        ('m s="open', "unbalanced quotes"),
        ("m f=1,g", "invalid field format"),
        (r"m f\\=1", r"invalid value: field-key=f\\=1"),
    ],
)
def test_field_section_errors(line: str, message: str) -> None:
    assert error(line).message == f"unable to parse '{line}': {message}"


def test_string_length_limit() -> None:
    ok = "a" * MAX_STRING_LENGTH
    assert one(f'm s="{ok}" 0').fields[0][2] == ok
    e = error(f'm s="{ok}a"')
    assert e.status == 422 and "is too long, 1048577 > 1048576" in e.message
    assert (
        len(parse(f'm s="{ok}a"', dialect="v1.6", now_ns=0).points) == 1
    )  # 1.6.7: no limit
    with pytest.raises(UnwritableValue):
        escape_string_field(ok + "a")


def test_field_types_within_batch_and_against_stored() -> None:
    pts = parse("m f=1i 1\nm f=2 2\nm g=true 3\nn f=1 4\nm f=3i 5", now_ns=0).points
    check = field_types(pts)
    assert [c.index for c in check.conflicts] == [1]
    assert check.conflicts[0].message == (
        'field type conflict: input field "f" on measurement "m" is type float, already exists as type integer'
    )
    assert [p.time_ns for p in check.accepted] == [1, 3, 4, 5]
    assert check.types == {
        ("m", "f"): "integer",
        ("m", "g"): "boolean",
        ("n", "f"): "float",
    }
    stored = field_types(pts, known={("m", "f"): "float"})
    assert [c.index for c in stored.conflicts] == [0, 4]


# --- whitespace, comments, lines --------------------------------------------------------------
def test_comments_blank_lines_and_leading_whitespace() -> None:
    body = "# comment\n\n   \n \t# indented comment\n  \tm f=1 1\n\x00m f=2 2\n"
    result = parse(body, now_ns=0)
    assert [p.time_ns for p in result.points] == [1, 2] and result.errors == []
    assert result.line_numbers == [5, 6]


def test_separators_may_repeat_but_crlf_and_tabs_in_values_fail() -> None:
    assert one("m  \t f=1 \t 5   ").time_ns == 5
    assert error("m f=1 1\r").message == "unable to parse 'm f=1 1\r': bad timestamp"
    assert error("m f=1\r").message.endswith("invalid number")
    assert error("m f=1\t1").message.endswith("invalid number")
    assert (
        one("m\tx f=1 0", dialect="v1.6").measurement == "m\tx"
    )  # a tab is not a separator


def test_trailing_garbage() -> None:
    assert error("m f=1 123 456").message.endswith("point is invalid")
    assert error("m f=1 12a").message.endswith("bad timestamp")
    assert error("m f=1 +1").message.endswith("bad timestamp")
    assert error("m f=1 -").message.endswith(
        'strconv.ParseInt: parsing "-": invalid syntax'
    )


def test_partial_batch_reports_each_bad_line_and_keeps_good_ones() -> None:
    result = parse("m f=1 1\nbad line\nm f=2 2\nalso bad", now_ns=0)
    assert [p.time_ns for p in result.points] == [1, 2]
    assert [(e.line_no, e.line, e.message) for e in result.errors] == [
        (2, "bad line", "unable to parse 'bad line': invalid field format"),
        (4, "also bad", "unable to parse 'also bad': invalid field format"),
    ]


def test_newline_inside_string_continues_the_line() -> None:
    result = parse('m s="two\nlines" 1\nm f=1 2', now_ns=0)
    assert result.errors == []
    assert result.points[0].fields == (("s", "string", "two\nlines"),)
    assert result.line_numbers == [1, 3]
    line = format_point(result.points[0])
    assert parse(line).points == [result.points[0]]


def test_backslash_newline_joins_lines_like_influxdb() -> None:
    e = error("m f=1\\\nm g=2")
    assert e.message == "unable to parse 'm f=1\\\nm g=2': invalid number"


def test_leading_tab_or_nul_before_first_field_is_whitespace() -> None:
    # measured on 1.6.7: "m \tx=1" stores field "x"; "m \t=1" stores a field named "" (val0)
    assert one("m \tx=1 0").fields == (("x", "float", 1.0),)
    assert one("m \t=1 0", dialect="v1.6").fields == (("", "float", 1.0),)
    assert error("m \x00=1").message == 'empty field key on measurement "m"'
    with pytest.raises(UnwritableValue, match="tab or NUL"):
        format_point(Point("m", (), (("\tx", "float", 1.0),), 0))


def test_key_length_limit() -> None:
    name = "m" * 65536
    assert error(f"{name} f=1").message.endswith(
        "max key length exceeded: 65536 > 65535"
    )
    assert error(f"{'m' * 65530} ff=1").message.endswith(
        "max key length exceeded: 65536 > 65535"
    )


# --- timestamps (GUIDE 7: match the write precision, integer ns) ------------------------------
@pytest.mark.parametrize(
    ("precision", "mult"), [("ns", 1), ("us", 1000), ("ms", 10**6), ("s", 10**9)]
)
def test_precision(precision: str, mult: int) -> None:
    assert (
        parse("m f=1 1700000000", precision, now_ns=0).points[0].time_ns
        == 1700000000 * mult
    )
    # a missing timestamp is "now", truncated to the precision
    assert parse("m f=1", precision, now_ns=NOW).points[0].time_ns == NOW - NOW % mult
    p = Point("m", (), (("f", "float", 1.0),), 1_700_000_000 * mult)
    assert format_point(p, precision) == "m f=1.0 1700000000"


def test_timestamp_range() -> None:
    assert one(f"m f=1 {MAX_TIME_NS}").time_ns == MAX_TIME_NS
    assert one(f"m f=1 {MIN_TIME_NS}").time_ns == MIN_TIME_NS
    for t in (MAX_TIME_NS + 1, MIN_TIME_NS - 1):
        assert error(f"m f=1 {t}").message.endswith(
            "time outside range -9223372036854775806 - 9223372036854775806"
        )
    assert error("m f=1 9223372036855", precision="ms").message.endswith(
        "time outside range -9223372036854775806 - 9223372036854775806"
    )
    assert error("m f=1 99999999999999999999").message.endswith(
        'strconv.ParseInt: parsing "99999999999999999999": value out of range'
    )


def test_precision_names_and_lossy_formatting() -> None:
    with pytest.raises(ValueError, match="invalid precision"):
        parse("m f=1", "minutes")
    with pytest.raises(UnwritableValue, match="whole number"):
        format_point(Point("m", (), (("f", "float", 1.0),), 1_500_000), "ms")


# --- AWS migration script defects (GUIDE 7) not to repeat --------------------------------------
def test_bigint_keeps_integer_type() -> None:
    assert (
        format_point(Point("m", (), (("n", "integer", 2**53 + 1),), 0))
        == "m n=9007199254740993i 0"
    )


def test_varchar_is_escaped_and_nan_is_refused() -> None:
    p = Point("m", (("t", "a b,c=d"),), (("s", "string", 'x "y" \\z'),), 0)
    line = format_point(p)
    assert line == r'm,t=a\ b\,c\=d s="x \"y\" \\z" 0'
    assert parse(line).points == [p]
    assert error("m f=NaN").message.endswith(
        "invalid number"
    )  # NaN passed through as text


def test_format_point_refuses_bad_points() -> None:
    good = Point("m", (), (("f", "float", 1.0),), 0)
    bad = [
        Point("m", (), (), 0),
        Point("m", (("t", ""),), good.fields, 0),
        Point("m", (), (("f", "integer", 2**63),), 0),
        Point("m", (), (("f", "unsigned", -1),), 0),
        Point("m", (), (("f", "boolean", 1),), 0),
        Point("m", (), (("f", "float", 1.0), ("f", "float", 2.0)), 0),
        Point("m", (("a", "1"), ("a", "2")), good.fields, 0),
        Point("m", (), good.fields, MAX_TIME_NS + 1),
        Point("m", (), (("k\\ x", "float", 1.0),), 0),
    ]
    for p in bad:
        with pytest.raises(UnwritableValue):
            format_point(p)


# --- properties ---------------------------------------------------------------------------------
# U+FFFD is a symbol (So) but InfluxDB's ValidKeyToken refuses it in keys, like non-printables.
SAFE = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S"), exclude_characters="\\_#\ufffd"
)
TRICKY = st.sampled_from(list(' ,="\\#_\n\ttimeé日🚀\x00') + ["\ufffd", "\u00a0"])


def names(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=1, max_size=12)


def field_values() -> st.SearchStrategy[tuple[str, object]]:
    return st.one_of(
        st.tuples(st.just("float"), st.floats(allow_nan=False, allow_infinity=False)),
        st.tuples(st.just("integer"), st.integers(-(2**63), 2**63 - 1)),
        st.tuples(st.just("unsigned"), st.integers(0, 2**64 - 1)),
        st.tuples(st.just("boolean"), st.booleans()),
        st.tuples(
            st.just("string"), st.text(st.characters(codec="utf-8"), max_size=40)
        ),
    )


@st.composite
def points(draw, key_chars: st.SearchStrategy[str]) -> Point:
    tags = draw(st.dictionaries(names(key_chars), names(key_chars), max_size=4))
    fields = draw(
        st.dictionaries(names(key_chars), field_values(), min_size=1, max_size=4)
    )
    return Point(
        draw(names(key_chars)),
        tuple(sorted(tags.items(), key=lambda kv: kv[0].encode())),
        tuple((k, kind, v) for k, (kind, v) in fields.items()),
        draw(st.integers(MIN_TIME_NS, MAX_TIME_NS)),
    )


@settings(max_examples=300, deadline=None)
@given(points(st.one_of(SAFE, st.sampled_from(list(' ,="é日🚀')))))
def test_roundtrip_of_writable_points(p: Point) -> None:
    """Printable names without backslash, '_' or '#' are always writable and read back equal."""
    assume("time" not in [k for k, _ in p.tags] + [k for k, _k, _v in p.fields])
    line = format_point(p)
    assert parse(line, now_ns=0).points == [p]
    assert parse(line + "\n" + line, now_ns=0).points == [p, p]


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(points(st.one_of(SAFE, TRICKY)))
def test_format_point_either_refuses_or_roundtrips(p: Point) -> None:
    try:
        line = format_point(p)
    except UnwritableValue:
        return
    assert (
        "\n" not in line.replace('\\"', "").split('"', 1)[0]
    )  # no newline outside strings
    result = parse(line, now_ns=0)
    assert result.errors == [] and result.points == [p]


@settings(max_examples=100, deadline=None)
@given(points(SAFE), st.sampled_from(["ns", "us", "ms", "s"]))
def test_roundtrip_with_precision(p: Point, precision: str) -> None:
    mult = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9}[precision]
    assume(
        all(k != "time" for k, _ in p.tags) and all(k != "time" for k, *_ in p.fields)
    )
    t = p.time_ns - p.time_ns % mult  # floor to a whole number of units
    assume(t >= MIN_TIME_NS)
    p = Point(p.measurement, p.tags, p.fields, t)
    assert parse(format_point(p, precision), precision, now_ns=0).points == [p]


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=200)
    | st.text(st.sampled_from(list('m,f=t1i u".\\ \t\n#-e_')), max_size=60)
)
def test_parse_never_raises(body: bytes | str) -> None:
    result = parse(body, now_ns=0)
    for e in result.errors:
        assert e.line_no >= 1 and e.status in (400, 422)
    for p in result.points:
        assert p.fields and MIN_TIME_NS <= p.time_ns <= MAX_TIME_NS
        assert list(p.tags) == sorted(p.tags, key=lambda kv: kv[0].encode())
