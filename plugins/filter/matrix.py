# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for connectivity matrices (crosshost.docker.*): matrix_table, broken_pairs, seen_sources and
connectivity_report."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._connectivity import ConnectivityError, report
from ansible_collections.crosshost.docker.plugins.module_utils._matrix import broken_pairs, matrix_table, seen_sources


def connectivity_report(data, hosts=None, expect_source="container", by_name=False):
    try:
        return report(data, hosts=hosts, expect_source=expect_source, by_name=by_name)
    except ConnectivityError as exc:
        raise AnsibleFilterError("connectivity_report: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"matrix_table": matrix_table, "broken_pairs": broken_pairs, "seen_sources": seen_sources,
                "connectivity_report": connectivity_report}
