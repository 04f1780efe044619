# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parts of `make bench` (benchmarks/bench.py): statistics, parsers, verdicts and rendering.

No lab, no root and no network here, so everything is unit-tested (tests/unit/test_bench_*.py).
Measurements arrive as plain dicts (JSON-serialisable, so a run can be saved and rendered again):

    scheme result  {"key", "title", "target", "lab", "pair", "underlay", "error",
                    "throughput_bps": {"baseline": [...], "scheme": [...]},   one value per repetition
                    "retransmits": {...}, "cpu": {"baseline": [[sender %, receiver %], ...], ...},
                    "icmp_ms": {...}, "icmp_loss": {...},                      all samples of all repetitions
                    "tcp_us": {...},
                    "mtu": {"baseline": int, "scheme": int}, "df_ping": {...}, "fragments": {...}}
"""

from __future__ import annotations

import json
import math
import re

SIDES = ("baseline", "scheme")
REFERENCE = "reference"  # optional third side: the scheme's bare data path without Docker


# ---------------------------------------------------------------------------------------------
# Statistics


def median(values):
    """Median of a non-empty sequence (mean of the two middle values for an even count)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of no values")
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values, pct):
    """The pct-th percentile (0..100) with linear interpolation between closest ranks.

    This is the common definition (numpy's default, R type 7): rank = pct/100 * (n - 1).
    percentile(v, 50) == median(v).
    """
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is outside 0..100")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = pct / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value, baseline):
    """value / baseline, or None when there is no baseline to compare with."""
    if value is None or not baseline:
        return None
    return value / baseline


def spread(values):
    """(max - min) / median of a sample: how far apart the repetitions are, relative to their median."""
    mid = median(values)
    if not mid:
        return None
    return (max(values) - min(values)) / mid


def iqr_spread(values):
    """(p75 - p25) / median: the spread of the middle half, which one outlier repetition cannot move."""
    mid = median(values)
    if not mid:
        return None
    return (percentile(values, 75) - percentile(values, 25)) / mid


def interleaved_order(reps, sides=SIDES):
    """[(repetition, side), ...]: every repetition runs every side once, and every other repetition
    runs them in reverse (A B, B A, A B ...), so a slow drift of the machine's load favours none."""
    order = []
    for rep in range(reps):
        these = tuple(sides) if rep % 2 == 0 else tuple(reversed(sides))
        order.extend((rep, side) for side in these)
    return order


# ---------------------------------------------------------------------------------------------
# Parsers


def parse_iperf3(text):
    """The figures of one `iperf3 -c ... -J` run (a TCP test).

    Returns {"bps": receiver bits/s, "sent_bps", "retransmits", "seconds", "cpu_sender", "cpu_receiver"}.
    The receiver's figure is the throughput (what arrived); retransmits come from the sender.
    Raises ValueError with iperf3's own message when the run failed.
    """
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ValueError(f"iperf3 did not print JSON ({e}): {text[:200]!r}") from None
    if doc.get("error"):
        raise ValueError(f"iperf3: {doc['error']}")
    try:
        end = doc["end"]
        received = end["sum_received"]
        sent = end["sum_sent"]
    except (KeyError, TypeError):
        raise ValueError("iperf3 JSON has no end.sum_received/sum_sent (was it a TCP test?)") from None
    cpu = end.get("cpu_utilization_percent") or {}
    return {"bps": float(received["bits_per_second"]), "sent_bps": float(sent["bits_per_second"]),
            "retransmits": int(sent.get("retransmits", 0)), "seconds": float(received["seconds"]),
            "cpu_sender": cpu.get("host_total"), "cpu_receiver": cpu.get("remote_total")}


_PING_TIME = re.compile(r"\bicmp_seq=\d+ .*\btime[=<]([0-9.]+) ms")
_PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


