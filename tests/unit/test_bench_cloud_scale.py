# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, route-table writes at scale (benchmarks/bench_cloud_scale.py): the sizes setting, the routes
per size and the rendered table. The measurement itself (moto_server, ansible-playbook) runs in `make bench`;
the module's behaviour at 60 routes is tested against moto in tests/integration/test_route_table_scale.py."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers


@pytest.fixture
def cloud(monkeypatch):
    return helpers.load_bench(monkeypatch, "bench_cloud_scale.py")


def test_sizes(cloud):
    assert cloud.parse_sizes(None) == [3, 10, 25, 50]
    assert cloud.parse_sizes("50, 3 10 3") == [3, 10, 50]
    assert cloud.parse_sizes("0") == []
    with pytest.raises(ValueError, match="whole numbers of hosts"):
        cloud.parse_sizes("ten")
    with pytest.raises(ValueError, match="from 1 to 250"):
        cloud.parse_sizes("300")


def test_one_route_per_host_to_its_instance(cloud):
    assert cloud.routes_for(["i-a", "i-b"]) == [{"host": "h1", "destination": "10.0.0.0/24", "next_hop": "i-a"},
                                                {"host": "h2", "destination": "10.0.1.0/24", "next_hop": "i-b"}]


def test_section_counts_writes_by_action_and_names_failures(cloud):
    data = {"date": "2026-12-06 14:07 UTC", "sizes": [
        {"hosts": 3, "first": {"seconds": 1.0, "writes": ["CreateRoute", "ModifyInstanceAttribute"] * 3, "reads": 4},
         "rerun": {"seconds": 0.9, "writes": [], "reads": 3}},
        {"hosts": 60, "first": {"seconds": 1.2, "writes": [], "reads": 2, "error": "more than its quota of 50"},
         "rerun": {"seconds": 1.0, "writes": [], "reads": 2}}]}
    text = "\n".join(cloud.section(data))
    assert "| 3 | 1.0 | 6 (CreateRoute 3, ModifyInstanceAttribute 3) | 4 | 0.9 | 0 | 3 |" in text
    assert "- failed: 60 hosts, first: more than its quota of 50" in text
    assert cloud.section({"sizes": []}) == [] and cloud.section(None) == []
