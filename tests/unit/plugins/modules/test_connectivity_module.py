# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module-level tests of crosshost.docker.connectivity (ansible-core 2.19: patch_module_args).

No dockerd and no namespaces: the Docker client is a fake object, the probe primitives that enter a
container's namespace are replaced, and ``iptables``/``iptables-save``/``ip``/``ping`` are shell scripts
in a temporary directory (the fake iptables logs its arguments). The real behaviour is tested in the lab
(tests/integration/test_connectivity.py); these tests pin the module's decisions: what it creates,
reuses, refuses and removes, check mode, and the messages.
"""

from __future__ import annotations

import contextlib
import json
import os

import pytest

from ansible_collections.crosshost.docker.plugins.modules import connectivity as mod
from ansible_collections.crosshost.docker.tests.unit import helpers

pytestmark = pytest.mark.skipif(not mod.HAS_DOCKER, reason="the docker Python SDK is not installed")
IPUTILS = 'echo "ping from iputils 20221126"'


def run_module(capsys, args):
    return helpers.run_module(capsys, mod.main, args)


class FakeClient(helpers.FakeAPIClient):
    """Just enough of docker.APIClient."""

    def __init__(self):
        super().__init__(images={"local/probe:latest"})
        self.networks = {"bridge": "bridge", "mac_net1": "macvlan"}
        self.next_pid = 4242

    def _find(self, name):
        for c in self.containers_by_id.values():
            if c["Name"] == "/" + name or c["Id"] == name:
                return c
        raise mod.NotFound("No such container: %s" % name)

    def container(self, name, network="bridge", address="10.0.0.3", running=True, ours=True, image="local/probe:latest"):
        labels = {mod.cx.LABEL: network} if ours else {}
        c = {"Id": name + "-id", "Name": "/" + name, "Config": {"Image": image, "Labels": labels},
             "State": {"Running": running, "Pid": self.next_pid},
             "NetworkSettings": {"Networks": {network: {"IPAddress": address, "NetworkID": network}}}}
        self.next_pid += 1
        self.containers_by_id[c["Id"]] = c
        return c

    def inspect_container(self, name):
        return self._find(name)

    def containers(self, all=False, filters=None):
        label = (filters or {}).get("label")
        return [{"Id": c["Id"], "Names": [c["Name"]], "Labels": c["Config"]["Labels"]}
                for c in self.containers_by_id.values()
                if (all or c["State"]["Running"]) and (label is None or label in c["Config"]["Labels"])]

    def inspect_image(self, image):
        if image not in self.images:
            raise mod.ImageNotFound("No such image: %s" % image)

    def create_container(self, image, command=None, name=None, labels=None, host_config=None, networking_config=None,
                         detach=False):
        self.calls.append(("create", image, command, name, labels, host_config, networking_config))
        network = host_config["network_mode"]
        c = self.container(name, network=network, address="10.0.0.9" if network == "bridge" else "192.168.2.70")
        c["Config"]["Image"] = image
        c["State"]["Running"] = False
        return {"Id": c["Id"]}

    def remove_container(self, name, force=False):
        self.calls.append(("remove", name, force))
        c = self._find(name)
        del self.containers_by_id[c["Id"]]

    def inspect_network(self, name):
        if name not in self.networks:
            raise mod.NotFound("network %s not found" % name)
        return {"Name": name, "Driver": self.networks[name]}

    @staticmethod
    def info():
        return {"LiveRestoreEnabled": False}

    @staticmethod
    def version():
        return {"Version": "20.10.24+dfsg1"}

    def close(self):
        pass


@pytest.fixture
def host(tmp_path, monkeypatch, fake_bin):
    """The fake host: Docker client, bin directory, /run dir, and the namespace primitives."""
    client = FakeClient()
    monkeypatch.setattr(mod, "connect", lambda module: client)
    monkeypatch.setattr(mod, "daemon_pending", lambda client: [])  # the machine's own dockerd is not the host's
    monkeypatch.setattr(mod, "RUN_DIR", str(tmp_path / "run"))
    iptables_log = tmp_path / "iptables.log"
    save = tmp_path / "save.txt"
    save.write_text("")

    add = fake_bin
    add("iptables", 'echo "$*" >> %s' % iptables_log)
    add("iptables-save", "cat %s" % save)
    add("ip", 'echo "$3 via 192.168.1.1 dev eth0 src 192.168.1.11 uid 0"; echo "    cache"')
    add("ping", IPUTILS)

    servers = {}

    def start_server(pid, port, lifetime, log_path, wait=10.0, bind="0.0.0.0"):
        servers[pid] = (port, lifetime, log_path)
        return 9000 + pid % 1000, 777

    alive = set()
    monkeypatch.setattr(mod.probe_lib, "start_server", start_server)
    monkeypatch.setattr(mod.probe_lib, "in_netns", lambda pid: contextlib.nullcontext())
    monkeypatch.setattr(mod.probe_lib, "interfaces", lambda: [
        {"name": "lo", "index": 1, "address": "127.0.0.1", "mtu": 65536},
        {"name": "eth0", "index": 9, "address": "10.0.0.9", "mtu": 1500},
        {"name": "eth1", "index": 10, "address": "10.0.0.3", "mtu": 1500},
        {"name": "eth2", "index": 11, "address": "192.168.2.70", "mtu": 1500}])
    monkeypatch.setattr(mod.probe_lib, "netns_inode", lambda pid: 4026530000 + int(pid))
    monkeypatch.setattr(mod.probe_lib, "process_starttime", lambda pid: 777 if pid in alive else None)
    stopped = []

    def stop_server(pid, starttime):
        stopped.append(pid)
        alive.discard(pid)
        return True
    monkeypatch.setattr(mod.probe_lib, "stop_server", stop_server)
    named = {}  # servers found by their process name: {pid: netns inode}
    monkeypatch.setattr(mod.probe_lib, "find_servers", lambda inodes: sorted(
        (pid, 777, inode) for pid, inode in named.items() if inode in inodes and pid in alive))

    class Host:
        pass
    h = Host()
    h.client, h.add, h.servers, h.alive, h.stopped, h.named = client, add, servers, alive, stopped, named
    h.save = save
    h.iptables_log = iptables_log
    h.iptables = lambda: iptables_log.read_text().splitlines() if iptables_log.exists() else []
    return h


# --- arguments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    ({"name": "bad name"}, "name: 'bad name' is not a valid container name"),
    ({"container": "/x"}, "container: '/x' is not a valid container name"),
    ({"network": "a b"}, "network: 'a b' is not a Docker network name"),
    ({"port": 0}, "port: 0 is out of range"),
    ({"mtu": 20}, "mtu: 20 is out of range"),
    ({"timeout": 0}, "timeout: 0 is out of range"),
    ({"peers": [{"host": "h2", "address": "nope"}]}, "peers[0].address: 'nope' is not an IPv4 address"),
])
def test_bad_arguments_fail_before_anything_happens(capsys, host, args, words):
    result = run_module(capsys, args)
    assert result["failed"] and words in result["msg"]
    assert host.client.calls == [] and host.iptables() == []


# --- started --------------------------------------------------------------------------------------

def test_started_creates_the_probe_and_its_server(capsys, host):
    result = run_module(capsys, {"name": "p-h1", "image": "local/probe:latest", "lifetime": 600, "_ansible_diff": True})
    assert result["changed"] and not result.get("failed")
    create = [c for c in host.client.calls if c[0] == "create"][0]
    _create, image, command, name, labels, host_config, networking = create
    assert (image, command, name, labels) == ("local/probe:latest", ["sleep", "600"], "p-h1",
                                              {"crosshost.docker.connectivity": "bridge"})
    assert host_config == {"init": True, "auto_remove": True, "network_mode": "bridge"}
    assert networking == {"EndpointsConfig": {"bridge": {}}}
    probe = result["probe"]
    assert probe["address"] == "10.0.0.9" and probe["interface"] == "eth0" and probe["mtu"] == 1500
    assert probe["driver"] == "bridge" and probe["owned"] and probe["server_pid"] is not None
    assert host.servers[probe["pid"]][:2] == (5000, 600)
    state = json.load(open(os.path.join(mod.RUN_DIR, "p-h1.json")))
    assert state["address"] == "10.0.0.9" and state["starttime"] == 777 and state["port"] == 5000
    assert result["diff"]["before"]["container"] == "absent" and result["diff"]["after"]["server"] == "running"
    assert host.iptables() == []  # no peers: no count rules


def test_started_reuses_a_running_probe_and_server(capsys, host):
    c = host.client.container("p-h1", address="10.0.0.3")
    host.alive.add(9000 + c["State"]["Pid"] % 1000)
    os.makedirs(mod.RUN_DIR)
    with open(os.path.join(mod.RUN_DIR, "p-h1.json"), "w") as handle:
        json.dump({"pid": 9000 + c["State"]["Pid"] % 1000, "starttime": 777, "port": 5000,
                   "netns": 4026530000 + c["State"]["Pid"], "address": "10.0.0.3"}, handle)
    result = run_module(capsys, {"name": "p-h1", "image": "local/probe:latest"})
    assert not result["changed"] and result["actions"] == []
    assert host.client.calls == [] and host.servers == {}
    assert result["probe"]["address"] == "10.0.0.3" and result["probe"]["interface"] == "eth1"


def test_started_replaces_a_stale_probe(capsys, host):
    host.client.container("p-h1", network="mac_net1", address="192.168.2.70")
    result = run_module(capsys, {"name": "p-h1", "image": "local/probe:latest"})
    assert result["changed"] and result["actions"][0] == "remove the stale probe container p-h1"
    assert [c[0] for c in host.client.calls] == ["remove", "create", "start"]


def test_started_never_touches_a_container_it_did_not_create(capsys, host):
    host.client.container("app", ours=False)
    result = run_module(capsys, {"name": "app", "image": "local/probe:latest"})
    assert result["failed"] and "a container app exists that this module did not create" in result["msg"]
    assert host.client.calls == []


def test_started_in_check_mode_changes_nothing(capsys, host):
    result = run_module(capsys, {"name": "p-h1", "_ansible_check_mode": True,
                                 "peers": [{"host": "h2", "address": "10.0.1.3"}]})
    assert result["changed"] and result["probe"]["address"] is None
    assert host.client.calls == [] and host.servers == {} and not os.path.exists(mod.RUN_DIR)


def test_started_pulls_a_missing_image_or_says_what_to_do(capsys, host):
    result = run_module(capsys, {"name": "p-h1", "image": "busybox:1.36"})
    assert ("pull", "busybox", "1.36") in host.client.calls and "pull busybox:1.36" in result["actions"]
    host.client.pull_error = "registry unreachable"
    result = run_module(capsys, {"name": "p-h2", "image": "other:latest"})
    assert result["failed"] and "image: other:latest is not on this host and cannot be pulled" in result["msg"]


def test_started_with_a_named_container(capsys, host):
    host.client.container("app1", network="mac_net1", address="192.168.2.70", ours=False)
    result = run_module(capsys, {"network": "mac_net1", "container": "app1", "port": 5999})
    assert result["changed"] and result["probe"]["owned"] is False and result["probe"]["driver"] == "macvlan"
    assert result["probe"]["name"] == "app1" and [c[0] for c in host.client.calls] == []
    assert list(host.servers.values())[0][0] == 5999
    # on another network, or stopped, or missing: clear errors
    assert "container app1 is not attached to network bridge (its networks: mac_net1)" in \
        run_module(capsys, {"container": "app1"})["msg"]
    host.client._find("app1")["State"]["Running"] = False
    assert "container: app1 is not running" in run_module(capsys, {"network": "mac_net1", "container": "app1"})["msg"]
    assert "container: nope does not exist" in run_module(capsys, {"container": "nope"})["msg"]


def test_a_busy_port_names_the_option(capsys, host, monkeypatch):
    def busy(*args, **kwargs):
        raise mod.probe_lib.ProbeError("cannot listen on TCP port 5000 in the container's namespace: Address in use")
    monkeypatch.setattr(mod.probe_lib, "start_server", busy)
    result = run_module(capsys, {"name": "p-h1", "image": "local/probe:latest"})
    assert result["failed"] and result["msg"].startswith("port: cannot listen on TCP port 5000")
    assert "choose another port" in result["msg"]


def write_state(name, state):
    os.makedirs(mod.RUN_DIR, exist_ok=True)
    with open(os.path.join(mod.RUN_DIR, name + ".json"), "w") as handle:
        json.dump(state, handle)
    with open(os.path.join(mod.RUN_DIR, name + ".log"), "w") as handle:
        handle.write("seen 10.0.1.2 40000 1\n")


def earlier_run(host):
    """What a killed run left: probe old-a with its server (state file), probe old-b whose server has no
    state file (killed before it was written) but runs under the server's name in old-b's namespace,
    a stale state file of a server that has ended, old-a's count rules; and things that are not ours."""
    host.client.container("old-a", address="10.0.0.3")
    b = host.client.container("old-b", address="10.0.0.4")
    host.alive.update({9100, 9200, 9300, 9400})
    # (the fake puts process N in network namespace 4026530000 + N)
    write_state("old-a", {"pid": 9100, "starttime": 777, "port": 5000, "netns": 4026530000 + 9100,
                          "address": "10.0.0.3"})
    host.named[9200] = 4026530000 + b["State"]["Pid"]
    write_state("gone", {"pid": 9999, "starttime": 777, "port": 5000, "netns": 1, "address": "10.0.0.5"})
    # not ours: a state file whose pid now belongs to a process in another namespace, a process with the
    # server's name in a namespace that is no probe's, and a container without the label
    write_state("reused", {"pid": 9300, "starttime": 777, "port": 5000, "netns": 42, "address": "10.0.0.6"})
    host.named[9400] = 4026539999
    host.client.container("app", ours=False)
    host.save.write_text(helpers.fixture_text("connectivity", "iptables_save_20.10.txt").replace("cap-h1", "old-a"))


