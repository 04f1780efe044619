# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parsing and normalising helpers behind ``crosshost.docker.docker_host_info``.

Nothing in this file does I/O or imports ansible, docker or pyroute2: every function takes text
(the output of a command, the content of a file) or plain dicts (Docker API answers) and returns
plain, JSON-serialisable data. The module reads files, runs commands and talks to the Docker API;
these functions only interpret what it got, so each one is unit-tested on captured fixtures.

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

import ipaddress
import json
import re

from ansible_collections.crosshost.docker.plugins.module_utils import _iptables
from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import (  # Docker's connection diagnostics
    docker_unreachable_message,
    unix_socket_path,
)
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import IptablesSaveError

__all__ = [
    "HostFactsError",
    "DaemonJsonError",
    "IptablesSaveError",
    "IpJsonError",
    "parse_daemon_json",
    "default_bridge",
    "normalise_network",
    "normalise_engine",
    "parse_iptables_save",
    "parse_iptables_version",
    "parse_ip_json",
    "normalise_interfaces",
    "normalise_routes",
    "parse_sysctl_int",
    "normalise_sysfs_link",
    "container_record",
    "unix_socket_path",
    "docker_unreachable_message",
]


class HostFactsError(PlanError):
    """Base class of the parse errors raised here."""


class DaemonJsonError(HostFactsError):
    """daemon.json could not be used; ``line``/``column`` are 1-based (None when not positional)."""

    def __init__(self, message, line=None, column=None, hint=None):
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint
        text = message
        if line is not None:
            text = "%s at line %d, column %d" % (text, line, column)
        if hint:
            text = "%s (hint: %s)" % (text, hint)
        super().__init__(text)


class IpJsonError(HostFactsError):
    """The output of ``ip -json ...`` is not the JSON list it should be."""


# --------------------------------------------------------------------------------------------
# daemon.json


_COMMENT_HINT = "comments are not allowed in daemon.json: delete the lines starting with '#'"


def _json_hint(text, err):
    """A human hint for the most common ways people break daemon.json."""
    lines = text.splitlines()
    bad_line = lines[err.lineno - 1] if 0 < err.lineno <= len(lines) else ""
    stripped = bad_line.lstrip()
    char = text[err.pos] if 0 <= err.pos < len(text) else ""
    if stripped.startswith("#"):
        return _COMMENT_HINT
    if stripped.startswith("//") or char == "#" or text[err.pos:err.pos + 2] in ("//", "/*"):
        return "comments are not allowed in daemon.json (JSON has no comment syntax)"
    if char == "'":
        return "JSON strings and keys need double quotes, not single quotes"
    before = text[:err.pos].rstrip()
    if before.endswith(",") and char in ("}", "]"):
        return "trailing commas are not allowed in JSON"
    if err.msg.startswith("Expecting ',' delimiter"):
        return "a comma is missing after the previous entry"
    return None


