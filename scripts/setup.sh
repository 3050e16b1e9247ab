#!/usr/bin/env bash
# Install what netchannel needs from Debian's archive. Idempotent: packages
# already present are not fetched again; apt-get update runs only if needed.
set -euo pipefail
PKGS=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev
      libdpdk-dev dpdk dpdk-dev libpcap-dev libcriterion-dev
      python3 python3-scapy tcpdump gnuplot-nox
      # the ncnat namespace lab (scripts/demo.sh, tests/nat/e2e/run.sh)
      iproute2 ethtool nftables iputils-ping procps curl socat ncat iperf3
      # the nftables masquerade peer of ncbench nat --kernel-peer (trafgen)
      netsniff-ng)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
