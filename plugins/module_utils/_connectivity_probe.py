# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe primitives of the connectivity module: standard library only, Linux.

Everything here runs from the managed host, inside the network namespace of a container:
`in_netns(pid)` moves the calling *thread* into the namespace of process `pid` (setns(2)) and back.
Sockets created and programs started inside the block live in that namespace; other threads and
the rest of the process are unaffected, so several containers can be probed in parallel. Because
the tools are the host's (Python, iputils ping), the container image needs nothing but `sleep`.

- `tcp_probe` connects to a probe server and reads back the source address the server saw.
- `start_server` starts that server as a detached process in a container's namespace: it answers
  each connection with ``crosshost-probe <source ip> <source port>`` and logs the sources, and it
  ends on its own after `lifetime` seconds.
- `dns_query` asks Docker's embedded DNS server (127.0.0.11) for a container name.
- `interfaces` lists the namespace's IPv4 interfaces with their MTU.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import threading
import time

from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError

CLONE_NEWNET = 0x40000000
SIOCGIFADDR = 0x8915
SIOCGIFMTU = 0x8921
REPLY_WORD = "crosshost-probe"
DOCKER_DNS = "127.0.0.11"
SERVER_COMM = "crosshost-probe"  # the server's process name (/proc/<pid>/comm, at most 15 characters)
PR_SET_NAME = 15

_LIBC = []


class ProbeError(BackendError):
    """A probe primitive could not run (not a failed test: those are results)."""


def _setns(fd):
    setns = getattr(os, "setns", None)  # Python >= 3.12
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _thread_netns_path():
    return "/proc/self/task/%d/ns/net" % threading.get_native_id()


@contextlib.contextmanager
def in_netns(pid, proc_root="/proc"):
    """Run the block in the network namespace of process `pid` (this thread only); None: stay."""
    if pid is None:
        yield
        return
    try:
        target = os.open("%s/%d/ns/net" % (proc_root, int(pid)), os.O_RDONLY)
    except OSError as exc:
        raise ProbeError("cannot open the network namespace of process %s: %s" % (pid, exc.strerror or exc))
    own = os.open(_thread_netns_path(), os.O_RDONLY)
    try:
        try:
            _setns(target)
        except OSError as exc:
            raise ProbeError("cannot enter the network namespace of process %s: %s (needs root)"
                             % (pid, exc.strerror or exc))
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def _libc():
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def netns_inode(pid, proc_root="/proc"):
    """Identity of a process's network namespace (the inode of /proc/<pid>/ns/net), or None."""
    try:
        return os.stat("%s/%d/ns/net" % (proc_root, int(pid))).st_ino
    except (OSError, ValueError, TypeError):
        return None


def interfaces():
    """IPv4 interfaces of the current (thread's) namespace: [{name, index, address, mtu}]."""
    out = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for index, name in socket.if_nameindex():
            packed = struct.pack("256s", name.encode()[:15])
            try:
                address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFADDR, packed)[20:24])
            except OSError:
                address = None
            try:
                mtu = struct.unpack("I", fcntl.ioctl(sock.fileno(), SIOCGIFMTU, packed)[16:20])[0]
            except OSError:
                mtu = None
            out.append({"name": name, "index": index, "address": address, "mtu": mtu})
    finally:
        sock.close()
    return out


def error_name(exc):
    """Short, stable name for a socket error: timeout, refused, host unreachable, ..."""
    if isinstance(exc, socket.timeout):
        return "timeout"
    code = getattr(exc, "errno", None)
    return {
        errno.ECONNREFUSED: "refused",
        errno.EHOSTUNREACH: "host unreachable",
        errno.ENETUNREACH: "network unreachable",
        errno.ECONNRESET: "reset",
        errno.ETIMEDOUT: "timeout",
        errno.EPERM: "not permitted",
        errno.EACCES: "not permitted",
        errno.EADDRNOTAVAIL: "address not available",
    }.get(code, str(exc))


def parse_reply(text):
    """(seen address, seen port) from a probe server's answer, or (None, None)."""
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == REPLY_WORD:
            try:
                return parts[1], int(parts[2])
            except ValueError:
                return parts[1], None
    return None, None


