# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Route-table writes at scale (issue 15): crosshost.docker.route_table with provider aws against
moto_server on 127.0.0.1, for a cluster of N hosts (N instances, one /24 route each), first run and
rerun; wall time and the API calls moto's request recorder logged, classified by action.

    python benchmarks/bench_cloud_scale.py [--sizes "3 10 25 50"]     (part of `make bench`: BENCH_CLOUD_SIZES)

No lab and no root: moto stands in for AWS (no AWS account is reachable here), every call goes to
127.0.0.1. Above 50 routes the module needs `max_routes` (AWS's default quota is 50 routes per table);
the run sets it to the size when the size is above 50.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SIZES = "3 10 25 50"
REGION = "us-east-1"
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - name: Routes in the cloud route table
      crosshost.docker.route_table: "{{ bench_args }}"
      register: bench_result
"""


def parse_sizes(raw, default=DEFAULT_SIZES):
    """Sizes in hosts from a string like "3 10 25 50" (0 or empty list: skip); ValueError names the fix."""
    text = (default if raw is None or not str(raw).strip() else str(raw)).replace(",", " ")
    try:
        sizes = sorted({int(v) for v in text.split()})
    except ValueError:
        raise ValueError(f"BENCH_CLOUD_SIZES={raw!r}: whole numbers of hosts, e.g. {DEFAULT_SIZES!r}") from None
    if sizes == [0]:
        return []
    if not sizes or sizes[0] < 1 or sizes[-1] > 250:
        raise ValueError(f"BENCH_CLOUD_SIZES={raw!r}: sizes from 1 to 250 (a /24 each inside 10.0.0.0/16), or 0 to skip")
    return sizes


def routes_for(instances):
    return [{"host": f"h{i + 1}", "destination": f"10.0.{i}.0/24", "next_hop": inst} for i, inst in enumerate(instances)]


def _bench():
    sys.path.insert(0, HERE)
    import bench  # pylint: disable=import-outside-toplevel

    return bench


def run_module(python, workdir, module_args, env):
    """One ansible-playbook run of the module on localhost; (seconds, result dict, rc)."""
    with open(os.path.join(workdir, "args.json"), "w") as f:
        json.dump({"bench_args": module_args}, f)
    cmd = [os.path.join(os.path.dirname(python), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           os.path.join(workdir, "play.yml"), "-e", "@" + os.path.join(workdir, "args.json"),
           "-e", f"ansible_python_interpreter={python}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir, timeout=900, check=False)
    seconds = time.perf_counter() - start
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        result = {"failed": True, "msg": (proc.stdout + proc.stderr)[-1500:]}
    return seconds, result, proc.returncode


def measure(sizes, log=print):
    """{"date", "sizes": [{"hosts", "first": {...}, "rerun": {...}}]}; each phase has seconds, writes
    (actions), reads (count), changed, the module's own write_calls, and an error when it failed."""
    import datetime  # pylint: disable=import-outside-toplevel

    import boto3  # pylint: disable=import-outside-toplevel

    bench = _bench()
    from labclient import collections_path  # pylint: disable=import-outside-toplevel

    out = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "sizes": []}
    port = bench.free_port()
    url = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix="crosshost-bench-cloud-")
    env = bench.aws_env(os.environ)
    env.update(MOTO_RECORDER_FILEPATH=os.path.join(workdir, "recording.jsonl"))
    with open(os.path.join(workdir, "moto.log"), "w") as logf:
        proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        with open(os.path.join(workdir, "play.yml"), "w") as f:
            f.write(PLAYBOOK)
        deadline = time.time() + 30
        while True:
            try:
                bench.moto_call(url, "/moto-api/")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise bench.BenchError("moto_server did not start") from None
                time.sleep(0.2)
        ec2 = boto3.client("ec2", endpoint_url=url, region_name=REGION, aws_access_key_id="AKIDBENCH",
                           aws_secret_access_key="bench-secret")
        play_env = dict(env, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                        ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False",
                        ANSIBLE_HOME=os.path.join(workdir, "ansible-home"))
        for hosts in sizes:
            vpc = ec2.create_vpc(CidrBlock="192.168.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="192.168.1.0/24")["Subnet"]["SubnetId"]
            instances = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=hosts, MaxCount=hosts,
                                                                    SubnetId=subnet)["Instances"]]
            rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            module_args = {"provider": "aws", "region": REGION, "route_table_id": rtb, "endpoint_url": url,
                           "access_key": "AKIDBENCH", "secret_key": "bench-secret", "managed_cidrs": ["10.0.0.0/16"],
                           "routes": routes_for(instances)}
            if hosts > 50:
                module_args["max_routes"] = hosts
            entry = {"hosts": hosts}
            for phase in ("first", "rerun"):
                bench.moto_call(url, "/moto-api/recorder/reset-recording")
                bench.moto_call(url, "/moto-api/recorder/start-recording")
                seconds, result, rc = run_module(sys.executable, workdir, module_args, play_env)
                bench.moto_call(url, "/moto-api/recorder/stop-recording")
                reads, writes = _benchlib().cloud_calls(bench.moto_call(url, "/moto-api/recorder/download-recording"))
                entry[phase] = {"seconds": round(seconds, 1), "writes": writes, "reads": len(reads),
                                "changed": bool(result.get("changed")), "module_write_calls": result.get("write_calls")}
                if rc != 0 or result.get("failed"):
                    entry[phase]["error"] = str(result.get("msg", f"rc {rc}"))[:500]
                log(f"cloud scale {hosts} hosts: {phase} {seconds:.1f} s, {len(writes)} writes, {len(reads)} reads")
            out["sizes"].append(entry)
    finally:
        proc.terminate()  # the moto_server this run started, by its PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def _benchlib():
    import benchlib  # pylint: disable=import-outside-toplevel

    return benchlib


