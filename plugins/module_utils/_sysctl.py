# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure planning code behind ``crosshost.docker.forwarding``: sysctl keys, our sysctl.d file, the plan.

Nothing here does I/O. The module reads ``/proc/sys`` and the file, hands the values to these
functions and carries out what they return; every function is unit-tested without mocks.

Key forms (the same rules as procps ``sysctl`` and ``systemd-sysctl``):

* the *dotted* form ``net.ipv4.conf.eth1/10.forwarding``: components are separated by dots, so a
  dot inside an interface name is written as ``/``. This is what ``sysctl -a`` prints and what we
  write to the file;
* the *path* form ``net/ipv4/conf/eth1.10/forwarding``: when the first separator is a slash, slashes
  separate and dots are literal;
* the file under ``/proc/sys`` is the path form: ``/proc/sys/net/ipv4/conf/eth1.10/forwarding``.

Kernel behaviour the plan models (measured on the lab, kernel 6.x):

* ``net.ipv4.ip_forward`` and ``net.ipv4.conf.all.forwarding`` are one switch: writing either with a
  *new* value sets both, ``net.ipv4.conf.default.forwarding`` and every interface's
  ``net.ipv4.conf.<if>.forwarding`` to that value. Writing the value it already has changes nothing.
* ``net.ipv6.conf.all.forwarding`` likewise sets ``default`` and every interface's IPv6 forwarding.
* Hence the order: the global switches first, then the per-interface keys.
"""

from __future__ import annotations

import re

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

__all__ = [
    "SysctlError",
    "DEFAULT_FILE",
    "HEADER",
    "MARKER",
    "IP_FORWARD",
    "validate_interface",
    "interface_key",
    "normalise_key",
    "key_to_path",
    "key_interface",
    "normalise_value",
    "desired_entries",
    "render_file",
    "parse_file",
    "is_ours",
    "cascade",
    "plan_runtime",
    "plan",
    "plan_absent",
    "runtime_text",
    "check_file_path",
]

DEFAULT_FILE = "/etc/sysctl.d/60-crosshost-docker.conf"
IP_FORWARD = "net.ipv4.ip_forward"
V4_ALL_FORWARDING = "net.ipv4.conf.all.forwarding"
V6_ALL_FORWARDING = "net.ipv6.conf.all.forwarding"
IFNAMSIZ = 16  # the kernel's limit includes the NUL: names have at most 15 characters

MARKER = "Managed by crosshost.docker"
HEADER = (
    "# %s (module crosshost.docker.forwarding): do not edit, the next run\n"
    "# rewrites this file; state=absent removes it.\n"
    "# Read at boot by systemd-sysctl or `sysctl --system`; apply now with `sysctl -p <this file>`.\n"
    "# net.ipv4.ip_forward comes first: changing it resets every net.ipv4.conf.*.forwarding.\n"
    "# A '/' in a key stands for a dot in an interface name: net.ipv4.conf.eth1/10.forwarding is eth1.10.\n"
) % MARKER

_IFACE_KEY = re.compile(r"^net\.(ipv4|ipv6)\.(conf|neigh)\.([^.]+)\.(.+)$")


class SysctlError(PlanError):
    """Bad input: the message says what is wrong and how to fix it."""


# ---------------------------------------------------------------------------------------------
# Names and keys


def validate_interface(name):
    """None when `name` can be a Linux interface name, else the reason (a sentence)."""
    if not isinstance(name, str) or name == "":
        return "an interface name must be a non-empty string"
    if name in (".", ".."):
        return "interface name %r is not allowed ('.' and '..' are never interface names)" % name
    if "/" in name:
        return ("interface name %r contains '/': give the interface's real name (for example %r); the module writes "
                "the sysctl key form (net.ipv4.conf.%s.forwarding) itself" % (name, name.replace("/", "."), name))
    if ":" in name:
        return ("interface name %r contains ':': that is an address label (alias) of %r, not an interface"
                % (name, name.split(":", 1)[0]))
    if any(c.isspace() for c in name):
        return "interface name %r contains whitespace" % name
    if len(name) >= IFNAMSIZ:
        return "interface name %r is %d characters long: Linux allows at most %d" % (name, len(name), IFNAMSIZ - 1)
    if name == "all":
        return ("interface 'all' is not allowed: net.ipv4.conf.all.forwarding is the same kernel switch as "
                "net.ipv4.ip_forward, set it with the ip_forward option")
    return None


def interface_key(name, leaf="forwarding", family="ipv4"):
    """'eth1.10' -> 'net.ipv4.conf.eth1/10.forwarding' (the dotted key form)."""
    return "net.%s.conf.%s.%s" % (family, name.replace(".", "/"), leaf)


def normalise_key(text):
    """Either key form -> the dotted form, as sysctl reads it.

    'net/ipv4/conf/eth1.10/forwarding' and 'net.ipv4.conf.eth1/10.forwarding' both give
    'net.ipv4.conf.eth1/10.forwarding'. Leading/trailing whitespace and slashes are dropped.
    """
    key = text.strip().strip("/")
    first = re.search(r"[./]", key)
    if first and first.group() == "/":
        return ".".join(part.replace(".", "/") for part in key.split("/"))
    return key


def key_to_path(key):
    """Dotted key -> path below /proc/sys: 'net.ipv4.conf.eth1/10.forwarding' -> 'net/ipv4/conf/eth1.10/forwarding'."""
    return "/".join(part.replace("/", ".") for part in key.split("."))


def key_interface(key):
    """The interface a per-interface key belongs to ('eth1.10'), None for global keys (and all/default)."""
    m = _IFACE_KEY.match(key)
    if not m or m.group(3) in ("all", "default"):
        return None
    return m.group(3).replace("/", ".")


def _validate_extra_key(raw):
    """Returns (dotted key, None) or (None, reason)."""
    if not isinstance(raw, str) or not raw.strip():
        return None, "extra: a key must be a non-empty string, got %r" % (raw,)
    if any(c.isspace() for c in raw.strip()) or "=" in raw:
        return None, "extra: key %r must not contain whitespace or '='" % raw
    key = normalise_key(raw)
    parts = key_to_path(key).split("/")
    if parts[0] != "net" or len(parts) < 3:
        return None, ("extra: key %r is not a net.* sysctl: this module only owns networking sysctls "
                      "(use ansible.posix.sysctl for others)" % raw)
    if any(part in ("", ".", "..") for part in parts):
        return None, "extra: key %r has an empty, '.' or '..' component" % raw
    return key, None


def normalise_value(value):
    """A sysctl value as text, compared the way the kernel prints it (whitespace runs -> one space).

    True/False -> '1'/'0'. Raises SysctlError for lists, dicts and empty values.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        if text:
            return text
    raise SysctlError("value %r is not a sysctl value (a number or a string)" % (value,))


