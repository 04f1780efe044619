"""LAB_OS=debian12: lab hosts that are whole Debian 12 systems, booted by systemd-nspawn.

Each host h<N> is a Debian 12 root file system with systemd as PID 1, sshd, a user `ops` with
passwordless sudo, and Docker run by docker.service, booted by systemd-nspawn inside the lab's
network namespace <name>-h<N> (same addresses, eth0/eth1 veths, router and underlay as the
namespace hosts). Ansible reaches it over SSH as ops with become, through a ProxyCommand that
enters the lab's underlay namespace: the machine's own namespaces never carry lab traffic.

File systems (nothing here touches the machine's own /etc or /var/lib/docker):
    <cache>/debian12/base        debootstrap of bookworm (once per machine) + lab settings + the
                                 Python libraries the modules need (pip --target /usr/local)
    <cache>/debian12/engine-26   overlay layers over base with trixie's / sid's docker.io and
    <cache>/debian12/engine-28   containerd installed by dpkg (built once, offline, in a chroot)
    .lab/<name>/nodes/hN/upper   the host's writable layer (kept across reboots)
    .lab/<name>/nodes/hN/docker  /var/lib/docker (a plain directory: overlay2 cannot sit on overlayfs)
    .lab/<name>/nodes/hN/console.log   the console of every boot
The overlay is mounted inside a private mount namespace made for the nspawn process only, so it
disappears with it: nothing of a host stays mounted on the machine once it is powered off.

A boot re-creates the host's network namespace (veths with the same MAC addresses, the address on
eth0 and the default route via the router, as DHCP would give them): what the host itself set up at
run time (routes, iptables, sysctls, links, docker0) is gone after a reboot, as on a real machine.
"""
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time

import lab as L  # lab.py, registered under this name by lab.py itself

SUITE = "bookworm"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "iproute2", "iptables", "openssh-server", "sudo", "python3",
            "docker.io", "procps", "iputils-ping", "netbase", "unzip")
PIP_NAMES = ("docker", "pyroute2", "netaddr")  # what the modules import on a managed host (requirements.txt)
RECIPE_VERSION = "4"  # bump when the base's customisation below changes
OPS = "ops"
BOOT_TIMEOUT = 120
POWEROFF_TIMEOUT = 30
NSPAWN_MACHINE_PREFIX = "crosshost"
CONTROL_IP = L.UNDERLAY.broadcast_address - 1  # 192.168.1.254, on br0 in the underlay namespace

CGROUP_UNIT = """\
[Unit]
Description=crosshost lab: writable cgroup v1 controllers for Docker (nspawn mounts them read-only)
DefaultDependencies=no
Before=sysinit.target containerd.service docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/crosshost-lab-cgroups

[Install]
WantedBy=sysinit.target
"""

# Run at every boot, before containerd and docker. On cgroup v2 (unified) machines nspawn delegates a
# writable subtree itself and this does nothing. On cgroup v1 (hybrid) nspawn bind-mounts the v1
# controllers read-only, and runc fails with `mkdir /sys/fs/cgroup/cpuset/docker/...: read-only file
# system`. A plain remount is refused, but a bind remount (which changes only this mount point's
# read-only flag, in the host's own mount namespace) works, and leaves systemd's own name=systemd and
# unified hierarchies alone: no other unit of the boot sees a change (moving those aside, as a tmpfs
# over /sys/fs/cgroup would need, made units that started meanwhile fail with status=219/CGROUP).
CGROUP_SCRIPT = """\
#!/bin/sh
set -eu
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && exit 0
for c in $(awk '{ for (i = 7; $i != "-"; i++) ; if ($(i + 1) == "cgroup" && $5 != "/sys/fs/cgroup/systemd") print $5 }' \\
           /proc/self/mountinfo); do
  mount -o remount,bind,rw "$c"
done
"""

# nspawn runs with SYSTEMD_NSPAWN_API_VFS_WRITABLE=network: /proc/sys is read-only except /proc/sys/net,
# so that nothing in a host (systemd-sysctl at boot, a role, a user) changes the machine's own global
# kernel settings, while the host's network settings (its own namespace) stay writable. systemd-sysctl
# would then skip itself (ConditionPathIsReadWrite=/proc/sys/); it runs, as on a real host, when the part
# it can write is writable: sysctl.d files apply their net.* keys at every boot, and the other keys are
# refused read-only, which systemd-sysctl logs and tolerates.
SYSCTL_DROPIN = """\
[Unit]
ConditionPathIsReadWrite=
ConditionPathIsReadWrite=/proc/sys/net/
"""

