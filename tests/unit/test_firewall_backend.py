# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker's firewall backend (_firewall_backend): daemon.json's ``firewall-backend``, /info's
``FirewallBackend.Driver``, how the two combine, the refusal of nftables and its message; and
forward_rules refusing nftables before it reads iptables, in check mode too, but not with state=absent.
No Docker 29 engine is involved: the /info answers are written here (Docker 28 reports
``{"Driver": "iptables"}``, see tests/unit/fixtures/host_facts/engine_info_28.5.json)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _chain_module as chains
from ansible_collections.crosshost.docker.plugins.module_utils import _firewall_backend as fb
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, IptablesError, PlanError
from ansible_collections.crosshost.docker.plugins.modules import forward_rules as mod
from ansible_collections.crosshost.docker.tests.unit import helpers

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "host_facts")


def info(driver):
    return {"ID": "x", "FirewallBackend": {"Driver": driver, "Info": [["ReloadedAt", "2025-01-01T00:00:00Z"]]}}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


# --------------------------------------------------------------------------------------------
# daemon.json


@pytest.mark.parametrize("daemon_json, want", [
    ({"firewall-backend": "nftables"}, "nftables"),
    ({"firewall-backend": "iptables"}, "iptables"),
    ({"firewall-backend": " NFTables "}, "nftables"),
    ({"firewall-backend": "IPTABLES"}, "iptables"),
    ({"firewall-backend": "nftables", "ip-masq": False, "bip": "10.0.0.1/24"}, "nftables"),
    ({}, None),
    ({"ip-masq": False}, None),
    ({"firewall-backend": ""}, None),
    ({"firewall-backend": "   "}, None),
    ({"firewall-backend": None}, None),
    ({"firewall-backend": "firewalld"}, None),
    ({"firewall-backend": "nft"}, None),
    ({"firewall-backend": "nftables2"}, None),
    ({"firewall-backend": 1}, None),
    ({"firewall-backend": True}, None),
    ({"firewall-backend": ["nftables"]}, None),
    ({"firewall-backend": {"driver": "nftables"}}, None),
    ({"firewall_backend": "nftables"}, None),  # not the key dockerd reads
    ({"FirewallBackend": "nftables"}, None),
    (None, None),
    ([], None),
    (["firewall-backend", "nftables"], None),
    ("nftables", None),
])
def test_configured_backend(daemon_json, want):
    assert fb.configured_backend(daemon_json) == want


# --------------------------------------------------------------------------------------------
# GET /info


@pytest.mark.parametrize("answer, want", [
    (info("nftables"), "nftables"),
    (info("iptables"), "iptables"),
    (info("iptables+firewalld"), "iptables"),
    (info("nftables+firewalld"), "nftables"),
    (info("NFTABLES"), "nftables"),
    ({"FirewallBackend": {"Driver": "nftables"}}, "nftables"),
    ({"FirewallBackend": {"Driver": ""}}, None),
    ({"FirewallBackend": {"Driver": None}}, None),
    ({"FirewallBackend": {"Driver": "ebtables"}}, None),
    ({"FirewallBackend": {"Driver": 7}}, None),
    ({"FirewallBackend": {"Info": []}}, None),
    ({"FirewallBackend": {}}, None),
    ({"FirewallBackend": None}, None),  # x-nullable in the API
    ({"FirewallBackend": "nftables"}, None),
    ({"FirewallBackend": ["nftables"]}, None),
    ({"Driver": "nftables"}, None),  # the storage driver's key at the top level, not the firewall's
    ({}, None),
    (None, None),
    ("nftables", None),
    ([], None),
])
def test_running_backend(answer, want):
    assert fb.running_backend(answer) == want


def test_running_backend_of_real_engines():
    assert fb.running_backend(fixture("engine_info_28.5.json")) == "iptables"
    assert fb.running_backend(fixture("engine_info_28.5_lab.json")) == "iptables"
    assert fb.running_backend(fixture("engine_info_20.10.json")) is None  # engines before 28 do not report it


# --------------------------------------------------------------------------------------------
# detect: both places together


