# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crosshost.docker.link's pure helpers: validation, the plan, the VLAN netlink request (the CI kernel
has no 802.1q, so this is where VLAN creation is tested), error messages and persistence renders."""
from __future__ import annotations

import errno

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _link_persist as P
from ansible_collections.crosshost.docker.plugins.module_utils import _links as L


def spec(**params):
    return L.normalize(params)


def link(name, index, kind=None, mtu=1500, up=True, promisc=False, parent_index=None, vlan_id=None, mode=None,
         addresses=(), routes=()):
    return dict(name=name, index=index, kind=kind, mtu=mtu, up=up, promisc=promisc, parent_index=parent_index,
                vlan_id=vlan_id, mode=mode, addresses=list(addresses), routes=list(routes), parent=None)


ETH1 = link("eth1", 3, kind="veth")


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["eth1", "eth1.10", "mvshim0", "a", "x" * 15, "br-1_2"])
def test_valid_names(name):
    assert L.name_problem(name) is None


@pytest.mark.parametrize("name, words", [
    ("", "empty"), ("x" * 16, "16 characters"), ("eth/1", "'/'"), ("eth 1", "' '"), ("eth1:0", "':'"),
    ("a\tb", "'\\t'"), ("..", "not a valid"),
])
def test_invalid_names(name, words):
    assert words in L.name_problem(name)


@pytest.mark.parametrize("vid", [0, 4095, -1, 5000])
def test_vlan_id_out_of_range(vid):
    with pytest.raises(L.LinkError, match="out of range: VLAN ids are 1-4094"):
        spec(kind="vlan", link="eth1", vlan_id=vid)


@pytest.mark.parametrize("vid", [1, 10, 4094])
def test_vlan_id_bounds_ok(vid):
    assert spec(kind="vlan", link="eth1", vlan_id=vid)["vlan_id"] == vid


def test_vlan_default_name():
    assert spec(kind="vlan", link="eth1", vlan_id=10)["name"] == "eth1.10"
    assert spec(kind="vlan", link="eth1", vlan_id=10, name="v10")["name"] == "v10"


def test_vlan_long_default_name_suggests_a_short_one():
    with pytest.raises(L.LinkError) as e:
        spec(kind="vlan", link="enp0s31f6abc", vlan_id=1000)
    assert "'enp0s31f6abc.1000' is 17 characters" in str(e.value)
    assert "name: vlan1000" in str(e.value)


def test_explicit_long_name():
    with pytest.raises(L.LinkError, match="name: 'averyveryverylongname' is 21 characters"):
        spec(kind="vlan", link="eth1", vlan_id=10, name="averyveryverylongname")


@pytest.mark.parametrize("params, words", [
    (dict(kind="vlan", vlan_id=10), "link: required"),
    (dict(kind="vlan", link="eth1"), "vlan_id: required"),
    (dict(kind="macvlan_shim", link="eth1", address="192.168.2.250/32"), "name: required"),
    (dict(kind="macvlan_shim", link="eth1", name="mv0"), "address: required"),
    (dict(kind="macvlan_shim", link="eth1", name="mv0", address="300.1.1.1/32"), "not an IPv4 address"),
    (dict(kind="macvlan_shim", link="eth1", name="mv0", address="fd00::1/64"), "IPv4 only"),
    (dict(kind="macvlan_shim", link="eth1", name="mv0", address="10.0.0.1/32", routes=["10.0.0.65/28"]),
     "host bits set; did you mean 10.0.0.64/28"),
    (dict(kind="macvlan_shim", link="eth1", name="eth1", address="10.0.0.1/32"), "is the parent itself"),
    (dict(name="eth1", vlan_id=3), "not used with kind=parent"),
    (dict(name="eth1", mtu=20), "mtu: 20 is out of range"),
    (dict(kind="vlan", link="eth1", vlan_id=3, promisc=True), "promisc: only used with kind=parent"),
])
def test_bad_input(params, words):
    with pytest.raises(L.LinkError, match=words.replace("(", r"\(").replace(".", r"\.")):
        spec(**params)


def test_shim_normalizes_address_and_routes():
    s = spec(kind="macvlan_shim", name="mvshim0", link="eth1", address="192.168.2.250",
             routes=["192.168.2.80/28", "192.168.2.64/28", "192.168.2.64/28"])
    assert s["address"] == "192.168.2.250/32"
    assert s["routes"] == ["192.168.2.64/28", "192.168.2.80/28"]


# --- plan ---------------------------------------------------------------------------------------

def test_parent_plan():
    s = spec(name="eth1", mtu=1400, promisc=True)
    p = L.plan(s, link("eth1", 3, up=False), None)
    assert p["ops"] == [("set_mtu", 1400), ("set_promisc", True), ("set_up", None)]
    done = dict(link("eth1", 3), mtu=1400, promisc=True)
    assert L.plan(s, done, None)["ops"] == []
    assert L.plan(spec(name="eth1"), done, None)["ops"] == []  # nothing asked, nothing changed
    assert L.plan(spec(name="eth1", promisc=False), done, None)["ops"] == [("set_promisc", False)]


def test_parent_missing_and_absent():
    with pytest.raises(L.LinkError, match="parent interface eth9 does not exist"):
        L.plan(spec(name="eth9"), None, None)
    absent = L.plan(spec(name="eth1", state="absent"), ETH1, None)
    assert absent["ops"] == [] and "never deleted" in absent["actions"][0]


def test_vlan_create_plan():
    s = spec(kind="vlan", link="eth1", vlan_id=10, mtu=1400)
    p = L.plan(s, None, ETH1)
    assert p["ops"] == [("create_vlan", dict(name="eth1.10", link=3, vlan_id=10, mtu=1400)), ("set_up", None)]
    assert p["actions"][0] == "create vlan eth1.10 (id 10 on eth1)"


def test_vlan_existing_right_and_update():
    s = spec(kind="vlan", link="eth1", vlan_id=10, mtu=1400)
    have = link("eth1.10", 9, kind="vlan", parent_index=3, vlan_id=10, mtu=1500, up=False)
    assert L.plan(s, have, ETH1)["ops"] == [("set_mtu", 1400), ("set_up", None)]
    assert L.plan(s, dict(have, mtu=1400, up=True), ETH1)["ops"] == []


def test_vlan_mtu_above_parent():
    with pytest.raises(L.LinkError, match="larger than the MTU of the parent eth1 \\(1500\\)"):
        L.plan(spec(kind="vlan", link="eth1", vlan_id=10, mtu=9000), None, ETH1)


@pytest.mark.parametrize("have, words", [
    (link("eth1.10", 9, kind="veth"), "is a veth link, not VLAN 10 on eth1"),
    (link("eth1.10", 9, kind="vlan", parent_index=3, vlan_id=11), "is VLAN 11 on interface index 3"),
    (link("eth1.10", 9, kind="vlan", parent_index=4, vlan_id=10), "on interface index 4"),
])
def test_vlan_name_taken_by_something_else(have, words):
    with pytest.raises(L.LinkError) as e:
        L.plan(spec(kind="vlan", link="eth1", vlan_id=10), have, ETH1)
    assert words in str(e.value) and "does not delete it" in str(e.value) and "accept_existing" in str(e.value)
    with pytest.raises(L.LinkError):
        L.plan(spec(kind="vlan", link="eth1", vlan_id=10, state="absent"), have, ETH1)


def test_vlan_accept_existing_stand_in():
    veth = link("eth1.10", 9, kind="veth", up=False)
    s = spec(kind="vlan", link="eth1", vlan_id=10, accept_existing=True)
    p = L.plan(s, veth, ETH1)
    assert p["stand_in"] is True and p["ops"] == [("set_up", None)]
    gone = L.plan(dict(s, state="absent"), veth, ETH1)
    assert gone["stand_in"] is True and gone["ops"] == []
    real = link("eth1.10", 9, kind="vlan", parent_index=3, vlan_id=10)
    assert L.plan(s, real, ETH1)["stand_in"] is False
    assert L.plan(dict(s, state="absent"), real, ETH1)["ops"] == [("delete", None)]


def test_vlan_absent():
    s = spec(kind="vlan", link="eth1", vlan_id=10, state="absent")
    assert L.plan(s, None, ETH1)["ops"] == []
    assert L.plan(s, link("eth1.10", 9, kind="vlan", parent_index=3, vlan_id=10), ETH1)["ops"] == [("delete", None)]


SHIM = dict(kind="macvlan_shim", name="mvshim0", link="eth1", address="192.168.2.250/32", routes=["192.168.2.64/28"])


def test_shim_create():
    p = L.plan(spec(**SHIM), None, ETH1)
    assert p["ops"] == [("create_macvlan", dict(name="mvshim0", link=3, mode="bridge", mtu=None)), ("set_up", None),
                        ("add_addr", "192.168.2.250/32"), ("add_route", "192.168.2.64/28")]


def test_shim_reconciles_addresses_and_routes_exactly():
    have = link("mvshim0", 7, kind="macvlan", parent_index=3, mode="bridge",
                addresses=["192.168.2.249/32", "192.168.2.250/32"], routes=["192.168.2.0/28", "192.168.2.64/28"])
    p = L.plan(spec(**SHIM), have, ETH1)
    assert p["ops"] == [("del_addr", "192.168.2.249/32"), ("del_route", "192.168.2.0/28")]
    right = dict(have, addresses=["192.168.2.250/32"], routes=["192.168.2.64/28"])
    assert L.plan(spec(**SHIM), right, ETH1)["ops"] == []


@pytest.mark.parametrize("have, words", [
    (link("mvshim0", 7, kind="veth"), "not a macvlan link on eth1"),
    (link("mvshim0", 7, kind="macvlan", parent_index=5, mode="bridge"), "not a macvlan link on eth1"),
    (link("mvshim0", 7, kind="macvlan", parent_index=3, mode="private"), "in private mode"),
])
def test_shim_name_taken(have, words):
    with pytest.raises(L.LinkError, match=words):
        L.plan(spec(**SHIM), have, ETH1)


def test_shim_parent_missing():
    with pytest.raises(L.LinkError, match="parent interface eth1 does not exist"):
        L.plan(spec(**SHIM), None, None)


def test_after_and_describe():
    s = spec(**SHIM)
    future = L.after(s, None, ETH1)
    d = L.describe(future)
    assert d["state"] == "up" and d["addresses"] == ["192.168.2.250/32"] and d["parent"] == "eth1"
    assert d["mode"] == "bridge" and d["mtu"] == 1500
    assert L.after(dict(s, state="absent"), future, ETH1) is None
    assert L.describe(None) == {"state": "absent"}
    assert "addresses: ['192.168.2.250/32']" in L.diff_text(future)


# --- netlink ------------------------------------------------------------------------------------

def test_vlan_netlink_request():
    req = L.vlan_request("eth1.10", 3, 10, 1400)
    assert req == {"IFLA_IFNAME": "eth1.10", "IFLA_LINK": 3, "IFLA_MTU": 1400,
                   "IFLA_LINKINFO": {"IFLA_INFO_KIND": "vlan", "IFLA_INFO_DATA": {"IFLA_VLAN_ID": 10}}}
    assert L.pyroute2_args(req) == {"ifname": "eth1.10", "link": 3, "kind": "vlan", "vlan_id": 10, "mtu": 1400}
    assert "IFLA_MTU" not in L.vlan_request("eth1.10", 3, 10)


def test_vlan_request_encodes_in_pyroute2():
    """pyroute2's own encoder turns our keywords into the RTM_NEWLINK attributes of a VLAN."""
    pytest.importorskip("pyroute2")
    from pyroute2.iproute.linux import get_arguments_processor
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    kw = L.pyroute2_args(L.vlan_request("eth1.10", 3, 10, 1400))
    req = get_arguments_processor("link", "add", dict(kw))  # what IPRoute.link("add", **kw) sends
    msg = ifinfmsg()
    for field in msg.fields:
        msg[field[0]] = req.get_value(field[0], default=0, mode="field")
    for key, value in req.items():
        nla = ifinfmsg.name2nla(key)
        if msg.valid_nla(nla) and value is not None:
            msg["attrs"].append([nla, value])
    msg.encode()
    parsed = ifinfmsg(msg.data)
    parsed.decode()
    info = parsed.get_attr("IFLA_LINKINFO")
    assert parsed.get_attr("IFLA_IFNAME") == "eth1.10"
    assert parsed.get_attr("IFLA_LINK") == 3
    assert parsed.get_attr("IFLA_MTU") == 1400
    assert info.get_attr("IFLA_INFO_KIND") == "vlan"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_VLAN_ID") == 10


