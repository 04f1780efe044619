#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: route_table
short_description: Make a route table send each host's container subnet to that host, nothing more, nothing less
version_added: 0.2.0
author: crosshost.docker contributors (@crosshost)
description:
  - For the direct-route scheme, every Docker host gets a container subnet of its own (C(bip)), and the network
    must send each subnet to its host. This module makes a route table hold exactly those routes
    (O(routes)) inside the cluster's CIDRs (O(managed_cidrs)), and leaves everything else in the table alone.
  - Inside O(managed_cidrs), a route with a wrong next hop is replaced in place, and with O(purge=true)
    routes of the module's kind that are not in O(routes) are deleted (stale hosts).
  - Never touched, wherever they are - routes outside O(managed_cidrs), and routes of other kinds
    (the VPC's local route, internet/NAT/VPN/transit gateways, peering connections, propagated routes;
    on Linux connected, device, blackhole, multipath and metric routes). A destination in O(routes) that
    such a route already holds is refused.
  - Before anything is written, the module checks the input (valid, non-overlapping destinations inside
    O(managed_cidrs)), that the next hops exist and can be used, and that the table's route quota is not exceeded.
    A run either applies its whole plan or stops at the first refused write and says what was done.
  - O(provider=linux) manages a routing table of the host the module runs on with netlink (pyroute2), for a Linux
    router standing in for the VPC or for every host of one L2 segment (like flannel's host-gw). Next hops are
    IPv4 addresses on a directly connected network.
  - O(provider=aws) manages a VPC route table with boto3. Next hops are instance ids (C(i-...)) or network interface
    ids (C(eni-...)). Source/destination checking is turned off on the next hops (O(disable_source_dest_check)),
    which this scheme needs. Run it where boto3 and the credentials are, usually delegated to localhost.
  - O(provider=alicloud) manages an Alibaba Cloud VPC route table (next hop type Instance) with
    C(alibabacloud_vpc20160428); route entries are created asynchronously and waited for until they are
    Available, and destinations overlapping a vSwitch CIDR are refused.
  - After applying, the module reads the table again and fails unless it holds the plan. A second run with the
    same input makes no write calls (RV(write_calls) is 0).
options:
  provider:
    description: Where the route table is.
    type: str
    required: true
    choices: [linux, aws, alicloud]
  routes:
    description:
      - The routes the table must hold, one per host. With O(state=absent), the destinations to delete.
    type: list
    elements: dict
    default: []
    suboptions:
      destination:
        description: The host's container subnet, a CIDR such as C(10.0.1.0/24). Destinations must not overlap.
        type: str
        required: true
      next_hop:
        description:
          - The host. V(linux) - its IPv4 address (on a directly connected network). V(aws) - its instance id
            (C(i-...)) or network interface id (C(eni-...)); use the ENI id for instances with several interfaces.
            V(alicloud) - its ECS instance id.
          - Required with O(state=present).
        type: str
      host:
        description:
          - Ignored. Accepted so that a list built from host variables (C(host), C(destination), C(next_hop)) can be
            passed as it is.
        type: str
  managed_cidrs:
    description:
      - The cluster CIDRs inside which the table is the module's (for example the container pool C(10.0.0.0/16)).
        Only routes inside them are ever replaced or deleted; every destination in O(routes) must lie inside them.
      - Required when O(purge=true) and O(state=present). Without it (O(purge=false), or O(state=absent)), only the
        destinations listed in O(routes) are touched.
    type: list
    elements: str
    default: []
  purge:
    description:
      - Delete routes of the module's kind inside O(managed_cidrs) that are not in O(routes) (hosts that left).
    type: bool
    default: true
  state:
    description:
      - V(present) makes the table hold O(routes) (and, with O(purge), nothing else inside O(managed_cidrs)).
      - V(absent) deletes the destinations listed in O(routes), whatever their next hop, and nothing else.
    type: str
    choices: [present, absent]
    default: present
  route_table_id:
    description: The route table, C(rtb-...) for V(aws), C(vtb-...) for V(alicloud). Required for both.
    type: str
  region:
    description:
      - The cloud region. Defaults to the environment (V(aws) - E(AWS_REGION), E(AWS_DEFAULT_REGION);
        V(alicloud) - E(ALICLOUD_REGION), E(ALICLOUD_REGION_ID)).
    type: str
  access_key:
    description:
      - The access key id. Defaults to E(AWS_ACCESS_KEY_ID) (V(aws)) or E(ALICLOUD_ACCESS_KEY) (V(alicloud)) in the
        module's environment; for V(aws) boto3's own credential chain (profiles, instance roles) is used otherwise.
      - Never logged; the module masks it in its output.
    type: str
  secret_key:
    description:
      - The secret access key. Defaults to E(AWS_SECRET_ACCESS_KEY) (V(aws)) or E(ALICLOUD_SECRET_KEY) (V(alicloud)).
      - Never logged; the module masks it in its output.
    type: str
  session_token:
    description: A session token for temporary V(aws) credentials. Defaults to E(AWS_SESSION_TOKEN). Never logged.
    type: str
  endpoint_url:
    description:
      - Send API requests here instead of the provider's public endpoint (private clouds, tests), for example
        C(http://127.0.0.1:5000). For V(aws) it serves both EC2 and Service Quotas.
    type: str
  disable_source_dest_check:
    description:
      - V(aws) - turn off source/destination checking on every next hop (the instance, or the ENI) where it is on.
        A host forwards packets for its containers' addresses, which AWS drops while the check is on.
    type: bool
    default: true
  max_routes:
    description:
      - The route quota to check against, instead of the provider's (V(aws) - Service Quotas' "Routes per route
        table"; V(alicloud) - the 200 custom entries; V(linux) - none). Local and propagated routes do not count.
    type: int
  retries:
    description:
      - Attempts per API call when the provider throttles or fails transiently. V(aws) - botocore's C(standard)
        retry mode with this many attempts in total (exponential backoff with jitter, base 1 second, at most 20).
        V(alicloud) - also on C(TaskConflict).
    type: int
    default: 10
  backoff:
    description:
      - V(alicloud) - the first delay in seconds between retries, doubled on every retry. (V(aws) uses botocore's
        fixed schedule, see O(retries).)
    type: float
    default: 1.0
  linux_table:
    description: V(linux) - the routing table, C(main), a number, or a name from C(/etc/iproute2/rt_tables).
    type: str
    default: main
  linux_persist:
    description:
      - V(linux) - also write the table's routes to a script of ours in O(linux_persist_dir) (C(routes.sh) for the main
        table, C(routes-table<N>.sh) otherwise, one C(ip route replace) per route) and, on systemd hosts, a oneshot unit
        C(crosshost-routes.service) that runs our scripts at boot. On hosts without systemd, run the script from your
        boot mechanism.
      - With V(false), a script of ours for the table is removed (and the unit with the last script).
      - With O(purge=false) or O(state=absent), the script keeps its other routes and only the listed destinations
        change.
    type: bool
    default: false
  linux_persist_dir:
    description: V(linux) - directory of our boot scripts.
    type: path
    default: /etc/crosshost-docker
notes:
  - Check mode and diff mode are supported. Diff mode shows the table before and after the plan (routes the module
    does not manage are marked), the source/destination checks and the boot script.
  - IPv4 only.
  - Credentials are never written to the output; pass them with O(access_key)/O(secret_key) from a vault or through
    the environment.
requirements:
  - pyroute2 for O(provider=linux)
  - boto3 for O(provider=aws)
  - alibabacloud_vpc20160428 and alibabacloud_tea_openapi for O(provider=alicloud)
seealso:
  - module: crosshost.docker.forward_rules
  - module: crosshost.docker.daemon_json
"""

EXAMPLES = r"""
- name: The lab's VPC router sends each container subnet to its host
  crosshost.docker.route_table:
    provider: linux
    managed_cidrs: [10.0.0.0/16]
    routes:
      - {destination: 10.0.1.0/24, next_hop: 192.168.1.11}
      - {destination: 10.0.2.0/24, next_hop: 192.168.1.12}
    linux_persist: true

- name: An AWS VPC route table (from the control node)
  crosshost.docker.route_table:
    provider: aws
    region: eu-west-1
    route_table_id: rtb-0123456789abcdef0
    managed_cidrs: [10.0.0.0/16]
    routes: "{{ groups['docker_hosts'] | map('extract', hostvars)
                | map(attribute='route') | list }}"   # each host: {destination: ..., next_hop: i-...}
  delegate_to: localhost
  run_once: true

