"""route_table, provider aws, against moto_server on 127.0.0.1 (real HTTP, real boto3, real ansible-playbook).

The test starts its own moto_server on a free port of 127.0.0.1, makes a VPC (192.168.0.0/16) with a
subnet, three instances, an internet gateway and a route table holding a foreign route
(172.31.0.0/16 -> igw), then runs the module on localhost (connection local) through ansible-playbook:
check mode writes nothing; apply creates the routes and turns off source/dest checking; a rerun makes
zero write calls; a wrong next hop is replaced in place; a stale route inside the managed CIDR is
purged while foreign routes (outside the CIDR, or to a gateway inside it) stay; ENI next hops;
state=absent; the quota refuses before writing; bad input is refused before writing; the secret never
appears in any output. moto_server is stopped by its PID at the end. No other address is contacted:
the endpoint is 127.0.0.1, the instance metadata service is disabled and proxies are unset.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from labutil import run_local_task

boto3 = pytest.importorskip("boto3")

MODULE = "crosshost.docker.route_table"
REGION = "us-east-1"
ACCESS_KEY = "AKIDCROSSHOSTTEST01"
SECRET = "crosshost-SECRET-7f3a9c1e"  # must never show up in any output
MANAGED = ["10.0.0.0/16"]
SUBNETS = ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
MOTO_SERVER = os.path.join(os.path.dirname(sys.executable), "moto_server")
# Never reach anything but 127.0.0.1: no proxies, no instance metadata, no shared config/credentials.
SAFE_ENV = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
UNSAFE = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "AWS_PROFILE",
          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
          "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in UNSAFE}
    env.update(SAFE_ENV)
    env.update(extra)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    if not os.path.exists(MOTO_SERVER):
        pytest.skip("moto_server is not installed in this virtualenv (pip install 'moto[server]')")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=clean_env(), start_new_session=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/moto-api/", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    raise AssertionError(f"moto_server did not start: {log.read().decode()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()  # only the process this test started, by its PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def ec2(endpoint):
    """The test's own boto3 client; the process environment is made safe for it and restored after."""
    saved = dict(os.environ)
    for k in UNSAFE:
        os.environ.pop(k, None)
    os.environ.update(SAFE_ENV)
    try:
        yield boto3.client("ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                           aws_secret_access_key=SECRET)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def vpc(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="192.168.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="192.168.1.0/24")["Subnet"]["SubnetId"]
    instances = ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3, SubnetId=subnet)["Instances"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    rtb = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="172.31.0.0/16", GatewayId=igw)  # foreign
    return {"vpc": vpc_id, "rtb": rtb, "igw": igw, "instances": [i["InstanceId"] for i in instances],
            "enis": [i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in instances]}


def table(ec2, rtb):
    """{destination: target} of the whole route table."""
    out = {}
    for r in ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"]:
        out[r["DestinationCidrBlock"]] = r.get("InstanceId") or r.get("NetworkInterfaceId") or r.get("GatewayId")
    return out


def source_dest_checks(ec2, vpc):
    inst = {i["InstanceId"]: i["SourceDestCheck"] for r in ec2.describe_instances(InstanceIds=vpc["instances"])["Reservations"]
            for i in r["Instances"]}
    enis = {n["NetworkInterfaceId"]: n["SourceDestCheck"]
            for n in ec2.describe_network_interfaces(NetworkInterfaceIds=vpc["enis"])["NetworkInterfaces"]}
    return inst, enis


def snapshot(ec2, vpc):
    return table(ec2, vpc["rtb"]), source_dest_checks(ec2, vpc)


def args(endpoint, vpc, routes=None, **extra):
    a = {"provider": "aws", "region": REGION, "route_table_id": vpc["rtb"], "endpoint_url": endpoint,
         "access_key": ACCESS_KEY, "secret_key": SECRET, "managed_cidrs": MANAGED,
         "routes": routes if routes is not None else
         [{"host": f"h{i + 1}", "destination": d, "next_hop": vpc["instances"][i]} for i, d in enumerate(SUBNETS)]}
    a.update(extra)
    return a


