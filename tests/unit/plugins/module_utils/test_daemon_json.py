# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the pure daemon.json planner (plugins/module_utils/_daemon_json.py): no mocks, no I/O."""

from __future__ import annotations

import json

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils._daemon_json import (
    RELOAD_APPLIES_REMOVAL,
    RELOADABLE_KEYS,
    DaemonJsonError,
    DaemonJsonPlanError,
    changed_keys,
    classify_reload,
    clean_validate_output,
    detect_indent,
    merge,
    parse_record,
    plan_daemon_json,
    plan_restore,
    record_original,
    render,
    validate_config,
    validate_support,
)
from ansible_collections.crosshost.docker.tests.unit import helpers

V20, V26, V28 = (20, 10, 24), (26, 1, 5), (28, 5, 2)

# The daemon.json of the seed (/work/shared/seeds/004_*.txt): '#' lines inside the object.
SEED_004 = """{
  "registry-mirrors": ["https://tuv7rqqq.mirror.aliyuncs.com"],
  # "insecure-registries": ["docker201.oldboyedu.com:5000"],
  # "data-root":"/oldboyedu/docker",
   "cluster-store": "consul://10.0.0.101:8500",
   "cluster-advertise": "10.0.0.101:6666"
}
"""


def plan(current, set_values=None, remove=None, purge=False, engine=V28, **kw):
    text = None if current is None else (current if isinstance(current, str) else render(current))
    return plan_daemon_json(text, set_values, remove, purge, engine, "/etc/docker/daemon.json", **kw)


# --------------------------------------------------------------------------------------------
# merging, removing, purging, order


def test_set_adds_a_key_after_the_existing_ones_and_keeps_them():
    p = plan({"log-level": "warn"}, {"bip": "10.1.0.1/24"})
    assert p["changed"] and not p["errors"]
    assert list(p["after"]) == ["log-level", "bip"]
    assert p["after"] == {"log-level": "warn", "bip": "10.1.0.1/24"}
    assert p["changed_keys"] == ["bip"]
    assert p["after_text"] == '{\n  "log-level": "warn",\n  "bip": "10.1.0.1/24"\n}\n'


def test_changing_a_key_keeps_its_position():
    p = plan({"bip": "10.0.0.1/24", "log-level": "warn", "mtu": 1500}, {"bip": "10.1.0.1/24"})
    assert list(p["after"]) == ["bip", "log-level", "mtu"]
    assert p["changed_keys"] == ["bip"]


def test_nested_set_merges_only_that_subkey():
    current = {"log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": "1m"}}
    p = plan(current, {"log-opts": {"max-size": "10m"}})
    assert p["after"] == {"log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": "10m"}}
    assert list(p["after"]["log-opts"]) == ["max-file", "max-size"]
    assert p["changed_keys"] == ["log-opts.max-size"]


def test_deep_merge_three_levels_and_new_nested_dict():
    current = {"runtimes": {"sysrunc": {"path": "/usr/sbin/runc", "runtimeArgs": ["--debug"]}}}
    p = plan(current, {"runtimes": {"sysrunc": {"path": "/usr/bin/runc"}, "crun": {"path": "/usr/bin/crun"}}})
    assert p["after"]["runtimes"] == {"sysrunc": {"path": "/usr/bin/runc", "runtimeArgs": ["--debug"]},
                                      "crun": {"path": "/usr/bin/crun"}}
    assert p["changed_keys"] == ["runtimes.sysrunc.path", "runtimes.crun"]


def test_a_non_dict_value_replaces_a_dict_and_lists_are_replaced_whole():
    p = plan({"log-opts": {"a": "1"}, "dns": ["1.1.1.1", "8.8.8.8"]}, {"log-opts": "x", "dns": ["9.9.9.9"]})
    assert p["after"] == {"log-opts": "x", "dns": ["9.9.9.9"]}
    assert p["changed_keys"] == ["log-opts", "dns"]


def test_merge_does_not_modify_its_inputs():
    current = {"a": {"b": 1}}
    updates = {"a": {"c": 2}}
    assert merge(current, updates) == {"a": {"b": 1, "c": 2}}
    assert current == {"a": {"b": 1}} and updates == {"a": {"c": 2}}


