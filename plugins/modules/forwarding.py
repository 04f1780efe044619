#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: forwarding
short_description: IPv4 forwarding sysctls of a Docker host, at runtime and persisted in a sysctl.d file of its own
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Sets C(net.ipv4.ip_forward) and the per-interface C(net.ipv4.conf.<interface>.forwarding) of the listed
    interfaces, plus optional other C(net.*) sysctls (O(extra)), on the running kernel and in a file of its own
    under C(/etc/sysctl.d/) (O(file)) so that they also hold after a reboot, before Docker starts.
  - Runtime values are read from C(/proc/sys) and written there only when they differ. The file is compared
    with what it should contain and rewritten when it differs. Both kinds of drift (a value changed by hand
    at runtime, a file edited by hand) are detected and fixed, and reported separately in
    RV(runtime_changes) and RV(file_changed).
  - The file carries a header comment saying it is managed by crosshost.docker. The module never writes
    C(/etc/sysctl.conf) or any other file, and it refuses to overwrite or remove an existing O(file) that
    lacks that header.
  - 'Interface names may contain dots (VLAN sub-interfaces such as C(eth1.10)). In the dotted sysctl key a dot
    inside a name is written as C(/): the file gets C(net.ipv4.conf.eth1/10.forwarding = 1), the form C(sysctl -a)
    prints, and the runtime value lives in C(/proc/sys/net/ipv4/conf/eth1.10/forwarding). Both procps
    C(sysctl -p) and C(systemd-sysctl) apply that line to C(eth1.10). The literal form
    C(net.ipv4.conf.eth1.10.forwarding) is wrong: it names C(/proc/sys/net/ipv4/conf/eth1/10/forwarding).'
  - Keys are applied, and written to the file, in this order. First C(net.ipv4.ip_forward), then global
    keys from O(extra) (C(net.ipv6.conf.all.forwarding) first), then the interfaces in the order given, then
    per-interface keys from O(extra). The order matters because the kernel resets every interface's
    forwarding when the global switch changes (see the notes).
options:
  ip_forward:
    description:
      - Value of C(net.ipv4.ip_forward), the kernel's global IPv4 forwarding switch.
      - The kernel keeps C(net.ipv4.conf.all.forwarding) equal to it. Changing it also sets
        C(net.ipv4.conf.default.forwarding) and the forwarding of B(every) interface to the same value.
    type: bool
    default: true
  interfaces:
    description:
      - Interfaces whose C(net.ipv4.conf.<interface>.forwarding) is set to O(interface_forwarding).
      - Real interface names as C(ip link) shows them, for example V(eth0), V(docker0), V(eth1.10). At most 15
        characters; C(/), C(:), whitespace, V(.) and V(..) are rejected. V(default) (the value new interfaces
        start with) is allowed; V(all) is not, use O(ip_forward).
      - Each interface must exist, see O(missing_interfaces).
    type: list
    elements: str
    default: []
  interface_forwarding:
    description:
      - The value for the forwarding of every interface in O(interfaces).
      - V(false) with O(ip_forward=true) turns forwarding off on just those interfaces.
    type: bool
    default: true
  extra:
    description:
      - 'Other sysctls this module should own, as a dict of key to value, for example
        V({"net.ipv4.conf.eth0.rp_filter": 2}).'
      - Keys must be networking sysctls (under C(net.)), in the dotted form (C(net.ipv4.conf.eth1/10.rp_filter)) or
        the path form (C(net/ipv4/conf/eth1.10/rp_filter)). They must exist on the host. Keys for an interface
        that does not exist follow O(missing_interfaces).
      - C(net.ipv4.ip_forward), C(net.ipv4.conf.all.forwarding) and the forwarding keys of O(interfaces) are
        rejected here, they belong to the options above.
      - Values are numbers, booleans (V(true) is C(1)) or strings; runs of whitespace compare equal, as the
        kernel prints multi-value sysctls with tabs.
    type: dict
    default: {}
  missing_interfaces:
    description:
      - What to do when an interface of O(interfaces) (or of an O(extra) key) does not exist at runtime.
      - V(fail) fails before changing anything. The message lists the interfaces that exist.
      - V(persist_only) writes its keys to O(file) only, for interfaces created later (VLAN sub-interfaces,
        bridges of networks not created yet). They are reported in RV(persist_only). On systemd hosts, udev runs
        C(systemd-sysctl --prefix=/net/ipv4/conf/<name>) for every new network device, which applies the line from
        our file as soon as the interface appears. Needs O(persist=true).
    type: str
    choices: [fail, persist_only]
    default: fail
  persist:
    description:
      - Whether to write the values to O(file) as well.
      - With V(false) only runtime values are set and O(file) is neither read nor changed, even if an earlier run
        wrote it. Use O(state=absent) to remove it.
    type: bool
    default: true
  file:
    description:
      - The sysctl.d file of this module. It must end in C(.conf), because C(systemd-sysctl) and C(sysctl --system)
        read only C(*.conf).
      - It is created with mode C(0644) (and its directory with C(0755) if missing), written atomically, and
        only ever replaced if it carries this module's header. A symlink is refused, and so is
        C(/etc/sysctl.conf).
      - Files in C(/etc/sysctl.d/) are applied in lexical order, and a later file wins for the same key. Pick
        a name that sorts after any file that sets the same keys differently.
    type: path
    default: /etc/sysctl.d/60-crosshost-docker.conf
  state:
    description:
      - V(present) sets the runtime values and writes O(file).
      - V(absent) removes O(file), and only that. Runtime values are not changed, they stay until they are set
        otherwise or the host reboots. The other options are ignored.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written. RV(runtime), RV(runtime_changes) and RV(file_changed) say what would happen.
  diff_mode:
    support: full
    details:
      - Two diffs, the text of O(file) before and after, and the runtime values (C(key = value) lines) before
        and after.
  platform:
    platforms: posix