SSHD_CONFIG = """\
# crosshost lab: one host key per host (made by lab.py), keys only.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""


def log(msg):
    L.log(msg)


# ---------------------------------------------------------------------------------------------
# Can this machine boot them?


def machine_has_systemd():
    """True when the machine itself runs systemd as PID 1 (the usual Debian 12 install)."""
    try:
        with open("/proc/1/comm") as f:
            comm = f.read().strip()
    except OSError:
        comm = ""
    return comm == "systemd" and os.path.isdir("/run/systemd/system")


def cgroup_mode():
    """'unified' (cgroup v2 only), 'hybrid' or 'legacy' (cgroup v1 controllers)."""
    with open("/proc/self/mountinfo") as f:
        mounts = {line.split()[4]: line.split(" - ", 1)[1].split()[0] for line in f}
    top = mounts.get("/sys/fs/cgroup")
    if top == "cgroup2":
        return "unified"
    return "hybrid" if mounts.get("/sys/fs/cgroup/unified") == "cgroup2" else "legacy"


def nspawn_flags():
    """How systemd-nspawn must be started on this machine (LAB-NOTES, "Full Debian hosts")."""
    flags = ["--register=no", "--capability=all", "--system-call-filter=add_key keyctl bpf", "--quiet",
             "--resolv-conf=off"]
    if not machine_has_systemd():
        # No systemd of the machine's own to ask for a scope: stay in the caller's cgroup.
        flags.append("--keep-unit")
    return flags


def preflight(cfg):
    """Why this machine cannot build or boot full-OS hosts (LabError), before anything is made."""
    needed = {"systemd-nspawn": "systemd-container", "debootstrap": "debootstrap", "socat": "socat",
              "ssh": "openssh-client", "ssh-keygen": "openssh-client", "chroot": "coreutils"}
    missing = [f"{tool} (package {pkg})" for tool, pkg in needed.items() if not shutil.which(tool)]
    if missing:
        raise L.LabError("LAB_OS=debian12 needs " + ", ".join(missing) + ": run scripts/bootstrap.sh, or use the "
                         "namespace hosts (LAB_OS=ns)")
    if not os.path.exists("/proc/self/ns/pid"):
        raise L.LabError("LAB_OS=debian12: this kernel has no PID namespaces; use the namespace hosts (LAB_OS=ns)")
    if cgroup_mode() != "unified" and not os.path.isdir("/sys/fs/cgroup/systemd"):
        raise L.LabError("LAB_OS=debian12: cgroup v1 without a name=systemd hierarchy at /sys/fs/cgroup/systemd: "
                         "systemd-nspawn cannot boot a systemd container here; use the namespace hosts (LAB_OS=ns)")


# ---------------------------------------------------------------------------------------------
# Root file systems in the cache


def cache_dir(cfg):
    return os.path.join(cfg.cache, "debian12")


def apt_mirror():
    """The Debian mirror of this machine's own apt sources (no host name is written in the lab)."""
    paths = []
    for d in ("/etc/apt/sources.list.d",):
        if os.path.isdir(d):
            paths += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".sources"))
    for path in paths:
        for stanza in open(path).read().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith((" ", "\t", "#")):
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
            if "deb" in fields.get("types", "").split() and SUITE in fields.get("suites", "").split() \
                    and fields.get("enabled", "yes").lower() != "no" and fields.get("uris"):
                return fields["uris"].split()[0]
    lists = ["/etc/apt/sources.list"]
    if os.path.isdir("/etc/apt/sources.list.d"):
        lists += sorted(os.path.join("/etc/apt/sources.list.d", f) for f in os.listdir("/etc/apt/sources.list.d")
                        if f.endswith(".list"))
    for path in lists:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and m.group(2) == SUITE:
                return m.group(1)
    raise L.LabError(f"no Debian mirror for {SUITE} in this machine's apt sources (/etc/apt): debootstrap needs one")


