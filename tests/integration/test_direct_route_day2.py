"""Day-2 operations of the direct_route role on three real lab hosts (Docker 20.10, 26, 28) with the
lab's VPC router (issue 14, items 1-4, 6 and 8). The tests run in order on one lab and build on each
other, as an operator's week would; once on namespace hosts, then once on full Debian 12 hosts
(systemd, docker.service, SSH as a sudo user), skipped with the reason where those cannot boot:

1. h1 and h2 converge; h3 is added. No old host restarts or changes its bridge network, a ping
   between the old hosts' containers loses nothing while h3 comes in, the peers only get h3's
   subnet in their rules and the router gets one new route.
2. ``--limit h2`` changes nothing and plans from the whole group; the role used without the
   playbook's whole-group ``direct_route_hosts`` refuses a limited run before any change.
3. Drift (FORWARD policy ACCEPT, our chain flushed, a route deleted and one redirected, a sysctl
   flipped, daemon.json edited by hand): ``--check`` fails and names each item per host, and changes
   nothing; a normal run repairs it and ``--check`` passes.
4. Rolling restart: with live-restore on and ``direct_route_restart_batch=1``, a daemon.json change
   restarts one host at a time and the containers keep running with the same IP.
5. Retire h3 (``direct_route_state: absent`` as its host var): its route goes, its subnet leaves the
   peers' rules, its daemon.json (absent before) and docker0 address come back, none of our files,
   chains or sysctl files remain; no other host restarts. While a live-restore container on its
   default bridge would keep docker0's address, the retirement is refused before any change.
6. Undo the scheme on every host: each host equals its snapshot from before the first run (h2's
   daemon.json byte for byte; h1's and h3's key for key, since live-restore was added by "someone
   else"),
   the router holds none of our routes, dockerd runs; a second undo changes nothing.
"""
import json
import os
import re
import subprocess

import pytest

import labutil
from labutil import host_vars_file, recap, run_task, write_playbook
from test_lab_debian import REASON as DEBIAN_REASON, DebianLab

HOSTS = ["h1", "h2", "h3"]
IMAGE = "local/probe:latest"  # the lab's image, on every host (busybox: sleep, ping)
DROP = ("-e", "direct_route_forward_policy=drop")  # an ACCEPT FORWARD policy counts as drift and is repaired
PLAYBOOK = "playbooks/direct_route.yml"
H2_ORIGINAL = '{\n    "log-level": "info"\n}\n'  # a file of somebody else's, in a style of its own
ROLE_ONLY = """- hosts: docker_hosts
  gather_facts: true
  gather_subset: [network]
  roles:
    - role: crosshost.docker.direct_route
      direct_route_verify: false
"""


@pytest.fixture(scope="module", params=["ns", "debian12"])
def lab(request, lab_factory):
    """Namespace hosts, then full Debian 12 hosts (systemd, docker.service, SSH as ops with become)."""
    if request.param == "debian12":
        if DEBIAN_REASON:
            pytest.skip(DEBIAN_REASON)
        lab = DebianLab("d2d", hosts=3, engines="20.10 26 28")
        request.addfinalizer(lab.down)
        lab.up()
    else:
        lab = lab_factory("d2", hosts=3, engines="20.10 26 28")
    lab.sh("h2", "printf '%s' '" + H2_ORIGINAL + "' > /etc/docker/daemon.json")
    lab.snapshot = {h: snapshot(lab, h) for h in HOSTS}
    lab.snapshot["rt"] = router_routes(lab)
    return lab


def run(lab, *extra, inventories=(), playbook=PLAYBOOK):
    return labutil.playbook(lab, playbook, *extra, inventories=inventories)


def sh(lab, host, script):
    return lab.sh(host, script).stdout.strip()


def dockerd_pid(lab, host):
    return sh(lab, host, "cat /var/run/docker.pid")


def docker0(lab, host):
    return sh(lab, host, "ip -4 -o addr show docker0 | awk '{print $4}'")


def daemon_json_text(lab, host):
    proc = lab.sh(host, "cat /etc/docker/daemon.json", check=False)
    return proc.stdout if proc.returncode == 0 else None


def ours(lab, host):
    """Everything of ours on a host: chains and rules, files, sysctl files, routes in the pool."""
    return {
        "iptables": sh(lab, host, "iptables-save | grep -i crosshost || true"),
        "files": sh(lab, host, "ls -A /etc/crosshost-docker 2>/dev/null; ls /etc/sysctl.d | grep crosshost; "
                               "ls /etc/systemd/system /etc/systemd/system/*.wants 2>/dev/null | grep crosshost; true"),
        "routes": sh(lab, host, "ip route show proto static | grep '^10\\.0\\.' || true"),
    }


