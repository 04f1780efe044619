"""Each scheme playbook runs as an AWX job: ansible-runner (the engine AWX hands its jobs to) on a
private data directory laid out as AWX lays it out, against real lab hosts.

AWX's part is reproduced from its source: the inventory is a script that prints the inventory's JSON
(inventory/hosts), the extra vars are the job template's variables, then the survey's defaults, then
the launch answers (env/extravars, launch values tagged !unsafe), the credentials are environment
variables (env/envvars: AWX's Amazon Web Services injector and the Alibaba Cloud credential type of
docs/awx/), AWX's command line (env/cmdline) and runner settings (env/settings). The project is
docs/awx/project/ (the thin wrappers a playbooks repository holds), and the collection is this tree.

The AWS inventory source of docs/awx/inventory/aws_ec2.yml is run the same way (ansible-inventory
through ansible-runner, the AWS credential in the environment) against moto_server on 127.0.0.1.

Per scheme: the job is `successful` with rc 0; its events end in playbook_on_stats with no failed or
unreachable host, no task failed, and the role's verification matrix is in the job output with every
pair ok; no secret (a password survey answer, the credentials' secret keys) appears in any event;
and the hosts are in the state the survey asked for.
"""
import importlib.util
import json
import os
import re
import secrets
import shutil
import sys

import pytest
import yaml

from labutil import REPO, Lab, collections_path
import test_route_table_aws as aws_tests

ansible_runner = pytest.importorskip("ansible_runner")
endpoint = aws_tests.endpoint  # the moto_server fixture (module scope: started once, stopped by its PID)
clean_env = aws_tests.clean_env

# The survey checks import the unit tests' helpers as part of the collection: put it on the path.
if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
_spec = importlib.util.spec_from_file_location("awx_survey", os.path.join(REPO, "tests", "unit", "test_survey_specs.py"))
awx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(awx)

PROJECT = os.path.join(REPO, "docs", "awx", "project")
SECRET = "xh-" + secrets.token_hex(12)          # a password survey answer
AWS_SECRET = "aws-" + secrets.token_hex(12)     # injected by the Amazon Web Services credential
ALI_SECRET = "ali-" + secrets.token_hex(12)     # injected by the Alibaba Cloud credential type

MACVLAN_NETWORKS = [
    {"name": "mac_net1", "parent": "eth1", "subnet": "192.168.2.0/24", "gateway": "192.168.2.1"},
    {"name": "mac_net2", "parent": "eth1.10", "vlan": {"link": "eth1", "id": 10}, "subnet": "192.168.10.0/24",
     "gateway": "192.168.10.1"},
]

# Per scheme: the lab, the job template's own variables (what an admin types into the template), the
# launch answers (what a user types into the survey; every other question keeps its default), the
# credentials attached, and the task whose output is the verification matrix.
JOBS = {
    "direct_route": {
        "lab": ("awxdr", "20.10 28", ""),
        "template": {"direct_route_verify": True, "direct_route_purge_routes": True},
        "answers": {"direct_route_secret_key": SECRET},   # with provider linux the key is never used
        "credentials": {"AWS_ACCESS_KEY_ID": "AKIAXHTEST", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                        "ALICLOUD_ACCESS_KEY": "LTAIxhtest", "ALICLOUD_SECRET_KEY": ALI_SECRET, "ALICLOUD_REGION": ""},
        "matrix_task": "Print the matrix",
    },
    "direct_route_drift": {  # runs on the direct_route job's lab, after it; job type Check (--check)
        "job_type": "check",
        "template": {},
        "answers": {"direct_route_forward_policy": "drop"},
        "credentials": {},
    },
    "macvlan": {
        "lab": ("awxmv", "20.10 28", "10"),
        "template": {"macvlan_networks": MACVLAN_NETWORKS, "macvlan_shim": True, "macvlan_verify": True,
                     "macvlan_accept_existing_links": True},  # the lab's eth1.10 is a stand-in veth, not a VLAN
        "answers": {"macvlan_verify_image": "local/probe:latest"},
        "credentials": {},
        "matrix_task": "Print the matrix",
    },
    "overlay": {
        "lab": ("awxov", "20.10 28", ""),
        "template": {"overlay_networks": [{"name": "xh_overlay", "subnet": "10.20.0.0/24"}], "overlay_verify": True},
        "answers": {"overlay_backend": "swarm", "overlay_verify_image": "local/probe:latest", "overlay_kv_token": SECRET},
        "credentials": {},
        "matrix_task": "Print the matrix",
    },
}


