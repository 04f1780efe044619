# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP round-trip time, request/response style (like netperf TCP_RR), for `make bench`.

    python tcp_echo.py serve --port 5300 [--timeout 30]
    python tcp_echo.py ping --host 10.0.1.2 --port 5300 --count 1000 [--size 64]

`serve` accepts one connection and echoes every message back until the peer closes it, then exits.
`ping` connects (retrying for a few seconds while the server starts), sends `count` messages of
`size` bytes one at a time (TCP_NODELAY on both ends), waits for each echo, and prints JSON:
{"rtt_us": [...], "connect_us": first successful connect}. The harness runs both with
`nsenter -n -t <pid>`, i.e. inside a container's or a host's network namespace. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time


def serve(port, timeout):
    with socket.create_server(("0.0.0.0", port), reuse_port=False) as listener:
        listener.settimeout(timeout)
        print("listening", flush=True)
        conn, _peer = listener.accept()
        with conn:
            conn.settimeout(timeout)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                data = conn.recv(65536)
                if not data:
                    return 0
                conn.sendall(data)


def recv_exactly(conn, size):
    got = 0
    while got < size:
        chunk = conn.recv(size - got)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        got += len(chunk)


def ping(host, port, count, size, wait):
    deadline = time.monotonic() + wait
    while True:
        start = time.perf_counter_ns()
        try:
            conn = socket.create_connection((host, port), timeout=5)
            break
        except (ConnectionRefusedError, socket.timeout, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    connect_us = (time.perf_counter_ns() - start) / 1000
    rtts = []
    payload = b"x" * size
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(5)
        for _i in range(count):
            start = time.perf_counter_ns()
            conn.sendall(payload)
            recv_exactly(conn, size)
            rtts.append((time.perf_counter_ns() - start) / 1000)
    json.dump({"rtt_us": rtts, "connect_us": connect_us}, sys.stdout)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--timeout", type=float, default=30.0)
    cli = sub.add_parser("ping")
    cli.add_argument("--host", required=True)
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--count", type=int, default=1000)
    cli.add_argument("--size", type=int, default=64)
    cli.add_argument("--wait", type=float, default=5.0, help="seconds to retry the first connect")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.port, args.timeout)
    return ping(args.host, args.port, args.count, args.size, args.wait)


if __name__ == "__main__":
    sys.exit(main())
