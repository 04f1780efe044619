# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The adapter for the network configuration tools that link's persistence runs: NetworkManager's nmcli.

(systemd-networkd and ifupdown persistence is files only, rendered by the pure _link_persist and written
by _files; whether networkd runs is asked through _systemd.)

``Nmcli(run, nmcli="nmcli")``: ``run(argv, data=None) -> (rc, out, err)`` is AnsibleModule.run_command
(see ``_runner.module_runner``) or a fake; ``nmcli`` is the binary's path.

    device_connection(device) -> str or None    the connection active on a device
                                                (`nmcli -g GENERAL.CONNECTION device show DEV`)
    connection_settings(name, keys) -> dict     {key: value} of a connection (`nmcli -g K1,K2 connection
                                                show NAME`); {} when there is no such connection
    apply(argv)                                 run one nmcli command made by _link_persist (nmcli_args,
                                                nmcli_delete_args); NetconfError when it fails

``NetconfError`` (a BackendError) says "<command> failed: <stderr>", with ``rc`` and ``stderr`` in
``details``. Pure Python, no Ansible imports.
"""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError
from ansible_collections.crosshost.docker.plugins.module_utils._runner import module_runner


class NetconfError(BackendError):
    """A network configuration tool (nmcli) refused a change."""


class Nmcli(object):
    """NetworkManager through nmcli. See the module docstring."""

    def __init__(self, run, nmcli="nmcli"):
        self._run = run
        self.nmcli = nmcli or "nmcli"

    @classmethod
    def for_module(cls, module, nmcli="nmcli"):
        return cls(module_runner(module), nmcli)

    def device_connection(self, device):
        """The name of the connection on `device`, or None (no such device, or none active)."""
        rc, out, _err = self._run([self.nmcli, "-g", "GENERAL.CONNECTION", "device", "show", device])
        out = out or ""
        return out.strip() if rc == 0 and out.strip() else None

    def connection_settings(self, name, keys):
        """{key: value} for `keys` (in that order) of connection `name`; {} when nmcli does not know it."""
        keys = list(keys)
        rc, out, _err = self._run([self.nmcli, "-g", ",".join(keys), "connection", "show", name])
        if rc != 0:
            return {}
        return dict(zip(keys, (out or "").rstrip("\n").split("\n")))

    def apply(self, argv):
        """Run one nmcli command (argv as _link_persist makes it); NetconfError when it fails."""
        rc, _out, err = self._run(list(argv))
        if rc != 0:
            raise NetconfError("%s failed: %s" % (" ".join(argv), (err or "").strip()), rc=rc, stderr=err)
