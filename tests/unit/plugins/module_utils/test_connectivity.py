# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the connectivity checks: peers, ping output, count rules and counters, the judge
(every cause, from the sender's view and from both hosts' evidence) and the report."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _connectivity as cx
from ansible_collections.crosshost.docker.tests.unit import helpers


def fixture(name):
    return helpers.fixture_text("connectivity", name)


# --- peers ---------------------------------------------------------------------------------------

def test_peers_are_normalised_with_the_default_port():
    peers = cx.normalize_peers([{"host": "h2", "address": "10.0.1.3", "name": "p-h2", "port": None},
                                {"host": "h3", "address": "10.0.2.3", "port": 6000}], 5000)
    assert peers == [{"host": "h2", "address": "10.0.1.3", "name": "p-h2", "port": 5000},
                     {"host": "h3", "address": "10.0.2.3", "name": None, "port": 6000}]
    assert cx.normalize_peers([], 5000) == [] and cx.normalize_peers(None, 5000) == []


@pytest.mark.parametrize("peers, words", [
    ([{"address": "10.0.0.1"}], "peers[0].host is required"),
    ([{"host": "h2", "address": "10.0.0.300"}], "peers[0].address: '10.0.0.300' is not an IPv4 address"),
    ([{"host": "h2", "address": "fd00::1"}], "is not an IPv4 address"),
    ([{"host": "h2", "address": "10.0.0.2"}, {"host": "h2", "address": "10.0.0.3"}], "peers[1].host: h2 is listed twice"),
    ([{"host": "h2", "address": "10.0.0.2", "name": "-bad"}], "peers[0].name: '-bad' is not a valid container name"),
    ([{"host": "h2", "address": "10.0.0.2", "port": 70000}], "peers[0].port: 70000 is out of range"),
    ([{"host": "h2", "address": "10.0.0.2", "port": "x"}], "peers[0].port: 'x' is not a number"),
    ([{"host": "h2", "address": "10.0.0.2", "colour": "red"}], "peers[0]: unknown key(s) colour"),
    (["h2"], "peers[0]: expected a dict"),
])
def test_bad_peers_are_refused_naming_the_field(peers, words):
    with pytest.raises(cx.ConnectivityError) as raised:
        cx.normalize_peers(peers, 5000)
    assert words in str(raised.value)


def test_container_names():
    assert cx.check_name("crosshost-probe-h1", "name") == "crosshost-probe-h1"
    for bad in ("", None, "a b", "/x", "_x", "x" * 129):
        with pytest.raises(cx.ConnectivityError):
            cx.check_name(bad, "name")


# --- ping ----------------------------------------------------------------------------------------

OK = """PING 10.0.1.2 (10.0.1.2) 56(84) bytes of data.
64 bytes from 10.0.1.2: icmp_seq=1 ttl=61 time=0.294 ms
64 bytes from 10.0.1.2: icmp_seq=2 ttl=61 time=0.134 ms

--- 10.0.1.2 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 408ms
"""
NET_UNREACHABLE = """PING 10.0.9.2 (10.0.9.2) 56(84) bytes of data.
From 192.168.1.1 icmp_seq=1 Destination Net Unreachable

--- 10.0.9.2 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
"""
HOST_UNREACHABLE = NET_UNREACHABLE.replace("192.168.1.1", "10.0.0.2").replace("Net Unreachable", "Host Unreachable")
FRAG = """PING 10.0.0.2 (10.0.0.2) 1472(1500) bytes of data.
From 10.0.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)

--- 10.0.0.2 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 201ms
"""
TIMEOUT = """PING 10.0.1.2 (10.0.1.2) 56(84) bytes of data.

--- 10.0.1.2 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 2040ms
"""
FILTERED = NET_UNREACHABLE.replace("Destination Net Unreachable", "Packet filtered")
PORT_UNREACHABLE = NET_UNREACHABLE.replace("Destination Net Unreachable", "Destination Port Unreachable")
TTL = NET_UNREACHABLE.replace("Destination Net Unreachable", "Time to live exceeded")
LOCAL_MTU_OUT = """PING 10.0.1.2 (10.0.1.2) 1473(1501) bytes of data.

--- 10.0.1.2 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
"""


