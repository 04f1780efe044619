# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one client for dockerd's API.

Every module that talks to dockerd goes through ``DockerApi``: docker_host_info, connectivity,
daemon_json and docker_daemon. ``DockerApi`` holds the operations the modules use (engine version,
ping, info, networks, containers, and the container lifecycle of connectivity's probe) on top of a
low-level client that speaks a small part of ``docker.APIClient``. There are two of those:

* ``docker.APIClient`` itself, opened by ``open_sdk()`` (``version="auto"``: the API version is
  negotiated, never newer than the daemon speaks). It needs the Docker SDK for Python; a module that
  needs it checks ``HAS_DOCKER`` first and fails with ``missing_required_lib("docker")`` and
  ``DOCKER_IMPORT_ERROR``.
* ``SocketClient``: plain HTTP/1.0 GET over the unix (or TCP) socket, for docker_daemon, which must
  work on a host without the SDK (it waits for a daemon it just restarted).

Every failure is a ``DockerApiError`` (``_errors``) whose message names the call and the daemon;
``DockerCallError`` adds the daemon's own text (``reason``) and whether it was a 404 (``not_found``).
No Ansible imports.
"""

from __future__ import annotations

import json
import os
import re
import socket
import traceback
from urllib.parse import quote, urlencode

from ansible_collections.crosshost.docker.plugins.module_utils._errors import DockerApiError

DOCKER_IMPORT_ERROR = None
try:
    import docker
    # ImageNotFound is not used here: callers (connectivity) take the SDK's errors from this module.
    from docker.errors import APIError, ImageNotFound, NotFound  # pylint: disable=unused-import
    from docker.utils import parse_repository_tag
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class APIError(Exception):
        """Stand-in for docker.errors.APIError without the SDK (raised by SocketClient)."""

    class NotFound(APIError):
        """Stand-in for docker.errors.NotFound without the SDK (raised by SocketClient)."""

    class ImageNotFound(NotFound):
        """Stand-in for docker.errors.ImageNotFound without the SDK."""

    parse_repository_tag = None
else:
    HAS_DOCKER = True

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_HOST = "unix://" + DEFAULT_SOCKET


class DockerCallError(DockerApiError):
    """One API call failed. ``reason``: the daemon's (or the transport's) own text; ``not_found``: a 404."""

    def __init__(self, msg, reason="", not_found=False, **details):
        super().__init__(msg, **details)
        self.reason = reason
        self.not_found = not_found


# ---------------------------------------------------------------------------------------------
# Where the daemon is, and why it cannot be reached


def unix_socket_path(docker_host):
    """The filesystem path of a ``unix://`` Docker host (or a bare absolute path), else None."""
    if not docker_host:
        return DEFAULT_SOCKET
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://"):] or DEFAULT_SOCKET
    if docker_host.startswith("/"):
        return docker_host
    return None


def docker_unreachable_message(docker_host, socket_path=None, socket_exists=None, dockerd_path=None, error=None):
    """A clear, distinct message for each way the Docker daemon can be unavailable.

    * not installed: unix socket missing and no dockerd binary found;
    * installed, not running: unix socket missing but dockerd exists;
    * unreachable: the connection itself failed (``error``), e.g. stale socket, permission denied,
      remote host down.
    """
    if socket_path is not None and socket_exists is False:
        if not dockerd_path:
            return ("Docker is not installed on this host: no dockerd binary was found (PATH and the usual "
                    "locations) and the Docker socket %s does not exist." % socket_path)
        return ("Docker is installed (%s) but the daemon is not running: the socket %s does not exist. "
                "Start the docker service or set docker_host." % (dockerd_path, socket_path))
    text = str(error) if error is not None else "unknown error"
    msg = "Cannot connect to the Docker daemon at %s: %s" % (docker_host, text)
    lowered = text.lower()
    if "permission denied" in lowered:
        msg += (" (the module user may not use the socket: use become, or add the user to the docker group)")
    elif "connection refused" in lowered and socket_path is not None:
        msg += " (the socket exists but nothing listens on it: the daemon is not running or crashed)"
    return msg


def docker_address(docker_host):
    """('unix', path) or ('tcp', (host, port)) for a docker_host value; DockerApiError for anything else."""
    socket_path = unix_socket_path(docker_host)
    if socket_path is not None:
        return "unix", socket_path
    m = re.match(r"^(?:tcp|http)://\[?([^\]/]+?)\]?:(\d+)/?$", docker_host)
    if m:
        return "tcp", (m.group(1), int(m.group(2)))
    raise DockerApiError("docker_host=%s: use unix:///path/to/docker.sock or tcp://host:port (no TLS)" % docker_host)


