# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route_table planner (pure: plain data in, plain data out, no mocks), and the pure helpers of
the Linux and AWS backends (next-hop validation, table names, the boot script, netlink messages)."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _route_aws as aws
from ansible_collections.crosshost.docker.plugins.module_utils import _route_linux as linux
from ansible_collections.crosshost.docker.plugins.module_utils._routes import (
    RoutePlanError,
    counts_towards_quota,
    describe,
    desired_routes,
    managed_networks,
    matches,
    plan,
)

MANAGED = ["10.0.0.0/16"]


def route(dest, target, kind="instance", state="active", **extra):
    r = {"destination": dest, "target": target, "target_type": kind, "state": state}
    r.update(extra)
    return r


def want(*pairs):
    return [{"destination": d, "target": t} for d, t in pairs]


# A realistic AWS table: the VPC's local route, an internet gateway default route, a foreign route to a
# peering connection outside the cluster CIDR, and an IPv6 route.
BASE = [
    route("192.168.0.0/16", "local", "local"),
    route("0.0.0.0/0", "igw-1", "gateway"),
    route("172.31.0.0/16", "pcx-1", "gateway"),
    route("::/0", "igw-1", "gateway"),
]


def test_empty_table_gets_every_route():
    p = plan(want(("10.0.2.0/24", "i-2"), ("10.0.1.0/24", "i-1")), BASE, MANAGED)
    assert p["create"] == [{"destination": "10.0.1.0/24", "target": "i-1"},
                           {"destination": "10.0.2.0/24", "target": "i-2"}]  # sorted by network
    assert p["replace"] == p["delete"] == p["unchanged"] == []
    assert [r["destination"] for r in p["after"]][:4] == [r["destination"] for r in BASE]
    assert p["managed"] == ["10.0.0.0/16"]


def test_nothing_to_do_when_the_table_is_right():
    actual = BASE + [route("10.0.1.0/24", "i-1"), route("10.0.2.0/24", "i-2")]
    p = plan(want(("10.0.1.0/24", "i-1"), ("10.0.2.0/24", "i-2")), actual, MANAGED)
    assert p["create"] == p["replace"] == p["delete"] == []
    assert [u["destination"] for u in p["unchanged"]] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert p["after"] == actual


def test_wrong_next_hop_is_replaced_in_place():
    actual = BASE + [route("10.0.1.0/24", "i-9")]
    p = plan(want(("10.0.1.0/24", "i-1")), actual, MANAGED)
    assert p["replace"] == [{"destination": "10.0.1.0/24", "target": "i-1", "old_target": "i-9"}]
    assert p["create"] == p["delete"] == []
    assert [r["target"] for r in p["after"] if r["destination"] == "10.0.1.0/24"] == ["i-1"]


def test_an_alias_of_the_next_hop_counts_as_the_same_hop():
    # AWS lists an instance route with the instance's ENI too: eni-1 and i-1 are one next hop.
    actual = [route("10.0.1.0/24", "i-1", aliases=["eni-1"]), route("10.0.2.0/24", "eni-2", "eni", aliases=["i-2"])]
    p = plan(want(("10.0.1.0/24", "eni-1"), ("10.0.2.0/24", "i-2")), actual, MANAGED)
    assert p["replace"] == [] and len(p["unchanged"]) == 2
    assert matches(actual[0], "i-1") and matches(actual[0], "eni-1") and not matches(actual[0], "i-2")
    assert not matches(actual[0], None)


def test_purge_deletes_stale_routes_inside_the_managed_cidr_only():
    actual = BASE + [route("10.0.1.0/24", "i-1"), route("10.0.9.0/24", "i-9"), route("10.1.0.0/24", "i-8")]
    p = plan(want(("10.0.1.0/24", "i-1")), actual, MANAGED)
    assert p["delete"] == [{"destination": "10.0.9.0/24", "target": "i-9"}]
    assert "10.1.0.0/24" in [r["destination"] for r in p["after"]]  # outside 10.0.0.0/16: foreign
    assert "10.0.9.0/24" not in [r["destination"] for r in p["after"]]


