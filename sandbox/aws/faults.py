"""Fault injection: answer matching requests with throttling or a server error, in the shape of the
request's own protocol, so botocore's retry logic sees what AWS would send.

Rules: ``{"service": "ec2" ("*": every service), "operation": "DescribeVpcs" (optional), "kind": "throttle" |
"server_error", "rate": 0..1 (default 1), "count": max injections (optional), "status": 500 | 503
(server_error only, default 500), "access_key": only requests signed with this access key id
(optional: lets concurrent tests share one sandbox)}``.

Scoped by access key (``PUT/GET/DELETE /_sandbox/faults?access_key=K``): set, list or clear only the
rules of K (a rule without ``access_key`` gets K), leaving other tests' rules alone.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from typing import Any

from sandbox.aws.requestlog import RequestInfo

KINDS = ("throttle", "server_error")

# Throttling status where a JSON-protocol service's own API reference gives one other than 400:
# Timestream for InfluxDB's ThrottlingException is HTTP 429 (its Smithy model's httpError and API
# reference). The others keep the 400 their references give.
THROTTLE_STATUS = {"timestream-influxdb": 429}


class FaultError(ValueError):
    pass


def _validate_rule(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise FaultError("each rule must be an object")
    unknown = set(rule) - {
        "service",
        "operation",
        "kind",
        "rate",
        "count",
        "status",
        "access_key",
    }
    if unknown:
        raise FaultError(f"unknown rule keys: {sorted(unknown)}")
    if not isinstance(rule.get("service"), str) or not rule["service"]:
        raise FaultError("rule.service is required")
    if rule.get("kind") not in KINDS:
        raise FaultError(f"rule.kind must be one of {KINDS}")
    rate = rule.get("rate", 1.0)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not 0 <= rate <= 1
    ):
        raise FaultError("rule.rate must be a number in [0, 1]")
    count = rule.get("count")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or count < 0
    ):
        raise FaultError("rule.count must be a non-negative integer")
    status = rule.get("status", 500)
    if rule["kind"] == "server_error" and status not in (500, 503):
        raise FaultError("rule.status must be 500 or 503")
    op = rule.get("operation")
    if op is not None and not isinstance(op, str):
        raise FaultError("rule.operation must be a string")
    key = rule.get("access_key")
    if key is not None and not isinstance(key, str):
        raise FaultError("rule.access_key must be a string")
    out = {
        "service": rule["service"].lower(),
        "operation": op,
        "access_key": key,
        "kind": rule["kind"],
        "rate": float(rate),
        "count": count,
        "injected": 0,
    }
    if rule["kind"] == "server_error":
        out["status"] = status
    return out


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[dict[str, Any]] = []
        self._random = random.Random(seed)

    def set_rules(self, rules: Any, access_key: str | None = None) -> list[dict[str, Any]]:
        """Replace the rules (only those of ``access_key`` when given); returns the rules now in force
        (those of ``access_key`` when given)."""
        if not isinstance(rules, list):
            raise FaultError("rules must be a list")
        if access_key is not None:
            rules = [{**r, "access_key": r.get("access_key", access_key)} if isinstance(r, dict) else r for r in rules]
        validated = [_validate_rule(r) for r in rules]
        if access_key is not None and any(r["access_key"] != access_key for r in validated):
            raise FaultError(f"every rule set for access_key {access_key} must carry that access_key")
        with self._lock:
            kept = [] if access_key is None else [r for r in self._rules if r["access_key"] != access_key]
            self._rules = kept + validated
        return self.rules(access_key)

    def rules(self, access_key: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._rules if access_key is None or r["access_key"] == access_key]

    def clear(self, access_key: str | None = None) -> None:
        with self._lock:
            self._rules = [] if access_key is None else [r for r in self._rules if r["access_key"] != access_key]

    def match(self, info: RequestInfo) -> dict[str, Any] | None:
        """The rule to apply to this request (its injection counted), or None."""
        with self._lock:
            for rule in self._rules:
                if rule["service"] not in ("*", info.service):
                    continue
                if rule["operation"] not in (None, info.operation):
                    continue
                if rule["access_key"] not in (None, info.access_key):
                    continue
                if rule["count"] is not None and rule["injected"] >= rule["count"]:
                    continue
                if rule["rate"] < 1 and self._random.random() >= rule["rate"]:
                    continue
                rule["injected"] += 1
                return dict(rule)
        return None


def render(
    rule: dict[str, Any], info: RequestInfo
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the injected error in the request's protocol."""
    request_id = str(uuid.uuid4())
    if rule["kind"] == "throttle":
        status = 400
        if info.protocol == "ec2":
            code = "RequestLimitExceeded"
        elif info.protocol in ("json", "rest-json"):
            code = "ThrottlingException"
            status = THROTTLE_STATUS.get(info.service, 400)
        elif info.protocol == "rest-xml":
            code, status = "SlowDown", 503
        else:
            code = "Throttling"
        message = "Rate exceeded"
    else:
        status = rule.get("status", 500)
        code = "InternalFailure" if status == 500 else "ServiceUnavailable"
        message = (
            "The request processing has failed because of an unknown error, exception or failure."
            if status == 500
            else "The service is unavailable. Please try again later."
        )
    return render_error(info, status, code, message, request_id)


def render_error(
    info: RequestInfo, status: int, code: str, message: str, request_id: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of an AWS error ``code`` in the request's own protocol."""
    request_id = request_id or str(uuid.uuid4())
    if info.protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            (
                "Content-Type",
                "application/x-amz-json-1.0"
                if info.protocol == "json"
                else "application/json",
            ),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    elif info.protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml;charset=UTF-8")]
    elif info.protocol == "rest-xml":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [
            ("Content-Type", "application/xml"),
            ("x-amz-request-id", request_id),
        ]
    else:
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body
