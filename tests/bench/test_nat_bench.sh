#!/bin/sh
# ncbench nat, CI speed: the command runs (--quick: 1K and 10K sessions, UDP
# and TCP, every frame checked by ncbench itself), its output is sane
# (translated = sent, no drops, rates > 0, memory reported, the published
# VPP constant labelled as such, CSV rows); --workers 1,2 --quick runs the
# worker loop (checked frames, no drops, the scaling line); bad options are
# usage errors.  No timing assertions.
# Usage: test_nat_bench.sh NCBENCH
set -u
NCBENCH=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

"$NCBENCH" nat --quick --no-huge --csv "$tmp/nat.csv" > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: ncbench nat --quick: exit $rc"
	sed 's/^/  /' "$tmp/out" "$tmp/err" | tail -20
	exit 1
fi
cat "$tmp/out"

# every size and protocol: translated == sent, no drops, 2 keys per session
for s in 1000 10000; do
	for p in udp tcp; do
		line=$(grep -E "^$s +$p +check " "$tmp/out")
		if [ -z "$line" ]; then
			echo "FAIL: no check line for $s $p"
			fail=1
			continue
		fi
		echo "$line" | awk -v s="$s" '{
			for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			ok = v["translated"] == v["sent"] && v["translated"] > 0 && v["drops"] == 0 &&
			     v["sessions"] == s && v["flows"] == 2 * s
			exit ok ? 0 : 1
		}' || { echo "FAIL: $line"; fail=1; }
		grep -qE "^$s +$p +est\. +[0-9.]+ Mpps" "$tmp/out" &&
			! grep -qE "^$s +$p +est\. +0\.00 Mpps" "$tmp/out" ||
			{ echo "FAIL: no established rate > 0 for $s $p"; fail=1; }
		grep -qE "^$s +$p +new +[0-9.]+ M sessions/s" "$tmp/out" &&
			! grep -qE "^$s +$p +new +0\.000 M" "$tmp/out" ||
			{ echo "FAIL: no new-session rate > 0 for $s $p"; fail=1; }
		grep -qE "^$s +$p +memory +[0-9.]+ B/session" "$tmp/out" ||
			{ echo "FAIL: no memory line for $s $p"; fail=1; }
	done
done
grep -q "^vpp_nat44_ed_new_sessions_per_s=1000000 (published" "$tmp/out" ||
	{ echo "FAIL: the VPP reference is not labelled as published"; fail=1; }
grep -q "^ratio_vs_nftables_established=" "$tmp/out" ||
	{ echo "FAIL: no ratio_vs_nftables_established line"; fail=1; }
# CSV: header + 6 rows per size and protocol
head -1 "$tmp/nat.csv" | grep -q "^sessions,proto,metric,median" ||
	{ echo "FAIL: CSV header"; fail=1; }
rows=$(grep -c -E "^(1000|10000),(udp|tcp)," "$tmp/nat.csv")
[ "$rows" -eq 24 ] || { echo "FAIL: $rows CSV rows, want 24"; fail=1; }

# --workers: ncnat's worker loop (nat_workers_run) on 1 and 2 lcores through
# ring PMD ports, both spreads; every translated frame checked (--quick),
# nothing dropped anywhere, the scaling line printed.  No timing assertions.
"$NCBENCH" nat --workers 1,2 --quick --no-huge --csv "$tmp/w.csv" > "$tmp/wout" 2> "$tmp/werr"
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: ncbench nat --workers 1,2 --quick: exit $rc"
	sed 's/^/  /' "$tmp/wout" "$tmp/werr" | tail -20
	fail=1
else
	cat "$tmp/wout"
	for n in 1 2; do
		for sp in rss random; do
			line=$(grep -E "^10000 +udp +workers +N=$n +$sp +[0-9.]+ Mpps" "$tmp/wout")
			if [ -z "$line" ] || echo "$line" | grep -qE " 0\.00 Mpps \["; then
				echo "FAIL: no rate > 0 for $n workers, spread $sp"
				fail=1
			fi
		done
		line=$(grep -E "^10000 +udp +wcheck +N=$n " "$tmp/wout")
		if [ -z "$line" ]; then
			echo "FAIL: no wcheck line for $n workers"
			fail=1
			continue
		fi
		echo "$line" | awk '{
			for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			ok = v["translated"] == v["sent"] && v["checked"] > 0 && v["bad"] == 0 &&
			     v["nat_drops"] == 0 && v["tx_drops"] == 0 && v["handoff_drops"] == 0 &&
			     v["sessions"] == 10000
			exit ok ? 0 : 1
		}' || { echo "FAIL: $line"; fail=1; }
	done
	for sp in rss random; do
		grep -qE "^ratio_2w_vs_1w=[0-9.]+ \($sp, 10000 sessions" "$tmp/wout" ||
			{ echo "FAIL: no ratio_2w_vs_1w line for $sp"; fail=1; }
	done
	# with 2 workers: rss hands nothing over, random about half
	grep -qE "^10000 +udp +workers +N=2 +rss .* handed 0\.0%" "$tmp/wout" ||
		{ echo "FAIL: rss spread handed frames over"; fail=1; }
	handed=$(sed -nE 's/^10000 +udp +workers +N=2 +random .* handed ([0-9.]+)%.*/\1/p' "$tmp/wout")
	awk -v h="${handed:-0}" 'BEGIN { exit h >= 30 && h <= 70 ? 0 : 1 }' ||
		{ echo "FAIL: random spread handed ${handed:-no}% over (want about 50%)"; fail=1; }
	rows=$(grep -c -E "^10000,udp,workers[12]_(rss|random)_" "$tmp/w.csv")
	[ "$rows" -eq 16 ] || { echo "FAIL: $rows --workers CSV rows, want 16"; fail=1; }
fi

# usage errors: exit 2 with the usage text
for args in "--sessions 0" "--mode sideways" "--burst 65" "--proto sctp" "extra" \
	"--workers 0" "--workers 1,x" "--workers 1 --spread sideways" "--workers 1 --proto tcp" \
	"--workers 1 --kernel-peer" "--spread rss" "--carriers 64"; do
	# shellcheck disable=SC2086
	"$NCBENCH" nat $args > /dev/null 2> "$tmp/err"
	rc=$?
	if [ $rc -ne 2 ] || ! grep -q usage "$tmp/err"; then
		echo "FAIL: ncbench nat $args: exit $rc (want 2 and usage)"
		fail=1
	fi
done
exit $fail
