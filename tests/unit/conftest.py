# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.crosshost.docker`` importable for a plain ``pytest tests/unit``.

Tests import collection code the way ansible-test requires
(``from ansible_collections.crosshost.docker.plugins... import ...``). Three cases:

* ansible-test units (or an installed collection): already importable, nothing to do;
* the checkout already sits at ``.../ansible_collections/crosshost/docker``: put the directory
  above ``ansible_collections`` first on sys.path;
* a plain checkout (e.g. /work/main): make a temporary ``ansible_collections/crosshost/docker``
  symlink to the repository root, outside the tree (a link inside it would make tools that walk
  the tree loop), and remove it at exit.

Then the fixtures every unit test may use: two autouse ones (``_module_side_process``,
``_fresh_warnings``), ``fake_bin`` (fake commands for get_bin_path), ``fake_dockerd`` (a Docker API
on a unix socket) and, for filter plugin tests that set ``FILTER_PLUGIN``, ``loaded``, ``filters`` and
``filter_error``. Plain helpers (run_module, FakeDockerd, FakeAPIClient, FakeRun, ...) are in helpers.py.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import shutil
import stat
import sys
import tempfile

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _importable():
    try:
        importlib.import_module("ansible_collections.crosshost.docker.plugins.module_utils._host_facts")
    except ImportError:
        return False
    return True


def _make_importable():
    if _importable():
        return
    parts = _REPO_ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "crosshost"] and parts[-1] == "docker":
        sys.path.insert(0, os.sep.join(parts[:-3]) or os.sep)
    else:
        tmp = tempfile.mkdtemp(prefix="crosshost-docker-units-")
        os.makedirs(os.path.join(tmp, "ansible_collections", "crosshost"))
        os.symlink(_REPO_ROOT, os.path.join(tmp, "ansible_collections", "crosshost", "docker"))
        atexit.register(shutil.rmtree, tmp, True)  # removes the link, never follows it
        sys.path.insert(0, tmp)
    importlib.invalidate_caches()
    for name in [n for n in sys.modules if n == "ansible_collections" or n.startswith("ansible_collections.crosshost")]:
        if sys.modules[name] is None:
            del sys.modules[name]
    if not _importable():
        raise ImportError("cannot make ansible_collections.crosshost.docker importable from %s" % _REPO_ROOT)


_make_importable()


import pytest  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common import warnings as _warnings  # noqa: E402

from ansible_collections.crosshost.docker.tests.unit.helpers import filter_plugins, serving  # noqa: E402


@pytest.fixture(autouse=True)
def _module_side_process():
    """Every unit test runs as on a managed host, whatever was imported before it.

    Importing controller code (ansible.errors, a filter plugin's dependencies) sets
    ``ansible.module_utils._internal.is_controller`` for the whole process; from then on module
    warnings go to Display instead of the module result, so module tests would pass or fail by
    the order pytest runs them in. The flag is cleared before each test and put back after it.
    """
    from ansible.module_utils import _internal

    was = getattr(_internal, "is_controller", False)
    _internal.is_controller = False
    yield
    _internal.is_controller = was


@pytest.fixture(autouse=True)
def _fresh_warnings():
    """ansible-core keeps module warnings in a process-wide dict: every test starts with it empty."""
    saved = dict(_warnings._global_warnings)
    _warnings._global_warnings.clear()
    yield
    _warnings._global_warnings.clear()
    _warnings._global_warnings.update(saved)


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """A directory of fake commands (tmp_path/bin); AnsibleModule.get_bin_path only looks there.

    ``fake_bin(name, script)`` writes an executable ``#!/bin/sh`` script and returns its path.
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        path = bindir / arg
        if path.exists():
            return str(path)
        if required:
            self.fail_json(msg="Failed to find required executable %s" % arg)
        return None

    monkeypatch.setattr(AnsibleModule, "get_bin_path", get_bin_path)

    def add(name, script):
        path = bindir / name
        path.write_text("#!/bin/sh\n" + script + ("" if script.endswith("\n") else "\n"))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    return add


@pytest.fixture
def fake_dockerd(tmp_path):
    """``fake_dockerd(server_class)`` -> (server, "unix://<socket>"): a helpers.FakeDockerd subclass
    served on a socket in tmp_path for the test."""
    with contextlib.ExitStack() as stack:
        def start(server_class):
            path = str(tmp_path / "docker.sock")
            return stack.enter_context(serving(server_class(path))), "unix://" + path
        yield start


@pytest.fixture(name="loaded", scope="module")
def fixture_loaded(request):
    """(plugin module, AnsibleFilterError) for the test file's ``FILTER_PLUGIN`` (a filter plugin's
    name), imported with the controller flag put back afterwards (see helpers.filter_plugins)."""
    with filter_plugins(request.module.FILTER_PLUGIN) as (plugins, filter_error):
        yield plugins[0], filter_error


@pytest.fixture(name="filters")
def fixture_filters(loaded):
    """The filters of the test file's FILTER_PLUGIN, by name."""
    return loaded[0].FilterModule().filters()


@pytest.fixture(name="filter_error")
def fixture_filter_error(loaded):
    return loaded[1]
