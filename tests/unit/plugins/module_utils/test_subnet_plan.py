# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plan_subnets: allocation, stickiness, overrides, docker networks, providers and every error."""

from __future__ import annotations

import ipaddress
import re

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import SubnetPlanError, plan_subnets
from ansible_collections.crosshost.docker.tests.unit import helpers

SEED_HOSTS = ["192.168.1.196", "192.168.1.197"]
SEED_OVERRIDES = {"192.168.1.196": "10.0.0.0/24", "192.168.1.197": "10.1.0.0/24"}


subnets = helpers.per_host("subnet")
sources = helpers.per_host("source")
as_existing = helpers.per_host("bip")  # what docker_host_info reports as each host's bip once the plan is applied
fails = helpers.failure(plan_subnets, SubnetPlanError)


# ---------------------------------------------------------------------------------------------
# the seed and the basic shape


def test_seed_two_hosts_with_overrides_get_the_seed_bips():
    plan = plan_subnets(SEED_HOSTS, "10.0.0.0/8", overrides=SEED_OVERRIDES, reserved=["192.168.0.0/16"],
                        provider="alicloud")
    assert plan == {
        "192.168.1.196": {"subnet": "10.0.0.0/24", "bip": "10.0.0.1/24", "gateway": "10.0.0.1", "source": "override"},
        "192.168.1.197": {"subnet": "10.1.0.0/24", "bip": "10.1.0.1/24", "gateway": "10.1.0.1", "source": "override"},
    }


def test_seed_third_host_gets_the_lowest_free_slot():
    plan = plan_subnets(SEED_HOSTS + ["192.168.1.198"], "10.0.0.0/8", overrides=SEED_OVERRIDES,
                        existing={h: "172.17.0.1/16" for h in SEED_HOSTS + ["192.168.1.198"]},
                        reserved=["192.168.0.0/16"])
    assert plan["192.168.1.198"] == {"subnet": "10.0.1.0/24", "bip": "10.0.1.1/24", "gateway": "10.0.1.1",
                                     "source": "allocated"}


def test_allocation_is_lowest_slots_in_host_order_and_result_keeps_that_order():
    plan = plan_subnets(["c", "a", "b"], "10.0.0.0/16")
    assert list(plan) == ["c", "a", "b"]
    assert subnets(plan) == {"c": "10.0.0.0/24", "a": "10.0.1.0/24", "b": "10.0.2.0/24"}
    assert plan["b"]["bip"] == "10.0.2.1/24" and plan["b"]["gateway"] == "10.0.2.1"
    assert set(sources(plan).values()) == {"allocated"}


@pytest.mark.parametrize("prefix, expected", [
    (24, ["10.0.0.0/24", "10.0.1.0/24"]),
    (26, ["10.0.0.0/26", "10.0.0.64/26"]),
    (30, ["10.0.0.0/30", "10.0.0.4/30"]),
    ("25", ["10.0.0.0/25", "10.0.0.128/25"]),
    ("/25", ["10.0.0.0/25", "10.0.0.128/25"]),
])
def test_prefix_sets_the_slot_size(prefix, expected):
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", prefix=prefix)
    assert [e["subnet"] for e in plan.values()] == expected
    first = ipaddress.ip_network(expected[0])
    assert plan["a"]["bip"] == "%s/%d" % (first.network_address + 1, first.prefixlen)


def test_prefix_equal_to_the_pool_gives_the_whole_pool_to_one_host():
    assert subnets(plan_subnets(["a"], "10.9.0.0/24", prefix=24)) == {"a": "10.9.0.0/24"}
    msg = fails("has room for 1 /24", ["a", "b"], "10.9.0.0/24")
    assert "2 hosts need one" in msg


def test_no_hosts_is_an_empty_plan():
    assert plan_subnets([], "10.0.0.0/16") == {}
    assert plan_subnets(None, "10.0.0.0/16") == {}
    assert plan_subnets(("a",), "10.0.0.0/16")["a"]["subnet"] == "10.0.0.0/24"