def pip_requirements():
    """The lines of requirements.txt for the libraries the modules import on a managed host."""
    wanted = []
    with open(os.path.join(L.REPO, "requirements.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            name = re.split(r"[<>=!~\[ ]", line, 1)[0].lower() if line else ""
            if name in PIP_NAMES:
                wanted.append(line)
    return wanted


def recipe():
    return "\n".join([RECIPE_VERSION, SUITE, ",".join(PACKAGES), *pip_requirements(), CGROUP_UNIT, CGROUP_SCRIPT,
                      SSHD_CONFIG, SYSCTL_DROPIN, L.RESOLV_CONF])


def recipe_id(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def chroot(root, script, timeout=600, network=False):
    """Run a shell script chrooted into `root`, in a private mount namespace (and without a network unless
    asked): /proc, /sys and /dev are mounted for package scripts and vanish with the namespace; a
    policy-rc.d keeps package scripts from starting any service."""
    flags = ["-m", "--propagation", "private"] + ([] if network else ["-n"])
    outer = (f"set -e; r={shlex.quote(root)}; mount -t proc proc $r/proc; mount -t sysfs sysfs $r/sys; "
             f"mount --bind /dev $r/dev; "
             f"printf '#!/bin/sh\\nexit 101\\n' > $r/usr/sbin/policy-rc.d; chmod 755 $r/usr/sbin/policy-rc.d; "
             f"rc=0; env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "
             f"chroot $r sh -ec {shlex.quote(script)} || rc=$?; rm -f $r/usr/sbin/policy-rc.d; exit $rc")
    return L.run(["unshare", *flags, "--", "sh", "-c", outer], timeout=timeout)


def ensure_base(cfg):
    """The cached bookworm root with the lab's settings: built once per machine (and per recipe)."""
    text = recipe()
    base = os.path.join(cache_dir(cfg), "base")
    marker = os.path.join(base, ".crosshost-complete")
    try:
        if open(marker).read() == text:
            return base
    except OSError:
        pass
    os.makedirs(cache_dir(cfg), exist_ok=True)
    tmp = os.path.join(cache_dir(cfg), "base.tmp")
    strapped = os.path.join(tmp, ".crosshost-debootstrap")
    wanted = f"{SUITE} {','.join(PACKAGES)}\n"
    try:  # an older recipe over the same debootstrap: customise that again instead of a new debootstrap
        if open(os.path.join(base, ".crosshost-debootstrap")).read() == wanted and not os.path.exists(tmp):
            os.rename(base, tmp)
    except OSError:
        pass
    done = os.path.exists(strapped) and open(strapped).read() == wanted
    for stale in ("base", "engine-26", "engine-28") + (() if done else ("base.tmp",)):
        path = os.path.join(cache_dir(cfg), stale)
        if os.path.exists(path):
            L.run(["rm", "-rf", "--one-file-system", path], timeout=600)
    t0 = time.time()
    if not done:
        mirror = apt_mirror()
        log(f"debootstrap {SUITE} into {tmp} from {mirror} (once per machine; about a minute) ...")
        # In a private mount namespace: debootstrap's own mounts (proc, sys) cannot stay on the machine.
        # debootstrap replaces start-stop-daemon inside the target while it installs: no service starts.
        L.run(["unshare", "-m", "--propagation", "private", "--", "debootstrap", "--variant=minbase",
               "--include=" + ",".join(PACKAGES), SUITE, tmp, mirror], timeout=1800)
        with open(strapped, "w") as f:
            f.write(wanted)
    t1 = time.time()
    log(f"debootstrap took {t1 - t0:.0f} s; installing the lab's settings and Python libraries ...")
    customise_base(cfg, tmp)
    with open(os.path.join(tmp, ".crosshost-complete"), "w") as f:
        f.write(text)
    with open(os.path.join(tmp, ".crosshost-timings"), "w") as f:
        f.write(f"debootstrap {t1 - t0:.1f}\ncustomise {time.time() - t1:.1f}\n")
    os.rename(tmp, base)
    log(f"cached Debian 12 root ready in {time.time() - t0:.0f} s: {base}")
    return base


def customise_base(cfg, root):
    def put(rel, content, mode=0o644):
        path = os.path.join(root, rel.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)

    put("/usr/local/sbin/crosshost-lab-cgroups", CGROUP_SCRIPT, 0o755)
    put("/etc/systemd/system/crosshost-lab-cgroups.service", CGROUP_UNIT)
    put("/etc/ssh/sshd_config.d/crosshost-lab.conf", SSHD_CONFIG)
    put("/etc/systemd/system/systemd-sysctl.service.d/crosshost-lab.conf", SYSCTL_DROPIN)
    put(f"/etc/sudoers.d/{OPS}", f"{OPS} ALL=(ALL) NOPASSWD:ALL\n", 0o440)
    # debootstrap copied the machine's resolv.conf: the lab's instead (nspawn leaves it alone, --resolv-conf=off).
    if os.path.lexists(os.path.join(root, "etc/resolv.conf")):
        os.unlink(os.path.join(root, "etc/resolv.conf"))
    put("/etc/resolv.conf", L.RESOLV_CONF)
    put("/etc/hostname", "debian12\n")
    chroot(root, f"""
        id {OPS} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --uid 1000 --user-group {OPS}
        rm -f /etc/ssh/ssh_host_*
        : > /etc/machine-id
        systemctl enable crosshost-lab-cgroups.service
        systemctl enable docker.service containerd.service ssh.service
        # Nothing on a lab host may reach for the network by itself, and nobody logs in on the console.
        systemctl mask apt-daily.timer apt-daily-upgrade.timer console-getty.service getty@tty1.service \
            e2scrub_reap.service systemd-networkd-wait-online.service 2>/dev/null || true
        apt-get clean
    """)
    reqs = pip_requirements()
    target = os.path.join(root, "usr/local/lib/python3.11/dist-packages")
    py = cfg.python
    if L.run([py, "-m", "pip", "--version"], check=False).returncode != 0:
        py = shutil.which("python3")
    # The host's own python3 is 3.11 (bookworm): wheels for it, from PyPI, installed from outside.
    L.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-cache-dir", "--no-compile", "--upgrade",
           "--target", target, "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
           "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "--only-binary=:all:",
           *reqs], timeout=900)
    chroot(root, "python3 -m compileall -q /usr/local/lib/python3.11/dist-packages >/dev/null 2>&1 || true; "
                 "python3 -c 'import docker, pyroute2, netaddr'")


def ensure_engine_layer(cfg, base, engine, engine_root):
    """An overlay layer over `base` with Docker `engine` installed by dpkg from the .debs that
    lab/fetch_engine.sh downloaded (trixie's 26, sid's 28), with their containerd. None for 20.10 (base)."""
    if engine == "20.10":
        return None
    layer = os.path.join(cache_dir(cfg), f"engine-{engine}")
    debs_dir = os.path.join(os.path.dirname(engine_root), "debs")
    debs = sorted(os.listdir(debs_dir))
    marker = os.path.join(layer, ".crosshost-layer")
    # trixie's tini needs glibc 2.38: keep bookworm's (it satisfies docker.io's `tini`). sid's docker.io
    # wants tini-static, which Breaks bookworm's tini: that one goes first.
    install = [d for d in debs if d.startswith(("docker.io_", "containerd_", "tini-static_"))]
    # trixie's and sid's docker.io no longer ship the CLI (package docker-cli, not downloaded): keep
    # bookworm's 20.10 client as /usr/local/bin/docker (it negotiates the API version with 26 and 28).
    pre = "cp -a /usr/bin/docker /usr/local/bin/docker\n"
    if any(d.startswith("tini-static_") for d in install):
        pre += "dpkg --purge --force-depends tini\n"
    args = " ".join(f"/tmp/debs/{shlex.quote(d)}" for d in install)
    key = recipe_id(open(os.path.join(base, ".crosshost-complete")).read() + pre + args)
    try:
        if open(marker).read() == key:
            return layer
    except OSError:
        pass
    t0 = time.time()
    L.run(["rm", "-rf", "--one-file-system", layer, layer + ".work", layer + ".mnt"])
    for d in (layer, layer + ".work", layer + ".mnt"):
        os.makedirs(d)
    mnt = layer + ".mnt"
    script = (f"set -e; mount -t overlay crosshost-layer -o lowerdir={base},upperdir={layer},workdir={layer}.work {mnt}; "
              f"mkdir -p {mnt}/tmp/debs; mount --bind {shlex.quote(debs_dir)} {mnt}/tmp/debs; "
              f"mount -t proc proc {mnt}/proc; mount --bind /dev {mnt}/dev; "
              f"printf '#!/bin/sh\\nexit 101\\n' > {mnt}/usr/sbin/policy-rc.d; chmod 755 {mnt}/usr/sbin/policy-rc.d; "
              f"env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot {mnt} sh -ec "
              + shlex.quote(f"{pre}dpkg -i {args}\ndpkg --configure -a\napt-get clean\n")
              + f"; rm -f {mnt}/usr/sbin/policy-rc.d; umount {mnt}/tmp/debs; rmdir {mnt}/tmp/debs")
    log(f"installing Docker {engine} ({', '.join(install)}) into a cached layer ...")
    L.run(["unshare", "-m", "-n", "--propagation", "private", "--", "sh", "-c", script], timeout=900)
    shutil.rmtree(layer + ".work", ignore_errors=True)
    os.rmdir(mnt)
    with open(marker, "w") as f:
        f.write(key)
    log(f"Docker {engine} layer ready in {time.time() - t0:.0f} s")
    return layer


# ---------------------------------------------------------------------------------------------
# One host


def mac(index, iface):
    """A fixed, locally administered MAC per host and interface: the same after every reboot."""
    return "0e:1a:b0:%02x:%02x:%02x" % (iface, index >> 8, index & 0xff)


def plumb(cfg, name, index, ip):
    """(Re)create the host's network namespace and links, as the 'hardware' and DHCP would give them."""
    ns, ul = cfg.ns(name), cfg.ns("ul")
    if ns in L.netns_list():
        L.run(["ip", "netns", "del", ns])
    peers = [f"{name}-0", f"{name}-1"] + [f"{name}-v{v}" for v in cfg.vlans]
    deadline = time.time() + 10
    while any(L.run(["ip", "-n", ul, "link", "show", p], check=False).returncode == 0 for p in peers):
        if time.time() > deadline:
            raise L.LabError(f"host {name}: the old links {peers} are still in {ul}")
        time.sleep(0.1)
    L.run(["ip", "netns", "add", ns])
    L.run(["ip", "-n", ns, "link", "set", "lo", "up"])
    links = [("eth0", f"{name}-0", "br0", 0), ("eth1", f"{name}-1", "br1", 1)]
    links += [(f"eth1.{v}", f"{name}-v{v}", f"brv{v}", 16 + k) for k, v in enumerate(cfg.vlans)]
    for link, peer, bridge, n in links:
        L.run(["ip", "link", "add", "name", link, "netns", ns, "address", mac(index, n), "type", "veth",
               "peer", "name", peer, "netns", ul])
        L.run(["ip", "-n", ul, "link", "set", peer, "master", bridge, "up"])
        L.run(["ip", "-n", ns, "link", "set", link, "up"])
    L.run(["ip", "-n", ns, "addr", "add", f"{ip}/{L.UNDERLAY.prefixlen}", "dev", "eth0"])
    L.run(["ip", "-n", ns, "route", "add", "default", "via", str(L.ROUTER_IP)])
    # New namespaces copy the machine's IPv4 settings; a freshly booted host does not forward.
    L.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
    return ns


def upper_put(lowers, upper, rel, content, mode=0o644, uid=0, gid=0):
    """Write a file into a host's writable layer (not mounted at that moment). Parent directories made
    in the layer copy the owner and mode of the same directory below, or an overlay would show them
    with other owners (e.g. /home/ops owned by root)."""
    parts = rel.strip("/").split("/")
    for i in range(1, len(parts)):
        sub = "/".join(parts[:i])
        up = os.path.join(upper, sub)
        if not os.path.isdir(up):
            os.makedirs(up)
            below = next((os.path.join(d, sub) for d in lowers if os.path.isdir(os.path.join(d, sub))), None)
            if below:
                st = os.stat(below)
                os.chown(up, st.st_uid, st.st_gid)
                os.chmod(up, st.st_mode & 0o7777)
    path = os.path.join(upper, *parts)
    data = content.encode() if isinstance(content, str) else content
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def upper_symlink(lowers, upper, rel, target):
    """A symbolic link in a host's writable layer (parent directories as upper_put makes them)."""
    upper_put(lowers, upper, rel, "")
    path = os.path.join(upper, *rel.strip("/").split("/"))
    os.unlink(path)
    os.symlink(target, path)
    os.lchown(path, 0, 0)


# systemd-networkd runs on every host, as on Ubuntu and Debian cloud images. No .network file of the
# image matches the lab's links (eth0, eth1, the VLAN stand-ins: the lab plumbs them before the boot),
# so it leaves them unmanaged; it brings up what a module persists in /etc/systemd/network (the link
# module's shims and VLANs). systemctl enable, done in the host's layer.
NETWORKD_ENABLE = {
    "etc/systemd/system/multi-user.target.wants/systemd-networkd.service": "/lib/systemd/system/systemd-networkd.service",
    "etc/systemd/system/sockets.target.wants/systemd-networkd.socket": "/lib/systemd/system/systemd-networkd.socket",
    "etc/systemd/system/dbus-org.freedesktop.network1.service": "/lib/systemd/system/systemd-networkd.service",
}


def ops_ids(base):
    with open(os.path.join(base, "etc/passwd")) as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == OPS:
                return int(fields[2]), int(fields[3])
    raise L.LabError(f"no user {OPS} in {base}/etc/passwd")


def lab_key(cfg):
    """The lab's SSH key pair (made once per lab, in .lab/<name>/ssh/)."""
    d = os.path.join(cfg.dir, "ssh")
    key = os.path.join(d, "id_ed25519")
    if not os.path.exists(key):
        os.makedirs(d, mode=0o700, exist_ok=True)
        L.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"crosshost-lab-{cfg.name}", "-f", key])
    return key


