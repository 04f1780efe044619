"""The one client of lab/lab.py for Python callers: the integration tests (tests/integration/labutil.py)
and the benchmarks (benchmarks/bench.py) both build on it.

A LabClient names one lab (LAB_NAME, LAB_HOSTS, LAB_ENGINES, and LAB_OS when given), runs `lab.py
<command>` for it, reads its state.json, and runs shell scripts inside its hosts through nsenter.
Failures raise `self.error` (tests: AssertionError; benchmarks: their BenchError).
"""
import json
import os
import subprocess
import sys

# realpath: imported through a temporary ansible_collections/crosshost/docker link (the unit tests'
# conftest), abspath would name that link, which is gone after the tests.
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
LAB_PY = os.path.join(HERE, "lab.py")


class LabClient:
    error = RuntimeError

    def __init__(self, name, hosts=2, engines="20.10 28", os_kind=None):
        self.name = name
        self.hosts = [f"h{i}" for i in range(1, hosts + 1)]
        self.env = dict(os.environ, LAB_NAME=name, LAB_HOSTS=str(hosts), LAB_ENGINES=engines, LAB_PYTHON=sys.executable)
        for key in ("LAB_DIR", "LAB_VLANS", "LAB_OS"):
            self.env.pop(key, None)
        if os_kind:
            self.env["LAB_OS"] = os_kind
        self.dir = os.path.join(REPO, ".lab", name)

    def lab(self, command, check=True, timeout=1800, extra_env=None):
        """`lab.py <command>` for this lab; CompletedProcess (text)."""
        env = dict(self.env, **(extra_env or {}))
        proc = subprocess.run([sys.executable, LAB_PY, command], env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise self.error(f"lab.py {command} (LAB_NAME={self.name}) failed ({proc.returncode}):\n"
                             f"{proc.stderr.strip()[-3000:]}")
        return proc

    def up(self):
        self.lab("up")
        return self

    def down(self):
        return self.lab("down")

    @property
    def state(self):
        with open(os.path.join(self.dir, "state.json")) as f:
            return json.load(f)

    @property
    def inventory(self):
        return os.path.join(self.dir, "inventory.yml")

    def pid(self, host):
        if host == "rt":
            return self.state["router"]["pid"]
        return self.state["hosts"][host]["pid"]

    def sh(self, host, script, check=True, timeout=120):
        """A shell script inside a lab host (its network, mount and UTS namespaces: its own dockerd);
        CompletedProcess (text)."""
        flags = ["-n", "-m", "-u"]
        if host != "rt" and self.state["hosts"][host].get("kind") == "debian12":
            flags += ["-i", "-p"]  # systemd refuses jobs (systemctl restart) from callers outside its PID namespace
        proc = subprocess.run(["nsenter", "-t", str(self.pid(host)), *flags, "--", "sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise self.error(f"{host}: `{script}` failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc


def collections_path():
    """A directory where ansible_collections/crosshost/docker is this tree (made once, a symlink)."""
    root = os.path.join(REPO, ".cache", "collections")
    link = os.path.join(root, "ansible_collections", "crosshost", "docker")
    if os.path.islink(link) and os.readlink(link) != REPO:
        os.unlink(link)  # a link to somewhere else (another checkout, a temporary tree that is gone)
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return root


def ansible_home():
    """ANSIBLE_HOME for tests and benchmarks: a cache inside the tree, so that nothing is written into
    the user's ~/.ansible (its tmp, galaxy cache or collections)."""
    path = os.path.join(REPO, ".cache", "ansible-home")
    os.makedirs(path, exist_ok=True)
    return path
