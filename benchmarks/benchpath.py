# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parts of `make bench`'s data-path analysis (benchmarks/bench.py): CPU cost per gigabyte from
/proc/stat, the fast-path variants against Docker's default path, and a kernel profile grouped by
subsystem. No lab and no root here; unit-tested in tests/unit/test_bench_path.py.

A scheme result (see benchlib) may carry, next to its throughput lists:

    "cpu_cost":  {side: [{"cpu_s_per_gb", "softirq_share", "system_share", "user_share"}, ...]}  one per run
    "variants":  {name: description}   extra sides: the scheme's pair with one fast-path setting switched on
    "profile":   {side: [[percent, symbol], ...]}   `perf report --sort sym` of one extra run per side
"""

from __future__ import annotations

import re

from benchlib import REFERENCE, fmt, iqr_spread, markdown_table, median, spread, text_table

STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def parse_proc_stat(text):
    """The machine-wide `cpu` line of /proc/stat as {field: ticks} (user ... steal)."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            values = [int(v) for v in parts[1:1 + len(STAT_FIELDS)]]
            if len(values) < len(STAT_FIELDS):
                raise ValueError(f"/proc/stat cpu line has {len(values)} fields, expected {len(STAT_FIELDS)}")
            return dict(zip(STAT_FIELDS, values))
    raise ValueError("no `cpu` line in /proc/stat")


def busy_ticks(stat):
    """Ticks the CPUs did work: user, nice, system, irq and softirq. Idle, iowait and steal (time the
    hypervisor gave to somebody else) are not work of this machine."""
    return stat["user"] + stat["nice"] + stat["system"] + stat["irq"] + stat["softirq"]


def cpu_cost(before, after, bytes_moved, hz=100):
    """CPU seconds per gigabyte (1e9 bytes) moved between two parse_proc_stat() snapshots, and where the
    time went. The whole machine is counted: on a quiet machine that is the sender, the receiver and the
    kernel's forwarding between them (softirq), wherever the scheduler put it."""
    busy = busy_ticks(after) - busy_ticks(before)
    if bytes_moved <= 0 or busy < 0:
        raise ValueError(f"cannot price {bytes_moved} bytes with {busy} busy ticks")
    share = {k: ((after[k] - before[k]) / busy if busy else 0.0) for k in ("softirq", "system", "user")}
    return {"cpu_s_per_gb": busy / hz / (bytes_moved / 1e9), "softirq_share": share["softirq"],
            "system_share": share["system"], "user_share": share["user"]}


# ---------------------------------------------------------------------------------------------
# Profile

_PERF_LINE = re.compile(r"^\s*([0-9.]+)%\s+\[([.k])\]\s+(\S.*?)\s*$")

IDLE = ("pv_native_safe_halt", "default_idle", "native_safe_halt", "cpu_idle", "do_idle", "intel_idle", "acpi_idle",
        "poll_idle", "mwait_idle", "arch_cpu_idle", "cpuidle_enter")

# Where perf's cpu-clock samples land for work done with interrupts or bottom halves off: on a guest
# without a PMU the sampling timer is an ordinary interrupt, so such work (much of softirq packet
# processing) is counted at the point that turns interrupts back on. Kept as a group of its own.
SKID = ("_raw_spin_unlock_irqrestore", "_raw_spin_unlock_irq", "_raw_spin_unlock_bh", "handle_softirqs", "__do_softirq",
        "do_softirq", "__local_bh_enable_ip", "local_bh_enable", "irq_exit_rcu", "__irq_exit_rcu", "finish_task_switch")

