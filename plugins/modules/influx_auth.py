#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: influx_auth
short_description: Manage InfluxDB v2 authorizations (API tokens)
version_added: 0.1.0
description:
  - Create, replace, enable, disable and delete authorizations (API tokens) of an InfluxDB v2 organization
    (InfluxDB OSS 2.x, Amazon Timestream for InfluxDB).
  - InfluxDB chooses the token value and does not let an authorization's permissions or user be edited. So an
    existing authorization is matched by its O(description), which must be unique within the organization
    (the module fails if two authorizations of the organization share it). When its permissions or user differ
    from the task, it is replaced, a new authorization is created first and then the old one is deleted, which
    invalidates the old token. If deleting the old one fails, the new one is deleted again and the task fails; the
    old token keeps working and the task can be run again. Only its status is changed in place.
  - The token is returned only when an authorization is created (or replaced). Register the result of such a
    task with C(no_log) set to V(true) and store the token at once, for example in AWS Secrets Manager; it cannot be
    read back later.
  - With O(username) and O(password) (the connection options), a fresh Timestream for InfluxDB instance can
    be reached with the credentials from its auth-parameters secret (read them with
    M(ons.timestream_influxdb.timestream_influxdb_auth_parameters_info)) and a first all-access token created
    with O(all_access=true).
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  description:
    description:
      - Description of the authorization; identifies it within the organization, so it must be unique there.
    type: str
    required: true
  user:
    description:
      - Name (or id) of the user the token acts as.
      - When not set, a new authorization belongs to the user that authenticates the request, and the user of
        an existing one is not compared.
    type: str
  permissions:
    description:
      - What the token may do. Compared as a set, order does not matter.
      - Required with O(state=present) unless O(all_access=true).
      - Every permission is scoped to the organization (O(org)), except on the V(instance) resource type.
    type: list
    elements: dict
    suboptions:
      action:
        description: V(read) or V(write).
        type: str
        required: true
        choices: [ read, write ]
      resource:
        description: Resource type the permission is on.
        type: str
        required: true
        choices: [ authorizations, buckets, dashboards, orgs, tasks, telegrafs, users, variables, secrets, labels,
                   views, documents, notificationRules, notificationEndpoints, checks, dbrp, annotations, sources,
                   scrapers, notebooks, remotes, replications, instance, flows, functions, subscriptions ]
      id:
        description:
          - Limit the permission to one resource of that type, by id.
          - Mutually exclusive with O(permissions[].name).
        type: str
      name:
        description:
          - Limit the permission to one bucket, by name (looked up in O(org)). Only for O(permissions[].resource=buckets).
          - Mutually exclusive with O(permissions[].id).
        type: str
  all_access:
    description:
      - Grant what C(influx auth create --all-access) grants, instead of listing O(permissions) - V(read) and V(write)
        on every resource type of the organization, V(read) on the organization itself, and V(read) and V(write) on
        the token's own user (O(user), or the signed-in user), which InfluxDB requires to manage authorizations.
      - V(true) is mutually exclusive with O(permissions).
    type: bool
    default: false
  status:
    description:
      - V(active) or V(inactive) (a disabled token). When not set, a new authorization is active and an existing one
        keeps its status.
    type: str
    choices: [ active, inactive ]
  state:
    description:
      - V(present) creates the authorization, replaces it when its permissions or user differ, or updates its
        status; V(absent) deletes it (its token stops working).
    type: str
    choices: [ present, absent ]
    default: present
seealso:
  - module: ons.timestream_influxdb.timestream_influxdb_auth_parameters_info
  - module: ons.timestream_influxdb.influx_user
  - module: ons.timestream_influxdb.influx_bucket
extends_documentation_fragment:
  - ons.timestream_influxdb.influxdb
  - ons.timestream_influxdb.attributes
notes:
  - O(org) (or E(INFLUX_ORG)) is required and may be the organization's name or id.
  - Needs C(read:orgs) (not when O(org) is given as an id), C(read)/C(write) on the organization's
    authorizations, and to grant a permission the credentials must hold it themselves.
"""

EXAMPLES = r"""
# The admin user of a new Timestream for InfluxDB instance is in the instance's auth-parameters secret.
# timestream_influxdb_auth_parameters_info reads it by instance name with the usual AWS options
# (module_defaults for group/ons.timestream_influxdb.aws reach it; they do not reach lookups).
- name: Auth parameters of the instance (the result holds the admin password)
  ons.timestream_influxdb.timestream_influxdb_auth_parameters_info:
    name: ons-metrics
    region: eu-west-2
  register: auth
  no_log: true

