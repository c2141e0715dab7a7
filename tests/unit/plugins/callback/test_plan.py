"""Unit tests of plugins/callback/plan.py: naming, classification, field diffs, no_log, rendering."""

from __future__ import annotations

import json

import pytest
from ansible_collections.ons.timestream_influxdb.plugins.callback import plan

INSTANCE = "ons.timestream_influxdb.timestream_influxdb_instance"


def result(args=None, diff=None, changed=True, **extra):
    data = {"changed": changed, "invocation": {"module_args": args or {}}}
    if diff is not None:
        data["diff"] = diff
    data.update(extra)
    return data


# -- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args,expected",
    [
        ({"name": "ons-dev", "tags": {"Name": "other"}}, "ons-dev"),
        ({"cidr": "10.0.1.0/24", "tags": {"Name": "ons-dev-public-a"}}, "ons-dev-public-a"),
        ({"resource_tags": {"Name": "ons-dev-igw"}, "vpc_id": "vpc-1"}, "ons-dev-igw"),
        ({"iam_type": "role", "iam_name": "ons-dev-lambda", "policy_name": "secrets"}, "ons-dev-lambda/secrets"),
        ({"alias": "alias/ons-dev-influxdb"}, "alias/ons-dev-influxdb"),
        ({"log_group_name": "/aws/lambda/ons-dev-x"}, "/aws/lambda/ons-dev-x"),
        ({"description": "ons-dev operator"}, "ons-dev operator"),
        ({"database": "telemetry", "bucket": "b"}, "b"),
        ({"state": "absent", "vpc_id": "vpc-123"}, "vpc_id=vpc-123"),
        ({"name": ""}, "task"),
        ({"name": "{{ not_templated }}"}, "task"),
        ({"name": True}, "task"),
    ],
)
def test_resource_name_prefers_the_name_then_the_name_tag_then_identifiers(args, expected):
    assert plan.resource_name(args, None, "task") == expected


def test_resource_name_falls_back_to_the_item_label_then_an_id_then_the_task():
    assert plan.resource_name({}, "10.0.10.0/24", "Private subnets") == "10.0.10.0/24"
    assert plan.resource_name({"vpc_id": "vpc-1"}, "10.0.10.0/24 (subnet-1)", "t") == "10.0.10.0/24 (subnet-1)"
    assert plan.resource_name({"id": "b-1", "state": "absent"}, "ons-dev-final", "t") == "ons-dev-final"
    assert plan.resource_name({"id": "b-1", "state": "absent"}, None, "t") == "b-1"
    assert plan.resource_name({}, None, "Private subnets") == "Private subnets"
    assert plan.resource_name({}, None, "") == "(unnamed)"


# -- classification --------------------------------------------------------------------------------

def test_a_diff_with_nothing_before_is_an_add_listing_every_field():
    action, fields = plan.classify({"name": "db"}, result(diff={"before": {}, "after": {"port": 8086, "tags": {"a": "1"}}}))
    assert action == plan.ADD
    assert [(f.name, f.before, f.after) for f in fields] == [("port", plan.MISSING, 8086), ("tags.a", plan.MISSING, "1")]


def test_a_diff_from_absent_state_is_an_add():
    action = plan.classify({}, result(diff={"before": {"state": "absent"}, "after": {"state": "present"}}))[0]
    assert action == plan.ADD


def test_a_diff_with_both_sides_is_a_change_with_only_the_differing_fields():
    before = {"port": 8086, "class": "db.influx.medium", "tags": {"Env": "dev", "Old": "x"}, "ids": [1, 2]}
    after = {"port": 8086, "class": "db.influx.large", "tags": {"Env": "dev", "New": "y"}, "ids": [2, 1]}
    action, fields = plan.classify({}, result(diff={"before": before, "after": after}))
    assert action == plan.CHANGE
    assert [(f.name, f.before, f.after) for f in fields] == [
        ("class", "db.influx.medium", "db.influx.large"),
        ("ids", [1, 2], [2, 1]),
        ("tags.New", plan.MISSING, "y"),
        ("tags.Old", "x", plan.MISSING),
    ]


def test_several_diffs_are_combined():
    diffs = [{"before": {"a": 1}, "after": {"a": 2}}, {"before": {"b": 1}, "after": {"b": 3}}]
    action, fields = plan.classify({}, result(diff=diffs))
    assert action == plan.CHANGE and [f.name for f in fields] == ["a", "b"]


def test_state_absent_or_an_empty_after_is_a_destroy_without_fields():
    assert plan.classify({"state": "absent"}, result()) == (plan.DESTROY, [])
    assert plan.classify({}, result(diff={"before": {"a": 1}, "after": {}})) == (plan.DESTROY, [])
    assert plan.classify({}, result(state="deleted")) == (plan.DESTROY, [])


