# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which pairs the verify role tests (_verify_pairs): all, ring and auto, for every small n and k."""
from __future__ import annotations

import itertools

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _verify_pairs as vp


def hosts(n):
    return ["h%d" % i for i in range(1, n + 1)]


def pair_set(selection):
    return set((s, d) for s, dsts in selection["pairs"].items() for d in dsts)


def all_pairs(names):
    return set(itertools.permutations(names, 2))


@pytest.mark.parametrize("n", [0, 1])
def test_no_pairs_without_two_hosts(n):
    for mode in vp.MODES:
        sel = vp.select_pairs(hosts(n), mode, 2, 0)
        assert sel["tested"] == 0 and sel["total"] == 0 and sel["mode"] == "all"
        assert sel["pairs"] == dict((h, []) for h in hosts(n))
        assert vp.receivers(hosts(n), "h1", mode, 2, 0) == []


@pytest.mark.parametrize("mode", vp.MODES)
def test_two_hosts_test_each_other_in_every_mode(mode):
    sel = vp.select_pairs(["a", "b"], mode, 1, 0)
    assert sel == {"mode": "all", "ring_peers": None, "pairs": {"a": ["b"], "b": ["a"]}, "tested": 2, "total": 2}
    assert vp.receivers(["a", "b"], "a", mode, 1, 0) == ["b"]
    assert vp.receivers(["a", "b"], "b", mode, 1, 0, direction="from") == ["a"]
    assert vp.receivers(["a", "b"], "b", mode, 1, 0, direction="both") == ["a"]


def test_three_hosts_ring_of_one():
    sel = vp.select_pairs(hosts(3), "ring", 1)
    assert sel == {"mode": "ring", "ring_peers": 1, "pairs": {"h1": ["h2"], "h2": ["h3"], "h3": ["h1"]},
                   "tested": 3, "total": 6}
    assert vp.receivers(hosts(3), "h3", "ring", 1, direction="from") == ["h2"]
    assert vp.receivers(hosts(3), "h3", "ring", 1, direction="both") == ["h1", "h2"]


@pytest.mark.parametrize("n", range(2, 9))
def test_k_of_n_minus_one_or_more_is_every_pair_and_mode_all(n):
    for k in range(n - 1, n + 3):
        sel = vp.select_pairs(hosts(n), "ring", k)
        assert sel["mode"] == "all" and sel["ring_peers"] is None
        assert pair_set(sel) == all_pairs(hosts(n)) and sel["tested"] == sel["total"] == n * (n - 1)


@pytest.mark.parametrize("n", range(3, 12))
def test_ring_exhaustively(n):
    names = hosts(n)
    for k in range(1, n - 1):
        sel = vp.select_pairs(names, "ring", k)
        assert sel["mode"] == "ring" and sel["ring_peers"] == k
        assert sel["tested"] == n * k and sel["total"] == n * (n - 1)
        pairs = pair_set(sel)
        assert len(pairs) == n * k and pairs <= all_pairs(names)  # no self pairs, no duplicates
        assert list(sel["pairs"]) == names  # every host, in order
        for i, host in enumerate(names):
            expected = [names[(i + s) % n] for s in range(1, k + 1)]
            assert sel["pairs"][host] == expected  # the next k hosts, in order, wrapping around
            assert vp.receivers(names, host, "ring", k) == expected
            senders = sorted(s for s, d in pairs if d == host)
            assert sorted(vp.receivers(names, host, "ring", k, direction="from")) == senders and len(senders) == k
            both = vp.receivers(names, host, "ring", k, direction="both")
            assert set(both) == set(expected) | set(senders) and len(both) == len(set(both))
            assert both[:k] == expected


@pytest.mark.parametrize("n", range(2, 8))
def test_all_is_every_pair_in_host_order(n):
    names = list(reversed(hosts(n)))
    sel = vp.select_pairs(names, "all", 1)
    assert pair_set(sel) == all_pairs(names) and sel["mode"] == "all"
    for host in names:
        assert sel["pairs"][host] == [h for h in names if h != host]
        for direction in vp.DIRECTIONS:
            assert vp.receivers(names, host, "all", 1, direction=direction) == [h for h in names if h != host]


def test_auto_is_all_up_to_the_threshold_then_ring():
    assert vp.resolve(10, "auto", 2, 10) == ("all", None)
    assert vp.resolve(11, "auto", 2, 10) == ("ring", 2)
    assert vp.resolve(11, "auto", 3, 11) == ("all", None)
    assert vp.resolve(4, "auto", 1, 0) == ("ring", 1)
    assert vp.resolve(25, "all", 2, 0) == ("all", None)
    assert vp.select_pairs(hosts(25), "auto")["tested"] == 50
    # the default threshold, 3: every pair of 3 hosts, a ring of 2 above (linear in hosts)
    assert vp.select_pairs(hosts(3), "auto")["tested"] == 6
    assert vp.select_pairs(hosts(4), "auto")["tested"] == 8 and vp.select_pairs(hosts(4), "auto")["total"] == 12
    assert vp.select_pairs(hosts(10), "auto")["tested"] == 20
    assert vp.select_pairs(hosts(10), "auto", 2, 10)["tested"] == 90


def test_order_of_the_hosts_decides_the_ring_and_the_result_is_deterministic():
    names = hosts(6)
    assert vp.select_pairs(names, "ring", 2) == vp.select_pairs(list(names), "ring", 2)
    shuffled = ["h4", "h1", "h6", "h2", "h5", "h3"]
    assert vp.select_pairs(shuffled, "ring", 1)["pairs"] == {"h4": ["h1"], "h1": ["h6"], "h6": ["h2"], "h2": ["h5"],
                                                             "h5": ["h3"], "h3": ["h4"]}


def test_a_host_outside_the_list_has_no_peers_and_values_are_coerced():
    assert vp.receivers(hosts(5), "other", "ring", 1) == []
    assert vp.receivers([1, 2, 3, 4], 2, "ring", "1") == ["3"]
    assert vp.resolve(20, "auto", "2", "10") == ("ring", 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "some"}, "verify_pairs: 'some' is not one of auto, all, ring"),
    ({"ring_peers": 0}, "verify_ring_peers: 0 is below 1"),
    ({"ring_peers": "two"}, "verify_ring_peers: 'two' is not a number"),
    ({"ring_peers": True}, "verify_ring_peers: True is not a number"),
    ({"ring_peers": 1.5}, "verify_ring_peers: 1.5 is not a whole number"),
    ({"all_pairs_max_hosts": -1}, "verify_all_pairs_max_hosts: -1 is below 0"),
])
def test_bad_values_name_the_variable(kwargs, message):
    with pytest.raises(vp.VerifyPairsError) as raised:
        vp.select_pairs(hosts(4), **kwargs)
    assert str(raised.value) == message


def test_bad_host_lists():
    with pytest.raises(vp.VerifyPairsError, match="hosts: h1 listed more than once"):
        vp.select_pairs(["h1", "h2", "h1"])
    with pytest.raises(vp.VerifyPairsError, match="a list of host names"):
        vp.receivers("h1,h2", "h1")
    with pytest.raises(vp.VerifyPairsError, match="direction: 'up' is not one of to, from, both"):
        vp.receivers(hosts(3), "h1", direction="up")