@pytest.mark.parametrize("rc, out, err, expected", [
    (0, OK, "", {"ok": True, "sent": 3, "received": 2, "kind": None, "from": None, "mtu": None}),
    (1, NET_UNREACHABLE, "", {"ok": False, "kind": "net_unreachable", "from": "192.168.1.1",
                              "detail": "Destination Net Unreachable"}),
    (1, HOST_UNREACHABLE, "", {"ok": False, "kind": "host_unreachable", "from": "10.0.0.2"}),
    (1, FRAG, "", {"ok": False, "kind": "frag_needed", "mtu": 1400, "from": "10.0.1.1"}),
    (1, LOCAL_MTU_OUT, "ping: local error: message too long, mtu=1500\n",
     {"ok": False, "kind": "local_mtu", "mtu": 1500, "from": None, "detail": "local error: message too long, mtu=1500"}),
    (1, FRAG, "ping: local error: message too long, mtu=1400\n", {"kind": "frag_needed", "mtu": 1400}),
    (1, TIMEOUT, "", {"ok": False, "sent": 3, "received": 0, "kind": "timeout", "detail": "no reply"}),
    (1, FILTERED, "", {"kind": "rejected", "detail": "Packet filtered"}),
    (1, PORT_UNREACHABLE, "", {"kind": "rejected"}),
    (1, TTL, "", {"kind": "ttl"}),
    (2, "", "ping: connect: Network is unreachable\n", {"kind": "net_unreachable", "sent": 0}),
    (1, LOCAL_MTU_OUT, "ping: sendmsg: Operation not permitted\n", {"kind": "rejected"}),
    (2, "", "ping: 10.0.0.2: Name or service not known\n", {"kind": "error"}),
    (127, "", "", {"kind": "error"}),
])
def test_ping_outputs(rc, out, err, expected):
    result = cx.parse_ping(rc, out, err)
    for key, value in expected.items():
        assert result[key] == value, (key, result)


def test_replies_win_over_errors_in_the_same_run():
    out = OK.replace("64 bytes from 10.0.1.2: icmp_seq=2", "From 10.0.0.1 icmp_seq=2 Destination Host Unreachable\n#")
    result = cx.parse_ping(1, out, "")
    assert result["ok"] and result["kind"] is None


def test_ping_args_and_text():
    assert cx.ping_args("/bin/ping", "10.0.0.2", 2) == ["/bin/ping", "-n", "-c", "3", "-i", "0.2", "-w", "2", "10.0.0.2"]
    assert cx.ping_args("ping", "10.0.0.2", 0, count=1, size=1472, dont_fragment=True)[-6:] == [
        "1", "-M", "do", "-s", "1472", "10.0.0.2"]
    assert cx.ping_text(cx.parse_ping(0, OK, "")) == "2/3 replies"
    assert cx.ping_text(cx.parse_ping(1, NET_UNREACHABLE, "")) == "Destination Net Unreachable (from 192.168.1.1)"
    assert cx.ping_text(cx.parse_ping(1, TIMEOUT, "")) == "no reply"


@pytest.mark.parametrize("limit", [84, 85, 576, 1280, 1400, 1404, 1449, 1499])
def test_find_mtu_bisects_to_the_largest_passing_size(limit):
    tried = []

    def passes(size):
        tried.append(size)
        return size <= limit
    assert cx.find_mtu(passes, 84, 1500) == (limit, True)
    assert len(tried) <= 11


def test_find_mtu_reports_a_lower_bound_when_steps_run_out():
    size, exact = cx.find_mtu(lambda s: s <= 1400, 84, 1500, max_steps=3)
    assert not exact and 84 <= size <= 1400


def test_route_text():
    assert cx.route_text("10.0.1.3 via 192.168.1.1 dev eth0 src 192.168.1.11 uid 0 \n    cache \n") == \
        "10.0.1.3 via 192.168.1.1 dev eth0 src 192.168.1.11"
    assert cx.route_text("RTNETLINK answers: Network is unreachable\n") == "RTNETLINK answers: Network is unreachable"
    assert cx.route_text("") is None and cx.route_text(None) is None


# --- count rules and counters --------------------------------------------------------------------

def test_count_rules_have_no_target_and_a_comment_per_counter():
    rules = cx.count_rules("p-h1", "10.0.0.2", ["10.0.2.2", "10.0.1.2", "10.0.1.2"])
    assert len(rules) == 1 + 2 * len(cx.COUNTERS)
    for rule in rules:
        assert "-j" not in rule["args"] and "--jump" not in rule["args"]
        assert rule["args"][-2:] == ["--comment", "crosshost-connectivity:p-h1:%s" % rule["counter"]]
    total = rules[0]
    assert total["counter"] == "total" and total["args"][:2] == ["-d", "10.0.0.2/32"] and "-s" not in total["args"]
    by = dict(((r["peer"], r["counter"]), r) for r in rules[1:])
    arrived = by[("10.0.1.2", "arrived")]
    assert (arrived["table"], arrived["chain"]) == ("raw", "PREROUTING")
    assert arrived["args"][:4] == ["-s", "10.0.1.2/32", "-d", "10.0.0.2/32"] and "echo-request" in arrived["args"]
    left = by[("10.0.1.2", "left")]
    assert left["args"][:4] == ["-s", "10.0.0.2/32", "-d", "10.0.1.2/32"] and "echo-request" in left["args"]
    replies = by[("10.0.2.2", "replies_delivered")]
    assert (replies["table"], replies["chain"]) == ("mangle", "POSTROUTING") and "echo-reply" in replies["args"]
    assert cx.count_rules("p", "10.0.0.2", []) == []


