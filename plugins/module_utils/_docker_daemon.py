# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of crosshost.docker.docker_daemon: no I/O, no Ansible imports.

* which service manager runs docker, from facts the module observed (choose_service_manager);
* the command for an operation under that manager (service_command);
* what to do for a requested state given what is running (plan);
* dockerd's own error lines out of /var/log/docker.log text or `journalctl -o short-iso` output
  (extract_error_lines), and whether a SIGHUP reload was accepted (reload_outcome);
* a minimal HTTP/1.0 response parser for the Docker API on a unix socket (parse_http_response);
* live-restore from daemon.json text, container bookkeeping and the failure message.

What dockerd prints when it refuses to start (measured on the lab, 20.10.24 / 26.1.5 / 28.5.2): the
decisive line is NOT a logrus line but a plain line written to stderr just before exit, e.g.
``failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33``
or ``unable to configure the Docker daemon with file /etc/docker/daemon.json: ...``. The logrus
``level=error`` lines around it are mostly shutdown noise (``Failed to get event``), so they are only
used when no plain or fatal line exists.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time

from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api
from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import (  # pylint: disable=unused-import
    http_request,
    parse_http_response,
)
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, DockerApiError

STATES = ("restarted", "reloaded", "started", "applied")
MANAGERS = ("systemd", "sysvinit", "service")
MANAGER_CHOICES = ("auto",) + MANAGERS
OPS = ("start", "restart", "reload")

SYSTEMD_UNIT = "docker.service"
INIT_SCRIPT = "/etc/init.d/docker"
SYSTEMD_RUN_DIR = "/run/systemd/system"
DOCKER_LOG = "/var/log/docker.log"

ACTION_NONE = "none (already running)"


class DockerDaemonError(CrosshostError):
    """A problem the user has to fix (message is shown as is)."""


# ---------------------------------------------------------------------------------------------
# Service manager


def choose_service_manager(requested, systemd_booted, systemctl, systemctl_works, service, init_script):
    """Pick the service manager. Returns (manager, reason); raises DockerDaemonError if impossible.

    requested        auto | systemd | sysvinit | service
    systemd_booted   /run/systemd/system exists (systemd is PID 1)
    systemctl        path of systemctl or None
    systemctl_works  `systemctl show --property=Version` succeeded (None: not tried)
    service          path of the `service` command or None
    init_script      path of /etc/init.d/docker when it exists, else None
    """
    if requested not in MANAGER_CHOICES:
        raise DockerDaemonError("service_manager=%s: use one of %s" % (requested, ", ".join(MANAGER_CHOICES)))
    if requested == "systemd":
        if not systemctl:
            raise DockerDaemonError("service_manager=systemd, but there is no systemctl on this host")
        return "systemd", "requested"
    if requested == "service":
        if not service:
            raise DockerDaemonError("service_manager=service, but there is no `service` command on this host")
        return "service", "requested"
    if requested == "sysvinit":
        if not init_script:
            raise DockerDaemonError("service_manager=sysvinit, but %s does not exist" % INIT_SCRIPT)
        return "sysvinit", "requested"

    if systemd_booted and systemctl and systemctl_works:
        return "systemd", "%s exists and systemctl works" % SYSTEMD_RUN_DIR
    if service and init_script:
        return "service", "no running systemd; `service` and %s exist" % init_script
    if init_script:
        return "sysvinit", "no running systemd and no `service` command; %s exists" % init_script
    checked = []
    if not systemd_booted:
        checked.append("%s does not exist" % SYSTEMD_RUN_DIR)
    elif not systemctl:
        checked.append("no systemctl")
    else:
        checked.append("systemctl does not work")
    checked.append("%s does not exist" % INIT_SCRIPT)
    raise DockerDaemonError("cannot tell how docker is run on this host (%s): set service_manager"
                            % "; ".join(checked))


