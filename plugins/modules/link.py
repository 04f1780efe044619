#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: link
short_description: Parent interfaces, VLAN sub-interfaces and a macvlan host shim for macvlan networks
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Manages one network link of the host for Docker macvlan networks, through netlink (pyroute2).
  - O(kind=parent) makes sure an existing interface (for example C(eth1)) is up, with the requested O(mtu) and
    promiscuous mode (O(promisc), set through the C(IFF_PROMISC) flag). The module never creates or deletes a
    parent; it fails and lists the host's interfaces when the parent does not exist. O(state=absent) with
    O(kind=parent) leaves the interface exactly as it is and only removes the module's persistence for it.
  - O(kind=vlan) creates, updates (O(mtu), up) and removes an 802.1Q VLAN sub-interface, by default named
    C(<link>.<vlan_id>) (C(eth1.10) is VLAN 10 on C(eth1)). A link with that name that is not that VLAN on that
    parent is never deleted or changed; the module fails, unless O(accept_existing=true).
  - If the kernel has no 802.1Q support the module fails with
    C(this kernel has no 802.1q VLAN support), naming the C(8021q) kernel module, and the host is unchanged.
  - VLAN creation cannot be exercised on the project's CI kernel (it has no 802.1Q), so it is unit-tested at the
    netlink-request level (C(IFLA_INFO_KIND=vlan), C(IFLA_VLAN_ID), C(IFLA_LINK), C(IFLA_MTU)); everything else is
    tested on real (namespaced) hosts.
  - O(kind=macvlan_shim) creates a macvlan link in bridge mode on the parent with an O(address) and O(routes), so
    that the host can reach its own macvlan containers (a macvlan parent cannot talk to its macvlan children; a
    sibling macvlan link in bridge mode can). The shim's IPv4 addresses and its routes (main table, through the
    shim, without a gateway; the kernel's connected routes excluded) are made to be exactly O(address) and O(routes).
  - Persistence across reboots (O(persist)) in the host's own network configuration, see O(persist_backend).
options:
  name:
    description:
      - The link's name, 1-15 characters, no C(/), C(:) or whitespace.
      - Required for O(kind=parent) and O(kind=macvlan_shim); for O(kind=vlan) the default is C(<link>.<vlan_id>).
    type: str
  kind:
    description: What the link is.
    type: str
    choices: [parent, vlan, macvlan_shim]
    default: parent
  state:
    description:
      - V(present) creates or updates the link. V(absent) deletes a VLAN or shim link (and the module's persistence
        files for it); for V(parent) it only removes the module's persistence files and never touches the interface.
    type: str
    choices: [present, absent]
    default: present
  link:
    description: The parent interface of a V(vlan) or V(macvlan_shim) link, for example C(eth1). It must exist.
    type: str
  vlan_id:
    description: The VLAN id, 1-4094. Required with O(kind=vlan).
    type: int
  mtu:
    description:
      - The MTU. For V(vlan) and V(macvlan_shim) links it must not exceed the parent's MTU. Not changed when omitted.
    type: int
  promisc:
    description: O(kind=parent) - promiscuous mode on or off. Not changed when omitted.
    type: bool
  address:
    description:
      - O(kind=macvlan_shim) - the host's IPv4 address on the macvlan segment, in CIDR notation (C(192.168.2.250/32),
        or with the segment's prefix, C(192.168.2.250/24)). Must not be an address Docker can hand out.
      - Required with O(kind=macvlan_shim) and O(state=present). Other IPv4 addresses on the shim are removed.
    type: str
  routes:
    description:
      - O(kind=macvlan_shim) - destinations routed through the shim, typically this host's own macvlan C(ip_range)
        (C(192.168.2.64/28)). Other routes through the shim (not the kernel's connected routes) are removed.
    type: list
    elements: str
    default: []
  accept_existing:
    description:
      - O(kind=vlan) - accept any existing link with the VLAN's name as it is, even if it is not a VLAN (for example
        a veth called C(eth1.10)), reported as RV(stand_in=true). It is then only brought up and given O(mtu), and
        O(state=absent) leaves it in place.
      - Meant for test beds whose kernel has no 802.1Q, where a link named like a VLAN interface stands in for it.
    type: bool
    default: false
  persist:
    description:
      - Also write the link into the host's network configuration, so that it comes back after a reboot.
      - With V(false) nothing is written, and existing files of ours are left alone (O(state=absent) removes them).
    type: bool
    default: false
  persist_backend:
    description:
      - Where to persist. V(auto) detects it - V(networkd) when systemd-networkd runs (C(systemctl is-active systemd-networkd)
        succeeds where systemd runs the host; elsewhere C(/run/systemd/netif) exists); else V(ifupdown) when C(/etc/network/interfaces) and
        C(ifup) exist; else V(nm) when C(nmcli) is installed; else V(none), with a warning.
      - V(networkd) - C(/etc/systemd/network/60-crosshost-<name>.netdev) and C(.network), and a drop-in
        C(60-crosshost-<name>.conf) with C(VLAN=), C(MACVLAN=) (or, for a parent, C([Link]) C(MTUBytes=) and
        C(Promiscuous=)) in the C(.d) directory of the C(.network) file that matches the parent (networkd applies
        only the first matching C(.network) file). When no C(.network) file matches the parent, the module writes
        one of its own, C(60-crosshost-<parent>.network), removed again with the last drop-in of ours.
      - V(ifupdown) - one stanza file C(/etc/network/interfaces.d/crosshost-<name>) (C(/etc/network/interfaces)
        must source that directory). VLAN stanzas use C(vlan-raw-device), which needs the C(vlan) package with
        ifupdown (ifupdown2 has it built in). For a parent, the stanza must not duplicate one of the host's own.
      - V(nm) - a NetworkManager connection C(crosshost-<name>) (C(nmcli connection add/modify/delete)); for a
        parent, the parent's active connection is modified (C(802-3-ethernet.mtu),
        C(802-3-ethernet.accept-all-mac-addresses)). The nmcli arguments are unit-tested; the project's lab has no
        NetworkManager.
      - Every file of ours starts with a comment naming this module and is removed with O(state=absent).
    type: str
    choices: [auto, networkd, ifupdown, nm, none]
    default: auto
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.attributes.check_diff
attributes:
  check_mode:
    details:
      - Nothing is changed; what would change is reported.
  diff_mode:
    details:
      - The link's attributes before and after, and the text of the persistence files.
