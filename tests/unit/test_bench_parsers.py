# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, parsers: iperf3 -J, iputils ping, /proc/net/snmp, ip route/link, moto's request recording,
the json callback's recap. Inputs are real outputs captured on a lab (trimmed where marked)."""
from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.crosshost.docker.tests.unit import helpers

benchlib = helpers.load_script("crosshost_benchlib", "benchmarks", "benchlib.py")

# iperf3 3.12 -J, container to container over direct routes (start/intervals/streams trimmed).
IPERF_OK = json.dumps({
    "start": {"version": "iperf 3.12", "tcp_mss_default": 1448},
    "intervals": [],
    "end": {
        "sum_sent": {"start": 0, "end": 2.000938, "seconds": 2.000938, "bytes": 3187671040,
                     "bits_per_second": 12744706892.467432, "retransmits": 3, "sender": True},
        "sum_received": {"start": 0, "end": 2.001536, "seconds": 2.001536, "bytes": 3187671040,
                         "bits_per_second": 12740899149.453218, "sender": True},
        "cpu_utilization_percent": {"host_total": 97.07189676924605, "host_user": 0.5141367639738808,
                                    "host_system": 96.55776000527217, "remote_total": 86.16398894070366,
                                    "remote_user": 1.2400241010324875, "remote_system": 84.9238649183093},
        "sender_tcp_congestion": "bbr"}}, indent="\t")

# iperf3 3.12 -J against a port nothing listens on (complete).
IPERF_REFUSED = """{
\t"start":\t{
\t\t"connected":\t[],
\t\t"version":\t"iperf 3.12",
\t\t"system_info":\t"Linux vm 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 x86_64"
\t},
\t"intervals":\t[],
\t"end":\t{
\t},
\t"error":\t"unable to connect to server: Connection refused"
}
"""

PING_OK = """PING 192.168.1.12 (192.168.1.12) 56(84) bytes of data.
64 bytes from 192.168.1.12: icmp_seq=1 ttl=64 time=0.157 ms
64 bytes from 192.168.1.12: icmp_seq=2 ttl=64 time=0.076 ms
64 bytes from 192.168.1.12: icmp_seq=2 ttl=64 time=0.081 ms (DUP!)
64 bytes from 192.168.1.12: icmp_seq=3 ttl=64 time=0.075 ms

--- 192.168.1.12 ping statistics ---
3 packets transmitted, 3 received, +1 duplicates, 0% packet loss, time 406ms
rtt min/avg/max/mdev = 0.075/0.102/0.157/0.038 ms
"""

PING_LOST = """PING 192.168.1.99 (192.168.1.99) 56(84) bytes of data.

--- 192.168.1.99 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 201ms

"""

PING_DF_TOO_BIG = """PING 192.168.1.12 (192.168.1.12) 1473(1501) bytes of data.
ping: local error: message too long, mtu=1500

--- 192.168.1.12 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
"""

# /proc/<pid>/net/snmp (Ip and Icmp lines; the Icmp ones trimmed). The Ip header line is split here only
# to keep this file's lines short; the parser sees it whole.
SNMP = ("Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards "
        "InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails "
        "FragCreates OutTransmits\n"
        "Ip: 1 64 6 0 0 0 0 0 4 8 0 0 0 0 0 0 0 0 0 8\n"
        "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs\n"
        "Icmp: 3 0 0 0\n")


def test_iperf3_figures():
    res = benchlib.parse_iperf3(IPERF_OK)
    assert res["bps"] == pytest.approx(12740899149.453218)  # what arrived
    assert res["sent_bps"] == pytest.approx(12744706892.467432)
    assert res["retransmits"] == 3 and res["seconds"] == pytest.approx(2.001536)
    assert res["cpu_sender"] == pytest.approx(97.07, abs=0.01) and res["cpu_receiver"] == pytest.approx(86.16, abs=0.01)


def test_iperf3_error_is_raised_with_its_message():
    with pytest.raises(ValueError, match="iperf3: unable to connect to server: Connection refused"):
        benchlib.parse_iperf3(IPERF_REFUSED)


@pytest.mark.parametrize("text, words", [
    ("", "did not print JSON"),
    ("iperf3: error - unable to connect", "did not print JSON"),
    ('{"start": {}, "end": {}}', "no end.sum_received"),
    ('{"end": {"sum": {"bits_per_second": 1}}}', "was it a TCP test"),
])
def test_iperf3_unusable_output(text, words):
    with pytest.raises(ValueError, match=words):
        benchlib.parse_iperf3(text)


def test_ping_samples_skip_duplicates():
    res = benchlib.parse_ping(PING_OK)
    assert res == {"rtt_ms": [0.157, 0.076, 0.075], "sent": 3, "received": 3}


def test_ping_with_every_echo_lost():
    assert benchlib.parse_ping(PING_LOST) == {"rtt_ms": [], "sent": 2, "received": 0}
    assert benchlib.parse_ping(PING_DF_TOO_BIG) == {"rtt_ms": [], "sent": 1, "received": 0}


