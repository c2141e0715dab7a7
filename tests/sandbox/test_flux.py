"""The sandbox's Flux subset: parser, semantics, annotated CSV, and influxdb-client's own parser.

Expectations are hand-computed from InfluxDB 2.7's behaviour (storage reader, planner push-down
rules, flux csv.ResultEncoder); see the module docstring of sandbox/influxdb/flux.py.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from influxdb_client import InfluxDBClient
from influxdb_client.client.flux_csv_parser import FluxCsvParser, FluxSerializationMode

from sandbox.influxdb.flux import FluxError, Row, execute, to_annotated_csv

S = 1_000_000_000
H = 3600 * S
NOW = 1_700_000_000 * S  # 2023-11-14T22:13:20Z
BUCKETS = {"b": "0000000000000001", "other": "0000000000000002"}


class Store:
    def __init__(self, rows: list[Row]):
        self.rows = rows
        self.scans: list[tuple[str, int, int]] = []

    def scan(self, bucket_id, start_ns, stop_ns):
        self.scans.append((bucket_id, start_ns, stop_ns))
        # deliberately unordered, as the interface allows
        return [
            r
            for r in reversed(self.rows)
            if r.time_ns >= start_ns and r.time_ns < stop_ns
        ]


def rows_fixture() -> list[Row]:
    return [
        Row("cpu", {"host": "a", "region": "eu"}, "usage", "float", 1.5, NOW - H),
        Row("cpu", {"host": "a", "region": "eu"}, "usage", "float", 2.5, NOW - H // 2),
        Row("cpu", {"host": "b", "region": "eu"}, "usage", "float", 4.0, NOW - H // 2),
        Row("cpu", {"host": "a", "region": "eu"}, "n", "integer", 3, NOW - H // 2),
        Row("cpu", {"host": "a", "region": "eu"}, "n", "integer", 4, NOW - H // 4),
        Row("cpu", {"region": "us"}, "usage", "float", 10.0, NOW - H // 4),
        Row("mem", {"host": "a"}, "free", "string", "plenty", NOW - 10),
        Row("mem", {"host": "a"}, "ok", "boolean", True, NOW - 5 * S),
        Row("mem", {"host": "a"}, "big", "unsigned", 2**64 - 1, NOW - 5 * S),
        Row(
            "cpu", {"host": "a", "region": "eu"}, "usage", "float", 99.0, NOW - 3 * H
        ),  # out of range
    ]


def run(query: str, rows: list[Row] | None = None, **kwargs):
    store = Store(rows_fixture() if rows is None else rows)
    return execute(query, store, BUCKETS.get, NOW, **kwargs)


def q(body: str) -> str:
    return 'from(bucket: "b") |> range(start: -2h)' + body


def labels(table) -> list[str]:
    return [c for c, _ in table.columns]


def parse_csv(text: str):
    """Parses like QueryApi.query does (FluxCsvParser in tables mode)."""
    parser = FluxCsvParser(
        response=io.BytesIO(text.encode("utf-8")),
        serialization_mode=FluxSerializationMode.tables,
    )
    list(parser.generator())
    return parser.table_list()


# ---------------------------------------------------------------------------------------------
# from |> range: series tables
# ---------------------------------------------------------------------------------------------


def test_series_tables_columns_key_and_storage_order():
    tables = run(q(""))
    # storage order: series key with \x00=measurement first and \xff=field last
    assert [
        (t.key_dict()["_measurement"], t.key_dict().get("host"), t.key_dict()["_field"])
        for t in tables
    ] == [
        ("cpu", "a", "n"),
        ("cpu", "a", "usage"),
        ("cpu", "b", "usage"),
        ("cpu", None, "usage"),
        ("mem", "a", "big"),
        ("mem", "a", "free"),
        ("mem", "a", "ok"),
    ]
    t = tables[1]
    assert labels(t) == [
        "_start",
        "_stop",
        "_time",
        "_value",
        "_field",
        "_measurement",
        "host",
        "region",
    ]
    assert t.key == ["_start", "_stop", "_field", "_measurement", "host", "region"]
    assert t.col_type("_value") == "float"
    assert [r["_value"] for r in t.records()] == [
        1.5,
        2.5,
    ]  # sorted by time, 3h-old point excluded
    assert [r["_time"] for r in t.records()] == [NOW - H, NOW - H // 2]
    assert t.key_dict()["_start"] == NOW - 2 * H and t.key_dict()["_stop"] == NOW
    assert tables[0].col_type("_value") == "int"
    assert tables[4].col_type("_value") == "uint"
    assert tables[6].col_type("_value") == "bool"


@pytest.mark.parametrize(
    "start, stop, expected",
    [
        ("-1h", "now()", (NOW - H, NOW)),
        ("-1h2m3s", "-1m", (NOW - H - 2 * 60 * S - 3 * S, NOW - 60 * S)),
        ("-30d", "0s", (NOW - 30 * 24 * H, NOW)),
        ("-1w", "1h", (NOW - 7 * 24 * H, NOW + H)),
        ("-1500ms", "-10us", (NOW - 1_500_000_000, NOW - 10_000)),
        (
            "2023-11-14T21:00:00Z",
            "2023-11-14T22:00:00.123456789Z",
            (1_699_995_600 * S, 1_699_999_200 * S + 123_456_789),
        ),
        (
            "2023-11-14T23:00:00+01:00",
            "2023-11-15",
            (1_699_999_200 * S, 1_700_006_400 * S),
        ),
        ("1699995600", "1700000000", (1_699_995_600 * S, NOW)),
    ],
)
def test_range_bounds(start, stop, expected):
    store = Store([])
    execute(
        f'from(bucket: "b") |> range(start: {start}, stop: {stop})',
        store,
        BUCKETS.get,
        NOW,
    )
    assert store.scans == [(BUCKETS["b"], *expected)]


def test_range_months_and_years_are_calendar_arithmetic_clamped_to_month_end():
    now = 1_711_843_200 * S  # 2024-03-31T00:00:00Z
    store = Store([])
    execute(
        'from(bucket: "b") |> range(start: -1y, stop: -1mo)', store, BUCKETS.get, now
    )
    # 2023-03-31 and 2024-02-29 (leap year, clamped)
    assert store.scans == [(BUCKETS["b"], 1_680_220_800 * S, 1_709_164_800 * S)]


def test_range_default_stop_is_now_and_bucket_id():
    store = Store([])
    execute('from(bucketID: "abc") |> range(start: -5m)', store, BUCKETS.get, NOW)
    assert store.scans == [("abc", NOW - 300 * S, NOW)]


@pytest.mark.parametrize("bounds", ["start: -1h, stop: -2h", "start: -1h, stop: -1h"])
def test_empty_range_is_an_error(bounds):
    with pytest.raises(FluxError) as exc:
        run(f'from(bucket: "b") |> range({bounds})')
    assert exc.value.message == (
        "error in building plan while starting program: cannot query an empty range"
    )


# ---------------------------------------------------------------------------------------------
# parser details
# ---------------------------------------------------------------------------------------------


def test_multiline_pipes_comments_brackets_and_assignments():
    query = """
