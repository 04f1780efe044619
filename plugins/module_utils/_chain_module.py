# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run shared by forward_rules and input_rules: chains of ours, planned, reported, applied, verified.

Both modules keep iptables chains of their own (plan format of ``_forward_rules``) and a boot script with,
where systemd runs the host, a oneshot unit. Their ``main()`` reads the same way:

    try:
        <validate the options>                     # pure planner (_forward_rules, _input_rules)
        run(module, planner)                       # adapters(module), iptables-save, planner(hosts, parsed)
    except CrosshostError as err:
        fail(module, err)

where the module's planner builds a ``Job``:

    job = Job(parsed, want, state, ours)           # pure: what to change in iptables
    job.persist(...)                               # pure: our files, from _persist.plan_files
    job.make_result(...)                           # what the module returns

and ``run`` reports it (warnings, diff; check mode stops there), applies it through the adapters
(iptables-restore, policy, files, systemd), verifies and exits. Errors are the collection's
(IptablesError, PersistError, PlanError); one raised while applying carries the job's result in its
details, as the module returned before.
"""

from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils import _forward_rules as fr
from ansible_collections.crosshost.docker.plugins.module_utils import _persist as persist
from ansible_collections.crosshost.docker.plugins.module_utils._diff import DiffTracker
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, IptablesError, fail
from ansible_collections.crosshost.docker.plugins.module_utils._iptables import Iptables
from ansible_collections.crosshost.docker.plugins.module_utils._runner import module_runner


class Adapters(object):
    """What a run reaches outside Python: ``iptables`` (an _iptables.Iptables), ``systemd`` (whether it
    runs the host), ``run``/``which`` (for other commands) and ``module`` (for the file writer's SELinux
    handling; None in tests)."""

    def __init__(self, run, which, iptables=None, systemd=None, module=None):
        self.run = run
        self.which = which
        self.iptables = iptables if iptables is not None else Iptables(run, which)
        self.systemd = persist.systemd_running(which) if systemd is None else systemd
        self.module = module


def adapters(module):
    """The adapters of a real run (unit tests replace this function)."""
    return Adapters(module_runner(module), module.get_bin_path, module=module)


# The options both modules share, after their own.
ARGUMENT_SPEC = dict(
    persist=dict(type="bool", default=True),
    persist_dir=dict(type="path", default="/etc/crosshost-docker"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main(module, validate, planner):
    """A chain module's main() after AnsibleModule: ``validate(params) -> args`` (pure, raises a
    PlanError), then ``planner(hosts, parsed, *args) -> Job`` through run(); every CrosshostError ends
    in the one ``fail``."""
    try:
        args = validate(module.params)
        run(module, lambda hosts, parsed: planner(hosts, parsed, *args))
    except CrosshostError as err:
        fail(module, err)


def run(module, planner):
    """The rest of main() once the options are valid: ``planner(hosts, parsed) -> Job``; report (check
    mode stops there), apply, exit. A failure while applying carries the job's result with it."""
    hosts = adapters(module)
    job = planner(hosts, hosts.iptables.save())
    if job.report(module):
        try:
            job.apply(hosts)
        except CrosshostError as err:
            err.details = dict(job.result, **err.details)
            raise
    module.exit_json(**job.result)


class Job(object):
    """One run: our chains planned against iptables-save, our boot files against the disk."""

    def __init__(self, parsed, want, state, ours=None):
        self.want = want
        self.state = state
        self.ours = ours
        self.cur = fr.current(parsed, ours)
        self.steps = fr.plan(self.cur, want, state)
        self.policy = None
        self.files = persist.plan_files({})
        self.persistence = dict(mode="none", script=None, unit=None)
        self.warnings = []
        self.diff_extra = ("", "")
        self.result = {}

    def set_policy(self, table, chain, now, target):
        """Also set `chain`'s policy to `target` (it is `now`); a step of its own."""
        if target != now:
            kind = "added" if self.state == "present" else "removed"
            self.steps[kind].append("%s %s policy %s (was %s)" % (table, chain, target, now))
            self.policy = (table, chain, target)

    def persist(self, wanted, systemd, script_path, script, unit_path, unit):
        """Our boot script (and unit, under systemd) when `wanted`, else neither."""
        self.files = persist.plan_files({script_path: script if wanted else None,
                                         unit_path: unit if wanted and systemd else None})
        added, removed = self.files.steps()
        self.steps["added"] += added
        self.steps["removed"] += removed
        if wanted:
            self.persistence = dict(mode="systemd" if systemd else "script", script=script_path,
                                    unit=unit_path if systemd else None)

    @property
    def changed(self):
        return bool(self.steps["added"] or self.steps["removed"])

    def after_view(self):
        if self.state != "present":
            return {"chains": {}, "jumps": []}
        return {"chains": self.want["chains"], "jumps": [j[:3] for j in self.want["jumps"]]}

    def make_result(self, check_mode, **extra):
        """The module's result: changed, added, removed, rules, then `extra`, then persistence."""
        self.result = dict(changed=self.changed, added=self.steps["added"], removed=self.steps["removed"],
                           rules=fr.describe(self.after_view()) if self.changed or check_mode else fr.describe(self.cur))
        self.result.update(extra)
        self.result["persistence"] = self.persistence
        return self.result

    def report(self, module):
        """Warnings, and the diff in diff mode. True when there is something to apply (not check mode)."""
        if module._diff:
            diff = DiffTracker("iptables (ours)").add(fr.describe(self.cur), fr.describe(self.after_view()))
            diff.add(*self.diff_extra).add(*self.files.diff())
            self.result["diff"] = diff.result()
        for text in self.warnings:
            module.warn(text)
        return self.changed and not module.check_mode

    def apply(self, hosts):
        """One iptables-restore transaction for the rules, then the policy, then the files; then check
        that iptables holds exactly the plan."""
        text = fr.restore_text(self.steps["restore"])
        if text:
            hosts.iptables.restore(text)
        if self.policy:
            hosts.iptables.policy(*self.policy)
        persist.apply_files(self.files, hosts.run, systemd=hosts.systemd, module=hosts.module)
        again = fr.plan(fr.current(hosts.iptables.save(), self.ours), self.want, self.state)
        if again["added"] or again["removed"]:
            raise IptablesError("iptables does not hold the planned rules after applying them: still to add %s, "
                                "to remove %s" % (again["added"], again["removed"]))
