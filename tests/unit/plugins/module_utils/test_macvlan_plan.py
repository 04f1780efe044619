# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plan_ranges, check_static_ip and check_networks: slices, stickiness, Docker's IPAM, every error."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._macvlan_plan import (
    MacvlanPlanError,
    check_networks,
    check_static_ip,
    plan_ranges,
)
from ansible_collections.crosshost.docker.tests.unit import helpers

SUBNET = "192.168.2.0/24"

ranges = helpers.per_host("ip_range")
sources = helpers.per_host("source")
fails = helpers.failure(plan_ranges, MacvlanPlanError)


class DockerIPAM(object):
    """Docker's default IPAM for one network on one host, as in moby's libnetwork/ipam.

    The subnet's network and broadcast addresses, the gateway and the auxiliary addresses are reserved
    when the network is created; containers without --ip get an address of the ip_range (all of it),
    either the lowest free one or, ``serial`` (what libnetwork asks for), the next free one after the
    last one handed out, wrapping around. A static address is only checked against the subnet.
    """

    def __init__(self, entry, serial=False):
        self.subnet = ipaddress.ip_network(entry["subnet"])
        self.range = ipaddress.ip_network(entry["ip_range"])
        self.used = {self.subnet.network_address, self.subnet.broadcast_address,
                     ipaddress.ip_address(entry["gateway"])}
        self.used.update(ipaddress.ip_address(a) for a in entry["aux_addresses"].values())
        self.serial = serial
        self.last = None

    def run(self, ip=None):
        if ip is not None:
            address = ipaddress.ip_address(ip)
            assert address in self.subnet and address not in self.used, "Address already in use"
            self.used.add(address)
            return address
        candidates = list(self.range)
        if self.serial and self.last is not None:
            i = candidates.index(self.last) + 1
            candidates = candidates[i:] + candidates[:i]
        for address in candidates:
            if address not in self.used:
                self.used.add(address)
                self.last = address
                return address
        raise AssertionError("no available IPv4 addresses on this network's address pools")

    def stop(self, address):
        self.used.discard(address)


# ---------------------------------------------------------------------------------------------
# shape, defaults and allocation


def test_three_hosts_in_a_free_24_get_27_slices_in_host_order():
    plan = plan_ranges(["h1", "h2", "h3"], SUBNET)
    assert list(plan) == ["h1", "h2", "h3"]
    assert plan["h1"] == {"ip_range": "192.168.2.0/27", "first": "192.168.2.2", "last": "192.168.2.31", "size": 30,
                          "source": "allocated", "subnet": SUBNET, "gateway": "192.168.2.1", "aux_addresses": {}}
    assert plan["h2"] == {"ip_range": "192.168.2.32/27", "first": "192.168.2.32", "last": "192.168.2.63", "size": 32,
                          "source": "allocated", "subnet": SUBNET, "gateway": "192.168.2.1", "aux_addresses": {}}
    assert plan["h3"]["ip_range"] == "192.168.2.64/27"


@pytest.mark.parametrize("count, prefix", [(1, 25), (2, 26), (3, 27), (4, 27), (5, 28), (8, 28), (9, 29),
                                           (16, 29), (17, 30), (32, 30), (33, 30), (64, 30)])
def test_default_slice_leaves_room_for_twice_the_hosts_else_the_largest_that_fits(count, prefix):
    plan = plan_ranges(["h%d" % i for i in range(count)], SUBNET)
    assert {int(e["ip_range"].split("/")[1]) for e in plan.values()} == {prefix}


def test_a_subnet_larger_than_a_24_gets_at_most_24_slices_by_default():
    plan = plan_ranges(["a", "b"], "10.20.0.0/16")
    assert ranges(plan) == {"a": "10.20.0.0/24", "b": "10.20.1.0/24"}
    assert plan["a"]["size"] == 254 and plan["b"]["size"] == 256


def test_a_single_host_in_a_small_subnet_may_get_the_whole_subnet():
    assert ranges(plan_ranges(["a"], "192.168.2.0/30")) == {"a": "192.168.2.0/30"}
    plan = plan_ranges(["a"], SUBNET, range_prefix=24)
    assert plan["a"] == dict(plan["a"], ip_range=SUBNET, first="192.168.2.2", last="192.168.2.254", size=253)


def test_explicit_range_prefix_as_int_or_string():
    assert ranges(plan_ranges(["a", "b"], SUBNET, range_prefix=28)) == {"a": "192.168.2.0/28", "b": "192.168.2.16/28"}
    assert plan_ranges(["a", "b"], SUBNET, range_prefix="/28") == plan_ranges(["a", "b"], SUBNET, range_prefix=28)
    assert plan_ranges(["a"], SUBNET, range_prefix=" ") == plan_ranges(["a"], SUBNET)


