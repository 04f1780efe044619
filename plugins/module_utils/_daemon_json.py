# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure planning code behind ``crosshost.docker.daemon_json``: no I/O, no ansible imports.

``plan_daemon_json()`` takes the current content of daemon.json (text or None for a missing
file), what the task asked for (``set``/``remove``/``purge``) and the engine version, and returns
what the file should become, which keys change, whether dockerd needs a restart or only a reload,
and every validation error (with the key and the fix) before anything is written. The module only
reads the file, asks dockerd for its version, runs ``dockerd --validate`` and writes the result.

Rules (also in the module's documentation):

* ``set`` merges recursively: a dict value merges into an existing dict value key by key, any
  other value replaces the old one. Keys of ``set`` are literal (never split at dots).
* ``remove`` takes keys or dotted paths. At each level the whole remaining path is tried as a key
  first, then it is split at its dots from the left, following only keys that exist and hold a
  dict. Top-level Docker keys never contain dots; nested keys can
  (``default-network-opts.bridge.com.docker.network.bridge.host_binding_ipv4`` removes that one
  driver option). A path that does not exist is not an error: there is nothing to remove.
* ``remove`` is applied before ``set``; a key removed and set again keeps its place, so
  ``remove: [log-opts]`` plus ``set: {log-opts: {...}}`` replaces a whole nested dict in place.
* ``purge`` makes the content exactly ``set`` (nested dicts too).
* Key order is kept; new keys are appended. Nothing changes (no rewrite) when the resulting
  content equals the current one, compared with JSON types (``true`` is not ``1``).
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.crosshost.docker.plugins.module_utils._engine import (
    ALLOW_DIRECT_ROUTING,
    CLUSTER_STORE_REMOVED,
    VALIDATE_FLAG,
    at_least,
    version_text,
)
from ansible_collections.crosshost.docker.plugins.module_utils._host_facts import (
    DaemonJsonError,
    parse_daemon_json,
)

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

__all__ = [
    "DaemonJsonError",
    "DaemonJsonPlanError",
    "RELOADABLE_KEYS",
    "RELOAD_APPLIES_REMOVAL",
    "plan_daemon_json",
    "merge",
    "remove_path",
    "changed_keys",
    "validate_config",
    "classify_reload",
    "detect_indent",
    "render",
    "validate_support",
    "clean_validate_output",
    "parse_record",
    "record_original",
    "plan_restore",
]


class DaemonJsonPlanError(PlanError):
    """The request itself is unusable (not a problem of a daemon.json key)."""


# Keys dockerd applies on SIGHUP (``kill -HUP $(cat /var/run/docker.pid)``, ``service docker reload``,
# ``systemctl reload docker``) without a restart. Sources:
# * Docker documentation, dockerd reference, "Configuration reload behavior"
#   (https://docs.docker.com/reference/cli/dockerd/#configuration-reload-behavior; docker/cli
#   docs/reference/dockerd.md): debug, labels, live-restore, max-concurrent-downloads,
#   max-concurrent-uploads, max-download-attempts, default-runtime, runtimes, authorization-plugin
#   (the daemon.json key is ``authorization-plugins``), allow-nondistributable-artifacts,
#   insecure-registries, registry-mirrors, shutdown-timeout, features.
# * moby daemon/reload_unix.go (reloadPlatform, 20.10 and later) also applies default-shm-size,
#   default-ipc-mode and default-cgroupns-mode; daemon/reload.go (reloadNetworkDiagnosticPort)
#   network-diagnostic-port.
# Everything else (bip, fixed-cidr, mtu, iptables, ip-masq, log-driver, data-root, ...) needs a
# restart. cluster-store and friends were documented as reloadable on old engines only when they
# had not been configured before: we count them as restart keys.
RELOADABLE_KEYS = frozenset([
    "debug", "labels", "live-restore", "max-concurrent-downloads", "max-concurrent-uploads",
    "max-download-attempts", "default-runtime", "runtimes", "authorization-plugins",
    "allow-nondistributable-artifacts", "insecure-registries", "registry-mirrors", "shutdown-timeout",
    "features", "default-shm-size", "default-ipc-mode", "default-cgroupns-mode", "network-diagnostic-port",
])

# Reloadable keys whose *removal* a reload also applies. For the others moby's reload code only
# copies a value that is set (``conf.IsValueSet(key)``), so deleting the key keeps the running value
# until the next restart. These are reset to their default on every reload (reload.go
# reloadMaxConcurrentDownloadsAndUploads / reloadMaxDownloadAttempts / reloadFeatures /
# reloadNetworkDiagnosticPort; cmd/dockerd reloadConfig: authzMiddleware.SetPlugins).
RELOAD_APPLIES_REMOVAL = frozenset([
    "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts", "features",
    "authorization-plugins", "network-diagnostic-port",
])

BOOLEAN_KEYS = (
    "ip-masq", "iptables", "ip-forward", "live-restore", "allow-direct-routing", "userland-proxy",
    "icc", "ipv6", "ip6tables", "debug", "experimental", "ip-forward-no-drop", "no-new-privileges",
    "selinux-enabled", "init",
)
CLUSTER_KEYS = ("cluster-store", "cluster-advertise", "cluster-store-opts")
INTEGER_RANGES = {"mtu": (68, 65535)}

_REMOVED = object()  # placeholder that keeps a removed key's position until set() fills it again


# --------------------------------------------------------------------------------------------
# merging and removing


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _strip_removed(value):
    if isinstance(value, dict):
        return {k: _strip_removed(v) for k, v in value.items() if v is not _REMOVED}
    return value


def merge(current, updates):
    """Recursive merge of `updates` into a copy of `current`; order kept, new keys appended."""
    result = _copy(current)
    for key, value in updates.items():
        old = result.get(key, _REMOVED)
        if isinstance(old, dict) and isinstance(value, dict):
            result[key] = merge(old, value)
        else:
            result[key] = _copy(value)  # an existing key (or placeholder) keeps its position
    return result


def _resolve(config, path):
    """Keys leading to `path` in `config` (see the module docstring), or None when absent."""
    if path in config and config[path] is not _REMOVED:
        return [path]
    for match in re.finditer(r"\.", path):
        head, rest = path[:match.start()], path[match.end():]
        child = config.get(head)
        if isinstance(child, dict) and rest:
            sub = _resolve(child, rest)
            if sub:
                return [head] + sub
    return None


def remove_path(config, path):
    """Remove `path` in place (leaving a position placeholder); returns the key list or None."""
    keys = _resolve(config, path)
    if keys:
        node = config
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = _REMOVED
    return keys


def _purged(current, wanted):
    """`wanted` exactly, laid out in `current`'s key order where keys exist in both."""
    if not isinstance(current, dict) or not isinstance(wanted, dict):
        return _copy(wanted)
    result = {}
    for key, value in current.items():
        if key in wanted and value is not _REMOVED:
            result[key] = _purged(value, wanted[key])
    for key, value in wanted.items():
        if key not in result:
            result[key] = _copy(value)
    return result


def _canonical(value):
    # JSON text with sorted keys: types count (true != 1, "1" != 1), dict order does not.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def same(a, b):
    return _canonical(a) == _canonical(b)


def _changes(before, after, path=()):
    """Key paths (tuples) added, changed or removed between two dicts, recursing into dicts."""
    found = []
    for key, value in after.items():
        here = path + (key,)
        if key not in before:
            found.append(here)
        elif isinstance(value, dict) and isinstance(before[key], dict):
            found.extend(_changes(before[key], value, here))
        elif not same(value, before[key]):
            found.append(here)
    found.extend(path + (key,) for key in before if key not in after)
    return found


def changed_keys(before, after):
    """Dotted paths of the keys added, changed or removed between two dicts."""
    return [".".join(keys) for keys in _changes(before, after)]


# --------------------------------------------------------------------------------------------
# validation


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_bip(value):
    if not isinstance(value, str):
        return "bip must be a string like \"10.0.1.1/24\" (the bridge's own address with a prefix length), not %s" % (
            json.dumps(value))
    if "/" not in value:
        return ("bip %r has no prefix length: bip is the bridge's own address with a prefix length, "
                "e.g. %s/24" % (value, value))
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        iface = None
    if iface is not None and iface.version == 6:
        return "bip %r is IPv6: bip takes the IPv4 address of the default bridge (IPv6 goes in fixed-cidr-v6 / bip6)" % value
    if iface is None or not re.match(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$", value):
        return "bip %r is not an IPv4 address with a prefix length such as 10.0.1.1/24" % value
    net = iface.network
    if net.prefixlen < 31 and iface.ip == net.network_address:
        return ("bip %r is a network address: bip is the bridge's own (gateway) address inside the network, "
                "not the network itself: use the gateway address, e.g. %s/%d" % (value, net.network_address + 1, net.prefixlen))
    if net.prefixlen < 31 and iface.ip == net.broadcast_address:
        return ("bip %r is the broadcast address of %s: use the gateway address, e.g. %s/%d"
                % (value, net, net.network_address + 1, net.prefixlen))
    return None


def _check_fixed_cidr(value, bip):
    if not isinstance(value, str):
        return "fixed-cidr must be a string like \"10.0.1.0/25\", not %s" % json.dumps(value)
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "fixed-cidr %r is not an IPv4 network such as 10.0.1.0/25" % value
    if net.version != 4:
        return "fixed-cidr %r is IPv6: use fixed-cidr-v6 for IPv6" % value
    if "/" not in value:
        return "fixed-cidr %r has no prefix length: fixed-cidr is a network, e.g. %s/25" % (value, value)
    if str(net) != value:
        return "fixed-cidr %r is not a network address (host bits are set): use %s" % (value, net)
    if isinstance(bip, str):
        try:
            bip_net = ipaddress.ip_interface(bip).network
        except ValueError:
            return None  # bip's own error says it
        if bip_net.version == 4 and not net.subnet_of(bip_net):
            inside = next(bip_net.subnets(new_prefix=net.prefixlen)) if net.prefixlen >= bip_net.prefixlen else bip_net
            return ("fixed-cidr %s is not inside bip's network %s (bip %s): containers get addresses from "
                    "fixed-cidr, which must be a part of the bridge's network; use e.g. fixed-cidr %s, or change bip"
                    % (net, bip_net, bip, inside))
    return None


def _check_pools(value):
    example = '[{"base": "10.10.0.0/16", "size": 24}]'
    if not isinstance(value, list):
        return "default-address-pools must be a list of {base, size}, e.g. %s" % example
    for index, pool in enumerate(value):
        where = "default-address-pools[%d]" % index
        if not isinstance(pool, dict) or set(pool) != {"base", "size"}:
            return "%s must be a dict with exactly the keys base and size, e.g. %s; got %s" % (
                where, example, json.dumps(pool, sort_keys=True))
        try:
            base = ipaddress.ip_network(pool["base"]) if isinstance(pool["base"], str) else None
        except ValueError:
            base = None
        if base is None:
            return "%s.base %s is not a network such as 10.10.0.0/16" % (where, json.dumps(pool["base"]))
        size = pool["size"]
        if not _is_int(size):
            return "%s.size must be an integer prefix length such as 24, not %s" % (where, json.dumps(size))
        if not base.prefixlen <= size <= base.max_prefixlen:
            return ("%s.size %d must be between the base's prefix length (%d) and %d: each network taken "
                    "from %s is a /size" % (where, size, base.prefixlen, base.max_prefixlen, base))
    return None


def _check_key(key, value, config):
    if key == "bip":
        return _check_bip(value)
    if key == "fixed-cidr":
        return _check_fixed_cidr(value, config.get("bip"))
    if key in INTEGER_RANGES:
        low, high = INTEGER_RANGES[key]
        if not _is_int(value) or not low <= value <= high:
            return "%s must be an integer from %d to %d (e.g. 1450 under VXLAN), not %s" % (key, low, high, json.dumps(value))
        return None
    if key in BOOLEAN_KEYS and not isinstance(value, bool):
        hint = ""
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            hint = " (a quoted %r is a string: write %s without quotes)" % (value, "true" if value.lower() in ("true", "yes") else "false")
        return "%s must be a JSON boolean, true or false, not %s%s" % (key, json.dumps(value), hint)
    if key == "default-address-pools":
        return _check_pools(value)
    return None


def _version_errors(key, engine):
    """(error, warning) for keys that exist only on some engine versions."""
    if key in CLUSTER_KEYS:
        new_enough = at_least(engine, CLUSTER_STORE_REMOVED)
        if new_enough is None:
            return None, ("%s only works on Docker engines older than 23.0 (dockerd 23.0 and later refuse to start "
                          "with it) and this host's engine version is unknown: set engine_version to check" % key)
        if new_enough:
            return ("%s was removed in Docker 23.0; this host runs %s: use the swarm overlay backend "
                    "(crosshost.docker.overlay with overlay_backend=swarm)" % (key, version_text(engine))), None
    if key == "allow-direct-routing":
        new_enough = at_least(engine, ALLOW_DIRECT_ROUTING)
        if new_enough is None:
            return None, ("allow-direct-routing needs Docker 28.0 or later and this host's engine version is "
                          "unknown: set engine_version to check")
        if not new_enough:
            return "allow-direct-routing needs Docker 28.0 or later; this host runs %s" % version_text(engine), None
    return None, None


def validate_config(config, keys, engine=None):
    """Check the top-level `keys` of the resulting `config`. Returns (errors, warnings)."""
    errors, warnings = [], []
    for key in keys:
        if key not in config:
            continue
        message = _check_key(key, config[key], config)
        if message:
            errors.append(message)
        error, warning = _version_errors(key, engine)
        if error:
            errors.append(error)
        if warning:
            warnings.append(warning)
    return errors, warnings


def classify_reload(changed):
    """(restart_required, reload_sufficient) for a list of (top-level key, removed) pairs."""
    if not changed:
        return False, False
    for key, removed in changed:
        if key not in RELOADABLE_KEYS or (removed and key not in RELOAD_APPLIES_REMOVAL):
            return True, False
    return False, True


# --------------------------------------------------------------------------------------------
# text


def detect_indent(text, default=2):
    """Indentation of an existing file: the leading whitespace of its first indented line."""
    for line in (text or "").splitlines()[1:]:
        match = re.match(r"^([ \t]+)\S", line)
        if match:
            white = match.group(1)
            if "\t" in white:
                return "\t"
            return len(white)
    return default


def render(config, indent=2):
    return json.dumps(config, indent=indent, ensure_ascii=False) + "\n"


def validate_support(engine, validate=True):
    """Whether to run ``dockerd --validate``: (run, note)."""
    if not validate:
        return False, "skipped: validate=false"
    supported = at_least(engine, VALIDATE_FLAG)
    if supported is None:
        return False, "skipped: the engine version is unknown (dockerd --validate exists from Docker 23.0)"
    if not supported:
        return False, "skipped: Docker %s has no dockerd --validate (added in 23.0)" % version_text(engine)
    return True, None


def clean_validate_output(text, temp_path, path):
    """dockerd's --validate message with our temporary file name replaced by the real path."""
    text = (text or "").strip()
    if temp_path:
        text = text.replace(temp_path, path + " (proposed content)")
    return text


# --------------------------------------------------------------------------------------------
# the plan


def _top_level(paths, before, after):
    """[(top-level key, removed)] in order, one entry per top-level key changed."""
    seen, result = set(), []
    for keys in paths:
        top = keys[0]
        if top not in seen:
            seen.add(top)
            result.append((top, top in before and top not in after))
    return result


def plan_daemon_json(text, set_values=None, remove=None, purge=False, engine=None, path="daemon.json",
                     indent=None):
    """What daemon.json should become.

    `text` is the current content (str or bytes) or None when the file does not exist; `engine`
    a parsed version tuple or None. Raises DaemonJsonError for a current file that is not valid
    JSON and DaemonJsonPlanError for an unusable request. Returns a dict: before (dict or None),
    after (dict), changed (content), changed_keys, top_level (list of (key, removed)), errors,
    warnings, restart_required, reload_sufficient, before_text, after_text.
    """
    set_values = {} if set_values is None else set_values
    remove = [] if remove is None else remove
    if not isinstance(set_values, dict):
        raise DaemonJsonPlanError("set must be a dict of daemon.json keys to values")
    if not isinstance(remove, list) or not all(isinstance(r, str) and r for r in remove):
        raise DaemonJsonPlanError("remove must be a list of keys or dotted paths (non-empty strings)")
    if purge and remove:
        raise DaemonJsonPlanError("remove cannot be combined with purge=true: with purge the file becomes exactly "
                                  "set, so leave the keys to remove out of set")

    if isinstance(text, bytes):
        before_text = text.decode("utf-8", errors="replace")
    else:
        before_text = text
    before = None if text is None else parse_daemon_json(text, path)
    current = before or {}

    errors, warnings = [], []
    for key in set_values:
        if "." in key:
            nested = key.split(".", 1)
            errors.append("set key %r contains a dot: Docker's top-level keys never do, and keys of set are "
                          "taken literally. To set a nested key write it as a nested dict: {%r: {%r: ...}}"
                          % (key, nested[0], nested[1]))

    if purge:
        after = _purged(current, set_values)
    else:
        work = _copy(current)
        for dotted in remove:
            remove_path(work, dotted)
        after = _strip_removed(merge(work, set_values))

    paths = _changes(current, after)
    dotted_changes = [".".join(keys) for keys in paths]
    changed = bool(paths)
    top = _top_level(paths, current, after)

    check_keys = [key for key, removed in top if not removed]
    key_errors, key_warnings = validate_config(after, check_keys, engine)
    errors.extend(key_errors)
    warnings.extend(key_warnings)
    # fixed-cidr depends on bip: a new bip must still contain an unchanged fixed-cidr
    if "bip" in check_keys and "fixed-cidr" in after and "fixed-cidr" not in check_keys:
        message = _check_fixed_cidr(after["fixed-cidr"], after.get("bip"))
        if message:
            errors.append(message)
    # problems in keys nobody touched: dockerd will trip over them, but they are not ours to fix
    untouched = [key for key in after if key not in check_keys]
    old_errors = validate_config(after, untouched, engine)[0]
    for message in old_errors:
        warnings.append("left as it is (not managed by this task): %s" % message)

    restart_required, reload_sufficient = classify_reload(top)
    if indent is None:
        indent = detect_indent(before_text)
    after_text = render(after, indent) if changed else before_text
    return {
        "before": before,
        "after": after,
        "changed": changed,
        "changed_keys": dotted_changes,
        "top_level": top,
        "errors": errors,
        "warnings": warnings,
        "restart_required": restart_required,
        "reload_sufficient": reload_sufficient,
        "before_text": before_text if before_text is not None else "",
        "after_text": after_text if after_text is not None else "",
    }


# --------------------------------------------------------------------------------------------
# the original values of the keys we own, and putting them back

RECORD_VERSION = 1


def parse_record(text, path="record"):
    """A record file's content (text, or None when there is none) as a dict, or None."""
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise DaemonJsonPlanError("%s is not the JSON record of daemon.json's original keys (%s): move it away and "
                                  "restore daemon.json by hand from its backup files" % (path, exc))
    if (not isinstance(record, dict) or not isinstance(record.get("keys"), dict)
            or not (record.get("text") is None or isinstance(record.get("text"), str))):
        raise DaemonJsonPlanError("%s is not a record of daemon.json's original keys written by this module: move it "
                                  "away and restore daemon.json by hand from its backup files" % path)
    return record


def record_original(record, text, keys, extra=None):
    """The record of what daemon.json held before this collection first changed `keys`.

    `record` is the existing record (dict) or None, `text` the current daemon.json (str or None
    when missing), `keys` the top-level keys about to change. The first record keeps the whole
    file's text (for a byte-identical restore); later records only add keys not recorded yet, with
    their value as it is now (which is still the original, since only we change our keys).
    ``extra`` (a dict, for example the default bridge's address before the change) is kept with the
    first record only. Returns (new record, the keys added); the record is unchanged when nothing was
    added.
    """
    current = parse_daemon_json(text) if text is not None else {}
    if record is None:
        record = {"version": RECORD_VERSION, "text": text, "keys": {}, "extra": dict(extra or {})}
    else:
        record = dict(record, keys=dict(record["keys"]))
    added = []
    for key in keys:
        if key in record["keys"]:
            continue
        entry = {"present": key in current}
        if key in current:
            entry["value"] = _copy(current[key])
        record["keys"][key] = entry
        added.append(key)
    return record, added


def plan_restore(text, record, path="daemon.json", indent=None):
    """What daemon.json becomes when the recorded keys get their original values back.

    When the result holds exactly the original keys and values, the original text comes back byte
    for byte (``byte_identical``); a file that did not exist and would be empty is deleted
    (``delete``). Otherwise only our keys change (key for key) and the file keeps the others'
    changes. Returns the same fields as plan_daemon_json, plus restored_keys, byte_identical and
    delete.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    before = None if text is None else parse_daemon_json(text, path)
    current = before or {}
    after = _copy(current)
    for key, entry in record["keys"].items():
        if entry.get("present"):
            after[key] = _copy(entry.get("value"))
        else:
            after.pop(key, None)
    original_text = record.get("text")
    original = None if original_text is None else parse_daemon_json(original_text, "the recorded original of %s" % path)
    delete = byte_identical = False
    if original_text is None and not after:
        after_text, delete, byte_identical = None, text is not None, True
    elif original is not None and same(after, original):
        after_text, byte_identical = original_text, True
    else:
        after_text = render(after, detect_indent(text) if indent is None else indent)
    paths = _changes(current, after)
    top = _top_level(paths, current, after)
    restart_required, reload_sufficient = classify_reload(top)
    return {
        "before": before,
        "after": after,
        "changed": delete or (after_text is not None and after_text != text),
        "changed_keys": [".".join(keys) for keys in paths],
        "restored_keys": sorted(record["keys"]),
        "top_level": top,
        "errors": [],
        "warnings": [],
        "restart_required": restart_required,
        "reload_sufficient": reload_sufficient,
        "before_text": text if text is not None else "",
        "after_text": after_text if after_text is not None else "",
        "byte_identical": byte_identical,
        "delete": delete,
    }
