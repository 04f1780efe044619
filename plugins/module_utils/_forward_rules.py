# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans the iptables rules that let containers on different hosts talk by their own IPs.

Pure Python: no Ansible, no subprocess. The module feeds it the parsed `iptables-save` output
and applies what it returns.

What we own (and only that):
- filter chain CROSSHOST-FORWARD, jumped to from the top of DOCKER-USER. It ACCEPTs traffic between
  this host's container subnets and the peers' container subnets, both ways, and nothing else.
  DOCKER-USER is the chain Docker keeps for users: it survives dockerd restarts on 20.10, 26 and 28.
- nat chain CROSSHOST-MASQ, appended to POSTROUTING for each local container subnet: RETURN for
  peer and local subnets (the receiver sees the true container IP), MASQUERADE for everything else
  (containers still reach the world). It replaces Docker's own MASQUERADE, which must be off
  (daemon.json "ip-masq": false): Docker puts its rule back at the top of POSTROUTING on every
  restart, above any exemption, on every engine version (measured on 20.10, 26, 28).
- The jumps carry the comment "crosshost.docker"; purging removes exactly our chains and jumps.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.crosshost.docker.plugins.module_utils import _engine as engine
from ansible_collections.crosshost.docker.plugins.module_utils import _iptables
from ansible_collections.crosshost.docker.plugins.module_utils._errors import PlanError
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import jump_target, tokens
from ansible_collections.crosshost.docker.plugins.module_utils._persist import DOCUMENTATION_URL, oneshot_unit

FILTER_CHAIN = "CROSSHOST-FORWARD"
NAT_CHAIN = "CROSSHOST-MASQ"
COMMENT = "crosshost.docker"
OUR_CHAINS = {"filter": FILTER_CHAIN, "nat": NAT_CHAIN}
_IFNAME = re.compile(r"^[^\s/:]{1,15}$")


class ForwardRulesError(PlanError):
    """Bad input: the message names the option and the fix."""


class PrerequisiteError(PlanError):
    """The host is not ready for our rules (no DOCKER-USER, Docker's own masquerading, raw-table drops)."""


def _networks(values, option):
    nets = []
    for value in values or []:
        try:
            net = ipaddress.ip_network(str(value), strict=True)
        except ValueError:
            try:
                host = ipaddress.ip_interface(str(value))
            except ValueError:
                raise ForwardRulesError("%s: %r is not a CIDR such as 10.0.1.0/24" % (option, value))
            raise ForwardRulesError(
                "%s: %r has host bits set: use the network address %s" % (option, value, host.network))
        if net.version != 4:
            raise ForwardRulesError("%s: %s is IPv6; this module manages IPv4 (iptables) only" % (option, net))
        nets.append(net)
    return nets


def validate(local_subnets, peer_subnets, underlay_interface=None, state="present", mode="rules"):
    """Check the options before anything is touched; return (local, peers) as sorted networks."""
    local = _networks(local_subnets, "local_subnets")
    peers = _networks(peer_subnets, "peer_subnets")
    if state == "present" and mode == "rules" and not local:
        raise ForwardRulesError("local_subnets: give this host's container subnet(s), e.g. [10.0.1.0/24]")
    if state == "present" and mode == "rules" and not peers:
        raise ForwardRulesError("peer_subnets: give the other hosts' container subnets, e.g. [10.0.2.0/24]")
    for p in peers:
        for n in local:
            if p.overlaps(n):
                raise ForwardRulesError(
                    "peer_subnets: %s overlaps local subnet %s: every host needs a container subnet of its own"
                    % (p, n))
    for group, name in ((local, "local_subnets"), (peers, "peer_subnets")):
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if a.overlaps(b):
                    raise ForwardRulesError("%s: %s and %s overlap" % (name, a, b))
    if underlay_interface is not None and not _IFNAME.match(underlay_interface):
        raise ForwardRulesError(
            "underlay_interface: %r is not an interface name (1-15 characters, no spaces, '/' or ':')"
            % (underlay_interface,))
    return sorted(local), sorted(peers)