# (group, symbol prefixes), first match wins; everything else is `other`.
GROUPS = (
    ("irqs-off work (skid)", SKID),
    ("conntrack", ("nf_conntrack", "__nf_conntrack", "nf_ct_", "__nf_ct_", "ipv4_conntrack", "nf_nat", "hash_conntrack")),
    ("iptables/netfilter", ("ipt_", "ip6t_", "nft_", "nf_", "__nf_", "xt_", "iptable_", "ebt_", "br_nf_", "nf_hook")),
    ("bridge", ("br_", "__br_")),
    ("veth", ("veth_",)),
    ("vxlan/udp", ("vxlan", "udp", "__udp", "gro_cell", "iptunnel", "ip_tunnel")),
    ("routing/IP", ("fib", "ip_", "__ip_", "ipv4_", "dst_", "rt_", "inet_", "raw_")),
    ("TCP", ("tcp", "__tcp", "sk_", "__sk_", "sock_", "release_sock", "lock_sock")),
    ("copy/checksum", ("copy_", "_copy_", "__copy", "rep_movs", "memcpy", "memmove", "csum", "skb_copy", "clear_page",
                       "rep_stos")),
    ("skb/device core", ("skb_", "__skb", "kfree_skb", "consume_skb", "__alloc_skb", "alloc_skb", "netif_", "__netif",
                         "napi_", "__napi", "net_rx", "dev_", "__dev", "process_backlog", "gro_", "dev_gro", "validate_xmit",
                         "sch_direct", "__qdisc", "pfifo", "eth_type_trans", "__build_skb", "build_skb", "page_pool",
                         "kmem_cache", "__kmalloc", "kmalloc", "kfree", "__kfree", "__slab", "slab_", "___slab",
                         "__page_frag", "page_frag")),
    ("scheduler/syscalls", ("__schedule", "schedule", "finish_task_switch", "_raw_spin", "raw_spin", "entry_SYSCALL",
                            "syscall", "do_syscall", "__x64_sys", "x64_sys", "native_", "__sched", "try_to_wake_up",
                            "ttwu", "enqueue", "dequeue", "pick_next", "update_", "__update", "irqentry", "asm_",
                            "__softirq", "handle_softirqs", "__do_softirq", "do_softirq", "irq_exit", "__irq_exit",
                            "rcu_", "__rcu", "__local_bh", "local_bh", "__cond_resched", "_cond_resched", "hrtimer",
                            "ktime_", "read_tsc", "lapic", "__sysvec", "sysvec")),
)


