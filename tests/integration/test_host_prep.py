"""Issue 3's acceptance, on a Docker 20.10 host and a Docker 28 host, with the host preparation
modules composed as a user would (tests/integration/playbooks/host_prep.yml: daemon_json with a
backup -> one docker_daemon restart handler with rollback -> forwarding -> forward_rules) and the
container subnets routed by hand in the lab's VPC router.

Restarts are counted from dockerd's own "Starting up" log lines in each host's /var/log/docker.log.
"""
import json

import pytest

from labutil import source_matrix, start_probes

HOSTS = ["h1", "h2"]
SUBNETS = {"h1": "10.0.0.0/24", "h2": "10.1.0.0/24"}
BIPS = {"h1": "10.0.0.1/24", "h2": "10.1.0.1/24"}
UNRELATED = {"labels": ["crosshost-test=keep"]}
PLAYBOOK = "tests/integration/playbooks/host_prep.yml"


def play(lab, **extra):
    variables = {"prep_subnets": SUBNETS, "prep_bips": BIPS}
    variables.update(extra)
    return lab.ansible("ansible-playbook", PLAYBOOK, "-e", json.dumps(variables), check=False)


def starts(lab, host):
    return int(lab.sh(host, "grep -c 'Starting up' /var/log/docker.log || true").stdout.strip() or 0)


def daemon_json(lab, host):
    return json.loads(lab.sh(host, "cat /etc/docker/daemon.json").stdout)


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("hp", hosts=2, engines="20.10 28")
    for host in HOSTS:
        lab.sh(host, f"echo '{json.dumps(UNRELATED)}' > /etc/docker/daemon.json && /etc/init.d/docker restart >/dev/null")
        lab.sh("rt", f"ip route replace {SUBNETS[host]} via {lab.state['hosts'][host]['address']}")
    return lab


@pytest.fixture(scope="module")
def first_run(lab):
    before = {h: starts(lab, h) for h in HOSTS}
    proc = play(lab)
    return before, proc


def test_first_run_sets_bip_keeps_the_unrelated_key_and_restarts_once(lab, first_run):
    before, proc = first_run
    assert proc.returncode == 0, proc.stdout[-5000:]
    for host in HOSTS:
        assert starts(lab, host) == before[host] + 1, f"{host}: dockerd should start exactly once"
        config = daemon_json(lab, host)
        assert config["labels"] == UNRELATED["labels"] and config["bip"] == BIPS[host] and config["ip-masq"] is False
        assert ("allow-direct-routing" in config) == (lab.state["hosts"][host]["engine"] == "28")
        lab.sh(host, "docker rm -f newc >/dev/null 2>&1; docker run -d --init --name newc local/probe sleep 60 >/dev/null")
        ip = lab.sh(host, "docker inspect -f '{{.NetworkSettings.IPAddress}}' newc").stdout.strip()
        assert ip.startswith(SUBNETS[host].rsplit(".", 2)[0] + "."), ip


def test_second_run_changes_nothing_and_restarts_nothing(lab, first_run):
    before = {h: starts(lab, h) for h in HOSTS}
    proc = play(lab)
    assert proc.returncode == 0, proc.stdout[-5000:]
    for host in HOSTS:
        assert f"{host}" in proc.stdout and "changed=0" in proc.stdout.split(f"\n{host}")[-1].split("\n")[0], proc.stdout[-2000:]
        assert starts(lab, host) == before[host]


def test_containers_reach_each_other_with_true_source_ips_even_after_restarts(lab, first_run):
    probes = start_probes(lab, HOSTS)
    matrix, client = source_matrix(lab, probes)
    assert matrix == {"h1": {"h2": client["h1"]}, "h2": {"h1": client["h2"]}}, matrix
    for host in HOSTS:
        lab.sh(host, "/etc/init.d/docker restart >/dev/null && docker start xh-srv xh-cli >/dev/null")
    matrix, client = source_matrix(lab, probes)
    assert matrix == {"h1": {"h2": client["h1"]}, "h2": {"h1": client["h2"]}}, matrix


def test_a_value_that_kills_dockerd_is_rolled_back(lab, first_run):
    good = {h: daemon_json(lab, h) for h in HOSTS}
    proc = play(lab, prep_extra={"storage-driver": "no-such-driver"})
    assert proc.returncode != 0
    for host in HOSTS:
        assert daemon_json(lab, host) == good[host], f"{host}: daemon.json not restored"
        assert lab.sh(host, "docker version --format '{{.Server.Version}}'").returncode == 0
        assert "no-such-driver" in lab.sh(host, "cat /etc/docker/daemon.json.failed").stdout
    # dockerd's own words reach the user
    assert "no-such-driver" in proc.stdout and "graphdriver" in proc.stdout.lower(), proc.stdout[-4000:]
    # and the host is as before: a rerun changes nothing
    again = play(lab)
    assert again.returncode == 0 and again.stdout.count("changed=0") == 2, again.stdout[-3000:]
