# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""link's main() against fake adapters: a netlink adapter over links held in memory, networkd files in a
temporary directory, no nmcli. Nothing on the machine is read or changed."""

from __future__ import annotations

import copy
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.crosshost.docker.plugins.module_utils import _link_persist
from ansible_collections.crosshost.docker.plugins.modules import link as mod
from ansible_collections.crosshost.docker.tests.unit import helpers

ETH1 = dict(name="eth1", index=3, kind=None, mtu=1500, up=True, promisc=False, operstate="UP", parent_index=None,
            vlan_id=None, mode=None, parent=None, addresses=[], routes=[])
VLAN = {"name": "eth1.10", "kind": "vlan", "link": "eth1", "vlan_id": 10, "mtu": 1400}
SHIM = {"name": "mvshim0", "kind": "macvlan_shim", "link": "eth1", "address": "10.0.0.254/32",
        "routes": ["10.0.0.192/26"]}


class FakeLinks(object):
    """The netlink adapter's interface (_link_netlink.Links) over links held in memory; apply() does what
    the kernel would."""

    def __init__(self, *links):
        self.links = dict((link["name"], copy.deepcopy(link)) for link in links)
        self.applied = []
        self.closed = False

    def names(self):
        return sorted(self.links)

    def get(self, name):
        return copy.deepcopy(self.links.get(name))

    def close(self):
        self.closed = True

    def _new(self, arg, kind, **attrs):
        parent = [link for link in self.links.values() if link["index"] == arg["link"]][0]
        self.links[arg["name"]] = dict(
            ETH1, name=arg["name"], index=max(link["index"] for link in self.links.values()) + 1, kind=kind,
            mtu=arg["mtu"] or parent["mtu"], up=False, parent_index=parent["index"], parent=parent["name"], **attrs)

    def apply(self, name, op, arg):
        self.applied.append((name, op))
        link = self.links.get(name)
        if op == "create_vlan":
            self._new(arg, "vlan", vlan_id=arg["vlan_id"])
        elif op == "create_macvlan":
            self._new(arg, "macvlan", mode=arg["mode"])
        elif op == "delete":
            del self.links[name]
        elif op == "set_up":
            link["up"] = True
        elif op == "set_mtu":
            link["mtu"] = arg
        elif op == "set_promisc":
            link["promisc"] = arg
        else:
            what, key = op.split("_")
            items = link["addresses" if key == "addr" else "routes"]
            if what == "add":
                items.append(arg)
            else:
                items.remove(arg)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """host(*links) -> FakeLinks: the links the next runs see; networkd files go to tmp_path/network."""
    network = tmp_path / "network"
    network.mkdir()
    monkeypatch.setattr(_link_persist, "NETWORKD_DIR", str(network))
    monkeypatch.setattr(_link_persist, "IFUPDOWN_DIR", str(tmp_path / "interfaces.d"))
    monkeypatch.setattr(mod, "NETWORKD_SEARCH", (str(network),))
    monkeypatch.setattr(mod, "HAS_PYROUTE2", True)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: None)

    def setup(*links):
        fake = FakeLinks(*links)
        monkeypatch.setattr(mod.nl, "Links", lambda: fake)
        return fake
    return setup


def run_module(capsys, args, check=False, diff=False):
    return helpers.run_module(capsys, mod.main, args, check=check, diff=diff)


def test_vlan_check_mode_then_create_then_nothing_to_do(host, capsys):
    links = host(ETH1)
    args = dict(VLAN, persist=True, persist_backend="networkd")
    netdev = os.path.join(_link_persist.NETWORKD_DIR, "60-crosshost-eth1.10.netdev")

    check = run_module(capsys, args, check=True, diff=True)
    assert check["_rc"] == 0 and check["changed"] is True
    assert check["actions"][:2] == ["create vlan eth1.10 (id 10 on eth1)", "set eth1.10 up"]
    assert "write %s" % netdev in check["actions"]
    assert check["link"]["state"] == "up" and check["link"]["vlan_id"] == 10 and check["link"]["mtu"] == 1400
    assert check["diff"]["before"].startswith("state: absent\n")
    assert "vlan_id: 10\n" in check["diff"]["after"]
    assert "# %s\n(absent)\n" % netdev in check["diff"]["before"]
    assert "# %s\n" % netdev in check["diff"]["after"] and "[VLAN]\nId=10\n" in check["diff"]["after"]
    assert links.applied == [] and "eth1.10" not in links.links and not os.path.exists(netdev)
    assert links.closed

    done = run_module(capsys, args, diff=True)
    assert done["_rc"] == 0 and done["changed"] is True and done["actions"] == check["actions"]
    assert done["diff"] == check["diff"]
    assert links.applied == [("eth1.10", "create_vlan"), ("eth1.10", "set_up")]
    assert done["link"] == dict(check["link"], ifindex=4)
    assert netdev in done["persistence"]["files"] and done["persistence"]["backend"] == "networkd"
    assert "[VLAN]\nId=10\n" in open(netdev).read()

    again = run_module(capsys, args, diff=True)
    assert again["_rc"] == 0 and again["changed"] is False and again["actions"] == []
    assert again["diff"]["before"] == again["diff"]["after"]
    assert again["persistence"] == done["persistence"] and len(links.applied) == 2

    again_check = run_module(capsys, args, check=True)
    assert again_check["changed"] is False and "diff" not in again_check


def test_shim_addresses_and_routes_then_absent(host, capsys):
    links = host(ETH1)
    created = run_module(capsys, SHIM, diff=True)
    assert created["changed"] is True
    assert created["link"]["addresses"] == ["10.0.0.254/32"] and created["link"]["routes"] == ["10.0.0.192/26"]
    assert "addresses: ['10.0.0.254/32']\n" in created["diff"]["after"]
    assert [op for _name, op in links.applied] == ["create_macvlan", "set_up", "add_addr", "add_route"]
    assert run_module(capsys, SHIM)["changed"] is False

    check = run_module(capsys, dict(SHIM, state="absent"), check=True, diff=True)
    assert check["changed"] is True and check["actions"] == ["delete macvlan shim mvshim0"]
    assert check["diff"]["after"].startswith("state: absent\n") and "mvshim0" in links.links

    gone = run_module(capsys, dict(SHIM, state="absent"))
    assert gone["changed"] is True and gone["link"] == {"state": "absent"} and "mvshim0" not in links.links
    assert run_module(capsys, dict(SHIM, state="absent"))["changed"] is False


def test_parent_mtu_and_promisc(host, capsys):
    links = host(ETH1)
    args = {"name": "eth1", "mtu": 9000, "promisc": True}
    check = run_module(capsys, args, check=True, diff=True)
    assert check["changed"] is True and check["actions"] == ["set mtu of eth1 1500 -> 9000", "set promisc of eth1 on"]
    assert "mtu: 1500\n" in check["diff"]["before"] and "mtu: 9000\n" in check["diff"]["after"]
    assert links.links["eth1"]["mtu"] == 1500

    assert run_module(capsys, args)["changed"] is True
    assert links.links["eth1"]["mtu"] == 9000 and links.links["eth1"]["promisc"] is True
    assert run_module(capsys, args)["changed"] is False


def test_refusals_fail_with_the_link_as_it_is(host, capsys):
    links = host(ETH1, dict(ETH1, name="eth1.10", index=4, kind="dummy"))
    failed = run_module(capsys, VLAN)
    assert failed["_rc"] == 1 and failed["changed"] is False
    assert "exists but is a dummy link" in failed["msg"] and failed["link"]["kind"] == "dummy"
    assert links.applied == []

    missing = run_module(capsys, dict(VLAN, link="eth9"))
    assert missing["_rc"] == 1 and "parent interface eth9 does not exist" in missing["msg"]
