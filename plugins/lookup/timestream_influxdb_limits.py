# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: timestream_influxdb_limits
author:
  - ONS data platform engineers (@ons-data-platform)
short_description: The limits Timestream for InfluxDB puts on a new instance, from botocore's service model
description:
  - Reads the C(CreateDbInstance) input shape of botocore's C(timestream-influxdb) service model, the same
    model M(ons.timestream_influxdb.timestream_influxdb_instance) validates its options against, so a
    playbook checks its variables against the limits the module and AWS apply.
  - Takes no terms. Returns one dictionary.
requirements:
  - botocore
"""

EXAMPLES = r"""
- name: Check the storage against the service's limits
  ansible.builtin.assert:
    that:
      - database_allocated_storage | int >= limits.allocated_storage.min
      - database_allocated_storage | int <= limits.allocated_storage.max
      - database_instance_class in limits.instance_types
  vars:
    limits: "{{ lookup('ons.timestream_influxdb.timestream_influxdb_limits') }}"
"""

RETURN = r"""
_raw:
  description: The limits, one dictionary.
  type: dict
  contains:
    instance_name:
      description: Length (min, max) and pattern of the instance name.
      type: dict
    password:
      description: Length (min, max) and pattern of the admin password.
      type: dict
    username:
      description: Length (min, max) of the admin username.
      type: dict
    organization:
      description: Length (min, max) of the initial organization.
      type: dict
    bucket:
      description: Length (min, max) and pattern of the initial bucket.
      type: dict
    allocated_storage:
      description: Allocated storage in GiB (min, max).
      type: dict
      sample: {min: 20, max: 15360}
    large_storage_types:
      description: Storage types that need at least RV(_raw.large_storage_min) GiB.
      type: list
      elements: str
    large_storage_min:
      description: The allocated storage, in GiB, the large storage types need at least.
      type: int
    port:
      description: Port range (min, max) and the reserved ranges (list of [first, last]).
      type: dict
    instance_types:
      description: The instance classes.
      type: list
      elements: str
      sample: [db.influx.medium, db.influx.large]
    storage_types:
      description: The storage types.
      type: list
      elements: str
    deployment_types:
      description: The deployment types.
      type: list
      elements: str
    network_types:
      description: The network types.
      type: list
      elements: str
    subnet_ids:
      description: How many subnets an instance takes (min, max).
      type: dict
    security_group_ids:
      description: How many security groups an instance takes (min, max).
      type: dict
"""

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:
    import botocore.session

    from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import (
        LARGE_STORAGE_MIN_GIB,
        LARGE_STORAGE_TYPES,
        RESERVED_PORT_RANGES,
        input_shape,
    )

    HAS_DEPS = True
except ImportError:  # botocore missing
    HAS_DEPS = False


def _bounds(shape: Any, *extra: str) -> dict[str, Any]:
    meta = shape.metadata
    result = {"min": meta.get("min"), "max": meta.get("max")}
    for key in extra:
        result[key] = meta.get(key)
    return result


def instance_limits() -> dict[str, Any]:
    """The limits of CreateDbInstance's input shape, as a plain dictionary."""
    model = botocore.session.get_session().get_service_model("timestream-influxdb")
    members = input_shape(model, "CreateDbInstance").members
    return {
        "instance_name": _bounds(members["name"], "pattern"),
        "password": _bounds(members["password"], "pattern"),
        "username": _bounds(members["username"]),
        "organization": _bounds(members["organization"]),
        "bucket": _bounds(members["bucket"], "pattern"),
        "allocated_storage": _bounds(members["allocatedStorage"]),
        "large_storage_types": list(LARGE_STORAGE_TYPES),
        "large_storage_min": LARGE_STORAGE_MIN_GIB,
        "port": {**_bounds(members["port"]), "reserved": [list(r) for r in RESERVED_PORT_RANGES]},
        "instance_types": list(members["dbInstanceType"].enum),
        "storage_types": list(members["dbStorageType"].enum),
        "deployment_types": list(members["deploymentType"].enum),
        "network_types": list(members["networkType"].enum),
        "subnet_ids": _bounds(members["vpcSubnetIds"]),
        "security_group_ids": _bounds(members["vpcSecurityGroupIds"]),
    }


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        if not HAS_DEPS:
            raise AnsibleLookupError("timestream_influxdb_limits needs botocore on the controller (pip install botocore)")
        if terms:
            raise AnsibleLookupError("timestream_influxdb_limits takes no terms")
        return [instance_limits()]
