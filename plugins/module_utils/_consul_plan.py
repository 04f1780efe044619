# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks and the cluster plan of the ``crosshost.docker.consul`` role: pure Python, no Ansible.

The role runs these on the control node before anything touches a host, so every mistake in its
variables is reported with the variable's name and the fix, and a host is never left half
configured. Nothing here reads or writes a file; the filter plugin passes what it found on the
control node (whether a file exists, the SHA-256 of a local release archive).

API (the ``crosshost.docker.consul_settings`` and ``crosshost.docker.consul_plan`` filters):

* ``check_settings(settings)`` -> the settings of one host, normalised. ``settings`` has the role's
  variables by their names (``consul_version``, ``consul_encrypt``, ...), see ``SETTINGS``. The
  result holds no secret: ``encrypt`` and ``acl_management_token`` become booleans (given or
  not), so it can be shown with ``-v``. Secrets never appear in an error message either, only
  their length.
* ``plan_cluster(hosts, servers, addresses, retry_join=None)`` -> who is a server, the
  ``bootstrap_expect`` of the servers and the ``retry_join`` list every agent gets.
* ``check_gossip_key(key)`` -> True for a valid ``encrypt`` value (32 bytes, base64).

Consul's own rules that are checked here (Consul 1.12 and later; the role writes the ``tls``
stanza of 1.12):

* ``encrypt``: "must be 32-bytes that are Base64-encoded" (``consul keygen`` makes one).
* ``datacenter``: lower-case letters, digits, ``-`` and ``_`` only (the agent refuses others).
* ``bootstrap_expect``: the number of servers; the role allows 1, 3 or 5 (an even number adds
  no failure tolerance and 2 servers cannot lose either one).
* ACL tokens (``acl.tokens.initial_management``) are UUIDs.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

INSTALL_METHODS = ("archive", "container")
ACL_POLICIES = ("allow", "deny")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERR")
SERVER_COUNTS = (1, 3, 5)

VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?(?:\+ent(?:\.[0-9A-Za-z.]+)?)?$")
ARCH_RE = re.compile(r"^[a-z0-9_]+$")
URL_RE = re.compile(r"^(?:https?|ftp|file)://[^\s\"'\\]+$")
HEX_CHECKSUM_RE = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
URL_CHECKSUM_RE = re.compile(r"^sha256:((?:https?|ftp|file)://[^\s\"'\\]+)$")
DATACENTER_RE = re.compile(r"^[a-z0-9_-]+$")
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
NODE_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62})$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PATH_RE = re.compile(r"^/[^\s\"'\\$`]*$")
IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
KV_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/$")
POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
CONTAINER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# Every variable check_settings reads (the role passes them all).
SETTINGS = (
    "consul_install_method", "consul_version", "consul_arch", "consul_archive_url", "consul_archive_checksum",
    "consul_archive_src", "consul_container_image", "consul_container_name", "consul_encrypt",
    "consul_datacenter", "consul_domain", "consul_node_name", "consul_config_dir", "consul_data_dir",
    "consul_bin_dir", "consul_install_dir", "consul_http_port", "consul_https_port", "consul_log_level",
    "consul_bind_address", "consul_advertise_address", "consul_client_addresses", "consul_acl_enabled",
    "consul_acl_default_policy", "consul_acl_management_token", "consul_acl_management_token_file",
    "consul_docker_kv_prefix", "consul_docker_policy_name", "consul_tls", "consul_tls_ca_file",
    "consul_tls_cert_file", "consul_tls_key_file",
)
# What the filter plugin adds from the control node's file system.
LOCAL_FACTS = ("archive_src_exists", "archive_src_sha256", "tls_files_exist")


class ConsulPlanError(PlanError):
    """Bad input, with the variable's name and the fix."""


def _text(settings, name, required=False):
    value = settings.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ConsulPlanError("%s must be a string, got %s %r" % (name, type(value).__name__, value))
    value = value.strip()
    if required and not value:
        raise ConsulPlanError("%s is empty: set it" % name)
    return value


def _bool(settings, name):
    value = settings.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise ConsulPlanError("%s must be true or false, got %r" % (name, value))


