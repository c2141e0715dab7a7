"""The normalizer of tests/helpers/platform_state.py (two environments built from the same inventory
compare equal, and a real difference still shows) and the secret search of tests/helpers/secrets.py."""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass

import pytest

from tests.helpers.platform_state import _secret_arn_name, diff_states, normalize
from tests.helpers.secrets import assert_no_secret, find_secrets


@dataclass
class Env:
    name: str
    second_octet: int
    project: str = "ons-data-platform"

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.name}"


def _described(env: Env, vpc: str, sg: str, key: str, created: str) -> dict:
    """What one environment's reader would return: ids, times, names and CIDRs of its own."""
    return {
        "vpcs": [{"VpcId": vpc, "CidrBlock": f"10.{env.second_octet}.0.0/16", "CreateTime": created,
                  "Tags": [{"Key": "Name", "Value": f"{env.prefix}-vpc"}, {"Key": "Environment", "Value": env.name}]}],
        "security_groups": [{"GroupId": sg, "IpPermissions": [{"UserIdGroupPairs": [sg], "FromPort": 8086}]}],
        "secret": {"Name": f"{env.project}/{env.name}/influxdb/admin", "KmsKeyId": f"arn:aws:kms:us-east-1:1:key/{key}"},
        "policy": {"Resource": f"arn:aws:secretsmanager:us-east-1:1:secret:{env.project}/{env.name}/influxdb/*",
                   f"{env.prefix}-inline": True},
        # Lists come back in any order.
        "alarms": [{"AlarmName": f"{env.prefix}-cpu", "Threshold": 80.0}, {"AlarmName": f"{env.prefix}-disk"}],
    }


def _names(vpc: str, sg: str, key: str) -> dict[str, str]:
    return {vpc: "vpc:x-vpc", sg: "sg:x-influxdb", f"arn:aws:kms:us-east-1:1:key/{key}": "alias/x", key: "alias/x"}


def test_two_environments_of_one_inventory_compare_equal():
    site, rel = Env("itsite", 61), Env("itrel", 72)
    left = normalize(_described(site, "vpc-1111", "sg-aaaa", "k-1", "2026-01-01"), _names("vpc-1111", "sg-aaaa", "k-1"), site)
    right = _described(rel, "vpc-2222", "sg-bbbb", "k-2", "2026-02-02")
    right["alarms"].reverse()
    right = normalize(right, _names("vpc-2222", "sg-bbbb", "k-2"), rel)
    assert left == right, diff_states(left, right)
    assert left["vpcs"][0] == {"CidrBlock": "10.{octet}.0.0/16",
                               "Tags": [{"Key": "Environment", "Value": "{env}"}, {"Key": "Name", "Value": "{prefix}-vpc"}],
                               "VpcId": "<vpc:x-vpc>"}
    assert left["secret"] == {"KmsKeyId": "<alias/x>", "Name": "ons-data-platform/{env}/influxdb/admin"}
    assert left["security_groups"][0]["IpPermissions"] == [{"FromPort": 8086, "UserIdGroupPairs": ["<sg:x-influxdb>"]}]
    assert "{prefix}-inline" in left["policy"]  # keys too


def test_a_changed_setting_still_shows():
    env = Env("itsite", 61)
    names = _names("vpc-1", "sg-1", "k-1")
    left = normalize(_described(env, "vpc-1", "sg-1", "k-1", "t"), names, env)
    changed = _described(env, "vpc-1", "sg-1", "k-1", "t")
    changed["alarms"][0]["Threshold"] = 90.0
    right = normalize(changed, names, env)
    assert left != right
    assert diff_states(left, right) == ["/alarms[0]/Threshold: 80.0 != 90.0"]


def test_only_whole_words_of_the_environment_name_and_the_second_octet_are_replaced():
    env = Env("it", 1)
    assert normalize(["it", "item", "x-it-y", "10.1.2.0/24", "110.1.0.0", "10.11.0.0"], {}, env) == sorted(
        ["{env}", "item", "x-{env}-y", "10.{octet}.2.0/24", "110.1.0.0", "10.11.0.0"])


def test_secret_arn_name_drops_the_random_suffix():
    assert _secret_arn_name("arn:aws:secretsmanager:us-east-1:1:secret:p/e/influxdb/admin-AbC123") == "p/e/influxdb/admin"


def test_secret_forms_are_found_in_text_and_files(tmp_path):
    secret = "s3cr3t-Token_value=="
    basic = base64.b64encode(f"admin:{secret}".encode()).decode()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "out.json").write_text(json.dumps({"auth": f"Basic {basic}"}))
    hits = find_secrets([f"url={urllib.parse.quote(secret, safe='')}", "clean", tmp_path], [secret, ""])
    assert "text: url of secret #0" in hits and "text: plain of secret #0" not in hits
    # Inside the base64 of "admin:<secret>" (an HTTP Basic header).
    assert f"{tmp_path / 'd' / 'out.json'}: base64-inner-0 of secret #0" in hits
    assert {hit.split(": ")[0] for hit in hits} == {"text", str(tmp_path / "d" / "out.json")}
    shifted = base64.b64encode(f"ab:{secret}x".encode()).decode()
    assert find_secrets([shifted], [secret]) and find_secrets([base64.b64encode(f"a:{secret}".encode()).decode()], [secret])
    assert find_secrets(["nothing here", tmp_path / "missing"], [secret]) == []
    with pytest.raises(AssertionError, match="plain of secret #0"):
        assert_no_secret([f"x {secret} y"], [secret])
