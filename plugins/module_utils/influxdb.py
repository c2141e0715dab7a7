# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared code for the ons.timestream_influxdb influx_* modules.

One argument-spec function (paired with the ``ons.timestream_influxdb.influxdb`` doc fragment), one
connection (token, or username/password signed in for a session), a thin JSON wrapper over the
InfluxDB v2 API built on influxdb-client's transport, and the translation of every transport or
API failure into an ``InfluxDBModuleError`` with a message a person can act on, plus what InfluxDB
answered (``response``) and the exception behind it (``error``), as amazon.aws's ``fail_json_aws``
attaches them.

Nothing here calls ``exit_json`` or ``fail_json`` except ``run_module``, the one runner every module's
``main()`` hands its work to: all other functions return values or raise.
"""

import json
import os
import re
import traceback
import warnings
from typing import Any
from typing import Callable
from typing import Dict
from typing import List
from typing import Mapping
from typing import Optional
from typing import Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.basic import missing_required_lib

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
#: The ``timeout`` option's default, in seconds.
DEFAULT_TIMEOUT = 10

_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_API_SUFFIX_RE = re.compile(r"/api/v2/*$", re.IGNORECASE)
#: What to tell the user when a request path does not exist on the server ``url`` points at.
URL_HINT = ("check url: it must be the base URL of the InfluxDB v2 server, such as https://influxdb.example.com:8086, "
            "without a path (the modules add /api/v2 themselves)")
_PERMISSION_RE = re.compile(r"\b(read|write):[A-Za-z0-9_/-]+")
#: Response headers worth showing in a failure (never Set-Cookie: it carries the session).
_SHOWN_HEADERS = ("content-type", "x-platform-error-code", "x-influxdb-version", "x-influxdb-build")
#: How much of a response body a failure shows.
_MAX_BODY_SHOWN = 2000
#: OpenSSL's words when a TLS client hello is answered in plain text (the port speaks HTTP, not HTTPS).
_PLAIN_HTTP_MARKERS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
                       "packet length too long", "http request")


class InfluxDBModuleError(Exception):
    """A failure with a message meant for the playbook author (never a traceback).

    ``status`` is the HTTP status InfluxDB answered (None when there was no answer), ``response``
    what it answered (status, reason, the headers worth showing, the body), ``cause`` the exception
    behind the failure; ``result()`` turns them into ``fail_json`` keys.
    """

    def __init__(self, msg: str, status: Optional[int] = None, details: Optional[Dict[str, Any]] = None,
                 response: Optional[Dict[str, Any]] = None, cause: Optional[BaseException] = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.details = details or {}
        self.response = response
        self.cause = cause

    def result(self) -> Dict[str, Any]:
        """The keys ``fail_json`` gets besides ``msg``; keys that would carry nothing are left out.

        Returns:
            dict: ``status`` (int), ``response`` (dict) and ``error`` (``{type, message}`` of the exception
            behind the failure) when known, plus ``details``.
        """
        out: Dict[str, Any] = {}
        if self.status is not None:
            out["status"] = self.status
        if self.response:
            out["response"] = self.response
        if self.cause is not None:
            out["error"] = describe_exception(self.cause)
        out.update((k, v) for k, v in self.details.items() if v is not None)
        return out


def describe_exception(exc: BaseException) -> Dict[str, str]:
    """The type and message of an exception, for a failure's ``error`` key.

    influxdb-client's ``ApiException`` prints every response header (the session cookie included),
    so only its status and reason are kept; what InfluxDB answered is in ``response``.

    Parameters:
        exc (BaseException): the exception.

    Returns:
        dict: ``type`` (module and class name) and ``message``.
    """
    kind = f"{type(exc).__module__}.{type(exc).__name__}"
    if isinstance(exc, ApiException):
        status = getattr(exc, "status", None)
        reason = str(getattr(exc, "reason", "") or "").replace("\n", " ").strip()
        message = f"({status}) {reason}".strip() if status else reason or "no response"
    else:
        message = _short(exc)
    return {"type": kind, "message": message}


def influxdb_argument_spec() -> Dict[str, Dict[str, Any]]:
    """The connection options every influx_* module accepts (documented by the doc fragment).

    Returns:
        dict: an ``argument_spec`` fragment: url, token, username, password, org, validate_certs,
        ca_path, timeout.
    """
    return dict(
        url=dict(type="str", required=True, aliases=["host"], fallback=(env_fallback, ["INFLUX_HOST"])),
        token=dict(type="str", no_log=True),
        username=dict(type="str", aliases=["user_name"]),
        password=dict(type="str", no_log=True),
        org=dict(type="str", fallback=(env_fallback, ["INFLUX_ORG"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
    )


def influxdb_module_kwargs(argument_spec: Optional[Dict[str, Any]] = None, mutually_exclusive: Optional[list] = None,
                           required_together: Optional[list] = None, **kwargs: Any) -> Dict[str, Any]:
    """Keyword arguments for ``AnsibleModule`` with the connection options merged in.

    ``token`` and ``username``/``password`` are mutually exclusive when both are given in the task;
    the ``INFLUX_TOKEN`` environment variable is only a fallback used when neither is (see
    ``resolve_credentials``), so an AWX job that exports a token can still sign in with a password.

    Parameters:
        argument_spec (dict): the module's own options.
        mutually_exclusive (list): more mutually exclusive groups.
        required_together (list): more groups required together.
        kwargs: any other ``AnsibleModule`` keyword argument (``required_if``...).

    Returns:
        dict: keyword arguments for ``AnsibleModule`` (check mode supported).
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


