# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of crosshost.docker.link: plain data in, plain data out (no netlink, no files).

- validation of interface names, VLAN ids, MTUs, addresses and routes (``normalize``);
- the desired-vs-actual plan of one link (``plan``): a list of operations for the netlink adapter
  (``_link_netlink.py``) and a list of human-readable actions;
- the netlink request that creates a VLAN sub-interface, as a plain dict (``vlan_request``), so
  that it can be unit-tested on a kernel without 802.1q;
- the mapping of netlink errors to clear messages (``netlink_error_message``).

The persistence renderers (networkd, ifupdown, nmcli) are in ``_link_persist.py``.
"""

from __future__ import annotations

import errno
import ipaddress
import os

from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError

IFNAMSIZ = 15  # the kernel's IFNAMSIZ (16) minus the terminating NUL
KINDS = ("parent", "vlan", "macvlan_shim")
NO_8021Q = ("this kernel has no 802.1q VLAN support (module 8021q): load it with `modprobe 8021q` or use a "
            "kernel that has it")
# ifinfmsg flags
IFF_UP = 0x1
IFF_PROMISC = 0x100


class LinkError(CrosshostError):
    """Input that cannot work, or a host state the module refuses to change."""


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------

def name_problem(name):
    """None when `name` is a valid Linux interface name, else what is wrong with it."""
    if not isinstance(name, str) or not name:
        return "an interface name must not be empty"
    if len(name) > IFNAMSIZ:
        return "%r is %d characters long; Linux interface names have at most %d" % (name, len(name), IFNAMSIZ)
    if name in (".", ".."):
        return "%r is not a valid interface name" % name
    bad = sorted(set(c for c in name if c in "/:" or c.isspace()))
    if bad:
        return "%r contains %s, not allowed in interface names (no '/', ':' or whitespace)" % (
            name, ", ".join(repr(c) for c in bad))
    return None


def check_name(name, what="name"):
    problem = name_problem(name)
    if problem:
        raise LinkError("%s: %s" % (what, problem))
    return name


def check_vlan_id(vlan_id):
    try:
        value = int(vlan_id)
    except (TypeError, ValueError):
        raise LinkError("vlan_id: %r is not a number (1-4094)" % (vlan_id,))
    if str(value) != str(vlan_id).strip() and not isinstance(vlan_id, int):
        raise LinkError("vlan_id: %r is not a whole number (1-4094)" % (vlan_id,))
    if not 1 <= value <= 4094:
        raise LinkError("vlan_id: %d is out of range: VLAN ids are 1-4094 (0 and 4095 are reserved by 802.1Q)" % value)
    return value


def vlan_name(link, vlan_id, name=None):
    """The VLAN sub-interface's name: `name`, or "<link>.<id>" (validated, with a suggestion when too long)."""
    if name:
        return check_name(name)
    default = "%s.%d" % (link, vlan_id)
    if len(default) > IFNAMSIZ:
        short = "vlan%d" % vlan_id
        raise LinkError("name: the default VLAN name %r is %d characters long; Linux interface names have at most %d. "
                        "Set name explicitly, e.g. name: %s" % (default, len(default), IFNAMSIZ, short))
    return check_name(default)


def check_mtu(mtu):
    if mtu is None:
        return None
    if not 68 <= int(mtu) <= 65535:
        raise LinkError("mtu: %s is out of range (68-65535)" % mtu)
    return int(mtu)


def interface_address(text, what="address"):
    """'192.168.2.250/32' -> ipaddress.IPv4Interface (a bare address means /32)."""
    try:
        iface = ipaddress.ip_interface(str(text).strip())
    except ValueError:
        raise LinkError("%s: %r is not an IPv4 address in CIDR notation (e.g. 192.168.2.250/32)" % (what, text))
    if iface.version != 4:
        raise LinkError("%s: %r is not IPv4 (IPv4 only)" % (what, text))
    return iface


def route_network(text, what="routes"):
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise LinkError("%s: %r is not an IPv4 CIDR (e.g. 192.168.2.64/28)" % (what, text))
    if net.version != 4:
        raise LinkError("%s: %r is not IPv4 (IPv4 only)" % (what, text))
    if str(net) != str(text).strip() and "/" in str(text):
        raise LinkError("%s: %r has host bits set; did you mean %s?" % (what, text, net))
    return net


