#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sns_topic_encryption
version_added: 0.1.0
short_description: Server-side encryption (KMS key) of an existing Amazon SNS topic
description:
  - Sets or removes the KMS key that encrypts an SNS topic's messages at rest (the topic attribute
    C(KmsMasterKeyId)).
  - community.aws.sns_topic creates topics and their subscriptions but cannot set this attribute;
    run it first, then this module on the topic it returns.
  - Idempotent on the key as given (a key id, key ARN, alias name or alias ARN is compared as
    the same string SNS stores).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  topic:
    description:
      - ARN of the topic, or its name (looked up in the region through C(ListTopics)).
    type: str
    required: true
  kms_key_id:
    description:
      - The KMS key (id, ARN, alias name such as V(alias/aws/sns), or alias ARN). Required when
        O(state=present).
    type: str
  state:
    description:
      - V(present) sets O(kms_key_id) as the topic's key; V(absent) removes encryption.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Supports check mode and diff mode. In check mode a topic that does not exist yet (it would be
    created by an earlier task) is reported as changed, so C(--check) runs to the end.
"""

EXAMPLES = r"""
- name: Alarm topic
  community.aws.sns_topic:
    name: ons-data-platform-prod-alarms
  register: alarm_topic

- name: Encrypt the alarm topic with the platform's key
  ons.timestream_influxdb.sns_topic_encryption:
    topic: "{{ alarm_topic.sns_arn }}"
    kms_key_id: arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
topic_arn:
  description: ARN of the topic (null in check mode for a topic that does not exist yet).
  returned: always
  type: str
  sample: arn:aws:sns:eu-west-2:123456789012:ons-data-platform-prod-alarms
kms_key_id:
  description: The topic's KMS key after the task (empty when not encrypted).
  returned: always
  type: str
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ATTRIBUTE = "KmsMasterKeyId"


class TopicError(Exception):
    """A failure the module reports with fail_json (msg), or with fail_json_aws when it has a botocore error."""

    def __init__(self, msg, exception=None):
        super().__init__(msg)
        self.exception = exception


def desired_key(params):
    """The KMS key wanted ("" for none). Raises TopicError naming the option."""
    if params["state"] == "absent":
        return ""
    if not params.get("kms_key_id"):
        raise TopicError("kms_key_id is required (and must not be empty) when state is present")
    return params["kms_key_id"]


def find_topic_arn(client, topic):
    """The topic's ARN (given an ARN or a name), or None when there is no such topic."""
    try:
        if topic.startswith("arn:"):
            client.get_topic_attributes(TopicArn=topic, aws_retry=True)
            return topic
        paginator = client.get_paginator("list_topics")
        for page in paginator.paginate():
            for entry in page.get("Topics", []):
                if entry["TopicArn"].rsplit(":", 1)[-1] == topic:
                    return entry["TopicArn"]
        return None
    except is_boto3_error_code("NotFound"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise TopicError(f"Failed to look up SNS topic {topic}", e) from e


def current_key(client, topic_arn):
    """The topic's KmsMasterKeyId ("" when not encrypted)."""
    try:
        attributes = client.get_topic_attributes(TopicArn=topic_arn, aws_retry=True)["Attributes"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise TopicError(f"Failed to read the attributes of SNS topic {topic_arn}", e) from e
    return attributes.get(ATTRIBUTE, "")


def set_key(client, topic_arn, key):
    try:
        client.set_topic_attributes(TopicArn=topic_arn, AttributeName=ATTRIBUTE, AttributeValue=key, aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise TopicError(f"Failed to set {ATTRIBUTE} of SNS topic {topic_arn}", e) from e


def ensure(client, topic, wanted, check_mode):
    """Returns the module result: {changed, topic_arn, kms_key_id, diff}."""
    topic_arn = find_topic_arn(client, topic)
    if topic_arn is None:
        if not check_mode:
            raise TopicError(f"SNS topic {topic} does not exist (create it first, e.g. with community.aws.sns_topic)")
        return dict(changed=bool(wanted), topic_arn=None, kms_key_id=wanted,
                    diff=dict(before={ATTRIBUTE: ""}, after={ATTRIBUTE: wanted}))
    have = current_key(client, topic_arn)
    changed = have != wanted
    if changed and not check_mode:
        set_key(client, topic_arn, wanted)
    return dict(changed=changed, topic_arn=topic_arn, kms_key_id=wanted,
                diff=dict(before={ATTRIBUTE: have}, after={ATTRIBUTE: wanted}))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            topic=dict(type="str", required=True),
            kms_key_id=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    client = module.client("sns", retry_decorator=AWSRetry.jittered_backoff(retries=10, delay=3, max_delay=30))
    try:
        wanted = desired_key(module.params)
        result = ensure(client, module.params["topic"], wanted, module.check_mode)
    except TopicError as e:
        if e.exception is not None:
            module.fail_json_aws(e.exception, msg=str(e))
        module.fail_json(msg=str(e))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
