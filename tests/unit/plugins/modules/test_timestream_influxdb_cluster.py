"""timestream_influxdb_cluster and _cluster_info: desired state -> plan (pure), and
ensure_present/ensure_absent against botocore's strict Stubber (an unexpected call fails)."""

from __future__ import annotations

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.timestream_influxdb import ValidationError
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_cluster as mod
from ansible_collections.ons.timestream_influxdb.plugins.modules import timestream_influxdb_cluster_info as info
from tests.unit.plugins.modules.test_timestream_influxdb_docs import captured_spec
from tests.unit.plugins.modules.test_timestream_influxdb_docs import test_documentation_matches_argument_spec as check_docs

MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model

PARAMS = {
    "name": "ons-cluster",
    "password": "Abcdef123",
    "organization": "ons",
    "bucket": "telemetry",
    "db_instance_type": "db.influx.medium",
    "allocated_storage": 20,
    "vpc_subnet_ids": ["subnet-0a1b2c", "subnet-0d4e5f"],
    "vpc_security_group_ids": ["sg-0123abc"],
    "deployment_type": "MULTI_NODE_READ_REPLICAS",
}
CURRENT = {
    "id": "clu123def4",
    "name": "ons-cluster",
    "arn": "arn:aws:timestream-influxdb:us-east-1:123456789012:db-cluster/clu123def4",
    "status": "AVAILABLE",
    "endpoint": "ons-cluster-abc.timestream-influxdb.us-east-1.on.aws",
    "readerEndpoint": "ons-cluster-ro-abc.timestream-influxdb.us-east-1.on.aws",
    "port": 8086,
    "deploymentType": "MULTI_NODE_READ_REPLICAS",
    "dbInstanceType": "db.influx.medium",
    "networkType": "IPV4",
    "dbStorageType": "InfluxIOIncludedT1",
    "allocatedStorage": 20,
    "engineType": "INFLUXDB_V2",
    "publiclyAccessible": True,
    "vpcSubnetIds": ["subnet-0d4e5f", "subnet-0a1b2c"],
    "vpcSecurityGroupIds": ["sg-0123abc"],
    "failoverMode": "AUTOMATIC",
    "influxAuthParametersSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:READONLY-x",
}
ID = {"dbClusterId": CURRENT["id"]}
TAGS_ARN = {"resourceArn": CURRENT["arn"]}


def desired(**changes):
    params = dict(PARAMS, **changes)
    return mod.desired_state(MODEL, {k: v for k, v in params.items() if v is not None})


def plan(current, want, current_tags=None, tags=None, purge=True, auth=None):
    return mod.plan_present(MODEL, current, want, current_tags or {}, tags, purge, auth)


# ---------------------------------------------------------------------------------------------
# the model is the source of the options and of the update/create-only split
# ---------------------------------------------------------------------------------------------
def test_every_create_member_is_an_option_and_updatable_ones_are_those_of_update_db_cluster():
    spec = mod.argument_spec()
    members = [m for m in MODEL.operation_model("CreateDbCluster").input_shape.members if m != "tags"]
    assert set(ts.cluster_option_to_api(MODEL).values()) == set(members)
    assert set(ts.cluster_option_to_api(MODEL)) <= set(spec)
    assert set(ts.cluster_updatable_members(MODEL)) == {
        "logDeliveryConfiguration", "dbParameterGroupIdentifier", "port", "dbInstanceType",
        "deploymentConfiguration", "failoverMode", "maintenanceSchedule", "dbBackupConfigurations"}
    assert "allocatedStorage" in ts.cluster_immutable_members(MODEL)
    assert "password" not in ts.cluster_immutable_members(MODEL)


def test_every_cluster_status_is_classified_once():
    statuses = MODEL.shape_for("ClusterStatus").enum
    groups = (ts.CLUSTER_STATUS_READY, ts.CLUSTER_STATUS_TRANSITIONAL, ts.CLUSTER_STATUS_FAILED, ts.CLUSTER_STATUS_GONE)
    classified = [s for group in groups for s in group]
    assert sorted(classified) == sorted(statuses)


@pytest.mark.parametrize("name", ["timestream_influxdb_cluster", "timestream_influxdb_cluster_info"])
def test_documented_options_are_the_argument_spec(name, monkeypatch):
    check_docs(name, monkeypatch)


