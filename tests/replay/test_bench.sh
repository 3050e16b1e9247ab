#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `ncbench replay` smoke test: a small generated capture, one repeat; the
# output has the Mpps lines and the ratio (the numbers are not checked here).
# usage: test_bench.sh NCBENCH
set -u
out=$("$1" replay --gen acl --size 200 --packets 20000 --repeat 1 2>&1) || { echo "$out"; exit 1; }
echo "$out"
echo "$out" | grep -q "^packets=20000 " || exit 1
echo "$out" | grep -q "ncreplay (read+filter+parse+classify)" || exit 1
if command -v tcpdump >/dev/null 2>&1; then
	echo "$out" | grep -q "^ratio_vs_tcpdump=[0-9]" || exit 1
fi
"$1" replay --packets x >/dev/null 2>&1
[ $? -eq 2 ] || { echo "bad option: want exit 2"; exit 1; }
exit 0