def test_first_last_size_count_what_docker_hands_out():
    plan = plan_ranges(["h%d" % i for i in range(16)], SUBNET, range_prefix=28)
    assert (plan["h0"]["first"], plan["h0"]["last"], plan["h0"]["size"]) == ("192.168.2.2", "192.168.2.15", 14)
    assert (plan["h4"]["first"], plan["h4"]["last"], plan["h4"]["size"]) == ("192.168.2.64", "192.168.2.79", 16)
    assert (plan["h15"]["first"], plan["h15"]["last"], plan["h15"]["size"]) == ("192.168.2.240", "192.168.2.254", 15)


def test_gateway_and_aux_inside_a_slice_are_allowed_and_not_counted():
    plan = plan_ranges(["a", "b"], SUBNET, gateway="192.168.2.20", range_prefix=28,
                       aux_addresses={"shim": "192.168.2.17", "low": "192.168.2.16"})
    assert plan["b"]["ip_range"] == "192.168.2.16/28"
    assert (plan["b"]["first"], plan["b"]["last"], plan["b"]["size"]) == ("192.168.2.18", "192.168.2.31", 13)
    assert plan["a"]["size"] == 15  # only the network address
    assert plan["a"]["aux_addresses"] == plan["b"]["aux_addresses"] == {"low": "192.168.2.16",
                                                                        "shim": "192.168.2.17"}
    assert plan["a"]["gateway"] == "192.168.2.20"


def test_a_block_docker_could_hand_nothing_out_of_is_skipped():
    plan = plan_ranges(["a"], SUBNET, range_prefix=30, aux_addresses={"x": "192.168.2.2", "y": "192.168.2.3"})
    assert plan["a"]["ip_range"] == "192.168.2.4/30"


def test_reserved_addresses_and_ranges_are_never_in_a_slice():
    plan = plan_ranges(["a", "b", "c"], SUBNET, range_prefix=27,
                       reserved=["192.168.2.5", "192.168.2.64/26", "10.0.0.0/8", "fd00::/64", " 192.168.2.250 "])
    assert ranges(plan) == {"a": "192.168.2.32/27", "b": "192.168.2.128/27", "c": "192.168.2.160/27"}


def test_reserved_as_a_single_string():
    assert plan_ranges(["a"], SUBNET, range_prefix=25, reserved="192.168.2.0/25")["a"]["ip_range"] == "192.168.2.128/25"


def test_default_slice_size_accounts_for_reserved_space():
    # half the /24 is a DHCP pool: 2 hosts need 4 free slots -> /27 (the /26 level has only 2 free)
    plan = plan_ranges(["a", "b"], SUBNET, reserved=["192.168.2.128/25"])
    assert ranges(plan) == {"a": "192.168.2.0/27", "b": "192.168.2.32/27"}


def test_plan_depends_on_host_order_only():
    a = plan_ranges(["x", "y", "z"], SUBNET, overrides={"z": "192.168.2.0/27"}, existing={"y": "192.168.2.96/27"},
                    reserved=["192.168.2.40"], aux_addresses={"b": "192.168.2.99", "a": "192.168.2.98"})
    b = plan_ranges(["x", "y", "z"], SUBNET, overrides={"z": "192.168.2.0/27"}, existing={"y": "192.168.2.96/27"},
                    reserved=["192.168.2.40"], aux_addresses={"a": "192.168.2.98", "b": "192.168.2.99"})
    assert a == b
    assert ranges(a) == {"x": "192.168.2.64/27", "y": "192.168.2.96/27", "z": "192.168.2.0/27"}
    assert list(a["x"]["aux_addresses"]) == ["a", "b"]


def test_no_hosts_is_an_empty_plan():
    assert plan_ranges([], SUBNET) == {}
    assert plan_ranges(None, SUBNET) == {}


# ---------------------------------------------------------------------------------------------
# stickiness and overrides


def test_adding_a_host_never_moves_another_slice():
    first = plan_ranges(["h1", "h2", "h3"], SUBNET)
    current = {h: e["ip_range"] for h, e in first.items()}
    second = plan_ranges(["h1", "h2", "h3", "h4", "h5", "h6", "h7"], SUBNET, existing=current)
    for host in current:
        assert second[host]["ip_range"] == current[host] and second[host]["source"] == "existing"
    assert ranges(second)["h4"] == "192.168.2.96/27"
    assert len({e["ip_range"] for e in second.values()}) == 7


def test_removing_a_host_frees_its_slice_and_moves_nobody():
    first = plan_ranges(["h1", "h2", "h3"], SUBNET)
    current = {h: e["ip_range"] for h, e in first.items()}
    second = plan_ranges(["h1", "h3", "h4"], SUBNET, existing=current)
    assert ranges(second) == {"h1": current["h1"], "h3": current["h3"], "h4": current["h2"]}
    assert sources(second) == {"h1": "existing", "h3": "existing", "h4": "allocated"}


