# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the planner filters: raise a planning error, or return it as data.

``errors='raise'`` fails the template with the planner's message (AnsibleFilterError).
``errors='return'`` returns ``{"result": ..., "error": None | {"msg", "host"}}`` so that a role fails
with a plain task, once, on the host whose input is wrong (see module_utils/_plan_errors.py).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._plan_errors import planned

ERRORS = ("raise", "return")


def filter_outcome(call, error_class, errors="raise", names=None, hosts=None):
    if errors not in ERRORS:
        raise AnsibleFilterError("errors=%r: use 'raise' or 'return'" % (errors,))
    out = planned(call, error_class, names, hosts)
    if errors == "return":
        return out
    if out["error"]:
        raise AnsibleFilterError(out["error"]["msg"])
    return out["result"]
