# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the drift report (plugins/module_utils/_drift.py): pure, no I/O."""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._drift import drift_items

SKIPPED = {"changed": False, "skipped": True}


def test_nothing_differs_gives_no_line():
    assert drift_items({}) == []
    assert drift_items({"daemon_json": {"changed": False}, "rules": SKIPPED, "forwarding": {"changed": False},
                        "forward_policy": "DROP", "expect_policy": "DROP"}) == []


def test_each_kind_of_drift_is_named():
    lines = drift_items({
        "daemon_json": {"changed": True, "changed_keys": ["bip", "debug"], "config": {"bip": "10.0.1.1/24", "ip-masq": False}},
        "daemon": {"changed": True, "pending": ["daemon.json changed after dockerd started"]},
        "forwarding": {"changed": True, "runtime_changes": [{"key": "net.ipv4.ip_forward"}], "file_changed": True,
                       "file": "/etc/sysctl.d/60-crosshost-docker.conf"},
        "rules": {"changed": True, "added": ["filter CROSSHOST-FORWARD -s 10.0.1.0/24 -j ACCEPT"], "removed": []},
        "forward_policy": "ACCEPT", "expect_policy": "DROP",
        "host_routes": {"changed": True, "create": [{"destination": "10.0.2.0/24", "target": "192.168.1.12"}]},
    })
    assert lines == [
        "daemon.json differs: bip (to be 10.0.1.1/24), debug (to be removed)",
        "dockerd does not run with its configuration: daemon.json changed after dockerd started",
        "sysctl differs: runtime net.ipv4.ip_forward; file /etc/sysctl.d/60-crosshost-docker.conf",
        "firewall rules differ: missing filter CROSSHOST-FORWARD -s 10.0.1.0/24 -j ACCEPT",
        "FORWARD policy is ACCEPT, not DROP: every container on this host is reachable from anywhere; run "
        "iptables -P FORWARD DROP (Docker sets it at start)",
        "routes on this host: missing route 10.0.2.0/24 via 192.168.1.12",
    ]


def test_shared_table_lines_go_to_their_host_and_stale_ones_to_the_reporter():
    table = {"changed": True,
             "create": [{"destination": "10.0.1.0/24", "target": "192.168.1.12"}],
             "replace": [{"destination": "10.0.0.0/24", "target": "192.168.1.11", "old_target": "192.168.1.99"}],
             "delete": [{"destination": "10.0.9.0/24", "target": "192.168.1.19"}]}
    common = {"table_routes": table, "table": "rt", "cluster_subnets": ["10.0.0.0/24", "10.0.1.0/24"]}
    assert drift_items(dict(common, subnets=["10.0.1.0/24"])) == ["rt: missing route 10.0.1.0/24 via 192.168.1.12"]
    assert drift_items(dict(common, subnets=["10.0.0.0/24"], report_stale=True)) == [
        "rt: route 10.0.0.0/24 points to 192.168.1.99, not 192.168.1.11",
        "rt: stale route 10.0.9.0/24 via 192.168.1.19"]


def test_unchanged_or_skipped_results_are_silent_even_with_lists():
    assert drift_items({"table_routes": {"changed": False, "create": [{"destination": "x"}]}, "subnets": ["x"]}) == []
    assert drift_items({"rules": {"changed": True, "skipped": True, "added": ["a"]}}) == []
    assert drift_items({"daemon": {"changed": True, "pending": []}}) == [
        "dockerd does not run with its configuration: it is not running"]


def test_the_policy_step_of_the_rules_is_not_named_twice():
    rules = {"changed": True, "added": ["filter FORWARD policy DROP (was ACCEPT)"], "removed": []}
    assert drift_items({"rules": rules, "forward_policy": "ACCEPT", "expect_policy": "DROP"}) == [
        "FORWARD policy is ACCEPT, not DROP: every container on this host is reachable from anywhere; run "
        "iptables -P FORWARD DROP (Docker sets it at start)"]
    assert drift_items({"rules": rules}) == ["firewall rules differ: missing filter FORWARD policy DROP (was ACCEPT)"]


def test_other_results_name_the_changed_loop_items_and_what_changes():
    networks = {"changed": True, "results": [
        {"changed": False, "item": {"name": "mv_a", "parent": "eth1"}},
        {"changed": True, "item": {"name": "mv_b", "parent": "eth1.10"},
         "actions": ["Created network mv_b with driver macvlan"]},
    ]}
    vlans = {"changed": True, "results": [
        {"changed": True, "item": {"name": "mv_b", "parent": "eth1.10"}, "actions": ["create vlan eth1.10"]}]}
    shims = {"changed": True, "results": [{"changed": True, "item": {"name": "mv_a"}}, {"skipped": True, "changed": True}]}
    assert drift_items({"other": {"networks": networks, "VLAN sub-interfaces": vlans, "shims": shims,
                                  "parents": {"changed": False, "results": []}},
                        "item_keys": {"VLAN sub-interfaces": "parent"}}) == [
        "networks differs: mv_b (Created network mv_b with driver macvlan)",
        "VLAN sub-interfaces differs: eth1.10 (create vlan eth1.10)",
        "shims differs: mv_a",
    ]


def test_other_plain_results_say_what_they_can():
    assert drift_items({"other": {
        "INPUT rules": {"changed": True, "added": ["filter CROSSHOST-OVERLAY -s 192.168.1.12 -j ACCEPT"], "removed": []},
        "swarm": {"changed": True, "actions": ["New node is added to swarm cluster"]},
        "network": {"changed": True, "diff": {"before": {"a": 1, "b": 2}, "after": {"a": 1, "b": 3, "c": 0}}},
        "daemon.json": {"changed": True, "changed_keys": ["cluster-store"]},
        "nothing to say": {"changed": True},
        "unchanged": {"changed": False, "actions": ["x"]},
        "skipped": SKIPPED,
    }}) == [
        "INPUT rules differs: missing filter CROSSHOST-OVERLAY -s 192.168.1.12 -j ACCEPT",
        "swarm differs: New node is added to swarm cluster",
        "network differs: differs in b, c",
        "daemon.json differs: keys cluster-store",
        "nothing to say differs",
    ]


def test_other_results_come_after_the_direct_route_lines_and_long_details_are_cut():
    lines = drift_items({"daemon": {"changed": True, "pending": []},
                         "other": {"x": {"changed": True, "actions": ["a" * 500]},
                                   "loop": {"changed": True, "results": [{"changed": True, "item": "eth9"}]}}})
    assert lines[0] == "dockerd does not run with its configuration: it is not running"
    assert lines[1].startswith("x differs: aaa") and lines[1].endswith("...") and len(lines[1]) < 320
    assert lines[2] == "loop differs: eth9"
