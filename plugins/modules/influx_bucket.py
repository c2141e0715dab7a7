#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: influx_bucket
short_description: Manage InfluxDB v2 buckets
version_added: 0.1.0
description:
  - Create, update and delete buckets in an InfluxDB v2 organization (InfluxDB OSS 2.x, Amazon Timestream for InfluxDB).
  - A bucket is found by its exact name within its organization; the listing is paginated, so organizations
    with hundreds of buckets are handled.
  - Description, retention period and shard group duration are updated in place.
  - Options left unset are not managed, so an existing bucket keeps its current values.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Name of the bucket. Names starting with C(_) are reserved for InfluxDB system buckets, and a name
        cannot contain a double quote.
    type: str
    required: true
  description:
    description:
      - Description of the bucket. V("") removes it.
    type: str
  retention:
    description:
      - How long data is kept, as a duration such as V(30d), V(12h), V(1h30m) or V(2w)
        (units C(w), C(d), C(h), C(m), C(s)), or V(0)/V(infinite) to keep data forever.
      - InfluxDB requires at least one hour.
      - When not set, a new bucket gets the server's default and an existing bucket keeps its retention.
    type: str
  shard_group_duration:
    description:
      - Time range covered by each shard group, as a duration like O(retention) (at least one hour, and not longer
        than a finite O(retention)).
      - When not set, InfluxDB chooses it from the retention period.
    type: str
  state:
    description:
      - V(present) creates or updates the bucket, V(absent) deletes it and all of its data.
    type: str
    choices: [ present, absent ]
    default: present
seealso:
  - module: ons.timestream_influxdb.influx_dbrp
  - module: ons.timestream_influxdb.influx_auth
  - module: ons.timestream_influxdb.influx_org
extends_documentation_fragment:
  - ons.timestream_influxdb.influxdb
  - ons.timestream_influxdb.attributes
notes:
  - O(org) (or E(INFLUX_ORG)) is required and may be the organization's name or id.
  - Deleting a bucket deletes its data. InfluxDB cannot rename a bucket through this module; a different O(name)
    is a different bucket.
  - Needs C(read:orgs) (not when O(org) is given as an id) and C(read)/C(write) on the organization's buckets.
"""

EXAMPLES = r"""
- name: Telemetry bucket kept for 30 days
  ons.timestream_influxdb.influx_bucket:
    url: "{{ influx_url }}"
    token: "{{ influx_token }}"
    org: ons
    name: telemetry
    description: Raw sensor telemetry
    retention: 30d

- name: Connection options once, through the action group
  module_defaults:
    group/ons.timestream_influxdb.influxdb:
      url: "{{ influx_url }}"
      token: "{{ influx_token }}"
      org: ons
  block:
    - name: Archive bucket that never expires, one-week shard groups
      ons.timestream_influxdb.influx_bucket:
        name: archive
        retention: infinite
        shard_group_duration: 1w

    - name: Remove the scratch bucket and its data
      ons.timestream_influxdb.influx_bucket:
        name: scratch
        state: absent
"""

RETURN = r"""
bucket:
  description:
    - The bucket after the task (as predicted in check mode, where RV(bucket.id) is null for a bucket that would
      be created). Empty after V(absent).
  returned: always
  type: dict
  contains:
    id:
      description: Bucket id.
      type: str
      sample: 37407e232b3911d8
    name:
      description: Bucket name.
      type: str
      sample: telemetry
    org_id:
      description: Id of the organization owning the bucket.
      type: str
      sample: bea7ea952287f70d
    description:
      description: Description (empty string when none).
      type: str
      sample: Raw sensor telemetry
    retention_seconds:
      description: Retention period in seconds, V(0) for infinite.
      type: int
      sample: 2592000
    retention:
      description: Retention period as a duration, V(infinite) for none.
      type: str
      sample: 4w2d
    shard_group_duration_seconds:
      description: Shard group duration in seconds (null when the server does not report it).
      type: int
      sample: 86400
    type:
      description: V(user) or V(system).
      type: str
      sample: user
    created_at:
      description: Creation time reported by InfluxDB.
      type: str
      sample: "2026-01-01T00:00:00Z"
    updated_at:
      description: Last update time reported by InfluxDB.
      type: str
      sample: "2026-01-01T00:00:00Z"