- name: Remove one host's route only
  crosshost.docker.route_table:
    provider: aws
    region: eu-west-1
    route_table_id: rtb-0123456789abcdef0
    state: absent
    routes:
      - destination: 10.0.3.0/24
  delegate_to: localhost
"""

RETURN = r"""
create:
  description: Routes created (or to create, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"destination": "10.0.1.0/24", "target": "i-0123456789abcdef0"}]
replace:
  description: Routes whose next hop was replaced, with the old one in C(old_target).
  returned: always
  type: list
  elements: dict
  sample: [{"destination": "10.0.2.0/24", "target": "192.168.1.12", "old_target": "192.168.1.13"}]
delete:
  description: Routes deleted (stale routes inside O(managed_cidrs), or the destinations given with O(state=absent)).
  returned: always
  type: list
  elements: dict
unchanged:
  description: Desired routes that were already right.
  returned: always
  type: list
  elements: dict
routes:
  description:
    - The whole table after the run (in check mode, as it would be), foreign routes included.
    - C(target_type) is V(instance) (a cloud instance, or a Linux next-hop address) or V(eni), the kinds the module
      manages, or V(local), V(gateway) or V(other), kinds it never touches.
  returned: always
  type: list
  elements: dict
  sample: [{"destination": "10.0.1.0/24", "target": "192.168.1.11", "target_type": "instance", "state": "active"}]