def _port(settings, name):
    value = settings.get(name)
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConsulPlanError("%s must be a port number (1-65535), got %r" % (name, value))
    if isinstance(value, bool) or not 1 <= port <= 65535 or str(port) != str(value).strip():
        raise ConsulPlanError("%s must be a port number (1-65535), got %r" % (name, value))
    return port


def _path(settings, name):
    value = _text(settings, name, required=True)
    if not PATH_RE.match(value) or "/../" in value + "/" or value.endswith("/.."):
        raise ConsulPlanError("%s=%r: use an absolute path without spaces, quotes, `$` or `..`" % (name, value))
    return value.rstrip("/") or "/"


def _address(value, name, allow_unspecified=False):
    try:
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ConsulPlanError("%s=%r is not an IP address" % (name, value))
    if not allow_unspecified and (addr.is_unspecified or addr.is_multicast):
        raise ConsulPlanError("%s=%s: use the host's own unicast address, not %s" % (
            name, addr, "an unspecified address" if addr.is_unspecified else "a multicast address"))
    return str(addr)


def check_gossip_key(key, name="consul_encrypt"):
    """True when ``key`` is a valid gossip encryption key; raises ConsulPlanError (without the key)."""
    how = ("it must be 32 random bytes in base64 (44 characters ending in '='), made with `consul keygen` or "
           "`openssl rand -base64 32`, and kept in Ansible Vault")
    if not isinstance(key, str) or not key.strip():
        raise ConsulPlanError("%s is empty: gossip encryption is required; %s" % (name, how))
    key = key.strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ConsulPlanError("%s is not valid base64 (a value of %d characters): %s" % (name, len(key), how))
    if len(raw) != 32:
        raise ConsulPlanError("%s decodes to %d bytes, not 32: %s" % (name, len(raw), how))
    return True


def _checksum(value, name="consul_archive_checksum"):
    """('sha256:<hex>' | 'sha256:<url>' | '', kind) with kind 'hex', 'url' or ''."""
    if not value:
        return "", ""
    m = HEX_CHECKSUM_RE.match(value)
    if m:
        return "sha256:" + m.group(1).lower(), "hex"
    m = URL_CHECKSUM_RE.match(value)
    if m:
        return "sha256:" + m.group(1), "url"
    raise ConsulPlanError("%s=%r: give the release's SHA-256, 64 hex digits (optionally prefixed 'sha256:'), or "
                          "'sha256:<URL of the release's SHA256SUMS file>'" % (name, value))


