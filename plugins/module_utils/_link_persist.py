# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence of crosshost.docker.link, pure: the text of its files and the nmcli argument lists
(plain data in, plain data out; no files, no commands).

- ``choose_backend``: persist_backend (auto | networkd | ifupdown | nm | none) for what the host has;
- systemd-networkd: .netdev/.network files and drop-ins for the parent's .network (``render_networkd``,
  ``networkd_match_names``, the paths);
- ifupdown: one stanza file in /etc/network/interfaces.d (``render_ifupdown``);
- NetworkManager: our connection's settings and the nmcli argument lists (``nm_settings``, ``nmcli_args``,
  ``nmcli_delete_args``), which the ``_netconf`` adapter runs.

The link specs are those of ``_links.normalize``; the module writes the files through ``_files``.
"""

from __future__ import annotations

import os

from ansible_collections.crosshost.docker.plugins.module_utils._links import LinkError

HEADER = "Written by crosshost.docker.link"
NETWORKD_DIR = "/etc/systemd/network"
IFUPDOWN_DIR = "/etc/network/interfaces.d"
PREFIX = "crosshost-"


def choose_backend(wanted, networkd=False, ifupdown=False, nmcli=False):
    """persist_backend (auto | networkd | ifupdown | nm | none) and what the host has -> the backend."""
    if wanted != "auto":
        return wanted
    if networkd:
        return "networkd"
    if ifupdown:
        return "ifupdown"
    if nmcli:
        return "nm"
    return "none"


def _head(comment="#"):
    return "%s %s; removed by it with state=absent. Do not edit.\n" % (comment, HEADER)


def networkd_base_path(parent):
    """Our own .network for the parent, used only when no other .network file matches it."""
    return os.path.join(NETWORKD_DIR, "60-%s%s.network" % (PREFIX, parent))


def networkd_dropin_path(parent_network, name):
    """A drop-in of ours for the .network file that configures the parent (its basename)."""
    return os.path.join(NETWORKD_DIR, parent_network + ".d", "60-%s%s.conf" % (PREFIX, name))


def render_networkd(spec, parent_network=None):
    """{path: text} of the networkd files for `spec` (state present).

    `parent_network` is the basename of the .network file that matches the parent (the VLAN=/MACVLAN=
    lines must go there: networkd applies only the first matching .network file), or None, in which
    case our own base file for the parent is included.
    """
    files = {}
    name = spec["name"]
    parent = spec["name"] if spec["kind"] == "parent" else spec["link"]
    base = parent_network or os.path.basename(networkd_base_path(parent))
    if not parent_network:
        files[networkd_base_path(parent)] = (
            _head() + "# The parent %s, so that links of ours can be attached to it (drop-ins in %s.d/).\n"
            "[Match]\nName=%s\n\n[Network]\nConfigureWithoutCarrier=yes\n" % (parent, base, parent))
    dropin = _head()
    if spec["kind"] == "parent":
        link = []
        if spec["mtu"]:
            link.append("MTUBytes=%d" % spec["mtu"])
        if spec["promisc"] is not None:
            link.append("Promiscuous=%s" % ("yes" if spec["promisc"] else "no"))
        dropin += "[Link]\n%s" % "".join(line + "\n" for line in link) if link else "# (nothing to set)\n"
        files[networkd_dropin_path(base, name)] = dropin
        return files
    key = "VLAN" if spec["kind"] == "vlan" else "MACVLAN"
    files[networkd_dropin_path(base, name)] = dropin + "[Network]\n%s=%s\n" % (key, name)
    netdev = _head() + "[NetDev]\nName=%s\nKind=%s\n" % (name, "vlan" if key == "VLAN" else "macvlan")
    if spec["mtu"]:
        netdev += "MTUBytes=%d\n" % spec["mtu"]
    if key == "VLAN":
        netdev += "\n[VLAN]\nId=%d\n" % spec["vlan_id"]
    else:
        netdev += "\n[MACVLAN]\nMode=bridge\n"
    files[os.path.join(NETWORKD_DIR, "60-%s%s.netdev" % (PREFIX, name))] = netdev
    network = _head() + "[Match]\nName=%s\n\n[Network]\n" % name
    if key == "VLAN":
        network += "LinkLocalAddressing=no\nConfigureWithoutCarrier=yes\n"
    else:
        network += "LinkLocalAddressing=no\nAddress=%s\n" % spec["address"]
        for route in spec["routes"]:
            network += "\n[Route]\nDestination=%s\nScope=link\n" % route
    files[os.path.join(NETWORKD_DIR, "60-%s%s.network" % (PREFIX, name))] = network
    return files


def networkd_match_names(text):
    """The Name= patterns of a .network file's [Match] section."""
    names, section = [], None
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Match" and line.startswith("Name="):
            names.extend(line.split("=", 1)[1].split())
    return names


