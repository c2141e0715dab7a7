#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: influx_secret_rotation
short_description: Rotate an InfluxDB token or admin password kept in AWS Secrets Manager, never locking anyone out
version_added: 0.2.0
description:
  - Rotates one credential of a Timestream for InfluxDB instance kept in a Secrets Manager secret, with Secrets
    Manager's four steps keyed by a ClientRequestToken (the new version's id) - C(createSecret) stages the new value
    as C(AWSPENDING), C(setSecret) applies it in InfluxDB, C(testSecret) authenticates with it, C(finishSecret) moves
    C(AWSCURRENT) to it (the old version becomes C(AWSPREVIOUS)).
  - Every step checks before it acts, so it is safe to repeat, and a run that finds a rotation half done (a version
    labelled C(AWSPENDING)) finishes that rotation instead of starting another. At every moment either the
    C(AWSCURRENT) or the C(AWSPENDING) value authenticates.
  - "O(credential=token): a secret C({token, authorization_id, endpoint, port, url, org, bucket}). InfluxDB chooses
    token values, so C(createSecret) creates a new authorization with the permissions, organization and user of the
    old one (read by its id, never by its token) and stages its token; C(setSecret) makes sure it is active. The old
    authorization is renamed, and kept active for O(grace_period_seconds) so clients that still hold it keep working
    (recorded in the secret's C(RotationRetiredTokens) tag); a later run deletes it once expired. With
    O(deactivate_old_token=true) it is deactivated at once instead."
  - "O(credential=password): the platform's admin secret C({username, password, org, bucket, endpoint, port, url}). A
    random password of letters and digits (Timestream's rule) of O(password_length) characters is staged, set through
    the InfluxDB API and tested by signing in; on promotion the instance's own auth-parameters secret gets it too."
  - Due-based - a rotation starts only when the credential is older than O(rotation_period_days) (the later of the
    secret's C(RotationLastRotated) tag and the creation of its current version), or with O(force=true). Expired old
    tokens are cleaned up and a half-done rotation finished on every run.
  - The endpoint and port are read from the instance (GetDbInstance), so custom ports and TLS work.
  - No secret value is ever returned or logged.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  secret_id:
    description: Name or ARN of the secret to rotate.
    type: str
    required: true
  credential:
    description: What the secret holds - an API V(token) or the admin V(password).
    type: str
    required: true
    choices: [ token, password ]
  instance_name:
    description: Name of the Timestream for InfluxDB instance the credential belongs to.
    type: str
    required: true
  admin_secret_id:
    description:
      - The platform's admin secret (name or ARN). Its C(AWSCURRENT) and C(AWSPENDING) passwords are tried, after the
        instance's auth-parameters secret, to sign in for managing tokens, so a token rotation also works while a
        password rotation is half done.
    type: str
  url_scheme:
    description: Scheme of the InfluxDB URL built from the instance's endpoint and port.
    type: str
    choices: [ http, https ]
    default: https
  validate_certs:
    description: Verify InfluxDB's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA certificates that signed InfluxDB's certificate.
    type: path
  rotation_period_days:
    description: Rotate when the credential is at least this many days old.
    type: float
    default: 90
  force:
    description: Rotate now whatever the credential's age (what an operator runs after a leak).
    type: bool
    default: false
  grace_period_seconds:
    description: How long the old token stays active after a token rotation (a day by default).
    type: int
    default: 86400
  deactivate_old_token:
    description: Deactivate the old token at once when the new one is promoted instead of keeping it for a grace period.
    type: bool
    default: false
  password_length:
    description: Length of a new admin password (8 to 64).
    type: int
    default: 32
  update_auth_parameters:
    description: With O(credential=password), also store the new password in the instance's auth-parameters secret.
    type: bool
    default: true
  only_resume:
    description:
      - Only finish a half-done rotation and delete expired old tokens; never start a rotation. A secret or instance
        that does not exist is then not an error (there is nothing to finish). The playbook runs this before the
        bootstrap of the tokens, so that the bootstrap always finds one live authorization per token.
    type: bool
    default: false
  metric_namespace:
    description:
      - CloudWatch namespace to publish the credential's age in (days, metric O(metric_name), dimension C(Secret) =
        the secret's name); not published when empty or in check mode.
    type: str
    default: ""
  metric_name:
    description: Name of the credential-age metric.
    type: str
    default: CredentialAgeDays
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes
notes:
  - Check mode reports whether a rotation is due (or half done) and what would be cleaned up, and changes nothing.
  - Needs C(secretsmanager:DescribeSecret), C(GetSecretValue), C(PutSecretValue), C(UpdateSecretVersionStage),
    C(ListSecretVersionIds), C(TagResource), C(timestream-influxdb:GetDbInstance), C(ListDbInstances) and, with
    O(metric_namespace), C(cloudwatch:PutMetricData).
"""

EXAMPLES = r"""
- name: Rotate the Lambda functions' token when due (quarterly), keeping the old one for a day
  ons.timestream_influxdb.influx_secret_rotation:
    secret_id: ons-data-platform/dev/influxdb/lambda-token
    credential: token
    instance_name: ons-data-platform-dev
    admin_secret_id: ons-data-platform/dev/influxdb/admin
    metric_namespace: ons-data-platform/influxdb

- name: After a leak - rotate the admin password now
  ons.timestream_influxdb.influx_secret_rotation:
    secret_id: ons-data-platform/dev/influxdb/admin
    credential: password
    instance_name: ons-data-platform-dev
    force: true
    password_length: 32

- name: Rotate a leaked token now and disable the old one at once
  ons.timestream_influxdb.influx_secret_rotation:
    secret_id: ons-data-platform/dev/influxdb/operator-token
    credential: token
    instance_name: ons-data-platform-dev
    force: true
    deactivate_old_token: true
"""

RETURN = r"""
secret_name:
  description: Name of the secret.
  returned: always
  type: str
  sample: ons-data-platform/dev/influxdb/lambda-token
due:
  description: Whether a new rotation was due (or forced).
  returned: always
  type: bool
rotated:
  description: Whether a rotation was completed (or, in check mode, would be started or finished) by this run.
  returned: always
  type: bool
resumed:
  description: Whether this run found a half-done rotation and finished it.
  returned: always
  type: bool
steps:
  description: The steps this run performed (or would perform in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [createSecret, setSecret, testSecret, finishSecret]
version_id:
  description: Version id (ClientRequestToken) of the rotation performed or finished, else of the current version.
  returned: always
  type: str
previous_version_id:
  description: Version id that was AWSCURRENT before the rotation (now AWSPREVIOUS).
  returned: when rotated
  type: str
last_rotated:
  description: When the credential was last renewed (UTC, ISO 8601), after this run.
  returned: always
  type: str
next_rotation:
  description: When the credential becomes due (UTC, ISO 8601).
  returned: always
  type: str
age_days:
  description: Age of the credential in days after this run (the published metric).
  returned: always
  type: float
retired_authorization_id:
  description: Id of the old authorization rotated out (still active until its grace period ends, unless deactivated).
  returned: when a token was rotated
  type: str
grace_expires:
  description: When the old token's grace period ends (UTC, ISO 8601).
  returned: when a token was rotated and kept active
  type: str
exists:
  description: Whether the secret (and the instance) exist; V(false) only with O(only_resume) or in check mode.
  returned: always
  type: bool
deleted_authorization_ids:
  description: Old authorizations whose grace period had ended, deleted (or to be deleted in check mode).
  returned: always
  type: list
  elements: str
diff:
  description: The rotation state before and after (versions, last rotation, old tokens in their grace period), never a secret.
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"current_version": "a1", "last_rotated": "2026-08-01T00:00:00Z"}, "after": {"current_version": "b2"}}
timings:
  description: Seconds spent in each step.
  returned: always
  type: dict
  sample: {"createSecret": 0.12, "setSecret": 0.05, "testSecret": 0.03, "finishSecret": 0.2}
"""

import datetime
import os
import time
import uuid

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils import (
    rotation as R,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import (
    InfluxDBConnection,
    InfluxDBModuleError,
    connect,
)
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import (
    TimestreamInfluxDBError,
    find_db_instance,
)

STOP_ENV = "ONS_ROTATION_STOP_AFTER"


class Rotation(object):
    """One run of the rotation of one secret. Every method that reaches AWS or InfluxDB raises
    (RotationError, InfluxDBModuleError, botocore errors); only main() exits."""

    def __init__(self, module, secrets, instance):
        self.module = module
        self.params = module.params
        self.secrets = secrets
        self.instance = instance
        self.check = module.check_mode
        self.secret_id = self.params["secret_id"]
        self.url = f"{self.params['url_scheme']}://{instance['endpoint']}:{instance['port']}"
        self.steps = []
        self.timings = {}
        self.stop_after = os.environ.get(STOP_ENV) or None
        self.result = {"deleted_authorization_ids": [], "rotated": False, "resumed": False, "changed": False}

    # -- helpers -------------------------------------------------------------------------------
    def no_log(self, *values):
        for value in values:
            if value:
                self.module.no_log_values.add(str(value))

    def read(self, stage=None, version_id=None):
        text = R.get_value(self.secrets, self.secret_id, stage=stage, version_id=version_id)
        if text is None:
            return None
        value = R.parse_secret_json(text, self.name)
        self.no_log(value.get("token"), value.get("password"))
        return value

    def hook(self, point):
        """The test hook: stop after ``point`` when ONS_ROTATION_STOP_AFTER names it."""
        if self.stop_after == point and not self.check:
            raise R.StopRequested(point)

    def influx_params(self, **credentials):
        params = {"url": self.url, "validate_certs": self.params["validate_certs"], "ca_path": self.params["ca_path"],
                  "timeout": 10, "org": None, "token": None, "username": None, "password": None}
        params.update(credentials)
        return params

    def admin_connection(self):
        """Sign in as the instance's admin: the auth-parameters secret's password first, then the admin
        secret's AWSCURRENT and AWSPENDING ones (a password rotation may be half done)."""
        candidates = []
        auth_arn = self.instance.get("influxAuthParametersSecretArn")
        if auth_arn:
            text = R.get_value(self.secrets, auth_arn)
            if text:
                candidates.append(R.parse_secret_json(text, "auth-parameters secret"))
        admin_id = self.params.get("admin_secret_id") or (self.secret_id if self.params["credential"] == "password" else None)
        if admin_id:
            for stage in (R.CURRENT, R.PENDING):
                text = R.get_value(self.secrets, admin_id, stage=stage)
                if text:
                    candidates.append(R.parse_secret_json(text, admin_id))
        last_error = None
        for candidate in candidates:
            self.no_log(candidate.get("password"))
            if not candidate.get("username") or not candidate.get("password"):
                continue
            try:
                return connect(self.influx_params(username=candidate["username"], password=candidate["password"]))
            except InfluxDBModuleError as exc:
                if exc.status not in (401, 403):
                    raise
                last_error = exc
        raise R.RotationError(f"Cannot sign in to InfluxDB at {self.url} as the instance's admin with any stored password"
                              f" ({last_error.msg if last_error else 'no username and password stored'})")

    def token_authenticates(self, value):
        """testSecret of a token: a read the token is allowed (its bucket); only a 401 means it does not work."""
        conn = InfluxDBConnection(self.influx_params(token=value["token"]))
        try:
            conn.request("GET", "/buckets", "reading the bucket with the new token",
                         query={"name": value.get("bucket"), "orgID": None})
            return True
        except InfluxDBModuleError as exc:
            if exc.status == 401:
                return False
            if exc.status in (403, 404):
                return True
            raise
        finally:
            conn.close()

    def password_authenticates(self, value):
        conn = InfluxDBConnection(self.influx_params(username=value["username"], password=value["password"]))
        try:
            return conn.check_password(value["username"], value["password"])
        finally:
            conn.close()

    def timed(self, step, func, *args):
        start = time.monotonic()
        try:
            return func(*args)
        finally:
            self.timings[step] = round(self.timings.get(step, 0.0) + time.monotonic() - start, 3)

    # -- the run -------------------------------------------------------------------------------
    def run(self):
        description = R.describe_secret(self.secrets, self.secret_id)
        if description is None:
            if self.params["only_resume"] or self.check:
                self.result.update(secret_name=self.secret_id, exists=False, due=True, steps=[], timings={},
                                   msg=f"The secret {self.secret_id} does not exist yet: nothing to rotate")
                return self.result
            raise R.RotationError(f"The secret {self.secret_id} does not exist: bootstrap it first (the secrets role)")
        self.name = description["Name"]
        self.tags = boto3_tag_list_to_ansible_dict(description.get("Tags", []))
        stages = R.stages_by_version(description)
        current_version = R.version_with(stages, R.CURRENT)
        now = R.utcnow()
        last = R.last_rotated(self.tags, R.version_created(self.secrets, self.secret_id, current_version)
                              if current_version else None)
        due = R.is_due(last, self.params["rotation_period_days"], now, self.params["force"])
        pending = R.pending_rotation(stages)
        self.result.update(secret_name=self.name, exists=True, due=due, version_id=current_version)

        before = {"current_version": current_version, "last_rotated": R.iso(last) if last else None,
                  "pending_version": pending["token"] if pending else None,
                  "retired_authorization_ids": [e[0] for e in R.parse_retired(self.tags.get(R.RETIRED_TAG))]}
        # Old tokens whose grace period has ended, from earlier rotations.
        if self.params["credential"] == "token":
            self.timed("cleanup", self.cleanup_expired, now)

        if pending is not None:
            self.result["resumed"] = True
            self.rotate(pending["token"], current_version, promoted=pending["promoted"])
            last = R.utcnow() if not self.check else now
        elif due and not self.params["only_resume"]:
            self.rotate(str(uuid.uuid4()), current_version, promoted=False)
            last = R.utcnow() if not self.check else now
        age = R.age_days(last, R.utcnow())
        self.result.update(
            steps=self.steps, timings=self.timings, age_days=age,
            last_rotated=R.iso(last) if last else None,
            next_rotation=R.iso(last + datetime.timedelta(days=self.params["rotation_period_days"])) if last else None)
        if self.module._diff:
            deleted = self.result["deleted_authorization_ids"]
            retired = [i for i in before["retired_authorization_ids"] if i not in deleted]
            if self.result.get("retired_authorization_id") and not self.params["deactivate_old_token"]:
                retired = sorted(set(retired + [self.result["retired_authorization_id"]]))
            self.result["diff"] = {"before": before, "after": {
                "current_version": self.result["version_id"], "last_rotated": R.iso(last) if last else None,
                "pending_version": None, "retired_authorization_ids": retired}}
        if self.params["metric_namespace"] and not self.check and age is not None:
            self.publish_age(age)
        return self.result

    def rotate(self, token, current_version, promoted):
        self.result.update(rotated=True, changed=True, version_id=token)
        if self.check:
            self.steps.extend(["finishSecret"] if promoted else list(R.STEPS))
            return
        if promoted:
            previous_version = R.version_with(R.stages_by_version(self.secrets.describe_secret(
                SecretId=self.secret_id, aws_retry=True)), R.PREVIOUS)
        else:
            previous_version = current_version
            self.timed("createSecret", self.create_secret, token, current_version)
            self.steps.append("createSecret")
            self.hook("createSecret")
            self.timed("setSecret", self.set_secret, token)
            self.steps.append("setSecret")
            self.hook("setSecret")
            self.timed("testSecret", self.test_secret, token)
            self.steps.append("testSecret")
            self.hook("testSecret")
        self.timed("finishSecret", self.finish_secret, token, current_version if not promoted else None, previous_version)
        self.steps.append("finishSecret")
        self.result["previous_version_id"] = previous_version

    # -- createSecret --------------------------------------------------------------------------
    def create_secret(self, token, current_version):
        if self.read(version_id=token) is not None:
            return  # staged by an earlier run
        current = self.read(stage=R.CURRENT)
        if current is None:
            raise R.RotationError(f"The secret {self.name} has no AWSCURRENT value to rotate")
        new = dict(current, endpoint=self.instance["endpoint"], port=self.instance["port"], url=self.url)
        if self.params["credential"] == "password":
            for field in ("username", "password"):
                if not current.get(field):
                    raise R.RotationError(f"The secret {self.name} has no {field}: it is not an admin-credentials secret")
            new["password"] = R.generate_password(self.params["password_length"])
            self.no_log(new["password"])
        else:
            new.update(self.create_authorization(current, token))
        R.stage_pending(self.secrets, self.secret_id, token, new)

    def create_authorization(self, current, token):
        """A new authorization with the old one's permissions, organization and user (read by id)."""
        auth_id = current.get("authorization_id")
        if not auth_id or not current.get("token"):
            raise R.RotationError(f"The secret {self.name} has no token or authorization_id: it is not a token secret")
        conn = self.admin_connection()
        try:
            old = conn.request("GET", f"/authorizations/{auth_id}", f"reading authorization {auth_id}", allow_404=True)
            if old is None:
                raise R.RotationError(f"The authorization {auth_id} stored in {self.name} no longer exists: bootstrap the"
                                      " token again (the secrets role's tokens) instead of rotating it")
            base = R.base_description(old.get("description") or "")
            description = R.pending_description(base, token)
            # A crash between the InfluxDB change and the secret update left an authorization whose token
            # was never stored (InfluxDB may hash it): no version is pending here, so any such one is an
            # orphan. Delete it and create another.
            for orphan in conn.list_paginated("/authorizations", "authorizations", "listing authorizations",
                                              query={"orgID": old.get("orgID")}):
                if R.is_unstaged_for(orphan.get("description") or "", base):
                    conn.request("DELETE", f"/authorizations/{orphan['id']}", "deleting an unstaged authorization",
                                 allow_404=True)
            permissions = [{"action": p["action"],
                            "resource": {k: v for k, v in (p.get("resource") or {}).items() if k in ("type", "id", "orgID")}}
                           for p in old.get("permissions") or []]
            created = conn.request("POST", "/authorizations", "creating the new authorization", body={
                "orgID": old["orgID"], "userID": old.get("userID"), "description": description,
                "status": "active", "permissions": permissions})
        finally:
            conn.close()
        self.no_log(created.get("token"))
        self.hook("influxChange")
        return {"token": created["token"], "authorization_id": created["id"]}

    # -- setSecret -----------------------------------------------------------------------------
    def set_secret(self, token):
        pending = self.read(version_id=token)
        if self.params["credential"] == "password":
            if self.password_authenticates(pending):
                return  # already set
            conn = self.admin_connection()
            try:
                user = conn.find_user(pending["username"])
                if not user:
                    raise R.RotationError(f"InfluxDB has no user {pending['username']!r} (from {self.name})")
                conn.request("POST", f"/users/{user['id']}/password", "setting the new admin password",
                             body={"password": pending["password"]})
            finally:
                conn.close()
            return
        conn = self.admin_connection()
        try:
            auth = conn.request("GET", f"/authorizations/{pending['authorization_id']}", "reading the new authorization",
                                allow_404=True)
            if auth is None:
                raise R.RotationError(f"The new authorization {pending['authorization_id']} of the pending version"
                                      f" {token} of {self.name} was deleted; remove that version's AWSPENDING label"
                                      " to start over")
            if auth.get("status") != "active":
                conn.request("PATCH", f"/authorizations/{auth['id']}", "activating the new authorization",
                             body={"status": "active"})
        finally:
            conn.close()

    # -- testSecret ----------------------------------------------------------------------------
    def test_secret(self, token):
        pending = self.read(version_id=token)
        works = (self.password_authenticates(pending) if self.params["credential"] == "password"
                 else self.token_authenticates(pending))
        if not works:
            raise R.RotationError(f"testSecret failed: the pending value (version {token}) of {self.name} does not"
                                  " authenticate against InfluxDB; AWSCURRENT is unchanged")

    # -- finishSecret --------------------------------------------------------------------------
    def finish_secret(self, token, current_version, previous_version):
        if current_version is not None and current_version != token:
            R.promote(self.secrets, self.secret_id, token, current_version)
        self.hook("promote")
        new = self.read(version_id=token)
        old = self.read(version_id=previous_version) if previous_version else None
        now = R.utcnow()
        if self.params["credential"] == "password":
            self.update_auth_parameters(new)
        elif old and old.get("authorization_id") and old["authorization_id"] != new["authorization_id"]:
            self.retire(old, new, token, now)
        R.tag_secret(self.secrets, self.secret_id, {R.LAST_ROTATED_TAG: R.iso(now)})
        R.unstage_pending(self.secrets, self.secret_id, token)

    def update_auth_parameters(self, new):
        arn = self.instance.get("influxAuthParametersSecretArn")
        if not arn or not self.params["update_auth_parameters"]:
            return
        text = R.get_value(self.secrets, arn)
        value = R.parse_secret_json(text, "auth-parameters secret") if text else {}
        self.no_log(value.get("password"))
        if value.get("password") != new["password"] or value.get("username") != new["username"]:
            value.update(username=new["username"], password=new["password"])
            R.put_current(self.secrets, arn, value)

    def retire(self, old, new, token, now):
        """The new authorization takes the platform's description; the old one is renamed and either
        deactivated or recorded for deletion after the grace period."""
        conn = self.admin_connection()
        try:
            new_auth = conn.request("GET", f"/authorizations/{new['authorization_id']}", "reading the new authorization")
            base = R.base_description(new_auth.get("description") or "")
            if new_auth.get("description") != base:
                conn.request("PATCH", f"/authorizations/{new_auth['id']}", "naming the new authorization",
                             body={"description": base})
            old_auth = conn.request("GET", f"/authorizations/{old['authorization_id']}", "reading the old authorization",
                                    allow_404=True)
            self.result["retired_authorization_id"] = old["authorization_id"]
            if old_auth is None:
                return
            patch = {"description": R.retired_description(base, token)}
            if self.params["deactivate_old_token"]:
                patch["status"] = "inactive"
            if any(old_auth.get(k) != v for k, v in patch.items()):
                conn.request("PATCH", f"/authorizations/{old_auth['id']}", "retiring the old authorization", body=patch)
        finally:
            conn.close()
        if not self.params["deactivate_old_token"]:
            entries = R.parse_retired(self.tags.get(R.RETIRED_TAG))
            if old["authorization_id"] not in [e[0] for e in entries]:
                expiry = int(now.timestamp()) + self.params["grace_period_seconds"]
                entries.append((old["authorization_id"], expiry))
                self.tags[R.RETIRED_TAG] = R.format_retired(entries)
                R.tag_secret(self.secrets, self.secret_id, {R.RETIRED_TAG: self.tags[R.RETIRED_TAG]})
            expiry = dict(entries)[old["authorization_id"]]
            self.result["grace_expires"] = R.iso(datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc))

    # -- cleanup of expired old tokens ---------------------------------------------------------
    def cleanup_expired(self, now):
        entries = R.parse_retired(self.tags.get(R.RETIRED_TAG))
        expired, kept = R.split_expired(entries, now.timestamp())
        if not expired:
            return
        self.result["deleted_authorization_ids"] = [e[0] for e in expired]
        self.result["changed"] = True
        if self.check:
            return
        conn = self.admin_connection()
        try:
            for auth_id, _expiry in expired:
                conn.request("DELETE", f"/authorizations/{auth_id}", f"deleting the expired authorization {auth_id}",
                             allow_404=True)
        finally:
            conn.close()
        self.tags[R.RETIRED_TAG] = R.format_retired(kept)
        if kept:
            R.tag_secret(self.secrets, self.secret_id, {R.RETIRED_TAG: self.tags[R.RETIRED_TAG]})
        else:
            self.secrets.untag_resource(SecretId=self.secret_id, TagKeys=[R.RETIRED_TAG], aws_retry=True)

    def publish_age(self, age):
        cloudwatch = self.module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff())
        cloudwatch.put_metric_data(Namespace=self.params["metric_namespace"], MetricData=[{
            "MetricName": self.params["metric_name"], "Dimensions": [{"Name": "Secret", "Value": self.name}],
            "Value": age, "Unit": "None"}], aws_retry=True)


