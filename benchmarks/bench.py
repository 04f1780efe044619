# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: data-plane and control-plane figures of every scheme, measured on the local lab.

    python benchmarks/bench.py                 measure, print the tables, write docs/benchmarks.{md,png}
    python benchmarks/bench.py --render FILE   render the docs again from a saved results JSON

Run as root (scripts/bench.sh bootstraps the venv and always brings the bench labs down). Settings:
    BENCH_SECONDS   iperf3 seconds per run (default 4)
    BENCH_REPS      interleaved repetitions per scheme (default 5)
    BENCH_PINGS     ICMP echoes per repetition and side, 10 ms apart (default 100)
    BENCH_TCP       TCP request/response round trips per repetition and side (default 1000)
    BENCH_SCHEMES   subset of: direct macvlan swarm kv (default all)
    BENCH_REFERENCE 1 (default): also measure each routed/overlay scheme's bare data path without
                    Docker (through the router; a plain VXLAN link) as a third interleaved side; 0: skip
    BENCH_FASTPATH  1 (default): direct routes in host-gw mode also run the fast-path settings (conntrack
                    bypass, GRO on the veths, bridge-nf-call-iptables off), each as a side of its own; 0: skip
    BENCH_PROFILE   1 (default): one extra run per side under `perf record -a` (grouped by kernel subsystem)
    BENCH_PIN       1: pin the iperf3 sender to CPU 0 and the receiver to CPU 1 (default 0: measured on this
                    machine, pinning made runs ~11% faster but not steadier)
    BENCH_LAB_PREFIX  lab names are <prefix>d, <prefix>m, <prefix>o, <prefix>k (default bench)
    BENCH_SCALE_SIZES control plane at scale (benchmarks/bench_scale.py): lab sizes in hosts, e.g. "3 10 25"
                    (default "3 10"; at most 50; 0: skip); labs <prefix>s<N> (prefix cut to 7 letters)
    BENCH_SCALE_MACVLAN 1: also playbooks/macvlan.yml at the largest size (default 0)
    BENCH_SCALE_SWARM 1 (default): also playbooks/overlay.yml (swarm) at every scale size; 0: skip
    BENCH_CLOUD_SIZES route_table (aws, in moto_server) writes and reads at these cluster sizes (default "3 10 25 50";
                    0: skip; benchmarks/bench_cloud_scale.py, no lab)
    BENCH_OUT       output stem (default docs/benchmarks: writes .md, .png; the raw results go to
                    .cache/bench/results.json)

For each scheme a lab of its own is brought up (3 hosts; Docker 20.10/26/28, or 3 x 20.10 for the
legacy key-value overlay), the collection's playbook converges it twice (first converge and
idempotent rerun: wall time, changed count, dockerd restarts per host from each host's
/var/log/docker.log), and then a container on h1 talks to a container on h2: iperf3 TCP throughput,
ICMP RTT (ping -i 0.01) and TCP request/response RTT (tcp_echo.py), each against the same
measurement between the hosts' own network namespaces over the same underlay, in the same run,
interleaved (baseline, scheme, scheme, baseline, ...). Every tool runs inside the namespaces with
`nsenter -n -t <pid>`; nothing is sent outside the lab. Not part of `make test`: no figure here is
asserted by any test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "lab"))

import benchlib  # noqa: E402  pylint: disable=wrong-import-position
import benchpath  # noqa: E402  pylint: disable=wrong-import-position
from labclient import LabClient, collections_path  # noqa: E402  pylint: disable=wrong-import-position

ALL_SCHEMES = ("direct", "macvlan", "swarm", "kv")
IPERF_PORT = 5201
ECHO_PORT = 5300
EP = "bench-ep"  # prefix of the endpoint container on each host (bench-ep-h1, ...): it only holds a netns
ENGINES_MIXED = "20.10 26 28"
HZ = os.sysconf("SC_CLK_TCK")

# Where a scheme's path differs from its bare path (shown next to a miss, after the measured figures
# that locate the cost: the bare path ratio and the scheme / bare path ratio).
NOTES = {
    "direct": ("Compared with the bare routed path (same router hop, no Docker), the containers' path adds on "
               "each host a veth pair, the docker0 bridge and an IP forwarding step through Docker's FORWARD "
               "chains (with conntrack); on this machine each of these is CPU work on the same few vCPUs that "
               "run iperf3, so a gap here is the per-packet cost of Docker's default bridge, paid the same way "
               "by any routed setup that uses it"),
    "macvlan": ("Container to container over macvlan on eth1 adds no IP hop; a miss points at noise "
                "(compare the baseline spread) or at CPU contention from other work on the machine"),
    "swarm": ("Compared with a bare VXLAN link between the hosts (same MTU), Docker's overlay adds on each host "
              "the container's veth pair and a bridge inside the overlay's own namespace in front of its VXLAN "
              "device; a gap between the bare path ratio and the scheme's ratio is that plumbing, not VXLAN "
              "encapsulation or fragmentation (see the fragment counters and the DF pings)"),
    "direct_hostgw": ("Host-gw mode: the baseline and the containers cross the same segment with no router; the "
                      "containers' path adds on each host a veth pair, the docker0 bridge (with br_netfilter) and an IP "
                      "forwarding step through Docker's FORWARD chains (with conntrack). See the fast-path table and "
                      "the profile for what each costs"),
    "kv": ("Same data path as the swarm overlay (a bridge and VXLAN device in an overlay namespace, MTU 1450); "
           "only the control plane (the cluster-store in etcd) differs"),
}


class BenchError(Exception):
    """A step of a scheme failed; the scheme is reported as `no data` with this message."""


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=120, check=True, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise BenchError(f"`{' '.join(str(c) for c in cmd)}` failed ({proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()[-1500:]}")
    return proc


def nsrun(pid, cmd, timeout=120, check=True):
    """Run a command (of this machine's filesystem) inside the network namespace of `pid` only."""
    return run(["nsenter", "-n", "-t", str(pid), "--", *cmd], timeout=timeout, check=check)


