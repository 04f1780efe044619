# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes the topology pictures of the scheme guides: docs/img/{direct-route,macvlan,overlay}.svg.

    python3 docs/img/topology.py

Plain SVG (no script, no external font or image) so that GitHub shows it inline. The addresses are
the lab's (lab/lab.py) and the ones the roles planned there.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

RED, BLUE, GREEN, ORANGE, PURPLE, GREY = "#c0392b", "#2e86c1", "#1e8449", "#d68910", "#7d3c98", "#555555"


class Svg:
    def __init__(self, width, height, title):
        self.width, self.height = width, height
        self.out = [
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" '
            'font-family="Helvetica, Arial, sans-serif" font-size="13">' % (width, height, width, height),
            "  <title>%s</title>" % title,
            '  <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker></defs>' % RED,
            '  <rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height),
        ]

    def rect(self, x, y, w, h, fill, stroke, dash=None, width=1.5):
        extra = ' stroke-dasharray="%s"' % dash if dash else ""
        self.out.append('  <rect x="%s" y="%s" width="%s" height="%s" rx="7" fill="%s" stroke="%s" stroke-width="%s"%s/>'
                        % (x, y, w, h, fill, stroke, width, extra))

    def text(self, x, y, s, size=13, anchor="start", bold=False, mono=False, color="#000000"):
        attrs = ' font-size="%s"' % size
        if anchor != "start":
            attrs += ' text-anchor="%s"' % anchor
        if bold:
            attrs += ' font-weight="bold"'
        if mono:
            attrs += ' font-family="monospace"'
        if color != "#000000":
            attrs += ' fill="%s"' % color
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.out.append('  <text x="%s" y="%s"%s>%s</text>' % (x, y, attrs, s))

    def line(self, x1, y1, x2, y2, color, width=2, dash=None):
        extra = ' stroke-dasharray="%s"' % dash if dash else ""
        self.out.append('  <line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>'
                        % (x1, y1, x2, y2, color, width, extra))

    def path(self, points, color=RED, arrow=True, dash="7 4", width=2.2):
        d = "M " + " L ".join("%s %s" % p for p in points)
        self.out.append('  <path d="%s" fill="none" stroke="%s" stroke-width="%s" stroke-dasharray="%s"%s/>'
                        % (d, color, width, dash, ' marker-end="url(#arrow)"' if arrow else ""))

    def write(self, name):
        with open(os.path.join(HERE, name), "w") as f:
            f.write("\n".join(self.out + ["</svg>"]) + "\n")


