# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/_docker_api.py: the one Docker API client, against a fake dockerd on a unix socket
(plain-socket and SDK transports) and against a fake docker.APIClient."""

from __future__ import annotations

import json
import re
import socket
import threading

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _docker_api as api_mod
from ansible_collections.crosshost.docker.plugins.module_utils._docker_api import (
    DockerApi,
    DockerCallError,
    SocketClient,
    check_socket,
    connect_plain,
    docker_address,
    endpoint,
    wrap,
)
from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError, DockerApiError
from ansible_collections.crosshost.docker.tests.unit import helpers

needs_sdk = pytest.mark.skipif(not api_mod.HAS_DOCKER, reason="the docker Python SDK is not installed")

VERSION = {"Version": "28.5.2", "ApiVersion": "1.51", "MinAPIVersion": "1.24", "Os": "linux"}
INFO = {"Name": "h1", "LiveRestoreEnabled": False}
BRIDGE = {"Name": "bridge", "Driver": "bridge", "Options": {"com.docker.network.bridge.name": "docker0"}}
RUNNING = {"Id": "a" * 64, "Names": ["/web"], "Labels": {}}
STOPPED = {"Id": "b" * 64, "Names": ["/probe"], "Labels": {"crosshost.docker.connectivity": "bridge"}}


class FakeDockerd(helpers.FakeDockerd):
    """dockerd 28.5 (API 1.51) with two containers, one running."""

    protocol_version = "HTTP/1.0"  # one response per connection, as the plain-socket client expects
    api_version = "1.51"

    def __init__(self, path):
        super().__init__(path)
        self.broken = set()  # paths that answer 500

    def route(self, path, query):
        if path in self.broken:
            return 500, {"message": "boom on %s" % path}
        if path == "/_ping":
            return 200, b"OK"
        if path == "/version":
            return 200, VERSION
        if path == "/info":
            return 200, INFO
        if path == "/networks":
            return 200, [BRIDGE]
        if path == "/networks/bridge":
            return 200, BRIDGE
        if path == "/containers/json":
            everything = query.get("all") in (["1"], ["true"], ["True"])
            listed = [RUNNING, STOPPED] if everything else [RUNNING]
            labels = json.loads(query["filters"][0]).get("label") if "filters" in query else None
            if labels:
                listed = [c for c in listed if all(label in c["Labels"] for label in labels)]
            return 200, listed
        match = re.match(r"^/containers/([^/]+)/json$", path)
        if match:
            for c in (RUNNING, STOPPED):
                if match.group(1) in (c["Id"], c["Names"][0][1:]):
                    return 200, dict(c, State={"Running": c is RUNNING, "Pid": 42})
            return 404, {"message": "No such container: %s" % match.group(1)}
        match = re.match(r"^/networks/([^/]+)$", path)
        if match:
            return 404, {"message": "network %s not found" % match.group(1)}
        return 404, {"message": "page not found"}


@pytest.fixture
def dockerd(fake_dockerd):
    return fake_dockerd(FakeDockerd)


# --------------------------------------------------------------------------------------------------
# Where the daemon is


@pytest.mark.parametrize("host, want", [
    ("unix:///var/run/docker.sock", ("unix", "/var/run/docker.sock")),
    ("unix://", ("unix", "/var/run/docker.sock")),
    ("/run/docker-h2.sock", ("unix", "/run/docker-h2.sock")),
    (None, ("unix", "/var/run/docker.sock")),
    ("tcp://192.168.1.11:2375", ("tcp", ("192.168.1.11", 2375))),
    ("tcp://[::1]:2375", ("tcp", ("::1", 2375))),
])
def test_docker_address(host, want):
    assert docker_address(host) == want


def test_docker_address_refuses_what_the_plain_client_cannot_speak():
    with pytest.raises(DockerApiError, match="tcp://host:port") as exc:
        connect_plain("ssh://me@h1")
    assert isinstance(exc.value, BackendError)


def test_check_socket_tells_not_installed_from_not_running(tmp_path):
    sock = tmp_path / "docker.sock"
    with pytest.raises(DockerApiError, match="^Docker is not installed on this host"):
        check_socket("unix://%s" % sock, lambda: None)
    with pytest.raises(DockerApiError) as exc:
        check_socket("unix://%s" % sock, lambda: "/usr/sbin/dockerd")
    assert str(exc.value) == ("Docker is installed (/usr/sbin/dockerd) but the daemon is not running: the socket %s "
                              "does not exist. Start the docker service or set docker_host." % sock)
    sock.write_text("")
    assert check_socket(str(sock)) == "unix://%s" % sock
    assert check_socket("tcp://10.0.0.1:2375") == "tcp://10.0.0.1:2375"


def test_endpoint():
    container = {"NetworkSettings": {"Networks": {"mac_net1": {"IPAddress": "192.168.2.70"}, "bridge": {}}}}
    assert endpoint(container, "mac_net1") == ({"IPAddress": "192.168.2.70"}, ["bridge", "mac_net1"])
    assert endpoint({}, "bridge") == (None, [])


# --------------------------------------------------------------------------------------------------
# Plain socket (docker_daemon: no SDK)


def test_plain_reads(dockerd):
    server, host = dockerd
    api = connect_plain(host)
    assert api.ping() is True and api.ping(1) is True
    assert api.version() == VERSION and api.engine_version() == "28.5.2"
    assert api.info() == INFO
    assert api.networks() == [BRIDGE]
    assert api.network("bridge") == BRIDGE
    assert api.network("nope") is None
    assert [c["Id"] for c in api.containers()] == [RUNNING["Id"]]
    assert [c["Id"] for c in api.containers(all=True)] == [RUNNING["Id"], STOPPED["Id"]]
    assert [c["Id"] for c in api.containers(all=True, filters={"label": "crosshost.docker.connectivity"})] \
        == [STOPPED["Id"]]
    assert api.container("web")["State"]["Running"] is True
    assert api.container("gone") is None
    api.close()
    # unversioned paths, the plain list without a query for the running containers
    assert ("/containers/json", {}) in server.requests
    assert server.api_versions == set()


def test_plain_errors_name_the_call_and_the_daemon(dockerd):
    server, host = dockerd
    server.broken.add("/info")
    api = connect_plain(host)
    with pytest.raises(DockerCallError) as exc:
        api.info()
    assert str(exc.value) == "Docker API call GET /info on %s failed: 500 boom on /info" % host
    assert exc.value.reason == "500 boom on /info" and not exc.value.not_found
    assert "exception" in exc.value.details


def test_plain_daemon_down(tmp_path):
    api = connect_plain("unix://%s" % (tmp_path / "none.sock"))  # nothing is opened yet
    assert api.ping() is False
    with pytest.raises(DockerCallError, match="^Docker API call GET /version on unix://.* failed: "):
        api.version()


def test_plain_not_http(tmp_path):
    path = str(tmp_path / "ssh.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def answer():
        conn, _addr = listener.accept()
        conn.recv(1024)
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")
        conn.close()
    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(DockerCallError, match="not an HTTP response"):
            DockerApi(SocketClient(("unix", path), 2), "unix://" + path).version()
    finally:
        thread.join(5)
        listener.close()


def test_parse_http_response_chunked():
    status, headers, body = api_mod.parse_http_response(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n")
    assert (status, headers["transfer-encoding"], body) == (200, "chunked", b"OK")


# --------------------------------------------------------------------------------------------------
# The Docker SDK (docker_host_info, connectivity, daemon_json)


@needs_sdk
def test_sdk_reads_and_negotiates(dockerd):
    server, host = dockerd
    api = api_mod.connect(host, timeout=5)
    assert api.version()["Version"] == "28.5.2"
    assert api.engine_version() == "28.5.2"
    assert api.info() == INFO
    assert api.networks() == [BRIDGE]
    assert api.network("nope") is None
    assert [c["Id"] for c in api.containers(all=True, filters={"label": "crosshost.docker.connectivity"})] \
        == [STOPPED["Id"]]
    assert api.container("web")["Id"] == RUNNING["Id"] and api.container("gone") is None
    assert api.ping() is True
    api.close()
    assert server.api_versions == {"1.51"}  # version="auto": the daemon's own API version


@needs_sdk
def test_sdk_stale_socket(tmp_path):
    path = str(tmp_path / "stale.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.close()  # the file stays, nobody listens
    with pytest.raises(DockerApiError) as exc:
        api_mod.connect("unix://" + path, timeout=3)
    assert str(exc.value).startswith("Cannot connect to the Docker daemon at unix://%s: " % path)
    assert "nothing listens on it" in str(exc.value)


@needs_sdk
def test_sdk_missing_socket_asks_for_dockerd(tmp_path):
    with pytest.raises(DockerApiError, match="^Docker is installed \\(/opt/dockerd\\)"):
        api_mod.connect("unix://%s" % (tmp_path / "none.sock"), find_dockerd=lambda: "/opt/dockerd")


# --------------------------------------------------------------------------------------------------
# Changing things, against a fake docker.APIClient


class FakeSdk(helpers.FakeAPIClient):
    def __init__(self):
        super().__init__(images={"busybox:latest"})
        self.remove_error = None

    def inspect_image(self, image):
        if ":" not in image.rpartition("/")[2]:
            image += ":latest"  # as dockerd: no tag means latest
        if image not in self.images:
            raise api_mod.ImageNotFound("No such image: %s" % image)
        return {"Id": image}

    def create_container(self, image, **kwargs):
        self.calls.append(("create", image, kwargs))
        if kwargs["host_config"]["network_mode"] == "nonet":
            raise api_mod.NotFound("network nonet not found")
        cid = kwargs["name"] + "-id"
        self.containers_by_id[cid] = {"Id": cid, "Name": "/" + kwargs["name"], "State": {"Running": False}}
        return {"Id": cid}

    def inspect_container(self, name):
        if name not in self.containers_by_id:
            raise api_mod.NotFound("No such container: %s" % name)
        return self.containers_by_id[name]

    def remove_container(self, name, force=False):
        self.calls.append(("remove", name, force))
        if self.remove_error:
            raise self.remove_error

    def close(self):
        self.calls.append(("close",))


def test_wrap_keeps_an_adapter_and_wraps_a_client():
    sdk = FakeSdk()
    api = wrap(sdk, "unix:///x.sock")
    assert isinstance(api, DockerApi) and api.client is sdk and wrap(api) is api
    api.close()
    assert sdk.calls == [("close",)]


def test_ensure_image_pulls_only_what_is_missing():
    sdk = FakeSdk()
    api = DockerApi(sdk, "unix:///x.sock")
    assert api.ensure_image("busybox:latest") is False and sdk.calls == []
    assert api.ensure_image("local/probe") is True
    assert sdk.calls == [("pull", "local/probe", "latest")]
    sdk.pull_error = "pull access denied for nope"
    with pytest.raises(DockerCallError) as exc:
        api.ensure_image("nope:1")
    assert exc.value.reason == "pull access denied for nope"
    assert str(exc.value) == "Docker API call POST /images/create on unix:///x.sock failed: pull access denied for nope"


def test_run_container_creates_starts_and_inspects():
    sdk = FakeSdk()
    api = DockerApi(sdk)
    container = api.run_container("busybox:latest", ["sleep", "60"], "probe", "bridge", labels={"a": "b"},
                                  init=True, auto_remove=True)
    assert container["State"]["Running"] is True
    create = sdk.calls[0]
    assert create[0] == "create" and create[2]["command"] == ["sleep", "60"] and create[2]["labels"] == {"a": "b"}
    assert create[2]["host_config"] == {"init": True, "auto_remove": True, "network_mode": "bridge"}
    assert create[2]["networking_config"] == {"EndpointsConfig": {"bridge": {}}} and create[2]["detach"] is True
    assert sdk.calls[1] == ("start", "probe-id")
    with pytest.raises(DockerCallError) as exc:
        api.run_container("busybox:latest", ["sleep", "60"], "p2", "nonet")
    assert exc.value.not_found and "network nonet not found" in exc.value.reason


def test_remove_container_tolerates_gone_and_in_progress():
    sdk = FakeSdk()
    api = DockerApi(sdk)
    api.remove_container("probe")
    sdk.remove_error = api_mod.NotFound("No such container: probe")
    api.remove_container("probe")
    sdk.remove_error = api_mod.APIError("removal of container probe is already in progress")
    api.remove_container("probe")
    assert sdk.calls == [("remove", "probe", True)] * 3
    sdk.remove_error = api_mod.APIError("device or resource busy")
    with pytest.raises(DockerCallError, match="DELETE /containers/probe on None failed: device or resource busy"):
        api.remove_container("probe")
