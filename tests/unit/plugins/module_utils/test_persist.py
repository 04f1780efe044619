"""Unit tests for our files and units (plugins/module_utils/_persist.py) on the one writer (_files.py)."""
import os
import stat

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _files
from ansible_collections.crosshost.docker.plugins.module_utils import _persist as persist
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, PersistError
from ansible_collections.crosshost.docker.tests.unit import helpers


FakeSystemctl = helpers.FakeRun  # records every call; FakeSystemctl(fail={action: stderr})


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_atomic_new_file_gets_mode_and_directories(tmp_path):
    path = str(tmp_path / "a" / "b" / "script.sh")
    _files.write_atomic(path, "echo hi\n", 0o755)
    assert open(path).read() == "echo hi\n"
    assert mode_of(path) == 0o755 and mode_of(str(tmp_path / "a")) == 0o755
    assert os.listdir(str(tmp_path / "a" / "b")) == ["script.sh"]  # no temp file left


def test_write_atomic_keeps_an_existing_files_mode(tmp_path):
    path = str(tmp_path / "f.conf")
    _files.write_atomic(path, b"one\n", 0o600)
    _files.write_atomic(path, "two\n", 0o644)
    assert open(path).read() == "two\n" and mode_of(path) == 0o600
    _files.write_atomic(path, "three\n", 0o640, keep_attrs=False, fsync=True)
    assert open(path).read() == "three\n" and mode_of(path) == 0o640


def test_write_atomic_leaves_no_temp_file_on_failure(tmp_path, monkeypatch):
    path = str(tmp_path / "f")

    def boom(src, dest):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(OSError):
        _files.write_atomic(path, "x")
    assert os.listdir(str(tmp_path)) == []


def test_write_text_with_a_module_uses_atomic_move(tmp_path):
    moved = []

    class Module(object):
        def atomic_move(self, src, dest):
            moved.append(dest)
            os.rename(src, dest)
    path = str(tmp_path / "x.sh")
    _files.write_text(Module(), path, "x\n", 0o755)
    assert moved == [path] and open(path).read() == "x\n" and mode_of(path) == 0o755


def test_oneshot_unit_text():
    text = persist.oneshot_unit("crosshost.docker thing", "/bin/sh /etc/x.sh",
                                (("After", "docker.service"), ("Wants", "docker.service")),
                                documentation=persist.DOCUMENTATION_URL)
    assert text == ("[Unit]\nDescription=crosshost.docker thing\nDocumentation=https://github.com/crosshost/docker\n"
                    "After=docker.service\nWants=docker.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                    "ExecStart=/bin/sh /etc/x.sh\n\n[Install]\nWantedBy=multi-user.target\n")


def test_systemd_running(tmp_path):
    assert persist.systemd_running(lambda name: "/bin/" + name, str(tmp_path)) is True
    assert persist.systemd_running(lambda name: None, str(tmp_path)) is False
    assert persist.systemd_running(lambda name: "/bin/" + name, str(tmp_path / "missing")) is False


def test_plan_then_apply_writes_enables_and_is_idempotent(tmp_path):
    script = str(tmp_path / "etc" / "our.sh")
    unit = str(tmp_path / "systemd" / "our-thing.service")
    want = {script: "#!/bin/sh\ntrue\n", unit: "[Unit]\n"}
    plan = persist.plan_files(want)
    assert bool(plan) and list(plan.changes) == [script, unit]
    assert plan.steps() == (["file %s" % script, "file %s" % unit], [])
    before, after = plan.diff()
    assert before == "# %s\n(absent)\n# %s\n(absent)\n" % (script, unit)
    assert after == "# %s\n#!/bin/sh\ntrue\n# %s\n[Unit]\n" % (script, unit)
    assert not os.path.exists(script)  # planning touches nothing

    run = FakeSystemctl()
    done = persist.apply_files(plan, run)
    assert run.calls == [["systemctl", "daemon-reload"], ["systemctl", "enable", "our-thing.service"]]
    assert "wrote %s" % script in done
    assert open(script).read() == want[script] and mode_of(script) == 0o755 and mode_of(unit) == 0o644

    again = persist.plan_files(want)
    assert not again and again.changes == {} and again.diff() == ("", "")
    run = FakeSystemctl()
    assert persist.apply_files(again, run) == [] and run.calls == []


def test_removal_disables_and_without_systemd_only_files(tmp_path):
    script = str(tmp_path / "our.sh")
    unit = str(tmp_path / "our-thing.service")
    persist.apply_files(persist.plan_files({script: "a\n", unit: "u\n"}), FakeSystemctl(), systemd=False)
    plan = persist.plan_files({script: None, unit: None})
    assert plan.steps() == ([], ["file %s" % script, "file %s" % unit])
    assert plan.diff()[1] == "# %s\n(absent)\n# %s\n(absent)\n" % (script, unit)
    run = FakeSystemctl()
    persist.apply_files(plan, run)
    assert not os.path.exists(script) and not os.path.exists(unit)
    assert run.calls == [["systemctl", "daemon-reload"], ["systemctl", "disable", "our-thing.service"]]

    run = FakeSystemctl()
    persist.apply_files(persist.plan_files({script: "b\n"}), run, systemd=False)
    assert run.calls == []  # a script alone never talks to systemd


def test_drop_in_reloads_only_and_reload_failure_is_an_error(tmp_path):
    drop_in = str(tmp_path / "docker.service.d" / "crosshost.conf")
    run = FakeSystemctl()
    persist.apply_files(persist.plan_files({drop_in: "[Service]\n"}), run)
    assert run.calls == [["systemctl", "daemon-reload"]]
    with pytest.raises(PersistError) as err:
        persist.apply_files(persist.plan_files({drop_in: "[Service]\nX=1\n"}),
                            FakeSystemctl(fail={"daemon-reload": "Access denied"}))
    assert "daemon-reload failed: Access denied" in str(err.value)


def test_enable_failure_is_a_persist_error(tmp_path):
    unit = str(tmp_path / "our-thing.service")
    with pytest.raises(CrosshostError) as err:
        persist.apply_files(persist.plan_files({unit: "u\n"}), FakeSystemctl(fail={"enable": "no such unit\n"}))
    assert isinstance(err.value, PersistError)
    assert str(err.value) == "systemctl enable our-thing.service failed: no such unit"
    assert err.value.details["rc"] == 1


def test_write_failure_is_a_persist_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PersistError) as err:
        persist.apply_files(persist.plan_files({str(blocker / "our.sh"): "x"}), FakeSystemctl())
    assert str(err.value).startswith("cannot write %s/our.sh: " % blocker)
    assert err.value.details["path"] == str(blocker / "our.sh")
