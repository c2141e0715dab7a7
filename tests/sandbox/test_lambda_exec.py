"""The sandbox runs Python Lambda functions itself (lambda_exec.py) and checks their AWS calls
against their execution role (iam_eval.py): results, errors and timeouts as Invoke returns them, the
function's environment, its output in /aws/lambda/<name>, and AccessDenied for what the role does
not allow. Reachability of instances is exercised end to end in
tests/integration/test_validation_lambda_connectivity.py."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from sandbox.aws import iam_eval

HANDLER = '''
import json, os, time
import boto3

def handler(event, context):
    action = event.get("action")
    if action == "fail":
        raise ValueError("asked to fail")
    if action == "sleep":
        time.sleep(30)
    if action == "secret":
        value = boto3.client("secretsmanager").get_secret_value(SecretId=event["secret_id"])
        return {"secret": json.loads(value["SecretString"])}
    print("hello from", context.function_name)
    return {"event": event, "greeting": os.environ["GREETING"], "remaining": context.get_remaining_time_in_millis() > 0,
            "region": os.environ["AWS_REGION"], "key": os.environ["AWS_ACCESS_KEY_ID"][:4]}
'''


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("app.py", source)
    return buffer.getvalue()


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def function(aws_sandbox):
    iam, lam, logs, sm = (aws_sandbox.client(s) for s in ("iam", "lambda", "logs", "secretsmanager"))
    name = f"pytest-fn-{uuid.uuid4().hex[:6]}"
    trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]
    allowed = sm.create_secret(Name=f"{name}/allowed", SecretString=json.dumps({"v": 1}))["ARN"]
    denied = sm.create_secret(Name=f"{name}-other/denied", SecretString=json.dumps({"v": 2}))["ARN"]
    iam.put_role_policy(RoleName=name, PolicyName="fn", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": f"arn:aws:secretsmanager:*:*:secret:{name}/*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}))
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role["Arn"], Handler="app.handler",
                        Code={"ZipFile": package(HANDLER)}, Timeout=3,
                        Environment={"Variables": {"GREETING": "hi"}})
    yield {"name": name, "role": name, "allowed": allowed, "denied": denied}
    lam.delete_function(FunctionName=name)


def invoke(aws_sandbox, name, event, **kwargs):
    answer = aws_sandbox.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event), **kwargs)
    return answer, json.loads(answer["Payload"].read())


def test_the_handler_runs_with_the_function_environment_and_its_own_credentials(aws_sandbox, function):
    answer, payload = invoke(aws_sandbox, function["name"], {"x": 1}, LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert payload == {"event": {"x": 1}, "greeting": "hi", "remaining": True, "region": aws_sandbox.region,
                       "key": "ASIA"}
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert f"hello from {function['name']}" in tail and "END RequestId:" in tail


def test_the_output_goes_to_the_log_group(aws_sandbox, function):
    invoke(aws_sandbox, function["name"], {"x": 2})
    events = aws_sandbox.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function['name']}")["events"]
    messages = [e["message"] for e in events]
    assert any(m == f"hello from {function['name']}" for m in messages)
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_an_exception_is_an_unhandled_function_error(aws_sandbox, function):
    answer, payload = invoke(aws_sandbox, function["name"], {"action": "fail"})
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "asked to fail"
    assert payload["stackTrace"]


def test_the_timeout_is_enforced(aws_sandbox, function):
    answer, payload = invoke(aws_sandbox, function["name"], {"action": "sleep"})
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in payload["errorMessage"]


def test_the_role_reads_the_secret_it_is_allowed(aws_sandbox, function):
    answer, payload = invoke(aws_sandbox, function["name"], {"action": "secret", "secret_id": f"{function['name']}/allowed"})
    assert "FunctionError" not in answer and payload == {"secret": {"v": 1}}


def test_a_secret_the_role_does_not_allow_is_access_denied(aws_sandbox, function):
    answer, payload = invoke(aws_sandbox, function["name"], {"action": "secret", "secret_id": f"{function['name']}-other/denied"})
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ClientError"
    assert "AccessDeniedException" in payload["errorMessage"]
    assert (f"assumed-role/{function['role']}/{function['name']} is not authorized to perform: "
            f"secretsmanager:GetSecretValue on resource: {function['denied']}") in payload["errorMessage"]


def test_an_unknown_function_is_resource_not_found(aws_sandbox):
    with pytest.raises(ClientError) as err:
        aws_sandbox.client("lambda").invoke(FunctionName="pytest-no-such-function", Payload=b"{}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(("statements", "action", "resource", "decision"), [
    ([{"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": "arn:aws:secretsmanager:*:1:secret:a/*"}],
     "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-2:1:secret:a/b-AbCdEf", iam_eval.ALLOWED),
    ([{"Effect": "Allow", "Action": "SecretsManager:getsecretvalue", "Resource": "*"}],
     "secretsmanager:GetSecretValue", "arn:x", iam_eval.ALLOWED),
    ([{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:*:1:secret:a/*"}],
     "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-2:1:secret:A/b", iam_eval.IMPLICIT_DENY),
    ([{"Effect": "Allow", "Action": "*", "Resource": "*"},
      {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}], "kms:Decrypt", "arn:k", iam_eval.EXPLICIT_DENY),
    ([{"Effect": "Allow", "NotAction": "kms:*", "Resource": "*"}], "kms:Decrypt", "arn:k", iam_eval.IMPLICIT_DENY),
    ([{"Effect": "Allow", "Action": "logs:PutLogEvents", "NotResource": "arn:l:secret*"}],
     "logs:PutLogEvents", "arn:l:group", iam_eval.ALLOWED),
    ([{"Effect": "Allow", "Action": "logs:PutLogEvent?", "Resource": "*",
       "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}], "logs:PutLogEvents", "arn:l", iam_eval.IMPLICIT_DENY),
])
def test_identity_policy_evaluation(statements, action, resource, decision):
    assert iam_eval.evaluate([policy(*statements)], action, resource) == decision


PROBE = '''
import json, urllib.request

def handler(event, context):
    try:
        with urllib.request.urlopen(event["url"] + "/health", timeout=1.5) as response:
            return {"status": json.loads(response.read())["status"]}
    except Exception as exc:
        return {"error": type(exc).__name__ + ": " + str(exc)}
'''


@pytest.fixture(scope="module")
def network(aws_sandbox):
    """A VPC with the function's and the instance's security groups (the InfluxDB port from the
    function's group only), an instance in it, and a second VPC."""
    ec2, ts, iam = aws_sandbox.client("ec2"), aws_sandbox.client("timestream-influxdb"), aws_sandbox.client("iam")
    vpcs, subnets = [], []
    for octet in (81, 82):
        vpc = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")["Vpc"]["VpcId"]
        vpcs.append(vpc)
        subnets.append([ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{octet}.{i}.0/24",
                                          AvailabilityZone=f"{aws_sandbox.region}{az}")["Subnet"]["SubnetId"]
                        for i, az in ((1, "a"), (2, "b"))])
    tag = uuid.uuid4().hex[:6]
    fn_sg = ec2.create_security_group(GroupName=f"fn-{tag}", Description="function", VpcId=vpcs[0])["GroupId"]
    db_sg = ec2.create_security_group(GroupName=f"db-{tag}", Description="instance", VpcId=vpcs[0])["GroupId"]
    other_sg = ec2.create_security_group(GroupName=f"other-{tag}", Description="other", VpcId=vpcs[1])["GroupId"]
    rule = {"IpProtocol": "tcp", "FromPort": 8086, "ToPort": 8086, "UserIdGroupPairs": [{"GroupId": fn_sg}]}
    ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=[rule])
    created = ts.create_db_instance(
        name=f"reach-{tag}", username="operator", password="Passw0rd99", organization="ons", bucket="metrics",
        dbInstanceType="db.influx.medium", vpcSubnetIds=subnets[0], vpcSecurityGroupIds=[db_sg], allocatedStorage=20)
    from sandbox.client import wait_for_db_instance

    instance = wait_for_db_instance(ts, created["id"])
    trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName=f"reach-{tag}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    yield {"tag": tag, "subnets": subnets, "fn_sg": fn_sg, "db_sg": db_sg, "other_sg": other_sg, "rule": rule,
           "url": f"http://{instance['endpoint']}:{instance['port']}", "role": role}
    ts.delete_db_instance(identifier=created["id"])


