#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_host_info
short_description: Read-only facts about a Docker host's networking
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Gathers, without changing anything, what matters when wiring containers of several Docker hosts
    together. That is the engine, C(/etc/docker/daemon.json), the default bridge, Docker networks, the
    iptables rules Docker manages (FORWARD policy, C(DOCKER-USER)), forwarding sysctls, interfaces,
    routes, and for every running container the host-side device each of its interfaces is plugged
    into (veth peer or macvlan/ipvlan parent).
  - Everything is returned under the single key RV(host_info). Only the parts listed in O(gather) are
    collected and returned.
  - An invalid C(daemon.json) is not an error for this module. The problem (with line and column) is
    reported in RV(host_info.daemon_json.error) and the other facts are still gathered.
  - A missing C(iptables) is not an error either. RV(host_info.firewall.backend) is then V(null) and
    RV(host_info.firewall.error) says why.
  - The module fails, with a distinct message for each case, when the Docker SDK for Python is
    missing, when Docker is not installed, when Docker is installed but its daemon is not running,
    and when the daemon cannot be reached. This only happens if O(gather) contains V(engine),
    V(networks) or V(containers), the parts that need the Docker API.
options:
  timeout:
    description:
      - Timeout in seconds for each Docker API call.
    type: int
    default: 10
  daemon_json_path:
    description:
      - Path of the Docker daemon configuration file.
      - It is read for V(daemon_json) and, with V(networks), for the C(bip) of the default bridge.
    type: path
    default: /etc/docker/daemon.json
  gather:
    description:
      - Which parts of RV(host_info) to collect.
      - V(engine), V(networks) and V(containers) use the Docker API.
      - V(networks) also returns RV(host_info.default_bridge).
      - V(firewall) runs C(iptables --version) and C(iptables-save).
      - V(interfaces) and V(routes) run C(ip -details -json).
      - V(sysctl) reads C(/proc/sys).
      - V(containers) reads C(/proc/<pid>/root/sys/class/net) of each running container and C(ip -details -json address show).
    type: list
    elements: str
    choices: [engine, daemon_json, networks, firewall, sysctl, interfaces, routes, containers]
    default: [engine, daemon_json, networks, firewall, sysctl, interfaces, routes, containers]
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.attributes.info_module
  - crosshost.docker.docker_host
requirements:
  - docker (Docker SDK for Python) >= 7.0, for O(gather=engine), O(gather=networks) and O(gather=containers) only
  - C(ip) from iproute2 with JSON output (C(ip -json)), for O(gather=interfaces), O(gather=routes) and O(gather=containers)
  - C(iptables) and C(iptables-save), for O(gather=firewall)
notes:
  - Run it as root (C(become=true)) for complete facts. Only root can run C(iptables-save) and read another
    process's C(/proc/<pid>/root). Without root, the firewall facts and the container interfaces of the
    affected containers report an error instead.
  - Interfaces and routes are read with iproute2's JSON output rather than pyroute2. This way the
    module only needs the Docker SDK on the managed host.
  - The Docker API version is negotiated with the daemon (C(version=auto)), for example 1.41 with dockerd 20.10.
    The module never asks for an API version newer than the daemon speaks.
  - A container interface's host side is found without entering the container's namespace. The
    module reads C(iflink) (the peer or parent ifindex) in the container's sysfs. For a veth it
    matches C(iflink) against the host's interfaces in both directions (host ifindex == container
    C(iflink) and the host veth's peer == container ifindex). A bare ifindex match is not enough,
    because ifindexes are per namespace. This does the same job as C(ethtool -S eth0) C(peer_ifindex).
  - Containers using C(--network host) share the host's interfaces and are listed with an empty
    RV(host_info.containers[].interfaces).
seealso:
  - module: community.docker.docker_host_info
    description: General Docker host information (images, volumes, disk usage...).
"""

EXAMPLES = r"""
- name: Gather everything
  crosshost.docker.docker_host_info:
  become: true
  register: dh

- name: Show the default bridge and the FORWARD policy
  ansible.builtin.debug:
    msg: >-
      {{ dh.host_info.default_bridge.name }} {{ dh.host_info.default_bridge.subnet }},
      FORWARD policy {{ dh.host_info.firewall.forward_policy }}

