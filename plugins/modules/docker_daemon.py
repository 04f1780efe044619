#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_daemon
short_description: Restart, reload or start dockerd safely, rolling daemon.json back when it does not come back
version_added: 0.1.0
author: crosshost.docker contributors (@crosshost)
description:
  - Restarts, reloads (C(SIGHUP)) or starts the Docker daemon with the service manager the host has
    (systemd, C(service), or C(/etc/init.d/docker) directly), then waits until the Docker API answers
    (C(GET /_ping) returns C(OK)) and returns the engine version (C(GET /version)).
  - Meant for role B(handlers). A task that changes C(daemon.json) (for example
    M(crosshost.docker.daemon_json) with O(crosshost.docker.daemon_json#module:backup=true)) notifies a
    handler that runs this module with O(rollback_file) set to the backup it made. Ansible runs a notified
    handler once per host at the end of the play, and not at all when nothing notified it. So there is at
    most one restart per host per run, and none when nothing changed.
  - If dockerd does not answer within O(timeout) seconds, the module collects dockerd's own error lines
    (from C(journalctl -u docker) under systemd, otherwise from the lines added to C(/var/log/docker.log)
    since the restart, plus the service command's own output). With O(rollback_file), it then keeps the
    rejected file as O(daemon_json_path) + C(.failed) (see O(keep_failed_config)), restores
    O(rollback_file) over O(daemon_json_path), restarts dockerd, waits for it again, and B(fails) with a
    message that holds dockerd's error lines and says what was done. With a rollback file, the module
    never leaves a host without a running dockerd because of the configuration it was given.
  - Without O(rollback_file) the module fails with dockerd's error lines, says that no rollback file was
    given, and leaves the host as it is (dockerd not running).
  - For O(state=reloaded) the module waits until dockerd logs that it reloaded its configuration. dockerd
    keeps running with its previous configuration when it rejects the file (for example invalid JSON), and
    the module then fails with dockerd's error line. With O(rollback_file) it restores that file first and
    sends C(SIGHUP) again.
  - Returns what it did in RV(action), whether C(live-restore) is on, and how many running containers were
    kept or stopped by a restart.
  - O(state=restarted) and O(state=reloaded) always change something and report C(changed=true), as they
    are actions, not states. Use them from handlers. O(state=started) is idempotent.
options:
  state:
    description:
      - V(restarted) stops and starts dockerd. It starts dockerd when it was not running.
      - V(reloaded) makes dockerd re-read O(daemon_json_path) without a restart (C(SIGHUP)), through the service
        manager's C(reload). When that command fails (Debian's own C(/etc/init.d/docker) has no C(reload)),
        the module sends C(SIGHUP) to the PID in dockerd's pidfile. Only some keys are reloadable (for example
        C(debug), C(labels), C(live-restore), C(max-concurrent-downloads), C(insecure-registries)). dockerd
        silently ignores a change to the others (for example C(bip)) on reload. If dockerd is not running, it
        is started instead. If it runs but its API does not answer, it is restarted.
      - V(started) starts dockerd if its API does not answer, and does nothing when it does.
      - V(applied) makes the running dockerd use its configuration, and restarts it only when it does not.
        A restart is pending (RV(pending) says why) when a key the running daemon shows differs from
        O(daemon_json_path) (C(bip) against docker0's address, C(ip-masq), C(icc) and C(mtu) against the default
        bridge network, C(cluster-store) and C(live-restore) against C(GET /info), C(allow-direct-routing) against
        Docker 28's raw-table drops), or when O(daemon_json_path) or one of O(config_files) changed after dockerd
        started (and no O(state=reloaded) of this module applied that content since). Use it as a plain task after
        the tasks that write the configuration, instead of a handler. A run killed after the file was written and
        before the restart then converges on the next run, because the difference is still there to see.
        Starts dockerd when it is not running.
    type: str
    choices: [restarted, reloaded, started, applied]
    default: restarted
  rollback_file:
    description:
      - A previous version of O(daemon_json_path), for example RV(crosshost.docker.daemon_json#module:backup_file)
        returned by M(crosshost.docker.daemon_json) with O(crosshost.docker.daemon_json#module:backup=true)
        (or C(backup_file) of M(ansible.builtin.copy) or M(ansible.builtin.template)).
      - When dockerd does not come back, this file is copied over O(daemon_json_path) (atomically, keeping
        the file's mode and owner) and dockerd is restarted again. The module still fails.
      - It must exist and hold a JSON object (or be empty), otherwise the module fails before touching dockerd.
      - When not given, a failed restart leaves dockerd stopped.
    type: path
  daemon_json_path:
    description:
      - Path of the Docker daemon configuration file that O(rollback_file) is restored over.
      - Also read for C(live-restore).
    type: path
    default: /etc/docker/daemon.json
  config_files:
    description:
      - Other files dockerd reads at start, for O(state=applied), for example a C(docker.service) drop-in. A file
        changed after dockerd started means a restart is pending. A file that does not exist is ignored.
    type: list
    elements: path
    default: []
  keep_failed_config:
    description:
      - Before restoring O(rollback_file), copy the rejected O(daemon_json_path) to O(daemon_json_path) + C(.failed)
        (replacing an older one) so that users can see what dockerd refused.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the Docker API after the restart or start command, and again after a rollback.
      - The service command's own time limits still apply to the command itself (systemd's C(TimeoutStartSec)).
    type: int
    default: 60
  service_manager:
    description:
      - How dockerd is run on the host.
      - V(auto) picks V(systemd) when C(/run/systemd/system) exists and C(systemctl) works. Otherwise it picks
        V(service) (C(service docker restart)) when the C(service) command and C(/etc/init.d/docker) exist. Otherwise
        it uses V(sysvinit) (C(/etc/init.d/docker restart) directly).
      - V(systemd) runs C(systemctl restart|start|reload docker.service). Before a restart or start it runs
        C(systemctl daemon-reload) when systemd says the unit's files changed (C(NeedDaemonReload=yes), for
        example after a changed drop-in), or when a drop-in of O(config_files) in C(docker.service.d/) exists but is
        not among the unit's loaded drop-ins (systemd does not notice a first drop-in in a new directory), so that
        the new unit settings are used. After a failed start it runs
        C(systemctl reset-failed docker.service) before starting again, so that systemd's start rate limit
        does not block the rollback.
    type: str
    choices: [auto, systemd, sysvinit, service]
    default: auto
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.docker_host
attributes:
  check_mode:
    support: full
    details:
      - Nothing is restarted, reloaded, started or written. The module reports what would happen.
        C(changed=true) for O(state=restarted) and O(state=reloaded). For O(state=started), C(changed=true)
        only when dockerd is not running. For O(state=applied), C(changed=true) when a restart is pending, with
        the reasons in RV(pending).
  diff_mode:
    support: none
    details:
      - There is no file content to show. The returned diff is always empty.
notes:
  - Run it as root (C(become=true)).
  - No Docker SDK is needed on the managed host. The module talks to the API with Python's C(socket) module.
  - The C(live-restore) value that matters for a restart is the running daemon's (at stop) and the new daemon's
    (at start). Turning it off with a restart stops running containers even though the old daemon had it on,
    because the new daemon does not keep containers it finds running. This was measured on 20.10, 26 and 28.
  - Read RV(action) from the registered result. The C(ansible.posix.json) stdout callback writes the task's module name over
    a result key called C(action) in its own output.
  - Under sysvinit and C(service), error lines are read from C(/var/log/docker.log) (where Debian's init script
    and the crosshost.docker lab write dockerd's output). Under systemd, from C(journalctl -u docker).
seealso:
  - module: crosshost.docker.daemon_json
    description: Manage keys of daemon.json, with a backup to roll back to.
  - module: crosshost.docker.docker_host_info
    description: Read-only facts about the Docker host.
"""

EXAMPLES = r"""
# roles/docker_host/tasks/main.yml
- name: Set the container subnet
  crosshost.docker.daemon_json:
    set:
      bip: 10.1.0.1/24
    backup: true
  register: daemon_json_result
  notify: restart docker

# roles/docker_host/handlers/main.yml
- name: restart docker
  crosshost.docker.docker_daemon:
    state: restarted
    rollback_file: "{{ daemon_json_result.backup_file | default(omit) }}"
  become: true
  register: restart_result

# Only reloadable keys changed (debug, labels, live-restore, ...): no restart
- name: reload docker
  crosshost.docker.docker_daemon:
    state: reloaded
    rollback_file: "{{ daemon_json_result.backup_file | default(omit) }}"
  become: true

# Survives an interrupted run: a plain task, not a handler. Restarts only when the running
# daemon does not use daemon.json (or the drop-in) yet, and says why in `pending`.
- name: Make the running dockerd use daemon.json
  crosshost.docker.docker_daemon:
    state: applied
    config_files: [/etc/systemd/system/docker.service.d/override.conf]
    rollback_file: "{{ daemon_json_result.backup_file | default(omit) }}"
  become: true

# Idempotent: start dockerd only when it is not running
- name: Make sure dockerd runs
  crosshost.docker.docker_daemon:
    state: started
  become: true

- name: Restart with a longer wait and systemd forced
  crosshost.docker.docker_daemon:
    state: restarted
    service_manager: systemd
    timeout: 180
  become: true
  register: restarted

- name: Show what the restart did
  ansible.builtin.debug:
    msg: >-
      {{ restarted.action }} in {{ restarted.seconds }} s, engine {{ restarted.engine_version }},
      {{ restarted.containers_kept_running }} containers kept running, {{ restarted.containers_stopped }} stopped
"""

RETURN = r"""
action:
  description: What the module did (or would do in check mode).
  returned: always
  type: str
  choices: [restarted, reloaded, started, none (already running)]
  sample: restarted
service_manager:
  description: The service manager used (V(systemd), V(service) or V(sysvinit)).
  returned: always
  type: str
  sample: service
command:
  description: The service command that was (or in check mode would be) run, V(null) when none.
  returned: always
  type: str
  sample: service docker restart
engine_version:
  description: Engine version from C(GET /version) once the API answered, V(null) if it never did.
  returned: always
  type: str
  sample: 20.10.24+dfsg1
pid_before:
  description: PID of the running dockerd before the action (from its pidfile), V(null) if none was running.
  returned: always
  type: int
  sample: 4242
pid_after:
  description: PID of dockerd after the action, V(null) if it is not running. Equal to RV(pid_before) after a reload.
  returned: always
  type: int
  sample: 4711
seconds:
  description:
    - Seconds from the service command until the API answered (or the reload was confirmed), V(null) when nothing was done.
    - After a rollback, the time the second start took.
  returned: always
  type: float
  sample: 3.42
live_restore:
  description:
    - Whether C(live-restore) is enabled. This is the value of the daemon after the action when its API answers.
      Otherwise it is the C(live-restore) key of O(daemon_json_path), or the running daemon's value before the action.
    - V(null) when it cannot be told.
  returned: always
  type: bool
  sample: true
containers_running_before:
  description: Number of running containers before the action (V(null) when the API did not answer).
  returned: always
  type: int
  sample: 3
containers_running_after:
  description: Number of running containers after the action (V(null) when the API did not answer).
  returned: always
  type: int
  sample: 3
containers_kept_running:
  description: Containers that ran before and still run after (same container ID), V(null) if not known.
  returned: always
  type: int
  sample: 3
containers_stopped:
  description: Containers that ran before and no longer run after, V(null) if not known.
  returned: always
  type: int
  sample: 0
rolled_back:
  description: Whether O(rollback_file) was restored over O(daemon_json_path).
  returned: always
  type: bool
  sample: false
failed_config:
  description: Where the rejected configuration was kept (O(daemon_json_path) + C(.failed)), V(null) if not kept.
  returned: always
  type: str
  sample: /etc/docker/daemon.json.failed
error_lines:
  description:
    - dockerd's own error lines (and the service command's error output) when it did not come back or rejected a reload.
      The list is empty on success.
    - Plain lines dockerd printed before exiting come first, then C(level=fatal) lines rendered as C(<msg>, <error>).
      C(level=error) lines are used only when there are none of those.
  returned: always
  type: list
  elements: str
  sample:
    - "failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33"
pending:
  description:
    - Why a restart is pending, for O(state=applied) (empty when the running dockerd uses its configuration).
      Read before the restart; after a successful restart the daemon uses the configuration.
  returned: always
  type: list
  elements: str
  sample:
    - "bip is 10.0.0.1/24 in daemon.json, but docker0 has 172.17.0.1/16"
daemon_reloaded:
  description: Whether C(systemctl daemon-reload) was run before the restart (systemd only).
  returned: always
  type: bool
  sample: false
diff:
  description: Always empty (diff mode is not applicable).
  returned: always
  type: dict
  sample: {}
"""

import os
import shutil
import signal
import tempfile
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.crosshost.docker.plugins.module_utils._docker_daemon import (
    ACTION_NONE,
    DOCKER_LOG,
    INIT_SCRIPT,
    MANAGER_CHOICES,
    STATES,
    SYSTEMD_RUN_DIR,
    SYSTEMD_UNIT,
    DockerDaemonError,
    check_rollback_text,
    choose_service_manager,
    container_changes,
    extract_error_lines,
    failure_message,
    journal_since,
    live_restore_setting,
    log_window,
    merge_lines,
    plan,
    reload_outcome,
    reload_signals,
    service_command,
)
from ansible_collections.crosshost.docker.plugins.module_utils import _daemon_state as daemon_state
from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api as docker_api
from ansible_collections.crosshost.docker.plugins.module_utils._engine import running_dockerd
from ansible_collections.crosshost.docker.plugins.module_utils._errors import (
    CrosshostError,
    DockerApiError,
    IptablesError,
    fail,
)
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import Iptables
from ansible_collections.crosshost.docker.plugins.module_utils._systemd import Systemd, SystemdError

POLL = 0.25
PING_TIMEOUT = 3


# ---------------------------------------------------------------------------------------------
# Docker API over a plain socket (module_utils/_docker_api, no Docker SDK needed)


def quiet(func, *args):
    """func(*args), or None when the API does not answer properly."""
    try:
        return func(*args)
    except DockerApiError:
        return None


def running_ids(api):
    containers = quiet(api.containers)
    if not isinstance(containers, list):
        return None
    return sorted(c.get("Id") for c in containers if isinstance(c, dict) and c.get("Id"))


def dockerd_pid():
    pid, _exe = running_dockerd()
    return pid


# ---------------------------------------------------------------------------------------------
# What the running daemon uses (state=applied)


def pending(module, api, pid):
    """Reasons a restart is pending (state=applied); raises DockerDaemonError for an unreadable daemon.json."""
    bridge = quiet(api.network, "bridge")
    info = quiet(api.info)
    version = (quiet(api.version) or {}).get("Version")
    tables = Iptables.for_module(module)

    def raw_rules():
        if not tables.available("iptables"):
            return None
        try:
            return "\n".join(tables.list_rules("raw", "PREROUTING"))
        except IptablesError:
            return None

    return daemon_state.pending(module.params["daemon_json_path"], module.params["config_files"], pid,
                                bridge, info, version, raw_rules)


# ---------------------------------------------------------------------------------------------
# Host


class Daemon:
    """Everything the module does on the host, for one run."""

    def __init__(self, module, manager, api):
        self.module = module
        self.manager = manager
        self.api = api
        self.timeout = module.params["timeout"]
        self.systemd = Systemd.for_module(module)
        self.systemctl = self.systemd.path("systemctl") or "systemctl"
        self.service = module.get_bin_path("service") or "service"

    def command(self, op):
        return service_command(self.manager, op, self.systemctl, self.service, INIT_SCRIPT)

    def daemon_reload_if_needed(self):
        """systemd: `systemctl daemon-reload` when the unit's files changed (a new drop-in). Returns whether it ran."""
        if self.manager != "systemd":
            return False
        props = self.systemd.show(SYSTEMD_UNIT, "NeedDaemonReload", "DropInPaths")
        # systemd notices a changed drop-in (NeedDaemonReload) but not a drop-in in a directory it did not
        # watch when it loaded the unit (a first docker.service.d/*.conf): a drop-in of config_files that
        # exists and that the unit does not list needs a daemon-reload too.
        loaded = set(props.get("DropInPaths", "").split())
        new_dropins = [f for f in self.module.params.get("config_files") or []
                       if os.path.basename(os.path.dirname(f)) == SYSTEMD_UNIT + ".d" and f.endswith(".conf")
                       and os.path.isfile(f) and os.path.realpath(f) not in loaded and f not in loaded]
        if props.get("NeedDaemonReload", "").lower() != "yes" and not new_dropins:
            return False
        try:
            self.systemd.daemon_reload()
        except SystemdError as exc:
            raise DockerDaemonError("`systemctl daemon-reload` failed: %s" % exc.stderr.strip())
        return True

    def run(self, op):
        return self.systemd.command(self.command(op))

    # logs -----------------------------------------------------------------------------------
    def log_mark(self):
        """Where dockerd's log is now: (epoch, size of /var/log/docker.log or None)."""
        try:
            size = os.path.getsize(DOCKER_LOG)
        except OSError:
            size = None
        return time.time(), size

    def log_since(self, mark):
        since, size = mark
        if self.manager == "systemd":
            return self.systemd.journal("docker", journal_since(since))
        try:
            with open(DOCKER_LOG, "rb") as handle:
                now = os.fstat(handle.fileno()).st_size
                offset, length = log_window(now, size)
                handle.seek(offset)
                return handle.read(length).decode("utf-8", "replace")
        except OSError:
            return ""

    def error_lines(self, mark, err):
        """dockerd's error lines since `mark`, then those of the service command's stderr."""
        return merge_lines(extract_error_lines(self.log_since(mark)), extract_error_lines(err))

    # waiting --------------------------------------------------------------------------------
    def wait_up(self, started, command_rc, old_pid=None):
        """Wait until the API answers (from a dockerd other than old_pid when that is known).

        Returns (True, None) or (False, why). Gives up early when no dockerd process has existed for
        a while: 3 s after a failed service command, 10 s after one that reported success.
        """
        deadline = started + self.timeout
        grace = 3.0 if command_rc != 0 else 10.0
        dead_since = None
        while True:
            pid = dockerd_pid()
            if self.api.ping(PING_TIMEOUT) and (old_pid is None or pid != old_pid):
                return True, None
            now = time.time()
            if pid is None:
                dead_since = dead_since or now
                if now - dead_since >= grace:
                    return False, "no dockerd process was left; gave up after %.1f s" % (now - started)
            else:
                dead_since = None
            if now >= deadline:
                return False, "its API did not answer within %d s" % self.timeout
            time.sleep(POLL)

    # files ------------------------------------------------------------------------------------
    def restore(self, rollback_file, path, keep_failed):
        """Keep the rejected file (optional) and copy rollback_file over path. Returns the .failed path or None."""
        failed_copy = None
        if keep_failed and os.path.exists(path):
            failed_copy = path + ".failed"
            shutil.copy2(path, failed_copy)
        directory = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
        os.close(fd)
        try:
            shutil.copyfile(rollback_file, tmp)
            if not os.path.exists(path):
                shutil.copymode(rollback_file, tmp)
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return failed_copy


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def describe(argv):
    return " ".join(argv)


# ---------------------------------------------------------------------------------------------
# The actions


def do_restart(module, daemon, op, result, before):
    """start / restart with rollback. Exits the module."""
    params = module.params
    path, rollback = params["daemon_json_path"], params["rollback_file"]
    argv = daemon.command(op)
    result["daemon_reloaded"] = daemon.daemon_reload_if_needed()
    mark = daemon.log_mark()
    t0 = time.time()
    rc, _out, err = daemon.run(op)
    up, why = daemon.wait_up(t0, rc, old_pid=before["pid"] if op == "restart" else None)
    if up:
        finish_up(module, daemon, result, before, t0)
        result["msg"] = "%s dockerd in %s s (PID %s -> %s, %s)" % (
            result["action"], result["seconds"], before["pid"], result["pid_after"], result["engine_version"])
        if result["pending"]:
            result["msg"] += "; it was pending because " + "; ".join(result["pending"])
        module.exit_json(**result)

    result["error_lines"] = lines = daemon.error_lines(mark, err)
    result.update(pid_after=dockerd_pid(), engine_version=None, containers_running_after=None)
    what = "`%s`" % describe(argv)
    if rollback is None:
        raise DockerDaemonError(failure_message(what, why, lines, path))

    try:
        result["failed_config"] = daemon.restore(rollback, path, params["keep_failed_config"])
    except OSError as exc:
        raise DockerDaemonError(failure_message(what, why, lines, path, rollback,
                                                rollback_problem="copying %s over %s failed: %s" % (rollback, path, to_native(exc))),
                                exception=traceback.format_exc())
    result["rolled_back"] = True
    if daemon.manager == "systemd":
        daemon.systemd.reset_failed(SYSTEMD_UNIT)
    mark2 = daemon.log_mark()
    t1 = time.time()
    rc2, _out2, err2 = daemon.run("restart")
    recovered, _why2 = daemon.wait_up(t1, rc2)
    recovery_lines = []
    if recovered:
        finish_up(module, daemon, result, before, t1)
    else:
        recovery_lines = daemon.error_lines(mark2, err2)
        result["error_lines"] = merge_lines(lines, recovery_lines)
        result["pid_after"] = dockerd_pid()
    raise DockerDaemonError(failure_message(what, why, lines, path, rollback, restored=True,
                                            failed_copy=result["failed_config"], recovered=recovered,
                                            recovered_version=result["engine_version"], recovery_lines=recovery_lines))


def finish_up(module, daemon, result, before, t0, applied=True):
    """Fill the result once the API answers; with `applied`, note that dockerd now uses its files."""
    if applied:
        daemon_state.mark_applied(module.params["daemon_json_path"], *module.params["config_files"])
    result["seconds"] = round(time.time() - t0, 2)
    result["pid_after"] = dockerd_pid()
    version = quiet(daemon.api.version) or {}
    result["engine_version"] = version.get("Version")
    info = quiet(daemon.api.info) or {}
    if "LiveRestoreEnabled" in info:
        result["live_restore"] = bool(info["LiveRestoreEnabled"])
    after = running_ids(daemon.api)
    result["containers_running_after"] = None if after is None else len(after)
    if before["containers"] is not None and after is not None:
        result.update(container_changes(before["containers"], after))
        if result["containers_stopped"]:
            noun = {"restarted": "restart", "started": "start", "reloaded": "reload"}.get(result["action"], "action")
            module.warn("%d running container(s) were stopped by the %s (live-restore is %s): containers with a "
                        "restart policy are started again by dockerd, the others stay stopped"
                        % (result["containers_stopped"], noun, "on" if result["live_restore"] else "off"))


def do_reload(module, daemon, result, before):
    """SIGHUP through the service manager (or to the pidfile's PID). Exits the module."""
    params = module.params
    path, rollback = params["daemon_json_path"], params["rollback_file"]
    outcome, lines, t0 = send_reload(module, daemon, before["pid"])
    if outcome != "rejected":
        if outcome is None:
            module.warn("could not confirm from dockerd's log that it reloaded its configuration")
        finish_up(module, daemon, result, before, t0, applied=outcome == "reloaded")
        if result["pid_after"] != before["pid"]:
            raise DockerDaemonError("dockerd's PID changed during the reload (%s -> %s)" % (before["pid"], result["pid_after"]))
        result["msg"] = "reloaded dockerd's configuration (PID %s)" % result["pid_after"]
        module.exit_json(**result)

    result["error_lines"] = lines
    msg = ("dockerd rejected the configuration on reload and keeps running with its previous one; dockerd said: %s."
           % " | ".join(lines))
    if rollback is None:
        finish_up(module, daemon, result, before, t0, applied=False)
        raise DockerDaemonError(msg + (" No rollback_file was given: %s was left as it is, and dockerd will refuse to "
                                       "start with it at its next restart." % path))
    try:
        result["failed_config"] = daemon.restore(rollback, path, params["keep_failed_config"])
    except OSError as exc:
        finish_up(module, daemon, result, before, t0, applied=False)
        raise DockerDaemonError(msg + " Restoring %s from %s failed: %s." % (path, rollback, to_native(exc)))
    result["rolled_back"] = True
    outcome2, lines2, t1 = send_reload(module, daemon, before["pid"])
    finish_up(module, daemon, result, before, t1, applied=outcome2 != "rejected")
    kept = " (the rejected file is kept as %s)" % result["failed_config"] if result["failed_config"] else ""
    if outcome2 == "reloaded":
        second = "dockerd accepted it"
    elif outcome2 == "rejected":
        second = "dockerd rejected it too (%s)" % " | ".join(lines2)
        result["error_lines"] = merge_lines(lines, lines2)
    else:
        second = "not confirmed in dockerd's log"
    msg += " Restored %s from %s%s and reloaded again: %s." % (path, rollback, kept, second)
    raise DockerDaemonError(msg)


def send_reload(module, daemon, pid):
    """Returns (outcome, error lines, start time); outcome: reloaded | rejected | None (not seen)."""
    mark = daemon.log_mark()
    signals_before = reload_signals(daemon.log_since(mark))
    t0 = time.time()
    rc, out, err = daemon.run("reload")
    if rc != 0:
        if pid is None:
            raise DockerDaemonError("`%s` failed (rc=%d: %s) and dockerd's pidfile has no running PID to send SIGHUP to"
                                    % (describe(daemon.command("reload")), rc, (err or out).strip()))
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError as exc:
            raise DockerDaemonError("cannot send SIGHUP to dockerd (PID %d): %s" % (pid, to_native(exc)))
    deadline = t0 + min(daemon.timeout, 15)
    while True:
        outcome, lines = reload_outcome(daemon.log_since(mark), signals_before)
        if outcome is not None or time.time() >= deadline:
            return outcome, lines, t0
        time.sleep(POLL)


# ---------------------------------------------------------------------------------------------


def detect_manager(module):
    systemd_booted = os.path.isdir(SYSTEMD_RUN_DIR)
    systemd = Systemd.for_module(module)
    systemctl = systemd.path("systemctl")
    works = None
    if systemd_booted and systemctl and module.params["service_manager"] == "auto":
        works = systemd.works()
    init_script = INIT_SCRIPT if os.path.isfile(INIT_SCRIPT) else None
    return choose_service_manager(module.params["service_manager"], systemd_booted, systemctl, works,
                                  module.get_bin_path("service"), init_script)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="restarted", choices=list(STATES)),
            rollback_file=dict(type="path"),
            daemon_json_path=dict(type="path", default="/etc/docker/daemon.json"),
            config_files=dict(type="list", elements="path", default=[]),
            keep_failed_config=dict(type="bool", default=True),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock", fallback=(env_fallback, ["DOCKER_HOST"])),
            timeout=dict(type="int", default=60),
            service_manager=dict(type="str", default="auto", choices=list(MANAGER_CHOICES)),
        ),
        supports_check_mode=True,
    )
    result = {}
    try:
        manage(module, result)
    except CrosshostError as err:
        fail(module, err, **result)