def test_started_with_prune_removes_what_earlier_runs_left(capsys, host):
    earlier_run(host)
    args = {"name": "new-h1", "image": "local/probe:latest", "prune": True}
    check = run_module(capsys, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert check["changed"] and host.stopped == [] and host.client.calls == [] and host.iptables() == []
    assert sorted(os.listdir(mod.RUN_DIR)) == ["gone.json", "gone.log", "old-a.json", "old-a.log", "reused.json",
                                               "reused.log"]
    assert check["diff"]["before"]["earlier_probes"] == ["gone", "old-a", "old-b", "reused"]
    assert check["diff"]["after"]["earlier_probes"] == []
    result = run_module(capsys, args)
    assert result["pruned"] == check["pruned"] == [
        "probe server (pid 9100) of old-a", "probe server (pid 9200) of old-b", "17 count rules of old-a",
        "probe container old-a", "probe container old-b", "state files of gone", "state files of old-a",
        "state files of reused"]
    assert "remove probe container old-a" in result["actions"] and result["changed"]
    assert sorted(host.stopped) == [9100, 9200]  # never 9300 (another netns) or 9400 (no probe's netns)
    assert ("remove", "old-a-id", True) in host.client.calls and ("remove", "old-b-id", True) in host.client.calls
    assert "app-id" in host.client.containers_by_id
    deleted = host.iptables()
    assert len([line for line in deleted if " -D " in line and "crosshost-connectivity:old-a:" in line]) == 17
    assert sorted(os.listdir(mod.RUN_DIR)) == ["new-h1.json"]
    assert result["probe"]["name"] == "new-h1" and result["probe"]["server_pid"]


def test_prune_keeps_this_tasks_probe_and_is_idempotent(capsys, host):
    args = {"name": "p-h1", "image": "local/probe:latest", "prune": True}
    first = run_module(capsys, args)
    assert first["changed"] and first["pruned"] == []
    host.alive.add(first["probe"]["server_pid"])
    second = run_module(capsys, args)
    assert not second["changed"] and second["pruned"] == [] and second["actions"] == []
    assert [c[0] for c in host.client.calls] == ["create", "start"] and host.stopped == []
    plain = run_module(capsys, {"name": "p-h1", "image": "local/probe:latest"})
    assert "pruned" not in plain


def test_prune_only_with_state_started(capsys, host):
    result = run_module(capsys, {"state": "absent", "name": "p", "prune": True})
    assert result["failed"] and "prune: only with state=started" in result["msg"]


def test_prune_changes_nothing_when_the_task_fails(capsys, host):
    earlier_run(host)
    host.client.container("taken", ours=False)
    result = run_module(capsys, {"name": "taken", "image": "local/probe:latest", "prune": True})
    assert result["failed"] and "a container taken exists that this module did not create" in result["msg"]
    assert host.stopped == [] and host.client.calls == [] and host.iptables() == []
    assert len(os.listdir(mod.RUN_DIR)) == 6


PEERS = [{"host": "h2", "address": "10.0.1.2"}, {"host": "h3", "address": "10.0.2.2"}]


def test_started_with_peers_adds_count_rules_once(capsys, host):
    host.client.container("cap-h3", address="10.0.2.2")
    peers = [{"host": "h1", "address": "10.0.0.2"}, {"host": "h2", "address": "10.0.1.2"}]
    result = run_module(capsys, {"name": "cap-h3", "peers": peers, "image": "local/probe:latest"})
    added = host.iptables()
    assert len(added) == 1 + 2 * len(mod.cx.COUNTERS)
    assert all(line.startswith("-w -t ") and " -I " in line and "crosshost-connectivity:cap-h3:" in line for line in added)
    assert "-w -t raw -I PREROUTING 1 -s 10.0.1.2/32 -d 10.0.2.2/32 -p icmp -m icmp --icmp-type echo-request -m comment " \
           "--comment crosshost-connectivity:cap-h3:arrived" in added
    assert "add 17 count rules (2 peers)" in result["actions"]
    # the same rules are there already (h3's real iptables-save): nothing is added again
    host.save.write_text(helpers.fixture_text("connectivity", "iptables_save_28_raw_drop.txt"))
    host.iptables_log.unlink()
    result = run_module(capsys, {"name": "cap-h3", "peers": peers, "image": "local/probe:latest"})
    assert host.iptables() == [] and not any("count rules" in a for a in result["actions"])


def test_no_count_rules_on_macvlan_or_when_evidence_is_off(capsys, host):
    host.client.container("m-h1", network="mac_net1", address="192.168.2.70")
    run_module(capsys, {"name": "m-h1", "network": "mac_net1", "peers": PEERS, "image": "local/probe:latest"})
    host.client.container("b-h1", address="10.0.0.3")
    run_module(capsys, {"name": "b-h1", "peers": PEERS, "evidence": False, "image": "local/probe:latest"})
    assert host.iptables() == []


# --- tested ---------------------------------------------------------------------------------------

def test_tested_needs_peers_a_probe_and_iputils(capsys, host):
    assert "peers: state=tested needs the peers" in run_module(capsys, {"state": "tested", "name": "p"})["msg"]
    assert "no running probe p on this host: run state=started first" in \
        run_module(capsys, {"state": "tested", "name": "p", "peers": PEERS})["msg"]
    host.client.container("p", address="10.0.0.3")
    host.add("ping", 'echo "BusyBox v1.35.0 multi-call binary." >&2; exit 1')
    assert "is not iputils ping" in run_module(capsys, {"state": "tested", "name": "p", "peers": PEERS})["msg"]


def fake_net(monkeypatch, reachable, path_mtu=1500, frag=False, seen=None):
    """Replace ping and TCP: `reachable` peers answer; DF pings above path_mtu fail (frag: with an ICMP error)."""
    pings = []

    def run_ping(argv, timeout):
        pings.append(argv)
        address = argv[-1]
        size = int(argv[argv.index("-s") + 1]) + 28 if "-s" in argv else 84
        if address not in reachable:
            return 1, "PING\n\n--- s ---\n3 packets transmitted, 0 received, 100% packet loss, time 2000ms\n", ""
        if size > path_mtu:
            if frag:
                return 1, ("PING\nFrom 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = %d)\n\n--- s ---\n"
                           "2 packets transmitted, 0 received, +2 errors, 100%% packet loss\n" % path_mtu), ""
            return 1, "PING\n\n--- s ---\n1 packets transmitted, 0 received, 100% packet loss, time 1000ms\n", ""
        return 0, "PING\n64 bytes\n\n--- s ---\n3 packets transmitted, 3 received, 0% packet loss, time 400ms\n", ""

    def tcp_probe(address, port, timeout):
        if address not in reachable:
            return {"ok": False, "error": "timeout", "seen": None, "seen_port": None, "local": None,
                    "local_port": None, "reply": None}
        return {"ok": True, "error": None, "seen": seen or "10.0.0.3", "seen_port": 40000, "local": "10.0.0.3",
                "local_port": 40000, "reply": "crosshost-probe"}
    monkeypatch.setattr(mod.probe_lib, "run_ping", run_ping)
    monkeypatch.setattr(mod.probe_lib, "tcp_probe", tcp_probe)
    return pings


def test_tested_returns_this_hosts_row(capsys, host, monkeypatch):
    host.client.container("p", address="10.0.0.3")
    pings = fake_net(monkeypatch, {"10.0.1.2"})
    result = run_module(capsys, {"state": "tested", "name": "p", "peers": PEERS, "_ansible_check_mode": True})
    assert not result["changed"] and set(result["row"]) == {"h2", "h3"}
    h2, h3 = result["row"]["h2"], result["row"]["h3"]
    assert h2["status"] == "ok" and h2["tcp"]["seen"] == "10.0.0.3" and h2["source"] == "10.0.0.3"
    assert h2["mtu"] == {"expected": 1500, "ok": True, "path_mtu": 1500, "exact": True, "above": False, "detail": None}
    assert h2["route"] == "10.0.1.2 via 192.168.1.1 dev eth0 src 192.168.1.11"
    assert h3["status"] == "FAIL" and h3["kind"] == "timeout" and h3["mtu"]["ok"] is None
    assert result["broken"] == ["h3: " + h3["cause"]]
    df = [p for p in pings if "-M" in p and p[-1] == "10.0.1.2"]
    assert df[0][df[0].index("-s") + 1] == "1472" and df[1][df[1].index("-s") + 1] == "1473"


def test_tested_finds_the_path_mtu_by_bisection_or_from_the_icmp_error(capsys, host, monkeypatch):
    host.client.container("p", address="10.0.0.3")
    fake_net(monkeypatch, {"10.0.1.2", "10.0.2.2"}, path_mtu=1404)
    row = run_module(capsys, {"state": "tested", "name": "p", "peers": PEERS})["row"]
    assert row["h2"]["kind"] == "mtu" and row["h2"]["mtu"]["path_mtu"] == 1404 and row["h2"]["short"] == "MTU 1404"
    fake_net(monkeypatch, {"10.0.1.2", "10.0.2.2"}, path_mtu=1400, frag=True)
    row = run_module(capsys, {"state": "tested", "name": "p", "peers": PEERS, "mtu": 1450})["row"]
    assert row["h3"]["mtu"]["path_mtu"] == 1400 and row["h3"]["mtu"]["expected"] == 1450
    assert "Frag needed and DF set (mtu = 1400)" in row["h3"]["cause"]


def test_tested_snat_and_names(capsys, host, monkeypatch):
    host.client.container("p", address="10.0.0.3")
    fake_net(monkeypatch, {"10.0.1.2", "10.0.2.2"}, seen="192.168.1.11")
    peers = [dict(PEERS[0], name="p-h2")]
    result = run_module(capsys, {"state": "tested", "name": "p", "peers": peers, "by_name": True})
    assert result["row"]["h2"]["kind"] == "snat"
    assert "no Docker DNS server (127.0.0.11)" in result["row"]["h2"]["dns"]["error"]
    result = run_module(capsys, {"state": "tested", "name": "p", "peers": peers, "expect_source": "any",
                                 "by_name": True})
    assert result["row"]["h2"]["kind"] == "name"


# --- absent ---------------------------------------------------------------------------------------

def test_absent_reads_the_evidence_then_removes_what_is_ours(capsys, host):
    host.client.container("cap-h3", address="10.0.2.2")
    host.save.write_text(helpers.fixture_text("connectivity", "iptables_save_28_raw_drop.txt"))
    os.makedirs(mod.RUN_DIR)
    pl_state = {"pid": 9100, "starttime": 777, "port": 5000, "address": "10.0.2.2"}
    host.alive.add(9100)
    with open(os.path.join(mod.RUN_DIR, "cap-h3.json"), "w") as handle:
        json.dump(pl_state, handle)
    with open(os.path.join(mod.RUN_DIR, "cap-h3.log"), "w") as handle:
        handle.write("seen 10.0.1.2 40000 1\n")
    check = run_module(capsys, {"state": "absent", "name": "cap-h3", "_ansible_check_mode": True})
    assert check["changed"] and host.iptables() == [] and host.stopped == [] and host.client.calls == []
    result = run_module(capsys, {"state": "absent", "name": "cap-h3", "_ansible_diff": True})
    ev = result["evidence"]
    assert ev["address"] == "10.0.2.2" and ev["total"] == 20 and ev["forward_policy"] == "DROP"
    assert ev["raw_drop"] == {"rules": 1, "packets": 52} and ev["seen"] == ["10.0.1.2"]
    assert ev["counters"]["10.0.0.2"]["arrived"] == 10 and ev["counters"]["10.0.0.2"]["forwarded"] == 0
    assert result["removed"] == ["probe server (pid 9100)", "17 count rules", "probe container cap-h3"]
    deleted = host.iptables()
    assert len(deleted) == 17 and all(" -D " in line for line in deleted)
    assert "-w -t raw -D PREROUTING -d 10.0.2.2/32 -p icmp -m icmp --icmp-type 8 -m comment --comment " \
           "crosshost-connectivity:cap-h3:total" in deleted
    assert not any("DROP" in line for line in deleted)  # Docker's own rules are never touched
    assert host.stopped == [9100] and ("remove", "cap-h3", True) in host.client.calls
    assert not os.path.exists(os.path.join(mod.RUN_DIR, "cap-h3.json"))
    assert result["diff"]["before"] == {"container": "running", "server": "running", "count_rules": 17}


def test_absent_leaves_a_named_container_and_is_idempotent(capsys, host):
    host.client.container("app1", ours=False)
    result = run_module(capsys, {"state": "absent", "container": "app1"})
    assert not result["changed"] and host.client.calls == [] and "app1-id" in host.client.containers_by_id
    result = run_module(capsys, {"state": "absent", "name": "gone"})
    assert not result["changed"] and result["removed"] == [] and result["evidence"]["counters"] == {}


def test_a_peer_with_this_probes_own_address_is_not_probed(capsys, host, monkeypatch):
    host.client.container("p", address="172.17.0.2")
    pings = fake_net(monkeypatch, {"172.17.0.2"})
    result = run_module(capsys, {"state": "tested", "name": "p", "peers": [{"host": "h2", "address": "172.17.0.2"}]})
    assert result["row"]["h2"]["kind"] == "conflict" and pings == []
    assert "have the same probe address 172.17.0.2" in result["broken"][0]
    run_module(capsys, {"name": "p", "peers": [{"host": "h2", "address": "172.17.0.2"}], "image": "local/probe:latest"})
    assert host.iptables() == []


def test_daemon_pending_reads_daemon_json_and_names_a_broken_file(tmp_path, monkeypatch):
    """The evidence's daemon_pending: a daemon.json dockerd could not read is named, an absent one is fine."""
    monkeypatch.setattr(mod, "running_dockerd", lambda: (None, None))
    monkeypatch.setattr(mod, "DAEMON_JSON", str(tmp_path / "daemon.json"))
    client = FakeClient()
    assert mod.daemon_pending(client) == []
    (tmp_path / "daemon.json").write_text('{\n  # a comment\n  "bip": "10.0.0.1/24"\n}\n')
    reasons = mod.daemon_pending(client)
    assert len(reasons) == 1 and "daemon.json is not valid JSON" in reasons[0], reasons
