# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans and checks for overlay (VXLAN) networks across Docker hosts.

Pure Python: no Ansible, no Docker SDK. The overlay role feeds it the hosts' facts
(crosshost.docker.docker_host_info and community.docker.docker_network_info) and acts on what it
returns. Every error names the variable and the fix, and is raised before anything changes, so the
seed's Docker errors ("network with name ... already exists", "Pool overlaps with other one on this
address space", "endpoint with name ... already exists in network ...") are caught first.

Backends:
- ``kv``: the legacy overlay of seed 004: daemon.json ``cluster-store`` (consul://, etcd:// or
  zk://) and ``cluster-advertise``. Docker 23.0 removed both keys: dockerd refuses to start with them.
- ``swarm``: swarm mode (init, join) and attachable overlay networks; works on every engine.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.crosshost.docker.plugins.module_utils import _inputs as inp
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

BACKENDS = ("kv", "swarm")
KV_SCHEMES = {"consul": 8500, "etcd": 2379, "zk": 2181}
CLUSTER_STORE_REMOVED = (23, 0)
VXLAN_OVERHEAD = 50
# For the overlay driver, com.docker.network.driver.mtu is the MTU of the VXLAN packets on the underlay:
# containers get that minus the 50 bytes of VXLAN encapsulation (measured on 20.10: option 1450 gives
# eth0 mtu 1400; no option gives 1450). The role's `mtu` is what containers see, so the option is mtu + 50.
MTU_OPTION = "com.docker.network.driver.mtu"
ENCRYPTED_OPTION = "encrypted"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_PORT_SPEC = re.compile(r"^(\d{1,5})/(tcp|udp)$")

# Ports the data and control planes need between hosts (Docker's swarm documentation; the legacy
# kv overlay uses the same gossip and VXLAN ports).
SWARM_PORTS = ("2377/tcp", "7946/tcp", "7946/udp", "4789/udp")
KV_PORTS = ("7946/tcp", "7946/udp", "4789/udp")


class OverlayPlanError(PlanError):
    """Bad input or a conflict: the message names the variable and the fix."""


def _version_tuple(version):
    if version in (None, ""):
        return None
    nums = re.findall(r"\d+", str(version))
    if not nums:
        return None
    return tuple(int(n) for n in nums[:3])


def parse_kv_url(url, field="overlay_kv_url"):
    """``consul://10.0.0.5:8500`` -> {"url", "scheme", "endpoints": [(host, port)]}.

    etcd and zk take a comma-separated list of endpoints (``etcd://a:2379,b:2379``); consul takes one.
    A missing port gets the store's default.
    """
    text = str(url or "").strip()
    match = re.match(r"^([a-z]+)://(.+)$", text)
    if not match:
        raise OverlayPlanError("%s: %r is not a key-value store URL; use consul://HOST:8500 or etcd://HOST:2379"
                               % (field, url))
    scheme, rest = match.groups()
    if scheme not in KV_SCHEMES:
        raise OverlayPlanError("%s: scheme %r is not one Docker's cluster-store knows; use consul, etcd or zk"
                               % (field, scheme))
    rest = rest.rstrip("/")
    if "/" in rest:
        raise OverlayPlanError("%s: %r has a path; give only HOST:PORT (Docker keeps its keys under docker/)"
                               % (field, url))
    endpoints = []
    for part in rest.split(","):
        host, port = part.strip(), ""
        if ":" in host:
            host, port = host.rsplit(":", 1)
        if not host:
            raise OverlayPlanError("%s: %r has an empty host" % (field, url))
        if port == "":
            port = KV_SCHEMES[scheme]
        elif not port.isdigit() or not 0 < int(port) < 65536:
            raise OverlayPlanError("%s: port %r in %r is not a number from 1 to 65535" % (field, port, url))
        if not _HOSTNAME.match(host):
            raise OverlayPlanError("%s: %r is not a host name or IPv4 address" % (field, host))
        endpoints.append((host, int(port)))
    if scheme == "consul" and len(endpoints) > 1:
        raise OverlayPlanError("%s: consul takes one address (an agent); run a consul client agent on each host "
                               "and point Docker at it" % field)
    normal = "%s://%s" % (scheme, ",".join("%s:%d" % e for e in endpoints))
    return {"url": normal, "scheme": scheme, "endpoints": endpoints}


def choose_backend(requested, engines, kv_url=None, swarm_states=None, cluster_stores=None):
    """Decide the backend for the hosts.

    ``engines``: {host: engine version string}. ``swarm_states``: {host: LocalNodeState}.
    ``cluster_stores``: {host: cluster-store value in daemon.json, or None}.
    Returns {"backend": "kv"|"swarm", "reason": str, "warnings": [str]}.
    """
    requested = requested or "auto"
    if requested not in ("auto",) + BACKENDS:
        raise OverlayPlanError("overlay_backend: %r is not auto, kv or swarm" % (requested,))
    if not engines:
        raise OverlayPlanError("overlay_hosts: no hosts take part; give at least one Docker host")
    unknown = sorted(h for h, v in engines.items() if _version_tuple(v) is None)
    if unknown:
        raise OverlayPlanError("Docker engine version unknown on %s: is dockerd running there? Start it, then run again"
                               % ", ".join(unknown))
    new = sorted(h for h, v in engines.items() if _version_tuple(v) >= CLUSTER_STORE_REMOVED)
    new_text = ", ".join("%s (%s)" % (h, engines[h]) for h in new)
    warnings = []
    swarm_states = swarm_states or {}
    cluster_stores = cluster_stores or {}
    if requested == "kv":
        if new:
            raise OverlayPlanError(
                "overlay_backend=kv: %s run Docker >= 23.0, which removed cluster-store (dockerd refuses to start "
                "with it). Use overlay_backend: swarm, which works on every engine, or take these hosts out of "
                "overlay_hosts." % new_text)
        if not kv_url:
            raise OverlayPlanError("overlay_backend=kv needs overlay_kv_url, for example consul://10.0.0.5:8500 "
                                   "(see the crosshost.docker.consul role) or etcd://10.0.0.5:2379")
        backend, reason = "kv", "overlay_backend=kv"
    elif requested == "swarm":
        backend, reason = "swarm", "overlay_backend=swarm"
    elif kv_url and not new:
        backend, reason = "kv", "every host runs Docker < 23.0 and overlay_kv_url is set"
    else:
        backend = "swarm"
        if kv_url:
            reason = "%s run Docker >= 23.0 (no cluster-store), so overlay_kv_url is not used" % new_text
            warnings.append("overlay_kv_url is set but %s; the swarm backend is used for the whole fleet" % reason)
        else:
            reason = "overlay_kv_url is not set" if not new else "%s run Docker >= 23.0" % new_text
    if backend == "kv":
        in_swarm = sorted(h for h, s in swarm_states.items() if s and s not in ("inactive", ""))
        if in_swarm:
            raise OverlayPlanError(
                "overlay_backend=kv: %s %s in a swarm, and dockerd cannot run swarm mode with cluster-store set. "
                "Leave the swarm first (overlay_backend: swarm, overlay_state: absent) or use overlay_backend: swarm."
                % (", ".join(in_swarm), "is" if len(in_swarm) == 1 else "are"))
    else:
        stores = sorted(h for h, s in cluster_stores.items() if s)
        if stores:
            raise OverlayPlanError(
                "overlay_backend=swarm: %s still %s cluster-store in daemon.json, and swarm mode refuses to start "
                "while it is set. Remove it first (overlay_backend: kv, overlay_state: absent), or remove the "
                "cluster-store and cluster-advertise keys with crosshost.docker.daemon_json."
                % (", ".join(stores), "has" if len(stores) == 1 else "have"))
    return {"backend": backend, "reason": reason, "warnings": warnings}


def _network(value, field):
    net = inp.network(value, field, "10.20.0.0/24", OverlayPlanError, need_prefix=False)
    if net.version != 4:
        raise OverlayPlanError("%s: %s is IPv6; give an IPv4 subnet" % (field, net))
    if net.prefixlen > 29:
        raise OverlayPlanError("%s: %s is too small for a network spanning hosts; use /29 or larger" % (field, net))
    return net


def _bool(value, field):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "true", "1", "on"):
        return True
    if text in ("no", "false", "0", "off", ""):
        return False
    raise OverlayPlanError("%s: %r is not a boolean" % (field, value))


