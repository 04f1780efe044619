"""crosshost.docker.link on real lab hosts (Docker 20.10): parent settings, the macvlan host shim,
VLANs on a kernel without 802.1q, stand-ins, bad input, persistence files.

Every host has its own network namespace and a private /etc overlay, so nothing here reaches the
machine's own interfaces or /etc. The kernel has no 802.1q: real VLAN creation must fail cleanly
(the netlink request itself is unit-tested in tests/unit/plugins/module_utils/test_links.py).
"""
import pytest

from labutil import container_ip, five_ways, run_task

MOD = "crosshost.docker.link"
SHIM = {"kind": "macvlan_shim", "name": "mvshim0", "link": "eth1", "address": "192.168.2.250/32",
        "routes": ["192.168.2.64/28"]}
ND = "/etc/systemd/network"


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("lk", hosts=2, engines="20.10")


def links(lab, host):
    """Every link of the host with its kind, flags, mtu and addresses (the state nothing else may touch)."""
    return lab.sh(host, "ip -o link show | sed 's/ link-netnsid.*//' | sort; ip -o addr show | sort; "
                        "ip route show table main | sort").stdout


def apply(lab, host, args, check=False, diff=False):
    ok, result = run_task(lab, host, MOD, args, check=check, diff=diff)
    assert ok, result.get("msg")
    return result


def fails(lab, host, args):
    before = links(lab, host)
    ok, result = run_task(lab, host, MOD, args)
    assert not ok, result
    assert not result.get("changed"), result
    assert links(lab, host) == before
    return result["msg"]


def test_parent_five_ways(lab):
    def probe():
        return lab.sh("h1", "ip -d link show eth1").stdout

    results = five_ways(lab, "h1", MOD, {"name": "eth1", "mtu": 1400, "promisc": True}, probe)
    out = probe()
    assert "mtu 1400" in out and "PROMISC" in out and "promiscuity 1" in out
    assert results[2]["link"]["mtu"] == 1400 and results[2]["link"]["promisc"] is True
    assert results[2]["actions"] == ["set mtu of eth1 1500 -> 1400", "set promisc of eth1 on"]
    assert "mtu: 1500" in results[1]["diff"]["before"] and "mtu: 1400" in results[1]["diff"]["after"]
    # Back to the lab's defaults (the other tests use eth1 with its usual MTU).
    apply(lab, "h1", {"name": "eth1", "mtu": 1500, "promisc": False})
    assert "PROMISC" not in probe()


def test_parent_missing_lists_interfaces(lab):
    msg = fails(lab, "h1", {"name": "eth9"})
    assert "parent interface eth9 does not exist on this host (interfaces: docker0, eth0, eth1, lo" in msg


def test_parent_absent_never_deletes(lab):
    before = links(lab, "h1")
    result = apply(lab, "h1", {"name": "eth1", "state": "absent"})
    assert not result["changed"] and links(lab, "h1") == before


def test_shim_five_ways_and_absent(lab):
    def probe():
        # (IPv6 DAD flags such as "tentative" change by themselves: left out)
        return lab.sh("h2", "ip -d addr show mvshim0 2>&1 | sed 's/ link-netnsid.*//; s/ tentative//'; "
                            "ip route show dev mvshim0 2>&1", check=False).stdout

    results = five_ways(lab, "h2", MOD, SHIM, probe)
    out = probe()
    assert "macvlan mode bridge" in out and "inet 192.168.2.250/32" in out and "192.168.2.64/28 proto static scope link" in out
    link = results[2]["link"]
    assert link["kind"] == "macvlan" and link["parent"] == "eth1" and link["state"] == "up"
    assert link["addresses"] == ["192.168.2.250/32"] and link["routes"] == ["192.168.2.64/28"]

    # Drift: an extra address and route on the shim are removed, the missing ones added back.
    lab.sh("h2", "ip addr add 192.168.2.249/32 dev mvshim0; ip route add 192.168.2.0/28 dev mvshim0; "
                 "ip route del 192.168.2.64/28 dev mvshim0")
    fixed = apply(lab, "h2", SHIM)
    assert fixed["changed"] and sorted(fixed["actions"]) == sorted([
        "remove address 192.168.2.249/32 from mvshim0", "remove route 192.168.2.0/28 dev mvshim0",
        "add route 192.168.2.64/28 dev mvshim0"])
    assert probe() == out

    gone = {"kind": "macvlan_shim", "name": "mvshim0", "link": "eth1", "state": "absent"}
    assert apply(lab, "h2", gone, check=True)["changed"]
    assert probe() == out
    result = apply(lab, "h2", gone, diff=True)
    assert result["changed"] and result["link"] == {"state": "absent"}
    assert "does not exist" in probe()
    assert not apply(lab, "h2", gone)["changed"]


