"""crosshost.docker.connectivity and the crosshost.docker.verify role on a real 3-host lab (Docker
20.10, 26 and 28), one lab for the whole module:

- before any scheme, every host's probe has the same address (Docker's default 172.17.0.0/16): every
  pair is reported as an address conflict, and check mode starts nothing;
- the module's own quality bar: started and absent in check, check+diff, apply and idempotent runs;
- bridge with direct routes (the direct_route role, its own verification off): the healthy matrix,
  then one deliberately broken case per cause, each undone afterwards - no route (a route deleted
  in the VPC router), FORWARD drop (our DOCKER-USER rules taken out on one host), SNAT (Docker's
  MASQUERADE back on one host; the receivers that accept the host's address report "SNAT seen", the
  others "SNAT on the way"), MTU too small (one host's underlay MTU lowered: an ICMP "frag needed"
  one way, a black hole found by bisection the other), Docker 28 raw-table drop
  (allow-direct-routing taken out on the 28 host: its peers' packets and its own replies);
- macvlan on eth1, with the role's probes and with existing containers named per host;
- swarm overlay (attachable, across 20.10/26/28) with by-name checks, also with named containers.

After every run no probe container, probe server, count rule or state file may remain.
"""
import json
import os
import tempfile

import pytest
import yaml

from labutil import five_ways, run_task

HOSTS = ["h1", "h2", "h3"]
LABEL = "crosshost.docker.connectivity"


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("cx", hosts=3, engines="20.10 26 28")