def test_new_hosts_follow_the_kept_length_not_the_first_run_default():
    current = {"h1": "192.168.2.0/26", "h2": "192.168.2.64/26"}
    plan = plan_ranges(["h1", "h2", "h3"], SUBNET, existing=current)
    assert ranges(plan) == dict(current, h3="192.168.2.128/26")
    mixed = plan_ranges(["h1", "h2", "h3"], SUBNET, existing={"h1": "192.168.2.0/25", "h2": "192.168.2.128/28"})
    assert ranges(mixed)["h3"] == "192.168.2.144/28"


def test_kept_ranges_fill_the_subnet_then_the_error_says_how_to_grow():
    current = {"h%d" % i: "192.168.2.%d/26" % (64 * i) for i in range(4)}
    msg = fails("192.168.2.0/24 has room for 4 /26 ranges, 0 of them free", sorted(current) + ["h9"], SUBNET,
                existing=current)
    assert "set range_prefix longer than /26" in msg and "overrides" in msg
    # the new host, the hosts that keep their ranges, and every way out are named
    assert "1 host needs one (h9): no free block of any size (down to /30) is left for it" in msg
    assert "since h0, h1, h2, h3 keep 192.168.2.0/26, 192.168.2.64/26, 192.168.2.128/26, 192.168.2.192/26" in msg
    assert "macvlan_state=absent" in msg and "larger subnet" in msg


# ---------------------------------------------------------------------------------------------
# day 2: adding hosts to kept slices, sized from the free space


def test_a_new_host_gets_a_smaller_block_when_the_kept_length_is_full():
    current = {"h1": "192.168.2.0/26", "h2": "192.168.2.64/26", "h3": "192.168.2.128/26"}
    plan = plan_ranges(["h1", "h2", "h3", "h4"], SUBNET, existing=current, reserved=["192.168.2.200"])
    assert ranges(plan) == dict(current, h4="192.168.2.224/27")
    assert sources(plan) == {"h1": "existing", "h2": "existing", "h3": "existing", "h4": "allocated"}
    assert plan["h4"]["size"] == 31  # .255 is the subnet's broadcast address


def test_several_new_hosts_share_one_length_that_fits_them_all():
    current = {"h1": "192.168.2.0/26", "h2": "192.168.2.64/26", "h3": "192.168.2.128/26"}
    plan = plan_ranges(["h1", "h2", "h3", "h4", "h5", "h6"], SUBNET, existing=current)
    assert ranges(plan) == dict(current, h4="192.168.2.192/28", h5="192.168.2.208/28", h6="192.168.2.224/28")


def test_the_kept_length_wins_while_blocks_of_it_are_free():
    current = {"h1": "192.168.2.0/26", "h3": "192.168.2.128/26"}  # h2 was retired: .64/26 is free again
    plan = plan_ranges(["h1", "h3", "h4", "h5"], SUBNET, existing=current)
    assert ranges(plan) == dict(current, h4="192.168.2.64/26", h5="192.168.2.192/26")


def test_a_new_host_fits_in_the_last_30_then_the_next_one_fails():
    current = {"h1": "192.168.2.0/25", "h2": "192.168.2.128/26", "h3": "192.168.2.192/27",
               "h4": "192.168.2.224/28", "h5": "192.168.2.240/29", "h6": "192.168.2.248/30"}
    plan = plan_ranges(["h1", "h2", "h3", "h4", "h5", "h6", "h7"], SUBNET, existing=current)
    assert ranges(plan)["h7"] == "192.168.2.252/30" and plan["h7"]["size"] == 3
    current["h7"] = "192.168.2.252/30"
    msg = fails("has room for 64 /30 ranges, 0 of them free .current ranges., but 1 host needs one .h8.",
                sorted(current) + ["h8"], SUBNET, existing=current)
    assert "retiring a host" in msg


def test_an_explicit_range_prefix_never_shrinks_for_new_hosts():
    current = {"h1": "192.168.2.0/26", "h2": "192.168.2.64/26", "h3": "192.168.2.128/26", "h4": "192.168.2.192/26"}
    fails("room for 4 /26 ranges, 0 of them free .current ranges., but 1 host needs one: use a longer range_prefix",
          ["h1", "h2", "h3", "h4", "h5"], SUBNET, existing=current, range_prefix=26)


def test_overrides_and_reserved_space_count_as_taken_when_sizing_new_hosts():
    current = {"h1": "192.168.2.0/26", "h2": "192.168.2.64/26"}
    plan = plan_ranges(["h1", "h2", "h3", "h4"], SUBNET, existing=current, overrides={"h3": "192.168.2.128/26"},
                       reserved=["192.168.2.192/27"])
    assert ranges(plan)["h4"] == "192.168.2.224/27"


def _check_disjoint(plan, subnet):
    nets = [ipaddress.ip_network(e["ip_range"]) for e in plan.values()]
    for a, b in itertools.combinations(nets, 2):
        assert not a.overlaps(b), (a, b)
    assert all(n.subnet_of(ipaddress.ip_network(subnet)) for n in nets)


