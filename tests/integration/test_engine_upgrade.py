"""Docker engine upgrade and downgrade across the 28 boundary on a direct_route cluster (issue 14 item 5):
three namespace hosts (Docker 20.10, 26, 28) converged with playbooks/direct_route.yml.

The engine of h1 is swapped the way a package upgrade does it: its /etc/default/docker (the lab's init
script reads DOCKERD, ENGINE_PATH and DOCKER_OPTS from it) gets the 28 engine's values of h3, and dockerd
is restarted. /var/lib/docker and /etc/docker stay.

* Upgrade 20.10 -> 28: dockerd 28 starts with the old daemon.json, and routing to h1's containers breaks:
  the verify role names Docker 28's raw-table DROP on h1 for every pair with h1. The next direct_route run
  adds allow-direct-routing to h1's daemon.json and restarts dockerd on h1 only; the matrix passes.
* Downgrade 28 -> 20.10: dockerd 20.10 refuses to start with allow-direct-routing in daemon.json (as after
  a package downgrade). The next direct_route run reads the stopped host from daemon.json and the dockerd
  binary, removes the key, starts dockerd on h1 only; the matrix passes, and a further run changes nothing.
"""
import json
import re
import time

import pytest

from test_reliability import changed_tasks, daemon_json, dockerd_pid, recap, run

HOSTS = ["h1", "h2", "h3"]


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("eu", hosts=3, engines="20.10 26 28")


