"""route_table's Alibaba Cloud backend against a local HTTP stand-in of the VPC API.

Real HTTP on 127.0.0.1 through Alibaba's own SDK (alibabacloud_vpc20160428 + tea_openapi, signature
V3 checked by the stand-in); the stand-in (alicloud_double.py) models what the API reference
documents: asynchronous entries (Pending -> Available, Deleting -> gone), TaskConflict /
IncorrectRouteEntryStatus while the table is busy, throttling, the route quota, the vSwitch CIDR
rule. It is not Alibaba's service: its docstring lists exactly what it models and from which pages.
Sleeps are recorded instead of slept, so backoff is checked without waiting.
"""
import importlib
import ipaddress
import os
import subprocess
import sys
import traceback

import pytest

pytest.importorskip("alibabacloud_vpc20160428", reason="alibabacloud_vpc20160428 + alibabacloud_tea_openapi not installed")

from alicloud_double import AlicloudVpcDouble  # noqa: E402
from labutil import collections_path  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The backend is a RouteBackend of the collection (_route_backend, _errors): imported as part of it,
# from .cache/collections (ansible_collections/crosshost/docker is this tree).
COLLECTIONS = collections_path()
BACKEND_MODULE = "ansible_collections.crosshost.docker.plugins.module_utils._route_alicloud"
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
ra = importlib.import_module(BACKEND_MODULE)

REGION = "cn-hangzhou"
TABLE = "vtb-double0001"
AK = "LTAI5tCrosshostTestKey0001"
SK = "crosshost-Secret-9f3a1b7c5d"
INSTANCES = ("i-bp1host0001", "i-bp1host0002", "i-bp1host0003", "i-bp1old00001", "i-bp1new00001", "i-bp1other001", "i-bp1firewall1")


@pytest.fixture
def make_double():
    made = []

    def make(**kw):
        kw.setdefault("instances", INSTANCES)
        double = AlicloudVpcDouble(credentials={AK: SK}, region=REGION, route_tables=(TABLE,), **kw).start()
        made.append(double)
        return double

    yield make
    for double in made:
        double.stop()


def backend(double=None, endpoint=None, access_key=AK, secret=SK, **kw):
    sleeps = []
    kw.setdefault("sleep", sleeps.append)
    b = ra.AlicloudRoutes(REGION, TABLE, access_key, secret, endpoint=endpoint or double.endpoint,
                          protocol="http", **kw)
    b.sleeps = sleeps
    return b


def answers_after(double, action):
    """(action, answer) of every call after the first `action`."""
    calls = [(a, code) for a, _params, code in double.calls]
    first = next(i for i, (a, _code) in enumerate(calls) if a == action)
    return calls[first + 1:]


def converge(b, desired, managed="10.0.0.0/8"):
    """What route_table does with a backend: add missing, fix wrong next hops, purge stale inside
    the managed CIDR only."""
    current = {r["destination"]: r for r in b.list_routes()}
    for dest, target in desired.items():
        have = current.get(dest)
        if have is None:
            b.create(dest, target)
        elif have["target"] != target:
            b.replace(dest, target)
    for dest, have in current.items():
        if (dest not in desired and have["target_type"] != "local"
                and ipaddress.ip_network(dest).subnet_of(ipaddress.ip_network(managed))):
            b.delete(dest)


# ------------------------------------------------------------------------------------ reading
def test_list_routes_shape_and_pagination(make_double):
    double = make_double(vswitches=(("vsw-a", "192.168.1.0/24"),))
    for i in range(130):
        double.seed("10.%d.0.0/24" % i, "i-bp1host0001")
    double.seed("172.16.0.0/24", "vpn-1", hop_type="VpnGateway")
    b = backend(double)
    routes = {r["destination"]: r for r in b.list_routes()}
    assert len(routes) == 130 + 1 + 2  # custom + foreign + 2 system (vSwitch, 100.64.0.0/10)
    assert b.reads == 2  # MaxResult=100 + NextToken
    assert routes["10.5.0.0/24"] == {"destination": "10.5.0.0/24", "target": "i-bp1host0001", "target_type": "instance",
                                     "state": "active", "entry_id": routes["10.5.0.0/24"]["entry_id"]}
    assert routes["10.5.0.0/24"]["entry_id"].startswith("rte-")
    assert routes["192.168.1.0/24"]["target_type"] == "local"
    assert routes["100.64.0.0/10"]["target_type"] == "local"
    assert routes["172.16.0.0/24"]["target_type"] == "other"
    assert b.writes == 0


