# -*- coding: utf-8 -*-

# Copyright: ONS data platform engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    """The check and diff mode attributes, one variant per support level.

    A module picks the variant that is true for it: ``ons.timestream_influxdb.attributes`` for a
    module that changes something and supports both modes fully, ``.info_module`` for a module
    that only reads, ``.check_mode_partial`` for one whose check mode cannot predict everything
    (say what in the module's notes).
    """

    # A module that changes something: it predicts in check mode and returns before/after with --diff.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the predicted result without changing anything.
    support: full
  diff_mode:
    description: Returns the resource before and after the task (without secrets) when run with C(--diff).
    support: full
"""

    # The _info modules: they read only, so check mode changes nothing about what they do, and there
    # is no before and after to show.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Reads only; in check mode it runs as usual and returns the same result.
    support: full
  diff_mode:
    description: Reads only; there is no before and after to compare.
    support: N/A
"""

    # A module that changes something but whose check mode cannot predict every value.
    CHECK_MODE_PARTIAL = r"""
attributes:
  check_mode:
    description: Can run in check mode without changing anything; some predicted values are unknown (see the notes).
    support: partial
  diff_mode:
    description: Returns the resource before and after the task (without secrets) when run with C(--diff).
    support: full
"""
