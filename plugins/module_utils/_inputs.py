# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by the planners: text, host lists, per-host mappings, CIDRs, prefix lengths,
and merging address ranges.

Every check names the field it reads (``overrides[h2]``, ``subnet``, ...) at the start of its message,
with an example of what to write, and raises the planner's own ``PlanError`` subclass (``error``), so
that the roles can rename the field after their variable (``_plan_errors``). Pure Python.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)


def text(value):
    """``value`` stripped when it is a string, else unchanged."""
    return value.strip() if isinstance(value, str) else value


def empty(value):
    return value is None or text(value) == ""


def network(value, field, example, error=PlanError, strict=True, need_prefix=True):
    """IPv4Network or IPv6Network from a CIDR string (or a network object).

    ``strict``: host bits must be zero. ``need_prefix``: the prefix length must be written out
    (``10.0.0.0`` alone is refused instead of read as a /32)."""
    if isinstance(value, _NETWORKS):
        return value
    value = text(value)
    if not isinstance(value, str) or not value:
        raise error("%s: expected a CIDR like %s, got %r" % (field, example, value))
    if need_prefix and "/" not in value:
        raise error("%s: %r has no prefix length: write it like %s" % (field, value, example))
    try:
        return ipaddress.ip_network(value, strict=strict)
    except ValueError as err:
        if strict and "has host bits set" in str(err):
            raise error("%s: %r has host bits set: use the network address %s"
                        % (field, value, ipaddress.ip_network(value, strict=False))) from None
        raise error("%s: %r is not a valid CIDR (like %s): %s" % (field, value, example, err)) from None


def address(value, field, example, error=PlanError):
    """IPv4Address or IPv6Address from a string without a prefix length."""
    value = text(value)
    if not isinstance(value, str) or not value:
        raise error("%s: expected an IP address like %s, got %r" % (field, example, value))
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise error("%s: %r is not an IP address (like %s, without a prefix length)" % (field, value, example)) from None


def prefix_length(value, field, example, error=PlanError):
    """A prefix length as an int, from 24, "24" or "/24" (never a bool)."""
    if isinstance(value, str) and value.strip().lstrip("/").isdigit():
        value = int(value.strip().lstrip("/"))
    if isinstance(value, bool) or not isinstance(value, int):
        raise error("%s: expected a prefix length like %s, got %r" % (field, example, value))
    return value


def hosts(value, gets, error=PlanError):
    """Inventory host names, each once. ``gets`` says what a host gets ("one subnet"), for the message."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise error("hosts: expected a list of inventory host names (like groups['docker_hosts']), got %r" % (value,))
    out = []
    seen = set()
    for host in value:
        if not isinstance(host, str) or not host:
            raise error("hosts: every entry must be a host name, got %r" % (host,))
        if host in seen:
            raise error("hosts: %s is listed twice: give each host once (a host gets %s)" % (host, gets))
        seen.add(host)
        out.append(host)
    return out


def mapping(value, field, error=PlanError, what="a dict keyed by host name"):
    """A dict (None reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise error("%s: expected %s, got %r" % (field, what, value))
    return value


def merge(ranges):
    """Inclusive integer ranges [(lo, hi)], merged where they overlap or touch, sorted: [[lo, hi]]."""
    out = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out
