"""Unit tests for the iptables adapter (plugins/module_utils/_iptables.py): the one iptables-save parser on
real samples, and the adapter's commands with a fake runner."""
import pytest

from ansible_collections.crosshost.docker.plugins.module_utils import _iptables as ipt
from ansible_collections.crosshost.docker.plugins.module_utils._errors import BackendError, IptablesError
from ansible_collections.crosshost.docker.plugins.module_utils._runner import module_runner
from ansible_collections.crosshost.docker.tests.unit import helpers


def fixture(*parts):
    return helpers.fixture_text(*parts)


FakeRun = helpers.FakeRun


def which(name):
    return "/usr/sbin/" + name


# --- the parser ----------------------------------------------------------------------------------

def test_parse_nf_tables_sample_with_warning_comment():
    parsed = ipt.parse_save(fixture("host_facts", "iptables_save_28.5_nft.txt"))
    assert parsed["backend"] == "nf_tables"
    assert parsed["warnings"] == ["Warning: iptables-legacy tables present, use iptables-legacy-save to see them"]
    assert parsed["forward_policy"] == "DROP" and parsed["docker_user_exists"] is True
    assert parsed["chains"]["raw"]["PREROUTING"] == {"policy": "ACCEPT", "rules": ["-d 172.17.0.2/32 ! -i docker0 -j DROP"]}
    assert "rules" not in parsed  # the flat list only with counters


def test_parse_legacy_sample_with_counters():
    text = fixture("host_facts", "iptables_save_legacy_counters.txt")
    plain = ipt.parse_save(text)
    counted = ipt.parse_save(text, counters=True)
    assert plain["backend"] == "legacy"
    # the rules read the same with or without counters; counters come alongside
    for table, chains in plain["chains"].items():
        for name, entry in chains.items():
            assert counted["chains"][table][name]["rules"] == entry["rules"]
            assert len(counted["chains"][table][name]["counters"]) == len(entry["rules"])
    assert counted["chains"]["nat"]["PREROUTING"]["counters"][0] == (9, 540)
    first = counted["rules"][0]
    assert first == {"table": "nat", "chain": "PREROUTING", "packets": 9, "bytes": 540,
                     "spec": "-m addrtype --dst-type LOCAL -j DOCKER",
                     "tokens": ["-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"]}


def test_parse_counters_quoted_comments_and_raw_drops():
    parsed = ipt.parse_save(fixture("connectivity", "iptables_save_28_raw_drop.txt"), counters=True)
    commented = [r for r in parsed["rules"] if "--comment" in r["tokens"]]
    comments = [ipt.option(r["tokens"], "--comment") for r in commented]
    assert "crosshost-connectivity:cap-h3:total" in comments  # quotes gone
    assert not any(c.startswith('"') for c in comments)
    assert ipt.raw_drops(parsed) == [
        {"spec": "-d 172.17.0.2/32 ! -i docker_gwbridge -j DROP", "destination": "172.17.0.2/32", "packets": 0},
        {"spec": "-d 10.0.2.2/32 ! -i docker0 -j DROP", "destination": "10.0.2.2/32", "packets": 52},
    ]
    # without counters the same drops, with 0 packets
    plain = ipt.parse_save(fixture("connectivity", "iptables_save_28_raw_drop.txt"))
    assert [d["packets"] for d in ipt.raw_drops(plain)] == [0, 0]


def test_strict_and_lenient():
    text = "*filter\n:FORWARD DROP [0:0]\niptables: Permission denied\n-A FORWARD -j ACCEPT\nCOMMIT\n-A X -j Y\n"
    with pytest.raises(ipt.IptablesSaveError) as err:
        ipt.parse_save(text)
    assert "line 3" in str(err.value) and isinstance(err.value, IptablesError)
    lenient = ipt.parse_save(text, counters=True, strict=False)
    assert lenient["chains"]["filter"]["FORWARD"]["rules"] == ["-j ACCEPT"]
    assert [r["spec"] for r in lenient["rules"]] == ["-j ACCEPT"]


