# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""crosshost.docker.link's persist_backend=auto detection of systemd-networkd.

Debian and Ubuntu make /run/systemd/netif at every boot (systemd's tmpfiles) whether networkd runs or
not: where systemd runs the host, only `systemctl is-active systemd-networkd` decides (found on the
full-OS lab hosts, where networkd files were written on hosts that did not run networkd).
"""

from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.modules import link as mod


class FakeModule:
    def __init__(self, active, bins=("systemctl",)):
        self.active, self.bins, self.calls = active, bins, []

    def get_bin_path(self, name):
        return "/usr/bin/" + name if name in self.bins else None

    def run_command(self, cmd):
        self.calls.append(cmd)
        return (0 if self.active else 3), "", ""


@pytest.mark.parametrize("systemd, netif, active, want", [
    (True, True, False, False),   # Debian with ifupdown: /run/systemd/netif exists, networkd inactive
    (True, True, True, True),
    (True, False, True, True),
    (False, True, False, True),   # no systemd to ask: the directory is the only sign
    (False, False, False, False),
])
def test_networkd_is_what_systemd_says_where_it_runs(monkeypatch, systemd, netif, active, want):
    dirs = {"/run/systemd/system": systemd, "/run/systemd/netif": netif}
    monkeypatch.setattr(mod.os.path, "isdir", lambda p: dirs.get(p, False))
    module = FakeModule(active)
    assert mod.detect(module)["networkd"] is want
    assert bool(module.calls) is systemd
