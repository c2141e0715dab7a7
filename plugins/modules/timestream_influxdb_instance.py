#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_instance
version_added: 0.1.0
short_description: Manage Amazon Timestream for InfluxDB instances
description:
  - Create, update in place, reboot and delete Amazon Timestream for InfluxDB (InfluxDB v2) DB instances.
  - An instance is found by O(name) through the paginated C(ListDbInstances) (C(GetDbInstance) only takes an id), or by O(id).
  - Every option is validated against the AWS API model (patterns, ranges, enumerations) and against the
    rules the service applies beyond it (reserved ports, storage minimum of the T2/T3 storage types,
    storage that can only grow) before any change is made.
  - An existing instance is compared with the options given. Options that the service can change in place
    (O(db_instance_type), O(deployment_type), O(db_storage_type), O(allocated_storage), O(port),
    O(db_parameter_group_identifier), O(log_delivery_configuration), O(maintenance_schedule),
    O(db_backup_configurations)) are changed with C(UpdateDbInstance), sending only the values that differ.
    Configuration changes go in one call; a deployment type change, an instance type change and a storage
    change each get a call of their own, and the module waits for the instance to be available between calls.
  - A difference in an option that only creation sets (O(name), O(username), O(organization), O(bucket),
    O(vpc_subnet_ids), O(vpc_security_group_ids), O(publicly_accessible), O(network_type), O(kms_key_id))
    makes the module fail, listing the current and wanted values. The module never deletes a database
    to apply a change.
  - C(GetDbInstance) does not report O(username), O(organization) or O(bucket); when one of them is given,
    the module reads them from the instance's auth-parameters secret (C(secretsmanager:GetSecretValue); the
    password in it is dropped at once and never compared or returned). Without access to the secret their
    comparison is skipped with a warning.
  - O(password) is used only when the instance is created; it cannot be read back and is never compared.
    Rotating it is the job of the credential rotation (the instance's auth-parameters secret).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  state:
    description:
      - V(present) creates the instance or brings it to the options given.
      - V(absent) deletes it. An instance that is already being deleted (C(DELETING)) is left to it and
        reported unchanged. The service refuses to delete an instance while one of its backups is being
        taken, so the module first waits (within O(wait_timeout)) until no backup of the instance is
        C(IN_PROGRESS).
      - V(rebooted) does what V(present) does, then reboots an instance that already existed
        (C(RebootDbInstance)); it always reports a change.
    type: str
    choices: [present, absent, rebooted]
    default: present
  name:
    description:
      - Name of the DB instance, unique in the account and region. 3 to 40 letters, digits and hyphens,
        starting with a letter.
      - One of O(name) or O(id) is required; O(name) is required to create.
    type: str
  id:
    description:
      - Id of an existing DB instance. When given, the instance is looked up by id instead of by name.
    type: str
  username:
    description:
      - Username of the initial InfluxDB admin user (AWS default V(admin)). Only used at creation.
    type: str
  password:
    description:
      - Password of the initial InfluxDB admin user, 8 to 64 letters and digits.
      - Required to create; only used at creation and never returned.
    type: str
  organization:
    description:
      - Name of the initial InfluxDB organization. Required to create (the API model marks it optional, but
        AWS cannot onboard an InfluxDB v2 instance without it); only used at creation.
    type: str
  bucket:
    description:
      - Name of the initial InfluxDB bucket. Required to create (as O(organization)); only used at creation.
    type: str
  db_instance_type:
    description:
      - The compute instance class, one of the AWS API model's C(DbInstanceType) values (V(db.influx.medium),
        V(db.influx.large), V(db.influx.xlarge), V(db.influx.2xlarge) ... V(db.influx.24xlarge)).
        Required to create; changed in place.
    type: str
  vpc_subnet_ids:
    description:
      - Ids of the subnets (1 to 6) the instance is placed in. Required to create; cannot change.
    type: list
    elements: str
  vpc_security_group_ids:
    description:
      - Ids of the security groups (1 to 5) of the instance. Required to create; cannot change.
    type: list
    elements: str
  publicly_accessible:
    description:
      - Whether the instance gets a public address. Cannot change.
      - When not given, a new instance gets AWS's default (V(false)) and an existing one is not compared.
    type: bool
  db_storage_type:
    description:
      - The storage type (AWS default V(InfluxIOIncludedT1)). V(InfluxIOIncludedT2) and V(InfluxIOIncludedT3)
        need O(allocated_storage) of at least 400 GiB. Changed in place (AWS allows one change every 6 hours).
      - One of the AWS API model's C(DbStorageType) values (V(InfluxIOIncludedT1), V(InfluxIOIncludedT2),
        V(InfluxIOIncludedT3)).
    type: str
  allocated_storage:
    description:
      - Storage in GiB (20 to 15360). Required to create; can only grow.
    type: int
  db_parameter_group_identifier:
    description:
      - The DB parameter group, by id or by name (a name is resolved to its id through C(ListDbParameterGroups)).
        Changed in place.
    type: str
  deployment_type:
    description:
      - V(SINGLE_AZ) or V(WITH_MULTIAZ_STANDBY) (AWS default V(SINGLE_AZ)), the AWS API model's
        C(DeploymentType) values. Changed in place.
    type: str
  network_type:
    description:
      - V(IPV4) or V(DUAL) (AWS default V(IPV4)), the AWS API model's C(NetworkType) values. Cannot change.
    type: str
  port:
    description:
      - Port InfluxDB listens on (AWS default 8086), 1024 to 65535 except 2375-2376, 7788-7799, 8090 and 51678-51680.
        Changed in place (the database restarts).
    type: int
  log_delivery_configuration:
    description:
      - Delivery of the InfluxDB engine logs to S3. Changed in place.
      - The bucket policy must let C(timestream-influxdb.amazonaws.com) put objects.
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
      - The weekly maintenance window. Changed in place.
    type: dict
    suboptions:
      timezone:
        description: IANA time zone the window is expressed in, for example V(UTC) or V(Europe/London).
        type: str
        required: true
      preferred_maintenance_window:
        description: The window, as C(ddd:HH:MM-ddd:HH:MM), for example V(Sun:02:00-Sun:04:00).
        type: str
        required: true
  db_backup_configurations:
    description:
      - Automated backup configurations (1 to 4). Changed in place. Compared regardless of order.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - Backup frequency, one of the AWS API model's values (V(HOURLY), V(DAILY), V(WEEKLY), V(MONTHLY),
            V(CUSTOM_SCHEDULE), V(CONTINUOUS)).
        type: str
        required: true
      retention_days:
        description: Days the backups are kept (1 to 365).
        type: int
        required: true
      enabled:
        description: Whether this configuration is enabled.
        type: bool
        required: true
      custom_schedule:
        description: A cron expression, C(cron(m h dom mon dow y)), for O(db_backup_configurations[].type=CUSTOM_SCHEDULE).
        type: str
  kms_key_id:
    description:
      - KMS key (id, ARN, alias or alias ARN) that encrypts the instance's storage. Cannot change.
      - A key id and its ARN compare equal; an alias is resolved with C(kms:DescribeKey) to compare it with
        an existing instance's key (skipped with a warning without access to KMS).
    type: str
  retain_automated_backups:
    description:
      - With O(state=absent), whether the automated backups of the instance are kept after it is deleted, so
        that they can be restored later (C(DeleteDbInstance)'s C(retainAutomatedBackups)).
      - When not given, the parameter is not sent and the AWS default applies.
    type: bool
  wait:
    description:
      - Wait for the instance to be available (or deleted) before returning, also when nothing has to change
        (for example when an earlier run with O(wait=false) left the instance being created, modified or deleted).
      - With O(wait=false) the module returns right after the last call; between several update calls it
        still waits, because the service accepts no change while an instance is being modified.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each transition. Creation takes 10 to 20 minutes on AWS.
      - The status is polled at once, then every second for 5 seconds, and then at growing intervals
        (2, 5, 10 and at most 30 seconds), so a wait ends within seconds of a quick transition.
    type: int
    default: 3600
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_instance_info
  - module: ons.timestream_influxdb.timestream_influxdb_parameter_group
  - module: ons.timestream_influxdb.timestream_influxdb_backup
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Supports check mode (no change is made; the predicted result is returned, with every key of RV(instance);
    what only AWS can tell, such as the id of an instance to be created, is null) and diff mode (the before
    and after values of every compared option and of the tags).
  - The module waits with botocore waiters built on amazon.aws's C(BaseWaiterFactory); while waiting for
    an instance to be available, a C(FAILED), C(REBOOT_FAILED) or C(RESTORE_FAILED) status ends the wait at
    once with that status in the message. While waiting for a deletion these statuses are polled on (deleting
    a failed instance is a common case).
  - In check mode, an O(db_parameter_group_identifier) that names no existing group (an earlier task of the
    play may create it) gives a warning, and the result is predicted with the identifier as given.
"""

EXAMPLES = r"""
- name: Create a Multi-AZ instance in the private subnets
  ons.timestream_influxdb.timestream_influxdb_instance:
    name: ons-metrics
    username: admin
    password: "{{ influxdb_admin_password }}"
    organization: ons
    bucket: telemetry
    db_instance_type: db.influx.large
    db_storage_type: InfluxIOIncludedT1
    allocated_storage: 100
    deployment_type: WITH_MULTIAZ_STANDBY
    vpc_subnet_ids: "{{ private_subnet_ids }}"
    vpc_security_group_ids: ["{{ influxdb_sg_id }}"]
    db_parameter_group_identifier: ons-influxdb-params
    maintenance_schedule:
      timezone: Europe/London
      preferred_maintenance_window: "Sun:02:00-Sun:04:00"
    log_delivery_configuration:
      s3_configuration:
        bucket_name: ons-influxdb-logs
        enabled: true
    kms_key_id: "{{ kms_key_arn }}"
    tags:
      Environment: prod
  register: influxdb

- name: Grow the storage and move to a larger instance class (in place; the options left out are not compared)
  ons.timestream_influxdb.timestream_influxdb_instance:
    name: ons-metrics
    db_instance_type: db.influx.xlarge
    allocated_storage: 200

- name: Reboot the instance
  ons.timestream_influxdb.timestream_influxdb_instance:
    name: ons-metrics
    state: rebooted

- name: Delete the instance without waiting
  ons.timestream_influxdb.timestream_influxdb_instance:
    name: ons-metrics
    state: absent
    wait: false
"""

RETURN = r"""
instance:
  description:
    - The instance as AWS describes it (snake_case), with its tags. Never contains the password.
    - Empty after a deletion that was waited for; in check mode, the predicted instance.
  returned: always
  type: dict
  contains:
    id:
      description: Id of the instance.
      type: str
      sample: a1b2c3d4e5
    arn:
      description: ARN of the instance.
      type: str
      sample: arn:aws:timestream-influxdb:eu-west-2:123456789012:db-instance/a1b2c3d4e5
    name:
      description: Name of the instance.
      type: str
      sample: ons-metrics
    status:
      description: Status, for example V(CREATING), V(AVAILABLE), V(UPDATING_INSTANCE_TYPE), V(DELETING).
      type: str
      sample: AVAILABLE
    endpoint:
      description: Host name InfluxDB is reached at.
      type: str
      sample: a1b2c3d4e5-abcdefgh.timestream-influxdb.eu-west-2.on.aws
    port:
      description: Port InfluxDB listens on.
      type: int
      sample: 8086
    availability_zone:
      description: Availability zone of the primary.
      type: str
      sample: eu-west-2a
    secondary_availability_zone:
      description: Availability zone of the standby (Multi-AZ deployments).
      type: str
      sample: eu-west-2b
    influx_auth_parameters_secret_arn:
      description: ARN of the Secrets Manager secret holding the initial username, password, organization and bucket.
      type: str
    db_instance_type:
      description: Instance class.
      type: str
      sample: db.influx.large
    db_storage_type:
      description: Storage type.
      type: str
      sample: InfluxIOIncludedT1
    allocated_storage:
      description: Storage in GiB.
      type: int
      sample: 100
    deployment_type:
      description: Deployment type.
      type: str
      sample: SINGLE_AZ
    network_type:
      description: Network type.
      type: str
      sample: IPV4
    vpc_subnet_ids:
      description: Subnet ids.
      type: list
      elements: str
    vpc_security_group_ids:
      description: Security group ids.
      type: list
      elements: str
    publicly_accessible:
      description: Whether the instance has a public address.
      type: bool
    db_parameter_group_identifier:
      description: Id of the DB parameter group.
      type: str
    log_delivery_configuration:
      description: Log delivery configuration.
      type: dict
    maintenance_schedule:
      description: Maintenance schedule.
      type: dict
    db_backup_configurations:
      description: Automated backup configurations.
      type: list
      elements: dict
    kms_key_id:
      description: KMS key.
      type: str
    tags:
      description: Tags of the instance.
      type: dict
      sample: {"Environment": "prod"}
update_calls:
  description: The C(UpdateDbInstance) calls made (or, in check mode, planned), each a dict of the changed fields (snake_case).
  returned: always
  type: list
  elements: dict
  sample: [{"port": 8087}, {"db_instance_type": "db.influx.xlarge"}]
"""

import copy

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import AUTH_SECRET_FIELDS
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import CREATE_DEFAULTS
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import INSTANCE_STATUS_FAILED
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import INSTANCE_STATUS_GONE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import INSTANCE_STATUS_READY
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import apply_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import check_updates
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import compare_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import create_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import delete_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import describe_immutable
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import describe_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import diff_fields
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import instance_request_from_params
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import is_kms_alias
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import log_delivery_configuration_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import maintenance_schedule_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import missing_create_options
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import plan_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import plan_updates
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import predicted_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import read_auth_parameters
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import reboot_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resolve_kms_key_id
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resolve_parameter_group_id
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resource_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import update_db_instance
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import validate_identifier
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import value_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import wait_for
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import wait_for_running_backups

# The keys RETURN documents for ``instance`` (API form): a predicted instance carries every one,
# null where only AWS can tell (the unit tests check this list against RETURN).
INSTANCE_RESULT_MEMBERS = (
    "id",
    "arn",
    "name",
    "status",
    "endpoint",
    "port",
    "availabilityZone",
    "secondaryAvailabilityZone",
    "influxAuthParametersSecretArn",
    "dbInstanceType",
    "dbStorageType",
    "allocatedStorage",
    "deploymentType",
    "networkType",
    "vpcSubnetIds",
    "vpcSecurityGroupIds",
    "publiclyAccessible",
    "dbParameterGroupIdentifier",
    "logDeliveryConfiguration",
    "maintenanceSchedule",
    "dbBackupConfigurations",
    "kmsKeyId",
)


def argument_spec():
    """The module's options. Enumerations (instance types, storage types, deployment and network
    types, backup frequencies) are not listed here: they are checked against the service model
    of the client, so a value AWS adds works without a new release."""
    return dict(
        state=dict(type="str", choices=["present", "absent", "rebooted"], default="present"),
        name=dict(type="str"),
        id=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        organization=dict(type="str"),
        bucket=dict(type="str"),
        db_instance_type=dict(type="str"),
        vpc_subnet_ids=dict(type="list", elements="str"),
        vpc_security_group_ids=dict(type="list", elements="str"),
        # No default: a create-only option the task does not state is never compared.
        publicly_accessible=dict(type="bool"),
        db_storage_type=dict(type="str"),
        allocated_storage=dict(type="int"),
        db_parameter_group_identifier=dict(type="str"),
        deployment_type=dict(type="str"),
        network_type=dict(type="str"),
        port=dict(type="int"),
        log_delivery_configuration=log_delivery_configuration_spec(),
        maintenance_schedule=maintenance_schedule_spec(),
        db_backup_configurations=dict(
            type="list",
            elements="dict",
            options=dict(
                type=dict(type="str", required=True),
                retention_days=dict(type="int", required=True),
                enabled=dict(type="bool", required=True),
                custom_schedule=dict(type="str"),
            ),
        ),
        kms_key_id=dict(type="str", no_log=False),
        retain_automated_backups=dict(type="bool"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
    )


# ----------------------------------------------------------------------------------------------
# desired state -> compare -> plan -> apply
# ----------------------------------------------------------------------------------------------
def desired_state(model, params, parameter_group_id=None):
    """The CreateDbInstance request the options describe (validated against ``model``; raises
    ValidationError)."""
    return instance_request_from_params(model, params, parameter_group_id=parameter_group_id)


def predicted_instance(desired):
    """The instance a CreateDbInstance of ``desired`` gives, as far as it can be known: every
    documented member, AWS's defaults for the options left out, None for what only AWS can tell."""
    predicted = dict.fromkeys(INSTANCE_RESULT_MEMBERS)
    predicted.update(CREATE_DEFAULTS)
    predicted.update({k: copy.deepcopy(v) for k, v in desired.items() if k != "password" and k in INSTANCE_RESULT_MEMBERS})
    predicted["status"] = "CREATING"
    return predicted


