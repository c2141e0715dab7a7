"""Lambda execution without Docker: the sandbox runs a Python function's handler itself.

moto keeps the functions (CreateFunction, GetFunction, ...); its Invoke needs Docker, absent here.
The front (app.py) hands ``POST /<version>/functions/<name>/invocations`` to ``LambdaExecutor``:

* the deployed zip is extracted to a temporary directory and the handler runs in a separate
  process (the sandbox's Python: the Python runtimes the project uses, with boto3 as Lambda's
  runtime has it), with the function's environment variables, the Lambda runtime's variables, the
  event as JSON on stdin, and the function's timeout enforced (the process is killed);
* the answer is Invoke's: 200 with the result, or with ``X-Amz-Function-Error: Unhandled`` and
  ``{errorMessage, errorType, stackTrace}``; a timeout is ``Sandbox.Timedout``;
* the function's output goes to its log group ``/aws/lambda/<name>`` (moto's CloudWatch Logs)
  between START/END/REPORT lines, when the role may write there (as on AWS, Lambda writes with
  the execution role's permissions) and the group exists;
* the process gets credentials of its own (an ``ASIA...`` key the front recognises): every call
  made with them is checked against the execution role's identity policies (iam_eval.py) and
  refused with AccessDenied in the service's protocol when they do not allow it;
* instance endpoints are reached through a relay per (function, instance): the runtime's socket
  ``connect`` to an instance's endpoint goes to the relay, which at connect time evaluates what AWS
  would (the function's subnets in the instance's VPC, the function's security groups' egress to the
  instance, the instance's security groups' ingress from the function on the port) and either pipes
  to the InfluxDB server or accepts and never answers: the client waits until its own timeout, as
  packets dropped by a security group do on AWS.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import os
import re
import secrets
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from sandbox.aws import iam_eval
from sandbox.aws.requestlog import RequestInfo

INVOKE_PATH = re.compile(r"^/(?P<version>[^/]+)/functions/(?P<name>[^/]+)/invocations/?$")

# The runtime's bootstrap, run as ``python -c RUNTIME`` in the package's directory.
RUNTIME = r'''
import importlib, json, os, socket, sys, time, traceback
envelope = json.loads(sys.stdin.read())
result_path = envelope["result_path"]
routes = {tuple(k.rsplit(":", 1)): tuple(v.rsplit(":", 1)) for k, v in envelope["routes"].items()}
routes = {(h, int(p)): (rh, int(rp)) for (h, p), (rh, rp) in routes.items()}
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
def _route(address):
    if isinstance(address, tuple) and len(address) >= 2:
        target = routes.get((address[0], int(address[1])))
        if target is not None:
            return target
    return address
socket.socket.connect = lambda self, address: _connect(self, _route(address))
socket.socket.connect_ex = lambda self, address: _connect_ex(self, _route(address))
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
deadline = envelope["deadline"]
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    invoked_function_arn = envelope["function_arn"]
    aws_request_id = envelope["request_id"]
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.time()) * 1000))
try:
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), function_name)
    answer = {"result": json.dumps(handler(envelope["event"], Context()))}
except Exception as exc:
    traceback.print_exc()
    answer = {"error": {"errorMessage": str(exc), "errorType": type(exc).__name__,
                        "stackTrace": traceback.format_tb(exc.__traceback__)}}
with open(result_path, "w") as f:
    json.dump(answer, f)
'''


@dataclass
class Session:
    """Credentials handed to one invocation: they act as the function's execution role."""

    account: str
    region: str
    role_arn: str
    function_name: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def principal(self) -> str:
        partition = self.role_arn.split(":")[1]
        return f"arn:{partition}:sts::{self.account}:assumed-role/{self.role_name}/{self.function_name}"


def _rule_ports(rule: Any, port: int) -> bool:
    protocol = str(rule.ip_protocol or "").lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(rule.from_port) <= port <= int(rule.to_port)


