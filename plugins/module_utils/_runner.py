# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner the command adapters take: ``run(argv, data=None) -> (rc, out, err)``.

``module_runner(module)`` makes one from AnsibleModule.run_command; unit tests pass a fake instead.
Used by _systemd, _engine, _hosttools and _netconf. Pure Python, no Ansible imports.
"""

from __future__ import annotations


def module_runner(module):
    """AnsibleModule.run_command as ``run(argv, data=None)`` (data passed as is, no newline added)."""
    def run(argv, data=None):
        if data is None:
            return module.run_command(argv)
        return module.run_command(argv, data=data, binary_data=True)
    return run


class CommandAdapter(object):
    """Base of the command adapters (_iptables, _systemd, _hosttools): a runner, an optional
    ``which(name) -> path or None``, and the binaries' paths looked up once each."""

    def __init__(self, run, which=None):
        self._run = run
        self._which = which
        self._paths = {}

    @classmethod
    def for_module(cls, module):
        return cls(module_runner(module), module.get_bin_path)

    def lookup(self, name):
        """The binary's path (the bare name when there is no `which`), or None when it is missing."""
        if name not in self._paths:
            self._paths[name] = self._which(name) if self._which else name
        return self._paths[name]
