# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, control plane at scale (benchmarks/bench_scale.py): the pure parts. No timing is asserted."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers


@pytest.fixture(name="scale")
def fixture_scale():
    return helpers.load_script("crosshost_bench_scale", "benchmarks", "bench_scale.py")


def entry(hosts, first, rerun, quiet, peak_kb=512000, **extra):
    out = {"hosts": hosts, "lab_up_s": 4.0, "mem_available_drop_kb": 300 * 1024, "lab_rss_kb": 200 * 1024,
           "first": {"seconds": first, "tree_peak_kb": peak_kb, "maxrss_kb": 90000, "load": [3.2, 3.0, 2.9]},
           "rerun": {"seconds": rerun, "tree_peak_kb": peak_kb // 2, "maxrss_kb": 80000, "load": [4.0, 3.0, 2.9]},
           "rerun_noverify": {"seconds": quiet, "tree_peak_kb": 1000, "maxrss_kb": 70000, "load": [2.5, 3.0, 2.9]}}
    out.update(extra)
    return out


def test_parse_sizes(scale):
    assert scale.parse_sizes("") == [3, 10]
    assert scale.parse_sizes(None) == [3, 10]
    assert scale.parse_sizes("25, 3 10 3") == [3, 10, 25]
    assert scale.parse_sizes("0") == [] and scale.parse_sizes("none") == []
    with pytest.raises(ValueError, match="not a whole number"):
        scale.parse_sizes("3 ten")
    with pytest.raises(ValueError, match="use 1 to 50"):
        scale.parse_sizes("51")


def test_engines_cycle(scale):
    assert scale.engines_for(2) == "20.10 26"
    assert scale.engines_for(7).split() == ["20.10", "26", "28", "20.10", "26", "28", "20.10"]


def test_verify_pairs_auto(scale):
    assert scale.verify_pairs(3) == (6, 6)
    assert scale.verify_pairs(4) == (8, 12)
    assert scale.verify_pairs(10) == (20, 90)
    assert scale.verify_pairs(10, all_pairs_max=10) == (90, 90)
    assert scale.verify_pairs(25) == (50, 600)


def test_proc_parsers(scale):
    status = "Name:\tdockerd\nState:\tS (sleeping)\nPPid:\t42\nVmRSS:\t  51200 kB\n"
    assert scale.parse_proc_status(status) == {"name": "dockerd", "ppid": 42, "rss_kb": 51200}
    assert scale.parse_proc_status("Name:\tkthreadd\nPPid:\t0\n")["rss_kb"] == 0
    assert scale.parse_pss_kb("00400000-7ff [rollup]\nRss:   9000 kB\nPss:   4321 kB\nPss_Anon: 1 kB\n") == 4321
    with pytest.raises(ValueError):
        scale.parse_pss_kb("Rss: 1 kB\n")
    assert scale.parse_meminfo("MemTotal:  24000000 kB\nMemAvailable: 20000000 kB\nHugePages_Total: 0\n") == {
        "MemTotal": 24000000, "MemAvailable": 20000000, "HugePages_Total": 0}


def test_process_tree(scale):
    procs = {1: {"ppid": 0, "rss_kb": 5}, 10: {"ppid": 1, "rss_kb": 100}, 11: {"ppid": 10, "rss_kb": 20},
             12: {"ppid": 11, "rss_kb": 3}, 20: {"ppid": 1, "rss_kb": 999}}
    assert scale.tree_pids(procs, 10) == {10, 11, 12}
    assert scale.tree_rss_kb(procs, 10) == 123
    assert scale.tree_rss_kb(procs, 99) == 0  # gone


def test_derive_verify_share(scale):
    e = scale.derive(entry(3, 30.0, 20.0, 8.0))
    assert e["verify_s"] == 12.0 and e["verify_share"] == 0.6
    assert scale.derive(entry(3, 30.0, 8.0, 9.0))["verify_share"] == 0.0  # noise: never negative
    assert "verify_share" not in scale.derive({"hosts": 3, "first": {"seconds": 1.0}})


def test_rows(scale):
    header, body = scale.rows([scale.derive(entry(3, 30.0, 20.0, 8.0)), scale.derive(entry(25, 90.0, 60.0, 40.0))])
    assert header[0] == "hosts" and len(header) == len(body[0])
    assert body[0][:7] == ["3", "6", "4.0", "30.0", "20.0", "8.0", "12.0 s (60%)"]
    assert body[1][1] == "50 of 600 (ring)"
    assert body[0][7] == "500 (88)"  # PSS peak over the three runs (largest process RSS)
    assert body[0][8] == "200 (300)"
    assert body[0][9] == "3.2 / 4.0 / 2.5"


def test_rows_failed_size(scale):
    failed = {"hosts": 50, "lab_up_s": 30.0, "error": "lab.py up failed", "first": {"seconds": 5.0, "load": [9.0, 1, 1]}}
    _header, body = scale.rows([failed])
    assert body[0][3] == "error" and body[0][4] == "-"


def test_verdicts(scale):
    entries = [scale.derive(entry(3, 30.0, 20.0, 15.0)), scale.derive(entry(25, 200.0, 150.0, 100.0))]
    linear, share = scale.verdicts(entries)
    assert linear[1] is True and "25 hosts 150.0 s = 7.5 × (allowed 8.3 ×)" in linear[2]
    assert share[1] is True and "3 hosts 25.0%" in share[2]
    entries = [scale.derive(entry(3, 30.0, 10.0, 4.0)), scale.derive(entry(25, 200.0, 150.0, 100.0))]
    linear, share = scale.verdicts(entries)
    assert linear[1] is False and share[1] is False and "largest at 3 hosts" in share[2]
    only = scale.verdicts([scale.derive(entry(3, 30.0, 10.0, 4.0))])
    assert only[0][1] is None
    sizes = [scale.derive(entry(3, 30.0, 20.0, 15.0)), scale.derive(entry(10, 60.0, 70.0, 60.0)),
             scale.derive(entry(25, 200.0, 150.0, 100.0))]
    linear = scale.verdicts(sizes)[0]
    assert linear[1] is False and "10 hosts 70.0 s = 3.5 × (allowed 3.3 ×)" in linear[2]


def test_section_and_splice(scale):
    data = {"date": "2026-12-06 11:00 UTC", "sizes": [entry(3, 30.0, 20.0, 15.0), entry(10, 60.0, 50.0, 30.0)],
            "notes": ["50 hosts: not run"]}
    lines = scale.section(data, chart="img/scale.png")
    assert lines[0] == scale.HEADING and "![time against hosts: converge, rerun, verify](img/scale.png)" in lines
    assert any(line.startswith("| 10 | 20 of 90 (ring) |") for line in lines)
    assert lines[-1] == "- 50 hosts: not run"
    doc = "# B\n\n## Control plane at scale\n\ntext\n\n| a |\n\n## Repetitions\n\nx\n"
    once = scale.splice(doc, lines)
    assert once.index(scale.HEADING) < once.index("## Repetitions") and once.index("| a |") < once.index(scale.HEADING)
    again = scale.splice(once, ["### Measured on namespace hosts", "", "new"])
    assert again.count(scale.HEADING) == 1 and "new\n\n## Repetitions" in again and "| 10 | 20 of 90" not in again
    with pytest.raises(ValueError):
        scale.splice("# nothing\n", lines)
    assert scale.section({"sizes": []})[-1].startswith("Not measured")


def test_section_macvlan_and_errors(scale):
    big = entry(25, 90.0, 60.0, 40.0, macvlan={"first": {"seconds": 50.0, "tree_peak_kb": 2048},
                                               "rerun": {"seconds": 40.0, "tree_peak_kb": 1024}})
    broken = {"hosts": 50, "error": "lab.py up failed: out of memory"}
    lines = scale.section({"sizes": [big, broken]})
    assert any("macvlan, 25 hosts" in line and "first converge 50.0 s" in line for line in lines)
    assert "- **50 hosts**: lab.py up failed: out of memory" in lines
    assert "control plane at scale" in scale.text({"sizes": [big]})


def test_section_swarm_at_each_size_and_kept_dates(scale):
    """Swarm runs at every size; sizes kept from an earlier run (--merge) carry their own date."""
    swarm = {"first": {"seconds": 30.0, "tree_peak_kb": 4096}, "rerun": {"seconds": 20.0, "tree_peak_kb": 2048}}
    failed = {"first": {"seconds": 9.0}, "error": "playbooks/overlay.yml failed (first): h3: no quorum"}
    data = {"date": "2026-12-06 14:10 UTC",
            "sizes": [entry(3, 30.0, 20.0, 15.0, swarm=swarm), entry(10, 60.0, 50.0, 30.0, swarm=failed),
                      entry(50, 300.0, 280.0, 170.0, date="2026-12-06 11:17 UTC")]}
    lines = scale.section(data)
    assert "measured 2026-12-06 14:10 UTC (50 hosts: 2026-12-06 11:17 UTC): first converge" in "\n".join(lines)
    assert any(line.startswith("- **swarm, 3 hosts** (swarm overlay") and "first converge 30.0 s, rerun 20.0 s" in line
               and "peak 4 MB" in line for line in lines)
    assert any(line.startswith("- **swarm, 10 hosts**") and line.endswith("h3: no quorum") for line in lines)


def test_bench_settings(monkeypatch):
    bench = helpers.load_bench(monkeypatch)
    try:
        s = bench.Settings({})
        assert s.scale_sizes == [3, 10] and s.scale_macvlan is False and s.scale_png.endswith("docs/img/scale.png")
        s = bench.Settings({"BENCH_SCALE_SIZES": "25 3", "BENCH_SCALE_MACVLAN": "1"})
        assert s.scale_sizes == [3, 25] and s.scale_macvlan and s.describe()["scale_sizes"] == [3, 25]
        assert bench.Settings({"BENCH_SCALE_SIZES": "0"}).scale_sizes == []
        with pytest.raises(SystemExit, match="BENCH_SCALE_SIZES"):
            bench.Settings({"BENCH_SCALE_SIZES": "3 x"})
        # swarm at every scale size and the route table in moto at 3-50 hosts, unless switched off
        assert s.scale_swarm and s.cloud_sizes == [3, 10, 25, 50] and s.fastpath and not s.pin
        s = bench.Settings({"BENCH_SCALE_SWARM": "0", "BENCH_CLOUD_SIZES": "0", "BENCH_FASTPATH": "0"})
        assert not s.scale_swarm and s.cloud_sizes == [] and not s.fastpath
        with pytest.raises(SystemExit, match="BENCH_CLOUD_SIZES"):
            bench.Settings({"BENCH_CLOUD_SIZES": "many"})
    finally:
        import sys  # pylint: disable=import-outside-toplevel

        for name in ("bench_scale", "bench_cloud_scale"):
            sys.modules.pop(name, None)


def test_slowest_tasks(scale):
    def task(name, start, end):
        return {"task": {"name": name, "duration": {"start": f"2026-12-06T11:00:{start}Z", "end": f"2026-12-06T11:00:{end}Z"}}}

    doc = {"plays": [{"tasks": [task("a", "00.000000", "01.500000"), task("b", "01.5", "09.25"),
                                {"task": {"name": "no duration"}}, task("c", "10.0", "10.1")]}]}
    assert scale.slowest_tasks(doc, count=2) == [["b", 7.8], ["a", 1.5]]
    assert scale.slowest_tasks({}) == []
    lines = scale.section({"sizes": [entry(3, 3.0, 2.0, 1.0)]})
    assert not any("slowest" in line for line in lines)
    e = entry(3, 3.0, 2.0, 1.0)
    e["rerun"]["slowest"] = [["crosshost.docker.verify : Probe", 4.25]]
    assert "- **3 hosts, slowest tasks of the rerun**: `crosshost.docker.verify : Probe` 4.2 s" in scale.section({"sizes": [e]})