def plan_present(current, desired, current_tags, tags, purge_tags, auth_parameters=None, region=None, model=None):
    """What ``state=present`` must do. Pure; raises ValidationError for impossible changes.

    ``auth_parameters`` (username, organization, bucket read from the instance's auth-parameters
    secret) take part in the comparison only; they are not part of the predicted instance.
    ``model`` (the service model) tells what creating an instance requires; ``region`` names the
    region in the message for an instance that does not exist and cannot be created from the
    options given.

    Returns a dict: ``action`` (create / update / none), ``create_request``, ``update_calls`` (list
    of API-form dicts), ``tags_to_set``, ``tags_to_unset``, ``diff`` ({before, after}),
    ``predicted`` (the instance as it will be, API form) and ``predicted_tags``."""
    if current is None:
        missing = missing_create_options(model, desired)
        if missing:
            where = f" in region {region}" if region else ""
            raise ValidationError(
                f"no Timestream for InfluxDB instance named {desired.get('name')} exists{where}; "
                f"creating one would need option(s): {', '.join(missing)}"
            )
        create = dict(desired)
        if tags:
            create["tags"] = {k: str(v) for k, v in tags.items()}
        after = diff_fields({}, desired)[1]
        after["tags"] = dict(create.get("tags") or {})
        return dict(
            action="create",
            create_request=create,
            update_calls=[],
            tags_to_set={},
            tags_to_unset=[],
            predicted=predicted_instance(desired),
            predicted_tags=dict(create.get("tags") or {}),
            diff=dict(before={}, after=after),
        )

    known = dict(current, **(auth_parameters or {}))
    updates, immutable = compare_instance(known, desired)
    if immutable:
        raise ValidationError(
            f"Timestream for InfluxDB instance {current.get('name')} cannot change these options in place: "
            f"{describe_immutable(immutable)}. Create a new instance (with another name) and migrate to it; "
            "this module never deletes a database to apply a change."
        )
    check_updates(current, updates)
    calls = plan_updates(updates)
    to_set, to_unset = plan_tags(current_tags, tags, purge_tags)
    predicted = copy.deepcopy(current)
    predicted.update(copy.deepcopy(updates))
    new_tags = predicted_tags(current_tags, to_set, to_unset)
    compared = {k: v for k, v in desired.items() if k != "password"}
    before, after = diff_fields(known, compared)
    before["tags"] = dict(current_tags or {})
    after["tags"] = new_tags
    return dict(
        action="update" if (calls or to_set or to_unset) else "none",
        create_request=None,
        update_calls=calls,
        tags_to_set=to_set,
        tags_to_unset=to_unset,
        predicted=predicted,
        predicted_tags=new_tags,
        diff=dict(before=before, after=after),
    )


