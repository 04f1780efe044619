# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and atomically writing the small files our modules own (boot scripts, units, configs).

``write_atomic`` is the collection's one atomic writer: every module that writes a file of ours goes
through it (directly, or through ``_persist`` for our boot scripts and systemd units).

    read_text(path)                      -> text, or None when absent or unreadable
    make_dirs(directory, mode=0o755)     create missing directories with exactly ``mode``
    write_atomic(path, data, mode=0o644, module=None, keep_attrs=True, owner=None, fsync=False)
    write_text(module, path, content, mode=0o644)   write_atomic with AnsibleModule's atomic_move

``write_atomic`` raises ``OSError`` as the system reports it (``_persist`` turns it into a
``PersistError``; daemon_json reports it with its own words). No Ansible imports: the AnsibleModule is
passed in where its SELinux handling is wanted.
"""

from __future__ import annotations

import errno
import os
import tempfile


def read_text(path):
    """The file's text, or None when it does not exist or cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def make_dirs(directory, mode=0o755):
    """Create `directory` and its missing parents with exactly `mode` (whatever the umask)."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for item in reversed(missing):
        os.mkdir(item, mode)
        os.chmod(item, mode)


def write_atomic(path, data, mode=0o644, module=None, keep_attrs=True, owner=None, fsync=False, dir_mode=0o755):
    """Write `data` (str as UTF-8, or bytes) to `path` atomically: a temp file in the same directory
    (created with `dir_mode` when missing), then a rename over `path`. No temp file is left behind.

    - ``keep_attrs=True`` (the default): an existing file keeps its mode, owner and SELinux context; a new
      file gets `mode`. With `module`, the rename is AnsibleModule.atomic_move (which also copes with
      bind-mounted and cross-device files).
    - ``keep_attrs=False``: the file gets `mode` and `owner` ((uid, gid), skipped where not permitted)
      whatever it had; with `module`, its SELinux context is kept (the default one for a new file).
    - ``fsync=True``: the file and then its directory are flushed to disk.
    """
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    make_dirs(directory, dir_mode)
    existed = os.path.exists(path)
    context = None
    if not keep_attrs and module is not None and module.selinux_enabled():
        context = module.selinux_context(path) if existed else module.selinux_default_context(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if owner is not None:
                try:
                    os.fchown(handle.fileno(), owner[0], owner[1])
                except OSError as exc:
                    if exc.errno != errno.EPERM:
                        raise
            os.fchmod(handle.fileno(), mode)
            if fsync:
                os.fsync(handle.fileno())
        if keep_attrs and module is not None:
            module.atomic_move(tmp, path)
            if not existed:
                os.chmod(path, mode)
        else:
            if keep_attrs and existed:
                _copy_attrs(path, tmp)
            os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if context is not None:
        module.set_context_if_different(path, context, False)
    if fsync:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _copy_attrs(src, dest):
    """Mode and owner of `src` onto `dest` (owner only where permitted)."""
    st = os.stat(src)
    os.chmod(dest, st.st_mode & 0o7777)
    try:
        os.chown(dest, st.st_uid, st.st_gid)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise


def write_text(module, path, content, mode=0o644):
    """Write `content` to `path` atomically with AnsibleModule's atomic_move (see write_atomic):
    an existing file keeps its mode and owner, a new one gets `mode`. `module` may be None."""
    write_atomic(path, content, mode, module=module)
