"""The sandbox InfluxDB v2 server's resource API, driven by the real influxdb-client library.

Every response is validated against oss.yml by the ``influx`` fixture (drift fails at teardown).
"""

from __future__ import annotations

import base64

import pytest
import requests
from influxdb_client import (
    Authorization,
    BucketRetentionRules,
    Permission,
    PermissionResource,
)
from influxdb_client.rest import ApiException

from sandbox.influxdb.server import Request, Response
from tests.sandbox.influx_server import _Contract, running_influx


@pytest.fixture
def influx(tmp_path):
    """A fresh onboarded server; its responses are checked against oss.yml."""
    with running_influx(tmp_path / "influx") as running:
        yield running


def _hdr(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def test_system_endpoints(influx):
    r = requests.get(influx.url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "pass"
    r = requests.get(influx.url + "/ping")
    assert r.status_code == 204 and r.headers["X-Influxdb-Version"].startswith("v2.")
    assert r.headers["X-Influxdb-Build"] == "OSS"
    assert requests.head(influx.url + "/ping").status_code == 204
    assert requests.get(influx.url + "/ready").json()["status"] == "ready"
    assert requests.get(influx.url + "/api/v2").json()["buckets"] == "/api/v2/buckets"
    client = influx.client()
    assert client.ping() is True
    assert client.version() == r.headers["X-Influxdb-Version"]


def test_setup_is_done_once(influx):
    assert requests.get(influx.url + "/api/v2/setup").json() == {"allowed": False}
    r = requests.post(
        influx.url + "/api/v2/setup",
        json={"username": "x", "password": "password1", "org": "o", "bucket": "b"},
    )
    assert r.status_code == 422
    assert r.json() == {
        "code": "conflict",
        "message": "onboarding has already been completed",
    }


def test_fresh_server_onboards_over_http(tmp_path):
    from sandbox.influxdb.server import InfluxServer

    srv = InfluxServer(tmp_path / "d")
    srv.start()
    try:
        assert requests.get(srv.url + "/api/v2/setup").json() == {"allowed": True}
        r = requests.post(
            srv.url + "/api/v2/setup",
            json={
                "username": "me",
                "password": "password1",
                "org": "o1",
                "bucket": "b1",
                "retentionPeriodSeconds": 7200,
            },
        )
        assert r.status_code == 201
        body = r.json()
        assert body["bucket"]["retentionRules"] == [
            {"type": "expire", "everySeconds": 7200, "shardGroupDurationSeconds": 3600}
        ]
        token = body["auth"]["token"]
        assert (
            requests.get(srv.url + "/api/v2/me", headers=_hdr(token)).json()["name"]
            == "me"
        )
        assert requests.get(srv.url + "/api/v2/setup").json() == {"allowed": False}
    finally:
        srv.stop()


def test_buckets_crud_and_filters(influx):
    client = influx.client()
    api = client.buckets_api()
    names = {b.name: b for b in api.find_buckets().buckets}
    assert {"_monitoring", "_tasks", influx.bucket} <= set(names)
    assert names["_tasks"].type == "system"
    assert names["_tasks"].retention_rules[0].every_seconds == 3 * 86400

    created = api.create_bucket(
        bucket_name="metrics",
        org_id=influx.org_id,
        description="raw metrics",
        retention_rules=BucketRetentionRules(type="expire", every_seconds=86400 * 3),
    )
    assert created.retention_rules[0].every_seconds == 259200
    assert created.retention_rules[0].shard_group_duration_seconds == 86400
    assert created.description == "raw metrics"

    found = api.find_bucket_by_name("metrics")
    assert found.id == created.id
    assert api.find_bucket_by_id(created.id).name == "metrics"
    assert [b.id for b in api.find_buckets(name="metrics").buckets] == [created.id]
    assert api.find_buckets(org="ons").buckets
    assert api.find_bucket_by_name("absent") is None

    with pytest.raises(ApiException) as exc:
        api.create_bucket(bucket_name="metrics", org_id=influx.org_id)
    assert exc.value.status == 422 and "already exists" in exc.value.body

    with pytest.raises(ApiException) as exc:
        api.create_bucket(
            bucket_name="short",
            org_id=influx.org_id,
            retention_rules=BucketRetentionRules(type="expire", every_seconds=60),
        )
    # what InfluxDB 2.7 answers (its storage engine's refusal surfaces as a 500)
    assert exc.value.status == 500
    assert "retention policy duration must be at least 1h0m0s" in exc.value.body
    r = requests.post(influx.url + "/api/v2/buckets", headers=_hdr(influx.token),
                      json={"orgID": influx.org_id, "name": "two", "retentionRules": [
                          {"type": "expire", "everySeconds": 3600}, {"type": "expire", "everySeconds": 7200}]})
    assert r.status_code == 422
    r = requests.post(influx.url + "/api/v2/buckets", headers=_hdr(influx.token), json={"name": "noorg"})
    assert r.status_code == 400 and r.json()["message"] == "organization id must be provided"

    with pytest.raises(ApiException) as exc:
        api.create_bucket(bucket_name="_reserved", org_id=influx.org_id)
    assert exc.value.status == 400

    created.description = "changed"
    created.retention_rules = [
        BucketRetentionRules(
            type="expire", every_seconds=7200, shard_group_duration_seconds=3600
        )
    ]
    updated = api.update_bucket(created)
    assert updated.description == "changed"
    assert updated.retention_rules[0].every_seconds == 7200
    assert (
        api.find_bucket_by_id(created.id)
        .retention_rules[0]
        .shard_group_duration_seconds
        == 3600
    )

    # a retention shorter than the shard group duration is refused
    r = requests.patch(f"{influx.url}/api/v2/buckets/{created.id}", headers=_hdr(influx.token),
                       json={"retentionRules": [{"type": "expire", "everySeconds": 3600,
                                                 "shardGroupDurationSeconds": 7200}]})
    assert r.status_code == 500
    r = requests.patch(
        f"{influx.url}/api/v2/buckets/{created.id}",
        headers=_hdr(influx.token),
        json={
            "name": "metrics2",
            "retentionRules": [{"type": "expire", "everySeconds": 0}],
        },
    )
    assert r.status_code == 200
    assert r.json()["name"] == "metrics2"
    assert r.json()["retentionRules"][0]["everySeconds"] == 0

    api.delete_bucket(created.id)
    with pytest.raises(ApiException) as exc:
        api.find_bucket_by_id(created.id)
    assert exc.value.status == 404
    assert exc.value.body and '"not found"' in exc.value.body


def test_bucket_pagination_links(influx):
    client = influx.client()
    api = client.buckets_api()
    for i in range(5):
        api.create_bucket(bucket_name=f"p{i}", org_id=influx.org_id)
    everything = {b.id for b in api.find_buckets(limit=100).buckets}
    assert len(everything) == 8  # 5 + telemetry + 2 system buckets
    page1 = requests.get(
        f"{influx.url}/api/v2/buckets?limit=3", headers=_hdr(influx.token)
    ).json()
    assert len(page1["buckets"]) == 3 and "next" in page1["links"]
    page2 = requests.get(
        f"{influx.url}{page1['links']['next']}", headers=_hdr(influx.token)
    ).json()
    assert "prev" in page2["links"]
    seen = [b["id"] for b in page1["buckets"] + page2["buckets"]]
    assert len(set(seen)) == 6
    after = requests.get(
        f"{influx.url}/api/v2/buckets?limit=100&after={page1['buckets'][-1]['id']}",
        headers=_hdr(influx.token),
    ).json()
    assert {b["id"] for b in after["buckets"]} == everything - {
        b["id"] for b in page1["buckets"]
    }
    # the client's own iterator walks all of them
    assert {b.id for b in api.find_buckets_iter(limit=2)} == everything


def test_orgs(influx):
    client = influx.client()
    api = client.organizations_api()
    org = api.create_organization(name="second")
    assert {o.name for o in api.find_organizations()} == {"ons", "second"}
    assert api.find_organization(org.id).name == "second"
    # every org gets its system buckets
    assert {
        b.name for b in client.buckets_api().find_buckets(org_id=org.id).buckets
    } == {"_monitoring", "_tasks"}
    org.description = "the second one"
    assert api.update_organization(org).description == "the second one"
    with pytest.raises(ApiException) as exc:
        api.create_organization(name="second")
    assert exc.value.status == 422
    r = requests.get(f"{influx.url}/api/v2/orgs?org=nope", headers=_hdr(influx.token))
    assert r.status_code == 404
    members = requests.get(
        f"{influx.url}/api/v2/orgs/{influx.org_id}/owners", headers=_hdr(influx.token)
    ).json()
    assert [u["name"] for u in members["users"]] == [influx.username]
    api.delete_organization(org.id)
    assert [o.name for o in api.find_organizations()] == ["ons"]
    assert client.buckets_api().find_buckets(org="ons").buckets


def test_users_and_passwords(influx):
    client = influx.client()
    api = client.users_api()
    user = api.create_user("reader")
    assert user.status == "active"
    assert {u.name for u in api.find_users().users} == {influx.username, "reader"}
    assert api.find_users(name="reader").users[0].id == user.id
    with pytest.raises(ApiException) as exc:
        api.create_user("reader")
    assert exc.value.status == 422

    # too short a password: 400 with InfluxDB's message
    r = requests.post(
        f"{influx.url}/api/v2/users/{user.id}/password",
        headers=_hdr(influx.token),
        json={"password": "short"},
    )
    assert (
        r.status_code == 400
        and r.json()["message"] == "passwords must be at least 8 characters long"
    )
    api.update_password(user.id, "readerpass1")  # POST /users/{id}/password: token, no old password
    # PUT /users/{id}/password is InfluxDB's change-own-password: basic auth with the current one
    url = f"{influx.url}/api/v2/users/{user.id}/password"
    r = requests.put(url, headers=_hdr(influx.token), json={"password": "readerpass2"})
    assert r.status_code == 401
    r = requests.put(url, auth=("reader", "wrongpass1"), json={"password": "readerpass2"})
    assert r.status_code == 403 and r.json()["message"] == "your username or password is incorrect"
    r = requests.put(url, auth=("reader", "readerpass1"), json={"password": "readerpass2"})
    assert r.status_code == 204

    # sign in with the new password; the old one is refused
    bad = requests.post(influx.url + "/api/v2/signin", auth=("reader", "readerpass1"))
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"
    s = requests.Session()
    assert s.post(influx.url + "/api/v2/signin", auth=("reader", "readerpass2")).status_code == 204
    assert "influxdb-oss-session" in s.cookies
    assert s.get(influx.url + "/api/v2/me").json()["name"] == "reader"
    # a plain user sees no buckets of an org it does not belong to
    assert s.get(influx.url + "/api/v2/buckets").json()["buckets"] == []
    # own password via /me/password (session + current password as basic auth)
    r = s.put(influx.url + "/api/v2/me/password", auth=("reader", "readerpass2"), json={"password": "readerpass3"})
    assert r.status_code == 204
    # a password change ends the user's sessions
    assert s.get(influx.url + "/api/v2/me").status_code == 401
    assert requests.post(influx.url + "/api/v2/signin", auth=("reader", "readerpass3")).status_code == 204

    user.status = "inactive"
    assert api.update_user(user).status == "inactive"
    r = requests.post(influx.url + "/api/v2/signin", auth=("reader", "readerpass3"))
    assert r.status_code == 403
    api.delete_user(user)
    assert {u.name for u in api.find_users().users} == {influx.username}


def test_signin_signout(influx):
    s = requests.Session()
    assert s.get(influx.url + "/api/v2/me").status_code == 401
    r = s.post(influx.url + "/api/v2/signin", auth=(influx.username, influx.password))
    assert r.status_code == 204
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("influxdb-oss-session=") and "HttpOnly" in cookie
    assert s.get(influx.url + "/api/v2/me").json()["name"] == influx.username
    assert s.post(influx.url + "/api/v2/signout").status_code == 204
    r = s.get(
        influx.url + "/api/v2/me",
        cookies={"influxdb-oss-session": r.cookies["influxdb-oss-session"]},
    )
    assert r.status_code == 401
    assert r.json() == {"code": "unauthorized", "message": "unauthorized access"}
    # influxdb-client's username/password mode signs in and out by itself
    client = influx.client(username=influx.username, password=influx.password)
    assert client.users_api().me().name == influx.username


def test_authorizations_lifecycle(influx):
    client = influx.client()
    api = client.authorizations_api()
    bucket = client.buckets_api().find_bucket_by_name(influx.bucket)
    write_perm = Permission(
        action="write",
        resource=PermissionResource(type="buckets", id=bucket.id, org_id=influx.org_id),
    )
    auth = api.create_authorization(org_id=influx.org_id, permissions=[write_perm])
    assert auth.token and len(auth.token) == 88
    assert auth.status == "active"
    assert auth.permissions[0].resource.name == influx.bucket
    assert auth.permissions[0].resource.org == influx.org

    listed = {a.id: a for a in api.find_authorizations()}
    assert auth.id in listed
    # tokens are hashed: the value is never shown again
    assert listed[auth.id].token is None
    assert api.find_authorization_by_id(auth.id).token is None
    assert [a.id for a in api.find_authorizations(token=auth.token)] == [auth.id]
    assert auth.id in {a.id for a in api.find_authorizations_by_org_id(influx.org_id)}
    assert auth.id in {
        a.id for a in api.find_authorizations_by_user_name(influx.username)
    }

    auth.description = "writer"
    auth.status = "inactive"
    updated = api.update_authorization(auth)
    assert (updated.status, updated.description) == ("inactive", "writer")
    api.delete_authorization(auth)
    with pytest.raises(ApiException) as exc:
        api.find_authorization_by_id(auth.id)
    assert exc.value.status == 404

    r = requests.post(
        influx.url + "/api/v2/authorizations",
        headers=_hdr(influx.token),
        json={"orgID": influx.org_id, "permissions": []},
    )
    assert r.status_code == 400
    r = requests.post(
        influx.url + "/api/v2/authorizations",
        headers=_hdr(influx.token),
        json={
            "orgID": influx.org_id,
            "permissions": [{"action": "fly", "resource": {"type": "buckets"}}],
        },
    )
    assert r.status_code == 400

    # a token scoped to a user belongs to that user
    reader = client.users_api().create_user("scoped")
    scoped = api.create_authorization(
        authorization=Authorization(
            org_id=influx.org_id,
            user_id=reader.id,
            permissions=[
                Permission(
                    action="read",
                    resource=PermissionResource(type="buckets", org_id=influx.org_id),
                )
            ],
        )
    )
    assert scoped.user_id == reader.id and scoped.user == "scoped"


def test_dbrps(influx):
    h = _hdr(influx.token)
    base = influx.url + "/api/v2/dbrps"
    listed = requests.get(base, params={"orgID": influx.org_id}, headers=h).json()[
        "content"
    ]
    # InfluxDB's virtual mapping for the onboarded bucket
    assert [(d["database"], d["retention_policy"], d["virtual"]) for d in listed] == [
        (influx.bucket, "autogen", True)
    ]
    assert requests.get(base, headers=h).status_code == 400

    r = requests.post(
        base,
        headers=h,
        json={
            "orgID": influx.org_id,
            "bucketID": influx.bucket_id,
            "database": "legacy",
            "retention_policy": "autogen",
        },
    )
    assert r.status_code == 201
    first = r.json()
    assert first["default"] is True  # the first mapping of a database is its default
    r = requests.post(
        base,
        headers=h,
        json={
            "org": influx.org,
            "bucketID": influx.bucket_id,
            "database": "legacy",
            "retention_policy": "weekly",
            "default": True,
        },
    )
    second = r.json()
    assert r.status_code == 201 and second["default"] is True
    rows = requests.get(
        base, params={"orgID": influx.org_id, "db": "legacy"}, headers=h
    ).json()["content"]
    assert {d["retention_policy"]: d["default"] for d in rows} == {
        "autogen": False,
        "weekly": True,
    }
    assert [
        d["id"]
        for d in requests.get(
            base,
            params={"orgID": influx.org_id, "db": "legacy", "default": "true"},
            headers=h,
        ).json()["content"]
    ] == [second["id"]]
    dup = requests.post(
        base,
        headers=h,
        json={
            "orgID": influx.org_id,
            "bucketID": influx.bucket_id,
            "database": "legacy",
            "retention_policy": "weekly",
        },
    )
    assert dup.status_code == 409 and dup.json()["code"] == "conflict"

    one = requests.get(
        f"{base}/{first['id']}", params={"orgID": influx.org_id}, headers=h
    )
    assert one.status_code == 200 and one.json()["content"]["id"] == first["id"]
    patched = requests.patch(
        f"{base}/{first['id']}",
        params={"orgID": influx.org_id},
        headers=h,
        json={"default": True},
    ).json()["content"]
    assert patched["default"] is True
    again = requests.get(
        f"{base}/{second['id']}", params={"orgID": influx.org_id}, headers=h
    ).json()["content"]
    assert again["default"] is False
    assert (
        requests.delete(
            f"{base}/{first['id']}", params={"orgID": influx.org_id}, headers=h
        ).status_code
        == 204
    )
    rows = requests.get(
        base, params={"orgID": influx.org_id, "db": "legacy"}, headers=h
    ).json()["content"]
    assert [(d["id"], d["default"]) for d in rows] == [(second["id"], True)]
    missing = requests.get(
        f"{base}/{first['id']}", params={"orgID": influx.org_id}, headers=h
    )
    assert missing.status_code == 404
    bad_bucket = requests.post(
        base,
        headers=h,
        json={
            "orgID": influx.org_id,
            "bucketID": "0123456789abcdef",
            "database": "x",
            "retention_policy": "y",
        },
    )
    assert bad_bucket.status_code == 404


def test_contract_validator_catches_drift(influx):
    """The fixture's contract check is not a rubber stamp: shapes outside oss.yml are reported."""
    contract = _Contract.get()
    req = Request("GET", "/api/v2/buckets", {}, {}, b"")
    bad = Response(200, b'{"buckets": [{"id": 1}]}', "application/json; charset=utf-8")
    assert contract.check(req, bad, influx.url) is not None
    err = Response(400, b'{"message": "no code"}', "application/json; charset=utf-8")
    assert (
        contract.check(
            Request("POST", "/api/v2/buckets", {}, {}, b"{}"), err, influx.url
        )
        is not None
    )
    good = Response(
        200,
        b'{"links": {"self": "/api/v2/buckets"}, "buckets": []}',
        "application/json; charset=utf-8",
    )
    assert contract.check(req, good, influx.url) is None
    ping = Response(
        204, b"", None, [("X-Influxdb-Version", "2.7"), ("X-Influxdb-Build", "OSS")]
    )
    assert (
        contract.check(Request("GET", "/ping", {}, {}, b""), ping, influx.url)
        is not None
    )


def test_unknown_routes_and_methods(influx):
    h = _hdr(influx.token)
    r = requests.get(influx.url + "/api/v2/nothing-here", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not found"
    r = requests.put(influx.url + "/api/v2/buckets", headers=h)
    assert r.status_code == 405
    r = requests.post(influx.url + "/api/v2/buckets", headers=h, data=b"{not json")
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    basic = base64.b64encode(b"admin:wrong").decode()
    assert (
        requests.post(
            influx.url + "/api/v2/signin", headers={"Authorization": f"Basic {basic}"}
        ).status_code
        == 401
    )


def test_drift_fails_the_fixture(tmp_path):
    """A response outside the contract makes running_influx (and so the test) fail."""
    from sandbox.influxdb import server as server_mod

    with pytest.raises(AssertionError, match="drifted from the InfluxDB contract"):
        with running_influx(tmp_path) as influx:
            influx.server.h_health = lambda req: server_mod.json_response(
                200, {"status": "fine"}
            )
            influx.server._routes = influx.server._build_routes()
            assert requests.get(influx.url + "/health").status_code == 200


def test_malformed_ids_are_400(influx):
    h = _hdr(influx.token)
    r = requests.get(influx.url + "/api/v2/buckets/short", headers=h)
    assert r.status_code == 400 and r.json() == {"code": "invalid", "message": "id must have a length of 16 bytes"}
    r = requests.get(influx.url + "/api/v2/authorizations/zzzzzzzzzzzzzzzz", headers=h)
    assert r.status_code == 400 and r.json()["message"] == "provided id is invalid"
    r = requests.get(influx.url + "/api/v2/orgs/0123456789abcdef", headers=h)
    assert r.status_code == 404


def test_lookup_filters_answer_404_like_influxdb(influx):
    """InfluxDB's FindBuckets/FindUsers turn a name-in-org or id filter into a direct lookup."""
    h = _hdr(influx.token)
    base = influx.url + "/api/v2"
    r = requests.get(base + "/buckets", params={"orgID": influx.org_id, "name": "missing"}, headers=h)
    assert r.status_code == 404 and r.json() == {"code": "not found", "message": 'bucket "missing" not found'}
    r = requests.get(base + "/buckets", params={"org": influx.org, "name": influx.bucket}, headers=h)
    assert [b["id"] for b in r.json()["buckets"]] == [influx.bucket_id]
    assert requests.get(base + "/buckets", params={"id": "0123456789abcdef"}, headers=h).status_code == 404
    assert requests.get(base + "/buckets", params={"org": "nope"}, headers=h).status_code == 404
    # without an org, a name filter just filters
    assert requests.get(base + "/buckets", params={"name": "missing"}, headers=h).json()["buckets"] == []
    assert requests.get(base + "/users", params={"name": "missing"}, headers=h).status_code == 404
    assert requests.get(base + "/users", params={"name": influx.username}, headers=h).json()["users"][0]["name"] \
        == influx.username


def test_plain_token_mode_returns_tokens_like_influxdb_27(tmp_path):
    """InfluxDB 2.7 (what Timestream runs) returns the token on reads; hashed mode does not."""
    from tests.sandbox.influx_server import running_influx

    with running_influx(tmp_path, plain_tokens=True) as influx:
        api = influx.client().authorizations_api()
        created = api.create_authorization(org_id=influx.org_id, permissions=[
            Permission(action="read", resource=PermissionResource(type="buckets", org_id=influx.org_id))])
        assert api.find_authorization_by_id(created.id).token == created.token
        listed = {a.id: a.token for a in api.find_authorizations()}
        assert listed[created.id] == created.token
        # the operator token made at setup is readable too
        assert influx.token in listed.values()
