# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, settings: the BENCH_* knobs, their defaults and the messages for bad values."""
from __future__ import annotations

import os

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers


@pytest.fixture(name="bench")
def fixture_bench(monkeypatch):
    return helpers.load_bench(monkeypatch)


def test_defaults(bench):
    s = bench.Settings({})
    assert (s.seconds, s.reps, s.pings, s.tcp, s.reference) == (4, 5, 100, 1000, True)
    assert s.schemes == ["direct", "macvlan", "swarm", "kv"] and s.prefix == "bench"
    assert s.md.endswith(os.path.join("docs", "benchmarks.md")) and s.png.endswith(os.path.join("docs", "benchmarks.png"))
    assert s.describe()["schemes"] == s.schemes


def test_knobs(bench):
    s = bench.Settings({"BENCH_SECONDS": "1", "BENCH_REPS": "2", "BENCH_SCHEMES": "kv, direct", "BENCH_REFERENCE": "0",
                        "BENCH_LAB_PREFIX": "hb", "BENCH_OUT": "/tmp/x/bench"})
    assert (s.seconds, s.reps, s.reference, s.prefix) == (1, 2, False, "hb")
    assert s.schemes == ["direct", "kv"]  # always in the fixed order
    assert (s.md, s.png) == ("/tmp/x/bench.md", "/tmp/x/bench.png")


@pytest.mark.parametrize("env, words", [
    ({"BENCH_SECONDS": "five"}, "BENCH_SECONDS='five' is not a whole number: e.g. BENCH_SECONDS=4"),
    ({"BENCH_REPS": "0"}, "BENCH_REPS=0: use 1 or more"),
    ({"BENCH_PINGS": "5"}, "BENCH_PINGS=5: use 10 or more"),
    ({"BENCH_SCHEMES": "direct overlay"}, "BENCH_SCHEMES: unknown overlay; use a subset of: direct macvlan swarm kv"),
    ({"BENCH_LAB_PREFIX": "Bench"}, "BENCH_LAB_PREFIX='Bench'"),
    ({"BENCH_LAB_PREFIX": "averylongname"}, "1-9 lower-case letters or digits"),
])
def test_bad_values_name_the_knob(bench, env, words):
    with pytest.raises(SystemExit) as exc:
        bench.Settings(env)
    assert words in str(exc.value)


def test_lab_names_fit_the_lab(bench):
    """Lab names are <prefix><d|m|o|k>; lab.py allows 10 characters."""
    lab = bench.Lab("benchd")
    assert lab.hosts == ["h1", "h2", "h3"] and lab.env["LAB_NAME"] == "benchd"
    assert lab.env["LAB_ENGINES"] == "20.10 26 28"
    assert len(bench.Settings({"BENCH_LAB_PREFIX": "abcdefghi"}).prefix + "d") == 10
