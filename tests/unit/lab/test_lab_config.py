# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's pure parts: settings validation, engine per host, inventory rendering (no root needed)."""
from __future__ import annotations

import glob
import os

import pytest
import yaml

from ansible_collections.crosshost.docker.tests.unit import helpers

lab = helpers.load_script("crosshost_lab", "lab", "lab.py")


def test_defaults():
    cfg = lab.Config({})
    assert (cfg.name, cfg.hosts, cfg.engines) == ("lab", 3, ["20.10"])
    assert cfg.ns("h2") == "lab-h2" and cfg.host_names == ["h1", "h2", "h3"]


def test_hosts_beyond_the_engine_list_reuse_the_last():
    cfg = lab.Config({"LAB_HOSTS": "4", "LAB_ENGINES": "20.10 28.5.2"})
    assert cfg.wanted() == {"hosts": 4, "engines": ["20.10", "28", "28", "28"], "vlans": []}


def test_vlan_stand_ins():
    assert lab.Config({"LAB_VLANS": "20 10 10"}).vlans == [10, 20]
    for bad in ("2", "1", "255", "ten"):
        with pytest.raises(lab.LabError, match="LAB_VLANS"):
            lab.Config({"LAB_VLANS": bad})


@pytest.mark.parametrize("env, words", [
    ({"LAB_NAME": "Lab"}, "LAB_NAME='Lab'"),
    ({"LAB_NAME": "a-very-long-name"}, "1-10 lower-case"),
    ({"LAB_HOSTS": "three"}, "LAB_HOSTS='three' is not a number"),
    ({"LAB_HOSTS": "0"}, "LAB_HOSTS=0: use 1 to"),
    ({"LAB_ENGINES": "20.10 19.03"}, "LAB_ENGINES entry '19.03' is not supported"),
    ({"LAB_ENGINES": "2"}, "LAB_ENGINES entry '2'"),
])
def test_bad_settings_name_the_variable(env, words):
    with pytest.raises(lab.LabError, match=None) as e:
        lab.Config(env)
    assert words in str(e.value)


def _state():
    return {"python": "/venv/bin/python", "config": {"vlans": [10]}, "router": {"ns": "x-rt", "pid": 10, "address": "192.168.1.1"},
            "hosts": {"h1": {"ns": "x-h1", "pid": 11, "engine": "20.10", "version": "20.10.24", "address": "192.168.1.11"},
                      "h2": {"ns": "x-h2", "pid": 12, "engine": "28", "version": "28.5.2", "address": "192.168.1.12"}}}


def test_inventory_file_and_script_agree(tmp_path):
    cfg = lab.Config({"LAB_NAME": "x", "LAB_DIR": str(tmp_path), "LAB_HOSTS": "2"})
    state = _state()
    with open(lab.write_inventory(cfg, state)) as f:
        inv = yaml.safe_load(f)
    hosts = inv["all"]["children"]["docker_hosts"]["hosts"]
    assert hosts["h2"] == {"ansible_nsenter_pid": 12, "lab_namespace": "x-h2", "lab_underlay_ip": "192.168.1.12",
                           "lab_engine": "28", "lab_engine_version": "28.5.2",
                           "ansible_remote_tmp": os.path.join(cfg.dir, "tmp")}
    assert inv["all"]["children"]["vpc_router"]["hosts"]["rt"]["ansible_nsenter_pid"] == 10
    # Remote temp files in the lab's directory, per host: never in `all` (localhost plays would get it).
    assert inv["all"]["children"]["vpc_router"]["hosts"]["rt"]["ansible_remote_tmp"] == os.path.join(cfg.dir, "tmp")
    assert "ansible_remote_tmp" not in inv["all"]["vars"]
    # Every role that starts probe containers gets the lab's image (the hosts cannot pull busybox).
    # Found in the roles' defaults, so that a new role's probe image cannot be forgotten.
    probe_vars = set()
    for defaults in glob.glob(os.path.join(helpers.REPO, "roles", "*", "defaults", "main.yml")):
        with open(defaults) as f:
            probe_vars |= {k for k in yaml.safe_load(f) or {} if k == "verify_image" or k.endswith("_verify_image")}
    assert {"direct_route_verify_image", "macvlan_verify_image", "overlay_verify_image", "verify_image"} <= probe_vars
    for var in sorted(probe_vars):
        assert inv["all"]["vars"].get(var) == lab.IMAGE, f"the lab inventory does not set {var}"
    assert inv["all"]["vars"]["ansible_connection"] == "community.docker.nsenter"
    assert inv["all"]["vars"]["ansible_python_interpreter"] == "/venv/bin/python"
    assert inv["all"]["vars"]["lab_vlan_parents"] == {"eth1.10": "192.168.10.0/24"}

    lab.save_state(cfg, state)
    script = lab.inventory_json(cfg)
    assert script["docker_hosts"]["hosts"] == ["h1", "h2"]
    assert script["_meta"]["hostvars"]["h2"] == hosts["h2"]
    assert script["all"]["vars"] == inv["all"]["vars"]


def test_inventory_script_is_empty_while_the_lab_is_down(tmp_path):
    cfg = lab.Config({"LAB_NAME": "x", "LAB_DIR": str(tmp_path / "none")})
    assert lab.inventory_json(cfg) == {"_meta": {"hostvars": {}}}


def test_engine_settings_for_system_and_downloaded_engines(tmp_path):
    assert "DOCKERD=/usr/sbin/dockerd" in lab.engine_settings(None)
    for d in ("usr/sbin", "usr/bin"):
        os.makedirs(tmp_path / d)
    (tmp_path / "usr/sbin/dockerd").write_text("")
    text = lab.engine_settings(str(tmp_path))
    assert f"DOCKERD={tmp_path}/usr/sbin/dockerd" in text
    assert f"ENGINE_PATH={tmp_path}/usr/sbin:{tmp_path}/usr/bin" in text
    assert "--default-runtime sysrunc" in text
    with pytest.raises(lab.LabError, match="no dockerd"):
        lab.engine_settings(str(tmp_path / "usr"))


def test_status_columns_never_run_together():
    text = lab.format_columns([("host", "dockerd", "eth0"), ("h1", "20.10.24+dfsg1", "192.168.1.11"),
                               ("h12", "28.5.2+dfsg4", "192.168.1.22")])
    rows = text.splitlines()
    assert rows[1] == "h1    20.10.24+dfsg1  192.168.1.11"
    assert [len(r.split()) for r in rows] == [3, 3, 3]
    assert rows[0].index("eth0") == rows[1].index("192.168.1.11") == rows[2].index("192.168.1.22")