def parse_ping(text):
    """RTT samples (ms) and counts of iputils `ping -n` output: {"rtt_ms": [...], "sent", "received"}.

    Duplicates (`DUP!`) are not samples. Without a summary line, sent/received are None.
    """
    rtts = [float(m.group(1)) for line in text.splitlines() if "DUP!" not in line
            for m in [_PING_TIME.search(line)] if m]
    summary = _PING_SUMMARY.search(text)
    sent, received = (int(summary.group(1)), int(summary.group(2))) if summary else (None, None)
    return {"rtt_ms": rtts, "sent": sent, "received": received}


def parse_snmp_ip(text):
    """The `Ip:` counters of /proc/net/snmp as {name: int}."""
    rows = [line.split() for line in text.splitlines() if line.startswith("Ip:")]
    if len(rows) < 2:
        raise ValueError("no Ip: header and value lines in /proc/net/snmp")
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))


def fragments(before, after):
    """IP fragments made or reassembled between two parse_snmp_ip() snapshots of one namespace."""
    keys = ("FragCreates", "ReasmReqds")
    return sum(after.get(k, 0) - before.get(k, 0) for k in keys)


def parse_mtu(ip_link_text):
    """MTU from `ip -o link show DEV`."""
    match = re.search(r"\bmtu (\d+)\b", ip_link_text)
    if not match:
        raise ValueError(f"no mtu in {ip_link_text!r}")
    return int(match.group(1))


def parse_route_dev(ip_route_get_text):
    """The output interface of `ip -o route get ADDR`."""
    match = re.search(r"\bdev (\S+)", ip_route_get_text)
    if not match:
        raise ValueError(f"no dev in {ip_route_get_text!r}")
    return match.group(1)


def recap_changed(stats):
    """Total `changed` over hosts in the stats of the ansible.posix.json callback."""
    return sum(int(host.get("changed", 0)) for host in stats.values())


def recap_failed(stats):
    return sum(int(host.get("failures", 0)) + int(host.get("unreachable", 0)) for host in stats.values())


READ_PREFIXES = ("Describe", "Get", "List")


def cloud_calls(recording):
    """(read actions, write actions) of a moto recording (one JSON request per line).

    EC2 is a query API: the action is the `Action` parameter of the form body (or of the URL).
    Everything that is not Describe*/Get*/List* is a write. The recorder's own calls are not in it.
    """
    import base64
    from urllib.parse import parse_qs, urlparse

    reads, writes = [], []
    for line in recording.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        params = parse_qs(body) if isinstance(body, str) else {}
        action = (params.get("Action") or parse_qs(urlparse(entry.get("url", "")).query).get("Action") or [None])[0]
        if action is None:
            action = entry.get("headers", {}).get("X-Amz-Target", "?").rsplit(".", 1)[-1]
        (reads if action.startswith(READ_PREFIXES) else writes).append(action)
    return reads, writes


# ---------------------------------------------------------------------------------------------
# Summary and verdicts


