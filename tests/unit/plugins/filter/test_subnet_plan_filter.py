# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The crosshost.docker.subnet_plan filter: same plan as plan_subnets, errors as AnsibleFilterError."""

from __future__ import annotations

import inspect
import os

import pytest
import yaml

from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import SubnetPlanError, plan_subnets

FILTER_PLUGIN = "subnet_plan"  # the conftest fixtures loaded and filter_error


@pytest.fixture(name="subnet_plan")
def fixture_subnet_plan(loaded):
    return loaded[0].FilterModule().filters()["subnet_plan"]


def test_filter_is_registered_under_its_documented_name(subnet_plan, loaded):
    assert subnet_plan is loaded[0].subnet_plan


def test_seed_example_from_the_docs(subnet_plan):
    hosts = ["192.168.1.196", "192.168.1.197"]
    facts = {h: {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"} for h in hosts}
    networks = {h: [{"name": "bridge", "driver": "bridge", "subnets": [{"subnet": "172.17.0.0/16"}]},
                    {"name": "host", "driver": "host", "subnets": []}] for h in hosts}
    plan = subnet_plan(hosts, pool="10.0.0.0/8", prefix=24, reserved=["192.168.0.0/16"], provider="alicloud",
                       overrides={"192.168.1.196": "10.0.0.0/24", "192.168.1.197": "10.1.0.0/24"},
                       existing=facts, host_networks=networks)
    assert plan == {
        "192.168.1.196": {"subnet": "10.0.0.0/24", "bip": "10.0.0.1/24", "gateway": "10.0.0.1", "source": "override"},
        "192.168.1.197": {"subnet": "10.1.0.0/24", "bip": "10.1.0.1/24", "gateway": "10.1.0.1", "source": "override"},
    }
    third = subnet_plan(hosts + ["192.168.1.198"], "10.0.0.0/8", 24, reserved=["192.168.0.0/16"],
                        overrides={"192.168.1.196": "10.0.0.0/24", "192.168.1.197": "10.1.0.0/24"})
    assert third["192.168.1.198"]["bip"] == "10.0.1.1/24"


def test_positional_pool_and_prefix(subnet_plan):
    assert subnet_plan(["a", "b"], "10.0.0.0/16", 26) == plan_subnets(["a", "b"], "10.0.0.0/16", prefix=26)


@pytest.mark.parametrize("kwargs", [
    {"pool": "10.0.0.0/22"},
    {"pool": "10.0.0.1/16"},
    {"pool": "100.64.0.0/16", "provider": "alicloud"},
    {"pool": "10.0.0.0/16", "overrides": {"h1": "10.0.0.0/24", "h2": "10.0.0.0/24"}},
    {"pool": "10.0.0.0/16", "reserved": ["10.0.0.0/8"]},
    {"pool": "10.0.0.0/16", "prefix": 31},
    {},
])
def test_errors_become_filter_errors_with_the_same_message(subnet_plan, filter_error, kwargs):
    hosts = ["h%d" % i for i in range(1, 6)]
    with pytest.raises(SubnetPlanError) as expected:
        plan_subnets(hosts, **dict({"pool": None}, **kwargs))
    with pytest.raises(filter_error) as raised:
        subnet_plan(hosts, **kwargs)
    assert raised.value.message == str(expected.value)
    assert str(expected.value) in str(raised.value)


def test_pool_too_small_message(subnet_plan, filter_error):
    expected = "pool: 10.0.0.0/22 has room for 4 /24 subnets but 5 hosts need one: use a larger pool or a longer prefix"
    with pytest.raises(filter_error, match=expected):
        subnet_plan(["h1", "h2", "h3", "h4", "h5"], "10.0.0.0/22")


def test_documented_options_match_the_signature(loaded):
    plugin = loaded[0]
    with open(os.path.join(os.path.dirname(plugin.__file__), "subnet_plan.yml"), encoding="utf-8") as handle:
        docs = yaml.safe_load(handle)
    options = docs["DOCUMENTATION"]["options"]
    params = list(inspect.signature(plugin.subnet_plan).parameters)
    assert ["_input"] + params[1:] == list(options)
    assert docs["DOCUMENTATION"]["name"] == "subnet_plan"
    assert options["prefix"]["default"] == inspect.signature(plugin.subnet_plan).parameters["prefix"].default
    assert docs["DOCUMENTATION"]["positional"] == "pool, prefix"
    assert set(docs["RETURN"]["_value"]["contains"]) == {"subnet", "bip", "gateway", "source"}


def test_errors_return_names_the_role_variable_and_the_host(subnet_plan):
    out = subnet_plan(["h1", "h2"], "10.0.0.0/16", overrides={"h2": "10.0.0.0/33"}, errors="return",
                      names={"overrides": "direct_route_overrides"})
    assert out["result"] is None
    assert out["error"]["host"] == "h2"
    assert out["error"]["msg"].startswith("direct_route_overrides[h2]: ")
    good = subnet_plan(["h1"], "10.0.0.0/16", errors="return")
    assert good == {"result": plan_subnets(["h1"], "10.0.0.0/16"), "error": None}


def test_errors_raise_uses_the_names_too(subnet_plan, filter_error):
    with pytest.raises(filter_error, match=r"^direct_route_pool: "):
        subnet_plan(["h1"], "10.0.0.1/16", names={"pool": "direct_route_pool"})
    with pytest.raises(filter_error, match="errors="):
        subnet_plan(["h1"], "10.0.0.0/16", errors="ignore")


def test_direct_routes(loaded, filter_error):
    direct_routes = loaded[0].FilterModule().filters()["direct_routes"]
    plan = plan_subnets(["h1", "h2"], "10.0.0.0/16")
    assert direct_routes(["h1", "h2"], plan, {"h1": "192.168.1.11", "h2": "192.168.1.12"}) == [
        {"destination": "10.0.0.0/24", "next_hop": "192.168.1.11", "host": "h1"},
        {"destination": "10.0.1.0/24", "next_hop": "192.168.1.12", "host": "h2"},
    ]
    with pytest.raises(filter_error, match="h2"):
        direct_routes(["h1", "h2"], plan, {"h1": "192.168.1.11"})