def nspopen(pid, cmd):
    return subprocess.Popen(["nsenter", "-n", "-t", str(pid), "--", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def stop(proc, timeout=10):
    """Wait for a process this harness started; end it by its PID if it does not exit."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            return proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.communicate()


# ---------------------------------------------------------------------------------------------
# Settings


class Settings:
    def __init__(self, env=None):
        env = os.environ if env is None else env

        def number(name, default, low):
            raw = env.get(name) or str(default)
            try:
                value = int(raw)
            except ValueError:
                raise SystemExit(f"bench: {name}={raw!r} is not a whole number: e.g. {name}={default}") from None
            if value < low:
                raise SystemExit(f"bench: {name}={value}: use {low} or more")
            return value

        self.seconds = number("BENCH_SECONDS", 4, 1)
        self.reps = number("BENCH_REPS", 5, 1)
        self.pings = number("BENCH_PINGS", 100, 10)
        self.tcp = number("BENCH_TCP", 1000, 10)
        self.planner_repeat = number("BENCH_PLANNER_REPEAT", 5, 1)
        self.reference = number("BENCH_REFERENCE", 1, 0) > 0
        self.fastpath = number("BENCH_FASTPATH", 1, 0) > 0
        self.profile = number("BENCH_PROFILE", 1, 0) > 0 and shutil.which("perf") is not None
        self.pin = number("BENCH_PIN", 0, 0) > 0 and (os.cpu_count() or 1) >= 2
        schemes = (env.get("BENCH_SCHEMES") or " ".join(ALL_SCHEMES)).replace(",", " ").split()
        unknown = [s for s in schemes if s not in ALL_SCHEMES]
        if unknown:
            raise SystemExit(f"bench: BENCH_SCHEMES: unknown {' '.join(unknown)}; use a subset of: {' '.join(ALL_SCHEMES)}")
        self.schemes = [s for s in ALL_SCHEMES if s in schemes]
        self.prefix = env.get("BENCH_LAB_PREFIX") or "bench"
        if not (self.prefix.isalnum() and self.prefix.islower() and self.prefix[0].isalpha() and len(self.prefix) <= 9):
            raise SystemExit(f"bench: BENCH_LAB_PREFIX={self.prefix!r}: 1-9 lower-case letters or digits")
        out = env.get("BENCH_OUT") or os.path.join(REPO, "docs", "benchmarks")
        self.md, self.png = out + ".md", out + ".png"
        self.results = os.path.join(REPO, ".cache", "bench", "results.json")
        self.scale_png = os.path.join(os.path.dirname(out), "img", "scale.png")
        import bench_scale  # pylint: disable=import-outside-toplevel

        try:
            self.scale_sizes = bench_scale.parse_sizes(env.get("BENCH_SCALE_SIZES"))
        except ValueError as e:
            raise SystemExit(f"bench: {e}") from None
        self.scale_macvlan = number("BENCH_SCALE_MACVLAN", 0, 0) > 0
        self.scale_swarm = number("BENCH_SCALE_SWARM", 1, 0) > 0
        import bench_cloud_scale  # pylint: disable=import-outside-toplevel

        try:
            self.cloud_sizes = bench_cloud_scale.parse_sizes(env.get("BENCH_CLOUD_SIZES"))
        except ValueError as e:
            raise SystemExit(f"bench: {e}") from None

    def describe(self):
        return {"seconds": self.seconds, "reps": self.reps, "pings": self.pings, "tcp": self.tcp,
                "reference": self.reference, "fastpath": self.fastpath, "profile": self.profile, "pin": self.pin,
                "schemes": self.schemes, "planner_repeat": self.planner_repeat,
                "scale_sizes": self.scale_sizes, "scale_macvlan": self.scale_macvlan,
                "scale_swarm": self.scale_swarm, "cloud_sizes": self.cloud_sizes}


# ---------------------------------------------------------------------------------------------
# Labs and playbooks


class Lab(LabClient):
    """A benchmark lab (lab/labclient.py): failures are BenchErrors, up and down are logged."""
    error = BenchError

    def __init__(self, name, hosts=3, engines=ENGINES_MIXED):
        super().__init__(name, hosts, engines)

    def lab(self, command, check=True, timeout=600, extra_env=None):
        return super().lab(command, check=check, timeout=timeout, extra_env=extra_env)

    def up(self):
        log(f"lab {self.name}: up ({len(self.hosts)} hosts, engines {self.env['LAB_ENGINES']})")
        return super().up()

    def down(self):
        if os.path.exists(os.path.join(self.dir, "state.json")):
            log(f"lab {self.name}: down")
        return super().down()

    def engines(self):
        return {h: n.get("version", n["engine"]) for h, n in self.state["hosts"].items()}

    def starts(self, host):
        """How often dockerd started on this host: its `Starting up` lines in /var/log/docker.log."""
        out = self.sh(host, "grep -c 'Starting up' /var/log/docker.log || true").stdout.strip()
        return int(out or 0)

    def playbook(self, playbook, extra_vars, extra_env=None, extra_inventory=None):
        """ansible-playbook against this lab with the ansible.posix.json callback; returns
        {"seconds", "stats", "doc", "rc"}."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=self.dir, delete=False) as f:
            json.dump(extra_vars, f)
            vars_file = f.name
        env = dict(self.env if extra_env is None else extra_env)
        env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_LOCALHOST_WARNING="False")
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.path.join(self.dir, "inventory.yml")]
        if extra_inventory:
            cmd += ["-i", extra_inventory]
        cmd += [os.path.join(REPO, playbook), "-e", "@" + vars_file]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=1200, check=False)
        finally:
            os.unlink(vars_file)
        seconds = time.perf_counter() - start
        try:
            doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            raise BenchError(f"{playbook}: no JSON from ansible-playbook ({proc.returncode}): "
                             f"{(proc.stdout + proc.stderr)[-2000:]}") from None
        return {"seconds": seconds, "stats": doc.get("stats", {}), "doc": doc, "rc": proc.returncode}


def failures(doc):
    """`host: task: msg` of every failed host result (and failed loop item) in a json-callback document."""
    out = []
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            for host, res in task.get("hosts", {}).items():
                if res.get("failed") or res.get("unreachable"):
                    items = [i for i in res.get("results") or [] if isinstance(i, dict) and i.get("failed")]
                    msgs = [str(i.get("msg", "")) for i in items] or [str(res.get("msg", ""))]
                    out.append(f"{host}: {task['task']['name']}: {' / '.join(msgs)[:600]}")
    return out


def changed_tasks(doc):
    """{task name: [hosts]} of the tasks that reported a change."""
    out = {}
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            hosts = sorted(h for h, res in task.get("hosts", {}).items() if res.get("changed"))
            if hosts:
                out.setdefault(task["task"]["name"], []).extend(hosts)
    return out


def task_results(doc, name):
    return [res for play in doc.get("plays", []) for task in play.get("tasks", [])
            if task["task"]["name"] == name or task["task"]["name"].endswith(" : " + name) for res in task.get("hosts", {}).values()]


def converge(sink, lab, title, playbook, extra_vars, **kw):
    """First converge and idempotent rerun of a playbook: seconds, changed, dockerd restarts per host.
    The record is appended to `sink` first, so that a failed run is reported too."""
    record = {"title": title, "hosts": len(lab.hosts), "playbook": playbook}
    sink.append(record)
    for phase in ("first", "rerun"):
        before = {h: lab.starts(h) for h in lab.hosts}
        log(f"{title}: {playbook} ({phase})")
        res = lab.playbook(playbook, extra_vars, **kw)
        after = {h: lab.starts(h) for h in lab.hosts}
        record[phase] = {"seconds": round(res["seconds"], 1), "changed": benchlib.recap_changed(res["stats"]),
                         "failed": benchlib.recap_failed(res["stats"]) or int(res["rc"] != 0),
                         "restarts": {h: after[h] - before[h] for h in lab.hosts},
                         "changed_tasks": changed_tasks(res["doc"])}
        log(f"{title}: {phase} {record[phase]['seconds']} s, changed {record[phase]['changed']}, "
            f"restarts {record[phase]['restarts']}")
        if record[phase]["failed"]:
            record["error"] = f"{playbook} failed ({phase}): " + " | ".join(failures(res["doc"])[:3] or [f"rc {res['rc']}"])
            if phase == "first":
                raise BenchError(record["error"])
            # The hosts did converge once: the data plane can still be measured; the failure is reported.
            log(f"{title}: {record['error']}")
    return record


# ---------------------------------------------------------------------------------------------
# Endpoints and measurements


class Endpoint:
    """A network namespace (by a PID in it) and the address others reach it at."""

    def __init__(self, label, pid, address):
        self.label, self.pid, self.address = label, pid, address

    def __repr__(self):
        return f"{self.label} {self.address} (pid {self.pid})"


