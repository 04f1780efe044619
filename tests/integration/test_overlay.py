"""The overlay role's guards and crosshost.docker.input_rules on real lab hosts (Docker 20.10 and 28).

The full scheme (kv with a real etcd on 20.10, swarm on 20.10/26/28, matrices, MTU, absent) runs in
the molecule scenario `overlay`. Here: the INPUT rules really open a port to exactly the listed peers
on a host whose INPUT policy is DROP, the module's five ways, and the role's refusals (kv on Docker 28,
a same-named network with other settings, a pool overlap) stop every host before anything changes.
"""
import json
import re
import os

import pytest

from labutil import REPO, five_ways, run_task

MOD = "crosshost.docker.input_rules"
CHAIN = "CROSSHOST-OVERLAY"


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("ov", hosts=3, engines="20.10 28")


def ours(lab, host):
    """Our chain and jump as iptables-save prints them, plus our script (None when absent)."""
    rules = [line for line in lab.sh(host, "iptables-save -t filter").stdout.splitlines() if CHAIN in line]
    script = lab.sh(host, "cat /etc/crosshost-docker/%s.sh 2>/dev/null || true" % CHAIN.lower()).stdout
    return rules, script or None


def tcp_reaches(lab, src, dst_ip, port):
    return lab.sh(src, "echo hi | busybox nc -w 2 %s %d" % (dst_ip, port), check=False).returncode == 0


def test_input_rules_five_ways_keep_foreign_rules(lab):
    lab.sh("h2", "iptables -A INPUT -s 10.9.9.9/32 -j ACCEPT")
    args = {"chain": CHAIN, "ports": ["7946/tcp", "7946/udp", "4789/udp"], "sources": ["192.168.1.11", "192.168.1.13"],
            "interface": "eth0"}
    results = five_ways(lab, "h2", MOD, args, lambda: ours(lab, "h2"))
    assert "-s 192.168.1.13/32 -i eth0 -p udp -m udp --dport 4789 -j ACCEPT" in results[2]["rules"]
    assert results[2]["persistence"]["mode"] == "script"  # no systemd in the lab
    ok, result = run_task(lab, "h2", MOD, {"chain": CHAIN, "state": "absent"})
    assert ok and result["changed"]
    assert ours(lab, "h2") == ([], None)
    assert "-A INPUT -s 10.9.9.9/32 -j ACCEPT" in lab.sh("h2", "iptables-save -t filter").stdout
    lab.sh("h2", "iptables -D INPUT -s 10.9.9.9/32 -j ACCEPT")


def test_input_rules_open_the_port_to_exactly_the_peers(lab):
    """INPUT policy DROP on h2: a TCP port is closed to h1 and h3; after the rules it is open to h1 only."""
    server = lab.sh("h2", "busybox nc -ll -p 7946 -e echo hello >/dev/null 2>&1 & echo $!").stdout.strip()
    try:
        assert tcp_reaches(lab, "h1", "192.168.1.12", 7946) is True  # the server answers while INPUT accepts
        lab.sh("h2", "iptables -P INPUT DROP && iptables -I INPUT -i lo -j ACCEPT "
                     "&& iptables -I INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT")
        assert tcp_reaches(lab, "h1", "192.168.1.12", 7946) is False  # the control: the policy drops it
        ok, result = run_task(lab, "h2", MOD, {"chain": CHAIN, "ports": ["7946/tcp"], "sources": ["192.168.1.11"]})
        assert ok and result["changed"] and result["input_policy"] == "DROP"
        assert tcp_reaches(lab, "h1", "192.168.1.12", 7946) is True
        assert tcp_reaches(lab, "h3", "192.168.1.12", 7946) is False
    finally:
        lab.sh("h2", "kill %s; iptables -P INPUT ACCEPT; iptables -D INPUT -i lo -j ACCEPT; "
                     "iptables -D INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT" % server, check=False)
        run_task(lab, "h2", MOD, {"chain": CHAIN, "state": "absent"})


