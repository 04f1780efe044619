#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: connectivity
short_description: Prove that containers on different Docker hosts reach each other, and say why not
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Tests container-to-container connectivity across Docker hosts on one Docker network (a bridge with routes
    between the hosts, macvlan, or overlay). For every peer it checks ICMP, a TCP connection and the source
    address the receiver saw, the path MTU with don't-fragment pings at the expected MTU, and optionally the
    peer's container name.
  - A module runs on one host while the pairs span hosts, so the work is split into states that a play runs in
    order on all hosts. The role M(crosshost.docker.verify) does exactly that and prints the matrix. It is the
    usual way to use this module.
  - O(state=started) makes sure a probe is ready on this host. The probe is a container on O(network) (created
    from O(image), or the existing container O(container)) with a small TCP server in its network namespace. The
    server answers each connection with the source address it saw. It runs as a host process that ends on its
    own after O(lifetime) seconds. With O(peers), count-only iptables rules are also added on bridge networks.
    They record how far each peer's packets got on this host, which is the receiver-side evidence for the
    diagnosis.
  - O(state=tested) probes every peer from the probe's network namespace, using the host's tools. It runs
    C(ping) (iputils, C(-M do) for don't-fragment) and opens a TCP connection to the peer's probe server. It
    returns a result per peer with a first diagnosis from this side alone.
  - O(state=absent) reads the evidence (the counters, Docker 28's raw-table drops, the FORWARD policy, the
    sources the server saw), then removes everything the module made on this host. That is the server, the
    count rules and the probe container. A container named with O(container) is never removed.
  - A run that is killed before O(state=absent) leaves its probe behind until O(lifetime) runs out.
    O(state=started) with O(prune=true) first removes what earlier probes left on the host.
  - The full diagnosis of a pair needs both hosts' evidence. The filter P(crosshost.docker.connectivity_report#filter)
    combines everything into the host-by-host matrix. The causes it tells apart are no route, FORWARD drop,
    Docker 28 raw-table drop, SNAT seen, MTU too small, REJECT, filtered TCP or ICMP, forwarding off, and an
    unresolved name.
options:
  state:
    description:
      - V(started) makes sure the probe container and its server run, and adds count rules for O(peers).
      - V(tested) probes every peer in O(peers). It changes nothing on the host.
      - V(absent) returns the evidence, then removes the server, the count rules and the probe container.
    type: str
    choices: [started, tested, absent]
    default: started
  network:
    description:
      - The Docker network under test, by name (V(bridge) is Docker's default bridge). Every host uses the same
        name.
      - An attachable swarm overlay network need not be visible on a worker node yet, because starting the probe
        attaches it.
    type: str
    default: bridge
  name:
    description:
      - Name of the probe container this module creates and removes. It is also the name peers resolve with
        O(by_name), so give each host its own name on overlay networks (the verify role uses
        C(crosshost-probe-<inventory_hostname>)).
      - The module refuses to touch an existing container with this name that it did not create.
    type: str
    default: crosshost-probe
  container:
    description:
      - Use this existing, running container as the probe instead of creating one. It must be attached to
        O(network). Only the module's server (on O(port)) and count rules are added to it. The container itself
        is left alone, also by O(state=absent).
    type: str
  image:
    description:
      - Image of the probe container. It needs only a C(sleep) command, for example C(busybox). If the image is
        not on the host, it is pulled.
    type: str
    default: busybox:latest
  port:
    description: TCP port of the probe server, inside the probe's network namespace.
    type: int
    default: 5000
  lifetime:
    description:
      - Seconds after which the probe container (C(sleep), removed automatically) and the probe server end on their
        own, whatever happens to the play.
    type: int
    default: 3600
  peers:
    description:
      - The other hosts' probes. Required with O(state=tested). With O(state=started) the module adds count rules for
        them. O(state=absent) reports and removes the count rules of this probe whatever the peers are.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The peer's key in RV(row) (its inventory hostname).
        type: str
        required: true
      address:
        description: The peer probe's IPv4 address on O(network) (RV(probe.address) of its O(state=started)).
        type: str
        required: true
      name:
        description: The peer probe's container name, resolved through Docker's embedded DNS with O(by_name).
        type: str
      port:
        description: The peer's probe server port. The default is O(port).
        type: int
  mtu:
    description:
      - Expected path MTU in bytes, tested with don't-fragment pings of exactly this size (ICMP payload
        O(mtu) - 28). By default it is the MTU of the probe's interface on O(network).
      - A don't-fragment ping one byte larger is expected to fail. When it passes, C(mtu.above) in RV(row) says so
        (information, not a failure).
    type: int
  expect_source:
    description:
      - V(container) means the receiver must see the sender's container address as the source (no SNAT on the
        way). V(any) means only reachability counts.
    type: str
    choices: [container, any]
    default: container
  by_name:
    description:
      - Also resolve each peer's O(peers[].name) through Docker's embedded DNS (127.0.0.11) in the probe's
        namespace. The name must resolve to the peer's address. Names resolve across hosts on overlay networks
        only, and never on the default bridge.
      - A name that does not resolve yet is asked again for up to 10 seconds, the time a new container's name may
        take to reach the other hosts of an overlay network.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each ping run, TCP connection and DNS answer.
    type: int
    default: 2
  prune:
    description:
      - With O(state=started), first remove what earlier probes of this module left on this host, for example
        after a killed run. That is every container with the module's label (C(crosshost.docker.connectivity)),
        every probe server, the count rules and the state files. The probe of this task (O(name) or
        O(container)) is kept and handled as usual.
      - A server is ended only when it is proven to be a probe server of this host. Either its state file names
        its PID, start time and network namespace, or it runs under the server's process name
        (C(crosshost-probe)) in the network namespace of a probe container that is being removed. A container
        named with O(container) is never removed, only the server in it is ended.
      - Leave it off while other probes of this module are meant to run on the host at the same time.
      - Only with O(state=started).
    type: bool
    default: false
  evidence:
    description:
      - With O(state=started) and O(peers) on a bridge network, add the count-only rules. They have no target, so
        they never change a verdict, and each has the comment C(crosshost-connectivity:<probe>:<counter>).
      - They count ICMP echo packets, with requests and replies apart. The peer's requests to the probe are counted
        where they arrived (C(raw PREROUTING), before Docker 28's raw-table drop), where they got to forwarding
        (C(mangle FORWARD)) and where they left towards the container (C(mangle POSTROUTING)). The probe's replies
        are counted when they leave the host. The probe's own requests to the peer are counted when they leave
        the host, and the peer's replies to them at the same three steps. One more rule counts requests to the
        probe from any source. More of those than from all peers together means that requests came in under
        another source address (SNAT).
      - V(false) adds no rules. The diagnosis then relies on what the sender sees.
      - Macvlan and overlay traffic does not cross the host's iptables, so no rules are added for those networks.
    type: bool
    default: true
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.docker_host
attributes:
  check_mode:
    support: full
    details:
      - V(started) (also with O(prune)) and V(absent) report what they would do and change nothing. V(tested) runs its probes (it
        changes nothing on the host) but needs a started probe.
  diff_mode:
    support: full
    details: The probe's container, server and count rules before and after (with O(prune), also the earlier probes).
requirements:
  - Linux, root (entering a container's network namespace, raw ICMP, iptables)
  - docker (Docker SDK for Python) >= 7.0
  - iputils C(ping) (busybox ping has no don't-fragment option), for O(state=tested)
  - C(iptables) and C(iptables-save), for the count rules and the evidence (optional)
notes:
  - The probes run with the host's Python and C(ping) inside the container's network namespace (setns(2) on one
    thread), so the probe image needs nothing but C(sleep), and existing application containers can be used
    with O(container).
  - IPv4 only.
  - On Docker < 23.0's legacy (cluster-store) overlay, removing the last container of the network on a host
    leaves a dockerd thread in the deleted sandbox's network namespace (a Docker bug, fixed in 23.0). O(state=absent)
    warns when its probe was that container. Keep one long-lived container on the network on every host.
  - The state files of the probe server are in C(/run/crosshost-connectivity/). The server's process name is
    C(crosshost-probe).
seealso:
  - module: crosshost.docker.forward_rules
  - module: crosshost.docker.route_table
"""

EXAMPLES = r"""
# The crosshost.docker.verify role runs these steps for you; this is what it does.
- name: Start a probe on every host
  crosshost.docker.connectivity:
    state: started
    network: bridge
    name: "crosshost-probe-{{ inventory_hostname }}"
  register: probe

- name: Probe every other host
  crosshost.docker.connectivity:
    state: tested
    name: "crosshost-probe-{{ inventory_hostname }}"
    peers: >-
      {% set out = [] %}{% for h in ansible_play_hosts if h != inventory_hostname %}
      {%- set _ = out.append({'host': h, 'address': hostvars[h].probe.probe.address}) %}{% endfor %}{{ out }}
  register: tested

- name: Remove the probes (always)
  crosshost.docker.connectivity:
    state: absent
    name: "crosshost-probe-{{ inventory_hostname }}"
  register: removed

- name: One peer, by hand
  crosshost.docker.connectivity:
    state: tested
    network: xh_overlay
    name: probe-a
    by_name: true
    mtu: 1450
    peers:
      - {host: docker2, address: 10.20.0.5, name: probe-b}
  register: one

- name: Fail with the broken pairs
  ansible.builtin.fail:
    msg: "{{ one.broken }}"
  when: one.broken | length > 0

- name: Start a probe, removing first what an earlier, killed run left on this host
  crosshost.docker.connectivity:
    state: started
    name: "crosshost-probe-{{ inventory_hostname }}"
    prune: true
  register: probe

- name: Use an existing container on a macvlan network as this host's probe
  crosshost.docker.connectivity:
    state: started
    network: mac_net1
    container: app1
    port: 5999
"""

RETURN = r"""
probe:
  description: This host's probe (in check mode, before it exists, the address and pid are null).
  returned: always
  type: dict
  sample: {"name": "crosshost-probe-h1", "id": "6a1f...", "network": "bridge", "driver": "bridge",
           "address": "10.0.0.3", "interface": "eth0", "mtu": 1500, "pid": 4242, "port": 5000,
           "server_pid": 4250, "owned": true}
  contains:
    name:
      description: Container name.
      type: str
    id:
      description: Container id.
      type: str
    network:
      description: The network under test.
      type: str
    driver:
      description: The network's driver (V(bridge), V(macvlan), V(overlay), ...).
      type: str
    address:
      description: The probe's IPv4 address on the network.
      type: str
    interface:
      description: The probe's interface on the network, inside the container.
      type: str
    mtu:
      description: That interface's MTU (the default expected path MTU).
      type: int
    pid:
      description: The container's main process (its network namespace is probed).
      type: int
    port:
      description: The probe server's TCP port.
      type: int
    server_pid:
      description: The probe server's process id on the host.
      type: int
    owned:
      description: Whether the container is the module's own (created with O(name)), not a named O(container).
      type: bool
row:
  description: O(state=tested) - this host's row of the matrix, the result per peer, keyed by O(peers[].host).
  returned: when O(state=tested)
  type: dict
  sample:
    h2:
      address: 10.0.1.3
      source: 10.0.0.3
      icmp: {ok: true, sent: 3, received: 3, kind: null, detail: null, from: null, mtu: null}
      tcp: {ok: true, error: null, seen: 10.0.0.3, seen_port: 40312}
      mtu: {expected: 1500, ok: true, path_mtu: 1500, above: false, detail: null}
      dns: null
      route: 10.0.1.3 via 192.168.1.1 dev eth0 src 192.168.1.11
      status: ok
      short: ok
      cause: null
  contains:
    address:
      description: The peer's address.
      type: str
    source:
      description: This probe's own address (what the peer should see).
      type: str
    icmp:
      description: >-
        Ping: C(ok), C(sent), C(received), C(kind) (null, V(net_unreachable), V(host_unreachable), V(rejected),
        V(frag_needed), V(local_mtu), V(ttl), V(timeout), V(error)), C(detail) (ping's own words), C(from) (who
        sent the ICMP error), C(mtu).
      type: dict
    tcp:
      description: >-
        TCP: C(ok), C(error) (V(timeout), V(refused), V(host unreachable), V(network unreachable), ...),
        C(seen) (the source address the peer's server saw), C(seen_port), C(local), C(reply).
      type: dict
    mtu:
      description: >-
        Don't-fragment pings: C(expected), C(ok) (null when the peer is unreachable), C(path_mtu) (the largest size
        that passed, from the ICMP error or by bisection), C(exact), C(above) (a ping of O(mtu)+1 passed),
        C(detail).
      type: dict
    dns:
      description: With O(by_name) and a peer name - C(ok), C(addresses), C(error).
      type: dict
    route:
      description: On bridge networks, how this host routes the peer's address (C(ip route get)).
      type: str
    status:
      description: V(ok) or V(FAIL), judged from this side alone.
      type: str
    kind:
      description: The cause's key (V(ok), V(no_route), V(snat), V(mtu), V(timeout), ...).
      type: str
    short:
      description: The table cell text.
      type: str
    cause:
      description: The likely cause in words, null when the pair works.
      type: str
broken:
  description: >-
    O(state=tested) - C(<peer>: <likely cause>) for each peer that failed, judged from this side.
  returned: when O(state=tested)
  type: list
  elements: str
  sample: ["h3: no answer from 10.0.2.3 (no reply): no route to the peer's container subnet, ..."]
evidence:
  description: >-
    O(state=absent) - what this host saw, read before the cleanup. It is the receiver-side input of the
    P(crosshost.docker.connectivity_report#filter) filter.
  returned: when O(state=absent)
  type: dict
  contains:
    address:
      description: The probe's address.
      type: str
    counters:
      description: >-
        Per peer address, the ICMP echo packets the count rules counted - C(arrived), C(forwarded) and C(delivered)
        (the peer's requests to the probe at the three steps), C(replied) (the probe's replies leaving this host),
        C(left) (the probe's requests to the peer leaving this host), and C(replies_arrived), C(replies_forwarded),
        C(replies_delivered) (the peer's replies to them).
      type: dict
    total:
      description: Echo requests that reached this host for the probe from any source (null without count rules).
      type: int
    raw_drop:
      description: Docker 28's raw-table DROP rules for the probe's address - C(rules), C(packets).
      type: dict
    forward_policy:
      description: The filter FORWARD policy.
      type: str
    ip_forward:
      description: net.ipv4.ip_forward.
      type: int
    daemon_pending:
      description:
        - Why this host's dockerd does not use its C(/etc/docker/daemon.json) yet (for example C(bip) differs from
          docker0's address, or the file changed after dockerd started); empty when it does. A broken pair on such a
          host is reported as "daemon.json is not applied".
      type: list
      elements: str
    seen:
      description: Source addresses the probe server saw.
      type: list
      elements: str
removed:
  description: O(state=absent) - what was removed (or would be, in check mode).
  returned: when O(state=absent)
  type: list
  elements: str
actions:
  description: O(state=started) - what was done (or would be, in check mode).
  returned: when O(state=started)
  type: list
  elements: str
pruned:
  description: >-
    O(state=started) with O(prune) - what earlier probes had left and was removed (or would be, in check mode).
  returned: when O(state=started) and O(prune=true)
  type: list
  elements: str
  sample: ["probe server (pid 4250) of crosshost-probe-h1-1a2b3", "probe container crosshost-probe-h1-1a2b3",
           "state files of crosshost-probe-h1-1a2b3"]
"""

import concurrent.futures
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.crosshost.docker.plugins.module_utils import _connectivity as cx
from ansible_collections.crosshost.docker.plugins.module_utils import _daemon_state as daemon_state
from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api as docker_api
from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import (
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    DockerApiError,
    endpoint as attachment,
)
# The SDK's error classes, which a fake docker.APIClient raises in the unit tests.
from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import (  # pylint: disable=unused-import
    APIError,
    ImageNotFound,
    NotFound,
)
from ansible_collections.crosshost.docker.plugins.module_utils._engine import running_dockerd
from ansible_collections.crosshost.docker.plugins.module_utils import _connectivity_probe as probe_lib
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, IptablesError, fail
from ansible_collections.crosshost.docker.plugins.module_utils._hosttools import HostTools
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import Iptables

RUN_DIR = "/run/crosshost-connectivity"
MAX_WORKERS = 8
NAME_SETTLE = 10  # seconds a peer name may take to reach this host (overlay gossip)


# --- Docker (through module_utils/_docker_api) ------------------------------------------------------

def connect(module):
    return docker_api.connect(module.params["docker_host"], 60, lambda: module.get_bin_path("dockerd"))


def is_ours(container):
    return ((container.get("Config") or {}).get("Labels") or {}).get(cx.LABEL) is not None


def ensure_image(api, image):
    try:
        return api.ensure_image(image)
    except docker_api.DockerCallError as exc:
        raise DockerApiError("image: %s is not on this host and cannot be pulled (%s); load it (docker load) or set "
                             "image to an image that is here and has a sleep command" % (image, exc.reason))


def create_probe(api, p):
    network = p["network"]
    try:
        return api.run_container(p["image"], ["sleep", str(p["lifetime"])], p["name"], network,
                                 labels={cx.LABEL: network}, init=True, auto_remove=True)
    except docker_api.DockerCallError as exc:
        text = exc.reason
        if "network" in text.lower() and "not found" in text.lower():
            raise DockerApiError("network: %s does not exist on this host (%s); create it first (an overlay network "
                                 "must be attachable)" % (network, text))
        raise DockerApiError("cannot start the probe container %s on network %s: %s" % (p["name"], network, text))


# --- host commands ---------------------------------------------------------------------------------

def iptables_save(module):
    """``iptables-save -c`` through the iptables adapter, parsed; None (and a warning when it fails) without it."""
    tables = Iptables.for_module(module)
    if not tables.available("iptables-save"):
        return None
    try:
        return tables.save(counters=True, strict=False)
    except IptablesError as err:
        module.warn("iptables-save -c failed (%s): %s; no counters" % (err.rc, err.output))
        return None


def read_int(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def docker_dns(pid):
    """True when the container's resolv.conf names Docker's embedded DNS server."""
    try:
        with open("/proc/%d/root/etc/resolv.conf" % int(pid)) as handle:
            text = handle.read()
    except (OSError, ValueError):
        return False
    return any(line.split()[:2] == ["nameserver", probe_lib.DOCKER_DNS] for line in text.splitlines())


def state_path(name):
    return os.path.join(RUN_DIR, name + ".json")


def log_path(name):
    return os.path.join(RUN_DIR, name + ".log")


# --- the probe -------------------------------------------------------------------------------------

def probe_info(module, api, container, p, owned):
    endpoint, names = attachment(container, p["network"])
    if endpoint is None:
        raise probe_lib.ProbeError("container %s is not attached to network %s (its networks: %s)"
                                   % (container["Name"].lstrip("/"), p["network"], ", ".join(names) or "none"))
    address = endpoint.get("IPAddress")
    if not address:
        raise probe_lib.ProbeError("container %s has no IPv4 address on network %s"
                                   % (container["Name"].lstrip("/"), p["network"]))
    pid = (container.get("State") or {}).get("Pid")
    driver = None
    try:
        driver = (api.network(endpoint.get("NetworkID") or p["network"]) or {}).get("Driver")
    except DockerApiError:
        pass
    with probe_lib.in_netns(pid):
        links = probe_lib.interfaces()
    link = next((i for i in links if i["address"] == address), None)
    return {"name": container["Name"].lstrip("/"), "id": container["Id"], "network": p["network"], "driver": driver,
            "address": address, "interface": link["name"] if link else None, "mtu": link["mtu"] if link else None,
            "pid": pid, "port": p["port"], "server_pid": None, "owned": owned}


def find_probe(module, api, p):
    """The probe container (inspect), or None."""
    name = p["container"] or p["name"]
    container = api.container(name)
    if container is None:
        return None
    if not p["container"] and not is_ours(container):
        raise cx.ConnectivityError("name: a container %s exists that this module did not create; choose another name "
                                   "(or use it with container: %s)" % (name, name))
    return container


def server_alive(state, pid, port):
    return bool(state and probe_lib.process_starttime(state.get("pid")) == state.get("starttime")
                and state.get("starttime") is not None and state.get("netns") == probe_lib.netns_inode(pid)
                and state.get("port") == port)


def state_files(keep):
    """{probe name: [its files in RUN_DIR]}, except those of probe `keep`."""
    found = {}
    try:
        entries = sorted(os.listdir(RUN_DIR))
    except OSError:
        return found
    for entry in entries:
        for suffix in (".json.tmp", ".json", ".log"):
            if entry.endswith(suffix) and len(entry) > len(suffix):
                probe = entry[:-len(suffix)]
                if probe != keep:
                    found.setdefault(probe, []).append(os.path.join(RUN_DIR, entry))
                break
    return found


def delete_rules(module, rules):
    """Remove our count rules (iptables -D); a rule that will not go is a warning, not a failure."""
    tables = Iptables.for_module(module)
    for rule in rules:
        try:
            tables.delete(rule["table"], rule["chain"], rule["tokens"])
        except IptablesError as err:
            module.warn("could not remove count rule -t %s -A %s %s: %s"
                        % (rule["table"], rule["chain"], rule["spec"], err.output))


DAEMON_JSON = "/etc/docker/daemon.json"


def daemon_pending(api):
    """Why this host's dockerd does not use its daemon.json yet ([] when it does or cannot be told)."""
    api = docker_api.wrap(api)
    pid, _exe = running_dockerd()
    try:
        bridge = api.network("bridge")
        info = api.info()
        version = api.engine_version()
    except DockerApiError:
        bridge = info = version = None
    try:
        return daemon_state.pending(DAEMON_JSON, [], pid, bridge, info, version, lambda: None)
    except daemon_state.UnreadableConfig as exc:
        return [exc.problem]


def prune(module, api, p):
    """Remove what earlier probes left on this host (a killed run, say), except this task's probe.

    Proof before a process is signalled: its state file's pid, start time and network namespace all
    match, or it has the server's process name and runs in the network namespace of a probe
    container (the module's label) that is being removed. Returns (what was removed or would be,
    the earlier probes' names).
    """
    keep = p["container"] or p["name"]
    containers = []
    for summary in api.containers(all=True, filters={"label": cx.LABEL}):
        names = [n.lstrip("/") for n in summary.get("Names") or []]
        if keep in names:
            continue
        containers.append((names[0] if names else summary["Id"][:12], summary["Id"]))
    container_netns = {}
    for cname, cid in containers:
        pid = ((api.container(cid) or {}).get("State") or {}).get("Pid")
        inode = probe_lib.netns_inode(pid) if pid else None
        if inode is not None:
            container_netns[inode] = cname
    files = state_files(keep)
    servers = {}
    for probe, paths in files.items():
        state = probe_lib.read_state(os.path.join(RUN_DIR, probe + ".json")) or {}
        pid, starttime = state.get("pid"), state.get("starttime")
        if starttime is not None and probe_lib.process_starttime(pid) == starttime \
                and state.get("netns") is not None and probe_lib.netns_inode(pid) == state.get("netns"):
            servers[pid] = (starttime, probe)
    for pid, starttime, inode in probe_lib.find_servers(set(container_netns)):
        if pid not in servers:
            servers[pid] = (starttime, container_netns[inode])
    rules = []
    parsed = iptables_save(module)
    if parsed is not None:
        rules = [rule for rule in cx.our_rules(parsed) if rule["probe"] != keep]
    removed = ["probe server (pid %s) of %s" % (pid, servers[pid][1]) for pid in sorted(servers)]
    per_probe = {}
    for rule in rules:
        per_probe[rule["probe"]] = per_probe.get(rule["probe"], 0) + 1
    removed += ["%d count rules of %s" % (count, probe) for probe, count in sorted(per_probe.items())]
    removed += ["probe container %s" % cname for cname, _cid in containers]
    removed += ["state files of %s" % probe for probe in sorted(files)]
    earlier = sorted(set([cname for cname, _cid in containers]) | set(files) | set(per_probe)
                     | set(probe for _start, probe in servers.values()))
    if not module.check_mode:
        for pid, (starttime, _probe) in servers.items():
            probe_lib.stop_server(pid, starttime)
        delete_rules(module, rules)
        for cname, cid in containers:
            container = api.container(cid) or {}
            leaks = [net for net in ((container.get("NetworkSettings") or {}).get("Networks") or {})
                     if kv_teardown(api, container, net)]
            api.remove_container(cid)
            for net in leaks:
                module.warn(cx.KV_SANDBOX_LEAK % ("probe " + cname, net))
        for paths in files.values():
            for path in paths:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    return removed, earlier


def started(module, api, p, peers):
    actions = []
    name = p["container"] or p["name"]
    container = find_probe(module, api, p)
    if p["container"]:
        if container is None:
            raise cx.ConnectivityError("container: %s does not exist on this host" % name)
        if not (container.get("State") or {}).get("Running"):
            raise cx.ConnectivityError("container: %s is not running" % name)
    # What earlier probes left, once this task's own probe is known to be usable (or ours to replace).
    pruned, earlier = prune(module, api, p) if p["prune"] else ([], [])
    actions += ["remove %s" % item for item in pruned]
    extra = {"pruned": pruned} if p["prune"] else {}
    earlier_diff = ({"before": {"earlier_probes": earlier}, "after": {"earlier_probes": []}} if p["prune"]
                    else {"before": {}, "after": {}})
    if container is not None and not p["container"]:
        endpoint, _names = attachment(container, p["network"])
        running = (container.get("State") or {}).get("Running")
        if not running or endpoint is None or (container.get("Config") or {}).get("Image") != p["image"]:
            actions.append("remove the stale probe container %s" % name)
            if not module.check_mode:
                api.remove_container(name)
            container = None
    before = {"container": "absent" if container is None else "running"}
    if container is None and not p["container"]:
        actions.append("start probe container %s (%s) on %s" % (name, p["image"], p["network"]))
        if module.check_mode:
            return dict(extra, changed=True, actions=actions,
                        probe={"name": name, "id": None, "network": p["network"], "driver": None, "address": None,
                               "interface": None, "mtu": None, "pid": None, "port": p["port"], "server_pid": None,
                               "owned": True},
                        diff={"before": dict(before, server="stopped", count_rules=0, **earlier_diff["before"]),
                              "after": dict(before, container="running", server="running",
                                            count_rules=len(cx.count_rules(name, "0.0.0.0",
                                                                           [x["address"] for x in peers])),
                                            **earlier_diff["after"])})
        if ensure_image(api, p["image"]):
            actions.append("pull %s" % p["image"])
        container = create_probe(api, p)
    info = probe_info(module, api, container, p, not p["container"])

    # The server.
    state = probe_lib.read_state(state_path(name))
    server_before = "running" if server_alive(state, info["pid"], p["port"]) else "stopped"
    if server_before == "running":
        info["server_pid"] = state["pid"]
    else:
        actions.append("start the probe server on TCP port %s in %s's namespace" % (p["port"], name))
        if not module.check_mode:
            if state:
                probe_lib.stop_server(state.get("pid"), state.get("starttime"))
            try:
                os.makedirs(RUN_DIR, 0o700)
            except OSError:
                pass
            try:
                os.unlink(log_path(name))
            except OSError:
                pass
            try:
                server_pid, starttime = probe_lib.start_server(info["pid"], p["port"], p["lifetime"], log_path(name))
            except probe_lib.ProbeError as exc:
                raise probe_lib.ProbeError("port: %s (container %s); choose another port" % (exc, name))
            probe_lib.write_state(state_path(name), {"pid": server_pid, "starttime": starttime, "port": p["port"],
                                                     "netns": probe_lib.netns_inode(info["pid"]),
                                                     "container": info["id"], "address": info["address"]})
            info["server_pid"] = server_pid

    # The count rules.
    rules_before = rules_after = 0
    if peers and p["evidence"] and info["driver"] == "bridge":
        tables = Iptables.for_module(module)
        parsed = iptables_save(module) if tables.available("iptables") else None
        if parsed is None:
            module.warn("evidence: no iptables/iptables-save on this host; the diagnosis relies on the sender's view")
        else:
            wanted = cx.count_rules(name, info["address"], [peer["address"] for peer in peers
                                                            if peer["address"] != info["address"]])
            missing = cx.missing_rules(parsed, wanted)
            rules_before = len(wanted) - len(missing)
            rules_after = len(wanted)
            if missing:
                actions.append("add %d count rules (%d peers)" % (len(missing), len(peers)))
            if not module.check_mode:
                for rule in missing:
                    tables.insert(rule["table"], rule["chain"], rule["args"])
    return dict(extra, changed=bool(actions), actions=actions, probe=info,
                diff={"before": dict(before, server=server_before, count_rules=rules_before, **earlier_diff["before"]),
                      "after": dict(before, container="running", server="running", count_rules=rules_after,
                                    **earlier_diff["after"])})


def test_peer(pid, peer, own, p, ping, expected, dns_ok):
    """All tests of one peer, from the probe's network namespace (runs in a worker thread)."""
    timeout = p["timeout"]
    cell = {"host": peer["host"], "address": peer["address"], "name": peer["name"], "port": peer["port"],
            "source": own, "dns": None}
    with probe_lib.in_netns(pid):
        cell["icmp"] = cx.parse_ping(*probe_lib.run_ping(cx.ping_args(ping, peer["address"], timeout), timeout))
        cell["tcp"] = probe_lib.tcp_probe(peer["address"], peer["port"], timeout)
        mtu = {"expected": expected, "ok": None, "path_mtu": None, "exact": None, "above": None, "detail": None}
        if expected and (cell["icmp"]["ok"] or cell["tcp"]["ok"]):
            df = cx.parse_ping(*probe_lib.run_ping(cx.ping_args(ping, peer["address"], timeout, count=2,
                                                                size=expected - 28, dont_fragment=True), timeout))
            mtu["ok"] = df["ok"]
            if df["ok"]:
                mtu["path_mtu"], mtu["exact"] = expected, True
                above = cx.parse_ping(*probe_lib.run_ping(cx.ping_args(ping, peer["address"], 1, count=1,
                                                                       size=expected - 27, dont_fragment=True), 1))
                mtu["above"] = above["ok"]
            else:
                mtu["detail"] = cx.ping_text(df)
                if df["mtu"] and df["mtu"] < expected:
                    mtu["path_mtu"], mtu["exact"] = df["mtu"], True
                elif cell["icmp"]["ok"]:
                    def passes(size):
                        return cx.parse_ping(*probe_lib.run_ping(cx.ping_args(ping, peer["address"], 1, count=1,
                                                                              size=size - 28, dont_fragment=True),
                                                                 1))["ok"]
                    mtu["path_mtu"], mtu["exact"] = cx.find_mtu(passes, 84, expected)
        cell["mtu"] = mtu
        if p["by_name"] and peer["name"]:
            if not dns_ok:
                cell["dns"] = {"ok": False, "addresses": [],
                               "error": "no Docker DNS server (%s) in the probe container: container names resolve "
                                        "only on user-defined networks" % probe_lib.DOCKER_DNS}
            else:
                # A new container's name reaches the other hosts of an overlay network by gossip, a moment
                # after it starts: ask again for up to NAME_SETTLE seconds before calling it broken.
                settle = time.monotonic() + NAME_SETTLE
                while True:
                    dns = probe_lib.dns_query(probe_lib.DOCKER_DNS, peer["name"], timeout)
                    if dns["ok"] or time.monotonic() >= settle:
                        break
                    time.sleep(0.5)
                if dns["ok"] and peer["address"] not in dns["addresses"]:
                    dns = dict(dns, ok=False, error="%s resolves to %s, not to the probe's address %s"
                               % (peer["name"], ", ".join(dns["addresses"]), peer["address"]))
                cell["dns"] = dns
    return cell


def check_ping(tools):
    ping, rc, said = tools.version("ping")
    if not ping:
        raise probe_lib.ProbeError("state=tested needs iputils ping (package iputils-ping on Debian/Ubuntu, iputils on RHEL)")
    if rc != 0 or "iputils" not in said:
        raise probe_lib.ProbeError("%s is not iputils ping (%s): don't-fragment pings need iputils (package "
                                   "iputils-ping on Debian/Ubuntu, iputils on RHEL)"
                                   % (ping, said.strip().splitlines()[0:1]))
    return ping


def tested(module, api, p, peers):
    if not peers:
        raise cx.ConnectivityError("peers: state=tested needs the peers to probe ([{host, address}, ...])")
    name = p["container"] or p["name"]
    container = find_probe(module, api, p)
    if container is None or not (container.get("State") or {}).get("Running"):
        raise probe_lib.ProbeError("no running probe %s on this host: run state=started first" % name)
    info = probe_info(module, api, container, p, not p["container"])
    state = probe_lib.read_state(state_path(name))
    if server_alive(state, info["pid"], p["port"]):
        info["server_pid"] = state["pid"]
    tools = HostTools.for_module(module)
    ping = check_ping(tools)
    expected = p["mtu"] or info["mtu"]
    routes = {}
    if tools.path("ip") and info["driver"] == "bridge":
        for peer in peers:
            routes[peer["host"]] = cx.route_text(tools.route_get(peer["address"]))
    dns_ok = docker_dns(info["pid"]) if p["by_name"] else False
    results = {}
    # A peer with this probe's own address cannot be told apart from this probe: not probed.
    for peer in peers:
        if peer["address"] == info["address"]:
            results[peer["host"]] = {"host": peer["host"], "address": peer["address"], "name": peer["name"],
                                     "port": peer["port"], "source": info["address"], "conflict": True, "icmp": None,
                                     "tcp": None, "mtu": None, "dns": None}
    probed = [peer for peer in peers if peer["host"] not in results]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(probed)))) as pool:
        futures = dict((pool.submit(test_peer, info["pid"], peer, info["address"], p, ping, expected, dns_ok),
                        peer["host"]) for peer in probed)
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
    broken = []
    for peer in peers:
        cell = results[peer["host"]]
        cell["route"] = routes.get(peer["host"])
        verdict = cx.judge(cell, "this host", peer["host"], expect_source=p["expect_source"], by_name=p["by_name"],
                           driver=info["driver"])
        cell.update(verdict)
        if verdict["status"] != "ok":
            broken.append("%s: %s" % (peer["host"], verdict["cause"]))
    return {"changed": False, "probe": info, "row": results, "broken": broken}


def kv_teardown(api, container, network):
    """Whether removing `container` tears down a legacy overlay's sandbox on Docker < 23.0 (cx.kv_sandbox_teardown)."""
    endpoint, _names = attachment(container, network)
    try:
        inspected = api.network((endpoint or {}).get("NetworkID") or network)
        if inspected is None or not cx.kv_sandbox_teardown(inspected, container.get("Id"), None):
            return False  # not a legacy overlay, or another local container holds its sandbox
        version = api.engine_version()
    except DockerApiError:
        return False
    return cx.kv_sandbox_teardown(inspected, container.get("Id"), version)


def absent(module, api, p, peers):
    name = p["container"] or p["name"]
    removed = []
    container = find_probe(module, api, p)
    state = probe_lib.read_state(state_path(name))
    address = None
    if container is not None:
        endpoint, _names = attachment(container, p["network"])
        address = (endpoint or {}).get("IPAddress")
    if not address and state:
        address = state.get("address")
    parsed = iptables_save(module)
    evidence = {"address": address, "counters": {}, "total": None, "raw_drop": {"rules": 0, "packets": 0}, "forward_policy": None,
                "ip_forward": read_int("/proc/sys/net/ipv4/ip_forward"), "seen": probe_lib.read_seen(log_path(name)),
                "daemon_pending": daemon_pending(api)}
    ours = []
    if parsed is not None:
        evidence["counters"] = cx.counters(parsed, name, address)
        evidence["total"] = cx.total_arrived(parsed, name, address)
        if address:
            evidence["raw_drop"] = cx.raw_drops(parsed, address)
        evidence["forward_policy"] = cx.forward_policy(parsed)
        ours = cx.our_rules(parsed, name)
    server = bool(state) and probe_lib.process_starttime(state.get("pid")) == state.get("starttime") \
        and state.get("starttime") is not None
    if server:
        removed.append("probe server (pid %s)" % state["pid"])
    if ours:
        removed.append("%d count rules" % len(ours))
    own_container = container is not None and not p["container"]
    if own_container:
        removed.append("probe container %s" % name)
    diff = {"before": {"container": "running" if own_container else "absent",
                       "server": "running" if server else "stopped", "count_rules": len(ours)},
            "after": {"container": "absent", "server": "stopped", "count_rules": 0}}
    if not module.check_mode:
        if state:
            probe_lib.stop_server(state.get("pid"), state.get("starttime"))
        delete_rules(module, ours)
        if own_container:
            teardown = kv_teardown(api, container, p["network"])
            api.remove_container(name)
            if teardown:
                module.warn(cx.KV_SANDBOX_LEAK % ("probe " + name, p["network"]))
        for path in (state_path(name), log_path(name)):
            try:
                os.unlink(path)
            except OSError:
                pass
    return {"changed": bool(removed), "removed": removed, "evidence": evidence, "diff": diff}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["started", "tested", "absent"], default="started"),
            network=dict(type="str", default="bridge"),
            name=dict(type="str", default="crosshost-probe"),
            container=dict(type="str"),
            image=dict(type="str", default="busybox:latest"),
            port=dict(type="int", default=5000),
            lifetime=dict(type="int", default=3600),
            peers=dict(type="list", elements="dict", default=[], options=dict(
                host=dict(type="str", required=True),
                address=dict(type="str", required=True),
                name=dict(type="str"),
                port=dict(type="int"),
            )),
            mtu=dict(type="int"),
            expect_source=dict(type="str", choices=list(cx.EXPECT_SOURCE), default="container"),
            by_name=dict(type="bool", default=False),
            timeout=dict(type="int", default=2),
            evidence=dict(type="bool", default=True),
            prune=dict(type="bool", default=False),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock", fallback=(env_fallback, ["DOCKER_HOST"])),
        ),
        supports_check_mode=True,
    )
    p = module.params
    api = None
    try:
        cx.check_name(p["name"], "name")
        if p["container"] is not None:
            cx.check_name(p["container"], "container")
        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", p["network"] or ""):
            raise cx.ConnectivityError("network: %r is not a Docker network name" % p["network"])
        for field, low, high in (("port", 1, 65535), ("lifetime", 10, 7 * 86400), ("timeout", 1, 60),
                                 ("mtu", 68, 65535)):
            if p[field] is not None and not low <= p[field] <= high:
                raise cx.ConnectivityError("%s: %s is out of range (%d-%d)" % (field, p[field], low, high))
        peers = cx.normalize_peers(p["peers"], p["port"])
        if p["prune"] and p["state"] != "started":
            raise cx.ConnectivityError("prune: only with state=started (state=absent removes a probe by its name)")
        if not HAS_DOCKER:
            module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
        api = docker_api.wrap(connect(module), p["docker_host"])
        if p["state"] == "started":
            result = started(module, api, p, peers)
        elif p["state"] == "tested":
            result = tested(module, api, p, peers)
        else:
            result = absent(module, api, p, peers)
    except CrosshostError as err:
        fail(module, err)
    finally:
        if api is not None:
            api.close()
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
