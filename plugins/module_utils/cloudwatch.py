# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CloudWatch dashboards: thin typed wrappers and pure helpers for the cloudwatch_dashboard module.

Everything here returns values or raises (:class:`CloudWatchError` for AWS failures,
:class:`DashboardValidationError` for bad input); only a module's ``main()`` exits.
"""

import json
import re
from typing import Any
from typing import Optional

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

SERVICE = "cloudwatch"

# PutDashboard: "A-Z, a-z, 0-9, -, and _", at most 255 characters.
DASHBOARD_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,255}")


class CloudWatchError(AnsibleAWSError):
    """A CloudWatch call failed. ``exception`` holds the botocore error."""


class DashboardValidationError(Exception):
    """The module's input is invalid, or CloudWatch refused the dashboard body; the message says which."""


class CloudWatchDashboardErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = CloudWatchError

    @classmethod
    def _is_missing(cls):
        # GetDashboard/DeleteDashboards answer a missing dashboard with ResourceNotFound
        # (DashboardNotFoundError in the model).
        return is_boto3_error_code("ResourceNotFound")


def retry_decorator():
    """The retry decorator the module passes to ``module.client``."""
    return AWSRetry.jittered_backoff(retries=10, delay=3, max_delay=30)


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------
def validate_dashboard_name(name: str) -> str:
    """The name, or DashboardValidationError naming the option ``name``."""
    if not isinstance(name, str) or not DASHBOARD_NAME_PATTERN.fullmatch(name):
        raise DashboardValidationError(
            f"name must be 1 to 255 letters, digits, hyphens and underscores (CloudWatch's rule for "
            f"dashboard names); got {name!r}"
        )
    return name


def parse_dashboard_body(body: Any, option: str = "body") -> dict:
    """The dashboard body as a dict, from a dict or a JSON string.

    Raises DashboardValidationError naming ``option`` when the JSON is invalid or is not an object
    with a ``widgets`` list (the one member CloudWatch requires)."""
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError as e:
            raise DashboardValidationError(f"{option} is not valid JSON: {e}") from e
    else:
        parsed = body
    if not isinstance(parsed, dict):
        raise DashboardValidationError(
            f"{option} must be a JSON object (a dashboard body with 'widgets'); got {type(parsed).__name__}"
        )
    if not isinstance(parsed.get("widgets"), list):
        raise DashboardValidationError(
            f"{option} must have a 'widgets' list: CloudWatch refuses a dashboard body without one"
        )
    return normalize_body(parsed)


def normalize_body(body: Any) -> Any:
    """A canonical form of a dashboard body for comparison: keys sorted (dicts compare without
    order anyway), integral floats as ints (CloudWatch answers ``12.0`` back as ``12`` or the
    other way round depending on the client), everything else as JSON round-trips it."""
    if isinstance(body, dict):
        return {str(k): normalize_body(body[k]) for k in sorted(body, key=str)}
    if isinstance(body, (list, tuple)):
        return [normalize_body(v) for v in body]
    if isinstance(body, float) and body.is_integer():
        return int(body)
    return body


def serialize_body(body: dict) -> str:
    """The DashboardBody string sent to PutDashboard: compact JSON with sorted keys (stable)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def bodies_equal(current: Optional[dict], desired: dict) -> bool:
    """Whether the dashboard's current body (parsed, or None) equals the desired one as JSON."""
    return current is not None and normalize_body(current) == normalize_body(desired)


def dashboard_result(name: str, arn: Optional[str], body: Optional[dict]) -> dict:
    """The module's ``dashboard`` return value."""
    return {"name": name, "arn": arn, "body": body}


def validation_messages(source: dict) -> list:
    """DashboardValidationMessages (PutDashboard's answer or an InvalidParameterInput error),
    as [{data_path, message}]."""
    raw = source.get("DashboardValidationMessages") or source.get("dashboardValidationMessages") or []
    return [{"data_path": m.get("DataPath"), "message": m.get("Message")} for m in raw]


def describe_validation_messages(messages: list) -> str:
    """'path: message; path: message' for a failure or warning message."""
    return "; ".join(f"{m.get('data_path') or '(body)'}: {m.get('message')}" for m in messages)


# --------------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------------
@CloudWatchDashboardErrorHandler.list_error_handler("get CloudWatch dashboard (GetDashboard)")
def _get_dashboard(client, name: str) -> Optional[dict]:
    return client.get_dashboard(DashboardName=name, aws_retry=True)


def get_dashboard(client, name: str) -> Optional[dict]:
    """The dashboard as {name, arn, body (parsed)}, or None when no dashboard has this name.

    A stored body that is not JSON (which CloudWatch should never hold) is returned as the raw
    string, so it compares unequal and the module replaces it."""
    raw = _get_dashboard(client, name)
    if raw is None:
        return None
    body_text = raw.get("DashboardBody") or "{}"
    try:
        body = normalize_body(json.loads(body_text))
    except ValueError:
        body = body_text
    return dashboard_result(raw.get("DashboardName") or name, raw.get("DashboardArn"), body)


def put_dashboard(client, name: str, body: dict) -> list:
    """PutDashboard; returns its validation warnings as [{data_path, message}].

    A body CloudWatch refuses (InvalidParameterInput) raises DashboardValidationError carrying
    CloudWatch's DashboardValidationMessages; other failures raise CloudWatchError."""
    try:
        answer = client.put_dashboard(DashboardName=name, DashboardBody=serialize_body(body), aws_retry=True)
    except is_boto3_error_code("InvalidParameterInput") as e:
        messages = validation_messages(e.response) or validation_messages(e.response.get("Error", {}))
        detail = describe_validation_messages(messages) or e.response.get("Error", {}).get("Message", "")
        raise DashboardValidationError(f"CloudWatch refused the dashboard body (option body): {detail}") from e
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise CloudWatchError(message=f"Failed to put CloudWatch dashboard {name} (PutDashboard)", exception=e) from e
    return validation_messages(answer)


@CloudWatchDashboardErrorHandler.deletion_error_handler("delete CloudWatch dashboard (DeleteDashboards)")
def delete_dashboard(client, name: str) -> bool:
    """DeleteDashboards for one name; False when it was already gone."""
    client.delete_dashboards(DashboardNames=[name], aws_retry=True)
    return True


@CloudWatchDashboardErrorHandler.common_error_handler("list CloudWatch dashboards (ListDashboards)")
def list_dashboard_names(client, prefix: str = "") -> list:
    """Names of the dashboards whose name starts with ``prefix`` (paginated)."""
    params = {"DashboardNamePrefix": prefix} if prefix else {}
    paginator = client.get_paginator("list_dashboards")
    return [
        entry["DashboardName"]
        for page in paginator.paginate(**params)
        for entry in page.get("DashboardEntries", [])
    ]