def probe(aws_sandbox, network, name, vpc_config=None):
    lam = aws_sandbox.client("lambda")
    function = f"reach-{network['tag']}-{name}"
    lam.create_function(FunctionName=function, Runtime="python3.11", Role=network["role"], Handler="app.handler",
                        Code={"ZipFile": package(PROBE)}, Timeout=10,
                        **({"VpcConfig": vpc_config} if vpc_config else {}))
    try:
        return invoke(aws_sandbox, function, {"url": network["url"]})[1]
    finally:
        lam.delete_function(FunctionName=function)


def test_the_function_reaches_the_instance_when_the_security_groups_allow_it(aws_sandbox, network):
    config = {"SubnetIds": network["subnets"][0], "SecurityGroupIds": [network["fn_sg"]]}
    assert probe(aws_sandbox, network, "ok", config) == {"status": "pass"}


def test_without_the_ingress_rule_the_connection_hangs_until_the_client_times_out(aws_sandbox, network):
    ec2 = aws_sandbox.client("ec2")
    config = {"SubnetIds": network["subnets"][0], "SecurityGroupIds": [network["fn_sg"]]}
    ec2.revoke_security_group_ingress(GroupId=network["db_sg"], IpPermissions=[network["rule"]])
    try:
        answer = probe(aws_sandbox, network, "noingress", config)
    finally:
        ec2.authorize_security_group_ingress(GroupId=network["db_sg"], IpPermissions=[network["rule"]])
    assert "timed out" in answer["error"]


def test_without_egress_the_connection_hangs(aws_sandbox, network):
    ec2 = aws_sandbox.client("ec2")
    everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.revoke_security_group_egress(GroupId=network["fn_sg"], IpPermissions=[everything])
    try:
        answer = probe(aws_sandbox, network, "noegress",
                       {"SubnetIds": network["subnets"][0], "SecurityGroupIds": [network["fn_sg"]]})
    finally:
        ec2.authorize_security_group_egress(GroupId=network["fn_sg"], IpPermissions=[everything])
    assert "timed out" in answer["error"]


def test_from_another_vpc_or_outside_any_vpc_the_connection_hangs(aws_sandbox, network):
    other = {"SubnetIds": network["subnets"][1], "SecurityGroupIds": [network["other_sg"]]}
    assert "timed out" in probe(aws_sandbox, network, "othervpc", other)["error"]
    assert "timed out" in probe(aws_sandbox, network, "novpc")["error"]