def _wait_available(client, instance_id, timeout):
    return wait_for(client, "db_instance_available", instance_id, timeout)


def apply_present(client, plan, current, wait, timeout):
    """Carry out a plan from plan_present. Returns the instance description (API form)."""
    if plan["action"] == "create":
        instance = create_db_instance(client, plan["create_request"])
        if wait:
            instance = _wait_available(client, instance["id"], timeout)
        return instance
    instance = current
    calls = plan["update_calls"]
    for index, call in enumerate(calls):
        if instance.get("status") not in INSTANCE_STATUS_READY:
            # The service rejects changes while the instance is busy (also between our calls).
            instance = _wait_available(client, instance["id"], timeout)
        instance = update_db_instance(client, instance["id"], call)
        last = index == len(calls) - 1
        if wait or not last:
            instance = _wait_available(client, instance["id"], timeout)
    apply_tags(client, current["arn"], plan["tags_to_set"], plan["tags_to_unset"])
    return instance


def apply_reboot(client, instance, wait, timeout):
    """RebootDbInstance once the instance is available; waits for it again with ``wait``."""
    if instance.get("status") not in INSTANCE_STATUS_READY:
        instance = _wait_available(client, instance["id"], timeout)
    instance = reboot_db_instance(client, instance["id"])
    if wait:
        instance = _wait_available(client, instance["id"], timeout)
    return instance


