#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: forward_rules
short_description: Let containers on different hosts reach each other through Docker's firewall, keeping their source IPs
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Docker sets the FORWARD policy to DROP and masquerades everything its containers send, so a
    container on another host that is routed to this host's container subnet is dropped, and the
    replies would show this host's address, not the container's.
  - This module adds the least rules that fix both, scoped to exactly the cluster's container subnets.
    In the filter table, a chain C(CROSSHOST-FORWARD) jumped to from the top of C(DOCKER-USER) accepts
    traffic between O(local_subnets) and O(peer_subnets), both ways, and nothing else.
  - In the nat table, a chain C(CROSSHOST-MASQ) appended to C(POSTROUTING) for each local subnet leaves traffic to
    peer and local subnets alone (the receiver sees the true container IP) and masquerades the rest, so
    containers still reach the outside world.
  - That NAT chain replaces Docker's own masquerading, which must be off (C(ip-masq) set to V(false) in daemon.json,
    see M(crosshost.docker.daemon_json)). Docker puts its MASQUERADE rule back at the top of
    C(POSTROUTING) on every restart, above any exemption inserted there; with C(ip-masq) off there is
    nothing to put back. Measured on Docker 20.10, 26 and 28.
  - On Docker 28 and later, the daemon also drops packets routed to container addresses in the raw table
    unless C(allow-direct-routing) is set to V(true) in daemon.json. The module checks for it (O(check_direct_routing)).
  - The rules survive dockerd restarts (Docker keeps C(DOCKER-USER) and our chains). For reboots, a script of ours
    re-applies them (O(persist)); on systemd hosts a oneshot unit ordered after C(docker.service) runs it.
  - Every rule of ours is in our own chains or carries the comment C(crosshost.docker); O(state=absent)
    removes exactly those and nothing else. The module reports each rule it added or removed.
  - IPv4 only (iptables). Uses the C(iptables) found on C(PATH), which must be the one Docker uses
    (nf_tables or legacy).
  - With O(state=present) the module refuses Docker's nftables firewall backend (Docker 29, experimental), which has no
    C(DOCKER-USER) chain. It looks at C(firewall-backend) in O(daemon_json_path) and at the backend the running
    dockerd reports (C(docker info), C(GET /info) on C(/var/run/docker.sock)); when either says V(nftables) it fails
    before iptables is read or anything is changed, in check mode too, and names the alternatives.
