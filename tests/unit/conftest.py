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
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
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
