"""crosshost.docker.forwarding on real lab hosts (Docker 20.10, 26, 28): the kernel's own sysctls.

Every host has its own network namespace (so its own /proc/sys/net) and a private /etc overlay, so
nothing here reaches the machine: the last test checks that the machine's forwarding sysctls and
/etc/sysctl.d are as they were. The kernel has no 802.1q, so the VLAN-style name eth1.10 is a veth.
"""
import hashlib
import os

import pytest

from labutil import five_ways, run_task

MOD = "crosshost.docker.forwarding"
FILE = "/etc/sysctl.d/60-crosshost-docker.conf"
IFACES = ("all", "default", "eth0", "eth1", "docker0", "eth1.10")


def machine_state():
    """The machine's own forwarding sysctls and sysctl files (read only, never written)."""
    conf = "/proc/sys/net/ipv4/conf"
    values = {name: open(os.path.join(conf, name, "forwarding")).read().strip() for name in sorted(os.listdir(conf))}
    values["ip_forward"] = open("/proc/sys/net/ipv4/ip_forward").read().strip()
    files = {}
    for name in sorted(os.listdir("/etc/sysctl.d")) + ["../sysctl.conf"]:
        path = os.path.join("/etc/sysctl.d", name)
        files[name] = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.isfile(path) else None
    return values, files


@pytest.fixture(scope="module")
def machine():
    return machine_state()


@pytest.fixture(scope="module")
def lab(lab_factory, machine):
    lab = lab_factory("fw", hosts=3, engines="20.10 26 28")
    for host in ("h1", "h2", "h3"):
        # A veth named like a VLAN sub-interface (no 802.1q in this kernel).
        lab.sh(host, "ip link add eth1.10 type veth peer name v10p && ip link set eth1.10 up")
    return lab


def runtime(lab, host, names=IFACES):
    """ip_forward and the per-interface forwarding values, straight from /proc."""
    script = "cd /proc/sys/net/ipv4 && echo ip_forward=$(cat ip_forward) && for i in %s; do " \
             "[ -e conf/$i ] && echo $i=$(cat conf/$i/forwarding); done; true" % " ".join(names)
    out = lab.sh(host, script).stdout
    return dict(line.split("=", 1) for line in out.split())


def file_text(lab, host, path=FILE):
    proc = lab.sh(host, "cat %s" % path, check=False)
    return proc.stdout if proc.returncode == 0 else None


def other_files(lab, host):
    """Everything in /etc/sysctl.d except our file, and /etc/sysctl.conf, by content."""
    return lab.sh(host, "find /etc/sysctl.d -mindepth 1 ! -name 60-crosshost-docker.conf -printf '%f %y %l %s\\n' | sort; "
                        "sha256sum /etc/sysctl.conf /etc/sysctl.d/README.sysctl").stdout


def probe_of(lab, host):
    def probe():
        return {"runtime": runtime(lab, host), "file": file_text(lab, host), "others": other_files(lab, host)}
    return probe


def key_lines(text):
    return [line for line in (text or "").splitlines() if line and not line.startswith("#")]


def apply(lab, host, args, check=False, diff=False):
    ok, result = run_task(lab, host, MOD, args, check=check, diff=diff)
    assert ok, result.get("msg")
    return result


# --- five ways, one scenario per engine ----------------------------------------------------------

