"""Benchmark of site.yml (`make bench`; never part of `make test`).

On a fresh sandbox whose Timestream for InfluxDB lifecycle transitions take ``--create-delay`` seconds
(60 by default, a realistic order for the sandbox; AWS takes 10-20 minutes), runs site.yml twice with
inventories/local for an environment of its own (name ``bench``, VPC 10.77.0.0/16, its own access key),
then reports:

* wall time of the first run, the second run and each stage (each play site.yml imports);
* AWS API calls by service and operation, mutating or not, from the sandbox's request log;
* calls per managed resource on the second run, per module, against the API minimum for that resource
  (``MINIMUM_CALLS`` below), so a redundant lookup shows as a number above its minimum;
* verdicts against the targets: the second run makes no mutating call and takes at most 35% of the
  first; the first run takes at most 1.2 x (network stage + create delay).

Requests are attributed to tasks by time: a bench-only callback (bench/callback/bench_timing.py) writes
each task's start and each task and loop-item result with time.time(); the sandbox stamps every request
with time.time() when it has answered it. One host runs one task at a time, so each request falls in
exactly one window: a task's start to its result, split at each loop item's result.

    python bench/site.py [--create-delay 60] [--json PATH]

Prints the results as JSON, then as a table with the targets beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The stages, in site.yml's order: the playbook each play comes from.
STAGES = ("preflight", "network", "database", "credential_rotation", "lambda_test", "validation", "outputs")
# The database role's wait for the instance (roles/database/tasks/wait.yml), by its task name.
WAIT_TASK = "ons.timestream_influxdb.database : Wait until available"
SECOND_RUN_MAX_RATIO = 0.35
FIRST_RUN_MAX_FACTOR = 1.2

# The fewest AWS calls a module needs, on a run that changes nothing, to know that one resource of its
# type exists and matches every option site.yml gives it, with the APIs as they are. A count above this
# is a redundant lookup (or a read of something the task does not manage). Per resource: a task with a
# loop is counted per item. Modules missing here are reported without a minimum.
MINIMUM_CALLS: dict[str, tuple[int, str]] = {
    # Timestream for InfluxDB: the API has no get-by-name, and its list leaves out most settings.
    "ons.timestream_influxdb.timestream_influxdb_instance": (
        3, ("ListDbInstances (find by name), GetDbInstance (subnets, groups, parameter group, log delivery: the "
            "list leaves them out), ListTagsForResource (GetDbInstance carries no tags)")),
    "ons.timestream_influxdb.timestream_influxdb_parameter_group": (
        3, "ListDbParameterGroups (find by name), GetDbParameterGroup (the parameters), ListTagsForResource"),
    # EC2: one Describe per resource carries its settings and its tags; DescribeTags is never needed.
    "amazon.aws.ec2_vpc_net": (
        3, ("DescribeVpcs (by CIDR and Name tag; carries the tags), DescribeVpcAttribute twice "
            "(enableDnsSupport, enableDnsHostnames: one attribute per call)")),
    "amazon.aws.ec2_vpc_subnet": (1, "DescribeSubnets (by VPC and CIDR; carries the tags and map-public-ip-on-launch)"),
    "amazon.aws.ec2_vpc_igw": (1, "DescribeInternetGateways (by attachment.vpc-id; carries the tags)"),
    "amazon.aws.ec2_eip": (1, "DescribeAddresses (by tag; carries the tags)"),
    "amazon.aws.ec2_vpc_nat_gateway": (1, "DescribeNatGateways (by subnet and state; carries the address and tags)"),
    "amazon.aws.ec2_vpc_route_table": (
        1, ("DescribeRouteTables (by VPC and Name tag; carries routes, subnet associations and tags; the subnets "
            "are given by id, so no DescribeSubnets)")),
    "amazon.aws.ec2_vpc_endpoint": (
        1, "DescribeVpcEndpoints (by VPC and service; carries route tables, subnets, groups, policy and tags)"),
    "amazon.aws.ec2_security_group": (1, "DescribeSecurityGroups (by name and VPC; carries both rule lists and the tags)"),
    # IAM
    "amazon.aws.iam_role": (
        2, "GetRole (trust policy, description, tags), ListAttachedRolePolicies (managed_policies: [] with purge)"),
    "amazon.aws.iam_policy": (1, "GetRolePolicy (its document; NoSuchEntity when absent)"),
    # KMS: DescribeKey takes the alias itself.
    "amazon.aws.kms_key": (
        4, ("DescribeKey (by alias: description, enabled), GetKeyPolicy, GetKeyRotationStatus, ListResourceTags "
            "(no grants are managed, so no ListGrants; no ListAliases: DescribeKey resolves the alias)")),
    # S3 has no call that returns a bucket's configuration at once: one read per setting the task manages.
    "amazon.aws.s3_bucket": (
        6, ("HeadBucket (exists), GetBucketEncryption, GetPublicAccessBlock, GetBucketOwnershipControls, "
            "GetBucketPolicy, GetBucketTagging (versioning, ACL, website... are not managed by the task)")),
    # CloudWatch, Logs, SNS
    "amazon.aws.cloudwatchlogs_log_group": (
        2, "DescribeLogGroups (by prefix; retention and KMS key), ListTagsLogGroup (tags are managed)"),
    "amazon.aws.cloudwatch_metric_alarm": (1, "DescribeAlarms (by name; carries every setting; the task sets no tags)"),
    "ons.timestream_influxdb.cloudwatch_dashboard": (1, "GetDashboard (its body)"),
    "community.aws.sns_topic": (
        4, ("ListTopics (find by name), GetTopicAttributes (display name, policy), ListSubscriptionsByTopic "
            "(subscriptions are purged), ListTagsForResource")),
    "ons.timestream_influxdb.sns_topic_encryption": (2, "ListTopics (find by name), GetTopicAttributes (KmsMasterKeyId)"),
    # Secrets Manager
    "community.aws.secretsmanager_secret": (
        2, ("DescribeSecret (description, KMS key, tags), GetSecretValue (to compare the value); no resource "
            "policy is managed, so no GetResourcePolicy")),
    "ons.timestream_influxdb.influx_secret_rotation": (
        1, ("DescribeSecret (VersionIdsToStages shows a rotation left half done as AWSPENDING; LastChangedDate says "
            "whether one is due); nothing due, nothing else: the instance is looked up only to rotate")),
    # Lambda
    "amazon.aws.lambda": (
        1, "GetFunction (configuration with the code's SHA-256, VPC settings, environment, and the tags)"),
    # InfluxDB resources are read over InfluxDB's HTTP API, not AWS: no AWS call at all.
    "ons.timestream_influxdb.influx_bucket": (0, "InfluxDB's API only"),
    "ons.timestream_influxdb.influx_dbrp": (0, "InfluxDB's API only"),
    "ons.timestream_influxdb.influx_auth": (0, "InfluxDB's API only"),
}
# Modules that act rather than manage a resource: their calls are listed with the lookups.
ACTIONS = frozenset({"amazon.aws.lambda_execute"})


# --------------------------------------------------------------------------- attribution
@dataclass
class Window:
    """One task (or one loop item of it) of one run: the requests between its start and its result."""

    stage: str
    task: str
    action: str
    role: str | None
    start: float
    end: float
    item: str | None = None
    item_index: int | None = None
    status: str = ""
    changed: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)


def stage_of(path: str | None) -> str:
    """The stage of a play or task from its file ("/.../playbooks/network.yml:9" -> "network")."""
    name = Path((path or "").rsplit(":", 1)[0]).stem
    return name if name in STAGES else name or "?"


def windows_from_events(events: list[dict[str, Any]]) -> list[Window]:
    """The task windows of a run, from the bench_timing callback's events, in order.

    A task without a loop is one window, its start to its result. A task with a loop becomes one window
    per item: from the task's start (the first item) or the previous item's result, to the item's result.
    A task whose final result never came (the run stopped) ends at the next event.
    """
    windows: list[Window] = []
    stage = "?"
    current: dict[str, Any] | None = None
    last_time = 0.0
    items = 0
    for ev in events:
        kind = ev["event"]
        if kind == "play":
            stage = stage_of(ev.get("path"))
        elif kind == "task":
            current = {**ev, "stage": stage}
            last_time = ev["time"]
            items = 0
        elif current is None:
            continue
        elif kind == "item":
            windows.append(Window(stage=current["stage"], task=current["name"], action=ev.get("action") or current["action"],
                                  role=current.get("role"), start=last_time, end=ev["time"], item=ev.get("item"),
                                  item_index=items, status=ev["status"], changed=ev.get("changed", False)))
            items += 1
            last_time = ev["time"]
        elif kind == "result":
            if items:  # the loop's own result: what follows the last item (little or nothing) joins it
                windows[-1].end = ev["time"]
            else:
                windows.append(Window(stage=current["stage"], task=current["name"],
                                      action=ev.get("action") or current["action"], role=current.get("role"),
                                      start=last_time, end=ev["time"], status=ev["status"],
                                      changed=ev.get("changed", False)))
            current = None
    return windows


def attribute(requests: list[dict[str, Any]], windows: list[Window]) -> list[dict[str, Any]]:
    """Put each request into the window holding its time; return those that fall in none (between tasks)."""
    starts = [w.start for w in windows]
    outside = []
    for req in sorted(requests, key=lambda r: r["seq"]):
        i = bisect_right(starts, req["time"]) - 1
        if i >= 0 and req["time"] <= windows[i].end:
            windows[i].requests.append(req)
        else:
            outside.append(req)
    return outside


# --------------------------------------------------------------------------- figures
def stage_seconds(events: list[dict[str, Any]]) -> dict[str, float]:
    """Wall time of each stage: its play's start to the next play's start (the last: to the run's end)."""
    marks = [(stage_of(ev.get("path")), ev["time"]) for ev in events if ev["event"] == "play"]
    end = next((ev["time"] for ev in events if ev["event"] == "end"), events[-1]["time"] if events else 0.0)
    out: dict[str, float] = defaultdict(float)
    for (stage, start), nxt in zip(marks, [m[1] for m in marks[1:]] + [end]):
        out[stage] += nxt - start
    return {s: round(out[s], 2) for s in STAGES if s in out} | {s: round(v, 2) for s, v in out.items() if s not in STAGES}


def calls_by_operation(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = Counter((r["service"], r["operation"], bool(r["mutating"])) for r in requests)
    return [{"service": s, "operation": o, "mutating": m, "calls": n}
            for (s, o, m), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def call_totals(requests: list[dict[str, Any]]) -> dict[str, int]:
    mutating = sum(1 for r in requests if r["mutating"])
    return {"total": len(requests), "mutating": mutating, "read_only": len(requests) - mutating,
            "errors": sum(1 for r in requests if int(r.get("status", 200)) >= 400)}


def resource_calls(windows: list[Window]) -> list[dict[str, Any]]:
    """Calls per managed resource: every window of a module that manages AWS resources (not _info, not
    ansible.builtin), with its calls, the operations, the minimum for its module and the excess."""
    rows = []
    for w in windows:
        if w.status == "skipped" or not _manages(w.action):
            continue
        if w.action not in MINIMUM_CALLS and not w.requests:
            continue
        minimum = MINIMUM_CALLS.get(w.action, (None, ""))[0]
        ops = Counter(r["operation"] for r in w.requests)
        rows.append({
            "stage": w.stage, "task": w.task, "item": w.item, "module": w.action, "calls": len(w.requests),
            "minimum": minimum, "excess": None if minimum is None else len(w.requests) - minimum,
            "operations": dict(sorted(ops.items())),
        })
    return rows


def _manages(action: str) -> bool:
    return not (action.startswith("ansible.builtin.") or action.endswith("_info") or action in ACTIONS)


def lookup_calls(windows: list[Window]) -> list[dict[str, Any]]:
    """Calls of the tasks that manage nothing (the _info modules, lookups in templates, assertions)."""
    rows = []
    for w in windows:
        if not w.requests or _manages(w.action):
            continue
        rows.append({"stage": w.stage, "task": w.task, "item": w.item, "module": w.action, "calls": len(w.requests),
                     "operations": dict(sorted(Counter(r["operation"] for r in w.requests).items()))})
    return rows


def verdicts(first: dict[str, Any], second: dict[str, Any], create_delay: float,
             resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each figure with a target: value, target, pass."""
    ratio = second["seconds"] / first["seconds"] if first["seconds"] else float("inf")
    network = first["stages"].get("network", 0.0)
    bound = FIRST_RUN_MAX_FACTOR * (network + create_delay)
    above = [r for r in resources if r["excess"] is not None and r["excess"] > 0]
    return [
        {"figure": "second run: mutating calls", "value": second["calls"]["mutating"], "target": "0",
         "pass": second["calls"]["mutating"] == 0},
        {"figure": "second run / first run (wall time)", "value": round(ratio, 3),
         "target": f"<= {SECOND_RUN_MAX_RATIO}", "pass": ratio <= SECOND_RUN_MAX_RATIO},
        {"figure": "first run (s)", "value": first["seconds"],
         "target": f"<= {FIRST_RUN_MAX_FACTOR} x (network {network:.1f} s + create delay {create_delay:g} s)"
                   f" = {bound:.1f} s", "pass": first["seconds"] <= bound},
        {"figure": "second run: resources above their API minimum", "value": len(above),
         "target": "0", "pass": not above},
        {"figure": "failed runs", "value": int(first["rc"] != 0) + int(second["rc"] != 0), "target": "0",
         "pass": first["rc"] == 0 and second["rc"] == 0},
    ]


def run_figures(rc: int, seconds: float, events: list[dict[str, Any]],
                requests: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Window]]:
    windows = windows_from_events(events)
    outside = attribute(requests, windows)
    created = [r["time"] for r in requests if r["operation"] == "CreateDbInstance"]
    waits = [w for w in windows if w.stage == "database" and w.task.startswith(WAIT_TASK)]
    instance: dict[str, float] = {}
    if waits:
        instance["wait_seconds"] = round(sum(w.end - w.start for w in waits), 2)
    if created and waits:
        # the work done while the instance was being created, before the play started waiting for it
        instance["overlapped_seconds"] = round(waits[0].start - created[0], 2)
    return {
        "rc": rc,
        "seconds": round(seconds, 2),
        "stages": stage_seconds(events),
        "calls": call_totals(requests),
        "calls_by_stage": {s: call_totals([r for w in windows if w.stage == s for r in w.requests])
                           for s in dict.fromkeys(w.stage for w in windows)},
        "calls_between_tasks": len(outside),
        "instance": instance,
        "operations": calls_by_operation(requests),
    }, windows


def report(first_run: tuple[int, float, list[dict[str, Any]], list[dict[str, Any]]],
           second_run: tuple[int, float, list[dict[str, Any]], list[dict[str, Any]]],
           create_delay: float) -> dict[str, Any]:
    """The whole report from each run's (rc, seconds, timing events, requests)."""
    first, _ = run_figures(*first_run)
    second, second_windows = run_figures(*second_run)
    resources = resource_calls(second_windows)
    return {
        "create_delay": create_delay,
        "first_run": first,
        "second_run": second,
        "second_run_resources": resources,
        "second_run_lookups": lookup_calls(second_windows),
        "minimum_calls": {m: {"calls": n, "why": why} for m, (n, why) in MINIMUM_CALLS.items()},
        "targets": verdicts(first, second, create_delay, resources),
    }


# --------------------------------------------------------------------------- table
def table(rep: dict[str, Any]) -> list[str]:
    """The report as text: targets first, then stage times, calls, and calls per resource."""
    first, second = rep["first_run"], rep["second_run"]
    load = rep.get("load_average")
    where = f"; {rep.get('cpus')} CPUs, load average {load[0]:.2f} at the end: a loaded machine runs slower" if load else ""
    lines = [f"site.yml benchmark (sandbox create delay {rep['create_delay']:g} s{where})", "",
             f"{'figure':<48} {'result':>12}  target", "-" * 100]
    for v in rep["targets"]:
        lines.append(f"{v['figure']:<48} {v['value']!s:>12}  {v['target']}  [{'PASS' if v['pass'] else 'MISS'}]")
    lines += ["", (f"{'stage':<24} {'first run (s)':>14} {'second run (s)':>15} {'calls 1st':>10} {'mutating':>9}"
                   f" {'calls 2nd':>10} {'mutating':>9}"), "-" * 100]
    for stage in dict.fromkeys(list(first["stages"]) + list(second["stages"])):
        c1 = first["calls_by_stage"].get(stage, {"total": 0, "mutating": 0})
        c2 = second["calls_by_stage"].get(stage, {"total": 0, "mutating": 0})
        lines.append(f"{stage:<24} {first['stages'].get(stage, 0):>14.1f} {second['stages'].get(stage, 0):>15.1f}"
                     f" {c1['total']:>10} {c1['mutating']:>9} {c2['total']:>10} {c2['mutating']:>9}")
    lines.append(f"{'whole run':<24} {first['seconds']:>14.1f} {second['seconds']:>15.1f} {first['calls']['total']:>10}"
                 f" {first['calls']['mutating']:>9} {second['calls']['total']:>10} {second['calls']['mutating']:>9}")
    inst = first.get("instance", {})
    if inst:
        lines += ["", (f"first run: work overlapped with the instance's creation {inst.get('overlapped_seconds', '?')} s, "
                       f"then waited for it {inst.get('wait_seconds', '?')} s")]
    lines += ["", "AWS calls by operation (first run / second run)", f"{'service operation':<60} {'1st':>6} {'2nd':>6}",
              "-" * 100]
    ops: dict[tuple[str, str, bool], list[int]] = {}
    for i, run in enumerate((first, second)):
        for op in run["operations"]:
            ops.setdefault((op["service"], op["operation"], op["mutating"]), [0, 0])[i] = op["calls"]
    for (service, operation, mutating), (n1, n2) in sorted(ops.items(), key=lambda kv: (not kv[0][2], -kv[1][0], kv[0])):
        mark = " (mutating)" if mutating else ""
        lines.append(f"{(service + ' ' + operation + mark)[:60]:<60} {n1:>6} {n2:>6}")
    lines += ["", "Second run: AWS calls per managed resource against the API minimum (MINIMUM_CALLS in bench/site.py)",
              f"{'stage / module / resource':<74} {'calls':>5} {'min':>4}  excess", "-" * 100]
    for r in rep["second_run_resources"]:
        what = f"{r['stage']} / {r['module'].split('.')[-1]} / {r['item'] or r['task']}"
        minimum = "?" if r["minimum"] is None else r["minimum"]
        excess = "" if r["excess"] is None else (f"+{r['excess']}  {_ops(r['operations'])}" if r["excess"] > 0 else
                                                 ("ok" if r["excess"] == 0 else str(r["excess"])))
        lines.append(f"{what[:74]:<74} {r['calls']:>5} {minimum!s:>4}  {excess}")
    lines += ["", "Second run: AWS calls of tasks that manage nothing (_info modules, lookups)",
              f"{'stage / task':<74} {'calls':>5}  operations", "-" * 100]
    for r in rep["second_run_lookups"]:
        what = f"{r['stage']} / {r['task']}" + (f" [{r['item']}]" if r["item"] else "")
        lines.append(f"{what[:74]:<74} {r['calls']:>5}  {_ops(r['operations'])}")
    return lines


def _ops(ops: dict[str, int]) -> str:
    return ", ".join(f"{o} x{n}" if n > 1 else o for o, n in ops.items())


# --------------------------------------------------------------------------- running
def _read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def measure(create_delay: float, workdir: Path, environment_name: str = "bench", second_octet: int = 77,
            log: Any = print) -> dict[str, Any]:
    """Start a sandbox, run site.yml twice for the bench environment, stop the sandbox; return the raw
    measurements: {create_delay, runs: [(rc, seconds, timing events, requests)] * 2}."""
    # The sandbox's start/stop helpers and the runner the integration tests use (tests/integration/conftest.py).
    from sandbox.client import SandboxControl, sandbox_env
    from tests.conftest import _start_sandbox, _stop_process
    from tests.integration.conftest import Environment, SiteRunner

    class Sandbox:
        def __init__(self, endpoint: str) -> None:
            self.endpoint = endpoint
            self.control = SandboxControl(endpoint)
            self.env = sandbox_env(endpoint)

    class TimedRunner(SiteRunner):
        """SiteRunner with the bench_timing callback on: each run's events go to timing-<n>.json."""

        def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
            env = super().env(extra)
            env["ANSIBLE_CALLBACK_PLUGINS"] = str(REPO / "bench" / "callback")
            enabled = [c for c in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c]
            env["ANSIBLE_CALLBACKS_ENABLED"] = ",".join(dict.fromkeys(
                enabled + ["ons.timestream_influxdb.plan", "bench_timing"]))
            env["BENCH_TIMING_FILE"] = str(self.workdir / f"timing-{self._count}.jsonl")
            return env

    state = workdir / "sandbox"
    state.mkdir(parents=True, exist_ok=True)
    proc, endpoint, sandbox_log = _start_sandbox(state)
    try:
        sandbox = Sandbox(endpoint)
        sandbox.control.set_delay(create_delay)
        runner = TimedRunner(sandbox, workdir)
        environment = Environment(environment_name, second_octet)
        runs = []
        for n in (1, 2):
            log(f"site.yml run {n} (sandbox {endpoint}, create delay {create_delay:g} s) ...")
            run = runner.run(environment, timeout=3600)
            log(f"  rc={run.rc} in {run.seconds:.1f} s, {len(run.requests)} AWS calls")
            if run.rc != 0:
                log(run.output())
            runs.append((run.rc, run.seconds, _read_events(workdir / f"timing-{runner._count}.jsonl"), run.requests))
    finally:
        _stop_process(proc)
    del sandbox_log
    return {"create_delay": create_delay, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--create-delay", type=float, default=60.0,
                    help="seconds each Timestream for InfluxDB lifecycle transition takes in the sandbox (60)")
    ap.add_argument("--json", type=Path, help="also write the results JSON to this file")
    ap.add_argument("--raw", type=Path,
                    help="also write the raw measurements (timing events and request log of both runs) to this file")
    ap.add_argument("--from-raw", type=Path, metavar="RAW",
                    help="report on the raw measurements of an earlier --raw instead of running site.yml")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (sandbox log, plans, outputs)")
    args = ap.parse_args(argv)
    if args.from_raw:
        raw = json.loads(args.from_raw.read_text())
    else:
        workdir = Path(tempfile.mkdtemp(prefix="bench-site-"))
        try:
            raw = measure(args.create_delay, workdir, log=lambda m: print(m, file=sys.stderr, flush=True))
            raw |= machine()
        finally:
            if args.keep:
                print(f"work directory kept: {workdir}", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        if args.raw:
            args.raw.write_text(json.dumps(raw) + "\n")
    rep = report(raw["runs"][0], raw["runs"][1], raw["create_delay"]) | {k: raw[k] for k in machine() if k in raw}
    text = json.dumps(rep, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    print()
    print("\n".join(table(rep)))
    # A target missed is a finding, printed as MISS; only a failed site.yml run fails the benchmark.
    return 0 if rep["first_run"]["rc"] == 0 and rep["second_run"]["rc"] == 0 else 1


def machine() -> dict[str, Any]:
    """Where and when: the machine's CPUs and load (a shared machine runs slower), the time of the end."""
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


if __name__ == "__main__":
    sys.exit(main())