def run(module_args, check=False, diff=False, env=None, verbosity=0):
    """Run the module on localhost through ansible-playbook; return (ok, result, whole output)."""
    base = clean_env()
    base.update(env or {})
    return run_local_task(MODULE, module_args, base, check=check, diff=diff, verbosity=verbosity, secret=SECRET)


def test_check_mode_plans_everything_and_writes_nothing(endpoint, vpc, ec2):
    before = snapshot(ec2, vpc)
    ok, result, _out = run(args(endpoint, vpc), check=True, diff=True)
    assert ok, result.get("msg")
    assert result["changed"] is True and result["write_calls"] == 0
    assert [c["destination"] for c in result["create"]] == SUBNETS
    assert result["source_dest_check_disabled"] == sorted(vpc["instances"])
    assert result["quota"] == 50
    after = result["diff"]["after"]
    assert f"10.0.1.0/24 -> {vpc['instances'][0]}\n" in after
    assert f"172.31.0.0/16 -> {vpc['igw']}  (gateway, not managed)\n" in after
    assert f"source/dest check {vpc['instances'][0]}: off\n" in after
    assert f"source/dest check {vpc['instances'][0]}: on\n" in result["diff"]["before"]
    assert snapshot(ec2, vpc) == before


def test_apply_creates_the_routes_and_disables_source_dest_check(endpoint, vpc, ec2):
    ok, result, _out = run(args(endpoint, vpc), diff=True)
    assert ok, result.get("msg")
    assert result["changed"] is True
    assert result["write_calls"] == 6  # 3 ModifyInstanceAttribute + 3 CreateRoute
    routes = table(ec2, vpc["rtb"])
    assert {d: routes[d] for d in SUBNETS} == dict(zip(SUBNETS, vpc["instances"]))
    assert routes["172.31.0.0/16"] == vpc["igw"] and routes["192.168.0.0/16"] == "local"
    assert source_dest_checks(ec2, vpc)[0] == {i: False for i in vpc["instances"]}
    assert {r["destination"]: r["target"] for r in result["routes"]} == routes


def test_rerun_makes_zero_write_calls(endpoint, vpc, ec2):
    before = snapshot(ec2, vpc)
    for check in (True, False):
        ok, result, _out = run(args(endpoint, vpc), check=check, diff=True)
        assert ok, result.get("msg")
        assert result["changed"] is False and result["write_calls"] == 0, result
        assert result["create"] == result["replace"] == result["delete"] == []
        assert len(result["unchanged"]) == 3 and result["source_dest_check_disabled"] == []
    assert snapshot(ec2, vpc) == before


def test_a_wrong_next_hop_is_replaced_in_place(endpoint, vpc, ec2):
    ec2.replace_route(RouteTableId=vpc["rtb"], DestinationCidrBlock="10.0.1.0/24", InstanceId=vpc["instances"][2])
    ok, result, _out = run(args(endpoint, vpc), diff=True)
    assert ok, result.get("msg")
    assert result["replace"] == [{"destination": "10.0.1.0/24", "target": vpc["instances"][0],
                                  "old_target": vpc["instances"][2]}]
    assert result["write_calls"] == 1 and result["create"] == result["delete"] == []
    assert f"10.0.1.0/24 -> {vpc['instances'][2]}\n" in result["diff"]["before"]
    assert f"10.0.1.0/24 -> {vpc['instances'][0]}\n" in result["diff"]["after"]
    assert table(ec2, vpc["rtb"])["10.0.1.0/24"] == vpc["instances"][0]


