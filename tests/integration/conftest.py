import importlib
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from labutil import Lab, collections_path  # noqa: E402

# Tests that import the collection's code (ansible_collections.crosshost.docker...) find it through
# .cache/collections. Link and path first, before any test module is imported, and forget what the
# import system cached about those directories: in a fresh clone the link is made here, and a
# directory listing cached within the same second would miss it.
if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
importlib.invalidate_caches()


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="lab integration tests need root (network namespaces)")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def lab_factory():
    """Bring up labs for one test module and remove them at its end, whatever happened."""
    made = []

    def make(suffix, hosts=2, engines="20.10 28"):
        lab = Lab(suffix, hosts, engines)
        made.append(lab)
        return lab.up()

    yield make
    for lab in made:
        lab.down()