def test_returned_strings_are_plain_and_parse_back():
    plan = plan_subnets(["a"], "172.20.0.0/14", prefix=20)
    entry = plan["a"]
    assert entry == {"subnet": "172.20.0.0/20", "bip": "172.20.0.1/20", "gateway": "172.20.0.1", "source": "allocated"}
    assert ipaddress.ip_interface(entry["bip"]).network == ipaddress.ip_network(entry["subnet"])


# ---------------------------------------------------------------------------------------------
# determinism and stickiness


def test_same_input_same_plan_whatever_the_dict_order():
    hosts = ["h%d" % i for i in range(20)]
    existing = {"h3": "10.0.7.1/24", "h9": "10.0.2.1/24", "h1": "172.17.0.1/16"}
    overrides = {"h5": "10.0.0.0/24", "h0": "10.200.0.0/24"}
    one = plan_subnets(hosts, "10.0.0.0/16", existing=existing, overrides=overrides)
    two = plan_subnets(hosts, "10.0.0.0/16", existing=dict(reversed(list(existing.items()))),
                       overrides=dict(reversed(list(overrides.items()))))
    assert one == two
    assert list(one) == hosts


def test_rerun_with_the_applied_state_changes_nothing():
    hosts = ["h%d" % i for i in range(10)]
    first = plan_subnets(hosts, "10.0.0.0/16", overrides={"h4": "10.0.9.0/24"})
    again = plan_subnets(hosts, "10.0.0.0/16", overrides={"h4": "10.0.9.0/24"}, existing=as_existing(first))
    assert subnets(again) == subnets(first)
    assert sources(again) == dict(sources(first), **{h: "existing" for h in hosts if h != "h4"})


def test_removing_a_host_never_renumbers_the_others():
    hosts = ["h1", "h2", "h3", "h4"]
    first = plan_subnets(hosts, "10.0.0.0/16")
    left = ["h1", "h3", "h4"]
    after = plan_subnets(left, "10.0.0.0/16", existing={h: first[h]["bip"] for h in left})
    assert subnets(after) == {h: first[h]["subnet"] for h in left}
    assert set(sources(after).values()) == {"existing"}


def test_adding_a_host_anywhere_never_renumbers_the_others_and_reuses_a_freed_slot():
    first = plan_subnets(["h1", "h2", "h3"], "10.0.0.0/16")  # .0, .1, .2
    state = {h: first[h]["bip"] for h in ("h1", "h3")}  # h2 was removed: 10.0.1.0/24 is free
    after = plan_subnets(["new", "h1", "h3", "newer"], "10.0.0.0/16", existing=state)
    assert subnets(after) == {"new": "10.0.1.0/24", "h1": "10.0.0.0/24", "h3": "10.0.2.0/24", "newer": "10.0.3.0/24"}
    assert sources(after) == {"new": "allocated", "h1": "existing", "h3": "existing", "newer": "allocated"}


def test_without_existing_the_plan_is_positional():
    """Documented: no facts, no stickiness; still deterministic by position in hosts."""
    first = plan_subnets(["h1", "h2", "h3"], "10.0.0.0/16")
    after = plan_subnets(["h1", "h3"], "10.0.0.0/16")
    assert after["h1"] == first["h1"]
    assert after["h3"]["subnet"] == "10.0.1.0/24" != first["h3"]["subnet"]
    assert plan_subnets(["h1", "h3"], "10.0.0.0/16") == after


def test_existing_outside_the_pool_is_ignored():
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", existing={"a": "172.17.0.1/16", "b": "10.1.0.1/24"})
    assert subnets(plan) == {"a": "10.0.0.0/24", "b": "10.0.1.0/24"}
    assert set(sources(plan).values()) == {"allocated"}


def test_existing_with_another_prefix_is_replaced():
    """Decision: exactly /prefix is kept; changing prefix renumbers the hosts without an override."""
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", prefix=25, existing={"a": "10.0.0.1/24", "b": "10.0.5.1/23"})
    assert subnets(plan) == {"a": "10.0.0.0/25", "b": "10.0.0.128/25"}
    assert set(sources(plan).values()) == {"allocated"}