diff:
  description:
    - Before and after state of the bucket, when run with C(--diff).
    - Durations (C(retention), C(shard_group_duration)) are shown as the task wrote them (V(30d)) when they mean the
      same as the bucket's value, else in the shortest form (V(4w2d)).
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"retention": "30d"}, "after": {"retention": "1w"}}
"""

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import diff_result
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import format_duration
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_module_kwargs
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import parse_duration
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import run_module
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import spell_duration

MIN_DURATION = 3600


def argument_spec():
    """The module's own options (the connection options come from ``influxdb_module_kwargs``)."""
    return dict(
        name=dict(type="str", required=True),
        description=dict(type="str"),
        retention=dict(type="str"),
        shard_group_duration=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def validate_params(params):
    """Check the bucket options before any request; return ``(retention_s, shard_s)`` (None = unmanaged)."""
    name = params.get("name") or ""
    if not name.strip():
        raise InfluxDBModuleError("name must not be empty")
    if name.startswith("_"):
        raise InfluxDBModuleError(f"name {name!r} starts with '_', which InfluxDB reserves for system buckets")
    if '"' in name:
        raise InfluxDBModuleError(f"name {name!r} contains a double quote (\"), which InfluxDB does not allow in bucket names")
    retention = parse_duration(params.get("retention"), "retention")
    shard = parse_duration(params.get("shard_group_duration"), "shard_group_duration")
    if retention and retention < MIN_DURATION:
        raise InfluxDBModuleError(f"retention must be at least 1h (or 0/infinite), got {params['retention']!r}")
    if shard is not None:
        if shard == 0:
            raise InfluxDBModuleError("shard_group_duration cannot be 0/infinite")
        if shard < MIN_DURATION:
            raise InfluxDBModuleError(f"shard_group_duration must be at least 1h, got {params['shard_group_duration']!r}")
        if retention and shard > retention:
            raise InfluxDBModuleError(f"shard_group_duration ({params['shard_group_duration']}) must not be longer "
                                      f"than retention ({params['retention']})")
    return retention, shard


def normalize(raw):
    """The API's bucket as this module's return value."""
    if not raw:
        return {}
    rules = [r for r in (raw.get("retentionRules") or []) if r.get("type", "expire") == "expire"]
    retention = int(rules[0].get("everySeconds") or 0) if rules else 0
    shard = rules[0].get("shardGroupDurationSeconds") if rules else None
    return {
        "id": raw.get("id"),
        "name": raw.get("name"),
        "org_id": raw.get("orgID"),
        "description": raw.get("description") or "",
        "retention_seconds": retention,
        "retention": format_duration(retention),
        "shard_group_duration_seconds": int(shard) if shard else None,
        "type": raw.get("type", "user"),
        "created_at": raw.get("createdAt"),
        "updated_at": raw.get("updatedAt"),
    }


def desired_state(params, org_id, retention, shard):
    """What the task asks for; None values are not managed."""
    return {
        "name": params["name"],
        "org_id": org_id,
        "description": params.get("description"),
        "retention_seconds": retention,
        "shard_group_duration_seconds": shard,
    }


def compare(current, desired):
    """Fields (of the normalized bucket) whose desired value differs from the current one."""
    changes = {}
    for key in ("description", "retention_seconds", "shard_group_duration_seconds"):
        want = desired.get(key)
        if want is not None and want != current.get(key):
            changes[key] = want
    return changes


def predict(current, desired, changes):
    """The bucket as it will be once created (current empty) or updated."""
    if current:
        after = dict(current)
    else:
        after = {"id": None, "name": desired["name"], "org_id": desired["org_id"], "description": "",
                 "retention_seconds": None, "shard_group_duration_seconds": None, "type": "user",
                 "created_at": None, "updated_at": None}
        changes = {k: v for k, v in desired.items() if v is not None and k not in ("name", "org_id")}
    after.update(changes)
    after["retention"] = format_duration(after.get("retention_seconds"))
    return after


def _retention_rules(retention, shard):
    rule = {"type": "expire", "everySeconds": retention}
    if shard is not None:
        rule["shardGroupDurationSeconds"] = shard
    return [rule]


def create_body(desired):
    """The POST /api/v2/buckets body."""
    body = {"orgID": desired["org_id"], "name": desired["name"]}
    if desired.get("description") is not None:
        body["description"] = desired["description"]
    retention = desired.get("retention_seconds")
    shard = desired.get("shard_group_duration_seconds")
    if retention is not None or shard is not None:
        body["retentionRules"] = _retention_rules(0 if retention is None else retention, shard)
    return body


def patch_body(current, changes):
    """The PATCH /api/v2/buckets/<id> body: only what changes."""
    body = {}
    if "description" in changes:
        body["description"] = changes["description"]
    if "retention_seconds" in changes or "shard_group_duration_seconds" in changes:
        retention = changes.get("retention_seconds", current.get("retention_seconds") or 0)
        shard = changes.get("shard_group_duration_seconds")
        body["retentionRules"] = _retention_rules(retention, shard)
    return body


def diff_view(bucket, params=None):
    """The bucket as ``--diff`` shows it: durations spelled as the task wrote them (``30d``, not ``4w2d``)
    when they mean the same, else in the shortest form."""
    if not bucket:
        return {}
    params = params or {}
    view = {k: bucket.get(k) for k in ("name", "org_id", "description")}
    view["retention"] = spell_duration(bucket.get("retention_seconds"), params.get("retention"))
    view["shard_group_duration"] = spell_duration(bucket.get("shard_group_duration_seconds"),
                                                  params.get("shard_group_duration"))
    return view


def run(conn, params, check_mode):
    """Do the work; return the result dict (raises InfluxDBModuleError)."""
    retention, shard = validate_params(params)
    org = conn.require_org(params.get("org"))
    org_id = org["id"]
    current = normalize(conn.find_bucket(org_id, params["name"]))
    name = params["name"]
    write_perm = f"write:orgs/{org_id}/buckets"

    if params["state"] == "absent":
        if not current:
            return {"changed": False, "bucket": {}, "diff": diff_result({}, {})}
        if not check_mode:
            conn.request("DELETE", f"/buckets/{current['id']}", f"deleting bucket {name!r}",
                         permission=write_perm, allow_404=True)
        return {"changed": True, "bucket": {}, "diff": diff_result(diff_view(current, params), {})}

    desired = desired_state(params, org_id, retention, shard)
    if not current:
        after = predict({}, desired, {})
        if not check_mode:
            created = conn.request("POST", "/buckets", f"creating bucket {name!r}",
                                   body=create_body(desired), permission=write_perm)
            after = normalize(created)
        return {"changed": True, "bucket": after, "diff": diff_result({}, diff_view(after, params))}

    changes = compare(current, desired)
    if not changes:
        unchanged = diff_view(current, params)
        return {"changed": False, "bucket": current, "diff": diff_result(unchanged, unchanged)}
    after = predict(current, desired, changes)
    if not check_mode:
        updated = conn.request("PATCH", f"/buckets/{current['id']}", f"updating bucket {name!r}",
                               body=patch_body(current, changes), permission=write_perm)
        after = normalize(updated)
    return {"changed": True, "bucket": after,
            "diff": diff_result(diff_view(current, params), diff_view(after, params))}


def main():
    run_module(influxdb_module_kwargs(argument_spec()), run, validate_params)


if __name__ == "__main__":
    main()
