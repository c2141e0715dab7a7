"""What an environment of the platform has, read through the AWS and InfluxDB APIs, in a form two
environments built from the same inventory compare equal in.

    state = platform_state(aws_sandbox, environment)     # {"vpc": ..., "subnets": [...], ...}
    left = resources_of(aws_sandbox, environment)        # what is left of it, by kind (empty kinds left out)

``platform_state`` keeps the settings of every resource (CIDRs, rules, policies, alarms' thresholds,
the instance's configuration, InfluxDB's buckets, DBRP mappings and authorizations) and drops or
replaces what differs from build to build: ids and ARNs become the name of what they point at
(``<sg:...-lambda>``), timestamps, states in motion and generated values (addresses, tokens, DNS
names) go, and the environment's prefix, name and CIDR's second octet become ``{prefix}``, ``{env}``
and ``{octet}``. ``normalize`` is the pure part (unit-tested in tests/unit/test_platform_state.py).

``environment`` is anything with ``name``, ``prefix``, ``project`` and ``second_octet``
(tests/integration/conftest.py's ``Environment``).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from typing import Any

# Keys whose values change from build to build and say nothing about the configuration.
VOLATILE_KEYS = frozenset({
    "CreateTime", "CreationTimestamp", "CreatedDate", "CreationDate", "LastModified", "LastModifiedDate",
    "LastChangedDate", "LastAccessedDate", "LastRotatedDate", "NextRotationDate", "DeletedDate", "LastUpdateDate",
    "StateUpdatedTimestamp", "StateReason", "StateReasonData", "StateValue", "AlarmConfigurationUpdatedTimestamp",
    "StateTransitionedTimestamp", "creationTime", "createdAt", "updatedAt", "RevisionId", "Version", "VersionId",
    "CodeSize", "LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode", "State", "StateCode",
    "OwnerId", "RequesterId", "RequestId", "ResponseMetadata", "PublicIp", "PrivateIpAddress", "PrivateIp",
    "NetworkInterfaceId", "NetworkInterfaceIds", "AssociationId", "AllocationId", "DnsEntries", "CodeSha256",
    "storedBytes", "metricFilterCount", "arn", "Arn", "AlarmArn", "FunctionArn", "RoleId", "KeyId",
    "PublicIpv4Pool", "NetworkBorderGroup", "Domain", "DefaultVersionId", "PolicyId", "token",
})


def _name_tag(item: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in item.get("Tags", []) or [] if t["Key"] == "Name"), None)


def _tags(items: list[dict[str, str]] | dict[str, str] | None) -> dict[str, str]:
    if isinstance(items, dict):
        return dict(sorted(items.items()))
    return dict(sorted((t["Key"], t["Value"]) for t in items or []))


def normalize(value: Any, names: dict[str, str], environment: Any) -> Any:
    """``value`` with every id in ``names`` replaced by ``<its name>``, volatile keys dropped, and the
    environment's prefix, name and second octet replaced by placeholders; lists of dicts sorted."""
    if isinstance(value, dict):
        return {_normalize_text(k, names, environment): normalize(v, names, environment)
                for k, v in sorted(value.items()) if k not in VOLATILE_KEYS}
    if isinstance(value, (list, tuple)):
        items = [normalize(v, names, environment) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, str):
        return _normalize_text(value, names, environment)
    return value


def _normalize_text(text: str, names: dict[str, str], environment: Any) -> str:
    if text in names:
        text = f"<{names[text]}>"
    for ident in sorted(names, key=len, reverse=True):
        if ident in text:
            text = text.replace(ident, f"<{names[ident]}>")
    if environment is None:
        return text
    text = text.replace(environment.prefix, "{prefix}")
    text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(environment.name)}(?![A-Za-z0-9])", "{env}", text)
    return re.sub(rf"(?<![0-9])10\.{environment.second_octet}\.", "10.{octet}.", text)