def manage(module, result):
    """The module's work. Fills `result` (which a failure returns too) and exits the module, or raises CrosshostError."""
    params = module.params
    if params["timeout"] < 1:
        raise DockerDaemonError("timeout=%d: use a number of seconds >= 1" % params["timeout"])
    api = docker_api.connect_plain(params["docker_host"])
    manager, _reason = detect_manager(module)

    if params["rollback_file"] is not None:
        if os.path.realpath(params["rollback_file"]) == os.path.realpath(params["daemon_json_path"]):
            raise DockerDaemonError("rollback_file is daemon_json_path itself (%s): give the previous version of the "
                                    "file, for example the backup_file of daemon_json. Nothing was done to dockerd."
                                    % params["rollback_file"])
        problem = check_rollback_text(params["rollback_file"], read_text(params["rollback_file"]))
        if problem:
            raise DockerDaemonError("rollback_file: %s. Nothing was done to dockerd." % problem)

    daemon = Daemon(module, manager, api)
    api_up = api.ping(PING_TIMEOUT)
    pid = dockerd_pid()
    before = {"pid": pid, "containers": running_ids(api) if api_up else None}
    info = quiet(api.info) if api_up else None
    live_restore = live_restore_setting(read_text(params["daemon_json_path"]))
    if live_restore is None and isinstance(info, dict) and "LiveRestoreEnabled" in info:
        live_restore = bool(info["LiveRestoreEnabled"])

    reasons = []
    if params["state"] == "applied" and api_up:
        reasons = pending(module, api, pid)
    if params["state"] == "applied" and api_up and not reasons:
        decision = dict(op=None, action=ACTION_NONE, changed=False, note=None)
    else:
        decision = plan(params["state"], api_up, pid is not None)
    op = decision["op"]
    version = (quiet(api.version) or {}).get("Version") if api_up else None
    result.update(
        changed=decision["changed"], action=decision["action"], service_manager=manager,
        command=describe(daemon.command(op)) if op else None,
        engine_version=version, pid_before=pid, pid_after=pid, seconds=None, live_restore=live_restore,
        containers_running_before=None if before["containers"] is None else len(before["containers"]),
        containers_running_after=None if before["containers"] is None else len(before["containers"]),
        containers_kept_running=None, containers_stopped=None,
        rolled_back=False, failed_config=None, error_lines=[], pending=reasons, daemon_reloaded=False, diff={},
    )
    if decision["note"]:
        module.warn(decision["note"])
    if op is None:
        result["msg"] = "dockerd is running (PID %s, %s)%s: nothing to do" % (
            pid, version, " and uses its configuration" if params["state"] == "applied" else "")
        module.exit_json(**result)
    if module.check_mode:
        result["msg"] = "check mode: would run `%s`" % result["command"]
        if reasons:
            result["msg"] += " (restart pending: %s)" % "; ".join(reasons)
        module.exit_json(**result)

    if op == "reload":
        do_reload(module, daemon, result, before)
    do_restart(module, daemon, op, result, before)


if __name__ == "__main__":
    main()
