#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: route_table
short_description: Make a route table send each host's container subnet to that host, nothing more, nothing less
version_added: 0.1.0
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
extends_documentation_fragment:
  - crosshost.docker.attributes
  - crosshost.docker.attributes.check_diff
attributes:
  check_mode:
    details:
      - Nothing is written. The input, the next hops, the quota and the plan are checked as in a real run, with read
        calls only (RV(write_calls) is 0).
  diff_mode:
    details:
      - The table before and after the plan (routes the module does not manage are marked), the source/destination
        checks (V(aws)) and the boot script and unit (V(linux)).
  platform:
    details:
      - V(linux) runs on the Linux host whose table it manages. V(aws) and V(alicloud) run where the SDK and the
        credentials are, usually the control node (C(delegate_to=localhost)).
notes:
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.crosshost.docker.plugins.module_utils._diff import DiffTracker
from ansible_collections.crosshost.docker.plugins.module_utils import _route_backend, _routes
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, PlanError, fail


def __getattr__(name):
    """``ENV``: {provider: {option: environment variables}}, the credentials each provider reads (from
    the backends, so reading it imports them all)."""
    if name == "ENV":
        return _route_backend.credentials_env()
    raise AttributeError(name)


def check_params(p):
    if p["retries"] < 1:
        raise PlanError("retries: must be at least 1 (attempts per API call)")
    if p["max_routes"] is not None and p["max_routes"] < 1:
        raise PlanError("max_routes: must be a positive number of routes")


def backend_options(module, provider):
    """The backend's options from the module's parameters and the environment; credentials are masked
    in every result."""
    try:
        opts = _route_backend.load(provider, required=False).options(module.params)
    except CrosshostError as err:
        fail(module, err)
    for key in ("access_key", "secret_key", "session_token"):
        if opts.get(key):
            module.no_log_values.add(opts[key])
    return opts


def request_of(cls, p):
    """What the module asks, checked before any call (every input error, against an empty table)."""
    desired = cls.desired(p["routes"], p["state"])
    wanted = _routes.desired_routes(desired, p["state"])
    _routes.plan(desired, [], p["managed_cidrs"], p["purge"], p["state"])
    wanted = [(str(net), target) for net, target in wanted]
    targets = sorted({t for _d, t in wanted if t}) if p["state"] == "present" else []
    return _route_backend.Request(desired=desired, wanted=wanted, targets=targets, state=p["state"],
                                  purge=p["purge"], managed_cidrs=p["managed_cidrs"])


def diff_of(p, actual, plan, extra):
    diff = DiffTracker("route table %s" % (p["route_table_id"] or "%s (linux)" % p["linux_table"]))
    diff.add(_routes.describe(actual, plan["managed"]), _routes.describe(plan["after"], plan["managed"]))
    return diff.add(extra.before, extra.after).result()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            provider=dict(type="str", required=True, choices=list(_route_backend.REGISTRY)),
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
    backend, result = None, {}
    try:
        # The backend, and every input error before any call.
        check_params(p)
        cls = _route_backend.load(p["provider"])
        request = request_of(cls, p)
        backend = cls.from_options(dict(backend_options(module, p["provider"]), module=module))
        result = dict(changed=False, create=[], replace=[], delete=[], unchanged=[], routes=[], managed_cidrs=[],
                      source_dest_check_disabled=[], write_calls=0, read_calls=0, quota=None,
                      persistence=dict(mode="none", script=None, unit=None))

        # Read (next hops and destinations checked first), plan (pure), and what else changes.
        actual = backend.read(request)
        quota = p["max_routes"] if p["max_routes"] is not None else backend.quota()
        result["quota"] = quota
        plan = _routes.plan(request.desired, actual, request.managed_cidrs, request.purge, request.state, quota,
                            backend.quota_fix)
        for w in backend.warnings:
            module.warn(w)
        for u in plan["unchanged"]:
            if u.get("state") not in (None, "active", "available", "Available"):
                module.warn("route %s -> %s is %s" % (u["destination"], u["target"], u["state"]))
        extra = backend.plan_extra(request, plan)
        result.update(changed=bool(_route_backend.route_steps(plan) or extra), create=plan["create"],
                      replace=plan["replace"], delete=plan["delete"], unchanged=plan["unchanged"],
                      routes=_routes.public(plan["after"]), managed_cidrs=plan["managed"], **extra.result)
        if module._diff:
            result["diff"] = diff_of(p, actual, plan, extra)

        # Check mode stops here. Apply, then read the table back: it must hold the plan.
        if not module.check_mode and result["changed"]:
            backend.apply(plan, extra, module.warn)
            result["routes"] = _routes.public(backend.read_back(request))
    except CrosshostError as err:
        if backend is not None:
            result.update(write_calls=backend.writes, read_calls=backend.reads)
        fail(module, err, **dict((k, v) for k, v in result.items() if k not in err.details))
    result.update(write_calls=backend.writes, read_calls=backend.reads)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
