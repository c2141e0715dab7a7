# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: role_argument_specs
author:
  - ONS data platform engineers (@ons-data-platform)
short_description: The options of this collection's roles, as one argument spec for validate_argument_spec
description:
  - Reads C(meta/argument_specs.yml) of the collection's roles and merges the options of every entry point
    into one argument spec, without their C(default) and C(required) keys, so
    M(ansible.builtin.validate_argument_spec) checks the values an inventory sets (type, choices, elements,
    sub-options) before anything runs, while the roles still apply their own defaults.
  - The preflight uses it so that a bad role variable fails before the first AWS call rather than when
    its role starts, after the stages before it have changed things.
options:
  _terms:
    description: The roles to read (default all of them).
    type: list
    elements: str
    required: false
"""

EXAMPLES = r"""
- name: Check the variables the inventory sets against the roles' argument specs
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ lookup('ons.timestream_influxdb.role_argument_specs') }}"

- name: Only the vpc and security roles
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ lookup('ons.timestream_influxdb.role_argument_specs', 'vpc', 'security') }}"
"""

RETURN = r"""
_raw:
  description: The argument spec, one dictionary of option name to its spec.
  type: dict
  sample: {vpc_nat_gateway_mode: {type: str, choices: [single, per_az]}}
"""

from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

ROLES = Path(__file__).resolve().parents[2] / "roles"


def role_argument_specs(roles: list[str] | None = None, roles_dir: Path = ROLES) -> dict[str, Any]:
    """The options of ``roles`` (every role of ``roles_dir`` when empty), all entry points merged,
    without ``default`` and ``required``. An option two entry points spell differently is an error."""
    names = roles or sorted(p.name for p in roles_dir.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for role in names:
        path = roles_dir / role / "meta" / "argument_specs.yml"
        if not path.is_file():
            raise AnsibleLookupError(f"role_argument_specs: the role {role!r} has no {path}")
        specs = (yaml.safe_load(path.read_text()) or {}).get("argument_specs") or {}
        for entry_point, spec in specs.items():
            for name, option in ((spec or {}).get("options") or {}).items():
                kept = {k: v for k, v in option.items() if k not in ("default", "required", "description")}
                if name in merged and merged[name] != kept:
                    raise AnsibleLookupError(
                        f"role_argument_specs: option {name} differs between {origin[name]} and {role}:{entry_point}")
                merged[name] = kept
                origin.setdefault(name, f"{role}:{entry_point}")
    return merged


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        return [role_argument_specs([str(t) for t in terms])]
