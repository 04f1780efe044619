"""LAB_OS=debian12: full Debian 12 lab hosts (systemd as PID 1, sshd, docker.service), booted by
systemd-nspawn in the lab's network namespaces and reached the way AWX reaches hosts: the ssh
connection as `ops` with become (sudo), through a ProxyCommand in the lab's underlay namespace.

One 2-host lab (Docker 20.10 and 28) for the module. The first run on a machine builds the cached
Debian root (debootstrap, about 70 s, and the Docker 28 layer); later runs boot from the cache in a
few seconds. Skipped, with the reason, where the machine cannot build or boot such hosts.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from labutil import LAB, Lab, run_task

TOOLS = {"systemd-nspawn": "systemd-container", "debootstrap": "debootstrap", "socat": "socat",
         "ssh": "openssh-client"}


def cannot_boot():
    if os.geteuid() != 0:
        return "full-OS lab hosts need root"
    missing = [f"{t} (package {p})" for t, p in TOOLS.items() if not shutil.which(t)]
    if missing:
        return "LAB_OS=debian12 hosts cannot be built here: missing " + ", ".join(missing) + \
               " (scripts/bootstrap.sh installs them)"
    if not os.path.exists("/proc/self/ns/pid"):
        return "no PID namespaces in this kernel: systemd-nspawn cannot boot a host"
    return None


REASON = cannot_boot()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


class DebianLab(Lab):
    def __init__(self, suffix, hosts=2, engines="20.10 28"):
        super().__init__(suffix, hosts, engines)
        self.env["LAB_OS"] = "debian12"

    def host(self, name):
        return self.state["hosts"][name]

    def ssh(self, name, command, check=True, timeout=60):
        """Run `command` on host `name` over SSH as ops, the way the inventory tells Ansible to."""
        d = self.dir
        proxy = f"ip netns exec {self.name}-ul socat - TCP:%h:%p"
        cmd = ["ssh", "-i", os.path.join(d, "ssh", "id_ed25519"), "-o", f"ProxyCommand={proxy}",
               "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={os.path.join(d, 'ssh', 'known_hosts')}",
               "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
               f"ops@{self.host(name)['address']}", command]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {name} `{command}` failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def reboot(self, hosts):
        env = dict(self.env, HOST=hosts)
        proc = subprocess.run([sys.executable, LAB, "reboot"], env=env, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, f"lab.py reboot HOST={hosts} failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout


def lab_traces(lab):
    """What of the lab runs or is mounted: (pid, start) of processes in its network namespaces or
    below its nspawn processes, mount lines naming its directory (any process), its namespaces."""
    inodes = set()
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        if name.startswith(lab.name + "-"):
            inodes.add(os.stat(os.path.join("/run/netns", name)).st_ino)
    procs, mounts = set(), set()
    nspawns = {h.get("nspawn_pid") for h in lab.state["hosts"].values()} if os.path.exists(
        os.path.join(lab.dir, "state.json")) else set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                start = f.read().rsplit(")", 1)[1].split()[19]
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes or int(pid) in nspawns:
                procs.add((int(pid), start))
            with open(f"/proc/{pid}/mountinfo") as f:
                mounts |= {line.split()[4] for line in f if lab.dir in line}
        except OSError:
            continue
    namespaces = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    return procs, mounts, [n for n in namespaces if n.startswith(lab.name + "-")]


def alive(processes):
    found = set()
    for pid, start in processes:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[19] == start:
                    found.add(pid)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def deb():
    lab = DebianLab("deb", hosts=2, engines="20.10 28")
    t0 = time.time()
    try:
        lab.up()
        print(f"\ndebian12 lab up in {time.time() - t0:.1f} s (first run on a machine builds the cache)")
        yield lab
    finally:
        lab.down()


def test_hosts_boot_systemd_and_docker_service(deb):
    for name, engine in (("h1", "20.10."), ("h2", "28.")):
        out = deb.ssh(name, "hostname; id -un; systemctl is-system-running; sudo -n docker info --format "
                            "'{{.ServerVersion}}'; systemctl is-active docker.service crosshost-lab-cgroups.service")
        lines = out.stdout.split()
        assert lines[0] == name and lines[1] == "ops", out.stdout
        failed = deb.ssh(name, "systemctl --failed --plain --no-legend", check=False).stdout
        assert lines[2] == "running", f"{name}: systemctl is-system-running = {lines[2]}; failed units:\n{failed}"
        assert lines[3].startswith(engine), f"{name}: docker info says {lines[3]}, want {engine}"
        assert lines[4:] == ["active", "active"], out.stdout
        # Containers run (the lab's cgroup unit made the v1 controllers writable at boot).
        run = deb.ssh(name, "sudo -n docker run --rm local/probe:latest ip -4 -o addr show eth0")
        assert "172.17." in run.stdout


def test_ansible_over_ssh_as_ops_with_become(deb):
    proc = deb.ansible("ansible", "docker_hosts", "-m", "ansible.builtin.setup", "-a", "filter=ansible_service_mgr")
    assert proc.stdout.count('"ansible_service_mgr": "systemd"') == 2, proc.stdout
    proc = deb.ansible("ansible", "docker_hosts", "-m", "ansible.builtin.command", "-a", "id -un")
    assert proc.stdout.count("root") >= 2, f"become did not make the tasks root:\n{proc.stdout}"
    for name, engine in (("h1", "20.10."), ("h2", "28.")):
        ok, result = run_task(deb, name, "crosshost.docker.docker_host_info", {"gather": ["engine"]})
        assert ok, result
        assert result["host_info"]["engine"]["version"].startswith(engine), result["host_info"]["engine"]
    # systemd restarts dockerd through Ansible's systemd_service module, over sudo.
    pid_before = deb.ssh("h2", "systemctl show -p MainPID --value docker.service").stdout.strip()
    ok, result = run_task(deb, "h2", "ansible.builtin.systemd_service", {"name": "docker", "state": "restarted"})
    assert ok and result.get("changed"), result
    pid_after = deb.ssh("h2", "systemctl show -p MainPID --value docker.service").stdout.strip()
    assert pid_after not in ("0", pid_before), (pid_before, pid_after)


def test_reboot_keeps_the_disk_and_docker_comes_back(deb):
    deb.ssh("h2", "echo written-before-reboot | sudo -n tee /var/lib/crosshost-marker >/dev/null && "
                  "sudo -n docker run -d --init --restart=always --name survivor local/probe:latest sleep 100000 && "
                  "sudo -n ip route add 10.99.0.0/16 via 192.168.1.1")
    old = deb.host("h2")
    h1_pid = deb.host("h1")["pid"]
    t0 = time.time()
    out = deb.reboot("h2")
    took = time.time() - t0
    print(f"\nreboot of h2: {took:.1f} s: {out.strip()}")
    new = deb.host("h2")
    assert new["pid"] != old["pid"] and new["nspawn_pid"] != old["nspawn_pid"], "h2 was not booted again"
    assert deb.host("h1")["pid"] == h1_pid, "rebooting h2 touched h1"
    assert re.search(r"h2: powered off in [\d.]+ s, booted to '(running|degraded)'", out), out
    assert deb.ssh("h2", "cat /var/lib/crosshost-marker").stdout.strip() == "written-before-reboot"
    assert deb.ssh("h2", "systemctl is-system-running").stdout.strip() == "running"
    deadline = time.time() + 30
    while True:
        names = deb.ssh("h2", "sudo -n docker ps --format '{{.Names}}'").stdout.split()
        if "survivor" in names or time.time() > deadline:
            break
        time.sleep(0.5)
    assert "survivor" in names, "docker did not restart the restart=always container after the reboot"
    # A reboot loses what was only set at run time.
    assert "10.99.0.0/16" not in deb.ssh("h2", "ip route").stdout
    # The inventory follows the new PIDs, and Ansible reaches the rebooted host again.
    inv = open(deb.inventory).read()
    assert f"ansible_nsenter_pid: {new['pid']}" in inv
    ok, result = run_task(deb, "h2", "crosshost.docker.docker_host_info", {"gather": ["engine"]})
    assert ok and result["host_info"]["engine"]["version"].startswith("28."), result


def test_router_reboot_forgets_runtime_routes(deb):
    rt = deb.state["router"]["pid"]

    def rt_sh(cmd):
        return subprocess.run(["nsenter", "-t", str(rt), "-n", "--", "sh", "-c", cmd], capture_output=True,
                              text=True, check=True).stdout

    rt_sh("ip route add 10.98.0.0/16 via 192.168.1.11")
    out = deb.reboot("rt")
    assert "rt: router namespace reset" in out
    routes = rt_sh("ip route")
    assert "10.98.0.0/16" not in routes and "192.168.1.0/24 dev eth0" in routes, routes
    assert rt_sh("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
    # The hosts reach each other and the router again (through the router's address on eth0).
    assert deb.ssh("h1", "ping -c1 -W2 192.168.1.1 >/dev/null && ping -c1 -W2 192.168.1.12 >/dev/null && echo ok"
                   ).stdout.strip() == "ok"


def test_lab_down_leaves_no_process_mount_or_namespace(deb):
    procs, mounts, namespaces = lab_traces(deb)
    assert len(procs) >= 10 and namespaces, (procs, namespaces)  # 2 x (nspawn, systemd, sshd, dockerd, ...)
    state = json.dumps(deb.state)
    t0 = time.time()
    deb.down()
    print(f"\ndebian12 lab-down: {time.time() - t0:.1f} s")
    assert not alive(procs), f"processes of the lab survived lab-down: {alive(procs)}"
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/mountinfo") as f:
                found |= {line.split()[4] for line in f if deb.dir in line}
        except OSError:
            continue
    assert not found, f"mounts of the lab are left: {found}"
    assert not [n for n in os.listdir("/run/netns") if n.startswith(deb.name + "-")]
    assert not os.path.exists(deb.dir)
    propagate = "/run/systemd/nspawn/propagate"
    left = [d for d in os.listdir(propagate) if d.startswith(f"crosshost-{deb.name}-")] \
        if os.path.isdir(propagate) else []
    assert not left, f"systemd-nspawn left {left} in {propagate}"
    cgroups = [os.path.join(root, d) for root in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
               if os.path.isdir(root) for d in os.listdir(root) if d.startswith(f"crosshost-{deb.name}-")]
    assert not cgroups, f"the hosts' cgroups are left: {cgroups}"
    assert "nspawn_pid" in state
