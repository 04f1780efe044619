"""Day-2 operations of the macvlan scheme on a real 3-host lab (issue 14, items 1, 2, 3 and 8).

The tests build on each other, in file order, on one lab:

(a) converge h1 and h2, start a container on each; add h3: h3 gets a free slice, h1's and h2's networks
    keep their ids (nothing recreated), their containers keep running (same StartedAt and address), the
    role's verify passes across all three hosts, and h1 and h2 report changed=0;
(b) retire h3 (macvlan_state: absent as a host var): its networks and shims are gone (the VLAN stand-in
    stays), h1 and h2 unchanged (changed=0, same ids, same containers, still reaching each other);
(c) --limit: a limited run on a converged host (and the retired one) changes nothing; the role in a play
    of one's own cannot see the hosts left out and refuses a new slice under --limit; adding h3 again with
    --limit h3 while a host outside the limit cannot be read is refused (naming --limit, the host, and
    what to run) and changes nothing; with every host readable, --limit h3 gives h3 a slice disjoint from
    the others;
(d) undo the scheme (macvlan_state=absent for the play): refused while a container is attached (named,
    nothing changed), then every host equals its snapshot from before the first apply: `ip -d link`,
    addresses, routes, Docker networks and the files under the link module's persistence directories.
"""
import ipaddress
import json
import os
import re

import pytest
from labutil import Lab

# mac_net2 sits on the lab's VLAN stand-in (LAB_VLANS=10: a veth named eth1.10 on a segment of its own,
# accepted with macvlan_accept_existing_links and left in place by absent, as a VLAN the role did not make).
NETWORKS = [{"name": "mac_net1", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1"},
            {"name": "mac_net2", "parent": "eth1.10", "vlan": {"link": "eth1", "id": 10}, "subnet": "192.168.10.0/24",
             "gateway": "192.168.10.1"}]
HOSTS = ("h1", "h2", "h3")
IMAGE = "local/probe:latest"

# What the role (through crosshost.docker.link and Docker) may change on a host, and must put back with absent.
# Bridge timers tick; Docker 20.10 gives its default `bridge` network a new id at every start (test (c)
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
def lab():
    made = Lab("md", hosts=3)
    made.env["LAB_VLANS"] = "10"
    try:
        yield made.up()
    finally:
        made.down()


def extra(**kw):
    return json.dumps(dict({"macvlan_networks": NETWORKS, "macvlan_shim": True, "macvlan_verify": False,
                            "macvlan_accept_existing_links": True}, **kw))


def play(lab, *args, check=True):
    proc = lab.ansible("ansible-playbook", *args, "playbooks/macvlan.yml", check=False)
    if check and proc.returncode != 0:
        script = ("docker ps -a --format '{{.Names}} {{.Status}} {{.Networks}}'; "
                  "for c in $(docker ps -aq); do docker inspect -f '{{.Name}} {{json .State}}' $c; done")
        state = "\n".join(f"## {h}\n" + lab.sh(h, script, check=False).stdout for h in HOSTS)
        raise AssertionError(f"playbook failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}\n{state}")
    return proc


def recap(proc):
    """{host: {"ok": n, "changed": n, ...}} from PLAY RECAP."""
    out = {}
    for host, rest in re.findall(r"^(\S+)\s+: (ok=.*)$", proc.stdout.split("PLAY RECAP")[-1], re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)}
    return out


def net(lab, host, name="mac_net1"):
    """{id, ip_range} of the network on host, or None when there is none."""
    proc = lab.sh(host, "docker network inspect -f '{{.Id}} {{(index .IPAM.Config 0).IPRange}}' " + name, check=False)
    if proc.returncode != 0:
        return None
    net_id, ip_range = proc.stdout.split()
    return {"id": net_id, "ip_range": ip_range}


def container(lab, host, name="app"):
    proc = lab.sh(host, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}} "
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def nets(lab, host):
    """{network name: {id, ip_range} or None} for both networks."""
    return {n["name"]: net(lab, host, n["name"]) for n in NETWORKS}


def disjoint_from(lab, host, others):
    """host's slices overlap none of `others` ({host: nets(...)}), per network."""
    mine = nets(lab, host)
    for name, entry in mine.items():
        assert entry, f"{host} has no {name}"
        for other, theirs in others.items():
            assert not ipaddress.ip_network(entry["ip_range"]).overlaps(ipaddress.ip_network(theirs[name]["ip_range"])), \
                (host, other, name, entry, theirs[name])
    return mine