@pytest.mark.parametrize("subnet", ["192.168.2.0/24", "192.168.2.0/26", "10.1.0.0/22"])
@pytest.mark.parametrize("first", [1, 2, 3, 5])
def test_growing_one_host_at_a_time_never_moves_a_slice_until_the_subnet_is_full(subnet, first):
    """Converge `first` hosts, then add one host per run (existing read back from the previous run) until the
    subnet is full: no kept slice ever moves, no two slices overlap, and the last run fails with the way out."""
    hosts = ["h%d" % i for i in range(1, first + 1)]
    current = {h: e["ip_range"] for h, e in plan_ranges(hosts, subnet).items()}
    for n in range(first + 1, 200):
        hosts = hosts + ["h%d" % n]
        try:
            plan = plan_ranges(hosts, subnet, existing=current)
        except MacvlanPlanError as err:
            assert "no free block of any size" in str(err) and "h%d" % n in str(err)
            total = sum(ipaddress.ip_network(r).num_addresses for r in current.values())
            assert total == ipaddress.ip_network(subnet).num_addresses  # really full
            break
        _check_disjoint(plan, subnet)
        for host, old in current.items():
            assert plan[host]["ip_range"] == old and plan[host]["source"] == "existing"
        assert plan[hosts[-1]]["source"] == "allocated" and plan[hosts[-1]]["size"] >= 1
        current = {h: e["ip_range"] for h, e in plan.items()}
    else:
        raise AssertionError("the subnet never filled up")


@pytest.mark.parametrize("retire", [["h1"], ["h2"], ["h3"], ["h1", "h3"], ["h2", "h3"]])
def test_retiring_hosts_frees_their_slices_for_new_hosts_and_moves_nobody(retire):
    hosts = ["h1", "h2", "h3"]
    current = {h: e["ip_range"] for h, e in plan_ranges(hosts, SUBNET).items()}
    staying = [h for h in hosts if h not in retire]
    # the retired hosts' networks are gone: only the staying hosts' ranges are read back
    plan = plan_ranges(staying, SUBNET, existing={h: current[h] for h in staying})
    assert ranges(plan) == {h: current[h] for h in staying}
    new = ["n%d" % i for i in range(len(retire))]
    plan = plan_ranges(staying + new, SUBNET, existing={h: current[h] for h in staying})
    assert [plan[h]["ip_range"] for h in new] == sorted((current[h] for h in retire), key=ipaddress.ip_network)
    _check_disjoint(plan, SUBNET)


def test_a_host_outside_the_run_must_be_planned_or_its_slice_is_handed_out_again():
    """Why the role reads every host's networks (also those outside --limit): a host left out of `hosts`
    is treated as retired, and its slice is free for the next new host."""
    current = {"h1": "192.168.2.0/26", "h2": "192.168.2.64/26"}
    limited = plan_ranges(["h3"], SUBNET, existing={})
    assert ranges(limited) == {"h3": "192.168.2.0/25"}  # overlaps h1's and h2's: the role must not do this
    whole = plan_ranges(["h1", "h2", "h3"], SUBNET, existing=current)
    assert ranges(whole)["h3"] == "192.168.2.128/26"


@pytest.mark.parametrize("order", list(itertools.permutations(["h1", "h2", "h3"])))
def test_kept_slices_do_not_depend_on_host_order(order):
    current = {"h1": "192.168.2.128/26", "h2": "192.168.2.0/26", "h3": "192.168.2.64/27"}
    plan = plan_ranges(list(order) + ["h4"], SUBNET, existing=current)
    assert {h: plan[h]["ip_range"] for h in current} == current
    assert plan["h4"]["ip_range"] == "192.168.2.96/27"


def test_explicit_range_prefix_renumbers_ranges_of_another_length():
    current = {"h1": "192.168.2.64/26", "h2": "192.168.2.32/28"}
    plan = plan_ranges(["h1", "h2"], SUBNET, range_prefix=28, existing=current)
    assert ranges(plan) == {"h1": "192.168.2.0/28", "h2": "192.168.2.32/28"}
    assert sources(plan) == {"h1": "allocated", "h2": "existing"}