def test_empty_output():
    assert ipt.parse_save("") == {"chains": {}, "forward_policy": "ACCEPT", "docker_user_exists": False,
                                  "backend": None, "warnings": []}
    assert ipt.parse_save(None, counters=True)["rules"] == []


def test_token_helpers():
    spec = '-s 10.0.0.0/24 -m comment --comment "crosshost.docker" -j CROSSHOST-FORWARD'
    assert ipt.tokens(spec) == ipt.tokens("-s 10.0.0.0/24 -m comment --comment crosshost.docker -j CROSSHOST-FORWARD")
    assert ipt.tokens('-m comment --comment "unbalanced') == ("-m", "comment", "--comment", '"unbalanced')
    assert ipt.jump_target(spec) == "CROSSHOST-FORWARD"
    assert ipt.jump_target("-g DOCKER") == "DOCKER"
    assert ipt.jump_target("-s 1.2.3.4/32") is None
    assert ipt.option(["-d", "10.0.0.2/32", "-j", "DROP"], "-d", "--destination") == "10.0.0.2/32"
    assert ipt.option(["-j"], "-j") is None


def test_parse_version():
    assert ipt.parse_version("iptables v1.8.9 (nf_tables)\n") == {"version": "1.8.9", "backend": "nf_tables"}
    assert ipt.parse_version("iptables v1.6.1\n") == {"version": "1.6.1", "backend": "legacy"}
    assert ipt.parse_version("") == {"version": None, "backend": None}


# --- the adapter ---------------------------------------------------------------------------------

HELP_LEGACY = ("Usage: iptables-restore [-c] [-v] [-V] [-t] [-h] [-n] [-w secs] [-W usecs] [-T table] [-M command] "
               "[file]\n\t   [ --counters ]\n\t   [ --noflush ]\n\t   [ --wait=<seconds>\n")
HELP_NFT = ("Usage: iptables-restore [-c] [-v] [-V] [-t] [-h] [-n] [-T table] [-M command] [-4] [-6] [file]\n"
            "\t   [ --counters ]\n\t   [ --noflush ]\n")
HELP_OLD = "Usage: iptables-restore [-c] [-v] [-t] [-h] [-n] [-T table] [-M command]\n"


@pytest.mark.parametrize("answers, waits", [
    ({"--help": (0, HELP_LEGACY, "")}, True),                                 # legacy 1.8: --help lists it
    ({"--help": (0, HELP_NFT, ""), "--version": (0, "iptables-restore v1.8.9 (nf_tables)\n", "")}, True),
    ({"--help": (0, HELP_OLD, ""), "--version": (0, "iptables-restore v1.6.2\n", "")}, True),
    ({"--help": (0, HELP_OLD, ""), "--version": (0, "iptables-restore v1.6.1\n", "")}, False),
    ({"--help": (2, "", "unknown"), "--version": (2, "", "unknown")}, False),
])
def test_restore_uses_wait_where_supported(answers, waits):
    run = FakeRun(answers)
    tables = ipt.Iptables(run, which)
    tables.restore("*filter\nCOMMIT\n")
    tables.restore("*nat\nCOMMIT\n")
    restores = run.with_input()
    expected = ["/usr/sbin/iptables-restore", "--noflush"] + (["--wait"] if waits else [])
    assert restores == [(expected, "*filter\nCOMMIT\n"), (expected, "*nat\nCOMMIT\n")]
    assert sum(1 for argv in run.calls if argv[-1] in ("--help", "--version")) <= 2  # detected once


def test_restore_falls_back_when_wait_is_refused_after_all():
    def restore(argv, data):
        if "--wait" in argv:
            return 2, "", "iptables-restore: unrecognized option '--wait'\n"
        return 0, "", ""
    run = FakeRun({"--help": (0, HELP_LEGACY, ""), "--noflush --wait": restore, "--noflush": restore})
    tables = ipt.Iptables(run, which)
    tables.restore("*filter\nCOMMIT\n")
    tables.restore("*filter\nCOMMIT\n")
    restores = [argv for argv, data in run.with_input()]
    assert restores == [["/usr/sbin/iptables-restore", "--noflush", "--wait"],
                        ["/usr/sbin/iptables-restore", "--noflush"],
                        ["/usr/sbin/iptables-restore", "--noflush"]]


