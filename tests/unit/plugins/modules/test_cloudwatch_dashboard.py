"""cloudwatch_dashboard: desired state, comparison as JSON, and the calls (botocore Stubber; no AWS)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.ons.timestream_influxdb.plugins.module_utils import cloudwatch as cw
from ansible_collections.ons.timestream_influxdb.plugins.modules import cloudwatch_dashboard as mod

ARN = "arn:aws:cloudwatch::123456789012:dashboard/ons-dash"
BODY = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "metrics": [["AWS/TimestreamInfluxDB", "CPUUtilization", "DbInstanceName", "ons-dev"]],
                "period": 300,
                "stat": "Average",
                "region": "us-east-1",
                "title": "CPU",
            },
        }
    ]
}


@pytest.fixture
def client():
    c = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(c) as stub:
        # what module.client(..., retry_decorator=...) hands the module: calls take aws_retry=True
        wrapped = RetryingBotoClientWrapper(c, cw.retry_decorator())
        wrapped.stub = stub
        yield wrapped
        stub.assert_no_pending_responses()


def params(**kw):
    return {"name": "ons-dash", "body": BODY, "state": "present", **kw}


# ------------------------------------------------------------------ desired state / validation
def test_body_as_dict_or_json_string_is_the_same_desired_state():
    as_dict = mod.desired_state(params())
    as_text = mod.desired_state(params(body=json.dumps(BODY, indent=2)))
    assert as_dict == as_text
    assert as_dict["body"] == BODY


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"body": "{not json"}, "body is not valid JSON"),
        ({"body": "[1, 2]"}, "body must be a JSON object"),
        ({"body": {"start": "-PT3H"}}, "body must have a 'widgets' list"),
        ({"body": None}, "body is required when state is present"),
        ({"name": "has space"}, "name must be 1 to 255 letters"),
        ({"name": "x" * 256}, "name must be 1 to 255 letters"),
    ],
)
def test_bad_input_names_the_option(kw, message):
    with pytest.raises(cw.DashboardValidationError) as err:
        mod.desired_state(params(**kw))
    assert message in str(err.value)


def test_absent_needs_no_body():
    assert mod.desired_state(params(state="absent", body=None)) == {"name": "ons-dash", "body": None}


# ------------------------------------------------------------------ comparison
def test_comparison_ignores_key_order_and_number_spelling():
    reordered = json.loads(json.dumps(BODY, sort_keys=True))
    reordered["widgets"][0]["width"] = 12.0
    current = {"name": "ons-dash", "arn": ARN, "body": cw.normalize_body(reordered)}
    assert mod.plan(current, mod.desired_state(params()), "present") is None


def test_plan():
    desired = mod.desired_state(params())
    current = {"name": "ons-dash", "arn": ARN, "body": BODY}
    changed = json.loads(json.dumps(BODY))
    changed["widgets"][0]["properties"]["stat"] = "Maximum"
    assert mod.plan(None, desired, "present") == "create"
    assert mod.plan(current, mod.desired_state(params(body=changed)), "present") == "update"
    assert mod.plan(current, desired, "present") is None
    assert mod.plan(current, desired, "absent") == "delete"
    assert mod.plan(None, desired, "absent") is None
    # list order is meaningful (widget order is layout order)
    two = {"widgets": [{"type": "text", "properties": {"markdown": "a"}}, {"type": "text", "properties": {"markdown": "b"}}]}
    swapped = {"widgets": list(reversed(two["widgets"]))}
    assert mod.plan({"name": "n", "arn": ARN, "body": two}, mod.desired_state(params(body=swapped)), "present") == "update"


def test_diff_holds_both_bodies():
    current = {"name": "ons-dash", "arn": ARN, "body": {"widgets": []}}
    after = {"name": "ons-dash", "arn": ARN, "body": BODY}
    assert mod.make_diff(current, after) == {
        "before": {"name": "ons-dash", "body": {"widgets": []}},
        "after": {"name": "ons-dash", "body": BODY},
    }
    assert mod.make_diff(None, after)["before"] == {}
    assert mod.make_diff(current, None)["after"] == {}


# ------------------------------------------------------------------ calls (Stubber)
def test_get_missing_dashboard_is_none(client):
    client.stub.add_client_error("get_dashboard", service_error_code="ResourceNotFound", http_status_code=404)
    assert cw.get_dashboard(client, "ons-dash") is None


def test_get_parses_the_body(client):
    client.stub.add_response(
        "get_dashboard",
        {"DashboardName": "ons-dash", "DashboardArn": ARN, "DashboardBody": json.dumps(BODY)},
        {"DashboardName": "ons-dash"},
    )
    assert cw.get_dashboard(client, "ons-dash") == {"name": "ons-dash", "arn": ARN, "body": BODY}


def test_create_puts_compact_sorted_json_then_reads_back(client):
    desired = mod.desired_state(params())
    client.stub.add_response(
        "put_dashboard",
        {"DashboardValidationMessages": []},
        {"DashboardName": "ons-dash", "DashboardBody": cw.serialize_body(BODY)},
    )
    client.stub.add_response(
        "get_dashboard",
        {"DashboardName": "ons-dash", "DashboardArn": ARN, "DashboardBody": cw.serialize_body(BODY)},
        {"DashboardName": "ons-dash"},
    )
    after, warnings = mod.apply(client, "create", desired, None, check_mode=False)
    assert after == {"name": "ons-dash", "arn": ARN, "body": BODY}
    assert warnings == []


def test_check_mode_makes_no_call(client):
    desired = mod.desired_state(params())
    after = mod.apply(client, "create", desired, None, check_mode=True)[0]
    assert after == {"name": "ons-dash", "arn": None, "body": BODY}
    current = {"name": "ons-dash", "arn": ARN, "body": {"widgets": []}}
    assert mod.apply(client, "update", desired, current, check_mode=True)[0]["arn"] == ARN
    assert mod.apply(client, "delete", desired, current, check_mode=True) == (None, [])


def test_accepted_body_with_warnings(client):
    client.stub.add_response(
        "put_dashboard",
        {"DashboardValidationMessages": [{"DataPath": "/widgets/0/properties", "Message": "Should have region"}]},
    )
    assert cw.put_dashboard(client, "ons-dash", BODY) == [
        {"data_path": "/widgets/0/properties", "message": "Should have region"}
    ]


def test_refused_body_surfaces_validation_messages(client):
    client.stub.add_client_error(
        "put_dashboard",
        service_error_code="InvalidParameterInput",
        service_message="The field DashboardBody must be a valid JSON object",
        http_status_code=400,
        response_meta={},
        modeled_fields={
            "dashboardValidationMessages": [
                {"DataPath": "/widgets/0/properties/metrics", "Message": "Should NOT have more than 2 items"}
            ]
        },
    )
    with pytest.raises(cw.DashboardValidationError) as err:
        cw.put_dashboard(client, "ons-dash", BODY)
    message = str(err.value)
    assert "option body" in message
    assert "/widgets/0/properties/metrics: Should NOT have more than 2 items" in message


def test_other_put_failures_are_cloudwatch_errors(client):
    client.stub.add_client_error("put_dashboard", service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(cw.CloudWatchError) as err:
        cw.put_dashboard(client, "ons-dash", BODY)
    assert "Failed to put CloudWatch dashboard ons-dash" in str(err.value.message)


def test_delete_of_a_missing_dashboard_is_not_an_error(client):
    client.stub.add_client_error("delete_dashboards", service_error_code="ResourceNotFound", http_status_code=404)
    assert cw.delete_dashboard(client, "ons-dash") is False
    client.stub.add_response("delete_dashboards", {}, {"DashboardNames": ["ons-dash"]})
    assert cw.delete_dashboard(client, "ons-dash") is True


# ------------------------------------------------------------------ sns_topic_encryption (the alarm topic's key)
from ansible_collections.ons.timestream_influxdb.plugins.modules import sns_topic_encryption as sns_mod  # noqa: E402

TOPIC = "arn:aws:sns:us-east-1:123456789012:ons-alarms"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def sns():
    c = boto3.client("sns", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(c) as stub:
        wrapped = RetryingBotoClientWrapper(c, cw.retry_decorator())
        wrapped.stub = stub
        yield wrapped
        stub.assert_no_pending_responses()


def test_sns_key_is_required_when_present():
    with pytest.raises(sns_mod.TopicError, match="kms_key_id is required"):
        sns_mod.desired_key({"state": "present", "kms_key_id": ""})
    assert sns_mod.desired_key({"state": "absent", "kms_key_id": None}) == ""


def test_sns_sets_the_key_once(sns):
    sns.stub.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC}}, {"TopicArn": TOPIC})
    sns.stub.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC}}, {"TopicArn": TOPIC})
    sns.stub.add_response(
        "set_topic_attributes", {}, {"TopicArn": TOPIC, "AttributeName": "KmsMasterKeyId", "AttributeValue": KEY}
    )
    result = sns_mod.ensure(sns, TOPIC, KEY, check_mode=False)
    assert result["changed"] is True and result["diff"] == {"before": {"KmsMasterKeyId": ""}, "after": {"KmsMasterKeyId": KEY}}
    sns.stub.add_response("get_topic_attributes", {"Attributes": {"KmsMasterKeyId": KEY}}, {"TopicArn": TOPIC})
    sns.stub.add_response("get_topic_attributes", {"Attributes": {"KmsMasterKeyId": KEY}}, {"TopicArn": TOPIC})
    assert sns_mod.ensure(sns, TOPIC, KEY, check_mode=False)["changed"] is False


def test_sns_topic_by_name_missing(sns):
    sns.stub.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC}]})
    assert sns_mod.ensure(sns, "ons-other", KEY, check_mode=True)["changed"] is True
    sns.stub.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC}]})
    with pytest.raises(sns_mod.TopicError, match="SNS topic ons-other does not exist"):
        sns_mod.ensure(sns, "ons-other", KEY, check_mode=False)


# ------------------------------------------------------------------ documentation of this area's modules
from tests.unit.plugins.modules.test_timestream_influxdb_docs import _doc_walk  # noqa: E402
from tests.unit.plugins.modules.test_timestream_influxdb_docs import _walk  # noqa: E402
from tests.unit.plugins.modules.test_timestream_influxdb_docs import captured_spec  # noqa: E402


@pytest.mark.parametrize(
    "name", ["cloudwatch_dashboard", "cloudwatch_dashboard_info", "sns_topic_encryption", "iam_principal_access_info"]
)
def test_documentation_matches_argument_spec(name, monkeypatch):
    import yaml

    module, seen = captured_spec(name, monkeypatch)
    doc = yaml.safe_load(module.DOCUMENTATION)
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)
    assert doc["module"] == name
    assert "ons.timestream_influxdb.attributes" in " ".join(doc["extends_documentation_fragment"])
    documented = dict(_doc_walk(doc.get("options") or {}))
    spec = dict(_walk(seen["argument_spec"]))
    assert set(documented) == set(spec)
    for path, option in spec.items():
        for key, default in (("type", "str"), ("default", None), ("choices", None), ("elements", None), ("aliases", None)):
            assert documented[path].get(key, default) == option.get(key, default), f"{name}: {path}.{key}"
        assert bool(documented[path].get("required")) == bool(option.get("required")), path
    assert seen["supports_check_mode"] is True
