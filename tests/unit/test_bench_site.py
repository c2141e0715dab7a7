"""The report arithmetic of bench/site.py (`make bench`), from a recorded run: requests attributed to
tasks and loop items by time, stage times, calls per resource against the API minimum, the verdicts.
Nothing here runs or times site.yml."""

from __future__ import annotations

import importlib.util
import sys

from tests.helpers.ansible import REPO

_spec = importlib.util.spec_from_file_location("bench_site", REPO / "bench" / "site.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_site"] = bench
_spec.loader.exec_module(bench)

PLAYBOOKS = f"{REPO}/playbooks"
SUBNET = "amazon.aws.ec2_vpc_subnet"
VPC = "amazon.aws.ec2_vpc_net"


def _events(offset: float = 0.0) -> list[dict]:
    """preflight (one _info task), then network: a subnet task looping over two subnets, the VPC task."""
    evs = [
        {"event": "play", "time": 0.0, "path": f"{PLAYBOOKS}/preflight.yml:8"},
        {"event": "task", "time": 1.0, "name": "Identify the account", "action": "amazon.aws.aws_caller_info"},
        {"event": "result", "time": 2.0, "status": "ok", "action": "amazon.aws.aws_caller_info"},
        {"event": "play", "time": 3.0, "path": f"{PLAYBOOKS}/network.yml:9"},
        {"event": "task", "time": 4.0, "name": "vpc : Subnets", "action": "ec2_vpc_subnet", "role": "vpc"},
        {"event": "item", "time": 5.0, "status": "ok", "action": SUBNET, "item": "10.0.1.0/24"},
        {"event": "item", "time": 7.0, "status": "ok", "action": SUBNET, "item": "10.0.2.0/24"},
        {"event": "result", "time": 7.2, "status": "ok", "action": SUBNET},
        {"event": "task", "time": 8.0, "name": "vpc : VPC", "action": VPC, "role": "vpc"},
        {"event": "result", "time": 9.0, "status": "ok", "action": VPC},
        {"event": "task", "time": 9.1, "name": "vpc : Not this time", "action": VPC, "role": "vpc"},
        {"event": "result", "time": 9.2, "status": "skipped", "action": VPC},
        {"event": "end", "time": 10.0},
    ]
    return [{**e, "time": e["time"] + offset} for e in evs]


def _requests(offset: float = 0.0, mutating: bool = False) -> list[dict]:
    calls = [
        (1.5, "sts", "GetCallerIdentity"),
        (4.5, "ec2", "DescribeSubnets"),           # first subnet
        (6.0, "ec2", "DescribeSubnets"),           # second subnet (after the first item's result)
        (6.5, "ec2", "DescribeTags"),
        (7.1, "ec2", "DescribeSubnets"),           # after the last item, before the loop's result: the last item
        (8.2, "ec2", "DescribeVpcs"),
        (8.4, "ec2", "DescribeVpcAttribute"),
        (8.6, "ec2", "DescribeVpcAttribute"),
        (8.8, "ec2", "CreateVpc" if mutating else "DescribeVpcs"),
        (9.5, "ec2", "DescribeVpcs"),              # between two tasks
    ]
    return [{"seq": i + 1, "time": t + offset, "service": s, "operation": o, "status": 200,
             "mutating": o.startswith("Create")} for i, (t, s, o) in enumerate(calls)]


def test_requests_go_to_the_task_and_loop_item_whose_window_holds_them():
    windows = bench.windows_from_events(_events())
    outside = bench.attribute(_requests(), windows)
    assert [(w.stage, w.task, w.item, len(w.requests)) for w in windows] == [
        ("preflight", "Identify the account", None, 1),
        ("network", "vpc : Subnets", "10.0.1.0/24", 1),
        ("network", "vpc : Subnets", "10.0.2.0/24", 3),
        ("network", "vpc : VPC", None, 4),
        ("network", "vpc : Not this time", None, 0),
    ]
    assert [r["seq"] for r in outside] == [10]
    assert windows[1].action == SUBNET  # the resolved name from the result, not the task's short one


def test_stage_times_and_calls_per_resource_against_the_minimum():
    figures, windows = bench.run_figures(0, 10.0, _events(), _requests())
    assert figures["stages"] == {"preflight": 3.0, "network": 7.0}
    assert figures["calls"] == {"total": 10, "mutating": 0, "read_only": 10, "errors": 0}
    assert figures["calls_by_stage"]["network"]["total"] == 8
    assert figures["calls_between_tasks"] == 1
    rows = bench.resource_calls(windows)
    assert [(r["module"], r["item"] or r["task"], r["calls"], r["minimum"], r["excess"]) for r in rows] == [
        (SUBNET, "10.0.1.0/24", 1, 1, 0),
        (SUBNET, "10.0.2.0/24", 3, 1, 2),
        (VPC, "vpc : VPC", 4, 3, 1),
    ]
    assert rows[1]["operations"] == {"DescribeSubnets": 2, "DescribeTags": 1}
    (lookup,) = bench.lookup_calls(windows)
    assert (lookup["task"], lookup["calls"]) == ("Identify the account", 1)


def test_verdicts_and_table():
    first = (0, 100.0, _events(), _requests(mutating=True))
    second = (0, 40.0, _events(100.0), _requests(100.0))
    rep = bench.report(first, second, create_delay=60.0)
    verdicts = {v["figure"]: (v["value"], v["pass"]) for v in rep["targets"]}
    assert verdicts["second run: mutating calls"] == (0, True)
    assert verdicts["second run / first run (wall time)"] == (0.4, False)  # 40 / 100 > 0.35
    # network stage 7 s: 1.2 x (7 + 60) = 80.4 s < 100 s
    assert verdicts["first run (s)"] == (100.0, False)
    assert verdicts["second run: resources above their API minimum"] == (2, False)
    assert verdicts["failed runs"] == (0, True)
    assert rep["first_run"]["calls"]["mutating"] == 1
    text = "\n".join(bench.table(rep))
    assert "[MISS]" in text and "[PASS]" in text
    assert "+2  DescribeSubnets x2, DescribeTags" in text

    quick = bench.report((0, 60.0, _events(), _requests()), (0, 20.0, _events(100.0), _requests(100.0)), 60.0)
    verdicts = {v["figure"]: v["pass"] for v in quick["targets"]}
    assert verdicts["first run (s)"] and verdicts["second run / first run (wall time)"]


def test_every_minimum_says_why():
    assert all(isinstance(n, int) and n >= 0 and why for n, why in bench.MINIMUM_CALLS.values())


def test_make_bench_reads_a_benchmark_s_json_then_its_table():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    document, table = run.split_json_and_text('\n{"pipeline": {"rows_per_second": 5}}\n\nmeasure  result  target\nx  1  >= 2\n')
    assert document == {"pipeline": {"rows_per_second": 5}} and table == "measure  result  target\nx  1  >= 2"
    targets = [{"figure": "second run: mutating calls", "value": 0, "target": "0", "pass": True}]
    (line,) = run.summary_lines({"site": {"targets": targets}})
    assert "second run: mutating calls" in line and line.endswith("[PASS]")
