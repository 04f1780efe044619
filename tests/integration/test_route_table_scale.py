"""route_table, provider aws, at 60 routes (issue 15): AWS's default quota of 50 routes per table, and reading
a table of more than 50 routes back, against moto_server on 127.0.0.1 (the fixtures of test_route_table_aws).

- 60 routes against the default quota (Service Quotas' "Routes per route table", 50): refused before any
  write, in check mode and for real, with the counted total, the quota and what to do; the table and the
  instances' source/dest checks stay as they were.
- With the quota raised (max_routes, as after a Service Quotas increase) the 60 routes are written, and a
  rerun reads them back with one DescribeRouteTables call and writes nothing. A route table's routes come
  in the table's own object: DescribeRouteTables pages over route tables (MaxResults/NextToken), never over
  the routes of one table, so there is no pagination to miss (the module asks for one table by id).
"""
import pytest

# The fixtures (endpoint, ec2, vpc) are used by name, so their imports look unused.
from test_route_table_aws import (  # noqa: F401  pylint: disable=unused-import
    args,
    ec2,
    endpoint,
    run,
    snapshot,
    table,
    vpc,
)

ROUTES = 60
DESTINATIONS = [f"10.0.{i}.0/24" for i in range(100, 100 + ROUTES)]  # inside the managed 10.0.0.0/16


def sixty(vpc_):
    return [{"host": f"h{i + 1}", "destination": d, "next_hop": vpc_["instances"][i % 3]} for i, d in enumerate(DESTINATIONS)]


@pytest.mark.parametrize("check", [True, False])
def test_sixty_routes_over_the_default_quota_are_refused_before_any_write(endpoint, vpc, ec2, check):  # noqa: F811
    # pylint: disable=redefined-outer-name
    before = snapshot(ec2, vpc)
    ok, result, _out = run(args(endpoint, vpc, routes=sixty(vpc)), check=check)
    assert not ok, result
    # 60 new routes + the foreign 172.31.0.0/16 (counted; the VPC's local route is not)
    assert "the route table would hold 61 routes, more than its quota of 50" in result["msg"], result
    assert "nothing was changed" in result["msg"] and "Raise the quota (request more 'Routes per route table' " \
        "(vpc / L-93826ACB) in Service Quotas; set max_routes" in result["msg"], result
    assert result["write_calls"] == 0 and result["quota"] == 50
    assert snapshot(ec2, vpc) == before


def test_sixty_routes_under_a_raised_quota_are_written_and_read_back_in_one_call(endpoint, vpc, ec2):  # noqa: F811
    # pylint: disable=redefined-outer-name
    ok, result, _out = run(args(endpoint, vpc, routes=sixty(vpc), max_routes=100))
    assert ok, result.get("msg")
    assert result["quota"] == 100 and len(result["create"]) == ROUTES
    assert result["write_calls"] == ROUTES + 3  # 60 CreateRoute + 3 ModifyInstanceAttribute (source/dest check)
    routes = table(ec2, vpc["rtb"])
    assert len(routes) == ROUTES + 2  # and local, and the foreign 172.31.0.0/16
    assert {d: routes[d] for d in DESTINATIONS} == dict((r["destination"], r["next_hop"]) for r in sixty(vpc))

    before = snapshot(ec2, vpc)
    ok, result, _out = run(args(endpoint, vpc, routes=sixty(vpc), max_routes=100))
    assert ok, result.get("msg")
    assert result["changed"] is False and result["write_calls"] == 0, result
    assert len(result["unchanged"]) == ROUTES and result["create"] == result["replace"] == result["delete"] == []
    assert len(result["routes"]) == ROUTES + 2
    assert result["read_calls"] == 2, result  # DescribeInstances (the next hops), DescribeRouteTables (all 62 routes)
    assert snapshot(ec2, vpc) == before

    # Back under the default quota: the same 60 are refused again, before any write.
    ok, result, _out = run(args(endpoint, vpc, routes=sixty(vpc)))
    assert not ok and "would hold 61 routes, more than its quota of 50" in result["msg"], result
    assert result["write_calls"] == 0 and snapshot(ec2, vpc) == before