def awx_inventory_script(lab):
    """inventory/hosts as AWX writes it (RunJob.write_inventory_file): a script printing the JSON."""
    data = json.loads(lab.lab("inventory-json").stdout)
    data["all"]["children"] = sorted(g for g in data if g not in ("all", "_meta"))
    return "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(data)


def private_data_dir(base, lab, scheme, job, answers=None):
    """The directory AWX gives ansible-runner for one job; returns (path, extra vars)."""
    pdd = os.path.join(base, "job-" + "-".join(f"{k}={v}" for k, v in sorted((answers or {}).items())))
    shutil.copytree(PROJECT, os.path.join(pdd, "project"))
    for sub in ("inventory", "env"):
        os.makedirs(os.path.join(pdd, sub))
    with open(os.path.join(pdd, "inventory", "hosts"), "w") as f:
        f.write(awx_inventory_script(lab))
    os.chmod(os.path.join(pdd, "inventory", "hosts"), 0o700)

    with open(os.path.join(REPO, "docs", "awx", "surveys", scheme + ".json")) as f:
        survey = json.load(f)
    assert awx.spec_errors(survey) == []
    extra = awx.launch_extra_vars(survey, job["template"], {**job["answers"], **(answers or {})})
    meta = {f"{p}_{k}": v for p in ("awx", "tower") for k, v in
            {"job_id": 1, "job_launch_type": "manual", "job_template_name": "crosshost: " + scheme,
             "inventory_name": lab.name, "user_name": "admin"}.items()}
    with open(os.path.join(pdd, "env", "extravars"), "w") as f:
        f.write(awx.awx_extravars_yaml({**extra, **meta}, safe=job["template"]))

    venv_bin = os.path.dirname(sys.executable)
    envvars = {"ANSIBLE_COLLECTIONS_PATH": collections_path(), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_DEPRECATION_WARNINGS": "False", "ANSIBLE_HOST_KEY_CHECKING": "False",
               "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""), "AWX_PRIVATE_DATA_DIR": pdd, **job["credentials"]}
    with open(os.path.join(pdd, "env", "envvars"), "w") as f:
        yaml.safe_dump(envvars, f)
    # Job template: verbosity 1 (every task result is in the output), privilege escalation is
    # implied by the lab's connection (root in the host's namespaces).
    with open(os.path.join(pdd, "env", "cmdline"), "w") as f:
        f.write("-u root --forks=5 -v" + (" --check" if job.get("job_type") == "check" else ""))
    with open(os.path.join(pdd, "env", "settings"), "w") as f:
        json.dump({"job_timeout": 1800, "suppress_ansible_output": True, "suppress_output_file": False}, f)
    return pdd, extra


def run_job(tmp_path, lab, scheme, monkeypatch, answers=None):
    job = JOBS[scheme]
    pdd, extra = private_data_dir(str(tmp_path), lab, scheme, job, answers)
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_CONFIG", "ANSIBLE_STDOUT_CALLBACK"):
        monkeypatch.delenv(name, raising=False)
    result = ansible_runner.run(private_data_dir=pdd, playbook=scheme + ".yml", ident="1",
                                inventory=os.path.join(pdd, "inventory", "hosts"), quiet=True)
    events = list(result.events)
    stdout = "\n".join(e.get("stdout", "") for e in events)
    return result, events, stdout, extra


def job_report(result, stdout):
    return f"status={result.status} rc={result.rc}\n{stdout[-8000:]}"


def assert_job_succeeded(result, events, stdout, lab_hosts):
    assert result.status == "successful" and result.rc == 0, job_report(result, stdout)
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1 and events[-1]["event"] == "playbook_on_stats", [e["event"] for e in events[-5:]]
    data = stats[0]["event_data"]
    assert not data.get("failures") and not data.get("dark"), data
    assert set(lab_hosts) <= set(data["ok"]), data
    failed = [e["event_data"].get("task") for e in events
              if e["event"] in ("runner_on_failed", "runner_on_unreachable") and not e["event_data"].get("ignore_errors")]
    assert failed == [], failed


def assert_no_secret(events, more=()):
    for event in events:
        text = event.get("stdout", "") + json.dumps(event.get("event_data", {}))
        for secret in (SECRET, AWS_SECRET, ALI_SECRET, *more):
            assert secret not in text, f"a secret appears in event {event['counter']} ({event['event']})"


def matrix_outputs(events, task_prefix):
    """The messages of the debug tasks that print a verification matrix (one event per loop item
    for a task with a loop)."""
    out = []
    for e in events:
        data = e.get("event_data", {})
        if (e["event"] in ("runner_on_ok", "runner_item_on_ok") and data.get("task", "").startswith(task_prefix)
                and "results" not in data.get("res", {})):
            msg = data.get("res", {}).get("msg")
            out.append("\n".join(msg) if isinstance(msg, list) else str(msg))
    return out


def assert_matrix_all_ok(text, hosts):
    """A matrix_table: a header row naming the hosts, then one row per host with a cell per host
    ('-' on the diagonal); every other cell must be 'ok'."""
    rows = [line.split() for line in text.splitlines() if line.split() and line.split()[0] in hosts]
    assert sorted(r[0] for r in rows) == sorted(hosts), text
    for row in rows:
        cells = row[-len(hosts):]
        assert cells.count("-") == 1 and all(c == "ok" for c in cells if c != "-"), text


@pytest.fixture(scope="module")
def labs():
    made = {}

    def get(scheme):
        if scheme not in made:
            suffix, engines, vlans = JOBS[scheme]["lab"]
            lab = Lab(suffix, hosts=2, engines=engines)
            if vlans:
                lab.env["LAB_VLANS"] = vlans
            made[scheme] = lab
            lab.up()
        return made[scheme]

    yield get
    for lab in made.values():
        lab.down()


HOSTS = ["h1", "h2"]


def test_direct_route_job(labs, tmp_path, monkeypatch):
    lab = labs("direct_route")
    result, events, stdout, extra = run_job(tmp_path, lab, "direct_route", monkeypatch)
    assert_job_succeeded(result, events, stdout, HOSTS)
    assert_no_secret(events)
    matrices = matrix_outputs(events, JOBS["direct_route"]["matrix_task"])
    assert len(matrices) == 1, stdout[-4000:]
    assert_matrix_all_ok(matrices[0], HOSTS)
    # The survey's defaults are what the hosts got: a /24 (direct_route_prefix) per host from the
    # role's pool, routed by the inventory's router (the question was left blank).
    assert extra["direct_route_prefix"] == 24 and "direct_route_router" not in extra
    routes = lab.sh("rt", "ip -4 route show").stdout
    for host in HOSTS:
        bip = lab.sh(host, "ip -4 -o addr show docker0").stdout.split()[3]
        assert re.fullmatch(r"10\.0\.\d+\.1/24", bip), bip
        subnet = bip.rsplit(".", 1)[0] + ".0/24"
        assert f"{subnet} via {lab.state['hosts'][host]['address']}" in routes, routes


def test_direct_route_drift_job(labs, tmp_path, monkeypatch):
    """The nightly drift template (docs/day2.md): check mode, passes on a converged cluster, fails on
    drift and names each item, and changes nothing."""
    lab = labs("direct_route")
    if lab.sh("h1", "iptables -S CROSSHOST-FORWARD", check=False).returncode != 0:
        result, events, stdout, _extra = run_job(tmp_path / "converge", lab, "direct_route", monkeypatch)
        assert_job_succeeded(result, events, stdout, HOSTS)
    result, events, stdout, _extra = run_job(tmp_path / "clean", lab, "direct_route_drift", monkeypatch)
    assert_job_succeeded(result, events, stdout, HOSTS)
    assert "drift on" not in stdout

    lab.sh("h1", "iptables -P FORWARD ACCEPT")
    subnet = lab.sh("h2", "ip -4 -o addr show docker0").stdout.split()[3].rsplit(".", 1)[0] + ".0/24"
    lab.sh("rt", f"ip route del {subnet}")
    before = {h: lab.sh(h, "iptables-save | grep -v '^#'; cat /etc/docker/daemon.json").stdout for h in HOSTS}
    routes = lab.sh("rt", "ip -4 route show").stdout
    result, events, stdout, _extra = run_job(tmp_path / "drift", lab, "direct_route_drift", monkeypatch)
    assert result.status == "failed" and result.rc != 0, job_report(result, stdout)
    failed = {e["event_data"]["host"]: e["event_data"]["res"]["msg"] for e in events if e["event"] == "runner_on_failed"}
    assert set(failed) == set(HOSTS), job_report(result, stdout)
    assert failed["h1"].startswith("drift on h1: ") and "FORWARD policy is ACCEPT" in failed["h1"]
    assert f"missing route {subnet} via {lab.state['hosts']['h2']['address']}" in failed["h2"]
    assert {h: lab.sh(h, "iptables-save | grep -v '^#'; cat /etc/docker/daemon.json").stdout for h in HOSTS} == before
    assert lab.sh("rt", "ip -4 route show").stdout == routes
    assert_no_secret(events)


def test_macvlan_job(labs, tmp_path, monkeypatch):
    lab = labs("macvlan")
    result, events, stdout, extra = run_job(tmp_path, lab, "macvlan", monkeypatch)
    assert_job_succeeded(result, events, stdout, HOSTS)
    assert_no_secret(events)
    matrices = matrix_outputs(events, JOBS["macvlan"]["matrix_task"])
    assert len(matrices) == len(MACVLAN_NETWORKS), stdout[-4000:]
    for text in matrices:
        assert_matrix_all_ok(text, HOSTS)
    assert extra["macvlan_parent_mtu"] == 0
    # Each host hands out its own slice of each network.
    for net in MACVLAN_NETWORKS:
        ranges = [lab.sh(h, "docker network inspect -f '{{(index .IPAM.Config 0).IPRange}}' " + net["name"]).stdout.strip()
                  for h in HOSTS]
        assert all(ranges) and len(set(ranges)) == len(HOSTS), ranges


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, "playbooks", "overlay.yml")),
                    reason="playbooks/overlay.yml does not exist yet")
