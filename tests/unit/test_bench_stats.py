# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, pure parts: median, percentiles, ratios, spread, the interleaving order and the verdicts."""
from __future__ import annotations

import random
import statistics

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers

benchlib = helpers.load_script("crosshost_benchlib", "benchmarks", "benchlib.py")


@pytest.mark.parametrize("values, expected", [
    ([3], 3), ([1, 2], 1.5), ([5, 1, 3], 3), ([4, 1, 3, 2], 2.5), ([2.5, 2.5, 9.0], 2.5),
])
def test_median(values, expected):
    assert benchlib.median(values) == expected


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no values"):
        benchlib.median([])


def test_percentile_by_hand():
    values = [10, 20, 30, 40, 50]  # rank = p/100 * 4
    assert benchlib.percentile(values, 0) == 10
    assert benchlib.percentile(values, 100) == 50
    assert benchlib.percentile(values, 50) == 30
    assert benchlib.percentile(values, 25) == 20
    assert benchlib.percentile(values, 10) == pytest.approx(14.0)   # rank 0.4
    assert benchlib.percentile(values, 99) == pytest.approx(49.6)   # rank 3.96
    assert benchlib.percentile(list(reversed(values)), 99) == pytest.approx(49.6)  # order does not matter
    assert benchlib.percentile([7], 99) == 7


def test_p99_of_100_samples_sits_between_the_two_largest():
    values = list(range(1, 101))  # rank 0.99 * 99 = 98.01 -> between 99 and 100
    assert benchlib.percentile(values, 99) == pytest.approx(99.01)
    assert benchlib.percentile(values, 50) == pytest.approx(50.5) == benchlib.median(values)


def test_percentile_agrees_with_the_standard_library():
    rng = random.Random(7)
    for n in (2, 3, 10, 101, 1000):
        values = [rng.expovariate(1 / 80) for _i in range(n)]
        # statistics.quantiles(method="inclusive") is the same interpolation (R type 7).
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        assert benchlib.percentile(values, 50) == pytest.approx(cuts[49])
        assert benchlib.percentile(values, 99) == pytest.approx(cuts[98])
        assert benchlib.percentile(values, 50) == pytest.approx(statistics.median(values))


@pytest.mark.parametrize("pct", [-1, 100.5])
def test_percentile_outside_0_100_is_an_error(pct):
    with pytest.raises(ValueError, match="outside 0..100"):
        benchlib.percentile([1, 2], pct)


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no values"):
        benchlib.percentile([], 50)


def test_ratio_and_spread():
    assert benchlib.ratio(9.0, 10.0) == pytest.approx(0.9)
    assert benchlib.ratio(None, 10.0) is None and benchlib.ratio(5.0, 0) is None
    assert benchlib.spread([9, 10, 12]) == pytest.approx(0.3)
    assert benchlib.spread([0, 0, 0]) is None
    # the middle half: one outlier moves (max - min) but not (p75 - p25)
    assert benchlib.iqr_spread([10, 10, 10, 10, 20]) == pytest.approx(0.0)
    assert benchlib.spread([10, 10, 10, 10, 20]) == pytest.approx(1.0)
    assert benchlib.iqr_spread([8, 9, 10, 11, 12]) == pytest.approx(0.2)
    assert benchlib.iqr_spread([0, 0]) is None


def test_interleaved_order_alternates_sides_and_which_goes_first():
    assert benchlib.interleaved_order(3) == [(0, "baseline"), (0, "scheme"), (1, "scheme"), (1, "baseline"),
                                             (2, "baseline"), (2, "scheme")]
    assert benchlib.interleaved_order(2, ("baseline", "scheme", "reference")) == [
        (0, "baseline"), (0, "scheme"), (0, "reference"), (1, "reference"), (1, "scheme"), (1, "baseline")]
    order = benchlib.interleaved_order(5)
    assert [side for _rep, side in order].count("baseline") == 5
    # never more than two runs of the same side in a row
    sides = [side for _rep, side in order]
    assert all(not (a == b == c) for a, b, c in zip(sides, sides[1:], sides[2:]))


