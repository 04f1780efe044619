# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The consul_settings and consul_plan filters: local files on the control node (release zip
hashed and compared, TLS files), AnsibleFilterError with the module_utils message, docs."""

from __future__ import annotations

import hashlib
import inspect
import os

import pytest
import yaml

from ansible_collections.crosshost.docker.plugins.module_utils._consul_plan import check_settings, plan_cluster
from ansible_collections.crosshost.docker.tests.unit import helpers

FILTER_PLUGIN = "consul_plan"  # the conftest fixtures loaded and filters
KEY = "Y3Jvc3Nob3N0LXRlc3QtZ29zc2lwLWtleS0zMmJ5dGU="
BASE = dict(helpers.CONSUL_SETTINGS, consul_encrypt=KEY)


def test_registered_names(filters, loaded):
    assert filters == {"consul_settings": loaded[0].consul_settings, "consul_plan": loaded[0].consul_plan}


def test_local_zip_is_hashed_and_compared(filters, loaded, tmp_path):
    zip_path = tmp_path / "consul_1.20.2_linux_amd64.zip"
    zip_path.write_bytes(b"PK\x03\x04 not really a zip")
    sha = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    settings = dict(BASE, consul_archive_src=str(zip_path), consul_archive_url="")
    out = filters["consul_settings"](settings)
    assert out["archive"]["checksum"] == "sha256:" + sha and out["archive"]["src"] == str(zip_path)
    assert filters["consul_settings"](dict(settings, consul_archive_checksum=sha.upper()))["archive"]["checksum"] == \
        "sha256:" + sha
    with pytest.raises(loaded[1]) as err:
        filters["consul_settings"](dict(settings, consul_archive_checksum="0" * 64))
    assert f"has SHA-256 {sha} but consul_archive_checksum says {'0' * 64}" in err.value.message
    # Changing the file changes the hash (the cache is keyed by size and mtime too).
    zip_path.write_bytes(b"PK\x03\x04 another release, longer")
    assert filters["consul_settings"](settings)["archive"]["checksum"] == \
        "sha256:" + hashlib.sha256(zip_path.read_bytes()).hexdigest()
    with pytest.raises(loaded[1], match="does not exist on the control node"):
        filters["consul_settings"](dict(settings, consul_archive_src=str(tmp_path / "missing.zip")))


def test_tls_files_are_looked_for_on_the_control_node(filters, loaded, tmp_path):
    files = {}
    for key in ("consul_tls_ca_file", "consul_tls_cert_file", "consul_tls_key_file"):
        path = tmp_path / (key + ".pem")
        path.write_text("-----BEGIN-----\n")
        files[key] = str(path)
    settings = dict(BASE, consul_archive_checksum="a" * 64, consul_tls=True, **files)
    assert filters["consul_settings"](settings)["tls"]["key_file"] == files["consul_tls_key_file"]
    os.unlink(files["consul_tls_cert_file"])
    with pytest.raises(loaded[1], match="consul_tls_cert_file=.* does not exist on the control node"):
        filters["consul_settings"](settings)


def test_errors_are_the_module_utils_messages_without_the_key(filters, loaded):
    bad = dict(BASE, consul_archive_checksum="a" * 64, consul_encrypt=KEY[:-4])
    with pytest.raises(Exception) as expected:
        check_settings(bad, {})
    with pytest.raises(loaded[1]) as err:
        filters["consul_settings"](bad)
    assert err.value.message == str(expected.value) and KEY[:-4] not in err.value.message
    with pytest.raises(loaded[1], match="expects a dict"):
        filters["consul_settings"]("consul_version=1.20.2")


def test_plan(filters, loaded):
    addresses = {"h1": "192.168.1.11", "h2": "192.168.1.12"}
    assert filters["consul_plan"](["h1", "h2"], ["h1"], addresses) == plan_cluster(["h1", "h2"], ["h1"], addresses)
    assert filters["consul_plan"](("h1", "h2"), ("h1",), addresses, None)["retry_join"] == ["192.168.1.11"]
    with pytest.raises(loaded[1], match="consul_servers has 2 hosts"):
        filters["consul_plan"](["h1", "h2"], ["h1", "h2"], addresses)


def _docs(plugin, name):
    with open(os.path.join(os.path.dirname(plugin.__file__), name + ".yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_docs_match_the_signatures_and_results(loaded, filters):
    plugin = loaded[0]
    plan_docs = _docs(plugin, "consul_plan")["DOCUMENTATION"]
    assert plan_docs["name"] == "consul_plan"
    assert ["_input"] + list(inspect.signature(plugin.consul_plan).parameters)[1:] == list(plan_docs["options"])
    assert plan_docs["positional"] == "servers, addresses, retry_join"
    plan = filters["consul_plan"](["h1"], ["h1"], {"h1": "10.0.0.1"})
    assert set(_docs(plugin, "consul_plan")["RETURN"]["_value"]["contains"]) == set(plan)
    settings_docs = _docs(plugin, "consul_settings")
    assert settings_docs["DOCUMENTATION"]["name"] == "consul_settings"
    assert list(settings_docs["DOCUMENTATION"]["options"]) == ["_input"]
    out = filters["consul_settings"](dict(BASE, consul_archive_checksum="a" * 64))
    assert set(settings_docs["RETURN"]["_value"]["contains"]) == set(out)


@pytest.mark.parametrize("name, call", [
    ("consul_settings", lambda f: f["consul_settings"](dict(BASE, consul_archive_checksum="a" * 64,
                                                            consul_encrypt="Y3Jvc3Nob3N0LWJvZ3VzLWdvc3NpcC1rZXktMzFieQ=="))),
    ("consul_plan", lambda f: f["consul_plan"](["c1", "c2"], ["c1", "c2"], {"c1": "10.0.0.1", "c2": "10.0.0.2"})),
])
def test_docs_example_errors_are_the_real_messages(loaded, filters, name, call):
    text = _docs(loaded[0], name)["EXAMPLES"]
    with pytest.raises(loaded[1]) as raised:
        call(filters)
    comment = text.split("with:\n", 1)[1]
    comment = " ".join(line.strip().lstrip("#").strip() for line in comment.splitlines())
    assert comment.strip() == raised.value.message
