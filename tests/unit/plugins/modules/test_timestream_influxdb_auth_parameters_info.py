"""timestream_influxdb_auth_parameters_info: what it reads and in which order, with strict botocore Stubbers."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_auth_parameters_info as mod

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:READONLY-InfluxDB-auth-parameters-abc1234567-AbCdEf"
INSTANCE = {"id": "abc1234567", "name": "ons-metrics",
            "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-instance/abc1234567",
            "status": "AVAILABLE", "endpoint": "abc1234567.us-east-1.timestream-influxdb.amazonaws.com",
            "port": 8086, "vpcSubnetIds": ["subnet-1"], "influxAuthParametersSecretArn": ARN}
SECRET = {"username": "admin", "password": "Secret12345", "organization": "ons", "bucket": "telemetry"}


def summary(name, instance_id, status="AVAILABLE"):
    return {"id": instance_id, "name": name, "arn": f"arn:aws:timestream-influxdb:us-east-1:1:db-instance/{instance_id}",
            "status": status}


@pytest.fixture
def clients():
    session = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    influx, secrets = session.client("timestream-influxdb"), session.client("secretsmanager")
    with Stubber(influx) as influx_stub, Stubber(secrets) as secrets_stub:
        retry = AWSRetry.jittered_backoff(retries=1)
        yield (RetryingBotoClientWrapper(influx, retry), influx_stub, RetryingBotoClientWrapper(secrets, retry),
               secrets_stub)
        influx_stub.assert_no_pending_responses()
        secrets_stub.assert_no_pending_responses()


def test_by_name_walks_every_page_then_reads_the_secret(clients):
    influx, influx_stub, secrets, secrets_stub = clients
    influx_stub.add_response("list_db_instances", {"items": [summary("other", "zzz1234567")], "nextToken": "p2"}, {})
    influx_stub.add_response("list_db_instances", {"items": [summary("ons-metrics", "abc1234567")]},
                             {"nextToken": "p2"})
    influx_stub.add_response("get_db_instance", INSTANCE, {"identifier": "abc1234567"})
    secrets_stub.add_response("get_secret_value", {"SecretString": json.dumps(dict(SECRET, extra="x"))},
                              {"SecretId": ARN})
    result = mod.gather(influx, secrets, "ons-metrics", None, "us-east-1")
    assert result == {
        "changed": False, "auth_parameters": SECRET, "secret_arn": ARN,
        "instance": {"id": "abc1234567", "name": "ons-metrics", "arn": INSTANCE["arn"], "status": "AVAILABLE",
                     "endpoint": INSTANCE["endpoint"], "port": 8086},
    }


def test_by_id_skips_the_listing(clients):
    influx, influx_stub, secrets, secrets_stub = clients
    influx_stub.add_response("get_db_instance", INSTANCE, {"identifier": "abc1234567"})
    secrets_stub.add_response("get_secret_value", {"SecretString": json.dumps(SECRET)}, {"SecretId": ARN})
    assert mod.gather(influx, secrets, None, "abc1234567", "us-east-1")["auth_parameters"] == SECRET


def test_unknown_name_names_the_region_and_reads_nothing_else(clients):
    influx, influx_stub, secrets, _secrets_stub = clients
    influx_stub.add_response("list_db_instances", {"items": [summary("ons-metrics", "abc1234567", "DELETED")]}, {})
    with pytest.raises(mod.AuthParametersError) as err:
        mod.gather(influx, secrets, "ons-metrics", None, "eu-west-2")
    assert err.value.message == ("No Timestream for InfluxDB instance named 'ons-metrics' exists in region eu-west-2 "
                                 "(check name and region)")


def test_unknown_id(clients):
    influx, influx_stub, secrets, _secrets_stub = clients
    influx_stub.add_client_error("get_db_instance", "ResourceNotFoundException", http_status_code=404,
                                 expected_params={"identifier": "abc1234567"})
    with pytest.raises(mod.AuthParametersError) as err:
        mod.gather(influx, secrets, None, "abc1234567", "eu-west-2")
    assert "No Timestream for InfluxDB instance with id 'abc1234567' exists in region eu-west-2" in err.value.message


def test_instance_without_secret_yet(clients):
    influx, influx_stub, secrets, _secrets_stub = clients
    creating = {k: v for k, v in INSTANCE.items() if k not in ("influxAuthParametersSecretArn", "endpoint")}
    influx_stub.add_response("get_db_instance", dict(creating, status="CREATING"), {"identifier": "abc1234567"})
    with pytest.raises(mod.AuthParametersError) as err:
        mod.gather(influx, secrets, None, "abc1234567", "us-east-1")
    assert err.value.message == ("Instance 'ons-metrics' (status CREATING) has no auth-parameters secret yet; "
                                 "wait until it is AVAILABLE")


def test_access_denied_on_the_secret_is_an_aws_failure(clients):
    influx, influx_stub, secrets, secrets_stub = clients
    influx_stub.add_response("get_db_instance", INSTANCE, {"identifier": "abc1234567"})
    secrets_stub.add_client_error("get_secret_value", "AccessDeniedException", http_status_code=400,
                                  expected_params={"SecretId": ARN})
    with pytest.raises(mod.AuthParametersError) as err:
        mod.gather(influx, secrets, None, "abc1234567", "us-east-1")
    assert err.value.message == "Failed to read the instance's auth-parameters secret (GetSecretValue)"
    assert err.value.exception.response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.parametrize("value", ["not json", "[]", json.dumps({"username": "admin"}), ""])
def test_a_secret_that_is_not_auth_parameters(value):
    with pytest.raises(mod.AuthParametersError) as err:
        mod.parse_auth_parameters(value, ARN)
    assert err.value.message.startswith(f"The secret {ARN} does not hold auth parameters")
    assert not value or value not in err.value.message  # the secret's value is never echoed
