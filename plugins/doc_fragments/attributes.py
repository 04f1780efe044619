# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The check/diff C(attributes:) of the collection's modules.

    A module extends ``crosshost.docker.attributes`` and states, under its own ``attributes:``, the
    ``support`` (and ``details``) of ``check_mode`` and ``diff_mode``. A module that supports both fully
    extends ``crosshost.docker.attributes.check_diff`` as well and states only their ``details``. A
    read-only module extends ``crosshost.docker.attributes.info_module`` as well and states nothing.

    ansible-core merges the attributes one level deep: a key the module states wins over the fragments',
    and among fragments the first listed wins. So ``support`` is not in DOCUMENTATION: it would win over
    ``info_module``'s.
    """

    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target, if not supported
      the action will be skipped.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
"""

    CHECK_DIFF = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything, in check mode or not.
  diff_mode:
    support: N/A
    details:
      - The module never changes anything.
"""