def test_overlay_job(labs, tmp_path, monkeypatch):
    lab = labs("overlay")
    result, events, stdout, extra = run_job(tmp_path, lab, "overlay", monkeypatch)
    assert_job_succeeded(result, events, stdout, HOSTS)
    # The swarm's join tokens are secrets the job itself handles.
    tokens = [lab.sh("h1", f"docker swarm join-token -q {role}").stdout.strip() for role in ("worker", "manager")]
    assert all(tokens)
    assert_no_secret(events, tokens)
    assert extra["overlay_backend"] == "swarm" and extra["overlay_state"] == "present"
    matrices = matrix_outputs(events, JOBS["overlay"]["matrix_task"])
    assert len(matrices) == 1 and "xh_overlay (overlay, MTU 1450)" in matrices[0], stdout[-4000:]
    assert_matrix_all_ok(matrices[0], HOSTS)
    for host in HOSTS:
        assert lab.sh(host, "docker info -f '{{.Swarm.LocalNodeState}}'").stdout.strip() == "active"
    net = json.loads(lab.sh("h1", "docker network inspect xh_overlay").stdout)[0]
    assert net["Driver"] == "overlay" and net["Scope"] == "swarm" and net["IPAM"]["Config"][0]["Subnet"] == "10.20.0.0/24"

    # The survey's other state: the same template launched with "absent" removes it all again.
    result, events, stdout, extra = run_job(tmp_path, lab, "overlay", monkeypatch, {"overlay_state": "absent"})
    assert_job_succeeded(result, events, stdout, HOSTS)
    assert_no_secret(events, tokens)
    for host in HOSTS:
        assert lab.sh(host, "docker info -f '{{.Swarm.LocalNodeState}}'").stdout.strip() == "inactive"
        assert lab.sh(host, "docker network ls -q -f name=^xh_overlay$").stdout.strip() == ""


