"""Day-2 operations of the macvlan scheme on a real 3-host lab (issue 14, items 1, 2, 3 and 8).

The tests build on each other, in file order, on one lab:

(a) converge h1 and h2, start a container on each; add h3: h3 gets a free slice, h1's and h2's networks
    keep their ids (nothing recreated), their containers keep running (same StartedAt and address), the
    role's verify passes across all three hosts, and h1 and h2 report changed=0;
(b) retire h3 (macvlan_state: absent as a host var): its network and shim are gone, h1 and h2 unchanged;
(d) --limit: a limited run on a converged host changes nothing; adding h3 again with --limit h3 while a
    host outside the limit cannot be read is refused (naming --limit, the host, and what to run) and
    changes nothing; with every host readable, --limit h3 gives h3 a slice disjoint from the others;
(c) undo the scheme (macvlan_state=absent for the play): refused while a container is attached (named,
    nothing changed), then every host equals its snapshot from before the first apply: `ip -d link`,
    addresses, routes, Docker networks and the files under the link module's persistence directories.
"""
import ipaddress
import json
import os
import re

import pytest

NETWORKS = [{"name": "mac_net1", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1"}]
HOSTS = ("h1", "h2", "h3")
IMAGE = "local/probe:latest"

# What the role (through crosshost.docker.link and Docker) may change on a host, and must put back with absent.
# Bridge timers tick; Docker 20.10 gives its default `bridge` network a new id at every start (test (d)
# restarts h1's dockerd), so networks are compared by name, driver and scope.
SNAPSHOT = r"""
echo '## ip -d link'; ip -d link | sed -E 's/ [a-z_]+_timer +[0-9.]+//g'
echo '## ip -4 addr'; ip -4 -o addr
echo '## ip -4 route'; ip -4 route show table all
echo '## docker network ls'; docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
echo '## persisted files'
for d in /etc/systemd/network /run/systemd/network /etc/network/interfaces.d /etc/NetworkManager/system-connections; do
  [ -d "$d" ] && find "$d" -type f -exec md5sum {} + | sort
done
true
"""

STATE = {}


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("md", hosts=3)


def extra(**kw):
    return json.dumps(dict({"macvlan_networks": NETWORKS, "macvlan_shim": True, "macvlan_verify": False}, **kw))


def play(lab, *args, check=True):
    return lab.ansible("ansible-playbook", *args, "playbooks/macvlan.yml", check=check)


def recap(proc):
    """{host: {"ok": n, "changed": n, ...}} from PLAY RECAP."""
    out = {}
    for host, rest in re.findall(r"^(\S+)\s+: (ok=.*)$", proc.stdout.split("PLAY RECAP")[-1], re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)}
    return out


def net(lab, host):
    """{id, ip_range} of mac_net1 on host, or None when there is none."""
    proc = lab.sh(host, "docker network inspect -f '{{.Id}} {{(index .IPAM.Config 0).IPRange}}' mac_net1", check=False)
    if proc.returncode != 0:
        return None
    net_id, ip_range = proc.stdout.split()
    return {"id": net_id, "ip_range": ip_range}


def container(lab, host, name="app"):
    proc = lab.sh(host, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}} "
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def links(lab, host):
    return lab.sh(host, "ip -br link").stdout


def host_vars_inventory(lab, **host_vars):
    """An extra inventory with host vars, e.g. h3={'macvlan_state': 'absent'}."""
    path = os.path.join(lab.dir, "day2-hostvars.yml")
    with open(path, "w") as f:
        json.dump({"all": {"hosts": host_vars}}, f)
    return path


def test_a_adding_a_host_changes_no_existing_host(lab):
    STATE["before"] = {h: lab.sh(h, SNAPSHOT).stdout for h in HOSTS}
    # converge h1 and h2 only (the play's pattern), then a container on each
    play(lab, "-e", extra(), "-e", "macvlan_play_hosts=h1:h2")
    for h in ("h1", "h2"):
        lab.sh(h, f"docker run -d --init --name app --network mac_net1 {IMAGE} sleep 3600 >/dev/null")
    nets = {h: net(lab, h) for h in ("h1", "h2")}
    apps = {h: container(lab, h) for h in ("h1", "h2")}
    assert all(nets.values()) and all(a.startswith("true ") for a in apps.values()), (nets, apps)
    assert net(lab, "h3") is None

    # add h3: the whole group, verify on (matrix across all three)
    proc = play(lab, "-e", extra(macvlan_verify=True))
    assert "3 hosts, 6 pairs, 0 broken" in proc.stdout, proc.stdout[-4000:]
    counts = recap(proc)
    assert counts["h1"]["changed"] == 0 and counts["h2"]["changed"] == 0, counts
    assert {h: net(lab, h) for h in ("h1", "h2")} == nets
    assert {h: container(lab, h) for h in ("h1", "h2")} == apps
    new = ipaddress.ip_network(net(lab, "h3")["ip_range"])
    for h in ("h1", "h2"):
        assert not new.overlaps(ipaddress.ip_network(nets[h]["ip_range"])), (new, nets)
    assert "xhmv0" in links(lab, "h3")
    # h1's container reaches h3 through the segment, and h3 its own containers through the shim
    lab.sh("h3", f"docker run -d --init --name app --network mac_net1 {IMAGE} sleep 3600 >/dev/null")
    h3_app = container(lab, "h3").split()[-1]
    assert ipaddress.ip_address(h3_app) in new
    lab.sh("h1", f"docker exec app ping -c 2 -W 2 {h3_app}")
    lab.sh("h3", f"ping -c 2 -W 2 {h3_app}")
    lab.sh("h3", "docker rm -f app >/dev/null")
    STATE.update(nets=nets, apps=apps, h3_range=str(new))