def ensure_absent(module, client, current):
    """``state=absent``: delete the instance once no backup of it is being taken."""
    params = module.params
    if current is None:
        return dict(changed=False, instance={}, update_calls=[], diff=dict(before={}, after={}))
    before = describe_instance(client, current)
    if current.get("status") in INSTANCE_STATUS_GONE:
        # Already being deleted (an earlier run with wait=false, or someone else): nothing to
        # change, only to wait for when asked to.
        result = dict(changed=False, update_calls=[], diff=dict(before={}, after={}))
        if params["wait"] and not module.check_mode:
            wait_for(client, "db_instance_deleted", current["id"], params["wait_timeout"])
            return dict(result, instance={})
        return dict(result, instance=before)
    result = dict(changed=True, update_calls=[], diff=dict(before=before, after={}))
    if module.check_mode:
        predicted = dict(before, status="DELETING")
        return dict(result, instance=predicted)
    # The service refuses DeleteDbInstance (ConflictException) while a backup is being taken.
    wait_for_running_backups(client, current["id"], params["wait_timeout"])
    if current.get("status") not in INSTANCE_STATUS_READY + INSTANCE_STATUS_FAILED:
        # Busy instances cannot be deleted; failed ones can.
        current = _wait_available(client, current["id"], params["wait_timeout"])
    deleted = delete_db_instance(client, current["id"], params["retain_automated_backups"])
    if deleted is False:  # gone in the meantime
        return dict(result, changed=False, instance={})
    if params["wait"]:
        wait_for(client, "db_instance_deleted", current["id"], params["wait_timeout"])
        return dict(result, instance={})
    return dict(result, instance=resource_to_ansible(deleted, before.get("tags")))


