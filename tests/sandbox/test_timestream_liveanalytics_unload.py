"""Timestream for LiveAnalytics' UNLOAD in the sandbox: result files, manifest and metadata in the
sandbox's S3 in Timestream's layout, CSV (gzip or not) and Parquet, partitioned or not, read back
identical to the Query API's answer for the same SELECT."""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from sandbox.client import query_all_rows, write_liveanalytics_records

pytestmark = pytest.mark.sandbox

T0_MS = 1704067200000


@pytest.fixture(scope="module")
def env(aws_sandbox):
    write = aws_sandbox.client("timestream-write")
    query = aws_sandbox.client("timestream-query")
    s3 = aws_sandbox.client("s3")
    db = f"db_{uuid.uuid4().hex[:8]}"
    bucket = f"unload-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    write.create_database(DatabaseName=db)
    write.create_table(
        DatabaseName=db,
        TableName="metrics",
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": 1,
            "MagneticStoreRetentionPeriodInDays": 73000,
        },
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    records = []
    for i in range(60):
        measures = [
            {"Name": "temp", "Value": str(i / 3), "Type": "DOUBLE"},
            {"Name": "count", "Value": str(2**40 + i), "Type": "BIGINT"},
            {"Name": "note", "Value": f'a,b "{i}"\\', "Type": "VARCHAR"},
            {"Name": "ok", "Value": "false", "Type": "BOOLEAN"},
            {"Name": "seen", "Value": str(T0_MS + i), "Type": "TIMESTAMP"},
        ]
        if i % 5 == 0:
            measures = measures[:1]
        records.append(
            {
                "Dimensions": [{"Name": "site", "Value": f"s{i % 3}"}],
                "MeasureName": "env",
                "MeasureValueType": "MULTI",
                "MeasureValues": measures,
                "Time": str((T0_MS + i * 1000) * 1000 + 1),
                "TimeUnit": "MICROSECONDS",
            }
        )
    write_liveanalytics_records(write, db, "metrics", records)
    return query, s3, db, bucket


SELECT = 'SELECT site, measure_name, time, temp, count, note, ok, seen FROM "{db}"."metrics" ORDER BY time'


def _unload(query, sql):
    answer = query.query(QueryString=sql)
    assert [(c["Name"], c["Type"]["ScalarType"]) for c in answer["ColumnInfo"]] == [
        ("rows", "BIGINT"),
        ("metadataFile", "VARCHAR"),
        ("manifestFile", "VARCHAR"),
    ]
    from botocore.validate import ParamValidator

    model = query.meta.service_model.operation_model("Query").output_shape
    body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    assert not ParamValidator().validate(body, model).has_errors()
    (row,) = answer["Rows"]
    rows, metadata, manifest = (d["ScalarValue"] for d in row["Data"])
    assert answer["QueryId"] in manifest and answer["QueryId"] in metadata
    assert answer["QueryStatus"]["CumulativeBytesScanned"] > 0
    return int(rows), metadata, manifest


def _get(s3, url):
    bucket, key = url[len("s3://") :].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _query_values(query, db):
    columns, rows = query_all_rows(query, SELECT.format(db=db))
    return columns, [[d.get("ScalarValue") for d in r["Data"]] for r in rows]


def _check_manifest(s3, manifest_url, metadata_url, columns, total, fmt, prefix):
    manifest = json.loads(_get(s3, manifest_url))
    metadata = json.loads(_get(s3, metadata_url))
    assert metadata["ColumnInfo"] == columns
    assert metadata["Author"] == {
        "Name": "Amazon Timestream",
        "MetadataFileVersion": "1.0",
    }
    assert manifest["author"] == {
        "name": "Amazon Timestream",
        "manifest_file_version": "1.0",
    }
    assert manifest["query_metadata"]["total_row_count"] == total
    assert manifest["query_metadata"]["result_format"] == fmt
    files = manifest["result_files"]
    assert sum(f["file_metadata"]["row_count"] for f in files) == total
    assert manifest["query_metadata"]["total_content_length_in_bytes"] == sum(
        f["file_metadata"]["content_length_in_bytes"] for f in files
    )
    assert manifest_url.startswith(prefix) and metadata_url.startswith(prefix)
    for f in files:
        assert f["url"].startswith(prefix + "results/")
        assert len(_get(s3, f["url"])) == f["file_metadata"]["content_length_in_bytes"]
    return files


@pytest.mark.parametrize("compression", ["GZIP", "NONE"])
def test_unload_csv_reads_back_as_query(env, compression):
    query, s3, db, bucket = env
    prefix = f"s3://{bucket}/csv-{compression.lower()}/"
    sql = f"UNLOAD ({SELECT.format(db=db)}) TO '{prefix}' WITH (format = 'CSV', compression = '{compression}')"
    rows, metadata, manifest = _unload(query, sql)
    columns, expected = _query_values(query, db)
    assert rows == len(expected) == 60
    files = _check_manifest(s3, manifest, metadata, columns, rows, "CSV", prefix)
    got = []
    for f in files:
        data = _get(s3, f["url"])
        if compression == "GZIP":
            assert f["url"].endswith(".csv.gz")
            data = gzip.decompress(data)
        else:
            assert f["url"].endswith(".csv")
        reader = csv.reader(io.StringIO(data.decode()), escapechar="\\")
        got += [[v if v != "" else None for v in r] for r in reader]
    assert got == expected


