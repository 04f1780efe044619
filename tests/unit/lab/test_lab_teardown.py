# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How `lab-down` finds the lab's processes (lab/lab.py lab_processes): by namespace, never the machine's.

The lab itself is tested in tests/integration (test_lab_safety.py, test_probe_hygiene.py); here the
finding rules run against real processes this test starts and ends itself, by PID."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers

lab = helpers.load_script("crosshost_lab_teardown", "lab", "lab.py")

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace of its own needs root")


def cfg(tmp_path):
    return lab.Config({"LAB_NAME": "nolab", "LAB_DIR": str(tmp_path / "nolab")})


def test_a_lab_that_is_not_there_owns_no_process(tmp_path):
    owned = lab.lab_ns_inodes(cfg(tmp_path), [], [])
    assert owned == {"net": set(), "mnt": set(), "uts": set()}
    assert lab.lab_processes(cfg(tmp_path), owned) == set()


def test_the_machines_own_namespaces_never_count(tmp_path):
    own = {kind: {lab.ns_inode(os.getpid(), kind)} for kind in lab.NS_KINDS}
    assert lab.lab_processes(cfg(tmp_path), own) == set()
    assert own == {"net": set(), "mnt": set(), "uts": set()}  # taken out of the lab's
    assert os.getpid() in lab.ancestors(os.getpid()) and os.getppid() in lab.ancestors(os.getpid())


@root_only
def test_processes_in_a_lab_namespace_are_found_also_when_not_below_it(tmp_path):
    holder = subprocess.Popen(["unshare", "-n", "--", "sleep", "60"], start_new_session=True)
    joined = None
    try:
        deadline = time.monotonic() + 10
        while lab.ns_inode(holder.pid, "net") == lab.ns_inode(os.getpid(), "net") and time.monotonic() < deadline:
            time.sleep(0.01)  # unshare has not exec'd sleep yet
        inode = lab.ns_inode(holder.pid, "net")
        # a process that entered the namespace from outside, as nsenter does (its parent is this test)
        joined = subprocess.Popen(["nsenter", "-t", str(holder.pid), "-n", "--", "sleep", "60"], start_new_session=True)
        while lab.ns_inode(joined.pid, "net") != inode and time.monotonic() < deadline:
            time.sleep(0.01)
        found = lab.lab_processes(cfg(tmp_path), {"net": {inode}, "mnt": set(), "uts": set()})
        assert found == {holder.pid, joined.pid}
    finally:
        for proc in (holder, joined):
            if proc is not None:
                proc.kill()
                proc.wait()