notes:
  - IPv4 only. Needs root (CAP_NET_ADMIN).
  - One link per task; loop over the task for several.
requirements:
  - pyroute2 on the managed host
seealso:
  - module: crosshost.docker.forwarding
"""

EXAMPLES = r"""
- name: The macvlan parent is up, MTU 1400, promiscuous
  crosshost.docker.link:
    name: eth1
    mtu: 1400
    promisc: true

- name: VLAN 10 on eth1 (eth1.10), persisted in the host's network configuration
  crosshost.docker.link:
    kind: vlan
    link: eth1
    vlan_id: 10
    persist: true

- name: A test bed without 802.1Q - accept a stand-in link named eth1.10
  crosshost.docker.link:
    kind: vlan
    link: eth1
    vlan_id: 10
    accept_existing: true

- name: Let the host reach its own macvlan containers
  crosshost.docker.link:
    kind: macvlan_shim
    name: mvshim0
    link: eth1
    address: 192.168.2.250/32
    routes: [192.168.2.64/28]   # this host's ip_range of the macvlan network
    persist: true
    persist_backend: networkd

- name: Remove the shim (and its files)
  crosshost.docker.link:
    kind: macvlan_shim
    name: mvshim0
    link: eth1
    state: absent
"""

RETURN = r"""
link:
  description: The link after the run (in check mode, as it would be); only RV(link.state=absent) when there is none.
  returned: always
  type: dict
  sample: {"name": "mvshim0", "kind": "macvlan", "ifindex": 12, "mtu": 1500, "state": "up", "promisc": false,
           "addresses": ["192.168.2.250/32"], "routes": ["192.168.2.64/28"], "parent": "eth1", "mode": "bridge"}
  contains:
    name:
      description: Interface name.
      type: str
    kind:
      description: The kernel's link kind (V(vlan), V(macvlan), V(veth), ...), null for a physical interface.
      type: str
    ifindex:
      description: Interface index (null in check mode for a link still to create).
      type: int
    mtu:
      description: MTU.
      type: int
    state:
      description: V(up) (administratively) or V(down); V(absent) when there is no link.
      type: str
    promisc:
      description: Whether IFF_PROMISC is set.
      type: bool
    addresses:
      description: IPv4 addresses in CIDR notation.
      type: list
      elements: str
    routes:
      description: Main-table IPv4 routes through the link without a gateway (connected routes excluded).
      type: list
      elements: str
    parent:
      description: The parent interface of a VLAN or macvlan link.
      type: str
    vlan_id:
      description: The VLAN id of a VLAN link.
      type: int
    mode:
      description: The macvlan mode of a macvlan link.
      type: str
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create macvlan mvshim0 (bridge mode on eth1)", "set mvshim0 up", "add address 192.168.2.250/32 to mvshim0"]
persistence:
  description: Where the link is persisted.
  returned: always
  type: dict
  contains:
    backend:
      description: V(networkd), V(ifupdown), V(nm) or V(none).
      type: str
    files:
      description: Files of ours for this link after the run (removed ones excluded).
      type: list
      elements: str
    connection:
      description: V(nm) - the NetworkManager connection used.
      type: str
