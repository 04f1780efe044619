# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe primitives of the connectivity module, run for real on the loopback interface of the test
process (the namespace switching itself needs root and is tested in the lab, plus a same-namespace
round trip here when the tests run as root). Nothing listens beyond 127.0.0.1."""
from __future__ import annotations

import errno
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _connectivity_probe as pl

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="entering a network namespace needs root")


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def gone(pid, starttime, wait=10.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if pl.process_starttime(pid) != starttime:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def server(tmp_path):
    port = free_port()
    log = str(tmp_path / "probe.log")
    pid, starttime = pl.start_server(None, port, 60, log, bind="127.0.0.1")
    yield port, pid, starttime, log
    pl.stop_server(pid, starttime)


def test_the_server_tells_each_client_the_source_it_saw(server):
    port, pid, starttime, log = server
    assert starttime == pl.process_starttime(pid) and pid != os.getpid()
    first = pl.tcp_probe("127.0.0.1", port, 5)
    second = pl.tcp_probe("127.0.0.1", port, 5)
    for result in (first, second):
        assert result["ok"] and result["error"] is None
        assert result["seen"] == "127.0.0.1" and result["seen_port"] == result["local_port"]
        assert result["reply"] == "crosshost-probe 127.0.0.1 %d" % result["local_port"]
    assert first["local_port"] != second["local_port"]
    deadline = time.monotonic() + 5
    while pl.read_seen(log) != ["127.0.0.1"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pl.read_seen(log) == ["127.0.0.1"]


def test_the_server_is_detached_and_stops_only_when_it_is_still_the_same_process(server):
    port, pid, starttime, _log = server
    assert os.getsid(pid) != os.getsid(0)  # its own session: not tied to the caller
    assert not pl.stop_server(pid, starttime + 1)  # a reused pid (other start time) is never signalled
    assert pl.process_starttime(pid) == starttime
    assert pl.stop_server(pid, starttime)
    assert gone(pid, starttime)
    assert not pl.stop_server(pid, starttime)
    assert pl.tcp_probe("127.0.0.1", port, 2)["error"] == "refused"


def test_a_busy_port_is_a_clear_error(server):
    port = server[0]
    with pytest.raises(pl.ProbeError) as raised:
        pl.start_server(None, port, 60, None, bind="127.0.0.1")
    assert "cannot listen on TCP port %d in the container's namespace" % port in str(raised.value)


def test_the_server_ends_on_its_own_after_its_lifetime(tmp_path):
    pid, starttime = pl.start_server(None, free_port(), 1, None, bind="127.0.0.1")
    assert pl.process_starttime(pid) == starttime
    assert gone(pid, starttime, wait=15)


def test_a_server_of_someone_else_is_recognised(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer():
        conn, _peer = listener.accept()
        conn.sendall(b"SSH-2.0-OpenSSH\r\n")
        conn.close()
    thread = threading.Thread(target=answer)
    thread.start()
    result = pl.tcp_probe("127.0.0.1", listener.getsockname()[1], 5)
    thread.join()
    listener.close()
    assert result["ok"] and result["seen"] is None and result["error"].startswith("no probe answer")


def test_parse_reply():
    assert pl.parse_reply("crosshost-probe 10.0.0.2 40000\n") == ("10.0.0.2", 40000)
    assert pl.parse_reply("noise\ncrosshost-probe 10.0.0.2 x") == ("10.0.0.2", None)
    assert pl.parse_reply("") == (None, None) and pl.parse_reply(None) == (None, None)


@pytest.mark.parametrize("exc, name", [
    (socket.timeout("timed out"), "timeout"),
    (OSError(errno.ECONNREFUSED, "x"), "refused"),
    (OSError(errno.EHOSTUNREACH, "x"), "host unreachable"),
    (OSError(errno.ENETUNREACH, "x"), "network unreachable"),
    (OSError(errno.EPERM, "x"), "not permitted"),
    (OSError(errno.ETIMEDOUT, "x"), "timeout"),
    (OSError(errno.EIO, "odd"), "[Errno 5] odd"),
])
def test_error_names(exc, name):
    assert pl.error_name(exc) == name


# --- DNS -----------------------------------------------------------------------------------------

def answer_packet(qid, name, addresses, rcode=0):
    query = pl.dns_build_query(name, qid)
    header = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(addresses), 0, 0)
    out = header + query[12:]
    for address in addresses:  # the name as a pointer to the question (offset 12)
        out += struct.pack(">HHHIH", 0xC00C, 1, 1, 600, 4) + socket.inet_aton(address)
    return out


def test_dns_query_packet():
    packet = pl.dns_build_query("probe-h2.", 0x1234)
    assert packet[:12] == struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    assert packet[12:] == b"\x08probe-h2\x00\x00\x01\x00\x01"
    with pytest.raises(pl.ProbeError):
        pl.dns_build_query("", 1)
    with pytest.raises(pl.ProbeError):
        pl.dns_build_query("x" * 64, 1)


def test_dns_answers():
    assert pl.dns_parse_answer(answer_packet(7, "p", ["10.20.0.3", "10.20.0.4"]), 7) == ["10.20.0.3", "10.20.0.4"]
    assert pl.dns_parse_answer(answer_packet(7, "p", [], rcode=3), 7) == []  # NXDOMAIN
    cname = answer_packet(7, "p", [])[:6] + struct.pack(">H", 1) + answer_packet(7, "p", [])[8:] + \
        struct.pack(">HHHIH", 0xC00C, 5, 1, 60, 2) + b"\xc0\x0c"
    assert pl.dns_parse_answer(cname, 7) == []
    for bad, words in ((answer_packet(8, "p", ["10.0.0.1"]), "another query"),
                       (answer_packet(7, "p", [], rcode=2), "rcode 2"),
                       (b"\x00\x07", "truncated"),
                       (answer_packet(7, "p", ["10.0.0.1"])[:-6], "truncated")):
        with pytest.raises(pl.ProbeError) as raised:
            pl.dns_parse_answer(bad, 7)
        assert words in str(raised.value)


@pytest.fixture
def dns_server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    records = {"probe-h2": ["10.20.0.3"]}

    def serve():
        try:
            while True:
                data, peer = sock.recvfrom(512)
                qid = struct.unpack(">H", data[:2])[0]
                name = data[13:13 + data[12]].decode()
                sock.sendto(answer_packet(qid ^ 1, name, ["1.2.3.4"]), peer)  # a stray answer first
                sock.sendto(answer_packet(qid, name, records.get(name, []), 0 if name in records else 3), peer)
        except OSError:
            return
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    sock.close()


def test_dns_query_against_a_server(dns_server):
    found = pl.dns_query("127.0.0.1", "probe-h2", 3, port=dns_server)
    assert found == {"ok": True, "addresses": ["10.20.0.3"], "error": None}
    missing = pl.dns_query("127.0.0.1", "probe-h9", 3, port=dns_server)
    assert not missing["ok"] and missing["error"] == "probe-h9 does not resolve"


def test_dns_query_without_a_server():
    result = pl.dns_query("127.0.0.1", "probe-h2", 1, port=free_port())
    assert not result["ok"] and result["error"].startswith("no answer from 127.0.0.1")


# --- namespaces, processes, state ----------------------------------------------------------------

def test_in_netns_none_stays_here():
    with pl.in_netns(None):
        names = [i["name"] for i in pl.interfaces()]
    assert "lo" in names


@root_only
def test_in_netns_enters_and_returns_on_this_thread_only():
    before = os.stat(pl._thread_netns_path()).st_ino
    with pl.in_netns(os.getpid()):
        lo = [i for i in pl.interfaces() if i["name"] == "lo"][0]
        assert lo["address"] == "127.0.0.1" and lo["mtu"] == 65536
    assert os.stat(pl._thread_netns_path()).st_ino == before == pl.netns_inode(os.getpid())


def test_in_netns_of_a_missing_process_is_a_clear_error():
    with pytest.raises(pl.ProbeError) as raised:
        with pl.in_netns(2 ** 22 + 12345):
            pass
    assert "cannot open the network namespace of process" in str(raised.value)


def test_process_starttime_and_netns():
    assert isinstance(pl.process_starttime(os.getpid()), int)
    assert pl.process_starttime(2 ** 22 + 12345) is None and pl.process_starttime(None) is None
    assert pl.netns_inode("x") is None


def test_stop_server_of_a_plain_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = pl.process_starttime(proc.pid)
        assert pl.stop_server(proc.pid, start)
        assert proc.wait(5) is not None
    finally:
        proc.kill()


def test_state_files(tmp_path):
    path = str(tmp_path / "run" / "p.json")
    assert pl.read_state(path) is None
    pl.write_state(path, {"pid": 1, "starttime": 2})
    assert pl.read_state(path) == {"pid": 1, "starttime": 2}
    with open(path, "w") as handle:
        handle.write("{broken")
    assert pl.read_state(path) is None
    log = tmp_path / "p.log"
    log.write_text("seen 10.0.0.2 4000 1\nseen 10.0.0.3 4001 1\nseen 10.0.0.2 4002 1\njunk\n")
    assert pl.read_seen(str(log)) == ["10.0.0.2", "10.0.0.3"]
    assert pl.read_seen(str(tmp_path / "none.log")) == []


def test_run_ping_without_the_program():
    rc, out, err = pl.run_ping(["/nonexistent/ping", "127.0.0.1"], 1)
    assert rc == 127 and out == "" and "cannot run /nonexistent/ping" in err


def test_serve_with_no_time_left_returns():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    pl.serve(listener, 0)
    listener.close()


def test_the_callers_output_pipe_is_not_held_by_the_server():
    """An Ansible module's stdout is a pipe its caller reads to the end: the detached server must not keep it
    open, or the task would hang until the server's lifetime ends."""
    port = free_port()
    code = ("from ansible_collections.crosshost.docker.plugins.module_utils import _connectivity_probe as pl\n"
            "pid, start = pl.start_server(None, %d, 60, None, bind='127.0.0.1')\nprint(pid, start)\n" % port)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, env=env,
                          check=True)
    pid, start = (int(x) for x in proc.stdout.split())
    try:
        assert pl.tcp_probe("127.0.0.1", port, 5)["seen"] == "127.0.0.1"
    finally:
        assert pl.stop_server(pid, start)


def test_the_server_has_its_own_name_and_is_found_by_its_namespace(server):
    _port, pid, starttime, _log = server
    assert pl.process_comm(pid) == pl.SERVER_COMM == "crosshost-probe"
    inode = pl.netns_inode(pid)
    assert (pid, starttime, inode) in pl.find_servers({inode})  # (other tests' servers may share this namespace)
    assert pl.find_servers({inode + 1}) == [] and pl.find_servers(set()) == []
    assert pl.process_comm(os.getpid()) != pl.SERVER_COMM and pl.process_comm(2 ** 22 + 1) is None