def test_no_diff_means_the_module_cannot_say_add_or_change():
    assert plan.classify({"name": "vpc"}, result()) == (plan.UNKNOWN, [])
    assert plan.classify({}, result(diff={"prepared": "text only"})) == (plan.UNKNOWN, [])


def test_text_diffs_become_one_content_field():
    action, fields = plan.classify({}, result(diff={"before": "", "after": "x\n"}))
    assert action == plan.ADD and [(f.name, f.before, f.after) for f in fields] == [("content", plan.MISSING, "x\n")]
    action, fields = plan.classify({}, result(diff={"before": "a\n", "after": "b\n"}))
    assert action == plan.CHANGE and [(f.before, f.after) for f in fields] == [("a\n", "b\n")]


def test_a_nested_dict_replacing_a_scalar_is_one_field():
    fields = plan.field_changes({"p": "x"}, {"p": {"k": 1}})
    assert [(f.name, f.before, f.after) for f in fields] == [("p", "x", {"k": 1})]


# -- records ---------------------------------------------------------------------------------------

def test_unchanged_failed_skipped_and_non_resource_results_are_not_recorded():
    assert plan.record_from_result(result(changed=False), INSTANCE, "h", "t", False) is None
    assert plan.record_from_result(result(failed=True), INSTANCE, "h", "t", False) is None
    assert plan.record_from_result(result(skipped=True), INSTANCE, "h", "t", False) is None
    assert plan.record_from_result(result(), "ansible.builtin.add_host", "h", "t", False) is None
    assert plan.record_from_result(result(), f"{INSTANCE}_info", "h", "t", False) is None


def test_a_censored_result_is_recorded_by_its_task_name_only():
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified",
                "changed": True, "_ansible_no_log": True}
    rec = plan.record_from_result(censored, "community.aws.secretsmanager_secret", "h", "Store the token", True,
                                  task_args={"name": "ons/dev/influxdb/operator-token", "secret": "s3cret"})
    assert rec is not None and rec.hidden
    assert (rec.action, rec.name, rec.fields) == (plan.UNKNOWN, "Store the token", [])
    rendered = "\n".join(plan.render([rec], True)) + json.dumps(plan.to_json([rec], True))
    assert "s3cret" not in rendered and "operator-token" not in rendered
    assert "details hidden (no_log)" in rendered


def test_task_args_are_used_only_when_the_result_has_no_invocation_and_never_templates():
    rec = plan.record_from_result({"changed": True}, "x.y.z", "h", "t", False,
                                  task_args={"name": "{{ secret_name }}", "path": "/etc/x"})
    assert rec is not None and rec.name == "/etc/x"


def test_the_loop_item_label_names_a_resource_without_a_name_argument():
    rec = plan.record_from_result(result({"cidr": "10.0.1.0/24"}, _ansible_item_label="public-a"),
                                  "amazon.aws.ec2_vpc_subnet", "h", "Subnets", False)
    assert rec is not None and rec.name == "public-a"


# -- modules whose diff the plan reads itself ----------------------------------------------------------

ALARM = "amazon.aws.cloudwatch_metric_alarm"
ALARM_ARGS = {"name": "cpu", "metric_name": "CPUUtilization", "namespace": "AWS/TimestreamInfluxDB",
              "statistic": "Average", "comparison": "GreaterThanThreshold", "threshold": 90.0, "period": 60,
              "evaluation_periods": 5, "dimensions": {"DbInstanceName": "db"}, "alarm_actions": ["arn:topic"],
              "ok_actions": ["arn:topic"], "insufficient_data_actions": [], "treat_missing_data": "missing",
              "description": None, "unit": None, "state": "present"}
ALARM_RESULT = {"name": "cpu", "alarm_arn": "arn:alarm", "metric_name": "CPUUtilization",
                "namespace": "AWS/TimestreamInfluxDB", "statistic": "Average", "comparison": "GreaterThanThreshold",
                "threshold": 99.0, "period": 60, "evaluation_periods": 5,
                "dimensions": [{"Name": "DbInstanceName", "Value": "db"}], "alarm_actions": ["arn:topic"],
                "ok_actions": ["arn:topic"], "insufficient_data_actions": [], "treat_missing_data": "missing",
                "description": "set by hand", "unit": None, "state_value": "OK"}


def test_an_alarm_in_check_mode_is_compared_with_its_options():
    rec = plan.record_from_result(result(ALARM_ARGS, **ALARM_RESULT), ALARM, "h", "Alarms", True)
    assert rec is not None and (rec.action, rec.name) == (plan.CHANGE, "cpu")
    # Only what the task declares: the description it leaves unset is not drift.
    assert [(f.name, f.before, f.after) for f in rec.fields] == [("threshold", 99.0, 90.0)]


