"""forward_rules and Docker's nftables firewall backend, on real lab hosts (Docker 28 and 20.10).

No Docker 29 engine runs in this lab, so dockerd itself never uses nftables here. What is tested is the
refusal from daemon.json: each host is first prepared as forward_rules needs it (a distinct bip,
"ip-masq": false, "allow-direct-routing": true on 28) and a check-mode run passes; then
"firewall-backend": "nftables" is written into /etc/docker/daemon.json WITHOUT restarting dockerd (what a
user does before the restart that would switch the backend). forward_rules must then fail, in check mode
and in a real run, naming the backend, where it was seen and the alternatives, and every host must be
unchanged: daemon.json byte for byte, iptables-save, our files, and dockerd's pid (not restarted). Docker
28 reports "Firewall Backend: iptables" in /info, so h1 also covers the case where the two places
disagree; the direct_route role stops every host in its check phase. The /info-only path (a running nftables dockerd) is covered by the unit tests only.
"""
import json

import pytest

from labutil import playbook, run_task

HOSTS = ["h1", "h2"]
SUBNETS = {"h1": "10.0.0.0/24", "h2": "10.1.0.0/24"}
BIPS = {"h1": "10.0.0.1/24", "h2": "10.1.0.1/24"}
MODULE = "crosshost.docker.forward_rules"


def args(host, **extra):
    a = {"local_subnets": [SUBNETS[host]], "peer_subnets": [SUBNETS[h] for h in HOSTS if h != host],
         "underlay_interface": "eth0"}
    a.update(extra)
    return a


def read_daemon_json(lab, host):
    return lab.sh(host, "cat /etc/docker/daemon.json 2>/dev/null || true").stdout


def write_daemon_json(lab, host, text):
    assert "'EOF'" not in text
    lab.sh(host, f"cat > /etc/docker/daemon.json <<'EOF'\n{text}EOF")


def snapshot(lab):
    """Every host's daemon.json bytes, dockerd pid, iptables (without counters) and our files."""
    state = {}
    for host in HOSTS:
        state[host] = {
            "daemon.json": read_daemon_json(lab, host),
            "pid": lab.sh(host, "cat /var/run/docker.pid").stdout.strip(),
            "iptables": lab.sh(host, "iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'").stdout,
            "files": lab.sh(host, "ls -la /etc/crosshost-docker /etc/systemd/system/crosshost-forward-rules.service "
                                  "2>&1 || true").stdout,
        }
    return state


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("fb", hosts=2, engines="28 20.10")
    assert lab.state["hosts"]["h1"]["engine"] == "28"
    for host in HOSTS:
        config = json.loads(read_daemon_json(lab, host) or "{}")
        config.update({"bip": BIPS[host], "ip-masq": False})
        if lab.state["hosts"][host]["engine"] == "28":
            config["allow-direct-routing"] = True
        write_daemon_json(lab, host, json.dumps(config, indent=2) + "\n")
        lab.sh(host, "/etc/init.d/docker restart >/dev/null")
    return lab


def test_prepared_hosts_pass_the_check(lab):
    for host in HOSTS:
        ok, result = run_task(lab, host, MODULE, args(host), check=True)
        assert ok, f"{host}: {result.get('msg')}\n{result}"
        assert result["changed"] is True and result["added"], result


def assert_refusal(host, result):
    msg = result.get("msg") or ""
    assert result.get("failed") is True, f"{host}: forward_rules did not fail:\n{result}"
    assert result.get("firewall_backend") == "nftables", result
    assert result.get("firewall_backend_source") == "daemon.json", result
    assert msg.startswith("firewall-backend: Docker's firewall backend on this host is nftables, seen in daemon.json "
                          'in /etc/docker/daemon.json ("firewall-backend": "nftables")'), msg
    assert "DOCKER-USER" in msg and "Nothing was changed." in msg, msg
    assert 'remove "firewall-backend" from /etc/docker/daemon.json, or set it to "iptables"' in msg, msg
    assert "write the forwarding and NAT rules yourself in nftables" in msg, msg


def test_nftables_in_daemon_json_is_refused_before_any_change(lab):
    originals = {host: read_daemon_json(lab, host) for host in HOSTS}
    try:
        for host in HOSTS:
            config = json.loads(originals[host])
            config["firewall-backend"] = "nftables"
            write_daemon_json(lab, host, json.dumps(config, indent=2) + "\n")  # dockerd is NOT restarted
        before = snapshot(lab)
        for host in HOSTS:
            for check in (True, False):
                ok, result = run_task(lab, host, MODULE, args(host), check=check)
                assert not ok
                assert_refusal(host, result)
        # the running 28 engine still reports iptables: the message says the switch comes at the next restart
        ok, result = run_task(lab, "h1", MODULE, args("h1"))
        assert "the running dockerd still uses iptables and switches at its next restart" in result["msg"], result
        ok, result = run_task(lab, "h1", MODULE, args("h1", mode="policy", masquerade=False))
        assert not ok
        assert_refusal("h1", result)
        assert snapshot(lab) == before, "a host changed although forward_rules refused the nftables backend"
    finally:
        for host in HOSTS:
            write_daemon_json(lab, host, originals[host])


def test_absent_is_not_refused_and_the_check_passes_again_without_the_key(lab):
    for host in HOSTS:
        ok, result = run_task(lab, host, MODULE, args(host), check=True)
        assert ok, f"{host}: {result.get('msg')}\n{result}"
    config = json.loads(read_daemon_json(lab, "h1"))
    original = read_daemon_json(lab, "h1")
    try:
        config["firewall-backend"] = "nftables"
        write_daemon_json(lab, "h1", json.dumps(config, indent=2) + "\n")
        ok, result = run_task(lab, "h1", MODULE, {"state": "absent"}, check=True)
        assert ok and result["changed"] is False, result
    finally:
        write_daemon_json(lab, "h1", original)


def test_the_direct_route_role_stops_every_host_before_any_change(lab):
    """The role's check phase runs forward_rules in check mode on every host: nftables on one host stops
    the play on every host before daemon.json, dockerd, rules or routes change anywhere."""
    original = read_daemon_json(lab, "h2")
    routes = lab.sh("rt", "ip route show").stdout
    try:
        config = json.loads(original)
        config["firewall-backend"] = "nftables"
        write_daemon_json(lab, "h2", json.dumps(config, indent=2) + "\n")  # dockerd is NOT restarted
        before = snapshot(lab)
        rc, out = playbook(lab, "playbooks/direct_route.yml")
        assert rc != 0, out[-3000:]
        assert "fatal: [h2]" in out and "firewall-backend: Docker's firewall backend on this host is nftables" in out, \
            out[-3000:]
        assert "Give this host its container subnet" not in out  # the converge phase never started
        assert snapshot(lab) == before and lab.sh("rt", "ip route show").stdout == routes
    finally:
        write_daemon_json(lab, "h2", original)
