"""The sandbox's request log and fault injection.

Each test signs its requests with its own access key id (same account) and reads the log and
aims its fault rules by that key, so the tests hold on a sandbox shared with other tests."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.client import SandboxControlError

pytestmark = pytest.mark.sandbox

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
RETRY = Config(retries={"total_max_attempts": 5, "mode": "standard"})


@pytest.fixture
def key():
    return "AKIA" + uuid.uuid4().hex[:16].upper()


@pytest.fixture
def control(aws_sandbox, key):
    yield aws_sandbox.control
    aws_sandbox.control.clear_faults(access_key=key)


def test_request_log_records_service_operation_and_mutating(aws_sandbox, control, key):
    def client(service):
        return aws_sandbox.client(service, access_key=key)

    ec2 = client("ec2")
    ec2.describe_vpcs()
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ts = client("timestream-influxdb")
    ts.list_db_instances()
    with pytest.raises(ts.exceptions.ResourceNotFoundException):
        ts.get_db_instance(identifier="nosuchinstance")
    client("secretsmanager").list_secrets()
    client("iam").list_roles()
    client("s3").list_buckets()
    client("kms").list_keys()
    ec2.delete_vpc(VpcId=vpc)

    log = control.requests(access_key=key)
    simplified = [
        (r["service"], r["operation"], r["mutating"], r["status"]) for r in log
    ]
    assert simplified == [
        ("ec2", "DescribeVpcs", False, 200),
        ("ec2", "CreateVpc", True, 200),
        ("timestream-influxdb", "ListDbInstances", False, 200),
        ("timestream-influxdb", "GetDbInstance", False, 404),
        ("secretsmanager", "ListSecrets", False, 200),
        ("iam", "ListRoles", False, 200),
        ("s3", "GET /", False, 200),
        ("kms", "ListKeys", False, 200),
        ("ec2", "DeleteVpc", True, 200),
    ]
    assert [r["seq"] for r in log] == sorted(r["seq"] for r in log)
    assert all(isinstance(r["time"], float) and r["region"] == "us-east-1" for r in log)
    assert [
        r["operation"] for r in control.mutating_requests("ec2", access_key=key)
    ] == [
        "CreateVpc",
        "DeleteVpc",
    ]
    assert control.mutating_requests("iam", access_key=key) == []


def test_the_log_is_read_by_access_key_and_after_a_sequence_number(aws_sandbox, control, key):
    ec2 = aws_sandbox.client("ec2", access_key=key)
    ec2.describe_vpcs()
    aws_sandbox.client("ec2").describe_vpcs()  # another key
    (first,) = control.requests(access_key=key)
    ec2.describe_subnets()
    assert [r["operation"] for r in control.requests(access_key=key, since=first["seq"])] == ["DescribeSubnets"]
    assert [r["operation"] for r in control._call("GET", f"requests?access_key={key}")] == ["DescribeVpcs", "DescribeSubnets"]


def test_reset_empties_the_log(aws_sandbox, control, key):
    aws_sandbox.client("ec2", access_key=key).describe_vpcs()
    assert control.requests(access_key=key)
    control.reset_requests()
    assert control.requests(access_key=key) == []


def test_rest_mutations_are_mutating(aws_sandbox, control, key):
    s3 = aws_sandbox.client("s3", access_key=key)
    bucket = f"log-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    s3.get_object(Bucket=bucket, Key="k")
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    ops = [(r["operation"], r["mutating"]) for r in control.requests(access_key=key)]
    assert ops == [
        (f"PUT /{bucket}", True),
        (f"PUT /{bucket}/k", True),
        (f"GET /{bucket}/k", False),
        (f"DELETE /{bucket}/k", True),
        (f"DELETE /{bucket}", True),
    ]


def test_throttle_in_each_protocol_shape(aws_sandbox, control, key):
    control.set_faults(
        access_key=key,
        rules=[
            {"service": s, "kind": "throttle", "rate": 1, "count": 1, "access_key": key}
            for s in ("ec2", "timestream-influxdb", "iam", "secretsmanager")
        ]
    )

    def client(service):
        return aws_sandbox.client(service, access_key=key, config=NO_RETRY)

    # each service's own API reference gives the status: Timestream for InfluxDB's
    # ThrottlingException is HTTP 429, the others answer 400
    cases = [
        (lambda: client("ec2").describe_vpcs(), "RequestLimitExceeded", 400),
        (
            lambda: client("timestream-influxdb").list_db_instances(),
            "ThrottlingException",
            429,
        ),
        (lambda: client("iam").list_roles(), "Throttling", 400),
        (
            lambda: client("secretsmanager").list_secrets(),
            "ThrottlingException",
            400,
        ),
    ]
    for call, code, status in cases:
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == code
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    # each rule's count is used up: the same calls now succeed
    for case in cases:
        case[0]()
    injected = {r["service"]: r["injected"] for r in control.faults(access_key=key)}
    assert injected == {
        "ec2": 1,
        "timestream-influxdb": 1,
        "iam": 1,
        "secretsmanager": 1,
    }
    throttled = [
        (r["service"], r["status"])
        for r in control.requests(access_key=key)
        if r.get("fault") == "throttle"
    ]
    assert throttled == [
        ("ec2", 400),
        ("timestream-influxdb", 429),
        ("iam", 400),
        ("secretsmanager", 400),
    ]


def test_rules_spare_other_operations_and_other_clients(aws_sandbox, control, key):
    control.set_faults(
        access_key=key,
        rules=[
            {
                "service": "ec2",
                "operation": "DescribeSubnets",
                "kind": "server_error",
                "access_key": key,
            }
        ]
    )
    ec2 = aws_sandbox.client("ec2", access_key=key, config=NO_RETRY)
    ec2.describe_vpcs()
    aws_sandbox.client("ec2", config=NO_RETRY).describe_subnets()  # another access key
    with pytest.raises(ClientError) as info:
        ec2.describe_subnets()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert info.value.response["Error"]["Code"] == "InternalFailure"


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalFailure"), (503, "ServiceUnavailable")]
)
def test_server_errors(aws_sandbox, control, key, status, code):
    control.set_faults(
        access_key=key,
        rules=[
            {
                "service": "timestream-influxdb",
                "kind": "server_error",
                "status": status,
                "count": 1,
                "access_key": key,
            }
        ]
    )
    ts = aws_sandbox.client("timestream-influxdb", access_key=key, config=NO_RETRY)
    with pytest.raises(ClientError) as info:
        ts.list_db_parameter_groups()
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize("kind", ["throttle", "server_error"])
def test_boto3_retries_get_through(aws_sandbox, control, key, kind):
    control.set_faults(
        access_key=key,
        rules=[
            {"service": "ec2", "kind": kind, "rate": 1, "count": 2, "access_key": key},
            {
                "service": "timestream-influxdb",
                "kind": kind,
                "rate": 1,
                "count": 2,
                "access_key": key,
            },
        ]
    )
    ec2 = aws_sandbox.client("ec2", access_key=key, config=RETRY)
    assert ec2.describe_vpcs()["ResponseMetadata"]["RetryAttempts"] == 2
    ts = aws_sandbox.client("timestream-influxdb", access_key=key, config=RETRY)
    assert ts.list_db_instances()["ResponseMetadata"]["RetryAttempts"] == 2
    statuses = [(r["service"], r["status"]) for r in control.requests(access_key=key)]
    # botocore retries by error code: a 429 ThrottlingException is retried as a 400 one is
    ec2_failed, ts_failed = (400, 429) if kind == "throttle" else (500, 500)
    assert statuses == [("ec2", ec2_failed)] * 2 + [("ec2", 200)] + [
        ("timestream-influxdb", ts_failed)
    ] * 2 + [("timestream-influxdb", 200)]


def test_a_wildcard_service_rule_answers_every_service(aws_sandbox, control, key):
    control.set_faults(access_key=key, rules=[{"service": "*", "kind": "throttle", "rate": 1, "count": 4}])
    cases = [
        ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),
        ("timestream-influxdb", lambda c: c.list_db_instances(), "ThrottlingException"),
        ("s3", lambda c: c.list_buckets(), "SlowDown"),
        ("sts", lambda c: c.get_caller_identity(), "Throttling"),
    ]
    for service, call, code in cases:
        with pytest.raises(ClientError) as info:
            call(aws_sandbox.client(service, access_key=key, config=NO_RETRY))
        assert info.value.response["Error"]["Code"] == code, service
    assert control.faults(access_key=key)[0]["injected"] == 4
    assert [(r["service"], r.get("fault")) for r in control.requests(access_key=key)] == [
        (case[0], "throttle") for case in cases]
    # Another client of the same services is not touched.
    aws_sandbox.client("ec2", config=NO_RETRY).describe_vpcs()


def test_rules_set_for_one_access_key_leave_the_others_in_place(aws_sandbox, control, key):
    other = "AKIA" + uuid.uuid4().hex[:16].upper()
    try:
        control.set_faults(access_key=other, rules=[{"service": "ec2", "kind": "throttle", "rate": 0}])
        control.set_faults(access_key=key, rules=[{"service": "*", "kind": "server_error", "rate": 0}])
        assert [(r["service"], r["access_key"]) for r in control.faults(access_key=key)] == [("*", key)]
        assert [(r["service"], r["access_key"]) for r in control.faults(access_key=other)] == [("ec2", other)]
        with pytest.raises(SandboxControlError, match="400"):
            control.set_faults(access_key=key, rules=[{"service": "ec2", "kind": "throttle", "access_key": other}])
        control.clear_faults(access_key=key)
        assert control.faults(access_key=key) == []
        assert len(control.faults(access_key=other)) == 1
    finally:
        control.clear_faults(access_key=other)


def test_rate_zero_never_fires(aws_sandbox, control, key):
    control.set_faults(
        access_key=key,
        rules=[{"service": "ec2", "kind": "throttle", "rate": 0, "access_key": key}]
    )
    ec2 = aws_sandbox.client("ec2", access_key=key, config=NO_RETRY)
    for _ in range(5):
        ec2.describe_vpcs()
    assert control.faults(access_key=key)[0]["injected"] == 0


@pytest.mark.parametrize(
    "rules",
    [
        [{"service": "ec2", "kind": "explode"}],
        [{"kind": "throttle"}],
        [{"service": "ec2", "kind": "throttle", "rate": 2}],
        [{"service": "ec2", "kind": "throttle", "count": -1}],
        [{"service": "ec2", "kind": "server_error", "status": 404}],
        [{"service": "ec2", "kind": "throttle", "color": "red"}],
        {"service": "ec2"},
    ],
)
def test_invalid_fault_rules_rejected(control, key, rules):
    with pytest.raises(SandboxControlError, match="400"):
        control._call("PUT", f"faults?access_key={key}", rules)
    assert control.faults(access_key=key) == []


def test_control_endpoints(aws_sandbox, control, key):
    health = control.health()
    assert health["status"] == "ok" and isinstance(health["pid"], int)
    before = control.config()["delay"]
    try:
        control.set_delay(0.2)
        assert control.config() == {"delay": 0.2}
        with pytest.raises(SandboxControlError):
            control._call("PUT", "config", {"delay": -1})
    finally:
        control.set_delay(before)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(aws_sandbox.endpoint + "/_sandbox/nothing", timeout=5)
    assert info.value.code == 404
    assert json.loads(info.value.read())["error"]
    # control calls are not AWS requests: they are not logged
    assert all(
        not r["operation"].startswith(("GET /_sandbox", "PUT /_sandbox"))
        for r in control.requests()
    )


@pytest.mark.parametrize(
    ("operation", "method", "mutating"),
    [
        ("DescribeVpcs", "POST", False),
        ("ListDbInstances", "POST", False),
        ("GetSecretValue", "POST", False),
        ("BatchGetItem", "POST", False),
        ("FilterLogEvents", "POST", False),
        ("Decrypt", "POST", False),
        ("GenerateDataKey", "POST", False),
        ("AssumeRole", "POST", False),
        ("CreateDbInstance", "POST", True),
        ("PutMetricAlarm", "POST", True),
        ("TagResource", "POST", True),
        ("SignUp", "POST", True),
        ("GET /bucket/key", "GET", False),
        ("HEAD /bucket", "HEAD", False),
        ("PUT /bucket", "PUT", True),
        ("POST /2015-03-31/functions", "POST", True),
    ],
)
def test_mutating_classification(operation, method, mutating):
    from sandbox.aws.requestlog import is_mutating

    assert is_mutating(operation, method) is mutating


def test_classify_reads_each_protocol():
    import io

    from sandbox.aws.requestlog import classify

    def auth(service):
        return f"AWS4-HMAC-SHA256 Credential=AKIAX/20260101/eu-west-2/{service}/aws4_request, SignedHeaders=host"

    body = b"Action=DescribeVpcs&Version=2016-11-15"
    info = classify(
        {
            "HTTP_AUTHORIZATION": auth("ec2"),
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
            "wsgi.input": io.BytesIO(body),
        },
        body,
    )
    assert (
        info.service,
        info.operation,
        info.protocol,
        info.region,
        info.access_key,
    ) == (
        "ec2",
        "DescribeVpcs",
        "ec2",
        "eu-west-2",
        "AKIAX",
    )
    info = classify(
        {
            "HTTP_AUTHORIZATION": auth("iam"),
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "Action=ListRoles",
        },
        b"",
    )
    assert (info.service, info.operation, info.protocol, info.mutating) == (
        "iam",
        "ListRoles",
        "query",
        False,
    )
    info = classify(
        {
            "HTTP_AUTHORIZATION": auth("logs"),
            "REQUEST_METHOD": "POST",
            "HTTP_X_AMZ_TARGET": "Logs_20140328.CreateLogGroup",
        },
        b"{}",
    )
    assert (info.service, info.operation, info.protocol, info.mutating) == (
        "logs",
        "CreateLogGroup",
        "json",
        True,
    )
    info = classify(
        {
            "HTTP_AUTHORIZATION": auth("s3"),
            "REQUEST_METHOD": "DELETE",
            "PATH_INFO": "/b/k",
        },
        b"",
    )
    assert (info.service, info.operation, info.protocol, info.mutating) == (
        "s3",
        "DELETE /b/k",
        "rest-xml",
        True,
    )
