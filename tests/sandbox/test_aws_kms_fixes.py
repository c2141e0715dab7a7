"""moto's KMS corrected where it differs from AWS: a key's deletion is scheduled (and cancelled)
by its ARN as well as by its id, as the botocore model documents for KeyId."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("by", ["arn", "id"])
def test_schedule_and_cancel_key_deletion_take_the_key_arn_or_id(aws_sandbox, by):
    kms = aws_sandbox.client("kms")
    meta = kms.create_key(Description=f"deletion by {by}")["KeyMetadata"]
    key = meta["Arn"] if by == "arn" else meta["KeyId"]
    assert kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)["KeyId"]
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_an_unknown_key_is_an_aws_error_not_a_server_error(aws_sandbox):
    kms = aws_sandbox.client("kms")
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.schedule_key_deletion(KeyId="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
                                  PendingWindowInDays=7)