def service_command(manager, op, systemctl="systemctl", service="service", init_script=INIT_SCRIPT):
    """argv that performs `op` (start | restart | reload | stop | status) under `manager`."""
    if manager == "systemd":
        return [systemctl, op, SYSTEMD_UNIT]
    if manager == "service":
        return [service, "docker", op]
    if manager == "sysvinit":
        return [init_script, op]
    raise DockerDaemonError("unknown service manager %r" % (manager,))


# ---------------------------------------------------------------------------------------------
# Decision table


def plan(state, api_up, pid_alive):
    """What to do. Returns dict(op, action, changed, note).

    op is None (nothing to do) or one of start | restart | reload. `changed` is what the module
    reports, in check mode too. `note` explains a deviation from the requested state.
    """
    if state not in STATES:
        raise DockerDaemonError("state=%s: use one of %s" % (state, ", ".join(STATES)))
    hung = (not api_up) and pid_alive
    if state == "started":
        if api_up:
            return dict(op=None, action=ACTION_NONE, changed=False, note=None)
        if hung:
            return dict(op="restart", action="restarted", changed=True,
                        note="dockerd runs but its API does not answer: restarting it")
        return dict(op="start", action="started", changed=True, note=None)
    if state == "applied":
        # Only reached when a restart is pending (see pending_reasons); otherwise nothing to do.
        if api_up or hung:
            return dict(op="restart", action="restarted", changed=True,
                        note="dockerd runs but its API does not answer" if hung else None)
        return dict(op="start", action="started", changed=True, note="dockerd was not running: starting it")
    if state == "restarted":
        if api_up or hung:
            return dict(op="restart", action="restarted", changed=True,
                        note="dockerd runs but its API does not answer" if hung else None)
        return dict(op="start", action="started", changed=True, note="dockerd was not running: starting it")
    # reloaded
    if api_up:
        return dict(op="reload", action="reloaded", changed=True, note=None)
    if hung:
        return dict(op="restart", action="restarted", changed=True,
                    note="dockerd runs but its API does not answer: restarting instead of reloading")
    return dict(op="start", action="started", changed=True,
                note="dockerd was not running: starting it (it reads daemon.json at start) instead of reloading")


# ---------------------------------------------------------------------------------------------
# Pending restart: does the running dockerd use what daemon.json (and its other config files) say?

_TRUE = ("true", "1", "yes")


def _bridge_option(options, name):
    value = (options or {}).get("com.docker.network.bridge." + name)
    return None if value is None else str(value).lower() in _TRUE


def _same_interface(want, have):
    """'10.0.0.1/24' against docker0's '10.0.0.1/24' (both as ip/prefix)."""
    try:
        return ipaddress.ip_interface(str(want)) == ipaddress.ip_interface(str(have))
    except ValueError:
        return str(want) == str(have)


