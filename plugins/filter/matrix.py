# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for connectivity matrices: matrix_table, broken_pairs and seen_sources (crosshost.docker.*)."""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._matrix import broken_pairs, matrix_table, seen_sources


class FilterModule(object):
    def filters(self):
        return {"matrix_table": matrix_table, "broken_pairs": broken_pairs, "seen_sources": seen_sources}
