"""Unit tests of plugins/module_utils/influxdb.py: durations, credentials, option checks, error translation."""

from __future__ import annotations

import json

import pytest
import urllib3
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import given
from hypothesis import strategies as st
from influxdb_client.rest import ApiException

from ansible_collections.ons.timestream_influxdb.plugins.module_utils import influxdb as iu


# -- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text,seconds",
    [
        ("30d", 30 * 86400),
        ("12h", 12 * 3600),
        ("1h30m", 5400),
        ("2w", 14 * 86400),
        ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("90m", 5400),
        ("0", 0),
        ("infinite", 0),
        ("INFINITE", 0),
        (" 12h ", 12 * 3600),
    ],
)
def test_parse_duration_accepts_influx_durations(text, seconds):
    assert iu.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "1x", "", "h", "1ms", "1h1h", "-1h", "1.5h", "30 d", "1ns"])
def test_parse_duration_rejects_and_names_the_option(text):
    with pytest.raises(iu.InfluxDBModuleError) as err:
        iu.parse_duration(text, "shard_group_duration")
    assert "shard_group_duration" in err.value.msg


def test_parse_duration_none_means_unmanaged():
    assert iu.parse_duration(None) is None


@given(st.integers(min_value=1, max_value=10 ** 9))
def test_format_then_parse_round_trips(seconds):
    assert iu.parse_duration(iu.format_duration(seconds)) == seconds


def test_format_duration_examples():
    assert iu.format_duration(0) == "infinite"
    assert iu.format_duration(2592000) == "4w2d"
    assert iu.format_duration(5400) == "1h30m"
    assert iu.format_duration(None) is None


# -- credentials and connection options -------------------------------------------------------

def test_explicit_token_wins_over_everything():
    kind, value = iu.resolve_credentials({"token": "t1"}, environ={"INFLUX_TOKEN": "env"})
    assert (kind, value) == ("token", "t1")


def test_username_password_win_over_environment_token():
    kind, value = iu.resolve_credentials({"username": "u", "password": "p" * 8}, environ={"INFLUX_TOKEN": "env"})
    assert kind == "password"
    assert value == ("u", "p" * 8)


def test_environment_token_is_the_fallback():
    assert iu.resolve_credentials({}, environ={"INFLUX_TOKEN": "env"}) == ("token", "env")


def test_no_default_credentials():
    with pytest.raises(iu.InfluxDBModuleError) as err:
        iu.resolve_credentials({"token": None, "username": None, "password": None}, environ={})
    assert "token" in err.value.msg and "username" in err.value.msg


def test_username_without_password_is_refused():
    with pytest.raises(iu.InfluxDBModuleError):
        iu.resolve_credentials({"username": "u"}, environ={})


@pytest.mark.parametrize(
    "params,option",
    [
        ({"url": "influx.example.com:8086"}, "url"),
        ({"url": "ftp://influx"}, "url"),
        ({"url": "http://127.0.0.1:8086", "timeout": 0}, "timeout"),
        ({"url": "https://x", "ca_path": "/nonexistent/ca.pem"}, "ca_path"),
        ({"url": "http://127.0.0.1:8086/api/v2"}, "url"),
        ({"url": "https://influx.example.com:8086/api/v2/"}, "url"),
        ({"url": "https://influx.example.com/API/V2"}, "url"),
    ],
)
def test_connection_params_fail_before_any_request(params, option):
    with pytest.raises(iu.InfluxDBModuleError) as err:
        iu.validate_connection_params(params)
    assert option in err.value.msg


def test_api_v2_suffix_error_suggests_the_base_url():
    with pytest.raises(iu.InfluxDBModuleError) as err:
        iu.validate_connection_params({"url": "https://influx.example.com:8086/api/v2"})
    assert "'https://influx.example.com:8086'" in err.value.msg and "/api/v2" in err.value.msg


@pytest.mark.parametrize("url", ["https://influx.example.com:8086", "http://127.0.0.1:8086/", "https://h/influx",
                                 "https://h/api/v2x"])
def test_base_urls_are_accepted(url):
    iu.validate_connection_params({"url": url})


def _validate(params, env=None, monkeypatch=None):
    kwargs = iu.influxdb_module_kwargs({"name": {"type": "str", "required": True}})
    validator = ArgumentSpecValidator(
        kwargs["argument_spec"],
        mutually_exclusive=kwargs["mutually_exclusive"],
        required_together=kwargs["required_together"],
    )
    return validator.validate(params)


def test_argument_spec_marks_secrets_no_log():
    spec = iu.influxdb_argument_spec()
    assert spec["token"]["no_log"] is True
    assert spec["password"]["no_log"] is True
    assert spec["validate_certs"]["default"] is True
    assert "default" not in spec["token"] and "default" not in spec["username"]


def test_argument_spec_token_and_username_are_mutually_exclusive():
    result = _validate({"name": "b", "url": "http://h", "token": "t", "username": "u", "password": "p"})
    assert any("mutually exclusive" in e for e in result.error_messages)


def test_argument_spec_username_needs_password():
    result = _validate({"name": "b", "url": "http://h", "username": "u"})
    assert any("username" in e and "password" in e for e in result.error_messages)


