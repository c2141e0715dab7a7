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
