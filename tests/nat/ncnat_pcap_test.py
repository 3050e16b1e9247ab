#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Run ncnat offline on net_pcap vdevs and compare what it sends with the
golden expected pcaps, frame by frame (timestamps ignored: the pcap PMD
stamps frames with the time they are sent).

  ncnat_pcap_test.py NCNAT GOLDEN_DIR SCENARIO CONF

Only scenarios whose input is on one side are deterministic this way (the
PMD reads the two input files independently); "offline" is such a one.
No third-party modules: pcap files are read with struct.
"""
import os
import struct
import subprocess
import sys
import tempfile


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def main():
    ncnat, gdir, name, conf = sys.argv[1:5]
    with tempfile.TemporaryDirectory(prefix="ncnat_pcap_") as tmp:
        o_in, o_out = os.path.join(tmp, "in.pcap"), os.path.join(tmp, "out.pcap")
        cmd = [ncnat, "-l", "0", "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
               "--log-level=error", "--no-telemetry", f"--file-prefix=ncnat_pcap_{os.getpid()}",
               f"--vdev=net_pcap0,rx_pcap={gdir}/{name}_in_inside.pcap,tx_pcap={o_in}",
               f"--vdev=net_pcap1,rx_pcap={gdir}/{name}_in_outside.pcap,tx_pcap={o_out}",
               "--", "-c", f"{gdir}/{conf}.conf", "--idle-exit", "300"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            print(f"ncnat exited with {r.returncode}")
            return 1
        bad = 0
        for side, got_path in (("inside", o_in), ("outside", o_out)):
            got = frames(got_path)
            exp = frames(f"{gdir}/{name}_exp_{side}.pcap")
            if len(got) != len(exp):
                print(f"{side}: {len(got)} frames, expected {len(exp)}")
                bad += 1
            for i, (g, e) in enumerate(zip(got, exp)):
                if g != e:
                    k = next((j for j in range(min(len(g), len(e))) if g[j] != e[j]),
                             min(len(g), len(e)))
                    print(f"{side} frame {i}: first difference at byte {k}")
                    bad += 1
        print("ok" if not bad else f"{bad} differences")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
