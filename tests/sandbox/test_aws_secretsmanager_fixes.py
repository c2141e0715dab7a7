"""moto's Secrets Manager corrected where it differs from AWS: after UpdateSecretVersionStage moves
AWSCURRENT, GetSecretValue without a stage or version returns the new AWSCURRENT value (moto kept
returning the old one), as the amazon.aws lookup reads it."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.sandbox


def test_get_secret_value_follows_awscurrent(aws_sandbox):
    sm = aws_sandbox.client("secretsmanager")
    name = f"fixes/{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString="old")
    try:
        stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
        current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
        token = str(uuid.uuid4())
        sm.put_secret_value(SecretId=name, ClientRequestToken=token, SecretString="new", VersionStages=["AWSPENDING"])
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "old"
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                       RemoveFromVersionId=current)
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "new"
        assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "old"
        # Moving it back works the same way.
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=current,
                                       RemoveFromVersionId=token)
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "old"
    finally:
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
