"""forward_rules on real lab hosts (Docker 20.10, 26, 28; real iptables, real kernel routing).

The hosts are prepared by hand here as a user would before running the module: a distinct bip per
host, "ip-masq": false (and "allow-direct-routing": true on 28) in daemon.json, and routes for
each container subnet in the lab's VPC router. Then: the five ways on every host; a full matrix of
TCP connections by container IP in which each receiver reports the source address it saw; the
same after restarting every dockerd with nothing re-applied; outbound masquerade still on;
unpublished ports closed to a host outside the cluster (the router); the boot script restoring the
rules after they are flushed; bad input and unmet prerequisites refused with the host unchanged;
state=absent removing ours only.
"""
import pytest

from labutil import run_task, five_ways, source_matrix, start_probes

HOSTS = ["h1", "h2", "h3"]
SUBNETS = {"h1": "10.0.0.0/24", "h2": "10.1.0.0/24", "h3": "10.2.0.0/24"}
BIPS = {"h1": "10.0.0.1/24", "h2": "10.1.0.1/24", "h3": "10.2.0.1/24"}


def args(host, **extra):
    a = {"local_subnets": [SUBNETS[host]], "peer_subnets": [SUBNETS[h] for h in HOSTS if h != host],
         "underlay_interface": "eth0"}
    a.update(extra)
    return a


def ours(lab, host):
    """Our rules as the host has them, the FORWARD policy, and our boot script."""
    return lab.sh(host, "iptables-save | grep -E 'CROSSHOST|crosshost' | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'; "
                        "iptables -S FORWARD | head -1; cat /etc/crosshost-docker/forward-rules.sh 2>/dev/null || true"
                  ).stdout


def everything(lab, host):
    return lab.sh(host, "iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'; "
                        "ls /etc/crosshost-docker 2>/dev/null || true").stdout


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("fr", hosts=3, engines="20.10 26 28")
    for host in HOSTS:
        extra = ', "allow-direct-routing": true' if lab.state["hosts"][host]["engine"] == "28" else ""
        lab.sh(host, f"""echo '{{"bip": "{BIPS[host]}", "ip-masq": false{extra}}}' > /etc/docker/daemon.json
                        /etc/init.d/docker restart >/dev/null""")
        lab.sh("rt", f"ip route replace {SUBNETS[host]} via {lab.state['hosts'][host]['address']}")
    return lab


@pytest.fixture(scope="module")
def probes(lab):
    return start_probes(lab, HOSTS)


def test_before_the_rules_containers_cannot_reach_each_other(lab, probes):
    matrix = source_matrix(lab, probes)[0]
    assert all(seen is None for row in matrix.values() for seen in row.values()), matrix


@pytest.mark.parametrize("host", HOSTS)
def test_five_ways(lab, probes, host):
    results = five_ways(lab, host, "crosshost.docker.forward_rules", args(host), lambda: ours(lab, host))
    added = results[2]["added"]
    assert f"filter CROSSHOST-FORWARD -s {SUBNETS['h2' if host != 'h2' else 'h1']} -d {SUBNETS[host]} -i eth0 -j ACCEPT" \
        in added
    assert any("DOCKER-USER" in a for a in added) and any("POSTROUTING" in a for a in added)
    assert results[4]["added"] == [] and results[4]["removed"] == []
    assert "-P FORWARD DROP" in ours(lab, host)  # never a blanket ACCEPT


def test_matrix_passes_with_true_source_ips(lab, probes):
    matrix, client = source_matrix(lab, probes)
    assert matrix == {src: {dst: client[src] for dst in HOSTS if dst != src} for src in HOSTS}, matrix


def test_outbound_traffic_is_still_masqueraded(lab, probes):
    # A listener in h2's own namespace (not a container): traffic to it leaves the cluster's subnets.
    lab.sh("h2", "(timeout 20 busybox nc -ll -p 5001 -e busybox netstat -tn >/dev/null 2>&1 &)")
    from labutil import seen_source
    seen = seen_source(lab, "h1", lab.state["hosts"]["h2"]["address"], port=5001)
    assert seen == lab.state["hosts"]["h1"]["address"], seen


def test_unpublished_ports_stay_closed_to_hosts_outside_the_cluster(lab, probes):
    # The VPC router routes to every container subnet but is not a cluster member.
    from labutil import seen_source
    for host in HOSTS:
        assert seen_source(lab, "rt", probes[host], container=None) is None, host


def test_rules_survive_restarting_every_dockerd(lab, probes):
    for host in HOSTS:
        lab.sh(host, "/etc/init.d/docker restart >/dev/null && docker start xh-srv xh-cli >/dev/null")
    matrix, client = source_matrix(lab, probes)
    assert matrix == {src: {dst: client[src] for dst in HOSTS if dst != src} for src in HOSTS}, matrix
    for host in HOSTS:
        ok, result = run_task(lab, host, "crosshost.docker.forward_rules", args(host))
        assert ok and result["changed"] is False, result


