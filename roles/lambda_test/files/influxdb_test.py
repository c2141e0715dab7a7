"""The platform's connectivity test, run as <project>-<env>-influxdb-test in the private subnets with
the Lambda security group and the Lambda IAM role: what the platform's own functions will do.

Steps: read the Lambda token secret (boto3, the role's permissions), GET /health, write a probe point
with the token, read it back with Flux. The answer is a JSON report: each step's result and latency
and, on failure, the step that failed and its likely cause in the troubleshooting guide's terms.
The handler never raises for a failed step (the report is the result) and never reports the token.

Only the standard library (urllib) and boto3 (in every Lambda Python runtime) are used: nothing to
package beside this file, and the same file runs in the sandbox.

Environment: TOKEN_SECRET_ID (the secret's name or ARN), INFLUXDB_URL (optional: overrides the
secret's url), HTTP_TIMEOUT (seconds per InfluxDB request, default 5), PROBE_MEASUREMENT.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CAUSES = {
    "timeout": "timeout: the connection was never answered; check the security groups (the database "
    "security group must allow the InfluxDB port from the Lambda security group) and the subnet "
    "routing (the function must run in the instance's VPC, in its private subnets)",
    "refused": "connection refused: nothing listens on the endpoint's port; check the instance's "
    "status, endpoint and port",
    "auth": "token or permissions: InfluxDB refused the Lambda token (invalid, inactive or deleted, "
    "or without permission on the bucket); run the credential rotation",
    "secret_denied": "IAM policy: the Lambda role is not allowed to read the secret "
    "(secretsmanager:GetSecretValue on the secret, kms:Decrypt on its key)",
    "secret_missing": "the token secret does not exist: run the secrets role's tokens (credential rotation)",
    "secret_unreachable": "Secrets Manager is not reachable from the function: check the VPC endpoint "
    "for Secrets Manager (or the NAT gateway) and its security group",
}


class StepError(Exception):
    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail


def _http(method: str, url: str, token: str | None, timeout: float, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        content = exc.read()
        if exc.code in (401, 403):
            raise StepError("auth", f"HTTP {exc.code}: {_message(content)}") from None
        raise StepError("http", f"HTTP {exc.code}: {_message(content)}") from None
    except TimeoutError as exc:
        raise StepError("timeout", f"no answer within {timeout:g} s ({exc})") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise StepError("timeout", f"no answer within {timeout:g} s ({exc.reason})") from None
        if isinstance(exc.reason, ConnectionRefusedError):
            raise StepError("refused", str(exc.reason)) from None
        raise StepError("network", str(exc.reason)) from None
    except ConnectionError as exc:
        raise StepError("network", str(exc)) from None


def _message(content: bytes) -> str:
    try:
        return str(json.loads(content).get("message", ""))[:300]
    except (ValueError, AttributeError):
        return content.decode("utf-8", "replace")[:300]


def read_secret(secret_id: str) -> dict[str, Any]:
    client = boto3.client("secretsmanager", config=Config(connect_timeout=5, read_timeout=10,
                                                          retries={"max_attempts": 2}))
    try:
        value = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ("AccessDeniedException", "AccessDenied"):
            raise StepError("secret_denied", f"{code}: {message}") from None
        if code == "ResourceNotFoundException":
            raise StepError("secret_missing", f"{code}: {message}") from None
        raise StepError("secret", f"{code}: {message}") from None
    except BotoCoreError as exc:
        raise StepError("secret_unreachable", str(exc)) from None
    try:
        data = json.loads(value["SecretString"])
    except (KeyError, ValueError):
        raise StepError("secret", "the secret is not JSON") from None
    missing = [k for k in ("token", "org", "bucket") if not data.get(k)]
    if missing:
        raise StepError("secret", f"the secret lacks {', '.join(missing)}")
    return data


def run(secret_id: str, url_override: str, timeout: float, measurement: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    run_id = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{random.randrange(1 << 30):x}"
    value = random.randrange(1, 1 << 30)

    def secret() -> str:
        state["secret"] = read_secret(secret_id)
        state["url"] = (url_override or state["secret"].get("url", "")).rstrip("/")
        if not state["url"]:
            raise StepError("secret", "no InfluxDB URL: neither INFLUXDB_URL nor the secret's url")
        return f"read {secret_id}; InfluxDB at {state['url']}"

    def health() -> str:
        content = _http("GET", f"{state['url']}/health", None, timeout)[1]
        answer = json.loads(content or b"{}")
        if answer.get("status") != "pass":
            raise StepError("unhealthy", f"/health answered {answer.get('status')}: {answer.get('message', '')}")
        return f"/health: pass (version {answer.get('version', '?')})"

    def write() -> str:
        s = state["secret"]
        query = urllib.parse.urlencode({"org": s["org"], "bucket": s["bucket"], "precision": "s"})
        line = f"{measurement},run={run_id} ok={value}i {int(time.time())}"
        _http("POST", f"{state['url']}/api/v2/write?{query}", s["token"], timeout, line.encode(),
              {"Content-Type": "text/plain; charset=utf-8"})
        return f"wrote {measurement},run={run_id} to bucket {s['bucket']}"

    def read() -> str:
        s = state["secret"]
        flux = (f'from(bucket: "{s["bucket"]}") |> range(start: -1h) '
                f'|> filter(fn: (r) => r._measurement == "{measurement}" and r.run == "{run_id}" and r._field == "ok") '
                "|> last()")
        _status, content = _http("POST", f"{state['url']}/api/v2/query?{urllib.parse.urlencode({'org': s['org']})}",
                                 s["token"], timeout, json.dumps({"type": "flux", "query": flux}).encode(),
                                 {"Content-Type": "application/json", "Accept": "application/csv"})
        if f",{value}," not in content.decode("utf-8", "replace"):
            raise StepError("read_back", "the probe point was not found by the Flux query")
        return "read the probe point back (Flux)"

    for name, step in (("read_secret", secret), ("health", health), ("write", write), ("query", read)):
        started = time.monotonic()
        try:
            detail = step()
            steps.append({"step": name, "ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1),
                          "detail": detail})
        except StepError as exc:
            steps.append({"step": name, "ok": False, "latency_ms": round((time.monotonic() - started) * 1000, 1),
                          "detail": exc.detail})
            return {"ok": False, "failed_step": name, "cause": CAUSES.get(exc.cause, exc.detail),
                    "error": exc.detail, "steps": steps}
    return {"ok": True, "failed_step": None, "cause": None, "steps": steps}


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point; the event may name a secret_id to test instead of TOKEN_SECRET_ID."""
    event = event or {}
    report = run(
        event.get("secret_id") or os.environ["TOKEN_SECRET_ID"],
        os.environ.get("INFLUXDB_URL", ""),
        float(os.environ.get("HTTP_TIMEOUT", "5")),
        os.environ.get("PROBE_MEASUREMENT", "lambda_connectivity"),
    )
    print(json.dumps({k: report[k] for k in ("ok", "failed_step", "cause")}))
    return report
