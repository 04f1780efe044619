# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker API answers for ``crosshost.docker.docker_host_info``, pure (see ``_host_facts``): networks
(``GET /networks``), the default bridge, the engine (``GET /version``, ``GET /info``) and, for each running
container (``docker inspect``), the host-side device of each of its interfaces.
"""

from __future__ import annotations

import ipaddress

__all__ = [
    "normalise_network",
    "default_bridge",
    "normalise_engine",
    "container_record",
]


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
# containers: the host-side device of each interface


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
