#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Small traffic and parsing tools for the ncnat namespace lab
(scripts/nat_lab.sh, tests/nat/e2e/run.sh, scripts/demo.sh).  Each
subcommand is bounded in packets and time; run it inside a namespace with
`ip netns exec NS /usr/bin/python3 labtool.py ...`.

  arp-ready IFACE SRC TARGET      ARP for TARGET until it answers (teaches the
                                  NAT our MAC; tells us it is up)
  http-serve BIND PORT DIR        serve DIR over HTTP, one log line per request
                                  (http.server without its reverse DNS lookup)
  udp-echo BIND PORT              echo UDP datagrams, one log line each
  udp-rtt DST PORT N              N datagrams one at a time, each waits its echo
  udp-refused DST PORT            one datagram to a closed port: expect the
                                  ICMP port unreachable (ECONNREFUSED)
  udp-listen SRC SPORT PEER PPORT send one datagram to PEER, take its echo, then
                                  count any other datagrams until a file appears
  unsolicited POOL ...            (scapy) unsolicited TCP SYNs / UDP to POOL;
                                  expect no answer
  counters FILE                   ncnat counters, from its exit log or from
                                  `ncnatctl show stats json`, as "name value"
Only the standard library, except `unsolicited` (scapy).
"""
import argparse
import errno
import json
import os
import re
import socket
import struct
import sys
import time


def mac_of(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def cmd_arp_ready(a):
    """ARP requests for target from src until one is answered."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((a.iface, 0))
    mac = mac_of(a.iface)
    src, tgt = socket.inet_aton(a.src), socket.inet_aton(a.target)
    req = (b"\xff" * 6 + mac + b"\x08\x06" +
           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + src + b"\x00" * 6 + tgt)
    req += b"\x00" * (60 - len(req))
    deadline = time.monotonic() + a.timeout
    sent = 0
    while time.monotonic() < deadline:
        s.send(req)
        sent += 1
        until = time.monotonic() + a.interval
        while True:
            left = until - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                f = s.recv(2048)
            except socket.timeout:
                break
            if (len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"
                    and f[28:32] == tgt and f[38:42] == src):
                print(f"{a.target} is at {f[22:28].hex(':')} ({sent} requests)")
                return 0
    print(f"no ARP answer from {a.target} in {a.timeout} s ({sent} requests)")
    return 1


def cmd_http_serve(a):
    import functools
    import http.server
    import socketserver
    import threading

    class Server(http.server.ThreadingHTTPServer):
        def server_bind(self):
            # HTTPServer.server_bind() asks DNS for our name; a lab has none
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = self.server_address[:2]

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=a.dir)
    srv = Server((a.bind, a.port), handler)
    threading.Timer(a.lifetime, srv.shutdown).start()
    srv.serve_forever()
    return 0


