"""timestream_influxdb_auth_parameters_info against the sandbox: the auth parameters of an instance found by
name with the usual AWS options (set once through module_defaults), used at once to sign in to the instance's
InfluxDB and create a token; a name that does not exist in the region is named with the region."""

from __future__ import annotations

import uuid

import pytest

from sandbox.client import wait_for_db_instance
from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

SERVICE = "timestream-influxdb"
FQ = "ons.timestream_influxdb."
PASSWORD = "AuthParams12345"


def test_auth_parameters_by_name_sign_in_to_the_instance(aws_sandbox, aws_vpc, tmp_path):
    ts = aws_sandbox.client(SERVICE)
    name = f"auth-{uuid.uuid4().hex[:8]}"
    instance = ts.create_db_instance(
        name=name, password=PASSWORD, username="operator", organization="ons", bucket="telemetry",
        dbInstanceType="db.influx.medium", allocatedStorage=20, vpcSubnetIds=aws_vpc.subnet_ids,
        vpcSecurityGroupIds=[aws_vpc.security_group_id])
    try:
        wait_for_db_instance(ts, instance["id"], "AVAILABLE")
        defaults = {"group/ons.timestream_influxdb.aws": {
            "region": aws_sandbox.region, "endpoint_url": aws_sandbox.endpoint,
            "access_key": "testing", "secret_key": "testing"}}
        tasks = [
            {"name": "auth", FQ + "timestream_influxdb_auth_parameters_info": {"name": name},
             "register": "auth", "no_log": True},
            {"name": "token", FQ + "influx_auth": {
                "url": "http://{{ auth.instance.endpoint }}:{{ auth.instance.port }}",
                "username": "{{ auth.auth_parameters.username }}",
                "password": "{{ auth.auth_parameters.password }}",
                "org": "{{ auth.auth_parameters.organization }}",
                "description": "operator", "all_access": True}, "no_log": True, "register": "token"},
            {"name": "show", "ansible.builtin.debug": {"msg": {
                "auth_parameters": "{{ auth.auth_parameters | dict2items | map(attribute='key') | sort }}",
                "username": "{{ auth.auth_parameters.username }}",
                "organization": "{{ auth.auth_parameters.organization }}",
                "bucket": "{{ auth.auth_parameters.bucket }}",
                "password_matches": "{{ auth.auth_parameters.password == expected_password }}",
                "secret_arn": "{{ auth.secret_arn }}",
                "instance": "{{ auth.instance }}",
                "token_created": "{{ token.token is defined }}"}}},
            {"name": "by id, in check mode", FQ + "timestream_influxdb_auth_parameters_info": {"id": instance["id"]},
             "register": "by_id", "no_log": True, "check_mode": True},
            {"name": "same", "ansible.builtin.assert": {"that": [
                "by_id.auth_parameters == auth.auth_parameters", "by_id is not changed"]}},
            {"name": "typo", FQ + "timestream_influxdb_auth_parameters_info": {"name": name + "x"},
             "ignore_errors": True},
            {"name": "region typo", FQ + "timestream_influxdb_auth_parameters_info": {"name": name,
                                                                                      "region": "eu-west2"},
             "ignore_errors": True},
        ]
        r = run_playbook(tmp_path, tasks=tasks, module_defaults=defaults, verbosity=2,
                         extra_vars={"expected_password": PASSWORD})
        assert r.rc == 0, r.stdout[-3000:]
        assert PASSWORD not in r.stdout + r.stderr  # the tasks that hold it are no_log
        assert r.task("auth").get("censored")
        shown = r.task("show")["msg"]
        assert shown["auth_parameters"] == ["bucket", "organization", "password", "username"]
        assert (shown["username"], shown["organization"], shown["bucket"]) == ("operator", "ons", "telemetry")
        assert shown["password_matches"] is True
        live = ts.get_db_instance(identifier=instance["id"])
        assert shown["secret_arn"] == live["influxAuthParametersSecretArn"]
        assert shown["instance"] == {"id": live["id"], "name": name, "arn": live["arn"], "status": "AVAILABLE",
                                     "endpoint": live["endpoint"], "port": live["port"]}
        assert shown["token_created"] is True  # the parameters really sign in to the instance's InfluxDB
        typo = r.task("typo")
        assert typo["failed"] is True
        assert typo["msg"] == (f"No Timestream for InfluxDB instance named '{name}x' exists in region "
                               f"{aws_sandbox.region} (check name and region)")
        # the sandbox answers a region that does not exist as AWS does, and the module passes it on
        typo = r.task("region typo")
        assert typo["failed"] is True
        assert typo["msg"] == ("Failed to list Timestream for InfluxDB instances (ListDbInstances): An error occurred "
                               "(InvalidSignatureException) when calling the ListDbInstances operation: Credential "
                               "should be scoped to a valid region, not 'eu-west2'.")
    finally:
        ts.delete_db_instance(identifier=instance["id"])
