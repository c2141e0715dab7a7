"""Timestream for LiveAnalytics' Write API in the sandbox (boto3 as the client): databases and
tables with AWS's name rules, WriteRecords' validation and RejectedRecords as the AWS API model
shapes them, versions, and tags."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.sandbox

WRITE_MODEL = (
    boto3.session.Session()
    .client("timestream-write", region_name="us-east-1")
    .meta.service_model
)


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def write(aws_sandbox):
    return aws_sandbox.client("timestream-write")


@pytest.fixture
def table(write):
    db = _name("db")
    tbl = _name("tbl")
    write.create_database(DatabaseName=db)
    write.create_table(
        DatabaseName=db,
        TableName=tbl,
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": 24,
            "MagneticStoreRetentionPeriodInDays": 7,
        },
    )
    yield db, tbl
    write.delete_table(DatabaseName=db, TableName=tbl)
    write.delete_database(DatabaseName=db)


def _now_ms() -> int:
    return time.time_ns() // 10**6


def _record(t_ms: int, value: str = "1.5", **extra):
    record = {
        "Dimensions": [{"Name": "host", "Value": "h1"}],
        "MeasureName": "cpu",
        "MeasureValue": value,
        "MeasureValueType": "DOUBLE",
        "Time": str(t_ms),
    }
    record.update(extra)
    return record


def _model_check(shape_name: str, value: dict) -> None:
    """``value`` against a shape of the botocore model: members, types, required members."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(value, WRITE_MODEL.shape_for(shape_name))
    assert not report.has_errors(), report.generate_report()


def _rejected(excinfo) -> list[dict]:
    err = excinfo.value.response
    _model_check(
        "RejectedRecordsException",
        {"Message": err["Error"]["Message"], "RejectedRecords": err["RejectedRecords"]},
    )
    assert err["Error"]["Code"] == "RejectedRecordsException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 419
    shape = WRITE_MODEL.shape_for("RejectedRecord")
    for entry in err["RejectedRecords"]:
        assert set(entry) <= set(shape.members)
        assert isinstance(entry["RecordIndex"], int) and entry["Reason"]
    return err["RejectedRecords"]


# ---------------------------------------------------------------- databases and tables
@pytest.mark.parametrize("name", ["ab", "x" * 257, "bad name", "bad/name"])
def test_database_and_table_names_refused_as_aws_does(write, name):
    with pytest.raises(ClientError) as e:
        write.create_database(DatabaseName=name)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    db = _name("db")
    write.create_database(DatabaseName=db)
    try:
        with pytest.raises(ClientError) as e:
            write.create_table(DatabaseName=db, TableName=name)
        assert e.value.response["Error"]["Code"] == "ValidationException"
    finally:
        write.delete_database(DatabaseName=db)


def test_database_table_lifecycle_shapes_and_conflicts(write):
    db = _name("db")
    created = write.create_database(
        DatabaseName=db, Tags=[{"Key": "team", "Value": "ons"}]
    )["Database"]
    _model_check("Database", created)
    assert created["DatabaseName"] == db and created["TableCount"] == 0
    with pytest.raises(ClientError) as e:
        write.create_database(DatabaseName=db)
    assert e.value.response["Error"]["Code"] == "ConflictException"
    table = write.create_table(DatabaseName=db, TableName="t.1-x")["Table"]
    _model_check("Table", table)
    assert table["RetentionProperties"] == {
        "MemoryStoreRetentionPeriodInHours": 6,
        "MagneticStoreRetentionPeriodInDays": 73000,
    }
    assert write.describe_database(DatabaseName=db)["Database"]["TableCount"] == 1
    with pytest.raises(ClientError) as e:
        write.delete_database(DatabaseName=db)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert write.list_tags_for_resource(ResourceARN=created["Arn"])["Tags"] == [
        {"Key": "team", "Value": "ons"}
    ]
    write.tag_resource(ResourceARN=table["Arn"], Tags=[{"Key": "a", "Value": "b"}])
    assert write.list_tags_for_resource(ResourceARN=table["Arn"])["Tags"] == [
        {"Key": "a", "Value": "b"}
    ]
    write.untag_resource(ResourceARN=table["Arn"], TagKeys=["a"])
    assert write.list_tags_for_resource(ResourceARN=table["Arn"])["Tags"] == []
    names = [t["TableName"] for t in write.list_tables(DatabaseName=db)["Tables"]]
    assert names == ["t.1-x"]
    write.delete_table(DatabaseName=db, TableName="t.1-x")
    with pytest.raises(ClientError) as e:
        write.describe_table(DatabaseName=db, TableName="t.1-x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    write.delete_database(DatabaseName=db)


def test_list_databases_pages(write):
    names = [_name("page") for _ in range(3)]
    for n in names:
        write.create_database(DatabaseName=n)
    try:
        seen, kwargs = [], {"MaxResults": 2}
        while True:
            page = write.list_databases(**kwargs)
            assert len(page["Databases"]) <= 2
            seen += [d["DatabaseName"] for d in page["Databases"]]
            if "NextToken" not in page:
                break
            kwargs["NextToken"] = page["NextToken"]
        assert set(names) <= set(seen) and len(seen) == len(set(seen))
    finally:
        for n in names:
            write.delete_database(DatabaseName=n)


# ---------------------------------------------------------------- WriteRecords
def test_write_counts_and_memory_store_window(write, table):
    db, tbl = table
    now = _now_ms()
    answer = write.write_records(
        DatabaseName=db, TableName=tbl, Records=[_record(now), _record(now - 1000)]
    )
    assert answer["RecordsIngested"] == {
        "Total": 2,
        "MemoryStore": 2,
        "MagneticStore": 0,
    }
    too_old = now - 25 * 3600 * 1000  # memory store keeps 24 h; magnetic writes are off
    too_new = now + 16 * 60 * 1000  # more than 15 minutes ahead
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db,
            TableName=tbl,
            Records=[_record(now - 2000), _record(too_old), _record(too_new)],
        )
    rejected = _rejected(e)
    assert [r["RecordIndex"] for r in rejected] == [1, 2]
    assert all("outside the time range" in r["Reason"] for r in rejected)