def no_networks(lab, host):
    return all(v is None for v in nets(lab, host).values()) and not {"xhmv0", "xhmv1"} & set(
        line.split()[0].split("@")[0] for line in links(lab, host).splitlines())


def failure(proc):
    """The FAILED messages of a run (the role fails with one plain task, once)."""
    return [json.loads(body)["msg"] for body in re.findall(r"^fatal: \[\S+\]: FAILED! => (\{.*\})$", proc.stdout, re.M)]


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
    old = {h: nets(lab, h) for h in ("h1", "h2")}
    apps = {h: container(lab, h) for h in ("h1", "h2")}
    assert all(all(v.values()) for v in old.values()) and all(a.startswith("true ") for a in apps.values()), (old, apps)
    assert no_networks(lab, "h3")

    # add h3: the whole group, verify on (matrix across all three, L2 separation of the two networks)
    proc = play(lab, "-e", extra(macvlan_verify=True))
    assert proc.stdout.count("3 hosts, 6 pairs, 0 broken") == 2, proc.stdout[-4000:]
    counts = recap(proc)
    assert counts["h1"]["changed"] == 0 and counts["h2"]["changed"] == 0, counts
    assert {h: nets(lab, h) for h in ("h1", "h2")} == old
    assert {h: container(lab, h) for h in ("h1", "h2")} == apps
    h3 = disjoint_from(lab, "h3", old)
    assert {"xhmv0", "xhmv1"} <= set(line.split()[0].split("@")[0] for line in links(lab, "h3").splitlines())
    # h1's container reaches a container on h3 through the segment, and h3 its own through the shim
    lab.sh("h3", f"docker run -d --init --name app --network mac_net1 {IMAGE} sleep 3600 >/dev/null")
    h3_app = container(lab, "h3").split()[-1]
    assert ipaddress.ip_address(h3_app) in ipaddress.ip_network(h3["mac_net1"]["ip_range"])
    lab.sh("h1", f"docker exec app ping -c 2 -W 2 {h3_app}")
    lab.sh("h3", f"ping -c 2 -W 2 {h3_app}")
    lab.sh("h3", "docker rm -f app >/dev/null")
    STATE.update(nets=old, apps=apps, h3=h3)


def test_b_retiring_a_host_removes_its_network_and_leaves_the_others(lab):
    old, apps = STATE["nets"], STATE["apps"]
    inventory = host_vars_inventory(lab, h3={"macvlan_state": "absent"})
    proc = play(lab, "-i", inventory, "-e", extra())
    counts = recap(proc)
    assert counts["h1"]["changed"] == 0 and counts["h2"]["changed"] == 0 and counts["h3"]["changed"] > 0, counts
    assert no_networks(lab, "h3")
    assert "eth1.10" in links(lab, "h3")  # the stand-in is not the role's to delete
    assert {h: nets(lab, h) for h in ("h1", "h2")} == old
    assert {h: container(lab, h) for h in ("h1", "h2")} == apps
    lab.sh("h1", f"docker exec app ping -c 2 -W 2 {apps['h2'].split()[-1]}")  # the matrix was verified in (a)


