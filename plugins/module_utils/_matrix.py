# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connectivity matrices as text: pure Python, shared by the filter plugin and the modules."""

from __future__ import annotations

PASS_WORDS = ("ok", "pass", True)


def cell_text(value):
    if value is True:
        return "ok"
    if value is False or value is None:
        return "FAIL"
    return str(value)


def matrix_table(results, hosts=None, labels=None, corner="from \\ to"):
    """Render `results[src][dst]` (any value; True/"ok" pass) as fixed-width text lines.

    hosts: row and column order (default: sorted keys of results).
    labels: optional {host: "h1 10.0.0.2"} shown in the first column.
    The diagonal and missing pairs are shown as "-".
    """
    if hosts is None:
        hosts = sorted(results)
    hosts = [str(h) for h in hosts]
    labels = labels or {}
    first = [corner] + [str(labels.get(h, h)) for h in hosts]
    w0 = max(len(x) for x in first)
    cells = {}
    for src in hosts:
        row = results.get(src) or {}
        for dst in hosts:
            cells[src, dst] = "-" if src == dst or dst not in row else cell_text(row[dst])
    w = max([len(h) for h in hosts] + [len(c) for c in cells.values()] + [4]) + 2
    lines = [corner.ljust(w0) + "".join(h.center(w) for h in hosts)]
    for src in hosts:
        lines.append(str(labels.get(src, src)).ljust(w0) + "".join(cells[src, dst].center(w) for dst in hosts))
    return lines


def broken_pairs(results):
    """Ordered pairs whose value is not a pass, as "src -> dst" strings, sorted."""
    out = []
    for src in sorted(results):
        for dst in sorted(results[src] or {}):
            if src != dst and results[src][dst] not in PASS_WORDS:
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
