"""route_table, provider linux, on the lab's VPC router `rt` (real kernel routing table, real netlink).

The router starts with an empty route table (connected routes only). Routes of others are put there
first: one outside the managed CIDR (10.99.0.0/24 via h1), a blackhole and a metric route inside it.
Then: the five ways (check, check+diff, apply, idempotent check and apply, which make zero netlink
writes); the routes actually steer traffic (`ip route get`, and a container on h1 reached from h2 by
its container IP through the router); a wrong next hop replaced in place; a stale route inside the
managed CIDR purged; foreign routes never touched; bad input refused with the table unchanged;
state=absent; another table; the boot script (written, restores the routes after a flush, removed
with linux_persist=false), always inside the router's own /etc.
Run with CROSSHOST_TEST_PREFIX=r so that the lab's name does not collide with other labs.
"""
import os

import pytest

from labutil import five_ways, run_task

MODULE = "crosshost.docker.route_table"
HOSTS = ["h1", "h2", "h3"]
SUBNET = {h: f"10.0.{n}.0/24" for n, h in enumerate(HOSTS, start=1)}
ADDRESS = {h: f"192.168.1.1{n}" for n, h in enumerate(HOSTS, start=1)}
FOREIGN = ["10.99.0.0/24 via 192.168.1.11", "blackhole 10.0.250.0/24", "10.0.7.0/24 via 192.168.1.12 metric 100"]


def args(**extra):
    a = {"provider": "linux", "managed_cidrs": ["10.0.0.0/16"],
         "routes": [{"host": h, "destination": SUBNET[h], "next_hop": ADDRESS[h]} for h in HOSTS]}
    a.update(extra)
    return a


def routes(lab, table="main"):
    return lab.sh("rt", f"ip route show table {table}").stdout


def ours(lab):
    """Our kind of route inside the managed CIDR: {destination: next hop}."""
    out = {}
    for line in routes(lab).splitlines():
        parts = line.split()
        if parts[0].startswith("10.0.") and len(parts) > 2 and parts[1] == "via" and "metric" not in parts:
            out[parts[0]] = parts[2]
    return out


def assert_foreign_routes_intact(lab):
    table = routes(lab)
    assert "10.99.0.0/24 via 192.168.1.11 dev eth0" in table, table
    assert "blackhole 10.0.250.0/24" in table, table
    assert "10.0.7.0/24 via 192.168.1.12 dev eth0 metric 100" in table, table


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("rl", hosts=3, engines="20.10")
    assert lab.state["router"]["address"] == "192.168.1.1"
    for host in HOSTS:
        assert lab.state["hosts"][host]["address"] == ADDRESS[host]
    for route in FOREIGN:
        lab.sh("rt", f"ip route add {route}")
    return lab


def test_five_ways(lab):
    machine_etc = os.path.exists("/etc/crosshost-docker/routes.sh")
    results = five_ways(lab, "rt", MODULE, args(), lambda: routes(lab))
    apply = results[2]
    assert apply["create"] == [{"destination": SUBNET[h], "target": ADDRESS[h]} for h in HOSTS]
    assert apply["write_calls"] == 3 and apply["replace"] == apply["delete"] == []
    assert results[0]["write_calls"] == results[1]["write_calls"] == 0            # check mode
    assert results[3]["write_calls"] == results[4]["write_calls"] == 0            # the second run
    assert len(results[4]["unchanged"]) == 3
    assert "10.0.1.0/24 -> 192.168.1.11\n" in results[1]["diff"]["after"]
    assert "10.0.1.0/24" not in results[1]["diff"]["before"]
    assert "10.99.0.0/24 -> 192.168.1.11  (outside managed_cidrs, not managed)" in results[1]["diff"]["after"]
    assert ours(lab) == {SUBNET[h]: ADDRESS[h] for h in HOSTS}
    assert {r["destination"]: r["target_type"] for r in apply["routes"]}["10.0.250.0/24"] == "local"
    assert_foreign_routes_intact(lab)
    assert apply["persistence"]["mode"] == "none"
    assert os.path.exists("/etc/crosshost-docker/routes.sh") == machine_etc