SCENARIOS = {
    # fresh host at boot: nothing forwards; everything on (one global write does it all)
    "h1": ("echo 0 > /proc/sys/net/ipv4/ip_forward",
           {"interfaces": ["eth0", "docker0", "eth1.10"]},
           {"ip_forward": "1", "all": "1", "eth0": "1", "docker0": "1", "eth1.10": "1", "eth1": "1"},
           ["net.ipv4.ip_forward = 1", "net.ipv4.conf.eth0.forwarding = 1", "net.ipv4.conf.docker0.forwarding = 1",
            "net.ipv4.conf.eth1/10.forwarding = 1"]),
    # dockerd turned forwarding on everywhere; keep it off on the macvlan segment
    "h2": ("true",
           {"interfaces": ["eth1", "eth1.10"], "interface_forwarding": False},
           {"ip_forward": "1", "all": "1", "eth0": "1", "docker0": "1", "eth1": "0", "eth1.10": "0"},
           ["net.ipv4.ip_forward = 1", "net.ipv4.conf.eth1.forwarding = 0", "net.ipv4.conf.eth1/10.forwarding = 0"]),
    # global switch off, forwarding only between eth0 and docker0 (the per-interface writes come after it)
    "h3": ("true",
           {"ip_forward": False, "interfaces": ["eth0", "docker0"]},
           {"ip_forward": "0", "all": "0", "default": "0", "eth0": "1", "docker0": "1", "eth1": "0", "eth1.10": "0"},
           ["net.ipv4.ip_forward = 0", "net.ipv4.conf.eth0.forwarding = 1", "net.ipv4.conf.docker0.forwarding = 1"]),
}


@pytest.mark.parametrize("host", sorted(SCENARIOS))
def test_five_ways(lab, host):
    setup, args, want, lines = SCENARIOS[host]
    lab.sh(host, setup)
    results = five_ways(lab, host, MOD, args, probe_of(lab, host))
    check, check_diff, applied, idem_check, idem_apply = results

    now = runtime(lab, host)
    for name, value in want.items():
        assert now[name] == value, (name, now)
    text = file_text(lab, host)
    assert key_lines(text) == lines
    assert "Managed by crosshost.docker" in text

    # check mode predicted exactly what apply then did (the planner models the kernel's cascade)
    assert check_diff["runtime"] == applied["runtime"]
    assert check_diff["runtime_changes"] == applied["runtime_changes"] == check["runtime_changes"]
    assert applied["file_changed"] is True and idem_apply["file_changed"] is False
    assert idem_check["runtime_changes"] == [] and idem_apply["runtime_changes"] == []
    assert applied["runtime"] == idem_apply["runtime"]

    file_diff, runtime_diff = check_diff["diff"]
    assert file_diff["before"] == "" and file_diff["after"] == text
    assert runtime_diff["before"] != runtime_diff["after"]
    assert "net.ipv4.ip_forward = %s" % want["ip_forward"] in runtime_diff["after"]


# --- the file as sysctl reads it ------------------------------------------------------------------

def test_sysctl_p_applies_the_dotted_interface(lab):
    host = "h1"
    apply(lab, host, {"interfaces": ["eth0", "docker0", "eth1.10"]})
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/ip_forward")  # everything off, as after a reboot
    assert runtime(lab, host)["eth1.10"] == "0"
    out = lab.sh(host, "sysctl -p %s" % FILE).stdout
    assert "net.ipv4.conf.eth1/10.forwarding = 1" in out
    assert runtime(lab, host)["eth1.10"] == "1" and runtime(lab, host)["ip_forward"] == "1"
    # the literal dotted name is another key (net/ipv4/conf/eth1/10/forwarding): sysctl rejects it
    bad = lab.sh(host, "sysctl -w net.ipv4.conf.eth1.10.forwarding=1", check=False)
    assert bad.returncode != 0 and "eth1/10/forwarding" in bad.stderr, bad
    # and the path form is the same key
    assert lab.sh(host, "sysctl net/ipv4/conf/eth1.10/forwarding").stdout.strip() == \
        "net.ipv4.conf.eth1/10.forwarding = 1"


def test_sysctl_p_keeps_interfaces_off_after_the_global_switch(lab):
    # h2's file turns eth1 and eth1.10 off: ip_forward's line comes first, so its reset is undone
    host = "h2"
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv4/conf/eth1/forwarding")
    lab.sh(host, "sysctl -p %s" % FILE)
    now = runtime(lab, host)
    assert (now["ip_forward"], now["eth0"], now["eth1"], now["eth1.10"]) == ("1", "1", "0", "0"), now