def test_argument_spec_env_fallbacks(monkeypatch):
    monkeypatch.setenv("INFLUX_HOST", "http://from-env:8086")
    monkeypatch.setenv("INFLUX_ORG", "ons")
    result = _validate({"name": "b", "token": "t"})
    assert not result.error_messages
    assert result.validated_parameters["url"] == "http://from-env:8086"
    assert result.validated_parameters["org"] == "ons"
    assert "t" in result._no_log_values


def test_looks_like_id():
    assert iu.looks_like_id("0a3cbb5dd526a000")
    assert not iu.looks_like_id("telemetry")
    assert not iu.looks_like_id("0A3CBB5DD526A000")
    assert not iu.looks_like_id(None)


def test_session_cookie_drops_attributes():
    headers = {"Set-Cookie": "influxdb-oss-session=abc123; Path=/api/; Expires=Thu, 01 Jan 2030 00:00:00 GMT"}
    assert iu._session_cookie(headers) == "influxdb-oss-session=abc123"
    assert iu._session_cookie({}) is None


# -- error translation -------------------------------------------------------------------------

def _api_error(status, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = urllib3.HTTPResponse(body=raw, status=status, headers={}, preload_content=True)
    return ApiException(http_resp=response)


# What InfluxDB 2.x answers when a lookup or name filter matches nothing (tenant service errors).
RESOURCE_MISSES = [
    {"code": "not found", "message": 'organization name "ons" not found'},
    {"code": "not found", "message": 'bucket "telemetry" not found'},
    {"code": "not found", "message": "bucket not found"},
    {"code": "not found", "message": "user not found"},
    {"code": "not found", "message": "authorization not found"},
    {"code": "not found", "message": "unable to find DBRP"},
]
# 404s that mean the request went to the wrong place: never "nothing exists".
WRONG_PLACE = [
    {"code": "not found", "message": "path not found"},  # InfluxDB's router: e.g. url ending in /api/v2
    b"404 page not found\n",  # Go's default handler
    b"<html><body><h1>Not Found</h1></body></html>",  # a web server or proxy in front
    b"",
    {"message": "bucket not found"},  # no InfluxDB error code
    {"code": "not found", "message": ""},
    ["not found"],
]


@pytest.mark.parametrize("body", RESOURCE_MISSES)
def test_influxdb_resource_miss_is_recognised(body):
    assert iu.is_resource_not_found(_api_error(404, body)) is True


@pytest.mark.parametrize("body", WRONG_PLACE)
def test_other_404s_are_not_a_resource_miss(body):
    assert iu.is_resource_not_found(_api_error(404, body)) is False


def test_only_404_can_be_a_resource_miss():
    assert iu.is_resource_not_found(_api_error(400, {"code": "not found", "message": "user not found"})) is False


@pytest.mark.parametrize("body", WRONG_PLACE)
def test_path_not_found_error_names_url(body):
    err = iu.translate_error(_api_error(404, body), "http://h:8086/influx", "looking up organization 'ons'")
    assert err.status == 404
    assert "http://h:8086/influx" in err.msg and "check url" in err.msg
    assert "looking up organization 'ons'" in err.msg


def test_401_naming_a_permission_says_which():
    exc = _api_error(401, {"code": "unauthorized", "message": "write:orgs/0a3cbb5dd526a000/buckets is unauthorized"})
    err = iu.translate_error(exc, "http://h", "creating bucket 'x'")
    assert err.status == 401
    assert "write:orgs/0a3cbb5dd526a000/buckets" in err.msg
    assert "creating bucket 'x'" in err.msg


def test_401_without_permission_says_the_credentials_are_not_accepted():
    """A plain 401 is a token or password InfluxDB does not accept, not a missing permission (that is 403)."""
    exc = _api_error(401, {"code": "unauthorized", "message": "unauthorized access"})
    err = iu.translate_error(exc, "http://h", "listing buckets", permission="read:orgs/1/buckets")
    assert err.msg.startswith("InfluxDB did not accept the credentials (HTTP 401) while listing buckets")
    assert "check token (or username and password)" in err.msg
    assert "read:orgs/1/buckets" not in err.msg and "needs" not in err.msg


def test_401_for_an_inactive_token_says_it_is_disabled():
    exc = _api_error(401, {"code": "unauthorized", "message": "token is inactive"})
    err = iu.translate_error(exc, "http://h", "listing buckets")
    assert "token is inactive" in err.msg and "disabled" in err.msg


def test_403_names_the_permission():
    exc = _api_error(403, {"code": "forbidden", "message": "insufficient permissions"})
    err = iu.translate_error(exc, "http://h", "deleting bucket 'x'", permission="write:orgs/1/buckets")
    assert err.status == 403
    assert "Forbidden" in err.msg and "write:orgs/1/buckets" in err.msg


def test_404_is_not_found():
    err = iu.translate_error(_api_error(404, {"code": "not found", "message": "bucket not found"}), "http://h", "x")
    assert err.status == 404 and "bucket not found" in err.msg and "check url" not in err.msg


def test_other_status_keeps_influx_message():
    err = iu.translate_error(_api_error(422, {"code": "conflict", "message": "bucket exists"}), "http://h", "x")
    assert "422" in err.msg and "bucket exists" in err.msg


def test_tls_failure_from_client_points_at_ca_path():
    exc = ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    err = iu.translate_error(exc, "https://h", "listing buckets")
    assert "TLS" in err.msg and "ca_path" in err.msg


def test_unreachable_host():
    inner = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: refused")
    err = iu.translate_error(urllib3.exceptions.MaxRetryError(None, "/api/v2/orgs", inner), "http://h:1", "x")
    assert "Cannot reach InfluxDB at http://h:1" in err.msg


def test_read_timeout():
    err = iu.translate_error(urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), "http://h", "x")
    assert "Timed out" in err.msg and "timeout" in err.msg


