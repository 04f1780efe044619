# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters crosshost.docker.consul_settings and consul_plan: see their .yml docs."""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.module_utils._consul_plan import (
    ConsulPlanError,
    check_settings,
    plan_cluster,
)

_SHA256_CACHE = {}


def _sha256(path):
    """SHA-256 of a local file, cached by (path, size, mtime): the role checks every host's settings."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _SHA256_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _SHA256_CACHE[key] = digest.hexdigest()
    return _SHA256_CACHE[key]


def consul_settings(settings):
    """``{'consul_version': ..., ...} | crosshost.docker.consul_settings``: normalised settings without secrets."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("consul_settings expects a dict of the role's variables, got %s"
                                 % type(settings).__name__)
    local = {"tls_files_exist": {}}
    src = settings.get("consul_archive_src") or ""
    if isinstance(src, str) and src.strip().startswith("/"):
        local["archive_src_exists"] = os.path.isfile(src.strip())
        if local["archive_src_exists"]:
            local["archive_src_sha256"] = _sha256(src.strip())
    for key in ("consul_tls_ca_file", "consul_tls_cert_file", "consul_tls_key_file"):
        value = settings.get(key) or ""
        local["tls_files_exist"][key] = isinstance(value, str) and value.startswith("/") and os.path.isfile(value)
    try:
        return check_settings(dict(settings), local)
    except ConsulPlanError as err:
        raise AnsibleFilterError(str(err)) from err


def consul_plan(hosts, servers=None, addresses=None, retry_join=None):
    """``ansible_play_hosts_all | crosshost.docker.consul_plan(servers, addresses)``: who is a server, retry_join."""
    try:
        return plan_cluster(list(hosts) if isinstance(hosts, (list, tuple)) else hosts,
                            list(servers) if isinstance(servers, (list, tuple)) else servers,
                            dict(addresses or {}), retry_join=list(retry_join or []))
    except ConsulPlanError as err:
        raise AnsibleFilterError(str(err)) from err


class FilterModule(object):
    def filters(self):
        return {"consul_settings": consul_settings, "consul_plan": consul_plan}
