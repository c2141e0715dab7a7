"""Authentication and the permission matrix of the sandbox InfluxDB v2 server.

Status codes and bodies are InfluxDB 2.7's: authorizer refusals are 401 ``<perm> is unauthorized``,
the write and delete endpoints answer 403 ``insufficient permissions for write|delete``.
"""

from __future__ import annotations

import pytest
import requests
from influxdb_client import Permission, PermissionResource
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from tests.sandbox.influx_server import running_influx

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def influx(tmp_path):
    """A fresh onboarded server; its responses are checked against oss.yml."""
    with running_influx(tmp_path / "influx") as running:
        yield running


def _perm(action, rtype, org_id=None, rid=None):
    return Permission(
        action=action, resource=PermissionResource(type=rtype, org_id=org_id, id=rid)
    )


def _token(influx, *perms, status="active"):
    api = influx.client().authorizations_api()
    auth = api.create_authorization(org_id=influx.org_id, permissions=list(perms))
    if status != "active":
        auth.status = status
        api.update_authorization(auth)
    return auth.token


@pytest.fixture
def other_bucket(influx):
    return (
        influx.client().buckets_api().create_bucket(bucket_name="other", org=influx.org)
    )


def test_missing_and_unknown_tokens_are_401(influx):
    for headers in (
        {},
        {"Authorization": "Token not-a-token"},
        {"Authorization": "Bearer nope"},
        {"Cookie": "influxdb-oss-session=forged"},
    ):
        r = requests.get(influx.url + "/api/v2/buckets", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"code": "unauthorized", "message": "unauthorized access"}
    r = requests.post(
        f"{influx.url}/api/v2/write?org={influx.org}&bucket={influx.bucket}",
        data="m v=1",
    )
    assert r.status_code == 401
    # Bearer is accepted like Token
    r = requests.get(
        influx.url + "/api/v2/buckets",
        headers={"Authorization": f"Bearer {influx.token}"},
    )
    assert r.status_code == 200


def test_write_only_token_cannot_read(influx):
    token = _token(influx, _perm("write", "buckets", influx.org_id, influx.bucket_id))
    client = influx.client(token=token)
    client.write_api(write_options=SYNCHRONOUS).write(
        influx.bucket, influx.org, f"m v=1 {T0}"
    )
    assert influx.server.store.count_points(influx.bucket_id) == 1
    with pytest.raises(ApiException) as exc:
        client.buckets_api().find_bucket_by_id(influx.bucket_id)
    assert exc.value.status == 401
    assert (
        f"read:orgs/{influx.org_id}/buckets/{influx.bucket_id} is unauthorized"
        in exc.value.body
    )
    assert client.buckets_api().find_buckets().buckets == []
    with pytest.raises(ApiException) as exc:
        client.query_api().query(f'from(bucket: "{influx.bucket}") |> range(start: 0)')
    assert exc.value.status == 404  # InfluxDB hides the bucket: "could not find bucket"
    with pytest.raises(ApiException) as exc:
        client.query_api().query(
            f'from(bucketID: "{influx.bucket_id}") |> range(start: 0)'
        )
    assert exc.value.status == 404


def test_bucket_scoped_token_cannot_create_buckets_or_touch_another(
    influx, other_bucket
):
    token = _token(
        influx,
        _perm("write", "buckets", influx.org_id, influx.bucket_id),
        _perm("read", "buckets", influx.org_id, influx.bucket_id),
    )
    client = influx.client(token=token)
    with pytest.raises(ApiException) as exc:
        client.buckets_api().create_bucket(bucket_name="new", org_id=influx.org_id)
    assert exc.value.status == 401
    assert f"write:orgs/{influx.org_id}/buckets is unauthorized" in exc.value.body
    with pytest.raises(ApiException) as exc:
        client.write_api(write_options=SYNCHRONOUS).write(
            "other", influx.org, f"m v=1 {T0}"
        )
    assert exc.value.status == 403
    assert '"insufficient permissions for write"' in exc.value.body
    assert influx.server.store.count_points(other_bucket.id) == 0
    with pytest.raises(ApiException) as exc:
        client.delete_api().delete(
            "1970-01-01T00:00:00Z",
            "2100-01-01T00:00:00Z",
            "",
            bucket="other",
            org=influx.org,
        )
    assert exc.value.status == 403
    with pytest.raises(ApiException) as exc:
        client.buckets_api().delete_bucket(other_bucket.id)
    assert exc.value.status == 401
    # it can still read and write its own bucket
    assert [b.name for b in client.buckets_api().find_buckets().buckets] == [
        influx.bucket
    ]
    client.write_api(write_options=SYNCHRONOUS).write(
        influx.bucket, influx.org, f"m v=1 {T0}"
    )
    tables = client.query_api().query(
        f'from(bucket: "{influx.bucket}") |> range(start: 0)'
    )
    assert [r.get_value() for t in tables for r in t.records] == [1.0]
    # and cannot mint tokens
    with pytest.raises(ApiException) as exc:
        client.authorizations_api().create_authorization(
            org_id=influx.org_id,
            permissions=[_perm("read", "buckets", influx.org_id, influx.bucket_id)],
        )
    assert exc.value.status == 401


