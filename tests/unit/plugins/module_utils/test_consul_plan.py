# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_consul_plan: every rule of check_settings, plan_cluster and check_gossip_key, and that no secret
ever appears in a result or an error message."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._consul_plan import (
    SETTINGS,
    ConsulPlanError,
    check_gossip_key,
    check_settings,
    plan_cluster,
)
from ansible_collections.crosshost.docker.tests.unit import helpers

KEY = base64.b64encode(b"k" * 32).decode()
TOKEN = "0b6ac0ee-9c7b-4f5d-9d2a-2c2a0d3e7f11"
SHA = "a" * 64
BASE = dict(helpers.CONSUL_SETTINGS, consul_archive_checksum=SHA, consul_encrypt=KEY)
TLS = {"consul_tls": True, "consul_tls_ca_file": "/pki/ca.pem", "consul_tls_cert_file": "/pki/h1.pem",
       "consul_tls_key_file": "/pki/h1-key.pem"}
TLS_LOCAL = {"tls_files_exist": {k: True for k in ("consul_tls_ca_file", "consul_tls_cert_file", "consul_tls_key_file")}}


def settings(**kw):
    out = dict(BASE)
    out.update(kw)
    return out


def refused(local=None, **kw):
    with pytest.raises(ConsulPlanError) as err:
        check_settings(settings(**kw), local)
    msg = str(err.value)
    assert KEY not in msg and TOKEN not in msg
    return msg


def test_base_covers_every_setting():
    assert set(BASE) == set(SETTINGS)


def test_defaults_normalised_without_secrets():
    out = check_settings(settings(consul_acl_management_token=TOKEN))
    assert out == {
        "install_method": "archive", "version": "1.20.2",
        "archive": {"src": "", "url": BASE["consul_archive_url"], "checksum": "sha256:" + SHA,
                    "name": "consul_1.20.2_linux_amd64.zip", "arch": "amd64"},
        "container": None, "encrypt": True, "datacenter": "dc1", "domain": "consul", "node_name": "h1",
        "config_dir": "/etc/consul.d", "data_dir": "/var/lib/consul", "bin_dir": "/usr/local/bin",
        "install_dir": "/usr/local/lib/consul", "acl_management_token_file": "/etc/consul-acl/management.token",
        "http_port": 8500, "https_port": 8501, "log_level": "INFO", "bind_address": "192.168.1.11",
        "advertise_address": "192.168.1.11", "client_addresses": ["127.0.0.1", "192.168.1.11"],
        "acl": {"enabled": True, "default_policy": "deny", "management_token": True, "docker_kv_prefix": "docker/",
                "docker_policy_name": "crosshost-docker"},
        "tls": {"enabled": False},
    }
    assert KEY not in repr(out) and TOKEN not in repr(out)


def test_unknown_and_non_dict_settings():
    with pytest.raises(ConsulPlanError, match="unknown consul settings consul_foo"):
        check_settings(settings(consul_foo=1))
    with pytest.raises(ConsulPlanError, match="must be a dict"):
        check_settings(["consul_version"])