def test_existing_accepts_bip_subnet_and_default_bridge_facts():
    plan = plan_subnets(
        ["a", "b", "c", "d", "e", "f"], "10.0.0.0/16",
        existing={
            "a": "10.0.7.1/24",  # a bip
            "b": "10.0.8.0/24",  # a subnet
            "c": {"name": "docker0", "bip": "10.0.9.1/24", "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"},
            "d": {"name": "docker0", "bip": None, "subnet": "10.0.3.0/24", "gateway": "10.0.3.1"},
            "e": None,
            "f": " 10.0.4.1/24 ",
        })
    assert subnets(plan) == {"a": "10.0.7.0/24", "b": "10.0.8.0/24", "c": "10.0.9.0/24", "d": "10.0.3.0/24",
                             "e": "10.0.0.0/24", "f": "10.0.4.0/24"}
    assert sources(plan)["c"] == "existing" and sources(plan)["e"] == "allocated"


def test_kept_subnet_gets_the_first_address_as_bip():
    plan = plan_subnets(["a"], "10.0.0.0/16", existing={"a": "10.0.3.254/24"})
    assert plan["a"] == {"subnet": "10.0.3.0/24", "bip": "10.0.3.1/24", "gateway": "10.0.3.1", "source": "existing"}


def test_existing_ipv6_and_unknown_hosts_are_ignored():
    plan = plan_subnets(["a"], "10.0.0.0/16", existing={"a": "fd00::1/64", "gone": "10.0.0.1/24"})
    assert plan["a"] == {"subnet": "10.0.0.0/24", "bip": "10.0.0.1/24", "gateway": "10.0.0.1", "source": "allocated"}


def test_two_hosts_with_the_same_kept_subnet_fail():
    msg = fails(r"existing\[b\]: 10.0.3.0/24 is also the current subnet of a", ["a", "b"], "10.0.0.0/16",
                existing={"a": "10.0.3.1/24", "b": "10.0.3.1/24"})
    assert "override" in msg


@pytest.mark.parametrize("value, match", [
    ("nonsense/24", r"existing\[a\]: 'nonsense/24' is not an address with a prefix length"),
    ("10.0.3.300/24", r"existing\[a\]: '10.0.3.300/24' is not an address with a prefix length"),
    (5, r"existing\[a\]: expected the current bip or subnet like 10.0.3.1/24, got 5"),
    (["10.0.3.1/24"], r"existing\[a\]: expected the current bip or subnet"),
    ({"bip": "x"}, r"existing\[a\]: 'x' is not an address"),
])
def test_invalid_existing_fails(value, match):
    fails(match, ["a"], "10.0.0.0/16", existing={"a": value})


def test_existing_bare_address_is_a_32_and_not_kept():
    assert plan_subnets(["a"], "10.0.0.0/16", existing={"a": "10.0.3.1"})["a"]["source"] == "allocated"


def test_existing_must_be_a_dict():
    fails(r"existing: expected a dict", ["a"], "10.0.0.0/16", existing=["10.0.0.1/24"])


# ---------------------------------------------------------------------------------------------
# overrides


def test_override_wins_over_existing_and_frees_the_old_subnet():
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", existing={"a": "10.0.0.1/24"}, overrides={"a": "10.0.5.0/24"})
    assert subnets(plan) == {"a": "10.0.5.0/24", "b": "10.0.0.0/24"}
    assert sources(plan) == {"a": "override", "b": "allocated"}


def test_override_inside_the_pool_is_skipped_by_allocation():
    plan = plan_subnets(["a", "b", "c"], "10.0.0.0/16", overrides={"c": "10.0.0.0/23"})
    assert subnets(plan) == {"a": "10.0.2.0/24", "b": "10.0.3.0/24", "c": "10.0.0.0/23"}
    assert plan["c"]["bip"] == "10.0.0.1/23"


def test_override_smaller_than_a_slot_blocks_the_whole_slot():
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", overrides={"a": "10.0.0.128/25"})
    assert subnets(plan) == {"a": "10.0.0.128/25", "b": "10.0.1.0/24"}


