# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared code for the ons.timestream_influxdb influx_* modules.

One argument-spec function (paired with the ``ons.timestream_influxdb.influxdb`` doc fragment), one
connection (token, or username/password signed in for a session), a thin JSON wrapper over the
InfluxDB v2 API built on influxdb-client's transport, and the translation of every transport or
API failure into an ``InfluxDBModuleError`` with a message a person can act on.

Nothing here calls ``exit_json`` or ``fail_json`` except ``run_module``, the one runner every module's
``main()`` hands its work to: all other functions return values or raise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import traceback
import warnings

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

INFLUXDB_CLIENT_IMPORT_ERROR = None
try:
    import urllib3
    from influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException
    from influxdb_client.service.signin_service import SigninService
except ImportError:  # pragma: no cover - exercised by the sanity import test
    INFLUXDB_CLIENT_IMPORT_ERROR = traceback.format_exc()
    HAS_INFLUXDB_CLIENT = False

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except ApiException`` stays valid without influxdb-client."""

        status = None
        reason = None
        body = None
        headers = None
else:
    HAS_INFLUXDB_CLIENT = True

INFLUXDB_CLIENT_REQUIREMENT = "influxdb-client"

#: Page size used when listing; the API's maximum for ``limit`` is 100.
PAGE_SIZE = 100
#: Upper bound on pages walked in one listing (100 * 1000 resources), a guard against a server that
#: ignores ``offset`` and keeps answering the same full page.
MAX_PAGES = 1000

_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_API_SUFFIX_RE = re.compile(r"/api/v2/*$", re.IGNORECASE)
#: What to tell the user when a request path does not exist on the server ``url`` points at.
URL_HINT = ("check url: it must be the base URL of the InfluxDB v2 server, such as https://influxdb.example.com:8086, "
            "without a path (the modules add /api/v2 themselves)")
_PERMISSION_RE = re.compile(r"\b(read|write):[A-Za-z0-9_/-]+")


class InfluxDBModuleError(Exception):
    """A failure with a message meant for the playbook author (never a traceback)."""

    def __init__(self, msg, status=None, details=None):
        super(InfluxDBModuleError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.details = details or {}


def influxdb_argument_spec():
    """The connection options every influx_* module accepts (documented by the doc fragment)."""
    return dict(
        url=dict(type="str", required=True, aliases=["host"], fallback=(env_fallback, ["INFLUX_HOST"])),
        token=dict(type="str", no_log=True),
        username=dict(type="str", aliases=["user_name"]),
        password=dict(type="str", no_log=True),
        org=dict(type="str", fallback=(env_fallback, ["INFLUX_ORG"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=10),
    )


def influxdb_module_kwargs(argument_spec=None, mutually_exclusive=None, required_together=None, **kwargs):
    """Keyword arguments for ``AnsibleModule`` with the connection options merged in.

    ``token`` and ``username``/``password`` are mutually exclusive when both are given in the task;
    the ``INFLUX_TOKEN`` environment variable is only a fallback used when neither is (see
    ``resolve_credentials``), so an AWX job that exports a token can still sign in with a password.
    """
    spec = influxdb_argument_spec()
    spec.update(argument_spec or {})
    result = dict(
        argument_spec=spec,
        mutually_exclusive=[["token", "username"], ["token", "password"]] + list(mutually_exclusive or []),
        required_together=[["username", "password"]] + list(required_together or []),
        supports_check_mode=True,
    )
    result.update(kwargs)
    return result


def resolve_credentials(params, environ=None):
    """Return ``("token", token)`` or ``("password", (username, password))``.

    An explicit ``token`` wins, then ``username``/``password``, then ``INFLUX_TOKEN`` from the
    environment. There are no default credentials: with none of them this raises.
    """
    environ = os.environ if environ is None else environ
    if params.get("token"):
        return "token", params["token"]
    if params.get("username") or params.get("password"):
        if not (params.get("username") and params.get("password")):
            raise InfluxDBModuleError("username and password must be given together")
        return "password", (params["username"], params["password"])
    if environ.get("INFLUX_TOKEN"):
        return "token", environ["INFLUX_TOKEN"]
    raise InfluxDBModuleError(
        "No InfluxDB credentials: set token (or the INFLUX_TOKEN environment variable), "
        "or username and password"
    )


def validate_connection_params(params):
    """Check the connection options before any request; raise naming the bad option."""
    url = params.get("url") or ""
    if not re.match(r"^https?://[^/\s]+", url):
        raise InfluxDBModuleError(
            "url must be an http:// or https:// URL such as https://influxdb.example.com:8086, got %r" % url
        )
    if _API_SUFFIX_RE.search(url):
        raise InfluxDBModuleError(
            "url must be the base URL of the server without /api/v2 (the modules add it), such as %r; got %r"
            % (_API_SUFFIX_RE.sub("", url), url)
        )
    timeout = params.get("timeout")
    if timeout is not None and timeout <= 0:
        raise InfluxDBModuleError("timeout must be a positive number of seconds, got %s" % timeout)
    ca_path = params.get("ca_path")
    if ca_path and not os.path.isfile(ca_path):
        raise InfluxDBModuleError("ca_path %s does not exist or is not a file" % ca_path)


def looks_like_id(value):
    """InfluxDB resource ids are 16 lower-case hex digits."""
    return bool(value) and bool(_ID_RE.match(value))


# --------------------------------------------------------------------------------------------
# Error translation
# --------------------------------------------------------------------------------------------

def _api_body(exc):
    """The error body InfluxDB sent as a dict, or None (no body, not JSON, not an object)."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def is_resource_not_found(exc):
    """True if ``exc`` is InfluxDB's 404 for a resource (or name filter) that does not exist.

    InfluxDB answers a lookup that matches nothing with a JSON error ``{"code": "not found", "message":
    "bucket \"x\" not found"}`` (or ``organization name "x" not found``, ``unable to find DBRP``...). A request
    to a path the server does not have is also a 404, ``{"code": "not found", "message": "path not found"}``,
    and a server (or proxy) that is not InfluxDB answers 404 with some other body; neither means "absent":
    they mean ``url`` is wrong.
    """
    if getattr(exc, "status", None) != 404:
        return False
    data = _api_body(exc)
    if not data or data.get("code") != "not found":
        return False
    message = str(data.get("message") or "").strip().lower()
    return bool(message) and message != "path not found"


