# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters crosshost.docker.overlay_backend, overlay_networks and overlay_endpoints: see their .yml docs."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._overlay_plan import (
    OverlayPlanError,
    check_endpoints,
    check_networks,
    choose_backend,
    firewall_ports,
    normalise_networks,
    parse_kv_url,
)


def overlay_backend(engines, requested="auto", kv_url=None, swarm_states=None, cluster_stores=None):
    """``{host: version} | crosshost.docker.overlay_backend(...)``: {backend, reason, warnings, kv}."""
    try:
        kv = parse_kv_url(kv_url) if kv_url else None
        out = choose_backend(requested, engines, kv["url"] if kv else None, swarm_states, cluster_stores)
    except OverlayPlanError as err:
        raise AnsibleFilterError(str(err)) from err
    out["kv"] = kv
    out["ports"] = firewall_ports(out["backend"])
    return out


def overlay_networks(networks, underlay_mtu=1500, backend="swarm", existing=None, reserved=None, state="present"):
    """``overlay_networks | crosshost.docker.overlay_networks(...)``: {networks, create, keep, remove}."""
    try:
        nets = normalise_networks(networks, underlay_mtu, backend)
        out = check_networks(nets, existing, reserved, state)
    except OverlayPlanError as err:
        raise AnsibleFilterError(str(err)) from err
    out["networks"] = nets
    return out


def overlay_endpoints(attach, networks=None, endpoints=None):
    """``{host: [..]} | crosshost.docker.overlay_endpoints(networks, endpoints)``: the attachments, or fails."""
    try:
        return check_endpoints(networks or [], attach, endpoints)
    except OverlayPlanError as err:
        raise AnsibleFilterError(str(err)) from err


class FilterModule(object):
    def filters(self):
        return {"overlay_backend": overlay_backend, "overlay_networks": overlay_networks,
                "overlay_endpoints": overlay_endpoints}