def parse_daemon_json(text, path="daemon.json"):
    """Parse the content of /etc/docker/daemon.json and return it as a dict.

    An empty (or whitespace-only) file gives ``{}``: dockerd 23.0 and later treat it as "no
    configuration" (dockerd 20.10 refuses to start with it, ``EOF``: the module warns about that).
    A UTF-8 byte order mark is skipped (recent dockerd versions skip it too, older ones refuse it).
    Raises DaemonJsonError with ``line``/``column`` and a ``hint`` when the text is not valid JSON
    (Debian's and many blog posts' daemon.json carry ``#`` comments, which dockerd refuses), and
    without position when the JSON is valid but not an object.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DaemonJsonError("%s is not UTF-8 text: %s" % (path, exc))
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DaemonJsonError(
            "%s is not valid JSON: %s" % (path, err.msg), err.lineno, err.colno, _json_hint(text, err)
        )
    if not isinstance(data, dict):
        raise DaemonJsonError(
            "%s must contain a JSON object ({...}), not a %s" % (path, type(data).__name__)
        )
    return data


# --------------------------------------------------------------------------------------------
# Docker API answers


def _subnet(cfg):
    aux = cfg.get("AuxiliaryAddresses") or cfg.get("AuxAddress") or {}
    return {
        "subnet": cfg.get("Subnet") or None,
        "gateway": cfg.get("Gateway") or None,
        "ip_range": cfg.get("IPRange") or None,
        "aux_addresses": dict(aux),
    }


def normalise_network(inspect):
    """Reduce a ``docker network inspect`` (or ``GET /networks`` item) to the facts we use.

    ``parent`` is the ``parent`` driver option for macvlan and ipvlan networks, else None.
    """
    options = dict(inspect.get("Options") or {})
    driver = inspect.get("Driver") or None
    ipam = inspect.get("IPAM") or {}
    return {
        "name": inspect.get("Name"),
        "id": inspect.get("Id") or inspect.get("ID"),
        "driver": driver,
        "scope": inspect.get("Scope") or None,
        "internal": bool(inspect.get("Internal")),
        "attachable": bool(inspect.get("Attachable")),
        "subnets": [_subnet(cfg) for cfg in (ipam.get("Config") or [])],
        "parent": (options.get("parent") or None) if driver in ("macvlan", "ipvlan") else None,
        "options": options,
    }


def default_bridge(daemon_config, networks, interfaces=None):
    """Facts about the default bridge (``docker0``).

    ``daemon_config``: parsed daemon.json (or None when absent/invalid); ``bip`` comes from it and
    is None when the daemon uses its default. ``networks``: normalised networks (see
    normalise_network); ``subnet``/``gateway`` are what the daemon actually applied to the
    ``bridge`` network (first IPv4 subnet of its IPAM config).

    dockerd 20.10 often reports the default bridge's IPAM config without ``Gateway`` (seen on the
    lab's 20.10 hosts: ``"Config": [{"Subnet": "172.17.0.0/16"}]``). The gateway is then the
    bridge's own address: taken from ``bip`` when it lies in the subnet, else from the bridge
    device's IPv4 address in ``interfaces`` (normalise_interfaces output), else None.
    """
    daemon_config = daemon_config if isinstance(daemon_config, dict) else {}
    net = None
    for candidate in networks or []:
        if candidate.get("name") == "bridge" and candidate.get("driver") == "bridge":
            net = candidate
            break
    name = None
    if net is not None:
        name = (net.get("options") or {}).get("com.docker.network.bridge.name")
    if not name:
        configured = daemon_config.get("bridge")
        if configured and configured != "none":
            name = configured
        elif net is not None:
            name = "docker0"
    subnet = gateway = None
    if net is not None:
        for sub in net.get("subnets") or []:
            if sub.get("subnet") and ":" not in sub["subnet"]:
                subnet, gateway = sub["subnet"], sub.get("gateway")
                break
    bip = daemon_config.get("bip") or None
    if subnet and not gateway:
        candidates = [bip] if bip else []
        for iface in interfaces or []:
            if iface.get("name") == name:
                candidates.extend(iface.get("addresses") or [])
        gateway = _address_in(candidates, subnet)
    return {"name": name, "bip": bip, "subnet": subnet, "gateway": gateway}


def _address_in(cidrs, subnet):
    """The address part of the first ``cidrs`` entry that lies in ``subnet``, else None."""
    try:
        network = ipaddress.ip_network(subnet, strict=False)
    except ValueError:
        return None
    for cidr in cidrs:
        try:
            iface = ipaddress.ip_interface(cidr)
        except ValueError:
            continue
        if iface.version == network.version and iface.ip in network:
            return str(iface.ip)
    return None


def normalise_engine(version, info):
    """Engine facts from ``GET /version`` and ``GET /info``."""
    version = version or {}
    info = info or {}
    swarm = info.get("Swarm") or {}
    return {
        "version": version.get("Version"),
        "api_version": version.get("ApiVersion"),
        "min_api_version": version.get("MinAPIVersion"),
        "os": version.get("Os") or info.get("OSType"),
        "operating_system": info.get("OperatingSystem"),
        "arch": version.get("Arch") or info.get("Architecture"),
        "kernel_version": version.get("KernelVersion") or info.get("KernelVersion"),
        "id": info.get("ID"),
        "name": info.get("Name"),
        "cgroup_driver": info.get("CgroupDriver"),
        "storage_driver": info.get("Driver"),
        "swarm_state": swarm.get("LocalNodeState"),
    }


# --------------------------------------------------------------------------------------------
# iptables

# The one iptables-save parser lives in _iptables (the adapter for iptables); its names stay importable here.
parse_iptables_save = _iptables.parse_save
parse_iptables_version = _iptables.parse_version


# --------------------------------------------------------------------------------------------
# interfaces and routes (iproute2 JSON output)

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


# --------------------------------------------------------------------------------------------
# sysctl and sysfs


def parse_sysctl_int(text):
    """Content of a /proc/sys file holding one integer -> int (None when empty/not an int)."""
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def normalise_sysfs_link(name, files):
    """A container interface from its sysfs files (``/sys/class/net/<name>/<file>`` contents).

    ``files`` maps file names (ifindex, iflink, address, mtu, operstate) to their text; missing
    ones give None. ``iflink`` is the ifindex of the peer (veth) or parent (macvlan/ipvlan) device,
    as numbered in the namespace where that device lives.
    """
    def _int(key):
        return parse_sysctl_int(files.get(key))

    address = (files.get("address") or "").strip() or None
    state = (files.get("operstate") or "").strip() or None
    return {
        "name": name,
        "ifindex": _int("ifindex"),
        "iflink": _int("iflink"),
        "address": address,
        "mtu": _int("mtu"),
        "state": state,
    }


# --------------------------------------------------------------------------------------------
# container -> host-side interface map


def _attached_networks(container, networks):
    by_id = {}
    by_name = {}
    for net in networks or []:
        if net.get("id"):
            by_id[net["id"]] = net
        if net.get("name"):
            by_name[net["name"]] = net
    attached = []
    endpoints = ((container.get("NetworkSettings") or {}).get("Networks")) or {}
    for net_name in sorted(endpoints):
        endpoint = endpoints[net_name] or {}
        net = by_id.get(endpoint.get("NetworkID")) or by_name.get(net_name) or {}
        ip = endpoint.get("IPAddress")
        plen = endpoint.get("IPPrefixLen")
        attached.append({
            "network": net_name,
            "driver": net.get("driver"),
            "parent": net.get("parent"),
            "mac": (endpoint.get("MacAddress") or "").lower() or None,
            "ip_address": ("%s/%s" % (ip, plen) if plen else ip) if ip else None,
        })
    return attached


def _match_interface(link, attached, used, host_by_index):
    peer = link.get("iflink")
    own = link.get("ifindex")
    host = host_by_index.get(peer) if peer and peer != own else None
    mac = (link.get("address") or "").lower()

    endpoint = None
    for cand in attached:
        if id(cand) not in used and cand["mac"] and cand["mac"] == mac:
            endpoint = cand
            break
    if endpoint is None and host is not None:
        # ipvlan endpoints share their parent's MAC and Docker reports none: match by parent.
        cands = [c for c in attached if id(c) not in used and c["driver"] in ("macvlan", "ipvlan")
                 and c["parent"] == host.get("name")]
        if len(cands) == 1:
            endpoint = cands[0]
    if endpoint is not None:
        used.add(id(endpoint))
    driver = endpoint["driver"] if endpoint else None

    entry = {
        "name": link.get("name"),
        "ifindex": own,
        "address": link.get("address"),
        "mtu": link.get("mtu"),
        "state": link.get("state"),
        "peer_ifindex": peer,
        "network": endpoint["network"] if endpoint else None,
        "driver": driver,
        "ip_address": endpoint["ip_address"] if endpoint else None,
        "host_interface": None,
        "host_kind": None,
        "host_master": None,
        "note": None,
    }
    if not peer or peer == own:
        entry["note"] = "no peer or parent device"
    elif driver in ("macvlan", "ipvlan"):
        parent = endpoint.get("parent")
        if host is not None and (not parent or host.get("name") == parent):
            entry["host_interface"] = host.get("name")
            entry["host_kind"] = "%s-parent" % driver
        elif host is not None:
            entry["note"] = ("ifindex %d in the host namespace is %s, not the network's parent %s"
                             % (peer, host.get("name"), parent))
        else:
            entry["note"] = "%s parent (ifindex %d) not found in the host namespace" % (driver, peer)
    elif host is not None and host.get("kind") == "veth" and host.get("link_ifindex") in (own, None):
        # Both ends agree: the host veth's own peer is this interface. A bare ifindex match is not
        # enough, ifindexes are per namespace (an overlay container's eth0 peer lives in the
        # overlay network's namespace, and the same number is often some unrelated host device).
        entry["host_interface"] = host.get("name")
        entry["host_kind"] = "veth"
        entry["host_master"] = host.get("master")
    elif driver == "overlay":
        entry["note"] = "peer (ifindex %d) lives in the overlay network's namespace, not in the host namespace" % peer
    elif host is not None:
        entry["note"] = ("peer ifindex %d is not in the host namespace (host ifindex %d is %s, which is not "
                         "this interface's peer)" % (peer, peer, host.get("name")))
    else:
        entry["note"] = "peer ifindex %d is not in the host namespace" % peer
    return entry


def container_record(container, links, host_interfaces, networks=None, error=None):
    """One running container and, for each of its interfaces, the host-side device.

    ``container``: ``docker inspect`` of the container. ``links``: its interfaces as returned by
    normalise_sysfs_link (read from ``/proc/<pid>/root/sys/class/net``). ``host_interfaces``: the
    host's interfaces (normalise_interfaces). ``networks``: normalised networks, used to know each
    interface's Docker network and driver (matched by MAC address, or by macvlan/ipvlan parent).

    ``host_kind`` is ``veth`` (host end of the container's veth pair, verified from both ends:
    host ifindex == container iflink and host veth peer == container ifindex), ``macvlan-parent``
    / ``ipvlan-parent`` (the host device the container's macvlan/ipvlan sits on), or None with a
    ``note`` saying why (e.g. overlay: the peer lives in the overlay's own namespace).
    """
    state = container.get("State") or {}
    host_config = container.get("HostConfig") or {}
    network_mode = host_config.get("NetworkMode")
    record = {
        "name": (container.get("Name") or "").lstrip("/") or None,
        "id": container.get("Id"),
        "pid": state.get("Pid") or None,
        "network_mode": network_mode,
        "interfaces": [],
        "error": error,
    }
    if error:
        return record
    attached = _attached_networks(container, networks)
    host_by_index = {}
    for iface in host_interfaces or []:
        if iface.get("ifindex") is not None:
            host_by_index[iface["ifindex"]] = iface
    used = set()
    ordered = sorted(links or [], key=lambda lk: (lk.get("ifindex") is None, lk.get("ifindex"), lk.get("name")))
    for link in ordered:
        if link.get("name") == "lo":
            continue
        record["interfaces"].append(_match_interface(link, attached, used, host_by_index))
    return record
