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
    admin_id = influx.client().users_api().me().id
    token = _token(
        influx,
        _perm("write", "authorizations", influx.org_id),
        _perm("write", "users", rid=admin_id),  # creating a token for a user needs write:users/<id>
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

    admin_id = influx.client().users_api().me().id
    # `influx auth create --all-access` (influx-cli clients/auth): every org type scoped to the org,
    # except orgs (read, by the org's id) and users (read/write, by the token user's id)
    perms = [_perm(a, t, influx.org_id) for t in ORG_TYPES if t not in ("orgs", "users")
             for a in ("read", "write")]
    perms += [_perm("read", "orgs", rid=influx.org_id)]
    perms += [_perm(a, "users", rid=admin_id) for a in ("read", "write")]
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


# -- authorizations need the users permission (authorization.AuthedAuthorizationService) ----------

def _hdr(token):
    return {"Authorization": f"Token {token}"}


def _unauthorized(r, text):
    assert r.status_code == 401, r.text
    assert r.json() == {"code": "unauthorized", "message": f"{text} is unauthorized"}


def _auth_ids(influx):
    """Every authorization on the server, as the operator sees them."""
    return {a.id for a in influx.client().authorizations_api().find_authorizations()}


def _new_user(influx, name, password=None, owner=False):
    ops = influx.client()
    user = ops.users_api().create_user(name)
    if password:
        r = requests.post(f"{influx.url}/api/v2/users/{user.id}/password", headers=_hdr(influx.token),
                          json={"password": password})
        assert r.status_code == 204
    if owner:
        r = requests.post(f"{influx.url}/api/v2/orgs/{influx.org_id}/owners", headers=_hdr(influx.token),
                          json={"id": user.id})
        assert r.status_code == 201
    return user


def test_authorization_management_without_users_permission_is_refused(influx):
    """Only read/write:orgs/<org>/authorizations and read:orgs/<org>/buckets: InfluxDB refuses
    every write with 401 write:users/<id> and lists nothing (reads need read:users/<id>)."""
    admin_id = influx.client().users_api().me().id
    other = _new_user(influx, "other")
    api = influx.client().authorizations_api()
    limited = api.create_authorization(org_id=influx.org_id, permissions=[
        _perm("read", "authorizations", influx.org_id), _perm("write", "authorizations", influx.org_id),
        _perm("read", "buckets", influx.org_id)])
    before = _auth_ids(influx)
    assert limited.id in before and len(before) >= 2
    url = influx.url + "/api/v2/authorizations"
    grant = [{"action": "read", "resource": {"type": "buckets", "orgID": influx.org_id}}]

    # create, for its own user (the default) and for another user
    r = requests.post(url, headers=_hdr(limited.token), json={"orgID": influx.org_id, "permissions": grant})
    _unauthorized(r, f"write:users/{admin_id}")
    r = requests.post(url, headers=_hdr(limited.token),
                      json={"orgID": influx.org_id, "userID": other.id, "permissions": grant})
    _unauthorized(r, f"write:users/{other.id}")
    assert _auth_ids(influx) == before

    # list: each authorization needs read:users/<its user> too, so none is left
    r = requests.get(url, headers=_hdr(limited.token))
    assert r.status_code == 200 and r.json()["authorizations"] == []
    assert influx.client(token=limited.token).authorizations_api().find_authorizations() == []
    r = requests.get(url, headers=_hdr(limited.token), params={"id": limited.id})
    assert r.status_code == 200 and r.json()["authorizations"] == []

    # get by id, patch, delete (itself)
    _unauthorized(requests.get(f"{url}/{limited.id}", headers=_hdr(limited.token)), f"read:users/{admin_id}")
    r = requests.patch(f"{url}/{limited.id}", headers=_hdr(limited.token), json={"description": "renamed"})
    _unauthorized(r, f"read:users/{admin_id}")
    _unauthorized(requests.delete(f"{url}/{limited.id}", headers=_hdr(limited.token)), f"write:users/{admin_id}")
    assert _auth_ids(influx) == before
    assert api.find_authorization_by_id(limited.id).description in (None, "")


def test_authorization_writes_need_write_on_the_user(influx):
    """Reading the user is not enough to create, update or delete its authorizations."""
    admin_id = influx.client().users_api().me().id
    api = influx.client().authorizations_api()
    reader = api.create_authorization(org_id=influx.org_id, permissions=[
        _perm("read", "authorizations", influx.org_id), _perm("write", "authorizations", influx.org_id),
        _perm("read", "buckets", influx.org_id), _perm("read", "users", rid=admin_id)])
    url = influx.url + "/api/v2/authorizations"
    # reads pass now
    r = requests.get(f"{url}/{reader.id}", headers=_hdr(reader.token))
    assert r.status_code == 200 and r.json()["id"] == reader.id
    listed = influx.client(token=reader.token).authorizations_api().find_authorizations()
    assert {a.id for a in listed} == {a.id for a in api.find_authorizations() if a.user_id == admin_id}
    # writes do not
    r = requests.post(url, headers=_hdr(reader.token), json={
        "orgID": influx.org_id, "permissions": [{"action": "read", "resource": {"type": "buckets"}}]})
    _unauthorized(r, f"write:users/{admin_id}")
    r = requests.patch(f"{url}/{reader.id}", headers=_hdr(reader.token), json={"status": "inactive"})
    _unauthorized(r, f"write:users/{admin_id}")
    _unauthorized(requests.delete(f"{url}/{reader.id}", headers=_hdr(reader.token)), f"write:users/{admin_id}")
    assert api.find_authorization_by_id(reader.id).status == "active"


def test_users_check_comes_before_the_permission_check(influx):
    """InfluxDB's order: write authorizations, write:users/<id>, then each granted permission."""
    admin_id = influx.client().users_api().me().id
    token = _token(influx, _perm("write", "authorizations", influx.org_id))
    r = requests.post(influx.url + "/api/v2/authorizations", headers=_hdr(token), json={
        "orgID": influx.org_id, "permissions": [{"action": "write", "resource": {"type": "buckets"}}]})
    _unauthorized(r, f"write:users/{admin_id}")


def test_all_access_token_manages_its_users_authorizations(influx):
    """An `influx auth create --all-access` token (users by the user's id) manages the
    authorizations of its own user, and only those; the operator token manages everyone's."""
    from sandbox.influxdb.auth import ORG_TYPES

    admin_id = influx.client().users_api().me().id
    other = _new_user(influx, "other")
    perms = [_perm(a, t, influx.org_id) for t in ORG_TYPES if t not in ("orgs", "users")
             for a in ("read", "write")]
    perms += [_perm("read", "orgs", rid=influx.org_id)]
    perms += [_perm(a, "users", rid=admin_id) for a in ("read", "write")]
    all_access = influx.client(token=_token(influx, *perms))
    api = all_access.authorizations_api()

    created = api.create_authorization(org_id=influx.org_id,
                                       permissions=[_perm("read", "buckets", influx.org_id)])
    assert created.user_id == admin_id and created.token
    assert api.find_authorization_by_id(created.id).id == created.id
    assert created.id in {a.id for a in api.find_authorizations()}
    created.description = "renamed"
    created.status = "inactive"
    assert api.update_authorization(created).status == "inactive"
    ops_api = influx.client().authorizations_api()
    assert ops_api.find_authorization_by_id(created.id).description == "renamed"
    api.delete_authorization(created.id)
    assert created.id not in _auth_ids(influx)

    # another user's authorizations: created by the operator, invisible and untouchable here
    r = requests.post(influx.url + "/api/v2/authorizations", headers=_hdr(influx.token), json={
        "orgID": influx.org_id, "userID": other.id, "description": "theirs",
        "permissions": [{"action": "read", "resource": {"type": "buckets", "orgID": influx.org_id}}]})
    assert r.status_code == 201 and r.json()["userID"] == other.id
    theirs = r.json()["id"]
    assert theirs not in {a.id for a in api.find_authorizations()}
    with pytest.raises(ApiException) as exc:
        api.find_authorization_by_id(theirs)
    assert exc.value.status == 401 and f"read:users/{other.id} is unauthorized" in exc.value.body
    with pytest.raises(ApiException) as exc:
        api.delete_authorization(theirs)
    assert exc.value.status == 401 and f"write:users/{other.id} is unauthorized" in exc.value.body
    r = requests.post(influx.url + "/api/v2/authorizations", headers=_hdr(_token(influx, *perms)), json={
        "orgID": influx.org_id, "userID": other.id,
        "permissions": [{"action": "read", "resource": {"type": "buckets", "orgID": influx.org_id}}]})
    _unauthorized(r, f"write:users/{other.id}")
    assert theirs in _auth_ids(influx)
    # the operator (global users permission) sees and manages both users' authorizations
    ops_api.delete_authorization(theirs)
    assert theirs not in _auth_ids(influx)


def test_org_scoped_users_permission_does_not_manage_authorizations(influx):
    """read/write:orgs/<org>/users (what the collection's influx_auth all_access grants) does not
    match read/write:users/<id>: InfluxDB refuses authorization management to such a token."""
    from sandbox.influxdb.auth import ORG_TYPES

    admin_id = influx.client().users_api().me().id
    perms = [_perm(a, t, influx.org_id) for t in ORG_TYPES for a in ("read", "write")]
    token = _token(influx, *perms)
    url = influx.url + "/api/v2/authorizations"
    r = requests.post(url, headers=_hdr(token), json={
        "orgID": influx.org_id, "permissions": [{"action": "read", "resource": {"type": "buckets",
                                                                                "orgID": influx.org_id}}]})
    _unauthorized(r, f"write:users/{admin_id}")
    r = requests.get(url, headers=_hdr(token))
    assert r.status_code == 200 and r.json()["authorizations"] == []
    _unauthorized(requests.get(influx.url + "/api/v2/me", headers=_hdr(token)), f"read:users/{admin_id}")
    # the rest of the org is still its own
    influx.client(token=token).buckets_api().create_bucket(bucket_name="mine", org=influx.org)


def test_owner_session_manages_own_authorizations(influx):
    """A session carries read/write:users/<own id> (MePermissions): an org owner signed in with
    username/password creates, lists, reads, updates and deletes its own tokens, not others'."""
    owner = _new_user(influx, "owner2", password="ownerpass1", owner=True)
    admin_id = influx.client().users_api().me().id
    s = requests.Session()
    assert s.post(influx.url + "/api/v2/signin", auth=("owner2", "ownerpass1")).status_code == 204
    url = influx.url + "/api/v2/authorizations"
    grant = [{"action": "read", "resource": {"type": "buckets", "orgID": influx.org_id}}]

    r = s.post(url, json={"orgID": influx.org_id, "description": "mine", "permissions": grant})
    assert r.status_code == 201 and r.json()["userID"] == owner.id
    mine = r.json()["id"]
    assert mine in _auth_ids(influx)
    listed = s.get(url).json()["authorizations"]
    assert [a["id"] for a in listed] == [mine]  # the admin's authorizations need read:users/<admin>
    assert s.get(f"{url}/{mine}").json()["description"] == "mine"
    r = s.patch(f"{url}/{mine}", json={"status": "inactive"})
    assert r.status_code == 200 and r.json()["status"] == "inactive"
    assert influx.client().authorizations_api().find_authorization_by_id(mine).status == "inactive"

    # not for another user, and not another user's
    r = s.post(url, json={"orgID": influx.org_id, "userID": admin_id, "permissions": grant})
    _unauthorized(r, f"write:users/{admin_id}")
    admin_auth = next(a.id for a in influx.client().authorizations_api().find_authorizations()
                      if a.user_id == admin_id)
    _unauthorized(s.get(f"{url}/{admin_auth}"), f"read:users/{admin_id}")
    _unauthorized(s.delete(f"{url}/{admin_auth}"), f"write:users/{admin_id}")
    assert admin_auth in _auth_ids(influx)

    assert s.delete(f"{url}/{mine}").status_code == 204
    assert mine not in _auth_ids(influx)


def test_me_needs_read_on_the_user(influx):
    """GET /me goes through AuthedUserService.FindUserByID: read:users/<own id>."""
    admin_id = influx.client().users_api().me().id  # operator token: global users permission
    bucket_only = _token(influx, _perm("read", "buckets", influx.org_id))
    _unauthorized(requests.get(influx.url + "/api/v2/me", headers=_hdr(bucket_only)), f"read:users/{admin_id}")
    with_user = _token(influx, _perm("read", "users", rid=admin_id))
    r = requests.get(influx.url + "/api/v2/me", headers=_hdr(with_user))
    assert r.status_code == 200 and r.json()["id"] == admin_id
