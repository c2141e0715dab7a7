"""Corrections to moto's KMS where it differs from AWS.

Key ids given as ARNs: AWS's ScheduleKeyDeletion, CancelKeyDeletion, EnableKey and DisableKey take
a key id or a key ARN; moto 5.2.5 looks the value up as an id only and answers an ARN with a
KeyError (HTTP 500). amazon.aws kms_key passes the key's ARN, so removing a key (state=absent) and
bringing back one pending deletion failed against the sandbox.
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

    for name in ("schedule_key_deletion", "cancel_key_deletion", "enable_key", "disable_key"):
        original = getattr(KmsBackend, name)

        @functools.wraps(original)
        def by_any_id(self: Any, key_id: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            return _original(self, self.any_id_to_key_id(key_id), *args, **kwargs)

        setattr(KmsBackend, name, by_any_id)
    _applied = True
