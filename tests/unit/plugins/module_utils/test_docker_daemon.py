# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the pure parts of crosshost.docker.docker_daemon (no mocks, no host access).

The LOG_* / INIT_STDERR_* / RELOAD_* texts are real output captured on lab hosts (Debian 12,
dockerd 20.10.24+dfsg1, 26.1.5+dfsg1 and 28.5.2+dfsg4) with the lab's /etc/init.d/docker, which writes
dockerd's output to /var/log/docker.log: the lines added by `service docker restart` (tail) with the
daemon.json named in the constant. PING_28 / VERSION_28 are raw answers of 28.5.2 to our HTTP/1.0
requests on /var/run/docker.sock. The JOURNAL_* texts are NOT captured (the lab has no systemd): they
follow `journalctl -o short-iso` and the default short format.
"""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _docker_daemon as dd

# --------------------------------------------------------------------------------------------------
# Captured output (long lines are split into adjacent literals; the text is byte for byte the capture)


# {"bip": "10.0.0.0/33"} on 28.5.2
LOG_28_BIP = (
    'time="2026-11-23T14:59:14.541480667Z" level=info msg="[graphdriver] using prior storage driver: over'
    'lay2"\n'
    'time="2026-11-23T14:59:14.542494758Z" level=info msg="Loading containers: start."\n'
    'time="2026-11-23T14:59:15.340046316Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="<nil>" module=libcontainerd namespace=moby\n'
    'time="2026-11-23T14:59:15.341081226Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'time="2026-11-23T14:59:15.342025386Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'failed to start daemon: Error initializing network controller: parse bip failed: invalid CIDR addres'
    's: 10.0.0.0/33\n'
)

# {"bip": "10.0.0.0/33"} on 28.5.2: stderr of `service docker restart` (the lab init script shows the log tail)
INIT_STDERR_28_BIP = (
    'docker failed to start; dockerd said:\n'
    'time="2026-11-23T14:59:14.501868073Z" level=info msg="created NRI interface"\n'
    'time="2026-11-23T14:59:14.502119474Z" level=info msg=serving... address=/var/run/docker/containerd/c'
    'ontainerd-debug.sock\n'
    'time="2026-11-23T14:59:14.502179256Z" level=info msg=serving... address=/var/run/docker/containerd/c'
    'ontainerd.sock.ttrpc\n'
    'time="2026-11-23T14:59:14.502227576Z" level=info msg=serving... address=/var/run/docker/containerd/c'
    'ontainerd.sock\n'
    'time="2026-11-23T14:59:14.502247774Z" level=info msg="containerd successfully booted in 0.019502s"\n'
    'time="2026-11-23T14:59:14.508494553Z" level=info msg="OTEL tracing is not configured, using no-op tr'
    'acer provider"\n'
    'time="2026-11-23T14:59:14.508664471Z" level=info msg="CDI directory does not exist, skipping: failed'
    ' to monitor for changes: no such file or directory" dir=/var/run/cdi\n'
    'time="2026-11-23T14:59:14.508679760Z" level=info msg="CDI directory does not exist, skipping: failed'
    ' to monitor for changes: no such file or directory" dir=/etc/cdi\n'
    'time="2026-11-23T14:59:14.527939768Z" level=info msg="Creating a containerd client" address=/var/run'
    '/docker/containerd/containerd.sock timeout=1m0s\n'
) + LOG_28_BIP

# {"bip": "10.0.0.0/33"} on 20.10.24: tail of /var/log/docker.log
LOG_2010_BIP = (
    'time="2026-11-23T14:58:26.594728500Z" level=warning msg="Your kernel does not support cgroup blkio w'
    'eight"\n'
    'time="2026-11-23T14:58:26.594812056Z" level=warning msg="Your kernel does not support cgroup blkio w'
    'eight_device"\n'
    'time="2026-11-23T14:58:26.595920404Z" level=info msg="Loading containers: start."\n'
    'time="2026-11-23T14:58:27.094689066Z" level=info msg="[core] Channel Connectivity change to SHUTDOWN'
    '" module=grpc\n'
    'time="2026-11-23T14:58:27.095161461Z" level=info msg="[core] Subchannel Connectivity change to SHUTD'
    'OWN" module=grpc\n'
    'time="2026-11-23T14:58:27.095345185Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="<nil>" module=libcontainerd namespace=moby\n'
    'time="2026-11-23T14:58:27.096332065Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'time="2026-11-23T14:58:27.096361310Z" level=info msg="[core] Channel Connectivity change to SHUTDOWN'
    '" module=grpc\n'
    'time="2026-11-23T14:58:27.096374925Z" level=info msg="[core] Subchannel Connectivity change to SHUTD'
    'OWN" module=grpc\n'
    'time="2026-11-23T14:58:27.096541127Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:58:27.096866617Z" level=info msg="[core] Subchannel Connectivity change to CONNE'
    'CTING" module=grpc\n'
    'time="2026-11-23T14:58:27.096910309Z" level=info msg="[core] Subchannel picks a new address \\"unix:/'
    '//var/run/docker/containerd/containerd.sock\\" to connect" module=grpc\n'
    'time="2026-11-23T14:58:27.097004956Z" level=info msg="[core] Channel Connectivity change to CONNECTI'
    'NG" module=grpc\n'
    'failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33\n'
)

# {"bip": "10.0.0.0/33"} on 20.10.24, another run: the failing daemon's shutdown logs level=error noise
LOG_2010_BIP_NOISY = (
    'time="2026-11-23T14:58:02.642691902Z" level=info msg="[core] Subchannel Connectivity change to CONNE'
    'CTING" module=grpc\n'
    'time="2026-11-23T14:58:02.642785267Z" level=info msg="[core] Channel Connectivity change to CONNECTI'
    'NG" module=grpc\n'
    'time="2026-11-23T14:58:02.642803671Z" level=info msg="[core] Subchannel picks a new address \\"unix:/'
    '//var/run/docker/containerd/containerd.sock\\" to connect" module=grpc\n'
    'time="2026-11-23T14:58:02.643008665Z" level=error msg="Failed to get event" error="rpc error: code ='
    ' Unavailable desc = transport is closing" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:58:02.643074890Z" level=info msg="Waiting for containerd to be ready to restart '
    'event processing" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:58:02.643106699Z" level=warning msg="Error while testing if containerd API is re'
    'ady" error="rpc error: code = Canceled desc = context canceled"\n'
    'time="2026-11-23T14:58:02.643117089Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33\n'
)

# {"cluster-store": "etcd://192.168.1.1:2379"} on 20.10.24: it starts (tail of the log)
LOG_2010_CLUSTER_STORE_STARTS = (
    'time="2026-11-23T14:58:32.037393325Z" level=info msg="Loading containers: done."\n'
    'time="2026-11-23T14:58:32.058465530Z" level=info msg="Docker daemon" commit=5d6db84 graphdriver(s)=o'
    'verlay2 version=20.10.24+dfsg1\n'
    'time="2026-11-23T14:58:32.058562662Z" level=info msg="Daemon has completed initialization"\n'
    'time="2026-11-23T14:58:32.072605672Z" level=info msg="API listen on /var/run/docker.sock"\n'
)

# {"no-such-option": true} on 20.10.24
LOG_2010_UNKNOWN_KEY = (
    'time="2026-11-23T14:58:36.535881909Z" level=info msg="[core] Subchannel Connectivity change to CONNE'
    'CTING" module=grpc\n'
    'time="2026-11-23T14:58:36.536018065Z" level=info msg="[core] Subchannel picks a new address \\"unix:/'
    '//var/run/docker/containerd/containerd.sock\\" to connect" module=grpc\n'
    'time="2026-11-23T14:58:36.535986205Z" level=info msg="[core] Channel Connectivity change to CONNECTI'
    'NG" module=grpc\n'
    'unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives do'
    "n't match any configuration option: no-such-option\n"
)

# {"mtu": "big"} on 26.1.5
LOG_26_BAD_TYPE = (
    'time="2026-11-23T14:59:06.453258000Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:59:06.453300650Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'unable to configure the Docker daemon with file /etc/docker/daemon.json: json: cannot unmarshal stri'
    'ng into Go struct field Config.CommonConfig.BridgeConfig.DefaultBridgeConfig.mtu of type int\n'
)

# {"bip": "10.0.0.0/33"} on 26.1.5
LOG_26_BIP = (
    'time="2026-11-23T14:58:48.550471195Z" level=info msg="[graphdriver] using prior storage driver: over'
    'lay2"\n'
    'time="2026-11-23T14:58:48.553952731Z" level=info msg="Loading containers: start."\n'
    'time="2026-11-23T14:58:48.961642477Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="<nil>" module=libcontainerd namespace=moby\n'
    'time="2026-11-23T14:58:48.961932470Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:58:48.962047075Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33\n'
)

# {"cluster-store": "etcd://192.168.1.1:2379"} on 26.1.5 (all lines added by the restart)
LOG_26_CLUSTER_STORE = (
    'time="2026-11-23T14:58:51.756773036Z" level=info msg="Processing signal \'terminated\'"\n'
    'time="2026-11-23T14:58:51.758933385Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="<nil>" module=libcontainerd namespace=moby\n'
    'time="2026-11-23T14:58:51.759979426Z" level=info msg="Daemon shutdown complete"\n'
    'time="2026-11-23T14:58:51.760053925Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:58:51.760082650Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives do'
    "n't match any configuration option: cluster-store\n"
)

# {"cluster-store": "etcd://192.168.1.1:2379"} on 28.5.2 (all lines added by the restart)
LOG_28_CLUSTER_STORE = (
    'time="2026-11-23T14:59:17.357083848Z" level=info msg="Processing signal \'terminated\'"\n'
    'time="2026-11-23T14:59:17.358342567Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="<nil>" module=libcontainerd namespace=moby\n'
    'time="2026-11-23T14:59:17.358447493Z" level=info msg="Daemon shutdown complete"\n'
    'time="2026-11-23T14:59:17.358496916Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'time="2026-11-23T14:59:17.358512946Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives do'
    "n't match any configuration option: cluster-store\n"
)

# a daemon.json with a "#" comment line on 28.5.2 (all lines added by the restart)
LOG_28_COMMENT = (
    'time="2026-11-23T14:59:23.357735695Z" level=info msg="Processing signal \'terminated\'"\n'
    'time="2026-11-23T14:59:23.360246842Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="<nil>" module=libcontainerd namespace=moby\n'
    'time="2026-11-23T14:59:23.360899495Z" level=info msg="Daemon shutdown complete"\n'
    'time="2026-11-23T14:59:23.360943979Z" level=info msg="stopping healthcheck following graceful shutdo'
    'wn" module=libcontainerd\n'
    'time="2026-11-23T14:59:23.361032765Z" level=info msg="stopping event stream following graceful shutd'
    'own" error="context canceled" module=libcontainerd namespace=plugins.moby\n'
    'unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid JSON: invalid chara'
    "cter '#' looking for beginning of object key string\n"
)

# SIGHUP on 20.10.24: {"debug": true} accepted, then a file with a "#" comment rejected
RELOAD_2010 = (
    'time="2026-11-23T15:01:21.686243094Z" level=info msg="Got signal to reload configuration, reloading '
    'from: /etc/docker/daemon.json"\n'
    'time="2026-11-23T15:01:21.686866963Z" level=info msg="Reloaded configuration: {\\"mtu\\":1500,\\"pidfil'
    'e\\":\\"/var/run/docker.pid\\",\\"data-root\\":\\"/var/lib/docker\\",\\"exec-root\\":\\"/var/run/docker\\",\\"gr'
    'oup\\":\\"docker\\",\\"deprecated-key-path\\":\\"/etc/docker/key.json\\",\\"max-concurrent-downloads\\":3,\\"m'
    'ax-concurrent-uploads\\":5,\\"max-download-attempts\\":5,\\"shutdown-timeout\\":15,\\"debug\\":true,\\"hosts'
    '\\":[\\"unix:///var/run/docker.sock\\"],\\"log-level\\":\\"info\\",\\"swarm-default-advertise-addr\\":\\"\\",\\"'
    'swarm-raft-heartbeat-tick\\":0,\\"swarm-raft-election-tick\\":0,\\"metrics-addr\\":\\"\\",\\"host-gateway-ip'
    '\\":\\"172.17.0.1\\",\\"log-driver\\":\\"json-file\\",\\"ip\\":\\"0.0.0.0\\",\\"icc\\":true,\\"iptables\\":true,\\"i'
    'p-forward\\":true,\\"ip-masq\\":true,\\"userland-proxy\\":true,\\"default-address-pools\\":{\\"Values\\":null'
    '},\\"network-control-plane-mtu\\":1500,\\"experimental\\":false,\\"containerd\\":\\"/var/run/docker/contain'
    'erd/containerd.sock\\",\\"builder\\":{\\"GC\\":{},\\"Entitlements\\":{}},\\"containerd-namespace\\":\\"moby\\",'
    '\\"containerd-plugin-namespace\\":\\"plugins.moby\\",\\"runtimes\\":{\\"io.containerd.runc.v2\\":{\\"path\\":\\'
    '"runc\\"},\\"io.containerd.runtime.v1.linux\\":{\\"path\\":\\"runc\\"},\\"runc\\":{\\"path\\":\\"runc\\"}},\\"defa'
    'ult-runtime\\":\\"runc\\",\\"default-shm-size\\":67108864,\\"default-ipc-mode\\":\\"private\\",\\"default-cgro'
    'upns-mode\\":\\"host\\",\\"resolv-conf\\":\\"/etc/resolv.conf\\"}"\n'
    'time="2026-11-23T15:01:23.763074384Z" level=info msg="Got signal to reload configuration, reloading '
    'from: /etc/docker/daemon.json"\n'
    'time="2026-11-23T15:01:23.764460021Z" level=error msg="unable to configure the Docker daemon with fi'
    'le /etc/docker/daemon.json: invalid character \'#\' looking for beginning of object key string"\n'
)

# SIGHUP on 28.5.2: {"debug": true} accepted, then a file with a "#" comment rejected
RELOAD_28 = (
    'time="2026-11-23T15:01:30.357077626Z" level=info msg="Got signal to reload configuration" config-fil'
    'e=/etc/docker/daemon.json\n'
    'time="2026-11-23T15:01:30.370088281Z" level=info msg="Reloaded configuration" config="{\\"pidfile\\":\\'
    '"/var/run/docker.pid\\",\\"data-root\\":\\"/var/lib/docker\\",\\"exec-root\\":\\"/var/run/docker\\",\\"group\\"'
    ':\\"docker\\",\\"proxies\\":{},\\"max-concurrent-downloads\\":3,\\"max-concurrent-uploads\\":5,\\"max-downloa'
    'd-attempts\\":5,\\"shutdown-timeout\\":15,\\"debug\\":true,\\"hosts\\":[\\"unix:///var/run/docker.sock\\"],\\"'
    'log-level\\":\\"info\\",\\"log-format\\":\\"text\\",\\"swarm-default-advertise-addr\\":\\"\\",\\"swarm-raft-hear'
    'tbeat-tick\\":0,\\"swarm-raft-election-tick\\":0,\\"metrics-addr\\":\\"\\",\\"host-gateway-ips\\":[\\"\\"],\\"lo'
    'g-driver\\":\\"json-file\\",\\"mtu\\":1500,\\"ip\\":\\"0.0.0.0\\",\\"icc\\":true,\\"iptables\\":true,\\"ip6tables\\'
    '":true,\\"ip-forward\\":true,\\"ip-masq\\":true,\\"userland-proxy\\":true,\\"userland-proxy-path\\":\\"/root/'
    '.cache/crosshost-docker/engines/28/root/usr/sbin/docker-proxy\\",\\"default-address-pools\\":{\\"Values\\'
    '":null},\\"network-control-plane-mtu\\":1500,\\"experimental\\":false,\\"containerd\\":\\"/var/run/docker/c'
    'ontainerd/containerd.sock\\",\\"builder\\":{\\"GC\\":{},\\"Entitlements\\":{}},\\"containerd-namespace\\":\\"m'
    'oby\\",\\"containerd-plugin-namespace\\":\\"plugins.moby\\",\\"default-runtime\\":\\"sysrunc\\",\\"cdi-spec-di'
    'rs\\":[\\"/etc/cdi\\",\\"/var/run/cdi\\"],\\"runtimes\\":{\\"sysrunc\\":{\\"path\\":\\"/usr/sbin/runc\\"}},\\"secc'
    'omp-profile\\":\\"builtin\\",\\"default-shm-size\\":67108864,\\"default-ipc-mode\\":\\"private\\",\\"default-c'
    'groupns-mode\\":\\"host\\",\\"resolv-conf\\":\\"/etc/resolv.conf\\"}"\n'
    'time="2026-11-23T15:01:32.430309280Z" level=info msg="Got signal to reload configuration" config-fil'
    'e=/etc/docker/daemon.json\n'
    'time="2026-11-23T15:01:32.430500178Z" level=error msg="Error reloading configuration" error="unable '
    "to configure the Docker daemon with file /etc/docker/daemon.json: invalid JSON: invalid character '#"
    '\' looking for beginning of object key string"\n'
)

# GET /_ping and GET /version, HTTP/1.0, on 28.5.2
PING_28 = (
    b'HTTP/1.0 200 OK\r\nApi-Version: 1.51\r\nBuilder-Version: 2\r\nCache-Control: no-cache, no-store, must-reva'
    b'lidate\r\nDocker-Experimental: false\r\nOstype: linux\r\nPragma: no-cache\r\nServer: Docker/28.5.2+dfsg4 (li'
    b'nux)\r\nSwarm: inactive\r\nDate: Mon, 23 Nov 2026 15:06:41 GMT\r\nContent-Length: 2\r\nContent-Type: text/pl'
    b'ain; charset=utf-8\r\n\r\nOK'
)

VERSION_28 = (
    b'HTTP/1.0 200 OK\r\nApi-Version: 1.51\r\nContent-Type: application/json\r\nDocker-Experimental: false\r\nOsty'
    b'pe: linux\r\nServer: Docker/28.5.2+dfsg4 (linux)\r\nDate: Mon, 23 Nov 2026 15:06:41 GMT\r\nContent-Length:'
    b' 840\r\n\r\n{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"28.5.2+dfsg4","Details":{"'
    b'ApiVersion":"1.51","Arch":"amd64","BuildTime":"2026-09-15T11:02:57.000000000+00:00","Experimental":"'
    b'false","GitCommit":"3ef3c07c883be49a2e8097bcf6d2952fce1d70eb","GoVersion":"go1.27.1","KernelVersion"'
    b':"6.18.44-fc-v782","MinAPIVersion":"1.24","Os":"linux"}},{"Name":"containerd","Version":"2.1.9+unkno'
    b'wn","Details":{"GitCommit":""}},{"Name":"sysrunc","Version":"1.1.5+ds1","Details":{"GitCommit":"1.1.'
    b'5+ds1-1+deb12u1"}},{"Name":"docker-init","Version":"0.19.0","Details":{"GitCommit":""}}],"Version":"'
    b'28.5.2+dfsg4","ApiVersion":"1.51","MinAPIVersion":"1.24","GitCommit":"3ef3c07c883be49a2e8097bcf6d295'
    b'2fce1d70eb","GoVersion":"go1.27.1","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v782","Bu'
    b'ildTime":"2026-09-15T11:02:57.000000000+00:00"}\n'
)


# Not captured: journald formats of the same failure (see the module docstring above).
JOURNAL_SHORT_ISO = """\
2026-11-23T14:58:02+0000 h1 systemd[1]: Starting docker.service - Docker Application Container Engine...
2026-11-23T14:58:02+0000 h1 dockerd[4711]: time="2026-11-23T14:58:02.197617617Z" level=info msg="Starting up"
2026-11-23T14:58:02+0000 h1 dockerd[4711]: time="2026-11-23T14:58:02.643008665Z" level=error msg="Failed to get event" \
error="rpc error: code = Unavailable desc = transport is closing" module=libcontainerd namespace=plugins.moby
2026-11-23T14:58:02+0000 h1 dockerd[4711]: failed to start daemon: Error initializing network controller: invalid CIDR \
address: 10.0.0.0/33
2026-11-23T14:58:02+0000 h1 systemd[1]: docker.service: Main process exited, code=exited, status=1/FAILURE
2026-11-23T14:58:02+0000 h1 systemd[1]: docker.service: Failed with result 'exit-code'.
2026-11-23T14:58:02+0000 h1 systemd[1]: Failed to start docker.service - Docker Application Container Engine.
"""

JOURNAL_SHORT_START_LIMIT = """\
-- Journal begins at Mon 2026-11-02 10:00:00 UTC, ends at Mon 2026-11-23 14:58:09 UTC. --
Nov 23 14:58:07 h1 systemd[1]: docker.service: Scheduled restart job, restart counter is at 3.
Nov 23 14:58:07 h1 systemd[1]: Stopped Docker Application Container Engine.
Nov 23 14:58:07 h1 systemd[1]: docker.service: Start request repeated too quickly.
Nov 23 14:58:07 h1 systemd[1]: docker.service: Failed with result 'exit-code'.
Nov 23 14:58:07 h1 dockerd[4790]: time="2026-11-23T14:58:07.1Z" level=fatal msg="Error starting daemon" \
error="pid file found, ensure docker is not running or delete /var/run/docker.pid"
"""

CIDR_2010 = "failed to start daemon: Error initializing network controller: invalid CIDR address: 10.0.0.0/33"
CIDR_28 = "failed to start daemon: Error initializing network controller: parse bip failed: invalid CIDR address: 10.0.0.0/33"
CLUSTER_STORE = ("unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives "
                 "don't match any configuration option: cluster-store")


# --------------------------------------------------------------------------------------------------
# Service manager choice


def facts(**kw):
    base = dict(systemd_booted=False, systemctl=None, systemctl_works=None, service=None, init_script=None)
    base.update(kw)
    return base


@pytest.mark.parametrize("observed, want", [
    # a systemd host
    (facts(systemd_booted=True, systemctl="/usr/bin/systemctl", systemctl_works=True, service="/usr/sbin/service",
           init_script="/etc/init.d/docker"), "systemd"),
    # systemd in /run but systemctl broken (e.g. a container with a stale /run): fall back
    (facts(systemd_booted=True, systemctl="/usr/bin/systemctl", systemctl_works=False, service="/usr/sbin/service",
           init_script="/etc/init.d/docker"), "service"),
    # the lab and Debian with sysvinit: systemctl installed, systemd not running
    (facts(systemctl="/usr/bin/systemctl", service="/usr/sbin/service", init_script="/etc/init.d/docker"), "service"),
    # no `service` command: the init script directly
    (facts(init_script="/etc/init.d/docker"), "sysvinit"),
    (facts(systemd_booted=True, systemctl=None, init_script="/etc/init.d/docker"), "sysvinit"),
])
def test_auto_choice(observed, want):
    manager, reason = dd.choose_service_manager("auto", **observed)
    assert manager == want and reason


@pytest.mark.parametrize("observed, needle", [
    (facts(), "/run/systemd/system does not exist"),
    (facts(service="/usr/sbin/service"), "/etc/init.d/docker does not exist"),
    (facts(systemd_booted=True, systemctl="/usr/bin/systemctl", systemctl_works=False), "systemctl does not work"),
    (facts(systemd_booted=True), "no systemctl"),
])
def test_auto_without_any_way_fails_clearly(observed, needle):
    with pytest.raises(dd.DockerDaemonError) as err:
        dd.choose_service_manager("auto", **observed)
    assert needle in str(err.value) and "set service_manager" in str(err.value)


def test_requested_manager_is_used_when_possible_and_refused_otherwise():
    assert dd.choose_service_manager("systemd", **facts(systemctl="/bin/systemctl"))[0] == "systemd"
    assert dd.choose_service_manager("service", **facts(service="/usr/sbin/service"))[0] == "service"
    assert dd.choose_service_manager("sysvinit", **facts(init_script="/etc/init.d/docker"))[0] == "sysvinit"
    for requested, needle in (("systemd", "no systemctl"), ("service", "no `service` command"),
                              ("sysvinit", "/etc/init.d/docker does not exist"), ("upstart", "use one of")):
        with pytest.raises(dd.DockerDaemonError, match=needle):
            dd.choose_service_manager(requested, **facts())


def test_service_commands():
    assert dd.service_command("systemd", "restart", "/usr/bin/systemctl") == ["/usr/bin/systemctl", "restart", "docker.service"]
    assert dd.service_command("service", "reload", service="/usr/sbin/service") == ["/usr/sbin/service", "docker", "reload"]
    assert dd.service_command("sysvinit", "start") == ["/etc/init.d/docker", "start"]
    with pytest.raises(dd.DockerDaemonError):
        dd.service_command("runit", "start")


# --------------------------------------------------------------------------------------------------
# Decision table


@pytest.mark.parametrize("state, api_up, pid_alive, op, action, changed, noted", [
    ("started", True, True, None, "none (already running)", False, False),
    ("started", True, False, None, "none (already running)", False, False),  # pidfile elsewhere, API fine
    ("started", False, False, "start", "started", True, False),
    ("started", False, True, "restart", "restarted", True, True),  # hung daemon
    ("restarted", True, True, "restart", "restarted", True, False),
    ("restarted", True, False, "restart", "restarted", True, False),
    ("restarted", False, False, "start", "started", True, True),
    ("restarted", False, True, "restart", "restarted", True, True),
    ("reloaded", True, True, "reload", "reloaded", True, False),
    ("reloaded", True, False, "reload", "reloaded", True, False),
    ("reloaded", False, False, "start", "started", True, True),
    ("reloaded", False, True, "restart", "restarted", True, True),
])
def test_plan(state, api_up, pid_alive, op, action, changed, noted):
    got = dd.plan(state, api_up, pid_alive)
    assert (got["op"], got["action"], got["changed"], bool(got["note"])) == (op, action, changed, noted)


def test_plan_rejects_unknown_state():
    with pytest.raises(dd.DockerDaemonError):
        dd.plan("stopped", True, True)


def test_container_changes():
    assert dd.container_changes(["a", "b", "c"], ["a", "b", "c"]) == {"containers_kept_running": 3, "containers_stopped": 0}
    assert dd.container_changes(["a", "b"], ["c"]) == {"containers_kept_running": 0, "containers_stopped": 2}
    assert dd.container_changes([], None) == {"containers_kept_running": 0, "containers_stopped": 0}


@pytest.mark.parametrize("text, want", [
    ('{"live-restore": true}', True),
    ('{"live-restore": false, "bip": "10.1.0.1/24"}', False),
    ('{"bip": "10.1.0.1/24"}', None),
    ('{"live-restore": "true"}', None),  # dockerd refuses a string: not "on"
    ('{\n  # comment\n  "live-restore": true\n}', None),
    ("", None), (None, None), ("[]", None),
])
def test_live_restore_setting(text, want):
    assert dd.live_restore_setting(text) is want


@pytest.mark.parametrize("text, problem", [
    ('{"debug": false}\n', None),
    ("{}", None),
    ("", None),  # 23.0+ accept it; the module does not second-guess an empty backup
    ('{\n  # comment\n  "bip": "10.1.0.1/24"\n}\n', "is not valid JSON"),
    ("[1, 2]", "not an object"),
    (None, "cannot be read"),
])
def test_check_rollback_text(text, problem):
    got = dd.check_rollback_text("/etc/docker/daemon.json.bak", text)
    if problem is None:
        assert got is None
    else:
        assert problem in got and "/etc/docker/daemon.json.bak" in got


# --------------------------------------------------------------------------------------------------
# Error lines from real logs


@pytest.mark.parametrize("text, want", [
    (LOG_2010_BIP, [CIDR_2010]),
    (LOG_2010_BIP_NOISY, [CIDR_2010]),  # the level=error shutdown noise is not reported when a plain line exists
    (LOG_26_BIP, [CIDR_2010]),  # 26.1 prints the same words as 20.10
    (LOG_28_BIP, [CIDR_28]),
    (LOG_26_CLUSTER_STORE, [CLUSTER_STORE]),
    (LOG_28_CLUSTER_STORE, [CLUSTER_STORE]),
    (LOG_28_COMMENT, ["unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid JSON: "
                      "invalid character '#' looking for beginning of object key string"]),
    (LOG_2010_UNKNOWN_KEY, ["unable to configure the Docker daemon with file /etc/docker/daemon.json: the following "
                            "directives don't match any configuration option: no-such-option"]),
    (LOG_26_BAD_TYPE, ["unable to configure the Docker daemon with file /etc/docker/daemon.json: json: cannot "
                       "unmarshal string into Go struct field Config.CommonConfig.BridgeConfig.DefaultBridgeConfig.mtu "
                       "of type int"]),
    (LOG_2010_CLUSTER_STORE_STARTS, []),  # 20.10 still has cluster-store: it started, nothing to report
    ("", []), (None, []),
])
def test_error_lines_from_real_logs(text, want):
    assert dd.extract_error_lines(text) == want


def test_init_script_stderr_gives_the_same_line_without_its_header():
    assert dd.extract_error_lines(INIT_STDERR_28_BIP) == [CIDR_28]


def test_error_level_lines_are_the_fallback():
    noise_only = "\n".join(LOG_2010_BIP_NOISY.splitlines()[:-1])
    assert dd.extract_error_lines(noise_only) == [
        "Failed to get event: rpc error: code = Unavailable desc = transport is closing"]


def test_journal_short_iso():
    assert dd.extract_error_lines(JOURNAL_SHORT_ISO) == [
        CIDR_2010,
        "docker.service: Main process exited, code=exited, status=1/FAILURE",
        "docker.service: Failed with result 'exit-code'.",
        "Failed to start docker.service - Docker Application Container Engine.",
    ]


def test_journal_short_format_with_fatal_and_start_limit():
    assert dd.extract_error_lines(JOURNAL_SHORT_START_LIMIT) == [
        "docker.service: Start request repeated too quickly.",
        "docker.service: Failed with result 'exit-code'.",
        "Error starting daemon: pid file found, ensure docker is not running or delete /var/run/docker.pid",
    ]


def test_split_journal_line():
    assert dd.split_journal_line("2026-11-23T14:58:02+0000 h1 dockerd[4711]: failed") == ("dockerd", "failed")
    assert dd.split_journal_line("nov 24 23:57:33 melroy-server systemd[1]: x: y") == ("systemd", "x: y")
    assert dd.split_journal_line(CIDR_2010) == (None, CIDR_2010)


def test_parse_logrus_unquotes_values():
    line = LOG_2010_BIP_NOISY.splitlines()[2]
    fields = dd.parse_logrus(line)
    assert fields["level"] == "info" and fields["module"] == "grpc"
    assert fields["msg"] == '[core] Subchannel picks a new address "unix:///var/run/docker/containerd/containerd.sock" to connect'
    assert dd.parse_logrus(CIDR_2010) is None


def test_limit_and_merge():
    text = "\n".join("line %d" % i for i in range(30))
    assert dd.extract_error_lines(text, limit=3) == ["line 27", "line 28", "line 29"]
    assert dd.merge_lines(["a", "b"], ["b", "c"], None) == ["a", "b", "c"]
    assert len(dd.merge_lines(["x%d" % i for i in range(50)])) == 20


# --------------------------------------------------------------------------------------------------
# Reload outcome


def test_reload_accepted_then_rejected_2010():
    lines = RELOAD_2010.splitlines()
    assert dd.reload_outcome("\n".join(lines[:2])) == ("reloaded", [])
    assert dd.reload_outcome(RELOAD_2010) == ("rejected", [
        "unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid character '#' looking "
        "for beginning of object key string"])


def test_reload_accepted_then_rejected_28():
    lines = RELOAD_28.splitlines()
    assert dd.reload_outcome("\n".join(lines[:2])) == ("reloaded", [])
    assert dd.reload_outcome(RELOAD_28) == ("rejected", [
        "Error reloading configuration: unable to configure the Docker daemon with file /etc/docker/daemon.json: "
        "invalid JSON: invalid character '#' looking for beginning of object key string"])


def test_reload_not_seen_yet():
    assert dd.reload_outcome(RELOAD_28.splitlines()[0]) == (None, [])
    assert dd.reload_outcome("") == (None, [])


def test_reload_ignores_an_earlier_reload_in_the_same_window():
    # journalctl --since has second precision: a rollback's second SIGHUP sees the first one's lines
    first_rejected = RELOAD_28.splitlines()[2:]
    assert dd.reload_signals("\n".join(first_rejected)) == 1
    assert dd.reload_outcome("\n".join(first_rejected), signals_before=1) == (None, [])
    both = first_rejected + RELOAD_28.splitlines()[:2]
    assert dd.reload_outcome("\n".join(both), signals_before=1) == ("reloaded", [])


def test_reload_through_the_journal():
    text = "\n".join("2026-11-23T15:01:30+0000 h3 dockerd[8025]: " + line for line in RELOAD_28.splitlines()[:2])
    assert dd.reload_outcome(text) == ("reloaded", [])


# --------------------------------------------------------------------------------------------------
# Log window, journal arguments


@pytest.mark.parametrize("size, mark, want", [
    (1000, 400, (400, 600)),
    (1000, 1000, (1000, 0)),
    (100, 400, (0, 100)),  # rotated / truncated: read it all
    (1000, None, (0, 1000)),  # there was no log before
    (10 ** 7, 0, (10 ** 7 - 262144, 262144)),
])
def test_log_window(size, mark, want):
    assert dd.log_window(size, mark) == want


def test_journal_since():
    epoch = 1795000000.7
    since = dd.journal_since(epoch)
    assert since == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1795000000 - 1))


# --------------------------------------------------------------------------------------------------
# Docker API bits


@pytest.mark.parametrize("host, want", [
    ("unix:///var/run/docker.sock", ("unix", "/var/run/docker.sock")),
    ("unix://", ("unix", "/var/run/docker.sock")),
    ("/run/docker-h2.sock", ("unix", "/run/docker-h2.sock")),
    ("", ("unix", "/var/run/docker.sock")),
    ("tcp://192.168.1.11:2375", ("tcp", ("192.168.1.11", 2375))),
    ("tcp://[::1]:2375", ("tcp", ("::1", 2375))),
])
def test_docker_address(host, want):
    assert dd.docker_address(host) == want


def test_docker_address_refuses_what_it_cannot_speak():
    with pytest.raises(dd.DockerDaemonError, match="tcp://host:port"):
        dd.docker_address("ssh://me@h1")


def test_http_request_is_http10():
    assert dd.http_request("/_ping").startswith(b"GET /_ping HTTP/1.0\r\n")
    assert dd.http_request("/_ping").endswith(b"\r\n\r\n")


def test_parse_real_answers():
    status, headers, body = dd.parse_http_response(PING_28)
    assert status == 200 and body == b"OK" and headers["api-version"] == "1.51"
    status, headers, body = dd.parse_http_response(VERSION_28)
    assert status == 200 and json.loads(body)["Version"] == "28.5.2+dfsg4"


def test_parse_chunked_and_errors():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"
    assert dd.parse_http_response(chunked)[2] == b"OK"
    assert dd.parse_http_response(b"HTTP/1.0 500 Internal Server Error\r\n\r\nboom")[0] == 500
    for bad in (b"", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n", b"SSH-2.0-OpenSSH\r\n\r\n"):
        with pytest.raises(ValueError):
            dd.parse_http_response(bad)


# --------------------------------------------------------------------------------------------------
# Failure messages


WHAT = "`/usr/sbin/service docker restart`"
WHY = "no dockerd process was left; gave up after 6.3 s"


def test_message_without_rollback_file():
    msg = dd.failure_message(WHAT, WHY, [CIDR_2010], "/etc/docker/daemon.json")
    assert CIDR_2010 in msg and WHAT in msg and WHY in msg
    assert "No rollback_file was given" in msg and "NOT running" in msg


def test_message_after_a_good_rollback():
    msg = dd.failure_message(WHAT, WHY, [CIDR_28], "/etc/docker/daemon.json", "/etc/docker/daemon.json.bak",
                             restored=True, failed_copy="/etc/docker/daemon.json.failed", recovered=True,
                             recovered_version="28.5.2+dfsg4")
    assert CIDR_28 in msg
    assert ("Restored /etc/docker/daemon.json from /etc/docker/daemon.json.bak (the rejected file is kept as "
            "/etc/docker/daemon.json.failed); dockerd is running again (28.5.2+dfsg4).") in msg
    assert "NOT" not in msg


def test_message_when_the_rollback_does_not_help():
    msg = dd.failure_message(WHAT, WHY, [CIDR_28], "/etc/docker/daemon.json", "/etc/docker/daemon.json.bak",
                             restored=True, recovered=False, recovery_lines=["failed to start daemon: other"])
    assert "STILL DOES NOT START" in msg and "failed to start daemon: other" in msg and "NOT running" in msg


def test_message_when_the_rollback_cannot_be_done():
    msg = dd.failure_message(WHAT, WHY, [], "/etc/docker/daemon.json", "/x.bak", rollback_problem="disk full")
    assert "printed no error line" in msg and "disk full" in msg and "NOT running" in msg


# --------------------------------------------------------------------------------------------------
# state=applied: is a restart pending?

RUNNING_DEFAULT = {
    "bridge_address": "172.17.0.1/16",
    "bridge_options": {"com.docker.network.bridge.enable_ip_masquerade": "true",
                       "com.docker.network.bridge.enable_icc": "true",
                       "com.docker.network.driver.mtu": "1500"},
    "info": {"ClusterStore": "", "LiveRestoreEnabled": False},
    "raw_drops": None,
}


def running(**changes):
    out = json.loads(json.dumps(RUNNING_DEFAULT))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def test_nothing_pending_when_the_running_daemon_matches():
    assert dd.pending_reasons({}, running()) == []
    assert dd.pending_reasons({"bip": "172.17.0.1/16", "ip-masq": True, "mtu": 1500}, running()) == []


@pytest.mark.parametrize("config, state, words", [
    ({"bip": "10.0.0.1/24"}, {}, "bip is 10.0.0.1/24 in daemon.json, but docker0 has 172.17.0.1/16"),
    ({"ip-masq": False}, {}, "ip-masq is false in daemon.json, but the running bridge network has true"),
    ({}, {"bridge_options": {"com.docker.network.bridge.enable_ip_masquerade": "false"}},
     "ip-masq is true in daemon.json"),
    ({"icc": False}, {}, "icc is false"),
    ({"mtu": 1450}, {}, "mtu is 1450 in daemon.json, but the running bridge network has 1500"),
    ({"cluster-store": "etcd://192.168.1.1:2379"}, {},
     "cluster-store is etcd://192.168.1.1:2379 in daemon.json, but dockerd runs with none"),
    ({}, {"info": {"ClusterStore": "consul://x:8500"}},
     "cluster-store is not set in daemon.json, but dockerd runs with consul://x:8500"),
    ({"live-restore": True}, {}, "live-restore is true"),
    ({"allow-direct-routing": True}, {"raw_drops": True}, "allow-direct-routing is true in daemon.json"),
])
def test_a_difference_the_running_daemon_shows_is_pending(config, state, words):
    reasons = dd.pending_reasons(config, running(**state))
    assert any(words in r for r in reasons), reasons


def test_unknown_running_values_are_not_guessed():
    unknown = {"bridge_address": None, "bridge_options": None, "info": None, "raw_drops": None}
    assert dd.pending_reasons({"bip": "10.0.0.1/24", "ip-masq": False, "cluster-store": "etcd://x:1"}, unknown) == []
    # 26 and later have no ClusterStore in /info: nothing to compare
    newer = running()
    newer["info"] = {"LiveRestoreEnabled": False}
    assert dd.pending_reasons({"cluster-store": "etcd://x:1"}, newer) == []
    # allow-direct-routing with no container to tell by, or no drops seen
    assert dd.pending_reasons({"allow-direct-routing": True}, running(raw_drops=None)) == []
    assert dd.pending_reasons({"allow-direct-routing": True}, running(raw_drops=False)) == []


def test_bip_is_compared_as_an_interface_address():
    assert dd.pending_reasons({"bip": "10.0.0.1/24"}, running(bridge_address="10.0.0.1/24")) == []
    assert dd.pending_reasons({"bip": "10.0.0.1/24"}, running(bridge_address="10.0.0.1/16"))


def test_a_file_changed_after_dockerd_started_is_pending_unless_a_reload_applied_it():
    files = [("/etc/docker/daemon.json", 2000.0, "abc"), ("/etc/systemd/system/docker.service.d/x.conf", 500.0, "d")]
    reasons = dd.pending_reasons({}, running(), files, started=1000.0)
    assert len(reasons) == 1 and reasons[0].startswith("/etc/docker/daemon.json changed at ")
    assert dd.pending_reasons({}, running(), files, started=1000.0, applied={"/etc/docker/daemon.json": "abc"}) == []
    assert dd.pending_reasons({}, running(), files, started=1000.0, applied={"/etc/docker/daemon.json": "old"})
    assert dd.pending_reasons({}, running(), files, started=3000.0) == []
    assert dd.pending_reasons({}, running(), files, started=None) == []
    assert dd.pending_reasons({}, running(), [("/missing", None, None)], started=1000.0) == []


def test_not_a_dict_config_is_treated_as_empty():
    assert dd.pending_reasons([], running()) == []


def test_process_start_time_from_proc_stat():
    # a real /proc/PID/stat line of a dockerd in the lab (comm with a space and parentheses to be safe)
    stat = ("3568 (docker d) S 1 3568 3568 0 -1 4194560 12196 0 1 0 121 49 0 0 20 0 14 0 35112 2064687104 "
            "13071 18446744073709551615 1 1 0 0 0 0 1002060288 0 2143420159 0 0 0 17 1 0 0 0 0 0")
    assert dd.process_start_time(stat, 1000, 100) == 1000 + 351.12
    assert dd.process_start_time("garbage", 1000, 100) is None
    assert dd.boot_time("cpu 1 2 3\nbtime 1764990000\nprocesses 5\n") == 1764990000
    assert dd.boot_time("cpu 1\n") is None


def test_applied_restarts_or_starts():
    assert dd.plan("applied", True, True)["op"] == "restart"
    assert dd.plan("applied", False, False)["op"] == "start"
    assert dd.plan("applied", False, True)["op"] == "restart"


def test_failure_message_keeps_dockerd_own_line_before_systemd_repeats():
    """Under systemd, a dockerd refusing daemon.json is restarted until the start limit: systemd's lines
    outnumber dockerd's one line, which the message must still show (found on the debian12 lab)."""
    own = ("unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives "
           "don't match any configuration option: crosshost-no-such-key")
    systemd = ["docker.service: Main process exited, code=exited, status=1/FAILURE",
               "docker.service: Failed with result 'exit-code'.",
               "Failed to start docker.service - Docker Application Container Engine.",
               "docker.service: Start request repeated too quickly.",
               "Job for docker.service failed because the control process exited with error code.",
               "See \"systemctl status docker.service\" and \"journalctl -xeu docker.service\" for details."]
    msg = dd.failure_message(WHAT, WHY, [own] + systemd, "/etc/docker/daemon.json")
    said = msg.split("dockerd said: ", 1)[1]
    assert said.startswith(own + " | docker.service: Failed with result")
    assert said.count(" | ") == 5 and "Start request repeated too quickly" in said
    assert dd._said(systemd[:2]) == "dockerd said: " + " | ".join(systemd[:2])
