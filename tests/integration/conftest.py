import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from labutil import Lab  # noqa: E402


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