def test_password_is_no_log_and_enums_are_left_to_the_model(monkeypatch):
    spec = captured_spec("timestream_influxdb_cluster", monkeypatch)[1]["argument_spec"]
    assert spec["password"]["no_log"] is True
    assert spec["log_delivery_configuration"] == ts.log_delivery_configuration_spec()
    assert not [option for option in ("db_instance_type", "failover_mode", "network_type", "deployment_type")
                if "choices" in spec[option]]


def test_return_documents_every_member_get_db_cluster_describes():
    documented = set(yaml.safe_load(mod.RETURN)["cluster"]["contains"])
    assert {ts.camel_to_snake(m) for m in mod.cluster_result_members(MODEL)} | {"tags"} == documented


# ---------------------------------------------------------------------------------------------
# desired state and plan (pure)
# ---------------------------------------------------------------------------------------------
def test_bad_inputs_name_the_option_and_never_show_the_password():
    with pytest.raises(ValidationError, match="password must be letters and digits only$"):
        desired(password="not valid!")
    with pytest.raises(ValidationError, match="port 8090 is reserved"):
        desired(port=8090)
    with pytest.raises(ValidationError, match="failover_mode must be one of AUTOMATIC, NO_FAILOVER"):
        desired(failover_mode="SOMETIMES")
    with pytest.raises(ValidationError, match="too small for db_storage_type InfluxIOIncludedT3"):
        desired(db_storage_type="InfluxIOIncludedT3", allocated_storage=100)
    with pytest.raises(ValidationError, match="deployment_configuration must set exactly one of"):
        desired(deployment_configuration={})
    module_params = dict(mod_params(), id="bad id!", state="present")
    with pytest.raises(ValidationError, match="^id must be"):
        mod.validate_options(MODEL, module_params)
    with pytest.raises(ValidationError, match="reboot_instance_ids must have between 0 and 3 items"):
        mod.validate_options(MODEL, dict(mod_params(), reboot_instance_ids=["a1b2c", "b1b2c", "c1b2c", "d1b2c"]))


BAD_INPUTS = [
    ({"name": "1-starts-with-digit"}, "name must be letters, digits and single hyphens"),
    # the model's cluster name pattern ([a-zA-z]...) would let this through
    ({"name": "_underscore-first"}, "name must be letters, digits and single hyphens, starting with a letter"),
    ({"password": "has-symbols-1234"}, "password must be letters and digits only"),
    ({"port": 7790}, "port 7790 is reserved"),
    ({"port": 80}, "port must be between 1024 and 65535"),
    ({"allocated_storage": 10}, "allocated_storage must be between 20 and 15360"),
    ({"db_storage_type": "InfluxIOIncludedT2", "allocated_storage": 100}, "allocated_storage 100 is too small"),
    ({"deployment_type": "SINGLE_AZ"}, "deployment_type must be one of MULTI_NODE_READ_REPLICAS"),
    ({"vpc_subnet_ids": ["not-a-subnet"]}, "vpc_subnet_ids[0] must be subnet- followed by"),
    ({"vpc_security_group_ids": []}, "vpc_security_group_ids must have between 1 and 5 items"),
    ({"maintenance_schedule": {"timezone": "UTC", "preferred_maintenance_window": "Sunday"}},
     "maintenance_schedule.preferred_maintenance_window must be a weekly window"),
    ({"deployment_configuration": {"InfluxDBv3Enterprise": {"node_groups": []}}},
     "deployment_configuration.InfluxDBv3Enterprise.node_groups must have between 1 and 10 items"),
    ({"db_parameter_group_identifier": "no spaces allowed"}, "db_parameter_group_identifier must be a DB parameter group"),
    ({"id": "not valid!"}, "id must be letters and digits only"),
]


@pytest.mark.parametrize("changes, message", BAD_INPUTS)
def test_every_bad_input_is_named_before_any_request(changes, message):
    with pytest.raises(ValidationError) as err:
        mod.validate_options(MODEL, mod_params(**changes))
    assert message in str(err.value)
    assert "has-symbols-1234" not in str(err.value)


def test_create_plan_predicts_every_documented_key_and_hides_the_password():
    p = plan(None, desired(), tags={"Team": "ONS"})
    assert p["action"] == "create"
    assert p["create_request"]["password"] == "Abcdef123" and p["create_request"]["tags"] == {"Team": "ONS"}
    assert set(mod.cluster_result_members(MODEL)) <= set(p["predicted"])
    assert p["predicted"]["status"] == "CREATING" and p["predicted"]["failoverMode"] == "AUTOMATIC"
    assert p["predicted"]["id"] is None and p["predicted"]["readerEndpoint"] is None
    assert "password" not in p["predicted"] and "password" not in p["diff"]["after"]
    assert p["diff"] == {"before": {}, "after": dict(p["diff"]["after"], tags={"Team": "ONS"})}


