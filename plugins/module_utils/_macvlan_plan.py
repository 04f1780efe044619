# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host IP ranges (Docker ``ip_range``) for one macvlan subnet shared by several hosts: pure Python.

The problem (seeds 001 and 004): every host creates the same macvlan network (same subnet, gateway
and parent on one L2 segment), and every host's Docker IPAM hands out addresses from the whole
subnet, so the first container on each host gets the same address. The fix is to give each host a
slice of the subnet of its own as the network's ``ip_range``: the IPAM of a host then only hands
out addresses of that host's slice, and no two hosts hand out the same address.

API (shared by the ``crosshost.docker.macvlan_plan``, ``macvlan_check_ip`` and
``macvlan_check_networks`` filters and the ``macvlan`` role; nothing is changed, so every mistake
is reported before a network is created):

* ``plan_ranges(hosts, subnet, ...)`` -> ``{host: {"ip_range", "first", "last", "size", "source",
  "subnet", "gateway", "aux_addresses"}}`` in the order of ``hosts``.
* ``check_static_ip(plan, host, ip)`` -> ``ip`` when a container on ``host`` may use it.
* ``check_networks(networks, exclusive_parents=False)`` -> the networks, normalised, when no two
  macvlan networks on one parent overlap.

What Docker does, and what this relies on (moby's default IPAM, ``libnetwork/ipam``, the same on
20.10 and 28.x):

* ``--ip-range`` (``ip_range``) is a CIDR inside the subnet. Containers without a static address get
  one from that CIDR, all of it: its own first and last addresses too (192.168.2.64 and .79 for
  192.168.2.64/28 in a /24). Only the subnet's network and broadcast addresses are never handed out.
  So slices are aligned CIDR blocks, and ``first``/``last``/``size`` count the addresses Docker may
  really hand out (16 for an inner /28, 14 for the /28 holding the subnet's network address and the
  gateway).