def test_unload_parquet_reads_back_as_query(env):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sandbox.aws.timestream_liveanalytics_query import render_scalar

    query, s3, db, bucket = env
    prefix = f"s3://{bucket}/parquet/"
    rows, metadata, manifest = _unload(
        query,
        f"UNLOAD ({SELECT.format(db=db)}) TO '{prefix}' WITH (format = 'PARQUET')",
    )
    columns, expected = _query_values(query, db)
    files = _check_manifest(s3, manifest, metadata, columns, rows, "PARQUET", prefix)
    got = []
    for f in files:
        table = pq.read_table(io.BytesIO(_get(s3, f["url"])))
        assert table.column_names == [c["Name"] for c in columns]
        assert table.schema.field("time").type == pa.timestamp("ns")
        assert table.schema.field("count").type == pa.int64()
        data = []
        for c, column in zip(columns, table.columns, strict=True):
            kind = c["Type"]["ScalarType"]
            if kind == "TIMESTAMP":
                column = column.cast(pa.int64())
            data.append(
                [
                    None if v is None else render_scalar(kind, v)
                    for v in column.to_pylist()
                ]
            )
        got += [list(r) for r in zip(*data, strict=True)]
    assert got == expected


def test_unload_partitioned_by(env):
    query, s3, db, bucket = env
    prefix = f"s3://{bucket}/parts/"
    sql = (
        f"UNLOAD (SELECT time, temp, site FROM {db}.metrics ORDER BY time) TO '{prefix}' "
        "WITH (partitioned_by = ARRAY['site'], format = 'CSV', compression = 'NONE', include_header = 'true')"
    )
    rows, metadata, manifest = _unload(query, sql)
    assert rows == 60
    columns, _ = query_all_rows(
        query, f"SELECT time, temp, site FROM {db}.metrics ORDER BY time"
    )
    files = _check_manifest(s3, manifest, metadata, columns, 60, "CSV", prefix)
    sites = sorted(f["url"].split("/results/")[1].split("/")[0] for f in files)
    assert sites == ["site=s0", "site=s1", "site=s2"]
    for f in files:
        lines = _get(s3, f["url"]).decode().splitlines()
        assert lines[0] == "time,temp" and len(lines) == 21


@pytest.mark.parametrize(
    "tail",
    [
        "TO 's3://no-such-bucket-xyz/p/'",
        "TO '{prefix}' WITH (format = 'JSON')",
        "TO '{prefix}' WITH (max_file_size = '1KB')",
        "TO '{prefix}' WITH (partitioned_by = ARRAY['nope'])",
        "TO '{prefix}' WITH (format = 'PARQUET', include_header = 'true')",
        "TO '{prefix}' WITH (colour = 'red')",
    ],
)
def test_unload_invalid(env, tail):
    query, _, db, bucket = env
    sql = f"UNLOAD (SELECT time, temp FROM {db}.metrics) " + tail.format(
        prefix=f"s3://{bucket}/bad/"
    )
    with pytest.raises(ClientError) as e:
        query.query(QueryString=sql)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_unload_empty_result(env):
    query, s3, db, bucket = env
    prefix = f"s3://{bucket}/empty/"
    sql = f"UNLOAD (SELECT time, temp FROM {db}.metrics WHERE time < from_iso8601_timestamp('2000-01-01')) TO '{prefix}'"
    rows, metadata, manifest = _unload(query, sql)
    assert rows == 0
    columns, _ = query_all_rows(query, f"SELECT time, temp FROM {db}.metrics LIMIT 1")
    assert _check_manifest(s3, manifest, metadata, columns, 0, "CSV", prefix) == []


def test_unload_client_token_is_idempotent(env):
    """botocore sends the same ClientToken when it retries a call: the UNLOAD is not run twice."""
    query, s3, db, bucket = env
    token = uuid.uuid4().hex
    sql = f"UNLOAD (SELECT time, temp FROM {db}.metrics) TO 's3://{bucket}/idem/'"
    first = query.query(QueryString=sql, ClientToken=token)
    again = query.query(QueryString=sql, ClientToken=token)
    assert again["QueryId"] == first["QueryId"] and again["Rows"] == first["Rows"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="idem/")["Contents"]
    assert len([o for o in listed if o["Key"].endswith("_manifest.json")]) == 1
    with pytest.raises(ClientError) as e:
        query.query(QueryString=sql.replace("temp", "count"), ClientToken=token)
    assert e.value.response["Error"]["Code"] == "ValidationException"
