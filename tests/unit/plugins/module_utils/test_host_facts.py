# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the pure helpers behind docker_host_info, on fixtures in tests/unit/fixtures/host_facts.

Where the fixtures come from:
* ip_*.json: real ``ip -details -json ...`` output (iproute2 6.1) of a lab-like host namespace:
  eth0/eth1 veths to an underlay namespace, docker0, a user bridge br-3f2c1a0b9d8e,
  docker_gwbridge, a macvlan shim on eth1, and three "containers" (private netns + mount ns):
  web on docker0, app1 on the user bridge + a macvlan on eth1, ovl-client whose eth0 peer lives in
  an overlay-like sandbox namespace and whose eth1 is on docker_gwbridge.
  container_sysfs_h1.json: the /proc/<pid>/root/sys/class/net files of those containers.
* networks_*.json, network_inspect_*.json, containers_h1.json, engine_*.json: Docker API answers
  (20.10 and 28.5 layouts) matching that host.
* iptables_save_*.txt: iptables-save of a Docker 20.10 host (nf_tables, a DOCKER-USER rule, a NAT
  exemption below Docker's MASQUERADE after a restart), of a Docker 28.5 host (raw PREROUTING drop,
  DOCKER-FORWARD/-CT/-BRIDGE chains, empty DOCKER-USER) and a legacy ``iptables-save -c``.
* daemon_json_*: daemon.json files, with the ``#`` comments seen on Debian hosts and in the seed.
* *_lab.*: captured unchanged from the project's lab hosts (network namespaces) running the real
  dockerd 20.10.24 (h1) and 28.5.2 (h3): GET /version, /info, /networks and iptables-save.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import docker_unreachable_message, unix_socket_path
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts import DaemonJsonError, HostFactsError, parse_daemon_json
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts_docker import (
    container_record,
    default_bridge,
    normalise_engine,
    normalise_network,
)
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts_ip import IpJsonError, normalise_interfaces, normalise_routes, parse_ip_json
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts_sysfs import normalise_sysfs_link, parse_sysctl_int
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import IptablesSaveError, parse_save, parse_version
from ansible_collections.crosshost.docker.tests.unit import helpers


def text(name):
    return helpers.fixture_text("host_facts", name)


def data(name):
    return helpers.fixture_json("host_facts", name)


def daemon_json_error(*args):
    """The DaemonJsonError that parse_daemon_json(*args) raises."""
    with pytest.raises(DaemonJsonError) as info:
        parse_daemon_json(*args)
    return info.value


def by_name(items):
    return {item["name"]: item for item in items}


@pytest.fixture(scope="module")
def host_interfaces():
    return normalise_interfaces(data("ip_details_addr_h1.json"))


@pytest.fixture(scope="module")
def networks():
    return [normalise_network(n) for n in data("networks_h1.json")]


@pytest.fixture(scope="module")
def containers():
    return {c["Name"].lstrip("/"): c for c in data("containers_h1.json")}


def sysfs_links(pid):
    files = data("container_sysfs_h1.json")["pids"][str(pid)]
    return [normalise_sysfs_link(name, files[name]) for name in sorted(files)]


# ----------------------------------------------------------------------------------------------
# daemon.json


class TestParseDaemonJson:
    def test_valid_docker28_config(self):
        cfg = parse_daemon_json(text("daemon_json_28.json"))
        assert cfg["bip"] == "10.2.0.1/24"
        assert cfg["ip-masq"] is False
        assert cfg["allow-direct-routing"] is True
        assert cfg["runtimes"] == {"sysrunc": {"path": "/usr/sbin/runc"}}

    def test_legacy_overlay_config(self):
        cfg = parse_daemon_json(text("daemon_json_legacy_overlay.json"))
        assert cfg["cluster-store"] == "etcd://192.168.1.10:2379"

    def test_hash_comment_lines(self):
        err = daemon_json_error(text("daemon_json_with_comments.txt"), "/etc/docker/daemon.json")
        assert (err.line, err.column) == (1, 1)
        assert "comments are not allowed in daemon.json" in err.hint
        message = str(err)
        assert message.startswith("/etc/docker/daemon.json is not valid JSON: Expecting value")
        assert "at line 1, column 1" in message
        assert "comments are not allowed in daemon.json" in message

    def test_comment_line_after_valid_lines(self):
        src = '{\n  "bip": "10.0.0.1/24",\n# "mtu": 1450\n  "iptables": true\n}\n'
        err = daemon_json_error(src)
        assert (err.line, err.column) == (3, 1)
        assert "comments are not allowed in daemon.json" in err.hint

    def test_indented_comment_line(self):
        src = '{\n    # docker1\n    "bip": "10.0.0.1/24"\n}'
        err = daemon_json_error(src)
        assert (err.line, err.column) == (2, 5)
        assert "comments are not allowed in daemon.json" in err.hint

    def test_comment_after_the_object(self):
        err = daemon_json_error('{"bip": "10.0.0.1/24"}\n# end\n')
        assert err.line == 2
        assert "comments are not allowed in daemon.json" in err.hint

    def test_inline_hash_comment(self):
        err = daemon_json_error(text("daemon_json_inline_comment.txt"))
        assert (err.line, err.column) == (2, 27)
        assert "comments are not allowed in daemon.json" in err.hint

    def test_slash_comment(self):
        err = daemon_json_error('{\n  // docker2\n  "bip": "10.1.0.1/24"\n}')
        assert err.line == 2
        assert "comments are not allowed in daemon.json" in err.hint

    def test_trailing_comma(self):
        err = daemon_json_error(text("daemon_json_trailing_comma.txt"))
        assert (err.line, err.column) == (4, 1)
        assert err.hint == "trailing commas are not allowed in JSON"

    def test_missing_comma(self):
        err = daemon_json_error('{\n  "bip": "10.0.0.1/24"\n  "mtu": 1450\n}')
        assert (err.line, err.column) == (3, 3)
        assert "comma is missing" in err.hint

    def test_single_quotes(self):
        err = daemon_json_error("{'bip': '10.0.0.1/24'}")
        assert "double quotes" in err.hint

    def test_error_without_known_hint(self):
        err = daemon_json_error('{"bip" "10.0.0.1/24"}')
        assert err.hint is None
        assert "(hint" not in str(err)
        assert "Expecting ':' delimiter at line 1, column 8" in str(err)

    @pytest.mark.parametrize("src", ["", "\n", "  \n\t\n"])
    def test_empty_file_is_empty_config(self, src):
        assert parse_daemon_json(src) == {}

    def test_byte_order_mark_is_ignored(self):
        assert parse_daemon_json('\ufeff{"bip": "10.0.0.1/24"}') == {"bip": "10.0.0.1/24"}
        assert parse_daemon_json(b'\xef\xbb\xbf{"mtu": 1450}') == {"mtu": 1450}

    def test_bytes(self):
        assert parse_daemon_json(b'{"bip": "10.0.0.1/24"}') == {"bip": "10.0.0.1/24"}

    def test_not_utf8(self):
        err = daemon_json_error(b'{"bip": "\xff"}', "/etc/docker/daemon.json")
        assert "not UTF-8" in str(err)
        assert err.line is None

    @pytest.mark.parametrize("src, kind", [("[]", "list"), ('"x"', "str"), ("42", "int"), ("null", "NoneType")])
    def test_not_an_object(self, src, kind):
        err = daemon_json_error(src)
        assert err.line is None and err.column is None
        assert "must contain a JSON object" in str(err)
        assert kind in str(err)

    def test_error_is_a_value_error(self):
        assert issubclass(DaemonJsonError, HostFactsError)
        assert issubclass(HostFactsError, ValueError)