managed_cidrs:
  description: The CIDRs the module treated as its own (the listed destinations when O(managed_cidrs) is empty).
  returned: always
  type: list
  elements: str
source_dest_check_disabled:
  description: V(aws) - next hops on which source/destination checking was (or would be) turned off.
  returned: always
  type: list
  elements: str
write_calls:
  description: Write API calls (netlink requests) made by this run; 0 in check mode and on a second run.
  returned: always
  type: int
  sample: 0
read_calls:
  description: Read API calls made by this run.
  returned: always
  type: int
quota:
  description: The route quota checked (from O(max_routes) or the provider), or null when there is none.
  returned: always
  type: int
  sample: 50
persistence:
  description: V(linux) - the boot script and unit of ours, when O(linux_persist=true).
  returned: always
  type: dict
  contains:
    mode:
      description: V(systemd) (unit enabled), V(script) (script only, no systemd), or V(none).
      type: str
    script:
      description: Path of the script.
      type: str
    unit:
      description: Path of the systemd unit, when written.
      type: str
"""

import glob
import inspect
import ipaddress
import os
from urllib.parse import urlparse

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.crosshost.docker.plugins.module_utils import _routes
from ansible_collections.crosshost.docker.plugins.module_utils._files import read_text, write_text

ENV = {
    "aws": {"access_key": ("AWS_ACCESS_KEY_ID",), "secret_key": ("AWS_SECRET_ACCESS_KEY",),
            "session_token": ("AWS_SESSION_TOKEN",), "region": ("AWS_REGION", "AWS_DEFAULT_REGION")},
    "alicloud": {"access_key": ("ALICLOUD_ACCESS_KEY", "ALICLOUD_ACCESS_KEY_ID"),
                 "secret_key": ("ALICLOUD_SECRET_KEY", "ALICLOUD_ACCESS_KEY_SECRET"),
                 "region": ("ALICLOUD_REGION", "ALICLOUD_REGION_ID")},
}


def load_backend(module, provider):
    """Import the provider's backend only when it is used (imports inside a function are optional for
    Ansible's module packaging, so a missing backend file does not break the other providers)."""
    if provider == "linux":
        from ansible_collections.crosshost.docker.plugins.module_utils import _route_linux as mod
        if not mod.HAS_PYROUTE2:
            module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(mod.PYROUTE2_IMPORT_ERROR))
        return mod, mod.LinuxRoutes
    if provider == "aws":
        from ansible_collections.crosshost.docker.plugins.module_utils import _route_aws as mod
        if not mod.HAS_BOTO3:
            module.fail_json(msg=missing_required_lib("boto3"), exception=str(mod.BOTO3_IMPORT_ERROR))
        return mod, mod.AwsRoutes
    try:
        from ansible_collections.crosshost.docker.plugins.module_utils import _route_alicloud as mod
        cls = mod.AlicloudRoutes
    except (ImportError, AttributeError) as e:
        module.fail_json(msg="provider alicloud is not available in this version of crosshost.docker "
                             "(plugins/module_utils/_route_alicloud.py is missing or broken: %s)" % e)
    if not getattr(mod, "HAS_ALICLOUD_SDK", True):
        module.fail_json(msg=missing_required_lib(getattr(mod, "ALICLOUD_SDK_REQUIREMENT", "alibabacloud_vpc20160428")),
                         exception=getattr(mod, "ALICLOUD_IMPORT_ERROR", None))
    return mod, cls