def test_secret_check_sees_a_leak(tmp_path, monkeypatch):
    """The control for assert_no_secret: a job that prints a password answer is caught (localhost,
    same runner layout, no lab)."""
    pdd = str(tmp_path / "leak")
    os.makedirs(os.path.join(pdd, "project"))
    os.makedirs(os.path.join(pdd, "env"))
    with open(os.path.join(pdd, "project", "leak.yml"), "w") as f:
        yaml.safe_dump([{"name": "Leak", "hosts": "localhost", "gather_facts": False,
                         "tasks": [{"ansible.builtin.debug": {"msg": "key {{ direct_route_secret_key }}"}}]}], f)
    with open(os.path.join(pdd, "env", "extravars"), "w") as f:
        f.write(awx.awx_extravars_yaml({"direct_route_secret_key": SECRET}))
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    result = ansible_runner.run(private_data_dir=pdd, playbook="leak.yml", inventory="localhost,", quiet=True,
                                envvars={"ANSIBLE_LOCALHOST_WARNING": "False"})
    events = list(result.events)
    assert result.status == "successful", "\n".join(e.get("stdout", "") for e in events)
    with pytest.raises(AssertionError, match="a secret appears"):
        assert_no_secret(events)


def test_aws_inventory_source(endpoint, tmp_path, monkeypatch):
    """The EC2 inventory source of docs/awx: tagged running instances become docker_hosts, each with
    its instance id as direct_route's next hop and its region; others are left out."""
    boto3 = pytest.importorskip("boto3")
    source = os.path.join(REPO, "docs", "awx", "inventory", "aws_ec2.yml")
    with open(source) as f:
        region = yaml.safe_load(f)["regions"][0]
    env = clean_env(AWS_ACCESS_KEY_ID="AKIAXHTEST", AWS_SECRET_ACCESS_KEY=AWS_SECRET)
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint, aws_access_key_id="AKIAXHTEST",
                       aws_secret_access_key=AWS_SECRET)
    vpc = ec2.create_vpc(CidrBlock="192.168.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="192.168.1.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]

    def run(count, tags):
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        out = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count, SubnetId=subnet, TagSpecifications=spec)
        return {i["PrivateIpAddress"]: i["InstanceId"] for i in out["Instances"]}

    docker = run(2, {"crosshost": "docker"})
    other = run(1, {"crosshost": "web"})
    stopped = run(1, {"crosshost": "docker"})
    ec2.stop_instances(InstanceIds=list(stopped.values()))

    # AWX runs an inventory update as ansible-inventory in the execution environment, through
    # ansible-runner, with the credential's variables in the environment.
    env.update(AWS_URL=endpoint, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("PATH", env["PATH"])
    out, err = ansible_runner.get_inventory("list", [source], response_format="json", envvars=env, quiet=True,
                                            private_data_dir=str(tmp_path / "inventory-update"))
    assert isinstance(out, dict), f"{out}\n{err}"
    # ansible-inventory marks values that came from a plugin as {"__ansible_unsafe": value}.
    hostvars = {h: {k: v.get("__ansible_unsafe", v) if isinstance(v, dict) else v for k, v in hv.items()}
                for h, hv in out["_meta"]["hostvars"].items()}
    assert sorted(out["docker_hosts"]["hosts"]) == sorted(docker), out.get("docker_hosts")
    for ip, instance in docker.items():
        assert hostvars[ip]["ansible_host"] == ip
        assert hostvars[ip]["direct_route_next_hop"] == instance
        assert hostvars[ip]["direct_route_region"] == region
    assert not set(other) & set(hostvars) and not set(stopped) & set(hostvars)
    assert AWS_SECRET not in json.dumps(out) + str(err)
