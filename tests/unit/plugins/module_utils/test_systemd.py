# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the systemd adapter (plugins/module_utils/_systemd.py) with a fake runner."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _systemd
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, PersistError


class FakeRun(object):
    """run(argv, data=None) -> (rc, out, err); `answers` maps argv[1:] (a tuple) to (rc, out, err)."""

    def __init__(self, answers=None, default=(0, "", "")):
        self.calls = []
        self.answers = answers or {}
        self.default = default

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        return self.answers.get(tuple(argv[1:]), self.default)


def which(found):
    return lambda name: "/usr/bin/" + name if name in found else None


def test_paths_come_from_which_or_are_bare_names():
    assert _systemd.Systemd(FakeRun()).path("systemctl") == "systemctl"
    sd = _systemd.Systemd(FakeRun(), which(["systemctl"]))
    assert sd.path("systemctl") == "/usr/bin/systemctl"
    assert sd.path("journalctl") is None
    with pytest.raises(PersistError, match="journalctl is not installed"):
        sd.path("journalctl", required=True)


def test_show_parses_properties_and_is_empty_when_systemctl_fails():
    run = FakeRun({("show", "docker.service", "--property=NeedDaemonReload", "--property=DropInPaths"):
                   (0, "NeedDaemonReload=yes\nDropInPaths=/etc/systemd/system/docker.service.d/a.conf b=c\n", "")})
    sd = _systemd.Systemd(run, which(["systemctl"]))
    assert sd.show("docker.service", "NeedDaemonReload", "DropInPaths") == {
        "NeedDaemonReload": "yes", "DropInPaths": "/etc/systemd/system/docker.service.d/a.conf b=c"}
    assert run.calls == [["/usr/bin/systemctl", "show", "docker.service", "--property=NeedDaemonReload",
                          "--property=DropInPaths"]]
    assert _systemd.Systemd(FakeRun(default=(1, "X=1\n", "no bus"))).show("docker.service", "X") == {}


def test_works_and_is_active_are_the_exit_status():
    run = FakeRun({("show", "--property=Version"): (0, "Version=252\n", ""),
                   ("is-active", "--quiet", "systemd-networkd"): (3, "", "")})
    sd = _systemd.Systemd(run)
    assert sd.works() is True
    assert sd.is_active("systemd-networkd") is False
    assert run.calls == [["systemctl", "show", "--property=Version"],
                         ["systemctl", "is-active", "--quiet", "systemd-networkd"]]
    assert _systemd.Systemd(FakeRun(default=(1, "", "Failed to connect to bus"))).works() is False


def test_daemon_reload_enable_disable_raise_with_rc_and_stderr():
    run = FakeRun({("enable", "x.service"): (1, "", "Unit x.service not found.\n")})
    sd = _systemd.Systemd(run)
    sd.daemon_reload()
    sd.disable("x.service")
    with pytest.raises(CrosshostError) as err:
        sd.enable("x.service")
    assert isinstance(err.value, _systemd.SystemdError) and isinstance(err.value, PersistError)
    assert str(err.value) == "systemctl enable x.service failed: Unit x.service not found."
    assert err.value.details == {"rc": 1, "stderr": "Unit x.service not found.\n"}
    assert (err.value.rc, err.value.output, err.value.stderr) == (1, "Unit x.service not found.",
                                                                  "Unit x.service not found.\n")
    assert run.calls == [["systemctl", "daemon-reload"], ["systemctl", "disable", "x.service"],
                         ["systemctl", "enable", "x.service"]]


def test_reset_failed_does_not_check_its_status():
    run = FakeRun(default=(5, "", "Unit docker.service not loaded."))
    assert _systemd.Systemd(run).reset_failed("docker.service") == 5
    assert run.calls == [["systemctl", "reset-failed", "docker.service"]]


def test_journal_reads_the_unit_or_gives_empty_text():
    run = FakeRun(default=(0, "2026-01-01T00:00:00+0000 h dockerd[1]: failed to start daemon\n", ""))
    sd = _systemd.Systemd(run, which(["systemctl", "journalctl"]))
    assert "failed to start daemon" in sd.journal("docker", "2026-01-01 00:00:00")
    assert run.calls == [["/usr/bin/journalctl", "-u", "docker", "--since", "2026-01-01 00:00:00", "-n", "50",
                          "--no-pager", "-o", "short-iso"]]
    assert _systemd.Systemd(FakeRun(), which(["systemctl"])).journal("docker", "x") == ""  # no journalctl
    assert _systemd.Systemd(FakeRun(default=(1, "junk", "")), which(["journalctl"])).journal("docker", "x") == ""


def test_command_runs_any_service_command_with_text_outputs():
    run = FakeRun(default=(0, None, None))
    assert _systemd.Systemd(run).command(("/etc/init.d/docker", "restart")) == (0, "", "")
    assert run.calls == [["/etc/init.d/docker", "restart"]]


def test_running_needs_the_run_dir_and_systemctl(tmp_path):
    assert _systemd.running(which(["systemctl"]), str(tmp_path)) is True
    assert _systemd.running(which([]), str(tmp_path)) is False
    assert _systemd.running(which(["systemctl"]), str(tmp_path / "missing")) is False


def test_for_module_uses_run_command_without_data_and_get_bin_path():
    class Module(object):
        def __init__(self):
            self.calls = []

        def get_bin_path(self, name):
            return "/bin/" + name

        def run_command(self, argv, **kwargs):
            self.calls.append((argv, kwargs))
            return 0, "", ""

    module = Module()
    _systemd.Systemd.for_module(module).daemon_reload()
    assert module.calls == [(["/bin/systemctl", "daemon-reload"], {})]