def check_socket(docker_host, find_dockerd=None):
    """The SDK's base_url for docker_host; DockerApiError when its unix socket does not exist.

    The message tells apart "Docker is not installed" (no dockerd binary either: ``find_dockerd()``
    returns None) from "installed but the daemon is not running".
    """
    socket_path = unix_socket_path(docker_host)
    if socket_path is None:
        return docker_host
    if not os.path.exists(socket_path):
        dockerd = find_dockerd() if find_dockerd is not None else None
        raise DockerApiError(docker_unreachable_message(docker_host, socket_path, False, dockerd))
    return "unix://" + socket_path


# ---------------------------------------------------------------------------------------------
# Connecting


def open_sdk(docker_host, timeout, find_dockerd=None):
    """A docker.APIClient for docker_host (API version negotiated); DockerApiError when unreachable.

    The caller checks HAS_DOCKER first (and fails with missing_required_lib("docker")).
    """
    base_url = check_socket(docker_host, find_dockerd)
    socket_path = unix_socket_path(docker_host)
    try:
        # version='auto': negotiate with the daemon, never ask for an API newer than it speaks.
        return docker.APIClient(base_url=base_url, version="auto", timeout=timeout)
    except Exception as exc:  # DockerException, requests errors, bad URLs: all mean "unreachable"
        raise DockerApiError(docker_unreachable_message(docker_host, socket_path, socket_path is not None, None, exc),
                             exception=traceback.format_exc())


def connect(docker_host, timeout=10, find_dockerd=None):
    """``DockerApi`` over the Docker SDK (see open_sdk)."""
    return DockerApi(open_sdk(docker_host, timeout, find_dockerd), docker_host)


def wrap(client, docker_host=None):
    """`client` as a DockerApi: a DockerApi as it is, a docker.APIClient (or a test's fake of one) wrapped."""
    return client if isinstance(client, DockerApi) else DockerApi(client, docker_host)


def connect_plain(docker_host, timeout=10):
    """``DockerApi`` over a plain socket, without the SDK. Nothing is opened yet: a daemon that is down is
    not an error here (``ping()`` says False)."""
    return DockerApi(SocketClient(docker_address(docker_host), timeout), docker_host)


# ---------------------------------------------------------------------------------------------
# The plain-socket client (HTTP/1.0, so the daemon closes the connection after one response)


def http_request(path):
    return ("GET %s HTTP/1.0\r\nHost: docker\r\nUser-Agent: crosshost.docker.docker_daemon\r\n\r\n" % path).encode("ascii")


