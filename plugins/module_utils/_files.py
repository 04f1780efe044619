# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and atomically writing the small files our modules own (boot scripts, units, configs)."""

from __future__ import annotations

import os


def read_text(path):
    """The file's text, or None when it does not exist or cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def write_text(module, path, content, mode=0o644):
    """Write `content` to `path` atomically (temp file in the same directory, then AnsibleModule's
    atomic_move), creating the directory when needed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(content)
    os.chmod(tmp, mode)
    module.atomic_move(tmp, path)