requirements:
  - Linux with C(/proc/sys) mounted read-write, and root (C(become=true)).
notes:
  - Docker sets C(net.ipv4.ip_forward=1) itself when dockerd starts, unless C(ip-forward) is V(false) in
    C(daemon.json). Until dockerd runs, a host that rebooted does not forward. The persisted file turns
    forwarding on at boot, before dockerd starts, and also when dockerd does not start at all.
  - C(net.ipv4.ip_forward) and C(net.ipv4.conf.all.forwarding) are the same switch. Measured on a 6.x kernel,
    writing a new value to either sets both, plus C(net.ipv4.conf.default.forwarding) and every existing
    interface's C(net.ipv4.conf.<if>.forwarding). Writing the value they already have changes nothing.
  - Measured with dockerd 20.10.24, 26.1.5 and 28.5.2, all alike. A dockerd that starts while C(ip_forward) is
    C(0) writes C(1), so the kernel resets every interface to C(1) and per-interface V(false) settings are
    lost until the next run of this module. A dockerd that starts while C(ip_forward) is already C(1) (our
    file applied at boot) leaves the per-interface values alone, across restarts too. With C(ip-forward) set to
    V(false), dockerd changes none of them (26 and 28 log C(IPv4 forwarding is disabled)).
  - The kernel forwards a packet only if forwarding is on for the interface it B(arrives) on. Measured,
    a container on C(docker0) pinging the router was forwarded with O(ip_forward=false) and forwarding on
    for C(eth0) and C(docker0). It failed as soon as either was off, also with O(ip_forward=true), because the
    replies arrive on C(eth0). O(ip_forward=false) with O(interfaces=[eth0, docker0]) thus forwards only
    between those, provided that dockerd does not turn the global switch back on (C(ip-forward) set to
    V(false)). Turning forwarding off on C(docker0) cuts the default bridge's containers off.
  - C(net.ipv6.conf.all.forwarding) (through O(extra)) likewise sets every interface's IPv6 forwarding.
  - Boot-time application of the file was measured as follows. procps C(sysctl -p FILE) (Debian 12, procps-ng 4.0.2)
    applies C(net.ipv4.conf.eth1/10.forwarding) to C(eth1.10). A key of a missing interface makes it print
    C(cannot stat) and exit 1, but it still applies the other lines (also with a leading C(-)).
    C(systemd-sysctl) 252 applies the same lines and skips missing keys with a message (exit 0).
  - Runtime values are written only when they differ from what C(/proc/sys) reports. The module reads them
    back afterwards and fails if the kernel holds something else.
  - The module keeps no record of earlier runtime values. O(state=absent) removes the file and cannot restore them.