def test_override_outside_the_pool_is_allowed_and_uses_no_slot():
    plan = plan_subnets(["a", "b"], "10.0.0.0/24", overrides={"a": "172.30.0.0/24"})
    assert subnets(plan) == {"a": "172.30.0.0/24", "b": "10.0.0.0/24"}


def test_override_containing_the_pool_overlaps_every_slot():
    msg = fails("pool: 10.0.0.0/23 has room for 2 /24 subnets, 2 of them taken", ["a", "b"], "10.0.0.0/23",
                overrides={"a": "10.0.0.0/22"})
    assert "1 more host needs one" in msg


def test_empty_override_values_are_ignored():
    plan = plan_subnets(["a"], "10.0.0.0/16", overrides={"a": None, "b": ""})
    assert plan["a"]["source"] == "allocated"


@pytest.mark.parametrize("value, match", [
    ("10.1.0.1/24", r"overrides\[a\]: '10.1.0.1/24' has host bits set: use the network address 10.1.0.0/24"),
    ("10.1.0.0", r"overrides\[a\]: '10.1.0.0' has no prefix length"),
    ("10.1.0.0/33", r"overrides\[a\]: '10.1.0.0/33' is not a valid CIDR"),
    ("bad", r"overrides\[a\]: 'bad' has no prefix length"),
    ("bad/24", r"overrides\[a\]: 'bad/24' is not a valid CIDR"),
    (24, r"overrides\[a\]: expected a CIDR like"),
    ("fd00::/64", r"overrides\[a\]: fd00::/64 is IPv6"),
    ("10.1.0.0/31", r"overrides\[a\]: 10.1.0.0/31 leaves no address"),
])
def test_invalid_override_fails(value, match):
    fails(match, ["a"], "10.0.0.0/16", overrides={"a": value})


def test_override_for_a_host_not_planned_fails():
    fails(r"overrides\[h9\]: h9 is not one of the hosts being planned", ["a"], "10.0.0.0/16",
          overrides={"h9": "10.0.1.0/24"})


@pytest.mark.parametrize("one, two", [
    ("10.0.1.0/24", "10.0.1.0/24"),
    ("10.0.0.0/23", "10.0.1.0/24"),
    ("10.0.1.128/25", "10.0.0.0/16"),
])
def test_overlapping_overrides_fail(one, two):
    msg = fails(r"overrides\[.\]: .* overlaps the override for . \(.*\): each host needs a subnet of its own",
                ["a", "b"], "10.0.0.0/16", overrides={"a": one, "b": two})
    assert one in msg and two in msg


def test_overlap_found_among_many_disjoint_overrides():
    overrides = {"h%d" % i: "10.%d.0.0/24" % i for i in range(200)}
    overrides["h150"] = "10.3.0.0/16"  # contains h3's 10.3.0.0/24
    fails(r"overrides\[h3\]: 10.3.0.0/24 overlaps the override for h150", list(overrides), "10.0.0.0/8",
          overrides=overrides)


def test_override_overlapping_reserved_fails():
    msg = fails(r"overrides\[b\]: 192.168.5.0/24 overlaps reserved 192.168.0.0/16 \(VPC/underlay\)",
                ["a", "b"], "10.0.0.0/16", overrides={"b": "192.168.5.0/24"}, reserved=["192.168.0.0/16"])
    assert "outside the reserved" in msg


def test_override_overlapping_another_hosts_kept_subnet_fails():
    msg = fails(r"overrides\[a\]: 10.0.3.0/24 overlaps 10.0.3.0/24, the current subnet of b", ["a", "b"],
                "10.0.0.0/16", existing={"b": "10.0.3.1/24"}, overrides={"a": "10.0.3.0/24"})
    assert "give b an override too" in msg


def test_override_may_take_a_subnet_whose_owner_moves_by_override_too():
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", existing={"b": "10.0.3.1/24"},
                        overrides={"a": "10.0.3.0/24", "b": "10.0.4.0/24"})
    assert subnets(plan) == {"a": "10.0.3.0/24", "b": "10.0.4.0/24"}


