# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iproute2 JSON output for ``crosshost.docker.docker_host_info``, pure (see ``_host_facts``).

Interfaces and routes come from ``ip -details -json address show`` and
``ip -details -json -4|-6 route show table all``, not from pyroute2. Why (the architecture guide
prefers pyroute2, this is a deliberate exception for a read-only module):

* iproute2 already resolves what netlink only gives as numbers: route protocol/scope/type/table
  names, output device names, master names, veth peers living in another namespace
  (``link_index`` + ``link_netnsid``). With pyroute2 we would re-implement those tables.
* The fixtures are literally the output of a command an operator can run on the host to compare
  with what the module reports; pyroute2's ``dump()`` layout is an internal detail that changed
  with the 0.9 rewrite (and ``requirements.txt`` allows 0.7 to 0.9).
* A facts module should work on a plain host: iproute2 is always there on a Docker host, pyroute2
  often is not. The docker SDK stays the only Python requirement.
"""

from __future__ import annotations

import json
import re

from ansible_collections.crosshost.docker.plugins.module_utils._host_facts import HostFactsError

__all__ = [
    "IpJsonError",
    "parse_ip_json",
    "normalise_interfaces",
    "normalise_routes",
]


class IpJsonError(HostFactsError):
    """The output of ``ip -json ...`` is not the JSON list it should be."""


_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$", re.IGNORECASE)


def parse_ip_json(text, command="ip -json"):
    """Decode the output of an ``ip -json ...`` command (a JSON list)."""
    stripped = (text or "").strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as err:
        raise IpJsonError(
            "%s did not print JSON (iproute2 too old for -json?): %s at line %d, column %d"
            % (command, err.msg, err.lineno, err.colno)
        )
    if not isinstance(data, list):
        raise IpJsonError("%s printed a JSON %s, expected a list" % (command, type(data).__name__))
    return data


def normalise_interfaces(links):
    """Interfaces from ``ip -details -json address show``.

    Each: ``name, ifindex, kind, mtu, state, mac, addresses, link_ifindex, link_netnsid, master,
    flags, promiscuity``. ``kind`` is the rtnetlink link kind (veth, bridge, macvlan, vxlan, ...),
    ``loopback`` for lo, None for hardware NICs. ``link_ifindex`` is the lower/peer device: for a
    veth its peer's ifindex (in the namespace ``link_netnsid`` when that is not None, e.g. a
    container's eth0), for macvlan/vlan the parent's ifindex. ``addresses`` are CIDR strings.
    """
    by_name = {}
    for link in links:
        if link.get("ifname") is not None:
            by_name[link["ifname"]] = link.get("ifindex")
    result = []
    for link in links:
        linkinfo = link.get("linkinfo") or {}
        kind = linkinfo.get("info_kind")
        if not kind and link.get("link_type") == "loopback":
            kind = "loopback"
        link_ifindex = link.get("link_index")
        if link_ifindex is None and link.get("link"):
            link_ifindex = by_name.get(link["link"])
        mac = link.get("address")
        if not (isinstance(mac, str) and _MAC.match(mac)):
            mac = None
        addresses = []
        for addr in link.get("addr_info") or []:
            if addr.get("local") is not None and addr.get("prefixlen") is not None:
                addresses.append("%s/%s" % (addr["local"], addr["prefixlen"]))
        result.append({
            "name": link.get("ifname"),
            "ifindex": link.get("ifindex"),
            "kind": kind or None,
            "mtu": link.get("mtu"),
            "state": link.get("operstate"),
            "mac": mac,
            "addresses": addresses,
            "link_ifindex": link_ifindex,
            "link_netnsid": link.get("link_netnsid"),
            "master": link.get("master"),
            "flags": list(link.get("flags") or []),
            "promiscuity": link.get("promiscuity"),
        })
    return result


def normalise_routes(routes, family="inet", include_local=False):
    """Routes from ``ip -details -json -4|-6 route show table all``.

    Each: ``dst, gateway, dev, proto, scope, table, type, metric, prefsrc, family`` (+
    ``nexthops`` for multipath routes). The kernel-managed ``local`` table is skipped unless
    ``include_local``. Without ``-details`` iproute2 omits default values; they are filled in here
    (proto boot, scope global, table main, type unicast) so both forms give the same result.
    """
    result = []
    for route in routes:
        table = str(route.get("table", "main"))
        if table == "local" and not include_local:
            continue
        entry = {
            "dst": route.get("dst"),
            "gateway": route.get("gateway"),
            "dev": route.get("dev"),
            "proto": route.get("protocol", "boot"),
            "scope": route.get("scope", "global"),
            "table": table,
            "type": route.get("type", "unicast"),
            "metric": route.get("metric"),
            "prefsrc": route.get("prefsrc"),
            "family": family,
        }
        if route.get("nexthops"):
            entry["nexthops"] = [
                {"gateway": hop.get("gateway"), "dev": hop.get("dev"), "weight": hop.get("weight")}
                for hop in route["nexthops"]
            ]
        result.append(entry)
    return result