def pending_reasons(config, running, files=(), started=None, applied=None):
    """Why the running dockerd does not use its configuration: a list of reasons, empty when it does.

    config   daemon.json as a dict ({} when the file is absent or empty)
    running  what the running daemon shows; each key may be missing or None (= cannot be told):
             bridge_address  docker0's address as 'ip/prefix'
             bridge_options  Options of the default `bridge` network (GET /networks/bridge)
             info            GET /info
             raw_drops       True when Docker >= 28 drops routed traffic to a running container on
                             docker0 in the raw table (allow-direct-routing off); False when such a
                             container exists without the drop; None when nothing can be told
    files    (path, mtime or None, sha256 or None) of the files dockerd reads at start
    started  when the running dockerd started (epoch seconds), None when not running
    applied  {path: sha256} of files whose current content a reload already applied

    Keys the running daemon shows are compared by value (the only check for a file that has not
    changed since dockerd started); any other change is caught because the file is newer than dockerd.
    """
    reasons = []
    running = running or {}
    config = config if isinstance(config, dict) else {}
    options = running.get("bridge_options")
    info = running.get("info") if isinstance(running.get("info"), dict) else None

    bip = config.get("bip")
    have = running.get("bridge_address")
    if bip and have and not _same_interface(bip, have):
        reasons.append("bip is %s in daemon.json, but docker0 has %s" % (bip, have))
    for key, option, default in (("ip-masq", "enable_ip_masquerade", True), ("icc", "enable_icc", True)):
        want = config.get(key, default)
        got = _bridge_option(options, option)
        if isinstance(want, bool) and got is not None and got != want:
            reasons.append("%s is %s in daemon.json, but the running bridge network has %s"
                           % (key, str(want).lower(), str(got).lower()))
    mtu = config.get("mtu")
    got_mtu = (options or {}).get("com.docker.network.driver.mtu")
    if mtu is not None and got_mtu is not None and str(mtu) != str(got_mtu):
        reasons.append("mtu is %s in daemon.json, but the running bridge network has %s" % (mtu, got_mtu))
    if info is not None and "ClusterStore" in info:
        want_store = config.get("cluster-store") or ""
        got_store = info.get("ClusterStore") or ""
        if want_store != got_store:
            reasons.append("cluster-store is %s in daemon.json, but dockerd runs with %s"
                           % (want_store or "not set", got_store or "none"))
    if info is not None and "LiveRestoreEnabled" in info:
        want_lr = config.get("live-restore", False)
        if isinstance(want_lr, bool) and bool(info["LiveRestoreEnabled"]) != want_lr:
            reasons.append("live-restore is %s in daemon.json, but dockerd runs with %s"
                           % (str(want_lr).lower(), str(bool(info["LiveRestoreEnabled"])).lower()))
    if config.get("allow-direct-routing") is True and running.get("raw_drops") is True:
        reasons.append("allow-direct-routing is true in daemon.json, but dockerd drops routed traffic to its "
                       "containers (raw table)")
    applied = applied or {}
    if started is not None:
        for path, mtime, digest in files:
            if mtime is None or mtime <= started:
                continue
            if digest is not None and applied.get(path) == digest:
                continue
            reasons.append("%s changed at %s, after dockerd started at %s"
                           % (path, _stamp(mtime), _stamp(started)))
    return reasons


def _stamp(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def process_start_time(stat_text, boot_time, ticks_per_second):
    """Start of a process (epoch seconds) from the text of /proc/PID/stat; None when unreadable."""
    try:
        fields = stat_text[stat_text.rindex(")") + 2:].split()
        return boot_time + int(fields[19]) / float(ticks_per_second)
    except (ValueError, IndexError, TypeError):
        return None


def boot_time(proc_stat_text):
    for line in (proc_stat_text or "").splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    return None


def container_changes(before, after):
    """Running container IDs before/after a restart -> counts."""
    before, after = set(before or ()), set(after or ())
    return {"containers_kept_running": len(before & after), "containers_stopped": len(before - after)}


def live_restore_setting(daemon_json_text):
    """`live-restore` from daemon.json text: True/False, or None when absent or unreadable."""
    if daemon_json_text is None or not daemon_json_text.strip():
        return None
    try:
        data = json.loads(daemon_json_text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "live-restore" not in data:
        return None
    value = data["live-restore"]
    return value if isinstance(value, bool) else None


def check_rollback_text(path, text):
    """Whether a rollback file can be restored: returns None when fine, else a reason.

    dockerd rejects anything that is not a JSON object (23.0+ accept an empty file, 20.10 does not).
    """
    if text is None:
        return "%s cannot be read" % path
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        return "%s is not valid JSON (%s): it cannot be used to bring dockerd back" % (path, exc)
    if not isinstance(data, dict):
        return "%s holds JSON but not an object: it cannot be used to bring dockerd back" % path
    return None


# ---------------------------------------------------------------------------------------------
# Logs


_LOGRUS = re.compile(r'^time="?[^" ]+"?\s+level=(\w+)\s')
_KV = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')
# journalctl -o short-iso:  2026-11-23T14:58:02+0000 host dockerd[1234]: message
# journalctl (short):       Nov 23 14:58:02 host dockerd[1234]: message
_JOURNAL = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*|[A-Za-z]{3,4}\.?\s+\d{1,2}\s+\d\d:\d\d:\d\d)\s+\S+\s+"
    r"(?P<ident>[^\s\[:]+)(?:\[\d+\])?:\s?(?P<msg>.*)$")
