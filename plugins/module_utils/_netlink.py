# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink through pyroute2: the one guarded import, the kernel constants, and opening a socket.

The netlink adapters (``_link_netlink`` for links and their routes, ``_route_linux`` for a routing
table) build on this module, so pyroute2 is imported, and its absence reported, in one place.
"""

from __future__ import annotations

try:
    from pyroute2 import IPRoute
    # NetlinkError is for the adapters that import it from here.
    from pyroute2.netlink.exceptions import NetlinkError  # noqa: F401  pylint: disable=unused-import
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError as e:  # the import sanity test and hosts without pyroute2
    IPRoute = None
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = e
    NetlinkError = OSError

MAIN_TABLE = 254
RTPROT_KERNEL = 2
RTN_UNICAST = 1


def open_iproute(error, needs):
    """A pyroute2 IPRoute socket; raises ``error("<needs>: <import error>")`` when pyroute2 is missing."""
    if not HAS_PYROUTE2:
        raise error("%s: %s" % (needs, PYROUTE2_IMPORT_ERROR))
    return IPRoute()