def backend_errors(mod):
    """The exception classes a backend raises for failures it explains itself."""
    found = tuple(getattr(mod, name) for name in ("RouteBackendError", "AlicloudRouteError") if hasattr(mod, name))
    return (_routes.RoutePlanError,) + (found or (Exception,))


def backend_options(module, provider):
    p = module.params
    opts = dict(route_table_id=p["route_table_id"], region=p["region"], access_key=p["access_key"],
                secret_key=p["secret_key"], session_token=p["session_token"], endpoint_url=p["endpoint_url"],
                retries=p["retries"], max_retries=p["retries"], backoff=p["backoff"], table=p["linux_table"])
    if p["endpoint_url"]:
        # alicloud's SDK takes a host[:port] and a protocol.
        url = urlparse(p["endpoint_url"] if "://" in p["endpoint_url"] else "https://" + p["endpoint_url"])
        opts.update(endpoint=url.netloc, protocol=url.scheme)
    if p["max_routes"] is not None:
        opts["route_quota"] = p["max_routes"]
    for key, names in ENV.get(provider, {}).items():
        if not opts.get(key):
            opts[key] = next((os.environ[n] for n in names if os.environ.get(n)), None)
    for key in ("access_key", "secret_key", "session_token"):
        if opts.get(key):
            module.no_log_values.add(opts[key])
    if provider in ENV and not opts["region"]:
        module.fail_json(msg="region: required for provider %s (or set %s)" % (provider, " / ".join(ENV[provider]["region"])))
    return opts


def make_backend(module, cls, opts, errors):
    """Instantiate with the options its constructor accepts (a backend without **kwargs gets only its own)."""
    try:
        params = inspect.signature(cls.__init__).parameters
        if not any(v.kind == v.VAR_KEYWORD for v in params.values()):
            opts = dict((k, v) for k, v in opts.items() if k in params)
    except (TypeError, ValueError):
        pass
    try:
        return cls(**opts)
    except errors as e:
        module.fail_json(msg=str(e))


def linux_persistence(module, mod, table, wanted, state, purge):
    """Files of ours that must change: ({path: new content or None}, {path: old content}, info)."""
    p = module.params
    script = mod.script_path(p["linux_persist_dir"], table)
    have_script = read_text(script)
    want = {}
    if p["linux_persist"]:
        ip_bin = module.get_bin_path("ip")
        if not ip_bin:
            module.fail_json(msg="linux_persist: the boot script needs the `ip` command (iproute2), not found on PATH")
        routes = {} if state == "present" and purge else mod.parse_script(have_script)
        for dest, target in wanted:
            if state == "present":
                routes[dest] = target
            else:
                routes.pop(dest, None)
        want[script] = mod.render_script(routes, table, ip_bin) if routes else None
    else:
        want[script] = None
    systemd = os.path.isdir("/run/systemd/system") and module.get_bin_path("systemctl") is not None
    others = [f for f in glob.glob(os.path.join(p["linux_persist_dir"], "routes*.sh")) if f != script]
    need_unit = systemd and (want[script] is not None or bool(others))
    want[mod.UNIT_PATH] = mod.systemd_unit(p["linux_persist_dir"]) if need_unit else None
    have = {path: read_text(path) for path in want}
    changes = dict((path, content) for path, content in want.items() if have[path] != content)
    info = dict(mode=("systemd" if need_unit else "script") if want[script] else "none",
                script=script if want[script] else None, unit=mod.UNIT_PATH if want[mod.UNIT_PATH] else None)
    return changes, have, info


