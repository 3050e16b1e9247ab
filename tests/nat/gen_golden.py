#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Golden pcaps for ncnat (tests/nat/golden/).  Deterministic: run it again
and the files are identical.

  NAME_in_inside.pcap / NAME_in_outside.pcap   frames arriving on each port
  NAME_exp_inside.pcap / NAME_exp_outside.pcap frames ncnat must send

Scenarios: "basic" (both directions, every behaviour) and "offline"
(inside frames only, also run through ncnat on net_pcap by
ncnat_pcap_test.py).  Both use golden/basic.conf.  Arrival order is the global
timestamp order (each event has its own time, t0 + k ms); the expected
frames are built here independently of the C code, with scapy computing
every checksum from scratch, so a byte-for-byte match checks the
incremental checksum updates too.  test_nat_golden.c replays the inputs
through the translation core in timestamp order and compares.
"""
import os
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, fragment, wrpcap  # noqa: E402
from scapy.layers.inet import IPerror, UDPerror  # noqa: F401,E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")

IN_MAC = "02:00:00:00:01:01"
OUT_MAC = "02:00:00:00:02:01"
GW_MAC = "02:00:00:00:02:fe"
H1_MAC, H2_MAC, H3_MAC = "02:00:00:00:0a:05", "02:00:00:00:0a:06", "02:00:00:00:0a:82"
SRV_MAC, BAD_MAC = "02:00:00:00:0a:50", "02:00:00:00:0a:42"
GW_IN = "10.0.0.1"
OUTA, POOL = "203.0.113.1", "198.51.100.1"
H1, H2, H3, SRV, BAD = "10.0.0.5", "10.0.0.6", "10.0.0.130", "10.0.0.80", "10.0.0.66"
R1, R2, R3, RTR = "192.0.2.1", "192.0.2.2", "192.0.2.50", "192.0.2.254"
T0 = 1700000000

events = []  # (side, frame, [(side, expected frame)])


def ev(side, frame, *expected):
    events.append((side, frame, list(expected)))


def ins(mac, ip_layer):
    return Ether(src=mac, dst=IN_MAC) / ip_layer


def outs(ip_layer):
    return Ether(src=GW_MAC, dst=OUT_MAC) / ip_layer


def to_out(ip_layer):
    return ("outside", Ether(src=OUT_MAC, dst=GW_MAC) / ip_layer)


def to_in(mac, ip_layer):
    return ("inside", Ether(src=IN_MAC, dst=mac) / ip_layer)


def pl(n, seed):
    return Raw(bytes((seed * 7 + i * 13) & 0xFF for i in range(n)))


def build():
    # ARP from the hosts for their gateway: answered, and their MACs learned
    for mac, ip in ((H1_MAC, H1), (H2_MAC, H2), (H3_MAC, H3), (SRV_MAC, SRV)):
        ev("inside", Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
           ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=GW_IN),
           ("inside", Ether(src=IN_MAC, dst=mac) /
            ARP(op=2, hwsrc=IN_MAC, psrc=GW_IN, hwdst=mac, pdst=ip)))
    # ARP from the outside gateway for a pool address
    ev("outside", Ether(src=GW_MAC, dst="ff:ff:ff:ff:ff:ff") /
       ARP(op=1, hwsrc=GW_MAC, psrc="203.0.113.254", pdst=POOL),
       ("outside", Ether(src=OUT_MAC, dst=GW_MAC) /
        ARP(op=2, hwsrc=OUT_MAC, psrc=POOL, hwdst=GW_MAC, pdst="203.0.113.254")))

    # UDP: mapping with port preservation, reply, second host on the same port
    q = pl(30, 1)
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R1, id=1, ttl=64) / UDP(sport=5000, dport=53) / q),
       to_out(IP(src=POOL, dst=R1, id=1, ttl=63) / UDP(sport=5000, dport=53) / q))
    a = pl(61, 2)
    ev("outside", outs(IP(src=R1, dst=POOL, id=2, ttl=50) / UDP(sport=53, dport=5000) / a),
       to_in(H1_MAC, IP(src=R1, dst=H1, id=2, ttl=49) / UDP(sport=53, dport=5000) / a))
    ev("inside", ins(H2_MAC, IP(src=H2, dst=R1, id=3, ttl=64) / UDP(sport=5000, dport=53) / q),
       to_out(IP(src=POOL, dst=R1, id=3, ttl=63) / UDP(sport=5002, dport=53) / q))
    # address-dependent filtering: same remote address, other port -> in
    ev("outside", outs(IP(src=R1, dst=POOL, id=4) / UDP(sport=9999, dport=5000) / a),
       to_in(H1_MAC, IP(src=R1, dst=H1, id=4, ttl=63) / UDP(sport=9999, dport=5000) / a))
    # ... other address -> dropped
    ev("outside", outs(IP(src=R2, dst=POOL, id=5) / UDP(sport=53, dport=5000) / a))
    # UDP without checksum stays without
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R2, id=6) / UDP(sport=5000, dport=7, chksum=0) / q),
       to_out(IP(src=POOL, dst=R2, id=6, ttl=63) / UDP(sport=5000, dport=7, chksum=0) / q))

    # TCP: handshake, data, close; unsolicited SYN dropped
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R3, id=10) / TCP(sport=40000, dport=80, flags="S", seq=100)),
       to_out(IP(src=POOL, dst=R3, id=10, ttl=63) / TCP(sport=40000, dport=80, flags="S", seq=100)))
    ev("outside", outs(IP(src=R3, dst=POOL, id=11) / TCP(sport=80, dport=40000, flags="SA", seq=900, ack=101)),
       to_in(H1_MAC, IP(src=R3, dst=H1, id=11, ttl=63) / TCP(sport=80, dport=40000, flags="SA", seq=900, ack=101)))
    d = pl(100, 3)
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R3, id=12) / TCP(sport=40000, dport=80, flags="PA", seq=101, ack=901) / d),
       to_out(IP(src=POOL, dst=R3, id=12, ttl=63) / TCP(sport=40000, dport=80, flags="PA", seq=101, ack=901) / d))
    ev("outside", outs(IP(src=R3, dst=POOL, id=13) / TCP(sport=80, dport=40000, flags="FA", seq=901, ack=201)),
       to_in(H1_MAC, IP(src=R3, dst=H1, id=13, ttl=63) / TCP(sport=80, dport=40000, flags="FA", seq=901, ack=201)))
    ev("outside", outs(IP(src=R2, dst=POOL, id=14) / TCP(sport=1234, dport=40000, flags="S")))
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R3, id=15) / TCP(sport=40001, dport=80, flags="A")))

    # ICMP echo: id mapped like a port
    e = pl(56, 4)
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R1, id=20) / ICMP(type=8, id=0x1234, seq=1) / e),
       to_out(IP(src=POOL, dst=R1, id=20, ttl=63) / ICMP(type=8, id=0x1234, seq=1) / e))
    ev("outside", outs(IP(src=R1, dst=POOL, id=21) / ICMP(type=0, id=0x1234, seq=1) / e),
       to_in(H1_MAC, IP(src=R1, dst=H1, id=21, ttl=63) / ICMP(type=0, id=0x1234, seq=1) / e))

    # ICMP error from a router about the UDP packet H1 sent (as it left)
    emb_out = IP(src=POOL, dst=R1, id=1, ttl=1) / UDP(sport=5000, dport=53) / q
    emb_in = IP(src=H1, dst=R1, id=1, ttl=1) / UDP(sport=5000, dport=53) / q
    ev("outside", outs(IP(src=RTR, dst=POOL, id=30) / ICMP(type=11, code=0) / bytes(emb_out)),
       to_in(H1_MAC, IP(src=RTR, dst=H1, id=30, ttl=63) / ICMP(type=11, code=0) / bytes(emb_in)))
    # ... truncated to the IP header + 8 bytes
    ev("outside", outs(IP(src=RTR, dst=POOL, id=31) / ICMP(type=3, code=3) / bytes(emb_out)[:28]),
       to_in(H1_MAC, IP(src=RTR, dst=H1, id=31, ttl=63) / ICMP(type=3, code=3) / bytes(emb_in)[:28]))
    # an error about nothing we mapped: dropped
    ev("outside", outs(IP(src=RTR, dst=POOL, id=32) / ICMP(type=3, code=1) /
                       bytes(IP(src=POOL, dst=R1, ttl=1) / UDP(sport=7777, dport=53))))
    # an error from inside about a packet that came in (R1:53 -> H1:5000)
    emb2_in = IP(src=R1, dst=H1, id=2, ttl=49) / UDP(sport=53, dport=5000) / a
    emb2_out = IP(src=R1, dst=POOL, id=2, ttl=49) / UDP(sport=53, dport=5000) / a
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R1, id=33) / ICMP(type=3, code=3) / bytes(emb2_in)),
       to_out(IP(src=POOL, dst=R1, id=33, ttl=63) / ICMP(type=3, code=3) / bytes(emb2_out)))

    # hairpinning: H1 -> H2's external endpoint (dropped by filtering, but
    # it opens H1's mapping to POOL), then H2 -> H1's external endpoint
    ev("inside", ins(H1_MAC, IP(src=H1, dst=POOL, id=40) / UDP(sport=5000, dport=5002) / q))
    ev("inside", ins(H2_MAC, IP(src=H2, dst=POOL, id=41) / UDP(sport=5000, dport=5000) / q),
       to_in(H1_MAC, IP(src=POOL, dst=H1, id=41, ttl=63) / UDP(sport=5002, dport=5000) / q))

    # DNAT port forward and the server's answer
    ev("outside", outs(IP(src=R3, dst=OUTA, id=50) / TCP(sport=7000, dport=8080, flags="S", seq=5)),
       to_in(SRV_MAC, IP(src=R3, dst=SRV, id=50, ttl=63) / TCP(sport=7000, dport=80, flags="S", seq=5)))
    ev("inside", ins(SRV_MAC, IP(src=SRV, dst=R3, id=51) / TCP(sport=80, dport=7000, flags="SA", seq=77, ack=6)),
       to_out(IP(src=OUTA, dst=R3, id=51, ttl=63) / TCP(sport=8080, dport=7000, flags="SA", seq=77, ack=6)))

    # masquerade, drop rule, TTL 1, fragments, a packet to a foreign address
    ev("inside", ins(H3_MAC, IP(src=H3, dst=R1, id=60) / UDP(sport=3001, dport=53) / q),
       to_out(IP(src=OUTA, dst=R1, id=60, ttl=63) / UDP(sport=3001, dport=53) / q))
    ev("inside", ins(BAD_MAC, IP(src=BAD, dst=R1, id=61) / UDP(sport=3000, dport=53) / q))
    # TTL 1: dropped, and ICMP time exceeded from the inside address back to
    # the sender (IP id 0, TTL 64), quoting the header and 8 bytes
    ttl1 = IP(src=H1, dst=R1, id=62, ttl=1) / UDP(sport=5000, dport=53) / q
    ev("inside", ins(H1_MAC, ttl1),
       to_in(H1_MAC, IP(src=GW_IN, dst=H1, id=0, ttl=64, flags=0) / ICMP(type=11, code=0) /
             bytes(ttl1)[:28]))
    # a fragmented datagram: the first fragment is translated with the
    # ports, the later ones follow it; a later fragment alone is dropped
    big = pl(300, 6)
    dg_in = IP(src=H1, dst=R1, id=63) / UDP(sport=5000, dport=53) / big
    dg_out = IP(src=POOL, dst=R1, id=63, ttl=63) / UDP(sport=5000, dport=53) / big
    for f_in, f_out in zip(fragment(dg_in, fragsize=128), fragment(dg_out, fragsize=128)):
        ev("inside", ins(H1_MAC, f_in), to_out(f_out))
    ev("inside", ins(H1_MAC, fragment(IP(src=H1, dst=R1, id=64) / UDP(sport=5000, dport=53) / big,
                                      fragsize=128)[1]))
    ev("outside", outs(IP(src=R1, dst="203.0.113.99", id=64) / UDP(sport=53, dport=5000) / q))


def build_offline():
    """Inside frames only, so that ncnat on net_pcap (which reads the two
    files independently) gives a deterministic result too."""
    for mac, ip in ((H1_MAC, H1), (H3_MAC, H3)):
        ev("inside", Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
           ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=GW_IN),
           ("inside", Ether(src=IN_MAC, dst=mac) /
            ARP(op=2, hwsrc=IN_MAC, psrc=GW_IN, hwdst=mac, pdst=ip)))
    for k in range(40):  # more than a burst
        q = pl(20 + k, k)
        ev("inside", ins(H1_MAC, IP(src=H1, dst=R1, id=100 + k) / UDP(sport=6000 + k, dport=53) / q),
           to_out(IP(src=POOL, dst=R1, id=100 + k, ttl=63) / UDP(sport=6000 + k, dport=53) / q))
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R3, id=200) / TCP(sport=40000, dport=443, flags="S", seq=1)),
       to_out(IP(src=POOL, dst=R3, id=200, ttl=63) / TCP(sport=40000, dport=443, flags="S", seq=1)))
    ev("inside", ins(H1_MAC, IP(src=H1, dst=R1, id=201) / ICMP(type=8, id=99, seq=1) / pl(32, 9)),
       to_out(IP(src=POOL, dst=R1, id=201, ttl=63) / ICMP(type=8, id=99, seq=1) / pl(32, 9)))
    ev("inside", ins(H3_MAC, IP(src=H3, dst=R2, id=202) / UDP(sport=999, dport=123) / pl(48, 5)),
       to_out(IP(src=OUTA, dst=R2, id=202, ttl=63) / UDP(sport=999, dport=123) / pl(48, 5)))
    ev("inside", ins(BAD_MAC, IP(src=BAD, dst=R1, id=203) / UDP(sport=3000, dport=53)))


def write(name):
    os.makedirs(OUT, exist_ok=True)
    ins_in, ins_out, exp_in, exp_out = [], [], [], []
    for k, (side, frame, expected) in enumerate(events):
        frame.time = T0 + k / 1000.0
        (ins_in if side == "inside" else ins_out).append(frame)
        for xs, xf in expected:
            xf.time = T0 + k / 1000.0
            (exp_in if xs == "inside" else exp_out).append(xf)
    for part, pkts in (("in_inside", ins_in), ("in_outside", ins_out),
                       ("exp_inside", exp_in), ("exp_outside", exp_out)):
        wrpcap(os.path.join(OUT, f"{name}_{part}.pcap"), pkts, linktype=1)
    print(f"{name}: {len(events)} events, {len(exp_in)} + {len(exp_out)} expected frames",
          file=sys.stderr)
    events.clear()


def main():
    build()
    write("basic")
    build_offline()
    write("offline")


if __name__ == "__main__":
    main()
