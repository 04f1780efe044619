# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one adapter for systemd (systemctl, journalctl) and for the other service commands.

Every module that asks systemd something or tells it to do something goes through it: _persist (our
units: daemon-reload, enable, disable), docker_daemon (restart/start/reload of docker.service, its
journal, reset-failed) and link (is systemd-networkd active).

    running(which=None, run_dir=SYSTEMD_RUN_DIR) -> bool
        /run/systemd/system exists and `systemctl` is found.

The adapter, ``Systemd(run, which=None)``: ``run(argv, data=None) -> (rc, out, err)`` is
AnsibleModule.run_command (see ``_runner.module_runner``) or a fake; ``which(name) -> path or None`` is
AnsibleModule.get_bin_path (default: the bare name, found on PATH by the runner).

    path(name="systemctl", required=False)   the binary's path (None when missing and not required)
    systemctl(*args) -> (rc, out, err)       systemctl ARGS, as it ran (nothing checked)
    works() -> bool                          `systemctl show --property=Version` succeeds
    show(unit, *properties) -> dict          `systemctl show UNIT --property=P ...`; {} when it fails
    is_active(unit) -> bool                  `systemctl is-active --quiet UNIT`
    daemon_reload() / enable(name) / disable(name)
                                             raise SystemdError when systemctl fails
    reset_failed(unit) -> rc                 `systemctl reset-failed UNIT` (its status is not checked)
    journal(unit, since, lines=50) -> str    `journalctl -u UNIT --since SINCE ...`; "" when journalctl
                                             is missing or fails
    command(argv) -> (rc, out, err)          any service command (``service docker restart``,
                                             ``/etc/init.d/docker restart``, ``systemctl restart ...``),
                                             out and err "" rather than None

``SystemdError`` (a PersistError, see ``_errors``) has ``rc`` and ``stderr`` in ``details``, and
``command``, ``rc``, ``output`` (stderr, else stdout, stripped) and ``stderr`` as attributes, for
callers that word the failure their own way.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PersistError
from ansible_collections.crosshost.docker.plugins.module_utils._runner import CommandAdapter

SYSTEMD_RUN_DIR = "/run/systemd/system"


class SystemdError(PersistError):
    """systemctl failed (daemon-reload, enable, disable)."""


def running(which=None, run_dir=SYSTEMD_RUN_DIR):
    """Whether systemd runs this host (and `systemctl` is there to talk to it)."""
    which = which or shutil.which
    return os.path.isdir(run_dir) and which("systemctl") is not None


class Systemd(CommandAdapter):
    """systemctl, journalctl and service commands through one runner. See the module docstring."""

    # -- binaries --------------------------------------------------------------------------------
    def path(self, name="systemctl", required=False):
        """The binary's path (the bare name without `which`); None when missing, SystemdError if required."""
        if required and not self.lookup(name):
            raise SystemdError("%s is not installed (not found on PATH)" % name)
        return self.lookup(name)

    def _systemctl(self):
        return self.path("systemctl") or "systemctl"

    # -- running ---------------------------------------------------------------------------------
    def command(self, argv):
        """Run any service command; (rc, out, err) with out and err as text ("" for None)."""
        rc, out, err = self._run(list(argv))
        return rc, out or "", err or ""

    def systemctl(self, *args):
        """``systemctl ARGS``: (rc, out, err), nothing checked."""
        return self.command([self._systemctl()] + [str(a) for a in args])

    def _check(self, *args):
        rc, out, err = self.systemctl(*args)
        if rc != 0:
            output = err.strip() or out.strip()
            exc = SystemdError("systemctl %s failed: %s" % (" ".join(args), output), rc=rc, stderr=err)
            exc.command, exc.rc, exc.output, exc.stderr = self._systemctl(), rc, output, err
            raise exc
        return out

    # -- reading ---------------------------------------------------------------------------------
    def works(self):
        """Whether systemctl can talk to systemd (``systemctl show --property=Version``)."""
        rc, _out, _err = self.systemctl("show", "--property=Version")
        return rc == 0

    def show(self, unit, *properties):
        """``systemctl show UNIT --property=P...`` as {property: value}; {} when systemctl fails."""
        rc, out, _err = self.systemctl("show", unit, *("--property=%s" % p for p in properties))
        if rc != 0:
            return {}
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def is_active(self, unit):
        rc, _out, _err = self.systemctl("is-active", "--quiet", unit)
        return rc == 0

    def journal(self, unit, since, lines=50):
        """The unit's journal since `since` (journalctl's --since format), or "" when it cannot be read."""
        journalctl = self.path("journalctl")
        if not journalctl:
            return ""
        rc, out, _err = self.command([journalctl, "-u", unit, "--since", since, "-n", str(lines), "--no-pager",
                                      "-o", "short-iso"])
        return out if rc == 0 else ""

    # -- changing --------------------------------------------------------------------------------
    def daemon_reload(self):
        self._check("daemon-reload")

    def enable(self, name):
        self._check("enable", name)

    def disable(self, name):
        self._check("disable", name)

    def reset_failed(self, unit):
        """``systemctl reset-failed UNIT``, so that the start rate limit does not block the next start."""
        rc, _out, _err = self.systemctl("reset-failed", unit)
        return rc
