# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared code for the Amazon Timestream for InfluxDB modules.

Everything here is pure: functions return values or raise
(:class:`TimestreamInfluxDBError` for AWS failures, :class:`ValidationError` for bad
input); only a module's ``main()`` turns those into ``exit_json``/``fail_json``.

The botocore service model (``client.meta.service_model``) is the authority for names,
patterns, ranges and enums: request dictionaries are validated against the operation's input
shape before any call. Creating the client makes no request, so modules create it first and
validate with its model.

What a new resource module (a DB cluster, for example) needs generically is here too:
:func:`paginate` and the error handler, :func:`list_tags`/:func:`plan_tags`/:func:`apply_tags`,
:func:`resource_to_ansible`, and the waiters (:class:`WaiterSpec`, :func:`status_waiter`,
:data:`WAITERS`, :class:`TimestreamInfluxDBWaiterFactory`, :func:`wait_for`).
"""

import copy
import datetime
import json
import math
import re
import time
from collections import namedtuple
from typing import Any
from typing import Callable
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.botocore import normalize_boto3_result
from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.amazon.aws.plugins.module_utils.transformation import boto3_resource_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.waiter import BaseWaiterFactory

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
# What AWS gives a new instance for each optional CreateDbInstance member left out (documented
# defaults). Used only to predict an instance in check mode, never to compare: an option the task
# does not state is never compared.
CREATE_DEFAULTS = {
    "publiclyAccessible": False,
    "networkType": "IPV4",
    "deploymentType": "SINGLE_AZ",
    "dbStorageType": "InfluxIOIncludedT1",
    "port": 8086,
}
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

# CreateDbInstance members the model marks optional that an InfluxDB v2 instance cannot be created
# without (it is onboarded with them; AWS answers ValidationException, Terraform requires both).
CREATE_ALSO_REQUIRED = ("organization", "bucket")

# Create-only options that GetDbInstance does not report but the instance's auth-parameters
# secret holds (the secret also holds the password, which is never read out of it).
AUTH_SECRET_FIELDS = ("username", "organization", "bucket")

# Every pattern of the service model, said in words for the messages (a user should not have to
# read a regular expression). The unit tests check that every pattern of the pinned model is here.
_NAME_WORDS = "letters, digits and single hyphens, starting with a letter and not ending with a hyphen"
PATTERN_WORDS = {
    "[a-zA-Z0-9]+": "letters and digits only",
    "[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*": _NAME_WORDS,
    "[a-zA-z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*": _NAME_WORDS,
    '[^_"][^"]*': "any characters except double quotes, not starting with an underscore",
    r"\d{4}-\d{2}-\d{2}": "a date written YYYY-MM-DD",
    r"cron\(\S+ \S+ \S+ \S+ \S+ \S+\)": "a cron expression cron(minutes hours day-of-month month day-of-week year)",
    "(UTC|[A-Za-z_]+/[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?)": "UTC or an IANA time zone such as Europe/London",
    "[a-zA-Z0-9:/_\\-]+": "a KMS key id, key ARN, alias or alias ARN (letters, digits and : / _ -)",
    r"$|^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d-(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d": (
        "a weekly window ddd:HH:MM-ddd:HH:MM such as Sun:02:00-Sun:04:00"
    ),
    "(?:100|[1-9]?[0-9])%": "a percentage from 0% to 100%",
    r"[0-9a-z]+[0-9a-z\.\-]*[0-9a-z]+": (
        "an S3 bucket name: lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
    ),
    "sg-[a-z0-9]+": "sg- followed by lower-case letters and digits",
    "subnet-[a-z0-9]+": "subnet- followed by lower-case letters and digits",
    r"arn:(aws|aws-cn|aws-us-gov):secretsmanager:[a-z0-9\-]+:[0-9]{12}:secret:[a-zA-Z0-9/_+=.@\-]+": (
        "the ARN of a Secrets Manager secret"
    ),
    (
        r"arn:aws[a-z\-]*:timestream\-influxdb:[a-z0-9\-]+:[0-9]{12}:"
        r"(db\-instance|db\-cluster|db\-parameter\-group|db\-backup)/[a-zA-Z0-9]{3,64}"
    ): "the ARN of a Timestream for InfluxDB instance, cluster, parameter group or backup",
    r"[a-zA-Z0-9_.]+:[^,\s]+(?:,[a-zA-Z0-9_.]+:[^,\s]+)*": "comma-separated key:value pairs without spaces",
    r"\d+,\d+,\d+,\d+": "four comma-separated whole numbers",
}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class TimestreamInfluxDBError(AnsibleAWSError):
    """An AWS call (or a wait) failed. ``exception`` holds the botocore error when there is one."""


class ValidationError(Exception):
    """The module's input is invalid; the message names the option."""


class TimestreamInfluxDBErrorHandler(AWSErrorHandler):
    """amazon.aws's error handler: failures become :class:`TimestreamInfluxDBError` naming the
    operation; ``list_error_handler`` and ``deletion_error_handler`` treat ResourceNotFoundException
    as "nothing there"."""

    _CUSTOM_EXCEPTION = TimestreamInfluxDBError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


def retry_decorator() -> Callable:
    """The retry decorator every module passes to ``module.client``.

    Returns:
        AWSRetry.jittered_backoff with this service's throttling and server errors added.
    """
    return AWSRetry.jittered_backoff(retries=10, delay=3, max_delay=30, catch_extra_error_codes=RETRY_ERROR_CODES)


def paginate(client, operation: str, **params: Any) -> List[Dict[str, Any]]:
    """Every item of a paginated List* operation of this service.

    Parameters:
        client: a timestream-influxdb client (plain or amazon.aws's retrying wrapper).
        operation (str): the client method, for example ``list_db_instances``.
        params: the operation's parameters.

    Returns:
        The ``items`` of every page (amazon.aws ``paginated_query_with_retries``).
    """
    return paginated_query_with_retries(client, operation, retry_decorator=retry_decorator(), **params).get("items", [])


# --------------------------------------------------------------------------------------------
# The service model
# --------------------------------------------------------------------------------------------
def service_model(client):
    """The botocore service model of the client (``client.meta.service_model``; no request).

    Parameters:
        client: a timestream-influxdb client, or its retrying wrapper.

    Returns:
        botocore.model.ServiceModel
    """
    return client.meta.service_model


def input_shape(model, operation: str):
    """The input shape (botocore StructureShape) of ``operation`` in ``model``."""
    return model.operation_model(operation).input_shape


def shape_enum(model, shape_name: str) -> List[str]:
    """The enumeration values of the shape named ``shape_name`` in ``model``."""
    return list(model.shape_for(shape_name).enum)


def camel_to_snake(name: str) -> str:
    """lowerCamelCase member name -> snake_case option name (ansible-core's public conversion).

    Parameters:
        name (str): for example ``dbInstanceType``.

    Returns:
        str: for example ``db_instance_type``.
    """
    return next(iter(camel_dict_to_snake_dict({name: None})))


def pattern_in_words(pattern: str) -> str:
    """A model pattern said in words, for messages (the pattern itself when it has no words yet)."""
    return PATTERN_WORDS.get(pattern, f"matching the pattern {pattern}")


def _fullmatch(pattern: str, value: str) -> bool:
    # Smithy patterns are ECMA regexes matched against the whole value.
    return re.fullmatch(pattern, value) is not None


