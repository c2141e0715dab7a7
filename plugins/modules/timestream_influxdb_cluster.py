#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_cluster
version_added: 0.2.0
short_description: Manage Amazon Timestream for InfluxDB clusters
description:
  - Create, update in place, reboot and delete Amazon Timestream for InfluxDB DB clusters (C(CreateDbCluster),
    C(UpdateDbCluster), C(RebootDbCluster), C(DeleteDbCluster)). An InfluxDB v2 cluster
    (O(deployment_type=MULTI_NODE_READ_REPLICAS)) has a writer instance and a read replica in separate
    availability zones, reached at RV(cluster.endpoint) and RV(cluster.reader_endpoint); an InfluxDB 3
    Enterprise cluster is described by O(deployment_configuration).
  - A cluster is found by O(name) through the paginated C(ListDbClusters) (C(GetDbCluster) only takes an id),
    or by O(id).
  - Every option is validated against the AWS API model (patterns, ranges, enumerations) and against the
    rules the service applies beyond it (reserved ports, storage minimum of the T2/T3 storage types) before
    any request is made.
  - An existing cluster is compared with the options given; an option the task does not state is never
    compared. Options the service changes in place (those of C(UpdateDbCluster)) are O(db_instance_type), O(port),
    O(db_parameter_group_identifier), O(failover_mode), O(deployment_configuration), O(log_delivery_configuration),
    O(maintenance_schedule), O(db_backup_configurations); they are changed with one C(UpdateDbCluster) call
    that sends only the values that differ.
  - A difference in an option that only creation sets (O(name), O(username), O(organization), O(bucket),
    O(db_storage_type), O(allocated_storage), O(network_type), O(publicly_accessible), O(vpc_subnet_ids),
    O(vpc_security_group_ids), O(deployment_type), O(kms_key_id)) makes the module fail before any change,
    listing the current and wanted values. The module never deletes a database to apply a change.
  - C(GetDbCluster) does not report O(username), O(organization) or O(bucket); when one of them is given,
    the module reads them from the cluster's auth-parameters secret (C(secretsmanager:GetSecretValue); the
    password in it is dropped at once). Without access to the secret their comparison is skipped with a warning.
  - O(password) is used only when the cluster is created; it cannot be read back and is never compared.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  state:
    description:
      - V(present) creates the cluster or brings it to the options given.
      - V(absent) deletes it, first waiting (within O(wait_timeout)) until no backup of it is being taken, as the
        service refuses to delete a cluster meanwhile. A cluster already being deleted is reported unchanged.
      - V(rebooted) does what V(present) does, then reboots a cluster that already existed (C(RebootDbCluster)),
        all its instances or those of O(reboot_instance_ids); it always reports a change.
    type: str
    choices: [present, absent, rebooted]
    default: present
  name:
    description:
      - Name of the cluster, unique in the account and region, 3 to 40 letters, digits and single hyphens,
        starting with a letter. It is also the prefix of the cluster's endpoints.
      - One of O(name) or O(id) is required; O(name) is required to create.
    type: str
  id:
    description:
      - Id of an existing cluster. When given, the cluster is looked up by id instead of by name.
    type: str
  username:
    description:
      - Username of the initial InfluxDB admin user (AWS default V(admin)). Only used at creation.
    type: str
  password:
    description:
      - Password of the initial InfluxDB admin user, 8 to 64 letters and digits. Required to create an InfluxDB v2
        cluster; only used at creation and never returned.
    type: str
  organization:
    description:
      - Name of the initial InfluxDB organization. Required to create an InfluxDB v2 cluster; only used at creation.
    type: str
  bucket:
    description:
      - Name of the initial InfluxDB bucket. Required to create an InfluxDB v2 cluster; only used at creation.
    type: str
  port:
    description:
      - Port every instance of the cluster listens on (AWS default 8086), 1024 to 65535 except 2375-2376,
        7788-7799, 8090 and 51678-51680. Changed in place.
    type: int
  db_parameter_group_identifier:
    description:
      - The DB parameter group, by id or by name (a name is resolved to its id through C(ListDbParameterGroups)).
        Changed in place.
    type: str
  db_instance_type:
    description:
      - Instance class of the cluster's instances, one of the AWS API model's C(DbInstanceType) values
        (V(db.influx.medium) ... V(db.influx.24xlarge)). Required to create an InfluxDB v2 cluster; changed in place.
    type: str
  db_storage_type:
    description:
      - Storage type (AWS default V(InfluxIOIncludedT1)); V(InfluxIOIncludedT2) and V(InfluxIOIncludedT3) need
        O(allocated_storage) of at least 400 GiB. Cannot change.
    type: str
  allocated_storage:
    description:
      - Storage in GiB of each instance (20 to 15360). Required to create an InfluxDB v2 cluster; cannot change.
    type: int
  network_type:
    description:
      - V(IPV4) or V(DUAL) (AWS default V(IPV4)). Cannot change.
    type: str
  publicly_accessible:
    description:
      - Whether the cluster gets public addresses (AWS default V(false)). Cannot change.
    type: bool
  vpc_subnet_ids:
    description:
      - Ids of the subnets (1 to 6) of the cluster; AWS places each instance in a different availability zone,
        so they must span at least two. Required to create; cannot change. Compared regardless of order.
    type: list
    elements: str
  vpc_security_group_ids:
    description:
      - Ids of the security groups (1 to 5) of the cluster. Required to create; cannot change.
    type: list
    elements: str
  deployment_type:
    description:
      - The AWS API model's C(ClusterDeploymentType), V(MULTI_NODE_READ_REPLICAS) (a writer and read replicas).
        Cannot change.
    type: str
  deployment_configuration:
    description:
      - The deployment of an InfluxDB 3 Enterprise cluster, the API's C(DeploymentConfiguration) union. Its one key
        is C(InfluxDBv3Enterprise), holding C(node_groups), a list of 1 to 10 groups, each with C(instance_modes)
        (a list), C(instance_type) and C(count) (1 to 13 nodes). Checked against the AWS API model; changed in place.
      - Not for InfluxDB v2 clusters.
    type: dict
  failover_mode:
    description:
      - What happens when the writer fails, V(AUTOMATIC) (a replica is promoted; AWS default) or V(NO_FAILOVER),
        the AWS API model's C(FailoverMode) values. Changed in place.
    type: str
  log_delivery_configuration:
    description:
      - Delivery of the InfluxDB engine logs to S3. Changed in place. The bucket policy must let
        C(timestream-influxdb.amazonaws.com) put objects.
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
          - Backup frequency, one of the AWS API model's C(AutomatedDbBackupType) values (V(HOURLY), V(DAILY),
            V(WEEKLY), V(MONTHLY), V(CUSTOM_SCHEDULE), V(CONTINUOUS)).
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
      - KMS key (id, ARN, alias or alias ARN) that encrypts the cluster's storage. Cannot change.
      - A key id and its ARN compare equal; an alias is resolved with C(kms:DescribeKey) to compare it with an
        existing cluster's key (skipped with a warning without access to KMS).
    type: str
  reboot_instance_ids:
    description:
      - With O(state=rebooted), the ids of the cluster's instances to reboot (at most 3); all of them when not given.
    type: list
    elements: str
  retain_automated_backups:
    description:
      - With O(state=absent), whether the cluster's automated backups are kept after it is deleted. When not given,
        the parameter is not sent and the AWS default applies.
    type: bool
  wait:
    description:
      - Wait for the cluster to be available (or deleted) before returning, also when nothing has to change (an
        earlier run with O(wait=false) may have left it busy). A cluster some of whose instances are not available
        yet (C(PARTIALLY_AVAILABLE)) is waited through.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each transition. The status is polled at once, then every second for 5 seconds, then at
        growing intervals (2, 5, 10 and at most 30 seconds).
    type: int
    default: 3600
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_cluster_info
  - module: ons.timestream_influxdb.timestream_influxdb_instance
  - module: ons.timestream_influxdb.timestream_influxdb_parameter_group
  - module: ons.timestream_influxdb.timestream_influxdb_backup
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Supports check mode (no change is made; the predicted cluster is returned with every key of RV(cluster),
    null where only AWS can tell, such as the id and the endpoints of a cluster to be created) and diff mode
    (the before and after values of every compared option and of the tags, never the password).
  - Waits use botocore waiters built on amazon.aws's C(BaseWaiterFactory); while waiting for a cluster to be
    available, a C(FAILED), C(REBOOT_FAILED) or C(RESTORE_FAILED) status ends the wait at once with that status
    in the message.
