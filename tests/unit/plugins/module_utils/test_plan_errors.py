# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planner errors renamed after the role variable and tied to the host at fault."""

from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._plan_errors import host_of, planned, rename
from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import SubnetPlanError, plan_subnets

NAMES = {"pool": "direct_route_pool", "overrides": "direct_route_overrides", "existing": "{key}: the current bip"}


@pytest.mark.parametrize("message, expected", [
    ("pool: 10.0.0.0/24 has room for 1", "direct_route_pool: 10.0.0.0/24 has room for 1"),
    ("overrides[h2]: 10.0.0.0/24 overlaps", "direct_route_overrides[h2]: 10.0.0.0/24 overlaps"),
    ("existing[h3]: 10.0.7.0/24 is also", "h3: the current bip: 10.0.7.0/24 is also"),
    ("prefix: /31 leaves no address", "prefix: /31 leaves no address"),  # not in names: unchanged
    ("no field here", "no field here"),
    ("overrides[h2][x]: nested", "direct_route_overrides[h2][x]: nested"),
])
def test_rename(message, expected):
    assert rename(message, NAMES) == expected


def test_rename_without_names_keeps_the_message():
    assert rename("pool: x", None) == "pool: x"
    assert rename("pool: x", {}) == "pool: x"


@pytest.mark.parametrize("message, hosts, expected", [
    ("overrides[h2]: x", ["h1", "h2"], "h2"),
    ("overrides[h9]: h9 is not one of the hosts", ["h1", "h2"], None),
    ("pool: x", ["h1"], None),
    ("networks['h1']: x", ["h1"], "h1"),
    ("a[b][h1]: x", ["h1"], "h1"),
    ("not a field message", ["h1"], None),
])
def test_host_of(message, hosts, expected):
    assert host_of(message, hosts) == expected


def test_planned_returns_the_result_or_the_error():
    ok = planned(lambda: plan_subnets(["h1", "h2"], "10.0.0.0/16"), SubnetPlanError, NAMES, ["h1", "h2"])
    assert ok["error"] is None and ok["result"]["h2"]["subnet"] == "10.0.1.0/24"
    bad = planned(lambda: plan_subnets(["h1", "h2"], "10.0.0.0/16", overrides={"h2": "10.0.0.0/33"}),
                  SubnetPlanError, NAMES, ["h1", "h2"])
    assert bad["result"] is None
    assert bad["error"]["host"] == "h2"
    assert bad["error"]["msg"].startswith("direct_route_overrides[h2]: ")


def test_planned_lets_other_exceptions_through():
    def boom():
        raise KeyError("x")
    with pytest.raises(KeyError):
        planned(boom, SubnetPlanError)
