"""playbooks/awx.yml without an AWX: its syntax, and the objects it would send (rendered with
awx_render_only=true): the rrule is daily, the credential type injects only inputs it defines
(as the environment variables the influx_* modules read), every reference between the objects
resolves, and the job template runs a playbook that exists."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

from dateutil import rrule

from tests.helpers.ansible import REPO, ansible_env

BIN = Path(sys.executable).parent


def render(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "awx.json"
    proc = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/awx.yml", "-e", "awx_render_only=true",
                           "-e", f"awx_render_file={out}", *extra],
                          cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_syntax():
    proc = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "playbooks/awx.yml"], cwd=REPO,
                          env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr


def test_objects(tmp_path: Path):
    objects = render(tmp_path, "-e", "awx_environment=prod", "-e", '{"awx_notification_emails": ["ops@example.org"]}')

    # Daily at 03:00 UTC: the rotation is due-based, so it rotates on the day a credential is due.
    text = objects["schedule"]["rrule"]
    rule = rrule.rrulestr(text.replace(" RRULE", "\nRRULE"))
    runs = list(rule.between(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
                             datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc), inc=True))
    assert len(runs) == 365 and {(r.hour, r.minute) for r in runs} == {(3, 0)}
    # AWX wants DTSTART and RRULE on one line, separated by a space.
    assert re.fullmatch(r"DTSTART:\d{8}T\d{6}Z RRULE:\S+", text)

    ctype = objects["credential_type"]
    inputs = {f["id"] for f in ctype["inputs"]["fields"]}
    assert set(ctype["inputs"]["required"]) <= inputs
    assert set(ctype["injectors"]["env"]) == {"INFLUX_HOST", "INFLUX_TOKEN", "INFLUX_ORG"}
    for value in ctype["injectors"]["env"].values():
        # AWX's own templating, left for AWX: {{ input }}
        assert re.fullmatch(r"\{\{ (\w+) \}\}", value).group(1) in inputs
    assert next(f for f in ctype["inputs"]["fields"] if f["id"] == "token")["secret"] is True

    template = objects["job_template"]
    assert (REPO / template["playbook"]).is_file()
    assert template["project"] == objects["project"]["name"]
    assert template["inventory"] == objects["inventory"]["name"] == objects["inventory_source"]["inventory"]
    assert template["notification_templates_error"] == [objects["notification_template"]["name"]]
    assert objects["schedule"]["unified_job_template"] == template["name"]
    assert (REPO / objects["inventory_source"]["source_path"]).is_file()
    assert objects["notification_template"]["notification_configuration"]["recipients"] == ["ops@example.org"]
    assert "prod" in template["name"]


def test_a_daily_schedule_can_be_given(tmp_path: Path):
    objects = render(tmp_path, "-e", "awx_rotation_rrule='DTSTART:20260101T030000Z RRULE:FREQ=DAILY;INTERVAL=1'")
    rule = rrule.rrulestr(objects["schedule"]["rrule"].replace(" RRULE", "\nRRULE"))
    first = rule.after(datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc))
    assert rule.after(first) - first == datetime.timedelta(days=1)