def play_json(lab, plays, check=False):
    """Run plays on this lab with the json callback: (returncode, [tasks of every play])."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=lab.dir, delete=False) as f:
        yaml.safe_dump(plays, f)
        path = f.name
    try:
        args = ["ansible-playbook", path] + (["--check"] if check else [])
        callback = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
        proc = lab.ansible(*args, check=False, extra_env=callback)
    finally:
        os.unlink(path)
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise AssertionError(f"no json from ansible-playbook ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return proc.returncode, [t for p in doc["plays"] for t in p["tasks"]], proc


def task(tasks, name):
    found = [t for t in tasks if t["task"]["name"].endswith(name)]
    return found[-1]["hosts"] if found else {}


class Run:
    def __init__(self, rc, tasks, proc):
        self.rc, self.tasks, self.proc = rc, tasks, proc
        judged = [r for r in task(tasks, "Judge every pair").values() if "ansible_facts" in r]
        self.result = judged[0]["ansible_facts"]["verify_result"] if judged else None
        self.started = task(tasks, "Start the probe (a container on the network, with a TCP server in its namespace)")
        self.failure = " ".join(r.get("msg", "") for r in task(tasks, "Fail on broken pairs").values()
                                if r.get("failed"))
        printed = [r.get("msg") for r in task(tasks, "Print the matrix (rows reach columns)").values() if "msg" in r]
        self.printed = printed[0] if printed else None

    @property
    def broken(self):
        return {(s, d): c for s, row in self.result["matrix"].items() for d, c in row.items() if c["status"] != "ok"}

    def __repr__(self):
        failed = ["%s on %s: %s" % (t["task"]["name"], host, r.get("msg") or r.get("exception") or r.get("stderr"))
                  for t in self.tasks for host, r in t["hosts"].items() if r.get("failed")]
        return "\n".join((self.result or {}).get("table", [])) + "\n" + "\n".join((self.result or {}).get("broken", [])) \
            + ("\nfailed tasks:\n" + "\n".join(failed) if failed else "")


def verify(lab, check=False, **variables):
    role = {"role": "crosshost.docker.verify", "verify_image": "{{ lab_image }}"}
    role.update(variables)
    rc, tasks, proc = play_json(lab, [{"name": "verify", "hosts": "docker_hosts", "gather_facts": False,
                                       "roles": [role]}], check=check)
    run = Run(rc, tasks, proc)
    assert_clean(lab, run)
    return run


def assert_clean(lab, run=None):
    """No probe container, server, count rule or state file is left on any host."""
    for host in HOSTS:
        out = lab.sh(host, "docker ps -aq --filter label=%s; iptables-save | grep -c crosshost-connectivity; "
                           "ls /run/crosshost-connectivity 2>/dev/null | wc -l" % LABEL, check=False).stdout.split()
        assert out == ["0", "0"], f"{host}: leftovers (containers, count rules, state files): {out}"
    for result in (run.started if run else {}).values():
        pid = (result.get("probe") or {}).get("server_pid")
        if pid:
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    state = handle.read().rsplit(")", 1)[-1].split()[0]
            except OSError:
                continue
            assert state == "Z", f"probe server {pid} still runs"


def bridge_subnets(lab):
    return {h: lab.sh(h, "docker network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}'").stdout.strip()
            for h in HOSTS}


# --- before any scheme ------------------------------------------------------------------------------

def test_before_routes_every_probe_has_the_same_address(lab):
    run = verify(lab, verify_fail=False)
    assert run.rc == 0, run.proc.stdout[-3000:]
    assert run.result["hosts"] == HOSTS and not run.result["ok"]
    assert {c["kind"] for row in run.result["matrix"].values() for c in row.values()} == {"conflict"}, run
    assert len(run.result["broken"]) == 6
    assert "h1 and h2 and h3 have the same probe address 172.17.0.2" in run.result["broken"][0]
    assert run.printed[0] == "network bridge (bridge, MTU 1500): 3 hosts, 6 pairs, 6 broken"


def test_check_mode_starts_nothing(lab):
    rc, tasks, proc = play_json(lab, [{"hosts": "docker_hosts", "gather_facts": False,
                                      "roles": [{"role": "crosshost.docker.verify", "verify_image": "{{ lab_image }}"}]}],
                                check=True)
    assert rc == 0, proc.stdout[-3000:]
    assert "skipped in check mode" in json.dumps(task(tasks, "Nothing to prove in check mode (the probes would not start)"))
    assert_clean(lab)


def test_started_and_absent_meet_the_quality_bar(lab):
    def probe():
        return lab.sh("h1", "docker ps -a --filter label=%s --format '{{.Names}} {{.Status}}' | cut -d' ' -f1,2; "
                            "iptables-save | grep crosshost-connectivity | sed 's/^\\[[0-9:]*\\] //' | sort; "
                            "ls /run/crosshost-connectivity 2>/dev/null" % LABEL).stdout
    args = {"name": "qb-h1", "image": "local/probe:latest", "peers": [{"host": "h2", "address": "172.17.9.9"}]}
    results = five_ways(lab, "h1", "crosshost.docker.connectivity", dict(args, state="started"), probe)
    assert results[2]["probe"]["address"].startswith("172.17.") and results[2]["probe"]["server_pid"]
    assert "qb-h1" in probe() and probe().count("crosshost-connectivity:qb-h1:") == 9
    results = five_ways(lab, "h1", "crosshost.docker.connectivity", dict(args, state="absent"), probe)
    removed = results[2]["removed"]
    assert removed[0].startswith("probe server (pid ") and removed[1:] == ["9 count rules", "probe container qb-h1"]
    assert results[2]["evidence"]["counters"] == {"172.17.9.9": dict.fromkeys(
        ["arrived", "forwarded", "delivered", "replied", "left", "replies_arrived", "replies_forwarded",
         "replies_delivered"], 0)}
    assert probe().strip() == ""
    assert_clean(lab)


# --- bridge with direct routes ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def routed(lab):
    proc = lab.ansible("ansible-playbook", "playbooks/direct_route.yml", "-e", "direct_route_verify=false")
    assert "failed=0" in proc.stdout
    subnets = bridge_subnets(lab)
    assert len(set(subnets.values())) == 3 and all(s.startswith("10.0.") for s in subnets.values()), subnets
    return subnets


def kinds(run):
    return {pair: c["kind"] for pair, c in run.broken.items()}


def test_healthy_bridge_matrix(lab, routed):
    run = verify(lab)
    assert run.rc == 0 and run.result["ok"] and run.result["broken"] == [], run
    for src, row in run.result["matrix"].items():
        for dst, c in row.items():
            assert c["icmp"] and c["tcp"] and c["mtu"] and c["path_mtu"] == 1500 and c["expected_mtu"] == 1500
            assert c["source"] == run.started[src]["probe"]["address"], (src, dst, c)
    assert run.printed[0] == "network bridge (bridge, MTU 1500): 3 hosts, 6 pairs, 0 broken"
    assert run.printed[2].split()[2:] == ["-", "ok", "ok"]


def test_no_route(lab, routed):
    lab.sh("rt", f"ip route del {routed['h2']}")
    try:
        run = verify(lab)
    finally:
        lab.sh("rt", f"ip route replace {routed['h2']} via {lab.state['hosts']['h2']['address']}")
    assert run.rc != 0 and kinds(run) == {("h1", "h2"): "no_route", ("h3", "h2"): "no_route",
                                          ("h2", "h1"): "no_route", ("h2", "h3"): "no_route"}, run
    causes = dict((k, c["cause"]) for k, c in run.broken.items())
    assert "Destination Net Unreachable (from 192.168.1.1)" in causes[("h1", "h2")]
    assert causes[("h2", "h1")].startswith("no route back: the replies from h1 never reached h2")
    for pair in kinds(run):
        assert "%s -> %s: no route" % pair in run.failure


def test_forward_drop(lab, routed):
    rule = "DOCKER-USER -m comment --comment crosshost.docker -j CROSSHOST-FORWARD"
    assert lab.sh("h2", "iptables -S FORWARD | head -1").stdout.strip() == "-P FORWARD DROP"
    lab.sh("h2", f"iptables -D {rule}")
    try:
        run = verify(lab)
    finally:
        lab.sh("h2", f"iptables -I {rule}")
    assert run.rc != 0 and kinds(run) == {("h1", "h2"): "forward_drop", ("h3", "h2"): "forward_drop"}, run
    client = run.started["h1"]["probe"]["address"]
    assert run.broken[("h1", "h2")]["cause"].startswith(f"FORWARD drop on h2: packets from {client} reached h2")
    assert run.broken[("h1", "h2")]["short"] == "FWD drop"


def test_snat(lab, routed):
    masquerade = f"POSTROUTING -s {routed['h1']} ! -o docker0 -j MASQUERADE"
    accept = f"DOCKER-USER -s 192.168.1.0/24 -d {routed['h3']} -j ACCEPT"  # h3 opened up, the seed's way
    lab.sh("h1", f"iptables -t nat -I {masquerade}")
    lab.sh("h3", f"iptables -I {accept}")
    try:
        run = verify(lab)
    finally:
        lab.sh("h1", f"iptables -t nat -D {masquerade}")
        lab.sh("h3", f"iptables -D {accept}")
    assert run.rc != 0 and kinds(run) == {("h1", "h2"): "snat", ("h1", "h3"): "snat"}, run
    seen = run.broken[("h1", "h3")]
    assert seen["icmp"] and seen["tcp"] and seen["source"] == "192.168.1.11"
    assert seen["cause"].startswith("SNAT seen (192.168.1.11): h3 saw 192.168.1.11 instead of h1's container address")
    assert run.broken[("h1", "h2")]["cause"].startswith("SNAT on the way: h1's requests left h1")


def test_mtu_too_small(lab, routed):
    lab.sh("h2", "ip link set eth0 mtu 1400")
    try:
        run = verify(lab)
    finally:
        lab.sh("h2", "ip link set eth0 mtu 1500")
    pairs = {("h1", "h2"), ("h3", "h2"), ("h2", "h1"), ("h2", "h3")}
    assert run.rc != 0 and kinds(run) == dict.fromkeys(pairs, "mtu"), run
    for pair in pairs:
        c = run.broken[pair]
        assert c["icmp"] and c["tcp"] and c["mtu"] is False and c["expected_mtu"] == 1500
        assert 1400 <= c["path_mtu"] < 1500 and c["short"] == "MTU %d" % c["path_mtu"]
    # h2 itself cannot forward 1500 bytes: its "frag needed" error names the MTU
    assert run.broken[("h2", "h1")]["path_mtu"] == 1400
    assert "Frag needed and DF set (mtu = 1400)" in run.broken[("h2", "h1")]["cause"]


def test_docker_28_raw_table_drop(lab, routed):
    assert lab.state["hosts"]["h3"]["engine"] == "28"
    drop_key = ("python3 -c \"import json; p='/etc/docker/daemon.json'; d=json.load(open(p)); "
                "d.pop('allow-direct-routing'); json.dump(d, open(p, 'w'))\" && /etc/init.d/docker restart >/dev/null")
    backup = "/etc/docker/daemon.json.before-raw-drop"  # the lab host's own /etc
    lab.sh("h3", f"cp /etc/docker/daemon.json {backup} && " + drop_key)
    try:
        run = verify(lab)
    finally:
        lab.sh("h3", f"mv {backup} /etc/docker/daemon.json && /etc/init.d/docker restart >/dev/null")
    assert run.rc != 0 and kinds(run) == {("h1", "h3"): "raw_drop", ("h2", "h3"): "raw_drop",
                                          ("h3", "h1"): "raw_drop", ("h3", "h2"): "raw_drop"}, run
    assert run.broken[("h1", "h3")]["cause"].startswith("raw-table drop on h3 (packets from ")
    assert run.broken[("h3", "h1")]["cause"].startswith("raw-table drop on h3 (the replies from h1)")
    assert "allow-direct-routing" in run.failure and run.printed[4].split()[2:] == ["raw", "drop", "raw", "drop", "-"]


# --- macvlan and overlay ----------------------------------------------------------------------------

def test_macvlan(lab):
    for index, host in enumerate(HOSTS):
        lab.sh(host, "docker network create -d macvlan -o parent=eth1 --subnet 192.168.2.0/24 --gateway 192.168.2.1 "
                     f"--ip-range 192.168.2.{64 + 16 * index}/28 hv_mac >/dev/null")
    run = verify(lab, verify_network="hv_mac")
    assert run.rc == 0 and run.result["ok"], run
    assert run.printed[0] == "network hv_mac (macvlan, MTU 1500): 3 hosts, 6 pairs, 0 broken"
    assert all(c["source"].startswith("192.168.2.") and c["path_mtu"] == 1500
               for row in run.result["matrix"].values() for c in row.values())
    # existing containers as probes: used, never removed
    for host in HOSTS:
        lab.sh(host, f"docker run -d --init --name app-{host} --network hv_mac local/probe:latest sleep 600 >/dev/null")
    run = verify(lab, verify_network="hv_mac", verify_containers={h: f"app-{h}" for h in HOSTS}, verify_port=5999)
    assert run.rc == 0 and run.result["ok"], run
    for host in HOSTS:
        assert run.started[host]["probe"]["name"] == f"app-{host}" and not run.started[host]["probe"]["owned"]
        assert lab.sh(host, f"docker inspect -f '{{{{.State.Running}}}}' app-{host}").stdout.strip() == "true"
        lab.sh(host, f"docker rm -f app-{host} >/dev/null")


def test_overlay_by_name(lab):
    ok, result = run_task(lab, "h1", "community.docker.docker_swarm",
                          {"state": "present", "advertise_addr": "192.168.1.11"})
    assert ok, result
    token = result["swarm_facts"]["JoinTokens"]["Worker"]
    for host in ("h2", "h3"):
        ok, result = run_task(lab, host, "community.docker.docker_swarm", {
            "state": "join", "join_token": token, "remote_addrs": ["192.168.1.11:2377"],
            "advertise_addr": lab.state["hosts"][host]["address"]})
        assert ok, result
    lab.sh("h1", "docker network create -d overlay --attachable --subnet 10.20.0.0/24 hv_ov >/dev/null")
    run = verify(lab, verify_network="hv_ov", verify_by_name=True)
    assert run.rc == 0 and run.result["ok"], run
    assert run.printed[0] == "network hv_ov (overlay, MTU 1450): 3 hosts, 6 pairs, 0 broken"
    for src, row in run.result["matrix"].items():
        for dst, c in row.items():
            assert c["name"] is True and c["path_mtu"] == 1450 and c["source"].startswith("10.20.0."), (src, dst, c)
    # named containers on the overlay, found by their names
    for host in HOSTS:
        lab.sh(host, f"docker run -d --init --name web-{host} --network hv_ov local/probe:latest sleep 600 >/dev/null")
    run = verify(lab, verify_network="hv_ov", verify_by_name=True, verify_containers={h: f"web-{h}" for h in HOSTS})
    assert run.rc == 0 and run.result["ok"], run
    assert all(c["name"] for row in run.result["matrix"].values() for c in row.values())
    # a wrong expectation is caught: a DF ping above the overlay's MTU cannot pass
    run = verify(lab, verify_network="hv_ov", verify_mtu=1500, verify_fail=False)
    assert run.rc == 0 and {c["kind"] for c in run.broken.values()} == {"mtu"} and len(run.broken) == 6, run
    assert all(c["path_mtu"] == 1450 for c in run.broken.values())