def test_macvlan_request():
    req = L.macvlan_request("mvshim0", 3)
    assert req["IFLA_LINKINFO"] == {"IFLA_INFO_KIND": "macvlan", "IFLA_INFO_DATA": {"IFLA_MACVLAN_MODE": "bridge"}}
    assert L.pyroute2_args(req) == {"ifname": "mvshim0", "link": 3, "kind": "macvlan", "macvlan_mode": "bridge"}


@pytest.mark.parametrize("code, text", [(errno.EOPNOTSUPP, "Operation not supported"), (None, "Unknown device type")])
def test_no_8021q_message(code, text):
    msg = L.netlink_error_message(code, text, "creating vlan eth1.10", "vlan")
    assert msg.startswith("creating vlan eth1.10: this kernel has no 802.1q VLAN support (module 8021q): load it "
                          "with `modprobe 8021q` or use a kernel that has it")


def test_other_netlink_errors():
    assert "already exists" in L.netlink_error_message(errno.EEXIST, "File exists", "creating x", "vlan")
    assert "needs root" in L.netlink_error_message(errno.EPERM, "", "setting x up")
    assert L.netlink_error_message(errno.EOPNOTSUPP, "Operation not supported", "setting mtu") == \
        "setting mtu failed: netlink error 95: Operation not supported"


