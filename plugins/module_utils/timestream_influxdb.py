# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared code for the Amazon Timestream for InfluxDB modules.

Everything here is pure: functions return values or raise
(:class:`TimestreamInfluxDBError` for AWS failures, :class:`ValidationError` for bad
input); only a module's ``main()`` turns those into ``exit_json``/``fail_json``.

The botocore service model is the authority for names, patterns, ranges and enums:
request dictionaries are validated against the operation's input shape before any call.
"""

import copy
import datetime
import json
import math
import re

try:
    import botocore
    import botocore.session
    import botocore.waiter as core_waiter
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import _camel_to_snake
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils import waiters as aws_waiters
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

SERVICE = "timestream-influxdb"

# Error codes of this service that are worth retrying (on top of AWSRetry's defaults).
RETRY_ERROR_CODES = ["ThrottlingException", "InternalServerException", "ServiceUnavailableException"]

# Ports the service reserves (UpdateDbInstance/CreateDbInstance documentation).
RESERVED_PORT_RANGES = ((2375, 2376), (7788, 7799), (8090, 8090), (51678, 51680))
# Storage types that need at least this much allocated storage (GiB).
LARGE_STORAGE_TYPES = ("InfluxIOIncludedT2", "InfluxIOIncludedT3")
LARGE_STORAGE_MIN_GIB = 400

# Instance statuses, classified for the waiters. Every value of the model's Status enum must
# appear in exactly one of these (the unit tests check it against botocore).
INSTANCE_STATUS_READY = ("AVAILABLE",)
INSTANCE_STATUS_TRANSITIONAL = (
    "CREATING",
    "MODIFYING",
    "UPDATING",
    "UPDATING_DEPLOYMENT_TYPE",
    "UPDATING_INSTANCE_TYPE",
    "MAINTENANCE",
    "REBOOTING",
    "RESTORING",
)
INSTANCE_STATUS_FAILED = ("FAILED", "REBOOT_FAILED", "RESTORE_FAILED")
INSTANCE_STATUS_GONE = ("DELETING", "DELETED")

BACKUP_STATUS_READY = ("COMPLETED",)
BACKUP_STATUS_TRANSITIONAL = ("IN_PROGRESS",)
BACKUP_STATUS_FAILED = ("FAILED",)
BACKUP_STATUS_GONE = ("DELETING", "DELETED")

# Module option -> CreateDbInstance member, for every option the API takes.
INSTANCE_OPTION_TO_API = {
    "name": "name",
    "username": "username",
    "password": "password",
    "organization": "organization",
    "bucket": "bucket",
    "db_instance_type": "dbInstanceType",
    "vpc_subnet_ids": "vpcSubnetIds",
    "vpc_security_group_ids": "vpcSecurityGroupIds",
    "publicly_accessible": "publiclyAccessible",
    "db_storage_type": "dbStorageType",
    "allocated_storage": "allocatedStorage",
    "db_parameter_group_identifier": "dbParameterGroupIdentifier",
    "deployment_type": "deploymentType",
    "network_type": "networkType",
    "port": "port",
    "log_delivery_configuration": "logDeliveryConfiguration",
    "maintenance_schedule": "maintenanceSchedule",
    "db_backup_configurations": "dbBackupConfigurations",
    "kms_key_id": "kmsKeyId",
}
API_TO_INSTANCE_OPTION = {v: k for k, v in INSTANCE_OPTION_TO_API.items()}

# Fields UpdateDbInstance can change in place (module option names).
UPDATABLE_FIELDS = (
    "db_instance_type",
    "deployment_type",
    "db_storage_type",
    "allocated_storage",
    "port",
    "db_parameter_group_identifier",
    "log_delivery_configuration",
    "maintenance_schedule",
    "db_backup_configurations",
)
# Fields that only CreateDbInstance sets: a difference cannot be applied in place.
# The password is deliberately absent: it cannot be read back and is never compared.
IMMUTABLE_FIELDS = (
    "name",
    "username",
    "organization",
    "bucket",
    "vpc_subnet_ids",
    "vpc_security_group_ids",
    "publicly_accessible",
    "network_type",
    "kms_key_id",
)
# Create-only members GetDbInstance may leave out (only id, name, arn and vpcSubnetIds are required
# in its output) although the instance has a value: the value AWS gives when none is asked for.
IMMUTABLE_API_DEFAULTS = {"publiclyAccessible": False, "networkType": "IPV4"}
# Compared as sets: AWS does not promise to keep the order.
SET_FIELDS = ("vpc_subnet_ids", "vpc_security_group_ids")

# UpdateDbInstance changes that AWS carries out as workflows of their own (each has its own
# status or rate limit: UPDATING_DEPLOYMENT_TYPE, UPDATING_INSTANCE_TYPE, storage scaling with its
# once-per-6-hours storage type change). The AWS documentation does not promise that these
# combine with each other or with configuration changes, so each group gets a call of its own;
# all other changes (port, parameter group, log delivery, maintenance schedule, backup
# configurations) go together in one call, first. Order: configuration, deployment type (a Multi-AZ
# standby must exist before it is resized), instance type, storage.
EXCLUSIVE_UPDATE_GROUPS = (
    ("deploymentType",),
    ("dbInstanceType",),
    ("dbStorageType", "allocatedStorage"),
)

_MODEL_CACHE = {}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class TimestreamInfluxDBError(AnsibleAWSError):
    """An AWS call (or a wait) failed. ``exception`` holds the botocore error when there is one."""


class ValidationError(Exception):
    """The module's input is invalid; the message names the option."""


class TimestreamInfluxDBErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = TimestreamInfluxDBError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


def retry_decorator():
    """The retry decorator every module passes to ``module.client``."""
    return AWSRetry.jittered_backoff(retries=10, delay=3, max_delay=30, catch_extra_error_codes=RETRY_ERROR_CODES)


def _raw_client(client):
    return client.client if isinstance(client, RetryingBotoClientWrapper) else client


# --------------------------------------------------------------------------------------------
# The service model
# --------------------------------------------------------------------------------------------
def service_model():
    """The botocore service model of timestream-influxdb (cached)."""
    if "model" not in _MODEL_CACHE:
        _MODEL_CACHE["model"] = botocore.session.Session().get_service_model(SERVICE)
    return _MODEL_CACHE["model"]


def input_shape(operation):
    return service_model().operation_model(operation).input_shape


def shape_enum(shape_name):
    """Enum values of a named shape of the model."""
    return list(service_model().shape_for(shape_name).enum)


def camel_to_snake(name):
    """lowerCamelCase member name -> snake_case option name (InfluxDBv2 style names kept sane)."""
    return _camel_to_snake(name)


def _fullmatch(pattern, value):
    # Smithy patterns are ECMA regexes matched against the whole value.
    return re.fullmatch(pattern, value) is not None


def _describe_range(meta):
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    if lo is not None:
        return f"at least {lo}"
    return f"at most {hi}"


def coerce_to_shape(value, shape, path):
    """Validate ``value`` (snake_case keys) against a botocore ``shape`` and return it in the
    API's form (lowerCamelCase keys, right scalar types). Raises :class:`ValidationError` naming
    ``path`` (the option, dotted for nested keys) on the first problem found."""
    type_name = shape.type_name
    meta = shape.metadata
    if type_name == "structure":
        if not isinstance(value, dict):
            raise ValidationError(f"{path} must be a dictionary, got {type(value).__name__}")
        by_snake = {camel_to_snake(member): member for member in shape.members}
        result = {}
        unknown = sorted(k for k in value if k not in by_snake and k not in shape.members)
        if unknown:
            raise ValidationError(
                f"{path} has unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(sorted(by_snake))}"
            )
        for key, item in value.items():
            if item is None:
                continue
            member = by_snake.get(key, key)
            result[member] = coerce_to_shape(item, shape.members[member], f"{path}.{camel_to_snake(member)}")
        missing = [camel_to_snake(m) for m in shape.required_members if m not in result]
        if missing:
            raise ValidationError(f"{path} is missing required key(s) {', '.join(missing)}")
        if meta.get("union") and len(result) != 1:
            raise ValidationError(
                f"{path} must set exactly one of {', '.join(sorted(by_snake))}, got {len(result)}"
            )
        return result
    if type_name == "list":
        if not isinstance(value, (list, tuple)):
            raise ValidationError(f"{path} must be a list, got {type(value).__name__}")
        _check_size(len(value), meta, path, "items")
        return [coerce_to_shape(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)]
    if type_name == "map":
        if not isinstance(value, dict):
            raise ValidationError(f"{path} must be a dictionary, got {type(value).__name__}")
        _check_size(len(value), meta, path, "entries")
        return {
            coerce_to_shape(str(k), shape.key, f"{path} key {k!r}"): coerce_to_shape(
                "" if v is None else str(v), shape.value, f"{path}.{k}"
            )
            for k, v in value.items()
        }
    if type_name == "string":
        if not isinstance(value, str):
            raise ValidationError(f"{path} must be a string, got {type(value).__name__}")
        if shape.enum and value not in shape.enum:
            raise ValidationError(f"{path} must be one of {', '.join(shape.enum)}, got {value!r}")
        _check_size(len(value), meta, path, "characters")
        pattern = meta.get("pattern")
        if pattern and not _fullmatch(pattern, value):
            # Never echo the value of a sensitive member (the password).
            shown = "" if meta.get("sensitive") else f" (got {value!r})"
            raise ValidationError(f"{path} must match the pattern {pattern}{shown}")
        return value
    if type_name in ("integer", "long"):
        number = _to_int(value, path)
        if meta.get("min") is not None and number < meta["min"] or meta.get("max") is not None and number > meta["max"]:
            raise ValidationError(f"{path} must be {_describe_range(meta)}, got {number}")
        return number
    if type_name in ("float", "double"):
        if isinstance(value, bool):
            raise ValidationError(f"{path} must be a number, got a boolean")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{path} must be a number, got {value!r}") from None
        if meta.get("min") is not None and number < meta["min"] or meta.get("max") is not None and number > meta["max"]:
            raise ValidationError(f"{path} must be {_describe_range(meta)}, got {number}")
        return number
    if type_name == "boolean":
        return _to_bool(value, path)
    if type_name == "timestamp":
        if isinstance(value, datetime.datetime):
            return value
        try:
            return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{path} must be an ISO 8601 date and time, got {value!r}") from None
    return value


