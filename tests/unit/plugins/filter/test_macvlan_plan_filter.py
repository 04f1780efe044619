# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The macvlan_plan, macvlan_check_ip and macvlan_check_networks filters: same results, AnsibleFilterError."""

from __future__ import annotations

import inspect
import os

import pytest
import yaml

from ansible_collections.crosshost.docker.plugins.module_utils._macvlan_plan import (
    MacvlanPlanError,
    check_networks,
    check_static_ip,
    plan_ranges,
)

FILTER_PLUGIN = "macvlan_plan"  # the conftest fixtures loaded, filters and filter_error
SUBNET = "192.168.2.0/24"


def test_filters_are_registered_under_their_documented_names(filters, loaded):
    assert filters == {"macvlan_plan": loaded[0].macvlan_plan, "macvlan_check_ip": loaded[0].macvlan_check_ip,
                       "macvlan_check_networks": loaded[0].macvlan_check_networks}


def test_docs_example_plan(filters):
    plan = filters["macvlan_plan"](["h1", "h2"], SUBNET, "192.168.2.1", reserved=["192.168.2.200/29"],
                                   aux_addresses={"shim-h1": "192.168.2.250", "shim-h2": "192.168.2.251"})
    assert plan["h1"] == {"ip_range": "192.168.2.0/27", "first": "192.168.2.2", "last": "192.168.2.31", "size": 30,
                          "source": "allocated", "subnet": SUBNET, "gateway": "192.168.2.1",
                          "aux_addresses": {"shim-h1": "192.168.2.250", "shim-h2": "192.168.2.251"}}
    assert plan["h2"]["ip_range"] == "192.168.2.32/27"
    facts = {h: {"name": "mac_net1", "subnets": [{"subnet": SUBNET, "ip_range": e["ip_range"]}]}
             for h, e in plan.items()}
    third = filters["macvlan_plan"](["h1", "h2", "h3"], SUBNET, existing=facts)
    assert [e["source"] for e in third.values()] == ["existing", "existing", "allocated"]
    assert third["h3"]["ip_range"] == "192.168.2.64/27"


def test_same_plan_as_plan_ranges(filters):
    kwargs = {"range_prefix": 28, "reserved": ["192.168.2.0/28"], "overrides": {"b": "192.168.2.128/26"},
              "existing": {"c": "192.168.2.48/28"}, "aux_addresses": {"x": "192.168.2.20"}}
    assert filters["macvlan_plan"](["a", "b", "c"], SUBNET, **kwargs) == plan_ranges(["a", "b", "c"], SUBNET, **kwargs)


@pytest.mark.parametrize("kwargs", [
    {},
    {"subnet": "192.168.2.1/24"},
    {"subnet": SUBNET, "gateway": "10.0.0.1"},
    {"subnet": "192.168.2.0/29", "range_prefix": 30},
    {"subnet": SUBNET, "existing": {"h1": SUBNET, "h2": "192.168.2.0/25"}},
    {"subnet": SUBNET, "overrides": {"h1": "10.0.0.0/24"}},
])
def test_plan_errors_become_filter_errors_with_the_same_message(filters, filter_error, kwargs):
    hosts = ["h1", "h2", "h3"]
    with pytest.raises(MacvlanPlanError) as expected:
        plan_ranges(hosts, **dict({"subnet": None}, **kwargs))
    with pytest.raises(filter_error) as raised:
        filters["macvlan_plan"](hosts, **kwargs)
    assert raised.value.message == str(expected.value)


def test_check_ip(filters, filter_error):
    plan = plan_ranges(["h1", "h2", "h3", "h4", "h5"], SUBNET, range_prefix=28)
    assert filters["macvlan_check_ip"]("192.168.2.14", plan, "h1") == "192.168.2.14"
    expected = ("ip: 192.168.2.70 is in h5's range 192.168.2.64/28, whose IPAM may hand it out to a container there; "
                "a container on h1 must use an address in 192.168.2.0/28 (192.168.2.2-192.168.2.15)")
    with pytest.raises(MacvlanPlanError) as direct:
        check_static_ip(plan, "h1", "192.168.2.70")
    assert str(direct.value) == expected
    with pytest.raises(filter_error) as raised:
        filters["macvlan_check_ip"]("192.168.2.70", plan, "h1")
    assert raised.value.message == expected
    with pytest.raises(filter_error, match="host: None is not in the plan"):
        filters["macvlan_check_ip"]("192.168.2.3", plan)


def test_check_networks(filters, filter_error):
    nets = [{"name": "mac_net1", "subnet": "172.21.0.0/24", "parent": "eth1"},
            {"name": "mac_net2", "subnet": "172.22.0.0/24", "parent": "eth1.1"}]
    assert filters["macvlan_check_networks"](nets) == check_networks(nets)
    bad = nets + [{"name": "mac_net3", "subnet": "172.21.0.0/25", "parent": "eth1"}]
    with pytest.raises(filter_error, match="overlaps 172.21.0.0/24 of network mac_net1 on the same parent eth1"):
        filters["macvlan_check_networks"](bad)
    with pytest.raises(filter_error, match="already using parent interface eth1"):
        filters["macvlan_check_networks"](nets + [{"name": "x", "subnet": "10.9.0.0/24", "parent": "eth1"}], True)


def _docs(plugin, name):
    with open(os.path.join(os.path.dirname(plugin.__file__), name + ".yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("name, positional, returned", [
    ("macvlan_plan", "subnet, gateway",
     {"ip_range", "first", "last", "size", "source", "subnet", "gateway", "aux_addresses"}),
    ("macvlan_check_ip", "plan, host", None),
    ("macvlan_check_networks", "exclusive_parents", {"name", "parent", "subnets"}),
])
def test_documented_options_match_the_signature(loaded, name, positional, returned):
    plugin = loaded[0]
    docs = _docs(plugin, name)
    function = getattr(plugin, name)
    options = docs["DOCUMENTATION"]["options"]
    params = inspect.signature(function).parameters
    assert ["_input"] + list(params)[1:] == list(options)
    assert docs["DOCUMENTATION"]["name"] == name
    assert docs["DOCUMENTATION"]["positional"] == positional
    for option, param in params.items():
        if option in options and param.default not in (None, inspect.Parameter.empty):
            assert options[option]["default"] == param.default
    if returned is not None:
        assert set(docs["RETURN"]["_value"]["contains"]) == returned


def test_docs_example_errors_are_the_real_messages(filters, filter_error, loaded):
    text = _docs(loaded[0], "macvlan_plan")["EXAMPLES"]
    with pytest.raises(filter_error) as raised:
        filters["macvlan_plan"](["h1", "h2", "h3"], "192.168.2.0/29", range_prefix=30)
    comment = text.split("# fails: ", 1)[1]
    comment = " ".join(line.strip().lstrip("#").strip() for line in comment.splitlines())
    assert comment.strip() == raised.value.message
