# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux backend of crosshost.docker.route_table (pyroute2): one routing table of the host the
module runs on (a router standing in for the VPC, or every host of an L2 segment, like flannel's
host-gw).

A ``RouteBackend`` (``_route_backend``); every netlink request is counted in ``reads`` or
``writes``. Netlink errors are not retried (``retryable`` is the default, False).

What is the module's kind of route: a unicast IPv4 route with one next-hop address (``via``) and
no metric (target_type ``instance``: the next hop is a host; target its address). Everything else in the table is
never touched: connected and device routes, blackhole/unreachable/prohibit routes (``local``),
multipath routes and routes with a metric (``gateway``: typically a routing daemon's or DHCP's).

Persistence: a shell script of ours (``routes.sh`` for the main table, ``routes-table<N>.sh``
otherwise, under /etc/crosshost-docker) with one ``ip route replace`` per route, run at boot by a
systemd oneshot unit where systemd runs the host. The helpers that write and read the script are
pure; the unit text, systemd detection, the plan of the files (check mode and diff show it) and
writing them after the routes are ``_persist``'s.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import re
import socket

from ansible_collections.crosshost.docker.plugins.module_utils._errors import RouteBackendError
from ansible_collections.crosshost.docker.plugins.module_utils import _persist
from ansible_collections.crosshost.docker.plugins.module_utils._files import read_text
from ansible_collections.crosshost.docker.plugins.module_utils._route_backend import ExtraChanges, RouteBackend

from ansible_collections.crosshost.docker.plugins.module_utils._netlink import (
    PYROUTE2_IMPORT_ERROR,
    RTN_UNICAST,
    NetlinkError,
    open_iproute,
)

RT_TABLES = {"main": 254, "default": 253, "local": 255}
RT_TABLES_FILES = ("/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables")
UNIT_NAME = "crosshost-routes.service"
UNIT_PATH = _persist.unit_path(UNIT_NAME)
SCRIPT_HEADER = "# Written by crosshost.docker.route_table"
_SCRIPT_LINE = re.compile(r'^"\$IP" route replace (\S+) via (\S+) table (\d+) proto static \|\| rc=1$')
_RT_TYPES = {2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}


class LinuxRouteError(RouteBackendError):
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
            raise LinuxRouteError("linux_table: %r is not a table number, main, default, or a name in "
                                  "/etc/iproute2/rt_tables" % (table,))
    if number in (0, 255) or not 0 < number < 2 ** 32:
        raise LinuxRouteError("linux_table: %s is not a table routes can be managed in (0 is unspecified, 255 "
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
    """Our oneshot unit that runs every script of ours in `persist_dir` at boot."""
    return _persist.oneshot_unit(
        "crosshost.docker routes to the cluster's container subnets",
        """/bin/sh -c 'for f in %s/routes*.sh; do [ -f "$f" ] && /bin/sh "$f"; done; exit 0'""" % persist_dir,
        unit=(("Wants", "network-online.target"), ("After", "network-online.target")),
        documentation=_persist.DOCUMENTATION_URL)


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


class LinuxRoutes(RouteBackend):
    """One routing table of this host through netlink."""

    name = "linux"
    requirement = "pyroute2"
    import_error = PYROUTE2_IMPORT_ERROR
    valid_target = staticmethod(valid_target)

    @classmethod
    def options(cls, params, environ=None):
        return dict(table=params.get("linux_table", "main"), persist=params.get("linux_persist", False),
                    persist_dir=params.get("linux_persist_dir", "/etc/crosshost-docker"))

    def __init__(self, table="main", persist=False, persist_dir="/etc/crosshost-docker", module=None, **_ignored):
        super().__init__()
        self.table = table_number(table)
        self.persist = persist
        self.persist_dir = persist_dir
        self.module = module  # AnsibleModule: get_bin_path, run_command and atomic_move for the boot files
        self._targets = {}
        self.ipr = open_iproute(LinuxRouteError, "the linux provider needs pyroute2 on the host that runs the module")

    def close(self):
        self.ipr.close()

    def _request(self, write, action, what, **kwargs):
        if write:
            self.writes += 1
        else:
            self.reads += 1
        try:
            return self.retry.call(lambda: self.ipr.route(action, **kwargs), self.retryable)
        except NetlinkError as e:
            raise LinuxRouteError("%s failed: %s" % (what, e.args[1] if len(e.args) > 1 else e))

    def list_routes(self):
        self.reads += 1
        try:
            msgs = self.retry.call(lambda: self.ipr.get_routes(family=socket.AF_INET, table=self.table), self.retryable)
        except NetlinkError as e:
            raise LinuxRouteError("listing routes of table %d failed: %s" % (self.table, e))
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
            raise LinuxRouteError("deleting %s: not a route of ours in table %d" % (destination, self.table))
        self._request(True, "del", "deleting %s via %s" % (destination, gateway), dst=destination, gateway=gateway,
                      table=self.table)

    # ------------------------------------------------------------------------ persistence

    def plan_extra(self, request, plan):
        """Our boot script for the table (and the unit that runs our scripts at boot): written or
        removed after the routes."""
        files, info = self.persistence(request.wanted, request.state, request.purge)
        before, after = files.diff()
        last = [lambda: _persist.apply_files(files, self.module.run_command, module=self.module)] if files else []
        return ExtraChanges(last=last, result={"persistence": info}, before=before, after=after)

    def persistence(self, wanted, state, purge):
        """Our files as they must be: (a _persist.FilesPlan, info for the result)."""
        script = script_path(self.persist_dir, self.table)
        want = {}
        if self.persist:
            ip_bin = self.module.get_bin_path("ip")
            if not ip_bin:
                raise LinuxRouteError("linux_persist: the boot script needs the `ip` command (iproute2), not found "
                                      "on PATH")
            routes = {} if state == "present" and purge else parse_script(read_text(script))
            for dest, target in wanted:
                if state == "present":
                    routes[dest] = target
                else:
                    routes.pop(dest, None)
            want[script] = render_script(routes, self.table, ip_bin) if routes else None
        else:
            want[script] = None
        systemd = _persist.systemd_running(self.module.get_bin_path)
        others = [f for f in glob.glob(os.path.join(self.persist_dir, "routes*.sh")) if f != script]
        need_unit = systemd and (want[script] is not None or bool(others))
        want[UNIT_PATH] = systemd_unit(self.persist_dir) if need_unit else None
        info = dict(mode=("systemd" if need_unit else "script") if want[script] else "none",
                    script=script if want[script] else None, unit=UNIT_PATH if want[UNIT_PATH] else None)
        return _persist.plan_files(dict(sorted(want.items()))), info
