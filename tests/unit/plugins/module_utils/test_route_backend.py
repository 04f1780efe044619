# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The route backends' registry (lazy imports, messages), the base class's defaults, the one retry
policy (with a fake clock) and the providers' retry classification. No cloud, no netlink."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _route_backend as rb
from ansible_collections.crosshost.docker.plugins.module_utils._errors import (
    BackendError,
    CrosshostError,
    PlanError,
    RouteBackendError,
)


def run_python(code):
    """`code` in a fresh interpreter that can import the collection; returns its stdout lines."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


# ------------------------------------------------------------------------------------------ registry
def test_registry_holds_the_three_providers():
    assert list(rb.REGISTRY) == ["linux", "aws", "alicloud"]


def test_unknown_provider_names_the_known_ones():
    with pytest.raises(PlanError, match=r"^provider: 'gcp' is not one of linux, aws, alicloud$"):
        rb.load("gcp")


def test_a_provider_file_that_cannot_be_imported_is_reported(monkeypatch):
    def broken():
        raise ImportError("cannot import name 'GcpRoutes'")

    monkeypatch.setitem(rb.REGISTRY, "gcp", broken)
    with pytest.raises(RouteBackendError) as err:
        rb.load("gcp")
    assert str(err.value) == ("provider gcp is not available in this version of crosshost.docker "
                              "(plugins/module_utils/_route_gcp.py is missing or broken: cannot import name 'GcpRoutes')")


def test_every_provider_error_is_one_route_backend_error():
    from ansible_collections.crosshost.docker.plugins.module_utils import _route_alicloud, _route_aws, _route_linux

    for cls in (_route_aws.AwsRouteError, _route_linux.LinuxRouteError, _route_alicloud.AlicloudRouteError):
        assert issubclass(cls, RouteBackendError) and issubclass(cls, BackendError) and issubclass(cls, CrosshostError)
    # The names the modules export are the collection's one class.
    assert _route_aws.RouteBackendError is _route_linux.RouteBackendError is RouteBackendError
    err = _route_alicloud.AlicloudRouteError("alicloud: x failed", code="Throttling", request_id="r-1")
    assert (err.code, err.request_id, err.retryable, err.details) == ("Throttling", "r-1", False, {})


def test_loading_one_provider_imports_no_other_provider_nor_its_sdk():
    lines = run_python("""
        import sys
        from ansible_collections.crosshost.docker.plugins.module_utils import _route_backend as rb
        pkg = "ansible_collections.crosshost.docker.plugins.module_utils."
        sdks = ("boto3", "botocore", "pyroute2", "alibabacloud_vpc20160428", "alibabacloud_tea_openapi")
        def loaded():
            return sorted(n.split(".")[-1] for n in sys.modules if n.startswith(pkg + "_route_") or n in sdks)
        print(loaded())
        rb.load("linux", required=False)
        print(loaded())
        rb.load("alicloud", required=False)
        print("boto3" in sys.modules, "_route_aws" in str(loaded()))
    """)
    assert lines[0] == "['_route_backend']"
    assert lines[1] in ("['_route_backend', '_route_linux', 'pyroute2']", "['_route_backend', '_route_linux']")
    assert lines[2] == "False False"


def test_a_missing_sdk_is_missing_required_lib_with_the_import_error():
    lines = run_python("""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("boto3", "botocore"):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        from ansible_collections.crosshost.docker.plugins.module_utils import _route_backend as rb
        print(rb.load("aws", required=False).name)
        try:
            rb.load("aws")
        except rb.RouteBackendError as err:
            print(err)
            print(err.details["exception"])
    """)
    assert lines[0] == "aws"
    assert lines[1].startswith("Failed to import the required Python library (boto3) on ")
    assert lines[2] == "blocked boto3"


def test_credentials_env_comes_from_the_backends():
    env = rb.credentials_env()
    assert sorted(env) == ["alicloud", "aws"]
    assert env["aws"]["session_token"] == ("AWS_SESSION_TOKEN",)
    assert env["alicloud"]["region"] == ("ALICLOUD_REGION", "ALICLOUD_REGION_ID")


# ------------------------------------------------------------------------------------------ base class
class Plain(rb.RouteBackend):
    name = "plain"
    credentials = {"access_key": ("PLAIN_KEY",), "region": ("PLAIN_REGION", "PLAIN_DEFAULT_REGION")}

    def __init__(self, region=None, access_key=None):
        super().__init__()
        self.region = region
        self.access_key = access_key


def test_options_take_credentials_and_region_from_the_environment_where_not_given():
    params = {"region": None, "access_key": "given", "retries": 3}
    opts = Plain.options(params, environ={"PLAIN_KEY": "env", "PLAIN_DEFAULT_REGION": "r-2"})
    assert (opts["access_key"], opts["region"], opts["retries"]) == ("given", "r-2", 3)
    with pytest.raises(PlanError, match=r"^region: required for provider plain \(or set PLAIN_REGION / PLAIN_DEFAULT_REGION\)$"):
        Plain.options(params, environ={})
    # The constructor gets only the options it accepts.
    backend = Plain.from_options(dict(opts, module=object()))
    assert (backend.region, backend.access_key, backend.reads, backend.writes, backend.warnings) == ("r-2", "given", 0, 0, [])


def test_defaults_check_nothing_and_retry_nothing():
    backend = Plain()
    assert backend.check_targets(["x"]) == ({}, [])
    assert backend.check_destinations([("10.0.1.0/24", "x")]) == []
    assert backend.quota() is None
    assert backend.retryable(RuntimeError()) is False
    extra = backend.plan_extra(None, None)
    assert not extra and extra.result == {} and (extra.before, extra.after) == ("", "")
    assert Plain.valid_target("anything") is None and Plain.target_type("anything") == "instance"
    with pytest.raises(NotImplementedError):
        backend.list_routes()


def test_desired_checks_next_hops_with_the_providers_rule():
    class Picky(Plain):
        @staticmethod
        def valid_target(target):
            return None if target.startswith("h-") else "%r is not a host id" % target

    routes = [{"destination": "10.0.1.0/24", "next_hop": "h-1"}, {"destination": "10.0.2.0/24", "next_hop": "x"}]
    with pytest.raises(PlanError, match=r"^routes\[1\]\.next_hop: 'x' is not a host id \(provider plain\)$"):
        Picky.desired(routes, "present")
    assert Picky.desired(routes, "absent")[1] == {"destination": "10.0.2.0/24", "target": "x", "target_type": "instance"}


# ------------------------------------------------------------------------------------------ retry policy
class Clock(object):
    """A fake clock: sleep() records and advances, never waits."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky(object):
    """Fails with the given exceptions, in order, then returns "ok"."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


class Busy(Exception):
    pass


class Broken(Exception):
    pass


def test_policy_retries_with_exponential_backoff_up_to_the_cap():
    clock = Clock()
    policy = rb.RetryPolicy(attempts=6, base=0.5, cap=3.0, sleep=clock.sleep)
    fn = Flaky(*[Busy()] * 5)
    assert policy.call(fn, lambda exc: isinstance(exc, Busy)) == "ok"
    assert fn.calls == 6 and clock.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0] and clock.now == 9.5


def test_policy_gives_up_after_its_attempts_and_says_how_many():
    clock = Clock()
    policy = rb.RetryPolicy(attempts=3, base=1, sleep=clock.sleep)
    seen = []

    def give_up(exc, attempts):
        seen.append((type(exc), attempts))
        return RouteBackendError("gave up after %d attempts" % attempts)

    with pytest.raises(RouteBackendError, match="gave up after 3 attempts") as err:
        policy.call(Flaky(*[Busy()] * 5), lambda exc: True, give_up)
    assert seen == [(Busy, 3)] and clock.sleeps == [1.0, 2.0]
    assert err.value.__cause__ is None and err.value.__suppress_context__  # the SDK's exception is not shown


def test_policy_does_not_retry_what_the_backend_does_not_classify_as_retryable():
    clock = Clock()
    fn = Flaky(Broken("no"))
    with pytest.raises(Broken):
        rb.RetryPolicy(attempts=5, sleep=clock.sleep).call(fn, lambda exc: isinstance(exc, Busy))
    assert fn.calls == 1 and clock.sleeps == []


def test_policy_limits_a_kind_of_error_to_fewer_attempts():
    clock = Clock()
    fn = Flaky(*[Busy()] * 9)
    with pytest.raises(Busy):
        rb.RetryPolicy(attempts=10, base=1, sleep=clock.sleep).call(fn, lambda exc: 4)  # e.g. connection errors
    assert fn.calls == 4 and clock.sleeps == [1.0, 2.0, 4.0]


def test_policy_runs_before_retry_after_each_wait():
    events = []
    policy = rb.RetryPolicy(attempts=4, base=1, sleep=lambda s: events.append("sleep %s" % s))
    fn = Flaky(Busy(), Busy())
    assert policy.call(fn, lambda exc: True, before_retry=lambda exc: events.append("settle")) == "ok"
    assert events == ["sleep 1.0", "settle", "sleep 2.0", "settle"]


def test_policy_full_jitter_as_botocore():
    policy = rb.RetryPolicy(attempts=10, base=1, cap=20, jitter=True, rand=lambda: 0.5)
    assert [policy.delay(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0]
    assert rb.RetryPolicy(attempts=0).attempts == 1


# ------------------------------------------------------------------------------------------ classification
class SdkError(Exception):
    def __init__(self, code=None, message="m", request_id=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = {"Message": message, "RequestId": request_id} if code else None


def test_alicloud_classifies_throttling_busy_and_network_errors():
    from ansible_collections.crosshost.docker.plugins.module_utils._route_alicloud import NETWORK_RETRIES, AlicloudRoutes

    backend = object.__new__(AlicloudRoutes)  # classification needs no client
    assert backend.retryable(SdkError("Throttling.User")) is True
    assert backend.retryable(SdkError("Throttling.Whatever")) is True
    assert backend.retryable(SdkError("ServiceUnavailable")) is True
    assert backend.retryable(SdkError("TaskConflict")) is False           # busy: only a write is retried
    assert backend.retryable(SdkError("TaskConflict"), write=True) is True
    assert backend.retryable(SdkError("QuotaExceeded"), write=True) is False
    assert backend.retryable(SdkError(None)) == NETWORK_RETRIES + 1       # connection errors: fewer attempts
    assert AlicloudRoutes._error(SdkError("Forbidden", "no", "req-1")) == ("Forbidden", "no", "req-1")


def test_aws_gives_botocore_the_policys_attempts():
    pytest.importorskip("boto3")
    from ansible_collections.crosshost.docker.plugins.module_utils._route_aws import AwsRoutes

    b = AwsRoutes(route_table_id="rtb-0123456789abcdef0", region="eu-west-1", access_key="AKID", secret_key="x",
                  endpoint_url="http://127.0.0.1:9", retries=7)
    assert b.retry.attempts == 7 and b.retry.jitter and b.retry.cap == 20.0
    assert b.ec2.meta.config.retries == {"mode": "standard", "total_max_attempts": 7}


# ------------------------------------------------------------------------------------------ linux persistence
class FakeHost(object):
    """What the linux backend asks of the AnsibleModule for its boot files."""

    def __init__(self, systemctl=True):
        self.bins = {"ip": "/usr/sbin/ip", "systemctl": "/usr/bin/systemctl" if systemctl else None}
        self.commands = []

    def get_bin_path(self, name):
        return self.bins.get(name)

    def run_command(self, argv, data=None):
        self.commands.append(" ".join(argv))
        return 0, "", ""

    def atomic_move(self, src, dest):
        os.rename(src, dest)


def linux_backend(tmp_path, monkeypatch, systemd, persist=True):
    from ansible_collections.crosshost.docker.plugins.module_utils import _route_linux as linux

    monkeypatch.setattr(linux, "UNIT_PATH", str(tmp_path / "systemd" / linux.UNIT_NAME))
    monkeypatch.setattr(linux._persist, "systemd_running", lambda which: systemd and which("systemctl") is not None)
    backend = object.__new__(linux.LinuxRoutes)  # no netlink socket: only the files are planned here
    rb.RouteBackend.__init__(backend)
    backend.table, backend.persist, backend.persist_dir = 254, persist, str(tmp_path / "etc")
    backend.module = FakeHost()
    return linux, backend


def test_linux_boot_script_and_unit_through_persist(tmp_path, monkeypatch):
    linux, backend = linux_backend(tmp_path, monkeypatch, systemd=True)
    request = rb.Request(desired=[], wanted=[("10.0.1.0/24", "192.168.1.11")], targets=["192.168.1.11"],
                         state="present", purge=True, managed_cidrs=MANAGED_CIDRS)
    extra = backend.plan_extra(request, None)
    script = str(tmp_path / "etc" / "routes.sh")
    assert extra and extra.first == []
    assert extra.result == {"persistence": {"mode": "systemd", "script": script, "unit": linux.UNIT_PATH}}
    assert extra.before == "# %s\n(absent)\n# %s\n(absent)\n" % (script, linux.UNIT_PATH)
    assert '"$IP" route replace 10.0.1.0/24 via 192.168.1.11 table 254 proto static || rc=1' in extra.after
    for change in extra.last:
        change()
    assert backend.module.commands == ["systemctl daemon-reload", "systemctl enable crosshost-routes.service"]
    assert os.stat(script).st_mode & 0o777 == 0o755
    with open(linux.UNIT_PATH) as f:
        assert f.read() == linux.systemd_unit(str(tmp_path / "etc"))
    assert not backend.plan_extra(request, None)  # nothing left to change

    backend.persist = False  # linux_persist=false: our script and, with the last one, the unit go
    extra = backend.plan_extra(request, None)
    assert extra.result["persistence"] == {"mode": "none", "script": None, "unit": None}
    for change in extra.last:
        change()
    assert not os.path.exists(script) and not os.path.exists(linux.UNIT_PATH)
    assert backend.module.commands[-1] == "systemctl disable crosshost-routes.service"


def test_linux_boot_script_without_systemd_and_without_ip(tmp_path, monkeypatch):
    _linux, backend = linux_backend(tmp_path, monkeypatch, systemd=False)
    request = rb.Request(desired=[], wanted=[("10.0.1.0/24", "192.168.1.11")], targets=[], state="present",
                         purge=True, managed_cidrs=MANAGED_CIDRS)
    assert backend.plan_extra(request, None).result["persistence"]["mode"] == "script"
    backend.module.bins["ip"] = None
    with pytest.raises(RouteBackendError, match=r"^linux_persist: the boot script needs the `ip` command"):
        backend.plan_extra(request, None)


MANAGED_CIDRS = ["10.0.0.0/16"]
