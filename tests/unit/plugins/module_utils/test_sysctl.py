# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner behind crosshost.docker.forwarding: keys, validation, our file, drift, order."""
from __future__ import annotations

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _sysctl as s

IPF = "net.ipv4.ip_forward"


# --- keys -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, key, path", [
    ("eth0", "net.ipv4.conf.eth0.forwarding", "net/ipv4/conf/eth0/forwarding"),
    ("docker0", "net.ipv4.conf.docker0.forwarding", "net/ipv4/conf/docker0/forwarding"),
    ("eth1.10", "net.ipv4.conf.eth1/10.forwarding", "net/ipv4/conf/eth1.10/forwarding"),
    ("bond0.100.5", "net.ipv4.conf.bond0/100/5.forwarding", "net/ipv4/conf/bond0.100.5/forwarding"),
    ("br-3f2a9c1d0e4b", "net.ipv4.conf.br-3f2a9c1d0e4b.forwarding", "net/ipv4/conf/br-3f2a9c1d0e4b/forwarding"),
    ("default", "net.ipv4.conf.default.forwarding", "net/ipv4/conf/default/forwarding"),
])
def test_interface_key_and_path(name, key, path):
    assert s.interface_key(name) == key
    assert s.key_to_path(key) == path
    assert s.normalise_key(path) == key  # the path form reads back as the same key
    assert s.normalise_key(key) == key


def test_interface_key_other_leaf_and_family():
    assert s.interface_key("eth1.10", "rp_filter") == "net.ipv4.conf.eth1/10.rp_filter"
    assert s.interface_key("eth1.10", family="ipv6") == "net.ipv6.conf.eth1/10.forwarding"


@pytest.mark.parametrize("text, key", [
    ("net.ipv4.ip_forward", IPF),
    ("net/ipv4/ip_forward", IPF),
    ("/net/ipv4/ip_forward", IPF),
    ("  net.ipv4.conf.eth1/10.forwarding ", "net.ipv4.conf.eth1/10.forwarding"),
    ("net/ipv4/conf/eth1.10/forwarding", "net.ipv4.conf.eth1/10.forwarding"),
    # the literal dotted form is a *different* key, as sysctl reads it
    ("net.ipv4.conf.eth1.10.forwarding", "net.ipv4.conf.eth1.10.forwarding"),
])
def test_normalise_key(text, key):
    assert s.normalise_key(text) == key


def test_literal_dotted_name_is_the_wrong_path():
    assert s.key_to_path("net.ipv4.conf.eth1.10.forwarding") == "net/ipv4/conf/eth1/10/forwarding"


@pytest.mark.parametrize("key, iface", [
    ("net.ipv4.conf.eth1/10.forwarding", "eth1.10"),
    ("net.ipv6.conf.eth0.accept_ra", "eth0"),
    ("net.ipv4.neigh.docker0.gc_stale_time", "docker0"),
    ("net.ipv4.conf.all.forwarding", None),
    ("net.ipv4.conf.default.forwarding", None),
    (IPF, None),
    ("net.core.somaxconn", None),
])
def test_key_interface(key, iface):
    assert s.key_interface(key) == iface


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["eth0", "eth1.10", "docker0", "a", "x" * 15, "default", "lo", "br-1a2b3c4d5e6f"])
def test_valid_interface_names(name):
    assert s.validate_interface(name) is None


@pytest.mark.parametrize("name, words", [
    ("eth1/10", ["'eth1/10'", "contains '/'", "'eth1.10'", "net.ipv4.conf.eth1/10.forwarding"]),
    ("x" * 16, ["16 characters", "at most 15"]),
    ("eth0:1", ["contains ':'", "alias", "'eth0'"]),
    ("eth 0", ["whitespace"]),
    ("eth0\t", ["whitespace"]),
    (".", ["'.'"]),
    ("..", ["'..'"]),
    ("", ["non-empty"]),
    ("all", ["ip_forward", "same kernel switch"]),
])
def test_invalid_interface_names_say_why(name, words):
    msg = s.validate_interface(name)
    assert msg is not None
    for word in words:
        assert word in msg, (word, msg)


