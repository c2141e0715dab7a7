#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: timestream_influxdb_cluster_info
version_added: 0.2.0
short_description: Describe Amazon Timestream for InfluxDB clusters and their instances
description:
  - Returns every Timestream for InfluxDB DB cluster of the account and region (C(ListDbClusters)), or the one
    named by O(name) or identified by O(id), with full details (C(GetDbCluster)), tags, and the cluster's
    instances (C(ListDbInstancesForCluster)), telling which is the writer (C(PRIMARY)) and which are read replicas
    (C(REPLICA)).
  - The instances of a cluster are not listed by C(ListDbInstances) (nor by
    M(ons.timestream_influxdb.timestream_influxdb_instance_info)).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Only the cluster with this name.
    type: str
  id:
    description:
      - Only the cluster with this id.
    type: str
  instances:
    description:
      - Whether to list each cluster's instances (one C(ListDbInstancesForCluster) per cluster).
    type: bool
    default: true
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_cluster
  - module: ons.timestream_influxdb.timestream_influxdb_instance_info
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
notes:
  - It reads only, so check mode runs it as usual.
"""

EXAMPLES = r"""
- name: All clusters
  ons.timestream_influxdb.timestream_influxdb_cluster_info:
  register: all_clusters

- name: One cluster by name, with its instances
  ons.timestream_influxdb.timestream_influxdb_cluster_info:
    name: ons-metrics-cluster
  register: metrics

- name: Its writer and reader endpoints
  ansible.builtin.debug:
    msg: "write to {{ metrics.clusters[0].endpoint }}, read from {{ metrics.clusters[0].reader_endpoint }}"
  when: metrics.clusters | length > 0
"""

RETURN = r"""
clusters:
  description:
    - The clusters (snake_case, as C(GetDbCluster) describes them), with their tags and instances, in the order
      C(ListDbClusters) gives them. Empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id of the cluster.
      type: str
    arn:
      description: ARN of the cluster.
      type: str
    name:
      description: Name of the cluster.
      type: str
    status:
      description: Status of the cluster.
      type: str
      sample: AVAILABLE
    endpoint:
      description: Host name of the writer.
      type: str
    reader_endpoint:
      description: Host name of the read replicas.
      type: str
    port:
      description: Port the cluster's instances listen on.
      type: int
      sample: 8086
    db_instance_type:
      description: Instance class.
      type: str
    engine_type:
      description: Engine.
      type: str
      sample: INFLUXDB_V2
    failover_mode:
      description: Failover mode.
      type: str
      sample: AUTOMATIC
    influx_auth_parameters_secret_arn:
      description: ARN of the auth-parameters secret.
      type: str
    tags:
      description: Tags of the cluster.
      type: dict
    instances:
      description: The cluster's instances (C(ListDbInstancesForCluster), snake_case); absent with O(instances=false).
      returned: when O(instances=true)
      type: list
      elements: dict
      contains:
        id:
          description: Id of the instance.
          type: str
        name:
          description: Name of the instance.
          type: str
        status:
          description: Status of the instance.
          type: str
        endpoint:
          description: Host name of the instance.
          type: str
        instance_mode:
          description: Role of the instance, for example V(PRIMARY) (the writer) or V(REPLICA).
          type: str
        instance_modes:
          description: Roles of the instance (InfluxDB 3 Enterprise nodes may have several).
          type: list
          elements: str
        availability_zone:
          description: Availability zone of the instance, when AWS reports it.
          type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import SERVICE
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import TimestreamInfluxDBError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import cluster_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import coerce_to_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import get_db_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import input_shape
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_db_clusters
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_db_instances_for_cluster
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import list_tags
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import resource_to_ansible
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import retry_decorator
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import service_model


def select_summaries(summaries, name=None, cluster_id=None):
    """The cluster summaries matching the filters (all of them without filters)."""
    return [
        s
        for s in summaries
        if (name is None or s.get("name") == name) and (cluster_id is None or s.get("id") == cluster_id)
    ]


def describe(client, cluster, with_instances):
    """A GetDbCluster description -> result entry with tags and (optionally) instances."""
    result = cluster_to_ansible(cluster, list_tags(client, cluster["arn"]))
    if with_instances:
        result["instances"] = [resource_to_ansible(i) for i in list_db_instances_for_cluster(client, cluster["id"])]
    return result


def gather(client, name=None, cluster_id=None, with_instances=True):
    """The descriptions of the clusters matching the filters."""
    if cluster_id is not None and name is None:
        cluster = get_db_cluster(client, cluster_id)
        return [describe(client, cluster, with_instances)] if cluster else []
    clusters = []
    for summary in select_summaries(list_db_clusters(client), name, cluster_id):
        cluster = get_db_cluster(client, summary["id"])
        if cluster is not None:  # deleted between the list and the get
            clusters.append(describe(client, cluster, with_instances))
    return clusters


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str"), id=dict(type="str"), instances=dict(type="bool", default=True)),
        supports_check_mode=True,
    )
    params = module.params
    # Creating the client makes no request; its service model validates the id first.
    client = module.client(SERVICE, retry_decorator=retry_decorator())
    try:
        if params["id"] is not None:
            coerce_to_shape(params["id"], input_shape(service_model(client), "GetDbCluster").members["dbClusterId"], "id")
    except ValidationError as e:
        module.fail_json(msg=str(e))
    try:
        clusters = gather(client, params["name"], params["id"], params["instances"])
    except TimestreamInfluxDBError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, clusters=clusters)


if __name__ == "__main__":
    main()
