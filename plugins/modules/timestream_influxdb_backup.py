#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_backup
version_added: 0.1.0
short_description: Manage on-demand backups of Amazon Timestream for InfluxDB instances and restore them
description:
  - Creates an on-demand backup of a Timestream for InfluxDB instance (C(CreateDbBackup)), deletes a backup
    (C(DeleteDbBackup)), or restores a backup into a new instance (C(RestoreFromDbBackup)).
  - A backup is found by O(id), or by O(name) among the backups of O(instance) (of every instance when
    O(instance) is not given).
  - A backup cannot be changed once taken; only its tags are brought to O(tags).
  - A restore creates a new instance named O(restore_name); when an instance with that name already exists
    nothing is restored (the module reports no change). An existing instance is never overwritten.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  state:
    description:
      - V(present) takes the backup when no backup named O(name) exists.
      - V(absent) deletes the backup. A backup that is already being deleted is reported unchanged (and waited
        for with O(wait=true)).
      - V(restored) restores the backup into a new instance named O(restore_name).
    type: str
    choices: [present, absent, restored]
    default: present
  name:
    description:
      - Name of the backup, 3 to 40 letters, digits and hyphens, starting with a letter.
      - One of O(name) or O(id) is required; O(name) is required to take a backup.
    type: str
  id:
    description:
      - Id of an existing backup.
    type: str
  instance:
    description:
      - Name or id of the DB instance to back up. Required to take a backup.
    type: str
  retention_days:
    description:
      - Days the backup is kept (1 to 3650). Only used when the backup is taken.
    type: int
  restore_name:
    description:
      - Name of the instance to restore into (O(state=restored)).
    type: str
  restore_to_time:
    description:
      - Point in time (ISO 8601) to restore to, for continuous backups.
    type: str
  vpc_subnet_ids:
    description:
      - Subnets of the restored instance (default those of the backed-up instance).
    type: list
    elements: str
  vpc_security_group_ids:
    description:
      - Security groups of the restored instance (default those of the backed-up instance).
    type: list
    elements: str
  publicly_accessible:
    description:
      - Whether the restored instance gets a public address.
    type: bool
  port:
    description:
      - Port of the restored instance, 1024 to 65535 except 2375-2376, 7788-7799, 8090 and 51678-51680.
    type: int
  network_type:
    description:
      - Network type of the restored instance, V(IPV4) or V(DUAL) (the AWS API model's C(NetworkType) values).
    type: str
  deployment_type:
    description:
      - Deployment type of the restored instance, V(SINGLE_AZ) or V(WITH_MULTIAZ_STANDBY) (the AWS API model's
        C(DeploymentType) values).
    type: str
  kms_key_id:
    description:
      - KMS key of the restored instance.
    type: str
  log_delivery_configuration:
    description:
      - Log delivery of the restored instance.
    type: dict
    suboptions:
      s3_configuration:
        description: The S3 bucket.
        type: dict
        required: true
        suboptions:
          bucket_name:
            description: Name of the S3 bucket.
            type: str
            required: true
          enabled:
            description: Whether log delivery is enabled.
            type: bool
            required: true
  maintenance_schedule:
    description:
      - Maintenance schedule of the restored instance.
    type: dict
    suboptions:
      timezone:
        description: IANA time zone.
        type: str
        required: true
      preferred_maintenance_window:
        description: The window, as C(ddd:HH:MM-ddd:HH:MM).
        type: str
        required: true
  wait:
    description:
      - Wait for the backup to complete (V(present)), to be deleted (V(absent)) or for the restored instance
        to be available (V(restored)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait.
    type: int
    default: 3600
  tags:
    description:
      - With V(present), the tags of the backup (brought to this dictionary, see O(purge_tags)).
      - With V(restored), the tags given to the restored instance when it is created.
      - If the O(tags) parameter is not set then tags will not be modified.
    type: dict
    aliases: ['resource_tags']
  purge_tags:
    description:
      - With V(present) and O(tags) set, remove the backup's tags that are not in O(tags) (tags starting with
        V(aws:) are kept).
    type: bool
    default: true
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_backup_info
  - module: ons.timestream_influxdb.timestream_influxdb_instance
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Supports check mode and diff mode (C(diff) is returned with C(--diff) only).
  - In check mode, an O(instance) (with O(state=present)) or a backup (with O(state=restored)) that does not
    exist yet (an earlier task of the play may create it) gives a warning, and the result is predicted.
"""

EXAMPLES = r"""
- name: Back up the metrics instance before the migration
  ons.timestream_influxdb.timestream_influxdb_backup:
    name: before-migration
    instance: ons-metrics
    retention_days: 30
    tags:
      Purpose: migration

- name: Restore it into a new instance
  ons.timestream_influxdb.timestream_influxdb_backup:
    name: before-migration
    instance: ons-metrics
    state: restored
    restore_name: ons-metrics-restored

- name: Delete the backup
  ons.timestream_influxdb.timestream_influxdb_backup:
    name: before-migration
    instance: ons-metrics
    state: absent
"""

RETURN = r"""
backup:
  description: The backup (snake_case) with its tags; empty once deleted.
  returned: always
  type: dict
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
      description: V(IN_PROGRESS), V(COMPLETED), V(FAILED), V(DELETING) or V(DELETED).
      type: str
    db_resource_id:
      description: Id of the backed-up instance.
      type: str
    type:
      description: Backup type (V(ON_DEMAND) for backups this module takes).
      type: str
    expires_after:
      description: Date after which the backup expires.
      type: str
    created_at:
      description: When the backup was taken.
      type: str
    tags:
      description: Tags of the backup.
      type: dict
instance:
  description: With O(state=restored), the restored instance (snake_case) with its tags.
  returned: when O(state=restored)
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import BACKUP_STATUS_GONE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import BACKUP_STATUS_READY
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import INSTANCE_STATUS_READY
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import apply_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import check_port
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import coerce_to_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import create_db_backup
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import delete_db_backup
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import describe_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_backup
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_instance_by_name_or_id
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import input_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import log_delivery_configuration_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import maintenance_schedule_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import plan_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import predicted_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resource_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import restore_from_db_backup
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import validate_identifier
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import validate_request
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import wait_for

RESTORE_OPTIONS = {
    "restore_name": "name",
    "restore_to_time": "restoreToTime",
    "vpc_subnet_ids": "vpcSubnetIds",
    "vpc_security_group_ids": "vpcSecurityGroupIds",
    "publicly_accessible": "publiclyAccessible",
    "port": "port",
    "network_type": "networkType",
    "deployment_type": "deploymentType",
    "kms_key_id": "kmsKeyId",
    "log_delivery_configuration": "logDeliveryConfiguration",
    "maintenance_schedule": "maintenanceSchedule",
}


def backup_request(model, params, db_resource_id=None):
    """The CreateDbBackup request (validated against ``model``).

    Without ``db_resource_id`` (the instance is not resolved yet, or does not exist in check mode)
    every other member is validated and ``dbResourceId`` is left out."""
    request = {"name": params.get("name"), "retentionDays": params.get("retention_days")}
    if params.get("tags"):
        request["tags"] = {k: str(v) for k, v in params["tags"].items()}
    names = {"dbResourceId": "instance", "retentionDays": "retention_days"}
    if db_resource_id is None:
        shape = input_shape(model, "CreateDbBackup")
        return {m: coerce_to_shape(v, shape.members[m], names.get(m, m)) for m, v in request.items() if v is not None}
    request["dbResourceId"] = db_resource_id
    return validate_request(model, "CreateDbBackup", request, names=names)


def restore_request(model, params, backup_id=None):
    """The RestoreFromDbBackup request (validated against ``model``); ``dbBackupId`` is left out
    until the backup is known."""
    request = {member: params.get(option) for option, member in RESTORE_OPTIONS.items()}
    request["restoreMode"] = "NEW_RESOURCE"
    if params.get("tags"):
        request["tags"] = {k: str(v) for k, v in params["tags"].items()}
    names = {member: option for option, member in RESTORE_OPTIONS.items()}
    names["dbBackupId"] = "id"
    shape = input_shape(model, "RestoreFromDbBackup")
    if backup_id is None:
        result = {m: coerce_to_shape(v, shape.members[m], names.get(m, m)) for m, v in request.items() if v is not None}
    else:
        result = validate_request(model, "RestoreFromDbBackup", dict(request, dbBackupId=backup_id), names=names)
    check_port(result.get("port"))
    return result


def validate_params(model, params):
    """Checks that need no AWS call (the required options are the argument spec's required_if);
    raises ValidationError."""
    validate_identifier(model, params.get("id"), "GetDbBackup")
    if params["state"] == "present":
        backup_request(model, params)
    elif params.get("name"):
        backup_request(model, dict(params, retention_days=None, tags=None))
    if params["state"] == "restored":
        restore_request(model, params)


def _wait_backup(client, backup, params):
    if params["wait"] and backup.get("status") not in BACKUP_STATUS_READY:
        return wait_for(client, "db_backup_completed", backup["id"], params["wait_timeout"])
    return backup


def ensure_present(module, client, instance, current):
    params = module.params
    if current is None:
        if instance is None:
            missing = f"instance {params['instance']!r}: no Timestream for InfluxDB instance has this name or id"
            if not module.check_mode:
                raise ValidationError(missing)
            # An earlier task of the play may create it (check mode did not): predict the backup.
            module.warn(f"{missing}; check mode assumes an earlier task creates it and predicts the backup")
        model = service_model(client)
        request = backup_request(model, params, instance["id"]) if instance else backup_request(model, params)
        predicted = resource_to_ansible(
            dict(
                name=request["name"],
                dbResourceId=instance["id"] if instance else None,
                status="IN_PROGRESS",
                type="ON_DEMAND",
            ),
            request.get("tags") or {},
        )
        diff = dict(before={}, after=predicted)
        if module.check_mode:
            return dict(changed=True, backup=predicted, diff=diff)
        if instance.get("status") not in INSTANCE_STATUS_READY:
            # The service backs up only available instances (a fresh one may still be CREATING).
            instance = wait_for(client, "db_instance_available", instance["id"], params["wait_timeout"])
        created = create_db_backup(client, request)
        backup = find_db_backup(client, backup_id=created["id"]) or created
        backup = _wait_backup(client, backup, params)
        return dict(changed=True, backup=resource_to_ansible(backup, list_tags(client, backup["arn"])), diff=diff)
    current_tags = list_tags(client, current["arn"])
    to_set, to_unset = plan_tags(current_tags, params["tags"], params["purge_tags"])
    new_tags = predicted_tags(current_tags, to_set, to_unset)
    changed = bool(to_set or to_unset)
    diff = dict(before={"tags": current_tags}, after={"tags": new_tags})
    if module.check_mode:
        return dict(changed=changed, backup=resource_to_ansible(current, new_tags), diff=diff)
    apply_tags(client, current["arn"], to_set, to_unset)
    backup = _wait_backup(client, current, params)
    return dict(changed=changed, backup=resource_to_ansible(backup, list_tags(client, backup["arn"])), diff=diff)


def ensure_absent(module, client, current):
    params = module.params
    if current is None:
        return dict(changed=False, backup={}, diff=dict(before={}, after={}))
    before = resource_to_ansible(current, list_tags(client, current["arn"]))
    if current.get("status") in BACKUP_STATUS_GONE:
        # Already being deleted (an earlier run with wait=false): no change, only a wait if asked.
        result = dict(changed=False, diff=dict(before={}, after={}))
        if params["wait"] and not module.check_mode:
            wait_for(client, "db_backup_deleted", current["id"], params["wait_timeout"])
            return dict(result, backup={})
        return dict(result, backup=before)
    result = dict(changed=True, diff=dict(before=before, after={}))
    if module.check_mode:
        return dict(result, backup=dict(before, status="DELETING"))
    if current.get("status") not in BACKUP_STATUS_READY + ("FAILED",):
        current = wait_for(client, "db_backup_completed", current["id"], params["wait_timeout"])
    deleted = delete_db_backup(client, current["id"])
    if deleted is False:
        return dict(result, changed=False, backup={})
    if params["wait"]:
        wait_for(client, "db_backup_deleted", current["id"], params["wait_timeout"])
        return dict(result, backup={})
    return dict(result, backup=resource_to_ansible(deleted, before.get("tags")))


def ensure_restored(module, client, backup):
    params = module.params
    if backup is None:
        missing = f"backup {params['name'] or params['id']!r} does not exist, nothing to restore"
        if not module.check_mode:
            raise ValidationError(missing)
        module.warn(f"{missing}; check mode assumes an earlier task takes it and predicts the restore")
    backup_out = resource_to_ansible(backup, list_tags(client, backup["arn"])) if backup else {}
    existing = find_db_instance(client, name=params["restore_name"])
    if existing is not None:
        if params["wait"] and not module.check_mode and existing.get("status") not in INSTANCE_STATUS_READY:
            existing = wait_for(client, "db_instance_available", existing["id"], params["wait_timeout"])
        return dict(changed=False, backup=backup_out, instance=describe_instance(client, existing), diff=dict(before={}, after={}))
    model = service_model(client)
    request = restore_request(model, params, backup["id"]) if backup else restore_request(model, params)
    predicted = resource_to_ansible(
        {k: v for k, v in request.items() if k not in ("dbBackupId", "restoreMode", "tags")}, request.get("tags") or {}
    )
    predicted["status"] = "RESTORING"
    diff = dict(before={}, after=predicted)
    if module.check_mode:
        return dict(changed=True, backup=backup_out, instance=predicted, diff=diff)
    if backup.get("status") not in BACKUP_STATUS_READY:
        backup = wait_for(client, "db_backup_completed", backup["id"], params["wait_timeout"])
    restored = restore_from_db_backup(client, request)
    instance_id = restored["restoredDbResourceId"]
    if params["wait"]:
        instance = wait_for(client, "db_instance_available", instance_id, params["wait_timeout"])
    else:
        instance = get_db_instance(client, instance_id) or {"id": instance_id, "status": restored.get("restoreStatus")}
    return dict(changed=True, backup=backup_out, instance=describe_instance(client, instance), diff=diff)


# Options each state needs (checked by AnsibleModule before the module runs).
REQUIRED_IF = [["state", "present", ["name", "instance"]], ["state", "restored", ["restore_name"]]]


def argument_spec():
    """The module's options; enumerations are checked against the client's service model."""
    return dict(
        state=dict(type="str", choices=["present", "absent", "restored"], default="present"),
        name=dict(type="str"),
        id=dict(type="str"),
        instance=dict(type="str"),
        retention_days=dict(type="int"),
        restore_name=dict(type="str"),
        restore_to_time=dict(type="str"),
        vpc_subnet_ids=dict(type="list", elements="str"),
        vpc_security_group_ids=dict(type="list", elements="str"),
        publicly_accessible=dict(type="bool"),
        port=dict(type="int"),
        network_type=dict(type="str"),
        deployment_type=dict(type="str"),
        kms_key_id=dict(type="str", no_log=False),
        log_delivery_configuration=log_delivery_configuration_spec(),
        maintenance_schedule=maintenance_schedule_spec(),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        required_one_of=[["name", "id"]],
        required_if=REQUIRED_IF,
        supports_check_mode=True,
    )
    params = module.params
    # Creating the client makes no request; its service model validates the options first.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        validate_params(service_model(client), params)
    except ValidationError as e:
        module.fail_json(msg=str(e))

    try:
        instance = None
        if params["instance"]:
            instance = find_db_instance_by_name_or_id(client, params["instance"])
        if params["instance"] and instance is None and not params["id"]:
            current = None  # a backup of an instance that does not exist does not exist either
        else:
            current = find_db_backup(
                client,
                name=params["name"],
                backup_id=params["id"],
                db_resource_id=instance["id"] if instance else None,
                include_deleting=params["state"] == "absent",
            )
        if params["state"] == "present":
            result = ensure_present(module, client, instance, current)
        elif params["state"] == "absent":
            result = ensure_absent(module, client, current)
        else:
            result = ensure_restored(module, client, current)
    except ValidationError as e:
        module.fail_json(msg=str(e))
    except TimestreamInfluxDBError as e:
        module.fail_json_aws_error(e)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
