# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the host tools adapter (plugins/module_utils/_hosttools.py) with a fake runner."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError
from ansible_collections.crosshost.docker.plugins.module_utils._hosttools import HostToolError, HostTools


class FakeRun(object):
    def __init__(self, answers):
        self.calls = []
        self.answers = answers

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        return self.answers[tuple(argv[1:])]


def which(found):
    return lambda name: "/usr/sbin/" + name if name in found else None


def test_ip_returns_its_output():
    run = FakeRun({("-json", "address", "show"): (0, "[]\n", "")})
    assert HostTools(run, which(["ip"])).ip(["-json", "address", "show"]) == "[]\n"
    assert run.calls == [["/usr/sbin/ip", "-json", "address", "show"]]


def test_ip_failures_name_the_command():
    run = FakeRun({("-json", "route", "show"): (255, "", "Error: unknown table\n")})
    with pytest.raises(BackendError) as err:
        HostTools(run, which(["ip"])).ip(["-json", "route", "show"])
    assert isinstance(err.value, HostToolError)
    assert str(err.value) == "ip -json route show failed (rc=255): Error: unknown table"
    assert err.value.details == {"rc": 255, "stderr": "Error: unknown table\n"}
    with pytest.raises(HostToolError, match=r"^ip \(iproute2\) is not installed$"):
        HostTools(run, which([])).ip(["-json", "address", "show"])


def test_route_get_gives_the_output_or_the_error_text():
    run = FakeRun({("route", "get", "10.0.2.2"): (0, "10.0.2.2 via 192.168.1.1 dev eth0\n", ""),
                   ("route", "get", "10.9.9.9"): (2, "", "RTNETLINK answers: Network is unreachable\n")})
    tools = HostTools(run, which(["ip"]))
    assert tools.route_get("10.0.2.2") == "10.0.2.2 via 192.168.1.1 dev eth0\n"
    assert tools.route_get("10.9.9.9") == "RTNETLINK answers: Network is unreachable\n"
    assert HostTools(run, which([])).route_get("10.0.2.2") is None


def test_version_joins_what_the_tool_printed():
    run = FakeRun({("-V",): (0, "ping from iputils 20221126\n", "")})
    assert HostTools(run, which(["ping"])).version("ping") == ("/usr/sbin/ping", 0, "ping from iputils 20221126\n")
    assert HostTools(run, which([])).version("ping") == (None, None, "")
    assert HostTools(FakeRun({("-V",): (1, None, "ping: invalid option -- 'V'\n")})).version("ping") == \
        ("ping", 1, "ping: invalid option -- 'V'\n")