def test_purge_off_keeps_stale_routes():
    actual = BASE + [route("10.0.1.0/24", "i-7"), route("10.0.9.0/24", "i-9")]
    p = plan(want(("10.0.1.0/24", "i-1")), actual, MANAGED, purge=False)
    assert p["delete"] == []
    assert p["replace"] == [{"destination": "10.0.1.0/24", "target": "i-1", "old_target": "i-7"}]


def test_purge_off_without_managed_cidrs_touches_the_listed_destinations_only():
    actual = BASE + [route("10.0.1.0/24", "i-7"), route("10.0.9.0/24", "i-9")]
    p = plan(want(("10.0.1.0/24", "i-1"), ("10.5.0.0/24", "i-5")), actual, [], purge=False)
    assert p["replace"] == [{"destination": "10.0.1.0/24", "target": "i-1", "old_target": "i-7"}]
    assert p["create"] == [{"destination": "10.5.0.0/24", "target": "i-5"}]
    assert p["delete"] == []
    assert p["managed"] == ["10.0.1.0/24", "10.5.0.0/24"]


def test_an_empty_list_with_purge_empties_the_managed_cidr():
    actual = BASE + [route("10.0.1.0/24", "i-1"), route("10.0.2.0/24", "eni-2", "eni")]
    p = plan([], actual, MANAGED)
    assert [d["destination"] for d in p["delete"]] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert p["after"] == BASE


@pytest.mark.parametrize("kind", ["local", "gateway", "other", None])
def test_routes_of_other_kinds_inside_the_managed_cidr_are_never_touched(kind):
    actual = BASE + [route("10.0.5.0/24", "x-1", kind), route("10.0.0.0/16", "blackhole", kind)]
    p = plan(want(("10.0.1.0/24", "i-1")), actual, MANAGED)
    assert p["delete"] == [] and p["replace"] == []
    assert p["after"][:len(actual)] == actual
    assert p["create"] == [{"destination": "10.0.1.0/24", "target": "i-1"}]


def test_propagated_routes_are_never_touched_and_do_not_count():
    actual = [route("10.0.7.0/24", "vgw-1", "gateway", propagated=True),
              route("10.0.8.0/24", "i-8", "instance", propagated=True)]
    p = plan([], actual, MANAGED, quota=0)
    assert p["delete"] == []
    assert not counts_towards_quota(actual[0]) and not counts_towards_quota(actual[1])


@pytest.mark.parametrize("kind", ["gateway", "local", "other"])
def test_a_desired_destination_held_by_a_protected_route_is_an_error(kind):
    actual = [route("10.0.1.0/24", "x-1", kind)]
    with pytest.raises(RoutePlanError, match=r"10\.0\.1\.0/24 is already routed to x-1 \(%s\), a route this module "
                                             r"never touches" % kind):
        plan(want(("10.0.1.0/24", "i-1")), actual, MANAGED)
    with pytest.raises(RoutePlanError, match="already routed"):
        plan(want(("10.0.1.0/24", "i-1")), actual, [], purge=False)


def test_the_error_names_the_kind_of_linux_route_in_the_way():
    actual = [route("10.0.1.0/24", "192.168.1.14", "gateway", note="metric 100")]
    with pytest.raises(RoutePlanError, match=r"192\.168\.1\.14 \(metric 100\)"):
        plan(want(("10.0.1.0/24", "192.168.1.11")), actual, MANAGED)


def test_linux_next_hop_routes():
    # Linux next-hop routes are target_type "instance" (the next hop is a host).
    actual = [route("10.0.1.0/24", "192.168.1.13"), route("10.0.9.0/24", "192.168.1.12"),
              route("10.99.0.0/24", "192.168.1.11"), route("192.168.1.0/24", "dev 2", "local")]
    p = plan(want(("10.0.1.0/24", "192.168.1.11")), actual, MANAGED)
    assert p["replace"] == [{"destination": "10.0.1.0/24", "target": "192.168.1.11", "old_target": "192.168.1.13"}]
    assert p["delete"] == [{"destination": "10.0.9.0/24", "target": "192.168.1.12"}]