def tcp_probe(address, port, timeout):
    """Connect to a probe server; {ok, error, seen, seen_port, local, local_port, reply}."""
    result = {"ok": False, "error": None, "seen": None, "seen_port": None, "local": None, "local_port": None,
              "reply": None}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, int(port)))
        result["local"], result["local_port"] = sock.getsockname()[:2]
        data = b""
        while len(data) < 512:
            chunk = sock.recv(512)
            if not chunk:
                break
            data += chunk
            if b"\n" in data:
                break
        result["reply"] = data.decode("utf-8", "replace").strip()
        result["seen"], result["seen_port"] = parse_reply(result["reply"])
        result["ok"] = True
        if result["seen"] is None:
            result["error"] = "no probe answer (something else listens on port %s)" % port
    except (OSError, socket.timeout) as exc:
        result["error"] = error_name(exc)
    finally:
        sock.close()
    return result


def run_ping(argv, timeout):
    """Run a ping command line in the current thread's namespace: (rc, stdout, stderr)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5, check=False)
    except subprocess.TimeoutExpired as exc:
        return 1, exc.stdout or "", "ping did not end in time"
    except OSError as exc:
        return 127, "", "cannot run %s: %s" % (argv[0], exc.strerror or exc)
    return proc.returncode, proc.stdout, proc.stderr


# --- DNS (one A query over UDP, enough for Docker's embedded server) ----------------------------

def dns_build_query(name, qid):
    labels = [part for part in name.strip(".").split(".") if part]
    if not labels or any(len(part) > 63 for part in labels):
        raise ProbeError("not a DNS name: %r" % name)
    qname = b"".join(struct.pack("B", len(part)) + part.encode("ascii") for part in labels) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)


def _skip_name(data, offset):
    while True:
        if offset >= len(data):
            raise ProbeError("truncated DNS answer")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def dns_parse_answer(data, qid):
    """IPv4 addresses in a DNS answer to query `qid` ([] for NXDOMAIN or no A records)."""
    if len(data) < 12:
        raise ProbeError("truncated DNS answer")
    rid, flags, qdcount, ancount = struct.unpack(">HHHH", data[:8])
    if rid != qid:
        raise ProbeError("DNS answer for another query")
    rcode = flags & 0xF
    if rcode not in (0, 3):
        raise ProbeError("DNS server error (rcode %d)" % rcode)
    offset = 12
    for _i in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _i in range(ancount):
        offset = _skip_name(data, offset)
        if offset + 10 > len(data):
            raise ProbeError("truncated DNS answer")
        rtype, rclass, _ttl, rdlength = struct.unpack(">HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 1 and rclass == 1 and rdlength == 4:
            addresses.append(socket.inet_ntoa(data[offset:offset + 4]))
        offset += rdlength
    return addresses


def dns_query(server, name, timeout, port=53):
    """{ok, addresses, error}: the A records `server` gives for `name`."""
    qid = random.randint(1, 0xFFFF)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(dns_build_query(name, qid), (server, port))
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            data, _peer = sock.recvfrom(4096)
            try:
                addresses = dns_parse_answer(data, qid)
            except ProbeError as exc:
                if "another query" in str(exc):
                    continue
                raise
            return {"ok": bool(addresses), "addresses": addresses,
                    "error": None if addresses else "%s does not resolve" % name}
    except (OSError, socket.timeout, ProbeError) as exc:
        return {"ok": False, "addresses": [], "error": "no answer from %s (%s)" % (server, error_name(exc))
                if not isinstance(exc, ProbeError) else str(exc)}
    finally:
        sock.close()


# --- the probe server ---------------------------------------------------------------------------

def process_starttime(pid, proc_root="/proc"):
    """Start time of a process (field 22 of /proc/<pid>/stat), or None if there is none."""
    try:
        with open("%s/%d/stat" % (proc_root, int(pid))) as handle:
            text = handle.read()
    except (OSError, ValueError, TypeError):
        return None
    fields = text.rsplit(")", 1)[-1].split()
    try:
        if fields[0] == "Z":  # a zombie has ended
            return None
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def process_comm(pid, proc_root="/proc"):
    """A process's name (/proc/<pid>/comm), or None."""
    try:
        with open("%s/%d/comm" % (proc_root, int(pid))) as handle:
            return handle.read().rstrip("\n")
    except (OSError, ValueError, TypeError):
        return None


