#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
ncnat's runtime control, live: ncnat on net_pcap vdevs (the golden "basic"
input) with --ctl, then ncnatctl and DPDK telemetry against it.

  ncnat_ctl_test.py NCNAT NCNATCTL GOLDEN_DIR

Checks: the socket is mode 0600; `show stats json` and `show sessions json`
parse and agree with each other and with telemetry (/ncnat/stats,
/ncnat/sessions); filters; add/delete rule and set timeout; exit codes 0/1/2;
a second ncnat on the same socket is refused; SIGTERM removes the socket.
No third-party modules.
"""
import glob
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    n, off = 0, 24
    end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    import struct
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    return n


def ctl(ncnatctl, sock, *args):
    r = subprocess.run([ncnatctl, "-s", sock, *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def ctl_json(ncnatctl, sock, *args):
    rc, out, err = ctl(ncnatctl, sock, *args, "json")
    if rc != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {rc}: {err}")
    return json.loads(out)


def telemetry(prefix, cmds):
    paths = glob.glob(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        paths += glob.glob(f"{xdg}/dpdk/{prefix}/dpdk_telemetry.v2")
    if not paths:
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(paths[0])
    json.loads(s.recv(16384).decode())  # the greeting
    out = {}
    for c in cmds:
        s.send(c.encode())
        out[c] = json.loads(s.recv(65536).decode())[c.split(",")[0]]
    s.close()
    return out


def main():
    ncnat, ncnatctl, gdir = sys.argv[1:4]
    prefix = f"ncnat_ctl_{os.getpid()}"
    n_in = frames(f"{gdir}/basic_in_inside.pcap")
    n_out = frames(f"{gdir}/basic_in_outside.pcap")
    with tempfile.TemporaryDirectory(prefix="ncnat_ctl_") as tmp:
        sock = os.path.join(tmp, "ctl.sock")
        eal = ["-l", "0", "--no-huge", "--no-pci", "-m", "256", "--log-level=error"]
        cmd = [ncnat, *eal, f"--file-prefix={prefix}",
               f"--vdev=net_pcap0,rx_pcap={gdir}/basic_in_inside.pcap,tx_pcap={tmp}/o_in.pcap",
               f"--vdev=net_pcap1,rx_pcap={gdir}/basic_in_outside.pcap,tx_pcap={tmp}/o_out.pcap",
               "--", "-c", f"{gdir}/basic.conf", "--ctl", sock]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(200):
                if os.path.exists(sock) or p.poll() is not None:
                    break
                time.sleep(0.05)
            check(os.path.exists(sock), "ncnat made the control socket")
            if not os.path.exists(sock):
                p.kill()
                print(p.communicate()[1])
                return 1
            mode = os.stat(sock).st_mode
            check(stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600,
                  f"socket mode {oct(stat.S_IMODE(mode))}")
            # wait until both input files are read
            st = None
            for _ in range(200):
                st = ctl_json(ncnatctl, sock, "show", "stats")
                if st["ports"]["inside"]["rx"] == n_in and st["ports"]["outside"]["rx"] == n_out:
                    break
                time.sleep(0.05)
            check(st["ports"]["inside"]["rx"] == n_in and st["ports"]["outside"]["rx"] == n_out,
                  f"rx {st['ports']} (files: {n_in}/{n_out} frames)")
            time.sleep(0.2)
            st = ctl_json(ncnatctl, sock, "show", "stats")
            sess = ctl_json(ncnatctl, sock, "show", "sessions")
            tot = st["sessions"]["total"]
            check(tot > 0 and sess["shown"] == tot == len(sess["sessions"]) == sess["total"],
                  f"show sessions json: {sess['shown']} shown, stats say {tot}")
            for proto in ("tcp", "udp", "icmp"):
                s2 = ctl_json(ncnatctl, sock, "show", "sessions", "proto", proto)
                check(s2["shown"] == st["sessions"][proto] ==
                      sum(1 for x in sess["sessions"] if x["proto"] == proto),
                      f"sessions proto {proto}: {s2['shown']}")
            rc, out, err = ctl(ncnatctl, sock, "show", "sessions", "limit", "1")
            check(rc == 0 and "(limit reached)" in out or tot == 1, "show sessions limit 1")
            maps = ctl_json(ncnatctl, sock, "show", "mappings")
            check(maps["shown"] == st["mappings"] == len(maps["mappings"]),
                  f"show mappings json: {maps['shown']}")
            stat_maps = ctl_json(ncnatctl, sock, "show", "mappings", "static")
            check(stat_maps["shown"] == 1 and stat_maps["mappings"][0]["ext_port"] == 8080,
                  "the dnat's static mapping")
            # telemetry reads the same counters (nothing moves any more)
            wk = ctl_json(ncnatctl, sock, "show", "workers")
            check(len(wk) == 1 and wk[0]["inside"]["rx"] == n_in and wk[0]["sessions"] == tot and
                  wk[0]["translated"] == st["counters"]["in2out"]["pkts"] +
                  st["counters"]["out2in"]["pkts"] + st["counters"]["events"]["hairpin_pkts"],
                  f"show workers json: {wk}")
            tel = telemetry(prefix, ["/ncnat/stats", "/ncnat/sessions", "/ncnat/workers,0"])
            if tel is None:
                check(os.geteuid() != 0, "telemetry socket found")
            else:
                ts = tel["/ncnat/stats"]
                flat = {}
                for grp, vals in st["counters"].items():
                    for k, v in vals.items():
                        flat[k if grp == "events" else f"{grp}_{k}"] = v
                same = all(ts.get(k) == v for k, v in flat.items())
                check(same and len(flat) == len([k for k in ts if k in flat]),
                      f"/ncnat/stats = show stats ({len(flat)} counters)")
                check(ts["inside_rx"] == n_in and ts["sessions"] == tot, "/ncnat/stats ports, sessions")
                tsess = tel["/ncnat/sessions"]
                check(tsess["total"] == tot and tsess["udp"] == st["sessions"]["udp"] and
                      tsess["mappings"] == st["mappings"], f"/ncnat/sessions {tsess}")
                tw = tel["/ncnat/workers,0"]
                check(tw["workers"] == 1 and tw["inside_rx"] == n_in and
                      tw["translated"] == wk[0]["translated"], f"/ncnat/workers,0 {tw}")
            # changes
            rc, out, err = ctl(ncnatctl, sock, "add", "rule", "at", "1", "bypass", "src", "10.0.0.9")
            check(rc == 0 and out == "rule 1: bypass src 10.0.0.9\n", f"add rule: {rc} {out!r} {err!r}")
            rules = ctl_json(ncnatctl, sock, "show", "rules")
            check(rules["count"] == 5 and rules["rules"][0]["rule"] == "bypass src 10.0.0.9",
                  "show rules json after add")
            rc, out, err = ctl(ncnatctl, sock, "add", "rule", "snat", "src", "10.0.0.0/33")
            check(rc == 1 and out == "" and err.startswith("ncnatctl: bad src '10.0.0.0/33'"),
                  f"bad rule: exit {rc}, {err.strip()!r}")
            check(ctl_json(ncnatctl, sock, "show", "rules") == rules, "a refused rule changed nothing")
            rc, out, err = ctl(ncnatctl, sock, "delete", "rule", "1")
            check(rc == 0, "delete rule")
            rc, out, err = ctl(ncnatctl, sock, "set", "timeout", "udp", "119")
            check(rc == 1 and "RFC 4787 minimum of 120" in err, f"set timeout udp 119: {err.strip()}")
            rc, out, err = ctl(ncnatctl, sock, "set", "timeout", "udp", "900")
            check(rc == 0 and ctl_json(ncnatctl, sock, "show", "timeouts")["udp"] == 900,
                  "set timeout udp 900")
            rc, out, err = ctl(ncnatctl, sock, "help")
            check(rc == 0 and "show sessions" in out, "help")
            rc, out, err = ctl(ncnatctl, os.path.join(tmp, "nothere.sock"), "show", "stats")
            check(rc == 2 and "nothere.sock" in err, f"no socket: exit {rc}")
            r = subprocess.run([ncnatctl], capture_output=True, text=True)
            check(r.returncode == 2 and "usage" in r.stderr, "usage: exit 2")
            # a second ncnat on the same socket is refused
            r = subprocess.run([ncnat, *eal, f"--file-prefix={prefix}b", "--no-telemetry",
                                "--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1",
                                "--", "-c", f"{gdir}/basic.conf", "--ctl", sock],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode != 0 and "another ncnat answers there" in r.stderr,
                  f"second ncnat refused: exit {r.returncode}")
            check(ctl(ncnatctl, sock, "show", "timeouts")[0] == 0, "the first still answers")
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
            for d in (prefix, prefix + "b"):
                subprocess.run(["rm", "-rf", f"/var/run/dpdk/{d}"], check=False)
        check(p.returncode == 0, f"ncnat exit {p.returncode}")
        check(not os.path.exists(sock), "socket removed at exit")
    print("ok" if not FAILS else f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