# ---------------------------------------------------------------------------------------------
# What we want


def _order(key):
    """Global forwarding switches first (they reset the per-interface keys), then all/default keys."""
    if key in (IP_FORWARD, V4_ALL_FORWARDING, V6_ALL_FORWARDING):
        return 0
    if key_interface(key) is None:
        return 1
    return 2


def desired_entries(ip_forward=True, interfaces=None, interface_forwarding=True, extra=None):
    """The (key, value) pairs we own, in the order they must be applied.

    Order: net.ipv4.ip_forward, the global extra switches (net.ipv6.conf.all.forwarding, then other
    all/default and global keys, sorted), the interfaces (in the order given), the other
    per-interface extra keys (sorted). Raises SysctlError listing every problem found.
    """
    errors = []
    entries = [(IP_FORWARD, "1" if ip_forward else "0")]
    iface_value = "1" if interface_forwarding else "0"
    iface_entries = []
    seen = set()
    for name in interfaces or []:
        problem = validate_interface(name)
        if problem:
            errors.append(problem)
            continue
        key = interface_key(name)
        if key not in seen:
            seen.add(key)
            iface_entries.append((key, iface_value))

    extras = []
    for raw, value in sorted((extra or {}).items(), key=lambda kv: str(kv[0])):
        key, problem = _validate_extra_key(raw)
        if problem:
            errors.append(problem)
            continue
        if key in (IP_FORWARD, V4_ALL_FORWARDING):
            errors.append("extra: %r is the kernel's IPv4 forwarding switch: set it with the ip_forward option" % raw)
            continue
        if key in seen:
            errors.append("extra: %r is set by interfaces/interface_forwarding already" % raw)
            continue
        iface = key_interface(key)
        if iface is not None:
            problem = validate_interface(iface)
            if problem:
                errors.append("extra: key %r: %s" % (raw, problem))
                continue
        try:
            text = normalise_value(value)
        except SysctlError as exc:
            errors.append("extra: %s: %s" % (raw, exc))
            continue
        seen.add(key)
        extras.append((key, text))
    if errors:
        raise SysctlError("; ".join(errors))

    globals_ = sorted((e for e in extras if _order(e[0]) < 2), key=lambda e: (_order(e[0]), e[0]))
    per_iface = sorted(e for e in extras if _order(e[0]) == 2)
    return entries + globals_ + iface_entries + per_iface


