"""iam_principal_access_info: the policy-document evaluation used when IAM's simulator does not answer."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ansible_collections.ons.timestream_influxdb.plugins.modules import iam_principal_access_info as mod

SECRETS = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:"
ALLOW_PLATFORM = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRETS + "ons/dev/influxdb/*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
    ],
}


@pytest.mark.parametrize(
    "documents, action, resource, decision",
    [
        ([ALLOW_PLATFORM], "secretsmanager:GetSecretValue", SECRETS + "ons/dev/influxdb/lambda-token-AbCdEf", "allowed"),
        ([ALLOW_PLATFORM], "SecretsManager:getsecretvalue", SECRETS + "ons/dev/influxdb/admin-AbCdEf", "allowed"),
        ([ALLOW_PLATFORM], "secretsmanager:GetSecretValue", SECRETS + "ons/prod/influxdb/admin-AbCdEf", "implicitDeny"),
        ([ALLOW_PLATFORM], "secretsmanager:GetSecretValue", SECRETS + "other-AbCdEf", "implicitDeny"),
        ([ALLOW_PLATFORM], "secretsmanager:PutSecretValue", SECRETS + "ons/dev/influxdb/admin-AbCdEf", "implicitDeny"),
        (
            [ALLOW_PLATFORM, {"Statement": {"Effect": "Deny", "Action": "secretsmanager:*", "Resource": SECRETS + "ons/dev/influxdb/admin*"}}],
            "secretsmanager:GetSecretValue",
            SECRETS + "ons/dev/influxdb/admin-AbCdEf",
            "explicitDeny",
        ),
        ([{"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}], "secretsmanager:GetSecretValue", "x", "allowed"),
        ([{"Statement": [{"Effect": "Allow", "Action": "*", "NotResource": SECRETS + "ons/prod/*"}]}], "s3:GetObject", SECRETS + "ons/prod/a", "implicitDeny"),
    ],
)
def test_evaluate(documents, action, resource, decision):
    assert mod.evaluate(documents, action, resource) == decision


def test_documents_as_iam_returns_them():
    assert mod._document(quote(json.dumps(ALLOW_PLATFORM))) == ALLOW_PLATFORM
    assert mod._document(ALLOW_PLATFORM) is ALLOW_PLATFORM


def test_simulation_results_per_resource():
    """The path AWS takes (the sandbox cannot answer SimulatePrincipalPolicy): decisions per resource."""
    import boto3
    from botocore.stub import Stubber

    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    role = "arn:aws:iam::123456789012:role/ons-dev-influxdb-lambda"
    ours, other = SECRETS + "ons/dev/influxdb/admin-AbCdEf", SECRETS + "ons/prod/influxdb/admin-AbCdEf"
    with Stubber(iam) as stub:
        stub.add_response(
            "simulate_principal_policy",
            {
                "EvaluationResults": [
                    {
                        "EvalActionName": "secretsmanager:GetSecretValue",
                        "EvalDecision": "allowed",
                        "ResourceSpecificResults": [
                            {"EvalResourceName": ours, "EvalResourceDecision": "allowed"},
                            {"EvalResourceName": other, "EvalResourceDecision": "implicitDeny"},
                        ],
                    }
                ],
                "IsTruncated": False,
            },
            {"PolicySourceArn": role, "ActionNames": ["secretsmanager:GetSecretValue"], "ResourceArns": [ours, other]},
        )
        results = mod.simulate(iam, role, ["secretsmanager:GetSecretValue"], [ours, other])
    assert results == [
        {"action": "secretsmanager:GetSecretValue", "resource": ours, "decision": "allowed"},
        {"action": "secretsmanager:GetSecretValue", "resource": other, "decision": "implicitDeny"},
    ]