def parse_perf_report(text):
    """[(percent, symbol, user)] of `perf report --stdio --no-children --sort sym` (user: a `[.]` line)."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _PERF_LINE.match(line)
        if match:
            out.append((float(match.group(1)), match.group(3), match.group(2) == "."))
    return out


def group_of(symbol, user=False):
    if symbol.startswith(IDLE):
        return "idle"
    if user:
        return "user space"
    for group, prefixes in GROUPS:
        if symbol.startswith(prefixes):
            return group
    return "other"


def profile_groups(entries):
    """{group: share of the busy samples}, largest first, idle left out (a share of the work, not of the
    wall time). Entries are parse_perf_report() tuples or [percent, symbol, user] lists from JSON."""
    totals = {}
    for pct, symbol, user in entries:
        group = group_of(symbol, user)
        if group != "idle":
            totals[group] = totals.get(group, 0.0) + pct
    busy = sum(totals.values())
    if not busy:
        return {}
    return dict(sorted(((g, v / busy) for g, v in totals.items()), key=lambda kv: (-kv[1], kv[0])))


# ---------------------------------------------------------------------------------------------
# Summary


def profile_cost(groups, cpu_s_per_gb):
    """{group: CPU milliseconds per GB}: a profile's busy shares priced with the side's CPU cost."""
    return {g: share * cpu_s_per_gb * 1000 for g, share in groups.items()}


def profile_delta(scheme, bare):
    """{group: ms per GB the scheme spends more (or less) than the bare path}, largest increase first;
    both arguments are profile_cost() results."""
    delta = {g: scheme.get(g, 0.0) - bare.get(g, 0.0) for g in set(scheme) | set(bare)}
    return dict(sorted(delta.items(), key=lambda kv: (-kv[1], kv[0])))


def side_figures(result, side):
    """Throughput and CPU cost figures of one side of a result, or None when it has no runs."""
    thr = (result.get("throughput_bps") or {}).get(side) or []
    if not thr:
        return None
    out = {"gbps": median(thr) / 1e9, "spread": spread(thr), "iqr_spread": iqr_spread(thr), "runs": len(thr)}
    costs = [c for c in ((result.get("cpu_cost") or {}).get(side) or []) if c]
    if costs:
        per_gb = [c["cpu_s_per_gb"] for c in costs]
        out.update(cpu_s_per_gb=median(per_gb), cpu_spread=spread(per_gb), cpu_iqr_spread=iqr_spread(per_gb),
                   softirq_share=median([c["softirq_share"] for c in costs]))
    return out


def summarize_path(result):
    """Per side (baseline, bare path, scheme, each variant): throughput, spread and CPU cost; per variant
    its gain over the scheme's default path (median of the per-repetition ratios, each variant run
    against the default run of the same repetition), and whether that gain is larger than the spread
    of the default path's own repetitions."""
    thr = result.get("throughput_bps") or {}
    sides = {}
    for side in ("baseline", REFERENCE, "scheme", *(result.get("variants") or {})):
        figures = side_figures(result, side)
        if figures:
            sides[side] = figures
    variants = {}
    default = thr.get("scheme") or []
    for name, description in (result.get("variants") or {}).items():
        runs = thr.get(name) or []
        if not runs or not default:
            continue
        pairs = [v / d for v, d in zip(runs, default) if d]
        gain = median(pairs) - 1
        noise = sides["scheme"]["spread"] or 0.0
        cpu = None
        if sides.get(name, {}).get("cpu_s_per_gb") and sides["scheme"].get("cpu_s_per_gb"):
            cpu = sides[name]["cpu_s_per_gb"] / sides["scheme"]["cpu_s_per_gb"] - 1
        variants[name] = {"description": description, "gain": gain, "pair_min": min(pairs) - 1,
                          "pair_max": max(pairs) - 1, "noise": noise, "cpu_change": cpu,
                          "beyond_noise": gain > noise, "consistent": min(pairs) > 1 or max(pairs) < 1}
    profile = {side: profile_groups(entries) for side, entries in (result.get("profile") or {}).items() if entries}
    return {"key": result.get("key"), "title": result.get("title"), "sides": sides, "variants": variants,
            "profile": profile}


SIDE_NAMES = {"baseline": "host to host", REFERENCE: "bare path", "scheme": "scheme (Docker's default path)"}


def side_rows(paths):
    header = ["scheme", "side", "Gbit/s", "spread (max-min)", "spread (middle half)", "CPU s per GB", "CPU spread",
              "softirq share"]
    rows = []
    for path in paths:
        for side, f in path["sides"].items():
            rows.append([path["title"], SIDE_NAMES.get(side, side), fmt(f["gbps"]), fmt(f["spread"], ".0%"),
                         fmt(f["iqr_spread"], ".0%"), fmt(f.get("cpu_s_per_gb"), ".3f"), fmt(f.get("cpu_spread"), ".0%"),
                         fmt(f.get("softirq_share"), ".0%")])
    return header, rows


def variant_rows(paths):
    header = ["scheme", "fast-path setting", "throughput vs default", "per-repetition range", "default path spread",
              "CPU per GB vs default", "beyond the spread"]
    rows = []
    for path in paths:
        for name, v in path["variants"].items():
            rows.append([path["title"], name, f"{v['gain']:+.1%}", f"{v['pair_min']:+.0%} … {v['pair_max']:+.0%}",
                         fmt(v["noise"], ".0%"), "-" if v["cpu_change"] is None else f"{v['cpu_change']:+.1%}",
                         "yes" if v["beyond_noise"] else "no"])
    return header, rows


def profile_line(groups, top=6):
    return ", ".join(f"{g} {share:.0%}" for g, share in list(groups.items())[:top])


