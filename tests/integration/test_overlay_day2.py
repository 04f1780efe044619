"""Day-2 operations of the overlay role on three real lab hosts (Docker 20.10, 20.10, 28), both backends
(issue 14, items 1, 2 and 8). The tests run in order on one lab and build on each other:

Swarm (h1 the manager):
1. h1 and h2 converge; h3 (Docker 28) is added. No old host restarts, the overlay network keeps its
   id, a container on each old host keeps running (same StartedAt) and a ping between them over the
   overlay loses nothing while h3 joins; a rerun changes nothing.
2. ``--limit h2`` changes nothing (the join token is read from h1, never rotated); after h3 left the
   swarm by hand, ``--limit h3`` brings it back with h1's token and changes nothing on h1 or h2; the
   role used without the playbook's whole-group ``overlay_hosts`` refuses a limited run.
3. Retire h3 (``overlay_state: absent`` as its host var): refused while a container of h3 uses the
   overlay (naming it) and under ``--limit h3`` (h1 would have to drop h3's node), then it leaves, h1
   forgets the node, h1/h2 no longer accept h3 in INPUT, nothing restarts; retiring the last manager
   is refused; with h2 promoted, h1 is demoted first, leaves and h2 forgets it. Then every host
   absent: the whole scheme goes (the former behaviour).
kv (Docker 20.10, the lab's etcd):
4. h1 converges; adding h2 under ``--limit h2`` is refused (h1's INPUT rules would change); h2 is
   added (one restart of h2's dockerd, none of h1's, same network id, h1's container keeps
   running); ``--limit h2`` changes nothing; h2 is retired (one restart of its own, its
   daemon.json without the store) while h1 keeps the network and its container.
"""
import json
import re
import subprocess

import pytest

import labutil
from labutil import host_vars_file, recap, write_playbook

HOSTS = ["h1", "h2", "h3"]
IMAGE = "local/probe:latest"
NET = "xh_overlay"
PLAYBOOK = "playbooks/overlay.yml"
KV = ["-e", "overlay_backend=kv", "-e", "overlay_kv_url=etcd://192.168.1.1:2379"]
ROLE_ONLY = """- hosts: docker_hosts
  gather_facts: true
  gather_subset: [network]
  roles:
    - role: crosshost.docker.overlay
      overlay_verify: false
"""


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("o2", hosts=3, engines="20.10 20.10 28")


def run(lab, *extra, inventories=(), playbook=PLAYBOOK, verify=False):
    return labutil.playbook(lab, playbook, *extra, *(() if verify else ("-e", "overlay_verify=false")),
                            inventories=inventories)


def unchanged(out):
    return all(r["changed"] == 0 for r in recap(out).values())


def sh(lab, host, script):
    return lab.sh(host, script).stdout.strip()


def pids(lab, hosts=("h1", "h2", "h3")):
    return {h: sh(lab, h, "cat /var/run/docker.pid") for h in hosts}


def net_id(lab, host, net=NET):
    return sh(lab, host, "docker network inspect -f '{{.Id}}' " + net)


def start_app(lab, host, net=NET):
    lab.sh(host, f"docker rm -f xh-app >/dev/null 2>&1; docker run -d --init --name xh-app --network {net} {IMAGE} "
                 "sleep 3600 >/dev/null")
    return app(lab, host)


def app(lab, host):
    out = sh(lab, host, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}} "
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' xh-app")
    running, started, ip = out.split()
    return {"running": running == "true", "started": started, "ip": ip}


def swarm_state(lab, host):
    return sh(lab, host, "docker info -f '{{.Swarm.LocalNodeState}}'")


def nodes(lab, host="h1"):
    return sh(lab, host, "docker node ls --format '{{.Hostname}} {{.Status}}' | sort")


def input_rules(lab, host):
    return sh(lab, host, "iptables-save -t filter | grep CROSSHOST-OVERLAY || true")


