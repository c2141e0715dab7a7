# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bench-only callback (not shipped: bench/ is outside the collection): writes one JSON line per play
start, task start and task/item result, each with the wall-clock time (time.time(), the clock the
sandbox's request log stamps its entries with), to the file named by BENCH_TIMING_FILE.

bench/site.py enables it for its runs only (ANSIBLE_CALLBACK_PLUGINS=bench/callback,
ANSIBLE_CALLBACKS_ENABLED=...,bench_timing) and attributes each AWS request to the task (and loop
item) whose window holds its time. Ansible runs the tasks of the one host (localhost) one after the
other, so the windows do not overlap.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: Task and play timestamps for bench/site.py
description:
  - Writes play starts, task starts and results with their wall-clock time to E(BENCH_TIMING_FILE), one JSON object a line.
options: {}
"""

import json
import os
import time
import typing as t

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        path = os.environ.get("BENCH_TIMING_FILE")
        # pylint: disable-next=consider-using-with
        self._out = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115

    def _write(self, event: str, **fields: t.Any) -> None:
        if self._out is None:
            return
        self._out.write(json.dumps({"event": event, "time": time.time(), **fields}, default=str) + "\n")
        self._out.flush()

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        self._write("play", name=play.get_name(), path=play.get_path())

    def _task(self, task: t.Any, handler: bool = False) -> None:
        role = getattr(task, "_role", None)
        self._write("task", name=task.get_name(), action=str(getattr(task, "resolved_action", None) or task.action),
                    role=role.get_name() if role else None, path=task.get_path(), uuid=task._uuid, handler=handler,
                    loop=task.loop is not None)

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task: t.Any) -> None:
        self._task(task, handler=True)

    def _result(self, status: str, result: t.Any, item: bool = False) -> None:
        data = result._result
        fields: dict[str, t.Any] = {"status": status, "uuid": result._task._uuid, "changed": bool(data.get("changed"))}
        # the action the worker resolved (a task start may still show the short name)
        fields["action"] = str(getattr(result._task, "resolved_action", None) or result._task.action)
        if item:
            fields["item"] = str(data.get("_ansible_item_label", data.get("item", "")))[:200]
        self._write("item" if item else "result", **fields)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._result("ok", result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._result("failed", result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._result("unreachable", result)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._result("ok", result, item=True)

    def v2_runner_item_on_failed(self, result: t.Any) -> None:
        self._result("failed", result, item=True)

    def v2_runner_item_on_skipped(self, result: t.Any) -> None:
        self._result("skipped", result, item=True)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        self._write("end")
        if self._out is not None:
            self._out.close()
            self._out = None
