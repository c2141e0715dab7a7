#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard_info
version_added: 0.1.0
short_description: Read Amazon CloudWatch dashboards
description:
  - Returns the dashboard with a given name, with its body parsed; or, without a name, every dashboard
    whose name starts with O(name_prefix) (all of them when neither is given).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description: Name of the dashboard. An empty list is returned when it does not exist.
    type: str
  name_prefix:
    description: Only the dashboards whose name starts with this (ignored when O(name) is given).
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
"""

EXAMPLES = r"""
- name: Read the platform's dashboard
  ons.timestream_influxdb.cloudwatch_dashboard_info:
    name: ons-data-platform-prod-influxdb
  register: dashboard
"""

RETURN = r"""
dashboards:
  description: The dashboards found.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the dashboard.
      type: str
    arn:
      description: ARN of the dashboard.
      type: str
    body:
      description: The dashboard body, parsed.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import CloudWatchError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import get_dashboard
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import list_dashboard_names
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.cloudwatch import retry_decorator


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str"), name_prefix=dict(type="str")),
        supports_check_mode=True,
    )
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        if module.params["name"]:
            names = [module.params["name"]]
        else:
            names = list_dashboard_names(client, module.params["name_prefix"] or "")
        dashboards = [d for d in (get_dashboard(client, name) for name in names) if d is not None]
    except CloudWatchError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, dashboards=dashboards)


if __name__ == "__main__":
    main()
