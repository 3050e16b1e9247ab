#!/bin/sh
# ncbench gen: the same (family, size, seed) gives the same bytes; another
# seed gives other rules; the output parses (cls_parse_buffer) into exactly
# --size distinct rules.  Usage: test_gen.sh NCBENCH TEST_GEN_PARSE
set -u
NCBENCH=$1
PARSE=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
for fam in acl fw ipc; do
	for n in 1 100 5000; do
		"$NCBENCH" gen --family $fam --size $n --seed 7 > "$tmp/a" || { echo "FAIL: gen $fam $n"; fail=1; continue; }
		"$NCBENCH" gen --family $fam --size $n --seed 7 --out "$tmp/b" || { echo "FAIL: gen --out"; fail=1; continue; }
		cmp -s "$tmp/a" "$tmp/b" || { echo "FAIL: $fam $n seed 7 not reproducible"; fail=1; }
		"$PARSE" "$tmp/a" $n || { echo "FAIL: $fam $n does not parse"; fail=1; }
		if [ $n -ge 100 ]; then
			"$NCBENCH" gen --family $fam --size $n --seed 8 > "$tmp/c"
			cmp -s "$tmp/a" "$tmp/c" && { echo "FAIL: $fam $n: seeds 7 and 8 give the same rules"; fail=1; }
		fi
	done
done
# a generated trace is reproducible too
"$NCBENCH" gen --size 500 --seed 3 --out "$tmp/r" --trace-out "$tmp/t1" --trace-size 1000 &&
"$NCBENCH" gen --size 500 --seed 3 --out "$tmp/r" --trace-out "$tmp/t2" --trace-size 1000 &&
cmp -s "$tmp/t1" "$tmp/t2" && [ "$(wc -l < "$tmp/t1")" -eq 1000 ] ||
	{ echo "FAIL: generated trace not reproducible"; fail=1; }
[ $fail -eq 0 ] && echo "ok: gen reproducible and parses"
exit $fail