def test_stale_routes_inside_the_managed_cidr_are_purged_and_foreign_routes_stay(endpoint, vpc, ec2):
    ec2.create_route(RouteTableId=vpc["rtb"], DestinationCidrBlock="10.0.9.0/24", InstanceId=vpc["instances"][2])
    ec2.create_route(RouteTableId=vpc["rtb"], DestinationCidrBlock="10.0.200.0/24", GatewayId=vpc["igw"])
    ec2.create_route(RouteTableId=vpc["rtb"], DestinationCidrBlock="10.99.0.0/24", InstanceId=vpc["instances"][0])
    ok, result, _out = run(args(endpoint, vpc))
    assert ok, result.get("msg")
    assert result["delete"] == [{"destination": "10.0.9.0/24", "target": vpc["instances"][2]}]
    assert result["write_calls"] == 1
    routes = table(ec2, vpc["rtb"])
    assert "10.0.9.0/24" not in routes
    assert routes["10.0.200.0/24"] == vpc["igw"]           # inside the CIDR, but a gateway route: never ours
    assert routes["10.99.0.0/24"] == vpc["instances"][0]   # outside the managed CIDR
    assert routes["172.31.0.0/16"] == vpc["igw"]
    ok, result, _out = run(args(endpoint, vpc))
    assert ok and result["changed"] is False and result["write_calls"] == 0


def test_purge_off_leaves_stale_routes(endpoint, vpc, ec2):
    ec2.create_route(RouteTableId=vpc["rtb"], DestinationCidrBlock="10.0.8.0/24", InstanceId=vpc["instances"][1])
    ok, result, _out = run(args(endpoint, vpc, purge=False, managed_cidrs=[]))
    assert ok and result["changed"] is False and result["write_calls"] == 0, result
    assert table(ec2, vpc["rtb"])["10.0.8.0/24"] == vpc["instances"][1]


def test_eni_next_hops(endpoint, vpc, ec2):
    routes = [{"destination": d, "next_hop": vpc["instances"][i]} for i, d in enumerate(SUBNETS)]
    # An instance's primary ENI is the same next hop as the instance: no replacement.
    routes[2]["next_hop"] = vpc["enis"][2]
    ok, result, _out = run(args(endpoint, vpc, routes=routes))
    assert ok, result.get("msg")
    assert result["replace"] == [] and len(result["unchanged"]) == 3
    assert result["delete"] == [{"destination": "10.0.8.0/24", "target": vpc["instances"][1]}]
    assert result["source_dest_check_disabled"] == [vpc["enis"][2]]  # ModifyNetworkInterfaceAttribute
    assert result["write_calls"] == 2
    assert source_dest_checks(ec2, vpc)[1][vpc["enis"][2]] is False
    # Another host's ENI: replaced in place.
    routes[2]["next_hop"] = vpc["enis"][1]
    ok, result, _out = run(args(endpoint, vpc, routes=routes))
    assert ok, result.get("msg")
    assert result["replace"] == [{"destination": "10.0.3.0/24", "target": vpc["enis"][1],
                                  "old_target": vpc["instances"][2]}]
    assert result["source_dest_check_disabled"] == [vpc["enis"][1]] and result["write_calls"] == 2
    assert table(ec2, vpc["rtb"])["10.0.3.0/24"] == vpc["enis"][1]
    ok, result, _out = run(args(endpoint, vpc, routes=routes))
    assert ok and result["changed"] is False and result["write_calls"] == 0, result
    routes[2]["next_hop"] = vpc["enis"][2]
    ok, result, _out = run(args(endpoint, vpc, routes=routes))
    assert ok and result["write_calls"] == 1 and table(ec2, vpc["rtb"])["10.0.3.0/24"] == vpc["enis"][2], result


def test_quota_is_checked_before_writing(endpoint, vpc, ec2):
    before = snapshot(ec2, vpc)
    # The table holds 172.31/16, 10.0.200/24, 10.99/24 (counted) and local (not): 48 more make 51 > 50.
    routes = [{"destination": f"10.0.{i}.0/24", "next_hop": vpc["instances"][i % 3]} for i in range(10, 58)]
    ok, result, _out = run(args(endpoint, vpc, routes=routes), check=True)
    assert not ok and "more than its quota of 50" in result["msg"], result
    ok, result, _out = run(args(endpoint, vpc, routes=routes))
    assert not ok and "would hold 51 routes, more than its quota of 50" in result["msg"], result
    assert result["write_calls"] == 0 and "nothing was changed" in result["msg"]
    ok, result, _out = run(args(endpoint, vpc, max_routes=5))
    assert not ok and "would hold 6 routes, more than its quota of 5" in result["msg"], result
    assert snapshot(ec2, vpc) == before


