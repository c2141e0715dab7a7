
# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: plan
type: aggregate
short_description: Summarise what a run added, changed and destroyed, like Terraform's plan
version_added: 0.1.0
author:
  - ONS data platform engineers (@ons-data-platform)
description:
  - At the end of a playbook run, prints the resources the run added, changed and destroyed (in check mode,
    the ones it B(would) add, change and destroy), by type and name, each with the fields that change, then
    one line of totals, in the manner of C(terraform plan) and C(terraform apply).
  - Built from the task results only, never from a call of its own. A result counts when its task reported
    C(changed). The resource type is the module (its fully qualified name); the name comes from the module's
    arguments (V(name), the V(Name) tag, and the usual identifiers such as V(alias), V(log_group_name),
    V(description), V(dest)), else the loop item's label, else an C(*_id) argument, else the task's name.
  - A resource is V(added) when the module's diff has nothing before (or a C(state) of V(absent) before), V(destroyed)
    when the task asked for C(state=absent) or the diff has nothing after, and V(changed) otherwise; the fields are
    the keys of the diff's C(before) and C(after) that differ, nested keys joined with dots. Modules return a diff
    only in diff mode, so run with C(--diff) (C(make plan) and C(make apply) do).
  - A module that returns no diff (many amazon.aws and community.aws modules do not support diff mode) cannot say
    whether it created or updated; its resource is listed apart, as V(added or changed), with no fields.
  - Except, in check mode, C(amazon.aws.cloudwatch_metric_alarm) and C(amazon.aws.ec2_vpc_net), which change nothing
    there and return the resource as it is, so the plan compares those documented result keys with the task's
    options (the alarm's options the task sets; the VPC's tags). Out-of-band drift of an alarm or a VPC's tags is
    then planned field by field, as with a module that has a diff. Outside check mode they stay V(added or changed).
  - C(amazon.aws.ec2_security_group)'s diff is compared as rules, one line per protocol, ports and source
    (C(tcp 8086 from 0.0.0.0/0)), not as its raw permissions, whose before and after differ in form for the same
    rule (ports as text, a source group's description, no ARN after); rule descriptions are not compared.
  - Printed after the play recap; under a stdout callback that prints JSON (V(ansible.posix.json),
    V(ansible.posix.jsonl)) it goes to standard error, so that standard output stays one document.
  - Never prints a secret. A result hidden by C(no_log) is listed under its task's name only, without its
    arguments, item or diff. Other values come from module results, where Ansible has already masked every
    C(no_log) option's value.
requirements:
  - enabled with C(callbacks_enabled = ons.timestream_influxdb.plan) in C(ansible.cfg) (this repository's does)
    or the E(ANSIBLE_CALLBACKS_ENABLED) environment variable.
options:
  max_value_length:
    description:
      - Values longer than this many characters are shortened in the printed summary (not in O(json_file)).
    type: int
    default: 80
    ini:
      - section: callback_ons_timestream_influxdb_plan
        key: max_value_length
    env:
      - name: ONS_PLAN_MAX_VALUE_LENGTH
  json_file:
    description:
      - Also write the summary as JSON to this file (for AWX artifacts or scripts), replaced at every run.
      - Holds C(check_mode), C(totals) (V(add), V(change), V(destroy), V(unknown)) and C(resources), each with
        C(action), C(type), C(name), C(host), C(check_mode), C(hidden) and C(fields) (C(name), C(before), C(after)).
      - Not written when unset.
    type: path
    ini:
      - section: callback_ons_timestream_influxdb_plan
        key: json_file
    env:
      - name: ONS_PLAN_JSON_FILE
"""

import json
import os
import typing as t
from dataclasses import dataclass, field

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase

ADD = "add"
CHANGE = "change"
DESTROY = "destroy"
UNKNOWN = "unknown"
ACTIONS = (ADD, CHANGE, DESTROY, UNKNOWN)
SYMBOLS = {ADD: "+", CHANGE: "~", DESTROY: "-", UNKNOWN: "*"}

# Actions that never manage a resource, even when they report a change.
NOT_RESOURCES = frozenset(
    f"ansible.builtin.{name}"
    for name in (
        "add_host", "assert", "debug", "fail", "gather_facts", "group_by", "import_playbook",
        "import_role", "import_tasks", "include_role", "include_tasks", "include_vars", "meta",
        "pause", "set_fact", "set_stats", "setup", "validate_argument_spec", "wait_for",
        "wait_for_connection",
    )
)

# Module arguments that name the resource, in order of preference, after ``name`` and the Name tag.
NAME_ARGS = (
    "identifier", "alias", "log_group_name", "alarm_name", "dashboard_name", "topic_name",
    "role_name", "bucket", "description", "database", "dest", "path", "key", "url", "topic_arn",
)
# Identifiers that name a resource only when nothing better does (not even the loop item's label).
ID_ARGS = ("id", "arn", "secret_id")

# Stdout callbacks whose output is a document a program parses: the summary then goes to stderr.
MACHINE_READABLE_STDOUT = frozenset(("json", "jsonl"))

MISSING = object()


@dataclass
class FieldChange:
    """One field of a resource: its dotted name, and its value before and after (MISSING when absent)."""

    name: str
    before: t.Any = MISSING
    after: t.Any = MISSING


@dataclass
class ResourceChange:
    """One resource a task changed (or would change): what happened, to what, and which fields."""

    action: str
    type: str
    name: str
    host: str
    check_mode: bool
    hidden: bool = False
    fields: list[FieldChange] = field(default_factory=list)

    def key(self) -> tuple[str, str, str, str, bool]:
        return (self.host, self.type, self.name, self.action, self.check_mode)


def _is_template(value: t.Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def resource_name(args: t.Mapping[str, t.Any], item_label: t.Any = None, task_name: str = "") -> str:
    """The resource's name: from the module's arguments, else the loop item's label, else the task's name.

    ``args`` are the module's arguments as it received them (``invocation.module_args``): the ``name``
    argument, the ``Name`` tag (``tags`` or ``resource_tags``), an IAM inline policy as
    ``<iam_name>/<policy_name>``, the usual identifying arguments (NAME_ARGS), the loop item's label,
    then a bare identifier (ID_ARGS), then the first ``*_id`` argument.
    """
    def usable(value: t.Any) -> bool:
        return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "" \
            and not _is_template(value)

    if usable(args.get("name")):
        return str(args["name"])
    for tags_key in ("tags", "resource_tags"):
        tags = args.get(tags_key)
        if isinstance(tags, dict) and usable(tags.get("Name")):
            return str(tags["Name"])
    if usable(args.get("policy_name")):
        owner = args.get("iam_name")
        return f"{owner}/{args['policy_name']}" if usable(owner) else str(args["policy_name"])
    for key in NAME_ARGS:
        if usable(args.get(key)):
            return str(args[key])
    if usable(item_label):
        return str(item_label)
    for key in ID_ARGS:
        if usable(args.get(key)):
            return str(args[key])
    for key in sorted(args):
        if key.endswith("_id") and usable(args[key]):
            return f"{key}={args[key]}"
    return task_name or "(unnamed)"


def _diffs(result: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The result's diff as a list of {before, after} dicts (a module may return one or several)."""
    diff = result.get("diff")
    if isinstance(diff, dict):
        diff = [diff]
    if not isinstance(diff, list):
        return []
    return [d for d in diff if isinstance(d, dict) and ("before" in d or "after" in d)]


def _empty(value: t.Any) -> bool:
    if value is None or value == "" or value == {} or value == []:
        return True
    return isinstance(value, dict) and value.get("state") == "absent"


def field_changes(before: t.Any, after: t.Any, prefix: str = "") -> list[FieldChange]:
    """The fields that differ between ``before`` and ``after``, nested dict keys joined with dots.

    A side that is missing or absent counts as an empty dict, so a creation lists every field of
    ``after`` and a deletion every field of ``before``. Lists are compared whole. Text diffs (the
    ``copy`` and ``template`` modules) become one field, ``content``.
    """
    if isinstance(before, str) or isinstance(after, str):
        if before == after:
            return []
        return [FieldChange(prefix or "content", MISSING if _empty(before) else before,
                            MISSING if _empty(after) else after)]
    b = {} if before is None or before is MISSING else before
    a = {} if after is None or after is MISSING else after
    if not isinstance(b, dict) or not isinstance(a, dict):
        return [] if b == a else [FieldChange(prefix or "value", before, after)]
    changes: list[FieldChange] = []
    for key in sorted(set(b) | set(a), key=str):
        old, new = b.get(key, MISSING), a.get(key, MISSING)
        if old == new:
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        nested = (isinstance(old, dict) or isinstance(new, dict)) and \
            (isinstance(old, dict) or old is MISSING) and (isinstance(new, dict) or new is MISSING)
        if nested:
            changes.extend(field_changes(old, new, path))
            continue
        changes.append(FieldChange(path, old, new))
    return changes


def _number(value: t.Any) -> t.Any:
    """A port or a count as an int when it is one (modules return ``"8086"`` and ``8086`` for the same port)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def security_group_rules(permissions: t.Any) -> list[str]:
    """amazon.aws.ec2_security_group's ``ip_permissions`` (or ``_egress``) as one sorted line per rule and source,
    such as ``tcp 8086 from 0.0.0.0/0`` or ``tcp 8086 from sg-0123``; rule descriptions are left out."""
    rules = set()
    for perm in permissions if isinstance(permissions, list) else []:
        if not isinstance(perm, dict):
            continue
        proto = str(perm.get("ip_protocol"))
        low, high = _number(perm.get("from_port")), _number(perm.get("to_port"))
        if proto in ("-1", "all"):
            proto, ports = "all", ""
        elif low is None or low == -1:
            ports = ""
        else:
            ports = f" {low}" if low == high else f" {low}-{high}"
        sources = [r.get("cidr_ip") for r in perm.get("ip_ranges") or []]
        sources += [r.get("cidr_ipv6") for r in perm.get("ipv6_ranges") or []]
        sources += [r.get("prefix_list_id") for r in perm.get("prefix_list_ids") or []]
        sources += [r.get("group_id") or r.get("group_name") for r in perm.get("user_id_group_pairs") or []]
        rules.update(f"{proto}{ports} from {source}" for source in sources if source)
    return sorted(rules)


def _security_group_diff(args: t.Mapping[str, t.Any], result: t.Mapping[str, t.Any], check_mode: bool) -> t.Any:
    """amazon.aws.ec2_security_group's diff compares permissions as AWS groups them with permissions rebuilt from
    the task (ports as text, the rule's group described by the group's own description, no ARN): compare the
    rules, one per source, instead."""
    def view(side: t.Any) -> t.Any:
        if _empty(side) or not isinstance(side, dict):
            return side
        return {"description": side.get("description"), "tags": side.get("tags") or {},
                "ingress": security_group_rules(side.get("ip_permissions")),
                "egress": security_group_rules(side.get("ip_permissions_egress"))}

    return [{"before": view(d.get("before")), "after": view(d.get("after"))} for d in _diffs(result)] or None


def _alarm_diff(args: t.Mapping[str, t.Any], result: t.Mapping[str, t.Any], check_mode: bool) -> t.Any:
    """amazon.aws.cloudwatch_metric_alarm returns no diff; in check mode it changes nothing and returns the alarm
    as it is (its documented keys, named as its options are), so the plan compares that with the options."""
    if not check_mode or result.get("diff"):
        return result.get("diff")
    current: dict[str, t.Any] = {}
    if result.get("alarm_arn"):
        current = {key: result.get(key) for key in ALARM_KEYS}
        current["dimensions"] = {d.get("Name"): d.get("Value") for d in result.get("dimensions") or []
                                 if isinstance(d, dict)}
    declared = {key: args.get(key) for key in ALARM_KEYS if args.get(key) is not None}
    if args.get("metric_name") is None and args.get("metric") is not None:
        declared["metric_name"] = args["metric"]
    if args.get("dimensions") is not None:
        declared["dimensions"] = dict(args["dimensions"])
    if "threshold" in declared:
        declared["threshold"] = float(declared["threshold"])
    before = {key: current.get(key) for key in declared} if current else {}
    return {"before": before, "after": declared}


def _vpc_diff(args: t.Mapping[str, t.Any], result: t.Mapping[str, t.Any], check_mode: bool) -> t.Any:
    """amazon.aws.ec2_vpc_net returns no diff; in check mode it changes nothing and returns the VPC as it is
    (``vpc.tags``), so the plan compares its tags with the ones the task declares (``name`` is the Name tag;
    ``purge_tags`` removes the others)."""
    if not check_mode or result.get("diff"):
        return result.get("diff")
    vpc = result.get("vpc") if isinstance(result.get("vpc"), dict) else {}
    tags = args.get("tags") if isinstance(args.get("tags"), dict) else None
    purge = args.get("purge_tags", True) and tags is not None
    declared = dict(tags or {})
    if args.get("name"):
        declared["Name"] = args["name"]
    if not vpc.get("id"):
        return {"before": {}, "after": {"tags": declared}}
    current = dict(vpc.get("tags") or {})
    return {"before": {"tags": current}, "after": {"tags": declared if purge else {**current, **declared}}}


# The alarm options cloudwatch_metric_alarm returns under the same name.
ALARM_KEYS = (
    "alarm_actions", "comparison", "datapoints_to_alarm", "description", "dimensions",
    "evaluate_low_sample_count_percentile", "evaluation_periods", "extended_statistic",
    "insufficient_data_actions", "metric_name", "namespace", "ok_actions", "period", "statistic", "threshold",
    "treat_missing_data", "unit",
)

# Modules whose own diff is missing or cannot be compared as it is: the diff the plan uses instead, from the
# module's arguments and its documented result keys (never from a call of the callback's own).
DIFF_READERS: dict[str, t.Callable[[t.Mapping[str, t.Any], t.Mapping[str, t.Any], bool], t.Any]] = {
    "amazon.aws.cloudwatch_metric_alarm": _alarm_diff,
    "amazon.aws.ec2_security_group": _security_group_diff,
    "amazon.aws.ec2_vpc_net": _vpc_diff,
}


def classify(args: t.Mapping[str, t.Any], result: t.Mapping[str, t.Any]) -> tuple[str, list[FieldChange]]:
    """What a changed result did to its resource (add, change, destroy, or unknown) and the fields that changed.

    Destroy: the module was asked for ``state: absent`` (or says its state is absent now), or its diff
    has nothing after; no fields are listed (everything goes). Add: its diff has nothing before. Change: a diff with something on both sides.
    Unknown: no diff at all (the module does not support diff mode, or the run was not in diff mode).
    """
    diffs = _diffs(result)
    fields: list[FieldChange] = []
    for d in diffs:
        fields.extend(field_changes(d.get("before"), d.get("after")))
    wants_absent = args.get("state") in ("absent", "deleted") or result.get("state") in ("absent", "deleted")
    if wants_absent or (diffs and all(_empty(d.get("after")) for d in diffs)):
        return DESTROY, []
    if not diffs:
        return UNKNOWN, []
    if all(_empty(d.get("before")) for d in diffs):
        return ADD, fields
    return CHANGE, fields


def record_from_result(
    result: t.Mapping[str, t.Any],
    action: str,
    host: str,
    task_name: str,
    check_mode: bool,
    task_args: t.Mapping[str, t.Any] | None = None,
) -> ResourceChange | None:
    """The resource change a task result stands for, or None when it changed nothing (or is no resource).

    ``result`` is what callbacks receive: when the task had ``no_log``, Ansible has already censored it
    (``censored`` key, no ``invocation``, no ``diff``); such a change is recorded by the task's name only.
    """
    if not result.get("changed") or result.get("failed") or result.get("skipped"):
        return None
    if action in NOT_RESOURCES or action.endswith("_info"):
        return None
    if result.get("_ansible_no_log") or "censored" in result:
        return ResourceChange(UNKNOWN, action, task_name or "(hidden by no_log)", host, check_mode, hidden=True)
    invocation = result.get("invocation")
    args = invocation.get("module_args") if isinstance(invocation, dict) else None
    if not isinstance(args, dict):
        args = {k: v for k, v in (task_args or {}).items() if not _is_template(v)}
    reader = DIFF_READERS.get(action)
    if reader is not None:
        result = {**result, "diff": reader(args, result, check_mode)}
    kind, fields = classify(args, result)
    name = resource_name(args, result.get("_ansible_item_label"), task_name)
    return ResourceChange(kind, action, name, host, check_mode, fields=fields)


def merge(records: list[ResourceChange]) -> list[ResourceChange]:
    """One entry per host, resource and action, fields merged (later values win), first-seen order kept."""
    merged: dict[tuple[str, str, str, str, bool], ResourceChange] = {}
    for rec in records:
        seen = merged.get(rec.key())
        if seen is None:
            merged[rec.key()] = ResourceChange(rec.action, rec.type, rec.name, rec.host, rec.check_mode,
                                               rec.hidden, [FieldChange(f.name, f.before, f.after) for f in rec.fields])
            continue
        by_name = {f.name: f for f in seen.fields}
        for f in rec.fields:
            if f.name in by_name:
                by_name[f.name].after = f.after
            else:
                copy = FieldChange(f.name, f.before, f.after)
                seen.fields.append(copy)
                by_name[f.name] = copy
    return list(merged.values())


def _show(value: t.Any, limit: int) -> str:
    if value is MISSING:
        return "(none)"
    text = json.dumps(value, sort_keys=True, default=str)
    if limit > 3 and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def totals(records: list[ResourceChange]) -> dict[str, int]:
    return {a: sum(1 for r in records if r.action == a) for a in ACTIONS}


def _totals_line(counts: dict[str, int], check_mode: bool) -> str:
    if check_mode:
        line = (f"Plan: would add {counts[ADD]}, change {counts[CHANGE]} and destroy {counts[DESTROY]} "
                "resource(s)")
        more = "would be added or changed"
    else:
        line = f"Applied: added {counts[ADD]}, changed {counts[CHANGE]} and destroyed {counts[DESTROY]} resource(s)"
        more = "added or changed"
    if counts[UNKNOWN]:
        line += f"; {counts[UNKNOWN]} more {more} (their modules report no diff)"
    return line + "."


def render(records: list[ResourceChange], run_check_mode: bool, max_value_length: int = 80) -> list[str]:
    """The summary's lines: per mode (what was done, what would be), each resource with its fields, then totals."""
    records = merge(records)
    hosts = {r.host for r in records}
    if not records:
        if run_check_mode:
            return ["No changes: the resources already match the playbooks (check mode; nothing was changed)."]
        return ["No changes: the resources already matched the playbooks."]
    lines: list[str] = []
    for mode in (False, True):
        group = [r for r in records if r.check_mode == mode]
        if not group:
            continue
        if lines:
            lines.append("")
        if mode:
            lines.append("Check mode: nothing below was changed; this is what the run would do.")
        for rec in group:
            where = f" on {rec.host}" if len(hosts) > 1 else ""
            verb = {ADD: "add", CHANGE: "change", DESTROY: "destroy", UNKNOWN: "add or change"}[rec.action]
            status = f"would {verb}" if mode else {
                ADD: "added", CHANGE: "changed", DESTROY: "destroyed", UNKNOWN: "added or changed"}[rec.action]
            note = ""
            if rec.hidden:
                note = "; details hidden (no_log)"
            elif rec.action == UNKNOWN:
                note = "; the module reports no diff"
            lines.append(f"  {SYMBOLS[rec.action]} {rec.type} \"{rec.name}\"{where} ({status}{note})")
            for f in rec.fields:
                if f.before is MISSING:
                    lines.append(f"      + {f.name} = {_show(f.after, max_value_length)}")
                elif f.after is MISSING:
                    lines.append(f"      - {f.name} = {_show(f.before, max_value_length)}")
                else:
                    lines.append(f"      ~ {f.name}: {_show(f.before, max_value_length)}"
                                 f" -> {_show(f.after, max_value_length)}")
        lines.append(_totals_line(totals(group), mode))
    return lines


def to_json(records: list[ResourceChange], run_check_mode: bool) -> dict[str, t.Any]:
    records = merge(records)

    def value(v: t.Any) -> t.Any:
        return None if v is MISSING else v

    return {
        "check_mode": run_check_mode,
        "totals": totals(records),
        "resources": [
            {
                "action": r.action, "type": r.type, "name": r.name, "host": r.host,
                "check_mode": r.check_mode, "hidden": r.hidden,
                "fields": [{"name": f.name, "before": value(f.before), "after": value(f.after)} for f in r.fields],
            }
            for r in records
        ],
    }


class CallbackModule(CallbackBase):
    """Collects every changed task result and prints the plan summary when the playbook ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "ons.timestream_influxdb.plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._records: list[ResourceChange] = []
        self._check_mode = bool(context.CLIARGS.get("check", False))

    def _task_check_mode(self, result: t.Any) -> bool:
        value = getattr(result, "task_fields", {}).get("check_mode")
        return value if isinstance(value, bool) else self._check_mode

    def _record(self, result: t.Any, data: t.Mapping[str, t.Any]) -> None:
        task = result.task
        action = getattr(task, "resolved_action", None) or task.action
        args = task.args if isinstance(getattr(task, "args", None), dict) else {}
        rec = record_from_result(data, str(action), result.host.get_name(), result.task_name,
                                 self._task_check_mode(result), args)
        if rec is not None:
            self._records.append(rec)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        data = result.result
        if isinstance(data.get("results"), list):
            return  # a loop: each item was recorded by v2_runner_item_on_ok
        self._record(result, data)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._record(result, result.result)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        # Under a machine-readable stdout callback (ansible.posix.json, ...) the summary goes to
        # stderr, so that stdout stays one JSON document.
        stdout_callback = str(C.config.get_config_value("DEFAULT_STDOUT_CALLBACK") or "")
        to_stderr = stdout_callback.rsplit(".", 1)[-1] in MACHINE_READABLE_STDOUT
        lines = render(self._records, self._check_mode, int(self.get_option("max_value_length")))
        if to_stderr:
            self._display.display("PLAN SUMMARY (ons.timestream_influxdb.plan)", stderr=True)
        else:
            self._display.banner("PLAN SUMMARY (ons.timestream_influxdb.plan)")
        for line in lines:
            self._display.display(line, stderr=to_stderr)
        path = self.get_option("json_file")
        if path:
            path = os.path.expanduser(str(path))
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(to_json(self._records, self._check_mode), handle, indent=2, sort_keys=True, default=str)
