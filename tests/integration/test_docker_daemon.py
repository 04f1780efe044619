"""crosshost.docker.docker_daemon on real lab hosts (dockerd 20.10, 26 and 28, the lab's init script).

Run as root:  CROSSHOST_TEST_PREFIX=e $V/bin/python -m pytest -q -s tests/integration/test_docker_daemon.py
(-s shows the measured facts: restart times, dockerd's error lines, live-restore per engine).

The module's own `action` return value is read through ad-hoc `ansible` with the minimal callback:
the ansible.posix.json callback that labutil.run_task uses writes the task's module name over a
result key called `action`.
"""
import json
import os
import subprocess
import sys
import tempfile

import pytest
import yaml

from labutil import collections_path, run_task

MODULE = "crosshost.docker.docker_daemon"
ENGINES = {"h1": "20.10", "h2": "26", "h3": "28"}
HOSTS = list(ENGINES)
DJ = "/etc/docker/daemon.json"
GOOD = "/etc/docker/daemon.json.good"

CIDR_OLD = "failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33"
CIDR_28 = "failed to start daemon: Error initializing network controller: parse bip failed: invalid CIDR address: 10.0.0.0/33"
CLUSTER_STORE = ("unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives "
                 "don't match any configuration option: cluster-store")
# Per engine: a daemon.json that makes dockerd refuse to start, and the line dockerd prints.
BROKEN = {
    "h1": ('{"bip": "10.0.0.0/33"}', CIDR_OLD),
    "h2": ('{"cluster-store": "etcd://192.168.1.1:2379"}', CLUSTER_STORE),
    "h3": ('{"bip": "10.0.0.0/33"}', CIDR_28),
}
MEASURED = []


def measured(text):
    MEASURED.append(text)


@pytest.fixture(scope="module")
def lab(lab_factory):
    lab = lab_factory("dd", hosts=3, engines="20.10 26 28")
    yield lab
    if MEASURED:
        sys.stdout.write("\n" + "\n".join("MEASURED " + line for line in MEASURED) + "\n")


CLEAN = """
ids=$(docker ps -aq 2>/dev/null); [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1
rm -f /etc/docker/daemon.json.* /etc/docker/*.json.good /etc/docker/broken.json
if [ -e /etc/docker/daemon.json ]; then rm -f /etc/docker/daemon.json; /etc/init.d/docker restart >/dev/null 2>&1; fi
/etc/init.d/docker status >/dev/null 2>&1 || /etc/init.d/docker start >/dev/null 2>&1
docker version --format '{{.Server.Version}}' >/dev/null
"""


@pytest.fixture(autouse=True)
def clean_hosts(lab):
    """Every test starts and ends with: no daemon.json, no containers, dockerd running."""
    yield
    for host in HOSTS:
        lab.sh(host, CLEAN, timeout=180)


