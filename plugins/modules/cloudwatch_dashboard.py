#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
version_added: 0.1.0
short_description: Create, update and delete Amazon CloudWatch dashboards
description:
  - Creates a CloudWatch dashboard, replaces its body when it differs, or deletes it.
  - The body is compared with the dashboard's current body as JSON (key order and the spelling of
    numbers do not matter), so a task run twice with the same body changes nothing and makes no
    C(PutDashboard) call.
  - The body is checked before any call (valid JSON, an object with a C(widgets) list). When
    CloudWatch refuses it, the module fails with CloudWatch's validation messages; warnings
    CloudWatch returns for an accepted body are passed on as Ansible warnings.
  - amazon.aws and community.aws have no dashboard module; this one follows their conventions
    (connection options, check mode, diff mode).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Name of the dashboard, 1 to 255 letters, digits, hyphens and underscores.
    type: str
    required: true
    aliases: [dashboard_name]
  body:
    description:
      - The dashboard body (see "Dashboard Body Structure and Syntax" in the CloudWatch API
        reference), as a dictionary or a JSON string. It must have a C(widgets) list.
      - Required when O(state=present).
    type: raw
  state:
    description:
      - V(present) creates the dashboard or replaces its body when it differs from O(body).
      - V(absent) deletes it; nothing happens when it does not exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Supports check mode and diff mode (the body before and after).
  - CloudWatch's C(PutDashboard) takes no tags.
"""

EXAMPLES = r"""
- name: Dashboard of the InfluxDB instance's CPU and disk
  ons.timestream_influxdb.cloudwatch_dashboard:
    name: ons-data-platform-prod-influxdb
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: CPU utilization
            region: eu-west-2
            stat: Average
            period: 300
            metrics:
              - ["AWS/TimestreamInfluxDB", "CPUUtilization", "DbInstanceName", "ons-data-platform-prod"]
        - type: metric
          x: 12
          y: 0
          width: 12
          height: 6
          properties:
            title: Disk utilization
            region: eu-west-2
            stat: Maximum
            period: 300
            metrics:
              - ["AWS/TimestreamInfluxDB", "DiskUtilization", "DbInstanceName", "ons-data-platform-prod"]

- name: Dashboard from a JSON template
  ons.timestream_influxdb.cloudwatch_dashboard:
    name: ons-data-platform-dev-influxdb
    body: "{{ lookup('ansible.builtin.template', 'dashboard.json.j2') }}"

- name: Remove the dashboard
  ons.timestream_influxdb.cloudwatch_dashboard:
    name: ons-data-platform-dev-influxdb
    state: absent
"""

RETURN = r"""
dashboard:
  description:
    - The dashboard after the task; in check mode, the predicted dashboard.
    - Not returned when O(state=absent).
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: Name of the dashboard.
      type: str
      sample: ons-data-platform-prod-influxdb
    arn:
      description: ARN of the dashboard (null in check mode for a dashboard not created yet).
      type: str
      sample: arn:aws:cloudwatch::123456789012:dashboard/ons-data-platform-prod-influxdb
    body:
      description: The dashboard body, parsed.
      type: dict
      sample: {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {}}]}
validation_messages:
  description: Warnings CloudWatch returned for the body it accepted (empty when the body was not written or had none).
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    data_path:
      description: Where in the body the message applies.
      type: str
    message:
      description: CloudWatch's message.
      type: str
diff:
  description: The body before and after (with C(--diff) only).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The dashboard before the task (empty when it did not exist).
      type: dict
    after:
      description: The dashboard after the task (empty when deleted).
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import CloudWatchError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import DashboardValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import bodies_equal
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import dashboard_result
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import delete_dashboard
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import describe_validation_messages
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import get_dashboard
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import parse_dashboard_body
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import put_dashboard
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import validate_dashboard_name


def desired_state(params):
    """{name, body (parsed, normalised) or None} from the options. Raises DashboardValidationError
    naming the option at fault."""
    name = validate_dashboard_name(params["name"])
    if params["state"] == "absent":
        return {"name": name, "body": None}
    if params.get("body") is None:
        raise DashboardValidationError("body is required when state is present")
    return {"name": name, "body": parse_dashboard_body(params["body"], "body")}


def plan(current, desired, state):
    """What the task does: "create", "update", "delete" or None (nothing), from the current
    dashboard (or None) and the desired state."""
    if state == "absent":
        return "delete" if current is not None else None
    if current is None:
        return "create"
    return None if bodies_equal(current["body"], desired["body"]) else "update"


def make_diff(current, after):
    """Diff mode's {before, after}: the whole dashboard (name, body) on each side, {} when absent."""

    def side(dashboard):
        return {"name": dashboard["name"], "body": dashboard["body"]} if dashboard else {}

    return {"before": side(current), "after": side(after)}


def apply(client, action, desired, current, check_mode):
    """Carries out the planned action (nothing in check mode). Returns (dashboard after or None,
    validation warnings)."""
    name = desired["name"]
    if action == "delete":
        if not check_mode:
            delete_dashboard(client, name)
        return None, []
    if action is None:
        return current, []
    if check_mode:
        return dashboard_result(name, current["arn"] if current else None, desired["body"]), []
    warnings = put_dashboard(client, name, desired["body"])
    return get_dashboard(client, name) or dashboard_result(name, None, desired["body"]), warnings


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["dashboard_name"]),
            body=dict(type="raw"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    try:
        desired = desired_state(module.params)
    except DashboardValidationError as e:
        module.fail_json(msg=str(e))

    client = module.client(SERVICE, retry_decorator=retry_decorator())
    state = module.params["state"]
    try:
        current = get_dashboard(client, desired["name"])
        action = plan(current, desired, state)
        after, warnings = apply(client, action, desired, current, module.check_mode)
    except DashboardValidationError as e:
        module.fail_json(msg=str(e))
    except CloudWatchError as e:
        module.fail_json_aws_error(e)

    if warnings:
        module.warn(f"CloudWatch accepted dashboard {desired['name']} with warnings: {describe_validation_messages(warnings)}")
    result = dict(changed=action is not None)
    if state == "present":
        result["dashboard"] = after
        result["validation_messages"] = warnings
    if module._diff:
        result["diff"] = make_diff(current, after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