- name: Fail early on a broken daemon.json
  ansible.builtin.assert:
    that: dh.host_info.daemon_json.error is none
    fail_msg: "{{ dh.host_info.daemon_json.error }}"

- name: Only the firewall and sysctls (no Docker API, no Docker SDK needed)
  crosshost.docker.docker_host_info:
    gather: [firewall, sysctl]
  become: true
  register: fw

- name: Check that our DOCKER-USER rule is there
  ansible.builtin.assert:
    that:
      - fw.host_info.firewall.docker_user_chain
      - "'-s 10.1.0.0/24 -d 10.0.0.0/24 -j ACCEPT' in fw.host_info.firewall.chains.filter['DOCKER-USER'].rules"

- name: Host-side veth of each container interface
  crosshost.docker.docker_host_info:
    gather: [containers]
  become: true
  register: ct

- name: Print container eth0 -> host veth
  ansible.builtin.debug:
    msg: "{{ item.0.name }} {{ item.1.name }} -> {{ item.1.host_interface }} ({{ item.1.host_kind }})"
  loop: "{{ ct.host_info.containers | subelements('interfaces') }}"
  loop_control:
    label: "{{ item.0.name }}/{{ item.1.name }}"

- name: Query a daemon on another socket
  crosshost.docker.docker_host_info:
    docker_host: unix:///run/docker-h2.sock
    gather: [engine, networks]