def test_vswitch_cidrs_paginated_and_quota(make_double):
    vsw = tuple(("vsw-%d" % i, "192.168.%d.0/24" % i) for i in range(60))
    double = make_double(vswitches=vsw)
    b = backend(double)
    assert b.vswitch_cidrs() == ["192.168.%d.0/24" % i for i in range(60)]
    assert double.actions() == ["DescribeRouteTableList", "DescribeVSwitches", "DescribeVSwitches"]
    b.vswitch_cidrs()
    assert b.reads == 3  # cached
    assert b.quota() == 200
    assert backend(double, vpc_id="vpc-double0001", route_quota=500).quota() == 500


# ------------------------------------------------------------------------------------ create
def test_create_waits_pending_then_available(make_double):
    double = make_double(pending_describes=3)
    b = backend(double)
    assert b.create("10.0.0.0/24", "i-bp1host0001") is True
    assert double.entries() == {"10.0.0.0/24": ("i-bp1host0001", "Available")}
    after = answers_after(double, "CreateRouteEntry")
    # 3 answers said Pending, the 4th Available: create returned only after that.
    assert after == [("DescribeRouteEntryList", "OK")] * 4
    assert b.sleeps == [0.5, 1.0, 2.0]
    assert b.writes == 1
    route = [r for r in b.list_routes() if r["destination"] == "10.0.0.0/24"][0]
    assert (route["target"], route["target_type"], route["state"]) == ("i-bp1host0001", "instance", "active")


def test_create_gives_up_after_wait_timeout(make_double):
    double = make_double(pending_describes=10 ** 6)
    b = backend(double, wait_timeout=5)
    with pytest.raises(ra.AlicloudRouteError) as err:
        b.create("10.0.0.0/24", "i-bp1host0001")
    assert "10.0.0.0/24" in str(err.value) and "still Pending after 5s" in str(err.value)
    assert sum(b.sleeps) == pytest.approx(5)


def test_create_existing_route_to_same_target_is_not_a_failure(make_double):
    double = make_double()
    double.seed("10.0.0.0/24", "i-bp1host0001")
    b = backend(double)
    assert b.create("10.0.0.0/24", "i-bp1host0001") is False  # the API said InvalidCIDRBlock.Duplicate
    with pytest.raises(ra.AlicloudRouteError, match="already has a route for 10.0.0.0/24 .*i-bp1host0001.*use replace"):
        b.create("10.0.0.0/24", "i-bp1host0002")


@pytest.mark.parametrize("busy_code", ["TaskConflict", "IncorrectRouteEntryStatus"])
def test_write_while_another_entry_is_pending_is_retried(make_double, busy_code):
    double = make_double(busy_code=busy_code)
    double.seed("10.9.0.0/24", "i-bp1other001", status="Pending", countdown=2)  # another writer's entry
    b = backend(double)
    assert b.create("10.0.0.0/24", "i-bp1host0001") is True
    assert double.actions(answer=busy_code) == ["CreateRouteEntry"]
    assert b.writes == 2
    assert double.entries() == {"10.9.0.0/24": ("i-bp1other001", "Available"), "10.0.0.0/24": ("i-bp1host0001", "Available")}


def test_task_conflict_retried_with_exponential_backoff(make_double):
    double = make_double(task_conflicts=3, pending_describes=0)
    b = backend(double)
    assert b.create("10.0.0.0/24", "i-bp1host0001") is True
    assert double.actions(answer="TaskConflict") == ["CreateRouteEntry"] * 3
    assert b.writes == 4
    assert b.sleeps == [0.5, 1.0, 2.0]
    assert double.entries() == {"10.0.0.0/24": ("i-bp1host0001", "Available")}


