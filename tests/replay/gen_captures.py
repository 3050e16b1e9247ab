#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generate the captures and rule files under tests/replay/data/.

Packets are built with scapy; the files are written here byte by byte (pcap
and pcapng) so that caplen, snaplen, time stamps and damage are exactly what
the tests expect.  Deterministic: a fixed seed and fixed time stamps, so a
rerun gives the same bytes.  The outputs are committed; the build does not
need scapy.  Rerun after editing:

    /usr/bin/python3 tests/replay/gen_captures.py

Captures (link type in brackets):
  eth.pcap [EN10MB]      IPv4 TCP/UDP/ICMP, ARP, GRE, IPv4 fragments, padding
  vlan.pcap [EN10MB]     802.1Q, QinQ (802.1ad + 802.1Q), three tags (too deep)
  sll.pcap [LINUX_SLL]   Linux cooked v1, IPv4 and IPv6
  sll2.pcap [LINUX_SLL2] Linux cooked v2, IPv4 and IPv6
  raw.pcap [RAW]         raw IP, IPv4 and IPv6 mixed
  ipv6.pcap [EN10MB]     IPv6 TCP/UDP/ICMPv6, extension headers, fragments
  eth.pcapng [EN10MB]    the packets of eth.pcap as pcapng
  snap.pcap [EN10MB]     snaplen 54: TCP cut after its header, UDP payload cut,
                         an IPv6 packet cut inside its header
  truncated.pcap         eth.pcap cut inside its 6th record (5 good records)
  corrupt.pcap           3 good records then a record claiming caplen 0x7fffffff
  truncated.pcapng       eth.pcapng cut inside its 4th packet block
Rules:
  rules4.cb   ClassBench, IPv4        rules6.cb   ClassBench, IPv6
  mixed.rules netchannel syntax, IPv4 and IPv6, explicit ids out of order