def test_shim_lets_host_reach_its_own_macvlan_container(lab):
    lab.sh("h1", "docker network create -d macvlan --subnet 192.168.2.0/24 --ip-range 192.168.2.64/28 "
                 "-o parent=eth1 mnet >/dev/null && "
                 "docker run -d --init --network mnet --name mc local/probe sleep 600 >/dev/null")
    try:
        ip = container_ip(lab, "h1", "mc")
        assert ip.startswith("192.168.2.")
        ping = "busybox ping -c 2 -W 1 %s" % ip
        assert lab.sh("h1", ping, check=False).returncode != 0, "the host reached its macvlan container without a shim"
        apply(lab, "h1", SHIM)
        proc = lab.sh("h1", ping, check=False)
        assert proc.returncode == 0, "no ping through the shim:\n%s%s" % (proc.stdout, proc.stderr)
        apply(lab, "h1", {"kind": "macvlan_shim", "name": "mvshim0", "link": "eth1", "state": "absent"})
        assert lab.sh("h1", ping, check=False).returncode != 0
    finally:
        lab.sh("h1", "docker rm -f mc; docker network rm mnet", check=False)


def test_vlan_on_kernel_without_8021q(lab):
    msg = fails(lab, "h1", {"kind": "vlan", "link": "eth1", "vlan_id": 10, "mtu": 1400})
    assert "this kernel has no 802.1q VLAN support (module 8021q): load it with `modprobe 8021q` or use a kernel " \
           "that has it" in msg
    assert "Done before the failure: nothing" in msg
    assert "eth1.10" not in lab.sh("h1", "ip -o link show").stdout
    # Check mode only plans it.
    result = apply(lab, "h1", {"kind": "vlan", "link": "eth1", "vlan_id": 10}, check=True, diff=True)
    assert result["changed"] and result["actions"][0] == "create vlan eth1.10 (id 10 on eth1)"


def test_vlan_stand_in(lab):
    lab.sh("h2", "ip link add eth1.10 type veth peer name v10p")
    try:
        args = {"kind": "vlan", "link": "eth1", "vlan_id": 10}
        msg = fails(lab, "h2", args)
        assert "a link named eth1.10 exists but is a veth link, not VLAN 10 on eth1" in msg
        assert "accept_existing" in msg
        assert "does not delete it" in fails(lab, "h2", dict(args, state="absent"))

        def probe():
            return lab.sh("h2", "ip -d link show eth1.10 | sed 's/ link-netnsid.*//'").stdout

        results = five_ways(lab, "h2", MOD, dict(args, accept_existing=True, mtu=1400), probe)
        assert all(r["stand_in"] for r in results)
        assert "mtu 1400" in probe() and ",UP" in probe()
        result = apply(lab, "h2", dict(args, accept_existing=True, state="absent"))
        assert not result["changed"] and result["stand_in"] and "eth1.10" in probe()
    finally:
        lab.sh("h2", "ip link del eth1.10", check=False)


@pytest.mark.parametrize("args, words", [
    ({"kind": "vlan", "link": "eth1", "vlan_id": 0}, "vlan_id: 0 is out of range: VLAN ids are 1-4094"),
    ({"kind": "vlan", "link": "eth1", "vlan_id": 4095}, "vlan_id: 4095 is out of range"),
    ({"kind": "vlan", "link": "eth1", "vlan_id": 10, "name": "averyveryverylongname"}, "21 characters"),
    ({"kind": "vlan", "link": "eth1", "vlan_id": 10, "mtu": 9000}, "larger than the MTU of the parent eth1"),
    ({"kind": "vlan", "link": "eth7", "vlan_id": 10}, "parent interface eth7 does not exist"),
    ({"name": "eth 1"}, "not allowed in interface names"),
    ({"kind": "macvlan_shim", "name": "mvshim0", "link": "eth1"}, "address: required"),
    ({"kind": "macvlan_shim", "name": "mvshim0", "link": "eth1", "address": "192.168.2.250/33"}, "not an IPv4"),
    ({"kind": "macvlan_shim", "name": "eth0", "link": "eth1", "address": "192.168.2.250/32"},
     "a link named eth0 exists but is not a macvlan link on eth1"),
])
def test_bad_input(lab, args, words):
    assert words in fails(lab, "h2", args)


