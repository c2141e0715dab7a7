"""Unit tests of the migration engine's pure parts (plugins/module_utils/timestream_migration*.py):
table plans, the row converter, partitions and their owners, progress, the writer's retry rules, the
UNLOAD file reader and the Flux answer parser. Lines are checked with the sandbox's port of InfluxDB's
scanner, so "exact" means what InfluxDB itself would store."""

from __future__ import annotations

import csv
import gzip
import http.server
import io
import json
import random
import threading
from collections.abc import Iterator

import pytest
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration import (
    MigrationError,
    MigrationSettings,
    ProgressStore,
    RowConverter,
    build_table_plan,
    classify_columns,
    parse_line,
    parse_partition_size,
    parse_time_option,
    partition_owner,
    plan_partitions,
    rename_key,
    report_table,
    settings_from_params,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration_io import (
    BatchRejected,
    InfluxWriter,
    find_offending_line,
    flux_string,
    new_report,
    page_rows,
    parse_annotated_csv,
    read_unload,
    retry_delay,
)

from sandbox.influxdb.lineprotocol import parse

MULTI = [("host", "VARCHAR", "DIMENSION"), ("region", "VARCHAR", "DIMENSION"),
         ("measure_name", "VARCHAR", "MEASURE_NAME"), ("time", "TIMESTAMP", "TIMESTAMP"),
         ("cpu", "DOUBLE", "MULTI"), ("n", "BIGINT", "MULTI"), ("ok", "BOOLEAN", "MULTI"),
         ("note", "VARCHAR", "MULTI"), ("seen", "TIMESTAMP", "MULTI"), ("_id", "BIGINT", "MULTI")]
SINGLE = [("sensor", "VARCHAR", "DIMENSION"), ("measure_name", "VARCHAR", "MEASURE_NAME"),
          ("time", "TIMESTAMP", "TIMESTAMP"), ("measure_value::double", "DOUBLE", "MEASURE_VALUE"),
          ("measure_value::bigint", "BIGINT", "MEASURE_VALUE"), ("measure_value::varchar", "VARCHAR", "MEASURE_VALUE"),
          ("measure_value::boolean", "BOOLEAN", "MEASURE_VALUE")]
T = "2024-01-02 03:04:05.123456789"
T_NS = 1704164645123456789


def settings(**kw) -> MigrationSettings:
    return MigrationSettings(database="db", output_file="-", **kw)


def converter(columns=None, typed=False, **kw) -> RowConverter:
    cols = classify_columns(MULTI if columns is None else columns)
    plan = build_table_plan("metrics", cols, settings(**kw))
    return RowConverter(plan, [c.name for c in cols], typed=typed)


def point(line: str):
    result = parse(line, now_ns=0)
    assert result.errors == [], result.errors
    (p,) = result.points
    return p


# --- plans ----------------------------------------------------------------------------------------
def test_classify_without_describe_infers_kinds() -> None:
    cols = classify_columns([("h", "VARCHAR", None), ("measure_name", "VARCHAR", None), ("time", "TIMESTAMP", None),
                             ("measure_value::double", "DOUBLE", None), ("note", "VARCHAR", None),
                             ("x", "BIGINT", None)], dimensions=["h"])
    assert [c.kind for c in cols] == ["DIMENSION", "MEASURE_NAME", "TIMESTAMP", "MEASURE_VALUE", "MULTI", "MULTI"]


def test_plan_sorts_tags_renames_reserved_names_and_moves_dimensions_to_fields() -> None:
    cols = classify_columns([("zone", "VARCHAR", "DIMENSION"), ("_az", "VARCHAR", "DIMENSION"),
                             ("req", "VARCHAR", "DIMENSION"), ("time", "TIMESTAMP", "TIMESTAMP"),
                             ("measure_name", "VARCHAR", "MEASURE_NAME"), ("v", "DOUBLE", "MULTI")])
    plan = build_table_plan("_t", cols, settings(dimensions_to_fields=["req"]))
    assert plan.measurement == "ts_t"
    assert [k for _c, k in plan.tags] == ["ts_az", "zone"]
    assert ("req", "req", "VARCHAR") in plan.fields
    assert plan.renamed == {"_t": "ts_t", "_az": "ts_az"}
    assert plan.record_kind == "multi-measure"


def test_rename_rule_is_documented_and_avoids_collisions() -> None:
    assert rename_key("_id", "ts") == "ts_id"
    assert rename_key("time", "ts") == "ts_time"
    assert rename_key("_id", "ts", taken={"ts_id"}) == "ts_ts_id"


def test_plan_refuses_unrenameable_names_naming_the_option() -> None:
    cols = classify_columns([("a\\", "VARCHAR", "DIMENSION"), ("time", "TIMESTAMP", "TIMESTAMP"),
                             ("v", "DOUBLE", "MULTI")])
    with pytest.raises(MigrationError, match="renames"):
        build_table_plan("t", cols, settings())
    plan = build_table_plan("t", cols, settings(renames={"a\\": "a"}))
    assert plan.tags == [("a\\", "a")]


# --- conversion -----------------------------------------------------------------------------------
def test_multi_measure_row_every_type_exact() -> None:
    c = converter()
    line = c.convert(["web 1", "eu,w=1", "metrics", T, "0.1", "-9223372036854775808", "true",
                      'say "hi" \\o/', "1970-01-01 00:00:00.000000001", "7"])
    p = point(line)
    assert p.measurement == "metrics"
    assert p.tags == (("host", "web 1"), ("measure_name", "metrics"), ("region", "eu,w=1"))
    assert p.fields == (("cpu", "float", 0.1), ("n", "integer", -(2**63)), ("ok", "boolean", True),
                        ("note", "string", 'say "hi" \\o/'), ("seen", "integer", 1), ("ts_id", "integer", 7))
    assert p.time_ns == T_NS
    assert c.plan.renamed == {"_id": "ts_id"}
    assert (c.stats.rows, c.stats.lines, c.stats.fields) == (1, 1, 6)


def test_nulls_omitted_nonfinite_skipped_and_counted() -> None:
    c = converter()
    for value in ("NaN", "Infinity", "-Infinity"):
        line = c.convert(["h", "", "metrics", T, value, "", "", "", "", "5"])
        assert point(line).fields == (("ts_id", "integer", 5),)
        assert point(line).tags == (("host", "h"), ("measure_name", "metrics"))  # empty dimension: no tag
    assert c.stats.nonfinite_skipped == 3
    assert len(c.stats.examples["nonfinite_skipped"]) == 3


def test_a_full_row_with_nan_falls_back_to_skipping_the_value() -> None:
    c = converter()
    line = c.convert(["h", "r", "metrics", T, "NaN", "1", "true", "x", T, "2"])
    assert [f[0] for f in point(line).fields] == ["n", "ok", "note", "seen", "ts_id"]
    assert c.stats.nonfinite_skipped == 1 and c.stats.fields == 5


def test_rows_without_fields_and_unwritable_rows_are_reported_not_dropped_silently() -> None:
    c = converter()
    assert c.convert(["h", "r", "metrics", T, None, None, None, None, None, None]) is None
    assert c.convert(["h", "r", "metrics", T, "NaN", "", "", "", "", ""]) is None
    assert c.convert(["h\\", "r", "metrics", T, "1", "", "", "", "", ""]) is None
    assert c.convert(["h", "r", "metrics", T, "not-a-number", "", "", "", "", ""]) is None
    s = c.stats
    assert (s.rows, s.lines, s.rows_without_fields, s.unwritable_rows) == (4, 0, 2, 2)
    assert "backslash" in s.examples["unwritable_rows"][0]["reason"]
    assert s.examples["rows_without_fields"][0]["host"] == "h"


def test_overlong_strings_skipped_and_reported() -> None:
    cols = classify_columns(MULTI)
    plan = build_table_plan("metrics", cols, settings())
    c = RowConverter(plan, [x.name for x in cols], max_string_bytes=10)
    line = c.convert(["h", "r", "metrics", T, "", "", "", "x" * 11, "", "1"])
    assert point(line).fields == (("ts_id", "integer", 1),)
    assert c.stats.overlong_skipped == 1 and "11 bytes" in c.stats.examples["overlong_skipped"][0]["reason"]


def test_single_measure_field_named_after_measure_name() -> None:
    c = converter(SINGLE)
    lines = [c.convert(["s 1", "temp", T, "21.5", None, None, None]),
             c.convert(["s 1", "count", T, None, "3", None, None]),
             c.convert(["s 1", "state", T, None, None, "on", None]),
             c.convert(["s 1", "_flag", T, None, None, None, "false"])]
    fields = [point(line).fields[0] for line in lines]
    assert fields == [("temp", "float", 21.5), ("count", "integer", 3), ("state", "string", "on"),
                      ("ts_flag", "boolean", False)]
    assert {point(line).measurement for line in lines} == {"metrics"}
    assert point(lines[0]).tags == (("sensor", "s 1"),)
    assert c.plan.renamed == {"_flag": "ts_flag"}


def test_single_measure_measurement_mode() -> None:
    c = converter(SINGLE, single_measure_mode="measurement")
    p = point(c.convert(["s1", "temp c", T, "21.5", None, None, None]))
    assert (p.measurement, p.fields) == ("temp c", (("value", "float", 21.5),))
    assert c.measurements == {"temp c"}


def test_multi_measure_name_dropped() -> None:
    c = converter(multi_measure_name="drop")
    assert point(c.convert(["h", "r", "metrics", T, "1", "", "", "", "", ""])).tags == (("host", "h"), ("region", "r"))


def test_typed_rows_from_parquet() -> None:
    c = converter(typed=True)
    p = point(c.convert(["h", None, "metrics", T_NS, 0.0, 0, False, "", 5, None]))
    assert p.fields == (("cpu", "float", 0.0), ("n", "integer", 0), ("ok", "boolean", False), ("seen", "integer", 5))
    assert p.time_ns == T_NS


def test_series_key_cached_once_per_series() -> None:
    c = converter()
    out, rows = [], []
    batch = [[f"h{i % 3}", "r", "metrics", T, str(i), "", "", "", "", ""] for i in range(300)]
    c.convert_many(batch, out, rows)
    assert len(out) == 300 and rows == batch and len(c._series) == 3


def test_decode_matches_the_line_and_leaves_stats_alone() -> None:
    c = converter()
    row = ["h", "r", "metrics", T, "1.5", "2", "", "", "", ""]
    decoded = c.decode(row)
    assert decoded == {"measurement": "metrics", "tags": {"host": "h", "measure_name": "metrics", "region": "r"},
                       "fields": {"cpu": ("float", 1.5), "n": ("integer", 2)}, "time": T_NS}
    assert c.stats.rows == 0
    assert parse_line(c.convert(row)) == decoded


# --- partitions, owners, options ----------------------------------------------------------------
def test_partitions_cover_the_range_once_aligned() -> None:
    parts = plan_partitions("t", 90 * 10**9, 7300 * 10**9, 3600)
    assert [(p.start, p.end) for p in parts] == [(90 * 10**9, 3600 * 10**9), (3600 * 10**9, 7200 * 10**9),
                                                 (7200 * 10**9, 7300 * 10**9)]


def test_each_partition_has_exactly_one_host() -> None:
    parts = [p.id for t in ("a", "b", "c") for p in plan_partitions(t, 0, 400 * 86400 * 10**9, 86400)]
    for hosts in (1, 2, 3, 7):
        owners = [partition_owner(pid, hosts) for pid in parts]
        assert all(0 <= o < hosts for o in owners)
        assert set(owners) == set(range(hosts))


def test_options_parse_and_validate() -> None:
    assert parse_partition_size("6h") == 21600 and parse_partition_size("90") == 90
    assert parse_time_option("2024-01-02", "time_from") == 1704153600000000000
    assert parse_time_option("17", "time_from") == 17
    with pytest.raises(MigrationError, match="time_to"):
        parse_time_option("soon", "time_to")
    with pytest.raises(MigrationError, match="partition_size"):
        parse_partition_size("1y")
    s = settings_from_params({"database": "db", "url": "http://x", "org": "o"})
    with pytest.raises(MigrationError, match="token, bucket"):
        s.validate()
    with pytest.raises(MigrationError, match="host_index"):
        MigrationSettings(database="db", output_file="x", host_index=2, host_count=2).validate()


def test_progress_file_is_atomic_and_bound_to_its_settings(tmp_path) -> None:
    path = str(tmp_path / "p.json")
    store = ProgressStore(path, "abc")
    store.record("t/0-1", {"status": "done", "rows": 3})
    assert ProgressStore(path, "abc").done("t/0-1") == {"status": "done", "rows": 3}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(MigrationError, match="other settings"):
        ProgressStore(path, "def")
    assert ProgressStore(path, "def", restart=True).done("t/0-1") is None


def test_fingerprint_ignores_the_time_range_but_not_the_mapping() -> None:
    base = settings()
    assert base.fingerprint() == settings(time_from=5, time_to=9).fingerprint()
    assert base.fingerprint() != settings(measurements={"t": "m"}).fingerprint()


def test_report_table_reads() -> None:
    report = new_report(settings(), "migrate")
    report["tables"]["t"] = {"partitions": 2, "source_rows": 5, "rows": 5, "fields": 9, "verified": "yes"}
    text = report_table(report)
    assert "t " in text and "verified" in text


# --- writer retry rules ---------------------------------------------------------------------------
def test_retry_delay_honours_retry_after_else_jittered_backoff() -> None:
    rng = random.Random(1)
    assert retry_delay(0, 0.5, 30, "3", rng) == 3.0
    delays = [retry_delay(n, 0.5, 4, None, rng) for n in range(8)]
    assert all(0 <= d <= min(4, 0.5 * 2**n) for n, d in enumerate(delays))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def scripted_influx() -> Iterator[tuple[str, list, list]]:
    """A local HTTP server answering /api/v2/write with the scripted (status, headers, body) in order."""
    script: list[tuple[int, dict, bytes]] = []
    seen: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Encoding"] == "gzip"
            seen.append(gzip.decompress(body))
            status, headers, payload = script.pop(0) if script else (204, {}, b"")
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script, seen
    finally:
        server.shutdown()
        server.server_close()


def _writer(url: str, sleeps: list) -> InfluxWriter:
    s = MigrationSettings(database="db", url=url, token="t", org="o", bucket="b", max_retries=3)
    return InfluxWriter(s, sleep=sleeps.append)


def test_writer_retries_429_and_5xx_honouring_retry_after(scripted_influx) -> None:
    url, script, seen = scripted_influx
    script += [(429, {"Retry-After": "2"}, b""), (503, {}, b""), (204, {}, b"")]
    sleeps: list[float] = []
    _writer(url, sleeps).write(["m f=1i 1", "m f=2i 2"])
    assert len(seen) == 3 and seen[-1] == b"m f=1i 1\nm f=2i 2\n"
    assert sleeps[0] == 2.0 and len(sleeps) == 2


def test_writer_gives_up_after_max_retries(scripted_influx) -> None:
    url, script, _seen = scripted_influx
    script += [(500, {}, b"boom")] * 4
    with pytest.raises(MigrationError, match="after 4 attempts"):
        _writer(url, []).write(["m f=1i 1"])


def test_writer_stops_on_4xx_with_the_offending_line(scripted_influx) -> None:
    url, script, seen = scripted_influx
    body = json.dumps({"code": "invalid", "message": "partial write: unable to parse 'm f=oops 2': invalid number"})
    script.append((400, {"Content-Type": "application/json"}, body.encode()))
    with pytest.raises(BatchRejected) as err:
        _writer(url, []).write(["m f=1i 1", "m f=oops 2"])
    assert err.value.status == 400 and err.value.line_index == 1 and len(seen) == 1


def test_find_offending_line_for_a_field_type_conflict() -> None:
    msg = 'partial write: field type conflict: input field "f" on measurement "m x" is type integer, already ' \
          'exists as type float dropped=1'
    assert find_offending_line(msg, ["a f=1 1", "m\\ x,h=1 g=1,f=2i 2"]) == 1


# --- reading ------------------------------------------------------------------------------------
def test_page_rows_maps_null_values() -> None:
    cols, rows = page_rows({"ColumnInfo": [{"Name": "a", "Type": {"ScalarType": "BIGINT"}}],
                            "Rows": [{"Data": [{"ScalarValue": "1"}]}, {"Data": [{"NullValue": True}]}]})
    assert cols == [("a", "BIGINT")] and rows == [["1"], [None]]


def test_read_unload_csv_by_manifest_and_metadata(tmp_path) -> None:
    rows = [["h,1", "metrics", T, 'q"\\', ""], ["h2", "metrics", T, "x", "1.5"]]
    buf = io.StringIO()
    csv.writer(buf, escapechar="\\", lineterminator="\n").writerows([["host", "measure_name", "time", "note", "cpu"]]
                                                                    + rows)
    data = tmp_path / "results" / "q_1.csv.gz"
    data.parent.mkdir()
    data.write_bytes(gzip.compress(buf.getvalue().encode()))
    (tmp_path / "q_x_manifest.json").write_text(json.dumps({
        "result_files": [{"url": str(data), "file_metadata": {"row_count": 2}}],
        "query_metadata": {"result_format": "CSV", "total_row_count": 2}}))
    (tmp_path / "q_x_metadata.json").write_text(json.dumps({"ColumnInfo": [
        {"Name": n, "Type": {"ScalarType": "VARCHAR"}} for n in ("host", "measure_name", "time", "note", "cpu")]}))
    chunks = list(read_unload(str(tmp_path / "q_x_manifest.json"), lambda u: open(u, "rb")))
    assert chunks == [(["host", "measure_name", "time", "note", "cpu"], rows)]


def test_read_unload_parquet_typed(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"host": ["h"], "time": pa.array([T_NS], pa.timestamp("ns")), "n": pa.array([2**62], pa.int64()),
                      "cpu": [0.1], "ok": [False]})
    pq.write_table(table, tmp_path / "r_1.parquet", compression="gzip")
    (tmp_path / "m_manifest.json").write_text(json.dumps({
        "result_files": [{"url": str(tmp_path / "r_1.parquet")}], "query_metadata": {"result_format": "PARQUET"}}))
    chunks = list(read_unload(str(tmp_path / "m_manifest.json"), lambda u: open(u, "rb")))
    assert chunks == [(["host", "time", "n", "cpu", "ok"], [["h", T_NS, 2**62, 0.1, False]])]


def test_parse_annotated_csv_types_and_crlf() -> None:
    text = ("#datatype,string,long,double,string,boolean\r\n#group,false,false,false,true,false\r\n"
            "#default,_result,,,,\r\n,result,table,_value,_field,b\r\n,,0,1.5,\"a\r\nb\",true\r\n\r\n")
    (rec,) = parse_annotated_csv(text)
    assert (rec["table"], rec["_value"], rec["_field"], rec["b"]) == (0, 1.5, "a\nb", True)


def test_flux_string_escapes() -> None:
    assert flux_string('a"b\\c${x}') == '"a\\"b\\\\c\\${x}"'