# --- persistence --------------------------------------------------------------------------------

def test_choose_backend():
    assert P.choose_backend("auto", networkd=True, ifupdown=True, nmcli=True) == "networkd"
    assert P.choose_backend("auto", ifupdown=True, nmcli=True) == "ifupdown"
    assert P.choose_backend("auto", nmcli=True) == "nm"
    assert P.choose_backend("auto") == "none"
    assert P.choose_backend("ifupdown", networkd=True) == "ifupdown"


def test_networkd_vlan_with_own_parent_file():
    files = P.render_networkd(spec(kind="vlan", link="eth1", vlan_id=10, mtu=1400))
    d = "/etc/systemd/network/"
    assert sorted(files) == [d + "60-crosshost-eth1.10.netdev", d + "60-crosshost-eth1.10.network",
                             d + "60-crosshost-eth1.network", d + "60-crosshost-eth1.network.d/60-crosshost-eth1.10.conf"]
    netdev = files[d + "60-crosshost-eth1.10.netdev"]
    assert netdev.startswith("# Written by crosshost.docker.link")
    assert "[NetDev]\nName=eth1.10\nKind=vlan\nMTUBytes=1400\n\n[VLAN]\nId=10\n" in netdev
    assert "[Match]\nName=eth1.10\n" in files[d + "60-crosshost-eth1.10.network"]
    assert "[Match]\nName=eth1\n" in files[d + "60-crosshost-eth1.network"]
    assert files[d + "60-crosshost-eth1.network.d/60-crosshost-eth1.10.conf"].endswith("[Network]\nVLAN=eth1.10\n")