def test_override_over_a_current_subnet_outside_the_pool_is_fine():
    """b's 10.1.0.0/24 is outside the pool, so b is renumbered anyway: no clash to report."""
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", existing={"b": "10.1.0.1/24"}, overrides={"a": "10.1.0.0/24"})
    assert subnets(plan) == {"a": "10.1.0.0/24", "b": "10.0.0.0/24"}


def test_overrides_must_be_a_dict():
    fails(r"overrides: expected a dict", ["a"], "10.0.0.0/16", overrides="10.0.0.0/24")


# ---------------------------------------------------------------------------------------------
# pool, prefix, hosts, reserved


@pytest.mark.parametrize("pool, match", [
    ("10.0.0.1/16", r"pool: '10.0.0.1/16' has host bits set: use the network address 10.0.0.0/16"),
    ("10.0.0.0", r"pool: '10.0.0.0' has no prefix length: write it like 10.0.0.0/16"),
    ("10.0.0.0/40", r"pool: '10.0.0.0/40' is not a valid CIDR"),
    ("ten/8", r"pool: 'ten/8' is not a valid CIDR"),
    ("fd00::/48", r"pool: fd00::/48 is IPv6"),
    (None, r"pool: required"),
    ("", r"pool: required"),
    (167772160, r"pool: expected a CIDR like"),
])
def test_invalid_pool_fails(pool, match):
    fails(match, ["a"], pool)


def test_pool_too_small_says_how_many_fit_and_how_to_fix():
    msg = fails("pool", ["h%d" % i for i in range(5)], "10.0.0.0/22")
    assert msg == ("pool: 10.0.0.0/22 has room for 4 /24 subnets but 5 hosts need one: use a larger pool or a "
                   "longer prefix")


def test_pool_exactly_full_works():
    plan = plan_subnets(["h%d" % i for i in range(4)], "10.0.0.0/22")
    assert [e["subnet"] for e in plan.values()] == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]


def test_pool_too_small_counts_taken_slots():
    msg = fails("pool", ["a", "b", "c", "d"], "10.0.0.0/22", existing={"a": "10.0.2.1/24"},
                overrides={"b": "10.0.0.0/24"}, host_networks={"c": ["10.0.1.0/24"]})
    assert msg == ("pool: 10.0.0.0/22 has room for 4 /24 subnets, 3 of them taken (overrides, kept subnets, docker "
                   "networks), but 2 more hosts need one: use a larger pool or a longer prefix")


@pytest.mark.parametrize("prefix, match", [
    (31, r"prefix: /31 leaves no address for a container next to the bip: use 30 or less"),
    (32, r"prefix: /32 leaves no address"),
    (12, r"prefix: /12 is shorter than the pool's /16, so a host subnet does not fit in 10.0.0.0/16: use a prefix of "
         r"16 to 30 or a larger pool"),
    (True, r"prefix: expected a prefix length like 24"),
    ("x", r"prefix: expected a prefix length like 24"),
    (24.0, r"prefix: expected a prefix length like 24"),
    (None, r"prefix: expected a prefix length like 24"),
])
def test_invalid_prefix_fails(prefix, match):
    fails(match, ["a"], "10.0.0.0/16", prefix=prefix)


@pytest.mark.parametrize("hosts, match", [
    (["a", "b", "a"], r"hosts: a is listed twice"),
    ("a", r"hosts: expected a list of inventory host names"),
    ({"a": 1}, r"hosts: expected a list of inventory host names"),
    (5, r"hosts: expected a list of inventory host names"),
    (["a", 5], r"hosts: every entry must be a host name, got 5"),
    (["a", ""], r"hosts: every entry must be a host name"),
])
def test_invalid_hosts_fail(hosts, match):
    fails(match, hosts, "10.0.0.0/16")


@pytest.mark.parametrize("reserved", [["10.0.0.0/8"], ["10.0.200.0/24"], "10.0.5.7", ["192.168.0.0/16", "10.0.0.0/9"]])
def test_pool_overlapping_reserved_fails(reserved):
    msg = fails(r"pool: 10.0.0.0/16 overlaps reserved 10\.", ["a"], "10.0.0.0/16", reserved=reserved)
    assert "choose a pool outside the reserved (VPC/underlay) ranges" in msg