"""

EXAMPLES = r"""
- name: A read-replica cluster in the private subnets
  ons.timestream_influxdb.timestream_influxdb_cluster:
    name: ons-metrics-cluster
    password: "{{ influxdb_admin_password }}"
    organization: ons
    bucket: telemetry
    db_instance_type: db.influx.large
    allocated_storage: 100
    deployment_type: MULTI_NODE_READ_REPLICAS
    failover_mode: AUTOMATIC
    vpc_subnet_ids: "{{ private_subnet_ids }}"
    vpc_security_group_ids: ["{{ influxdb_sg_id }}"]
    tags:
      Environment: prod
  register: cluster

- name: A larger instance class and no automatic failover (one UpdateDbCluster call)
  ons.timestream_influxdb.timestream_influxdb_cluster:
    name: ons-metrics-cluster
    db_instance_type: db.influx.xlarge
    failover_mode: NO_FAILOVER

- name: Reboot the reader only
  ons.timestream_influxdb.timestream_influxdb_cluster:
    name: ons-metrics-cluster
    state: rebooted
    reboot_instance_ids: ["{{ reader_instance_id }}"]

- name: Delete the cluster without waiting
  ons.timestream_influxdb.timestream_influxdb_cluster:
    name: ons-metrics-cluster
    state: absent
    wait: false