def _comment():
    return "-m comment --comment %s" % COMMENT


def desired(local, peers, underlay_interface=None, masquerade=True, mode="rules"):
    """Our chains' rules and our jumps, as iptables-save prints them (without `-A CHAIN`).

    Returns {"chains": {(table, chain): [spec, ...]}, "jumps": [(table, chain, spec, position)]}.
    position "top" inserts at the head of the chain, "end" appends.
    """
    chains = {}
    jumps = []
    if mode == "rules":
        rules = []
        for p in peers:
            for n in local:
                i = " -i %s" % underlay_interface if underlay_interface else ""
                o = " -o %s" % underlay_interface if underlay_interface else ""
                rules.append("-s %s -d %s%s -j ACCEPT" % (p, n, i))
                rules.append("-s %s -d %s%s -j ACCEPT" % (n, p, o))
        chains[("filter", FILTER_CHAIN)] = rules
        jumps.append(("filter", "DOCKER-USER", "%s -j %s" % (_comment(), FILTER_CHAIN), "top"))
    if masquerade and local:
        chains[("nat", NAT_CHAIN)] = (["-d %s -j RETURN" % p for p in peers]
                                      + ["-d %s -j RETURN" % n for n in local] + ["-j MASQUERADE"])
        for n in local:
            jumps.append(("nat", "POSTROUTING", "-s %s %s -j %s" % (n, _comment(), NAT_CHAIN), "end"))
    return {"chains": chains, "jumps": jumps}


def current(parsed, our_chains=None):
    """Our state as found in parsed iptables-save output (see _iptables.parse_save).

    ``our_chains``: {table: chain} owned by the caller (default: forward_rules' chains).
    """
    chains = {}
    jumps = []
    for table, our in (our_chains or OUR_CHAINS).items():
        table_chains = parsed.get("chains", {}).get(table, {})
        if our in table_chains:
            chains[(table, our)] = list(table_chains[our]["rules"])
        for chain, entry in table_chains.items():
            for spec in entry["rules"]:
                if jump_target(spec) == our:
                    jumps.append((table, chain, spec))
    return {"chains": chains, "jumps": jumps}


def plan(cur, want, state="present"):
    """What to change: returns {"added": [...], "removed": [...], "restore": {table: [lines]},
    "create": [(table, chain)], "delete": [(table, chain)]}. Lines are for `iptables-restore --noflush`.
    `added`/`removed` are human-readable "table CHAIN spec" strings.
    """
    added, removed = [], []
    restore = {}
    create, delete = [], []

    def line(table, text):
        restore.setdefault(table, []).append(text)

    want_chains = want["chains"] if state == "present" else {}
    want_jumps = want["jumps"] if state == "present" else []

    # Stale jumps first (a chain cannot be deleted while referenced).
    wanted_jump_tokens = {(j[0], j[1], tokens(j[2])) for j in want_jumps}
    for table, chain, spec in cur["jumps"]:
        if (table, chain, tokens(spec)) not in wanted_jump_tokens:
            line(table, "-D %s %s" % (chain, spec))
            removed.append("%s %s %s" % (table, chain, spec))

    for (table, chain), rules in sorted(want_chains.items()):
        have = cur["chains"].get((table, chain))
        if have is None:
            create.append((table, chain))
            line(table, ":%s - [0:0]" % chain)
            for spec in rules:
                line(table, "-A %s %s" % (chain, spec))
                added.append("%s %s %s" % (table, chain, spec))
        elif [tokens(s) for s in have] != [tokens(s) for s in rules]:
            line(table, "-F %s" % chain)
            for spec in rules:
                line(table, "-A %s %s" % (chain, spec))
            have_t = [tokens(s) for s in have]
            want_t = [tokens(s) for s in rules]
            removed += ["%s %s %s" % (table, chain, s) for s in have if tokens(s) not in want_t]
            added += ["%s %s %s" % (table, chain, s) for s in rules if tokens(s) not in have_t]
            if not any(tokens(s) not in want_t for s in have) and not any(tokens(s) not in have_t for s in rules):
                added.append("%s %s (rules reordered)" % (table, chain))

    have_jump_tokens = {(t, c, tokens(s)) for t, c, s in cur["jumps"]}
    for table, chain, spec, position in want_jumps:
        if (table, chain, tokens(spec)) not in have_jump_tokens:
            line(table, ("-I %s 1 %s" if position == "top" else "-A %s %s") % (chain, spec))
            added.append("%s %s %s" % (table, chain, spec))

    for (table, chain), rules in sorted(cur["chains"].items()):
        if (table, chain) not in want_chains:
            line(table, "-F %s" % chain)
            line(table, "-X %s" % chain)
            delete.append((table, chain))
            removed += ["%s %s %s" % (table, chain, s) for s in rules]
            if not rules:
                removed.append("%s %s (empty chain)" % (table, chain))
    return {"added": added, "removed": removed, "restore": restore, "create": create, "delete": delete}


