"""The monitoring role through ansible-playbook against the AWS sandbox: --check --diff on an
account where nothing exists yet (no KMS key, no topic) runs to the end and changes nothing, and a
real run without the KMS key fails before any change, naming the variable. The build, its
idempotence and the result are the molecule scenario `monitoring`'s (converge, idempotence, verify)."""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.helpers.ansible import run_playbook

pytestmark = pytest.mark.slow  # ansible-playbook runs against the AWS sandbox

ROLE = "ons.timestream_influxdb.monitoring : "


def play(aws_sandbox, tmp_path, env_name, kms_key_arn=""):
    playbook = tmp_path / "monitoring.yml"
    playbook.write_text(
        f"""
- name: Monitoring
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {sys.executable}
    project: ons-test
    environment_name: {env_name}
    aws_region: us-east-1
    resource_tags: {{Project: ons-test, Environment: {env_name}}}
    database_instance_name: ons-test-{env_name}
    monitoring_kms_key_arn: "{kms_key_arn}"
  module_defaults:
    group/ons.timestream_influxdb.aws:
      region: us-east-1
      endpoint_url: {aws_sandbox.endpoint}
      access_key: testing
      secret_key: testing
  roles:
    - ons.timestream_influxdb.monitoring
  post_tasks:
    - name: Facts
      ansible.builtin.debug:
        msg:
          topic: "{{{{ monitoring_sns_topic_arn }}}}"
          log_groups: "{{{{ monitoring_log_group_names }}}}"
          dashboard: "{{{{ monitoring_dashboard_name }}}}"
          alarms: "{{{{ monitoring_alarm_names }}}}"
"""
    )
    return playbook


def test_check_mode_on_an_empty_account(aws_sandbox, tmp_path):
    env_name = f"mon{uuid.uuid4().hex[:6]}"
    prefix = f"ons-test-{env_name}"
    aws_sandbox.control.reset_requests()
    r = run_playbook(tmp_path, playbook=play(aws_sandbox, tmp_path, env_name), check=True, diff=True)
    assert r.rc == 0, r.stdout[-4000:]
    assert [x for x in aws_sandbox.control.requests() if x["mutating"]] == []
    facts = r.task("Facts")["msg"]
    assert facts["topic"].endswith(f":sns:us-east-1:123456789012:{prefix}-alarms")
    assert facts["log_groups"] == [f"/aws/lambda/{prefix}-influxdb-test", f"/aws/lambda/{prefix}-rotation"]
    assert facts["dashboard"] == f"{prefix}-influxdb"
    assert len(facts["alarms"]) == 7
    assert "would be created" in r.task(ROLE + "Say the alarm topic would be created")["msg"]
    assert "KMS key" in r.task(ROLE + "Say the alarm topic will be encrypted once the KMS key exists")["msg"]

    # without the key a real run fails before any change, naming the variable
    r = run_playbook(tmp_path, playbook=play(aws_sandbox, tmp_path, env_name))
    assert r.rc != 0
    assert "monitoring_kms_key_arn" in r.task(ROLE + "Check the monitoring inputs")["msg"]
    assert [x for x in aws_sandbox.control.requests() if x["mutating"]] == []
