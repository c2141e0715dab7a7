"""Amazon Timestream for LiveAnalytics for the sandbox: timestream-write and timestream-query's
``Query`` (UNLOAD included), one store shared by both.

Both services speak JSON with the target prefix ``Timestream_20181101`` and sign as
``timestream``; AWS tells them apart by host only. The front (``app.py``) asks
``LiveAnalyticsApp.handles`` whether an operation is ours: every operation of both services but
the scheduled-query ones moto implements (create, describe, update, delete, and tags of their
ARNs). Of ours, the batch-load tasks, scheduled-query listing/execution, PrepareQuery and the
account settings are answered with an AWS-shaped 501 ``NotImplementedException`` (moto would
answer them with an HTML 500 page).

* Input is validated against the botocore shapes (``validation.py``), plus what AWS checks beyond
  the model: database/table names of 3-256 characters, WriteRecords' record rules (time inside the
  memory store's retention, or the magnetic store's when magnetic writes are enabled, and at most
  15 minutes ahead; measure values parsed by type; reserved and duplicate names; one type per
  measure name; MULTI records with MeasureValues), answered as AWS does: the valid records are
  stored and the others come back in ``RejectedRecordsException.RejectedRecords``.
* Records are identified by (dimensions, measure name, time): a write of the same values again is
  accepted as a no-op, different values need a higher ``Version`` (an upsert), else the record is
  rejected with ``ExistingVersion``.
* Queries run for real over the stored records (``timestream_liveanalytics_query.py``).
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws import timestream_influxdb
from sandbox.aws.timestream_influxdb import _snake
from sandbox.aws.validation import format_errors, service_model, validate_input

TARGET_PREFIX = "Timestream_20181101"
WRITE = "timestream-write"
QUERY = "timestream-query"

# Operations this backend answers; everything else of the target prefix goes to moto.
WRITE_OPERATIONS = frozenset(
    {
        "CreateDatabase",
        "DeleteDatabase",
        "DescribeDatabase",
        "ListDatabases",
        "UpdateDatabase",
        "CreateTable",
        "DeleteTable",
        "DescribeTable",
        "ListTables",
        "UpdateTable",
        "WriteRecords",
    }
)
QUERY_OPERATIONS = frozenset({"Query", "CancelQuery"})
TAG_OPERATIONS = frozenset({"ListTagsForResource", "TagResource", "UntagResource"})
SERVED_OPERATIONS = (
    WRITE_OPERATIONS | QUERY_OPERATIONS | TAG_OPERATIONS | {"DescribeEndpoints"}
)
# What moto 5.2.5 answers well for these services (scheduled queries; tags of their ARNs).
MOTO_OPERATIONS = frozenset(
    {
        "CreateScheduledQuery",
        "DeleteScheduledQuery",
        "DescribeScheduledQuery",
        "UpdateScheduledQuery",
    }
)

DEFAULT_RETENTION = {
    "MemoryStoreRetentionPeriodInHours": 6,
    "MagneticStoreRetentionPeriodInDays": 73000,
}
FUTURE_LIMIT_NS = (
    15 * 60 * 10**9
)  # records may be at most 15 minutes ahead of the service's clock
MAX_VARCHAR_BYTES = 2048
NAME_MIN, NAME_MAX = 3, 256
LIST_MAX_RESULTS = 20
TIME_UNIT_NS = {
    "MILLISECONDS": 10**6,
    "SECONDS": 10**9,
    "MICROSECONDS": 10**3,
    "NANOSECONDS": 1,
}
# Column names of the table model: no dimension or measure may take them.
# (the Dimension naming constraints: reserved names and prefixes, no colon, 60 bytes).
RESERVED_NAMES = ("time", "measure_name", "measure_value")
RESERVED_PREFIXES = ("measure_value", "ts_")
DIMENSION_NAME_MAX = 60
MEASURE_NAME_MAX = 256
SERIES_KEY_MAX = 2048  # dimension names and values of a series, in bytes
MAX_DIMENSIONS = 128  # per table
MAX_MEASURE_NAMES = 8192  # per table
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SCALAR_TYPES = ("DOUBLE", "BIGINT", "VARCHAR", "BOOLEAN", "TIMESTAMP")
# HTTP statuses of the errors, from the Timestream API reference (the model carries none).
ERROR_STATUS = {
    "ValidationException": 400,
    "SerializationException": 400,
    "QueryExecutionException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ServiceQuotaExceededException": 402,
    "RejectedRecordsException": 419,
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "NotImplementedException": 501,  # the sandbox's own: an operation it does not serve
}


class ApiError(timestream_influxdb.ApiError):
    """An AWS error of Timestream for LiveAnalytics: its statuses, ``Message`` capitalized."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(code, message, **extra)
        self.status = ERROR_STATUS.get(code, 400)

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "Message": self.message, **self.extra}


