# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, rendering: the ratio tables (markdown and terminal), the control-plane table, the
chart (a real PNG through matplotlib's Agg backend) and the whole report from a saved results document."""
from __future__ import annotations

import os

from ansible_collections.crosshost.docker.tests.unit import helpers

benchlib = helpers.load_script("crosshost_benchlib", "benchmarks", "benchlib.py")


def scheme(key, title, target, base, got, **extra):
    r = {"key": key, "title": title, "target": target,
         "throughput_bps": {"baseline": [b * 1e9 for b in base], "scheme": [g * 1e9 for g in got]},
         "retransmits": {"baseline": [0] * len(base), "scheme": [4] * len(got)},
         "cpu": {"baseline": [[60, 50]] * len(base), "scheme": [[99, 90]] * len(got)},
         "icmp_ms": {"baseline": [0.060, 0.070, 0.090], "scheme": [0.100, 0.110, 0.200]},
         "icmp_loss": {"baseline": 0, "scheme": 0},
         "tcp_us": {"baseline": [30.0, 32.0, 60.0], "scheme": [44.0, 46.0, 80.0]},
         "mtu": {"baseline": 1500, "scheme": 1500},
         "df_ping": {"mtu": 1500, "size": 1472, "at_mtu": True, "above_mtu_refused": True},
         "fragments": {"baseline": 0, "scheme": 0}, "lab": {"h1": "20.10.24+dfsg1", "h2": "26.1.5+dfsg1"}}
    r.update(extra)
    if r.get("reference"):  # a third side: the bare path at 0.7 of the baseline
        r["throughput_bps"]["reference"] = [b * 0.7 * 1e9 for b in base]
    return r


RESULTS = [
    scheme("direct", "direct route", 0.90, [15, 16, 14], [14, 15, 13.5]),  # no reference side
    scheme("macvlan", "macvlan", 0.95, [15, 15, 15], [12, 12, 12], note="noise"),
    scheme("swarm", "swarm overlay", 0.75, [15, 16, 14], [10, 10.5, 9], needs_no_fragments=True,
           mtu={"baseline": 1500, "scheme": 1450},
           df_ping={"mtu": 1450, "size": 1422, "at_mtu": True, "above_mtu_refused": True},
           reference="a plain VXLAN link between the hosts"),
    {"key": "kv", "title": "kv overlay (20.10)", "target": 0.75, "error": "lab.py etcd (LAB_NAME=benchk) failed"},
]

CONTROL = [
    {"title": "direct route", "hosts": 3,
     "first": {"seconds": 23.6, "changed": 13, "failed": 0, "restarts": {"h1": 1, "h2": 1, "h3": 1}},
     "rerun": {"seconds": 17.3, "changed": 0, "failed": 0, "restarts": {"h1": 0, "h2": 0, "h3": 0}}},
    {"title": "direct route, AWS route table (moto)", "hosts": 3,
     "first": {"seconds": 9.3, "changed": 1, "failed": 0, "restarts": {"h1": 0, "h2": 0, "h3": 0}},
     "rerun": {"seconds": 7.3, "changed": 0, "failed": 0, "restarts": {"h1": 0, "h2": 0, "h3": 0}},
     "cloud": {"first": {"reads": ["DescribeRouteTables"] * 4, "writes": ["ModifyInstanceAttribute"] * 3 + ["CreateRoute"] * 3,
                         "module_write_calls": 6},
               "rerun": {"reads": ["DescribeRouteTables"] * 3, "writes": [], "module_write_calls": 0}}},
    {"title": "macvlan", "hosts": 3,
     "first": {"seconds": 27.6, "changed": 3, "failed": 0, "restarts": {"h1": 0, "h2": 0, "h3": 0}},
     "rerun": {"seconds": 24.0, "changed": 3, "failed": 0, "restarts": {"h1": 0, "h2": 0, "h3": 0},
               "changed_tasks": {"crosshost.docker.macvlan : The macvlan networks": ["h1", "h2", "h3"]}}},
]


def summaries():
    return [benchlib.summarize(r) for r in RESULTS]


def test_data_plane_rows():
    header, rows = benchlib.data_plane_rows(summaries())
    assert header[:8] == ["scheme", "Gbit/s", "bare path Gbit/s", "ratio", "target", "spread bare / scheme",
                          "host to host Gbit/s", "ratio to host to host"]
    direct, macvlan, swarm, kv = rows
    # No reference side: the bare path is host to host (spread 2/15 and 1.5/14).
    assert direct[:8] == ["direct route", "14.00", "15.00", "0.93", "≥ 0.90", "13% / 11%", "15.00", "0.93"]
    assert direct[8:12] == ["110 (70)", "198 (90)", "46 (32)", "79 (59)"]  # µs, host to host in brackets; p99 of 3: rank 1.98
    assert direct[-1] == "met"
    assert macvlan[3] == "0.80" and macvlan[-1] == "not met"
    # The headline compares swarm with its bare VXLAN link (0.7 of host to host): 10 / 10.5.
    assert swarm[2:4] == ["10.50", "0.95"] and swarm[6:8] == ["15.00", "0.67"]
    assert swarm[13] == "1450 (1500)" and swarm[-1] == "met"
    assert kv == ["kv overlay (20.10)", "-", "-", "-", "≥ 0.75", "-", "-", "-", "-", "-", "-", "-", "-", "- (-)", "no data"]


def test_markdown_table_shape_and_escaping():
    header, rows = benchlib.data_plane_rows(summaries())
    md = benchlib.markdown_table(header, rows).splitlines()
    assert len(md) == 2 + len(rows)
    assert all(line.startswith("| ") and line.endswith(" |") for line in md[:1] + md[2:])
    assert md[1].count("---") == len(header)
    assert all(line.count(" | ") == len(header) - 1 for line in md[2:])
    assert benchlib.markdown_table(["a"], [["x|y\nz"]]).splitlines()[2] == "| x\\|y z |"


def test_text_table_aligns_columns():
    text = benchlib.text_table(["scheme", "ratio"], [["direct route", "0.93"], ["kv", "-"]]).splitlines()
    assert text == ["scheme        ratio", "------------  -----", "direct route  0.93", "kv            -"]


def test_control_plane_rows():
    header, rows = benchlib.control_plane_rows(CONTROL)
    assert header[0] == "scheme (hosts)" and header[-1] == "rerun target"
    assert rows[0] == ["direct route (3)", "23.6", "13", "h1:1 h2:1 h3:1", "17.3", "0", "h1:0 h2:0 h3:0", "-", "met"]
    assert rows[1][7] == "6 / 0" and rows[1][-1] == "met"
    assert rows[2][-1] == "not met: 3 changed"


def test_chart_is_a_png(tmp_path):
    path = benchlib.render_chart(summaries(), str(tmp_path / "bench.png"))
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width > 800 and height > 300


def test_chart_without_any_throughput(tmp_path):
    path = benchlib.render_chart([benchlib.summarize(RESULTS[3])], str(tmp_path / "empty.png"))
    assert os.path.getsize(path) > 1000


def test_whole_report_from_saved_results(tmp_path, monkeypatch):
    """bench.py renders docs from a results document (what `--render FILE` does): tables, notes, machine."""
    bench = helpers.load_bench(monkeypatch)
    data = {"date": "2026-11-23 18:00 UTC", "duration_s": 512.0,
            "settings": {"seconds": 5, "reps": 3, "pings": 100, "tcp": 1000, "schemes": ["direct", "macvlan", "swarm", "kv"]},
            "machine": {"cpu": "AMD EPYC", "cpus": 2, "virtualization": "KVM guest", "memory_gib": 23.5, "os": "Debian 12",
                        "kernel": "6.18", "iperf3": "iperf 3.12", "ansible_core": "2.19.14", "python": "3.11.7",
                        "load_start": [0.1, 0.2, 0.3], "load_end": [1.0, 0.9, 0.8]},
            "planner": {"repeat": 5, "first": {"wall": 0.024, "cpu": 0.023}, "rerun": {"wall": 0.029, "cpu": 0.028}},
            "results": RESULTS, "control": CONTROL}
    markdown, text = bench.report(data)
    assert markdown.startswith("# Benchmarks\n")
    assert "**Noisy run**: the load average was 1.0" not in markdown and "spread up to" not in markdown
    assert "![throughput ratios and added latency](benchmarks.png)" in markdown
    assert "| direct route | 14.00 | 15.00 | 0.93 | ≥ 0.90 |" in markdown
    assert "- **macvlan**: target not met: ratio 0.80 < 0.95. noise;" in markdown
    assert "- **kv overlay (20.10)**: no data: lab.py etcd (LAB_NAME=benchk) failed." in markdown
    assert "DF ping of 1450 bytes passes, 1451 bytes refused" in markdown
    assert "- **swarm overlay**: target met (ratio 0.95 ≥ 0.75)" in markdown
    # the targets table up front: one row per scheme, then the spread of the host-to-host repetitions
    assert "## Targets on this machine" in markdown
    assert "| macvlan: ≥ 0.95 of host to host on the parent | not met | 0.80 (repetitions 0.80-0.80) |" in markdown
    assert "| swarm overlay: ≥ 0.75 of a plain VXLAN link between the hosts | met | 0.95 (repetitions 0.92-0.95) |" in markdown
    assert "| kv overlay (20.10): ≥ 0.75 of host to host, same segment | no data | lab.py etcd (LAB_NAME=benchk) failed |" in markdown
    assert ("| host-to-host repetitions spread under 10% (idle machine) | not met | max-min direct route 13%, macvlan 0%, "
            "swarm overlay 13%; middle half 7%, 0%, 7%; load average at start 0.10 / 0.20 / 0.30 |") in markdown
    assert "first run wrote CreateRoute, ModifyInstanceAttribute (6 calls; the module reported 6)" in markdown
    assert "rerun 0 writes and 3 reads (module: 0)" in markdown
    assert "tasks that reported a change on the rerun: `crosshost.docker.macvlan : The macvlan networks` (h1, h2, h3)" in markdown
    assert "first plan 24 ms wall" in markdown
    assert "- direct route: host to host 15.00, 16.00, 14.00; scheme (Docker's default path) 14.00, 15.00, 13.50" in markdown
    assert "## CPU cost and spread" in markdown and "## Fast path" not in markdown  # no variants, no CPU figures
    assert "- Docker engines in the labs: 20.10.24+dfsg1, 26.1.5+dfsg1" in markdown
    assert "AMD EPYC, 2 CPUs (KVM guest)" in markdown and "whole run 512 s" in markdown
    assert "## Method" in markdown
    assert "data plane" in text and "direct route" in text and "macvlan: not met" in text
    assert "subnet planner, 1000 hosts: first 24 ms, rerun 29 ms" in text


def test_planning_section_from_saved_figures(monkeypatch):
    """The "Control plane at scale" section and its terminal line, from given figures (none measured here)."""
    bench = helpers.load_bench(monkeypatch)
    planning = {"hosts": 1000, "repeat": 5, "ring_peers": 2, "total_wall": 0.5,
                "cases": [{"key": "subnet_first", "title": "subnet_plan, first run", "wall": 0.012, "cpu": 0.011},
                          {"key": "report", "title": "connectivity_report ring", "wall": 1.25, "cpu": 1.2}]}
    data = {"date": "2026-12-06 10:00 UTC", "duration_s": 1.0,
            "settings": {"seconds": 5, "reps": 3, "pings": 100, "tcp": 1000, "schemes": []},
            "machine": {"cpu": "AMD EPYC", "cpus": 2, "virtualization": "KVM guest", "memory_gib": 23.5, "os": "Debian 12",
                        "kernel": "6.18", "iperf3": "iperf 3.12", "ansible_core": "2.19.14", "python": "3.11.7",
                        "load_start": [0.1, 0.2, 0.3], "load_end": [1.0, 0.9, 0.8]},
            "results": [], "control": [], "planning": planning}
    markdown, text = bench.report(data)
    assert "## Control plane at scale" in markdown and "50 of 600 pairs tested (ring, 2 peers each)" in markdown
    assert "| subnet_plan, first run | 12 | 11 | yes |" in markdown
    assert "| connectivity_report ring | 1250 | 1200 | no |" in markdown
    assert "all steps together 500 ms" in markdown
    assert "planning, 1000 hosts: 500 ms wall for all steps (slowest: connectivity_report ring, 1250 ms)" in text
    assert "## Control plane at scale" not in bench.report(dict(data, planning=None))[0]


def test_planning_figures_run_on_a_few_hosts():
    """bench_planning runs every step (checked results) on a small simulated cluster; no timing is asserted."""
    planning = helpers.load_script("crosshost_bench_planning", "benchmarks", "bench_planning.py")
    figures = planning.planning_figures(count=12, repeat=1)
    assert [c["key"] for c in figures["cases"]] == ["subnet_first", "subnet_rerun", "direct_routes", "macvlan_first",
                                                    "macvlan_rerun", "probe_peers", "select_pairs", "report"]
    assert figures["hosts"] == 12 and len(planning.markdown(figures)) == 2 + len(figures["cases"])
