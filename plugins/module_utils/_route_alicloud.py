# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alibaba Cloud VPC backend of crosshost.docker.route_table (provider ``alicloud``).

Talks to the VPC API (version 2016-04-28) through Alibaba's current SDK, alibabacloud_vpc20160428
on alibabacloud_tea_openapi (not the abandoned footmark). A ``RouteBackend`` (``_route_backend``), like
the other providers: list_routes / create / replace / delete / quota, check_destinations (the vSwitch
rule below), vswitch_cidrs, and the `reads` / `writes` counters.

What the API reference says and what we do about it:
- CreateRouteEntry, ModifyRouteEntry and DeleteRouteEntry are asynchronous: an entry is Pending
  (or Modifying, Deleting) until DescribeRouteEntryList shows it Available (or no longer lists it).
  Every write here waits for that, polling with exponential backoff, up to `wait_timeout` seconds.
- Writes are refused while the table has an entry in a transitional state (TaskConflict,
  IncorrectRouteEntryStatus) or when called too often (Throttling*, TaskConflict "the operation is
  too frequent"). Those are retried (``retryable``) by the collection's retry policy with exponential
  backoff up to `max_retries` retries; before retrying a refused write we wait for the table to settle
  (no Pending/Modifying/Deleting entry), as the Terraform provider does. Then a clear error names the
  code and the number of attempts.
- CreateRouteEntry carries a ClientToken that stays the same across retries of one create, so a
  retry after a lost answer cannot create a second entry.
- A route table holds at most 200 custom entries (quota()). QuotaExceeded is not retried.
- The destination must not be, be inside, or contain a vSwitch CIDR of the VPC, and must not touch
  100.64.0.0/10 (cloud services): refused here, before any write, with a clear message. (The API
  itself refuses "same as or inside a vSwitch CIDR"; containing one is allowed by the API but always
  a planning mistake for container subnets.)
- The next hop of a custom entry is changed in place with ModifyRouteEntry (NewNextHopType /
  NewNextHopId, documented since the 2026 reference). Older references only allowed the name and
  description to change: when the API refuses the new next hop, or accepts the call but the entry
  comes back with the old one, replace() falls back to delete + create (a short gap for that
  destination) and says so in `last_replace_mode`.
- System entries (vSwitch CIDRs, 100.64.0.0/10) are never modified or deleted.

Credentials are given to the SDK only; they never appear in messages or exceptions (error texts are
built from the API's code and message, with the key id and secret masked should they ever appear),
and SDK exceptions are not chained (their request objects carry the Authorization header).
"""

from __future__ import annotations

import ipaddress
import re
import time
import traceback
import uuid
from urllib.parse import urlparse

from ansible_collections.crosshost.docker.plugins.module_utils._errors import RouteBackendError
from ansible_collections.crosshost.docker.plugins.module_utils._route_backend import RetryPolicy, RouteBackend

ALICLOUD_IMPORT_ERROR = None
try:
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_vpc20160428 import models as vpc_models
    from alibabacloud_vpc20160428.client import Client as VpcClient
except ImportError:
    HAS_ALICLOUD_SDK = False
    ALICLOUD_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_ALICLOUD_SDK = True

#: For missing_required_lib(): the pip packages this backend needs.
ALICLOUD_SDK_REQUIREMENT = "alibabacloud_vpc20160428 and alibabacloud_tea_openapi"

DEFAULT_QUOTA = 200  # custom entries per route table (CreateRouteEntry reference)
CLOUD_SERVICE_CIDR = ipaddress.ip_network("100.64.0.0/10")
DESCRIPTION = "crosshost.docker"

# Retried with backoff: flow control, and "the table is busy / the call was too frequent".
THROTTLING_CODES = ("Throttling", "Throttling.User", "Throttling.Api", "Throttling.Api.Concurrency",
                    "Throttling.System", "ServiceUnavailable", "SystemBusy")
BUSY_CODES = ("TaskConflict", "IncorrectRouteEntryStatus", "IncorrectVpcStatus", "IncorrectVSwitchStatus",
              "OperationConflict", "OperationFailed.DistibuteLock", "LastTokenProcessing",
              "OperationFailed.IdempotentTokenProcessing", "IncorrectStatus.RouteTableStatus")
DUPLICATE_CODES = ("InvalidCIDRBlock.Duplicate", "InvalidRouteEntry.Duplicate", "RouterEntryConflict.Duplicated")
GONE_CODES = ("InvalidRouteEntry.NotFound", "InvalidRouteEntryId.NotFound", "InvalidRouteEntry")
QUOTA_CODES = ("QuotaExceeded",)
# ModifyRouteEntry refusing NewNextHopType/NewNextHopId (API without in-place next-hop change).
MODIFY_UNSUPPORTED_PREFIXES = ("Unsupported", "OperationUnsupported", "UnknownParameter", "IllegalParam.NewNextHop",
                               "InvalidNewNextHop")
TRANSITIONAL = ("Pending", "Modifying", "Deleting", "Creating")
PROPAGATED_TYPES = ("BGP", "CEN", "ECR")  # learned routes: listed, never touched, not counted
INSTANCE_ID = re.compile(r"^i-[0-9a-z]{6,40}$")
NETWORK_RETRIES = 3  # connection failures are retried at most this often (a wrong endpoint fails fast)


def valid_target(target):
    """None when `target` looks like an ECS instance id (the next hop type this backend writes)."""
    if INSTANCE_ID.match(target or ""):
        return None
    return "%r is not an ECS instance id such as i-bp1a2b3c4d5e6f7g8h9i" % (target,)


def target_type(target):  # pylint: disable=unused-argument
    """Every next hop this backend writes is an ECS instance (NextHopType Instance)."""
    return "instance"


class AlicloudRouteError(RouteBackendError):
    """A route table operation failed; the message says what, where and why (never a credential)."""

    def __init__(self, msg, code=None, request_id=None, retryable=False):
        super().__init__(msg, retryable=retryable)
        self.code = code
        self.request_id = request_id


class AlicloudRoutes(RouteBackend):
    """One VPC route table, managed through the Alibaba Cloud VPC API."""

    name = "alicloud"
    quota_fix = "request more custom route entries per route table in Quota Center, then set max_routes to the new value"
    requirement = ALICLOUD_SDK_REQUIREMENT
    import_error = ALICLOUD_IMPORT_ERROR
    credentials = {"access_key": ("ALICLOUD_ACCESS_KEY", "ALICLOUD_ACCESS_KEY_ID"),
                   "secret_key": ("ALICLOUD_SECRET_KEY", "ALICLOUD_ACCESS_KEY_SECRET"),
                   "region": ("ALICLOUD_REGION", "ALICLOUD_REGION_ID")}
    valid_target = staticmethod(valid_target)
    target_type = staticmethod(target_type)

    @classmethod
    def options(cls, params, environ=None):
        opts = super().options(params, environ)
        opts["max_retries"] = params.get("retries")
        if params.get("endpoint_url"):
            # The SDK takes a host[:port] and a protocol.
            url = params["endpoint_url"]
            url = urlparse(url if "://" in url else "https://" + url)
            opts.update(endpoint=url.netloc, protocol=url.scheme)
        if params.get("max_routes") is not None:
            opts["route_quota"] = params["max_routes"]
        return opts

    def __init__(self, region, route_table_id, access_key, secret_key, endpoint=None, protocol="https",
                 vpc_id=None, max_retries=8, backoff=0.5, wait_timeout=120, sleep=time.sleep,
                 route_quota=DEFAULT_QUOTA):
        # max_retries: retries after the first attempt.
        super().__init__(retry=RetryPolicy(attempts=int(max_retries) + 1, base=backoff, cap=30.0, sleep=sleep))
        if not HAS_ALICLOUD_SDK:
            raise AlicloudRouteError("the alicloud provider needs the Python packages %s" % ALICLOUD_SDK_REQUIREMENT)
        for name, value in (("region", region), ("route_table_id", route_table_id),
                            ("access_key", access_key), ("secret_key", secret_key)):
            if not value:
                raise AlicloudRouteError("alicloud: %s is required" % name)
        self.region = region
        self.route_table_id = route_table_id
        self.vpc_id = vpc_id
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.wait_timeout = float(wait_timeout)
        self.route_quota = int(route_quota)
        self._sleep = sleep
        self._masks = tuple(s for s in (secret_key, access_key) if s)
        self._vswitch_cache = None
        self.last_replace_mode = None  # "create", "modify" or "recreate": how the last replace() went
        config = open_api_models.Config(
            access_key_id=access_key, access_key_secret=secret_key, region_id=region,
            protocol=protocol, connect_timeout=10000, read_timeout=30000)
        if endpoint:
            config.endpoint = endpoint
        self._client = VpcClient(config)

    def __repr__(self):
        return "AlicloudRoutes(region=%r, route_table_id=%r)" % (self.region, self.route_table_id)

    # ----------------------------------------------------------------------------------- reading
    def list_routes(self):
        """Every entry of the table (system ones too) as dicts of the provider-neutral shape."""
        return [self._shape(e) for e in self._describe()]

    def quota(self):
        """Custom entries allowed in one route table (200 by the API reference, unless told otherwise).

        The VPC API has no call returning this per-table quota (raised quotas live in Quota Center),
        so the constructor's `route_quota` is the value.
        """
        return self.route_quota

    def vswitch_cidrs(self):
        """IPv4 CIDRs of the vSwitches of the route table's VPC (cached for this object)."""
        if self._vswitch_cache is None:
            vpc_id = self.vpc_id or self._table_vpc_id()
            cidrs, page = set(), 1
            while True:
                body = self._call("DescribeVSwitches", vpc_models.DescribeVSwitchesRequest(
                    region_id=self.region, vpc_id=vpc_id, page_number=page, page_size=50))
                items = (body.get("VSwitches") or {}).get("VSwitch") or []
                cidrs.update(v["CidrBlock"] for v in items if v.get("CidrBlock"))
                total = int(body.get("TotalCount") or 0)
                if not items or page * 50 >= total:
                    break
                page += 1
            self._vswitch_cache = sorted(cidrs, key=lambda c: ipaddress.ip_network(c, strict=False))
        return list(self._vswitch_cache)

    # ----------------------------------------------------------------------------------- writing
    def create(self, destination, target):
        """Add `destination` -> instance `target` and wait until the entry is Available.

        Returns False when the entry already pointed there (nothing written), True otherwise.
        """
        dest = self._check_destination(destination)
        token = str(uuid.uuid4())
        try:
            self._call("CreateRouteEntry", vpc_models.CreateRouteEntryRequest(
                region_id=self.region, route_table_id=self.route_table_id, destination_cidr_block=dest,
                next_hop_type="Instance", next_hop_id=target, client_token=token, description=DESCRIPTION),
                write=True, what="%s -> %s" % (dest, target))
        except AlicloudRouteError as exc:
            if exc.code not in DUPLICATE_CODES:
                raise
            entry = self._entry(dest)
            if entry is None or self._shape(entry)["target"] != target:
                current = self._shape(entry)["target"] if entry else "?"
                raise AlicloudRouteError(
                    "alicloud: route table %s already has a route for %s (next hop %s), not to %s: use replace"
                    % (self.route_table_id, dest, current, target), code=exc.code) from None
            self._wait_for(dest, target)
            return False
        self._wait_for(dest, target)
        return True

    def replace(self, destination, target):
        """Point the custom entry for `destination` at instance `target` (in place when the API can)."""
        dest = self._net(destination)
        entry = self._entry(dest)
        if entry is None:
            self.last_replace_mode = "create"
            return self.create(dest, target)
        shaped = self._shape(entry)
        if entry.get("Type") != "Custom":
            raise AlicloudRouteError("alicloud: %s in route table %s is a %s route; only custom routes are changed"
                                     % (dest, self.route_table_id, entry.get("Type")))
        if shaped["target"] == target and shaped["target_type"] == "instance":
            self._wait_for(dest, target)
            return False
        self.last_replace_mode = "modify"
        try:
            self._call("ModifyRouteEntry", vpc_models.ModifyRouteEntryRequest(
                region_id=self.region, route_table_id=self.route_table_id, route_entry_id=entry["RouteEntryId"],
                new_next_hop_type="Instance", new_next_hop_id=target),
                write=True, what="%s -> %s" % (dest, target))
        except AlicloudRouteError as exc:
            if not (exc.code or "").startswith(MODIFY_UNSUPPORTED_PREFIXES):
                raise
            return self._recreate(dest, target)
        settled = self._wait_for(dest, None)
        if settled is not None and self._shape(settled)["target"] == target:
            return True
        # The call was accepted but the next hop did not change: an API without in-place change.
        return self._recreate(dest, target)

    def delete(self, destination):
        """Remove the custom entry for `destination` and wait until it is gone. False if there was none."""
        dest = self._net(destination)
        entry = self._entry(dest)
        if entry is None:
            return False
        if entry.get("Type") != "Custom":
            raise AlicloudRouteError("alicloud: %s in route table %s is a %s route; only custom routes are deleted"
                                     % (dest, self.route_table_id, entry.get("Type")))
        if entry.get("Status") != "Deleting":
            if entry.get("Status") not in ("Available", "Created"):
                self._wait_for(dest, None)  # only Available entries can be deleted
            try:
                self._call("DeleteRouteEntry", vpc_models.DeleteRouteEntryRequest(
                    region_id=self.region, route_table_id=self.route_table_id,
                    route_entry_id=entry["RouteEntryId"]), write=True, what=dest)
            except AlicloudRouteError as exc:
                if exc.code not in GONE_CODES:
                    raise
        self._wait_gone(dest)
        return True

    # ----------------------------------------------------------------------------------- helpers
    def _recreate(self, dest, target):
        self.last_replace_mode = "recreate"
        self.warnings.append("alicloud: the next hop of %s could not be changed in place (ModifyRouteEntry); the "
                             "route was deleted and created again" % dest)
        self.delete(dest)
        self.create(dest, target)
        return True

    def _net(self, destination):
        try:
            return str(ipaddress.ip_network(str(destination), strict=True))
        except ValueError:
            raise AlicloudRouteError("alicloud: %r is not a network address such as 10.0.1.0/24" % (destination,)) from None

    def _clashes(self, net):
        """What `net` must not overlap and does: ([vSwitch CIDRs of the VPC], whether it overlaps the
        cloud-service range)."""
        vswitches = [cidr for cidr in self.vswitch_cidrs()
                     if ipaddress.ip_network(cidr, strict=False).version == net.version
                     and ipaddress.ip_network(cidr, strict=False).overlaps(net)]
        return vswitches, net.version == 4 and net.overlaps(CLOUD_SERVICE_CIDR)

    def check_destinations(self, wanted):
        """Before anything is written: destinations overlapping a vSwitch CIDR of the VPC or the
        cloud-service range, every one of them."""
        problems = []
        for dest, _target in wanted:
            vswitches, reserved = self._clashes(ipaddress.ip_network(dest))
            for cidr in vswitches:
                problems.append("destination %s overlaps vSwitch CIDR %s: container subnets must lie outside the VPC's "
                                "vSwitches" % (dest, cidr))
            if reserved:
                problems.append("destination %s overlaps %s, which Alibaba Cloud reserves for its services"
                                % (dest, CLOUD_SERVICE_CIDR))
        return problems

    def _check_destination(self, destination):
        dest = self._net(destination)
        vswitches, reserved = self._clashes(ipaddress.ip_network(dest))
        if reserved:
            raise AlicloudRouteError("alicloud: %s overlaps 100.64.0.0/10, which Alibaba Cloud reserves for its "
                                     "services; choose container subnets outside it" % dest)
        if vswitches:
            raise AlicloudRouteError(
                "alicloud: %s overlaps vSwitch CIDR %s of the VPC; a container subnet must not overlap the "
                "VPC's vSwitches (refused before any change)" % (dest, vswitches[0]))
        return dest

    def _table_vpc_id(self):
        body = self._call("DescribeRouteTableList", vpc_models.DescribeRouteTableListRequest(
            region_id=self.region, route_table_id=self.route_table_id))
        tables = (body.get("RouterTableList") or {}).get("RouterTableListType") or []
        for table in tables:
            if table.get("RouteTableId") == self.route_table_id and table.get("VpcId"):
                return table["VpcId"]
        raise AlicloudRouteError("alicloud: route table %s not found in region %s" % (self.route_table_id, self.region))

    def _describe(self, destination=None):
        entries, token = [], None
        while True:
            body = self._call("DescribeRouteEntryList", vpc_models.DescribeRouteEntryListRequest(
                region_id=self.region, route_table_id=self.route_table_id, destination_cidr_block=destination,
                max_result=100, next_token=token))
            entries.extend((body.get("RouteEntrys") or {}).get("RouteEntry") or [])
            token = body.get("NextToken")
            if not token:
                return entries

    def _entry(self, dest):
        for entry in self._describe(dest):
            if self._same_net(entry.get("DestinationCidrBlock"), dest):
                return entry
        return None

    @staticmethod
    def _same_net(a, b):
        try:
            return ipaddress.ip_network(str(a), strict=False) == ipaddress.ip_network(str(b), strict=False)
        except ValueError:
            return False

    @staticmethod
    def _shape(entry):
        hops = (entry.get("NextHops") or {}).get("NextHop") or []
        status = entry.get("Status") or ""
        if entry.get("Type") == "System" or any((h.get("NextHopType") or "").lower() == "local" for h in hops):
            target_type = "local"
        elif len(hops) == 1 and hops[0].get("NextHopType") == "Instance":
            target_type = "instance"
        else:
            target_type = "other"
        target = ",".join(h.get("NextHopId") or h.get("NextHopType") or "" for h in hops) or "local"
        route = {"destination": entry.get("DestinationCidrBlock"), "target": target, "target_type": target_type,
                 "state": "active" if status in ("Available", "Created") else status.lower(),
                 "entry_id": entry.get("RouteEntryId")}
        kind = entry.get("Type") or "Custom"
        if kind != "Custom":
            route["note"] = "%s route" % kind
        if kind in PROPAGATED_TYPES:
            route["propagated"] = True
        return route

    def _poll_delays(self, budget=None):
        """Exponential delays whose sum stays within `budget` (wait_timeout); the clock is the time slept."""
        budget = self.wait_timeout if budget is None else budget
        waited, delay = 0.0, max(self.backoff, 0.01)
        while waited < budget:
            step = min(delay, budget - waited, 10.0)
            yield step
            waited += step
            delay *= 2

    def _wait_for(self, dest, target):
        """Wait until `dest` is Available (pointing at `target` when given); return the entry or None."""
        entry = self._entry(dest)
        delays = self._poll_delays()
        while entry is None or entry.get("Status") not in ("Available", "Created"):
            if target is None and entry is None:
                return None
            delay = next(delays, None)
            if delay is None:
                state = entry.get("Status") if entry else "not listed yet"
                raise AlicloudRouteError("alicloud: route %s in table %s is still %s after %ss (wait_timeout)"
                                         % (dest, self.route_table_id, state, int(self.wait_timeout)))
            self._sleep(delay)
            entry = self._entry(dest)
        if target is not None and self._shape(entry)["target"] != target:
            raise AlicloudRouteError("alicloud: route %s in table %s became Available with next hop %s, not %s"
                                     % (dest, self.route_table_id, self._shape(entry)["target"], target))
        return entry

    def _wait_gone(self, dest):
        delays = self._poll_delays()
        entry = self._entry(dest)
        while entry is not None:
            delay = next(delays, None)
            if delay is None:
                raise AlicloudRouteError("alicloud: route %s in table %s is still %s after %ss (wait_timeout)"
                                         % (dest, self.route_table_id, entry.get("Status"), int(self.wait_timeout)))
            self._sleep(delay)
            entry = self._entry(dest)

    def _wait_table_settled(self, budget):
        """Before retrying a refused write: wait while any entry of the table is in transition.

        Returns the time slept; all the waits of one write share `budget` (wait_timeout), so an entry
        stuck in Pending costs wait_timeout once, not on every retry.
        """
        slept = 0.0
        delays = self._poll_delays(budget)
        while any(e.get("Status") in TRANSITIONAL for e in self._describe()):
            delay = next(delays, None)
            if delay is None:
                break  # let the write try again and fail with the API's own error
            self._sleep(delay)
            slept += delay
        return slept

    def _mask(self, text):
        text = str(text)
        for secret in self._masks:
            text = text.replace(secret, "***")
        return text

    @staticmethod
    def _error(exc):
        """(code, message, request id) of an SDK exception; code None for a network failure."""
        code = getattr(exc, "code", None)
        data = getattr(exc, "data", None)
        data = data if isinstance(data, dict) else {}
        message = data.get("Message") or getattr(exc, "message", None) or exc.__class__.__name__
        request_id = data.get("RequestId") or getattr(exc, "request_id", None)
        if code in (None, "", "None"):
            inner = getattr(exc, "inner_exception", None) or exc
            code = None
            message = "%s: %s" % (inner.__class__.__name__, getattr(inner, "message", None) or inner)
        return code, message, request_id

    def retryable(self, exc, write=False):
        """Flow control and (for writes) a busy table: retried; network failures: at most
        NETWORK_RETRIES times (a wrong endpoint fails fast); anything else: not."""
        code = self._error(exc)[0]
        if code in THROTTLING_CODES or (code or "").startswith("Throttling") or (write and code in BUSY_CODES):
            return True
        if code is None:
            return NETWORK_RETRIES + 1
        return False

    def _call(self, action, request, write=False, what=""):
        """One API call with retries (the retry policy; `retryable` says which); returns the response
        body as a dict."""
        method = getattr(self._client, _snake(action))
        settle = [self.wait_timeout]  # what is left of wait_timeout for settling, across the retries

        def attempt():
            if write:
                self.writes += 1
            else:
                self.reads += 1
            return method(request).body.to_map()

        def before_retry(exc):
            if write and self._error(exc)[0] in BUSY_CODES:
                settle[0] -= self._wait_table_settled(settle[0])

        def give_up(exc, attempts):
            code, message, request_id = self._error(exc)
            text = "alicloud: %s%s on route table %s failed: %s%s" % (
                action, " " + what if what else "", self.route_table_id,
                "%s: " % code if code else "", message)
            if code in QUOTA_CODES:
                text += " (a route table holds at most %s custom routes unless the quota was raised)" % self.route_quota
            if attempts > 1:
                text += " (gave up after %d attempts)" % attempts
            if request_id:
                text += " [request id %s]" % request_id
            return AlicloudRouteError(self._mask(text), code=code, request_id=request_id)

        return self.retry.call(attempt, lambda exc: self.retryable(exc, write), give_up, before_retry)


def _snake(action):
    out = ""
    for i, ch in enumerate(action):
        if ch.isupper() and i and not action[i - 1].isupper():
            out += "_"
        out += ch.lower()
    return out