def test_desired_entries_collects_every_problem():
    with pytest.raises(s.SysctlError) as err:
        s.desired_entries(True, ["eth0", "eth1/10", "averyveryverylongname"], True,
                          {"kernel.pid_max": 1, "net.ipv4.ip_forward": 1, "net.ipv4.conf.eth0.forwarding": 0,
                           "net.ipv4.conf.all.forwarding": 1, "net.ipv4.tcp_rmem": [1, 2]})
    msg = str(err.value)
    for part in ("'eth1/10' contains '/'", "'averyveryverylongname' is 21 characters", "'kernel.pid_max' is not a net.* sysctl",
                 "'net.ipv4.ip_forward' is the kernel's IPv4 forwarding switch",
                 "'net.ipv4.conf.all.forwarding' is the kernel's IPv4 forwarding switch",
                 "'net.ipv4.conf.eth0.forwarding' is set by interfaces", "net.ipv4.tcp_rmem: value [1, 2]"):
        assert part in msg, (part, msg)


@pytest.mark.parametrize("key", ["net", "net.", "net..ipv4.x", "net/ipv4/../x", "net.ipv4 .x", "net.ipv4.x=1", "", "  "])
def test_extra_key_shapes_rejected(key):
    with pytest.raises(s.SysctlError):
        s.desired_entries(extra={key: 1})


def test_extra_key_with_bad_interface_rejected():
    with pytest.raises(s.SysctlError, match="at most 15"):
        s.desired_entries(extra={"net.ipv4.conf.%s.rp_filter" % ("x" * 20): 1})


@pytest.mark.parametrize("value, text", [
    (True, "1"), (False, "0"), (0, "0"), (2, "2"), ("1", "1"), (" 4096\t131072  6291456 ", "4096 131072 6291456"),
])
def test_normalise_value(value, text):
    assert s.normalise_value(value) == text


@pytest.mark.parametrize("value", [None, "", "   ", [1], {"a": 1}, 1.5])
def test_normalise_value_rejects(value):
    with pytest.raises(s.SysctlError):
        s.normalise_value(value)


# --- desired entries and their order ------------------------------------------------------------

def test_desired_entries_order_and_values():
    entries = s.desired_entries(True, ["eth1.10", "eth0", "eth1.10", "docker0"], False, {
        "net/ipv4/conf/eth0/rp_filter": 2,
        "net.ipv6.conf.all.forwarding": True,
        "net.ipv4.conf.default.rp_filter": "1",
        "net.core.somaxconn": 1024,
        "net.ipv4.conf.eth1/10.rp_filter": 1,
    })
    assert entries == [
        (IPF, "1"),
        ("net.ipv6.conf.all.forwarding", "1"),     # global switches first
        ("net.core.somaxconn", "1024"),           # then other global / all / default keys, sorted
        ("net.ipv4.conf.default.rp_filter", "1"),
        ("net.ipv4.conf.eth1/10.forwarding", "0"),  # interfaces in the order given, deduplicated
        ("net.ipv4.conf.eth0.forwarding", "0"),
        ("net.ipv4.conf.docker0.forwarding", "0"),
        ("net.ipv4.conf.eth0.rp_filter", "2"),     # then per-interface extras, sorted
        ("net.ipv4.conf.eth1/10.rp_filter", "1"),
    ]


def test_desired_entries_defaults():
    assert s.desired_entries() == [(IPF, "1")]
    assert s.desired_entries(False) == [(IPF, "0")]


# --- the file ---------------------------------------------------------------------------------

def test_render_parse_round_trip():
    entries = s.desired_entries(True, ["eth0", "eth1.10"], True, {"net.ipv4.tcp_rmem": "4096 131072 6291456"})
    text = s.render_file(entries)
    assert text.startswith(s.HEADER)
    assert "net.ipv4.conf.eth1/10.forwarding = 1\n" in text
    assert "eth1.10" not in text.replace("is eth1.10", "")  # only the '/' form as a key
    assert s.is_ours(text)
    parsed, problems = s.parse_file(text)
    assert problems == []
    assert parsed == entries
    assert s.render_file(parsed) == text


def test_header_is_only_comments():
    assert all(line.startswith("# ") for line in s.HEADER.splitlines())
    assert s.parse_file(s.HEADER) == ([], [])