def test_reserved_accepts_one_string_host_bits_and_ignores_ipv6():
    plan = plan_subnets(["a"], "10.0.0.0/16", reserved="192.168.1.196/16")
    assert plan["a"]["subnet"] == "10.0.0.0/24"
    assert plan_subnets(["a"], "10.0.0.0/16", reserved=["fd00::/8", "192.168.0.0/16"]) == plan


@pytest.mark.parametrize("reserved, match", [
    (["nope"], r"reserved: 'nope' is not a valid CIDR"),
    ([None], r"reserved: expected a CIDR like"),
    ({"a": "192.168.0.0/16"}, r"reserved: expected a list of CIDRs"),
    (5, r"reserved: expected a list of CIDRs"),
])
def test_invalid_reserved_fails(reserved, match):
    fails(match, ["a"], "10.0.0.0/16", reserved=reserved)


# ---------------------------------------------------------------------------------------------
# docker networks on the hosts


def network(name, *subnets, driver="bridge"):
    """A network as docker_host_info returns it."""
    return {"name": name, "id": "x" * 64, "driver": driver, "scope": "local", "internal": False, "attachable": False,
            "subnets": [{"subnet": s, "gateway": None, "ip_range": None, "aux_addresses": {}} for s in subnets],
            "parent": None, "options": {}}


def test_allocation_skips_a_docker_network_on_the_same_host():
    plan = plan_subnets(["a"], "10.0.0.0/16", host_networks={"a": ["10.0.0.0/24", "10.0.1.128/25"]})
    assert plan["a"]["subnet"] == "10.0.2.0/24"


def test_allocation_skips_docker_networks_on_other_planned_hosts():
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", host_networks={"b": [network("app", "10.0.0.0/23")]})
    assert subnets(plan) == {"a": "10.0.2.0/24", "b": "10.0.3.0/24"}


def test_networks_of_hosts_not_planned_and_ipv6_networks_are_ignored():
    plan = plan_subnets(["a"], "10.0.0.0/16",
                        host_networks={"gone": ["10.0.0.0/24"], "a": [network("v6", "fd00:1::/64")]})
    assert plan["a"]["subnet"] == "10.0.0.0/24"


def test_default_bridge_is_ignored_by_name_and_by_the_existing_value():
    bridge = network("bridge", "10.0.0.0/24")
    plan = plan_subnets(["a", "b"], "10.0.0.0/16", existing={"a": "10.0.0.1/24", "b": "10.0.1.1/24"},
                        host_networks={"a": [bridge, network("host"), network("none", driver="null")],
                                       "b": ["10.0.1.0/24"]})
    assert subnets(plan) == {"a": "10.0.0.0/24", "b": "10.0.1.0/24"}
    assert set(sources(plan).values()) == {"existing"}


def test_rerun_with_docker_host_info_facts_keeps_everything():
    hosts = ["h1", "h2", "h3"]
    first = plan_subnets(hosts, "10.0.0.0/16", overrides={"h2": "10.9.0.0/24"})
    facts = {h: {"default_bridge": {"name": "docker0", "bip": first[h]["bip"], "subnet": first[h]["subnet"],
                                    "gateway": first[h]["gateway"]},
                 "networks": [network("bridge", first[h]["subnet"]), network("host"), network("none", driver="null")]}
             for h in hosts}
    again = plan_subnets(hosts, "10.0.0.0/16", overrides={"h2": "10.9.0.0/24"},
                         existing={h: facts[h]["default_bridge"] for h in hosts},
                         host_networks={h: facts[h]["networks"] for h in hosts})
    assert subnets(again) == subnets(first)


def test_a_network_larger_than_a_slot_blocks_all_its_slots():
    plan = plan_subnets(["a"], "10.0.0.0/16", host_networks={"a": [network("big", "10.0.0.0/20")]})
    assert plan["a"]["subnet"] == "10.0.16.0/24"


def test_a_network_containing_the_pool_leaves_no_room():
    fails(r"pool: 10.0.0.0/16 has room for 256 /24 subnets, 256 of them taken", ["a"], "10.0.0.0/16",
          host_networks={"a": ["10.0.0.0/8"]})


