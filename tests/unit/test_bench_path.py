# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, data-path analysis (benchmarks/benchpath.py): CPU cost per gigabyte from /proc/stat,
the perf profile grouped by subsystem, the fast-path variants against Docker's default path, and
their rendering. Pure functions on made-up figures; no lab."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers

STAT = """cpu  1000 10 500 8000 20 5 300 40 0 0
cpu0 500 5 250 4000 10 2 150 20 0 0
intr 12345
"""


@pytest.fixture
def path(monkeypatch):
    return helpers.load_bench(monkeypatch, "benchpath.py")


def stat(path, **add):
    base = path.parse_proc_stat(STAT)
    return {k: v + add.get(k, 0) for k, v in base.items()}


def test_parse_proc_stat_reads_the_machine_line(path):
    assert path.parse_proc_stat(STAT) == {"user": 1000, "nice": 10, "system": 500, "idle": 8000, "iowait": 20,
                                          "irq": 5, "softirq": 300, "steal": 40}
    with pytest.raises(ValueError, match="no `cpu` line"):
        path.parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\n")
    with pytest.raises(ValueError, match="3 fields"):
        path.parse_proc_stat("cpu 1 2 3\n")


def test_cpu_cost_counts_work_not_idle_iowait_or_steal(path):
    before = stat(path)
    # 4 s of work at 100 Hz: 100 user, 200 system, 100 softirq; idle, iowait and steal do not count
    after = stat(path, user=100, system=200, softirq=100, idle=1000, iowait=50, steal=70)
    cost = path.cpu_cost(before, after, 8e9, hz=100)  # 8 GB moved
    assert cost["cpu_s_per_gb"] == pytest.approx(4 / 8)
    assert cost["softirq_share"] == pytest.approx(0.25) and cost["system_share"] == pytest.approx(0.5)
    assert cost["user_share"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="cannot price 0 bytes"):
        path.cpu_cost(before, after, 0)


PERF = """# To display the perf.data header info, please use --header/--header-only options.
#
# Overhead  Symbol
# ........  ......
#
    40.00%  [k] pv_native_safe_halt
    12.00%  [k] copy_user_enhanced_fast_string
     9.00%  [k] nf_conntrack_in
     6.00%  [k] ipt_do_table
     6.00%  [k] br_handle_frame
     3.00%  [k] veth_xmit
     6.00%  [k] fib_table_lookup
     6.00%  [k] tcp_sendmsg_locked
     6.00%  [.] __memmove_avx_unaligned
     3.00%  [k] __netif_receive_skb_core
     3.00%  [k] some_driver_thing
     5.00%  [k] _raw_spin_unlock_irqrestore
"""


def test_perf_report_is_parsed_and_grouped_by_subsystem(path):
    entries = path.parse_perf_report(PERF)
    assert entries[0] == (40.0, "pv_native_safe_halt", False)
    assert (6.0, "__memmove_avx_unaligned", True) in entries and len(entries) == 12
    groups = path.profile_groups(entries)
    # idle is left out: shares of the 65 % busy samples, largest first
    assert "idle" not in groups and sum(groups.values()) == pytest.approx(1.0)
    assert list(groups)[0] == "copy/checksum" and groups["copy/checksum"] == pytest.approx(12 / 65)
    assert groups["conntrack"] == pytest.approx(9 / 65) and groups["iptables/netfilter"] == pytest.approx(6 / 65)
    assert groups["bridge"] == groups["routing/IP"] == groups["TCP"] == groups["user space"] == pytest.approx(6 / 65)
    assert groups["veth"] == groups["skb/device core"] == groups["other"] == pytest.approx(3 / 65)
    # where a guest's timer samples land for work done with interrupts off: a group of its own
    assert groups["irqs-off work (skid)"] == pytest.approx(5 / 65)
    assert path.profile_groups([(50.0, "pv_native_safe_halt", False)]) == {}
    assert path.profile_line(groups, top=2) == "copy/checksum 18%, conntrack 14%"


def test_profile_priced_per_gigabyte_and_compared(path):
    scheme = path.profile_cost({"conntrack": 0.5, "bridge": 0.25, "TCP": 0.25}, 0.8)
    bare = path.profile_cost({"conntrack": 0.25, "TCP": 0.75}, 0.6)
    assert scheme == {"conntrack": pytest.approx(400), "bridge": pytest.approx(200), "TCP": pytest.approx(200)}
    delta = path.profile_delta(scheme, bare)
    assert list(delta) == ["conntrack", "bridge", "TCP"]
    assert delta == {"conntrack": pytest.approx(250), "bridge": pytest.approx(200), "TCP": pytest.approx(-250)}


