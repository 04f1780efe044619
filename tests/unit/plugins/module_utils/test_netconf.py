# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the nmcli adapter (plugins/module_utils/_netconf.py) with a fake runner."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError
from ansible_collections.crosshost.docker.plugins.module_utils._netconf import NetconfError, Nmcli


class FakeRun(object):
    def __init__(self, answers, default=(0, "", "")):
        self.calls = []
        self.answers = answers
        self.default = default

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        return self.answers.get(tuple(argv[1:]), self.default)


def test_device_connection():
    run = FakeRun({("-g", "GENERAL.CONNECTION", "device", "show", "eth1"): (0, "Wired connection 1\n", ""),
                   ("-g", "GENERAL.CONNECTION", "device", "show", "eth2"): (0, "\n", ""),
                   ("-g", "GENERAL.CONNECTION", "device", "show", "eth9"): (10, "", "Error: Device 'eth9' not found.")})
    nm = Nmcli(run, "/usr/bin/nmcli")
    assert nm.device_connection("eth1") == "Wired connection 1"
    assert nm.device_connection("eth2") is None
    assert nm.device_connection("eth9") is None
    assert run.calls[0] == ["/usr/bin/nmcli", "-g", "GENERAL.CONNECTION", "device", "show", "eth1"]


def test_connection_settings_in_key_order():
    run = FakeRun({("-g", "802-3-ethernet.mtu,connection.type", "connection", "show", "ch-eth1.10"):
                   (0, "1400\nvlan\n", "")}, default=(10, "", "Error: no such connection profile."))
    nm = Nmcli(run)
    assert nm.connection_settings("ch-eth1.10", ["802-3-ethernet.mtu", "connection.type"]) == {
        "802-3-ethernet.mtu": "1400", "connection.type": "vlan"}
    assert nm.connection_settings("ch-eth9.10", ["connection.type"]) == {}
    assert run.calls[0][0] == "nmcli"


def test_apply_runs_the_command_and_raises_with_its_stderr():
    run = FakeRun({("connection", "delete", "ch-eth1.10"): (10, "", "Error: unknown connection 'ch-eth1.10'.\n")})
    nm = Nmcli(run)
    nm.apply(["nmcli", "connection", "up", "ch-eth1.10"])
    with pytest.raises(BackendError) as err:
        nm.apply(["nmcli", "connection", "delete", "ch-eth1.10"])
    assert isinstance(err.value, NetconfError)
    assert str(err.value) == "nmcli connection delete ch-eth1.10 failed: Error: unknown connection 'ch-eth1.10'."
    assert err.value.details == {"rc": 10, "stderr": "Error: unknown connection 'ch-eth1.10'.\n"}
    assert run.calls == [["nmcli", "connection", "up", "ch-eth1.10"], ["nmcli", "connection", "delete", "ch-eth1.10"]]
