"""The sandbox's front WSGI app: control endpoints under ``/_sandbox/``, the request log, fault
injection, our own Timestream for InfluxDB backend, and moto for everything else."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import urllib.parse
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from sandbox.aws import ec2_fixes
from sandbox.aws import kms_fixes
from sandbox.aws import secretsmanager_fixes
from sandbox.aws.faults import FaultError, FaultInjector, render, render_error
from sandbox.aws.lambda_exec import LambdaExecutor
from sandbox.aws.requestlog import RequestLog, classify
from sandbox.aws.timestream_influxdb import (
    TARGET_PREFIX,
    LifecycleConfig,
    TimestreamInfluxDBApp,
    TimestreamInfluxDBBackend,
    account_from_environ,
)
from sandbox.aws.timestream_liveanalytics import TARGET_PREFIX as LIVEANALYTICS_PREFIX
from sandbox.aws.timestream_liveanalytics import LiveAnalyticsApp

StartResponse = Callable[..., Any]


def _json_response(
    start_response: StartResponse, status: int, payload: Any
) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
    }.get(status, "OK")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@functools.cache
def _endpoints() -> tuple[frozenset[str], frozenset[str]]:
    """(every region of every partition, the global services) from botocore's endpoints.json."""
    import botocore

    path = os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")
    with open(path, encoding="utf-8") as fh:
        partitions = json.load(fh)["partitions"]
    regions = frozenset(r for partition in partitions for r in partition["regions"])
    global_services = frozenset(
        name
        for partition in partitions
        for name, service in partition["services"].items()
        if service.get("isRegionalized") is False
    )
    return regions, global_services


def region_exists(service: str, region: str) -> bool:
    """Whether AWS would answer ``service`` for ``region``: a known region, or a global service
    (IAM, Route 53, CloudFront...: one endpoint whatever region the client is given)."""
    regions, global_services = _endpoints()
    return region in regions or service in global_services or service == "unknown"


