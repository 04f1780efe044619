"""A killed verify run leaves nothing that outlives the next run or `lab-down` (issue 11, probe hygiene).

Real 2-host lab (Docker 20.10 and 28), macvlan network on eth1 (pairs pass without any other scheme).
The crosshost.docker.verify role runs in ansible-playbook, in a process group of its own, and the
whole group gets SIGKILL once the probes exist:

- killed while the probes ping each other: the probe containers and their TCP servers (detached,
  children of PID 1, in the containers' network namespaces) are left, proven by the state files;
  the module with prune in check mode reports them and removes nothing; a plain rerun of the role
  passes, reports `changed` for removing them, and leaves no probe container, server, state file or
  process in the killed run's namespaces; the next rerun has nothing to remove;
- killed again, plus a process started with nsenter into a probe container's network namespace and
  reparented to PID 1: every process in one of the lab's namespaces (the hosts', the anchors' mount
  and UTS namespaces, the containers' network namespaces) is recorded by PID and start time, and none
  of them is left after `lab.down()`. A process of the test outside the lab is still there.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from labutil import REPO, ansible_home, collections_path, run_task

HOSTS = ["h1", "h2"]
LABEL = "crosshost.docker.connectivity"
NET = "ph_mac"
RUN_DIR = "run/crosshost-connectivity"  # inside each host (its private /run)


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("ph", hosts=2, engines="20.10 28")
    for index, host in enumerate(HOSTS):
        lab.sh(host, "docker network create -d macvlan -o parent=eth1 --subnet 192.168.2.0/24 --gateway 192.168.2.1 "
                     f"--ip-range 192.168.2.{64 + 16 * index}/28 {NET} >/dev/null")
    return lab


# --- processes, by PID and start time --------------------------------------------------------------

def stat(pid):
    """(state, start time) of a process, or None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[19])


def running(pid, starttime):
    """The same process (PID and start time) still runs (a zombie has ended)."""
    st = stat(pid)
    return st is not None and st[0] != "Z" and st[1] == starttime


def inode(pid, kind):
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except OSError:
        return None


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def in_netns(inodes):
    """{pid: (comm, start time)} of the processes in one of these network namespaces."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        st = stat(pid)
        if st and st[0] != "Z" and inode(pid, "net") in inodes:
            found[int(pid)] = (comm(pid), st[1])
    return found


# --- what the probes leave on a host ---------------------------------------------------------------

def state_files(lab, host):
    """{probe name: its state (pid, starttime, netns, ...)} from the host's /run/crosshost-connectivity."""
    root = f"/proc/{lab.pid(host)}/root/{RUN_DIR}"
    found = {}
    for entry in os.listdir(root) if os.path.isdir(root) else []:
        if entry.endswith(".json"):
            try:
                with open(os.path.join(root, entry)) as f:
                    found[entry[:-5]] = json.load(f)
            except (OSError, ValueError):
                continue  # being written or removed
    return found


def run_dir(lab, host):
    root = f"/proc/{lab.pid(host)}/root/{RUN_DIR}"
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def probe_containers(lab, host):
    out = lab.sh(host, f"docker ps -a --filter label={LABEL} --format '{{{{.Names}}}}'").stdout
    return sorted(out.split())


def live_servers(lab):
    """{host: {probe: (pid, starttime, netns)}} of servers whose state file is proven by the process itself."""
    found = {}
    for host in HOSTS:
        for probe, st in state_files(lab, host).items():
            if running(st["pid"], st["starttime"]) and inode(st["pid"], "net") == st["netns"]:
                found.setdefault(host, {})[probe] = (st["pid"], st["starttime"], st["netns"])
    return found


# --- ansible-playbook, killed or not ---------------------------------------------------------------

