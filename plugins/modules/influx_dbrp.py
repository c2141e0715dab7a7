#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: influx_dbrp
short_description: Manage InfluxDB v2 DBRP mappings for InfluxQL clients
version_added: 0.1.0
description:
  - Create, update and delete database/retention policy (DBRP) mappings in an InfluxDB v2 organization, so clients
    that speak InfluxQL and the 1.x API (C(/query), C(/write)) keep working against buckets.
  - A mapping is identified by its O(database) and O(retention_policy) within the organization.
  - Whether it is the database's default is updated in place; pointing it at another O(bucket) replaces it
    (the old mapping is deleted, then the new one created, because InfluxDB cannot move a mapping and does not
    allow two mappings with the same O(database) and O(retention_policy)). If creating the new mapping fails,
    the old one is created again (with a new id) and the task fails.
  - Virtual mappings that InfluxDB derives from bucket names are not managed; a mapping created here takes
    precedence over them.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  database:
    description:
      - InfluxDB 1.x database name the clients use.
    type: str
    required: true
  retention_policy:
    description:
      - InfluxDB 1.x retention policy name the clients use.
    type: str
    default: autogen
  bucket:
    description:
      - Bucket (name or id, in O(org)) the mapping points to. Required with O(state=present).
    type: str
  default:
    description:
      - Whether this is the default retention policy of O(database), used when a query names none.
      - When not set, a new mapping is created with the server's default and an existing one keeps its setting.
    type: bool
  state:
    description:
      - V(present) creates or updates the mapping, V(absent) deletes it.
    type: str
    choices: [ present, absent ]
    default: present
seealso:
  - module: ons.timestream_influxdb.influx_bucket
extends_documentation_fragment:
  - ons.timestream_influxdb.influxdb
  - ons.timestream_influxdb.attributes
notes:
  - O(org) (or E(INFLUX_ORG)) is required and may be the organization's name or id.
  - Needs C(read:orgs) (not when O(org) is given as an id), C(read:orgs/<id>/buckets) and C(read)/C(write) on
    the organization's C(dbrp) resources.
"""

EXAMPLES = r"""
- name: Let the InfluxQL dashboards query the telemetry bucket as database "telemetry"
  ons.timestream_influxdb.influx_dbrp:
    url: "{{ influx_url }}"
    token: "{{ influx_token }}"
    org: ons
    database: telemetry
    retention_policy: autogen
    bucket: telemetry
    default: true

- name: Remove a mapping
  ons.timestream_influxdb.influx_dbrp:
    url: "{{ influx_url }}"
    token: "{{ influx_token }}"
    org: ons
    database: legacy
    retention_policy: one_year
    state: absent
"""

RETURN = r"""
dbrp:
  description:
    - The mapping after the task (predicted in check mode, where RV(dbrp.id) is null for a mapping that would be
      created). Empty after V(absent).
  returned: always
  type: dict
  contains:
    id:
      description: Mapping id.
      type: str
      sample: 0a3cbb5dd526a000
    database:
      description: InfluxDB 1.x database name.
      type: str
      sample: telemetry
    retention_policy:
      description: InfluxDB 1.x retention policy name.
      type: str
      sample: autogen
    bucket_id:
      description: Id of the bucket the mapping points to.
      type: str
      sample: 4d4d9d5b61dee751
    org_id:
      description: Organization id.
      type: str
      sample: bea7ea952287f70d
    default:
      description: Whether this is the database's default retention policy.
      type: bool
      sample: true
replaced:
  description: Whether the mapping was (or would be) deleted and created again to point it at another bucket.
  returned: always
  type: bool
  sample: false