@pytest.mark.parametrize("kw, words", [
    ({"consul_install_method": "apt"}, "consul_install_method='apt': use archive"),
    ({"consul_install_method": ""}, "consul_install_method is empty"),
    ({"consul_version": "latest"}, "consul_version='latest' is not a release version"),
    ({"consul_version": "1.20"}, "is not a release version"),
    ({"consul_version": ""}, "consul_version is empty"),
    ({"consul_version": 1.2}, "consul_version must be a string"),
    ({"consul_arch": "x86 64"}, "consul_arch='x86 64'"),
    ({"consul_archive_url": ""}, "consul_archive_url is empty"),
    ({"consul_archive_url": "releases.hashicorp.com/consul.zip"}, "is not a URL"),
    ({"consul_archive_checksum": ""}, "consul_archive_checksum is empty: a download needs the release's SHA-256, "
                                      "from consul_1.20.2_SHA256SUMS"),
    ({"consul_archive_checksum": "md5:abc"}, "give the release's SHA-256, 64 hex digits"),
    ({"consul_archive_checksum": "a" * 63}, "64 hex digits"),
    ({"consul_archive_src": "files/consul.zip"}, "give the absolute path of the release zip on the control node"),
    ({"consul_archive_src": "/srv/consul.zip"}, "/srv/consul.zip does not exist on the control node"),
    ({"consul_encrypt": ""}, "consul_encrypt is empty: gossip encryption is required"),
    ({"consul_encrypt": None}, "consul_encrypt is empty"),
    ({"consul_encrypt": "not base64!"}, "consul_encrypt is not valid base64 (a value of 11 characters)"),
    ({"consul_encrypt": base64.b64encode(b"k" * 16).decode()}, "consul_encrypt decodes to 16 bytes, not 32"),
    ({"consul_datacenter": "DC1"}, "consul_datacenter='DC1': Consul accepts only lower-case"),
    ({"consul_datacenter": "dc 1"}, "consul_datacenter="),
    ({"consul_domain": "-bad"}, "consul_domain='-bad'"),
    ({"consul_node_name": "h1 b"}, "consul_node_name='h1 b'"),
    ({"consul_node_name": ""}, "consul_node_name is empty"),
    ({"consul_config_dir": "etc/consul.d"}, "consul_config_dir='etc/consul.d': use an absolute path"),
    ({"consul_data_dir": "/var/lib/con sul"}, "consul_data_dir="),
    ({"consul_bin_dir": "/usr/../bin"}, "consul_bin_dir="),
    ({"consul_install_dir": "/opt/$HOME"}, "consul_install_dir="),
    ({"consul_data_dir": "/etc/consul.d"}, "consul_config_dir and consul_data_dir are both /etc/consul.d"),
    ({"consul_data_dir": "/etc/consul.d/data"}, "consul_data_dir=/etc/consul.d/data is inside consul_config_dir"),
    ({"consul_install_dir": "/etc/consul.d/bin"}, "consul_install_dir=/etc/consul.d/bin is inside"),
    ({"consul_acl_management_token_file": "/etc/consul.d/token"}, "consul_acl_management_token_file=/etc/consul.d/token "
                                                                  "is inside consul_config_dir"),
    ({"consul_http_port": 0}, "consul_http_port must be a port number (1-65535), got 0"),
    ({"consul_http_port": "85x"}, "consul_http_port must be a port number"),
    ({"consul_http_port": True}, "consul_http_port must be a port number"),
    ({"consul_https_port": 70000}, "consul_https_port must be a port number"),
    ({"consul_log_level": "verbose"}, "consul_log_level='verbose': use one of TRACE, DEBUG, INFO, WARN, ERR"),
    ({"consul_bind_address": ""}, "consul_bind_address is empty and consul_interface has no IPv4 address"),
    ({"consul_bind_address": "h1"}, "consul_bind_address='h1' is not an IP address"),
    ({"consul_bind_address": "0.0.0.0"}, "use the host's own unicast address, not an unspecified address"),
    ({"consul_bind_address": "224.0.0.1"}, "not a multicast address"),
    ({"consul_advertise_address": "nope"}, "consul_advertise_address='nope' is not an IP address"),
    ({"consul_client_addresses": ["192.168.1.11"]}, "include 127.0.0.1"),
    ({"consul_client_addresses": ["127.0.0.1", "x"]}, "consul_client_addresses[1]='x' is not an IP address"),
    ({"consul_client_addresses": {"a": 1}}, "consul_client_addresses must be a list"),
    ({"consul_acl_enabled": "maybe"}, "consul_acl_enabled must be true or false"),
    ({"consul_acl_default_policy": "block"}, "consul_acl_default_policy='block': use deny"),
    ({"consul_acl_management_token": "root"}, "consul_acl_management_token is not a UUID (a value of 4 characters)"),
    ({"consul_acl_management_token": 5}, "consul_acl_management_token is not a UUID"),
    ({"consul_docker_kv_prefix": "docker"}, "consul_docker_kv_prefix='docker': use a key prefix like docker/"),
    ({"consul_docker_kv_prefix": 'do"cker/'}, "consul_docker_kv_prefix="),
    ({"consul_docker_kv_prefix": "/docker/"}, "consul_docker_kv_prefix="),
    ({"consul_docker_policy_name": "docker policy"}, "consul_docker_policy_name='docker policy'"),
    ({"consul_tls": "sure"}, "consul_tls must be true or false"),
])
def test_refused_with_the_variable_and_the_fix(kw, words):
    assert words in refused(**kw)