def restore_text(restore):
    """iptables-restore --noflush input for the planned lines; tables in a stable order."""
    out = []
    for table in ("filter", "nat", "raw", "mangle"):
        if restore.get(table):
            out.append("*%s" % table)
            out.extend(restore[table])
            out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


def describe(state_view):
    """Our rules as text lines, for diff mode."""
    lines = []
    for (table, chain), rules in sorted(state_view["chains"].items()):
        lines.append("*%s %s" % (table, chain))
        lines.extend("  %s" % s for s in rules)
    for jump in sorted(state_view["jumps"], key=lambda j: (j[0], j[1], j[2])):
        lines.append("*%s %s: %s" % jump[:3])
    return "\n".join(lines) + ("\n" if lines else "")


def docker_masquerade(parsed, local):
    """Docker's own MASQUERADE rules for our local subnets (ip-masq true): they hide the true source."""
    found = []
    for chain, entry in parsed.get("chains", {}).get("nat", {}).items():
        if chain == NAT_CHAIN:
            continue
        for spec in entry["rules"]:
            t = tokens(spec)
            if jump_target(spec) != "MASQUERADE" or "-s" not in t:
                continue
            src = t[t.index("-s") + 1]
            try:
                net = ipaddress.ip_network(src, strict=False)
            except ValueError:
                continue
            if any(net == n for n in local) and COMMENT not in t:
                found.append("nat %s %s" % (chain, spec))
    return found


def raw_drops(parsed, local):
    """Docker 28's per-container raw-table DROP rules for addresses in our local subnets."""
    found = []
    for drop in _iptables.raw_drops(parsed):
        try:
            dst = ipaddress.ip_network(drop["destination"], strict=False)
        except ValueError:
            continue
        if any(dst.subnet_of(n) for n in local):
            found.append("raw PREROUTING %s" % drop["spec"])
    return found


