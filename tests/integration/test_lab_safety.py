"""The lab never changes the machine it runs on, and `lab-down` leaves nothing behind.

Real lab, real kernel: records the machine's own links, addresses, routes, iptables rules (all
tables), sysctls, mounts, /etc/docker, /var/lib/docker and the files a host writes (/etc/hosts,
/etc/hostname, /etc/init.d/docker, /etc/default/docker, /etc/sysctl.d) before `lab-up` and after
`lab-down`, and asserts they are identical. In between, it makes the lab hosts do what would leak if
the isolation were wrong: write daemon.json and sysctl.d files, change iptables, start containers.
"""
import hashlib
import os
import shutil
import subprocess

import pytest

from labutil import Lab

WATCHED_PATHS = ["/etc/docker", "/var/lib/docker", "/etc/hosts", "/etc/hostname", "/etc/init.d/docker",
                 "/etc/default/docker", "/etc/sysctl.d", "/etc/sysctl.conf", "/etc/systemd/network",
                 "/etc/network/interfaces.d"]


def out(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def tree(path):
    """Every file below `path` with its mode and content hash; None if absent."""
    if not os.path.lexists(path):
        return None
    if os.path.isfile(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    found = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            found[p] = (oct(st.st_mode), digest)
    return found


def mounts(own_prefix):
    """Mount point, type and source (mount ids differ between runs and say nothing). Other labs'
    namespace handles (/run/netns/<other>-*) are left out: labs of other names may come and go
    while this test runs (a user's demo lab, a parallel test run); this lab's are kept."""
    rows = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4]
            if point.startswith("/run/netns/") and not point.startswith("/run/netns/" + own_prefix):
                continue
            rows.add((point, *right.split()[:2]))
    return rows


def lab_processes(lab):
    """(pid, start time) of every process in one of the lab's network namespaces: anchors, dockerd,
    containerd, shims, containers' parents."""
    inodes = set()
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        if name.startswith(lab.name + "-"):
            inodes.add(os.stat(os.path.join("/run/netns", name)).st_ino)
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                with open(f"/proc/{pid}/stat") as f:
                    found.add((int(pid), f.read().rsplit(")", 1)[1].split()[19]))
        except OSError:
            continue
    return found


def still_running(processes):
    alive = set()
    for pid, start in processes:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[19] == start:
                    alive.add(pid)
        except OSError:
            continue
    return alive


def snapshot(lab):
    return {
        "links": out("ip", "-d", "link", "show"),
        "addresses": out("ip", "addr", "show"),
        "routes": out("ip", "route", "show", "table", "all"),
        "rules": out("ip", "rule", "show"),
        "iptables": [line for line in out("iptables-save").splitlines() if not line.startswith("#")],
        "ip6tables": [line for line in out("ip6tables-save").splitlines() if not line.startswith("#")],
        "sysctl": {k: open(f"/proc/sys/{k}").read() for k in
                   ("net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/bridge/bridge-nf-call-iptables")
                   if os.path.exists(f"/proc/sys/{k}")},
        "mounts": mounts(lab.name + "-"),
        "files": {p: tree(p) for p in WATCHED_PATHS},
    }


def assert_dns_stays_in_the_lab(lab, host):
    """The host and its containers name only the lab's router as their resolver (never the machine's),
    and a lookup fails there (nothing answers DNS in the lab) instead of leaving the lab."""
    for where, cmd in ((host, "cat /etc/resolv.conf"), (f"{host}'s container", "docker exec leak cat /etc/resolv.conf")):
        text = lab.sh(host, cmd).stdout
        servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver")]
        assert servers == ["192.168.1.1"], f"{where} resolves through {servers}:\n{text}"
    assert lab.sh(host, "getent hosts deb.debian.org", check=False).returncode != 0


def test_lab_up_and_down_leave_the_machine_unchanged():
    lab = Lab("sf", hosts=2, engines="20.10 28")
    before = snapshot(lab)
    try:
        lab.up()
        # Lab-up twice is harmless: same hosts, same anchors.
        pids = {h: lab.pid(h) for h in ("h1", "h2", "rt")}
        second = lab.lab("up")
        assert "already up" in second.stderr
        assert {h: lab.pid(h) for h in ("h1", "h2", "rt")} == pids

        status = lab.lab("status").stdout
        assert "20.10." in status and " 28." in status, status

        # Make each host write where a leak would show on the machine.
        for host in ("h1", "h2"):
            lab.sh(host, """
                echo '{"bip": "10.77.0.1/24"}' > /etc/docker/daemon.json
                mkdir -p /etc/sysctl.d && echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-leak-test.conf
                echo 10.9.9.9 leak >> /etc/hosts
                iptables -I DOCKER-USER -s 10.1.0.0/24 -j ACCEPT
                docker run -d --init --name leak local/probe sleep 600 >/dev/null
            """)
            assert lab.sh(host, "cat /etc/docker/daemon.json").stdout.strip() == '{"bip": "10.77.0.1/24"}'
            assert lab.sh(host, "hostname").stdout.strip() == host
            assert_dns_stays_in_the_lab(lab, host)
        # The router namespace has no way off the machine: no default route.
        assert "default" not in lab.sh("rt", "ip route show").stdout
        during = snapshot(lab)
        processes = lab_processes(lab)
        assert len(processes) >= 6, processes  # 3 anchors, 2 dockerd, containerd, shims, ...
        assert during["files"] == before["files"], "a lab host wrote into the machine's own files"
        assert during["iptables"] == before["iptables"], "a lab host changed the machine's iptables"
        assert during["links"] == before["links"] and during["routes"] == before["routes"]
    finally:
        lab.down()
    after = snapshot(lab)
    assert not still_running(processes), "processes of the lab survived lab-down"
    assert not os.path.exists(lab.dir)
    assert lab.name + "-" not in out("ip", "netns", "list")
    for key in before:
        assert after[key] == before[key], f"{key} differs after lab-down"


@pytest.mark.skipif(not all(shutil.which(t) for t in ("systemd-nspawn", "debootstrap", "socat")),
                    reason="LAB_OS=debian12 needs systemd-nspawn, debootstrap and socat (scripts/bootstrap.sh)")
def test_debian_lab_up_and_down_leave_the_machine_unchanged():
    """The same for LAB_OS=debian12 (systemd-nspawn hosts): root in a host writes daemon.json, sysctl.d,
    /etc/hosts, iptables, tries a global kernel setting, restarts docker through systemd; the machine sees
    none of it, and lab-down leaves no mount (the hosts' overlays live in private mount namespaces)."""
    lab = Lab("sfd", hosts=1, engines="28")
    lab.env["LAB_OS"] = "debian12"
    before = snapshot(lab)
    pid_max = open("/proc/sys/kernel/pid_max").read()
    try:
        lab.up()
        lab.sh("h1", """
            echo '{"bip": "10.77.0.1/24"}' > /etc/docker/daemon.json
            echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-leak-test.conf
            echo 10.9.9.9 leak >> /etc/hosts
            iptables -I INPUT -s 10.1.0.0/24 -j ACCEPT
            systemctl restart docker
            docker run -d --init --name leak local/probe sleep 600 >/dev/null
            ! sysctl -q -w kernel.pid_max=32769 2>/dev/null
            systemctl restart systemd-sysctl
        """)
        assert lab.sh("h1", "ip -4 -o addr show docker0").stdout.split()[3] == "10.77.0.1/24"
        assert_dns_stays_in_the_lab(lab, "h1")
        during = snapshot(lab)
        assert during["files"] == before["files"], "a lab host wrote into the machine's own files"
        assert during["iptables"] == before["iptables"], "a lab host changed the machine's iptables"
        assert during["links"] == before["links"] and during["routes"] == before["routes"]
        assert during["mounts"] - before["mounts"] <= {r for r in during["mounts"] if r[0].startswith("/run/netns/")}
        assert open("/proc/sys/kernel/pid_max").read() == pid_max
    finally:
        lab.down()
    after = snapshot(lab)
    assert not os.path.exists(lab.dir)
    assert lab.name + "-" not in out("ip", "netns", "list")
    for key in before:
        assert after[key] == before[key], f"{key} differs after lab-down"


def test_lab_rejects_bad_settings_before_building_anything():
    lab = Lab("bad", hosts=2, engines="19.03")
    proc = lab.lab("up", check=False)
    assert proc.returncode == 1
    assert "LAB_ENGINES entry '19.03' is not supported" in proc.stderr
    assert lab.name + "-" not in out("ip", "netns", "list")
    assert not os.path.exists(lab.dir)
    lab = Lab("bad2", hosts=0)
    proc = lab.lab("up", check=False)
    assert proc.returncode == 1 and "LAB_HOSTS=0" in proc.stderr


def test_ansible_through_the_lab_writes_nothing_into_home(lab_factory, tmp_path):
    """Tests must write nothing into the user's ~/.ansible: no collection copy (one there shadows the
    user's own install later), no tmp, no galaxy cache. A playbook run the way the tests run them
    (labutil: ANSIBLE_HOME under .cache/, the lab inventory's ansible_remote_tmp in the lab's own
    directory), with HOME a fresh directory: nothing may appear in it. The real user's collection
    path must not gain a crosshost copy either."""
    user_copy = os.path.expanduser("~/.ansible/collections/ansible_collections/crosshost")
    had_user_copy = os.path.exists(user_copy)
    lab = lab_factory("sh", hosts=1, engines="20.10")
    home = tmp_path / "home"
    home.mkdir()
    proc = lab.ansible("ansible-playbook", "playbooks/host_info.yml", extra_env={"HOME": str(home)})
    assert "20.10." in proc.stdout
    assert sorted(p.name for p in home.iterdir()) == [], "ansible-playbook wrote into HOME"
    assert os.path.isdir(os.path.join(lab.dir, "tmp")), "the hosts' remote temp files are not in the lab's directory"
    if not had_user_copy:
        assert not os.path.exists(user_copy), "a test installed crosshost into ~/.ansible/collections"
