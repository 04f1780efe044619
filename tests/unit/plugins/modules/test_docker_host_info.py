# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module-level tests of crosshost.docker.docker_host_info (ansible-core 2.19: patch_module_args).

No dockerd runs: the Docker API is a small HTTP server on a unix socket in a temporary directory
that answers with the fixtures of tests/unit/fixtures/host_facts. ``ip``, ``iptables`` and
``iptables-save`` are shell scripts that print fixtures, found through a patched get_bin_path, and
``/proc`` is a fixture tree (module constant PROC_ROOT). Nothing on the machine is read or changed.
"""

from __future__ import annotations

import os
import re
import socket

import pytest
import yaml

from ansible_collections.crosshost.docker.plugins.modules import docker_host_info as mod
from ansible_collections.crosshost.docker.tests.unit import helpers

FIXTURES = os.path.join(helpers.FIXTURES, "host_facts")  # read by the fake ip and iptables-save scripts
# Tests that reach the Docker SDK (connection attempts, fake daemon). ansible-test units installs
# tests/unit/requirements.txt; without the SDK these are skipped, the rest still runs.
needs_sdk = pytest.mark.skipif(not mod.HAS_DOCKER, reason="the docker Python SDK is not installed")

ALL_PARTS = ["engine", "daemon_json", "networks", "firewall", "sysctl", "interfaces", "routes", "containers"]


def fixture_text(name):
    return helpers.fixture_text("host_facts", name)


def fixture(name):
    return helpers.fixture_json("host_facts", name)


def run_module(capsys, args):
    return helpers.run_module(capsys, mod.main, args)


# ------------------------------------------------------------------------------------------------
# fake host: binaries (the conftest fixture fake_bin), /proc, Docker API


def install_ip(fake_bin):
    fake_bin("ip", """case "$*" in
  "-details -json address show") cat '{f}/ip_details_addr_h1.json' ;;
  "-details -json -4 route show table all") cat '{f}/ip_details_route4_h1.json' ;;
  "-details -json -6 route show table all") cat '{f}/ip_details_route6_h1.json' ;;
  *) echo "fake ip: unexpected arguments: $*" >&2; exit 2 ;;
