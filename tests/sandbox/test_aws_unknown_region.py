"""A region that does not exist (a typo such as ``eu-west2``) gets AWS's answer naming it, never an HTTP 500.

On AWS such a request never arrives: there is no endpoint ``<service>.eu-west2.amazonaws.com``. The sandbox has
one endpoint for every region, so it answers as AWS answers a credential scoped to an invalid region, in each
protocol's own error shape, and botocore raises a ``ClientError`` naming the region (no retries: 4xx).
Global services (IAM) have one endpoint whatever the client's region, as on AWS.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.sandbox

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
TYPO = "eu-west2"


@pytest.mark.parametrize("service,operation,code,status", [
    ("ec2", "describe_vpcs", "SignatureDoesNotMatch", 403),  # EC2 query protocol
    ("sts", "get_caller_identity", "SignatureDoesNotMatch", 403),  # query protocol
    ("timestream-influxdb", "list_db_instances", "InvalidSignatureException", 403),  # JSON, our own backend
    ("secretsmanager", "list_secrets", "InvalidSignatureException", 403),  # JSON, moto
    ("logs", "describe_log_groups", "InvalidSignatureException", 403),
])
def test_unknown_region_is_named_in_an_aws_error(aws_sandbox, service, operation, code, status):
    key = "AKIA" + uuid.uuid4().hex[:16].upper()
    client = aws_sandbox.client(service, region=TYPO, access_key=key, config=NO_RETRY)
    with pytest.raises(ClientError) as err:
        getattr(client, operation)()
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["Error"]["Message"] == f"Credential should be scoped to a valid region, not '{TYPO}'."
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    logged = [e for e in aws_sandbox.control.requests() if e["access_key"] == key]
    assert [(e["region"], e["status"]) for e in logged] == [(TYPO, status)]


def test_unknown_region_on_s3_is_s3s_own_error(aws_sandbox):
    s3 = aws_sandbox.client("s3", region=TYPO, config=NO_RETRY)
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert err.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    assert f"the region '{TYPO}' is wrong" in err.value.response["Error"]["Message"]


def test_real_regions_and_global_services_still_answer(aws_sandbox):
    assert "Vpcs" in aws_sandbox.client("ec2", region="eu-west-2").describe_vpcs()
    assert "items" in aws_sandbox.client("timestream-influxdb", region="ap-southeast-2").list_db_instances()
    assert "Roles" in aws_sandbox.client("iam", region=TYPO).list_roles()  # one IAM endpoint for every region


def test_aws_cli_with_a_typo_in_the_region_says_which(aws_sandbox):
    """What a user sees from the aws CLI (README's "look at what was built" command) with a typo."""
    env = {**aws_sandbox.subprocess_env(), "AWS_REGION": TYPO, "AWS_DEFAULT_REGION": TYPO, "AWS_MAX_ATTEMPTS": "1"}
    proc = subprocess.run([str(Path(sys.executable).parent / "aws"), "ec2", "describe-vpcs"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert f"Credential should be scoped to a valid region, not '{TYPO}'." in proc.stderr, proc.stderr
