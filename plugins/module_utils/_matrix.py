# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connectivity matrices as text: pure Python, shared by the filter plugin and the modules."""

from __future__ import annotations

PASS_WORDS = ("ok", "pass", True)
# A pair that was not tested (the verify role's ring mode): neither ok nor broken.
NOT_TESTED = "\u00b7"
NOT_TESTED_WORDS = (NOT_TESTED, "not tested")


def cell_text(value):
    if isinstance(value, str) and value in NOT_TESTED_WORDS:
        return NOT_TESTED
    if value is True:
        return "ok"
    if value is False or value is None:
        return "FAIL"
    return str(value)


def matrix_table(results, hosts=None, labels=None, corner="from \\ to", missing="-"):
    """Render `results[src][dst]` (any value; True/"ok" pass) as fixed-width text lines.

    hosts: row and column order (default: sorted keys of results).
    labels: optional {host: "h1 10.0.0.2"} shown in the first column.
    The diagonal is shown as "-", missing pairs as `missing` ("-"; NOT_TESTED for pairs that were
    not tested), and a value "not tested" (or NOT_TESTED) as NOT_TESTED.
    """
    if hosts is None:
        hosts = sorted(results)
    hosts = [str(h) for h in hosts]
    labels = labels or {}
    first = [corner] + [str(labels.get(h, h)) for h in hosts]
    w0 = max(len(x) for x in first)
    missing = str(missing)
    known = set(hosts)
    texts = {}  # src: {dst: text} of the pairs in results; every other cell is `missing` (or the diagonal)
    for src in hosts:
        row = results.get(src) or {}
        texts[src] = dict((dst, cell_text(value)) for dst, value in row.items() if dst != src and dst in known)
    widths = [len(c) for row in texts.values() for c in row.values()]
    w = max([len(h) for h in hosts] + widths + [len(missing), 4]) + 2
    blank, diagonal = missing.center(w), "-".center(w)
    lines = [corner.ljust(w0) + "".join(h.center(w) for h in hosts)]
    for src in hosts:
        row = texts[src]
        cells = "".join(diagonal if dst == src else (row[dst].center(w) if dst in row else blank) for dst in hosts)
        lines.append(str(labels.get(src, src)).ljust(w0) + cells)
    return lines


def broken_pairs(results):
    """Ordered pairs whose value is not a pass, as "src -> dst" strings, sorted. Pairs that were not
    tested (value NOT_TESTED or "not tested") are not broken."""
    out = []
    for src in sorted(results):
        for dst in sorted(results[src] or {}):
            value = results[src][dst]
            if isinstance(value, str) and value in NOT_TESTED_WORDS:
                continue
            if src != dst and value not in PASS_WORDS:
                out.append("%s -> %s" % (src, dst))
    return out


def seen_sources(netstat_text, port):
    """Source addresses a probe server saw, from the `netstat -tn` it answered with.

    The probe server (busybox `nc -ll -p PORT -e netstat -tn`) sends its own connection table
    back to each client; the rows for PORT in state ESTABLISHED or CLOSE_WAIT show the address
    the connection came from, after any NAT on the way. Returns the sorted distinct IPv4
    addresses (IPv4-mapped IPv6 notation unwrapped).
    """
    found = set()
    suffix = ":%s" % port
    for line in (netstat_text or "").splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0].startswith("tcp") and parts[3].endswith(suffix) \
                and parts[5] in ("ESTABLISHED", "CLOSE_WAIT"):
            address = parts[4].rsplit(":", 1)[0]
            if address.startswith("::ffff:"):
                address = address[len("::ffff:"):]
            found.add(address)
    return sorted(found)