def prepare_host(cfg, name, index, ip, base, lowers):
    """A new host's directory and the files that make it this host: hostname, hosts, machine-id, its own
    SSH host key, the lab key for ops, systemd-networkd enabled."""
    hostdir = os.path.join(cfg.dir, "nodes", name)
    for d in ("upper", "work", "docker", "root"):
        os.makedirs(os.path.join(hostdir, d), exist_ok=True)
    upper = os.path.join(hostdir, "upper")
    lower = lowers  # the overlay's lower layers, top first
    uid, gid = ops_ids(base)
    upper_put(lower, upper, "etc/hostname", f"{name}\n")
    upper_put(lower, upper, "etc/hosts", L.etc_hosts(cfg).replace("127.0.0.1\tlocalhost", f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}", 1))
    upper_put(lower, upper, "etc/machine-id", os.urandom(16).hex() + "\n", 0o444)
    for rel, target in NETWORKD_ENABLE.items():
        upper_symlink(lower, upper, rel, target)
    hostkey = os.path.join(hostdir, "ssh_host_ed25519_key")
    L.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", hostkey])
    upper_put(lower, upper, "etc/ssh/ssh_host_ed25519_key", open(hostkey).read(), 0o600)
    pub = open(hostkey + ".pub").read()
    upper_put(lower, upper, "etc/ssh/ssh_host_ed25519_key.pub", pub)
    os.unlink(hostkey)
    os.rename(hostkey + ".pub", os.path.join(cfg.dir, "ssh", f"{name}.hostkey.pub"))
    keypub = open(lab_key(cfg) + ".pub").read()
    upper_put(lower, upper, f"home/{OPS}/.ssh/authorized_keys", keypub, 0o600, uid, gid)
    os.chown(os.path.join(upper, "home", OPS, ".ssh"), uid, gid)
    os.chmod(os.path.join(upper, "home", OPS, ".ssh"), 0o700)
    with open(os.path.join(cfg.dir, "ssh", "known_hosts"), "a") as f:
        key = " ".join(pub.split()[:2])
        f.write(f"{ip} {key}\n{name} {key}\n")
    return hostdir


def find_init(nspawn_pid, ns):
    """PID (in the machine's PID namespace) of the container's systemd: below nspawn, PID 1 inside."""
    for pid in sorted(L.descendants({nspawn_pid})):
        try:
            with open(f"/proc/{pid}/status") as f:
                nspid = next((line.split()[1:] for line in f if line.startswith("NSpid:")), [])
        except OSError:
            continue
        if len(nspid) >= 2 and nspid[-1] == "1" and L.netns_inode(ns) == L.ns_inode(pid, "net"):
            return pid
    return None


def host_cgroups(cfg, name):
    """Without a systemd of the machine's own (--keep-unit), nspawn puts its container in <its own
    cgroup>/payload: every host would share one name=systemd and one unified cgroup tree, and their
    systemds would make and remove the same unit cgroups (units then fail with status=219/CGROUP). Each
    host's nspawn therefore starts in a cgroup of its own, crosshost-<lab>-<host>, in those two
    hierarchies (lab-down removes them). Empty when the machine's systemd gives nspawn a scope."""
    if machine_has_systemd():
        return []
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _src, opts = right.split()[:3]
            if fstype == "cgroup2":
                mounts.setdefault("", left.split()[4])
            elif fstype == "cgroup" and "name=systemd" in opts.split(","):
                mounts.setdefault("name=systemd", left.split()[4])
    dirs = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _n, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers in mounts:
                dirs.append(os.path.join(mounts[controllers], path.lstrip("/"), f"crosshost-{cfg.name}-{name}"))
    return dirs


def remove_cgroups(cfg, names):
    """Remove the hosts' own cgroups (bottom up; only empty ones can go) once nothing runs in them."""
    for name in names:
        for top in host_cgroups(cfg, name):
            if not os.path.isdir(top):
                continue
            for root, dirs, _files in sorted(os.walk(top), key=lambda item: -item[0].count("/")):
                try:
                    os.rmdir(root)
                except OSError:
                    pass


def boot(cfg, name, node):
    """Power the host on: plumb its network, mount its overlay in a private mount namespace and start
    systemd-nspawn there; returns when its systemd runs (not yet when the boot is finished)."""
    index = int(name[1:])
    ns = plumb(cfg, name, index, node["address"])
    hostdir = node["dir"]
    lowers = ":".join(node["lowers"])
    merged = os.path.join(hostdir, "root")
    mount = (f"mount -t overlay crosshost-{cfg.name}-{name} -o "
             f"lowerdir={lowers},upperdir={hostdir}/upper,workdir={hostdir}/work {shlex.quote(merged)}")
    nspawn = ["systemd-nspawn", "-D", merged, "-b", f"--machine={NSPAWN_MACHINE_PREFIX}-{cfg.name}-{name}",
              f"--hostname={name}", f"--network-namespace-path=/run/netns/{ns}",
              f"--bind={hostdir}/docker:/var/lib/docker", *nspawn_flags()]
    # nspawn keeps per-machine directories in /run/systemd/nspawn (and leaves them behind when /run is
    # not a tmpfs): a tmpfs of this mount namespace's own takes them, so they go with it.
    cgroups = host_cgroups(cfg, name)
    for d in cgroups:
        os.makedirs(d, exist_ok=True)
    join = "".join(f"echo $$ > {shlex.quote(os.path.join(d, 'cgroup.procs'))}; " for d in cgroups)
    script = (f"set -e; {join}{mount}; mkdir -p /run/systemd/nspawn; "
              "mount -t tmpfs -o mode=755,size=1m crosshost-nspawn /run/systemd/nspawn; "
              "exec env SYSTEMD_NSPAWN_API_VFS_WRITABLE=network " + " ".join(shlex.quote(a) for a in nspawn))
    with open(os.path.join(hostdir, "console.log"), "a") as logf:
        logf.write(f"\n===== crosshost lab: boot of {name} at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n")
        logf.flush()
        proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "--", "sh", "-c", script],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    node.update(ns=ns, nspawn_pid=proc.pid, pid=None, booted_at=time.time())
    deadline = time.time() + 20
    while time.time() < deadline:
        pid = find_init(proc.pid, ns)
        if pid:
            node["pid"] = pid
            node["_proc"] = proc
            return node
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise L.LabError(f"host {name}: systemd-nspawn did not start its systemd ({why_not(hostdir, proc)})")


