#!/usr/bin/env bash
# The classifier demo (the README's main command before the NAT demo): install
# what is missing, build, then classify a generated ClassBench-style rule set
# (acl family, 10K rules) with lib/classify and with DPDK's rte_acl on the
# same core, and print the lookup rates and their ratio. Extra arguments go to
# `ncbench lookup` (e.g. --rules ../shared/data/classbench/fw1_10k.rules --trace ...).
# Also reachable as `bash scripts/demo.sh --bench [ARGS]`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# rte_acl runs faster on hugepages; without them ncbench falls back to --no-huge.
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
  [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ] || echo 512 > /proc/sys/vm/nr_hugepages || true
  mkdir -p /dev/hugepages
  mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages || true
fi
[ -f build/release/build.ninja ] || meson setup build/release -Dbuildtype=release >/dev/null
ninja -C build/release >/dev/null
exec build/release/apps/bench/ncbench lookup "$@"