def resolve_credentials(params: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> Tuple[str, Any]:
    """The credentials to use: an explicit ``token`` wins, then ``username``/``password``, then ``INFLUX_TOKEN``.

    Parameters:
        params (dict): the module's parameters.
        environ (dict): the environment (``os.environ`` when None).

    Returns:
        tuple: ``("token", token)`` or ``("password", (username, password))``.

    Raises:
        InfluxDBModuleError: with no credentials at all (there are no defaults), or only half of
        username/password.
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


def validate_connection_params(params: Mapping[str, Any]) -> None:
    """Check the connection options before any request.

    Parameters:
        params (dict): the module's parameters.

    Raises:
        InfluxDBModuleError: naming the bad option (url, timeout, ca_path).
    """
    url = params.get("url") or ""
    if not re.match(r"^https?://[^/\s]+", url):
        raise InfluxDBModuleError(
            f"url must be an http:// or https:// URL such as https://influxdb.example.com:8086, got {url!r}"
        )
    if _API_SUFFIX_RE.search(url):
        raise InfluxDBModuleError(
            "url must be the base URL of the server without /api/v2 (the modules add it), "
            f"such as {_API_SUFFIX_RE.sub('', url)!r}; got {url!r}"
        )
    timeout = params.get("timeout")
    if timeout is not None and timeout <= 0:
        raise InfluxDBModuleError(f"timeout must be a positive number of seconds, got {timeout}")
    ca_path = params.get("ca_path")
    if ca_path and not os.path.isfile(ca_path):
        raise InfluxDBModuleError(f"ca_path {ca_path} does not exist or is not a file")


def looks_like_id(value: Optional[str]) -> bool:
    """Whether ``value`` has the form of an InfluxDB resource id (16 lower-case hex digits)."""
    return bool(value) and bool(_ID_RE.match(value))


# --------------------------------------------------------------------------------------------
# Error translation
# --------------------------------------------------------------------------------------------

def _body_text(exc: BaseException) -> Optional[str]:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return body or None


def _api_body(exc: BaseException) -> Optional[Dict[str, Any]]:
    """The error body InfluxDB sent as a dict, or None (no body, not JSON, not an object)."""
    body = _body_text(exc)
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def is_resource_not_found(exc: BaseException) -> bool:
    """Whether ``exc`` is InfluxDB's 404 for a resource (or name filter) that does not exist.

    InfluxDB answers a lookup that matches nothing with a JSON error ``{"code": "not found", "message":
    "bucket \"x\" not found"}`` (or ``organization name "x" not found``, ``unable to find DBRP``...). A request
    to a path the server does not have is also a 404, ``{"code": "not found", "message": "path not found"}``,
    and a server (or proxy) that is not InfluxDB answers 404 with some other body; neither means "absent":
    they mean ``url`` is wrong.

    Parameters:
        exc (BaseException): what the client raised.

    Returns:
        bool: True only for InfluxDB's own "not found" about a resource.
    """
    if getattr(exc, "status", None) != 404:
        return False
    data = _api_body(exc)
    if not data or data.get("code") != "not found":
        return False
    message = str(data.get("message") or "").strip().lower()
    return bool(message) and message != "path not found"


def _api_message(exc: BaseException) -> str:
    """The ``message`` InfluxDB put in an error body (or the raw body, or the reason)."""
    body = _body_text(exc)
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


def response_details(exc: BaseException) -> Optional[Dict[str, Any]]:
    """What InfluxDB answered, for a failure's ``response`` key; None when there was no answer.

    Parameters:
        exc (BaseException): an ``ApiException`` (others have no response).

    Returns:
        dict: ``status``, ``reason``, ``headers`` (only those worth showing: never Set-Cookie) and
        ``body`` (decoded JSON when it is JSON, else text, cut at 2000 characters).
    """
    if not isinstance(exc, ApiException) or not getattr(exc, "status", None):
        return None
    out: Dict[str, Any] = {"status": exc.status}
    if getattr(exc, "reason", None):
        out["reason"] = str(exc.reason)
    headers = getattr(exc, "headers", None) or {}
    shown = {}
    for name in _SHOWN_HEADERS:
        value = headers.get(name) if hasattr(headers, "get") else None
        if value is None and hasattr(headers, "items"):
            value = next((v for k, v in headers.items() if str(k).lower() == name), None)
        if value is not None:
            shown[name] = value
    if shown:
        out["headers"] = shown
    body = _body_text(exc)
    if body:
        try:
            out["body"] = json.loads(body)
        except ValueError:
            out["body"] = body[:_MAX_BODY_SHOWN]
    return out


def _speaks_plain_http(text: str) -> bool:
    return any(marker in text for marker in _PLAIN_HTTP_MARKERS)


def _tls_error(url: str, action: str, reason: str, validate_certs: bool, exc: BaseException) -> InfluxDBModuleError:
    """The message for a failed TLS handshake: a plain-HTTP port, or a certificate that cannot be verified."""
    # The reason without the exception's class name and OpenSSL's source line ("SSLError", "(_ssl.c:1006)").
    reason = re.sub(r"\s*\(_ssl\.c:\d+\)", "", reason.replace("\n", " ")).strip()
    reason = re.sub(r"^\w*Error\s+(?=\S)", "", reason)
    if _speaks_plain_http(reason):
        plain = re.sub(r"^https://", "http://", url, flags=re.IGNORECASE)
        return InfluxDBModuleError(
            f"TLS failure talking to {url} while {action}: the server does not speak TLS on that port "
            f"(it answered the TLS handshake in plain HTTP: {reason}). Use a url that starts with http://, "
            f"such as {plain}; validate_certs and ca_path cannot help, they only apply to a server that speaks TLS",
            cause=exc)
    if validate_certs:
        hint = ("Point ca_path at the CA bundle that signed the server certificate "
                "(or, for testing only, set validate_certs=false)")
    else:
        hint = "validate_certs is already false, so this is not about the certificate: check url and the server's TLS setup"
    return InfluxDBModuleError(f"TLS failure talking to {url} while {action}: {reason}. {hint}", cause=exc)


def _timeout_error(url: str, action: str, timeout: Optional[int], exc: BaseException, connecting: bool) -> InfluxDBModuleError:
    seconds = timeout if timeout is not None else DEFAULT_TIMEOUT
    if connecting:
        what = f"Cannot reach InfluxDB at {url} while {action}: connecting took longer than {seconds} s"
    else:
        what = f"Timed out waiting for {url} while {action}: no answer within {seconds} s"
    return InfluxDBModuleError(
        f"{what} (option timeout, in seconds, is {seconds}). Raise timeout if the server is slow, "
        "or check that url names the InfluxDB server and port", cause=exc)


def translate_error(exc: BaseException, url: str, action: str, permission: Optional[str] = None,
                    validate_certs: bool = True, timeout: Optional[int] = None) -> Optional[InfluxDBModuleError]:
    """Turn an influxdb-client / urllib3 exception into an ``InfluxDBModuleError``.

    Parameters:
        exc (BaseException): what the client raised.
        url (str): the server's base URL (named in the message).
        action (str): what was being done ("creating bucket 'x'").
        permission (str): the permission that action needs (``write:orgs/<id>/buckets``), named in a
            403 message when InfluxDB itself does not name one.
        validate_certs (bool): the option's value (a TLS message does not suggest what is already set).
        timeout (int): the ``timeout`` option's value in seconds (named when the server is silent).

    Returns:
        InfluxDBModuleError: with the message, the HTTP status, InfluxDB's answer and the exception;
        None for an exception this function does not know (the caller re-raises it).
    """
    if isinstance(exc, InfluxDBModuleError):
        return exc
    if isinstance(exc, ApiException):
        return _translate_api_exception(exc, url, action, permission, validate_certs)
    if HAS_INFLUXDB_CLIENT and isinstance(exc, urllib3.exceptions.HTTPError):
        inner = exc
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            inner = exc.reason
        if isinstance(inner, urllib3.exceptions.SSLError):
            return _tls_error(url, action, str(inner), validate_certs, exc)
        if isinstance(inner, urllib3.exceptions.ReadTimeoutError):
            return _timeout_error(url, action, timeout, exc, connecting=False)
        # Before ConnectTimeoutError: urllib3 2 makes NewConnectionError (refused, no route, unknown host) a
        # subclass of it, and a refused connection is not a slow one.
        if isinstance(inner, urllib3.exceptions.NewConnectionError):
            return InfluxDBModuleError(f"Cannot reach InfluxDB at {url} while {action}: {_short(inner)}. "
                                       "Check that url names the InfluxDB server and port and that it is running "
                                       "and reachable from this host", cause=exc)
        if isinstance(inner, urllib3.exceptions.ConnectTimeoutError):
            return _timeout_error(url, action, timeout, exc, connecting=True)
        if isinstance(inner, urllib3.exceptions.ProtocolError):
            return InfluxDBModuleError(f"Connection to {url} broke while {action}: {_short(inner)}", cause=exc)
        return InfluxDBModuleError(f"Request to {url} failed while {action}: {_short(inner)}", cause=exc)
    if isinstance(exc, TimeoutError):
        return _timeout_error(url, action, timeout, exc, connecting=False)
    if isinstance(exc, OSError):
        return InfluxDBModuleError(f"Cannot reach InfluxDB at {url} while {action}: {exc}", cause=exc)
    if isinstance(exc, ValueError):
        return InfluxDBModuleError(f"Unexpected answer from {url} while {action}: {exc}", cause=exc)
    return None


def _translate_api_exception(exc: ApiException, url: str, action: str, permission: Optional[str],
                             validate_certs: bool) -> InfluxDBModuleError:
    status = getattr(exc, "status", None)
    reason = str(getattr(exc, "reason", "") or "")
    if not status:
        if "SSL" in reason or "CERTIFICATE" in reason.upper():
            return _tls_error(url, action, reason, validate_certs, exc)
        return InfluxDBModuleError(f"Request to {url} failed while {action}: {reason.strip()}", cause=exc)
    message = _api_message(exc)
    extra = dict(status=status, response=response_details(exc), cause=exc)
    named = _PERMISSION_RE.search(message or "")
    if status == 401:
        if named:
            # InfluxDB's authorizer answers 401 "<permission> is unauthorized" to a valid token that lacks it
            return InfluxDBModuleError(
                f"Permission denied (HTTP 401) while {action}: the credentials lack {named.group(0)} "
                f"(InfluxDB says: {message})", **extra)
        if "inactive" in (message or "").lower():
            return InfluxDBModuleError(
                f"InfluxDB refused the credentials (HTTP 401) while {action}: {message}. The token (or its user) "
                "is disabled: activate it, or use another token", **extra)
        return InfluxDBModuleError(
            f"InfluxDB did not accept the credentials (HTTP 401) while {action}: {message or 'unauthorized'}. "
            "The token, or the username and password, is wrong, revoked, or belongs to another server: check "
            "token (or username and password). A token that is accepted but lacks a permission gets HTTP 403 "
            "(or a 401 naming the permission) instead", **extra)
    if status == 403:
        needed = named.group(0) if named else permission
        suffix = f" (the credentials need {needed})" if needed else ""
        return InfluxDBModuleError(f"Forbidden (HTTP 403) while {action}: {message or 'forbidden'}{suffix}", **extra)
    if status == 404:
        if not is_resource_not_found(exc):
            return InfluxDBModuleError(
                f"Not found (HTTP 404) while {action}: {url} answered {(message or 'not found')[:200]!r}, which is "
                f"not an InfluxDB v2 API answer about a missing resource; {URL_HINT}", **extra)
        return InfluxDBModuleError(f"Not found (HTTP 404) while {action}: {message or 'not found'}", **extra)
    return InfluxDBModuleError(f"InfluxDB answered HTTP {status} while {action}: {message}", **extra)


def _short(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 prefixes messages with the connection object's repr (1.x "<...HTTPConnection object at 0x...>: ",
    # 2.x "HTTPConnection(host='h', port=1): "); keep the useful tail.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return re.sub(r"^\w*Connection\(host=[^)]*\):\s*", "", text)


# --------------------------------------------------------------------------------------------
# Connection
# --------------------------------------------------------------------------------------------

class InfluxDBConnection:
    """An authenticated connection: ``request()`` returns decoded JSON or raises InfluxDBModuleError."""

    def __init__(self, params: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> None:
        validate_connection_params(params)
        self.url = params["url"].rstrip("/")
        self.default_org = params.get("org")
        self.validate_certs = params.get("validate_certs", True)
        self.timeout = int(params.get("timeout") or DEFAULT_TIMEOUT)
        self.auth_kind, credential = resolve_credentials(params, environ)
        self.secret_values: List[str] = []
        kwargs: Dict[str, Any] = dict(
            url=self.url,
            timeout=self.timeout * 1000,
            verify_ssl=self.validate_certs,
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
        if not self.validate_certs:
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.client = InfluxDBClient(**kwargs)
        self._signed_in = False

    def translate(self, exc: BaseException, action: str, permission: Optional[str] = None) -> Optional[InfluxDBModuleError]:
        """``translate_error`` with this connection's url, validate_certs and timeout."""
        return translate_error(exc, self.url, action, permission, validate_certs=self.validate_certs,
                               timeout=self.timeout)

    # -- session -------------------------------------------------------------------------
    def sign_in(self) -> None:
        """POST /api/v2/signin with basic auth and keep the session cookie (username/password only).

        Raises:
            InfluxDBModuleError: the username or password is not accepted (401), the user is inactive
            (403), or the server cannot be reached.
        """
        if self.auth_kind != "password" or self._signed_in:
            return
        api_client = self.client.api_client
        try:
            _data, _status, headers = SigninService(api_client).post_signin_with_http_info()
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
            err = self.translate(exc, f"signing in as user {self.username!r}")
            if err is None:
                raise
            if err.status == 401:
                err = InfluxDBModuleError(
                    f"Sign-in as user {self.username!r} failed (HTTP 401): InfluxDB did not accept the username "
                    "or password; check username and password", status=401, response=err.response, cause=exc)
            elif err.status == 403:
                err = InfluxDBModuleError(f"Sign-in as user {self.username!r} refused (HTTP 403): the user is inactive",
                                          status=403, response=err.response, cause=exc)
            raise err from exc
        cookie = _session_cookie(headers)
        if not cookie:
            raise InfluxDBModuleError(f"Sign-in as user {self.username!r} succeeded but {self.url} returned "
                                      "no session cookie")
        api_client.cookie = cookie
        self._signed_in = True

    def close(self) -> None:
        """Release the connection pool; never raises (a session expires on its own)."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.close()
        except Exception:  # noqa: BLE001 - best effort: the session expires on its own
            pass

    # -- requests ------------------------------------------------------------------------
    def request(self, method: str, path: str, action: str, query: Optional[Mapping[str, Any]] = None,
                body: Any = None, permission: Optional[str] = None, allow_404: bool = False) -> Any:
        """Send one request to ``/api/v2<path>``.

        Parameters:
            method (str): the HTTP method.
            path (str): the path under ``/api/v2``.
            action (str): what the request does, for the error message ("creating bucket 'x'").
            query (dict): query parameters (None values are left out).
            body: a JSON-serialisable request body.
            permission (str): the permission the request needs, for the error message.
            allow_404 (bool): InfluxDB's "not found" about a resource returns None instead of raising; any
                other 404 (a path the server does not have: ``url`` is wrong) still raises.

        Returns:
            The decoded JSON body (None for an empty answer such as 204).

        Raises:
            InfluxDBModuleError: for every failure the client reports.
        """
        if self.auth_kind == "password" and not self._signed_in:
            self.sign_in()
        query_params = [(k, v) for k, v in (query or {}).items() if v is not None]
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.client.api_client.call_api(
                f"/api/v2{path}", method,
                query_params=query_params,
                header_params=headers,
                body=body,
                auth_settings=[],
                _preload_content=False,
                _return_http_data_only=True,
            )
            raw = response.data
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
            err = self.translate(exc, action, permission)
            if err is None:
                raise
            if allow_404 and is_resource_not_found(exc):
                return None
            raise err from exc
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        except ValueError as exc:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            raise InfluxDBModuleError(
                f"InfluxDB at {self.url} answered {method} {path} with something that is not JSON; {URL_HINT}",
                response={"body": text[:_MAX_BODY_SHOWN]}, cause=exc) from exc

    def list_paginated(self, path: str, key: str, action: str, query: Optional[Mapping[str, Any]] = None,
                       permission: Optional[str] = None) -> List[Dict[str, Any]]:
        """Walk a list endpoint page by page (``limit``/``offset``) and return every item.

        InfluxDB answers a name filter that matches nothing with 404 (``organization name "x" not found``);
        that is an empty list here. Any other 404 (``path not found``, a body that is not InfluxDB's) raises,
        naming ``url``: a wrong URL must never read as "nothing exists".

        Parameters:
            path (str): the list endpoint (``/buckets``).
            key (str): the key of the list in each page (``buckets``).
            action (str): for the error message.
            query (dict): filters.
            permission (str): for the error message.

        Returns:
            list: every item of every page.
        """
        items: List[Dict[str, Any]] = []
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
    def find_org(self, name_or_id: str, action: Optional[str] = None, by_id: bool = True) -> Optional[Dict[str, Any]]:
        """An organization by exact name or, with ``by_id``, by id.

        Parameters:
            name_or_id (str): the name (or id).
            action (str): for the error message.
            by_id (bool): False is the exact-name lookup (an id given as a name must not match another
                organization).

        Returns:
            dict: the organization as InfluxDB describes it, or None.
        """
        action = action or f"looking up organization {name_or_id!r}"
        orgs = self.list_paginated("/orgs", "orgs", action, query={"org": name_or_id}, permission="read:orgs")
        named = [o for o in orgs if o.get("name") == name_or_id]
        if named:
            return named[0]
        if by_id and looks_like_id(name_or_id):
            return self.request("GET", f"/orgs/{name_or_id}", action, permission="read:orgs", allow_404=True)
        return None

    def require_org(self, name_or_id: Optional[str]) -> Dict[str, Any]:
        """The organization the task is about (``org`` option or INFLUX_ORG), by name or id.

        A token limited to a few buckets usually cannot read organizations: given an id, such a token still
        works (the id is used as is when the organization cannot be read).

        Returns:
            dict: the organization (at least ``id`` and ``name``).

        Raises:
            InfluxDBModuleError: no org given, or none of that name.
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
                f"Organization {name_or_id!r} not found (or the credentials cannot read it: they need read:orgs)")
        return org

    # -- buckets ---------------------------------------------------------------------------
    def find_bucket(self, org_id: str, name_or_id: str) -> Optional[Dict[str, Any]]:
        """A bucket of an organization by exact name (paginated), or by id.

        Returns:
            dict: the bucket as InfluxDB describes it, or None when absent.
        """
        action = f"looking up bucket {name_or_id!r}"
        perm = f"read:orgs/{org_id}/buckets"
        buckets = self.list_paginated("/buckets", "buckets", action,
                                      query={"orgID": org_id, "name": name_or_id}, permission=perm)
        named = [b for b in buckets if b.get("name") == name_or_id and b.get("orgID", org_id) == org_id]
        if named:
            return named[0]
        if looks_like_id(name_or_id):
            bucket = self.request("GET", f"/buckets/{name_or_id}", action, permission=perm, allow_404=True)
            if bucket and bucket.get("orgID", org_id) == org_id:
                return bucket
        return None

    # -- users -----------------------------------------------------------------------------
    def find_user(self, name_or_id: str) -> Optional[Dict[str, Any]]:
        """A user by exact name, or by id.

        Returns:
            dict: the user as InfluxDB describes it, or None when absent.
        """
        action = f"looking up user {name_or_id!r}"
        users = self.list_paginated("/users", "users", action, query={"name": name_or_id},
                                    permission="read:users")
        named = [u for u in users if u.get("name") == name_or_id]
        if named:
            return named[0]
        if looks_like_id(name_or_id):
            return self.request("GET", f"/users/{name_or_id}", action, permission="read:users", allow_404=True)
        return None

    def me(self) -> Dict[str, Any]:
        """The user the credentials act as (``GET /api/v2/me``)."""
        return self.request("GET", "/me", "reading the signed-in user")

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``username`` can sign in with ``password``.

        Used to keep ``update_password=always`` idempotent: the session it opens is closed again.

        Returns:
            bool: True if signed in, False if InfluxDB refused the password (401/403).

        Raises:
            InfluxDBModuleError: any other failure.
        """
        api_client = self.client.api_client
        headers = urllib3.util.make_headers(basic_auth=f"{username}:{password}")
        headers["Accept"] = "application/json"
        timeout = urllib3.Timeout(total=api_client.configuration.timeout / 1000.0)
        action = f"checking the password of user {username!r}"
        try:
            response = api_client.rest_client.pool_manager.request(
                "POST", f"{self.url}/api/v2/signin", headers=headers, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
            err = self.translate(exc, action)
            if err is None:
                raise
            raise err from exc
        if response.status in (401, 403):
            return False
        if not 200 <= response.status <= 299:
            raise InfluxDBModuleError(f"InfluxDB answered HTTP {response.status} while {action}",
                                      status=response.status,
                                      response={"status": response.status,
                                                "body": response.data.decode("utf-8", "replace")[:_MAX_BODY_SHOWN]})
        cookie = _session_cookie(response.headers)
        if cookie:
            try:
                api_client.rest_client.pool_manager.request(
                    "POST", f"{self.url}/api/v2/signout", headers={"Cookie": cookie}, timeout=timeout)
            except Exception:  # noqa: BLE001 - the session expires on its own
                pass
        return True


def _session_cookie(headers: Optional[Mapping[str, str]]) -> Optional[str]:
    """``name=value`` of the session cookie from a Set-Cookie header (attributes dropped)."""
    if headers is None:
        return None
    value = headers.get("set-cookie") or headers.get("Set-Cookie")
    if not value:
        return None
    return value.split(";", 1)[0].strip() or None


def connect(params: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> InfluxDBConnection:
    """Open a connection from module params; signs in first with username/password.

    Raises:
        InfluxDBModuleError: bad connection options, no credentials, or a refused sign-in.
    """
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

def run_module(module_kwargs: Dict[str, Any], run: Callable[[InfluxDBConnection, dict, bool], dict],
               validate_params: Optional[Callable[[dict], Any]] = None) -> None:
    """Build the AnsibleModule, check the options, connect, ``run``, close, and exit.

    The credentials are registered as no_log values, so they are masked in any output. This is the only
    function here that exits (``exit_json`` / ``fail_json``). A failure carries what InfluxDB answered
    (``response``) and the exception behind it (``error``, and its traceback as ``exception``), as
    amazon.aws's ``fail_json_aws`` does; keys that would carry nothing are left out.

    Parameters:
        module_kwargs (dict): what ``influxdb_module_kwargs`` returns.
        run (callable): ``run(conn, params, check_mode)`` does the work and returns the result dict; its
            ``diff`` is dropped unless diff mode is on.
        validate_params (callable): ``validate_params(params)`` checks the module's own options before any
            request (it raises ``InfluxDBModuleError``).
    """
    module = AnsibleModule(**module_kwargs)
    if not HAS_INFLUXDB_CLIENT:
        module.fail_json(msg=missing_required_lib(INFLUXDB_CLIENT_REQUIREMENT),
                         exception=INFLUXDB_CLIENT_IMPORT_ERROR)
    conn = None
    result = None
    failure = None
    failure_trace = None
    try:
        if validate_params is not None:
            validate_params(module.params)
        conn = connect(module.params)
        for secret in conn.secret_values:
            module.no_log_values.add(secret)
        result = run(conn, module.params, module.check_mode)
    except InfluxDBModuleError as exc:
        failure = exc
        failure_trace = traceback.format_exc() if exc.cause is not None else None
    finally:
        if conn is not None:
            conn.close()
    if failure is not None:
        extra = failure.result()
        if failure_trace:
            extra["exception"] = failure_trace
        module.fail_json(msg=failure.msg, **extra)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(\d+)(w|d|h|m|s)")
_INFINITE = ("0", "infinite", "inf", "forever", "0s")


def parse_duration(value: Any, option: str = "retention") -> Optional[int]:
    """Parse ``30d``, ``12h``, ``1h30m``, ``2w`` into seconds; ``0``/``infinite`` give 0.

    Parameters:
        value: the duration as the user wrote it (None: not managed).
        option (str): the option's name, for the error message.

    Returns:
        int: seconds (0 for infinite), or None for None.

    Raises:
        InfluxDBModuleError: naming ``option`` for anything else (including sub-second units).
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _INFINITE:
        return 0
    if not text or not re.match(r"^(\d+(w|d|h|m|s))+$", text):
        raise InfluxDBModuleError(
            f"{option} must be a duration such as 30d, 12h, 1h30m or 2w (units w, d, h, m, s), "
            f"or 0/infinite; got {value!r}")
    seen: List[str] = []
    total = 0
    for number, unit in _DURATION_RE.findall(text):
        if unit in seen:
            raise InfluxDBModuleError(f"{option} repeats the unit {unit!r}: {value!r}")
        seen.append(unit)
        total += int(number) * _DURATION_UNITS[unit]
    return total


def format_duration(seconds: Optional[int]) -> Optional[str]:
    """Seconds as the shortest InfluxDB-style duration (``4w2d``); ``infinite`` for 0; None for None."""
    if seconds is None:
        return None
    seconds = int(seconds)
    if seconds == 0:
        return "infinite"
    out = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


def spell_duration(seconds: Optional[int], written: Any = None) -> Optional[str]:
    """A duration for people: as the user wrote it when it means ``seconds``, else the shortest form.

    So a diff of a bucket created with ``retention: 30d`` shows ``30d``, not ``4w2d``.

    Parameters:
        seconds (int): the duration in seconds (0 for infinite, None for unknown).
        written: the duration as the task wrote it (None when the task did not).

    Returns:
        str: ``written`` (stripped) if it parses to ``seconds``, else ``format_duration(seconds)``.
    """
    if seconds is None:
        return None
    if written is not None:
        try:
            if parse_duration(written) == int(seconds):
                return str(written).strip()
        except InfluxDBModuleError:
            pass
    return format_duration(seconds)


# --------------------------------------------------------------------------------------------
# Small shared helpers for the modules
# --------------------------------------------------------------------------------------------

def diff_result(before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """The ``diff`` return value: ``{}`` stands for "does not exist"."""
    return {"before": before or {}, "after": after or {}}
