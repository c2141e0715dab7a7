"""Timestream for LiveAnalytics' Query API in the sandbox (boto3 as the client): records written
through the Write API come back exactly (every type, NULLs, single- and multi-measure tables,
nanosecond times), in Timestream's response shape, paged by MaxRows/NextToken with every row once;
time windows, bin() and COUNT(*); unsupported SQL refused with a ValidationException."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.client import query_all_rows, write_liveanalytics_records

pytestmark = pytest.mark.sandbox

QUERY_MODEL = (
    boto3.session.Session()
    .client("timestream-query", region_name="us-east-1")
    .meta.service_model
)
T0_MS = 1704067200000  # 2024-01-01T00:00:00Z
HOSTS = ("h1", "h2", 'h,3 "x"')


def _ts(ms: int, extra_ns: int = 0) -> str:
    from sandbox.aws.timestream_liveanalytics_query import render_time

    return render_time(ms * 10**6 + extra_ns)


@pytest.fixture(scope="module")
def clients(aws_sandbox):
    return aws_sandbox.client("timestream-write"), aws_sandbox.client(
        "timestream-query"
    )


@pytest.fixture(scope="module")
def seeded(clients):
    """A database with a single-measure table (one measure name per type) and a multi-measure
    table (an attribute of each type, some left out: NULL), in 2024: magnetic writes enabled."""
    write, _ = clients
    db = f"db_{uuid.uuid4().hex[:8]}"
    write.create_database(DatabaseName=db)
    for table in ("single", "multi"):
        write.create_table(
            DatabaseName=db,
            TableName=table,
            RetentionProperties={
                "MemoryStoreRetentionPeriodInHours": 1,
                "MagneticStoreRetentionPeriodInDays": 73000,
            },
            MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
        )
    single, expected_single = [], []
    values = {
        "DOUBLE": ("d", lambda i: str(i * 0.25 - 3), lambda i: repr(i * 0.25 - 3)),
        "BIGINT": ("n", lambda i: str(2**62 + i), lambda i: str(2**62 + i)),
        "VARCHAR": ("s", lambda i: f'v,{i} "q"\n', lambda i: f'v,{i} "q"\n'),
        "BOOLEAN": (
            "b",
            lambda i: "true" if i % 2 else "false",
            lambda i: "true" if i % 2 else "false",
        ),
        "TIMESTAMP": ("t", lambda i: str(T0_MS + i), lambda i: _ts(T0_MS + i)),
    }
    for i in range(30):
        for kind, (name, make, shown) in values.items():
            host = HOSTS[i % 3]
            single.append(
                {
                    "Dimensions": [{"Name": "host", "Value": host}],
                    "MeasureName": name,
                    "MeasureValue": make(i),
                    "MeasureValueType": kind,
                    "Time": str(T0_MS + i * 60_000),
                }
            )
            expected_single.append(
                (host, name, _ts(T0_MS + i * 60_000), kind, shown(i))
            )
    multi, expected_multi = [], []
    for i in range(40):
        measures = [
            {"Name": "temp", "Value": str(20 + i / 8), "Type": "DOUBLE"},
            {"Name": "count", "Value": str(-i), "Type": "BIGINT"},
            {"Name": "ok", "Value": "true", "Type": "BOOLEAN"},
            {"Name": "note", "Value": f"n{i}", "Type": "VARCHAR"},
            {
                "Name": "seen",
                "Value": str((T0_MS + i) * 10**6 + 7),
                "Type": "TIMESTAMP",
            },
        ]
        if i % 4 == 0:
            measures = measures[:2]  # ok, note, seen: NULL
        multi.append(
            {
                "Dimensions": [
                    {"Name": "region", "Value": "eu"},
                    {"Name": "site", "Value": f"s{i % 2}"},
                ],
                "MeasureName": "env",
                "MeasureValueType": "MULTI",
                "MeasureValues": measures,
                "Time": str((T0_MS + i * 1000) * 10**6 + 123456789 % 10**6),
                "TimeUnit": "NANOSECONDS",
            }
        )
        expected_multi.append(i)
    assert write_liveanalytics_records(write, db, "single", single) == len(single)
    assert write_liveanalytics_records(write, db, "multi", multi) == len(multi)
    return db, expected_single, expected_multi


def _values(rows):
    return [
        [d.get("ScalarValue") if not d.get("NullValue") else None for d in r["Data"]]
        for r in rows
    ]


def _model_check(answer):
    """The answer against the Query output shape of the botocore model: members, types, required
    members, every ScalarType in the model's enum; every row as wide as ColumnInfo."""
    from botocore.validate import ParamValidator

    body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(
        body, QUERY_MODEL.operation_model("Query").output_shape
    )
    assert not report.has_errors(), report.generate_report()
    scalar_types = set(QUERY_MODEL.shape_for("ScalarType").enum)

    def types(column_type):
        if "ScalarType" in column_type:
            yield column_type["ScalarType"]
        if "ArrayColumnInfo" in column_type:
            yield from types(column_type["ArrayColumnInfo"]["Type"])
        for member in column_type.get("RowColumnInfo", []):
            yield from types(member["Type"])

    for column in answer["ColumnInfo"]:
        assert set(types(column["Type"])) <= scalar_types
    for row in answer["Rows"]:
        assert len(row["Data"]) == len(answer["ColumnInfo"])
        for datum in row["Data"]:
            assert len(datum) == 1


