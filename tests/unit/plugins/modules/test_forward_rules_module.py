# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""forward_rules' (and input_rules') main() against fake adapters: an iptables that applies
iptables-restore input to its own tables, a fake systemctl, files in a temporary directory. Nothing on
the machine is read or changed."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _chain_module as chains
from ansible_collections.crosshost.docker.plugins.module_utils import _iptables
from ansible_collections.crosshost.docker.plugins.module_utils._errors import IptablesError
from ansible_collections.crosshost.docker.plugins.modules import forward_rules as mod
from ansible_collections.crosshost.docker.tests.unit import helpers

CLEAN = helpers.docker_iptables_save()
DOCKER_MASQ = helpers.docker_iptables_save(nat=["-A POSTROUTING -s 10.0.0.0/24 ! -o docker0 -j MASQUERADE"])
ARGS = {"local_subnets": ["10.0.0.0/24"], "peer_subnets": ["10.1.0.0/24"], "underlay_interface": "eth0"}


class FakeIptables(object):
    """The adapter's interface over tables held in memory; restore() applies its input like iptables-restore
    --noflush (all or nothing is not needed: the planner's input is valid)."""

    def __init__(self, text, refuse=None, frozen=False):
        self.parsed = _iptables.parse_save(text)
        self.refuse = refuse
        self.frozen = frozen
        self.restored = []
        self.policies = []

    def path(self, name="iptables", required=True):
        return "/usr/sbin/" + name

    def save(self, table=None, counters=False, strict=True):
        return json.loads(json.dumps(self.parsed))

    def policy(self, table, chain, target):
        self.policies.append((table, chain, target))
        self.parsed["chains"][table][chain]["policy"] = target
        if (table, chain) == ("filter", "FORWARD"):
            self.parsed["forward_policy"] = target

    def restore(self, text, noflush=True):
        self.restored.append(text)
        if self.refuse:
            raise IptablesError("iptables-restore refused our rules (nothing was changed: it applies all or nothing): "
                                + self.refuse, restore_input=text, rc=1, stderr=self.refuse)
        if self.frozen:
            return
        table = None
        for line in text.splitlines():
            words = list(_iptables.tokens(line))
            chains_ = self.parsed["chains"].setdefault(table, {}) if table else None
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":"):
                chains_.setdefault(words[0][1:], {"policy": None, "rules": []})
            elif words[0] in ("-A", "-D", "-F", "-X"):
                rules = chains_[words[1]]["rules"]
                spec = " ".join(words[2:])
                if words[0] == "-A":
                    rules.append(spec)
                elif words[0] == "-D":
                    rules[:] = [r for r in rules if _iptables.tokens(r) != tuple(words[2:])][:len(rules)]
                elif words[0] == "-F":
                    del rules[:]
                else:
                    del chains_[words[1]]
            elif words[0] == "-I":
                chains_[words[1]]["rules"].insert(int(words[2]) - 1, " ".join(words[3:]))


@pytest.fixture
def host(tmp_path, monkeypatch):
    """host(iptables_text, ...) -> (FakeIptables, FakeRun): the adapters the next runs use."""
    monkeypatch.setattr(mod, "UNIT_PATH", str(tmp_path / "systemd" / "crosshost-forward-rules.service"))
    monkeypatch.setattr(mod.engine, "find_dockerd", lambda run, which: ("/usr/bin/dockerd", (26, 1, 4), None))
    (tmp_path / "daemon.json").write_text('{"ip-masq": false}')

    def setup(text, systemd=True, **kw):
        tables, run = FakeIptables(text, **kw), helpers.FakeRun()  # systemctl, dockerd --version
        monkeypatch.setattr(chains, "adapters", lambda module: chains.Adapters(
            run, lambda name: "/usr/bin/" + name, iptables=tables, systemd=systemd))
        return tables, run
    return setup


