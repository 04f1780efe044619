# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS backend of crosshost.docker.route_table (boto3): one VPC route table.

A ``RouteBackend`` (``_route_backend``). Every API call is counted in ``reads`` or ``writes``; the
module reports ``writes`` as ``write_calls`` (a second run makes none).

- Routes to an instance (``i-...``) or to a network interface (``eni-...``) are the module's kind
  (target_type ``instance`` / ``eni``). Everything else (the VPC's ``local`` route, internet, NAT,
  VPN, transit and egress-only gateways, peering connections, VPC endpoints, propagated routes) is
  reported as ``local`` or ``gateway`` and never touched. IPv6 and prefix-list routes are listed
  with their own destination (foreign to the IPv4 planner).
- AWS lists an instance route with the instance and its ENI; ``aliases`` carries the other name so
  that ``i-...`` and ``eni-...`` next hops compare equal when they are the same interface.
- Throttling (``RequestLimitExceeded``, ``Throttling``...) and transient errors (5xx, connection
  errors) are classified and retried by botocore's ``standard`` retry mode: exponential backoff with
  jitter (base 1 s, at most 20 s), up to the retry policy's ``attempts`` (``retries``) in total per call.
- Next hops: source/destination checking is turned off, before the routes are written, on every next
  hop where it is on (``disable_source_dest_check``): the backend's extra changes.
- The quota is Service Quotas' "Routes per route table" (vpc / L-93826ACB): the applied value, else
  the AWS default, else None (with a warning in ``warnings``).