def summarize(result):
    """The figures of one scheme result that the tables and the chart show."""
    out = {"key": result["key"], "title": result["title"], "target": result.get("target"), "error": result.get("error")}
    thr = result.get("throughput_bps") or {}
    if thr.get("baseline") and thr.get("scheme"):
        base, scheme = median(thr["baseline"]), median(thr["scheme"])
        # The headline ratio compares the scheme with the bare path of the same topology (the reference
        # side when the scheme's path crosses more than host to host: a router hop, a VXLAN link), else
        # with the host-to-host baseline. Per-repetition ratios pair each scheme run with the bare run
        # next to it, for the spread shown in the chart.
        bare_side = REFERENCE if thr.get(REFERENCE) else "baseline"
        bare = median(thr[bare_side])
        pairs = [ratio(s, b) for s, b in zip(thr["scheme"], thr[bare_side])]
        out.update(base_gbps=base / 1e9, scheme_gbps=scheme / 1e9, bare_gbps=bare / 1e9, bare_side=bare_side,
                   ratio=ratio(scheme, bare), host_ratio=ratio(scheme, base),
                   ratio_min=min(pairs), ratio_max=max(pairs), base_spread=spread(thr["baseline"]),
                   base_iqr_spread=iqr_spread(thr["baseline"]), scheme_spread=spread(thr["scheme"]),
                   bare_spread=spread(thr[bare_side]), reps=len(thr["scheme"]))
        if bare_side == REFERENCE:
            out.update(ref_gbps=bare / 1e9, ref_ratio=ratio(bare, base), reference=result.get("reference"))
    for kind, unit in (("icmp", "icmp_ms"), ("tcp", "tcp_us")):
        samples = result.get(unit) or {}
        for side in SIDES + (REFERENCE,):
            values = samples.get(side) or []
            if values:
                scale = 1000.0 if kind == "icmp" else 1.0  # both shown in microseconds
                out[f"{kind}_{side}_p50"] = percentile(values, 50) * scale
                out[f"{kind}_{side}_p99"] = percentile(values, 99) * scale
                out[f"{kind}_{side}_n"] = len(values)
    for side in SIDES:
        retr = (result.get("retransmits") or {}).get(side)
        if retr:
            out[f"retransmits_{side}"] = median(retr)
        cpu = [c for c in ((result.get("cpu") or {}).get(side) or []) if c and None not in c]
        if cpu:
            out[f"cpu_{side}"] = (median([c[0] for c in cpu]), median([c[1] for c in cpu]))
    loss = result.get("icmp_loss") or {}
    out["icmp_lost"] = {side: loss.get(side, 0) for side in SIDES}
    out["mtu"] = result.get("mtu") or {}
    out["df_ping"] = result.get("df_ping")
    out["fragments"] = result.get("fragments")
    out["verdict"], out["why"] = verdict(out, result.get("note"), result.get("needs_no_fragments", False))
    return out


def verdict(summary, note=None, needs_no_fragments=False):
    """("met" | "not met" | "no data", reason). A target is met when the throughput ratio reaches
    it (and, where asked, nothing was fragmented and a DF ping at the MTU passed)."""
    if summary.get("error"):
        return "no data", summary["error"]
    if summary.get("ratio") is None:
        return "no data", "no throughput measured"
    target = summary.get("target")
    problems = []
    if target is not None and summary["ratio"] < target:
        problems.append(f"ratio {summary['ratio']:.2f} < {target:.2f}")
    if needs_no_fragments:
        frags = (summary.get("fragments") or {}).get("scheme")
        if frags is None or frags > 0:
            problems.append(f"fragments: {frags}")
        df = summary.get("df_ping") or {}
        if not df.get("at_mtu"):
            problems.append("DF ping at the MTU failed")
    if not problems:
        return "met", ""
    why = "; ".join(problems)
    if summary.get("ref_ratio") is not None and target is not None and summary["ratio"] < target:
        why += (f" (against {summary.get('reference') or 'the bare path'}, measured in the same run; that path "
                f"itself reaches {summary['ref_ratio']:.2f} of host to host, the scheme {summary['host_ratio']:.2f})")
    noise = max(v for v in (summary.get("bare_spread"), summary.get("scheme_spread"), 0.0) if v is not None)
    if target is not None and summary["ratio"] < target and noise and summary["ratio"] >= target - noise / 2:
        why += f" (within the noise: the repetitions spread {noise:.0%})"
    if note:
        why += f". {note}"
    return "not met", why