def _check_size(size, meta, path, unit):
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and size < lo or hi is not None and size > hi:
        raise ValidationError(f"{path} must have {_describe_range(meta)} {unit}, got {size}")


def _to_int(value, path):
    if isinstance(value, bool):
        raise ValidationError(f"{path} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise ValidationError(f"{path} must be an integer, got {value!r}")


def _to_bool(value, path):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise ValidationError(f"{path} must be a boolean, got {value!r}")


def validate_request(operation, request, names=None):
    """Validate a whole request (API form, lowerCamelCase) against ``operation``'s input shape.

    ``names`` maps top-level API members to the option names used in messages. Returns the
    request coerced to the model's types."""
    names = names or {}
    shape = input_shape(operation)
    result = {}
    for member, value in request.items():
        if value is None:
            continue
        if member not in shape.members:
            raise ValidationError(f"{operation} has no parameter {member}")
        path = names.get(member, camel_to_snake(member))
        result[member] = coerce_to_shape(_snake_keys(value), shape.members[member], path)
    missing = [names.get(m, camel_to_snake(m)) for m in shape.required_members if m not in result]
    if missing:
        raise ValidationError(f"missing required option(s): {', '.join(missing)}")
    return result


def validate_identifier(value, operation, option="id"):
    """An id option checked against ``operation``'s ``identifier`` member (pattern, length), so
    that a bad value fails before any call, with a message naming ``option``. None passes."""
    if value is None:
        return None
    return coerce_to_shape(value, input_shape(operation).members["identifier"], option)


def _snake_keys(value):
    """Nested option values come in snake_case; coerce_to_shape accepts both spellings, so this
    only normalises containers (tuples to lists)."""
    if isinstance(value, tuple):
        return list(value)
    return value


def check_port(port, option="port"):
    """Ports the service rejects beyond the model's 1024-65535 range."""
    if port is None:
        return
    for lo, hi in RESERVED_PORT_RANGES:
        if lo <= port <= hi:
            reserved = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in RESERVED_PORT_RANGES)
            raise ValidationError(f"{option} {port} is reserved by Timestream for InfluxDB (reserved: {reserved})")


def check_storage(storage_type, allocated_storage):
    """InfluxIOIncludedT2/T3 need at least 400 GiB."""
    if storage_type in LARGE_STORAGE_TYPES and allocated_storage is not None:
        if allocated_storage < LARGE_STORAGE_MIN_GIB:
            raise ValidationError(
                f"allocated_storage {allocated_storage} is too small for db_storage_type {storage_type}: "
                f"{', '.join(LARGE_STORAGE_TYPES)} need at least {LARGE_STORAGE_MIN_GIB} GiB"
            )


# --------------------------------------------------------------------------------------------
# Argument specs shared by the instance and backup modules (each documents them in its own words)
# --------------------------------------------------------------------------------------------
def log_delivery_configuration_spec():
    """Argument spec of the log_delivery_configuration option (LogDeliveryConfiguration)."""
    return dict(
        type="dict",
        options=dict(
            s3_configuration=dict(
                type="dict",
                required=True,
                options=dict(
                    bucket_name=dict(type="str", required=True),
                    enabled=dict(type="bool", required=True),
                ),
            ),
        ),
    )