def current_auth_parameters(module, current):
    """username/organization/bucket of an existing instance, read from its auth-parameters secret
    when one of those options is given (GetDbInstance does not report them). Without access to
    the secret the comparison of those options is skipped with a warning."""
    wanted = [field for field in AUTH_SECRET_FIELDS if module.params[field] is not None]
    arn = (current or {}).get("influxAuthParametersSecretArn")
    if not wanted or not arn:
        return {}
    try:
        secrets = module.client("secretsmanager", retry_decorator=retry_decorator())
        return read_auth_parameters(secrets, arn)
    except TimestreamInfluxDBError as e:
        module.warn(f"Could not compare {', '.join(wanted)} with the instance: {e.message}")
        return {}


def comparable_desired(module, current, desired):
    """``desired`` with a KMS key alias replaced by its key id, so that it compares with the key the
    instance reports. Without access to KMS the key is not compared (with a warning)."""
    key = desired.get("kmsKeyId")
    if current is None or not is_kms_alias(key):
        return desired
    try:
        kms = module.client("kms", retry_decorator=retry_decorator())
        return dict(desired, kmsKeyId=resolve_kms_key_id(kms, key))
    except TimestreamInfluxDBError as e:
        module.warn(f"Could not compare kms_key_id with the instance: {e.message}")
        return {k: v for k, v in desired.items() if k != "kmsKeyId"}