def test_override_overlapping_a_network_on_the_same_host_fails_like_docker_would():
    msg = fails(r"overrides\[a\]: 10.0.5.0/24 overlaps docker network 'app' \(10.0.5.0/26\) on a: Docker would "
                r"refuse the bip \('Pool overlaps with other one on this address space'\)",
                ["a"], "10.0.0.0/16", overrides={"a": "10.0.5.0/24"}, host_networks={"a": [network("app", "10.0.5.0/26")]})
    assert "choose another subnet or remove that network" in msg


def test_override_overlapping_a_network_on_another_host_fails():
    msg = fails(r"overrides\[a\]: 172.30.0.0/24 overlaps docker network 172.30.0.0/16 on b: b would deliver traffic "
                r"for a's containers to that local network", ["a", "b"], "10.0.0.0/16",
                overrides={"a": "172.30.0.0/24"}, host_networks={"b": ["172.30.0.0/16"]})
    assert "remove that network" in msg


def test_kept_subnet_overlapping_a_docker_network_fails():
    msg = fails(r"existing\[a\]: the current subnet 10.0.3.0/24 \(kept: it lies in the pool\) overlaps docker network "
                r"'app' \(10.0.3.0/24\) on a: Docker would refuse the bip", ["a"], "10.0.0.0/16",
                existing={"a": {"bip": "10.0.3.1/24", "subnet": "172.17.0.0/16"}},
                host_networks={"a": [network("bridge", "172.17.0.0/16"), network("app", "10.0.3.0/24")]})
    assert "give a an override" in msg
    fails(r"existing\[a\]: the current subnet 10.0.3.0/24 .* on b: b would deliver", ["a", "b"], "10.0.0.0/16",
          existing={"a": "10.0.3.1/24"}, host_networks={"b": [network("app", "10.0.0.0/20")]})


@pytest.mark.parametrize("value, match", [
    ("10.0.0.0/24", r"host_networks\[a\]: expected a list"),
    ({"name": "app"}, r"host_networks\[a\]: expected a list"),
    (["garbage"], r"host_networks\[a\]: 'garbage' is not a valid CIDR"),
    ([{"name": "app"}], r"host_networks\[a\]: .* has neither 'subnet' nor 'subnets'"),
    ([5], r"host_networks\[a\]: expected a CIDR like"),
])
def test_invalid_host_networks_fail(value, match):
    fails(match, ["a"], "10.0.0.0/16", host_networks={"a": value})


def test_host_networks_accepts_ipam_dicts_and_empty_values():
    plan = plan_subnets(["a", "b"], "10.0.0.0/16",
                        host_networks={"a": [{"subnet": "10.0.0.0/24"}, {"subnet": None}, None, ""], "b": None})
    assert subnets(plan) == {"a": "10.0.1.0/24", "b": "10.0.2.0/24"}
    fails(r"host_networks: expected a dict", ["a"], "10.0.0.0/16", host_networks=["10.0.0.0/24"])


# ---------------------------------------------------------------------------------------------
# providers and ranges that are never usable


@pytest.mark.parametrize("pool", ["100.64.0.0/16", "100.127.255.0/24", "100.0.0.0/8"])
def test_alicloud_refuses_a_pool_in_100_64(pool):
    msg = fails(r"pool: %s overlaps 100.64.0.0/10 \(Alibaba Cloud reserves 100.64.0.0/10" % re.escape(pool),
                ["a"], pool, prefix=24, provider="alicloud")
    assert "choose a pool outside it" in msg


def test_alicloud_refuses_an_override_in_100_64():
    fails(r"overrides\[a\]: 100.100.0.0/24 overlaps 100.64.0.0/10 \(Alibaba Cloud", ["a"], "10.0.0.0/16",
          overrides={"a": "100.100.0.0/24"}, provider="AliCloud")


def test_100_64_is_fine_elsewhere():
    for provider in (None, "linux", "aws"):
        assert plan_subnets(["a"], "100.64.0.0/16", provider=provider)["a"]["subnet"] == "100.64.0.0/24"