def _cidr_covers(rule: Any, networks: list[ipaddress.IPv4Network]) -> bool:
    cidr = (rule.ip_range or {}).get("CidrIp")
    if not cidr:
        return False
    allowed = ipaddress.ip_network(cidr, strict=False)
    return bool(networks) and all(n.subnet_of(allowed) for n in networks)  # type: ignore[arg-type]


def _group_of(rule: Any) -> str:
    return (rule.source_group or {}).get("GroupId", "")


def reachability(ec2: Any, function_vpc: dict[str, Any] | None, instance: dict[str, Any]) -> str | None:
    """None when AWS would deliver a TCP connection from the function to the instance's port,
    else why it would drop it. ``ec2`` is moto's EC2 backend of the account and region."""
    port = int(instance["port"])
    subnet_ids = list((function_vpc or {}).get("SubnetIds") or [])
    group_ids = list((function_vpc or {}).get("SecurityGroupIds") or [])
    if not subnet_ids:
        return "the function is not attached to a VPC: it cannot reach the instance's private endpoint"
    try:
        fn_subnets = [ec2.get_subnet(s) for s in subnet_ids]
        db_subnets = [ec2.get_subnet(s) for s in instance.get("vpcSubnetIds") or []]
    except Exception as e:  # noqa: BLE001 - a subnet deleted since
        return f"a subnet no longer exists ({e})"
    fn_vpcs = {s.vpc_id for s in fn_subnets}
    db_vpcs = {s.vpc_id for s in db_subnets}
    if not fn_vpcs & db_vpcs:
        return (f"the function's subnets are in {', '.join(sorted(fn_vpcs))}, the instance's in "
                f"{', '.join(sorted(db_vpcs))}: no route")
    fn_networks = [ipaddress.ip_network(s.cidr_block) for s in fn_subnets]
    db_networks = [ipaddress.ip_network(s.cidr_block) for s in db_subnets]
    fn_groups = [g for g in (ec2.get_security_group_from_id(i) for i in group_ids) if g is not None]
    db_group_ids = list(instance.get("vpcSecurityGroupIds") or [])
    db_groups = [g for g in (ec2.get_security_group_from_id(i) for i in db_group_ids) if g is not None]
    egress = any(
        _rule_ports(r, port) and (_group_of(r) in db_group_ids or _cidr_covers(r, db_networks))
        for g in fn_groups for r in g.egress_rules
    )
    if not egress:
        return (f"no egress rule of the function's security groups ({', '.join(group_ids)}) allows "
                f"tcp {port} to the instance")
    ingress = any(
        _rule_ports(r, port) and (_group_of(r) in group_ids or _cidr_covers(r, fn_networks))
        for g in db_groups for r in g.ingress_rules
    )
    if not ingress:
        return (f"no ingress rule of the instance's security groups ({', '.join(db_group_ids)}) allows "
                f"tcp {port} from the function's security groups ({', '.join(group_ids)}) or subnets")
    return None


class Relay:
    """A TCP listener on 127.0.0.1 standing between one function and one instance."""

    def __init__(self, executor: LambdaExecutor, account: str, region: str, function: str,
                 instance_arn: str) -> None:
        self.executor = executor
        self.account, self.region, self.function, self.instance_arn = account, region, function, instance_arn
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self.dropped: list[str] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name=f"lambda-relay-{function}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        verdict, target = self.executor.verdict(self.account, self.region, self.function, self.instance_arn)
        if verdict is not None or target is None:
            # AWS drops the packets: the client sees nothing until its own timeout.
            self.dropped.append(verdict or "the instance has no endpoint")
            self._hold(client)
            return
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError:
            client.close()  # the server is down: refused, as a closed port answers
            return
        self._pipe(client, upstream)

    def _hold(self, client: socket.socket) -> None:
        """Read and discard until the client gives up (closes) or the relay closes; answer nothing."""
        try:
            while not self._closed.is_set():
                if select.select([client], [], [], 0.5)[0] and not client.recv(65536):
                    return
        except OSError:
            return
        finally:
            client.close()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        try:
            while not self._closed.is_set():
                readable, _, _ = select.select(sockets, [], [], 0.5)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def close(self) -> None:
        self._closed.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.listener.close()


