# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ordered pairs of hosts the verify role tests: pure Python (no Ansible, no I/O).

- ``all``: every ordered pair, n * (n - 1) pairs (the full matrix);
- ``ring``: in the order of the hosts, host i tests hosts i+1 .. i+k (mod n), so every host sends k
  times and receives k times: n * k pairs. With k >= n - 1 that is every pair, and the mode is ``all``;
- ``auto``: ``all`` up to ``all_pairs_max_hosts`` hosts, ``ring`` above.

Shared by the probe_peers filter (each host's peers, in roles/verify/vars/main.yml) and the
connectivity_report filter (which pairs were tested), so both always agree.
"""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

MODES = ("auto", "all", "ring")
DIRECTIONS = ("to", "from", "both")


class VerifyPairsError(PlanError):
    """Bad input, with a message that names the field and the fix."""


def _count(value, field, low):
    if isinstance(value, bool):
        raise VerifyPairsError("%s: %r is not a number" % (field, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise VerifyPairsError("%s: %r is not a number" % (field, value))
    if str(number) != str(value).strip() and number != value:
        raise VerifyPairsError("%s: %r is not a whole number" % (field, value))
    if number < low:
        raise VerifyPairsError("%s: %s is below %d" % (field, number, low))
    return number


def _hosts(hosts):
    if hosts is None or isinstance(hosts, (str, dict)):
        raise VerifyPairsError("hosts: a list of host names is needed, not %r" % (hosts,))
    hosts = [str(h) for h in hosts]
    if len(set(hosts)) != len(hosts):
        seen, twice = set(), []
        for host in hosts:
            if host in seen and host not in twice:
                twice.append(host)
            seen.add(host)
        raise VerifyPairsError("hosts: %s listed more than once; list every host once" % ", ".join(twice))
    return hosts


def resolve(count, mode="auto", ring_peers=2, all_pairs_max_hosts=3):
    """(mode, k) actually used for ``count`` hosts: ("all", None) or ("ring", k) with 1 <= k < count - 1."""
    if mode not in MODES:
        raise VerifyPairsError("verify_pairs: %r is not one of %s" % (mode, ", ".join(MODES)))
    k = _count(ring_peers, "verify_ring_peers", 1)
    limit = _count(all_pairs_max_hosts, "verify_all_pairs_max_hosts", 0)
    if mode == "auto":
        mode = "all" if count <= limit else "ring"
    if mode == "ring" and k >= count - 1:
        return "all", None  # the ring reaches every other host: that is the full matrix
    return mode, (k if mode == "ring" else None)


def receivers(hosts, host, mode="auto", ring_peers=2, all_pairs_max_hosts=3, direction="to"):
    """The hosts that ``host`` tests (direction "to"), the hosts that test it ("from"), or both, in the
    order of ``hosts`` starting after ``host`` (for "from": starting at the farthest sender). A host not in
    ``hosts`` has no pairs ([])."""
    hosts = _hosts(hosts)
    if direction not in DIRECTIONS:
        raise VerifyPairsError("direction: %r is not one of %s" % (direction, ", ".join(DIRECTIONS)))
    mode, k = resolve(len(hosts), mode, ring_peers, all_pairs_max_hosts)
    host = str(host)
    if host not in hosts:
        return []
    n = len(hosts)
    i = hosts.index(host)
    if mode == "all":
        return [h for h in hosts if h != host]
    out = [hosts[(i + step) % n] for step in range(1, k + 1)] if direction != "from" else []
    if direction != "to":
        out += [h for h in (hosts[(i - step) % n] for step in range(k, 0, -1)) if h not in out]
    return out


def select_pairs(hosts, mode="auto", ring_peers=2, all_pairs_max_hosts=3):
    """Every tested pair: {mode, ring_peers, pairs: {src: [dst, ...]} (every host, in host order),
    tested, total}. ring_peers is None in mode "all"."""
    hosts = _hosts(hosts)
    mode, k = resolve(len(hosts), mode, ring_peers, all_pairs_max_hosts)
    n = len(hosts)
    if mode == "all":
        pairs = dict((h, [d for d in hosts if d != h]) for h in hosts)
    else:
        pairs = dict((h, [hosts[(i + step) % n] for step in range(1, k + 1)]) for i, h in enumerate(hosts))
    return {"mode": mode, "ring_peers": k, "pairs": pairs, "tested": sum(len(d) for d in pairs.values()),
            "total": n * (n - 1)}
