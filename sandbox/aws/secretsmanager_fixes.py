"""Corrections to moto's Secrets Manager where it differs from AWS.

UpdateSecretVersionStage moving AWSCURRENT: moto moves the label but not the secret's default
version, so GetSecretValue without VersionId/VersionStage (what the amazon.aws secretsmanager_secret
lookup and most SDK callers send) kept returning the old value after a rotation's finishSecret. AWS
returns the AWSCURRENT version. Found by the credential rotation's tests: the secrets role read the
old token through the lookup and deleted the old authorization during its grace period.
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage
    _applied = True
