# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The control plane at scale on namespace lab hosts (`make bench`, issue 15); not a test.

    python benchmarks/bench_scale.py [--sizes "3 10 25"] [--prefix sc]     measure, print, save JSON
    python benchmarks/bench_scale.py --render FILE [--splice docs/benchmarks.md]

For each size N a lab of N namespace hosts is brought up (engines 20.10, 26, 28 in turn), and
playbooks/direct_route.yml (routes in the lab's Linux router namespace) runs three times:
first converge, rerun (the default verification: every pair up to 3 hosts, a ring of 2 peers
each above) and rerun with `-e direct_route_verify=false`. The verification's share of the rerun
is rerun minus rerun-without-verify, over the rerun. For each run: wall time, the peak RSS of the
ansible-playbook process tree (the sum of PSS over its processes, polled from /proc every 0.25 s) and
its largest process (RSS, wait4's ru_maxrss). For the lab: the PSS of its dockerd/containerd processes
(the processes in the lab hosts' network namespaces) after the reruns, and MemAvailable before and after
`lab.py up`. Optionally, playbooks/macvlan.yml (first converge and rerun) at the largest size.
The load average is recorded with every run: the machine may be busy. No test asserts a figure.

The pure parts (rows, verdicts, markdown, splice) are unit-tested in tests/unit/test_bench_scale.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

DEFAULT_SIZES = (3, 10)
ENGINE_CYCLE = ("20.10", "26", "28")
ALL_PAIRS_MAX = 3  # verify_all_pairs_max_hosts
RING_PEERS = 2  # verify_ring_peers
HEADING = "### Measured on namespace hosts"
PLAYBOOK = "playbooks/direct_route.yml"
MACVLAN_NETWORK = {"name": "scale_mac", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1"}


# ---------------------------------------------------------------------------------------------
# Pure parts


def parse_sizes(raw, default=DEFAULT_SIZES, low=1, high=50):
    """BENCH_SCALE_SIZES ("3 10 25", commas allowed) as sorted unique ints; "" -> default; "0"/"none" -> []."""
    raw = (raw or "").replace(",", " ").strip()
    if not raw:
        return list(default)
    if raw.lower() in ("0", "none", "off"):
        return []
    sizes = set()
    for word in raw.split():
        try:
            value = int(word)
        except ValueError:
            raise ValueError(f"BENCH_SCALE_SIZES: {word!r} is not a whole number: e.g. BENCH_SCALE_SIZES=\"3 10 25\"") from None
        if not low <= value <= high:
            raise ValueError(f"BENCH_SCALE_SIZES: {value}: use {low} to {high} hosts (lab.py's limit)")
        sizes.add(value)
    return sorted(sizes)


def engines_for(count, cycle=ENGINE_CYCLE):
    """LAB_ENGINES for `count` hosts with the engines in turn (lab.py reuses the last entry beyond the list)."""
    return " ".join(cycle[i % len(cycle)] for i in range(count))


def verify_pairs(hosts, all_pairs_max=ALL_PAIRS_MAX, ring_peers=RING_PEERS):
    """(pairs tested, all ordered pairs) of the verify role's `auto` mode."""
    total = hosts * (hosts - 1)
    if hosts <= all_pairs_max:
        return total, total
    return hosts * min(ring_peers, hosts - 1), total


def parse_proc_status(text):
    """{"name", "ppid", "rss_kb"} of /proc/<pid>/status (rss_kb 0 for kernel threads)."""
    out = {"name": "", "ppid": 0, "rss_kb": 0}
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        if key == "Name":
            out["name"] = value.strip()
        elif key == "PPid":
            out["ppid"] = int(value.split()[0])
        elif key == "VmRSS":
            out["rss_kb"] = int(value.split()[0])
    return out


def tree_pids(procs, root):
    """`root` and all its descendants in {pid: parse_proc_status()} (a set of pids)."""
    children = {}
    for pid, info in procs.items():
        children.setdefault(info["ppid"], []).append(pid)
    todo, seen = [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in procs:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, []))
    return seen


def tree_rss_kb(procs, root):
    """Sum of rss_kb of `root` and all its descendants in {pid: parse_proc_status()}."""
    return sum(procs[pid]["rss_kb"] for pid in tree_pids(procs, root))


def parse_pss_kb(smaps_rollup_text):
    """Pss (kB) of /proc/<pid>/smaps_rollup: the process's share of its pages (shared pages divided among
    the processes that map them), so a sum over forked workers does not count shared pages twice."""
    for line in smaps_rollup_text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise ValueError("no Pss: line in smaps_rollup")


def slowest_tasks(doc, count=5):
    """[[task name, seconds], ...] of the `count` longest tasks of an ansible.posix.json document (each
    task's duration start to end, over all its hosts), longest first."""
    import datetime  # pylint: disable=import-outside-toplevel

    out = []
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            duration = task.get("task", {}).get("duration") or {}
            try:
                start = datetime.datetime.fromisoformat(duration["start"].replace("Z", "+00:00"))
                end = datetime.datetime.fromisoformat(duration["end"].replace("Z", "+00:00"))
            except (KeyError, ValueError, AttributeError):
                continue
            out.append([task["task"].get("name", "?"), round((end - start).total_seconds(), 1)])
    return sorted(out, key=lambda t: -t[1])[:count]


def parse_meminfo(text):
    """{key: kB} of /proc/meminfo."""
    out = {}
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        if value.split():
            out[key] = int(value.split()[0])
    return out


def derive(entry):
    """Add the verify seconds and share to one size's entry (rerun minus rerun without verify)."""
    rerun = (entry.get("rerun") or {}).get("seconds")
    quiet = (entry.get("rerun_noverify") or {}).get("seconds")
    if rerun and quiet is not None:
        entry["verify_s"] = round(max(0.0, rerun - quiet), 1)
        entry["verify_share"] = round(entry["verify_s"] / rerun, 3)
    return entry


def _mb(kb):
    return None if kb is None else kb / 1024


def _cell(value, spec=".1f"):
    return "-" if value is None else format(value, spec)


def _peak_mb(entry):
    peaks = [(entry.get(p) or {}).get("tree_peak_kb") for p in ("first", "rerun", "rerun_noverify")]
    peaks = [p for p in peaks if p is not None]
    return _mb(max(peaks)) if peaks else None


def _load(entry):
    loads = [(entry.get(p) or {}).get("load") for p in ("first", "rerun", "rerun_noverify")]
    loads = [f"{lo[0]:.1f}" for lo in loads if lo]
    return " / ".join(loads) or "-"


def rows(entries):
    """Header and rows of the scale table, one row per size."""
    header = ["hosts", "verify pairs", "lab up s", "first converge s", "rerun s", "rerun without verify s",
              "verify share", "ansible-playbook peak MB (largest process)", "lab MB (MemAvailable drop)",
              "load avg 1 min (first / rerun / without verify)"]
    out = []
    for e in entries:
        tested, total = verify_pairs(e["hosts"])
        pairs = f"{tested}" if tested == total else f"{tested} of {total} (ring)"
        if e.get("error") and not (e.get("rerun") or {}).get("seconds"):
            out.append([str(e["hosts"]), pairs, _cell(e.get("lab_up_s")), "error", "-", "-", "-", "-", "-", _load(e)])
            continue
        largest = max([(e.get(p) or {}).get("maxrss_kb") or 0 for p in ("first", "rerun", "rerun_noverify")])
        lab_mem = e.get("lab_rss_kb")
        drop = e.get("mem_available_drop_kb")
        out.append([
            str(e["hosts"]), pairs, _cell(e.get("lab_up_s")),
            _cell((e.get("first") or {}).get("seconds")), _cell((e.get("rerun") or {}).get("seconds")),
            _cell((e.get("rerun_noverify") or {}).get("seconds")),
            "-" if e.get("verify_share") is None else f"{e['verify_s']:.1f} s ({e['verify_share']:.0%})",
            f"{_cell(_peak_mb(e), '.0f')} ({_cell(_mb(largest), '.0f')})",
            f"{_cell(_mb(lab_mem), '.0f')} ({_cell(_mb(drop), '.0f')})",
            _load(e)])
    return header, out


def verdicts(entries):
    """The issue's two targets against the measured entries: [(target, met: True/False/None, why)]."""
    done = [e for e in entries if (e.get("rerun") or {}).get("seconds") and not e.get("error")]
    out = []
    small = min(done, key=lambda e: e["hosts"]) if done else None
    big = max(done, key=lambda e: e["hosts"]) if done else None
    target = "the default rerun grows at most linearly with hosts (N hosts: at most N/3 × the 3-host rerun)"
    if not small or small is big:
        out.append((target, None, "needs two sizes"))
    else:
        parts, met = [], True
        for e in sorted(done, key=lambda e: e["hosts"]):
            if e is small:
                continue
            allowed = e["hosts"] / small["hosts"]
            factor = e["rerun"]["seconds"] / small["rerun"]["seconds"]
            met = met and factor <= allowed
            parts.append(f"{e['hosts']} hosts {e['rerun']['seconds']:.1f} s = {factor:.1f} × (allowed {allowed:.1f} ×)")
        out.append((target, met, f"against the {small['hosts']}-host rerun ({small['rerun']['seconds']:.1f} s): "
                    + ", ".join(parts)))
    shares = [e for e in done if e.get("verify_share") is not None]
    target = "verification is under half of the run at any size"
    if not shares:
        out.append((target, None, "no rerun without verify measured"))
    else:
        worst = max(shares, key=lambda e: e["verify_share"])
        out.append((target, all(e["verify_share"] < 0.5 for e in shares),
                    "shares " + ", ".join(f"{e['hosts']} hosts {e['verify_share']:.1%}" for e in shares)
                    + f"; largest at {worst['hosts']} hosts"))
    return out


def markdown_table(header, body):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _column in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return lines


def measured_text(scale, entries):
    """The run's date, and the dates of sizes kept from an earlier run (`--merge`)."""
    date = scale.get("date", "?")
    older = [f"{e['hosts']} hosts: {e['date']}" for e in entries if e.get("date") and e["date"] != date]
    return date + (f" ({'; '.join(older)})" if older else "")


def section(scale, chart="img/scale.png"):
    """The docs/benchmarks.md subsection (under "Control plane at scale") of a measure() document."""
    entries = [derive(dict(e)) for e in scale.get("sizes", [])]
    lines = [HEADING, ""]
    if not entries:
        return lines + ["Not measured in this run (`BENCH_SCALE_SIZES=0`)."]
    lines += [
        f"`{PLAYBOOK}` (routes in the lab's Linux router namespace) on labs of N namespace hosts, engines "
        f"{', '.join(ENGINE_CYCLE)} in turn, default forks, measured {measured_text(scale, entries)}: first converge on a "
        f"fresh lab, rerun (default verification: every ordered pair up to {ALL_PAIRS_MAX} hosts, a ring of 2 peers each "
        "above) and rerun with `-e direct_route_verify=false`. Verify share: rerun minus rerun without verify, "
        "of the rerun. ansible-playbook peak: the largest sum of PSS (shared pages divided among the forked "
        "workers) over its process tree during any of the three runs, polled every 0.25 s (in brackets the RSS of "
        "its largest single process, ru_maxrss). Lab MB: PSS of the processes in the "
        "lab hosts' namespaces (dockerd, containerd) after the reruns (in brackets: the drop of MemAvailable "
        "over `lab.py up`, which also counts page cache and other work on the machine). Nothing else ran on "
        "the machine; the load average (the lab's own work) is given with each run.",
        "",
        f"![time against hosts: converge, rerun, verify]({chart})",
        ""]
    header, body = rows(entries)
    lines += markdown_table(header, body)
    lines.append("")
    for target, met, why in verdicts(entries):
        state = "met" if met else ("not measured" if met is None else "NOT met")
        lines.append(f"- **{target}**: {state}: {why}.")
    for e in entries:
        if e.get("error"):
            lines.append(f"- **{e['hosts']} hosts**: {e['error']}")
    for key, title in OTHER_TITLES.items():
        for e in entries:
            other = e.get(key)
            if not other:
                continue
            if other.get("error"):
                lines.append(f"- **{key}, {e['hosts']} hosts** ({title}): {other['error']}")
            else:
                lines.append(f"- **{key}, {e['hosts']} hosts** ({title}): "
                             f"first converge {_cell((other.get('first') or {}).get('seconds'))} s, "
                             f"rerun {_cell((other.get('rerun') or {}).get('seconds'))} s, ansible-playbook peak "
                             f"{_cell(_mb(max((other.get(p) or {}).get('tree_peak_kb') or 0 for p in ('first', 'rerun'))), '.0f')} MB"
                             + ".")
    for e in entries:
        slow = (e.get("rerun") or {}).get("slowest")
        if slow:
            lines.append(f"- **{e['hosts']} hosts, slowest tasks of the rerun**: "
                         + "; ".join(f"`{name}` {seconds:.1f} s" for name, seconds in slow))
    for note in scale.get("notes", []):
        lines.append(f"- {note}")
    return lines


def splice(document, lines):
    """`document` (markdown) with the subsection HEADING replaced by `lines` (up to the next `## ` or
    `### ` heading), or inserted before the heading after "## Control plane at scale"."""
    doc = document.split("\n")
    block = list(lines) + [""]
    if HEADING in doc:
        start = doc.index(HEADING)
        end = next((i for i in range(start + 1, len(doc)) if doc[i].startswith(("## ", "### "))), len(doc))
        return "\n".join(doc[:start] + block + doc[end:])
    anchor = "## Control plane at scale"
    if anchor not in doc:
        raise ValueError(f"no {anchor!r} section to put the scale figures in")
    start = doc.index(anchor)
    end = next((i for i in range(start + 1, len(doc)) if doc[i].startswith("## ")), len(doc))
    return "\n".join(doc[:end] + block + doc[end:])


def text(scale):
    """Terminal summary."""
    entries = [derive(dict(e)) for e in scale.get("sizes", [])]
    header, body = rows(entries)
    widths = [max(len(c) for c in col) for col in zip(header, *body)]
    out = ["control plane at scale (direct_route.yml)"]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + body]
    out += [f"  {t}: {'met' if m else ('-' if m is None else 'NOT met')}: {w}" for t, m, w in verdicts(entries)]
    return "\n".join(out)


def render_chart(scale, path):
    """PNG: seconds against hosts for first converge, rerun, rerun without verify and verify alone, with
    the linear bound N/3 × the smallest size's rerun."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    entries = [derive(dict(e)) for e in scale.get("sizes", []) if (e.get("rerun") or {}).get("seconds")]
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    if entries:
        xs = [e["hosts"] for e in entries]
        for key, label, style in (("first", "first converge", "o-"), ("rerun", "rerun (default verify)", "s-"),
                                  ("rerun_noverify", "rerun without verify", "^-")):
            ys = [(e.get(key) or {}).get("seconds") for e in entries]
            ax.plot(xs, ys, style, label=label)
        ax.plot(xs, [e.get("verify_s") for e in entries], "d--", label="verify (rerun minus rerun without verify)")
        for key, style in (("swarm", "x-."), ("macvlan", "+-.")):
            points = [(e["hosts"], (e.get(key) or {}).get(phase, {}).get("seconds"), phase) for e in entries
                      for phase in ("first", "rerun") if not (e.get(key) or {}).get("error")]
            for phase in ("first", "rerun"):
                got = [(x, y) for x, y, p in points if p == phase and y is not None]
                if len(got) > 1:
                    ax.plot([x for x, _y in got], [y for _x, y in got], style, label=f"{key}: {phase}")
        small = entries[0]
        ax.plot([small["hosts"], xs[-1]], [small["rerun"]["seconds"], small["rerun"]["seconds"] * xs[-1] / small["hosts"]],
                ":", color="grey", label="linear bound (N/%d × %d-host rerun)" % (small["hosts"], small["hosts"]))
        ax.set_xticks(xs)
    ax.set_xlabel("hosts (namespace lab)")
    ax.set_ylabel("seconds (wall)")
    ax.set_title("playbooks against hosts (direct_route.yml unless named; see the load average)", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Measurement (root, lab)


def _bench():
    """benchmarks/bench.py as loaded (its __main__ when `make bench` runs it), else imported."""
    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "Lab") and hasattr(main, "failures"):
        return main
    import bench  # pylint: disable=import-outside-toplevel

    return bench


def snapshot():
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                procs[int(name)] = parse_proc_status(f.read())
        except (OSError, ValueError):
            continue
    return procs


def mem_available_kb():
    with open("/proc/meminfo") as f:
        return parse_meminfo(f.read()).get("MemAvailable")


def pss_kb(pids):
    """Sum of the PSS of `pids` (those that are gone count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += parse_pss_kb(f.read())
        except (OSError, ValueError):
            continue
    return total


def lab_rss_kb(lab):
    """PSS of every process in the lab's namespaces (hosts and router): their dockerd, containerd, shims."""
    nets = set()
    for pid in [lab.pid(h) for h in lab.hosts] + [lab.pid("rt")]:
        try:
            nets.add(os.readlink(f"/proc/{pid}/ns/net"))
        except OSError:
            pass
    pids = []
    for pid in snapshot():
        try:
            if os.readlink(f"/proc/{pid}/ns/net") in nets:
                pids.append(pid)
        except OSError:
            continue
    return pss_kb(pids)


def run_playbook(lab, playbook, extra_vars, timeout=1800):
    """ansible-playbook (as bench.Lab.playbook, json callback) with its memory watched; returns
    {"seconds", "rc", "failed", "error", "tree_peak_kb", "maxrss_kb", "load"}."""
    import subprocess  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel

    from labclient import collections_path  # pylint: disable=import-outside-toplevel

    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=lab.dir, delete=False) as f:
        json.dump(extra_vars, f)
        vars_file = f.name
    env = dict(lab.env)
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", lab.inventory,
           os.path.join(REPO, playbook), "-e", "@" + vars_file]
    out_path, err_path = vars_file + ".out", vars_file + ".err"
    load = os.getloadavg()
    peak = 0
    start = time.perf_counter()
    with open(out_path, "w+") as out, open(err_path, "w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO, stdin=subprocess.DEVNULL)
        rusage = None
        try:
            while True:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                if time.perf_counter() - start > timeout:
                    proc.kill()
                    continue
                peak = max(peak, pss_kb(tree_pids(snapshot(), proc.pid)))
                time.sleep(0.25)
        finally:
            if proc.returncode is None:  # interrupted: end the playbook this harness started, by its PID
                proc.kill()
                proc.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        stdout = out.read()
        err.seek(0)
        stderr = err.read()
    for path in (vars_file, out_path, err_path):
        os.unlink(path)
    result = {"seconds": round(seconds, 1), "rc": proc.returncode, "tree_peak_kb": peak,
              "maxrss_kb": rusage.ru_maxrss if rusage else None, "load": [round(v, 2) for v in load]}
    try:
        doc = json.loads(stdout[stdout.index("{"):])
        stats = doc.get("stats", {})
        result["slowest"] = slowest_tasks(doc)
        result["changed"] = sum(int(h.get("changed", 0)) for h in stats.values())
        result["failed"] = sum(int(h.get("failures", 0)) + int(h.get("unreachable", 0)) for h in stats.values())
        if result["failed"] or proc.returncode:
            result["error"] = " | ".join(_bench().failures(doc)[:3]) or f"rc {proc.returncode}"
    except ValueError:
        result["failed"] = 1
        result["error"] = f"no JSON from ansible-playbook (rc {proc.returncode}): {(stdout + stderr)[-800:]}"
    return result


# The other schemes measured on the same lab after direct_route: (key, playbook, extra vars).
OTHER_SCHEMES = (
    ("macvlan", "playbooks/macvlan.yml", {"macvlan_networks": [MACVLAN_NETWORK], "macvlan_verify_image": "{{ lab_image }}"}),
    ("swarm", "playbooks/overlay.yml", {"overlay_backend": "swarm", "overlay_networks": [{"name": "scale_ov", "subnet": "10.30.0.0/24"}],
                                        "overlay_verify_image": "{{ lab_image }}"}),
)
OTHER_TITLES = {"macvlan": "macvlan (`playbooks/macvlan.yml`, one network on eth1, default verification)",
                "swarm": "swarm overlay (`playbooks/overlay.yml`, `overlay_backend=swarm`, one network, default verification)"}


def measure_size(hosts, prefix, macvlan=False, swarm=False, log=print):
    lab = _bench().Lab(f"{prefix}{hosts}", hosts=hosts, engines=engines_for(hosts))
    entry = {"hosts": hosts, "engines": lab.env["LAB_ENGINES"]}
    try:
        lab.down()
        before = mem_available_kb()
        t0 = time.perf_counter()
        lab.up()
        entry["lab_up_s"] = round(time.perf_counter() - t0, 1)
        entry["mem_available_drop_kb"] = before - mem_available_kb()
        entry["lab_rss_up_kb"] = lab_rss_kb(lab)
        phases = (("first", {}), ("rerun", {}), ("rerun_noverify", {"direct_route_verify": False}))
        for phase, extra in phases:
            log(f"scale {hosts} hosts: {PLAYBOOK} ({phase})")
            res = run_playbook(lab, PLAYBOOK, extra)
            entry[phase] = res
            log(f"scale {hosts} hosts: {phase} {res['seconds']} s, changed {res.get('changed')}, "
                f"peak {res['tree_peak_kb'] // 1024} MB, load {res['load'][0]}")
            if res.get("error"):
                entry["error"] = f"{PLAYBOOK} failed ({phase}): {res['error']}"
                break
        entry["lab_rss_kb"] = lab_rss_kb(lab)
        for key, playbook, variables in OTHER_SCHEMES:
            if entry.get("error") or not {"macvlan": macvlan, "swarm": swarm}[key]:
                continue
            other = entry[key] = {}
            for phase in ("first", "rerun"):
                log(f"scale {hosts} hosts: {playbook} ({phase})")
                res = run_playbook(lab, playbook, variables)
                other[phase] = res
                log(f"scale {hosts} hosts: {key} {phase} {res['seconds']} s")
                if res.get("error"):
                    other["error"] = f"{playbook} failed ({phase}): {res['error']}"
                    break
    except Exception as e:  # pylint: disable=broad-except  # reported in the table, the next size still runs
        entry["error"] = f"{type(e).__name__}: {str(e)[-1500:]}"
    finally:
        try:
            lab.down()
        except Exception as e:  # pylint: disable=broad-except
            entry.setdefault("error", f"lab down: {e}")
    return derive(entry)


def measure(sizes, prefix, macvlan=False, swarm=False, log=print, deadline=None, save=None):
    """One entry per size (smallest first); sizes not started before `deadline` (time.time()) are noted."""
    import datetime  # pylint: disable=import-outside-toplevel

    scale = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "sizes": [], "notes": []}
    for hosts in sizes:
        if deadline and time.time() > deadline:
            scale["notes"].append(f"{hosts} hosts: not run (out of the time set for this run)")
            continue
        scale["sizes"].append(measure_size(hosts, prefix, macvlan=macvlan and hosts == max(sizes), swarm=swarm, log=log))
        if save:
            save(scale)
    return scale


def _terminate(_signum, _frame):
    raise SystemExit(143)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SCALE_SIZES", ""))
    parser.add_argument("--prefix", default=os.environ.get("BENCH_SCALE_PREFIX", "benchs"))
    parser.add_argument("--macvlan", action="store_true", help="also playbooks/macvlan.yml at the largest size")
    parser.add_argument("--swarm", action="store_true", help="also playbooks/overlay.yml (swarm) at every size")
    parser.add_argument("--merge", action="store_true", help="keep the sizes of --out that this run does not measure")
    parser.add_argument("--out", default=os.path.join(REPO, ".cache", "bench", "scale.json"))
    parser.add_argument("--render", metavar="SCALE_JSON", help="only render a saved document")
    parser.add_argument("--splice", metavar="MARKDOWN", help="put the section into this file (and the chart in img/scale.png next to it)")
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            scale = json.load(f)
    else:
        if os.geteuid() != 0:
            raise SystemExit("bench_scale: must run as root (the lab creates network namespaces)")
        sys.path.insert(0, HERE)
        sys.path.insert(0, os.path.join(REPO, "lab"))
        signal.signal(signal.SIGTERM, _terminate)  # unwind: the playbook is ended, the lab brought down

        sizes = parse_sizes(args.sizes)
        kept = []
        if args.merge and os.path.exists(args.out):
            with open(args.out) as f:
                earlier = json.load(f)
            kept = [dict(e, date=e.get("date") or earlier.get("date")) for e in earlier.get("sizes", []) if e["hosts"] not in sizes]

        def save(scale):
            merged = dict(scale, sizes=sorted(scale["sizes"] + kept, key=lambda e: e["hosts"]))
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(merged, f, indent=1)
            return merged

        scale = measure(sizes, args.prefix, macvlan=args.macvlan, swarm=args.swarm,
                        log=lambda m: print(f"bench: {m}", file=sys.stderr, flush=True), save=save)
        scale = save(scale)
    print(text(scale))
    if args.splice:
        with open(args.splice) as f:
            document = f.read()
        with open(args.splice, "w") as f:
            f.write(splice(document, section(scale)))
        render_chart(scale, os.path.join(os.path.dirname(args.splice), "img", "scale.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
