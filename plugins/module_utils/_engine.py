# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Docker engine a host runs: version parsing (pure) and finding the running dockerd.

The binary that matters is the one running, not the first `dockerd` on PATH: hosts with several
engines installed (and the lab's 26/28 hosts) have another one there. The running daemon writes
its PID to /var/run/docker.pid, and /proc/<pid>/exe is its binary.

The adapter for the dockerd binary, ``Dockerd(run, which=None)``: ``run(argv, data=None) -> (rc, out,
err)`` is AnsibleModule.run_command (see ``_runner.module_runner``) or a fake; ``which(name) -> path or
None`` is AnsibleModule.get_bin_path.

    find() -> (path, version tuple or None, running pid or None)      find_dockerd through the runner
    validate(dockerd, data, tmpdir) -> (rc, output, config path)      `dockerd --validate --config-file
        /dev/stdin` fed `data` (bytes), or, without /dev/stdin, a copy in `tmpdir` (a path, or a callable
        that gives one: asked only then, e.g. ``lambda: module.tmpdir``); output is stderr then
        stdout, joined; the config path is the one dockerd names in its messages
"""

from __future__ import annotations

import os
import re

from ansible_collections.crosshost.docker.plugins.module_utils._runner import module_runner

PIDFILES = ("/var/run/docker.pid", "/run/docker.pid")
DOCKERD_CANDIDATES = ("/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd")

# Engine versions where daemon.json behaviour changes.
CLUSTER_STORE_REMOVED = (23, 0)  # cluster-store / cluster-advertise: dockerd refuses to start
VALIDATE_FLAG = (23, 0)  # dockerd --validate --config-file
ALLOW_DIRECT_ROUTING = (28, 0)  # allow-direct-routing; raw-table DROP of routed traffic to containers


def parse_version(text):
    """'28.5.2+dfsg4' / 'Docker version 20.10.24+dfsg1, build 297e128' -> (28, 5, 2); None if none."""
    if not text:
        return None
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    if not m:
        return None
    return tuple(int(x) if x is not None else 0 for x in m.groups())


def at_least(version, minimum):
    """True when the parsed `version` is >= `minimum` (a tuple); None when the version is unknown."""
    if version is None:
        return None
    return tuple(version) >= tuple(minimum)


def version_text(version):
    return ".".join(str(x) for x in version) if version else "unknown"


def running_dockerd(proc_root="/proc", pidfiles=PIDFILES):
    """(pid, binary path) of the running dockerd from its pidfile, or (None, None)."""
    for pidfile in pidfiles:
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            exe = os.readlink(os.path.join(proc_root, str(pid), "exe"))
        except (OSError, ValueError):
            continue
        if os.path.basename(exe).startswith("dockerd"):
            return pid, exe
    return None, None


def find_dockerd(run_command, which):
    """The dockerd binary to ask: the running one, else the first on PATH or in the usual places.

    `which(name)` and `run_command(argv)` are injected (AnsibleModule.get_bin_path / run_command).
    Returns (path, version tuple or None, running pid or None).
    """
    pid, path = running_dockerd()
    if path is None:
        path = which("dockerd") or next((p for p in DOCKERD_CANDIDATES if os.path.exists(p)), None)
    if path is None:
        return None, None, pid
    rc, out, err = run_command([path, "--version"])
    return path, parse_version(out) if rc == 0 else None, pid


class Dockerd(object):
    """The dockerd binary (not its API): finding it and `dockerd --validate`. See the module docstring."""

    def __init__(self, run, which=None, stdin="/dev/stdin"):
        self.run = run
        self.which = which
        self.stdin = stdin

    @classmethod
    def for_module(cls, module):
        return cls(module_runner(module), module.get_bin_path)

    def find(self):
        return find_dockerd(self.run, self.which)

    def validate(self, dockerd, data, tmpdir):
        """`dockerd --validate` of `data` (bytes): (rc, its output, the config path dockerd was given)."""
        if os.path.exists(self.stdin):
            rc, out, err = self.run([dockerd, "--validate", "--config-file", self.stdin], data=data)
            config = self.stdin
        else:
            config = os.path.join(tmpdir() if callable(tmpdir) else tmpdir, "daemon.json")
            with open(config, "wb") as handle:
                handle.write(data)
            rc, out, err = self.run([dockerd, "--validate", "--config-file", config])
        return rc, "\n".join(x for x in (err, out) if x and x.strip()), config
