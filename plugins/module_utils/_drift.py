# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a check-mode run found different from the plan, one line per item: pure, no I/O.

A role runs its converge tasks in check mode and registers their results. ``drift_items()`` turns
them into lines an operator can act on ("daemon.json: bip is 10.0.9.1/24 by hand, ..."), so that a
nightly job can fail and name each item. Results that were skipped, or that would change nothing,
give no line.
"""

from __future__ import annotations

__all__ = ["drift_items"]


def _changed(result):
    return isinstance(result, dict) and bool(result.get("changed")) and not result.get("skipped")


def _routes(result, keep=None):
    """Lines for a route_table result: missing, wrong next hop, stale; `keep(destination)`: report it."""
    lines = []
    if not _changed(result):
        return lines
    keep = keep or (lambda destination: True)
    for route in result.get("create") or []:
        if keep(route.get("destination")):
            lines.append("missing route %s via %s" % (route.get("destination"), route.get("target")))
    for route in result.get("replace") or []:
        if keep(route.get("destination")):
            lines.append("route %s points to %s, not %s"
                         % (route.get("destination"), route.get("old_target"), route.get("target")))
    for route in result.get("delete") or []:
        if keep(route.get("destination")):
            lines.append("stale route %s via %s" % (route.get("destination"), route.get("target")))
    return lines


def drift_items(results):
    """Lines describing drift, from one host's registered check-mode results.

    ``results`` keys (each optional): ``daemon_json`` (crosshost.docker.daemon_json), ``daemon``
    (docker_daemon state=applied), ``forwarding``, ``rules`` (forward_rules), ``host_routes`` (this
    host's own route_table), ``table_routes`` with ``table`` (the shared route table's result and its
    name; only the routes of this host's ``subnets`` are reported, and with ``report_stale`` also those
    of no subnet in ``cluster_subnets``), and ``forward_policy`` (the FORWARD chain's policy as read,
    with ``expect_policy``).
    """
    lines = []
    dj = results.get("daemon_json")
    if _changed(dj):
        config = dj.get("config") or {}
        keys = dj.get("changed_keys") or []
        shown = ", ".join("%s (to be %s)" % (k, _json(config[k])) if k in config else "%s (to be removed)" % k
                          for k in keys)
        lines.append("daemon.json differs: %s" % (shown or "file mode"))
    daemon = results.get("daemon")
    if _changed(daemon):
        why = "; ".join(daemon.get("pending") or []) or "it is not running"
        lines.append("dockerd does not run with its configuration: %s" % why)
    fwd = results.get("forwarding")
    if _changed(fwd):
        keys = [c.get("key") for c in fwd.get("runtime_changes") or []]
        parts = []
        if keys:
            parts.append("runtime %s" % ", ".join(keys))
        if fwd.get("file_changed"):
            parts.append("file %s" % fwd.get("file"))
        lines.append("sysctl differs: %s" % ("; ".join(parts) or "see the diff"))
    policy, expect = results.get("forward_policy"), results.get("expect_policy")
    policy_drift = bool(policy and expect and policy != expect)
    rules = results.get("rules")
    if _changed(rules):
        parts = []
        # the policy has a line of its own below
        added = [r for r in rules.get("added") or [] if not (policy_drift and " FORWARD policy " in r)]
        if added:
            parts.append("missing %s" % "; ".join(added))
        if rules.get("removed"):
            parts.append("unexpected %s" % "; ".join(rules["removed"]))
        if parts or not policy_drift:
            lines.append("firewall rules differ: %s" % (", ".join(parts) or "our chains, jumps or boot files"))
    if policy_drift:
        lines.append("FORWARD policy is %s, not %s: every container on this host is reachable from anywhere; run "
                     "iptables -P FORWARD %s (Docker sets it at start)" % (policy, expect, expect))
    lines.extend("routes on this host: %s" % line for line in _routes(results.get("host_routes")))
    mine, cluster = set(results.get("subnets") or []), set(results.get("cluster_subnets") or [])
    stale = bool(results.get("report_stale"))
    table = results.get("table") or "the route table"
    lines.extend("%s: %s" % (table, line) for line in _routes(
        results.get("table_routes"), lambda dest: dest in mine or (stale and dest not in cluster)))
    return lines


def _json(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value)
