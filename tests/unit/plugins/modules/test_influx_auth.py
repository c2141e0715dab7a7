"""Unit tests of influx_auth's pure functions: permission building and comparison, replace decisions."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.modules import influx_auth as mod

ORG = "bea7ea952287f70d"
BUCKET = "4d4d9d5b61dee751"


def params(**kw):
    base = {"description": "ingest", "user": None, "permissions": None, "all_access": False, "status": None,
            "state": "present"}
    base.update(kw)
    return base


def perm(action, resource, id=None, name=None):
    return {"action": action, "resource": resource, "id": id, "name": name}


def resolve(name):
    assert name == "telemetry"
    return BUCKET


@pytest.mark.parametrize(
    "kw,option",
    [
        ({"description": ""}, "description"),
        ({}, "permissions"),
        ({"permissions": [perm("read", "orgs", name="x")]}, "permissions[0].name"),
        ({"permissions": [perm("read", "buckets"), perm("read", "buckets", id="nothex")]}, "permissions[1].id"),
        ({"permissions": [perm("read", "buckets")], "all_access": True}, "all_access"),
    ],
)
def test_bad_input_names_the_option(kw, option):
    with pytest.raises(InfluxDBModuleError) as err:
        mod.validate_params(params(**kw))
    assert option in err.value.msg


def test_all_access_false_may_stand_next_to_permissions():
    # A looped task templating all_access: false beside permissions is not ambiguous.
    mod.validate_params(params(permissions=[perm("write", "buckets", id=BUCKET)], all_access=False))


def test_absent_needs_no_permissions():
    mod.validate_params(params(state="absent"))


def test_bucket_by_name_is_resolved_and_scoped_to_org():
    perms = mod.desired_permissions(params(permissions=[perm("write", "buckets", name="telemetry")]), ORG, resolve)
    assert perms == [{"action": "write", "resource": {"type": "buckets", "id": BUCKET, "orgID": ORG}}]


def test_instance_permission_is_not_org_scoped():
    perms = mod.desired_permissions(params(permissions=[perm("read", "instance")]), ORG, resolve)
    assert perms == [{"action": "read", "resource": {"type": "instance"}}]


def test_all_access_is_what_the_influx_cli_grants():
    user = "0a0b0c0d0e0f0a0b"
    perms = mod.desired_permissions(params(all_access=True), ORG, resolve, user)
    keys = mod.permission_set(perms)
    assert ("read", "buckets", None, ORG) in keys and ("write", "authorizations", None, ORG) in keys
    # the organization itself by id, readable only; the token's own user by id, read and write;
    # neither carries an orgID (InfluxDB checks them without one), and nothing on the instance
    assert {"action": "read", "resource": {"type": "orgs", "id": ORG}} in perms
    assert {"action": "read", "resource": {"type": "users", "id": user}} in perms
    assert {"action": "write", "resource": {"type": "users", "id": user}} in perms
    assert not any(k[1] in ("instance",) for k in keys)
    assert not any(k[1] in ("orgs", "users") and k[3] for k in keys)
    assert len(keys) == 2 * len(mod.ALL_ACCESS_TYPES) + 3


def test_org_and_user_permissions_carry_no_org_id():
    perms = mod.desired_permissions(params(permissions=[perm("read", "orgs"), perm("write", "users")]), ORG, resolve)
    assert perms == [{"action": "read", "resource": {"type": "orgs"}},
                     {"action": "write", "resource": {"type": "users"}}]


def test_permission_comparison_ignores_order_duplicates_and_display_fields():
    desired = mod.desired_permissions(
        params(permissions=[perm("write", "buckets", name="telemetry"), perm("read", "orgs"),
                            perm("read", "orgs")]), ORG, resolve)
    raw = {"id": "0000000000000001", "description": "ingest", "orgID": ORG, "userID": "u", "status": "active",
           "token": "secret-token-value",
           "permissions": [
               {"action": "read", "resource": {"type": "orgs"}},
               {"action": "write", "resource": {"type": "buckets", "id": BUCKET, "orgID": ORG,
                                                "name": "telemetry", "org": "ons"}},
           ]}
    current = mod.normalize(raw)
    assert mod.compare(current, mod.desired_state(params(), ORG, None, desired)) == (False, {})
    assert "secret-token-value" not in repr(mod.public(current))


def test_permission_change_means_replace_status_changes_in_place():
    raw = {"id": "0000000000000001", "description": "ingest", "orgID": ORG, "userID": "u", "status": "active",
           "permissions": [{"action": "read", "resource": {"type": "buckets", "orgID": ORG}}]}
    current = mod.normalize(raw)
    read_all = mod.desired_permissions(params(permissions=[perm("read", "buckets")]), ORG, resolve)
    write_all = mod.desired_permissions(params(permissions=[perm("write", "buckets")]), ORG, resolve)
    assert mod.compare(current, mod.desired_state(params(status="inactive"), ORG, None, read_all)) == (
        False, {"status": "inactive"})
    assert mod.compare(current, mod.desired_state(params(), ORG, None, write_all))[0] is True
    assert mod.compare(current, mod.desired_state(params(), ORG, "other-user", read_all))[0] is True


def test_create_body():
    desired = mod.desired_state(params(), ORG, "u1", [mod.api_permission("read", "buckets", ORG)])
    assert mod.create_body(desired) == {"orgID": ORG, "description": "ingest", "status": "active", "userID": "u1",
                                        "permissions": [{"action": "read",
                                                         "resource": {"type": "buckets", "orgID": ORG}}]}


def test_resource_choices_match_documentation():
    import yaml
    doc = yaml.safe_load(mod.DOCUMENTATION)
    choices = doc["options"]["permissions"]["suboptions"]["resource"]["choices"]
    assert choices == mod.RESOURCE_TYPES
