"""Talk to a running AWS sandbox: its control endpoints and boto3 clients pointed at it.

control = SandboxControl("http://127.0.0.1:4566")
control.reset_requests()
...
assert control.mutating_requests("ec2") == []
ec2 = boto3_client(endpoint, "ec2")
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def sandbox_env(endpoint: str) -> dict[str, str]:
    """Environment variables that point AWS SDKs, the AWS CLI and amazon.aws modules at the sandbox."""
    return {
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


def boto3_client(
    endpoint: str,
    service: str,
    region: str = REGION,
    access_key: str | None = None,
    **kwargs: Any,
) -> Any:
    """A boto3 client for ``service`` against the sandbox, with dummy credentials.

    ``access_key``: a distinct access key id (same account) whose requests can then be told apart
    in the request log and targeted by fault rules, when several tests share one sandbox.
    """
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key or CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        **kwargs,
    )


def _scoped(name: str, access_key: str | None) -> str:
    return name if access_key is None else f"{name}?{urllib.parse.urlencode({'access_key': access_key})}"


class SandboxControlError(RuntimeError):
    pass


class SandboxControl:
    """The sandbox's ``/_sandbox/`` control endpoints."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, name: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"{self.endpoint}/_sandbox/{name}", data=data, method=method
        )
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise SandboxControlError(
                f"{method} /_sandbox/{name}: {e.code} {e.read().decode(errors='replace')}"
            ) from e

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def requests(self, access_key: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Every AWS request since the last reset (only those signed with ``access_key``, only those after
        seq ``since``, if given): {seq, time, service, operation, mutating, status, region, access_key[, fault]}."""
        query = {k: v for k, v in (("access_key", access_key), ("since", since)) if v}
        entries = self._call("GET", f"requests?{urllib.parse.urlencode(query)}" if query else "requests")
        return [
            e
            for e in entries
            if access_key is None or e.get("access_key") == access_key
        ]

    def reset_requests(self) -> None:
        self._call("DELETE", "requests")

    def mutating_requests(
        self, service: str | None = None, access_key: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests(access_key)
            if r["mutating"] and (service is None or r["service"] == service)
        ]

    def set_faults(self, rules: list[dict[str, Any]], access_key: str | None = None) -> list[dict[str, Any]]:
        """Replace the fault rules: [{service ("*": all), operation?, kind: throttle|server_error, rate?, count?,
        status?, access_key?}]; with ``access_key``, only that key's rules (others' are kept)."""
        return self._call("PUT", _scoped("faults", access_key), rules)

    def faults(self, access_key: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", _scoped("faults", access_key))

    def clear_faults(self, access_key: str | None = None) -> None:
        """Remove every fault rule (only ``access_key``'s when given)."""
        self._call("DELETE", _scoped("faults", access_key))

    def set_delay(self, seconds: float) -> None:
        """Seconds each Timestream for InfluxDB lifecycle transition takes."""
        self._call("PUT", "config", {"delay": seconds})

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")


def wait_for(
    predicate: Any,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll ``predicate()`` until it returns a truthy value (returned) or ``timeout`` seconds pass."""
    import time

    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what}; last value: {last!r}"
            )
        time.sleep(interval)


def wait_for_db_instance(
    client: Any, identifier: str, status: str = "AVAILABLE", timeout: float = 30.0
) -> Any:
    """Wait until GetDbInstance reports ``status`` (or, for status "DELETED", until it is gone)."""

    def check() -> Any:
        try:
            inst = client.get_db_instance(identifier=identifier)
        except client.exceptions.ResourceNotFoundException:
            return {"status": "DELETED"} if status == "DELETED" else None
        return inst if inst["status"] == status else None

    return wait_for(check, timeout, what=f"DB instance {identifier} to be {status}")


def write_liveanalytics_records(
    write: Any,
    database: str,
    table: str,
    records: list[dict[str, Any]],
    common: dict[str, Any] | None = None,
) -> int:
    """Write ``records`` into a Timestream for LiveAnalytics table through ``write`` (a boto3
    timestream-write client), 100 per WriteRecords call as the API requires; returns how many
    were ingested. A rejected record raises the ClientError (RejectedRecordsException) as is."""
    total = 0
    for start in range(0, len(records), 100):
        params: dict[str, Any] = {
            "DatabaseName": database,
            "TableName": table,
            "Records": records[start : start + 100],
        }
        if common:
            params["CommonAttributes"] = common
        total += write.write_records(**params)["RecordsIngested"]["Total"]
    return total


def query_all_rows(
    query: Any, query_string: str, max_rows: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every row of a Timestream query through ``query`` (a boto3 timestream-query client),
    following NextToken: (ColumnInfo, Rows)."""
    params: dict[str, Any] = {"QueryString": query_string}
    if max_rows is not None:
        params["MaxRows"] = max_rows
    rows: list[dict[str, Any]] = []
    columns: list[dict[str, Any]] = []
    while True:
        page = query.query(**params)
        columns = page["ColumnInfo"]
        rows.extend(page["Rows"])
        if not page.get("NextToken"):
            return columns, rows
        params["NextToken"] = page["NextToken"]
