"""Unit tests for the overlay planner (plugins/module_utils/_overlay_plan.py): pure Python."""
import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _overlay_plan as op

OLD = {"h1": "20.10.24", "h2": "20.10.24+dfsg1"}
MIXED = {"h1": "20.10.24", "h2": "26.1.5", "h3": "28.5.2"}


# --- parse_kv_url -----------------------------------------------------------------------------

@pytest.mark.parametrize("url, scheme, endpoints, normal", [
    ("consul://10.0.0.5:8500", "consul", [("10.0.0.5", 8500)], "consul://10.0.0.5:8500"),
    ("consul://consul.local", "consul", [("consul.local", 8500)], "consul://consul.local:8500"),
    ("etcd://192.168.1.1:2379", "etcd", [("192.168.1.1", 2379)], "etcd://192.168.1.1:2379"),
    ("etcd://a:2379,b:2380", "etcd", [("a", 2379), ("b", 2380)], "etcd://a:2379,b:2380"),
    ("etcd://a", "etcd", [("a", 2379)], "etcd://a:2379"),
    ("zk://z1:2181/", "zk", [("z1", 2181)], "zk://z1:2181"),
])
def test_parse_kv_url_good(url, scheme, endpoints, normal):
    got = op.parse_kv_url(url)
    assert got == {"url": normal, "scheme": scheme, "endpoints": endpoints}


@pytest.mark.parametrize("url, words", [
    ("", "not a key-value store URL"),
    ("10.0.0.5:8500", "not a key-value store URL"),
    ("redis://10.0.0.5:6379", "scheme 'redis'"),
    ("consul://10.0.0.5:8500/docker", "has a path"),
    ("consul://a:8500,b:8500", "consul takes one address"),
    ("etcd://a:99999", "not a number from 1 to 65535"),
    ("etcd://a:x", "not a number"),
    ("etcd://:2379", "empty host"),
    ("etcd://bad_host!:2379", "not a host name"),
])
def test_parse_kv_url_bad(url, words):
    with pytest.raises(op.OverlayPlanError) as err:
        op.parse_kv_url(url)
    assert words in str(err.value)
    assert "overlay_kv_url" in str(err.value)


# --- choose_backend ---------------------------------------------------------------------------

def test_auto_picks_kv_on_old_engines_with_a_store():
    got = op.choose_backend("auto", OLD, kv_url="etcd://a:2379")
    assert got["backend"] == "kv" and got["warnings"] == []


def test_auto_picks_swarm_without_a_store():
    got = op.choose_backend("auto", OLD)
    assert got["backend"] == "swarm" and "not set" in got["reason"]


def test_auto_picks_swarm_on_a_mixed_fleet_and_warns_about_the_unused_store():
    got = op.choose_backend("auto", MIXED, kv_url="etcd://a:2379")
    assert got["backend"] == "swarm"
    assert "h2 (26.1.5)" in got["warnings"][0] and "h3 (28.5.2)" in got["warnings"][0]
    assert "h1" not in got["warnings"][0].split("but")[1].split("run")[0]


def test_kv_on_new_engines_names_the_hosts_and_the_fix():
    with pytest.raises(op.OverlayPlanError) as err:
        op.choose_backend("kv", MIXED, kv_url="etcd://a:2379")
    msg = str(err.value)
    assert "h2 (26.1.5), h3 (28.5.2)" in msg and "23.0" in msg and "overlay_backend: swarm" in msg


def test_kv_without_url():
    with pytest.raises(op.OverlayPlanError, match="needs overlay_kv_url"):
        op.choose_backend("kv", OLD)


def test_kv_refused_on_a_swarm_member():
    with pytest.raises(op.OverlayPlanError, match="h2 is in a swarm"):
        op.choose_backend("kv", OLD, kv_url="etcd://a", swarm_states={"h1": "inactive", "h2": "active"})


