#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: influx_user
short_description: Manage InfluxDB v2 users
version_added: 0.1.0
description:
  - Create, update and delete users in InfluxDB v2 (InfluxDB OSS 2.x, Amazon Timestream for InfluxDB).
  - A user is found by its exact name. Its status is updated in place.
  - A password cannot be read back. With O(update_password=on_create) (the default) it is only set when the user
    is created; changing it later is the job of the credential rotation. With O(update_password=always) the module
    signs in as the user with O(user_password) to find out whether it is already set, and only changes it if not.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  name:
    description:
      - Name of the user.
    type: str
    required: true
  status:
    description:
      - V(active) lets the user sign in and use their tokens, V(inactive) disables them.
      - When not set, a new user is active and an existing user keeps its status.
    type: str
    choices: [ active, inactive ]
  user_password:
    description:
      - Password of the managed user O(name). InfluxDB requires 8 to 72 characters (at most 72 bytes in UTF-8);
        the module checks that before any request.
      - Without it a new user is created without a password and can only use tokens.
      - This is not O(password), which is the password of O(username), the account the module signs in with.
        The names differ on purpose, so that connection options set once in C(module_defaults) can never become
        the password of a user this module creates.
    type: str
  update_password:
    description:
      - V(on_create) sets O(user_password) only when the user is created.
      - V(always) also sets it on an existing user whose password is different. The check signs in as the user, so
        an inactive user (who cannot sign in) always gets the password set and the task reports a change.
    type: str
    choices: [ on_create, always ]
    default: on_create
  state:
    description:
      - V(present) creates or updates the user, V(absent) deletes it (and its tokens).
    type: str
    choices: [ present, absent ]
    default: present
seealso:
  - module: ons.timestream_influxdb.influx_auth
  - module: ons.timestream_influxdb.influx_org
extends_documentation_fragment:
  - ons.timestream_influxdb.influxdb
  - ons.timestream_influxdb.attributes
notes:
  - The connection option O(org) is not used by this module.
  - Needs C(read:users) and C(write:users).
  - The password never appears in the module's output or diff; use C(no_log) on tasks that pass it from variables
    you also print elsewhere.
"""

EXAMPLES = r"""
- name: Service user for the ingest Lambda functions
  ons.timestream_influxdb.influx_user:
    url: "{{ influx_url }}"
    token: "{{ influx_operator_token }}"
    name: ingest
    user_password: "{{ ingest_password }}"

- name: Enforce the password from the vault on every run
  ons.timestream_influxdb.influx_user:
    url: "{{ influx_url }}"
    token: "{{ influx_operator_token }}"
    name: analyst
    user_password: "{{ analyst_password }}"
    update_password: always

- name: Suspend a user without deleting it
  ons.timestream_influxdb.influx_user:
    url: "{{ influx_url }}"
    token: "{{ influx_operator_token }}"
    name: contractor
    status: inactive
"""

RETURN = r"""
user:
  description:
    - The user after the task (predicted in check mode, where RV(user.id) is null for a user that would be created).
      Empty after V(absent). Never contains the password.
  returned: always
  type: dict
  contains:
    id:
      description: User id.
      type: str
      sample: 0a3cbb5dd526a000
    name:
      description: User name.
      type: str
      sample: ingest
    status:
      description: V(active) or V(inactive).
      type: str
      sample: active
password_changed:
  description: Whether the password was (or, in check mode, would be) set.
  returned: always
  type: bool
  sample: false
