# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for connectivity matrices: crosshost.docker.matrix_table and crosshost.docker.broken_pairs."""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._matrix import broken_pairs, matrix_table


class FilterModule(object):
    def filters(self):
        return {"matrix_table": matrix_table, "broken_pairs": broken_pairs}
