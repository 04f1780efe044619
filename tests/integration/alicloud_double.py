# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local HTTP stand-in for the Alibaba Cloud VPC API (2016-04-28), for testing route_table's
`alicloud` backend. It is NOT Alibaba's service and no emulator of it exists on any registry: it
was written from Alibaba's public API reference (pages listed below) and from the way the official
Python SDK (alibabacloud_vpc20160428 7.2 on alibabacloud_tea_openapi 0.4) sends requests. Anything
not listed here is not modelled; where the reference is silent, the choice made is marked "stand-in".

Transport, as the SDK sends it (measured against this server):
- RPC style: POST to "/", parameters in the query string (form body parameters are read too),
  the action in the `x-acs-action` header (or an `Action` parameter), the version in
  `x-acs-version` (or `Version`), which must be 2016-04-28 (else 400 InvalidVersion, stand-in).
- Authentication: signature V3 (`Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,
  SignedHeaders=...,Signature=...`). The AccessKeyId must be present (400 MissingAccessKeyId,
  "AccessKeyId is mandatory for this action.") and known (404 InvalidAccessKeyId.NotFound); the
  signature is recomputed with the key's secret (canonical request: method, path, sorted
  RFC 3986-encoded query, the signed headers, x-acs-content-sha256) and must match
  (400 SignatureDoesNotMatch). Old-style V2 requests (AccessKeyId/Signature query parameters) are
  accepted with the key checked but their signature NOT verified.
