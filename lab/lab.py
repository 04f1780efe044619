#!/usr/bin/env python3
"""The crosshost.docker lab: N Docker hosts on one machine, as network namespaces.

    lab.py up | down | status | reboot | inventory-path | inventory-json | etcd

Settings come from the environment (the Makefile passes them through):
    LAB_NAME     prefix of every namespace, directory and inventory the lab makes (default: lab)
    LAB_HOSTS    number of Docker hosts h1..hN (default: 3)
    LAB_ENGINES  engine version per host, space separated: 20.10, 26 or 28 (default: "20.10");
                 hosts beyond the list reuse the last entry
    LAB_VLANS    VLAN ids to stand in for, space separated (default: none). For each id N, every host
                 gets a veth named eth1.N on a segment of its own (bridge brvN, 192.168.N.0/24 with
                 the router at .1): Docker accepts it as a macvlan parent, and its segment is isolated
                 like a VLAN's. This kernel has no 802.1q, so these are stand-ins, not VLAN links.
    LAB_OS       kind of host: `ns` (default) namespace hosts, or `debian12`: whole Debian 12 systems with
                 systemd, sshd and docker.service, booted by systemd-nspawn in the same namespaces and
                 reached over SSH as `ops` with sudo (lab/debian12.py)
    HOST         `reboot` only: which hosts (h1 h2 ..., `rt` for the router, `all` for every host and the
                 router; default: every Docker host)
    LAB_DIR      where the lab keeps its state (default: <repo>/.lab/<LAB_NAME>)
    LAB_PYTHON   Python interpreter Ansible uses inside the hosts (default: this interpreter)
    CROSSHOST_CACHE  cache of downloaded engines and the probe image (default: ~/.cache/crosshost-docker)

Topology (all inside namespaces this script creates; the machine's own namespace is never touched):

    <name>-ul   underlay: bridges br0 ("VPC" segment 192.168.1.0/24) and br1 (macvlan segment)
    <name>-rt   router, 192.168.1.1 on br0 and 192.168.2.1 on br1: every host's default gateway.
                Its routing table stands in for the VPC route table (empty at start). It has no
                route off the machine: nothing leaves the lab.
    <name>-hN   Docker host N: eth0 192.168.1.(10+N) on br0, eth1 (no address) on br1, its own
                dockerd, /etc, /var/lib, /run, iptables and hostname hN.

`lab.py etcd` starts a key-value store for the legacy overlay (daemon.json cluster-store) in the router
namespace: Debian's etcd 3.4 with its v2 API on (Docker's libkv speaks v2), at etcd://192.168.1.1:2379
(the inventory's `lab_etcd_url`). `down` ends it with everything else in the lab's namespaces.

Only the standard library is used, so this runs before any virtualenv exists.
"""
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

UNDERLAY = ipaddress.ip_network("192.168.1.0/24")
MACVLAN_SEGMENT = ipaddress.ip_network("192.168.2.0/24")
ROUTER_IP = UNDERLAY.network_address + 1
# Every lab host's /etc/resolv.conf (and so its containers'): the VPC router's address, where nothing
# answers on port 53, so a lookup fails at once inside the lab. Never the machine's own resolver: a
# host must not send a packet to an address outside the lab, not even one the router would drop.
RESOLV_CONF = (f"# crosshost lab: no DNS in the lab; lookups end at the lab's router ({ROUTER_IP}), "
               f"nothing leaves the lab\nnameserver {ROUTER_IP}\noptions timeout:1 attempts:1\n")
ROUTER_MACVLAN_IP = MACVLAN_SEGMENT.network_address + 1
HOST_OFFSET = 10
MAX_HOSTS = 50
ENGINES = ("20.10", "26", "28")
IMAGE = "local/probe:latest"
ETCD_PORT = 2379
SYSTEM_DOCKERD = "/usr/sbin/dockerd"


class LabError(Exception):
    """A problem the user can fix; printed without a traceback."""


LAB_OSES = ("ns", "debian12")


def debian12():
    """lab/debian12.py (the full-OS hosts), which uses this module under the name `lab`."""
    sys.modules.setdefault("lab", sys.modules[__name__])
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import debian12 as mod
    return mod


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, input=None, timeout=120, capture=True):
    """Run a command; on failure raise LabError with its stderr."""
    proc = subprocess.run(cmd, input=input, capture_output=capture, timeout=timeout, check=False,
                          text=isinstance(input, str) or input is None)
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout or "").strip() if capture else ""
        raise LabError(f"`{' '.join(shlex.quote(str(c)) for c in cmd)}` failed ({proc.returncode}): {err}")
    return proc


# ---------------------------------------------------------------------------------------------
# Settings