def test_magnetic_store_writes_accept_old_records(write, table):
    db, tbl = table
    write.update_table(
        DatabaseName=db,
        TableName=tbl,
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    old = _now_ms() - 3 * 86400 * 1000
    answer = write.write_records(DatabaseName=db, TableName=tbl, Records=[_record(old)])
    assert answer["RecordsIngested"] == {
        "Total": 1,
        "MemoryStore": 0,
        "MagneticStore": 1,
    }
    with pytest.raises(ClientError) as e:  # the magnetic store keeps 7 days
        write.write_records(
            DatabaseName=db, TableName=tbl, Records=[_record(old - 8 * 86400 * 1000)]
        )
    assert [r["RecordIndex"] for r in _rejected(e)] == [0]


def test_record_rules(write, table):
    db, tbl = table
    now = _now_ms()
    bad = [
        _record(now, "not-a-number"),
        _record(
            now,
            "5",
            MeasureValueType="BIGINT",
            MeasureName="n",
            Dimensions=[{"Name": "time", "Value": "x"}],
        ),
        _record(now, "maybe", MeasureValueType="BOOLEAN", MeasureName="b"),
        _record(now, "1.5", MeasureValueType="BIGINT", MeasureName="n2"),
        _record(
            now,
            "1",
            Dimensions=[{"Name": "host", "Value": "a"}, {"Name": "host", "Value": "b"}],
        ),
        {"MeasureName": "m", "MeasureValueType": "MULTI", "Time": str(now)},
        {
            "MeasureName": "m",
            "MeasureValueType": "MULTI",
            "Time": str(now),
            "MeasureValue": "1",
        },
        _record(now, "1", MeasureName="m" * 257),
        _record(now, "1_000"),
        _record(now, " 5", MeasureValueType="BIGINT", MeasureName="n"),
        _record(now, "nan"),
        _record(now, "1e400"),
        _record(now, "2", Time=f"{now}.5"),
        _record(now, "1", Dimensions=[{"Name": "ts_host", "Value": "a"}]),
        _record(now, "1", Dimensions=[{"Name": "a:b", "Value": "a"}]),
        _record(now, "1", Dimensions=[{"Name": "d" * 61, "Value": "a"}]),
        _record(now, "1", Dimensions=[{"Name": "big", "Value": "v" * 2100}]),
        _record(now, "1", Dimensions=[{"Name": "measure_value", "Value": "a"}]),
    ]
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db, TableName=tbl, Records=[_record(now), *bad]
        )
    assert [r["RecordIndex"] for r in _rejected(e)] == list(range(1, len(bad) + 1))


def test_model_validation_before_records(write, table):
    db, tbl = table
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db, TableName=tbl, Records=[_record(_now_ms())] * 101
        )
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_version_semantics(write, table):
    db, tbl = table
    now = _now_ms()
    write.write_records(DatabaseName=db, TableName=tbl, Records=[_record(now, "1.0")])
    # the same values again: accepted
    write.write_records(DatabaseName=db, TableName=tbl, Records=[_record(now, "1.0")])
    # different value, same version: rejected with the existing version
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db, TableName=tbl, Records=[_record(now, "2.0")]
        )
    assert _rejected(e) == [
        {
            "RecordIndex": 0,
            "Reason": e.value.response["RejectedRecords"][0]["Reason"],
            "ExistingVersion": 1,
        }
    ]
    # a higher version upserts
    write.write_records(
        DatabaseName=db, TableName=tbl, Records=[_record(now, "2.0", Version=2)]
    )
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db, TableName=tbl, Records=[_record(now, "3.0", Version=2)]
        )
    assert _rejected(e)[0]["ExistingVersion"] == 2