def why_not(hostdir, proc=None):
    tail = ""
    try:
        with open(os.path.join(hostdir, "console.log"), errors="replace") as f:
            tail = " | ".join(line.strip() for line in f.read().splitlines()[-8:] if line.strip())
    except OSError:
        pass
    code = proc.poll() if proc is not None else None
    return (f"nspawn exited {code}; " if code is not None else "") + f"console: {tail or 'empty'}"


def inside(node, *cmd, **kw):
    """Run a command inside a booted host: all of its namespaces, as root."""
    return L.run(["nsenter", "-t", str(node["pid"]), "-m", "-u", "-i", "-n", "-p", "--", *cmd], **kw)


def wait_running(name, node, timeout=BOOT_TIMEOUT):
    """Wait until `systemctl is-system-running` says running or degraded; returns (state, failed units)."""
    deadline = time.time() + timeout
    state = "?"
    while time.time() < deadline:
        if not L.alive(node.get("nspawn_pid")) or L.zombie(node["nspawn_pid"]):
            raise L.LabError(f"host {name}: powered off while booting ({why_not(node['dir'])})")
        p = inside(node, "systemctl", "is-system-running", check=False, timeout=15)
        state = p.stdout.strip() or state
        if state in ("running", "degraded"):
            failed = inside(node, "systemctl", "--failed", "--plain", "--no-legend", check=False).stdout.split("\n")
            return state, [line.split()[0] for line in failed if line.strip()]
        time.sleep(0.2)
    failed = inside(node, "systemctl", "--failed", "--plain", "--no-legend", check=False).stdout.strip()
    raise L.LabError(f"host {name}: not booted after {timeout} s (systemctl is-system-running: {state}; "
                     f"failed units: {failed or 'none'}; {why_not(node['dir'])})")


