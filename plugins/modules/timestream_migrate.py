#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: timestream_migrate
short_description: Migrate Timestream for LiveAnalytics tables into InfluxDB, exactly, resumably and verified
version_added: 0.2.0
description:
  - Reads the tables of a Timestream for LiveAnalytics database by time partitions, through the Query API (pages of
    O(max_rows), following C(NextToken)) or through C(UNLOAD) to S3 (CSV or Parquet, found through the manifest and
    metadata files), converts every record to InfluxDB line protocol and writes it to an InfluxDB v2 bucket
    (C(/api/v2/write), gzip, batches of O(batch_size)) or to a line-protocol file (O(output_file)).
  - Types are kept exactly - BIGINT becomes an integer (C(i)), DOUBLE a float (NaN and infinities are skipped and
    counted), BOOLEAN a boolean, VARCHAR an escaped string (values over O(max_string_bytes) reported), TIMESTAMP
    measures integer nanoseconds; time is converted to integer nanoseconds without losing precision. NULL measures
    are omitted; a row with no field left, and a row whose dimension value no line protocol can carry (a trailing
    backslash, a newline), is reported in RV(report.examples), never silently dropped.
  - Names InfluxDB rejects or drops (keys starting with C(_), a key called C(time)) are renamed (see O(rename_prefix))
    and listed in RV(report.renamed).
  - Progress is recorded per table and time partition in O(progress_file); a killed run started again with the same
    options continues where it stopped. Rewriting a partition is harmless (points are identified by series and time).
  - Every partition is verified after it is written - the source row count against the rows read, the number of field
    values written against a Flux count in InfluxDB, and O(sample_size) sampled points compared exactly (value and
    type) - and every partition is counted again at the end. Any difference fails the task with the reason.
  - Partitions run in O(workers) processes, and can be split across inventory hosts with O(host_index) and
    O(host_count) (each partition goes to exactly one host).
  - See the migration guide (docs/migration.md) for the mapping rules in full.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  database:
    description: The Timestream for LiveAnalytics database.
    type: str
    required: true
  tables:
    description: Tables to migrate; all tables of O(database) when empty.
    type: list
    elements: str
    default: []
  time_from:
    description:
      - Start of the time range (inclusive), as a UTC date or time (V(2024-01-02), V(2024-01-02T03:04:05.123456789Z))
        or integer nanoseconds. Default - the first record of each table.
    type: str
  time_to:
    description: End of the time range (exclusive), as O(time_from). Default - after the last record of each table.
    type: str
  partition_size:
    description:
      - Length of a time partition (V(1d), V(6h), V(30m), V(1w), or seconds); the unit of work, of resuming and of
        verification. Changing it makes O(progress_file) unusable (the run refuses it).
    type: str
    default: 1d
  source:
    description: Read through the Query API (V(query)) or through C(UNLOAD) to S3 (V(unload)).
    type: str
    choices: [query, unload]
    default: query
  max_rows:
    description: Query API page size (C(MaxRows), 1-1000).
    type: int
    default: 1000
  unload_s3_uri:
    description: With O(source=unload), the C(s3://bucket/prefix) the UNLOAD results are written to.
    type: str
  unload_format:
    description: With O(source=unload), the format of the result files.
    type: str
    choices: [CSV, PARQUET]
    default: CSV
  measurements:
    description: Measurement name of a table (C(table -> measurement)); the table name by default.
    type: dict
    default: {}
  dimensions_to_fields:
    description: Dimensions written as string fields instead of tags (to cut series cardinality).
    type: list
    elements: str
    default: []
  dimensions:
    description:
      - Dimension columns of a table (C(table -> [names])), for sources that do not answer Timestream's C(DESCRIBE).
        Without C(DESCRIBE) and without this, VARCHAR columns other than C(measure_name) are taken as dimensions.
    type: dict
    default: {}
  single_measure_mode:
    description:
      - Naming of single-measure records (C(measure_name) + C(measure_value::<type>)).
      - V(measure_name) - the field is named after the record's measure_name, in the table's measurement.
      - V(measurement) - the measurement is named after the record's measure_name, the field is O(single_measure_field).
    type: str
    choices: [measure_name, measurement]
    default: measure_name
  single_measure_field:
    description: Field name of single-measure values with O(single_measure_mode=measurement).
    type: str
    default: value
  multi_measure_name:
    description: What the measure_name of multi-measure records becomes - a tag named O(measure_name_tag), or nothing.
    type: str
    choices: [tag, drop]
    default: tag
  measure_name_tag:
    description: Tag key of the measure_name of multi-measure records.
    type: str
    default: measure_name
  rename_prefix:
    description:
      - Prefix of renamed keys. A name starting with C(_) gets the prefix (C(_id) -> C(ts_id)); the key C(time) and a
        measurement starting with C(#) get the prefix and C(_) (C(time) -> C(ts_time)).
    type: str
    default: ts
  renames:
    description: Explicit renames of columns or measure names (C(old -> new)), applied before the rule above.
    type: dict
    default: {}
  max_string_bytes:
    description: String values longer than this many UTF-8 bytes are skipped and reported (InfluxDB 2 refuses them).
    type: int
    default: 1048576
  bucket:
    description: The InfluxDB bucket to write to. Required unless O(output_file) is set.
    type: str
  url:
    description:
      - Base URL of the InfluxDB v2 server, without C(/api/v2). Required unless O(output_file) is set.
      - If not set, the value of the E(INFLUX_HOST) environment variable is used.
    type: str
    required: false
    aliases: [ host ]
  output_file:
    description:
      - Write line protocol to this file on the host that runs the module instead of InfluxDB (C(.gz) - gzip compressed).
      - Nothing is verified against InfluxDB then (source counts still are).
    type: path
  batch_size:
    description: Lines per write request.
    type: int
    default: 5000
  max_retries:
    description: Retries of a write answered 429 or 5xx (exponential backoff with jitter, C(Retry-After) honoured).
    type: int
    default: 8
  workers:
    description: Worker processes on this host.
    type: int
    default: 2
  host_index:
    description: This host's index (0-based) among O(host_count) hosts sharing the migration.
    type: int
    default: 0
  host_count:
    description: Number of hosts sharing the migration; a partition is migrated by host C(crc32(partition id) % host_count).
    type: int
    default: 1
  progress_file:
    description: Resumable progress (JSON, written atomically after each partition). Without it a run cannot resume.
    type: path
  report_file:
    description: The report (JSON), rewritten every second while the module runs - watch it during an C(async) run.
    type: path
  restart:
    description: Ignore O(progress_file) and migrate every partition again.
    type: bool
    default: false
  verify:
    description: Verify every partition in InfluxDB (counts and sampled points) and recount at the end.
    type: bool
    default: true
  sample_size:
    description: Points per partition read back and compared exactly.
    type: int
    default: 5
extends_documentation_fragment:
  - ons.timestream_influxdb.influxdb
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Plans the tables and partitions (reading Timestream only) and returns the report without writing.
    support: full
  diff_mode:
    description: There is no resource state to compare; the report says what was written.
    support: none
notes:
  - Reading Parquet UNLOAD files (O(unload_format=PARQUET)) needs the pyarrow Python library; CSV needs nothing more.
  - Authenticates to InfluxDB with O(token) (or E(INFLUX_TOKEN)); O(username)/O(password) are refused.
  - Long migrations - run with C(async) and C(poll), and read O(report_file) meanwhile.
  - The AWS options reach Timestream (C(timestream-query), C(timestream-write)) and S3; use the action group
    C(group/ons.timestream_influxdb.aws) in C(module_defaults).
"""

EXAMPLES = r"""
- name: Migrate two tables into the platform bucket, resumable, verified
  ons.timestream_influxdb.timestream_migrate:
    database: telemetry
    tables: [metrics, readings]
    time_from: "2024-01-01"
    time_to: "2024-07-01"
    partition_size: 1d
    url: "{{ database_url }}"
    token: "{{ operator_token }}"
    org: ons
    bucket: telemetry
    dimensions_to_fields: [request_id]
    progress_file: /var/lib/migration/progress.json
    report_file: /var/lib/migration/report.json
  async: 86400
  poll: 60

- name: Plan only (check mode) - partitions per table, nothing written
  ons.timestream_influxdb.timestream_migrate:
    database: telemetry
    output_file: /tmp/telemetry.lp.gz
  check_mode: true

- name: Export to a gzipped line-protocol file through UNLOAD
  ons.timestream_influxdb.timestream_migrate:
    database: telemetry
    source: unload
    unload_s3_uri: s3://exports/telemetry
    output_file: /data/telemetry.lp.gz
"""

RETURN = r"""
report:
  description:
    - The migration report (also in O(report_file)) - status, reason, totals, per-table and per-partition counts,
      verification, renamed keys and examples of skipped rows and values.
  returned: always
  type: dict
  contains:
    status:
      description: V(ok), V(failed) or V(planned) (check mode).
      type: str
    reason:
      description: Why the run failed.
      type: str
    totals:
      description: Partitions, source rows, rows, lines, fields, bytes, skipped values and rows, retries.
      type: dict
    tables:
      description: Per table - partitions, source rows, rows, fields, verified.
      type: dict
    partitions:
      description: One entry per partition of this host.
      type: list
      elements: dict
    renamed:
      description: Per table, the keys renamed (C(old -> new)).
      type: dict
    examples:
      description: Up to ten source rows per kind of skip (C(nonfinite_skipped), C(overlong_skipped), C(rows_without_fields), C(unwritable_rows)).
      type: dict
    errors:
      description: Failed partitions - a rejected batch carries the offending line and its source row.
      type: list
      elements: dict
    verification:
      description: Partitions verified and mismatched, samples compared, and the final recount.
      type: dict
    rows_per_second:
      description: Throughput of the run.
      type: float
  sample:
    status: ok
    totals: {partitions: 6, rows: 500, fields: 1940, nonfinite_skipped: 0}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_argument_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration import MigrationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration import settings_from_params
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_migration_io import run_migration


def argument_spec():
    spec = influxdb_argument_spec()
    spec["url"] = dict(spec["url"], required=False)
    spec.update(
        database=dict(type="str", required=True),
        tables=dict(type="list", elements="str", default=[]),
        time_from=dict(type="str"),
        time_to=dict(type="str"),
        partition_size=dict(type="str", default="1d"),
        source=dict(type="str", choices=["query", "unload"], default="query"),
        max_rows=dict(type="int", default=1000),
        unload_s3_uri=dict(type="str"),
        unload_format=dict(type="str", choices=["CSV", "PARQUET"], default="CSV"),
        measurements=dict(type="dict", default={}),
        dimensions_to_fields=dict(type="list", elements="str", default=[]),
        dimensions=dict(type="dict", default={}),
        single_measure_mode=dict(type="str", choices=["measure_name", "measurement"], default="measure_name"),
        single_measure_field=dict(type="str", default="value"),
        multi_measure_name=dict(type="str", choices=["tag", "drop"], default="tag"),
        measure_name_tag=dict(type="str", default="measure_name"),
        rename_prefix=dict(type="str", default="ts"),
        renames=dict(type="dict", default={}),
        max_string_bytes=dict(type="int", default=1048576),
        bucket=dict(type="str"),
        output_file=dict(type="path"),
        batch_size=dict(type="int", default=5000),
        max_retries=dict(type="int", default=8),
        workers=dict(type="int", default=2),
        host_index=dict(type="int", default=0),
        host_count=dict(type="int", default=1),
        progress_file=dict(type="path"),
        report_file=dict(type="path"),
        restart=dict(type="bool", default=False),
        verify=dict(type="bool", default=True),
        sample_size=dict(type="int", default=5),
    )
    return spec


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[["output_file", "bucket"], ["token", "username"]],
    )
    params = dict(module.params)
    if params.get("username") or params.get("password"):
        module.fail_json(msg="timestream_migrate authenticates to InfluxDB with token only; username/password are "
                             "not supported")
    if params.get("output_file"):
        params.update(url=None, token=None, bucket=None)
    else:
        import os
        params["token"] = params.get("token") or os.environ.get("INFLUX_TOKEN")
        if params["token"]:
            module.no_log_values.add(params["token"])
    try:
        settings = settings_from_params(params)
        report = run_migration(settings, module.client, check_mode=module.check_mode)
    except MigrationError as exc:
        module.fail_json(msg=str(exc))
    if report["status"] == "failed":
        module.fail_json(msg=f"migration failed: {report['reason']}", report=report)
    if report["status"] == "planned":
        changed = bool(report.get("pending"))
    else:
        changed = report["totals"]["lines"] > 0
    module.exit_json(changed=changed, report=report)


if __name__ == "__main__":
    main()