def result(thr_base, thr_scheme, target=0.9, **extra):
    r = {"key": "direct", "title": "direct route", "target": target,
         "throughput_bps": {"baseline": [v * 1e9 for v in thr_base], "scheme": [v * 1e9 for v in thr_scheme]},
         "retransmits": {"baseline": [0, 2, 1], "scheme": [5, 7, 6]},
         "cpu": {"baseline": [[50, 40], [60, 50], [55, 45]], "scheme": [[90, 80], [None, None], [100, 90]]},
         "icmp_ms": {"baseline": [0.05, 0.06, 0.07], "scheme": [0.10, 0.12, 0.30]},
         "icmp_loss": {"baseline": 0, "scheme": 1},
         "tcp_us": {"baseline": [30.0, 31.0, 40.0], "scheme": [45.0, 50.0, 90.0]},
         "mtu": {"baseline": 1500, "scheme": 1500}, "df_ping": {"mtu": 1500, "at_mtu": True, "above_mtu_refused": True},
         "fragments": {"baseline": 0, "scheme": 0}}
    r.update(extra)
    return r


def test_summarize_figures():
    s = benchlib.summarize(result([10, 12, 11], [9, 10, 11]))
    assert s["base_gbps"] == pytest.approx(11) and s["scheme_gbps"] == pytest.approx(10)
    assert s["ratio"] == pytest.approx(10 / 11)
    # per-repetition ratios: 9/10, 10/12, 11/11
    assert s["ratio_min"] == pytest.approx(10 / 12) and s["ratio_max"] == pytest.approx(1.0)
    assert s["base_spread"] == pytest.approx(2 / 11)
    assert s["icmp_scheme_p50"] == pytest.approx(120) and s["icmp_baseline_p50"] == pytest.approx(60)  # µs
    assert s["icmp_scheme_p99"] == pytest.approx(296.4)  # 0.12 + 0.98 * 0.18 ms
    assert s["tcp_scheme_p50"] == 50 and s["tcp_baseline_p99"] == pytest.approx(39.82)
    assert s["retransmits_scheme"] == 6 and s["retransmits_baseline"] == 1
    assert s["cpu_scheme"] == (95, 85)  # the run without CPU figures is left out
    assert s["icmp_lost"] == {"baseline": 0, "scheme": 1}
    assert s["verdict"] == "met" and s["why"] == ""


def test_verdict_not_met_names_the_ratio_noise_and_the_note():
    s = benchlib.summarize(result([10, 10, 10], [8, 8, 8], note="an extra hop"))
    assert s["verdict"] == "not met"
    assert s["why"] == "ratio 0.80 < 0.90. an extra hop"
    noisy = benchlib.summarize(result([7, 10, 13], [8.6, 8.6, 8.6]))  # spread 60 %: 0.86 is within 0.9 - 0.3
    assert noisy["verdict"] == "not met" and "within the noise" in noisy["why"] and "60%" in noisy["why"]


def test_reference_side_explains_a_miss():
    """With a bare path (reference) the headline ratio is the scheme against it, not host to host."""
    r = result([10, 10, 10], [6, 6, 6], target=0.95, reference="a plain VXLAN link")
    r["throughput_bps"]["reference"] = [6.5e9, 6.4e9, 6.6e9]
    r["icmp_ms"]["reference"] = [0.09, 0.1]
    s = benchlib.summarize(r)
    assert s["ref_gbps"] == pytest.approx(6.5) and s["ref_ratio"] == pytest.approx(0.65)
    assert s["ratio"] == pytest.approx(6 / 6.5) and s["host_ratio"] == pytest.approx(0.6)
    assert s["bare_side"] == "reference" and s["bare_spread"] == pytest.approx(0.2 / 6.5)
    assert s["ratio_min"] == pytest.approx(6 / 6.6) and s["ratio_max"] == pytest.approx(6 / 6.4)
    assert s["icmp_reference_p50"] == pytest.approx(95)
    assert s["verdict"] == "not met"
    assert s["why"] == ("ratio 0.92 < 0.95 (against a plain VXLAN link, measured in the same run; that path itself "
                        "reaches 0.65 of host to host, the scheme 0.60)")
    # A met target needs no explanation.
    r["throughput_bps"]["scheme"] = [8e9] * 3
    assert benchlib.summarize(r)["why"] == ""


