# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans a route table that holds exactly "each host's container subnet -> that host".

Pure Python: no Ansible, no cloud SDK, no netlink. The route_table module feeds it the desired routes
and what a provider backend listed, and applies what it returns.

The backend interface every provider implements (``_route_backend.RouteBackend``, subclassed by
``_route_linux.LinuxRoutes``, ``_route_aws.AwsRoutes``, ``_route_alicloud.AlicloudRoutes``); the
part the planner relies on::

    class XxxRoutes(RouteBackend):
        def __init__(self, **provider_options): ...
        def list_routes(self): ...        # [dict(destination="10.0.1.0/24", target="i-0abc" | "192.168.1.11",
                                          #       target_type="instance" | "eni" | "gateway" | "local" | "other",
                                          #       state="active" | "pending" | "blackhole" | ...), ...]
        def create(self, destination, target): ...
        def replace(self, destination, target): ...
        def delete(self, destination): ...
        def quota(self): ...              # the table's maximum number of routes, or None
        writes = 0                        # write API calls made so far
        reads = 0                         # read API calls made so far

Optional keys of a listed route: ``aliases`` (other names of the same next hop, for example the ENI
of an instance route), ``propagated`` (True for routes a gateway propagates: never touched, not
counted towards the quota), ``note`` (a word on the route's kind for messages, e.g. ``metric 100``).

Ownership rules (what makes the module safe to run against a shared table):
- Only routes whose destination lies inside one of the managed CIDRs can be replaced or deleted.
- Only routes of the module's own kind can be: next hop a host, target_type ``instance`` (a cloud
  instance, or a Linux next-hop address) or ``eni`` (a network interface). Routes of type ``local``
  (the VPC's own CIDR, connected or blackhole routes on Linux), ``gateway`` (internet/NAT/VPN
  gateways, peering, metric or multipath routes on Linux) and ``other`` (any other kind a provider
  lists) are never touched, wherever they are, and neither are propagated routes. A desired
  destination that such a route already holds is an error, not a takeover.
- Everything else in the table (outside the managed CIDRs) is foreign and left alone.
- Routes of type ``local`` and propagated routes do not count towards the quota.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.crosshost.docker.plugins.module_utils import _inputs as inp
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

MANAGED_TYPES = frozenset(("instance", "eni"))


class RoutePlanError(PlanError):
    """Bad input or a plan that cannot be applied: the message names the route and the fix."""


def _network(value, what):
    net = inp.network(value if isinstance(value, str) else str(value), what, "10.0.1.0/24", RoutePlanError,
                      need_prefix=False)
    if net.version != 4:
        raise RoutePlanError("%s: %s is IPv6; route_table manages IPv4 routes only" % (what, net))
    return net


def _actual_network(route):
    """The destination of a listed route as an IPv4 network, or None (IPv6, prefix lists, garbage)."""
    try:
        net = ipaddress.ip_network(str(route.get("destination")), strict=False)
    except ValueError:
        return None
    return net if net.version == 4 else None


def managed_networks(managed_cidrs):
    """Validate managed_cidrs; return them as networks."""
    nets = []
    for value in managed_cidrs or []:
        net = _network(value, "managed_cidrs")
        if net.prefixlen == 0:
            raise RoutePlanError("managed_cidrs: %s would make every route in the table ours (including the "
                                 "default route): give the cluster's container CIDR, e.g. 10.0.0.0/16" % net)
        nets.append(net)
    return nets


