"""InfluxDB names itself on every response (X-Influxdb-Version, X-Influxdb-Build: OSS), and answers
``POST /api/v2/query/ast`` with Flux's AST (oss.yml's ASTResponse). Every response here is checked against
oss.yml by the ``influx`` fixture."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.influx_server import influx  # noqa: F401 - the fixture

EXAMPLE = 'from(bucket: "example-bucket") |> range(start: -5m) |> filter(fn: (r) => r._measurement == "example-measurement")'


def _hdr(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "Content-Type": "application/json"}


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/ping", 204),
    ("GET", "/health", 200),
    ("GET", "/api/v2/buckets", 200),
    ("GET", "/api/v2/buckets/0000000000000001", 404),  # errors too
    ("GET", "/api/v2/nowhere", 404),
    ("POST", "/api/v2/query/ast", 200),
])
def test_every_response_names_the_server(influx, method, path, status):  # noqa: F811
    body = {"query": "x = 1"} if method == "POST" else None
    r = requests.request(method, influx.url + path, headers=_hdr(influx.token), json=body, timeout=10)
    assert r.status_code == status
    assert r.headers["X-Influxdb-Version"] == "v2.7.11"
    assert r.headers["X-Influxdb-Build"] == "OSS"
    r = requests.request(method, influx.url + path, json=body, timeout=10)  # unauthenticated: 401, still named
    assert r.headers["X-Influxdb-Build"] == "OSS"


def test_query_ast_of_the_contracts_example(influx):  # noqa: F811
    r = requests.post(influx.url + "/api/v2/query/ast", headers=_hdr(influx.token), json={"query": EXAMPLE},
                      timeout=10)
    assert r.status_code == 200, r.text
    package = r.json()["ast"]
    assert package["type"] == "Package" and package["package"] == "main"
    file = package["files"][0]
    assert file["type"] == "File" and file["metadata"] == "parser-type=rust"
    assert file["location"] == {"start": {"line": 1, "column": 1}, "end": {"line": 1, "column": len(EXAMPLE) + 1},
                                "source": EXAMPLE}
    pipe = file["body"][0]["expression"]
    assert file["body"][0]["type"] == "ExpressionStatement" and pipe["type"] == "PipeExpression"
    assert pipe["call"]["callee"] == {"type": "Identifier", "name": "filter", "location": {
        "start": {"line": 1, "column": 56}, "end": {"line": 1, "column": 62}, "source": "filter"}}
    inner = pipe["argument"]
    assert inner["location"]["source"] == 'from(bucket: "example-bucket") |> range(start: -5m)'
    from_call, range_call = inner["argument"], inner["call"]
    assert from_call["location"]["source"] == 'from(bucket: "example-bucket")'
    (args,) = from_call["arguments"]
    assert args["type"] == "ObjectExpression" and args["location"]["source"] == 'bucket: "example-bucket"'
    assert args["properties"][0]["key"]["name"] == "bucket"
    assert args["properties"][0]["value"]["type"] == "StringLiteral"
    assert args["properties"][0]["value"]["value"] == "example-bucket"
    start = range_call["arguments"][0]["properties"][0]["value"]
    assert start["type"] == "UnaryExpression" and start["operator"] == "-"
    assert start["argument"]["type"] == "DurationLiteral"
    assert start["argument"]["values"] == [{"magnitude": 5, "unit": "m"}]
    fn = pipe["call"]["arguments"][0]["properties"][0]["value"]
    assert fn["type"] == "FunctionExpression" and fn["params"][0]["key"]["name"] == "r"
    assert fn["body"]["type"] == "BinaryExpression" and fn["body"]["operator"] == "=="
    assert fn["body"]["left"]["type"] == "MemberExpression" and fn["body"]["left"]["property"]["name"] == "_measurement"


def test_query_ast_checks_syntax_only(influx):  # noqa: F811
    """As oss.yml says: `from(foo: ...)` has correct syntax, so it gets an AST; options, records, arithmetic too."""
    query = 'option task = {name: "t", every: 1h}\nx = 1 + 2 * 3\nfrom(foo: "iot_center") |> range(start: -90d) |> count()'
    r = requests.post(influx.url + "/api/v2/query/ast", headers=_hdr(influx.token), json={"query": query}, timeout=10)
    assert r.status_code == 200, r.text
    option, assign, chain = r.json()["ast"]["files"][0]["body"]
    assert option["type"] == "OptionStatement" and option["assignment"]["init"]["type"] == "ObjectExpression"
    assert assign["type"] == "VariableAssignment" and assign["init"]["operator"] == "+"
    assert assign["init"]["right"]["operator"] == "*" and assign["init"]["left"]["value"] == "1"
    assert chain["location"]["start"] == {"line": 3, "column": 1}
    assert "arguments" not in chain["expression"]["call"]  # count(): no arguments


def test_query_ast_refuses_bad_syntax_and_anonymous_callers(influx):  # noqa: F811
    r = requests.post(influx.url + "/api/v2/query/ast", headers=_hdr(influx.token),
                      json={"query": 'from(bucket: "b"'}, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    assert r.json()["message"].startswith("error @1:"), r.json()
    r = requests.post(influx.url + "/api/v2/query/ast", headers=_hdr(influx.token), json={}, timeout=10)
    assert r.status_code == 400 and r.json()["message"] == "query is required"
    r = requests.post(influx.url + "/api/v2/query/ast", json={"query": "x = 1"}, timeout=10)
    assert r.status_code == 401