def validation_error(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def now_ns() -> int:
    return time.time_ns()


def iso(ns: int) -> str:
    """Nanoseconds since the epoch as Timestream's messages write times (ISO 8601, UTC)."""
    secs, rem = divmod(ns, 10**9)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rem // 10**6:03d}Z"
    )


# ---------------------------------------------------------------------------- the store
@dataclass
class StoredRecord:
    dimensions: dict[str, str]
    measure_name: str
    time_ns: int
    measure_type: str  # a scalar type or MULTI
    values: dict[str, tuple[str, Any]]  # column -> (type, python value)
    version: int


@dataclass
class Table:
    database: str
    name: str
    arn: str
    retention: dict[str, int]
    magnetic: dict[str, Any]
    schema: dict[str, Any]
    created: float
    updated: float
    records: dict[tuple[Any, ...], StoredRecord] = field(default_factory=dict)
    dimension_order: list[str] = field(default_factory=list)
    measure_types: dict[str, str] = field(
        default_factory=dict
    )  # measure name -> type / MULTI
    column_types: dict[str, str] = field(
        default_factory=dict
    )  # value column -> scalar type
    generation: int = 0  # bumped by every change of the records
    # (generation, Arrow table in the table model) kept by the query engine; lives and dies with
    # the table, so a new table can never be answered from an old one's copy
    arrow_cache: tuple[int, Any] | None = None
    oldest_ns: int | None = (
        None  # the earliest record time, to tell cheaply when to expire
    )

    def expire(self, now: int) -> None:
        """Delete what the magnetic store's retention no longer keeps (data ages from the memory
        store into the magnetic store, and out of it after MagneticStoreRetentionPeriodInDays;
        shortening the retention deletes older data at once, as on AWS)."""
        cutoff = (
            now - self.retention["MagneticStoreRetentionPeriodInDays"] * 86400 * 10**9
        )
        if self.oldest_ns is None or self.oldest_ns >= cutoff:
            return
        self.records = {k: r for k, r in self.records.items() if r.time_ns >= cutoff}
        self.oldest_ns = min((r.time_ns for r in self.records.values()), default=None)
        self.generation += 1

    def describe(self) -> dict[str, Any]:
        return {
            "Arn": self.arn,
            "TableName": self.name,
            "DatabaseName": self.database,
            "TableStatus": "ACTIVE",
            "RetentionProperties": copy.deepcopy(self.retention),
            "CreationTime": self.created,
            "LastUpdatedTime": self.updated,
            "MagneticStoreWriteProperties": copy.deepcopy(self.magnetic),
            "Schema": copy.deepcopy(self.schema),
        }


@dataclass
class Database:
    name: str
    arn: str
    kms_key_id: str
    created: float
    updated: float
    tables: dict[str, Table] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "Arn": self.arn,
            "DatabaseName": self.name,
            "TableCount": len(self.tables),
            "KmsKeyId": self.kms_key_id,
            "CreationTime": self.created,
            "LastUpdatedTime": self.updated,
        }


def _check_name(kind: str, name: str) -> None:
    size = len(name.encode())
    if not NAME_MIN <= size <= NAME_MAX:
        raise validation_error(
            f"{kind} name '{name}' must be between {NAME_MIN} and {NAME_MAX} bytes long."
        )


def _token(scope: str, after: list[str]) -> str:
    return base64.urlsafe_b64encode(
        json.dumps({"s": scope, "a": after}).encode()
    ).decode()


