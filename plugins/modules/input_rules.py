#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: input_rules
short_description: Accept a cluster's ports (swarm, VXLAN, gossip) from its peer hosts in iptables INPUT
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Overlay networks need ports open between the hosts, whatever the host firewall does by default. These are
    C(2377/tcp) (swarm managers), C(7946/tcp) and C(7946/udp) (gossip) and C(4789/udp) (VXLAN data).
  - This module keeps one chain of ours, O(chain), jumped to from the top of C(INPUT). Its rules only accept
    O(ports) from O(sources) (optionally only on O(interface)); they never drop, so the host's own policy and rules
    stay as they are for everything else.
  - Rules are compared the way C(iptables-save) prints them, so a rerun changes nothing. O(state=absent) removes the
    chain, its jump and the boot script, and nothing else.
  - Docker does not touch C(INPUT), so the rules survive dockerd restarts. For reboots, a script of ours re-applies
    them (O(persist)); on systemd hosts a oneshot unit runs it at boot.
options:
  ports:
    description: Ports to accept, as C(PORT/PROTO) or C(FIRST:LAST/PROTO), for example V(4789/udp).
    type: list
    elements: str
    default: []
  sources:
    description: Addresses or CIDRs of the peers that may reach O(ports), for example the other hosts' underlay IPs.
    type: list
    elements: str
    default: []
  interface:
    description: When set, accept only packets arriving on this interface, for example V(eth0).
    type: str
  chain:
    description: Our chain. Several callers can keep separate sets with different names.
    type: str
    default: CROSSHOST-INPUT
  persist:
    description:
      - Write a script that re-applies the rules to O(persist_dir), and on systemd hosts a oneshot unit that runs it
        at boot.
    type: bool
    default: true
  persist_dir:
    description: Directory of our persisted script.
    type: path
    default: /etc/crosshost-docker
  state:
    description: V(present) makes the chain exactly as described; V(absent) removes it, its jump and its files.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode and diff mode are supported.
  - IPv4 only (iptables), with the C(iptables) found on C(PATH).
requirements:
  - iptables, iptables-save and iptables-restore on the host
seealso:
  - module: crosshost.docker.forward_rules
"""

EXAMPLES = r"""
- name: Let the other swarm nodes reach this manager's swarm, gossip and VXLAN ports
  crosshost.docker.input_rules:
    chain: CROSSHOST-OVERLAY
    ports: [2377/tcp, 7946/tcp, 7946/udp, 4789/udp]
    sources: [192.168.1.12, 192.168.1.13]
    interface: eth0

- name: Remove them
  crosshost.docker.input_rules:
    chain: CROSSHOST-OVERLAY
    state: absent
"""

RETURN = r"""
added:
  description: The rules added, as C(table CHAIN spec).
  returned: always
  type: list
  elements: str
  sample: ["filter CROSSHOST-OVERLAY -s 192.168.1.12/32 -i eth0 -p udp -m udp --dport 4789 -j ACCEPT"]
removed:
  description: The rules removed, as C(table CHAIN spec).
  returned: always
  type: list
  elements: str
rules:
  description: Our chain and jump as they are now (or would be, in check mode).
  returned: always
  type: str
input_policy:
  description: The INPUT chain's policy (not changed by this module).
  returned: always
  type: str
  sample: ACCEPT
persistence:
  description: How the rules come back after a reboot.
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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.crosshost.docker.plugins.module_utils import _forward_rules as fr
from ansible_collections.crosshost.docker.plugins.module_utils import _input_rules as ir
from ansible_collections.crosshost.docker.plugins.module_utils._files import read_text, write_text
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts import (
    IptablesSaveError,
    parse_iptables_save,
)

UNIT = """[Unit]
Description=crosshost.docker INPUT rules (%s)
After=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh %s

[Install]
WantedBy=multi-user.target
"""


