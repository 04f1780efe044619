"""Helpers for tests that run against real lab hosts (lab/lab.py): a small, explicit wrapper.

Each test module brings up its own lab with its own LAB_NAME (prefix from CROSSHOST_TEST_PREFIX),
so tests never collide with each other or with a demo lab a user has running.
"""
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "lab", "lab.py")
sys.path.insert(0, os.path.join(REPO, "lab"))
from labclient import LabClient, ansible_home, collections_path  # noqa: E402  pylint: disable=wrong-import-position
PREFIX = os.environ.get("CROSSHOST_TEST_PREFIX", "t")

# The daemon.json block of the seed (/work/shared/seeds/004_*.txt), as it is printed there: with `#`
# comments, so not JSON (dockerd refuses it).
SEED_004_DAEMON_JSON = """{
  "registry-mirrors": ["https://tuv7rqqq.mirror.aliyuncs.com"],
  # "insecure-registries": ["docker201.oldboyedu.com:5000"],
  # "data-root":"/oldboyedu/docker",
   "cluster-store": "consul://10.0.0.101:8500",
   "cluster-advertise": "10.0.0.101:6666"
}
"""


class Lab(LabClient):
    """A lab for one test module: LAB_NAME is CROSSHOST_TEST_PREFIX + suffix; failures are AssertionErrors."""
    error = AssertionError

    def __init__(self, suffix, hosts=2, engines="20.10 28"):
        super().__init__((PREFIX + suffix)[:10], hosts, engines)

    def ansible(self, *args, check=True, extra_env=None):
        """Run ansible-playbook / ansible against this lab's inventory with the collection in this tree."""
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOME=ansible_home(),
                   ANSIBLE_REMOTE_TMP=os.path.join(ansible_home(), "remote-tmp"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
                   ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_HOST_KEY_CHECKING="False")
        env.update(extra_env or {})
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), args[0]), "-i", self.inventory, *args[1:]],
                              capture_output=True, text=True, env=env, timeout=900, cwd=REPO, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
        return proc