def test_parse_save_reads_counters_policies_and_quoted_comments():
    parsed = cx.parse_save(fixture("iptables_save_28_raw_drop.txt"))
    assert cx.forward_policy(parsed) == "DROP"
    ours = cx.our_rules(parsed)
    assert len(ours) == 17 and all(r["probe"] == "cap-h3" for r in ours)
    assert cx.our_rules(parsed, "other") == []
    total = [r for r in ours if r["counter"] == "total"][0]
    assert total["packets"] == 20 and total["src"] is None and total["dst"] == "10.0.2.2"


def test_counters_from_a_docker_28_host_that_drops_in_the_raw_table():
    parsed = cx.parse_save(fixture("iptables_save_28_raw_drop.txt"))
    counts = cx.counters(parsed, "cap-h3", "10.0.2.2")
    assert set(counts) == {"10.0.0.2", "10.0.1.2"}
    assert counts["10.0.0.2"] == {"arrived": 10, "forwarded": 0, "delivered": 0, "replied": 0, "left": 10,
                                  "replies_arrived": 10, "replies_forwarded": 0, "replies_delivered": 0}
    assert cx.total_arrived(parsed, "cap-h3", "10.0.2.2") == 20
    assert cx.raw_drops(parsed, "10.0.2.2") == {"rules": 1, "packets": 52}
    assert cx.raw_drops(parsed, "172.17.0.2") == {"rules": 1, "packets": 0}
    assert cx.raw_drops(parsed, "10.0.0.9") == {"rules": 0, "packets": 0}
    assert cx.counters(parsed, "cap-h3", "10.9.9.9") == {}
    assert cx.total_arrived(parsed, "nothing", None) is None


def test_counters_from_a_docker_20_10_host_that_passes_everything():
    parsed = cx.parse_save(fixture("iptables_save_20.10.txt"))
    counts = cx.counters(parsed, "cap-h1", None)
    assert counts["10.0.1.2"]["delivered"] == counts["10.0.1.2"]["arrived"] > 0
    assert cx.raw_drops(parsed, "10.0.0.2") == {"rules": 0, "packets": 0}


def test_missing_rules_makes_arming_idempotent():
    wanted = cx.count_rules("cap-h3", "10.0.2.2", ["10.0.0.2", "10.0.1.2"])
    parsed = cx.parse_save(fixture("iptables_save_28_raw_drop.txt"))
    assert cx.missing_rules(parsed, wanted) == []
    more = cx.count_rules("cap-h3", "10.0.2.2", ["10.0.0.2", "10.0.1.2", "10.0.3.2"])
    missing = cx.missing_rules(parsed, more)
    assert {r["peer"] for r in missing} == {"10.0.3.2"} and len(missing) == len(cx.COUNTERS)
    assert len(cx.missing_rules(cx.parse_save(""), wanted)) == len(wanted)


def test_parse_save_without_counters_and_legacy_format():
    text = "*filter\n:FORWARD ACCEPT\n-A FORWARD -s 10.0.0.1/32 -m comment --comment crosshost-connectivity:p:arrived\nCOMMIT\n"
    parsed = cx.parse_save(text)
    assert cx.forward_policy(parsed) == "ACCEPT"
    assert cx.our_rules(parsed)[0]["packets"] == 0
    assert cx.forward_policy(cx.parse_save("")) is None


# --- the judge -----------------------------------------------------------------------------------

def ping(ok=True, kind=None, detail=None, frm=None):
    return {"ok": ok, "sent": 3, "received": 3 if ok else 0, "kind": None if ok else (kind or "timeout"),
            "detail": None if ok else (detail or "no reply"), "from": frm, "mtu": None}


def cell(icmp=True, tcp=True, seen="10.0.0.2", mtu=True, path_mtu=1500, dns=None, route=None, **kwargs):
    c = {"address": "10.0.1.2", "source": "10.0.0.2", "port": 5000, "name": "p-h2", "route": route,
         "icmp": icmp if isinstance(icmp, dict) else ping(icmp),
         "tcp": tcp if isinstance(tcp, dict) else {"ok": tcp, "error": None if tcp else "timeout",
                                                   "seen": seen if tcp else None},
         "mtu": {"expected": 1500, "ok": mtu, "path_mtu": path_mtu, "detail": None if mtu else "no reply"},
         "dns": dns}
    c.update(kwargs)
    return c


def counts(**values):
    out = dict((name, 0) for name in cx.COUNTER_NAMES)
    out.update(values)
    return out


ALL = counts(arrived=3, forwarded=3, delivered=3, replied=3, left=3, replies_arrived=3, replies_forwarded=3,
             replies_delivered=3)


