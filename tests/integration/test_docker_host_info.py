"""docker_host_info on real lab hosts: how it fails when dockerd is down, and that it reads a
broken daemon.json without failing (the values themselves are checked by molecule/host_info).
"""
import json

import pytest


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("hi", hosts=2, engines="20.10 28")


def module_result(lab, host, *args, check=False):
    proc = lab.ansible("ansible", host, "-m", "crosshost.docker.docker_host_info", *args, "-o", check=False,
                       extra_env={"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"})
    # minimal callback: "h1 | FAILED! => {json}" / "h1 | SUCCESS => {json}"
    line = next(line for line in proc.stdout.splitlines() if line.startswith(host + " | "))
    status, payload = line.split(" => ", 1)
    return status.split(" | ")[1].rstrip("!"), json.loads(payload)


def test_facts_in_check_mode_change_nothing(lab):
    status, result = module_result(lab, "h2", "--check")
    assert status == "SUCCESS" and result["changed"] is False
    assert result["host_info"]["engine"]["version"].startswith("28.")


def test_daemon_down_is_a_clear_failure_naming_the_socket(lab):
    lab.sh("h1", "/etc/init.d/docker stop")
    try:
        status, result = module_result(lab, "h1")
        assert status == "FAILED"
        assert "installed" in result["msg"] and "not running" in result["msg"], result["msg"]
        assert "/var/run/docker.sock" in result["msg"] or "/run/docker.sock" in result["msg"], result["msg"]
    finally:
        lab.sh("h1", "/etc/init.d/docker start")
    status, result = module_result(lab, "h1")
    assert status == "SUCCESS"


def test_a_host_without_a_daemon_is_reported_as_such(lab):
    # The VPC router is a lab node with the dockerd binary on disk but no daemon.
    status, result = module_result(lab, "rt")
    assert status == "FAILED" and "not running" in result["msg"], result


def test_broken_daemon_json_is_reported_not_fatal(lab):
    lab.sh("h2", "printf '{\\n  # a comment\\n  \"bip\": \"10.1.0.1/24\"\\n}\\n' > /etc/docker/daemon.json")
    try:
        status, result = module_result(lab, "h2")
        assert status == "SUCCESS"
        dj = result["host_info"]["daemon_json"]
        assert dj["exists"] is True and dj["content"] is None
        assert "line 2" in dj["error"] and "comment" in dj["error"], dj
    finally:
        lab.sh("h2", "rm -f /etc/docker/daemon.json")