"""

RETURN = r"""
host_info:
  description: Facts about the Docker host. Only the keys of the gathered parts (O(gather)) are present.
  returned: always
  type: dict
  contains:
    engine:
      description: The Docker engine, from C(GET /version) and C(GET /info).
      returned: when O(gather) contains V(engine)
      type: dict
      contains:
        version:
          description: Engine version.
          type: str
          returned: success
          sample: 20.10.24+dfsg1
        api_version:
          description: Highest API version the daemon supports.
          type: str
          returned: success
          sample: "1.41"
        min_api_version:
          description: Lowest API version the daemon supports.
          type: str
          returned: success
          sample: "1.12"
        os:
          description: Operating system type of the daemon.
          type: str
          returned: success
          sample: linux
        operating_system:
          description: Operating system name of the host as Docker reports it.
          type: str
          returned: success
          sample: Debian GNU/Linux 12 (bookworm)
        arch:
          description: CPU architecture.
          type: str
          returned: success
          sample: amd64
        kernel_version:
          description: Kernel version.
          type: str
          returned: success
          sample: 6.1.0-13-amd64
        id:
          description: Engine ID. Hosts cloned with the same C(/etc/docker/key.json) share it.
          type: str
          returned: success
          sample: 7TRN:IPZB:QYBB:VPBQ:UWYC:6UVN:YDIA:3Y4C:NBW2:JAKN:3RXW:7ZGE
        name:
          description: Host name as the engine reports it.
          type: str
          returned: success
          sample: h1
        cgroup_driver:
          description: Cgroup driver.
          type: str
          returned: success
          sample: cgroupfs
        storage_driver:
          description: Storage driver.
          type: str
          returned: success
          sample: overlay2
        swarm_state:
          description: Local swarm node state (V(inactive), V(pending), V(active), V(error), V(locked)).
          type: str
          returned: success
          sample: inactive
        firewall_backend:
          description:
            - The firewall backend the running dockerd reports (C(FirewallBackend.Driver) in C(GET /info)),
              V(iptables) or V(nftables) (Docker 29, experimental). Null when the engine does not report it
              (engines before 28) or reports a backend we do not know.
            - M(crosshost.docker.forward_rules) refuses V(nftables).
          type: str
          returned: success
          sample: iptables
    daemon_json:
      description: The daemon configuration file.
      returned: when O(gather) contains V(daemon_json)
      type: dict
      contains:
        path:
          description: Path that was read (O(daemon_json_path)).
          type: str
          returned: success
          sample: /etc/docker/daemon.json
        exists:
          description: Whether the file exists.
          type: bool
          returned: success
          sample: true
        content:
          description:
            - Parsed content, V(null) when the file is missing or invalid.
            - V({}) for an empty file. dockerd 23.0 and later accept an empty file, dockerd 20.10 does not start with it;
              the module then returns a warning.
          type: dict
          returned: success
          sample: {"bip": "10.0.0.1/24"}
        error:
          description:
            - Why the file could not be used, with line and column for invalid JSON and a hint
              (for example that comments are not allowed in daemon.json). V(null) when it is fine or absent.
            - dockerd refuses to start with such a file.
          type: str
          returned: success
          sample: >-
            /etc/docker/daemon.json is not valid JSON: Expecting value at line 1, column 1
            (hint: comments are not allowed in daemon.json: delete the lines starting with '#')
    default_bridge:
      description: The default bridge network (C(docker0)).
      returned: when O(gather) contains V(networks)
      type: dict
      contains:
        name:
          description:
            - Linux bridge device name.
            - 'V(null) when the daemon runs without a default bridge (C("bridge": "none") in daemon.json).'
          type: str
          returned: success
          sample: docker0
        bip:
          description: The C(bip) setting of daemon.json, V(null) when not set.
          type: str
          returned: success
          sample: 10.0.0.1/24
        subnet:
          description: Subnet the daemon applied to the C(bridge) network.
          type: str
          returned: success
          sample: 10.0.0.0/24
        gateway:
          description:
            - Gateway (bridge address) the daemon applied to the C(bridge) network.
            - dockerd 20.10 often leaves it out of the network's IPAM configuration. It is then the address of
              the bridge device in the subnet (from C(bip), or from C(ip address)), V(null) if neither is known.
          type: str
          returned: success
          sample: 10.0.0.1
    networks:
      description: Docker networks, sorted by name.
      returned: when O(gather) contains V(networks)
      type: list
      elements: dict
      contains:
        name:
          description: Network name.
          type: str
          returned: success
          sample: mac_net1
        id:
          description: Network ID.
          type: str
          returned: success
          sample: 9c1f5e0b1f5d4bb0c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0
        driver:
          description: Network driver (V(bridge), V(macvlan), V(ipvlan), V(overlay), V(host), V(null), ...).
          type: str
          returned: success
          sample: macvlan
        scope:
          description: V(local), V(global) (legacy cluster-store overlay) or V(swarm).
          type: str
          returned: success
          sample: local
        internal:
          description: Whether the network is internal (no outside connectivity).
          type: bool
          returned: success
          sample: false
        attachable:
          description: Whether standalone containers may attach (swarm networks).
          type: bool
          returned: success
          sample: false
        subnets:
          description: IPAM configuration.
          type: list
          elements: dict
          returned: success
          contains:
            subnet:
              description: Subnet in CIDR notation.
              type: str
              returned: success
              sample: 172.21.0.0/24
            gateway:
              description: Gateway address, V(null) if none.
              type: str
              returned: success
              sample: 172.21.0.1
            ip_range:
              description: Sub-range containers get addresses from, V(null) if not set.
              type: str
              returned: success
              sample: 172.21.0.128/25
            aux_addresses:
              description: Reserved auxiliary addresses (name to address).
              type: dict
              returned: success
              sample: {"shim": "172.21.0.254"}
        parent:
          description: Parent interface (C(-o parent=)) of a macvlan or ipvlan network, else V(null).
          type: str
          returned: success
          sample: eth1
        options:
          description: Driver options.
          type: dict
          returned: success
          sample: {"parent": "eth1"}
    firewall:
      description: The iptables (IPv4) state.
      returned: when O(gather) contains V(firewall)
      type: dict
      contains:
        backend:
          description: V(nf_tables) or V(legacy) from C(iptables --version); V(null) when iptables is not installed.
          type: str
          returned: success
          sample: nf_tables
        version:
          description: iptables version.
          type: str
          returned: success
          sample: 1.8.9
        forward_policy:
          description: Policy of the filter table's FORWARD chain (V(ACCEPT) also when no filter table is loaded).
          type: str
          returned: success
          sample: DROP
        docker_user_chain:
          description: Whether the filter table has a C(DOCKER-USER) chain.
          type: bool
          returned: success
          sample: true
        chains:
          description:
            - Maps table name to chain name to V({policy, rules}).
            - C(policy) is the policy of a built-in chain (for example C(filter)/C(FORWARD)), V(null) for user-defined chains.
            - C(rules) are in order, as C(iptables-save) prints them, without the leading C(-A CHAIN) (and without counters).
          type: dict
          returned: success
          sample: {"filter": {"FORWARD": {"policy": "DROP", "rules": ["-j DOCKER-USER", "-j DOCKER-FORWARD"]},
                              "DOCKER-USER": {"policy": null, "rules": []}}}
        warnings:
          description: Warning comments printed by iptables-save (for example legacy tables next to nf_tables ones).
          type: list
          elements: str
          returned: success
          sample: ["Warning: iptables-legacy tables present, use iptables-legacy-save to see them"]
        error:
          description: Why firewall facts are missing or partial (iptables not installed, iptables-save failed, not root...), else V(null).
          type: str
          returned: success
          sample: null
    sysctl:
      description: IPv4 forwarding settings.
      returned: when O(gather) contains V(sysctl)
      type: dict
      contains:
        ip_forward:
          description: C(net.ipv4.ip_forward).
          type: int
          returned: success
          sample: 1
        forwarding:
          description: C(net.ipv4.conf.<name>.forwarding) for V(all), V(default) and each interface.
          type: dict
          returned: success
          sample: {"all": 1, "default": 1, "eth0": 1, "docker0": 1}
        bridge_nf_call_iptables:
          description: C(net.bridge.bridge-nf-call-iptables), V(null) when br_netfilter is not loaded.
          type: int
          returned: success
          sample: 1
    interfaces:
      description:
        - Network interfaces of the host namespace, from C(ip -details -json address show).
        - V(null) when C(ip) could not be run; a warning says why.
      returned: when O(gather) contains V(interfaces)
      type: list
      elements: dict
      contains:
        name:
          description: Interface name.
          type: str
          returned: success
          sample: veth4d5e6f7
        ifindex:
          description: Interface index.
          type: int
          returned: success
          sample: 8
        kind:
          description: Link kind (V(veth), V(bridge), V(macvlan), V(vxlan), ...), V(loopback) for lo, V(null) for hardware NICs.
          type: str
          returned: success
          sample: veth
        mtu:
          description: MTU.
          type: int
          returned: success
          sample: 1500
        state:
          description: Operational state (V(UP), V(DOWN), V(UNKNOWN), V(LOWERLAYERDOWN), ...).
          type: str
          returned: success
          sample: UP
        mac:
          description: MAC address, V(null) for links without one.
          type: str
          returned: success
          sample: 12:ab:bc:3e:8b:c2
        addresses:
          description: IPv4 and IPv6 addresses in CIDR notation.
          type: list
          elements: str
          returned: success
          sample: ["172.17.0.1/16", "fe80::54f6:d2ff:fefa:99b3/64"]
        link_ifindex:
          description: Peer of a veth or parent of a macvlan/vlan (ifindex in the namespace RV(host_info.interfaces[].link_netnsid)), else V(null).
          type: int
          returned: success
          sample: 7
        link_netnsid:
          description: Namespace id of the peer when it is in another namespace (for example a container's), else V(null).
          type: int
          returned: success
          sample: 1
        master:
          description: Bridge (or bond) the interface is enslaved to.
          type: str
          returned: success
          sample: docker0
        flags:
          description: Interface flags.
          type: list
          elements: str
          returned: success
          sample: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
        promiscuity:
          description: Promiscuity counter (macvlan parents are promiscuous).
          type: int
          returned: success
          sample: 1
    routes:
      description:
        - IPv4 and IPv6 routes of every routing table except C(local), from C(ip -details -json route show table all).
        - V(null) when C(ip) could not be run; a warning says why.
      returned: when O(gather) contains V(routes)
      type: list
      elements: dict
      contains:
        dst:
          description: Destination in CIDR notation, or V(default).
          type: str
          returned: success
          sample: 10.1.0.0/24
        gateway:
          description: Next hop, V(null) for on-link routes.
          type: str
          returned: success
          sample: 192.168.1.12
        dev:
          description: Output interface.
          type: str
          returned: success
          sample: eth0
        proto:
          description: Routing protocol (V(kernel), V(boot), V(static), V(dhcp), ...).
          type: str
          returned: success
          sample: boot
        scope:
          description: Route scope (V(global), V(link), V(host)).
          type: str
          returned: success
          sample: global
        table:
          description: Routing table name or number.
          type: str
          returned: success
          sample: main
        type:
          description: Route type (V(unicast), V(blackhole), V(unreachable), ...).
          type: str
          returned: success
          sample: unicast
        metric:
          description: Route metric, V(null) when not set.
          type: int
          returned: success
          sample: 256
        prefsrc:
          description: Preferred source address, V(null) when not set.
          type: str
          returned: success
          sample: 192.168.1.11
        family:
          description: V(inet) or V(inet6).
          type: str
          returned: success
          sample: inet
        nexthops:
          description: Next hops of a multipath route (each with V(gateway), V(dev), V(weight)).
          type: list
          elements: dict
          returned: for multipath routes
          sample: [{"gateway": "192.168.1.12", "dev": "eth0", "weight": 1}]
    containers:
      description: Running containers, sorted by name, with the host-side device of each interface.
      returned: when O(gather) contains V(containers)
      type: list
      elements: dict
      contains:
        name:
          description: Container name.
          type: str
          returned: success
          sample: test1
        id:
          description: Container ID.
          type: str
          returned: success
          sample: 0c577544fdd2a7c1d6e0b1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6
        pid:
          description: PID of the container's main process (in the host's PID namespace).
          type: int
          returned: success
          sample: 4242
        network_mode:
          description: C(HostConfig.NetworkMode) (V(default)/V(bridge), V(host), V(none), C(container:<id>), a network name).
          type: str
          returned: success
          sample: default
        error:
          description: Why the interfaces could not be read (for example not root), else V(null).
          type: str
          returned: success
          sample: null
        interfaces:
          description: The container's interfaces except lo.
          type: list
          elements: dict
          returned: success
          contains:
            name:
              description: Interface name inside the container.
              type: str
              returned: success
              sample: eth0
            ifindex:
              description: Its ifindex inside the container.
              type: int
              returned: success
              sample: 7
            address:
              description: MAC address.
              type: str
              returned: success
              sample: 02:42:ac:11:00:02
            mtu:
              description: MTU.
              type: int
              returned: success
              sample: 1500
            state:
              description: Operational state as in sysfs (V(up), V(down), V(lowerlayerdown), ...).
              type: str
              returned: success
              sample: up
            peer_ifindex:
              description: C(iflink), the ifindex of the veth peer or of the macvlan/ipvlan parent, in the namespace where that device lives.
              type: int
              returned: success
              sample: 8
            network:
              description: Docker network of this interface (matched by MAC address or macvlan/ipvlan parent), V(null) if unknown.
              type: str
              returned: success
              sample: bridge
            driver:
              description: Driver of that network.
              type: str
              returned: success
              sample: bridge
            ip_address:
              description: IPv4 address with prefix length Docker assigned on that network.
              type: str
              returned: success
              sample: 172.17.0.2/16
            host_interface:
              description: The host-namespace device this interface is attached to, V(null) when it is not in the host namespace.
              type: str
              returned: success
              sample: veth4d5e6f7
            host_kind:
              description:
                - V(veth) when RV(host_info.containers[].interfaces[].host_interface) is the host end of the container's veth pair.
                - V(macvlan-parent) or V(ipvlan-parent) when it is the parent device of the container's macvlan/ipvlan interface.
                - V(null) when not found (see RV(host_info.containers[].interfaces[].note)).
              type: str
              returned: success
              sample: veth
            host_master:
              description: Bridge the host veth is enslaved to (V(docker0), C(br-<id>), V(docker_gwbridge)).
              type: str
              returned: success
              sample: docker0
            note:
              description: Why no host device was found (for example an overlay network's peer lives in the overlay's own namespace), else V(null).
              type: str
              returned: success
              sample: null
