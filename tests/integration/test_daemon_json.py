"""crosshost.docker.daemon_json on real lab hosts running dockerd 20.10, 26.1 and 28.5.

Every test writes the host's /etc/docker/daemon.json itself first, so the tests do not depend on
each other's leftovers. dockerd is never restarted here (another module owns restarts): the running
daemons keep the configuration they started with whatever the file says. The one exception is a
reload (SIGHUP), which proves what the module says about reloadable keys, and which leaves the
running configuration as it was.
"""
import json

import pytest

from labutil import SEED_004_DAEMON_JSON, five_ways, run_task

MODULE = "crosshost.docker.daemon_json"
HOSTS = {"h1": "20.10.", "h2": "26.1.", "h3": "28.5."}  # engine version prefixes (lab_factory below)
PATH = "/etc/docker/daemon.json"


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("dj", hosts=3, engines="20.10 26 28")
    yield lab
    for host in HOSTS:
        lab.sh(host, f"rm -f {PATH}", check=False)


def read(lab, host, path=PATH):
    return lab.sh(host, f"cat {path} 2>/dev/null || true").stdout


def write(lab, host, text, path=PATH):
    lab.sh(host, f"mkdir -p /etc/docker && cat > {path} <<'CROSSHOST_EOF'\n{text}CROSSHOST_EOF\n")


def sha256(lab, host, path=PATH):
    return lab.sh(host, f"sha256sum {path}").stdout.split()[0]


def fails_unchanged(lab, host, args, check=False):
    """Run the module, expect a failure, and check the file is byte-identical. Returns the result."""
    before = sha256(lab, host)
    ok, result = run_task(lab, host, MODULE, args, check=check)
    assert not ok, f"{host}: expected a failure, got {result}"
    assert sha256(lab, host) == before, f"{host}: the file changed although the module failed"
    return result


@pytest.mark.parametrize("host, n", [("h1", 31), ("h2", 32), ("h3", 33)])
def test_five_ways_set_bip_keeps_an_unrelated_key(lab, host, n):
    write(lab, host, '{"log-level": "warn"}\n')
    bip = f"10.{n}.0.1/24"
    results = five_ways(lab, host, MODULE, {"set": {"bip": bip}}, lambda: read(lab, host))

    text = read(lab, host)
    assert text == '{\n  "log-level": "warn",\n  "bip": "%s"\n}\n' % bip  # unrelated key kept, first
    assert list(json.loads(text)) == ["log-level", "bip"]

    check, check_diff, apply, idem_check, idem_apply = results
    for result in (check, check_diff, apply):
        assert result["changed_keys"] == ["bip"]
        assert result["restart_required"] is True and result["reload_sufficient"] is False
        assert result["config"] == {"log-level": "warn", "bip": bip}
        assert result["engine_version"].startswith(HOSTS[host])
        assert result["engine_version_source"] == "docker api"
    assert check_diff["diff"]["before"] == '{"log-level": "warn"}\n'
    assert check_diff["diff"]["after"] == text
    assert check_diff["diff"]["before_header"] == PATH
    for result in (idem_check, idem_apply):
        assert result["changed_keys"] == [] and result["restart_required"] is False
        assert result["validation"] == "skipped: nothing to write"
    if host == "h1":
        assert apply["validated"] is False
        assert apply["validation"] == "skipped: Docker 20.10.24 has no dockerd --validate (added in 23.0)"
    else:
        assert apply["validated"] is True and check["validated"] is True  # check mode validates too
        assert apply["validation"] == "dockerd %s --validate: configuration OK" % apply["engine_version"].split("+")[0]


def test_allow_direct_routing_accepted_on_28(lab):
    write(lab, "h3", '{"log-level": "warn"}\n')
    ok, result = run_task(lab, "h3", MODULE, {"set": {"allow-direct-routing": True}})
    assert ok and result["changed"] and result["validated"] is True, result
    assert json.loads(read(lab, "h3")) == {"log-level": "warn", "allow-direct-routing": True}


@pytest.mark.parametrize("host, version", [("h1", "20.10.24"), ("h2", "26.1.5")])
def test_allow_direct_routing_refused_before_28(lab, host, version):
    write(lab, host, '{"log-level": "warn"}\n')
    result = fails_unchanged(lab, host, {"set": {"allow-direct-routing": True}})
    assert result["msg"] == (f"{PATH} was not changed: allow-direct-routing needs Docker 28.0 or later; "
                             f"this host runs {version}")