"""

RETURN = r"""
cluster:
  description:
    - The cluster as C(GetDbCluster) describes it (snake_case), with its tags. Never contains the password.
    - Empty after a deletion that was waited for; in check mode, the predicted cluster.
  returned: always
  type: dict
  contains:
    id:
      description: Id of the cluster.
      type: str
      sample: c1d2e3f4g5
    name:
      description: Name of the cluster.
      type: str
      sample: ons-metrics-cluster
    arn:
      description: ARN of the cluster.
      type: str
      sample: arn:aws:timestream-influxdb:eu-west-2:123456789012:db-cluster/c1d2e3f4g5
    status:
      description: Status, for example V(CREATING), V(AVAILABLE), V(UPDATING), V(REBOOTING), V(DELETING).
      type: str
      sample: AVAILABLE
    endpoint:
      description: Host name of the writer (reads and writes).
      type: str
    reader_endpoint:
      description: Host name of the read replicas (reads only).
      type: str
    port:
      description: Port the cluster's instances listen on.
      type: int
      sample: 8086
    deployment_type:
      description: Deployment type.
      type: str
      sample: MULTI_NODE_READ_REPLICAS
    db_instance_type:
      description: Instance class.
      type: str
      sample: db.influx.large
    network_type:
      description: Network type.
      type: str
      sample: IPV4
    db_storage_type:
      description: Storage type.
      type: str
      sample: InfluxIOIncludedT1
    allocated_storage:
      description: Storage in GiB.
      type: int
      sample: 100
    engine_type:
      description: Engine, for example V(INFLUXDB_V2) or V(INFLUXDB_V3_ENTERPRISE).
      type: str
      sample: INFLUXDB_V2
    publicly_accessible:
      description: Whether the cluster has public addresses.
      type: bool
    db_parameter_group_identifier:
      description: Id of the DB parameter group.
      type: str
    effective_db_parameter_group_identifier:
      description: Id of the DB parameter group in effect.
      type: str
    log_delivery_configuration:
      description: Log delivery configuration.
      type: dict
    maintenance_schedule:
      description: Maintenance schedule.
      type: dict
    last_maintenance_time:
      description: When maintenance last ran.
      type: str
    next_maintenance_time:
      description: When maintenance runs next.
      type: str
    influx_auth_parameters_secret_arn:
      description: ARN of the Secrets Manager secret holding the initial username, password, organization and bucket.
      type: str
    vpc_subnet_ids:
      description: Subnet ids.
      type: list
      elements: str
    vpc_security_group_ids:
      description: Security group ids.
      type: list
      elements: str
    failover_mode:
      description: Failover mode.
      type: str
      sample: AUTOMATIC
    cluster_configuration:
      description: Numbers of ingest/query and query-only instances and whether a compactor is dedicated (InfluxDB 3).
      type: dict
    deployment_configuration:
      description: The InfluxDB 3 Enterprise deployment, its engine key as AWS spells it (C(InfluxDBv3Enterprise)).
      type: dict
    db_backup_configurations:
      description: Automated backup configurations.
      type: list
      elements: dict
    kms_key_id:
      description: KMS key.
      type: str
    tags:
      description: Tags of the cluster.
      type: dict
      sample: {"Environment": "prod"}