def ensure_present(module, client, current, desired):
    """``state=present`` and ``state=rebooted``. The instance's tags are read once: after a change
    the result carries the tags the plan gave it."""
    params = module.params
    if current is not None and current.get("status") == "DELETING":
        # Its name is taken until it is gone; then it is created anew.
        if not module.check_mode:
            wait_for(client, "db_instance_deleted", current["id"], params["wait_timeout"])
        current = None
    current_tags = list_tags(client, current["arn"]) if current else {}
    auth = current_auth_parameters(module, current)
    desired = comparable_desired(module, current, desired)
    plan = plan_present(
        current,
        desired,
        current_tags,
        params["tags"],
        params["purge_tags"],
        auth,
        region=getattr(module, "region", None),
        model=service_model(client),
    )
    reboot = params["state"] == "rebooted" and current is not None
    changed = plan["action"] != "none" or reboot
    calls_out = [value_to_ansible(call) for call in plan["update_calls"]]
    if module.check_mode:
        predicted = dict(plan["predicted"])
        if reboot:
            predicted["status"] = "REBOOTING"
        return dict(
            changed=changed,
            instance=resource_to_ansible(predicted, plan["predicted_tags"]),
            update_calls=calls_out,
            diff=plan["diff"],
        )
    instance = current
    if plan["action"] != "none":
        instance = apply_present(client, plan, current, params["wait"], params["wait_timeout"])
    if reboot:
        instance = apply_reboot(client, instance, params["wait"], params["wait_timeout"])
    if params["wait"] and instance.get("status") not in INSTANCE_STATUS_READY:
        # Also when nothing had to change: an earlier run with wait=false may have left it busy.
        instance = _wait_available(client, instance["id"], params["wait_timeout"])
    result = dict(changed=changed, instance=describe_instance(client, instance, plan["predicted_tags"]), update_calls=calls_out)
    return dict(result, diff=plan["diff"])


