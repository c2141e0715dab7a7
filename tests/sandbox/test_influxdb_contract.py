"""Breadth of the contract check: bad input on every endpoint gets InfluxDB's status and an error
body that validates against oss.yml (the fixture fails the test on any drift), never a 500."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.influx_server import running_influx

T0 = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def influx(tmp_path_factory):
    with running_influx(tmp_path_factory.mktemp("contract"), max_body_bytes=4096) as running:
        yield running


def _cases(influx):
    org, oid, bid = influx.org, influx.org_id, influx.bucket_id
    bad_id = "0123456789abcdef"
    return [
        # (method, path, request kwargs, expected status)
        ("GET", "/api/v2/buckets", {"params": {"limit": "0"}}, 400),
        ("GET", "/api/v2/buckets", {"params": {"limit": "abc"}}, 400),
        ("GET", f"/api/v2/buckets/{bad_id}", {}, 404),
        ("PATCH", f"/api/v2/buckets/{bid}", {"json": {"retentionRules": "x"}}, 400),
        ("PATCH", f"/api/v2/buckets/{bid}", {"json": {"retentionRules": [{"everySeconds": -1}]}}, 422),
        ("DELETE", f"/api/v2/buckets/{bad_id}", {}, 404),
        ("POST", "/api/v2/buckets", {"json": {"orgID": oid}}, 400),
        ("POST", "/api/v2/buckets", {"json": {"orgID": oid, "name": "_x"}}, 400),
        ("POST", "/api/v2/buckets", {"json": {"orgID": oid, "name": 'a"b'}}, 400),
        ("POST", "/api/v2/buckets", {"json": {"orgID": oid, "name": influx.bucket}}, 422),
        ("POST", "/api/v2/buckets", {"data": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, 400),
        ("GET", f"/api/v2/orgs/{bad_id}", {}, 404),
        ("POST", "/api/v2/orgs", {"json": {}}, 400),
        ("POST", "/api/v2/orgs", {"json": {"name": org}}, 422),
        ("PATCH", f"/api/v2/orgs/{oid}", {"json": {"name": 5}}, 400),
        ("GET", f"/api/v2/users/{bad_id}", {}, 404),
        ("POST", "/api/v2/users", {"json": {"name": ""}}, 400),
        ("POST", "/api/v2/users", {"json": {"name": influx.username}}, 422),
        ("PATCH", f"/api/v2/users/{bad_id}", {"json": {"status": "active"}}, 404),
        ("POST", f"/api/v2/users/{bad_id}/password", {"json": {"password": "longenough1"}}, 404),
        ("GET", f"/api/v2/authorizations/{bad_id}", {}, 404),
        ("PATCH", f"/api/v2/authorizations/{bad_id}", {"json": {"status": "inactive"}}, 404),
        ("DELETE", f"/api/v2/authorizations/{bad_id}", {}, 404),
        ("POST", "/api/v2/authorizations", {"json": {"permissions": [
            {"action": "read", "resource": {"type": "buckets"}}]}}, 400),
        ("POST", "/api/v2/authorizations", {"json": {"orgID": bad_id, "permissions": [
            {"action": "read", "resource": {"type": "buckets"}}]}}, 400),
        ("PATCH", "/api/v2/authorizations/" + bad_id, {"json": {"status": "paused"}}, 404),
        ("GET", "/api/v2/dbrps", {"params": {"orgID": bad_id}}, 404),
        ("POST", "/api/v2/dbrps", {"json": {"orgID": oid, "bucketID": bid}}, 400),
        ("GET", f"/api/v2/dbrps/{bad_id}", {"params": {"orgID": oid}}, 404),
        ("PATCH", f"/api/v2/dbrps/{bad_id}", {"params": {"orgID": oid}, "json": {"default": True}}, 404),
        ("POST", "/api/v2/write", {"params": {"org": org}, "data": "m v=1"}, 404),
        ("POST", "/api/v2/write", {"params": {"bucket": influx.bucket}, "data": "m v=1"}, 400),
        ("POST", "/api/v2/write", {"params": {"org": org, "bucket": influx.bucket, "precision": "m"},
                                   "data": "m v=1"}, 400),
        ("POST", "/api/v2/write", {"params": {"org": org, "bucket": influx.bucket}, "data": "m v=1i\nm v=x"}, 400),
        ("POST", "/api/v2/write", {"params": {"org": org, "bucket": influx.bucket},
                                   "data": f"m,_bad=1 v=1 {T0}"}, 422),
        ("POST", "/write", {"params": {}, "data": "m v=1"}, 400),
        ("POST", "/write", {"params": {"db": influx.bucket}, "data": "m v=1i\nm v=x"}, 400),
        ("POST", "/write", {"params": {"db": influx.bucket}, "data": "m v=1\n" * 1000}, 413),
        ("POST", "/api/v2/write", {"params": {"org": org, "bucket": influx.bucket}, "data": "m v=1\n" * 1000}, 413),
        ("POST", "/write", {"params": {"db": "nodb"}, "data": "m v=1"}, 404),
        ("POST", "/api/v2/query", {"params": {"org": org}, "json": {"query": ""}}, 400),
        ("POST", "/api/v2/query", {"params": {"org": org}, "json": {"query": "from(", "type": "flux"}}, 400),
        ("POST", "/api/v2/query", {"params": {"org": org}, "data": b"not json",
                                   "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/api/v2/query", {"json": {"query": 'from(bucket: "x") |> range(start: -1h)'}}, 400),
        ("POST", "/api/v2/delete", {"params": {"org": org, "bucket": influx.bucket},
                                    "json": {"start": "yesterday", "stop": "2020-01-01T00:00:00Z"}}, 400),
        ("POST", "/api/v2/delete", {"params": {"org": org, "bucket": influx.bucket},
                                    "json": {"start": "2021-01-01T00:00:00Z", "stop": "2020-01-01T00:00:00Z"}}, 400),
        ("POST", "/api/v2/delete", {"params": {"org": org}, "json": {
            "start": "2020-01-01T00:00:00Z", "stop": "2021-01-01T00:00:00Z"}}, 400),
        ("POST", "/api/v2/setup", {"json": {"username": "a", "org": "b", "bucket": "c"}}, 422),
        ("POST", "/api/v2/signin", {"auth": ("nobody", "whatever1")}, 401),
        ("POST", "/api/v2/signout", {}, 401),
        ("PUT", "/api/v2/me/password", {"json": {"password": "longenough1"}}, 401),
    ]


def test_bad_requests_get_contract_shaped_errors(influx):
    headers = {"Authorization": f"Token {influx.token}"}
    seen = []
    for method, path, kwargs, expected in _cases(influx):
        kw = dict(kwargs)
        if path not in ("/api/v2/signin", "/api/v2/signout", "/api/v2/me/password", "/api/v2/setup"):
            kw["headers"] = {**headers, **kw.get("headers", {})}
        r = requests.request(method, influx.url + path, timeout=30, **kw)
        seen.append((method, path, r.status_code))
        assert r.status_code == expected, (method, path, kwargs, r.status_code, r.text)
        body = r.json()
        assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    assert len(seen) == len(_cases(influx))
    # every exchange above went through the contract check
    assert len(influx.exchanges) >= len(seen)