def _subnets_of(net):
    """CIDR strings of a network record: ``subnets`` as strings or dicts, or ``subnet``."""
    out = []
    for item in net.get("subnets") or ([net["subnet"]] if net.get("subnet") else []):
        value = item.get("subnet") if isinstance(item, dict) else item
        if value:
            out.append(str(value))
    return out


def _inner_mtu(option):
    try:
        return int(option) - VXLAN_OVERHEAD
    except (TypeError, ValueError):
        return option


def _gateway_of(net):
    for item in net.get("subnets") or []:
        if isinstance(item, dict) and item.get("gateway"):
            return str(item["gateway"])
    return None


def normalise_networks(networks, underlay_mtu=1500, backend="swarm"):
    """Check the wanted overlay networks on their own; return them with defaults filled in.

    Each result: {name, subnet, gateway, mtu, encrypted, attachable}.
    """
    if not isinstance(networks, list) or not networks:
        raise OverlayPlanError("overlay_networks: give a list of networks, e.g. [{name: xh_overlay, subnet: 10.20.0.0/24}]")
    try:
        underlay_mtu = int(underlay_mtu)
    except (TypeError, ValueError):
        raise OverlayPlanError("overlay_underlay_mtu: %r is not a number" % (underlay_mtu,))
    max_mtu = underlay_mtu - VXLAN_OVERHEAD
    out = []
    for i, net in enumerate(networks):
        if not isinstance(net, dict):
            raise OverlayPlanError("overlay_networks[%d]: %r is not a dict with name and subnet" % (i, net))
        name = net.get("name")
        field = "overlay_networks[%s]" % (name if name else i)
        unknown = sorted(set(net) - {"name", "subnet", "gateway", "mtu", "encrypted", "attachable"})
        if unknown:
            raise OverlayPlanError("%s: unknown key(s) %s; known: name, subnet, gateway, mtu, encrypted, attachable"
                                   % (field, ", ".join(unknown)))
        if not name or not _NAME.match(str(name)):
            raise OverlayPlanError("%s.name: %r is not a Docker network name (letters, digits, '_', '.', '-')"
                                   % (field, name))
        if "subnet" not in net:
            raise OverlayPlanError("%s.subnet: missing; give the network's CIDR, e.g. 10.20.0.0/24" % field)
        subnet = _network(net["subnet"], field + ".subnet")
        if net.get("gateway") not in (None, ""):
            try:
                gateway = ipaddress.ip_address(str(net["gateway"]))
            except ValueError:
                raise OverlayPlanError("%s.gateway: %r is not an IPv4 address" % (field, net["gateway"]))
            if gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
                raise OverlayPlanError("%s.gateway: %s is not a usable address of %s" % (field, gateway, subnet))
        else:
            gateway = subnet.network_address + 1
        mtu = net.get("mtu")
        if mtu in (None, "", 0):
            mtu = max_mtu
        try:
            mtu = int(mtu)
        except (TypeError, ValueError):
            raise OverlayPlanError("%s.mtu: %r is not a number" % (field, mtu))
        if mtu < 576:
            raise OverlayPlanError("%s.mtu: %d is below 576; leave it unset for underlay MTU - 50 (%d)"
                                   % (field, mtu, max_mtu))
        if mtu > max_mtu:
            raise OverlayPlanError(
                "%s.mtu: %d does not fit: VXLAN adds %d bytes and the underlay MTU is %d, so packets would be "
                "fragmented or dropped. Use %d or less (or leave mtu unset)." % (field, mtu, VXLAN_OVERHEAD,
                                                                                 underlay_mtu, max_mtu))
        encrypted = _bool(net.get("encrypted", False), field + ".encrypted")
        if encrypted and backend == "kv":
            raise OverlayPlanError("%s.encrypted: encrypted overlay networks need swarm mode; use overlay_backend: "
                                   "swarm or set encrypted: false" % field)
        attachable = _bool(net.get("attachable", True), field + ".attachable")
        out.append({"name": str(name), "subnet": str(subnet), "gateway": str(gateway), "mtu": mtu,
                    "driver_mtu": mtu + VXLAN_OVERHEAD, "encrypted": encrypted, "attachable": attachable})
    names = [n["name"] for n in out]
    for name in set(names):
        if names.count(name) > 1:
            raise OverlayPlanError("overlay_networks: %s is listed %d times; give each network once"
                                   % (name, names.count(name)))
    for i, a in enumerate(out):
        for b in out[i + 1:]:
            if ipaddress.ip_network(a["subnet"]).overlaps(ipaddress.ip_network(b["subnet"])):
                raise OverlayPlanError("overlay_networks: %s (%s) and %s (%s) overlap: Docker would refuse the second "
                                       "with 'Pool overlaps with other one on this address space'; give each its "
                                       "own subnet" % (a["name"], a["subnet"], b["name"], b["subnet"]))
    return out