options:
  local_subnets:
    description:
      - This host's container subnets (for example the default bridge's subnet from C(bip)).
      - Required with O(state=present) and O(mode=rules).
    type: list
    elements: str
    default: []
  peer_subnets:
    description:
      - The other hosts' container subnets. Traffic between these and O(local_subnets) is accepted and not masqueraded.
      - Required with O(state=present) and O(mode=rules).
    type: list
    elements: str
    default: []
  underlay_interface:
    description:
      - When set, cluster traffic is accepted only when it arrives on (or leaves through) this interface,
        for example C(eth0).
    type: str
  masquerade:
    description:
      - Manage the NAT chain that masquerades container traffic leaving the cluster.
      - Needs Docker's own masquerading off (C(ip-masq) set to V(false)). When Docker still masquerades a local subnet
        the module fails (warns in check mode) and says how to fix it.
      - With V(false), the module leaves NAT alone; peers then see this host's address if Docker masquerades.
    type: bool
    default: true
  mode:
    description:
      - V(rules) adds the scoped rules described above.
      - V(policy) reproduces the seed's fix, C(iptables -P FORWARD ACCEPT). That forwards everything, from anywhere, to every
        container on this host, published or not. Use it only if you must; O(state=absent) with O(mode=policy)
        sets the policy back to DROP.
    type: str
    choices: [rules, policy]
    default: rules
  forward_policy:
    description:
      - With O(mode=rules), what to do with the FORWARD chain's policy.
      - V(keep) leaves it as it is.
      - V(drop) sets it back to DROP (Docker's own setting) when somebody set it to ACCEPT, the seed's manual fix. With
        ACCEPT every container on the host is reachable from anywhere, published or not, and the scoped rules prove
        nothing. Use V(keep) on hosts that forward other traffic on purpose.
    type: str
    choices: [keep, drop]
    default: keep
  check_direct_routing:
    description:
      - On Docker 28 and later, fail (warn in check mode) unless C(allow-direct-routing) is set to V(true) in
        O(daemon_json_path). Without it, Docker drops routed traffic to its containers in the raw table.
    type: bool
    default: true
  daemon_json_path:
    description: Where dockerd's configuration is, for the C(ip-masq), C(allow-direct-routing) and C(firewall-backend) checks.
    type: path
    default: /etc/docker/daemon.json
  persist:
    description:
      - Write a script that re-applies the rules to O(persist_dir), and on systemd hosts a oneshot unit
        C(crosshost-forward-rules.service) (ordered after C(docker.service), enabled) that runs it at boot.
      - On hosts without systemd only the script is written; the result says so. Run it from your boot
        mechanism.
    type: bool
    default: true
  persist_dir:
    description: Directory of our persisted script.
    type: path
    default: /etc/crosshost-docker
  state:
    description: V(present) makes the rules exactly as described; V(absent) removes ours (and the persisted files).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - crosshost.docker.attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is changed; the rules, the policy and the files that would change are reported.
  diff_mode:
    support: full
    details:
      - Our chains and jumps, the FORWARD policy and our boot files, before and after.
notes:
  - Run it after dockerd has started with the final daemon.json (for example after the handlers of
    M(crosshost.docker.daemon_json) have run). It needs the C(DOCKER-USER) chain, which Docker creates.
  - Docker's nftables firewall backend is not supported. When C(firewall-backend) is V(nftables) in daemon.json, or the
    running dockerd reports that backend, the module fails with O(state=present). Either run dockerd with the iptables
    backend (remove C(firewall-backend) from daemon.json or set it to V(iptables), then restart dockerd), or write the
    forwarding rules yourself in nftables. O(state=absent) is not refused and still removes our iptables rules.
    The nftables path is not tested on a Docker 29 engine.
requirements:
  - iptables, iptables-save and iptables-restore on the host
seealso:
  - module: crosshost.docker.daemon_json
  - module: crosshost.docker.docker_host_info
"""

EXAMPLES = r"""
- name: Let the cluster's containers reach this host's containers, with their own source IPs
  crosshost.docker.forward_rules:
    local_subnets: [10.0.0.0/24]
    peer_subnets: [10.1.0.0/24, 10.2.0.0/24]
    underlay_interface: eth0

- name: The seed's blunt fix (forwards everything; not recommended)
  crosshost.docker.forward_rules:
    mode: policy
    masquerade: false

- name: Remove our rules and the boot script
  crosshost.docker.forward_rules:
    state: absent
"""

RETURN = r"""
added:
  description: The rules added, as C(table CHAIN spec).
  returned: always
  type: list
  elements: str
  sample: ["filter CROSSHOST-FORWARD -s 10.1.0.0/24 -d 10.0.0.0/24 -j ACCEPT"]
removed:
  description: The rules removed, as C(table CHAIN spec).
  returned: always
  type: list
  elements: str
rules:
  description: Our rules as they are now (or would be, in check mode), as text lines.
  returned: always
  type: str
forward_policy:
  description: The FORWARD chain's policy after the run.
  returned: always
  type: str
  sample: DROP
forward_policy_before:
  description: The FORWARD chain's policy as the module found it (what a check-mode drift report compares).
  returned: always
  type: str
  sample: ACCEPT
docker_masquerade:
  description: Docker's own MASQUERADE rules for the local subnets (present while C(ip-masq) is on).
  returned: always
  type: list
  elements: str
raw_drops:
  description: Docker 28 raw-table DROP rules for addresses in the local subnets.
  returned: always
  type: list
  elements: str
engine_version:
  description: The running dockerd's version, when found.
  returned: always
  type: str
  sample: 28.5.2
persistence:
  description: How the rules are re-applied after a reboot.
  returned: always
  type: dict
  contains:
    mode:
      description: V(systemd) (unit enabled), V(script) (script only, no systemd), or V(none).
      type: str
    script:
      description: Path of the script, C(forward-rules.sh) in O(persist_dir).
      type: str
    unit:
      description: Path of the systemd unit C(crosshost-forward-rules.service), when written.
      type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.crosshost.docker.plugins.module_utils import _chain_module as chains
from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api as docker_api
from ansible_collections.crosshost.docker.plugins.module_utils import _engine as engine
from ansible_collections.crosshost.docker.plugins.module_utils import _firewall_backend as firewall_backend
from ansible_collections.crosshost.docker.plugins.module_utils import _forward_rules as fr
from ansible_collections.crosshost.docker.plugins.module_utils._errors import DockerApiError

UNIT_PATH = "/etc/systemd/system/crosshost-forward-rules.service"


def read_daemon_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def engine_info():
    """GET /info from the local dockerd over its default socket (no Docker SDK needed), or None when it does not answer."""
    try:
        return docker_api.connect_plain(docker_api.DEFAULT_HOST, timeout=5).info()
    except DockerApiError:
        return None


def validate(p):
    """The options; then, with state=present, Docker's firewall backend (nftables is refused), before iptables is read."""
    args = fr.validate(p["local_subnets"], p["peer_subnets"], p["underlay_interface"], p["state"], p["mode"])
    if p["state"] == "present":
        firewall_backend.refuse_nftables(read_daemon_json(p["daemon_json_path"]), engine_info(), p["daemon_json_path"])
    return args


def plan(module, hosts, parsed, local, peers):
    """The job: our chains, the FORWARD policy (mode=policy), our boot files; problems as warnings."""
    p = module.params
    state, mode = p["state"], p["mode"]
    version = engine.find_dockerd(hosts.run, hosts.which)[1]
    daemon = read_daemon_json(p["daemon_json_path"])
    problems = []
    if state == "present":
        problems = fr.prerequisites(parsed, local, daemon, version, mode, p["masquerade"], p["check_direct_routing"],
                                    p["daemon_json_path"], hosts.iptables.path("iptables"))
        if problems and not module.check_mode:
            raise fr.PrerequisiteError(problems[0])

    want = fr.desired(local, peers, p["underlay_interface"], p["masquerade"], mode)
    job = chains.Job(parsed, want, state)
    job.warnings = problems
    policy_now = policy_want = parsed["forward_policy"]
    if mode == "policy":
        policy_want = "ACCEPT" if state == "present" else "DROP"
        job.set_policy("filter", "FORWARD", policy_now, policy_want)
        if state == "present" and policy_want != policy_now:
            job.warnings.append("FORWARD policy ACCEPT forwards all traffic to every container on this host, "
                                "published ports or not. Prefer mode=rules.")
    elif state == "present" and p["forward_policy"] == "drop" and policy_now == "ACCEPT":
        policy_want = "DROP"
        job.set_policy("filter", "FORWARD", policy_now, policy_want)
    job.diff_extra = ("FORWARD policy %s\n" % policy_now, "FORWARD policy %s\n" % policy_want)

    # Persistence: our script, and a unit where systemd runs the host.
    script_path = os.path.join(p["persist_dir"], "forward-rules.sh")
    script = fr.persist_script(want, mode, hosts.iptables.path("iptables"), hosts.iptables.path("iptables-restore"))
    job.persist(state == "present" and p["persist"], hosts.systemd, script_path, script,
                UNIT_PATH, fr.SYSTEMD_UNIT % script_path)
    job.make_result(module.check_mode, forward_policy=policy_want, forward_policy_before=policy_now,
                    docker_masquerade=fr.docker_masquerade(parsed, local), raw_drops=fr.raw_drops(parsed, local),
                    engine_version=engine.version_text(version) if version else None)
    return job


def main():
    module = AnsibleModule(
        argument_spec=dict(
            local_subnets=dict(type="list", elements="str", default=[]),
            peer_subnets=dict(type="list", elements="str", default=[]),
            underlay_interface=dict(type="str"),
            masquerade=dict(type="bool", default=True),
            mode=dict(type="str", choices=["rules", "policy"], default="rules"),
            forward_policy=dict(type="str", choices=["keep", "drop"], default="keep"),
            check_direct_routing=dict(type="bool", default=True),
            daemon_json_path=dict(type="path", default="/etc/docker/daemon.json"),
            **chains.ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    chains.main(module, validate, lambda hosts, parsed, local, peers: plan(module, hosts, parsed, local, peers))


if __name__ == "__main__":
    main()