# --- drift ----------------------------------------------------------------------------------------

H1_ARGS = {"interfaces": ["eth0", "docker0", "eth1.10"]}


def test_runtime_drift_is_fixed(lab):
    host = "h1"
    apply(lab, host, H1_ARGS)
    good = file_text(lab, host)
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/conf/eth1.10/forwarding")
    check = apply(lab, host, H1_ARGS, check=True, diff=True)
    assert check["changed"] is True and check["file_changed"] is False
    assert runtime(lab, host)["eth1.10"] == "0"
    result = apply(lab, host, H1_ARGS, diff=True)
    assert result["changed"] is True and result["file_changed"] is False
    assert result["runtime_changes"] == [{"key": "net.ipv4.conf.eth1/10.forwarding", "before": "0", "after": "1"}]
    assert runtime(lab, host)["eth1.10"] == "1" and file_text(lab, host) == good
    assert result["diff"][0]["before"] == result["diff"][0]["after"]  # file untouched


def test_file_drift_is_fixed(lab):
    host = "h1"
    apply(lab, host, H1_ARGS)
    good = file_text(lab, host)
    before = runtime(lab, host)
    lab.sh(host, "sed -i -e 's/eth0.forwarding = 1/eth0.forwarding = 0/' -e '/eth1.10/d' %s" % FILE)
    lab.sh(host, "echo 'net.ipv4.conf.eth1.10.forwarding = 1' >> %s" % FILE)  # the classic mistake
    edited = file_text(lab, host)
    assert edited != good
    check = apply(lab, host, H1_ARGS, check=True)
    assert check["changed"] is True and check["file_changed"] is True and file_text(lab, host) == edited
    result = apply(lab, host, H1_ARGS, diff=True)
    assert result["changed"] is True and result["file_changed"] is True and result["runtime_changes"] == []
    assert file_text(lab, host) == good and runtime(lab, host) == before
    assert result["diff"][0]["before"] == edited and result["diff"][0]["after"] == good
    assert lab.sh(host, "stat -c %a " + FILE).stdout.strip() == "644"


def test_both_drifts_at_once(lab):
    host = "h1"
    apply(lab, host, H1_ARGS)
    good = file_text(lab, host)
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/ip_forward; sed -i 's/= 1/= 0/' %s" % FILE)
    result = apply(lab, host, H1_ARGS)
    assert result["file_changed"] is True and {c["key"] for c in result["runtime_changes"]} == set(result["runtime"])
    assert file_text(lab, host) == good and set(runtime(lab, host, ["eth0", "docker0", "eth1.10"]).values()) == {"1"}


# --- interfaces that appear later -------------------------------------------------------------------

def test_missing_interface_fails_unless_persist_only(lab):
    host = "h3"
    later = "/etc/sysctl.d/61-later.conf"
    args = {"ip_forward": False, "interfaces": ["eth1.20"], "file": later}
    ok, result = run_task(lab, host, MOD, args)
    assert not ok and "interface eth1.20 does not exist on this host" in result["msg"]
    assert "existing interfaces: docker0, eth0, eth1, eth1.10, lo" in result["msg"], result["msg"]
    assert file_text(lab, host, later) is None

    result = apply(lab, host, dict(args, missing_interfaces="persist_only"))
    assert result["persist_only"] == ["net.ipv4.conf.eth1/20.forwarding"]
    assert "net.ipv4.conf.eth1/20.forwarding" not in result["runtime"]
    assert "net.ipv4.conf.eth1/20.forwarding = 1" in key_lines(file_text(lab, host, later))

    # The interface appears (with default.forwarding = 0 on this host). What udev does on a
    # systemd host: systemd-sysctl --prefix for the new device applies our line to it.
    lab.sh(host, "ip link add eth1.20 type veth peer name v20p")
    assert runtime(lab, host, ["eth1.20"])["eth1.20"] == "0"
    if os.path.exists("/lib/systemd/systemd-sysctl"):
        lab.sh(host, "/lib/systemd/systemd-sysctl --prefix=/net/ipv4/conf/eth1.20 %s" % later)
        assert runtime(lab, host, ["eth1.20"])["eth1.20"] == "1"
        lab.sh(host, "echo 0 > /proc/sys/net/ipv4/conf/eth1.20/forwarding")
    # Or the next run sets it.
    result = apply(lab, host, dict(args, missing_interfaces="persist_only"))
    assert result["persist_only"] == [] and result["file_changed"] is False
    assert result["runtime_changes"] == [{"key": "net.ipv4.conf.eth1/20.forwarding", "before": "0", "after": "1"}]
    result = apply(lab, host, dict(args, state="absent"))
    assert result["changed"] is True and file_text(lab, host, later) is None


