"""Test helpers for the sandbox InfluxDB v2 server.

Start a server in a test::

    from tests.sandbox.influx_server import influx  # noqa: F401  (a pytest fixture)

    def test_something(influx):
        client = influx.client()               # influxdb_client.InfluxDBClient, operator token
        influx.url, influx.token, influx.org, influx.org_id, influx.bucket, influx.bucket_id
        influx.username, influx.password       # sign in with these (client(username=..., password=...))

or, outside pytest fixtures, ``with running_influx(tmp_path) as influx: ...``.

Every exchange the server makes while the fixture runs is validated against the official
contract (``oss.yml``, ``v1-compat.yml`` for ``/write``); any drift fails the test at teardown.
The validator is built once per process (the spec is a 650 KB YAML).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox.influxdb.server import API, InfluxServer, Request, Response
from sandbox.influxdb.tls import TLSFiles, ensure_tls

SPEC_DIR = Path("/work/shared/influxdb-openapi")
if not SPEC_DIR.exists():  # a checkout elsewhere: look next to it
    SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "influxdb-openapi"

USERNAME = "admin"
PASSWORD = "sandboxpass1"
ORG = "ons"
BUCKET = "telemetry"


# ------------------------------------------------------------------------------------------------
# contract validation (openapi-core)
# ------------------------------------------------------------------------------------------------
def _discriminate_ast_unions(schemas: dict) -> None:
    """Give the Flux AST's unions the discriminator oss.yml leaves out.

    A node's ``type`` is its schema's name, and every union of node schemas (Statement, Expression,
    PropertyKey, OptionStatement.assignment...) is a ``oneOf`` that, lacking a discriminator over schemas
    requiring nothing, no node can pass (it matches every member). Unions of node schemas get
    ``discriminator: {propertyName: type}``; a union that nests another union (Node = Expression | Block)
    becomes ``anyOf``.
    """
    node_type = {"$ref": "#/components/schemas/NodeType"}
    nodes = {name for name, s in schemas.items() if (s.get("properties") or {}).get("type") == node_type}

    def fix(value: object) -> None:
        if isinstance(value, dict):
            members = value.get("oneOf")
            if isinstance(members, list) and members and all("$ref" in m for m in members):
                names = [m["$ref"].rsplit("/", 1)[-1] for m in members]
                if all(n in nodes for n in names):
                    value.setdefault("discriminator", {"propertyName": "type"})
                elif any(n in nodes for n in names) or {"Expression", "Statement"} & set(names):
                    value["anyOf"] = value.pop("oneOf")
            for child in value.values():
                fix(child)
        elif isinstance(value, list):
            for child in value:
                fix(child)

    fix(schemas)


class _Contract:
    _instance: _Contract | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        import yaml
        from openapi_core import Config, OpenAPI

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(SPEC_DIR / "oss.yml", encoding="utf-8") as fh:
            oss = yaml.load(fh, Loader=loader)
        with open(SPEC_DIR / "v1-compat.yml", encoding="utf-8") as fh:
            v1 = yaml.load(fh, Loader=loader)
        # oss.yml's DBRPGet puts `required: true` inside the `content` property (not valid OpenAPI
        # 3.0); read it as what it means: `content` is a required property of DBRPGet.
        dbrp_get = oss["components"]["schemas"]["DBRPGet"]
        if dbrp_get["properties"]["content"].pop("required", None) is True:
            dbrp_get["required"] = ["content"]
        # The Flux AST unions (ASTResponse) are oneOf without a discriminator over node schemas that
        # require nothing, so every node matches all of them and oneOf can never pass. A node's `type`
        # is its schema's name (VariableAssignment, CallExpression...): read it as the discriminator.
        # Node (Expression | Block) nests unions, so it is read as anyOf.
        _discriminate_ast_unions(oss["components"]["schemas"])
        # oss.yml itself is not a valid OpenAPI document (DBRPGet says `required: true` where a
        # list is due), so the document is not validated, only responses against it.
        config = Config(spec_validator_cls=None)
        self.v2 = OpenAPI.from_dict(oss, config=config)
        self.v1 = OpenAPI.from_dict(v1, config=config)

    @classmethod
    def get(cls) -> _Contract:
        with cls._lock:
            if cls._instance is None:
                cls._instance = _Contract()
            return cls._instance

    def check(self, req: Request, resp: Response, host_url: str) -> str | None:
        """None when the response matches the contract, else a description of the drift."""
        from openapi_core.datatypes import RequestParameters
        from openapi_core.templating.paths.exceptions import (
            OperationNotFound,
            PathNotFound,
        )
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        path = req.path.rstrip("/") or "/"
        spec = self.v2
        if path in ("/health", "/ping", "/ready"):
            pass  # the contract serves these at the root (operation-level `servers: ['']`)
        elif path == API:
            path = API + "/"
        elif path == "/write":
            spec = self.v1
        elif not path.startswith(API):
            return None

        class _Req:
            pass

        r = _Req()
        r.host_url = host_url
        r.path = path
        r.full_url_pattern = host_url + path
        r.method = req.method.lower()
        r.parameters = RequestParameters(
            query=ImmutableMultiDict(list(req.query.items())),
            header=Headers(list(req.headers.items())),
            cookie=ImmutableMultiDict(),
        )
        r.content_type = req.headers.get("content-type", "")
        r.body = req.body

        class _Resp:
            pass

        s = _Resp()
        s.status_code = resp.status
        s.content_type = (resp.content_type or "").lower()
        headers = list(resp.headers)
        if path == "/ping":
            # Known defect of the contract: it types X-Influxdb-Version as an integer, while InfluxDB
            # (and influxdb-client's version()) use a string such as "v2.7.11". Checked here instead.
            versions = [v for k, v in headers if k.lower() == "x-influxdb-version"]
            if len(versions) != 1 or not re.fullmatch(r"v2\.\d+\.\d+", versions[0]):
                return f"{req.method} {req.path}: bad X-Influxdb-Version header {versions!r}"
            headers = [(k, v) for k, v in headers if k.lower() != "x-influxdb-version"]
        s.headers = Headers(
            headers
            + ([("Content-Type", resp.content_type)] if resp.content_type else [])
        )
        s.data = resp.body if resp.body else None
        if s.data is not None and "json" not in s.content_type:
            # openapi-core deserializes JSON itself; other media types (annotated CSV) are
            # checked against their `type: string` schema as text
            s.data = resp.body.decode("utf-8")
        try:
            spec.validate_response(r, s)
        except (PathNotFound, OperationNotFound):
            if resp.status in (404, 405):
                return (
                    None  # a route the contract does not have, refused as InfluxDB does
                )
            return f"{req.method} {req.path} -> {resp.status}: not in the contract"
        except Exception as exc:  # noqa: BLE001 - any validation failure is drift
            detail = exc
            while getattr(detail, "__cause__", None) is not None:
                detail = detail.__cause__
            extra = ""
            if hasattr(detail, "schema_errors"):
                extra = "; ".join(str(e.message) for e in detail.schema_errors)
            return (
                f"{req.method} {req.path} -> {resp.status}: {type(exc).__name__}: {exc} "
                f"[{type(detail).__name__}: {detail}] {extra} body={resp.body[:300]!r}"
            )
        return None


# ------------------------------------------------------------------------------------------------
# a running server
# ------------------------------------------------------------------------------------------------
@dataclass
class RunningInflux:
    server: InfluxServer
    url: str
    token: str
    org: str
    org_id: str
    bucket: str
    bucket_id: str
    username: str
    password: str
    tls: TLSFiles | None = None
    exchanges: list[tuple[str, str, int]] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    _clients: list = field(default_factory=list)

    @property
    def ca_path(self) -> str | None:
        return str(self.tls.ca_cert) if self.tls else None

    def client(self, token: str | None = None, **kwargs):
        """An influxdb_client.InfluxDBClient to this server (operator token unless told otherwise),
        closed when the fixture ends."""
        from influxdb_client import InfluxDBClient

        if "username" not in kwargs and token is None:
            token = self.token
        kwargs.setdefault("org", self.org)
        kwargs.setdefault("timeout", 20_000)
        if self.tls and "ssl_ca_cert" not in kwargs and kwargs.get("verify_ssl", True):
            kwargs["ssl_ca_cert"] = self.ca_path
        c = InfluxDBClient(url=self.url, token=token, **kwargs)
        self._clients.append(c)
        return c

    def close_clients(self) -> None:
        while self._clients:
            with contextlib.suppress(Exception):
                self._clients.pop().close()


@contextlib.contextmanager
def running_influx(
    data_dir: Path,
    tls: bool = False,
    validate: bool = True,
    max_body_bytes: int | None = None,
    plain_tokens: bool = False,
) -> Iterator[RunningInflux]:
    """An onboarded server in a thread of this process, stopped on exit (also on failure)."""
    tls_files = ensure_tls(Path(data_dir) / "tls") if tls else None
    kwargs: dict = {"plain_tokens": plain_tokens}
    if max_body_bytes is not None:
        kwargs["max_body_bytes"] = max_body_bytes
    server = InfluxServer(
        Path(data_dir) / "data",
        ssl_context=tls_files.server_context() if tls_files else None,
        **kwargs,
    )
    try:
        setup = server.setup(USERNAME, PASSWORD, ORG, BUCKET)
        server.start()
        running = RunningInflux(
            server,
            server.url,
            setup["token"],
            ORG,
            setup["org"]["id"],
            BUCKET,
            setup["bucket"]["id"],
            USERNAME,
            PASSWORD,
            tls_files,
        )
        if validate:
            contract = _Contract.get()
            host_url = server.url

            def observe(req: Request, resp: Response) -> None:
                running.exchanges.append((req.method, req.path, resp.status))
                problem = contract.check(req, resp, host_url)
                if problem:
                    running.drift.append(problem)

            server.observers.append(observe)
        yield running
    finally:
        with contextlib.suppress(NameError):
            running.close_clients()
        server.stop()
    if validate and running.drift:
        raise AssertionError(
            "responses drifted from the InfluxDB contract:\n" + "\n".join(running.drift)
        )


@pytest.fixture
def influx(tmp_path) -> Iterator[RunningInflux]:
    """A fresh onboarded sandbox InfluxDB v2 server; responses are checked against oss.yml."""
    with running_influx(tmp_path / "influx") as running:
        yield running
