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
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.attributes.check_diff
attributes:
  check_mode:
    details:
      - Nothing is changed; the rules and the files that would change are reported.
  diff_mode:
    details:
      - Our chain, its jump and our boot files, before and after.
notes:
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
      description: Path of the script, C(<chain in lower case>.sh) in O(persist_dir).
      type: str
    unit:
      description: Path of the systemd unit C(/etc/systemd/system/<chain in lower case>.service), when written.
      type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.crosshost.docker.plugins.module_utils import _chain_module as chains
from ansible_collections.crosshost.docker.plugins.module_utils import _input_rules as ir
from ansible_collections.crosshost.docker.plugins.module_utils._forward_rules import persist_script

UNIT_DIR = "/etc/systemd/system"


def plan(module, hosts, parsed, ports, sources):
    """The job: our chain and its jump, our boot files."""
    p = module.params
    chain = p["chain"]
    want = ir.desired(ports, sources, chain, p["interface"])
    job = chains.Job(parsed, want, p["state"], {"filter": chain})
    stem = chain.lower()
    script_path = os.path.join(p["persist_dir"], "%s.sh" % stem)
    script = persist_script(want, "rules", hosts.iptables.path("iptables"), hosts.iptables.path("iptables-restore"),
                            owner="input_rules")
    job.persist(p["state"] == "present" and p["persist"], hosts.systemd, script_path, script,
                os.path.join(UNIT_DIR, "%s.service" % stem), ir.systemd_unit(chain, script_path))
    input_policy = ((parsed["chains"].get("filter") or {}).get("INPUT") or {}).get("policy") or "ACCEPT"
    job.make_result(module.check_mode, input_policy=input_policy)
    return job


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ports=dict(type="list", elements="str", default=[]),
            sources=dict(type="list", elements="str", default=[]),
            interface=dict(type="str"),
            chain=dict(type="str", default=ir.DEFAULT_CHAIN),
            **chains.ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    chains.main(module,
                lambda p: ir.validate(p["ports"], p["sources"], p["chain"], p["interface"], p["state"]),
                lambda hosts, parsed, ports, sources: plan(module, hosts, parsed, ports, sources))


if __name__ == "__main__":
    main()
