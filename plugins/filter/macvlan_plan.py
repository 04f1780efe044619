# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters crosshost.docker.macvlan_plan, macvlan_check_ip and macvlan_check_networks: see their .yml docs."""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._macvlan_plan import (
    MacvlanPlanError,
    check_networks,
    check_static_ip,
    plan_ranges,
)
from ansible_collections.crosshost.docker.plugins.plugin_utils._planned import filter_outcome


def _outcome(call, errors, names=None, hosts=None):
    return filter_outcome(call, MacvlanPlanError, errors, names, hosts)


def macvlan_plan(hosts, subnet=None, gateway=None, range_prefix=None, reserved=None, aux_addresses=None, existing=None,
                 overrides=None, errors="raise", names=None):
    """``hosts | crosshost.docker.macvlan_plan(subnet=...)``: {host: {ip_range, first, last, size, source, ...}}."""
    return _outcome(lambda: plan_ranges(hosts, subnet, gateway=gateway, range_prefix=range_prefix, reserved=reserved,
                                        aux_addresses=aux_addresses, existing=existing, overrides=overrides),
                    errors, names, hosts if isinstance(hosts, list) else None)


def macvlan_check_ip(ip, plan=None, host=None, errors="raise", names=None):
    """``'192.168.2.5' | crosshost.docker.macvlan_check_ip(plan, inventory_hostname)``: the address, or fails."""
    return _outcome(lambda: check_static_ip(plan, host, ip), errors, names)


def macvlan_check_networks(networks, exclusive_parents=False, errors="raise", names=None):
    """``networks | crosshost.docker.macvlan_check_networks``: the networks, or fails on overlaps per parent."""
    return _outcome(lambda: check_networks(networks, exclusive_parents=exclusive_parents), errors, names)


class FilterModule(object):
    def filters(self):
        return {"macvlan_plan": macvlan_plan, "macvlan_check_ip": macvlan_check_ip,
                "macvlan_check_networks": macvlan_check_networks}