- name: First all-access token of the instance, signing in with its admin user
  ons.timestream_influxdb.influx_auth:
    url: "https://{{ auth.instance.endpoint }}:{{ auth.instance.port }}"
    username: "{{ auth.auth_parameters.username }}"
    password: "{{ auth.auth_parameters.password }}"
    org: "{{ auth.auth_parameters.organization }}"
    description: ansible all-access
    all_access: true
  register: admin_token
  no_log: true

# The same secret through the amazon.aws lookup: its AWS options are repeated (module_defaults do not
# reach lookups) and its value is a JSON string, so it needs from_json.
- name: Auth parameters through the lookup
  ansible.builtin.set_fact:
    auth_parameters: >-
      {{ lookup('amazon.aws.secretsmanager_secret', auth.secret_arn, region='eu-west-2') | from_json }}
  no_log: true

- name: Write-only token for the ingest Lambda functions
  ons.timestream_influxdb.influx_auth:
    url: "{{ influx_url }}"
    token: "{{ influx_token }}"
    org: ons
    description: lambda ingest
    permissions:
      - action: write
        resource: buckets
        name: telemetry
      - action: read
        resource: buckets
        name: telemetry
  register: ingest_token
  no_log: true

- name: Store the token only when a new one was made
  community.aws.secretsmanager_secret:
    name: ons/influxdb/ingest-token
    secret: "{{ ingest_token.token }}"
  when: ingest_token.token is defined
  no_log: true

- name: Disable a token without deleting it
  ons.timestream_influxdb.influx_auth:
    url: "{{ influx_url }}"
    token: "{{ influx_token }}"
    org: ons
    description: dashboard read-only
    permissions:
      - action: read
        resource: buckets
    status: inactive
"""

RETURN = r"""
authorization:
  description:
    - The authorization after the task, without its token (predicted in check mode, where RV(authorization.id) is
      null for an authorization that would be created). Empty after V(absent).
  returned: always
  type: dict
  contains:
    id:
      description: Authorization id; use it (not the token) to find the authorization later, for example in rotation.
      type: str
      sample: 0a3cbb5dd526a000
    description:
      description: Description.
      type: str
      sample: lambda ingest
    status:
      description: V(active) or V(inactive).
      type: str
      sample: active
    org_id:
      description: Organization id.
      type: str
      sample: bea7ea952287f70d
    user_id:
      description: Id of the user the token acts as.
      type: str
      sample: 0a3cbb5dd526b000
    user:
      description: Name of that user, when InfluxDB reports it.
      type: str
      sample: admin
    permissions:
      description: Permissions, sorted.
      type: list
      elements: dict
      sample: [{"action": "write", "resource": {"type": "buckets", "id": "37407e232b3911d8", "org_id": "bea7ea952287f70d"}}]
    created_at:
      description: Creation time reported by InfluxDB.
      type: str
      sample: "2026-01-01T00:00:00Z"
token:
  description:
    - The token of the authorization that was created. Returned only when one was created (or replaced) outside
      check mode; it cannot be read again later, so store it and register the task with C(no_log) set to V(true).
  returned: when an authorization was created
  type: str
  sample: 7Yc1x...==
replaced:
  description: Whether an existing authorization was (or would be) replaced because its permissions or user differ.
  returned: always
  type: bool
  sample: false
replaced_id:
  description: Id of the authorization that was deleted because it was replaced.
  returned: when an authorization was replaced
  type: str
  sample: 0a3cbb5dd526a000