def test_tls():
    out = check_settings(settings(**TLS), TLS_LOCAL)
    assert out["tls"] == {"enabled": True, "ca_file": "/pki/ca.pem", "cert_file": "/pki/h1.pem",
                          "key_file": "/pki/h1-key.pem"}
    assert "consul_tls_key_file is empty: with consul_tls: true give the PEM file" in refused(
        TLS_LOCAL, **{**TLS, "consul_tls_key_file": ""})
    assert "consul tls cert create -server -dc dc1" in refused(TLS_LOCAL, **{**TLS, "consul_tls_ca_file": ""})
    assert "consul_tls_cert_file='pki/h1.pem': give an absolute path" in refused(
        TLS_LOCAL, **{**TLS, "consul_tls_cert_file": "pki/h1.pem"})
    missing = {"tls_files_exist": dict(TLS_LOCAL["tls_files_exist"], consul_tls_ca_file=False)}
    assert "consul_tls_ca_file=/pki/ca.pem does not exist on the control node" in refused(missing, **TLS)
    assert "consul_https_port and consul_http_port are both 8500" in refused(
        TLS_LOCAL, **{**TLS, "consul_https_port": 8500})
    # Without TLS the file variables are not looked at.
    assert check_settings(settings(consul_tls_key_file="relative"))["tls"] == {"enabled": False}


def test_local_archive():
    src = "/srv/consul_1.20.2_linux_amd64.zip"
    have = {"archive_src_exists": True, "archive_src_sha256": "B" * 64}
    out = check_settings(settings(consul_archive_src=src, consul_archive_checksum="", consul_archive_url=""), have)
    assert out["archive"] == {"src": src, "url": "", "checksum": "sha256:" + "b" * 64,
                              "name": "consul_1.20.2_linux_amd64.zip", "arch": "amd64"}
    assert check_settings(settings(consul_archive_src=src, consul_archive_checksum="sha256:" + "B" * 64),
                          have)["archive"]["checksum"] == "sha256:" + "b" * 64
    msg = refused(have, consul_archive_src=src, consul_archive_checksum="c" * 64)
    assert msg == (f"consul_archive_src={src} has SHA-256 {'b' * 64} but consul_archive_checksum says {'c' * 64}: "
                   "the file is not the release you named (or is damaged); download it again")
    assert "consul_archive_checksum is a URL, which an offline site cannot fetch" in refused(
        have, consul_archive_src=src, consul_archive_checksum="sha256:https://example.invalid/SHA256SUMS")
    # The filter could not hash it (no sha given): accepted, the checksum stays empty.
    assert check_settings(settings(consul_archive_src=src, consul_archive_checksum=""),
                          {"archive_src_exists": True})["archive"]["checksum"] == ""


def test_checksum_forms():
    def checksum(value):
        return check_settings(settings(consul_archive_checksum=value))["archive"]["checksum"]

    assert checksum("A" * 64) == "sha256:" + "a" * 64
    assert checksum("sha256:" + "A" * 64) == "sha256:" + "a" * 64
    url = "sha256:https://releases.hashicorp.com/consul/1.20.2/consul_1.20.2_SHA256SUMS"
    assert checksum(url) == url


def test_versions():
    for v in ("1.20.2", "1.21.0-rc1", "1.20.2+ent", "v1.19.1"):
        assert check_settings(settings(consul_version=v))["version"] == v.lstrip("v")
    assert check_settings(settings(consul_version="1.20.2"))["archive"]["name"] == "consul_1.20.2_linux_amd64.zip"


def test_container_method():
    out = check_settings(settings(consul_install_method="container", consul_container_image="hashicorp/consul:1.20.2",
                                  consul_version="", consul_archive_checksum="", consul_arch=""))
    assert out["container"] == {"image": "hashicorp/consul:1.20.2", "name": "consul"} and out["archive"] is None
    assert "consul_container_image is empty: with consul_install_method=container, name the Consul image" in refused(
        consul_install_method="container")
    assert "is not an image reference" in refused(consul_install_method="container",
                                                  consul_container_image="hashicorp/consul 1.20")
    assert "consul_container_name='my consul'" in refused(consul_install_method="container",
                                                          consul_container_image="consul:1", consul_container_name="my consul")


def test_addresses_and_misc_normalisation():
    out = check_settings(settings(consul_advertise_address=" 10.0.0.5 ", consul_client_addresses="0.0.0.0 ::1 0.0.0.0",
                                  consul_log_level="warning", consul_domain="consul.", consul_config_dir="/etc/consul.d/",
                                  consul_acl_enabled="yes", consul_http_port="8600"))
    assert out["advertise_address"] == "10.0.0.5" and out["client_addresses"] == ["0.0.0.0", "::1"]
    assert out["log_level"] == "WARN" and out["domain"] == "consul" and out["config_dir"] == "/etc/consul.d"
    assert out["acl"]["enabled"] is True and out["http_port"] == 8600
    assert check_settings(settings(consul_bind_address="fd00::11"))["client_addresses"] == ["127.0.0.1", "fd00::11"]


