#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: timestream_influxdb_auth_parameters_info
version_added: 0.1.0
short_description: Read the auth parameters (admin username, password, organization, bucket) of a Timestream for InfluxDB instance
description:
  - Timestream for InfluxDB hands out no API token. A new instance has an admin user whose username and password, with
    the instance's first organization and bucket, are kept in a Secrets Manager secret, the instance's
    auth-parameters secret (C(influxAuthParametersSecretArn)). This module finds the instance by O(name) (through the
    paginated C(ListDbInstances)) or O(id), reads that secret (C(GetSecretValue)) and returns what it holds, ready for
    the O(ons.timestream_influxdb.influx_auth#module:username) and
    O(ons.timestream_influxdb.influx_auth#module:password) options of the influx_* modules.
  - It takes the usual AWS options, so C(module_defaults) for the action group C(group/ons.timestream_influxdb.aws)
    reach it. The C(amazon.aws.secretsmanager_secret) lookup would need the region, endpoint and credentials repeated
    (lookups are not reached by C(module_defaults)), the secret's ARN found first, and its value decoded with
    C(from_json).
  - B(The result holds the admin password.) It exists to hand the secret to the next task; set C(no_log) to V(true) on
    the task that runs this module (and on the tasks that use the password), or the password is printed.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Name of the instance.
      - Exactly one of O(name) and O(id) is required.
    type: str
  id:
    description:
      - Id of the instance.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
notes:
  - Needs C(timestream-influxdb:ListDbInstances) (with O(name)), C(timestream-influxdb:GetDbInstance) and
    C(secretsmanager:GetSecretValue) on the secret (and C(kms:Decrypt) when it is encrypted with a customer key).
  - Fails, naming the region, when no instance of that name exists there; fails when the instance has no
    auth-parameters secret yet.
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_instance
  - module: ons.timestream_influxdb.timestream_influxdb_instance_info
  - module: ons.timestream_influxdb.influx_auth
"""

EXAMPLES = r"""
- name: Operator token of a new instance, signing in with its admin user
  module_defaults:
    group/ons.timestream_influxdb.aws:
      region: eu-west-2
  block:
    - name: Auth parameters of the instance (the result holds the admin password)
      ons.timestream_influxdb.timestream_influxdb_auth_parameters_info:
        name: ons-metrics
      register: metrics_auth
      no_log: true

    - name: All-access token, found again by its description on later runs
      ons.timestream_influxdb.influx_auth:
        url: "https://{{ metrics_auth.instance.endpoint }}:{{ metrics_auth.instance.port }}"
        username: "{{ metrics_auth.auth_parameters.username }}"
        password: "{{ metrics_auth.auth_parameters.password }}"
        org: "{{ metrics_auth.auth_parameters.organization }}"
        description: ansible all-access
        all_access: true
      register: operator_token
      no_log: true
"""

RETURN = r"""
auth_parameters:
  description:
    - What the instance's auth-parameters secret holds. B(It contains the admin password:) register the task with
      C(no_log) set to V(true).
  returned: always
  type: dict
  contains:
    username:
      description: The instance's admin user.
      type: str
      sample: admin
    password:
      description: Its password (the current one; the credential rotation changes it in InfluxDB and in the secret).
      type: str
      sample: "********"
    organization:
      description: The instance's first organization.
      type: str
      sample: ons
    bucket:
      description: The instance's first bucket.
      type: str
      sample: telemetry
secret_arn:
  description: ARN of the auth-parameters secret.
  returned: always
  type: str
  sample: arn:aws:secretsmanager:eu-west-2:123456789012:secret:READONLY-InfluxDB-auth-parameters-abc123-AbCdEf
instance:
  description: The instance the secret belongs to.
  returned: always
  type: dict
  contains:
    id:
      description: Id of the instance.
      type: str
      sample: abc123def4
    name:
      description: Name of the instance.
      type: str
      sample: ons-metrics
    arn:
      description: ARN of the instance.
      type: str
    status:
      description: Status of the instance.
      type: str
      sample: AVAILABLE
    endpoint:
      description: Host name InfluxDB is reached at (absent while the instance is being created).
      type: str
    port:
      description: Port InfluxDB listens on.
      type: int
      sample: 8086
"""

import json
from typing import Any
from typing import Dict
from typing import Optional

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

#: The keys of an auth-parameters secret that this module returns.
AUTH_PARAMETER_KEYS = ("username", "password", "organization", "bucket")
INSTANCE_KEYS = (("id", "id"), ("name", "name"), ("arn", "arn"), ("status", "status"), ("endpoint", "endpoint"),
                 ("port", "port"))


class AuthParametersError(AnsibleAWSError):
    """A failure of this module, with or without an AWS exception behind it."""


class AuthParametersErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AuthParametersError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


@AuthParametersErrorHandler.common_error_handler("list Timestream for InfluxDB instances (ListDbInstances)")
def find_instance_id(client, name: str) -> Optional[str]:
    """The id of the instance named ``name``, through the paginated ListDbInstances.

    Parameters:
        client: a boto3 timestream-influxdb client.
        name (str): the instance's name.

    Returns:
        str: its id, or None when no instance (not being deleted) has that name.
    """
    result = paginated_query_with_retries(client, "list_db_instances")
    for summary in result.get("items", []):
        if summary.get("name") == name and summary.get("status") != "DELETED":
            return summary["id"]
    return None


@AuthParametersErrorHandler.list_error_handler("get Timestream for InfluxDB instance (GetDbInstance)")
def get_instance(client, instance_id: str) -> Optional[Dict[str, Any]]:
    """The instance as GetDbInstance describes it, or None when there is none with that id."""
    return client.get_db_instance(identifier=instance_id, aws_retry=True)


@AuthParametersErrorHandler.common_error_handler("read the instance's auth-parameters secret (GetSecretValue)")
def read_secret(client, secret_arn: str) -> str:
    """The secret's current value (AWSCURRENT) as text."""
    return client.get_secret_value(SecretId=secret_arn, aws_retry=True).get("SecretString") or ""


def parse_auth_parameters(text: str, secret_arn: str) -> Dict[str, Any]:
    """The auth parameters from the secret's JSON value.

    Parameters:
        text (str): the secret's value.
        secret_arn (str): its ARN, for the error message.

    Returns:
        dict: username, password, organization and bucket (those the secret has).

    Raises:
        AuthParametersError: the value is not a JSON object with a username and a password.
    """
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not value.get("username") or not value.get("password"):
        raise AuthParametersError(
            message=f"The secret {secret_arn} does not hold auth parameters (a JSON object with username and "
                    "password, as Timestream for InfluxDB writes it)")
    return {key: value[key] for key in AUTH_PARAMETER_KEYS if key in value}


def describe(instance: Dict[str, Any]) -> Dict[str, Any]:
    """The instance keys this module returns (those GetDbInstance reports)."""
    return {out: instance[key] for out, key in INSTANCE_KEYS if instance.get(key) is not None}


def gather(influx_client, secrets_client, name: Optional[str], instance_id: Optional[str], region: Optional[str]
           ) -> Dict[str, Any]:
    """Find the instance, read its secret; return the module's result.

    Raises:
        AuthParametersError: no such instance (the message names the region), no secret yet, or an AWS failure.
    """
    where = f" in region {region}" if region else ""
    if name is not None:
        instance_id = find_instance_id(influx_client, name)
        if instance_id is None:
            raise AuthParametersError(
                message=f"No Timestream for InfluxDB instance named {name!r} exists{where} (check name and region)")
    instance = get_instance(influx_client, instance_id)
    if instance is None:
        raise AuthParametersError(
            message=f"No Timestream for InfluxDB instance with id {instance_id!r} exists{where} (check id and region)")
    secret_arn = instance.get("influxAuthParametersSecretArn")
    if not secret_arn:
        raise AuthParametersError(
            message=f"Instance {instance.get('name')!r} (status {instance.get('status')}) has no auth-parameters "
                    "secret yet; wait until it is AVAILABLE")
    return {
        "changed": False,
        "auth_parameters": parse_auth_parameters(read_secret(secrets_client, secret_arn), secret_arn),
        "secret_arn": secret_arn,
        "instance": describe(instance),
    }


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str"), id=dict(type="str")),
        mutually_exclusive=[["name", "id"]],
        required_one_of=[["name", "id"]],
        supports_check_mode=True,
    )
    retry = AWSRetry.jittered_backoff(retries=10)
    influx_client = module.client("timestream-influxdb", retry_decorator=retry)
    secrets_client = module.client("secretsmanager", retry_decorator=retry)
    try:
        result = gather(influx_client, secrets_client, module.params["name"], module.params["id"], module.region)
    except AuthParametersError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