def test_c_limit_reads_the_hosts_left_out_and_refuses_when_it_cannot(lab):
    old, apps = STATE["nets"], STATE["apps"]
    # a limited run on a converged host and the retired one: works, changes nothing (h1 is read, not in the play)
    inventory = host_vars_inventory(lab, h3={"macvlan_state": "absent"})
    proc = play(lab, "-i", inventory, "-e", extra(macvlan_verify=True), "--limit", "h2,h3")
    assert sorted(recap(proc)) == ["h2", "h3"] and all(c["changed"] == 0 for c in recap(proc).values()), recap(proc)
    assert proc.stdout.count("1 hosts, 0 pairs, 0 broken") == 2, proc.stdout[-3000:]  # the play's present hosts only
    assert {h: nets(lab, h) for h in ("h1", "h2")} == old

    # the role in a play of one's own (macvlan_hosts: the play's hosts) cannot know the hosts left out:
    # a new slice under --limit is refused
    own = os.path.join(lab.dir, "day2-own-play.yml")
    with open(own, "w") as f:
        json.dump([{"hosts": "docker_hosts", "gather_facts": False, "roles": ["crosshost.docker.macvlan"]}], f)
    proc = lab.ansible("ansible-playbook", own, "-e", extra(), "--limit", "h3", check=False)
    assert proc.returncode != 0
    msg = failure(proc)
    assert len(msg) == 1 and msg[0].startswith("--limit h3 leaves out h1, h2"), msg or proc.stdout[-3000:]
    assert "this play does not know which of them share the networks" in msg[0]
    assert no_networks(lab, "h3")
    STATE["messages"] = [msg[0]]

    # h3 comes back with --limit h3 while h1 is unreachable (a wrong nsenter pid): refused, nothing changed
    down = host_vars_inventory(lab, h1={"ansible_nsenter_pid": 999999})
    proc = play(lab, "-i", down, "-e", extra(), "--limit", "h3", check=False)
    msg = failure(proc)
    assert len(msg) == 1 and msg[0].startswith("--limit h3 leaves out h1, and h3 would get the new slice "), \
        msg or proc.stdout[-4000:]
    assert "could not be read" in msg[0]
    assert no_networks(lab, "h3")
    STATE["messages"].append(msg[0])

    # the same while h1's Docker is down (h1 reachable, the read fails)
    lab.sh("h1", "/etc/init.d/docker stop >/dev/null 2>&1")
    try:
        proc = play(lab, "-e", extra(), "--limit", "h3", check=False)
        assert proc.returncode != 0
        msg = failure(proc)
        assert len(msg) == 1 and msg[0].startswith("--limit h3 leaves out h1, and h3 would get the new slice "), \
            msg or proc.stdout[-4000:]
        assert "could not be read" in msg[0] and "Run without --limit" in msg[0] and "Nothing was changed" in msg[0]
        assert no_networks(lab, "h3")
        STATE["messages"].append(msg[0])
    finally:
        lab.sh("h1", "/etc/init.d/docker start >/dev/null 2>&1")
    lab.sh("h1", "for i in $(seq 50); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1")
    assert nets(lab, "h1") == old["h1"]

    # every host readable: --limit h3 gives h3 free slices (its old ones, free again), nobody else changes
    proc = play(lab, "-e", extra(), "--limit", "h3")
    assert list(recap(proc)) == ["h3"]
    h3 = disjoint_from(lab, "h3", old)
    assert {k: v["ip_range"] for k, v in h3.items()} == {k: v["ip_range"] for k, v in STATE["h3"].items()}
    assert {h: nets(lab, h) for h in ("h1", "h2")} == old
    assert container(lab, "h2") == apps["h2"]  # h1's app stopped with its dockerd above


def test_d_undo_on_every_host_leaves_nothing_of_ours(lab):
    # refused while a container is attached: named, with the fix, nothing changed on any host
    before = {h: (nets(lab, h), links(lab, h)) for h in HOSTS}
    proc = play(lab, "-e", extra(macvlan_state="absent"), check=False)
    assert proc.returncode != 0
    msg = failure(proc)
    assert len(msg) == 1 and msg[0].startswith("h2 (macvlan_state: absent): network mac_net1 still has app."), \
        msg or proc.stdout[-4000:]
    assert "docker network disconnect" in msg[0]
    assert {h: (nets(lab, h), links(lab, h)) for h in HOSTS} == before
    STATE["messages"].append(msg[0])

    for h in HOSTS:
        lab.sh(h, "docker rm -f app >/dev/null 2>&1 || true")
    play(lab, "-e", extra(macvlan_state="absent"))
    after = {h: lab.sh(h, SNAPSHOT).stdout for h in HOSTS}
    for h in HOSTS:
        assert after[h] == STATE["before"][h], f"{h}:\n" + "\n".join(
            line for line in set(after[h].splitlines()) ^ set(STATE["before"][h].splitlines()))
    counts = recap(play(lab, "-e", extra(macvlan_state="absent")))
    assert all(c["changed"] == 0 for c in counts.values()), counts
    if os.environ.get("MACVLAN_DAY2_MESSAGES"):
        with open(os.environ["MACVLAN_DAY2_MESSAGES"], "w") as f:
            f.write("\n\n".join(STATE["messages"]) + "\n")
