# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the dockerd binary adapter (_engine.Dockerd) and the runner (_runner) with fakes."""
from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils import _engine as engine
from ansible_collections.crosshost.docker.plugins.module_utils._runner import module_runner


class FakeRun(object):
    def __init__(self, answer=(0, "", "")):
        self.calls = []
        self.answer = answer

    def __call__(self, argv, data=None):
        self.calls.append((list(argv), data))
        return self.answer


def test_validate_feeds_stdin(tmp_path):
    stdin = tmp_path / "stdin"
    stdin.write_text("")
    run = FakeRun((1, "", "unable to configure the Docker daemon with file /dev/stdin: bad\n"))
    asked = []
    dockerd = engine.Dockerd(run, stdin=str(stdin))
    rc, output, config = dockerd.validate("/usr/sbin/dockerd", b"{}", lambda: asked.append(1))
    assert (rc, config) == (1, str(stdin))
    assert output == "unable to configure the Docker daemon with file /dev/stdin: bad\n"
    assert run.calls == [(["/usr/sbin/dockerd", "--validate", "--config-file", str(stdin)], b"{}")]
    assert asked == []  # no temporary directory is made when stdin works


def test_validate_without_stdin_writes_a_copy(tmp_path):
    run = FakeRun((0, "configuration OK\n", "note\n"))
    dockerd = engine.Dockerd(run, stdin=str(tmp_path / "no-stdin"))
    rc, output, config = dockerd.validate("dockerd", b'{"debug": true}', str(tmp_path))
    assert (rc, output, config) == (0, "note\n\nconfiguration OK\n", str(tmp_path / "daemon.json"))
    assert (tmp_path / "daemon.json").read_bytes() == b'{"debug": true}'
    assert run.calls == [(["dockerd", "--validate", "--config-file", str(tmp_path / "daemon.json")], None)]


def test_find_asks_the_binary_for_its_version(monkeypatch):
    monkeypatch.setattr(engine, "running_dockerd", lambda: (4242, "/opt/bin/dockerd"))
    run = FakeRun((0, "Docker version 28.5.2, build 1\n", ""))
    assert engine.Dockerd(run, lambda name: None).find() == ("/opt/bin/dockerd", (28, 5, 2), 4242)
    assert run.calls == [(["/opt/bin/dockerd", "--version"], None)]


def test_module_runner_passes_data_as_binary_only_when_given():
    class Module(object):
        calls = []

        def get_bin_path(self, name):
            return None

        def run_command(self, argv, **kwargs):
            self.calls.append((argv, kwargs))
            return 0, "", ""

    module = Module()
    run = module_runner(module)
    run(["a"])
    run(["b"], data=b"x")
    assert module.calls == [(["a"], {}), (["b"], {"data": b"x", "binary_data": True})]
    engine.Dockerd.for_module(module).run(["c"])
    assert module.calls[-1] == (["c"], {})
