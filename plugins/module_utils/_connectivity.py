# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connectivity checks between containers on several hosts: pure Python (no Ansible, no I/O).

Shared by the connectivity module (which runs the probes on one host) and the connectivity_report
filter (which judges every ordered pair of hosts on the controller):

- peers: validation of the module's `peers` list;
- ping: reading iputils ping's output (replies, ICMP errors, local errors, the MTU it reports);
- counters: the count-only iptables rules that tell, on a receiving host, how far a peer's packets
  got (arrived at the host, passed to FORWARD, left towards the container), and reading them back
  with Docker 28's raw-table DROP rules from `iptables-save -c`;
- judging: from that evidence, whether a pair works and the likely cause when it does not;
- report: the host-by-host matrix, its text table and the list of broken pairs.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.crosshost.docker.plugins.module_utils import _iptables
from ansible_collections.crosshost.docker.plugins.module_utils._matrix import NOT_TESTED, matrix_table
from ansible_collections.crosshost.docker.plugins.module_utils._verify_pairs import VerifyPairsError, select_pairs

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

TAG = "crosshost-connectivity"
LABEL = "crosshost.docker.connectivity"
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
EXPECT_SOURCE = ("container", "any")

# counter -> (table, chain, direction, ICMP type). "in" counts peer -> this probe, "out" this probe -> peer.
# Only ICMP echo packets are counted, requests and replies apart: the peer's own tests of this host run at
# the same time, and their replies pass the firewall as ESTABLISHED where requests would be dropped.
COUNTERS = (
    ("arrived", "raw", "PREROUTING", "in", "echo-request"),       # reached this host (before Docker 28's raw DROP)
    ("forwarded", "mangle", "FORWARD", "in", "echo-request"),     # got past the raw table to forwarding
    ("delivered", "mangle", "POSTROUTING", "in", "echo-request"),  # passed filter FORWARD, towards the container
    ("replied", "mangle", "POSTROUTING", "out", "echo-reply"),    # this probe's replies left the host
    ("left", "mangle", "POSTROUTING", "out", "echo-request"),     # this probe's own requests left the host
    ("replies_arrived", "raw", "PREROUTING", "in", "echo-reply"),  # the peer's replies to them: same steps
    ("replies_forwarded", "mangle", "FORWARD", "in", "echo-reply"),
    ("replies_delivered", "mangle", "POSTROUTING", "in", "echo-reply"),
)
# One more per probe: echo requests to it from any source. More than the peers' "arrived" together
# means requests came in under another source address (masqueraded on the way).
TOTAL = ("total", "raw", "PREROUTING", "echo-request")
COUNTER_NAMES = tuple(c[0] for c in COUNTERS)
DIRECTIONS = {c[0]: c[3] for c in COUNTERS}

SHORT = {
    "ok": "ok",
    "no_route": "no route",
    "raw_drop": "raw drop",
    "forward_drop": "FWD drop",
    "snat": "SNAT",
    "mtu": "MTU",
    "rejected": "rejected",
    "tcp": "TCP",
    "icmp": "ICMP",
    "name": "name",
    "timeout": "timeout",
    "not_sent": "not sent",
    "forwarding_off": "no fwd",
    "input_drop": "dropped",
    "no_probe": "no probe",
    "conflict": "same IP",
}


class ConnectivityError(PlanError):
    """Bad input, with a message that names the field and the fix."""


# --- input ----------------------------------------------------------------------------------------

def is_ipv4(value):
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        return False
    return True


def check_name(value, field):
    if value is None or not NAME_RE.match(str(value)):
        raise ConnectivityError("%s: %r is not a valid container name (letters, digits, '_', '.', '-'; starting with a "
                                "letter or digit)" % (field, value))
    return str(value)