def test_parse_reads_what_sysctl_reads():
    text = ("# comment\n; other comment\n\n  net.ipv4.ip_forward=1  \n-net/ipv4/conf/eth1.10/forwarding =  0\n"
            "net.ipv4.tcp_rmem = 4096\t131072   6291456\nnot a setting\n = 3\n")
    entries, problems = s.parse_file(text)
    assert entries == [(IPF, "1"), ("net.ipv4.conf.eth1/10.forwarding", "0"),
                       ("net.ipv4.tcp_rmem", "4096 131072 6291456")]
    assert problems == ["line 7: no '=' in 'not a setting'", "line 8: empty key in ' = 3'"]


@pytest.mark.parametrize("text, ours", [
    (s.HEADER, True),
    ("; Managed by crosshost.docker\nnet.ipv4.ip_forward = 1\n", True),
    ("net.ipv4.ip_forward = 1\n", False),
    ("net.ipv4.ip_forward = 1 # Managed by crosshost.docker\n", False),
    ("", False),
    (None, False),
])
def test_is_ours(text, ours):
    assert s.is_ours(text) is ours


@pytest.mark.parametrize("path, words", [
    ("/etc/sysctl.d/60-crosshost-docker.conf", None),
    ("/etc/sysctl.d/99-x.conf", None),
    ("/etc/sysctl.conf", ["must not be /etc/sysctl.conf"]),
    ("/etc/sysctl.d/60-crosshost-docker", ["must end with .conf"]),
    ("etc/sysctl.d/x.conf", ["absolute"]),
    ("", ["absolute"]),
])
def test_check_file_path(path, words):
    msg = s.check_file_path(path)
    if words is None:
        assert msg is None
    else:
        for word in words:
            assert word in msg


# --- the kernel's cascade -----------------------------------------------------------------------

def v4(ipf, **ifaces):
    values = {IPF: ipf}
    for name, value in ifaces.items():
        values[s.interface_key(name.replace("_", "."))] = value
    return values


def test_cascade_global_switch_resets_every_interface():
    values = v4("0", eth0="0", eth1_10="0", docker0=None)
    s.cascade(values, IPF, "1")
    assert values == v4("1", eth0="1", eth1_10="1", docker0=None)  # missing keys stay missing


def test_cascade_same_value_changes_nothing():
    values = v4("1", eth0="0")
    s.cascade(values, IPF, "1")
    assert values == v4("1", eth0="0")


def test_cascade_all_forwarding_is_the_same_switch():
    values = {IPF: "0", "net.ipv4.conf.all.forwarding": "0", "net.ipv4.conf.default.forwarding": "0",
              "net.ipv4.conf.eth0.forwarding": "0", "net.ipv6.conf.eth0.forwarding": "0"}
    s.cascade(values, "net.ipv4.conf.all.forwarding", "1")
    assert values == {IPF: "1", "net.ipv4.conf.all.forwarding": "1", "net.ipv4.conf.default.forwarding": "1",
                      "net.ipv4.conf.eth0.forwarding": "1", "net.ipv6.conf.eth0.forwarding": "0"}


def test_cascade_ipv6_all():
    values = {"net.ipv6.conf.all.forwarding": "0", "net.ipv6.conf.eth0.forwarding": "0", IPF: "0"}
    s.cascade(values, "net.ipv6.conf.all.forwarding", "1")
    assert values == {"net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.eth0.forwarding": "1", IPF: "0"}


def test_cascade_other_keys_do_not_spread():
    values = v4("1", eth0="1")
    values["net.ipv4.conf.default.forwarding"] = "1"
    s.cascade(values, "net.ipv4.conf.default.forwarding", "0")
    assert values[IPF] == "1" and values["net.ipv4.conf.eth0.forwarding"] == "1"


# --- the plan: runtime ----------------------------------------------------------------------------

IFACES = ["docker0", "eth0", "eth1", "eth1.10", "lo"]


def entries_for(interface_forwarding=True, ip_forward=True, interfaces=("eth0", "docker0", "eth1.10"), extra=None):
    return s.desired_entries(ip_forward, list(interfaces), interface_forwarding, extra)


def runtime(ipf, value):
    return {IPF: ipf, "net.ipv4.conf.eth0.forwarding": value, "net.ipv4.conf.docker0.forwarding": value,
            "net.ipv4.conf.eth1/10.forwarding": value}