def test_duplicate_listed_routes_of_ours_leave_one():
    actual = [route("10.0.1.0/24", "i-1"), route("10.0.1.0/24", "i-2")]
    p = plan(want(("10.0.1.0/24", "i-2")), actual, MANAGED)
    assert p["replace"] == [{"destination": "10.0.1.0/24", "target": "i-2", "old_target": "i-1"}]
    assert p["delete"] == [{"destination": "10.0.1.0/24", "target": "i-2"}]


def test_foreign_and_unparsable_destinations_are_left_alone():
    actual = [route("pl-123", "vpce-1", "gateway"), route("2001:db8::/64", "eni-1", "eni"),
              route(None, "x", "instance"), route("10.0.3.0/24", "i-3")]
    p = plan(want(("10.0.1.0/24", "i-1")), actual, MANAGED)
    assert p["delete"] == [{"destination": "10.0.3.0/24", "target": "i-3"}]
    assert [r["destination"] for r in p["after"]] == ["pl-123", "2001:db8::/64", None, "10.0.1.0/24"]


def test_several_managed_cidrs():
    actual = [route("10.0.9.0/24", "i-9"), route("10.8.9.0/24", "i-8"), route("10.9.0.0/24", "i-7")]
    p = plan(want(("10.8.1.0/24", "i-1")), actual, ["10.0.0.0/16", "10.8.0.0/16"])
    assert [d["destination"] for d in p["delete"]] == ["10.0.9.0/24", "10.8.9.0/24"]


def test_a_managed_cidr_itself_as_a_route_of_ours_is_inside_it():
    p = plan([], [route("10.0.0.0/16", "i-1")], MANAGED)
    assert p["delete"] == [{"destination": "10.0.0.0/16", "target": "i-1"}]
    p = plan([], [route("10.0.0.0/8", "i-1")], MANAGED)  # larger than the managed CIDR: not inside
    assert p["delete"] == []


# --- state absent ------------------------------------------------------------------------------

def test_absent_deletes_the_listed_destinations_whatever_their_next_hop():
    actual = BASE + [route("10.0.1.0/24", "i-1"), route("10.0.2.0/24", "i-2"), route("10.0.3.0/24", "i-3")]
    p = plan([{"destination": "10.0.1.0/24"}, {"destination": "10.0.2.0/24", "target": "i-9"},
              {"destination": "10.0.4.0/24"}], actual, [], purge=True, state="absent")
    assert p["delete"] == [{"destination": "10.0.1.0/24", "target": "i-1"},
                           {"destination": "10.0.2.0/24", "target": "i-2"}]
    assert p["create"] == p["replace"] == []
    assert "10.0.3.0/24" in [r["destination"] for r in p["after"]]


def test_absent_never_deletes_protected_routes():
    p = plan([{"destination": "192.168.0.0/16"}, {"destination": "172.31.0.0/16"}], BASE, [], state="absent")
    assert p["delete"] == []


def test_absent_respects_managed_cidrs():
    with pytest.raises(RoutePlanError, match="outside managed_cidrs"):
        plan([{"destination": "172.31.0.0/16"}], BASE, MANAGED, state="absent")