def cat(lab, host, path):
    proc = lab.sh(host, "cat %s" % path, check=False)
    return proc.stdout if proc.returncode == 0 else None


def test_persist_networkd(lab):
    args = dict(SHIM, persist=True, persist_backend="networkd")
    files = [ND + "/60-crosshost-mvshim0.netdev", ND + "/60-crosshost-mvshim0.network",
             ND + "/60-crosshost-eth1.network", ND + "/60-crosshost-eth1.network.d/60-crosshost-mvshim0.conf"]

    def probe():
        return {p: cat(lab, "h2", p) for p in files}, lab.sh("h2", "ip -4 -o addr show mvshim0 2>&1", check=False).stdout

    results = five_ways(lab, "h2", MOD, args, probe)
    assert sorted(results[2]["persistence"]["files"]) == sorted(files)
    assert results[2]["persistence"]["backend"] == "networkd"
    text = probe()[0]
    assert "[NetDev]\nName=mvshim0\nKind=macvlan\n" in text[files[0]]
    assert "Address=192.168.2.250/32" in text[files[1]] and "Destination=192.168.2.64/28" in text[files[1]]
    assert "[Match]\nName=eth1\n" in text[files[2]]
    assert text[files[3]].endswith("[Network]\nMACVLAN=mvshim0\n")
    assert all(t.startswith("# Written by crosshost.docker.link") for t in text.values())
    assert "60-crosshost-mvshim0.netdev" in results[1]["diff"]["after"]

    # The parent's settings go into a drop-in next to the VLAN/MACVLAN ones; our base file stays.
    parent = apply(lab, "h2", {"name": "eth1", "promisc": True, "persist": True, "persist_backend": "networkd"})
    dropin = ND + "/60-crosshost-eth1.network.d/60-crosshost-eth1.conf"
    assert parent["persistence"]["files"] == [files[2], dropin]
    assert cat(lab, "h2", dropin).endswith("[Link]\nPromiscuous=yes\n")

    # The parent's absent first: its drop-in goes, the base file stays for the shim's drop-in.
    apply(lab, "h2", {"name": "eth1", "state": "absent"})
    assert cat(lab, "h2", dropin) is None and cat(lab, "h2", files[2]) is not None
    apply(lab, "h2", {"name": "eth1", "promisc": True, "persist": True, "persist_backend": "networkd"})
    gone = apply(lab, "h2", {"kind": "macvlan_shim", "name": "mvshim0", "link": "eth1", "state": "absent"})
    assert gone["changed"]
    assert [cat(lab, "h2", p) for p in files[:2] + files[3:]] == [None, None, None]
    assert cat(lab, "h2", files[2]) is not None  # still used by the parent's drop-in
    apply(lab, "h2", {"name": "eth1", "state": "absent"})
    assert cat(lab, "h2", files[2]) is None and cat(lab, "h2", dropin) is None
    assert lab.sh("h2", "ls -A %s" % ND).stdout == ""
    apply(lab, "h2", {"name": "eth1", "promisc": False})


def test_persist_ifupdown(lab):
    lab.sh("h1", "ip link add eth1.20 type veth peer name v20p")
    path = "/etc/network/interfaces.d/crosshost-eth1.20"
    try:
        args = {"kind": "vlan", "link": "eth1", "vlan_id": 20, "accept_existing": True, "persist": True,
                "persist_backend": "ifupdown"}
        result = apply(lab, "h1", args, diff=True)
        assert result["changed"] and result["persistence"] == {"backend": "ifupdown", "files": [path],
                                                               "connection": None}
        text = cat(lab, "h1", path)
        # A stand-in is not a VLAN of ours: persisted as a parent (brought up), never as a VLAN that ifupdown
        # would try to create over the link standing in for it (the VLAN stanza: unit tests, test_links.py).
        assert text.endswith("auto eth1.20\niface eth1.20 inet manual\n") and "vlan-raw-device" not in text, text
        assert not apply(lab, "h1", args)["changed"]
        gone = apply(lab, "h1", dict(args, state="absent"))
        assert gone["changed"] and gone["actions"][-1] == "remove " + path
        assert cat(lab, "h1", path) is None
        assert "eth1.20" in lab.sh("h1", "ip -o link show").stdout  # a stand-in is never deleted
    finally:
        lab.sh("h1", "ip link del eth1.20", check=False)


def test_persist_auto_without_any_backend_warns(lab):
    result = apply(lab, "h1", {"name": "eth1", "persist": True})
    assert result["persistence"]["backend"] == "none"
    assert any("not persisted" in w for w in result.get("warnings", []))
