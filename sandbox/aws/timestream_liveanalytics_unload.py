"""``UNLOAD (SELECT ...) TO 's3://bucket/prefix/' WITH (...)`` for the sandbox's timestream-query.

Layout written into the sandbox's S3 (moto's backend, in-process), as Timestream documents it:

* result files under ``<prefix>/results/`` (``<prefix>/results/<col>=<value>/...`` per partition
  with ``partitioned_by``; the partition columns are not in the files), named
  ``<QueryId>_<n>_<hash>`` + ``.csv``/``.parquet`` (+ ``.gz`` for gzipped CSV); a file is closed
  when it would pass ``max_file_size``;
* ``<prefix>/<QueryId>_<hash>_manifest.json``: ``result_files`` (``url``, ``file_metadata``
  {``content_length_in_bytes``, ``row_count``}), ``query_metadata``
  {``total_content_length_in_bytes``, ``total_row_count``, ``result_format``, ``result_version``},
  ``author`` {``name``, ``manifest_file_version``};
* ``<prefix>/<QueryId>_<hash>_metadata.json``: ``ColumnInfo`` (the Query API's shape, partition
  columns included) and ``Author`` {``Name``, ``MetadataFileVersion``}.

CSV: values rendered as the Query API renders them (TIMESTAMP as '2024-01-01 00:00:00.000000000'),
NULL as an empty field, ``field_delimiter`` (default ``,``), ``escaped_by`` (default ``\\``),
``include_header`` (default false); ``compression`` GZIP (default) gzips the file. Parquet
(pyarrow): TIMESTAMP as timestamp[ns], BIGINT int64, DOUBLE float64, BOOLEAN bool, VARCHAR
string; GZIP is the Parquet codec. The Query answer is one row: ``rows`` (BIGINT),
``metadataFile`` and ``manifestFile`` (VARCHAR, s3:// URLs).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.aws.timestream_liveanalytics_query import (
    Result,
    Tok,
    content_hash,
    csv_bytes,
    new_query_id,
    query_error,
    render_scalar,
)

if TYPE_CHECKING:
    from sandbox.aws.timestream_liveanalytics_query import QueryEngine

OPTIONS = {
    "partitioned_by",
    "format",
    "compression",
    "encryption",
    "kms_key",
    "field_delimiter",
    "escaped_by",
    "include_header",
    "max_file_size",
}
MAX_PARTITIONS = 100
FILE_SIZE_MIN = 16 * 1024**2
FILE_SIZE_MAX = 78 * 1024**3
SIZE_UNITS = {"KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _parse(tokens: list[Tok]) -> tuple[list[Tok], str, dict[str, Any]]:
    """(SELECT tokens, s3 URL, options) of an UNLOAD statement."""
    if len(tokens) < 4 or tokens[1].text != "(":
        raise query_error(
            "UNLOAD must be followed by a parenthesized SELECT statement."
        )
    depth = 0
    end = None
    for i in range(1, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    if end is None:
        raise query_error("UNLOAD: unbalanced parentheses.")
    inner = tokens[2:end]
    rest = tokens[end + 1 :]
    if rest and rest[-1].text == ";":
        rest = rest[:-1]
    if len(rest) < 2 or rest[0].text.lower() != "to" or rest[1].kind != "str":
        raise query_error("UNLOAD requires TO 's3://bucket/prefix/'.")
    url = rest[1].string
    options: dict[str, Any] = {}
    rest = rest[2:]
    if rest:
        if (
            rest[0].text.lower() != "with"
            or len(rest) < 3
            or rest[1].text != "("
            or rest[-1].text != ")"
        ):
            raise query_error(
                "UNLOAD options must be given as WITH (option = value, ...)."
            )
        body = rest[2:-1]
        i = 0
        while i < len(body):
            key = body[i].text.lower()
            if key not in OPTIONS:
                raise query_error(f"Unknown UNLOAD option '{body[i].text}'.")
            if key in options:
                raise query_error(f"UNLOAD option '{key}' is given twice.")
            if i + 2 >= len(body) or body[i + 1].text != "=":
                raise query_error(f"UNLOAD option '{key}' needs a value.")
            value_tok = body[i + 2]
            if key == "partitioned_by":
                if (
                    value_tok.text.lower() != "array"
                    or i + 3 >= len(body)
                    or body[i + 3].text != "["
                ):
                    raise query_error("partitioned_by takes ARRAY['column', ...].")
                j = i + 4
                names: list[str] = []
                while j < len(body) and body[j].text != "]":
                    if body[j].kind != "str":
                        raise query_error("partitioned_by takes ARRAY['column', ...].")
                    names.append(body[j].string)
                    j += 1
                    if j < len(body) and body[j].text == ",":
                        j += 1
                if j >= len(body):
                    raise query_error("partitioned_by: missing ']'.")
                options[key] = names
                i = j + 1
            else:
                if value_tok.kind != "str":
                    raise query_error(f"UNLOAD option '{key}' takes a string value.")
                options[key] = value_tok.string
                i += 3
            if i < len(body):
                if body[i].text != ",":
                    raise query_error("UNLOAD options are separated by commas.")
                i += 1
    return inner, url, options


def _size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB)\s*", text, re.IGNORECASE)
    if m is None:
        raise query_error(
            f"max_file_size '{text}' is invalid: use a size such as '16MB' or '10GB'."
        )
    size = int(float(m.group(1)) * SIZE_UNITS[m.group(2).upper()])
    if not FILE_SIZE_MIN <= size <= FILE_SIZE_MAX:
        raise query_error("max_file_size must be between 16MB and 78GB.")
    return size


def _settings(options: dict[str, Any]) -> dict[str, Any]:
    fmt = options.get("format", "CSV").upper()
    if fmt not in ("CSV", "PARQUET"):
        raise query_error(f"format '{options['format']}' is invalid: CSV or PARQUET.")
    compression = options.get("compression", "GZIP").upper()
    if compression not in ("GZIP", "NONE"):
        raise query_error(
            f"compression '{options['compression']}' is invalid: GZIP or NONE."
        )
    encryption = options.get("encryption", "SSE_S3").upper()
    if encryption not in ("SSE_S3", "SSE_KMS"):
        raise query_error(
            f"encryption '{options['encryption']}' is invalid: SSE_S3 or SSE_KMS."
        )
    if encryption == "SSE_KMS" and not options.get("kms_key"):
        raise query_error("kms_key is required with encryption SSE_KMS.")
    if fmt == "PARQUET" and any(
        k in options for k in ("field_delimiter", "escaped_by", "include_header")
    ):
        raise query_error(
            "field_delimiter, escaped_by and include_header apply to the CSV format only."
        )
    delimiter = options.get("field_delimiter", ",")
    escape = options.get("escaped_by", "\\")
    if len(delimiter) != 1 or len(escape) != 1:
        raise query_error("field_delimiter and escaped_by must be single characters.")
    header = options.get("include_header", "false").lower()
    if header not in ("true", "false"):
        raise query_error("include_header must be 'true' or 'false'.")
    return {
        "format": fmt,
        "compression": compression,
        "delimiter": delimiter,
        "escape": escape,
        "header": header == "true",
        "max_size": _size(options["max_file_size"])
        if "max_file_size" in options
        else FILE_SIZE_MAX,
        "partitions": options.get("partitioned_by", []),
    }


def _parquet_bytes(
    names: list[str], kinds: list[str], arrow: Any, compression: str
) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_types = {
        "DOUBLE": pa.float64(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "VARCHAR": pa.string(),
        "BOOLEAN": pa.bool_(),
        "TIMESTAMP": pa.timestamp("ns"),
        "DATE": pa.date32(),
    }
    columns = [
        column.cast(arrow_types[kind])
        for kind, column in zip(kinds, arrow.columns, strict=True)
    ]
    buffer = io.BytesIO()
    pq.write_table(
        pa.table(columns, names=names),
        buffer,
        compression="gzip" if compression == "GZIP" else "none",
    )
    return buffer.getvalue()


def _files(
    names: list[str], kinds: list[str], arrow: Any, settings: dict[str, Any]
) -> list[tuple[bytes, int]]:
    """(file content, row count) of one partition, cut into files of at most max_file_size."""

    def encode(part: Any) -> bytes:
        if settings["format"] == "PARQUET":
            return _parquet_bytes(names, kinds, part, settings["compression"])
        data = csv_bytes(
            names,
            kinds,
            part,
            settings["header"],
            settings["delimiter"],
            settings["escape"],
        )
        return (
            gzip.compress(data, mtime=0) if settings["compression"] == "GZIP" else data
        )

    pending = [arrow]
    done: list[tuple[bytes, int]] = []
    while pending:
        part = pending.pop(0)
        data = encode(part)
        if len(data) <= settings["max_size"] or part.num_rows <= 1:
            done.append((data, part.num_rows))
        else:  # halve until each file fits
            half = part.num_rows // 2
            pending[:0] = [part.slice(0, half), part.slice(half)]
    return done


def _groups(result: Result, part_index: list[int]) -> list[tuple[tuple[Any, ...], Any]]:
    """(partition values, rows) per partition, in order of first appearance."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = result.arrow  # a SELECT's result: always Arrow
    if not part_index:
        return [((), table)]
    keys = list(
        dict.fromkeys(
            zip(*(table.column(i).to_pylist() for i in part_index), strict=True)
        )
    )
    if len(keys) > MAX_PARTITIONS:
        raise query_error(
            f"UNLOAD can write at most {MAX_PARTITIONS} partitions; this query has {len(keys)}."
        )
    groups = []
    for key in keys:
        mask = pa.array([True] * table.num_rows)
        for index, value in zip(part_index, key, strict=True):
            column = table.column(index)
            same = (
                pc.is_null(column)
                if value is None
                else pc.fill_null(pc.equal(column, value), False)
            )
            mask = pc.and_(mask, same)
        groups.append((key, table.filter(mask)))
    return groups