def test_ping_sub_resolution_times_and_no_summary():
    text = "64 bytes from 10.0.1.2: icmp_seq=7 ttl=63 time<0.001 ms\n"
    assert benchlib.parse_ping(text) == {"rtt_ms": [0.001], "sent": None, "received": None}


def test_snmp_ip_counters_and_fragments():
    before = benchlib.parse_snmp_ip(SNMP)
    assert before["FragCreates"] == 0 and before["InReceives"] == 6 and before["OutTransmits"] == 8
    after = dict(before, FragCreates=4, ReasmReqds=6, ReasmOKs=3, InReceives=900)
    assert benchlib.fragments(before, before) == 0
    assert benchlib.fragments(before, after) == 10  # fragments made plus fragments received
    with pytest.raises(ValueError, match="no Ip:"):
        benchlib.parse_snmp_ip("Icmp: InMsgs\nIcmp: 3\n")


def test_route_dev_and_mtu():
    assert benchlib.parse_route_dev("192.168.1.12 dev eth0 src 192.168.1.11 uid 0 \\    cache ") == "eth0"
    assert benchlib.parse_route_dev("10.30.0.3 dev eth0 src 10.30.0.2 uid 0 \\    cache ") == "eth0"
    link = ("2: eth0@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP mode DEFAULT group "
            "default qlen 1000\\    link/ether 8e:b9:f4:66:78:40 brd ff:ff:ff:ff:ff:ff link-netns hbu-ul")
    assert benchlib.parse_mtu(link) == 1450
    with pytest.raises(ValueError, match="no dev"):
        benchlib.parse_route_dev("RTNETLINK answers: Network is unreachable")
    with pytest.raises(ValueError, match="no mtu"):
        benchlib.parse_mtu("Device \"eth9\" does not exist.")


def recorded(body, encoded=True, url="http://127.0.0.1:5987/"):
    """One line of moto's request recorder (moto/moto_api/_internal/recorder/models.py), as it writes it."""
    return json.dumps({"headers": {"Host": "127.0.0.1:5987",
                                   "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                       "method": "POST", "url": url,
                       "body": base64.b64encode(body.encode()).decode() if encoded else body, "body_encoded": encoded})


def test_cloud_calls_from_moto_recording():
    # The first two lines are verbatim from a recording (CreateVpc, DescribeRouteTables by boto3).
    recording = "\n".join([
        '{"headers": {"Host": "127.0.0.1:5987", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, '
        '"method": "POST", "url": "http://127.0.0.1:5987/", '
        '"body": "QWN0aW9uPUNyZWF0ZVZwYyZWZXJzaW9uPTIwMTYtMTEtMTUmQ2lkckJsb2NrPTE5Mi4xNjguMC4wJTJGMTY=", "body_encoded": true}',
        '{"headers": {"Host": "127.0.0.1:5987", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, '
        '"method": "POST", "url": "http://127.0.0.1:5987/", '
        '"body": "QWN0aW9uPURlc2NyaWJlUm91dGVUYWJsZXMmVmVyc2lvbj0yMDE2LTExLTE1", "body_encoded": true}',
        recorded("Action=CreateRoute&Version=2016-11-15&RouteTableId=rtb-1&DestinationCidrBlock=10.0.1.0%2F24"),
        recorded("Action=ModifyInstanceAttribute&InstanceId=i-1&SourceDestCheck.Value=false", encoded=False),
        recorded("", url="http://127.0.0.1:5987/?Action=DescribeInstances&Version=2016-11-15"),
        recorded("Action=ReplaceRoute&RouteTableId=rtb-1"),
        recorded("Action=DeleteRoute&RouteTableId=rtb-1"),
        recorded("Action=GetManagedPrefixListEntries"),
        "",
    ])
    reads, writes = benchlib.cloud_calls(recording)
    assert reads == ["DescribeRouteTables", "DescribeInstances", "GetManagedPrefixListEntries"]
    assert writes == ["CreateVpc", "CreateRoute", "ModifyInstanceAttribute", "ReplaceRoute", "DeleteRoute"]
    assert benchlib.cloud_calls("") == ([], [])


def test_cloud_calls_json_protocol_uses_the_target_header():
    line = json.dumps({"headers": {"X-Amz-Target": "DynamoDB_20120810.PutItem"}, "method": "POST",
                       "url": "http://127.0.0.1:1/", "body": "{}", "body_encoded": False})
    assert benchlib.cloud_calls(line) == ([], ["PutItem"])


def test_recap_totals():
    stats = {"h1": {"changed": 5, "failures": 0, "ok": 21, "unreachable": 0},
             "h2": {"changed": 4, "failures": 1, "ok": 17, "unreachable": 0},
             "h3": {"changed": 0, "failures": 0, "ok": 3, "unreachable": 1}}
    assert benchlib.recap_changed(stats) == 9
    assert benchlib.recap_failed(stats) == 2
    assert benchlib.recap_changed({}) == 0 and benchlib.recap_failed({}) == 0