def _secret_arn_name(arn: str) -> str:
    """The secret's name of a Secrets Manager ARN (AWS appends a dash and six random characters)."""
    return re.sub(r"-[A-Za-z0-9]{6}$", "", arn.split(":secret:", 1)[1])


def _policy(document: Any) -> Any:
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document) if document.startswith("%7B") else document)
    return document


def resources_of(sandbox: Any, environment: Any) -> dict[str, list]:
    """Every resource of the environment still in the sandbox, by kind (empty kinds left out): the
    network, the instance and its backups, the secrets (also those scheduled for deletion), the log
    bucket, alarms, dashboard, log groups, topic, role and the Lambda function."""
    env = environment
    tag = [{"Name": "tag:Environment", "Values": [env.name]}]
    ec2 = sandbox.client("ec2")
    influx = sandbox.client("timestream-influxdb")
    found = {
        "vpcs": ec2.describe_vpcs(Filters=tag)["Vpcs"],
        "subnets": ec2.describe_subnets(Filters=tag)["Subnets"],
        "security_groups": ec2.describe_security_groups(Filters=tag)["SecurityGroups"],
        "route_tables": ec2.describe_route_tables(Filters=tag)["RouteTables"],
        "internet_gateways": ec2.describe_internet_gateways(Filters=tag)["InternetGateways"],
        "nat_gateways": [n for n in ec2.describe_nat_gateways(Filter=tag)["NatGateways"]
                         if n["State"] not in ("deleted", "deleting")],
        "addresses": ec2.describe_addresses(Filters=tag)["Addresses"],
        "vpc_endpoints": [e for e in ec2.describe_vpc_endpoints(Filters=tag)["VpcEndpoints"]
                          if e["State"].lower() not in ("deleted", "deleting")],
        "instances": [i for i in influx.list_db_instances()["items"] if i["name"].startswith(env.prefix)],
        "backups": [b for b in influx.list_db_backups()["items"] if b["name"].startswith(env.prefix)],
        "secrets": sandbox.client("secretsmanager").list_secrets(
            IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": [f"{env.project}/{env.name}/"]}])["SecretList"],
        "buckets": [b for b in sandbox.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(env.prefix)],
        "alarms": sandbox.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{env.prefix}-")["MetricAlarms"],
        "dashboards": sandbox.client("cloudwatch").list_dashboards(DashboardNamePrefix=env.prefix)["DashboardEntries"],
        "log_groups": sandbox.client("logs").describe_log_groups(
            logGroupNamePrefix=f"/aws/lambda/{env.prefix}-")["logGroups"],
        "topics": [t for t in sandbox.client("sns").list_topics()["Topics"] if f":{env.prefix}-" in t["TopicArn"]],
        "roles": [r for r in sandbox.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(env.prefix)],
        "functions": [f for f in sandbox.client("lambda").list_functions()["Functions"]
                      if f["FunctionName"].startswith(env.prefix)],
    }
    return {kind: items for kind, items in found.items() if items}


class _Reader:
    """Reads the raw description of one environment and the names its ids stand for."""

    def __init__(self, sandbox: Any, environment: Any) -> None:
        self.sandbox = sandbox
        self.env = environment
        self.names: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return self.sandbox.client(service)

    def name(self, ident: str | None, label: str) -> None:
        if ident:
            self.names[ident] = label

    def network(self) -> dict[str, Any]:
        ec2 = self.client("ec2")
        tag = [{"Name": "tag:Environment", "Values": [self.env.name]}]
        vpcs = ec2.describe_vpcs(Filters=tag)["Vpcs"]
        subnets = ec2.describe_subnets(Filters=tag)["Subnets"]
        tables = ec2.describe_route_tables(Filters=tag)["RouteTables"]
        gateways = ec2.describe_internet_gateways(Filters=tag)["InternetGateways"]
        nats = [n for n in ec2.describe_nat_gateways(Filter=tag)["NatGateways"] if n["State"] not in ("deleted", "deleting")]
        addresses = ec2.describe_addresses(Filters=tag)["Addresses"]
        endpoints = [e for e in ec2.describe_vpc_endpoints(Filters=tag)["VpcEndpoints"]
                     if e["State"].lower() not in ("deleted", "deleting")]
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs] or ["none"]}])["SecurityGroups"]
        for items, id_key, kind in ((vpcs, "VpcId", "vpc"), (subnets, "SubnetId", "subnet"),
                                    (tables, "RouteTableId", "rtb"), (gateways, "InternetGatewayId", "igw"),
                                    (nats, "NatGatewayId", "nat"), (addresses, "AllocationId", "eip")):
            for item in items:
                self.name(item[id_key], f"{kind}:{_name_tag(item)}")
        for endpoint in endpoints:
            self.name(endpoint["VpcEndpointId"], f"vpce:{_name_tag(endpoint) or endpoint['ServiceName']}")
        for group in groups:
            self.name(group["GroupId"], f"sg:{group['GroupName']}")
        return {
            "vpcs": [{"VpcId": v["VpcId"], "CidrBlock": v["CidrBlock"], "InstanceTenancy": v.get("InstanceTenancy"),
                      "Tags": v.get("Tags", []), "Attributes": self._vpc_attributes(ec2, v["VpcId"])} for v in vpcs],
            "subnets": [{k: s.get(k) for k in ("SubnetId", "VpcId", "CidrBlock", "AvailabilityZone",
                                               "MapPublicIpOnLaunch", "Tags")} for s in subnets],
            "route_tables": [{"RouteTableId": t["RouteTableId"], "VpcId": t["VpcId"], "Tags": t.get("Tags", []),
                              "Routes": [{k: v for k, v in r.items() if k != "Origin"} for r in t["Routes"]],
                              "Associations": [{k: a.get(k) for k in ("SubnetId", "GatewayId", "Main")}
                                               for a in t.get("Associations", [])]} for t in tables],
            "internet_gateways": [{"InternetGatewayId": g["InternetGatewayId"], "Tags": g.get("Tags", []),
                                   "Attachments": g.get("Attachments", [])} for g in gateways],
            "nat_gateways": [{"NatGatewayId": n["NatGatewayId"], "SubnetId": n["SubnetId"], "VpcId": n["VpcId"],
                              "ConnectivityType": n.get("ConnectivityType"), "Tags": n.get("Tags", []),
                              "Addresses": [a.get("AllocationId") for a in n.get("NatGatewayAddresses", [])]}
                             for n in nats],
            "addresses": [{"AllocationId": a["AllocationId"], "Tags": a.get("Tags", [])} for a in addresses],
            "vpc_endpoints": [{k: e.get(k) for k in ("VpcEndpointId", "VpcEndpointType", "VpcId", "ServiceName",
                                                     "RouteTableIds", "SubnetIds", "PrivateDnsEnabled", "Tags")}
                              | {"Groups": [g["GroupId"] for g in e.get("Groups", [])],
                                 "PolicyDocument": _policy(e["PolicyDocument"]) if e.get("PolicyDocument") else None}
                              for e in endpoints],
            "security_groups": [{"GroupId": g["GroupId"], "GroupName": g["GroupName"], "Description": g["Description"],
                                 "VpcId": g["VpcId"], "Tags": g.get("Tags", []),
                                 "IpPermissions": _rules(g["IpPermissions"]),
                                 "IpPermissionsEgress": _rules(g["IpPermissionsEgress"])} for g in groups],
        }

    @staticmethod
    def _vpc_attributes(ec2: Any, vpc_id: str) -> dict[str, bool]:
        return {name: ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[name[0].upper() + name[1:]]["Value"]
                for name in ("enableDnsSupport", "enableDnsHostnames")}

    def security(self) -> dict[str, Any]:
        kms = self.client("kms")
        alias_name = f"alias/{self.env.prefix}-influxdb"
        aliases = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias_name]
        key: dict[str, Any] = {}
        for alias in aliases:
            meta = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
            self.name(meta["KeyId"], alias_name)
            self.name(meta["Arn"], alias_name)
            key = {"alias": alias_name, "KeyState": meta["KeyState"], "KeyUsage": meta["KeyUsage"],
                   "Description": meta.get("Description"), "KeySpec": meta.get("KeySpec"),
                   "RotationEnabled": kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"],
                   "Policy": json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]),
                   "Tags": {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"]}}
        iam = self.client("iam")
        roles = []
        for role in iam.list_roles()["Roles"]:
            if not role["RoleName"].startswith(self.env.prefix):
                continue
            name = role["RoleName"]
            self.name(role["Arn"], f"role:{name}")
            roles.append({
                "RoleName": name, "Path": role["Path"], "Description": role.get("Description"),
                "AssumeRolePolicyDocument": _policy(role["AssumeRolePolicyDocument"]),
                "MaxSessionDuration": role.get("MaxSessionDuration"),
                "Tags": iam.list_role_tags(RoleName=name)["Tags"],
                "InlinePolicies": {p: _policy(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
                                   for p in iam.list_role_policies(RoleName=name)["PolicyNames"]},
                "AttachedPolicies": [p["PolicyName"] for p in
                                     iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]],
            })
        return {"kms_key": key, "roles": roles}

    def secrets(self) -> list[dict[str, Any]]:
        sm = self.client("secretsmanager")
        out = []
        for secret in sm.list_secrets(Filters=[{"Key": "name", "Values": [f"{self.env.project}/{self.env.name}/"]}])[
                "SecretList"]:
            self.name(secret["ARN"], f"secret:{secret['Name']}")
            value = json.loads(sm.get_secret_value(SecretId=secret["ARN"])["SecretString"])
            out.append({
                "Name": secret["Name"], "Description": secret.get("Description"), "KmsKeyId": secret.get("KmsKeyId"),
                # Rotation bookkeeping tags hold times and ids: their keys only.
                "Tags": {t["Key"]: (t["Value"] if not t["Key"].startswith("Rotation") else "*")
                         for t in secret.get("Tags", [])},
                "DeletionScheduled": "DeletedDate" in secret,
                # What the secret holds, never the secret itself: its keys and the non-secret settings.
                "Keys": sorted(value),
                "Settings": {k: v for k, v in value.items() if k in ("username", "org", "bucket", "port")},
            })
        return out

    def database(self) -> dict[str, Any]:
        influx = self.client("timestream-influxdb")
        instances = []
        for summary in influx.list_db_instances()["items"]:
            if summary["name"] != self.env.prefix and not summary["name"].startswith(f"{self.env.prefix}-"):
                continue
            db = influx.get_db_instance(identifier=summary["id"])
            self.name(db["id"], f"instance:{db['name']}")
            self.name(db["arn"], f"instance:{db['name']}")
            if db.get("endpoint"):
                self.name(db["endpoint"], f"endpoint:{db['name']}")
            if db.get("influxAuthParametersSecretArn"):
                self.name(db["influxAuthParametersSecretArn"], f"auth-parameters:{db['name']}")
            tags = influx.list_tags_for_resource(resourceArn=db["arn"]).get("tags", {})
            instances.append({k: v for k, v in db.items() if k not in (
                "id", "arn", "endpoint", "availabilityZone", "secondaryAvailabilityZone", "influxAuthParametersSecretArn",
                "ResponseMetadata")} | {"tags": tags})
        groups = []
        for summary in influx.list_db_parameter_groups()["items"]:
            if not summary["name"].startswith(self.env.prefix):
                continue
            group = influx.get_db_parameter_group(identifier=summary["id"])
            self.name(group["id"], f"parameter-group:{group['name']}")
            self.name(group["arn"], f"parameter-group:{group['name']}")
            groups.append({k: group.get(k) for k in ("name", "description", "parameters")})
        return {"instances": instances, "parameter_groups": groups}

    def log_buckets(self) -> list[dict[str, Any]]:
        s3 = self.client("s3")
        out = []
        for bucket in s3.list_buckets()["Buckets"]:
            name = bucket["Name"]
            if not name.startswith(self.env.prefix):
                continue
            out.append({
                "Name": name,
                "Versioning": s3.get_bucket_versioning(Bucket=name).get("Status"),
                "Encryption": _optional(lambda n=name: s3.get_bucket_encryption(Bucket=n)[
                    "ServerSideEncryptionConfiguration"]),
                "PublicAccessBlock": _optional(lambda n=name: s3.get_public_access_block(Bucket=n)[
                    "PublicAccessBlockConfiguration"]),
                "Policy": _optional(lambda n=name: json.loads(s3.get_bucket_policy(Bucket=n)["Policy"])),
                "Lifecycle": _optional(lambda n=name: s3.get_bucket_lifecycle_configuration(Bucket=n)["Rules"]),
                "Tags": _optional(lambda n=name: s3.get_bucket_tagging(Bucket=n)["TagSet"]),
            })
        return out

    def monitoring(self) -> dict[str, Any]:
        sns = self.client("sns")
        topics = []
        for topic in sns.list_topics()["Topics"]:
            arn = topic["TopicArn"]
            if f":{self.env.prefix}-" not in arn:
                continue
            name = arn.rsplit(":", 1)[1]
            self.name(arn, f"topic:{name}")
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            topics.append({"Name": name, "KmsMasterKeyId": attributes.get("KmsMasterKeyId"),
                           "DisplayName": attributes.get("DisplayName"),
                           "Policy": _policy(attributes["Policy"]) if attributes.get("Policy") else None,
                           "Subscriptions": [{k: s[k] for k in ("Protocol", "Endpoint")}
                                             for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]],
                           "Tags": sns.list_tags_for_resource(ResourceArn=arn)["Tags"]})
        cloudwatch = self.client("cloudwatch")
        alarms = [{k: a.get(k) for k in (
            "AlarmName", "AlarmDescription", "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions",
            "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
            "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions", "Metrics", "Unit")}
            for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{self.env.prefix}-")["MetricAlarms"]]
        dashboards = [{"Name": d["DashboardName"],
                       "Body": json.loads(cloudwatch.get_dashboard(DashboardName=d["DashboardName"])["DashboardBody"])}
                      for d in cloudwatch.list_dashboards(DashboardNamePrefix=self.env.prefix)["DashboardEntries"]]
        logs = self.client("logs")
        log_groups = [{k: g.get(k) for k in ("logGroupName", "retentionInDays", "kmsKeyId")}
                      for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{self.env.prefix}-")["logGroups"]]
        return {"topics": topics, "alarms": alarms, "dashboards": dashboards, "log_groups": log_groups}

    def functions(self) -> list[dict[str, Any]]:
        lam = self.client("lambda")
        out = []
        for function in lam.list_functions()["Functions"]:
            name = function["FunctionName"]
            if not name.startswith(self.env.prefix):
                continue
            config = lam.get_function(FunctionName=name)
            out.append({k: config["Configuration"].get(k) for k in (
                "FunctionName", "Runtime", "Handler", "Timeout", "MemorySize", "Role", "Description", "Environment",
                "KMSKeyArn", "TracingConfig", "Architectures", "PackageType", "EphemeralStorage")}
                | {"VpcConfig": {k: v for k, v in (config["Configuration"].get("VpcConfig") or {}).items()
                                 if k in ("SubnetIds", "SecurityGroupIds")},
                   "Tags": config.get("Tags", {})})
        return out

    def influxdb(self) -> dict[str, Any]:
        """Buckets, DBRP mappings and authorizations, read with the operator token the secrets role stored."""
        sm = self.client("secretsmanager")
        try:
            operator = json.loads(sm.get_secret_value(
                SecretId=f"{self.env.project}/{self.env.name}/influxdb/operator-token")["SecretString"])
        except sm.exceptions.ResourceNotFoundException:
            return {}
        url, token = operator["url"].rstrip("/"), operator["token"]

        def get(path: str) -> Any:
            request = urllib.request.Request(f"{url}{path}", headers={"Authorization": f"Token {token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)

        orgs = get("/api/v2/orgs")["orgs"]
        for org in orgs:
            self.name(org["id"], f"org:{org['name']}")
        users = get("/api/v2/users").get("users", [])
        for user in users:
            self.name(user["id"], f"user:{user['name']}")
        buckets = get("/api/v2/buckets?limit=100")["buckets"]
        for bucket in buckets:
            self.name(bucket["id"], f"bucket:{bucket['name']}")
        dbrps = []
        for org in orgs:
            dbrps += get(f"/api/v2/dbrps?orgID={org['id']}")["content"]
        authorizations = get("/api/v2/authorizations")["authorizations"]
        return {
            "orgs": sorted(o["name"] for o in orgs),
            "buckets": [{"name": b["name"], "description": b.get("description"), "orgID": b.get("orgID"),
                         "type": b.get("type"),
                         "retentionRules": [{k: r.get(k) for k in ("type", "everySeconds", "shardGroupDurationSeconds")}
                                            for r in b.get("retentionRules", [])]} for b in buckets],
            "dbrps": [{k: d.get(k) for k in ("database", "retention_policy", "default", "bucketID", "orgID", "virtual")}
                      for d in dbrps],
            "authorizations": [{"description": a.get("description"), "status": a.get("status"), "orgID": a.get("orgID"),
                                "user": a.get("user"),
                                "permissions": [{"action": p["action"],
                                                 "resource": {k: v for k, v in p["resource"].items()
                                                              if k in ("type", "id", "name", "orgID", "org")}}
                                                for p in a.get("permissions", [])]}
                               for a in authorizations],
        }


def _rules(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in permissions:
        out.append({
            "IpProtocol": rule.get("IpProtocol"), "FromPort": rule.get("FromPort"), "ToPort": rule.get("ToPort"),
            "IpRanges": sorted(r["CidrIp"] for r in rule.get("IpRanges", [])),
            "Ipv6Ranges": sorted(r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])),
            "PrefixListIds": sorted(r["PrefixListId"] for r in rule.get("PrefixListIds", [])),
            "UserIdGroupPairs": sorted(p["GroupId"] for p in rule.get("UserIdGroupPairs", [])),
        })
    return out


def _optional(read: Any) -> Any:
    """The result of ``read()``, or None when the setting is not there (an S3 "no such ..." error)."""
    from botocore.exceptions import ClientError

    try:
        return read()
    except ClientError as exc:
        if exc.response["Error"]["Code"].startswith("NoSuch") or exc.response["Error"]["Code"] in (
                "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration"):
            return None
        raise


def platform_state(sandbox: Any, environment: Any) -> dict[str, Any]:
    """The normalized description of everything ``environment`` has (see the module's docstring)."""
    reader = _Reader(sandbox, environment)
    raw = {"network": reader.network(), "security": reader.security(), "database": reader.database()}
    raw["secrets"] = reader.secrets()
    raw["log_buckets"] = reader.log_buckets()
    raw["monitoring"] = reader.monitoring()
    raw["functions"] = reader.functions()
    raw["influxdb"] = reader.influxdb()
    # Secret ARNs that name a secret not listed (a policy's reference) keep their name without the suffix.
    text = json.dumps(raw, default=str)
    for arn in set(re.findall(r"arn:aws:secretsmanager:[^\"*]+?:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}(?=\")", text)):
        reader.names.setdefault(arn, f"secret:{_secret_arn_name(arn)}")
    return normalize(raw, reader.names, environment)


def diff_states(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two states differ, as readable lines (for assertion messages)."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = []
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                out.append(f"{path}/{key}: {left.get(key, '<missing>')!r} != {right.get(key, '<missing>')!r}")
            else:
                out += diff_states(left[key], right[key], f"{path}/{key}")
        return out
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        out = []
        for index, (a, b) in enumerate(zip(left, right)):
            out += diff_states(a, b, f"{path}[{index}]")
        return out
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]