diff:
  description: Before and after state of the mapping, when run with C(--diff).
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"default": false}, "after": {"default": true}}
"""

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import diff_result
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_module_kwargs
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import run_module


def argument_spec():
    """The module's own options (the connection options come from ``influxdb_module_kwargs``)."""
    return dict(
        database=dict(type="str", required=True),
        retention_policy=dict(type="str", default="autogen"),
        bucket=dict(type="str"),
        default=dict(type="bool"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def module_kwargs():
    """Keyword arguments for ``AnsibleModule``."""
    return influxdb_module_kwargs(argument_spec(), required_if=[["state", "present", ["bucket"]]])


def validate_params(params):
    """Check the options before any request; raises InfluxDBModuleError naming the bad one."""
    for option in ("database", "retention_policy"):
        value = params.get(option)
        if value is None or not value.strip():
            raise InfluxDBModuleError(f"{option} must not be empty")
    if params.get("state", "present") == "present" and not (params.get("bucket") or "").strip():
        raise InfluxDBModuleError("bucket is required with state=present")


def unwrap(data):
    """DBRP responses come bare or wrapped in ``{"content": ...}``."""
    if isinstance(data, dict) and isinstance(data.get("content"), dict):
        return data["content"]
    return data


def normalize(raw):
    """The API's mapping as this module's return value (``{}`` for none)."""
    if not raw:
        return {}
    return {
        "id": raw.get("id"),
        "database": raw.get("database"),
        "retention_policy": raw.get("retention_policy"),
        "bucket_id": raw.get("bucketID"),
        "org_id": raw.get("orgID"),
        "default": bool(raw.get("default", False)),
    }


def desired_state(params, org_id, bucket_id):
    """The mapping the task asks for; a None ``default`` is not managed."""
    return {"database": params["database"], "retention_policy": params["retention_policy"], "org_id": org_id,
            "bucket_id": bucket_id, "default": params.get("default")}


def compare(current, desired):
    """Return ``(replace, changes)``: another bucket means replace; ``default`` changes in place."""
    replace = desired["bucket_id"] != current.get("bucket_id")
    changes = {}
    if desired.get("default") is not None and desired["default"] != current.get("default"):
        changes["default"] = desired["default"]
    return replace, changes


def predict(current, desired, changes, replace):
    """The mapping as it will be once created, replaced or updated."""
    if current and not replace:
        after = dict(current)
        after.update(changes)
        return after
    default = desired.get("default")
    if default is None:
        default = current.get("default", False) if current else False
    return {"id": None, "database": desired["database"], "retention_policy": desired["retention_policy"],
            "bucket_id": desired["bucket_id"], "org_id": desired["org_id"], "default": default}


def create_body(desired, current=None):
    """The POST /api/v2/dbrps body (an existing mapping's ``default`` kept when the task sets none)."""
    body = {"orgID": desired["org_id"], "bucketID": desired["bucket_id"], "database": desired["database"],
            "retention_policy": desired["retention_policy"]}
    default = desired.get("default")
    if default is None and current:
        default = current.get("default")
    if default is not None:
        body["default"] = bool(default)
    return body


def diff_view(dbrp):
    """The mapping as ``--diff`` shows it."""
    if not dbrp:
        return {}
    return {k: dbrp.get(k) for k in ("database", "retention_policy", "bucket_id", "default")}


def find_dbrp(conn, org_id, database, retention_policy):
    """The organization's (non-virtual) mapping of this database and retention policy, or None."""
    data = conn.request("GET", "/dbrps", f"listing DBRP mappings of database {database!r}",
                        query={"orgID": org_id, "db": database, "rp": retention_policy},
                        permission=f"read:orgs/{org_id}/dbrp") or {}
    found = [d for d in data.get("content") or []
             if d.get("database") == database and d.get("retention_policy") == retention_policy
             and not d.get("virtual") and d.get("orgID", org_id) == org_id]
    return found[0] if found else None


def restore_body(current):
    """The body that creates ``current`` (a normalized mapping) again."""
    return {"orgID": current["org_id"], "bucketID": current["bucket_id"], "database": current["database"],
            "retention_policy": current["retention_policy"], "default": bool(current.get("default"))}


def replace_mapping(conn, current, desired, label, write_perm):
    """Point the mapping ``current`` at another bucket; return the new mapping (normalized).

    InfluxDB refuses a second mapping with the same organization, database and retention policy (409 "another DBRP
    mapping with same orgID, db, and rp exists") and cannot change a mapping's bucket, so the old mapping is
    deleted first. If creating the new one then fails, the old one is created again before raising, so InfluxQL
    clients do not lose the database/retention policy.
    """
    org_id = current["org_id"] or desired["org_id"]
    conn.request("DELETE", f"/dbrps/{current['id']}", f"deleting DBRP mapping {label} to replace it",
                 query={"orgID": org_id}, permission=write_perm, allow_404=True)
    try:
        return normalize(unwrap(conn.request("POST", "/dbrps", f"creating DBRP mapping {label}",
                                             body=create_body(desired, current), permission=write_perm)))
    except InfluxDBModuleError as exc:
        try:
            restored = normalize(unwrap(conn.request(
                "POST", "/dbrps", f"recreating the previous DBRP mapping {label}",
                body=restore_body(dict(current, org_id=org_id)), permission=write_perm)))
        except InfluxDBModuleError as cleanup:
            raise InfluxDBModuleError(
                f"Replacing DBRP mapping {label} failed: {exc.msg}. The old mapping (to bucket "
                f"{current['bucket_id']}) had been deleted and recreating it failed too: {cleanup.msg}. InfluxQL "
                f"clients of {label} have no mapping now; run the task again",
                status=exc.status, response=exc.response, cause=exc.cause)
        raise InfluxDBModuleError(
            f"Replacing DBRP mapping {label} failed: {exc.msg}. The previous mapping (to bucket "
            f"{current['bucket_id']}) was recreated (new id {restored.get('id')}), so InfluxQL clients keep it",
            status=exc.status, response=exc.response, cause=exc.cause)


def run(conn, params, check_mode):
    """Do the work of one task.

    Parameters:
        conn (InfluxDBConnection): the signed-in connection.
        params (dict): the module's parameters.
        check_mode (bool): predict the result without changing anything.

    Returns:
        dict: the module's result (``changed``, ``dbrp``, ``replaced``, ``diff``).

    Raises:
        InfluxDBModuleError: for a bad option or an InfluxDB failure.
    """
    validate_params(params)
    org = conn.require_org(params.get("org"))
    org_id = org["id"]
    database, rp = params["database"], params["retention_policy"]
    label = f"{database}/{rp}"
    write_perm = f"write:orgs/{org_id}/dbrp"
    current = normalize(find_dbrp(conn, org_id, database, rp))

    if params["state"] == "absent":
        if not current:
            return {"changed": False, "dbrp": {}, "replaced": False, "diff": diff_result({}, {})}
        if not check_mode:
            conn.request("DELETE", f"/dbrps/{current['id']}", f"deleting DBRP mapping {label}",
                         query={"orgID": org_id}, permission=write_perm, allow_404=True)
        return {"changed": True, "dbrp": {}, "replaced": False, "diff": diff_result(diff_view(current), {})}

    bucket = conn.find_bucket(org_id, params["bucket"])
    if not bucket:
        raise InfluxDBModuleError(f"bucket {params['bucket']!r} not found in organization {org.get('name')!r}")
    desired = desired_state(params, org_id, bucket["id"])

    replace, changes = (False, {}) if not current else compare(current, desired)
    if current and not replace and not changes:
        return {"changed": False, "dbrp": current, "replaced": False,
                "diff": diff_result(diff_view(current), diff_view(current))}

    after = predict(current, desired, changes, replace)
    if not check_mode:
        if current and not replace:
            after = normalize(unwrap(conn.request(
                "PATCH", f"/dbrps/{current['id']}", f"updating DBRP mapping {label}",
                query={"orgID": org_id}, body=changes, permission=write_perm)))
        elif current:
            after = replace_mapping(conn, current, desired, label, write_perm)
        else:
            after = normalize(unwrap(conn.request("POST", "/dbrps", f"creating DBRP mapping {label}",
                                                  body=create_body(desired), permission=write_perm)))
    return {"changed": True, "dbrp": after, "replaced": bool(current) and replace,
            "diff": diff_result(diff_view(current), diff_view(after))}


def main():
    run_module(module_kwargs(), run, validate_params)


if __name__ == "__main__":
    main()
