"""A complete Amazon Timestream for InfluxDB backend for the sandbox (JSON protocol,
target prefix ``AmazonTimestreamInfluxDB``): every operation of the botocore model.

* Input is validated against the botocore shapes (``validation.py``), plus the rules AWS applies
  beyond the model: reserved ports, T2/T3 storage minimum, subnets and security groups that exist
  in the sandbox's EC2 and share one VPC, unique names, no-op updates, storage decreases.
* Resources move through their statuses by time (``LifecycleConfig.delay``), driven by a
  scheduler thread, so a resource becomes AVAILABLE even when nobody polls.
* Each instance gets its auth-parameters secret in moto's Secrets Manager (in-process), and an
  InfluxDB server from ``sandbox.instance_servers.get_manager()`` when it first becomes AVAILABLE.
  ``endpoint``/``port`` are where that server listens: with sandbox.influxdb, an address of the
  instance's own (127.0.0.x) and the configured port, as on AWS (own host, configured port). An
  update of ``port`` moves the server (``rebind``) when the instance becomes AVAILABLE again.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import functools
import json
import os
import random
import re
import string
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws.validation import format_errors, service_model, validate_input
from sandbox.instance_servers import InstanceAuth, get_manager

SERVICE = "timestream-influxdb"
TARGET_PREFIX = "AmazonTimestreamInfluxDB"

ERROR_STATUS = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ServiceQuotaExceededException": 402,
    # The service's own model (smithy httpError) and API reference give 429 for throttling.
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "SerializationException": 400,
    "UnknownOperationException": 400,
}

# Ports Timestream for InfluxDB reserves (CreateDbInstance/UpdateDbInstance "port" documentation).
RESERVED_PORTS = {2375, 2376, 8090, 51678, 51679, 51680} | set(range(7788, 7800))
STORAGE_MINIMUM = {"InfluxIOIncludedT2": 400, "InfluxIOIncludedT3": 400}
STORAGE_TYPE_CHANGE_INTERVAL = 6 * 3600
DEFAULT_PORT = 8086
DEFAULT_MAX_RESULTS = 100
AVAILABLE = "AVAILABLE"
# Statuses from which a resource may be deleted.
DELETABLE = {"AVAILABLE", "FAILED", "REBOOT_FAILED", "RESTORE_FAILED"}
# Tag keys with this prefix (any case) are reserved for AWS's own tags.
RESERVED_TAG_PREFIX = "aws:"


class ApiError(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra
        self.status = ERROR_STATUS.get(code, 400)

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, **self.extra}


def validation_error(message: str, reason: str = "OTHER") -> ApiError:
    return ApiError("ValidationException", message, reason=reason)


def check_tag_keys(keys: Any) -> None:
    """AWS reserves the ``aws:`` prefix (case-insensitive) for its own tags: no caller may set or
    remove such a tag."""
    for key in keys or ():
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            raise validation_error(
                f"Tag key '{key}' is invalid: the prefix '{RESERVED_TAG_PREFIX}' is reserved for AWS use.",
                "FIELD_VALIDATION_FAILED",
            )


def _snapshot_data_missing(manager: Any, backup_id: str) -> bool:
    """True when the manager keeps backups as files (sandbox.influxdb) and this backup's data file
    is not there: restoring it would start an empty server. Managers without stored data (the
    NullManager, test doubles) have nothing to check."""
    backup_dir = getattr(manager, "backup_dir", None)
    if not callable(backup_dir):
        return False
    try:
        from sandbox.influxdb.storage import DB_FILE
    except ImportError:
        return False
    return not (backup_dir(backup_id) / DB_FILE).is_file()


class LifecycleConfig:
    """How long each status transition takes (seconds); changeable at run time."""

    def __init__(self, delay: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._delay = float(delay)

    @property
    def delay(self) -> float:
        with self._lock:
            return self._delay

    @delay.setter
    def delay(self, value: float) -> None:
        if value < 0:
            raise ValueError("delay must be >= 0")
        with self._lock:
            self._delay = float(value)


def _random_id(length: int = 10) -> str:
    alphabet = string.ascii_lowercase + string.digits
    first = random.choice(string.ascii_lowercase)
    return first + "".join(random.choice(alphabet) for _ in range(length - 1))


@functools.cache
def _members(shape_name: str) -> tuple[str, ...]:
    """Member names of an output shape: what a response may carry, straight from the model."""
    return tuple(service_model(SERVICE).shape_for(shape_name).members)


def _project(data: dict[str, Any], shape_name: str) -> dict[str, Any]:
    return {
        k: copy.deepcopy(data[k])
        for k in _members(shape_name)
        if data.get(k) is not None
    }


@dataclass
class Resource:
    kind: str  # "db-instance" | "db-cluster" | "db-parameter-group" | "db-backup"
    id: str
    account: str
    region: str
    data: dict[str, Any]
    seq: int
    tags: dict[str, str] = field(default_factory=dict)
    due: float | None = None  # when the pending transition happens
    busy: bool = False  # a transition is being carried out outside the lock
    private: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.data.get("status", AVAILABLE)

    @property
    def arn(self) -> str:
        return self.data["arn"]


RESOURCE_TYPE = {
    "db-instance": "DB_INSTANCE",
    "db-cluster": "DB_CLUSTER",
    "db-parameter-group": "DB_PARAMETER_GROUP",
    "db-backup": "DB_BACKUP",
}


class TimestreamInfluxDBBackend:
    """All accounts and regions of the sandbox; thread-safe."""

    def __init__(self, config: LifecycleConfig | None = None) -> None:
        self.config = config or LifecycleConfig()
        self._lock = threading.RLock()
        self._resources: dict[str, Resource] = {}  # arn -> resource
        self._seq = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ scheduler
    def start_scheduler(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="timestream-lifecycle", daemon=True
            )
            self._thread.start()

    def stop_scheduler(self, timeout: float = 10.0) -> None:
        """Final: no transition starts after this (see tick); waits up to ``timeout`` seconds for
        the one in progress."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep the scheduler alive; the log shows it
                import traceback

                traceback.print_exc()
            with self._lock:
                dues = [
                    r.due
                    for r in self._resources.values()
                    if r.due is not None and not r.busy
                ]
            timeout = 0.5
            if dues:
                timeout = max(0.0, min(min(dues) - time.time(), 0.5))
            self._wake.wait(timeout)
            self._wake.clear()

    def _schedule(self, res: Resource, status: str) -> None:
        res.data["status"] = status
        res.due = time.time() + self.config.delay
        self._wake.set()

    def tick(self) -> None:
        """Carry out every transition that is due."""
        now = time.time()
        with self._lock:
            due = sorted(
                (
                    r
                    for r in self._resources.values()
                    if r.due is not None and r.due <= now and not r.busy
                ),
                key=lambda r: r.seq,
            )
            for r in due:
                r.busy = True
        for res in due:
            try:
                # once the sandbox shuts down no transition starts (it could start a server
                # after the manager's stop_all); the resource keeps its status
                if not self._stop.is_set():
                    self._transition(res)
            finally:
                with self._lock:
                    res.busy = False

    def _transition(self, res: Resource) -> None:
        try:
            self._do_transition(res)
        except Exception:  # noqa: BLE001 - a failed transition fails the resource, as on AWS
            import traceback

            traceback.print_exc()
            with self._lock:
                failed = {
                    "CREATING": "FAILED",
                    "RESTORING": "RESTORE_FAILED",
                    "REBOOTING": "REBOOT_FAILED",
                }
                res.data["status"] = failed.get(res.status, "FAILED")
                res.due = None

    def _do_transition(self, res: Resource) -> None:
        status = res.status
        if res.kind == "db-instance":
            if status == "CREATING":
                self._bring_up(res, restore_from=None)
            elif status == "RESTORING":
                self._bring_up(res, restore_from=res.private.get("restore_backup"))
            elif status == "DELETING":
                self._finish_delete_instance(res)
            else:
                moved = self._apply_port_change(res)
                with self._lock:
                    if moved is not None:
                        res.data["endpoint"], res.data["port"] = moved
                    res.data["status"] = AVAILABLE
                    res.due = None
        elif res.kind == "db-cluster":
            if status in ("CREATING", "RESTORING"):
                self._bring_up(res, restore_from=res.private.get("restore_backup"))
            elif status == "DELETING":
                self._finish_delete_cluster(res)
            else:
                moved = self._apply_port_change(res)
                with self._lock:
                    if moved is not None:
                        res.data["endpoint"], res.data["port"] = moved
                        res.data["readerEndpoint"] = moved[0]
                    res.data["status"] = AVAILABLE
                    res.due = None
                    for m in self._members_of(res):
                        if moved is not None:
                            m.data["endpoint"], m.data["port"] = moved
                        m.data["status"] = AVAILABLE
        elif res.kind == "db-backup":
            if status == "IN_PROGRESS":
                with self._lock:
                    res.data["status"] = "COMPLETED"
                    res.due = None
            elif status == "DELETING":
                get_manager().delete_snapshot(res.id)
                with self._lock:
                    self._resources.pop(res.arn, None)

    def _apply_port_change(self, res: Resource) -> tuple[str, int] | None:
        """An accepted port update takes effect: the server moves to the new port (its data kept).
        Returns the new (endpoint, port), or None when the port did not change."""
        with self._lock:
            port = res.private.get("pending_port")
            started = res.private.get("server_started")
        if port is None:
            return None
        if started:
            moved = get_manager().rebind(res.id, port)
        else:  # nothing listens yet: only the reported port follows
            moved = (res.data.get("endpoint"), port)
        with self._lock:
            res.private.pop("pending_port", None)
        return moved

    def _auth_for(self, res: Resource) -> InstanceAuth:
        a = res.private["auth"]
        return InstanceAuth(
            instance_id=res.id,
            name=res.data["name"],
            username=a["username"],
            password=a["password"],
            organization=a.get("organization", ""),
            bucket=a.get("bucket", ""),
            port=res.private["configured_port"],
        )

    def _bring_up(self, res: Resource, restore_from: str | None) -> None:
        manager = get_manager()
        auth = self._auth_for(res)
        if restore_from:
            if _snapshot_data_missing(manager, restore_from):
                # never start an empty server in place of the backup's data: the restore fails
                raise RuntimeError(
                    f"restore of {res.kind} {res.id}: the data of backup {restore_from} is missing"
                )
            if res.private.get("server_started"):
                manager.stop(res.id)
            host, port = manager.restore(restore_from, auth)
        elif not res.private.get("server_started"):
            host, port = manager.start(auth)
        else:
            host, port = res.data.get("endpoint"), res.data.get("port")
        with self._lock:
            res.private["server_started"] = True
            res.private.pop("restore_backup", None)
            res.data["endpoint"] = host
            res.data["port"] = port
            res.data["status"] = AVAILABLE
            res.due = None
            if res.kind == "db-cluster":
                res.data["readerEndpoint"] = host
                for m in self._members_of(res):
                    m.data["status"] = AVAILABLE
                    m.data["endpoint"] = host
                    m.data["port"] = port

    def _finish_delete_instance(self, res: Resource) -> None:
        if res.private.get("server_started"):
            get_manager().stop(res.id)
        self._delete_secret(res)
        with self._lock:
            self._resources.pop(res.arn, None)

    def _finish_delete_cluster(self, res: Resource) -> None:
        if res.private.get("server_started"):
            get_manager().stop(res.id)
        self._delete_secret(res)
        with self._lock:
            for m in self._members_of(res):
                self._resources.pop(m.arn, None)
            self._resources.pop(res.arn, None)

    # ------------------------------------------------------------------ helpers
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _arn(self, account: str, region: str, kind: str, rid: str) -> str:
        return f"arn:aws:timestream-influxdb:{region}:{account}:{kind}/{rid}"

    def _all(self, account: str, region: str, kind: str) -> list[Resource]:
        return sorted(
            (
                r
                for r in self._resources.values()
                if r.kind == kind and r.account == account and r.region == region
            ),
            key=lambda r: r.seq,
        )

    def _get(self, account: str, region: str, kind: str, rid: str) -> Resource:
        res = self._resources.get(self._arn(account, region, kind, rid))
        if res is None:
            label = {
                "db-instance": "DB instance",
                "db-cluster": "DB cluster",
                "db-parameter-group": "DB parameter group",
                "db-backup": "DB backup",
            }[kind]
            raise ApiError(
                "ResourceNotFoundException",
                f"The {label} {rid} does not exist.",
                resourceId=rid,
                resourceType=RESOURCE_TYPE[kind],
            )
        return res

    def _members_of(self, cluster: Resource) -> list[Resource]:
        return sorted(
            (
                r
                for r in self._resources.values()
                if r.kind == "db-instance"
                and r.data.get("dbClusterId") == cluster.id
                and r.account == cluster.account
            ),
            key=lambda r: r.seq,
        )

    def _conflict(self, res: Resource, message: str) -> ApiError:
        return ApiError(
            "ConflictException",
            message,
            resourceId=res.id,
            resourceType=RESOURCE_TYPE[res.kind],
        )

    def _require_available(self, res: Resource, action: str) -> None:
        if res.status != AVAILABLE:
            raise self._conflict(
                res,
                f"Cannot {action} {res.data.get('name', res.id)} while it is in status {res.status}.",
            )

    def _refuse_while_backing_up(self, res: Resource) -> None:
        """A backup copies the resource's data outside the lock: deleting the resource meanwhile
        would leave the backup without data, so the delete waits until the backup is done."""
        for b in self._all(res.account, res.region, "db-backup"):
            if b.data.get("dbResourceId") == res.id and b.status == "IN_PROGRESS":
                raise self._conflict(
                    res,
                    f"Cannot delete {res.data.get('name', res.id)} while its backup {b.data['name']} is in progress.",
                )

    def _check_unique_name(
        self, account: str, region: str, kind: str, name: str
    ) -> None:
        for r in self._all(account, region, kind):
            if r.data.get("name") == name:
                raise ApiError(
                    "ConflictException",
                    f"A resource with the name {name} already exists.",
                    resourceId=r.id,
                    resourceType=RESOURCE_TYPE[kind],
                )

    @staticmethod
    def _check_port(port: int | None) -> None:
        if port is not None and port in RESERVED_PORTS:
            raise validation_error(
                f"Port {port} is reserved. The port must be in the range 1024-65535 and cannot be 2375-2376, "
                "7788-7799, 8090 or 51678-51680.",
                "FIELD_VALIDATION_FAILED",
            )

    @staticmethod
    def _check_storage(storage_type: str, allocated: int) -> None:
        minimum = STORAGE_MINIMUM.get(storage_type)
        if minimum is not None and allocated < minimum:
            raise validation_error(
                f"Allocated storage of {allocated} GiB is below the minimum of {minimum} GiB for storage type "
                f"{storage_type}.",
                "FIELD_VALIDATION_FAILED",
            )

    def _check_network(
        self, account: str, region: str, subnet_ids: list[str], sg_ids: list[str]
    ) -> list[Any]:
        from moto.backends import get_backend

        ec2 = get_backend("ec2")[account][region]
        subnets = []
        for sid in subnet_ids:
            try:
                subnets.append(ec2.get_subnet(sid))
            except Exception:  # noqa: BLE001 - moto raises InvalidSubnetIdNotFound
                raise validation_error(
                    f"The subnet ID '{sid}' does not exist.", "FIELD_VALIDATION_FAILED"
                ) from None
        vpcs = {s.vpc_id for s in subnets}
        if len(vpcs) > 1:
            raise validation_error(
                f"The subnets {', '.join(subnet_ids)} belong to different VPCs ({', '.join(sorted(vpcs))}); "
                "all subnets must be in the same VPC.",
                "FIELD_VALIDATION_FAILED",
            )
        for gid in sg_ids:
            group = ec2.get_security_group_from_id(gid)
            if group is None:
                raise validation_error(
                    f"The security group '{gid}' does not exist.",
                    "FIELD_VALIDATION_FAILED",
                )
            if vpcs and group.vpc_id not in vpcs:
                raise validation_error(
                    f"The security group '{gid}' belongs to VPC {group.vpc_id}, not to the subnets' VPC "
                    f"{next(iter(vpcs))}.",
                    "FIELD_VALIDATION_FAILED",
                )
        return subnets

    @staticmethod
    def _zones(subnets: list[Any], deployment_type: str) -> tuple[str, str | None]:
        primary = subnets[0].availability_zone
        if deployment_type != "WITH_MULTIAZ_STANDBY":
            return primary, None
        for s in subnets[1:]:
            if s.availability_zone != primary:
                return primary, s.availability_zone
        raise validation_error(
            "A WITH_MULTIAZ_STANDBY deployment needs subnets in at least two Availability Zones.",
            "FIELD_VALIDATION_FAILED",
        )

    def _check_parameter_group(
        self, account: str, region: str, ident: str | None
    ) -> None:
        if ident is not None:
            self._get(account, region, "db-parameter-group", ident)

    def _check_log_delivery(self, account: str, config: dict[str, Any] | None) -> None:
        if not config:
            return
        s3 = config.get("s3Configuration") or {}
        if not s3.get("enabled"):
            return
        from moto.backends import get_backend

        bucket = s3.get("bucketName")
        try:
            get_backend("s3")[account]["global"].get_bucket(bucket)
        except Exception:  # noqa: BLE001 - moto raises MissingBucket
            raise validation_error(
                f"The S3 bucket {bucket} for log delivery does not exist.",
                "FIELD_VALIDATION_FAILED",
            ) from None

    def _create_secret(
        self, account: str, region: str, rid: str, auth: dict[str, str]
    ) -> str:
        from moto.backends import get_backend

        sm = get_backend("secretsmanager")[account][region]
        secret = json.loads(
            sm.create_secret(
                name=f"READONLY-InfluxDB-auth-parameters-{rid}",
                secret_string=json.dumps(auth),
                secret_binary=None,
                description=f"InfluxDB authentication parameters of Timestream for InfluxDB resource {rid}",
                tags=None,
                kms_key_id=None,
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return secret["ARN"]

    def _delete_secret(self, res: Resource) -> None:
        arn = res.data.get("influxAuthParametersSecretArn")
        if not arn:
            return
        from moto.backends import get_backend

        sm = get_backend("secretsmanager")[res.account][res.region]
        try:
            sm.delete_secret(
                secret_id=arn,
                recovery_window_in_days=None,
                force_delete_without_recovery=True,
            )
        except Exception as e:  # noqa: BLE001 - someone deleted it already
            print(f"auth secret {arn} not deleted: {e}", file=sys.stderr)

    @staticmethod
    def _paginate(
        items: list[dict[str, Any]], params: dict[str, Any], scope: str
    ) -> dict[str, Any]:
        max_results = params.get("maxResults") or DEFAULT_MAX_RESULTS
        start = 0
        token = params.get("nextToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                if decoded["s"] != scope:
                    raise ValueError(scope)
                start = int(decoded["o"])
            except Exception:  # noqa: BLE001 - any malformed token
                raise validation_error(
                    "The nextToken is invalid.", "FIELD_VALIDATION_FAILED"
                ) from None
        page = items[start : start + max_results]
        out: dict[str, Any] = {"items": page}
        if start + max_results < len(items):
            out["nextToken"] = base64.urlsafe_b64encode(
                json.dumps({"s": scope, "o": start + max_results}).encode()
            ).decode()
        return out

    # ------------------------------------------------------------------ instances
    @staticmethod
    def _require_onboarding(p: dict[str, Any], what: str) -> None:
        # The API model marks them optional, but an InfluxDB v2 resource cannot be onboarded
        # without them (Terraform's aws_timestreaminfluxdb_db_instance requires both).
        missing = [k for k in ("organization", "bucket") if not p.get(k)]
        if missing:
            raise validation_error(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required to create an InfluxDB v2 "
                f"{what}.",
                "FIELD_VALIDATION_FAILED",
            )

    def create_db_instance(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p.get("tags"))
        self._require_onboarding(p, "DB instance")
        storage_type = p.get("dbStorageType", "InfluxIOIncludedT1")
        self._check_storage(storage_type, p["allocatedStorage"])
        self._check_port(p.get("port"))
        deployment = p.get("deploymentType", "SINGLE_AZ")
        subnets = self._check_network(
            account, region, p["vpcSubnetIds"], p["vpcSecurityGroupIds"]
        )
        az, az2 = self._zones(subnets, deployment)
        self._check_log_delivery(account, p.get("logDeliveryConfiguration"))
        with self._lock:
            self._check_unique_name(account, region, "db-instance", p["name"])
            self._check_parameter_group(
                account, region, p.get("dbParameterGroupIdentifier")
            )
            rid = _random_id()
            auth = {"username": p.get("username", "admin"), "password": p["password"]}
            for k in ("organization", "bucket"):
                if p.get(k) is not None:
                    auth[k] = p[k]
            port = p.get("port", DEFAULT_PORT)
            data = {
                "id": rid,
                "name": p["name"],
                "arn": self._arn(account, region, "db-instance", rid),
                "status": "CREATING",
                "port": port,
                "networkType": p.get("networkType", "IPV4"),
                "dbInstanceType": p["dbInstanceType"],
                "dbStorageType": storage_type,
                "allocatedStorage": p["allocatedStorage"],
                "deploymentType": deployment,
                "vpcSubnetIds": list(p["vpcSubnetIds"]),
                "publiclyAccessible": p.get("publiclyAccessible", False),
                "vpcSecurityGroupIds": list(p["vpcSecurityGroupIds"]),
                "dbParameterGroupIdentifier": p.get("dbParameterGroupIdentifier"),
                "availabilityZone": az,
                "secondaryAvailabilityZone": az2,
                "logDeliveryConfiguration": p.get("logDeliveryConfiguration"),
                "maintenanceSchedule": p.get("maintenanceSchedule"),
                "dbBackupConfigurations": p.get("dbBackupConfigurations"),
                "kmsKeyId": p.get("kmsKeyId"),
            }
            data["influxAuthParametersSecretArn"] = self._create_secret(
                account, region, rid, auth
            )
            res = Resource(
                "db-instance",
                rid,
                account,
                region,
                data,
                self._next_seq(),
                tags=dict(p.get("tags") or {}),
            )
            res.private.update(auth=auth, configured_port=port)
            self._resources[res.arn] = res
            self._schedule(res, "CREATING")
            return _project(res.data, "CreateDbInstanceOutput")

    def get_db_instance(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            return _project(
                self._get(account, region, "db-instance", p["identifier"]).data,
                "GetDbInstanceOutput",
            )

    def list_db_instances(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            items = [
                _project(r.data, "DbInstanceSummary")
                for r in self._all(account, region, "db-instance")
                if not r.data.get("dbClusterId")
            ]
        return self._paginate(items, p, "instances")

    UPDATABLE_INSTANCE_FIELDS = (
        "logDeliveryConfiguration",
        "dbParameterGroupIdentifier",
        "port",
        "dbInstanceType",
        "deploymentType",
        "dbStorageType",
        "allocatedStorage",
        "maintenanceSchedule",
        "dbBackupConfigurations",
    )

    def update_db_instance(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-instance", p["identifier"])
            if res.data.get("dbClusterId"):
                raise validation_error(
                    f"DB instance {res.id} belongs to cluster {res.data['dbClusterId']}; update the cluster instead."
                )
            self._require_available(res, "update")
            changes = {
                k: p[k] for k in self.UPDATABLE_INSTANCE_FIELDS if p.get(k) is not None
            }
            if not changes:
                raise validation_error("No changes were specified for the DB instance.")
            current = dict(res.data)
            current["port"] = res.private["configured_port"]
            same = [k for k, v in changes.items() if current.get(k) == v]
            if same:
                raise validation_error(
                    f"The DB instance {res.data['name']} already has the requested value(s) for: {', '.join(same)}."
                )
            self._check_port(changes.get("port"))
            self._check_parameter_group(
                account, region, changes.get("dbParameterGroupIdentifier")
            )
            new_storage_type = changes.get("dbStorageType", res.data["dbStorageType"])
            new_allocated = changes.get(
                "allocatedStorage", res.data["allocatedStorage"]
            )
            if new_allocated < res.data["allocatedStorage"]:
                raise validation_error(
                    f"Allocated storage cannot be decreased (from {res.data['allocatedStorage']} to {new_allocated} GiB)."
                )
            self._check_storage(new_storage_type, new_allocated)
            if "dbStorageType" in changes:
                last = res.private.get("storage_type_changed_at")
                if (
                    last is not None
                    and time.time() - last < STORAGE_TYPE_CHANGE_INTERVAL
                ):
                    raise validation_error(
                        "The storage type can be changed only once every 6 hours."
                    )
            self._check_log_delivery(account, changes.get("logDeliveryConfiguration"))
            if "deploymentType" in changes:
                subnets = self._check_network(
                    account, region, res.data["vpcSubnetIds"], []
                )
                az, az2 = self._zones(subnets, changes["deploymentType"])
                res.data["availabilityZone"], res.data["secondaryAvailabilityZone"] = (
                    az,
                    az2,
                )
                if az2 is None:
                    res.data.pop("secondaryAvailabilityZone", None)
            if "dbStorageType" in changes:
                res.private["storage_type_changed_at"] = time.time()
            if "port" in changes:
                # The reported port is where the instance's server listens; the server moves to
                # the new port (manager.rebind) when the instance becomes AVAILABLE again.
                res.private["configured_port"] = changes["port"]
                res.private["pending_port"] = changes["port"]
            for k, v in changes.items():
                if k != "port":
                    res.data[k] = copy.deepcopy(v)
            if "dbInstanceType" in changes:
                status = "UPDATING_INSTANCE_TYPE"
            elif "deploymentType" in changes:
                status = "UPDATING_DEPLOYMENT_TYPE"
            elif "dbStorageType" in changes or "allocatedStorage" in changes:
                status = "MODIFYING"
            else:
                status = "UPDATING"
            self._schedule(res, status)
            return _project(res.data, "UpdateDbInstanceOutput")

    def reboot_db_instance(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-instance", p["identifier"])
            self._require_available(res, "reboot")
            self._schedule(res, "REBOOTING")
            return _project(res.data, "RebootDbInstanceOutput")

    def delete_db_instance(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-instance", p["identifier"])
            if res.data.get("dbClusterId"):
                raise validation_error(
                    f"DB instance {res.id} belongs to cluster {res.data['dbClusterId']}; delete the cluster instead."
                )
            if res.status not in DELETABLE:
                raise self._conflict(
                    res,
                    f"Cannot delete {res.data['name']} while it is in status {res.status}.",
                )
            self._refuse_while_backing_up(res)
            self._schedule(res, "DELETING")
            return _project(res.data, "DeleteDbInstanceOutput")

    # ------------------------------------------------------------------ parameter groups
    def create_db_parameter_group(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p.get("tags"))
        with self._lock:
            self._check_unique_name(account, region, "db-parameter-group", p["name"])
            params = p.get("parameters")
            rid = _random_id()
            data = {
                "id": rid,
                "name": p["name"],
                "arn": self._arn(account, region, "db-parameter-group", rid),
                "description": p.get("description"),
                "parameters": copy.deepcopy(params),
            }
            res = Resource(
                "db-parameter-group",
                rid,
                account,
                region,
                data,
                self._next_seq(),
                tags=dict(p.get("tags") or {}),
            )
            self._resources[res.arn] = res
            return _project(data, "CreateDbParameterGroupOutput")

    def get_db_parameter_group(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-parameter-group", p["identifier"])
            return _project(res.data, "GetDbParameterGroupOutput")

    def list_db_parameter_groups(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            items = [
                _project(r.data, "DbParameterGroupSummary")
                for r in self._all(account, region, "db-parameter-group")
            ]
        return self._paginate(items, p, "parameter-groups")

    # ------------------------------------------------------------------ backups
    def _resource_by_id(self, account: str, region: str, rid: str) -> Resource:
        for kind in ("db-instance", "db-cluster"):
            res = self._resources.get(self._arn(account, region, kind, rid))
            if res is not None:
                return res
        raise ApiError(
            "ResourceNotFoundException",
            f"The DB resource {rid} does not exist.",
            resourceId=rid,
            resourceType="DB_INSTANCE",
        )

    def create_db_backup(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p.get("tags"))
        with self._lock:
            src = self._resource_by_id(account, region, p["dbResourceId"])
            if src.data.get("dbClusterId"):
                raise validation_error(
                    f"DB instance {src.id} belongs to cluster {src.data['dbClusterId']}; back up the cluster instead."
                )
            self._require_available(src, "back up")
            self._check_unique_name(account, region, "db-backup", p["name"])
            rid = _random_id()
            now = time.time()
            data: dict[str, Any] = {
                "id": rid,
                "name": p["name"],
                "arn": self._arn(account, region, "db-backup", rid),
                "status": "IN_PROGRESS",
                "createdAt": now,
                "dbResourceId": src.id,
                "type": "ON_DEMAND",
                "engineType": src.data.get("engineType", "INFLUXDB_V2"),
                "deploymentType": src.data.get("deploymentType"),
                "kmsKeyId": src.data.get("kmsKeyId"),
                "dbParameterGroupId": src.data.get("dbParameterGroupIdentifier"),
                "dbInstanceType": src.data.get("dbInstanceType"),
                "logDeliveryConfiguration": copy.deepcopy(
                    src.data.get("logDeliveryConfiguration")
                ),
                "failoverMode": src.data.get("failoverMode"),
                "dbStorageType": src.data.get("dbStorageType"),
                "allocatedStorage": src.data.get("allocatedStorage"),
                "vpcSubnetIds": list(src.data.get("vpcSubnetIds") or []),
                "vpcSecurityGroupIds": list(src.data.get("vpcSecurityGroupIds") or []),
                "publiclyAccessible": src.data.get("publiclyAccessible"),
                "port": src.private["configured_port"],
                "networkType": src.data.get("networkType"),
                "influxAuthParametersSecretArn": src.data.get(
                    "influxAuthParametersSecretArn"
                ),
                "maintenanceSchedule": copy.deepcopy(
                    src.data.get("maintenanceSchedule")
                ),
                "clusterConfiguration": copy.deepcopy(
                    src.data.get("clusterConfiguration")
                ),
                "deploymentConfiguration": copy.deepcopy(
                    src.data.get("deploymentConfiguration")
                ),
            }
            if p.get("retentionDays"):
                data["expiresAfter"] = (
                    _dt.datetime.fromtimestamp(now, _dt.UTC).date()
                    + _dt.timedelta(days=p["retentionDays"])
                ).isoformat()
            res = Resource(
                "db-backup",
                rid,
                account,
                region,
                data,
                self._next_seq(),
                tags=dict(p.get("tags") or {}),
            )
            res.private.update(
                auth=dict(src.private["auth"]),
                source_kind=src.kind,
                source=copy.deepcopy(src.data),
            )
            self._resources[res.arn] = res
            src_id = src.id
        # The copy runs outside the lock (the manager takes its own); while the backup is
        # IN_PROGRESS its source cannot be deleted (_refuse_while_backing_up).
        try:
            get_manager().snapshot(src_id, rid)
        except Exception:
            with self._lock:
                res.data["status"] = "FAILED"
                res.due = None
            raise
        with self._lock:
            self._schedule(res, "IN_PROGRESS")
            return _project(res.data, "CreateDbBackupOutput")

    def get_db_backup(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            return _project(
                self._get(account, region, "db-backup", p["identifier"]).data,
                "GetDbBackupOutput",
            )

    def list_db_backups(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            items = [
                _project(r.data, "DbBackupSummary")
                for r in self._all(account, region, "db-backup")
                if p.get("dbResourceId") in (None, r.data["dbResourceId"])
            ]
        return self._paginate(items, p, "backups:" + (p.get("dbResourceId") or ""))

    def delete_db_backup(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-backup", p["identifier"])
            if res.status not in ("COMPLETED", "FAILED"):
                raise self._conflict(
                    res,
                    f"Cannot delete backup {res.data['name']} while it is {res.status}.",
                )
            self._schedule(res, "DELETING")
            return _project(res.data, "DeleteDbBackupOutput")

    def restore_from_db_backup(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p.get("tags"))
        self._check_port(p.get("port"))
        with self._lock:
            backup = self._get(account, region, "db-backup", p["dbBackupId"])
            if backup.status != "COMPLETED":
                raise self._conflict(
                    backup,
                    f"Backup {backup.data['name']} is {backup.status}, not COMPLETED.",
                )
            src = backup.private["source"]
            mode = p.get("restoreMode", "NEW_RESOURCE")
            if mode == "REPLACE_EXISTING":
                target = self._resource_by_id(
                    account, region, backup.data["dbResourceId"]
                )
                self._require_available(target, "restore into")
                target.private["restore_backup"] = backup.id
                target.private["auth"] = dict(backup.private["auth"])
                self._schedule(target, "RESTORING")
                return {
                    "restoredDbResourceId": target.id,
                    "restoreStatus": "RESTORING",
                    "resourceType": RESOURCE_TYPE[target.kind],
                    "engineType": target.data.get("engineType", "INFLUXDB_V2"),
                    "deploymentType": target.data.get("deploymentType"),
                }
        subnet_ids = p.get("vpcSubnetIds") or src.get("vpcSubnetIds")
        sg_ids = p.get("vpcSecurityGroupIds") or src.get("vpcSecurityGroupIds")
        deployment = p.get("deploymentType") or src.get("deploymentType") or "SINGLE_AZ"
        subnets = self._check_network(account, region, subnet_ids, sg_ids)
        kind = backup.private["source_kind"]
        if kind == "db-instance":
            if deployment == "MULTI_NODE_READ_REPLICAS":
                raise validation_error(
                    "An instance backup cannot be restored as a cluster."
                )
            az, az2 = self._zones(subnets, deployment)
        self._check_log_delivery(account, p.get("logDeliveryConfiguration"))
        with self._lock:
            self._check_unique_name(account, region, kind, p["name"])
            rid = _random_id()
            auth = dict(backup.private["auth"])
            # the backup keeps the configured port (not the live server's)
            port = p.get("port") or backup.data.get("port") or DEFAULT_PORT
            data = copy.deepcopy(src)
            data.update(
                id=rid,
                name=p["name"],
                arn=self._arn(account, region, kind, rid),
                port=port,
                vpcSubnetIds=list(subnet_ids),
                vpcSecurityGroupIds=list(sg_ids),
                deploymentType=deployment,
            )
            for k in ("endpoint", "readerEndpoint"):
                data.pop(k, None)
            for k in (
                "publiclyAccessible",
                "logDeliveryConfiguration",
                "maintenanceSchedule",
                "networkType",
                "dbBackupConfigurations",
                "kmsKeyId",
            ):
                if p.get(k) is not None:
                    data[k] = copy.deepcopy(p[k])
            if kind == "db-instance":
                data["availabilityZone"], data["secondaryAvailabilityZone"] = az, az2
            data["influxAuthParametersSecretArn"] = self._create_secret(
                account, region, rid, auth
            )
            res = Resource(
                kind,
                rid,
                account,
                region,
                data,
                self._next_seq(),
                tags=dict(p.get("tags") or {}),
            )
            res.private.update(
                auth=auth, configured_port=port, restore_backup=backup.id
            )
            self._resources[res.arn] = res
            if kind == "db-cluster":
                res.private["zones"] = sorted(
                    {s.availability_zone for s in subnets},
                    key=[s.availability_zone for s in subnets].index,
                )
                self._create_members(res)
            self._schedule(res, "RESTORING")
            for m in self._members_of(res):
                m.data["status"] = "RESTORING"
            return {
                "restoredDbResourceId": rid,
                "restoreStatus": "RESTORING",
                "resourceType": RESOURCE_TYPE[kind],
                "engineType": data.get("engineType", "INFLUXDB_V2"),
                "deploymentType": deployment,
            }

    # ------------------------------------------------------------------ clusters
    def _create_members(self, cluster: Resource) -> None:
        d = cluster.data
        config = (d.get("deploymentConfiguration") or {}).get("InfluxDBv3Enterprise")
        groups: list[tuple[list[str], str, int]] = []
        if config:
            for g in config["nodeGroups"]:
                groups.append((list(g["instanceModes"]), g["instanceType"], g["count"]))
        else:
            groups = [
                (["PRIMARY"], d["dbInstanceType"], 1),
                (["REPLICA"], d["dbInstanceType"], 1),
            ]
        n = 0
        for modes, itype, count in groups:
            for _ in range(count):
                n += 1
                mid = _random_id()
                mdata = {
                    "id": mid,
                    "name": f"{d['name']}-{n}",
                    "arn": self._arn(
                        cluster.account, cluster.region, "db-instance", mid
                    ),
                    "status": d["status"],
                    "port": d.get("port"),
                    "networkType": d.get("networkType"),
                    "dbInstanceType": itype,
                    "dbStorageType": d.get("dbStorageType"),
                    "allocatedStorage": d.get("allocatedStorage"),
                    "deploymentType": "SINGLE_AZ",
                    "vpcSubnetIds": list(d["vpcSubnetIds"]),
                    "vpcSecurityGroupIds": list(d["vpcSecurityGroupIds"]),
                    "publiclyAccessible": d.get("publiclyAccessible"),
                    "dbParameterGroupIdentifier": d.get("dbParameterGroupIdentifier"),
                    "availabilityZone": cluster.private["zones"][
                        (n - 1) % len(cluster.private["zones"])
                    ],
                    "influxAuthParametersSecretArn": d.get(
                        "influxAuthParametersSecretArn"
                    ),
                    "dbClusterId": cluster.id,
                    "instanceMode": modes[0],
                    "instanceModes": modes,
                }
                m = Resource(
                    "db-instance",
                    mid,
                    cluster.account,
                    cluster.region,
                    mdata,
                    self._next_seq(),
                )
                m.private.update(
                    auth=cluster.private["auth"], configured_port=d.get("port")
                )
                self._resources[m.arn] = m

    @staticmethod
    def _check_read_replica_zones(zones: list[str]) -> None:
        """An InfluxDB v2 read-replica cluster puts its writer and its replica in different
        Availability Zones: its subnets must span at least two."""
        if len(zones) < 2:
            raise validation_error(
                "A MULTI_NODE_READ_REPLICAS cluster places its writer and reader DB instances in different "
                f"Availability Zones; the subnets given are all in {zones[0]}. Give subnets in at least two "
                "Availability Zones.",
                "FIELD_VALIDATION_FAILED",
            )

    def create_db_cluster(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p.get("tags"))
        self._check_port(p.get("port"))
        if not p["name"][0].isascii() or not p["name"][0].isalpha():
            # the model's pattern, [a-zA-z]..., lets [ \ ] ^ _ ` through by a typo; AWS does not
            raise validation_error(
                f"The DB cluster name {p['name']} must start with a letter.", "FIELD_VALIDATION_FAILED"
            )
        v3 = (p.get("deploymentConfiguration") or {}).get("InfluxDBv3Enterprise")
        if v3 and p.get("deploymentType") == "MULTI_NODE_READ_REPLICAS":
            raise validation_error(
                "deploymentType MULTI_NODE_READ_REPLICAS is an InfluxDB v2 deployment; an InfluxDB 3 Enterprise "
                "cluster is described by deploymentConfiguration alone.",
                "FIELD_VALIDATION_FAILED",
            )
        if not v3:
            missing = [
                k
                for k in ("password", "dbInstanceType", "allocatedStorage")
                if p.get(k) is None
            ]
            if missing:
                raise validation_error(
                    f"An InfluxDB v2 cluster requires {', '.join(missing)}.",
                    "FIELD_VALIDATION_FAILED",
                )
            self._require_onboarding(p, "DB cluster")
            storage_type = p.get("dbStorageType", "InfluxIOIncludedT1")
            self._check_storage(storage_type, p["allocatedStorage"])
        subnets = self._check_network(
            account, region, p["vpcSubnetIds"], p["vpcSecurityGroupIds"]
        )
        zones = sorted(
            {s.availability_zone for s in subnets},
            key=[s.availability_zone for s in subnets].index,
        )
        if not v3:
            self._check_read_replica_zones(zones)
        self._check_log_delivery(account, p.get("logDeliveryConfiguration"))
        with self._lock:
            self._check_unique_name(account, region, "db-cluster", p["name"])
            self._check_parameter_group(
                account, region, p.get("dbParameterGroupIdentifier")
            )
            rid = _random_id()
            auth = {
                "username": p.get("username", "admin"),
                "password": p.get("password") or _random_id(16),
            }
            for k in ("organization", "bucket"):
                if p.get(k) is not None:
                    auth[k] = p[k]
            port = p.get("port", DEFAULT_PORT if not v3 else 8181)
            data = {
                "id": rid,
                "name": p["name"],
                "arn": self._arn(account, region, "db-cluster", rid),
                "status": "CREATING",
                "port": port,
                "deploymentType": p.get("deploymentType", "MULTI_NODE_READ_REPLICAS"),
                "dbInstanceType": p.get("dbInstanceType")
                or (v3["nodeGroups"][0]["instanceType"] if v3 else None),
                "networkType": p.get("networkType", "IPV4"),
                "dbStorageType": p.get("dbStorageType", "InfluxIOIncludedT1")
                if not v3
                else p.get("dbStorageType"),
                "allocatedStorage": p.get("allocatedStorage"),
                "engineType": "INFLUXDB_V3_ENTERPRISE" if v3 else "INFLUXDB_V2",
                "publiclyAccessible": p.get("publiclyAccessible", False),
                "dbParameterGroupIdentifier": p.get("dbParameterGroupIdentifier"),
                "effectiveDbParameterGroupIdentifier": p.get(
                    "dbParameterGroupIdentifier"
                ),
                "logDeliveryConfiguration": p.get("logDeliveryConfiguration"),
                "maintenanceSchedule": p.get("maintenanceSchedule"),
                "vpcSubnetIds": list(p["vpcSubnetIds"]),
                "vpcSecurityGroupIds": list(p["vpcSecurityGroupIds"]),
                "failoverMode": p.get("failoverMode", "AUTOMATIC"),
                "deploymentConfiguration": p.get("deploymentConfiguration"),
                "dbBackupConfigurations": p.get("dbBackupConfigurations"),
                "kmsKeyId": p.get("kmsKeyId"),
            }
            data["influxAuthParametersSecretArn"] = self._create_secret(
                account, region, rid, auth
            )
            res = Resource(
                "db-cluster",
                rid,
                account,
                region,
                data,
                self._next_seq(),
                tags=dict(p.get("tags") or {}),
            )
            res.private.update(auth=auth, configured_port=port, zones=zones)
            self._resources[res.arn] = res
            self._create_members(res)
            self._schedule(res, "CREATING")
            return {"dbClusterId": rid, "dbClusterStatus": "CREATING"}

    def get_db_cluster(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            return _project(
                self._get(account, region, "db-cluster", p["dbClusterId"]).data,
                "GetDbClusterOutput",
            )

    def list_db_clusters(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            items = [
                _project(r.data, "DbClusterSummary")
                for r in self._all(account, region, "db-cluster")
            ]
        return self._paginate(items, p, "clusters")

    def list_db_instances_for_cluster(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            cluster = self._get(account, region, "db-cluster", p["dbClusterId"])
            items = [
                _project(m.data, "DbInstanceForClusterSummary")
                for m in self._members_of(cluster)
            ]
        return self._paginate(items, p, "cluster:" + cluster.id)

    UPDATABLE_CLUSTER_FIELDS = (
        "logDeliveryConfiguration",
        "dbParameterGroupIdentifier",
        "port",
        "dbInstanceType",
        "deploymentConfiguration",
        "failoverMode",
        "maintenanceSchedule",
        "dbBackupConfigurations",
    )

    def update_db_cluster(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-cluster", p["dbClusterId"])
            self._require_available(res, "update")
            changes = {
                k: p[k] for k in self.UPDATABLE_CLUSTER_FIELDS if p.get(k) is not None
            }
            if not changes:
                raise validation_error("No changes were specified for the DB cluster.")
            if "deploymentConfiguration" in changes and res.data.get("engineType") == "INFLUXDB_V2":
                raise validation_error(
                    f"The DB cluster {res.data['name']} runs InfluxDB v2: deploymentConfiguration applies to "
                    "InfluxDB 3 Enterprise clusters only.",
                    "FIELD_VALIDATION_FAILED",
                )
            current = dict(res.data)
            current["port"] = res.private["configured_port"]
            same = [k for k, v in changes.items() if current.get(k) == v]
            if same:
                raise validation_error(
                    f"The DB cluster {res.data['name']} already has the requested value(s) for: {', '.join(same)}."
                )
            self._check_port(changes.get("port"))
            self._check_parameter_group(
                account, region, changes.get("dbParameterGroupIdentifier")
            )
            self._check_log_delivery(account, changes.get("logDeliveryConfiguration"))
            if "port" in changes:  # applied (the server moved) when AVAILABLE again
                res.private["configured_port"] = changes["port"]
                res.private["pending_port"] = changes["port"]
            for k, v in changes.items():
                if k != "port":
                    res.data[k] = copy.deepcopy(v)
            if "dbParameterGroupIdentifier" in changes:
                res.data["effectiveDbParameterGroupIdentifier"] = changes[
                    "dbParameterGroupIdentifier"
                ]
            status = (
                "UPDATING_INSTANCE_TYPE" if "dbInstanceType" in changes else "UPDATING"
            )
            for m in self._members_of(res):
                if "dbInstanceType" in changes:
                    m.data["dbInstanceType"] = changes["dbInstanceType"]
                m.data["status"] = status
            self._schedule(res, status)
            return {"dbClusterStatus": status}

    def reboot_db_cluster(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-cluster", p["dbClusterId"])
            self._require_available(res, "reboot")
            members = {m.id: m for m in self._members_of(res)}
            wanted = p.get("instanceIds") or list(members)
            for iid in wanted:
                if iid not in members:
                    raise ApiError(
                        "ResourceNotFoundException",
                        f"The DB instance {iid} is not part of cluster {res.id}.",
                        resourceId=iid,
                        resourceType="DB_INSTANCE",
                    )
            for iid in wanted:
                members[iid].data["status"] = "REBOOTING"
            self._schedule(res, "REBOOTING")
            return {"dbClusterStatus": "REBOOTING"}

    def delete_db_cluster(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            res = self._get(account, region, "db-cluster", p["dbClusterId"])
            if res.status not in DELETABLE:
                raise self._conflict(
                    res,
                    f"Cannot delete {res.data['name']} while it is in status {res.status}.",
                )
            self._refuse_while_backing_up(res)
            for m in self._members_of(res):
                m.data["status"] = "DELETING"
            self._schedule(res, "DELETING")
            return {"dbClusterStatus": "DELETING"}

    # ------------------------------------------------------------------ tags
    def _by_arn(self, arn: str, account: str, region: str) -> Resource:
        """The resource named by ``arn`` as the caller's regional endpoint sees it: a resource of
        another account or region does not exist there (as for GetDbInstance)."""
        res = self._resources.get(arn)
        if res is None or res.account != account or res.region != region:
            raise ApiError(
                "ResourceNotFoundException",
                f"The resource {arn} does not exist.",
                resourceId=arn,
                resourceType="RESOURCE",
            )
        return res

    def list_tags_for_resource(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            return {"tags": dict(self._by_arn(p["resourceArn"], account, region).tags)}

    def tag_resource(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p["tags"])
        with self._lock:
            res = self._by_arn(p["resourceArn"], account, region)
            merged = {**res.tags, **p["tags"]}
            if len(merged) > 200:
                raise ApiError(
                    "ServiceQuotaExceededException",
                    "A resource can have at most 200 tags.",
                )
            res.tags = merged
            return {}

    def untag_resource(
        self, account: str, region: str, p: dict[str, Any]
    ) -> dict[str, Any]:
        check_tag_keys(p["tagKeys"])
        with self._lock:
            res = self._by_arn(p["resourceArn"], account, region)
            for k in p["tagKeys"]:
                res.tags.pop(k, None)
            return {}

    # ------------------------------------------------------------------ bookkeeping
    def instances_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(r.data)
                for r in self._resources.values()
                if r.kind == "db-instance"
            ]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class TimestreamInfluxDBApp:
    """Turns JSON-protocol requests into backend calls."""

    def __init__(self, backend: TimestreamInfluxDBBackend) -> None:
        self.backend = backend
        self.operations = set(service_model(SERVICE).operation_names)

    def handle(
        self, operation: str, body: bytes, account: str, region: str
    ) -> tuple[int, dict[str, Any]]:
        try:
            if operation not in self.operations:
                raise ApiError(
                    "UnknownOperationException", f"Unknown operation {operation}"
                )
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise ApiError(
                    "SerializationException", "The request body is not valid JSON."
                ) from None
            if not isinstance(params, dict):
                raise ApiError(
                    "SerializationException", "The request body must be a JSON object."
                )
            errors = validate_input(SERVICE, operation, params)
            if errors:
                raise validation_error(format_errors(errors), "FIELD_VALIDATION_FAILED")
            method: Callable[[str, str, dict[str, Any]], dict[str, Any]] = getattr(
                self.backend, _snake(operation)
            )
            return 200, method(account, region, params)
        except ApiError as e:
            return e.status, e.body()
        except Exception as e:  # noqa: BLE001 - answer as AWS does, keep the trace in the log
            import traceback

            traceback.print_exc()
            return 500, {
                "__type": "InternalServerException",
                "message": f"Internal error: {e}",
            }


def account_from_environ(environ: dict[str, Any]) -> str:
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=([^/]+)/", auth)
    return get_account_id_from(m.group(1) if m else "AKIAEXAMPLE")