def test_creating_an_influxdb_v2_cluster_names_what_is_missing():
    with pytest.raises(ValidationError, match=r"would need option\(s\): password, db_instance_type, allocated_storage"):
        plan(None, desired(password=None, db_instance_type=None, allocated_storage=None))
    # an InfluxDB 3 Enterprise cluster is described by its deployment configuration instead
    v3 = {"InfluxDBv3Enterprise": {"node_groups": [
        {"instance_modes": ["INGEST", "QUERY"], "instance_type": "db.influx.large", "count": 2}]}}
    p = plan(None, desired(password=None, db_instance_type=None, allocated_storage=None, organization=None,
                           bucket=None, deployment_type=None, deployment_configuration=v3))
    assert p["create_request"]["deploymentConfiguration"] == {"InfluxDBv3Enterprise": {"nodeGroups": [
        {"instanceModes": ["INGEST", "QUERY"], "instanceType": "db.influx.large", "count": 2}]}}
    assert p["predicted"]["engineType"] == "INFLUXDB_V3_ENTERPRISE"
    # the engine key stays as AWS spells it in the result and the diff
    assert p["diff"]["after"]["deployment_configuration"]["InfluxDBv3Enterprise"]["node_groups"][0]["count"] == 2


def test_an_unchanged_cluster_plans_nothing_and_options_not_stated_are_not_compared():
    # publicly_accessible is true on the cluster and not stated: not compared; subnets in another order
    p = plan(dict(CURRENT), desired(), {"Team": "ONS"}, {"Team": "ONS"})
    assert p["action"] == "none" and p["update_call"] is None
    assert p["diff"]["before"] == p["diff"]["after"]


def test_updatable_changes_go_in_one_call_with_only_the_differences():
    p = plan(dict(CURRENT), desired(db_instance_type="db.influx.large", failover_mode="NO_FAILOVER", port=8086),
             {"Team": "ONS", "Old": "x"}, {"Team": "ONS", "New": "y"})
    assert p["action"] == "update"
    assert p["update_call"] == {"dbInstanceType": "db.influx.large", "failoverMode": "NO_FAILOVER"}
    assert p["tags_to_set"] == {"New": "y"} and p["tags_to_unset"] == ["Old"]
    assert p["predicted"]["dbInstanceType"] == "db.influx.large"
    assert p["diff"]["before"]["failover_mode"] == "AUTOMATIC" and p["diff"]["after"]["failover_mode"] == "NO_FAILOVER"


def test_create_only_changes_are_refused_listing_current_and_wanted():
    with pytest.raises(ValidationError) as err:
        plan(dict(CURRENT), desired(allocated_storage=40, publicly_accessible=False, vpc_subnet_ids=["subnet-0fff"]))
    message = str(err.value)
    assert "allocated_storage (current: 20, wanted: 40)" in message
    assert "publicly_accessible (current: True, wanted: False)" in message
    assert "vpc_subnet_ids (current: ['subnet-0d4e5f', 'subnet-0a1b2c'], wanted: ['subnet-0fff'])" in message
    assert "never deletes a database" in message


def test_auth_parameters_are_compared_only_when_known():
    # GetDbCluster does not report the organization: without the secret it is not compared
    assert plan(dict(CURRENT), desired(organization="other"))["action"] == "none"
    with pytest.raises(ValidationError, match="organization \\(current: 'ons', wanted: 'other'\\)"):
        plan(dict(CURRENT), desired(organization="other"), auth={"organization": "ons"})


# ---------------------------------------------------------------------------------------------
# ensure_present / ensure_absent against the strict Stubber
# ---------------------------------------------------------------------------------------------
def mod_params(**changes):
    params = dict({option: None for option in mod.argument_spec()}, state="present", purge_tags=True, wait=True,
                  wait_timeout=60)
    # organization and bucket are compared through the auth-parameters secret: left out unless a
    # test gives them (with a Secrets Manager client)
    params.update({k: v for k, v in PARAMS.items() if k not in ("organization", "bucket")})
    params.update(changes)
    return params


