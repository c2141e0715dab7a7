# -*- coding: utf-8 -*-
# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credential rotation of the platform's InfluxDB secrets: the pure parts (what is due, which step
comes next, the records kept in the secret's tags, password generation) and the Secrets Manager
calls of the four-step protocol (createSecret, setSecret, testSecret, finishSecret).

Records kept as tags on the secret (never a secret value):

* ``RotationLastRotated``: ISO 8601 UTC time of the last completed rotation.
* ``RotationRetiredTokens``: the old authorizations kept active for their grace period, as
  ``<authorization id>@<expiry, epoch seconds>`` separated by spaces (a tag value allows no comma);
  a later run deletes the expired
  ones and drops them from the tag.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import secrets
import string
from typing import Any, Dict, List, Optional, Tuple

LAST_ROTATED_TAG = "RotationLastRotated"
RETIRED_TAG = "RotationRetiredTokens"
PENDING = "AWSPENDING"
CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
#: Where a test may stop a rotation (environment variable ONS_ROTATION_STOP_AFTER): after a step,
#: between the InfluxDB change and the secret update ("influxChange"), between the promotion and
#: the bookkeeping of finishSecret ("promote").
STOP_POINTS = ("createSecret", "influxChange", "setSecret", "testSecret", "promote")
PASSWORD_ALPHABET = string.ascii_letters + string.digits


class RotationError(Exception):
    """A failure with a message for the playbook author (never containing a secret value)."""


class StopRequested(Exception):
    """Raised by the test hook: the rotation stops here, as if the process had been killed."""


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment: datetime.datetime) -> str:
    """``2026-11-29T15:00:00Z`` (seconds precision, UTC)."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: Optional[str]) -> Optional[datetime.datetime]:
    """The UTC time of an ISO 8601 string, or None when it is empty or not a time."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def generate_password(length: int) -> str:
    """A random password Timestream for InfluxDB accepts: letters and digits only, with at least one
    lower-case letter, one upper-case letter and one digit, ``length`` (8-64) characters."""
    if not 8 <= length <= 64:
        raise RotationError(f"password_length must be between 8 and 64 (Timestream's rule), got {length}")
    while True:
        value = "".join(secrets.choice(PASSWORD_ALPHABET) for _position in range(length))
        if (any(c.islower() for c in value) and any(c.isupper() for c in value)
                and any(c.isdigit() for c in value)):
            return value


def parse_retired(tag_value: Optional[str]) -> List[Tuple[str, int]]:
    """``RotationRetiredTokens`` as ``[(authorization_id, expiry_epoch)]``; malformed entries are dropped."""
    out = []
    for entry in (tag_value or "").replace(",", " ").split():
        auth_id, _separator, expiry = entry.strip().partition("@")
        if auth_id and expiry.lstrip("-").isdigit():
            out.append((auth_id, int(expiry)))
    return out


def format_retired(entries: List[Tuple[str, int]]) -> str:
    """The tag value of ``entries`` (a Secrets Manager tag value holds up to 256 characters: the
    newest entries are kept if there are more)."""
    parts = [f"{auth_id}@{expiry}" for auth_id, expiry in entries]
    while parts and len(" ".join(parts)) > 256:
        parts.pop(0)
    return " ".join(parts)


def split_expired(entries: List[Tuple[str, int]], now_epoch: float) -> Tuple[List[Tuple[str, int]], List[Tuple[str, int]]]:
    """``(expired, still_in_grace)``: an entry expires when its expiry is at or before ``now_epoch``."""
    expired = [e for e in entries if e[1] <= now_epoch]
    kept = [e for e in entries if e[1] > now_epoch]
    return expired, kept