def test_plan_fresh_host_global_write_fixes_the_interfaces_too():
    entries = entries_for()
    p = s.plan(entries, runtime("0", "0"), IFACES, None)
    assert p["writes"] == [(IPF, "0", "1")]  # the kernel's cascade sets the interfaces
    assert p["runtime_after"] == runtime("1", "1")
    assert [c["key"] for c in p["runtime_changes"]] == [k for k, _v in entries]
    assert p["runtime_changes"][0] == {"key": IPF, "before": "0", "after": "1"}
    assert p["file_before"] is None and p["file_after"] == s.render_file(entries) and p["file_changed"] is True


def test_plan_interfaces_off_are_written_after_the_global_switch():
    # ip_forward 0 -> 1 turns every interface on; the per-interface writes must come after it
    p = s.plan(entries_for(False), runtime("0", "0"), IFACES, None)
    assert p["writes"] == [(IPF, "0", "1"), ("net.ipv4.conf.eth0.forwarding", "1", "0"),
                           ("net.ipv4.conf.docker0.forwarding", "1", "0"),
                           ("net.ipv4.conf.eth1/10.forwarding", "1", "0")]
    assert p["runtime_after"] == runtime("1", "0")
    # before == after for the interfaces: reported changes are net changes
    assert p["runtime_changes"] == [{"key": IPF, "before": "0", "after": "1"}]


def test_plan_ip_forward_off_only_some_interfaces_on():
    entries = entries_for(True, ip_forward=False)
    p = s.plan(entries, runtime("1", "1"), IFACES, None)
    assert p["writes"] == [(IPF, "1", "0"), ("net.ipv4.conf.eth0.forwarding", "0", "1"),
                           ("net.ipv4.conf.docker0.forwarding", "0", "1"),
                           ("net.ipv4.conf.eth1/10.forwarding", "0", "1")]
    assert p["runtime_after"] == runtime("0", "1")


def test_plan_in_sync_changes_nothing():
    entries = entries_for()
    p = s.plan(entries, runtime("1", "1"), IFACES, s.render_file(entries))
    assert p["writes"] == [] and p["runtime_changes"] == [] and p["file_changed"] is False


def test_plan_runtime_drift_only():
    entries = entries_for()
    drifted = runtime("1", "1")
    drifted["net.ipv4.conf.eth1/10.forwarding"] = "0"
    p = s.plan(entries, drifted, IFACES, s.render_file(entries))
    assert p["writes"] == [("net.ipv4.conf.eth1/10.forwarding", "0", "1")]
    assert p["runtime_changes"] == [{"key": "net.ipv4.conf.eth1/10.forwarding", "before": "0", "after": "1"}]
    assert p["file_changed"] is False


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("eth0.forwarding = 1", "eth0.forwarding = 0"),
    lambda t: t.replace("net.ipv4.conf.eth1/10.forwarding = 1\n", ""),
    lambda t: t + "net.ipv4.conf.eth1.forwarding = 0\n",
    lambda t: t.replace("eth1/10", "eth1.10"),  # the classic mistake: a different key
    lambda t: t + "# my note\n",
])
def test_plan_file_drift_only(edit):
    entries = entries_for()
    good = s.render_file(entries)
    p = s.plan(entries, runtime("1", "1"), IFACES, edit(good))
    assert p["writes"] == [] and p["runtime_changes"] == []
    assert p["file_changed"] is True and p["file_after"] == good


def test_plan_both_drifts():
    entries = entries_for()
    p = s.plan(entries, runtime("0", "0"), IFACES, s.render_file(entries).replace("= 1", "= 0"))
    assert p["runtime_changes"] and p["file_changed"] is True


def test_plan_persist_false_leaves_the_file():
    p = s.plan(entries_for(), runtime("0", "0"), IFACES, None, persist=False)
    assert p["file_changed"] is False and p["file_after"] is None
    # even a foreign file at that path is of no concern then
    p = s.plan(entries_for(), runtime("1", "1"), IFACES, "kernel.x = 1\n", persist=False)
    assert p["file_changed"] is False


def test_plan_refuses_a_file_that_is_not_ours():
    with pytest.raises(s.SysctlError, match="is not managed by crosshost.docker"):
        s.plan(entries_for(), runtime("1", "1"), IFACES, "net.ipv4.ip_forward = 1\n", path="/etc/sysctl.d/x.conf")


