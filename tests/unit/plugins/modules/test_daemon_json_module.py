# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module-level tests of crosshost.docker.daemon_json (ansible-core 2.19: patch_module_args).

Files live in a temporary directory. The engine lookups are replaced: the Docker API answer
(``api_engine_version``) and the dockerd binary (``find_dockerd``), which is a shell script that
behaves like ``dockerd --validate`` (it refuses a key named no-such-key, as dockerd 23+ does) and logs
its calls. Nothing on the machine is read or changed.
"""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

from ansible_collections.crosshost.docker.plugins.modules import daemon_json as mod
from ansible_collections.crosshost.docker.tests.unit import helpers

SEED_004 = '{\n  "registry-mirrors": ["https://m"],\n  # "data-root":"/x",\n   "cluster-store": "consul://10.0.0.101:8500"\n}\n'


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """engine(version, api=True): the host runs dockerd `version`; returns the log of dockerd calls."""
    log = tmp_path / "dockerd.log"
    dockerd = tmp_path / "dockerd"
    dockerd.write_text("""#!/bin/sh
echo "$*" >> '%s'
if [ "$1" = --validate ]; then
  if grep -q no-such-key "$3"; then
    echo "unable to configure the Docker daemon with file $3: the following directives don't match any configuration option: no-such-key" >&2
    exit 1
  fi
  echo "configuration OK" >&2
  exit 0