"""

import errno
import os
import shutil

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import (
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    DockerApi,
    open_sdk,
)
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, IptablesError, fail
from ansible_collections.crosshost.docker.plugins.module_utils._firewall_backend import running_backend
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts import DaemonJsonError, HostFactsError, parse_daemon_json
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts_docker import (
    container_record,
    default_bridge,
    normalise_engine,
    normalise_network,
)
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts_ip import normalise_interfaces, normalise_routes, parse_ip_json
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts_sysfs import normalise_sysfs_link, parse_sysctl_int
from ansible_collections.crosshost.docker.plugins.module_utils._hosttools import HostTools, HostToolError
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import Iptables, IptablesSaveError


GATHER_CHOICES = ["engine", "daemon_json", "networks", "firewall", "sysctl", "interfaces", "routes", "containers"]
DOCKER_PARTS = frozenset(["engine", "networks", "containers"])

# Module-level so unit tests can point them at a fixture tree.
PROC_ROOT = "/proc"
DOCKERD_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin", "/snap/bin")
SYSFS_LINK_FILES = ("ifindex", "iflink", "address", "mtu", "operstate")


def find_dockerd():
    """Path of the dockerd binary, or None: PATH first, then the usual locations."""
    found = shutil.which("dockerd")
    if found:
        return found
    for directory in DOCKERD_DIRS:
        candidate = os.path.join(directory, "dockerd")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def connect(module):
    """dockerd's API through the collection's adapter (DockerApiError when it cannot be reached)."""
    docker_host = module.params["docker_host"]
    return DockerApi(open_sdk(docker_host, module.params["timeout"], find_dockerd), docker_host)


def read_daemon_json(path):
    """Returns (record, parsed content or None, warning or None)."""
    record = {"path": path, "exists": False, "content": None, "error": None}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return record, None, None
    except OSError as exc:
        record["exists"] = os.path.exists(path)
        record["error"] = "cannot read %s: %s" % (path, exc.strerror or exc)
        return record, None, None
    record["exists"] = True
    try:
        record["content"] = parse_daemon_json(data, path)
    except DaemonJsonError as exc:
        record["error"] = str(exc)
    warning = None
    if not data.strip():
        warning = ("%s is empty: dockerd 23.0 and later accept that, dockerd 20.10 refuses to start (EOF); "
                   "write {} instead" % path)
    return record, record["content"], warning


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def read_sysctl(proc_root):
    ipv4 = os.path.join(proc_root, "sys", "net", "ipv4")
    forwarding = {}
    conf = os.path.join(ipv4, "conf")
    try:
        names = sorted(os.listdir(conf))
    except OSError:
        names = []
    for name in names:
        value = parse_sysctl_int(_read_text(os.path.join(conf, name, "forwarding")))
        if value is not None:
            forwarding[name] = value
    return {
        "ip_forward": parse_sysctl_int(_read_text(os.path.join(ipv4, "ip_forward"))),
        "forwarding": forwarding,
        "bridge_nf_call_iptables": parse_sysctl_int(
            _read_text(os.path.join(proc_root, "sys", "net", "bridge", "bridge-nf-call-iptables"))
        ),
    }


def gather_firewall(module):
    result = {"backend": None, "version": None, "forward_policy": None, "docker_user_chain": None,
              "chains": {}, "warnings": [], "error": None}
    tables = Iptables.for_module(module)
    if not tables.available("iptables"):
        result["error"] = ("iptables is not installed (no iptables binary in PATH, /sbin, /usr/sbin or "
                           "/usr/local/sbin): firewall facts were not gathered")
        return result
    try:
        result.update(tables.version())
    except IptablesError:
        pass
    if not tables.available("iptables-save"):
        result["error"] = ("iptables-save is not installed next to %s: firewall rules were not gathered"
                           % tables.path("iptables"))
        return result
    try:
        parsed = tables.save()
    except IptablesSaveError as exc:
        result["error"] = str(exc)
        return result
    except IptablesError as exc:
        hint = " (iptables-save needs root: use become)" if os.geteuid() != 0 else ""
        result["error"] = "%s failed (rc=%d): %s%s" % (exc.command, exc.rc, exc.output, hint)
        return result
    result["forward_policy"] = parsed["forward_policy"]
    result["docker_user_chain"] = parsed["docker_user_exists"]
    result["chains"] = parsed["chains"]
    result["warnings"] = parsed["warnings"]
    if not result["backend"]:
        result["backend"] = parsed["backend"]
    return result


def run_ip(module, args):
    try:
        out = HostTools.for_module(module).ip(args)
    except HostToolError as exc:
        raise HostFactsError(str(exc))
    return parse_ip_json(out, " ".join(["ip"] + args))


def gather_interfaces(module):
    return normalise_interfaces(run_ip(module, ["-details", "-json", "address", "show"]))


def gather_routes(module):
    routes = []
    for flag, family in (("-4", "inet"), ("-6", "inet6")):
        routes.extend(normalise_routes(run_ip(module, ["-details", "-json", flag, "route", "show", "table", "all"]), family))
    return routes


def read_container_links(proc_root, pid):
    """The container's interfaces from its own sysfs (which reflects its network namespace)."""
    base = os.path.join(proc_root, str(pid), "root", "sys", "class", "net")
    links = []
    for name in sorted(os.listdir(base)):
        if not os.path.isdir(os.path.join(base, name)):  # e.g. bonding_masters
            continue
        files = {}
        for key in SYSFS_LINK_FILES:
            files[key] = _read_text(os.path.join(base, name, key))
        links.append(normalise_sysfs_link(name, files))
    return links