def normalize(params):
    """Module parameters -> the desired link (a plain dict), or LinkError for any bad input.

    Keys: kind, name, state, link, vlan_id, mtu, promisc, address (str CIDR or None), routes (sorted
    list of str CIDRs), accept_existing.
    """
    kind = params.get("kind") or "parent"
    if kind not in KINDS:
        raise LinkError("kind: %r is not one of %s" % (kind, ", ".join(KINDS)))
    state = params.get("state") or "present"
    spec = dict(kind=kind, state=state, link=params.get("link"), vlan_id=None, mtu=check_mtu(params.get("mtu")),
                promisc=params.get("promisc"), address=None, routes=[],
                accept_existing=bool(params.get("accept_existing")))
    if kind == "parent":
        for key in ("link", "vlan_id", "address"):
            if params.get(key) not in (None, ""):
                raise LinkError("%s: not used with kind=parent (the interface is O(name))" % key)
        if params.get("routes"):
            raise LinkError("routes: not used with kind=parent")
        spec["name"] = check_name(params.get("name"))
        spec["link"] = None
        return spec
    if not params.get("link"):
        raise LinkError("link: required with kind=%s (the parent interface, e.g. eth1)" % kind)
    check_name(params["link"], "link")
    if kind == "vlan":
        if params.get("vlan_id") in (None, ""):
            raise LinkError("vlan_id: required with kind=vlan (1-4094)")
        spec["vlan_id"] = check_vlan_id(params["vlan_id"])
        spec["name"] = vlan_name(params["link"], spec["vlan_id"], params.get("name"))
        if params.get("address") or params.get("routes"):
            raise LinkError("address/routes: only used with kind=macvlan_shim")
    else:
        if params.get("vlan_id") not in (None, ""):
            raise LinkError("vlan_id: only used with kind=vlan")
        if not params.get("name"):
            raise LinkError("name: required with kind=macvlan_shim (e.g. mvshim0)")
        spec["name"] = check_name(params["name"])
        if state == "present" and not params.get("address"):
            raise LinkError("address: required with kind=macvlan_shim (the host's address on the macvlan "
                            "segment, e.g. 192.168.2.250/32)")
        if params.get("address"):
            spec["address"] = str(interface_address(params["address"]))
        nets = sorted(set(route_network(r) for r in params.get("routes") or []),
                      key=lambda n: (n.network_address, n.prefixlen))
        spec["routes"] = [str(n) for n in nets]
    if spec["name"] == spec["link"]:
        raise LinkError("name: %r is the parent itself; a %s link needs a name of its own" % (spec["name"], kind))
    if spec["promisc"] is not None and kind != "parent":
        raise LinkError("promisc: only used with kind=parent")
    return spec


# ---------------------------------------------------------------------------------------------------
# Plan
# ---------------------------------------------------------------------------------------------------

def describe(link):
    """The link attributes shown in diffs and returned as `link` (None -> absent)."""
    if not link:
        return {"state": "absent"}
    return dict(name=link["name"], kind=link.get("kind"), ifindex=link.get("index"), mtu=link.get("mtu"),
                state="up" if link.get("up") else "down", promisc=bool(link.get("promisc")),
                addresses=sorted(link.get("addresses") or []), routes=sorted(link.get("routes") or []),
                parent=link.get("parent"), vlan_id=link.get("vlan_id"), mode=link.get("mode"))


def diff_text(link):
    d = describe(link)
    return "".join("%s: %s\n" % (k, d[k]) for k in sorted(d) if d[k] not in (None, []) or k in ("addresses",))


