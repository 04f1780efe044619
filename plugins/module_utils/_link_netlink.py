# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink adapter of crosshost.docker.link (pyroute2): read one link as a plain dict, and apply the
operations planned by ``_links.plan``. Every request is counted in ``writes``; failures raise
``_links.LinkError`` with the message of ``_links.netlink_error_message``.
"""

from __future__ import annotations

import socket

from ansible_collections.crosshost.docker.plugins.module_utils import _links

from ansible_collections.crosshost.docker.plugins.module_utils._netlink import (
    MAIN_TABLE,
    RTN_UNICAST,
    RTPROT_KERNEL,
    NetlinkError,
    open_iproute,
)


def _err(e):
    code = getattr(e, "code", None)
    if code is None and e.args:
        code = e.args[0] if isinstance(e.args[0], int) else None
    text = e.args[1] if len(e.args) > 1 else str(e)
    return code, text


class Links:
    def __init__(self):
        self.ipr = open_iproute(_links.LinkError, "the module needs pyroute2 on the managed host")
        self.writes = 0
        self._route_keys = {}  # (ifindex, destination) -> (proto, scope) as read: the kernel matches them on delete

    def close(self):
        self.ipr.close()

    def names(self):
        return sorted(m.get_attr("IFLA_IFNAME") for m in self.ipr.get_links())

    def get(self, name):
        """The link called `name` as a plain dict, or None."""
        try:
            found = self.ipr.link_lookup(ifname=name)
        except NetlinkError:
            found = []
        if not found:
            return None
        msg = self.ipr.get_links(found[0])[0]
        index = msg["index"]
        info = msg.get_attr("IFLA_LINKINFO")
        kind = data = None
        if info is not None:
            kind = info.get_attr("IFLA_INFO_KIND")
            data = info.get_attr("IFLA_INFO_DATA")
        link = dict(name=name, index=index, kind=kind, mtu=msg.get_attr("IFLA_MTU"),
                    up=bool(msg["flags"] & _links.IFF_UP), promisc=bool(msg["flags"] & _links.IFF_PROMISC),
                    operstate=msg.get_attr("IFLA_OPERSTATE"), parent_index=msg.get_attr("IFLA_LINK"),
                    vlan_id=None, mode=None, parent=None)
        if data is not None and hasattr(data, "get_attr"):
            if kind == "vlan":
                link["vlan_id"] = data.get_attr("IFLA_VLAN_ID")
            elif kind == "macvlan":
                link["mode"] = data.get_attr("IFLA_MACVLAN_MODE")
        if msg.get_attr("IFLA_LINK_NETNSID") is not None:
            link["parent_index"] = None  # e.g. a veth: IFLA_LINK is its peer's index in another namespace
        elif link["parent_index"] and link["parent_index"] != index:
            try:
                parent = self.ipr.get_links(link["parent_index"])[0]
                link["parent"] = parent.get_attr("IFLA_IFNAME")
            except (NetlinkError, IndexError):
                pass
        else:
            link["parent_index"] = None
        link["addresses"] = sorted("%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                                   for a in self.ipr.get_addr(family=socket.AF_INET, index=index))
        routes = []
        for r in self.ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE):
            if r.get_attr("RTA_OIF") != index or r["proto"] == RTPROT_KERNEL or r["type"] != RTN_UNICAST:
                continue
            if (r.get_attr("RTA_TABLE") or r["table"]) != MAIN_TABLE or r.get_attr("RTA_GATEWAY"):
                continue
            dst = "%s/%d" % (r.get_attr("RTA_DST") or "0.0.0.0", r["dst_len"])
            self._route_keys[(index, dst)] = (r["proto"], r["scope"])
            routes.append(dst)
        link["routes"] = sorted(routes)
        return link

    def _do(self, what, link_kind, func, *args, **kwargs):
        self.writes += 1
        try:
            return func(*args, **kwargs)
        except NetlinkError as e:
            code, text = _err(e)
            raise _links.LinkError(_links.netlink_error_message(code, text, what, link_kind))

    def create(self, request, kind):
        kw = _links.pyroute2_args(request)
        self._do("creating %s %s" % (kind, kw["ifname"]), kind, self.ipr.link, "add", **kw)

    def apply(self, name, op, arg):
        """One planned operation (see _links.plan) on the link called `name`."""
        if op == "create_vlan":
            return self.create(_links.vlan_request(arg["name"], arg["link"], arg["vlan_id"], arg["mtu"]), "vlan")
        if op == "create_macvlan":
            return self.create(_links.macvlan_request(arg["name"], arg["link"], arg["mode"], arg["mtu"]), "macvlan")
        index = self.ipr.link_lookup(ifname=name)
        if not index:
            raise _links.LinkError("%s: the link disappeared while the module was changing it" % name)
        index = index[0]
        link = self.ipr.link
        if op == "set_mtu":
            self._do("setting mtu %s on %s" % (arg, name), None, link, "set", index=index, mtu=arg)
        elif op == "set_up":
            self._do("setting %s up" % name, None, link, "set", index=index, state="up")
        elif op == "set_promisc":
            # IFF_PROMISC through flags/mask: pyroute2's promiscuity= is ignored by the kernel.
            flags = _links.IFF_PROMISC if arg else 0
            self._do("setting promisc %s on %s" % ("on" if arg else "off", name), None, link, "set", index=index,
                     flags=flags, mask=_links.IFF_PROMISC)
        elif op == "delete":
            self._do("deleting %s" % name, None, link, "del", index=index)
        elif op in ("add_addr", "del_addr"):
            address, prefix = arg.split("/")
            self._do("%s address %s on %s" % ("adding" if op == "add_addr" else "removing", arg, name), None,
                     self.ipr.addr, "add" if op == "add_addr" else "del", index=index, address=address,
                     prefixlen=int(prefix))
        elif op in ("add_route", "del_route"):
            kw = dict(dst=arg, oif=index, table=MAIN_TABLE)
            if op == "add_route":
                kw.update(scope=253, proto="static")  # scope link: a device route through the shim
            elif (index, arg) in self._route_keys:
                kw["proto"], kw["scope"] = self._route_keys[(index, arg)]
            self._do("%s route %s dev %s" % ("adding" if op == "add_route" else "removing", arg, name), None,
                     self.ipr.route, "add" if op == "add_route" else "del", **kw)
        else:
            raise _links.LinkError("unknown operation %s" % op)
        return None