def start_container(lab, host, network=None):
    """The endpoint container on `host`, named per host (endpoint names are cluster-wide on a global
    overlay network); returns its Endpoint (its PID's namespace, its address on `network`)."""
    name = f"{EP}-{host}"
    net = f"--network {network}" if network else ""
    lab.sh(host, f"docker rm -f {name} >/dev/null 2>&1; docker run -d --init --name {name} {net} local/probe:latest sleep 86400")
    fmt = ("{{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % network if network
           else "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
    address = lab.sh(host, f"docker inspect -f '{fmt}' {name}").stdout.strip()
    pid = int(lab.sh(host, f"docker inspect -f '{{{{.State.Pid}}}}' {name}").stdout.strip())
    if not address or not pid:
        raise BenchError(f"{host}: container {name} has no address on {network or 'its network'}")
    return Endpoint(f"{host}/{name}", pid, address)


def host_endpoint(lab, host, dev):
    out = lab.sh(host, f"ip -4 -o addr show dev {dev}").stdout.split()
    address = out[out.index("inet") + 1].split("/")[0]
    return Endpoint(f"{host}/{dev}", lab.pid(host), address)


def wait_listening(pid, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if nsrun(pid, ["ss", "-Hltn", f"sport = :{port}"], check=False).stdout.strip():
            return
        time.sleep(0.05)
    raise BenchError(f"nothing listens on port {port} in the namespace of pid {pid} after {timeout} s")


def snmp(pid):
    with open(f"/proc/{pid}/net/snmp") as f:  # the counters of the network namespace pid is in
        return benchlib.parse_snmp_ip(f.read())


def proc_stat():
    with open("/proc/stat") as f:
        return benchpath.parse_proc_stat(f.read())


def pinned(cmd, cpu):
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd


def iperf3(src, dst, seconds, watch, pin=False):
    """One iperf3 TCP test src -> dst; returns parse_iperf3() plus the fragments seen in `watch` pids
    and the machine's CPU cost of the run (benchpath.cpu_cost, from /proc/stat around the client)."""
    before = {p: snmp(p) for p in watch}
    server = nspopen(dst.pid, pinned(["iperf3", "-s", "-1", "-p", str(IPERF_PORT)], 1 if pin else None))
    try:
        wait_listening(dst.pid, IPERF_PORT)
        stat0 = proc_stat()
        proc = nsrun(src.pid, pinned(["iperf3", "-c", dst.address, "-p", str(IPERF_PORT), "-t", str(seconds), "-J"],
                                     0 if pin else None), timeout=seconds + 60, check=False)
        stat1 = proc_stat()
    finally:
        stop(server)
    result = benchlib.parse_iperf3(proc.stdout)
    result["fragments"] = sum(benchlib.fragments(before[p], snmp(p)) for p in watch)
    result["cost"] = benchpath.cpu_cost(stat0, stat1, result["bps"] * result["seconds"] / 8, HZ)
    return result


def perf_profile(lab, src, dst, seconds):
    """`perf record -a` (cpu-clock) while one iperf3 run src -> dst goes on; the report's symbols with
    their share of the samples, [[percent, symbol, user], ...] (benchpath.parse_perf_report)."""
    data = os.path.join(lab.dir, "bench-perf.data")
    server = nspopen(dst.pid, ["iperf3", "-s", "-1", "-p", str(IPERF_PORT)])
    try:
        wait_listening(dst.pid, IPERF_PORT)
        perf = subprocess.Popen(["perf", "record", "-q", "-a", "-e", "cpu-clock", "-o", data, "--", "sleep", str(seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        nsrun(src.pid, ["iperf3", "-c", dst.address, "-p", str(IPERF_PORT), "-t", str(seconds + 1), "-J"],
              timeout=seconds + 60, check=False)
        stop(perf, timeout=seconds + 30)
    finally:
        stop(server)
    try:
        report = run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "sym", "--percent-limit", "0.2"],
                     timeout=300, check=False).stdout
    finally:
        if os.path.exists(data):
            os.unlink(data)
    return [list(e) for e in benchpath.parse_perf_report(report)]


def icmp(src, dst, count):
    proc = nsrun(src.pid, ["ping", "-n", "-i", "0.01", "-W", "1", "-c", str(count), dst.address],
                 timeout=count * 0.05 + 30, check=False)
    res = benchlib.parse_ping(proc.stdout)
    if not res["rtt_ms"]:
        raise BenchError(f"ping {src} -> {dst}: no replies: {proc.stdout[-300:]}{proc.stderr[-300:]}")
    return res


def tcp_rtt(src, dst, count):
    echo = os.path.join(HERE, "tcp_echo.py")
    server = nspopen(dst.pid, [sys.executable, echo, "serve", "--port", str(ECHO_PORT)])
    try:
        server.stdout.readline()  # "listening"
        proc = nsrun(src.pid, [sys.executable, echo, "ping", "--host", dst.address, "--port", str(ECHO_PORT),
                               "--count", str(count)], timeout=120, check=False)
    finally:
        stop(server)
    if proc.returncode != 0:
        raise BenchError(f"tcp_echo {src} -> {dst} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)["rtt_us"]


def path_mtu(src, dst):
    dev = benchlib.parse_route_dev(nsrun(src.pid, ["ip", "-o", "route", "get", dst.address]).stdout)
    return benchlib.parse_mtu(nsrun(src.pid, ["ip", "-o", "link", "show", "dev", dev]).stdout)


def df_ping(src, dst, mtu):
    """Don't-fragment pings: a packet of exactly the MTU must pass, one byte more must be refused."""
    size = mtu - 28  # IPv4 and ICMP headers

    def ok(payload):
        return nsrun(src.pid, ["ping", "-n", "-M", "do", "-c", "3", "-i", "0.2", "-W", "1", "-s", str(payload), dst.address],
                     timeout=30, check=False).returncode == 0

    return {"mtu": mtu, "size": size, "at_mtu": ok(size), "above_mtu_refused": not ok(size + 1)}


class Variant:
    """A fast-path setting measured as a side of its own: the scheme's pair with `on` applied before
    each of its runs and `off` after (so every other side runs on Docker's default path)."""

    def __init__(self, name, description, on, off):
        self.name, self.description, self.on, self.off = name, description, on, off


def data_plane(key, title, target, base, scheme, settings, watch, needs_no_fragments=False, reference=None,
               variants=(), lab=None):
    """Interleaved repetitions of throughput and latency: the baseline pair, the scheme pair, when
    given a reference pair (the scheme's bare data path without Docker: (src, dst, description)), and
    one side per fast-path Variant (the scheme pair with the setting on). With settings.profile and a
    lab, one more run per pair side under perf."""
    pairs = {"baseline": base, "scheme": scheme}
    if reference:
        pairs[benchlib.REFERENCE] = reference[:2]
    toggles = {v.name: v for v in variants}
    for name in toggles:
        pairs[name] = scheme
    sides = list(pairs)
    result = {"key": key, "title": title, "target": target, "note": NOTES.get(key),
              "needs_no_fragments": needs_no_fragments, "reference": reference[2] if reference else None,
              "variants": {v.name: v.description for v in variants},
              "pair": {side: f"{s} -> {d}" for side, (s, d) in pairs.items()},
              "throughput_bps": {side: [] for side in sides}, "retransmits": {side: [] for side in sides},
              "cpu": {side: [] for side in sides}, "cpu_cost": {side: [] for side in sides},
              "icmp_ms": {side: [] for side in sides}, "icmp_loss": {side: 0 for side in sides},
              "tcp_us": {side: [] for side in sides}, "fragments": {side: 0 for side in sides}, "mtu": {}}
    for side, (src, dst) in pairs.items():
        if side in toggles:
            toggles[side].on()
        try:
            warm = nsrun(src.pid, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", dst.address], timeout=30, check=False)
        finally:
            if side in toggles:
                toggles[side].off()
        if warm.returncode != 0:
            raise BenchError(f"{title}: {side} {src} cannot reach {dst}: {warm.stdout[-300:]}")
        if side not in toggles:
            result["mtu"][side] = path_mtu(src, dst)
    result["df_ping"] = df_ping(*scheme, result["mtu"]["scheme"])
    result["df_ping_baseline"] = df_ping(*base, result["mtu"]["baseline"])
    for rep, side in benchlib.interleaved_order(settings.reps, sides):
        src, dst = pairs[side]
        if side in toggles:
            toggles[side].on()
        try:
            res = iperf3(src, dst, settings.seconds, watch.get(side, watch["scheme"]), pin=settings.pin)
            pings = icmp(src, dst, settings.pings)
            rtts = tcp_rtt(src, dst, settings.tcp)
        finally:
            if side in toggles:
                toggles[side].off()
        result["throughput_bps"][side].append(res["bps"])
        result["retransmits"][side].append(res["retransmits"])
        result["cpu"][side].append([res["cpu_sender"], res["cpu_receiver"]])
        result["cpu_cost"][side].append(res["cost"])
        result["fragments"][side] += res["fragments"]
        result["icmp_ms"][side].extend(pings["rtt_ms"])
        result["icmp_loss"][side] += (pings["sent"] or 0) - (pings["received"] or 0)
        result["tcp_us"][side].extend(rtts)
        log(f"{title}: rep {rep + 1}/{settings.reps} {side:9} {res['bps'] / 1e9:6.2f} Gbit/s, "
            f"{res['cost']['cpu_s_per_gb']:.3f} CPU s/GB, retr {res['retransmits']}, "
            f"ping p50 {benchlib.percentile(pings['rtt_ms'], 50) * 1000:.0f} µs")
    if settings.profile and lab is not None:
        result["profile"] = {}
        for side in [s for s in sides if s not in toggles]:
            result["profile"][side] = perf_profile(lab, *pairs[side], settings.seconds)
            log(f"{title}: profile {side}: {benchpath.profile_line(benchpath.profile_groups(result['profile'][side]))}")
    return result


def routed_reference(lab):
    """h1 -> rt -> h2 without Docker: /32 addresses on the hosts' loopbacks (10.98.0.1, .2), routed
    through the VPC router both ways, like the containers' traffic. Outside the role's pool."""
    h1, h2 = (lab.state["hosts"][h]["address"] for h in ("h1", "h2"))
    router = lab.state["router"]
    run(["nsenter", "-t", str(router["pid"]), "-n", "--", "sh", "-c",
         f"ip route replace 10.98.0.1/32 via {h1} && ip route replace 10.98.0.2/32 via {h2}"])
    for host, mine, peer in (("h1", "10.98.0.1", "10.98.0.2"), ("h2", "10.98.0.2", "10.98.0.1")):
        lab.sh(host, f"ip addr replace {mine}/32 dev lo && ip route replace {peer}/32 via {router['address']} src {mine}")
    return (Endpoint("h1/lo", lab.pid("h1"), "10.98.0.1"), Endpoint("h2/lo", lab.pid("h2"), "10.98.0.2"),
            "host to host through the router rt")


def vxlan_reference(lab, mtu):
    """h1 <-> h2 over a plain kernel VXLAN link between the hosts' own namespaces (VNI 4242, UDP 4790,
    so it never meets Docker's VXLAN sockets on 4789), with the overlay's MTU: VXLAN without Docker."""
    h1, h2 = (lab.state["hosts"][h]["address"] for h in ("h1", "h2"))
    for host, mine, local, peer in (("h1", "10.97.0.1", h1, h2), ("h2", "10.97.0.2", h2, h1)):
        lab.sh(host, "ip link del xhbench 2>/dev/null; "
                     f"ip link add xhbench type vxlan id 4242 remote {peer} local {local} dstport 4790 dev eth0 && "
                     f"ip link set xhbench mtu {mtu} up && ip addr add {mine}/24 dev xhbench")
    return (Endpoint("h1/xhbench", lab.pid("h1"), "10.97.0.1"), Endpoint("h2/xhbench", lab.pid("h2"), "10.97.0.2"),
            "a plain VXLAN link between the hosts")


# ---------------------------------------------------------------------------------------------
# Schemes: each brings up its own lab, converges it with the collection's playbook, measures.


def scheme_direct(ctx):
    lab = ctx.lab("d")
    converge(ctx.control, lab, "direct route", "playbooks/direct_route.yml", {})
    src, dst = start_container(lab, "h1"), start_container(lab, "h2")
    base = host_endpoint(lab, "h1", "eth0"), host_endpoint(lab, "h2", "eth0")
    hosts = [lab.pid("h1"), lab.pid("h2")]
    result = data_plane("direct", "direct route", TARGETS["direct"], base, (src, dst), ctx.settings,
                        {"baseline": hosts, "scheme": hosts + [src.pid, dst.pid]},
                        reference=routed_reference(lab) if ctx.settings.reference else None, lab=lab)
    result["lab"] = lab.engines()
    ctx.results.append(result)
    cloud_writes(ctx, lab)
    direct_host_gw(ctx, lab, src, dst, base)


def direct_host_gw(ctx, lab, src, dst, base):
    """The same lab in host-gw mode (`direct_route_router` empty: every host routes its peers' subnets
    to their underlay addresses, no router hop), so that the containers' path and the host-to-host
    baseline cross the same devices; Docker's default path against each fast-path setting."""
    log("direct route (host-gw): playbooks/direct_route.yml -e direct_route_router=")
    res = lab.playbook("playbooks/direct_route.yml", {"direct_route_router": ""})
    if res["rc"] != 0:
        raise BenchError("direct_route.yml in host-gw mode failed: " + " | ".join(failures(res["doc"])[:3]))
    route = lab.sh("h1", f"ip -o route get {dst.address}").stdout
    if f"via {base[1].address}" not in route:
        raise BenchError(f"host-gw: h1 does not route {dst.address} straight to h2 ({base[1].address}): {route.strip()}")
    hosts = [lab.pid("h1"), lab.pid("h2")]
    variants = fast_path_variants(lab, src, dst) if ctx.settings.fastpath else ()
    result = data_plane("direct_hostgw", "direct route (host-gw)", TARGETS["direct_hostgw"], base, (src, dst), ctx.settings,
                        {"baseline": hosts, "scheme": hosts + [src.pid, dst.pid]}, variants=variants, lab=lab)
    result["lab"] = lab.engines()
    ctx.results.append(result)


def subnet_of(lab, host):
    return lab.sh(host, "docker network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}'").stdout.strip()


def fast_path_variants(lab, src, dst):
    """The settings a profile of Docker's default path points at, each switched on for its own runs
    only, on h1 and h2 (the two ends), and switched back to what it was after each run."""
    subnets = {h: subnet_of(lab, h) for h in ("h1", "h2")}
    raw = [f"-s {subnets['h1']} -d {subnets['h2']}", f"-s {subnets['h2']} -d {subnets['h1']}"]

    def notrack(action):
        def apply():
            for host in ("h1", "h2"):
                lab.sh(host, " && ".join(f"iptables -w -t raw {action} PREROUTING {m} -m comment --comment crosshost-bench "
                                         "-j NOTRACK" for m in raw))
        return apply

    ends = []  # (netns pid, device): both ends of each endpoint container's veth
    for host, ep in (("h1", src), ("h2", dst)):
        peer = nsrun(ep.pid, ["cat", "/sys/class/net/eth0/iflink"]).stdout.strip()
        dev = lab.sh(host, f"ip -o link | awk -F': ' '$1 == {peer} {{print $2}}'").stdout.strip().split("@")[0]
        if not dev:
            raise BenchError(f"{host}: no host end of {ep.label}'s veth (ifindex {peer})")
        ends += [(lab.pid(host), dev), (ep.pid, "eth0")]
    # GRO as it was on each end, put back after each run
    veths = {(pid, dev): "on" if "generic-receive-offload: on" in nsrun(pid, ["ethtool", "-k", dev]).stdout else "off"
             for pid, dev in ends}

    def gro(state):
        def apply():
            for (pid, dev), was in veths.items():
                nsrun(pid, ["ethtool", "-K", dev, "gro", state or was])
        return apply

    brnf = "/proc/sys/net/bridge/bridge-nf-call-iptables"
    brnf_was = {h: lab.sh(h, f"cat {brnf} 2>/dev/null || true").stdout.strip() for h in ("h1", "h2")}

    def bridge_nf(value):
        def apply():
            for host, was in brnf_was.items():
                lab.sh(host, f"echo {value or was} > {brnf}")
        return apply

    variants = [
        Variant("notrack", "raw-table NOTRACK for the two container subnets both ways, on both hosts (conntrack bypass)",
                notrack("-I"), notrack("-D")),
        Variant("gro", "GRO on both ends of each endpoint container's veth (it was "
                f"{'/'.join(sorted(set(veths.values())))})", gro("on"), gro(None)),
    ]
    if all(brnf_was.values()):
        variants.append(Variant("bridge-nf off", "net.bridge.bridge-nf-call-iptables=0 on both hosts (it was "
                                f"{'/'.join(sorted(set(brnf_was.values())))})", bridge_nf("0"), bridge_nf(None)))
    return variants


def scheme_macvlan(ctx):
    lab = ctx.lab("m")
    network = {"name": "bench_mac", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1",
               "reserved": ["192.168.2.240/28"]}
    converge(ctx.control, lab, "macvlan", "playbooks/macvlan.yml",
             {"macvlan_networks": [network], "macvlan_verify_image": "{{ lab_image }}"})
    src, dst = start_container(lab, "h1", "bench_mac"), start_container(lab, "h2", "bench_mac")
    # The baseline needs addresses on the macvlan segment's own underlay (eth1): from the reserved range.
    for n, host in ((241, "h1"), (242, "h2")):
        lab.sh(host, f"ip addr replace 192.168.2.{n}/24 dev eth1")
    base = host_endpoint(lab, "h1", "eth1"), host_endpoint(lab, "h2", "eth1")
    hosts = [lab.pid("h1"), lab.pid("h2")]
    result = data_plane("macvlan", "macvlan", TARGETS["macvlan"], base, (src, dst), ctx.settings,
                        {"baseline": hosts, "scheme": hosts + [src.pid, dst.pid]}, lab=lab)
    result["lab"] = lab.engines()
    ctx.results.append(result)


def overlay(ctx, key, title, lab, backend, extra):
    if not os.path.exists(os.path.join(REPO, "playbooks", "overlay.yml")):
        raise BenchError("playbooks/overlay.yml does not exist yet")
    network = {"name": f"bench_{key}", "subnet": "10.30.0.0/24"}
    variables = {"overlay_backend": backend, "overlay_networks": [network], "overlay_verify_image": "{{ lab_image }}"}
    variables.update(extra)
    converge(ctx.control, lab, title, "playbooks/overlay.yml", variables)
    src, dst = start_container(lab, "h1", network["name"]), start_container(lab, "h2", network["name"])
    base = host_endpoint(lab, "h1", "eth0"), host_endpoint(lab, "h2", "eth0")
    hosts = [lab.pid("h1"), lab.pid("h2")]
    reference = vxlan_reference(lab, path_mtu(src, dst)) if ctx.settings.reference else None
    result = data_plane(key, title, TARGETS[key], base, (src, dst), ctx.settings,
                        {"baseline": hosts, "scheme": hosts + [src.pid, dst.pid]}, needs_no_fragments=True,
                        reference=reference, lab=lab)
    result["lab"] = lab.engines()
    ctx.results.append(result)


def scheme_swarm(ctx):
    overlay(ctx, "swarm", "swarm overlay", ctx.lab("o"), "swarm", {})


def scheme_kv(ctx):
    lab = ctx.lab("k", engines="20.10")
    lab.lab("etcd")
    overlay(ctx, "kv", "kv overlay (20.10)", lab, "kv", {"overlay_kv_url": "{{ lab_etcd_url }}"})


SCHEMES = {"direct": scheme_direct, "macvlan": scheme_macvlan, "swarm": scheme_swarm, "kv": scheme_kv}
TITLES = {"direct": "direct route", "macvlan": "macvlan", "swarm": "swarm overlay", "kv": "kv overlay (20.10)"}
# Issue 15's targets, scheme / bare path of the same topology (host to host on the parent for macvlan).
TARGETS = {"direct": 0.95, "direct_hostgw": 0.95, "macvlan": 0.95, "swarm": 0.95, "kv": 0.95}


# ---------------------------------------------------------------------------------------------
# Cloud write calls (AWS route table in moto_server, counted by moto's own request recorder)


AWS_UNSAFE = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "AWS_PROFILE",
              "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
              "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
              "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
AWS_SAFE = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


def aws_env(base):
    env = {k: v for k, v in base.items() if k not in AWS_UNSAFE}
    env.update(AWS_SAFE)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_call(url, path):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url + path, data=b"" if "recording" in path and "download" not in path else None)
    with opener.open(req, timeout=10) as resp:
        return resp.read().decode()


def cloud_writes(ctx, lab):
    """The direct_route role with provider aws against moto_server on 127.0.0.1, on the hosts the
    direct-route scheme converged: first run (creates the routes) and rerun. Write calls are counted
    on the server side with moto's request recorder (every API request moto receives), classified
    by action; the module's own `write_calls` is kept next to it as a cross-check."""
    import boto3  # pylint: disable=import-outside-toplevel

    title = "direct route, AWS route table (moto)"
    record = {"title": title, "hosts": len(lab.hosts), "playbook": "playbooks/direct_route.yml"}
    ctx.control.append(record)
    moto_server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    tmp = tempfile.mkdtemp(prefix="crosshost-bench-moto-")
    env = aws_env(os.environ)
    env["MOTO_RECORDER_FILEPATH"] = os.path.join(tmp, "recording.jsonl")
    with open(os.path.join(tmp, "moto.log"), "w") as logf:
        proc = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)], stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                moto_call(url, "/moto-api/")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise BenchError("moto_server did not start") from None
                time.sleep(0.2)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(aws_env(saved))
        try:
            ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDBENCH",
                               aws_secret_access_key="bench-secret")
            vpc = ec2.create_vpc(CidrBlock="192.168.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="192.168.1.0/24")["Subnet"]["SubnetId"]
            started = ec2.run_instances(ImageId="ami-12c6146b", MinCount=len(lab.hosts), MaxCount=len(lab.hosts),
                                        SubnetId=subnet)["Instances"]
            instances = [i["InstanceId"] for i in started]
            rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        finally:
            os.environ.clear()
            os.environ.update(saved)
        local = os.path.join(lab.dir, "bench-localhost.yml")
        with open(local, "w") as f:
            f.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                    f"      ansible_python_interpreter: {json.dumps(sys.executable)}\n")
        variables = {"direct_route_provider": "aws", "direct_route_route_table_id": rtb, "direct_route_region": "us-east-1",
                     "direct_route_endpoint_url": url, "direct_route_access_key": "AKIDBENCH",
                     "direct_route_secret_key": "bench-secret", "direct_route_verify": False,
                     "bench_instances": dict(zip(lab.hosts, instances)),
                     "direct_route_next_hop": "{{ bench_instances[inventory_hostname] }}"}
        cloud = {}
        for phase in ("first", "rerun"):
            moto_call(url, "/moto-api/recorder/reset-recording")
            moto_call(url, "/moto-api/recorder/start-recording")
            before = {h: lab.starts(h) for h in lab.hosts}
            log(f"{title}: {phase}")
            res = lab.playbook("playbooks/direct_route.yml", variables, extra_env=aws_env(lab.env), extra_inventory=local)
            moto_call(url, "/moto-api/recorder/stop-recording")
            reads, writes = benchlib.cloud_calls(moto_call(url, "/moto-api/recorder/download-recording"))
            module = task_results(res["doc"], "Routes in the cloud route table")
            record[phase] = {"seconds": round(res["seconds"], 1), "changed": benchlib.recap_changed(res["stats"]),
                             "failed": benchlib.recap_failed(res["stats"]) or int(res["rc"] != 0),
                             "restarts": {h: lab.starts(h) - before[h] for h in lab.hosts},
                             "changed_tasks": changed_tasks(res["doc"])}
            cloud[phase] = {"reads": reads, "writes": writes,
                            "module_write_calls": module[0].get("write_calls") if module else None}
            log(f"{title}: {phase} {record[phase]['seconds']} s, changed {record[phase]['changed']}, "
                f"cloud writes {len(writes)} {sorted(set(writes))} (module says {cloud[phase]['module_write_calls']}), reads {len(reads)}")
            if record[phase]["failed"]:
                record["error"] = f"direct_route.yml with provider aws failed ({phase}): " + " | ".join(failures(res["doc"])[:3])
                break
        record["cloud"] = cloud if "rerun" in cloud else None
        return record
    finally:
        proc.terminate()  # the moto_server this harness started, by its PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Planner, machine


def planner_figures(repeat):
    import bench_subnet_plan  # pylint: disable=import-outside-toplevel

    planner = bench_subnet_plan.load_planner()
    out = {}
    for with_state in (False, True):
        wall, cpu = bench_subnet_plan.median_seconds(planner, bench_subnet_plan.inputs(1000, with_state), repeat)
        out["rerun" if with_state else "first"] = {"wall": wall, "cpu": cpu}
    out["repeat"] = repeat
    return out


def planning_figures(repeat):
    """Planning and the verify plan for 1000 simulated hosts (benchmarks/bench_planning.py)."""
    import bench_planning  # pylint: disable=import-outside-toplevel

    return bench_planning.planning_figures(1000, repeat)


def machine():
    info = {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
        with open("/etc/os-release") as f:
            info["os"] = next((line.split("=", 1)[1].strip().strip('"') for line in f if line.startswith("PRETTY_NAME")), "?")
    except OSError:
        pass
    lscpu = run(["lscpu"], check=False).stdout if shutil.which("lscpu") else ""
    hypervisor = [line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Hypervisor vendor")]
    info["virtualization"] = f"{hypervisor[0]} guest" if hypervisor else "no hypervisor reported"
    info["iperf3"] = run(["iperf3", "--version"], check=False).stdout.split("\n")[0].strip()
    try:
        import ansible.release  # pylint: disable=import-outside-toplevel
        info["ansible_core"] = ansible.release.__version__
    except ImportError:
        info["ansible_core"] = "?"
    info["load_start"] = os.getloadavg()
    return info


# ---------------------------------------------------------------------------------------------
# Report


def report(data, png="benchmarks.png", scale_chart="img/scale.png"):
    """(markdown, text) of a results document; `png` and `scale_chart` are the charts' paths relative
    to the markdown."""
    summaries = [benchlib.summarize(r) for r in data["results"]]
    header, rows = benchlib.data_plane_rows(summaries)
    cheader, crows = benchlib.control_plane_rows(data["control"])
    m, s = data["machine"], data["settings"]
    engines = sorted({v for r in data["results"] for v in (r.get("lab") or {}).values()})
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`scripts/bench.sh` -> `benchmarks/bench.py`) on "
        f"{data['date']}; do not edit by hand. Ratios are what counts: every scheme is compared with "
        "the bare path of the same topology (the same devices and hops without Docker: host to host on the "
        "same segment, through the same router, or over a plain VXLAN link), measured in the same run and "
        "interleaved with it; the host-to-host figure is shown next to it.",
        "",
        f"![throughput ratios and added latency]({png})",
        "",
    ]
    warning = benchlib.noise_warning(m, summaries)
    if warning:
        lines += [warning, ""]
    goals = targets(data, summaries)
    if goals:
        lines += ["## Targets on this machine", "", benchlib.markdown_table(["target", "verdict", "measured"], [list(g) for g in goals]), ""]
    lines += [
        "## Data plane",
        "",
        "Container on h1 to container on h2; latency in brackets: host to host. `ratio`: scheme / bare path "
        "(the headline, against the target); spread: (max − min) / median of the bare path's and the scheme's "
        "repetitions. Throughput: median "
        f"of {s['reps']} iperf3 runs of {s['seconds']} s; latency: p50/p99 over all samples of all "
        f"repetitions ({s['pings']} ICMP echoes and {s['tcp']} TCP round trips per repetition and side); "
        "retr.: median iperf3 retransmits per run of the scheme; MTU: the path MTU of the scheme (baseline).",
        "",
        benchlib.markdown_table(header, rows),
        "",
    ]
    for summ, res in zip(summaries, data["results"]):
        lines.append(f"- **{summ['title']}**: {verdict_text(summ, res)}")
    lines += [""] + benchpath.section(data["results"])
    lines += ["", "## Control plane", "",
              "Wall time of `ansible-playbook` (the collection's playbook on a fresh lab; the role's own "
              "verification included), `changed` summed over hosts from the play recap, dockerd restarts "
              "per host counted from each host's `/var/log/docker.log` (`Starting up` lines) before and after "
              "the run. Cloud writes: API calls other than Describe/Get/List that moto_server received, from "
              "its request recorder.", "",
              benchlib.markdown_table(cheader, crows), ""]
    for run_ in data["control"]:
        if run_.get("error"):
            lines.append(f"- **{run_['title']}**: {run_['error']}")
        rerun_changes = (run_.get("rerun") or {}).get("changed_tasks")
        if rerun_changes:
            lines.append(f"- **{run_['title']}**: tasks that reported a change on the rerun: "
                         + "; ".join(f"`{t}` ({', '.join(h)})" for t, h in rerun_changes.items()))
        cloud = run_.get("cloud")
        if cloud:
            lines.append(f"- **{run_['title']}**: first run wrote {', '.join(sorted(set(cloud['first']['writes']))) or 'nothing'} "
                         f"({len(cloud['first']['writes'])} calls; the module reported {cloud['first']['module_write_calls']}), "
                         f"rerun {len(cloud['rerun']['writes'])} writes and {len(cloud['rerun']['reads'])} reads "
                         f"(module: {cloud['rerun']['module_write_calls']}). The hosts were already converged by the "
                         "direct-route run above, so its `first` is the route table's first run, not the hosts'.")
    planner = data.get("planner")
    if planner:
        lines += ["", f"Subnet planner (`benchmarks/bench_subnet_plan.py`), 1000 hosts, median of {planner['repeat']} runs: "
                  f"first plan {planner['first']['wall'] * 1000:.0f} ms wall / {planner['first']['cpu'] * 1000:.0f} ms CPU, "
                  f"rerun with half the hosts sticky {planner['rerun']['wall'] * 1000:.0f} ms wall / "
                  f"{planner['rerun']['cpu'] * 1000:.0f} ms CPU."]
    if data.get("planning"):
        import bench_planning  # pylint: disable=import-outside-toplevel

        lines += [""] + bench_planning.section(data["planning"])
    if data.get("scale"):
        import bench_scale  # pylint: disable=import-outside-toplevel

        if not data.get("planning"):
            lines += ["", "## Control plane at scale"]
        lines += [""] + bench_scale.section(data["scale"], chart=scale_chart)
    if data.get("cloud_scale"):
        import bench_cloud_scale  # pylint: disable=import-outside-toplevel

        lines += [""] + bench_cloud_scale.section(data["cloud_scale"])
    lines += ["", "## Repetitions", "", "Throughput per repetition, Gbit/s, per side:", ""]
    for res in data["results"]:
        thr = res.get("throughput_bps") or {}
        if thr.get("scheme"):
            lines.append(f"- {res['title']}: " + "; ".join(
                f"{benchpath.SIDE_NAMES.get(side, side)} " + ", ".join(f"{v / 1e9:.2f}" for v in values)
                for side, values in thr.items() if values))
    lines += ["", "## Machine", "",
              f"- CPU: {m.get('cpu', '?')}, {m.get('cpus')} CPUs ({m.get('virtualization', '?')}), "
              f"{m.get('memory_gib', '?')} GiB",
              f"- OS: {m.get('os', '?')}, kernel {m.get('kernel')}",
              f"- Docker engines in the labs: {', '.join(engines) or '-'}",
              f"- {m.get('iperf3')}; ansible-core {m.get('ansible_core')}; Python {m.get('python')}",
              f"- load average (1/5/15 min) at start {fmt_load(m.get('load_start'))}, at end {fmt_load(m.get('load_end'))}",
              f"- whole run {data.get('duration_s', 0):.0f} s"
              + ("" if not data.get("timings") else
                 " (" + ", ".join(f"{k} {v:.0f} s" for k, v in data["timings"].items()) + ", each with its lab up and down)"),
              "", "## Method", ""]
    lines += METHOD
    return "\n".join(lines) + "\n", text_report(data, summaries, header, rows, cheader, crows)


def targets(data, summaries):
    """Issue 15's targets against this run: [(target, "met" | "not met" | "no data", what was measured)]."""
    out = []
    for summ in summaries:
        if summ.get("target") is None:
            continue
        what = {"macvlan": "host to host on the parent"}.get(summ["key"], summ.get("reference") or "host to host, same segment")
        if summ.get("ratio") is None:
            out.append((f"{summ['title']}: ≥ {summ['target']:.2f} of {what}", "no data", summ.get("why") or ""))
            continue
        paths = {p["key"]: p for p in (benchpath.summarize_path(r) for r in data["results"] if r.get("throughput_bps"))}
        why = f"{summ['ratio']:.2f} (repetitions {summ['ratio_min']:.2f}-{summ['ratio_max']:.2f})"
        path = paths.get(summ["key"]) or {}
        costs = {side: benchpath.profile_cost(groups, path["sides"][side]["cpu_s_per_gb"])
                 for side, groups in (path.get("profile") or {}).items() if path["sides"].get(side, {}).get("cpu_s_per_gb")}
        bare = benchlib.REFERENCE if benchlib.REFERENCE in costs else "baseline"
        if summ["verdict"] != "met" and "scheme" in costs and bare in costs:
            delta = benchpath.profile_delta(costs["scheme"], costs[bare])
            top = [f"{g} {ms:+.0f}" for g, ms in delta.items() if ms >= 5][:4]
            why += (f"; the scheme's path costs {sum(delta.values()):+.0f} ms CPU per GB more than the bare path, "
                    f"largest: {', '.join(top)} ms/GB")
        out.append((f"{summ['title']}: ≥ {summ['target']:.2f} of {what}", summ["verdict"], why))
    variants = [(p["title"], name, v) for p in (benchpath.summarize_path(r) for r in data["results"] if r.get("variants"))
                for name, v in p["variants"].items()]
    if variants:
        winners = [f"{name} {v['gain']:+.1%}" for _t, name, v in variants if v["beyond_noise"]]
        out.append(("a fast path beats Docker's default path by more than its spread", "met" if winners else "not met",
                    ", ".join(winners) if winners else
                    "; ".join(f"{name} {v['gain']:+.1%} (spread {v['noise']:.0%})" for _t, name, v in variants)
                    + ": none ships (see Fast path and Where the CPU goes)"))
    spreads = [(s["title"], s["base_spread"], s.get("base_iqr_spread")) for s in summaries if s.get("base_spread") is not None]
    if spreads:
        worst = max(v for _t, v, _i in spreads)
        out.append(("host-to-host repetitions spread under 10% (idle machine)", "met" if worst < 0.10 else "not met",
                    "max-min " + ", ".join(f"{t} {v:.0%}" for t, v, _i in spreads)
                    + "; middle half " + ", ".join(f"{i:.0%}" for _t, _v, i in spreads if i is not None)
                    + f"; load average at start {fmt_load(data['machine'].get('load_start'))}"))
    planning = data.get("planning")
    if planning:
        out.append(("planning and the verify plan for 1000 simulated hosts under 1 s",
                    "met" if planning["total_wall"] < 1 else "not met", f"{planning['total_wall'] * 1000:.0f} ms"))
    if data.get("scale"):
        import bench_scale  # pylint: disable=import-outside-toplevel

        for target, met, why in bench_scale.verdicts(
                [bench_scale.derive(dict(e)) for e in data["scale"].get("sizes") or []]):
            out.append((target, {True: "met", False: "not met"}.get(met, "no data"), why))
    return out


def fmt_load(load):
    return " / ".join(f"{v:.2f}" for v in load) if load else "?"


def verdict_text(summ, res):
    parts = []
    if summ["verdict"] == "met":
        parts.append(f"target met (ratio {summ['ratio']:.2f} ≥ {summ['target']:.2f})")
    elif summ["verdict"] == "no data":
        parts.append(f"no data: {summ['why']}")
    else:
        parts.append(f"target not met: {summ['why']}")
    if summ.get("ratio") is not None:
        parts.append(f"per-repetition ratios {summ['ratio_min']:.2f}-{summ['ratio_max']:.2f}, host-to-host spread "
                     f"{benchlib.fmt(summ['base_spread'], '.0%')} (middle half {benchlib.fmt(summ.get('base_iqr_spread'), '.0%')})")
        cpu_b, cpu_s = summ.get("cpu_baseline"), summ.get("cpu_scheme")
        if cpu_b and cpu_s:
            parts.append(f"iperf3 CPU sender/receiver {cpu_s[0]:.0f}%/{cpu_s[1]:.0f}% (baseline {cpu_b[0]:.0f}%/{cpu_b[1]:.0f}%)")
        frags = summ.get("fragments") or {}
        df = summ.get("df_ping") or {}
        parts.append(f"IP fragments during the runs: {frags.get('scheme')} (baseline {frags.get('baseline')}); "
                     f"DF ping of {df.get('mtu')} bytes {'passes' if df.get('at_mtu') else 'FAILS'}, "
                     f"{df.get('mtu', 0) + 1} bytes {'refused' if df.get('above_mtu_refused') else 'NOT refused'}")
        lost = summ.get("icmp_lost") or {}
        if any(lost.values()):
            parts.append(f"ICMP lost: {lost.get('scheme')} (baseline {lost.get('baseline')})")
    return "; ".join(parts) + "."


def text_report(data, summaries, header, rows, cheader, crows):
    out = ["data plane (container h1 -> container h2; latency in µs, baseline in brackets)",
           benchlib.text_table(header, rows), ""]
    warning = benchlib.noise_warning(data["machine"], summaries)
    if warning:
        out += [warning.replace("**", ""), ""]
    for summ in summaries:
        if summ["verdict"] != "met":
            out.append(f"  {summ['title']}: {summ['verdict']}: {summ['why']}")
    out += ["", benchpath.text(data["results"])]
    out += ["", "control plane", benchlib.text_table(cheader, crows)]
    planner = data.get("planner")
    if planner:
        out.append(f"subnet planner, 1000 hosts: first {planner['first']['wall'] * 1000:.0f} ms, "
                   f"rerun {planner['rerun']['wall'] * 1000:.0f} ms (wall, median of {planner['repeat']})")
    if data.get("planning"):
        import bench_planning  # pylint: disable=import-outside-toplevel

        out.append(bench_planning.text(data["planning"]))
    if data.get("scale"):
        import bench_scale  # pylint: disable=import-outside-toplevel

        out.append(bench_scale.text(data["scale"]))
    return "\n".join(out)


METHOD = [
    "- **Labs**: `lab/lab.py`, one lab per scheme, brought up for the scheme and removed after it. Hosts are "
    "network/mount/UTS namespaces with their own dockerd, joined by veths to Linux bridges in an underlay "
    "namespace (br0 = the VPC segment 192.168.1.0/24 behind the router namespace `rt`, br1 = the macvlan "
    "segment). Direct route, macvlan and swarm: 3 hosts with Docker 20.10, 26 and 28; kv overlay: 3 hosts "
    "with Docker 20.10 and etcd (v2 API) in the router namespace (`lab.py etcd`).",
    "- **Schemes** are set up by the collection's own playbooks: `playbooks/direct_route.yml` (routes in the "
    "router namespace), `playbooks/macvlan.yml` (one network `bench_mac` on eth1, 192.168.2.0/24, with "
    "192.168.2.240/28 reserved), `playbooks/overlay.yml` with `overlay_backend=swarm` and with "
    "`overlay_backend=kv` (network `bench_<backend>`, 10.30.0.0/24, MTU left to the role).",
    "- **Endpoints**: one `local/probe` container per host (`sleep`), used only for its network "
    "namespace; the tools run from this machine's filesystem with `nsenter -n -t <pid>`, the PID from "
    "`docker inspect` inside the lab host. Scheme pair: container on h1 -> container on h2 by its address "
    "on the scheme's network. Baseline pair: h1's namespace -> h2's namespace over the same underlay "
    "(eth0 for direct route and overlays, eth1 for macvlan, where h1/h2 get 192.168.2.241/242 from the "
    "reserved range for the baseline only).",
    "- **Bare path** (the headline's denominator): the scheme's data path without Docker, between the hosts' own "
    "namespaces, in the same run and interleaved: for direct routes through the router h1 -> rt -> h2 between /32 "
    "loopback addresses routed through the router both ways (`BENCH_REFERENCE=1`); for overlays a plain kernel "
    "VXLAN link (VNI 4242, UDP 4790, the overlay's MTU); for macvlan and for direct routes in host-gw mode host "
    "to host on the same segment, which is already the same path. `ratio` = scheme / bare path; the host-to-host "
    "figure stays next to it.",
    "- **Host-gw**: after the routed measurement the direct-route lab is converged again with "
    "`direct_route_router=` (every host routes its peers' subnets straight to their underlay addresses; no router "
    "namespace), and the containers are measured against host to host, which then cross the same devices.",
    "- **Fast path** (`BENCH_FASTPATH=1`, host-gw lab): each setting is a side of its own, switched on right "
    "before each of its runs and back right after, on h1 and h2: `notrack` (raw-table NOTRACK for the two "
    "container subnets both ways), `gro` (GRO on both ends of each endpoint container's veth), `bridge-nf off` "
    "(net.bridge.bridge-nf-call-iptables=0 in both hosts). A warm-up ping through each setting proves the path "
    "still works before any run.",
    "- **CPU cost**: `/proc/stat` (user, nice, system, irq, softirq) around each iperf3 client, divided by the bytes "
    "received: CPU seconds per GB for the whole machine. **Profile** (`BENCH_PROFILE=1`): one extra run per side "
    "under `perf record -a -e cpu-clock`, grouped by subsystem. **Pinning** (`BENCH_PIN=1`, off by default): "
    "iperf3 sender on CPU 0, receiver on CPU 1; tried on this machine, it made runs about 11% faster but no "
    "steadier (spread 11% pinned and unpinned, 10 interleaved runs of 2 s each), so it is off. Shorter "
    "repetitions did not narrow the spread either (10 runs of 2 s: 11%; 6 runs of 4 s: 11%), so the default stays "
    "4 s; `BENCH_REPS` adds repetitions.",
    "- **Throughput**: `iperf3 -c <addr> -t <seconds> -J`, one TCP stream, a fresh one-off server "
    "(`iperf3 -s -1`) each run; the receiver's bits/s. Repetitions interleave the two pairs and alternate "
    "which goes first (baseline, scheme, scheme, baseline, ...), so load drift on the machine hits both "
    "sides alike. Figures: medians; the ratio is median(scheme) / median(baseline); the chart's bar "
    "range is the min-max of the per-repetition ratios.",
    "- **Latency**: ICMP `ping -n -i 0.01 -c <n>` (iputils), and TCP request/response round trips of 64 "
    "bytes on one connection with TCP_NODELAY (`benchmarks/tcp_echo.py`, Python in both namespaces, so "
    "both sides carry the same interpreter overhead). p50/p99 with linear interpolation over all samples of "
    "all repetitions.",
    "- **Fragmentation**: the path MTU (`ip route get` + `ip link`), DF pings (`ping -M do`) of exactly the MTU "
    "(must pass) and one byte more (must be refused), and the IP fragmentation counters "
    "(`FragCreates`, `ReasmReqds` in `/proc/<pid>/net/snmp`) of both hosts and both containers before and "
    "after every iperf3 run.",
    "- **Control plane**: see above; the cloud figure runs the direct_route role with `direct_route_provider: aws` "
    "against `moto_server` on 127.0.0.1 (a VPC, 3 instances as next hops, an empty route table) and counts "
    "the requests moto's recorder logged during each run.",
    "- **Noise**: this is one machine with few CPUs; sender, receiver, bridges and forwarding all share "
    "them. Absolute Gbit/s say little; compare ratios within one run, and look at the baseline spread "
    "before reading a small miss. No test asserts any of these figures.",
]


def write_outputs(data, settings):
    markdown, text = report(data, os.path.basename(settings.png),
                            os.path.relpath(settings.scale_png, os.path.dirname(settings.md)))
    os.makedirs(os.path.dirname(settings.md), exist_ok=True)
    with open(settings.md, "w") as f:
        f.write(markdown)
    benchlib.render_chart([benchlib.summarize(r) for r in data["results"]], settings.png)
    if data.get("scale"):
        import bench_scale  # pylint: disable=import-outside-toplevel

        bench_scale.render_chart(data["scale"], settings.scale_png)
    print(text)
    log(f"wrote {os.path.relpath(settings.md, REPO)} and {os.path.relpath(settings.png, REPO)}")


# ---------------------------------------------------------------------------------------------
# Main


class Context:
    def __init__(self, settings):
        self.settings = settings
        self.results, self.control, self.labs = [], [], []

    def lab(self, suffix, engines=ENGINES_MIXED):
        lab = Lab(self.settings.prefix + suffix, hosts=3, engines=engines)
        self.labs.append(lab)
        lab.down()  # a lab of this name left over from an interrupted run
        return lab.up()


def measure(settings):
    if os.geteuid() != 0:
        raise SystemExit("bench: must run as root (the lab creates network namespaces)")
    started = time.time()
    ctx = Context(settings)
    data = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "settings": settings.describe(), "machine": machine()}
    data["timings"] = {}
    for key in settings.schemes:
        lab_count = len(ctx.labs)
        t0 = time.time()
        try:
            SCHEMES[key](ctx)
        except (BenchError, subprocess.TimeoutExpired, OSError, ValueError) as e:
            log(f"{key}: {e}")
            if not any(r["key"] == key for r in ctx.results):
                ctx.results.append({"key": key, "title": TITLES[key], "target": TARGETS[key], "error": str(e)})
        finally:
            for lab in ctx.labs[lab_count:]:
                try:
                    lab.down()
                except BenchError as e:
                    log(f"{lab.name}: {e}")
            data["timings"][key] = round(time.time() - t0, 1)
            log(f"{key}: {data['timings'][key]} s")
    data["planner"] = planner_figures(settings.planner_repeat)
    data["planning"] = planning_figures(settings.planner_repeat)
    if settings.scale_sizes:
        import bench_scale  # pylint: disable=import-outside-toplevel

        t0 = time.time()
        data["scale"] = bench_scale.measure(settings.scale_sizes, settings.prefix[:7] + "s",
                                            macvlan=settings.scale_macvlan, swarm=settings.scale_swarm, log=log)
        data["timings"]["scale"] = round(time.time() - t0, 1)
    else:
        data["scale"] = saved_scale()
    if settings.cloud_sizes:
        import bench_cloud_scale  # pylint: disable=import-outside-toplevel

        t0 = time.time()
        try:
            data["cloud_scale"] = bench_cloud_scale.measure(settings.cloud_sizes, log=log)
        except (BenchError, OSError, ImportError) as e:
            log(f"cloud scale: {e}")
        data["timings"]["cloud scale"] = round(time.time() - t0, 1)
    data["results"], data["control"] = ctx.results, ctx.control
    data["machine"]["load_end"] = os.getloadavg()
    data["duration_s"] = time.time() - started
    os.makedirs(os.path.dirname(settings.results), exist_ok=True)
    with open(settings.results, "w") as f:
        json.dump(data, f, indent=1)
    log(f"raw results: {os.path.relpath(settings.results, REPO)}")
    return data


def saved_scale():
    """The scale figures of an earlier `benchmarks/bench_scale.py` run (.cache/bench/scale.json), so that a
    data-plane-only run (BENCH_SCALE_SIZES=0) keeps the scale section; None when there are none."""
    path = os.path.join(REPO, ".cache", "bench", "scale.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        scale = json.load(f)
    log(f"scale: not measured in this run; the figures of {scale.get('date', '?')} from {os.path.relpath(path, REPO)}")
    return scale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", metavar="RESULTS_JSON", help="only render the docs from saved results")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.render:
        with open(args.render) as f:
            data = json.load(f)
    else:
        data = measure(settings)
    write_outputs(data, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
