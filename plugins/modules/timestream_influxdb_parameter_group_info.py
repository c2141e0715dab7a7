#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_parameter_group_info
version_added: 0.1.0
short_description: Describe Amazon Timestream for InfluxDB DB parameter groups
description:
  - Returns every DB parameter group of the account and region, or the one named or identified by O(name),
    with its parameters and tags.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Only the group with this name or id.
    type: str
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_parameter_group
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
notes:
  - Supports check mode (it makes no change either way).
"""

EXAMPLES = r"""
- name: All parameter groups
  ons.timestream_influxdb.timestream_influxdb_parameter_group_info:
  register: groups

- name: One group
  ons.timestream_influxdb.timestream_influxdb_parameter_group_info:
    name: ons-influxdb-params
  register: params
"""

RETURN = r"""
parameter_groups:
  description: The parameter groups (snake_case) with their tags; empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id of the group.
      type: str
    name:
      description: Name of the group.
      type: str
    arn:
      description: ARN of the group.
      type: str
    description:
      description: Description.
      type: str
    parameters:
      description: Parameters by engine (for example V(InfluxDBv2)), with snake_case names.
      type: dict
    tags:
      description: Tags of the group.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_parameter_group
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_db_parameter_groups
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import match_parameter_group
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resource_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator


def gather(client, name=None):
    summaries = list_db_parameter_groups(client)
    if name is not None:
        match = match_parameter_group(summaries, name)
        summaries = [match] if match else []
    groups = []
    for summary in summaries:
        group = get_db_parameter_group(client, summary["id"])
        if group is not None:
            groups.append(resource_to_ansible(group, list_tags(client, group["arn"])))
    return groups


def main():
    module = AnsibleAWSModule(argument_spec=dict(name=dict(type="str")), supports_check_mode=True)
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        groups = gather(client, module.params["name"])
    except TimestreamInfluxDBError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, parameter_groups=groups)


if __name__ == "__main__":
    main()
