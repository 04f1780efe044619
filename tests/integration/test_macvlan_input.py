"""The macvlan role explains the seed's errors before Docker does, and changes nothing (real lab).

- a network of the same name with other settings ("network with name ... already exists"),
- an existing macvlan network on the same parent whose subnet overlaps,
- on Docker < 28, any second macvlan network on the same parent (the driver allows one per parent).
"""
import json
import re

import pytest

NETWORKS = [{"name": "mac_net1", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1"}]


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("mi", hosts=2, engines="20.10")


def networks(lab):
    return {h: lab.sh(h, "docker network ls --format '{{.Name}} {{.Driver}}' | sort; ip -br link").stdout
            for h in ("h1", "h2")}


def play(lab):
    return lab.ansible("ansible-playbook", "playbooks/macvlan.yml", "-e",
                       json.dumps({"macvlan_networks": NETWORKS, "macvlan_verify": False}), check=False)


@pytest.mark.parametrize("existing, words", [
    ("-o parent=eth1 --subnet 192.168.3.0/24 mac_net1", "already has network mac_net1 (driver macvlan, parent eth1, subnet 192.168.3.0/24"),
    ("-o parent=eth1 --subnet 192.168.2.0/25 --ip-range 192.168.2.0/26 other_net", "other_net"),
    # Docker 20.10 and 26 allow one macvlan network per parent, even with a disjoint subnet.
    ("-o parent=eth1 --subnet 192.168.50.0/24 disjoint_net", "macvlan_networks on h2, network disjoint_net: eth1 is already the parent of network mac_net1"),
])
def test_conflicts_are_explained_before_docker_sees_them(lab, existing, words):
    lab.sh("h2", f"docker network create -d macvlan {existing} >/dev/null")
    try:
        before = networks(lab)
        proc = play(lab)
        assert proc.returncode != 0
        assert words in proc.stdout, proc.stdout[-3000:]
        assert networks(lab) == before
    finally:
        lab.sh("h2", f"docker network rm {existing.split()[-1]} >/dev/null")


@pytest.mark.parametrize("change, variable, host", [
    ({"ip_ranges": {"h2": "192.168.3.0/26"}}, "macvlan_networks[mac_net1].ip_ranges[h2]: ", "h2"),
    ({"gateway": "192.168.9.1"}, "macvlan_networks[mac_net1].gateway: ", "h1"),
    ({"static_ips": {"h2": ["192.168.2.11"]}}, "macvlan_networks[mac_net1].static_ips[h2]: 192.168.2.11 is in h1's range",
     "h2"),
])
def test_plan_errors_name_the_role_variable_and_the_host(lab, change, variable, host):
    """Refused once, on the host whose input is wrong, starting with the role variable; nothing changes."""
    before = networks(lab)
    proc = lab.ansible("ansible-playbook", "playbooks/macvlan.yml", "-e",
                       json.dumps({"macvlan_networks": [dict(NETWORKS[0], **change)], "macvlan_verify": False}),
                       check=False)
    assert proc.returncode != 0
    failed = [(h, json.loads(body)["msg"]) for h, body in
              re.findall(r"^fatal: \[(\S+)\]: FAILED! => (\{.*\})$", proc.stdout, re.M)]
    assert len(failed) == 1 and failed[0][0] == host, failed or proc.stdout[-3000:]
    assert failed[0][1].startswith(variable), failed[0][1]
    assert "filter plugin" not in proc.stdout
    assert networks(lab) == before


def test_a_static_ip_in_another_hosts_slice_only_warns_when_allowed(lab):
    extra = {"macvlan_networks": [dict(NETWORKS[0], static_ips={"h2": ["192.168.2.11"]})], "macvlan_verify": False,
             "macvlan_allow_foreign_static_ips": True}
    try:
        proc = lab.ansible("ansible-playbook", "playbooks/macvlan.yml", "-e", json.dumps(extra), check=False)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert "WARNING: macvlan_networks[mac_net1].static_ips[h2]: 192.168.2.11 is in h1's range" in proc.stdout
    finally:
        for host in ("h1", "h2"):
            lab.sh(host, "docker network rm mac_net1 >/dev/null 2>&1 || true")


def test_rerun_without_shim_keeps_the_network(lab):
    """Without a shim there are no aux addresses: a rerun must not recreate the network (same id, changed=0)."""
    extra = json.dumps({"macvlan_networks": NETWORKS, "macvlan_verify": False, "macvlan_shim": False})
    try:
        lab.ansible("ansible-playbook", "playbooks/macvlan.yml", "-e", extra)
        ids = {h: lab.sh(h, "docker network inspect -f '{{.Id}}' mac_net1").stdout.strip() for h in ("h1", "h2")}
        proc = lab.ansible("ansible-playbook", "playbooks/macvlan.yml", "-e", extra)
        recap = proc.stdout.split("PLAY RECAP")[-1]
        assert recap.count("changed=0") == 2, recap
        assert {h: lab.sh(h, "docker network inspect -f '{{.Id}}' mac_net1").stdout.strip() for h in ("h1", "h2")} == ids
    finally:
        for h in ("h1", "h2"):
            lab.sh(h, "docker network rm mac_net1 >/dev/null 2>&1 || true")