def run_module(capsys, tmp_path, args, check=False, diff=False):
    args = dict(args, persist_dir=str(tmp_path / "persist"), daemon_json_path=str(tmp_path / "daemon.json"))
    return helpers.run_module(capsys, mod.main, args, check=check, diff=diff)


def test_check_mode_then_apply_then_nothing_to_do(host, capsys, tmp_path):
    tables, run = host(CLEAN)
    script = str(tmp_path / "persist" / "forward-rules.sh")

    check = run_module(capsys, tmp_path, ARGS, check=True, diff=True)
    assert check["_rc"] == 0 and check["changed"] is True
    assert "filter CROSSHOST-FORWARD -s 10.1.0.0/24 -d 10.0.0.0/24 -i eth0 -j ACCEPT" in check["added"]
    assert check["added"][-2:] == ["file %s" % script, "file %s" % mod.UNIT_PATH]
    assert "# %s\n(absent)\n" % script in check["diff"]["before"]
    assert "FORWARD policy DROP\n" in check["diff"]["after"]
    assert tables.restored == [] and run.calls == [] and not os.path.exists(script)

    done = run_module(capsys, tmp_path, ARGS)
    assert done["_rc"] == 0 and done["changed"] is True and done["added"] == check["added"]
    assert len(tables.restored) == 1 and tables.restored[0].startswith("*filter\n:CROSSHOST-FORWARD - [0:0]\n")
    assert done["persistence"] == {"mode": "systemd", "script": script, "unit": mod.UNIT_PATH}
    assert "/usr/sbin/iptables-restore --noflush <<'EOF'" in open(script).read()
    assert "ExecStart=/bin/sh %s\n" % script in open(mod.UNIT_PATH).read()
    assert run.calls == [["systemctl", "daemon-reload"], ["systemctl", "enable", "crosshost-forward-rules.service"]]
    assert done["forward_policy"] == "DROP" and done["engine_version"] == "26.1.4"

    again = run_module(capsys, tmp_path, ARGS)
    assert again["_rc"] == 0 and again["changed"] is False and again["added"] == again["removed"] == []
    assert len(tables.restored) == 1

    gone = run_module(capsys, tmp_path, {"state": "absent"})
    assert gone["changed"] is True and not os.path.exists(script) and not os.path.exists(mod.UNIT_PATH)
    assert run.calls[-1] == ["systemctl", "disable", "crosshost-forward-rules.service"]
    assert "CROSSHOST-FORWARD" not in tables.parsed["chains"]["filter"]
    assert gone["persistence"] == {"mode": "none", "script": None, "unit": None}


def test_docker_masquerading_fails_and_warns_in_check_mode(host, capsys, tmp_path):
    host(DOCKER_MASQ)
    check = run_module(capsys, tmp_path, ARGS, check=True)
    assert check["_rc"] == 0 and any("Docker masquerades 10.0.0.0/24 itself" in w for w in check["_warnings"])
    failed = run_module(capsys, tmp_path, ARGS)
    assert failed["_rc"] == 1 and failed["msg"].startswith("Docker masquerades 10.0.0.0/24 itself")
    assert "added" not in failed  # nothing was planned or touched


def test_restore_refusal_reports_the_plan_and_the_input(host, capsys, tmp_path):
    host(CLEAN, refuse="iptables-restore: line 3 failed")
    failed = run_module(capsys, tmp_path, ARGS)
    assert failed["_rc"] == 1 and failed["msg"].startswith("iptables-restore refused our rules")
    assert failed["restore_input"].startswith("*filter\n") and failed["changed"] is True and failed["added"]
    assert not os.path.exists(str(tmp_path / "persist" / "forward-rules.sh"))  # files come after the rules


def test_verification_failure(host, capsys, tmp_path):
    host(CLEAN, frozen=True, systemd=False)
    failed = run_module(capsys, tmp_path, ARGS)
    assert failed["_rc"] == 1 and "does not hold the planned rules" in failed["msg"]
    assert failed["persistence"]["mode"] == "script"


