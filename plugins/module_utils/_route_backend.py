# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every route_table provider implements, the registry of providers, and the one retry policy.

route_table's main() only talks to a ``RouteBackend``:

    cls = load(provider)                     # the registry: imports the provider (and its SDK) now
    backend = cls.from_options(options)      # options: cls.options(params) -> constructor keywords
    actual = backend.read(request)           # next hops and destinations checked, then the table
    plan = _routes.plan(...)                 # pure
    extra = backend.plan_extra(request, plan)    # changes besides the routes (AWS, linux)
    backend.apply(plan, extra, warn)         # unless check mode
    final = backend.read_back(request)       # raises unless the table holds the plan

A provider is one file ``_route_<name>.py`` with a ``RouteBackend`` subclass and a line in ``REGISTRY``.
It must implement ``list_routes``, ``create``, ``replace`` and ``delete`` (the shapes are described in
``_routes.py``) and count its API calls in ``reads`` / ``writes``; everything else has a default here.

Errors: every failure a backend explains is a ``RouteBackendError`` (``_errors``), or a subclass of it
(``AwsRouteError``, ``LinuxRouteError``, ``AlicloudRouteError``).

Retries: ``RetryPolicy`` is the one policy (how many attempts, how long to wait); which errors are
worth another attempt is the backend's ``retryable(exc)`` (throttling, "busy", 5xx, connection
errors...). The AWS backend leaves both to botocore's ``standard`` mode, which gets its number of
attempts from the policy.
"""

from __future__ import annotations

import inspect
import os
import random
import time
from collections import namedtuple

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.crosshost.docker.plugins.module_utils import _routes
from ansible_collections.crosshost.docker.plugins.module_utils._errors import (
    CrosshostError,
    PlanError,
    RouteBackendError,
)

#: What the module asks of the table (see route_table): the desired routes as given to the planner,
#: the validated (destination, next hop) pairs, the next hops to check, and the planner's options.
Request = namedtuple("Request", "desired wanted targets state purge managed_cidrs")


# ------------------------------------------------------------------------------------------ retries
class RetryPolicy(object):
    """How often and how long one call is tried again: ``attempts`` in total, waits doubling from
    ``base`` seconds up to ``cap`` (with ``jitter``: a random part of it, "full jitter").

    Which errors are retried is not the policy's business: ``call()`` asks ``retryable(exc)``.
    ``sleep`` and ``rand`` are replaceable (tests use a fake clock).
    """

    def __init__(self, attempts=1, base=1.0, cap=30.0, jitter=False, sleep=time.sleep, rand=random.random):
        self.attempts = max(1, int(attempts))
        self.base = float(base)
        self.cap = float(cap)
        self.jitter = jitter
        self.sleep = sleep
        self.rand = rand

    def delay(self, retry):
        """The wait before retry number `retry` (0 for the first)."""
        if self.jitter:
            return min(self.cap, self.rand() * self.base * 2 ** retry)
        return min(self.cap, self.base * 2 ** retry)

    def call(self, fn, retryable, give_up=None, before_retry=None):
        """``fn()`` until it returns a value.

        When it raises, ``retryable(exc)`` decides: False (raise now), True (try again, up to
        ``attempts`` in all), or a number (at most that many attempts for this kind of error).
        ``before_retry(exc)`` runs after the wait, before the next attempt. When giving up,
        ``give_up(exc, attempts_made)`` returns the exception to raise instead of ``exc``; it is raised
        without its cause (an SDK's exception may carry the signed request).
        """
        attempt = 1
        while True:
            try:
                return fn()
            except Exception as exc:  # pylint: disable=broad-exception-caught
                limit = retryable(exc)
                limit = self.attempts if limit is True else min(int(limit or 0), self.attempts)
                if attempt < limit:
                    self.sleep(self.delay(attempt - 1))
                    if before_retry is not None:
                        before_retry(exc)
                    attempt += 1
                    continue
                if give_up is None:
                    raise
                err = give_up(exc, attempt)
                raise err from None


# ------------------------------------------------------------------------------------------ interface
class ExtraChanges(object):
    """Changes a backend makes besides the routes, planned with them (nothing, by default).

    ``first``: [(what, callable)] applied before the routes and reported in "Done before the failure"
    (AWS: source/dest checks off, which the routes need). ``last``: callables applied after the routes
    (linux: the boot script and its unit). ``result``: fields of the module's result. ``before`` and
    ``after``: diff text, appended to the table's.
    """

    def __init__(self, first=(), last=(), result=None, before="", after=""):
        self.first = list(first)
        self.last = list(last)
        self.result = dict(result or {})
        self.before = before
        self.after = after

    def __bool__(self):
        return bool(self.first or self.last)


class RouteBackend(object):
    """One route table of one provider. Subclasses set the class attributes and implement
    ``list_routes``, ``create``, ``replace`` and ``delete``; the rest has defaults."""

    #: The provider's name (route_table's ``provider``).
    name = None
    #: For missing_required_lib(): the pip package(s) the provider needs, and the ImportError when
    #: they are missing (None when they are there).
    requirement = None
    import_error = None
    #: Credentials and region: {option: (environment variables, first set wins)}. With "region" in
    #: it, a region is required.
    credentials = {}

    def __init__(self, retry=None):
        self.reads = 0
        self.writes = 0
        self.warnings = []
        self.last_replace_mode = None  # "recreate" when the last replace() deleted and created again
        self.retry = retry or RetryPolicy(1)

    # ------------------------------------------------------------------------ options (class level)
    @classmethod
    def options(cls, params, environ=None):
        """The backend's options from route_table's parameters: the common ones, credentials and
        region from the environment where not given (``credentials``). Raises PlanError when the
        region is required and missing."""
        environ = os.environ if environ is None else environ
        opts = dict(route_table_id=params.get("route_table_id"), region=params.get("region"),
                    access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                    session_token=params.get("session_token"), endpoint_url=params.get("endpoint_url"),
                    retries=params.get("retries"), backoff=params.get("backoff"))
        for key, names in cls.credentials.items():
            if not opts.get(key):
                opts[key] = next((environ[n] for n in names if environ.get(n)), None)
        if "region" in cls.credentials and not opts["region"]:
            raise PlanError("region: required for provider %s (or set %s)"
                            % (cls.name, " / ".join(cls.credentials["region"])))
        return opts

    @classmethod
    def from_options(cls, options):
        """An instance made with the options its constructor accepts (all of them with **kwargs)."""
        try:
            params = inspect.signature(cls.__init__).parameters
            if not any(v.kind == v.VAR_KEYWORD for v in params.values()):
                options = dict((k, v) for k, v in options.items() if k in params)
        except (TypeError, ValueError):
            pass
        return cls(**options)

    # ------------------------------------------------------------------------ input (pure)
    @staticmethod
    def valid_target(target):  # pylint: disable=unused-argument
        """None when `target` can be a next hop of this provider, else what is wrong with it."""
        return None

    @staticmethod
    def target_type(target):  # pylint: disable=unused-argument
        """The kind of next hop `target` names (``instance`` or ``eni``, see _routes)."""
        return "instance"

    @classmethod
    def desired(cls, routes, state):
        """route_table's ``routes`` as the planner's desired routes; a next hop this provider cannot
        use is a PlanError naming the route."""
        desired = [{"destination": r["destination"], "target": r.get("next_hop"),
                    "target_type": cls.target_type(r.get("next_hop"))} for r in routes]
        for i, r in enumerate(desired):
            if state == "present" and r["target"]:
                problem = cls.valid_target(r["target"])
                if problem:
                    raise PlanError("routes[%d].next_hop: %s (provider %s)" % (i, problem, cls.name))
        return desired

    # ------------------------------------------------------------------------ reading
    def check_targets(self, targets):  # pylint: disable=unused-argument
        """Look the next hops up before anything is written: ({target: what was learned}, [problems])."""
        return {}, []

    def check_destinations(self, wanted):  # pylint: disable=unused-argument
        """Problems with the desired destinations that only the provider knows (e.g. a cloud's
        reserved ranges), before anything is written: [problem]."""
        return []

    def list_routes(self):
        """The whole table: [{destination, target, target_type, state, ...}] (see _routes)."""
        raise NotImplementedError

    # How to raise the quota, for the message when a plan would exceed it (or empty).
    quota_fix = ""

    def quota(self):
        """The table's maximum number of routes, or None."""
        return None

    def read(self, request):
        """The table, after checking the next hops and destinations the plan relies on (problems
        stop the run before anything is written)."""
        problems = []
        if request.targets:
            problems += self.check_targets(request.targets)[1]
        if request.state == "present":
            problems += self.check_destinations(request.wanted)
        if problems:
            raise RouteBackendError("routes that cannot be used (nothing was changed): %s" % "; ".join(problems))
        return self.list_routes()

    # ------------------------------------------------------------------------ writing
    def create(self, destination, target):
        raise NotImplementedError

    def replace(self, destination, target):
        raise NotImplementedError

    def delete(self, destination):
        raise NotImplementedError

    def plan_extra(self, request, plan):  # pylint: disable=unused-argument
        """Changes besides the routes that this run makes (ExtraChanges): none by default. The
        persistence hook (linux) and per-next-hop settings (AWS) live here."""
        return ExtraChanges()

    def apply(self, plan, extra=None, warn=None):
        """Apply the plan: ``extra.first``, then deletions (they free quota), replacements, creations,
        then ``extra.last``. A failure among the first two says what was done before it."""
        extra = extra or ExtraChanges()
        done = []
        try:
            for what, change in extra.first:
                change()
                done.append(what)
            for action, step in route_steps(plan):
                if action == "delete":
                    self.delete(step["destination"])
                else:
                    getattr(self, action)(step["destination"], step["target"])
                done.append("%s %s -> %s" % (action, step["destination"], step["target"]))
                if action == "replace" and self.last_replace_mode == "recreate" and warn is not None:
                    warn("%s: the API could not change the next hop in place, so the route was deleted and created "
                         "again (a short gap for that destination)" % step["destination"])
        except CrosshostError as err:
            raise RouteBackendError("%s. Done before the failure: %s" % (err, "; ".join(done) or "nothing"),
                                    **err.details) from err
        for change in extra.last:
            change()
        return done

    def read_back(self, request):
        """The table after applying; raises unless it holds the plan."""
        try:
            final = self.list_routes()
            again = _routes.plan(request.desired, final, request.managed_cidrs, request.purge, request.state, None)
        except CrosshostError as err:
            raise RouteBackendError("reading the table back after applying failed: %s" % err) from err
        if again["create"] or again["replace"] or again["delete"]:
            raise RouteBackendError(
                "the route table does not hold the planned routes after applying them: still to create %s, replace "
                "%s, delete %s" % (again["create"], again["replace"], again["delete"]), routes=_routes.public(final))
        return final

    # ------------------------------------------------------------------------ retries
    def retryable(self, exc):  # pylint: disable=unused-argument
        """Whether another attempt may succeed after `exc`: False, True, or the most attempts for this
        kind of error (see RetryPolicy.call). By default nothing is retried."""
        return False


def route_steps(plan):
    """The plan's route writes in the order they are applied: deletions, replacements, creations."""
    return [("delete", d) for d in plan["delete"]] + [("replace", r) for r in plan["replace"]] + \
        [("create", c) for c in plan["create"]]


# ------------------------------------------------------------------------------------------ registry
# Each loader imports its provider's file (and so its SDK) only when that provider is used. The
# imports are written out, so that Ansible's module packaging finds and ships the files.
def _linux():
    from ansible_collections.crosshost.docker.plugins.module_utils._route_linux import LinuxRoutes
    return LinuxRoutes


def _aws():
    from ansible_collections.crosshost.docker.plugins.module_utils._route_aws import AwsRoutes
    return AwsRoutes


def _alicloud():
    from ansible_collections.crosshost.docker.plugins.module_utils._route_alicloud import AlicloudRoutes
    return AlicloudRoutes


REGISTRY = {"linux": _linux, "aws": _aws, "alicloud": _alicloud}


def load(provider, required=True):
    """The backend class of `provider`, its file imported now. With `required`, a missing SDK is a
    RouteBackendError with missing_required_lib()'s message (and the ImportError in ``exception``)."""
    loader = REGISTRY.get(provider)
    if loader is None:
        raise PlanError("provider: %r is not one of %s" % (provider, ", ".join(REGISTRY)))
    try:
        cls = loader()
    except (ImportError, AttributeError) as e:
        raise RouteBackendError("provider %s is not available in this version of crosshost.docker "
                                "(plugins/module_utils/_route_%s.py is missing or broken: %s)" % (provider, provider, e))
    if required and cls.import_error is not None:
        raise RouteBackendError(missing_required_lib(cls.requirement), exception=str(cls.import_error))
    return cls


def credentials_env():
    """{provider: its credentials spec} for every registered provider that has one (imports them all)."""
    specs = {}
    for name in REGISTRY:
        cls = load(name, required=False)
        if cls.credentials:
            specs[name] = cls.credentials
    return specs