def cmd_udp_echo(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    log = open(a.log, "a", buffering=1) if a.log else sys.stdout
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        print(f"from {peer[0]}:{peer[1]} {len(data)} bytes", file=log)
        s.sendto(data, peer)
    return 0


def udp_socket(src, sport):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src or sport:
        s.bind((src or "0.0.0.0", sport or 0))
    return s


def cmd_udp_rtt(a):
    """N request/echo pairs, strictly one at a time: exactly N datagrams each
    way when all are echoed (a lost one is not resent)."""
    s = udp_socket(a.src, a.sport)
    s.connect((a.dst, a.port))
    s.settimeout(a.timeout)
    echoed = lost = 0
    for i in range(a.count):
        msg = f"ncnat-e2e {i}".encode()
        s.send(msg)
        try:
            while s.recv(2048) != msg:
                pass
            echoed += 1
            lost = 0
        except socket.timeout:
            lost += 1
            if lost >= 3:  # the path is down: do not wait out every datagram
                break
        except ConnectionRefusedError:
            break
    lp = s.getsockname()
    print(f"sent {a.count} echoed {echoed} from {lp[0]}:{lp[1]}")
    return 0 if echoed == a.count else 1


def cmd_udp_refused(a):
    s = udp_socket(a.src, a.sport)
    s.connect((a.dst, a.port))
    s.settimeout(a.timeout)
    lp = s.getsockname()
    s.send(b"anyone there?")
    try:
        s.recv(2048)
        print("got an answer from a port that should be closed")
        return 1
    except ConnectionRefusedError:
        print(f"ECONNREFUSED on {lp[0]}:{lp[1]}: the ICMP port unreachable arrived and "
              "its embedded header matched this socket")
        return 0
    except socket.timeout:
        print(f"no ICMP error within {a.timeout} s")
        return 1
    except OSError as e:
        print(f"unexpected error {errno.errorcode.get(e.errno, e.errno)}")
        return 1


def cmd_udp_listen(a):
    """Open a mapping with one datagram to peer, then count what else comes
    in (anything from another endpoint is unsolicited)."""
    s = udp_socket(a.src, a.sport)
    s.settimeout(a.timeout)
    s.sendto(b"open", (a.peer, a.pport))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        print("no echo: the mapping was not opened")
        return 1
    print(f"echo from {peer[0]}:{peer[1]}", flush=True)
    if a.ready:
        open(a.ready, "w").close()
    others = 0
    end = time.monotonic() + a.max_wait
    while time.monotonic() < end and not (a.until and os.path.exists(a.until)):
        s.settimeout(0.1)
        try:
            data, peer = s.recvfrom(2048)
            others += 1
            print(f"unsolicited from {peer[0]}:{peer[1]}", flush=True)
        except socket.timeout:
            pass
    print(f"unsolicited {others}")
    return 0


def cmd_unsolicited(a):
    """One packet per (proto, port), from a.sport; any answer from the pool
    address (SYN-ACK, RST, ICMP, data) is a failure."""
    from scapy.all import IP, TCP, UDP, conf, sniff, send, AsyncSniffer  # noqa: F401
    conf.verb = 0
    pkts = [IP(dst=a.pool) / TCP(sport=a.sport, dport=p, flags="S", seq=1000)
            for p in a.tcp] + [IP(dst=a.pool) / UDP(sport=a.sport, dport=p) / b"hello?"
                               for p in a.udp]
    sn = AsyncSniffer(filter=f"src host {a.pool}", store=True)
    sn.start()
    time.sleep(0.3)
    for p in pkts:
        send(p)
    time.sleep(a.wait)
    got = sn.stop() or []
    for g in got:
        print(f"answer: {g.summary()}")
    print(f"sent {len(pkts)} unsolicited packets, {len(got)} answers")
    return 0 if not got else 1


def flatten(obj, path, out):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        out.append((path, obj))
    elif isinstance(obj, dict):
        name, val = obj.get("name"), obj.get("value")
        if isinstance(name, str) and isinstance(val, (int, float)) and not isinstance(val, bool):
            out.append((path + [name], val))
        for k, v in obj.items():
            flatten(v, path + [str(k)], out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            flatten(v, path + [str(i)], out)


def read_counters(path):
    """{name: value} from an ncnat exit log (stderr) or a stats JSON.  In
    JSON a counter may be nested by its name ({"in2out": {"udp": 5}} is
    in2out_udp): every leaf is known by each "_"-joined tail of its path,
    the shallowest leaf winning a name."""
    text = open(path, errors="replace").read()
    out = {}
    start = text.find("{")
    if start >= 0:
        try:
            doc, _ = json.JSONDecoder().raw_decode(text[start:])  # ignores a trailing "ok"
        except ValueError:
            doc = None
        if doc is not None:
            leaves = []
            flatten(doc, [], leaves)
            for p, v in sorted(leaves, key=lambda pv: len(pv[0])):
                for k in range(1, len(p) + 1):
                    out.setdefault("_".join(p[-k:]), int(v))
            return out
    m = re.search(r"ncnat: rx inside (\d+) outside (\d+), tx inside (\d+) outside (\d+)", text)
    if m:
        for k, v in zip(("rx_inside", "rx_outside", "tx_inside", "tx_outside"), m.groups()):
            out[k] = int(v)
    for name, val in re.findall(r"^ncnat: ([a-z0-9_]+) +(\d+)$", text, re.M):
        out[name] = int(val)
    return out


def cmd_counters(a):
    c = read_counters(a.file)
    for k in sorted(c):
        print(k, c[k])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("arp-ready")
    p.add_argument("iface"), p.add_argument("src"), p.add_argument("target")
    p.add_argument("--timeout", type=float, default=20), p.add_argument("--interval", type=float, default=0.2)
    p = sub.add_parser("http-serve")
    p.add_argument("bind"), p.add_argument("port", type=int), p.add_argument("dir")
    p.add_argument("--lifetime", type=float, default=600)
    p = sub.add_parser("udp-echo")
    p.add_argument("bind"), p.add_argument("port", type=int)
    p.add_argument("--log"), p.add_argument("--lifetime", type=float, default=600)
    for name in ("udp-rtt", "udp-refused"):
        p = sub.add_parser(name)
        p.add_argument("dst"), p.add_argument("port", type=int)
        if name == "udp-rtt":
            p.add_argument("count", type=int)
        p.add_argument("--src"), p.add_argument("--sport", type=int)
        p.add_argument("--timeout", type=float, default=2)
    p = sub.add_parser("udp-listen")
    p.add_argument("src"), p.add_argument("sport", type=int)
    p.add_argument("peer"), p.add_argument("pport", type=int)
    p.add_argument("--ready"), p.add_argument("--until")
    p.add_argument("--timeout", type=float, default=3), p.add_argument("--max-wait", type=float, default=20)
    p = sub.add_parser("unsolicited")
    p.add_argument("pool"), p.add_argument("--sport", type=int, default=7999)
    p.add_argument("--tcp", type=int, nargs="*", default=[]), p.add_argument("--udp", type=int, nargs="*", default=[])
    p.add_argument("--wait", type=float, default=1.5)
    p = sub.add_parser("counters")
    p.add_argument("file")
    a = ap.parse_args()
    return globals()["cmd_" + a.cmd.replace("-", "_")](a)


if __name__ == "__main__":
    sys.exit(main())