def unknown_region_error(info: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """AWS's answer to a request signed for a region that does not exist (a typo such as eu-west2).

    On AWS such a request never arrives (there is no endpoint ``<service>.eu-west2.amazonaws.com``);
    the sandbox has one endpoint for every region, so it answers as AWS answers a credential scoped to
    an invalid region: 403, ``InvalidSignatureException`` (JSON protocols) / ``SignatureDoesNotMatch``
    (query, EC2), or S3's 400 ``AuthorizationHeaderMalformed``, naming the region.
    """
    region = info.region
    if info.protocol == "rest-xml":
        return render_error(
            info,
            400,
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{region}' is wrong; "
            "expecting a valid region such as 'us-east-1'",
        )
    code = (
        "InvalidSignatureException"
        if info.protocol in ("json", "rest-json")
        else "SignatureDoesNotMatch"
    )
    return render_error(
        info, 403, code, f"Credential should be scoped to a valid region, not '{region}'."
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back for the app behind us."""
    if environ.get("CONTENT_LENGTH"):
        try:
            length = int(environ["CONTENT_LENGTH"])
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
    elif environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()  # chunked: the server ends the stream
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class SandboxApp:
    def __init__(self, delay: float = 1.0) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            create_backend_app,
        )

        ec2_fixes.apply()
        kms_fixes.apply()
        secretsmanager_fixes.apply()
        self.config = LifecycleConfig(delay)
        self.timestream = TimestreamInfluxDBBackend(self.config)
        self.timestream_app = TimestreamInfluxDBApp(self.timestream)
        self.liveanalytics = LiveAnalyticsApp()
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.log = RequestLog()
        self.faults = FaultInjector()
        self.server_info: dict[str, Any] = {"pid": os.getpid()}
        # Lambda functions run by the sandbox itself, their calls checked against their role.
        self.lambda_exec = LambdaExecutor(
            endpoint=lambda: f"http://{self.server_info.get('host', '127.0.0.1')}:{self.server_info.get('port')}"
        )
        self.lambda_exec.set_instances(self.timestream)

    # ------------------------------------------------------------------ WSGI
    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            return self._control(environ, start_response, path)
        body = _read_body(environ)
        info = classify(environ, body)
        if not region_exists(info.service, info.region):
            status, headers, payload = unknown_region_error(info)
            self.log.record(info, status)
            start_response(f"{status} {_reason(status)}", headers)
            return [payload]
        rule = self.faults.match(info)
        if rule is not None:
            status, headers, payload = render(rule, info)
            self.log.record(info, status, fault=rule["kind"])
            start_response(f"{status} {_reason(status)}", headers)
            return [payload]
        answer = self.lambda_exec.authorize(info, body)
        if answer is None and self.lambda_exec.handles(
            info, path, environ.get("REQUEST_METHOD", "").upper()
        ):
            answer = self.lambda_exec.invoke(
                environ, info, account_from_environ(environ), body
            )
            # Invoking runs code and changes no AWS resource: not a mutating call in the log.
            info = dataclasses.replace(info, mutating=False)
        if answer is not None:
            status, headers, payload = answer
            self.log.record(info, status)
            start_response(f"{status} {_reason(status)}", headers)
            return [payload]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(TARGET_PREFIX + "."):
            return self._timestream(environ, start_response, info, body, target)
        if target.startswith(LIVEANALYTICS_PREFIX + ".") and self.liveanalytics.handles(
            target.split(".", 1)[1], body
        ):
            return self._timestream(
                environ, start_response, info, body, target, self.liveanalytics
            )
        captured: dict[str, int] = {}

        def capturing_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        try:
            result = self.moto(environ, capturing_start_response)
            chunks = list(result)
            if hasattr(result, "close"):
                result.close()
        except Exception:
            self.log.record(info, 500)
            raise
        self.log.record(info, captured.get("status", 500))
        return chunks

    def _timestream(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        info: Any,
        body: bytes,
        target: str,
        backend: Any = None,
    ) -> list[bytes]:
        operation = target.split(".", 1)[1]
        if backend is None:
            status, payload = self.timestream_app.handle(
                operation, body, account_from_environ(environ), info.region
            )
        else:
            status, payload = backend.handle(
                operation,
                body,
                account_from_environ(environ),
                info.region,
                environ.get("HTTP_HOST", ""),
            )
        data = json.dumps(payload).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Content-Length", str(len(data))),
        ]
        if status >= 300:
            headers.append(("x-amzn-ErrorType", payload.get("__type", "")))
        self.log.record(info, status)
        start_response(f"{status} {_reason(status)}", headers)
        return [data]

    # ------------------------------------------------------------------ control
    def _control(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        name = path[len("/_sandbox/") :].strip("/")
        try:
            if name == "health" and method == "GET":
                return _json_response(
                    start_response, 200, {"status": "ok", **self.server_info}
                )
            if name == "requests":
                if method == "GET":
                    # ?access_key=K&since=N: only K's requests after seq N (a cheap poll)
                    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
                    return _json_response(start_response, 200, self.log.entries(
                        query.get("access_key", [None])[0], int(query.get("since", ["0"])[0])))
                if method == "DELETE":
                    self.log.reset()
                    return _json_response(start_response, 200, [])
            if name == "faults":
                # ?access_key=K: only the rules of K (concurrent tests share the sandbox)
                key = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("access_key", [None])[0]
                if method == "GET":
                    return _json_response(start_response, 200, self.faults.rules(key))
                if method == "PUT":
                    rules = json.loads(_read_body(environ) or b"[]")
                    if isinstance(rules, dict) and set(rules) == {"rules"}:
                        rules = rules["rules"]
                    return _json_response(
                        start_response, 200, self.faults.set_rules(rules, key)
                    )
                if method == "DELETE":
                    self.faults.clear(key)
                    return _json_response(start_response, 200, [])
            if name == "config":
                if method == "GET":
                    return _json_response(
                        start_response, 200, {"delay": self.config.delay}
                    )
                if method == "PUT":
                    cfg = json.loads(_read_body(environ) or b"{}")
                    if not isinstance(cfg, dict):
                        raise FaultError("config must be an object")
                    unknown = set(cfg) - {"delay"}
                    if unknown:
                        raise FaultError(f"unknown config keys: {sorted(unknown)}")
                    if "delay" in cfg:
                        delay = cfg["delay"]
                        if (
                            isinstance(delay, bool)
                            or not isinstance(delay, (int, float))
                            or delay < 0
                        ):
                            raise FaultError("delay must be a number >= 0")
                        self.config.delay = delay
                    return _json_response(
                        start_response, 200, {"delay": self.config.delay}
                    )
            if name in ("health", "requests", "faults", "config"):
                return _json_response(
                    start_response, 405, {"error": f"{method} not allowed on {path}"}
                )
            return _json_response(
                start_response, 404, {"error": f"no control endpoint {path}"}
            )
        except (ValueError, FaultError) as e:
            return _json_response(start_response, 400, {"error": str(e)})