def direct_route():
    hosts = [("h1", "20.10", "192.168.1.11", "10.0.0"), ("h2", "26", "192.168.1.12", "10.0.1"),
             ("h3", "28", "192.168.1.13", "10.0.2")]
    s = Svg(960, 590, "Direct routes: the VPC route table sends each host's container subnet to that host")
    s.text(480, 26, "Direct routes (seed 000): crosshost.docker.direct_route", 17, "middle", bold=True)
    s.rect(300, 44, 360, 116, "#fef5e7", ORANGE)
    s.text(480, 64, "VPC route table", anchor="middle", bold=True)
    s.text(480, 81, "a Linux router (lab: rt, 192.168.1.1), AWS or Alibaba Cloud", 12, "middle", color=GREY)
    for i, host in enumerate(hosts):
        s.text(330, 106 + 18 * i, "%s.0/24 via %s (%s)" % (host[3], host[2], host[0]), 12.5, mono=True)
    s.line(20, 212, 940, 212, BLUE, 4)
    s.text(24, 203, "underlay: VPC segment 192.168.1.0/24", bold=True, color=BLUE)
    s.line(480, 160, 480, 212, BLUE)
    bw, gap, x0 = 290, 25, 20
    for i, (name, engine, ip, net) in enumerate(hosts):
        x = x0 + i * (bw + gap)
        s.rect(x, 246, bw, 258, "#eaf2f8", BLUE)
        s.line(x + bw // 2, 212, x + bw // 2, 246, BLUE)
        s.text(x + 12, 266, "%s (Docker %s)" % (name, engine), bold=True)
        s.text(x + bw - 12, 266, "eth0 " + ip, 12, "end", mono=True)
        for j, t in enumerate(["ip_forward=1; forwarding on eth0, docker0", "DOCKER-USER → CROSSHOST-FORWARD:",
                               "  ACCEPT peer subnets ⇄ %s.0/24" % net, "nat CROSSHOST-MASQ: no NAT to peers"]):
            s.text(x + 12, 292 + 18 * j, t, 12)
        s.rect(x + 14, 374, bw - 28, 116, "#ffffff", GREEN)
        s.text(x + 24, 393, "docker0  bip %s.1/24" % net, 12, mono=True)
        s.text(x + 24, 410, 'daemon.json: bip, "ip-masq": false', 11, color=GREY)
        if engine == "28":
            s.text(x + 24, 424, '+ "allow-direct-routing": true', 11, color=GREY)
        s.rect(x + 40, 432, bw - 80, 44, "#e9f7ef", GREEN)
        s.text(x + bw // 2, 459, "container %s.3" % net, 12.5, "middle", mono=True)
    g1, g2 = x0 + bw + gap // 2, x0 + 2 * bw + gap + gap // 2
    s.path([(x0 + bw - 40, 454), (g1, 454), (g1, 228), (466, 228), (466, 166)])
    s.path([(494, 166), (494, 228), (g2, 228), (g2, 454), (x0 + 2 * bw + gap - 38, 454)])
    s.text(20, 530, "10.0.0.3 → 10.0.1.3: h1 forwards it out of eth0 to its gateway, the route table sends 10.0.1.0/24 "
           "to h2, and h2's", 12.5, color=RED)
    s.text(20, 548, "DOCKER-USER rule accepts it before Docker's FORWARD DROP. No NAT on the way: the receiver sees "
           "10.0.0.3.", 12.5, color=RED)
    s.text(20, 572, "Before the role: no route (lost at the router), FORWARD policy DROP (20.10, 26), raw PREROUTING "
           "DROP (28), MASQUERADE rewrites the source.", 12, color=GREY)
    s.write("direct-route.svg")


def macvlan():
    s = Svg(960, 640, "Macvlan: the same networks on every host, each host handing out its own slice")
    s.text(480, 26, "Macvlan (seeds 001, 004): crosshost.docker.macvlan", 17, "middle", bold=True)
    s.rect(330, 42, 300, 62, "#fef5e7", ORANGE)
    s.text(480, 62, "segment gateway / router (lab: rt)", anchor="middle", bold=True)
    s.text(480, 80, "192.168.2.1 on eth1's segment", 12, "middle", mono=True)
    s.text(480, 96, "192.168.10.1 on VLAN 10", 12, "middle", mono=True)
    s.line(20, 140, 940, 140, GREEN, 4)
    s.text(940, 131, "eth1's segment 192.168.2.0/24 (mac_net1)", 12.5, "end", bold=True, color=GREEN)
    s.line(20, 180, 940, 180, PURPLE, 4)
    s.text(940, 171, "VLAN 10 192.168.10.0/24 (mac_net2)", 12.5, "end", bold=True, color=PURPLE)
    s.line(470, 104, 470, 140, GREEN)
    s.line(490, 104, 490, 180, PURPLE)
    hosts = [("h1", "20.10", "192.168.2.0/26", "192.168.2.2", "192.168.2.63", "192.168.10.0/26", "192.168.10.2",
              "192.168.10.63"),
             ("h2", "28", "192.168.2.64/26", "192.168.2.64", "192.168.2.127", "192.168.10.64/26", "192.168.10.64",
              "192.168.10.127")]
    bw = 440
    for i, (name, engine, r1, c1, shim1, r2, c2, shim2) in enumerate(hosts):
        x = 20 + i * (bw + 40)
        p1, p2 = x + 110, x + 330
        s.rect(x, 214, bw, 330, "#f4f6f7", GREY)
        s.text((p1 + p2) // 2, 236, "%s (Docker %s)" % (name, engine), anchor="middle", bold=True)
        s.line(p1, 140, p1, 262, GREEN, 3)
        s.line(p2, 180, p2, 262, PURPLE, 3)
        s.rect(p1 - 60, 262, 120, 26, "#ffffff", GREEN)
        s.text(p1, 280, "parent eth1", 12, "middle", mono=True)
        s.rect(p2 - 95, 262, 190, 26, "#ffffff", PURPLE)
        s.text(p2, 280, "parent eth1.10 (VLAN 10)", 12, "middle", mono=True)
        networks = ((p1, GREEN, "mac_net1", r1, c1, shim1, 0), (p2, PURPLE, "mac_net2", r2, c2, shim2, 1))
        for px, color, net, rng, cip, shim, idx in networks:
            bx = px - 100
            s.line(px, 288, px, 318, color, 2)
            s.rect(bx, 318, 200, 150, "#ffffff", color)
            s.text(px, 337, net, 12.5, "middle", bold=True, mono=True)
            s.text(px, 354, "ip_range " + rng, 11.5, "middle", mono=True)
            s.text(px, 369, "(this host's slice)", 11, "middle", color=GREY)
            s.rect(bx + 14, 380, 172, 34, "#e9f7ef" if idx == 0 else "#f5eef8", color)
            s.text(px, 402, "container " + cip, 12, "middle", mono=True)
            s.rect(bx + 14, 424, 172, 34, "#fdfefe", color, dash="4 3")
            s.text(px, 440, "shim xhmv%d %s" % (idx, shim), 11, "middle", mono=True)
            s.text(px, 453, "route to the slice", 10.5, "middle", color=GREY)
        s.text(x + 12, 488, "Same name, subnet, gateway and parent on every host; Docker's", 12)
        s.text(x + 12, 504, "IPAM here hands out only this slice (a static --ip too).", 12)
        s.text(x + 12, 526, "The shim (macvlan_shim) lets the host reach its own containers.", 12, color=GREY)
    s.path([(140, 262), (140, 150), (640, 150), (640, 256)], color=RED)
    s.text(20, 570, "192.168.2.2 → 192.168.2.64: plain L2 on eth1's segment; no route, no NAT, no Docker firewall on the way.",
           12.5, color=RED)
    s.text(20, 590, "mac_net1 ↔ mac_net2: separate segments (no ARP answer across them); traffic between them goes through "
           "the gateway, at L3.", 12.5)
    s.text(20, 612, "The lab's kernel has no 802.1q: its eth1.10 is a stand-in veth on a segment of its own; on real hosts "
           "the role creates the VLAN link.", 12, color=GREY)
    s.write("macvlan.svg")


def overlay():
    s = Svg(960, 600, "Overlay: VXLAN tunnels between the hosts carry one container network")
    s.text(480, 26, "Overlay (seed 004): crosshost.docker.overlay", 17, "middle", bold=True)
    s.rect(275, 42, 410, 74, "#fef5e7", ORANGE, dash="6 4")
    s.text(480, 62, "kv backend only (Docker ≤ 20.10): key-value store", 12.5, "middle", bold=True)
    s.text(480, 80, "cluster-store etcd://192.168.1.1:2379 or consul://…:8500", 11.5, "middle", mono=True)
    s.text(480, 98, "swarm backend: no store, the managers' raft (2377/tcp)", 12, "middle", color=GREY)
    s.line(20, 150, 940, 150, BLUE, 4)
    s.text(24, 141, "underlay 192.168.1.0/24 (MTU 1500)", bold=True, color=BLUE)
    s.line(480, 116, 480, 150, BLUE, 2, dash="6 4")
    bw, gap = 400, 120
    hosts = [("h1", "20.10", "swarm manager", "192.168.1.11", "10.20.0.2"),
             ("h2", "28", "swarm worker", "192.168.1.12", "10.20.0.4")]
    for i, (name, engine, role, ip, cip) in enumerate(hosts):
        x = 20 + i * (bw + gap)
        s.rect(x, 184, bw, 300, "#eaf2f8", BLUE)
        s.line(x + bw // 2, 150, x + bw // 2, 184, BLUE)
        s.text(x + 12, 204, "%s (Docker %s, %s)" % (name, engine, role), bold=True)
        s.text(x + 12, 222, "eth0 " + ip, 12, mono=True)
        s.text(x + 12, 244, "INPUT → CROSSHOST-OVERLAY: ACCEPT from the peers", 12)
        s.text(x + 12, 260, "4789/udp (VXLAN), 7946/tcp+udp (gossip), 2377/tcp", 11.5, color=GREY)
        s.rect(x + 14, 276, bw - 28, 114, "#ffffff", GREEN)
        s.text(x + 24, 295, "xh_overlay 10.20.0.0/24, MTU 1450", 12, bold=True)
        s.text(x + 24, 312, "one subnet for all hosts (underlay MTU - 50)", 11.5, color=GREY)
        cx, vx = (x + 24, x + 206) if i == 0 else (x + bw - 194, x + 24)
        s.rect(cx, 322, 170, 56, "#e9f7ef", GREEN)
        s.text(cx + 85, 344, "container", 12, "middle")
        s.text(cx + 85, 362, cip, 12, "middle", mono=True)
        s.rect(vx, 322, 170, 56, "#f5eef8", PURPLE)
        s.text(vx + 85, 344, "vxlan (VTEP)", 12, "middle")
        s.text(vx + 85, 362, "in the network's namespace", 10.5, "middle", color=GREY)
        s.rect(x + 14, 400, bw - 28, 72, "#ffffff", GREY)
        s.text(x + 24, 419, "docker_gwbridge 172.18.0.0/16", 12, mono=True)
        s.text(x + 24, 436, "the container's second interface: its way out to the", 11.5, color=GREY)
        s.text(x + 24, 452, "world, masqueraded (not used between the hosts)", 11.5, color=GREY)
    s.line(396, 344, 564, 344, PURPLE, 8)
    s.line(396, 344, 564, 344, "#ffffff", 3)
    s.text(480, 324, "VXLAN", 12, "middle", bold=True, color=PURPLE)
    s.text(480, 366, "UDP 4789", 11.5, "middle", color=PURPLE)
    s.path([(194, 352), (222, 352)])
    s.path([(400, 334), (560, 334)], dash="5 3", width=1.6)
    s.path([(738, 352), (766, 352)])
    s.text(20, 510, "10.20.0.2 → 10.20.0.4: h1's VTEP wraps the frame in UDP, outer 192.168.1.11 → 192.168.1.12 over the "
           "underlay (50 bytes of", 12.5, color=RED)
    s.text(20, 528, "headers); h2's VTEP unwraps it into the same network. Names resolve too (Docker's DNS, 127.0.0.11).",
           12.5, color=RED)
    s.text(20, 552, "No route table, no bip, no FORWARD rule: the hosts only need to reach each other on the overlay's "
           "ports.", 12.5)
    s.text(20, 572, "kv: daemon.json cluster-store + cluster-advertise eth0:2376 on every host, networks created once, "
           "global scope.", 12, color=GREY)
    s.text(20, 590, "swarm: init on the first manager, the others join (tokens never printed), attachable networks.",
           12, color=GREY)
    s.write("overlay.svg")


if __name__ == "__main__":
    direct_route()
    macvlan()
    overlay()