# --- bad input: a clear message, the host unchanged -------------------------------------------------

BAD = [
    ({"interfaces": ["eth1/10"]}, ["'eth1/10' contains '/'", "'eth1.10'"]),
    ({"interfaces": ["eth1.10-too-long"]}, ["16 characters", "at most 15"]),
    ({"interfaces": ["eth9"]}, ["interface eth9 does not exist", "existing interfaces: docker0, eth0, eth1, eth1.10, lo"]),
    ({"interfaces": ["eth0", "eth9", "eth8"], "persist": False},
     ["interfaces eth9, eth8 do not exist", "missing_interfaces=persist_only needs persist=true"]),
    ({"interfaces": ["all"]}, ["same kernel switch as net.ipv4.ip_forward"]),
    ({"extra": {"kernel.pid_max": 65536}}, ["'kernel.pid_max' is not a net.* sysctl"]),
    ({"extra": {"net.ipv4.conf.eth1.10.rp_filter": 1}}, ["/proc/sys/net/ipv4/conf/eth1/10/rp_filter", "eth1/10"]),
    ({"extra": {"net.ipv4.route.flush": 1}}, ["cannot read /proc/sys/net/ipv4/route/flush"]),
    ({"file": "/etc/sysctl.conf"}, ["must not be /etc/sysctl.conf"]),
    ({"file": "/etc/sysctl.d/99-sysctl.conf"}, ["resolves to /etc/sysctl.conf"]),
    ({"file": "/etc/sysctl.d/60-crosshost-docker"}, ["must end with .conf"]),
    ({"file": "/etc/sysctl.d/50-foreign.conf"}, ["not managed by crosshost.docker", "left alone"]),
    ({"file": "/etc/sysctl.d/50-foreign.conf", "state": "absent"}, ["not managed by crosshost.docker"]),
]


