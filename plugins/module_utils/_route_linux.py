# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux backend of crosshost.docker.route_table (pyroute2): one routing table of the host the
module runs on (a router standing in for the VPC, or every host of an L2 segment, like flannel's
host-gw).

Implements the backend interface described in ``_routes.py``; every netlink request is counted
in ``reads`` or ``writes``.

What is the module's kind of route: a unicast IPv4 route with one next-hop address (``via``) and
no metric (target_type ``instance``: the next hop is a host; target its address). Everything else in the table is
never touched: connected and device routes, blackhole/unreachable/prohibit routes (``local``),
multipath routes and routes with a metric (``gateway``: typically a routing daemon's or DHCP's).

Persistence: a shell script of ours (``routes.sh`` for the main table, ``routes-table<N>.sh``
otherwise, under /etc/crosshost-docker) with one ``ip route replace`` per route, run at boot by a
systemd oneshot unit where systemd runs the host. The helpers that write and read it are pure.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError as e:  # the import sanity test and hosts without pyroute2
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = e
    NetlinkError = OSError

RT_TABLES = {"main": 254, "default": 253, "local": 255}
RTN_UNICAST = 1
RT_TABLES_FILES = ("/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables")
UNIT_NAME = "crosshost-routes.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
SCRIPT_HEADER = "# Written by crosshost.docker.route_table"
_SCRIPT_LINE = re.compile(r'^"\$IP" route replace (\S+) via (\S+) table (\d+) proto static \|\| rc=1$')
_RT_TYPES = {2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}


class RouteBackendError(Exception):
    """A netlink request failed or the input cannot work on this host."""


def valid_target(target):
    """None when `target` is an IPv4 address, else what is wrong with it."""
    try:
        if ipaddress.ip_address(str(target)).version == 4:
            return None
    except ValueError:
        pass
    return "%r is not an IPv4 address (the next-hop host's address, e.g. 192.168.1.11)" % (target,)


def table_number(table, rt_tables_text=None):
    """`main`, `default`, a number, or a name from rt_tables -> the table's number."""
    text = str(table).strip()
    if text.isdigit():
        number = int(text)
    elif text in RT_TABLES:
        number = RT_TABLES[text]
    else:
        number = None
        if rt_tables_text is None:
            rt_tables_text = ""
            for path in RT_TABLES_FILES:
                try:
                    with open(path) as f:
                        rt_tables_text += f.read() + "\n"
                except OSError:
                    pass
        for line in rt_tables_text.splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) == 2 and parts[1] == text and parts[0].isdigit():
                number = int(parts[0])
                break
        if number is None:
            raise RouteBackendError("linux_table: %r is not a table number, main, default, or a name in "
                                    "/etc/iproute2/rt_tables" % (table,))
    if number in (0, 255) or not 0 < number < 2 ** 32:
        raise RouteBackendError("linux_table: %s is not a table routes can be managed in (0 is unspecified, 255 "
                                "is the kernel's local table)" % text)
    return number


def script_path(persist_dir, table):
    return os.path.join(persist_dir, "routes.sh" if table == 254 else "routes-table%d.sh" % table)


def render_script(routes, table, ip_bin):
    """Our boot script for `table`: {destination: next hop} -> text (sorted, deterministic)."""
    lines = ["#!/bin/sh",
             SCRIPT_HEADER + ": routes to the cluster's container subnets (table %d)." % table,
             "# Re-applied at boot by %s where systemd runs the host; elsewhere run it from your boot" % UNIT_NAME,
             "# mechanism. Do not edit: the module rewrites it.",
             "IP=%s" % ip_bin,
             "rc=0"]
    for dest in sorted(routes, key=lambda d: (ipaddress.ip_network(d).network_address, ipaddress.ip_network(d).prefixlen)):
        lines.append('"$IP" route replace %s via %s table %d proto static || rc=1' % (dest, routes[dest], table))
    lines.append("exit $rc")
    return "\n".join(lines) + "\n"


def parse_script(text):
    """{destination: next hop} from a script of ours (None or foreign text -> {})."""
    routes = {}
    if not text or SCRIPT_HEADER not in text:
        return routes
    for line in text.splitlines():
        m = _SCRIPT_LINE.match(line.strip())
        if m:
            routes[m.group(1)] = m.group(2)
    return routes