def _api_message(exc):
    """The ``message`` InfluxDB put in an error body (or the raw body, or the reason)."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            return body.strip()[:500]
        if isinstance(data, dict):
            parts = [str(data[k]) for k in ("message", "err") if data.get(k)]
            if parts:
                return ": ".join(parts)
            if data.get("code"):
                return str(data["code"])
        return body.strip()[:500]
    message = getattr(exc, "message", None)
    if message and message != "no response":
        return str(message)
    return str(getattr(exc, "reason", "") or "")


def translate_error(exc, url, action, permission=None):
    """Turn an influxdb-client / urllib3 exception into an ``InfluxDBModuleError``.

    ``action`` says what was being done ("creating bucket 'x'"); ``permission`` is the permission
    that action needs (e.g. ``write:orgs/<id>/buckets``), named in 401/403 messages when InfluxDB
    itself does not name one.
    """
    if isinstance(exc, InfluxDBModuleError):
        return exc
    if isinstance(exc, ApiException):
        status = getattr(exc, "status", None)
        reason = str(getattr(exc, "reason", "") or "")
        if not status:
            if "SSL" in reason or "CERTIFICATE" in reason.upper():
                return InfluxDBModuleError(
                    "TLS failure talking to %s while %s: %s. Point ca_path at the CA bundle that signed "
                    "the server certificate (or, for testing only, set validate_certs=false)"
                    % (url, action, reason.replace("\n", " ").strip()),
                )
            return InfluxDBModuleError("Request to %s failed while %s: %s" % (url, action, reason.strip()))
        message = _api_message(exc)
        if status == 401:
            named = _PERMISSION_RE.search(message or "")
            if named:
                return InfluxDBModuleError(
                    "Permission denied (HTTP 401) while %s: the credentials lack %s (InfluxDB says: %s)"
                    % (action, named.group(0), message), status=status)
            return InfluxDBModuleError(
                "Unauthorized (HTTP 401) while %s: %s. Check the token, or the username and password%s"
                % (action, message or "unauthorized",
                   "; the operation needs %s" % permission if permission else ""), status=status)
        if status == 403:
            named = _PERMISSION_RE.search(message or "")
            needed = named.group(0) if named else permission
            return InfluxDBModuleError(
                "Forbidden (HTTP 403) while %s: %s%s"
                % (action, message or "forbidden",
                   " (the credentials need %s)" % needed if needed else ""), status=status)
        if status == 404:
            if not is_resource_not_found(exc):
                return InfluxDBModuleError(
                    "Not found (HTTP 404) while %s: %s answered %r, which is not an InfluxDB v2 API answer about a "
                    "missing resource; %s" % (action, url, (message or "not found")[:200], URL_HINT),
                    status=status)
            return InfluxDBModuleError("Not found (HTTP 404) while %s: %s" % (action, message or "not found"),
                                       status=status)
        return InfluxDBModuleError("InfluxDB answered HTTP %s while %s: %s" % (status, action, message),
                                   status=status)
    if HAS_INFLUXDB_CLIENT and isinstance(exc, urllib3.exceptions.HTTPError):
        inner = exc
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            inner = exc.reason
        if isinstance(inner, urllib3.exceptions.SSLError):
            return InfluxDBModuleError(
                "TLS failure talking to %s while %s: %s. Point ca_path at the CA bundle that signed the "
                "server certificate (or, for testing only, set validate_certs=false)" % (url, action, inner))
        if isinstance(inner, (urllib3.exceptions.ReadTimeoutError,)):
            return InfluxDBModuleError("Timed out waiting for %s while %s; raise timeout if the server is slow"
                                       % (url, action))
        if isinstance(inner, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return InfluxDBModuleError("Cannot reach InfluxDB at %s while %s: %s" % (url, action, _short(inner)))
        if isinstance(inner, urllib3.exceptions.ProtocolError):
            return InfluxDBModuleError("Connection to %s broke while %s: %s" % (url, action, _short(inner)))
        return InfluxDBModuleError("Request to %s failed while %s: %s" % (url, action, _short(inner)))
    if isinstance(exc, OSError):
        return InfluxDBModuleError("Cannot reach InfluxDB at %s while %s: %s" % (url, action, exc))
    if isinstance(exc, ValueError):
        return InfluxDBModuleError("Unexpected answer from %s while %s: %s" % (url, action, exc))
    return None


def _short(exc):
    text = str(exc)
    # urllib3 prefixes messages with the connection object's repr; keep the useful tail.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text


# --------------------------------------------------------------------------------------------
# Connection
# --------------------------------------------------------------------------------------------

class InfluxDBConnection(object):
    """An authenticated connection: ``request()`` returns decoded JSON or raises InfluxDBModuleError."""

    def __init__(self, params, environ=None):
        validate_connection_params(params)
        self.url = params["url"].rstrip("/")
        self.default_org = params.get("org")
        self.auth_kind, credential = resolve_credentials(params, environ)
        self.secret_values = []
        kwargs = dict(
            url=self.url,
            timeout=int(params.get("timeout") or 10) * 1000,
            verify_ssl=params.get("validate_certs", True),
            ssl_ca_cert=params.get("ca_path"),
            retries=False,
        )
        if self.auth_kind == "token":
            kwargs["token"] = credential
            self.secret_values.append(credential)
            self.username = None
        else:
            kwargs["token"] = None
            kwargs["username"], kwargs["password"] = credential
            self.username = credential[0]
            self.secret_values.append(credential[1])
        if not params.get("validate_certs", True):
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.client = InfluxDBClient(**kwargs)
        self._signed_in = False

    # -- session -------------------------------------------------------------------------
    def sign_in(self):
        """POST /api/v2/signin with basic auth and keep the session cookie (username/password only)."""
        if self.auth_kind != "password" or self._signed_in:
            return
        api_client = self.client.api_client
        try:
            _data, _status, headers = SigninService(api_client).post_signin_with_http_info()
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
            err = translate_error(exc, self.url, "signing in as user %r" % self.username)
            if err is None:
                raise
            if err.status == 401:
                err = InfluxDBModuleError("Sign-in as user %r failed (HTTP 401): wrong username or password"
                                          % self.username, status=401)
            elif err.status == 403:
                err = InfluxDBModuleError("Sign-in as user %r refused (HTTP 403): the user is inactive"
                                          % self.username, status=403)
            raise err
        cookie = _session_cookie(headers)
        if not cookie:
            raise InfluxDBModuleError("Sign-in as user %r succeeded but %s returned no session cookie"
                                      % (self.username, self.url))
        api_client.cookie = cookie
        self._signed_in = True

    def close(self):
        """Sign out (if signed in) and release the connection pool; never raises."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.close()
        except Exception:  # noqa: BLE001 - best effort: the session expires on its own
            pass

    # -- requests ------------------------------------------------------------------------
    def request(self, method, path, action, query=None, body=None, permission=None, allow_404=False):
        """Send one request to ``/api/v2<path>``; return the decoded JSON body (None for 204).

        ``action`` and ``permission`` feed the error message. With ``allow_404`` InfluxDB's "not found" for a
        resource returns None; any other 404 (a path the server does not have: ``url`` is wrong) raises.
        """
        if self.auth_kind == "password" and not self._signed_in:
            self.sign_in()
        query_params = [(k, v) for k, v in (query or {}).items() if v is not None]
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.client.api_client.call_api(
                "/api/v2" + path, method,
                query_params=query_params,
                header_params=headers,
                body=body,
                auth_settings=[],
                _preload_content=False,
                _return_http_data_only=True,
            )
            raw = response.data
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
            err = translate_error(exc, self.url, action, permission)
            if err is None:
                raise
            if allow_404 and is_resource_not_found(exc):
                return None
            raise err
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        except ValueError:
            raise InfluxDBModuleError("InfluxDB at %s answered %s %s with something that is not JSON"
                                      % (self.url, method, path))

    def list_paginated(self, path, key, action, query=None, permission=None):
        """Walk a list endpoint page by page (``limit``/``offset``) and return every item.

        InfluxDB answers a name filter that matches nothing with 404 (``organization name "x" not found``);
        that is an empty list here. Any other 404 (``path not found``, a body that is not InfluxDB's) raises,
        naming ``url``: a wrong URL must never read as "nothing exists".
        """
        items = []
        offset = 0
        for _page in range(MAX_PAGES):
            q = dict(query or {})
            q.update(limit=PAGE_SIZE, offset=offset)
            data = self.request("GET", path, action, query=q, permission=permission, allow_404=True) or {}
            page = data.get(key) or []
            items.extend(page)
            if len(page) < PAGE_SIZE:
                break
            offset += len(page)
        return items

    # -- organizations ---------------------------------------------------------------------
    def find_org(self, name_or_id, action=None, by_id=True):
        """Resolve an organization by name (exact) or, with ``by_id``, by id; return its dict or None.

        ``by_id=False`` is the exact-name lookup (an id given as a name must not match another organization).
        """
        action = action or "looking up organization %r" % name_or_id
        orgs = self.list_paginated("/orgs", "orgs", action, query={"org": name_or_id}, permission="read:orgs")
        named = [o for o in orgs if o.get("name") == name_or_id]
        if named:
            return named[0]
        if by_id and looks_like_id(name_or_id):
            return self.request("GET", "/orgs/%s" % name_or_id, action, permission="read:orgs", allow_404=True)
        return None

    def require_org(self, name_or_id):
        """The organization the task is about (``org`` option or INFLUX_ORG), by name or id; raises if unknown.

        A token limited to a few buckets usually cannot read organizations: given an id, such a token still
        works (the id is used as is when the organization cannot be read).
        """
        name_or_id = name_or_id or self.default_org
        if not name_or_id:
            raise InfluxDBModuleError("org is required (set org, or the INFLUX_ORG environment variable)")
        try:
            org = self.find_org(name_or_id)
        except InfluxDBModuleError as exc:
            if exc.status in (401, 403) and looks_like_id(name_or_id):
                return {"id": name_or_id, "name": name_or_id}
            raise
        if not org and looks_like_id(name_or_id):
            return {"id": name_or_id, "name": name_or_id}
        if not org:
            raise InfluxDBModuleError(
                "Organization %r not found (or the credentials cannot read it: they need read:orgs)" % name_or_id)
        return org

    # -- buckets ---------------------------------------------------------------------------
    def find_bucket(self, org_id, name_or_id):
        """Find a bucket of an organization by exact name (paginated), or by id; None if absent."""
        action = "looking up bucket %r" % name_or_id
        perm = "read:orgs/%s/buckets" % org_id
        buckets = self.list_paginated("/buckets", "buckets", action,
                                      query={"orgID": org_id, "name": name_or_id}, permission=perm)
        named = [b for b in buckets if b.get("name") == name_or_id and b.get("orgID", org_id) == org_id]
        if named:
            return named[0]
        if looks_like_id(name_or_id):
            bucket = self.request("GET", "/buckets/%s" % name_or_id, action, permission=perm, allow_404=True)
            if bucket and bucket.get("orgID", org_id) == org_id:
                return bucket
        return None

    # -- users -----------------------------------------------------------------------------
    def find_user(self, name_or_id):
        action = "looking up user %r" % name_or_id
        users = self.list_paginated("/users", "users", action, query={"name": name_or_id},
                                    permission="read:users")
        named = [u for u in users if u.get("name") == name_or_id]
        if named:
            return named[0]
        if looks_like_id(name_or_id):
            return self.request("GET", "/users/%s" % name_or_id, action, permission="read:users", allow_404=True)
        return None

    def me(self):
        return self.request("GET", "/me", "reading the signed-in user")

    def check_password(self, username, password):
        """True if ``username`` can sign in with ``password``; False if rejected (401/403).

        Used to keep ``update_password=always`` idempotent: the session it opens is closed again.
        """
        api_client = self.client.api_client
        headers = urllib3.util.make_headers(basic_auth="%s:%s" % (username, password))
        headers["Accept"] = "application/json"
        try:
            response = api_client.rest_client.pool_manager.request(
                "POST", self.url + "/api/v2/signin", headers=headers,
                timeout=urllib3.Timeout(total=api_client.configuration.timeout / 1000.0))
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
            err = translate_error(exc, self.url, "checking the password of user %r" % username)
            if err is None:
                raise
            raise err
        if response.status in (401, 403):
            return False
        if not 200 <= response.status <= 299:
            raise InfluxDBModuleError("InfluxDB answered HTTP %s while checking the password of user %r"
                                      % (response.status, username), status=response.status)
        cookie = _session_cookie(response.headers)
        if cookie:
            try:
                api_client.rest_client.pool_manager.request(
                    "POST", self.url + "/api/v2/signout", headers={"Cookie": cookie},
                    timeout=urllib3.Timeout(total=api_client.configuration.timeout / 1000.0))
            except Exception:  # noqa: BLE001 - the session expires on its own
                pass
        return True


