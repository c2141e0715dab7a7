# -*- coding: utf-8 -*-

# Copyright: Contributors to the ons.timestream_influxdb collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_regions
author:
  - ONS data platform engineers (@ons-data-platform)
short_description: The region names of the AWS partitions, from botocore's partition data
description:
  - Returns the names of the regions botocore knows (its C(partitions.json)), without the partitions'
    C(*-global) pseudo-regions, so a playbook can check a region name before any call to AWS
    (a typo such as C(eu-west2) has no endpoint).
  - Without terms, the regions of every partition; with terms, those of the named partitions
    (C(aws), C(aws-cn), C(aws-us-gov), ...).
  - Use with C(query) or C(wantlist=true) to get a list.
requirements:
  - botocore
"""

EXAMPLES = r"""
- name: Check the region name
  ansible.builtin.assert:
    that:
      - aws_region in query('ons.timestream_influxdb.aws_regions')
    fail_msg: "aws_region {{ aws_region }} is not an AWS region"
"""

RETURN = r"""
_raw:
  description: Region names, sorted.
  type: list
  elements: str
  sample: [af-south-1, ap-east-1, eu-west-2, us-east-1]
"""

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:
    import botocore.loaders

    HAS_BOTOCORE = True
except ImportError:
    HAS_BOTOCORE = False


def partition_regions(partitions: list[str] | None = None) -> list[str]:
    """Region names of ``partitions`` (all when None or empty), sorted; raises ValueError naming an
    unknown partition."""
    data = botocore.loaders.create_loader().load_data("partitions")
    known = {p["id"]: p for p in data["partitions"]}
    wanted = partitions or list(known)
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise ValueError(f"unknown partition(s) {', '.join(unknown)}; botocore knows {', '.join(sorted(known))}")
    return sorted(
        name
        for pid in wanted
        for name in known[pid].get("regions", {})
        if not name.endswith("-global")
    )


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        if not HAS_BOTOCORE:
            raise AnsibleLookupError("aws_regions needs botocore on the controller (pip install botocore)")
        try:
            return partition_regions([str(t) for t in terms])
        except ValueError as exc:
            raise AnsibleLookupError(f"aws_regions: {exc}") from exc