def noise_warning(machine, summaries, max_spread=0.25, max_load_per_cpu=0.5):
    """A warning when the run was too noisy to read small differences: the machine was busy at the
    start (1-minute load average above `max_load_per_cpu` per CPU) or some scheme's baseline
    repetitions spread more than `max_spread`. None for a quiet run."""
    reasons = []
    load, cpus = (machine.get("load_start") or [0])[0], machine.get("cpus") or 1
    if load > max_load_per_cpu * cpus:
        reasons.append(f"the load average was {load:.1f} on {cpus} CPUs when it started")
    spreads = [(s["base_spread"], s["title"]) for s in summaries if s.get("base_spread") is not None]
    if spreads and max(spreads)[0] > max_spread:
        worst, title = max(spreads)
        reasons.append(f"baseline repetitions spread up to {worst:.0%} ({title})")
    if not reasons:
        return None
    return ("**Noisy run**: " + " and ".join(reasons) + ". Ratios from this run can be off by that much; "
            "run `make bench` again on an otherwise idle machine before reading them against the targets.")


# ---------------------------------------------------------------------------------------------
# Rendering


def fmt(value, spec=".2f", none="-"):
    return none if value is None else format(value, spec)


def latency_cell(summary, kind, pct):
    scheme = summary.get(f"{kind}_scheme_{pct}")
    base = summary.get(f"{kind}_baseline_{pct}")
    if scheme is None:
        return "-"
    return f"{scheme:.0f} ({fmt(base, '.0f')})"


def data_plane_rows(summaries):
    header = ["scheme", "Gbit/s", "bare path Gbit/s", "ratio", "target", "spread bare / scheme", "host to host Gbit/s",
              "ratio to host to host", "ICMP p50 µs", "ICMP p99 µs", "TCP p50 µs", "TCP p99 µs", "retr.", "MTU", "verdict"]
    rows = []
    for s in summaries:
        mtu = s.get("mtu") or {}
        retr = s.get("retransmits_scheme")
        spreads = "-" if s.get("bare_spread") is None else f"{fmt(s.get('bare_spread'), '.0%')} / {fmt(s.get('scheme_spread'), '.0%')}"
        rows.append([s["title"], fmt(s.get("scheme_gbps")), fmt(s.get("bare_gbps")), fmt(s.get("ratio")),
                     "≥ " + fmt(s.get("target")) if s.get("target") is not None else "-", spreads,
                     fmt(s.get("base_gbps")), fmt(s.get("host_ratio")),
                     latency_cell(s, "icmp", "p50"), latency_cell(s, "icmp", "p99"),
                     latency_cell(s, "tcp", "p50"), latency_cell(s, "tcp", "p99"),
                     fmt(retr, ".0f"), f"{mtu.get('scheme', '-')} ({mtu.get('baseline', '-')})", s["verdict"]])
    return header, rows