def ev(peer, **kwargs):
    c = kwargs.pop("c", ALL)
    e = {"counters": {peer: c}, "raw_drop": {"rules": 0, "packets": 0}, "forward_policy": "DROP", "ip_forward": 1,
         "total": None}
    e.update(kwargs)
    return e


def judge(c, src_ev=None, dst_ev=None, **kwargs):
    return cx.judge(c, "h1", "h2", src_ev, dst_ev, **kwargs)


def test_a_working_pair():
    v = judge(cell())
    assert v == {"status": "ok", "kind": "ok", "short": "ok", "cause": None}
    assert judge(cell(), ev("10.0.1.2"), ev("10.0.0.2"))["kind"] == "ok"


def test_snat_seen_unless_any_source_is_expected():
    v = judge(cell(seen="192.168.1.11"))
    assert v["kind"] == "snat" and v["short"] == "SNAT"
    assert v["cause"].startswith("SNAT seen (192.168.1.11): h2 saw 192.168.1.11 instead of h1's container address "
                                 "10.0.0.2")
    assert judge(cell(seen="192.168.1.11"), expect_source="any")["kind"] == "ok"


def test_snat_on_the_way_when_the_receiver_then_drops_the_masqueraded_packets():
    c = cell(icmp=False, tcp=False)
    src_ev = ev("10.0.1.2", c=counts(left=3))
    dst_ev = ev("10.0.0.2", c=counts(), total=3)
    v = judge(c, src_ev, dst_ev)
    assert v["kind"] == "snat" and "received requests to 10.0.1.2 from another source address" in v["cause"]
    # the same without arrivals from anywhere is a missing route
    assert judge(c, src_ev, ev("10.0.0.2", c=counts(), total=0))["kind"] == "no_route"


def test_mtu_too_small_with_the_path_mtu_found():
    v = judge(cell(mtu=False, path_mtu=1400))
    assert v["kind"] == "mtu" and v["short"] == "MTU 1400"
    assert "carries 1400 bytes with don't-fragment, expected 1500" in v["cause"]
    v = judge(cell(mtu=False, path_mtu=None))
    assert v["short"] == "MTU" and "carries fewer bytes" in v["cause"]


def test_names_only_count_when_asked():
    bad = {"ok": False, "addresses": [], "error": "p-h2 does not resolve"}
    assert judge(cell(dns=bad))["kind"] == "ok"
    v = judge(cell(dns=bad), by_name=True)
    assert v["kind"] == "name" and v["cause"] == "name p-h2: p-h2 does not resolve"
    assert judge(cell(dns={"ok": True, "addresses": ["10.0.1.2"]}), by_name=True)["kind"] == "ok"


@pytest.mark.parametrize("icmp, words", [
    (ping(False, "net_unreachable", "Destination Net Unreachable", "192.168.1.1"),
     "no route to 10.0.1.2: Destination Net Unreachable (from 192.168.1.1) (h1 routes it: 10.0.1.2 via 192.168.1.1 "
     "dev eth0); route h2's container subnet to h2"),
    (ping(False, "host_unreachable", "Destination Host Unreachable", "10.0.0.1"), "Destination Host Unreachable"),
])
def test_no_route_from_the_senders_icmp_error(icmp, words):
    v = judge(cell(icmp=icmp, tcp=False, route="10.0.1.2 via 192.168.1.1 dev eth0"))
    assert v["kind"] == "no_route" and v["short"] == "no route" and words in v["cause"]


def test_no_route_from_a_tcp_error_alone():
    c = cell(icmp=False, tcp={"ok": False, "error": "network unreachable", "seen": None})
    assert judge(c)["kind"] == "no_route"


def test_rejected_and_routing_loop():
    v = judge(cell(icmp=ping(False, "rejected", "Packet filtered", "192.168.1.12"), tcp=False))
    assert v["kind"] == "rejected" and "Packet filtered (from 192.168.1.12)" in v["cause"]
    v = judge(cell(icmp=ping(False, "ttl", "Time to live exceeded", "192.168.1.1"), tcp=False))
    assert v["kind"] == "no_route" and v["cause"].startswith("routing loop")


def test_tcp_or_icmp_alone():
    v = judge(cell(tcp={"ok": False, "error": "refused", "seen": None}))
    assert v["kind"] == "tcp" and "refused although ICMP passes" in v["cause"]
    v = judge(cell(tcp={"ok": False, "error": "timeout", "seen": None}))
    assert v["kind"] == "tcp" and "a firewall filters TCP" in v["cause"]
    v = judge(cell(icmp=False))
    assert v["kind"] == "icmp" and v["short"] == "ICMP"
    v = judge(cell(tcp={"ok": True, "error": "no probe answer", "seen": None, "reply": "SSH-2.0"}))
    assert v["kind"] == "tcp" and "another program listens" in v["cause"]


