#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ncreplay end to end: usage errors exit 2, runtime errors exit 1 (with the
# byte offset, after the summary), the verdicts CSV has a row per packet,
# standard input works (pipe and file), --libpcap changes nothing, JSON
# parses, --split writes files.
# usage: test_cli.sh NCREPLAY DATA_DIR
set -u
BIN=$1
D=$2
T=$(mktemp -d /tmp/ncreplay_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

expect_rc() { # rc command...
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err"; fail "$* -> exit $rc, want $want"; }
}

# usage errors: 2
expect_rc 2 "$BIN"
expect_rc 2 "$BIN" --rules "$D/rules4.cb"
expect_rc 2 "$BIN" "$D/eth.pcap"
expect_rc 2 "$BIN" --bogus --rules "$D/rules4.cb" "$D/eth.pcap"
expect_rc 2 "$BIN" --rules "$D/rules4.cb" --top x "$D/eth.pcap"
expect_rc 2 "$BIN" --rules "$D/rules4.cb" --burst 0 "$D/eth.pcap"
expect_rc 2 "$BIN" --rules "$D/rules4.cb" --rules-format xml "$D/eth.pcap"
expect_rc 2 "$BIN" --rules
grep -q "usage: ncreplay" "$T/err" || fail "usage text on stderr"
expect_rc 0 "$BIN" --help
grep -q "usage: ncreplay" "$T/out" || fail "--help on stdout"

# runtime errors: 1
expect_rc 1 "$BIN" --rules "$T/none.rules" "$D/eth.pcap"
expect_rc 1 "$BIN" --rules "$D/rules4.cb" "$T/none.pcap"
expect_rc 1 "$BIN" --rules "$D/rules4.cb" --filter "tcp and and" "$D/eth.pcap"
expect_rc 1 "$BIN" --rules "$D/rules4.cb" "$D/truncated.pcap"
grep -q "truncated.pcap: byte 380: " "$T/err" || { cat "$T/err"; fail "offset of the damage"; }
grep -q "packets: 5 " "$T/out" || { cat "$T/out"; fail "summary of what was read"; }
# stdin through a pipe: the same offset
cat "$D/truncated.pcap" | "$BIN" -q --rules "$D/rules4.cb" - 2>"$T/err" && fail "pipe: exit 0"
grep -q "(stdin): byte 380: " "$T/err" || { cat "$T/err"; fail "pipe offset"; }

# verdicts: header + one row per packet, 9 columns, rule last
n=$(tcpdump -r "$D/eth.pcap" 2>/dev/null | wc -l 2>/dev/null)
[ -n "$n" ] && [ "$n" -gt 0 ] || n=46 # tcpdump missing: gen_captures.py writes 46
expect_rc 0 "$BIN" -q --rules "$D/rules4.cb" --verdicts "$T/v.csv" "$D/eth.pcap"
lines=$(wc -l <"$T/v.csv")
[ "$lines" -eq $((n + 1)) ] || fail "CSV has $lines lines, want $((n + 1))"
head -1 "$T/v.csv" | grep -qx "frame,family,proto,src,dst,sport,dport,status,rule" || fail "CSV header"
awk -F, 'NR > 1 && NF != 9 { exit 1 }' "$T/v.csv" || fail "CSV columns"
awk -F, 'NR == 2 && $9 != 1 { exit 1 }' "$T/v.csv" || fail "frame 1 hits rule 1"

# the same from standard input, and to stdout
cat "$D/eth.pcap" | "$BIN" --rules "$D/rules4.cb" --verdicts - - >"$T/v2.csv" 2>"$T/err" ||
	fail "stdin run"
cmp -s "$T/v.csv" "$T/v2.csv" || fail "stdin verdicts differ"
grep -q "packets: $n " "$T/err" || fail "summary goes to stderr when verdicts use stdout"

# standard input redirected from a file: the built-in pcap reader, same rows
"$BIN" --rules "$D/rules4.cb" --verdicts - - <"$D/eth.pcap" >"$T/v3.csv" 2>"$T/err" ||
	fail "stdin file run"
cmp -s "$T/v.csv" "$T/v3.csv" || fail "stdin (file) verdicts differ"
"$BIN" -q --rules "$D/rules4.cb" - <"$D/truncated.pcap" 2>"$T/err" && fail "stdin file: exit 0"
grep -q "(stdin): byte 380: " "$T/err" || { cat "$T/err"; fail "stdin file offset"; }

# --libpcap (no built-in reader, no filter memo): the same verdicts and summary
for how in "" --libpcap; do
	expect_rc 0 "$BIN" $how --rules "$D/mixed.rules" --filter "ip or ip6" --top 0 \
		--verdicts "$T/l$how.csv" "$D/eth.pcap" "$D/vlan.pcap" "$D/eth.pcapng"
	tail -n +2 "$T/out" >"$T/l$how.txt"
done
cmp -s "$T/l.csv" "$T/l--libpcap.csv" || fail "--libpcap verdicts differ"
cmp -s "$T/l.txt" "$T/l--libpcap.txt" || fail "--libpcap summary differs"

# JSON
expect_rc 0 "$BIN" -q --rules "$D/mixed.rules" --verdicts "$T/v.json" "$D/ipv6.pcap"
if [ -x /usr/bin/python3 ]; then
	/usr/bin/python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert len(v) == 37" \
		"$T/v.json" || fail "JSON"
fi

# several captures of every link type, split and unmatched outputs
expect_rc 0 "$BIN" --rules "$D/mixed.rules" --split "$T/split" --unmatched "$T/u.pcap" --top 0 \
	"$D/eth.pcap" "$D/eth.pcapng" "$D/vlan.pcap" "$D/snap.pcap"
ls "$T/split"/rule-*.pcap >/dev/null 2>&1 || fail "no split files"
grep -q "captures: 4 " "$T/out" || fail "4 captures"
expect_rc 0 "$BIN" --rules "$D/mixed.rules" "$D/sll.pcap" "$D/sll2.pcap" "$D/raw.pcap"
grep -q "unparsable: 0" "$T/out" || { cat "$T/out"; fail "SLL/SLL2/raw parse"; }
echo "ok"
