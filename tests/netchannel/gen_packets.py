#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generate golden packets for tests/netchannel/test_parse.c.

Writes tests/netchannel/fixtures/golden_packets.h: one byte array per packet
and a table of what nc_parse() must report for it.  Packets are built with
scapy; the expected values come from scapy's own view of the layers (offsets,
addresses, ports) plus the verdict and flags written down per case.  The
header is committed so the build does not need scapy; rerun after editing:

    /usr/bin/python3 tests/netchannel/gen_packets.py

Expected-field conventions follow lib/netchannel/nc_parse.h (ICMP query ids:
request -> sport, reply -> dport).
"""
import ipaddress
import os
import sys

from scapy.all import (AH, ARP, GRE, ICMP, IP, TCP, UDP, CookedLinux, CookedLinuxV2,
                       Dot1AD, Dot1Q, Ether, ICMPv6DestUnreach, ICMPv6EchoReply,
                       ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6PacketTooBig, IPOption_RR,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, Raw, RouterAlert)

MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
A4, B4 = "10.0.0.2", "198.51.100.7"
A6, B6 = "2001:db8::2", "2001:db8:ffff:1::7"

# Link types as in enum nc_link.
ETH, RAW, LIPV4, LIPV6, SLL, SLL2 = range(6)
LINK_NAMES = ["NC_LINK_ETHERNET", "NC_LINK_RAW", "NC_LINK_IPV4", "NC_LINK_IPV6",
              "NC_LINK_SLL", "NC_LINK_SLL2"]
# Flags as in nc_parse.h.
F = dict(OPT=0x1, EXT=0x2, FRAG=0x4, MF=0x8, DF=0x10, QUERY=0x20, ERROR=0x40,
         TRAILER=0x80, SNAPPED=0x100)
L2, L3, L4 = 1, 2, 4

ICMP4_REQ, ICMP4_REP = {8, 13, 15, 17}, {0, 14, 16, 18}
ICMP4_ERR = {3, 4, 5, 11, 12}

cases = []


def flags(*names):
    v = 0
    for n in names:
        v |= F[n]
    return v


def off_of(pkt, layer):
    """Offset of a layer instance inside the built packet."""
    return len(pkt) - len(layer)


def key_of(pkt, ip, l4, family):
    """Expected (proto, sport, dport, addrs) from scapy layers."""
    k = {}
    if family == 4:
        k["src4"] = int(ipaddress.IPv4Address(ip.src))
        k["dst4"] = int(ipaddress.IPv4Address(ip.dst))
    else:
        s = int(ipaddress.IPv6Address(ip.src))
        d = int(ipaddress.IPv6Address(ip.dst))
        k["src_hi"], k["src_lo"] = s >> 64, s & (2**64 - 1)
        k["dst_hi"], k["dst_lo"] = d >> 64, d & (2**64 - 1)
    k["sport"] = k["dport"] = 0
    if isinstance(l4, (TCP, UDP)):
        k["sport"], k["dport"] = l4.sport, l4.dport
    return k


def add(name, pkt, link=ETH, status="OK", flg=0, layers=None, proto=None, l4=None,
        l4_len=None, icmp=None, inner=None, raw=None, malformed=False, ip_index=1,
        ports=None, l3_len=None):
    """Record one case.  Most fields are derived from the scapy layers."""
    data = raw if raw is not None else bytes(pkt)
    c = dict(name=name, link=link, data=data, status=status, flags=flg,
             malformed=int(malformed))
    ip = None
    if pkt is not None:
        ip = pkt.getlayer(IP, ip_index) or pkt.getlayer(IPv6, ip_index)
    c["vlan"] = []
    if pkt is not None:
        lay, tpid = pkt, None
        while lay is not None and not isinstance(lay, (IP, IPv6, Raw)) and lay.name != "NoPayload":
            if isinstance(lay, Dot1Q):
                c["vlan"].append(((lay.prio << 13) | (lay.id << 12) | lay.vlan, tpid))
            tpid = getattr(lay, "type", None) if not isinstance(lay, (CookedLinux, CookedLinuxV2)) \
                else lay.proto
            lay = lay.payload if lay.payload.name != "NoPayload" else None
        c["vlan"] = c["vlan"][:2]
    if ip is None:
        c.update(layers=layers if layers is not None else L2, family=0, proto=0)
        cases.append(c)
        return
    fam = 4 if isinstance(ip, IP) else 6
    c["family"] = fam
    c["l3_off"] = off_of(pkt, ip)
    c["ip_len"] = len(ip)
    if l4 is None:
        l4 = ip.payload
        while isinstance(l4, (IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrFragment,
                              IPv6ExtHdrDestOpt, AH)):
            l4 = l4.payload
    c["l4_off"] = off_of(pkt, l4)
    c["l3_len"] = l3_len if l3_len is not None else c["l4_off"] - c["l3_off"]
    c["proto"] = proto if proto is not None else (ip.proto if fam == 4 else None)
    if c["proto"] is None:
        c["proto"] = {TCP: 6, UDP: 17}.get(type(l4), 58)
    c.update(key_of(pkt, ip, l4, fam))
    if ports is not None:
        c["sport"], c["dport"] = ports
    c["ttl"] = ip.ttl if fam == 4 else ip.hlim
    c["l4_len"] = l4_len if l4_len is not None else (
        len(l4) - len(l4.payload) if isinstance(l4, (TCP, UDP)) else 0)
    c["tcp_flags"] = int(l4.flags) if isinstance(l4, TCP) else 0
    c["icmp"] = icmp or (0, 0, 0)
    c["layers"] = layers if layers is not None else (L2 | L3 | L4)
    c["inner"] = inner
    if fam == 4:
        c["frag_off"] = ip.frag * 8
        c["frag_id"] = ip.id if (ip.flags.MF or ip.frag) else None
    else:
        fh, lay = None, ip.payload
        while lay is not l4 and lay.name != "NoPayload":
            if isinstance(lay, IPv6ExtHdrFragment):
                fh = lay
            lay = lay.payload
        c["frag_off"] = fh.offset * 8 if fh is not None else 0
        c["frag_id"] = fh.id if fh is not None else None
    cases.append(c)


def inner_of(pkt, fam, status="OK", layers=L3 | L4, ports=None, proto=None):
    ip = pkt.getlayer(IP, 2) if fam == 4 else pkt.getlayer(IPv6, 2)
    l4 = ip.payload
    k = key_of(pkt, ip, l4, fam)
    if ports is not None:
        k["sport"], k["dport"] = ports
    k["proto"] = proto if proto is not None else (ip.proto if fam == 4 else ip.nh)
    k.update(status=status, layers=layers, l3_off=off_of(pkt, ip),
             l4_off=off_of(pkt, l4) if layers & L4 else 0)
    return k


def eth(*a, **kw):
    return Ether(**MAC, **kw)


def build():
    # ---- IPv4 over Ethernet --------------------------------------------------
    p = eth() / IP(src=A4, dst=B4, ttl=61, flags="DF") / TCP(
        sport=40000, dport=443, flags="S", seq=1, options=[("MSS", 1460), ("WScale", 7)])
    add("eth_ipv4_tcp_syn_opts", p, flg=flags("DF"))
    p = eth() / IP(src=A4, dst=B4) / TCP(sport=1234, dport=80, flags="PA") / Raw(b"GET / HTTP/1.0\r\n\r\n")
    add("eth_ipv4_tcp_data", p)
    p = eth() / IP(src=A4, dst=B4) / UDP(sport=5353, dport=53) / Raw(b"\x12\x34" + b"\0" * 30)
    add("eth_ipv4_udp", p)
    p = eth() / IP(src=A4, dst=B4) / ICMP(type=8, id=0x1234, seq=1) / Raw(b"x" * 16)
    add("eth_ipv4_icmp_echo_req", p, flg=flags("QUERY"), icmp=(8, 0, 0x1234), l4_len=8,
        ports=(0x1234, 0))
    p = eth() / IP(src=B4, dst=A4) / ICMP(type=0, id=0x1234, seq=1) / Raw(b"x" * 16)
    add("eth_ipv4_icmp_echo_reply", p, flg=flags("QUERY"), icmp=(0, 0, 0x1234), l4_len=8,
        ports=(0, 0x1234))
    p = eth() / IP(src=A4, dst=B4) / ICMP(type=13, id=77, ts_ori=1000, ts_rx=0, ts_tx=0) / Raw(b"t" * 12)
    add("eth_ipv4_icmp_timestamp_req", p, flg=flags("QUERY"), icmp=(13, 0, 77), l4_len=8,
        ports=(77, 0))
    p = eth() / IP(src=B4, dst=A4) / ICMP(type=9, code=0) / Raw(b"r" * 8)
    add("eth_ipv4_icmp_router_adv", p, icmp=(9, 0, 0), l4_len=4)
    # ICMP errors: embedded datagram whose length runs past the quoted bytes.
    orig = IP(src=A4, dst=B4, len=200) / UDP(sport=5000, dport=53, len=180)
    p = eth() / IP(src="192.0.2.1", dst=A4) / ICMP(type=3, code=3) / orig
    add("eth_ipv4_icmp_unreach_udp", p, flg=flags("ERROR"), icmp=(3, 3, 0), l4_len=8,
        l4=p[ICMP], inner=inner_of(p, 4))
    orig = IP(src=A4, dst=B4, len=1500) / TCP(sport=40001, dport=22)
    p = eth() / IP(src="192.0.2.1", dst=A4) / ICMP(type=11, code=0) / Raw(bytes(orig)[:28])
    add("eth_ipv4_icmp_ttl_tcp8", p, flg=flags("ERROR"), icmp=(11, 0, 0), l4_len=8,
        l4=p[ICMP], inner=dict(status="OK", layers=L3 | L4, proto=6, sport=40001, dport=22,
                               src4=int(ipaddress.IPv4Address(A4)),
                               dst4=int(ipaddress.IPv4Address(B4)),
                               l3_off=14 + 20 + 8, l4_off=14 + 20 + 8 + 20))
    orig = IP(src=A4, dst=B4) / ICMP(type=8, id=999) / Raw(b"p" * 8)
    p = eth() / IP(src="192.0.2.1", dst=A4) / ICMP(type=3, code=1) / orig
    add("eth_ipv4_icmp_unreach_echo", p, flg=flags("ERROR"), icmp=(3, 1, 0), l4_len=8,
        l4=p[ICMP], inner=inner_of(p, 4, ports=(999, 0)))
    # VLAN, QinQ.
    p = eth() / Dot1Q(prio=3, vlan=100) / IP(src=A4, dst=B4) / UDP(sport=1, dport=2)
    add("eth_vlan_ipv4_udp", p)
    p = eth() / Dot1AD(prio=1, vlan=300) / Dot1Q(prio=5, id=1, vlan=42) / IP(src=A4, dst=B4) / TCP(
        sport=5555, dport=6666, flags="A")
    add("eth_qinq_ipv4_tcp", p)
    raw9100 = bytes(eth(type=0x9100)) + bytes.fromhex("0064 8100 0065 0800") + bytes(
        IP(src=A4, dst=B4) / UDP(sport=9, dport=10))
    p9100 = eth() / Dot1Q(vlan=100) / Dot1Q(vlan=101) / IP(src=A4, dst=B4) / UDP(sport=9, dport=10)
    add("eth_qinq9100_ipv4_udp", p9100, raw=raw9100)
    cases[-1]["vlan"] = [(100, 0x9100), (101, 0x8100)]
    p = eth() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / IP(src=A4, dst=B4) / UDP()
    add("eth_three_vlans", None, raw=bytes(p), status="VLAN_DEPTH", layers=0)
    cases[-1]["vlan"] = [(1, 0x88a8), (2, 0x8100)]
    # IPv4 options and fragments.
    p = eth() / IP(src=A4, dst=B4, options=[IPOption_RR(routers=["1.1.1.1", "2.2.2.2"])]) / TCP(
        sport=1000, dport=2000)
    add("eth_ipv4_options_tcp", p, flg=flags("OPT"))
    p = eth() / IP(src=A4, dst=B4, id=4242, flags="MF", frag=0) / UDP(sport=700, dport=800, len=3000) / Raw(b"f" * 32)
    add("eth_ipv4_frag_first_udp", p, flg=flags("FRAG", "MF"))
    p = eth() / IP(src=A4, dst=B4, id=4242, flags="MF", frag=185, proto=17) / Raw(b"g" * 40)
    add("eth_ipv4_frag_middle", p, status="FRAGMENT", flg=flags("FRAG", "MF"), layers=L2 | L3,
        l4=p[Raw], l4_len=0)
    p = eth() / IP(src=A4, dst=B4, id=4242, frag=370, proto=17) / Raw(b"h" * 40)
    add("eth_ipv4_frag_last", p, status="FRAGMENT", flg=flags("FRAG"), layers=L2 | L3,
        l4=p[Raw], l4_len=0)
    p = eth() / IP(src=A4, dst=B4) / GRE() / Raw(b"\0" * 20)
    add("eth_ipv4_gre", p, status="UNSUPPORTED_PROTO", layers=L2 | L3, l4=p[GRE], l4_len=0)
    # Padding to 60 bytes (no FCS): trailer ignored.
    p = eth() / IP(src=A4, dst=B4) / UDP(sport=53, dport=5353) / Raw(b"ab")
    add("eth_ipv4_udp_padded", p, raw=bytes(p) + b"\0" * (60 - len(p)), flg=flags("TRAILER"))
    p = eth() / ARP(psrc=A4, pdst=B4)
    add("eth_arp", None, raw=bytes(p), status="NOT_IP", layers=L2)
    # ---- IPv6 ---------------------------------------------------------------
    p = eth() / IPv6(src=A6, dst=B6, hlim=33) / TCP(sport=50000, dport=443, flags="SA")
    add("eth_ipv6_tcp", p)
    p = eth() / IPv6(src=A6, dst=B6, tc=0x2e) / UDP(sport=123, dport=123) / Raw(b"n" * 48)
    add("eth_ipv6_udp", p)
    p = eth() / IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(id=0xbeef, seq=3, data=b"e" * 8)
    add("eth_ipv6_echo_req", p, flg=flags("QUERY"), icmp=(128, 0, 0xbeef), l4_len=8,
        ports=(0xbeef, 0))
    p = eth() / IPv6(src=B6, dst=A6) / ICMPv6EchoReply(id=0xbeef, seq=3)
    add("eth_ipv6_echo_reply", p, flg=flags("QUERY"), icmp=(129, 0, 0xbeef), l4_len=8,
        ports=(0, 0xbeef))
    p = eth() / IPv6(src=A6, dst="ff02::1:ff00:7") / ICMPv6ND_NS(tgt=B6)
    add("eth_ipv6_nd_ns", p, icmp=(135, 0, 0), l4_len=4)
    orig = IPv6(src=A6, dst=B6, plen=600) / UDP(sport=4000, dport=4001, len=600)
    p = eth() / IPv6(src="2001:db8::1", dst=A6) / ICMPv6DestUnreach(code=4) / orig
    add("eth_ipv6_unreach_udp", p, flg=flags("ERROR"), icmp=(1, 4, 0), l4_len=8,
        l4=p[ICMPv6DestUnreach], inner=inner_of(p, 6, proto=17))
    orig = IPv6(src=A6, dst=B6, plen=1400) / IPv6ExtHdrFragment(offset=0, m=1, id=9) / TCP(
        sport=4444, dport=80)
    p = eth() / IPv6(src="2001:db8::1", dst=A6) / ICMPv6PacketTooBig(mtu=1280) / orig
    add("eth_ipv6_too_big_frag_tcp", p, flg=flags("ERROR"), icmp=(2, 0, 0), l4_len=8,
        l4=p[ICMPv6PacketTooBig], inner=dict(
            status="OK", layers=L3 | L4, proto=6, sport=4444, dport=80,
            l3_off=14 + 40 + 8, l4_off=14 + 40 + 8 + 48,
            **{k: v for k, v in key_of(p, p.getlayer(IPv6, 2), None, 6).items()
               if k not in ("sport", "dport")}))
    p = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / UDP(
        sport=1, dport=2)
    add("eth_ipv6_hbh_udp", p, flg=flags("EXT"))
    p = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(
        addresses=["2001:db8::9"]) / IPv6ExtHdrDestOpt() / TCP(sport=7, dport=8)
    add("eth_ipv6_ext_chain_tcp", p, flg=flags("EXT"))
    p = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(offset=0, m=1, id=0xabcdef01) / UDP(
        sport=11, dport=12, len=4000) / Raw(b"q" * 24)
    add("eth_ipv6_frag_first_udp", p, flg=flags("EXT", "FRAG", "MF"))
    p = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(offset=154, m=0, id=0xabcdef01, nh=17) / Raw(
        b"r" * 40)
    add("eth_ipv6_frag_last", p, status="FRAGMENT", flg=flags("EXT", "FRAG"), layers=L2 | L3,
        proto=17, l4=p[Raw], l4_len=0)
    p = eth() / IPv6(src=A6, dst=B6) / AH(nh=6, payloadlen=4, spi=1, seq=1, icv=b"\0" * 12) / TCP(sport=9, dport=10)
    add("eth_ipv6_ah_tcp", p, flg=flags("EXT"))
    p = eth() / IPv6(src=A6, dst=B6, nh=50) / Raw(b"\0\0\0\1\0\0\0\1" + b"s" * 24)
    add("eth_ipv6_esp", p, status="UNSUPPORTED_PROTO", layers=L2 | L3, proto=50, l4=p[Raw],
        l4_len=0)
    p = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrDestOpt(nh=59)
    add("eth_ipv6_dst_nonext", p, status="UNSUPPORTED_PROTO", flg=flags("EXT"), layers=L2 | L3,
        proto=59, l4=p[IPv6ExtHdrDestOpt].payload, l4_len=0)
    # ---- other link types ---------------------------------------------------
    p = IP(src=A4, dst=B4) / UDP(sport=31, dport=32)
    add("raw_ipv4_udp", p, link=RAW, layers=L2 | L3 | L4, ip_index=1)
    p = IPv6(src=A6, dst=B6) / TCP(sport=33, dport=34)
    add("raw_ipv6_tcp", p, link=RAW)
    p = IP(src=A4, dst=B4) / ICMP(type=8, id=5)
    add("linkipv4_icmp", p, link=LIPV4, flg=flags("QUERY"), icmp=(8, 0, 5), l4_len=8, ports=(5, 0))
    p = IPv6(src=A6, dst=B6) / UDP(sport=35, dport=36)
    add("linkipv6_udp", p, link=LIPV6)
    p = CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6, src=b"\x02\0\0\0\0\x01\0\0") / IP(
        src=A4, dst=B4) / TCP(sport=37, dport=38)
    add("sll_ipv4_tcp", p, link=SLL)
    p = CookedLinuxV2(pkttype=0, ifindex=3, lladdrtype=1, lladdrlen=6,
                      src=b"\x02\0\0\0\0\x01\0\0") / IPv6(src=A6, dst=B6) / UDP(sport=39, dport=40)
    add("sll2_ipv6_udp", p, link=SLL2)
    p = CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, proto=0x8100) / Dot1Q(vlan=12) / IP(
        src=A4, dst=B4) / UDP(sport=41, dport=42)
    add("sll_vlan_ipv4_udp", p, link=SLL)
    # ---- malformed ----------------------------------------------------------
    base = eth() / IP(src=A4, dst=B4) / TCP(sport=1, dport=2)
    b = bytearray(bytes(base))
    b[14] = 0x44
    add("bad_ihl", None, raw=bytes(b), status="BAD_IHL", layers=L2, malformed=True)
    b = bytearray(bytes(base))
    b[14] = 0x65
    add("bad_version_eth", None, raw=bytes(b), status="BAD_VERSION", layers=L2, malformed=True)
    b = bytearray(bytes(base))
    b[16:18] = (19).to_bytes(2, "big")
    add("bad_total_len_lt_ihl", None, raw=bytes(b), status="BAD_IP_LEN", layers=L2,
        malformed=True)
    b = bytearray(bytes(base))
    b[16:18] = (30).to_bytes(2, "big")
    add("bad_total_len_cuts_tcp", None, raw=bytes(b), status="BAD_IP_LEN", layers=L2 | L3,
        malformed=True)
    b = bytearray(bytes(base))
    b[14 + 20 + 12] = 0x40
    add("bad_tcp_doff", None, raw=bytes(b), status="BAD_TCP_OFF", layers=L2 | L3, malformed=True)
    p = eth() / IP(src=A4, dst=B4) / UDP(sport=1, dport=2, len=7)
    add("bad_udp_len_short", None, raw=bytes(p), status="BAD_UDP_LEN", layers=L2 | L3,
        malformed=True)
    p = eth() / IP(src=A4, dst=B4) / UDP(sport=1, dport=2, len=100) / Raw(b"z" * 8)
    add("bad_udp_len_long", None, raw=bytes(p), status="BAD_UDP_LEN", layers=L2 | L3,
        malformed=True)
    p = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP()
    add("bad_v6_hbh_not_first", None, raw=bytes(p), status="BAD_EXT", layers=L2, malformed=True)
    p = eth() / IPv6(src=A6, dst=B6)
    for _ in range(9):
        p = p / IPv6ExtHdrDestOpt()
    p = p / UDP()
    add("bad_v6_ext_depth", None, raw=bytes(p), status="EXT_DEPTH", layers=L2, malformed=True)
    p = eth() / IPv6(src=A6, dst=B6, plen=0) / IPv6ExtHdrHopByHop() / UDP()
    add("bad_v6_plen_zero", None, raw=bytes(p), status="BAD_IP_LEN", layers=L2, malformed=True)
    add("bad_raw_version5", None, raw=b"\x50" + bytes(19), link=RAW, status="BAD_VERSION",
        layers=L2, malformed=True)
    add("bad_linkipv6_given_v4", None, raw=bytes(IP(src=A4, dst=B4) / UDP()), link=LIPV6,
        status="BAD_VERSION", layers=L2, malformed=True)
    p = eth() / IPv6(src=A6, dst=B6, nh=1) / Raw(b"\x08\0\0\0\0\1\0\1")
    add("bad_icmp4_in_ipv6", None, raw=bytes(p), status="UNSUPPORTED_PROTO", layers=L2 | L3,
        malformed=True)
    orig = IPv6(src=A6, dst=B6) / UDP()
    p = eth() / IP(src="192.0.2.1", dst=A4) / ICMP(type=3, code=3) / Raw(bytes(orig))
    add("bad_icmp4_error_quotes_v6", None, raw=bytes(p), status="OK", layers=L2 | L3 | L4,
        malformed=True)
    cases[-1]["inner_status"] = "BAD_VERSION"
    p = eth() / IP(src=A4, dst=B4, len=1000) / TCP(sport=81, dport=82) / Raw(b"w" * 10)
    add("snapped_ipv4_tcp", p, status="TRUNC_PAYLOAD", flg=flags("SNAPPED"),
        l4=p[TCP], l4_len=20)
    cases[-1]["ip_len"] = 1000


def c_bytes(data):
    out = []
    for i in range(0, len(data), 12):
        out.append("\t" + " ".join("0x%02x," % x for x in data[i:i + 12]))
    return "\n".join(out)


def emit(path):
    lines = ["/* Generated by tests/netchannel/gen_packets.py -- do not edit. */",
             "#ifndef NC_GOLDEN_PACKETS_H", "#define NC_GOLDEN_PACKETS_H", "",
             "#include <stddef.h>", "#include <stdint.h>", "#include \"nc_parse.h\"", ""]
    for i, c in enumerate(cases):
        lines.append("static const uint8_t golden_%d[] = { /* %s */" % (i, c["name"]))
        lines.append(c_bytes(c["data"]))
        lines.append("};")
    lines.append("")
    lines.append("static const struct golden golden_packets[] = {")
    for i, c in enumerate(cases):
        f = []
        f.append(".name = \"%s\"" % c["name"])
        f.append(".link = %s" % LINK_NAMES[c["link"]])
        f.append(".data = golden_%d, .len = sizeof(golden_%d)" % (i, i))
        f.append(".status = NC_PARSE_%s" % c["status"])
        f.append(".layers = %d, .flags = 0x%x, .malformed = %d" % (c["layers"], c["flags"],
                                                                   c["malformed"]))
        f.append(".vlan_count = %d" % len(c["vlan"]))
        for j, (tci, tpid) in enumerate(c["vlan"]):
            f.append(".vlan_tci[%d] = %d, .vlan_tpid[%d] = 0x%x" % (j, tci, j, tpid))
        if c.get("family"):
            f.append(".family = %d, .proto = %d, .sport = %d, .dport = %d" % (
                c["family"], c["proto"], c["sport"], c["dport"]))
            if c["family"] == 4:
                f.append(".src_lo = 0x%xULL, .dst_lo = 0x%xULL" % (c["src4"], c["dst4"]))
            else:
                f.append(".src_hi = 0x%xULL, .src_lo = 0x%xULL, .dst_hi = 0x%xULL, "
                         ".dst_lo = 0x%xULL" % (c["src_hi"], c["src_lo"], c["dst_hi"],
                                                c["dst_lo"]))
            f.append(".l3_off = %d, .l3_len = %d, .l4_off = %d, .l4_len = %d, .ip_len = %d" % (
                c["l3_off"], c["l3_len"], c["l4_off"], c["l4_len"], c["ip_len"]))
            f.append(".ttl = %d, .tcp_flags = 0x%x" % (c["ttl"], c["tcp_flags"]))
            f.append(".icmp_type = %d, .icmp_code = %d, .icmp_id = %d" % c["icmp"])
            f.append(".frag_off = %d, .frag_id = %d, .check_frag_id = %d" % (
                c["frag_off"], c["frag_id"] or 0, c["frag_id"] is not None))
        inner = c.get("inner")
        if inner:
            f.append(".has_inner = 1, .in_status = NC_PARSE_%s, .in_layers = %d" % (
                inner["status"], inner["layers"]))
            f.append(".in_proto = %d, .in_sport = %d, .in_dport = %d" % (
                inner["proto"], inner["sport"], inner["dport"]))
            if "src4" in inner:
                f.append(".in_src_lo = 0x%xULL, .in_dst_lo = 0x%xULL" % (inner["src4"],
                                                                       inner["dst4"]))
            else:
                f.append(".in_src_hi = 0x%xULL, .in_src_lo = 0x%xULL, .in_dst_hi = 0x%xULL, "
                         ".in_dst_lo = 0x%xULL" % (inner["src_hi"], inner["src_lo"],
                                                   inner["dst_hi"], inner["dst_lo"]))
            f.append(".in_l3_off = %d, .in_l4_off = %d" % (inner["l3_off"], inner["l4_off"]))
        elif "inner_status" in c:
            f.append(".has_inner = 1, .in_status = NC_PARSE_%s, .in_only_status = 1" %
                     c["inner_status"])
        lines.append("\t{ " + ",\n\t  ".join(f) + " },")
    lines.append("};")
    lines.append("#define GOLDEN_COUNT (sizeof(golden_packets) / sizeof(golden_packets[0]))")
    lines.append("#endif")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    build()
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "fixtures",
                                                            "golden_packets.h")
    emit(out)
    print("%d packets -> %s" % (len(cases), out))