def check_networks(networks, existing=None, reserved=None, state="present"):
    """Compare the wanted (normalised) networks with what the hosts have.

    ``existing``: {host: [networks as crosshost.docker.docker_host_info returns them]}.
    ``reserved``: CIDRs the overlay subnets must not overlap (the underlay, the VPC).
    Returns {"create": [names], "keep": [names], "remove": [names]}: keep = exists with the same settings.
    """
    existing = existing or {}
    reserved = reserved or []
    create, keep, remove = [], [], []
    for cidr in reserved:
        for net in networks:
            try:
                res = ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                raise OverlayPlanError("overlay_reserved: %r is not a CIDR" % (cidr,))
            if res.overlaps(ipaddress.ip_network(net["subnet"])):
                raise OverlayPlanError("overlay_networks[%s].subnet: %s overlaps %s, which the hosts use (underlay or "
                                       "overlay_reserved); choose another subnet"
                                       % (net["name"], net["subnet"], res))
    for net in networks:
        want = ipaddress.ip_network(net["subnet"])
        found = False
        for host in sorted(existing):
            for have in existing[host] or []:
                subnets = _subnets_of(have)
                if have.get("name") == net["name"]:
                    found = True
                    if state == "absent":
                        continue
                    options = have.get("options") or {}
                    diffs = []
                    if have.get("driver") != "overlay":
                        diffs.append("driver %s (wants overlay)" % have.get("driver"))
                    if subnets and subnets[0] != net["subnet"]:
                        diffs.append("subnet %s (wants %s)" % (subnets[0], net["subnet"]))
                    gw = _gateway_of(have)
                    if gw and gw != net["gateway"]:
                        diffs.append("gateway %s (wants %s)" % (gw, net["gateway"]))
                    have_mtu = options.get(MTU_OPTION)
                    if have_mtu not in (None, "") and str(have_mtu) != str(net["driver_mtu"]):
                        diffs.append("mtu %s inside (option %s=%s; wants %s inside)" % (
                            _inner_mtu(have_mtu), MTU_OPTION, have_mtu, net["mtu"]))
                    if (ENCRYPTED_OPTION in options) != net["encrypted"]:
                        diffs.append("encrypted %s (wants %s)" % (ENCRYPTED_OPTION in options, net["encrypted"]))
                    if have.get("driver") == "overlay" and have.get("scope") == "swarm" and \
                            bool(have.get("attachable")) != net["attachable"]:
                        diffs.append("attachable %s (wants %s)" % (bool(have.get("attachable")), net["attachable"]))
                    if diffs:
                        raise OverlayPlanError(
                            "overlay_networks[%s]: a network with name %s already exists on %s with other settings: "
                            "%s. Docker would answer 'network with name %s already exists'. Remove it (disconnect "
                            "its containers, then docker network rm %s) or give this network another name."
                            % (net["name"], net["name"], host, "; ".join(diffs), net["name"], net["name"]))
                    continue
                if state == "absent":
                    continue
                for cidr in subnets:
                    try:
                        other = ipaddress.ip_network(cidr, strict=False)
                    except ValueError:
                        continue
                    if other.version == 4 and other.overlaps(want):
                        raise OverlayPlanError(
                            "overlay_networks[%s].subnet: %s overlaps network %s (%s, driver %s) on %s: Docker would "
                            "answer 'Pool overlaps with other one on this address space', or containers could not "
                            "reach one of the two. Choose a free subnet."
                            % (net["name"], net["subnet"], have.get("name"), cidr, have.get("driver"), host))
        if state == "absent":
            if found:
                remove.append(net["name"])
        else:
            (keep if found else create).append(net["name"])
    return {"create": create, "keep": keep, "remove": remove}


