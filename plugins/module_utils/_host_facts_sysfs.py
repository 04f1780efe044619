# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""/proc/sys and /sys/class/net files for ``crosshost.docker.docker_host_info``, pure (see ``_host_facts``):
the integer of a sysctl file, a container interface from its sysfs files.
"""

from __future__ import annotations

__all__ = [
    "parse_sysctl_int",
    "normalise_sysfs_link",
]


def parse_sysctl_int(text):
    """Content of a /proc/sys file holding one integer -> int (None when empty/not an int)."""
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def normalise_sysfs_link(name, files):
    """A container interface from its sysfs files (``/sys/class/net/<name>/<file>`` contents).

    ``files`` maps file names (ifindex, iflink, address, mtu, operstate) to their text; missing
    ones give None. ``iflink`` is the ifindex of the peer (veth) or parent (macvlan/ipvlan) device,
    as numbered in the namespace where that device lives.
    """
    def _int(key):
        return parse_sysctl_int(files.get(key))

    address = (files.get("address") or "").strip() or None
    state = (files.get("operstate") or "").strip() or None
    return {
        "name": name,
        "ifindex": _int("ifindex"),
        "iflink": _int("iflink"),
        "address": address,
        "mtu": _int("mtu"),
        "state": state,
    }