def unload(engine: QueryEngine, account: str, region: str, tokens: list[Tok]) -> Result:
    from moto.backends import get_backend

    inner, url, options = _parse(tokens)
    settings = _settings(options)
    m = re.fullmatch(r"s3://([^/]+)/?(.*)", url)
    if m is None:
        raise query_error(
            f"The S3 location '{url}' is invalid: use s3://bucket/prefix/."
        )
    bucket, prefix = m.group(1), m.group(2)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    s3 = get_backend("s3")[account]["global"]
    try:
        found = s3.get_bucket(bucket)
    except Exception:  # noqa: BLE001 - moto's MissingBucket
        found = None
    if found is None or getattr(found, "region_name", region) != region:
        raise query_error(
            f"The S3 bucket {bucket} does not exist or is not accessible: it must be in the same account "
            "and region as the query."
        )
    result = engine.select(account, region, inner)
    names = [c["Name"] for c in result.columns]
    for name in settings["partitions"]:
        if name not in names:
            raise query_error(
                f"partitioned_by column '{name}' is not in the SELECT list."
            )
    if len(set(names)) != len(names):
        raise query_error("UNLOAD needs distinct column names in the SELECT list.")
    part_index = [names.index(p) for p in settings["partitions"]]
    data_index = [i for i in range(len(names)) if i not in part_index]
    if not data_index:
        raise query_error(
            "UNLOAD needs at least one column that is not a partition column."
        )
    query_id = new_query_id()
    files = []
    number = 0
    kinds = [result.columns[i]["Type"]["ScalarType"] for i in data_index]
    data_names = [names[i] for i in data_index]
    for key, group in _groups(result, part_index):
        if (
            group.num_rows == 0
        ):  # an empty result writes no result file, only manifest and metadata
            continue
        folder = f"{prefix}results/"
        for name, index, value in zip(
            settings["partitions"], part_index, key, strict=True
        ):
            kind = result.columns[index]["Type"]["ScalarType"]
            shown = (
                "__HIVE_DEFAULT_PARTITION__"
                if value is None
                else render_scalar(kind, value)
            )
            folder += f"{name}={quote(shown, safe='')}/"
        suffix = ".parquet" if settings["format"] == "PARQUET" else ".csv"
        if settings["format"] == "CSV" and settings["compression"] == "GZIP":
            suffix += ".gz"
        for data, count in _files(
            data_names, kinds, group.select(data_index), settings
        ):
            number += 1
            object_key = f"{folder}{query_id}_{number}_{content_hash(data)}{suffix}"
            s3.put_object(bucket, object_key, data)
            files.append(
                {
                    "url": f"s3://{bucket}/{object_key}",
                    "file_metadata": {
                        "content_length_in_bytes": len(data),
                        "row_count": count,
                    },
                }
            )
    manifest = {
        "result_files": files,
        "query_metadata": {
            "total_content_length_in_bytes": sum(
                f["file_metadata"]["content_length_in_bytes"] for f in files
            ),
            "total_row_count": len(result),
            "result_format": settings["format"],
            "result_version": "Amazon Timestream version 1.0.0",
        },
        "author": {"name": "Amazon Timestream", "manifest_file_version": "1.0"},
    }
    metadata = {
        "ColumnInfo": result.columns,
        "Author": {"Name": "Amazon Timestream", "MetadataFileVersion": "1.0"},
    }
    tag = content_hash(query_id.encode())
    manifest_key = f"{prefix}{query_id}_{tag}_manifest.json"
    metadata_key = f"{prefix}{query_id}_{tag}_metadata.json"
    s3.put_object(bucket, metadata_key, json.dumps(metadata).encode())
    s3.put_object(bucket, manifest_key, json.dumps(manifest).encode())
    answer = Result(
        columns=[
            {"Name": "rows", "Type": {"ScalarType": "BIGINT"}},
            {"Name": "metadataFile", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "manifestFile", "Type": {"ScalarType": "VARCHAR"}},
        ],
        rows=[
            [
                len(result),
                f"s3://{bucket}/{metadata_key}",
                f"s3://{bucket}/{manifest_key}",
            ]
        ],
    )
    answer.query_id = query_id
    answer.scanned = result.scanned
    return answer