def check_settings(settings, local=None):
    """The settings of one host, normalised (see the module docstring). ``local`` holds what the
    control node knows about local files: ``archive_src_exists``, ``archive_src_sha256`` and
    ``tls_files_exist`` ({variable name: bool})."""
    if not isinstance(settings, dict):
        raise ConsulPlanError("the consul settings must be a dict of the role's variables, got %s"
                              % type(settings).__name__)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ConsulPlanError("unknown consul settings %s (known: %s)" % (", ".join(unknown), ", ".join(SETTINGS)))
    local = local or {}
    out = {}

    method = _text(settings, "consul_install_method", required=True)
    if method not in INSTALL_METHODS:
        raise ConsulPlanError("consul_install_method=%r: use archive (an official release zip) or container "
                              "(an image you name in consul_container_image)" % method)
    out["install_method"] = method

    version = _text(settings, "consul_version", required=method == "archive")
    if version.startswith("v"):
        version = version[1:]
    if method == "archive" and not VERSION_RE.match(version):
        raise ConsulPlanError("consul_version=%r is not a release version: use e.g. 1.20.2 (without a leading 'v')"
                              % settings.get("consul_version"))
    out["version"] = version

    out["archive"] = None
    out["container"] = None
    if method == "archive":
        arch = _text(settings, "consul_arch", required=True)
        if not ARCH_RE.match(arch):
            raise ConsulPlanError("consul_arch=%r: use the release's architecture name, e.g. amd64 or arm64" % arch)
        src = _text(settings, "consul_archive_src")
        url = _text(settings, "consul_archive_url")
        checksum, kind = _checksum(_text(settings, "consul_archive_checksum"))
        name = "consul_%s_linux_%s.zip" % (version, arch)
        if src:
            if not PATH_RE.match(src):
                raise ConsulPlanError("consul_archive_src=%r: give the absolute path of the release zip on the control "
                                      "node, e.g. \"{{ playbook_dir }}/files/%s\"" % (src, name))
            if not local.get("archive_src_exists"):
                raise ConsulPlanError("consul_archive_src=%s does not exist on the control node: download %s (and its "
                                      "SHA256SUMS) there first, or leave consul_archive_src empty to download from "
                                      "consul_archive_url" % (src, name))
            if kind == "url":
                raise ConsulPlanError("consul_archive_checksum is a URL, which an offline site cannot fetch: give the "
                                      "SHA-256 of %s as 64 hex digits, or leave it empty" % src)
            have = local.get("archive_src_sha256")
            if checksum and have and checksum != "sha256:" + have.lower():
                raise ConsulPlanError("consul_archive_src=%s has SHA-256 %s but consul_archive_checksum says %s: the "
                                      "file is not the release you named (or is damaged); download it again"
                                      % (src, have.lower(), checksum[len("sha256:"):]))
            if have and not checksum:
                checksum = "sha256:" + have.lower()
        else:
            if not url:
                raise ConsulPlanError("consul_archive_url is empty: set it (default: the official release URL for "
                                      "consul_version) or give a local file in consul_archive_src")
            if not URL_RE.match(url):
                raise ConsulPlanError("consul_archive_url=%r is not a URL (http://, https://, ftp:// or file://)" % url)
            if not checksum:
                raise ConsulPlanError("consul_archive_checksum is empty: a download needs the release's SHA-256, from "
                                      "consul_%s_SHA256SUMS next to the zip (or 'sha256:<URL of that file>')"
                                      % version)
        out["archive"] = {"src": src, "url": "" if src else url, "checksum": checksum, "name": name, "arch": arch}
    else:
        image = _text(settings, "consul_container_image")
        if not image:
            raise ConsulPlanError("consul_container_image is empty: with consul_install_method=container, name the "
                                  "Consul image to run (e.g. hashicorp/consul:1.20.2, or your registry's copy)")
        if not IMAGE_RE.match(image):
            raise ConsulPlanError("consul_container_image=%r is not an image reference" % image)
        cname = _text(settings, "consul_container_name", required=True)
        if not CONTAINER_NAME_RE.match(cname):
            raise ConsulPlanError("consul_container_name=%r: use letters, digits, '_', '.' and '-'" % cname)
        out["container"] = {"image": image, "name": cname}

    check_gossip_key(settings.get("consul_encrypt"))
    out["encrypt"] = True

    dc = _text(settings, "consul_datacenter", required=True)
    if not DATACENTER_RE.match(dc):
        raise ConsulPlanError("consul_datacenter=%r: Consul accepts only lower-case letters, digits, '-' and '_'" % dc)
    out["datacenter"] = dc
    domain = _text(settings, "consul_domain", required=True).rstrip(".")
    if not DOMAIN_RE.match(domain):
        raise ConsulPlanError("consul_domain=%r: use a DNS domain like consul or consul.example" % domain)
    out["domain"] = domain
    node = _text(settings, "consul_node_name", required=True)
    if not NODE_NAME_RE.match(node):
        raise ConsulPlanError("consul_node_name=%r: use up to 63 letters, digits, '-', '_' and '.', starting with a "
                              "letter or digit (a DNS label is best)" % node)
    out["node_name"] = node

    paths = {}
    for key in ("consul_config_dir", "consul_data_dir", "consul_bin_dir", "consul_install_dir",
                "consul_acl_management_token_file"):
        paths[key] = _path(settings, key)
    if paths["consul_config_dir"] == paths["consul_data_dir"]:
        raise ConsulPlanError("consul_config_dir and consul_data_dir are both %s: Consul reads every .hcl/.json file "
                              "of the config directory, keep its data elsewhere" % paths["consul_config_dir"])
    for key in ("consul_data_dir", "consul_install_dir"):
        if (paths[key] + "/").startswith(paths["consul_config_dir"] + "/"):
            raise ConsulPlanError("%s=%s is inside consul_config_dir=%s: put it elsewhere" % (
                key, paths[key], paths["consul_config_dir"]))
    if paths["consul_acl_management_token_file"].startswith(paths["consul_config_dir"] + "/"):
        raise ConsulPlanError("consul_acl_management_token_file=%s is inside consul_config_dir, which the agent (and "
                              "in container mode the container) reads: put it elsewhere"
                              % paths["consul_acl_management_token_file"])
    out.update(config_dir=paths["consul_config_dir"], data_dir=paths["consul_data_dir"],
               bin_dir=paths["consul_bin_dir"], install_dir=paths["consul_install_dir"],
               acl_management_token_file=paths["consul_acl_management_token_file"])

    out["http_port"] = _port(settings, "consul_http_port")
    out["https_port"] = _port(settings, "consul_https_port")
    level = _text(settings, "consul_log_level", required=True).upper()
    if level == "WARNING":
        level = "WARN"
    if level not in LOG_LEVELS:
        raise ConsulPlanError("consul_log_level=%r: use one of %s"
                              % (settings.get("consul_log_level"), ", ".join(LOG_LEVELS)))
    out["log_level"] = level

    bind = _text(settings, "consul_bind_address")
    if not bind:
        raise ConsulPlanError("consul_bind_address is empty and consul_interface has no IPv4 address on this host: set "
                              "consul_interface to the interface the cluster talks on, or consul_bind_address")
    out["bind_address"] = _address(bind, "consul_bind_address")
    advertise = _text(settings, "consul_advertise_address")
    out["advertise_address"] = _address(advertise, "consul_advertise_address") if advertise else out["bind_address"]
    clients = settings.get("consul_client_addresses")
    if clients is None or clients == "":
        clients = []
    if isinstance(clients, str):
        clients = clients.split()
    if not isinstance(clients, (list, tuple)):
        raise ConsulPlanError("consul_client_addresses must be a list of IP addresses, got %r" % (clients,))
    normalised = []
    for i, item in enumerate(clients or ["127.0.0.1", out["bind_address"]]):
        addr = _address(item, "consul_client_addresses[%d]" % i, allow_unspecified=True)
        if addr not in normalised:
            normalised.append(addr)
    if not any(ipaddress.ip_address(a).is_loopback or ipaddress.ip_address(a).is_unspecified for a in normalised):
        raise ConsulPlanError("consul_client_addresses=%s: include 127.0.0.1, the role checks each agent through "
                              "its local HTTP API" % normalised)
    out["client_addresses"] = normalised

    acl = _bool(settings, "consul_acl_enabled")
    policy = _text(settings, "consul_acl_default_policy", required=True)
    if policy not in ACL_POLICIES:
        raise ConsulPlanError("consul_acl_default_policy=%r: use deny (recommended) or allow" % policy)
    token = settings.get("consul_acl_management_token") or ""
    if not isinstance(token, str) or (token.strip() and not UUID_RE.match(token.strip())):
        raise ConsulPlanError("consul_acl_management_token is not a UUID (a value of %d characters): Consul's tokens "
                              "are UUIDs, make one with `uuidgen`, or leave it empty to bootstrap the ACL system "
                              "and keep the token in consul_acl_management_token_file"
                              % (len(token) if isinstance(token, str) else 0))
    prefix = _text(settings, "consul_docker_kv_prefix", required=True)
    if not KV_PREFIX_RE.match(prefix):
        raise ConsulPlanError("consul_docker_kv_prefix=%r: use a key prefix like docker/ (letters, digits, '_', '.', "
                              "'-', parts separated by '/', ending with '/')" % prefix)
    pname = _text(settings, "consul_docker_policy_name", required=True)
    if not POLICY_NAME_RE.match(pname):
        raise ConsulPlanError("consul_docker_policy_name=%r: use up to 128 letters, digits, '-' and '_'" % pname)
    out["acl"] = {"enabled": acl, "default_policy": policy, "management_token": bool(token.strip()),
                  "docker_kv_prefix": prefix, "docker_policy_name": pname}

    tls = _bool(settings, "consul_tls")
    out["tls"] = {"enabled": tls}
    if tls:
        exist = local.get("tls_files_exist") or {}
        for key in ("consul_tls_ca_file", "consul_tls_cert_file", "consul_tls_key_file"):
            value = _text(settings, key)
            if not value:
                raise ConsulPlanError("%s is empty: with consul_tls: true give the PEM file on the control node "
                                      "(CA, this agent's certificate and key; `consul tls ca create` and `consul tls "
                                      "cert create -server -dc %s` make them)" % (key, dc))
            if not PATH_RE.match(value):
                raise ConsulPlanError("%s=%r: give an absolute path on the control node" % (key, value))
            if not exist.get(key):
                raise ConsulPlanError("%s=%s does not exist on the control node" % (key, value))
            out["tls"][key[len("consul_tls_"):]] = value
        if out["https_port"] == out["http_port"]:
            raise ConsulPlanError("consul_https_port and consul_http_port are both %d: use two ports" % out["http_port"])
    return out