"""

from __future__ import annotations

import re

from ansible_collections.crosshost.docker.plugins.module_utils._errors import RouteBackendError
from ansible_collections.crosshost.docker.plugins.module_utils._route_backend import (
    ExtraChanges,
    RetryPolicy,
    RouteBackend,
)

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as e:  # the import sanity test and hosts without boto3
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = e
    BotoCoreError = ClientError = Exception

QUOTA_SERVICE = "vpc"
QUOTA_CODE = "L-93826ACB"  # Routes per route table
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
ENI_ID = re.compile(r"^eni-[0-9a-f]{8,17}$")
ROUTE_TABLE_ID = re.compile(r"^rtb-[0-9a-f]{8,17}$")
_GATEWAY_KEYS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "EgressOnlyInternetGatewayId",
                 "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn", "DestinationPrefixListId")


class AwsRouteError(RouteBackendError):
    """An API call failed; the message says which and why (never credentials)."""


def valid_target(target):
    """None when `target` is an instance or ENI id, else what is wrong with it."""
    if INSTANCE_ID.match(target or "") or ENI_ID.match(target or ""):
        return None
    return "%r is not an instance id (i-0123456789abcdef0) or a network interface id (eni-...)" % (target,)


def target_type(target):
    """The kind of next hop an id names: ``eni`` or ``instance``."""
    return "eni" if ENI_ID.match(target or "") else "instance"


def _err(action, e):
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return AwsRouteError("%s failed: %s: %s" % (action, err.get("Code", "error"), err.get("Message", str(e))))
    return AwsRouteError("%s failed: %s" % (action, e))


class AwsRoutes(RouteBackend):
    """One VPC route table through the EC2 API."""

    name = "aws"
    quota_fix = ("request more 'Routes per route table' (vpc / L-93826ACB) in Service Quotas; set max_routes to the "
                 "new value when the module cannot read Service Quotas")
    requirement = "boto3"
    import_error = BOTO3_IMPORT_ERROR
    credentials = {"access_key": ("AWS_ACCESS_KEY_ID",), "secret_key": ("AWS_SECRET_ACCESS_KEY",),
                   "session_token": ("AWS_SESSION_TOKEN",), "region": ("AWS_REGION", "AWS_DEFAULT_REGION")}
    valid_target = staticmethod(valid_target)
    target_type = staticmethod(target_type)

    @classmethod
    def options(cls, params, environ=None):
        opts = super().options(params, environ)
        opts["disable_source_dest_check"] = params.get("disable_source_dest_check", True)
        return opts

    def __init__(self, route_table_id=None, region=None, access_key=None, secret_key=None, session_token=None,
                 endpoint_url=None, retries=10, disable_source_dest_check=True, **_ignored):
        # Throttling and transient errors are botocore's to classify and retry (its standard mode); the
        # number of attempts is the policy's.
        super().__init__(retry=RetryPolicy(attempts=retries or 1, base=1.0, cap=20.0, jitter=True))
        if not HAS_BOTO3:
            raise AwsRouteError("the aws provider needs boto3 on the host that runs the module: %s"
                                % BOTO3_IMPORT_ERROR)
        if not route_table_id or not ROUTE_TABLE_ID.match(route_table_id):
            raise AwsRouteError("route_table_id: %r is not a route table id such as rtb-0123456789abcdef0"
                                % (route_table_id,))
        self.route_table_id = route_table_id
        self.disable_checks = disable_source_dest_check
        self._primary = {}   # i-... -> its primary ENI, and that ENI -> i-... (the same next hop)
        self._source_dest_check = {}  # next hop -> whether source/dest checking is on (check_targets)
        config = Config(retries={"mode": "standard", "total_max_attempts": self.retry.attempts})
        kwargs = {"region_name": region, "config": config}
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
        if access_key or secret_key:
            kwargs.update(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                          aws_session_token=session_token or None)
        try:
            session = boto3.session.Session()
            self.ec2 = session.client("ec2", **kwargs)
            self.quotas = session.client("service-quotas", **kwargs)
        except (BotoCoreError, ValueError) as e:
            raise _err("creating the EC2 client", e)

    def _call(self, client, name, write=False, **params):
        if write:
            self.writes += 1
        else:
            self.reads += 1
        try:
            return getattr(client, name)(**params)
        except (BotoCoreError, ClientError) as e:
            raise _err(name, e)

    # --- reads -----------------------------------------------------------------------------

    def list_routes(self):
        tables = self._call(self.ec2, "describe_route_tables", RouteTableIds=[self.route_table_id])["RouteTables"]
        if not tables:
            raise AwsRouteError("route table %s not found" % self.route_table_id)
        self.vpc_id = tables[0].get("VpcId")
        out = []
        for r in tables[0].get("Routes", []):
            dest = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock") or r.get("DestinationPrefixListId")
            route = {"destination": dest, "state": r.get("State", "active"), "aliases": []}
            if r.get("Origin") == "EnableVgwRoutePropagation":
                route["propagated"] = True
            if r.get("GatewayId") == "local":
                route.update(target="local", target_type="local")
            elif r.get("InstanceId") or r.get("NetworkInterfaceId"):
                inst, eni = r.get("InstanceId"), r.get("NetworkInterfaceId")
                if inst:
                    alias = eni or self._primary.get(inst)
                    route.update(target=inst, target_type="instance", aliases=[alias] if alias else [])
                else:
                    alias = self._primary.get(eni)
                    route.update(target=eni, target_type="eni", aliases=[alias] if alias else [])
            else:
                key = next((k for k in _GATEWAY_KEYS if r.get(k)), None)
                route.update(target=r.get(key) if key else None, target_type="gateway")
            if route.get("propagated"):
                route["target_type"] = "gateway"
            out.append(route)
        return out

    def quota(self):
        for name in ("get_service_quota", "get_aws_default_service_quota"):
            try:
                value = self._call(self.quotas, name, ServiceCode=QUOTA_SERVICE, QuotaCode=QUOTA_CODE)["Quota"]["Value"]
                return int(value)
            except (RouteBackendError, KeyError, TypeError, ValueError) as e:
                last = e
        self.warnings.append("could not read the route quota from Service Quotas (%s); the quota check is skipped: "
                             "set max_routes to check it anyway" % last)
        return None

    def check_targets(self, targets):
        """Look the next hops up (one call for instances, one for ENIs). Returns
        ({target: source_dest_check bool}, [problems]). Also learns which instance and primary ENI name
        the same next hop (route aliases): call it before list_routes()."""
        instances = sorted({t for t in targets if INSTANCE_ID.match(t)})
        enis = sorted({t for t in targets if ENI_ID.match(t)})
        checks, problems = {}, []
        if instances:
            try:
                pages = self._call(self.ec2, "describe_instances", InstanceIds=instances)["Reservations"]
            except RouteBackendError as e:
                problems.append("next hop instances %s: %s" % (", ".join(instances), e))
                pages = []
            for res in pages:
                for inst in res.get("Instances", []):
                    iid = inst["InstanceId"]
                    checks[iid] = inst.get("SourceDestCheck", True)
                    nics = sorted(inst.get("NetworkInterfaces", []),
                                  key=lambda n: (n.get("Attachment") or {}).get("DeviceIndex", 0))
                    if nics:
                        self._primary[iid] = nics[0]["NetworkInterfaceId"]
                        self._primary[nics[0]["NetworkInterfaceId"]] = iid
                    state = inst.get("State", {}).get("Name")
                    if state in ("terminated", "shutting-down"):
                        problems.append("next hop %s is %s" % (iid, state))
                    elif len(nics) > 1 and iid in targets:
                        problems.append("next hop %s has %d network interfaces, so AWS cannot route to the instance: "
                                        "give the ENI id (one of %s) as next_hop"
                                        % (iid, len(nics), ", ".join(n["NetworkInterfaceId"] for n in nics)))
        if enis:
            try:
                nics = self._call(self.ec2, "describe_network_interfaces", NetworkInterfaceIds=enis)["NetworkInterfaces"]
            except RouteBackendError as e:
                problems.append("next hop network interfaces %s: %s" % (", ".join(enis), e))
                nics = []
            for nic in nics:
                eid = nic["NetworkInterfaceId"]
                checks[eid] = nic.get("SourceDestCheck", True)
                attachment = nic.get("Attachment") or {}
                if attachment.get("InstanceId") and attachment.get("DeviceIndex", 0) == 0:
                    self._primary[eid] = attachment["InstanceId"]
                    self._primary[attachment["InstanceId"]] = eid
        found = set(checks)
        for t in instances + enis:
            if t not in found and not any(t in p for p in problems):
                problems.append("next hop %s does not exist" % t)
        self._source_dest_check.update(checks)
        return checks, problems

    # --- writes ----------------------------------------------------------------------------

    def _target_args(self, target):
        return {"InstanceId": target} if INSTANCE_ID.match(target) else {"NetworkInterfaceId": target}

    def create(self, destination, target):
        self._call(self.ec2, "create_route", write=True, RouteTableId=self.route_table_id,
                   DestinationCidrBlock=destination, **self._target_args(target))

    def replace(self, destination, target):
        self._call(self.ec2, "replace_route", write=True, RouteTableId=self.route_table_id,
                   DestinationCidrBlock=destination, **self._target_args(target))

    def delete(self, destination):
        self._call(self.ec2, "delete_route", write=True, RouteTableId=self.route_table_id,
                   DestinationCidrBlock=destination)

    def disable_source_dest_check(self, target):
        if INSTANCE_ID.match(target):
            self._call(self.ec2, "modify_instance_attribute", write=True, InstanceId=target,
                       SourceDestCheck={"Value": False})
        else:
            self._call(self.ec2, "modify_network_interface_attribute", write=True, NetworkInterfaceId=target,
                       SourceDestCheck={"Value": False})

    # --- besides the routes: source/destination checks -----------------------------------------

    def plan_extra(self, request, plan):
        """Source/destination checking off on every next hop where it is on (before the routes)."""
        hops = []
        if self.disable_checks and request.state == "present":
            hops = [t for t in request.targets if self._source_dest_check.get(t) is True]
        return ExtraChanges(
            first=[("source/dest check off on %s" % t, lambda t=t: self.disable_source_dest_check(t)) for t in hops],
            result={"source_dest_check_disabled": hops},
            before="".join("source/dest check %s: on\n" % t for t in hops),
            after="".join("source/dest check %s: off\n" % t for t in hops))
