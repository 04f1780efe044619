"""The direct_route role refuses bad input before it changes anything (real lab hosts).

The plan runs first, on the control node; daemon.json, iptables and the router's routes must be
exactly as they were after a refused run.
"""
import json
import re

import pytest


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory("di", hosts=2, engines="20.10")


def host_state(lab):
    return {h: lab.sh(h, "cat /etc/docker/daemon.json 2>/dev/null; iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'"
                      ).stdout for h in ("h1", "h2")} | {"rt": lab.sh("rt", "ip route show").stdout}


@pytest.mark.parametrize("extra, words, variable, host", [
    (["-e", "direct_route_pool=10.0.0.0/24"], "room for", "direct_route_pool: ", "h1"),
    (["-e", "direct_route_pool=192.168.0.0/16"], "192.168.1.0/24", "direct_route_pool: ", "h1"),
    (["-e", '{"direct_route_overrides": {"h2": "10.0.0.1/24"}}'], "10.0.0.0/24", "direct_route_overrides[h2]: ", "h2"),
    (["-e", '{"direct_route_overrides": {"h2": "10.0.0.0/24", "h1": "10.0.0.0/25"}}'], "overlaps",
     "direct_route_overrides[h", None),
    (["-e", '{"direct_route_reserved": ["10.0.0.0/8"]}'], "10.0.0.0/8", "direct_route_pool: ", "h1"),
    (["-e", "direct_route_prefix=nonsense"], "direct_route_prefix", None, None),
])
def test_bad_input_is_refused_and_nothing_changes(lab, extra, words, variable, host):
    """Refused before anything changes, once, on the host whose input is wrong, with a message that
    starts with the role variable (no filter-plugin wrapper, not reported as localhost)."""
    before = host_state(lab)
    proc = lab.ansible("ansible-playbook", "playbooks/direct_route.yml", *extra, check=False)
    assert proc.returncode != 0
    assert words in proc.stdout, proc.stdout[-3000:]
    if variable:
        failed = [(h, json.loads(body)["msg"]) for h, body in
                  re.findall(r"^fatal: \[(\S+)\]: FAILED! => (\{.*\})$", proc.stdout, re.M)]
        assert len(failed) == 1, failed
        assert host is None or failed[0][0] == host, failed
        assert failed[0][1].startswith(variable), failed[0][1]
        assert "filter plugin" not in proc.stdout and "-> localhost" not in proc.stdout
    assert host_state(lab) == before
