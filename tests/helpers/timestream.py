"""Helpers of the Timestream for InfluxDB integration tests (boto3 against the sandbox)."""

from __future__ import annotations

from typing import Any, Iterable

from sandbox.client import wait_for_db_instance


def instances_named(ts: Any, name: str) -> list[dict[str, Any]]:
    """The instance summaries with this name."""
    return [i for i in ts.list_db_instances()["items"] if i["name"] == name]


def delete_instances(ts: Any, names: Iterable[str]) -> None:
    """Delete the instances with these names, best effort (a busy one is let settle first)."""
    for name in names:
        for item in instances_named(ts, name):
            try:
                wait_for_db_instance(ts, item["id"], "AVAILABLE", timeout=60)
                ts.delete_db_instance(identifier=item["id"])
            except Exception:  # noqa: BLE001, S110 - best effort: already deleting, gone or failed
                pass
