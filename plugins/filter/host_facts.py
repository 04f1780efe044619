# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter crosshost.docker.host_facts: facts of several hosts, gathered by path, see host_facts.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

_MISSING = object()


def _lookup(variables, path):
    """``variables`` followed along the dotted ``path``; _MISSING where a step is absent or None."""
    value = variables
    for step in path.split("."):
        try:
            value = value[step]
        except (KeyError, TypeError, IndexError):
            return _MISSING
        if value is None:
            return _MISSING
    return value


def host_facts(hosts, hostvars, paths, required=None, as_list=False):
    """``hosts | crosshost.docker.host_facts(hostvars, paths)``.

    ``paths`` is one dotted path (-> {host: value}) or {field: path} (-> {host: {field: value}}); an
    absent value is None. ``required`` (a field, or the path) leaves out hosts that lack it.
    ``as_list`` returns [{"host": host, field: value, ...}] in host order instead (``paths`` a dict)."""
    if isinstance(paths, str):
        fields, single = {"value": paths}, True
    elif isinstance(paths, dict) and paths and all(isinstance(p, str) for p in paths.values()):
        fields, single = dict(paths), False
    else:
        raise AnsibleFilterError("host_facts: paths must be a dotted path such as '__my_fact.key', or a dict "
                                 "{field: path}, not %r" % (paths,))
    if single and as_list:
        raise AnsibleFilterError("host_facts: as_list needs paths as a dict {field: path}, to name the fields")
    want = ("value" if required else None) if single else required
    if want is not None and want not in fields:
        raise AnsibleFilterError("host_facts: required=%r is not one of the fields %s" % (required, sorted(fields)))
    gathered = []
    for host in hosts:
        if host not in hostvars:
            raise AnsibleFilterError("host_facts: %s is not in the inventory" % host)
        found = {f: _lookup(hostvars[host], p) for f, p in fields.items()}
        if want is not None and found[want] is _MISSING:
            continue
        gathered.append((host, {f: (None if v is _MISSING else v) for f, v in found.items()}))
    if as_list:
        return [dict(values, host=host) for host, values in gathered]
    return {host: (values["value"] if single else values) for host, values in gathered}


class FilterModule(object):
    def filters(self):
        return {"host_facts": host_facts}