def test_swarm_refused_while_cluster_store_is_set():
    with pytest.raises(op.OverlayPlanError, match="h1 still has cluster-store"):
        op.choose_backend("swarm", OLD, cluster_stores={"h1": "etcd://a:2379", "h2": None})


def test_swarm_allowed_with_empty_cluster_stores_and_inactive_states():
    got = op.choose_backend("swarm", MIXED, swarm_states={"h1": "inactive"}, cluster_stores={"h1": None})
    assert got == {"backend": "swarm", "reason": "overlay_backend=swarm", "warnings": []}


@pytest.mark.parametrize("requested, engines, words", [
    ("vxlan", OLD, "not auto, kv or swarm"),
    ("auto", {}, "no hosts take part"),
    ("auto", {"h1": None}, "unknown on h1"),
    ("auto", {"h1": "garbage"}, "unknown on h1"),
])
def test_choose_backend_bad_input(requested, engines, words):
    with pytest.raises(op.OverlayPlanError, match=words):
        op.choose_backend(requested, engines)


def test_engine_23_is_new():
    with pytest.raises(op.OverlayPlanError, match="h1 \\(23.0.0\\)"):
        op.choose_backend("kv", {"h1": "23.0.0"}, kv_url="etcd://a")
    assert op.choose_backend("kv", {"h1": "22.06.0-beta"}, kv_url="etcd://a")["backend"] == "kv"


# --- normalise_networks ------------------------------------------------------------------------

def test_defaults_filled_in():
    got = op.normalise_networks([{"name": "ov", "subnet": "10.20.0.0/24"}], 1500)
    assert got == [{"name": "ov", "subnet": "10.20.0.0/24", "gateway": "10.20.0.1", "mtu": 1450,
                    "driver_mtu": 1500, "encrypted": False, "attachable": True}]


def test_explicit_values_and_jumbo_underlay():
    got = op.normalise_networks([{"name": "ov", "subnet": "10.20.0.0/16", "gateway": "10.20.255.254", "mtu": 8950,
                                  "encrypted": "yes", "attachable": False}], 9000)
    assert got[0]["gateway"] == "10.20.255.254" and got[0]["mtu"] == 8950 and got[0]["driver_mtu"] == 9000
    assert got[0]["encrypted"] is True and got[0]["attachable"] is False


@pytest.mark.parametrize("nets, mtu, backend, words", [
    ([], 1500, "swarm", "give a list of networks"),
    ("ov", 1500, "swarm", "give a list of networks"),
    (["ov"], 1500, "swarm", "is not a dict"),
    ([{"subnet": "10.0.0.0/24"}], 1500, "swarm", "name: None is not a Docker network name"),
    ([{"name": "bad name", "subnet": "10.0.0.0/24"}], 1500, "swarm", "not a Docker network name"),
    ([{"name": "ov"}], 1500, "swarm", "subnet: missing"),
    ([{"name": "ov", "subnet": "10.0.0.1/24"}], 1500, "swarm", "host bits set: use the network address 10.0.0.0/24"),
    ([{"name": "ov", "subnet": "nope"}], 1500, "swarm", "not a valid CIDR"),
    ([{"name": "ov", "subnet": "fd00::/64"}], 1500, "swarm", "IPv6"),
    ([{"name": "ov", "subnet": "10.0.0.0/30"}], 1500, "swarm", "too small"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "gateway": "10.0.1.1"}], 1500, "swarm", "not a usable address"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "gateway": "10.0.0.255"}], 1500, "swarm", "not a usable address"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "gateway": "x"}], 1500, "swarm", "not an IPv4 address"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "mtu": 1500}], 1500, "swarm", "Use 1450 or less"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "mtu": 1451}], 1500, "swarm", "VXLAN adds 50 bytes"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "mtu": 500}], 1500, "swarm", "below 576"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "mtu": "big"}], 1500, "swarm", "not a number"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "encrypted": True}], 1500, "kv", "need swarm mode"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "encrypted": "maybe"}], 1500, "swarm", "not a boolean"),
    ([{"name": "ov", "subnet": "10.0.0.0/24", "driver": "overlay"}], 1500, "swarm", "unknown key(s) driver"),
    ([{"name": "ov", "subnet": "10.0.0.0/24"}, {"name": "ov", "subnet": "10.1.0.0/24"}], 1500, "swarm", "listed 2 times"),
    ([{"name": "a", "subnet": "10.0.0.0/16"}, {"name": "b", "subnet": "10.0.5.0/24"}], 1500, "swarm", "Pool overlaps"),
    ([{"name": "ov", "subnet": "10.0.0.0/24"}], "x", "swarm", "overlay_underlay_mtu"),
])
def test_bad_networks(nets, mtu, backend, words):
    with pytest.raises(op.OverlayPlanError) as err:
        op.normalise_networks(nets, mtu, backend)
    assert words in str(err.value)
    assert "overlay_" in str(err.value)


