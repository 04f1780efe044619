"""The README's commands for a new user work as written, from a clean shell.

README.md marks its blocks for a new user with `<!-- new-user-test: NAME -->` on the line before the
fenced block. This test runs them as a user would: `env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
HOME=<temp dir> bash -c '<block>'` from the checkout, nothing exported, against a lab of its own:

- "Use the lab by hand" (`lab-by-hand`): the venv from scripts/bootstrap.sh, the collection linked
  into .cache/collections, `make lab-up`, `make lab-status`, host_info and direct_route playbooks;
- "Use it on your own hosts": build the tarball and install it into ~/netops/collections
  (`own-hosts-install`), write the README's playbook to ~/netops/site.yml (`own-hosts-playbook`),
  and run it (`own-hosts-run`) with the lab's inventory standing in for the user's (the README's
  example inventory names real addresses, never contacted here);
- `lab-by-hand-down`: `make lab-down`.

The only change to the README's text: the lab name `mine` becomes this test's lab name (unique, so
that a user's lab or another test's is never touched). HOME is a temp dir whose
~/.cache/crosshost-docker links to the venv cache this test runs from, so bootstrap.sh finds its venv
instead of building another one; nothing may land in that HOME's ~/.ansible/collections, nor in the
real user's.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from labutil import REPO, Lab

MARK = re.compile(r"<!-- new-user-test: ([a-z-]+)[^>]*-->\n```(?:sh|yaml)\n(.*?)\n```", re.S)
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def readme_blocks():
    with open(os.path.join(REPO, "README.md")) as f:
        blocks = dict(MARK.findall(f.read()))
    for name in ("lab-by-hand", "lab-by-hand-down", "own-hosts-install", "own-hosts-playbook", "own-hosts-run"):
        assert name in blocks, f"README.md has no block marked <!-- new-user-test: {name} -->"
    return blocks


def test_readme_blocks_are_marked_and_use_one_lab_name():
    blocks = readme_blocks()
    assert "ansible-galaxy collection install" in blocks["own-hosts-install"]
    assert "ANSIBLE_COLLECTIONS_PATH" in blocks["lab-by-hand"]
    assert "scripts/bootstrap.sh" in blocks["lab-by-hand"]
    assert re.search(r"\bmine\b", blocks["lab-by-hand"]) and re.search(r"\bmine\b", blocks["lab-by-hand-down"])
    # No block writes into the user's home collection path.
    for name, text in blocks.items():
        assert ".ansible/collections" not in text, f"{name} installs into ~/.ansible/collections"


def user_home_collections():
    path = os.path.expanduser("~/.ansible/collections/ansible_collections/crosshost")
    return os.path.exists(path)


def test_readme_new_user_commands_work_from_a_clean_shell():
    blocks = readme_blocks()
    lab = Lab("nu", hosts=2, engines="20.10 28")

    def rename(text):
        return re.sub(r"\bmine\b", lab.name, text)

    home = tempfile.mkdtemp(prefix="crosshost-newuser-")
    # bootstrap.sh keeps its venvs in $HOME/.cache/crosshost-docker: this test's venv lives there.
    os.makedirs(os.path.join(home, ".cache"))
    os.symlink(os.path.dirname(sys.prefix), os.path.join(home, ".cache", "crosshost-docker"))
    had_home_collections = user_home_collections()

    def shell(block, cwd=REPO, timeout=900):
        script = "set -euo pipefail\n" + block
        proc = subprocess.run(["env", "-i", f"PATH={CLEAN_PATH}", f"HOME={home}", "bash", "-c", script],
                              cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
        assert proc.returncode == 0, (f"README block failed ({proc.returncode}):\n{block}\n--- stdout\n"
                                      f"{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-4000:]}")
        return proc.stdout + proc.stderr

    try:
        out = shell(rename(blocks["lab-by-hand"]))
        assert "host  " in out and "20.10.24" in out, "make lab-status printed no host table"
        assert re.search(r"h1\s+\S+\s+\d+\s+20\.10\s+20\.10\.\S+\s+192\.168\.1\.11\s", out), out[-3000:]
        assert "0 broken" in out, f"direct_route did not verify the matrix:\n{out[-3000:]}"
        assert "was not found" not in out

        # One shell, as a user would go on: install, write the playbook (and here the lab's inventory
        # in place of theirs), run it. Only ~/netops/collections can provide crosshost.docker: no
        # ANSIBLE_COLLECTIONS_PATH, cwd ~/netops (not the checkout), an empty HOME, and the venv's
        # ansible bundle has no crosshost.
        assert "CROSSHOST_EOF" not in blocks["own-hosts-playbook"]
        out = shell("\n".join([
            blocks["own-hosts-install"],
            "cat > ~/netops/site.yml <<'CROSSHOST_EOF'", blocks["own-hosts-playbook"], "CROSSHOST_EOF",
            f"cp {shlex.quote(lab.inventory)} ~/netops/inventory.yml",
            blocks["own-hosts-run"]]))
        installed = os.path.join(home, "netops", "collections", "ansible_collections", "crosshost", "docker")
        assert os.path.isfile(os.path.join(installed, "MANIFEST.json")) and not os.path.islink(installed)
        assert "0 broken" in out, f"site.yml did not verify the matrix:\n{out[-3000:]}"
        assert "failed=0" in out and "unreachable=0" in out

        shell(rename(blocks["lab-by-hand-down"]))
        assert not os.path.exists(lab.dir), "make lab-down left the lab directory"
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
        assert lab.name + "-" not in namespaces
    finally:
        leaked = os.listdir(os.path.join(home, ".ansible", "collections")) if os.path.isdir(
            os.path.join(home, ".ansible", "collections")) else []
        lab.down()
        shutil.rmtree(home, ignore_errors=True)

    assert not leaked, f"a README command installed into ~/.ansible/collections: {leaked}"
    if not had_home_collections:
        assert not user_home_collections(), "the user's ~/.ansible/collections got a crosshost copy"