# ----------------------------------------------------------------------------------------------
# networks, default bridge, engine


class TestNormaliseNetwork:
    def test_default_bridge(self, networks):
        net = by_name(networks)["bridge"]
        assert net == {
            "name": "bridge",
            "id": "f7ab26d71dbd6f557852c7156ae0574bbf62c42f539b50c8ebde0f728a253b6f",
            "driver": "bridge",
            "scope": "local",
            "internal": False,
            "attachable": False,
            "subnets": [{"subnet": "172.17.0.0/16", "gateway": "172.17.0.1", "ip_range": None, "aux_addresses": {}}],
            "parent": None,
            "options": {
                "com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                "com.docker.network.bridge.name": "docker0",
                "com.docker.network.driver.mtu": "1500",
            },
        }

    def test_macvlan(self, networks):
        net = by_name(networks)["mac_net1"]
        assert net["driver"] == "macvlan"
        assert net["parent"] == "eth1"
        assert net["options"] == {"parent": "eth1"}
        assert net["subnets"] == [{
            "subnet": "172.21.0.0/24", "gateway": "172.21.0.1", "ip_range": "172.21.0.0/25",
            "aux_addresses": {"shim": "172.21.0.254"},
        }]

    def test_swarm_overlay(self, networks):
        net = by_name(networks)["ovl"]
        assert (net["driver"], net["scope"], net["attachable"], net["internal"]) == ("overlay", "swarm", True, False)
        assert net["id"] == "r4qk8x0tdq3v9l1m2n3o4p5q6"
        assert net["parent"] is None
        assert net["subnets"][0]["subnet"] == "10.0.1.0/24"
        assert net["options"]["com.docker.network.driver.overlay.vxlanid_list"] == "4097"

    def test_ingress_and_builtin(self, networks):
        nets = by_name(networks)
        assert nets["ingress"]["attachable"] is False
        assert nets["host"]["driver"] == "host" and nets["host"]["subnets"] == []
        assert nets["none"]["driver"] == "null" and nets["none"]["subnets"] == []
        assert nets["docker_gwbridge"]["options"]["com.docker.network.bridge.name"] == "docker_gwbridge"
        assert len(networks) == 8

    def test_legacy_overlay_without_gateway(self):
        net = normalise_network(data("network_inspect_overlay_legacy.json")[0])
        assert (net["scope"], net["driver"]) == ("global", "overlay")
        assert net["subnets"] == [{"subnet": "10.10.0.0/24", "gateway": None, "ip_range": None, "aux_addresses": {}}]

    def test_ipvlan_internal_dual_stack(self):
        net = normalise_network(data("network_inspect_ipvlan_internal.json")[0])
        assert net["parent"] == "eth1.10"
        assert net["internal"] is True
        assert [s["subnet"] for s in net["subnets"]] == ["fd00:42::/64", "172.30.0.0/24"]
        assert net["subnets"][1]["gateway"] is None

    def test_single_inspect_with_containers(self):
        net = normalise_network(data("network_inspect_bridge_bip.json")[0])
        assert net["subnets"][0] == {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": None, "aux_addresses": {}}
        assert "Containers" not in net and "containers" not in net

    def test_parent_only_for_macvlan_ipvlan(self):
        net = normalise_network({"Name": "x", "Driver": "bridge", "Options": {"parent": "eth1"}})
        assert net["parent"] is None

    def test_sparse_input(self):
        assert normalise_network({"Name": "n", "IPAM": None, "Options": None}) == {
            "name": "n", "id": None, "driver": None, "scope": None, "internal": False, "attachable": False,
            "subnets": [], "parent": None, "options": {},
        }


class TestDefaultBridge:
    def test_bip_and_applied_subnet(self):
        nets = [normalise_network(n) for n in data("network_inspect_bridge_bip.json")]
        cfg = {"bip": "10.0.0.1/24"}
        assert default_bridge(cfg, nets) == {"name": "docker0", "bip": "10.0.0.1/24", "subnet": "10.0.0.0/24", "gateway": "10.0.0.1"}

    def test_no_bip_configured(self, networks):
        assert default_bridge({}, networks) == {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}
        assert default_bridge(None, networks)["bip"] is None

    def test_bip_not_applied_yet(self, networks):
        # daemon.json changed but dockerd not restarted: both facts are visible.
        result = default_bridge(parse_daemon_json(text("daemon_json_28.json")), networks)
        assert (result["bip"], result["subnet"]) == ("10.2.0.1/24", "172.17.0.0/16")

    def test_no_default_bridge(self):
        assert default_bridge({"bridge": "none"}, []) == {"name": None, "bip": None, "subnet": None, "gateway": None}

    def test_custom_bridge_name_from_daemon_json(self):
        nets = [normalise_network({"Name": "bridge", "Driver": "bridge", "Options": {},
                                   "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"}]}})]
        assert default_bridge({"bridge": "br-lan"}, nets)["name"] == "br-lan"

    def test_ipv6_subnet_first(self):
        nets = [normalise_network({"Name": "bridge", "Driver": "bridge",
                                   "IPAM": {"Config": [{"Subnet": "fd00:17::/64", "Gateway": "fd00:17::1"},
                                                       {"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}})]
        result = default_bridge({}, nets)
        assert (result["subnet"], result["gateway"]) == ("172.17.0.0/16", "172.17.0.1")

    def test_network_named_bridge_with_another_driver_is_ignored(self):
        nets = [normalise_network({"Name": "bridge", "Driver": "macvlan", "Options": {"parent": "eth1"}})]
        assert default_bridge({}, nets)["subnet"] is None

    def test_invalid_daemon_config_is_ignored(self, networks):
        assert default_bridge("not a dict", networks)["bip"] is None

    def test_real_20_10_has_no_gateway_in_ipam(self):
        nets = [normalise_network(n) for n in data("networks_20.10_lab.json")]
        assert by_name(nets)["bridge"]["subnets"] == [{"subnet": "172.17.0.0/16", "gateway": None, "ip_range": None,
                                                       "aux_addresses": {}}]
        assert default_bridge({}, nets) == {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16", "gateway": None}

    def test_missing_gateway_from_bridge_device(self, host_interfaces):
        nets = [normalise_network(n) for n in data("networks_20.10_lab.json")]
        assert default_bridge({}, nets, host_interfaces)["gateway"] == "172.17.0.1"

    def test_missing_gateway_from_bip(self):
        nets = [normalise_network(n) for n in data("network_inspect_bridge_bip.json")]
        nets[0]["subnets"][0]["gateway"] = None
        assert default_bridge({"bip": "10.0.0.1/24"}, nets)["gateway"] == "10.0.0.1"

    def test_bip_outside_subnet_is_not_a_gateway(self, host_interfaces):
        nets = [normalise_network(n) for n in data("networks_20.10_lab.json")]
        # bip changed but not applied yet: the gateway is still docker0's current address
        result = default_bridge({"bip": "10.0.0.1/24"}, nets, host_interfaces)
        assert (result["bip"], result["subnet"], result["gateway"]) == ("10.0.0.1/24", "172.17.0.0/16", "172.17.0.1")
        assert default_bridge({"bip": "10.0.0.1/24"}, nets)["gateway"] is None

    def test_missing_gateway_bridge_device_without_ipv4(self):
        nets = [normalise_network(n) for n in data("networks_20.10_lab.json")]
        ifaces = [{"name": "docker0", "addresses": ["fe80::1/64", "not-an-address"]}]
        assert default_bridge({}, nets, ifaces)["gateway"] is None

    def test_real_28_5(self):
        nets = [normalise_network(n) for n in data("networks_28.5_lab.json")]
        assert by_name(nets)["host"]["subnets"] == [] and by_name(nets)["none"]["subnets"] == []  # "Config": null
        assert default_bridge(None, nets) == {"name": "docker0", "bip": None, "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}


class TestNormaliseEngine:
    def test_docker_20_10(self):
        assert normalise_engine(data("engine_version_20.10.json"), data("engine_info_20.10.json")) == {
            "version": "20.10.24+dfsg1",
            "api_version": "1.41",
            "min_api_version": "1.12",
            "os": "linux",
            "operating_system": "Debian GNU/Linux 12 (bookworm)",
            "arch": "amd64",
            "kernel_version": "6.1.0-13-amd64",
            "id": "7TRN:IPZB:QYBB:VPBQ:UWYC:6UVN:YDIA:3Y4C:NBW2:JAKN:3RXW:7ZGE",
            "name": "h1",
            "cgroup_driver": "cgroupfs",
            "storage_driver": "overlay2",
            "swarm_state": "active",
        }

    def test_docker_28_5(self):
        engine = normalise_engine(data("engine_version_28.5.json"), data("engine_info_28.5.json"))
        assert (engine["version"], engine["api_version"], engine["min_api_version"]) == ("28.5.2+dfsg1", "1.51", "1.24")
        assert engine["swarm_state"] == "inactive"
        assert engine["id"] == "3c9f2a8e-5b1d-4e7a-9c06-1f2e3d4c5b6a"
        assert engine["name"] == "h3"

    @pytest.mark.parametrize("suffix, version, api, min_api, name, engine_id", [
        ("20.10_lab", "20.10.24+dfsg1", "1.41", "1.12", "h1", "Y6BD:TSNP:BE6Y:KPXM:NSCN:DU7L:5KJ2:M3JO:3XMA:INI4:VZRV:4K5B"),
        ("28.5_lab", "28.5.2+dfsg4", "1.51", "1.24", "h3", "48e7799a-e948-407f-b8fe-e813bc376bd2"),
    ])
    def test_real_lab_engines(self, suffix, version, api, min_api, name, engine_id):
        engine = normalise_engine(data("engine_version_%s.json" % suffix), data("engine_info_%s.json" % suffix))
        assert (engine["version"], engine["api_version"], engine["min_api_version"]) == (version, api, min_api)
        assert (engine["name"], engine["id"], engine["swarm_state"]) == (name, engine_id, "inactive")
        assert (engine["os"], engine["arch"], engine["cgroup_driver"], engine["storage_driver"]) == (
            "linux", "amd64", "cgroupfs", "overlay2")

    def test_info_only_fallbacks(self):
        engine = normalise_engine({}, {"OSType": "linux", "Architecture": "x86_64", "KernelVersion": "6.18.0"})
        assert (engine["os"], engine["arch"], engine["kernel_version"]) == ("linux", "x86_64", "6.18.0")
        assert engine["swarm_state"] is None

    def test_empty(self):
        assert set(normalise_engine(None, None).values()) == {None}


# ----------------------------------------------------------------------------------------------
# iptables


class TestParseIptablesSave:
    def test_docker_20_10(self):
        fw = parse_save(text("iptables_save_20.10_nft.txt"))
        assert fw["forward_policy"] == "DROP"
        assert fw["docker_user_exists"] is True
        assert fw["backend"] == "nf_tables"
        assert fw["warnings"] == []
        assert list(fw["chains"]) == ["filter", "nat"]
        flt = fw["chains"]["filter"]
        assert list(flt) == ["INPUT", "FORWARD", "OUTPUT", "DOCKER", "DOCKER-ISOLATION-STAGE-1",
                             "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"]
        assert flt["FORWARD"]["policy"] == "DROP"
        assert flt["FORWARD"]["rules"][:2] == ["-j DOCKER-USER", "-j DOCKER-ISOLATION-STAGE-1"]
        assert flt["DOCKER-USER"] == {"policy": None, "rules": ["-s 10.1.0.0/24 -d 10.0.0.0/24 -j ACCEPT", "-j RETURN"]}
        assert flt["INPUT"] == {"policy": "ACCEPT", "rules": []}
        post = fw["chains"]["nat"]["POSTROUTING"]["rules"]
        # after a dockerd restart Docker's MASQUERADE is above our exemption again
        assert post.index("-s 10.0.0.0/24 ! -o docker0 -j MASQUERADE") < post.index("-s 10.0.0.0/24 -d 10.1.0.0/24 -j RETURN")
        assert fw["chains"]["nat"]["DOCKER"]["rules"][1] == "! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80"

    def test_docker_28_5(self):
        fw = parse_save(text("iptables_save_28.5_nft.txt"))
        assert fw["forward_policy"] == "DROP"
        assert fw["docker_user_exists"] is True
        assert fw["warnings"] == ["Warning: iptables-legacy tables present, use iptables-legacy-save to see them"]
        assert list(fw["chains"]) == ["raw", "filter", "nat"]
        assert fw["chains"]["raw"]["PREROUTING"]["rules"] == ["-d 172.17.0.2/32 ! -i docker0 -j DROP"]
        flt = fw["chains"]["filter"]
        assert flt["FORWARD"]["rules"] == ["-j DOCKER-USER", "-j DOCKER-FORWARD"]
        assert flt["DOCKER-USER"] == {"policy": None, "rules": []}
        assert flt["DOCKER-FORWARD"]["rules"] == ["-j DOCKER-CT", "-j DOCKER-ISOLATION-STAGE-1", "-j DOCKER-BRIDGE",
                                                  "-i docker0 -j ACCEPT"]
        assert {"DOCKER-CT", "DOCKER-BRIDGE"} <= set(flt)

    def test_real_lab_20_10(self):
        fw = parse_save(text("iptables_save_20.10_lab.txt"))
        assert (fw["forward_policy"], fw["docker_user_exists"], fw["backend"]) == ("DROP", True, "nf_tables")
        assert fw["chains"]["filter"]["DOCKER-USER"] == {"policy": None, "rules": ["-j RETURN"]}
        assert fw["chains"]["nat"]["POSTROUTING"]["rules"] == ["-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"]

    def test_real_lab_28_5(self):
        fw = parse_save(text("iptables_save_28.5_lab.txt"))
        assert list(fw["chains"]) == ["raw", "filter", "nat"]
        assert fw["chains"]["raw"] == {"PREROUTING": {"policy": "ACCEPT", "rules": []}, "OUTPUT": {"policy": "ACCEPT", "rules": []}}
        assert fw["chains"]["filter"]["FORWARD"] == {"policy": "DROP", "rules": ["-j DOCKER-USER", "-j DOCKER-FORWARD"]}
        assert fw["chains"]["filter"]["DOCKER-USER"] == {"policy": None, "rules": []}
        assert fw["docker_user_exists"] is True

    def test_legacy_with_counters(self):
        fw = parse_save(text("iptables_save_legacy_counters.txt"))
        assert fw["backend"] == "legacy"
        assert fw["forward_policy"] == "ACCEPT"
        assert list(fw["chains"]) == ["nat", "filter"]
        assert fw["chains"]["nat"]["POSTROUTING"] == {"policy": "ACCEPT", "rules": ["-j CROSSHOST-MASQ"]}
        assert fw["chains"]["nat"]["CROSSHOST-MASQ"]["rules"] == [
            "-s 10.0.0.0/24 -d 10.0.0.0/8 -j RETURN",
            "-s 10.0.0.0/24 -o docker0 -j RETURN",
            "-s 10.0.0.0/24 -j MASQUERADE",
        ]
        assert fw["chains"]["filter"]["DOCKER-USER"]["rules"] == ["-j RETURN"]

    def test_empty_ruleset(self):
        assert parse_save("") == {"chains": {}, "forward_policy": "ACCEPT", "docker_user_exists": False,
                                  "backend": None, "warnings": []}

    def test_no_filter_table(self):
        fw = parse_save("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
        assert fw["forward_policy"] == "ACCEPT"
        assert fw["docker_user_exists"] is False

    def test_docker_user_in_another_table_does_not_count(self):
        fw = parse_save("*nat\n:DOCKER-USER - [0:0]\nCOMMIT\n")
        assert fw["docker_user_exists"] is False

    def test_missing_commit_is_tolerated(self):
        fw = parse_save("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j DOCKER-USER\n")
        assert fw["chains"]["filter"]["FORWARD"] == {"policy": "DROP", "rules": ["-j DOCKER-USER"]}

    def test_rule_before_chain_declaration(self):
        fw = parse_save("*filter\n-A X -j RETURN\n:X - [0:0]\nCOMMIT\n")
        assert fw["chains"]["filter"]["X"] == {"policy": None, "rules": ["-j RETURN"]}

    def test_line_outside_table(self):
        with pytest.raises(IptablesSaveError) as info:
            parse_save("*filter\nCOMMIT\n-A FORWARD -j ACCEPT\n")
        assert "line 3" in str(info.value)

    def test_garbage(self):
        with pytest.raises(IptablesSaveError) as info:
            parse_save("*filter\n:FORWARD DROP [0:0]\niptables: Permission denied\nCOMMIT\n")
        assert "line 3" in str(info.value) and "cannot parse" in str(info.value)


class TestParseIptablesVersion:
    @pytest.mark.parametrize("out, expected", [
        ("iptables v1.8.9 (nf_tables)\n", {"version": "1.8.9", "backend": "nf_tables"}),
        ("iptables v1.8.7 (legacy)\n", {"version": "1.8.7", "backend": "legacy"}),
        ("iptables v1.6.1\n", {"version": "1.6.1", "backend": "legacy"}),
        ("iptables-legacy v1.8.9 (legacy)", {"version": "1.8.9", "backend": "legacy"}),
        ("", {"version": None, "backend": None}),
        (None, {"version": None, "backend": None}),
        ("command not found", {"version": None, "backend": None}),
    ])
    def test_versions(self, out, expected):
        assert parse_version(out) == expected


# ----------------------------------------------------------------------------------------------
# interfaces and routes


class TestParseIpJson:
    def test_fixture(self):
        assert len(parse_ip_json(text("ip_details_addr_h1.json"))) == 10

    def test_empty(self):
        assert parse_ip_json("") == []
        assert parse_ip_json("\n") == []

    def test_old_iproute2_prints_text(self):
        with pytest.raises(IpJsonError) as info:
            parse_ip_json("default via 192.168.1.1 dev eth0\n", "ip -json route show")
        assert str(info.value).startswith("ip -json route show did not print JSON")
        assert "line 1, column 1" in str(info.value)

    def test_not_a_list(self):
        with pytest.raises(IpJsonError) as info:
            parse_ip_json('{"ifname": "lo"}')
        assert "expected a list" in str(info.value)


class TestNormaliseInterfaces:
    KEYS = {"name", "ifindex", "kind", "mtu", "state", "mac", "addresses", "link_ifindex", "link_netnsid",
            "master", "flags", "promiscuity"}

    def test_keys_and_order(self, host_interfaces):
        assert [i["name"] for i in host_interfaces] == [
            "lo", "eth0", "eth1", "docker0", "br-3f2c1a0b9d8e", "mvshim", "veth4d5e6f7", "veth9a8b7c6",
            "docker_gwbridge", "vethc0ffee1"]
        for iface in host_interfaces:
            assert set(iface) == self.KEYS

    def test_loopback(self, host_interfaces):
        lo = by_name(host_interfaces)["lo"]
        assert lo["kind"] == "loopback"
        assert lo["addresses"] == ["127.0.0.1/8", "::1/128"]
        assert lo["state"] == "UNKNOWN"
        assert lo["link_ifindex"] is None

    def test_uplink_veth_to_underlay(self, host_interfaces):
        eth0 = by_name(host_interfaces)["eth0"]
        assert eth0 == {
            "name": "eth0", "ifindex": 2, "kind": "veth", "mtu": 1500, "state": "UP", "mac": "e6:e1:e9:25:a8:26",
            "addresses": ["192.168.1.11/24", "fd00:1::11/64", "fe80::e4e1:e9ff:fe25:a826/64"],
            "link_ifindex": 2, "link_netnsid": 0, "master": None,
            "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "promiscuity": 0,
        }

    def test_macvlan_parent_is_promiscuous(self, host_interfaces):
        assert by_name(host_interfaces)["eth1"]["promiscuity"] == 1

    def test_bridge(self, host_interfaces):
        docker0 = by_name(host_interfaces)["docker0"]
        assert (docker0["kind"], docker0["ifindex"]) == ("bridge", 4)
        assert docker0["addresses"][0] == "172.17.0.1/16"

    def test_macvlan_shim_link_by_name(self, host_interfaces):
        shim = by_name(host_interfaces)["mvshim"]
        assert shim["kind"] == "macvlan"
        assert shim["link_ifindex"] == 3  # "link": "eth1" resolved to eth1's ifindex
        assert shim["link_netnsid"] is None
        assert shim["addresses"][0] == "172.21.0.254/32"

    def test_container_veth(self, host_interfaces):
        veth = by_name(host_interfaces)["veth4d5e6f7"]
        assert (veth["kind"], veth["master"], veth["link_ifindex"], veth["link_netnsid"]) == ("veth", "docker0", 7, 1)

    def test_container_side_link_index_equals_sysfs_iflink(self):
        # the container's own `ip -json` and its sysfs agree: that is what the module relies on
        inside = by_name(normalise_interfaces(data("ip_details_link_container_app1.json")))
        sysfs = by_name(sysfs_links(4343))
        assert inside["eth0"]["link_ifindex"] == sysfs["eth0"]["iflink"] == 10
        assert inside["eth1"]["kind"] == "macvlan"
        assert inside["eth1"]["link_ifindex"] == sysfs["eth1"]["iflink"] == 3
        assert inside["eth1"]["addresses"] == []  # `ip link` has no addr_info

    def test_tunnel_without_mac(self):
        [tunl] = normalise_interfaces([{"ifindex": 5, "ifname": "tunl0", "link": None, "flags": ["NOARP"], "mtu": 1480,
                                        "operstate": "DOWN", "link_type": "ipip", "address": "0.0.0.0",
                                        "linkinfo": {"info_kind": "ipip"}, "addr_info": []}])
        assert (tunl["mac"], tunl["kind"], tunl["link_ifindex"]) == (None, "ipip", None)

    def test_hardware_nic_has_no_kind(self):
        [nic] = normalise_interfaces([{"ifindex": 4, "ifname": "ens3", "link_type": "ether", "address": "02:fc:00:00:00:01",
                                       "mtu": 1400, "operstate": "UP"}])
        assert nic["kind"] is None
        assert nic["addresses"] == [] and nic["flags"] == [] and nic["promiscuity"] is None


class TestNormaliseRoutes:
    def test_main_and_policy_tables(self):
        routes = normalise_routes(data("ip_details_route4_h1.json"))
        assert all(r["table"] != "local" for r in routes)
        assert len(routes) == 10
        assert routes[0] == {"dst": "default", "gateway": "192.168.1.1", "dev": "eth0", "proto": "boot", "scope": "global",
                             "table": "100", "type": "unicast", "metric": None, "prefsrc": None, "family": "inet"}
        assert {"dst": "10.1.0.0/24", "gateway": "192.168.1.12", "dev": "eth0", "table": "main"}.items() <= routes[2].items()

    def test_kernel_routes(self):
        routes = {r["dst"]: r for r in normalise_routes(data("ip_details_route4_h1.json"))}
        docker0 = routes["172.17.0.0/16"]
        assert (docker0["dev"], docker0["proto"], docker0["scope"], docker0["prefsrc"], docker0["gateway"]) == (
            "docker0", "kernel", "link", "172.17.0.1", None)
        assert routes["172.21.0.0/24"]["dev"] == "mvshim"

    def test_blackhole_and_multipath(self):
        routes = {r["dst"]: r for r in normalise_routes(data("ip_details_route4_h1.json"))}
        assert routes["10.99.0.0/16"]["type"] == "blackhole"
        assert routes["10.99.0.0/16"]["dev"] is None
        assert routes["10.2.0.0/24"]["nexthops"] == [
            {"gateway": "192.168.1.13", "dev": "eth0", "weight": 1},
            {"gateway": "192.168.1.14", "dev": "eth0", "weight": 2},
        ]
        assert "nexthops" not in routes["10.1.0.0/24"]

    def test_output_without_details_gives_the_same_result(self):
        assert normalise_routes(data("ip_route4_h1_nodetails.json")) == normalise_routes(data("ip_details_route4_h1.json"))

    def test_include_local(self):
        routes = normalise_routes(data("ip_details_route4_h1.json"), include_local=True)
        local = [r for r in routes if r["table"] == "local"]
        assert len(local) == 12
        assert {"type": "local", "dst": "192.168.1.11", "scope": "host"}.items() <= local[-2].items()

    def test_ipv6(self):
        routes = normalise_routes(data("ip_details_route6_h1.json"), "inet6")
        assert routes[0] == {"dst": "fd00:1::/64", "gateway": None, "dev": "eth0", "proto": "kernel", "scope": "global",
                             "table": "main", "type": "unicast", "metric": 256, "prefsrc": None, "family": "inet6"}
        assert all(r["family"] == "inet6" for r in routes)


# ----------------------------------------------------------------------------------------------
# sysctl and sysfs


class TestSysctlAndSysfs:
    @pytest.mark.parametrize("raw, value", [("1\n", 1), ("0", 0), (" 2 \n", 2), ("", None), (None, None), ("abc", None)])
    def test_parse_sysctl_int(self, raw, value):
        assert parse_sysctl_int(raw) == value

    def test_sysfs_link(self):
        files = data("container_sysfs_h1.json")["pids"]["4444"]["eth0"]
        assert normalise_sysfs_link("eth0", files) == {
            "name": "eth0", "ifindex": 3, "iflink": 4, "address": "02:42:0a:00:01:03", "mtu": 1450, "state": "up"}

    def test_sysfs_link_missing_files(self):
        assert normalise_sysfs_link("eth0", {"ifindex": "7\n", "iflink": None}) == {
            "name": "eth0", "ifindex": 7, "iflink": None, "address": None, "mtu": None, "state": None}


# ----------------------------------------------------------------------------------------------
# container -> host-side interface map


class TestContainerRecord:
    IFACE_KEYS = {"name", "ifindex", "address", "mtu", "state", "peer_ifindex", "network", "driver", "ip_address",
                  "host_interface", "host_kind", "host_master", "note"}

    def test_default_bridge_container(self, containers, host_interfaces, networks):
        rec = container_record(containers["web"], sysfs_links(4242), host_interfaces, networks)
        assert rec == {
            "name": "web",
            "id": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "pid": 4242,
            "network_mode": "default",
            "error": None,
            "interfaces": [{
                "name": "eth0", "ifindex": 7, "address": "02:42:ac:11:00:02", "mtu": 1500, "state": "up",
                "peer_ifindex": 8, "network": "bridge", "driver": "bridge", "ip_address": "172.17.0.2/16",
                "host_interface": "veth4d5e6f7", "host_kind": "veth", "host_master": "docker0", "note": None,
            }],
        }

    def test_user_bridge_and_macvlan(self, containers, host_interfaces, networks):
        rec = container_record(containers["app1"], sysfs_links(4343), host_interfaces, networks)
        eth0, eth1 = rec["interfaces"]
        assert (eth0["name"], eth0["network"], eth0["host_interface"], eth0["host_kind"], eth0["host_master"]) == (
            "eth0", "app", "veth9a8b7c6", "veth", "br-3f2c1a0b9d8e")
        assert (eth1["name"], eth1["network"], eth1["driver"], eth1["ip_address"]) == (
            "eth1", "mac_net1", "macvlan", "172.21.0.12/24")
        # eth1 is a veth on the host too (to the underlay) but it is the macvlan's parent, not a peer
        assert (eth1["peer_ifindex"], eth1["host_interface"], eth1["host_kind"], eth1["host_master"]) == (
            3, "eth1", "macvlan-parent", None)
        assert eth1["note"] is None

    def test_overlay_peer_is_not_in_host_namespace(self, containers, host_interfaces, networks):
        rec = container_record(containers["ovl-client"], sysfs_links(4444), host_interfaces, networks)
        eth0, eth1 = rec["interfaces"]
        # eth0's iflink 4 is docker0's ifindex on the host: a coincidence that must not be reported
        assert eth0["peer_ifindex"] == 4 and by_name(host_interfaces)["docker0"]["ifindex"] == 4
        assert (eth0["network"], eth0["driver"], eth0["host_interface"], eth0["host_kind"]) == ("ovl", "overlay", None, None)
        assert "overlay network's namespace" in eth0["note"]
        assert eth0["mtu"] == 1450
        assert (eth1["network"], eth1["host_interface"], eth1["host_master"]) == (
            "docker_gwbridge", "vethc0ffee1", "docker_gwbridge")

    def test_host_network_container(self, containers, host_interfaces, networks):
        rec = container_record(containers["hostnet"], [], host_interfaces, networks)
        assert (rec["network_mode"], rec["interfaces"], rec["error"]) == ("host", [], None)

    def test_all_interfaces_have_documented_keys(self, containers, host_interfaces, networks):
        for name, pid in (("web", 4242), ("app1", 4343), ("ovl-client", 4444)):
            rec = container_record(containers[name], sysfs_links(pid), host_interfaces, networks)
            assert set(rec) == {"name", "id", "pid", "network_mode", "interfaces", "error"}
            assert all(set(i) == self.IFACE_KEYS for i in rec["interfaces"])
            assert all(i["name"] != "lo" for i in rec["interfaces"])
            json.dumps(rec)

    def test_error_is_passed_through(self, containers, host_interfaces):
        rec = container_record(containers["web"], sysfs_links(4242), host_interfaces, error="cannot read ...")
        assert rec["error"] == "cannot read ..." and rec["interfaces"] == []

    def test_without_network_list_veth_still_verified(self, containers, host_interfaces):
        [eth0] = container_record(containers["web"], sysfs_links(4242), host_interfaces)["interfaces"]
        assert (eth0["network"], eth0["driver"], eth0["host_interface"], eth0["host_kind"]) == ("bridge", None, "veth4d5e6f7", "veth")

    def test_without_network_list_bare_index_match_is_refused(self, containers, host_interfaces):
        eth0 = container_record(containers["ovl-client"], sysfs_links(4444), host_interfaces)["interfaces"][0]
        assert eth0["host_interface"] is None
        assert "docker0, which is not this interface's peer" in eth0["note"]

    def test_host_uplink_veth_is_not_a_container_peer(self, host_interfaces):
        # container ifindex 5, iflink 2: host ifindex 2 is eth0, a veth whose peer is ifindex 2 in the underlay
        links = [{"name": "eth0", "ifindex": 5, "iflink": 2, "address": "02:42:ac:11:00:09", "mtu": 1500, "state": "up"}]
        [eth0] = container_record({"Name": "/x"}, links, host_interfaces)["interfaces"]
        assert eth0["host_interface"] is None and eth0["host_kind"] is None

    def test_peer_not_found_anywhere(self, host_interfaces):
        links = [{"name": "eth0", "ifindex": 40, "iflink": 41, "address": "02:42:ac:11:00:09", "mtu": 1500, "state": "up"}]
        [eth0] = container_record({"Name": "/x"}, links, host_interfaces)["interfaces"]
        assert eth0["note"] == "peer ifindex 41 is not in the host namespace"

    def test_no_peer_device(self, host_interfaces):
        links = [{"name": "tunl0", "ifindex": 2, "iflink": 0, "address": "00:00:00:00", "mtu": 1480, "state": "down"}]
        [tunl] = container_record({"Name": "/x"}, links, host_interfaces)["interfaces"]
        assert tunl["note"] == "no peer or parent device"

    def test_ipvlan_matched_by_parent(self, host_interfaces):
        nets = [normalise_network({"Name": "ipv", "Id": "i1", "Driver": "ipvlan", "Options": {"parent": "eth1"}})]
        container = {"Name": "/ipv-client", "Id": "c9", "State": {"Pid": 7}, "HostConfig": {"NetworkMode": "ipv"},
                     "NetworkSettings": {"Networks": {"ipv": {"NetworkID": "i1", "IPAddress": "192.168.50.10",
                                                              "IPPrefixLen": 24, "MacAddress": ""}}}}
        links = [{"name": "eth0", "ifindex": 20, "iflink": 3, "address": "82:94:e7:43:46:5c", "mtu": 1500, "state": "up"}]
        [eth0] = container_record(container, links, host_interfaces, nets)["interfaces"]
        assert (eth0["network"], eth0["host_interface"], eth0["host_kind"], eth0["ip_address"]) == (
            "ipv", "eth1", "ipvlan-parent", "192.168.50.10/24")

    def test_macvlan_parent_missing(self, networks):
        container = {"Name": "/m", "NetworkSettings": {"Networks": {"mac_net1": {
            "NetworkID": "9c1f5e0b1f5d4bb0c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0", "MacAddress": "02:42:ac:15:00:0d"}}}}
        links = [{"name": "eth0", "ifindex": 20, "iflink": 3, "address": "02:42:ac:15:00:0d", "mtu": 1500, "state": "up"}]
        [eth0] = container_record(container, links, [], networks)["interfaces"]
        assert eth0["host_interface"] is None
        assert eth0["note"] == "macvlan parent (ifindex 3) not found in the host namespace"

    def test_macvlan_parent_mismatch(self, networks, host_interfaces):
        container = {"Name": "/m", "NetworkSettings": {"Networks": {"mac_net1": {
            "NetworkID": "9c1f5e0b1f5d4bb0c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0", "MacAddress": "02:42:ac:15:00:0d"}}}}
        links = [{"name": "eth0", "ifindex": 20, "iflink": 2, "address": "02:42:AC:15:00:0D", "mtu": 1500, "state": "up"}]
        [eth0] = container_record(container, links, host_interfaces, networks)["interfaces"]
        assert eth0["host_interface"] is None
        assert eth0["note"] == "ifindex 2 in the host namespace is eth0, not the network's parent eth1"

    def test_interfaces_sorted_by_ifindex(self, containers, host_interfaces, networks):
        links = list(reversed(sysfs_links(4343)))
        assert [i["name"] for i in container_record(containers["app1"], links, host_interfaces, networks)["interfaces"]] == [
            "eth0", "eth1"]

    def test_sparse_container(self):
        rec = container_record({}, [], [])
        assert rec == {"name": None, "id": None, "pid": None, "network_mode": None, "interfaces": [], "error": None}


# ----------------------------------------------------------------------------------------------
# Docker connection diagnostics


class TestDockerDiagnostics:
    @pytest.mark.parametrize("host, path", [
        ("unix:///var/run/docker.sock", "/var/run/docker.sock"),
        ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
        ("unix://", "/var/run/docker.sock"),
        ("", "/var/run/docker.sock"),
        (None, "/var/run/docker.sock"),
        ("/run/docker-h2.sock", "/run/docker-h2.sock"),
        ("tcp://192.168.1.12:2375", None),
        ("ssh://root@h2", None),
    ])
    def test_unix_socket_path(self, host, path):
        assert unix_socket_path(host) == path

    def test_not_installed(self):
        msg = docker_unreachable_message("unix:///var/run/docker.sock", "/var/run/docker.sock", False, None)
        assert msg.startswith("Docker is not installed on this host")
        assert "/var/run/docker.sock does not exist" in msg

    def test_installed_not_running(self):
        msg = docker_unreachable_message("unix:///var/run/docker.sock", "/var/run/docker.sock", False, "/usr/sbin/dockerd")
        assert msg.startswith("Docker is installed (/usr/sbin/dockerd) but the daemon is not running")
        assert "the socket /var/run/docker.sock does not exist" in msg

    def test_stale_socket(self):
        err = "Error while fetching server API version: ('Connection aborted.', ConnectionRefusedError(111, 'Connection refused'))"
        msg = docker_unreachable_message("unix:///var/run/docker.sock", "/var/run/docker.sock", True, None, err)
        assert msg.startswith("Cannot connect to the Docker daemon at unix:///var/run/docker.sock: Error while fetching")
        assert "nothing listens on it" in msg

    def test_permission_denied(self):
        err = "Error while fetching server API version: ('Connection aborted.', PermissionError(13, 'Permission denied'))"
        msg = docker_unreachable_message("unix:///var/run/docker.sock", "/var/run/docker.sock", True, None, err)
        assert "use become" in msg

    def test_remote(self):
        msg = docker_unreachable_message("tcp://192.168.1.12:2375", None, None, None, "Connection refused")
        assert msg == "Cannot connect to the Docker daemon at tcp://192.168.1.12:2375: Connection refused"

    def test_messages_are_distinct(self):
        msgs = {
            docker_unreachable_message("unix:///s", "/s", False, None),
            docker_unreachable_message("unix:///s", "/s", False, "/usr/bin/dockerd"),
            docker_unreachable_message("unix:///s", "/s", True, None, "boom"),
        }
        assert len(msgs) == 3