def argument_spec():
    return dict(
        secret_id=dict(type="str", required=True),
        credential=dict(type="str", required=True, choices=["token", "password"]),
        instance_name=dict(type="str", required=True),
        admin_secret_id=dict(type="str"),
        url_scheme=dict(type="str", default="https", choices=["http", "https"]),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        rotation_period_days=dict(type="float", default=90),
        force=dict(type="bool", default=False),
        grace_period_seconds=dict(type="int", default=86400),
        deactivate_old_token=dict(type="bool", default=False),
        password_length=dict(type="int", default=32, no_log=False),
        update_auth_parameters=dict(type="bool", default=True),
        only_resume=dict(type="bool", default=False),
        metric_namespace=dict(type="str", default=""),
        metric_name=dict(type="str", default="CredentialAgeDays"),
    )


def validate(params):
    """Check the options before any request; returns an error message naming the option, or None."""
    if params["rotation_period_days"] < 0:
        return f"rotation_period_days must be 0 or more, got {params['rotation_period_days']}"
    if params["grace_period_seconds"] < 0:
        return f"grace_period_seconds must be 0 or more, got {params['grace_period_seconds']}"
    if params["credential"] == "password" and not 8 <= params["password_length"] <= 64:
        return f"password_length must be between 8 and 64 (Timestream's rule), got {params['password_length']}"
    if params["ca_path"] and not os.path.isfile(params["ca_path"]):
        return f"ca_path {params['ca_path']} does not exist or is not a file"
    return None


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    problem = validate(module.params)
    if problem:
        module.fail_json(msg=problem)
    secrets = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    influx = module.client("timestream-influxdb", retry_decorator=AWSRetry.jittered_backoff())
    rotation = None
    try:
        instance = find_db_instance(influx, name=module.params["instance_name"])
        if (not instance or not instance.get("endpoint")) and (module.params["only_resume"] or module.check_mode):
            module.exit_json(changed=False, rotated=False, resumed=False, exists=False, steps=[], timings={},
                             deleted_authorization_ids=[],
                             msg=f"The instance {module.params['instance_name']} does not exist yet: nothing to rotate")
        if not instance or not instance.get("endpoint"):
            module.fail_json(msg=f"instance_name: the Timestream for InfluxDB instance {module.params['instance_name']}"
                                 " does not exist or has no endpoint yet")
        rotation = Rotation(module, secrets, instance)
        result = rotation.run()
    except R.StopRequested as stop:
        module.fail_json(msg=f"Rotation stopped after {stop} ({STOP_ENV}, a test hook)", stopped_after=str(stop),
                         steps=rotation.steps if rotation else [])
    except (R.RotationError, InfluxDBModuleError) as exc:
        module.fail_json(msg=str(exc), steps=rotation.steps if rotation else [])
    except TimestreamInfluxDBError as exc:
        module.fail_json_aws_error(exc)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"Rotation of {module.params['secret_id']} failed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