@pytest.mark.parametrize("daemon_json, answer, want", [
    # neither says
    (None, None, (None, None, None, None)),
    ({}, {}, (None, None, None, None)),
    ({"firewall-backend": "bogus"}, info("bogus"), (None, None, None, None)),
    # one place says
    ({"firewall-backend": "nftables"}, None, ("nftables", fb.FROM_DAEMON_JSON, "nftables", None)),
    ({"firewall-backend": "iptables"}, None, ("iptables", fb.FROM_DAEMON_JSON, "iptables", None)),
    (None, info("nftables"), ("nftables", fb.FROM_ENGINE, None, "nftables")),
    ({}, info("iptables"), ("iptables", fb.FROM_ENGINE, None, "iptables")),
    ({"firewall-backend": ""}, info("iptables"), ("iptables", fb.FROM_ENGINE, None, "iptables")),
    ({"firewall-backend": 3}, info("nftables"), ("nftables", fb.FROM_ENGINE, None, "nftables")),
    ({"firewall-backend": "nftables"}, {"FirewallBackend": None}, ("nftables", fb.FROM_DAEMON_JSON, "nftables", None)),
    # both agree
    ({"firewall-backend": "nftables"}, info("nftables"), ("nftables", fb.FROM_BOTH, "nftables", "nftables")),
    ({"firewall-backend": "iptables"}, info("iptables"), ("iptables", fb.FROM_BOTH, "iptables", "iptables")),
    ({"firewall-backend": "nftables"}, info("nftables+firewalld"),
     ("nftables", fb.FROM_BOTH, "nftables", "nftables")),
    # they disagree: nftables wins, from the place that says it
    ({"firewall-backend": "nftables"}, info("iptables"), ("nftables", fb.FROM_DAEMON_JSON, "nftables", "iptables")),
    ({"firewall-backend": "iptables"}, info("nftables"), ("nftables", fb.FROM_ENGINE, "iptables", "nftables")),
])
def test_detect(daemon_json, answer, want):
    assert tuple(fb.detect(daemon_json, answer)) == want


def test_detect_does_not_change_its_input():
    daemon_json, answer = {"firewall-backend": " NFTables "}, info("iptables+firewalld")
    copies = json.dumps(daemon_json), json.dumps(answer)
    fb.detect(daemon_json, answer)
    assert (json.dumps(daemon_json), json.dumps(answer)) == copies


# --------------------------------------------------------------------------------------------
# refuse_nftables and its message


@pytest.mark.parametrize("daemon_json, answer", [
    (None, None), ({}, {}), ({"firewall-backend": "iptables"}, None), (None, info("iptables")),
    ({"firewall-backend": "iptables"}, info("iptables")), ({"firewall-backend": "nft"}, info("ebtables")),
    (fixture("daemon_json_28.json"), fixture("engine_info_28.5.json")),
])
def test_refuse_nftables_lets_iptables_and_unknown_pass(daemon_json, answer):
    assert fb.refuse_nftables(daemon_json, answer).backend in ("iptables", None)


def refusal(daemon_json, answer, path="/etc/docker/daemon.json"):
    with pytest.raises(fb.FirewallBackendError) as exc:
        fb.refuse_nftables(daemon_json, answer, path)
    return exc.value


def assert_alternatives(text, path="/etc/docker/daemon.json"):
    assert text.startswith("firewall-backend: Docker's firewall backend on this host is nftables, seen in ")
    assert "DOCKER-USER" in text and "moby#49643" in text and "Nothing was changed." in text
    assert 'remove "firewall-backend" from %s, or set it to "iptables"' % path in text
    assert "--firewall-backend from dockerd's command line" in text and "restart docker" in text
    assert "write the forwarding and NAT rules yourself in nftables" in text
    assert "forward_rules state=absent still removes ours" in text
    # only what exists: forward_rules has no nftables mode
    assert "mode=nftables" not in text


def test_refusal_from_daemon_json_alone():
    err = refusal({"firewall-backend": "nftables"}, None, "/srv/daemon.json")
    assert isinstance(err, PlanError) and isinstance(err, CrosshostError) and isinstance(err, ValueError)
    assert err.details == {"firewall_backend": "nftables", "firewall_backend_source": "daemon.json"}
    assert 'seen in daemon.json in /srv/daemon.json ("firewall-backend": "nftables"). ' in err.msg
    assert "docker info" not in err.msg
    assert_alternatives(err.msg, "/srv/daemon.json")