def resolve_parameter_group(module, client, identifier):
    """db_parameter_group_identifier (name or id) -> id. In check mode a group that does not exist
    (yet: an earlier task of the play may create it) gives a warning and is kept as given."""
    try:
        return resolve_parameter_group_id(client, identifier)
    except ValidationError as e:
        if not module.check_mode:
            raise
        module.warn(f"{e}; check mode assumes an earlier task creates it and predicts the instance with it as given")
        return identifier


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        required_one_of=[["name", "id"]],
        supports_check_mode=True,
    )
    params = module.params
    if params["wait_timeout"] < 1:
        module.fail_json(msg="wait_timeout must be at least 1 second")

    # Creating the client makes no request: everything that can be checked without AWS (against
    # the client's service model) is checked before the first call.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    model = service_model(client)
    try:
        validate_identifier(model, params["id"], "GetDbInstance")
        desired = desired_state(model, params) if params["state"] != "absent" else {}
    except ValidationError as e:
        module.fail_json(msg=str(e))

    try:
        current = find_db_instance(client, name=params["name"], instance_id=params["id"])
        if params["state"] == "absent":
            result = ensure_absent(module, client, current)
        else:
            if current is None and params["id"] and not params["name"]:
                module.fail_json(
                    msg=f"no Timestream for InfluxDB instance has id {params['id']} in region {module.region}; "
                    "give name (and the options creating one needs) to create one"
                )
            if params["db_parameter_group_identifier"] is not None:
                group_id = resolve_parameter_group(module, client, params["db_parameter_group_identifier"])
                desired = desired_state(model, params, parameter_group_id=group_id)
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
