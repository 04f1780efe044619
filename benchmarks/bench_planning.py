# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planning cost at 1000 simulated hosts, in-process (the filters the roles call); not a test.

    python benchmarks/bench_planning.py [--hosts 1000] [--repeat 5]

Times, through the collection's filter plugins (as a play calls them, once per play):
- subnet_plan: a /24 per host from 10.0.0.0/12, a rerun where every other host already has its
  subnet (sticky) and every host reports docker_host_info's networks;
- direct_routes: the route list for that plan;
- macvlan_plan: one segment (10.64.0.0/16, a /28 per host), first run and a rerun with every other
  host's range existing;
- probe_peers, the verify role's pair selection in ring mode (k=2): once per host, as each host
  templates its verify_peers, and select_pairs for the whole ring;
- connectivity_report on a synthetic all-ok result of every host in ring mode (k=2).
Prints the median wall-clock and CPU time of each in seconds. No test asserts these figures.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lab"))

from labclient import collections_path  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = "ansible_collections.crosshost.docker.plugins."
TARGET_S = 1.0  # issue 15: planning and the verify plan for 1000 hosts under a second


def load(name):
    if collections_path() not in sys.path:
        sys.path.insert(0, collections_path())
    return importlib.import_module(PREFIX + name)


def timed(call, repeat):
    """(median wall seconds, median CPU seconds, last result) of ``repeat`` calls."""
    wall, cpu, result = [], [], None
    for _run in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def host_names(count):
    return ["node-%04d" % i for i in range(count)]


