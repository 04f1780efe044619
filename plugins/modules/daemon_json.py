#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_json
short_description: Manage individual keys of the Docker daemon configuration file (daemon.json)
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Sets and removes keys of C(/etc/docker/daemon.json) and leaves every other key as it is, in the same order.
    New keys are appended. With O(purge=true) the file becomes exactly O(set).
  - Validates the result before anything is written. Known keys get their value types and ranges checked
    (see O(set)), keys that only exist on some Docker versions are checked against the host's engine version,
    and on Docker 23.0 and later the running C(dockerd) itself checks the whole result with C(dockerd --validate).
    If anything is wrong the module fails with a message that names the key and the fix, and the file is not touched.
  - An existing file that is not valid JSON (for example with C(#) comment lines, which dockerd refuses) makes the
    module fail with the path, line, column and a hint. The file is left byte for byte as it was, also with O(purge=true).
  - The file is only written when its content changes. The write is atomic (a temporary file in the same directory,
    flushed to disk, then renamed over the old one). Owner and mode are kept, C(/etc/docker) is created (mode C(0755))
    when it does not exist yet.
  - The module never restarts or reloads dockerd. It returns RV(restart_required) and RV(reload_sufficient) so that a
    handler can do the right thing (for example with M(crosshost.docker.docker_daemon)).
options:
  path:
    description:
      - Path of the daemon configuration file.
      - A symbolic link is followed. The file it points to is replaced and the link stays.
    type: path
    default: /etc/docker/daemon.json
  set:
    description:
      - Keys to set, with their values. The values are written as JSON as they are (C(true), C(1450), lists, dicts).
      - 'Nested dicts merge recursively. V({"log-opts": {"max-size": "10m"}}) sets only C(max-size) inside C(log-opts)
        and keeps the other log options. Any other value (string, number, list) replaces the old value as a whole.'
      - Keys are taken literally and never split at dots. A top-level key with a dot is refused, since Docker has none;
        write nested keys as nested dicts.
      - Checked before writing, where set or changed, with the fix in the error message.
        C(bip) must be the bridge's own address with a prefix length (V(10.0.1.1/24)), not a network address
        (V(10.0.1.0/24)) and not a bare address.
        C(fixed-cidr) must be an IPv4 network inside the network of C(bip) (when C(bip) is set).
        C(mtu) must be an integer from 68 to 65535.
        C(ip-masq), C(iptables), C(ip-forward), C(live-restore), C(allow-direct-routing), C(userland-proxy), C(icc),
        C(ipv6), C(ip6tables), C(debug), C(experimental), C(ip-forward-no-drop), C(no-new-privileges),
        C(selinux-enabled) and C(init) must be JSON booleans (not the strings V("true") or V("false")).
        C(default-address-pools) must be a list of dicts with C(base) (a network) and C(size) (a prefix length).
      - Checked against the engine version (O(engine_version)). C(cluster-store), C(cluster-advertise) and
        C(cluster-store-opts) only on engines older than 23.0, which removed them (dockerd refuses to start with them).
        C(allow-direct-routing) only on 28.0 and later. When the engine version is unknown these checks only warn.
      - Keys the module does not know are passed through unchanged. On Docker 23.0 and later C(dockerd --validate)
        catches misspelled keys (O(validate)).
    type: dict
  remove:
    description:
      - Keys to remove. A dotted path removes a nested key, for example V(log-opts.max-size).
      - "How a path is matched: at each level the whole remaining path is tried as a key first; if there is no such key
        it is split at its dots from the left, following only keys that exist and hold a dict. Docker's top-level keys
        never contain dots, but nested keys can: V(default-network-opts.bridge.com.docker.network.bridge.host_binding_ipv4)
        removes that one driver option."
      - A key or path that does not exist is not an error, there is nothing to remove.
      - 'Applied before O(set). A key that is removed and set again in the same task keeps its place in the file, so
        O(remove=[log-opts]) together with O(set={"log-opts": {"max-size": "10m"}}) replaces the whole C(log-opts) dict.'
      - Cannot be combined with O(purge=true).
    type: list
    elements: str
  purge:
    description:
      - When V(true) the file becomes exactly O(set), nested dicts included. Every other key is removed.
      - Keys that stay keep their place in the file.
    type: bool
    default: false
  backup:
    description:
      - Before changing an existing file, copy it to a backup file next to it named after the file, the module's
        process ID and a timestamp, for example C(/etc/docker/daemon.json.4242.2026-05-07@12:00:00~)
        (as other Ansible modules do). Its path is returned in RV(backup_file).
    type: bool
    default: false
  mode:
    description:
      - Permissions of the file, as an octal number in quotes, for example V('0644').
      - When not set, an existing file keeps its mode and a new file gets V('0644').
      - A mode change alone is a change (C(changed)) but needs no restart.
    type: raw
  engine_version:
    description:
      - Docker engine version of the host, for example V(20.10.24) or V(28.5.2), for the version checks of O(set)
        and to decide whether C(dockerd --validate) exists.
      - When not set, the module asks the Docker API (O(docker_host), needs the Docker SDK for Python), then the running
        C(dockerd) binary (C(dockerd --version)). If both fail the version is unknown. The version checks then warn
        instead of failing, and O(validate) is skipped.
    type: str
  validate:
    description:
      - On Docker 23.0 and later, have the running C(dockerd) binary check the complete new content with
        C(dockerd --validate --config-file) before it is written. The content is passed on standard input, nothing is
        written for that.
      - Skipped on older engines (they have no C(--validate)), when the engine version is unknown, and when nothing
        changes. RV(validated) and RV(validation) say what happened.
      - 'C(dockerd --validate) checks the JSON types and refuses unknown keys. It does not check network values
        (measured on 26.1 and 28.5 it accepts V("bip": "10.0.1.0/24")), which is why the module checks them itself.'
    type: bool
    default: true
  indent:
    description:
      - Indentation of the file when it is written, in spaces.
      - When not set, the indentation of the existing file is kept (taken from its first indented line, a tab stays a
        tab), and 2 is used for a new or one-line file.
      - The whole file is written in this style when a key changes. A file that does not change is never rewritten,
        whatever its style.
    type: int
  original:
    description:
      - A record file of ours that keeps what daemon.json held before this collection first changed it, for
        O(restore=true) to put it back later. For example V(/etc/crosshost-docker/direct_route.daemon.json).
      - With O(set) or O(remove), before the first change the file's whole text and the original value (or absence) of
        every top-level key this task changes are written there. Later runs only add keys not recorded yet, so the
        record keeps the values from before the first change. Nothing is recorded when nothing changes, and nothing is
        written in check mode.
      - The record is written before daemon.json, so a run killed in between still restores correctly.
      - Give each caller its own record (one per role), so that undoing one scheme leaves the keys of another alone.
    type: path
  original_extra:
    description:
      - Other facts from before the first change to keep with the record, returned by O(restore=true) as
        RV(original_extra) (check mode included). For example the default bridge's address, which dockerd keeps in
        its own store when C(bip) is removed (moby#49353), so that a caller can put it back.
      - Kept from the first record only.
    type: dict
  restore:
    description:
      - Put the keys recorded in O(original) back as they were, and delete the record.
      - When daemon.json then holds exactly the original keys and values, the original text comes back byte for byte
        (RV(byte_identical)); a file that did not exist before is deleted when nothing else is left in it. When others
        changed other keys meanwhile, only the recorded keys are put back (key for key) and their changes stay.
      - Without a record there is nothing to restore and nothing changes.
      - Needs O(original). Cannot be combined with O(set), O(remove) or O(purge).
    type: bool
    default: false
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.docker_host
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written in check mode. The checks, C(dockerd --validate) included, still run.
  diff_mode:
    support: full
    details:
      - The diff shows the file's JSON text before and after.
requirements:
  - docker (Docker SDK for Python), optional, only to ask the Docker API for the engine version
notes:
  - "Which changes a reload (SIGHUP, C(systemctl reload docker)) applies is taken from Docker's documentation
    (dockerd reference, I(Configuration reload behavior)) and moby's reload code. C(debug), C(labels), C(live-restore),
    C(max-concurrent-downloads), C(max-concurrent-uploads), C(max-download-attempts), C(default-runtime), C(runtimes),
    C(authorization-plugins), C(allow-nondistributable-artifacts), C(insecure-registries), C(registry-mirrors),
    C(shutdown-timeout), C(features), C(default-shm-size), C(default-ipc-mode), C(default-cgroupns-mode) and
    C(network-diagnostic-port) are reloaded. Removing one of them only takes effect on reload for
    C(max-concurrent-downloads), C(max-concurrent-uploads), C(max-download-attempts), C(features),
    C(authorization-plugins) and C(network-diagnostic-port); dockerd keeps the running value of the others until it
    restarts. Every other key (C(bip), C(mtu), C(iptables), C(ip-masq), C(log-opts), ...) needs a restart."
  - dockerd refuses to start when the same option is given both in daemon.json and as a command line flag (for example
    C(default-runtime) in the file and C(--default-runtime) in the service definition). C(dockerd --validate) only sees
    the file, so this module cannot detect such conflicts.
  - Run it as root (C(become=true)) for C(/etc/docker).
seealso:
  - module: crosshost.docker.docker_host_info
    description: Reads daemon.json (and reports, without failing, a file that is not valid JSON).
  - name: Docker daemon configuration file
    description: The keys daemon.json accepts.
    link: https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file
"""

EXAMPLES = r"""
- name: Give this host its own container subnet, keep everything else in daemon.json
  crosshost.docker.daemon_json:
    set:
      bip: 10.1.0.1/24
  become: true
  register: dj
  notify: Restart docker

- name: Show what changed and whether dockerd must restart
  ansible.builtin.debug:
    msg: "{{ dj.changed_keys }} restart={{ dj.restart_required }} reload={{ dj.reload_sufficient }}"

- name: One log option, the other log options stay
  crosshost.docker.daemon_json:
    set:
      log-opts:
        max-size: 10m
  become: true

- name: Remove a nested key and a top-level key, with a backup of the old file
  crosshost.docker.daemon_json:
    remove:
      - log-opts.max-file
      - fixed-cidr
    backup: true
  become: true

- name: No MASQUERADE by Docker for the default bridge (peers then see containers' own source addresses)
  crosshost.docker.daemon_json:
    set:
      ip-masq: false
  become: true

- name: Docker 28 and later, let routed traffic reach container addresses
  crosshost.docker.daemon_json:
    set:
      allow-direct-routing: true
  become: true

- name: Own the whole file (every key not listed here is removed)
  crosshost.docker.daemon_json:
    purge: true
    set:
      bip: 10.2.0.1/24
      mtu: 1450
      log-driver: json-file
  become: true

- name: Check a change without a Docker API (version given, nothing written)
  crosshost.docker.daemon_json:
    set:
      cluster-store: etcd://192.168.1.5:2379
      cluster-advertise: eth0:2376
    engine_version: 20.10.24
  check_mode: true
  become: true
- name: Record the original values of the keys before changing them (for an undo later)
  crosshost.docker.daemon_json:
    set:
      bip: 10.1.0.1/24
      ip-masq: false
    original: /etc/crosshost-docker/direct_route.daemon.json
    backup: true
  become: true

- name: Undo - put the recorded keys back (the original file byte for byte when nobody else changed it)
  crosshost.docker.daemon_json:
    original: /etc/crosshost-docker/direct_route.daemon.json
    restore: true
    backup: true
  become: true
"""

RETURN = r"""
changed_keys:
  description:
    - Keys added, changed or removed, as dotted paths for nested keys (in file order, removed keys last).
    - Empty when nothing changed, and when only the mode changed.
  returned: always
  type: list
  elements: str
  sample: ["bip", "log-opts.max-size"]
config:
  description: The daemon configuration after the task (in check mode, what it would be).
  returned: always
  type: dict
  sample: {"log-level": "warn", "bip": "10.1.0.1/24"}
restart_required:
  description: Whether dockerd must restart to apply the changed keys (at least one changed key is not reloadable).
  returned: always
  type: bool
  sample: true
reload_sufficient:
  description:
    - Whether a reload (SIGHUP) applies every changed key, so no restart is needed. V(false) when nothing changed.
  returned: always
  type: bool
  sample: false
backup_file:
  description: Path of the backup of the previous file.
  returned: when O(backup=true) and an existing file was changed (not in check mode)
  type: str
  sample: /etc/docker/daemon.json.4242.2026-05-07@12:00:00~
engine_version:
  description: The Docker engine version the checks used, V(null) when unknown.
  returned: always
  type: str
  sample: 28.5.2+dfsg4
engine_version_source:
  description: Where RV(engine_version) comes from, V(engine_version) (the option), V(docker api), V(dockerd --version) or V(null).
  returned: always
  type: str
  sample: docker api
validated:
  description: Whether C(dockerd --validate) accepted the new content.
  returned: always
  type: bool
  sample: true
validation:
  description: What C(dockerd --validate) said, or why it was skipped.
  returned: always
  type: str
  sample: "dockerd 28.5.2 --validate: configuration OK"
recorded_keys:
  description: Keys whose original values this task added to O(original) (empty when none, and in check mode).
  returned: when O(original) is set and O(restore=false)
  type: list
  elements: str
  sample: ["bip", "ip-masq"]
restored_keys:
  description: The keys O(restore) put back to their recorded values (or removed, where they were absent).
  returned: when O(restore=true)
  type: list
  elements: str
  sample: ["allow-direct-routing", "bip", "ip-masq"]
original_extra:
  description: The O(original_extra) kept with the record (empty without a record).
  returned: when O(restore=true)
  type: dict
  sample: {"bridge": "172.17.0.1/16"}
byte_identical:
  description: Whether O(restore) brought back the original file byte for byte (or its absence).
  returned: when O(restore=true)
  type: bool
  sample: true
path:
  description: The file (O(path)).
  returned: always
  type: str
  sample: /etc/docker/daemon.json
diff:
  description: The file's text before and after (diff mode only).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Text before (empty for a new file).
      type: str
      returned: success
    after:
      description: Text after.
      type: str
      returned: success
    before_header:
      description: The path.
      type: str
      returned: success
    after_header:
      description: The path.
      type: str
      returned: success
"""

import errno
import os
import re
import stat
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.crosshost.docker.plugins.module_utils._daemon_json import (
    DaemonJsonError,
    DaemonJsonPlanError,
    clean_validate_output,
    parse_record,
    plan_daemon_json,
    plan_restore,
    record_original,
    render,
    validate_support,
)
from ansible_collections.crosshost.docker.plugins.module_utils._files import write_atomic
from ansible_collections.crosshost.docker.plugins.module_utils._diff import DiffTracker
from ansible_collections.crosshost.docker.plugins.module_utils._engine import (
    Dockerd,
    find_dockerd,
    parse_version,
    version_text,
)
from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api as docker_api
from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import HAS_DOCKER
from ansible_collections.crosshost.docker.plugins.module_utils._errors import (
    BackendError,
    CrosshostError,
    DockerApiError,
    PersistError,
    fail,
)

NEW_FILE_MODE = 0o644
NEW_DIR_MODE = 0o755
API_TIMEOUT = 5


def parse_mode(value):
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and re.match(r"^(0o?)?[0-7]{3,4}$", value.strip()):
        text = value.strip()
        mode = int(text[2:] if text.startswith("0o") else text, 8)
    else:
        raise DaemonJsonPlanError("mode must be an octal number in quotes such as '0644', not %r" % (value,))
    if not 0 <= mode <= 0o7777:
        raise DaemonJsonPlanError("mode %r is out of range (0000 to 7777 octal)" % (value,))
    return mode


def api_engine_version(docker_host):
    """The engine version the Docker API reports, or None (no SDK, no daemon, no answer)."""
    if not HAS_DOCKER or not docker_host:
        return None
    try:
        api = docker_api.connect(docker_host, API_TIMEOUT)
    except DockerApiError:  # no socket, unreachable or not a Docker daemon: fall back to the binary
        return None
    try:
        return api.engine_version()
    except DockerApiError:
        return None
    finally:
        api.close()


def read_current(path):
    """(bytes or None, os.stat_result or None); BackendError when it cannot be read."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise BackendError("%s is not a regular file" % path)
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        hint = " (use become: true)" if exc.errno in (errno.EACCES, errno.EPERM) else ""
        raise BackendError("cannot read %s: %s%s" % (path, exc.strerror or exc, hint))
    return data, st


def run_validate(module, dockerd, data, path):
    """Run `dockerd --validate` on `data`; returns (rc, cleaned output)."""
    rc, output, config = Dockerd.for_module(module).validate(dockerd, data, lambda: module.tmpdir)
    return rc, clean_validate_output(output, config, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            set=dict(type="dict"),
            remove=dict(type="list", elements="str"),
            purge=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            mode=dict(type="raw"),
            engine_version=dict(type="str"),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock", fallback=(env_fallback, ["DOCKER_HOST"])),
            validate=dict(type="bool", default=True),
            indent=dict(type="int"),
            original=dict(type="path"),
            original_extra=dict(type="dict"),
            restore=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        module.exit_json(**apply(module))
    except CrosshostError as err:
        fail(module, err)


def apply(module):
    """The module's work; returns the result, raises CrosshostError (with the result so far in its details)."""
    params = module.params
    path = params["path"]
    # A symbolic link is followed: the file it points to is replaced, the link stays.
    real_path = os.path.realpath(path)
    mode = parse_mode(params["mode"])
    if params["indent"] is not None and not 0 <= params["indent"] <= 16:
        raise DaemonJsonPlanError("indent must be from 0 to 16 spaces, not %d" % params["indent"])

    # The engine: the option, else the Docker API, else the running dockerd binary.
    engine_raw, engine_source = None, None
    if params["engine_version"]:
        if parse_version(params["engine_version"]) is None:
            raise DaemonJsonPlanError("engine_version %r is not a version such as 20.10.24 or 28.5.2" % params["engine_version"])
        engine_raw, engine_source = params["engine_version"], "engine_version"
    else:
        engine_raw = api_engine_version(params["docker_host"])
        engine_source = "docker api" if engine_raw else None
    binary = Dockerd.for_module(module)
    dockerd, dockerd_version, dummy = find_dockerd(binary.run, binary.which)
    if engine_raw is None and dockerd_version is not None:
        engine_raw, engine_source = version_text(dockerd_version), "dockerd --version"
    engine = parse_version(engine_raw)

    data, old_stat = read_current(real_path)
    result = dict(changed=False, path=path, engine_version=engine_raw, engine_version_source=engine_source,
                  validated=False, validation="", changed_keys=[], restart_required=False, reload_sufficient=False)
    record_path, record = params["original"], None
    if record_path:
        record_data = read_current(os.path.realpath(record_path))[0]
        record = parse_record(None if record_data is None else to_native(record_data), record_path)
    try:
        if params["restore"]:
            plan = restore_plan(params, data, record, path)
            result.update(restored_keys=plan["restored_keys"], byte_identical=plan["byte_identical"],
                          original_extra=(record or {}).get("extra") or {})
        else:
            plan = plan_daemon_json(data, params["set"], params["remove"], params["purge"], engine, path,
                                    params["indent"])
    except DaemonJsonError as exc:
        raise DaemonJsonPlanError("%s; the file was not changed" % exc, line=exc.line, column=exc.column, **result)
    except DaemonJsonPlanError as exc:
        raise DaemonJsonPlanError(str(exc), **result)

    for warning in plan["warnings"]:
        module.warn(warning)
    result.update(config=plan["after"], changed_keys=plan["changed_keys"],
                  restart_required=plan["restart_required"], reload_sufficient=plan["reload_sufficient"])
    if plan["errors"]:
        raise DaemonJsonPlanError("%s was not changed: %s" % (path, "; ".join(plan["errors"])), errors=plan["errors"], **result)

    content_changed = plan["changed"]
    new_bytes = plan["after_text"].encode("utf-8")
    new_record, record_file_changed = record, False
    if record_path and not params["restore"]:
        result["recorded_keys"] = []
        if content_changed:
            keys = list(params["set"] or {}) + [key for key, dummy in plan["top_level"]]
            new_record, added = record_original(record, None if data is None else to_native(data), keys,
                                                params["original_extra"])
            record_file_changed = bool(added)
            result["recorded_keys"] = added if not module.check_mode else []
    elif params["restore"]:
        record_file_changed = record is not None
    target_mode = mode
    if target_mode is None:
        target_mode = stat.S_IMODE(old_stat.st_mode) if old_stat is not None else NEW_FILE_MODE
    mode_changed = (old_stat is not None and stat.S_IMODE(old_stat.st_mode) != target_mode) or (
        old_stat is None and content_changed)

    # dockerd's own check of the complete new content, before anything is written.
    if not content_changed:
        result["validation"] = "skipped: nothing to write"
    elif plan.get("delete"):
        result["validation"] = "skipped: the file is deleted (it did not exist before)"
    else:
        run, note = validate_support(dockerd_version or engine, params["validate"])
        if run and not dockerd:
            run, note = False, "skipped: no dockerd binary found on this host"
        if not run:
            result["validation"] = note
        else:
            rc, output = run_validate(module, dockerd, new_bytes, path)
            label = "dockerd %s --validate" % version_text(dockerd_version or engine)
            if rc != 0:
                result["validation"] = "%s: %s" % (label, output)
                raise DaemonJsonPlanError("%s refused the new content, %s was not changed: %s" % (label, path, output),
                                          errors=[output], **result)
            result["validated"] = True
            result["validation"] = "%s: %s" % (label, output or "configuration OK")

    if plan.get("delete"):
        mode_changed = False
    result["changed"] = content_changed or mode_changed or record_file_changed
    if module._diff:
        result["diff"] = DiffTracker(path).add(plan["before_text"], plan["after_text"]).result()

    if result["changed"] and not module.check_mode:
        try:
            if record_file_changed and not params["restore"]:
                # the originals are safe before daemon.json changes: a run killed in between still restores
                write_atomic(os.path.realpath(record_path), render(new_record).encode("utf-8"), 0o600, module=module,
                             keep_attrs=False, fsync=True, dir_mode=NEW_DIR_MODE)
            if plan.get("delete"):
                if params["backup"]:
                    result["backup_file"] = module.backup_local(real_path)
                os.unlink(real_path)
            elif content_changed:
                if params["backup"] and old_stat is not None:
                    result["backup_file"] = module.backup_local(real_path)
                # temp file, fsync, owner kept and mode set, SELinux context kept, rename, fsync the directory
                write_atomic(real_path, new_bytes, target_mode, module=module, keep_attrs=False, fsync=True,
                             owner=(old_stat.st_uid, old_stat.st_gid) if old_stat is not None else None,
                             dir_mode=NEW_DIR_MODE)
            elif mode_changed:
                os.chmod(real_path, target_mode)
            if record_file_changed and params["restore"]:
                os.unlink(os.path.realpath(record_path))  # last: a run killed before this restores again
        except Exception as exc:  # OSError, and backup_local raises a plain Exception
            raise PersistError("cannot write %s: %s" % (path, to_native(exc)), exception=traceback.format_exc(), **result)
    return result


def restore_plan(params, data, record, path):
    """The plan of restore=true; without a record, nothing to do."""
    if not params["original"]:
        raise DaemonJsonPlanError("restore=true needs original: the record file written by an earlier run with "
                                  "original set, for example /etc/crosshost-docker/direct_route.daemon.json")
    asked = [name for name in ("set", "remove") if params[name]] + (["purge"] if params["purge"] else [])
    if asked:
        raise DaemonJsonPlanError("restore=true puts back the recorded keys and cannot be combined with %s: run "
                                  "those in a task of their own" % " or ".join(asked))
    if record is None:
        plan = plan_daemon_json(data, {}, [], False, None, path, params["indent"])
        plan.update(restored_keys=[], byte_identical=False, delete=False)
        return plan
    return plan_restore(data, record, path, params["indent"])


if __name__ == "__main__":
    main()