update_calls:
  description: The C(UpdateDbCluster) calls made (or, in check mode, planned), each a dict of the changed fields
    (snake_case). At most one.
  returned: always
  type: list
  elements: dict
  sample: [{"db_instance_type": "db.influx.xlarge", "failover_mode": "NO_FAILOVER"}]
"""

import copy

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import CLUSTER_CREATE_DEFAULTS
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import CLUSTER_STATUS_FAILED
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import CLUSTER_STATUS_GONE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import CLUSTER_STATUS_READY
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import apply_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import cluster_diff
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import cluster_request_from_params
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import cluster_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import coerce_to_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import compare_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import create_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import delete_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import describe_immutable
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import find_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import input_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import known_auth_parameters
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import log_delivery_configuration_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import maintenance_schedule_spec
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import missing_cluster_create_options
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import parameter_group_id_or_planned
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import plan_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import predicted_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import reboot_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import update_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import value_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import wait_for
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import wait_for_running_backups
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import with_kms_key_id


def argument_spec():
    """The module's options. Enumerations (instance and storage types, deployment, network and
    failover modes, backup frequencies) are checked against the client's service model."""
    return dict(
        state=dict(type="str", choices=["present", "absent", "rebooted"], default="present"),
        name=dict(type="str"),
        id=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        organization=dict(type="str"),
        bucket=dict(type="str"),
        port=dict(type="int"),
        db_parameter_group_identifier=dict(type="str"),
        db_instance_type=dict(type="str"),
        db_storage_type=dict(type="str"),
        allocated_storage=dict(type="int"),
        network_type=dict(type="str"),
        # No defaults: a create-only option the task does not state is never compared.
        publicly_accessible=dict(type="bool"),
        vpc_subnet_ids=dict(type="list", elements="str"),
        vpc_security_group_ids=dict(type="list", elements="str"),
        deployment_type=dict(type="str"),
        deployment_configuration=dict(type="dict"),
        failover_mode=dict(type="str"),
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
        reboot_instance_ids=dict(type="list", elements="str"),
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
    """The CreateDbCluster request the options describe (validated; raises ValidationError)."""
    return cluster_request_from_params(model, params, parameter_group_id=parameter_group_id)


def cluster_result_members(model):
    """The keys RETURN documents for ``cluster`` (API form): every member of GetDbCluster's output."""
    return tuple(model.operation_model("GetDbCluster").output_shape.members)


def predicted_cluster(model, desired):
    """The cluster a CreateDbCluster of ``desired`` gives, as far as it can be known: every member
    GetDbCluster describes, AWS's defaults for the options left out, None for what only AWS can tell."""
    predicted = dict.fromkeys(cluster_result_members(model))
    defaults = dict(CLUSTER_CREATE_DEFAULTS)
    if "deploymentConfiguration" in desired:
        # InfluxDB 3 Enterprise: neither the v2 storage type nor the v2 port apply.
        defaults = dict(defaults, engineType="INFLUXDB_V3_ENTERPRISE", dbStorageType=None, port=None)
    predicted.update(defaults)
    predicted.update({k: copy.deepcopy(v) for k, v in desired.items() if k in predicted and k != "password"})
    predicted["status"] = "CREATING"
    return predicted


def plan_present(model, current, desired, current_tags, tags, purge_tags, auth_parameters=None, region=None):
    """What ``state=present`` must do. Pure; raises ValidationError for impossible changes.

    Returns a dict: ``action`` (create / update / none), ``create_request``, ``update_call`` (the
    one UpdateDbCluster request, API form, or None), ``tags_to_set``, ``tags_to_unset``, ``diff``
    ({before, after}), ``predicted`` (the cluster as it will be, API form) and ``predicted_tags``."""
    compared = {k: v for k, v in desired.items() if k != "password"}
    if current is None:
        missing = missing_cluster_create_options(model, desired)
        if missing:
            where = f" in region {region}" if region else ""
            raise ValidationError(
                f"no Timestream for InfluxDB cluster named {desired.get('name')} exists{where}; "
                f"creating one would need option(s): {', '.join(missing)}"
            )
        create = dict(desired)
        new_tags = {k: str(v) for k, v in (tags or {}).items()}
        if new_tags:
            create["tags"] = new_tags
        after = cluster_diff({}, compared)[1]
        after["tags"] = dict(new_tags)
        return dict(
            action="create",
            create_request=create,
            update_call=None,
            tags_to_set={},
            tags_to_unset=[],
            predicted=predicted_cluster(model, desired),
            predicted_tags=new_tags,
            diff=dict(before={}, after=after),
        )

    known = dict(current, **(auth_parameters or {}))
    updates, immutable = compare_cluster(model, known, desired)
    if immutable:
        raise ValidationError(
            f"Timestream for InfluxDB cluster {current.get('name')} cannot change these options in place: "
            f"{describe_immutable(immutable)}. Create a new cluster (with another name) and migrate to it; "
            "this module never deletes a database to apply a change."
        )
    to_set, to_unset = plan_tags(current_tags, tags, purge_tags)
    predicted = copy.deepcopy(current)
    predicted.update(copy.deepcopy(updates))
    new_tags = predicted_tags(current_tags, to_set, to_unset)
    before, after = cluster_diff(known, compared)
    before["tags"] = dict(current_tags or {})
    after["tags"] = new_tags
    return dict(
        action="update" if (updates or to_set or to_unset) else "none",
        create_request=None,
        update_call=updates or None,
        tags_to_set=to_set,
        tags_to_unset=to_unset,
        predicted=predicted,
        predicted_tags=new_tags,
        diff=dict(before=before, after=after),
    )


def _wait_available(client, cluster_id, timeout):
    return wait_for(client, "db_cluster_available", cluster_id, timeout)


def _status_only(current, response):
    """A cluster description with the status a Create/Update/Reboot/Delete response reports."""
    return dict(current, status=response.get("dbClusterStatus", current.get("status")))


def apply_present(client, plan, current, wait, timeout):
    """Carry out a plan from plan_present. Returns the cluster description (API form)."""
    if plan["action"] == "create":
        response = create_db_cluster(client, plan["create_request"])
        if wait:
            return _wait_available(client, response["dbClusterId"], timeout)
        return get_db_cluster(client, response["dbClusterId"])
    cluster = current
    if plan["update_call"]:
        if cluster.get("status") not in CLUSTER_STATUS_READY:
            # The service accepts no change while the cluster is busy.
            cluster = _wait_available(client, cluster["id"], timeout)
        response = update_db_cluster(client, cluster["id"], plan["update_call"])
        cluster = _status_only(dict(cluster, **plan["update_call"]), response)
        if wait:
            cluster = _wait_available(client, cluster["id"], timeout)
    apply_tags(client, current["arn"], plan["tags_to_set"], plan["tags_to_unset"])
    return cluster


def apply_reboot(client, cluster, instance_ids, wait, timeout):
    """RebootDbCluster once the cluster is available; waits for it again with ``wait``."""
    if cluster.get("status") not in CLUSTER_STATUS_READY:
        cluster = _wait_available(client, cluster["id"], timeout)
    response = reboot_db_cluster(client, cluster["id"], instance_ids)
    cluster = _status_only(cluster, response)
    if wait:
        cluster = _wait_available(client, cluster["id"], timeout)
    return cluster


def ensure_absent(module, client, current):
    """``state=absent``: delete the cluster once no backup of it is being taken."""
    params = module.params
    if current is None:
        return dict(changed=False, cluster={}, update_calls=[], diff=dict(before={}, after={}))
    before = cluster_to_ansible(current, list_tags(client, current["arn"]))
    if current.get("status") in CLUSTER_STATUS_GONE:
        result = dict(changed=False, update_calls=[], diff=dict(before={}, after={}))
        if params["wait"] and not module.check_mode:
            wait_for(client, "db_cluster_deleted", current["id"], params["wait_timeout"])
            return dict(result, cluster={})
        return dict(result, cluster=before)
    result = dict(changed=True, update_calls=[], diff=dict(before=before, after={}))
    if module.check_mode:
        return dict(result, cluster=dict(before, status="DELETING"))
    # The service refuses DeleteDbCluster (ConflictException) while a backup is being taken.
    wait_for_running_backups(client, current["id"], params["wait_timeout"])
    if current.get("status") not in CLUSTER_STATUS_READY + CLUSTER_STATUS_FAILED:
        # busy clusters cannot be deleted; failed ones can
        current = _wait_available(client, current["id"], params["wait_timeout"])
    response = delete_db_cluster(client, current["id"], params["retain_automated_backups"])
    if response is False:  # gone in the meantime
        return dict(result, changed=False, cluster={})
    if params["wait"]:
        wait_for(client, "db_cluster_deleted", current["id"], params["wait_timeout"])
        return dict(result, cluster={})
    return dict(result, cluster=dict(before, status=response.get("dbClusterStatus", "DELETING")))


def ensure_present(module, client, current, desired):
    """``state=present`` and ``state=rebooted``; the cluster's tags are read once."""
    params = module.params
    model = service_model(client)
    if current is not None and current.get("status") == "DELETING":
        # its name is taken until it is gone; then it is created anew
        if not module.check_mode:
            wait_for(client, "db_cluster_deleted", current["id"], params["wait_timeout"])
        current = None
    current_tags = list_tags(client, current["arn"]) if current else {}
    plan = plan_present(
        model,
        current,
        with_kms_key_id(module, current, desired, "cluster"),
        current_tags,
        params["tags"],
        params["purge_tags"],
        known_auth_parameters(module, current, "cluster"),
        region=getattr(module, "region", None),
    )
    reboot = params["state"] == "rebooted" and current is not None
    changed = plan["action"] != "none" or reboot
    calls_out = [value_to_ansible(plan["update_call"])] if plan["update_call"] else []
    if module.check_mode:
        predicted = dict(plan["predicted"], status="REBOOTING") if reboot else plan["predicted"]
        return dict(
            changed=changed,
            cluster=cluster_to_ansible(predicted, plan["predicted_tags"]),
            update_calls=calls_out,
            diff=plan["diff"],
        )
    cluster = current
    if plan["action"] != "none":
        cluster = apply_present(client, plan, current, params["wait"], params["wait_timeout"])
    if reboot:
        cluster = apply_reboot(client, cluster, params["reboot_instance_ids"], params["wait"], params["wait_timeout"])
    if params["wait"] and cluster.get("status") not in CLUSTER_STATUS_READY:
        # also when nothing had to change: an earlier run with wait=false may have left it busy
        cluster = _wait_available(client, cluster["id"], params["wait_timeout"])
    return dict(
        changed=changed,
        cluster=cluster_to_ansible(cluster, plan["predicted_tags"]),
        update_calls=calls_out,
        diff=plan["diff"],
    )


def validate_options(model, params):
    """Everything that can be checked without AWS. Returns the desired request ({} for absent)."""
    if params["id"] is not None:
        coerce_to_shape(params["id"], input_shape(model, "GetDbCluster").members["dbClusterId"], "id")
    if params["reboot_instance_ids"] is not None:
        shape = input_shape(model, "RebootDbCluster").members["instanceIds"]
        coerce_to_shape(params["reboot_instance_ids"], shape, "reboot_instance_ids")
    return desired_state(model, params) if params["state"] != "absent" else {}


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        required_one_of=[["name", "id"]],
        supports_check_mode=True,
    )
    params = module.params
    if params["wait_timeout"] < 1:
        module.fail_json(msg="wait_timeout must be at least 1 second")
    # Creating the client makes no request: the options are checked against its model first.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    model = service_model(client)
    try:
        desired = validate_options(model, params)
    except ValidationError as e:
        module.fail_json(msg=str(e))

    try:
        current = find_db_cluster(client, name=params["name"], cluster_id=params["id"])
        if params["state"] == "absent":
            result = ensure_absent(module, client, current)
        else:
            if current is None and params["id"] and not params["name"]:
                module.fail_json(
                    msg=f"no Timestream for InfluxDB cluster has id {params['id']} in region {module.region}; "
                    "give name (and the options creating one needs) to create one"
                )
            if params["db_parameter_group_identifier"] is not None:
                group_id = parameter_group_id_or_planned(module, client, params["db_parameter_group_identifier"], "cluster")
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