def markdown_table(header, rows):
    """A GitHub markdown table; `|` inside cells is escaped."""
    def cell(value):
        return str(value).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(" --- " for _h in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header, rows):
    """A plain aligned table for the terminal."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def restarts_cell(per_host):
    if not per_host:
        return "-"
    return " ".join(f"{h}:{n}" for h, n in per_host.items())


def control_plane_rows(runs):
    """Rows of the control-plane table from converge records:
    {"title", "hosts", "first": {"seconds", "changed", "restarts", "failed"}, "rerun": {...}, "cloud": {...}}."""
    header = ["scheme (hosts)", "first converge s", "changed", "dockerd restarts", "rerun s", "rerun changed",
              "rerun restarts", "cloud writes first / rerun", "rerun target"]
    rows = []
    for run in runs:
        first, rerun, cloud = run.get("first") or {}, run.get("rerun") or {}, run.get("cloud")
        writes = "-"
        if cloud:
            writes = f"{len(cloud['first']['writes'])} / {len(cloud['rerun']['writes'])}"
        rows.append([f"{run['title']} ({run.get('hosts', '-')})", fmt(first.get("seconds"), ".1f"),
                     fmt(first.get("changed"), "d"), restarts_cell(first.get("restarts")),
                     fmt(rerun.get("seconds"), ".1f"), fmt(rerun.get("changed"), "d"),
                     restarts_cell(rerun.get("restarts")), writes, rerun_verdict(run)])
    return header, rows


def rerun_verdict(run):
    """`met` when the rerun changed nothing, restarted no dockerd and wrote nothing to the cloud."""
    rerun = run.get("rerun") or {}
    if not rerun:
        return "no data"
    problems = ["the rerun failed"] if rerun.get("failed") else []
    if rerun.get("changed"):
        problems.append(f"{rerun['changed']} changed")
    if sum((rerun.get("restarts") or {}).values()):
        problems.append(f"{sum(rerun['restarts'].values())} restarts")
    cloud = run.get("cloud")
    if cloud and cloud["rerun"]["writes"]:
        problems.append(f"{len(cloud['rerun']['writes'])} cloud writes")
    return "met" if not problems else "not met: " + ", ".join(problems)


def render_chart(summaries, path):
    """A PNG: throughput ratio per scheme (bar, min-max of the per-repetition ratios, target line) and
    the latency the scheme adds (p50, scheme minus baseline) for ICMP and TCP. Schemes without data
    keep their place, marked `no data`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    from matplotlib.lines import Line2D  # pylint: disable=import-outside-toplevel
    from matplotlib.patches import Patch  # pylint: disable=import-outside-toplevel

    met, missed = "#2e7d32", "#c62828"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    names = [s["title"] for s in summaries]
    xs = list(range(len(summaries)))
    for x, s in zip(xs, summaries):
        if s.get("target") is not None:
            ax1.hlines(s["target"], x - 0.38, x + 0.38, colors="black", linestyles="--", linewidth=1.5)
        if s.get("ratio") is None:
            ax1.text(x, 0.05, "no data", ha="center", va="bottom", color="grey")
            continue
        ax1.bar(x, s["ratio"], color=met if s["verdict"] == "met" else missed, width=0.6,
                yerr=[[s["ratio"] - s["ratio_min"]], [s["ratio_max"] - s["ratio"]]], capsize=4)
        ax1.text(x, 0.05, f"{s['ratio']:.2f}", ha="center", va="bottom", color="white", fontweight="bold")
        if s.get("host_ratio") is not None and s.get("bare_side") == REFERENCE:
            ax1.plot([x + 0.22], [s["host_ratio"]], marker="D", color="#455a64", markersize=7, linestyle="none")
    ax1.axhline(1.0, color="grey", linewidth=0.8)
    ax1.legend([Patch(color=met), Patch(color=missed), Line2D([], [], color="black", linestyle="--", linewidth=1.5),
                Line2D([], [], marker="D", color="#455a64", linestyle="none")],
               ["target met", "not met", "target", "against host to host"], loc="upper center", ncol=4, fontsize=8)
    ax1.set_xticks(xs, names, rotation=18)
    ax1.set_xlim(-0.6, max(len(summaries), 4) - 0.4)
    ax1.set_ylim(0, max([1.35] + [s["ratio_max"] * 1.08 for s in summaries if s.get("ratio") is not None]))
    ax1.set_ylabel("throughput / bare path, same topology")
    ax1.set_title("TCP throughput, median (whiskers: min-max per repetition)", fontsize=10)

    width = 0.38
    icmp = [max(0.0, (s.get("icmp_scheme_p50") or 0) - (s.get("icmp_baseline_p50") or 0)) for s in summaries]
    tcp = [max(0.0, (s.get("tcp_scheme_p50") or 0) - (s.get("tcp_baseline_p50") or 0)) for s in summaries]
    ax2.bar([x - width / 2 for x in xs], icmp, width, label="ICMP p50", color="#1565c0")
    ax2.bar([x + width / 2 for x in xs], tcp, width, label="TCP request/response p50", color="#ef6c00")
    ax2.set_xticks(xs, names, rotation=18)
    ax2.set_xlim(-0.6, max(len(summaries), 4) - 0.4)
    ax2.set_ylim(0, max(icmp + tcp + [1.0]) * 1.3)
    ax2.set_ylabel("added latency vs baseline, µs")
    ax2.set_title("Latency added by the scheme", fontsize=10)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
