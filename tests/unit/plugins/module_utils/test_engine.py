# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _engine as engine


@pytest.mark.parametrize("text, want", [
    ("28.5.2+dfsg4", (28, 5, 2)),
    ("Docker version 20.10.24+dfsg1, build 297e128", (20, 10, 24)),
    ("26.1", (26, 1, 0)),
    ("", None), (None, None), ("dev", None),
])
def test_parse_version(text, want):
    assert engine.parse_version(text) == want


def test_at_least_and_text():
    assert engine.at_least((28, 5, 2), engine.ALLOW_DIRECT_ROUTING) is True
    assert engine.at_least((20, 10, 24), engine.CLUSTER_STORE_REMOVED) is False
    assert engine.at_least((23, 0, 0), engine.VALIDATE_FLAG) is True
    assert engine.at_least(None, (1, 0)) is None
    assert engine.version_text((20, 10, 24)) == "20.10.24" and engine.version_text(None) == "unknown"


def test_running_dockerd_reads_the_pidfile_and_exe(tmp_path):
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    os.symlink("/opt/engine/usr/sbin/dockerd", proc / "4242" / "exe")
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text("4242\n")
    assert engine.running_dockerd(str(proc), [str(tmp_path / "missing.pid"), str(pidfile)]) == \
        (4242, "/opt/engine/usr/sbin/dockerd")
    pidfile.write_text("4243\n")  # stale pidfile: no such process
    assert engine.running_dockerd(str(proc), [str(pidfile)]) == (None, None)
    os.symlink("/usr/bin/sleep", proc / "4242" / "exe2")
    (proc / "4244").mkdir()
    os.symlink("/usr/bin/sleep", proc / "4244" / "exe")
    pidfile.write_text("4244")  # a reused PID that is not dockerd
    assert engine.running_dockerd(str(proc), [str(pidfile)]) == (None, None)