seealso:
  - module: ansible.posix.sysctl
    description: Single sysctl entries in C(/etc/sysctl.conf) or another file.
  - module: crosshost.docker.docker_host_info
    description: Reads the forwarding sysctls (O(crosshost.docker.docker_host_info#module:gather=sysctl)).
"""

EXAMPLES = r"""
- name: Forwarding on, persisted, for the underlay and the default bridge
  crosshost.docker.forwarding:
    interfaces: [eth0, docker0]
  become: true

- name: A VLAN sub-interface that is created later (only written to the file until it exists)
  crosshost.docker.forwarding:
    interfaces: [eth0, docker0, eth1.10]
    missing_interfaces: persist_only
  become: true
  register: fwd

- name: Show what is only persisted
  ansible.builtin.debug:
    msg: "{{ fwd.persist_only }}"

- name: Forward globally but never for packets arriving on the management interface
  crosshost.docker.forwarding:
    interfaces: [eth2]
    interface_forwarding: false
  become: true

- name: Also own reverse-path filtering of the underlay (loose mode)
  crosshost.docker.forwarding:
    interfaces: [eth0, docker0]
    extra:
      net.ipv4.conf.eth0.rp_filter: 2
  become: true

- name: Runtime only, no file
  crosshost.docker.forwarding:
    persist: false
  become: true

- name: Remove our file (runtime values stay until reboot)
  crosshost.docker.forwarding:
    state: absent
  become: true
"""

RETURN = r"""
runtime:
  description:
    - The runtime value of every key the module manages (for O(state=absent), of every key in the removed file),
      after the run, or in check mode what it would be.
    - Keys that do not exist at runtime (RV(persist_only)) are left out.
  returned: always
  type: dict
  sample: {"net.ipv4.ip_forward": "1", "net.ipv4.conf.eth0.forwarding": "1", "net.ipv4.conf.eth1/10.forwarding": "1"}
runtime_changes:
  description:
    - The managed keys whose runtime value changed (or would change, in check mode), in application order.
    - A key can change without being written when C(net.ipv4.ip_forward) changed and reset it.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: Dotted sysctl key.
      type: str
      returned: always
      sample: net.ipv4.ip_forward
    before:
      description: Value before the run.
      type: str
      returned: always
      sample: "0"
    after:
      description: Value after the run.
      type: str
      returned: always
      sample: "1"
  sample: [{"key": "net.ipv4.ip_forward", "before": "0", "after": "1"}]
persist_only:
  description: Keys only written to O(file), because their interface does not exist (O(missing_interfaces=persist_only)).
  returned: always
  type: list
  elements: str
  sample: ["net.ipv4.conf.eth1/10.forwarding"]
file:
  description: Path of our sysctl.d file (O(file)).
  returned: always
  type: str
  sample: /etc/sysctl.d/60-crosshost-docker.conf
file_changed:
  description:
    - Whether O(file) was (or in check mode would be) created, rewritten or removed.
    - Always V(false) with O(persist=false).
  returned: always
  type: bool
  sample: true
"""

import errno
import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.crosshost.docker.plugins.module_utils._diff import DiffTracker, file_diff
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, PersistError, PlanError, fail
from ansible_collections.crosshost.docker.plugins.module_utils._files import write_atomic
from ansible_collections.crosshost.docker.plugins.module_utils._sysctl import (
    SysctlError,
    check_file_path,
    desired_entries,
    key_to_path,
    plan,
    plan_absent,
    runtime_text,
)

# Module-level so a test can point it elsewhere.
PROC_SYS = "/proc/sys"


def proc_path(key):
    return os.path.join(PROC_SYS, key_to_path(key))


def read_value(key):
    """Current value of a sysctl (whitespace normalised), None when the key does not exist."""
    try:
        with open(proc_path(key), "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SysctlError("cannot read %s (%s): %s; this module only manages sysctls it can read back"
                          % (proc_path(key), key, to_native(exc)))
    return " ".join(to_native(data, errors="surrogate_or_strict").split())


def write_value(key, value):
    with open(proc_path(key), "wb") as handle:
        handle.write(to_bytes(value + "\n"))


def list_interfaces():
    try:
        names = os.listdir(os.path.join(PROC_SYS, "net", "ipv4", "conf"))
    except OSError:
        return []
    return sorted(name for name in names if name not in ("all", "default"))


def read_file(module, path):
    """Our file's text, None when it does not exist. Fails on symlinks and non-regular files."""
    if os.path.islink(path):
        module.fail_json(msg="%s is a symlink (to %s): this module only manages a regular file of its own, "
                             "choose another path with the file option" % (path, os.path.realpath(path)))
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        module.fail_json(msg="%s exists and is not a regular file" % path)
    try:
        with open(path, "rb") as handle:
            return to_native(handle.read(), errors="surrogate_or_strict")
    except (OSError, UnicodeError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (path, to_native(exc)))


def write_file(module, path, text):
    """Atomically, through the collection's one writer: a new file gets 0644, an existing one keeps its mode."""
    write_atomic(path, to_bytes(text), 0o644, module=module)


def run_absent(module, path):
    text = read_file(module, path)
    remove, keys = plan_absent(text, path)
    runtime = {}
    for key in keys:
        try:
            value = read_value(key)
        except SysctlError:
            value = None
        if value is not None:
            runtime[key] = value
    if remove and not module.check_mode:
        try:
            os.unlink(path)
        except OSError as exc:
            module.fail_json(msg="cannot remove %s: %s" % (path, to_native(exc)))
    result = dict(changed=remove, runtime=runtime, runtime_changes=[], persist_only=[], file=path,
                  file_changed=remove)
    if module._diff:
        result["diff"] = [file_diff(path, text, None)]
    module.exit_json(**result)


def apply_runtime(module, entries, persist_only):
    """Read each key, write it when it differs, in order; then read all back and check them."""
    skip = set(persist_only)
    done = []
    for key, value in entries:
        if key in skip:
            continue
        current = read_value(key)
        if current == value:
            continue
        try:
            write_value(key, value)
        except OSError as exc:
            hint = " (writing /proc/sys needs root: use become)" if exc.errno in (errno.EACCES, errno.EPERM) else ""
            module.fail_json(msg="cannot write %r to %s (%s): %s%s. Keys written before it: %s.%s"
                                 % (value, proc_path(key), key, to_native(exc), hint, ", ".join(done) or "none",
                                    " %s was not changed." % module.params["file"] if module.params["persist"] else ""),
                             exception=traceback.format_exc())
        done.append(key)
    after = {}
    wrong = []
    for key, value in entries:
        if key in skip:
            continue
        after[key] = read_value(key)
        if after[key] != value:
            wrong.append("%s is %s, not %s" % (key, after[key], value))
    if wrong:
        module.fail_json(msg="the kernel did not keep the values written: %s (is something else, such as dockerd, "
                             "changing them?)" % "; ".join(wrong), runtime=after)
    return after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ip_forward=dict(type="bool", default=True),
            interfaces=dict(type="list", elements="str", default=[]),
            interface_forwarding=dict(type="bool", default=True),
            extra=dict(type="dict", default={}),
            missing_interfaces=dict(type="str", choices=["fail", "persist_only"], default="fail"),
            persist=dict(type="bool", default=True),
            file=dict(type="path", default="/etc/sysctl.d/60-crosshost-docker.conf"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    try:
        run(module)
    except CrosshostError as err:
        fail(module, err)


def run(module):
    """main() once the options are parsed: check the file, plan, apply (check mode stops before), exit."""
    params = module.params
    path = params["file"]
    problem = check_file_path(path)
    if problem is None and os.path.realpath(path) == "/etc/sysctl.conf":
        problem = "file %s resolves to /etc/sysctl.conf, which this module never writes" % path
    if problem:
        raise PlanError(problem)

    if params["state"] == "absent":
        run_absent(module, path)

    entries = desired_entries(params["ip_forward"], params["interfaces"], params["interface_forwarding"],
                              params["extra"])
    text = read_file(module, path) if params["persist"] else None
    runtime = dict((key, read_value(key)) for key, _value in entries)
    planned = plan(entries, runtime, list_interfaces(), text, params["missing_interfaces"], params["persist"], path)

    before = planned["runtime_before"]
    if module.check_mode:
        after = planned["runtime_after"]
    else:
        after = apply_runtime(module, entries, planned["persist_only"])
        if planned["file_changed"]:
            try:
                write_file(module, path, planned["file_after"])
            except OSError as exc:
                raise PersistError("cannot write %s: %s (runtime values were set)" % (path, to_native(exc)),
                                   exception=traceback.format_exc()) from exc

    after = dict((key, value) for key, value in after.items() if value is not None)
    changes = [{"key": key, "before": before[key], "after": after[key]}
               for key, _value in entries if key in after and before.get(key) is not None and before[key] != after[key]]
    result = dict(
        changed=bool(changes) or planned["file_changed"],
        runtime=after,
        runtime_changes=changes,
        persist_only=planned["persist_only"],
        file=path,
        file_changed=planned["file_changed"],
    )
    if module._diff:
        diffs = []
        if params["persist"]:
            diffs.append(file_diff(path, planned["file_before"], planned["file_after"]))
        diffs.append(DiffTracker("runtime (/proc/sys)").add(runtime_text(before), runtime_text(after)).result())
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