def test_lower_underlay_mtu_lowers_the_default():
    assert op.normalise_networks([{"name": "ov", "subnet": "10.0.0.0/24"}], 1400)[0]["mtu"] == 1350


# --- check_networks ---------------------------------------------------------------------------

NETS = op.normalise_networks([{"name": "ov", "subnet": "10.20.0.0/24"}], 1500)


def _have(**kw):
    base = {"name": "ov", "driver": "overlay", "scope": "swarm", "attachable": True,
            "subnets": [{"subnet": "10.20.0.0/24", "gateway": "10.20.0.1"}],
            "options": {op.MTU_OPTION: "1500"}}
    base.update(kw)
    return base


def test_new_network_is_created():
    assert op.check_networks(NETS, {"h1": [], "h2": None}) == {"create": ["ov"], "keep": [], "remove": []}


def test_same_settings_are_kept():
    assert op.check_networks(NETS, {"h1": [_have()], "h2": []}) == {"create": [], "keep": ["ov"], "remove": []}


def test_no_mtu_option_and_no_gateway_are_accepted():
    have = _have(options={}, subnets=["10.20.0.0/24"])
    assert op.check_networks(NETS, {"h1": [have]})["keep"] == ["ov"]


@pytest.mark.parametrize("have, words", [
    (_have(driver="bridge"), "driver bridge (wants overlay)"),
    (_have(subnets=[{"subnet": "10.21.0.0/24"}]), "subnet 10.21.0.0/24 (wants 10.20.0.0/24)"),
    (_have(subnets=[{"subnet": "10.20.0.0/24", "gateway": "10.20.0.254"}]), "gateway 10.20.0.254"),
    (_have(options={op.MTU_OPTION: "1450"}), "mtu 1400 inside"),
    (_have(options={op.MTU_OPTION: "1500", "encrypted": ""}), "encrypted True (wants False)"),
    (_have(attachable=False), "attachable False (wants True)"),
])
def test_same_name_other_settings(have, words):
    with pytest.raises(op.OverlayPlanError) as err:
        op.check_networks(NETS, {"h2": [have]})
    msg = str(err.value)
    assert words in msg and "already exists on h2" in msg and "docker network rm ov" in msg


@pytest.mark.parametrize("other", [
    {"name": "br", "driver": "bridge", "subnets": [{"subnet": "10.20.0.0/16"}]},
    {"name": "br", "driver": "bridge", "subnets": ["10.20.0.128/25"]},
    {"name": "mac", "driver": "macvlan", "subnet": "10.20.0.0/24"},
])
def test_pool_overlap_with_any_network_on_any_host(other):
    with pytest.raises(op.OverlayPlanError) as err:
        op.check_networks(NETS, {"h1": [], "h3": [other]})
    assert "Pool overlaps" in str(err.value) and "on h3" in str(err.value)


def test_ipv6_and_garbage_subnets_are_ignored():
    other = {"name": "v6", "driver": "bridge", "subnets": ["fd00::/64", "garbage"]}
    assert op.check_networks(NETS, {"h1": [other]})["create"] == ["ov"]