def _check_shape(answer):
    _model_check(answer)
    assert answer["QueryId"] and answer["QueryStatus"]["ProgressPercentage"] == 100.0
    for column in answer["ColumnInfo"]:
        assert set(column) == {"Name", "Type"} and set(column["Type"]) == {"ScalarType"}
    for row in answer["Rows"]:
        for datum in row["Data"]:
            assert set(datum) in ({"ScalarValue"}, {"NullValue"})


def test_single_measure_table_every_type(clients, seeded):
    _, query = clients
    db, expected, _ = seeded
    answer = query.query(
        QueryString=f'SELECT * FROM "{db}"."single" ORDER BY time, measure_name'
    )
    _check_shape(answer)
    columns = [(c["Name"], c["Type"]["ScalarType"]) for c in answer["ColumnInfo"]]
    assert columns == [
        ("host", "VARCHAR"),
        ("measure_name", "VARCHAR"),
        ("time", "TIMESTAMP"),
        ("measure_value::double", "DOUBLE"),
        ("measure_value::bigint", "BIGINT"),
        ("measure_value::varchar", "VARCHAR"),
        ("measure_value::boolean", "BOOLEAN"),
        ("measure_value::timestamp", "TIMESTAMP"),
    ]
    column_of = {"DOUBLE": 3, "BIGINT": 4, "VARCHAR": 5, "BOOLEAN": 6, "TIMESTAMP": 7}
    got = _values(answer["Rows"])
    want = []
    for host, name, at, kind, shown in sorted(expected, key=lambda e: (e[2], e[1])):
        row = [host, name, at, None, None, None, None, None]
        row[column_of[kind]] = shown
        want.append(row)
    assert got == want


def test_multi_measure_table_nulls_and_nanoseconds(clients, seeded):
    _, query = clients
    db, _, expected = seeded
    answer = query.query(
        QueryString=f"SELECT region, site, time, temp, count, ok, note, seen FROM {db}.multi ORDER BY time"
    )
    _check_shape(answer)
    assert [c["Type"]["ScalarType"] for c in answer["ColumnInfo"]] == [
        "VARCHAR",
        "VARCHAR",
        "TIMESTAMP",
        "DOUBLE",
        "BIGINT",
        "BOOLEAN",
        "VARCHAR",
        "TIMESTAMP",
    ]
    got = _values(answer["Rows"])
    want = []
    for i in expected:
        full = i % 4 != 0
        want.append(
            [
                "eu",
                f"s{i % 2}",
                _ts(T0_MS + i * 1000, 456789),
                repr(20 + i / 8),
                str(-i),
                "true" if full else None,
                f"n{i}" if full else None,
                _ts(T0_MS + i, 7) if full else None,
            ]
        )
    assert got == want


def test_paging_covers_every_row_once(clients, seeded):
    _, query = clients
    db, expected, _ = seeded
    sql = f'SELECT * FROM "{db}"."single" ORDER BY time, measure_name'
    _, whole = query_all_rows(query, sql)
    pages = []
    params = {"QueryString": sql, "MaxRows": 7}
    query_ids = set()
    while True:
        page = query.query(**params)
        _check_shape(page)
        assert len(page["Rows"]) <= 7
        query_ids.add(page["QueryId"])
        pages.append(page["Rows"])
        if "NextToken" not in page:
            break
        params["NextToken"] = page["NextToken"]
    flat = [r for p in pages for r in p]
    assert flat == whole and len(flat) == len(expected)
    assert all(len(p) == 7 for p in pages[:-1])
    assert len(query_ids) == 1
    assert len({str(r) for r in flat}) == len(flat)


