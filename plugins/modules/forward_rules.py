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
  check_direct_routing:
    description:
      - On Docker 28 and later, fail (warn in check mode) unless C(allow-direct-routing) is set to V(true) in
        O(daemon_json_path). Without it, Docker drops routed traffic to its containers in the raw table.
    type: bool
    default: true
  daemon_json_path:
    description: Where dockerd's configuration is, for the C(ip-masq) and C(allow-direct-routing) checks.
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
notes:
  - Check mode and diff mode are supported. Diff mode shows our chains and jumps before and after.
  - Run it after dockerd has started with the final daemon.json (for example after the handlers of
    M(crosshost.docker.daemon_json) have run). It needs the C(DOCKER-USER) chain, which Docker creates.
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
      description: Path of the script.
      type: str
    unit:
      description: Path of the systemd unit, when written.
      type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.crosshost.docker.plugins.module_utils import _engine as engine
from ansible_collections.crosshost.docker.plugins.module_utils import _forward_rules as fr
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts import (
    IptablesSaveError,
    parse_iptables_save,
)
from ansible_collections.crosshost.docker.plugins.module_utils._files import read_text, write_text

UNIT_PATH = "/etc/systemd/system/crosshost-forward-rules.service"


def iptables_state(module, save):
    rc, out, err = module.run_command([save])
    if rc != 0:
        module.fail_json(msg="%s failed (%d): %s" % (save, rc, err.strip() or out.strip()))
    try:
        return parse_iptables_save(out)
    except IptablesSaveError as e:
        module.fail_json(msg=str(e))