def test_reserved_and_underlay_overlap():
    with pytest.raises(op.OverlayPlanError, match="overlaps 10.0.0.0/8, which the hosts use"):
        op.check_networks(NETS, {}, reserved=["10.0.0.0/8"])
    with pytest.raises(op.OverlayPlanError, match="overlay_reserved: 'x' is not a CIDR"):
        op.check_networks(NETS, {}, reserved=["x"])


def test_absent_lists_what_exists_and_ignores_conflicts():
    other = {"name": "br", "driver": "bridge", "subnets": ["10.20.0.0/16"]}
    assert op.check_networks(NETS, {"h1": [_have(driver="bridge"), other]}, state="absent") == {
        "create": [], "keep": [], "remove": ["ov"]}
    assert op.check_networks(NETS, {"h1": []}, state="absent")["remove"] == []


# --- check_endpoints --------------------------------------------------------------------------

def test_attachments_normalised():
    got = op.check_endpoints(NETS, {"h1": [{"container": "web", "network": "ov", "ipv4_address": "10.20.0.10"}],
                                    "h2": [{"container": "db", "network": "ov"}]})
    assert got == {"h1": [{"container": "web", "network": "ov", "ipv4_address": "10.20.0.10"}],
                   "h2": [{"container": "db", "network": "ov"}]}


def test_endpoint_exists_on_another_host():
    with pytest.raises(op.OverlayPlanError) as err:
        op.check_endpoints(NETS, {"h1": [{"container": "web", "network": "ov"}]}, {"h2": {"ov": ["/web"]}})
    assert "endpoint with name web already exists in network ov" in str(err.value) and "on h2" in str(err.value)


def test_endpoint_on_the_same_host_is_fine():
    assert op.check_endpoints(NETS, {"h1": [{"container": "web", "network": "ov"}]}, {"h1": {"ov": ["web"]}})["h1"]


def test_same_name_planned_on_two_hosts():
    with pytest.raises(op.OverlayPlanError, match="on both h1 and h2"):
        op.check_endpoints(NETS, {"h1": [{"container": "web", "network": "ov"}],
                                  "h2": [{"container": "web", "network": "ov"}]})


@pytest.mark.parametrize("attach, words", [
    ({"h1": "web"}, "give a list"),
    ({"h1": [{"container": "web"}]}, "give container and network"),
    ({"h1": [{"container": "web", "network": "other"}]}, "is not one of overlay_networks (ov)"),
    ({"h1": [{"container": "web", "network": "ov", "ipv4_address": "10.21.0.5"}]}, "not a free host address"),
    ({"h1": [{"container": "web", "network": "ov", "ipv4_address": "10.20.0.1"}]}, "not a free host address"),
    ({"h1": [{"container": "web", "network": "ov", "ipv4_address": "x"}]}, "not an IPv4 address"),
    ({"h1": [{"container": "a", "network": "ov", "ipv4_address": "10.20.0.9"}],
      "h2": [{"container": "b", "network": "ov", "ipv4_address": "10.20.0.9"}]}, "also given to a on h1"),
])
def test_bad_attachments(attach, words):
    with pytest.raises(op.OverlayPlanError) as err:
        op.check_endpoints(NETS, attach)
    assert words in str(err.value)


# --- ports ------------------------------------------------------------------------------------

def test_firewall_ports():
    assert op.firewall_ports("swarm") == ["2377/tcp", "7946/tcp", "7946/udp", "4789/udp"]
    assert op.firewall_ports("swarm", manager=False) == ["7946/tcp", "7946/udp", "4789/udp"]
    assert op.firewall_ports("kv") == ["7946/tcp", "7946/udp", "4789/udp"]


def test_parse_port():
    assert op.parse_port("4789/UDP") == (4789, "udp")
    for bad in ("4789", "0/tcp", "70000/tcp", "80/icmp"):
        with pytest.raises(op.OverlayPlanError, match="PORT/PROTO"):
            op.parse_port(bad)
