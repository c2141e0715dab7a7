#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_parameter_group
version_added: 0.1.0
short_description: Create Amazon Timestream for InfluxDB DB parameter groups
description:
  - Creates a Timestream for InfluxDB DB parameter group with InfluxDB v2 parameters, and manages its tags.
  - The service can create and read parameter groups, never update or delete them. When the named group
    exists with other parameters or another description the module fails, saying so and suggesting a new
    name; O(state=absent) on an existing group fails for the same reason.
  - The parameters are validated against the AWS API model (names, types, ranges, enumerations,
    duration objects) before any call.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  state:
    description:
      - V(present) creates the group if no group has O(name), else checks that it matches.
      - V(absent) succeeds without change when no group has O(name); AWS offers no way to delete an
        existing one, so the module fails in that case.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the parameter group, 3 to 64 letters, digits and hyphens, starting with a letter.
    type: str
    required: true
  description:
    description:
      - Description of the group (at most 500 characters). Compared when given.
    type: str
  parameters:
    description:
      - InfluxDB v2 parameters, snake_case names of the API's C(InfluxDBv2Parameters), for example
        V(query_concurrency), V(log_level), V(flux_log_enabled), V(storage_cache_max_memory_size).
      - Durations (V(http_idle_timeout), V(http_read_header_timeout), V(http_read_timeout),
        V(http_write_timeout), V(storage_cache_snapshot_write_cold_duration),
        V(storage_compact_full_write_cold_duration), V(storage_retention_check_interval),
        V(storage_wal_max_write_delay)) are dictionaries with C(duration_type) (V(hours), V(minutes),
        V(seconds), V(milliseconds) or V(days)) and C(value).
      - Compared with an existing group when given; a group cannot be changed, so a difference fails.
    type: dict
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_parameter_group_info
  - module: ons.timestream_influxdb.timestream_influxdb_instance
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Supports check mode and diff mode (C(diff) is returned with C(--diff) only).
"""

EXAMPLES = r"""
- name: Parameter group for the ONS metrics instance
  ons.timestream_influxdb.timestream_influxdb_parameter_group:
    name: ons-influxdb-params
    description: Query limits for the ONS metrics instance
    parameters:
      query_concurrency: 16
      query_queue_size: 64
      log_level: info
      flux_log_enabled: false
      http_idle_timeout:
        duration_type: minutes
        value: 3
    tags:
      Environment: prod
"""

RETURN = r"""
parameter_group:
  description: The parameter group (snake_case) with its tags; in check mode before creation, the predicted group.
  returned: when the group exists or is created
  type: dict
  contains:
    id:
      description: Id of the group (what instances refer to).
      type: str
      sample: abcdef1234
    name:
      description: Name of the group.
      type: str
      sample: ons-influxdb-params
    arn:
      description: ARN of the group.
      type: str
    description:
      description: Description.
      type: str
    parameters:
      description: Parameters by engine (V(InfluxDBv2)), with snake_case names.
      type: dict
      sample: {"InfluxDBv2": {"query_concurrency": 16, "log_level": "info"}}
    tags:
      description: Tags of the group.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import apply_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import camel_to_snake
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import coerce_to_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import create_db_parameter_group
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import describe_immutable
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_parameter_group_by_name
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_parameter_group
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import input_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import plan_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import predicted_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resource_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import value_to_ansible

ENGINE = "InfluxDBv2"


def desired_state(model, params):
    """The CreateDbParameterGroup request (without tags) the options describe, validated against the
    service ``model``. Raises ValidationError."""
    shape = input_shape(model, "CreateDbParameterGroup")
    request = {"name": coerce_to_shape(params["name"], shape.members["name"], "name")}
    if params.get("description") is not None:
        request["description"] = coerce_to_shape(params["description"], shape.members["description"], "description")
    if params.get("parameters") is not None:
        engine_shape = shape.members["parameters"].members[ENGINE]
        request["parameters"] = {ENGINE: coerce_to_shape(params["parameters"], engine_shape, "parameters")}
    return request


def compare_group(current, desired):
    """Differences between an existing group and the request: {option: {current, desired}}."""
    differences = {}
    if "description" in desired and (current.get("description") or "") != desired["description"]:
        differences["description"] = {"current": current.get("description"), "desired": desired["description"]}
    if "parameters" in desired:
        have = (current.get("parameters") or {}).get(ENGINE) or {}
        want = desired["parameters"][ENGINE]
        for key in sorted(set(have) | set(want)):
            if have.get(key) != want.get(key):
                option = f"parameters.{camel_to_snake(key)}"
                differences[option] = {"current": value_to_ansible(have.get(key)), "desired": value_to_ansible(want.get(key))}
    return differences


def ensure_present(module, client, current, desired):
    params = module.params
    if current is None:
        request = dict(desired)
        if params["tags"]:
            request["tags"] = {k: str(v) for k, v in params["tags"].items()}
        after = resource_to_ansible(dict(request, parameters=request.get("parameters") or {}))
        after["tags"] = dict(request.get("tags") or {})
        diff = dict(before={}, after=after)
        if module.check_mode:
            return dict(changed=True, parameter_group=after, diff=diff)
        created = create_db_parameter_group(client, request)
        group = get_db_parameter_group(client, created["id"]) or created
        return dict(changed=True, parameter_group=resource_to_ansible(group, list_tags(client, group["arn"])), diff=diff)

    differences = compare_group(current, desired)
    if differences:
        raise ValidationError(
            f"DB parameter group {current['name']} ({current['id']}) already exists with different settings: "
            f"{describe_immutable(differences)}. The Timestream for InfluxDB API cannot update a parameter group; "
            f"create one with a new name (for example {current['name']}-v2) and point the instances at it."
        )
    current_tags = list_tags(client, current["arn"])
    to_set, to_unset = plan_tags(current_tags, params["tags"], params["purge_tags"])
    new_tags = predicted_tags(current_tags, to_set, to_unset)
    changed = bool(to_set or to_unset)
    diff = dict(before={"tags": current_tags}, after={"tags": new_tags})
    if changed and not module.check_mode:
        apply_tags(client, current["arn"], to_set, to_unset)
        new_tags = list_tags(client, current["arn"])
    return dict(changed=changed, parameter_group=resource_to_ansible(current, new_tags), diff=diff)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            name=dict(type="str", required=True),
            description=dict(type="str"),
            parameters=dict(type="dict"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    # Creating the client makes no request; its service model validates the options first.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        desired = desired_state(service_model(client), module.params)
    except ValidationError as e:
        module.fail_json(msg=str(e))

    try:
        current = find_db_parameter_group_by_name(client, module.params["name"])
        if module.params["state"] == "absent":
            if current is not None:
                module.fail_json(
                    msg=f"DB parameter group {current['name']} ({current['id']}) exists and cannot be deleted: "
                    "the Timestream for InfluxDB API has no operation to delete parameter groups.",
                    parameter_group=resource_to_ansible(current, list_tags(client, current["arn"])),
                )
            result = dict(changed=False, diff=dict(before={}, after={}))
        else:
            result = ensure_present(module, client, current, desired)
    except ValidationError as e:
        module.fail_json(msg=str(e))
    except TimestreamInfluxDBError as e:
        module.fail_json_aws_error(e)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
