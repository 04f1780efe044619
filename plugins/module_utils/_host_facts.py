# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parse errors and the daemon.json parser behind ``crosshost.docker.docker_host_info`` (and ``_daemon_json``).

The module's other parsers are split by the tool whose output they read, each in its own file:

* ``_host_facts_docker``: Docker API answers (networks, the default bridge, the engine, containers);
* ``_host_facts_ip``: iproute2 JSON output (interfaces, routes);
* ``_host_facts_sysfs``: /proc/sys and /sys/class/net files;
* iptables-save and ``iptables --version``: ``_iptables`` (the iptables adapter has the one parser).

Nothing in these files does I/O or imports ansible, docker or pyroute2: every function takes text
(the output of a command, the content of a file) or plain dicts (Docker API answers) and returns
plain, JSON-serialisable data. The module reads files, runs commands and talks to the Docker API;
these functions only interpret what it got, so each one is unit-tested on captured fixtures.
"""

from __future__ import annotations

import json

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

__all__ = [
    "HostFactsError",
    "DaemonJsonError",
    "parse_daemon_json",
]


class HostFactsError(PlanError):
    """Base class of the parse errors of the host facts (here and in the _host_facts_* files)."""


class DaemonJsonError(HostFactsError):
    """daemon.json could not be used; ``line``/``column`` are 1-based (None when not positional)."""

    def __init__(self, message, line=None, column=None, hint=None):
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint
        text = message
        if line is not None:
            text = "%s at line %d, column %d" % (text, line, column)
        if hint:
            text = "%s (hint: %s)" % (text, hint)
        super().__init__(text)


_COMMENT_HINT = "comments are not allowed in daemon.json: delete the lines starting with '#'"


def _json_hint(text, err):
    """A human hint for the most common ways people break daemon.json."""
    lines = text.splitlines()
    bad_line = lines[err.lineno - 1] if 0 < err.lineno <= len(lines) else ""
    stripped = bad_line.lstrip()
    char = text[err.pos] if 0 <= err.pos < len(text) else ""
    if stripped.startswith("#"):
        return _COMMENT_HINT
    if stripped.startswith("//") or char == "#" or text[err.pos:err.pos + 2] in ("//", "/*"):
        return "comments are not allowed in daemon.json (JSON has no comment syntax)"
    if char == "'":
        return "JSON strings and keys need double quotes, not single quotes"
    before = text[:err.pos].rstrip()
    if before.endswith(",") and char in ("}", "]"):
        return "trailing commas are not allowed in JSON"
    if err.msg.startswith("Expecting ',' delimiter"):
        return "a comma is missing after the previous entry"
    return None


def parse_daemon_json(text, path="daemon.json"):
    """Parse the content of /etc/docker/daemon.json and return it as a dict.

    An empty (or whitespace-only) file gives ``{}``: dockerd 23.0 and later treat it as "no
    configuration" (dockerd 20.10 refuses to start with it, ``EOF``: the module warns about that).
    A UTF-8 byte order mark is skipped (recent dockerd versions skip it too, older ones refuse it).
    Raises DaemonJsonError with ``line``/``column`` and a ``hint`` when the text is not valid JSON
    (Debian's and many blog posts' daemon.json carry ``#`` comments, which dockerd refuses), and
    without position when the JSON is valid but not an object.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DaemonJsonError("%s is not UTF-8 text: %s" % (path, exc))
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DaemonJsonError(
            "%s is not valid JSON: %s" % (path, err.msg), err.lineno, err.colno, _json_hint(text, err)
        )
    if not isinstance(data, dict):
        raise DaemonJsonError(
            "%s must contain a JSON object ({...}), not a %s" % (path, type(data).__name__)
        )
    return data