@pytest.mark.parametrize("args, words", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_a_clear_message_and_changes_nothing(lab, args, words):
    host = "h2"
    lab.sh(host, "[ -e /etc/sysctl.d/50-foreign.conf ] || printf 'net.ipv4.ip_forward = 0\\n' > /etc/sysctl.d/50-foreign.conf")
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/conf/eth0/forwarding")  # something the module would change
    probe = probe_of(lab, host)
    foreign = file_text(lab, host, "/etc/sysctl.d/50-foreign.conf")
    before = probe()
    for check in (True, False):
        ok, result = run_task(lab, host, MOD, args, check=check)
        assert not ok, result
        for word in words:
            assert word in result["msg"], (word, result["msg"])
        assert probe() == before
        assert file_text(lab, host, "/etc/sysctl.d/50-foreign.conf") == foreign


def test_value_the_kernel_rejects_fails_before_the_file_is_written(lab):
    host = "h2"
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/conf/eth0/forwarding")
    probe = probe_of(lab, host)
    before = probe()
    args = {"interfaces": ["eth0"], "extra": {"net.ipv4.ip_local_port_range": "many ports"}}
    ok, result = run_task(lab, host, MOD, args)
    assert not ok
    assert "cannot write 'many ports' to /proc/sys/net/ipv4/ip_local_port_range" in result["msg"], result["msg"]
    assert "Keys written before it: none." in result["msg"] and "was not changed" in result["msg"], result["msg"]
    assert probe() == before  # the global extra key comes before the interfaces: nothing was written


# --- state=absent ---------------------------------------------------------------------------------

def test_absent_removes_our_file_only(lab):
    host = "h1"
    apply(lab, host, H1_ARGS)
    now, others = runtime(lab, host), other_files(lab, host)
    text = file_text(lab, host)
    check = apply(lab, host, {"state": "absent"}, check=True, diff=True)
    assert check["changed"] is True and file_text(lab, host) == text
    assert check["diff"][0]["before"] == text and check["diff"][0]["after"] == ""
    result = apply(lab, host, {"state": "absent"})
    assert result["changed"] is True and result["file_changed"] is True and result["runtime_changes"] == []
    assert set(result["runtime"]) == {"net.ipv4.ip_forward", "net.ipv4.conf.eth0.forwarding",
                                      "net.ipv4.conf.docker0.forwarding", "net.ipv4.conf.eth1/10.forwarding"}
    assert file_text(lab, host) is None
    assert runtime(lab, host) == now and other_files(lab, host) == others  # runtime stays until reboot
    again = apply(lab, host, {"state": "absent"})
    assert again["changed"] is False


def test_persist_false_sets_runtime_only(lab):
    host = "h1"
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/ip_forward")
    result = apply(lab, host, {"persist": False, "interfaces": ["eth1.10"]}, diff=True)
    assert result["changed"] is True and result["file_changed"] is False and len(result["diff"]) == 1
    assert runtime(lab, host)["eth1.10"] == "1" and file_text(lab, host) is None


# --- the kernel facts the planner relies on -----------------------------------------------------------

def test_ip_forward_and_all_forwarding_are_one_switch(lab):
    host = "h2"
    lab.sh(host, "echo 1 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/ipv4/conf/eth1/forwarding")
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/conf/all/forwarding")
    now = runtime(lab, host)
    assert set(now.values()) == {"0"}, now  # ip_forward, all, default and every interface
    lab.sh(host, "echo 1 > /proc/sys/net/ipv4/ip_forward")
    now = runtime(lab, host)
    assert set(now.values()) == {"1"}, now
    lab.sh(host, "echo 0 > /proc/sys/net/ipv4/conf/eth1/forwarding; echo 1 > /proc/sys/net/ipv4/ip_forward")
    assert runtime(lab, host)["eth1"] == "0"  # same value again: no reset


@pytest.mark.parametrize("host", ["h1", "h2", "h3"])
def test_dockerd_start_keeps_interface_values_when_the_file_ran_first(lab, host):
    """Boot order: sysctl.d (ip_forward=1 first) before dockerd; dockerd then leaves eth1 off."""
    args = {"interfaces": ["eth1"], "interface_forwarding": False}
    apply(lab, host, args)
    lab.sh(host, "/etc/init.d/docker stop; echo 0 > /proc/sys/net/ipv4/ip_forward", timeout=120)
    lab.sh(host, "sysctl -p %s && /etc/init.d/docker start" % FILE, timeout=120)
    lab.sh(host, "for i in $(seq 50); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1")
    now = runtime(lab, host)
    assert (now["ip_forward"], now["eth1"], now["docker0"]) == ("1", "0", "1"), now
    # Without the file first, dockerd's own ip_forward=1 resets every interface; the next run fixes it.
    lab.sh(host, "/etc/init.d/docker stop; echo 0 > /proc/sys/net/ipv4/ip_forward; /etc/init.d/docker start",
           timeout=120)
    lab.sh(host, "for i in $(seq 50); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1")
    assert runtime(lab, host)["eth1"] == "1"
    result = apply(lab, host, args)
    assert result["runtime_changes"] == [{"key": "net.ipv4.conf.eth1.forwarding", "before": "1", "after": "0"}]
    assert result["file_changed"] is False and runtime(lab, host)["eth1"] == "0"


def test_machine_untouched(lab, machine):
    assert machine_state() == machine