def snapshot(lab, host):
    return {"daemon_json": daemon_json_text(lab, host), "docker0": docker0(lab, host), "ours": ours(lab, host)}


def router_routes(lab):
    return sh(lab, "rt", "ip route show | grep '^10\\.0\\.' | awk '{print $1, $3}' | sort")


def start_container(lab, host, name):
    lab.sh(host, f"docker rm -f {name} >/dev/null 2>&1; docker run -d --name {name} {IMAGE} sleep 3600 >/dev/null")
    return container(lab, host, name)


def container(lab, host, name):
    out = sh(lab, host, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}} "
                        "{{.NetworkSettings.IPAddress}}' " + name)
    running, started, ip = out.split()
    return {"running": running == "true", "started": started, "ip": ip}


def test_a_limited_run_on_a_fresh_cluster_is_refused_with_the_fix(lab):
    """--limit h2 before the cluster was ever converged: the hosts outside hold none of its subnets, so h2
    would have no peers. Refused before any change, naming --limit, the hosts left out and the fix."""
    rc, out = run(lab, "--limit", "h2")
    assert rc != 0
    assert "--limit h2: the hosts outside the limit (h1, h3) hold none of the cluster's subnets yet" in out, out[-3000:]
    assert "run the playbook without --limit first" in out and "Nothing was changed." in out
    assert {h: snapshot(lab, h) for h in HOSTS} == {h: lab.snapshot[h] for h in HOSTS}
    assert router_routes(lab) == lab.snapshot["rt"]