def plan(spec, actual, parent):
    """What to do for `spec` given the link as it is (`actual`, None when absent) and its parent
    (`parent`, None when absent or not needed).

    Link dicts (from the netlink adapter): name, index, kind (str or None), mtu, up, promisc,
    parent_index, vlan_id, mode (macvlan), addresses (IPv4 CIDRs), routes (IPv4 CIDRs of main-table
    routes through the link, connected routes excluded).

    Returns dict(ops=[(op, arg), ...], actions=[str], stand_in=bool). Raises LinkError when the link
    cannot be made right without deleting something the module does not own.
    """
    kind, name, state = spec["kind"], spec["name"], spec["state"]
    ops, actions = [], []
    out = dict(ops=ops, actions=actions, stand_in=False)

    def op(what, arg=None, text=None):
        ops.append((what, arg))
        actions.append(text or ("%s %s" % (what.replace("_", " "), "" if arg is None else arg)).strip())

    if kind == "parent":
        if state == "absent":
            # A parent is never deleted or changed: absent only removes the module's persistence for it.
            if actual is not None:
                actions.append("leave parent %s as it is (never deleted)" % name)
            return out
        if actual is None:
            raise LinkError("parent interface %s does not exist on this host" % name)
        _attrs(spec, actual, None, op)
        return out

    if state == "absent":
        if actual is None:
            return out
        _check_ours(spec, actual, parent)
        if kind == "vlan" and spec["accept_existing"] and not _is_real_vlan(spec, actual, parent):
            out["stand_in"] = True
            actions.append("leave stand-in %s alone (accept_existing: not a VLAN link of ours)" % name)
            return out
        op("delete", None, "delete %s %s" % (kind.replace("_", " "), name))
        return out

    if parent is None:
        raise LinkError("parent interface %s does not exist on this host" % spec["link"])
    if spec["mtu"] and parent.get("mtu") and spec["mtu"] > parent["mtu"]:
        raise LinkError("mtu: %d is larger than the MTU of the parent %s (%d); a %s link's MTU must not exceed its "
                        "parent's" % (spec["mtu"], parent["name"], parent["mtu"], kind.replace("_", " ")))
    if actual is None:
        if kind == "vlan":
            op("create_vlan", dict(name=name, link=parent["index"], vlan_id=spec["vlan_id"], mtu=spec["mtu"]),
               "create vlan %s (id %d on %s)" % (name, spec["vlan_id"], parent["name"]))
        else:
            op("create_macvlan", dict(name=name, link=parent["index"], mode="bridge", mtu=spec["mtu"]),
               "create macvlan %s (bridge mode on %s)" % (name, parent["name"]))
        op("set_up", None, "set %s up" % name)
        if kind == "macvlan_shim":
            _addresses(spec, [], [], op)
        return out

    stand_in = _check_ours(spec, actual, parent)
    out["stand_in"] = stand_in
    _attrs(spec, actual, parent, op)
    if kind == "macvlan_shim":
        _addresses(spec, actual.get("addresses") or [], actual.get("routes") or [], op)
    return out


def _is_real_vlan(spec, actual, parent):
    return (actual.get("kind") == "vlan" and actual.get("vlan_id") == spec["vlan_id"]
            and parent is not None and actual.get("parent_index") == parent["index"])


def _check_ours(spec, actual, parent):
    """Is the existing link what `spec` describes? True for an accepted stand-in; LinkError otherwise."""
    name, kind = spec["name"], spec["kind"]
    if kind == "vlan":
        if _is_real_vlan(spec, actual, parent):
            return False
        if spec["accept_existing"]:
            return True
        what = "a %s link" % (actual.get("kind") or "physical") if actual.get("kind") != "vlan" else \
            "VLAN %s on interface index %s" % (actual.get("vlan_id"), actual.get("parent_index"))
        raise LinkError("a link named %s exists but is %s, not VLAN %d on %s; the module does not delete it. Remove or "
                        "rename it, choose another name, or set accept_existing: true to use it as it is (test beds "
                        "with stand-in parents)" % (name, what, spec["vlan_id"], spec["link"]))
    if actual.get("kind") != "macvlan" or (parent is not None and actual.get("parent_index") != parent["index"]):
        raise LinkError("a link named %s exists but is not a macvlan link on %s (it is %s); the module does not delete "
                        "it: choose another name" % (name, spec["link"], actual.get("kind") or "a physical link"))
    if actual.get("mode") not in (None, "bridge"):
        raise LinkError("%s is a macvlan link in %s mode; the shim must be in bridge mode to reach the macvlan "
                        "containers. Delete it (state=absent) and run again" % (name, actual.get("mode")))
    return False


def _attrs(spec, actual, _parent, op):
    name = spec["name"]
    if spec["mtu"] and actual.get("mtu") != spec["mtu"]:
        op("set_mtu", spec["mtu"], "set mtu of %s %s -> %d" % (name, actual.get("mtu"), spec["mtu"]))
    if spec["kind"] == "parent" and spec["promisc"] is not None and bool(actual.get("promisc")) != spec["promisc"]:
        op("set_promisc", spec["promisc"], "set promisc of %s %s" % (name, "on" if spec["promisc"] else "off"))
    if not actual.get("up"):
        op("set_up", None, "set %s up" % name)


def _addresses(spec, have_addrs, have_routes, op):
    name = spec["name"]
    want_addrs = [spec["address"]] if spec["address"] else []
    for a in sorted(set(have_addrs) - set(want_addrs)):
        op("del_addr", a, "remove address %s from %s" % (a, name))
    for a in want_addrs:
        if a not in have_addrs:
            op("add_addr", a, "add address %s to %s" % (a, name))
    for r in sorted(set(have_routes) - set(spec["routes"])):
        op("del_route", r, "remove route %s dev %s" % (r, name))
    for r in spec["routes"]:
        if r not in have_routes:
            op("add_route", r, "add route %s dev %s" % (r, name))