@pytest.mark.parametrize("host, version", [("h2", "26.1.5"), ("h3", "28.5.2")])
def test_cluster_store_refused_from_23(lab, host, version):
    write(lab, host, '{"log-level": "warn"}\n')
    result = fails_unchanged(lab, host, {"set": {"cluster-store": "etcd://192.168.1.1:2379",
                                                 "cluster-advertise": "eth0:2376"}})
    for key in ("cluster-store", "cluster-advertise"):
        assert (f"{key} was removed in Docker 23.0; this host runs {version}: use the swarm overlay backend "
                "(crosshost.docker.overlay with overlay_backend=swarm)") in result["msg"]


def test_cluster_store_accepted_on_20_10(lab):
    write(lab, "h1", '{"log-level": "warn"}\n')
    args = {"set": {"cluster-store": "etcd://192.168.1.1:2379", "cluster-advertise": "eth0:2376"}}
    ok, result = run_task(lab, "h1", MODULE, args)
    # (run_task writes the task with yaml.safe_dump, which sorts the keys of set)
    assert ok and sorted(result["changed_keys"]) == ["cluster-advertise", "cluster-store"], result
    assert result["restart_required"] is True
    assert json.loads(read(lab, "h1")) == {"log-level": "warn", "cluster-store": "etcd://192.168.1.1:2379",
                                           "cluster-advertise": "eth0:2376"}
    # dockerd is not restarted with it (no etcd here); remove it again, and that is a change too
    ok, result = run_task(lab, "h1", MODULE, {"remove": ["cluster-store", "cluster-advertise"]})
    assert ok and sorted(result["changed_keys"]) == ["cluster-advertise", "cluster-store"]
    assert read(lab, "h1") == '{\n  "log-level": "warn"\n}\n'


@pytest.mark.parametrize("host, version", [("h2", "26.1.5"), ("h3", "28.5.2")])
def test_dockerd_validate_catches_an_unknown_key_on_26_and_28(lab, host, version):
    write(lab, host, '{"log-level": "warn"}\n')
    for check in (True, False):
        result = fails_unchanged(lab, host, {"set": {"no-such-key": 1}}, check=check)
        assert result["msg"] == (
            f"dockerd {version} --validate refused the new content, {PATH} was not changed: unable to configure "
            f"the Docker daemon with file {PATH} (proposed content): the following directives don't match any "
            "configuration option: no-such-key")
        assert result["validated"] is False


def test_unknown_key_is_not_checked_on_20_10(lab):
    write(lab, "h1", '{"log-level": "warn"}\n')
    ok, result = run_task(lab, "h1", MODULE, {"set": {"no-such-key": 1}}, check=True)
    assert ok and result["changed"] and result["validated"] is False
    assert "has no dockerd --validate" in result["validation"]
    assert read(lab, "h1") == '{"log-level": "warn"}\n'  # check mode


@pytest.mark.parametrize("host", list(HOSTS))
def test_seed_daemon_json_with_comments_line_column_and_untouched(lab, host):
    write(lab, host, SEED_004_DAEMON_JSON)
    for args, check in (({"set": {"bip": "10.9.0.1/24"}}, False), ({"set": {"bip": "10.9.0.1/24"}}, True),
                        ({"set": {"bip": "10.9.0.1/24"}, "purge": True}, False), ({"remove": ["cluster-store"]}, False)):
        result = fails_unchanged(lab, host, args, check=check)
        assert result["msg"] == (
            f"{PATH} is not valid JSON: Expecting property name enclosed in double quotes at line 3, column 3 "
            "(hint: comments are not allowed in daemon.json: delete the lines starting with '#'); "
            "the file was not changed"), result["msg"]
        assert (result["line"], result["column"]) == (3, 3)
    assert read(lab, host) == SEED_004_DAEMON_JSON


@pytest.mark.parametrize("host", list(HOSTS))
def test_bad_bip_network_address(lab, host):
    write(lab, host, '{"log-level": "warn", "bip": "10.40.0.1/24"}\n')
    result = fails_unchanged(lab, host, {"set": {"bip": "10.41.0.0/24"}})
    assert result["msg"] == (
        f"{PATH} was not changed: bip '10.41.0.0/24' is a network address: bip is the bridge's own (gateway) "
        "address inside the network, not the network itself: use the gateway address, e.g. 10.41.0.1/24")
    assert result["errors"] == [result["msg"].split("was not changed: ", 1)[1]]


def test_dockerd_validate_alone_would_accept_a_network_address_bip(lab):
    """Why the module checks bip itself: dockerd --validate (26, 28) says OK to a network address."""
    for host in ("h2", "h3"):
        out = lab.sh(host, """d=$(readlink /proc/$(cat /run/docker.pid)/exe)
                              echo '{"bip": "10.41.0.0/24"}' | "$d" --validate --config-file /dev/stdin 2>&1""")
        assert out.stdout.strip() == "configuration OK"