def test_timeout_without_evidence_names_what_to_look_at_per_driver():
    c = cell(icmp=False, tcp=False)
    assert "FORWARD drop on the peer" in judge(c)["cause"]
    assert "L2 segment" in judge(c, driver="macvlan")["cause"]
    assert "UDP 4789" in judge(c, driver="overlay")["cause"]
    assert judge(c)["short"] == "timeout"


def test_not_sent_when_nothing_left_the_sender():
    v = judge(cell(icmp=False, tcp=False), ev("10.0.1.2", c=counts(), ip_forward=0), ev("10.0.0.2", c=counts()))
    assert v["kind"] == "not_sent" and "ip_forward=0" in v["cause"]


FAILING = cell(icmp=False, tcp=False)
SENT = ev("10.0.1.2", c=counts(left=3))


def test_no_route_when_nothing_arrived_at_the_receiver():
    v = judge(FAILING, SENT, ev("10.0.0.2", c=counts(replied=0)))
    assert v["kind"] == "no_route" and "nothing sent from 10.0.0.2 reached h2" in v["cause"]


def test_raw_drop_on_the_receiver():
    v = judge(FAILING, SENT, ev("10.0.0.2", c=counts(arrived=3), raw_drop={"rules": 1, "packets": 52}))
    assert v["kind"] == "raw_drop" and v["short"] == "raw drop"
    assert v["cause"].startswith("raw-table drop on h2 (packets from 10.0.0.2): Docker 28")
    assert "allow-direct-routing" in v["cause"] and "52 packets" in v["cause"]


def test_forwarding_off_or_an_early_drop_on_the_receiver():
    assert judge(FAILING, SENT, ev("10.0.0.2", c=counts(arrived=3), ip_forward=0))["kind"] == "forwarding_off"
    assert judge(FAILING, SENT, ev("10.0.0.2", c=counts(arrived=3)))["kind"] == "input_drop"


def test_forward_drop_on_the_receiver():
    v = judge(FAILING, SENT, ev("10.0.0.2", c=counts(arrived=3, forwarded=3)))
    assert v["kind"] == "forward_drop" and v["short"] == "FWD drop"
    assert v["cause"].startswith("FORWARD drop on h2: packets from 10.0.0.2 reached h2") and "DOCKER-USER" in v["cause"]


DELIVERED = ev("10.0.0.2", c=counts(arrived=3, forwarded=3, delivered=3, replied=3))


def test_reply_path_no_route_back():
    v = judge(FAILING, SENT, DELIVERED)
    assert v["kind"] == "no_route" and v["cause"].startswith("no route back: the replies from h2 never reached h1")


def test_reply_path_raw_drop_on_the_sender():
    v = judge(FAILING, ev("10.0.1.2", c=counts(left=3, replies_arrived=3), raw_drop={"rules": 1, "packets": 9}), DELIVERED)
    assert v["kind"] == "raw_drop" and v["cause"].startswith("raw-table drop on h1 (the replies from h2)")


def test_reply_path_forward_drop_on_the_sender():
    v = judge(FAILING, ev("10.0.1.2", c=counts(left=3, replies_arrived=3, replies_forwarded=3)), DELIVERED)
    assert v["kind"] == "forward_drop" and "FORWARD drop on h1: the replies from h2 reached h1" in v["cause"]


def test_reply_path_no_reply_and_lost_replies():
    v = judge(FAILING, SENT, ev("10.0.0.2", c=counts(arrived=3, forwarded=3, delivered=3)))
    assert v["kind"] == "timeout" and "no reply left h2" in v["cause"]
    v = judge(FAILING, ev("10.0.1.2", c=counts(left=3, replies_arrived=3, replies_forwarded=3, replies_delivered=3)),
              DELIVERED)
    assert v["kind"] == "timeout" and "replies are lost on the way back" in v["cause"]


def test_evidence_without_this_pair_falls_back_to_the_senders_view():
    v = judge(FAILING, ev("10.9.9.9"), ev("10.9.9.8"))
    assert v["kind"] == "timeout" and "no answer from 10.0.1.2" in v["cause"]
    assert judge(FAILING, {"counters": None}, {})["kind"] == "timeout"


def test_missing_results():
    assert judge(None)["kind"] == "no_probe"
    assert judge({"icmp": None})["short"] == "no probe"


# --- the report ----------------------------------------------------------------------------------

def host(address, row=None, counters=None, driver="bridge", mtu=1500, network="bridge"):
    return {"probe": {"address": address, "driver": driver, "mtu": mtu, "network": network},
            "tested": {"row": row or {}},
            "evidence": {"counters": counters or {}, "raw_drop": {"rules": 0, "packets": 0}, "ip_forward": 1,
                         "forward_policy": "DROP", "total": None}}


