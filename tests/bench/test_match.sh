#!/bin/sh
# ncbench match must print the same answers with the trie (default), the
# linear reference and (when built) rte_acl: on every shared ClassBench set
# with its trace (1K and 10K; 100K only with NC_LONG=1, linear is slow there)
# and on generated sets.  Skips (77) when the shared data directory is absent.
# Usage: test_match.sh NCBENCH
set -u
NCBENCH=$1
DIR=${NC_CLASSBENCH_DIR:-}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
acl=0
"$NCBENCH" --help | grep -q 'rte_acl peer: built' && acl=1

# compare NAME ARGS...: default impl vs linear (and rte_acl), burst 32 and 1
compare() {
	name=$1
	shift
	"$NCBENCH" match "$@" > "$tmp/trie" || { echo "FAIL: $name: match failed"; fail=1; return; }
	"$NCBENCH" match "$@" --burst 1 > "$tmp/trie1" || { echo "FAIL: $name: match --burst 1 failed"; fail=1; return; }
	"$NCBENCH" match "$@" --impl linear > "$tmp/linear" || { echo "FAIL: $name: linear failed"; fail=1; return; }
	if ! cmp -s "$tmp/trie" "$tmp/linear"; then
		echo "FAIL: $name: trie and linear differ on $(paste "$tmp/trie" "$tmp/linear" | awk '$1 != $2' | wc -l) lines; first:"
		paste "$tmp/trie" "$tmp/linear" | awk '$1 != $2 { print "  line " NR ": trie " $1 ", linear " $2 }' | head -5
		fail=1
	fi
	cmp -s "$tmp/trie" "$tmp/trie1" || { echo "FAIL: $name: cls_lookup and cls_lookup_bulk differ"; fail=1; }
	if [ $acl -eq 1 ]; then
		if "$NCBENCH" match "$@" --impl rte_acl > "$tmp/acl"; then
			cmp -s "$tmp/linear" "$tmp/acl" || { echo "FAIL: $name: rte_acl and linear differ"; fail=1; }
		else
			echo "note: $name: rte_acl could not run here (not counted)"
		fi
	fi
	echo "ok: $name: $(wc -l < "$tmp/trie") lines, $(grep -vc '^0$' "$tmp/trie") matched"
}

for fam in acl fw ipc; do
	compare "generated $fam 3000" --gen $fam --size 3000 --seed 11 --trace-size 20000
done
# native syntax: arbitrary ranges (cut into prefixes for rte_acl), IPv4 and IPv6
cat > "$tmp/v4.rules" <<'RULES'
src 10.0.0.5-10.0.0.20 dst 192.168.0.0/16 dport 80-90 proto tcp
src 10.0.0.0/8 sport 1000-2000 proto udp
dst 192.168.1.1 proto 1
src 0.0.0.0/1 dst 128.0.0.0/1 proto 6/0xfe
src 0.0.0.0/0 dst 0.0.0.0/0 proto 17
RULES
cat > "$tmp/v6.rules" <<'RULES'
src 2001:db8::5-2001:db8::1:20 dst 2001:db8:ffff::/48 dport 80-90 proto tcp
src 2001:db8::/32 sport 1000-2000 proto udp
dst ::/1
src 2001:db8:0:1::-2001:db8:0:2:ffff:ffff:ffff:ffff dst ::/0 proto 58
src ::/0 dst ::/0 proto 17
RULES
compare "native IPv4 ranges" --rules "$tmp/v4.rules" --trace-size 20000
compare "native IPv6 ranges" --rules "$tmp/v6.rules" --trace-size 20000

if [ -z "$DIR" ] || [ ! -d "$DIR" ]; then
	echo "skip: no shared ClassBench data (NC_CLASSBENCH_DIR=$DIR)"
	[ $fail -eq 0 ] && exit 77
	exit 1
fi
sizes="1k 10k"
[ "${NC_LONG:-0}" = 1 ] && sizes="$sizes 100k"
n=0
for size in $sizes; do
	for fam in acl1 fw1 ipc1; do
		r=$DIR/${fam}_$size.rules
		t=$DIR/${fam}_$size.trace
		[ -r "$r" ] && [ -r "$t" ] || continue
		compare "${fam}_$size" --rules "$r" --trace "$t"
		n=$((n + 1))
	done
done
[ $n -eq 0 ] && echo "note: no rules+trace pairs in $DIR"
exit $fail
