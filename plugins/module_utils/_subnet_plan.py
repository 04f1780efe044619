# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host container subnets (Docker ``bip``) for the direct-route scheme: pure Python.

``plan_subnets(hosts, pool, ...)`` gives every host a subnet of its own and returns
``{host: {"subnet", "bip", "gateway", "source"}}`` in the order of ``hosts``. Shared by the
``crosshost.docker.subnet_plan`` filter and the ``direct_route`` role; it changes nothing, so every
mistake is reported before a daemon.json or a route table is touched.

Why the standard library's ``ipaddress`` and not netaddr: everything needed here is network
parsing, containment and integer arithmetic on IPv4 addresses, which ``ipaddress`` does. netaddr
would be one more dependency on the controller (and in execution environments), and
``ansible-test sanity --test import`` imports module_utils without third-party libraries.

Rules (each one is covered by tests/unit/plugins/module_utils/test_subnet_plan.py):

* Order of precedence: ``overrides`` > ``existing`` (sticky) > allocated. ``source`` tells which.
  The plan depends on the order of ``hosts`` only, never on the order of the dicts.
* ``overrides`` ({host: "10.1.0.0/24"}) are taken as given: any prefix length up to /30, inside or
  outside the pool (the seed's hosts use 10.0.0.0/24 and 10.1.0.0/24). They must be exact networks
  (host bits set is an error), must not overlap each other, a reserved range, a range the provider
  refuses, a host's kept (existing) subnet or a docker network on a planned host. An override
  for a host that is not in ``hosts`` is an error (usually a typo).
* ``existing`` ({host: "10.0.3.1/24"}, a bip or a subnet, or the ``default_bridge`` dict of
  docker_host_info whose ``bip`` is preferred over ``subnet``) is kept when it lies inside the pool
  and has exactly ``prefix``. Another prefix length is not kept: changing ``prefix`` renumbers
  every host without an override, which is what the operator asked for. Values outside the pool
  (Docker's default 172.17.0.0/16) are ignored. A kept subnet is never silently given up: if it
  clashes with another host's kept subnet (cloned images with the same bip), an override or a
  docker network, the plan fails and says which override to add or which network to remove.
* Stickiness needs the current state: without ``existing`` the plan is still deterministic, but
  by position, so removing a host from the middle of ``hosts`` would shift the hosts after it.
  With ``existing`` from the hosts' facts, adding or removing a host never renumbers another one.
* The other hosts get the lowest free ``prefix``-sized slots of the pool, in the order of ``hosts``.
  A slot is not free when it overlaps an override, a kept subnet or a docker network on any
  planned host. Another host's network counts too: that host would deliver traffic for the
  subnet to its local network instead of routing it to the owner.
* ``host_networks`` ({host: [...]}) takes subnet strings, IPAM config dicts (``{"subnet": ...}``)
  or docker_host_info's ``networks`` list as is. The default bridge of a planned host is ignored
  (it is being replaced): the network named ``bridge``, and unnamed entries (strings, IPAM dicts)
  equal to the host's ``existing`` bip or subnet. Entries for hosts that are not planned and IPv6
  entries are ignored.
* ``reserved`` (VPC/vSwitch/underlay CIDRs) must not overlap the pool or an override.
* Never usable, for every provider: 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 (link-local: not
  forwarded by routers, RFC 3927; cloud metadata services live there, e.g. AWS's
  169.254.169.254, DNS .253, time .123), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved).
  ``provider="alicloud"`` adds 100.64.0.0/10: Alibaba Cloud uses it for its own services
  (metadata 100.100.100.200, DNS 100.100.2.136) and CreateRouteEntry refuses destinations inside
  it. ``provider="aws"`` adds nothing beyond link-local: the addresses AWS reserves in each subnet
  lie in the VPC CIDR, which belongs in ``reserved``. ``linux`` adds nothing.
* The bip and gateway are the first host address of the subnet (10.0.1.1 for 10.0.1.0/24), also for
  a kept subnet whose current bip is another address. Prefixes longer than /30 are refused (a /31
  or /32 leaves no address for a container). IPv4 only: Docker's ``bip`` is IPv4.

Speed: sorted intervals, bisect and slot indices, no pairwise overlap checks and nothing built per
slot of the pool (a /8 of /30s is 4 million slots), so 1000 hosts plan in a few hundredths of a
second (benchmarks/bench_subnet_plan.py).
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Mapping

from ansible_collections.crosshost.docker.plugins.module_utils import _inputs as inp
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

MAX_PREFIX = 30
PROVIDERS = ("linux", "aws", "alicloud")

# (network, why) refused as a pool or an override whatever the provider.
NEVER_USABLE = (
    ("0.0.0.0/8", "'this network' (RFC 1122), not a destination"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (RFC 3927): routers do not forward it, and cloud metadata services live there "
                       "(AWS 169.254.169.254)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (class E) and broadcast"),
)
PROVIDER_REFUSED = {
    "alicloud": (
        ("100.64.0.0/10", "Alibaba Cloud reserves 100.64.0.0/10 for its own services (metadata 100.100.100.200, "
                          "DNS 100.100.2.136) and refuses VPC route entries inside it"),
    ),
}


class SubnetPlanError(PlanError):
    """A plan that cannot be made; the message names the field and the fix."""


class _Block(object):
    """An IPv4 range [start, end] (integers) with a label for messages."""

    __slots__ = ("start", "end", "label", "host")

    def __init__(self, network, label, host=None):
        self.start = int(network.network_address)
        self.end = int(network.broadcast_address)
        self.label = label
        self.host = host

    def overlaps(self, other):
        return self.start <= other.end and other.start <= self.end


class _DisjointIndex(object):
    """Sorted, pairwise disjoint blocks; ``find`` returns one overlapping a range, in O(log n)."""

    def __init__(self, blocks):
        self.blocks = sorted(blocks, key=lambda b: b.start)
        self.starts = [b.start for b in self.blocks]

    def find(self, start, end):
        i = bisect.bisect_right(self.starts, end) - 1
        if i >= 0 and self.blocks[i].end >= start:
            return self.blocks[i]
        return None


_text = inp.text
_merge = inp.merge


def _parse_network(value, field, exact, example):
    """A network from a CIDR string; ``exact``: host bits must be zero and the prefix explicit."""
    return inp.network(value, field, example, SubnetPlanError, strict=exact, need_prefix=exact)


def _ipv4_only(network, field):
    if network.version != 4:
        raise SubnetPlanError("%s: %s is IPv6; Docker's bip (the default bridge subnet) is IPv4: use an IPv4 CIDR"
                              % (field, network))
    return network


def _refused_ranges(provider):
    out = []
    for cidr, why in NEVER_USABLE + PROVIDER_REFUSED.get(provider, ()):
        out.append(_Block(ipaddress.ip_network(cidr), "%s (%s)" % (cidr, why)))
    return out


def _prefix(value, pool):
    value = inp.prefix_length(value, "prefix", "24", SubnetPlanError)
    if value > MAX_PREFIX:
        raise SubnetPlanError("prefix: /%d leaves no address for a container next to the bip: use %d or less "
                              "(/24 per host is usual)" % (value, MAX_PREFIX))
    if value < pool.prefixlen:
        raise SubnetPlanError("prefix: /%d is shorter than the pool's /%d, so a host subnet does not fit in %s: "
                              "use a prefix of %d to %d or a larger pool"
                              % (value, pool.prefixlen, pool, pool.prefixlen, MAX_PREFIX))
    return value


def _hosts(hosts):
    return inp.hosts(hosts, "one subnet", SubnetPlanError)


def _mapping(value, field):
    return inp.mapping(value, field, SubnetPlanError)


def _existing_networks(value, host, cache):
    """Networks of a host's current default bridge: [preferred, other...] (bip first), IPv4 only.

    ``cache``: {text: IPv4Network or None} shared by all hosts (a first run sees 172.17.0.0/16 everywhere).
    """
    field = "existing[%s]" % host
    if isinstance(value, Mapping):
        candidates = [value.get("bip"), value.get("subnet")]
    else:
        candidates = [value]
    out = []
    for item in candidates:
        item = _text(item)
        if item is None or item == "":
            continue
        if not isinstance(item, str):
            raise SubnetPlanError("%s: expected the current bip or subnet like 10.0.3.1/24, got %r" % (field, item))
        if item not in cache:
            try:
                network = ipaddress.ip_interface(item).network
            except ValueError:
                raise SubnetPlanError("%s: %r is not an address with a prefix length (like 10.0.3.1/24): pass the "
                                      "default bridge's bip or subnet from docker_host_info" % (field, item))
            cache[item] = network if network.version == 4 else None
        network = cache[item]
        if network is not None and network not in out:
            out.append(network)
    return out


def _network_entries(value, host, cache):
    """(label, IPv4Network, named) of a host's docker networks, without the default bridge named 'bridge'.

    ``cache``: {text: IPv4Network or None} shared by all hosts (they often have the same networks).
    """
    field = "host_networks[%s]" % host
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise SubnetPlanError("%s: expected a list of subnets or docker_host_info networks, got %r" % (field, value))
    out = []
    for entry in value:
        name = None
        if isinstance(entry, Mapping) and "subnets" in entry:
            name = entry.get("name")
            if name == "bridge":
                continue
            subnets = entry.get("subnets") or []
        else:
            subnets = [entry]
        for sub in subnets:
            if isinstance(sub, Mapping):
                if "subnet" not in sub:
                    raise SubnetPlanError("%s: %r has neither 'subnet' nor 'subnets': pass subnet strings or "
                                          "docker_host_info's networks" % (field, dict(sub)))
                sub = sub.get("subnet")
            sub = _text(sub)
            if sub is None or sub == "":
                continue
            if sub not in cache:
                network = _parse_network(sub, field, False, "172.18.0.0/16")
                cache[sub] = network if network.version == 4 else None
            network = cache[sub]
            if network is None:
                continue
            if name:
                label = "docker network '%s' (%s) on %s" % (name, network, host)
            else:
                label = "docker network %s on %s" % (network, host)
            out.append((label, network, bool(name)))
    return out


def plan_subnets(hosts, pool, prefix=24, existing=None, overrides=None, reserved=None, host_networks=None,
                 provider=None):
    """Plan a container subnet per host; see the module docstring for the rules.

    Returns {host: {"subnet": "10.0.1.0/24", "bip": "10.0.1.1/24", "gateway": "10.0.1.1",
    "source": "override" | "existing" | "allocated"}} in the order of ``hosts``.
    Raises SubnetPlanError with a message that names the field and the fix.
    """
    # ---- inputs
    hosts = _hosts(hosts)
    planned = set(hosts)
    if pool is None or _text(pool) == "":
        raise SubnetPlanError("pool: required: the cluster CIDR that host subnets are taken from, like 10.0.0.0/16")
    pool = _ipv4_only(_parse_network(pool, "pool", True, "10.0.0.0/16"), "pool")
    prefix = _prefix(prefix, pool)
    provider = _text(provider) or None
    if provider is not None:
        provider = str(provider).lower()
        if provider not in PROVIDERS:
            raise SubnetPlanError("provider: %r is not one of %s (or none)" % (provider, ", ".join(PROVIDERS)))
    existing = _mapping(existing, "existing")
    overrides = _mapping(overrides, "overrides")
    host_networks = _mapping(host_networks, "host_networks")
    if reserved is None:
        reserved = []
    elif isinstance(reserved, str):
        reserved = [reserved]
    elif isinstance(reserved, Mapping) or not isinstance(reserved, Iterable):
        raise SubnetPlanError("reserved: expected a list of CIDRs (the VPC/underlay ranges), got %r" % (reserved,))
    reserved_blocks = []
    for item in reserved:
        network = _parse_network(item, "reserved", False, "192.168.0.0/16")
        if network.version == 4:
            reserved_blocks.append(_Block(network, "reserved %s" % network))
    refused = _refused_ranges(provider)

    # ---- the pool
    pool_block = _Block(pool, "pool %s" % pool)
    for block in refused:
        if block.overlaps(pool_block):
            raise SubnetPlanError("pool: %s overlaps %s: choose a pool outside it (10.0.0.0/8, 172.16.0.0/12 or "
                                  "192.168.0.0/16 space not used by the VPC)" % (pool, block.label))
    for block in reserved_blocks:
        if block.overlaps(pool_block):
            raise SubnetPlanError("pool: %s overlaps %s: choose a pool outside the reserved (VPC/underlay) ranges, "
                                  "or correct reserved" % (pool, block.label))

    # ---- overrides
    override_nets = {}
    for host, value in overrides.items():
        if _text(value) is None or _text(value) == "":
            continue
        if host not in planned:
            raise SubnetPlanError("overrides[%s]: %s is not one of the hosts being planned: fix the host name or "
                                  "remove the override" % (host, host))
        field = "overrides[%s]" % host
        network = _ipv4_only(_parse_network(value, field, True, "10.1.0.0/24"), field)
        if network.prefixlen > MAX_PREFIX:
            raise SubnetPlanError("%s: %s leaves no address for a container next to the bip: use a /%d or shorter "
                                  "prefix" % (field, network, MAX_PREFIX))
        override_nets[host] = network
    override_blocks = [_Block(net, "override for %s (%s)" % (host, net), host) for host, net in override_nets.items()]
    by_start = sorted(override_blocks, key=lambda b: (b.start, -b.end))
    widest = None
    for block in by_start:
        if widest is not None and block.start <= widest.end:
            raise SubnetPlanError("overrides[%s]: %s overlaps the %s: each host needs a subnet of its own, change "
                                  "one of them" % (block.host, override_nets[block.host], widest.label))
        if widest is None or block.end > widest.end:
            widest = block
    for block in override_blocks:
        for bad in refused:
            if bad.overlaps(block):
                raise SubnetPlanError("overrides[%s]: %s overlaps %s: choose another subnet"
                                      % (block.host, override_nets[block.host], bad.label))
    override_index = _DisjointIndex(override_blocks)
    for res in reserved_blocks:
        hit = override_index.find(res.start, res.end)
        if hit is not None:
            raise SubnetPlanError("overrides[%s]: %s overlaps %s (VPC/underlay): choose a subnet outside the reserved "
                                  "ranges" % (hit.host, override_nets[hit.host], res.label))

    # ---- existing subnets that stay (inside the pool, exactly /prefix)
    shift = 32 - prefix
    pool_start, pool_end = int(pool.network_address), int(pool.broadcast_address)
    n_slots = 1 << (prefix - pool.prefixlen)
    bridges = {}  # host -> networks of its current default bridge (ignored in host_networks)
    sticky = {}  # slot index -> host
    cache = {}
    for host in hosts:
        current = _existing_networks(existing.get(host), host, cache) if host in existing else []
        bridges[host] = current
        if host in override_nets or not current:
            continue
        network = current[0]
        if network.prefixlen != prefix or not pool_start <= int(network.network_address) <= pool_end:
            continue
        slot = (int(network.network_address) - pool_start) >> shift
        if slot in sticky:
            raise SubnetPlanError("existing[%s]: %s is also the current subnet of %s (cloned host?): give one of "
                                  "them an override, or clear its bip so that it gets a new subnet"
                                  % (host, network, sticky[slot]))
        hit = override_index.find(int(network.network_address), int(network.broadcast_address))
        if hit is not None:
            raise SubnetPlanError("overrides[%s]: %s overlaps %s, the current subnet of %s (kept: it lies in the "
                                  "pool): choose another override, or give %s an override too"
                                  % (hit.host, override_nets[hit.host], network, host, host))
        sticky[slot] = host
    sticky_slots = sorted(sticky)

    # ---- docker networks on the planned hosts
    blocked = []  # inclusive slot ranges that allocation must skip
    cache = {}  # a separate cache: host_networks entries are subnets, parsed strictly as networks
    for host in hosts:
        if host not in host_networks:
            continue
        for label, network, named in _network_entries(host_networks[host], host, cache):
            if not named and network in bridges[host]:
                continue  # an unnamed entry equal to the current default bridge is that bridge
            start, end = int(network.network_address), int(network.broadcast_address)
            hit = override_index.find(start, end)
            if hit is not None:
                raise SubnetPlanError("overrides[%s]: %s overlaps %s: %s; choose another subnet or remove that "
                                      "network" % (hit.host, override_nets[hit.host], label, _why(hit.host, host)))
            if end < pool_start or start > pool_end:
                continue
            lo = max(0, (start - pool_start) >> shift)
            hi = min(n_slots - 1, (end - pool_start) >> shift)
            i = bisect.bisect_left(sticky_slots, lo)
            if i < len(sticky_slots) and sticky_slots[i] <= hi:
                owner = sticky[sticky_slots[i]]
                raise SubnetPlanError("existing[%s]: the current subnet %s (kept: it lies in the pool) overlaps %s: "
                                      "%s; remove that network, or give %s an override"
                                      % (owner, _slot_network(pool_start, sticky_slots[i], prefix), label,
                                         _why(owner, host), owner))
            blocked.append((lo, hi))

    # ---- allocation: lowest free slots, in host order
    for block in override_blocks:
        if block.end >= pool_start and block.start <= pool_end:
            blocked.append((max(0, (block.start - pool_start) >> shift),
                            min(n_slots - 1, (block.end - pool_start) >> shift)))
    blocked.extend((slot, slot) for slot in sticky_slots)
    slot_of = dict((host, slot) for slot, host in sticky.items())
    todo = [h for h in hosts if h not in override_nets and h not in slot_of]
    merged = _merge(blocked)
    taken = sum(hi - lo + 1 for lo, hi in merged)
    if len(todo) > n_slots - taken:
        if taken:
            raise SubnetPlanError("pool: %s has room for %d /%d subnets, %d of them taken (overrides, kept subnets, "
                                  "docker networks), but %s one: use a larger pool or a longer prefix"
                                  % (pool, n_slots, prefix, taken, _hosts_text(len(todo), "more ")))
        raise SubnetPlanError("pool: %s has room for %d /%d subnets but %s one: use a larger pool or a "
                              "longer prefix" % (pool, n_slots, prefix, _hosts_text(len(todo))))
    free = iter(_free_slots(merged, n_slots, len(todo)))
    allocated = {host: next(free) for host in todo}

    # ---- result, in host order
    plan = {}
    for host in hosts:
        if host in override_nets:
            start, length, source = int(override_nets[host].network_address), override_nets[host].prefixlen, "override"
        elif host in slot_of:
            start, length, source = pool_start + (slot_of[host] << shift), prefix, "existing"
        else:
            start, length, source = pool_start + (allocated[host] << shift), prefix, "allocated"
        gateway = str(ipaddress.IPv4Address(start + 1))
        plan[host] = {"subnet": "%s/%d" % (ipaddress.IPv4Address(start), length), "bip": "%s/%d" % (gateway, length),
                      "gateway": gateway, "source": source}
    return plan


def _hosts_text(count, more=""):
    return "%d %s%s" % (count, more, "host needs" if count == 1 else "hosts need")


def _why(owner, net_host):
    if owner == net_host:
        return "Docker would refuse the bip ('Pool overlaps with other one on this address space')"
    return "%s would deliver traffic for %s's containers to that local network instead of routing it" % (
        net_host, owner)


def _slot_network(pool_start, slot, prefix):
    return ipaddress.IPv4Network((pool_start + (slot << (32 - prefix)), prefix))


def _free_slots(merged, n_slots, count):
    """The ``count`` lowest slot indices in [0, n_slots) outside the merged, sorted ranges."""
    out = []
    nxt = 0
    for lo, hi in merged:
        while nxt < lo and len(out) < count:
            out.append(nxt)
            nxt += 1
        if len(out) == count:
            return out
        nxt = max(nxt, hi + 1)
    while nxt < n_slots and len(out) < count:
        out.append(nxt)
        nxt += 1
    return out


def hosts_in_pool(existing, pool, overrides=None):
    """Hosts whose current default bridge subnet lies in ``pool`` or equals their override.

    ``existing`` is {host: bip, subnet or docker_host_info's default_bridge dict}. Used for the hosts
    of a cluster that a run does not change (``--limit``): they keep their subnet and their route as
    long as they have one of the cluster's subnets, whatever the inventory says about them.
    """
    pool_net = _parse_network(pool, "pool", True, "10.0.0.0/16")
    overrides = _mapping(overrides, "overrides")
    out = []
    cache = {}
    for host, value in _mapping(existing, "existing").items():
        networks = _existing_networks(value, host, cache)
        override = overrides.get(host)
        wanted = None if override is None else _parse_network(override, "overrides[%s]" % host, True, "10.0.5.0/24")
        if networks and (networks[0].subnet_of(pool_net) or networks[0] == wanted):
            out.append(host)
    return out