class LambdaExecutor:
    def __init__(self, endpoint: Any = None) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._relays: dict[tuple[str, str, str, str], Relay] = {}
        self.endpoint = endpoint  # callable returning the front's URL, set by the server

    # ------------------------------------------------------------------ Invoke
    @staticmethod
    def handles(info: RequestInfo, path: str, method: str) -> bool:
        return info.service == "lambda" and method == "POST" and bool(INVOKE_PATH.match(path))

    def invoke(self, environ: dict[str, Any], info: RequestInfo, account: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        from urllib.parse import parse_qs, unquote

        from moto.backends import get_backend

        name = unquote(INVOKE_PATH.match(environ.get("PATH_INFO", ""))["name"])  # type: ignore[index]
        qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
        try:
            fn = get_backend("lambda")[account][info.region].get_function(name, qualifier)
        except Exception:  # noqa: BLE001 - moto raises its own not-found
            return _error(404, "ResourceNotFoundException",
                          f"Function not found: arn:aws:lambda:{info.region}:{account}:function:{name}")
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        if invocation_type == "DryRun":
            return 204, [("Content-Length", "0")], b""
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
        if invocation_type == "Event":
            threading.Thread(target=self.run, args=(fn, account, info.region, event), daemon=True).start()
            return 202, [("Content-Length", "0")], b""
        payload, error, logs = self.run(fn, account, info.region, event)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            headers.append(("X-Amz-Log-Result", base64.b64encode(logs.encode()[-4096:]).decode()))
        headers.append(("Content-Length", str(len(payload))))
        return 200, headers, payload

    def run(self, fn: Any, account: str, region: str, event: Any) -> tuple[bytes, bool, str]:
        """Run the handler once: (payload, whether it is an error, the log text)."""
        request_id = str(uuid.uuid4())
        access_key = "ASIA" + secrets.token_hex(8).upper()
        session = Session(account, region, fn.role, fn.function_name)
        with self._lock:
            self._sessions[access_key] = session
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
        started = time.time()
        try:
            with tempfile.TemporaryDirectory(prefix="sandbox-lambda-") as tmp:
                task_root = os.path.join(tmp, "task")
                with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as package:
                    package.extractall(task_root)
                result_path = os.path.join(tmp, "result.json")
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "LANG": "en_US.UTF-8",
                    "TZ": ":UTC",
                    "LAMBDA_TASK_ROOT": task_root,
                    "_HANDLER": fn.handler,
                    "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
                    "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
                    "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                    "AWS_REGION": region,
                    "AWS_DEFAULT_REGION": region,
                    "AWS_ACCESS_KEY_ID": access_key,
                    "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
                    "AWS_SESSION_TOKEN": secrets.token_hex(32),
                    # the one difference from AWS: the SDK's endpoint is the sandbox
                    "AWS_ENDPOINT_URL": self.endpoint() if callable(self.endpoint) else "",
                    **{k: str(v) for k, v in (fn.environment_vars or {}).items()},
                }
                envelope = {
                    "event": event,
                    "result_path": result_path,
                    "deadline": started + float(fn.timeout),
                    "function_arn": fn.function_arn,
                    "request_id": request_id,
                    "routes": self._routes(account, region, fn),
                }
                proc = subprocess.Popen(
                    [sys.executable, "-c", RUNTIME], cwd=task_root, env=env,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                )
                try:
                    output, _ = proc.communicate(json.dumps(envelope).encode(), timeout=float(fn.timeout))
                    timed_out = False
                except subprocess.TimeoutExpired:
                    proc.kill()
                    output, _ = proc.communicate()
                    timed_out = True
                elapsed = time.time() - started
                if timed_out:
                    answer: dict[str, Any] = {"error": {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {float(fn.timeout):.2f} seconds",
                    }}
                elif os.path.exists(result_path):
                    with open(result_path) as f:
                        answer = json.load(f)
                else:
                    answer = {"error": {"errorType": "Runtime.ExitError",
                                        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {proc.returncode}"}}
        finally:
            with self._lock:
                self._sessions.pop(access_key, None)
        text = output.decode("utf-8", "replace")
        lines = [f"START RequestId: {request_id} Version: $LATEST"]
        lines += text.splitlines()
        if timed_out:
            lines.append(answer["error"]["errorMessage"])
        lines.append(f"END RequestId: {request_id}")
        lines.append(f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\t"
                     f"Memory Size: {fn.memory_size} MB")
        self._write_logs(session, stream, lines)
        log_text = "\n".join(lines) + "\n"
        if "error" in answer:
            return json.dumps(answer["error"]).encode(), True, log_text
        return answer["result"].encode(), False, log_text

    def _write_logs(self, session: Session, stream: str, lines: list[str]) -> None:
        """As Lambda does, with the role's permissions, into an existing log group."""
        from moto.backends import get_backend

        group = f"/aws/lambda/{session.function_name}"
        partition = session.role_arn.split(":")[1]
        arn = f"arn:{partition}:logs:{session.region}:{session.account}:log-group:{group}:log-stream:{stream}"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            if iam_eval.role_allows(session.account, session.role_name, action, arn) != iam_eval.ALLOWED:
                return
        logs = get_backend("logs")[session.account][session.region]
        if group not in logs.groups:
            return
        now = int(time.time() * 1000)
        logs.create_log_stream(group, stream)
        logs.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])

    # ------------------------------------------------------------------ credentials and IAM
    def session(self, access_key: str) -> Session | None:
        with self._lock:
            return self._sessions.get(access_key)

    def authorize(self, info: RequestInfo, body: bytes) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """None when the function's role allows the request, else AWS's AccessDenied answer."""
        session = self.session(info.access_key)
        if session is None:
            return None
        prefix = {"monitoring": "cloudwatch", "email": "ses"}.get(info.service, info.service)
        action = f"{prefix}:{info.operation}"
        if action in ("sts:GetCallerIdentity",):
            return None  # needs no permission on AWS
        checks = self._resources(session, info, body)
        for check_action, resource in [(action, checks[0])] + checks[1:]:
            decision = iam_eval.role_allows(session.account, session.role_name, check_action, resource)
            if decision != iam_eval.ALLOWED:
                reason = ("with an explicit deny in an identity-based policy" if decision == iam_eval.EXPLICIT_DENY
                          else f"because no identity-based policy allows the {check_action} action")
                message = (f"User: {session.principal} is not authorized to perform: {check_action} "
                           f"on resource: {resource} {reason}")
                return _access_denied(info, message)
        return None

    def _resources(self, session: Session, info: RequestInfo, body: bytes) -> list[Any]:
        """The resource of the action, then (action, resource) pairs AWS also checks (kms:Decrypt
        on the customer managed key of a secret read)."""
        from moto.backends import get_backend

        partition = session.role_arn.split(":")[1]
        try:
            params = json.loads(body or b"{}") if info.protocol == "json" else {}
        except ValueError:
            params = {}
        if info.service == "secretsmanager" and params.get("SecretId"):
            secret_id = params["SecretId"]
            backend = get_backend("secretsmanager")[session.account][session.region]
            # SecretsStore finds names and ARNs through [] and "in", not through dict.get
            secret = backend.secrets[secret_id] if secret_id in backend.secrets else None  # noqa: SIM401
            if secret is None:
                arn = secret_id if secret_id.startswith("arn:") else (
                    f"arn:{partition}:secretsmanager:{session.region}:{session.account}:secret:{secret_id}")
                return [arn]
            extra: list[Any] = []
            key = getattr(secret, "kms_key_id", None)
            if info.operation == "GetSecretValue" and key and not str(key).startswith("alias/aws/"):
                extra.append(("kms:Decrypt", self._key_arn(session, str(key))))
            return [secret.arn, *extra]
        if info.service == "logs" and params.get("logGroupName"):
            arn = f"arn:{partition}:logs:{session.region}:{session.account}:log-group:{params['logGroupName']}"
            if params.get("logStreamName"):
                arn += f":log-stream:{params['logStreamName']}"
            return [arn]
        if info.service == "kms" and params.get("KeyId"):
            return [self._key_arn(session, params["KeyId"])]
        return ["*"]

    @staticmethod
    def _key_arn(session: Session, key: str) -> str:
        from moto.backends import get_backend

        if key.startswith("arn:") and ":key/" in key:
            return key
        try:
            kms = get_backend("kms")[session.account][session.region]
            return kms.describe_key(key).arn
        except Exception:  # noqa: BLE001 - an unknown key: named as given
            return key

    # ------------------------------------------------------------------ network
    def set_instances(self, backend: Any) -> None:
        """Where the instances are: the sandbox's Timestream for InfluxDB backend."""
        self._backend = backend

    def _instances(self, account: str, region: str) -> list[dict[str, Any]]:
        backend = getattr(self, "_backend", None)
        if backend is None:
            return []
        with backend._lock:
            return [dict(r.data) for r in backend._resources.values()
                    if r.kind == "db-instance" and r.account == account and r.region == region]

    def _routes(self, account: str, region: str, fn: Any) -> dict[str, str]:
        routes: dict[str, str] = {}
        for instance in self._instances(account, region):
            if not instance.get("endpoint") or not instance.get("port"):
                continue
            key = (account, region, fn.function_name, instance["arn"])
            with self._lock:
                relay = self._relays.get(key)
                if relay is None:
                    relay = self._relays[key] = Relay(self, account, region, fn.function_name, instance["arn"])
            routes[f"{instance['endpoint']}:{int(instance['port'])}"] = f"{relay.address[0]}:{relay.address[1]}"
        return routes

    def verdict(self, account: str, region: str, function: str, instance_arn: str) -> tuple[str | None, tuple[str, int] | None]:
        """At connect time: (why AWS would drop it or None, the server's address)."""
        from moto.backends import get_backend

        instance = next((i for i in self._instances(account, region) if i["arn"] == instance_arn), None)
        if instance is None or not instance.get("endpoint"):
            return "the instance no longer exists", None
        try:
            fn = get_backend("lambda")[account][region].get_function(function)
        except Exception:  # noqa: BLE001
            return "the function no longer exists", None
        ec2 = get_backend("ec2")[account][region]
        return reachability(ec2, fn._vpc_config, instance), (instance["endpoint"], int(instance["port"]))

    def dropped(self) -> dict[str, list[str]]:
        """Per function, why its connections were dropped (for tests and the request log)."""
        with self._lock:
            relays = list(self._relays.items())
        out: dict[str, list[str]] = {}
        for (_, _, function, _), relay in relays:
            out.setdefault(function, []).extend(relay.dropped)
        return out

    def close(self) -> None:
        with self._lock:
            relays, self._relays = list(self._relays.values()), {}
        for relay in relays:
            relay.close()


def _error(status: int, code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"Type": "User", "Message": message}).encode()
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                    ("x-amzn-RequestId", str(uuid.uuid4())), ("Content-Length", str(len(body)))], body


def _access_denied(info: RequestInfo, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """AccessDenied in the request's protocol."""
    request_id = str(uuid.uuid4())
    if info.protocol in ("json", "rest-json"):
        body = json.dumps({"__type": "AccessDeniedException", "Message": message}).encode()
        content_type = "application/x-amz-json-1.1" if info.protocol == "json" else "application/json"
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", "AccessDeniedException"),
                   ("x-amzn-RequestId", request_id)]
        status = 400 if info.protocol == "json" else 403
    elif info.protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code>'
                f"<Message>{_xml(message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        headers, status = [("Content-Type", "text/xml;charset=UTF-8")], 403
    elif info.protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>{_xml(message)}</Message>'
                f"<RequestId>{request_id}</RequestId></Error>").encode()
        headers, status = [("Content-Type", "application/xml")], 403
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{_xml(message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        headers, status = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], 403
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["LambdaExecutor", "Relay", "Session", "reachability"]