// leading comment
data = from(bucket: "b")
    |> range(start: -2h) // trailing comment
    |> filter(fn: (r) => r["_measurement"] == "cpu")
data
    |> filter(fn: (r) =>
        (r._field == "usage" or r._field == "n")
        and r["host"] =~ /^a$/)
    |> count()
"""
    tables = run(query)
    assert [(t.key_dict()["_field"], t.records()[0]["_value"]) for t in tables] == [
        ("n", 2),
        ("usage", 2),
    ]


def test_regex_literal_with_escaped_slash_and_string_escapes():
    rows = [
        Row("m", {"path": "/a/b"}, "f", "string", 'say "hi"\n', NOW - S),
        Row("m", {"path": "/c"}, "f", "string", "x", NOW - S),
    ]
    (t,) = run(
        q(
            ' |> filter(fn: (r) => r.path =~ /^\\/a\\// and r._value == "say \\"hi\\"\\n")'
        ),
        rows,
    )
    assert t.key_dict()["path"] == "/a/b"


def test_function_block_body_and_named_parameter():
    tables = run(q(' |> filter(fn: (row) => { return row._field == "ok" })'))
    assert [t.key_dict()["_field"] for t in tables] == ["ok"]


# ---------------------------------------------------------------------------------------------
# filter: storage semantics when pushed down, Flux semantics otherwise
# ---------------------------------------------------------------------------------------------


def test_pushed_not_equal_matches_series_without_the_tag():
    tables = run(q(' |> filter(fn: (r) => r._measurement == "cpu" and r.host != "a")'))
    assert [t.key_dict().get("host") for t in tables] == ["b", None]


def test_not_pushed_comparison_with_missing_tag_is_null_and_drops_the_row():
    # `not` over a comparison is not pushable: Flux evaluates it, and r.host is null there
    tables = run(
        q(' |> filter(fn: (r) => r._measurement == "cpu" and not r.host == "a")')
    )
    assert [t.key_dict().get("host") for t in tables] == ["b"]
    # an equality with "" is not pushable either
    tables = run(q(' |> filter(fn: (r) => r.host == "")'))
    assert tables == []


def test_planner_rewrites_merge_filters_and_groups_before_push_down():
    # the trivial filter disappears, so from |> range is bounded
    assert (
        len(run('from(bucket: "b") |> filter(fn: (r) => true) |> range(start: -2h)'))
        == 7
    )
    # MergeFiltersRule: the later pushable filter still reaches storage, so the missing host
    # tag compares as "" there (Flux itself would see null and drop the row)
    tables = run(
        q(
            ' |> filter(fn: (r) => not r._measurement == "mem")'
            ' |> filter(fn: (x) => x.host != "a")'
        )
    )
    assert [t.key_dict().get("host") for t in tables] == ["b", None]
    # ... and a count right after the merged, fully pushed filters is a storage aggregate
    tables = run(
        q(
            ' |> filter(fn: (r) => r._measurement == "cpu") |> filter(fn: (r) => '
            'r._field == "n") |> count()'
        )
    )
    assert labels(tables[0])[:3] == ["_start", "_stop", "_value"]
    # MergeGroupRule: group |> group is the last group, pushed to storage
    (t,) = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> group(columns: ["host"])'
            " |> group()"
        )
    )
    assert t.key == ["_start", "_stop"] and len(t.rows) == 4


def test_exists_and_value_comparisons():
    tables = run(
        q(
            " |> filter(fn: (r) => exists r.region and r._value >= 2.5 and r._value < 10)"
        )
    )
    assert [
        (
            t.key_dict()["_field"],
            t.key_dict()["host"],
            [x["_value"] for x in t.records()],
        )
        for t in tables
    ] == [("n", "a", [3, 4]), ("usage", "a", [2.5]), ("usage", "b", [4.0])]
    tables = run(q(" |> filter(fn: (r) => not exists r.host)"))
    assert [t.key_dict()["region"] for t in tables] == ["us"]


def test_filter_value_regex_bool_and_negative_literals():
    assert [
        t.key_dict()["_field"]
        for t in run(q(" |> filter(fn: (r) => r._value =~ /^pl/)"))
    ] == ["free"]
    assert [
        t.key_dict()["_field"]
        for t in run(q(" |> filter(fn: (r) => r._value == true)"))
    ] == ["ok"]
    rows = [
        Row("m", {}, "f", "integer", -5, NOW - S),
        Row("m", {}, "f", "integer", 5, NOW - 2 * S),
    ]
    (t,) = run(q(" |> filter(fn: (r) => r._value > -6 and r._value < 0)"), rows)
    assert [x["_value"] for x in t.records()] == [-5]


def test_filter_on_time_after_transformation():
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "n") |> keep(columns: ["_time", "_value"])'
            " |> filter(fn: (r) => r._time > 2023-11-14T21:30:00Z)"
        )
    )
    assert [x["_value"] for x in tables[0].records()] == [3, 4]
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "n") |> keep(columns: ["_time", "_value"])'
            " |> filter(fn: (r) => r._time >= 2023-11-14T21:50:00Z)"
        )
    )
    assert [x["_value"] for x in tables[0].records()] == [4]


def test_filter_on_empty_keep_keeps_an_empty_table():
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "n") '
            '|> filter(fn: (r) => r._value > 100, onEmpty: "keep")'
        )
    )
    assert len(tables) == 1 and tables[0].rows == []


def test_filter_type_error_outside_storage():
    with pytest.raises(FluxError) as exc:
        run(
            q(
                ' |> filter(fn: (r) => r._field == "n") |> keep(columns: ["_value"])'
                ' |> filter(fn: (r) => r._value > "x")'
            )
        )
    assert (
        "unsupported binary expression" in exc.value.message
        and exc.value.code == "invalid"
    )


# ---------------------------------------------------------------------------------------------
# aggregates and selectors
# ---------------------------------------------------------------------------------------------


def test_count_pushed_down_has_storage_column_order_and_long_value():
    tables = run(q(' |> filter(fn: (r) => r._measurement == "cpu") |> count()'))
    t = tables[0]
    assert labels(t) == [
        "_start",
        "_stop",
        "_value",
        "_field",
        "_measurement",
        "host",
        "region",
    ]
    assert t.col_type("_value") == "int"
    assert [(x.key_dict()["_field"], x.records()[0]["_value"]) for x in tables] == [
        ("n", 2),
        ("usage", 2),
        ("usage", 1),
        ("usage", 1),
    ]
    assert "_time" not in labels(t)


def test_count_not_pushed_puts_value_after_the_group_key():
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "n") |> drop(columns: ["region"]) |> count()'
        )
    )
    (t,) = tables
    assert labels(t) == ["_start", "_stop", "_field", "_measurement", "host", "_value"]
    assert t.records()[0]["_value"] == 2


def test_sum_keeps_integer_and_unsigned_types_mean_is_float():
    (t,) = run(q(' |> filter(fn: (r) => r._field == "n") |> sum()'))
    assert t.col_type("_value") == "int" and t.records()[0]["_value"] == 7
    (t,) = run(q(' |> filter(fn: (r) => r._field == "big") |> sum()'))
    assert t.col_type("_value") == "uint" and t.records()[0]["_value"] == 2**64 - 1
    (t,) = run(q(' |> filter(fn: (r) => r._field == "n") |> mean()'))
    assert t.col_type("_value") == "float" and t.records()[0]["_value"] == 3.5
    tables = run(q(' |> filter(fn: (r) => r._field == "usage") |> sum()'))
    assert [x.records()[0]["_value"] for x in tables] == [4.0, 4.0, 10.0]


def test_sum_of_strings_is_an_error():
    with pytest.raises(FluxError) as exc:
        run(q(' |> filter(fn: (r) => r._field == "free") |> sum()'))
    assert exc.value.message == "unsupported input type for sum aggregate: string"


def test_selectors_keep_the_row():
    (t,) = run(q(' |> filter(fn: (r) => r._field == "n") |> last()'))
    assert labels(t) == [
        "_start",
        "_stop",
        "_time",
        "_value",
        "_field",
        "_measurement",
        "host",
        "region",
    ]
    assert t.records() == [
        {
            "_start": NOW - 2 * H,
            "_stop": NOW,
            "_time": NOW - H // 4,
            "_value": 4,
            "_field": "n",
            "_measurement": "cpu",
            "host": "a",
            "region": "eu",
        }
    ]
    (t,) = run(q(' |> filter(fn: (r) => r._field == "n") |> first()'))
    assert t.records()[0]["_value"] == 3
    tables = run(q(' |> filter(fn: (r) => r._field == "usage") |> group() |> max()'))
    assert [x.records()[0]["_value"] for x in tables] == [10.0]
    tables = run(q(' |> filter(fn: (r) => r._field == "usage") |> group() |> min()'))
    assert (
        tables[0].records()[0]["_value"] == 1.5
        and tables[0].records()[0]["host"] == "a"
    )


# ---------------------------------------------------------------------------------------------
# group, keep, drop, limit, sort, yield
# ---------------------------------------------------------------------------------------------


def test_group_all_pushed_down_keeps_start_stop_in_the_key():
    (t,) = run(q(' |> filter(fn: (r) => r._field == "usage") |> group()'))
    assert t.key == ["_start", "_stop"]
    assert labels(t) == [
        "_start",
        "_stop",
        "_time",
        "_value",
        "_field",
        "_measurement",
        "host",
        "region",
    ]
    # the group's series one after another, each in time order
    assert [x["_value"] for x in t.records()] == [1.5, 2.5, 4.0, 10.0]
    (c,) = run(q(' |> filter(fn: (r) => r._field == "usage") |> group() |> count()'))
    assert labels(c) == ["_start", "_stop", "_value"] and c.records()[0]["_value"] == 4


def test_group_selectors_pushed_to_storage_pick_across_the_group():
    usage = q(
        ' |> filter(fn: (r) => r._field == "usage") |> group(columns: ["region"])'
    )
    # in "eu", host a's 2.5 and host b's 4.0 share the latest time: the earlier series wins
    expect = {
        "first": [1.5, 10.0],
        "last": [2.5, 10.0],
        "min": [1.5, 10.0],
        "max": [4.0, 10.0],
    }
    for name, values in expect.items():
        tables = run(usage + f" |> {name}()")
        assert [t.records()[0]["_value"] for t in tables] == values, name
        assert labels(tables[0]) == [
            "_start",
            "_stop",
            "_time",
            "_value",
            "_field",
            "_measurement",
            "host",
            "region",
        ]
    (t,) = run(q(' |> filter(fn: (r) => r._field == "usage") |> group() |> last()'))
    assert (t.records()[0]["host"], t.records()[0]["_value"]) == (None, 10.0)
    (t,) = run(q(' |> filter(fn: (r) => r._field == "usage") |> group() |> sum()'))
    assert (
        labels(t) == ["_start", "_stop", "_value"] and t.records()[0]["_value"] == 18.0
    )


def test_group_count_over_mixed_types_is_a_storage_aggregate():
    (t,) = run(q(" |> group() |> count()"))
    assert labels(t) == ["_start", "_stop", "_value"] and t.records()[0]["_value"] == 9
    tables = run(q(' |> group(columns: ["_measurement"]) |> count()'))
    assert [(x.key_values[2], x.records()[0]["_value"]) for x in tables] == [
        ("cpu", 6),
        ("mem", 3),
    ]
    with pytest.raises(FluxError, match="schema collision: cannot group"):
        run(q(' |> filter(fn: (r) => r._measurement == "cpu") |> group() |> sum()'))


def test_group_of_mixed_types_is_a_schema_collision():
    with pytest.raises(FluxError) as exc:
        run(q(' |> filter(fn: (r) => r._measurement == "cpu") |> group()'))
    assert (
        exc.value.message
        == "schema collision: cannot group integer and float types together"
    )
    with pytest.raises(FluxError) as exc:
        run(
            q(
                ' |> filter(fn: (r) => r._measurement == "cpu") |> drop(columns: ["region"])'
                " |> group()"
            )
        )
    assert (
        'schema collision detected: column "_value" is both of type float and int'
        in exc.value.message
    )


def test_group_by_columns_pushed_and_not_pushed():
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> group(columns: ["host"])'
            " |> count()"
        )
    )
    assert [
        (t.key, t.records()[0].get("host"), t.records()[0]["_value"]) for t in tables
    ] == [
        (["_start", "_stop", "host"], "", 1),
        (["_start", "_stop", "host"], "a", 2),
        (["_start", "_stop", "host"], "b", 1),
    ]
    # ReadGroupAggregate: storage column order, _value before the group columns
    assert labels(tables[0]) == ["_start", "_stop", "_value", "host"]
    # not pushed (after keep): Flux group; key columns in table order, tables by key
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> keep(columns: ["_value", "host",'
            ' "region"]) |> group(columns: ["region", "host"]) |> sum()'
        )
    )
    assert [(t.key, t.key_values, t.records()[0]["_value"]) for t in tables] == [
        (["host", "region"], ["a", "eu"], 4.0),
        (["host", "region"], ["b", "eu"], 4.0),
        (["region"], ["us"], 10.0),
    ]
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> keep(columns: ["_value", "host",'
            ' "region"]) |> group(columns: ["_value", "host"], mode: "except") |> count()'
        )
    )
    assert [(t.key_values, t.records()[0]["_value"]) for t in tables] == [
        (["eu"], 3),
        (["us"], 1),
    ]


def test_keep_drop_change_columns_and_key_and_merge_equal_keys():
    tables = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> keep(columns: ["_time", "_value",'
            ' "region"])'
        )
    )
    assert [(t.key, t.key_values, labels(t), len(t.rows)) for t in tables] == [
        (["region"], ["eu"], ["_time", "_value", "region"], 3),
        (["region"], ["us"], ["_time", "_value", "region"], 1),
    ]
    (t,) = run(
        q(
            ' |> filter(fn: (r) => r._field == "n") |> drop(columns: ["_start", "_stop",'
            ' "region", "nope"])'
        )
    )
    assert t.key == ["_field", "_measurement", "host"]
    assert labels(t) == ["_time", "_value", "_field", "_measurement", "host"]


def test_count_counts_nulls_and_sort_puts_nulls_last_ascending():
    grouped = q(' |> filter(fn: (r) => r._field == "usage") |> group()')
    (t,) = run(grouped + ' |> count(column: "host")')
    assert t.records()[0]["host"] == 4 and t.col_type("host") == "int"
    (t,) = run(grouped + ' |> sort(columns: ["host", "_value"])')
    assert [(x["host"], x["_value"]) for x in t.records()] == [
        ("a", 1.5),
        ("a", 2.5),
        ("b", 4.0),
        (None, 10.0),
    ]
    (t,) = run(grouped + ' |> sort(columns: ["host"], desc: true)')
    assert [x["host"] for x in t.records()] == [None, "b", "a", "a"]


def test_limit_and_sort():
    (t,) = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> group() |> sort(columns: ["_value"],'
            " desc: true) |> limit(n: 2)"
        )
    )
    assert [x["_value"] for x in t.records()] == [10.0, 4.0]
    (t,) = run(
        q(
            ' |> filter(fn: (r) => r._field == "usage") |> group() |> sort()'
            " |> limit(n: 2, offset: 1)"
        )
    )
    assert [x["_value"] for x in t.records()] == [2.5, 4.0]


def test_yield_names_results():
    tables = run(
        'data = from(bucket: "b") |> range(start: -2h) |> filter(fn: (r) => r._field == "n")'
        '\ndata |> count() |> yield(name: "count")\ndata |> last() |> yield(name: "last")'
    )
    assert [(t.result, t.records()[0]["_value"]) for t in tables] == [
        ("count", 2),
        ("last", 4),
    ]
    text = to_annotated_csv(tables)
    assert text.count("\r\n\r\n") == 2 and text.count("\r\n,,0,") == 2
    assert "#default,count," in text and "#default,last," in text
    parsed = parse_csv(text)
    assert [(t.records[0]["result"], t.records[0]["_value"]) for t in parsed] == [
        ("count", 2),
        ("last", 4),
    ]


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, fragment",
    [
        (
            'from(bucket: "b")',
            (
                "cannot submit unbounded read to \"b\"; try bounding 'from' with a "
                "call to 'range'"
            ),
        ),
        (
            'from(bucket: "b") |> filter(fn: (r) => r._value > 0) |> range(start: -1h)',
            "unbounded read",
        ),
        (
            'import "strings"\nfrom(bucket: "b") |> range(start: -1h)',
            "import statements are not",
        ),
        (q(" |> frobnicate()"), "undefined identifier frobnicate"),
        (
            q(" |> aggregateWindow(every: 1m, fn: mean)"),
            "aggregateWindow is not supported",
        ),
        (
            q(
                ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
            ),
            "pivot is not supported",
        ),
        (q(" |> map(fn: (r) => r)"), "map is not supported"),
        (q(" |> map(fn: (r) => ({r with x: 1}))"), "record literals are not supported"),
        (
            q(" |> filter(fn: (r) => r._value + 1 > 2)"),
            "arithmetic (+) is not supported",
        ),
        (q(" |> limit()"), "missing required argument n"),
        (q(' |> count(colum: "x")'), 'function does not take a parameter "colum"'),
        (
            'from(bucket: "b") |> range(start: "yesterday")',
            'keyword argument "start" should be of kind',
        ),
        (q(' |> filter(fn: (r) => r.host == "a"'), "got EOF"),
        (
            q(' |> filter(fn: (r) => r.host == "a ${x}")'),
            "string interpolation is not supported",
        ),
        (
            "option now = () => 2020-01-01T00:00:00Z\n" + q(""),
            "option statements are not supported",
        ),
        (q(' |> count() |> count(column: "nope")'), 'column "nope" does not exist'),
        ("1", "no streaming data"),
        ("", "no statements"),
    ],
)
def test_unsupported_or_invalid_queries_are_invalid(query, fragment):
    with pytest.raises(FluxError) as exc:
        run(query)
    assert fragment in exc.value.message
    assert exc.value.code == "invalid"


def test_unknown_bucket_is_not_found():
    with pytest.raises(FluxError) as exc:
        run('from(bucket: "nope") |> range(start: -1h)')
    assert (exc.value.message, exc.value.code) == (
        'could not find bucket "nope"',
        "not found",
    )


def test_error_positions_point_at_the_token():
    with pytest.raises(FluxError) as exc:
        run('from(bucket: "b")\n  |> range(start: -1h)\n  |> nope()')
    assert exc.value.message == "error @3:6: undefined identifier nope"


# ---------------------------------------------------------------------------------------------
# annotated CSV, byte for byte
# ---------------------------------------------------------------------------------------------


def test_csv_exact_bytes_for_two_schemas():
    tables = run(q(' |> filter(fn: (r) => r._measurement == "cpu" and r.host == "a")'))
    assert to_annotated_csv(tables) == (
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,long,string,"
        "string,string,string\r\n"
        "#group,false,false,true,true,false,false,true,true,true,true\r\n"
        "#default,_result,,,,,,,,,\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host,region\r\n"
        ",,0,2023-11-14T20:13:20Z,2023-11-14T22:13:20Z,2023-11-14T21:43:20Z,3,n,cpu,a,eu\r\n"
        ",,0,2023-11-14T20:13:20Z,2023-11-14T22:13:20Z,2023-11-14T21:58:20Z,4,n,cpu,a,eu\r\n"
        "\r\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,"
        "string,string,string\r\n"
        "#group,false,false,true,true,false,false,true,true,true,true\r\n"
        "#default,_result,,,,,,,,,\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host,region\r\n"
        ",,1,2023-11-14T20:13:20Z,2023-11-14T22:13:20Z,2023-11-14T21:13:20Z,1.5,usage,cpu,a,eu\r\n"
        ",,1,2023-11-14T20:13:20Z,2023-11-14T22:13:20Z,2023-11-14T21:43:20Z,2.5,usage,cpu,a,eu\r\n"
        "\r\n"
    )


def test_csv_same_schema_continues_without_new_annotations():
    tables = run(q(' |> filter(fn: (r) => r._field == "usage" and exists r.host)'))
    text = to_annotated_csv(tables)
    assert text.count("#datatype") == 1
    assert ",,0,2023-11-14T20:13:20Z" in text and ",,1,2023-11-14T20:13:20Z" in text


def test_csv_empty_result_is_a_single_crlf():
    assert (
        to_annotated_csv(run(q(' |> filter(fn: (r) => r._measurement == "none")')))
        == "\r\n"
    )
    assert to_annotated_csv([]) == "\r\n"


def test_csv_empty_table_writes_key_defaults():
    tables = run(q(' |> filter(fn: (r) => r._field == "n") |> limit(n: 0)'))
    assert to_annotated_csv(tables) == (
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,long,string,"
        "string,string,string\r\n"
        "#group,false,false,true,true,false,false,true,true,true,true\r\n"
        "#default,_result,0,2023-11-14T20:13:20Z,2023-11-14T22:13:20Z,,,n,cpu,a,eu\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host,region\r\n"
        "\r\n"
    )


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1"),
        (0.1, "0.1"),
        (-0.0, "-0"),
        (1e21, "1000000000000000000000"),
        (1.5e-7, "0.00000015"),
        (123456.789, "123456.789"),
        (2.0**70, "1180591620717411300000"),
    ],
)
def test_csv_float_format_is_go_shortest_fixed(value, text):
    (t,) = run(q(""), [Row("m", {}, "f", "float", value, NOW - S)])
    assert f",{text},f,m\r\n" in to_annotated_csv([t])
    (record,) = parse_csv(to_annotated_csv([t]))[0].records
    assert record["_value"] == value


def test_csv_times_keep_nanoseconds_trimmed():
    rows = [
        Row("m", {}, "f", "integer", 1, 1_700_000_000_120_000_000),
        Row("m", {}, "f", "integer", 2, 1_700_000_000_000_000_001),
    ]
    text = to_annotated_csv(
        run(
            'from(bucket: "b") |> range(start: 2023-11-14T22:13:20Z, '
            "stop: 2023-11-14T22:13:20.5Z)",
            rows,
        )
    )
    assert ",2023-11-14T22:13:20.000000001Z,2,f,m\r\n" in text
    assert ",2023-11-14T22:13:20.12Z,1,f,m\r\n" in text
    assert ",2023-11-14T22:13:20Z,2023-11-14T22:13:20.5Z," in text


def test_csv_quotes_like_go_with_crlf():
    rows = [Row("m", {"t": " lead"}, "f", "string", 'a,"b"\nc', NOW - S)]
    text = to_annotated_csv(run(q(""), rows))
    assert ',"a,""b""\r\nc",f,m," lead"\r\n' in text


def test_csv_dialects():
    tables = run(q(' |> filter(fn: (r) => r._field == "n") |> count()'))
    assert to_annotated_csv(tables, {}) == (
        ",result,table,_start,_stop,_value,_field,_measurement,host,region\r\n"
        ",_result,0,2023-11-14T20:13:20Z,2023-11-14T22:13:20Z,2,n,cpu,a,eu\r\n\r\n"
    )
    assert to_annotated_csv(
        tables, {"header": False, "delimiter": ";", "annotations": ["group"]}
    ) == (
        "#group;false;false;true;true;false;true;true;true;true\r\n"
        ";_result;0;2023-11-14T20:13:20Z;2023-11-14T22:13:20Z;2;n;cpu;a;eu\r\n\r\n"
    )
    with pytest.raises(FluxError):
        to_annotated_csv(tables, {"annotations": ["bogus"]})


# ---------------------------------------------------------------------------------------------
# influxdb-client's own parser
# ---------------------------------------------------------------------------------------------


def test_round_trip_every_datatype_through_flux_csv_parser():
    tables = parse_csv(to_annotated_csv(run(q(""))))
    assert len(tables) == 7
    by_field = {}
    for t in tables:
        by_field.setdefault(t.records[0]["_field"], t)
    expect = {
        "n": (int, [3, 4]),
        "usage": (float, [1.5, 2.5]),
        "big": (int, [2**64 - 1]),
        "free": (str, ["plenty"]),
        "ok": (bool, [True]),
    }
    for name, (typ, values) in expect.items():
        t = by_field[name]
        assert [r["_value"] for r in t.records] == values
        assert all(type(r["_value"]) is typ for r in t.records)
    dtypes = {t.records[0]["_field"]: t.columns[5].data_type for t in tables}
    assert dtypes == {
        "n": "long",
        "usage": "double",
        "big": "unsignedLong",
        "free": "string",
        "ok": "boolean",
    }
    rec = by_field["n"].records[0]
    assert rec.get_time() == dt.datetime(2023, 11, 14, 21, 43, 20, tzinfo=dt.UTC)
    assert rec.get_start() == dt.datetime(2023, 11, 14, 20, 13, 20, tzinfo=dt.UTC)
    assert (
        rec.get_measurement() == "cpu" and rec["host"] == "a" and rec["region"] == "eu"
    )
    assert [c.label for c in by_field["n"].get_group_key()] == [
        "_start",
        "_stop",
        "_field",
        "_measurement",
        "host",
        "region",
    ]
    # the three float "usage" tables share one schema block but stay separate tables
    assert [len(t.records) for t in tables] == [2, 2, 1, 1, 1, 1, 1]
    assert [t.records[0]["table"] for t in tables] == list(range(7))
    # a series without the tag has no such column; in a grouped table the value is None
    assert "host" not in tables[3].records[0].values
    (grouped,) = parse_csv(
        to_annotated_csv(
            run(q(' |> filter(fn: (r) => r._field == "usage") |> group()'))
        )
    )
    assert [r["host"] for r in grouped.records] == ["a", "a", "b", None]


def test_round_trip_aggregates_through_flux_csv_parser():
    parsed = parse_csv(
        to_annotated_csv(
            run(q(' |> filter(fn: (r) => r._field == "usage") |> group() |> count()'))
        )
    )
    (t,) = parsed
    assert [c.label for c in t.get_group_key()] == ["_start", "_stop"]
    assert t.records[0]["_value"] == 4 and type(t.records[0]["_value"]) is int
    assert "_time" not in t.records[0].values  # count drops _time
    parsed = parse_csv(
        to_annotated_csv(run(q(' |> filter(fn: (r) => r._field == "n") |> mean()')))
    )
    assert parsed[0].records[0]["_value"] == 3.5


# ---------------------------------------------------------------------------------------------
# QueryApi end to end, against a minimal HTTP front for this module
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def query_server():
    store = Store(rows_fixture())
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            try:
                tables = execute(
                    body["query"], store, BUCKETS.get, NOW, extern=body.get("extern")
                )
                payload = to_annotated_csv(tables, body.get("dialect", {})).encode()
                status, ctype = 200, "text/csv; charset=utf-8"
            except FluxError as exc:
                payload = json.dumps(
                    {"code": exc.code, "message": exc.message}
                ).encode()
                status, ctype = (
                    (404 if exc.code == "not found" else 400),
                    "application/json",
                )
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_query_api_end_to_end_with_params(query_server):
    url, seen = query_server
    with InfluxDBClient(url=url, token="t", org="o") as client:
        api = client.query_api()
        tables = api.query(
            "from(bucket: _bucket) |> range(start: _start)"
            " |> filter(fn: (r) => r._field == _field) |> sum()",
            params={"_bucket": "b", "_start": dt.timedelta(hours=-2), "_field": "n"},
        )
        assert [(r.get_field(), r.get_value()) for t in tables for r in t.records] == [
            ("n", 7)
        ]
        values = api.query_csv(q(' |> filter(fn: (r) => r._field == "ok")')).to_values()
        assert values[0][:3] == ["#datatype", "string", "long"]
        stream = list(
            api.query_stream(q(' |> filter(fn: (r) => r._field == "usage") |> last()'))
        )
        assert [r.get_value() for r in stream] == [2.5, 4.0, 10.0]
        with pytest.raises(Exception) as exc:
            api.query('from(bucket: "missing") |> range(start: -1h)')
        assert getattr(exc.value, "status", None) == 404
        assert b'could not find bucket \\"missing\\"' in exc.value.body
    assert seen[0]["dialect"]["annotations"] == ["datatype", "group", "default"]


def test_re2_posix_classes_and_end_of_text():
    rows = [
        Row("m", {"host": "web1"}, "f", "integer", 1, NOW - S),
        Row("m", {"host": "web"}, "f", "integer", 2, NOW - S),
    ]
    tables = run(q(" |> filter(fn: (r) => r.host =~ /^[[:alpha:]]+\\z/)"), rows)
    assert [t.key_dict()["host"] for t in tables] == ["web"]
    tables = run(q(" |> filter(fn: (r) => r.host =~ /[[:digit:]]$/)"), rows)
    assert [t.key_dict()["host"] for t in tables] == ["web1"]


def test_extern_options_become_variables():
    extern = {
        "type": "File",
        "imports": [],
        "body": [
            {
                "type": "OptionStatement",
                "assignment": {
                    "type": "VariableAssignment",
                    "id": {"type": "Identifier", "name": name},
                    "init": init,
                },
            }
            for name, init in [
                ("_bucket", {"type": "StringLiteral", "value": "b"}),
                (
                    "_start",
                    {
                        "type": "UnaryExpression",
                        "operator": "-",
                        "argument": {
                            "type": "DurationLiteral",
                            "values": [{"magnitude": 7200000000, "unit": "us"}],
                        },
                    },
                ),
                (
                    "_stop",
                    {
                        "type": "DateTimeLiteral",
                        "value": "2023-11-14T22:13:20.000000000Z",
                    },
                ),
                ("_min", {"type": "FloatLiteral", "value": 2.0}),
                ("_n", {"type": "IntegerLiteral", "value": "1"}),
                ("_keep", {"type": "BooleanLiteral", "value": True}),
            ]
        ],
    }
    tables = run(
        "from(bucket: _bucket) |> range(start: _start, stop: _stop)"
        ' |> filter(fn: (r) => r._field == "usage" and r._value >= _min and _keep)'
        " |> limit(n: _n)",
        extern=extern,
    )
    assert [
        (t.key_dict().get("host"), [x["_value"] for x in t.records()]) for t in tables
    ] == [("a", [2.5]), ("b", [4.0]), (None, [10.0])]
    with pytest.raises(FluxError):
        run(q(""), extern={"body": [{"type": "ExpressionStatement"}]})


def test_series_order_is_the_storage_key_byte_order():
    rows = [
        Row(m, tags, f, "integer", 1, NOW - S)
        for m, tags, f in [
            ("cpu2", {}, "f"),
            ("cpu", {"Host": "x"}, "f"),
            ("cpu+", {}, "f"),
            ("cpu", {}, "g"),
            ("cpu", {}, "f"),
            ("cpu", {"host": "a b"}, "f"),
        ]
    ]
    tables = run(q(""), rows)
    # keys are "\x00=<measurement>,<tags>,\xff=<field>": "cpu+," < "cpu,," (0x2B < 0x2C), and
    # after "\x00=cpu," come "Host=" < "host=" < "\xff=" (the series without tags)
    assert [
        (
            t.key_dict()["_measurement"],
            t.key_dict().get("Host"),
            t.key_dict().get("host"),
            t.key_dict()["_field"],
        )
        for t in tables
    ] == [
        ("cpu+", None, None, "f"),
        ("cpu", "x", None, "f"),
        ("cpu", None, "a b", "f"),
        ("cpu", None, None, "f"),
        ("cpu", None, None, "g"),
        ("cpu2", None, None, "f"),
    ]
    assert tables[1].key == ["_start", "_stop", "Host", "_field", "_measurement"]