def test_the_routes_steer_traffic_through_the_router(lab):
    for host in HOSTS:
        assert f"via {ADDRESS[host]} dev eth0" in lab.sh("rt", f"ip route get {SUBNET[host][:-4]}5").stdout
    # A process bound to a container-subnet address on h1 (on lo), reached from h2 through the router.
    lab.sh("h1", "ip addr add 10.0.1.5/32 dev lo && (timeout 20 busybox nc -ll -p 5002 -e echo pong >/dev/null 2>&1 &)")
    try:
        out = lab.sh("h2", "for i in 1 2 3 4 5; do echo | busybox nc -w 2 10.0.1.5 5002 && break; sleep 0.3; done",
                     check=False).stdout
        assert "pong" in out, out
    finally:
        lab.sh("h1", "ip addr del 10.0.1.5/32 dev lo", check=False)


def test_a_wrong_next_hop_is_replaced_in_place(lab):
    lab.sh("rt", "ip route replace 10.0.1.0/24 via 192.168.1.13")
    ok, result = run_task(lab, "rt", MODULE, args(), diff=True)
    assert ok, result.get("msg")
    assert result["replace"] == [{"destination": "10.0.1.0/24", "target": "192.168.1.11", "old_target": "192.168.1.13"}]
    assert result["write_calls"] == 1 and result["create"] == result["delete"] == []
    assert "10.0.1.0/24 -> 192.168.1.13\n" in result["diff"]["before"]
    assert ours(lab)["10.0.1.0/24"] == "192.168.1.11"
    assert_foreign_routes_intact(lab)


def test_stale_routes_inside_the_managed_cidr_are_purged(lab):
    lab.sh("rt", "ip route add 10.0.9.0/24 via 192.168.1.12 && ip route add 10.0.10.0/24 via 192.168.1.13 proto static")
    ok, result = run_task(lab, "rt", MODULE, args())
    assert ok, result.get("msg")
    assert result["delete"] == [{"destination": "10.0.9.0/24", "target": "192.168.1.12"},
                                {"destination": "10.0.10.0/24", "target": "192.168.1.13"}]
    assert result["write_calls"] == 2
    assert ours(lab) == {SUBNET[h]: ADDRESS[h] for h in HOSTS}
    assert_foreign_routes_intact(lab)
    ok, result = run_task(lab, "rt", MODULE, args())
    assert ok and result["changed"] is False and result["write_calls"] == 0


def test_purge_off_leaves_stale_routes(lab):
    lab.sh("rt", "ip route add 10.0.9.0/24 via 192.168.1.12")
    try:
        ok, result = run_task(lab, "rt", MODULE, args(purge=False, managed_cidrs=[]))
        assert ok and result["changed"] is False and result["write_calls"] == 0, result
        assert ours(lab)["10.0.9.0/24"] == "192.168.1.12"
    finally:
        lab.sh("rt", "ip route del 10.0.9.0/24 via 192.168.1.12")


def test_bad_input_is_refused_and_the_table_is_unchanged(lab):
    before = routes(lab)
    one = {"destination": "10.0.4.0/24"}
    for bad, words in (
        (args(routes=[dict(one, next_hop="10.5.5.5")]), "next hop 10.5.5.5 is not reachable from this host"),
        (args(routes=[dict(one, next_hop="10.99.0.5")]),
         "next hop 10.99.0.5 is not on a directly connected network of this host (it is reached via 192.168.1.11)"),
        (args(routes=[dict(one, next_hop="192.168.1.1")]), "next hop 192.168.1.1 is an address of this host itself"),
        (args(routes=[dict(one, next_hop="i-0123456789abcdef0")]), "is not an IPv4 address"),
        (args(routes=[{"destination": "10.0.250.0/24", "next_hop": "192.168.1.11"}]),
         "10.0.250.0/24 is already routed to blackhole (blackhole), a route this module never touches"),
        (args(routes=[{"destination": "10.0.7.0/24", "next_hop": "192.168.1.11"}]),
         "10.0.7.0/24 is already routed to 192.168.1.12 (metric 100)"),
        (args(routes=[dict(one, next_hop="192.168.1.11"), {"destination": "10.0.4.128/25", "next_hop": "192.168.1.12"}]),
         "10.0.4.0/24 and 10.0.4.128/25 overlap"),
        (args(managed_cidrs=[]), "managed_cidrs: required when purge is true"),
        (args(routes=[{"destination": "10.99.0.0/24", "next_hop": "192.168.1.12"}]), "outside managed_cidrs"),
        (args(linux_table="nosuch"), "linux_table: 'nosuch' is not a table number"),
    ):
        ok, result = run_task(lab, "rt", MODULE, bad)
        assert not ok and words in result["msg"], (words, result.get("msg"))
    assert routes(lab) == before