def prerequisites(parsed, local, daemon, version, mode="rules", masquerade=True, check_direct_routing=True,
                  daemon_json_path="/etc/docker/daemon.json", iptables="iptables"):
    """What keeps our rules from working on this host, for state=present. Raises PrerequisiteError when
    DOCKER-USER is missing (always fatal); returns the other problems as messages (the module fails on
    the first, or warns of each in check mode, where an earlier task of the same run would fix them).

    ``daemon``: daemon.json's content ({} when unreadable); ``version``: the running engine's version tuple.
    """
    problems = []
    docker_masq = docker_masquerade(parsed, local)
    drops = raw_drops(parsed, local)
    if mode == "rules" and not parsed["docker_user_exists"]:
        raise PrerequisiteError(
            "The DOCKER-USER chain does not exist in %s's view (%s): start dockerd with its iptables "
            "integration on (it creates the chain), and check that `iptables` is the same "
            "variant (nf_tables or legacy) that Docker uses." % (iptables, parsed.get("backend")))
    if masquerade and docker_masq:
        problems.append(
            "Docker masquerades %s itself (ip-masq is on), so peers would see this host's address instead of the "
            "container's, and Docker puts that rule back above any exemption on every restart. Set "
            "\"ip-masq\": false in %s (crosshost.docker.daemon_json) and restart docker; this module then "
            "masquerades only traffic that leaves the cluster. Rules: %s%s"
            % (", ".join(str(n) for n in local), daemon_json_path, "; ".join(docker_masq),
               (". daemon.json is not applied: it already sets \"ip-masq\": false, but dockerd has not been "
                "restarted since (crosshost.docker.docker_daemon with state=applied)")
               if daemon.get("ip-masq") is False else ""))
    if mode == "rules" and check_direct_routing and engine.at_least(version, engine.ALLOW_DIRECT_ROUTING):
        # The running daemon first: its raw-table drops for our containers are what matters. With no
        # container running there is nothing to see, and the file is all there is to go by.
        if drops and daemon.get("allow-direct-routing") is True:
            problems.append(
                "daemon.json is not applied: it sets \"allow-direct-routing\": true, but the running Docker %s "
                "still drops traffic routed to its containers (%s). Restart dockerd (crosshost.docker.docker_daemon "
                "with state=applied) so that it reads %s."
                % (engine.version_text(version), "; ".join(drops), daemon_json_path))
        elif drops or daemon.get("allow-direct-routing") is not True:
            problems.append(
                "Docker %s drops traffic routed to its containers from other hosts in the raw table (rules like "
                "'-d <container ip>/32 ! -i docker0 -j DROP'). Set \"allow-direct-routing\": true in %s "
                "(crosshost.docker.daemon_json) and restart docker, or set check_direct_routing=false if your "
                "containers are on networks with gateway mode 'routed'."
                % (engine.version_text(version), daemon_json_path))
    return problems


def persist_script(want, mode="rules", iptables="iptables", iptables_restore="iptables-restore",
                   owner="forward_rules"):
    """A shell script that re-applies our rules idempotently (at boot, after a flush, or by hand)."""
    lines = [
        "#!/bin/sh",
        "# Managed by crosshost.docker (%s): re-applies its iptables rules. Do not edit." % owner,
        "# Safe to run any number of times: it removes its own jumps before adding them again.",
        "set -e",
    ]
    if mode == "policy":
        lines.append("%s -P FORWARD ACCEPT" % iptables)
    for table, chain, spec, dummy in want["jumps"]:
        lines.append("while %s -t %s -D %s %s 2>/dev/null; do :; done" % (iptables, table, chain, spec))
    if any(jump[:2] == ("filter", "DOCKER-USER") for jump in want["jumps"]):
        # Docker creates DOCKER-USER and keeps an existing one; never flush it (it may hold others' rules).
        lines.append("%s -t filter -N DOCKER-USER 2>/dev/null || true" % iptables)
    restore = {}
    for (table, chain), rules in sorted(want["chains"].items()):
        restore.setdefault(table, []).append(":%s - [0:0]" % chain)
        restore[table].append("-F %s" % chain)
        restore[table].extend("-A %s %s" % (chain, s) for s in rules)
    for table, chain, spec, position in want["jumps"]:
        restore.setdefault(table, []).append(
            ("-I %s 1 %s" if position == "top" else "-A %s %s") % (chain, spec))
    text = restore_text(restore)
    if text:
        lines.append("%s --noflush <<'EOF'" % iptables_restore)
        lines.append(text.rstrip("\n"))
        lines.append("EOF")
    return "\n".join(lines) + "\n"


# Our boot unit, with "%s" for the script's path.
SYSTEMD_UNIT = oneshot_unit("crosshost.docker forwarding rules (DOCKER-USER and NAT for cross-host containers)",
                            "/bin/sh %s", (("After", "docker.service"), ("Wants", "docker.service")),
                            documentation=DOCUMENTATION_URL)