"""
import os
import random
import struct

from scapy.all import (ARP, GRE, ICMP, IP, TCP, UDP, CookedLinux, CookedLinuxV2, Dot1AD,
                       Dot1Q, Ether, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, Raw, fragment, raw)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
DLT_EN10MB, DLT_RAW, DLT_SLL, DLT_SLL2 = 1, 101, 113, 276
T0 = 1700000000

rng = random.Random(20261123)


def write_pcap(name, dlt, pkts, snaplen=65535):
    """pkts: list of bytes (or (bytes, wirelen)); caplen = min(len, snaplen)."""
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, dlt)]
    for i, p in enumerate(pkts):
        data, wire = (p if isinstance(p, tuple) else (p, len(p)))
        data = data[:snaplen]
        out.append(struct.pack("<IIII", T0 + i, 1000 * i, len(data), wire) + data)
    blob = b"".join(out)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)
    return blob


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def write_pcapng(name, dlt, pkts):
    shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    blocks = [struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body)) + shb_body +
              struct.pack("<I", 12 + len(shb_body))]
    idb_body = struct.pack("<HHI", dlt, 0, 65535)
    blocks.append(struct.pack("<II", 1, 12 + len(idb_body)) + idb_body +
                  struct.pack("<I", 12 + len(idb_body)))
    for i, p in enumerate(pkts):
        ts = (T0 + i) * 1000000 + 1000 * i
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(p), len(p)) + pad4(p)
        blocks.append(struct.pack("<II", 6, 12 + len(body)) + body +
                      struct.pack("<I", 12 + len(body)))
    blob = b"".join(blocks)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)
    return blob, blocks


# ---- packets -----------------------------------------------------------------

def l4_v4(i):
    """An IPv4 packet (scapy layers from IP up) chosen to hit the rules or not."""
    k = i % 9
    s = "10.0.%d.%d" % (rng.choice([0, 1, 2, 3]), rng.randint(1, 254))
    sp = rng.choice([rng.randint(1, 1023), rng.randint(1024, 65535)])
    if k == 0:
        return IP(src="10.0.1.%d" % rng.randint(1, 254), dst="192.0.2.%d" % rng.randint(1, 254)) / \
            TCP(sport=sp, dport=80, flags="S")
    if k == 1:
        return IP(src=s, dst="192.0.2.53") / UDP(sport=sp, dport=53) / Raw(b"q" * 12)
    if k == 2:
        return IP(src=s, dst="203.0.113.9") / ICMP(type=8, id=rng.randint(0, 65535))
    if k == 3:
        return IP(src="172.16.0.%d" % rng.randint(1, 254), dst="198.51.100.%d" % rng.randint(1, 254)) / \
            UDP(sport=rng.randint(1024, 65535), dport=rng.randint(1, 65535))
    if k == 4:
        return IP(src="172.16.9.9", dst="203.0.113.%d" % rng.randint(1, 254)) / \
            TCP(sport=sp, dport=443, flags="A") / Raw(b"x" * rng.randint(0, 40))
    if k == 5:  # nothing matches
        return IP(src="192.168.%d.1" % rng.randint(0, 255), dst="192.168.7.7") / \
            TCP(sport=sp, dport=rng.randint(1, 442))
    if k == 6:
        return IP(src=s, dst="198.51.100.1") / GRE() / IP(src="1.1.1.1", dst="2.2.2.2")
    if k == 7:
        return IP(src="10.0.2.%d" % rng.randint(1, 254), dst="192.0.2.200") / \
            UDP(sport=5000, dport=5001)
    return IP(src="10.9.9.9", dst="192.0.2.80", options=b"\x01\x01\x01\x00") / \
        TCP(sport=sp, dport=80)


def l4_v6(i):
    k = i % 7
    s = "2001:db8:%x::%x" % (rng.choice([0, 1, 2]), rng.randint(1, 0xffff))
    sp = rng.randint(1, 65535)
    if k == 0:
        return IPv6(src="2001:db8:1::%x" % rng.randint(1, 0xffff), dst="2001:db8:ffff::1") / \
            TCP(sport=sp, dport=443)
    if k == 1:
        return IPv6(src=s, dst="2001:db8:ffff::53") / UDP(sport=sp, dport=53) / Raw(b"q" * 8)
    if k == 2:
        return IPv6(src=s, dst="2001:db8:ffff::9") / ICMPv6EchoRequest(id=rng.randint(0, 65535))
    if k == 3:
        return IPv6(src=s, dst="2001:db8:ffff::1") / IPv6ExtHdrHopByHop() / \
            IPv6ExtHdrDestOpt() / TCP(sport=sp, dport=443)
    if k == 4:  # nothing matches
        return IPv6(src="fd00::%x" % rng.randint(1, 0xffff), dst="fd00::1") / \
            UDP(sport=sp, dport=9)
    if k == 5:
        return IPv6(src="2001:db8:2::1", dst="2001:db8:ffff::1") / \
            TCP(sport=sp, dport=rng.randint(1, 65535))
    return IPv6(src=s, dst="2001:db8:ffff::2") / UDP(sport=sp, dport=123)


def eth(l3):
    t = 0x0800 if l3.version == 4 else 0x86dd
    return raw(Ether(type=t, **MAC) / l3)


def v4_frags():
    big = IP(src="10.0.2.7", dst="192.0.2.9", id=4242) / UDP(sport=7000, dport=53) / Raw(b"F" * 120)
    return [eth(f) for f in fragment(big, fragsize=48)]


def v6_frags():
    big = IPv6(src="2001:db8:1::7", dst="2001:db8:ffff::53") / IPv6ExtHdrFragment(id=77) / \
        UDP(sport=7000, dport=53) / Raw(b"G" * 120)
    # first fragment has UDP, later ones are "later fragments" (ports 0)
    frags = []
    payload = raw(big[IPv6ExtHdrFragment].payload)
    for off in range(0, len(payload), 64):
        chunk = payload[off:off + 64]
        more = 1 if off + 64 < len(payload) else 0
        p = IPv6(src="2001:db8:1::7", dst="2001:db8:ffff::53") / \
            IPv6ExtHdrFragment(nh=17, offset=off // 8, m=more, id=77) / Raw(chunk)
        frags.append(eth(p))
    return frags


def gen_eth():
    pkts = [eth(l4_v4(i)) for i in range(40)]
    pkts += [raw(Ether(**MAC) / ARP(psrc="10.0.0.1", pdst="10.0.0.2"))] * 2
    pkts += v4_frags()
    pkts.append(eth(IP(src="10.0.0.1", dst="192.0.2.1") / UDP(sport=1, dport=53)) + b"\0" * 6)
    return pkts


def gen_vlan():
    pkts = []
    for i in range(24):
        l3 = l4_v4(i) if i % 3 else l4_v6(i)
        t = 0x0800 if l3.version == 4 else 0x86dd
        if i % 2:
            pkts.append(raw(Ether(type=0x8100, **MAC) / Dot1Q(vlan=100 + i, type=t) / l3))
        else:
            pkts.append(raw(Ether(type=0x88a8, **MAC) / Dot1AD(vlan=10, type=0x8100) /
                            Dot1Q(vlan=200 + i, type=t) / l3))
    pkts.append(raw(Ether(type=0x8100, **MAC) / Dot1Q(vlan=1, type=0x8100) /
                    Dot1Q(vlan=2, type=0x8100) / Dot1Q(vlan=3, type=0x0800) / l4_v4(0)))
    return pkts


def gen_sll(v2):
    pkts = []
    for i in range(24):
        l3 = l4_v4(i) if i % 2 else l4_v6(i)
        t = 0x0800 if l3.version == 4 else 0x86dd
        if v2:
            hdr = CookedLinuxV2(proto=t, ifindex=2, pkttype=i % 5, lladdrtype=1, lladdrlen=6,
                                src=b"\x02\0\0\0\0\x01\0\0")
        else:
            hdr = CookedLinux(pkttype=i % 5, lladdrtype=1, lladdrlen=6,
                              src=b"\x02\0\0\0\0\x01\0\0", proto=t)
        pkts.append(raw(hdr / l3))
    return pkts


def gen_raw():
    return [raw(l4_v4(i) if i % 2 else l4_v6(i)) for i in range(30)]


def gen_ipv6():
    return [eth(l4_v6(i)) for i in range(35)] + v6_frags()


def gen_snap():
    pkts = [eth(IP(src="10.0.1.5", dst="192.0.2.5") / TCP(sport=1234, dport=80) / Raw(b"p" * 100)),
            eth(IP(src="10.0.0.5", dst="192.0.2.53") / UDP(sport=1234, dport=53) / Raw(b"p" * 100)),
            eth(IP(src="10.0.1.5", dst="192.0.2.5", options=b"\x01" * 20) / TCP(sport=1, dport=80)),
            eth(IPv6(src="2001:db8:1::1", dst="2001:db8:ffff::1") / TCP(sport=1, dport=443))]
    pkts += [eth(l4_v4(i)) for i in range(8)]
    return pkts


def main():
    os.makedirs(OUT, exist_ok=True)
    eth_pkts = gen_eth()
    eth_blob = write_pcap("eth.pcap", DLT_EN10MB, eth_pkts)
    write_pcap("vlan.pcap", DLT_EN10MB, gen_vlan())
    write_pcap("sll.pcap", DLT_SLL, gen_sll(False))
    write_pcap("sll2.pcap", DLT_SLL2, gen_sll(True))
    write_pcap("raw.pcap", DLT_RAW, gen_raw())
    write_pcap("ipv6.pcap", DLT_EN10MB, gen_ipv6())
    write_pcap("snap.pcap", DLT_EN10MB, gen_snap(), snaplen=54)
    _, blocks = write_pcapng("eth.pcapng", DLT_EN10MB, eth_pkts)

    # truncated.pcap: 5 good records, then 10 bytes of the 6th
    off = 24
    for p in eth_pkts[:5]:
        off += 16 + len(p)
    with open(os.path.join(OUT, "truncated.pcap"), "wb") as f:
        f.write(eth_blob[:off + 10])
    # corrupt.pcap: 3 good records, then a record header claiming a huge caplen
    off = 24
    for p in eth_pkts[:3]:
        off += 16 + len(p)
    with open(os.path.join(OUT, "corrupt.pcap"), "wb") as f:
        f.write(eth_blob[:off] + struct.pack("<IIII", T0, 0, 0x7fffffff, 0x7fffffff) + b"\0" * 64)
    # truncated.pcapng: SHB, IDB, 3 packet blocks, then half of the 4th
    ng = b"".join(blocks[:5]) + blocks[5][:len(blocks[5]) // 2]
    with open(os.path.join(OUT, "truncated.pcapng"), "wb") as f:
        f.write(ng)

    with open(os.path.join(OUT, "rules4.cb"), "w") as f:
        f.write("@10.0.1.0/24\t192.0.2.0/24\t0 : 65535\t80 : 80\t0x06/0xFF\n"
                "@10.0.0.0/16\t192.0.2.0/24\t0 : 65535\t53 : 53\t0x11/0xFF\n"
                "@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x01/0xFF\n"
                "@0.0.0.0/0\t198.51.100.0/24\t1024 : 65535\t0 : 65535\t0x00/0x00\n"
                "@10.0.2.0/24\t0.0.0.0/0\t0 : 0\t0 : 0\t0x00/0x00\n"
                "@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t443 : 443\t0x06/0xFF\n"
                "@10.0.0.0/8\t192.0.2.0/24\t0 : 65535\t0 : 65535\t0x00/0x00\n"
                "@10.0.0.0/8\t198.51.100.0/24\t0 : 65535\t0 : 65535\t0x2F/0xFF\n")
    with open(os.path.join(OUT, "rules6.cb"), "w") as f:
        f.write("@2001:db8:1::/48\t2001:db8:ffff::/48\t0 : 65535\t443 : 443\t0x06/0xFF\n"
                "@2001:db8::/32\t2001:db8:ffff::53/128\t0 : 65535\t53 : 53\t0x11/0xFF\n"
                "@::/0\t2001:db8:ffff::/48\t0 : 65535\t0 : 65535\t0x3A/0xFF\n"
                "@2001:db8::/32\t::/0\t0 : 65535\t443 : 443\t0x06/0xFF\n"
                "@2001:db8:1::7/128\t::/0\t0 : 0\t0 : 0\t0x11/0xFF\n"
                "@2001:db8::/32\t::/0\t0 : 65535\t0 : 65535\t0x00/0x00\n")
    with open(os.path.join(OUT, "mixed.rules"), "w") as f:
        f.write("# IPv4 and IPv6, explicit ids not in file order (rule number = position)\n"
                "id 50 src 10.0.1.0/24 dst 192.0.2.0/24 dport 80 proto tcp\n"
                "id 7 src 2001:db8:1::/48 dport 443 proto tcp\n"
                "id 300 dst 192.0.2.53 dport 53 proto udp\n"
                "id 2 dst 2001:db8:ffff::53 proto udp\n"
                "id 9 src 10.0.0.0/8 proto icmp\n"
                "id 1 src ::/0 proto icmpv6\n"
                "id 40 src 10.0.2.0/24 sport 0 dport 0\n"
                "id 41 src 2001:db8:1::7 sport 0 dport 0\n"
                "id 1000 dst 198.51.100.0/24\n"
                "id 11 src 2001:db8::/32\n")


if __name__ == "__main__":
    main()