def test_next_token_belongs_to_its_query(clients, seeded):
    _, query = clients
    db, _, _ = seeded
    first = query.query(QueryString=f"SELECT * FROM {db}.single", MaxRows=1)
    with pytest.raises(ClientError) as e:
        query.query(
            QueryString=f"SELECT * FROM {db}.multi",
            MaxRows=1,
            NextToken=first["NextToken"],
        )
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_time_window_count_per_bin(clients, seeded):
    _, query = clients
    db, _, _ = seeded
    sql = (
        f'SELECT bin(time, 10m) AS window_start, COUNT(*) AS n FROM "{db}"."single" '
        "WHERE time BETWEEN from_iso8601_timestamp('2024-01-01T00:05:00Z') "
        "AND from_iso8601_timestamp('2024-01-01T00:24:59.999999999Z') "
        "GROUP BY bin(time, 10m) ORDER BY window_start"
    )
    answer = query.query(QueryString=sql)
    assert [(c["Name"], c["Type"]["ScalarType"]) for c in answer["ColumnInfo"]] == [
        ("window_start", "TIMESTAMP"),
        ("n", "BIGINT"),
    ]
    # minutes 5..24, 5 records per minute
    assert _values(answer["Rows"]) == [
        ["2024-01-01 00:00:00.000000000", "25"],
        ["2024-01-01 00:10:00.000000000", "50"],
        ["2024-01-01 00:20:00.000000000", "25"],
    ]
    count = query.query(
        QueryString=f"SELECT COUNT(*) FROM {db}.single WHERE measure_name = 'd'"
    )
    assert count["ColumnInfo"] == [{"Name": "_col0", "Type": {"ScalarType": "BIGINT"}}]
    assert _values(count["Rows"]) == [["30"]]


def test_ago_and_empty_result(clients, seeded):
    _, query = clients
    db, _, _ = seeded
    answer = query.query(QueryString=f"SELECT * FROM {db}.single WHERE time > ago(1h)")
    assert answer["Rows"] == [] and "NextToken" not in answer
    assert len(answer["ColumnInfo"]) == 8


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM {db}.single",
        "SELECT * FROM {db}.missing",
        "SELECT * FROM read_parquet('x')",
        "SELECT * EXCLUDE (host) FROM {db}.single",
        "SELECT host FROM {db}.single QUALIFY 1 = 1",
        "SELECT measure_value::double FROM {db}.single; SELECT 1",
        "SELECT approx_percentile(measure_value::double, 0.5) FROM {db}.single",
        "SELECT nosuchcolumn FROM {db}.single",
        "SELECT host::varchar FROM {db}.single",
        "SELECT time FROM {db}.single WHERE time > from_iso8601_timestamp(host)",
        "SELECT host.lower() FROM {db}.single",
        "SELECT host, count(*) FROM {db}.single GROUP BY ALL",
        "SELECT host FROM {db}.single LIMIT 10%",
        "SELECT [1, 2]",
        "SELECT concat(host, 'x') FROM {db}.single",
        "SELECT * FROM {db}.single WHERE time > from_iso8601_timestamp('2024-13-01T00:00:00Z')",
        "SELECT 1d",
        "SELECT host FROM {db}.single LIMIT 5 OFFSET 5",
    ],
)
def test_unsupported_query_refused(clients, seeded, sql):
    _, query = clients
    db, _, _ = seeded
    with pytest.raises(ClientError) as e:
        query.query(QueryString=sql.format(db=db))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_cancel_query(clients, seeded):
    _, query = clients
    db, _, _ = seeded
    first = query.query(QueryString=f"SELECT * FROM {db}.single", MaxRows=1)
    assert query.cancel_query(QueryId=first["QueryId"])["CancellationMessage"]
    with pytest.raises(ClientError):
        query.query(
            QueryString=f"SELECT * FROM {db}.single",
            MaxRows=1,
            NextToken=first["NextToken"],
        )


def test_request_log_and_faults_cover_liveanalytics(aws_sandbox, seeded):
    """The front logs Timestream for LiveAnalytics requests and injects faults into them, so the
    migration's retries can be tested: one throttled Query, retried by botocore, then answered."""
    db, _, _ = seeded
    key = f"AKIA{uuid.uuid4().hex[:16].upper()}"
    control = aws_sandbox.control
    control.set_faults(
        [
            {
                "service": "timestream",
                "operation": "Query",
                "kind": "throttle",
                "count": 1,
                "access_key": key,
            }
        ]
    )
    try:
        query = aws_sandbox.client("timestream-query", access_key=key)
        answer = query.query(QueryString=f"SELECT COUNT(*) FROM {db}.single")
        assert _values(answer["Rows"]) == [["150"]]
    finally:
        control.clear_faults()
    entries = [
        (e["service"], e["operation"], e["mutating"], e["status"])
        for e in control.requests(key)
    ]
    assert entries[0][:3] == ("timestream", "Query", False) and entries[0][3] >= 400
    assert entries[-1] == ("timestream", "Query", False, 200)