def cost(per_gb):
    return {"cpu_s_per_gb": per_gb, "softirq_share": 0.4, "system_share": 0.4, "user_share": 0.2}


def variant_result():
    g = 1e9
    return {"key": "direct_hostgw", "title": "direct route (host-gw)",
            "variants": {"notrack": "raw NOTRACK", "bridge-nf off": "no br_netfilter"},
            "throughput_bps": {"baseline": [18 * g, 19 * g, 20 * g], "scheme": [14 * g, 15 * g, 14.5 * g],
                               "notrack": [14.2 * g, 14.8 * g, 14.6 * g], "bridge-nf off": [16 * g, 17 * g, 16.5 * g]},
            "cpu_cost": {"baseline": [cost(0.5), cost(0.52), cost(0.48)], "scheme": [cost(0.7)] * 3,
                         "notrack": [cost(0.69)] * 3, "bridge-nf off": [cost(0.63)] * 3},
            "profile": {"scheme": [[40.0, "pv_native_safe_halt", False], [30.0, "nf_conntrack_in", False],
                                   [30.0, "br_handle_frame", False]]}}


def test_variants_are_measured_against_the_default_path_and_its_spread(path):
    summary = path.summarize_path(variant_result())
    sides = summary["sides"]
    assert list(sides) == ["baseline", "scheme", "notrack", "bridge-nf off"]
    assert sides["baseline"]["gbps"] == pytest.approx(19) and sides["baseline"]["spread"] == pytest.approx(2 / 19)
    assert sides["baseline"]["cpu_s_per_gb"] == pytest.approx(0.5) and sides["scheme"]["softirq_share"] == 0.4
    notrack, brnf = summary["variants"]["notrack"], summary["variants"]["bridge-nf off"]
    # the default path spreads 1/14.5 = 6.9 %; notrack's per-repetition gains are +1.4 %, -1.3 %, +0.7 %
    assert sides["scheme"]["spread"] == pytest.approx(1 / 14.5)
    assert notrack["gain"] == pytest.approx(14.6 / 14.5 - 1) and not notrack["beyond_noise"] and not notrack["consistent"]
    assert brnf["gain"] == pytest.approx(16.5 / 14.5 - 1) and brnf["beyond_noise"] and brnf["consistent"]
    assert brnf["pair_min"] == pytest.approx(17 / 15 - 1) and brnf["cpu_change"] == pytest.approx(0.63 / 0.7 - 1)
    assert summary["profile"]["scheme"] == {"conntrack": pytest.approx(0.5), "bridge": pytest.approx(0.5)}


def test_fast_path_section_names_what_beats_the_spread(path):
    lines = path.section([variant_result(), {"key": "kv", "title": "kv", "error": "no lab"}])
    text = "\n".join(lines)
    assert "## CPU cost and spread" in text and "## Fast path" in text and "## Where the CPU goes" in text
    assert "| direct route (host-gw) | host to host | 19.00 | 11% | 5% | 0.500 | 8% | 40% |" in text
    assert "| direct route (host-gw) | bridge-nf off | +13.8% | +13% … +14% | 7% | -10.0% | yes |" in text
    assert "| direct route (host-gw) | notrack | +0.7% |" in text and text.count("| no |") == 1
    assert ("- **bridge-nf off** (no br_netfilter): +13.8% throughput, -10.0% CPU per GB, beats Docker's default "
            "path by more than the spread in every repetition.") in text
    assert "- **notrack** (raw NOTRACK): +0.7% throughput, -1.4% CPU per GB, is within the spread" in text
    assert "- direct route (host-gw), scheme (Docker's default path) (700 ms/GB): bridge 350, conntrack 350" in text
    assert "the scheme costs" not in text  # no profile of host to host to compare with
    assert path.section([]) == []
    assert "fast path" in path.text([variant_result()])


def test_the_scheme_profile_is_compared_with_the_bare_path(path):
    r = variant_result()
    r["profile"]["baseline"] = [[50.0, "pv_native_safe_halt", False], [25.0, "nf_conntrack_in", False],
                                [25.0, "tcp_sendmsg", False]]
    text = "\n".join(path.section([r]))
    # scheme 700 ms/GB: conntrack 350, bridge 350; host to host 500 ms/GB: conntrack 250, TCP 250
    assert ("  - direct route (host-gw): the scheme costs +200 ms/GB against the host to host: bridge +350, "
            "conntrack +100, TCP -250") in text