def normalize_peers(peers, default_port):
    """Validated copies of the module's `peers`: [{host, address, name, port}], hosts unique."""
    out = []
    seen = set()
    for index, peer in enumerate(peers or []):
        where = "peers[%d]" % index
        if not isinstance(peer, dict):
            raise ConnectivityError("%s: expected a dict with host and address, got %r" % (where, peer))
        unknown = sorted(set(peer) - {"host", "address", "name", "port"})
        if unknown:
            raise ConnectivityError("%s: unknown key(s) %s; use host, address, name, port" % (where, ", ".join(unknown)))
        host = peer.get("host")
        if host is None or str(host) == "":
            raise ConnectivityError("%s.host is required (the peer's inventory name)" % where)
        host = str(host)
        if host in seen:
            raise ConnectivityError("%s.host: %s is listed twice" % (where, host))
        seen.add(host)
        address = peer.get("address")
        if not is_ipv4(address):
            raise ConnectivityError("%s.address: %r is not an IPv4 address (the peer probe's address on the network)"
                                    % (where, address))
        name = peer.get("name")
        if name is not None and name != "":
            name = check_name(name, where + ".name")
        else:
            name = None
        port = _int(peer.get("port"), where + ".port", 1, 65535) if peer.get("port") not in (None, "") else default_port
        out.append({"host": host, "address": str(address), "name": name, "port": port})
    return out


