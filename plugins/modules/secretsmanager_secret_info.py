#!/usr/bin/python

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: secretsmanager_secret_info
version_added: 0.1.0
short_description: Describe AWS Secrets Manager secrets (never their values)
description:
  - Returns the secrets of the account and region whose names start with O(name_prefix), or the one named
    O(name), with their name, ARN, description, KMS key, rotation, dates and tags (C(ListSecrets)).
  - Never reads a secret's value; use the C(amazon.aws.secretsmanager_secret) lookup for that.
  - Neither amazon.aws nor community.aws has an info module for Secrets Manager; the playbooks need the ARNs
    of secrets they did not create in the same run (C(playbooks/outputs.yml), C(playbooks/teardown.yml)).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Only the secret with exactly this name.
    type: str
  name_prefix:
    description:
      - Only secrets whose names start with this.
    type: str
  include_deleted:
    description:
      - Also return secrets scheduled for deletion (they have a C(deleted_date)).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
notes:
  - Supports check mode (it makes no change either way).
"""

EXAMPLES = r"""
- name: The platform's InfluxDB secrets
  ons.timestream_influxdb.secretsmanager_secret_info:
    name_prefix: ons-data-platform/dev/influxdb/
  register: influxdb_secrets

- name: The ARN of the admin secret
  ansible.builtin.debug:
    msg: "{{ (influxdb_secrets.secrets | selectattr('name', 'equalto', 'ons-data-platform/dev/influxdb/admin') | first).arn }}"
"""

RETURN = r"""
secrets:
  description: The matching secrets, sorted by name; empty when none matches. Never a value.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the secret.
      type: str
    arn:
      description: ARN of the secret.
      type: str
    description:
      description: Description.
      type: str
    kms_key_id:
      description: KMS key that encrypts it (absent for the account's default key).
      type: str
    rotation_enabled:
      description: Whether rotation is enabled.
      type: bool
    rotation_lambda_arn:
      description: The rotation function.
      type: str
    created_date:
      description: When it was created.
      type: str
    last_changed_date:
      description: When its value or metadata last changed.
      type: str
    last_rotated_date:
      description: When it was last rotated.
      type: str
    deleted_date:
      description: When it will be deleted (only with O(include_deleted)).
      type: str
    tags:
      description: Tags of the secret.
      type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    boto3_tag_list_to_ansible_dict,
)

KEPT = ("name", "arn", "description", "kms_key_id", "rotation_enabled", "rotation_lambda_arn", "created_date",
        "last_changed_date", "last_rotated_date", "deleted_date")


def list_secrets(client, name=None, name_prefix=None, include_deleted=False):
    """The secrets matching ``name`` (exact) and ``name_prefix``, as snake_case dicts with tags, sorted by name.

    ListSecrets' ``name`` filter matches prefixes; the exact match is applied here. No value is read.
    """
    kwargs = {"IncludePlannedDeletion": bool(include_deleted)}
    prefix = name if name is not None else name_prefix
    if prefix:
        kwargs["Filters"] = [{"Key": "name", "Values": [prefix]}]
    paginator = client.get_paginator("list_secrets")
    found = []
    for page in paginator.paginate(**kwargs):
        for entry in page.get("SecretList", []):
            if name is not None and entry.get("Name") != name:
                continue
            if name_prefix and not entry.get("Name", "").startswith(name_prefix):
                continue
            if entry.get("DeletedDate") and not include_deleted:
                continue
            tags = boto3_tag_list_to_ansible_dict(entry.get("Tags", []))
            secret = camel_dict_to_snake_dict({k: v for k, v in entry.items() if k != "Tags"})
            secret = {k: (str(v) if k.endswith("_date") else v) for k, v in secret.items() if k in KEPT}
            secret["arn"] = entry.get("ARN")
            secret["tags"] = tags
            found.append(secret)
    return sorted(found, key=lambda s: s["name"])


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str"),
            name_prefix=dict(type="str"),
            include_deleted=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    try:
        secrets = list_secrets(client, module.params["name"], module.params["name_prefix"],
                               module.params["include_deleted"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to list the Secrets Manager secrets")
    module.exit_json(changed=False, secrets=secrets)


if __name__ == "__main__":
    main()