def read_daemon_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def problem(module, warnings, text):
    """A prerequisite that is not met: a failure, or a warning in check mode (an earlier task
    in the same check run would have fixed it)."""
    if module.check_mode:
        warnings.append(text)
    else:
        module.fail_json(msg=text)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            local_subnets=dict(type="list", elements="str", default=[]),
            peer_subnets=dict(type="list", elements="str", default=[]),
            underlay_interface=dict(type="str"),
            masquerade=dict(type="bool", default=True),
            mode=dict(type="str", choices=["rules", "policy"], default="rules"),
            check_direct_routing=dict(type="bool", default=True),
            daemon_json_path=dict(type="path", default="/etc/docker/daemon.json"),
            persist=dict(type="bool", default=True),
            persist_dir=dict(type="path", default="/etc/crosshost-docker"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    state, mode = p["state"], p["mode"]
    try:
        local, peers = fr.validate(p["local_subnets"], p["peer_subnets"], p["underlay_interface"], state, mode)
    except fr.ForwardRulesError as e:
        module.fail_json(msg=str(e))

    iptables = module.get_bin_path("iptables", required=True)
    save = module.get_bin_path("iptables-save", required=True)
    restore_bin = module.get_bin_path("iptables-restore", required=True)
    parsed = iptables_state(module, save)
    warnings = []

    dockerd, version, _pid = engine.find_dockerd(module.run_command, module.get_bin_path)
    daemon = read_daemon_json(p["daemon_json_path"])
    docker_masq = fr.docker_masquerade(parsed, local)
    drops = fr.raw_drops(parsed, local)

    if state == "present":
        if mode == "rules" and not parsed["docker_user_exists"]:
            module.fail_json(msg="The DOCKER-USER chain does not exist in %s's view (%s): start dockerd with its iptables "
                                 "integration on (it creates the chain), and check that `iptables` is the same "
                                 "variant (nf_tables or legacy) that Docker uses." % (iptables, parsed.get("backend")))
        if p["masquerade"] and docker_masq:
            problem(module, warnings,
                    "Docker masquerades %s itself (ip-masq is on), so peers would see this host's address instead of the "
                    "container's, and Docker puts that rule back above any exemption on every restart. Set "
                    "\"ip-masq\": false in %s (crosshost.docker.daemon_json) and restart docker; this module then "
                    "masquerades only traffic that leaves the cluster. Rules: %s%s"
                    % (", ".join(str(n) for n in local), p["daemon_json_path"], "; ".join(docker_masq),
                       (". daemon.json is not applied: it already sets \"ip-masq\": false, but dockerd has not been "
                        "restarted since (crosshost.docker.docker_daemon with state=applied)")
                       if daemon.get("ip-masq") is False else ""))
        if mode == "rules" and p["check_direct_routing"] and engine.at_least(version, engine.ALLOW_DIRECT_ROUTING):
            # The running daemon first: its raw-table drops for our containers are what matters. With no
            # container running there is nothing to see, and the file is all there is to go by.
            if drops and daemon.get("allow-direct-routing") is True:
                problem(module, warnings,
                        "daemon.json is not applied: it sets \"allow-direct-routing\": true, but the running Docker %s "
                        "still drops traffic routed to its containers (%s). Restart dockerd (crosshost.docker.docker_daemon "
                        "with state=applied) so that it reads %s."
                        % (engine.version_text(version), "; ".join(drops), p["daemon_json_path"]))
            elif drops or daemon.get("allow-direct-routing") is not True:
                problem(module, warnings,
                        "Docker %s drops traffic routed to its containers from other hosts in the raw table (rules like "
                        "'-d <container ip>/32 ! -i docker0 -j DROP'). Set \"allow-direct-routing\": true in %s "
                        "(crosshost.docker.daemon_json) and restart docker, or set check_direct_routing=false if your "
                        "containers are on networks with gateway mode 'routed'."
                        % (engine.version_text(version), p["daemon_json_path"]))

    cur = fr.current(parsed)
    want = fr.desired(local, peers, p["underlay_interface"], p["masquerade"], mode)
    steps = fr.plan(cur, want, state)

    policy_now = parsed["forward_policy"]
    policy_want = policy_now
    if mode == "policy":
        policy_want = "ACCEPT" if state == "present" else "DROP"
        if policy_want != policy_now:
            steps["added" if state == "present" else "removed"].append("filter FORWARD policy %s (was %s)" % (policy_want, policy_now))
            if state == "present":
                warnings.append("FORWARD policy ACCEPT forwards all traffic to every container on this host, "
                                "published ports or not. Prefer mode=rules.")

    # Persistence: our script, and a unit where systemd runs the host.
    script_path = os.path.join(p["persist_dir"], "forward-rules.sh")
    systemd = os.path.isdir("/run/systemd/system") and module.get_bin_path("systemctl") is not None
    files_want = {}
    if state == "present" and p["persist"]:
        files_want[script_path] = fr.persist_script(want, mode, iptables, restore_bin)
        if systemd:
            files_want[UNIT_PATH] = fr.SYSTEMD_UNIT % script_path
    files_have = {path: read_text(path) for path in (script_path, UNIT_PATH)}
    file_changes = [path for path in (script_path, UNIT_PATH) if files_have[path] != files_want.get(path)]
    for path in file_changes:
        steps["added" if path in files_want else "removed"].append("file %s" % path)

    changed = bool(steps["added"] or steps["removed"])
    after_view = {"chains": want["chains"], "jumps": [j[:3] for j in want["jumps"]]} if state == "present" else {
        "chains": {}, "jumps": []}
    result = dict(
        changed=changed,
        added=steps["added"],
        removed=steps["removed"],
        rules=fr.describe(after_view) if changed or module.check_mode else fr.describe(cur),
        forward_policy=policy_want,
        docker_masquerade=docker_masq,
        raw_drops=drops,
        engine_version=engine.version_text(version) if version else None,
        persistence=dict(mode=("systemd" if systemd else "script") if files_want else "none",
                         script=script_path if files_want else None,
                         unit=UNIT_PATH if UNIT_PATH in files_want else None),
    )
    if module._diff:
        before = fr.describe(cur) + "FORWARD policy %s\n" % policy_now
        after = fr.describe(after_view) + "FORWARD policy %s\n" % policy_want
        for path in file_changes:
            before += "# %s\n%s" % (path, files_have[path] or "(absent)\n")
            after += "# %s\n%s" % (path, files_want.get(path) or "(absent)\n")
        result["diff"] = dict(before=before, after=after, before_header="iptables (ours)", after_header="iptables (ours)")
    for w in warnings:
        module.warn(w)
    if module.check_mode or not changed:
        module.exit_json(**result)

    # Apply: one iptables-restore transaction for the rules, then the policy, then the files.
    text = fr.restore_text(steps["restore"])
    if text:
        rc, out, err = module.run_command([restore_bin, "--noflush"], data=text, binary_data=True)
        if rc != 0:
            module.fail_json(msg="iptables-restore refused our rules (nothing was changed: it applies all or nothing): %s"
                                 % (err.strip() or out.strip()), restore_input=text, **result)
    if policy_want != policy_now:
        rc, out, err = module.run_command([iptables, "-P", "FORWARD", policy_want])
        if rc != 0:
            module.fail_json(msg="iptables -P FORWARD %s failed: %s" % (policy_want, err.strip()), **result)
    for path in file_changes:
        if path in files_want:
            write_text(module, path, files_want[path], 0o755 if path == script_path else 0o644)
        else:
            os.unlink(path)
    if systemd and UNIT_PATH in file_changes:
        module.run_command(["systemctl", "daemon-reload"])
        action = "enable" if UNIT_PATH in files_want else "disable"
        rc, out, err = module.run_command(["systemctl", action, os.path.basename(UNIT_PATH)])
        if rc != 0:
            module.fail_json(msg="systemctl %s failed: %s" % (action, err.strip()), **result)

    # Verify: what iptables holds now must be exactly what we planned.
    again = fr.plan(fr.current(iptables_state(module, save)), want, state)
    if again["added"] or again["removed"]:
        module.fail_json(msg="iptables does not hold the planned rules after applying them: still to add %s, to remove %s"
                             % (again["added"], again["removed"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
