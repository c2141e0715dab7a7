"""What the sandbox was asked: one entry per AWS request (service, operation, mutating, status).

Tests use it to prove idempotence ("the second run made no mutating call") and retries.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

# Operation-name prefixes of calls that only read.
READ_ONLY_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Head",
    "BatchGet",
    "Search",
    "Lookup",
    "Query",
    "Scan",
    "Select",
    "Filter",
    "Check",
    "Validate",
    "Estimate",
    "Preview",
    "Simulate",
    "Test",
)
# Operations that change no resource: cryptography and temporary credentials.
READ_ONLY_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateRandom",
        "GenerateMac",
        "VerifyMac",
        "Sign",
        "Verify",
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
    }
)
READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}
_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")


@dataclass(frozen=True)
class RequestInfo:
    service: str
    operation: str
    mutating: bool
    protocol: str  # "json" | "query" | "ec2" | "rest-json" | "rest-xml"
    region: str
    access_key: str = ""


def is_mutating(operation: str, method: str) -> bool:
    if " " in operation:  # REST: "METHOD /path"
        return method.upper() not in READ_ONLY_METHODS
    return operation not in READ_ONLY_OPERATIONS and not operation.startswith(
        READ_ONLY_PREFIXES
    )


def service_and_region(environ: dict[str, Any]) -> tuple[str, str, str]:
    """(service, region, access key id) from the SigV4 credential scope."""
    m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group(3).lower(), m.group(2), m.group(1)
    return "unknown", "us-east-1", ""


def classify(environ: dict[str, Any], body: bytes) -> RequestInfo:
    """Work out service and operation from the request, the way the AWS protocols carry them."""
    service, region, key = service_and_region(environ)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        if service == "unknown":
            service = target.split(".", 1)[0].split("_", 1)[0].lower()
        operation = target.rsplit(".", 1)[-1]
        return RequestInfo(
            service, operation, is_mutating(operation, method), "json", region, key
        )
    action = None
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        action = query["Action"][0]
    elif (
        environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
        and body
    ):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            action = form["Action"][0]
    if action:
        protocol = "ec2" if service == "ec2" else "query"
        return RequestInfo(
            service, action, is_mutating(action, method), protocol, region, key
        )
    path = environ.get("PATH_INFO", "/") or "/"
    operation = f"{method} {path}"
    protocol = "rest-xml" if service in ("s3", "cloudfront", "route53") else "rest-json"
    return RequestInfo(
        service, operation, is_mutating(operation, method), protocol, region, key
    )


class RequestLog:
    def __init__(self, limit: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._seq = 0
        self._limit = limit

    def record(self, info: RequestInfo, status: int, fault: str | None = None) -> None:
        with self._lock:
            self._seq += 1
            entry = {
                "seq": self._seq,
                "time": time.time(),
                "service": info.service,
                "operation": info.operation,
                "mutating": info.mutating,
                "status": status,
                "region": info.region,
                "access_key": info.access_key,
            }
            if fault:
                entry["fault"] = fault
            self._entries.append(entry)
            if len(self._entries) > self._limit:
                del self._entries[: len(self._entries) - self._limit]

    def entries(self, access_key: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """The entries (only those signed with ``access_key``, only those after seq ``since``, if given)."""
        with self._lock:
            return [dict(e) for e in self._entries
                    if e["seq"] > since and (access_key is None or e["access_key"] == access_key)]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()


__all__ = ["RequestInfo", "RequestLog", "classify", "is_mutating"]
