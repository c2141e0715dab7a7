#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_principal_access_info
version_added: 0.1.0
short_description: Whether an IAM role may call given actions on given resources
description:
  - Asks IAM's policy simulator (C(SimulatePrincipalPolicy)) whether the role is allowed each action on
    each resource.
  - Where the simulator does not answer (an endpoint that does not implement it, or a principal without
    C(iam:SimulatePrincipalPolicy)), reads the role's policy documents (inline and attached managed, default
    versions) and evaluates their statements itself - C(Allow) and C(Deny), C(Action)/C(NotAction),
    C(Resource)/C(NotResource) with wildcards. Statements with a C(Condition) are counted as applying,
    which errs towards reporting access. RV(method) says which way was used.
  - Reads only.
author:
  - ONS data platform engineers (@ons-data-platform)
options:
  role_name:
    description: Name of the IAM role.
    type: str
    required: true
  action_names:
    description: Actions to evaluate, for example V(secretsmanager:GetSecretValue).
    type: list
    elements: str
    required: true
  resource_arns:
    description: Resources to evaluate each action on.
    type: list
    elements: str
    default: ["*"]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ons.timestream_influxdb.attributes.info_module
"""

EXAMPLES = r"""
- name: May the Lambda role read another environment's secret?
  ons.timestream_influxdb.iam_principal_access_info:
    role_name: ons-data-platform-prod-lambda
    action_names:
      - secretsmanager:GetSecretValue
    resource_arns:
      - arn:aws:secretsmanager:eu-west-2:123456789012:secret:ons-data-platform/dev/influxdb/lambda-token-AbCdEf
  register: access
"""

RETURN = r"""
role_arn:
  description: ARN of the role.
  returned: always
  type: str
method:
  description: V(simulation) (IAM's simulator answered) or V(policy_documents) (evaluated here).
  returned: always
  type: str
simulation_error:
  description: Why the simulator was not used (only with V(policy_documents)).
  returned: when RV(method=policy_documents)
  type: str
evaluation_results:
  description: One entry per action and resource.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: The action.
      type: str
    resource:
      description: The resource.
      type: str
    decision:
      description: V(allowed), V(explicitDeny) or V(implicitDeny).
      type: str
policies:
  description: The documents evaluated, by name (only with V(policy_documents)).
  returned: when RV(method=policy_documents)
  type: dict
"""

import fnmatch
import json
from urllib.parse import unquote

try:
    import botocore
    import botocore.parsers
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(patterns, value, case_insensitive=False):
    """IAM wildcard matching: * and ? (actions compare case-insensitively)."""
    for pattern in patterns:
        if case_insensitive:
            if fnmatch.fnmatchcase(value.lower(), pattern.lower()):
                return True
        elif fnmatch.fnmatchcase(value, pattern):
            return True
    return False


def statement_applies(statement, action, resource):
    """Whether one policy statement covers (action, resource)."""
    if "Action" in statement:
        action_ok = _matches(_as_list(statement["Action"]), action, case_insensitive=True)
    else:
        action_ok = not _matches(_as_list(statement.get("NotAction")), action, case_insensitive=True)
    if "Resource" in statement:
        resource_ok = _matches(_as_list(statement["Resource"]), resource)
    else:
        resource_ok = not _matches(_as_list(statement.get("NotResource")), resource)
    return action_ok and resource_ok


def evaluate(documents, action, resource):
    """IAM's decision for identity policies: an explicit Deny wins, else any Allow, else implicitDeny."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if not statement_applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return "explicitDeny"
            if statement.get("Effect") == "Allow":
                allowed = True
    return "allowed" if allowed else "implicitDeny"


def _document(raw):
    """A policy document as IAM returns it (dict, or URL-encoded JSON text)."""
    if isinstance(raw, dict):
        return raw
    return json.loads(unquote(raw))


def read_policies(client, role_name):
    """{name: document} for the role's inline policies and attached managed policies (default version)."""
    policies = {}
    for name in client.get_paginator("list_role_policies").paginate(RoleName=role_name).build_full_result()["PolicyNames"]:
        raw = client.get_role_policy(RoleName=role_name, PolicyName=name, aws_retry=True)["PolicyDocument"]
        policies[f"inline:{name}"] = _document(raw)
    attached = client.get_paginator("list_attached_role_policies").paginate(RoleName=role_name).build_full_result()
    for policy in attached["AttachedPolicies"]:
        arn = policy["PolicyArn"]
        version = client.get_policy(PolicyArn=arn, aws_retry=True)["Policy"]["DefaultVersionId"]
        raw = client.get_policy_version(PolicyArn=arn, VersionId=version, aws_retry=True)["PolicyVersion"]["Document"]
        policies[f"managed:{arn}"] = _document(raw)
    return policies


def simulate(client, role_arn, actions, resources):
    """SimulatePrincipalPolicy's decisions, as evaluation_results."""
    paginator = client.get_paginator("simulate_principal_policy")
    pages = paginator.paginate(PolicySourceArn=role_arn, ActionNames=actions, ResourceArns=resources)
    results = []
    for page in pages:
        for result in page["EvaluationResults"]:
            per_resource = result.get("ResourceSpecificResults") or []
            if per_resource:
                for entry in per_resource:
                    results.append(dict(action=result["EvalActionName"], resource=entry["EvalResourceName"],
                                        decision=entry["EvalResourceDecision"]))
            else:
                results.append(dict(action=result["EvalActionName"], resource=result.get("EvalResourceName", "*"),
                                    decision=result["EvalDecision"]))
    return results


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            role_name=dict(type="str", required=True),
            action_names=dict(type="list", elements="str", required=True),
            resource_arns=dict(type="list", elements="str", default=["*"]),
        ),
        supports_check_mode=True,
    )
    client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
    role_name = module.params["role_name"]
    actions = module.params["action_names"]
    resources = module.params["resource_arns"]
    try:
        role_arn = client.get_role(RoleName=role_name, aws_retry=True)["Role"]["Arn"]
    except is_boto3_error_code("NoSuchEntity"):
        module.fail_json(msg=f"IAM role {role_name} does not exist")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to read IAM role {role_name}")

    simulation_error = None
    try:
        results = simulate(client, role_arn, actions, resources)
    # A simulator that is not there answers an error, or (the sandbox, moto) an HTML page botocore cannot parse.
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, botocore.parsers.ResponseParserError,
            KeyError, ValueError) as e:
        simulation_error = f"{type(e).__name__}: {e}"[:500]
    if simulation_error is None:
        module.exit_json(changed=False, role_arn=role_arn, method="simulation", evaluation_results=results)

    try:
        policies = read_policies(client, role_name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"SimulatePrincipalPolicy failed ({simulation_error}) and reading the policies of {role_name} failed")
    results = [
        dict(action=action, resource=resource, decision=evaluate(list(policies.values()), action, resource))
        for action in actions
        for resource in resources
    ]
    module.exit_json(changed=False, role_arn=role_arn, method="policy_documents", simulation_error=simulation_error,
                     evaluation_results=results, policies=policies)


if __name__ == "__main__":
    main()