def maintenance_schedule_spec():
    """Argument spec of the maintenance_schedule option (MaintenanceSchedule)."""
    return dict(
        type="dict",
        options=dict(
            timezone=dict(type="str", required=True),
            preferred_maintenance_window=dict(type="str", required=True),
        ),
    )


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
def _jsonable(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def normalize_resource(raw, tags=None):
    """An API response (instance, parameter group, backup) in snake_case, JSON-safe, without
    ResponseMetadata and without any password. ``tags`` (a dict) is added when given."""
    if raw is None:
        return None
    data = {k: v for k, v in raw.items() if k not in ("ResponseMetadata", "password")}
    parameters = data.pop("parameters", None)
    result = camel_dict_to_snake_dict(_jsonable(data), ignore_list=["tags"])
    if parameters is not None:
        result["parameters"] = normalize_parameters(parameters)
    if tags is not None:
        result["tags"] = dict(tags)
    return result


def normalize_parameters(parameters):
    """``{"InfluxDBv2": {"httpIdleTimeout": {...}}}`` -> ``{"engine": "InfluxDBv2",
    "influxdbv2": {"http_idle_timeout": {...}}}``-like flat form: the engine key kept as AWS
    spells it, parameter names in snake_case."""
    result = {}
    for engine, values in (parameters or {}).items():
        result[engine] = camel_dict_to_snake_dict(_jsonable(values or {}))
    return result


# --------------------------------------------------------------------------------------------
# Paginated listing and reads
# --------------------------------------------------------------------------------------------
@AWSRetry.jittered_backoff(retries=10, delay=3, max_delay=30, catch_extra_error_codes=RETRY_ERROR_CODES)
def _paginate(client, operation, **params):
    paginator = _raw_client(client).get_paginator(operation)
    return paginator.paginate(**params).build_full_result().get("items", [])


@TimestreamInfluxDBErrorHandler.common_error_handler("list Timestream for InfluxDB instances (ListDbInstances)")
def list_db_instances(client):
    return _paginate(client, "list_db_instances")


@TimestreamInfluxDBErrorHandler.list_error_handler("get Timestream for InfluxDB instance (GetDbInstance)")
def get_db_instance(client, instance_id):
    return client.get_db_instance(identifier=instance_id, aws_retry=True)


def find_db_instance(client, name=None, instance_id=None):
    """The full description of the instance with this id, or else this name, or None.

    GetDbInstance takes only an id, so a name is looked up through the paginated
    ListDbInstances. Instances that are being deleted do not count as existing."""
    if instance_id:
        instance = get_db_instance(client, instance_id)
        if instance and name and instance.get("name") != name:
            return instance  # the caller reports the name difference as an immutable change
        return instance
    for summary in list_db_instances(client):
        if summary.get("name") == name and summary.get("status") != "DELETED":
            return get_db_instance(client, summary["id"])
    return None


def find_db_instance_by_name_or_id(client, identifier):
    """An instance whose name, or else id, is ``identifier`` (or None)."""
    instance = find_db_instance(client, name=identifier)
    if instance is None and re.fullmatch(r"[a-zA-Z0-9]{3,64}", identifier or ""):
        instance = get_db_instance(client, identifier)
    return instance


# Create-only options that GetDbInstance does not report but the instance's auth-parameters
# secret holds (the secret also holds the password, which is never read out of it).
AUTH_SECRET_FIELDS = ("username", "organization", "bucket")


@TimestreamInfluxDBErrorHandler.common_error_handler("read the instance's auth-parameters secret (GetSecretValue)")
def read_auth_parameters(secrets_client, secret_arn):
    """username, organization and bucket from an instance's auth-parameters secret (the password
    is dropped at once). Raises TimestreamInfluxDBError when the secret cannot be read."""
    response = secrets_client.get_secret_value(SecretId=secret_arn, aws_retry=True)
    try:
        value = json.loads(response.get("SecretString") or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {field: value[field] for field in AUTH_SECRET_FIELDS if isinstance(value.get(field), str)}


@TimestreamInfluxDBErrorHandler.common_error_handler("resolve the KMS key alias (DescribeKey)")
def resolve_kms_key_id(kms_client, key):
    """KMS key id of an alias (or alias ARN). Raises TimestreamInfluxDBError when it cannot be read."""
    return kms_client.describe_key(KeyId=key, aws_retry=True)["KeyMetadata"]["KeyId"]


def find_db_parameter_group_by_name(client, name):
    """Full description of the parameter group called ``name`` (names only, never ids), or None."""
    for summary in list_db_parameter_groups(client):
        if summary.get("name") == name:
            return get_db_parameter_group(client, summary["id"])
    return None


@TimestreamInfluxDBErrorHandler.common_error_handler("create Timestream for InfluxDB instance (CreateDbInstance)")
def create_db_instance(client, request):
    return client.create_db_instance(aws_retry=True, **request)


@TimestreamInfluxDBErrorHandler.common_error_handler("update Timestream for InfluxDB instance (UpdateDbInstance)")
def update_db_instance(client, instance_id, changes):
    return client.update_db_instance(identifier=instance_id, aws_retry=True, **changes)


@TimestreamInfluxDBErrorHandler.deletion_error_handler("delete Timestream for InfluxDB instance (DeleteDbInstance)")
def delete_db_instance(client, instance_id, retain_automated_backups=None):
    """DeleteDbInstance; ``retain_automated_backups`` is sent only when given (True or False)."""
    extra = {} if retain_automated_backups is None else {"retainAutomatedBackups": bool(retain_automated_backups)}
    return client.delete_db_instance(identifier=instance_id, aws_retry=True, **extra)


@TimestreamInfluxDBErrorHandler.common_error_handler("reboot Timestream for InfluxDB instance (RebootDbInstance)")
def reboot_db_instance(client, instance_id):
    return client.reboot_db_instance(identifier=instance_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.list_error_handler("list tags (ListTagsForResource)", default_value={})
def list_tags(client, arn):
    return client.list_tags_for_resource(resourceArn=arn, aws_retry=True).get("tags", {}) or {}


@TimestreamInfluxDBErrorHandler.common_error_handler("tag resource (TagResource)")
def tag_resource(client, arn, tags):
    return client.tag_resource(resourceArn=arn, tags=tags, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("untag resource (UntagResource)")
def untag_resource(client, arn, keys):
    return client.untag_resource(resourceArn=arn, tagKeys=list(keys), aws_retry=True)


def plan_tags(current_tags, desired_tags, purge_tags):
    """(to_set, to_unset) or (None, None) when tags are not managed (``tags`` not given)."""
    if desired_tags is None:
        return {}, []
    to_set, to_unset = compare_aws_tags(current_tags or {}, desired_tags, purge_tags)
    return {k: str(v) for k, v in to_set.items()}, sorted(to_unset)


def apply_tags(client, arn, to_set, to_unset):
    if to_unset:
        untag_resource(client, arn, to_unset)
    if to_set:
        tag_resource(client, arn, to_set)
    return bool(to_set or to_unset)


def predicted_tags(current_tags, to_set, to_unset):
    tags = dict(current_tags or {})
    for key in to_unset:
        tags.pop(key, None)
    tags.update(to_set)
    return tags


# Parameter groups ---------------------------------------------------------------------------
@TimestreamInfluxDBErrorHandler.common_error_handler("list DB parameter groups (ListDbParameterGroups)")
def list_db_parameter_groups(client):
    return _paginate(client, "list_db_parameter_groups")


@TimestreamInfluxDBErrorHandler.list_error_handler("get DB parameter group (GetDbParameterGroup)")
def get_db_parameter_group(client, group_id):
    return client.get_db_parameter_group(identifier=group_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("create DB parameter group (CreateDbParameterGroup)")
def create_db_parameter_group(client, request):
    return client.create_db_parameter_group(aws_retry=True, **request)


def match_parameter_group(groups, identifier):
    """The summary of the group whose id, or else name, is ``identifier`` (or None)."""
    for group in groups:
        if group.get("id") == identifier:
            return group
    for group in groups:
        if group.get("name") == identifier:
            return group
    return None


def find_db_parameter_group(client, identifier):
    """Full description of a parameter group named or identified by ``identifier``, or None."""
    summary = match_parameter_group(list_db_parameter_groups(client), identifier)
    if summary is None:
        return None
    return get_db_parameter_group(client, summary["id"])


def resolve_parameter_group_id(client, identifier):
    """Parameter group name or id -> id. Raises ValidationError when no such group exists."""
    if identifier is None:
        return None
    summary = match_parameter_group(list_db_parameter_groups(client), identifier)
    if summary is None:
        raise ValidationError(f"db_parameter_group_identifier {identifier!r}: no DB parameter group has this name or id")
    return summary["id"]


# Backups ------------------------------------------------------------------------------------
@TimestreamInfluxDBErrorHandler.common_error_handler("list DB backups (ListDbBackups)")
def list_db_backups(client, db_resource_id=None):
    params = {"dbResourceId": db_resource_id} if db_resource_id else {}
    return _paginate(client, "list_db_backups", **params)


@TimestreamInfluxDBErrorHandler.list_error_handler("get DB backup (GetDbBackup)")
def get_db_backup(client, backup_id):
    return client.get_db_backup(identifier=backup_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("create DB backup (CreateDbBackup)")
def create_db_backup(client, request):
    return client.create_db_backup(aws_retry=True, **request)


@TimestreamInfluxDBErrorHandler.deletion_error_handler("delete DB backup (DeleteDbBackup)")
def delete_db_backup(client, backup_id):
    return client.delete_db_backup(identifier=backup_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("restore from DB backup (RestoreFromDbBackup)")
def restore_from_db_backup(client, request):
    return client.restore_from_db_backup(aws_retry=True, **request)


def find_db_backup(client, name=None, backup_id=None, db_resource_id=None, include_deleting=False):
    """Full description of a backup by id, or by name (optionally within one instance's
    backups). Backups being deleted do not count, unless ``include_deleting`` (a backup being
    deleted is preferred only when no other one has the name)."""
    gone = ("DELETED",) if include_deleting else BACKUP_STATUS_GONE
    if backup_id:
        backup = get_db_backup(client, backup_id)
        return None if backup is None or backup.get("status") in gone else backup
    matches = [s for s in list_db_backups(client, db_resource_id) if s.get("name") == name and s.get("status") not in gone]
    matches.sort(key=lambda s: s.get("status") in BACKUP_STATUS_GONE)
    for summary in matches:
        backup = get_db_backup(client, summary["id"])
        if backup is not None:
            return backup
    return None


# --------------------------------------------------------------------------------------------
# Waiters (botocore waiter models registered with amazon.aws's waiter machinery)
# --------------------------------------------------------------------------------------------
def _status_acceptors(path, success=(), retry=(), failure=()):
    acceptors = [{"state": "success", "matcher": "path", "argument": path, "expected": s} for s in success]
    acceptors += [{"state": "retry", "matcher": "path", "argument": path, "expected": s} for s in retry]
    acceptors += [{"state": "failure", "matcher": "path", "argument": path, "expected": s} for s in failure]
    return acceptors


def _throttling_acceptors():
    # amazon.aws's own _inject_limit_retries marks these "success", which ends a wait early;
    # a throttled poll is a reason to poll again.
    codes = ["ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"]
    codes += ["InternalServerException", "ServiceUnavailable", "ServiceUnavailableException"]
    return [{"state": "retry", "matcher": "error", "expected": code} for code in codes]


WAITER_DATA = {
    "version": 2,
    "waiters": {
        "DbInstanceAvailable": {
            "operation": "GetDbInstance",
            "delay": 30,
            "maxAttempts": 120,
            "acceptors": _status_acceptors(
                "status",
                success=INSTANCE_STATUS_READY,
                retry=INSTANCE_STATUS_TRANSITIONAL,
                failure=INSTANCE_STATUS_FAILED + INSTANCE_STATUS_GONE,
            )
            + [{"state": "failure", "matcher": "error", "expected": "ResourceNotFoundException"}],
        },
        "DbInstanceDeleted": {
            "operation": "GetDbInstance",
            "delay": 30,
            "maxAttempts": 120,
            "acceptors": [{"state": "success", "matcher": "error", "expected": "ResourceNotFoundException"}]
            + _status_acceptors(
                "status",
                success=("DELETED",),
                # A failed instance is a common reason to delete one: it may still report its
                # failed status for a while after DeleteDbInstance, so that is no reason to stop.
                retry=("DELETING",) + INSTANCE_STATUS_READY + INSTANCE_STATUS_TRANSITIONAL + INSTANCE_STATUS_FAILED,
            ),
        },
        "DbBackupCompleted": {
            "operation": "GetDbBackup",
            "delay": 30,
            "maxAttempts": 120,
            "acceptors": _status_acceptors(
                "status",
                success=BACKUP_STATUS_READY,
                retry=BACKUP_STATUS_TRANSITIONAL,
                failure=BACKUP_STATUS_FAILED + BACKUP_STATUS_GONE,
            )
            + [{"state": "failure", "matcher": "error", "expected": "ResourceNotFoundException"}],
        },
        "DbBackupDeleted": {
            "operation": "GetDbBackup",
            "delay": 30,
            "maxAttempts": 120,
            "acceptors": [{"state": "success", "matcher": "error", "expected": "ResourceNotFoundException"}]
            + _status_acceptors(
                "status",
                success=("DELETED",),
                retry=("DELETING",) + BACKUP_STATUS_READY + BACKUP_STATUS_TRANSITIONAL + BACKUP_STATUS_FAILED,
            ),
        },
    },
}
for _waiter in WAITER_DATA["waiters"].values():
    _waiter["acceptors"].extend(_throttling_acceptors())

# waiter name (amazon.aws style) -> (model name, client method, what is waited for)
WAITERS = {
    "db_instance_available": ("DbInstanceAvailable", "get_db_instance", "instance", "AVAILABLE"),
    "db_instance_deleted": ("DbInstanceDeleted", "get_db_instance", "instance", "deleted"),
    "db_backup_completed": ("DbBackupCompleted", "get_db_backup", "backup", "COMPLETED"),
    "db_backup_deleted": ("DbBackupDeleted", "get_db_backup", "backup", "deleted"),
}


def waiter_model(name):
    return core_waiter.WaiterModel(waiter_config=copy.deepcopy(WAITER_DATA)).get_waiter(name)


def _register_waiters():
    for waiter_name, (model_name, method, _kind, _target) in WAITERS.items():

        def factory(client, waiter_name=waiter_name, model_name=model_name, method=method):
            return core_waiter.Waiter(
                waiter_name, waiter_model(model_name), core_waiter.NormalizedOperationMethod(getattr(client, method))
            )

        aws_waiters.waiters_by_name[("TimestreamInfluxDB", waiter_name)] = factory


def waiter_delay(timeout):
    """Seconds between polls: about 1/120 of the timeout, between 1 and 30 seconds (30 s for the
    default hour; a short wait_timeout polls quickly)."""
    return int(min(30, max(1, timeout // 120)))


def wait_for(client, waiter_name, identifier, timeout, delay=None):
    """Wait with the named waiter; returns the last description (or None once deleted).

    Raises TimestreamInfluxDBError naming the status at once when a failure status is reached,
    and on timeout."""
    if ("TimestreamInfluxDB", waiter_name) not in aws_waiters.waiters_by_name:
        _register_waiters()
    delay = waiter_delay(timeout) if delay is None else delay
    max_attempts = max(1, int(math.ceil(float(timeout) / max(delay, 1))))
    waiter = aws_waiters.get_waiter(client, waiter_name)
    _model, _method, kind, target = WAITERS[waiter_name]
    try:
        waiter.wait(identifier=identifier, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})
    except botocore.exceptions.WaiterError as e:
        last = e.last_response or {}
        status = last.get("status")
        error_code = (last.get("Error") or {}).get("Code")
        if "terminal failure state" in str(e) and status:
            raise TimestreamInfluxDBError(
                message=f"Timestream for InfluxDB {kind} {identifier} reached status {status} while waiting for {target}",
                exception=e,
            ) from e
        if error_code:
            raise TimestreamInfluxDBError(
                message=f"Failed waiting for {kind} {identifier} to be {target}: {error_code}", exception=e
            ) from e
        raise TimestreamInfluxDBError(
            message=f"Timed out after {timeout} seconds waiting for {kind} {identifier} to be {target}"
            + (f" (last status {status})" if status else ""),
            exception=e,
        ) from e
    if waiter_name.endswith("_deleted"):
        return None
    getter = get_db_backup if kind == "backup" else get_db_instance
    return getter(client, identifier)


# --------------------------------------------------------------------------------------------
# Instance: desired state, compare, plan
# --------------------------------------------------------------------------------------------
def instance_request_from_params(params, parameter_group_id=None):
    """Module params -> CreateDbInstance request (API form, validated against the model).

    Only options that were given are included. ``parameter_group_id`` replaces the
    db_parameter_group_identifier option once a name has been resolved to an id."""
    request = {}
    for option, member in INSTANCE_OPTION_TO_API.items():
        value = params.get(option)
        if value is None:
            continue
        request[member] = copy.deepcopy(value)
    if parameter_group_id is not None:
        request["dbParameterGroupIdentifier"] = parameter_group_id
    names = dict(API_TO_INSTANCE_OPTION)
    shape = input_shape("CreateDbInstance")
    result = {}
    for member, value in request.items():
        path = names[member]
        if member == "dbParameterGroupIdentifier":
            # A name (DbParameterGroupName pattern) is accepted too and resolved to an id.
            result[member] = _validate_parameter_group_identifier(value, path)
            continue
        result[member] = coerce_to_shape(value, shape.members[member], path)
    check_port(result.get("port"))
    check_storage(result.get("dbStorageType"), result.get("allocatedStorage"))
    return result


def _validate_parameter_group_identifier(value, path):
    id_shape = input_shape("CreateDbInstance").members["dbParameterGroupIdentifier"]
    name_shape = input_shape("CreateDbParameterGroup").members["name"]
    for shape in (id_shape, name_shape):
        try:
            return coerce_to_shape(value, shape, path)
        except ValidationError:
            continue
    raise ValidationError(
        f"{path} must be a DB parameter group id ({id_shape.metadata['pattern']}) or name "
        f"({name_shape.metadata['pattern']}, {name_shape.metadata['min']}-{name_shape.metadata['max']} characters), got {value!r}"
    )


def validate_create_request(request):
    """Everything CreateDbInstance requires is there."""
    shape = input_shape("CreateDbInstance")
    missing = [API_TO_INSTANCE_OPTION[m] for m in shape.required_members if m not in request]
    if missing:
        raise ValidationError(f"creating an instance needs option(s): {', '.join(missing)}")


KMS_KEY_ARN_PREFIX = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/")


def is_kms_alias(key):
    return bool(key) and (key.startswith("alias/") or ":alias/" in key)


def _comparable(member, value):
    """A value in a form where equal configurations compare equal."""
    if value is None:
        return None
    if member == "kmsKeyId":
        # A key ARN and its key id name the same key.
        return KMS_KEY_ARN_PREFIX.sub("", value)
    if member in ("vpcSubnetIds", "vpcSecurityGroupIds"):
        return sorted(value)
    if member == "dbBackupConfigurations":
        configs = []
        for config in value:
            config = {k: v for k, v in config.items() if k != "nextAutomatedBackupTime" and v is not None}
            configs.append(config)
        return sorted(configs, key=lambda c: (c.get("type", ""), c.get("customSchedule", ""), repr(sorted(c.items()))))
    return value


def compare_instance(current, desired):
    """Compare a GetDbInstance description with a desired request (both API form).

    Returns ``(updates, immutable)``: ``updates`` maps API members UpdateDbInstance must change
    to their desired value; ``immutable`` maps option names that differ but cannot change in
    place to ``{"current": ..., "desired": ...}``. Fields the user did not give are not compared;
    the password never is. GetDbInstance does not report username, organization and bucket (the
    caller adds them from the auth-parameters secret when it can): when they are missing nothing
    can be known about them and they are not compared. Any other create-only field missing from
    the description is unset on the instance (None, or the AWS default of
    IMMUTABLE_API_DEFAULTS), so asking for a value there is an immutable change."""
    updates = {}
    immutable = {}
    for member, wanted in desired.items():
        option = API_TO_INSTANCE_OPTION.get(member)
        if option is None or option == "password":
            continue
        if option in IMMUTABLE_FIELDS:
            if option in AUTH_SECRET_FIELDS and member not in current:
                continue  # not in GetDbInstance and the secret could not be read: nothing is known
            have = current.get(member, IMMUTABLE_API_DEFAULTS.get(member))
            if _comparable(member, have) != _comparable(member, wanted):
                immutable[option] = {"current": _jsonable(have), "desired": _jsonable(wanted)}
            continue
        if option in UPDATABLE_FIELDS:
            if _comparable(member, current.get(member)) != _comparable(member, wanted):
                updates[member] = wanted
    return updates, immutable


def check_updates(current, updates):
    """Changes UpdateDbInstance cannot make, raised as ValidationError before any call."""
    if "allocatedStorage" in updates and current.get("allocatedStorage") is not None:
        if updates["allocatedStorage"] < current["allocatedStorage"]:
            raise ValidationError(
                f"allocated_storage can only grow: the instance has {current['allocatedStorage']} GiB, "
                f"{updates['allocatedStorage']} GiB was asked"
            )
    storage_type = updates.get("dbStorageType", current.get("dbStorageType"))
    allocated = updates.get("allocatedStorage", current.get("allocatedStorage"))
    check_storage(storage_type, allocated)


def plan_updates(updates):
    """Split the changes into the fewest UpdateDbInstance calls the service accepts: one call
    with every configuration change, then one per exclusive group that has changes (see
    EXCLUSIVE_UPDATE_GROUPS). Returns a list of dicts (API form), empty when nothing changes."""
    rest = dict(updates)
    grouped = []
    for group in EXCLUSIVE_UPDATE_GROUPS:
        call = {member: rest.pop(member) for member in group if member in rest}
        if call:
            grouped.append(call)
    return ([rest] if rest else []) + grouped


def describe_immutable(immutable):
    """``{option: {"current": ..., "desired": ...}}`` -> one line listing both values of each option
    (immutable instance fields, parameter group differences)."""
    parts = [
        f"{option} (current: {values['current']!r}, wanted: {values['desired']!r})"
        for option, values in sorted(immutable.items())
    ]
    return "; ".join(parts)


def to_snake(value):
    """An API value (possibly nested) with snake_case keys, JSON-safe."""
    value = _jsonable(value)
    if isinstance(value, dict):
        return camel_dict_to_snake_dict(value)
    if isinstance(value, list):
        return [to_snake(v) for v in value]
    return value


def diff_fields(current, desired_members):
    """Before/after dictionaries (snake_case) of every compared field; the password never."""
    before, after = {}, {}
    for member, wanted in desired_members.items():
        option = API_TO_INSTANCE_OPTION.get(member, camel_to_snake(member))
        if option == "password":
            continue
        before[option] = to_snake((current or {}).get(member, IMMUTABLE_API_DEFAULTS.get(member) if current else None))
        after[option] = to_snake(wanted)
    return before, after


def describe_instance(client, instance):
    """An instance description (API form) -> module output, with its tags."""
    if instance is None:
        return {}
    tags = list_tags(client, instance["arn"]) if instance.get("arn") else {}
    return normalize_resource(instance, tags)
