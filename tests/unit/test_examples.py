# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example inventories plan what their comments promise."""
from __future__ import annotations

import os

import yaml

from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import plan_subnets

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples")


def test_seed_000_example_gives_the_seeds_bips():
    with open(os.path.join(EXAMPLES, "seed-000", "inventory.yml")) as f:
        group = yaml.safe_load(f)["all"]["children"]["docker_hosts"]
    v = group["vars"]
    underlay = [h["ansible_host"] + "/32" for h in group["hosts"].values()]
    plan = plan_subnets(list(group["hosts"]), v["direct_route_pool"], overrides=v["direct_route_overrides"],
                        reserved=v["direct_route_reserved"] + underlay, provider=v["direct_route_provider"])
    assert {h: p["bip"] for h, p in plan.items()} == {"docker1": "10.0.0.1/24", "docker2": "10.1.0.1/24"}
