# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter crosshost.docker.subnet_plan: a container subnet (Docker bip) per host, see subnet_plan.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import (
    SubnetPlanError,
    hosts_in_pool,
    plan_subnets,
)
from ansible_collections.crosshost.docker.plugins.plugin_utils._planned import filter_outcome


def subnet_plan(hosts, pool=None, prefix=24, existing=None, overrides=None, reserved=None, host_networks=None,
                provider=None, errors="raise", names=None):
    """``hosts | crosshost.docker.subnet_plan(pool=..., ...)``: {host: {subnet, bip, gateway, source}}.

    With errors='return': {"result": plan or None, "error": None or {"msg", "host"}}, the message's
    field renamed after ``names`` (for example {"pool": "direct_route_pool"})."""
    def run():
        return plan_subnets(hosts, pool, prefix=prefix, existing=existing, overrides=overrides, reserved=reserved,
                            host_networks=host_networks, provider=provider)

    return filter_outcome(run, SubnetPlanError, errors, names, hosts if isinstance(hosts, list) else None)


def direct_routes(hosts, plan, next_hops):
    """``hosts | crosshost.docker.direct_routes(plan, next_hops)``: [{destination, next_hop, host}] in host order.

    ``plan`` is the result of subnet_plan, ``next_hops`` {host: address or instance id}."""
    try:
        return [{"destination": plan[h]["subnet"], "next_hop": next_hops[h], "host": h} for h in hosts]
    except (KeyError, TypeError) as err:
        raise AnsibleFilterError("direct_routes: no subnet or next hop for host %s: plan the hosts first "
                                 "(crosshost.docker.subnet_plan)" % err) from err


def subnet_members(existing, pool, overrides=None):
    """``existing | crosshost.docker.subnet_members(pool, overrides)``: hosts whose current subnet is the cluster's."""
    try:
        return hosts_in_pool(existing, pool, overrides)
    except SubnetPlanError as err:
        raise AnsibleFilterError("subnet_members: %s" % err) from err


class FilterModule(object):
    def filters(self):
        return {"subnet_plan": subnet_plan, "direct_routes": direct_routes, "subnet_members": subnet_members}