fi
exit 2
""" % log)
    dockerd.chmod(0o755)

    def setup(version, api=True):
        parsed = mod.parse_version(version)
        monkeypatch.setattr(mod, "api_engine_version", lambda docker_host: (version if api else None))
        monkeypatch.setattr(mod, "find_dockerd", lambda run_command, which: (
            (str(dockerd), parsed, 4242) if version else (None, None, None)))
        return log

    return setup


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


def run(capsys, args, check=False, diff=False):
    return helpers.run_module(capsys, mod.main, args, check=check, diff=diff)


def listing(directory):
    return sorted(os.listdir(directory))


def test_creates_directories_and_file_with_fixed_modes(tmp_path, capsys, engine):
    log = engine("28.5.2+dfsg4")
    path = tmp_path / "etc" / "docker" / "daemon.json"
    old_umask = os.umask(0o077)
    try:
        result = run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24"}})
    finally:
        os.umask(old_umask)
    assert result["_rc"] == 0 and result["changed"] is True, result
    assert path.read_text() == '{\n  "bip": "10.1.0.1/24"\n}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "etc" / "docker").stat().st_mode) == 0o755
    assert result["changed_keys"] == ["bip"] and result["restart_required"] is True
    assert result["validated"] is True
    assert result["validation"] == "dockerd 28.5.2 --validate: configuration OK"
    assert result["engine_version"] == "28.5.2+dfsg4" and result["engine_version_source"] == "docker api"
    assert calls(log) == ["--validate --config-file /dev/stdin"]
    assert listing(path.parent) == ["daemon.json"]  # no temporary file left


def test_keeps_other_keys_order_mode_and_inode_when_nothing_changes(tmp_path, capsys, engine):
    log = engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text('{"log-level": "warn", "bip": "10.1.0.1/24"}')
    path.chmod(0o600)
    before = path.stat()
    result = run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24"}})
    assert result["changed"] is False and result["changed_keys"] == []
    assert result["validation"] == "skipped: nothing to write" and calls(log) == []
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert path.read_text() == '{"log-level": "warn", "bip": "10.1.0.1/24"}'


def test_change_keeps_mode_and_unrelated_keys(tmp_path, capsys, engine):
    engine("26.1.5")
    path = tmp_path / "daemon.json"
    path.write_text('{\n  "log-level": "warn",\n  "bip": "10.1.0.1/24"\n}\n')
    path.chmod(0o600)
    result = run(capsys, {"path": str(path), "set": {"bip": "10.2.0.1/24", "mtu": 1450}})
    assert result["changed"] is True
    assert path.read_text() == '{\n  "log-level": "warn",\n  "bip": "10.2.0.1/24",\n  "mtu": 1450\n}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_change_keeps_owner(tmp_path, capsys, engine):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text("{}\n")
    os.chown(path, 65534, 65534)
    assert run(capsys, {"path": str(path), "set": {"debug": True}})["changed"] is True
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)


def test_check_mode_writes_nothing_and_diff_shows_both_texts(tmp_path, capsys, engine):
    log = engine("28.5.2")
    path = tmp_path / "docker" / "daemon.json"
    result = run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24"}}, check=True, diff=True)
    assert result["changed"] is True and not path.parent.exists()
    assert result["diff"] == {"before": "", "after": '{\n  "bip": "10.1.0.1/24"\n}\n',
                              "before_header": str(path), "after_header": str(path)}
    assert result["validated"] is True and len(calls(log)) == 1  # validated without writing anything


def test_invalid_json_fails_with_line_column_and_the_file_is_untouched(tmp_path, capsys, engine):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_bytes(SEED_004.encode())
    before = path.stat()
    for args in ({"set": {"bip": "10.1.0.1/24"}}, {"purge": True}):
        result = run(capsys, dict(args, path=str(path)))
        assert result["_rc"] == 1 and result["failed"] is True
        assert result["msg"] == (
            "%s is not valid JSON: Expecting property name enclosed in double quotes at line 3, column 3 "
            "(hint: comments are not allowed in daemon.json: delete the lines starting with '#'); "
            "the file was not changed" % path)
        assert (result["line"], result["column"]) == (3, 3)
    assert path.read_bytes() == SEED_004.encode()
    assert path.stat().st_mtime_ns == before.st_mtime_ns and listing(tmp_path) == ["daemon.json", "dockerd"]


def test_validation_errors_fail_before_anything_is_written(tmp_path, capsys, engine):
    log = engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text('{"log-level": "warn"}\n')
    result = run(capsys, {"path": str(path), "set": {"bip": "10.0.1.0/24", "mtu": "1500"}})
    assert result["failed"] is True
    assert result["msg"].startswith("%s was not changed: bip '10.0.1.0/24' is a network address" % path)
    assert len(result["errors"]) == 2 and result["errors"][1].startswith("mtu must be an integer")
    assert calls(log) == []  # our own checks come first
    assert path.read_text() == '{"log-level": "warn"}\n'


def test_dockerd_validate_refusal_fails_and_names_the_real_file(tmp_path, capsys, engine):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text('{"log-level": "warn"}\n')
    result = run(capsys, {"path": str(path), "set": {"no-such-key": 1}})
    assert result["failed"] is True and result["validated"] is False
    assert result["msg"] == (
        "dockerd 28.5.2 --validate refused the new content, %s was not changed: unable to configure the Docker "
        "daemon with file %s (proposed content): the following directives don't match any configuration option: "
        "no-such-key" % (path, path))
    assert path.read_text() == '{"log-level": "warn"}\n'


def test_validate_false_skips_dockerd(tmp_path, capsys, engine):
    log = engine("28.5.2")
    result = run(capsys, {"path": str(tmp_path / "d.json"), "set": {"no-such-key": 1}, "validate": False})
    assert result["changed"] is True and result["validation"] == "skipped: validate=false" and calls(log) == []


def test_old_engine_skips_validate_and_gates_keys(tmp_path, capsys, engine):
    log = engine("20.10.24+dfsg1")
    path = tmp_path / "daemon.json"
    result = run(capsys, {"path": str(path), "set": {"cluster-store": "etcd://192.168.1.5:2379"}})
    assert result["changed"] is True and calls(log) == []
    assert result["validation"] == "skipped: Docker 20.10.24 has no dockerd --validate (added in 23.0)"
    result = run(capsys, {"path": str(path), "set": {"allow-direct-routing": True}})
    assert result["failed"] is True
    assert result["msg"] == "%s was not changed: allow-direct-routing needs Docker 28.0 or later; this host runs 20.10.24" % path


def test_engine_from_the_dockerd_binary_and_from_the_option(tmp_path, capsys, engine):
    engine("26.1.5", api=False)
    result = run(capsys, {"path": str(tmp_path / "d.json"), "set": {"debug": True}})
    assert (result["engine_version"], result["engine_version_source"]) == ("26.1.5", "dockerd --version")
    result = run(capsys, {"path": str(tmp_path / "d.json"), "set": {"cluster-store": "etcd://x:2379"},
                          "engine_version": "28.0.1"})
    assert result["failed"] is True and "this host runs 28.0.1" in result["msg"]
    result = run(capsys, {"path": str(tmp_path / "d.json"), "engine_version": "latest"})
    assert result["failed"] is True and "engine_version 'latest' is not a version" in result["msg"]


def test_unknown_engine_warns_and_skips_validate(tmp_path, capsys, engine):
    engine(None)
    result = run(capsys, {"path": str(tmp_path / "d.json"), "set": {"cluster-store": "etcd://x:2379"}})
    assert result["changed"] is True and result["engine_version"] is None
    assert result["validation"].startswith("skipped: the engine version is unknown")
    assert any("engine version is unknown" in w for w in result["_warnings"])


def test_backup_file_has_the_old_content(tmp_path, capsys, engine):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text('{"mtu": 1500}\n')
    result = run(capsys, {"path": str(path), "set": {"mtu": 1450}, "backup": True})
    backup = result["backup_file"]
    assert re.match(re.escape(str(path)) + r"\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$", backup), backup
    with open(backup) as handle:
        assert handle.read() == '{"mtu": 1500}\n'
    assert json.loads(path.read_text()) == {"mtu": 1450}
    again = run(capsys, {"path": str(path), "set": {"mtu": 1450}, "backup": True})
    assert again["changed"] is False and "backup_file" not in again


def test_mode_option(tmp_path, capsys, engine):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text('{"mtu": 1500}\n')
    path.chmod(0o644)
    result = run(capsys, {"path": str(path), "set": {"mtu": 1500}, "mode": "0640"}, check=True)
    assert result["changed"] is True and stat.S_IMODE(path.stat().st_mode) == 0o644
    result = run(capsys, {"path": str(path), "set": {"mtu": 1500}, "mode": "0640"})
    assert result["changed"] is True and result["changed_keys"] == [] and result["restart_required"] is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert run(capsys, {"path": str(path), "mode": 0o640})["changed"] is False
    assert run(capsys, {"path": str(path), "mode": "rw-r--r--"})["msg"].startswith("mode must be an octal number")


def test_indent_option_and_kept_style(tmp_path, capsys, engine):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text('{\n\t"mtu": 1500\n}\n')
    run(capsys, {"path": str(path), "set": {"debug": True}})
    assert path.read_text() == '{\n\t"mtu": 1500,\n\t"debug": true\n}\n'
    run(capsys, {"path": str(path), "set": {"debug": False}, "indent": 4})
    assert path.read_text() == '{\n    "mtu": 1500,\n    "debug": false\n}\n'


def test_remove_with_purge_is_refused(tmp_path, capsys, engine):
    engine("28.5.2")
    result = run(capsys, {"path": str(tmp_path / "d.json"), "purge": True, "remove": ["bip"]})
    assert result["failed"] is True and "remove cannot be combined with purge" in result["msg"]


def test_a_directory_at_path_is_refused(tmp_path, capsys, engine):
    engine("28.5.2")
    result = run(capsys, {"path": str(tmp_path), "set": {"debug": True}})
    assert result["failed"] is True and result["msg"] == "%s is not a regular file" % tmp_path


def test_a_symlink_is_followed_and_kept(tmp_path, capsys, engine):
    engine("28.5.2")
    real = tmp_path / "real.json"
    real.write_text('{"mtu": 1500}\n')
    link = tmp_path / "daemon.json"
    link.symlink_to(real)
    assert run(capsys, {"path": str(link), "set": {"mtu": 1450}})["changed"] is True
    assert link.is_symlink() and json.loads(real.read_text()) == {"mtu": 1450}


# ------------------------------------------------------------------ original / restore


def test_record_then_restore_gives_the_original_bytes_back(tmp_path, capsys, engine):
    engine("28.5.2")
    path, record = tmp_path / "daemon.json", tmp_path / "crosshost" / "direct_route.daemon.json"
    original = '{\n    "log-level": "warn",\n    "ip-masq": true\n}\n'  # 4-space indent: rewritten with 4 too
    path.write_text(original)
    first = run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24", "ip-masq": False}, "original": str(record),
                         "original_extra": {"bridge": "172.17.0.1/16"}})
    assert first["changed"] is True and first["recorded_keys"] == ["bip", "ip-masq"]
    saved = json.loads(record.read_text())
    assert saved["text"] == original
    assert saved["keys"] == {"bip": {"present": False}, "ip-masq": {"present": True, "value": True}}
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    # a later change of a recorded key keeps the first original; a new key is added
    second = run(capsys, {"path": str(path), "set": {"bip": "10.2.0.1/24", "mtu": 1450}, "original": str(record),
                          "original_extra": {"bridge": "10.1.0.1/24"}})
    assert second["recorded_keys"] == ["mtu"]
    assert json.loads(record.read_text())["keys"]["bip"] == {"present": False}
    assert run(capsys, {"path": str(path), "set": {"mtu": 1450}, "original": str(record)})["changed"] is False

    check = run(capsys, {"path": str(path), "original": str(record), "restore": True}, check=True, diff=True)
    assert check["changed"] is True and check["byte_identical"] is True and record.exists()
    assert check["original_extra"] == {"bridge": "172.17.0.1/16"}  # from the first record only
    assert check["diff"]["after"] == original and path.read_text() != original
    restored = run(capsys, {"path": str(path), "original": str(record), "restore": True})
    assert restored["changed"] is True and restored["byte_identical"] is True
    assert restored["restored_keys"] == ["bip", "ip-masq", "mtu"] and restored["restart_required"] is True
    assert path.read_bytes() == original.encode() and not record.exists()
    again = run(capsys, {"path": str(path), "original": str(record), "restore": True})
    assert again["changed"] is False and again["restored_keys"] == []


def test_restore_keeps_keys_others_changed_meanwhile(tmp_path, capsys, engine):
    engine("28.5.2")
    path, record = tmp_path / "daemon.json", tmp_path / "record.json"
    path.write_text('{"log-level": "warn"}')
    run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24"}, "original": str(record)})
    config = json.loads(path.read_text())
    config.update({"log-level": "debug", "mtu": 1400})  # someone else's changes
    path.write_text(json.dumps(config, indent=2) + "\n")
    result = run(capsys, {"path": str(path), "original": str(record), "restore": True})
    assert result["changed"] is True and result["byte_identical"] is False
    assert json.loads(path.read_text()) == {"log-level": "debug", "mtu": 1400}
    assert result["changed_keys"] == ["bip"] and not record.exists()


def test_restore_deletes_a_file_that_did_not_exist(tmp_path, capsys, engine):
    engine("28.5.2")
    path, record = tmp_path / "docker" / "daemon.json", tmp_path / "record.json"
    run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24", "ip-masq": False}, "original": str(record)})
    assert path.exists() and json.loads(record.read_text())["text"] is None
    result = run(capsys, {"path": str(path), "original": str(record), "restore": True, "backup": True})
    assert result["changed"] is True and result["byte_identical"] is True
    assert not path.exists() and not record.exists()
    assert os.path.exists(result["backup_file"])


def test_nothing_changes_nothing_is_recorded_and_check_mode_records_nothing(tmp_path, capsys, engine):
    engine("28.5.2")
    path, record = tmp_path / "daemon.json", tmp_path / "record.json"
    path.write_text('{"bip": "10.1.0.1/24"}')
    assert run(capsys, {"path": str(path), "set": {"bip": "10.1.0.1/24"}, "original": str(record)})["changed"] is False
    result = run(capsys, {"path": str(path), "set": {"mtu": 1450}, "original": str(record)}, check=True)
    assert result["changed"] is True and result["recorded_keys"] == []
    assert not record.exists() and path.read_text() == '{"bip": "10.1.0.1/24"}'


@pytest.mark.parametrize("args, words", [
    ({"restore": True}, "restore=true needs original"),
    ({"restore": True, "original": "R", "set": {"bip": "10.1.0.1/24"}}, "cannot be combined with set"),
    ({"restore": True, "original": "R", "purge": True}, "cannot be combined with purge"),
])
def test_restore_refuses_incomplete_or_mixed_requests(tmp_path, capsys, engine, args, words):
    engine("28.5.2")
    path = tmp_path / "daemon.json"
    path.write_text("{}")
    args = dict(args, path=str(path))
    if "original" in args:
        args["original"] = str(tmp_path / "record.json")
    result = run(capsys, args)
    assert result["failed"] is True and words in result["msg"], result
    assert path.read_text() == "{}"


def test_a_damaged_record_is_refused_before_anything_changes(tmp_path, capsys, engine):
    engine("28.5.2")
    path, record = tmp_path / "daemon.json", tmp_path / "record.json"
    path.write_text('{"bip": "10.1.0.1/24"}')
    record.write_text("not json")
    result = run(capsys, {"path": str(path), "original": str(record), "restore": True})
    assert result["failed"] is True and str(record) in result["msg"] and "backup" in result["msg"]
    assert path.read_text() == '{"bip": "10.1.0.1/24"}' and record.read_text() == "not json"
