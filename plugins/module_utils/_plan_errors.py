# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner errors as the user should read them: named after the role variable, tied to a host.

The planners (``_subnet_plan``, ``_macvlan_plan``, ``_overlay_plan``) say which input is wrong by
starting their messages with the input's name, for example ``overrides[h2]: 10.0.0.0/24 overlaps
...``. A role knows that input as ``direct_route_overrides``. ``planned()`` runs a planner, and
instead of raising returns ``{"result": ..., "error": None}`` or ``{"result": None, "error":
{"msg": "direct_route_overrides[h2]: ...", "host": "h2"}}`` so that a role can fail with a plain
task, once, on the host whose input is wrong (no "filter plugin failed" wrapper, no ``localhost``).

No Ansible imports: unit-tested on its own.
"""

from __future__ import annotations

import re

_FIELD = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_.-]*)(?P<index>(?:\[[^\]]*\])*)(?P<rest>:.*)$", re.S)
_INDEX = re.compile(r"\[([^\]]*)\]")


def rename(message, names):
    """``overrides[h2]: ...`` -> ``direct_route_overrides[h2]: ...`` when ``names`` maps ``overrides``.

    A name holding ``{key}`` takes the first index instead of keeping the brackets: with
    ``{"existing": "{key}'s current bip"}``, ``existing[h2]: ...`` becomes ``h2's current bip: ...``."""
    match = _FIELD.match(message)
    if not match or not names or match.group("field") not in names:
        return message
    name = str(names[match.group("field")])
    keys = _INDEX.findall(match.group("index"))
    if "{key}" in name and keys:
        return name.replace("{key}", keys[0]) + "".join("[%s]" % k for k in keys[1:]) + match.group("rest")
    return name + match.group("index") + match.group("rest")


def host_of(message, hosts):
    """The inventory host a message is about: the first ``[key]`` after its field that is one of
    ``hosts``; else the only one of ``hosts`` the message names; else None (the whole cluster's)."""
    known = [str(h) for h in (hosts or ())]
    match = _FIELD.match(message)
    if match:
        for key in _INDEX.findall(match.group("index")):
            key = key.strip("'\"")
            if key in known:
                return key
    named = [h for h in known if re.search(r"(?<![\w.-])%s(?![\w-]|\.\w)" % re.escape(h), message)]
    return named[0] if len(named) == 1 else None


def planned(call, errors, names=None, hosts=None):
    """Run ``call()``. Returns {"result", "error"}; ``error`` is None or {"msg", "host"} for one of ``errors``."""
    try:
        return {"result": call(), "error": None}
    except errors as err:
        return {"result": None, "error": {"msg": rename(str(err), names), "host": host_of(str(err), hosts)}}