def test_new_directory_and_file_modes(lab):
    path = "/etc/crosshost-dj-test/sub/daemon.json"
    lab.sh("h2", "rm -rf /etc/crosshost-dj-test")
    try:
        ok, result = run_task(lab, "h2", MODULE, {"path": path, "set": {"mtu": 1450}})
        assert ok and result["changed"] and result["validated"], result
        modes = lab.sh("h2", f"stat -c '%a %U' /etc/crosshost-dj-test /etc/crosshost-dj-test/sub {path}").stdout.split("\n")
        assert modes[:3] == ["755 root", "755 root", "644 root"]
        assert read(lab, "h2", path) == '{\n  "mtu": 1450\n}\n'
        # an existing file keeps its owner and mode; backup_file has the old content
        lab.sh("h2", f"chmod 600 {path} && chown 65534:65534 {path}")
        ok, result = run_task(lab, "h2", MODULE, {"path": path, "set": {"mtu": 1400}, "backup": True})
        assert ok and result["changed"] and result["backup_file"].startswith(path + "."), result
        assert result["backup_file"].endswith("~")
        assert lab.sh("h2", f"stat -c '%a %u:%g' {path}").stdout.strip() == "600 65534:65534"
        assert read(lab, "h2", result["backup_file"]) == '{\n  "mtu": 1450\n}\n'
        assert read(lab, "h2", path) == '{\n  "mtu": 1400\n}\n'
        # no temporary file left next to it
        assert lab.sh("h2", "ls -A /etc/crosshost-dj-test/sub | grep -c tmp || true").stdout.strip() == "0"
        # mode alone: a change, no restart, content untouched
        ok, result = run_task(lab, "h2", MODULE, {"path": path, "set": {"mtu": 1400}, "mode": "0640"})
        assert ok and result["changed"] and result["changed_keys"] == [] and result["restart_required"] is False
        assert lab.sh("h2", f"stat -c '%a' {path}").stdout.strip() == "640"
        ok, result = run_task(lab, "h2", MODULE, {"path": path, "set": {"mtu": 1400}, "mode": "0640"})
        assert ok and not result["changed"]
    finally:
        lab.sh("h2", "rm -rf /etc/crosshost-dj-test")


def test_nested_set_and_remove_keep_order_and_style(lab):
    original = ('{\n    "log-driver": "json-file",\n    "log-opts": {\n        "max-size": "1m",\n'
                '        "max-file": "3"\n    },\n    "mtu": 1500\n}\n')
    write(lab, "h3", original)
    ok, result = run_task(lab, "h3", MODULE, {"set": {"log-opts": {"max-size": "10m"}}, "remove": ["mtu"]}, diff=True)
    assert ok and result["changed_keys"] == ["log-opts.max-size", "mtu"], result
    assert read(lab, "h3") == ('{\n    "log-driver": "json-file",\n    "log-opts": {\n        "max-size": "10m",\n'
                               '        "max-file": "3"\n    }\n}\n')
    assert result["diff"]["before"] == original


@pytest.mark.parametrize("host", list(HOSTS))
def test_reload_sufficient_keys_really_reload(lab, host):
    """debug/labels: reload_sufficient, and a SIGHUP applies them. Removing debug: restart_required,
    and indeed a reload leaves the running daemon in debug mode (moby only copies keys that are set)."""
    def info():
        out = lab.sh(host, "docker info --format '{{json .Debug}} {{json .Labels}}'").stdout.split(" ", 1)
        return json.loads(out[0]), json.loads(out[1]) or []

    write(lab, host, "{}\n")
    try:
        ok, result = run_task(lab, host, MODULE, {"set": {"debug": True, "labels": ["crosshost=dj"]}})
        assert ok and result["reload_sufficient"] is True and result["restart_required"] is False, result
        lab.sh(host, "/etc/init.d/docker reload && sleep 1")
        assert info() == (True, ["crosshost=dj"])

        ok, result = run_task(lab, host, MODULE, {"remove": ["debug"]})
        assert ok and result["restart_required"] is True and result["reload_sufficient"] is False, result
        lab.sh(host, "/etc/init.d/docker reload && sleep 1")
        assert info()[0] is True  # removal not applied by a reload: a restart is needed
    finally:
        write(lab, host, '{"debug": false, "labels": []}\n')
        lab.sh(host, "/etc/init.d/docker reload && sleep 1")
        lab.sh(host, f"rm -f {PATH}")
    assert info() == (False, [])
