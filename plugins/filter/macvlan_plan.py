# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters crosshost.docker.macvlan_plan, macvlan_check_ip and macvlan_check_networks: see their .yml docs."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._macvlan_plan import (
    MacvlanPlanError,
    check_networks,
    check_static_ip,
    plan_ranges,
)


def macvlan_plan(hosts, subnet=None, gateway=None, range_prefix=None, reserved=None, aux_addresses=None, existing=None,
                 overrides=None):
    """``hosts | crosshost.docker.macvlan_plan(subnet=...)``: {host: {ip_range, first, last, size, source, ...}}."""
    try:
        return plan_ranges(hosts, subnet, gateway=gateway, range_prefix=range_prefix, reserved=reserved,
                           aux_addresses=aux_addresses, existing=existing, overrides=overrides)
    except MacvlanPlanError as err:
        raise AnsibleFilterError(str(err)) from err


def macvlan_check_ip(ip, plan=None, host=None):
    """``'192.168.2.5' | crosshost.docker.macvlan_check_ip(plan, inventory_hostname)``: the address, or fails."""
    try:
        return check_static_ip(plan, host, ip)
    except MacvlanPlanError as err:
        raise AnsibleFilterError(str(err)) from err


def macvlan_check_networks(networks, exclusive_parents=False):
    """``networks | crosshost.docker.macvlan_check_networks``: the networks, or fails on overlaps per parent."""
    try:
        return check_networks(networks, exclusive_parents=exclusive_parents)
    except MacvlanPlanError as err:
        raise AnsibleFilterError(str(err)) from err


class FilterModule(object):
    def filters(self):
        return {"macvlan_plan": macvlan_plan, "macvlan_check_ip": macvlan_check_ip,
                "macvlan_check_networks": macvlan_check_networks}