def test_existing_from_docker_host_info_network_dicts():
    net = {"name": "mac_net1", "driver": "macvlan", "parent": "eth1",
           "subnets": [{"subnet": "fd00::/64", "ip_range": None, "gateway": None, "aux_addresses": {}},
                       {"subnet": SUBNET, "gateway": "192.168.2.1", "ip_range": "192.168.2.96/27",
                        "aux_addresses": {}}]}
    seed = {"name": "mac_net1", "driver": "macvlan", "parent": "eth1",
            "subnets": [{"subnet": SUBNET, "gateway": "192.168.2.1", "ip_range": None, "aux_addresses": {}}]}
    other_subnet = {"name": "mac_net1", "subnets": [{"subnet": "172.21.0.0/24", "ip_range": "172.21.0.0/25"}]}
    plan = plan_ranges(["h1", "h2", "h3", "h4"], SUBNET, existing={
        "h1": net, "h2": seed, "h3": other_subnet, "h4": {"subnet": SUBNET, "ip_range": "192.168.2.33/27"}})
    assert ranges(plan) == {"h1": "192.168.2.96/27", "h2": "192.168.2.0/27", "h3": "192.168.2.64/27",
                            "h4": "192.168.2.32/27"}
    assert sources(plan) == {"h1": "existing", "h2": "allocated", "h3": "allocated", "h4": "existing"}


@pytest.mark.parametrize("value", [None, "", {}, {"subnets": []}, {"subnets": None}, {"ip_range": None},
                                   "10.0.0.0/24", "fd00::/120", "192.168.2.0/31", "192.168.0.0/16"])
def test_existing_values_that_are_not_kept(value):
    plan = plan_ranges(["h1"], SUBNET, existing={"h1": value})
    assert plan["h1"]["source"] == "allocated"


def test_existing_subnets_entry_without_subnet_and_host_bits_are_taken_as_docker_does():
    plan = plan_ranges(["h1", "h2"], SUBNET, existing={"h1": {"ip_range": "192.168.2.64/27"},
                                                       "h2": "192.168.2.97/27"})
    assert ranges(plan) == {"h1": "192.168.2.64/27", "h2": "192.168.2.96/27"}
    assert sources(plan) == {"h1": "existing", "h2": "existing"}


def test_existing_ignores_hosts_not_planned_and_hosts_with_overrides():
    plan = plan_ranges(["a", "b"], SUBNET, existing={"gone": "192.168.2.0/27", "b": "192.168.2.0/27"},
                       overrides={"b": "192.168.2.224/27"})
    assert ranges(plan) == {"a": "192.168.2.0/26", "b": "192.168.2.224/27"}  # room for 2: /26, not the /25
    assert sources(plan) == {"a": "allocated", "b": "override"}


def test_overrides_win_and_allocation_skips_them():
    plan = plan_ranges(["a", "b", "c"], SUBNET, range_prefix=27,
                       overrides={"a": "192.168.2.32/27", "c": "192.168.2.192/26", "b": ""})
    assert ranges(plan) == {"a": "192.168.2.32/27", "b": "192.168.2.0/27", "c": "192.168.2.192/26"}
    default = plan_ranges(["a", "b", "c"], SUBNET, overrides={"a": "192.168.2.32/27", "c": "192.168.2.192/26"})
    assert ranges(default)["b"] == "192.168.2.64/26"  # the first free /26 (room for 2 there)
    assert plan["c"]["size"] == 63


def test_the_seeds_collision_is_explained():
    msg = fails("existing\\[h2\\]: the current ip_range 192.168.2.0/25 overlaps h1's current ip_range "
                "192.168.2.0/24", ["h1", "h2"], SUBNET, existing={"h1": SUBNET, "h2": "192.168.2.0/25"})
    assert "same addresses" in msg and "override" in msg


def test_a_kept_range_holding_a_reserved_address_is_not_given_up_silently():
    msg = fails("existing\\[h2\\]: the current ip_range 192.168.2.64/27 contains reserved 192.168.2.70",
                ["h1", "h2"], SUBNET, existing={"h2": "192.168.2.64/27"}, reserved=["192.168.2.70"])
    assert "override" in msg


