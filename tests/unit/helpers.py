# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the unit tests share that is not a fixture (the fixtures are in tests/unit/conftest.py).

Imported as ``ansible_collections.crosshost.docker.tests.unit.helpers``:

* ``fixture_text`` / ``fixture_json``: the files of tests/unit/fixtures; ``CONSUL_SETTINGS``;
* ``load_script`` / ``load_bench``: the lab and benchmark scripts, which are not collection code;
* ``per_host`` / ``failure``: one-line helpers of the planner tests;
* ``docker_iptables_save``: iptables-save of a Docker host, for the forward_rules tests;
* ``run_module``: a module's main() with its arguments, the result as a dict;
* ``filter_plugins``: import filter plugins (controller code) and put the controller flag back;
* ``FakeRun``: a command runner as the adapters take it (iptables, systemctl, ...);
* ``FakeDockerd``: a Docker API on a unix socket (GET only) that a test's subclass answers;
* ``FakeAPIClient``: what the fake ``docker.APIClient`` objects share.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import re
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The consul role's settings as it hands them to consul_settings / check_settings: an archive install
# of 1.20.2 on amd64, ACLs on, TLS off. No gossip key and no checksum: each test file sets its own.
CONSUL_SETTINGS = {
    "consul_install_method": "archive", "consul_version": "1.20.2", "consul_arch": "amd64",
    "consul_archive_url": "https://releases.hashicorp.com/consul/1.20.2/consul_1.20.2_linux_amd64.zip",
    "consul_archive_checksum": "", "consul_archive_src": "", "consul_container_image": "",
    "consul_container_name": "consul", "consul_encrypt": "", "consul_datacenter": "dc1", "consul_domain": "consul",
    "consul_node_name": "h1", "consul_config_dir": "/etc/consul.d", "consul_data_dir": "/var/lib/consul",
    "consul_bin_dir": "/usr/local/bin", "consul_install_dir": "/usr/local/lib/consul", "consul_http_port": 8500,
    "consul_https_port": 8501, "consul_log_level": "INFO", "consul_bind_address": "192.168.1.11",
    "consul_advertise_address": "", "consul_client_addresses": [], "consul_acl_enabled": True,
    "consul_acl_default_policy": "deny", "consul_acl_management_token": "",
    "consul_acl_management_token_file": "/etc/consul-acl/management.token", "consul_docker_kv_prefix": "docker/",
    "consul_docker_policy_name": "crosshost-docker", "consul_tls": False, "consul_tls_ca_file": "",
    "consul_tls_cert_file": "", "consul_tls_key_file": "",
}


def fixture_text(*parts):
    """The text of tests/unit/fixtures/<parts...>."""
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return handle.read()


def fixture_json(*parts):
    return json.loads(fixture_text(*parts))


def load_script(name, *path):
    """A script of the repository that is not part of the collection (benchmarks/, lab/), imported
    from its path (relative to the repository root) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_bench(monkeypatch, script="bench.py"):
    """A script of benchmarks/ (bench.py by default) as a module. bench.py puts benchmarks/ first on
    sys.path to import benchlib and benchpath: sys.path is put back after the test, and those modules
    are forgotten."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    try:
        return load_script("crosshost_" + script[:-3], "benchmarks", script)
    finally:
        for name in ("benchlib", "benchpath"):
            sys.modules.pop(name, None)


def per_host(key):
    """A function that gives {host: entry[key]} of a planner's per-host result."""
    return lambda plan: {host: entry[key] for host, entry in plan.items()}


def failure(function, error):
    """A function ``fails(match, *args, **kwargs)``: the text of the ``error`` that
    ``function(*args, **kwargs)`` raises, which must match ``match``."""
    def fails(match, *args, **kwargs):
        with pytest.raises(error, match=match) as info:
            function(*args, **kwargs)
        return str(info.value)
    return fails


# --------------------------------------------------------------------------------------------------
# modules and filter plugins