def systemd_unit(persist_dir):
    return """[Unit]
Description=crosshost.docker routes to the cluster's container subnets
Documentation=https://github.com/crosshost/docker
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for f in %s/routes*.sh; do [ -f "$f" ] && /bin/sh "$f"; done; exit 0'

[Install]
WantedBy=multi-user.target
""" % persist_dir


def _describe_route(msg):
    """One netlink route message -> the backend interface's route dict."""
    dst = msg.get("dst") or "0.0.0.0"
    route = {"destination": "%s/%d" % (dst, msg["dst_len"]), "state": "active", "aliases": []}
    gateway = msg.get("gateway")
    priority = msg.get("priority")
    if msg["type"] != RTN_UNICAST:
        kind = _RT_TYPES.get(msg["type"], "type %d" % msg["type"])
        route.update(target=kind, target_type="local", note=kind)
    elif msg.get("multipath"):
        hops = [h.get("gateway") for h in msg.get("multipath") or []]
        route.update(target=",".join(str(h) for h in hops), target_type="gateway", note="multipath")
    elif not gateway:
        route.update(target="dev %s" % msg.get("oif"), target_type="local", note="device route")
    elif priority:
        route.update(target=gateway, target_type="gateway", note="metric %d" % priority)
    else:
        route.update(target=gateway, target_type="instance")
    if msg.get("flags", 0) & 16:  # RTNH_F_LINKDOWN
        route["state"] = "linkdown"
    return route


class LinuxRoutes:
    """One routing table of this host through netlink."""

    def __init__(self, table="main", **_ignored):
        if not HAS_PYROUTE2:
            raise RouteBackendError("the linux provider needs pyroute2 on the host that runs the module: %s"
                                    % PYROUTE2_IMPORT_ERROR)
        self.table = table_number(table)
        self.reads = 0
        self.writes = 0
        self.warnings = []
        self._targets = {}
        self.ipr = IPRoute()

    def close(self):
        self.ipr.close()

    def _request(self, write, action, what, **kwargs):
        if write:
            self.writes += 1
        else:
            self.reads += 1
        try:
            return self.ipr.route(action, **kwargs)
        except NetlinkError as e:
            raise RouteBackendError("%s failed: %s" % (what, e.args[1] if len(e.args) > 1 else e))

    def list_routes(self):
        self.reads += 1
        try:
            msgs = self.ipr.get_routes(family=socket.AF_INET, table=self.table)
        except NetlinkError as e:
            raise RouteBackendError("listing routes of table %d failed: %s" % (self.table, e))
        out = []
        for msg in msgs:
            if (msg.get_attr("RTA_TABLE") or msg["table"]) != self.table:
                continue
            route = _describe_route(msg)
            if route["target_type"] == "instance":
                self._targets[route["destination"]] = route["target"]
            out.append(route)
        return out

    def check_targets(self, targets):
        """Every next hop must be on a directly connected network of this host (the kernel refuses
        the route otherwise). Returns ({}, [problems]) before anything is written."""
        problems = []
        for target in sorted(set(targets)):
            try:
                found = self._request(False, "get", "looking up next hop %s" % target, dst=target)
            except RouteBackendError as e:
                problems.append("next hop %s is not reachable from this host: %s" % (target, e))
                continue
            msg = found[0] if found else None
            if msg is None:
                problems.append("next hop %s is not reachable from this host" % target)
            elif msg["type"] != RTN_UNICAST:
                problems.append("next hop %s is an address of this host itself" % target)
            elif msg.get("gateway"):
                problems.append("next hop %s is not on a directly connected network of this host (it is reached via "
                                "%s): a route's next hop must be on the same segment" % (target, msg.get("gateway")))
        return {}, problems

    def create(self, destination, target):
        self._request(True, "add", "adding %s via %s" % (destination, target), dst=destination, gateway=target,
                      table=self.table, proto="static")

    def replace(self, destination, target):
        self._request(True, "replace", "replacing %s with via %s" % (destination, target), dst=destination,
                      gateway=target, table=self.table, proto="static")

    def delete(self, destination):
        gateway = self._targets.get(destination)
        if gateway is None:
            raise RouteBackendError("deleting %s: not a route of ours in table %d" % (destination, self.table))
        self._request(True, "del", "deleting %s via %s" % (destination, gateway), dst=destination, gateway=gateway,
                      table=self.table)

    def quota(self):
        return None
