"""Shared data and helpers of the timestream_migrate tests: tables written through the sandbox's
Timestream Write API (one multi-measure, one single-measure, every type and escape case), and a run of
the engine against the sandbox InfluxDB."""

from __future__ import annotations

import time
import uuid
from typing import Any

BASE_MS = (time.time_ns() // 10**6) // 3_600_000 * 3_600_000 - 3 * 3_600_000  # 3 h ago, on the hour

#: the dimensions of each table (the engine reads them with DESCRIBE; the CLI tests also pass them as --dimensions)
DIMENSIONS = {"metrics": ["host", "region"], "readings": ["sensor"]}

#: dimension values that need escaping (space, comma, equals, inner backslash, quote, unicode)
HOSTS = ["web 1", "db,2", "k=v", "a\\b", 'q"t', "ünï"]
NOTES = ['say "hi"', "back\\slash", "comma, space = eq", "line\nbreak", "ünïcødé ✓", "tab\there", "x"]
BIGINTS = [0, -1, 2**53 + 1, -(2**63), 2**63 - 1, 42, 7]
DOUBLES = ["1.5", "-0.0", "1e-300", "1.7976931348623157e+308", "0.1", "123456789.123456789", "3"]


def multi_records(count: int) -> list[dict[str, Any]]:
    """Multi-measure records (measure_name 'metrics'), one every 5 s across 3 hours, mixed types."""
    out = []
    for i in range(count):
        t_ms = BASE_MS + i * (3 * 3_600_000 // count)
        measures = [
            {"Name": "cpu", "Value": DOUBLES[i % len(DOUBLES)], "Type": "DOUBLE"},
            {"Name": "mem", "Value": str(BIGINTS[i % len(BIGINTS)]), "Type": "BIGINT"},
            {"Name": "ok", "Value": "true" if i % 2 else "false", "Type": "BOOLEAN"},
            {"Name": "note", "Value": NOTES[i % len(NOTES)], "Type": "VARCHAR"},
            {"Name": "seen", "Value": str(BASE_MS + i), "Type": "TIMESTAMP"},
            {"Name": "_id", "Value": str(i), "Type": "BIGINT"},
        ]
        if i % 5 == 0:
            measures = [m for m in measures if m["Name"] != "cpu"]  # a NULL measure
        out.append({
            "Dimensions": [{"Name": "host", "Value": HOSTS[i % len(HOSTS)]},
                           {"Name": "region", "Value": f"eu-{i % 3}"}],
            "MeasureName": "metrics", "MeasureValueType": "MULTI", "MeasureValues": measures,
            "Time": str(t_ms + i % 1000), "TimeUnit": "MILLISECONDS",
        })
    return out


def single_records(count: int) -> list[dict[str, Any]]:
    """Single-measure records: four measure names of four types."""
    kinds = [("temp", "DOUBLE", lambda i: f"{20 + i / 7:.6f}"), ("count", "BIGINT", lambda i: str(i * 1000)),
             ("state", "VARCHAR", lambda i: f'st "{i % 3}"'), ("flag", "BOOLEAN", lambda i: "true" if i % 3 else "false")]
    out = []
    for i in range(count):
        name, type_, value = kinds[i % 4]
        out.append({
            "Dimensions": [{"Name": "sensor", "Value": f"s {i % 4}"}],
            "MeasureName": name, "MeasureValue": value(i), "MeasureValueType": type_,
            "Time": str(BASE_MS * 1000 + (i // 4) * (3 * 3_600_000_000 // count) * 4 + 3), "TimeUnit": "MICROSECONDS",
        })
    return out


def create_tables(write: Any, multi: int = 300, single: int = 200) -> tuple[str, dict[str, int]]:
    """A database with tables 'metrics' (multi-measure) and 'readings' (single-measure); returns its name
    and the record count of each table."""
    db = f"mig_{uuid.uuid4().hex[:8]}"
    write.create_database(DatabaseName=db)
    retention = {"MemoryStoreRetentionPeriodInHours": 24, "MagneticStoreRetentionPeriodInDays": 7}
    counts = {}
    for table, records in (("metrics", multi_records(multi)), ("readings", single_records(single))):
        write.create_table(DatabaseName=db, TableName=table, RetentionProperties=retention)
        for i in range(0, len(records), 100):
            resp = write.write_records(DatabaseName=db, TableName=table, Records=records[i:i + 100])
            assert resp["RecordsIngested"]["Total"] == len(records[i:i + 100]), resp
        counts[table] = len(records)
    return db, counts