def ifupdown_path(name):
    return os.path.join(IFUPDOWN_DIR, PREFIX + name)


def render_ifupdown(spec):
    """{path: text}: one stanza file in /etc/network/interfaces.d/ (sourced by /etc/network/interfaces)."""
    name = spec["name"]
    lines = [_head().rstrip("\n"), "auto %s" % name]
    if spec["kind"] == "parent":
        lines.append("iface %s inet manual" % name)
        if spec["mtu"]:
            lines.append("    mtu %d" % spec["mtu"])
        if spec["promisc"] is not None:
            lines.append("    up ip link set dev %s promisc %s" % (name, "on" if spec["promisc"] else "off"))
    elif spec["kind"] == "vlan":
        lines.append("iface %s inet manual" % name)
        lines.append("    vlan-raw-device %s" % spec["link"])
        lines.append("    vlan-id %d" % spec["vlan_id"])
        if spec["mtu"]:
            lines.append("    mtu %d" % spec["mtu"])
    else:
        lines.append("iface %s inet static" % name)
        lines.append("    address %s" % spec["address"])
        mtu = " mtu %d" % spec["mtu"] if spec["mtu"] else ""
        lines.append("    pre-up ip link add %s link %s%s type macvlan mode bridge" % (name, spec["link"], mtu))
        for route in spec["routes"]:
            lines.append("    up ip route replace %s dev %s" % (route, name))
        lines.append("    post-down ip link del %s" % name)
    return {ifupdown_path(name): "\n".join(lines) + "\n"}


def nm_connection(name):
    return PREFIX + name


def nm_settings(spec):
    """{nmcli property: value} of our NetworkManager connection for `spec` (kinds vlan and macvlan_shim)."""
    if spec["kind"] == "vlan":
        props = {"connection.type": "vlan", "connection.interface-name": spec["name"], "vlan.parent": spec["link"],
                 "vlan.id": str(spec["vlan_id"]), "ipv4.method": "disabled", "ipv6.method": "disabled"}
    elif spec["kind"] == "macvlan_shim":
        props = {"connection.type": "macvlan", "connection.interface-name": spec["name"],
                 "macvlan.parent": spec["link"], "macvlan.mode": "bridge", "ipv4.method": "manual",
                 "ipv4.addresses": spec["address"], "ipv4.routes": ",".join(spec["routes"]),
                 "ipv6.method": "disabled"}
    else:
        props = {}
        if spec["promisc"] is not None:
            props["802-3-ethernet.accept-all-mac-addresses"] = "true" if spec["promisc"] else "false"
    if spec["mtu"]:
        props["802-3-ethernet.mtu"] = str(spec["mtu"])
    props["connection.autoconnect"] = "yes"
    return props


def nmcli_args(spec, exists, connection=None):
    """The nmcli argument list that makes our connection (or, for kind parent, the parent's existing
    `connection`) hold nm_settings(spec): `connection add` when it does not exist, else `modify`."""
    props = nm_settings(spec)
    con = connection or nm_connection(spec["name"])
    if spec["kind"] == "parent":
        if not connection:
            raise LinkError("persist_backend=nm: NetworkManager has no connection for %s to store its settings in"
                            % spec["name"])
        args = ["nmcli", "connection", "modify", con]
        props.pop("connection.autoconnect")
    elif exists:
        args = ["nmcli", "connection", "modify", con]
        props.pop("connection.type")
    else:
        args = ["nmcli", "connection", "add", "type", props.pop("connection.type"), "con-name", con,
                "ifname", props.pop("connection.interface-name")]
    for key in sorted(props):
        args += [key, props[key]]
    return args


def nmcli_delete_args(name):
    return ["nmcli", "connection", "delete", nm_connection(name)]