def pair(dst_address, src_address, **kwargs):
    kwargs.setdefault("seen", src_address)
    return cell(address=dst_address, source=src_address, **kwargs)


def test_report_of_a_healthy_three_host_cluster():
    a = {"h1": "10.0.0.3", "h2": "10.0.1.3", "h3": "10.0.2.3"}
    data = dict((h, host(a[h], dict((d, pair(a[d], a[h])) for d in a if d != h))) for h in a)
    rep = cx.report(data, ["h1", "h2", "h3"])
    assert rep["ok"] and rep["broken"] == [] and rep["hosts"] == ["h1", "h2", "h3"]
    assert rep["summary"] == "network bridge (bridge, MTU 1500): 3 hosts, 6 pairs, 0 broken"
    assert rep["labels"] == {"h1": "h1 10.0.0.3", "h2": "h2 10.0.1.3", "h3": "h3 10.0.2.3"}
    assert rep["table"][1].split() == ["h1", "10.0.0.3", "-", "ok", "ok"]
    cell_ = rep["matrix"]["h1"]["h2"]
    assert cell_ == {"icmp": True, "tcp": True, "mtu": True, "path_mtu": 1500, "expected_mtu": 1500,
                     "source": "10.0.0.3", "name": None, "status": "ok", "kind": "ok", "short": "ok", "cause": None}
    assert set(rep["matrix"]) == {"h1", "h2", "h3"} and "h1" not in rep["matrix"]["h1"]


def test_report_lists_exactly_the_broken_pairs_with_their_cause():
    a = {"h1": "10.0.0.3", "h2": "10.0.1.3", "h3": "10.0.2.3"}
    row = dict((h, dict((d, pair(a[d], a[h])) for d in a if d != h)) for h in a)
    row["h1"]["h3"] = pair(a["h3"], a["h1"], icmp=False, tcp=False)
    row["h2"]["h1"] = pair(a["h1"], a["h2"], seen="192.168.1.12")
    data = dict((h, host(a[h], row[h])) for h in a)
    data["h3"]["evidence"]["counters"] = {a["h1"]: counts(arrived=3)}
    data["h3"]["evidence"]["raw_drop"] = {"rules": 1, "packets": 9}
    data["h1"]["evidence"]["counters"] = {a["h3"]: counts(left=3)}
    rep = cx.report(data, ["h1", "h2", "h3"])
    assert not rep["ok"]
    assert [b.split(":")[0] for b in rep["broken"]] == ["h1 -> h3", "h2 -> h1"]
    assert rep["broken"][0].startswith("h1 -> h3: raw-table drop on h3")
    assert rep["broken"][1].startswith("h2 -> h1: SNAT seen (192.168.1.12)")
    assert rep["table"][1].split()[2:] == ["-", "ok", "raw", "drop"]
    assert rep["table"][2].split()[2:] == ["SNAT", "-", "ok"]
    assert "3 hosts, 6 pairs, 2 broken" in rep["summary"]


def test_report_with_a_host_whose_probe_never_started():
    data = {"h1": host("10.0.0.3", {"h2": pair("10.0.1.3", "10.0.0.3")}), "h2": None}
    rep = cx.report(data, ["h1", "h2"])
    assert rep["matrix"]["h1"]["h2"]["status"] == "ok"
    assert rep["matrix"]["h2"]["h1"]["kind"] == "no_probe"
    assert rep["broken"] == ["h2 -> h1: no probe result for h2 -> h1 (a probe did not start)"]
    assert rep["labels"]["h2"] == "h2"


def test_report_defaults_and_errors():
    assert cx.report({})["ok"] and cx.report(None)["hosts"] == []
    rep = cx.report({"b": host("10.0.0.2"), "a": host("10.0.0.1")})
    assert rep["hosts"] == ["a", "b"]
    with pytest.raises(cx.ConnectivityError):
        cx.report({}, expect_source="nobody")


def test_report_by_name_on_an_overlay_network():
    a = {"h1": "10.20.0.2", "h2": "10.20.0.3"}
    dns_ok = {"ok": True, "addresses": ["x"], "error": None}
    dns_bad = {"ok": False, "addresses": [], "error": "p-h1 does not resolve"}
    data = {"h1": host(a["h1"], {"h2": pair(a["h2"], a["h1"], dns=dns_ok)}, driver="overlay", mtu=1450, network="ov"),
            "h2": host(a["h2"], {"h1": pair(a["h1"], a["h2"], dns=dns_bad)}, driver="overlay", mtu=1450, network="ov")}
    rep = cx.report(data, ["h1", "h2"], by_name=True)
    assert rep["summary"].startswith("network ov (overlay, MTU 1450)")
    assert rep["matrix"]["h1"]["h2"]["name"] is True and rep["matrix"]["h2"]["h1"]["kind"] == "name"
    assert cx.report(data, ["h1", "h2"])["ok"]