# --- input errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("routes,managed,purge,words", [
    (want(("10.0.1.0/24", "i-1")), [], True, "managed_cidrs: required when purge is true"),
    (want(("10.1.1.0/24", "i-1")), MANAGED, True, r"10.1.1.0/24 is outside managed_cidrs \(10.0.0.0/16\)"),
    (want(("10.0.1.0/24", "i-1"), ("10.0.1.0/24", "i-2")), MANAGED, True, "10.0.1.0/24 is listed twice"),
    (want(("10.0.1.0/24", "i-1"), ("10.0.1.128/25", "i-2")), MANAGED, True, "10.0.1.0/24 and 10.0.1.128/25 overlap"),
    (want(("10.0.0.0/22", "i-1"), ("10.0.3.0/24", "i-2")), MANAGED, True, "10.0.0.0/22 and 10.0.3.0/24 overlap"),
    (want(("10.0.1.1/24", "i-1")), MANAGED, True, "has host bits set: use the network address 10.0.1.0/24"),
    (want(("10.0.1.0/33", "i-1")), MANAGED, True, "is not a valid CIDR"),
    (want(("fd00::/64", "i-1")), MANAGED, True, "is IPv6"),
    (want(("10.0.1.0/24", "")), MANAGED, True, "10.0.1.0/24 has no next hop"),
    (want(("10.0.1.0/24", None)), MANAGED, True, "10.0.1.0/24 has no next hop"),
    ([{"target": "i-1"}], MANAGED, True, r"routes\[0\]: give a destination"),
    (["10.0.1.0/24"], MANAGED, True, r"routes\[0\]: give a destination"),
    (want(("10.0.1.0/24", "i-1")), ["0.0.0.0/0"], True, "would make every route in the table ours"),
    (want(("10.0.1.0/24", "i-1")), ["10.0.0.0/33"], True, "managed_cidrs: '10.0.0.0/33' is not a valid CIDR"),
    (want(("10.0.1.0/24", "i-1")), ["10.0.0.1/16"], True, "managed_cidrs: .* has host bits set"),
])
def test_bad_input_is_refused(routes, managed, purge, words):
    with pytest.raises(RoutePlanError, match=words):
        plan(routes, BASE, managed, purge)


def test_bad_state_is_refused():
    with pytest.raises(RoutePlanError, match="neither present nor absent"):
        plan([], [], MANAGED, state="gone")


def test_adjacent_destinations_do_not_overlap():
    assert [str(n) for n, _t in desired_routes(want(("10.0.1.0/24", "a"), ("10.0.0.0/24", "b"), ("10.0.2.0/23", "c")))] \
        == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/23"]
    assert [str(n) for n in managed_networks(["10.0.0.0/16", "192.168.0.0/16"])] == ["10.0.0.0/16", "192.168.0.0/16"]


def test_errors_come_before_any_comparison_with_the_table():
    # An input error wins even when the table is weird.
    with pytest.raises(RoutePlanError, match="listed twice"):
        plan(want(("10.0.1.0/24", "i-1"), ("10.0.1.0/24", "i-1")), [{"destination": "junk"}], MANAGED)


# --- quota -------------------------------------------------------------------------------------

def many(n, start=0):
    return [("10.0.%d.0/24" % i, "i-%d" % (i % 3)) for i in range(start, start + n)]


def test_quota_allows_a_full_table():
    # BASE has local (not counted) and 3 counted routes: 47 more make 50.
    p = plan(want(*many(47)), BASE, MANAGED, quota=50)
    assert len(p["create"]) == 47


def test_quota_exceeded_is_an_error_before_writing():
    with pytest.raises(RoutePlanError, match=r"would hold 51 routes, more than its quota of 50 \(48 to create, 0 to "
                                             r"delete; local and propagated routes not counted\): nothing was changed"):
        plan(want(*many(48)), BASE, MANAGED, quota=50)


def test_quota_message_says_how_to_raise_it_for_the_provider():
    with pytest.raises(RoutePlanError, match=r"nothing was changed. Raise the quota \(ask for more\), remove routes"):
        plan(want(*many(48)), BASE, MANAGED, quota=50, quota_fix="ask for more")
    with pytest.raises(RoutePlanError, match=r"nothing was changed. Raise the quota, remove routes"):
        plan(want(*many(48)), BASE, MANAGED, quota=50)


def test_deletions_free_quota():
    actual = BASE + [route(d, t) for d, t in many(10, start=100)]  # 10 stale ones, purged
    p = plan(want(*many(47)), actual, MANAGED, quota=50)
    assert len(p["delete"]) == 10 and len(p["create"]) == 47
    with pytest.raises(RoutePlanError, match="would hold 60 routes"):
        plan(want(*many(47)), actual, MANAGED, purge=False, quota=50)


