"""Unit tests of influx_user's pure functions (password decisions without reading the password back)."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import InfluxDBModuleError
from ansible_collections.ons.timestream_influxdb.plugins.modules import influx_user as mod

CURRENT = {"id": "0a3cbb5dd526a000", "name": "ingest", "status": "active"}


def test_short_password_is_refused_before_any_request():
    with pytest.raises(InfluxDBModuleError) as err:
        mod.validate_params({"name": "ingest", "user_password": "short"})
    assert "user_password" in err.value.msg
    assert "short" not in err.value.msg


@pytest.mark.parametrize("password", ["x" * 73, "é" * 37, "p" * 200])
def test_too_long_password_is_refused_before_any_request(password):
    with pytest.raises(InfluxDBModuleError) as err:
        mod.validate_params({"name": "ingest", "user_password": password})
    assert "user_password" in err.value.msg and "72" in err.value.msg
    assert password not in err.value.msg


@pytest.mark.parametrize("password", ["x" * 8, "x" * 72, "é" * 36, "s3cret-Pa55"])
def test_passwords_influxdb_accepts_pass(password):
    mod.validate_params({"name": "ingest", "user_password": password})


def test_status_compare():
    assert mod.compare(CURRENT, {"name": "ingest", "status": None}) == {}
    assert mod.compare(CURRENT, {"name": "ingest", "status": "inactive"}) == {"status": "inactive"}


def _never():
    raise AssertionError("the password must not be checked here")


def test_password_set_on_create_only_by_default():
    params = {"user_password": "s3cretpass", "update_password": "on_create"}
    assert mod.password_needs_setting({}, params, _never) is True
    assert mod.password_needs_setting(CURRENT, params, _never) is False


def test_password_always_checks_by_signing_in():
    params = {"user_password": "s3cretpass", "update_password": "always"}
    assert mod.password_needs_setting(CURRENT, params, lambda: True) is False
    assert mod.password_needs_setting(CURRENT, params, lambda: False) is True


def test_no_password_never_sets_one():
    assert mod.password_needs_setting({}, {"user_password": None, "update_password": "always"}, _never) is False


def test_diff_never_contains_the_password():
    view = mod.diff_view(CURRENT, password_changed=True, side="after")
    assert view["password"] == "(new password)"
    assert "s3cretpass" not in repr(view)


def test_update_password_is_not_flagged_as_secret():
    assert mod.argument_spec()["update_password"]["no_log"] is False
    assert mod.argument_spec()["user_password"]["no_log"] is True