- JSON answers with a RequestId; errors as {"RequestId", "HostId", "Code", "Message"} with the
  HTTP status of the reference (4xx -> the SDK's ClientException, 5xx -> ServerException).

Actions and behaviours modelled (one region, one VPC, route tables and vSwitches given to the
constructor; the state is in memory and inspectable):
- DescribeRouteEntryList: RouteTableId (required), filters DestinationCidrBlock, RouteEntryId,
  RouteEntryType, NextHopId, NextHopType; pagination by MaxResult (1-100, default 10) and an
  opaque NextToken (MaxResult out of range: 400 InvalidParameter.MaxResult, stand-in). Entries are shaped like the reference: RouteEntrys.RouteEntry[] with
  RouteEntryId, RouteTableId, DestinationCidrBlock, Type (System/Custom), Status
  (Pending/Available/Modifying/Deleting), IpVersion, Description, NextHops.NextHop[] (NextHopType,
  NextHopId). Each vSwitch CIDR gets a System entry with next hop type "local" and the table has
  the System 100.64.0.0/10 entry with next hop type "service" (stand-in for their next-hop fields).
- Asynchronous writes: a created entry is Pending, a modified one Modifying, a deleted one Deleting
  for `pending_describes` / `modifying_describes` / `deleting_describes` DescribeRouteEntryList
  calls on its table, then Available (or gone). The reference: "CreateRouteEntry is an asynchronous
  operation ... call DescribeRouteEntryList to query the status"; DeleteRouteEntry likewise
  ("If the route is in the Deleting state ... If you cannot query the route, the route is deleted").
- Busy table: any write to a table holding a Pending/Modifying/Deleting entry is refused with
  `busy_code` (default TaskConflict, "The operation is too frequent, please wait a moment and try
  again."; or IncorrectRouteEntryStatus, "Some route entry status blocked this operation.", which
  the CreateRouteEntry reference gives for "the route table contains routes in the Pending or
  Modifying state"). `task_conflicts=N` also refuses the next N writes with TaskConflict.
- Throttling: the first `throttle_first` calls (any action) get 400 `throttle_code`
  (default Throttling.User, "Request was denied due to user flow control.").
- CreateRouteEntry: RouteTableId, DestinationCidrBlock, NextHopType (default Instance), NextHopId,
  ClientToken, Description, RouteEntryName. Refusals: 404 InvalidRouteTableId.NotFound; 400
  InvalidCidrBlock.Malformed; 400 InvalidCidrBlock "Specified CIDR block is not valid." when the
  destination is the same as or inside a vSwitch CIDR of the VPC (the reference allows a
  destination that contains a vSwitch CIDR) or overlaps 100.64.0.0/10; 400
  InvalidCIDRBlock.Duplicate for an existing destination; 404 InvalidNextHopId.NotFound when
  `instances` is given and the Instance next hop is not one of them; 400 QuotaExceeded "Route
  entry quota exceeded in this route table." when the table already holds `quota` custom entries.
  A ClientToken seen before returns the entry it created (idempotence), without a new entry.
- ModifyRouteEntry: RouteEntryId (or RouteTableId + DestinationCidrBlock), RouteEntryName,
  Description, NewNextHopType, NewNextHopId. With `modify_next_hop=True` (the 2026 reference:
  "modify the name, description, and next hop of a custom route entry") the next hop changes and
  the entry is Modifying for a while; with False (the earlier reference: name and description only)
  NewNextHop* are ignored. Unknown entry: 400 InvalidRouteEntry.NotFound (stand-in code, the one
  the Terraform provider handles); a System entry: 400 OperationDenied.SystemRouteEntry (stand-in).
- DeleteRouteEntry: RouteEntryId (or RouteTableId + DestinationCidrBlock). Only Available custom
  entries ("You can delete only routes that are in the Available state": a table with an entry in
  transition answers `busy_code`); unknown entry: 400 InvalidRouteEntry.NotFound, System entry:
  400 OperationDenied.SystemRouteEntry (both stand-in codes, as above).
- DescribeRouteTableList: RouteTableId / VpcId filters -> RouterTableList.RouterTableListType[]
  with RouteTableId, VpcId, RouteTableType, RouterType, Status; PageNumber/PageSize.
- DescribeVSwitches: VpcId / VSwitchId filters -> VSwitches.VSwitch[] with VSwitchId, VpcId,
  CidrBlock, Status, ZoneId; PageNumber/PageSize (max 50, default 10; more: 400
  InvalidPageSize.Malformed, stand-in).
- Missing RouteTableId / DestinationCidrBlock / RouteEntryId: 400 MissingParameter. Anything else:
  404 InvalidAction.NotFound.
Not modelled: other regions and VPCs, ECMP (NextHopList), prefix lists, IPv6 specifics, DryRun,
other next-hop types' existence checks, VBR tables, real timing (states advance per describe call).

Sources (Alibaba Cloud API reference, VPC 2016-04-28, and Alibaba's generated SDK models):
  https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouteentry
    (asynchronous, 200 custom entries per table, vSwitch and 100.64.0.0/10 rules, ClientToken,
    error codes QuotaExceeded, InvalidCidrBlock, InvalidCIDRBlock.Duplicate, IncorrectRouteEntryStatus,
    TaskConflict, InvalidRouteTableId.NotFound, InvalidNextHopId.NotFound)
  https://api.aliyun.com/document/Vpc/2016-04-28/CreateRouteEntry (TaskConflict "in concurrent scenarios")
  https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-describerouteentrylist
  https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-modifyrouteentry
  https://www.alibabacloud.com/help/en/express-connect/developer-reference/api-deleterouteentry
  SDK models: response field names of DescribeRouteEntryList / DescribeRouteTableList / DescribeVSwitches
    (alibabacloud_vpc20160428 7.2), Status values Pending/Available/Modifying/Deleting (the same
    model in Alibaba's C++ SDK, DescribeRouteEntryListResponseBody).
  Throttling codes and messages (Throttling, Throttling.User, Throttling.Api) and the authentication
  errors are Alibaba Cloud's common error codes as other products' error tables list them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

VERSION = "2016-04-28"
HOST_ID = "vpc.aliyuncs.com"
CLOUD_SERVICE_CIDR = ipaddress.ip_network("100.64.0.0/10")
WRITES = ("CreateRouteEntry", "ModifyRouteEntry", "DeleteRouteEntry")
TRANSITIONAL = ("Pending", "Modifying", "Deleting")
MESSAGES = {
    "TaskConflict": "The operation is too frequent, please wait a moment and try again.",
    "IncorrectRouteEntryStatus": "Some route entry status blocked this operation.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
    "Throttling": "Request was denied due to flow control.",
}


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class AlicloudVpcDouble:
    """In-memory VPC with an HTTP front end on 127.0.0.1 (see the module docstring)."""

    def __init__(self, credentials=None, region="cn-hangzhou", vpc_id="vpc-double0001",
                 route_tables=("vtb-double0001",), vswitches=(("vsw-double0001", "192.168.1.0/24"),),
                 instances=None, quota=200, pending_describes=2, modifying_describes=1, deleting_describes=1,
                 throttle_first=0, throttle_code="Throttling.User", task_conflicts=0, busy_code="TaskConflict",
                 modify_next_hop=True):
        self.credentials = dict(credentials or {"LTAIdoubleAccessKey": "double-secret-value"})
        self.region, self.vpc_id = region, vpc_id
        self.vswitches = [{"VSwitchId": vid, "CidrBlock": cidr} for vid, cidr in vswitches]
        self.instances = set(instances) if instances is not None else None
        self.quota = quota
        self.pending_describes, self.modifying_describes = pending_describes, modifying_describes
        self.deleting_describes = deleting_describes
        self.throttle_first, self.throttle_code = throttle_first, throttle_code
        self.task_conflicts, self.busy_code = task_conflicts, busy_code
        self.modify_next_hop = modify_next_hop
        self.lock = threading.Lock()
        self.calls = []  # (action, params, answer code or "OK")
        self.tables = {}
        self._ids = itertools.count(1)
        self._tokens = {}
        for table in route_tables:
            self.tables[table] = []
            for vsw in self.vswitches:
                self._add(table, vsw["CidrBlock"], "local", "", kind="System")
            self._add(table, str(CLOUD_SERVICE_CIDR), "service", "", kind="System")
        self._server = None
        self._thread = None

    # ---------------------------------------------------------------- lifecycle and inspection
    def start(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                double.handle(self)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self._server.server_address[1]

    def actions(self, answer=None):
        with self.lock:
            return [a for a, _params, code in self.calls if answer is None or code == answer]

    @property
    def writes(self):
        return sum(1 for a in self.actions() if a in WRITES)

    def entries(self, table=None, kind="Custom"):
        """{destination: (next hop id, status)} of one table, custom entries by default."""
        with self.lock:
            rows = self.tables[table or next(iter(self.tables))]
            return {e["DestinationCidrBlock"]: (e["NextHops"]["NextHop"][0]["NextHopId"], e["Status"])
                    for e in rows if kind is None or e["Type"] == kind}

    def seed(self, destination, next_hop, table=None, status="Available", countdown=0, hop_type="Instance"):
        """Put a custom entry in place directly (another tool's or an earlier run's)."""
        with self.lock:
            entry = self._add(table or next(iter(self.tables)), destination, hop_type, next_hop)
            entry["Status"], entry["_countdown"] = status, countdown
            return entry["RouteEntryId"]

    # ---------------------------------------------------------------- HTTP
    def handle(self, req):
        length = int(req.headers.get("content-length") or 0)
        body = req.rfile.read(length) if length else b""
        url = urlsplit(req.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if body and "x-www-form-urlencoded" in (req.headers.get("content-type") or ""):
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        action = req.headers.get("x-acs-action") or params.get("Action") or ""
        try:
            self._authenticate(req, url, body, params)
            if (req.headers.get("x-acs-version") or params.get("Version")) != VERSION:
                raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
            with self.lock:
                result = self._dispatch(action, params)
                self.calls.append((action, params, "OK"))
            status = 200
        except ApiError as exc:
            with self.lock:
                self.calls.append((action, params, exc.code))
            status = exc.status
            result = {"HostId": HOST_ID, "Code": exc.code, "Message": exc.message}
        result["RequestId"] = str(uuid.uuid4()).upper()
        out = json.dumps(result).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json;charset=utf-8")
        req.send_header("Content-Length", str(len(out)))
        req.end_headers()
        req.wfile.write(out)

    def _authenticate(self, req, url, body, params):
        auth = req.headers.get("Authorization") or ""
        if auth.startswith("ACS3-"):
            algo, _sep, rest = auth.partition(" ")
            fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
            key_id = fields.get("Credential")
        else:
            algo, fields, key_id = None, {}, params.get("AccessKeyId")
        if not key_id:
            raise ApiError(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
        secret = self.credentials.get(key_id)
        if secret is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if algo is None:
            return  # V2 signature: key checked, signature not verified (see docstring)
        if algo != "ACS3-HMAC-SHA256":
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        payload_hash = req.headers.get("x-acs-content-sha256") or ""
        if payload_hash != hashlib.sha256(body).hexdigest():
            raise ApiError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        canon_query = "&".join("%s=%s" % (k, quote(query[k], safe="~")) for k in sorted(query))
        signed = fields.get("SignedHeaders", "").split(";")
        canon_headers = "".join("%s:%s\n" % (h, (req.headers.get(h) or "").strip()) for h in signed)
        canonical = "\n".join([req.command, url.path or "/", canon_query, canon_headers, ";".join(signed), payload_hash])
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            raise ApiError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")

    # ---------------------------------------------------------------- the API
    def _dispatch(self, action, p):
        if self.throttle_first > 0:
            self.throttle_first -= 1
            raise ApiError(400, self.throttle_code, MESSAGES.get(self.throttle_code, MESSAGES["Throttling"]))
        handler = {
            "DescribeRouteEntryList": self._describe_route_entry_list,
            "CreateRouteEntry": self._create_route_entry,
            "ModifyRouteEntry": self._modify_route_entry,
            "DeleteRouteEntry": self._delete_route_entry,
            "DescribeRouteTableList": self._describe_route_table_list,
            "DescribeVSwitches": self._describe_vswitches,
        }.get(action)
        if handler is None:
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if action in WRITES and self.task_conflicts > 0:
            self.task_conflicts -= 1
            raise ApiError(400, "TaskConflict", MESSAGES["TaskConflict"])
        return handler(p)

    def _add(self, table, destination, hop_type, hop_id, kind="Custom"):
        entry = {"RouteEntryId": "rte-double%06d" % next(self._ids), "RouteTableId": table,
                 "DestinationCidrBlock": str(destination), "Type": kind, "Status": "Available",
                 "IpVersion": "ipv4", "Description": "", "RouteEntryName": "",
                 "NextHops": {"NextHop": [{"NextHopType": hop_type, "NextHopId": hop_id}]}, "_countdown": 0}
        self.tables[table].append(entry)
        return entry

    @staticmethod
    def _settle(rows, entry):
        """End of an asynchronous task: Pending/Modifying -> Available, Deleting -> gone."""
        if entry["Status"] == "Deleting":
            rows.remove(entry)
        else:
            entry["Status"] = "Available"

    def _start_task(self, entry, status, describes):
        """The entry shows `status` in the next `describes` DescribeRouteEntryList answers."""
        entry["Status"], entry["_countdown"] = status, describes
        if describes <= 0:
            self._settle(self.tables[entry["RouteTableId"]], entry)

    def _table(self, p):
        table = p.get("RouteTableId")
        if not table:
            raise ApiError(400, "MissingParameter", "Miss mandatory parameter.")
        if table not in self.tables:
            raise ApiError(404, "InvalidRouteTableId.NotFound", "Specified route table does not exist.")
        return table

    def _busy(self, table):
        if any(e["Status"] in TRANSITIONAL for e in self.tables[table]):
            raise ApiError(400, self.busy_code, MESSAGES.get(self.busy_code, MESSAGES["TaskConflict"]))

    def _find(self, p):
        rows = [e for t in self.tables.values() for e in t]
        if p.get("RouteEntryId"):
            found = [e for e in rows if e["RouteEntryId"] == p["RouteEntryId"]]
        elif p.get("RouteTableId") and p.get("DestinationCidrBlock"):
            dest = _net(p["DestinationCidrBlock"])
            found = [e for e in self.tables.get(p["RouteTableId"], []) if _net(e["DestinationCidrBlock"]) == dest]
        else:
            raise ApiError(400, "MissingParameter", "Miss mandatory parameter.")
        if not found:
            raise ApiError(400, "InvalidRouteEntry.NotFound", "Specified route entry does not exist.")
        return found[0]

    def _describe_route_entry_list(self, p):
        table = self._table(p)
        rows = self.tables[table]
        want = {k: p[k] for k in ("RouteEntryId", "RouteEntryType") if p.get(k)}
        out = []
        for e in rows:
            if want.get("RouteEntryId", e["RouteEntryId"]) != e["RouteEntryId"]:
                continue
            if want.get("RouteEntryType", e["Type"]) != e["Type"]:
                continue
            if p.get("DestinationCidrBlock") and _net(p["DestinationCidrBlock"]) != _net(e["DestinationCidrBlock"]):
                continue
            hop = e["NextHops"]["NextHop"][0]
            if p.get("NextHopId") and p["NextHopId"] != hop["NextHopId"]:
                continue
            if p.get("NextHopType") and p["NextHopType"] != hop["NextHopType"]:
                continue
            out.append({k: v for k, v in e.items() if not k.startswith("_")})
        size = int(p.get("MaxResult") or 10)
        if not 1 <= size <= 100:
            raise ApiError(400, "InvalidParameter.MaxResult", "The specified MaxResult is invalid.")
        start = int(p["NextToken"][3:]) if p.get("NextToken", "").startswith("nt-") else 0
        page = json.loads(json.dumps(out[start:start + size]))
        # Time passes with each describe call: entries in transition move on (after the answer).
        for e in list(rows):
            if e["Status"] in TRANSITIONAL:
                e["_countdown"] -= 1
                if e["_countdown"] <= 0:
                    self._settle(rows, e)
        body = {"RouteEntrys": {"RouteEntry": page}, "TotalCount": len(out)}
        if start + size < len(out):
            body["NextToken"] = "nt-%d" % (start + size)
        return body

    def _create_route_entry(self, p):
        table = self._table(p)
        token = p.get("ClientToken")
        if token and token in self._tokens:
            return {"RouteEntryId": self._tokens[token]}
        self._busy(table)
        if not p.get("DestinationCidrBlock"):
            raise ApiError(400, "MissingParameter", "Miss mandatory parameter.")
        try:
            dest = ipaddress.ip_network(p["DestinationCidrBlock"], strict=False)
        except ValueError:
            raise ApiError(400, "InvalidCidrBlock.Malformed", "Specified CIDR block is not valid.") from None
        if dest.version == 4 and dest.overlaps(CLOUD_SERVICE_CIDR):
            raise ApiError(400, "InvalidCidrBlock", "Specified CIDR block is not valid.")
        for vsw in self.vswitches:
            cidr = ipaddress.ip_network(vsw["CidrBlock"])
            if cidr.version == dest.version and dest.subnet_of(cidr):
                raise ApiError(400, "InvalidCidrBlock", "Specified CIDR block is not valid.")
        rows = self.tables[table]
        if any(_net(e["DestinationCidrBlock"]) == dest for e in rows):
            raise ApiError(400, "InvalidCIDRBlock.Duplicate", "Specified CIDR block is already exists.")
        hop_type = p.get("NextHopType") or "Instance"
        hop_id = p.get("NextHopId") or ""
        if hop_type == "Instance" and self.instances is not None and hop_id not in self.instances:
            raise ApiError(404, "InvalidNextHopId.NotFound", "Specified next hop does not exist.")
        if sum(1 for e in rows if e["Type"] == "Custom") >= self.quota:
            raise ApiError(400, "QuotaExceeded", "Route entry quota exceeded in this route table.")
        entry = self._add(table, str(dest), hop_type, hop_id)
        entry["Description"] = p.get("Description", "")
        entry["RouteEntryName"] = p.get("RouteEntryName", "")
        self._start_task(entry, "Pending", self.pending_describes)
        if token:
            self._tokens[token] = entry["RouteEntryId"]
        return {"RouteEntryId": entry["RouteEntryId"]}

    def _modify_route_entry(self, p):
        entry = self._find(p)
        self._busy(entry["RouteTableId"])
        if entry["Type"] != "Custom":
            raise ApiError(400, "OperationDenied.SystemRouteEntry", "System route entries cannot be modified.")
        for key in ("RouteEntryName", "Description"):
            if key in p:
                entry[key] = p[key]
        if self.modify_next_hop and p.get("NewNextHopId"):
            hop_type = p.get("NewNextHopType") or entry["NextHops"]["NextHop"][0]["NextHopType"]
            if hop_type == "Instance" and self.instances is not None and p["NewNextHopId"] not in self.instances:
                raise ApiError(404, "InvalidNextHopId.NotFound", "Specified next hop does not exist.")
            entry["NextHops"]["NextHop"] = [{"NextHopType": hop_type, "NextHopId": p["NewNextHopId"]}]
        self._start_task(entry, "Modifying", self.modifying_describes)
        return {}

    def _delete_route_entry(self, p):
        entry = self._find(p)
        self._busy(entry["RouteTableId"])
        if entry["Type"] != "Custom":
            raise ApiError(400, "OperationDenied.SystemRouteEntry", "System route entries cannot be deleted.")
        self._start_task(entry, "Deleting", self.deleting_describes)
        return {}

    def _describe_route_table_list(self, p):
        rows = [{"RouteTableId": t, "VpcId": self.vpc_id, "RouteTableType": "System", "RouterType": "VRouter",
                 "Status": "Available"} for t in self.tables
                if p.get("RouteTableId", t) == t and p.get("VpcId", self.vpc_id) == self.vpc_id]
        number, size = int(p.get("PageNumber") or 1), int(p.get("PageSize") or 10)
        return {"RouterTableList": {"RouterTableListType": rows[(number - 1) * size:number * size]},
                "TotalCount": len(rows), "PageNumber": number, "PageSize": size}

    def _describe_vswitches(self, p):
        if not (p.get("VpcId") or p.get("RegionId")):
            raise ApiError(400, "MissingParameter", "Miss mandatory parameter.")
        rows = [dict(v, VpcId=self.vpc_id, Status="Available", ZoneId=self.region + "-a") for v in self.vswitches
                if p.get("VpcId", self.vpc_id) == self.vpc_id and p.get("VSwitchId", v["VSwitchId"]) == v["VSwitchId"]]
        number, size = int(p.get("PageNumber") or 1), int(p.get("PageSize") or 10)
        if size > 50:
            raise ApiError(400, "InvalidPageSize.Malformed", "Specified PageSize is not valid.")
        return {"VSwitches": {"VSwitch": rows[(number - 1) * size:number * size]},
                "TotalCount": len(rows), "PageNumber": number, "PageSize": size}


def _net(text):
    return ipaddress.ip_network(str(text), strict=False)