def test_replacements_do_not_change_the_count():
    actual = [route(d, "i-9") for d, _t in many(5)]
    p = plan(want(*many(5)), actual, MANAGED, quota=5)
    assert len(p["replace"]) == 5


def test_no_quota_means_no_limit_and_local_routes_do_not_count():
    plan(want(*many(200)), BASE, MANAGED, quota=None)
    plan([], [route("10.%d.0.0/16" % i, "local", "local") for i in range(10)], MANAGED, quota=1)
    assert counts_towards_quota(route("10.0.0.0/24", "i-1")) and not counts_towards_quota(route("x", "local", "local"))


# --- diff text ---------------------------------------------------------------------------------

def test_describe_marks_what_the_module_does_not_manage():
    text = describe(BASE + [route("10.0.1.0/24", "i-1"), route("10.99.0.0/24", "i-2")], MANAGED)
    assert text.splitlines() == [
        "0.0.0.0/0 -> igw-1  (gateway, not managed)",
        "10.0.1.0/24 -> i-1",
        "10.99.0.0/24 -> i-2  (outside managed_cidrs, not managed)",
        "172.31.0.0/16 -> pcx-1  (gateway, not managed)",
        "192.168.0.0/16 -> local  (local, not managed)",
        "::/0 -> igw-1  (gateway, not managed)",
    ]
    assert describe([]) == ""


# --- backend helpers (pure parts) ---------------------------------------------------------------

@pytest.mark.parametrize("target,ok", [
    ("192.168.1.11", True), ("192.168.1.256", False), ("fe80::1", False), ("i-0123456789abcdef0", False), ("", False)])
def test_linux_next_hops_are_ipv4_addresses(target, ok):
    assert (linux.valid_target(target) is None) is ok


@pytest.mark.parametrize("target,ok", [
    ("i-0123456789abcdef0", True), ("i-12345678", True), ("eni-0a1b2c3d4e5f60718", True), ("i-123", False),
    ("I-0123456789abcdef0", False), ("192.168.1.11", False), ("igw-0123456789abcdef0", False), (None, False)])
def test_aws_next_hops_are_instance_or_eni_ids(target, ok):
    assert (aws.valid_target(target) is None) is ok


def test_linux_table_names():
    rt_tables = "255\tlocal\n254\tmain\n# comment\n100 cluster # ours\nbad line here\n"
    assert linux.table_number("main", rt_tables) == 254
    assert linux.table_number("default", rt_tables) == 253
    assert linux.table_number("100", rt_tables) == 100
    assert linux.table_number("cluster", rt_tables) == 100
    assert linux.table_number(1000, rt_tables) == 1000
    for bad in ("nosuch", "local", "0", "255", "-1"):
        with pytest.raises(linux.RouteBackendError, match="linux_table"):
            linux.table_number(bad, rt_tables)


def test_boot_script_round_trip():
    routes = {"10.0.2.0/24": "192.168.1.12", "10.0.10.0/24": "192.168.1.20", "10.0.1.0/24": "192.168.1.11"}
    text = linux.render_script(routes, 254, "/usr/sbin/ip")
    assert text.startswith("#!/bin/sh\n# Written by crosshost.docker.route_table")
    lines = [line for line in text.splitlines() if "route replace" in line]
    assert lines == ['"$IP" route replace 10.0.1.0/24 via 192.168.1.11 table 254 proto static || rc=1',
                     '"$IP" route replace 10.0.2.0/24 via 192.168.1.12 table 254 proto static || rc=1',
                     '"$IP" route replace 10.0.10.0/24 via 192.168.1.20 table 254 proto static || rc=1']
    assert "IP=/usr/sbin/ip\n" in text and text.endswith("exit $rc\n")
    assert linux.parse_script(text) == routes
    assert linux.parse_script(None) == {} and linux.parse_script("#!/bin/sh\nip route add 1.2.3.0/24 via 1.1.1.1\n") == {}
    assert linux.render_script(routes, 254, "/usr/sbin/ip") == text  # deterministic
    assert linux.script_path("/etc/crosshost-docker", 254) == "/etc/crosshost-docker/routes.sh"
    assert linux.script_path("/etc/crosshost-docker", 100) == "/etc/crosshost-docker/routes-table100.sh"
    assert "/etc/crosshost-docker/routes*.sh" in linux.systemd_unit("/etc/crosshost-docker")