class FakeModule:
    """The part of AnsibleAWSModule the ensure_* functions use."""

    def __init__(self, check_mode=False, secrets=None, **params):
        self.params = mod_params(**params)
        self.check_mode = check_mode
        self.warnings = []
        self.secrets = secrets

    def warn(self, message):
        self.warnings.append(message)

    def client(self, service, **_kwargs):
        if service == "secretsmanager" and self.secrets is not None:
            return self.secrets
        raise AssertionError(f"no {service} client is expected here")


@pytest.fixture
def stubbed():
    client = boto3.client("timestream-influxdb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, ts.retry_decorator()), stubber
        stubber.assert_no_pending_responses()


def test_create_waits_on_get_db_cluster_and_returns_it(stubbed):
    client, stubber = stubbed
    want = desired()
    stubber.add_response("create_db_cluster", {"dbClusterId": CURRENT["id"], "dbClusterStatus": "CREATING"},
                         dict(want, tags={"Team": "ONS"}))
    stubber.add_response("get_db_cluster", dict(CURRENT, status="CREATING"), ID)  # the waiter polls on
    stubber.add_response("get_db_cluster", dict(CURRENT, status="AVAILABLE"), ID)
    stubber.add_response("get_db_cluster", dict(CURRENT, status="AVAILABLE"), ID)  # the final description
    result = mod.ensure_present(FakeModule(tags={"Team": "ONS"}), client, None, want)
    assert result["changed"] is True and result["cluster"]["status"] == "AVAILABLE"
    assert result["cluster"]["reader_endpoint"] == CURRENT["readerEndpoint"]
    assert result["cluster"]["tags"] == {"Team": "ONS"}


def test_an_unchanged_cluster_makes_only_reads(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    result = mod.ensure_present(FakeModule(), client, dict(CURRENT), desired(organization=None, bucket=None))
    assert result["changed"] is False and result["update_calls"] == []


def test_organization_and_bucket_are_read_from_the_auth_secret_and_compared():
    secrets = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    client = boto3.client("timestream-influxdb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(secrets) as secret_stub, Stubber(client) as stubber:
        stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
        secret = '{"username": "admin", "password": "Abcdef123", "organization": "ons", "bucket": "metrics"}'
        secret_stub.add_response("get_secret_value", {"SecretString": secret},
                                 {"SecretId": CURRENT["influxAuthParametersSecretArn"]})
        module = FakeModule(secrets=RetryingBotoClientWrapper(secrets, ts.retry_decorator()), organization="ons",
                            bucket="telemetry")
        with pytest.raises(ValidationError, match="bucket \\(current: 'metrics', wanted: 'telemetry'\\)"):
            mod.ensure_present(module, RetryingBotoClientWrapper(client, ts.retry_decorator()), dict(CURRENT), desired())


def test_an_update_sends_one_minimal_call_and_waits(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {"Team": "ONS"}}, TAGS_ARN)
    stubber.add_response("update_db_cluster", {"dbClusterStatus": "UPDATING"}, dict(ID, failoverMode="NO_FAILOVER"))
    stubber.add_response("get_db_cluster", dict(CURRENT, status="UPDATING"), ID)  # polled on
    stubber.add_response("get_db_cluster", dict(CURRENT, failoverMode="NO_FAILOVER"), ID)
    stubber.add_response("get_db_cluster", dict(CURRENT, failoverMode="NO_FAILOVER"), ID)  # the final description
    stubber.add_response("tag_resource", {}, dict(TAGS_ARN, tags={"Env": "dev"}))
    module = FakeModule(failover_mode="NO_FAILOVER", tags={"Env": "dev"}, purge_tags=False)
    result = mod.ensure_present(module, client, dict(CURRENT), desired(failover_mode="NO_FAILOVER", organization=None, bucket=None))
    assert result["changed"] is True and result["update_calls"] == [{"failover_mode": "NO_FAILOVER"}]
    assert result["cluster"]["failover_mode"] == "NO_FAILOVER"
    assert result["cluster"]["tags"] == {"Team": "ONS", "Env": "dev"}


def test_check_mode_makes_no_change(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    result = mod.ensure_present(FakeModule(check_mode=True), client, dict(CURRENT), desired(port=9999, organization=None, bucket=None))
    assert result["changed"] is True and result["cluster"]["port"] == 9999
    assert result["update_calls"] == [{"port": 9999}]


def test_reboot_of_chosen_instances_without_waiting(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("reboot_db_cluster", {"dbClusterStatus": "REBOOTING"}, dict(ID, instanceIds=["ins12345"]))
    module = FakeModule(state="rebooted", reboot_instance_ids=["ins12345"], wait=False)
    result = mod.ensure_present(module, client, dict(CURRENT), desired(organization=None, bucket=None))
    assert result["changed"] is True and result["cluster"]["status"] == "REBOOTING"


def test_absent_waits_for_backups_then_deletes_and_waits(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    stubber.add_response("list_db_backups", {"items": []}, {"dbResourceId": CURRENT["id"]})
    stubber.add_response("delete_db_cluster", {"dbClusterStatus": "DELETING"}, dict(ID, retainAutomatedBackups=False))
    stubber.add_response("get_db_cluster", dict(CURRENT, status="DELETING"), ID)
    stubber.add_client_error("get_db_cluster", "ResourceNotFoundException", http_status_code=404, expected_params=ID)
    result = mod.ensure_absent(FakeModule(state="absent", retain_automated_backups=False), client, dict(CURRENT))
    assert result["changed"] is True and result["cluster"] == {}
    assert result["diff"]["before"]["name"] == "ons-cluster" and result["diff"]["after"] == {}


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_on_a_cluster_being_deleted_is_no_change(stubbed, check_mode):
    client, stubber = stubbed
    stubber.add_response("list_tags_for_resource", {"tags": {}}, TAGS_ARN)
    result = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", wait=False), client,
                               dict(CURRENT, status="DELETING"))
    assert result["changed"] is False and result["cluster"]["status"] == "DELETING"


def test_a_failed_wait_names_the_status(stubbed):
    client, stubber = stubbed
    stubber.add_response("get_db_cluster", dict(CURRENT, status="REBOOT_FAILED"), ID)
    with pytest.raises(ts.TimestreamInfluxDBError, match="cluster clu123def4 reached status REBOOT_FAILED"):
        ts.wait_for(client, "db_cluster_available", CURRENT["id"], 30)


def test_info_lists_clusters_with_tags_and_instances(stubbed):
    client, stubber = stubbed
    summary = {k: CURRENT[k] for k in ("id", "name", "arn", "status")}
    stubber.add_response("list_db_clusters", {"items": [summary, dict(summary, id="other1234", name="other")]})
    stubber.add_response("get_db_cluster", CURRENT, ID)
    stubber.add_response("list_tags_for_resource", {"tags": {"Team": "ONS"}}, TAGS_ARN)
    member = {"id": "ins12345", "name": "ons-cluster-1", "arn": CURRENT["arn"].replace("db-cluster", "db-instance"),
              "instanceMode": "PRIMARY"}
    stubber.add_response("list_db_instances_for_cluster", {"items": [member]}, ID)
    clusters = info.gather(client, name="ons-cluster")
    assert [c["name"] for c in clusters] == ["ons-cluster"]
    assert clusters[0]["tags"] == {"Team": "ONS"}
    assert clusters[0]["instances"][0]["instance_mode"] == "PRIMARY"


def test_create_without_waiting_describes_the_new_cluster_once(stubbed):
    client, stubber = stubbed
    want = desired()
    stubber.add_response("create_db_cluster", {"dbClusterId": CURRENT["id"], "dbClusterStatus": "CREATING"}, want)
    stubber.add_response("get_db_cluster", dict(CURRENT, status="CREATING"), ID)
    result = mod.ensure_present(FakeModule(wait=False), client, None, want)
    assert result["changed"] is True and result["cluster"]["status"] == "CREATING"
    assert result["cluster"]["id"] == CURRENT["id"]


def test_a_cluster_being_deleted_is_waited_for_then_created_anew(stubbed):
    client, stubber = stubbed
    want = desired()
    stubber.add_client_error("get_db_cluster", "ResourceNotFoundException", http_status_code=404, expected_params=ID)
    stubber.add_response("create_db_cluster", {"dbClusterId": "new123abcd", "dbClusterStatus": "CREATING"}, want)
    stubber.add_response("get_db_cluster", dict(CURRENT, id="new123abcd", status="CREATING"), {"dbClusterId": "new123abcd"})
    result = mod.ensure_present(FakeModule(wait=False), client, dict(CURRENT, status="DELETING"), want)
    assert result["changed"] is True and result["cluster"]["id"] == "new123abcd"