def subnet_inputs(hosts, sticky):
    existing, networks = {}, {}
    for i, host in enumerate(hosts):
        if sticky and i % 2 == 0:
            bip = "10.%d.%d.1/24" % (i // 256, i % 256)
            existing[host] = {"name": "docker0", "bip": bip, "subnet": bip.replace(".1/", ".0/"), "gateway": None}
        else:
            existing[host] = {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}
        networks[host] = [{"name": "bridge", "driver": "bridge", "scope": "local",
                           "subnets": [{"subnet": existing[host]["subnet"], "gateway": None, "ip_range": None,
                                        "aux_addresses": {}}]},
                          {"name": "host", "driver": "host", "scope": "local", "subnets": []}]
    return {"pool": "10.0.0.0/12", "prefix": 24, "existing": existing, "host_networks": networks,
            "reserved": ["192.168.0.0/16"], "provider": "aws"}


def macvlan_existing(hosts):
    return dict((host, {"subnets": [{"subnet": "10.64.0.0/16", "ip_range": "10.64.%d.%d/28" % (i // 16, i % 16 * 16)}]})
                for i, host in enumerate(hosts) if i % 2 == 0)


def synthetic_ring_data(hosts, selection):
    """What every host's probe, tested row and evidence look like when every ring pair works."""
    address = dict((h, "10.%d.%d.2" % (i // 256, i % 256)) for i, h in enumerate(hosts))
    data = {}
    for host in hosts:
        row = {}
        for peer in selection["pairs"][host]:
            row[peer] = {"address": address[peer], "source": address[host], "port": 5000, "route": None,
                         "icmp": {"ok": True}, "tcp": {"ok": True, "seen": address[host]},
                         "mtu": {"ok": True, "expected": 1500, "path_mtu": 1500}, "dns": None}
        data[host] = {"probe": {"address": address[host], "driver": "bridge", "mtu": 1500, "network": "bridge"},
                      "tested": {"row": row},
                      "evidence": {"counters": {}, "raw_drop": {"rules": 0, "packets": 0}, "ip_forward": 1,
                                   "forward_policy": "DROP", "total": None}}
    return data


def planning_figures(count=1000, repeat=5, ring_peers=2):
    """{case: {wall, cpu, ...}} for ``count`` simulated hosts, each the median of ``repeat`` runs."""
    subnet = load("filter.subnet_plan")
    macvlan = load("filter.macvlan_plan")
    matrix = load("filter.matrix")
    pairs = load("module_utils._verify_pairs")
    hosts = host_names(count)
    out = {"hosts": count, "repeat": repeat, "ring_peers": ring_peers, "cases": []}

    def case(key, title, call, check):
        wall, cpu, result = timed(call, repeat)
        check(result)
        out["cases"].append({"key": key, "title": title, "wall": wall, "cpu": cpu})
        return result

    def expect(length):
        def check(result):
            if len(result) != length:
                raise RuntimeError("expected %d entries, got %d" % (length, len(result)))
        return check

    first = subnet_inputs(hosts, sticky=False)
    plan = case("subnet_first", "subnet_plan, first run (/24s from 10.0.0.0/12)",
                lambda: subnet.subnet_plan(hosts, **first), expect(count))
    rerun = subnet_inputs(hosts, sticky=True)
    case("subnet_rerun", "subnet_plan, rerun (every other host sticky)",
         lambda: subnet.subnet_plan(hosts, **rerun), expect(count))
    next_hops = dict((h, "i-%017x" % i) for i, h in enumerate(hosts))
    case("direct_routes", "direct_routes (the route table's routes)",
         lambda: subnet.direct_routes(hosts, plan, next_hops), expect(count))
    case("macvlan_first", "macvlan_plan, first run (10.64.0.0/16, /28 each)",
         lambda: macvlan.macvlan_plan(hosts, subnet="10.64.0.0/16", range_prefix=28), expect(count))
    existing = macvlan_existing(hosts)
    case("macvlan_rerun", "macvlan_plan, rerun (every other range existing)",
         lambda: macvlan.macvlan_plan(hosts, subnet="10.64.0.0/16", range_prefix=28, existing=existing),
         expect(count))
    probe_peers = matrix.FilterModule().filters()["probe_peers"]
    case("probe_peers", "probe_peers ring, once per host (each host's verify_peers)",
         lambda: [probe_peers(hosts, h, "ring", ring_peers, 10, "both") for h in hosts], expect(count))
    selection = case("select_pairs", "select_pairs ring, the whole ring",
                     lambda: pairs.select_pairs(hosts, "ring", ring_peers), lambda r: None)
    if selection["tested"] != count * ring_peers:
        raise RuntimeError("the ring has %d pairs, expected %d" % (selection["tested"], count * ring_peers))
    data = synthetic_ring_data(hosts, selection)
    report = matrix.FilterModule().filters()["connectivity_report"]

    def check_report(result):
        if not result["ok"] or result["pairs"]["tested"] != count * ring_peers or len(result["table"]) != count + 1:
            raise RuntimeError("unexpected report: %s" % result["summary"])
    case("report", "connectivity_report ring, all ok (with the %dx%d table)" % (count, count),
         lambda: report(data, hosts=hosts, pairs="ring", ring_peers=ring_peers), check_report)
    out["total_wall"] = sum(c["wall"] for c in out["cases"])
    return out


VERIFY_PARAGRAPH = (
    "The verify role tests every ordered pair of hosts (n × (n − 1)) up to `verify_all_pairs_max_hosts` (3) hosts, "
    "and a ring above (`verify_pairs: auto`): host i tests hosts i+1 … i+k in `verify_hosts` order, k = "
    "`verify_ring_peers` (2), so every host sends and receives k times and the pairs grow linearly (25 hosts: 50 "
    "pairs instead of 600, which took about 100 s of a 135 s run). Untested pairs show as `·` in the matrix and the "
    "summary reads `25 hosts, 50 of 600 pairs tested (ring, 2 peers each), 0 broken`; `-e verify_pairs=all` asks "
    "for the full matrix at any size.")


def markdown(figures):
    """The table of planning_figures()."""
    lines = ["| step (%d hosts) | wall ms | CPU ms | under 1 s |" % figures["hosts"], "| --- | --- | --- | --- |"]
    for c in figures["cases"]:
        under = "yes" if c["wall"] < TARGET_S else "no"
        lines.append("| %s | %.0f | %.0f | %s |" % (c["title"], c["wall"] * 1000, c["cpu"] * 1000, under))
    return lines


def section(figures):
    """The docs/benchmarks.md section: the verify modes and the planning table."""
    return (["## Control plane at scale", "", VERIFY_PARAGRAPH, "",
             "Planning and the verify plan for %d simulated hosts, in-process through the filter plugins the roles "
             "call (`benchmarks/bench_planning.py`), median of %d runs; all steps together %.0f ms (target: under "
             "1 s):" % (figures["hosts"], figures["repeat"], figures["total_wall"] * 1000), ""]
            + markdown(figures))


def text(figures):
    """One line for the terminal summary."""
    slowest = max(figures["cases"], key=lambda c: c["wall"])
    return "planning, %d hosts: %.0f ms wall for all steps (slowest: %s, %.0f ms)" % (
        figures["hosts"], figures["total_wall"] * 1000, slowest["title"], slowest["wall"] * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="simulated hosts (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (default 5)")
    args = parser.parse_args()
    figures = planning_figures(args.hosts, args.repeat)
    print("planning, %d hosts, median of %d runs" % (figures["hosts"], figures["repeat"]))
    for line in markdown(figures):
        print(line)
    print("total %.0f ms wall" % (figures["total_wall"] * 1000))


if __name__ == "__main__":
    main()