def test_describe_and_show_measures(clients, seeded):
    """The schema queries a migration uses to tell dimensions (tags) from measures (fields)."""
    _, query = clients
    db, _, _ = seeded
    described = query.query(QueryString=f'DESCRIBE "{db}"."multi"')
    _model_check(described)
    assert [c["Name"] for c in described["ColumnInfo"]] == [
        "Column",
        "Type",
        "Timestream attribute type",
    ]
    assert _values(described["Rows"]) == [
        ["region", "varchar", "DIMENSION"],
        ["site", "varchar", "DIMENSION"],
        ["measure_name", "varchar", "MEASURE_NAME"],
        ["time", "timestamp", "TIMESTAMP"],
        ["temp", "double", "MULTI"],
        ["count", "bigint", "MULTI"],
        ["ok", "boolean", "MULTI"],
        ["note", "varchar", "MULTI"],
        ["seen", "timestamp", "MULTI"],
    ]
    single = query.query(QueryString=f"DESCRIBE {db}.single")
    assert [r[2] for r in _values(single["Rows"])] == [
        "DIMENSION",
        "MEASURE_NAME",
        "TIMESTAMP",
    ] + ["MEASURE_VALUE"] * 5
    measures = query.query(QueryString=f"SHOW MEASURES FROM {db}.single LIKE '_'")
    _model_check(measures)
    assert measures["ColumnInfo"][2] == {
        "Name": "dimensions",
        "Type": {
            "ArrayColumnInfo": {
                "Type": {
                    "RowColumnInfo": [
                        {"Name": "dimension_name", "Type": {"ScalarType": "VARCHAR"}},
                        {"Name": "data_type", "Type": {"ScalarType": "VARCHAR"}},
                    ]
                }
            }
        },
    }
    host = {
        "ArrayValue": [
            {
                "RowValue": {
                    "Data": [{"ScalarValue": "host"}, {"ScalarValue": "varchar"}]
                }
            }
        ]
    }
    assert [[d.get("ScalarValue", d) for d in r["Data"]] for r in measures["Rows"]] == [
        ["b", "boolean", host],
        ["d", "double", host],
        ["n", "bigint", host],
        ["s", "varchar", host],
        ["t", "timestamp", host],
    ]
    tables = query.query(QueryString=f"SHOW TABLES FROM {db}")
    assert _values(tables["Rows"]) == [["multi"], ["single"]]
    with pytest.raises(ClientError) as e:
        query.query(QueryString="SHOW TABLES FROM no_such_db_x")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_table_name_and_alias_qualify_columns(clients, seeded):
    _, query = clients
    db, _, _ = seeded
    for sql in (
        f'SELECT single.host FROM "{db}"."single" WHERE single.measure_name = \'d\' ORDER BY time LIMIT 2',
        f"SELECT s.host FROM {db}.single s WHERE s.measure_name = 'd' ORDER BY time LIMIT 2",
        (
            f"SELECT s.host FROM {db}.single AS s JOIN {db}.single AS u ON s.time = u.time "
            "AND s.measure_name = u.measure_name WHERE s.measure_name = 'd' ORDER BY s.time LIMIT 2"
        ),
    ):
        answer = query.query(QueryString=sql)
        assert answer["ColumnInfo"] == [
            {"Name": "host", "Type": {"ScalarType": "VARCHAR"}}
        ]
        assert _values(answer["Rows"]) == [["h1"], ["h2"]]
        assert answer["QueryStatus"]["CumulativeBytesScanned"] > 0


def test_next_token_answers_a_retry_with_the_same_page(clients, seeded):
    """A page asked again with the same NextToken (a retry after a lost answer) is the same page;
    going on from there still covers every row once."""
    _, query = clients
    db, expected, _ = seeded
    sql = f"SELECT * FROM {db}.single ORDER BY time, measure_name"
    first = query.query(QueryString=sql, MaxRows=40)
    second = query.query(QueryString=sql, MaxRows=40, NextToken=first["NextToken"])
    again = query.query(QueryString=sql, MaxRows=40, NextToken=first["NextToken"])
    assert again["Rows"] == second["Rows"] and again["QueryId"] == second["QueryId"]
    rows, page = first["Rows"] + again["Rows"], again
    while "NextToken" in page:
        page = query.query(QueryString=sql, MaxRows=40, NextToken=page["NextToken"])
        rows += page["Rows"]
    assert len(rows) == len(expected) == len({str(r) for r in rows})