def test_task_conflict_gives_up_with_a_clear_error(make_double):
    double = make_double(task_conflicts=100)
    b = backend(double, max_retries=3)
    with pytest.raises(ra.AlicloudRouteError) as err:
        b.create("10.0.0.0/24", "i-bp1host0001")
    msg = str(err.value)
    assert err.value.code == "TaskConflict"
    assert "CreateRouteEntry 10.0.0.0/24 -> i-bp1host0001" in msg and TABLE in msg
    assert "too frequent" in msg and "gave up after 4 attempts" in msg
    assert b.writes == 4 and double.entries() == {}


def test_entry_stuck_in_pending_costs_wait_timeout_once(make_double):
    double = make_double()
    double.seed("10.9.0.0/24", "i-bp1other001", status="Pending", countdown=10 ** 6)  # never settles
    b = backend(double, max_retries=3, wait_timeout=10)
    with pytest.raises(ra.AlicloudRouteError) as err:
        b.create("10.0.0.0/24", "i-bp1host0001")
    assert err.value.code == "TaskConflict" and "gave up after 4 attempts" in str(err.value)
    assert b.writes == 4
    assert sum(b.sleeps) == pytest.approx(10 + 0.5 + 1 + 2)  # one wait_timeout + the retry backoffs


# ------------------------------------------------------------------------------------ throttling
def test_throttling_retried_on_reads_and_writes(make_double):
    double = make_double(throttle_first=3, pending_describes=0)
    b = backend(double)
    b.list_routes()
    assert b.reads == 4 and b.sleeps == [0.5, 1.0, 2.0]
    b.vswitch_cidrs()  # so that the next throttled calls are the writes
    double.throttle_first = 2
    assert b.create("10.0.0.0/24", "i-bp1host0001") is True
    assert double.actions(answer="Throttling.User").count("CreateRouteEntry") == 2
    assert double.entries() == {"10.0.0.0/24": ("i-bp1host0001", "Available")}


def test_throttling_gives_up_with_a_clear_error(make_double):
    double = make_double(throttle_first=100, throttle_code="Throttling.Api")
    b = backend(double, max_retries=2)
    with pytest.raises(ra.AlicloudRouteError) as err:
        b.list_routes()
    assert err.value.code == "Throttling.Api"
    assert "flow control" in str(err.value) and "gave up after 3 attempts" in str(err.value)
    assert b.reads == 3


# ------------------------------------------------------------------------------------ quota and vSwitches
def test_quota_exceeded_is_clear_and_not_retried(make_double):
    double = make_double(quota=2)
    double.seed("10.0.0.0/24", "i-bp1host0001")
    double.seed("10.1.0.0/24", "i-bp1host0002")
    b = backend(double, route_quota=2)
    with pytest.raises(ra.AlicloudRouteError) as err:
        b.create("10.2.0.0/24", "i-bp1host0003")
    msg = str(err.value)
    assert err.value.code == "QuotaExceeded" and err.value.request_id
    assert "10.2.0.0/24" in msg and TABLE in msg and "Route entry quota exceeded" in msg
    assert "at most 2 custom routes" in msg
    assert b.writes == 1 and b.sleeps == []


@pytest.mark.parametrize("dest", ["192.168.1.0/24", "192.168.1.128/25", "192.168.0.0/16", "100.64.8.0/24"])
def test_vswitch_overlap_refused_before_any_write(make_double, dest):
    double = make_double(vswitches=(("vsw-a", "192.168.1.0/24"), ("vsw-b", "192.168.2.0/24")))
    b = backend(double)
    with pytest.raises(ra.AlicloudRouteError, match="overlaps") as err:
        b.create(dest, "i-bp1host0001")
    assert dest in str(err.value)
    assert b.writes == 0 and double.writes == 0