def test_another_table(lab):
    a = args(linux_table="100", routes=[{"destination": "10.0.1.0/24", "next_hop": "192.168.1.11"}])
    ok, result = run_task(lab, "rt", MODULE, a)
    assert ok and result["write_calls"] == 1, result
    assert routes(lab, 100).strip() == "10.0.1.0/24 via 192.168.1.11 dev eth0 proto static"
    ok, result = run_task(lab, "rt", MODULE, a)
    assert ok and result["changed"] is False and result["write_calls"] == 0
    ok, result = run_task(lab, "rt", MODULE, dict(a, state="absent"))
    assert ok and result["write_calls"] == 1 and routes(lab, 100).strip() == ""
    assert ours(lab) == {SUBNET[h]: ADDRESS[h] for h in HOSTS}  # main untouched


def test_boot_script(lab):
    machine = os.path.exists("/etc/crosshost-docker/routes.sh")
    ok, result = run_task(lab, "rt", MODULE, args(linux_persist=True), diff=True)
    assert ok, result.get("msg")
    assert result["changed"] is True and result["write_calls"] == 0
    assert result["persistence"] == {"mode": "script", "script": "/etc/crosshost-docker/routes.sh", "unit": None}
    script = lab.sh("rt", "cat /etc/crosshost-docker/routes.sh").stdout
    assert '"$IP" route replace 10.0.2.0/24 via 192.168.1.12 table 254 proto static || rc=1' in script
    assert "# /etc/crosshost-docker/routes.sh\n(absent)" in result["diff"]["before"]
    # What a reboot does: the routes are gone. The script brings them back (twice: no duplicates).
    before = routes(lab)
    for h in HOSTS:
        lab.sh("rt", f"ip route del {SUBNET[h]}")
    assert ours(lab) == {}
    lab.sh("rt", "sh /etc/crosshost-docker/routes.sh && sh /etc/crosshost-docker/routes.sh")
    assert ours(lab) == {SUBNET[h]: ADDRESS[h] for h in HOSTS}
    assert_foreign_routes_intact(lab)
    ok, result = run_task(lab, "rt", MODULE, args(linux_persist=True))
    assert ok and result["changed"] is False and result["write_calls"] == 0, result
    # purge=false keeps the script's other routes; state=absent removes only the listed ones.
    absent = args(linux_persist=True, state="absent", managed_cidrs=[], routes=[{"destination": "10.0.3.0/24"}])
    ok, result = run_task(lab, "rt", MODULE, absent)
    assert ok and result["write_calls"] == 1
    script = lab.sh("rt", "cat /etc/crosshost-docker/routes.sh").stdout
    assert "10.0.3.0/24" not in script and "10.0.2.0/24" in script
    ok, result = run_task(lab, "rt", MODULE, args(linux_persist=True))
    assert ok and result["create"] == [{"destination": "10.0.3.0/24", "target": "192.168.1.13"}]
    assert routes(lab) == before
    # linux_persist=false removes our script.
    ok, result = run_task(lab, "rt", MODULE, args())
    assert ok and result["changed"] is True and result["write_calls"] == 0
    assert lab.sh("rt", "test -e /etc/crosshost-docker/routes.sh", check=False).returncode == 1
    # All of it happened in the router's own /etc, never in the machine's.
    assert os.path.exists("/etc/crosshost-docker/routes.sh") == machine


def test_state_absent_deletes_the_given_destinations_only(lab):
    absent = {"provider": "linux", "state": "absent",
              "routes": [{"destination": "10.0.2.0/24"}, {"destination": "10.0.250.0/24"}, {"destination": "10.0.77.0/24"}]}
    ok, result = run_task(lab, "rt", MODULE, absent)
    assert ok, result.get("msg")
    assert result["delete"] == [{"destination": "10.0.2.0/24", "target": "192.168.1.12"}]
    assert ours(lab) == {SUBNET["h1"]: ADDRESS["h1"], SUBNET["h3"]: ADDRESS["h3"]}
    assert_foreign_routes_intact(lab)