def test_refusal_from_daemon_json_while_the_running_dockerd_uses_iptables():
    err = refusal({"firewall-backend": "nftables", "ip-masq": False}, info("iptables"))
    assert err.details["firewall_backend_source"] == "daemon.json"
    assert ('seen in daemon.json in /etc/docker/daemon.json ("firewall-backend": "nftables"); the running dockerd '
            "still uses iptables and switches at its next restart. ") in err.msg
    assert_alternatives(err.msg)


def test_refusal_from_docker_info_with_nothing_in_daemon_json():
    err = refusal({"ip-masq": False}, info("nftables"))
    assert err.details == {"firewall_backend": "nftables", "firewall_backend_source": "docker info"}
    assert ("seen in docker info (Firewall Backend: nftables, the running dockerd); daemon.json does not set "
            "firewall-backend, so it comes from dockerd's command line (--firewall-backend). ") in err.msg
    assert_alternatives(err.msg)


def test_refusal_from_docker_info_when_daemon_json_says_iptables():
    err = refusal({"firewall-backend": "iptables"}, info("nftables"))
    assert err.details["firewall_backend_source"] == "docker info"
    assert "daemon.json says iptables but dockerd has not been restarted since" in err.msg
    assert_alternatives(err.msg)


def test_refusal_from_both():
    err = refusal({"firewall-backend": "nftables"}, info("nftables"))
    assert err.details["firewall_backend_source"] == "daemon.json and docker info"
    assert ('seen in daemon.json in /etc/docker/daemon.json ("firewall-backend": "nftables") and docker info '
            "(Firewall Backend: nftables, the running dockerd). ") in err.msg
    assert_alternatives(err.msg)


# --------------------------------------------------------------------------------------------
# forward_rules: the refusal comes before iptables is read, in check mode too; not with state=absent

ARGS = {"local_subnets": ["10.0.0.0/24"], "peer_subnets": ["10.1.0.0/24"], "underlay_interface": "eth0"}


@pytest.fixture
def module_run(tmp_path, monkeypatch, capsys):
    """run(daemon_json, answer, check=False, **args) -> result. Reaching iptables is recorded and ends the
    run with an IptablesError "reached iptables"."""
    reached = []

    def adapters(module):
        reached.append(True)
        raise IptablesError("reached iptables")

    monkeypatch.setattr(chains, "adapters", adapters)

    def run(daemon_json, answer, check=False, **args):
        path = tmp_path / "daemon.json"
        if daemon_json is None:
            if path.exists():
                path.unlink()
        else:
            path.write_text(json.dumps(daemon_json))
        monkeypatch.setattr(mod, "engine_info", lambda: answer)
        del reached[:]
        result = helpers.run_module(capsys, mod.main, dict(ARGS, daemon_json_path=str(path),
                                                           persist_dir=str(tmp_path / "persist"), **args), check=check)
        result["_reached_iptables"] = bool(reached)
        result["_path"] = str(path)
        return result
    return run


@pytest.mark.parametrize("check", [False, True])
@pytest.mark.parametrize("mode", ["rules", "policy"])
@pytest.mark.parametrize("daemon_json, answer, source", [
    ({"firewall-backend": "nftables", "ip-masq": False}, None, "daemon.json"),
    ({"firewall-backend": "nftables", "ip-masq": False}, info("iptables"), "daemon.json"),
    ({"ip-masq": False}, info("nftables"), "docker info"),
    (None, info("nftables"), "docker info"),
])
def test_forward_rules_refuses_nftables_before_iptables(module_run, check, mode, daemon_json, answer, source):
    args = {"mode": mode, "masquerade": False} if mode == "policy" else {}
    result = module_run(daemon_json, answer, check=check, **args)
    assert result["_rc"] == 1 and result["failed"] is True
    assert result["_reached_iptables"] is False
    assert result["firewall_backend"] == "nftables" and result["firewall_backend_source"] == source
    assert_alternatives(result["msg"], result["_path"])


@pytest.mark.parametrize("daemon_json, answer", [
    ({"ip-masq": False}, None),
    ({"ip-masq": False, "firewall-backend": "iptables"}, info("iptables")),
    (None, None),
    ({"firewall-backend": 5}, {"FirewallBackend": None}),
])
def test_forward_rules_goes_on_with_iptables_or_unknown(module_run, daemon_json, answer):
    result = module_run(daemon_json, answer)
    assert result["_reached_iptables"] is True and result["msg"] == "reached iptables"


