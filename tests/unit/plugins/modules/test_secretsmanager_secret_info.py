"""Unit tests of plugins/modules/secretsmanager_secret_info.py: filtering, shape, never a value."""

from __future__ import annotations

import datetime

from ansible_collections.ons.timestream_influxdb.plugins.modules import secretsmanager_secret_info as mod


class FakePaginator:
    def __init__(self, pages, calls):
        self.pages, self.calls = pages, calls

    def paginate(self, **kwargs):
        self.calls.append(kwargs)
        return iter(self.pages)


class FakeClient:
    def __init__(self, secrets):
        self.pages = [{"SecretList": secrets[:2]}, {"SecretList": secrets[2:]}]
        self.calls = []

    def get_paginator(self, name):
        assert name == "list_secrets"
        return FakePaginator(self.pages, self.calls)


def secret(name, deleted=False, **extra):
    entry = {"ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf", "Name": name,
             "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "Tags": [{"Key": "Environment", "Value": "dev"}],
             "LastChangedDate": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc),
             "SecretVersionsToStages": {"v1": ["AWSCURRENT"]}, **extra}
    if deleted:
        entry["DeletedDate"] = datetime.datetime(2026, 1, 3, tzinfo=datetime.timezone.utc)
    return entry


SECRETS = [secret("p/dev/influxdb/operator-token"), secret("p/dev/influxdb/admin"),
           secret("p/dev/influxdbx/other"), secret("p/dev/influxdb/old", deleted=True)]


def test_a_prefix_lists_the_matching_secrets_sorted_with_arns_and_tags_and_no_value():
    client = FakeClient(SECRETS)
    found = mod.list_secrets(client, name_prefix="p/dev/influxdb/")
    assert [s["name"] for s in found] == ["p/dev/influxdb/admin", "p/dev/influxdb/operator-token"]
    assert found[0]["arn"].endswith(":secret:p/dev/influxdb/admin-AbCdEf")
    assert found[0]["tags"] == {"Environment": "dev"} and found[0]["kms_key_id"].startswith("arn:aws:kms:")
    assert found[0]["last_changed_date"].startswith("2026-01-02")
    assert set(found[0]) <= set(mod.KEPT) | {"tags"}  # no secret_versions_to_stages, never a value
    assert client.calls == [{"IncludePlannedDeletion": False,
                             "Filters": [{"Key": "name", "Values": ["p/dev/influxdb/"]}]}]


def test_a_name_matches_exactly_and_deleted_secrets_only_when_asked():
    assert [s["name"] for s in mod.list_secrets(FakeClient(SECRETS), name="p/dev/influxdb/admin")] == [
        "p/dev/influxdb/admin"]
    assert mod.list_secrets(FakeClient(SECRETS), name="p/dev/influxdb/old") == []
    deleted = mod.list_secrets(FakeClient(SECRETS), name="p/dev/influxdb/old", include_deleted=True)
    assert [s["deleted_date"][:10] for s in deleted] == ["2026-01-03"]