def test_remove_top_level_and_nested_dotted_path():
    current = {"bip": "10.0.0.1/24", "log-opts": {"max-size": "1m", "max-file": "3"}, "mtu": 1500}
    p = plan(current, remove=["log-opts.max-size", "mtu"])
    assert p["after"] == {"bip": "10.0.0.1/24", "log-opts": {"max-file": "3"}}
    assert p["changed_keys"] == ["log-opts.max-size", "mtu"]


def test_remove_of_something_absent_is_no_change():
    p = plan({"bip": "10.0.0.1/24"}, remove=["mtu", "log-opts.max-size", "bip.x"])
    assert not p["changed"] and p["changed_keys"] == []
    assert p["after_text"] == p["before_text"]


def test_remove_path_with_dots_inside_a_nested_key():
    opt = "com.docker.network.bridge.host_binding_ipv4"
    current = {"default-network-opts": {"bridge": {opt: "127.0.0.1", "com.docker.network.driver.mtu": "1450"}}}
    p = plan(current, remove=["default-network-opts.bridge." + opt])
    assert p["after"] == {"default-network-opts": {"bridge": {"com.docker.network.driver.mtu": "1450"}}}
    assert p["changed_keys"] == ["default-network-opts.bridge." + opt]


def test_remove_prefers_the_whole_key_when_it_exists():
    # a (non-Docker) top-level key with a dot is matched whole before any split
    p = plan({"a.b": 1, "a": {"b": 2}}, remove=["a.b"])
    assert p["after"] == {"a": {"b": 2}}


def test_remove_then_set_replaces_a_nested_dict_in_place():
    current = {"log-driver": "json-file", "log-opts": {"max-size": "1m", "max-file": "3"}, "mtu": 1500}
    p = plan(current, {"log-opts": {"max-size": "10m"}}, ["log-opts"])
    assert p["after"] == {"log-driver": "json-file", "log-opts": {"max-size": "10m"}, "mtu": 1500}
    assert list(p["after"]) == ["log-driver", "log-opts", "mtu"]
    assert p["changed_keys"] == ["log-opts.max-size", "log-opts.max-file"]
    again = plan(p["after"], {"log-opts": {"max-size": "10m"}}, ["log-opts"])
    assert not again["changed"]


def test_purge_makes_the_file_exactly_set_in_existing_order():
    current = {"log-level": "warn", "bip": "10.0.0.1/24", "log-opts": {"max-size": "1m", "max-file": "3"}}
    p = plan(current, {"log-opts": {"max-size": "1m"}, "mtu": 1450, "bip": "10.0.0.1/24"}, purge=True)
    assert p["after"] == {"bip": "10.0.0.1/24", "log-opts": {"max-size": "1m"}, "mtu": 1450}
    assert list(p["after"]) == ["bip", "log-opts", "mtu"]
    assert set(p["changed_keys"]) == {"log-level", "log-opts.max-file", "mtu"}


def test_purge_with_nothing_set_empties_the_file():
    p = plan({"bip": "10.0.0.1/24"}, purge=True)
    assert p["after"] == {} and p["after_text"] == "{}\n" and p["changed_keys"] == ["bip"]


def test_purge_and_remove_together_are_refused():
    with pytest.raises(DaemonJsonPlanError, match="remove cannot be combined with purge"):
        plan({}, {"a": 1}, ["b"], purge=True)


@pytest.mark.parametrize("set_values, remove", [("bip", None), ({}, "bip"), ({}, [""]), ({}, [1])])
def test_unusable_requests(set_values, remove):
    with pytest.raises(DaemonJsonPlanError):
        plan({}, set_values, remove)


# --------------------------------------------------------------------------------------------
# no-op detection and the text


def test_same_values_are_no_change_and_the_text_is_kept_byte_for_byte():
    text = '{"bip":"10.0.0.1/24",   "log-opts": {"max-size":"1m"}}'  # odd style, no newline
    p = plan(text, {"bip": "10.0.0.1/24", "log-opts": {"max-size": "1m"}})
    assert not p["changed"] and p["after_text"] == text and p["before_text"] == text


def test_json_types_count_when_comparing():
    assert plan({"debug": 1}, {"debug": True})["changed"]
    assert plan({"mtu": "1500"}, {"mtu": 1500}, engine=None)["changed_keys"] == ["mtu"]
    assert not plan({"mtu": 1500}, {"mtu": 1500})["changed"]


def test_missing_file_with_nothing_to_set_stays_missing():
    p = plan(None, {})
    assert not p["changed"] and p["before"] is None and p["after"] == {}
    assert p["before_text"] == "" and p["after_text"] == ""


