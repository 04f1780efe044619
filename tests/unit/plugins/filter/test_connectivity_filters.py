# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The matrix filters (crosshost.docker.matrix_table, broken_pairs, seen_sources, connectivity_report, probe_peers):
registered under their documented names, each with a documentation file, same results as the pure code,
errors as AnsibleFilterError."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.crosshost.docker.plugins.module_utils import _connectivity as cx
from ansible_collections.crosshost.docker.plugins.module_utils import _matrix

FILTER_PLUGIN = "matrix"  # the conftest fixture loaded
FILTER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "plugins", "filter")


def test_filters_are_registered_and_documented(loaded):
    filters = loaded[0].FilterModule().filters()
    assert filters["matrix_table"] is _matrix.matrix_table
    assert filters["broken_pairs"] is _matrix.broken_pairs
    assert filters["seen_sources"] is _matrix.seen_sources
    assert set(filters) == {"matrix_table", "broken_pairs", "seen_sources", "connectivity_report", "probe_peers"}
    for name in filters:
        with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
        assert doc["DOCUMENTATION"]["name"] == name and doc["EXAMPLES"] and doc["RETURN"]


def test_connectivity_report_is_the_pure_report(loaded):
    report = loaded[0].FilterModule().filters()["connectivity_report"]
    data = {"h1": {"probe": {"address": "10.0.0.3"}, "tested": {"row": {"h2": None}}}, "h2": {}}
    assert report(data, hosts=["h1", "h2"]) == cx.report(data, ["h1", "h2"])
    assert report(data)["broken"][0].startswith("h1 -> h2: no probe result")


def test_connectivity_report_errors_become_filter_errors(loaded):
    report = loaded[0].FilterModule().filters()["connectivity_report"]
    with pytest.raises(loaded[1]) as raised:
        report({}, expect_source="nobody")
    assert "connectivity_report: expect_source: 'nobody' is not one of container, any" in str(raised.value)


def test_probe_peers_is_the_pure_selection(loaded):
    probe_peers = loaded[0].FilterModule().filters()["probe_peers"]
    names = ["h%d" % i for i in range(1, 13)]
    assert probe_peers(names, "h12") == ["h1", "h2"]  # auto: 12 hosts > 10, ring of 2
    assert probe_peers(names, "h12", "ring", 2, 10, "from") == ["h10", "h11"]
    assert probe_peers(names, "h1", "all") == names[1:]
    assert probe_peers(names[:3], "h2") == ["h1", "h3"]  # auto up to 3 hosts: the full matrix (the ring of 2 is every pair)
    assert probe_peers(names[:4], "h2") == ["h3", "h4"]  # auto above 3 hosts: a ring of 2
    assert probe_peers(names[:4], "h2", "auto", 2, 4) == ["h1", "h3", "h4"]


def test_probe_peers_errors_become_filter_errors(loaded):
    probe_peers = loaded[0].FilterModule().filters()["probe_peers"]
    with pytest.raises(loaded[1]) as raised:
        probe_peers(["h1", "h2"], "h1", "ring", 0)
    assert "probe_peers: verify_ring_peers: 0 is below 1" in str(raised.value)


def test_connectivity_report_passes_the_pair_options(loaded):
    report = loaded[0].FilterModule().filters()["connectivity_report"]
    data = {"h1": {"probe": {"address": "10.0.0.3"}, "tested": {"row": {"h2": None}}}, "h2": {}, "h3": {}, "h4": {}}
    got = report(data, hosts=["h1", "h2", "h3", "h4"], pairs="ring", ring_peers=1)
    assert got == cx.report(data, ["h1", "h2", "h3", "h4"], pairs="ring", ring_peers=1)
    assert "4 hosts, 4 of 12 pairs tested (ring, 1 peer each), 4 broken" in got["summary"]
    with pytest.raises(loaded[1], match="connectivity_report: verify_pairs: 'x' is not one of"):
        report(data, pairs="x")