def subnet_clashes(wanted, vswitch_cidrs, reserved=None):
    """alicloud: destinations that overlap a vSwitch CIDR of the VPC or the cloud-service range."""
    problems = []
    for dest, _target in wanted:
        net = ipaddress.ip_network(dest)
        for cidr in vswitch_cidrs:
            if net.overlaps(ipaddress.ip_network(cidr, strict=False)):
                problems.append("destination %s overlaps vSwitch CIDR %s: container subnets must lie outside the VPC's "
                                "vSwitches" % (dest, cidr))
        if reserved is not None and net.overlaps(reserved):
            problems.append("destination %s overlaps %s, which Alibaba Cloud reserves for its services" % (dest, reserved))
    return problems


def public(routes):
    return [dict((k, r.get(k)) for k in ("destination", "target", "target_type", "state")) for r in routes]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            provider=dict(type="str", required=True, choices=["linux", "aws", "alicloud"]),
            routes=dict(type="list", elements="dict", default=[], options=dict(
                destination=dict(type="str", required=True),
                next_hop=dict(type="str"),
                host=dict(type="str"),
            )),
            managed_cidrs=dict(type="list", elements="str", default=[]),
            purge=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            route_table_id=dict(type="str"),
            region=dict(type="str"),
            access_key=dict(type="str", no_log=True),
            secret_key=dict(type="str", no_log=True),
            session_token=dict(type="str", no_log=True),
            endpoint_url=dict(type="str"),
            disable_source_dest_check=dict(type="bool", default=True),
            max_routes=dict(type="int"),
            retries=dict(type="int", default=10),
            backoff=dict(type="float", default=1.0),
            linux_table=dict(type="str", default="main"),
            linux_persist=dict(type="bool", default=False),
            linux_persist_dir=dict(type="path", default="/etc/crosshost-docker"),
        ),
        required_if=[("provider", "aws", ["route_table_id"]), ("provider", "alicloud", ["route_table_id"])],
        supports_check_mode=True,
    )
    p = module.params
    provider, state, purge = p["provider"], p["state"], p["purge"]
    if p["retries"] < 1:
        module.fail_json(msg="retries: must be at least 1 (attempts per API call)")
    if p["max_routes"] is not None and p["max_routes"] < 1:
        module.fail_json(msg="max_routes: must be a positive number of routes")

    mod, cls = load_backend(module, provider)
    errors = backend_errors(mod)

    # 1. Input, before any API call.
    kind = getattr(mod, "target_type", lambda target: "instance")
    desired = [{"destination": r["destination"], "target": r.get("next_hop"), "target_type": kind(r.get("next_hop"))}
               for r in p["routes"]]
    validate = getattr(mod, "valid_target", None)
    for i, r in enumerate(desired):
        if state == "present" and validate and r["target"]:
            problem = validate(r["target"])
            if problem:
                module.fail_json(msg="routes[%d].next_hop: %s (provider %s)" % (i, problem, provider))
    try:
        wanted = _routes.desired_routes(desired, state)
        _routes.plan(desired, [], p["managed_cidrs"], purge, state)  # every input error, against an empty table
    except _routes.RoutePlanError as e:
        module.fail_json(msg=str(e))
    wanted = [(str(net), target) for net, target in wanted]
    targets = sorted({t for _d, t in wanted if t}) if state == "present" else []

    backend = make_backend(module, cls, backend_options(module, provider), errors)
    result = dict(changed=False, create=[], replace=[], delete=[], unchanged=[], routes=[], managed_cidrs=[],
                  source_dest_check_disabled=[], write_calls=0, read_calls=0, quota=None,
                  persistence=dict(mode="none", script=None, unit=None))

    def fail(msg, **extra):
        result.update(write_calls=backend.writes, read_calls=backend.reads)
        result.update(extra)
        module.fail_json(msg=msg, **result)

    try:
        # 2. The next hops (AWS: exist, source/dest check, instance <-> ENI names; Linux: on-link).
        checks, problems = {}, []
        if targets and hasattr(backend, "check_targets"):
            checks, problems = backend.check_targets(targets)
        if state == "present" and hasattr(backend, "vswitch_cidrs"):
            problems += subnet_clashes(wanted, backend.vswitch_cidrs(), getattr(mod, "CLOUD_SERVICE_CIDR", None))
        if problems:
            fail("routes that cannot be used (nothing was changed): %s" % "; ".join(problems))

        # 3. The table, the quota and the plan.
        actual = backend.list_routes()
        quota = p["max_routes"] if p["max_routes"] is not None else backend.quota()
        result["quota"] = quota
        plan = _routes.plan(desired, actual, p["managed_cidrs"], purge, state, quota)
    except errors as e:
        fail(str(e))
    for w in getattr(backend, "warnings", []):
        module.warn(w)

    src_dst = []
    if provider == "aws" and p["disable_source_dest_check"] and state == "present":
        src_dst = [t for t in targets if checks.get(t) is True]
    for u in plan["unchanged"]:
        if u.get("state") not in (None, "active", "available", "Available"):
            module.warn("route %s -> %s is %s" % (u["destination"], u["target"], u["state"]))

    files, files_have, persistence = {}, {}, dict(mode="none", script=None, unit=None)
    if provider == "linux":
        files, files_have, persistence = linux_persistence(module, mod, backend.table, wanted, state, purge)

    steps = [("delete", d) for d in plan["delete"]] + [("replace", r) for r in plan["replace"]] + \
        [("create", c) for c in plan["create"]]
    changed = bool(steps or src_dst or files)
    result.update(changed=changed, create=plan["create"], replace=plan["replace"], delete=plan["delete"],
                  unchanged=plan["unchanged"], routes=public(plan["after"]), managed_cidrs=plan["managed"],
                  source_dest_check_disabled=src_dst, persistence=persistence)
    if module._diff:
        before = _routes.describe(actual, plan["managed"])
        after = _routes.describe(plan["after"], plan["managed"])
        for t in src_dst:
            before += "source/dest check %s: on\n" % t
            after += "source/dest check %s: off\n" % t
        for path in sorted(files):
            before += "# %s\n%s" % (path, files_have[path] or "(absent)\n")
            after += "# %s\n%s" % (path, files[path] or "(absent)\n")
        header = "route table %s" % (p["route_table_id"] or "%s (linux)" % p["linux_table"])
        result["diff"] = dict(before=before, after=after, before_header=header, after_header=header)
    if module.check_mode or not changed:
        result.update(write_calls=backend.writes, read_calls=backend.reads)
        module.exit_json(**result)

    # 4. Apply: source/dest checks first (routes to a host that drops forwarded packets are useless),
    #    then deletions (they free quota), replacements, creations.
    done = []
    try:
        for t in src_dst:
            backend.disable_source_dest_check(t)
            done.append("source/dest check off on %s" % t)
        for action, step in steps:
            if action == "delete":
                backend.delete(step["destination"])
            else:
                getattr(backend, action)(step["destination"], step["target"])
            done.append("%s %s -> %s" % (action, step["destination"], step["target"]))
            if action == "replace" and getattr(backend, "last_replace_mode", None) == "recreate":
                module.warn("%s: the API could not change the next hop in place, so the route was deleted and created "
                            "again (a short gap for that destination)" % step["destination"])
    except errors as e:
        fail("%s. Done before the failure: %s" % (e, "; ".join(done) or "nothing"))
    for path in sorted(files):
        if files[path] is None:
            os.unlink(path)
        else:
            write_text(module, path, files[path], 0o755 if path.endswith(".sh") else 0o644)
    if provider == "linux" and mod.UNIT_PATH in files:
        module.run_command(["systemctl", "daemon-reload"])
        action = "enable" if files[mod.UNIT_PATH] else "disable"
        rc, _out, err = module.run_command(["systemctl", action, mod.UNIT_NAME])
        if rc != 0:
            fail("systemctl %s %s failed: %s" % (action, mod.UNIT_NAME, err.strip()))

    # 5. Verify: the table must now hold the plan.
    try:
        final = backend.list_routes()
        again = _routes.plan(desired, final, p["managed_cidrs"], purge, state, None)
    except errors as e:
        fail("reading the table back after applying failed: %s" % e)
    if again["create"] or again["replace"] or again["delete"]:
        fail("the route table does not hold the planned routes after applying them: still to create %s, replace %s, "
             "delete %s" % (again["create"], again["replace"], again["delete"]), routes=public(final))
    result.update(routes=public(final), write_calls=backend.writes, read_calls=backend.reads)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