# --- the plan: missing interfaces and keys ----------------------------------------------------------

def test_plan_missing_interface_fails_listing_existing_ones():
    rt = runtime("1", "1")
    rt["net.ipv4.conf.eth1/10.forwarding"] = None
    with pytest.raises(s.SysctlError) as err:
        s.plan(entries_for(), rt, ["docker0", "eth0", "eth1", "lo"], None)
    msg = str(err.value)
    assert "interface eth1.10 does not exist on this host (existing interfaces: docker0, eth0, eth1, lo)" in msg
    assert "missing_interfaces=persist_only" in msg


def test_plan_missing_interfaces_plural():
    rt = {IPF: "1", "net.ipv4.conf.eth7.forwarding": None, "net.ipv4.conf.eth8.forwarding": None}
    with pytest.raises(s.SysctlError, match="interfaces eth7, eth8 do not exist"):
        s.plan(entries_for(interfaces=["eth7", "eth8"]), rt, ["eth0"], None)


def test_plan_persist_only_keeps_missing_interfaces_in_the_file():
    entries = entries_for()
    rt = runtime("0", "0")
    rt["net.ipv4.conf.eth1/10.forwarding"] = None
    p = s.plan(entries, rt, ["docker0", "eth0", "eth1", "lo"], None, missing_interfaces="persist_only")
    assert p["persist_only"] == ["net.ipv4.conf.eth1/10.forwarding"]
    assert p["runtime_after"]["net.ipv4.conf.eth1/10.forwarding"] is None
    assert "net.ipv4.conf.eth1/10.forwarding" not in [c["key"] for c in p["runtime_changes"]]
    assert "net.ipv4.conf.eth1/10.forwarding = 1\n" in p["file_after"]


def test_plan_persist_only_needs_persist():
    rt = runtime("1", "1")
    rt["net.ipv4.conf.eth1/10.forwarding"] = None
    with pytest.raises(s.SysctlError, match="needs persist=true"):
        s.plan(entries_for(), rt, ["docker0", "eth0"], None, missing_interfaces="persist_only", persist=False)


def test_plan_missing_global_key_is_an_error_even_with_persist_only():
    entries = entries_for(extra={"net.ipv6.conf.all.forwarding": 1})
    rt = runtime("1", "1")
    rt["net.ipv6.conf.all.forwarding"] = None
    with pytest.raises(s.SysctlError, match="/proc/sys/net/ipv6/conf/all/forwarding"):
        s.plan(entries, rt, IFACES, None, missing_interfaces="persist_only")


def test_plan_literal_dotted_extra_key_is_reported_with_its_path():
    entries = s.desired_entries(extra={"net.ipv4.conf.eth1.10.rp_filter": 1})
    rt = {IPF: "1", "net.ipv4.conf.eth1.10.rp_filter": None}
    with pytest.raises(s.SysctlError) as err:
        s.plan(entries, rt, IFACES, None)
    assert "/proc/sys/net/ipv4/conf/eth1/10/rp_filter" in str(err.value)
    assert "net.ipv4.conf.eth1/10.rp_filter" in str(err.value)


# --- state=absent and diff text ----------------------------------------------------------------

def test_plan_absent():
    text = s.render_file(entries_for())
    assert s.plan_absent(None) == (False, [])
    assert s.plan_absent(text) == (True, [k for k, _v in entries_for()])
    with pytest.raises(s.SysctlError, match="left alone"):
        s.plan_absent("net.ipv4.ip_forward = 1\n")


def test_runtime_text():
    assert s.runtime_text({IPF: "1", "net.ipv4.conf.eth9.forwarding": None, "net.ipv4.conf.eth0.forwarding": "0"}) == \
        "net.ipv4.ip_forward = 1\nnet.ipv4.conf.eth0.forwarding = 0\n"


def test_plan_result_is_what_the_runtime_converges_to():
    """Whatever the starting values, after the planned writes every key has its desired value."""
    import itertools

    for ipf_want, if_want in itertools.product((True, False), repeat=2):
        entries = entries_for(if_want, ipf_want)
        for start in itertools.product("01", repeat=4):
            rt = dict(zip([k for k, _v in entries], start))
            _writes, after = s.plan_runtime(entries, rt)
            assert after == dict(entries), (ipf_want, if_want, start)