def _session_cookie(headers):
    """``name=value`` of the session cookie from a Set-Cookie header (attributes dropped)."""
    if headers is None:
        return None
    value = headers.get("set-cookie") or headers.get("Set-Cookie")
    if not value:
        return None
    return value.split(";", 1)[0].strip() or None


def connect(params, environ=None):
    """Open a connection from module params; signs in first with username/password."""
    if not HAS_INFLUXDB_CLIENT:
        raise InfluxDBModuleError("influxdb-client is required")
    conn = InfluxDBConnection(params, environ)
    try:
        conn.sign_in()
    except Exception:
        conn.close()
        raise
    return conn


# --------------------------------------------------------------------------------------------
# The one runner of every influx_* module
# --------------------------------------------------------------------------------------------

def run_module(module_kwargs, run, validate_params=None):
    """Build the AnsibleModule, check the options, connect, ``run``, close, and exit.

    ``module_kwargs`` is what ``influxdb_module_kwargs`` returns; ``validate_params(params)`` checks the
    module's own options before any request (it raises ``InfluxDBModuleError``); ``run(conn, params,
    check_mode)`` does the work and returns the result dict, whose ``diff`` is dropped unless diff mode is
    on. The credentials are registered as no_log values, so they are masked in any output. This is the only
    function here that exits (``exit_json`` / ``fail_json``).
    """
    module = AnsibleModule(**module_kwargs)
    if not HAS_INFLUXDB_CLIENT:
        module.fail_json(msg=missing_required_lib(INFLUXDB_CLIENT_REQUIREMENT),
                         exception=INFLUXDB_CLIENT_IMPORT_ERROR)
    conn = None
    result = None
    failure = None
    try:
        if validate_params is not None:
            validate_params(module.params)
        conn = connect(module.params)
        for secret in conn.secret_values:
            module.no_log_values.add(secret)
        result = run(conn, module.params, module.check_mode)
    except InfluxDBModuleError as exc:
        failure = exc
    finally:
        if conn is not None:
            conn.close()
    if failure is not None:
        module.fail_json(msg=failure.msg, status=failure.status, **failure.details)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(\d+)(w|d|h|m|s)")


