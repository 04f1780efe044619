# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""errors='return' on the macvlan and overlay filters: the roles' planning errors as data, named
after the role variable, tied to the host at fault."""

from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.tests.unit.helpers import filter_plugins


@pytest.fixture(name="filters", scope="module")
def fixture_filters():
    """Every filter of the collection's planner plugins, imported here (see test_subnet_plan_filter)."""
    with filter_plugins("macvlan_plan", "overlay_plan", "subnet_plan") as (plugins, filter_error):
        found = {}
        for plugin in plugins:
            found.update(plugin.FilterModule().filters())
        yield found, filter_error


def test_macvlan_plan_returns_the_error_with_the_role_variable_and_host(filters):
    macvlan_plan = filters[0]["macvlan_plan"]
    out = macvlan_plan(["h1", "h2"], "192.168.2.0/24", overrides={"h2": "192.168.3.0/26"}, errors="return",
                       names={"overrides": "macvlan_networks[lan].ip_ranges"})
    assert out["result"] is None and out["error"]["host"] == "h2"
    assert out["error"]["msg"].startswith("macvlan_networks[lan].ip_ranges[h2]: 192.168.3.0/26 is outside")
    good = macvlan_plan(["h1", "h2"], "192.168.2.0/24", errors="return")
    assert good["error"] is None and set(good["result"]) == {"h1", "h2"}


def test_macvlan_check_ip_return_and_raise(filters):
    found, filter_error = filters
    plan = found["macvlan_plan"](["h1", "h2"], "192.168.2.0/24")
    out = found["macvlan_check_ip"]("192.168.2.11", plan, "h2", errors="return")
    assert out["result"] is None and "is in h1's range" in out["error"]["msg"]
    assert found["macvlan_check_ip"]("192.168.2.11", plan, "h1") == "192.168.2.11"
    with pytest.raises(filter_error, match="is in h1's range"):
        found["macvlan_check_ip"]("192.168.2.11", plan, "h2")
    with pytest.raises(filter_error, match="errors="):
        found["macvlan_check_ip"]("192.168.2.11", plan, "h1", errors="warn")


def test_macvlan_check_networks_names_the_variable(filters):
    nets = [{"name": "a", "parent": "eth1", "subnet": "192.168.2.0/24"},
            {"name": "b", "parent": "eth1", "subnet": "192.168.2.0/25"}]
    out = filters[0]["macvlan_check_networks"](nets, errors="return", names={"networks": "macvlan_networks"})
    assert out["error"]["msg"].startswith("macvlan_networks[b]: subnet 192.168.2.0/25 overlaps")


def test_overlay_filters_return_errors_on_the_host_they_concern(filters):
    found = filters[0]
    out = found["overlay_backend"]({"h1": "20.10.24", "h2": "28.5.2"}, requested="kv", kv_url="etcd://192.168.1.1:2379",
                                   errors="return")
    assert out["result"] is None and out["error"]["msg"].startswith("overlay_backend=kv: h2 (28.5.2)")
    assert out["error"]["host"] == "h2"
    nets = found["overlay_networks"]([{"name": "ov", "subnet": "10.20.0.0/24", "mtu": 1480}], errors="return",
                                     existing={"h1": [], "h2": []})
    assert nets["error"]["msg"].startswith("overlay_networks[ov].mtu") and nets["error"]["host"] is None
    ok = found["overlay_networks"]([{"name": "ov", "subnet": "10.20.0.0/24"}], errors="return")
    assert ok["error"] is None and ok["result"]["networks"][0]["name"] == "ov"