def test_missing_file_gets_created_with_the_set_keys():
    p = plan(None, {"bip": "10.1.0.1/24"})
    assert p["changed"] and p["before"] is None and p["before_text"] == ""
    assert p["after_text"] == '{\n  "bip": "10.1.0.1/24"\n}\n'


def test_empty_file_counts_as_empty_object():
    p = plan("", {})
    assert not p["changed"] and p["before"] == {}
    assert plan("  \n", {"debug": True})["after_text"] == '{\n  "debug": true\n}\n'


@pytest.mark.parametrize("text, want", [
    ('{\n    "a": 1\n}\n', 4), ('{\n\t"a": 1\n}\n', "\t"), ('{"a": 1}', 2), ("", 2), (None, 2),
    ('{\n"a": 1\n}\n', 2),
])
def test_detect_indent(text, want):
    assert detect_indent(text) == want


def test_the_files_indent_is_kept_unless_given():
    text = '{\n    "log-level": "warn"\n}\n'
    assert plan(text, {"debug": True})["after_text"] == '{\n    "log-level": "warn",\n    "debug": true\n}\n'
    assert plan(text, {"debug": True}, indent=2)["after_text"] == '{\n  "log-level": "warn",\n  "debug": true\n}\n'


def test_non_ascii_stays_readable():
    p = plan({}, {"labels": ["owner=Zoë"]})
    assert "Zoë" in p["after_text"]
    assert json.loads(p["after_text"]) == {"labels": ["owner=Zoë"]}


def test_changed_keys_lists_removed_keys_last():
    assert changed_keys({"a": 1, "b": 2, "c": {"d": 1}}, {"b": 3, "c": {"d": 1, "e": 2}, "f": 0}) == ["b", "c.e", "f", "a"]


# --------------------------------------------------------------------------------------------
# invalid current file


def test_seed_004_comments_give_line_column_and_hint():
    with pytest.raises(DaemonJsonError) as info:
        plan(SEED_004, {"bip": "10.1.0.1/24"})
    err = info.value
    assert (err.line, err.column) == (3, 3)
    assert str(err).startswith("/etc/docker/daemon.json is not valid JSON: Expecting property name enclosed in double quotes")
    assert "line 3, column 3" in str(err)
    assert "comments are not allowed in daemon.json" in str(err)


def test_fixture_with_comments_also_fails_with_purge():
    text = helpers.fixture_text("host_facts", "daemon_json_with_comments.txt")
    with pytest.raises(DaemonJsonError, match="line 1, column 1"):
        plan(text, {"bip": "10.1.0.1/24"}, purge=True)


def test_trailing_comma_and_non_object():
    with pytest.raises(DaemonJsonError, match="trailing commas"):
        plan('{"a": 1,}', {})
    with pytest.raises(DaemonJsonError, match="must contain a JSON object"):
        plan("[1]", {})


# --------------------------------------------------------------------------------------------
# validation messages


def errors_of(set_values, engine=V28, current=None, **kw):
    return plan(current or {}, set_values, engine=engine, **kw)["errors"]


def test_bip_network_address_says_use_the_gateway_address():
    (msg,) = errors_of({"bip": "10.0.1.0/24"})
    assert msg.startswith("bip '10.0.1.0/24' is a network address")
    assert "use the gateway address, e.g. 10.0.1.1/24" in msg


def test_bip_other_mistakes():
    (bare,) = errors_of({"bip": "10.0.1.1"})
    assert "has no prefix length" in bare and "10.0.1.1/24" in bare
    (bcast,) = errors_of({"bip": "10.0.1.255/24"})
    assert "broadcast address" in bcast and "10.0.1.1/24" in bcast
    (v6,) = errors_of({"bip": "fd00::1/64"})
    assert "IPv6" in v6
    (junk,) = errors_of({"bip": "10.0.1.300/24"})
    assert "not an IPv4 address with a prefix length" in junk
    (mask,) = errors_of({"bip": "10.0.1.1/255.255.255.0"})
    assert "not an IPv4 address with a prefix length" in mask
    (number,) = errors_of({"bip": 10})
    assert number.startswith("bip must be a string")
    assert errors_of({"bip": "10.0.1.1/24"}) == []


