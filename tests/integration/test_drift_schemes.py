"""Drift detection of the macvlan and overlay schemes (issue 14, item 6), on one 2-host lab (Docker 20.10, 28).

Like direct_route's (test_direct_route_day2.py::test_drift_is_found_in_check_mode_named_and_repaired): a
check-mode run of playbooks/macvlan.yml and playbooks/overlay.yml on a converged cluster passes and
changes nothing; after drift by hand (a macvlan network removed on h2, h1's shim deleted, h1's
CROSSHOST-OVERLAY INPUT chain flushed, the overlay network removed on the manager h1, h2 out of the swarm)
each fails, names each item per host, and changes nothing while it looks (`ip -d link`, `docker network ls`,
the iptables rules, the swarm state); a normal run repairs and check mode passes again. Check mode of the
overlay before any swarm exists says that it cannot look further, instead of crashing.
"""
import difflib
import json
import re
import time

import pytest
from labutil import Lab

# The networks of test_macvlan_day2.py: mac_net2 on the lab's VLAN stand-in (LAB_VLANS=10).
NETWORKS = [{"name": "mac_net1", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1"},
            {"name": "mac_net2", "parent": "eth1.10", "vlan": {"link": "eth1", "id": 10}, "subnet": "192.168.10.0/24",
             "gateway": "192.168.10.1"}]
HOSTS = ("h1", "h2")
MACVLAN = json.dumps({"macvlan_networks": NETWORKS, "macvlan_shim": True, "macvlan_verify": False,
                      "macvlan_accept_existing_links": True})
OVERLAY = json.dumps({"overlay_verify": False})

# What drift detection must not change (no counters: packets move them).
STATE = r"""
echo '## ip -d link'; ip -d link | sed -E 's/ [a-z_]+_timer +[0-9.]+//g'
echo '## docker network ls'; docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}' | sort
echo '## iptables'; iptables -S; iptables -t nat -S
echo '## swarm'; docker info -f '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}'
"""


@pytest.fixture(scope="module")
def lab():
    made = Lab("dr", hosts=2, engines="20.10 28")
    made.env["LAB_VLANS"] = "10"
    try:
        yield made.up()
    finally:
        made.down()


def play(lab, playbook, extra, *args):
    proc = lab.ansible("ansible-playbook", "-e", extra, *args, playbook, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def recap(out):
    found = {}
    for host, rest in re.findall(r"^(\S+)\s+: (ok=.*)$", out.split("PLAY RECAP")[-1], re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)}
    return found


def drift(out):
    """{host: message without "drift on <host>: "} of the hosts that failed on drift."""
    found = {}
    for host, body in re.findall(r"^fatal: \[(h\d)\]: FAILED! => (\{.*\})$", out, re.M):
        msg = json.loads(body).get("msg", "")
        if msg.startswith("drift on %s: " % host):
            found[host] = msg[len("drift on %s: " % host):]
    return found


def state(lab):
    return {h: lab.sh(h, STATE).stdout for h in HOSTS}


def settled(lab, timeout=30):
    """state() once two reads 2 s apart agree (dockerd cleans up after `docker swarm leave` for a while)."""
    last, deadline = state(lab), time.time() + timeout
    while time.time() < deadline:
        time.sleep(2)
        now = state(lab)
        if now == last:
            return now
        last = now
    return last


def same(before, after):
    """Assert no host's state changed, showing the lines that did."""
    diff = {h: "\n".join(difflib.unified_diff(before[h].splitlines(), after[h].splitlines(), lineterm="", n=1))
            for h in before if before[h] != after[h]}
    assert not diff, "\n".join("## %s\n%s" % item for item in diff.items())


def passes_unchanged(rc, out):
    assert rc == 0, out[-5000:]
    assert recap(out) and all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), out[-5000:]


def test_drift_is_found_in_check_mode_named_and_repaired(lab):
    # no swarm yet: check mode says it cannot look further (every host), and changes nothing
    before = state(lab)
    rc, out = play(lab, "playbooks/overlay.yml", OVERLAY, "--check")
    assert rc != 0
    messages = drift(out)
    assert set(messages) == set(HOSTS), out[-5000:]
    assert all("has no swarm (a fresh cluster, or it left the swarm)" in m for m in messages.values()), messages
    same(before, state(lab))

    # converge both schemes; check mode passes and changes nothing
    for playbook, extra in (("playbooks/macvlan.yml", MACVLAN), ("playbooks/overlay.yml", OVERLAY)):
        rc, out = play(lab, playbook, extra)
        assert rc == 0, out[-5000:]
    converged = settled(lab)
    for playbook, extra in (("playbooks/macvlan.yml", MACVLAN), ("playbooks/overlay.yml", OVERLAY)):
        passes_unchanged(*play(lab, playbook, extra, "--check"))
    same(converged, state(lab))

    # drift by hand
    lab.sh("h2", "docker network rm mac_net1")
    lab.sh("h1", "ip link del xhmv0")
    lab.sh("h1", "iptables -F CROSSHOST-OVERLAY; docker network rm xh_overlay")
    lab.sh("h2", "docker swarm leave --force")
    drifted = settled(lab)

    rc, out = play(lab, "playbooks/macvlan.yml", MACVLAN, "--check")
    assert rc != 0
    messages = drift(out)
    assert set(messages) == set(HOSTS), out[-5000:]
    assert re.search(r"shim differs: mac_net1 \(.*xhmv0", messages["h1"]), messages
    assert "macvlan network differs: mac_net1 (Created network mac_net1 with driver macvlan)" in messages["h2"], messages
    assert "mac_net2" not in messages["h1"] + messages["h2"], messages

    rc, out = play(lab, "playbooks/overlay.yml", OVERLAY, "--check")
    assert rc != 0
    messages = drift(out)
    assert set(messages) == set(HOSTS), out[-5000:]
    assert "INPUT rules (chain CROSSHOST-OVERLAY) differs: missing" in messages["h1"], messages
    assert "overlay network differs: xh_overlay (Created network xh_overlay" in messages["h1"], messages
    assert "swarm membership (worker) differs: New node is added to swarm cluster" in messages["h2"], messages
    assert "overlay network" not in messages["h2"], messages
    # it changed nothing while it looked
    same(drifted, state(lab))

    # a normal run repairs, then check mode passes
    for playbook, extra in (("playbooks/macvlan.yml", MACVLAN), ("playbooks/overlay.yml", OVERLAY)):
        rc, out = play(lab, playbook, extra)
        assert rc == 0, out[-5000:]
    for playbook, extra in (("playbooks/macvlan.yml", MACVLAN), ("playbooks/overlay.yml", OVERLAY)):
        passes_unchanged(*play(lab, playbook, extra, "--check"))
    repaired = state(lab)
    assert "xhmv0" in repaired["h1"] and "mac_net1 macvlan" in repaired["h2"]
    assert "xh_overlay overlay swarm" in repaired["h1"] and "active" in repaired["h2"].split("## swarm")[1]