stand_in:
  description: O(kind=vlan) with O(accept_existing) - the existing link is not a real VLAN of that id on that parent.
  returned: always
  type: bool
"""

import fnmatch
import glob
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.crosshost.docker.plugins.module_utils import _link_netlink as nl
from ansible_collections.crosshost.docker.plugins.module_utils import _link_persist
from ansible_collections.crosshost.docker.plugins.module_utils import _links
from ansible_collections.crosshost.docker.plugins.module_utils._diff import DiffTracker
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, fail
from ansible_collections.crosshost.docker.plugins.module_utils._files import read_text, write_text
from ansible_collections.crosshost.docker.plugins.module_utils._netconf import Nmcli
from ansible_collections.crosshost.docker.plugins.module_utils._netlink import HAS_PYROUTE2, PYROUTE2_IMPORT_ERROR
from ansible_collections.crosshost.docker.plugins.module_utils._systemd import Systemd

NETWORKD_SEARCH = ("/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network",
                   "/usr/lib/systemd/network", "/lib/systemd/network")


def ours(text):
    """Is this file text one of ours (our header in its first lines)?"""
    return bool(text) and any(_link_persist.HEADER in line for line in text.split("\n")[:3])


def detect(module):
    systemd = Systemd.for_module(module)
    if systemd.path("systemctl") and os.path.isdir("/run/systemd/system"):
        # Ask systemd: /run/systemd/netif is made at every boot by systemd's tmpfiles (Debian, Ubuntu)
        # whether networkd runs or not, so on an ifupdown host it would pick files nothing reads.
        networkd = systemd.is_active("systemd-networkd")
    else:
        networkd = os.path.isdir("/run/systemd/netif")
    ifupdown = os.path.isfile("/etc/network/interfaces") and module.get_bin_path("ifup") is not None
    return dict(networkd=networkd, ifupdown=ifupdown, nmcli=module.get_bin_path("nmcli") is not None)


def parent_network_file(parent):
    """Basename of the first .network file (networkd's order) whose [Match] Name= matches `parent`."""
    seen = {}
    for d in NETWORKD_SEARCH:
        for path in glob.glob(os.path.join(d, "*.network")):
            seen.setdefault(os.path.basename(path), path)  # earlier directories override later ones
    for base in sorted(seen):
        text = read_text(seen[base])
        if not text or "\n[Match]" not in "\n" + text:
            continue
        if any(fnmatch.fnmatchcase(parent, pat) for pat in _link_persist.networkd_match_names(text)):
            return base, ours(text)
    return None, False


def our_networkd_files(name, kind):
    """Files of ours for link `name` now in /etc/systemd/network. A parent has only its drop-in: our
    60-crosshost-<parent>.network is the base file shared by every link of ours on that parent."""
    d = _link_persist.NETWORKD_DIR
    paths = [] if kind == "parent" else [os.path.join(d, "60-%s%s.%s" % (_link_persist.PREFIX, name, ext))
                                         for ext in ("netdev", "network")]
    paths += glob.glob(os.path.join(d, "*.network.d", "60-%s%s.conf" % (_link_persist.PREFIX, name)))
    return [p for p in paths if ours(read_text(p))]


def networkd_changes(spec, parent):
    """({path: text or None}, info): files of ours to write (text) or remove (None)."""
    name = spec["name"]
    want = {}
    stale = our_networkd_files(name, spec["kind"])
    if spec["kind"] == "parent":
        # A parent is not ours to create: a .netdev of ours for it (written when it was managed as a VLAN) goes.
        stale += [p for p in our_networkd_files(name, "vlan") if p.endswith(".netdev")]
    for path in stale:
        want[path] = None
    if spec["state"] == "present":
        base, base_ours = parent_network_file(parent)
        want.update(_link_persist.render_networkd(spec, None if (base is None or base_ours) else base))
    # Our base file for the parent is removed with the last drop-in of ours in its .d directory.
    base_path = _link_persist.networkd_base_path(parent)
    inside = base_path + ".d/"
    remaining = set(glob.glob(inside + "*.conf"))
    remaining -= set(path for path, text in want.items() if text is None)
    remaining |= set(path for path, text in want.items() if text is not None and path.startswith(inside))
    if ours(read_text(base_path)) and not remaining:
        want[base_path] = None
    return want


def ifupdown_changes(module, spec):
    path = _link_persist.ifupdown_path(spec["name"])
    want = {}
    if ours(read_text(path)):
        want[path] = None
    if spec["state"] == "present":
        want.update(_link_persist.render_ifupdown(spec))
        main = read_text("/etc/network/interfaces") or ""
        if "interfaces.d" not in main:
            module.warn("/etc/network/interfaces does not source /etc/network/interfaces.d: add "
                        "`source /etc/network/interfaces.d/*` for %s to be brought up at boot" % path)
        if spec["kind"] == "parent":
            for other in ["/etc/network/interfaces"] + glob.glob(os.path.join(_link_persist.IFUPDOWN_DIR, "*")):
                text = read_text(other) or ""
                if other != path and any(line.split()[:2] == ["iface", spec["name"]] for line in text.splitlines()
                                         if line.strip()):
                    raise _links.LinkError("persist_backend=ifupdown: %s already has a stanza for %s; ifupdown refuses "
                                           "a second one. Put the mtu/promisc settings into that stanza instead"
                                           % (other, spec["name"]))
    return want


def nm_plan(spec, nm):
    """(list of nmcli commands, connection name, text before, text after) for NetworkManager (`nm`: a Nmcli)."""
    name = _link_persist.nm_connection(spec["name"])
    keys = sorted(_link_persist.nm_settings(spec))
    connection = None
    if spec["kind"] == "parent":
        connection = nm.device_connection(spec["name"])
        name = connection
    have = {}
    if name:
        have = nm.connection_settings(name, keys)
    exists = bool(have)
    if spec["state"] == "absent":
        if spec["kind"] == "parent" or not exists:
            return [], name, "", ""
        return [_link_persist.nmcli_delete_args(spec["name"])], name, "connection %s\n" % name, "(absent)\n"
    want = _link_persist.nm_settings(spec)
    differ = [k for k in want if k not in ("connection.type",) and have.get(k, "").replace(" ", "") != want[k]]
    if exists and not differ:
        return [], name, "", ""
    args = _link_persist.nmcli_args(spec, exists, connection)
    before = "".join("%s: %s\n" % (k, have.get(k)) for k in sorted(want))
    after = "".join("%s: %s\n" % (k, want[k]) for k in sorted(want))
    return [args], name, before, after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            kind=dict(type="str", choices=list(_links.KINDS), default="parent"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            link=dict(type="str"),
            vlan_id=dict(type="int"),
            mtu=dict(type="int"),
            promisc=dict(type="bool"),
            address=dict(type="str"),
            routes=dict(type="list", elements="str", default=[]),
            accept_existing=dict(type="bool", default=False),
            persist=dict(type="bool", default=False),
            persist_backend=dict(type="str", choices=["auto", "networkd", "ifupdown", "nm", "none"], default="auto"),
        ),
        supports_check_mode=True,
    )
    result = dict(changed=False, actions=[], link={"state": "absent"}, stand_in=False,
                  persistence=dict(backend="none", files=[], connection=None))
    try:
        manage(module, result)
    except CrosshostError as err:
        fail(module, err, **result)