def test_gossip_key():
    assert check_gossip_key(KEY) is True
    assert check_gossip_key(" %s\n" % KEY) is True
    for bad in ("", None, 42, "=" * 44, base64.b64encode(b"k" * 33).decode()):
        with pytest.raises(ConsulPlanError) as err:
            check_gossip_key(bad, name="the_key")
        assert str(err.value).startswith("the_key ") and "consul keygen" in str(err.value)


# ---------------------------------------------------------------------------------------------- plan

ADDR = {"h1": "192.168.1.11", "h2": "192.168.1.12", "h3": "192.168.1.13", "h4": "192.168.1.14", "h5": "192.168.1.15"}


def test_single_server_and_clients():
    plan = plan_cluster(["h1", "h2", "h3"], ["h1"], ADDR)
    assert plan == {"servers": ["h1"], "clients": ["h2", "h3"],
                    "modes": {"h1": "server", "h2": "client", "h3": "client"}, "first_server": "h1",
                    "bootstrap_expect": 1, "retry_join": ["192.168.1.11"]}


def test_three_servers_in_the_given_order():
    plan = plan_cluster(["h1", "h2", "h3", "h4", "h5"], ["h3", "h1", "h2"], ADDR)
    assert plan["bootstrap_expect"] == 3 and plan["first_server"] == "h3"
    assert plan["retry_join"] == ["192.168.1.13", "192.168.1.11", "192.168.1.12"]
    assert plan["clients"] == ["h4", "h5"] and plan["modes"]["h4"] == "client"
    assert plan_cluster(list(ADDR), list(ADDR), ADDR)["bootstrap_expect"] == 5
    assert plan_cluster(["h1"], "h1", ADDR)["servers"] == ["h1"]


@pytest.mark.parametrize("servers, words", [
    ([], "consul_servers is empty: put 1, 3 or 5 hosts in the inventory group consul_servers"),
    (["h1", "h2"], "consul_servers has 2 hosts (h1, h2): use 1, 3 or 5 servers (2 servers cannot lose either one"),
    (["h1", "h2", "h3", "h4"], "4 tolerate no more failures than 3"),
    (["h1", "h2", "h3", "h4", "h5", "h6", "h7"], "more than 5 servers slow every write down"),
    (["h1", "h1", "h2"], "consul_servers names h1 more than once"),
    ([1], "consul_servers must be a list of inventory host names"),
    (["h9"], "consul_servers h9 is not in this play, so its address is unknown"),
    (["h8", "h9", "h1"], "consul_servers h8, h9 are not in this play, so their address is unknown"),
])
def test_plan_refused(servers, words):
    addr = dict(ADDR, h6="192.168.1.16", h7="192.168.1.17")
    hosts = [h for h in addr if h in servers or h in ADDR]
    with pytest.raises(ConsulPlanError) as err:
        plan_cluster(hosts, servers, addr)
    assert words in str(err.value)


def test_plan_addresses():
    with pytest.raises(ConsulPlanError, match="h1 and h2 both advertise 192.168.1.11"):
        plan_cluster(["h1", "h2"], ["h1"], {"h1": "192.168.1.11", "h2": "192.168.1.11"})
    with pytest.raises(ConsulPlanError, match="h2 has no address for consul"):
        plan_cluster(["h1", "h2"], ["h1"], {"h1": "192.168.1.11"})
    with pytest.raises(ConsulPlanError, match="is not an IP address"):
        plan_cluster(["h1"], ["h1"], {"h1": "h1.example"})
    with pytest.raises(ConsulPlanError, match="the play's hosts must be a list"):
        plan_cluster("h1", ["h1"], ADDR)


def test_retry_join_override_allows_servers_outside_the_play():
    plan = plan_cluster(["h4"], ["s1", "s2", "s3"], {"h4": "10.0.0.4"}, retry_join=["10.0.0.1", " consul.example "])
    assert plan["retry_join"] == ["10.0.0.1", "consul.example"] and plan["modes"] == {"h4": "client"}
    assert plan["first_server"] == "s1" and plan["bootstrap_expect"] == 3
    assert plan_cluster(["h1"], ["h1"], ADDR, retry_join="10.0.0.1")["retry_join"] == ["10.0.0.1"]
    with pytest.raises(ConsulPlanError, match=r"consul_retry_join\[0\]='bad host'"):
        plan_cluster(["h1"], ["h1"], ADDR, retry_join=["bad host"])