diff:
  description: Before and after state of the user, when run with C(--diff). The password is never shown.
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"status": "active"}, "after": {"status": "inactive"}}
"""

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import diff_result
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_module_kwargs
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import run_module

MIN_PASSWORD_LENGTH = 8
#: InfluxDB stores passwords with bcrypt, which reads at most 72 bytes; it refuses longer ones (HTTP 400).
MAX_PASSWORD_BYTES = 72


def argument_spec():
    """The module's own options (the connection options come from ``influxdb_module_kwargs``)."""
    return dict(
        name=dict(type="str", required=True),
        status=dict(type="str", choices=["active", "inactive"]),
        user_password=dict(type="str", no_log=True),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def validate_params(params):
    """Check the options before any request (the password's length too); raises naming the bad one."""
    if not (params.get("name") or "").strip():
        raise InfluxDBModuleError("name must not be empty")
    password = params.get("user_password")
    if password is None:
        return
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InfluxDBModuleError(f"user_password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InfluxDBModuleError(f"user_password must be at most {MAX_PASSWORD_BYTES} characters long "
                                  f"({MAX_PASSWORD_BYTES} bytes in UTF-8), which is the most InfluxDB accepts")


def normalize(raw):
    """The API's user as this module's return value (``{}`` for none); never a password."""
    if not raw:
        return {}
    return {"id": raw.get("id"), "name": raw.get("name"), "status": raw.get("status", "active")}


def desired_state(params):
    """The user the task asks for; a None ``status`` is not managed."""
    return {"name": params["name"], "status": params.get("status")}


def compare(current, desired):
    """The fields whose wanted value differs from the current one."""
    changes = {}
    if desired.get("status") is not None and desired["status"] != current.get("status"):
        changes["status"] = desired["status"]
    return changes


def password_needs_setting(current, params, password_matches=None):
    """Decide whether to set the password.

    ``password_matches`` is a callable returning whether the current password already is ``password``; it is only
    called for an existing user with ``update_password=always``.
    """
    if not params.get("user_password"):
        return False
    if not current:
        return True
    if params.get("update_password") != "always":
        return False
    return not password_matches()


def predict(current, desired, changes):
    """The user as it will be once created or updated."""
    if current:
        after = dict(current)
        after.update(changes)
        return after
    return {"id": None, "name": desired["name"], "status": desired.get("status") or "active"}


def diff_view(user, password_changed=False, side="before"):
    """The user as ``--diff`` shows it: a changed password is named, never shown."""
    if not user:
        return {}
    view = {"name": user.get("name"), "status": user.get("status")}
    if password_changed:
        view["password"] = "(previous password)" if side == "before" else "(new password)"
    return view


def run(conn, params, check_mode):
    """Do the work of one task.

    Parameters:
        conn (InfluxDBConnection): the signed-in connection.
        params (dict): the module's parameters.
        check_mode (bool): predict the result without changing anything.

    Returns:
        dict: the module's result (``changed``, ``user``, ``password_changed``, ``diff``).

    Raises:
        InfluxDBModuleError: for a bad option or an InfluxDB failure.
    """
    validate_params(params)
    name = params["name"]
    current = normalize(conn.find_user(name))
    if current and current.get("name") != name:
        current = {}  # an id given as name matched another user: names are the key here

    if params["state"] == "absent":
        if not current:
            return {"changed": False, "user": {}, "password_changed": False, "diff": diff_result({}, {})}
        if not check_mode:
            conn.request("DELETE", f"/users/{current['id']}", f"deleting user {name!r}",
                         permission=f"write:users/{current['id']}", allow_404=True)
        return {"changed": True, "user": {}, "password_changed": False,
                "diff": diff_result(diff_view(current), {})}

    desired = desired_state(params)

    def matches():
        return conn.check_password(name, params["user_password"])

    set_password = password_needs_setting(current, params, matches)
    if not current:
        after = predict({}, desired, {})
        if not check_mode:
            body = {"name": name, "status": desired.get("status") or "active"}
            after = normalize(conn.request("POST", "/users", f"creating user {name!r}", body=body,
                                           permission="write:users"))
            if set_password:
                _set_password_of_new_user(conn, after, params["user_password"])
        return {"changed": True, "user": after, "password_changed": set_password,
                "diff": diff_result({}, diff_view(after))}

    changes = compare(current, desired)
    if not changes and not set_password:
        return {"changed": False, "user": current, "password_changed": False,
                "diff": diff_result(diff_view(current), diff_view(current))}
    after = predict(current, desired, changes)
    if not check_mode:
        if changes:
            body = {"name": name, "status": changes["status"]}
            after = normalize(conn.request("PATCH", f"/users/{current['id']}", f"updating user {name!r}",
                                           body=body, permission=f"write:users/{current['id']}"))
        if set_password:
            _set_password(conn, current, params["user_password"])
    return {"changed": True, "user": after, "password_changed": set_password,
            "diff": diff_result(diff_view(current, set_password, "before"),
                                diff_view(after, set_password, "after"))}


def _set_password(conn, user, password):
    """POST /api/v2/users/<id>/password."""
    conn.request("POST", f"/users/{user['id']}/password", f"setting the password of user {user['name']!r}",
                 body={"password": password}, permission=f"write:users/{user['id']}")


def _set_password_of_new_user(conn, user, password):
    """Set the password of the user just created; if that fails, delete the user again and raise.

    Otherwise the user would stay without a password, and with update_password=on_create every rerun would
    report ok while it cannot sign in.
    """
    try:
        _set_password(conn, user, password)
    except InfluxDBModuleError as exc:
        try:
            conn.request("DELETE", f"/users/{user['id']}", f"deleting user {user['name']!r} again",
                         permission=f"write:users/{user['id']}", allow_404=True)
        except InfluxDBModuleError as cleanup:
            raise InfluxDBModuleError(
                f"{exc.msg}. User {user['name']!r} (id {user['id']}) was created without a password, and deleting "
                f"it again failed too: {cleanup.msg}. "
                "Delete the user (or set its password) before running the task again",
                status=exc.status, response=exc.response, cause=exc.cause)
        raise InfluxDBModuleError(
            f"{exc.msg}. User {user['name']!r} was created, then deleted again so that it is not left without a "
            "password; nothing was changed", status=exc.status, response=exc.response, cause=exc.cause)


def main():
    run_module(influxdb_module_kwargs(argument_spec()), run, validate_params)


if __name__ == "__main__":
    main()