def _describe_range(meta: Dict[str, Any]) -> str:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    if lo is not None:
        return f"at least {lo}"
    return f"at most {hi}"


def coerce_to_shape(value: Any, shape, path: str) -> Any:
    """Validate an option value against a botocore shape and return it in the API's form.

    Parameters:
        value: the option's value; dictionary keys in snake_case (the API's lowerCamelCase is
            accepted too).
        shape: the botocore shape (structure, list, map, string, number, boolean, timestamp).
        path (str): the option's name for messages, dotted for nested keys.

    Returns:
        The value with lowerCamelCase keys and the model's scalar types.

    Raises:
        ValidationError: naming ``path`` on the first problem found; a pattern is said in words,
        and the value of a sensitive member (the password) is never shown.
    """
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
            result[member] = coerce_to_shape(item, shape.members[member], f"{path}.{key}")
        missing = [camel_to_snake(m) for m in shape.required_members if m not in result]
        if missing:
            raise ValidationError(f"{path} is missing required key(s) {', '.join(missing)}")
        if meta.get("union") and len(result) != 1:
            raise ValidationError(f"{path} must set exactly one of {', '.join(sorted(by_snake))}, got {len(result)}")
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
            raise ValidationError(f"{path} must be {pattern_in_words(pattern)}{shown}")
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


def _check_size(size: int, meta: Dict[str, Any], path: str, unit: str) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and size < lo or hi is not None and size > hi:
        raise ValidationError(f"{path} must have {_describe_range(meta)} {unit}, got {size}")


def _to_int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{path} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise ValidationError(f"{path} must be an integer, got {value!r}")


def _to_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise ValidationError(f"{path} must be a boolean, got {value!r}")


