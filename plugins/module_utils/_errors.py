# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error hierarchy.

Every error that our module_utils raise on purpose is a ``CrosshostError``; its ``str()`` is the
message the user reads (it names the field or the system and says what to do), and ``details`` holds
extra fields for the module's result (``rc``, ``stderr``, ``pending``, ...).

    CrosshostError
    |-- PlanError(ValueError)   bad input, found by a planner before anything is touched
    |                           (SubnetPlanError, MacvlanPlanError, ForwardRulesError, ...)
    `-- BackendError            an outside system refused or failed while we read or changed it
        |-- IptablesError       iptables, iptables-save, iptables-restore (_iptables)
        |-- PersistError        our files and systemd units (_persist, _files)
        |-- DockerApiError      dockerd's API (_docker_api)
        |-- LinkError           netlink (_links)
        `-- RouteBackendError   a route table provider (_route_linux, _route_aws, _route_alicloud)

A module's ``main()`` has one ``except CrosshostError as err: fail(module, err)``. Pure Python, no
Ansible imports.
"""

from __future__ import annotations


class CrosshostError(Exception):
    """Base of every error the collection raises on purpose."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details

    @property
    def msg(self):
        return str(self)


class PlanError(CrosshostError, ValueError):
    """Bad input, found by a planner before anything is touched. The message starts with the field."""


class BackendError(CrosshostError):
    """An outside system (iptables, systemd, dockerd, netlink, a cloud API) refused or failed."""


class IptablesError(BackendError):
    """iptables, iptables-save or iptables-restore failed."""


class PersistError(BackendError):
    """One of our files or systemd units could not be written, removed, reloaded or enabled."""


class DockerApiError(BackendError):
    """dockerd's API could not be reached or refused a request."""


class RouteBackendError(BackendError):
    """A route table provider failed. ``retryable`` says whether trying again may succeed."""

    def __init__(self, msg, retryable=False, **details):
        super().__init__(msg, **details)
        self.retryable = retryable


def fail(module, err, **extra):
    """``module.fail_json`` for a CrosshostError: its message, its details, then ``extra``."""
    result = dict(err.details) if isinstance(err, CrosshostError) else {}
    result.update(extra)
    module.fail_json(msg=str(err), **result)