def test_an_override_over_another_hosts_kept_range():
    fails("overrides\\[h1\\]: 192.168.2.64/26 overlaps 192.168.2.64/27, the current ip_range of h2",
          ["h1", "h2"], SUBNET, existing={"h2": "192.168.2.64/27"}, overrides={"h1": "192.168.2.64/26"})


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("kwargs, match", [
    ({"subnet": None}, "subnet: required"),
    ({"subnet": "192.168.2.0"}, "no prefix length"),
    ({"subnet": "192.168.2.1/24"}, "host bits set: use the network address 192.168.2.0/24"),
    ({"subnet": "192.168.2.0/33"}, "not a valid CIDR"),
    ({"subnet": "fd00::/64"}, "IPv6"),
    ({"subnet": "192.168.2.0/31"}, "/30 or shorter"),
    ({"subnet": 24}, "expected a CIDR"),
    ({"gateway": "192.168.3.1"}, "gateway: 192.168.3.1 is outside the subnet 192.168.2.0/24"),
    ({"gateway": "192.168.2.0"}, "network address"),
    ({"gateway": "192.168.2.255"}, "broadcast address"),
    ({"gateway": "192.168.2.1/24"}, "not an IP address"),
    ({"range_prefix": 31}, "range_prefix: /31"),
    ({"range_prefix": 23}, "shorter than the subnet's /24"),
    ({"range_prefix": True}, "expected a prefix length"),
    ({"range_prefix": "x"}, "expected a prefix length"),
    ({"range_prefix": 30, "subnet": "192.168.2.0/29"}, "has room for 2 /30 ranges, 2 of them free .nothing taken., "
                                                       "but 3 hosts need one: use a larger subnet"),
    ({"range_prefix": 26, "reserved": ["192.168.2.0/25"]}, "room for 4 /26 ranges, 2 of them free .reserved"),
    ({"aux_addresses": {"x": "10.0.0.1"}}, "must belong to the master pool"),
    ({"aux_addresses": {"x": "192.168.2.1"}}, "is the gateway"),
    ({"aux_addresses": {"x": "192.168.2.255"}}, "broadcast"),
    ({"aux_addresses": {"x": "192.168.2.0"}}, "network address"),
    ({"aux_addresses": {"x": "192.168.2.9", "y": "192.168.2.9"}}, "aux_addresses\\[y\\]: 192.168.2.9 is also "
                                                                  "aux_addresses\\[x\\]"),
    ({"aux_addresses": {"x": "nope"}}, "not an IP address"),
    ({"aux_addresses": ["192.168.2.9"]}, "aux_addresses: expected a dict"),
    ({"reserved": {"a": 1}}, "reserved: expected a list"),
    ({"reserved": ["192.168.2.300"]}, "not an IP address"),
    ({"reserved": ["192.168.2.1/24"]}, "host bits set"),
    ({"existing": ["x"]}, "existing: expected a dict"),
    ({"existing": {"h1": "garbage"}}, "existing\\[h1\\]: 'garbage' is not a valid CIDR"),
    ({"existing": {"h1": {"subnets": "x"}}}, "'subnets' must be a list"),
    ({"existing": {"h1": {"subnets": ["x"]}}}, "expected subnets entries"),
    ({"overrides": {"h9": "192.168.2.0/27"}}, "h9 is not one of the hosts"),
    ({"overrides": {"h1": "10.0.0.0/27"}},
     "overrides\\[h1\\]: 10.0.0.0/27 is outside the subnet .* like 192.168.2.32/27"),
    ({"overrides": {"h1": "192.168.2.1/27"}}, "host bits set: use the network address 192.168.2.0/27"),
    ({"overrides": {"h1": "192.168.2.0/31"}}, "/30 or shorter"),
    ({"overrides": {"h1": "192.168.2.0/27", "h3": "192.168.2.16/28"}},
     "overrides\\[h3\\]: 192.168.2.16/28 overlaps the override for h1 \\(192.168.2.0/27\\)"),
    ({"overrides": {"h2": "192.168.2.0/30"}, "aux_addresses": {"a": "192.168.2.2", "b": "192.168.2.3"}},
     "holds no address Docker can hand out"),
    ({"overrides": {"h2": "192.168.2.64/27"}, "reserved": ["192.168.2.70"]},
     "overrides\\[h2\\]: 192.168.2.64/27 overlaps reserved 192.168.2.70"),
])
def test_errors_name_the_field_and_the_fix(kwargs, match):
    kwargs = dict({"subnet": SUBNET}, **kwargs)
    fails(match, ["h1", "h2", "h3"], **kwargs)


@pytest.mark.parametrize("hosts, match", [
    ("h1", "hosts: expected a list"),
    ({"h1": 1}, "hosts: expected a list"),
    (["h1", "h1"], "h1 is listed twice"),
    (["h1", ""], "every entry must be a host name"),
    ([1], "every entry must be a host name"),
])
def test_host_list_errors(hosts, match):
    fails(match, hosts, SUBNET)


def test_too_many_hosts_even_at_30():
    fails("192.168.2.0/26 has room for 16 /30 ranges, 16 of them free .nothing taken., but 17 hosts need one",
          ["h%d" % i for i in range(17)], "192.168.2.0/26")


# ---------------------------------------------------------------------------------------------
# Docker's IPAM on every host: 20 containers per host on 3 hosts never collide


@pytest.mark.parametrize("serial", [False, True])
def test_twenty_containers_per_host_on_three_hosts_never_collide(serial):
    plan = plan_ranges(["h1", "h2", "h3"], SUBNET, aux_addresses={"shim-h1": "192.168.2.3", "shim-h2": "192.168.2.33"})
    ipams = {host: DockerIPAM(entry, serial=serial) for host, entry in plan.items()}
    given = {host: [] for host in plan}
    for _round in range(20):
        for host, ipam in ipams.items():  # the hosts start their containers interleaved
            given[host].append(ipam.run())
    everything = list(itertools.chain.from_iterable(given.values()))
    assert len(everything) == 60 == len(set(everything))
    for host, addresses in given.items():
        assert all(a in ipaddress.ip_network(plan[host]["ip_range"]) for a in addresses)
        assert all(str(a) not in ("192.168.2.0", "192.168.2.1", "192.168.2.3", "192.168.2.33") for a in addresses)
        assert all(check_static_ip(plan, host, str(a)) == str(a) for a in addresses)
    assert [str(a) for a in given["h1"][:3]] == ["192.168.2.2", "192.168.2.4", "192.168.2.5"]
    # churn: stop and start containers, the addresses stay in each host's slice and unique
    for host, ipam in ipams.items():
        for address in given[host][::3]:
            ipam.stop(address)
            given[host].remove(address)
        for _round in range(7):
            given[host].append(ipam.run())
    everything = list(itertools.chain.from_iterable(given.values()))
    assert len(everything) == len(set(everything))


