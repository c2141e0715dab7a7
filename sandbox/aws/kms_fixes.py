"""Corrections to moto's KMS where it differs from AWS.

ScheduleKeyDeletion and CancelKeyDeletion: AWS takes the key's id or its ARN (the botocore model's
KeyId: "Specify the key ID or key ARN"); moto looks the value up as an id only and answers a key
ARN with a KeyError (an HTML 500). amazon.aws kms_key (state: absent) sends the ARN, so deleting a
key found by its alias failed.
"""

from __future__ import annotations

import functools
from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.kms.models import KmsBackend

    for name in ("schedule_key_deletion", "cancel_key_deletion"):
        original = getattr(KmsBackend, name)

        @functools.wraps(original)
        def by_any_id(self: Any, key_id: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            return _original(self, self.any_id_to_key_id(key_id), *args, **kwargs)

        setattr(KmsBackend, name, by_any_id)
    _applied = True