diff:
  description: Before and after state (without tokens), when run with C(--diff).
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"status": "active"}, "after": {"status": "inactive"}}
"""

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import diff_result
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_module_kwargs
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import looks_like_id
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import run_module

RESOURCE_TYPES = [
    "authorizations", "buckets", "dashboards", "orgs", "tasks", "telegrafs", "users", "variables", "secrets",
    "labels", "views", "documents", "notificationRules", "notificationEndpoints", "checks", "dbrp", "annotations",
    "sources", "scrapers", "notebooks", "remotes", "replications", "instance", "flows", "functions",
    "subscriptions",
]
#: Resource types whose permissions carry no orgID. InfluxDB checks org and user access as
#: ``read:orgs/<id>`` / ``write:users/<id>`` without an organization, so an org-scoped grant of
#: these types would never match (the influx CLI strips the orgID from them too).
UNSCOPED_TYPES = ("instance", "orgs", "users")
#: ``all_access`` as ``influx auth create --all-access`` builds it: read and write on every
#: organization resource type, read on the organization itself, read and write on the token's own
#: user (needed to manage authorizations and read /me), and nothing on the instance.
ALL_ACCESS_TYPES = [t for t in RESOURCE_TYPES if t not in UNSCOPED_TYPES]


def argument_spec():
    """The module's own options (the connection options come from ``influxdb_module_kwargs``)."""
    return dict(
        description=dict(type="str", required=True),
        user=dict(type="str"),
        permissions=dict(
            type="list", elements="dict",
            options=dict(
                action=dict(type="str", required=True, choices=["read", "write"]),
                resource=dict(type="str", required=True, choices=RESOURCE_TYPES),
                id=dict(type="str"),
                name=dict(type="str"),
            ),
            mutually_exclusive=[["id", "name"]],
        ),
        all_access=dict(type="bool", default=False),
        status=dict(type="str", choices=["active", "inactive"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def module_kwargs():
    """Keyword arguments for ``AnsibleModule``."""
    return influxdb_module_kwargs(argument_spec())


def validate_params(params):
    """Check the options before any request; raises naming the bad option."""
    if not (params.get("description") or "").strip():
        raise InfluxDBModuleError("description must not be empty (it identifies the authorization)")
    if params.get("state", "present") != "present":
        return
    perms = params.get("permissions") or []
    # Not an argument-spec mutually_exclusive: a task that templates all_access=false next to
    # permissions (a loop over tokens) is fine; only all_access=true with permissions is ambiguous.
    if perms and params.get("all_access"):
        raise InfluxDBModuleError("all_access=true and permissions are mutually exclusive: give one of them")
    if not perms and not params.get("all_access"):
        raise InfluxDBModuleError("state=present needs permissions (at least one) or all_access=true")
    for index, perm in enumerate(perms):
        where = f"permissions[{index}]"
        if perm.get("name") is not None and perm.get("resource") != "buckets":
            raise InfluxDBModuleError(f"{where}.name is only supported for resource=buckets; "
                                      f"use {where}.id for {perm.get('resource')}")
        if perm.get("id") is not None and not looks_like_id(perm["id"]):
            raise InfluxDBModuleError(f"{where}.id must be a 16-character hexadecimal InfluxDB id, got {perm['id']!r}")
        if perm.get("name") is not None and not perm["name"].strip():
            raise InfluxDBModuleError(f"{where}.name must not be empty")


def permission_key(perm):
    """A hashable, comparable form of an API permission: (action, type, id, orgID)."""
    resource = perm.get("resource") or {}
    return (perm.get("action"), resource.get("type"), resource.get("id") or None, resource.get("orgID") or None)


def permission_set(perms):
    """The permissions as a set of ``permission_key`` tuples (order does not matter)."""
    return frozenset(permission_key(p) for p in perms or [])


def api_permission(action, rtype, org_id, rid=None):
    """One permission as the API takes it; orgs, users and instance permissions carry no orgID."""
    resource = {"type": rtype}
    if rid:
        resource["id"] = rid
    if rtype not in UNSCOPED_TYPES:
        resource["orgID"] = org_id
    return {"action": action, "resource": resource}


def all_access_permissions(org_id, user_id):
    """What ``influx auth create --all-access`` grants a token of ``user_id`` in ``org_id``."""
    perms = [api_permission(action, rtype, org_id) for rtype in ALL_ACCESS_TYPES for action in ("read", "write")]
    perms.append(api_permission("read", "orgs", org_id, org_id))
    perms.extend(api_permission(action, "users", org_id, user_id) for action in ("read", "write"))
    return perms


def desired_permissions(params, org_id, resolve_bucket, user_id=None):
    """The API permissions the task asks for. ``resolve_bucket(name)`` returns a bucket id or raises;
    ``user_id`` is the user the token belongs to (needed for O(all_access))."""
    if params.get("all_access"):
        return all_access_permissions(org_id, user_id)
    out = []
    for perm in params.get("permissions") or []:
        rid = perm.get("id")
        if perm.get("name") is not None:
            rid = resolve_bucket(perm["name"])
        out.append(api_permission(perm["action"], perm["resource"], org_id, rid))
    # duplicates collapse; keep a stable order
    unique = {}
    for perm in out:
        unique.setdefault(permission_key(perm), perm)
    return [unique[k] for k in sorted(unique, key=_sort_key)]


def _sort_key(key):
    return tuple("" if part is None else part for part in key)


def desired_state(params, org_id, user_id, permissions):
    """The authorization the task asks for; a None ``status``/``user_id`` is not managed."""
    return {
        "description": params["description"],
        "org_id": org_id,
        "user_id": user_id,
        "status": params.get("status"),
        "permissions": permissions,
    }


def compare(current, desired):
    """Return ``(replace, changes)``: replace when permissions or user differ; in-place status changes."""
    replace = permission_set(current.get("raw_permissions")) != permission_set(desired["permissions"])
    if desired.get("user_id") and desired["user_id"] != current.get("user_id"):
        replace = True
    changes = {}
    if desired.get("status") and desired["status"] != current.get("status"):
        changes["status"] = desired["status"]
    return replace, changes


def normalize(raw):
    """The authorization as returned by this module: never includes the token."""
    if not raw:
        return {}
    perms = raw.get("permissions") or []
    return {
        "id": raw.get("id"),
        "description": raw.get("description") or "",
        "status": raw.get("status", "active"),
        "org_id": raw.get("orgID"),
        "user_id": raw.get("userID"),
        "user": raw.get("user"),
        "permissions": public_permissions(perms),
        "raw_permissions": [{"action": p.get("action"), "resource": dict(p.get("resource") or {})} for p in perms],
        "created_at": raw.get("createdAt"),
    }


def public_permissions(perms):
    """The permissions as returned: sorted, deduplicated, snake_case keys."""
    out = []
    for key in sorted({permission_key(p) for p in perms}, key=_sort_key):
        action, rtype, rid, org_id = key
        resource = {"type": rtype}
        if rid:
            resource["id"] = rid
        if org_id:
            resource["org_id"] = org_id
        out.append({"action": action, "resource": resource})
    return out


def public(auth):
    """The authorization as returned (without the raw permissions used for comparing)."""
    return {k: v for k, v in auth.items() if k != "raw_permissions"} if auth else {}


def predict_new(desired, user_id):
    """The authorization a create would make (its id unknown until then)."""
    return {"id": None, "description": desired["description"], "status": desired.get("status") or "active",
            "org_id": desired["org_id"], "user_id": user_id, "user": None,
            "permissions": public_permissions(desired["permissions"]),
            "raw_permissions": desired["permissions"], "created_at": None}


def diff_view(auth):
    """The authorization as ``--diff`` shows it (never a token)."""
    if not auth:
        return {}
    return {k: auth.get(k) for k in ("description", "status", "user_id", "permissions")}


def create_body(desired):
    """The POST /api/v2/authorizations body."""
    body = {"orgID": desired["org_id"], "description": desired["description"],
            "status": desired.get("status") or "active", "permissions": desired["permissions"]}
    if desired.get("user_id"):
        body["userID"] = desired["user_id"]
    return body


def find_authorizations(conn, org_id, description):
    """The organization's authorizations with this description (normally one, or none)."""
    data = conn.request("GET", "/authorizations", "listing the authorizations of the organization",
                        query={"orgID": org_id}, permission=f"read:orgs/{org_id}/authorizations") or {}
    return [a for a in data.get("authorizations") or []
            if a.get("description") == description and a.get("orgID", org_id) == org_id]


def delete_replaced(conn, old, new, description, write_perm):
    """Delete the authorization ``old`` that ``new`` (just created) replaces.

    If that fails, delete ``new`` again (roll back) and raise: the old token keeps working, the new token (which
    would be in no result) is not left behind, and the description stays unique so a rerun can try again.
    """
    try:
        conn.request("DELETE", f"/authorizations/{old['id']}",
                     f"deleting the replaced authorization {description!r} (id {old['id']})",
                     permission=write_perm, allow_404=True)
    except InfluxDBModuleError as exc:
        try:
            conn.request("DELETE", f"/authorizations/{new['id']}",
                         f"rolling back: deleting the new authorization {description!r} (id {new['id']})",
                         permission=write_perm, allow_404=True)
        except InfluxDBModuleError as cleanup:
            raise InfluxDBModuleError(
                f"Replacing authorization {description!r} failed: {exc.msg}. Rolling back by deleting the new "
                f"authorization (id {new['id']}) failed too: {cleanup.msg}. Two authorizations now have this "
                f"description and the new token is lost: delete authorization {new['id']} by hand, then run the "
                "task again", status=exc.status, response=exc.response, cause=exc.cause)
        raise InfluxDBModuleError(
            f"Replacing authorization {description!r} failed: {exc.msg}. Rolled back: the new authorization "
            f"(id {new['id']}) was deleted again; the old one (id {old['id']}) and its token are unchanged, so the "
            "task can be run again", status=exc.status, response=exc.response, cause=exc.cause)


def run(conn, params, check_mode):
    """Do the work of one task.

    Parameters:
        conn (InfluxDBConnection): the signed-in connection.
        params (dict): the module's parameters.
        check_mode (bool): predict the result without changing anything.

    Returns:
        dict: the module's result (``changed``, ``authorization``, ``replaced``, ``token`` when created, ``diff``).

    Raises:
        InfluxDBModuleError: for a bad option or an InfluxDB failure.
    """
    validate_params(params)
    org = conn.require_org(params.get("org"))
    org_id = org["id"]
    description = params["description"]
    write_perm = f"write:orgs/{org_id}/authorizations"

    matches = find_authorizations(conn, org_id, description)
    if len(matches) > 1:
        raise InfluxDBModuleError(
            f"{len(matches)} authorizations in organization {org.get('name')!r} have the description "
            f"{description!r} (ids {', '.join(sorted(a.get('id') for a in matches))}); descriptions must be unique "
            "for influx_auth to know which one to manage. Delete the extra ones.")
    current = normalize(matches[0]) if matches else {}

    if params["state"] == "absent":
        if not current:
            return {"changed": False, "authorization": {}, "replaced": False, "diff": diff_result({}, {})}
        if not check_mode:
            conn.request("DELETE", f"/authorizations/{current['id']}",
                         f"deleting authorization {description!r}", permission=write_perm, allow_404=True)
        return {"changed": True, "authorization": {}, "replaced": False,
                "diff": diff_result(diff_view(current), {})}

    user_id = None
    if params.get("user"):
        user = conn.find_user(params["user"])
        if not user:
            raise InfluxDBModuleError(f"user {params['user']!r} not found (or the credentials cannot read it: "
                                      "they need read:users)")
        user_id = user["id"]

    def resolve_bucket(name):
        bucket = conn.find_bucket(org_id, name)
        if not bucket:
            raise InfluxDBModuleError(f"bucket {name!r} (in permissions) not found in organization "
                                      f"{org.get('name')!r}")
        return bucket["id"]

    # An all-access token grants its own user: the user asked for, else the existing token's, else
    # the signed-in caller (whom InfluxDB makes the owner of a token created without userID).
    perm_user_id = user_id
    if params.get("all_access") and not perm_user_id:
        perm_user_id = current.get("user_id") or conn.me()["id"]
    desired = desired_state(params, org_id, user_id, desired_permissions(params, org_id, resolve_bucket, perm_user_id))

    if current:
        replace, changes = compare(current, desired)
        if not replace:
            if not changes:
                return {"changed": False, "authorization": public(current), "replaced": False,
                        "diff": diff_result(diff_view(current), diff_view(current))}
            after = dict(current, **changes)
            if not check_mode:
                after = normalize(conn.request("PATCH", f"/authorizations/{current['id']}",
                                               f"updating authorization {description!r}",
                                               body=changes, permission=write_perm))
            return {"changed": True, "authorization": public(after), "replaced": False,
                    "diff": diff_result(diff_view(current), diff_view(after))}

    # create, or replace (create the new one first, then delete the old one)
    if not desired.get("user_id") and current:
        desired["user_id"] = current.get("user_id")
    after = predict_new(desired, desired.get("user_id"))
    result = {"changed": True, "replaced": bool(current)}
    if not check_mode:
        created = conn.request("POST", "/authorizations", f"creating authorization {description!r}",
                               body=create_body(desired), permission=write_perm)
        token = (created or {}).get("token")
        after = normalize(created)
        if current:
            delete_replaced(conn, current, after, description, write_perm)
            result["replaced_id"] = current["id"]
        if token:
            result["token"] = token
    result["authorization"] = public(after)
    result["diff"] = diff_result(diff_view(current), diff_view(after))
    return result


def main():
    run_module(module_kwargs(), run, validate_params)


if __name__ == "__main__":
    main()
