# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for connectivity matrices (crosshost.docker.*): matrix_table, broken_pairs, seen_sources,
connectivity_report and probe_peers."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._connectivity import ConnectivityError, report
from ansible_collections.crosshost.docker.plugins.module_utils._matrix import broken_pairs, matrix_table, seen_sources
from ansible_collections.crosshost.docker.plugins.module_utils._verify_pairs import VerifyPairsError, receivers


def connectivity_report(data, hosts=None, expect_source="container", by_name=False, pairs="all", ring_peers=2,
                        all_pairs_max_hosts=3):
    try:
        return report(data, hosts=hosts, expect_source=expect_source, by_name=by_name, pairs=pairs,
                      ring_peers=ring_peers, all_pairs_max_hosts=all_pairs_max_hosts)
    except ConnectivityError as exc:
        raise AnsibleFilterError("connectivity_report: %s" % exc)


def probe_peers(hosts, host, pairs="auto", ring_peers=2, all_pairs_max_hosts=3, direction="to"):
    """``verify_hosts | crosshost.docker.probe_peers(inventory_hostname, pairs, ring_peers, ...)``: the hosts
    that ``host`` tests (direction "to"), that test it ("from"), or both."""
    try:
        return receivers(hosts, host, pairs, ring_peers, all_pairs_max_hosts, direction)
    except VerifyPairsError as exc:
        raise AnsibleFilterError("probe_peers: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"matrix_table": matrix_table, "broken_pairs": broken_pairs, "seen_sources": seen_sources,
                "connectivity_report": connectivity_report, "probe_peers": probe_peers}