def test_adding_a_host_changes_no_old_host(lab):
    rc, out = run(lab, "-e", "direct_route_play_hosts=h1,h2")
    assert rc == 0, out[-4000:]
    old = {h: {"pid": dockerd_pid(lab, h), "net": sh(lab, h, "docker network inspect -f '{{.Id}}' bridge"),
               "c": start_container(lab, h, "xh-app")} for h in ("h1", "h2")}
    rules_before = {h: sh(lab, h, "iptables -S CROSSHOST-FORWARD") for h in ("h1", "h2")}
    assert router_routes(lab).count("\n") == 1  # two routes
    # a ping between the old hosts' containers runs all the while h3 comes in
    pinger = subprocess.Popen(["nsenter", "-t", str(lab.pid("h1")), "-n", "-m", "-u", "--", "docker", "exec",
                               "xh-app", "ping", "-c", "150", "-i", "0.2", old["h2"]["c"]["ip"]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        rc, out = run(lab)
    finally:
        ping_out = pinger.communicate(timeout=120)[0]
    assert rc == 0, out[-4000:]
    stats = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", ping_out)
    assert stats and stats.group(1) == stats.group(2) and int(stats.group(1)) == 150, ping_out[-500:]
    for h in ("h1", "h2"):
        assert dockerd_pid(lab, h) == old[h]["pid"], f"{h} restarted"
        assert sh(lab, h, "docker network inspect -f '{{.Id}}' bridge") == old[h]["net"]
        assert container(lab, h, "xh-app") == old[h]["c"]
        rules = sh(lab, h, "iptables -S CROSSHOST-FORWARD")
        new_lines = set(rules.splitlines()) - set(rules_before[h].splitlines())
        assert new_lines and all("10.0.2.0/24" in line for line in new_lines), new_lines
        assert set(rules_before[h].splitlines()) <= set(rules.splitlines())
    assert docker0(lab, "h3") == "10.0.2.1/24"
    assert router_routes(lab) == "10.0.0.0/24 192.168.1.11\n10.0.1.0/24 192.168.1.12\n10.0.2.0/24 192.168.1.13"
    assert "3 hosts, 6 pairs, 0 broken" in out
    # a rerun changes nothing anywhere
    rc, out = run(lab, "-e", "direct_route_verify=false")
    assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out[-3000:]


def test_a_limited_run_plans_from_the_whole_group(lab):
    pids = {h: dockerd_pid(lab, h) for h in HOSTS}
    routes = router_routes(lab)
    rc, out = run(lab, "--limit", "h2")
    assert rc == 0, out[-4000:]
    assert list(recap(out)) == ["h2"] and recap(out)["h2"]["changed"] == 0, out[-3000:]
    delegated = "\n".join(line for line in out.splitlines() if " -> " in line or "outside" in line)
    assert re.search(r"\[h2 -> h1[\](]", out) and re.search(r"\[h2 -> h3[\](]", out), delegated  # read, not changed
    assert router_routes(lab) == routes and {h: dockerd_pid(lab, h) for h in HOSTS} == pids
    # the role alone (direct_route_hosts = the play's hosts): a limited run is refused before any change
    role_only = write_playbook(lab, "role-only.yml", ROLE_ONLY)
    before = {h: (daemon_json_text(lab, h), ours(lab, h)) for h in HOSTS}
    rc, out = run(lab, "--limit", "h2", playbook=role_only)
    assert rc != 0
    assert "--limit h2 left out h1, h3" in out and "direct_route_hosts" in out, out[-3000:]
    assert {h: (daemon_json_text(lab, h), ours(lab, h)) for h in HOSTS} == before
    assert router_routes(lab) == routes


def test_drift_is_found_in_check_mode_named_and_repaired(lab):
    lab.sh("h1", "iptables -P FORWARD ACCEPT")
    lab.sh("h2", "iptables -F CROSSHOST-FORWARD; sysctl -qw net.ipv4.conf.docker0.forwarding=0")
    lab.sh("h3", "sed -i 's/\"ip-masq\": false/\"ip-masq\": true/' /etc/docker/daemon.json")
    lab.sh("rt", "ip route del 10.0.1.0/24; ip route replace 10.0.0.0/24 via 192.168.1.13")
    drifted = {h: (daemon_json_text(lab, h), ours(lab, h), dockerd_pid(lab, h)) for h in HOSTS}
    routes = router_routes(lab)
    rc, out = run(lab, "--check", *DROP)
    assert rc != 0
    messages = {m.group(1): m.group(2) for m in re.finditer(r'fatal: \[(h\d)\]: FAILED! => .*"msg": "drift on \1: (.*?)"', out)}
    assert set(messages) == set(HOSTS), out[-4000:]
    assert "FORWARD policy is ACCEPT" in messages["h1"]
    assert "rt: route 10.0.0.0/24 points to 192.168.1.13, not 192.168.1.11" in messages["h1"]
    assert "firewall rules differ: missing" in messages["h2"] and "net.ipv4.conf.docker0.forwarding" in messages["h2"]
    assert "rt: missing route 10.0.1.0/24 via 192.168.1.12" in messages["h2"]
    assert "daemon.json differs: ip-masq (to be false)" in messages["h3"]
    # it changed nothing while it looked
    assert {h: (daemon_json_text(lab, h), ours(lab, h), dockerd_pid(lab, h)) for h in HOSTS} == drifted
    assert router_routes(lab) == routes and sh(lab, "h1", "iptables -S FORWARD | head -1") == "-P FORWARD ACCEPT"
    # a normal run repairs everything (the FORWARD policy included), then check mode passes
    rc, out = run(lab, "-e", "direct_route_verify=false", *DROP)
    assert rc == 0, out[-4000:]
    rc, out = run(lab, "--check", *DROP)
    assert rc == 0, out[-4000:]
    assert router_routes(lab) == "10.0.0.0/24 192.168.1.11\n10.0.1.0/24 192.168.1.12\n10.0.2.0/24 192.168.1.13"


def test_rolling_restart_keeps_live_restore_containers_running(lab):
    apps = {}
    for h in ("h1", "h3"):
        # live-restore comes from "someone else": the role keeps it, and the undo below keeps it too
        lab.sh(h, "python3 -c \"import json; p='/etc/docker/daemon.json'; c=json.load(open(p)); "
                  "c['live-restore']=True; open(p,'w').write(json.dumps(c, indent=2)+'\\n')\"")
    rc, out = run(lab, "-e", "direct_route_verify=false")  # applies live-restore (one restart each)
    assert rc == 0, out[-4000:]
    for h in ("h1", "h3"):
        start_container(lab, h, "xh-app")  # the restart above stopped h1's (live-restore was off then)
        # drift that the running daemons use: ip-masq on, applied by a restart (live-restore keeps xh-app)
        lab.sh(h, "sed -i 's/\"ip-masq\": false/\"ip-masq\": true/' /etc/docker/daemon.json")
        ok, result = run_task(lab, h, "crosshost.docker.docker_daemon", {"state": "restarted"})
        assert ok and result["containers_stopped"] == 0, result
        apps[h] = container(lab, h, "xh-app")
        assert apps[h]["running"] and apps[h]["ip"]
    pids = {h: dockerd_pid(lab, h) for h in HOSTS}
    rc, out = run(lab, "-e", "direct_route_restart_batch=1")
    assert rc == 0, out[-4000:]
    starts = {}
    for h in ("h1", "h3"):
        assert dockerd_pid(lab, h) != pids[h], f"{h} did not restart"
        assert container(lab, h, "xh-app") == apps[h], f"{h}: the container did not survive the restart"
        starts[h] = int(sh(lab, h, "cut -d' ' -f22 /proc/$(cat /var/run/docker.pid)/stat"))
    assert dockerd_pid(lab, "h2") == pids["h2"]
    ticks = os.sysconf("SC_CLK_TCK")
    # one after the other: the second dockerd started after the first one was up (a restart takes > 1 s)
    assert abs(starts["h1"] - starts["h3"]) / ticks >= 1.0, starts
    assert "3 hosts, 6 pairs, 0 broken" in out


def test_retiring_a_host_restores_it_and_touches_no_other(lab):
    record = lab.sh("h3", "cat /etc/crosshost-docker/direct_route.daemon.json", check=False)
    assert record.returncode == 0 and '"bridge": "172.17.0.1/16"' in record.stdout, \
        sh(lab, "h3", "ls -la /etc/crosshost-docker; cat /etc/docker/daemon.json") + record.stdout + record.stderr
    pids = {h: dockerd_pid(lab, h) for h in ("h1", "h2")}
    inv = host_vars_file(lab, "retire-h3.yml", {"h3": {"direct_route_state": "absent"}})
    # h3 runs a container on the default bridge with live-restore on: it would keep docker0's address
    before = {h: (daemon_json_text(lab, h), ours(lab, h)) for h in HOSTS}
    rc, out = run(lab, inventories=[inv])
    assert rc != 0 and "has live-restore on and containers on the default bridge (xh-app)" in out, out[-3000:]
    assert {h: (daemon_json_text(lab, h), ours(lab, h)) for h in HOSTS} == before
    assert {h: dockerd_pid(lab, h) for h in ("h1", "h2")} == pids
    lab.sh("h3", "docker rm -f xh-app >/dev/null")
    rc, out = run(lab, inventories=[inv])
    assert rc == 0, out[-4000:]
    assert router_routes(lab) == "10.0.0.0/24 192.168.1.11\n10.0.1.0/24 192.168.1.12"
    for h in ("h1", "h2"):
        assert dockerd_pid(lab, h) == pids[h]
        assert "10.0.2.0/24" not in sh(lab, h, "iptables-save")
    assert "2 hosts, 2 pairs, 0 broken" in out
    now = snapshot(lab, "h3")  # docker0 172.17.0.1/16 again, nothing of ours; live-restore was someone else's
    assert json.loads(now.pop("daemon_json")) == {"live-restore": True} and lab.snapshot["h3"]["daemon_json"] is None
    assert now == {k: v for k, v in lab.snapshot["h3"].items() if k != "daemon_json"}
    assert sh(lab, "h3", "docker info -f '{{.ServerVersion}}'")
    rc, out = run(lab, inventories=[inv])
    assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out[-3000:]


def test_undoing_the_scheme_gives_every_host_its_state_from_before(lab):
    inv = host_vars_file(lab, "absent-all.yml", {h: {"direct_route_state": "absent"} for h in HOSTS})
    lab.sh("h1", "docker rm -f xh-app >/dev/null")  # live-restore would keep it on docker0 (refused, see above)
    rc, out = run(lab, inventories=[inv])
    assert rc == 0, out[-4000:]
    for h in HOSTS:
        now = snapshot(lab, h)
        if h in ("h1", "h3"):  # live-restore was added by someone else meanwhile: kept, our keys gone
            assert json.loads(now.pop("daemon_json")) == {"live-restore": True}
            assert lab.snapshot[h]["daemon_json"] is None
            assert {k: v for k, v in lab.snapshot[h].items() if k != "daemon_json"} == now
        else:
            assert now == lab.snapshot[h], h
        assert sh(lab, h, "docker info -f '{{.ServerVersion}}'")
    assert lab.snapshot["h2"]["daemon_json"] == H2_ORIGINAL
    assert router_routes(lab) == lab.snapshot["rt"] == ""
    assert sh(lab, "rt", "ls -A /etc/crosshost-docker 2>/dev/null; ls /etc/systemd/system 2>/dev/null | grep crosshost; true") == ""
    rc, out = run(lab, inventories=[inv])
    assert rc == 0 and all(r["changed"] == 0 for r in recap(out).values()), out[-3000:]