def daemon(lab, host, check=False, **args):
    """Run the module ad hoc on one host; return (ok, the module's own result)."""
    extra = ["--check"] if check else []
    proc = lab.ansible("ansible", host, "-m", MODULE, "-a", json.dumps(args), *extra, check=False,
                       extra_env={"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"})
    marker = "%s | " % host
    start = proc.stdout.find(marker)
    if start < 0:
        raise AssertionError("no result for %s (%d):\n%s\n%s" % (host, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    status, _sep, rest = proc.stdout[start + len(marker):].partition(" => ")
    result, _end = json.JSONDecoder().raw_decode(rest)
    result["stderr_of_ansible"] = proc.stderr  # module warnings are printed there, not in the result
    return status.strip().rstrip("!") in ("SUCCESS", "CHANGED"), result


def pidfile(lab, host):
    out = lab.sh(host, "cat /run/docker.pid 2>/dev/null", check=False).stdout.strip()
    return int(out) if out else None


def alive(lab, host, pid):
    return pid is not None and lab.sh(host, "kill -0 %d" % pid, check=False).returncode == 0


def server_version(lab, host):
    proc = lab.sh(host, "docker version --format '{{.Server.Version}}'", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def write(lab, host, path, content):
    lab.sh(host, "cat > %s <<'EOF'\n%s\nEOF" % (path, content))


def read(lab, host, path):
    return lab.sh(host, "cat %s" % path).stdout


def signal_lines(lab, host):
    """How often dockerd logged a stop or a reload so far."""
    return lab.sh(host, "grep -c -e \"Processing signal 'terminated'\" -e 'Got signal to reload' /var/log/docker.log",
                  check=False).stdout.strip()


def docker_running(lab, host):
    return lab.sh(host, "/etc/init.d/docker status", check=False).returncode == 0


# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_restarted_changes_the_pid_and_the_api_answers(lab, host):
    before = pidfile(lab, host)
    ok, r = daemon(lab, host, state="restarted")
    assert ok, r["msg"]
    assert r["changed"] is True and r["action"] == "restarted" and r["service_manager"] == "service"
    assert r["command"] == "/usr/sbin/service docker restart"
    assert r["pid_before"] == before and r["pid_after"] == pidfile(lab, host) != before
    assert not alive(lab, host, before) and alive(lab, host, r["pid_after"])
    assert r["engine_version"] == server_version(lab, host) and r["engine_version"].startswith(ENGINES[host])
    assert 0 < r["seconds"] < 60 and r["rolled_back"] is False and r["error_lines"] == []
    assert r["live_restore"] is False and r["containers_running_before"] == r["containers_running_after"] == 0
    measured("%s %s: restart until the API answered: %.2f s" % (host, r["engine_version"], r["seconds"]))


def test_sysvinit_manager_runs_the_init_script(lab):
    before = pidfile(lab, "h2")
    ok, r = daemon(lab, "h2", state="restarted", service_manager="sysvinit", timeout=30)
    assert ok, r["msg"]
    assert r["service_manager"] == "sysvinit" and r["command"] == "/etc/init.d/docker restart"
    assert r["pid_after"] != before and server_version(lab, "h2")


@pytest.mark.parametrize("host", HOSTS)
def test_started_on_a_running_daemon_changes_nothing(lab, host):
    before = pidfile(lab, host)
    for check in (True, False):
        ok, r = daemon(lab, host, check=check, state="started")
        assert ok and r["changed"] is False and r["action"] == "none (already running)", r
        assert r["command"] is None and r["pid_before"] == r["pid_after"] == before
    assert pidfile(lab, host) == before


@pytest.mark.parametrize("host", HOSTS)
def test_check_mode_restarts_and_reloads_nothing(lab, host):
    before, signals = pidfile(lab, host), signal_lines(lab, host)
    for state in ("restarted", "reloaded"):
        ok, r = daemon(lab, host, check=True, state=state)
        assert ok and r["changed"] is True and r["action"] == state, r
        assert "check mode" in r["msg"] and r["seconds"] is None
    assert pidfile(lab, host) == before and signal_lines(lab, host) == signals


@pytest.mark.parametrize("host", HOSTS)
def test_started_five_ways_on_a_stopped_daemon(lab, host):
    lab.sh(host, "/etc/init.d/docker stop")
    ok, r = daemon(lab, host, check=True, state="started")
    assert ok and r["changed"] is True and r["action"] == "started" and r["pid_before"] is None, r
    assert not docker_running(lab, host)
    ok, r = run_task(lab, host, MODULE, {"state": "started"}, check=True, diff=True)
    assert ok and r["changed"] is True and not r.get("diff"), r
    assert not docker_running(lab, host)
    ok, r = daemon(lab, host, state="started")
    assert ok and r["changed"] is True and r["action"] == "started", r
    assert r["pid_after"] == pidfile(lab, host) and server_version(lab, host) == r["engine_version"]
    running = r["pid_after"]
    for check in (True, False):
        ok, r = daemon(lab, host, check=check, state="started")
        assert ok and r["changed"] is False and r["action"] == "none (already running)", r
    assert pidfile(lab, host) == running


@pytest.mark.parametrize("host", HOSTS)
def test_broken_config_is_rolled_back_and_docker_runs_again(lab, host):
    broken, line = BROKEN[host]
    good = '{\n  "debug": false\n}'
    write(lab, host, DJ, good)
    lab.sh(host, "cp -p %s %s" % (DJ, GOOD))
    write(lab, host, DJ, broken)
    before = pidfile(lab, host)

    ok, r = daemon(lab, host, state="restarted", rollback_file=GOOD)
    assert not ok
    msg = r["msg"]
    assert line in msg, msg
    assert line in r["error_lines"], r["error_lines"]
    assert "Restored %s from %s (the rejected file is kept as %s.failed)" % (DJ, GOOD, DJ) in msg, msg
    version = server_version(lab, host)
    assert version and "dockerd is running again (%s)" % version in msg, msg
    assert r["rolled_back"] is True and r["failed_config"] == DJ + ".failed"
    assert read(lab, host, DJ).strip() == good and read(lab, host, DJ + ".failed").strip() == broken
    assert r["pid_after"] == pidfile(lab, host) != before and alive(lab, host, r["pid_after"])
    assert docker_running(lab, host)
    measured("%s %s: %s -> dockerd said: %s" % (host, version, broken, " | ".join(r["error_lines"])))


@pytest.mark.parametrize("host", HOSTS)
def test_broken_config_without_rollback_file_fails_clearly_and_leaves_docker_down(lab, host):
    broken, line = BROKEN[host]
    write(lab, host, DJ, broken)
    ok, r = daemon(lab, host, state="restarted")
    try:
        assert not ok
        assert line in r["msg"] and "No rollback_file was given" in r["msg"] and "NOT running" in r["msg"], r["msg"]
        assert r["rolled_back"] is False and r["pid_after"] is None and r["engine_version"] is None
        assert read(lab, host, DJ).strip() == broken
        assert not docker_running(lab, host) and server_version(lab, host) is None
        assert lab.sh(host, "test -e %s.failed" % DJ, check=False).returncode != 0
    finally:
        lab.sh(host, "rm -f %s && /etc/init.d/docker start" % DJ, timeout=120)
    assert server_version(lab, host)


@pytest.mark.parametrize("host", HOSTS)
def test_unusable_rollback_file_is_refused_before_anything_happens(lab, host):
    before, signals = pidfile(lab, host), signal_lines(lab, host)
    ok, r = daemon(lab, host, state="restarted", rollback_file="/etc/docker/missing.json")
    assert not ok and "/etc/docker/missing.json cannot be read" in r["msg"] and "Nothing was done" in r["msg"], r
    write(lab, host, "/etc/docker/broken.json", '{\n  # a comment\n  "debug": false\n}')
    ok, r = daemon(lab, host, state="restarted", rollback_file="/etc/docker/broken.json")
    assert not ok and "is not valid JSON" in r["msg"], r
    assert pidfile(lab, host) == before and signal_lines(lab, host) == signals


@pytest.mark.parametrize("host", HOSTS)
def test_live_restore_keeps_containers_running(lab, host):
    write(lab, host, DJ, '{"live-restore": true}')
    ok, r = daemon(lab, host, state="restarted")
    assert ok and r["live_restore"] is True, r
    lab.sh(host, "docker run -d --init --name lrprobe local/probe sleep 600 >/dev/null")
    fmt = "'{{.Id}} {{.State.Pid}} {{.State.StartedAt}}'"
    container = lab.sh(host, "docker inspect -f %s lrprobe" % fmt).stdout.strip()

    ok, r = daemon(lab, host, state="restarted")
    assert ok, r["msg"]
    assert r["live_restore"] is True and r["containers_running_before"] == 1
    assert r["containers_kept_running"] == 1 and r["containers_stopped"] == 0 and r["containers_running_after"] == 1
    assert lab.sh(host, "docker inspect -f %s lrprobe" % fmt).stdout.strip() == container  # same process, not restarted
    measured("%s %s: live-restore on: restart kept %d of %d running container(s) (same PID and StartedAt)"
             % (host, r["engine_version"], r["containers_kept_running"], r["containers_running_before"]))

    # Turning live-restore off with a restart: the old daemon leaves the container running, the new one stops it.
    lab.sh(host, "rm -f %s" % DJ)
    ok, r = daemon(lab, host, state="restarted")
    assert ok, r["msg"]
    assert r["live_restore"] is False and r["containers_running_before"] == 1
    assert r["containers_stopped"] == 1 and r["containers_kept_running"] == 0 and r["containers_running_after"] == 0
    assert "1 running container(s) were stopped by the restart (live-restore is off)" in r["stderr_of_ansible"]
    state = lab.sh(host, "docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' lrprobe").stdout.split()
    assert state[0] == "false"
    measured("%s %s: restart that turns live-restore off: %d container(s) stopped (exit code %s)"
             % (host, r["engine_version"], r["containers_stopped"], state[1]))


@pytest.mark.parametrize("host", HOSTS)
def test_reloaded_keeps_the_pid_and_applies_reloadable_keys(lab, host):
    debug = "docker info --format '{{.Debug}}'"
    assert lab.sh(host, debug).stdout.strip() == "false"
    before = pidfile(lab, host)
    write(lab, host, DJ, '{"debug": true}')
    ok, r = daemon(lab, host, state="reloaded")
    assert ok, r["msg"]
    assert r["changed"] is True and r["action"] == "reloaded" and r["command"] == "/usr/sbin/service docker reload"
    assert r["pid_before"] == r["pid_after"] == pidfile(lab, host) == before
    assert lab.sh(host, debug).stdout.strip() == "true"
    measured("%s %s: reload (SIGHUP) confirmed in dockerd's log after %.2f s, PID unchanged"
             % (host, r["engine_version"], r["seconds"]))

    # A file dockerd rejects on reload: it keeps running with the old configuration; we roll back and reload again.
    write(lab, host, GOOD, '{"debug": false}')
    write(lab, host, DJ, '{\n  # a comment\n  "debug": false\n}')
    ok, r = daemon(lab, host, state="reloaded", rollback_file=GOOD)
    assert not ok
    assert "rejected the configuration on reload" in r["msg"] and "invalid character '#'" in r["msg"], r["msg"]
    assert "reloaded again: dockerd accepted it" in r["msg"], r["msg"]
    assert r["rolled_back"] is True and read(lab, host, DJ).strip() == '{"debug": false}'
    assert "# a comment" in read(lab, host, DJ + ".failed")
    assert pidfile(lab, host) == before and lab.sh(host, debug).stdout.strip() == "false"
    measured("%s %s: rejected reload: %s" % (host, r["engine_version"], " | ".join(r["error_lines"])))


HANDLER_PLAY = """
- hosts: docker_hosts
  gather_facts: false
  tasks:
    - name: daemon.json
      ansible.builtin.copy:
        dest: /etc/docker/daemon.json
        content: "{{ daemon_json | to_nice_json }}"
        backup: true
      register: daemon_json_result
      notify: restart docker
  handlers:
    - name: restart docker
      crosshost.docker.docker_daemon:
        state: restarted
        rollback_file: "{{ daemon_json_result.backup_file | default(omit) }}"
"""


def test_handler_restarts_once_per_change_and_rolls_back_a_broken_change(lab):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=lab.dir, delete=False) as f:
        f.write(HANDLER_PLAY)
        play = f.name

    def run(content):
        return lab.ansible("ansible-playbook", play, "-e", json.dumps({"daemon_json": content}), check=False)

    try:
        good = {"debug": False, "labels": ["crosshost=dd"]}
        pids = {h: pidfile(lab, h) for h in HOSTS}
        proc = run(good)
        assert proc.returncode == 0, proc.stdout[-3000:]
        after = {h: pidfile(lab, h) for h in HOSTS}
        assert all(after[h] != pids[h] for h in HOSTS), (pids, after)
        assert all("crosshost=dd" in lab.sh(h, "docker info --format '{{.Labels}}'").stdout for h in HOSTS)

        proc = run(good)  # nothing changed: the handler does not run
        assert proc.returncode == 0 and "RUNNING HANDLER" not in proc.stdout, proc.stdout[-3000:]
        assert {h: pidfile(lab, h) for h in HOSTS} == after

        bad = dict(good, bip="10.0.0.0/33")  # a backup exists now: the handler gets a rollback_file
        proc = run(bad)
        assert proc.returncode != 0
        assert "invalid CIDR address: 10.0.0.0/33" in proc.stdout and "dockerd is running again" in proc.stdout
        for h in HOSTS:
            assert json.loads(read(lab, h, DJ)) == good
            assert json.loads(read(lab, h, DJ + ".failed")) == bad
            assert server_version(lab, h)
    finally:
        os.unlink(play)


def test_docs_render_in_ansible_doc():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", MODULE],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    doc = json.loads(proc.stdout)[MODULE]
    assert doc["doc"]["version_added"] == "0.1.0" and "rollback_file" in doc["doc"]["options"]
    assert "containers_kept_running" in doc["return"]
    plays = yaml.safe_load(doc["examples"])
    handler = next(t for t in plays if t.get("name") == "restart docker")
    assert handler[MODULE]["rollback_file"] == "{{ daemon_json_result.backup_file | default(omit) }}"
