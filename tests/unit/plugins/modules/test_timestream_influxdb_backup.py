"""timestream_influxdb_backup: validation before any call (pure; no AWS)."""

from __future__ import annotations

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_backup as mod

BASE = {
    "state": "present",
    "name": "before-migration",
    "id": None,
    "instance": "ons-metrics",
    "retention_days": 30,
    "tags": None,
}


def params(**changes):
    out = {option: None for option in mod.RESTORE_OPTIONS}
    out.update(BASE)
    out.update(changes)
    return out


def test_valid_backup_and_restore():
    mod.validate_params(params())
    request = mod.restore_request(params(state="restored", restore_name="ons-restored", port=8087), "bk0123")
    assert request == {"name": "ons-restored", "port": 8087, "dbBackupId": "bk0123", "restoreMode": "NEW_RESOURCE"}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"retention_days": 0}, "retention_days must be between 1 and 3650"),
        ({"retention_days": 3651}, "retention_days must be between 1 and 3650"),
        ({"name": "bad_name"}, "name must match the pattern"),
        ({"instance": None}, "instance is required to take a backup"),
        ({"state": "restored", "restore_name": None}, "restore_name is required"),
        ({"state": "restored", "restore_name": "ok-name", "port": 8090}, "port 8090 is reserved"),
        ({"state": "restored", "restore_name": "ok-name", "vpc_subnet_ids": ["nope"]}, "vpc_subnet_ids[0] must match"),
        ({"state": "restored", "restore_name": "-bad"}, "restore_name must match the pattern"),
    ],
)
def test_bad_input_fails_naming_the_option(changes, message):
    with pytest.raises(ValidationError) as err:
        mod.validate_params(params(**changes))
    assert message in str(err.value)