def manage(module, result):
    """The module's work. Fills `result` (which a failure returns too) and exits the module, or raises CrosshostError."""
    p = module.params
    spec = _links.normalize(p)
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))

    links = nl.Links()
    try:
        actual = links.get(spec["name"])
        parent_name = spec["link"] or spec["name"]
        parent = links.get(spec["link"]) if spec["link"] else None
        if spec["state"] == "present" and ((spec["kind"] == "parent" and actual is None)
                                           or (spec["link"] and parent is None)):
            raise _links.LinkError("%s: parent interface %s does not exist on this host (interfaces: %s)"
                                   % ("name" if spec["kind"] == "parent" else "link", parent_name,
                                      ", ".join(links.names())))
        try:
            plan = _links.plan(spec, actual, parent)
        except _links.LinkError:
            result["link"] = _links.describe(actual)
            raise
        result["stand_in"] = plan["stand_in"]
        result["actions"] = list(plan["actions"])
        future = _links.after(spec, actual, parent)

        # Persistence: files (networkd, ifupdown) or nmcli commands (nm). A stand-in (accept_existing) is
        # not ours to create: only what we set on it is persisted, as for a parent (no VLAN netdev of ours,
        # which would make networkd try to create a VLAN over the link that stands in for it).
        pspec, pparent = spec, parent_name
        if plan["stand_in"] and spec["state"] == "present":
            pspec, pparent = dict(spec, kind="parent", link=None, vlan_id=None, promisc=None), spec["name"]
        backend = "none"
        if spec["state"] == "present" and p["persist"]:
            facts = detect(module) if p["persist_backend"] == "auto" else {}
            backend = _link_persist.choose_backend(p["persist_backend"], **facts)
            if backend == "none" and p["persist_backend"] == "auto":
                module.warn("persist: no systemd-networkd, ifupdown or NetworkManager found on this host; %s is not "
                            "persisted across reboots" % spec["name"])
        files, nm_cmds, nm_con, nm_text = {}, [], None, ("", "")
        if spec["state"] == "absent":
            files = networkd_changes(spec, parent_name)
            files.update(ifupdown_changes(module, spec))
            nmcli = module.get_bin_path("nmcli")
            if nmcli and spec["kind"] != "parent":
                nm_cmds, nm_con, before, after = nm_plan(spec, Nmcli.for_module(module, nmcli))
                nm_text = (before, after)
        elif backend == "networkd":
            files = networkd_changes(pspec, pparent)
        elif backend == "ifupdown":
            files = ifupdown_changes(module, pspec)
        elif backend == "nm":
            nmcli = module.get_bin_path("nmcli", required=True)
            nm_cmds, nm_con, before, after = nm_plan(pspec, Nmcli.for_module(module, nmcli))
            nm_text = (before, after)
        files = dict((k, v) for k, v in files.items() if read_text(k) != v)
        for path in sorted(files):
            result["actions"].append("%s %s" % ("write" if files[path] is not None else "remove", path))
        for cmd in nm_cmds:
            result["actions"].append(" ".join(cmd))
        kept = []
        if backend == "networkd":
            kept = our_networkd_files(spec["name"], pspec["kind"])
            base = _link_persist.networkd_base_path(pparent)
            if ours(read_text(base)) and files.get(base, "") is not None:
                kept.append(base)
        elif backend == "ifupdown" and ours(read_text(_link_persist.ifupdown_path(spec["name"]))):
            kept = [_link_persist.ifupdown_path(spec["name"])]
        final_files = sorted(set(kept + [k for k, v in files.items() if v is not None])
                             - set(k for k, v in files.items() if v is None))
        result["persistence"] = dict(backend=backend, files=final_files, connection=nm_con if backend == "nm" else None)

        changed = bool(plan["ops"] or files or nm_cmds)
        result["changed"] = changed
        if module._diff:
            wanted = dict((path, files[path]) for path in sorted(files))
            diff = DiffTracker("link %s" % spec["name"]).add(_links.diff_text(actual), _links.diff_text(future))
            result["diff"] = diff.add_files(wanted, dict((path, read_text(path)) for path in wanted)).add(*nm_text).result()
        if module.check_mode or not changed:
            result["link"] = _links.describe(future)
            module.exit_json(**result)

        done = []
        try:
            for op, arg in plan["ops"]:
                links.apply(spec["name"], op, arg)
                done.append(op)
        except _links.LinkError as e:
            result["link"] = _links.describe(links.get(spec["name"]))
            result["changed"] = bool(done)
            raise _links.LinkError("%s. Done before the failure: %s" % (e, ", ".join(done) or "nothing"))
        for path in sorted(files):
            if files[path] is None:
                os.unlink(path)
                if os.path.dirname(path).endswith(".network.d"):
                    try:
                        os.rmdir(os.path.dirname(path))  # a drop-in directory left empty
                    except OSError:
                        pass
            else:
                write_text(module, path, files[path])
        nm = Nmcli.for_module(module)
        for cmd in nm_cmds:
            nm.apply(cmd)
        result["link"] = _links.describe(links.get(spec["name"]))
        module.exit_json(**result)
    finally:
        links.close()


if __name__ == "__main__":
    main()