_SYSTEMD_FAILURE = re.compile(r"fail|exited|repeated too quickly|timed out|dumped|start-limit", re.I)
_JOURNAL_NOISE = re.compile(r"^-- (No entries|Logs begin|Journal begins|Boot )")
_INIT_HEADER = re.compile(r"^docker failed to start; dockerd said:$")


def parse_logrus(line):
    """`time="..." level=error msg="x" error="y"` -> dict of fields (unquoted), or None."""
    if not _LOGRUS.match(line):
        return None
    fields = {}
    for key, value in _KV.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        fields[key] = value
    return fields


def split_journal_line(line):
    """(ident, message) of a journalctl line, or (None, line) for a plain log-file line."""
    m = _JOURNAL.match(line)
    if not m:
        return None, line
    return m.group("ident"), m.group("msg")


def _render(fields):
    text = fields.get("msg", "")
    err = fields.get("error")
    if err and err not in text:
        text = "%s: %s" % (text, err) if text else err
    return text


def extract_error_lines(text, limit=15):
    """dockerd's own error lines from log-file text or journalctl output, oldest first, deduplicated.

    Kept, in the order seen: plain (non-logrus) lines from dockerd (its last words on stderr),
    logrus lines at level fatal/panic (rendered as `msg: error`), and systemd's own lines about the
    unit failing. logrus level=error lines are used only when none of those exist.
    """
    primary, secondary = [], []
    for raw in (text or "").splitlines():
        line = raw.rstrip()
        if not line.strip() or _JOURNAL_NOISE.match(line) or _INIT_HEADER.match(line.strip()):
            continue
        ident, msg = split_journal_line(line)
        msg = msg.strip()
        if not msg:
            continue
        if ident in ("systemd", "init"):
            if _SYSTEMD_FAILURE.search(msg):
                primary.append(msg)
            continue
        fields = parse_logrus(msg)
        if fields is None:
            primary.append(msg)
        elif fields.get("level") in ("fatal", "panic"):
            primary.append(_render(fields))
        elif fields.get("level") == "error":
            secondary.append(_render(fields))
    chosen = primary or secondary
    seen, out = set(), []
    for line in chosen:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out[-limit:] if limit else out


def merge_lines(*groups, **kwargs):
    """Concatenate line lists without repeats, keeping the first occurrence; at most `limit` (20)."""
    limit = kwargs.get("limit", 20)
    seen, out = set(), []
    for group in groups:
        for line in group or ():
            if line not in seen:
                seen.add(line)
                out.append(line)
    return out[:limit]


RELOAD_SIGNAL = "Got signal to reload configuration"


def reload_signals(text):
    """How many times dockerd logged that it got SIGHUP in `text`."""
    return sum(1 for raw in (text or "").splitlines() if RELOAD_SIGNAL in raw)


