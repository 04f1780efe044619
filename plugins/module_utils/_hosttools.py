# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The adapter for the host's small network tools that modules read: iproute2's `ip` and `ping`.

docker_host_info reads interfaces and routes with `ip -json`; connectivity asks `ping -V` whether ping
is iputils and `ip route get` which way a peer is reached. (The pings themselves run inside a probe's
network namespace, in _connectivity_probe.)

``HostTools(run, which=None)``: ``run(argv, data=None) -> (rc, out, err)`` is AnsibleModule.run_command
(see ``_runner.module_runner``) or a fake; ``which(name) -> path or None`` is AnsibleModule.get_bin_path
(default: the bare name, found on PATH by the runner).

    path(name) -> str or None          the binary's path
    ip(args) -> str                    `ip ARGS` output; HostToolError when ip is missing or fails
    route_get(address) -> str or None  `ip route get ADDRESS`: its output, or its error text when it
                                       fails; None when ip is missing
    version(name, flag="-V") -> (path or None, rc, text)
                                       `NAME -V`, stdout and stderr joined as the tool printed them;
                                       (None, None, "") when the tool is missing

``HostToolError`` (a BackendError) has ``rc`` and ``stderr`` in ``details`` when the tool ran. Pure
Python, no Ansible imports.
"""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError
from ansible_collections.crosshost.docker.plugins.module_utils._runner import CommandAdapter


class HostToolError(BackendError):
    """A host tool (ip) is missing or failed."""


class HostTools(CommandAdapter):
    """`ip` and `ping` through one runner. See the module docstring."""

    def path(self, name):
        return self.lookup(name)

    def _call(self, argv):
        rc, out, err = self._run(argv)
        return rc, out or "", err or ""

    def ip(self, args):
        """`ip ARGS`: its output; HostToolError ("ip ARGS failed (rc=N): ...") when it fails."""
        ip = self.path("ip")
        if not ip:
            raise HostToolError("ip (iproute2) is not installed")
        rc, out, err = self._call([ip] + list(args))
        if rc != 0:
            raise HostToolError("%s failed (rc=%d): %s" % (" ".join(["ip"] + list(args)), rc, (err or out).strip()),
                                rc=rc, stderr=err)
        return out

    def route_get(self, address):
        """What `ip route get ADDRESS` says (its error text when it fails), or None without ip."""
        ip = self.path("ip")
        if not ip:
            return None
        rc, out, err = self._call([ip, "route", "get", address])
        return out if rc == 0 else err

    def version(self, name, flag="-V"):
        """(path, rc, stdout + stderr) of `NAME -V`, or (None, None, "") when NAME is not installed."""
        path = self.path(name)
        if not path:
            return None, None, ""
        rc, out, err = self._call([path, flag])
        return path, rc, out + err
