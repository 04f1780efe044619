# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter crosshost.docker.subnet_plan: a container subnet (Docker bip) per host, see subnet_plan.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._subnet_plan import SubnetPlanError, plan_subnets


def subnet_plan(hosts, pool=None, prefix=24, existing=None, overrides=None, reserved=None, host_networks=None,
                provider=None):
    """``hosts | crosshost.docker.subnet_plan(pool=..., ...)``: {host: {subnet, bip, gateway, source}}."""
    try:
        return plan_subnets(hosts, pool, prefix=prefix, existing=existing, overrides=overrides, reserved=reserved,
                            host_networks=host_networks, provider=provider)
    except SubnetPlanError as err:
        raise AnsibleFilterError(str(err)) from err


class FilterModule(object):
    def filters(self):
        return {"subnet_plan": subnet_plan}