def desired_routes(desired, state="present"):
    """Validate the desired routes; return [(network, target)] sorted by network.

    Errors: invalid or IPv6 CIDRs, host bits set, a missing next hop (state present), a destination
    listed twice, overlapping destinations.
    """
    out = []
    for i, entry in enumerate(desired or []):
        what = "routes[%d]" % i
        if not isinstance(entry, dict) or entry.get("destination") in (None, ""):
            raise RoutePlanError("%s: give a destination (the host's container subnet), e.g. 10.0.1.0/24" % what)
        net = _network(entry["destination"], "%s.destination" % what)
        target = entry.get("target")
        target = None if target is None else str(target).strip()
        if state == "present" and not target:
            raise RoutePlanError("%s: %s has no next hop" % (what, net))
        out.append((net, target))
    out.sort(key=lambda item: (item[0].network_address, item[0].prefixlen))
    for (a, ta), (b, tb) in zip(out, out[1:]):
        if a == b:
            raise RoutePlanError("routes: %s is listed twice (next hops %s and %s): every destination needs exactly "
                                 "one next hop" % (a, ta, tb))
    for i, (a, _ta) in enumerate(out):
        for b, _tb in out[i + 1:]:
            if b.network_address > a.broadcast_address:
                break
            if a.overlaps(b):
                raise RoutePlanError("routes: %s and %s overlap: every host needs a container subnet of its own"
                                     % (a, b))
    return out


def desired_kinds(desired):
    """[(network, target_type)] of valid desired entries: their ``target_type`` key, default ``instance``."""
    out = []
    for entry in desired or []:
        try:
            out.append((ipaddress.ip_network(str(entry["destination"]).strip()), entry.get("target_type") or "instance"))
        except (ValueError, KeyError, TypeError):
            pass
    return out


def _inside(net, managed):
    return net is not None and any(net.subnet_of(m) for m in managed)


def matches(route, target):
    """Whether a listed route already goes to `target` (by its target or one of its aliases)."""
    if target is None:
        return False
    names = [route.get("target")] + list(route.get("aliases") or [])
    return any(n is not None and str(n) == str(target) for n in names)


def counts_towards_quota(route):
    return route.get("target_type") != "local" and not route.get("propagated")