def last_rotated(tags: Dict[str, str], current_version_created: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    """When the credential was last renewed: the later of the ``RotationLastRotated`` tag and the
    creation of the AWSCURRENT version (a credential bootstrapped afresh is new too)."""
    candidates = [m for m in (parse_iso(tags.get(LAST_ROTATED_TAG)), current_version_created) if m is not None]
    return max(candidates) if candidates else None


def is_due(last: Optional[datetime.datetime], period_days: float, now: datetime.datetime, force: bool = False) -> bool:
    """Whether a rotation is due: forced, never recorded, or older than ``period_days``."""
    if force or last is None:
        return True
    return now - last >= datetime.timedelta(days=period_days)


def age_days(last: Optional[datetime.datetime], now: datetime.datetime) -> Optional[float]:
    """The credential's age in days (the CredentialAgeDays metric), rounded to 1/1000 day."""
    if last is None:
        return None
    return round(max((now - last).total_seconds(), 0.0) / 86400.0, 3)


def stages_by_version(description: Dict[str, Any]) -> Dict[str, List[str]]:
    """DescribeSecret's ``VersionIdsToStages``."""
    return dict(description.get("VersionIdsToStages") or {})


def version_with(stages: Dict[str, List[str]], stage: str) -> Optional[str]:
    """The version id carrying ``stage``, or None."""
    for version_id, labels in stages.items():
        if stage in (labels or []):
            return version_id
    return None


def pending_rotation(stages: Dict[str, List[str]]) -> Optional[Dict[str, Any]]:
    """The rotation in progress, if any: ``{"token": version id, "promoted": bool}``. An AWSPENDING
    version that is not AWSCURRENT is a rotation to finish; one that is also AWSCURRENT was promoted
    and only its bookkeeping (and the removal of the AWSPENDING label) is left."""
    pending = version_with(stages, PENDING)
    if pending is None:
        return None
    return {"token": pending, "promoted": CURRENT in (stages.get(pending) or [])}


def parse_secret_json(text: Optional[str], name: str) -> Dict[str, Any]:
    """A secret's JSON object; raises naming the secret (never quoting its value) otherwise."""
    try:
        value = json.loads(text or "")
    except ValueError:
        raise RotationError(f"The secret {name} does not hold a JSON object")
    if not isinstance(value, dict):
        raise RotationError(f"The secret {name} does not hold a JSON object")
    return value


def retired_description(description: str, token: str) -> str:
    """The description an old authorization takes when rotated out, so that the live one alone
    carries the platform's description (the secrets role finds tokens by description)."""
    return f"{description} (retired by rotation {token})"


def pending_description(description: str, token: str) -> str:
    """The description of the new authorization until it is promoted."""
    return f"{description} (rotation {token})"


def is_unstaged_for(description: str, base: str) -> bool:
    """Whether an authorization is a new one of ``base`` created by a rotation whose token was never
    staged (a crash between the InfluxDB change and the secret update)."""
    return description.startswith(f"{base} (rotation ")


def base_description(description: str) -> str:
    """The platform's description of an authorization, without a rotation suffix."""
    for marker in (" (retired by rotation ", " (rotation "):
        if marker in description:
            return description.split(marker, 1)[0]
    return description


# --------------------------------------------------------------------------------------------
# Secrets Manager
# --------------------------------------------------------------------------------------------

def describe_secret(client, secret_id: str) -> Optional[Dict[str, Any]]:
    """DescribeSecret, or None when the secret does not exist (or is scheduled for deletion)."""
    try:
        description = client.describe_secret(SecretId=secret_id, aws_retry=True)
    except client.exceptions.ResourceNotFoundException:
        return None
    if description.get("DeletedDate"):
        return None
    return description


def version_created(client, secret_id: str, version_id: str) -> Optional[datetime.datetime]:
    """The creation time of one version of the secret (ListSecretVersionIds, paginated)."""
    kwargs = {"SecretId": secret_id, "IncludeDeprecated": True}
    while True:
        page = client.list_secret_version_ids(aws_retry=True, **kwargs)
        for version in page.get("Versions", []):
            if version.get("VersionId") == version_id and version.get("CreatedDate"):
                created = version["CreatedDate"]
                return created if created.tzinfo else created.replace(tzinfo=datetime.timezone.utc)
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def get_value(client, secret_id: str, stage: Optional[str] = None, version_id: Optional[str] = None) -> Optional[str]:
    """The SecretString of a stage or version, or None when there is no such version."""
    kwargs = {"SecretId": secret_id}
    if version_id:
        kwargs["VersionId"] = version_id
    else:
        kwargs["VersionStage"] = stage or CURRENT
    try:
        return client.get_secret_value(aws_retry=True, **kwargs).get("SecretString")
    except client.exceptions.ResourceNotFoundException:
        return None


def stage_pending(client, secret_id: str, token: str, value: Dict[str, Any]) -> None:
    """createSecret's write: the new value as version ``token`` labelled AWSPENDING (the same
    ClientRequestToken again is a no-op in Secrets Manager)."""
    client.put_secret_value(SecretId=secret_id, ClientRequestToken=token, SecretString=json.dumps(value),
                            VersionStages=[PENDING], aws_retry=True)


def promote(client, secret_id: str, token: str, current_version: Optional[str]) -> None:
    """finishSecret's move: AWSCURRENT to ``token`` (Secrets Manager labels the old one AWSPREVIOUS)."""
    kwargs = {"SecretId": secret_id, "VersionStage": CURRENT, "MoveToVersionId": token}
    if current_version and current_version != token:
        kwargs["RemoveFromVersionId"] = current_version
    client.update_secret_version_stage(aws_retry=True, **kwargs)


def unstage_pending(client, secret_id: str, token: str) -> None:
    """The last write of a rotation: the AWSPENDING label leaves the promoted version."""
    client.update_secret_version_stage(SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token,
                                       aws_retry=True)


def put_current(client, secret_id: str, value: Dict[str, Any]) -> None:
    """A new AWSCURRENT version (the instance's auth-parameters secret after a password rotation)."""
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(value), aws_retry=True)


def tag_secret(client, secret_id: str, tags: Dict[str, str]) -> None:
    client.tag_resource(SecretId=secret_id, Tags=[{"Key": k, "Value": v} for k, v in tags.items()], aws_retry=True)