def parse_http_response(data):
    """Raw HTTP/1.x response bytes -> (status, headers dict lower-case, body bytes). Handles chunked bodies."""
    if not data:
        raise ValueError("empty response")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("incomplete HTTP response")
    lines = head.decode("iso-8859-1").split("\r\n")
    m = re.match(r"^HTTP/\d\.\d (\d{3})", lines[0])
    if not m:
        raise ValueError("not an HTTP response: %r" % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        key, _colon, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return int(m.group(1)), headers, body


def _dechunk(body):
    out, pos = [], 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            break
        size = int(body[pos:end].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out.append(body[end + 2:end + 2 + size])
        pos = end + 2 + size + 2
    return b"".join(out)


class SocketClient:
    """The part of docker.APIClient that the modules read, as plain HTTP GETs, without the Docker SDK.

    Raises OSError / ValueError when the daemon does not answer, NotFound for a 404, APIError for any
    other status that is not 200 (the classes of docker.errors when the SDK is installed).
    """

    def __init__(self, address, timeout=10):
        self.address = address
        self.timeout = timeout

    def get(self, path, timeout=None):
        """(status, body bytes) of GET `path`."""
        timeout = self.timeout if timeout is None else timeout
        kind, where = self.address
        if kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(where)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection(where, timeout)
        try:
            sock.sendall(http_request(path))
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        finally:
            sock.close()
        status, _headers, body = parse_http_response(b"".join(chunks))
        return status, body

    def _json(self, path):
        status, body = self.get(path)
        if status == 404:
            raise NotFound(_message(body) or "404 Not Found")
        if status != 200:
            raise APIError("%d %s" % (status, _message(body)))
        return json.loads(body.decode("utf-8"))

    def ping(self, timeout=None):
        status, body = self.get("/_ping", timeout)
        return status == 200 and body.strip() == b"OK"

    def version(self):
        return self._json("/version")

    def info(self):
        return self._json("/info")

    def networks(self):
        return self._json("/networks")

    def inspect_network(self, net_id):
        return self._json("/networks/" + quote(net_id, safe=""))

    def containers(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        query = {}
        if all:
            query["all"] = 1
        if filters:
            query["filters"] = json.dumps(dict((k, [v] if isinstance(v, str) else v) for k, v in filters.items()))
        return self._json("/containers/json" + ("?" + urlencode(query) if query else ""))

    def inspect_container(self, container):
        return self._json("/containers/%s/json" % quote(container, safe=""))

    def close(self):
        pass


def _message(body):
    try:
        return str(json.loads(body.decode("utf-8")).get("message") or "")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:200]


# ---------------------------------------------------------------------------------------------
# The operations


def endpoint(container, network):
    """(the container's endpoint on `network` or None, the names of its networks) from its inspect."""
    networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
    return networks.get(network), sorted(networks)


class DockerApi:
    """dockerd's API, as the modules use it. ``client``: a docker.APIClient, a SocketClient, or a test's fake."""

    def __init__(self, client, docker_host=None):
        self.client = client
        self.docker_host = docker_host

    def _call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DockerApiError:
            raise
        except Exception as exc:  # APIError, requests and socket errors, bad JSON: the call failed
            reason = str(exc)
            raise DockerCallError("Docker API call %s on %s failed: %s" % (what, self.docker_host, reason),
                                  reason=reason, not_found=isinstance(exc, NotFound),
                                  exception=traceback.format_exc())

    def _maybe(self, what, func, *args, **kwargs):
        """The call's answer, or None when dockerd says 404."""
        try:
            return self._call(what, func, *args, **kwargs)
        except DockerCallError as err:
            if err.not_found:
                return None
            raise

    # reading ---------------------------------------------------------------------------------
    def ping(self, timeout=None):
        """Whether GET /_ping answers OK (never raises)."""
        try:
            if timeout is not None and isinstance(self.client, SocketClient):
                return bool(self.client.ping(timeout))
            return bool(self.client.ping())
        except Exception:  # not answering is the answer
            return False

    def version(self):
        """GET /version."""
        return self._call("GET /version", self.client.version)

    def engine_version(self):
        """The engine version (GET /version's Version), or None when the daemon does not say."""
        return (self.version() or {}).get("Version") or None

    def info(self):
        """GET /info."""
        return self._call("GET /info", self.client.info)

    def networks(self):
        """GET /networks: every network."""
        return self._call("GET /networks", self.client.networks) or []

    def network(self, name):
        """GET /networks/<name>, or None when there is no such network."""
        return self._maybe("GET /networks/%s" % name, self.client.inspect_network, name)

    def containers(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        """GET /containers/json: summaries of the running containers (all=True: every container)."""
        if all or filters:
            return self._call("GET /containers/json", self.client.containers, all=all, filters=filters) or []
        return self._call("GET /containers/json", self.client.containers) or []

    def container(self, name):
        """GET /containers/<name>/json, or None when there is no such container."""
        return self._maybe("GET /containers/%s/json" % name, self.client.inspect_container, name)

    # changing (Docker SDK only) ----------------------------------------------------------------
    def ensure_image(self, image):
        """Pull `image` unless it is on the host. Returns whether it was pulled; DockerCallError when it cannot be."""
        try:
            self._call("GET /images/%s/json" % image, self.client.inspect_image, image)
            return False
        except DockerCallError as err:
            if not err.not_found:
                raise
        repository, tag = parse_repository_tag(image)
        self._call("POST /images/create", self.client.pull, repository, tag=tag or "latest")
        self._call("GET /images/%s/json" % image, self.client.inspect_image, image)
        return True

    def run_container(self, image, command, name, network, labels=None, init=False, auto_remove=False):
        """Create and start a detached container on `network`; returns its inspect."""
        client = self.client
        host_config = client.create_host_config(init=init, auto_remove=auto_remove, network_mode=network)
        networking = client.create_networking_config({network: client.create_endpoint_config()})
        created = self._call("POST /containers/create", client.create_container, image, command=command, name=name,
                             labels=labels or {}, host_config=host_config, networking_config=networking, detach=True)
        self._call("POST /containers/%s/start" % name, client.start, created["Id"])
        return self.container(created["Id"])

    def remove_container(self, name):
        """Remove (force) a container; one that is gone or already being removed is not an error."""
        try:
            self._call("DELETE /containers/%s" % name, self.client.remove_container, name, force=True)
        except DockerCallError as err:
            if not err.not_found and "already in progress" not in err.reason:
                raise

    def close(self):
        try:
            self.client.close()
        except Exception:  # closing is best effort
            pass
