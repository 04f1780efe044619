"""The problem this collection solves, as it is on a fresh lab (seed 000, step 2).

Two fresh Docker hosts (20.10 and 28) on one "VPC" segment whose router has an empty route table:
1. out of the box every host hands out the same container subnet (172.17.0.0/16), so container IPs
   are not even unique across hosts;
2. with the seed's own first fix (a distinct `bip` per host in /etc/docker/daemon.json), a container
   on h1 still cannot reach a container on h2 by its IP: no route in the VPC, and Docker's FORWARD
   policy is DROP.
A positive control (the same container reaches h2's underlay address) shows that the probe works,
so the failure is about container IPs only. The scenario roles turn this into a passing matrix.
"""
import json

import pytest

BIPS = {"h1": "10.0.0.1/24", "h2": "10.1.0.1/24"}  # the seed's values


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("bf", hosts=2, engines="20.10 28")


def container_ip(lab, host, name):
    out = lab.sh(host, f"docker inspect -f '{{{{json .NetworkSettings.Networks}}}}' {name}").stdout
    return next(iter(json.loads(out).values()))["IPAddress"]


def can_ping(lab, host, container, address):
    return lab.sh(host, f"docker exec {container} ping -c 2 -W 1 {address}", check=False).returncode == 0


def test_fresh_hosts_hand_out_the_same_container_subnet(lab):
    subnets = {}
    for host in ("h1", "h2"):
        out = lab.sh(host, "docker network inspect bridge -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}'").stdout
        subnets[host] = out.strip()
    assert subnets["h1"] == subnets["h2"] == "172.17.0.0/16"


def test_container_on_h1_cannot_reach_container_on_h2_by_ip(lab):
    for host, bip in BIPS.items():
        lab.sh(host, f"""echo '{{"bip": "{bip}"}}' > /etc/docker/daemon.json && /etc/init.d/docker restart >/dev/null
                        docker rm -f probe >/dev/null 2>&1; docker run -d --init --name probe local/probe sleep 600""")
    ips = {host: container_ip(lab, host, "probe") for host in BIPS}
    assert ips == {"h1": "10.0.0.2", "h2": "10.1.0.2"}

    # Control: the probe works and the underlay is fine.
    assert can_ping(lab, "h1", "probe", lab.state["hosts"]["h2"]["address"])
    assert can_ping(lab, "h2", "probe", lab.state["hosts"]["h1"]["address"])
    # The problem: container IP to container IP fails, both ways.
    assert not can_ping(lab, "h1", "probe", ips["h2"])
    assert not can_ping(lab, "h2", "probe", ips["h1"])
    # Why: the VPC route table knows no container subnet, and Docker's FORWARD policy is DROP.
    assert "10.1.0.0" not in lab.sh("rt", "ip route show").stdout
    for host in BIPS:
        assert lab.sh(host, "iptables -S FORWARD | head -1").stdout.strip() == "-P FORWARD DROP"