# ---------------------------------------------------------------------------------------------
# Our file


def render_file(entries):
    """The file's text: our header, then one 'key = value' line per entry, in order."""
    return HEADER + "".join("%s = %s\n" % (key, value) for key, value in entries)


def is_ours(text):
    """True when the file carries our header marker in a comment line."""
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped[:1] in ("#", ";") and MARKER in stripped:
            return True
    return False


def parse_file(text):
    """A sysctl.d file -> (entries, problems).

    entries: list of (dotted key, value), in file order, as ``sysctl -p`` reads them: comments
    ('#', ';') and blank lines skipped, a leading '-' (ignore failures) dropped, whitespace around
    key and value ignored, either key form accepted. problems: 'line N: ...' for lines sysctl would
    reject.
    """
    entries, problems = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("-"):
            stripped = stripped[1:].lstrip()
        if "=" not in stripped:
            problems.append("line %d: no '=' in %r" % (number, line))
            continue
        raw_key, raw_value = stripped.split("=", 1)
        key = normalise_key(raw_key)
        if not key:
            problems.append("line %d: empty key in %r" % (number, line))
            continue
        entries.append((key, " ".join(raw_value.split())))
    return entries, problems


# ---------------------------------------------------------------------------------------------
# The plan


def cascade(values, key, value):
    """Apply one write to a dict of known runtime values, the way the kernel does; returns it.

    Writing a new value to net.ipv4.ip_forward / net.ipv4.conf.all.forwarding sets all IPv4
    forwarding keys (ip_forward, all, default, every interface); net.ipv6.conf.all.forwarding sets
    every IPv6 forwarding key. Keys whose value is None (they do not exist) stay None.
    """
    old = values.get(key)
    values[key] = value
    if old == value:
        return values
    if key in (IP_FORWARD, V4_ALL_FORWARDING):
        pattern = re.compile(r"^net\.ipv4\.conf\.[^.]+\.forwarding$")
        targets = [k for k in values if k == IP_FORWARD or pattern.match(k)]
    elif key == V6_ALL_FORWARDING:
        pattern = re.compile(r"^net\.ipv6\.conf\.[^.]+\.forwarding$")
        targets = [k for k in values if pattern.match(k)]
    else:
        targets = []
    for target in targets:
        if values[target] is not None:
            values[target] = value
    return values


def plan_runtime(entries, runtime):
    """Which writes bring `runtime` (key -> current value or None if absent) to `entries`, in order.

    Each key is checked in turn against the value it has *at that moment*, as the module does
    (read, write only when different), so a global switch that resets the interfaces is followed
    by the per-interface writes that set them back. Returns (writes, values after): writes is a
    list of (key, value before that write, value written).
    """
    values = dict(runtime)
    writes = []
    for key, value in entries:
        current = values.get(key)
        if current is None or current == value:
            continue
        writes.append((key, current, value))
        cascade(values, key, value)
    return writes, values