def test_bad_input_is_refused_before_any_write(endpoint, vpc, ec2):
    before = snapshot(ec2, vpc)
    cases = [
        (args(endpoint, vpc, routes=[{"destination": "10.0.1.0/24", "next_hop": "192.168.1.11"}]),
         "routes[0].next_hop: '192.168.1.11' is not an instance id"),
        (args(endpoint, vpc, managed_cidrs=[]), "managed_cidrs: required when purge is true"),
        (args(endpoint, vpc, routes=[{"destination": "10.1.1.0/24", "next_hop": vpc["instances"][0]}]),
         "10.1.1.0/24 is outside managed_cidrs"),
        (args(endpoint, vpc, routes=[{"destination": "10.0.200.0/24", "next_hop": vpc["instances"][0]}]),
         f"10.0.200.0/24 is already routed to {vpc['igw']} (gateway), a route this module never touches"),
        (args(endpoint, vpc, routes=[{"destination": "10.0.1.0/24", "next_hop": "i-0000000000000000f"}]),
         "next hop instances i-0000000000000000f: describe_instances failed: InvalidInstanceID.NotFound"),
        (args(endpoint, vpc, route_table_id="rtb-00000000000000000"), "InvalidRouteTableID.NotFound"),
        (args(endpoint, vpc, route_table_id="vtb-123"), "is not a route table id"),
        (args(endpoint, vpc, region=None), "region: required for provider aws"),
    ]
    for module_args, words in cases:
        module_args = {k: v for k, v in module_args.items() if v is not None}
        ok, result, _out = run(module_args)
        assert not ok and words in result["msg"], (words, result)
        assert result.get("write_calls", 0) == 0
    assert snapshot(ec2, vpc) == before


def test_state_absent_deletes_the_given_destinations_only(endpoint, vpc, ec2):
    ok, result, _out = run({"provider": "aws", "region": REGION, "route_table_id": vpc["rtb"], "endpoint_url": endpoint,
                            "access_key": ACCESS_KEY, "secret_key": SECRET, "state": "absent",
                            "routes": [{"destination": "10.0.2.0/24"}, {"destination": "10.0.200.0/24"},
                                       {"destination": "10.0.77.0/24"}]}, diff=True)
    assert ok, result.get("msg")
    assert result["delete"] == [{"destination": "10.0.2.0/24", "target": vpc["instances"][1]}]
    assert result["write_calls"] == 1
    routes = table(ec2, vpc["rtb"])
    assert "10.0.2.0/24" not in routes and routes["10.0.200.0/24"] == vpc["igw"]
    assert routes["10.0.1.0/24"] == vpc["instances"][0] and routes["10.0.3.0/24"] == vpc["enis"][2]


def test_credentials_from_the_environment_and_never_in_any_output(endpoint, vpc, ec2):
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": REGION}
    plain = {"provider": "aws", "route_table_id": vpc["rtb"], "endpoint_url": endpoint, "managed_cidrs": MANAGED,
             "routes": [{"destination": d, "next_hop": vpc["instances"][i]} for i, d in enumerate(SUBNETS)]}
    # Successful runs (apply with diff, then the idempotent run), verbose, with credentials from the environment...
    ok, result, out = run(plain, diff=True, env=env, verbosity=3)
    assert ok and result["changed"] is True, result
    assert result["create"] == [{"destination": "10.0.2.0/24", "target": vpc["instances"][1]}], result
    ok, result, out = run(plain, env=env, verbosity=3)
    assert ok and result["write_calls"] == 0
    # ... and failing runs with them as parameters (run() asserts the secret is nowhere in the output).
    ok, result, out = run(args(endpoint, vpc, route_table_id="rtb-00000000000000000"), diff=True, verbosity=3)
    assert not ok and ACCESS_KEY not in out  # no_log masks the key id too
    ok, result, out = run(dict(plain, route_table_id="rtb-00000000000000000"), env=env, verbosity=3)
    assert not ok and "InvalidRouteTableID.NotFound" in result["msg"]
    # Without any credentials the module fails cleanly (no instance metadata lookup: disabled here).
    ok, result, out = run(dict(plain, region=REGION))
    assert not ok and "Unable to locate credentials" in result["msg"], result