def test_an_alarm_that_does_not_exist_yet_is_an_add_and_outside_check_mode_an_unknown():
    missing = {k: None for k in ALARM_RESULT}
    rec = plan.record_from_result(result(ALARM_ARGS, **missing), ALARM, "h", "Alarms", True)
    assert rec is not None and rec.action == plan.ADD
    assert ("threshold", 90.0) in [(f.name, f.after) for f in rec.fields]
    # A normal run's result is the alarm after the change: nothing tells a change from a creation.
    rec = plan.record_from_result(result(ALARM_ARGS, **ALARM_RESULT), ALARM, "h", "Alarms", False)
    assert rec is not None and (rec.action, rec.fields) == (plan.UNKNOWN, [])


def test_a_vpc_in_check_mode_compares_its_tags_with_the_declared_ones():
    args = {"name": "ons-dev-vpc", "cidr_block": ["10.0.0.0/16"], "tags": {"ManagedBy": "ansible"}, "purge_tags": True}
    vpc = {"id": "vpc-1", "tags": {"Name": "ons-dev-vpc", "ManagedBy": "console", "Owner": "someone"}}
    rec = plan.record_from_result(result(args, vpc=vpc), "amazon.aws.ec2_vpc_net", "h", "VPC", True)
    assert rec is not None and (rec.action, rec.name) == (plan.CHANGE, "ons-dev-vpc")
    assert [(f.name, f.before, f.after) for f in rec.fields] == [
        ("tags.ManagedBy", "console", "ansible"), ("tags.Owner", "someone", plan.MISSING)]
    rec = plan.record_from_result(result({**args, "purge_tags": False}, vpc=vpc), "amazon.aws.ec2_vpc_net", "h", "VPC",
                                  True)
    assert rec is not None and [f.name for f in rec.fields] == ["tags.ManagedBy"]
    rec = plan.record_from_result(result(args, vpc={"id": ""}), "amazon.aws.ec2_vpc_net", "h", "VPC", True)
    assert rec is not None and rec.action == plan.ADD


