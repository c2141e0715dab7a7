#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_instance_info
version_added: 0.1.0
short_description: Describe Amazon Timestream for InfluxDB instances
description:
  - Returns every Timestream for InfluxDB instance of the account and region, or the one named by O(name) or
    identified by O(id), with full details (C(GetDbInstance)) and tags.
  - Instances that belong to a DB cluster are not listed by C(ListDbInstances) and so are not returned.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Only the instance with this name.
    type: str
  id:
    description:
      - Only the instance with this id.
    type: str
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_instance
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
notes:
  - It reads only, so check mode runs it as usual.
"""

EXAMPLES = r"""
- name: All instances
  ons.timestream_influxdb.timestream_influxdb_instance_info:
  register: all_instances

- name: One instance by name
  ons.timestream_influxdb.timestream_influxdb_instance_info:
    name: ons-metrics
  register: metrics

- name: Its endpoint
  ansible.builtin.debug:
    msg: "https://{{ metrics.instances[0].endpoint }}:{{ metrics.instances[0].port }}"
  when: metrics.instances | length > 0
"""

RETURN = r"""
instances:
  description:
    - The instances (snake_case, as C(GetDbInstance) describes them), with their tags, in the order
      C(ListDbInstances) gives them. Empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id of the instance.
      type: str
    arn:
      description: ARN of the instance.
      type: str
    name:
      description: Name of the instance.
      type: str
    status:
      description: Status of the instance.
      type: str
      sample: AVAILABLE
    endpoint:
      description: Host name InfluxDB is reached at.
      type: str
    port:
      description: Port InfluxDB listens on.
      type: int
      sample: 8086
    db_instance_type:
      description: Instance class.
      type: str
    db_storage_type:
      description: Storage type.
      type: str
    allocated_storage:
      description: Storage in GiB.
      type: int
    deployment_type:
      description: Deployment type.
      type: str
    availability_zone:
      description: Availability zone of the primary.
      type: str
    secondary_availability_zone:
      description: Availability zone of the standby.
      type: str
    influx_auth_parameters_secret_arn:
      description: ARN of the auth-parameters secret.
      type: str
    tags:
      description: Tags of the instance.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import describe_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_db_instances
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import validate_identifier


def select_summaries(summaries, name=None, instance_id=None):
    """The instance summaries matching the filters (all of them without filters)."""
    return [
        s
        for s in summaries
        if (name is None or s.get("name") == name) and (instance_id is None or s.get("id") == instance_id)
    ]


def gather(client, name=None, instance_id=None):
    if instance_id is not None and name is None:
        instance = get_db_instance(client, instance_id)
        return [describe_instance(client, instance)] if instance else []
    instances = []
    for summary in select_summaries(list_db_instances(client), name, instance_id):
        instance = get_db_instance(client, summary["id"])
        if instance is not None:  # deleted between the list and the get
            instances.append(describe_instance(client, instance))
    return instances


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str"), id=dict(type="str")),
        supports_check_mode=True,
    )
    # Creating the client makes no request; its service model validates the id first.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        validate_identifier(service_model(client), module.params["id"], "GetDbInstance")
    except ValidationError as e:
        module.fail_json(msg=str(e))
    try:
        instances = gather(client, module.params["name"], module.params["id"])
    except TimestreamInfluxDBError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, instances=instances)


if __name__ == "__main__":
    main()