def test_the_seeds_setup_without_ranges_collides_and_with_the_plan_does_not():
    whole = {"subnet": SUBNET, "ip_range": SUBNET, "gateway": "192.168.2.1", "aux_addresses": {}}
    seed = [DockerIPAM(whole).run() for _host in range(2)]
    assert seed[0] == seed[1]  # both hosts give their first container 192.168.2.2
    plan = plan_ranges(["h1", "h2"], SUBNET)
    assert DockerIPAM(plan["h1"]).run() != DockerIPAM(plan["h2"]).run()


def test_a_full_slice_is_what_size_says():
    plan = plan_ranges(["h%d" % i for i in range(16)], SUBNET, range_prefix=28, aux_addresses={"s": "192.168.2.20"})
    for host, entry in plan.items():
        ipam = DockerIPAM(entry)
        got = [ipam.run() for _container in range(entry["size"])]
        assert (str(min(got)), str(max(got))) == (entry["first"], entry["last"]), host
        with pytest.raises(AssertionError, match="no available"):
            ipam.run()


# ---------------------------------------------------------------------------------------------
# static addresses


@pytest.fixture(name="plan28")
def fixture_plan28():
    return plan_ranges(["h1", "h2", "h3", "h4", "h5"], SUBNET, range_prefix=28,
                       aux_addresses={"shim": "192.168.2.5", "far": "192.168.2.250"})


def test_static_ip_in_the_hosts_own_slice(plan28):
    assert check_static_ip(plan28, "h1", "192.168.2.14") == "192.168.2.14"
    assert check_static_ip(plan28, "h5", " 192.168.2.79 ") == "192.168.2.79"


def test_static_ip_in_another_hosts_slice(plan28):
    with pytest.raises(MacvlanPlanError) as info:
        check_static_ip(plan28, "h1", "192.168.2.70")
    assert str(info.value) == (
        "ip: 192.168.2.70 is in h5's range 192.168.2.64/28, whose IPAM may hand it out to a container there; a "
        "container on h1 must use an address in 192.168.2.0/28 (192.168.2.2-192.168.2.15 except "
        "192.168.2.5 (aux shim))")


@pytest.mark.parametrize("ip, match", [
    ("192.168.2.1", "ip: 192.168.2.1 is the gateway of 192.168.2.0/24"),
    ("192.168.2.5", "ip: 192.168.2.5 is the auxiliary address 'shim'"),
    ("192.168.2.250", "auxiliary address 'far'"),
    ("192.168.2.0", "is the network address of 192.168.2.0/24"),
    ("192.168.2.255", "is the broadcast address"),
    ("192.168.2.200", "outside every host's ip_range"),
    ("10.0.0.5", "outside the macvlan subnet 192.168.2.0/24: a container on h1 must use an address in 192.168.2.0/28"),
    ("fd00::1", "outside the macvlan subnet"),
    ("192.168.2.7/24", "not an IP address"),
    (None, "expected an IP address"),
])
def test_static_ip_errors(plan28, ip, match):
    with pytest.raises(MacvlanPlanError, match=match):
        check_static_ip(plan28, "h1", ip)


def test_static_ip_unknown_host_or_bad_plan(plan28):
    with pytest.raises(MacvlanPlanError, match="host: 'h9' is not in the plan .planned hosts: h1, h2, h3, h4, h5."):
        check_static_ip(plan28, "h9", "192.168.2.3")
    with pytest.raises(MacvlanPlanError, match="plan: expected the result of"):
        check_static_ip(["x"], "h1", "192.168.2.3")
    with pytest.raises(MacvlanPlanError, match="plan\\[h1\\]: expected an entry"):
        check_static_ip({"h1": "192.168.2.0/28"}, "h1", "192.168.2.3")


def test_static_ip_message_shows_the_gateway_inside_the_range():
    plan = plan_ranges(["a", "b"], SUBNET, gateway="192.168.2.9", range_prefix=28)
    with pytest.raises(MacvlanPlanError, match="192.168.2.0/28 \\(192.168.2.1-192.168.2.15 except 192.168.2.9 "
                                               "\\(gateway\\)\\)"):
        check_static_ip(plan, "a", "192.168.2.20")


