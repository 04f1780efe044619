# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._matrix import broken_pairs, cell_text, matrix_table


def test_cells_render_pass_fail_and_text():
    assert [cell_text(v) for v in (True, False, None, "ok", "FAIL", 3)] == ["ok", "FAIL", "FAIL", "ok", "FAIL", "3"]


def test_table_is_square_aligned_and_ordered_as_asked():
    results = {"h2": {"h1": False, "h3": True}, "h1": {"h2": True, "h3": "snat"}, "h3": {"h1": True}}
    lines = matrix_table(results, ["h1", "h2", "h3"], {"h1": "h1 10.0.0.2"})
    assert len(lines) == 4
    assert len({len(line) for line in lines}) == 1, lines
    header, r1, r2, r3 = lines
    assert header.split() == ["from", "\\", "to", "h1", "h2", "h3"]
    assert r1.startswith("h1 10.0.0.2") and r1.split()[2:] == ["-", "ok", "snat"]
    assert r2.split() == ["h2", "FAIL", "-", "ok"]
    assert r3.split() == ["h3", "ok", "-", "-"]  # a missing pair shows as "-"


def test_table_defaults_to_sorted_hosts():
    lines = matrix_table({"b": {"a": True}, "a": {"b": True}})
    assert lines[1].split()[0] == "a" and lines[2].split()[0] == "b"


def test_broken_pairs_lists_failures_only_sorted():
    results = {"h2": {"h1": False, "h2": False}, "h1": {"h2": "ok", "h3": "FAIL"}, "h3": {"h1": "pass"}}
    assert broken_pairs(results) == ["h1 -> h3", "h2 -> h1"]
    assert broken_pairs({}) == []


def test_seen_sources_reads_the_probe_servers_netstat():
    from ansible_collections.crosshost.docker.plugins.module_utils._matrix import seen_sources
    text = """Active Internet connections (w/o servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State
tcp        0      0 10.1.0.2:5000           10.1.0.9:40000          TIME_WAIT
tcp        2      0 ::ffff:10.1.0.2:5000    ::ffff:10.0.0.3:56170   CLOSE_WAIT
tcp        0      0 10.1.0.2:40001          10.0.0.7:5000           ESTABLISHED
"""
    assert seen_sources(text, 5000) == ["10.0.0.3"]
    assert seen_sources(text.replace("10.0.0.3", "192.168.1.11"), "5000") == ["192.168.1.11"]
    assert seen_sources("", 5000) == [] and seen_sources(None, 5000) == []


def test_untested_pairs_are_a_mark_of_their_own_never_ok_or_broken():
    from ansible_collections.crosshost.docker.plugins.module_utils._matrix import NOT_TESTED
    assert NOT_TESTED == "\u00b7" and cell_text("not tested") == NOT_TESTED and cell_text(NOT_TESTED) == NOT_TESTED
    results = {"h1": {"h2": True}, "h2": {"h3": "not tested", "h1": "FAIL"}, "h3": {}}
    lines = matrix_table(results, ["h1", "h2", "h3"], missing=NOT_TESTED)
    assert len({len(line) for line in lines}) == 1
    assert lines[1].split() == ["h1", "-", "ok", NOT_TESTED]
    assert lines[2].split() == ["h2", "FAIL", "-", NOT_TESTED]
    assert lines[3].split() == ["h3", NOT_TESTED, NOT_TESTED, "-"]
    assert broken_pairs(results) == ["h2 -> h1"]
    assert broken_pairs({"a": {"b": NOT_TESTED, "c": None}}) == ["a -> c"]


def test_table_ignores_results_for_hosts_outside_the_table():
    lines = matrix_table({"h1": {"h2": True, "elsewhere": "a very long cell"}, "h2": {"h1": True}}, ["h1", "h2"])
    assert lines == matrix_table({"h1": {"h2": True}, "h2": {"h1": True}}, ["h1", "h2"])