def test_probes_with_the_same_address_are_a_conflict_not_a_test():
    v = judge({"address": "172.17.0.2", "source": "172.17.0.2", "conflict": True, "icmp": None, "tcp": None})
    assert v["kind"] == "conflict" and v["short"] == "same IP"
    assert v["cause"].startswith("h1 and h2 have the same probe address 172.17.0.2: their container subnets overlap")
    a = {"h1": "172.17.0.2", "h2": "172.17.0.2", "h3": "10.0.2.3"}
    data = dict((h, host(a[h], dict((d, pair(a[d], a[h])) for d in a if d != h))) for h in a)
    rep = cx.report(data, ["h1", "h2", "h3"])
    kinds = dict(((s, d), c["kind"]) for s, row in rep["matrix"].items() for d, c in row.items())
    assert kinds == {("h1", "h2"): "conflict", ("h2", "h1"): "conflict", ("h3", "h1"): "conflict",
                     ("h3", "h2"): "conflict", ("h1", "h3"): "ok", ("h2", "h3"): "ok"}
    assert "h3 -> h1: h1 and h2 have the same probe address 172.17.0.2" in " | ".join(rep["broken"])


def test_a_hosts_results_without_its_probe_are_not_used():
    stale = host("10.0.0.3", {"h2": pair("10.0.1.3", "10.0.0.3")})
    stale["probe"] = None  # this run's probe did not start; the row is left from an earlier run
    rep = cx.report({"h1": stale, "h2": host("10.0.1.3")}, ["h1", "h2"])
    assert rep["matrix"]["h1"]["h2"]["kind"] == "no_probe"


# Docker 20.10's `docker network inspect` of a legacy (cluster-store) overlay, as seen in the lab: local
# containers are keyed by container id, remote endpoints by "ep-<endpoint id>".
KV_NET = {"Driver": "overlay", "Scope": "global", "Containers": {
    "805f100bc939": {"Name": "probe-h2"},
    "ep-a3ecb4e36ce7": {"Name": "probe-h1"}}}


def test_kv_teardown_when_the_probe_is_the_last_local_container():
    assert cx.kv_sandbox_teardown(KV_NET, "805f100bc939", "20.10.24+dfsg1")
    assert cx.kv_sandbox_teardown(dict(KV_NET, Containers={}), "805f100bc939", "20.10.24")  # already left


def test_kv_no_teardown_while_another_local_container_holds_the_sandbox():
    net = dict(KV_NET, Containers=dict(KV_NET["Containers"], keeper1234={"Name": "kv-keeper-h2"}))
    assert not cx.kv_sandbox_teardown(net, "805f100bc939", "20.10.24+dfsg1")


@pytest.mark.parametrize("network, version", [
    (dict(KV_NET, Scope="swarm"), "20.10.24"),      # swarm overlay: no watchMiss goroutine
    (dict(KV_NET, Driver="bridge", Scope="local"), "20.10.24"),
    (KV_NET, "23.0.0"),                              # fixed (and cluster-store is gone)
    (KV_NET, "28.5.2+dfsg4"),
    (None, "20.10.24"),
])
def test_kv_teardown_only_for_legacy_overlays_before_23(network, version):
    assert not cx.kv_sandbox_teardown(network, "805f100bc939", version)


def test_a_broken_pair_on_a_host_whose_daemon_json_is_not_applied_says_so_first():
    cell = {"conflict": True, "address": "172.17.0.2"}
    pending = ["bip is 10.0.1.1/24 in daemon.json, but docker0 has 172.17.0.1/16"]
    verdict = cx.judge(cell, "h1", "h2", {"daemon_pending": pending}, {"daemon_pending": []})
    assert verdict["status"] == "FAIL" and verdict["kind"] == "conflict" and verdict["short"] == "not applied"
    assert verdict["cause"].startswith("daemon.json is not applied on h1 (bip is 10.0.1.1/24 in daemon.json, "
                                       "but docker0 has 172.17.0.1/16): restart dockerd")
    assert "same probe address" in verdict["cause"]  # the original cause follows
    plain = cx.judge(cell, "h1", "h2", {"daemon_pending": []}, None)
    assert plain["cause"].startswith("h1 and h2 have the same probe address")


def test_a_passing_pair_is_not_blamed_on_a_pending_restart():
    ok = {"icmp": {"ok": True}, "tcp": {"ok": True, "seen": "10.0.0.2"}, "source": "10.0.0.2", "address": "10.0.1.2"}
    verdict = cx.judge(ok, "h1", "h2", {"daemon_pending": ["x"]}, None)
    assert verdict["status"] == "ok"


# --- the report of a ring (verify_pairs: ring) ------------------------------------------------------

