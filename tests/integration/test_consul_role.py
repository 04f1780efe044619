"""The crosshost.docker.consul role on real lab hosts (h1 server, h2 client; Docker 20.10).

No Consul binary can be installed on the machines this project is built on (no package registry
carries one), so two kinds of tests run here:

* Always: the role for real against the hosts (files, users, the SysV init script the lab's hosts
  use, check and diff mode, idempotence, validation before anything changes, secrets never in the
  output, container mode against the hosts' real dockerd), with `consul` being
  tests/integration/consul_double.py packed into a release-shaped zip. That program is NOT Consul:
  it validates the HCL the role writes and models a subset of the HTTP API (leader, ACL bootstrap,
  policies, tokens, KV with key_prefix rules) from Consul's API reference, so the role's whole
  request sequence and its idempotence are exercised. It proves what the role does, not that
  Consul accepts it.
* Only where a real Consul binary is provided: `CROSSHOST_CONSUL_BIN=/path/to/consul` (the linux
  binary from an official release zip). test_live_consul_cluster then packs that binary into the
  zip, runs the role on a fresh lab (1 server, 1 client), and checks the leader, the ACL bootstrap,
  and a KV write/read with the token the role made for Docker (and that the token cannot write
  outside `docker/`). Without the variable it is skipped, saying so.

Everything the role writes lands in the hosts' private /etc, /var/lib, /var/log and /run: the
install and bin directories are moved to /var/lib/consul-dist (the default /usr/local is the
machine's own in this lab). Every HTTP request stays inside the lab hosts' namespaces.
"""
import json
import os
import re
import shlex
import stat
import zipfile

import pytest

DOUBLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "consul_double.py")
VERSION = "1.20.2"
# Two gossip keys made for these tests: a valid one, and a 31-byte one that the role must refuse
# without ever printing it.
KEY = "Y3Jvc3Nob3N0LXRlc3QtZ29zc2lwLWtleS0zMmJ5dGU="
BAD_KEY = "Y3Jvc3Nob3N0LWJvZ3VzLWdvc3NpcC1rZXktMzFieQ=="
LAB_PATHS = {"consul_install_dir": "/var/lib/consul-dist", "consul_bin_dir": "/var/lib/consul-dist/bin"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
DOCKER_DESCRIPTION = "crosshost.docker: Docker's key-value store (cluster-store)"


def test_keys_are_what_the_tests_say():
    import base64
    assert len(base64.b64decode(KEY)) == 32 and len(base64.b64decode(BAD_KEY)) == 31


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("cs", hosts=2, engines="20.10")


def make_zip(lab, program, name="standin", shebang=b""):
    """A release-shaped zip (one executable member named consul) in the lab's directory."""
    path = os.path.join(lab.dir, f"consul-{name}", f"consul_{VERSION}_linux_amd64.zip")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    info = zipfile.ZipInfo("consul", date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(program, "rb") as f:
        data = shebang + f.read()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(info, data)
    return path


def play(lab, variables, *flags, check=True):
    """Run playbooks/consul.yml (h1 server, h2 client) with the variables in a file (never on the
    command line), at -v so that the secrets test sees everything Ansible prints."""
    path = os.path.join(lab.dir, "consul-vars.json")
    merged = {"consul_play_hosts": "docker_hosts", "consul_servers": ["h1"], "consul_encrypt": KEY,
              "consul_leader_timeout": 60, **LAB_PATHS, **variables}
    with open(path, "w") as f:
        json.dump(merged, f)
    try:
        proc = lab.ansible("ansible-playbook", "playbooks/consul.yml", "-e", "@" + path, "-v", *flags, check=False)
    finally:
        os.unlink(path)
    if check and proc.returncode != 0:
        raise AssertionError(f"consul play failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}")
    return proc


def recap(proc):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from the PLAY RECAP."""
    out = {}
    for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", proc.stdout, re.M):
        out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


def footprint(lab, host):
    """What the role may create on a host; empty on a fresh one."""
    return lab.sh(host, "ls -d /etc/consul.d /var/lib/consul /var/lib/consul-dist /etc/init.d/consul "
                        "/etc/consul-acl 2>/dev/null; getent passwd consul; true").stdout


def assert_no_secrets(proc, *secrets):
    output = proc.stdout + proc.stderr
    for s in secrets:
        assert s and s not in output, "a secret appears in ansible-playbook's output"


def standin_state(lab):
    return json.loads(lab.sh("h1", "cat /var/lib/consul/standin-state.json").stdout)


KV_CLIENT = """
import sys, urllib.request, urllib.error
method, url, token, data = sys.argv[1:5]
req = urllib.request.Request(url, method=method, headers={"X-Consul-Token": token},
                             data=data.encode() if method == "PUT" else None)
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
sys.stdout.write("%d\\n%s" % (status, body.decode()))
"""


def kv(lab, host, method, key, token, data=None):
    """(HTTP status, body) of a KV request to the agent on `host`, from inside the host (python3: the
    Debian hosts have no curl)."""
    url = f"http://127.0.0.1:8500/v1/kv/{key}{'?raw' if method == 'GET' else ''}"
    out = lab.sh(host, f"python3 -c {shlex.quote(KV_CLIENT)} {method} {shlex.quote(url)} {shlex.quote(token)} "
                       f"{shlex.quote(data or '')}").stdout
    status, body = out.split("\n", 1)
    return int(status), body


def assert_docker_token_works(lab, host, token):
    status, body = kv(lab, host, "PUT", "docker/crosshost-test", token, "hello")
    assert (status, body.strip()) == (200, "true"), (status, body)
    assert kv(lab, host, "GET", "docker/crosshost-test", token) == (200, "hello")
    status = kv(lab, host, "PUT", "elsewhere/crosshost-test", token, "x")[0]
    assert status == 403, f"Docker's token could write outside docker/ (HTTP {status})"


@pytest.fixture(scope="module")
def standin_zip(lab):
    return make_zip(lab, DOUBLE, shebang=b"#!/usr/bin/python3\n")


# ---------------------------------------------------------------------------------------- input


@pytest.mark.parametrize("variables, words", [
    ({"consul_encrypt": BAD_KEY}, "consul_encrypt decodes to 31 bytes, not 32"),
    ({"consul_servers": ["h1", "h2"]}, "consul_servers has 2 hosts (h1, h2): use 1, 3 or 5 servers"),
    ({"consul_archive_src": ""}, "consul_archive_checksum is empty: a download needs the release's SHA-256"),
])
def test_bad_input_is_refused_before_any_host_changes(lab, standin_zip, variables, words):
    before = {h: footprint(lab, h) for h in ("h1", "h2")}
    assert before == {"h1": "", "h2": ""}, before
    proc = play(lab, {"consul_archive_src": standin_zip, **variables}, check=False)
    assert proc.returncode != 0
    assert words in proc.stdout, proc.stdout[-3000:]
    assert {h: footprint(lab, h) for h in ("h1", "h2")} == before
    assert_no_secrets(proc, KEY, BAD_KEY)


# ---------------------------------------------------------------------------------------- container


def test_container_mode_with_tls_creates_the_agent_container_idempotently(lab):
    """Container mode against the host's real dockerd, with TLS files. The image is the lab's probe
    image under another name (no Consul image can be pulled here), so the container is only created
    (consul_start: false), never started; what is checked is how the role creates it, and that the
    private key is copied but never shown (even with --diff)."""
    lab.sh("h2", "docker tag local/probe:latest local/consul-standin:test")
    pki = os.path.join(lab.dir, "consul-pki")
    os.makedirs(pki, exist_ok=True)
    key_pem = "-----BEGIN PRIVATE KEY-----\nY3Jvc3Nob3N0LXRlc3QtcHJpdmF0ZS1rZXk=\n-----END PRIVATE KEY-----\n"
    for name, text in (("ca.pem", "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"),
                       ("h2.pem", "-----BEGIN CERTIFICATE-----\nh2\n-----END CERTIFICATE-----\n"),
                       ("h2-key.pem", key_pem)):
        with open(os.path.join(pki, name), "w") as f:
            f.write(text)
    variables = {"consul_install_method": "container", "consul_container_image": "local/consul-standin:test",
                 "consul_container_name": "xh-consul", "consul_config_dir": "/etc/consul-c.d",
                 "consul_data_dir": "/var/lib/consul-c", "consul_start": False, "consul_play_hosts": "h2",
                 "consul_servers": ["h2"], "consul_tls": True, "consul_tls_ca_file": os.path.join(pki, "ca.pem"),
                 "consul_tls_cert_file": os.path.join(pki, "h2.pem"),
                 "consul_tls_key_file": os.path.join(pki, "h2-key.pem")}
    try:
        first = play(lab, variables, "--diff")
        assert recap(first)["h2"]["changed"] > 0
        second = play(lab, variables)
        assert recap(second)["h2"]["changed"] == 0, second.stdout[-4000:]
        info = json.loads(lab.sh("h2", "docker inspect xh-consul").stdout)[0]
        assert info["State"]["Status"] == "created"
        assert info["HostConfig"]["NetworkMode"] == "host"
        assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert info["Config"]["Entrypoint"] == ["consul"]
        assert info["Config"]["Cmd"] == ["agent", "-config-dir=/consul/config"]
        mounts = {m["Destination"]: (m["Source"], m["RW"]) for m in info["Mounts"]}
        assert mounts == {"/consul/config": ("/etc/consul-c.d", False), "/consul/data": ("/var/lib/consul-c", True)}
        hcl = lab.sh("h2", "cat /etc/consul-c.d/consul.hcl").stdout
        assert 'data_dir = "/consul/data"' in hcl and "bootstrap_expect = 1" in hcl
        # TLS: the files in the mounted directory, the paths as the container sees them.
        for line in ('ca_file = "/consul/config/tls/ca.pem"', 'cert_file = "/consul/config/tls/agent.pem"',
                     'key_file = "/consul/config/tls/agent-key.pem"', "https = 8501",
                     "verify_server_hostname = true"):
            assert line in hcl, hcl
        assert lab.sh("h2", "stat -c '%n %a' /etc/consul-c.d/tls/ca.pem /etc/consul-c.d/tls/agent.pem "
                            "/etc/consul-c.d/tls/agent-key.pem").stdout.split("\n")[:3] == [
            "/etc/consul-c.d/tls/ca.pem 644", "/etc/consul-c.d/tls/agent.pem 644", "/etc/consul-c.d/tls/agent-key.pem 640"]
        assert lab.sh("h2", "cat /etc/consul-c.d/tls/agent-key.pem").stdout == key_pem
        assert "Y3Jvc3Nob3N0LXRlc3QtcHJpdmF0ZS1rZXk=" not in first.stdout + first.stderr
        assert lab.sh("h2", "getent passwd consul", check=False).returncode != 0  # no user in container mode
        assert_no_secrets(first, KEY)
        assert_no_secrets(second, KEY)
    finally:
        lab.sh("h2", "docker rm -f xh-consul >/dev/null 2>&1; docker rmi local/consul-standin:test >/dev/null 2>&1; "
                     "rm -rf /etc/consul-c.d /var/lib/consul-c", check=False)


# ---------------------------------------------------------------------------------------- archive


def test_check_mode_on_fresh_hosts_shows_the_config_and_changes_nothing(lab, standin_zip):
    assert {h: footprint(lab, h) for h in ("h1", "h2")} == {"h1": "", "h2": ""}
    proc = play(lab, {"consul_archive_src": standin_zip}, "--check", "--diff")
    assert "bootstrap_expect = 1" in proc.stdout and "server = false" in proc.stdout
    assert 'retry_join = ["192.168.1.11"]' in proc.stdout
    assert {h: footprint(lab, h) for h in ("h1", "h2")} == {"h1": "", "h2": ""}
    assert_no_secrets(proc, KEY)


def test_archive_cluster_converges_once_and_never_shows_secrets(lab, standin_zip):
    variables = {"consul_archive_src": standin_zip}
    first = play(lab, variables)
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in recap(first).values()), recap(first)

    # Files, modes, owners.
    files = lab.sh("h1", "stat -c '%n %a %U:%G' /etc/consul.d /etc/consul.d/consul.hcl /etc/consul.d/secrets.hcl "
                         "/etc/consul.d/tokens.hcl /var/lib/consul /etc/consul-acl /etc/consul-acl/management.token "
                         "/etc/init.d/consul; readlink /var/lib/consul-dist/bin/consul").stdout.split("\n")
    assert files[:9] == ["/etc/consul.d 750 root:consul", "/etc/consul.d/consul.hcl 640 root:consul",
                         "/etc/consul.d/secrets.hcl 640 root:consul", "/etc/consul.d/tokens.hcl 640 root:consul",
                         "/var/lib/consul 750 consul:consul", "/etc/consul-acl 700 root:root",
                         "/etc/consul-acl/management.token 600 root:root", "/etc/init.d/consul 755 root:root",
                         f"/var/lib/consul-dist/{VERSION}/consul"], files
    h1 = lab.sh("h1", "cat /etc/consul.d/consul.hcl").stdout
    h2 = lab.sh("h2", "cat /etc/consul.d/consul.hcl").stdout
    for line in ('bind_addr = "192.168.1.11"', 'client_addr = "127.0.0.1 192.168.1.11"', "server = true",
                 "bootstrap_expect = 1", 'retry_join = ["192.168.1.11"]', 'default_policy = "deny"'):
        assert line in h1, h1
    assert 'bind_addr = "192.168.1.12"' in h2 and "server = false" in h2 and "bootstrap_expect" not in h2
    assert KEY not in h1 and f'encrypt = "{KEY}"' in lab.sh("h1", "cat /etc/consul.d/secrets.hcl").stdout
    # The agents run under the init script, as the consul user.
    for host in ("h1", "h2"):
        status = lab.sh(host, "/etc/init.d/consul status").stdout
        pid = re.search(r"running \(pid (\d+)\)", status).group(1)
        assert lab.sh(host, f"ps -o user= -p {pid}").stdout.strip() == "consul"

    # ACLs: bootstrapped once, the agents' and Docker's tokens, each agent given its token.
    state = standin_state(lab)
    assert state["bootstrapped"] and state["reloads"] == 1
    tokens = {t["Description"]: t for t in state["tokens"].values()}
    docker = tokens[DOCKER_DESCRIPTION]["SecretID"]
    agent = tokens["crosshost.docker: Consul agents (node registration)"]["SecretID"]
    management = lab.sh("h1", "cat /etc/consul-acl/management.token").stdout.strip()
    assert re.fullmatch(UUID, management) and tokens["Bootstrap Token (Global Management)"]["SecretID"] == management
    for host in ("h1", "h2"):
        assert f'agent = "{agent}"' in lab.sh(host, "cat /etc/consul.d/tokens.hcl").stdout
    assert_docker_token_works(lab, "h1", docker)
    assert_no_secrets(first, KEY, management, docker, agent)

    # Second run: nothing changes, no new token, no reload, no restart.
    pids = {h: lab.sh(h, "cat /run/consul/consul.pid").stdout for h in ("h1", "h2")}
    second = play(lab, variables)
    assert {h: r["changed"] for h, r in recap(second).items()} == {"h1": 0, "h2": 0}, second.stdout[-5000:]
    again = standin_state(lab)
    assert again["tokens"].keys() == state["tokens"].keys() and again["reloads"] == 1
    assert {h: lab.sh(h, "cat /run/consul/consul.pid").stdout for h in ("h1", "h2")} == pids
    assert_no_secrets(second, KEY, management, docker, agent)


def test_config_change_is_validated_then_restarts(lab, standin_zip):
    """Runs after the cluster test. A configuration consul validate refuses is never installed; a
    good change shows in --diff and restarts the agents (new pids)."""
    before = lab.sh("h1", "cat /etc/consul.d/consul.hcl").stdout
    refused = play(lab, {"consul_archive_src": standin_zip, "consul_datacenter": "fake-invalid"}, check=False)
    assert refused.returncode != 0 and "failed to validate" in refused.stdout, refused.stdout[-3000:]
    assert lab.sh("h1", "cat /etc/consul.d/consul.hcl").stdout == before
    assert "validate -quiet -config-format=hcl" in lab.sh("h1", "cat /var/log/consul-standin-validate.log").stdout

    pids = {h: lab.sh(h, "cat /run/consul/consul.pid").stdout for h in ("h1", "h2")}
    changed = play(lab, {"consul_archive_src": standin_zip, "consul_log_level": "debug"}, "--diff")
    assert '-log_level = "INFO"' in changed.stdout and '+log_level = "DEBUG"' in changed.stdout
    after = {h: lab.sh(h, "cat /run/consul/consul.pid").stdout for h in ("h1", "h2")}
    assert all(after[h] != pids[h] for h in pids), (pids, after)
    assert_no_secrets(changed, KEY)


# ---------------------------------------------------------------------------------------- live


def test_live_consul_cluster(lab_factory):
    """Needs CROSSHOST_CONSUL_BIN: a real Consul (>= 1.12) on a fresh lab, 1 server + 1 client."""
    binary = os.environ.get("CROSSHOST_CONSUL_BIN")
    if not binary:
        pytest.skip("no Consul binary on this machine (no registry carries one): set CROSSHOST_CONSUL_BIN to a "
                    "linux consul binary from an official release to run the role against a real cluster")
    assert os.path.isfile(binary) and os.access(binary, os.X_OK), f"CROSSHOST_CONSUL_BIN={binary} is not executable"
    live = lab_factory("cl", hosts=2, engines="20.10")
    archive = make_zip(live, binary, name="live")
    variables = {"consul_archive_src": archive, "consul_leader_timeout": 120}
    first = play(live, variables)
    leader = live.sh("h2", "curl -s http://127.0.0.1:8500/v1/status/leader").stdout
    assert leader.strip('"').startswith("192.168.1.11:"), leader
    management = live.sh("h1", "cat /etc/consul-acl/management.token").stdout.strip()
    listing = json.loads(live.sh("h1", f"curl -s -H 'X-Consul-Token: {management}' "
                                       "http://127.0.0.1:8500/v1/acl/tokens").stdout)
    accessor = next(t["AccessorID"] for t in listing if t["Description"] == DOCKER_DESCRIPTION)
    docker = json.loads(live.sh("h1", f"curl -s -H 'X-Consul-Token: {management}' "
                                      f"http://127.0.0.1:8500/v1/acl/token/{accessor}").stdout)["SecretID"]
    for host in ("h1", "h2"):   # through the server and through the client agent
        assert_docker_token_works(live, host, docker)
    assert_no_secrets(first, KEY, management, docker)
    second = play(live, variables)
    assert {h: r["changed"] for h, r in recap(second).items()} == {"h1": 0, "h2": 0}, second.stdout[-5000:]


# ---------------------------------------------------------------------------------------- systemd


@pytest.fixture(scope="module")
def deb():
    """Two Debian 12 hosts with systemd (LAB_OS=debian12), reached over SSH as ops with become."""
    from test_lab_debian import REASON, DebianLab
    if REASON:
        pytest.skip(REASON)
    lab = DebianLab("csd", hosts=2, engines="20.10")
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


def unit_state(lab, host):
    """(enabled, active, MainPID, the MainPID's user) of consul.service on `host`."""
    out = lab.sh(host, "systemctl is-enabled consul; systemctl is-active consul; "
                       "systemctl show -p MainPID --value consul", check=False).stdout.split()
    pid = out[2] if len(out) > 2 else "0"
    user = lab.sh(host, f"ps -o user= -p {pid}", check=False).stdout.strip() if pid != "0" else ""
    return out[0], out[1], pid, user


def test_systemd_unit_runs_the_agent_and_brings_it_back_after_a_reboot(deb):
    """The consul role's systemd path (issue 12 part 5), with the stand-in binary on full Debian
    hosts: the unit is written, enabled and started (Type=notify: the stand-in sends READY=1 as
    Consul does), the agent runs as `consul`; a rerun restarts nothing; a configuration change
    restarts it through systemd (daemon-reload, new MainPID); after every host is rebooted the
    agents are back by themselves with their ACL state, Docker's token still works, and a rerun
    changes nothing."""
    archive = make_zip(deb, DOUBLE, shebang=b"#!/usr/bin/python3\n")
    variables = {"consul_archive_src": archive}
    first = play(deb, variables)
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in recap(first).values()), recap(first)
    states = {h: unit_state(deb, h) for h in ("h1", "h2")}
    for host, (enabled, active, pid, user) in states.items():
        assert (enabled, active, user) == ("enabled", "active", "consul"), (host, states[host])
        unit = deb.sh(host, "systemctl cat consul").stdout
        assert "Type=notify" in unit and "ExecStart=/var/lib/consul-dist/bin/consul agent -config-dir=/etc/consul.d" in unit
        assert deb.sh(host, "test -e /etc/init.d/consul", check=False).returncode != 0  # no SysV script here
    management = deb.sh("h1", "cat /etc/consul-acl/management.token").stdout.strip()
    docker = {t["Description"]: t for t in standin_state(deb)["tokens"].values()}[DOCKER_DESCRIPTION]["SecretID"]
    assert_docker_token_works(deb, "h1", docker)
    assert_no_secrets(first, KEY, management, docker)

    second = play(deb, variables)
    assert {h: r["changed"] for h, r in recap(second).items()} == {"h1": 0, "h2": 0}, second.stdout[-5000:]
    assert {h: unit_state(deb, h) for h in ("h1", "h2")} == states

    changed = play(deb, {**variables, "consul_log_level": "debug"})
    restarted = {h: unit_state(deb, h) for h in ("h1", "h2")}
    for host in ("h1", "h2"):
        assert restarted[host][1] == "active" and restarted[host][2] != states[host][2], (host, states, restarted)
    assert_no_secrets(changed, KEY, management, docker)

    deb.reboot("all")
    booted = {h: unit_state(deb, h) for h in ("h1", "h2")}
    for host, (enabled, active, pid, user) in booted.items():
        assert (enabled, active, user) == ("enabled", "active", "consul"), (host, booted[host])
    assert_docker_token_works(deb, "h1", docker)
    after = play(deb, {**variables, "consul_log_level": "debug"})
    assert {h: r["changed"] for h, r in recap(after).items()} == {"h1": 0, "h2": 0}, after.stdout[-5000:]