def test_boot_script_restores_the_rules_after_a_flush(lab):
    host = "h3"
    before = ours(lab, host)
    # What a reboot does to our rules (Docker's own are recreated by dockerd; ours are not).
    lab.sh(host, """iptables -D DOCKER-USER -m comment --comment crosshost.docker -j CROSSHOST-FORWARD
                    iptables -F CROSSHOST-FORWARD; iptables -X CROSSHOST-FORWARD
                    iptables -t nat -D POSTROUTING -s 10.2.0.0/24 -m comment --comment crosshost.docker -j CROSSHOST-MASQ
                    iptables -t nat -F CROSSHOST-MASQ; iptables -t nat -X CROSSHOST-MASQ""")
    assert "CROSSHOST" not in lab.sh(host, "iptables-save").stdout
    lab.sh(host, "sh /etc/crosshost-docker/forward-rules.sh && sh /etc/crosshost-docker/forward-rules.sh")
    assert ours(lab, host) == before  # twice: still exactly one copy of each rule


def test_bad_input_is_refused_and_the_host_is_unchanged(lab):
    before = everything(lab, "h1")
    for bad, words in (({"local_subnets": ["10.0.0.1/24"]}, "has host bits set: use the network address 10.0.0.0/24"),
                       ({"peer_subnets": ["10.0.0.128/25"]}, "overlaps local subnet 10.0.0.0/24"),
                       ({"underlay_interface": "eth0 eth1"}, "underlay_interface"),
                       ({"peer_subnets": []}, "peer_subnets: give the other hosts' container subnets")):
        ok, result = run_task(lab, "h1", "crosshost.docker.forward_rules", args("h1", **bad))
        assert not ok and words in result["msg"], result["msg"]
    assert everything(lab, "h1") == before


def test_unmet_prerequisites_are_explained_and_the_host_is_unchanged(lab):
    # Docker 28 without allow-direct-routing: refused, with the fix.
    lab.sh("h3", "cp /etc/docker/daemon.json /tmp/dj && echo '{\"bip\": \"10.2.0.1/24\", \"ip-masq\": false}' "
                 "> /etc/docker/daemon.json")
    try:
        before = everything(lab, "h3")
        ok, result = run_task(lab, "h3", "crosshost.docker.forward_rules", args("h3", peer_subnets=["10.9.0.0/24"]))
        assert not ok and '"allow-direct-routing": true' in result["msg"], result["msg"]
        assert everything(lab, "h3") == before
        ok, result = run_task(lab, "h3", "crosshost.docker.forward_rules", args("h3", peer_subnets=["10.9.0.0/24"]),
                              check=True)
        assert ok and result["changed"] and any("allow-direct-routing" in w for w in result.get("warnings", []))
    finally:
        lab.sh("h3", "cp /tmp/dj /etc/docker/daemon.json")
    # Docker still masquerading (ip-masq on): refused, with the fix.
    lab.sh("h1", "iptables -t nat -A POSTROUTING -s 10.0.0.0/24 ! -o docker0 -j MASQUERADE")
    try:
        before = everything(lab, "h1")
        ok, result = run_task(lab, "h1", "crosshost.docker.forward_rules", args("h1", peer_subnets=["10.9.0.0/24"]))
        assert not ok and '"ip-masq": false' in result["msg"], result["msg"]
        assert everything(lab, "h1") == before
    finally:
        lab.sh("h1", "iptables -t nat -D POSTROUTING -s 10.0.0.0/24 ! -o docker0 -j MASQUERADE")
    # No Docker at all (the router): no DOCKER-USER chain.
    ok, result = run_task(lab, "rt", "crosshost.docker.forward_rules", args("h1"))
    assert not ok and "DOCKER-USER chain does not exist" in result["msg"], result["msg"]


def test_absent_and_policy_mode_touch_only_what_they_own(lab):
    host = "h2"
    lab.sh(host, "iptables -A DOCKER-USER -s 198.51.100.7/32 -j DROP")  # someone else's rule
    docker_rules = [r for r in everything(lab, host).splitlines()
                    if "CROSSHOST" not in r and "crosshost" not in r and r != "forward-rules.sh"]
    try:
        ok, result = run_task(lab, host, "crosshost.docker.forward_rules", {"state": "absent"})
        assert ok and result["changed"] and result["added"] == []
        assert "CROSSHOST" not in lab.sh(host, "iptables-save").stdout
        assert lab.sh(host, "ls /etc/crosshost-docker/forward-rules.sh", check=False).returncode != 0
        assert everything(lab, host).splitlines() == docker_rules
        ok, result = run_task(lab, host, "crosshost.docker.forward_rules", {"state": "absent"})
        assert ok and not result["changed"]

        # The seed's blunt fix, on request, with a warning; absent in policy mode puts DROP back.
        ok, result = run_task(lab, host, "crosshost.docker.forward_rules",
                              {"mode": "policy", "masquerade": False, "persist": False})
        assert ok and result["changed"] and "-P FORWARD ACCEPT" in ours(lab, host)
        assert any("FORWARD policy ACCEPT" in w for w in result.get("warnings", []))
        ok, result = run_task(lab, host, "crosshost.docker.forward_rules", {"mode": "policy", "state": "absent"})
        assert ok and result["changed"] and "-P FORWARD DROP" in ours(lab, host)
        assert "-A DOCKER-USER -s 198.51.100.7/32 -j DROP" in lab.sh(host, "iptables -S DOCKER-USER").stdout
    finally:
        lab.sh(host, "iptables -D DOCKER-USER -s 198.51.100.7/32 -j DROP")