def test_recreated_table_answers_its_own_records(clients):
    write, query = clients
    db = f"db_{uuid.uuid4().hex[:8]}"
    write.create_database(DatabaseName=db)
    try:
        for value in ("1.5", "2.5"):
            write.create_table(
                DatabaseName=db,
                TableName="tbl",
                RetentionProperties={
                    "MemoryStoreRetentionPeriodInHours": 1,
                    "MagneticStoreRetentionPeriodInDays": 73000,
                },
                MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
            )
            write.write_records(
                DatabaseName=db,
                TableName="tbl",
                Records=[
                    {
                        "Dimensions": [{"Name": "host", "Value": "h1"}],
                        "MeasureName": "m",
                        "MeasureValue": value,
                        "Time": str(T0_MS),
                    }
                ],
            )
            answer = query.query(
                QueryString=f"SELECT measure_value::double FROM {db}.tbl"
            )
            assert _values(answer["Rows"]) == [[value]]
            write.delete_table(DatabaseName=db, TableName="tbl")
    finally:
        write.delete_database(DatabaseName=db)


def test_long_query_stopped_like_timestream(monkeypatch):
    """Timestream stops a query after 60 s; the sandbox interrupts DuckDB the same way (here after
    half a second, in-process) rather than leaving a request hanging."""
    import json

    from sandbox.aws import timestream_liveanalytics_query
    from sandbox.aws.timestream_liveanalytics import LiveAnalyticsApp

    monkeypatch.setattr(timestream_liveanalytics_query, "QUERY_TIMEOUT", 0.5)
    app = LiveAnalyticsApp()

    def call(operation, **params):
        return app.handle(
            operation, json.dumps(params).encode(), "123456789012", "us-east-1"
        )

    call("CreateDatabase", DatabaseName="slow")
    call(
        "CreateTable",
        DatabaseName="slow",
        TableName="big",
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    for start in range(0, 2000, 100):
        status, _ = call(
            "WriteRecords",
            DatabaseName="slow",
            TableName="big",
            Records=[
                {
                    "Dimensions": [{"Name": "h", "Value": "x"}],
                    "MeasureName": "m",
                    "MeasureValue": str(i),
                    "Time": str(T0_MS + i),
                }
                for i in range(start, start + 100)
            ],
        )
        assert status == 200
    status, body = call(
        "Query",
        QueryString="SELECT count(*) FROM slow.big a, slow.big b, slow.big c "
        "WHERE a.measure_value::double + b.measure_value::double > c.measure_value::double * 1.5",
    )
    assert (status, body["__type"]) == (400, "QueryExecutionException")


def test_shorter_magnetic_retention_deletes_older_records(clients):
    """Records older than the magnetic store's retention are gone, as on AWS when the retention
    of a table is shortened."""
    write, query = clients
    db = f"db_{uuid.uuid4().hex[:8]}"
    write.create_database(DatabaseName=db)
    retention = {
        "MemoryStoreRetentionPeriodInHours": 1,
        "MagneticStoreRetentionPeriodInDays": 7,
    }
    write.create_table(
        DatabaseName=db,
        TableName="aging",
        RetentionProperties=retention,
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    try:
        now_ms = time.time_ns() // 10**6
        days_ago = [0, 2, 5]
        write.write_records(
            DatabaseName=db,
            TableName="aging",
            Records=[
                {
                    "Dimensions": [{"Name": "host", "Value": "h1"}],
                    "MeasureName": "m",
                    "MeasureValue": str(d),
                    "Time": str(now_ms - d * 86_400_000 - 60_000),
                }
                for d in days_ago
            ],
        )
        sql = f"SELECT measure_value::double FROM {db}.aging ORDER BY time"
        assert _values(query.query(QueryString=sql)["Rows"]) == [
            ["5.0"],
            ["2.0"],
            ["0.0"],
        ]
        write.update_table(
            DatabaseName=db,
            TableName="aging",
            RetentionProperties={**retention, "MagneticStoreRetentionPeriodInDays": 1},
        )
        assert _values(query.query(QueryString=sql)["Rows"]) == [["0.0"]]
    finally:
        write.delete_table(DatabaseName=db, TableName="aging")
        write.delete_database(DatabaseName=db)
