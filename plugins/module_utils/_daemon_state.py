# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the running dockerd use its configuration? The host side of that question (stdlib only).

Reads daemon.json and the other files dockerd reads at start, when dockerd started (its pidfile),
docker0's address, and, from what the caller got from the Docker API (``/networks/bridge``,
``/info``, ``/version``) and the raw table, the running values; the comparison itself is the pure
``_docker_daemon.pending_reasons``. Used by crosshost.docker.docker_daemon (state=applied) and
crosshost.docker.connectivity (the cause "daemon.json is not applied").
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import struct

from ansible_collections.crosshost.docker.plugins.module_utils._docker_daemon import (
    DockerDaemonError,
    boot_time,
    pending_reasons,
    process_start_time,
)
from ansible_collections.crosshost.docker.plugins.module_utils._engine import PIDFILES

APPLIED_MARK = "/run/crosshost-docker/applied.json"
SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891B


def interface_address(name):
    """'ip/prefix' of an interface's primary IPv4 address, None when it has none."""
    packed = struct.pack("256s", name[:15].encode("utf-8"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFADDR, packed)[20:24])
        mask = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFNETMASK, packed)[20:24])
    except OSError:
        return None
    finally:
        sock.close()
    prefix = sum(bin(int(part)).count("1") for part in mask.split("."))
    return "%s/%d" % (address, prefix)


def file_facts(path):
    """(path, mtime, sha256) of a file; (path, None, None) when it does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
            mtime = os.fstat(handle.fileno()).st_mtime
    except OSError:
        return path, None, None
    return path, mtime, hashlib.sha256(data).hexdigest()


def started_at(pid):
    """When the running dockerd started (epoch seconds), after it read its configuration.

    dockerd writes its pidfile at start, after loading daemon.json: the pidfile's mtime (to the
    nanosecond) is the best mark. Without one, the process start time from /proc, which can be up to
    a second early (the kernel's boot time is given in whole seconds), so it is rounded up."""
    for pidfile in PIDFILES:
        try:
            with open(pidfile) as handle:
                if int(handle.read().strip()) == pid:
                    return os.stat(pidfile).st_mtime
        except (OSError, ValueError):
            continue
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
        with open("/proc/stat") as handle:
            btime = boot_time(handle.read())
    except (OSError, TypeError):
        return None
    if btime is None:
        return None
    started = process_start_time(stat, btime, os.sysconf("SC_CLK_TCK"))
    return None if started is None else started + 1.0


def raw_drops(raw_rules, bridge, engine):
    """Docker >= 28 without allow-direct-routing: a raw PREROUTING DROP for a container's address that
    does not come in on the bridge. True/False when a running container on the bridge tells, else None.
    ``raw_rules()`` returns `iptables -t raw -S PREROUTING` output or None."""
    try:
        major = int(str(engine or "0").split(".", maxsplit=1)[0])
    except ValueError:
        return None
    addresses = [c.get("IPv4Address", "").split("/")[0] for c in ((bridge or {}).get("Containers") or {}).values()]
    addresses = [a for a in addresses if a]
    if major < 28 or not addresses:
        return None
    out = raw_rules()
    if out is None:
        return None
    dropped = set()
    for line in out.splitlines():
        parts = line.split()
        if "-d" in parts and parts[-2:] == ["-j", "DROP"]:
            dropped.add(parts[parts.index("-d") + 1].split("/")[0])
    return any(a in dropped for a in addresses)


def read_applied():
    try:
        with open(APPLIED_MARK) as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def mark_applied(*paths):
    """After a restart or reload that dockerd took: the current content of ``paths`` is what it uses.

    So a file rewritten later with the same content (``cp`` of a backup, say) is not taken for a pending
    change, although it is newer than dockerd. The mark lives in /run: a reboot forgets it, and dockerd
    starts after the files then anyway."""
    data = read_applied()
    for path in paths:
        _path, _mtime, digest = file_facts(path)
        if digest is None:
            data.pop(path, None)
        else:
            data[path] = digest
    try:
        os.makedirs(os.path.dirname(APPLIED_MARK), exist_ok=True)
        tmp = APPLIED_MARK + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(data, handle)
        os.rename(tmp, APPLIED_MARK)
    except OSError:
        pass


class UnreadableConfig(DockerDaemonError):
    """daemon.json that dockerd could not read; `problem` says what is wrong, without advice on dockerd."""

    def __init__(self, problem):
        super().__init__("%s. Fix the file (for example with crosshost.docker.daemon_json) before applying it. "
                         "Nothing was done to dockerd." % problem)
        self.problem = problem


def read_config(path):
    """daemon.json as a dict ({} when absent or empty); UnreadableConfig when it is not a JSON object."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return {}
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise UnreadableConfig("%s is not valid JSON (%s)" % (path, exc))
    if not isinstance(config, dict):
        raise UnreadableConfig("%s does not hold a JSON object" % path)
    return config


def pending(daemon_json_path, config_files, pid, bridge, info, version, raw_rules):
    """Why a restart is pending: [reason], empty when the running dockerd uses its configuration.

    ``bridge``, ``info``: GET /networks/bridge and /info (None when not known); ``version`` the engine
    version; ``raw_rules()`` the raw PREROUTING rules (see raw_drops)."""
    config = read_config(daemon_json_path)
    bridge = bridge or {}
    options = bridge.get("Options") or {}
    running = dict(
        bridge_options=options or None,
        bridge_address=interface_address(options.get("com.docker.network.bridge.name") or "docker0") if bridge else None,
        info=info if isinstance(info, dict) else None,
        raw_drops=raw_drops(raw_rules, bridge, version),
    )
    files = [file_facts(daemon_json_path)] + [file_facts(f) for f in config_files or ()]
    return pending_reasons(config, running, files, started_at(pid) if pid else None, read_applied())