def check_endpoints(networks, attach=None, endpoints=None):
    """Container names must be unique in an overlay network across all hosts.

    ``networks``: normalised wanted networks. ``attach``: {host: [{container, network, ipv4_address?}]},
    the containers the role will connect. ``endpoints``: {host: {network: [container names]}}, what
    is already connected (from each host's view of the network).
    Returns {host: [attach entries, normalised]}.
    """
    by_name = {n["name"]: n for n in networks}
    attach = attach or {}
    endpoints = endpoints or {}
    owners = {}  # (network, container) -> host
    for host in sorted(endpoints):
        for net, names in (endpoints[host] or {}).items():
            for name in names or []:
                owners.setdefault((net, str(name).lstrip("/")), set()).add(host)
    out = {}
    addresses = {}
    planned = {}
    for host in sorted(attach):
        items = attach[host] or []
        if not isinstance(items, list):
            raise OverlayPlanError("overlay_attach on %s: give a list of {container, network}" % host)
        out[host] = []
        for i, item in enumerate(items):
            field = "overlay_attach[%d] on %s" % (i, host)
            if not isinstance(item, dict) or not item.get("container") or not item.get("network"):
                raise OverlayPlanError("%s: give container and network, e.g. {container: web, network: xh_overlay}"
                                       % field)
            net = item["network"]
            if net not in by_name:
                raise OverlayPlanError("%s.network: %s is not one of overlay_networks (%s)"
                                       % (field, net, ", ".join(sorted(by_name))))
            name = str(item["container"])
            key = (net, name)
            others = sorted((owners.get(key) or set()) - {host})
            if others:
                raise OverlayPlanError(
                    "%s: endpoint with name %s already exists in network %s (a container %s on %s is connected). "
                    "An overlay network spans hosts, so container names must be unique in it: rename one of them."
                    % (field, name, net, name, ", ".join(others)))
            if key in planned and planned[key] != host:
                raise OverlayPlanError(
                    "%s: container %s is attached to %s on both %s and %s; Docker would answer 'endpoint with name "
                    "%s already exists in network %s'. Rename one of them."
                    % (field, name, net, planned[key], host, name, net))
            planned[key] = host
            entry = {"container": name, "network": net}
            if item.get("ipv4_address"):
                try:
                    addr = ipaddress.ip_address(str(item["ipv4_address"]))
                except ValueError:
                    raise OverlayPlanError("%s.ipv4_address: %r is not an IPv4 address" % (field, item["ipv4_address"]))
                subnet = ipaddress.ip_network(by_name[net]["subnet"])
                if addr not in subnet or str(addr) == by_name[net]["gateway"] or \
                        addr in (subnet.network_address, subnet.broadcast_address):
                    raise OverlayPlanError("%s.ipv4_address: %s is not a free host address of %s (gateway %s)"
                                           % (field, addr, subnet, by_name[net]["gateway"]))
                if (net, addr) in addresses:
                    raise OverlayPlanError("%s.ipv4_address: %s is also given to %s; every endpoint needs its own "
                                           "address" % (field, addr, addresses[(net, addr)]))
                addresses[(net, addr)] = "%s on %s" % (name, host)
                entry["ipv4_address"] = str(addr)
            out[host].append(entry)
    return out


def firewall_ports(backend, manager=True):
    """Ports to accept from the peers: swarm managers also need 2377/tcp; kv needs gossip and VXLAN."""
    if backend == "kv":
        return list(KV_PORTS)
    return [p for p in SWARM_PORTS if manager or p != "2377/tcp"]


def parse_port(spec, field="ports"):
    """``"4789/udp"`` -> (4789, "udp")."""
    match = _PORT_SPEC.match(str(spec).strip().lower())
    if not match or not 0 < int(match.group(1)) < 65536:
        raise OverlayPlanError("%s: %r is not PORT/PROTO such as 4789/udp" % (field, spec))
    return int(match.group(1)), match.group(2)