def run_task(lab, host, module, args, check=False, diff=False, become_vars=None):
    """Run one module task on one lab host through ansible-playbook; return (ok, result dict).

    The task is written to a throwaway playbook and run with the ansible.posix.json callback, so the
    result is the module's own return value (changed, diff, msg, ...).
    """
    import tempfile

    import yaml

    play = [{"hosts": host, "gather_facts": False,
             "tasks": [{"name": "task under test", module: args, "check_mode": check, "diff": diff}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=lab.dir, delete=False) as f:
        yaml.safe_dump(play, f)
        path = f.name
    try:
        proc = lab.ansible("ansible-playbook", path, check=False,
                           extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                      "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
    finally:
        os.unlink(path)
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        result = doc["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"no result from ansible-playbook ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return not result.get("failed", False), result


def five_ways(lab, host, module, args, probe):
    """The quality bar for a module that changes a host: check, check+diff, apply, idempotent check,
    idempotent apply. `probe()` returns the host state the module touches; check runs must leave it
    as it was, apply must change it, the idempotent runs must report no change and leave it alone.
    Returns the five results.
    """
    before = probe()
    results = []
    for name, check, diff, changed in (("check", True, False, True), ("check+diff", True, True, True),
                                       ("apply", False, True, True), ("idempotent check", True, True, False),
                                       ("idempotent apply", False, True, False)):
        ok, result = run_task(lab, host, module, args, check=check, diff=diff)
        assert ok, f"{module} {name} failed: {result.get('msg')}\n{result}"
        assert bool(result.get("changed")) is changed, f"{module} {name}: changed={result.get('changed')}, want {changed}\n{result}"
        if name == "check+diff":
            assert result.get("diff"), f"{module} check+diff returned no diff"
        state = probe()
        if check or not changed:
            expected = before if name in ("check", "check+diff") else after_apply
            assert state == expected, f"{module} {name} changed the host:\nbefore: {expected}\nafter:  {state}"
        else:
            after_apply = state
            assert state != before, f"{module} apply reported a change but the host looks the same: {state}"
        results.append(result)
    return results


PROBE_PORT = 5000


def start_probes(lab, hosts, image="local/probe:latest", network=None):
    """On each host, a server container that answers every TCP connection on PROBE_PORT with its own
    `netstat -tn` (so the client learns which source address the server saw), and a client
    container. Returns {host: server IP}."""
    net = f"--network {network}" if network else ""
    ips = {}
    for host in hosts:
        lab.sh(host, f"""docker rm -f xh-srv xh-cli >/dev/null 2>&1
            docker run -d --init --name xh-srv {net} {image} nc -ll -p {PROBE_PORT} -e netstat -tn >/dev/null
            docker run -d --init --name xh-cli {net} {image} sleep 3600 >/dev/null""")
        ips[host] = container_ip(lab, host, "xh-srv")
    return ips


def seen_source(lab, host, address, port=PROBE_PORT, container="xh-cli"):
    """Connect from `container` on `host` (None: from the host itself) to address:port; return the
    source IP the server saw, or None when the connection failed."""
    cmd = f"echo | nc -w 2 {address} {port}"
    script = f"docker exec {container} sh -c '{cmd}'" if container else cmd
    out = lab.sh(host, script, check=False).stdout
    seen = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[3].endswith(f":{port}") and parts[5] in ("ESTABLISHED", "CLOSE_WAIT"):
            seen.add(parts[4].rsplit(":", 1)[0].replace("::ffff:", ""))
    if not seen:
        return None
    assert len(seen) == 1, f"ambiguous probe answer from {address}: {out}"
    return seen.pop()


def container_ip(lab, host, name):
    return lab.sh(host, "docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + name
                  ).stdout.strip()


def source_matrix(lab, hosts):
    """({src: {dst: seen source IP or None}}, {host: client IP}) for every ordered pair of hosts
    with probe containers. Addresses are read now: a dockerd restart may hand them out anew."""
    hosts = list(hosts)
    server = {h: container_ip(lab, h, "xh-srv") for h in hosts}
    client = {h: container_ip(lab, h, "xh-cli") for h in hosts}
    matrix = {src: {dst: seen_source(lab, src, server[dst]) for dst in hosts if dst != src} for src in hosts}
    return matrix, client


def run_local_task(module, module_args, base_env, check=False, diff=False, verbosity=0, secret=None):
    """Run one module task on localhost through ansible-playbook (the control-node side of cloud
    providers); return (ok, result, whole output). `base_env` is the caller's cleaned environment
    (no proxies, no cloud credentials from the machine); `secret`, when given, must not appear
    anywhere in the output."""
    import shutil
    import tempfile

    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "task under test", module: module_args, "check_mode": check, "diff": diff}]}]
    tmp = tempfile.mkdtemp(prefix="crosshost-local-task-")
    try:
        path = os.path.join(tmp, "play.yml")
        with open(path, "w") as f:
            json.dump(play, f)  # JSON is YAML
        env = dict(base_env)
        env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOME=ansible_home(),
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="False",
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "local"), ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "remote"))
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", path]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output = proc.stdout + proc.stderr
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"no result from ansible-playbook ({proc.returncode}):\n{output[-5000:]}")
    if secret:
        assert secret not in output, "the secret key appears in the output"
    return not result.get("failed", False), result, output


def playbook(lab, path, *extra, inventories=()):
    """ansible-playbook `path` on the lab (plus extra inventories, e.g. host_vars_file's), with the
    collection of this tree and the default callback; returns (rc, stdout)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOME=ansible_home(),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_DEPRECATION_WARNINGS="False")
    args = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", lab.inventory]
    for inv in inventories:
        args += ["-i", inv]
    proc = subprocess.run(args + [path, *extra], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=900, check=False)
    return proc.returncode, proc.stdout


def recap(stdout):
    """{host: {"ok": n, "changed": n, ...}} from ansible-playbook's PLAY RECAP."""
    out = {}
    for line in stdout.split("PLAY RECAP", 1)[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if m:
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


def write_playbook(lab, name, text):
    """A playbook of the test's own in the lab's directory (removed with the lab); returns its path."""
    path = os.path.join(lab.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def host_vars_file(lab, name, per_host):
    """An extra inventory in the lab's directory that sets host vars of docker_hosts, e.g.
    {"h3": {"direct_route_state": "absent"}}; returns its path."""
    path = os.path.join(lab.dir, name)
    with open(path, "w") as f:
        f.write("docker_hosts:\n  hosts:\n")
        for host, values in per_host.items():
            f.write("    %s:\n" % host + "".join("      %s: %s\n" % (k, json.dumps(v)) for k, v in values.items()))
    return path