def pinging(lab, src, dst_ip, count=150):
    return subprocess.Popen(["nsenter", "-t", str(lab.pid(src)), "-n", "-m", "-u", "--", "docker", "exec", "xh-app",
                             "ping", "-c", str(count), "-i", "0.2", dst_ip],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def lost_nothing(ping_out, count=150):
    stats = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", ping_out)
    return bool(stats) and stats.group(1) == stats.group(2) and int(stats.group(1)) == count


def test_swarm_adding_a_host_changes_no_old_host(lab):
    rc, out = run(lab, "-e", "overlay_play_hosts=h1,h2")
    assert rc == 0, out[-4000:]
    old = {h: start_app(lab, h) for h in ("h1", "h2")}
    before = pids(lab, ("h1", "h2"))
    net = net_id(lab, "h1")
    pinger = pinging(lab, "h1", old["h2"]["ip"])
    try:
        rc, out = run(lab, verify=True)
    finally:
        ping_out = pinger.communicate(timeout=120)[0]
    assert rc == 0, out[-4000:]
    assert lost_nothing(ping_out), ping_out[-500:]
    assert pids(lab, ("h1", "h2")) == before, "an old host restarted"
    assert net_id(lab, "h1") == net and net_id(lab, "h2") == net
    for h in ("h1", "h2"):
        assert app(lab, h) == old[h]
    assert swarm_state(lab, "h3") == "active"
    assert nodes(lab) == "h1 Ready\nh2 Ready\nh3 Ready"
    assert "3 hosts, 6 pairs, 0 broken" in out
    assert "192.168.1.13" in input_rules(lab, "h1") and "192.168.1.13" in input_rules(lab, "h2")
    rc, out = run(lab)
    assert rc == 0 and unchanged(out), out[-3000:]


def test_swarm_limited_runs_read_the_hosts_left_out(lab):
    token = sh(lab, "h1", "docker swarm join-token -q worker")
    before = pids(lab)
    rc, out = run(lab, "--limit", "h2")
    assert rc == 0, out[-4000:]
    assert list(recap(out)) == ["h2"] and unchanged(out), out[-3000:]
    assert "[h2 -> h1]" in out and "[h2 -> h3]" in out  # read there, nothing changed
    assert pids(lab) == before
    # h3 left the swarm by hand: --limit h3 brings it back with h1's token, read from h1
    lab.sh("h3", "docker swarm leave >/dev/null")
    rules = {h: input_rules(lab, h) for h in ("h1", "h2")}
    rc, out = run(lab, "--limit", "h3")
    assert rc == 0, out[-4000:]
    assert list(recap(out)) == ["h3"] and recap(out)["h3"]["changed"] > 0
    assert swarm_state(lab, "h3") == "active"
    assert sh(lab, "h1", "docker swarm join-token -q worker") == token
    assert pids(lab) == before and {h: input_rules(lab, h) for h in ("h1", "h2")} == rules
    # the down node h3 left behind stays on h1's list until h3 is retired (below)
    # the role alone (overlay_hosts = the play's hosts): refused before any change
    role_only = write_playbook(lab, "role-only.yml", ROLE_ONLY)
    state = {h: (swarm_state(lab, h), input_rules(lab, h)) for h in HOSTS}
    rc, out = run(lab, "--limit", "h2", playbook=role_only)
    assert rc != 0
    assert "--limit h2 left out h1, h3" in out and "overlay_hosts" in out, out[-3000:]
    assert {h: (swarm_state(lab, h), input_rules(lab, h)) for h in HOSTS} == state


def test_swarm_retiring_a_host(lab):
    inv = host_vars_file(lab, "retire-h3.yml", {"h3": {"overlay_state": "absent"}})
    start_app(lab, "h3")
    before = pids(lab)
    net = net_id(lab, "h1")
    apps = {h: app(lab, h) for h in ("h1", "h2")}
    # refused while h3's container uses the overlay, and under --limit h3 (h1 would have to drop h3's node)
    rc, out = run(lab, inventories=[inv])
    assert rc != 0 and "h3 still has containers on the overlay (xh_overlay: xh-app)" in out, out[-3000:]
    assert swarm_state(lab, "h3") == "active"
    lab.sh("h3", "docker rm -f xh-app >/dev/null")
    rc, out = run(lab, "--limit", "h3", inventories=[inv])
    assert rc != 0 and "--limit h3: the swarm's lead manager h1 is left out" in out and "off its node list" in out, \
        out[-3000:]
    assert swarm_state(lab, "h3") == "active"
    rc, out = run(lab, inventories=[inv])
    assert rc == 0, out[-4000:]
    assert swarm_state(lab, "h3") == "inactive"
    assert nodes(lab) == "h1 Ready\nh2 Ready"
    assert pids(lab) == before, "a host restarted"
    assert net_id(lab, "h1") == net and {h: app(lab, h) for h in ("h1", "h2")} == apps
    assert "192.168.1.13" not in input_rules(lab, "h1") + input_rules(lab, "h2")
    assert input_rules(lab, "h3") == "" and "docker_gwbridge" not in sh(lab, "h3", "docker network ls")
    # the last manager cannot be retired
    for h in ("h1", "h2"):
        lab.sh(h, "docker rm -f xh-app >/dev/null")
    inv1 = host_vars_file(lab, "retire-h1.yml", {"h1": {"overlay_state": "absent"}, "h3": {"overlay_state": "absent"}})
    rc, out = run(lab, inventories=[inv1])
    assert rc != 0 and "overlay_swarm_managers: none of h1 keeps the overlay" in out, out[-3000:]
    assert swarm_state(lab, "h1") == "active" and nodes(lab) == "h1 Ready\nh2 Ready"
    # a manager is demoted first when another one stays: h2 promoted by hand, then h1 retired with h2 as lead
    lab.sh("h1", "docker node promote h2 >/dev/null")
    before = pids(lab)
    managers = ["-e", '{"overlay_swarm_managers": ["h2"]}']
    rc, out = run(lab, *managers, inventories=[inv1])
    assert rc == 0, out[-4000:]
    assert swarm_state(lab, "h1") == "inactive" and nodes(lab, "h2") == "h2 Ready"
    assert pids(lab) == before and net_id(lab, "h2") == net
    # every host absent: the whole scheme goes, networks included
    rc, out = run(lab, "-e", "overlay_state=absent", *managers)
    assert rc == 0, out[-4000:]
    for h in HOSTS:
        assert swarm_state(lab, h) == "inactive" and input_rules(lab, h) == ""
        assert NET not in sh(lab, h, "docker network ls")


def test_kv_add_limit_and_retire(lab):
    lab.lab("etcd")
    hosts = ["-e", "overlay_play_hosts=h1,h2"]
    rc, out = run(lab, "-e", "overlay_play_hosts=h1", *KV)
    assert rc == 0, out[-4000:]
    h1_app = start_app(lab, "h1")
    h1_pid = pids(lab, ["h1"])
    net = net_id(lab, "h1")
    h2_pid = pids(lab, ["h2"])["h2"]
    # adding h2 under --limit h2 is refused: h1's INPUT rules do not accept h2 yet
    rc, out = run(lab, *hosts, *KV, "--limit", "h2")
    assert rc != 0 and "--limit h2 left out h1, whose overlay INPUT rules" in out, out[-3000:]
    assert pids(lab, ["h2"])["h2"] == h2_pid and "cluster-store" not in sh(lab, "h2", "cat /etc/docker/daemon.json || true")
    rc, out = run(lab, *hosts, *KV, verify=True)
    assert rc == 0, out[-4000:]
    assert pids(lab, ["h1"]) == h1_pid and app(lab, "h1") == h1_app
    assert net_id(lab, "h1") == net and net_id(lab, "h2") == net
    assert pids(lab, ["h2"])["h2"] != h2_pid
    assert json.loads(sh(lab, "h2", "cat /etc/docker/daemon.json"))["cluster-store"] == "etcd://192.168.1.1:2379"
    assert "2 hosts, 2 pairs, 0 broken" in out
    # a limited run plans from both hosts and changes nothing
    both = pids(lab, ["h1", "h2"])
    rc, out = run(lab, *hosts, *KV, "--limit", "h2")
    assert rc == 0 and list(recap(out)) == ["h2"] and unchanged(out), out[-3000:]
    assert pids(lab, ["h1", "h2"]) == both
    # retire h2: one restart of its own dockerd, the store out of its daemon.json; h1 keeps everything
    inv = host_vars_file(lab, "retire-h2.yml", {"h2": {"overlay_state": "absent"}})
    rc, out = run(lab, *hosts, *KV, inventories=[inv])
    assert rc == 0, out[-4000:]
    assert pids(lab, ["h1"]) == h1_pid and app(lab, "h1") == h1_app and net_id(lab, "h1") == net
    assert pids(lab, ["h2"])["h2"] != both["h2"]
    assert "cluster-store" not in sh(lab, "h2", "cat /etc/docker/daemon.json")
    assert NET not in sh(lab, "h2", "docker network ls") and input_rules(lab, "h2") == ""
    assert "keeper" not in sh(lab, "h2", "docker ps -a --format '{{.Names}}'")
    rc, out = run(lab, *hosts, *KV, inventories=[inv])
    assert rc == 0 and unchanged(out), out[-3000:]
