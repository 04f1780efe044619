# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_facts filter: what the roles hand the planners about every host."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.crosshost.docker.plugins.filter.host_facts import FilterModule, host_facts

HOSTVARS = {
    "h1": {"__probe": {"probe": {"address": "10.0.0.2", "name": "p1"}}, "__host": {"bridge": "10.0.0.0/24"}},
    "h2": {"__probe": {"probe": None}, "__host": {"bridge": "10.0.1.0/24"}},
    "h3": {"__probe": {"probe": {"address": "10.0.2.2", "name": "p3"}}},
}


def test_registered():
    assert FilterModule().filters() == {"host_facts": host_facts}


def test_one_path_gives_a_value_per_host_and_none_where_absent():
    assert host_facts(["h1", "h2", "h3"], HOSTVARS, "__host.bridge") == {
        "h1": "10.0.0.0/24", "h2": "10.0.1.0/24", "h3": None}
    assert host_facts(["h1", "h2", "h3"], HOSTVARS, "__host.bridge", required=True) == {
        "h1": "10.0.0.0/24", "h2": "10.0.1.0/24"}
    assert host_facts(["h3"], HOSTVARS, "__host.bridge", required=False) == {"h3": None}


def test_fields_as_dict_and_as_list():
    paths = {"address": "__probe.probe.address", "name": "__probe.probe.name"}
    assert host_facts(["h1", "h2"], HOSTVARS, paths) == {
        "h1": {"address": "10.0.0.2", "name": "p1"}, "h2": {"address": None, "name": None}}
    assert host_facts(["h3", "h2", "h1"], HOSTVARS, paths, required="address", as_list=True) == [
        {"host": "h3", "address": "10.0.2.2", "name": "p3"}, {"host": "h1", "address": "10.0.0.2", "name": "p1"}]


@pytest.mark.parametrize("args, kwargs, words", [
    ((["h1"], HOSTVARS, 3), {}, "paths must be a dotted path"),
    ((["h1"], HOSTVARS, "__host.bridge"), {"as_list": True}, "as_list needs paths as a dict"),
    ((["h1"], HOSTVARS, {"a": "__host"}), {"required": "b"}, "required='b' is not one of the fields ['a']"),
    ((["h9"], HOSTVARS, "__host"), {}, "h9 is not in the inventory"),
])
def test_bad_arguments_say_what_to_give(args, kwargs, words):
    with pytest.raises(AnsibleFilterError, match=words.replace("[", r"\[").replace("]", r"\]")):
        host_facts(*args, **kwargs)