def write_summary(writes):
    """`36 (CreateRoute 25, ModifyInstanceAttribute 11)` of a list of write actions."""
    counts = {}
    for action in writes:
        counts[action] = counts.get(action, 0) + 1
    if not counts:
        return "0"
    return f"{len(writes)} (" + ", ".join(f"{a} {n}" for a, n in sorted(counts.items())) + ")"


def section(cloud):
    """Markdown lines for docs/benchmarks.md."""
    if not cloud or not cloud.get("sizes"):
        return []
    lines = ["### Route-table writes at scale (AWS API in moto)", "",
             "`crosshost.docker.route_table` with provider aws against moto_server on 127.0.0.1 (no AWS account is "
             "reachable here; moto stands in), one /24 route per host to its instance, measured "
             f"{cloud.get('date', '?')} (`benchmarks/bench_cloud_scale.py`). Writes and reads: the API calls moto's "
             "request recorder logged. Above 50 routes the run sets `max_routes` (AWS's default quota is 50 routes "
             "per table; without it the module refuses before any write).", "",
             "| hosts | first run s | first run writes | reads | rerun s | rerun writes | rerun reads |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in cloud["sizes"]:
        first, rerun = e.get("first") or {}, e.get("rerun") or {}
        cells = [str(e["hosts"]), f"{first.get('seconds', '-')}", write_summary(first.get("writes") or []),
                 str(first.get("reads", "-")), f"{rerun.get('seconds', '-')}", write_summary(rerun.get("writes") or []),
                 str(rerun.get("reads", "-"))]
        lines.append("| " + " | ".join(cells) + " |")
    errors = [f"{e['hosts']} hosts, {p}: {e[p]['error']}" for e in cloud["sizes"] for p in ("first", "rerun")
              if (e.get(p) or {}).get("error")]
    if errors:
        lines += [""] + [f"- failed: {x}" for x in errors]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_CLOUD_SIZES"))
    args = parser.parse_args(argv)
    cloud = measure(parse_sizes(args.sizes))
    print("\n".join(section(cloud)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