class Config:
    def __init__(self, env=None):
        env = os.environ if env is None else env
        self.name = env.get("LAB_NAME") or "lab"
        if not re.fullmatch(r"[a-z][a-z0-9]{0,9}", self.name):
            raise LabError(f"LAB_NAME={self.name!r}: use 1-10 lower-case letters or digits, starting with a letter")
        try:
            self.hosts = int(env.get("LAB_HOSTS") or 3)
        except ValueError:
            raise LabError(f"LAB_HOSTS={env.get('LAB_HOSTS')!r} is not a number: use e.g. LAB_HOSTS=3")
        if not 1 <= self.hosts <= MAX_HOSTS:
            raise LabError(f"LAB_HOSTS={self.hosts}: use 1 to {MAX_HOSTS}")
        engines = (env.get("LAB_ENGINES") or "20.10").split()
        self.engines = [normalise_engine(e) for e in engines]
        try:
            self.vlans = sorted({int(v) for v in (env.get("LAB_VLANS") or "").split()})
        except ValueError:
            raise LabError(f"LAB_VLANS={env.get('LAB_VLANS')!r}: give VLAN ids as numbers, e.g. LAB_VLANS=10")
        if any(not 2 <= v <= 254 or v == MACVLAN_SEGMENT.network_address.packed[2] for v in self.vlans):
            raise LabError(f"LAB_VLANS={env.get('LAB_VLANS')!r}: use ids from 3 to 254 (192.168.<id>.0/24 is the segment)")
        self.dir = env.get("LAB_DIR") or os.path.join(REPO, ".lab", self.name)
        self.cache = env.get("CROSSHOST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "crosshost-docker")
        self.python = env.get("LAB_PYTHON") or os.path.abspath(sys.executable)
        self.os = env.get("LAB_OS") or "ns"
        if self.os not in LAB_OSES:
            raise LabError(f"LAB_OS={self.os!r}: use one of {', '.join(LAB_OSES)}")

    def engine_of(self, index):
        """Engine of host h<index> (1-based): hosts beyond the list reuse the last entry."""
        return self.engines[min(index, len(self.engines)) - 1]

    def ns(self, role):
        return f"{self.name}-{role}"

    @property
    def host_names(self):
        return [f"h{i}" for i in range(1, self.hosts + 1)]

    def wanted(self):
        wanted = {"hosts": self.hosts, "engines": [self.engine_of(i) for i in range(1, self.hosts + 1)],
                  "vlans": self.vlans}
        if self.os != "ns":
            wanted["os"] = self.os
        return wanted


def normalise_engine(value):
    for e in ENGINES:
        if value == e or value.startswith(e + "."):
            return e
    raise LabError(f"LAB_ENGINES entry {value!r} is not supported: use one of {', '.join(ENGINES)}")


# ---------------------------------------------------------------------------------------------
# Namespaces and processes


def netns_list():
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_inode(ns):
    try:
        return os.stat(f"/run/netns/{ns}").st_ino
    except FileNotFoundError:
        return None


def descendants(roots):
    """All processes whose parent chain reaches one of `roots` (containers under their shims)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found = set()
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if pid not in found and (ppid in roots or ppid in found):
                found.add(pid)
                changed = True
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def end_processes(pids, grace=10.0):
    """SIGTERM, then SIGKILL whatever is left after `grace` seconds. Only the PIDs given."""
    pids = {p for p in pids if p != os.getpid()}
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + grace
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(p) and not zombie(p) for p in pids):
        time.sleep(0.05)


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def hexec(pid, *cmd, **kw):
    """Run a command inside a lab host (its network, mount and UTS namespaces)."""
    return run(["nsenter", "-t", str(pid), "-n", "-m", "-u", "--", *cmd], **kw)


def hwrite(pid, path, content, mode="0644"):
    script = f'mkdir -p "$(dirname {shlex.quote(path)})" && cat > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}'
    hexec(pid, "sh", "-c", script, input=content)


def cgroup_spec():
    """The machine's cgroup mounts as `fstype:mountpoint:options` items, for anchor.sh."""
    items = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mountpoint = left.split()[4]
            fstype, _source, superopts = right.split()[:3]
            if fstype in ("cgroup", "cgroup2") and mountpoint.startswith("/sys/fs/cgroup"):
                opts = ",".join(o for o in superopts.split(",") if o not in ("rw", "ro"))
                items.append(f"{fstype}:{mountpoint}:{opts or 'none'}")
    return " ".join(items)


# ---------------------------------------------------------------------------------------------
# Preflight


def preflight(cfg):
    if os.geteuid() != 0:
        raise LabError("the lab needs root (it creates network namespaces): run it with sudo or as root")
    needed = {"ip": "iproute2", "unshare": "util-linux", "nsenter": "util-linux", "iptables": "iptables",
              "busybox": "busybox-static", "docker": "docker.io"}
    missing = [f"{tool} (package {pkg})" for tool, pkg in needed.items() if not shutil.which(tool)]
    if not os.path.exists(SYSTEM_DOCKERD) and "20.10" in cfg.wanted()["engines"]:
        missing.append(f"{SYSTEM_DOCKERD} (package docker.io)")
    if missing:
        raise LabError("missing: " + ", ".join(missing) + ". Run scripts/bootstrap.sh (or `make demo`) first")
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            raise LabError("the kernel has no overlayfs (needed for the hosts' private /etc and /var/lib)")
    probe = cfg.ns("probe")
    if probe in netns_list():
        run(["ip", "netns", "del", probe], check=False)
    run(["ip", "netns", "add", probe])
    try:
        for kind, args in (("bridge", ["type", "bridge"]),
                           ("veth", ["type", "veth", "peer", "name", "pv1"]),
                           ("macvlan", ["link", "pv0", "type", "macvlan", "mode", "bridge"]),
                           ("vxlan", ["type", "vxlan", "id", "42", "dstport", "4789"])):
            name = {"veth": "pv0", "bridge": "pb0", "macvlan": "pm0", "vxlan": "px0"}[kind]
            proc = run(["ip", "-n", probe, "link", "add", "name", name, *args], check=False)
            if proc.returncode != 0:
                raise LabError(f"the kernel cannot create {kind} links ({proc.stderr.strip()}): the lab needs "
                               "bridge, veth, macvlan and vxlan support")
    finally:
        run(["ip", "netns", "del", probe], check=False)


# ---------------------------------------------------------------------------------------------
# Engines and the probe image


def engine_root(cfg, engine):
    """Directory holding usr/... of a downloaded engine, or None for the system's 20.10."""
    if engine == "20.10":
        return None
    out = run([os.path.join(HERE, "fetch_engine.sh"), engine, cfg.cache], timeout=1800, capture=True)
    root = out.stdout.strip().splitlines()[-1]
    if not os.path.isdir(root):
        raise LabError(f"fetch_engine.sh {engine} printed {root!r}, which is not a directory")
    return root


def engine_settings(root):
    """Contents of /etc/default/docker for a host running the engine under `root`."""
    if root is None:
        return f"DOCKERD={SYSTEM_DOCKERD}\nENGINE_PATH=\nDOCKER_OPTS=\n"
    dockerd = next((os.path.join(root, d, "dockerd") for d in ("usr/sbin", "usr/bin")
                    if os.path.exists(os.path.join(root, d, "dockerd"))), None)
    if dockerd is None:
        raise LabError(f"no dockerd under {root}")
    path = ":".join(os.path.join(root, d) for d in ("usr/libexec/docker", "usr/sbin", "usr/bin")
                    if os.path.isdir(os.path.join(root, d)))
    # Newer engines' own runc needs a newer glibc: run containers with the machine's runc (LAB-NOTES).
    opts = "--add-runtime sysrunc=/usr/sbin/runc --default-runtime sysrunc"
    return f"DOCKERD={dockerd}\nENGINE_PATH={path}\nDOCKER_OPTS=\"{opts}\"\n"


def probe_image(cfg):
    """A tarball of a tiny root file system: busybox (ping, nc, wget, ip, ...) and iperf3."""
    tar = os.path.join(cfg.cache, "image", "probe-rootfs-v1.tar")
    if os.path.exists(tar):
        return tar
    rootfs = tar + ".d"
    shutil.rmtree(rootfs, ignore_errors=True)
    os.makedirs(os.path.join(rootfs, "bin"))
    for d in ("etc", "tmp", "proc", "sys", "dev", "root", "usr/bin", "sbin"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    busybox = shutil.which("busybox")
    shutil.copy2(busybox, os.path.join(rootfs, "bin", "busybox"))
    for applet in run([busybox, "--list"]).stdout.split():
        link = os.path.join(rootfs, "bin", applet)
        if not os.path.exists(link):
            os.symlink("busybox", link)
    iperf3 = shutil.which("iperf3")
    if iperf3:
        shutil.copy2(os.path.realpath(iperf3), os.path.join(rootfs, "usr/bin/iperf3"))
        for lib in re.findall(r"(/\S+\.so[^\s]*)", run(["ldd", iperf3]).stdout):
            dest = os.path.join(rootfs, lib.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.realpath(lib), dest)
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    run(["tar", "-C", rootfs, "-cf", tar + ".tmp", "."])
    os.rename(tar + ".tmp", tar)
    shutil.rmtree(rootfs)
    return tar


# ---------------------------------------------------------------------------------------------
# Bringing the lab up


def state_path(cfg):
    return os.path.join(cfg.dir, "state.json")


def load_state(cfg):
    try:
        with open(state_path(cfg)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_state(cfg, state):
    os.makedirs(cfg.dir, exist_ok=True)
    tmp = state_path(cfg) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2)
    os.rename(tmp, state_path(cfg))


def healthy(state):
    if state.get("os") == "debian12":
        router = state.get("router", {})
        return alive(router.get("pid")) and bool(netns_inode(router.get("ns", ""))) and debian12().healthy(state)
    nodes = list(state.get("hosts", {}).values()) + [state.get("router", {})]
    if not all(alive(n.get("pid")) and netns_inode(n.get("ns", "")) for n in nodes):
        return False
    return all(run(["nsenter", "-t", str(h["pid"]), "-n", "-m", "-u", "--", "/etc/init.d/docker", "status"],
                   check=False).returncode == 0 for h in state["hosts"].values())


def start_anchor(cfg, ns, hostname):
    hostdir = os.path.join(cfg.dir, "nodes", hostname)
    os.makedirs(hostdir, exist_ok=True)
    for marker in ("anchor.ready", "anchor.err"):
        if os.path.exists(os.path.join(hostdir, marker)):
            os.unlink(os.path.join(hostdir, marker))
    with open(os.path.join(hostdir, "resolv.conf"), "w") as f:
        f.write(RESOLV_CONF)
    with open(os.path.join(hostdir, "anchor.log"), "w") as logf:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "-mu", "--propagation", "private", "--",
             "sh", os.path.join(HERE, "anchor.sh"), hostdir, hostname, cgroup_spec()],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(os.path.join(hostdir, "anchor.ready")):
            return proc.pid
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    err = ""
    for f in ("anchor.err", "anchor.log"):
        p = os.path.join(hostdir, f)
        if os.path.exists(p):
            err += open(p).read().strip() + " "
    raise LabError(f"host {hostname}: its anchor did not come up: {err.strip() or 'no output'}")


def veth(ns, name, ul_ns, peer, bridge, mtu=1500):
    run(["ip", "link", "add", "name", name, "netns", ns, "mtu", str(mtu), "type", "veth",
         "peer", "name", peer, "netns", ul_ns])
    run(["ip", "-n", ul_ns, "link", "set", peer, "master", bridge, "up"])
    run(["ip", "-n", ns, "link", "set", name, "up"])


def sysctl(pid, key, value):
    hexec(pid, "sysctl", "-q", "-w", f"{key}={value}")


def router_links(cfg):
    return ["eth0", "eth1"] + [f"eth1.{v}" for v in cfg.vlans]


def router_network(cfg, rt_ns, pid):
    """The router's configuration as it comes up: links, addresses, forwarding on, no redirects."""
    addresses = {"eth0": f"{ROUTER_IP}/{UNDERLAY.prefixlen}",
                 "eth1": f"{ROUTER_MACVLAN_IP}/{MACVLAN_SEGMENT.prefixlen}"}
    addresses.update({f"eth1.{v}": f"192.168.{v}.1/24" for v in cfg.vlans})
    for link in router_links(cfg):
        run(["ip", "-n", rt_ns, "link", "set", link, "up"])
        run(["ip", "-n", rt_ns, "addr", "add", addresses[link], "dev", link])
    sysctl(pid, "net.ipv4.ip_forward", 1)
    # A VPC router forwards; it does not send ICMP redirects that would bypass it.
    for key in ("net.ipv4.conf.all.send_redirects", "net.ipv4.conf.default.send_redirects",
                "net.ipv4.conf.eth0.send_redirects", "net.ipv4.conf.eth1.send_redirects"):
        sysctl(pid, key, 0)


def reboot_router(cfg, state):
    """`lab.py reboot` of the router (HOST=rt). It is a namespace, not an OS: a "reboot" does to it what a
    power cycle does to a router's run-time state. Links go down (neighbour caches and the routes through
    them go), addresses, every route (all tables, IPv4 and IPv6), policy rules and iptables rules are
    flushed, then the links, addresses and forwarding settings it was built with come back. Routes added
    at run time are lost; those the route_table module persisted (linux_persist: its scripts in the
    router's /etc/crosshost-docker) are put back by the router's boot (router_boot_scripts), as on a
    Linux router that runs them at boot. etcd, if started in its namespace, keeps running."""
    rt_ns, pid = state["router"]["ns"], state["router"]["pid"]
    t0 = time.time()
    for link in router_links(cfg):
        run(["ip", "-n", rt_ns, "link", "set", link, "down"])
        run(["ip", "-n", rt_ns, "addr", "flush", "dev", link])
    for family in ("-4", "-6"):
        run(["ip", "-n", rt_ns, family, "route", "flush", "table", "all"], check=False)
    run(["ip", "-n", rt_ns, "rule", "flush"], check=False)
    for pref, table in (("32766", "main"), ("32767", "default")):
        run(["ip", "-n", rt_ns, "rule", "add", "pref", pref, "lookup", table], check=False)
    hexec(pid, "sh", "-c", "for t in filter nat mangle raw; do iptables -t $t -F; iptables -t $t -X; done 2>/dev/null; "
                           "for c in INPUT FORWARD OUTPUT; do iptables -P $c ACCEPT; done", check=False)
    # lo down and up: the kernel puts back the local routes of its addresses (127.0.0.1, ::1) flushed above.
    run(["ip", "-n", rt_ns, "link", "set", "lo", "down"])
    run(["ip", "-n", rt_ns, "link", "set", "lo", "up"])
    router_network(cfg, rt_ns, pid)
    booted = router_boot_scripts(pid)
    print(f"rt: router namespace reset as after a power cycle in {time.time() - t0:.1f} s "
          "(links, addresses and forwarding as built; run-time routes and rules gone"
          + (f"; boot scripts run: {' '.join(booted)})" if booted else ")"))


ROUTER_BOOT_SCRIPTS = "/etc/crosshost-docker"


def router_boot_scripts(pid):
    """The router's boot mechanism: it has no systemd, so, as the route_table module asks of such a
    router (linux_persist), its boot runs the scripts the module persisted in the router's own /etc
    (an overlay private to the router: .lab/<name>/nodes/rt/upper-etc). Returns the scripts run."""
    proc = run(["nsenter", "-t", str(pid), "-n", "-m", "-u", "--", "sh", "-c",
                f'for f in {ROUTER_BOOT_SCRIPTS}/routes*.sh; do [ -f "$f" ] || continue; '
                'sh "$f" >&2 || echo "boot script $f failed" >&2; echo "$f"; done'], check=False)
    if proc.stderr.strip():
        print(f"rt: {proc.stderr.strip()}", file=sys.stderr)
    return proc.stdout.split()


def etc_hosts(cfg):
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", f"{ROUTER_IP}\trt"]
    lines += [f"{UNDERLAY.network_address + HOST_OFFSET + i}\th{i}" for i in range(1, cfg.hosts + 1)]
    return "\n".join(lines) + "\n"


def build(cfg):
    t0 = time.time()
    roots = {e: engine_root(cfg, e) for e in sorted(set(cfg.wanted()["engines"]))}
    image = probe_image(cfg)
    state = {"name": cfg.name, "config": cfg.wanted(), "hosts": {}, "router": {}, "ul": cfg.ns("ul"),
             "dir": cfg.dir, "python": cfg.python, "os": cfg.os}
    if cfg.os == "debian12":
        debian12().preflight(cfg)
    os.makedirs(cfg.dir, exist_ok=True)
    save_state(cfg, state)  # written first, so that `down` finds a half-built lab

    ul = cfg.ns("ul")
    run(["ip", "netns", "add", ul])
    run(["ip", "-n", ul, "link", "set", "lo", "up"])
    for br in ["br0", "br1"] + [f"brv{v}" for v in cfg.vlans]:
        run(["ip", "-n", ul, "link", "add", br, "type", "bridge"])
        run(["ip", "-n", ul, "link", "set", br, "up"])

    rt_ns = cfg.ns("rt")
    run(["ip", "netns", "add", rt_ns])
    pid = start_anchor(cfg, rt_ns, "rt")
    state["router"] = {"ns": rt_ns, "pid": pid, "address": str(ROUTER_IP)}
    save_state(cfg, state)
    run(["ip", "-n", rt_ns, "link", "set", "lo", "up"])
    veth(rt_ns, "eth0", ul, "rt-0", "br0")
    veth(rt_ns, "eth1", ul, "rt-1", "br1")
    for v in cfg.vlans:
        veth(rt_ns, f"eth1.{v}", ul, f"rt-v{v}", f"brv{v}")
    router_network(cfg, rt_ns, pid)
    hwrite(pid, "/etc/hostname", "rt\n")
    hwrite(pid, "/etc/hosts", etc_hosts(cfg))
    if cfg.os == "debian12":
        debian12().build_hosts(cfg, state, roots, image)
        state = load_state(cfg)
        state["up_seconds"] = round(time.time() - t0, 1)
        save_state(cfg, state)
        return state

    for i, name in enumerate(cfg.host_names, start=1):
        ns = cfg.ns(name)
        engine = cfg.engine_of(i)
        ip = UNDERLAY.network_address + HOST_OFFSET + i
        run(["ip", "netns", "add", ns])
        pid = start_anchor(cfg, ns, name)
        state["hosts"][name] = {"ns": ns, "pid": pid, "engine": engine, "address": str(ip),
                                "engine_root": roots[engine]}
        save_state(cfg, state)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        veth(ns, "eth0", ul, f"{name}-0", "br0")
        veth(ns, "eth1", ul, f"{name}-1", "br1")
        for v in cfg.vlans:
            veth(ns, f"eth1.{v}", ul, f"{name}-v{v}", f"brv{v}")
        run(["ip", "-n", ns, "addr", "add", f"{ip}/{UNDERLAY.prefixlen}", "dev", "eth0"])
        run(["ip", "-n", ns, "route", "add", "default", "via", str(ROUTER_IP)])
        # New namespaces copy the machine's IPv4 settings; a fresh host does not forward.
        sysctl(pid, "net.ipv4.ip_forward", 0)
        hwrite(pid, "/etc/hostname", f"{name}\n")
        hwrite(pid, "/etc/hosts", etc_hosts(cfg))
        with open(os.path.join(HERE, "docker.init")) as f:
            hwrite(pid, "/etc/init.d/docker", f.read(), mode="0755")
        hwrite(pid, "/etc/default/docker", engine_settings(roots[engine]))

    errors = []

    def start_docker(name, h):
        try:
            hexec(h["pid"], "/etc/init.d/docker", "start", timeout=120)
            # On a loaded machine a just-started dockerd has refused an import once (exit 1, no message):
            # try three times before giving up, and say what the last try returned.
            for attempt in range(3):
                with open(image, "rb") as f:
                    proc = subprocess.run(["nsenter", "-t", str(h["pid"]), "-n", "-m", "-u", "--", "docker", "import",
                                           "--change", 'CMD ["/bin/sh"]', "--change", "ENV PATH=/usr/bin:/bin:/sbin",
                                           "-", IMAGE], stdin=f, capture_output=True, timeout=120, check=False)
                if proc.returncode == 0:
                    break
                time.sleep(1 + attempt)
            else:
                raise LabError(f"docker import failed 3 times (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).decode().strip() or 'no message'}")
            h["version"] = hexec(h["pid"], "docker", "version", "--format", "{{.Server.Version}}").stdout.strip()
        except (LabError, subprocess.TimeoutExpired) as e:
            errors.append(f"host {name}: {e}")

    threads = [threading.Thread(target=start_docker, args=item) for item in state["hosts"].items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise LabError("; ".join(errors))
    state["up_seconds"] = round(time.time() - t0, 1)
    save_state(cfg, state)
    return state


# ---------------------------------------------------------------------------------------------
# Inventory


def yaml_scalar(v):
    return json.dumps(v)


def group_vars(cfg, state):
    return {
        "ansible_connection": "community.docker.nsenter",
        "ansible_python_interpreter": state["python"],
        "lab_name": cfg.name,
        "lab_underlay_cidr": str(UNDERLAY),
        "lab_underlay_interface": "eth0",
        "lab_macvlan_segment_cidr": str(MACVLAN_SEGMENT),
        "lab_macvlan_parent": "eth1",
        "lab_vlan_parents": {f"eth1.{v}": f"192.168.{v}.0/24" for v in state["config"].get("vlans", [])},
        "lab_router_address": str(ROUTER_IP),
        "lab_image": IMAGE,
        "lab_dir": cfg.dir,
        "lab_etcd_url": f"etcd://{ROUTER_IP}:{ETCD_PORT}",
        # How the lab maps onto the roles: the VPC router, and a probe image that is on every host.
        "direct_route_router": "rt",
        "direct_route_verify_image": IMAGE,
        "macvlan_verify_image": IMAGE,
        "overlay_verify_image": IMAGE,
        "verify_image": IMAGE,
        # /usr and /opt are the machine's own inside a lab host (only /etc and /var/lib are private):
        # keep a consul archive install inside the host's /var/lib.
        "consul_install_dir": "/var/lib/consul-dist",
        "consul_bin_dir": "/var/lib/consul-dist/bin",
    }


def host_vars(cfg, node):
    # The hosts share the machine's /root: Ansible's remote temp files go to the lab's own directory
    # (removed by `make lab-down`), not to the machine's ~/.ansible/tmp. Per host, not in `all`, so
    # that plays on localhost (molecule's destroy) do not recreate it after lab-down.
    hv = {"ansible_nsenter_pid": node["pid"], "lab_namespace": node["ns"], "lab_underlay_ip": node["address"],
          "ansible_remote_tmp": os.path.join(cfg.dir, "tmp")}
    if "engine" in node:
        hv.update(lab_engine=node["engine"], lab_engine_version=node.get("version", ""))
    if node.get("kind") == "debian12":
        hv.update(debian12().host_vars(cfg, node))
    return hv


def write_inventory(cfg, state):
    lines = ["# Written by `make lab-up` (lab/lab.py). Do not edit: `make lab-down` removes it.", "all:", "  vars:"]
    lines += [f"    {k}: {yaml_scalar(v)}" for k, v in group_vars(cfg, state).items()]
    lines += ["  children:"]
    for group, nodes in (("docker_hosts", state["hosts"]), ("vpc_router", {"rt": state["router"]})):
        lines += [f"    {group}:", "      hosts:"]
        for name, node in nodes.items():
            lines += [f"        {name}:"] + [f"          {k}: {yaml_scalar(v)}" for k, v in host_vars(cfg, node).items()]
    path = inventory_path(cfg)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(path + ".tmp", path)
    return path


def inventory_path(cfg):
    return os.path.join(cfg.dir, "inventory.yml")


def inventory_json(cfg):
    """The lab as an Ansible inventory script's `--list` answer (empty when the lab is down)."""
    state = load_state(cfg)
    if not state or not state.get("hosts"):
        return {"_meta": {"hostvars": {}}}
    groups = {"all": {"vars": group_vars(cfg, state)},
              "docker_hosts": {"hosts": list(state["hosts"])}, "vpc_router": {"hosts": ["rt"]}}
    hostvars = {name: host_vars(cfg, h) for name, h in state["hosts"].items()}
    hostvars["rt"] = host_vars(cfg, state["router"])
    groups["_meta"] = {"hostvars": hostvars}
    return groups


# ---------------------------------------------------------------------------------------------
# Tearing down


def lab_namespaces(cfg):
    pattern = re.compile(rf"{re.escape(cfg.name)}-(ul|rt|probe|h\d+)")
    return [ns for ns in netns_list() if pattern.fullmatch(ns)]


NS_KINDS = ("net", "mnt", "uts")


def ns_inode(pid, kind):
    """Identity of a namespace of a process (the inode of /proc/<pid>/ns/<kind>), or None."""
    try:
        return os.stat(f"/proc/{int(pid)}/ns/{kind}").st_ino
    except (OSError, TypeError, ValueError):
        return None


def all_pids():
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def ancestors(pid):
    """`pid` and every process above it (never ended: the caller itself may run inside a lab host)."""
    chain = set()
    while pid and pid not in chain:
        chain.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return chain


def machine_namespaces():
    """Namespaces of PID 1 (where it can be read) and of this process: the machine's, never a lab's."""
    return {k: {ino for ino in (ns_inode(1, k), ns_inode(os.getpid(), k)) if ino} for k in NS_KINDS}


def lab_ns_inodes(cfg, namespaces, anchors):
    """{kind: inodes} of the namespaces the lab made or holds, read while its anchors still run: the lab's
    network namespaces, the anchors' mount and UTS namespaces (each host's), and below in lab_processes()
    the network namespaces of everything running in them (containers) and Docker's own (/run/docker/netns).
    An anchor counts only while its PID is still in its host's network namespace (no reused PID)."""
    owned = {k: set() for k in NS_KINDS}
    for ns in namespaces:
        ino = netns_inode(ns)
        if ino:
            owned["net"].add(ino)
    for pid in anchors:
        if pid and ns_inode(pid, "net") in owned["net"]:
            for kind in NS_KINDS:
                owned[kind].add(ns_inode(pid, kind))
            for d in ("run/docker/netns", "var/run/docker/netns"):
                try:
                    entries = os.listdir(f"/proc/{pid}/root/{d}")
                except OSError:
                    continue
                for entry in entries:
                    try:
                        owned["net"].add(os.stat(f"/proc/{pid}/root/{d}/{entry}").st_ino)
                    except OSError:
                        continue
    machine = machine_namespaces()
    return {k: {ino for ino in owned[k] if ino} - machine[k] for k in NS_KINDS}


def lab_mount_namespace(cfg, pid):
    """True when the mount namespace of `pid` has a lab host's overlays (its anchor may be gone already)."""
    markers = {f"upperdir={os.path.join(d, 'nodes')}/" for d in (cfg.dir, os.path.realpath(cfg.dir))}
    try:
        with open(f"/proc/{pid}/mountinfo") as f:
            return any(m in line for line in f for m in markers)
    except OSError:
        return False


def lab_processes(cfg, owned):
    """PIDs of every process in one of the `owned` namespaces (updated in place) or below one.

    Found as well: processes in the network namespace of anything below the lab (a probe server that
    entered a container's namespace and was reparented to PID 1 when its parent ended), and processes in
    a mount namespace that holds a lab host's overlays. The machine's own namespaces never count."""
    machine = machine_namespaces()
    for kind in NS_KINDS:
        owned[kind] -= machine[kind]
    checked_mnt = set()
    found, now = set(), set()
    for _pass in range(6):  # each pass may add namespaces (containers'); bounded if processes keep starting
        ids = {}
        for pid in all_pids():
            ids[pid] = {k: ns_inode(pid, k) for k in NS_KINDS}
            mnt = ids[pid]["mnt"]
            if mnt and mnt not in owned["mnt"] and mnt not in machine["mnt"] and mnt not in checked_mnt:
                checked_mnt.add(mnt)
                if lab_mount_namespace(cfg, pid):
                    owned["mnt"].add(mnt)
        now = {pid for pid, ns in ids.items() if any(ns[k] in owned[k] for k in NS_KINDS)}
        now |= descendants(now)
        nets = {ids[pid]["net"] for pid in now if ids.get(pid, {}).get("net")} - machine["net"]
        if now <= found and nets <= owned["net"]:
            break
        found |= now
        owned["net"] |= nets
    return now - ancestors(os.getpid()) - {1}  # the last look: no PID that has ended since


def down(cfg):
    t0 = time.time()
    state = load_state(cfg) or {}
    namespaces = lab_namespaces(cfg)
    anchors = {n["ns"]: n["pid"] for n in list(state.get("hosts", {}).values()) + [state.get("router") or {}]
               if n.get("ns")}
    # Which namespaces are the lab's, read before anything stops (the anchors hold them).
    owned = lab_ns_inodes(cfg, namespaces, anchors.values())
    lab_processes(cfg, owned)  # adds the containers' network namespaces while the containers run

    # Stop containers and dockerd politely, hosts in parallel.
    def stop_host(h):
        if h.get("kind") == "debian12":
            debian12().stop_for_down(h["ns"], h)
        elif alive(h.get("pid")):
            hexec(h["pid"], "sh", "-c", "ids=$(docker ps -aq 2>/dev/null); [ -z \"$ids\" ] || docker rm -f $ids",
                  check=False, timeout=60)
            hexec(h["pid"], "/etc/init.d/docker", "stop", check=False, timeout=60)

    threads = [threading.Thread(target=stop_host, args=(h,)) for h in state.get("hosts", {}).values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then end, by PID, every process in a lab namespace, in a container's network namespace or below
    # one of those; again while ending some lets others show (at most three rounds).
    for _round in range(3):
        pids = lab_processes(cfg, owned)
        if not pids:
            break
        end_processes(pids)
    for ns in namespaces:
        run(["ip", "netns", "del", ns], check=False)
    if state.get("os") == "debian12":
        debian12().remove_cgroups(cfg, list(state.get("hosts", {})))

    leftover = lab_namespaces(cfg)
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo") if cfg.dir in line]
    if leftover or mounts:
        raise LabError(f"could not remove everything: namespaces {leftover}, mounts {mounts}")
    if os.path.isdir(cfg.dir):
        run(["rm", "-rf", "--one-file-system", cfg.dir])
    parent = os.path.dirname(cfg.dir)
    if os.path.basename(parent) == ".lab" and os.path.isdir(parent) and not os.listdir(parent):
        os.rmdir(parent)
    return round(time.time() - t0, 1)


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_up(cfg):
    preflight(cfg)
    state = load_state(cfg)
    if state is not None or lab_namespaces(cfg):
        if state and state.get("config") == cfg.wanted() and healthy(state):
            log(f"lab {cfg.name} is already up ({cfg.hosts} hosts); nothing to do")
            state["python"] = cfg.python
            save_state(cfg, state)
            print(write_inventory(cfg, state))
            return
        if state and state.get("config") != cfg.wanted() and healthy(state):
            raise LabError(f"lab {cfg.name} is up with {state['config']}, not {cfg.wanted()}: "
                           f"run `make lab-down LAB_NAME={cfg.name}` first")
        log(f"lab {cfg.name} is half up: removing what is there first")
        down(cfg)
    try:
        state = build(cfg)
    except BaseException:
        log("bringing the lab up failed: removing what was built")
        try:
            down(cfg)
        except LabError as e:
            log(f"cleanup: {e}")
        raise
    path = write_inventory(cfg, state)
    log(f"lab {cfg.name} up in {state['up_seconds']} s: " +
        ", ".join(f"{n} ({h['version']})" for n, h in state["hosts"].items()))
    print(path)


def cmd_down(cfg):
    if os.geteuid() != 0:
        raise LabError("the lab needs root: run it with sudo or as root")
    if load_state(cfg) is None and not lab_namespaces(cfg) and not os.path.isdir(cfg.dir):
        log(f"lab {cfg.name} is not up; nothing to do")
        return
    seconds = down(cfg)
    log(f"lab {cfg.name} removed in {seconds} s")


def cmd_reboot(cfg):
    """Power hosts off and boot them again with their disks (LAB_OS=debian12); HOST=rt resets the router."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root: run it with sudo or as root")
    state = load_state(cfg)
    if not state or not state.get("hosts"):
        raise LabError(f"lab {cfg.name} is not up: run `make lab-up LAB_NAME={cfg.name}` first")
    # The lab as it was made, not as this shell's LAB_* say: a reboot must not drop the VLAN stand-ins
    # of a lab made with LAB_VLANS when `make lab-reboot` is run without it.
    cfg.vlans = list(state.get("config", {}).get("vlans", cfg.vlans))
    asked = (os.environ.get("HOST") or "").replace(",", " ").split()
    names = list(state["hosts"]) + ["rt"] if "all" in asked else (asked or list(state["hosts"]))
    unknown = [n for n in names if n != "rt" and n not in state["hosts"]]
    if unknown:
        raise LabError(f"HOST={' '.join(asked)}: no host {', '.join(unknown)} in lab {cfg.name} "
                       f"(hosts: {' '.join(state['hosts'])}, router: rt, or all)")
    hosts = [n for n in names if n != "rt"]
    if hosts and state.get("os") != "debian12":
        raise LabError(f"lab {cfg.name} has namespace hosts (LAB_OS=ns): they have no OS of their own to reboot. "
                       "Use HOST=rt for the router, or a lab made with LAB_OS=debian12")
    if "rt" in names:
        reboot_router(cfg, state)
    if hosts:
        t0 = time.time()
        debian12().reboot_hosts(cfg, state, hosts)
        log(f"rebooted {' '.join(hosts)} in {time.time() - t0:.1f} s")


def cmd_status(cfg):
    state = load_state(cfg)
    if state is None:
        print(f"lab {cfg.name}: not up")
        return
    kind = state.get("os", "ns")
    what = ("Debian 12 with systemd, booted by systemd-nspawn; ssh as ops" if kind == "debian12"
            else "namespace hosts, entered with nsenter")
    print(f"lab {cfg.name}: kind {kind} ({what})")
    print(f"lab {cfg.name}: underlay {UNDERLAY} on {state['ul']}, router {ROUTER_IP} ({state['router'].get('ns')}, "
          f"pid {state['router'].get('pid')}, {'alive' if alive(state['router'].get('pid')) else 'DEAD'})")
    print(f"inventory: {inventory_path(cfg)}")
    rows = [("host", "namespace", "pid", "engine", "dockerd", "eth0", "docker0")]
    for name, h in state["hosts"].items():
        version, bridge = "-", "-"
        if alive(h["pid"]):
            p = hexec(h["pid"], "docker", "version", "--format", "{{.Server.Version}}", check=False, timeout=10)
            version = p.stdout.strip() if p.returncode == 0 else "DOWN"
            p = hexec(h["pid"], "ip", "-4", "-o", "addr", "show", "docker0", check=False)
            bridge = p.stdout.split()[3] if p.returncode == 0 and p.stdout.split() else "-"
        else:
            version = "DEAD"
        rows.append((name, h["ns"], h["pid"], h["engine"], version, h["address"], bridge))
    print(format_columns(rows))


def format_columns(rows):
    """Rows of cells as aligned text: each column as wide as its widest cell, two spaces between."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def etcd_url():
    return f"etcd://{ROUTER_IP}:{ETCD_PORT}"


def cmd_etcd(cfg):
    """Start etcd (v2 API on) in the router namespace, once; wait until it answers there."""
    state = load_state(cfg)
    if not state or not healthy(state):
        raise LabError(f"lab {cfg.name} is not up: run `make lab-up LAB_NAME={cfg.name}` first")
    etcd = shutil.which("etcd")
    if not etcd:
        raise LabError("etcd is not installed: run scripts/bootstrap.sh (Debian package etcd-server)")
    rt = state["router"]["pid"]
    known = state.get("etcd") or {}
    if alive(known.get("pid")):
        log(f"etcd already runs in {cfg.ns('rt')} (pid {known['pid']}) at {etcd_url()}")
        print(etcd_url())
        return
    data = os.path.join(cfg.dir, "etcd")
    os.makedirs(data, exist_ok=True)
    client = f"http://{ROUTER_IP}:{ETCD_PORT},http://127.0.0.1:{ETCD_PORT}"
    with open(os.path.join(cfg.dir, "etcd.log"), "w") as logf:
        proc = subprocess.Popen(
            ["nsenter", "-t", str(rt), "-n", "-m", "-u", "--", etcd, "--name", "lab", "--data-dir", data,
             "--enable-v2=true", "--listen-client-urls", client,
             "--advertise-client-urls", f"http://{ROUTER_IP}:{ETCD_PORT}",
             "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "lab=http://127.0.0.1:2380"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    state["etcd"] = {"pid": proc.pid, "url": etcd_url()}
    save_state(cfg, state)
    # Ask from inside the router namespace: the machine's own namespace must never send to lab addresses.
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise LabError(f"etcd exited ({proc.returncode}): see {os.path.join(cfg.dir, 'etcd.log')}")
        p = run(["nsenter", "-t", str(rt), "-n", "--", "etcdctl", "--endpoints", f"http://127.0.0.1:{ETCD_PORT}",
                 "endpoint", "health"], check=False, timeout=10)
        if p.returncode == 0:
            log(f"etcd runs in {cfg.ns('rt')} (pid {proc.pid}) at {etcd_url()}, v2 API on")
            print(etcd_url())
            return
        time.sleep(0.2)
    raise LabError(f"etcd did not answer within 20 s: see {os.path.join(cfg.dir, 'etcd.log')}")


def main(argv):
    commands = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "etcd": cmd_etcd, "reboot": cmd_reboot,
                "inventory-path": lambda cfg: print(inventory_path(cfg)),
                "inventory-json": lambda cfg: print(json.dumps(inventory_json(cfg), indent=1))}
    if len(argv) != 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        commands[argv[1]](Config())
    except LabError as e:
        log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