def test_unknown_exceptions_are_not_swallowed():
    assert iu.translate_error(KeyError("x"), "http://h", "x") is None


def test_diff_result_uses_empty_dicts_for_absence():
    assert iu.diff_result(None, {"a": 1}) == {"before": {}, "after": {"a": 1}}


# -- what a failure carries besides its message ---------------------------------------------------

def test_tls_to_a_plain_http_port_says_so_whatever_validate_certs():
    reason = "SSLError\n[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"
    for validate_certs in (True, False):
        err = iu.translate_error(ApiException(status=0, reason=reason), "https://127.0.0.2:8086", "listing buckets",
                                 validate_certs=validate_certs)
        assert "the server does not speak TLS on that port" in err.msg
        assert "Use a url that starts with http://, such as http://127.0.0.2:8086" in err.msg
        assert "set validate_certs=false" not in err.msg


def test_tls_to_a_plain_http_port_through_urllib3():
    inner = urllib3.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    err = iu.translate_error(urllib3.exceptions.MaxRetryError(None, "/api/v2/orgs", inner), "https://h:8086", "x")
    assert "does not speak TLS" in err.msg and "http://h:8086" in err.msg


def test_tls_verification_failure_with_validate_certs_false_does_not_repeat_the_advice():
    exc = ApiException(status=0, reason="SSLError\n[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] handshake failure")
    err = iu.translate_error(exc, "https://h", "listing buckets", validate_certs=False)
    assert "validate_certs is already false" in err.msg and "set validate_certs=false" not in err.msg


def test_silent_server_names_the_timeout_option_and_its_value():
    exc = urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out. (read timeout=3)")
    err = iu.translate_error(exc, "http://h:8086", "listing buckets", timeout=3)
    assert "no answer within 3 s" in err.msg and "(option timeout, in seconds, is 3)" in err.msg
    err = iu.translate_error(exc, "http://h:8086", "listing buckets")
    assert f"(option timeout, in seconds, is {iu.DEFAULT_TIMEOUT})" in err.msg


def test_failure_keys_leave_out_what_carries_nothing():
    assert iu.InfluxDBModuleError("name must not be empty").result() == {}
    err = iu.translate_error(urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out."), "http://h", "x")
    assert set(err.result()) == {"error"}
    assert err.result()["error"]["type"] == "urllib3.exceptions.ReadTimeoutError"


def test_failure_carries_influxdbs_answer_without_the_session_cookie():
    raw = json.dumps({"code": "conflict", "message": "bucket with name x already exists"}).encode()
    response = urllib3.HTTPResponse(body=raw, status=422, reason="Unprocessable Entity", preload_content=True,
                                    headers={"Content-Type": "application/json; charset=utf-8",
                                             "X-Platform-Error-Code": "conflict", "X-Influxdb-Build": "OSS",
                                             "X-Influxdb-Version": "v2.7.11",
                                             "Set-Cookie": "influxdb-oss-session=secret-session; Path=/"})
    err = iu.translate_error(ApiException(http_resp=response), "http://h", "creating bucket 'x'")
    result = err.result()
    assert result["status"] == 422
    assert result["response"] == {
        "status": 422, "reason": "Unprocessable Entity",
        "headers": {"content-type": "application/json; charset=utf-8", "x-platform-error-code": "conflict",
                    "x-influxdb-version": "v2.7.11", "x-influxdb-build": "OSS"},
        "body": {"code": "conflict", "message": "bucket with name x already exists"},
    }
    assert result["error"] == {"type": "influxdb_client.rest.ApiException", "message": "(422) Unprocessable Entity"}
    assert "secret-session" not in json.dumps(result)


@pytest.mark.parametrize("seconds,written,shown", [
    (30 * 86400, "30d", "30d"),
    (30 * 86400, " 30d ", "30d"),
    (30 * 86400, "1w", "4w2d"),  # the task asks for something else: the bucket's value, shortest form
    (30 * 86400, None, "4w2d"),
    (0, "infinite", "infinite"),
    (0, "0", "0"),
    (5400, "90m", "90m"),
    (None, "30d", None),
    (3600, "not a duration", "1h"),
])
def test_spell_duration_keeps_the_users_spelling(seconds, written, shown):
    assert iu.spell_duration(seconds, written) == shown