def test_restore_refusal_is_an_iptables_error_with_the_input():
    run = FakeRun({"--help": (0, HELP_LEGACY, ""),
                   "--noflush --wait": (1, "", "iptables-restore: line 2 failed\n")})
    with pytest.raises(BackendError) as err:
        ipt.Iptables(run, which).restore("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n")
    assert isinstance(err.value, IptablesError)
    assert str(err.value) == ("iptables-restore refused our rules (nothing was changed: it applies all or nothing): "
                              "iptables-restore: line 2 failed")
    assert err.value.details["restore_input"] == "*filter\n-A NOPE -j ACCEPT\nCOMMIT\n"
    assert err.value.details["rc"] == 1


def test_commands_wait_for_the_lock():
    run = FakeRun({"-S PREROUTING": (0, "-P PREROUTING ACCEPT\n-A PREROUTING -d 10.0.0.2/32 -j DROP\n", "")})
    tables = ipt.Iptables(run, which)
    tables.policy("filter", "FORWARD", "ACCEPT")
    tables.insert("raw", "PREROUTING", ["-d", "10.0.0.2/32"])
    tables.append("filter", "X", ["-j", "RETURN"])
    tables.delete("mangle", "POSTROUTING", ["-s", "10.0.0.2/32"])
    assert tables.list_rules("raw", "PREROUTING") == ["-P PREROUTING ACCEPT", "-A PREROUTING -d 10.0.0.2/32 -j DROP"]
    assert run.calls == [
        ["/usr/sbin/iptables", "-w", "-t", "filter", "-P", "FORWARD", "ACCEPT"],
        ["/usr/sbin/iptables", "-w", "-t", "raw", "-I", "PREROUTING", "1", "-d", "10.0.0.2/32"],
        ["/usr/sbin/iptables", "-w", "-t", "filter", "-A", "X", "-j", "RETURN"],
        ["/usr/sbin/iptables", "-w", "-t", "mangle", "-D", "POSTROUTING", "-s", "10.0.0.2/32"],
        ["/usr/sbin/iptables", "-w", "-t", "raw", "-S", "PREROUTING"],
    ]


def test_save_and_its_failures():
    run = FakeRun({"iptables-save -c": (0, fixture("connectivity", "iptables_save_28_raw_drop.txt"), ""),
                   "iptables-save": (1, "", "iptables-save: Permission denied (you must be root)\n")})
    tables = ipt.Iptables(run, which)
    assert tables.save(counters=True)["rules"]
    with pytest.raises(IptablesError) as err:
        tables.save()
    assert str(err.value) == "iptables-save failed (1): iptables-save: Permission denied (you must be root)"
    assert (err.value.command, err.value.rc) == ("/usr/sbin/iptables-save", 1)
    assert err.value.output == "iptables-save: Permission denied (you must be root)"


def test_missing_binary_and_version():
    tables = ipt.Iptables(FakeRun({"--version": (0, "iptables v1.8.9 (nf_tables)\n", "")}),
                          lambda name: None if name == "iptables-save" else "/sbin/" + name)
    assert tables.version() == {"version": "1.8.9", "backend": "nf_tables"}
    assert tables.available("iptables") and not tables.available("iptables-save")
    with pytest.raises(IptablesError) as err:
        tables.save()
    assert str(err.value).startswith("iptables-save is not installed")


def test_module_runner_passes_data_verbatim():
    calls = []

    class Module(object):
        def run_command(self, argv, data=None, binary_data=False):
            calls.append((argv, data, binary_data))
            return 0, "", ""
    run = module_runner(Module())
    run(["iptables-save"])
    run(["iptables-restore"], data="*filter\nCOMMIT\n")
    assert calls == [(["iptables-save"], None, False), (["iptables-restore"], "*filter\nCOMMIT\n", True)]
