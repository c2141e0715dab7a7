#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_backup_info
version_added: 0.1.0
short_description: List backups of Amazon Timestream for InfluxDB instances
description:
  - Returns the backups (on-demand and automated) of every instance, or of one instance, or the one named
    or identified, with full details (C(GetDbBackup)) and tags.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Only backups with this name.
    type: str
  id:
    description:
      - Only the backup with this id.
    type: str
  instance:
    description:
      - Only backups of the DB instance with this name or id.
    type: str
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_backup
  - module: ons.timestream_influxdb.timestream_influxdb_instance_info
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
notes:
  - Supports check mode (it makes no change either way).
"""

EXAMPLES = r"""
- name: Backups of the metrics instance
  ons.timestream_influxdb.timestream_influxdb_backup_info:
    instance: ons-metrics
  register: backups

- name: Completed backups
  ansible.builtin.debug:
    msg: "{{ backups.backups | selectattr('status', 'equalto', 'COMPLETED') | map(attribute='name') }}"
"""

RETURN = r"""
backups:
  description: The backups (snake_case) with their tags; empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id of the backup.
      type: str
    name:
      description: Name of the backup.
      type: str
    arn:
      description: ARN of the backup.
      type: str
    status:
      description: Status of the backup.
      type: str
    type:
      description: Backup type, for example V(ON_DEMAND) or V(DAILY).
      type: str
    db_resource_id:
      description: Id of the backed-up instance.
      type: str
    created_at:
      description: When the backup was taken.
      type: str
    expires_after:
      description: Date after which the backup expires.
      type: str
    tags:
      description: Tags of the backup.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_instance_by_name_or_id
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_backup
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_db_backups
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resource_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import validate_identifier


def gather(client, name=None, backup_id=None, instance=None):
    db_resource_id = None
    if instance is not None:
        found = find_db_instance_by_name_or_id(client, instance)
        if found is None:
            return []
        db_resource_id = found["id"]
    if backup_id is not None:
        backup = get_db_backup(client, backup_id)
        summaries = [backup] if backup else []
        summaries = [b for b in summaries if db_resource_id in (None, b.get("dbResourceId"))]
    else:
        summaries = list_db_backups(client, db_resource_id)
    backups = []
    for summary in summaries:
        if name is not None and summary.get("name") != name:
            continue
        backup = summary if backup_id is not None else get_db_backup(client, summary["id"])
        if backup is not None:
            backups.append(resource_to_ansible(backup, list_tags(client, backup["arn"])))
    return backups


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str"), id=dict(type="str"), instance=dict(type="str")),
        supports_check_mode=True,
    )
    # Creating the client makes no request; its service model validates the id first.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        validate_identifier(service_model(client), module.params["id"], "GetDbBackup")
    except ValidationError as e:
        module.fail_json(msg=str(e))
    try:
        backups = gather(client, module.params["name"], module.params["id"], module.params["instance"])
    except TimestreamInfluxDBError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, backups=backups)


if __name__ == "__main__":
    main()