def after(spec, actual, parent):
    """The link as it will be after the plan (for check mode and diffs)."""
    if spec["state"] == "absent" and spec["kind"] == "parent":
        return actual
    if spec["state"] == "absent":
        if actual is not None and spec["kind"] == "vlan" and spec["accept_existing"] \
                and not _is_real_vlan(spec, actual, parent):
            return actual
        return None
    link = dict(actual or {})
    link.setdefault("name", spec["name"])
    if actual is None:
        link.update(kind="vlan" if spec["kind"] == "vlan" else "macvlan", index=None,
                    mtu=spec["mtu"] or (parent or {}).get("mtu"), promisc=False, addresses=[], routes=[],
                    parent=spec["link"], vlan_id=spec["vlan_id"], mode="bridge" if spec["kind"] == "macvlan_shim" else None)
    if spec["mtu"]:
        link["mtu"] = spec["mtu"]
    if spec["kind"] == "parent" and spec["promisc"] is not None:
        link["promisc"] = spec["promisc"]
    link["up"] = True
    if spec["kind"] == "macvlan_shim":
        link["addresses"] = [spec["address"]] if spec["address"] else []
        link["routes"] = list(spec["routes"])
    return link


# ---------------------------------------------------------------------------------------------------
# Netlink requests and errors
# ---------------------------------------------------------------------------------------------------

def vlan_request(name, parent_index, vlan_id, mtu=None):
    """The RTM_NEWLINK request that creates VLAN `vlan_id` on the parent with index `parent_index`,
    as a plain dict of netlink attributes (what `ip link add link PARENT name NAME type vlan id ID`
    sends). ``pyroute2_args`` turns it into pyroute2's IPRoute.link("add", ...) keywords."""
    req = {"IFLA_IFNAME": name, "IFLA_LINK": int(parent_index),
           "IFLA_LINKINFO": {"IFLA_INFO_KIND": "vlan", "IFLA_INFO_DATA": {"IFLA_VLAN_ID": int(vlan_id)}}}
    if mtu:
        req["IFLA_MTU"] = int(mtu)
    return req


def macvlan_request(name, parent_index, mode="bridge", mtu=None):
    req = {"IFLA_IFNAME": name, "IFLA_LINK": int(parent_index),
           "IFLA_LINKINFO": {"IFLA_INFO_KIND": "macvlan", "IFLA_INFO_DATA": {"IFLA_MACVLAN_MODE": mode}}}
    if mtu:
        req["IFLA_MTU"] = int(mtu)
    return req


def pyroute2_args(request):
    """A request dict from vlan_request/macvlan_request -> keywords for IPRoute.link("add", **kw)."""
    info = request["IFLA_LINKINFO"]
    data = info.get("IFLA_INFO_DATA") or {}
    kw = {"ifname": request["IFLA_IFNAME"], "link": request["IFLA_LINK"], "kind": info["IFLA_INFO_KIND"]}
    if "IFLA_MTU" in request:
        kw["mtu"] = request["IFLA_MTU"]
    if "IFLA_VLAN_ID" in data:
        kw["vlan_id"] = data["IFLA_VLAN_ID"]
    if "IFLA_MACVLAN_MODE" in data:
        kw["macvlan_mode"] = data["IFLA_MACVLAN_MODE"]
    return kw


def netlink_error_message(code, text, what, kind=None):
    """A netlink error (errno `code`, kernel text `text`) while doing `what` -> a clear message."""
    if not text and code:
        text = os.strerror(code)
    if kind == "vlan" and (code == errno.EOPNOTSUPP or "Unknown device type" in text
                           or "Operation not supported" in text):
        return "%s: %s (netlink error %s: %s)" % (what, NO_8021Q, code, text)
    if kind == "macvlan" and (code == errno.EOPNOTSUPP or "Unknown device type" in text):
        return "%s: this kernel has no macvlan support (module macvlan): load it with `modprobe macvlan` " \
               "(netlink error %s: %s)" % (what, code, text)
    if code == errno.EEXIST:
        return "%s: already exists (netlink error %s: %s)" % (what, code, text)
    if code == errno.EPERM:
        return "%s: not permitted, the module needs root (CAP_NET_ADMIN) (netlink error %s: %s)" % (what, code, text)
    return "%s failed: netlink error %s: %s" % (what, code, text)