def wait_docker(name, node, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = inside(node, "docker", "version", "--format", "{{.Server.Version}}", check=False, timeout=15)
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip()
        if p.returncode in (126, 127):
            raise L.LabError(f"host {name}: no docker client: {p.stderr.strip()}")
        time.sleep(0.3)
    status = inside(node, "systemctl", "status", "--no-pager", "-n", "15", "docker.service", check=False).stdout
    raise L.LabError(f"host {name}: docker.service does not answer after the boot:\n{status}")


def load_image(node, image):
    with open(image, "rb") as f:
        proc = subprocess.run(["nsenter", "-t", str(node["pid"]), "-m", "-u", "-i", "-n", "-p", "--", "docker",
                               "import", "--change", 'CMD ["/bin/sh"]', "--change", "ENV PATH=/usr/bin:/bin:/sbin",
                               "-", L.IMAGE], stdin=f, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise L.LabError(f"docker import failed: {proc.stderr.decode().strip()}")


def power_off(name, node, timeout=POWEROFF_TIMEOUT):
    """SIGRTMIN+4 to the host's systemd (a clean poweroff), then wait for nspawn to exit. Returns True
    when it went down cleanly; otherwise the caller ends what is left by PID."""
    nspawn = node.get("nspawn_pid")
    if not L.alive(nspawn) or L.zombie(nspawn):
        return True
    init = node.get("pid")
    if init and L.alive(init):
        try:
            os.kill(init, signal.SIGRTMIN + 4)
        except OSError:
            pass
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not L.alive(nspawn) or L.zombie(nspawn):
            reap(node)
            return True
        time.sleep(0.05)
    log(f"host {name}: did not power off within {timeout} s")
    return False


def reap(node):
    proc = node.get("_proc")
    if proc is not None:
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass


def host_running(node):
    if not node.get("nspawn_pid") or not L.alive(node["nspawn_pid"]) or L.zombie(node["nspawn_pid"]):
        return False
    return find_init(node["nspawn_pid"], node["ns"]) == node.get("pid")


def healthy(state):
    for node in state.get("hosts", {}).values():
        if not host_running(node):
            return False
        if inside(node, "systemctl", "is-active", "docker.service", check=False, timeout=15).returncode != 0:
            return False
    return True


def public(node):
    return {k: v for k, v in node.items() if not k.startswith("_")}


def start_host(cfg, name, node, image=None):
    """Boot, wait for systemd and Docker; load the probe image on the first boot."""
    t0 = time.time()
    boot(cfg, name, node)
    state, failed = wait_running(name, node)
    if inside(node, "systemctl", "is-active", "crosshost-lab-cgroups.service", check=False).returncode != 0:
        status = inside(node, "systemctl", "status", "--no-pager", "-n", "10", "crosshost-lab-cgroups.service",
                        check=False).stdout
        raise L.LabError(f"host {name}: the lab's cgroup unit failed, Docker could not start containers:\n{status}")
    node["version"] = wait_docker(name, node)
    if image:
        load_image(node, image)
    node["boot_seconds"] = round(time.time() - t0, 1)
    node["system_state"] = state
    node["failed_units"] = failed
    return node


def build_hosts(cfg, state, roots, image):
    """Called by lab.build() once the underlay and router exist: make and boot the full-OS hosts."""
    preflight(cfg)
    t0 = time.time()
    base = ensure_base(cfg)
    layers = {e: ensure_engine_layer(cfg, base, e, roots[e]) for e in sorted(set(cfg.wanted()["engines"]))}
    state["cache_seconds"] = round(time.time() - t0, 1)
    lab_key(cfg)
    open(os.path.join(cfg.dir, "ssh", "known_hosts"), "w").close()
    # The control node's address on the VPC segment (like an AWX or bastion host in the VPC): the
    # ProxyCommand connects from the underlay namespace, which otherwise has no address there.
    L.run(["ip", "-n", cfg.ns("ul"), "addr", "add", f"{CONTROL_IP}/{L.UNDERLAY.prefixlen}", "dev", "br0"])
    state["control_address"] = str(CONTROL_IP)
    os.makedirs(os.path.join(cfg.dir, "cp"), mode=0o700, exist_ok=True)
    for i, name in enumerate(cfg.host_names, start=1):
        engine = cfg.engine_of(i)
        ip = L.UNDERLAY.network_address + L.HOST_OFFSET + i
        lowers = [layers[engine], base] if layers[engine] else [base]
        hostdir = prepare_host(cfg, name, i, ip, base, lowers)
        state["hosts"][name] = {"kind": "debian12", "ns": cfg.ns(name), "pid": None, "nspawn_pid": None,
                                "engine": engine, "address": str(ip), "engine_root": roots[engine],
                                "dir": hostdir, "lowers": lowers}
    L.save_state(cfg, state)
    try:
        run_parallel(cfg, state, {n: (lambda n=n, h=h: start_host(cfg, n, h, image)) for n, h in state["hosts"].items()})
    except L.LabError as e:
        raise L.LabError(f"{e}\nThe full-OS hosts did not come up on this machine (systemd-nspawn flags used: "
                         f"{' '.join(nspawn_flags())}); the namespace hosts (LAB_OS=ns, the default) need none of this")


def run_parallel(cfg, state, jobs):
    """Run {name: job} in threads; save the state whatever happened; raise one LabError for all failures."""
    errors = []

    def wrap(name, job):
        try:
            job()
        except (L.LabError, subprocess.TimeoutExpired, OSError) as e:
            errors.append(f"host {name}: {e}" if not str(e).startswith(f"host {name}") else str(e))

    threads = [threading.Thread(target=wrap, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    L.save_state(cfg, {**state, "hosts": {n: public(h) for n, h in state["hosts"].items()}})
    if errors:
        raise L.LabError("; ".join(errors))


def reboot_hosts(cfg, state, names):
    """Power off and boot again with the same disk; print how long each took and what failed."""
    results = {}

    def one(name):
        node = state["hosts"][name]
        t0 = time.time()
        if not power_off(name, node):
            leftovers = L.descendants({node["nspawn_pid"]}) | {node["nspawn_pid"]}
            L.end_processes(leftovers)
        down_s = time.time() - t0
        start_host(cfg, name, node)
        results[name] = (round(down_s, 1), node["boot_seconds"], node["system_state"], node["failed_units"])

    try:
        run_parallel(cfg, state, {n: (lambda n=n: one(n)) for n in names})
    finally:
        L.write_inventory(cfg, state)
    for name, (off, on, st, failed) in sorted(results.items()):
        print(f"{name}: powered off in {off} s, booted to '{st}' in {on} s"
              + (f"; failed units: {' '.join(failed)}" if failed else "") + f" (docker {state['hosts'][name]['version']})")


def stop_for_down(name, node):
    """lab-down: power the host off cleanly if it runs; lab.down() then ends anything left by PID."""
    if node.get("nspawn_pid"):
        power_off(name, node, timeout=20)


def host_vars(cfg, node):
    """Inventory variables of a full-OS host: SSH as ops with become, through the underlay namespace."""
    key = os.path.join(cfg.dir, "ssh", "id_ed25519")
    proxy = f"ip netns exec {cfg.ns('ul')} socat - TCP:%h:%p"
    return {
        "ansible_host": node["address"],
        "ansible_connection": "ssh",
        "ansible_user": OPS,
        "ansible_become": True,
        "ansible_become_method": "sudo",
        "ansible_ssh_private_key_file": key,
        "ansible_ssh_common_args": (f"-o ProxyCommand={shlex.quote(proxy)} -o StrictHostKeyChecking=no "
                                    f"-o UserKnownHostsFile={os.path.join(cfg.dir, 'ssh', 'known_hosts')} "
                                    "-o IdentitiesOnly=yes"),
        "ansible_control_path_dir": os.path.join(cfg.dir, "cp"),
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_remote_tmp": "~/.ansible/tmp",
        "lab_host_kind": "debian12",
    }


def ssh_command(cfg, state, name):
    """The ssh command line that reaches host `name` as ops (for people and tests)."""
    node = state["hosts"][name]
    hv = host_vars(cfg, node)
    return ["ssh", "-i", hv["ansible_ssh_private_key_file"], *shlex.split(hv["ansible_ssh_common_args"]),
            "-o", "BatchMode=yes", f"{OPS}@{node['address']}"]
