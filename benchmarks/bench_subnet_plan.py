# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the subnet planner (plugins/module_utils/_subnet_plan.py); not a test.

    python benchmarks/bench_subnet_plan.py [--repeat 7]

Plans 1000 and 5000 hosts in 10.0.0.0/8 (/24 each) the way the direct_route role calls it: every
other host already has a subnet from an earlier run (sticky), one host in fifty has an override,
every host reports docker_host_info's networks (the default bridge, host, none and a compose
network in 172.18.0.0/16), and the VPC 192.168.0.0/16 is reserved. Also a first run (no state).
Prints the median wall-clock and CPU time of each case in seconds (CPU time is steadier on a busy
machine). The planner is pure Python without ansible
imports, so the file is loaded directly; no collection path is needed.
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


def load_planner():
    """plugins/module_utils/_subnet_plan.py, imported as the collection's module (it imports _errors)."""
    if collections_path() not in sys.path:
        sys.path.insert(0, collections_path())
    return importlib.import_module("ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan")


def networks(bridge_subnet):
    def net(name, driver, *subnets):
        return {"name": name, "driver": driver, "scope": "local",
                "subnets": [{"subnet": s, "gateway": None, "ip_range": None, "aux_addresses": {}} for s in subnets]}
    return [net("bridge", "bridge", bridge_subnet), net("host", "host"), net("none", "null"),
            net("app_default", "bridge", "172.18.0.0/16")]


def inputs(count, with_state):
    hosts = ["node-%05d" % i for i in range(count)]
    overrides = {}
    existing = {}
    host_networks = {}
    for i, host in enumerate(hosts):
        if i % 50 == 49:
            overrides[host] = "10.250.%d.0/24" % (i // 50 % 256)
        if with_state and i % 2 == 0:
            bip = "10.%d.%d.1/24" % (i // 256, i % 256)
            existing[host] = {"name": "docker0", "bip": bip, "subnet": bip.replace(".1/", ".0/"), "gateway": None}
        else:
            existing[host] = {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}
        host_networks[host] = networks(existing[host]["subnet"])
    return {"hosts": hosts, "pool": "10.0.0.0/8", "prefix": 24, "existing": existing, "overrides": overrides,
            "reserved": ["192.168.0.0/16"], "host_networks": host_networks, "provider": "alicloud"}


def median_seconds(planner, kwargs, repeat):
    """(median wall seconds, median CPU seconds) of ``repeat`` plans."""
    wall, cpu = [], []
    for _run in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        plan = planner.plan_subnets(**kwargs)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if len(plan) != len(kwargs["hosts"]):
            raise RuntimeError("the plan has %d hosts, expected %d" % (len(plan), len(kwargs["hosts"])))
    return statistics.median(wall), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per case (default 7)")
    args = parser.parse_args()
    planner = load_planner()
    print("subnet planner, median of %d runs      wall s    cpu s" % args.repeat)
    for count in (1000, 5000):
        for with_state in (False, True):
            wall, cpu = median_seconds(planner, inputs(count, with_state), args.repeat)
            label = "rerun, half the hosts sticky" if with_state else "first run"
            print("%5d hosts  %-29s %7.4f  %7.4f" % (count, label, wall, cpu))


if __name__ == "__main__":
    main()