def gather_containers(api, networks, host_interfaces, proc_root):
    records = []
    for summary in api.containers():
        inspect = api.container(summary["Id"])
        if inspect is None:  # exited meanwhile
            continue
        pid = (inspect.get("State") or {}).get("Pid")
        mode = (inspect.get("HostConfig") or {}).get("NetworkMode")
        links, error = [], None
        if mode == "host":
            links = []  # shares the host's interfaces: nothing container-specific to map
        elif not pid:
            error = "the container has no running process"
        else:
            try:
                links = read_container_links(proc_root, pid)
            except OSError as exc:
                path = os.path.join(proc_root, str(pid), "root", "sys", "class", "net")
                error = "cannot read %s: %s" % (path, exc.strerror or exc)
                if exc.errno in (errno.EACCES, errno.EPERM):
                    error += " (reading another process's namespace needs root: use become)"
        records.append(container_record(inspect, links, host_interfaces or [], networks, error))
    records.sort(key=lambda rec: rec.get("name") or "")
    return records


def main():
    module = AnsibleModule(
        argument_spec=dict(
            docker_host=dict(type="str", default="unix:///var/run/docker.sock", fallback=(env_fallback, ["DOCKER_HOST"])),
            timeout=dict(type="int", default=10),
            daemon_json_path=dict(type="path", default="/etc/docker/daemon.json"),
            gather=dict(type="list", elements="str", choices=GATHER_CHOICES, default=list(GATHER_CHOICES)),
        ),
        supports_check_mode=True,
    )
    gather = set(module.params["gather"])
    info = {}

    if gather & DOCKER_PARTS and not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)

    api = None
    try:
        if gather & DOCKER_PARTS:
            api = connect(module)

        daemon_config = None
        if gather & {"daemon_json", "networks"}:
            record, daemon_config, warning = read_daemon_json(module.params["daemon_json_path"])
            if "daemon_json" in gather:
                info["daemon_json"] = record
                if warning:
                    module.warn(warning)

        if "engine" in gather:
            version, details = api.version(), api.info()
            info["engine"] = dict(normalise_engine(version, details), firewall_backend=running_backend(details))

        interfaces = None
        if gather & {"interfaces", "containers", "networks"}:
            try:
                interfaces = gather_interfaces(module)
            except HostFactsError as exc:
                # for networks alone they only fill a missing default bridge gateway: no warning
                if gather & {"interfaces", "containers"}:
                    module.warn("interfaces not gathered: %s" % exc)
            if "interfaces" in gather:
                info["interfaces"] = interfaces

        networks = None
        if gather & {"networks", "containers"}:
            networks = sorted((normalise_network(n) for n in api.networks()), key=lambda n: n.get("name") or "")
            if "networks" in gather:
                info["networks"] = networks
                info["default_bridge"] = default_bridge(daemon_config, networks, interfaces)

        if "firewall" in gather:
            info["firewall"] = gather_firewall(module)

        if "sysctl" in gather:
            info["sysctl"] = read_sysctl(PROC_ROOT)

        if "routes" in gather:
            try:
                info["routes"] = gather_routes(module)
            except HostFactsError as exc:
                module.warn("routes not gathered: %s" % exc)
                info["routes"] = None

        if "containers" in gather:
            info["containers"] = gather_containers(api, networks, interfaces, PROC_ROOT)
    except CrosshostError as err:
        fail(module, err)
    finally:
        if api is not None:
            api.close()

    module.exit_json(changed=False, host_info=info)


if __name__ == "__main__":
    main()
