# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter crosshost.docker.drift_items: what a check-mode run found different, see drift_items.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._drift import drift_items as _drift_items


def drift_items(results):
    """``{'daemon_json': r1, 'rules': r2, ...} | crosshost.docker.drift_items``: one line per item."""
    if not isinstance(results, dict):
        raise AnsibleFilterError("drift_items: expected a dict of registered results, got %r" % type(results).__name__)
    return _drift_items(results)


class FilterModule(object):
    def filters(self):
        return {"drift_items": drift_items}
