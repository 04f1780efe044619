# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input checks every planner shares (module_utils/_inputs.py): each message names the field,
says what to write, and is raised as the caller's own PlanError subclass."""
from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _inputs as inp
from ansible_collections.crosshost.docker.plugins.module_utils._errors import CrosshostError, PlanError


class MyError(PlanError):
    pass


def test_text_and_empty():
    assert inp.text("  10.0.0.0/8 ") == "10.0.0.0/8" and inp.text(5) == 5
    assert inp.empty(None) and inp.empty("  ") and not inp.empty("x") and not inp.empty(0)


@pytest.mark.parametrize("value, kwargs, want", [
    ("10.1.0.0/24", {}, "10.1.0.0/24"),
    (" 10.1.0.0/24 ", {}, "10.1.0.0/24"),
    ("fd00::/64", {}, "fd00::/64"),
    (ipaddress.ip_network("10.2.0.0/16"), {}, "10.2.0.0/16"),
    ("10.1.0.5/24", {"strict": False}, "10.1.0.0/24"),
    ("10.1.0.5", {"need_prefix": False}, "10.1.0.5/32"),
])
def test_network_accepts(value, kwargs, want):
    assert str(inp.network(value, "f", "10.0.0.0/24", MyError, **kwargs)) == want


@pytest.mark.parametrize("value, kwargs, words", [
    (None, {}, "f: expected a CIDR like 10.0.0.0/24, got None"),
    (24, {}, "f: expected a CIDR like 10.0.0.0/24, got 24"),
    ("", {}, "f: expected a CIDR like 10.0.0.0/24, got ''"),
    ("10.1.0.0", {}, "f: '10.1.0.0' has no prefix length: write it like 10.0.0.0/24"),
    ("10.1.0.1/24", {}, "f: '10.1.0.1/24' has host bits set: use the network address 10.1.0.0/24"),
    ("10.1.0.0/33", {}, "f: '10.1.0.0/33' is not a valid CIDR (like 10.0.0.0/24): "),
    ("ten/8", {"need_prefix": False}, "f: 'ten/8' is not a valid CIDR (like 10.0.0.0/24): "),
])
def test_network_refuses_naming_the_field_and_the_fix(value, kwargs, words):
    with pytest.raises(MyError) as err:
        inp.network(value, "f", "10.0.0.0/24", MyError, **kwargs)
    assert str(err.value).startswith(words)
    assert isinstance(err.value, CrosshostError) and isinstance(err.value, ValueError)


def test_address():
    assert str(inp.address(" 10.0.0.1 ", "gw", "10.0.0.1")) == "10.0.0.1"
    with pytest.raises(MyError, match=r"^gw: '10.0.0.1/24' is not an IP address \(like 10.0.0.1, without a prefix"):
        inp.address("10.0.0.1/24", "gw", "10.0.0.1", MyError)
    with pytest.raises(MyError, match=r"^gw: expected an IP address like 10.0.0.1, got None"):
        inp.address(None, "gw", "10.0.0.1", MyError)


@pytest.mark.parametrize("value, want", [(24, 24), ("24", 24), (" /27 ", 27)])
def test_prefix_length_accepts(value, want):
    assert inp.prefix_length(value, "prefix", "24") == want


@pytest.mark.parametrize("value", [True, "x24", 24.0, None])
def test_prefix_length_refuses(value):
    with pytest.raises(MyError, match=r"^prefix: expected a prefix length like 24, got "):
        inp.prefix_length(value, "prefix", "24", MyError)


def test_hosts():
    assert inp.hosts(None, "one subnet") == [] and inp.hosts(("a", "b"), "one subnet") == ["a", "b"]
    for value, words in (("a", "hosts: expected a list of inventory host names"),
                         ({"a": 1}, "hosts: expected a list"), (["a", ""], "hosts: every entry must be a host name"),
                         (["a", "a"], r"hosts: a is listed twice: give each host once \(a host gets one subnet\)")):
        with pytest.raises(MyError, match="^" + words):
            inp.hosts(value, "one subnet", MyError)


def test_mapping():
    assert inp.mapping(None, "overrides") == {} and inp.mapping({"a": 1}, "overrides") == {"a": 1}
    with pytest.raises(MyError, match=r"^overrides: expected a dict keyed by host name, got \['a'\]"):
        inp.mapping(["a"], "overrides", MyError)
    with pytest.raises(MyError, match=r"^aux: expected a dict of names, got 3"):
        inp.mapping(3, "aux", MyError, "a dict of names")


@pytest.mark.parametrize("ranges, want", [
    ([], []),
    ([(5, 9), (1, 3)], [[1, 3], [5, 9]]),
    ([(1, 3), (4, 6)], [[1, 6]]),
    ([(1, 10), (2, 3), (8, 12)], [[1, 12]]),
    ([(3, 3), (3, 3)], [[3, 3]]),
])
def test_merge(ranges, want):
    assert inp.merge(ranges) == want