def variant_verdict(paths):
    """What the fast-path comparison shows, in one sentence per variant."""
    out = []
    for path in paths:
        for name, v in path["variants"].items():
            if v["beyond_noise"] and v["consistent"]:
                word = "beats Docker's default path by more than the spread in every repetition"
            elif v["beyond_noise"]:
                word = "beats Docker's default path by more than the spread, but not in every repetition"
            elif v["gain"] > 0:
                word = "is within the spread of Docker's default path (no measurable gain)"
            else:
                word = "is no faster than Docker's default path"
            out.append(f"- **{name}** ({v['description']}): {v['gain']:+.1%} throughput, "
                       + ("" if v["cpu_change"] is None else f"{v['cpu_change']:+.1%} CPU per GB, ") + word + ".")
    return out


def section(results):
    """Markdown lines: CPU cost and spread per side, the fast-path variants, the profiles."""
    paths = [summarize_path(r) for r in results if r.get("throughput_bps")]
    if not paths:
        return []
    header, rows = side_rows(paths)
    lines = ["## CPU cost and spread", "",
             "CPU seconds per gigabyte moved: the machine's busy time (user, system, irq, softirq; not idle, "
             "iowait or steal) from `/proc/stat` around each iperf3 client, divided by the bytes the receiver got; "
             "median over the repetitions. On an otherwise idle machine that is the sender, the receiver and the "
             "kernel's forwarding between them. Spreads: (max − min) / median over the repetitions, and "
             "(p75 − p25) / median (the middle half, which one outlier cannot move).", "",
             markdown_table(header, rows), ""]
    vheader, vrows = variant_rows(paths)
    if vrows:
        lines += ["## Fast path", "",
                  "Each setting is switched on for its own side only, before each of its runs, and back after it; "
                  "the sides are interleaved with Docker's default path in the same run. `throughput vs default`: "
                  "median of the per-repetition ratios (each run against the default run of the same repetition). "
                  "A setting counts only if it beats the default by more than the default path's own spread.", "",
                  markdown_table(vheader, vrows), ""]
        lines += variant_verdict(paths) + [""]
    profiled = [p for p in paths if p["profile"]]
    if profiled:
        lines += ["## Where the CPU goes", "",
                  "`perf record -a -e cpu-clock` during one extra iperf3 run per side, `perf report --sort sym`, "
                  "symbols grouped by kernel subsystem (benchmarks/benchpath.py). Each share of the busy samples is "
                  "priced with the side's CPU seconds per GB, so sides compare in milliseconds per GB. This machine is "
                  "a guest without a hardware PMU: the sampling timer is an ordinary interrupt, and work done with "
                  "interrupts or bottom halves off (much of softirq packet processing) is counted where they are "
                  "turned on again: the `irqs-off work (skid)` group.", ""]
        for path in profiled:
            costs = {}
            for side, groups in path["profile"].items():
                per_gb = path["sides"].get(side, {}).get("cpu_s_per_gb")
                if per_gb:
                    costs[side] = profile_cost(groups, per_gb)
                    shown = ", ".join(f"{g} {ms:.0f}" for g, ms in list(costs[side].items())[:7])
                    lines.append(f"- {path['title']}, {SIDE_NAMES.get(side, side)} ({per_gb * 1000:.0f} ms/GB): {shown}")
                else:
                    lines.append(f"- {path['title']}, {SIDE_NAMES.get(side, side)}: {profile_line(groups)}")
            bare = REFERENCE if REFERENCE in costs else "baseline"
            if "scheme" in costs and bare in costs:
                delta = profile_delta(costs["scheme"], costs[bare])
                more = [f"{g} {ms:+.0f}" for g, ms in delta.items() if abs(ms) >= 5]
                lines.append(f"  - {path['title']}: the scheme costs {sum(delta.values()):+.0f} ms/GB against the "
                             f"{SIDE_NAMES[bare]}: " + (", ".join(more) or "no group differs by 5 ms/GB or more"))
        lines.append("")
    return lines


def text(results):
    paths = [summarize_path(r) for r in results if r.get("throughput_bps")]
    out = ["cpu cost and spread", text_table(*side_rows(paths))]
    vheader, vrows = variant_rows(paths)
    if vrows:
        out += ["", "fast path", text_table(vheader, vrows)]
    return "\n".join(out)
