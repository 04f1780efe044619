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
