# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our files on the host and the systemd units that use them: the one adapter for "persistence".

forward_rules, input_rules and route_table's linux provider keep a boot script of theirs and, where
systemd runs the host, a oneshot unit that runs it. This module holds what they share:

    systemd_running(which=None) -> bool
        /run/systemd/system exists and `systemctl` is found (``which``: name -> path or None, e.g.
        AnsibleModule.get_bin_path; default shutil.which).
    oneshot_unit(description, exec_start, unit=(), documentation=None) -> str
        The text of one of our oneshot units. ``unit`` holds the [Unit] ordering lines, in order, as
        (key, value) pairs, e.g. (("After", "docker.service"), ("Wants", "docker.service")).
    plan_files(want, read=read_text) -> FilesPlan
        ``want``: {path: wanted content, or None for "absent"}, in the order to report them. The plan
        reads what is there now and says what would change (for check mode and diff mode):
            plan.changes   {path: content or None}, only the paths that differ, in want's order
            plan.have      {path: current content or None}
            plan.want      the wanted dict
            plan.steps()   (["file PATH", ...] written, ["file PATH", ...] removed)
            plan.diff()    (before, after) text: "# PATH\\n<content or (absent)>" per changed path
            bool(plan)     whether anything changes
    apply_files(plan, run, systemd=True, module=None, mode=None, enable=True) -> [actions]
        Writes (atomically, through _files.write_atomic) or removes each changed path; then, when a
        changed path is a systemd unit or drop-in and ``systemd`` is true, runs ``systemctl
        daemon-reload`` once and ``systemctl enable NAME`` for each unit written, ``disable NAME`` for
        each unit removed (drop-ins: daemon-reload only; ``enable=False``: no enable/disable).
        ``run(argv, data=None) -> (rc, out, err)`` is AnsibleModule.run_command or a fake, or a
        _systemd.Systemd adapter. ``mode``: a callable path -> file mode; default 0o755 for *.sh, 0o644
        otherwise. Returns the actions done, as text. Raises PersistError (details: path, rc, stderr) on
        the first failure.

systemctl is run through the one systemd adapter, ``_systemd.Systemd``.

Pure Python, no Ansible imports: tests run it in a temporary directory with a fake systemctl.
"""

from __future__ import annotations

import os

from ansible_collections.crosshost.docker.plugins.module_utils._diff import files_text
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PersistError
from ansible_collections.crosshost.docker.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.crosshost.docker.plugins.module_utils._systemd import (
    SYSTEMD_RUN_DIR,
    Systemd,
    SystemdError,
    running,
)
UNIT_DIR = "/etc/systemd/system"
UNIT_SUFFIXES = (".service", ".timer", ".socket", ".path", ".mount", ".target")
DOCUMENTATION_URL = "https://github.com/crosshost/docker"


def systemd_running(which=None, run_dir=SYSTEMD_RUN_DIR):
    """Whether systemd runs this host (and `systemctl` is there to talk to it)."""
    return running(which, run_dir)


def unit_path(name, unit_dir=UNIT_DIR):
    """Where our unit `name` (e.g. "crosshost-routes.service") lives."""
    return os.path.join(unit_dir, name)


def oneshot_unit(description, exec_start, unit=(), documentation=None):
    """Our oneshot unit: runs `exec_start` once at boot, enabled from multi-user.target."""
    lines = ["[Unit]", "Description=%s" % description]
    if documentation:
        lines.append("Documentation=%s" % documentation)
    lines.extend("%s=%s" % (key, value) for key, value in unit)
    lines += ["", "[Service]", "Type=oneshot", "RemainAfterExit=yes", "ExecStart=%s" % exec_start,
              "", "[Install]", "WantedBy=multi-user.target"]
    return "\n".join(lines) + "\n"


def is_unit(path):
    """A systemd unit file (enable/disable applies to it)."""
    return os.path.basename(path).endswith(UNIT_SUFFIXES)


def is_drop_in(path):
    """A unit's drop-in (…/NAME.service.d/*.conf): needs daemon-reload, nothing to enable."""
    parent = os.path.basename(os.path.dirname(path))
    return parent.endswith(tuple(s + ".d" for s in UNIT_SUFFIXES))


class FilesPlan(object):
    """What our files are, what we want them to be, and which differ. See plan_files."""

    def __init__(self, want, have):
        self.want = dict(want)
        self.have = dict(have)
        self.changes = dict((path, content) for path, content in want.items() if have.get(path) != content)

    def __bool__(self):
        return bool(self.changes)

    def steps(self):
        """(["file PATH" written], ["file PATH" removed]), in want's order."""
        added = ["file %s" % path for path, content in self.changes.items() if content is not None]
        removed = ["file %s" % path for path, content in self.changes.items() if content is None]
        return added, removed

    def diff(self):
        """(before, after): for each changed path, "# PATH" then its content (or "(absent)")."""
        return files_text(self.changes, self.have)


def plan_files(want, read=read_text):
    """The plan for our files: `want` is {path: content or None (absent)}."""
    return FilesPlan(want, dict((path, read(path)) for path in want))


def default_mode(path):
    return 0o755 if path.endswith(".sh") else 0o644


def apply_files(plan, run, systemd=True, module=None, mode=None, enable=True):
    """Make the files as planned, then tell systemd (see the module docstring). Returns the actions."""
    changes = plan.changes if isinstance(plan, FilesPlan) else plan
    mode = mode or default_mode
    done = []
    for path, content in changes.items():
        try:
            if content is None:
                if os.path.lexists(path):
                    os.unlink(path)
                done.append("removed %s" % path)
            else:
                write_atomic(path, content, mode(path), module=module)
                done.append("wrote %s" % path)
        except OSError as exc:
            raise PersistError("cannot %s %s: %s" % ("remove" if content is None else "write", path,
                                                     exc.strerror or exc), path=path)
    units = [path for path in changes if is_unit(path)]
    if not systemd or not (units or any(is_drop_in(path) for path in changes)):
        return done
    # daemon-reload first, so that systemd sees the unit (or its removal) before enable/disable. For our
    # units its status is not checked (enable/disable below report what matters); for drop-ins it is.
    systemctl = run if isinstance(run, Systemd) else Systemd(run)
    try:
        systemctl.daemon_reload()
    except SystemdError:
        if not (units and enable):
            raise
    done.append("systemctl daemon-reload")
    for path in units if enable else []:
        name = os.path.basename(path)
        if changes[path] is not None:
            systemctl.enable(name)
            done.append("systemctl enable %s" % name)
        else:
            systemctl.disable(name)
            done.append("systemctl disable %s" % name)
    return done
