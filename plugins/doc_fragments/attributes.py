# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # What every module of this collection that changes something supports.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the predicted result without changing anything.
    support: full
  diff_mode:
    description: Returns the resource before and after the task (without secrets) when run with C(--diff).
    support: full
"""

    # The _info modules: they read only.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check mode; it reads only, so the result is the same.
    support: full
  diff_mode:
    description: Reads only, so there is nothing to compare.
    support: none
"""