def reload_outcome(text, signals_before=0):
    """After a SIGHUP: ('reloaded', []) / ('rejected', error lines) / (None, []) when not seen yet.

    20.10 / 26: msg="Reloaded configuration: {...}" or level=error msg="unable to configure ...".
    28:         msg="Reloaded configuration" config=... or level=error msg="Error reloading configuration" error="...".
    Only lines after the last "Got signal to reload configuration" count, and only when there are more
    such lines than `signals_before` (the journal window can hold an earlier reload of the same second).
    """
    lines = (text or "").splitlines()
    start, signals = None, 0
    for i, raw in enumerate(lines):
        if RELOAD_SIGNAL in raw:
            start, signals = i + 1, signals + 1
    if start is None or signals <= signals_before:
        return None, []
    errors = []
    for raw in lines[start:]:
        _ident, msg = split_journal_line(raw.rstrip())
        fields = parse_logrus(msg.strip())
        if fields is None:
            continue
        if fields.get("msg", "").startswith("Reloaded configuration"):
            return "reloaded", []
        if fields.get("level") in ("error", "fatal"):
            rendered = _render(fields)
            if "configur" in rendered:
                errors.append(rendered)
    if errors:
        return "rejected", errors
    return None, []


def journal_since(epoch):
    """`journalctl --since` value (local time, second precision) one second before `epoch`."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(epoch) - 1))


def log_window(size_now, mark, max_bytes=262144):
    """(offset, length) of the part of a log file written since it was `mark` bytes long.

    A file that shrank (rotated or truncated) is read from its start. At most the last `max_bytes`.
    """
    start = mark if mark is not None and 0 <= mark <= size_now else 0
    length = size_now - start
    if length > max_bytes:
        start, length = size_now - max_bytes, max_bytes
    return start, length


# ---------------------------------------------------------------------------------------------
# Docker API over a socket: module_utils/_docker_api (http_request and parse_http_response live there)


def docker_address(docker_host):
    """('unix', path) or ('tcp', (host, port)) for a docker_host value; raises DockerDaemonError."""
    try:
        return _docker_api.docker_address(docker_host)
    except DockerApiError as exc:
        raise DockerDaemonError(str(exc))


# ---------------------------------------------------------------------------------------------
# Messages


# Lines of systemd or systemctl about the unit, not dockerd's own words.
_SERVICE_MANAGER_LINE = re.compile(r"^(docker\.service: |Failed to start |Job for docker\.service |See \"systemctl )")


def _said(lines, limit=6):
    """At most `limit` lines, in their order: dockerd's own first in the choice (a systemd unit that
    restarts a failing dockerd adds more lines of its own than dockerd wrote, after them), then the
    service manager's latest."""
    if not lines:
        return "dockerd printed no error line we could find"
    own = [i for i, line in enumerate(lines) if not _SERVICE_MANAGER_LINE.match(line)][-limit:]
    others = [i for i in range(len(lines)) if i not in own]
    chosen = sorted(own + others[len(others) - (limit - len(own)):] if len(own) < limit else own)
    return "dockerd said: " + " | ".join(lines[i] for i in chosen)


def failure_message(what, why, error_lines, daemon_json_path, rollback_file=None, restored=False,
                    failed_copy=None, recovered=False, recovered_version=None, recovery_lines=None,
                    rollback_problem=None):
    """The module's failure message after dockerd did not come back.

    what       the command that was run, e.g. "`service docker restart`"
    why        how waiting ended, e.g. "its API did not answer within 60 s"
    recovered  True when the API answered again after the rollback
    """
    msg = "dockerd did not come back after %s (%s); %s." % (what, why, _said(error_lines))
    if rollback_file is None:
        return msg + (" No rollback_file was given, so %s was left as it is and docker is NOT running on this "
                      "host: fix the file and start docker." % daemon_json_path)
    if rollback_problem:
        return msg + " The rollback was not done: %s. Docker is NOT running on this host." % rollback_problem
    msg += " Restored %s from %s" % (daemon_json_path, rollback_file) if restored else " Did not restore %s" % daemon_json_path
    if failed_copy:
        msg += " (the rejected file is kept as %s)" % failed_copy
    if recovered:
        return msg + "; dockerd is running again (%s)." % (recovered_version or "version unknown")
    return msg + ("; but dockerd STILL DOES NOT START (%s). Docker is NOT running on this host: fix %s and "
                  "start docker." % (_said(recovery_lines or []), daemon_json_path))