def msg(dst, dst_len, rtype=1, **attrs):
    m = {"dst_len": dst_len, "type": rtype, "flags": 0}
    if dst:
        m["dst"] = dst
    m.update(attrs)
    return m


@pytest.mark.parametrize("message,expected", [
    (msg("10.0.1.0", 24, gateway="192.168.1.11", oif=2),
     {"destination": "10.0.1.0/24", "target": "192.168.1.11", "target_type": "instance"}),
    (msg(None, 0, gateway="192.168.1.1"), {"destination": "0.0.0.0/0", "target": "192.168.1.1", "target_type": "instance"}),
    (msg("192.168.1.0", 24, oif=2), {"destination": "192.168.1.0/24", "target": "dev 2", "target_type": "local"}),
    (msg("10.0.0.0", 16, rtype=6), {"destination": "10.0.0.0/16", "target": "blackhole", "target_type": "local"}),
    (msg("10.0.5.0", 24, rtype=7), {"destination": "10.0.5.0/24", "target": "unreachable", "target_type": "local"}),
    (msg("10.0.1.0", 24, gateway="192.168.1.14", priority=100),
     {"destination": "10.0.1.0/24", "target": "192.168.1.14", "target_type": "gateway", "note": "metric 100"}),
    (msg("10.0.6.0", 24, multipath=[{"gateway": "192.168.1.11"}, {"gateway": "192.168.1.12"}]),
     {"destination": "10.0.6.0/24", "target": "192.168.1.11,192.168.1.12", "target_type": "gateway",
      "note": "multipath"}),
])
def test_netlink_messages_become_backend_routes(message, expected):
    got = linux._describe_route(message)
    assert {k: got.get(k) for k in expected} == expected
    assert got["state"] == "active"
    assert linux._describe_route(dict(message, flags=16))["state"] == "linkdown"


def test_the_table_after_the_plan_has_the_new_routes_with_their_kind():
    desired = [{"destination": "10.0.1.0/24", "target": "eni-1", "target_type": "eni"},
               {"destination": "10.0.2.0/24", "target": "i-2"}]
    p = plan(desired, [route("10.0.1.0/24", "i-1"), route("10.0.9.0/24", "i-9")], MANAGED)
    assert p["after"] == [
        {"destination": "10.0.1.0/24", "target": "eni-1", "target_type": "eni", "state": "pending", "aliases": []},
        {"destination": "10.0.2.0/24", "target": "i-2", "target_type": "instance", "state": "pending"},
    ]
    assert describe(p["after"], MANAGED) == "10.0.1.0/24 -> eni-1\n10.0.2.0/24 -> i-2\n"


def test_aws_clients_retry_throttling_in_standard_mode():
    pytest.importorskip("boto3")
    # Creating clients contacts nothing; the endpoint is never called here.
    b = aws.AwsRoutes(route_table_id="rtb-0123456789abcdef0", region="eu-west-1", access_key="AKID", secret_key="x",
                      endpoint_url="http://127.0.0.1:9", retries=4)
    for client in (b.ec2, b.quotas):
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}  # the first call included
        assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert b.reads == b.writes == 0
    with pytest.raises(aws.RouteBackendError, match="route_table_id: 'vtb-1' is not a route table id"):
        aws.AwsRoutes(route_table_id="vtb-1", region="eu-west-1")
    assert aws.target_type("eni-0a1b2c3d4e5f60718") == "eni" and aws.target_type("i-0123456789abcdef0") == "instance"