def test_overlay_verdict_needs_no_fragments_and_a_df_ping_at_the_mtu():
    ok = result([10, 10, 10], [8, 8, 8], target=0.75, needs_no_fragments=True)
    assert benchlib.summarize(ok)["verdict"] == "met"
    fragmented = result([10, 10, 10], [8, 8, 8], target=0.75, needs_no_fragments=True,
                        fragments={"baseline": 0, "scheme": 12})
    s = benchlib.summarize(fragmented)
    assert s["verdict"] == "not met" and "fragments: 12" in s["why"]
    no_df = result([10, 10, 10], [8, 8, 8], target=0.75, needs_no_fragments=True,
                   df_ping={"mtu": 1450, "at_mtu": False, "above_mtu_refused": True})
    assert "DF ping at the MTU failed" in benchlib.summarize(no_df)["why"]
    # Without the requirement, fragments alone do not fail a scheme.
    assert benchlib.summarize(dict(fragmented, needs_no_fragments=False))["verdict"] == "met"


def test_a_scheme_without_data():
    s = benchlib.summarize({"key": "kv", "title": "kv overlay", "target": 0.75, "error": "playbooks/overlay.yml failed"})
    assert (s["verdict"], s["why"]) == ("no data", "playbooks/overlay.yml failed")
    assert "ratio" not in s
    s = benchlib.summarize({"key": "kv", "title": "kv overlay", "target": 0.75})
    assert (s["verdict"], s["why"]) == ("no data", "no throughput measured")


def control(**rerun):
    base = {"seconds": 10.0, "changed": 0, "failed": 0, "restarts": {"h1": 0, "h2": 0}}
    base.update(rerun)
    first = {"seconds": 20.0, "changed": 9, "failed": 0, "restarts": {"h1": 1, "h2": 1}}
    return {"title": "direct route", "hosts": 2, "first": first, "rerun": base}


def test_rerun_verdict():
    assert benchlib.rerun_verdict(control()) == "met"
    assert benchlib.rerun_verdict(control(changed=3)) == "not met: 3 changed"
    assert benchlib.rerun_verdict(control(restarts={"h1": 1, "h2": 0})) == "not met: 1 restarts"
    with_cloud = dict(control(), cloud={"first": {"writes": ["CreateRoute"] * 3, "reads": []},
                                        "rerun": {"writes": ["CreateRoute"], "reads": ["DescribeRouteTables"]}})
    assert benchlib.rerun_verdict(with_cloud) == "not met: 1 cloud writes"
    assert benchlib.rerun_verdict(control(failed=1)) == "not met: the rerun failed"
    assert benchlib.rerun_verdict(control(failed=1, changed=2)) == "not met: the rerun failed, 2 changed"
    assert benchlib.rerun_verdict({"title": "x", "first": {}, "error": "first run failed"}) == "no data"


def test_noise_warning():
    quiet = benchlib.summarize(result([10, 10.5, 10.2], [9.5, 9.6, 9.4]))
    busy_spread = benchlib.summarize(result([6, 10, 13], [9.5, 9.6, 9.4]))
    assert benchlib.noise_warning({"load_start": [0.4, 0.3, 0.2], "cpus": 2}, [quiet]) is None
    warning = benchlib.noise_warning({"load_start": [6.9, 7.0, 6.4], "cpus": 2}, [quiet, busy_spread])
    assert warning.startswith("**Noisy run**: the load average was 6.9 on 2 CPUs when it started and "
                              "baseline repetitions spread up to 70% (direct route).")
    assert "idle machine" in warning
    assert benchlib.noise_warning({}, [busy_spread]).startswith("**Noisy run**: baseline repetitions spread up to 70%")
    assert benchlib.noise_warning({}, [benchlib.summarize({"key": "kv", "title": "kv", "error": "x"})]) is None