esac
""".format(f=FIXTURES))


def install_iptables(fake_bin, save_fixture="iptables_save_20.10_nft.txt"):
    fake_bin("iptables", 'echo "iptables v1.8.9 (nf_tables)"\n')
    fake_bin("iptables-save", "cat '%s/%s'\n" % (FIXTURES, save_fixture))


@pytest.fixture
def proc_root(tmp_path, monkeypatch):
    """A /proc tree: forwarding sysctls and the sysfs of the fixture containers."""
    root = tmp_path / "proc"
    ipv4 = root / "sys" / "net" / "ipv4"
    for name, value in (("all", 1), ("default", 1), ("lo", 1), ("eth0", 1), ("docker0", 1), ("eth1", 0)):
        (ipv4 / "conf" / name).mkdir(parents=True)
        (ipv4 / "conf" / name / "forwarding").write_text("%d\n" % value)
    (ipv4 / "conf" / "eth0" / "rp_filter").write_text("2\n")
    (ipv4 / "conf" / "broken").mkdir()  # no forwarding file: skipped
    (ipv4 / "ip_forward").write_text("1\n")
    (root / "sys" / "net" / "bridge").mkdir(parents=True)
    (root / "sys" / "net" / "bridge" / "bridge-nf-call-iptables").write_text("1\n")
    for pid, links in fixture("container_sysfs_h1.json")["pids"].items():
        net = root / pid / "root" / "sys" / "class" / "net"
        for ifname, files in links.items():
            (net / ifname).mkdir(parents=True)
            for key, value in files.items():
                (net / ifname / key).write_text(value)
        (net / "bonding_masters").write_text("\n")  # a plain file in /sys/class/net: ignored
    monkeypatch.setattr(mod, "PROC_ROOT", str(root))
    return root


class FakeDockerd(helpers.FakeDockerd):
    """dockerd 20.10 (API 1.41) of host h1."""

    def __init__(self, path):
        super().__init__(path)
        self.containers = fixture("containers_h1.json")
        # listed but gone by the time it is inspected: must be skipped
        self.listed = [{"Id": c["Id"], "Names": [c["Name"]]} for c in self.containers] + [{"Id": "gone" * 16, "Names": ["/gone"]}]
        # the fourth fixture container's pid has no /proc entry in the fake tree
        self.containers.append(dict(self.containers[0], Id="e" * 64, Name="/zombie",
                                    State=dict(self.containers[0]["State"], Pid=99999)))
        self.listed.append({"Id": "e" * 64, "Names": ["/zombie"]})
        self.networks_fixture = "networks_h1.json"

    def route(self, path, query):
        if path == "/version":
            return 200, fixture("engine_version_20.10.json")
        if path == "/info":
            return 200, fixture("engine_info_20.10.json")
        if path == "/networks":
            return 200, fixture(self.networks_fixture)
        if path == "/containers/json":
            return 200, self.listed
        match = re.match(r"^/containers/([^/]+)/json$", path)
        if match:
            for container in self.containers:
                if container["Id"] == match.group(1):
                    return 200, container
            return 404, {"message": "No such container: %s" % match.group(1)}
        return 404, {"message": "page not found"}


@pytest.fixture
def dockerd(fake_dockerd):
    return fake_dockerd(FakeDockerd)


# ------------------------------------------------------------------------------------------------
# failures before any fact is gathered


def test_docker_sdk_missing(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(mod, "HAS_DOCKER", False)
    monkeypatch.setattr(mod, "DOCKER_IMPORT_ERROR", "Traceback...\nModuleNotFoundError: No module named 'docker'")
    result = run_module(capsys, {"docker_host": "unix://%s/docker.sock" % tmp_path})
    assert result["failed"] is True and result["_rc"] == 1
    assert "Failed to import the required Python library (docker)" in result["msg"]


def test_docker_sdk_not_needed_for_local_parts(capsys, monkeypatch, tmp_path, proc_root):
    monkeypatch.setattr(mod, "HAS_DOCKER", False)
    result = run_module(capsys, {"gather": ["daemon_json", "sysctl"], "daemon_json_path": str(tmp_path / "none.json")})
    assert result.get("failed") is not True
    assert set(result["host_info"]) == {"daemon_json", "sysctl"}


@needs_sdk
def test_socket_missing_docker_installed(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(mod, "find_dockerd", lambda: "/usr/sbin/dockerd")
    sock = tmp_path / "nonexistent" / "docker.sock"
    result = run_module(capsys, {"docker_host": "unix://%s" % sock})
    assert result["failed"] is True
    assert result["msg"] == (
        "Docker is installed (/usr/sbin/dockerd) but the daemon is not running: the socket %s does not exist. "
        "Start the docker service or set docker_host." % sock)


@needs_sdk
def test_socket_missing_docker_not_installed(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(mod, "find_dockerd", lambda: None)
    sock = tmp_path / "docker.sock"
    result = run_module(capsys, {"docker_host": "unix://%s" % sock, "gather": ["engine"]})
    assert result["failed"] is True
    assert result["msg"].startswith("Docker is not installed on this host: no dockerd binary was found")
    assert str(sock) in result["msg"]


@needs_sdk
def test_docker_host_from_environment(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(mod, "find_dockerd", lambda: None)
    sock = tmp_path / "env.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix://%s" % sock)
    result = run_module(capsys, {"gather": ["networks"]})
    assert result["failed"] is True
    assert "the Docker socket %s does not exist" % sock in result["msg"]


@needs_sdk
def test_stale_socket_nothing_listening(capsys, tmp_path):
    path = str(tmp_path / "stale.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.close()  # the file stays, nobody listens: ECONNREFUSED
    result = run_module(capsys, {"docker_host": "unix://" + path, "timeout": 3})
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot connect to the Docker daemon at unix://%s: " % path)
    assert "Connection refused" in result["msg"]
    assert "nothing listens on it" in result["msg"]


def test_find_dockerd(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(mod, "DOCKERD_DIRS", (str(tmp_path / "a"), str(tmp_path / "b")))
    assert mod.find_dockerd() is None
    (tmp_path / "b").mkdir()
    binary = tmp_path / "b" / "dockerd"
    binary.write_text("#!/bin/sh\n")
    assert mod.find_dockerd() is None  # not executable
    binary.chmod(0o755)
    assert mod.find_dockerd() == str(binary)


# ------------------------------------------------------------------------------------------------
# local parts (no Docker API)


def test_invalid_daemon_json_is_not_fatal(capsys, tmp_path, proc_root):
    path = tmp_path / "daemon.json"
    path.write_text(fixture_text("daemon_json_with_comments.txt"))
    result = run_module(capsys, {"gather": ["daemon_json", "sysctl"], "daemon_json_path": str(path)})
    assert result.get("failed") is not True and result["changed"] is False
    dj = result["host_info"]["daemon_json"]
    assert (dj["path"], dj["exists"], dj["content"]) == (str(path), True, None)
    assert "line 1, column 1" in dj["error"]
    assert "comments are not allowed in daemon.json" in dj["error"]
    assert result["host_info"]["sysctl"]["ip_forward"] == 1


def test_daemon_json_missing_empty_and_unreadable(capsys, tmp_path):
    result = run_module(capsys, {"gather": ["daemon_json"], "daemon_json_path": str(tmp_path / "absent.json")})
    assert result["host_info"]["daemon_json"] == {"path": str(tmp_path / "absent.json"), "exists": False, "content": None, "error": None}
    (tmp_path / "empty.json").write_text("\n")
    result = run_module(capsys, {"gather": ["daemon_json"], "daemon_json_path": str(tmp_path / "empty.json")})
    assert result["host_info"]["daemon_json"]["content"] == {}
    assert result["host_info"]["daemon_json"]["error"] is None
    assert result["_warnings"] == ["%s is empty: dockerd 23.0 and later accept that, dockerd 20.10 refuses to start "
                                   "(EOF); write {} instead" % (tmp_path / "empty.json")]
    (tmp_path / "dir.json").mkdir()
    result = run_module(capsys, {"gather": ["daemon_json"], "daemon_json_path": str(tmp_path / "dir.json")})
    assert result["host_info"]["daemon_json"]["exists"] is True
    assert result["host_info"]["daemon_json"]["error"].startswith("cannot read %s: " % (tmp_path / "dir.json"))


def test_check_mode(capsys, tmp_path, proc_root):
    path = tmp_path / "daemon.json"
    path.write_text(fixture_text("daemon_json_28.json"))
    result = run_module(capsys, {"gather": ["daemon_json", "sysctl"], "daemon_json_path": str(path), "_ansible_check_mode": True})
    assert result.get("failed") is not True
    assert result["changed"] is False
    assert result["host_info"]["daemon_json"]["content"]["bip"] == "10.2.0.1/24"


def test_sysctl(capsys, proc_root):
    result = run_module(capsys, {"gather": ["sysctl"]})
    assert result["host_info"]["sysctl"] == {
        "ip_forward": 1,
        "forwarding": {"all": 1, "default": 1, "docker0": 1, "eth0": 1, "eth1": 0, "lo": 1},
        "bridge_nf_call_iptables": 1,
    }


def test_sysctl_without_br_netfilter(capsys, proc_root):
    (proc_root / "sys" / "net" / "bridge" / "bridge-nf-call-iptables").unlink()
    result = run_module(capsys, {"gather": ["sysctl"]})
    assert result["host_info"]["sysctl"]["bridge_nf_call_iptables"] is None


def test_firewall(capsys, fake_bin):
    install_iptables(fake_bin, "iptables_save_28.5_nft.txt")
    result = run_module(capsys, {"gather": ["firewall"]})
    fw = result["host_info"]["firewall"]
    assert (fw["backend"], fw["version"], fw["forward_policy"], fw["docker_user_chain"], fw["error"]) == (
        "nf_tables", "1.8.9", "DROP", True, None)
    assert fw["chains"]["filter"]["FORWARD"]["rules"] == ["-j DOCKER-USER", "-j DOCKER-FORWARD"]
    assert fw["warnings"] == ["Warning: iptables-legacy tables present, use iptables-legacy-save to see them"]


def test_firewall_iptables_missing(capsys, fake_bin):
    result = run_module(capsys, {"gather": ["firewall"]})
    assert result.get("failed") is not True
    fw = result["host_info"]["firewall"]
    assert fw["backend"] is None
    assert fw["error"].startswith("iptables is not installed")
    assert fw["chains"] == {} and fw["forward_policy"] is None and fw["docker_user_chain"] is None


def test_firewall_iptables_save_fails(capsys, fake_bin):
    fake_bin("iptables", 'echo "iptables v1.8.9 (nf_tables)"\n')
    fake_bin("iptables-save", 'echo "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: '
                              'Permission denied (you must be root)" >&2\nexit 1\n')
    result = run_module(capsys, {"gather": ["firewall"]})
    fw = result["host_info"]["firewall"]
    assert fw["backend"] == "nf_tables"
    assert "failed (rc=1)" in fw["error"] and "you must be root" in fw["error"]


def test_firewall_unparsable_output(capsys, fake_bin):
    fake_bin("iptables", 'echo "iptables v1.8.7 (legacy)"\n')
    fake_bin("iptables-save", 'echo "-A FORWARD -j ACCEPT"\n')
    fw = run_module(capsys, {"gather": ["firewall"]})["host_info"]["firewall"]
    assert fw["backend"] == "legacy"
    assert "outside of a table" in fw["error"]


def test_interfaces_and_routes(capsys, fake_bin):
    install_ip(fake_bin)
    info = run_module(capsys, {"gather": ["interfaces", "routes"]})["host_info"]
    assert [i["name"] for i in info["interfaces"]][:4] == ["lo", "eth0", "eth1", "docker0"]
    families = {r["family"] for r in info["routes"]}
    assert families == {"inet", "inet6"}
    assert {"dst": "default", "gateway": "192.168.1.1", "table": "main"}.items() <= info["routes"][1].items()


def test_ip_missing_is_a_warning(capsys, fake_bin):
    result = run_module(capsys, {"gather": ["interfaces", "routes"]})
    assert result.get("failed") is not True
    assert result["host_info"] == {"interfaces": None, "routes": None}
    assert any("interfaces not gathered: ip (iproute2) is not installed" in w for w in result["_warnings"])
    assert any("routes not gathered" in w for w in result["_warnings"])


def test_ip_without_json_support(capsys, fake_bin):
    fake_bin("ip", 'echo "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN"\n')
    result = run_module(capsys, {"gather": ["interfaces"]})
    assert result["host_info"]["interfaces"] is None
    assert "did not print JSON" in result["_warnings"][0]


# ------------------------------------------------------------------------------------------------
# everything, against the fake daemon


def _documented(return_doc, value, path="host_info"):
    """Every key of ``value`` is documented in ``return_doc`` (a RETURN ``contains`` mapping)."""
    if isinstance(value, list):
        for item in value:
            _documented(return_doc, item, path + "[]")
        return
    assert isinstance(value, dict), path
    for key, sub in value.items():
        assert key in return_doc, "%s.%s is not documented in RETURN" % (path, key)
        contains = return_doc[key].get("contains")
        if contains and sub is not None:
            _documented(contains, sub, "%s.%s" % (path, key))


@needs_sdk
def test_everything_against_fake_daemon(capsys, tmp_path, dockerd, fake_bin, proc_root):
    server, docker_host = dockerd
    install_ip(fake_bin)
    install_iptables(fake_bin)
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(fixture_text("daemon_json_28.json"))

    result = run_module(capsys, {"docker_host": docker_host, "daemon_json_path": str(daemon_json)})
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    info = result["host_info"]
    assert set(info) == {"engine", "daemon_json", "default_bridge", "networks", "firewall", "sysctl",
                         "interfaces", "routes", "containers"}

    # API negotiated down to what the daemon speaks, never pinned higher
    assert server.api_versions == {"1.41"}
    assert "/version" in server.raw_paths

    assert info["engine"]["version"] == "20.10.24+dfsg1"
    assert info["engine"]["swarm_state"] == "active"
    assert info["default_bridge"] == {"name": "docker0", "bip": "10.2.0.1/24", "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}
    assert [n["name"] for n in info["networks"]] == ["app", "bridge", "docker_gwbridge", "host", "ingress", "mac_net1", "none", "ovl"]
    assert info["firewall"]["forward_policy"] == "DROP"
    assert info["firewall"]["chains"]["filter"]["DOCKER-USER"]["rules"][0] == "-s 10.1.0.0/24 -d 10.0.0.0/24 -j ACCEPT"

    containers = {c["name"]: c for c in info["containers"]}
    assert list(containers) == ["app1", "hostnet", "ovl-client", "web", "zombie"]  # sorted, "gone" skipped
    web = containers["web"]["interfaces"]
    assert [(i["name"], i["host_interface"], i["host_kind"], i["host_master"]) for i in web] == [
        ("eth0", "veth4d5e6f7", "veth", "docker0")]
    app1 = containers["app1"]["interfaces"]
    assert [(i["name"], i["network"], i["host_interface"], i["host_kind"]) for i in app1] == [
        ("eth0", "app", "veth9a8b7c6", "veth"), ("eth1", "mac_net1", "eth1", "macvlan-parent")]
    ovl = containers["ovl-client"]["interfaces"]
    assert [(i["name"], i["host_interface"]) for i in ovl] == [("eth0", None), ("eth1", "vethc0ffee1")]
    assert containers["hostnet"]["interfaces"] == [] and containers["hostnet"]["error"] is None
    assert containers["zombie"]["error"].startswith("cannot read %s/99999/root/sys/class/net: " % proc_root)

    doc = yaml.safe_load(mod.RETURN)
    _documented(doc["host_info"]["contains"], info)


@needs_sdk
def test_docker_parts_only(capsys, tmp_path, dockerd, fake_bin, proc_root):
    _server, docker_host = dockerd
    result = run_module(capsys, {"docker_host": docker_host, "gather": ["engine", "networks"], "_ansible_check_mode": True,
                                 "daemon_json_path": str(tmp_path / "absent.json")})
    assert result["changed"] is False
    assert set(result["host_info"]) == {"engine", "networks", "default_bridge"}
    assert result["host_info"]["default_bridge"] == {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16",
                                                     "gateway": "172.17.0.1"}


@needs_sdk
def test_containers_without_ip_binary(capsys, dockerd, fake_bin, proc_root):
    _server, docker_host = dockerd
    result = run_module(capsys, {"docker_host": docker_host, "gather": ["containers"]})
    assert set(result["host_info"]) == {"containers"}
    web = [c for c in result["host_info"]["containers"] if c["name"] == "web"][0]
    assert web["interfaces"][0]["host_interface"] is None
    assert web["interfaces"][0]["note"] == "peer ifindex 8 is not in the host namespace"
    assert any("interfaces not gathered" in w for w in result["_warnings"])


@needs_sdk
@pytest.mark.parametrize("with_ip, gateway", [(True, "172.17.0.1"), (False, None)])
def test_default_bridge_gateway_missing_in_ipam(capsys, tmp_path, dockerd, fake_bin, with_ip, gateway):
    # real dockerd 20.10 answer: the default bridge's IPAM config has no Gateway
    server, docker_host = dockerd
    server.networks_fixture = "networks_20.10_lab.json"
    if with_ip:
        install_ip(fake_bin)
    result = run_module(capsys, {"docker_host": docker_host, "gather": ["networks"],
                                 "daemon_json_path": str(tmp_path / "absent.json")})
    assert result["host_info"]["default_bridge"] == {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16",
                                                     "gateway": gateway}
    assert result["_warnings"] == []  # ip is optional for networks alone


def test_documentation_parses():
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert doc["module"] == "docker_host_info"
    assert doc["version_added"] == "0.1.0"
    assert doc["options"]["gather"]["choices"] == ALL_PARTS == doc["options"]["gather"]["default"]
    assert doc["options"]["gather"]["choices"] == mod.GATHER_CHOICES
    yaml.safe_load(mod.EXAMPLES)