def test_networkd_vlan_into_existing_parent_file():
    files = P.render_networkd(spec(kind="vlan", link="eth1", vlan_id=10), "10-eth1.network")
    assert "/etc/systemd/network/60-crosshost-eth1.network" not in files
    assert files["/etc/systemd/network/10-eth1.network.d/60-crosshost-eth1.10.conf"].endswith("VLAN=eth1.10\n")


def test_networkd_shim_and_parent():
    files = P.render_networkd(spec(**SHIM), "10-eth1.network")
    assert "Kind=macvlan" in files["/etc/systemd/network/60-crosshost-mvshim0.netdev"]
    assert "[MACVLAN]\nMode=bridge\n" in files["/etc/systemd/network/60-crosshost-mvshim0.netdev"]
    network = files["/etc/systemd/network/60-crosshost-mvshim0.network"]
    assert "Address=192.168.2.250/32\n" in network and "[Route]\nDestination=192.168.2.64/28\nScope=link\n" in network
    assert files["/etc/systemd/network/10-eth1.network.d/60-crosshost-mvshim0.conf"].endswith("MACVLAN=mvshim0\n")
    parent = P.render_networkd(spec(name="eth1", mtu=1400, promisc=True), "10-eth1.network")
    assert list(parent) == ["/etc/systemd/network/10-eth1.network.d/60-crosshost-eth1.conf"]
    assert parent["/etc/systemd/network/10-eth1.network.d/60-crosshost-eth1.conf"].endswith(
        "[Link]\nMTUBytes=1400\nPromiscuous=yes\n")


