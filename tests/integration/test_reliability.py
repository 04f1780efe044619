"""Interrupted runs, a bad host among good ones, and plan errors: the direct_route role on three real
lab hosts (Docker 20.10, 26, 28) with the lab's VPC router.

* A run killed after daemon.json is written and before dockerd restarts (no handler left to run)
  converges on a plain rerun, because the role compares the running daemon with daemon.json
  (crosshost.docker.docker_daemon state=applied). A third run changes nothing.
* A run killed while the verify role's probes run: the rerun converges with an all-ok matrix.
* A daemon.json that is not JSON (seed 004's own file, with `#` comments) on one host of three:
  the run stops before any host changes; every host is byte-identical and dockerd was not restarted.

Runs are killed at an exact point by tests/integration/callback_plugins/kill_at.py (SIGKILL to the
ansible-playbook process group when a named task starts).
"""
import json
import os
import re
import subprocess
import sys

import pytest

from labutil import REPO, SEED_004_DAEMON_JSON, ansible_home, collections_path, recap

HOSTS = ["h1", "h2", "h3"]
PLAYBOOK = "playbooks/direct_route.yml"


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("rl", hosts=3, engines="20.10 26 28")


def run(lab, *extra, kill_at=None):
    """ansible-playbook in a session of its own (so a kill ends only that run). Returns (rc, stdout)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOME=ansible_home(),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_DEPRECATION_WARNINGS="False",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(REPO, "tests", "integration", "callback_plugins"))
    log = os.path.join(lab.dir, "kill.log")
    if kill_at:
        env.update(CROSSHOST_KILL_AT=kill_at, CROSSHOST_KILL_LOG=log, ANSIBLE_CALLBACKS_ENABLED="kill_at")
        if os.path.exists(log):
            os.unlink(log)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", lab.inventory,
                           PLAYBOOK, *extra], capture_output=True, text=True, env=env, cwd=REPO, timeout=900,
                          start_new_session=True, check=False)
    if kill_at:
        assert proc.returncode == -9, f"the run was not killed at {kill_at!r} (rc={proc.returncode}):\n{proc.stdout[-3000:]}"
        with open(log) as f:
            assert kill_at in f.read()
    return proc.returncode, proc.stdout


def changed_tasks(stdout):
    """[(task, host)] that reported changed, for messages."""
    out, current = [], None
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            current = line[6:].split("]", 1)[0]
        elif line.startswith("changed: ["):
            out.append((current, line[10:].split("]", 1)[0]))
    return out


def docker0(lab, host):
    return lab.sh(host, "ip -4 -o addr show docker0 | awk '{print $4}'").stdout.strip()


def daemon_json(lab, host):
    return json.loads(lab.sh(host, "cat /etc/docker/daemon.json").stdout)


def dockerd_pid(lab, host):
    return lab.sh(host, "cat /var/run/docker.pid").stdout.strip()


def snapshot(lab):
    """Every host's files, dockerd PID, iptables and routes, and the router's routes."""
    state = {}
    for host in HOSTS:
        state[host] = lab.sh(host, "cat /etc/docker/daemon.json 2>/dev/null; echo; cat /var/run/docker.pid; "
                                   "ls /etc/docker /etc/sysctl.d /etc/crosshost-docker 2>/dev/null; "
                                   "iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'; "
                                   "ip route | sed 's/ linkdown//'; "  # a bridge's carrier follows its containers
                                   "sysctl -n net.ipv4.ip_forward").stdout
    state["rt"] = lab.sh("rt", "ip route show").stdout
    return state


def assert_all_ok(stdout):
    assert re.search(r"3 hosts, 6 pairs, 0 broken", stdout), stdout[-4000:]


def test_killed_between_daemon_json_and_restart_converges_on_rerun(lab):
    pool = "10.20.0.0/16"
    rc, out = run(lab, "-e", f"direct_route_pool={pool}", kill_at="Make the running dockerd use daemon.json")
    # The kill came in the window: daemon.json already has the new bip, docker0 still the old one.
    for host in HOSTS:
        bip = daemon_json(lab, host)["bip"]
        assert bip.startswith("10.20."), f"{host}: daemon.json was not written before the kill: {bip}"
        assert docker0(lab, host) != bip, f"{host}: dockerd was restarted before the kill"
    rc, out = run(lab, "-v", "-e", f"direct_route_pool={pool}")
    assert rc == 0, out[-6000:]
    assert "it was pending because bip is 10.20." in out, "the rerun did not say why it restarted"
    assert_all_ok(out)
    for host in HOSTS:
        assert docker0(lab, host) == daemon_json(lab, host)["bip"]
    pids = {h: dockerd_pid(lab, h) for h in HOSTS}
    rc, out = run(lab, "-e", f"direct_route_pool={pool}")
    assert rc == 0, out[-6000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), changed_tasks(out)
    assert {h: dockerd_pid(lab, h) for h in HOSTS} == pids, "the third run restarted dockerd"


def test_killed_during_verify_converges_on_rerun(lab):
    pool = "10.20.0.0/16"
    run(lab, "-e", f"direct_route_pool={pool}", kill_at="Test every peer")
    rc, out = run(lab, "-e", f"direct_route_pool={pool}")
    assert rc == 0, out[-6000:]
    assert_all_ok(out)
    rc, out = run(lab, "-e", f"direct_route_pool={pool}")
    assert rc == 0, out[-6000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), changed_tasks(out)


def set_bip(lab, host, bip, restart):
    """Write bip into daemon.json, restarting dockerd or not (by hand, as an operator would)."""
    lab.sh(host, "python3 -c \"import json; p='/etc/docker/daemon.json'; d=json.load(open(p)); "
                 f"d['bip']='{bip}'; json.dump(d, open(p, 'w'))\"" + (" && /etc/init.d/docker restart >/dev/null" if restart else ""))


def test_daemon_json_set_by_hand_and_not_applied_is_named_by_verify_and_applied_by_the_role(lab):
    """The issue's reproduction: bip written to daemon.json on two hosts still on Docker's default
    bridge, dockerd not restarted. The verify role names the cause ("daemon.json is not applied"),
    and the direct_route role restarts them and converges."""
    for host in ("h1", "h2"):  # Docker's default bridge, as on a fresh host (dockerd keeps a bridge's address)
        set_bip(lab, host, "172.17.0.1/16", restart=True)
        assert docker0(lab, host) == "172.17.0.1/16"
    for host, bip in (("h1", "10.30.1.1/24"), ("h2", "10.30.2.1/24")):
        set_bip(lab, host, bip, restart=False)
    proc = lab.ansible("ansible-playbook", "tests/integration/playbooks/verify_bridge.yml", check=False)
    assert proc.returncode != 0
    assert "same probe address 172.17.0." in proc.stdout, proc.stdout[-4000:]
    assert "daemon.json is not applied on h1 (bip is 10.30.1.1/24 in daemon.json, but docker0 has 172.17.0.1/16" \
        in proc.stdout, proc.stdout[-4000:]
    rc, out = run(lab, "-e", "direct_route_pool=10.30.0.0/16")
    assert rc == 0, out[-6000:]
    assert_all_ok(out)
    assert docker0(lab, "h1") == "10.30.1.1/24" and docker0(lab, "h2") == "10.30.2.1/24"


def test_bad_daemon_json_on_one_host_stops_every_host_before_any_change(lab):
    lab.sh("h2", f"cat > /etc/docker/daemon.json <<'EOF'\n{SEED_004_DAEMON_JSON}EOF")
    try:
        before = snapshot(lab)
        rc, out = run(lab, "-e", "direct_route_pool=10.40.0.0/16")
        assert rc != 0
        fatal = re.findall(r"^fatal: \[(\S+)\]: FAILED! => (.*)$", out, re.M)
        assert [host for host, _msg in fatal] == ["h2"], out[-4000:]
        assert "/etc/docker/daemon.json" in fatal[0][1] and re.search(r"line \d+", fatal[0][1]), fatal[0][1]
        assert "Give this host its container subnet" not in out, "the run went on to the change phase"
        assert snapshot(lab) == before, "a host changed although one host's daemon.json could not be read"
    finally:
        lab.sh("h2", "rm -f /etc/docker/daemon.json")