def test_fixed_cidr_inside_bip():
    (msg,) = errors_of({"bip": "10.0.1.1/24", "fixed-cidr": "10.0.2.0/25"})
    assert "fixed-cidr 10.0.2.0/25 is not inside bip's network 10.0.1.0/24" in msg
    assert "use e.g. fixed-cidr 10.0.1.0/25" in msg
    assert errors_of({"bip": "10.0.1.1/24", "fixed-cidr": "10.0.1.128/25"}) == []
    (host_bits,) = errors_of({"bip": "10.0.1.1/24", "fixed-cidr": "10.0.1.5/25"})
    assert "host bits are set" in host_bits and "use 10.0.1.0/25" in host_bits
    (bare,) = errors_of({"fixed-cidr": "10.0.1.0"})
    assert "has no prefix length" in bare
    assert errors_of({"fixed-cidr": "10.0.1.0/25"}) == []  # no bip: nothing to compare with


def test_changing_bip_rechecks_an_untouched_fixed_cidr():
    current = {"bip": "10.0.1.1/24", "fixed-cidr": "10.0.1.0/25"}
    (msg,) = errors_of({"bip": "10.5.0.1/24"}, current=current)
    assert "fixed-cidr 10.0.1.0/25 is not inside bip's network 10.5.0.0/24" in msg


@pytest.mark.parametrize("value", [67, 65536, "1500", 1500.0, True])
def test_mtu_range_and_type(value):
    (msg,) = errors_of({"mtu": value})
    assert msg.startswith("mtu must be an integer from 68 to 65535")


@pytest.mark.parametrize("value", [68, 1450, 65535])
def test_mtu_ok(value):
    assert errors_of({"mtu": value}) == []


@pytest.mark.parametrize("key", ["ip-masq", "iptables", "ip-forward", "live-restore", "allow-direct-routing",
                                 "userland-proxy"])
def test_booleans(key):
    (msg,) = errors_of({key: "false"})
    assert msg == '%s must be a JSON boolean, true or false, not "false" (a quoted \'false\' is a string: write false without quotes)' % key
    (number,) = errors_of({key: 0})
    assert number == "%s must be a JSON boolean, true or false, not 0" % key
    assert errors_of({key: False}) == []