def plan(desired, actual, managed_cidrs, purge=True, state="present", quota=None, quota_fix=None):
    """Plan the writes that make `actual` hold the `desired` routes.

    desired: [{destination, target}] (optional key target_type, the kind of next hop: ``instance`` by
    default, or ``eni``); actual: what the backend's list_routes() returned;
    managed_cidrs: CIDRs inside which the table is ours; purge: delete routes of ours inside the
    managed CIDRs that are not desired; state: ``present`` or ``absent`` (delete the desired
    destinations only); quota: maximum number of routes, or None.

    Returns {"create": [...], "replace": [...], "delete": [...], "unchanged": [...], "after": [...],
    "managed": [...]}: create/unchanged entries are {destination, target}, replace entries add
    old_target, delete entries are {destination, target}; "after" is the table as it will be (listed
    routes with the planned changes), "managed" the managed CIDRs used. Raises RoutePlanError before
    anything is written when the input is wrong or the plan cannot be applied.
    """
    if state not in ("present", "absent"):
        raise RoutePlanError("state: %r is neither present nor absent" % (state,))
    want = desired_routes(desired, state)
    managed = managed_networks(managed_cidrs)
    if state == "present" and purge and not managed:
        raise RoutePlanError("managed_cidrs: required when purge is true: give the cluster CIDR(s) inside which the "
                             "table is ours (e.g. [10.0.0.0/16]); routes outside them are never touched")
    if managed:
        for net, _target in want:
            if not _inside(net, managed):
                raise RoutePlanError("routes: %s is outside managed_cidrs (%s): add its cluster CIDR to managed_cidrs "
                                     "or fix the destination" % (net, ", ".join(str(m) for m in managed)))
    else:
        # Without managed CIDRs (purge off, or state absent) the routes named are all we may touch.
        managed = [net for net, _target in want]

    by_dest = {}
    for route in actual or []:
        net = _actual_network(route)
        if net is not None:
            by_dest.setdefault(net, []).append(route)

    def ours(route):
        return route.get("target_type") in MANAGED_TYPES and not route.get("propagated") \
            and _inside(_actual_network(route), managed)

    result = {"create": [], "replace": [], "delete": [], "unchanged": [], "after": [],
              "managed": [str(m) for m in managed]}
    handled = set()  # ids of listed routes the plan decided about
    for net, target in want:
        existing = by_dest.get(net, [])
        foreign = [r for r in existing if not ours(r)]
        mine = [r for r in existing if ours(r)]
        dest = str(net)
        if state == "absent":
            for r in mine:
                result["delete"].append({"destination": dest, "target": r.get("target")})
                handled.add(id(r))
            continue
        if foreign:
            r = foreign[0]
            raise RoutePlanError(
                "routes: %s is already routed to %s (%s), a route this module never touches: remove that route "
                "yourself or choose another container subnet" % (dest, r.get("target"), r.get("note") or r.get("target_type")))
        if not mine:
            result["create"].append({"destination": dest, "target": target})
            continue
        first, extra = mine[0], mine[1:]
        handled.update(id(r) for r in mine)
        if matches(first, target):
            result["unchanged"].append({"destination": dest, "target": target, "state": first.get("state")})
        else:
            result["replace"].append({"destination": dest, "target": target, "old_target": first.get("target")})
        for r in extra:  # cannot happen in a real table (one route per destination); never leave it ambiguous
            result["delete"].append({"destination": dest, "target": r.get("target")})

    if state == "present" and purge:
        for net in sorted(by_dest, key=lambda n: (n.network_address, n.prefixlen)):
            for r in by_dest[net]:
                if id(r) not in handled and ours(r):
                    result["delete"].append({"destination": str(net), "target": r.get("target")})
                    handled.add(id(r))

    # The table after the plan: listed routes minus deletions, replacements applied, creations added.
    kinds = {str(net): kind for net, kind in desired_kinds(desired)}
    deleted = {(d["destination"], d["target"]) for d in result["delete"]}
    replaced = {r["destination"]: r["target"] for r in result["replace"]}
    after = []
    for route in actual or []:
        net = _actual_network(route)
        key = str(net) if net is not None else route.get("destination")
        if (key, route.get("target")) in deleted and ours(route):
            continue
        if net is not None and key in replaced and ours(route):
            route = dict(route, target=replaced[key], target_type=kinds[key], aliases=[], state="pending")
        after.append(route)
    for c in result["create"]:
        after.append({"destination": c["destination"], "target": c["target"], "target_type": kinds[c["destination"]],
                      "state": "pending"})
    result["after"] = after

    if quota is not None:
        count = sum(1 for r in after if counts_towards_quota(r))
        if count > quota:
            raise RoutePlanError(
                "the route table would hold %d routes, more than its quota of %d (%d to create, %d to delete; local "
                "and propagated routes not counted): nothing was changed. Raise the quota%s, remove routes you do "
                "not need, or use larger container subnets" % (count, quota, len(result["create"]), len(result["delete"]),
                                                               " (%s)" % quota_fix if quota_fix else ""))
    return result


def _sort_key(route):
    net = _actual_network(route)
    if net is None:
        return (1, str(route.get("destination")), 0)
    return (0, int(net.network_address), net.prefixlen)


def describe(routes, managed_cidrs=None):
    """The routes as text lines for diff mode: `destination -> target`, with the type of routes this
    module does not manage."""
    managed = [ipaddress.ip_network(str(m)) for m in managed_cidrs or []]
    lines = []
    for r in sorted(routes, key=_sort_key):
        line = "%s -> %s" % (r.get("destination"), r.get("target"))
        net = _actual_network(r)
        if r.get("target_type") not in MANAGED_TYPES or r.get("propagated"):
            line += "  (%s, not managed)" % r.get("target_type")
        elif not _inside(net, managed):
            line += "  (outside managed_cidrs, not managed)"
        lines.append(line)
    return "".join(line + "\n" for line in lines)


def public(routes):
    """The routes as the module returns them: destination, target, target_type, state."""
    return [dict((k, r.get(k)) for k in ("destination", "target", "target_type", "state")) for r in routes]