def test_measure_type_fixed_per_measure_name(write, table):
    db, tbl = table
    now = _now_ms()
    write.write_records(DatabaseName=db, TableName=tbl, Records=[_record(now)])
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db,
            TableName=tbl,
            Records=[_record(now - 5, "7", MeasureValueType="BIGINT")],
        )
    assert [r["RecordIndex"] for r in _rejected(e)] == [0]


def test_common_attributes_merge(write, table):
    db, tbl = table
    now = _now_ms()
    answer = write.write_records(
        DatabaseName=db,
        TableName=tbl,
        CommonAttributes={
            "Dimensions": [{"Name": "region", "Value": "eu"}],
            "MeasureValueType": "DOUBLE",
            "Time": str(now),
            "TimeUnit": "MILLISECONDS",
        },
        Records=[
            {
                "Dimensions": [{"Name": "host", "Value": "a"}],
                "MeasureName": "cpu",
                "MeasureValue": "1",
            },
            {
                "Dimensions": [{"Name": "host", "Value": "b"}],
                "MeasureName": "cpu",
                "MeasureValue": "2",
            },
        ],
    )
    assert answer["RecordsIngested"]["Total"] == 2


def test_unknown_table_and_database(write, table):
    db, _ = table
    with pytest.raises(ClientError) as e:
        write.write_records(
            DatabaseName=db, TableName="missing", Records=[_record(_now_ms())]
        )
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        write.describe_database(DatabaseName="missing_db")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_describe_endpoints_both_services(aws_sandbox):
    for service in ("timestream-write", "timestream-query"):
        endpoints = aws_sandbox.client(service).describe_endpoints()["Endpoints"]
        assert (
            endpoints
            and endpoints[0]["CachePeriodInMinutes"] > 0
            and endpoints[0]["Address"]
        )


def test_operations_not_served_answer_aws_shaped_errors(aws_sandbox):
    """What neither the sandbox nor moto serves is an AWS-shaped JSON error, never an HTML page."""
    no_retry = Config(retries={"max_attempts": 1})
    write = aws_sandbox.client("timestream-write", config=no_retry)
    query = aws_sandbox.client("timestream-query", config=no_retry)
    for call in (
        write.list_batch_load_tasks,
        query.describe_account_settings,
        query.list_scheduled_queries,
        lambda: query.prepare_query(QueryString="SELECT 1"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "NotImplementedException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert "does not implement" in e.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("operation", "params", "path"),
    [
        (
            "create_table",
            {
                "DatabaseName": "db_model",
                "TableName": "tbl",
                "RetentionProperties": {
                    "MemoryStoreRetentionPeriodInHours": 0,
                    "MagneticStoreRetentionPeriodInDays": 1,
                },
            },
            "RetentionProperties.MemoryStoreRetentionPeriodInHours",
        ),
        (
            "create_table",
            {
                "DatabaseName": "db_model",
                "TableName": "tbl",
                "RetentionProperties": {
                    "MemoryStoreRetentionPeriodInHours": 1,
                    "MagneticStoreRetentionPeriodInDays": 73001,
                },
            },
            "RetentionProperties.MagneticStoreRetentionPeriodInDays",
        ),
        (
            "write_records",
            {
                "DatabaseName": "db_model",
                "TableName": "tbl",
                "Records": [{"MeasureName": "m", "MeasureValue": "x" * 2049}],
            },
            "Records.1.member.MeasureValue",
        ),
    ],
)
def test_model_constraints_as_aws_words_them(aws_sandbox, operation, params, path):
    """Constraints the botocore model states (ranges, lengths) come back as AWS words them, naming
    the member. The client's own validation is off so the request reaches the sandbox."""
    write = aws_sandbox.client(
        "timestream-write", config=Config(parameter_validation=False)
    )
    with pytest.raises(ClientError) as e:
        getattr(write, operation)(**params)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert (
        f"at '{path}' failed to satisfy constraint"
        in e.value.response["Error"]["Message"]
    )


def test_databases_are_regional(aws_sandbox, table):
    db, tbl = table
    eu_write = aws_sandbox.client("timestream-write", region="eu-west-1")
    eu_query = aws_sandbox.client("timestream-query", region="eu-west-1")
    with pytest.raises(ClientError) as e:
        eu_write.describe_table(DatabaseName=db, TableName=tbl)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        eu_query.query(QueryString=f'SELECT * FROM "{db}"."{tbl}"')
    assert e.value.response["Error"]["Code"] == "ValidationException"