def test_forward_rules_absent_is_not_refused(module_run):
    result = module_run({"firewall-backend": "nftables"}, info("nftables"), state="absent", local_subnets=[],
                        peer_subnets=[])
    assert result["_reached_iptables"] is True and result["msg"] == "reached iptables"


def test_forward_rules_bad_options_come_first(module_run):
    result = module_run({"firewall-backend": "nftables"}, None, local_subnets=["not-a-subnet"])
    assert result["_rc"] == 1 and "firewall_backend" not in result and result["_reached_iptables"] is False


def test_engine_info_without_a_daemon(monkeypatch, tmp_path):
    monkeypatch.setattr(mod.docker_api, "DEFAULT_HOST", "unix://%s" % (tmp_path / "none.sock"))
    assert mod.engine_info() is None


class Nftables29(helpers.FakeDockerd):
    """A dockerd that answers GET /info as Docker 29 with the nftables backend would."""

    def route(self, path, query):
        if path == "/info":
            return 200, info("nftables")
        return 404, {"message": "page not found"}


def test_engine_info_asks_get_info(fake_dockerd, monkeypatch):
    server, docker_host = fake_dockerd(Nftables29)
    monkeypatch.setattr(mod.docker_api, "DEFAULT_HOST", docker_host)
    answer = mod.engine_info()
    assert fb.running_backend(answer) == "nftables" and server.requests[0][0] == "/info"


def test_engine_info_on_an_error_answer(fake_dockerd, monkeypatch):
    class Broken(helpers.FakeDockerd):
        def route(self, path, query):
            return 500, {"message": "boom"}

    docker_host = fake_dockerd(Broken)[1]
    monkeypatch.setattr(mod.docker_api, "DEFAULT_HOST", docker_host)
    assert mod.engine_info() is None


# --------------------------------------------------------------------------------------------
# docker_host_info: engine.firewall_backend


class Engine(helpers.FakeDockerd):
    """A dockerd answering /version and /info from fixtures; ``firewall`` replaces /info's FirewallBackend
    (the key is removed when it is the string "absent")."""

    api_version = "1.51"
    version_fixture, info_fixture, firewall = "engine_version_28.5.json", "engine_info_28.5.json", None

    def route(self, path, query):
        if path == "/version":
            return 200, fixture(self.version_fixture)
        if path == "/info":
            answer = fixture(self.info_fixture)
            if self.firewall == "absent":
                answer.pop("FirewallBackend", None)
            elif self.firewall is not None:
                answer["FirewallBackend"] = self.firewall
            return 200, answer
        return 404, {"message": "page not found"}


@pytest.mark.parametrize("firewall, want", [
    (None, "iptables"),  # the 28.5 fixture as the engine wrote it
    ({"Driver": "nftables"}, "nftables"),
    ({"Driver": "nftables+firewalld"}, "nftables"),
    ({"Driver": "something-new"}, None),
    ("absent", None),
])
def test_docker_host_info_reports_the_firewall_backend(fake_dockerd, capsys, firewall, want):
    from ansible_collections.crosshost.docker.plugins.modules import docker_host_info

    if not docker_host_info.HAS_DOCKER:
        pytest.skip("the docker Python SDK is not installed")
    server_class = type("Engine_", (Engine,), {"firewall": firewall})
    docker_host = fake_dockerd(server_class)[1]
    result = helpers.run_module(capsys, docker_host_info.main, {"docker_host": docker_host, "gather": ["engine"]})
    assert result["_rc"] == 0, result
    engine = result["host_info"]["engine"]
    assert engine["firewall_backend"] == want and engine["version"].startswith("28.5")


def test_docker_host_info_on_an_engine_before_28(fake_dockerd, capsys):
    from ansible_collections.crosshost.docker.plugins.modules import docker_host_info

    if not docker_host_info.HAS_DOCKER:
        pytest.skip("the docker Python SDK is not installed")
    server_class = type("Engine2010", (Engine,), {"api_version": "1.41", "version_fixture": "engine_version_20.10.json",
                                                  "info_fixture": "engine_info_20.10.json"})
    result = helpers.run_module(capsys, docker_host_info.main, {"docker_host": fake_dockerd(server_class)[1],
                                                                "gather": ["engine"]})
    assert result["_rc"] == 0 and result["host_info"]["engine"]["firewall_backend"] is None, result