def test_networkd_match_names():
    assert P.networkd_match_names("[Match]\nName=eth1 en*\n[Network]\nName=x\n") == ["eth1", "en*"]


def test_ifupdown_renders():
    vlan = P.render_ifupdown(spec(kind="vlan", link="eth1", vlan_id=10, mtu=1400))
    assert list(vlan) == ["/etc/network/interfaces.d/crosshost-eth1.10"]
    text = vlan["/etc/network/interfaces.d/crosshost-eth1.10"]
    assert text.startswith("# Written by crosshost.docker.link")
    assert "auto eth1.10\niface eth1.10 inet manual\n    vlan-raw-device eth1\n    vlan-id 10\n    mtu 1400\n" in text
    shim = P.render_ifupdown(spec(**SHIM))["/etc/network/interfaces.d/crosshost-mvshim0"]
    assert "iface mvshim0 inet static\n    address 192.168.2.250/32\n" in shim
    assert "pre-up ip link add mvshim0 link eth1 type macvlan mode bridge\n" in shim
    assert "up ip route replace 192.168.2.64/28 dev mvshim0\n" in shim and "post-down ip link del mvshim0\n" in shim
    parent = P.render_ifupdown(spec(name="eth1", mtu=1400, promisc=True))["/etc/network/interfaces.d/crosshost-eth1"]
    assert "    mtu 1400\n    up ip link set dev eth1 promisc on\n" in parent


def test_nmcli_args():
    vlan = spec(kind="vlan", link="eth1", vlan_id=10, mtu=1400)
    assert P.nmcli_args(vlan, exists=False) == [
        "nmcli", "connection", "add", "type", "vlan", "con-name", "crosshost-eth1.10", "ifname", "eth1.10",
        "802-3-ethernet.mtu", "1400", "connection.autoconnect", "yes", "ipv4.method", "disabled",
        "ipv6.method", "disabled", "vlan.id", "10", "vlan.parent", "eth1"]
    modify = P.nmcli_args(vlan, exists=True)
    assert modify[:4] == ["nmcli", "connection", "modify", "crosshost-eth1.10"] and "vlan.id" in modify
    shim = P.nmcli_args(spec(**SHIM), exists=False)
    assert shim[:9] == ["nmcli", "connection", "add", "type", "macvlan", "con-name", "crosshost-mvshim0", "ifname",
                        "mvshim0"]
    assert shim[shim.index("macvlan.mode") + 1] == "bridge"
    assert shim[shim.index("ipv4.addresses") + 1] == "192.168.2.250/32"
    assert shim[shim.index("ipv4.routes") + 1] == "192.168.2.64/28"
    parent = P.nmcli_args(spec(name="eth1", promisc=True, mtu=1400), exists=True, connection="Wired 1")
    assert parent == ["nmcli", "connection", "modify", "Wired 1", "802-3-ethernet.accept-all-mac-addresses", "true",
                      "802-3-ethernet.mtu", "1400"]
    with pytest.raises(L.LinkError, match="no connection for eth1"):
        P.nmcli_args(spec(name="eth1", mtu=1400), exists=False)
    assert P.nmcli_delete_args("mvshim0") == ["nmcli", "connection", "delete", "crosshost-mvshim0"]