def _int(value, field, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConnectivityError("%s: %r is not a number" % (field, value))
    if not low <= number <= high:
        raise ConnectivityError("%s: %d is out of range (%d-%d)" % (field, number, low, high))
    return number


# --- ping ----------------------------------------------------------------------------------------

_STATS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_FROM = re.compile(r"^From (\S+?)(?: \(\S+\))?:? icmp_seq=\d+ (.+)$")
_MTU = re.compile(r"mtu\s*=\s*(\d+)")
_PING_KINDS = (
    ("frag_needed", ("frag needed",)),
    ("local_mtu", ("message too long",)),
    ("net_unreachable", ("net unreachable", "net unknown", "network is unreachable")),
    ("host_unreachable", ("host unreachable", "host unknown", "no route to host")),
    ("rejected", ("port unreachable", "protocol unreachable", "prohibited", "packet filtered",
                  "operation not permitted", "source host isolated")),
    ("ttl", ("time to live exceeded",)),
)


def ping_args(ping, address, timeout, count=3, size=None, dont_fragment=False):
    """An iputils ping command line: numeric, `count` echo requests 0.2 s apart, `timeout` s at most."""
    argv = [ping, "-n", "-c", str(count), "-i", "0.2", "-w", str(max(1, int(timeout)))]
    if dont_fragment:
        argv += ["-M", "do"]
    if size is not None:
        argv += ["-s", str(size)]
    return argv + [address]


def parse_ping(rc, stdout, stderr):
    """What an iputils ping run says: {ok, sent, received, kind, detail, from, mtu}.

    kind: None (replies), net_unreachable, host_unreachable, rejected, frag_needed, local_mtu, ttl,
    timeout (no reply, no error) or error (ping itself failed). `from` is the address that sent the
    ICMP error, `mtu` the MTU a "Frag needed" error or a local "message too long" error reports.
    """
    stdout = stdout or ""
    stderr = stderr or ""
    sent = received = 0
    stats = _STATS.search(stdout)
    if stats:
        sent, received = int(stats.group(1)), int(stats.group(2))
    result = {"ok": received > 0, "sent": sent, "received": received, "kind": None, "detail": None, "from": None,
              "mtu": None}
    errors = []
    for line in stdout.splitlines():
        match = _FROM.match(line.strip())
        if match:
            errors.append((match.group(1), match.group(2).strip()))
    for line in stderr.splitlines():
        line = line.strip()
        if line:
            errors.append((None, re.sub(r"^ping:\s*", "", line)))
    mtus = [int(m.group(1)) for _frm, text in errors for m in [_MTU.search(text)] if m]
    if mtus:
        result["mtu"] = min(mtus)
    if received > 0:
        return result
    for kind, words in _PING_KINDS:
        for frm, text in errors:
            if any(word in text.lower() for word in words):
                result.update(kind=kind, detail=text, **{"from": frm})
                return result
    if errors:
        frm, text = errors[0]
        result.update(kind="error" if not stats else "other", detail=text, **{"from": frm})
        return result
    if not stats and rc != 0:
        result.update(kind="error", detail="ping exited with %s and printed no statistics" % rc)
        return result
    result.update(kind="timeout", detail="no reply")
    return result


def ping_text(result):
    """One line for a ping result, as people read them."""
    if result.get("ok"):
        return "%s/%s replies" % (result.get("received"), result.get("sent"))
    detail = result.get("detail") or result.get("kind") or "no reply"
    return "%s (from %s)" % (detail, result["from"]) if result.get("from") else detail


def find_mtu(passes, low, high, max_steps=11):
    """Largest packet size that passes, by bisection between a size known to pass (`low`) and one
    known to fail (`high`); `passes(size)` runs one don't-fragment probe. Returns (size, exact):
    exact is False when `max_steps` ran out first (then size is a lower bound)."""
    steps = 0
    while high - low > 1 and steps < max_steps:
        middle = (low + high) // 2
        if passes(middle):
            low = middle
        else:
            high = middle
        steps += 1
    return low, high - low <= 1


def route_text(text):
    """`ip route get` output as one short line (without the uid/cache noise), or None."""
    words = []
    for word in " ".join((text or "").split()).split(" "):
        if word in ("uid", "cache") or not word:
            break
        words.append(word)
    return " ".join(words) or None


# --- counters (receiver-side evidence) -----------------------------------------------------------

def comment(name, counter):
    return "%s:%s:%s" % (TAG, name, counter)


def count_rules(name, own, peers):
    """The count-only rules (no target, so they never change a verdict) for probe `name` with
    address `own`: [{table, chain, args, counter, peer}], one of each COUNTERS per peer address."""
    rules = []
    if peers:
        counter, table, chain, icmp_type = TOTAL
        rules.append({"table": table, "chain": chain, "counter": counter, "peer": None,
                      "args": ["-d", own + "/32", "-p", "icmp", "-m", "icmp", "--icmp-type", icmp_type, "-m", "comment",
                               "--comment", comment(name, counter)]})
    for peer in sorted(set(peers)):
        for counter, table, chain, direction, icmp_type in COUNTERS:
            src, dst = (peer, own) if direction == "in" else (own, peer)
            rules.append({"table": table, "chain": chain, "counter": counter, "peer": peer,
                          "args": ["-s", src + "/32", "-d", dst + "/32", "-p", "icmp", "-m", "icmp", "--icmp-type",
                                   icmp_type, "-m", "comment", "--comment", comment(name, counter)]})
    return rules


def parse_save(text):
    """`iptables-save -c`, parsed by the one parser (_iptables.parse_save with counters, lenient):
    ``parsed["rules"]`` lists every rule as {table, chain, packets, bytes, spec, tokens}. Counters are 0
    when the output has none."""
    return _iptables.parse_save(text, counters=True, strict=False)


_option = _iptables.option


def _host(value):
    return value[:-3] if value and value.endswith("/32") else value


def our_rules(parsed, name=None):
    """Our count rules in parsed iptables-save output (all probes, or probe `name`), each with its
    counter, source, destination and probe name."""
    out = []
    for rule in parsed["rules"]:
        text = _option(rule["tokens"], "--comment")
        if not text or not text.startswith(TAG + ":"):
            continue
        parts = text.split(":")
        if len(parts) != 3 or (name is not None and parts[1] != name):
            continue
        out.append(dict(rule, probe=parts[1], counter=parts[2], src=_host(_option(rule["tokens"], "-s", "--source")),
                        dst=_host(_option(rule["tokens"], "-d", "--destination"))))
    return out


def counters(parsed, name, own):
    """{peer address: {counter: packets}} (every COUNTER_NAMES) from our rules for probe `name`."""
    out = {}
    for rule in our_rules(parsed, name):
        if rule["counter"] not in COUNTER_NAMES:
            continue
        direction = DIRECTIONS[rule["counter"]]
        peer = rule["src"] if direction == "in" else rule["dst"]
        if own is not None and (rule["dst"] if direction == "in" else rule["src"]) != own:
            continue
        entry = out.setdefault(peer, dict((c, None) for c in COUNTER_NAMES))
        entry[rule["counter"]] = (entry[rule["counter"]] or 0) + rule["packets"]
    return out


def total_arrived(parsed, name, own):
    """Echo requests that reached probe `name` (address `own`) from any source, or None without the rule."""
    found = [r for r in our_rules(parsed, name) if r["counter"] == TOTAL[0] and (own is None or r["dst"] == own)]
    return sum(r["packets"] for r in found) if found else None


def missing_rules(parsed, wanted):
    """The wanted count rules (from count_rules) that are not in place yet."""
    have = set((r["table"], r["chain"], r["src"], r["dst"], _option(r["tokens"], "--comment"))
               for r in our_rules(parsed))
    out = []
    for rule in wanted:
        args = rule["args"]
        key = (rule["table"], rule["chain"], _host(_option(args, "-s")), _host(_option(args, "-d")),
               _option(args, "--comment"))
        if key not in have:
            out.append(rule)
    return out


def raw_drops(parsed, address):
    """Docker 28's raw-table DROP rules for one container address: {rules, packets}."""
    found = [r for r in _iptables.raw_drops(parsed) if _host(r["destination"]) == address]
    return {"rules": len(found), "packets": sum(r["packets"] for r in found)}


def forward_policy(parsed):
    """filter/FORWARD's policy as iptables-save printed it, None when it printed no filter table."""
    return ((parsed["chains"].get("filter") or {}).get("FORWARD") or {}).get("policy")


# --- judging -------------------------------------------------------------------------------------

def _ok(part):
    return bool(part and part.get("ok"))


def _verdict(kind, cause, detail=None):
    short = SHORT.get(kind, kind)
    if kind == "mtu" and detail:
        short = "MTU %s" % detail
    return {"status": "ok" if kind == "ok" else "FAIL", "kind": kind, "short": short, "cause": cause}


def _evidence_counts(ev, peer):
    if not ev or not isinstance(ev.get("counters"), dict):
        return None
    found = ev["counters"].get(peer)
    if not found:
        return None
    return found


def _sender_hint(driver):
    if driver == "macvlan":
        return ("the hosts' parent interfaces are not on one L2 segment, or the switch or hypervisor drops "
                "frames for unknown MAC addresses (promiscuous mode, MAC filtering)")
    if driver == "overlay":
        return ("VXLAN (UDP 4789) or swarm's gossip (TCP/UDP 7946) is blocked between the hosts, or the peer "
                "is not attached to the network")
    return ("no route to the peer's container subnet, a FORWARD drop on the peer, or (Docker 28) a raw-table "
            "drop on the peer")


def judge(cell, src="this host", dst="the peer", src_ev=None, dst_ev=None, expect_source="container",
          by_name=False, driver=None):
    """Status and likely cause of one ordered pair (see _judge). A broken pair where a host's dockerd
    does not use its daemon.json yet (evidence `daemon_pending`) says so first: that is the cause to fix."""
    verdict = _judge(cell, src, dst, src_ev, dst_ev, expect_source, by_name, driver)
    if verdict["status"] == "ok":
        return verdict
    pending = [(host, (ev or {}).get("daemon_pending")) for host, ev in ((src, src_ev), (dst, dst_ev))]
    pending = [(host, reasons) for host, reasons in pending if reasons]
    if pending:
        told = "; ".join("on %s (%s)" % (host, "; ".join(reasons)) for host, reasons in pending)
        verdict = dict(verdict, short="not applied", cause="daemon.json is not applied %s: restart dockerd (crosshost.docker.docker_daemon "
                                      "with state=applied) and verify again. Before that: %s" % (told, verdict["cause"]))
    return verdict


def _judge(cell, src="this host", dst="the peer", src_ev=None, dst_ev=None, expect_source="container",
           by_name=False, driver=None):
    """Status and likely cause of one ordered pair.

    cell: the sender's results for the peer (the connectivity module's `row[peer]`: icmp, tcp,
    mtu, dns, route, source, address). src_ev / dst_ev: the hosts' evidence (module state=absent's
    `evidence`: count-rule counters per peer address, Docker 28 raw drops, FORWARD policy,
    ip_forward), or None when there is none (macvlan and overlay networks, or evidence off).
    Returns {status: ok|FAIL, kind, short, cause}.
    """
    if cell and cell.get("conflict"):
        return _conflict([src, dst], cell.get("address"))
    if not cell or not cell.get("icmp") or not cell.get("tcp"):
        return _verdict("no_probe", "no probe result for %s -> %s (a probe did not start)" % (src, dst))
    icmp, tcp = cell["icmp"], cell["tcp"]
    mtu = cell.get("mtu") or {}
    address = cell.get("address")
    source = cell.get("source")
    port = cell.get("port")
    if _ok(tcp) and not tcp.get("seen"):
        return _verdict("tcp", "TCP to %s:%s answered without a probe reply (%s): another program listens on that "
                               "port; choose another port" % (address, port, tcp.get("error") or tcp.get("reply")))
    if _ok(icmp) and _ok(tcp):
        seen = tcp.get("seen")
        if expect_source == "container" and source and seen != source:
            return _verdict("snat", "SNAT seen (%s): %s saw %s instead of %s's container address %s; something "
                                    "masquerades on the way (Docker's ip-masq on %s: set ip-masq false and keep "
                                    "outbound NAT with crosshost.docker.forward_rules)"
                            % (seen, dst, seen, src, source, src))
        if mtu.get("ok") is False:
            found = mtu.get("path_mtu")
            return _verdict("mtu", "MTU too small: the path from %s to %s carries %s bytes with don't-fragment, "
                                   "expected %s (%s); make the network's MTU fit the underlay, or raise the underlay's"
                                   " MTU" % (src, dst, found if found else "fewer", mtu.get("expected"),
                                             mtu.get("detail") or "no reply"), found)
        dns = cell.get("dns")
        if by_name and dns is not None and not dns.get("ok"):
            return _verdict("name", "name %s: %s" % (cell.get("name"), dns.get("error") or "does not resolve"))
        return _verdict("ok", None)
    if _ok(icmp) and not _ok(tcp):
        error = tcp.get("error") or "no answer"
        if error == "refused":
            return _verdict("tcp", "TCP to %s:%s refused although ICMP passes: nothing listens there (the probe "
                                   "server is not running?)" % (address, port))
        return _verdict("tcp", "TCP to %s:%s fails (%s) although ICMP passes: a firewall filters TCP"
                        % (address, port, error))
    if _ok(tcp) and not _ok(icmp):
        return _verdict("icmp", "ICMP to %s fails (%s) although TCP passes: a firewall drops ICMP (path MTU "
                                "discovery needs it)" % (address, ping_text(icmp)))
    # Neither ICMP nor TCP: what the sender was told first, then how far the packets got.
    kind = icmp.get("kind")
    via = (" (%s routes it: %s)" % (src, cell["route"])) if cell.get("route") else ""
    unreachable = ("net_unreachable", "host_unreachable")
    if kind in unreachable or tcp.get("error") in ("network unreachable", "host unreachable"):
        told = ping_text(icmp) if kind in unreachable else tcp.get("error")
        return _verdict("no_route", "no route to %s: %s%s; route %s's container subnet to %s"
                        % (address, told, via, dst, dst))
    if kind == "rejected":
        return _verdict("rejected", "rejected: %s (a REJECT rule on the path)" % ping_text(icmp))
    if kind == "ttl":
        return _verdict("no_route", "routing loop towards %s: %s%s" % (address, ping_text(icmp), via))
    out = _evidence_counts(src_ev, address)
    into = _evidence_counts(dst_ev, source)
    if out is not None and out.get("left") == 0:
        return _verdict("not_sent", "%s does not forward its container's packets to %s (nothing left %s; "
                                    "ip_forward=%s, FORWARD policy %s on %s)"
                        % (src, dst, src, src_ev.get("ip_forward"), src_ev.get("forward_policy"), src))
    if into is not None:
        total = dst_ev.get("total")
        known = sum((c or {}).get("arrived") or 0 for c in dst_ev["counters"].values())
        if not into.get("arrived") and total and total > known and (out or {}).get("left"):
            return _verdict("snat", "SNAT on the way: %s's requests left %s from %s, but %s received requests to %s "
                                    "from another source address (something masquerades, e.g. Docker's ip-masq on %s),"
                                    " and the pair fails; set ip-masq false and keep outbound NAT with "
                                    "crosshost.docker.forward_rules" % (src, src, source, dst, address, src))
        found = _path(into, dst_ev, dst, source, "")
        if found:
            return found
        # The requests reached the peer's container: did it answer, and where were the answers lost?
        if into.get("replied") == 0:
            return _verdict("timeout", "%s's container got the requests but no reply left %s" % (dst, dst))
        back = _evidence_counts(src_ev, address)
        if back is not None:
            found = _path(back, src_ev, src, address, " from %s" % dst)
            if found:
                return found
        return _verdict("timeout", "the packets reach %s's container but the replies are lost on the way back"
                        % dst)
    return _verdict("timeout", "no answer from %s (%s): %s" % (address, ping_text(icmp), _sender_hint(driver)))


def _conflict(hosts, address):
    return _verdict("conflict", "%s have the same probe address %s: their container subnets overlap (Docker's "
                                "default 172.17.0.0/16 on every host?); give each host a subnet of its own, e.g. with "
                                "the crosshost.docker.direct_route role" % (" and ".join(hosts), address))


def _path(counts, ev, host, sender, replies):
    """Verdict for echo requests (replies="") or echo replies (replies=" from <peer>") counted on `host`
    coming from `sender`, or None when they were delivered towards its container."""
    prefix = "replies_" if replies else ""
    what = "the replies%s" % replies if replies else "packets from %s" % sender
    if not counts.get(prefix + "arrived"):
        if replies:
            return _verdict("no_route", "no route back: %s never reached %s; route %s's container subnet to %s"
                            % (what, host, host, host))
        return _verdict("no_route", "no route: nothing sent from %s reached %s; route %s's container subnet to %s "
                                    "(route table / VPC) and check the underlay" % (sender, host, host, host))
    if not counts.get(prefix + "forwarded"):
        raw = (ev or {}).get("raw_drop") or {}
        if raw.get("rules"):
            return _verdict("raw_drop", "raw-table drop on %s (%s): Docker 28 drops traffic routed to container "
                                        "addresses (raw PREROUTING DROP, %s packets); set allow-direct-routing: true in"
                                        " daemon.json, or use the crosshost.docker.direct_route role"
                            % (host, what, raw.get("packets")))
        if (ev or {}).get("ip_forward") == 0:
            return _verdict("forwarding_off", "%s does not forward %s (net.ipv4.ip_forward=0): use "
                                              "crosshost.docker.forwarding" % (host, what))
        return _verdict("input_drop", "%s reached %s but were dropped before forwarding (rp_filter, or a raw/mangle "
                                      "rule)" % (what, host))
    if not counts.get(prefix + "delivered"):
        return _verdict("forward_drop", "FORWARD drop on %s: %s reached %s but its FORWARD chain dropped them "
                                        "(policy %s); accept the peers' container subnets in DOCKER-USER "
                                        "(crosshost.docker.forward_rules)"
                        % (host, what, host, (ev or {}).get("forward_policy") or "DROP"))
    return None


# --- the report ----------------------------------------------------------------------------------

def _cell_summary(cell, verdict):
    cell = cell or {}
    mtu = cell.get("mtu") or {}
    dns = cell.get("dns")
    return {
        "icmp": _ok(cell.get("icmp")),
        "tcp": _ok(cell.get("tcp")),
        "mtu": mtu.get("ok"),
        "path_mtu": mtu.get("path_mtu"),
        "expected_mtu": mtu.get("expected"),
        "source": (cell.get("tcp") or {}).get("seen"),
        "name": None if dns is None else bool(dns.get("ok")),
        "status": verdict["status"],
        "kind": verdict["kind"],
        "short": verdict["short"],
        "cause": verdict["cause"],
    }


def report(data, hosts=None, expect_source="container", by_name=False, pairs="all", ring_peers=2,
           all_pairs_max_hosts=3):
    """The judged matrix of the tested ordered pairs.

    data: {host: {"probe": state=started's `probe`, "tested": state=tested's result (its `row`
    keyed by peer host), "evidence": state=absent's `evidence`}}; missing parts are allowed.
    pairs, ring_peers, all_pairs_max_hosts: which pairs were tested (see _verify_pairs: "all" is every
    ordered pair; "ring" and "auto" as the verify role's verify_pairs). Pairs that were not tested are
    left out of the matrix and of the verdict, and shown as NOT_TESTED in the table.
    Returns {ok, hosts, matrix: {src: {dst: cell}}, table: [lines], broken: ["a -> b: cause"],
    labels: {host: "host address"}, summary: "network N (driver, MTU m): ...",
    pairs: {mode, ring_peers, tested, total}}.
    """
    if expect_source not in EXPECT_SOURCE:
        raise ConnectivityError("expect_source: %r is not one of %s" % (expect_source, ", ".join(EXPECT_SOURCE)))
    data = data or {}
    hosts = [str(h) for h in (hosts if hosts is not None else sorted(data))]
    try:
        selection = select_pairs(hosts, pairs, ring_peers, all_pairs_max_hosts)
    except VerifyPairsError as exc:
        raise ConnectivityError(str(exc))
    selected = selection["pairs"]
    matrix = {}
    broken = []
    labels = {}
    owners = {}
    for host in hosts:
        probe = (data.get(host) or {}).get("probe") or {}
        labels[host] = ("%s %s" % (host, probe["address"])) if probe.get("address") else host
        if probe.get("address"):
            owners.setdefault(probe["address"], []).append(host)
    for src in hosts:
        entry = data.get(src) or {}
        # Without this run's probe a host's results are not used (they could be left from an earlier run).
        results = ((entry.get("tested") or {}).get("row") or {}) if (entry.get("probe") or {}).get("address") else {}
        driver = (entry.get("probe") or {}).get("driver")
        row = {}
        for dst in (hosts if selection["mode"] == "all" else selected[src]):
            if dst == src:
                continue
            cell = results.get(dst)
            address = ((data.get(dst) or {}).get("probe") or {}).get("address")
            if address and len(owners.get(address, [])) > 1:
                verdict = _conflict(owners[address], address)
            else:
                verdict = judge(cell, src, dst, entry.get("evidence"), (data.get(dst) or {}).get("evidence"),
                                expect_source, by_name, driver)
            row[dst] = _cell_summary(cell, verdict)
            if verdict["status"] != "ok":
                broken.append("%s -> %s: %s" % (src, dst, verdict["cause"]))
        matrix[src] = row
    table = matrix_table(dict((s, dict((d, c["short"]) for d, c in row.items())) for s, row in matrix.items()),
                         hosts, labels, missing="-" if selection["mode"] == "all" else NOT_TESTED)
    probes = [(data.get(h) or {}).get("probe") or {} for h in hosts]
    network = sorted(set(str(x["network"]) for x in probes if x.get("network")))
    drivers = sorted(set(str(x["driver"]) for x in probes if x.get("driver")))
    mtus = sorted(set(int(x["mtu"]) for x in probes if x.get("mtu")))
    if selection["mode"] == "all":
        tested = "%d pairs" % selection["total"]
    else:
        tested = "%d of %d pairs tested (ring, %d peer%s each)" % (
            selection["tested"], selection["total"], selection["ring_peers"], "" if selection["ring_peers"] == 1 else "s")
    summary = "network %s (%s, MTU %s): %d hosts, %s, %d broken" % (
        ",".join(network) or "?", ",".join(drivers) or "?", ",".join(str(m) for m in mtus) or "?", len(hosts),
        tested, len(broken))
    return {"ok": not broken, "hosts": hosts, "matrix": matrix, "table": table, "broken": broken,
            "labels": labels, "summary": summary,
            "pairs": dict((key, selection[key]) for key in ("mode", "ring_peers", "tested", "total"))}


# --- Docker < 23.0's legacy (cluster-store) overlay ----------------------------------------------

KV_SANDBOX_LEAK = (
    "%s was the last container of the legacy (cluster-store) overlay network %s on this host, so dockerd tore "
    "down the network's sandbox. Docker < 23.0's overlay driver (watchMiss, fixed in 23.0 by moby/moby#44356) then "
    "hands a dockerd thread back to Go's pool still inside that deleted network namespace; whatever dockerd runs "
    "on it later fails (memberlist: Push/Pull ... connect: network is unreachable, the store's watch, names in "
    "new containers, 'IPv4 forwarding is disabled' warnings) until dockerd restarts. Keep one long-lived "
    "container on the network on every host, or restart dockerd (see docs/troubleshooting.md)")


def kv_sandbox_teardown(network, container_id, engine_version):
    """True when removing container `container_id` makes Docker < 23.0 tear down the sandbox of a legacy
    (cluster-store, scope "global") overlay network, because no other local container is on it.

    `network` is the Docker API's network inspect; remote endpoints are listed there as "ep-<id>".
    An unknown engine version counts as affected only for scope "global" (swarm overlays are "swarm").
    """
    if not network or network.get("Driver") != "overlay" or network.get("Scope") != "global":
        return False
    match = re.match(r"^(\d+)\.", str(engine_version or ""))
    if match and int(match.group(1)) >= 23:
        return False
    local = [key for key in (network.get("Containers") or {}) if not key.startswith("ep-")]
    return all(key == container_id for key in local)