def iptables_state(module, save):
    rc, out, err = module.run_command([save])
    if rc != 0:
        module.fail_json(msg="%s failed (%d): %s" % (save, rc, err.strip() or out.strip()))
    try:
        return parse_iptables_save(out)
    except IptablesSaveError as e:
        module.fail_json(msg=str(e))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ports=dict(type="list", elements="str", default=[]),
            sources=dict(type="list", elements="str", default=[]),
            interface=dict(type="str"),
            chain=dict(type="str", default=ir.DEFAULT_CHAIN),
            persist=dict(type="bool", default=True),
            persist_dir=dict(type="path", default="/etc/crosshost-docker"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    state, chain = p["state"], p["chain"]
    try:
        ports, sources = ir.validate(p["ports"], p["sources"], chain, p["interface"], state)
    except ir.InputRulesError as e:
        module.fail_json(msg=str(e))

    iptables = module.get_bin_path("iptables", required=True)
    save = module.get_bin_path("iptables-save", required=True)
    restore_bin = module.get_bin_path("iptables-restore", required=True)
    parsed = iptables_state(module, save)
    input_policy = ((parsed["chains"].get("filter") or {}).get("INPUT") or {}).get("policy") or "ACCEPT"

    ours = {"filter": chain}
    cur = fr.current(parsed, ours)
    want = ir.desired(ports, sources, chain, p["interface"])
    steps = fr.plan(cur, want, state)

    stem = chain.lower()
    script_path = os.path.join(p["persist_dir"], "%s.sh" % stem)
    unit_path = "/etc/systemd/system/%s.service" % stem
    systemd = os.path.isdir("/run/systemd/system") and module.get_bin_path("systemctl") is not None
    files_want = {}
    if state == "present" and p["persist"]:
        files_want[script_path] = fr.persist_script(want, "rules", iptables, restore_bin, owner="input_rules")
        if systemd:
            files_want[unit_path] = UNIT % (chain, script_path)
    files_have = {path: read_text(path) for path in (script_path, unit_path)}
    file_changes = [path for path in (script_path, unit_path) if files_have[path] != files_want.get(path)]
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
        input_policy=input_policy,
        persistence=dict(mode=("systemd" if systemd else "script") if files_want else "none",
                         script=script_path if files_want else None,
                         unit=unit_path if unit_path in files_want else None),
    )
    if module._diff:
        before, after = fr.describe(cur), fr.describe(after_view)
        for path in file_changes:
            before += "# %s\n%s" % (path, files_have[path] or "(absent)\n")
            after += "# %s\n%s" % (path, files_want.get(path) or "(absent)\n")
        result["diff"] = dict(before=before, after=after, before_header="iptables (ours)", after_header="iptables (ours)")
    if module.check_mode or not changed:
        module.exit_json(**result)

    text = fr.restore_text(steps["restore"])
    if text:
        rc, out, err = module.run_command([restore_bin, "--noflush"], data=text, binary_data=True)
        if rc != 0:
            module.fail_json(msg="iptables-restore refused our rules (nothing was changed: it applies all or nothing): %s"
                                 % (err.strip() or out.strip()), restore_input=text, **result)
    for path in file_changes:
        if path in files_want:
            write_text(module, path, files_want[path], 0o755 if path == script_path else 0o644)
        else:
            os.unlink(path)
    if systemd and unit_path in file_changes:
        module.run_command(["systemctl", "daemon-reload"])
        action = "enable" if unit_path in files_want else "disable"
        rc, out, err = module.run_command(["systemctl", action, os.path.basename(unit_path)])
        if rc != 0:
            module.fail_json(msg="systemctl %s failed: %s" % (action, err.strip()), **result)

    again = fr.plan(fr.current(iptables_state(module, save), ours), want, state)
    if again["added"] or again["removed"]:
        module.fail_json(msg="iptables does not hold the planned rules after applying them: still to add %s, to remove %s"
                             % (again["added"], again["removed"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