def test_security_group_rules_are_compared_one_per_source_without_the_modules_noise():
    before = {"group_id": "sg-db", "description": "db", "tags": {"Name": "db"}, "security_group_arn": "arn:sg-db",
              "ip_permissions": [{"ip_protocol": "tcp", "from_port": 8086, "to_port": 8086,
                                  "ip_ranges": [{"cidr_ip": "0.0.0.0/0", "description": "by hand"}],
                                  "user_id_group_pairs": [{"group_id": "sg-fn", "description": "from the functions"}]}],
              "ip_permissions_egress": [{"ip_protocol": "-1", "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}]}
    # What the module rebuilds from the task: ports as text, the source group's own description, no ARN.
    after = {"group_id": "sg-db", "description": "db", "tags": {"Name": "db"},
             "ip_permissions": [{"ip_protocol": "tcp", "from_port": "8086", "to_port": "8086", "ip_ranges": [],
                                 "user_id_group_pairs": [{"group_id": "sg-fn", "description": "the group"}]}],
             "ip_permissions_egress": [{"ip_protocol": "-1", "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}]}
    rec = plan.record_from_result(result({"name": "db"}, diff=[{"before": before, "after": after}]),
                                  "amazon.aws.ec2_security_group", "h", "SG", True)
    assert rec is not None and rec.action == plan.CHANGE
    assert [(f.name, f.before, f.after) for f in rec.fields] == [
        ("ingress", ["tcp 8086 from 0.0.0.0/0", "tcp 8086 from sg-fn"], ["tcp 8086 from sg-fn"])]
    created = plan.record_from_result(result({"name": "db"}, diff=[{"before": {}, "after": after}]),
                                      "amazon.aws.ec2_security_group", "h", "SG", True)
    assert created is not None and created.action == plan.ADD
    assert plan.security_group_rules([{"ip_protocol": "udp", "from_port": 1000, "to_port": 2000,
                                       "ipv6_ranges": [{"cidr_ipv6": "::/0"}],
                                       "prefix_list_ids": [{"prefix_list_id": "pl-1"}]}]) == [
        "udp 1000-2000 from ::/0", "udp 1000-2000 from pl-1"]


def test_merge_keeps_one_entry_per_resource_and_action_with_the_latest_values():
    a = plan.ResourceChange(plan.CHANGE, INSTANCE, "db", "h", False, fields=[plan.FieldChange("port", 1, 2)])
    b = plan.ResourceChange(plan.CHANGE, INSTANCE, "db", "h", False,
                            fields=[plan.FieldChange("port", 2, 3), plan.FieldChange("class", "m", "l")])
    c = plan.ResourceChange(plan.DESTROY, INSTANCE, "db", "h", False)
    merged = plan.merge([a, b, c])
    assert [(r.action, [(f.name, f.before, f.after) for f in r.fields]) for r in merged] == [
        (plan.CHANGE, [("port", 1, 3), ("class", "m", "l")]),
        (plan.DESTROY, []),
    ]
    assert a.fields[0].after == 2  # the inputs are not modified


# -- rendering -------------------------------------------------------------------------------------

def records(check_mode: bool) -> list[plan.ResourceChange]:
    return [
        plan.ResourceChange(plan.ADD, INSTANCE, "ons-dev", "localhost", check_mode,
                            fields=[plan.FieldChange("allocated_storage", plan.MISSING, 20)]),
        plan.ResourceChange(plan.CHANGE, "amazon.aws.ec2_security_group", "ons-dev-db", "localhost", check_mode,
                            fields=[plan.FieldChange("description", "old", "x" * 200)]),
        plan.ResourceChange(plan.DESTROY, "amazon.aws.ec2_vpc_net", "ons-dev-vpc", "localhost", check_mode),
        plan.ResourceChange(plan.UNKNOWN, "amazon.aws.kms_key", "alias/ons-dev", "localhost", check_mode),
    ]


def test_render_in_check_mode_says_would():
    lines = plan.render(records(True), True, max_value_length=40)
    assert lines[0] == "Check mode: nothing below was changed; this is what the run would do."
    assert '  + ons.timestream_influxdb.timestream_influxdb_instance "ons-dev" (would add)' in lines
    assert "      + allocated_storage = 20" in lines
    assert '  ~ amazon.aws.ec2_security_group "ons-dev-db" (would change)' in lines
    assert '      ~ description: "old" -> "' + "x" * 36 + '...' in lines
    assert '  - amazon.aws.ec2_vpc_net "ons-dev-vpc" (would destroy)' in lines
    assert '  * amazon.aws.kms_key "alias/ons-dev" (would add or change; the module reports no diff)' in lines
    assert lines[-1] == ("Plan: would add 1, change 1 and destroy 1 resource(s); "
                         "1 more would be added or changed (their modules report no diff).")


def test_render_of_a_normal_run_says_what_it_did():
    lines = plan.render(records(False), False)
    assert '  + ons.timestream_influxdb.timestream_influxdb_instance "ons-dev" (added)' in lines
    assert '  - amazon.aws.ec2_vpc_net "ons-dev-vpc" (destroyed)' in lines
    assert lines[-1] == ("Applied: added 1, changed 1 and destroyed 1 resource(s); "
                         "1 more added or changed (their modules report no diff).")
    assert not any("would" in line for line in lines)


def test_render_separates_tasks_that_ran_for_real_in_a_check_run():
    mixed = records(True)[:1] + [plan.ResourceChange(plan.UNKNOWN, "ansible.builtin.command", "probe", "localhost", False)]
    lines = plan.render(mixed, True)
    assert lines.index("Check mode: nothing below was changed; this is what the run would do.") > lines.index(
        '  * ansible.builtin.command "probe" (added or changed; the module reports no diff)')


def test_render_names_the_host_only_when_there_are_several():
    two = [plan.ResourceChange(plan.DESTROY, "m", "n", host, False) for host in ("a", "b")]
    assert '  - m "n" on a (destroyed)' in plan.render(two, False)
    assert '  - m "n" (destroyed)' in plan.render(two[:1], False)


def test_render_without_changes():
    assert plan.render([], True) == [
        "No changes: the resources already match the playbooks (check mode; nothing was changed)."]
    assert plan.render([], False) == ["No changes: the resources already matched the playbooks."]


def test_json_holds_totals_and_full_values():
    doc = plan.to_json(records(True), True)
    assert doc["check_mode"] is True
    assert doc["totals"] == {"add": 1, "change": 1, "destroy": 1, "unknown": 1}
    assert doc["resources"][0]["fields"] == [{"name": "allocated_storage", "before": None, "after": 20}]
    assert doc["resources"][1]["fields"][0]["after"] == "x" * 200
    json.dumps(doc)


def test_the_documentation_is_valid_yaml_with_the_options_the_code_reads():
    import yaml

    doc = yaml.safe_load(plan.DOCUMENTATION)
    assert doc["name"] == "plan" and doc["type"] == "aggregate"
    assert set(doc["options"]) == {"max_value_length", "json_file"}