def find_servers(netns_inodes, proc_root="/proc"):
    """[(pid, start time, netns inode)] of probe servers (named SERVER_COMM) whose network namespace
    is one of `netns_inodes`: the servers of those probe containers, also when no state file names them."""
    found = []
    if not netns_inodes:
        return found
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        if process_comm(entry, proc_root) != SERVER_COMM:
            continue
        inode = netns_inode(entry, proc_root)
        starttime = process_starttime(entry, proc_root)
        if inode in netns_inodes and starttime is not None:
            found.append((int(entry), starttime, inode))
    return sorted(found)


def _set_comm(name):  # pragma: no cover - runs in the forked server
    """Name this process `name` in /proc/<pid>/comm, so that it can be told apart from other processes."""
    try:
        _libc().prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def serve(listener, lifetime, log_path=None, clock=time.monotonic):
    """Answer connections on `listener` until `lifetime` seconds have passed."""
    deadline = clock() + lifetime
    while True:
        left = deadline - clock()
        if left <= 0:
            return
        ready, _w, _x = select.select([listener], [], [], min(1.0, left))
        if not ready:
            continue
        try:
            conn, peer = listener.accept()
        except OSError:
            continue
        try:
            conn.settimeout(2)
            conn.sendall(("%s %s %d\n" % (REPLY_WORD, peer[0], peer[1])).encode())
        except OSError:
            pass
        finally:
            conn.close()
        if log_path:
            try:
                with open(log_path, "a") as handle:
                    handle.write("seen %s %d %d\n" % (peer[0], peer[1], int(time.time())))
            except OSError:
                pass


def start_server(pid, port, lifetime, log_path, wait=10.0, bind="0.0.0.0"):
    """Start a detached probe server in the network namespace of process `pid`.

    Double fork: the server is not a child of the caller, has no terminal and none of the caller's
    file descriptors (an Ansible module's output pipe stays free), and ends after `lifetime`
    seconds. It listens on `bind` (every address by default). Returns (server pid, its start time);
    raises ProbeError with the server's own error (for example, the port is in use in that namespace).
    """
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:  # pragma: no cover - runs in the forked child (exercised by the unit test)
        try:
            os.close(read_end)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            _server_main(pid, port, lifetime, log_path, write_end, bind)
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(first, 0)
    message = b""
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_end, 4096)
            if not chunk:
                break
            message += chunk
            if b"\n" in message:
                break
    finally:
        os.close(read_end)
    text = message.decode("utf-8", "replace").strip()
    if text.startswith("ok "):
        server_pid = int(text.split()[1])
        return server_pid, process_starttime(server_pid)
    raise ProbeError(text[len("error "):] if text.startswith("error ") else "the probe server did not start")


def _server_main(pid, port, lifetime, log_path, status_fd, bind):  # pragma: no cover - forked child
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, status_fd)
    os.closerange(status_fd + 1, 65536)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _set_comm(SERVER_COMM)
    try:
        if pid is not None:
            target = os.open("/proc/%d/ns/net" % int(pid), os.O_RDONLY)
            _setns(target)
            os.close(target)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((bind, int(port)))
        listener.listen(128)
    except OSError as exc:
        os.write(status_fd, ("error cannot listen on TCP port %s in the container's namespace: %s\n"
                             % (port, exc.strerror or exc)).encode())
        os.close(status_fd)
        return
    os.write(status_fd, ("ok %d\n" % os.getpid()).encode())
    os.close(status_fd)
    serve(listener, lifetime, log_path)


def stop_server(pid, starttime, proc_root="/proc", wait=3.0):
    """End the probe server `pid` if it is still the process that started at `starttime`.

    Returns True when it was running and has been ended. A reused PID (another start time) is
    never signalled.
    """
    if not pid or starttime is None or process_starttime(pid, proc_root) != starttime:
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except OSError:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process_starttime(pid, proc_root) != starttime:
            return True
        time.sleep(0.05)
    if process_starttime(pid, proc_root) == starttime:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    return True


def read_state(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_state(path, state):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(state, handle, sort_keys=True)
    os.rename(tmp, path)


def read_seen(log_path):
    """Sources the server logged, in order of first appearance."""
    seen = []
    try:
        with open(log_path) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "seen" and parts[1] not in seen:
                    seen.append(parts[1])
    except OSError:
        pass
    return seen
