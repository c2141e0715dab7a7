#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: influx_org
short_description: Manage InfluxDB v2 organizations
version_added: 0.1.0
description:
  - Create, update and delete organizations in InfluxDB v2 (InfluxDB OSS 2.x, Amazon Timestream for InfluxDB).
  - An organization is found by its exact name. Its description is updated in place.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Name of the organization.
    type: str
    required: true
  description:
    description:
      - Description of the organization. V("") removes it. When not set, an existing description is kept.
    type: str
  state:
    description:
      - V(present) creates or updates the organization, V(absent) deletes it with everything it owns
        (buckets, tokens, tasks, dashboards).
    type: str
    choices: [ present, absent ]
    default: present
seealso:
  - module: ons.timestream_influxdb.influx_bucket
  - module: ons.timestream_influxdb.influx_user
extends_documentation_fragment:
  - ons.timestream_influxdb.influxdb
  - ons.timestream_influxdb.attributes
notes:
  - The connection option O(org) is not used by this module; O(name) is the organization.
  - Needs C(read:orgs) and C(write:orgs), which usually means an operator token.
"""

EXAMPLES = r"""
- name: Organization for the platform team
  ons.timestream_influxdb.influx_org:
    url: "{{ influx_url }}"
    token: "{{ influx_operator_token }}"
    name: platform
    description: ONS data platform

- name: Remove a retired organization and everything in it
  ons.timestream_influxdb.influx_org:
    url: "{{ influx_url }}"
    token: "{{ influx_operator_token }}"
    name: legacy
    state: absent
"""

RETURN = r"""
org:
  description:
    - The organization after the task (predicted in check mode, where RV(org.id) is null for an organization that
      would be created). Empty after V(absent).
  returned: always
  type: dict
  contains:
    id:
      description: Organization id.
      type: str
      sample: bea7ea952287f70d
    name:
      description: Organization name.
      type: str
      sample: platform
    description:
      description: Description (empty string when none).
      type: str
      sample: ONS data platform
    status:
      description: V(active) or V(inactive).
      type: str
      sample: active
    created_at:
      description: Creation time reported by InfluxDB.
      type: str
      sample: "2026-01-01T00:00:00Z"
    updated_at:
      description: Last update time reported by InfluxDB.
      type: str
      sample: "2026-01-01T00:00:00Z"
diff:
  description: Before and after state of the organization, when run with C(--diff).
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"description": ""}, "after": {"description": "ONS data platform"}}
"""

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import diff_result
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_module_kwargs
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import run_module


def argument_spec():
    """The module's own options (the connection options come from ``influxdb_module_kwargs``)."""
    return dict(
        name=dict(type="str", required=True),
        description=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def validate_params(params):
    """Check the options before any request; raises InfluxDBModuleError naming the bad one."""
    if not (params.get("name") or "").strip():
        raise InfluxDBModuleError("name must not be empty")


def normalize(raw):
    """The API's organization as this module's return value (``{}`` for none)."""
    if not raw:
        return {}
    return {
        "id": raw.get("id"),
        "name": raw.get("name"),
        "description": raw.get("description") or "",
        "status": raw.get("status", "active"),
        "created_at": raw.get("createdAt"),
        "updated_at": raw.get("updatedAt"),
    }


def desired_state(params):
    """The organization the task asks for; a None ``description`` is not managed."""
    return {"name": params["name"], "description": params.get("description")}


def compare(current, desired):
    """The fields whose wanted value differs from the current one."""
    changes = {}
    if desired.get("description") is not None and desired["description"] != current.get("description", ""):
        changes["description"] = desired["description"]
    return changes


def predict(current, desired, changes):
    """The organization as it will be once created or updated."""
    if current:
        after = dict(current)
        after.update(changes)
        return after
    return {"id": None, "name": desired["name"], "description": desired.get("description") or "",
            "status": "active", "created_at": None, "updated_at": None}


def create_body(desired):
    """The POST /api/v2/orgs body."""
    body = {"name": desired["name"]}
    if desired.get("description") is not None:
        body["description"] = desired["description"]
    return body


def diff_view(org):
    """The organization as ``--diff`` shows it."""
    return {k: org.get(k) for k in ("name", "description")} if org else {}


def run(conn, params, check_mode):
    """Do the work of one task.

    Parameters:
        conn (InfluxDBConnection): the signed-in connection.
        params (dict): the module's parameters.
        check_mode (bool): predict the result without changing anything.

    Returns:
        dict: the module's result (``changed``, ``org``, ``diff``).

    Raises:
        InfluxDBModuleError: for a bad option or an InfluxDB failure.
    """
    validate_params(params)
    name = params["name"]
    # exact name only: an id given as the name must not match another organization
    current = normalize(conn.find_org(name, by_id=False))

    if params["state"] == "absent":
        if not current:
            return {"changed": False, "org": {}, "diff": diff_result({}, {})}
        if not check_mode:
            conn.request("DELETE", f"/orgs/{current['id']}", f"deleting organization {name!r}",
                         permission=f"write:orgs/{current['id']}", allow_404=True)
        return {"changed": True, "org": {}, "diff": diff_result(diff_view(current), {})}

    desired = desired_state(params)
    if not current:
        after = predict({}, desired, {})
        if not check_mode:
            after = normalize(conn.request("POST", "/orgs", f"creating organization {name!r}",
                                           body=create_body(desired), permission="write:orgs"))
        return {"changed": True, "org": after, "diff": diff_result({}, diff_view(after))}

    changes = compare(current, desired)
    if not changes:
        return {"changed": False, "org": current, "diff": diff_result(diff_view(current), diff_view(current))}
    after = predict(current, desired, changes)
    if not check_mode:
        after = normalize(conn.request("PATCH", f"/orgs/{current['id']}", f"updating organization {name!r}",
                                       body=dict(changes), permission=f"write:orgs/{current['id']}"))
    return {"changed": True, "org": after, "diff": diff_result(diff_view(current), diff_view(after))}


def main():
    run_module(influxdb_module_kwargs(argument_spec()), run, validate_params)


if __name__ == "__main__":
    main()