def test_policy_mode_sets_the_forward_policy(host, capsys, tmp_path):
    tables, _run = host(CLEAN, systemd=False)
    args = {"mode": "policy", "masquerade": False, "persist": False}
    done = run_module(capsys, tmp_path, args)
    assert done["changed"] is True and done["added"] == ["filter FORWARD policy ACCEPT (was DROP)"]
    assert tables.policies == [("filter", "FORWARD", "ACCEPT")] and done["forward_policy"] == "ACCEPT"
    assert any("FORWARD policy ACCEPT forwards all traffic" in w for w in done["_warnings"])
    back = run_module(capsys, tmp_path, dict(args, state="absent"))
    assert back["removed"] == ["filter FORWARD policy DROP (was ACCEPT)"]


def test_rules_mode_sets_an_accept_policy_back_to_drop_only_when_asked(host, capsys, tmp_path):
    tables, _run = host(CLEAN.replace(":FORWARD DROP", ":FORWARD ACCEPT"), systemd=False)
    args = dict(ARGS, persist=False)
    kept = run_module(capsys, tmp_path, args, check=True)
    assert not any("policy" in line for line in kept["added"]) and kept["forward_policy"] == "ACCEPT"
    check = run_module(capsys, tmp_path, dict(args, forward_policy="drop"), check=True)
    assert "filter FORWARD policy DROP (was ACCEPT)" in check["added"] and tables.policies == []
    assert check["forward_policy_before"] == "ACCEPT" and check["forward_policy"] == "DROP"
    done = run_module(capsys, tmp_path, dict(args, forward_policy="drop"))
    assert tables.policies == [("filter", "FORWARD", "DROP")] and done["forward_policy"] == "DROP"
    assert run_module(capsys, tmp_path, dict(args, forward_policy="drop"))["changed"] is False


def test_missing_docker_user_chain(host, capsys, tmp_path):
    host(CLEAN.replace(":DOCKER-USER - [0:0]\n", "").replace("-A DOCKER-USER -j RETURN\n", "")
         .replace("-A FORWARD -j DOCKER-USER\n", ""))
    failed = run_module(capsys, tmp_path, ARGS, check=True)
    assert failed["_rc"] == 1 and failed["msg"].startswith("The DOCKER-USER chain does not exist in /usr/sbin/iptables")


def test_input_rules_shares_the_flow(host, capsys, tmp_path, monkeypatch):
    """input_rules' main() runs the same Job through the same fake adapters."""
    from ansible_collections.crosshost.docker.plugins.modules import input_rules

    tables, run = host(CLEAN)
    monkeypatch.setattr(input_rules, "UNIT_DIR", str(tmp_path / "systemd"))
    args = {"chain": "CROSSHOST-OVERLAY", "ports": ["4789/udp"], "sources": ["192.168.1.12"], "interface": "eth0",
            "persist_dir": str(tmp_path / "persist")}

    def call(extra, check=False):
        return helpers.run_module(capsys, input_rules.main, dict(args, **extra), check=check)

    done = call({})
    assert done["changed"] is True and done["input_policy"] == "ACCEPT"
    assert "filter CROSSHOST-OVERLAY -s 192.168.1.12/32 -i eth0 -p udp -m udp --dport 4789 -j ACCEPT" in done["added"]
    assert tables.parsed["chains"]["filter"]["INPUT"]["rules"][0] == \
        "-m comment --comment crosshost.docker -j CROSSHOST-OVERLAY"
    assert done["persistence"]["unit"] == str(tmp_path / "systemd" / "crosshost-overlay.service")
    assert run.calls[-1] == ["systemctl", "enable", "crosshost-overlay.service"]
    assert call({})["changed"] is False
    gone = call({"state": "absent"})
    assert gone["changed"] is True and "CROSSHOST-OVERLAY" not in tables.parsed["chains"]["filter"]