def ring_data(n, k, skip=()):
    """n hosts, each with ok results for its ring peers; hosts in `skip` have no probe."""
    names = ["h%d" % i for i in range(1, n + 1)]
    a = dict((h, "10.0.%d.3" % i) for i, h in enumerate(names))
    data = {}
    for i, h in enumerate(names):
        if h in skip:
            data[h] = None
            continue
        peers = [names[(i + s) % n] for s in range(1, k + 1)]
        data[h] = host(a[h], dict((d, pair(a[d], a[h])) for d in peers if d not in skip))  # as verify_peers
    return names, data


def test_report_of_a_ring_counts_only_the_tested_pairs():
    names, data = ring_data(25, 2)
    rep = cx.report(data, names, pairs="ring", ring_peers=2)
    assert rep["ok"] and rep["broken"] == []
    assert rep["summary"] == "network bridge (bridge, MTU 1500): 25 hosts, 50 of 600 pairs tested (ring, 2 peers each), 0 broken"
    assert rep["pairs"] == {"mode": "ring", "ring_peers": 2, "tested": 50, "total": 600}
    assert set(rep["matrix"]["h1"]) == {"h2", "h3"} and set(rep["matrix"]["h25"]) == {"h1", "h2"}
    assert len(rep["table"]) == 26 and len({len(line) for line in rep["table"]}) == 1
    row = rep["table"][1].split()
    assert row[:5] == ["h1", "10.0.0.3", "-", "ok", "ok"] and set(row[5:]) == {"\u00b7"}
    assert rep["table"][25].split()[2:5] == ["ok", "ok", "\u00b7"] and rep["table"][25].split()[-1] == "-"


def test_report_of_a_ring_of_one_peer_and_auto():
    names, data = ring_data(12, 1)
    rep = cx.report(data, names, pairs="ring", ring_peers=1)
    assert "12 hosts, 12 of 132 pairs tested (ring, 1 peer each), 0 broken" in rep["summary"]
    names, data = ring_data(12, 2)
    assert "12 hosts, 24 of 132 pairs tested (ring, 2 peers each), 0 broken" in cx.report(data, names, pairs="auto")["summary"]
    # auto under the threshold: the full matrix, so the untested pairs are broken (no probe result)
    rep = cx.report(data, names, pairs="auto", all_pairs_max_hosts=12)
    assert "12 hosts, 132 pairs, 108 broken" in rep["summary"] and rep["pairs"]["mode"] == "all"


def test_report_of_a_full_ring_is_the_full_matrix_output():
    a = {"h1": "10.0.0.3", "h2": "10.0.1.3", "h3": "10.0.2.3"}
    data = dict((h, host(a[h], dict((d, pair(a[d], a[h])) for d in a if d != h))) for h in a)
    full = cx.report(data, ["h1", "h2", "h3"])
    assert full["pairs"] == {"mode": "all", "ring_peers": None, "tested": 6, "total": 6}
    for kwargs in ({"pairs": "ring", "ring_peers": 2}, {"pairs": "auto"}, {"pairs": "ring", "ring_peers": 9},
                   {"pairs": "all", "ring_peers": 1}):
        assert cx.report(data, ["h1", "h2", "h3"], **kwargs) == full
    assert full["summary"] == "network bridge (bridge, MTU 1500): 3 hosts, 6 pairs, 0 broken"


def test_report_of_a_ring_with_a_host_whose_probe_never_started():
    names, data = ring_data(5, 1, skip=("h3",))
    rep = cx.report(data, names, pairs="ring", ring_peers=1)
    assert not rep["ok"]
    assert rep["broken"] == ["h2 -> h3: no probe result for h2 -> h3 (a probe did not start)",
                             "h3 -> h4: no probe result for h3 -> h4 (a probe did not start)"]
    assert "5 hosts, 5 of 20 pairs tested (ring, 1 peer each), 2 broken" in rep["summary"]
    assert rep["labels"]["h3"] == "h3" and rep["table"][3].split()[:1] == ["h3"]
    assert rep["matrix"]["h3"]["h4"]["kind"] == "no_probe" and rep["matrix"]["h2"]["h3"]["short"] == "no probe"
    # a broken pair in a ring is judged as in the full matrix
    names, data = ring_data(4, 1)
    data["h1"]["tested"]["row"]["h2"] = pair("10.0.1.3", "10.0.0.3", seen="192.168.1.11")
    rep = cx.report(data, names, pairs="ring", ring_peers=1)
    assert [b.split(":")[0] for b in rep["broken"]] == ["h1 -> h2"] and rep["matrix"]["h1"]["h2"]["kind"] == "snat"


def test_report_pair_options_errors():
    with pytest.raises(cx.ConnectivityError, match="verify_pairs: 'star' is not one of auto, all, ring"):
        cx.report({}, pairs="star")
    with pytest.raises(cx.ConnectivityError, match="verify_ring_peers: 0 is below 1"):
        cx.report({}, pairs="ring", ring_peers=0)
