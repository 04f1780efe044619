# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""route_table's main() against a fake backend registered in the route backend registry (provider
``fake``): an in-memory table, no cloud, no netlink, no lab. What is checked here is the module's
part: input before any call, check mode, diff, the order of writes, extra changes, read back, and
the single error path with the result fields."""

from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _route_backend
from ansible_collections.crosshost.docker.plugins.module_utils._errors import RouteBackendError
from ansible_collections.crosshost.docker.plugins.modules import route_table
from ansible_collections.crosshost.docker.tests.unit import helpers

MANAGED = ["10.0.0.0/16"]
FOREIGN = {"destination": "0.0.0.0/0", "target": "gw-1", "target_type": "gateway", "state": "active"}


class FakeRoutes(_route_backend.RouteBackend):
    """One in-memory table shared by the runs of a test (``FakeRoutes.table``)."""

    name = "fake"
    table = {}           # destination -> route dict
    log = []             # every call, in order
    fail_on = None       # (action, destination) that raises
    drop_writes = False  # accept writes but change nothing (for the read-back check)
    extra_first = False  # plan a "first" extra change (like AWS's source/dest checks)

    @staticmethod
    def valid_target(target):
        return None if target.startswith("h") else "%r is not a fake host" % target

    def list_routes(self):
        self.reads += 1
        self.log.append("list")
        return [dict(r) for r in self.table.values()]

    def quota(self):
        self.log.append("quota")
        return 5

    def _write(self, action, destination, route):
        self.writes += 1
        self.log.append("%s %s" % (action, destination))
        if self.fail_on == (action, destination):
            raise RouteBackendError("%s %s failed: Refused" % (action, destination), retryable=False)
        if self.drop_writes:
            return
        if route is None:
            self.table.pop(destination)
        else:
            self.table[destination] = route

    def create(self, destination, target):
        self._write("create", destination, {"destination": destination, "target": target, "target_type": "instance",
                                            "state": "active"})

    def replace(self, destination, target):
        self.create(destination, target)
        self.log[-1] = "replace %s" % destination

    def delete(self, destination):
        self._write("delete", destination, None)

    def plan_extra(self, request, plan):
        first = []
        if self.extra_first:
            first = [("fake setting on %s" % t, lambda t=t: self.log.append("setting %s" % t)) for t in request.targets]
        return _route_backend.ExtraChanges(first=first, last=[lambda: self.log.append("boot file")],
                                           result={"persistence": {"mode": "fake", "script": None, "unit": None}},
                                           before="# boot file\n(absent)\n", after="# boot file\nroutes\n")


@pytest.fixture(autouse=True)
def fake(monkeypatch):
    monkeypatch.setitem(_route_backend.REGISTRY, "fake", lambda: FakeRoutes)
    monkeypatch.setattr(FakeRoutes, "table", {FOREIGN["destination"]: dict(FOREIGN)})
    monkeypatch.setattr(FakeRoutes, "log", [])
    return FakeRoutes


def run(capsys, check=False, diff=False, **args):
    args.setdefault("provider", "fake")
    args.setdefault("managed_cidrs", MANAGED)
    return helpers.run_module(capsys, route_table.main, args, check=check, diff=diff)


def routes(*pairs):
    return [{"destination": d, "next_hop": t} for d, t in pairs]


WANT = routes(("10.0.2.0/24", "h2"), ("10.0.1.0/24", "h1"))


def test_check_mode_then_apply_then_nothing_to_do(capsys, fake):
    result = run(capsys, check=True, diff=True, routes=WANT)
    assert result["_rc"] == 0 and result["changed"] is True and result["write_calls"] == 0
    assert [c["destination"] for c in result["create"]] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert result["quota"] == 5 and result["persistence"]["mode"] == "fake"
    assert result["diff"]["after"] == ("0.0.0.0/0 -> gw-1  (gateway, not managed)\n10.0.1.0/24 -> h1\n10.0.2.0/24 -> h2\n"
                                       "# boot file\nroutes\n")
    assert result["diff"]["before_header"] == "route table main (linux)"
    assert fake.log == ["list", "quota"]  # check mode: reads only, no extra change applied

    fake.log.clear()
    result = run(capsys, routes=WANT)
    assert result["changed"] is True and result["write_calls"] == 2 and result["read_calls"] == 2
    assert fake.log == ["list", "quota", "create 10.0.1.0/24", "create 10.0.2.0/24", "boot file", "list"]
    assert {r["destination"]: r["target"] for r in result["routes"]} == {"0.0.0.0/0": "gw-1", "10.0.1.0/24": "h1",
                                                                         "10.0.2.0/24": "h2"}


def test_writes_are_deletions_then_replacements_then_creations(capsys, fake):
    fake.table.update({"10.0.1.0/24": {"destination": "10.0.1.0/24", "target": "h9", "target_type": "instance"},
                       "10.0.9.0/24": {"destination": "10.0.9.0/24", "target": "h9", "target_type": "instance"}})
    fake.extra_first = True
    try:
        result = run(capsys, routes=WANT)
    finally:
        fake.extra_first = False
    assert result["replace"] == [{"destination": "10.0.1.0/24", "target": "h1", "old_target": "h9"}]
    assert result["delete"] == [{"destination": "10.0.9.0/24", "target": "h9"}]
    assert fake.log[2:] == ["setting h1", "setting h2", "delete 10.0.9.0/24", "replace 10.0.1.0/24",
                            "create 10.0.2.0/24", "boot file", "list"]


def test_input_errors_stop_before_any_call(capsys, fake):
    for args, msg in (
        (dict(routes=routes(("10.0.1.0/24", "x1"))), "routes[0].next_hop: 'x1' is not a fake host (provider fake)"),
        (dict(routes=routes(("10.1.0.0/24", "h1"))), "routes: 10.1.0.0/24 is outside managed_cidrs (10.0.0.0/16): add its "
                                                     "cluster CIDR to managed_cidrs or fix the destination"),
        (dict(routes=WANT, retries=0), "retries: must be at least 1 (attempts per API call)"),
        (dict(routes=WANT, max_routes=0), "max_routes: must be a positive number of routes"),
    ):
        result = run(capsys, **args)
        assert result["_rc"] == 1 and result["failed"] is True and result["msg"] == msg, result
        assert "write_calls" not in result  # nothing was made yet
    assert fake.log == []


def test_plan_errors_fail_with_the_result_so_far(capsys, fake):
    result = run(capsys, routes=routes(("10.0.1.0/24", "h1"), ("10.0.2.0/24", "h2"), ("10.0.3.0/24", "h3"),
                                       ("10.0.4.0/24", "h4"), ("10.0.5.0/24", "h5")))
    assert result["failed"] is True and "more than its quota of 5" in result["msg"]
    assert result["write_calls"] == 0 and result["read_calls"] == 1 and result["quota"] == 5
    assert result["changed"] is False and result["create"] == []


def test_a_refused_write_says_what_was_done_before_it(capsys, fake):
    fake.fail_on = ("create", "10.0.2.0/24")
    try:
        result = run(capsys, routes=WANT)
    finally:
        fake.fail_on = None
    assert result["failed"] is True
    assert result["msg"] == ("create 10.0.2.0/24 failed: Refused. Done before the failure: create 10.0.1.0/24 -> h1")
    assert result["write_calls"] == 2 and result["changed"] is True
    assert [c["destination"] for c in result["create"]] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert "boot file" not in fake.log


def test_the_table_is_read_back_and_must_hold_the_plan(capsys, fake):
    fake.drop_writes = True
    try:
        result = run(capsys, routes=WANT)
    finally:
        fake.drop_writes = False
    assert result["failed"] is True
    assert result["msg"].startswith("the route table does not hold the planned routes after applying them: still to "
                                    "create [{'destination': '10.0.1.0/24', 'target': 'h1'}")
    assert result["routes"] == [dict(FOREIGN)]  # what was read back, not the plan
    assert result["write_calls"] == 2


def test_state_absent_touches_the_listed_destinations_only(capsys, fake):
    fake.table["10.0.1.0/24"] = {"destination": "10.0.1.0/24", "target": "h1", "target_type": "instance"}
    result = run(capsys, state="absent", managed_cidrs=[], routes=[{"destination": "10.0.1.0/24"},
                                                                   {"destination": "10.0.7.0/24"}])
    assert result["delete"] == [{"destination": "10.0.1.0/24", "target": "h1"}] and result["write_calls"] == 1
    assert sorted(fake.table) == ["0.0.0.0/0"]


def test_unknown_provider_is_refused_by_the_argument_spec(capsys):
    result = run(capsys, provider="gcp", routes=WANT)
    assert result["failed"] is True and "value of provider must be one of: linux, aws, alicloud, fake" in result["msg"]


def test_env_lists_the_credential_variables_of_the_providers():
    assert route_table.ENV["aws"]["access_key"] == ("AWS_ACCESS_KEY_ID",)
    assert "linux" not in route_table.ENV