def plan(entries, runtime, interfaces, file_text, missing_interfaces="fail", persist=True,
         path=DEFAULT_FILE):
    """Everything the module will do for state=present.

    entries: desired_entries(); runtime: key -> current value (None: no such key on the host);
    interfaces: the interface names that exist (from /proc/sys/net/ipv4/conf, without all/default);
    file_text: our file's current text, None when it does not exist.

    Returns a dict: writes, runtime_before, runtime_after (None for keys that are only persisted),
    runtime_changes [{key, before, after}], persist_only [keys], file_before, file_after,
    file_changed. Raises SysctlError for keys that do not exist (unless persist_only covers them)
    and for an existing file that is not ours.
    """
    existing = set(interfaces)
    missing_ifaces, missing_keys, persist_only = [], [], []
    for key, _value in entries:
        if runtime.get(key) is not None:
            continue
        iface = key_interface(key)
        if iface is not None and iface not in existing:
            if missing_interfaces == "persist_only" and persist:
                persist_only.append(key)
            elif iface not in missing_ifaces:
                missing_ifaces.append(iface)
        else:
            missing_keys.append(key)
    errors = []
    if missing_ifaces:
        hint = ("set missing_interfaces=persist_only to only write them to %s" % path if persist
                else "missing_interfaces=persist_only needs persist=true")
        errors.append("interface%s %s do%s not exist on this host (existing interfaces: %s). Create %s first, "
                      "fix the name%s, or %s"
                      % ("s" if len(missing_ifaces) > 1 else "", ", ".join(missing_ifaces),
                         "" if len(missing_ifaces) > 1 else "es", ", ".join(sorted(existing)) or "none",
                         "them" if len(missing_ifaces) > 1 else "it",
                         "s" if len(missing_ifaces) > 1 else "", hint))
    if missing_keys:
        errors.append("sysctl key%s %s do%s not exist on this host (no %s): check the spelling "
                      "and that the kernel feature (IPv6 for example) is enabled; in the dotted form a dot inside "
                      "an interface name is written '/', as in net.ipv4.conf.eth1/10.rp_filter"
                      % ("s" if len(missing_keys) > 1 else "", ", ".join(missing_keys),
                         "" if len(missing_keys) > 1 else "es",
                         ", ".join("/proc/sys/" + key_to_path(k) for k in missing_keys)))
    if file_text is not None and persist and not is_ours(file_text):
        errors.append(_not_ours(path))
    if errors:
        raise SysctlError(". ".join(errors))

    managed = dict((key, runtime.get(key)) for key, _value in entries)
    writes, after = plan_runtime(entries, managed)
    changes = [{"key": key, "before": managed[key], "after": after[key]}
               for key, _value in entries if managed[key] is not None and managed[key] != after[key]]
    result = {
        "writes": writes,
        "runtime_before": managed,
        "runtime_after": after,
        "runtime_changes": changes,
        "persist_only": persist_only,
        "file_before": file_text,
        "file_after": file_text,
        "file_changed": False,
    }
    if persist:
        text = render_file(entries)
        result["file_after"] = text
        result["file_changed"] = text != file_text
    return result


def _not_ours(path):
    return ("%s exists but is not managed by crosshost.docker (no '# %s' header line): it is left alone. "
            "Choose another file with the file option, or remove it yourself" % (path, MARKER))


def plan_absent(file_text, path=DEFAULT_FILE):
    """state=absent: (remove?, keys the file held). Raises SysctlError when the file is not ours."""
    if file_text is None:
        return False, []
    if not is_ours(file_text):
        raise SysctlError(_not_ours(path))
    entries, _problems = parse_file(file_text)
    return True, [key for key, _value in entries]


def runtime_text(values):
    """key -> value as 'key = value' lines (for diff mode); keys without a value are left out."""
    return "".join("%s = %s\n" % (key, value) for key, value in values.items() if value is not None)


def check_file_path(path):
    """None when `path` is acceptable for our file, else the reason."""
    if not path or not path.startswith("/"):
        return "file must be an absolute path, got %r" % (path,)
    if path.rstrip("/") in ("/etc/sysctl.conf",):
        return "file must not be /etc/sysctl.conf: this module only writes a file of its own under /etc/sysctl.d/"
    if not path.endswith(".conf"):
        return ("file %r must end with .conf: systemd-sysctl and `sysctl --system` only read *.conf files "
                "in the sysctl.d directories" % path)
    return None
