# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans the iptables INPUT rules that accept a cluster's control and data plane ports from its peers.

Pure Python. What we own: one filter chain (CROSSHOST-INPUT by default, or another CROSSHOST-* name),
jumped to from the top of INPUT with the comment "crosshost.docker". Its rules only ACCEPT
(``-s PEER [-i IFACE] -p PROTO -m PROTO --dport PORT -j ACCEPT``); they never drop anything, so on a
host whose INPUT policy is ACCEPT they change nothing, and on a hardened host (policy DROP, or a
final REJECT) they open exactly these ports to exactly these peers. The rules are written the way
``iptables-save`` prints them, so a rerun compares equal and changes nothing.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError
from ansible_collections.crosshost.docker.plugins.module_utils._forward_rules import COMMENT
from ansible_collections.crosshost.docker.plugins.module_utils._persist import oneshot_unit

DEFAULT_CHAIN = "CROSSHOST-INPUT"
_CHAIN = re.compile(r"^CROSSHOST-[A-Z0-9_-]{1,18}$")
_PORT = re.compile(r"^(\d{1,5})(?::(\d{1,5}))?/(tcp|udp)$")
_IFNAME = re.compile(r"^[^\s/:]{1,15}$")
RESERVED_CHAINS = ("CROSSHOST-FORWARD", "CROSSHOST-MASQ")


class InputRulesError(PlanError):
    """Bad input: the message names the option and the fix."""


def validate(ports, sources, chain=DEFAULT_CHAIN, interface=None, state="present"):
    """Check the options; return (ports as [(first, last, proto)], sources as sorted networks)."""
    if not _CHAIN.match(chain or ""):
        raise InputRulesError("chain: %r must be CROSSHOST- followed by up to 18 capitals, digits, '_' or '-', "
                              "e.g. CROSSHOST-OVERLAY" % (chain,))
    if chain in RESERVED_CHAINS:
        raise InputRulesError("chain: %s belongs to crosshost.docker.forward_rules; use another name" % chain)
    if interface is not None and not _IFNAME.match(interface):
        raise InputRulesError("interface: %r is not an interface name" % (interface,))
    parsed = []
    for spec in ports or []:
        match = _PORT.match(str(spec).strip().lower())
        if not match:
            raise InputRulesError("ports: %r is not PORT/PROTO or FIRST:LAST/PROTO, e.g. 4789/udp" % (spec,))
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if not 0 < first <= last < 65536:
            raise InputRulesError("ports: %r is out of range (1-65535, first <= last)" % (spec,))
        item = (first, last, match.group(3))
        if item not in parsed:
            parsed.append(item)
    nets = []
    for value in sources or []:
        try:
            net = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise InputRulesError("sources: %r is not an IPv4 address or CIDR" % (value,))
        if net.version != 4:
            raise InputRulesError("sources: %s is IPv6; this module manages IPv4 (iptables) only" % net)
        if net.prefixlen == 0:
            raise InputRulesError("sources: %s would accept the ports from anywhere; list the peers' addresses" % net)
        if net not in nets:
            nets.append(net)
    if state == "present" and not parsed:
        raise InputRulesError("ports: give the ports to accept, e.g. [2377/tcp, 7946/tcp, 7946/udp, 4789/udp]")
    if state == "present" and not nets:
        raise InputRulesError("sources: give the peers' addresses (e.g. the other hosts' underlay IPs)")
    return parsed, sorted(nets)


def desired(ports, sources, chain=DEFAULT_CHAIN, interface=None):
    """Our chain and jump in forward_rules' plan format (see _forward_rules.plan)."""
    rules = []
    for net in sources:
        for first, last, proto in ports:
            port = str(first) if first == last else "%d:%d" % (first, last)
            iface = " -i %s" % interface if interface else ""
            rules.append("-s %s%s -p %s -m %s --dport %s -j ACCEPT" % (net, iface, proto, proto, port))
    return {"chains": {("filter", chain): rules},
            "jumps": [("filter", "INPUT", "-m comment --comment %s -j %s" % (COMMENT, chain), "top")]}


def systemd_unit(chain, script_path):
    """Our boot unit for `chain`: runs the script early (before the network is up, after network-pre)."""
    return oneshot_unit("crosshost.docker INPUT rules (%s)" % chain, "/bin/sh %s" % script_path,
                        (("After", "network-pre.target"),))