def parse_duration(value, option="retention"):
    """Parse ``30d``, ``12h``, ``1h30m``, ``2w`` into seconds; ``0``/``infinite`` give 0.

    Raises InfluxDBModuleError naming ``option`` for anything else (including sub-second units).
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("0", "infinite", "inf", "forever", "0s"):
        return 0
    if not text or not re.match(r"^(\d+(w|d|h|m|s))+$", text):
        raise InfluxDBModuleError(
            "%s must be a duration such as 30d, 12h, 1h30m or 2w (units w, d, h, m, s), "
            "or 0/infinite; got %r" % (option, value))
    seen = []
    total = 0
    for number, unit in _DURATION_RE.findall(text):
        if unit in seen:
            raise InfluxDBModuleError("%s repeats the unit %r: %r" % (option, unit, value))
        seen.append(unit)
        total += int(number) * _DURATION_UNITS[unit]
    return total


def format_duration(seconds):
    """Seconds as the shortest InfluxDB-style duration (``0`` for infinite)."""
    if seconds is None:
        return None
    seconds = int(seconds)
    if seconds == 0:
        return "infinite"
    out = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        if seconds >= size:
            out.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Small shared helpers for the modules
# --------------------------------------------------------------------------------------------

def diff_result(before, after):
    """The ``diff`` return value: ``{}`` stands for "does not exist"."""
    return {"before": before or {}, "after": after or {}}