def engine(lab, host):
    proc = lab.sh(host, "docker version --format '{{.Server.Version}}'", check=False, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else None


def swap_engine(lab, host, settings):
    """Point `host`'s /etc/default/docker at another engine and restart dockerd with the lab's init script.
    Returns (exit code, output, seconds)."""
    lab.sh(host, f"cat > /etc/default/docker <<'EOF'\n{settings}EOF")
    t0 = time.time()
    proc = lab.sh(host, "/etc/init.d/docker restart", check=False, timeout=180)
    return proc.returncode, proc.stdout + proc.stderr, round(time.time() - t0, 1)


def converge(lab):
    t0 = time.time()
    rc, out = run(lab, "-v")
    seconds = round(time.time() - t0, 1)
    assert rc == 0, out[-6000:]
    assert re.search(r"3 hosts, 6 pairs, 0 broken", out), out[-4000:]
    return out, seconds


def task_output(out, name):
    """The output of the first task whose name contains `name` (up to the next task)."""
    m = re.search(r"^TASK \[[^\]]*" + re.escape(name) + r".*?(?=^TASK \[|^PLAY RECAP)", out, re.M | re.S)
    assert m, f"no task {name!r} in the output"
    return m.group(0)


def dockerd_action(out, host):
    """(action, seconds) of docker_daemon state=applied on `host` in a -v run, e.g. ('restarted', 3.1)."""
    text = task_output(out, "Make the running dockerd use daemon.json")
    m = re.search(r"^changed: \[" + host + r"\] => (\{.*\})$", text, re.M)
    assert m, f"docker_daemon did not change {host}:\n{text[-3000:]}"
    result = json.loads(m.group(1))
    return result["action"], result["seconds"]


@pytest.fixture(scope="module")
def settings(lab):
    """{'20.10': h1's /etc/default/docker, '28': h3's}, read once, before any swap."""
    out = {"20.10": lab.sh("h1", "cat /etc/default/docker").stdout,
           "28": lab.sh("h3", "cat /etc/default/docker").stdout}
    assert out["20.10"] != out["28"] and "/usr/sbin/dockerd" in out["20.10"], out
    return out


def test_upgrade_to_28_breaks_direct_routing_and_the_next_run_fixes_it_restarting_only_that_host(lab, settings):
    out, seconds = converge(lab)
    print(f"first converge: {seconds} s")
    assert engine(lab, "h1").startswith("20.10.") and engine(lab, "h3").startswith("28.")
    assert "allow-direct-routing" not in daemon_json(lab, "h1")
    assert daemon_json(lab, "h3").get("allow-direct-routing") is True
    before = daemon_json(lab, "h1")

    rc, output, seconds = swap_engine(lab, "h1", settings["28"])
    assert rc == 0, output
    print(f"h1 20.10 -> 28 restart: {seconds} s")
    assert engine(lab, "h1").startswith("28."), engine(lab, "h1")
    assert daemon_json(lab, "h1") == before, "the swap changed daemon.json"

    # Routing to h1's containers is broken now, and the verify role says why: Docker 28's raw-table DROP on h1.
    proc = lab.ansible("ansible-playbook", "tests/integration/playbooks/verify_bridge.yml", check=False)
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "3 hosts, 6 pairs, 4 broken" in proc.stdout, proc.stdout[-4000:]
    for pair in ("h2 -> h1", "h3 -> h1", "h1 -> h2", "h1 -> h3"):
        assert re.search(rf"{pair}: raw-table drop on h1 ", proc.stdout), f"{pair}:\n{proc.stdout[-4000:]}"
    assert "allow-direct-routing" in proc.stdout
    assert not re.search(r"h[23] -> h[23]: ", proc.stdout), proc.stdout[-4000:]

    pids = {h: dockerd_pid(lab, h) for h in HOSTS}
    out, seconds = converge(lab)
    print(f"converge after the upgrade: {seconds} s")
    assert daemon_json(lab, "h1") == dict(before, **{"allow-direct-routing": True})
    after = {h: dockerd_pid(lab, h) for h in HOSTS}
    assert after["h1"] != pids["h1"], "dockerd on h1 was not restarted"
    assert {h: after[h] for h in ("h2", "h3")} == {h: pids[h] for h in ("h2", "h3")}, "h2 or h3 was restarted"
    restarted = [host for task, host in changed_tasks(out) if "Make the running dockerd use daemon.json" in task]
    assert restarted == ["h1"], changed_tasks(out)
    print("h1 dockerd by the role after the upgrade: %s in %s s" % dockerd_action(out, "h1"))


def test_downgrade_to_20_10_removes_the_key_before_dockerd_starts(lab, settings):
    before = daemon_json(lab, "h1")
    assert before.get("allow-direct-routing") is True
    pids = {h: dockerd_pid(lab, h) for h in ("h2", "h3")}

    # What a package downgrade does: dockerd 20.10 refuses daemon.json with a key it does not know.
    rc, output, seconds = swap_engine(lab, "h1", settings["20.10"])
    print(f"h1 28 -> 20.10 restart (refused): {seconds} s")
    assert rc != 0, output
    assert "don't match any configuration option: allow-direct-routing" in output, output
    assert engine(lab, "h1") is None, "dockerd 20.10 started with allow-direct-routing"

    out, seconds = converge(lab)
    print(f"converge after the downgrade: {seconds} s")
    # h1 was read from daemon.json and `dockerd --version` (its dockerd was down), the others as usual.
    assert re.search(r"^ok: \[h1\]", task_output(out, "Read the engine version of the stopped Docker host"), re.M)
    assert not re.search(r"^ok: \[h[23]\]", task_output(out, "Read the engine version of the stopped Docker host"), re.M)
    action, restart_seconds = dockerd_action(out, "h1")
    print(f"h1 dockerd by the role after the downgrade: {action} in {restart_seconds} s")
    assert action in ("started", "restarted"), action
    assert task_output(out, "Give this host its container subnet").find("changed: [h1]") >= 0
    assert engine(lab, "h1").startswith("20.10."), engine(lab, "h1")
    expected = dict(before)
    del expected["allow-direct-routing"]
    assert daemon_json(lab, "h1") == expected
    assert {h: dockerd_pid(lab, h) for h in ("h2", "h3")} == pids, "h2 or h3 was restarted"
    # The key went before dockerd started: the run started it once, it did not fail and roll back.
    assert "rolled back" not in out.lower(), out[-4000:]

    pids = {h: dockerd_pid(lab, h) for h in HOSTS}
    rc, out = run(lab)
    assert rc == 0, out[-6000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), changed_tasks(out)
    assert {h: dockerd_pid(lab, h) for h in HOSTS} == pids, "the run after the downgrade restarted dockerd"