def docker_iptables_save(forward=(), docker_user=(), nat=()):
    """iptables-save (nf_tables) of a host where dockerd 20.10 made its chains: filter FORWARD DROP
    jumping to DOCKER-USER (which ends in RETURN), nat with DOCKER. ``forward`` and ``docker_user`` are
    more rules of those chains, ``nat`` rules of the nat table (``-A ...`` lines)."""
    lines = ["# Generated by iptables-save v1.8.9 (nf_tables)", "*filter", ":INPUT ACCEPT [0:0]",
             ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":DOCKER - [0:0]", ":DOCKER-USER - [0:0]",
             "-A FORWARD -j DOCKER-USER"]
    lines.extend(forward)
    lines.extend(docker_user)
    lines.extend(["-A DOCKER-USER -j RETURN", "COMMIT",
                  "*nat", ":PREROUTING ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ":DOCKER - [0:0]"])
    lines.extend(nat)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def run_module(capsys, main, args, check=None, diff=None):
    """Run ``main()`` with ``args`` as the module's input (check/diff mode when given).

    Returns the JSON result, plus ``_rc`` (the exit code) and ``_warnings`` (the warning texts:
    ansible-core 2.19 returns structured warnings, ``{"event": {"msg": ...}}``).
    """
    args = dict(args)
    if check is not None:
        args["_ansible_check_mode"] = check
    if diff is not None:
        args["_ansible_diff"] = diff
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            main()
    result = json.loads(capsys.readouterr().out)
    result["_rc"] = exc.value.code
    result["_warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


@contextlib.contextmanager
def filter_plugins(*names):
    """Yield ([plugin module per name], AnsibleFilterError), imported here and not at collection time.

    Importing controller code (ansible.errors, a filter plugin) sets
    ``ansible.module_utils._internal.is_controller`` for the whole process, and from then on module
    warnings go to Display instead of the module result, which breaks the module tests that run later
    in the same pytest process. The flag is put back when the ``with`` block ends.
    """
    from ansible.module_utils import _internal

    was = _internal.is_controller
    try:
        errors = importlib.import_module("ansible.errors")
        plugins = [importlib.import_module("ansible_collections.crosshost.docker.plugins.filter." + name)
                   for name in names]
        yield plugins, errors.AnsibleFilterError
    finally:
        _internal.is_controller = was


# --------------------------------------------------------------------------------------------------
# a fake command runner


class FakeRun(object):
    """A runner as the adapters take it, ``run(argv, data=None) -> (rc, out, err)``.

    Records ``calls`` (each argv, as a list) and ``inputs`` (each call's data). ``fail`` maps a first
    argument (systemctl's action) to the stderr of a failure (rc 1); ``answers`` maps how a command line
    ends (or all of it after the program) to (rc, out, err) or to a function(argv, data) that gives it.
    Anything else succeeds with no output.
    """

    def __init__(self, answers=None, fail=None):
        self.calls = []
        self.inputs = []
        self.answers = answers or {}
        self.fail = fail or {}

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        self.inputs.append(data)
        if len(argv) > 1 and argv[1] in self.fail:
            return 1, "", self.fail[argv[1]]
        for key, answer in self.answers.items():
            if " ".join(argv).endswith(key) or " ".join(argv[1:]) == key:
                return answer(argv, data) if callable(answer) else answer
        return 0, "", ""

    def with_input(self):
        """(argv, data) of the calls that were given data."""
        return [(argv, data) for argv, data in zip(self.calls, self.inputs) if data is not None]


# --------------------------------------------------------------------------------------------------
# a fake dockerd on a unix socket


class _DockerdHandler(BaseHTTPRequestHandler):
    def setup(self):
        self.protocol_version = self.server.protocol_version
        super().setup()

    def log_message(self, *args):  # quiet
        pass

    def address_string(self):
        return "unix"

    def do_GET(self):
        self.server.raw_paths.append(self.path)
        url = urlsplit(self.path)
        path = url.path
        match = re.match(r"^/v(\d+\.\d+)(/.*)$", path)
        if match:
            self.server.api_versions.add(match.group(1))
            path = match.group(2)
        query = parse_qs(url.query)
        self.server.requests.append((path, query))
        status, body = self.server.route(path, query)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/plain")
        self.send_header("Api-Version", self.server.api_version)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeDockerd(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A Docker API on a unix socket, GET only. A subclass answers ``route(path, query)`` with
    ``(status, body)``: a JSON-able body, or bytes sent as text/plain.

    Records ``raw_paths`` (as requested), ``requests`` ((path without /vX.Y, parsed query)) and
    ``api_versions`` (the X.Y of versioned paths). Started by the ``fake_dockerd`` fixture.
    """

    daemon_threads = True
    protocol_version = "HTTP/1.1"
    api_version = "1.41"  # the Api-Version header

    def __init__(self, path):
        super().__init__(path, _DockerdHandler)
        self.raw_paths = []
        self.requests = []
        self.api_versions = set()

    def route(self, path, query):
        raise NotImplementedError


@contextlib.contextmanager
def serving(server):
    """Serve ``server`` in a thread for the ``with`` block, then shut it down and close it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------------------------------
# a fake docker.APIClient


class FakeAPIClient(object):
    """What the fake ``docker.APIClient`` objects share: images (``pull`` adds one, or raises
    ``pull_error``), the config builders, ``start``, and ``calls``, the changing calls in order."""

    def __init__(self, images=()):
        self.images = set(images)
        self.calls = []
        self.pull_error = None
        self.containers_by_id = {}

    def pull(self, repository, tag=None):
        self.calls.append(("pull", repository, tag))
        if self.pull_error:
            raise _docker_api.APIError(self.pull_error)
        self.images.add("%s:%s" % (repository, tag))

    @staticmethod
    def create_host_config(**kwargs):
        return dict(kwargs)

    @staticmethod
    def create_networking_config(endpoints):
        return {"EndpointsConfig": endpoints}

    @staticmethod
    def create_endpoint_config():
        return {}

    def start(self, cid):
        self.calls.append(("start", cid))
        self.containers_by_id[cid]["State"]["Running"] = True