def test_double_refuses_vswitch_subset_with_the_documented_code(make_double):
    """The stand-in itself, called straight through the SDK (the backend never lets this through)."""
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_vpc20160428 import models as vpc_models
    from alibabacloud_vpc20160428.client import Client

    double = make_double()
    client = Client(open_api_models.Config(access_key_id=AK, access_key_secret=SK, region_id=REGION,
                                           endpoint=double.endpoint, protocol="http"))
    with pytest.raises(Exception) as err:
        client.create_route_entry(vpc_models.CreateRouteEntryRequest(
            region_id=REGION, route_table_id=TABLE, destination_cidr_block="192.168.1.0/25",
            next_hop_type="Instance", next_hop_id="i-bp1host0001"))
    assert (err.value.code, err.value.data["Message"]) == ("InvalidCidrBlock", "Specified CIDR block is not valid.")
    ok = client.create_route_entry(vpc_models.CreateRouteEntryRequest(
        region_id=REGION, route_table_id=TABLE, destination_cidr_block="192.168.0.0/16",
        next_hop_type="Instance", next_hop_id="i-bp1host0001", client_token="tok-1"))
    again = client.create_route_entry(vpc_models.CreateRouteEntryRequest(
        region_id=REGION, route_table_id=TABLE, destination_cidr_block="192.168.0.0/16",
        next_hop_type="Instance", next_hop_id="i-bp1host0001", client_token="tok-1"))
    assert ok.body.route_entry_id == again.body.route_entry_id  # ClientToken idempotence
    assert list(double.entries()) == ["192.168.0.0/16"]


# ------------------------------------------------------------------------------------ replace and delete
def test_replace_wrong_next_hop_in_place(make_double):
    double = make_double(modifying_describes=2)
    double.seed("10.0.0.0/24", "i-bp1old00001")
    b = backend(double)
    assert b.replace("10.0.0.0/24", "i-bp1new00001") is True
    assert b.last_replace_mode == "modify"
    assert double.entries() == {"10.0.0.0/24": ("i-bp1new00001", "Available")}
    assert [a for a in double.actions() if a in ("CreateRouteEntry", "ModifyRouteEntry", "DeleteRouteEntry")] == [
        "ModifyRouteEntry"]
    assert b.writes == 1
    assert b.replace("10.0.0.0/24", "i-bp1new00001") is False and b.writes == 1


def test_replace_falls_back_to_delete_and_create_when_next_hop_cannot_change(make_double):
    double = make_double(modify_next_hop=False)  # ModifyRouteEntry as in the pre-2026 reference
    double.seed("10.0.0.0/24", "i-bp1old00001")
    b = backend(double)
    assert b.replace("10.0.0.0/24", "i-bp1new00001") is True
    assert b.last_replace_mode == "recreate"
    assert [a for a in double.actions() if a.endswith("RouteEntry")] == [
        "ModifyRouteEntry", "DeleteRouteEntry", "CreateRouteEntry"]
    assert double.entries() == {"10.0.0.0/24": ("i-bp1new00001", "Available")}


def test_delete_stale_waits_until_gone(make_double):
    double = make_double(deleting_describes=2)
    double.seed("10.7.0.0/24", "i-bp1old00001")
    b = backend(double)
    assert b.delete("10.7.0.0/24") is True
    assert double.entries() == {}
    assert answers_after(double, "DeleteRouteEntry") == [("DescribeRouteEntryList", "OK")] * 3
    assert b.writes == 1
    assert b.delete("10.7.0.0/24") is False and b.writes == 1


def test_system_routes_are_never_touched(make_double):
    double = make_double()
    b = backend(double)
    with pytest.raises(ra.AlicloudRouteError, match="System route"):
        b.delete("192.168.1.0/24")
    with pytest.raises(ra.AlicloudRouteError, match="System route"):
        b.replace("100.64.0.0/10", "i-bp1host0001")
    assert b.writes == 0


def test_rerun_with_nothing_to_do_makes_no_writes(make_double):
    double = make_double()
    double.seed("10.1.0.0/24", "i-bp1old00001")          # wrong next hop
    double.seed("10.2.0.0/24", "i-bp1host0003")           # stale (host gone)
    double.seed("172.16.0.0/24", "i-bp1firewall1")         # foreign, outside the managed CIDR
    desired = {"10.0.0.0/24": "i-bp1host0001", "10.1.0.0/24": "i-bp1host0002"}
    first = backend(double)
    converge(first, desired)
    assert first.writes == 3  # create, modify, delete
    assert double.entries() == {"10.0.0.0/24": ("i-bp1host0001", "Available"), "10.1.0.0/24": ("i-bp1host0002", "Available"),
                                "172.16.0.0/24": ("i-bp1firewall1", "Available")}
    before = double.writes
    second = backend(double)
    converge(second, desired)
    assert second.writes == 0 and double.writes == before
    assert second.reads == 1