@pytest.mark.parametrize("provider", [None, "linux", "aws", "alicloud"])
@pytest.mark.parametrize("pool, why", [
    ("169.254.0.0/16", "link-local"),
    ("127.0.0.0/16", "loopback"),
    ("224.1.0.0/16", "multicast"),
    ("240.0.0.0/16", "reserved"),
    ("0.0.0.0/16", "this network"),
    ("0.0.0.0/0", "this network"),
])
def test_never_usable_ranges_are_refused_for_every_provider(provider, pool, why):
    msg = fails(r"pool: %s overlaps " % re.escape(pool), ["a"], pool, prefix=24, provider=provider)
    assert why in msg


def test_link_local_override_is_refused():
    fails(r"overrides\[a\]: 169.254.169.0/24 overlaps 169.254.0.0/16 \(link-local", ["a"], "10.0.0.0/16",
          overrides={"a": "169.254.169.0/24"}, provider="aws")


def test_unknown_provider_fails():
    fails(r"provider: 'azure' is not one of linux, aws, alicloud", ["a"], "10.0.0.0/16", provider="azure")
    assert plan_subnets(["a"], "10.0.0.0/16", provider="") == plan_subnets(["a"], "10.0.0.0/16")


# ---------------------------------------------------------------------------------------------
# size


def test_thousands_of_hosts_in_a_large_pool_get_distinct_subnets_inside_it():
    hosts = ["node-%04d" % i for i in range(5000)]
    pool = ipaddress.ip_network("10.0.0.0/8")
    plan = plan_subnets(hosts, str(pool), prefix=24, reserved=["192.168.0.0/16"])
    nets = [ipaddress.ip_network(e["subnet"]) for e in plan.values()]
    assert len(set(nets)) == 5000
    assert all(n.subnet_of(pool) and n.prefixlen == 24 for n in nets)
    assert plan["node-4999"]["subnet"] == "10.19.135.0/24"  # 4999 = 19 * 256 + 135


def test_tiny_slots_in_a_huge_pool():
    """A /8 of /30s is 4 million slots: nothing may be built per slot."""
    hosts = ["h%d" % i for i in range(1000)]
    plan = plan_subnets(hosts, "10.0.0.0/8", prefix=30, existing={"h0": "10.255.255.253/30"},
                        host_networks={"h1": ["10.0.0.0/9"]})
    assert plan["h0"]["subnet"] == "10.255.255.252/30"
    assert plan["h1"]["subnet"] == "10.128.0.0/30" and plan["h999"]["subnet"] == "10.128.15.152/30"


def test_sticky_hosts_scattered_in_a_big_cluster():
    hosts = ["h%d" % i for i in range(1000)]
    first = plan_subnets(hosts, "10.0.0.0/12")
    kept = hosts[::3]
    grown = kept + ["new%d" % i for i in range(500)]
    after = plan_subnets(grown, "10.0.0.0/12", existing={h: first[h]["bip"] for h in kept})
    assert all(after[h]["subnet"] == first[h]["subnet"] for h in kept)
    new = [ipaddress.ip_network(after["new%d" % i]["subnet"]) for i in range(500)]
    assert len(set(new) | {ipaddress.ip_network(first[h]["subnet"]) for h in kept}) == 500 + len(kept)
    assert str(new[0]) == first["h1"]["subnet"]  # the lowest freed slot first


def test_hosts_in_pool_keeps_the_cluster_members_only():
    from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import hosts_in_pool
    existing = {"h1": "10.0.0.1/24", "h2": {"bip": None, "subnet": "172.17.0.0/16"}, "h3": "192.168.9.1/24",
                "h4": {"bip": "10.0.7.1/24"}, "h5": None}
    assert hosts_in_pool(existing, "10.0.0.0/16") == ["h1", "h4"]
    assert hosts_in_pool(existing, "10.0.0.0/16", {"h3": "192.168.9.0/24"}) == ["h1", "h3", "h4"]
    assert hosts_in_pool({}, "10.0.0.0/16") == []
    with pytest.raises(SubnetPlanError, match="pool"):
        hosts_in_pool(existing, "10.0.0.1/16")