def test_b_retiring_a_host_removes_its_network_and_leaves_the_others(lab):
    nets, apps = STATE["nets"], STATE["apps"]
    inventory = host_vars_inventory(lab, h3={"macvlan_state": "absent"})
    proc = play(lab, "-i", inventory, "-e", extra(macvlan_verify=True))
    assert "2 hosts, 2 pairs, 0 broken" in proc.stdout, proc.stdout[-4000:]
    counts = recap(proc)
    assert counts["h1"]["changed"] == 0 and counts["h2"]["changed"] == 0 and counts["h3"]["changed"] > 0, counts
    assert net(lab, "h3") is None
    assert "xhmv0" not in links(lab, "h3")
    assert {h: net(lab, h) for h in ("h1", "h2")} == nets
    assert {h: container(lab, h) for h in ("h1", "h2")} == apps
    # rerun: nothing left to do anywhere
    counts = recap(play(lab, "-i", inventory, "-e", extra()))
    assert all(c["changed"] == 0 for c in counts.values()), counts


def test_d_limit_reads_the_hosts_left_out_and_refuses_when_it_cannot(lab):
    nets, apps = STATE["nets"], STATE["apps"]
    # a limited run on a converged host: works, changes nothing
    inventory = host_vars_inventory(lab, h3={"macvlan_state": "absent"})
    proc = play(lab, "-i", inventory, "-e", extra(), "--limit", "h2")
    assert recap(proc)["h2"]["changed"] == 0 and "h1" not in recap(proc)
    assert {h: net(lab, h) for h in ("h1", "h2")} == nets

    # h3 comes back with --limit h3 while h1's Docker is down: refused, nothing changed
    lab.sh("h1", "/etc/init.d/docker stop >/dev/null 2>&1")
    try:
        proc = play(lab, "-e", extra(), "--limit", "h3", check=False)
        assert proc.returncode != 0
        assert "--limit h3 leaves out h1" in proc.stdout, proc.stdout[-4000:]
        assert "h3 would get the new slice" in proc.stdout and "could not be read" in proc.stdout
        assert "Run without --limit" in proc.stdout and "Nothing was changed" in proc.stdout
        assert net(lab, "h3") is None and "xhmv0" not in links(lab, "h3")
    finally:
        lab.sh("h1", "/etc/init.d/docker start >/dev/null 2>&1")
    lab.sh("h1", "for i in $(seq 50); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1")
    assert net(lab, "h1") == nets["h1"]

    # every host readable: --limit h3 gives h3 a free slice (its old one, free again), nobody else changes
    proc = play(lab, "-e", extra(), "--limit", "h3")
    assert list(recap(proc)) == ["h3"]
    h3 = ipaddress.ip_network(net(lab, "h3")["ip_range"])
    assert str(h3) == STATE["h3_range"]
    for h in ("h1", "h2"):
        assert not h3.overlaps(ipaddress.ip_network(nets[h]["ip_range"]))
    assert {h: net(lab, h) for h in ("h1", "h2")} == nets
    assert container(lab, "h2") == apps["h2"]  # h1's app stopped with its dockerd above


def test_c_undo_on_every_host_leaves_nothing_of_ours(lab):
    # refused while a container is attached: named, with the fix, nothing changed on any host
    before = {h: (net(lab, h), links(lab, h)) for h in HOSTS}
    proc = play(lab, "-e", extra(macvlan_state="absent"), check=False)
    assert proc.returncode != 0
    assert "h2 (macvlan_state: absent): network mac_net1 still has app" in proc.stdout, proc.stdout[-4000:]
    assert "docker network disconnect" in proc.stdout
    assert {h: (net(lab, h), links(lab, h)) for h in HOSTS} == before

    for h in HOSTS:
        lab.sh(h, "docker rm -f app >/dev/null 2>&1 || true")
    play(lab, "-e", extra(macvlan_state="absent"))
    after = {h: lab.sh(h, SNAPSHOT).stdout for h in HOSTS}
    for h in HOSTS:
        assert after[h] == STATE["before"][h], f"{h}:\n" + "\n".join(
            line for line in set(after[h].splitlines()) ^ set(STATE["before"][h].splitlines()))
    counts = recap(play(lab, "-e", extra(macvlan_state="absent")))
    assert all(c["changed"] == 0 for c in counts.values()), counts