# ------------------------------------------------------------------------------------ secrets
def _all_text(exc):
    """What a module could show of the error: message, repr, args, and any chained exception that a
    traceback would print (SDK exceptions carry the signed request, so none may be chained)."""
    parts = [str(exc), repr(exc), repr(exc.args)]
    parts += traceback.format_exception_only(type(exc), exc)
    chained = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if chained is not None:
        parts.append("".join(traceback.format_exception(type(chained), chained, chained.__traceback__)))
    return "\n".join(parts)


def test_secrets_never_in_error_messages(make_double):
    double = make_double(quota=0)
    failures = []
    for b, call in (
            (backend(double, secret="Wrong-" + SK), lambda b: b.list_routes()),           # SignatureDoesNotMatch
            (backend(double, access_key="LTAIunknownKey99"), lambda b: b.list_routes()),  # unknown key
            (backend(double), lambda b: b.create("10.0.0.0/24", "i-bp1host0001")),                 # QuotaExceeded
            (backend(endpoint="127.0.0.1:9"), lambda b: b.list_routes()),                 # nothing listens
    ):
        with pytest.raises(ra.AlicloudRouteError) as err:
            call(b)
        failures.append(err.value)
        assert err.value.__cause__ is None and err.value.__suppress_context__
        assert SK not in repr(b) and AK not in repr(b)
    assert [f.code for f in failures] == ["SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "QuotaExceeded", None]
    assert "gave up after 4 attempts" in str(failures[3])  # connection failures: 3 retries only
    for exc in failures:
        text = _all_text(exc)
        assert SK not in text and AK not in text and "Wrong-" not in text, text


def test_missing_sdk_is_reported_not_raised_at_import():
    """ansible-test's import sanity runs without third-party packages: importing must still work."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith(('alibabacloud', 'darabonba', 'Tea')):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.path.insert(0, %r)\n"
        "import importlib\n"
        "m = importlib.import_module(%r)\n"
        "print(m.HAS_ALICLOUD_SDK, 'alibabacloud' in m.ALICLOUD_IMPORT_ERROR)\n"
        "try:\n"
        "    m.AlicloudRoutes('r', 't', 'a', 's')\n"
        "except m.AlicloudRouteError as e:\n"
        "    print(e)\n" % (COLLECTIONS, BACKEND_MODULE))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["False True",
                                "the alicloud provider needs the Python packages "
                                "alibabacloud_vpc20160428 and alibabacloud_tea_openapi"]


# ------------------------------------------------------------------------------------ through the module
MODULE = "crosshost.docker.route_table"
MANAGED = ["10.0.0.0/16"]
UNSAFE_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "ALICLOUD_ACCESS_KEY", "ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_SECRET_KEY", "ALICLOUD_ACCESS_KEY_SECRET",
              "ALICLOUD_REGION", "ALICLOUD_REGION_ID", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
needs_module = pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "plugins", "modules", "route_table.py")),
                                  reason="plugins/modules/route_table.py not there yet")


def module_args(double, routes, **extra):
    a = {"provider": "alicloud", "region": REGION, "route_table_id": TABLE, "endpoint_url": "http://" + double.endpoint,
         "access_key": AK, "secret_key": SK, "managed_cidrs": MANAGED, "backoff": 0.05, "retries": 5,
         "routes": [{"destination": d, "next_hop": t} for d, t in routes]}
    a.update(extra)
    return a


def run_module(margs, check=False, diff=False, env=None, verbosity=0):
    """The module on localhost through ansible-playbook; returns (ok, result, whole output)."""
    from labutil import run_local_task

    base = {k: v for k, v in os.environ.items() if k not in UNSAFE_ENV}
    base.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    base.update(env or {})
    return run_local_task(MODULE, margs, base, check=check, diff=diff, verbosity=verbosity, secret=SK)


H1, H2, H3 = "i-bp1host0001", "i-bp1host0002", "i-bp1host0003"
WANT = [("10.0.1.0/24", H1), ("10.0.2.0/24", H2), ("10.0.3.0/24", H3)]


@needs_module
def test_module_check_apply_rerun(make_double):
    double = make_double(pending_describes=2)
    double.seed("172.16.0.0/24", "i-bp1firewall1")  # foreign, outside the managed CIDR
    ok, result, _out = run_module(module_args(double, WANT), check=True, diff=True)
    assert ok, result.get("msg")
    assert result["changed"] and result["write_calls"] == 0 and double.writes == 0
    assert [c["destination"] for c in result["create"]] == [d for d, _target in WANT]
    assert result["quota"] == 200
    assert "10.0.1.0/24 -> %s" % H1 in result["diff"]["after"]

    ok, result, _out = run_module(module_args(double, WANT))
    assert ok, result.get("msg")
    assert result["changed"] and result["write_calls"] == 3
    assert double.entries() == dict([(d, (t, "Available")) for d, t in WANT] + [("172.16.0.0/24", ("i-bp1firewall1", "Available"))])
    assert all(r["state"] == "active" for r in result["routes"])

    writes = double.writes
    ok, result, _out = run_module(module_args(double, WANT))
    assert ok, result.get("msg")
    assert result["changed"] is False and result["write_calls"] == 0 and double.writes == writes


@needs_module
def test_module_replaces_wrong_next_hop_and_purges_stale(make_double):
    double = make_double(task_conflicts=1, throttle_first=1)
    double.seed("10.0.1.0/24", H1)
    double.seed("10.0.2.0/24", "i-bp1old00001")    # wrong next hop
    double.seed("10.0.9.0/24", "i-bp1old00001")    # stale, inside the managed CIDR
    double.seed("172.16.0.0/24", "i-bp1firewall1")  # foreign
    ok, result, _out = run_module(module_args(double, WANT[:2]))
    assert ok, result.get("msg")
    assert [r["destination"] for r in result["replace"]] == ["10.0.2.0/24"]
    assert [r["destination"] for r in result["delete"]] == ["10.0.9.0/24"]
    assert double.entries() == {"10.0.1.0/24": (H1, "Available"), "10.0.2.0/24": (H2, "Available"),
                                "172.16.0.0/24": ("i-bp1firewall1", "Available")}
    assert "ModifyRouteEntry" in double.actions(answer="OK")
    assert double.actions(answer="TaskConflict") and double.actions(answer="Throttling.User")


@needs_module
def test_module_refuses_vswitch_overlap_before_writing(make_double):
    double = make_double(vswitches=(("vsw-a", "10.0.2.0/24"),))
    ok, result, _out = run_module(module_args(double, WANT))
    assert not ok
    assert "10.0.2.0/24" in result["msg"] and "vSwitch" in result["msg"] and "nothing was changed" in result["msg"]
    assert double.writes == 0


@needs_module
def test_module_reports_api_quota_error_clearly(make_double):
    double = make_double(quota=1)
    ok, result, _out = run_module(module_args(double, WANT))
    assert not ok
    assert "QuotaExceeded" in result["msg"] and "10.0.2.0/24" in result["msg"]
    assert "Done before the failure: create 10.0.1.0/24 -> %s" % H1 in result["msg"]
    assert double.entries() == {"10.0.1.0/24": (H1, "Available")}


@needs_module
def test_module_credentials_from_env_and_secret_never_shown(make_double):
    double = make_double()
    margs = module_args(double, WANT[:1])
    del margs["access_key"], margs["secret_key"]
    ok, result, out = run_module(margs, verbosity=4, env={"ALICLOUD_ACCESS_KEY": AK, "ALICLOUD_SECRET_KEY": SK})
    assert ok, result.get("msg")
    assert double.entries() == {"10.0.1.0/24": (H1, "Available")}
    ok, result, out = run_module(module_args(double, WANT, secret_key="Wrong-" + SK), verbosity=4)
    assert not ok and "SignatureDoesNotMatch" in result["msg"]
    assert "Wrong-" not in out