def _page(
    items: list[dict[str, Any]], p: dict[str, Any], scope: str, key: tuple[str, ...]
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of ``items`` in the order of ``key`` (their names). The token holds the last key
    returned, not an offset, so resources created or deleted between pages shift nothing."""
    max_results = p.get("MaxResults") or LIST_MAX_RESULTS
    if not 1 <= max_results <= LIST_MAX_RESULTS:
        raise validation_error(f"MaxResults must be between 1 and {LIST_MAX_RESULTS}.")
    ordered = sorted(items, key=lambda item: [item[k] for k in key])
    if p.get("NextToken"):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(p["NextToken"].encode()))
            if decoded["s"] != scope:
                raise ValueError(scope)
            after = [str(v) for v in decoded["a"]]
        except Exception:  # noqa: BLE001 - any malformed token
            raise validation_error("The NextToken is invalid.") from None
        ordered = [item for item in ordered if [item[k] for k in key] > after]
    page = ordered[:max_results]
    more = len(ordered) > max_results
    return page, _token(scope, [page[-1][k] for k in key]) if more else None


class LiveAnalyticsBackend:
    """All accounts and regions; thread-safe (one lock: the sandbox is small)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.databases: dict[tuple[str, str], dict[str, Database]] = {}
        self.tags: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ lookup
    def _dbs(self, account: str, region: str) -> dict[str, Database]:
        return self.databases.setdefault((account, region), {})

    def database(self, account: str, region: str, name: str) -> Database:
        db = self._dbs(account, region).get(name)
        if db is None:
            raise ApiError(
                "ResourceNotFoundException", f"The database {name} does not exist."
            )
        return db

    def table(self, account: str, region: str, db_name: str, name: str) -> Table:
        db = self.database(account, region, db_name)
        table = db.tables.get(name)
        if table is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"The table {name} does not exist in database {db_name}.",
            )
        return table

    # ------------------------------------------------------------------ databases
    def create_database(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        name = p["DatabaseName"]
        _check_name("Database", name)
        self._check_tags(p.get("Tags"))
        with self.lock:
            dbs = self._dbs(account, region)
            if name in dbs:
                raise ApiError(
                    "ConflictException", f"The database {name} already exists."
                )
            now = time.time()
            arn = f"arn:aws:timestream:{region}:{account}:database/{name}"
            db = Database(
                name=name,
                arn=arn,
                kms_key_id=p.get("KmsKeyId")
                or f"arn:aws:kms:{region}:{account}:key/timestream-default",
                created=now,
                updated=now,
            )
            dbs[name] = db
            self.tags[arn] = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
            return {"Database": db.describe()}

    def describe_database(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            return {
                "Database": self.database(account, region, p["DatabaseName"]).describe()
            }

    def update_database(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            db = self.database(account, region, p["DatabaseName"])
            db.kms_key_id = p["KmsKeyId"]
            db.updated = time.time()
            return {"Database": db.describe()}

    def delete_database(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            db = self.database(account, region, p["DatabaseName"])
            if db.tables:
                raise validation_error(
                    f"The database {db.name} cannot be deleted: it still has "
                    f"{len(db.tables)} table(s). Delete the tables first."
                )
            del self._dbs(account, region)[db.name]
            self.tags.pop(db.arn, None)
            return {}

    def list_databases(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            items = [db.describe() for db in self._dbs(account, region).values()]
        page, token = _page(items, p, "databases", ("DatabaseName",))
        return {"Databases": page, **({"NextToken": token} if token else {})}

    # ------------------------------------------------------------------ tables
    def create_table(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        name = p["TableName"]
        _check_name("Table", name)
        self._check_tags(p.get("Tags"))
        with self.lock:
            db = self.database(account, region, p["DatabaseName"])
            if name in db.tables:
                raise ApiError(
                    "ConflictException",
                    f"The table {name} already exists in database {db.name}.",
                )
            now = time.time()
            table = Table(
                database=db.name,
                name=name,
                arn=f"{db.arn}/table/{name}",
                retention=dict(p.get("RetentionProperties") or DEFAULT_RETENTION),
                magnetic=dict(
                    p.get("MagneticStoreWriteProperties")
                    or {"EnableMagneticStoreWrites": False}
                ),
                schema=p.get("Schema")
                or {
                    "CompositePartitionKey": [
                        {"Type": "MEASURE", "EnforcementInRecord": "OPTIONAL"}
                    ]
                },
                created=now,
                updated=now,
            )
            db.tables[name] = table
            self.tags[table.arn] = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
            return {"Table": table.describe()}

    def describe_table(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            return {
                "Table": self.table(
                    account, region, p["DatabaseName"], p["TableName"]
                ).describe()
            }

    def update_table(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            table = self.table(account, region, p["DatabaseName"], p["TableName"])
            if p.get("RetentionProperties"):
                table.retention = dict(p["RetentionProperties"])
            if p.get("MagneticStoreWriteProperties"):
                table.magnetic = dict(p["MagneticStoreWriteProperties"])
            if p.get("Schema"):
                table.schema = p["Schema"]
            table.updated = time.time()
            return {"Table": table.describe()}

    def delete_table(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            db = self.database(account, region, p["DatabaseName"])
            table = self.table(account, region, p["DatabaseName"], p["TableName"])
            del db.tables[table.name]
            self.tags.pop(table.arn, None)
            return {}

    def list_tables(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            if p.get("DatabaseName"):
                dbs = [self.database(account, region, p["DatabaseName"])]
            else:
                dbs = list(self._dbs(account, region).values())
            items = [t.describe() for db in dbs for t in db.tables.values()]
        page, token = _page(
            items,
            p,
            f"tables:{p.get('DatabaseName', '')}",
            ("DatabaseName", "TableName"),
        )
        return {"Tables": page, **({"NextToken": token} if token else {})}

    # ------------------------------------------------------------------ tags
    @staticmethod
    def _check_tags(tags: list[dict[str, str]] | None) -> None:
        timestream_influxdb.check_tag_keys([t["Key"] for t in tags or ()])

    def _tagged(self, account: str, region: str, arn: str) -> dict[str, str]:
        m = re.fullmatch(
            r"arn:aws:timestream:([^:]+):([^:]+):database/([^/]+)(?:/table/([^/]+))?",
            arn,
        )
        if m is None or m.group(1) != region or m.group(2) != account:
            raise ApiError(
                "ResourceNotFoundException", f"The resource {arn} does not exist."
            )
        if m.group(4):
            self.table(account, region, m.group(3), m.group(4))
        else:
            self.database(account, region, m.group(3))
        return self.tags.setdefault(arn, {})

    def list_tags_for_resource(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            tags = self._tagged(account, region, p["ResourceARN"])
            return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def tag_resource(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        self._check_tags(p["Tags"])
        with self.lock:
            tags = self._tagged(account, region, p["ResourceARN"])
            merged = {**tags, **{t["Key"]: t["Value"] for t in p["Tags"]}}
            if len(merged) > 200:
                raise ApiError(
                    "ServiceQuotaExceededException",
                    "A resource can have at most 200 tags.",
                )
            tags.update(merged)
            return {}

    def untag_resource(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            tags = self._tagged(account, region, p["ResourceARN"])
            for key in p["TagKeys"]:
                tags.pop(key, None)
            return {}

    # ------------------------------------------------------------------ records
    def write_records(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        common = p.get("CommonAttributes") or {}
        rejected: list[dict[str, Any]] = []
        stored = {"MemoryStore": 0, "MagneticStore": 0}
        with self.lock:
            table = self.table(account, region, p["DatabaseName"], p["TableName"])
            now = now_ns()
            for index, raw in enumerate(p["Records"]):
                try:
                    record = _build_record(_merge(common, raw))
                    store = _check_window(table, record.time_ns, now)
                    if _apply(table, record):
                        stored[store] += 1
                except RecordRejected as e:
                    entry: dict[str, Any] = {"RecordIndex": index, "Reason": e.reason}
                    if e.existing_version is not None:
                        entry["ExistingVersion"] = e.existing_version
                    rejected.append(entry)
        if rejected:
            raise ApiError(
                "RejectedRecordsException",
                "One or more records have been rejected. See RejectedRecords for details.",
                RejectedRecords=rejected,
            )
        return {
            "RecordsIngested": {
                "Total": stored["MemoryStore"] + stored["MagneticStore"],
                **stored,
            }
        }

    # ------------------------------------------------------------------ for queries
    def tables_of(self, account: str, region: str) -> dict[tuple[str, str], Table]:
        with self.lock:
            return {
                (db.name, t.name): t
                for db in self._dbs(account, region).values()
                for t in db.tables.values()
            }


class RecordRejected(Exception):
    def __init__(self, reason: str, existing_version: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.existing_version = existing_version


def _merge(common: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """CommonAttributes under the record: the record's own attributes win; dimensions add up (a
    dimension named in both is an error)."""
    merged = {**common, **record}
    dims = list(common.get("Dimensions") or [])
    names = {d["Name"] for d in dims}
    for d in record.get("Dimensions") or []:
        if d["Name"] in names:
            raise RecordRejected(
                f"Dimension '{d['Name']}' is present in both CommonAttributes and the record."
            )
        dims.append(d)
    merged["Dimensions"] = dims
    return merged


def _check_column_name(kind: str, name: str) -> None:
    """Timestream's naming constraints for dimension names (and multi-measure attributes, which
    become columns beside them)."""
    lowered = name.lower()
    if lowered in RESERVED_NAMES or lowered.startswith(RESERVED_PREFIXES):
        raise RecordRejected(f"{kind} name '{name}' is reserved.")
    if ":" in name:
        raise RecordRejected(f"{kind} name '{name}' must not contain ':'.")
    if len(name.encode()) > DIMENSION_NAME_MAX:
        raise RecordRejected(
            f"{kind} name '{name}' exceeds {DIMENSION_NAME_MAX} bytes."
        )


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _parse_value(kind: str, value: str, time_unit: str) -> Any:
    """A measure value as the Write API parses it, or RecordRejected. Only plain decimal
    notation is a number (Python's int()/float() would also take '1_000', ' 5' or 'nan')."""
    if kind in ("BIGINT", "TIMESTAMP") and not _INTEGER.fullmatch(value):
        raise RecordRejected(f"Measure value '{value}' is not a valid {kind}.")
    if kind == "DOUBLE" and not _DECIMAL.fullmatch(value):
        raise RecordRejected(f"Measure value '{value}' is not a valid {kind}.")
    try:
        if kind == "DOUBLE":
            number = float(value)
            if math.isnan(number) or math.isinf(number):
                raise ValueError(value)
            return number
        if kind == "BIGINT":
            number = int(value)
            if not INT64_MIN <= number <= INT64_MAX:
                raise ValueError(value)
            return number
        if kind == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind == "TIMESTAMP":
            return int(value) * TIME_UNIT_NS[time_unit]
        if kind == "VARCHAR":
            if len(value.encode()) > MAX_VARCHAR_BYTES:
                raise ValueError(value)
            return value
    except ValueError:
        pass
    raise RecordRejected(f"Measure value '{value}' is not a valid {kind}.")


def _build_record(r: dict[str, Any]) -> StoredRecord:
    dims: dict[str, str] = {}
    for d in r.get("Dimensions") or []:
        _check_column_name("Dimension", d["Name"])
        if d["Name"] in dims:
            raise RecordRejected(f"Dimension '{d['Name']}' is given more than once.")
        if d["Value"] == "":
            raise RecordRejected(f"Dimension '{d['Name']}' has an empty value.")
        dims[d["Name"]] = d["Value"]
    name = r.get("MeasureName")
    if not name:
        raise RecordRejected("MeasureName is required.")
    if len(name.encode()) > MEASURE_NAME_MAX:
        raise RecordRejected(f"Measure name '{name}' exceeds {MEASURE_NAME_MAX} bytes.")
    if sum(len(k.encode()) + len(v.encode()) for k, v in dims.items()) > SERIES_KEY_MAX:
        raise RecordRejected(
            f"The dimension names and values of the record exceed {SERIES_KEY_MAX} bytes."
        )
    if "Time" not in r:
        raise RecordRejected("Time is required.")
    unit = r.get("TimeUnit") or "MILLISECONDS"
    if not _INTEGER.fullmatch(r["Time"]):
        raise RecordRejected(f"Time '{r['Time']}' is not an integer.")
    time_ns = int(r["Time"]) * TIME_UNIT_NS[unit]
    kind = r.get("MeasureValueType") or "DOUBLE"
    values: dict[str, tuple[str, Any]] = {}
    if kind == "MULTI":
        if r.get("MeasureValue") is not None:
            raise RecordRejected(
                "MeasureValue must not be set for a MULTI record; use MeasureValues."
            )
        if not r.get("MeasureValues"):
            raise RecordRejected("MeasureValues is required for a MULTI record.")
        for mv in r["MeasureValues"]:
            _check_column_name("Measure", mv["Name"])
            if mv["Type"] == "MULTI":
                raise RecordRejected(f"Measure '{mv['Name']}' cannot be of type MULTI.")
            if mv["Name"] in values or mv["Name"] in dims:
                raise RecordRejected(f"Measure '{mv['Name']}' is given more than once.")
            values[mv["Name"]] = (
                mv["Type"],
                _parse_value(mv["Type"], mv["Value"], unit),
            )
    else:
        if r.get("MeasureValues"):
            raise RecordRejected(
                "MeasureValues is only allowed with MeasureValueType MULTI."
            )
        if r.get("MeasureValue") is None:
            raise RecordRejected("MeasureValue is required.")
        column = f"measure_value::{kind.lower()}"
        values[column] = (kind, _parse_value(kind, r["MeasureValue"], unit))
    return StoredRecord(
        dimensions=dims,
        measure_name=name,
        time_ns=time_ns,
        measure_type=kind,
        values=values,
        version=int(r.get("Version") or 1),
    )


def _check_window(table: Table, time_ns: int, now: int) -> str:
    """Which store takes a record at ``time_ns``: the memory store within its retention, the
    magnetic store (when the table enables magnetic writes) within its own; else rejected."""
    memory_start = (
        now - table.retention["MemoryStoreRetentionPeriodInHours"] * 3600 * 10**9
    )
    end = now + FUTURE_LIMIT_NS
    if time_ns >= end:
        raise RecordRejected(
            f"The record timestamp is outside the time range [{iso(memory_start)}, {iso(end)}) "
            "of the data ingestion window."
        )
    if time_ns >= memory_start:
        return "MemoryStore"
    if table.magnetic.get("EnableMagneticStoreWrites"):
        magnetic_start = (
            now - table.retention["MagneticStoreRetentionPeriodInDays"] * 86400 * 10**9
        )
        if time_ns >= magnetic_start:
            return "MagneticStore"
        memory_start = magnetic_start
    raise RecordRejected(
        f"The record timestamp is outside the time range [{iso(memory_start)}, {iso(end)}) "
        "of the data ingestion window."
    )


def _apply(table: Table, record: StoredRecord) -> bool:
    """Store ``record`` in ``table`` with the Write API's rules; True when it counts as ingested."""
    known = table.measure_types.get(record.measure_name)
    if known is not None and known != record.measure_type:
        raise RecordRejected(
            f"Measure name '{record.measure_name}' already has type {known} in this table; "
            f"{record.measure_type} was given."
        )
    for column, (kind, _) in record.values.items():
        if column in table.dimension_order:
            raise RecordRejected(
                f"Measure '{column}' has the name of a dimension of this table."
            )
        have = table.column_types.get(column)
        if have is not None and have != kind:
            raise RecordRejected(
                f"Measure '{column}' already has type {have} in this table; {kind} was given."
            )
    for dim in record.dimensions:
        if dim in table.column_types:
            raise RecordRejected(
                f"Dimension '{dim}' has the name of a measure of this table."
            )
    new_dims = [d for d in record.dimensions if d not in table.dimension_order]
    if len(table.dimension_order) + len(new_dims) > MAX_DIMENSIONS:
        raise RecordRejected(f"A table can have at most {MAX_DIMENSIONS} dimensions.")
    if known is None and len(table.measure_types) >= MAX_MEASURE_NAMES:
        raise RecordRejected(
            f"A table can have at most {MAX_MEASURE_NAMES} measure names."
        )
    key = (
        tuple(sorted(record.dimensions.items())),
        record.measure_name,
        record.time_ns,
    )
    existing = table.records.get(key)
    if existing is not None:
        if existing.values == record.values:
            existing.version = max(existing.version, record.version)
            return True
        if record.version <= existing.version:
            raise RecordRejected(
                "A record with the same dimensions, measure name and time but a different measure "
                f"value already exists with version {existing.version}; write a higher version to "
                "update it.",
                existing_version=existing.version,
            )
    table.measure_types[record.measure_name] = record.measure_type
    for column, (kind, _) in record.values.items():
        table.column_types.setdefault(column, kind)
    for dim in record.dimensions:
        if dim not in table.dimension_order:
            table.dimension_order.append(dim)
    table.records[key] = record
    table.generation += 1
    if table.oldest_ns is None or record.time_ns < table.oldest_ns:
        table.oldest_ns = record.time_ns
    return True


# ---------------------------------------------------------------------------- the app
class LiveAnalyticsApp:
    """Turns JSON-protocol requests of timestream-write and timestream-query into calls."""

    def __init__(self, backend: LiveAnalyticsBackend | None = None) -> None:
        from sandbox.aws.timestream_liveanalytics_query import QueryEngine

        self.backend = backend or LiveAnalyticsBackend()
        self.queries = QueryEngine(self.backend)

    @staticmethod
    def handles(operation: str, body: bytes) -> bool:
        """Whether the front should send this ``Timestream_20181101`` request here (else moto)."""
        if operation in WRITE_OPERATIONS or operation in QUERY_OPERATIONS:
            return True
        if operation == "DescribeEndpoints":
            return True
        if operation in TAG_OPERATIONS:
            try:
                arn = json.loads(body or b"{}").get("ResourceARN", "")
            except ValueError:
                return False
            return ":database/" in str(arn)
        # moto answers the scheduled-query operations it implements; anything else gets an
        # AWS-shaped error from us rather than moto's HTML 500 page.
        return operation not in MOTO_OPERATIONS

    def handle(
        self, operation: str, body: bytes, account: str, region: str, host: str = ""
    ) -> tuple[int, dict[str, Any]]:
        try:
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise ApiError(
                    "SerializationException", "The request body is not valid JSON."
                ) from None
            if not isinstance(params, dict):
                raise ApiError(
                    "SerializationException", "The request body must be a JSON object."
                )
            if operation not in SERVED_OPERATIONS:
                known = set(service_model(WRITE).operation_names) | set(
                    service_model(QUERY).operation_names
                )
                if operation in known:
                    raise ApiError(
                        "NotImplementedException",
                        f"The sandbox does not implement {operation} of Timestream for "
                        "LiveAnalytics.",
                    )
                raise ApiError(
                    "UnknownOperationException", f"Unknown operation {operation}"
                )
            service = QUERY if operation in QUERY_OPERATIONS else WRITE
            errors = validate_input(service, operation, params)
            if errors:
                raise validation_error(format_errors(errors))
            if operation == "DescribeEndpoints":
                return 200, {
                    "Endpoints": [
                        {"Address": host or "localhost", "CachePeriodInMinutes": 1440}
                    ]
                }
            if operation in QUERY_OPERATIONS:
                target: Callable[[str, str, dict[str, Any]], dict[str, Any]] = getattr(
                    self.queries, _snake(operation)
                )
            else:
                target = getattr(self.backend, _snake(operation))
            return 200, target(account, region, params)
        except timestream_influxdb.ApiError as e:
            return e.status, e.body()
        except Exception as e:  # noqa: BLE001 - answer as AWS does, keep the trace in the log
            import traceback

            traceback.print_exc()
            return 500, {
                "__type": "InternalServerException",
                "Message": f"Internal error: {e}",
            }


# The operations of both services' models, checked at import: a new botocore that adds an
# operation we claim but do not know fails loudly here rather than answering wrongly.
assert WRITE_OPERATIONS <= set(service_model(WRITE).operation_names)
assert QUERY_OPERATIONS <= set(service_model(QUERY).operation_names)