def test_default_address_pools():
    assert errors_of({"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]}) == []
    (not_list,) = errors_of({"default-address-pools": {"base": "10.10.0.0/16", "size": 24}})
    assert not_list.startswith("default-address-pools must be a list of {base, size}")
    (keys,) = errors_of({"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}, {"base": "10.11.0.0/16"}]})
    assert keys.startswith("default-address-pools[1] must be a dict with exactly the keys base and size")
    (base,) = errors_of({"default-address-pools": [{"base": "10.10.0.1/16", "size": 24}]})
    assert base.startswith('default-address-pools[0].base "10.10.0.1/16" is not a network')
    (size,) = errors_of({"default-address-pools": [{"base": "10.10.0.0/16", "size": 8}]})
    assert "default-address-pools[0].size 8 must be between the base's prefix length (16) and 32" in size
    (size_type,) = errors_of({"default-address-pools": [{"base": "10.10.0.0/16", "size": "24"}]})
    assert "size must be an integer prefix length" in size_type


def test_a_dotted_top_level_set_key_is_refused_with_the_nested_form():
    (msg,) = errors_of({"log-opts.max-size": "10m"})
    assert "set key 'log-opts.max-size' contains a dot" in msg
    assert "{'log-opts': {'max-size': ...}}" in msg


def test_unknown_keys_pass_through():
    p = plan({}, {"no-such-key": 1, "features": {"buildkit": True}})
    assert p["errors"] == [] and p["warnings"] == []


def test_all_errors_are_reported_together():
    errors = errors_of({"bip": "10.0.1.0/24", "mtu": 10, "ip-masq": "no"})
    assert len(errors) == 3


def test_unchanged_bad_keys_only_warn():
    p = plan({"bip": "10.0.1.0/24", "cluster-store": "etcd://x:2379"}, {"debug": True})
    assert p["errors"] == []
    assert any(w.startswith("left as it is (not managed by this task): bip '10.0.1.0/24' is a network address")
               for w in p["warnings"])
    assert any("cluster-store was removed in Docker 23.0" in w for w in p["warnings"])


def test_removing_a_bad_key_is_fine():
    p = plan({"cluster-store": "etcd://x:2379", "bip": "10.0.1.0/24"}, remove=["cluster-store", "bip"])
    assert p["errors"] == [] and p["after"] == {}


# --------------------------------------------------------------------------------------------
# engine versions


@pytest.mark.parametrize("key", ["cluster-store", "cluster-advertise", "cluster-store-opts"])
def test_cluster_keys_refused_from_23(key):
    value = {"kv.path": "x"} if key == "cluster-store-opts" else "etcd://192.168.1.5:2379"
    (msg,) = errors_of({key: value}, engine=V28)
    assert msg == ("%s was removed in Docker 23.0; this host runs 28.5.2: use the swarm overlay backend "
                   "(crosshost.docker.overlay with overlay_backend=swarm)" % key)
    assert "this host runs 26.1.5" in errors_of({key: value}, engine=V26)[0]
    assert "this host runs 23.0.0" in errors_of({key: value}, engine=(23, 0, 0))[0]
    assert errors_of({key: value}, engine=V20) == []
    assert errors_of({key: value}, engine=(22, 6, 0)) == []


def test_allow_direct_routing_needs_28():
    (msg,) = errors_of({"allow-direct-routing": True}, engine=V20)
    assert msg == "allow-direct-routing needs Docker 28.0 or later; this host runs 20.10.24"
    assert "this host runs 26.1.5" in errors_of({"allow-direct-routing": True}, engine=V26)[0]
    assert errors_of({"allow-direct-routing": True}, engine=V28) == []
    assert errors_of({"allow-direct-routing": True}, engine=(28, 0, 0)) == []


def test_unknown_engine_warns_instead():
    p = plan({}, {"cluster-store": "etcd://x:2379", "allow-direct-routing": True}, engine=None)
    assert p["errors"] == []
    assert len(p["warnings"]) == 2
    assert all("engine version is unknown" in w and "engine_version" in w for w in p["warnings"])


def test_validate_config_only_checks_the_given_keys():
    config = {"bip": "10.0.1.0/24", "mtu": 1}
    assert validate_config(config, ["mtu"], V28)[0] == ["mtu must be an integer from 68 to 65535 (e.g. 1450 under VXLAN), not 1"]
    assert validate_config(config, [], V28) == ([], [])


@pytest.mark.parametrize("engine, want_run, note", [
    (V28, True, None), (V26, True, None), ((23, 0, 0), True, None),
    (V20, False, "skipped: Docker 20.10.24 has no dockerd --validate (added in 23.0)"),
    (None, False, "skipped: the engine version is unknown (dockerd --validate exists from Docker 23.0)"),
])
def test_validate_support(engine, want_run, note):
    assert validate_support(engine) == (want_run, note)
    assert validate_support(engine, False) == (False, "skipped: validate=false")


def test_clean_validate_output_names_the_real_file():
    out = ("unable to configure the Docker daemon with file /dev/stdin: the following directives don't match any "
           "configuration option: no-such-key\n")
    assert clean_validate_output(out, "/dev/stdin", "/etc/docker/daemon.json") == (
        "unable to configure the Docker daemon with file /etc/docker/daemon.json (proposed content): the following "
        "directives don't match any configuration option: no-such-key")


# --------------------------------------------------------------------------------------------
# restart or reload


def test_reloadable_list_from_the_documentation():
    documented = {"debug", "labels", "live-restore", "max-concurrent-downloads", "max-concurrent-uploads",
                  "max-download-attempts", "default-runtime", "runtimes", "authorization-plugins",
                  "allow-nondistributable-artifacts", "insecure-registries", "registry-mirrors", "shutdown-timeout",
                  "features"}
    assert documented <= RELOADABLE_KEYS
    assert RELOAD_APPLIES_REMOVAL <= RELOADABLE_KEYS
    for key in ("bip", "mtu", "iptables", "ip-masq", "log-opts", "data-root", "cluster-store", "allow-direct-routing"):
        assert key not in RELOADABLE_KEYS


@pytest.mark.parametrize("current, set_values, remove, restart, reload", [
    ({}, {"bip": "10.1.0.1/24"}, None, True, False),
    ({}, {"debug": True, "labels": ["a=b"]}, None, False, True),
    ({}, {"debug": True, "mtu": 1450}, None, True, False),
    ({"log-opts": {"max-size": "1m"}}, {"log-opts": {"max-size": "2m"}}, None, True, False),
    ({"runtimes": {"a": {"path": "/a"}}}, {"runtimes": {"a": {"path": "/b"}}}, None, False, True),
    ({"registry-mirrors": ["https://m"]}, {"registry-mirrors": []}, None, False, True),
    ({"max-concurrent-downloads": 5}, {}, ["max-concurrent-downloads"], False, True),
    ({"debug": True}, {}, ["debug"], True, False),  # removal of debug is not applied by a reload
    ({"registry-mirrors": ["https://m"]}, {}, ["registry-mirrors"], True, False),
    ({"runtimes": {"a": {"path": "/a"}, "b": {"path": "/b"}}}, {}, ["runtimes.b"], False, True),
    ({"debug": True}, {"debug": True}, None, False, False),  # nothing changed
])
def test_restart_or_reload(current, set_values, remove, restart, reload):
    p = plan(current, set_values, remove)
    assert (p["restart_required"], p["reload_sufficient"]) == (restart, reload)


def test_classify_reload_directly():
    assert classify_reload([]) == (False, False)
    assert classify_reload([("features", True)]) == (False, True)
    assert classify_reload([("labels", True)]) == (True, False)


# ------------------------------------------------------------------ record_original / plan_restore


def test_record_original_keeps_the_first_values_and_the_first_text():
    record, added = record_original(None, '{"a": 1}', ["a", "b", "a"])
    assert added == ["a", "b"] and record["text"] == '{"a": 1}'
    assert record["keys"] == {"a": {"present": True, "value": 1}, "b": {"present": False}}
    again, added = record_original(record, '{"a": 2, "b": 3, "c": {"x": 1}}', ["a", "c"])
    assert added == ["c"] and again["text"] == '{"a": 1}'
    assert again["keys"]["a"] == {"present": True, "value": 1} and again["keys"]["c"] == {"present": True, "value": {"x": 1}}
    assert "c" not in record["keys"]  # the input record is not changed in place


def test_record_original_of_a_missing_file():
    record, added = record_original(None, None, ["bip"])
    assert record["text"] is None and record["keys"] == {"bip": {"present": False}} and added == ["bip"]


@pytest.mark.parametrize("current, original_text, keys, after_text, identical, delete", [
    # nobody else touched the file: the original bytes
    ('{\n  "log-level": "warn",\n  "bip": "10.1.0.1/24"\n}\n', '{"log-level":"warn"}', {"bip": {"present": False}},
     None, True, False),
    # the file did not exist: deleted
    ('{\n  "bip": "10.1.0.1/24"\n}\n', None, {"bip": {"present": False}}, "", True, True),
    # the file did not exist, somebody added a key since: kept, ours removed
    ('{\n  "bip": "10.1.0.1/24",\n  "debug": true\n}\n', None, {"bip": {"present": False}},
     '{\n  "debug": true\n}\n', False, False),
    # an original value comes back, others' keys stay
    ('{\n  "ip-masq": false,\n  "mtu": 1400\n}\n', '{"ip-masq": true}', {"ip-masq": {"present": True, "value": True}},
     '{\n  "ip-masq": true,\n  "mtu": 1400\n}\n', False, False),
    # an empty original file comes back empty
    ('{"bip": "10.1.0.1/24"}', "", {"bip": {"present": False}}, None, True, False),
])
def test_plan_restore(current, original_text, keys, after_text, identical, delete):
    plan = plan_restore(current, {"text": original_text, "keys": keys})
    expected = original_text if after_text is None else after_text
    assert plan["after_text"] == expected
    assert plan["byte_identical"] is identical and plan["delete"] is delete and plan["changed"] is True


def test_plan_restore_without_changes_and_of_a_missing_file():
    plan = plan_restore('{"a": 1}', {"text": '{"a": 1}', "keys": {"bip": {"present": False}}})
    assert plan["changed"] is False and plan["byte_identical"] is True and plan["changed_keys"] == []
    plan = plan_restore(None, {"text": None, "keys": {"bip": {"present": False}}})
    assert plan["changed"] is False and plan["delete"] is False


@pytest.mark.parametrize("text", ["nope", "[]", '{"keys": []}', '{"keys": {}, "text": 3}'])
def test_parse_record_refuses_what_we_did_not_write(text):
    with pytest.raises(DaemonJsonPlanError, match="record"):
        parse_record(text, "/etc/crosshost-docker/x.json")


def test_parse_record_of_nothing():
    assert parse_record(None) is None
    assert parse_record('{"keys": {}, "text": null}') == {"keys": {}, "text": None}
