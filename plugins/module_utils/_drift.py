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

    ``other``: ``{label: result}`` for any other converge task (a loop result too): each changed one gives a line
    ``"<label> differs: ..."`` naming the changed loop items and what each says would change (``added``/``removed``,
    ``changed_keys``, ``pending``, ``actions``, or the keys of a before/after ``diff``). ``item_keys``:
    ``{label: field}``, the field that names a dict loop item of that label (default: ``name``, ``parent``, ...).
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
    keys = results.get("item_keys") or {}
    for label, result in (results.get("other") or {}).items():
        line = _other(label, result, keys.get(label))
        if line:
            lines.append(line)
    return lines


_ITEM_KEYS = ("name", "parent", "container", "network", "destination", "key")
_MAX_DETAIL = 300


def _item_name(item, key=None):
    """A loop item's name: the ``key`` field of a dict item (else its first usual name field), or the item."""
    if isinstance(item, dict):
        for k in ((key,) if key else ()) + _ITEM_KEYS:
            if k and item.get(k) not in (None, ""):
                return str(item[k])
        return ", ".join("%s=%s" % (k, item[k]) for k in sorted(item))[:80]
    if isinstance(item, (list, tuple)):
        return " ".join(_item_name(i, key) for i in item)
    return str(item)


def _detail(result):
    """What a changed result says would change, from the fields modules commonly return, or ''."""
    parts = []
    if result.get("added"):
        parts.append("missing %s" % "; ".join(str(r) for r in result["added"]))
    if result.get("removed"):
        parts.append("unexpected %s" % "; ".join(str(r) for r in result["removed"]))
    if result.get("changed_keys"):
        parts.append("keys %s" % ", ".join(str(k) for k in result["changed_keys"]))
    if result.get("pending"):
        parts.append("; ".join(str(p) for p in result["pending"]))
    actions = result.get("actions")
    if not parts and isinstance(actions, list) and actions:
        parts.append("; ".join(str(a) for a in actions))
    if not parts:
        keys = _diff_keys(result.get("diff"))
        if keys:
            parts.append("differs in %s" % ", ".join(keys))
    text = ", ".join(parts)
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL - 3] + "..."


def _diff_keys(diff):
    """The keys whose values differ between ``before`` and ``after`` of a diff (or a list of diffs)."""
    keys = []
    for d in diff if isinstance(diff, list) else [diff]:
        if isinstance(d, dict) and isinstance(d.get("before"), dict) and isinstance(d.get("after"), dict):
            before, after = d["before"], d["after"]
            keys.extend(k for k in sorted(set(before) | set(after), key=str)
                        if before.get(k) != after.get(k) and k not in keys)
    return [str(k) for k in keys]


def _other(label, result, key=None):
    """One line for a result of any other converge task: "<label> differs: ...", or None if unchanged.

    A loop result names its changed items (a dict item by ``key``, else its name/parent/... field), each with what
    it says would change.
    """
    if not _changed(result):
        return None
    if isinstance(result.get("results"), list):
        named = []
        for r in result["results"]:
            if _changed(r):
                detail = _detail(r)
                name = _item_name(r.get("item"), key)
                named.append("%s (%s)" % (name, detail) if detail else name)
        return "%s differs: %s" % (label, ", ".join(named)) if named else "%s differs" % label
    detail = _detail(result)
    return "%s differs: %s" % (label, detail) if detail else "%s differs" % label


def _json(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value)