def ansible_env():
    """As labutil's Lab.ansible (nothing written into ~/.ansible), with the json callback."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOME=ansible_home(),
                ANSIBLE_REMOTE_TMP=os.path.join(ansible_home(), "remote-tmp"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_HOST_KEY_CHECKING="False")


def verify_playbook(lab):
    path = os.path.join(lab.dir, "ph-verify.yml")
    with open(path, "w") as f:
        yaml.safe_dump([{"name": "verify", "hosts": "docker_hosts", "gather_facts": False,
                         "roles": [{"role": "crosshost.docker.verify", "verify_image": "{{ lab_image }}",
                                    "verify_network": NET}]}], f)
    return path


def playbook_cmd(lab):
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", lab.inventory, verify_playbook(lab)]


def verify(lab):
    """A plain verify run: (returncode, {task name: {host: result}})."""
    proc = subprocess.run(playbook_cmd(lab), capture_output=True, text=True, env=ansible_env(), cwd=REPO,
                          timeout=600, check=False)
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise AssertionError(f"no json from ansible-playbook ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    tasks = {}
    for play in doc["plays"]:
        for t in play["tasks"]:
            tasks[t["task"]["name"].split(" : ")[-1]] = t["hosts"]  # without the role's prefix
    return proc.returncode, tasks, proc


START = "Start the probe (a container on the network, with a TCP server in its namespace)"


def kill_verify_when(lab, what, ready, timeout=180):
    """Start a verify run in a process group of its own; SIGKILL the whole group once `ready()` is true."""
    log = tempfile.NamedTemporaryFile("w+", dir=lab.dir, suffix=".log", delete=False)
    proc = subprocess.Popen(playbook_cmd(lab), stdout=log, stderr=subprocess.STDOUT, env=ansible_env(), cwd=REPO,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(f"the verify run ended ({proc.returncode}) before {what}:\n{log.read()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s")
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
        os.unlink(log.name)
    assert proc.returncode == -signal.SIGKILL, f"the verify run was not killed: rc {proc.returncode}"


def probing(lab):
    """True while a probe pings its peer: `ping` runs in the network namespace of a live probe server."""
    servers = live_servers(lab)
    if len(servers) < len(HOSTS):
        return False
    inodes = {netns for probes in servers.values() for _pid, _start, netns in probes.values()}
    return any(name == "ping" for name, _start in in_netns(inodes).values())


def probes_exist(lab):
    return len(live_servers(lab)) == len(HOSTS)


# --- the tests -------------------------------------------------------------------------------------

def test_a_rerun_removes_what_a_killed_run_left(lab):
    kill_verify_when(lab, "pings between the probes", lambda: probing(lab))
    left = live_servers(lab)
    containers = {host: probe_containers(lab, host) for host in HOSTS}
    for host in HOSTS:
        assert len(left.get(host, {})) == 1, f"{host}: the killed run left no probe server: {left}"
        probe, (pid, _start, _netns) = next(iter(left[host].items()))
        assert containers[host] == [probe], (host, containers[host], probe)
        assert comm(pid) == "crosshost-probe" and stat(pid) is not None
    # everything in the killed run's probe namespaces now (servers; pings, if any outlived the kill)
    in_killed = in_netns({netns for probes in left.values() for _pid, _start, netns in probes.values()})

    # check mode: the module reports what prune would remove, and removes nothing
    ok, result = run_task(lab, "h1", "crosshost.docker.connectivity",
                          {"name": "ph-check", "network": NET, "image": "local/probe:latest", "prune": True}, check=True)
    old = next(iter(left["h1"]))
    assert ok and result["changed"], result
    assert f"probe server (pid {left['h1'][old][0]}) of {old}" in result["pruned"]
    assert f"probe container {old}" in result["pruned"] and f"state files of {old}" in result["pruned"]
    assert live_servers(lab) == left and {h: probe_containers(lab, h) for h in HOSTS} == containers

    # a plain rerun passes, says it changed something (the leftovers), and leaves nothing of the killed run
    rc, tasks, proc = verify(lab)
    assert rc == 0, proc.stdout[-4000:]
    for host in HOSTS:
        start = tasks[START][host]
        probe, (pid, _start, _netns) = next(iter(left[host].items()))
        assert start["changed"] and f"probe server (pid {pid}) of {probe}" in start["pruned"], start
        assert f"probe container {probe}" in start["pruned"], start
        assert start["probe"]["name"] != probe
    for host in HOSTS:
        assert probe_containers(lab, host) == [], f"{host}: probe containers left"
        assert run_dir(lab, host) == [], f"{host}: state files left: {run_dir(lab, host)}"
        assert "crosshost-connectivity" not in lab.sh(host, "iptables-save").stdout
        for probe, (pid, start, _netns) in left[host].items():
            assert not running(pid, start), f"{host}: the killed run's server {pid} ({probe}) still runs"
    left_over = {pid: what for pid, what in in_killed.items() if running(pid, what[1])}
    assert left_over == {}, f"processes are left in the killed run's probe namespaces: {left_over}"

    # nothing left, so nothing to remove: the next run changes nothing
    rc, tasks, proc = verify(lab)
    assert rc == 0, proc.stdout[-4000:]
    for host in HOSTS:
        assert not tasks[START][host]["changed"] and tasks[START][host]["pruned"] == [], tasks[START][host]


def lab_processes(lab):
    """{pid: (comm, start time)} of every process in one of the lab's namespaces: the lab's network
    namespaces, the anchors' mount and UTS namespaces, and every container's network namespace."""
    nets = {os.stat(f"/run/netns/{ns}").st_ino for ns in os.listdir("/run/netns") if ns.startswith(lab.name + "-")}
    anchors = [lab.pid(h) for h in HOSTS + ["rt"]]
    mnts = {inode(pid, "mnt") for pid in anchors}
    utss = {inode(pid, "uts") for pid in anchors}
    for host in HOSTS:
        pids = lab.sh(host, "docker ps -q | xargs -r docker inspect -f '{{.State.Pid}}'").stdout.split()
        nets |= {inode(pid, "net") for pid in pids}
    own = {inode(os.getpid(), k) for k in ("net", "mnt", "uts")}
    assert not (nets | mnts | utss) & own, "a lab namespace is the test's own"
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        st = stat(pid)
        if st and st[0] != "Z" and (inode(pid, "net") in nets or inode(pid, "mnt") in mnts or inode(pid, "uts") in utss):
            found[int(pid)] = (comm(pid), st[1])
    return found


def orphan_in_netns(target):
    """`sleep` started with nsenter into the network namespace of process `target`, by a parent that then
    exits (it is reparented to PID 1, like a probe server): returns its PID."""
    helper = ("import subprocess, sys; p = subprocess.Popen(['nsenter', '-t', sys.argv[1], '-n', '--', 'sleep', '600'], "
              "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(p.pid)")
    out = subprocess.run([sys.executable, "-c", helper, str(target)], capture_output=True, text=True, check=True)
    pid = int(out.stdout)
    deadline = time.monotonic() + 10
    while comm(pid) != "sleep" and time.monotonic() < deadline:  # nsenter has not exec'd sleep yet
        time.sleep(0.02)
    return pid


def test_lab_down_ends_every_process_in_the_labs_namespaces(lab):
    kill_verify_when(lab, "probe servers on both hosts", lambda: probes_exist(lab))
    servers = live_servers(lab)
    assert len(servers) == 2
    container_pid = int(lab.sh("h2", "docker ps -q --filter label=%s | head -1 | xargs docker inspect -f "
                                     "'{{.State.Pid}}'" % LABEL).stdout.strip())
    orphan = orphan_in_netns(container_pid)
    orphan_start = stat(orphan)[1]
    outside = subprocess.Popen(["sleep", "600"], start_new_session=True)  # the test's own, not the lab's
    try:
        assert stat(orphan) and comm(orphan) == "sleep" and inode(orphan, "net") == inode(container_pid, "net")
        with open(f"/proc/{orphan}/stat") as f:
            assert f.read().rsplit(")", 1)[1].split()[1] != str(os.getpid())  # not our child
        before = lab_processes(lab)
        host_nets = {os.stat(f"/run/netns/{lab.name}-{h}").st_ino for h in HOSTS + ["rt", "ul"]}
        for probes in servers.values():
            for pid, start, netns in probes.values():
                # the case the old lab-down missed: a child of PID 1 in a container's namespace
                assert pid in before and before[pid][1] == start and netns not in host_nets
        assert orphan in before and outside.pid not in before
        assert len(before) >= 10, before  # anchors, dockerds, containerds, shims, containers, servers, ...
        lab.down()
        left = {pid: what for pid, what in before.items() if running(pid, what[1])}
        assert left == {}, f"processes of the lab survived lab-down: {left}"
        assert not os.path.exists(lab.dir)
        assert outside.poll() is None, "lab-down ended a process outside the lab"
    finally:
        outside.kill()
        outside.wait()
        if running(orphan, orphan_start):  # only when lab-down failed to end it
            os.kill(orphan, signal.SIGKILL)
