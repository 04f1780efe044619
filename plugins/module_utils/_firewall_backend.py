# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which firewall backend dockerd uses: iptables, or (Docker 29, experimental) nftables.

Docker 29 can run with ``"firewall-backend": "nftables"`` in daemon.json (or ``--firewall-backend=nftables``
on its command line). That backend keeps its rules in nftables tables of its own and has no
``DOCKER-USER`` chain (moby#49643), so rules that forward_rules puts there would sit in a chain Docker
no longer uses. Two places say which backend a host has:

* daemon.json's ``firewall-backend``: what dockerd uses from its next start on (V("") or absent: the
  default, iptables, unless the command line says otherwise);
* ``GET /info`` (``docker info``, "Firewall Backend"): ``FirewallBackend: {"Driver": "iptables"}`` on
  Docker 28 and later, what the running dockerd uses; engines before 28 do not report it.

    configured_backend(daemon_json) -> "iptables" | "nftables" | None
    running_backend(info)           -> "iptables" | "nftables" | None
    detect(daemon_json, info)       -> Detected(backend, source, configured, running)
    refuse_nftables(daemon_json, info, daemon_json_path) -> Detected, or FirewallBackendError

Values are matched without regard to case or surrounding blanks; a driver such as
``iptables+firewalld`` counts as its first part. Anything else (not a string, a name we do not know)
counts as unknown (None). When the two places disagree, nftables wins: either the running dockerd
uses it now, or it will after its next restart. Pure Python, no Ansible imports.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError

DAEMON_JSON_KEY = "firewall-backend"
IPTABLES = "iptables"
NFTABLES = "nftables"
BACKENDS = (IPTABLES, NFTABLES)

FROM_DAEMON_JSON = "daemon.json"
FROM_ENGINE = "docker info"
FROM_BOTH = "daemon.json and docker info"

# backend: the one that matters ("iptables", "nftables" or None when unknown); source: where it was
# seen (FROM_DAEMON_JSON, FROM_ENGINE, FROM_BOTH or None); configured / running: each place's own answer.
Detected = namedtuple("Detected", "backend source configured running")


class FirewallBackendError(PlanError):
    """dockerd uses (or will use) a firewall backend that our iptables rules cannot work with."""


def _name(value):
    """'nftables' / ' NFTables ' / 'iptables+firewalld' -> the backend; None for anything else."""
    if not isinstance(value, str):
        return None
    name = value.strip().lower().split("+", 1)[0].strip()
    return name if name in BACKENDS else None


def configured_backend(daemon_json):
    """The backend daemon.json asks for (its ``firewall-backend``), or None when it does not say: no
    file (None), not an object, no key, an empty or unknown value."""
    if not isinstance(daemon_json, dict):
        return None
    return _name(daemon_json.get(DAEMON_JSON_KEY))


def running_backend(info):
    """The backend the running dockerd reports in ``GET /info`` (``FirewallBackend.Driver``), or None:
    no answer (None), an engine before 28 (no ``FirewallBackend``), a null or unknown driver."""
    if not isinstance(info, dict):
        return None
    firewall = info.get("FirewallBackend")
    if not isinstance(firewall, dict):
        return None
    return _name(firewall.get("Driver"))


def detect(daemon_json, info):
    """Detected(backend, source, configured, running) from the daemon.json dict and the /info dict
    (either may be None). nftables from either place wins; otherwise the running engine's answer,
    else daemon.json's; (None, None) when neither says."""
    configured, running = configured_backend(daemon_json), running_backend(info)
    if configured is not None and configured == running:
        return Detected(configured, FROM_BOTH, configured, running)
    if NFTABLES in (configured, running):
        source = FROM_DAEMON_JSON if configured == NFTABLES else FROM_ENGINE
        return Detected(NFTABLES, source, configured, running)
    if running is not None:
        return Detected(running, FROM_ENGINE, configured, running)
    if configured is not None:
        return Detected(configured, FROM_DAEMON_JSON, configured, running)
    return Detected(None, None, configured, running)


def where(detected, daemon_json_path="/etc/docker/daemon.json"):
    """Where the backend was seen, in words."""
    in_file = '%s in %s ("%s": "%s")' % (FROM_DAEMON_JSON, daemon_json_path, DAEMON_JSON_KEY, detected.configured)
    in_engine = '%s (Firewall Backend: %s, the running dockerd)' % (FROM_ENGINE, detected.running)
    if detected.source == FROM_BOTH:
        return "%s and %s" % (in_file, in_engine)
    if detected.source == FROM_DAEMON_JSON:
        text = in_file
        if detected.running is not None:
            text += "; the running dockerd still uses %s and switches at its next restart" % detected.running
        return text
    text = in_engine
    if detected.configured is None:
        text += "; daemon.json does not set %s, so it comes from dockerd's command line (--%s)" % (
            DAEMON_JSON_KEY, DAEMON_JSON_KEY)
    else:
        text += "; daemon.json says %s but dockerd has not been restarted since" % detected.configured
    return text


def message(detected, daemon_json_path="/etc/docker/daemon.json"):
    """The refusal: the backend, where it was seen, why we stop, what to do instead."""
    return ("%s: Docker's firewall backend on this host is %s, seen in %s. That backend (experimental, Docker 29) "
            "has no DOCKER-USER chain (moby#49643), and forward_rules keeps its rules in iptables, jumped to from "
            "DOCKER-USER: Docker would not use them. Nothing was changed. Either run dockerd with the iptables backend "
            '(remove "%s" from %s, or set it to "iptables", and --%s from dockerd\'s command line if it is there; then '
            "restart docker), or leave crosshost.docker.forward_rules out on this host and write the forwarding and "
            "NAT rules yourself in nftables (forward_rules state=absent still removes ours)."
            % (DAEMON_JSON_KEY, detected.backend, where(detected, daemon_json_path), DAEMON_JSON_KEY,
               daemon_json_path, DAEMON_JSON_KEY))


def refuse_nftables(daemon_json, info, daemon_json_path="/etc/docker/daemon.json"):
    """detect(), or FirewallBackendError when the backend is nftables (from either place)."""
    detected = detect(daemon_json, info)
    if detected.backend == NFTABLES:
        raise FirewallBackendError(message(detected, daemon_json_path), firewall_backend=detected.backend,
                                   firewall_backend_source=detected.source)
    return detected