def plan_cluster(hosts, servers, addresses, retry_join=None):
    """{'servers', 'clients', 'modes', 'first_server', 'bootstrap_expect', 'retry_join'} for the play's hosts."""
    if isinstance(servers, str):
        servers = [servers]
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
        raise ConsulPlanError("the play's hosts must be a list of inventory host names, got %r" % (hosts,))
    if not isinstance(servers, (list, tuple)) or not all(isinstance(s, str) and s for s in servers):
        raise ConsulPlanError("consul_servers must be a list of inventory host names, got %r" % (servers,))
    if len(set(servers)) != len(servers):
        dup = sorted({s for s in servers if list(servers).count(s) > 1})
        raise ConsulPlanError("consul_servers names %s more than once" % ", ".join(dup))
    if not servers:
        raise ConsulPlanError("consul_servers is empty: put 1, 3 or 5 hosts in the inventory group consul_servers, or "
                              "set consul_servers to a list of inventory hosts")
    if len(servers) not in SERVER_COUNTS:
        raise ConsulPlanError("consul_servers has %d hosts (%s): use 1, 3 or 5 servers (%s)" % (
            len(servers), ", ".join(servers),
            "2 servers cannot lose either one, 4 tolerate no more failures than 3" if len(servers) in (2, 4)
            else "more than 5 servers slow every write down without making the cluster safer"))
    addresses = dict(addresses or {})
    seen = {}
    for host in hosts:
        if host not in addresses:
            raise ConsulPlanError("%s has no address for consul: set consul_bind_address or consul_interface" % host)
        addr = _address(addresses[host], "consul_advertise_address of %s" % host)
        if addr in seen:
            raise ConsulPlanError("%s and %s both advertise %s: every agent needs an address of its own (set "
                                  "consul_interface or consul_advertise_address per host)" % (seen[addr], host, addr))
        seen[addr] = host
        addresses[host] = addr
    if retry_join:
        if isinstance(retry_join, str):
            retry_join = [retry_join]
        join = []
        for i, item in enumerate(retry_join):
            if not isinstance(item, str) or not (HOST_RE.match(item.strip()) or _is_ip(item)):
                raise ConsulPlanError("consul_retry_join[%d]=%r: use a server's address or DNS name" % (i, item))
            join.append(item.strip())
    else:
        missing = [s for s in servers if s not in addresses]
        if missing:
            raise ConsulPlanError("consul_servers %s %s not in this play, so %s address is unknown: run the play on the "
                                  "servers too, or give their addresses in consul_retry_join" % (
                                      ", ".join(missing), "is" if len(missing) == 1 else "are",
                                      "its" if len(missing) == 1 else "their"))
        join = [addresses[s] for s in servers]
    modes = {h: ("server" if h in servers else "client") for h in hosts}
    return {"servers": list(servers), "clients": [h for h in hosts if h not in servers], "modes": modes,
            "first_server": servers[0], "bootstrap_expect": len(servers), "retry_join": join}


def _is_ip(value):
    try:
        ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    return True