# ---------------------------------------------------------------------------------------------
# several networks on one host


SEED_NETWORKS = [{"name": "mac_net1", "subnet": "172.21.0.0/24", "parent": "eth1"},
                 {"name": "mac_net2", "subnet": "172.22.0.0/24", "parent": "eth1.1"}]


def test_the_seeds_two_networks_pass():
    assert check_networks(SEED_NETWORKS) == [
        {"name": "mac_net1", "parent": "eth1", "subnets": ["172.21.0.0/24"]},
        {"name": "mac_net2", "parent": "eth1.1", "subnets": ["172.22.0.0/24"]}]
    assert check_networks(SEED_NETWORKS, exclusive_parents=True) == check_networks(SEED_NETWORKS)


def test_overlapping_subnets_on_one_parent_fail():
    with pytest.raises(MacvlanPlanError) as info:
        check_networks([SEED_NETWORKS[0], {"name": "mac_net3", "subnet": "172.21.0.128/25", "parent": "eth1"}])
    msg = str(info.value)
    assert msg.startswith("networks[mac_net3]: subnet 172.21.0.128/25 overlaps 172.21.0.0/24 of network mac_net1 on "
                          "the same parent eth1")
    assert "Pool overlaps with other one on this address space" in msg and "eth1.10" in msg


def test_same_subnet_on_different_parents_and_disjoint_subnets_on_one_parent_pass():
    nets = [SEED_NETWORKS[0], {"name": "vlan", "subnet": "172.21.0.0/24", "parent": "eth1.1"},
            {"name": "other", "subnet": "172.23.0.0/24", "parent": "eth1"}]
    assert [n["name"] for n in check_networks(nets)] == ["mac_net1", "vlan", "other"]


def test_exclusive_parents_refuses_a_second_network_on_a_parent():
    nets = [SEED_NETWORKS[0], {"name": "other", "subnet": "172.23.0.0/24", "parent": "eth1"}]
    with pytest.raises(MacvlanPlanError, match="already the parent of network mac_net1.*already using parent "
                                               "interface eth1"):
        check_networks(nets, exclusive_parents=True)


def test_docker_host_info_networks_as_is():
    facts = [
        {"name": "bridge", "driver": "bridge", "parent": None, "subnets": [{"subnet": "172.17.0.0/16"}]},
        {"name": "host", "driver": "host", "parent": None, "subnets": []},
        {"name": "mac_net1", "driver": "macvlan", "parent": "eth1",
         "subnets": [{"subnet": "172.21.0.0/24", "ip_range": "172.21.0.0/26", "gateway": "172.21.0.1",
                      "aux_addresses": {}}, {"subnet": "fd00:1::/64"}]},
        {"name": "dummy", "driver": "macvlan", "parent": None, "subnets": [{"subnet": "172.21.0.0/24"}]},
    ]
    expected = [{"name": "mac_net1", "parent": "eth1", "subnets": ["172.21.0.0/24", "fd00:1::/64"]}]
    assert check_networks(facts) == expected
    planned = {"name": "ipv6", "driver": "ipvlan", "parent": "eth1", "subnets": ["fd00:1:0:0::/80"]}
    with pytest.raises(MacvlanPlanError, match="fd00:1::/80 overlaps fd00:1::/64"):
        check_networks(facts + [planned])


def test_a_name_twice():
    assert len(check_networks(SEED_NETWORKS + [dict(SEED_NETWORKS[0])])) == 2
    with pytest.raises(MacvlanPlanError, match="networks\\[mac_net1\\]: given twice with different settings "
                                               "\\(172.21.0.0/24 on eth1, and 172.21.0.0/24 on eth2\\).*network "
                                               "with name mac_net1 already exists"):
        check_networks(SEED_NETWORKS + [dict(SEED_NETWORKS[0], parent="eth2")])


@pytest.mark.parametrize("networks, match", [
    ("x", "networks: expected a list"),
    ({"name": "x"}, "networks: expected a list"),
    (["x"], "networks\\[0\\]: expected a dict"),
    ([{"subnet": "172.21.0.0/24", "parent": "eth1"}], "networks\\[0\\]: every network needs a name"),
    ([{"name": "n", "parent": "eth1"}], "networks\\[n\\]: no subnet"),
    ([{"name": "n", "parent": "eth1", "subnet": "bad"}], "networks\\[n\\].subnet: 'bad' is not a valid CIDR"),
    ([{"name": "n", "parent": "eth1", "subnets": "172.21.0.0/24"}], "networks\\[n\\].subnets: expected a list"),
    ([{"name": "n", "parent": 3, "subnet": "172.21.0.0/24"}], "parent: expected an interface name"),
])
def test_check_networks_errors(networks, match):
    with pytest.raises(MacvlanPlanError, match=match):
        check_networks(networks)


def test_check_networks_none_is_empty():
    assert check_networks(None) == []