def validate_request(model, operation: str, request: Dict[str, Any], names: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Validate a whole request against ``operation``'s input shape.

    Parameters:
        model: the service model (:func:`service_model`).
        operation (str): for example ``CreateDbBackup``.
        request (dict): API member -> option value; members whose value is None are left out.
        names (dict): API member -> option name used in messages (default: the member in snake_case).

    Returns:
        dict: the request coerced to the model's types.

    Raises:
        ValidationError: naming the option, on the first problem or for missing required members.
    """
    names = names or {}
    shape = input_shape(model, operation)
    result = {}
    for member, value in request.items():
        if value is None:
            continue
        if member not in shape.members:
            raise ValidationError(f"{operation} has no parameter {member}")
        path = names.get(member, camel_to_snake(member))
        result[member] = coerce_to_shape(value, shape.members[member], path)
    missing = [names.get(m, camel_to_snake(m)) for m in shape.required_members if m not in result]
    if missing:
        raise ValidationError(f"missing required option(s): {', '.join(missing)}")
    return result


def validate_identifier(model, value: Optional[str], operation: str, option: str = "id") -> Optional[str]:
    """An id option checked against ``operation``'s ``identifier`` member (pattern, length).

    Parameters:
        model: the service model.
        value (str): the id, or None (which passes).
        operation (str): a Get*/Delete* operation taking ``identifier``.
        option (str): the option's name for the message.

    Returns:
        The id, or None.

    Raises:
        ValidationError: naming ``option``, before any call.
    """
    if value is None:
        return None
    return coerce_to_shape(value, input_shape(model, operation).members["identifier"], option)


def check_port(port: Optional[int], option: str = "port") -> None:
    """Raise ValidationError for a port the service reserves (beyond the model's 1024-65535 range)."""
    if port is None:
        return
    for lo, hi in RESERVED_PORT_RANGES:
        if lo <= port <= hi:
            reserved = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in RESERVED_PORT_RANGES)
            raise ValidationError(f"{option} {port} is reserved by Timestream for InfluxDB (reserved: {reserved})")


def check_storage(storage_type: Optional[str], allocated_storage: Optional[int]) -> None:
    """Raise ValidationError when an InfluxIOIncludedT2/T3 storage type gets less than 400 GiB."""
    if storage_type in LARGE_STORAGE_TYPES and allocated_storage is not None:
        if allocated_storage < LARGE_STORAGE_MIN_GIB:
            raise ValidationError(
                f"allocated_storage {allocated_storage} is too small for db_storage_type {storage_type}: "
                f"{', '.join(LARGE_STORAGE_TYPES)} need at least {LARGE_STORAGE_MIN_GIB} GiB"
            )


# --------------------------------------------------------------------------------------------
# Argument specs shared by the instance and backup modules (each documents them in its own words)
# --------------------------------------------------------------------------------------------
def log_delivery_configuration_spec() -> Dict[str, Any]:
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


def maintenance_schedule_spec() -> Dict[str, Any]:
    """Argument spec of the maintenance_schedule option (MaintenanceSchedule)."""
    return dict(
        type="dict",
        options=dict(
            timezone=dict(type="str", required=True),
            preferred_maintenance_window=dict(type="str", required=True),
        ),
    )


# --------------------------------------------------------------------------------------------
# Results: amazon.aws's boto3_resource_to_ansible_dict, user keys kept as given
# --------------------------------------------------------------------------------------------
def parameters_to_ansible(parameters: Dict[str, Any]) -> Dict[str, Any]:
    """A parameter group's ``parameters`` for the result: the engine key as AWS spells it
    (``InfluxDBv2``), the parameter names in snake_case, as the module's ``parameters`` option
    takes them.

    Parameters:
        parameters (dict): for example ``{"InfluxDBv2": {"httpIdleTimeout": {"durationType": "minutes", "value": 3}}}``.

    Returns:
        dict: for example ``{"InfluxDBv2": {"http_idle_timeout": {"duration_type": "minutes", "value": 3}}}``.
    """
    return {engine: camel_dict_to_snake_dict(values or {}) for engine, values in (parameters or {}).items()}


def resource_to_ansible(raw: Optional[Dict[str, Any]], tags: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    """An API description (instance, parameter group, backup, ...) as a module result.

    Parameters:
        raw (dict): the API response or description (lowerCamelCase), or None.
        tags (dict): the resource's tags, added under ``tags`` with their keys as the user wrote them.

    Returns:
        dict: snake_case keys and JSON-safe values (``boto3_resource_to_ansible_dict``), without
        ResponseMetadata and without any password; None when ``raw`` is None.
    """
    if raw is None:
        return None
    data = {k: v for k, v in raw.items() if k not in ("ResponseMetadata", "password")}
    result = boto3_resource_to_ansible_dict(
        data,
        transform_tags=False,
        force_tags=False,
        ignore_list=["tags"],
        nested_transforms={"parameters": parameters_to_ansible},
    )
    if tags is not None:
        result["tags"] = dict(tags)
    return result


def value_to_ansible(value: Any) -> Any:
    """An API value (a dictionary, a list or a scalar) with snake_case keys and JSON-safe values."""
    value = normalize_boto3_result(value)
    if isinstance(value, dict):
        return camel_dict_to_snake_dict(value)
    if isinstance(value, list):
        return [value_to_ansible(item) for item in value]
    return value


# --------------------------------------------------------------------------------------------
# Tags (every resource of the service: instances, clusters, parameter groups, backups)
# --------------------------------------------------------------------------------------------
@TimestreamInfluxDBErrorHandler.list_error_handler("list tags (ListTagsForResource)", default_value={})
def list_tags(client, arn: str) -> Dict[str, str]:
    """The tags of the resource ``arn`` (``{}`` when it is gone)."""
    return client.list_tags_for_resource(resourceArn=arn, aws_retry=True).get("tags", {}) or {}


@TimestreamInfluxDBErrorHandler.common_error_handler("tag resource (TagResource)")
def tag_resource(client, arn: str, tags: Dict[str, str]) -> Dict[str, Any]:
    """TagResource: sets ``tags`` (a map) on ``arn``."""
    return client.tag_resource(resourceArn=arn, tags=tags, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("untag resource (UntagResource)")
def untag_resource(client, arn: str, keys: Sequence[str]) -> Dict[str, Any]:
    """UntagResource: removes the tag ``keys`` from ``arn``."""
    return client.untag_resource(resourceArn=arn, tagKeys=list(keys), aws_retry=True)


def plan_tags(
    current_tags: Optional[Dict[str, str]], desired_tags: Optional[Dict[str, Any]], purge_tags: bool
) -> Tuple[Dict[str, str], List[str]]:
    """The tag changes that bring ``current_tags`` to ``desired_tags`` (amazon.aws compare_aws_tags).

    Parameters:
        current_tags (dict): the resource's tags.
        desired_tags (dict): the ``tags`` option, or None when tags are not managed.
        purge_tags (bool): remove the tags not in ``desired_tags`` (``aws:`` tags are kept).

    Returns:
        tuple: ``(to_set, to_unset)``, a dict of tags with string values and a sorted list of keys;
        ``({}, [])`` when ``desired_tags`` is None or nothing changes.
    """
    if desired_tags is None:
        return {}, []
    to_set, to_unset = compare_aws_tags(current_tags or {}, desired_tags, purge_tags)
    return {k: str(v) for k, v in to_set.items()}, sorted(to_unset)


def apply_tags(client, arn: str, to_set: Dict[str, str], to_unset: Sequence[str]) -> bool:
    """Carry out a plan of :func:`plan_tags`. Returns whether anything changed."""
    if to_unset:
        untag_resource(client, arn, to_unset)
    if to_set:
        tag_resource(client, arn, to_set)
    return bool(to_set or to_unset)


def predicted_tags(current_tags: Optional[Dict[str, str]], to_set: Dict[str, str], to_unset: Sequence[str]) -> Dict[str, str]:
    """The tags a resource has once a plan of :func:`plan_tags` is applied."""
    tags = dict(current_tags or {})
    for key in to_unset:
        tags.pop(key, None)
    tags.update(to_set)
    return tags


# --------------------------------------------------------------------------------------------
# Instances: reads and calls
# --------------------------------------------------------------------------------------------
@TimestreamInfluxDBErrorHandler.common_error_handler("list Timestream for InfluxDB instances (ListDbInstances)")
def list_db_instances(client) -> List[Dict[str, Any]]:
    """Every instance summary of the region (paginated ListDbInstances)."""
    return paginate(client, "list_db_instances")


@TimestreamInfluxDBErrorHandler.list_error_handler("get Timestream for InfluxDB instance (GetDbInstance)")
def get_db_instance(client, instance_id: str) -> Optional[Dict[str, Any]]:
    """GetDbInstance; None when no instance has this id."""
    return client.get_db_instance(identifier=instance_id, aws_retry=True)


def find_db_instance(client, name: Optional[str] = None, instance_id: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The full description of the instance with this id, or else this name, or None.

    GetDbInstance takes only an id, so a name is looked up through the paginated
    ListDbInstances; a DELETED instance does not count. With an id, the instance is returned
    whatever its name (the caller compares the name).

    Parameters:
        client: a timestream-influxdb client.
        name (str): the instance's name, used when no id is given.
        instance_id (str): the instance's id.

    Returns:
        dict: the GetDbInstance description, or None.
    """
    if instance_id:
        return get_db_instance(client, instance_id)
    for summary in list_db_instances(client):
        if summary.get("name") == name and summary.get("status") != "DELETED":
            return get_db_instance(client, summary["id"])
    return None


def find_db_instance_by_name_or_id(client, identifier: str) -> Optional[Dict[str, Any]]:
    """An instance whose name, or else id, is ``identifier`` (or None)."""
    instance = find_db_instance(client, name=identifier)
    if instance is None and re.fullmatch(r"[a-zA-Z0-9]{3,64}", identifier or ""):
        instance = get_db_instance(client, identifier)
    return instance


@TimestreamInfluxDBErrorHandler.common_error_handler("read the instance's auth-parameters secret (GetSecretValue)")
def read_auth_parameters(secrets_client, secret_arn: str) -> Dict[str, str]:
    """username, organization and bucket from an instance's auth-parameters secret.

    The password in the secret is dropped at once. Raises TimestreamInfluxDBError when the secret
    cannot be read; a value that is not a JSON object gives ``{}``.
    """
    response = secrets_client.get_secret_value(SecretId=secret_arn, aws_retry=True)
    try:
        value = json.loads(response.get("SecretString") or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {field: value[field] for field in AUTH_SECRET_FIELDS if isinstance(value.get(field), str)}


@TimestreamInfluxDBErrorHandler.common_error_handler("resolve the KMS key alias (DescribeKey)")
def resolve_kms_key_id(kms_client, key: str) -> str:
    """The KMS key id of an alias (or alias ARN). Raises TimestreamInfluxDBError when it cannot be read."""
    return kms_client.describe_key(KeyId=key, aws_retry=True)["KeyMetadata"]["KeyId"]


@TimestreamInfluxDBErrorHandler.common_error_handler("create Timestream for InfluxDB instance (CreateDbInstance)")
def create_db_instance(client, request: Dict[str, Any]) -> Dict[str, Any]:
    """CreateDbInstance with a validated request (API form)."""
    return client.create_db_instance(aws_retry=True, **request)


@TimestreamInfluxDBErrorHandler.common_error_handler("update Timestream for InfluxDB instance (UpdateDbInstance)")
def update_db_instance(client, instance_id: str, changes: Dict[str, Any]) -> Dict[str, Any]:
    """UpdateDbInstance with only the members that change (the service rejects unchanged values)."""
    return client.update_db_instance(identifier=instance_id, aws_retry=True, **changes)


@TimestreamInfluxDBErrorHandler.deletion_error_handler("delete Timestream for InfluxDB instance (DeleteDbInstance)")
def delete_db_instance(client, instance_id: str, retain_automated_backups: Optional[bool] = None):
    """DeleteDbInstance; ``retain_automated_backups`` is sent only when given (True or False).

    Returns:
        The response, or False when the instance was already gone.
    """
    extra = {} if retain_automated_backups is None else {"retainAutomatedBackups": bool(retain_automated_backups)}
    return client.delete_db_instance(identifier=instance_id, aws_retry=True, **extra)


@TimestreamInfluxDBErrorHandler.common_error_handler("reboot Timestream for InfluxDB instance (RebootDbInstance)")
def reboot_db_instance(client, instance_id: str) -> Dict[str, Any]:
    """RebootDbInstance."""
    return client.reboot_db_instance(identifier=instance_id, aws_retry=True)


# Parameter groups ---------------------------------------------------------------------------
@TimestreamInfluxDBErrorHandler.common_error_handler("list DB parameter groups (ListDbParameterGroups)")
def list_db_parameter_groups(client) -> List[Dict[str, Any]]:
    """Every parameter group summary of the region (paginated ListDbParameterGroups)."""
    return paginate(client, "list_db_parameter_groups")


@TimestreamInfluxDBErrorHandler.list_error_handler("get DB parameter group (GetDbParameterGroup)")
def get_db_parameter_group(client, group_id: str) -> Optional[Dict[str, Any]]:
    """GetDbParameterGroup; None when no group has this id."""
    return client.get_db_parameter_group(identifier=group_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("create DB parameter group (CreateDbParameterGroup)")
def create_db_parameter_group(client, request: Dict[str, Any]) -> Dict[str, Any]:
    """CreateDbParameterGroup with a validated request."""
    return client.create_db_parameter_group(aws_retry=True, **request)


def match_parameter_group(groups: Sequence[Dict[str, Any]], identifier: str) -> Optional[Dict[str, Any]]:
    """The summary of the group whose id, or else name, is ``identifier`` (or None)."""
    for group in groups:
        if group.get("id") == identifier:
            return group
    for group in groups:
        if group.get("name") == identifier:
            return group
    return None


def find_db_parameter_group_by_name(client, name: str) -> Optional[Dict[str, Any]]:
    """Full description of the parameter group called ``name`` (names only, never ids), or None."""
    for summary in list_db_parameter_groups(client):
        if summary.get("name") == name:
            return get_db_parameter_group(client, summary["id"])
    return None


def resolve_parameter_group_id(client, identifier: Optional[str]) -> Optional[str]:
    """Parameter group name or id -> id. Raises ValidationError when no such group exists."""
    if identifier is None:
        return None
    summary = match_parameter_group(list_db_parameter_groups(client), identifier)
    if summary is None:
        raise ValidationError(f"db_parameter_group_identifier {identifier!r}: no DB parameter group has this name or id")
    return summary["id"]


# Backups ------------------------------------------------------------------------------------
@TimestreamInfluxDBErrorHandler.common_error_handler("list DB backups (ListDbBackups)")
def list_db_backups(client, db_resource_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every backup summary, or those of one instance (paginated ListDbBackups)."""
    params = {"dbResourceId": db_resource_id} if db_resource_id else {}
    return paginate(client, "list_db_backups", **params)


@TimestreamInfluxDBErrorHandler.list_error_handler("get DB backup (GetDbBackup)")
def get_db_backup(client, backup_id: str) -> Optional[Dict[str, Any]]:
    """GetDbBackup; None when no backup has this id."""
    return client.get_db_backup(identifier=backup_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("create DB backup (CreateDbBackup)")
def create_db_backup(client, request: Dict[str, Any]) -> Dict[str, Any]:
    """CreateDbBackup with a validated request."""
    return client.create_db_backup(aws_retry=True, **request)


@TimestreamInfluxDBErrorHandler.deletion_error_handler("delete DB backup (DeleteDbBackup)")
def delete_db_backup(client, backup_id: str):
    """DeleteDbBackup. Returns the response, or False when the backup was already gone."""
    return client.delete_db_backup(identifier=backup_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.common_error_handler("restore from DB backup (RestoreFromDbBackup)")
def restore_from_db_backup(client, request: Dict[str, Any]) -> Dict[str, Any]:
    """RestoreFromDbBackup with a validated request."""
    return client.restore_from_db_backup(aws_retry=True, **request)


def find_db_backup(
    client,
    name: Optional[str] = None,
    backup_id: Optional[str] = None,
    db_resource_id: Optional[str] = None,
    include_deleting: bool = False,
) -> Optional[Dict[str, Any]]:
    """Full description of a backup by id, or by name (optionally within one instance's backups).

    Backups being deleted do not count, unless ``include_deleting`` (a backup being deleted is then
    preferred only when no other one has the name).
    """
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


def running_backups(client, db_resource_id: str) -> List[Dict[str, Any]]:
    """The backups of an instance that are being taken (IN_PROGRESS); the service refuses to
    delete an instance while one runs."""
    return [s for s in list_db_backups(client, db_resource_id) if s.get("status") in BACKUP_STATUS_TRANSITIONAL]


# --------------------------------------------------------------------------------------------
# Waiters: amazon.aws's BaseWaiterFactory, polled at once and then with growing pauses
# --------------------------------------------------------------------------------------------
# What a waiter waits for: ``kind`` and ``target`` name it in messages; ``model`` is the botocore
# waiter definition; ``describe(client, identifier)`` reads the resource once the wait succeeded
# (None for waiters whose success is that the resource is gone).
WaiterSpec = namedtuple("WaiterSpec", ["kind", "target", "model", "describe"])

# The first pauses between polls are short, so that a wait ends within seconds of the resource
# being ready; then they grow, so that a 20-minute creation is not polled every second.
POLL_BACKOFF = ((1, 5), (2, 5), (5, 6), (10, 6))
MAX_POLL_PAUSE = 30


def status_waiter(
    operation: str,
    success: Sequence[str] = (),
    retry: Sequence[str] = (),
    failure: Sequence[str] = (),
    when_missing: str = "failure",
) -> Dict[str, Any]:
    """A botocore waiter definition on the ``status`` of a Get* operation of this service.

    Parameters:
        operation (str): for example ``GetDbInstance``.
        success, retry, failure: the statuses that end the wait, go on polling, fail it.
        when_missing (str): the state for ResourceNotFoundException (``success`` for deletions).

    Returns:
        dict: the definition, with throttling and server errors polled through.
    """
    acceptors = [{"state": "success", "matcher": "path", "argument": "status", "expected": s} for s in success]
    acceptors += [{"state": "retry", "matcher": "path", "argument": "status", "expected": s} for s in retry]
    acceptors += [{"state": "failure", "matcher": "path", "argument": "status", "expected": s} for s in failure]
    acceptors.append({"state": when_missing, "matcher": "error", "expected": "ResourceNotFoundException"})
    # BaseWaiterFactory adds the generic throttling codes; these are this service's.
    acceptors += [{"state": "retry", "matcher": "error", "expected": code} for code in RETRY_ERROR_CODES]
    return {"operation": operation, "delay": 1, "maxAttempts": 1, "acceptors": acceptors}


WAITERS = {
    "db_instance_available": WaiterSpec(
        "instance",
        "AVAILABLE",
        status_waiter(
            "GetDbInstance",
            success=INSTANCE_STATUS_READY,
            retry=INSTANCE_STATUS_TRANSITIONAL,
            failure=INSTANCE_STATUS_FAILED + INSTANCE_STATUS_GONE,
        ),
        get_db_instance,
    ),
    "db_instance_deleted": WaiterSpec(
        "instance",
        "deleted",
        status_waiter(
            "GetDbInstance",
            success=("DELETED",),
            # A failed instance is a common reason to delete one: it may still report its failed
            # status for a while after DeleteDbInstance, so that is no reason to stop.
            retry=("DELETING",) + INSTANCE_STATUS_READY + INSTANCE_STATUS_TRANSITIONAL + INSTANCE_STATUS_FAILED,
            when_missing="success",
        ),
        None,
    ),
    "db_backup_completed": WaiterSpec(
        "backup",
        "COMPLETED",
        status_waiter(
            "GetDbBackup",
            success=BACKUP_STATUS_READY,
            retry=BACKUP_STATUS_TRANSITIONAL,
            failure=BACKUP_STATUS_FAILED + BACKUP_STATUS_GONE,
        ),
        get_db_backup,
    ),
    # A backup that is no longer being taken, whatever came of it (before deleting its instance).
    "db_backup_finished": WaiterSpec(
        "backup",
        "finished",
        status_waiter(
            "GetDbBackup",
            success=BACKUP_STATUS_READY + BACKUP_STATUS_FAILED + BACKUP_STATUS_GONE,
            retry=BACKUP_STATUS_TRANSITIONAL,
            when_missing="success",
        ),
        None,
    ),
    "db_backup_deleted": WaiterSpec(
        "backup",
        "deleted",
        status_waiter(
            "GetDbBackup",
            success=("DELETED",),
            retry=("DELETING",) + BACKUP_STATUS_READY + BACKUP_STATUS_TRANSITIONAL + BACKUP_STATUS_FAILED,
            when_missing="success",
        ),
        None,
    ),
}


class TimestreamInfluxDBWaiterFactory(BaseWaiterFactory):
    """amazon.aws's waiter extension point with the waiters of :data:`WAITERS` (a module that adds
    a resource adds its WaiterSpec there, or passes ``extra`` definitions)."""

    def __init__(self, extra: Optional[Dict[str, Dict[str, Any]]] = None):
        self._extra = dict(extra or {})
        super().__init__()

    @property
    def _waiter_model_data(self) -> Dict[str, Dict[str, Any]]:
        data = {name: copy.deepcopy(spec.model) for name, spec in WAITERS.items()}
        data.update(copy.deepcopy(self._extra))
        return data


def poll_pauses(timeout: int) -> List[int]:
    """The pauses (seconds) between the polls of a wait of ``timeout`` seconds.

    Returns:
        list: growing pauses (1 s at first, :data:`POLL_BACKOFF`, then :data:`MAX_POLL_PAUSE`)
        whose sum just reaches ``timeout``.
    """
    pauses = []
    schedule = [pause for pause, count in POLL_BACKOFF for _index in range(count)]
    while sum(pauses) < timeout:
        pauses.append(schedule[len(pauses)] if len(pauses) < len(schedule) else MAX_POLL_PAUSE)
    return pauses


def _phases(pauses: Sequence[int]) -> List[Tuple[int, int]]:
    """Runs of equal pauses: ``[(pause, how many), ...]``."""
    phases: List[Tuple[int, int]] = []
    for pause in pauses:
        if phases and phases[-1][0] == pause:
            phases[-1] = (pause, phases[-1][1] + 1)
        else:
            phases.append((pause, 1))
    return phases


def wait_for(client, waiter_name: str, identifier: str, timeout: int, delay: Optional[int] = None) -> Optional[Dict[str, Any]]:
    """Wait with a waiter of :data:`WAITERS`, polling at once and then after :func:`poll_pauses`.

    Each run of equal pauses is one ``waiter.wait`` with its own ``WaiterConfig``, so the polls
    follow the backoff while botocore's waiter machinery judges every answer.

    Parameters:
        client: a timestream-influxdb client (the retrying wrapper).
        waiter_name (str): a key of :data:`WAITERS`.
        identifier (str): the resource's id.
        timeout (int): seconds.
        delay (int): a fixed pause instead of the backoff (tests).

    Returns:
        dict: the resource's description once ready, or None for a deletion.

    Raises:
        TimestreamInfluxDBError: naming the status at once when a failure status is reached, the
        error when an unexpected one is met, and the last status on timeout.
    """
    spec = WAITERS[waiter_name]
    waiter = TimestreamInfluxDBWaiterFactory().get_waiter(client, waiter_name)
    if delay is None:
        phases = _phases(poll_pauses(timeout))
    else:
        polls = max(1, int(math.ceil(float(timeout) / max(delay, 1))))
        phases = [(delay, polls - 1)] if polls > 1 else []
    # Phase k polls ``count`` times after the pause before it; the first poll is at once.
    runs = [(0, 1)] + phases
    for index, (pause, count) in enumerate(runs):
        if pause:
            time.sleep(pause)
        # A phase's own waiter polls at once, then after each Delay: after this phase's pause came
        # the first poll, the remaining count-1 polls follow with the same pause.
        try:
            waiter.wait(
                **{identifier_member(client, spec.model["operation"]): identifier},
                WaiterConfig={"Delay": pause, "MaxAttempts": count if index else 1},
            )
            break
        except botocore.exceptions.WaiterError as e:
            if str(e.kwargs.get("reason", "")).startswith("Max attempts exceeded") and index < len(runs) - 1:
                continue
            raise _wait_error(e, spec, identifier, timeout) from e
    if spec.describe is None:
        return None
    return spec.describe(client, identifier)


def _wait_error(error, spec: WaiterSpec, identifier: str, timeout: int) -> TimestreamInfluxDBError:
    last = error.last_response or {}
    status = last.get("status")
    error_code = (last.get("Error") or {}).get("Code")
    reason = str(error.kwargs.get("reason", ""))
    if "terminal failure state" in reason and status:
        message = f"Timestream for InfluxDB {spec.kind} {identifier} reached status {status} while waiting for {spec.target}"
    elif error_code:
        message = f"Failed waiting for {spec.kind} {identifier} to be {spec.target}: {error_code}"
    else:
        message = f"Timed out after {timeout} seconds waiting for {spec.kind} {identifier} to be {spec.target}"
        message += f" (last status {status})" if status else ""
    return TimestreamInfluxDBError(message=message, exception=error)


def wait_for_running_backups(client, db_resource_id: str, timeout: int) -> List[str]:
    """Wait (within ``timeout`` seconds in all) until no backup of the instance is being taken.

    Returns:
        list: the ids of the backups waited for.
    """
    deadline = time.monotonic() + timeout
    waited = []
    for backup in running_backups(client, db_resource_id):
        remaining = max(1, int(deadline - time.monotonic()))
        wait_for(client, "db_backup_finished", backup["id"], remaining)
        waited.append(backup["id"])
    return waited


# --------------------------------------------------------------------------------------------
# Instance: desired state, compare, plan
# --------------------------------------------------------------------------------------------
def instance_request_from_params(model, params: Dict[str, Any], parameter_group_id: Optional[str] = None) -> Dict[str, Any]:
    """Module params -> CreateDbInstance request (API form, validated against the model).

    Parameters:
        model: the service model.
        params (dict): the module's params; only options that were given (not None) are included.
        parameter_group_id (str): replaces ``db_parameter_group_identifier`` once a name has been
            resolved to an id.

    Returns:
        dict: the request (lowerCamelCase members).

    Raises:
        ValidationError: naming the option.
    """
    request = {}
    for option, member in INSTANCE_OPTION_TO_API.items():
        value = params.get(option)
        if value is not None:
            request[member] = copy.deepcopy(value)
    if parameter_group_id is not None:
        request["dbParameterGroupIdentifier"] = parameter_group_id
    shape = input_shape(model, "CreateDbInstance")
    result = {}
    for member, value in request.items():
        path = API_TO_INSTANCE_OPTION[member]
        if member == "dbParameterGroupIdentifier":
            # A name (DbParameterGroupName pattern) is accepted too and resolved to an id.
            result[member] = _validate_parameter_group_identifier(model, value, path)
            continue
        result[member] = coerce_to_shape(value, shape.members[member], path)
    check_port(result.get("port"))
    check_storage(result.get("dbStorageType"), result.get("allocatedStorage"))
    return result


def _validate_parameter_group_identifier(model, value: Any, path: str) -> str:
    id_shape = input_shape(model, "CreateDbInstance").members["dbParameterGroupIdentifier"]
    name_shape = input_shape(model, "CreateDbParameterGroup").members["name"]
    for shape in (id_shape, name_shape):
        try:
            return coerce_to_shape(value, shape, path)
        except ValidationError:
            continue
    raise ValidationError(
        f"{path} must be a DB parameter group id ({pattern_in_words(id_shape.metadata['pattern'])}) or name "
        f"({pattern_in_words(name_shape.metadata['pattern'])}, {name_shape.metadata['min']}-{name_shape.metadata['max']} "
        f"characters), got {value!r}"
    )


def missing_create_options(model, request: Dict[str, Any]) -> List[str]:
    """The options creating an instance needs that ``request`` lacks.

    Parameters:
        model: the service model (its CreateDbInstance required members, in the model's order).
        request (dict): the request (API form).

    Returns:
        list: option names, the model's required ones first, then CREATE_ALSO_REQUIRED.
    """
    shape = input_shape(model, "CreateDbInstance")
    required = [API_TO_INSTANCE_OPTION[m] for m in shape.required_members] + list(CREATE_ALSO_REQUIRED)
    return [option for option in required if INSTANCE_OPTION_TO_API[option] not in request]


KMS_KEY_ARN_PREFIX = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/")


def is_kms_alias(key: Optional[str]) -> bool:
    """Whether a kms_key_id is an alias or an alias ARN (it must be resolved to compare it)."""
    return bool(key) and (key.startswith("alias/") or ":alias/" in key)


def _comparable(member: str, value: Any) -> Any:
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


def compare_instance(current: Dict[str, Any], desired: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Dict[str, Any]]]:
    """Compare a GetDbInstance description with a desired request (both API form).

    Only members of ``desired`` are compared: an option the task does not state is never
    compared, whatever the instance has. The password never is. GetDbInstance does not report
    username, organization and bucket (the caller adds them from the auth-parameters secret when
    it can): when they are missing nothing can be known about them and they are not compared. Any
    other create-only member missing from the description is unset on the instance (None, or the
    AWS default of IMMUTABLE_API_DEFAULTS), so asking for a value there is an immutable change.

    Parameters:
        current (dict): the instance's description.
        desired (dict): the request the options describe.

    Returns:
        tuple: ``(updates, immutable)``; ``updates`` maps the API members UpdateDbInstance must
        change to their desired value; ``immutable`` maps the option names that differ but cannot
        change in place to ``{"current": ..., "desired": ...}``.
    """
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
                immutable[option] = {"current": value_to_ansible(have), "desired": value_to_ansible(wanted)}
            continue
        if option in UPDATABLE_FIELDS:
            if _comparable(member, current.get(member)) != _comparable(member, wanted):
                updates[member] = wanted
    return updates, immutable


def check_updates(current: Dict[str, Any], updates: Dict[str, Any]) -> None:
    """Raise ValidationError, before any call, for changes UpdateDbInstance cannot make."""
    if "allocatedStorage" in updates and current.get("allocatedStorage") is not None:
        if updates["allocatedStorage"] < current["allocatedStorage"]:
            raise ValidationError(
                f"allocated_storage can only grow: the instance has {current['allocatedStorage']} GiB, "
                f"{updates['allocatedStorage']} GiB was asked"
            )
    storage_type = updates.get("dbStorageType", current.get("dbStorageType"))
    allocated = updates.get("allocatedStorage", current.get("allocatedStorage"))
    check_storage(storage_type, allocated)


def plan_updates(updates: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Split the changes into the fewest UpdateDbInstance calls the service accepts.

    Returns:
        list: one call with every configuration change, then one per exclusive group that has
        changes (see EXCLUSIVE_UPDATE_GROUPS), each a dict in API form; empty when nothing changes.
    """
    rest = dict(updates)
    grouped = []
    for group in EXCLUSIVE_UPDATE_GROUPS:
        call = {member: rest.pop(member) for member in group if member in rest}
        if call:
            grouped.append(call)
    return ([rest] if rest else []) + grouped


def describe_immutable(immutable: Dict[str, Dict[str, Any]]) -> str:
    """``{option: {"current": ..., "desired": ...}}`` -> one line listing both values of each option."""
    parts = [
        f"{option} (current: {values['current']!r}, wanted: {values['desired']!r})"
        for option, values in sorted(immutable.items())
    ]
    return "; ".join(parts)


def diff_fields(current: Optional[Dict[str, Any]], desired_members: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Before/after dictionaries (snake_case) of every compared member; never the password, and
    not username, organization or bucket when the description does not know them.

    Parameters:
        current (dict): the description (None or ``{}`` before a creation).
        desired_members (dict): the compared members (API form).

    Returns:
        tuple: ``(before, after)``.
    """
    before, after = {}, {}
    for member, wanted in desired_members.items():
        option = API_TO_INSTANCE_OPTION.get(member, camel_to_snake(member))
        if option == "password":
            continue
        if current and option in AUTH_SECRET_FIELDS and member not in current:
            continue  # unknown (the auth-parameters secret could not be read) and not compared
        have = (current or {}).get(member, IMMUTABLE_API_DEFAULTS.get(member) if current else None)
        before[option] = value_to_ansible(have)
        after[option] = value_to_ansible(wanted)
    return before, after


def describe_instance(client, instance: Optional[Dict[str, Any]], tags: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """An instance description (API form) -> module result, with its tags.

    Parameters:
        client: a timestream-influxdb client; used only when ``tags`` is None.
        instance (dict): the description, or None.
        tags (dict): the instance's tags when the caller already knows them (no second read).

    Returns:
        dict: the result (``{}`` for None).
    """
    if instance is None:
        return {}
    if tags is None:
        tags = list_tags(client, instance["arn"]) if instance.get("arn") else {}
    return resource_to_ansible(instance, tags)


# --------------------------------------------------------------------------------------------
# Clusters (CreateDbCluster, UpdateDbCluster, DeleteDbCluster, RebootDbCluster, GetDbCluster,
# ListDbClusters, ListDbInstancesForCluster)
# --------------------------------------------------------------------------------------------
def identifier_member(client, operation: str) -> str:
    """The input member that names the resource of a Get* operation (``identifier`` for instances,
    backups and parameter groups, ``dbClusterId`` for clusters), read from the service model.

    Parameters:
        client: a timestream-influxdb client.
        operation (str): for example ``GetDbCluster``.

    Returns:
        str: the member name.
    """
    shape = input_shape(service_model(client), operation)
    if "identifier" in shape.members:
        return "identifier"
    return shape.required_members[0]


# Cluster statuses, classified for the waiters. Every value of the model's ClusterStatus enum must
# appear in exactly one of these (the unit tests check it against botocore). PARTIALLY_AVAILABLE
# (some of the cluster's instances are not available yet) is polled on.
CLUSTER_STATUS_READY = ("AVAILABLE",)
CLUSTER_STATUS_TRANSITIONAL = (
    "CREATING",
    "UPDATING",
    "UPDATING_INSTANCE_TYPE",
    "MAINTENANCE",
    "REBOOTING",
    "RESTORING",
    "PARTIALLY_AVAILABLE",
)
CLUSTER_STATUS_FAILED = ("FAILED", "REBOOT_FAILED", "RESTORE_FAILED")
CLUSTER_STATUS_GONE = ("DELETING", "DELETED")

# Create-only members GetDbCluster may leave out although the cluster has a value: AWS's default.
CLUSTER_IMMUTABLE_API_DEFAULTS = {"publiclyAccessible": False, "networkType": "IPV4"}
# What AWS gives a new InfluxDB v2 cluster for each optional member left out (documented defaults);
# used only to predict a cluster in check mode, never to compare.
CLUSTER_CREATE_DEFAULTS = {
    "publiclyAccessible": False,
    "networkType": "IPV4",
    "deploymentType": "MULTI_NODE_READ_REPLICAS",
    "dbStorageType": "InfluxIOIncludedT1",
    "failoverMode": "AUTOMATIC",
    "port": 8086,
    "engineType": "INFLUXDB_V2",
}
# CreateDbCluster members the model marks optional that an InfluxDB v2 cluster (one without a
# deployment_configuration, which only InfluxDB 3 Enterprise takes) cannot be created without.
CLUSTER_V2_ALSO_REQUIRED = ("password", "dbInstanceType", "allocatedStorage", "organization", "bucket")


def cluster_option_to_api(model) -> Dict[str, str]:
    """Module option -> CreateDbCluster member, for every member of the model but ``tags``.

    Returns:
        dict: for example ``{"failover_mode": "failoverMode", ...}`` in the model's order.
    """
    members = input_shape(model, "CreateDbCluster").members
    return {camel_to_snake(member): member for member in members if member != "tags"}


def cluster_updatable_members(model) -> Tuple[str, ...]:
    """The members UpdateDbCluster changes in place (its input members but the cluster id)."""
    return tuple(m for m in input_shape(model, "UpdateDbCluster").members if m != "dbClusterId")


def cluster_immutable_members(model) -> Tuple[str, ...]:
    """The CreateDbCluster members only creation sets (never the password, which is not compared)."""
    updatable = cluster_updatable_members(model)
    return tuple(
        m for m in input_shape(model, "CreateDbCluster").members if m not in updatable and m not in ("tags", "password")
    )


def cluster_request_from_params(model, params: Dict[str, Any], parameter_group_id: Optional[str] = None) -> Dict[str, Any]:
    """Module params -> CreateDbCluster request (API form, validated against the model).

    Parameters:
        model: the service model.
        params (dict): the module's params; only options that were given (not None) are included.
        parameter_group_id (str): replaces ``db_parameter_group_identifier`` once a name has been
            resolved to an id.

    Returns:
        dict: the request (lowerCamelCase members).

    Raises:
        ValidationError: naming the option.
    """
    shape = input_shape(model, "CreateDbCluster")
    result = {}
    for option, member in cluster_option_to_api(model).items():
        value = params.get(option)
        if member == "dbParameterGroupIdentifier" and parameter_group_id is not None:
            value = parameter_group_id
        if value is None:
            continue
        if member == "dbParameterGroupIdentifier":
            result[member] = _validate_parameter_group_identifier(model, value, option)
            continue
        result[member] = coerce_to_shape(copy.deepcopy(value), shape.members[member], option)
    if "name" in result:
        # The model's DbClusterName pattern starts with [a-zA-z], a typo that lets [ \ ] ^ _ `
        # through; AWS requires a letter, as DbInstanceName's pattern says: checked with that one.
        coerce_to_shape(result["name"], input_shape(model, "CreateDbInstance").members["name"], "name")
    check_port(result.get("port"))
    check_storage(result.get("dbStorageType"), result.get("allocatedStorage"))
    return result


def missing_cluster_create_options(model, request: Dict[str, Any]) -> List[str]:
    """The options creating a cluster needs that ``request`` lacks: the model's required members,
    and for an InfluxDB v2 cluster (no ``deploymentConfiguration``) :data:`CLUSTER_V2_ALSO_REQUIRED`.

    Returns:
        list: option names (snake_case).
    """
    required = list(input_shape(model, "CreateDbCluster").required_members)
    if "deploymentConfiguration" not in request:
        required += list(CLUSTER_V2_ALSO_REQUIRED)
    return [camel_to_snake(m) for m in required if m not in request]


def compare_cluster(model, current: Dict[str, Any], desired: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Dict[str, Any]]]:
    """Compare a GetDbCluster description with a desired request (both API form).

    Only members of ``desired`` are compared (an option the task does not state never is), the
    password never. username, organization and bucket are not in GetDbCluster: when the caller
    could not add them (from the auth-parameters secret) they are not compared. Another
    create-only member missing from the description is unset (None, or the AWS default of
    :data:`CLUSTER_IMMUTABLE_API_DEFAULTS`).

    Returns:
        tuple: ``(updates, immutable)``: the members UpdateDbCluster must change, mapped to their
        desired value, and the option names that differ but only creation sets, mapped to
        ``{"current": ..., "desired": ...}``.
    """
    updatable = cluster_updatable_members(model)
    immutable_members = cluster_immutable_members(model)
    updates, immutable = {}, {}
    for member, wanted in desired.items():
        if member in updatable:
            if _comparable(member, current.get(member)) != _comparable(member, wanted):
                updates[member] = wanted
        elif member in immutable_members:
            if member in AUTH_SECRET_FIELDS and member not in current:
                continue
            have = current.get(member, CLUSTER_IMMUTABLE_API_DEFAULTS.get(member))
            if _comparable(member, have) != _comparable(member, wanted):
                immutable[camel_to_snake(member)] = {"current": value_to_ansible(have), "desired": value_to_ansible(wanted)}
    return updates, immutable


def deployment_configuration_to_ansible(value: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """A ``deploymentConfiguration`` for the result: the engine key as AWS spells it
    (``InfluxDBv3Enterprise``), its contents in snake_case (``node_groups``, ``instance_modes``)."""
    if value is None:
        return None
    return {engine: camel_dict_to_snake_dict(config or {}) for engine, config in value.items()}


def cluster_diff(current: Optional[Dict[str, Any]], desired_members: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Before/after dictionaries (snake_case) of every compared member of a cluster; never the
    password (see :func:`diff_fields`), the deployment configuration's engine key as AWS spells it.
    A value that compares equal (subnets in another order) is shown the same before and after."""
    before, after = diff_fields(current, desired_members)
    for member, wanted in desired_members.items():
        option = camel_to_snake(member)
        if current and option in before and _comparable(member, current.get(member)) == _comparable(member, wanted):
            after[option] = before[option]
    if "deploymentConfiguration" in desired_members:
        before["deployment_configuration"] = deployment_configuration_to_ansible((current or {}).get("deploymentConfiguration"))
        after["deployment_configuration"] = deployment_configuration_to_ansible(desired_members["deploymentConfiguration"])
    return before, after


def cluster_to_ansible(cluster: Optional[Dict[str, Any]], tags: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """A cluster description (API form) -> module result with its tags (``{}`` for None)."""
    if cluster is None:
        return {}
    result = resource_to_ansible(cluster, tags)
    if "deploymentConfiguration" in cluster:
        result["deployment_configuration"] = deployment_configuration_to_ansible(cluster["deploymentConfiguration"])
    return result


@TimestreamInfluxDBErrorHandler.common_error_handler("list Timestream for InfluxDB clusters (ListDbClusters)")
def list_db_clusters(client) -> List[Dict[str, Any]]:
    """Every cluster summary of the region (paginated ListDbClusters)."""
    return paginate(client, "list_db_clusters")


@TimestreamInfluxDBErrorHandler.list_error_handler("get Timestream for InfluxDB cluster (GetDbCluster)")
def get_db_cluster(client, cluster_id: str) -> Optional[Dict[str, Any]]:
    """GetDbCluster; None when no cluster has this id."""
    return client.get_db_cluster(dbClusterId=cluster_id, aws_retry=True)


@TimestreamInfluxDBErrorHandler.list_error_handler(
    "list the instances of a Timestream for InfluxDB cluster (ListDbInstancesForCluster)", default_value=[]
)
def list_db_instances_for_cluster(client, cluster_id: str) -> List[Dict[str, Any]]:
    """The instance summaries of a cluster (paginated ListDbInstancesForCluster; ``[]`` when the
    cluster is gone)."""
    return paginate(client, "list_db_instances_for_cluster", dbClusterId=cluster_id)


def find_db_cluster(client, name: Optional[str] = None, cluster_id: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The GetDbCluster description of the cluster with this id, or else this name, or None.

    GetDbCluster takes only an id, so a name is looked up through the paginated ListDbClusters;
    a DELETED cluster does not count.
    """
    if cluster_id:
        return get_db_cluster(client, cluster_id)
    for summary in list_db_clusters(client):
        if summary.get("name") == name and summary.get("status") != "DELETED":
            return get_db_cluster(client, summary["id"])
    return None


@TimestreamInfluxDBErrorHandler.common_error_handler("create Timestream for InfluxDB cluster (CreateDbCluster)")
def create_db_cluster(client, request: Dict[str, Any]) -> Dict[str, Any]:
    """CreateDbCluster with a validated request. Returns ``{"dbClusterId", "dbClusterStatus"}``."""
    return client.create_db_cluster(aws_retry=True, **request)


@TimestreamInfluxDBErrorHandler.common_error_handler("update Timestream for InfluxDB cluster (UpdateDbCluster)")
def update_db_cluster(client, cluster_id: str, changes: Dict[str, Any]) -> Dict[str, Any]:
    """UpdateDbCluster with only the members that change (the service rejects unchanged values)."""
    return client.update_db_cluster(dbClusterId=cluster_id, aws_retry=True, **changes)


@TimestreamInfluxDBErrorHandler.deletion_error_handler("delete Timestream for InfluxDB cluster (DeleteDbCluster)")
def delete_db_cluster(client, cluster_id: str, retain_automated_backups: Optional[bool] = None):
    """DeleteDbCluster; ``retain_automated_backups`` is sent only when given.

    Returns:
        The response, or False when the cluster was already gone.
    """
    extra = {} if retain_automated_backups is None else {"retainAutomatedBackups": bool(retain_automated_backups)}
    return client.delete_db_cluster(dbClusterId=cluster_id, aws_retry=True, **extra)


@TimestreamInfluxDBErrorHandler.common_error_handler("reboot Timestream for InfluxDB cluster (RebootDbCluster)")
def reboot_db_cluster(client, cluster_id: str, instance_ids: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """RebootDbCluster: every instance of the cluster, or only ``instance_ids``."""
    extra = {"instanceIds": list(instance_ids)} if instance_ids else {}
    return client.reboot_db_cluster(dbClusterId=cluster_id, aws_retry=True, **extra)


WAITERS["db_cluster_available"] = WaiterSpec(
    "cluster",
    "AVAILABLE",
    status_waiter(
        "GetDbCluster",
        success=CLUSTER_STATUS_READY,
        retry=CLUSTER_STATUS_TRANSITIONAL,
        failure=CLUSTER_STATUS_FAILED + CLUSTER_STATUS_GONE,
    ),
    get_db_cluster,
)
WAITERS["db_cluster_deleted"] = WaiterSpec(
    "cluster",
    "deleted",
    status_waiter(
        "GetDbCluster",
        success=("DELETED",),
        # as for instances: a failed cluster being deleted may report its failed status a while
        retry=("DELETING",) + CLUSTER_STATUS_READY + CLUSTER_STATUS_TRANSITIONAL + CLUSTER_STATUS_FAILED,
        when_missing="success",
    ),
    None,
)


# --------------------------------------------------------------------------------------------
# Comparison inputs a module reads besides the resource (shared by instances and clusters)
# --------------------------------------------------------------------------------------------
def known_auth_parameters(module, resource: Optional[Dict[str, Any]], kind: str) -> Dict[str, str]:
    """username/organization/bucket of an existing instance or cluster, read from its
    auth-parameters secret when one of those options is given (GetDbInstance and GetDbCluster do
    not report them); without access to the secret they are not compared (with a warning).

    Parameters:
        module: the AnsibleAWSModule (its params, ``client`` and ``warn``).
        resource (dict): the description, or None.
        kind (str): ``instance`` or ``cluster``, for the warning.

    Returns:
        dict: the fields read (``{}`` when none is needed or they cannot be read).
    """
    wanted = [field for field in AUTH_SECRET_FIELDS if module.params.get(field) is not None]
    arn = (resource or {}).get("influxAuthParametersSecretArn")
    if not (wanted and arn):
        return {}
    try:
        return read_auth_parameters(module.client("secretsmanager", retry_decorator=retry_decorator()), arn)
    except TimestreamInfluxDBError as e:
        module.warn(f"Could not compare {', '.join(wanted)} with the {kind}: {e.message}")
        return {}


def with_kms_key_id(module, resource: Optional[Dict[str, Any]], desired: Dict[str, Any], kind: str) -> Dict[str, Any]:
    """``desired`` with a KMS key alias replaced by its key id, so that it compares with the key an
    existing instance or cluster reports; without access to KMS the key is left out of the
    comparison (with a warning).

    Returns:
        dict: the desired request to compare.
    """
    key = desired.get("kmsKeyId")
    if resource is None or not is_kms_alias(key):
        return desired
    try:
        key_id = resolve_kms_key_id(module.client("kms", retry_decorator=retry_decorator()), key)
    except TimestreamInfluxDBError as e:
        module.warn(f"Could not compare kms_key_id with the {kind}: {e.message}")
        return {k: v for k, v in desired.items() if k != "kmsKeyId"}
    return dict(desired, kmsKeyId=key_id)


def parameter_group_id_or_planned(module, client, identifier: str, kind: str) -> str:
    """db_parameter_group_identifier (name or id) -> id. In check mode a group that does not exist
    yet (an earlier task of the play may create it) gives a warning and is kept as given.

    Raises:
        ValidationError: outside check mode, when no group has this name or id.
    """
    try:
        return resolve_parameter_group_id(client, identifier)
    except ValidationError as e:
        if not module.check_mode:
            raise
        module.warn(f"{e}; check mode assumes an earlier task creates it and predicts the {kind} with it as given")
        return identifier