def test_inactive_token_is_refused(influx):
    token = _token(
        influx,
        _perm("read", "buckets", influx.org_id),
        _perm("write", "buckets", influx.org_id),
        status="inactive",
    )
    r = requests.get(
        influx.url + "/api/v2/buckets", headers={"Authorization": f"Token {token}"}
    )
    assert r.status_code == 401
    assert r.json() == {"code": "unauthorized", "message": "token is inactive"}
    r = requests.post(
        f"{influx.url}/api/v2/write?org={influx.org}&bucket={influx.bucket}",
        headers={"Authorization": f"Token {token}"},
        data=f"m v=1 {T0}",
    )
    assert (
        r.status_code == 403
        and r.json()["message"] == "insufficient permissions for write"
    )
    assert influx.server.store.count_points(influx.bucket_id) == 0


def test_org_wide_read_lists_buckets_but_cannot_write(influx, other_bucket):
    token = _token(influx, _perm("read", "buckets", influx.org_id))
    client = influx.client(token=token)
    assert {b.name for b in client.buckets_api().find_buckets().buckets} == {
        "_monitoring",
        "_tasks",
        influx.bucket,
        "other",
    }
    assert client.buckets_api().find_bucket_by_id(other_bucket.id).name == "other"
    with pytest.raises(ApiException) as exc:
        client.write_api(write_options=SYNCHRONOUS).write(
            "other", influx.org, f"m v=1 {T0}"
        )
    assert exc.value.status == 403
    with pytest.raises(ApiException) as exc:
        client.organizations_api().create_organization(name="x")
    assert exc.value.status == 401
    # another org's buckets stay invisible
    ops = influx.client()
    org2 = ops.organizations_api().create_organization(name="org2")
    ops.buckets_api().create_bucket(bucket_name="elsewhere", org_id=org2.id)
    assert "elsewhere" not in {
        b.name for b in client.buckets_api().find_buckets().buckets
    }


def test_token_creation_cannot_escalate(influx):
    token = _token(
        influx,
        _perm("write", "authorizations", influx.org_id),
        _perm("read", "buckets", influx.org_id),
    )
    api = influx.client(token=token).authorizations_api()
    # granting what it has is fine
    api.create_authorization(
        org_id=influx.org_id, permissions=[_perm("read", "buckets", influx.org_id)]
    )
    with pytest.raises(ApiException) as exc:
        api.create_authorization(
            org_id=influx.org_id, permissions=[_perm("write", "buckets", influx.org_id)]
        )
    assert exc.value.status == 403
    assert (
        f"permission write:orgs/{influx.org_id}/buckets is not allowed"
        in exc.value.body
    )


def test_all_access_token_is_org_scoped(influx):
    from sandbox.influxdb.auth import ORG_TYPES

    perms = [_perm(a, t, influx.org_id) for t in ORG_TYPES for a in ("read", "write")]
    client = influx.client(token=_token(influx, *perms))
    client.buckets_api().create_bucket(bucket_name="mine", org=influx.org)
    client.write_api(write_options=SYNCHRONOUS).write("mine", influx.org, f"m v=1 {T0}")
    created = client.authorizations_api().create_authorization(
        org_id=influx.org_id, permissions=[_perm("read", "buckets", influx.org_id)]
    )
    assert created.token
    # users are not org resources: only the operator manages them
    with pytest.raises(ApiException) as exc:
        client.users_api().create_user("someone")
    assert exc.value.status == 401
    org2 = influx.client().organizations_api().create_organization(name="org2")
    with pytest.raises(ApiException) as exc:
        client.buckets_api().create_bucket(bucket_name="x", org_id=org2.id)
    assert exc.value.status == 401


def test_password_session_creates_all_access_token(influx):
    """As on Timestream: sign in with username/password, create a token, use it."""
    from sandbox.influxdb.auth import ORG_TYPES

    s = requests.Session()
    assert (
        s.post(
            influx.url + "/api/v2/signin", auth=(influx.username, influx.password)
        ).status_code
        == 204
    )
    perms = [
        {"action": a, "resource": {"type": t, "orgID": influx.org_id}}
        for t in ORG_TYPES
        for a in ("read", "write")
    ]
    r = s.post(
        influx.url + "/api/v2/authorizations",
        json={
            "orgID": influx.org_id,
            "description": "all access",
            "permissions": perms,
        },
    )
    assert r.status_code == 201
    token = r.json()["token"]
    client = influx.client(token=token)
    assert influx.bucket in {
        b.name for b in client.buckets_api().find_buckets().buckets
    }
    assert s.post(influx.url + "/api/v2/signout").status_code == 204
    assert s.get(influx.url + "/api/v2/buckets").status_code == 401


def test_permissions_must_belong_to_the_authorization_org(influx):
    org2 = influx.client().organizations_api().create_organization(name="org2")
    r = requests.post(influx.url + "/api/v2/authorizations", headers={"Authorization": f"Token {influx.token}"},
                      json={"orgID": influx.org_id, "permissions": [
                          {"action": "read", "resource": {"type": "buckets", "orgID": org2.id}}]})
    assert r.status_code == 400
    assert r.json()["message"] == f"permission read:orgs/{org2.id}/buckets is not for org id {influx.org_id}"
    r = requests.post(influx.url + "/api/v2/authorizations", headers={"Authorization": f"Token {influx.token}"},
                      json={"orgID": influx.org_id, "permissions": [
                          {"action": "read", "resource": {"type": "nonsense"}}]})
    assert r.status_code == 400 and r.json()["message"] == "invalid resource type for permission"