@pytest.mark.parametrize("args, words", [
    ({"chain": CHAIN, "ports": ["4789"], "sources": ["192.168.1.11"]}, "ports: '4789' is not PORT/PROTO"),
    ({"chain": CHAIN, "ports": ["4789/udp"], "sources": ["0.0.0.0/0"]}, "from anywhere"),
    ({"chain": "INPUT", "ports": ["4789/udp"], "sources": ["192.168.1.11"]}, "chain: 'INPUT'"),
])
def test_input_rules_bad_input_changes_nothing(lab, args, words):
    before = lab.sh("h1", "iptables-save -t filter | grep -v '^#'").stdout
    ok, result = run_task(lab, "h1", MOD, args)
    assert not ok and words in result["msg"]
    assert lab.sh("h1", "iptables-save -t filter | grep -v '^#'").stdout == before


def host_state(lab):
    """What the role could touch: daemon.json, networks, swarm state and our INPUT chain, per host."""
    out = {}
    for host in ("h1", "h2", "h3"):
        out[host] = lab.sh(host, "cat /etc/docker/daemon.json 2>/dev/null; docker network ls --format '{{.Name}}' | sort; "
                                 "docker info -f '{{.Swarm.LocalNodeState}}'; iptables-save -t filter | grep -c CROSSHOST || true"
                           ).stdout
    return out


def play(lab, extra):
    path = os.path.join(lab.dir, "overlay-vars.json")
    with open(path, "w") as f:
        json.dump(dict({"overlay_verify": False}, **extra), f)
    return lab.ansible("ansible-playbook", os.path.join(REPO, "playbooks", "overlay.yml"),
                       "-e", "@" + path, check=False)


def fatal(stdout):
    """[(host, msg)] of the run's failed tasks."""
    return [(host, json.loads(body).get("msg", "")) for host, body in
            re.findall(r"^fatal: \[(\S+)\]: FAILED! => (\{.*\})$", stdout, re.M)]


@pytest.mark.parametrize("extra, words, variable, host", [
    ({"overlay_backend": "kv", "overlay_kv_url": "etcd://192.168.1.1:2379"},
     "h2 (28.5.2+dfsg4), h3 (28.5.2+dfsg4) run Docker >= 23.0", "overlay_backend=kv", "h1"),
    ({"overlay_backend": "kv", "overlay_kv_url": "redis://192.168.1.1"}, "scheme 'redis'", "overlay_kv_url", "h1"),
    ({"overlay_networks": [{"name": "ov", "subnet": "10.20.0.0/24", "mtu": 1480}]}, "VXLAN adds 50 bytes",
     "overlay_networks[ov].mtu", "h1"),
    ({"overlay_networks": [{"name": "ov", "subnet": "192.168.1.0/25"}]}, "overlaps 192.168.1.0/24",
     "overlay_networks[ov].subnet", "h1"),
])
def test_role_refuses_before_anything_changes(lab, extra, words, variable, host):
    """Refused once, on one host, with a message that starts with the role variable to fix."""
    before = host_state(lab)
    proc = play(lab, extra)
    assert proc.returncode != 0
    assert words in proc.stdout, proc.stdout[-3000:]
    failed = fatal(proc.stdout)
    assert len(failed) == 1 and failed[0][0] == host, failed
    assert failed[0][1].startswith(variable), failed[0][1]
    assert "filter plugin" not in proc.stdout and "-> localhost" not in proc.stdout
    assert host_state(lab) == before


def test_role_refuses_same_name_and_overlapping_pool_on_another_host(lab):
    """A bridge network named like the overlay on h3 (other settings), then one overlapping its pool:
    the seed's 'already exists' and 'Pool overlaps' are caught before any host joins a swarm."""
    lab.sh("h3", "docker network create --subnet 10.77.0.0/24 ov")
    try:
        before = host_state(lab)
        proc = play(lab, {"overlay_networks": [{"name": "ov", "subnet": "10.20.0.0/24"}]})
        assert proc.returncode != 0 and "a network with name ov already exists on h3" in proc.stdout
        assert [host for host, _msg in fatal(proc.stdout)] == ["h3"], "reported on the host whose network is in the way"
        assert "driver bridge (wants overlay)" in proc.stdout
        assert host_state(lab) == before
        proc = play(lab, {"overlay_networks": [{"name": "ov2", "subnet": "10.77.0.0/16"}]})
        assert proc.returncode != 0 and "overlaps network ov (10.77.0.0/24, driver bridge) on h3" in proc.stdout
        assert host_state(lab) == before
    finally:
        lab.sh("h3", "docker network rm ov", check=False)