* The gateway (``--gateway``; default: the first address of the subnet) is reserved by the IPAM
  when the network is created, and so is every ``--aux-address`` (they must lie in the subnet,
  "auxiliary address ... must belong to the master pool"). A slice may therefore contain the
  gateway or an auxiliary address: that host's IPAM skips it. The auxiliary addresses are passed to
  the network on every host (they are returned in each host's entry), so an address reserved for a
  host's shim is reserved everywhere.
* A static address (``--ip``) is only checked against the subnet by Docker, and against the
  addresses already in use on that host. ``check_static_ip`` requires it in the container's own
  host's slice, so it can never be handed out by another host's IPAM. Caveat: inside the slice a
  stopped static container's address can be taken by a new dynamic container of the same host
  (Docker then refuses to start the static one, "Address already in use"); put static addresses at
  the top of the slice, Docker allocates from the bottom.
* Reserved addresses (other machines on the segment, routers, DHCP pools, host shims) are not known
  to Docker. Slices never overlap ``reserved``, so no IPAM ever hands them out.

Rules (each one is covered by tests/unit/plugins/module_utils/test_macvlan_plan.py):

* Precedence: ``overrides`` > ``existing`` (sticky) > allocated; ``source`` tells which. The plan
  depends on the order of ``hosts`` only, never on the order of the dicts.
* ``overrides`` ({host: "192.168.2.192/27"}) are exact CIDRs inside the subnet, any length up to
  /30; they must not overlap each other, ``reserved`` or another host's kept range, and the host must
  be in ``hosts``.
* ``existing`` ({host: "192.168.2.64/28"}, or docker_host_info's network dict of that name on that
  host, or one of its ``subnets`` entries) is the host's current ``ip_range``. It is kept when it lies
  in the subnet and (with an explicit ``range_prefix``) has exactly that length. A current range of
  another subnet, of another length than an explicit ``range_prefix``, or none at all (the seed's
  networks have no ip_range) is replaced. A kept range is never silently given up: two hosts whose
  ranges overlap (the seed's collision: both IPAMs hand out the same addresses), a kept range that
  holds reserved addresses, or one that an override overlaps, fail the plan with the fix.
* Adding a host never moves another host's slice (with ``existing`` from the hosts' facts); without
  ``existing`` the plan is still deterministic, by position. Leaving a host out of ``hosts`` (a
  retired host) frees its slice; the others keep theirs. So ``existing`` must hold every host that has
  a network (the role reads all of them, also the hosts outside an ``--limit``): a host with a network
  whose range is not passed could be given a slice that overlaps it.
* ``range_prefix`` (the slice length): explicit, from the subnet's own length to /30; or by default
  the length of the kept ranges (the longest one if they differ), so adding hosts never renumbers;
  when the free space has too few blocks of that length for the new hosts, they get the largest
  smaller blocks that fit them all (kept ranges never move; a /30 at the least, else the plan fails
  and names the ways out: retire a host, an explicit range_prefix, overrides, a larger subnet);
  or, on a first run, the largest slice of at most a /24 (256 addresses) such that the free part of
  the subnet has room for twice as many hosts as need one (room to grow without renumbering), and
  if that does not exist, the largest slice where they all fit. E.g. 3 hosts in a free /24 get /27s
  (8 slots), 4 hosts get /27s, 1 host a /25. Changing an explicit ``range_prefix`` renumbers every
  host without an override, which means recreating its network.
* New slices are the lowest free aligned blocks, in the order of ``hosts``. A block is not free when
  it overlaps ``reserved``, an override or a kept range, or when Docker could hand out none of its
  addresses (a /30 made only of the network address, the gateway and auxiliary addresses).
* ``reserved`` takes addresses and CIDRs; entries outside the subnet (or IPv6) are ignored, so one
  list can serve several networks. ``aux_addresses`` ({name: address}) must lie in the subnet, be
  distinct and not be the network, broadcast or gateway address (Docker refuses those).
* ``check_networks``: two macvlan (or ipvlan) networks on the same parent must have disjoint
  subnets. Docker only checks this for a network without an ip_range ("Pool overlaps with other one
  on this address space"); with one it accepts the overlap and both networks hand out conflicting
  addresses on one L2 segment. A name given twice with different settings is refused too (Docker:
  "network with name ... already exists"). ``exclusive_parents=True`` refuses any second network on
  a parent, like the macvlan driver of older engines ("network dm-... is already using parent
  interface eth1"). Subnets on different parents (eth1 and the VLAN sub-interface eth1.1) are
  separate L2 segments and may overlap.

IPv4 only for the plan (macvlan slices of an IPv6 /64 are not needed here); check_networks
compares IPv4 and IPv6 subnets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from ansible_collections.crosshost.docker.plugins.module_utils import _inputs as inp
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

MAX_RANGE_PREFIX = 30
DEFAULT_LARGEST_SLICE = 24  # a default slice is at most a /24
GROWTH = 2  # a default slice size leaves room for GROWTH times the hosts that need one
PARENT_DRIVERS = ("macvlan", "ipvlan")


class MacvlanPlanError(PlanError):
    """A plan or a check that fails; the message names the field and the fix."""


# ---------------------------------------------------------------------------------------------
# parsing


_text = inp.text
_empty = inp.empty
_merge = inp.merge


def _network(value, field, example, strict=True):
    """A network from a CIDR string; ``strict``: no host bits, explicit prefix."""
    return inp.network(value, field, example, MacvlanPlanError, strict=strict, need_prefix=strict)


def _address(value, field, example):
    return inp.address(value, field, example, MacvlanPlanError)


def _hosts(hosts):
    return inp.hosts(hosts, "one ip_range", MacvlanPlanError)


def _mapping(value, field, what="a dict keyed by host name"):
    return inp.mapping(value, field, MacvlanPlanError, what)


def _subnet(value):
    if _empty(value):
        raise MacvlanPlanError("subnet: required: the macvlan subnet shared by all hosts (the physical segment), "
                               "like 192.168.2.0/24")
    subnet = _network(value, "subnet", "192.168.2.0/24")
    if subnet.version != 4:
        raise MacvlanPlanError("subnet: %s is IPv6; per-host ranges are planned for IPv4 subnets: use an IPv4 CIDR"
                               % subnet)
    if subnet.prefixlen > MAX_RANGE_PREFIX:
        raise MacvlanPlanError("subnet: %s leaves no address for containers next to the gateway: use a /%d or "
                               "shorter prefix" % (subnet, MAX_RANGE_PREFIX))
    return subnet


def _range_prefix(value, subnet):
    if value is None or _text(value) == "":
        return None
    value = inp.prefix_length(value, "range_prefix", "27", MacvlanPlanError)
    if value > MAX_RANGE_PREFIX:
        raise MacvlanPlanError("range_prefix: /%d holds at most two containers: use %d or less (/27, 32 addresses "
                               "per host, is usual in a /24)" % (value, MAX_RANGE_PREFIX))
    if value < subnet.prefixlen:
        raise MacvlanPlanError("range_prefix: /%d is shorter than the subnet's /%d, so a host's range does not fit "
                               "in %s: use a prefix of %d to %d"
                               % (value, subnet.prefixlen, subnet, subnet.prefixlen, MAX_RANGE_PREFIX))
    return value


def _gateway(value, subnet):
    if _empty(value):
        return subnet.network_address + 1
    gateway = _address(value, "gateway", str(subnet.network_address + 1))
    if gateway not in subnet:
        raise MacvlanPlanError("gateway: %s is outside the subnet %s: Docker needs the gateway inside it; use the "
                               "segment's router address, like %s" % (gateway, subnet, subnet.network_address + 1))
    if gateway in (subnet.network_address, subnet.broadcast_address):
        raise MacvlanPlanError("gateway: %s is the %s address of %s: use the segment's router address, like %s"
                               % (gateway, "network" if gateway == subnet.network_address else "broadcast", subnet,
                                  subnet.network_address + 1))
    return gateway


def _aux(value, subnet, gateway):
    aux = _mapping(value, "aux_addresses", "a dict of name: address (Docker's aux_addresses)")
    out = {}
    seen = {}
    for name in sorted(aux, key=str):
        field = "aux_addresses[%s]" % name
        address = _address(aux[name], field, str(subnet.network_address + 2))
        if address not in subnet:
            raise MacvlanPlanError("%s: %s is outside the subnet %s: Docker refuses it ('auxiliary address ... must "
                                   "belong to the master pool'); use an address of the subnet or remove it"
                                   % (field, address, subnet))
        if address == gateway:
            raise MacvlanPlanError("%s: %s is the gateway, which Docker reserves already: remove it" % (field, address))
        if address in (subnet.network_address, subnet.broadcast_address):
            raise MacvlanPlanError("%s: %s is the subnet's %s address, which Docker reserves already: remove it"
                                   % (field, address, "network" if address == subnet.network_address else
                                      "broadcast"))
        if address in seen:
            raise MacvlanPlanError("%s: %s is also aux_addresses[%s]: Docker refuses an address reserved twice; "
                                   "keep one" % (field, address, seen[address]))
        seen[address] = name
        out[str(name)] = str(address)
    return out, seen


def _reserved(value, subnet):
    """Reserved [start, end] integer ranges clipped to the subnet, with labels."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise MacvlanPlanError("reserved: expected a list of addresses or CIDRs on the segment (other machines, "
                               "DHCP pools, host shims), got %r" % (value,))
    lo, hi = int(subnet.network_address), int(subnet.broadcast_address)
    out = []
    for item in value:
        text = _text(item)
        if isinstance(text, str) and text and "/" not in text:
            network = ipaddress.ip_network(_address(text, "reserved", "192.168.2.10"))  # one address
        else:
            network = _network(text, "reserved", "192.168.2.10 or 192.168.2.128/26")
        if network.version != 4:
            continue
        start, end = int(network.network_address), int(network.broadcast_address)
        if end < lo or start > hi:
            continue
        label = "reserved %s" % (network.network_address if network.prefixlen == 32 else network)
        out.append((max(start, lo), min(end, hi), label))
    return out


def _existing_range(value, host, subnet):
    """The current ip_range of a host (IPv4Network) or None; accepts a string or docker_host_info dicts."""
    field = "existing[%s]" % host
    if isinstance(value, Mapping):
        if "subnets" in value:
            entries = value.get("subnets") or []
            if isinstance(entries, (str, bytes)) or isinstance(entries, Mapping) or not isinstance(entries, Iterable):
                raise MacvlanPlanError("%s: 'subnets' must be a list like docker_host_info's, got %r" % (field, entries))
        else:
            entries = [value]
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise MacvlanPlanError("%s: expected subnets entries with 'subnet' and 'ip_range', got %r"
                                       % (field, entry))
            if _empty(entry.get("subnet")):
                candidate = entry.get("ip_range")
            else:
                net = _network(entry.get("subnet"), field + ".subnet", "192.168.2.0/24", strict=False)
                if net != subnet:
                    continue
                candidate = entry.get("ip_range")
            if not _empty(candidate):
                value = candidate
                break
        else:
            return None
    if _empty(value):
        return None
    network = _network(value, field, "192.168.2.64/28", strict=False)  # Docker masks host bits itself
    if network.version != 4 or not network.subnet_of(subnet):
        return None  # another subnet: the network is recreated with the planned range
    return network


def _overlap(a_start, a_end, b_start, b_end):
    return a_start <= b_end and b_start <= a_end


def _find_overlap(blocks, start, end):
    for block in blocks:
        if _overlap(start, end, block[0], block[1]):
            return block
    return None


# ---------------------------------------------------------------------------------------------
# the plan


def plan_ranges(hosts, subnet, gateway=None, range_prefix=None, reserved=None, aux_addresses=None, existing=None,
                overrides=None):
    """Plan an ``ip_range`` per host in one shared macvlan subnet; see the module docstring for the rules.

    Returns {host: {"ip_range": "192.168.2.32/27", "first": "192.168.2.32", "last": "192.168.2.63",
    "size": 32, "source": "override" | "existing" | "allocated", "subnet": "192.168.2.0/24",
    "gateway": "192.168.2.1", "aux_addresses": {...}}} in the order of ``hosts``.
    Raises MacvlanPlanError with a message that names the field and the fix.
    """
    hosts = _hosts(hosts)
    subnet = _subnet(subnet)
    prefix = _range_prefix(range_prefix, subnet)
    gateway = _gateway(gateway, subnet)
    aux, aux_by_address = _aux(aux_addresses, subnet, gateway)
    reserved_blocks = _reserved(reserved, subnet)
    existing = _mapping(existing, "existing")
    overrides = _mapping(overrides, "overrides")
    specials = {int(subnet.network_address): "the subnet's network address",
                int(subnet.broadcast_address): "the subnet's broadcast address",
                int(gateway): "the gateway"}
    for address, name in aux_by_address.items():
        specials[int(address)] = "aux address %s" % name

    # ---- overrides
    override_nets = {}
    for host in sorted(overrides, key=str):
        value = overrides[host]
        if _empty(value):
            continue
        if host not in hosts:
            raise MacvlanPlanError("overrides[%s]: %s is not one of the hosts being planned: fix the host name or "
                                   "remove the override" % (host, host))
        field = "overrides[%s]" % host
        network = _network(value, field, "192.168.2.192/27")
        if network.version != 4 or not network.subnet_of(subnet):
            raise MacvlanPlanError("%s: %s is outside the subnet %s: a host's ip_range must lie in the macvlan "
                                   "subnet; use a block of it, like %s"
                                   % (field, network, subnet, _example_block(subnet)))
        if network.prefixlen > MAX_RANGE_PREFIX:
            raise MacvlanPlanError("%s: %s holds at most two containers: use a /%d or shorter prefix"
                                   % (field, network, MAX_RANGE_PREFIX))
        if _usable(network, specials)[2] == 0:
            raise MacvlanPlanError("%s: %s holds no address Docker can hand out (only the network address, the "
                                   "gateway and aux addresses): use a larger block" % (field, network))
        override_nets[host] = network
    ordered = sorted(override_nets.items(), key=lambda item: (int(item[1].network_address), hosts.index(item[0])))
    for (host_a, net_a), (host_b, net_b) in zip(ordered, ordered[1:]):
        if net_a.overlaps(net_b):
            raise MacvlanPlanError("overrides[%s]: %s overlaps the override for %s (%s): each host needs a range of its "
                                   "own, change one of them" % (host_b, net_b, host_a, net_a))
    for host in hosts:
        if host not in override_nets:
            continue
        network = override_nets[host]
        hit = _find_overlap(reserved_blocks, int(network.network_address), int(network.broadcast_address))
        if hit is not None:
            raise MacvlanPlanError("overrides[%s]: %s overlaps %s: Docker on %s could hand it out; choose a block "
                                   "outside the reserved addresses" % (host, network, hit[2], host))

    # ---- existing ranges
    candidates = {}
    for host in hosts:
        if host in override_nets or host not in existing:
            continue
        network = _existing_range(existing[host], host, subnet)
        if network is None or network.prefixlen > MAX_RANGE_PREFIX:
            continue
        if prefix is not None and network.prefixlen != prefix:
            continue  # an explicit range_prefix renumbers
        candidates[host] = network
    kept = {}
    for host in hosts:
        if host not in candidates:
            continue
        network = candidates[host]
        start, end = int(network.network_address), int(network.broadcast_address)
        for other, other_net in kept.items():
            if network.overlaps(other_net):
                raise MacvlanPlanError(
                    "existing[%s]: the current ip_range %s overlaps %s's current ip_range %s, so both hosts' IPAM hand "
                    "out the same addresses (the seed's duplicate container IPs): give one of them an override (a "
                    "block of its own), or remove that host's network so that it gets a new range"
                    % (host, network, other, other_net))
        for other, other_net in override_nets.items():
            if network.overlaps(other_net):
                raise MacvlanPlanError(
                    "overrides[%s]: %s overlaps %s, the current ip_range of %s (kept): choose another override, or "
                    "give %s an override too" % (other, other_net, network, host, host))
        hit = _find_overlap(reserved_blocks, start, end)
        if hit is not None:
            raise MacvlanPlanError(
                "existing[%s]: the current ip_range %s contains %s, so Docker on %s may hand it out: give %s an "
                "override outside the reserved addresses, or remove its network so that it gets a new range"
                % (host, network, hit[2], host, host))
        if _usable(network, specials)[2] == 0:
            continue
        kept[host] = network

    # ---- slice length and allocation
    todo = [h for h in hosts if h not in override_nets and h not in kept]
    taken = [(int(n.network_address), int(n.broadcast_address)) for n in
             list(override_nets.values()) + list(kept.values())]
    blocked = [(b[0], b[1]) for b in reserved_blocks] + taken
    if prefix is None:
        if kept:
            prefix = _grow_prefix(subnet, max(n.prefixlen for n in kept.values()), blocked, specials, len(todo))
        else:
            prefix = _default_prefix(subnet, blocked, specials, len(todo))
    free = _free_blocks(subnet, prefix, blocked, specials, len(todo))
    if len(free) < len(todo):
        total = 1 << (prefix - subnet.prefixlen)
        all_free = len(_free_blocks(subnet, prefix, blocked, specials, total))
        what = []
        if reserved_blocks:
            what.append("reserved addresses")
        if override_nets:
            what.append("overrides")
        if kept:
            what.append("current ranges")
        if kept and range_prefix is None:
            # Adding hosts to a running cluster: the kept ranges stay, and not even a /30 is free for the new ones.
            raise MacvlanPlanError(
                "subnet: %s has room for %d /%d ranges, %d of them free (%s), but %d %s one (%s): no free block of "
                "any size (down to /%d) is left for %s, since %s %s %s (sticky: their networks exist and are never "
                "renumbered silently). Free a range by retiring a host (macvlan_state=absent on it; its range is "
                "free again on the next run), set range_prefix longer than /%d (smaller ranges; this renumbers the "
                "hosts without an override: their networks are recreated, their containers must be reconnected), "
                "give the new hosts overrides inside a free part of the subnet, or use a larger subnet"
                % (subnet, total, prefix, all_free, ", ".join(what), len(todo),
                   "host needs" if len(todo) == 1 else "hosts need", ", ".join(todo), MAX_RANGE_PREFIX,
                   "it" if len(todo) == 1 else "them", ", ".join(sorted(kept, key=hosts.index)),
                   "keeps" if len(kept) == 1 else "keep",
                   ", ".join(str(n) for n in sorted(kept.values())), prefix))
        raise MacvlanPlanError(
            "subnet: %s has room for %d /%d ranges, %d of them free (%s), but %d %s one: %s"
            % (subnet, total, prefix, all_free, ", ".join(what) or "nothing taken", len(todo),
               "host needs" if len(todo) == 1 else "hosts need",
               "use a larger subnet, or fewer reserved addresses" if prefix == MAX_RANGE_PREFIX else
               "use a longer range_prefix (smaller ranges; hosts without an override are renumbered), a larger subnet, "
               "or fewer reserved addresses"))
    allocated = dict(zip(todo, free))

    # ---- result, in host order
    plan = {}
    for host in hosts:
        if host in override_nets:
            network, source = override_nets[host], "override"
        elif host in kept:
            network, source = kept[host], "existing"
        else:
            network, source = ipaddress.IPv4Network((allocated[host], prefix)), "allocated"
        first, last, size = _usable(network, specials)
        plan[host] = {"ip_range": str(network), "first": str(ipaddress.IPv4Address(first)),
                      "last": str(ipaddress.IPv4Address(last)), "size": size, "source": source,
                      "subnet": str(subnet), "gateway": str(gateway), "aux_addresses": dict(aux)}
    return plan


def _example_block(subnet):
    length = max(subnet.prefixlen, min(MAX_RANGE_PREFIX, subnet.prefixlen + 3))
    return str(ipaddress.IPv4Network((int(subnet.network_address) + (1 << (32 - length)), length)))


def _usable(network, specials):
    """(first, last, count) of the addresses of ``network`` Docker may hand out (ints; first/last None if none)."""
    start, end = int(network.network_address), int(network.broadcast_address)
    inside = sorted(a for a in specials if start <= a <= end)
    count = end - start + 1 - len(inside)
    if count <= 0:
        return None, None, 0
    first = start
    for address in inside:
        if address == first:
            first += 1
    last = end
    for address in reversed(inside):
        if address == last:
            last -= 1
    return first, last, count


def _free_blocks(subnet, prefix, blocked, specials, count):
    """Start addresses of the ``count`` lowest free /prefix blocks of the subnet."""
    base = int(subnet.network_address)
    shift = 32 - prefix
    n_slots = 1 << (prefix - subnet.prefixlen)
    slots = []  # inclusive slot ranges that are not free
    for lo, hi in blocked:
        slots.append(((max(lo, base) - base) >> shift, (min(hi, int(subnet.broadcast_address)) - base) >> shift))
    size = 1 << shift
    by_slot = {}
    for address in specials:
        slot = (address - base) >> shift
        by_slot[slot] = by_slot.get(slot, 0) + 1
    slots.extend((slot, slot) for slot, n in by_slot.items() if n >= size)
    out = []
    nxt = 0
    for lo, hi in _merge(slots):
        while nxt < lo and len(out) < count:
            out.append(base + (nxt << shift))
            nxt += 1
        if len(out) >= count:
            return out
        nxt = max(nxt, hi + 1)
    while nxt < n_slots and len(out) < count:
        out.append(base + (nxt << shift))
        nxt += 1
    return out


def _grow_prefix(subnet, kept_prefix, blocked, specials, count):
    """The slice length for hosts added to kept ranges: the kept length if the free space has a block of it
    for every new host, else the largest length that still fits them all (adding a host never renumbers);
    the kept length when not even /30 fits (plan_ranges explains)."""
    for prefix in range(kept_prefix, MAX_RANGE_PREFIX + 1):
        if len(_free_blocks(subnet, prefix, blocked, specials, count)) >= count:
            return prefix
    return kept_prefix


def _default_prefix(subnet, blocked, specials, count):
    """The default slice length on a first run (see the module docstring)."""
    if count == 0:
        return max(subnet.prefixlen, DEFAULT_LARGEST_SLICE)
    shortest = max(subnet.prefixlen, DEFAULT_LARGEST_SLICE)
    for want in (GROWTH * count, count):
        for prefix in range(shortest, MAX_RANGE_PREFIX + 1):
            if len(_free_blocks(subnet, prefix, blocked, specials, want)) >= want:
                return prefix
    return MAX_RANGE_PREFIX  # too small even at /30: plan_ranges explains


# ---------------------------------------------------------------------------------------------
# static addresses


def _range_text(entry):
    text = "%s (%s-%s" % (entry["ip_range"], entry["first"], entry["last"])
    network = ipaddress.ip_network(entry["ip_range"])
    first, last = ipaddress.ip_address(entry["first"]), ipaddress.ip_address(entry["last"])
    holes = []
    if entry.get("gateway") and first < ipaddress.ip_address(entry["gateway"]) < last:
        holes.append("%s (gateway)" % entry["gateway"])
    for name, address in sorted((entry.get("aux_addresses") or {}).items(), key=lambda kv: ipaddress.ip_address(
            kv[1])):
        if ipaddress.ip_address(address) in network and first < ipaddress.ip_address(address) < last:
            holes.append("%s (aux %s)" % (address, name))
    if holes:
        text += " except " + ", ".join(holes)
    return text + ")"


def check_static_ip(plan, host, ip):
    """Return ``ip`` (normalised) if a container on ``host`` may use it as a static address, else raise.

    ``plan``: the result of plan_ranges. The address must lie in the host's own ip_range and must not be
    the gateway, an auxiliary address or the subnet's network or broadcast address.
    """
    plan = _mapping(plan, "plan", "the result of crosshost.docker.macvlan_plan")
    if not isinstance(host, str) or host not in plan:
        raise MacvlanPlanError("host: %r is not in the plan (planned hosts: %s): pass inventory_hostname of a "
                               "planned host" % (host, ", ".join(sorted(map(str, plan))) or "none"))
    entry = plan[host]
    if not isinstance(entry, Mapping) or "ip_range" not in entry:
        raise MacvlanPlanError("plan[%s]: expected an entry of crosshost.docker.macvlan_plan, got %r" % (host, entry))
    address = _address(ip, "ip", entry.get("first") or "192.168.2.10")
    own = "a container on %s must use an address in %s" % (host, _range_text(entry))
    subnet = ipaddress.ip_network(entry.get("subnet") or entry["ip_range"])
    if address.version != subnet.version or address not in subnet:
        raise MacvlanPlanError("ip: %s is outside the macvlan subnet %s: %s" % (address, subnet, own))
    if entry.get("gateway") and address == ipaddress.ip_address(entry["gateway"]):
        raise MacvlanPlanError("ip: %s is the gateway of %s: %s" % (address, subnet, own))
    for name, aux in sorted((entry.get("aux_addresses") or {}).items()):
        if address == ipaddress.ip_address(aux):
            raise MacvlanPlanError("ip: %s is the auxiliary address '%s', reserved on every host: %s"
                                   % (address, name, own))
    if address in (subnet.network_address, subnet.broadcast_address):
        raise MacvlanPlanError("ip: %s is the %s address of %s: %s" % (
            address, "network" if address == subnet.network_address else "broadcast", subnet, own))
    if address in ipaddress.ip_network(entry["ip_range"]):
        return str(address)
    for other, other_entry in plan.items():
        if other != host and isinstance(other_entry, Mapping) and "ip_range" in other_entry and \
                address in ipaddress.ip_network(other_entry["ip_range"]):
            raise MacvlanPlanError("ip: %s is in %s's range %s, whose IPAM may hand it out to a container there; %s"
                                   % (address, other, other_entry["ip_range"], own))
    raise MacvlanPlanError("ip: %s is outside every host's ip_range (that part of the subnet is left to other "
                           "machines on the segment); %s" % (address, own))


# ---------------------------------------------------------------------------------------------
# several macvlan networks on one host


def _network_subnets(entry, field):
    subnets = []
    if "subnets" in entry and entry.get("subnets") is not None:
        items = entry.get("subnets")
        if isinstance(items, (str, bytes)) or isinstance(items, Mapping) or not isinstance(items, Iterable):
            raise MacvlanPlanError("%s.subnets: expected a list of CIDRs or of dicts with 'subnet', got %r"
                                   % (field, items))
        for item in items:
            value = item.get("subnet") if isinstance(item, Mapping) else item
            if not _empty(value):
                subnets.append(value)
    if not _empty(entry.get("subnet")):
        subnets.append(entry.get("subnet"))
    out = []
    for value in subnets:
        network = _network(value, field + ".subnet", "192.168.2.0/24", strict=False)
        if network not in out:
            out.append(network)
    return out


def check_networks(networks, exclusive_parents=False):
    """Check the macvlan networks one host will have; return them as [{"name", "parent", "subnets"}].

    ``networks``: dicts with ``name``, ``parent`` and ``subnet`` (a CIDR) or ``subnets`` (docker_host_info's
    list, or CIDR strings). Entries whose ``driver`` is given and is not macvlan or ipvlan, and entries
    without a parent, are skipped, so docker_host_info's ``networks`` can be passed as is.
    """
    if networks is None:
        return []
    if isinstance(networks, (str, bytes)) or isinstance(networks, Mapping) or not isinstance(networks, Iterable):
        raise MacvlanPlanError("networks: expected a list of {name, subnet, parent} dicts, got %r" % (networks,))
    out = []
    by_name = {}
    for index, entry in enumerate(networks):
        field = "networks[%d]" % index
        if not isinstance(entry, Mapping):
            raise MacvlanPlanError("%s: expected a dict with name, subnet and parent, got %r" % (field, entry))
        driver = _text(entry.get("driver"))
        if not _empty(driver) and driver not in PARENT_DRIVERS:
            continue
        name = _text(entry.get("name"))
        if not isinstance(name, str) or not name:
            raise MacvlanPlanError("%s: every network needs a name, got %r" % (field, name))
        field = "networks[%s]" % name
        parent = _text(entry.get("parent"))
        if _empty(parent):
            continue
        if not isinstance(parent, str):
            raise MacvlanPlanError("%s.parent: expected an interface name like eth1, got %r" % (field, parent))
        subnets = _network_subnets(entry, field)
        if not subnets:
            raise MacvlanPlanError("%s: no subnet: give the network's subnet, like 192.168.2.0/24" % field)
        item = {"name": name, "parent": parent, "subnets": [str(s) for s in subnets]}
        if name in by_name:
            if by_name[name] != item:
                raise MacvlanPlanError(
                    "%s: given twice with different settings (%s on %s, and %s on %s): Docker refuses a second "
                    "network of that name ('network with name %s already exists'): rename one, or remove the "
                    "existing network before creating the new one"
                    % (field, ", ".join(by_name[name]["subnets"]), by_name[name]["parent"], ", ".join(item["subnets"]),
                       parent, name))
            continue
        for other in out:
            if other["parent"] != parent:
                continue
            if exclusive_parents:
                raise MacvlanPlanError(
                    "%s: %s is already the parent of network %s, and this engine's macvlan driver allows one network "
                    "per parent ('network dm-... is already using parent interface %s'): put %s on a VLAN "
                    "sub-interface (like %s.10) or another interface"
                    % (field, parent, other["name"], parent, name, parent))
            for mine in subnets:
                for theirs in other["subnets"]:
                    theirs = ipaddress.ip_network(theirs)
                    if mine.version == theirs.version and mine.overlaps(theirs):
                        raise MacvlanPlanError(
                            "%s: subnet %s overlaps %s of network %s on the same parent %s: two macvlan networks on "
                            "one parent share one L2 segment, and Docker refuses the overlap only for a network "
                            "without an ip_range ('Pool overlaps with other one on this address space'), otherwise "
                            "both hand out the same addresses: give one of them a disjoint subnet, or put it on a "
                            "VLAN sub-interface (like %s.10)" % (field, mine, theirs, other["name"], parent, parent))
        by_name[name] = item
        out.append(item)
    return out
